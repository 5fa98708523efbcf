// SHA-256 as FIPS 180-4 section 6.2 describes it, written for clarity first: one 64-byte block
// is compressed at a time, words are read big-endian one byte at a time (so there is no
// alignment or byte-order assumption about the host), and the message schedule is expanded in
// full before the 64 rounds. A straightforward loop like this hashes over a hundred megabytes a
// second at -O2, which is far more than configuration traffic needs.
//
// The tail of the input that does not fill a block waits in buffer_. digest() appends the
// padding of section 5.1.1 (a one bit, zeros, and the message length in bits as a 64-bit
// big-endian number, so that the padded length is a multiple of 512 bits) and compresses the
// last one or two blocks.

#include "core/base/sha256.h"

#include <cassert>
#include <cstring>

namespace gh {
namespace {

// Section 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64
// primes.
constexpr uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// Section 5.3.3: the first 32 bits of the fractional parts of the square roots of the first 8
// primes.
constexpr std::array<uint32_t, 8> kInitialState = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

constexpr uint32_t rotr(uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

uint32_t loadBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void storeBigEndian32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace

Sha256::Sha256() : state_(kInitialState) {}

void Sha256::compress(const uint8_t* block) {
  uint32_t w[64];
  for (int t = 0; t < 16; ++t) w[t] = loadBigEndian32(block + 4 * t);
  for (int t = 16; t < 64; ++t) {
    uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }

  uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
  for (int t = 0; t < 64; ++t) {
    uint32_t sum1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    uint32_t choose = (e & f) ^ (~e & g);
    uint32_t t1 = h + sum1 + choose + kRoundConstants[t] + w[t];
    uint32_t sum0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
    uint32_t t2 = sum0 + majority;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
  state_[4] += e;
  state_[5] += f;
  state_[6] += g;
  state_[7] += h;
}

void Sha256::update(const void* data, size_t len) {
  assert(!finished_ && "Sha256 used after digest()");
  const auto* p = static_cast<const uint8_t*>(data);
  totalLen_ += len;

  if (bufferLen_ > 0) {
    size_t take = std::min(len, buffer_.size() - bufferLen_);
    std::memcpy(buffer_.data() + bufferLen_, p, take);
    bufferLen_ += take;
    p += take;
    len -= take;
    if (bufferLen_ < buffer_.size()) return;
    compress(buffer_.data());
    bufferLen_ = 0;
  }
  // Whole blocks are compressed straight from the caller's memory, without a copy.
  for (; len >= buffer_.size(); p += buffer_.size(), len -= buffer_.size()) compress(p);
  if (len > 0) {
    std::memcpy(buffer_.data(), p, len);
    bufferLen_ = len;
  }
}

Sha256::Digest Sha256::digest() {
  assert(!finished_ && "Sha256::digest() called twice");
  uint64_t bitLen = totalLen_ * 8;

  buffer_[bufferLen_++] = 0x80;
  // The length takes the last 8 bytes of a block; when they are not free, pad out this block
  // and put the length in one more.
  if (bufferLen_ > buffer_.size() - 8) {
    std::memset(buffer_.data() + bufferLen_, 0, buffer_.size() - bufferLen_);
    compress(buffer_.data());
    bufferLen_ = 0;
  }
  std::memset(buffer_.data() + bufferLen_, 0, buffer_.size() - 8 - bufferLen_);
  for (int i = 0; i < 8; ++i) buffer_[56 + i] = static_cast<uint8_t>(bitLen >> (56 - 8 * i));
  compress(buffer_.data());
  finished_ = true;

  Digest out;
  for (size_t i = 0; i < state_.size(); ++i) storeBigEndian32(out.data() + 4 * i, state_[i]);
  return out;
}

std::string Sha256::toHex(const Digest& digest) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string out(2 * digest.size(), '\0');
  for (size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kHexDigits[digest[i] >> 4];
    out[2 * i + 1] = kHexDigits[digest[i] & 0x0f];
  }
  return out;
}

std::string Sha256::hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return toHex(h.digest());
}

}  // namespace gh
