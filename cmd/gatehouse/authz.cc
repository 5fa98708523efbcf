// gatehouse authz: ask the authorization engine (core/policy) about requests, offline.
//
//   authz explain  one hand-written request: the decision and the policy/rule that decided it
//                  (exit 0 allowed, 1 denied).
//   authz replay   recorded requests (JSON lines) against a draft policy set: the requests whose
//                  decision would change, with both decisions (exit 1 when any changes).
//
// The configuration is the active stored version (--data-dir), or files (-f); nothing is
// written and no server is needed. docs/authz.md is the user's guide.

#include <cstdio>
#include <fstream>
#include <map>

#include "cmd/gatehouse/cli.h"
#include "cmd/gatehouse/config_files.h"
#include "core/base/strings.h"
#include "core/config/decode.h"
#include "core/config/validate.h"
#include "core/config/yaml_tree.h"
#include "core/http/parser.h"
#include "core/identity/spiffe.h"
#include "core/policy/authz.h"

namespace gh::cli {
namespace {

// The resources to evaluate against: the files given with -f, or the active stored version.
bool loadConfig(const Flags& f, std::vector<config::Resource>* out) {
  std::vector<std::string> files = f.all("file");
  if (!files.empty()) return decodeFiles(files, out);
  auto store = openStore(f.get("data-dir"), false);
  if (!store) return false;
  int64_t version = 0;
  return loadActive(*store, &version, out);
}

bool validated(const std::vector<config::Resource>& set, const std::string& what) {
  std::vector<config::Diagnostic> diags;
  if (config::validate(set, &diags)) return true;
  error(what, "the configuration is not valid");
  for (const config::Diagnostic& d : diags) error(d.format());
  return false;
}

std::shared_ptr<const policy::PolicyIndex> compileIndex(const std::vector<config::Resource>& set,
                                                       const std::string& what) {
  auto index = policy::PolicyIndex::compile(set);
  if (!index.ok()) {
    error(what, index.status().message());
    return nullptr;
  }
  return *index;
}

// A request as the CLI and the replay file describe it (owning its strings).
struct RequestSpec {
  std::string principal, ns, workload, listener, method = "GET", path = "/", host, sni;
  int port = -1;  // -1: the target's own port
  std::string sourceIp, remoteIp;
  std::vector<std::pair<std::string, std::string>> headers;
};

// A principal in any form a user types: a SPIFFE ID URI, or the Istio form without spiffe://.
bool normalisePrincipal(std::string* p, std::string* why) {
  if (p->empty()) return true;
  std::string uri = str::startsWith(*p, "spiffe://") ? *p : "spiffe://" + *p;
  auto id = identity::SpiffeId::parse(uri);
  if (!id.ok()) {
    *why = id.status().message();
    return false;
  }
  *p = id.value().uri();
  return true;
}

// Resolves the target and builds the engine's request; *why says what is wrong.
struct Resolved {
  const policy::TargetPolicies* target = nullptr;
  std::string label;  // "Workload production/orders"
  policy::Request request;
  std::string path;  // the normalised path the request views
  std::vector<http::Header> headers;
};

// `s` must outlive out->request (it views s's strings); its principal is normalised in place.
bool resolve(RequestSpec& s, const std::vector<config::Resource>& set,
             const policy::PolicyIndex& index, Resolved* out, std::string* why) {
  const config::Resource* target = nullptr;
  config::Kind kind = s.listener.empty() ? config::Kind::kWorkload : config::Kind::kListener;
  const std::string& name = s.listener.empty() ? s.workload : s.listener;
  std::vector<const config::Resource*> found;
  for (const config::Resource& r : set) {
    if (r.kind != kind) continue;
    if (!name.empty() && r.meta.name != name) continue;
    if (!s.ns.empty() && r.meta.ns != s.ns) continue;
    found.push_back(&r);
  }
  std::string what = std::string(config::kindName(kind)) + (name.empty() ? "" : " " + name) +
                     (s.ns.empty() ? "" : " in namespace " + s.ns);
  if (found.empty()) {
    *why = "no " + what + " in the configuration";
    return false;
  }
  if (found.size() > 1) {
    *why = what + " is ambiguous (" + std::to_string(found.size()) +
           " match): name it with --workload/--listener and --namespace";
    return false;
  }
  target = found[0];
  out->label = std::string(config::kindName(kind)) + " " + target->meta.ns + "/" + target->meta.name;
  out->target = kind == config::Kind::kWorkload
                    ? index.forWorkload(target->meta.ns, target->meta.name)
                    : index.forListener(target->meta.ns, target->meta.name);
  if (!normalisePrincipal(&s.principal, why)) return false;
  if (!http::normalizePath(s.path, false, &out->path)) {
    *why = "path \"" + s.path + "\" cannot be normalised";
    return false;
  }
  policy::Request& q = out->request;
  q.principal = s.principal;
  q.method = s.method;
  q.path = out->path;
  q.host = s.host;
  if (s.port >= 0) {
    q.port = static_cast<uint16_t>(s.port);
  } else if (kind == config::Kind::kWorkload) {
    q.port = target->workload().port;
  } else {
    q.port = target->listener().port;
  }
  config::IpAddress ip;
  if (!s.sourceIp.empty()) {
    if (!config::parseIpAddress(s.sourceIp, &ip)) {
      *why = "source ip \"" + s.sourceIp + "\" is not an IP address";
      return false;
    }
    q.sourceIp = ip;
  }
  if (!s.remoteIp.empty()) {
    if (!config::parseIpAddress(s.remoteIp, &ip)) {
      *why = "remote ip \"" + s.remoteIp + "\" is not an IP address";
      return false;
    }
    q.remoteIp = ip;
  }
  q.sni = s.sni;
  for (const auto& [n, v] : s.headers) out->headers.push_back(http::Header{n, v});
  q.headers = out->headers;
  return true;
}

std::string describe(const RequestSpec& s) {
  std::string out = s.method + " " + s.path;
  if (!s.host.empty()) out += " host " + s.host;
  out += " from " + (s.principal.empty() ? std::string("(no peer)") : s.principal);
  return out;
}

// --- explain -------------------------------------------------------------------------------

int explainCommand(const std::vector<std::string>& args) {
  Flags f("authz explain",
          {{"method"}, {"path"}, {"principal"}, {"workload"}, {"listener"}, {"namespace", 'n'},
           {"host"}, {"port"}, {"header", 'H', true, true}, {"source-ip"}, {"remote-ip"},
           {"sni"}, {"file", 'f', true, true}, {"data-dir"}},
          "usage: gatehouse authz explain --method M --path P [--principal SPIFFE_ID]\n"
          "         (--workload W | --listener L) [--namespace NS] [--host H] [--port N]\n"
          "         [--header 'name: value']... [--source-ip IP] [--remote-ip IP] [--sni NAME]\n"
          "         [-f PATH]... [--data-dir DIR]\n"
          "\n"
          "Evaluates one request against the AuthorizationPolicies that apply to a Workload\n"
          "(mesh inbound) or an edge Listener, and prints the decision and the policy and rule\n"
          "that decided it. The configuration is the files given with -f, else the active\n"
          "stored version. No --principal: a request without mTLS peer. --port defaults to\n"
          "the Workload's (or Listener's) port. Exit 0 allowed, 1 denied, 2 usage, 3 the\n"
          "configuration cannot be read or is not valid.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (!f.positional().empty()) {
    error("authz explain", "unexpected argument " + f.positional()[0] + " (see --help)");
    return kUsage;
  }
  if (f.has("workload") == f.has("listener")) {
    error("authz explain", "needs --workload W or --listener L (one of them)");
    return kUsage;
  }
  RequestSpec s;
  s.principal = f.get("principal");
  s.ns = f.get("namespace");
  s.workload = f.get("workload");
  s.listener = f.get("listener");
  s.method = f.get("method", "GET");
  s.path = f.get("path", "/");
  s.host = f.get("host");
  s.sni = f.get("sni");
  s.sourceIp = f.get("source-ip");
  s.remoteIp = f.get("remote-ip");
  if (f.has("port")) {
    uint64_t p = 0;
    if (!str::parseU64(f.get("port"), &p) || p < 1 || p > 65535) {
      error("authz explain: --port " + f.get("port"), "expected a port number 1..65535");
      return kUsage;
    }
    s.port = static_cast<int>(p);
  }
  for (const std::string& h : f.all("header")) {
    size_t colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      error("authz explain: --header " + h, "expected 'name: value'");
      return kUsage;
    }
    s.headers.emplace_back(std::string(str::trimOws(h.substr(0, colon))),
                           std::string(str::trimOws(h.substr(colon + 1))));
  }
  std::vector<config::Resource> set;
  if (!loadConfig(f, &set)) return kUnavailable;
  if (!validated(set, "authz explain")) return kUnavailable;
  auto index = compileIndex(set, "authz explain");
  if (!index) return kUnavailable;
  Resolved r;
  std::string why;
  if (!resolve(s, set, *index, &r, &why)) {
    error("authz explain", why);
    return kUsage;
  }
  policy::Decision d = r.target->evaluate(r.request);
  printf("%s\n", d.allow ? "ALLOW" : "DENY");
  printf("  request:  %s (port %u) to %s\n", describe(s).c_str(), r.request.port, r.label.c_str());
  printf("  decision: %s\n", policy::explain(d).c_str());
  std::string applying;
  for (const policy::PolicyRef* p : r.target->policies()) {
    if (!applying.empty()) applying += ", ";
    applying += p->label() + " (" + config::authzActionName(p->action) + (p->dryRun ? ", dry-run" : "") + ")";
  }
  printf("  policies: %s\n", applying.empty() ? "none apply" : applying.c_str());
  return d.allow ? kOk : kProblem;
}

// --- replay --------------------------------------------------------------------------------

// One JSON line as a RequestSpec. Keys: principal, namespace, workload, listener, method, path,
// host, port, headers ({name: value} or [[name, value]...]), source_ip (or sourceIp, source),
// remote_ip (or remoteIp), sni.
bool parseLine(std::string_view line, RequestSpec* s, std::string* why) {
  config::YamlReader reader(line);
  config::YamlNode root;
  std::vector<config::YamlProblem> problems;
  if (reader.next(&root, &problems) != config::YamlReader::Status::kDocument || !problems.empty() ||
      !root.isMapping()) {
    *why = problems.empty() ? "not a JSON object" : problems[0].message;
    return false;
  }
  for (const config::YamlNode::Entry& e : root.entries) {
    const std::string& k = e.key.value;
    const config::YamlNode& v = e.value;
    if (v.isNull()) continue;
    if (k == "headers") {
      if (v.isMapping()) {
        for (const auto& h : v.entries) {
          if (h.value.isSequence()) {
            for (const auto& item : h.value.items) s->headers.emplace_back(h.key.value, item.value);
          } else {
            s->headers.emplace_back(h.key.value, h.value.value);
          }
        }
      } else if (v.isSequence()) {
        for (const auto& item : v.items) {
          if (!item.isSequence() || item.items.size() != 2) {
            *why = "headers: expected [name, value] pairs";
            return false;
          }
          s->headers.emplace_back(item.items[0].value, item.items[1].value);
        }
      } else {
        *why = "headers: expected an object or a list of [name, value]";
        return false;
      }
      continue;
    }
    if (!v.isScalar()) {
      *why = k + ": expected a string";
      return false;
    }
    if (k == "principal") s->principal = v.value;
    else if (k == "namespace") s->ns = v.value;
    else if (k == "workload") s->workload = v.value;
    else if (k == "listener") s->listener = v.value;
    else if (k == "method") s->method = v.value;
    else if (k == "path") s->path = v.value;
    else if (k == "host") s->host = v.value;
    else if (k == "sni") s->sni = v.value;
    else if (k == "source_ip" || k == "sourceIp" || k == "source") s->sourceIp = v.value;
    else if (k == "remote_ip" || k == "remoteIp") s->remoteIp = v.value;
    else if (k == "port") {
      int64_t p = 0;
      uint64_t u = 0;
      if (v.toInt(&p)) {
      } else if (str::parseU64(v.value, &u) && u <= 65535) {
        p = static_cast<int64_t>(u);
      } else {
        p = -1;
      }
      if (p < 1 || p > 65535) {
        *why = "port: expected a port number 1..65535";
        return false;
      }
      s->port = static_cast<int>(p);
    }
    // Other keys (timestamps, status, ...) are what a recording holds besides: ignored.
  }
  return true;
}

// Replaces the AuthorizationPolicies of `base` with those of `policies`.
std::vector<config::Resource> withPolicies(const std::vector<config::Resource>& base,
                                           const std::vector<config::Resource>& policies) {
  std::vector<config::Resource> out;
  for (const config::Resource& r : base)
    if (r.kind != config::Kind::kAuthorizationPolicy) out.push_back(r);
  out.insert(out.end(), policies.begin(), policies.end());
  return out;
}

bool readPolicies(const std::string& dir, const std::string& flag,
                  std::vector<config::Resource>* out) {
  if (!decodeFiles({dir}, out)) return false;
  for (const config::Resource& r : *out) {
    if (r.kind == config::Kind::kAuthorizationPolicy) continue;
    error("authz replay: " + flag + " " + dir,
          std::string("holds a ") + config::kindName(r.kind) + " (" + r.meta.ns + "/" + r.meta.name +
              "): only AuthorizationPolicies belong there (other configuration: -f)");
    return false;
  }
  return true;
}

int replayCommand(const std::vector<std::string>& args) {
  Flags f("authz replay",
          {{"requests"}, {"policies"}, {"baseline-policies"}, {"file", 'f', true, true},
           {"data-dir"}, {"all", 0, false}},
          "usage: gatehouse authz replay --requests FILE --policies DIR\n"
          "         [--baseline-policies DIR] [-f PATH]... [--data-dir DIR] [--all]\n"
          "\n"
          "Evaluates recorded requests (JSON lines: principal, namespace, workload or listener,\n"
          "method, path, host, port, headers, source_ip, remote_ip, sni) twice: against the\n"
          "active policy set and against the draft AuthorizationPolicies of --policies, which\n"
          "replace them. Prints every request whose decision would change, with both decisions\n"
          "and the deciding policy and rule (--all: every request). The rest of the\n"
          "configuration is the active stored version, or the files of -f; the active policy\n"
          "set is that configuration's, or --baseline-policies. Exit 0 nothing changes, 1 some\n"
          "decision changes, 2 usage or a bad request line, 3 the configuration cannot be read\n"
          "or is not valid.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (!f.has("requests") || !f.has("policies")) {
    error("authz replay", "needs --requests FILE and --policies DIR (see --help)");
    return kUsage;
  }
  std::vector<config::Resource> base, draftPolicies;
  if (!loadConfig(f, &base)) return kUnavailable;
  if (!readPolicies(f.get("policies"), "--policies", &draftPolicies)) return kUnavailable;
  std::vector<config::Resource> before = base;
  if (f.has("baseline-policies")) {
    std::vector<config::Resource> basePolicies;
    if (!readPolicies(f.get("baseline-policies"), "--baseline-policies", &basePolicies))
      return kUnavailable;
    before = withPolicies(base, basePolicies);
  }
  std::vector<config::Resource> after = withPolicies(base, draftPolicies);
  if (!validated(before, "authz replay: the active policy set")) return kUnavailable;
  if (!validated(after, "authz replay: the draft policy set")) return kUnavailable;
  auto beforeIndex = compileIndex(before, "authz replay: the active policy set");
  auto afterIndex = compileIndex(after, "authz replay: the draft policy set");
  if (!beforeIndex || !afterIndex) return kUnavailable;

  std::ifstream in(f.get("requests"));
  if (!in) {
    error("authz replay: " + f.get("requests"), "cannot open");
    return kUnavailable;
  }
  std::string line;
  size_t lineNo = 0, total = 0, changed = 0;
  bool all = f.has("all");
  while (std::getline(in, line)) {
    ++lineNo;
    if (str::trimOws(line).empty()) continue;
    RequestSpec s;
    std::string why;
    Resolved a, b;
    bool parsed = parseLine(line, &s, &why);
    RequestSpec s2 = s;
    if (!parsed || !resolve(s, before, *beforeIndex, &a, &why) ||
        !resolve(s2, after, *afterIndex, &b, &why)) {
      error(f.get("requests") + ":" + std::to_string(lineNo), why);
      return kUsage;
    }
    ++total;
    policy::Decision da = a.target->evaluate(a.request);
    policy::Decision db = b.target->evaluate(b.request);
    bool differs = da.allow != db.allow;
    if (differs) ++changed;
    if (!differs && !all) continue;
    printf("%s:%zu: %s %s to %s\n", f.get("requests").c_str(), lineNo,
           differs ? (db.allow ? "now ALLOWED" : "now DENIED") : "unchanged",
           describe(s).c_str(), a.label.c_str());
    printf("    active: %s\n", policy::explain(da).c_str());
    printf("    draft:  %s\n", policy::explain(db).c_str());
  }
  printf("%zu request%s, %zu decision%s would change\n", total, total == 1 ? "" : "s", changed,
         changed == 1 ? "" : "s");
  return changed ? kProblem : kOk;
}

}  // namespace

int cmdAuthz(const std::vector<std::string>& args) {
  const char* usage =
      "usage: gatehouse authz explain ...   why a request is allowed or denied\n"
      "       gatehouse authz replay ...    which recorded requests a policy change affects\n"
      "\n"
      "Each takes --help.\n";
  if (args.empty()) {
    fputs(usage, stderr);
    return kUsage;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "explain") return explainCommand(rest);
  if (args[0] == "replay") return replayCommand(rest);
  if (args[0] == "--help" || args[0] == "-h") {
    fputs(usage, stdout);
    return kOk;
  }
  error("authz " + args[0], "unknown subcommand (explain or replay)");
  return kUsage;
}

}  // namespace gh::cli
