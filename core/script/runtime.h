#pragma once
// The LuaJIT host of one worker: ScriptRuntime (per worker), ScriptVm (one lua_State per worker
// per ScriptSet) and HookCall (one hook of one script on one exchange, run as a coroutine).
//
// The model
// ---------
// Each worker owns one ScriptRuntime. When an exchange pinned to a snapshot first needs a
// script, runtime.vmFor(set) returns the worker's VM for that snapshot's ScriptSet, building
// it the first time (a new lua_State; every script compiled and its top level run once, in its
// own sandboxed environment). The previous VM is not destroyed while its ScriptSet is alive
// (exchanges pinned to the old snapshot still run their hooks, request or response, on the
// code they started with) or a HookCall uses it; it goes at the first vmFor after both end.
// So a new script version takes over for new exchanges at once, old exchanges finish on the
// old code, and a hot change fails nothing. At steady state: one lua_State per worker.
//
// Each hook call (envoy_on_request, envoy_on_response, gatehouse_authorize) runs in a fresh
// coroutine of that VM. When the script waits — for the whole body, the next body chunk,
// trailers, or an httpCall — the coroutine yields, start()/resume*() return kPause, and the
// session resumes it from its loop when the awaited thing is there. Nothing blocks the worker.
//
// Limits (spec/lua.md): the VM's allocator refuses to grow past ScriptSet::memoryCapBytes()
// while a script runs (the script fails with "not enough memory"; the host itself is never
// refused). Untrusted scripts run with the JIT off for all their functions (LuaJIT only checks
// hooks in the interpreter), with a count hook enforcing the instruction budget and the
// wall-clock budget; a script stopped by either fails with "instruction budget exceeded" /
// "wall-clock budget exceeded" and keeps failing on every instruction, so pcall cannot hold it.
// A failed hook is counted (ScriptCounters), logged with the script's name and line, and ends
// the exchange with 500 `x-gatehouse-reason: lua_error` — or lets it go on with failOpen. No
// script failure escapes the VM: the worker carries on.
//
// Threads: a ScriptRuntime, its VMs and HookCalls belong to one worker thread. Only counters()
// may be read from another thread (scrapes).

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/script/script_exchange.h"
#include "core/script/script_set.h"

struct lua_State;

namespace gh::script {

class SharedDict;
class ScriptVm;
class HookCall;

// What a hook call tells the session, returned by HookCall::start and every resume*().
enum class HookResult : uint8_t {
  // The exchange goes on to its next phase. Either the hook finished (done()), or it failed
  // and its script is failOpen, or it is streaming the body (waitingFor() == kBodyChunk: keep
  // the call and hand it each chunk with resumeBodyChunk as the body passes through).
  kContinue,
  // A local reply was handed to ScriptExchange::respond — the script's handle:respond(), or the
  // 500 lua_error of a failed hook. Send it and skip to the log phase. If the headers of this
  // side were already passed on (streaming body), the session cannot reply: reset instead.
  kRespond,
  // The hook waits for waitingFor(); call the matching resume*() when that is available, or
  // cancel() (or destroy the call) if the exchange ends first. The headers are held.
  kPause,
};

// What a paused (or body-streaming) hook waits for.
enum class Wait : uint8_t {
  kNone,
  kBody,       // handle:body(): buffer the whole body of this side, then resumeBody()
  kBodyChunk,  // bodyChunks(): resumeBodyChunk(chunk) per chunk, resumeBodyChunk(nullptr) at end
  kTrailers,   // handle:trailers(): resumeTrailers() when trailers arrive or the stream ends
  kHttpCall,   // handle:httpCall(): ScriptExchange::startHttpCall was called; resumeHttpCall()
};

enum class Hook : uint8_t {
  kRequest,    // envoy_on_request(handle)
  kResponse,   // envoy_on_response(handle)
  kAuthorize,  // gatehouse_authorize(handle) -> allow[, reason] (a CUSTOM authz provider)
};

// The answer of a gatehouse_authorize hook (HookCall::verdict once done()).
struct AuthzVerdict {
  bool allow = false;
  std::string reason;  // the script's reason; "lua_error" when it failed (and was not failOpen)
};

// Per script, per worker. Relaxed atomics: written by the worker, read by scrapes.
struct ScriptCounters {
  std::atomic<uint64_t> calls{0};         // hook calls started
  std::atomic<uint64_t> errors{0};        // lua_errors_total: every failed call, any cause
  std::atomic<uint64_t> budgetKills{0};   // of which: instruction or wall-clock budget
  std::atomic<uint64_t> memoryErrors{0};  // of which: the VM's memory cap
  std::atomic<uint64_t> loadErrors{0};    // the script's top level failed when a VM loaded it
  std::atomic<uint64_t> durationNs{0};    // running time of its hook calls (waits excluded)
};

class ScriptRuntime {
 public:
  // `shared` (may be nullptr: gatehouse.shared then raises an error) outlives the runtime.
  explicit ScriptRuntime(SharedDict* shared = nullptr);
  ~ScriptRuntime();
  ScriptRuntime(const ScriptRuntime&) = delete;
  ScriptRuntime& operator=(const ScriptRuntime&) = delete;

