// gatehouse validate: static checks for CI; needs no data dir and no server.
//
// Contract (spec/cli.md, docs/cli.md, docs/policy-as-code.md): decodes and validates every
// resource as `apply` would, runs the built-in policy lint and, with --baseline, the rules of
// a baseline file over the resources that decoded. Problems (the configuration is not
// acceptable) and findings (it is acceptable but breaks a rule) are one line each on stderr,
// or one JSON object on stdout with --format json. Exit 0: no problem and no error-level
// finding (warnings and info do not fail); 1: some; 2: usage error or a baseline file that is
// unreadable or wrong (its own problems are listed with file:line:column).
//
// `validate --stored [--data-dir D]` checks the active stored version instead, the way
// `gatehouse run` loads it at start (server::Server::reload): decode each stored resource
// (origin "version N:Kind/ns/name"), validate the set, compile it with this node's workload
// identity from DATA_DIR/identity/ (read as server::MeshNode reads it). It is the systemd
// unit's ExecStartPre: exit 0 when the version would start, or when there is no stored
// configuration yet (first start: `run` writes the embedded default); 1 when it would not;
// 3 when the store cannot be opened. It writes nothing: on the node that holds the mesh CA
// and has no identity yet, `run` would issue one, so the output says the identity and the
// compile are not checked there. Listen ports are not bound (`run` may still fail on a port
// in use), and the policy lint is not run (it never stops a start).

#include "core/config/validate.h"

#include <cstdio>
#include <set>
#include <tuple>

#include "cmd/gatehouse/cli.h"
#include "cmd/gatehouse/config_files.h"
#include "core/change/change.h"
#include "core/config/baseline.h"
#include "core/config/baseline_document.h"
#include "core/config/baseline_rules.h"
#include "core/config/decode.h"
#include "core/config/snapshot.h"
#include "core/identity/ca.h"
#include "core/identity/workload.h"
#include "core/server/mesh_node.h"
#include "core/server/server.h"

