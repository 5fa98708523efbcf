#pragma once
// Password hashes for admin accounts (spec/admin.md): scrypt (RFC 7914) through BoringSSL's
// EVP_PBE_scrypt, with a per-password random salt and the parameters kept with the hash, so a
// later build can raise N without invalidating what is stored.
//
// Stored form (one line, no secret in it that helps an attacker beyond the hash itself):
//
//     scrypt$<log2 N>$<r>$<p>$<salt, base64url>$<hash, base64url>
//
// Cost: N = 2^15, r = 8, p = 1 is 32 MiB of memory and tens of milliseconds per hash, which is
// what makes offline guessing expensive; the admin API bounds how often it is paid (login
// rate limiting). Lives in core/identity because <openssl/*> may only be included here and in
// core/tls (DESIGN.md). Pure functions; any thread.

#include <string>
#include <string_view>

namespace gh::identity {

struct ScryptParams {
  int log2N = 15;  // the spec's floor: N >= 2^15
  int r = 8;
  int p = 1;
};

// The stored form of `password` with a fresh random salt.
std::string hashPassword(std::string_view password, const ScryptParams& params = {});

// Whether `password` matches `stored` (constant-time comparison of the derived key). A stored
// form that does not parse, or has parameters below the floor or absurdly high, never matches.
bool verifyPassword(std::string_view password, std::string_view stored);

// A random secret of `bytes` bytes as base64url text (session ids, CSRF and API tokens,
// one-time passwords).
std::string randomSecret(size_t bytes);

}  // namespace gh::identity
