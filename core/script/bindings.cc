// The handle API of Envoy's Lua filter, over ScriptExchange, and the sandbox environment.
//
// Every object a script receives is a small userdata (Obj) pointing at a refcounted Scope. A
// method first checks the scope is live — the call's coroutine is running — and raises
// Envoy's "object used outside of proper scope" otherwise (a handle kept in a global and used
// by a later request, a body chunk used after its turn). Method names, argument checks and
// error texts follow Envoy's Lua filter so that scripts — and the errors they expect — behave
// the same. Where Envoy's behaviour is odd (a broken-off iteration leaves the map read-only for
// the rest of the call) it is kept on purpose: scripts may rely on it.

#include <chrono>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <string>


#include "core/base/log.h"
#include "core/script/shared_dict.h"
#include "core/script/vm.h"

namespace gh::script {

namespace {

constexpr const char* kHandle = "gh.handle";
constexpr const char* kHeaders = "gh.headers";
constexpr const char* kIter = "gh.iter";
constexpr const char* kBuffer = "gh.buffer";
constexpr const char* kStreamInfo = "gh.streaminfo";
constexpr const char* kDynMeta = "gh.dynmeta";
constexpr const char* kSsl = "gh.ssl";
constexpr const char* kConnection = "gh.connection";
constexpr const char* kMetadata = "gh.metadata";
constexpr const char* kShared = "gh.shared";

enum Which : uint8_t { kWhichHeaders = 0, kWhichTrailers = 1, kWhichDynMeta = 2, kWhichRouteMeta = 3 };

struct Obj {
  Scope* scope;
  ScriptBuffer* buf;
  uint32_t gen;    // scope->gen when made: dead once they differ (vm.h)
  uint32_t index;  // iterators: the next entry
  uint8_t which;
};

// A wrapper of `scope` (live now: every caller made or checked it in this resume).
Obj* newObj(lua_State* L, const char* meta, Scope* scope, uint8_t which = 0,
            ScriptBuffer* buf = nullptr) {
  auto* o = static_cast<Obj*>(lua_newuserdata(L, sizeof(Obj)));
  o->scope = scope;
  o->buf = buf;
  o->gen = scope->gen;
  o->index = 0;
  o->which = which;
  luaL_getmetatable(L, meta);
  lua_setmetatable(L, -2);
  return o;
}

// The live call behind argument `idx` of type `meta`, or a Lua error.
HookCall* live(lua_State* L, const char* meta, Obj** out = nullptr, int idx = 1) {
  auto* o = static_cast<Obj*>(luaL_checkudata(L, idx, meta));
  if (o->gen != o->scope->gen || !o->scope->live || o->scope->call == nullptr)
    luaL_error(L, "object used outside of proper scope");
  if (out) *out = o;
  return o->scope->call;
}

std::string lowerKey(lua_State* L, int idx) {
  size_t n = 0;
  const char* s = luaL_checklstring(L, idx, &n);
  std::string out(s, n);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

bool sameName(std::string_view a, std::string_view lowered) {
  if (a.size() != lowered.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (x != lowered[i]) return false;
  }
  return true;
}

void pushView(lua_State* L, std::string_view v) { lua_pushlstring(L, v.data(), v.size()); }

// luaL_error, positioned at the nearest script line even when C functions are in between (our
// pairs() calls __pairs from C, so luaL_error's level 1 would have no line).
[[noreturn]] void raiseAtScript(lua_State* L, const char* msg) {
  lua_Debug ar;
  for (int level = 1; level < 8 && lua_getstack(L, level, &ar); level++) {
    if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
      lua_pushfstring(L, "%s:%d: %s", ar.short_src, ar.currentline, msg);
      lua_error(L);
    }
  }
  lua_pushstring(L, msg);
  lua_error(L);
  __builtin_unreachable();
}

// Pushes the cached child object `key` of the call, creating it with `make` the first time
// (Envoy hands out the same wrapper each time, so its iteration guard is per object).
// Pushes the call's cache table, created on first use (a hook that asks for nothing costs none).
void pushCache(lua_State* L, HookCall* call) {
  if (call->cacheRef_ == LUA_NOREF) {
    lua_newtable(L);
    lua_pushvalue(L, -1);
    call->cacheRef_ = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    lua_rawgeti(L, LUA_REGISTRYINDEX, call->cacheRef_);
  }
}

template <typename Make>
void cached(lua_State* L, HookCall* call, const char* key, Make make) {
  pushCache(L, call);
  lua_getfield(L, -1, key);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    make();
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, key);
  }
  lua_remove(L, -2);
}

Direction dirOf(HookCall* c) { return c->hook_ == Hook::kResponse ? Direction::kResponse : Direction::kRequest; }

// Envoy's buildHeadersFromTable: string keys; a value is a string or a list of strings.
void headersFromTable(lua_State* L, int table, std::vector<std::pair<std::string, std::string>>* out) {
  lua_pushnil(L);
  while (lua_next(L, table) != 0) {
    // Convert a copy of the key: converting the key lua_next holds would break the traversal.
    lua_pushvalue(L, -2);
    std::string key = lowerKey(L, -1);
    lua_pop(L, 1);
    if (lua_istable(L, -1)) {
      lua_pushnil(L);
      while (lua_next(L, -2) != 0) {
        size_t n = 0;
        const char* v = luaL_checklstring(L, -1, &n);
        out->emplace_back(key, std::string(v, n));
        lua_pop(L, 1);
      }
    } else {
      size_t n = 0;
      const char* v = luaL_checklstring(L, -1, &n);
      out->emplace_back(key, std::string(v, n));
    }
    lua_pop(L, 1);
  }
}

// ---- header map ------------------------------------------------------------------------------

ScriptHeaders* mapOf(lua_State* L, HookCall* c, Obj* o) {
  ScriptExchange& ex = c->ex_;
  if (o->which == kWhichTrailers) {
    ScriptHeaders* t = ex.trailers(dirOf(c));
    if (t == nullptr) luaL_error(L, "object used outside of proper scope");
    return t;
  }
  return &ex.headers(dirOf(c));
}

