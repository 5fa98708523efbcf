// gatehouse validate: static checks for CI; needs no data dir and no server.
//
// Contract (spec/cli.md, docs/cli.md, docs/policy-as-code.md): decodes and validates every
// resource as `apply` would, runs the built-in policy lint and, with --baseline, the rules of
// a baseline file over the resources that decoded. Problems (the configuration is not
// acceptable) and findings (it is acceptable but breaks a rule) are one line each on stderr,
// or one JSON object on stdout with --format json. Exit 0: no problem and no error-level
// finding (warnings and info do not fail); 1: some; 2: usage error or a baseline file that is
// unreadable or wrong (its own problems are listed with file:line:column).

#include "core/config/validate.h"

#include <cstdio>
#include <set>
#include <tuple>

#include "cmd/gatehouse/cli.h"
#include "core/config/baseline.h"
#include "core/config/baseline_document.h"
#include "core/config/baseline_rules.h"
#include "core/config/decode.h"

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

}  // namespace

int cmdValidate(const std::vector<std::string>& args) {
  Flags f("validate", {{"file", 'f', true, true}, {"format"}, {"baseline"}},
          "usage: gatehouse validate -f PATH [-f PATH]... [--baseline FILE] [--format text|json]\n"
          "\n"
          "Checks resource files as `apply` would — schema, unknown fields, references between\n"
          "resources, listener conflicts, RE2 regexes — then the built-in policy lint and, with\n"
          "--baseline, the compliance rules of FILE (see docs/policy-as-code.md). Every problem\n"
          "and finding is printed with file:line:column; --format json prints one JSON object.\n"
          "Exit 0 when valid (warnings allowed), 1 on a problem or an error-level finding, 2 on\n"
          "a usage error or a bad baseline file. Needs no data dir and no server.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  std::vector<std::string> files = f.all("file");
  for (const std::string& p : f.positional()) files.push_back(p);
  if (files.empty()) {
    error("validate", "needs -f PATH (see --help)");
    return kUsage;
  }
  std::string format = f.get("format", "text");
  if (format != "text" && format != "json") {
    error("validate: --format " + format, "expected text or json");
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
