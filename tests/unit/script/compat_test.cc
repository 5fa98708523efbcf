// The Lua compatibility suite: every tests/script_compat/*.lua runs through core/script on a
// fake session and its header's expectations are checked (directives: tests/script_compat/README.md).

#include <catch2/catch.hpp>
#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/script/runtime.h"
#include "core/base/log.h"
#include "core/script/shared_dict.h"
#include "tests/unit/script/fake_exchange.h"

using namespace gh::script;
using namespace gh::script::testing;

namespace {

std::string unescape(std::string s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'n') {
      out += '\n';
      i++;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::pair<std::string, std::string> headerOf(const std::string& v) {
  size_t c = v.find(':', v[0] == ':' ? 1 : 0);
  std::string name = v.substr(0, c), value = c == std::string::npos ? "" : v.substr(c + 1);
  while (!value.empty() && value[0] == ' ') value.erase(0, 1);
  return {lower(name), value};
}

struct Directive {
  std::string key, value;
};

std::vector<Directive> directivesOf(const std::string& source) {
  std::vector<Directive> out;
  std::istringstream in(source);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("-- @", 0) != 0) continue;
    size_t colon = line.find(':', 4);
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value[0] == ' ') value.erase(0, 1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\r')) value.pop_back();
    out.push_back({line.substr(4, colon - 4), value});
  }
  return out;
}

std::string levelName(ScriptLogLevel l) {
  switch (l) {
    case ScriptLogLevel::kTrace: return "trace";
    case ScriptLogLevel::kDebug: return "debug";
    case ScriptLogLevel::kInfo: return "info";
    case ScriptLogLevel::kWarn: return "warn";
    case ScriptLogLevel::kError: return "err";
    case ScriptLogLevel::kCritical: return "critical";
  }
  return "?";
}

std::string metaText(const MetaValue& v) {
  switch (v.kind) {
    case MetaValue::Kind::kString: return v.string;
    case MetaValue::Kind::kBool: return v.boolean ? "true" : "false";
    case MetaValue::Kind::kNumber: {
      std::ostringstream o;
      o << v.number;
      return o.str();
    }
    default: return "<" + std::to_string(int(v.kind)) + ">";
  }
}

struct Outcome {
  std::string kind;  // continue, respond, error
  int status = 0;
  std::string error;
};

