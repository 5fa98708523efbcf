#include "core/script/script_set.h"

#include <algorithm>
#include <cstdlib>

#include <lua.hpp>

#include "core/script/script_exchange.h"

namespace gh::script {

std::string Diagnostic::text() const {
  if (ok) return {};
  if (line > 0) return script + ":" + std::to_string(line) + ": " + message;
  return script + ": " + message;
}

namespace {
// The parser only allocates: a plain allocator with a generous cap keeps a hostile source
// (deep nesting, huge constants) from taking the validating process down.
struct ParseAlloc {
  size_t used = 0;
};
constexpr size_t kParseCap = 64u << 20;
void* parseAlloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* a = static_cast<ParseAlloc*>(ud);
  if (nsize == 0) {
    a->used -= osize;
    std::free(ptr);
    return nullptr;
  }
  if (nsize > osize && a->used + (nsize - osize) > kParseCap) return nullptr;
  void* p = std::realloc(ptr, nsize);
  if (p) a->used += nsize - osize;
  return p;
}
}  // namespace

// Splits Lua's "name:LINE: message" (chunkname "=name") into line and message.
static void splitLuaError(std::string_view name, std::string_view err, Diagnostic* d) {
  d->message = std::string(err);
  if (err.substr(0, name.size()) != name || err.size() <= name.size() || err[name.size()] != ':')
    return;
  std::string_view rest = err.substr(name.size() + 1);
  size_t i = 0;
  int line = 0;
  while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9' && i < 9) line = line * 10 + (rest[i++] - '0');
  if (i == 0 || i >= rest.size() || rest[i] != ':') return;
  d->line = line;
  rest = rest.substr(i + 1);
  if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
  d->message = std::string(rest);
}

Diagnostic checkSyntax(std::string_view name, std::string_view source) {
  Diagnostic d;
  d.script = std::string(name);
  if (!source.empty() && source[0] == '\x1b') {
    d.ok = false;
    d.message = "bytecode is not accepted; give the script as Lua source";
    return d;
  }
  ParseAlloc alloc;
  lua_State* L = lua_newstate(parseAlloc, &alloc);
  if (L == nullptr) {
    d.ok = false;
    d.message = "cannot create a Lua state";
    return d;
  }
  const std::string chunk = "=" + std::string(name);
  int rc = luaL_loadbufferx(L, source.data(), source.size(), chunk.c_str(), "t");
  if (rc != 0) {
    d.ok = false;
    size_t n = 0;
    const char* msg = lua_tolstring(L, -1, &n);
    if (rc == LUA_ERRMEM || msg == nullptr)
      d.message = "not enough memory to parse the script";
    else
      splitLuaError(name, std::string_view(msg, n), &d);
  }
  lua_close(L);
  return d;
}

bool luaSyntaxCheck(std::string_view name, std::string_view source, int* line,
                    std::string* message) {
  Diagnostic d = checkSyntax(name, source);
  if (d.ok) return true;
  *line = d.line;
  *message = d.message;
  return false;
}

Result<std::shared_ptr<const ScriptSet>> ScriptSet::build(std::vector<ScriptSource> scripts,
                                                          uint64_t memoryCapBytes) {
  std::sort(scripts.begin(), scripts.end(), [](const ScriptSource& a, const ScriptSource& b) {
    return a.order != b.order ? a.order < b.order : a.name < b.name;
  });
  for (size_t i = 0; i < scripts.size(); i++) {
    if (scripts[i].name.empty()) return Status::error("a LuaScript without a name");
    if (i > 0 && scripts[i].name == scripts[i - 1].name)
      return Status::error("LuaScript " + scripts[i].name + " is given twice");
  }
  std::shared_ptr<ScriptSet> set(new ScriptSet());
  for (auto& s : scripts) {
    if (s.limits.instructions == 0) s.limits.instructions = ScriptLimits().instructions;
    if (s.limits.wallMs == 0) s.limits.wallMs = ScriptLimits().wallMs;
    Diagnostic d = checkSyntax(s.name, s.source);
    if (!d.ok) return Status::error(d.text());
  }
  set->scripts_ = std::move(scripts);
  set->memoryCap_ = memoryCapBytes ? memoryCapBytes : (16u << 20);
  for (size_t i = 0; i < set->scripts_.size(); i++) {
    for (const Attachment& a : set->scripts_[i].attachTo) {
      auto& list = a.kind == Attachment::Kind::kListener ? set->byListener_[a.name]
                                                         : set->byRoute_[a.name];
      if (list.empty() || list.back() != static_cast<int>(i)) list.push_back(static_cast<int>(i));
    }
  }
  return std::shared_ptr<const ScriptSet>(std::move(set));
}

std::vector<int> ScriptSet::chainFor(std::string_view listener, std::string_view route) const {
  std::vector<int> out;
  auto l = byListener_.find(std::string(listener));
  auto r = byRoute_.find(std::string(route));
  if (l != byListener_.end()) out = l->second;
  if (r != byRoute_.end()) out.insert(out.end(), r->second.begin(), r->second.end());
  // Ids are positions in run order, so sorting the ids sorts by (order, name).
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

const MetaValue* MetaValue::find(std::string_view key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return &v;
  return nullptr;
}

void MetaValue::set(std::string key, MetaValue value) {
  kind = Kind::kStruct;
  for (auto& [k, v] : fields)
    if (k == key) {
      v = std::move(value);
      return;
    }
  fields.push_back(MetaField{std::move(key), std::move(value)});
}

}  // namespace gh::script
