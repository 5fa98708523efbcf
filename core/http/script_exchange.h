#pragma once
// ScriptHost: the Lua hooks of one exchange, and the script::ScriptExchange they see of it.
//
// The session creates a ScriptHost when an exchange's snapshot has LuaScripts attached to its
// listener or route (ScriptSet::chainFor), and lends it the parts of the exchange the handle
// API reaches (Env). The host runs the chain of one side — script_request after rate limits,
// script_response when the upstream's response head is in — one hook after the other, each a
// HookCall coroutine of the worker's ScriptRuntime, and tells the session what to do next:
//
//   kContinue  every hook of this side returned: go on (changed headers are already written
//              back into the exchange's head; a buffered body, bodyBuffered(), replaces the
//              stream and is sent with a content-length);
//   kRespond   a local reply waits in reply() (handle:respond, or the 500 lua_error of a
//              failed hook): send it with sendReply semantics and skip to the log phase;
//   kNeedBody  a hook called body()/bodyChunks()/trailers(): buffer this side's body into
//              body(dir) (at most kMaxBufferedBody bytes), then call bodyComplete(dir);
//   kPause     a hook waits for an httpCall; the host resumes it itself and reports the next
//              outcome through the Done callback, from the loop (never from inside a call the
//              session made).
//
// Headers: the maps scripts see are owned copies (lower-case names, pseudo-headers first),
// built when a hook first asks; when a hook changed them, the exchange's head is re-pointed to
// them when the side's hooks end (:method, :path and :authority go to the request line, the
// upstream path and Host; :status to the status line). bodyChunks() is served from the
// buffered body as one chunk (the body is buffered rather than streamed; docs/lua.md).
//
// Owned by the session's exchange; one worker thread; destroying it cancels paused hooks and
// outstanding httpCalls.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config/snapshot.h"
#include "core/event/loop.h"
#include "core/http/parser.h"
#include "core/net/address.h"
#include "core/net/stream.h"
#include "core/script/runtime.h"
#include "core/script/script_exchange.h"

namespace gh::http {

struct WorkerContext;
class HttpCallClient;

// A header map scripts see: owned (name, value) entries, names lower-case.
class OwnedHeaders final : public script::ScriptHeaders {
 public:
  std::vector<std::pair<std::string, std::string>> entries;
  std::string reason;
  bool modified = false;

  size_t size() const override { return entries.size(); }
  std::pair<std::string_view, std::string_view> at(size_t i) const override {
    return {entries[i].first, entries[i].second};
  }
  void add(std::string_view name, std::string_view value) override;
  void replace(std::string_view name, std::string_view value) override;
  void remove(std::string_view name) override;
  void setReasonPhrase(std::string_view text) override;
  const std::string* find(std::string_view name) const;
};

// A buffered body (or the one chunk bodyChunks() yields).
class OwnedBuffer final : public script::ScriptBuffer {
 public:
  std::string data;
  bool modified = false;
  size_t length() const override { return data.size(); }
  std::string copyOut(size_t index, size_t length) const override {
    return data.substr(index, length);
  }
  void setBytes(std::string_view bytes) override {
    data.assign(bytes);
    modified = true;
  }
};

class ScriptHost final : public script::ScriptExchange {
 public:
  static constexpr size_t kMaxBufferedBody = 1 << 20;  // Envoy's default buffer limit

  // kVerdict: an authorize() call ended; verdict() holds its answer.
  enum class Outcome : uint8_t { kContinue, kRespond, kNeedBody, kPause, kVerdict };
  using Done = void (*)(void* arg, script::Direction dir, Outcome outcome);

  // What the session lends; everything outlives the host.
  struct Env {
    WorkerContext* ctx = nullptr;
    // The pinned snapshot's (it outlives the exchange): no reference count per request.
    const std::shared_ptr<const script::ScriptSet>* scripts = nullptr;
    const config::Snapshot* snapshot = nullptr;
    RequestHead* req = nullptr;
    ResponseHead* resp = nullptr;
    std::string_view path;   // normalised
    std::string_view query;  // without '?'
    std::string* upstreamPath = nullptr;
    std::string* upstreamHost = nullptr;
    std::string_view* upstreamQuery = nullptr;  // the session's TargetParts::query
    const net::Transport* transport = nullptr;
    const net::Address* peer = nullptr;
    const net::Address* local = nullptr;
    std::string_view routeName;
    uint32_t xffTrustedHops = 0;
    bool secure = false;
  };

  // `chain` (and every chain given to setChain) must outlive the host: it is the snapshot's.
  ScriptHost(Env env, std::span<const int> chain, Done done, void* arg);
  ~ScriptHost() override;
  ScriptHost(const ScriptHost&) = delete;
  ScriptHost& operator=(const ScriptHost&) = delete;

