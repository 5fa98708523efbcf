#include "core/base/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>

namespace gh::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};
std::atomic<Format> g_format{Format::kText};
const char* const kNames[] = {"trace", "debug", "info", "warn", "error"};
}  // namespace

void setLevel(Level l) { g_level.store(l, std::memory_order_relaxed); }
void setFormat(Format f) { g_format.store(f, std::memory_order_relaxed); }
Level level() { return g_level.load(std::memory_order_relaxed); }

bool parseLevel(std::string_view text, Level* out) {
  for (int i = 0; i < 5; ++i) {
    if (text == kNames[i]) {
      *out = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

void write(Level l, const char* fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (static_cast<size_t>(n) >= sizeof msg) n = sizeof msg - 1;

  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  char when[96];
  snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", t.tm_year + 1900,
           t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000);

  char line[4096];
  int len;
  if (g_format.load(std::memory_order_relaxed) == Format::kJson) {
    // Escape the message for JSON: quotes, backslashes and control characters.
    char esc[sizeof msg * 2];
    size_t e = 0;
    for (int i = 0; i < n && e + 7 < sizeof esc; ++i) {
      unsigned char c = static_cast<unsigned char>(msg[i]);
      if (c == '"' || c == '\\') {
        esc[e++] = '\\';
        esc[e++] = static_cast<char>(c);
      } else if (c < 0x20) {
        e += snprintf(esc + e, sizeof esc - e, "\\u%04x", c);
      } else {
        esc[e++] = static_cast<char>(c);
      }
    }
    len = snprintf(line, sizeof line, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"%.*s\"}\n", when,
                   kNames[static_cast<int>(l)], static_cast<int>(e), esc);
  } else {
    len = snprintf(line, sizeof line, "%s %-5s %.*s\n", when, kNames[static_cast<int>(l)], n, msg);
  }
  if (len < 0) return;
  if (static_cast<size_t>(len) >= sizeof line) len = sizeof line - 1;
  ssize_t ignored = ::write(2, line, static_cast<size_t>(len));
  (void)ignored;
}

}  // namespace gh::log
