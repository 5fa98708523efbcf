#pragma once
// TicketKeys: the keys that encrypt TLS session tickets, shared by every worker and every
// snapshot's ServerContext so a client resumes on whichever worker accepts it, across reloads.
//
// There is a current key (encrypts new tickets) and the previous one (still decrypts, and the
// ticket is then renewed under the current key). Keys are random, never derived from one
// another, and live only in memory: a restart invalidates all tickets, and a key gone from
// memory cannot be recomputed, which keeps tickets forward secret beyond two periods.
//
// Rotation is lazy: each use compares the clock's period number with the one the current key
// belongs to and rotates when it moved on (twice or more: both keys are replaced). No timer
// and no owner thread are needed, and an idle server rotates on its next handshake.
//
// Thread-safe. A mutex guards the two keys; it is taken only when a ticket is issued or
// presented, inside a handshake that costs thousands of times more, never per request.

#include <cstdint>
#include <mutex>

namespace gh::tls {

class TicketKeys {
 public:
  static constexpr uint64_t kDefaultRotateSeconds = 12 * 3600;

  struct Key {
    uint8_t name[16];     // sent in clear at the start of the ticket: selects the key
    uint8_t hmacKey[32];  // HMAC-SHA256
    uint8_t aesKey[32];   // AES-256-CBC
  };

  // `clock` returns seconds (the wall clock by default); tests pass their own.
  explicit TicketKeys(uint64_t rotateSeconds = kDefaultRotateSeconds,
                      uint64_t (*clock)() = nullptr);

  // The one instance every ServerContext of this process uses unless told otherwise.
  static TicketKeys& process();

  // The key for a new ticket.
  Key current();
  // The key named `name`, when it is the current or the previous one. *renew is set when it
  // is the previous one (the client should get a fresh ticket).
  bool find(const uint8_t name[16], Key* out, bool* renew);

  uint64_t rotateSeconds() const { return rotateSeconds_; }

 private:
  void refreshLocked();

  const uint64_t rotateSeconds_;
  uint64_t (*clock_)();
  std::mutex mu_;
  uint64_t period_ = 0;  // the clock period current_ belongs to
  bool hasCurrent_ = false;
  Key current_{};
  Key previous_{};
  bool hasPrevious_ = false;
};

}  // namespace gh::tls
