// Fuzzes core/script with arbitrary Lua: checkSyntax on the input, then — when it compiles —
// the script's request and response hooks on a fake exchange, under tight budgets.
//
// What must hold whatever the script does: nothing crashes or leaks (ASan), every hook call
// ends (done, or paused and then cancelled), a failed call names the script, and the VM keeps
// serving: a fixed probe script in the same set runs correctly after the fuzzed one.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/base/log.h"
#include "core/script/runtime.h"
#include "core/script/shared_dict.h"
#include "tests/unit/script/fake_exchange.h"

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

using namespace gh::script;
using namespace gh::script::testing;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = (gh::log::setLevel(gh::log::Level::kError), true);
  (void)quiet;
  static SharedDict shared(1000);
  const std::string source(reinterpret_cast<const char*>(data), size);
  Diagnostic d = checkSyntax("fuzz", source);
  if (!d.ok) {
    FUZZ_CHECK(d.script == "fuzz");
    return 0;
  }
  ScriptSource s;
  s.name = "fuzz";
  s.source = source;
  s.limits.instructions = 20000;
  s.limits.wallMs = 50;
  ScriptSource probe;
  probe.name = "probe";
  probe.order = 1;
  probe.source = "function envoy_on_request(h) h:headers():add('x-probe', 'ok') end";
  auto set = ScriptSet::build({s, probe}, 8u << 20);
  if (!set.ok()) return 0;
  ScriptRuntime rt(&shared);
  for (Hook hook : {Hook::kRequest, Hook::kResponse, Hook::kAuthorize}) {
    FakeExchange ex;
    ex.side[0].hasBody = true;
    ex.side[0].body = "body bytes";
    Direction dir = hook == Hook::kResponse ? Direction::kResponse : Direction::kRequest;
    ex.prepare(dir);
    auto call = rt.call(set.value(), 0, hook, ex);
    CannedCalls canned;
    canned.answers["auth"] = {{{":status", "200"}}, "ok"};
    drive(*call, ex, dir, canned);
    if (!call->done()) call->cancel();
    if (call->failed()) FUZZ_CHECK(call->error().rfind("fuzz", 0) == 0);
  }
  FakeExchange ex;
  ex.prepare(Direction::kRequest);
  auto call = rt.call(set.value(), 1, Hook::kRequest, ex);
  // The VM still serves. The one way the probe may fail: the fuzzed script keeps (in its
  // globals) memory up to the VM's cap — a cap per VM, not per script.
  if (drive(*call, ex, Direction::kRequest, {}) == HookResult::kContinue)
    FUZZ_CHECK(ex.request().find("x-probe") != nullptr);
  else
    FUZZ_CHECK(call->error() == "probe: not enough memory");
  return 0;
}