  // Runs the hooks of `dir` from the first. For the response side, call it once the response
  // head is parsed; afterwards, if responseHeadAdopted(), the head no longer points into the
  // upstream buffer (consume it there).
  Outcome run(script::Direction dir);
  // Runs gatehouse_authorize of script `script` (an index of the ScriptSet; a CUSTOM Lua
  // provider) on the request: kVerdict at once, or kPause/kNeedBody as run() (the request side),
  // the verdict following through Done or bodyComplete.
  Outcome authorize(int script);
  const script::AuthzVerdict& verdict() const { return verdict_; }
  // The request hooks to run after authorization (the host may exist already for it).
  void setChain(std::span<const int> chain) { chain_ = chain; }
  // After kNeedBody: body(dir) holds the whole body (empty: none). `hadBody`: a body existed.
  Outcome bodyComplete(script::Direction dir, bool hadBody);
  // The bytes the session buffers for a hook (kNeedBody), and whether the body to send is the
  // buffered one (the session then frames it with content-length).
  std::string& body(script::Direction dir) { return side(dir).body.data; }
  bool bodyBuffered(script::Direction dir) const { return sideOf(dir).buffered; }
  bool responseHeadAdopted() const { return respAdopted_; }
  // How many bytes the response head took in the upstream's buffer when it was adopted.
  size_t adoptedHeadLength() const { return adoptedHeadLength_; }
  // The reply to send after kRespond.
  const script::LocalReply& reply() const { return reply_; }
  // Serializes reply() (HTTP/1.1), as serializeLocalReply does for the session's own replies.
  void serializeReply(bool keepAlive, bool headRequest, int clientVersionMinor,
                      std::string& out) const;
  // For the access log: failed hooks on this exchange and the first error.
  uint32_t errors() const { return errors_; }
  const std::string& firstError() const { return firstError_; }

  // --- script::ScriptExchange ---
  script::ScriptHeaders& headers(script::Direction dir) override;
  bool endOfStream(script::Direction dir) const override;
  script::ScriptBuffer* bufferedBody(script::Direction dir) override;
  script::ScriptBuffer* createEmptyBody(script::Direction dir) override;
  script::ScriptHeaders* trailers(script::Direction dir) override { return nullptr; }
  void respond(script::LocalReply reply) override;
  bool knowsService(std::string_view service) const override;
  void startHttpCall(script::HttpCallRequest request) override;
  std::string_view protocol() const override;
  std::string_view routeName() const override { return env_.routeName; }
  std::string downstreamLocalAddress() const override;
  std::string downstreamDirectRemoteAddress() const override;
  std::string downstreamRemoteAddress() const override;
  std::string_view requestedServerName() const override;
  script::DynamicMetadata& dynamicMetadata() override { return dynamic_; }
  const script::SslInfo* downstreamSsl() const override;
  std::string_view peerPrincipal() const override;
  const script::MetaValue* routeMetadata() const override { return nullptr; }
  void log(script::ScriptLogLevel level, std::string_view script,
           std::string_view message) override;

  // Called by an HttpCallClient when its answer (or failure) is in.
  void onHttpCallDone(HttpCallClient* client, script::HttpCallResponse response);

 private:
  struct Side {
    OwnedHeaders headers;
    bool headersBuilt = false;
    OwnedBuffer body;
    bool buffered = false;  // the body was buffered for a hook: send it from here
    bool ended = false;     // endOfStream as hooks see it
    size_t next = 0;        // next chain index to run
    std::unique_ptr<script::HookCall> call;
  };
  Side& side(script::Direction d) { return sides_[d == script::Direction::kRequest ? 0 : 1]; }
  const Side& sideOf(script::Direction d) const {
    return sides_[d == script::Direction::kRequest ? 0 : 1];
  }
  Outcome drive(script::Direction dir, script::HookResult r);
  Outcome advance(script::Direction dir);
  script::HookResult feedChunks(script::Direction dir);
  void noteFailure(const script::HookCall& call);
  void buildRequestMap();
  void buildResponseMap();
  void commit(script::Direction dir);
  static void onResumeTimer(void* arg);

  Env env_;
  std::span<const int> chain_;
  Done done_;
  void* arg_;
  Side sides_[2];
  script::DynamicMetadata dynamic_;
  script::LocalReply reply_;
  bool authorizing_ = false;
  script::AuthzVerdict verdict_;
  bool respAdopted_ = false;
  size_t adoptedHeadLength_ = 0;
  std::unique_ptr<script::SslInfo> ssl_;
  bool sslBuilt_ = false;
  std::vector<std::unique_ptr<HttpCallClient>> calls_;
  // An httpCall answer waits here until the loop resumes the hook (never inside the client's
  // own callback).
  bool haveAnswer_ = false;
  script::HttpCallResponse answer_;
  script::Direction answerDir_ = script::Direction::kRequest;
  event::Timer resumeTimer_;
  uint32_t errors_ = 0;
  std::string firstError_;
};

}  // namespace gh::http
