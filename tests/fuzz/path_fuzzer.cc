// Fuzzes normalizePath and splitTarget.
//
// normalizePath is checked against a reference written the obvious way (split into segments,
// decode each, then a stack for "." and ".."), and for the invariants routing relies on: the
// output starts with '/', holds no "." or ".." segment, has no lower-case or needless
// percent-encoding, is never longer than the input, and is a fixed point (normalising it again
// changes nothing). Both slash-merging modes run on every input, as given and with a '/' in
// front (so most inputs are paths).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/http/parser.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using gh::http::normalizePath;

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isUnreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool referenceNormalize(std::string_view path, bool mergeSlashes, std::string* out) {
  if (path.empty() || path[0] != '/') return false;
  std::string p;
  for (char c : path) {
    if (mergeSlashes && c == '/' && !p.empty() && p.back() == '/') continue;
    p.push_back(c);
  }
  std::vector<std::string> segments;
  std::string current;
  auto finish = [&] {
    segments.push_back(current);
    current.clear();
  };
  for (size_t i = 1; i < p.size(); ++i) {
    if (p[i] == '/') {
      finish();
    } else if (p[i] == '%') {
      if (i + 2 >= p.size()) return false;
      const int h1 = hexDigit(p[i + 1]);
      const int h2 = hexDigit(p[i + 2]);
      if (h1 < 0 || h2 < 0) return false;
      const auto decoded = static_cast<unsigned char>(h1 * 16 + h2);
      if (isUnreserved(decoded)) {
        current.push_back(static_cast<char>(decoded));
      } else {
        static constexpr char kHex[] = "0123456789ABCDEF";
        current.push_back('%');
        current.push_back(kHex[h1]);
        current.push_back(kHex[h2]);
      }
      i += 2;
    } else {
      current.push_back(p[i]);
    }
  }
  finish();
  std::vector<std::string> stack;
  bool trailingSlash = false;
  for (size_t i = 0; i < segments.size(); ++i) {
    const bool last = i + 1 == segments.size();
    if (segments[i] == ".") {
      trailingSlash = last;
    } else if (segments[i] == "..") {
      if (stack.empty()) return false;
      stack.pop_back();
      trailingSlash = last;
    } else {
      stack.push_back(segments[i]);
      trailingSlash = false;
    }
  }
  *out = "/";
  for (size_t i = 0; i < stack.size(); ++i) {
    if (i > 0) out->push_back('/');
    out->append(stack[i]);
  }
  if (trailingSlash && !stack.empty()) out->push_back('/');
  return true;
}

void checkNormalized(std::string_view input, bool mergeSlashes) {
  std::string out;
  std::string expected;
  const bool ok = normalizePath(input, mergeSlashes, &out);
  const bool expectedOk = referenceNormalize(input, mergeSlashes, &expected);
  FUZZ_CHECK(ok == expectedOk);
  if (!ok) {
    FUZZ_CHECK(out.empty());
    return;
  }
  FUZZ_CHECK(out == expected);
  FUZZ_CHECK(!out.empty() && out[0] == '/');
  FUZZ_CHECK(out.size() <= input.size());
  const std::string_view o = out;
  FUZZ_CHECK(o.find("/./") == std::string_view::npos);
  FUZZ_CHECK(o.find("/../") == std::string_view::npos);
  FUZZ_CHECK(!(o.size() >= 2 && o.substr(o.size() - 2) == "/."));
  FUZZ_CHECK(!(o.size() >= 3 && o.substr(o.size() - 3) == "/.."));
  if (mergeSlashes) FUZZ_CHECK(o.find("//") == std::string_view::npos);
  for (size_t i = 0; i < o.size(); ++i) {
    if (o[i] != '%') continue;
    FUZZ_CHECK(i + 2 < o.size());
    const int h1 = hexDigit(o[i + 1]);
    const int h2 = hexDigit(o[i + 2]);
    FUZZ_CHECK(h1 >= 0 && h2 >= 0);
    FUZZ_CHECK(!(o[i + 1] >= 'a' && o[i + 1] <= 'f') && !(o[i + 2] >= 'a' && o[i + 2] <= 'f'));
    FUZZ_CHECK(!isUnreserved(static_cast<unsigned char>(h1 * 16 + h2)));
  }
  std::string again = "stale";
  FUZZ_CHECK(normalizePath(out, mergeSlashes, &again));
  FUZZ_CHECK(again == out);
}

void checkSplit(std::string_view target) {
  gh::http::TargetParts parts;
  if (!gh::http::splitTarget(target, &parts)) return;
  FUZZ_CHECK(!parts.path.empty());
  FUZZ_CHECK(parts.path[0] == '/' || parts.path == "*");
  FUZZ_CHECK(parts.path.find('?') == std::string_view::npos);
  FUZZ_CHECK(target.find('#') == std::string_view::npos);
  if (parts.absoluteForm) {
    FUZZ_CHECK(!parts.authority.empty());
    FUZZ_CHECK(parts.authority.find_first_of("/?#") == std::string_view::npos);
  } else {
    FUZZ_CHECK(parts.authority.empty());
    // Origin-form: path and query put back together are the target.
    if (target != "*") {
      std::string joined(parts.path);
      if (target.size() > parts.path.size()) joined.append("?").append(parts.query);
      FUZZ_CHECK(joined == target);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string rooted = "/" + std::string(input);
  for (bool merge : {false, true}) {
    checkNormalized(input, merge);
    checkNormalized(rooted, merge);
  }
  checkSplit(input);
  return 0;
}