void checkModifiable(lua_State* L, HookCall* c, Obj* o) {
  if (c->iterating_[o->which]) luaL_error(L, "header map cannot be modified while iterating");
  if (o->which == kWhichHeaders) {
    if (c->headersContinued_) luaL_error(L, "header map can no longer be modified");
    if (c->hook_ != Hook::kResponse) c->ex_.onHeadersModified();
  }
}

int hdrGet(lua_State* L) {
  Obj* o;
  HookCall* c = live(L, kHeaders, &o);
  std::string key = lowerKey(L, 2);
  ScriptHeaders* m = mapOf(L, c, o);
  // One value (the common case) is pushed as it is; repeated ones are joined with ",".
  std::string_view first;
  std::string joined;
  int found = 0;
  for (size_t i = 0, n = m->size(); i < n; i++) {
    auto [k, v] = m->at(i);
    if (!sameName(k, key)) continue;
    if (found == 0) {
      first = v;
    } else {
      if (found == 1) joined.assign(first.data(), first.size());
      joined += ',';
      joined.append(v.data(), v.size());
    }
    found++;
  }
  if (found == 0) return 0;
  pushView(L, found == 1 ? first : std::string_view(joined));
  return 1;
}

int hdrGetAtIndex(lua_State* L) {
  Obj* o;
  HookCall* c = live(L, kHeaders, &o);
  std::string key = lowerKey(L, 2);
  const int index = static_cast<int>(luaL_checknumber(L, 3));
  ScriptHeaders* m = mapOf(L, c, o);
  int seen = 0;
  for (size_t i = 0, n = m->size(); i < n; i++) {
    auto [k, v] = m->at(i);
    if (!sameName(k, key)) continue;
    if (seen++ == index) {
      if (v.empty()) return 0;
      pushView(L, v);
      return 1;
    }
  }
  return 0;
}

int hdrGetNumValues(lua_State* L) {
  Obj* o;
  HookCall* c = live(L, kHeaders, &o);
  std::string key = lowerKey(L, 2);
  ScriptHeaders* m = mapOf(L, c, o);
  int count = 0;
  for (size_t i = 0, n = m->size(); i < n; i++)
    if (sameName(m->at(i).first, key)) count++;
  lua_pushnumber(L, count);
  return 1;
}

int hdrAdd(lua_State* L) {
  Obj* o;
  HookCall* c = live(L, kHeaders, &o);
  checkModifiable(L, c, o);
  std::string key = lowerKey(L, 2);
  size_t n = 0;
  const char* v = luaL_checklstring(L, 3, &n);
  mapOf(L, c, o)->add(key, std::string_view(v, n));
  return 0;
}

int hdrReplace(lua_State* L) {
  Obj* o;
  HookCall* c = live(L, kHeaders, &o);
  checkModifiable(L, c, o);
  std::string key = lowerKey(L, 2);
  size_t n = 0;
  const char* v = luaL_checklstring(L, 3, &n);
  mapOf(L, c, o)->replace(key, std::string_view(v, n));
  return 0;
}

int hdrRemove(lua_State* L) {
  Obj* o;
  HookCall* c = live(L, kHeaders, &o);
  checkModifiable(L, c, o);
  std::string key = lowerKey(L, 2);
  mapOf(L, c, o)->remove(key);
  return 0;
}

int hdrSetReason(lua_State* L) {
  Obj* o;
  HookCall* c = live(L, kHeaders, &o);
  size_t n = 0;
  const char* v = luaL_checklstring(L, 2, &n);
  mapOf(L, c, o)->setReasonPhrase(std::string_view(v, n));
  return 0;
}

int hdrIterNext(lua_State* L) {
  Obj* it;
  HookCall* c = live(L, kIter, &it, lua_upvalueindex(1));
  Obj parent = *it;
  ScriptHeaders* m = mapOf(L, c, &parent);
  if (it->index >= m->size()) {
    c->iterating_[it->which] = false;
    return 0;
  }
  auto [k, v] = m->at(it->index++);
  pushView(L, k);
  pushView(L, v);
  return 2;
}

int hdrPairs(lua_State* L) {
  Obj* o;
  HookCall* c = live(L, kHeaders, &o);
  if (c->iterating_[o->which])
    raiseAtScript(L, "cannot create a second iterator before completing the first");
  c->iterating_[o->which] = true;
  newObj(L, kIter, o->scope, o->which);
  lua_pushcclosure(L, hdrIterNext, 1);
  return 1;
}

// ---- buffers ---------------------------------------------------------------------------------

int bufLength(lua_State* L) {
  Obj* o;
  live(L, kBuffer, &o);
  lua_pushnumber(L, static_cast<lua_Number>(o->buf->length()));
  return 1;
}

int bufGetBytes(lua_State* L) {
  Obj* o;
  live(L, kBuffer, &o);
  const int index = luaL_checkint(L, 2);
  const int length = luaL_checkint(L, 3);
  if (index < 0 || length < 0 ||
      static_cast<uint64_t>(index) + static_cast<uint64_t>(length) > o->buf->length())
    luaL_error(L, "index/length must be >= 0 and (index + length) must be <= buffer size");
  std::string bytes = o->buf->copyOut(size_t(index), size_t(length));
  pushView(L, bytes);
  return 1;
}

int bufSetBytes(lua_State* L) {
  Obj* o;
  live(L, kBuffer, &o);
  size_t n = 0;
  const char* s = luaL_checklstring(L, 2, &n);
  o->buf->setBytes(std::string_view(s, n));
  lua_pushnumber(L, static_cast<lua_Number>(o->buf->length()));
  return 1;
}

// ---- metadata values -------------------------------------------------------------------------

