// The VM lifecycle, the sandbox's allocator and budgets, and the coroutine driver of HookCall.
// The handle API itself is in bindings.cc.

#include "core/script/runtime.h"

#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>


#include "core/base/log.h"
#include "core/script/shared_dict.h"
#include "core/script/vm.h"

namespace gh::script {

namespace {

// The count hook fires every kSlice instructions of interpreted code.
constexpr int kSlice = 1000;
enum FailKind { kFailScript = 0, kFailBudget = 1, kFailMemory = 2 };

int64_t monoNs() {
  // The coarse clock (a few ms of resolution, no vDSO time read): budgets are tens of ms.
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void* vmAlloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* m = static_cast<MemoryAccount*>(ud);
  if (nsize == 0) {
    std::free(ptr);
    m->used -= osize;
    return nullptr;
  }
  if (m->enforce && nsize > osize && m->used + (nsize - osize) > m->cap) return nullptr;
  void* p = std::realloc(ptr, nsize);
  if (p != nullptr) m->used = m->used - osize + nsize;
  return p;
}

int vmPanic(lua_State* L) {
  const char* msg = lua_tostring(L, -1);
  LOG_ERROR("lua: unprotected error in the script host: %s", msg ? msg : "(no message)");
  std::abort();  // a host bug (scripts always run protected): an assertion, not a recovery
}

}  // namespace

struct Budget {
  static bool spent(HookCall* call, lua_State* L);
};

namespace {
// Stops a runaway script. Once a budget is spent the hook fires on every instruction and
// raises again, so a script cannot catch its way out with pcall.
void budgetHook(lua_State* L, lua_Debug*) {
  HookCall* call = runningCall();
  if (call == nullptr) return;
  if (Budget::spent(call, L)) {
    lua_sethook(L, budgetHook, LUA_MASKCOUNT, 1);
    luaL_error(L, "%s", "budget exceeded");
  }
}
}  // namespace

HookCall*& runningCall() {
  static thread_local HookCall* call = nullptr;
  return call;
}

// ---------------------------------------------------------------------------------------------
// ScriptVm

ScriptVm::ScriptVm(std::shared_ptr<const ScriptSet> set, ScriptRuntime* runtime,
                   SharedDict* shared)
    : set_(set.get()), weakSet_(set), shared_(shared) {
  mem_.cap = set_->memoryCapBytes();
  L_ = lua_newstate(vmAlloc, &mem_);
  if (L_ == nullptr) {
    LOG_ERROR("lua: cannot create a Lua state");
    std::abort();
  }
  lua_atpanic(L_, vmPanic);
  // Only the libraries the sandbox offers: no io, os, package, debug, ffi, jit.
  lua_pushcfunction(L_, luaopen_base);
  lua_call(L_, 0, 0);
  lua_pushcfunction(L_, luaopen_string);
  lua_call(L_, 0, 0);
  lua_pushcfunction(L_, luaopen_table);
  lua_call(L_, 0, 0);
  lua_pushcfunction(L_, luaopen_math);
  lua_call(L_, 0, 0);
  lua_pushcfunction(L_, luaopen_bit);
  lua_call(L_, 0, 0);
  // string.dump is reachable through the string metatable: remove it from the real table.
  lua_getglobal(L_, "string");
  lua_pushnil(L_);
  lua_setfield(L_, -2, "dump");
  lua_pop(L_, 1);
  Bindings::registerAll(L_, shared_);

  loaded_.resize(set_->scripts().size());
  for (size_t i = 0; i < loaded_.size(); i++) {
    loaded_[i].source = &set_->scripts()[i];
    loaded_[i].counters = runtime->countersFor(set_->scripts()[i].name);
    loadScript(static_cast<int>(i));
  }
  lua_gc(L_, LUA_GCCOLLECT, 0);
}

ScriptVm::~ScriptVm() {
  if (L_) lua_close(L_);
}

void ScriptVm::loadScript(int i) {
  Loaded& s = loaded_[i];
  const ScriptSource& src = *s.source;
  const std::string chunk = "=" + src.name;
  lua_State* L = L_;
  int top = lua_gettop(L);
  // The top level runs in a coroutine under the same budgets as a hook.
  lua_State* co = lua_newthread(L);
  int coRef = luaL_ref(L, LUA_REGISTRYINDEX);
  int rc = luaL_loadbufferx(co, src.source.data(), src.source.size(), chunk.c_str(), "t");
  std::string err;
  if (rc == 0) {
    if (!src.trusted) luaJIT_setmode(co, -1, LUAJIT_MODE_ALLFUNC | LUAJIT_MODE_OFF);
    Bindings::pushSandboxEnv(co);
    lua_pushvalue(co, -1);
    s.envRef = luaL_ref(co, LUA_REGISTRYINDEX);
    lua_setfenv(co, -2);
    // Budgets for the top level: the script's own, wall and instructions.
    int64_t deadline = monoNs() + int64_t(src.limits.wallMs) * 1'000'000;
    uint64_t budget = src.limits.instructions;
    struct TopLevel {
      int64_t deadline;
      uint64_t left;
    };
    static thread_local TopLevel* tl = nullptr;
    TopLevel t{deadline, budget};
    tl = &t;
    lua_sethook(co,
                [](lua_State* L, lua_Debug*) {
                  if (tl == nullptr) return;
                  if (tl->left <= uint64_t(kSlice) || monoNs() > tl->deadline) {
                    tl->left = 0;
                    lua_sethook(L, lua_gethook(L), LUA_MASKCOUNT, 1);
                    luaL_error(L, "%s", "budget exceeded");
                  }
                  tl->left -= kSlice;
                },
                LUA_MASKCOUNT, kSlice);
    mem_.enforce = true;
    rc = lua_resume(co, 0);
    mem_.enforce = false;
    lua_sethook(co, nullptr, 0, 0);
    tl = nullptr;
    if (rc == LUA_YIELD) {
      err = src.name + ": the top level of a script may not yield";
    } else if (rc != 0) {
      const char* m = lua_tostring(co, -1);
      err = rc == LUA_ERRMEM ? src.name + ": not enough memory" : (m ? m : src.name + ": error");
    }
  } else {
    const char* m = lua_tostring(co, -1);
    err = m ? m : src.name + ": cannot load";
  }
  if (err.empty()) {
    static const char* kNames[3] = {"envoy_on_request", "envoy_on_response",
                                    "gatehouse_authorize"};
    lua_rawgeti(L, LUA_REGISTRYINDEX, s.envRef);
    for (int h = 0; h < 3; h++) {
      lua_getfield(L, -1, kNames[h]);
      if (lua_isfunction(L, -1))
        s.fnRef[h] = luaL_ref(L, LUA_REGISTRYINDEX);
      else
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
  } else {
    s.broken = true;
    s.loadError = err;
    s.counters->loadErrors.fetch_add(1, std::memory_order_relaxed);
    LOG_ERROR("lua: script %s failed to load: %s", src.name.c_str(), err.c_str());
  }
  luaL_unref(L, LUA_REGISTRYINDEX, coRef);
  lua_settop(L, top);
}

// ---------------------------------------------------------------------------------------------
// ScriptRuntime

ScriptRuntime::ScriptRuntime(SharedDict* shared) : shared_(shared) {}
ScriptRuntime::~ScriptRuntime() = default;

std::shared_ptr<ScriptVm> ScriptRuntime::vmFor(const std::shared_ptr<const ScriptSet>& set) {
  // The common case: the newest set, at the back.
  if (!vms_.empty() && vms_.back()->serves(set)) return vms_.back();
  // A VM lives while its set does (a snapshot holds it: exchanges pinned to an old snapshot
  // still run their response hooks in the old VM) and while a call uses it.
  vms_.erase(std::remove_if(vms_.begin(), vms_.end(),
                            [](const std::shared_ptr<ScriptVm>& vm) {
                              return vm->orphaned() && vm.use_count() == 1;
                            }),
             vms_.end());
  for (auto& vm : vms_)
    if (vm->serves(set)) return vm;
  vms_.push_back(std::make_shared<ScriptVm>(set, this, shared_));
  return vms_.back();
}

size_t ScriptRuntime::vmCount() const { return vms_.size(); }

std::unique_ptr<HookCall> ScriptRuntime::call(const std::shared_ptr<const ScriptSet>& set,
                                              int script, Hook hook, ScriptExchange& exchange) {
  assert(script >= 0 && size_t(script) < set->scripts().size());
  auto call = std::unique_ptr<HookCall>(new HookCall(vmFor(set), script, hook, exchange));
  call->set_ = set;
  return call;
}

ScriptCounters* ScriptRuntime::countersFor(const std::string& name) {
  std::lock_guard<std::mutex> lock(countersMu_);
  auto& c = counters_[name];
  if (!c) c = std::make_unique<ScriptCounters>();
  return c.get();
}

std::vector<std::pair<std::string, const ScriptCounters*>> ScriptRuntime::counters() const {
  std::lock_guard<std::mutex> lock(countersMu_);
  std::vector<std::pair<std::string, const ScriptCounters*>> out;
  for (const auto& [name, c] : counters_) out.emplace_back(name, c.get());
  return out;
}

uint64_t ScriptRuntime::errorsTotal() const {
  std::lock_guard<std::mutex> lock(countersMu_);
  uint64_t n = 0;
  for (const auto& [name, c] : counters_) n += c->errors.load(std::memory_order_relaxed);
  return n;
}

// ---------------------------------------------------------------------------------------------
// HookCall

HookCall::HookCall(std::shared_ptr<ScriptVm> vm, int script, Hook hook, ScriptExchange& exchange)
    : vm_(std::move(vm)), script_(script), hook_(hook), ex_(exchange) {}

HookCall::~HookCall() { release(); }

const std::string& HookCall::scriptName() const { return vm_->script(script_).source->name; }

bool ScriptRuntime::defines(const std::shared_ptr<const ScriptSet>& set, int script, Hook hook) {
  // The newest VM first without copying its shared_ptr (no reference count per request).
  ScriptVm* vm = !vms_.empty() && vms_.back()->serves(set) ? vms_.back().get() : vmFor(set).get();
  const auto& s = vm->script(script);
  return s.broken || s.fnRef[static_cast<int>(hook)] != LUA_NOREF;
}

bool HookCall::defined() const {
  const auto& s = vm_->script(script_);
  return s.broken || s.fnRef[static_cast<int>(hook_)] != LUA_NOREF;
}

void HookCall::release() {
  if (scope_) {
    vm_->scopes().release(scope_);
    scope_ = nullptr;
  }
  if (chunkScope_) {
    vm_->scopes().release(chunkScope_);
    chunkScope_ = nullptr;
  }
  if (co_ != nullptr) {
    lua_State* L = vm_->L();
    if (reusable_ && vm_->threadPool.size() < ScriptVm::kThreadPoolMax) {
      lua_settop(co_, 0);
      vm_->threadPool.push_back({co_, coRef_});
    } else {
      luaL_unref(L, LUA_REGISTRYINDEX, coRef_);
    }
    if (cacheRef_ != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, cacheRef_);
    co_ = nullptr;
    coRef_ = cacheRef_ = LUA_NOREF;
    // A failed call may leave garbage up to the cap; collect once the VM is heavy.
    MemoryAccount& m = vm_->memory();
    if (m.used > m.cap / 4 * 3) lua_gc(L, LUA_GCCOLLECT, 0);
  }
}

void HookCall::cancel() {
  if (state_ == State::kPaused || state_ == State::kRunning) state_ = State::kDone;
  wait_ = Wait::kNone;
  release();
}

HookResult HookCall::start() {
  assert(state_ == State::kNew);
  ScriptVm::Loaded& s = vm_->script(script_);
  s.counters->calls.fetch_add(1, std::memory_order_relaxed);
  if (s.broken) return fail(s.loadError, kFailScript);
  int fn = s.fnRef[static_cast<int>(hook_)];
  if (fn == LUA_NOREF) {
    state_ = State::kDone;
    if (hook_ == Hook::kAuthorize) verdict_ = {false, "no gatehouse_authorize in script"};
    return HookResult::kContinue;
  }
  lua_State* L = vm_->L();
  if (!vm_->threadPool.empty()) {
    co_ = vm_->threadPool.back().co;
    coRef_ = vm_->threadPool.back().ref;
    vm_->threadPool.pop_back();
  } else {
    co_ = lua_newthread(L);
    coRef_ = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  cacheRef_ = LUA_NOREF;
  scope_ = vm_->scopes().acquire(this);
  lua_rawgeti(co_, LUA_REGISTRYINDEX, fn);
  Bindings::pushHandle(co_, this);
  return resume(1);
}

HookResult HookCall::resumeBody() {
  assert(state_ == State::kPaused && wait_ == Wait::kBody);
  sawBody_ = true;
  return resume(Bindings::pushBodyResult(co_, this));
}

HookResult HookCall::resumeBodyChunk(ScriptBuffer* chunk) {
  assert(wait_ == Wait::kBodyChunk);
  sawBody_ = true;
  int n = Bindings::pushChunk(co_, this, chunk);
  HookResult r = resume(n);
  if (chunkScope_) {  // a chunk is only valid for the resume it was handed to
    vm_->scopes().release(chunkScope_);
    chunkScope_ = nullptr;
  }
  return r;
}

HookResult HookCall::resumeTrailers() {
  assert(state_ == State::kPaused && wait_ == Wait::kTrailers);
  return resume(Bindings::pushTrailersResult(co_, this));
}

HookResult HookCall::resumeHttpCall(HttpCallResponse response) {
  assert(state_ == State::kPaused && wait_ == Wait::kHttpCall);
  return resume(Bindings::pushHttpResult(co_, this, response));
}

bool Budget::spent(HookCall* call, lua_State* L) {
  if (call->killed_) return true;
  const ScriptSource& src = *call->vm_->script(call->script_).source;
  call->instructions_ += kSlice;
  const char* reason = nullptr;
  if (call->instructions_ > src.limits.instructions)
    reason = "instruction budget exceeded";
  else if (monoNs() > call->deadlineNs_)
    reason = "wall-clock budget exceeded";
  if (reason == nullptr) return false;
  call->killed_ = true;
  call->killReason_ = reason;
  lua_Debug ar;
  if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "l", &ar)) call->killLine_ = ar.currentline;
  return true;
}

HookResult HookCall::resume(int nargs) {
  const ScriptSource& src = *vm_->script(script_).source;
  state_ = State::kRunning;
  wait_ = Wait::kNone;
  scope_->live = true;
  if (chunkScope_) chunkScope_->live = true;
  const int64_t t0 = monoNs();
  deadlineNs_ = t0 + int64_t(src.limits.wallMs) * 1'000'000 - wallUsedNs_;
  HookCall* outer = runningCall();
  runningCall() = this;
  // LuaJIT's hook is global to the VM and setting it rewrites the dispatch table, so it is
  // switched only when a trusted call follows an untrusted one or the other way round.
  if (src.trusted == vm_->budgetHookOn) {
    if (src.trusted)
      lua_sethook(co_, nullptr, 0, 0);
    else
      lua_sethook(co_, budgetHook, LUA_MASKCOUNT, kSlice);
    vm_->budgetHookOn = !src.trusted;
  }
  MemoryAccount& mem = vm_->memory();
  const bool outerEnforce = mem.enforce;
  mem.enforce = true;
  int status = lua_resume(co_, nargs);
  mem.enforce = outerEnforce;
  if (killed_) lua_sethook(co_, budgetHook, LUA_MASKCOUNT, kSlice);  // back from every instruction
  runningCall() = outer;
  const int64_t ran = monoNs() - t0;
  wallUsedNs_ += ran;
  {
    // One writer per worker (the counters are per worker): load+store, no locked RMW.
    std::atomic<uint64_t>& d = vm_->script(script_).counters->durationNs;
    d.store(d.load(std::memory_order_relaxed) + static_cast<uint64_t>(ran),
            std::memory_order_relaxed);
  }
  if (scope_) scope_->live = false;
  if (chunkScope_) chunkScope_->live = false;
  return finish(status);
}

HookResult HookCall::finish(int status) {
  if (killed_) {
    // Whatever the script did after (pcall, return): it was stopped at killLine_.
    std::string where = scriptName();
    if (killLine_ > 0) where += ":" + std::to_string(killLine_);
    return fail(where + ": " + killReason_, kFailBudget);
  }
  if (status == LUA_YIELD) {
    if (responded_) {
      state_ = State::kDone;
      release();
      return HookResult::kRespond;
    }
    if (wait_ == Wait::kNone) {
      // coroutine.yield() from the hook itself: Envoy's "script performed an unexpected yield".
      return fail(scriptName() + ": script performed an unexpected yield", kFailScript);
    }
    state_ = State::kPaused;
    if (wait_ == Wait::kBodyChunk) {
      // Headers pass on while the body streams through the script (Envoy: Continue).
      headersContinued_ = true;
      return HookResult::kContinue;
    }
    return HookResult::kPause;
  }
  if (status != 0) {
    if (status == LUA_ERRMEM) return fail(scriptName() + ": not enough memory", kFailMemory);
    const char* m = lua_tostring(co_, -1);
    return fail(m ? m : scriptName() + ": error object is not a string", kFailScript);
  }
  // Finished.
  if (hook_ == Hook::kAuthorize) {
    int n = lua_gettop(co_);
    verdict_.allow = n >= 1 && lua_toboolean(co_, 1);
    if (n >= 2 && lua_isstring(co_, 2)) verdict_.reason = lua_tostring(co_, 2);
    else verdict_.reason = verdict_.allow ? "allowed by " + scriptName() : "denied by " + scriptName();
  }
  headersContinued_ = true;
  state_ = State::kDone;
  reusable_ = true;
  release();
  return HookResult::kContinue;
}

HookResult HookCall::fail(std::string text, int kind) {
  ScriptVm::Loaded& s = vm_->script(script_);
  // Every logged failure names its script, even one raised where no script line is known.
  if (text.compare(0, s.source->name.size() + 1, s.source->name + ":") != 0)
    text = s.source->name + ": " + text;
  s.counters->errors.fetch_add(1, std::memory_order_relaxed);
  if (kind == kFailBudget) s.counters->budgetKills.fetch_add(1, std::memory_order_relaxed);
  if (kind == kFailMemory) s.counters->memoryErrors.fetch_add(1, std::memory_order_relaxed);
  LOG_ERROR("lua: script error: %s", text.c_str());
  error_ = std::move(text);
  state_ = State::kFailed;
  wait_ = Wait::kNone;
  const bool failOpen = s.source->failOpen;
  const bool wasContinued = headersContinued_;
  release();
  if (hook_ == Hook::kAuthorize) {
    verdict_ = failOpen ? AuthzVerdict{true, "lua_error (failOpen)"} : AuthzVerdict{false, "lua_error"};
    return HookResult::kContinue;
  }
  if (failOpen) return HookResult::kContinue;
  if (!wasContinued && !responded_) {
    LocalReply reply;
    reply.status = 500;
    reply.headers.emplace_back("x-gatehouse-reason", "lua_error");
    reply.details = "lua_error";
    ex_.respond(std::move(reply));
  }
  return HookResult::kRespond;
}

}  // namespace gh::script