namespace gh::cli {
namespace {

std::string jsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string jsonLoc(const config::SourceLoc& loc) {
  return "\"file\":" + jsonString(loc.file) + ",\"line\":" + std::to_string(loc.line) +
         ",\"column\":" + std::to_string(loc.column);
}

std::string jsonProblems(const std::vector<config::Diagnostic>& diags) {
  std::string out = "[";
  for (size_t i = 0; i < diags.size(); ++i) {
    if (i) out += ',';
    out += "{" + jsonLoc(diags[i].loc) + ",\"message\":" + jsonString(diags[i].message) + "}";
  }
  return out + "]";
}

std::string jsonFindings(const std::vector<config::Finding>& findings) {
  std::string out = "[";
  for (size_t i = 0; i < findings.size(); ++i) {
    const config::Finding& f = findings[i];
    if (i) out += ',';
    out += "{\"severity\":" + jsonString(config::severityName(f.severity)) +
           ",\"rule\":" + jsonString(f.rule) + ",\"kind\":" + jsonString(f.kind) +
           ",\"namespace\":" + jsonString(f.ns) + ",\"name\":" + jsonString(f.name) +
           ",\"path\":" + jsonString(f.path) + "," + jsonLoc(f.loc) +
           ",\"message\":" + jsonString(f.message) + "}";
  }
  return out + "]";
}

void printJson(bool valid, size_t resources, const std::vector<config::Finding>& findings,
               const std::vector<config::Diagnostic>& problems) {
  std::string out = "{\"valid\":";
  out += valid ? "true" : "false";
  out += ",\"resources\":" + std::to_string(resources);
  out += ",\"findings\":" + jsonFindings(findings);
  out += ",\"problems\":" + jsonProblems(problems) + "}\n";
  fputs(out.c_str(), stdout);
}

// "3 resources", "3 resources (1 warning, 2 info)".
std::string summary(size_t resources, const std::vector<config::Finding>& findings) {
  size_t warnings = 0, infos = 0;
  for (const config::Finding& f : findings) {
    if (f.severity == config::Severity::kWarning) ++warnings;
    if (f.severity == config::Severity::kInfo) ++infos;
  }
  std::string out = std::to_string(resources) + (resources == 1 ? " resource" : " resources");
  std::string notes;
  if (warnings) notes += std::to_string(warnings) + (warnings == 1 ? " warning" : " warnings");
  if (infos) notes += (notes.empty() ? "" : ", ") + std::to_string(infos) + " info";
  return notes.empty() ? out : out + " (" + notes + ")";
}

// validate --stored: see the contract at the top of the file.
int validateStored(const std::string& dataDirFlag, const std::string& format) {
  std::string dataDir = server::resolveDataDir(dataDirFlag);
  auto report = [&](bool valid, size_t resources, const std::vector<config::Diagnostic>& diags,
                    const std::string& text) {
    if (format == "json") {
      printJson(valid, resources, {}, diags);
    } else {
      for (const config::Diagnostic& d : diags) error(d.format());
      if (!text.empty()) printf("%s\n", text.c_str());
    }
    return valid ? kOk : kProblem;
  };
  if (!storeExists(dataDirFlag))
    return report(true, 0, {}, "valid: no stored configuration in " + dataDir +
                                   " yet (first start: `gatehouse run` writes the embedded "
                                   "default)");
  auto store = openStore(dataDirFlag, false);
  if (!store) return kUnavailable;
  auto active = store->activeVersion();
  if (!active.ok()) {
    error(active.status().message());
    return kUnavailable;
  }
  if (active.value() == 0)
    return report(true, 0, {}, "valid: no stored version in " + dataDir + " yet (first start)");
  int64_t version = active.value();
  std::string origin = "version " + std::to_string(version);
  auto stored = store->loadVersion(version);
  if (!stored.ok()) {
    error(origin, stored.status().message());
    return kUnavailable;
  }

  // The sequence of Server::reload: decode every stored resource, validate the whole set.
  std::vector<config::Resource> resources;
  std::vector<config::Diagnostic> diags;
  change::decodeStored(version, stored.value(), &resources, &diags);
  if (diags.empty()) config::validate(resources, &diags);
  if (!diags.empty()) return report(false, 0, diags, "");
  size_t count = resources.size();

  // This node's identity, as `run` has it at start (MeshNode: DATA_DIR/identity/ if present;
  // a copy that does not load leaves the node without one).
  std::string idDir = dataDir + "/identity";
  std::shared_ptr<const config::NodeIdentity> id;
  std::string idProblem;
  if (identity::WorkloadIdentity::existsIn(idDir)) {
    auto loaded = server::loadNodeIdentity(idDir);
    if (loaded.ok())
      id = loaded.value();
    else
      idProblem = "workload identity in " + idDir + ": " + loaded.status().message();
  }
  std::string note;
  if (!id && config::needsIdentity(resources)) {
    if (identity::CertificateAuthority::existsIn(dataDir + "/ca")) {
      // MeshNode::prepare issues the CA node's identity from the local CA at start; validate
      // writes nothing, so it cannot compile what needs that identity.
      return report(true, count, {},
                    "valid: " + origin + " decodes and validates (" + std::to_string(count) +
                        " resources); identity and compile not checked: this node holds the "
                        "mesh CA and `gatehouse run` issues its workload identity at start");
    }
  }
  auto snap = config::compile(version, std::move(resources), id.get());
  if (!snap.ok()) {
    // "version N: why", and first why the node has no identity when its copy did not load.
    std::vector<config::Diagnostic> problems;
    if (!idProblem.empty()) problems.push_back({config::SourceLoc{origin, 0, 0}, idProblem});
    problems.push_back({config::SourceLoc{origin, 0, 0}, snap.status().message()});
    if (format == "json") return report(false, count, problems, "");
    for (const config::Diagnostic& d : problems) error(d.loc.file, d.message);
    return kProblem;
  }
  if (!idProblem.empty()) note = " (" + idProblem + ": not needed by this configuration)";
  std::string idText = id ? "; identity " + id->spiffeId : "";
  return report(true, count, {},
                "valid: " + origin + " (" + std::to_string(count) + " resources) decodes, " +
                    "validates and compiles as `gatehouse run` would start it" + idText + note);
}

}  // namespace

int cmdValidate(const std::vector<std::string>& args) {
  Flags f("validate",
          {{"file", 'f', true, true},
           {"format"},
           {"baseline"},
           {"stored", 0, false},
           {"data-dir"}},
          "usage: gatehouse validate -f PATH [-f PATH]... [--baseline FILE] [--format text|json]\n"
          "       gatehouse validate --stored [--data-dir DIR] [--format text|json]\n"
          "\n"
          "Checks resource files as `apply` would — schema, unknown fields, references between\n"
          "resources, listener conflicts, RE2 regexes — then the built-in policy lint and, with\n"
          "--baseline, the compliance rules of FILE (see docs/policy-as-code.md). Every problem\n"
          "and finding is printed with file:line:column; --format json prints one JSON object.\n"
          "Exit 0 when valid (warnings allowed), 1 on a problem or an error-level finding, 2 on\n"
          "a usage error or a bad baseline file. Needs no data dir and no server.\n"
          "\n"
          "--stored checks the active stored version of DIR instead, as `gatehouse run` loads\n"
          "it at start: decode, validate, compile with this node's workload identity. Exit 0\n"
          "when it would start (or DIR has no configuration yet), 1 when not, 3 when the store\n"
          "cannot be opened. Writes nothing; for the systemd unit's ExecStartPre.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  std::vector<std::string> files = f.all("file");
  for (const std::string& p : f.positional()) files.push_back(p);
  std::string format = f.get("format", "text");
  if (format != "text" && format != "json") {
    error("validate: --format " + format, "expected text or json");
    return kUsage;
  }
  if (f.has("stored")) {
    if (!files.empty() || f.has("baseline")) {
      error("validate --stored", "checks the stored version: -f and --baseline are for files");
      return kUsage;
    }
    return validateStored(f.get("data-dir"), format);
  }
  if (f.has("data-dir")) {
    error("validate: --data-dir", "only with --stored (files need no data dir)");
    return kUsage;
  }
  if (files.empty()) {
    error("validate", "needs -f PATH or --stored (see --help)");
    return kUsage;
  }

  // The baseline first: a broken rule file is the caller's mistake, and checking resources
  // against half a baseline would report a pass that means nothing.
  config::Baseline baseline;
  bool haveBaseline = f.has("baseline");
  if (haveBaseline) {
    std::vector<config::Diagnostic> problems;
    if (!config::loadBaseline(f.get("baseline"), &baseline, &problems)) {
      if (format == "json") {
        printJson(false, 0, {}, problems);
      } else {
        for (const config::Diagnostic& d : problems) error(d.format());
      }
      return kUsage;
    }
  }

  // Each file is read once, then decoded and kept as positioned trees for the policy checks.
  std::vector<config::ConfigSource> sources;
  std::vector<config::Diagnostic> diags;
  bool ok = config::readConfigSources(files, &sources, &diags);
  std::vector<config::Resource> resources;
  std::vector<config::ConfigDocument> documents;
  for (const config::ConfigSource& s : sources) {
    ok &= config::decodeText(s.text, s.file, &resources, &diags);
    config::documentsFromText(s.text, s.file, &documents);
  }
  // Policies are checked on what decoded: a document the decoder refused has its problems
  // reported already, and a rule about it could only repeat or contradict them.
  std::set<std::tuple<std::string, int, int>> decoded;
  for (const config::Resource& r : resources) decoded.emplace(r.loc.file, r.loc.line, r.loc.column);
  std::vector<config::ConfigDocument> checked;
  for (config::ConfigDocument& d : documents)
    if (decoded.count({d.loc.file, d.loc.line, d.loc.column})) checked.push_back(std::move(d));

  if (ok) ok = config::validate(resources, &diags);
  ok = ok && diags.empty();
  std::vector<config::Finding> findings =
      config::checkPolicies(checked, haveBaseline ? &baseline : nullptr);
  bool valid = ok && !config::hasErrors(findings);

  if (format == "json") {
    printJson(valid, ok ? resources.size() : 0, findings, diags);
  } else {
    for (const config::Diagnostic& d : diags) error(d.format());
    for (const config::Finding& x : findings) error(x.format());
    if (valid) printf("valid: %s\n", summary(resources.size(), findings).c_str());
  }
  return valid ? kOk : kProblem;
}

}  // namespace gh::cli
