// gatehouse validate: static checks for CI; needs no data dir and no server.

#include <cstdio>

#include "cmd/gatehouse/cli.h"
#include "core/config/decode.h"
#include "core/config/validate.h"

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

}  // namespace

int cmdValidate(const std::vector<std::string>& args) {
  Flags f("validate", {{"file", 'f', true, true}, {"format"}, {"baseline"}},
          "usage: gatehouse validate -f PATH [-f PATH]... [--format text|json]\n"
          "\n"
          "Checks resource files as `apply` would — schema, unknown fields, references between\n"
          "resources, listener conflicts, RE2 regexes — and prints every problem with\n"
          "file:line:column. Exit 0 when valid, 1 when not. Needs no data dir and no server.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  std::vector<std::string> files = f.all("file");
  for (const std::string& p : f.positional()) files.push_back(p);
  if (files.empty()) {
    error("validate", "needs -f PATH (see --help)");
    return kUsage;
  }
  if (f.has("baseline")) {
    error("validate: --baseline", "compliance baselines are not supported yet");
    return kUsage;
  }
  std::string format = f.get("format", "text");
  if (format != "text" && format != "json") {
    error("validate: --format " + format, "expected text or json");
    return kUsage;
  }
  std::vector<config::Resource> resources;
  std::vector<config::Diagnostic> diags;
  bool ok = config::decodePaths(files, &resources, &diags);
  if (ok) ok = config::validate(resources, &diags);
  ok = ok && diags.empty();
  if (format == "json") {
    std::string out = "{\"valid\":";
    out += ok ? "true" : "false";
    out += ",\"resources\":" + std::to_string(ok ? resources.size() : 0) + ",\"problems\":[";
    for (size_t i = 0; i < diags.size(); ++i) {
      const config::Diagnostic& d = diags[i];
      if (i) out += ',';
      out += "{\"file\":" + jsonString(d.loc.file) + ",\"line\":" + std::to_string(d.loc.line) +
             ",\"column\":" + std::to_string(d.loc.column) +
             ",\"message\":" + jsonString(d.message) + "}";
    }
    out += "]}\n";
    fputs(out.c_str(), stdout);
  } else {
    for (const config::Diagnostic& d : diags) error(d.format());
    if (ok) printf("valid: %zu resources\n", resources.size());
  }
  return ok ? kOk : kProblem;
}

}  // namespace gh::cli
