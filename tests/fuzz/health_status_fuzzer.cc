// Fuzzes healthStatusLine (the verdict of an active health check on what an endpoint sent).
//
// Checked: a pass is exactly "HTTP/1.<d> 2<d><d>" then end, space or CR on the first line;
// "need more" only without a newline and within the line limit; and feeding more bytes after
// a complete first line never changes the verdict.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/upstream/health_status.h"
#include "tests/fuzz/fuzz_support.h"

using gh::upstream::healthStatusLine;
using gh::upstream::kMaxHealthStatusLine;
using gh::upstream::StatusLineVerdict;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  StatusLineVerdict v = healthStatusLine(in);
  size_t eol = in.find('\n');
  if (v == StatusLineVerdict::kNeedMore)
    FUZZ_CHECK(eol == std::string_view::npos && in.size() <= kMaxHealthStatusLine);
  if (v == StatusLineVerdict::kPass) {
    FUZZ_CHECK(eol != std::string_view::npos && eol >= 12);
    FUZZ_CHECK(in.substr(0, 7) == "HTTP/1." && in[8] == ' ' && in[9] == '2');
    FUZZ_CHECK(in[10] >= '0' && in[10] <= '9' && in[11] >= '0' && in[11] <= '9');
  }
  if (eol != std::string_view::npos) {
    std::string more(in);
    more += "HTTP/1.1 200 OK\r\n";
    FUZZ_CHECK(healthStatusLine(more) == v);
  }
  return 0;
}
