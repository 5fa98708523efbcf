#include "core/base/strings.h"

namespace gh::str {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

bool parseDuration(std::string_view s, uint64_t* millis) {
  if (s.empty()) return false;
  if (s == "0") {
    *millis = 0;
    return true;
  }
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    double v = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + (s[i] - '0');
      ++i;
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      double scale = 0.1;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        v += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
        digits = true;
      }
    }
    if (!digits || i == start) return false;
    size_t u = i;
    while (i < s.size() && ((s[i] >= 'a' && s[i] <= 'z'))) ++i;
    std::string_view unit = s.substr(u, i - u);
    double ms;
    if (unit == "h") ms = v * 3600e3;
    else if (unit == "m") ms = v * 60e3;
    else if (unit == "s") ms = v * 1e3;
    else if (unit == "ms") ms = v;
    else if (unit == "us") ms = v / 1e3;
    else if (unit == "ns") ms = v / 1e6;
    else return false;
    total += ms;
    if (total > 1e15) return false;
  }
  *millis = static_cast<uint64_t>(total + 0.5);
  return true;
}


}  // namespace gh::str
