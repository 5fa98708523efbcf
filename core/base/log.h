#pragma once
// Process-wide diagnostic log (not the access log). Thread-safe: each call formats into a
// local buffer and issues one write(2) to stderr, so lines from workers never interleave.
//
// Levels follow syslog order. The level and format are set once at start-up, before any worker
// thread exists, and only read afterwards.

#include <cstdarg>
#include <string_view>

namespace gh::log {

enum class Level { kTrace = 0, kDebug, kInfo, kWarn, kError };
enum class Format { kText, kJson };

void setLevel(Level level);
void setFormat(Format format);
bool parseLevel(std::string_view text, Level* out);
Level level();
inline bool enabled(Level l) { return l >= level(); }

void write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace gh::log

#define GH_LOG(lvl, ...)                                                  \
  do {                                                                    \
    if (::gh::log::enabled(::gh::log::Level::lvl)) ::gh::log::write(::gh::log::Level::lvl, __VA_ARGS__); \
  } while (0)
#define LOG_DEBUG(...) GH_LOG(kDebug, __VA_ARGS__)
#define LOG_INFO(...) GH_LOG(kInfo, __VA_ARGS__)
#define LOG_WARN(...) GH_LOG(kWarn, __VA_ARGS__)
#define LOG_ERROR(...) GH_LOG(kError, __VA_ARGS__)
