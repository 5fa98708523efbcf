#include "core/upstream/health_status.h"

namespace gh::upstream {

StatusLineVerdict healthStatusLine(std::string_view in) {
  size_t eol = in.find('\n');
  if (eol == std::string_view::npos)
    return in.size() > kMaxHealthStatusLine ? StatusLineVerdict::kFail
                                            : StatusLineVerdict::kNeedMore;
  std::string_view line = in.substr(0, eol);
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ')
    return StatusLineVerdict::kFail;
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return StatusLineVerdict::kFail;
    status = status * 10 + (line[i] - '0');
  }
  if (line.size() > 12 && line[12] != ' ' && line[12] != '\r') return StatusLineVerdict::kFail;
  return status >= 200 && status <= 299 ? StatusLineVerdict::kPass : StatusLineVerdict::kFail;
}

}  // namespace gh::upstream