void pushMeta(lua_State* L, const MetaValue& v) {
  switch (v.kind) {
    case MetaValue::Kind::kNull: lua_pushnil(L); return;
    case MetaValue::Kind::kNumber: lua_pushnumber(L, v.number); return;
    case MetaValue::Kind::kBool: lua_pushboolean(L, v.boolean); return;
    case MetaValue::Kind::kString: pushView(L, v.string); return;
    case MetaValue::Kind::kList:
      lua_createtable(L, int(v.list.size()), 0);
      for (size_t i = 0; i < v.list.size(); i++) {
        pushMeta(L, v.list[i]);
        lua_rawseti(L, -2, int(i + 1));
      }
      return;
    case MetaValue::Kind::kStruct:
      lua_createtable(L, 0, int(v.fields.size()));
      for (const auto& [k, f] : v.fields) {
        pushView(L, k);
        pushMeta(L, f);
        lua_settable(L, -3);
      }
      return;
  }
}

MetaValue loadMeta(lua_State* L, int depth = 0);

// Envoy's MetadataMapHelper::tableLength: a list when every key is a positive integer.
int listLength(lua_State* L) {
  double max = 0;
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    if (lua_type(L, -2) == LUA_TNUMBER) {
      double k = lua_tonumber(L, -2);
      if (k == double(int64_t(k)) && k >= 1) {
        if (k > max) max = k;
        lua_pop(L, 1);
        continue;
      }
    }
    lua_pop(L, 2);
    return -1;
  }
  return int(max);
}

MetaValue loadMeta(lua_State* L, int depth) {
  if (depth > 32) luaL_error(L, "dynamicMetadata nested too deeply");
  MetaValue v;
  int type = lua_type(L, -1);
  switch (type) {
    case LUA_TNIL: break;
    case LUA_TNUMBER: v = MetaValue::ofNumber(lua_tonumber(L, -1)); break;
    case LUA_TBOOLEAN: v = MetaValue::ofBool(lua_toboolean(L, -1) != 0); break;
    case LUA_TSTRING: {
      size_t n = 0;
      const char* s = lua_tolstring(L, -1, &n);
      v = MetaValue::ofString(std::string(s, n));
      break;
    }
    case LUA_TTABLE: {
      int len = listLength(L);
      if (len > 0) {
        v.kind = MetaValue::Kind::kList;
        for (int i = 1; i <= len; i++) {
          lua_rawgeti(L, -1, i);
          v.list.push_back(loadMeta(L, depth + 1));
          lua_pop(L, 1);
        }
      } else {
        v.kind = MetaValue::Kind::kStruct;
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
          int kt = lua_type(L, -2);
          if (kt != LUA_TSTRING)
            luaL_error(L, "unexpected type %s in table key (only string keys are supported)",
                       lua_typename(L, kt));
          std::string key = lua_tostring(L, -2);
          v.set(std::move(key), loadMeta(L, depth + 1));
          lua_pop(L, 1);
        }
      }
      break;
    }
    default:
      luaL_error(L, "unexpected type '%s' in dynamicMetadata", lua_typename(L, type));
  }
  return v;
}

// ---- dynamic metadata ------------------------------------------------------------------------

int dmGet(lua_State* L) {
  HookCall* c = live(L, kDynMeta);
  const char* ns = luaL_checkstring(L, 2);
  for (const auto& [name, value] : c->ex_.dynamicMetadata())
    if (name == ns) {
      pushMeta(L, value);
      return 1;
    }
  return 0;
}

int dmSet(lua_State* L) {
  HookCall* c = live(L, kDynMeta);
  if (c->iterating_[kWhichDynMeta])
    luaL_error(L, "dynamic metadata map cannot be modified while iterating");
  const char* ns = luaL_checkstring(L, 2);
  const char* key = luaL_checkstring(L, 3);
  lua_pushvalue(L, 4);
  MetaValue value = loadMeta(L);
  lua_pop(L, 1);
  DynamicMetadata& dm = c->ex_.dynamicMetadata();
  for (auto& [name, st] : dm)
    if (name == ns) {
      st.set(key, std::move(value));
      return 0;
    }
  MetaValue st = MetaValue::ofStruct();
  st.set(key, std::move(value));
  dm.emplace_back(ns, std::move(st));
  return 0;
}

int dmIterNext(lua_State* L) {
  Obj* it;
  HookCall* c = live(L, kIter, &it, lua_upvalueindex(1));
  const DynamicMetadata& dm = c->ex_.dynamicMetadata();
  if (it->index >= dm.size()) {
    c->iterating_[kWhichDynMeta] = false;
    return 0;
  }
  const auto& [name, value] = dm[it->index++];
  pushView(L, name);
  pushMeta(L, value);
  return 2;
}

int dmPairs(lua_State* L) {
  Obj* o;
  HookCall* c = live(L, kDynMeta, &o);
  if (c->iterating_[kWhichDynMeta])
    raiseAtScript(L, "cannot create a second iterator before completing the first");
  c->iterating_[kWhichDynMeta] = true;
  newObj(L, kIter, o->scope, kWhichDynMeta);
  lua_pushcclosure(L, dmIterNext, 1);
  return 1;
}

// ---- route metadata --------------------------------------------------------------------------

int mdGet(lua_State* L) {
  HookCall* c = live(L, kMetadata);
  const char* key = luaL_checkstring(L, 2);
  const MetaValue* md = c->ex_.routeMetadata();
  const MetaValue* v = md ? md->find(key) : nullptr;
  if (v == nullptr) return 0;
  pushMeta(L, *v);
  return 1;
}

int mdIterNext(lua_State* L) {
  Obj* it;
  HookCall* c = live(L, kIter, &it, lua_upvalueindex(1));
  const MetaValue* md = c->ex_.routeMetadata();
  if (md == nullptr || it->index >= md->fields.size()) {
    c->metaIterating_ = false;
    return 0;
  }
  const auto& [k, v] = md->fields[it->index++];
  pushView(L, k);
  pushMeta(L, v);
  return 2;
}

