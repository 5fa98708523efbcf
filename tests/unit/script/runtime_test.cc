// core/script: the handle API, the scope guard, the sandbox and its limits, hot change,
// gatehouse.shared and the authorization hook — through a fake ScriptExchange.

#include "core/script/runtime.h"
#include "core/base/log.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "core/script/shared_dict.h"
#include "tests/unit/script/fake_exchange.h"

using namespace gh::script;
using namespace gh::script::testing;

namespace {

std::shared_ptr<const ScriptSet> setOf(std::vector<ScriptSource> scripts, uint64_t cap = 16u << 20) {
  auto r = ScriptSet::build(std::move(scripts), cap);
  REQUIRE(r.ok());
  return r.value();
}

ScriptSource src(std::string name, std::string code) {
  ScriptSource s;
  s.name = std::move(name);
  s.source = std::move(code);
  s.attachTo.push_back({Attachment::Kind::kListener, "edge"});
  return s;
}

struct Run {
  QuietLog quiet;
  std::shared_ptr<const ScriptSet> set;
  ScriptRuntime rt;
  FakeExchange ex;
  CannedCalls canned;
  std::unique_ptr<HookCall> call;

  explicit Run(std::string code, bool failOpen = false, SharedDict* shared = nullptr)
      : rt(shared) {
    auto s = src("test", std::move(code));
    s.failOpen = failOpen;
    set = setOf({s});
  }
  explicit Run(ScriptSource s, SharedDict* shared = nullptr) : rt(shared) { set = setOf({s}); }

  HookResult go(Hook hook = Hook::kRequest, size_t chunk = 4) {
    Direction d = hook == Hook::kResponse ? Direction::kResponse : Direction::kRequest;
    ex.prepare(d);
    call = rt.call(set, 0, hook, ex);
    return drive(*call, ex, d, canned, chunk);
  }
  std::string error() const { return call ? call->error() : ""; }
  uint64_t errors() { return rt.errorsTotal(); }
};

}  // namespace

TEST_CASE("checkSyntax reports the script and line", "[script]") {
  auto ok = checkSyntax("good", "function envoy_on_request(h) end");
  CHECK(ok.ok);
  auto bad = checkSyntax("bad", "function envoy_on_request(h)\n  local x = \nend");
  CHECK_FALSE(bad.ok);
  CHECK(bad.script == "bad");
  CHECK(bad.line == 3);
  CHECK(bad.text().rfind("bad:3: ", 0) == 0);
  auto bytecode = checkSyntax("bc", std::string("\x1bLJ\x02junk", 7));
  CHECK_FALSE(bytecode.ok);
  CHECK(bytecode.message.find("bytecode") != std::string::npos);
}

TEST_CASE("luaSyntaxCheck: checkSyntax in config's checker shape", "[script]") {
  int line = -1;
  std::string message;
  CHECK(luaSyntaxCheck("ok", "x = 1", &line, &message));
  CHECK_FALSE(luaSyntaxCheck("bad", "x = 1\nif then", &line, &message));
  CHECK(line == 2);
  CHECK(message.find("unexpected symbol") != std::string::npos);
}

TEST_CASE("ScriptSet orders scripts and resolves attachments", "[script]") {
  auto a = src("b-second", "");
  a.order = 5;
  auto b = src("a-first", "");
  b.order = 5;
  auto c = src("z-zero", "");
  c.order = 0;
  c.attachTo = {{Attachment::Kind::kRoute, "r1"}};
  auto set = setOf({a, b, c});
  REQUIRE(set->scripts().size() == 3);
  CHECK(set->scripts()[0].name == "z-zero");
  CHECK(set->scripts()[1].name == "a-first");
  CHECK(set->chainFor("edge", "r1") == std::vector<int>{0, 1, 2});
  CHECK(set->chainFor("edge", "other") == std::vector<int>{1, 2});
  CHECK(set->chainFor("none", "none").empty());

  auto dup = ScriptSet::build({src("x", ""), src("x", "")});
  CHECK_FALSE(dup.ok());
  auto bad = ScriptSet::build({src("broken", "x = = 1")});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().rfind("broken:1: ", 0) == 0);
}

