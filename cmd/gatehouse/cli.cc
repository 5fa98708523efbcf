#include "cmd/gatehouse/cli.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>

namespace gh::cli {

void error(std::string_view what, std::string_view why) {
  std::string line = "gatehouse: ";
  line.append(what);
  if (!why.empty()) {
    line.append(": ");
    line.append(why);
  }
  line.push_back('\n');
  fwrite(line.data(), 1, line.size(), stderr);
}

std::string osUser() {
  if (passwd* pw = getpwuid(geteuid())) return pw->pw_name;
  return "uid:" + std::to_string(geteuid());
}

const Flags::Spec* Flags::find(std::string_view longName, char shortName) const {
  for (const Spec& s : specs_) {
    if (!longName.empty() && s.longName == longName) return &s;
    if (shortName && s.shortName == shortName) return &s;
  }
  return nullptr;
}

bool Flags::parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      fputs(usage_.c_str(), stdout);
      help_ = true;
      return true;
    }
    if (a == "-" || a.empty() || a[0] != '-') {
      positional_.push_back(a);
      continue;
    }
    std::string name, value;
    bool inlineValue = false;
    const Spec* spec;
    if (a.rfind("--", 0) == 0) {
      name = a.substr(2);
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        inlineValue = true;
      }
      spec = find(name, 0);
    } else {
      if (a.size() != 2) {
        error(command_ + ": " + a, "unknown option (see --help)");
        return false;
      }
      spec = find({}, a[1]);
    }
    if (!spec) {
      error(command_ + ": " + a, "unknown option (see --help)");
      return false;
    }
    if (spec->takesValue && !inlineValue) {
      if (i + 1 >= args.size()) {
        error(command_ + ": " + a, "needs a value");
        return false;
      }
      value = args[++i];
    } else if (!spec->takesValue && inlineValue) {
      error(command_ + ": --" + spec->longName, "takes no value");
      return false;
    }
    if (!spec->repeatable && has(spec->longName)) {
      error(command_ + ": --" + spec->longName, "given twice");
      return false;
    }
    values_.emplace_back(spec->longName, value);
  }
  return true;
}

bool Flags::has(std::string_view name) const {
  for (auto& [n, v] : values_)
    if (n == name) return true;
  return false;
}

std::string Flags::get(std::string_view name, std::string def) const {
  for (auto& [n, v] : values_)
    if (n == name) return v;
  return def;
}

std::vector<std::string> Flags::all(std::string_view name) const {
  std::vector<std::string> out;
  for (auto& [n, v] : values_)
    if (n == name) out.push_back(v);
  return out;
}

}  // namespace gh::cli
