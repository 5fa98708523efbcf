#pragma once
// ScriptSet: the Lua scripts of one Snapshot, checked and ordered, ready for every worker's VM.
//
// A ScriptSet is built once per snapshot by config (off the worker threads), is immutable, and
// is shared read-only by all workers (shared_ptr<const ScriptSet>). It holds sources, not
// bytecode: each worker's ScriptVm compiles them into its own lua_State when it first meets the
// set (scripts load once per snapshot per worker, never per request). Bytecode is not shared
// because the sandbox forbids loading bytecode at all, and compiling a script is cheaper than
// the first request it serves.
//
// checkSyntax() is the validation door: pure, thread-safe, no VM kept. config's validate/apply
// calls it so a syntax error rejects the version with the script's name and line.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/base/status.h"

namespace gh::script {

// Where a compile (or load) error is. line 0: unknown.
struct Diagnostic {
  bool ok = true;
  std::string script;   // the script's name
  int line = 0;         // 1-based line of the error in the source
  std::string message;  // Lua's message without the "name:line:" prefix
  std::string text() const;  // "name:line: message" (the form log lines and errors use)
};

// Parses `source` as a Lua 5.1 (LuaJIT) chunk without running it. Binary (bytecode) chunks
// are refused. Thread-safe; allocates a throw-away lua_State.
Diagnostic checkSyntax(std::string_view name, std::string_view source);

// checkSyntax in the shape of config::LuaSyntaxChecker (core/config/model.h), which config
// cannot link by itself: the binary calls config::setLuaSyntaxChecker(&script::luaSyntaxCheck)
// once at start-up, before decoding anything.
bool luaSyntaxCheck(std::string_view name, std::string_view source, int* line,
                    std::string* message);

// Per-script limits (spec/lua.md "Sandbox and limits"). Zero means the default.
struct ScriptLimits {
  uint64_t instructions = 1'000'000;  // per hook call, counted across resumes
  uint32_t wallMs = 50;               // running time per hook call, across resumes
};

struct Attachment {
  enum class Kind : uint8_t { kListener, kRoute };
  Kind kind = Kind::kListener;
  std::string name;  // Listener name or HTTPRoute name
};

// One LuaScript resource as the runtime needs it.
struct ScriptSource {
  std::string name;    // resource name; what logs and counters call it
  std::string source;  // Lua text
  std::vector<Attachment> attachTo;
  int order = 0;          // lower runs first; ties by name
  bool failOpen = false;  // a failed hook lets the exchange carry on instead of 500
  bool trusted = false;   // JIT on, no instruction/wall budget inside compiled traces
  ScriptLimits limits;
};

class ScriptSet {
 public:
  // Checks every source (checkSyntax) and orders them. Fails with "name:line: message" of the
  // first script that does not compile, or on a duplicate name.
  static Result<std::shared_ptr<const ScriptSet>> build(std::vector<ScriptSource> scripts,
                                                        uint64_t memoryCapBytes = 16u << 20);

  // All scripts, in run order (order, then name). Index = script id in the VM.
  const std::vector<ScriptSource>& scripts() const { return scripts_; }
  uint64_t memoryCapBytes() const { return memoryCap_; }

  // The scripts attached to `listener` or `route`, in run order, without duplicates. The
  // returned ids index scripts(). Allocates the result; callers cache it per route if hot.
  std::vector<int> chainFor(std::string_view listener, std::string_view route) const;

 private:
  ScriptSet() = default;
  std::vector<ScriptSource> scripts_;
  uint64_t memoryCap_ = 16u << 20;
  std::unordered_map<std::string, std::vector<int>> byListener_;
  std::unordered_map<std::string, std::vector<int>> byRoute_;
};

}  // namespace gh::script
