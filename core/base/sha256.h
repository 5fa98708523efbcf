#pragma once
// Sha256: the SHA-256 hash of FIPS 180-4, for content addressing (configuration blobs and
// version hashes), not for secrets.
//
// Why a hash of our own when BoringSSL is linked: the house keeps <openssl/*> behind core/tls
// and core/identity, and the store (or anything else that names content by its hash) should not
// grow a dependency on the TLS stack for forty lines of arithmetic. Nothing here is
// constant-time and nothing needs to be: the inputs are configuration documents the caller
// already holds. Keys, MACs and signatures belong to BoringSSL.
//
// Use: either one call, Sha256::hex(bytes), or incrementally, update() any number of times and
// then digest() once; the result does not depend on how the input was split. A Sha256 is plain
// state (no allocation), cheap to create, and not shared between threads.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gh {

class Sha256 {
 public:
  static constexpr size_t kDigestBytes = 32;
  using Digest = std::array<uint8_t, kDigestBytes>;

  Sha256();

  void update(const void* data, size_t len);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }

  // Pads, finishes and returns the digest. The object is spent afterwards: a further update()
  // or digest() is a programming error (asserted).
  Digest digest();

  // The 64 lowercase hex digits of the hash of `bytes`.
  static std::string hex(std::string_view bytes);
  static std::string toHex(const Digest& digest);

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;  // the incomplete tail of the input; bufferLen_ bytes of it
  size_t bufferLen_ = 0;
  uint64_t totalLen_ = 0;  // bytes hashed so far; the padding records it in bits
  bool finished_ = false;
};

}  // namespace gh
