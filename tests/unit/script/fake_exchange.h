#pragma once
// A ScriptExchange over plain vectors, for tests of core/script without the HTTP session, and
// a driver that plays the session's part: it answers every wait the way the session will
// (buffers the body, streams chunks, hands trailers, answers httpCalls from canned replies).

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/base/log.h"
#include "core/script/runtime.h"
#include "core/script/script_exchange.h"

namespace gh::script::testing {

// Scripts in tests fail on purpose; their error lines would bury the test report. While one of
// these is alive the process log is silent (a level above kError); the level is restored after.
class QuietLog {
 public:
  QuietLog() : saved_(gh::log::level()) {
    gh::log::setLevel(static_cast<gh::log::Level>(int(gh::log::Level::kError) + 1));
  }
  ~QuietLog() { gh::log::setLevel(saved_); }

 private:
  gh::log::Level saved_;
};

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class HeaderList : public ScriptHeaders {
 public:
  std::vector<std::pair<std::string, std::string>> entries;
  std::string reason;

  size_t size() const override { return entries.size(); }
  std::pair<std::string_view, std::string_view> at(size_t i) const override {
    return {entries[i].first, entries[i].second};
  }
  void add(std::string_view n, std::string_view v) override { entries.emplace_back(n, v); }
  void replace(std::string_view n, std::string_view v) override {
    bool done = false;
    for (auto it = entries.begin(); it != entries.end();) {
      if (it->first == n) {
        if (!done) {
          it->second = std::string(v);
          done = true;
          ++it;
        } else {
          it = entries.erase(it);
        }
      } else {
        ++it;
      }
    }
    if (!done) add(n, v);
  }
  void remove(std::string_view n) override {
    entries.erase(std::remove_if(entries.begin(), entries.end(),
                                 [&](auto& e) { return e.first == n; }),
                  entries.end());
  }
  void setReasonPhrase(std::string_view t) override { reason = std::string(t); }
  const std::string* find(std::string_view n) const {
    for (auto& e : entries)
      if (e.first == n) return &e.second;
    return nullptr;
  }
  int count(std::string_view n) const {
    int c = 0;
    for (auto& e : entries) c += e.first == n;
    return c;
  }
};

class StringBuffer : public ScriptBuffer {
 public:
  std::string data;
  explicit StringBuffer(std::string d = {}) : data(std::move(d)) {}
  size_t length() const override { return data.size(); }
  std::string copyOut(size_t i, size_t n) const override { return data.substr(i, n); }
  void setBytes(std::string_view b) override { data = std::string(b); }
};

struct Side {
  HeaderList headers;
  std::string body;            // all of it, as the peer sends it
  bool hasBody = false;
  bool endOfStream = false;    // what the hook is told
  std::unique_ptr<StringBuffer> buffered;
  std::unique_ptr<HeaderList> trailers;  // arrived trailers
  HeaderList pendingTrailers;            // the peer's trailers, handed at the end
  bool hasTrailers = false;
};

class FakeExchange : public ScriptExchange {
 public:
  Side side[2];
  std::vector<std::string> services{"auth", "backend"};
  std::vector<HttpCallRequest> calls;
  std::vector<LocalReply> replies;
  std::vector<std::pair<ScriptLogLevel, std::string>> logs;
  DynamicMetadata dynamic;
  std::unique_ptr<SslInfo> ssl;
  std::string principal;
  std::string sni = "api.example.com";
  std::unique_ptr<MetaValue> routeMeta;
  int headersModified = 0;

  FakeExchange() {
    request().entries = {{":method", "GET"}, {":path", "/"}, {":authority", "api.example.com"},
                         {":scheme", "https"}};
    response().entries = {{":status", "200"}};
  }
  HeaderList& request() { return side[0].headers; }
  HeaderList& response() { return side[1].headers; }
  Side& of(Direction d) { return side[d == Direction::kRequest ? 0 : 1]; }
  // A message without a body is at its end at once.
  void prepare(Direction d) {
    Side& s = of(d);
    s.endOfStream = !s.hasBody && !s.hasTrailers;
  }

