#include "core/tls/ticket_keys.h"

#include <openssl/rand.h>

#include <ctime>

namespace gh::tls {

namespace {

uint64_t wallSeconds() {
  return static_cast<uint64_t>(::time(nullptr));
}

void fresh(TicketKeys::Key* k) {
  RAND_bytes(reinterpret_cast<uint8_t*>(k), sizeof *k);
}

bool sameName(const uint8_t* a, const uint8_t* b) {
  uint8_t diff = 0;
  for (int i = 0; i < 16; ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

}  // namespace

TicketKeys::TicketKeys(uint64_t rotateSeconds, uint64_t (*clock)())
    : rotateSeconds_(rotateSeconds ? rotateSeconds : kDefaultRotateSeconds),
      clock_(clock ? clock : &wallSeconds) {}

TicketKeys& TicketKeys::process() {
  static TicketKeys keys;
  return keys;
}

void TicketKeys::refreshLocked() {
  uint64_t period = clock_() / rotateSeconds_;
  if (hasCurrent_ && period == period_) return;
  if (hasCurrent_ && period == period_ + 1) {
    previous_ = current_;
    hasPrevious_ = true;
  } else {
    // First use, a clock that went back, or a gap of two periods or more: nothing issued
    // under the old keys may still be accepted.
    hasPrevious_ = false;
  }
  fresh(&current_);
  hasCurrent_ = true;
  period_ = period;
}

TicketKeys::Key TicketKeys::current() {
  std::lock_guard<std::mutex> lock(mu_);
  refreshLocked();
  return current_;
}

bool TicketKeys::find(const uint8_t name[16], Key* out, bool* renew) {
  std::lock_guard<std::mutex> lock(mu_);
  refreshLocked();
  if (sameName(name, current_.name)) {
    *out = current_;
    *renew = false;
    return true;
  }
  if (hasPrevious_ && sameName(name, previous_.name)) {
    *out = previous_;
    *renew = true;
    return true;
  }
  return false;
}

}  // namespace gh::tls