  // The VM for `set`, built on first use (see the model above). Never fails: a script whose
  // top level fails to run is loaded as broken (counted, logged) and every call of it fails.
  std::shared_ptr<ScriptVm> vmFor(const std::shared_ptr<const ScriptSet>& set);

  // Creates (does not start) the call of `hook` of script `script` (an index of
  // set->scripts(), as chainFor returns) on `exchange`, in the VM for that set.
  std::unique_ptr<HookCall> call(const std::shared_ptr<const ScriptSet>& set, int script,
                                 Hook hook, ScriptExchange& exchange);

  // Whether script `script` of `set` defines `hook` (or is broken: its call then fails), so
  // the session can skip the call without creating it. Builds the VM on first use.
  bool defines(const std::shared_ptr<const ScriptSet>& set, int script, Hook hook);

  // Counters by script name; the pointers stay valid for the runtime's life.
  std::vector<std::pair<std::string, const ScriptCounters*>> counters() const;
  uint64_t errorsTotal() const;
  // VMs alive on this worker: 1 at steady state, 2 while exchanges of the previous snapshot
  // finish after a change.
  size_t vmCount() const;

  ScriptCounters* countersFor(const std::string& name);  // used by ScriptVm

 private:
  SharedDict* shared_;
  std::vector<std::shared_ptr<ScriptVm>> vms_;  // newest last
  mutable std::mutex countersMu_;  // guards the map's shape only (not the per-request path)
  std::unordered_map<std::string, std::unique_ptr<ScriptCounters>> counters_;
};

// One call of one hook. Owned by the session (unique_ptr); destroying it while paused cancels.
class HookCall {
 public:
  ~HookCall();
  HookCall(const HookCall&) = delete;
  HookCall& operator=(const HookCall&) = delete;

  // Whether the script defines the hook. If not, start() returns kContinue at once and costs
  // nothing; the session may skip the call altogether.
  bool defined() const;

  HookResult start();
  // Wait::kBody: the body of this side is complete and buffered (bufferedBody), or the stream
  // ended without one.
  HookResult resumeBody();
  // Wait::kBodyChunk: the next chunk (the script may change it; valid for this call only), or
  // nullptr when the body ended (the iterator then ends).
  HookResult resumeBodyChunk(ScriptBuffer* chunk);
  // Wait::kTrailers: trailers arrived (ScriptExchange::trailers) or the stream ended.
  HookResult resumeTrailers();
  // Wait::kHttpCall: the answer, or HttpCallResponse::failure() on error/timeout.
  HookResult resumeHttpCall(HttpCallResponse response);
  // The exchange ended while the hook was paused: the coroutine is dropped, nothing is called.
  void cancel();

  Wait waitingFor() const { return wait_; }
  bool done() const { return state_ == State::kDone || state_ == State::kFailed; }
  bool failed() const { return state_ == State::kFailed; }
  const std::string& error() const { return error_; }  // "name:line: message" when failed()
  const AuthzVerdict& verdict() const { return verdict_; }
  const std::string& scriptName() const;

  // ---- Internal to core/script (runtime.cc, bindings.cc); the session never touches these.
  enum class State : uint8_t { kNew, kRunning, kPaused, kDone, kFailed };

  std::shared_ptr<ScriptVm> vm_;
  std::shared_ptr<const ScriptSet> set_;  // keeps the scripts' sources alive while the call runs
  int script_;
  Hook hook_;
  ScriptExchange& ex_;
  State state_ = State::kNew;
  Wait wait_ = Wait::kNone;
  std::string error_;
  AuthzVerdict verdict_;

  // Lua side (meaningful while started and not released).
  ::lua_State* co_ = nullptr;
  int coRef_ = -2;     // registry ref anchoring the coroutine (LUA_NOREF)
  int cacheRef_ = -2;  // registry ref of the per-call wrapper cache table
  struct Scope* scope_ = nullptr;
  struct Scope* chunkScope_ = nullptr;

  // Envoy's StreamHandleWrapper state.
  bool headersContinued_ = false;
  bool sawBody_ = false;
  bool bufferedBody_ = false;
  bool responded_ = false;
  bool iterating_[3] = {false, false, false};  // headers, trailers, dynamic metadata
  bool metaIterating_ = false;                 // route metadata
  bool returnDuplicateHeaders_ = false;
  bool alwaysWrapBody_ = false;
  bool reusable_ = false;  // the coroutine returned normally: it may serve another call

  // Budgets, across resumes.
  uint64_t instructions_ = 0;
  int64_t wallUsedNs_ = 0;
  int64_t deadlineNs_ = 0;
  bool killed_ = false;
  const char* killReason_ = nullptr;
  int killLine_ = 0;

 private:
  friend class ScriptRuntime;
  HookCall(std::shared_ptr<ScriptVm> vm, int script, Hook hook, ScriptExchange& exchange);
  HookResult resume(int nargs);
  HookResult finish(int status);
  HookResult fail(std::string text, int kind);
  void release();
};

// The worker's lua_State for one ScriptSet. Opaque outside core/script (see vm.h).
class ScriptVm;

}  // namespace gh::script
