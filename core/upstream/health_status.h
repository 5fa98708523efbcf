#pragma once
// The verdict of an active health check on the first bytes an endpoint answered: only the
// status line matters (a 2xx passes). Pure, no allocation; fuzzed (tests/fuzz).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gh::upstream {

enum class StatusLineVerdict : uint8_t {
  kNeedMore,  // no complete line yet (and not over kMaxHealthStatusLine)
  kPass,      // "HTTP/1.x 2xx ..."
  kFail,      // any other status, or not a status line
};
inline constexpr size_t kMaxHealthStatusLine = 1024;

StatusLineVerdict healthStatusLine(std::string_view received);

}  // namespace gh::upstream