  ScriptHeaders& headers(Direction d) override { return of(d).headers; }
  bool endOfStream(Direction d) const override {
    return side[d == Direction::kRequest ? 0 : 1].endOfStream;
  }
  ScriptBuffer* bufferedBody(Direction d) override { return of(d).buffered.get(); }
  ScriptBuffer* createEmptyBody(Direction d) override {
    of(d).buffered = std::make_unique<StringBuffer>();
    return of(d).buffered.get();
  }
  ScriptHeaders* trailers(Direction d) override { return of(d).trailers.get(); }
  void respond(LocalReply reply) override { replies.push_back(std::move(reply)); }
  bool knowsService(std::string_view s) const override {
    return std::find(services.begin(), services.end(), s) != services.end();
  }
  void startHttpCall(HttpCallRequest r) override { calls.push_back(std::move(r)); }
  void onHeadersModified() override { headersModified++; }
  std::string_view protocol() const override { return "HTTP/1.1"; }
  std::string_view routeName() const override { return "api-route"; }
  std::string downstreamLocalAddress() const override { return "10.0.0.1:443"; }
  std::string downstreamDirectRemoteAddress() const override { return "192.0.2.7:51000"; }
  std::string downstreamRemoteAddress() const override { return "203.0.113.9:0"; }
  std::string_view requestedServerName() const override { return sni; }
  DynamicMetadata& dynamicMetadata() override { return dynamic; }
  const SslInfo* downstreamSsl() const override { return ssl.get(); }
  std::string_view peerPrincipal() const override { return principal; }
  const MetaValue* routeMetadata() const override { return routeMeta.get(); }
  void log(ScriptLogLevel level, std::string_view, std::string_view m) override {
    logs.emplace_back(level, std::string(m));
  }
};

// Canned answers to httpCall, by service.
struct CannedCalls {
  std::map<std::string, HttpCallResponse> answers;
  bool fail = false;  // answer every call with HttpCallResponse::failure()
};

// Plays the session: drives `call` until it is done or streaming has ended, answering waits.
// Returns the last HookResult.
inline HookResult drive(HookCall& call, FakeExchange& ex, Direction d, const CannedCalls& canned,
                        size_t chunkSize = 4) {
  HookResult r = call.start();
  Side& s = ex.of(d);
  size_t offset = 0;
  bool chunksDone = false;
  for (int guard = 0; guard < 10000; guard++) {
    switch (call.waitingFor()) {
      case Wait::kNone:
        return r;
      case Wait::kBody:
        if (s.hasBody) s.buffered = std::make_unique<StringBuffer>(s.body);
        if (s.hasTrailers) s.trailers = std::make_unique<HeaderList>(s.pendingTrailers);
        s.endOfStream = true;
        r = call.resumeBody();
        break;
      case Wait::kBodyChunk: {
        if (chunksDone || offset >= s.body.size()) {
          if (s.hasTrailers) s.trailers = std::make_unique<HeaderList>(s.pendingTrailers);
          s.endOfStream = true;
          chunksDone = true;
          r = call.resumeBodyChunk(nullptr);
          break;
        }
        StringBuffer chunk(s.body.substr(offset, chunkSize));
        offset += chunkSize;
        if (offset >= s.body.size() && !s.hasTrailers) s.endOfStream = true;
        r = call.resumeBodyChunk(&chunk);
        break;
      }
      case Wait::kTrailers:
        if (s.hasTrailers) s.trailers = std::make_unique<HeaderList>(s.pendingTrailers);
        if (s.hasBody && !s.buffered) s.buffered = std::make_unique<StringBuffer>(s.body);
        s.endOfStream = true;
        r = call.resumeTrailers();
        break;
      case Wait::kHttpCall: {
        const HttpCallRequest& req = ex.calls.back();
        auto it = canned.answers.find(req.service);
        if (canned.fail || it == canned.answers.end())
          r = call.resumeHttpCall(HttpCallResponse::failure());
        else
          r = call.resumeHttpCall(it->second);
        break;
      }
    }
  }
  return r;
}

}  // namespace gh::script::testing