TEST_CASE("headers: get, getAtIndex, getNumValues, add, replace, remove, pseudo-headers",
          "[script]") {
  Run r(R"(
    function envoy_on_request(h)
      local hs = h:headers()
      hs:add("x-multi", "a")
      hs:add("X-Multi", "b")
      hs:replace("x-replaced", "1")
      hs:replace("x-replaced", "2")
      hs:remove("x-remove-me")
      hs:add("x-method", hs:get(":method"))
      hs:add("x-path", hs:get(":path"))
      hs:add("x-authority", hs:get(":authority"))
      hs:add("x-scheme", hs:get(":scheme"))
      hs:add("x-joined", hs:get("x-multi"))
      hs:add("x-second", hs:getAtIndex("x-multi", 1))
      hs:add("x-count", tostring(hs:getNumValues("x-multi")))
      hs:add("x-missing", tostring((hs:get("nope"))))
      hs:add("x-at-missing", tostring((hs:getAtIndex("x-multi", 5))))
    end)");
  r.ex.request().add("x-remove-me", "1");
  REQUIRE(r.go() == HookResult::kContinue);
  auto& h = r.ex.request();
  CHECK(*h.find("x-method") == "GET");
  CHECK(*h.find("x-path") == "/");
  CHECK(*h.find("x-authority") == "api.example.com");
  CHECK(*h.find("x-scheme") == "https");
  CHECK(*h.find("x-joined") == "a,b");
  CHECK(*h.find("x-second") == "b");
  CHECK(*h.find("x-count") == "2");
  CHECK(*h.find("x-replaced") == "2");
  CHECK(h.count("x-replaced") == 1);
  CHECK(h.find("x-remove-me") == nullptr);
  CHECK(*h.find("x-missing") == "nil");
  CHECK(*h.find("x-at-missing") == "nil");
  CHECK(r.ex.headersModified > 0);
}