int mdPairs(lua_State* L) {
  Obj* o;
  HookCall* c = live(L, kMetadata, &o);
  if (c->metaIterating_)
    raiseAtScript(L, "cannot create a second iterator before completing the first");
  c->metaIterating_ = true;
  newObj(L, kIter, o->scope, kWhichRouteMeta);
  lua_pushcclosure(L, mdIterNext, 1);
  return 1;
}

// ---- ssl connection --------------------------------------------------------------------------

const SslInfo& sslOf(lua_State* L) {
  HookCall* c = live(L, kSsl);
  const SslInfo* s = c->ex_.downstreamSsl();
  if (s == nullptr) luaL_error(L, "object used outside of proper scope");
  return *s;
}

void pushList(lua_State* L, const std::vector<std::string>& list) {
  lua_createtable(L, int(list.size()), 0);
  for (size_t i = 0; i < list.size(); i++) {
    pushView(L, list[i]);
    lua_rawseti(L, -2, int(i + 1));
  }
}

#define SSL_BOOL(fn, field) \
  int fn(lua_State* L) {    \
    lua_pushboolean(L, sslOf(L).field); \
    return 1;               \
  }
#define SSL_STR(fn, field) \
  int fn(lua_State* L) {   \
    pushView(L, sslOf(L).field); \
    return 1;              \
  }
#define SSL_LIST(fn, field) \
  int fn(lua_State* L) {    \
    pushList(L, sslOf(L).field); \
    return 1;               \
  }
#define SSL_INT(fn, field) \
  int fn(lua_State* L) {   \
    lua_pushinteger(L, lua_Integer(sslOf(L).field)); \
    return 1;              \
  }
SSL_BOOL(sslPresented, peerCertificatePresented)
SSL_BOOL(sslValidated, peerCertificateValidated)
SSL_LIST(sslUriSanPeer, uriSanPeerCertificate)
SSL_LIST(sslUriSanLocal, uriSanLocalCertificate)
SSL_LIST(sslDnsSansPeer, dnsSansPeerCertificate)
SSL_LIST(sslDnsSansLocal, dnsSansLocalCertificate)
SSL_STR(sslSha256, sha256PeerCertificateDigest)
SSL_STR(sslSerial, serialNumberPeerCertificate)
SSL_STR(sslIssuer, issuerPeerCertificate)
SSL_STR(sslSubject, subjectPeerCertificate)
SSL_STR(sslSubjectLocal, subjectLocalCertificate)
SSL_STR(sslPem, urlEncodedPemEncodedPeerCertificate)
SSL_STR(sslTlsVersion, tlsVersion)
SSL_STR(sslCipherString, ciphersuiteString)
SSL_STR(sslSessionId, sessionId)
SSL_INT(sslValidFrom, validFromPeerCertificate)
SSL_INT(sslExpiration, expirationPeerCertificate)

int sslCipherId(lua_State* L) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", unsigned(sslOf(L).ciphersuiteId));
  lua_pushstring(L, buf);
  return 1;
}

void pushSsl(lua_State* L, HookCall* c, const char* cacheKey) {
  if (c->ex_.downstreamSsl() == nullptr) {
    lua_pushnil(L);
    return;
  }
  cached(L, c, cacheKey, [&] { newObj(L, kSsl, c->scope_); });
}

// ---- stream info -----------------------------------------------------------------------------

int siProtocol(lua_State* L) {
  pushView(L, live(L, kStreamInfo)->ex_.protocol());
  return 1;
}
int siRouteName(lua_State* L) {
  pushView(L, live(L, kStreamInfo)->ex_.routeName());
  return 1;
}
int siLocal(lua_State* L) {
  pushView(L, live(L, kStreamInfo)->ex_.downstreamLocalAddress());
  return 1;
}
int siDirectRemote(lua_State* L) {
  pushView(L, live(L, kStreamInfo)->ex_.downstreamDirectRemoteAddress());
  return 1;
}
int siRemote(lua_State* L) {
  pushView(L, live(L, kStreamInfo)->ex_.downstreamRemoteAddress());
  return 1;
}
int siSni(lua_State* L) {
  pushView(L, live(L, kStreamInfo)->ex_.requestedServerName());
  return 1;
}
int siPeerPrincipal(lua_State* L) {
  std::string_view p = live(L, kStreamInfo)->ex_.peerPrincipal();
  if (p.empty()) return 0;
  pushView(L, p);
  return 1;
}
int siDynamicMetadata(lua_State* L) {
  HookCall* c = live(L, kStreamInfo);
  cached(L, c, "dynmeta", [&] { newObj(L, kDynMeta, c->scope_, kWhichDynMeta); });
  return 1;
}
int siSsl(lua_State* L) {
  pushSsl(L, live(L, kStreamInfo), "ssl");
  return 1;
}

int connSsl(lua_State* L) {
  pushSsl(L, live(L, kConnection), "ssl");
  return 1;
}

// ---- the handle ------------------------------------------------------------------------------

int hHeaders(lua_State* L) {
  HookCall* c = live(L, kHandle);
  cached(L, c, "headers", [&] { newObj(L, kHeaders, c->scope_, kWhichHeaders); });
  return 1;
}

// Envoy's luaBody, shared by the first call and the resume after a kBody wait.
int bodyNow(lua_State* L, HookCall* c) {
  ScriptExchange& ex = c->ex_;
  const Direction d = dirOf(c);
  if (ex.endOfStream(d)) {
    if (!c->bufferedBody_ && c->sawBody_)
      return luaL_error(L, "cannot call body() after body has been streamed");
    pushCache(L, c);
    lua_getfield(L, -1, "body");
    lua_remove(L, -2);
    if (!lua_isnil(L, -1)) return 1;
    lua_pop(L, 1);
    ScriptBuffer* buf = ex.bufferedBody(d);
    if (buf == nullptr) {
      if (!c->alwaysWrapBody_) return 0;
      buf = ex.createEmptyBody(d);
      if (buf == nullptr) return 0;
    }
    cached(L, c, "body", [&] { newObj(L, kBuffer, c->scope_, 0, buf); });
    return 1;
  }
  if (c->sawBody_) return luaL_error(L, "cannot call body() after body streaming has started");
  c->wait_ = Wait::kBody;
  c->bufferedBody_ = true;
  return -1;  // yield
}

