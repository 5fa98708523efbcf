#pragma once
// Byte encodings the identity module speaks: PEM blocks, lowercase hex, base64url (RFC 4648
// section 5, no padding) and random bytes from the system's CSPRNG. Pure functions except
// randomBytes(); no OpenSSL types leak from here.

#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace gh::identity {

// "-----BEGIN <label>-----\n" + base64 in 64-column lines + "-----END <label>-----\n".
std::string pemEncode(std::string_view der, std::string_view label);
// The DER bodies of every block labelled `label`, in order; other blocks are skipped. An error
// for a block that does not decode.
Result<std::vector<std::string>> pemDecode(std::string_view text, std::string_view label);

std::string hexEncode(std::string_view bytes);
std::string base64UrlEncode(std::string_view bytes);
// Accepts exactly what base64UrlEncode produces (no padding, no whitespace).
bool base64UrlDecode(std::string_view text, std::string* out);

// n bytes from the CSPRNG (BoringSSL's RAND_bytes, which aborts rather than fail).
std::string randomBytes(size_t n);

// Compares in time independent of where the inputs differ (for secrets and their hashes).
bool constantTimeEquals(std::string_view a, std::string_view b);

}  // namespace gh::identity