void runFile(const std::string& path, SharedDict& shared) {
  QuietLog quiet;
  std::ifstream f(path);
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string source = ss.str();
  auto ds = directivesOf(source);
  INFO(path);

  ScriptSource s;
  s.name = path.substr(path.rfind('/') + 1);
  s.name = s.name.substr(0, s.name.size() - 4);
  s.source = source;
  s.attachTo = {{Attachment::Kind::kListener, "edge"}};
  int runs = 1;
  for (auto& d : ds) {
    if (d.key == "fail-open") s.failOpen = d.value == "true";
    if (d.key == "runs") runs = std::stoi(d.value);
  }
  auto built = ScriptSet::build({s});
  REQUIRE(built.ok());
  auto set = built.value();
  ScriptRuntime rt(&shared);

  std::unique_ptr<FakeExchange> ex;
  Outcome out;
  for (int run = 0; run < runs; run++) {
    ex = std::make_unique<FakeExchange>();
    CannedCalls canned;
    for (auto& d : ds) {
      if (d.key == "request") {
        auto sp = d.value.find(' ');
        ex->request().replace(":method", d.value.substr(0, sp));
        ex->request().replace(":path", d.value.substr(sp + 1));
      } else if (d.key == "request-header") {
        auto [n, v] = headerOf(d.value);
        ex->request().add(n, v);
      } else if (d.key == "request-body") {
        ex->side[0].hasBody = true;
        ex->side[0].body = unescape(d.value);
      } else if (d.key == "request-trailer") {
        auto [n, v] = headerOf(d.value);
        ex->side[0].hasTrailers = true;
        ex->side[0].pendingTrailers.add(n, v);
      } else if (d.key == "response-header") {
        auto [n, v] = headerOf(d.value);
        if (n == ":status")
          ex->response().replace(n, v);
        else
          ex->response().add(n, v);
      } else if (d.key == "response-body") {
        ex->side[1].hasBody = true;
        ex->side[1].body = unescape(d.value);
      } else if (d.key == "service") {
        ex->services.push_back(d.value);
      } else if (d.key == "http-response") {
        std::istringstream in(d.value);
        std::string svc, status;
        in >> svc >> status;
        std::string body;
        std::getline(in, body);
        if (!body.empty() && body[0] == ' ') body.erase(0, 1);
        auto& a = canned.answers[svc];
        a.headers.insert(a.headers.begin(), {":status", status});
        a.body = unescape(body);
      } else if (d.key == "http-response-header") {
        auto sp = d.value.find(' ');
        auto [n, v] = headerOf(d.value.substr(sp + 1));
        canned.answers[d.value.substr(0, sp)].headers.emplace_back(n, v);
      } else if (d.key == "tls-peer") {
        if (!ex->ssl) ex->ssl = std::make_unique<SslInfo>();
        ex->ssl->peerCertificatePresented = true;
        ex->ssl->peerCertificateValidated = true;
        ex->ssl->uriSanPeerCertificate = {d.value};
        ex->ssl->tlsVersion = "TLSv1.3";
        ex->principal = d.value;
      } else if (d.key == "tls-subject") {
        if (!ex->ssl) ex->ssl = std::make_unique<SslInfo>();
        ex->ssl->subjectPeerCertificate = d.value;
      } else if (d.key == "tls-digest") {
        if (!ex->ssl) ex->ssl = std::make_unique<SslInfo>();
        ex->ssl->sha256PeerCertificateDigest = d.value;
      } else if (d.key == "sni") {
        ex->sni = d.value;
      } else if (d.key == "route-metadata") {
        if (!ex->routeMeta) ex->routeMeta = std::make_unique<MetaValue>(MetaValue::ofStruct());
        auto sp = d.value.find(' ');
        ex->routeMeta->set(d.value.substr(0, sp), MetaValue::ofString(d.value.substr(sp + 1)));
      }
    }
    // Request side.
    out = Outcome{};
    ex->prepare(Direction::kRequest);
    auto call = rt.call(set, 0, Hook::kRequest, *ex);
    HookResult r = drive(*call, *ex, Direction::kRequest, canned);
    if (call->failed()) {
      out.kind = "error";
      out.error = call->error();
      out.status = s.failOpen ? 200 : 500;
    } else if (r == HookResult::kRespond) {
      out.kind = "respond";
      REQUIRE(!ex->replies.empty());
      out.status = ex->replies.back().status;
    } else {
      out.kind = "continue";
    }
    if (r == HookResult::kContinue) {
      // The upstream answers; the response side runs.
      ex->prepare(Direction::kResponse);
      auto rcall = rt.call(set, 0, Hook::kResponse, *ex);
      HookResult rr = drive(*rcall, *ex, Direction::kResponse, canned);
      if (rcall->failed()) {
        out.kind = "error";
        out.error = rcall->error();
        out.status = s.failOpen ? std::stoi(*ex->response().find(":status")) : 500;
      } else if (rr == HookResult::kRespond) {
        out.kind = "respond";
        out.status = ex->replies.back().status;
      } else if (out.kind == "continue" || s.failOpen) {
        out.status = std::stoi(*ex->response().find(":status"));
      }
    }
  }

  bool expected = false;
  INFO("outcome " << out.kind << " status " << out.status << " error " << out.error);
  for (auto& d : ds) {
    INFO("directive @" << d.key << ": " << d.value);
    if (d.key == "expect") {
      expected = true;
      CHECK(out.kind == d.value);
    } else if (d.key == "expect-status") {
      CHECK(out.status == std::stoi(d.value));
    } else if (d.key == "expect-reply-body") {
      REQUIRE(!ex->replies.empty());
      CHECK(ex->replies.back().body.value_or("") == unescape(d.value));
    } else if (d.key == "expect-reply-header") {
      REQUIRE(!ex->replies.empty());
      auto h = headerOf(d.value);
      auto& hs = ex->replies.back().headers;
      CHECK(std::find(hs.begin(), hs.end(), h) != hs.end());
    } else if (d.key == "expect-upstream-header") {
      auto [n, v] = headerOf(d.value);
      const std::string* got = ex->request().find(n);
      REQUIRE(got != nullptr);
      CHECK(*got == v);
    } else if (d.key == "expect-upstream-header-absent") {
      CHECK(ex->request().find(lower(d.value)) == nullptr);
    } else if (d.key == "expect-upstream-body") {
      std::string body = ex->side[0].buffered ? ex->side[0].buffered->data : ex->side[0].body;
      CHECK(body == unescape(d.value));
    } else if (d.key == "expect-client-header") {
      auto [n, v] = headerOf(d.value);
      const std::string* got = ex->response().find(n);
      REQUIRE(got != nullptr);
      CHECK(*got == v);
    } else if (d.key == "expect-client-body") {
      std::string body = ex->side[1].buffered ? ex->side[1].buffered->data : ex->side[1].body;
      CHECK(body == unescape(d.value));
    } else if (d.key == "expect-error") {
      CHECK(out.error.size() >= d.value.size());
      CHECK(out.error.substr(out.error.size() - std::min(out.error.size(), d.value.size())) == d.value);
    } else if (d.key == "expect-log") {
      auto sp = d.value.find(' ');
      std::string level = d.value.substr(0, sp), text = d.value.substr(sp + 1);
      bool found = false;
      for (auto& [l, m] : ex->logs) found |= levelName(l) == level && m == text;
      CHECK(found);
    } else if (d.key == "expect-http-call") {
      auto sp = d.value.find(' ');
      std::string svc = d.value.substr(0, sp), path = d.value.substr(sp + 1);
      bool found = false;
      for (auto& c : ex->calls)
        for (auto& [k, v] : c.headers) found |= c.service == svc && k == ":path" && v == path;
      CHECK(found);
    } else if (d.key == "expect-dynamic-metadata") {
      std::istringstream in(d.value);
      std::string ns, key, value;
      in >> ns >> key;
      std::getline(in, value);
      if (!value.empty()) value.erase(0, 1);
      const MetaValue* found = nullptr;
      for (auto& [n, st] : ex->dynamic)
        if (n == ns) found = st.find(key);
      REQUIRE(found != nullptr);
      CHECK(metaText(*found) == value);
    }
  }
  CHECK(expected);  // every file states its outcome
}

std::vector<std::string> compatFiles() {
  std::string dir = "tests/script_compat";
  if (const char* d = std::getenv("GATEHOUSE_COMPAT_DIR")) dir = d;
  std::vector<std::string> files;
  if (DIR* dp = opendir(dir.c_str())) {
    while (dirent* e = readdir(dp)) {
      std::string n = e->d_name;
      if (n.size() > 4 && n.substr(n.size() - 4) == ".lua") files.push_back(dir + "/" + n);
    }
    closedir(dp);
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("the Lua compatibility suite (tests/script_compat)", "[script][compat]") {
  auto files = compatFiles();
  REQUIRE(files.size() >= 40);
  SharedDict shared;
  for (const auto& file : files) {
    DYNAMIC_SECTION(file) { runFile(file, shared); }
  }
}