int hBody(lua_State* L) {
  HookCall* c = live(L, kHandle);
  c->alwaysWrapBody_ = false;
  if (lua_gettop(L) >= 2) {
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    c->alwaysWrapBody_ = lua_toboolean(L, 2) != 0;
  }
  int n = bodyNow(L, c);
  if (n >= 0) return n;
  return lua_yield(L, 0);
}

int hBodyIter(lua_State* L) {
  HookCall* c = live(L, kHandle, nullptr, lua_upvalueindex(1));
  if (c->ex_.endOfStream(dirOf(c))) return 0;
  c->wait_ = Wait::kBodyChunk;
  return lua_yield(L, 0);
}

int hBodyChunks(lua_State* L) {
  HookCall* c = live(L, kHandle);
  if (c->sawBody_) luaL_error(L, "cannot call bodyChunks after body processing has begun");
  lua_pushvalue(L, 1);
  lua_pushcclosure(L, hBodyIter, 1);
  return 1;
}

int trailersNow(lua_State* L, HookCall* c, bool mayWait) {
  const Direction d = dirOf(c);
  ScriptHeaders* t = c->ex_.trailers(d);
  if (t != nullptr) {
    cached(L, c, "trailers", [&] { newObj(L, kHeaders, c->scope_, kWhichTrailers); });
    return 1;
  }
  if (c->ex_.endOfStream(d) || !mayWait) return 0;
  c->wait_ = Wait::kTrailers;
  return -1;
}

int hTrailers(lua_State* L) {
  HookCall* c = live(L, kHandle);
  int n = trailersNow(L, c, true);
  if (n >= 0) return n;
  return lua_yield(L, 0);
}

int hRespond(lua_State* L) {
  HookCall* c = live(L, kHandle);
  if (c->hook_ == Hook::kResponse)
    luaL_error(L, "respond not currently supported in the response path");
  if (c->hook_ == Hook::kAuthorize)
    luaL_error(L, "respond is not available in gatehouse_authorize; return false, reason");
  if (c->headersContinued_)
    luaL_error(L, "respond() cannot be called if headers have been continued");
  luaL_checktype(L, 2, LUA_TTABLE);
  size_t bodyLen = 0;
  const char* body = luaL_optlstring(L, 3, nullptr, &bodyLen);
  std::vector<std::pair<std::string, std::string>> headers;
  headersFromTable(L, 2, &headers);
  int status = -1;
  LocalReply reply;
  for (auto& [k, v] : headers) {
    if (k == ":status") {
      if (status == -1) {
        char* end = nullptr;
        long s = v.empty() ? -1 : std::strtol(v.c_str(), &end, 10);
        status = (end && *end == '\0') ? int(s) : 0;
      }
      continue;
    }
    reply.headers.emplace_back(std::move(k), std::move(v));
  }
  if (status < 200 || status >= 600) luaL_error(L, ":status must be between 200-599");
  reply.status = status;
  if (body != nullptr) reply.body = std::string(body, bodyLen);
  reply.details = "lua_response";
  c->ex_.respond(std::move(reply));
  c->responded_ = true;
  return lua_yield(L, 0);
}

int hHttpCall(lua_State* L) {
  HookCall* c = live(L, kHandle);
  HttpCallRequest req;
  const bool hasOptions = lua_istable(L, 5);
  if (!hasOptions) {
    if (!lua_isnone(L, 6) && !lua_isboolean(L, 6))
      luaL_error(L, "http call asynchronous flag must be 'true', 'false', or empty");
    const int timeout = luaL_checkint(L, 5);
    if (timeout < 0) luaL_error(L, "http call timeout must be >= 0");
    req.timeoutMs = uint32_t(timeout);
    req.detached = lua_toboolean(L, 6) != 0;
  } else {
    lua_pushnil(L);
    while (lua_next(L, 5) != 0) {
      size_t kn = 0;
      const char* key = luaL_checklstring(L, -2, &kn);
      std::string_view k(key, kn);
      if (k == "asynchronous") {
        req.detached = lua_toboolean(L, -1) != 0;
      } else if (k == "timeout_ms") {
        const int timeout = luaL_checkint(L, -1);
        if (timeout < 0) luaL_error(L, "http call timeout must be >= 0");
        req.timeoutMs = uint32_t(timeout);
      } else if (k == "trace_sampled") {
      } else if (k == "return_duplicate_headers") {
        req.returnDuplicateHeaders = lua_toboolean(L, -1) != 0;
      } else if (k == "send_xff") {
        req.sendXff = lua_toboolean(L, -1) != 0;
      } else {
        luaL_error(L, "\"%s\" is not valid key for httpCall() options", key);
      }
      lua_pop(L, 1);
    }
  }
  size_t sn = 0;
  const char* service = luaL_checklstring(L, 2, &sn);
  luaL_checktype(L, 3, LUA_TTABLE);
  req.service.assign(service, sn);
  if (!c->ex_.knowsService(req.service)) luaL_error(L, "http call cluster invalid. Must be configured");
  headersFromTable(L, 3, &req.headers);
  bool path = false, method = false, authority = false;
  for (const auto& [k, v] : req.headers) {
    path |= k == ":path";
    method |= k == ":method";
    authority |= k == ":authority" || k == "host";
  }
  if (!path || !method || !authority)
    luaL_error(L, "http call headers must include ':path', ':method', and ':authority'");
  size_t bn = 0;
  const char* body = luaL_optlstring(L, 4, nullptr, &bn);
  if (body != nullptr) req.body = std::string(body, bn);
  const bool detached = req.detached;
  c->returnDuplicateHeaders_ = req.returnDuplicateHeaders;
  c->ex_.startHttpCall(std::move(req));
  if (detached) return 0;
  c->wait_ = Wait::kHttpCall;
  return lua_yield(L, 0);
}

