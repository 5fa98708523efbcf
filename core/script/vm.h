#pragma once
// Internal to core/script: the ScriptVm and the glue the bindings share with the runtime.
// Includes the Lua headers, so nothing outside core/script may include it (DESIGN.md).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <lua.hpp>  // lua.h, lauxlib.h, lualib.h, luajit.h with C linkage

#include "core/script/runtime.h"

namespace gh::script {

// Liveness of the Lua objects a call hands out (handle, header maps, body buffers, ...).
// Envoy's scope guard: a wrapper used while its scope is not live raises
// "object used outside of proper scope". A wrapper holds its Scope and the scope's generation
// when it was made; releasing a scope moves its generation on, so every wrapper made in it is
// dead from then on, also when the scope is reused by a later call. Scopes are pooled by their
// VM (ScopePool) and freed with it, after the lua_State: a wrapper never points at freed
// memory, and wrappers need no finalizer (__gc), which keeps them cheap for the collector.
struct Scope {
  HookCall* call = nullptr;  // nullptr once the call released it
  bool live = false;         // true only while the call's coroutine runs
  uint32_t gen = 0;          // moves on at every release
};

// A VM's scopes: acquire() hands out a free one for `call`, release() kills its wrappers and
// keeps it for the next call. VM thread only.
class ScopePool {
 public:
  Scope* acquire(HookCall* call) {
    Scope* s;
    if (free_.empty()) {
      all_.push_back(std::make_unique<Scope>());
      s = all_.back().get();
    } else {
      s = free_.back();
      free_.pop_back();
    }
    s->call = call;
    return s;
  }
  void release(Scope* s) {
    s->call = nullptr;
    s->live = false;
    ++s->gen;
    free_.push_back(s);
  }

 private:
  std::vector<std::unique_ptr<Scope>> all_;
  std::vector<Scope*> free_;
};

// The VM's memory account; the allocator's user data.
struct MemoryAccount {
  size_t used = 0;
  size_t cap = 0;
  bool enforce = false;  // only while a script runs: the host is never refused
};

class ScriptVm {
 public:
  ScriptVm(std::shared_ptr<const ScriptSet> set, ScriptRuntime* runtime, SharedDict* shared);
  ~ScriptVm();

  struct Loaded {
    const ScriptSource* source = nullptr;
    ScriptCounters* counters = nullptr;
    int envRef = LUA_NOREF;
    int fnRef[3] = {LUA_NOREF, LUA_NOREF, LUA_NOREF};  // by Hook
    bool broken = false;
    std::string loadError;  // "name:line: message"
  };

  lua_State* L() const { return L_; }
  // The set this VM was built for. The VM does not keep it alive: calls do (HookCall::set_),
  // and the runtime drops the VM once no snapshot holds the set any more.
  const ScriptSet* set() const { return set_; }
  bool serves(const std::shared_ptr<const ScriptSet>& s) const {
    return s.get() == set_ && !weakSet_.expired();
  }
  bool orphaned() const { return weakSet_.expired(); }
  Loaded& script(int i) { return loaded_[i]; }
  MemoryAccount& memory() { return mem_; }
  SharedDict* shared() const { return shared_; }

  // Coroutines that finished normally, kept for the next calls (a new lua_State per call is
  // most of a no-op hook's cost). Each is anchored by its registry ref.
  struct PooledThread {
    lua_State* co;
    int ref;
  };
  std::vector<PooledThread> threadPool;
  static constexpr size_t kThreadPoolMax = 64;
  bool budgetHookOn = false;  // the count hook is installed (see HookCall::resume)
  ScopePool& scopes() { return scopes_; }

 private:
  void loadScript(int i);

  ScopePool scopes_;  // declared first: destroyed after the destructor closed L_
  const ScriptSet* set_;
  std::weak_ptr<const ScriptSet> weakSet_;
  SharedDict* shared_;
  MemoryAccount mem_;
  lua_State* L_ = nullptr;
  std::vector<Loaded> loaded_;
};

// The bindings (bindings.cc): metatables registered into a new VM, and the handle pushed
// for a call.
struct Bindings {
  static void registerAll(lua_State* L, SharedDict* shared);
  static void pushHandle(lua_State* L, HookCall* call);
  // After a resume: push the results a waiting function returns (the body buffer, a chunk,
  // trailers, the httpCall answer). Return the count pushed.
  static int pushBodyResult(lua_State* L, HookCall* call);
  static int pushChunk(lua_State* L, HookCall* call, ScriptBuffer* chunk);
  static int pushTrailersResult(lua_State* L, HookCall* call);
  static int pushHttpResult(lua_State* L, HookCall* call, const HttpCallResponse& response);
  // The sandbox environment of one script (a new table on the stack).
  static void pushSandboxEnv(lua_State* L);
};

// The HookCall running on this thread (for the count hook); nullptr when none.
HookCall*& runningCall();

}  // namespace gh::script
