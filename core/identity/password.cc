#include "core/identity/password.h"

#include <openssl/evp.h>

#include <cstdint>
#include <string>

#include "core/base/strings.h"
#include "core/identity/encoding.h"

namespace gh::identity {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kKeyBytes = 32;
// EVP_PBE_scrypt refuses to use more than max_mem; 128 * N * r * p bytes is what it needs.
constexpr uint64_t kMaxMemory = 256ull << 20;

bool derive(std::string_view password, std::string_view salt, const ScryptParams& params,
            std::string* out) {
  out->assign(kKeyBytes, '\0');
  return EVP_PBE_scrypt(password.data(), password.size(),
                        reinterpret_cast<const uint8_t*>(salt.data()), salt.size(),
                        uint64_t{1} << params.log2N, static_cast<uint64_t>(params.r),
                        static_cast<uint64_t>(params.p), kMaxMemory,
                        reinterpret_cast<uint8_t*>(out->data()), out->size()) == 1;
}

}  // namespace

std::string hashPassword(std::string_view password, const ScryptParams& params) {
  std::string salt = randomBytes(kSaltBytes);
  std::string key;
  if (!derive(password, salt, params, &key)) return "";
  return "scrypt$" + std::to_string(params.log2N) + "$" + std::to_string(params.r) + "$" +
         std::to_string(params.p) + "$" + base64UrlEncode(salt) + "$" + base64UrlEncode(key);
}

bool verifyPassword(std::string_view password, std::string_view stored) {
  std::vector<std::string_view> parts = str::split(stored, '$');
  if (parts.size() != 6 || parts[0] != "scrypt") return false;
  uint64_t n = 0, r = 0, p = 0;
  if (!str::parseU64(parts[1], &n) || !str::parseU64(parts[2], &r) ||
      !str::parseU64(parts[3], &p))
    return false;
  // Refuse weakened (below the spec's floor) and absurd parameters (a hostile database row
  // must not make a login burn gigabytes).
  if (n < 15 || n > 20 || r < 1 || r > 32 || p < 1 || p > 4) return false;
  std::string salt, expected, got;
  if (!base64UrlDecode(parts[4], &salt) || !base64UrlDecode(parts[5], &expected) ||
      expected.size() != kKeyBytes)
    return false;
  ScryptParams params{static_cast<int>(n), static_cast<int>(r), static_cast<int>(p)};
  if (!derive(password, salt, params, &got)) return false;
  return constantTimeEquals(got, expected);
}

std::string randomSecret(size_t bytes) { return base64UrlEncode(randomBytes(bytes)); }

}  // namespace gh::identity