int hStreamInfo(lua_State* L) {
  HookCall* c = live(L, kHandle);
  cached(L, c, "streaminfo", [&] { newObj(L, kStreamInfo, c->scope_); });
  return 1;
}

int hConnection(lua_State* L) {
  HookCall* c = live(L, kHandle);
  cached(L, c, "connection", [&] { newObj(L, kConnection, c->scope_); });
  return 1;
}

int hMetadata(lua_State* L) {
  HookCall* c = live(L, kHandle);
  cached(L, c, "metadata", [&] { newObj(L, kMetadata, c->scope_, kWhichRouteMeta); });
  return 1;
}

template <ScriptLogLevel level>
int hLog(lua_State* L) {
  HookCall* c = live(L, kHandle);
  size_t n = 0;
  const char* msg = luaL_checklstring(L, 2, &n);
  c->ex_.log(level, c->scriptName(), std::string_view(msg, n));
  return 0;
}

int hBase64Escape(lua_State* L) {
  live(L, kHandle);
  size_t n = 0;
  const auto* s = reinterpret_cast<const unsigned char*>(luaL_checklstring(L, 2, &n));
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t(s[i]) << 16) | (uint32_t(s[i + 1]) << 8) | s[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < n) {
    uint32_t v = uint32_t(s[i]) << 16;
    if (i + 1 < n) v |= uint32_t(s[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  pushView(L, out);
  return 1;
}

// EnvoyTimestampResolution.MILLISECOND = 0, MICROSECOND = 1 (Envoy's enum order).
int resolutionArg(lua_State* L) {
  size_t n = 0;
  const char* s = luaL_optlstring(L, 2, "", &n);
  if (n == 0) return 0;
  std::string v(s, n);
  if (v == "0") return 0;
  if (v == "1") return 1;
  return -1;
}

int hTimestamp(lua_State* L) {
  live(L, kHandle);
  auto now = std::chrono::system_clock::now().time_since_epoch();
  if (resolutionArg(L) != 0) luaL_error(L, "timestamp format must be MILLISECOND.");
  lua_pushnumber(L, lua_Number(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
  return 1;
}

int hTimestampString(lua_State* L) {
  live(L, kHandle);
  auto now = std::chrono::system_clock::now().time_since_epoch();
  int r = resolutionArg(L);
  if (r == 0) {
    pushView(L, std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
  } else if (r == 1) {
    pushView(L, std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now).count()));
  } else {
    luaL_error(L, "timestamp format must be MILLISECOND or MICROSECOND.");
  }
  return 1;
}

// ---- gatehouse.shared ------------------------------------------------------------------------

SharedDict* sharedOf(lua_State* L) {
  luaL_checkudata(L, 1, kShared);
  auto* d = static_cast<SharedDict*>(lua_touserdata(L, lua_upvalueindex(1)));
  if (d == nullptr) luaL_error(L, "gatehouse.shared is not available in this process");
  return d;
}

bool toShared(lua_State* L, int idx, SharedValue* out) {
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t n = 0;
      const char* s = lua_tolstring(L, idx, &n);
      out->kind = SharedValue::Kind::kString;
      out->string.assign(s, n);
      return true;
    }
    case LUA_TNUMBER:
      out->kind = SharedValue::Kind::kNumber;
      out->number = lua_tonumber(L, idx);
      return true;
    case LUA_TBOOLEAN:
      out->kind = SharedValue::Kind::kBool;
      out->boolean = lua_toboolean(L, idx) != 0;
      return true;
    default:
      return false;
  }
}

int shGet(lua_State* L) {
  SharedDict* d = sharedOf(L);
  size_t n = 0;
  const char* k = luaL_checklstring(L, 2, &n);
  auto v = d->get(std::string_view(k, n));
  if (!v) return 0;
  switch (v->kind) {
    case SharedValue::Kind::kString: pushView(L, v->string); break;
    case SharedValue::Kind::kNumber: lua_pushnumber(L, v->number); break;
    case SharedValue::Kind::kBool: lua_pushboolean(L, v->boolean); break;
  }
  return 1;
}

int shSet(lua_State* L) {
  SharedDict* d = sharedOf(L);
  size_t n = 0;
  const char* k = luaL_checklstring(L, 2, &n);
  const double ttl = luaL_optnumber(L, 4, 0);
  if (ttl < 0) luaL_error(L, "gatehouse.shared: ttl must be >= 0");
  if (lua_isnoneornil(L, 3)) {
    d->remove(std::string_view(k, n));
    lua_pushboolean(L, 1);
    return 1;
  }
  SharedValue v;
  if (!toShared(L, 3, &v))
    luaL_error(L, "gatehouse.shared: values are strings, numbers or booleans, not %s",
               luaL_typename(L, 3));
  if (!d->set(std::string_view(k, n), std::move(v), ttl)) {
    lua_pushboolean(L, 0);
    lua_pushstring(L, "no memory");
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

int shIncr(lua_State* L) {
  SharedDict* d = sharedOf(L);
  size_t n = 0;
  const char* k = luaL_checklstring(L, 2, &n);
  const double delta = luaL_checknumber(L, 3);
  std::optional<double> init;
  if (!lua_isnoneornil(L, 4)) init = luaL_checknumber(L, 4);
  const double ttl = luaL_optnumber(L, 5, 0);
  auto r = d->incr(std::string_view(k, n), delta, init, ttl);
  if (!r.ok) {
    lua_pushnil(L);
    lua_pushstring(L, r.error);
    return 2;
  }
  lua_pushnumber(L, r.value);
  return 1;
}

int shDelete(lua_State* L) {
  SharedDict* d = sharedOf(L);
  size_t n = 0;
  const char* k = luaL_checklstring(L, 2, &n);
  lua_pushboolean(L, d->remove(std::string_view(k, n)));
  return 1;
}

// ---- the sandbox's own versions of base functions --------------------------------------------

// pairs honouring __pairs (LuaJIT without 5.2 compatibility ignores it; Envoy's build has it).
int sbPairs(lua_State* L) {
  if (luaL_getmetafield(L, 1, "__pairs")) {
    lua_pushvalue(L, 1);
    lua_call(L, 1, 3);
    return 3;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushvalue(L, lua_upvalueindex(1));  // next
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

// loadstring/load of text only, into the caller's environment, with the JIT off.
int sbLoadString(lua_State* L) {
  size_t n = 0;
  const char* s = lua_tolstring(L, 1, &n);
  if (s == nullptr) luaL_error(L, "load: only source strings are accepted");
  const char* name = luaL_optstring(L, 2, "=(load)");
  if (luaL_loadbufferx(L, s, n, name, "t") != 0) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  luaJIT_setmode(L, -1, LUAJIT_MODE_ALLFUNC | LUAJIT_MODE_OFF);
  lua_Debug ar;
  if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "f", &ar)) {
    lua_getfenv(L, -1);
    lua_setfenv(L, -3);
    lua_pop(L, 1);
  }
  return 1;
}

int sbCollectGarbage(lua_State* L) {
  const char* opt = luaL_optstring(L, 1, "collect");
  if (std::strcmp(opt, "collect") != 0 && std::strcmp(opt, "count") != 0 &&
      std::strcmp(opt, "step") != 0)
    luaL_error(L, "collectgarbage('%s') is not allowed", opt);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

int sbPrint(lua_State* L) {
  std::string line;
  for (int i = 1, n = lua_gettop(L); i <= n; i++) {
    if (i > 1) line += '\t';
    size_t len = 0;
    lua_getglobal(L, "tostring");
    lua_pushvalue(L, i);
    lua_call(L, 1, 1);
    const char* s = lua_tolstring(L, -1, &len);
    if (s) line.append(s, len);
    lua_pop(L, 1);
  }
  HookCall* c = runningCall();
  LOG_INFO("lua: %s: %s", c ? c->scriptName().c_str() : "script", line.c_str());
  return 0;
}

void registerType(lua_State* L, const char* name, const luaL_Reg* methods, lua_CFunction pairs = nullptr) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_register(L, nullptr, methods);
  lua_setfield(L, -2, "__index");
  if (pairs) {
    lua_pushcfunction(L, pairs);
    lua_setfield(L, -2, "__pairs");
  }
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
}

}  // namespace

void Bindings::registerAll(lua_State* L, SharedDict* shared) {
  static const luaL_Reg handle[] = {
      {"headers", hHeaders},
      {"body", hBody},
      {"bodyChunks", hBodyChunks},
      {"trailers", hTrailers},
      {"respond", hRespond},
      {"httpCall", hHttpCall},
      {"streamInfo", hStreamInfo},
      {"connection", hConnection},
      {"metadata", hMetadata},
      {"logTrace", hLog<ScriptLogLevel::kTrace>},
      {"logDebug", hLog<ScriptLogLevel::kDebug>},
      {"logInfo", hLog<ScriptLogLevel::kInfo>},
      {"logWarn", hLog<ScriptLogLevel::kWarn>},
      {"logErr", hLog<ScriptLogLevel::kError>},
      {"logCritical", hLog<ScriptLogLevel::kCritical>},
      {"base64Escape", hBase64Escape},
      {"timestamp", hTimestamp},
      {"timestampString", hTimestampString},
      {nullptr, nullptr}};
  static const luaL_Reg headers[] = {{"get", hdrGet},
                                     {"getAtIndex", hdrGetAtIndex},
                                     {"getNumValues", hdrGetNumValues},
                                     {"add", hdrAdd},
                                     {"replace", hdrReplace},
                                     {"remove", hdrRemove},
                                     {"setHttp1ReasonPhrase", hdrSetReason},
                                     {nullptr, nullptr}};
  static const luaL_Reg none[] = {{nullptr, nullptr}};
  static const luaL_Reg buffer[] = {
      {"length", bufLength}, {"getBytes", bufGetBytes}, {"setBytes", bufSetBytes}, {nullptr, nullptr}};
  static const luaL_Reg streamInfo[] = {{"protocol", siProtocol},
                                        {"routeName", siRouteName},
                                        {"downstreamLocalAddress", siLocal},
                                        {"downstreamDirectRemoteAddress", siDirectRemote},
                                        {"downstreamRemoteAddress", siRemote},
                                        {"requestedServerName", siSni},
                                        {"dynamicMetadata", siDynamicMetadata},
                                        {"downstreamSslConnection", siSsl},
                                        {"peerPrincipal", siPeerPrincipal},
                                        {nullptr, nullptr}};
  static const luaL_Reg dynMeta[] = {{"get", dmGet}, {"set", dmSet}, {nullptr, nullptr}};
  static const luaL_Reg metadata[] = {{"get", mdGet}, {nullptr, nullptr}};
  static const luaL_Reg ssl[] = {{"peerCertificatePresented", sslPresented},
                                 {"peerCertificateValidated", sslValidated},
                                 {"uriSanPeerCertificate", sslUriSanPeer},
                                 {"uriSanLocalCertificate", sslUriSanLocal},
                                 {"dnsSansPeerCertificate", sslDnsSansPeer},
                                 {"dnsSansLocalCertificate", sslDnsSansLocal},
                                 {"sha256PeerCertificateDigest", sslSha256},
                                 {"serialNumberPeerCertificate", sslSerial},
                                 {"issuerPeerCertificate", sslIssuer},
                                 {"subjectPeerCertificate", sslSubject},
                                 {"subjectLocalCertificate", sslSubjectLocal},
                                 {"urlEncodedPemEncodedPeerCertificate", sslPem},
                                 {"tlsVersion", sslTlsVersion},
                                 {"ciphersuiteString", sslCipherString},
                                 {"ciphersuiteId", sslCipherId},
                                 {"validFromPeerCertificate", sslValidFrom},
                                 {"expirationPeerCertificate", sslExpiration},
                                 {"sessionId", sslSessionId},
                                 {nullptr, nullptr}};
  static const luaL_Reg connection[] = {{"ssl", connSsl}, {nullptr, nullptr}};
  registerType(L, kHandle, handle);
  registerType(L, kHeaders, headers, hdrPairs);
  registerType(L, kIter, none);
  registerType(L, kBuffer, buffer);
  registerType(L, kStreamInfo, streamInfo);
  registerType(L, kDynMeta, dynMeta, dmPairs);
  registerType(L, kMetadata, metadata, mdPairs);
  registerType(L, kSsl, ssl);
  registerType(L, kConnection, connection);

  // gatehouse.shared: one userdata per VM; the dictionary is an upvalue of its methods.
  luaL_newmetatable(L, kShared);
  lua_newtable(L);
  const std::pair<const char*, lua_CFunction> sharedFns[] = {
      {"get", shGet}, {"set", shSet}, {"incr", shIncr}, {"delete", shDelete}};
  for (const auto& [name, fn] : sharedFns) {
    lua_pushlightuserdata(L, shared);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, -2, name);
  }
  lua_setfield(L, -2, "__index");
  lua_pushstring(L, kShared);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);

  // Keep the string metatable out of scripts' reach (it is shared by every script of the VM).
  lua_pushstring(L, "");
  if (lua_getmetatable(L, -1)) {
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);

  // The base of every sandbox environment, kept in the registry.
  lua_newtable(L);
  static const char* kCopied[] = {"assert", "error",    "ipairs",   "next",      "pcall",
                                  "xpcall", "select",   "tonumber", "tostring",  "type",
                                  "unpack", "rawequal", "rawget",   "rawset",    "setmetatable",
                                  "getmetatable", "_VERSION"};
  for (const char* name : kCopied) {
    lua_getglobal(L, name);
    lua_setfield(L, -2, name);
  }
  lua_getglobal(L, "next");
  lua_pushcclosure(L, sbPairs, 1);
  lua_setfield(L, -2, "pairs");
  lua_pushcfunction(L, sbLoadString);
  lua_setfield(L, -2, "loadstring");
  lua_pushcfunction(L, sbLoadString);
  lua_setfield(L, -2, "load");
  lua_getglobal(L, "collectgarbage");
  lua_pushcclosure(L, sbCollectGarbage, 1);
  lua_setfield(L, -2, "collectgarbage");
  lua_pushcfunction(L, sbPrint);
  lua_setfield(L, -2, "print");
  lua_newtable(L);  // gatehouse
  lua_newuserdata(L, 1);
  luaL_getmetatable(L, kShared);
  lua_setmetatable(L, -2);
  lua_setfield(L, -2, "shared");
  lua_setfield(L, -2, "gatehouse");
  lua_newtable(L);  // EnvoyTimestampResolution
  lua_pushinteger(L, 0);
  lua_setfield(L, -2, "MILLISECOND");
  lua_pushinteger(L, 1);
  lua_setfield(L, -2, "MICROSECOND");
  lua_setfield(L, -2, "EnvoyTimestampResolution");
  lua_setfield(L, LUA_REGISTRYINDEX, "gh.sandbox");
}