TEST_CASE("header iteration and its guard", "[script]") {
  SECTION("pairs visits every entry in order") {
    Run r(R"(
      function envoy_on_request(h)
        local seen = {}
        for k, v in pairs(h:headers()) do seen[#seen + 1] = k .. "=" .. v end
        h:headers():add("x-seen", table.concat(seen, ";"))
      end)");
    CHECK(r.go() == HookResult::kContinue);
    CHECK(*r.ex.request().find("x-seen") ==
          ":method=GET;:path=/;:authority=api.example.com;:scheme=https");
  }
  SECTION("modifying while iterating") {
    Run r(R"(
      function envoy_on_request(h)
        for k, v in pairs(h:headers()) do
          h:headers():add("x-" .. k, v)
        end
      end)");
    CHECK(r.go() == HookResult::kRespond);
    CHECK(r.error() == "test:4: header map cannot be modified while iterating");
  }
  SECTION("a second iterator before the first completes") {
    Run r(R"(
      function envoy_on_request(h)
        local it = pairs(h:headers())
        local it2 = pairs(h:headers())
      end)");
    CHECK(r.go() == HookResult::kRespond);
    CHECK(r.error() == "test:4: cannot create a second iterator before completing the first");
  }
  SECTION("breaking out of iteration leaves the map read-only (as in Envoy)") {
    Run r(R"(
      function envoy_on_request(h)
        for k, v in pairs(h:headers()) do break end
        h:headers():add("x", "y")
      end)");
    CHECK(r.go() == HookResult::kRespond);
    CHECK(r.error() == "test:4: header map cannot be modified while iterating");
  }
}

TEST_CASE("respond ends the exchange with a local reply", "[script]") {
  Run r(R"(
    function envoy_on_request(h)
      h:respond({[":status"] = "403", ["x-why"] = {"a", "b"}}, "nope")
      h:headers():add("x-after", "ran")
    end)");
  CHECK(r.go() == HookResult::kRespond);
  REQUIRE(r.ex.replies.size() == 1);
  auto& rep = r.ex.replies[0];
  CHECK(rep.status == 403);
  CHECK(rep.body == std::optional<std::string>("nope"));
  CHECK(rep.details == "lua_response");
  CHECK(rep.headers.size() == 2);
  CHECK(r.ex.request().find("x-after") == nullptr);
  CHECK(r.errors() == 0);

  Run bad(R"(function envoy_on_request(h) h:respond({[":status"] = "99"}) end)");
  CHECK(bad.go() == HookResult::kRespond);
  CHECK(bad.error() == "test:1: :status must be between 200-599");

  Run resp(R"(function envoy_on_response(h) h:respond({[":status"] = "200"}) end)");
  CHECK(resp.go(Hook::kResponse) == HookResult::kRespond);
  CHECK(resp.error() == "test:1: respond not currently supported in the response path");
}

TEST_CASE("body buffering", "[script]") {
  SECTION("body() waits for the whole body, getBytes and setBytes") {
    Run r(R"(
      function envoy_on_request(h)
        local b = h:body()
        h:headers():add("x-len", tostring(b:length()))
        h:headers():add("x-head", b:getBytes(0, 5))
        b:setBytes("replaced")
      end)");
    r.ex.side[0].hasBody = true;
    r.ex.side[0].body = "hello world";
    r.ex.prepare(Direction::kRequest);
    r.call = r.rt.call(r.set, 0, Hook::kRequest, r.ex);
    CHECK(r.call->start() == HookResult::kPause);
    CHECK(r.call->waitingFor() == Wait::kBody);
    r.ex.side[0].buffered = std::make_unique<StringBuffer>("hello world");
    r.ex.side[0].endOfStream = true;
    CHECK(r.call->resumeBody() == HookResult::kContinue);
    CHECK(*r.ex.request().find("x-len") == "11");
    CHECK(*r.ex.request().find("x-head") == "hello");
    CHECK(r.ex.side[0].buffered->data == "replaced");
  }
  SECTION("no body: nil, or an empty buffer with body(true)") {
    Run r(R"(
      function envoy_on_request(h)
        h:headers():add("x-nil", tostring((h:body())))
        h:headers():add("x-len", tostring(h:body(true):length()))
      end)");
    CHECK(r.go() == HookResult::kContinue);
    CHECK(*r.ex.request().find("x-nil") == "nil");
    CHECK(*r.ex.request().find("x-len") == "0");
  }
  SECTION("getBytes out of range") {
    Run r(R"(function envoy_on_request(h) h:body():getBytes(3, 100) end)");
    r.ex.side[0].hasBody = true;
    r.ex.side[0].body = "abc";
    CHECK(r.go() == HookResult::kRespond);
    CHECK(r.error() ==
          "test:1: index/length must be >= 0 and (index + length) must be <= buffer size");
  }
}

TEST_CASE("bodyChunks streams, headers pass on, chunks die after their turn", "[script]") {
  Run r(R"(
    local kept
    function envoy_on_request(h)
      local n = 0
      for chunk in h:bodyChunks() do
        n = n + chunk:length()
        kept = kept or chunk
      end
      h:logInfo("total " .. n)
      kept:length()
    end)");
  r.ex.side[0].hasBody = true;
  r.ex.side[0].body = "0123456789";
  r.ex.prepare(Direction::kRequest);
  r.call = r.rt.call(r.set, 0, Hook::kRequest, r.ex);
  CHECK(r.call->start() == HookResult::kContinue);  // headers continue while streaming
  CHECK(r.call->waitingFor() == Wait::kBodyChunk);
  StringBuffer c1("01234"), c2("56789");
  CHECK(r.call->resumeBodyChunk(&c1) == HookResult::kContinue);
  r.ex.side[0].endOfStream = true;
  CHECK(r.call->resumeBodyChunk(&c2) == HookResult::kRespond);
  REQUIRE(r.ex.logs.size() == 1);
  CHECK(r.ex.logs[0].second == "total 10");
  CHECK(r.error() == "test:10: object used outside of proper scope");
}

TEST_CASE("after streaming starts, headers can no longer be modified and respond fails",
          "[script]") {
  Run r(R"(
    function envoy_on_request(h)
      for chunk in h:bodyChunks() do end
      h:headers():add("x", "y")
    end)");
  r.ex.side[0].hasBody = true;
  r.ex.side[0].body = "abcdef";
  CHECK(r.go() == HookResult::kRespond);
  CHECK(r.error() == "test:4: header map can no longer be modified");
  CHECK(r.ex.replies.empty());  // too late for a reply: the session resets
}

TEST_CASE("trailers", "[script]") {
  Run r(R"(
    function envoy_on_request(h)
      local t = h:trailers()
      t:add("x-added", "1")
      h:logInfo(t:get("grpc-status"))
    end)");
  r.ex.side[0].hasBody = true;
  r.ex.side[0].body = "x";
  r.ex.side[0].hasTrailers = true;
  r.ex.side[0].pendingTrailers.add("grpc-status", "0");
  CHECK(r.go() == HookResult::kContinue);
  CHECK(r.ex.logs.at(0).second == "0");
  CHECK(*r.ex.side[0].trailers->find("x-added") == "1");

  Run none(R"(function envoy_on_request(h) h:logInfo(tostring((h:trailers()))) end)");
  CHECK(none.go() == HookResult::kContinue);
  CHECK(none.ex.logs.at(0).second == "nil");
}

TEST_CASE("httpCall yields and resumes with the answer", "[script]") {
  Run r(R"(
    function envoy_on_request(h)
      local headers, body = h:httpCall("auth", {
        [":method"] = "POST", [":path"] = "/check", [":authority"] = "auth"}, "payload", 500)
      h:headers():add("x-status", headers[":status"])
      h:headers():add("x-body", body)
    end)");
  r.ex.prepare(Direction::kRequest);
  r.call = r.rt.call(r.set, 0, Hook::kRequest, r.ex);
  CHECK(r.call->start() == HookResult::kPause);
  CHECK(r.call->waitingFor() == Wait::kHttpCall);
  REQUIRE(r.ex.calls.size() == 1);
  CHECK(r.ex.calls[0].service == "auth");
  CHECK(r.ex.calls[0].timeoutMs == 500);
  CHECK(r.ex.calls[0].body == std::optional<std::string>("payload"));
  CHECK(r.call->resumeHttpCall({{{":status", "200"}, {"x-user", "u1"}}, "ok"}) ==
        HookResult::kContinue);
  CHECK(*r.ex.request().find("x-status") == "200");
  CHECK(*r.ex.request().find("x-body") == "ok");
}

TEST_CASE("httpCall errors and options", "[script]") {
  auto err = [](std::string call) {
    Run r("function envoy_on_request(h) " + call + " end");
    r.go();
    return r.error();
  };
  const std::string hdrs = R"({[":method"]="GET",[":path"]="/",[":authority"]="a"})";
  CHECK(err(R"(h:httpCall("nope", )" + hdrs + R"(, nil, 10))") ==
        "test:1: http call cluster invalid. Must be configured");
  CHECK(err(R"(h:httpCall("auth", {[":method"]="GET"}, nil, 10))") ==
        "test:1: http call headers must include ':path', ':method', and ':authority'");
  CHECK(err(R"(h:httpCall("auth", )" + hdrs + R"(, nil, -1))") ==
        "test:1: http call timeout must be >= 0");
  CHECK(err(R"(h:httpCall("auth", )" + hdrs + R"(, nil, 10, "yes"))") ==
        "test:1: http call asynchronous flag must be 'true', 'false', or empty");
  CHECK(err(R"(h:httpCall("auth", )" + hdrs + R"(, nil, {bogus = 1}))") ==
        "test:1: \"bogus\" is not valid key for httpCall() options");

  Run async("function envoy_on_request(h) h:httpCall('auth', " + hdrs +
            ", 'x', {asynchronous = true, timeout_ms = 7}) h:headers():add('x-after', '1') end");
  CHECK(async.go() == HookResult::kContinue);
  REQUIRE(async.ex.calls.size() == 1);
  CHECK(async.ex.calls[0].detached);
  CHECK(async.ex.calls[0].timeoutMs == 7);
  CHECK(async.ex.request().find("x-after") != nullptr);

  Run dup("function envoy_on_request(h) local hs = h:httpCall('auth', " + hdrs +
          ", nil, {return_duplicate_headers = true}) h:logInfo(type(hs['set-cookie'])) end");
  dup.canned.answers["auth"] = {{{":status", "200"}, {"set-cookie", "a"}, {"set-cookie", "b"}}, ""};
  CHECK(dup.go() == HookResult::kContinue);
  CHECK(dup.ex.logs.at(0).second == "table");

  Run failed("function envoy_on_request(h) local hs, b = h:httpCall('auth', " + hdrs +
             ", nil, 10) h:logInfo(hs[':status'] .. ' ' .. b) end");
  failed.canned.fail = true;
  CHECK(failed.go() == HookResult::kContinue);
  CHECK(failed.ex.logs.at(0).second == "503 upstream failure");
}

TEST_CASE("streamInfo, connection, ssl, principal and metadata", "[script]") {
  Run r(R"(
    function envoy_on_request(h)
      local si = h:streamInfo()
      local out = {si:protocol(), si:routeName(), si:downstreamLocalAddress(),
        si:downstreamDirectRemoteAddress(), si:downstreamRemoteAddress(),
        si:requestedServerName(), tostring(si:peerPrincipal())}
      local ssl = si:downstreamSslConnection()
      out[#out + 1] = tostring(ssl:peerCertificatePresented())
      out[#out + 1] = ssl:uriSanPeerCertificate()[1]
      out[#out + 1] = ssl:sha256PeerCertificateDigest()
      out[#out + 1] = ssl:subjectPeerCertificate()
      out[#out + 1] = ssl:ciphersuiteId()
      out[#out + 1] = tostring(h:connection():ssl() ~= nil)
      out[#out + 1] = h:metadata():get("team")
      si:dynamicMetadata():set("gatehouse.lua", "user", {name = "ann", roles = {"a", "b"}})
      out[#out + 1] = si:dynamicMetadata():get("gatehouse.lua").user.roles[2]
      h:logInfo(table.concat(out, "|"))
    end)");
  r.ex.ssl = std::make_unique<SslInfo>();
  r.ex.ssl->peerCertificatePresented = true;
  r.ex.ssl->uriSanPeerCertificate = {"spiffe://example.org/ns/a/sa/b"};
  r.ex.ssl->sha256PeerCertificateDigest = "abcd";
  r.ex.ssl->subjectPeerCertificate = "CN=b";
  r.ex.ssl->ciphersuiteId = 0x1301;
  r.ex.principal = "spiffe://example.org/ns/a/sa/b";
  r.ex.routeMeta = std::make_unique<MetaValue>(MetaValue::ofStruct());
  r.ex.routeMeta->set("team", MetaValue::ofString("payments"));
  CHECK(r.go() == HookResult::kContinue);
  INFO(r.error());
  CHECK(r.ex.logs.at(0).second ==
        "HTTP/1.1|api-route|10.0.0.1:443|192.0.2.7:51000|203.0.113.9:0|api.example.com|"
        "spiffe://example.org/ns/a/sa/b|true|spiffe://example.org/ns/a/sa/b|abcd|CN=b|0x1301|true|"
        "payments|b");
  REQUIRE(r.ex.dynamic.size() == 1);
  CHECK(r.ex.dynamic[0].first == "gatehouse.lua");

  Run plain(R"(function envoy_on_request(h)
    h:logInfo(tostring(h:streamInfo():downstreamSslConnection()) .. tostring((h:streamInfo():peerPrincipal())))
  end)");
  CHECK(plain.go() == HookResult::kContinue);
  CHECK(plain.ex.logs.at(0).second == "nilnil");

  Run badMeta(R"(function envoy_on_request(h) h:streamInfo():dynamicMetadata():set("ns", "k", print) end)");
  CHECK(badMeta.go() == HookResult::kRespond);
  CHECK(badMeta.error() == "test:1: unexpected type 'function' in dynamicMetadata");
}

TEST_CASE("the scope guard: objects kept past their call", "[script]") {
  Run r(R"(
    local saved, savedHeaders
    function envoy_on_request(h)
      if saved == nil then
        saved = h
        savedHeaders = h:headers()
        return
      end
      if h:headers():get("x-which") == "handle" then saved:headers() end
      savedHeaders:get("x")
    end)");
  CHECK(r.go() == HookResult::kContinue);
  r.ex.request().add("x-which", "handle");
  CHECK(r.go() == HookResult::kRespond);
  CHECK(r.error() == "test:9: object used outside of proper scope");
  r.ex.request().remove("x-which");
  CHECK(r.go() == HookResult::kRespond);
  CHECK(r.error() == "test:10: object used outside of proper scope");
}

TEST_CASE("the sandbox: only allow-listed globals", "[script][sandbox]") {
  Run r(R"(
    function envoy_on_request(h)
      local absent = {}
      for _, name in ipairs({"os", "io", "debug", "ffi", "package", "require", "dofile",
                             "loadfile", "getfenv", "setfenv", "jit", "newproxy", "module",
                             "gcinfo"}) do
        if _G[name] ~= nil then absent[#absent + 1] = name end
      end
      if string.dump ~= nil then absent[#absent + 1] = "string.dump" end
      if getmetatable("") ~= false then absent[#absent + 1] = "string metatable" end
      h:logInfo("present:" .. table.concat(absent, ","))
      local f, err = loadstring(string.char(27) .. "LJ")
      h:logInfo(tostring(f) .. " " .. tostring(err ~= nil))
      local g = loadstring("return 1 + 1")
      h:logInfo(tostring(g()))
      local ok, e = pcall(collectgarbage, "stop")
      h:logInfo(tostring(ok) .. " " .. e)
      h:logInfo(tostring(collectgarbage("count") > 0))
    end)");
  CHECK(r.go() == HookResult::kContinue);
  INFO(r.error());
  REQUIRE(r.ex.logs.size() == 5);
  CHECK(r.ex.logs[0].second == "present:");
  CHECK(r.ex.logs[1].second == "nil true");
  CHECK(r.ex.logs[2].second == "2");
  CHECK(r.ex.logs[3].second == "false collectgarbage('stop') is not allowed");
  CHECK(r.ex.logs[4].second == "true");
}

TEST_CASE("scripts do not share globals or libraries", "[script][sandbox]") {
  auto a = src("a", "string.upper = nil; shared_global = 1");
  auto b = src("b", R"(function envoy_on_request(h)
    h:logInfo(tostring(shared_global) .. " " .. string.upper("x")) end)");
  auto set = setOf({a, b});
  ScriptRuntime rt;
  FakeExchange ex;
  ex.prepare(Direction::kRequest);
  auto call = rt.call(set, 1, Hook::kRequest, ex);
  CHECK(drive(*call, ex, Direction::kRequest, {}) == HookResult::kContinue);
  CHECK(ex.logs.at(0).second == "nil X");
}

TEST_CASE("a runaway script is stopped by the instruction budget; the worker carries on",
          "[script][limits]") {
  Run r(R"(
    function envoy_on_request(h)
      if h:headers():get("x-spin") then
        while true do end
      end
      h:headers():add("x-ok", "1")
    end)");
  r.ex.request().add("x-spin", "1");
  auto t0 = std::chrono::steady_clock::now();
  CHECK(r.go() == HookResult::kRespond);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  CHECK(ms < 1000);
  CHECK(r.error() == "test:4: instruction budget exceeded");
  REQUIRE(r.ex.replies.size() == 1);
  CHECK(r.ex.replies[0].status == 500);
  CHECK(r.ex.replies[0].headers.at(0) == std::pair<std::string, std::string>("x-gatehouse-reason", "lua_error"));
  CHECK(r.errors() == 1);
  auto counters = r.rt.counters();
  REQUIRE(counters.size() == 1);
  CHECK(counters[0].second->budgetKills.load() == 1);
  // The same VM serves the next exchange.
  r.ex.request().remove("x-spin");
  CHECK(r.go() == HookResult::kContinue);
  CHECK(r.ex.request().find("x-ok") != nullptr);
}

TEST_CASE("pcall cannot hold a stopped script", "[script][limits]") {
  Run r(R"(
    function envoy_on_request(h)
      for i = 1, 1000 do
        pcall(function() while true do end end)
      end
      h:headers():add("x-escaped", "1")
    end)");
  CHECK(r.go() == HookResult::kRespond);
  CHECK(r.error().find("instruction budget exceeded") != std::string::npos);
  CHECK(r.ex.request().find("x-escaped") == nullptr);
}

TEST_CASE("the wall-clock budget", "[script][limits]") {
  auto s = src("slow", R"(
    function envoy_on_request(h)
      local x = 0
      while true do x = x + 1 end
    end)");
  s.limits.instructions = 1ull << 50;
  s.limits.wallMs = 20;
  Run r(s);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(r.go() == HookResult::kRespond);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  CHECK(ms < 500);
  CHECK(r.error() == "slow:4: wall-clock budget exceeded");
}

TEST_CASE("the memory cap fails the allocating script only", "[script][limits]") {
  QuietLog quiet;
  auto s = src("hog", R"(
    function envoy_on_request(h)
      if h:headers():get("x-hog") then
        local t = {}
        for i = 1, 1e7 do t[i] = string.rep("x", 64) .. i end
      end
      h:headers():add("x-ok", "1")
    end)");
  s.limits.instructions = 1ull << 40;
  s.limits.wallMs = 5000;
  auto set = setOf({s}, 4u << 20);
  ScriptRuntime rt;
  FakeExchange ex;
  ex.request().add("x-hog", "1");
  ex.prepare(Direction::kRequest);
  auto call = rt.call(set, 0, Hook::kRequest, ex);
  CHECK(drive(*call, ex, Direction::kRequest, {}) == HookResult::kRespond);
  CHECK(call->error() == "hog: not enough memory");
  CHECK(rt.counters().at(0).second->memoryErrors.load() == 1);
  FakeExchange ex2;
  ex2.prepare(Direction::kRequest);
  auto call2 = rt.call(set, 0, Hook::kRequest, ex2);
  CHECK(drive(*call2, ex2, Direction::kRequest, {}) == HookResult::kContinue);
  CHECK(ex2.request().find("x-ok") != nullptr);
}

TEST_CASE("failOpen lets the exchange go on; the error is still counted", "[script]") {
  Run r(R"(function envoy_on_request(h) error("boom") end)", /*failOpen=*/true);
  CHECK(r.go() == HookResult::kContinue);
  CHECK(r.ex.replies.empty());
  CHECK(r.error() == "test:1: boom");
  CHECK(r.errors() == 1);
}

TEST_CASE("a runtime error answers 500 lua_error", "[script]") {
  Run r("function envoy_on_request(h)\n  local x = nil\n  x.y = 1\nend");
  CHECK(r.go() == HookResult::kRespond);
  CHECK(r.error() == "test:3: attempt to index local 'x' (a nil value)");
  REQUIRE(r.ex.replies.size() == 1);
  CHECK(r.ex.replies[0].details == "lua_error");
}

TEST_CASE("a top level that fails loads the script as broken", "[script]") {
  Run r("error('at load')\nfunction envoy_on_request(h) end");
  CHECK(r.go() == HookResult::kRespond);
  CHECK(r.error() == "test:1: at load");
  CHECK(r.rt.counters().at(0).second->loadErrors.load() == 1);
}

TEST_CASE("coroutine.yield from a hook is an unexpected yield", "[script]") {
  Run r("function envoy_on_request(h) coroutine.yield() end");
  CHECK(r.go() == HookResult::kRespond);
  CHECK(r.error() == "test: script performed an unexpected yield");
}

TEST_CASE("undefined hooks cost nothing", "[script]") {
  Run r("function envoy_on_response(h) end");
  r.ex.prepare(Direction::kRequest);
  auto call = r.rt.call(r.set, 0, Hook::kRequest, r.ex);
  CHECK_FALSE(call->defined());
  CHECK(call->start() == HookResult::kContinue);
}

TEST_CASE("response hook: headers, reason phrase, body", "[script]") {
  Run r(R"(
    function envoy_on_response(h)
      h:headers():replace(":status", "201")
      h:headers():setHttp1ReasonPhrase("Made")
      h:headers():add("x-len", tostring(h:body():length()))
    end)");
  r.ex.side[1].hasBody = true;
  r.ex.side[1].body = "abc";
  CHECK(r.go(Hook::kResponse) == HookResult::kContinue);
  CHECK(*r.ex.response().find(":status") == "201");
  CHECK(r.ex.response().reason == "Made");
  CHECK(*r.ex.response().find("x-len") == "3");
}

TEST_CASE("logging, base64Escape, timestamp", "[script]") {
  Run r(R"(
    function envoy_on_request(h)
      h:logTrace("t") h:logDebug("d") h:logInfo("i") h:logWarn("w") h:logErr("e")
      h:logCritical("c")
      h:logInfo(h:base64Escape("hello") .. " " .. h:base64Escape("hi") .. " " .. h:base64Escape(""))
      h:logInfo(tostring(h:timestamp() > 1.6e12))
      h:logInfo(tostring(#h:timestampString(EnvoyTimestampResolution.MICROSECOND) >= 16))
    end)");
  CHECK(r.go() == HookResult::kContinue);
  REQUIRE(r.ex.logs.size() == 9);
  CHECK(r.ex.logs[0].first == ScriptLogLevel::kTrace);
  CHECK(r.ex.logs[5].first == ScriptLogLevel::kCritical);
  CHECK(r.ex.logs[6].second == "aGVsbG8= aGk= ");
  CHECK(r.ex.logs[7].second == "true");
  CHECK(r.ex.logs[8].second == "true");
}

TEST_CASE("hot change: paused exchanges finish on the old code", "[script]") {
  auto v1 = setOf({src("s", R"(function envoy_on_request(h)
      h:httpCall("auth", {[":method"]="GET",[":path"]="/",[":authority"]="a"}, nil, 10)
      h:headers():add("x-version", "1") end)")});
  auto v2 = setOf({src("s", R"(function envoy_on_request(h) h:headers():add("x-version", "2") end)")});
  ScriptRuntime rt;
  FakeExchange old;
  old.prepare(Direction::kRequest);
  auto paused = rt.call(v1, 0, Hook::kRequest, old);
  CHECK(paused->start() == HookResult::kPause);
  FakeExchange fresh;
  fresh.prepare(Direction::kRequest);
  auto next = rt.call(v2, 0, Hook::kRequest, fresh);
  CHECK(next->start() == HookResult::kContinue);
  CHECK(*fresh.request().find("x-version") == "2");
  CHECK(paused->resumeHttpCall({{{":status", "200"}}, ""}) == HookResult::kContinue);
  CHECK(*old.request().find("x-version") == "1");
}

TEST_CASE("cancel drops a paused call", "[script]") {
  Run r(R"(function envoy_on_request(h) h:body() end)");
  r.ex.side[0].hasBody = true;
  r.ex.prepare(Direction::kRequest);
  r.call = r.rt.call(r.set, 0, Hook::kRequest, r.ex);
  CHECK(r.call->start() == HookResult::kPause);
  r.call->cancel();
  CHECK(r.call->done());
  r.call.reset();
}

TEST_CASE("gatehouse.shared across workers", "[script][shared]") {
  int64_t now = 1000;
  SharedDict dict(1000, [&] { return now; });
  const char* code = R"(
    function envoy_on_request(h)
      local n = gatehouse.shared:incr("hits", 1, 0)
      gatehouse.shared:set("last", h:headers():get(":path"), 2)
      h:logInfo(tostring(n) .. " " .. tostring(gatehouse.shared:get("last")))
    end)";
  Run w1(code, false, &dict);
  Run w2(code, false, &dict);
  CHECK(w1.go() == HookResult::kContinue);
  CHECK(w2.go() == HookResult::kContinue);
  CHECK(w1.ex.logs.at(0).second == "1 /");
  CHECK(w2.ex.logs.at(0).second == "2 /");
  now += 2500;
  CHECK_FALSE(dict.get("last").has_value());
  CHECK(dict.get("hits")->number == 2);

  Run errs(R"(function envoy_on_request(h)
    gatehouse.shared:set("s", "text")
    local v, err = gatehouse.shared:incr("s", 1)
    local v2, err2 = gatehouse.shared:incr("absent", 1)
    h:logInfo(tostring(v) .. " " .. err .. " " .. err2)
    gatehouse.shared:set("t", {})
  end)", false, &dict);
  CHECK(errs.go() == HookResult::kRespond);
  CHECK(errs.ex.logs.at(0).second == "nil not a number not found");
  CHECK(errs.error() == "test:6: gatehouse.shared: values are strings, numbers or booleans, not table");

  Run missing(R"(function envoy_on_request(h) gatehouse.shared:get("x") end)");
  CHECK(missing.go() == HookResult::kRespond);
  CHECK(missing.error() == "test:1: gatehouse.shared is not available in this process");
}

TEST_CASE("SharedDict: incr is atomic across threads, capacity, ttl", "[script][shared]") {
  SharedDict dict;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; i++) dict.incr("n", 1, 0);
    });
  for (auto& t : threads) t.join();
  CHECK(dict.get("n")->number == 40000);

  int64_t now = 0;
  SharedDict small(16, [&] { return now; });  // one entry per shard
  int stored = 0;
  for (int i = 0; i < 64; i++) {
    SharedValue v;
    v.kind = SharedValue::Kind::kNumber;
    stored += small.set("k" + std::to_string(i), v, 1);
  }
  CHECK(stored <= 16);
  now += 1001;  // everything expired: room again
  SharedValue v;
  CHECK(small.set("fresh", v));
  CHECK(small.remove("fresh"));
  CHECK_FALSE(small.remove("fresh"));
}

TEST_CASE("gatehouse_authorize: a CUSTOM authorization provider", "[script][authz]") {
  Run r(R"(
    function gatehouse_authorize(h)
      local p = h:streamInfo():peerPrincipal()
      if p == "spiffe://example.org/ns/prod/sa/web" then return true end
      return false, "principal " .. tostring(p) .. " may not call " .. h:headers():get(":path")
    end)");
  r.ex.principal = "spiffe://example.org/ns/prod/sa/web";
  CHECK(r.go(Hook::kAuthorize) == HookResult::kContinue);
  CHECK(r.call->verdict().allow);
  r.ex.principal = "spiffe://example.org/ns/dev/sa/x";
  CHECK(r.go(Hook::kAuthorize) == HookResult::kContinue);
  CHECK_FALSE(r.call->verdict().allow);
  CHECK(r.call->verdict().reason == "principal spiffe://example.org/ns/dev/sa/x may not call /");

  Run broken("function gatehouse_authorize(h) error('x') end");
  CHECK(broken.go(Hook::kAuthorize) == HookResult::kContinue);
  CHECK_FALSE(broken.call->verdict().allow);
  CHECK(broken.call->verdict().reason == "lua_error");
  Run open("function gatehouse_authorize(h) error('x') end", /*failOpen=*/true);
  CHECK(open.go(Hook::kAuthorize) == HookResult::kContinue);
  CHECK(open.call->verdict().allow);

  Run viaCall(R"(function gatehouse_authorize(h)
      local hs, body = h:httpCall("auth", {[":method"]="GET",[":path"]="/allow",[":authority"]="auth"}, nil, 100)
      return hs[":status"] == "200", body
    end)");
  viaCall.canned.answers["auth"] = {{{":status", "403"}}, "denied upstream"};
  CHECK(viaCall.go(Hook::kAuthorize) == HookResult::kContinue);
  CHECK_FALSE(viaCall.call->verdict().allow);
  CHECK(viaCall.call->verdict().reason == "denied upstream");
}

TEST_CASE("an exchange pinned to the old snapshot runs its response hook on the old code",
          "[script]") {
  auto v1 = setOf({src("s", R"(function envoy_on_response(h) h:headers():add("x-version", "1") end)")});
  auto v2 = setOf({src("s", R"(function envoy_on_response(h) h:headers():add("x-version", "2") end)")});
  ScriptRuntime rt;
  FakeExchange fresh, old;
  fresh.prepare(Direction::kResponse);
  old.prepare(Direction::kResponse);
  CHECK(rt.call(v2, 0, Hook::kResponse, fresh)->start() == HookResult::kContinue);
  CHECK(rt.call(v1, 0, Hook::kResponse, old)->start() == HookResult::kContinue);
  CHECK(rt.call(v2, 0, Hook::kResponse, fresh)->start() == HookResult::kContinue);
  CHECK(*old.response().find("x-version") == "1");
  CHECK(fresh.response().count("x-version") == 2);
  CHECK(rt.vmCount() == 2);  // v1 is still held (by this test, as a snapshot would)
  v1.reset();                // the old snapshot ends: its VM goes at the next vmFor
  CHECK(rt.call(v2, 0, Hook::kResponse, fresh)->start() == HookResult::kContinue);
  FakeExchange other;
  other.prepare(Direction::kResponse);
  auto v3 = setOf({src("s", "")});
  rt.call(v3, 0, Hook::kResponse, other);
  CHECK(rt.vmCount() == 2);  // v2 and v3
}

TEST_CASE("workers run their VMs in parallel, sharing only gatehouse.shared", "[script][shared]") {
  SharedDict dict;
  auto set = setOf({src("count", R"(
    local mine = 0
    function envoy_on_request(h)
      mine = mine + 1
      gatehouse.shared:incr("total", 1, 0)
      if h:headers():get("x-last") then h:logInfo(tostring(mine)) end
    end)")});
  const int kWorkers = 4, kCalls = 5000;
  std::vector<std::string> lastLog(kWorkers);
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; w++)
    workers.emplace_back([&, w] {
      ScriptRuntime rt(&dict);
      for (int i = 0; i < kCalls; i++) {
        FakeExchange ex;
        if (i == kCalls - 1) ex.request().add("x-last", "1");
        ex.prepare(Direction::kRequest);
        auto call = rt.call(set, 0, Hook::kRequest, ex);
        if (call->start() != HookResult::kContinue) return;
        if (!ex.logs.empty()) lastLog[w] = ex.logs[0].second;
      }
    });
  for (auto& t : workers) t.join();
  for (int w = 0; w < kWorkers; w++) CHECK(lastLog[w] == std::to_string(kCalls));  // per worker
  CHECK(dict.get("total")->number == kWorkers * kCalls);                           // shared
}