void Bindings::pushSandboxEnv(lua_State* L) {
  lua_newtable(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "gh.sandbox");
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_settable(L, -5);
  }
  lua_pop(L, 1);
  // Libraries: a private copy per script, so one script cannot rewire another's string.gsub.
  static const char* kLibs[] = {"string", "table", "math", "bit", "coroutine"};
  for (const char* lib : kLibs) {
    lua_newtable(L);
    lua_getglobal(L, lib);
    if (lua_istable(L, -1)) {
      lua_pushnil(L);
      while (lua_next(L, -2) != 0) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, -5);
      }
    }
    lua_pop(L, 1);
    lua_setfield(L, -2, lib);
  }
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "_G");
}

void Bindings::pushHandle(lua_State* L, HookCall* call) { newObj(L, kHandle, call->scope_); }

int Bindings::pushBodyResult(lua_State* L, HookCall* call) {
  int n = bodyNow(L, call);
  return n < 0 ? 0 : n;
}

int Bindings::pushChunk(lua_State* L, HookCall* call, ScriptBuffer* chunk) {
  if (chunk == nullptr) return 0;
  call->chunkScope_ = call->vm_->scopes().acquire(call);
  newObj(L, kBuffer, call->chunkScope_, 0, chunk);
  return 1;
}

int Bindings::pushTrailersResult(lua_State* L, HookCall* call) { return trailersNow(L, call, false); }

int Bindings::pushHttpResult(lua_State* L, HookCall* call, const HttpCallResponse& response) {
  lua_newtable(L);
  if (call->returnDuplicateHeaders_) {
    // Repeated names become a list of their values, in order.
    std::vector<std::pair<std::string_view, std::vector<std::string_view>>> grouped;
    for (const auto& kv : response.headers) {
      const std::string_view k = kv.first, v = kv.second;
      auto it = std::find_if(grouped.begin(), grouped.end(), [&](auto& g) { return g.first == k; });
      if (it == grouped.end())
        grouped.push_back({k, {v}});
      else
        it->second.push_back(v);
    }
    for (const auto& [k, vs] : grouped) {
      pushView(L, k);
      if (vs.size() == 1) {
        pushView(L, vs[0]);
      } else {
        lua_createtable(L, int(vs.size()), 0);
        for (size_t i = 0; i < vs.size(); i++) {
          pushView(L, vs[i]);
          lua_rawseti(L, -2, int(i + 1));
        }
      }
      lua_settable(L, -3);
    }
  } else {
    for (const auto& [k, v] : response.headers) {
      pushView(L, k);
      pushView(L, v);
      lua_settable(L, -3);
    }
  }
  if (response.body.empty())
    lua_pushnil(L);
  else
    pushView(L, response.body);
  return 2;
}

}  // namespace gh::script
