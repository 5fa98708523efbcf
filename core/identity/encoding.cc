#include "core/identity/encoding.h"

#include <openssl/base64.h>
#include <openssl/mem.h>
#include <openssl/rand.h>

namespace gh::identity {

std::string pemEncode(std::string_view der, std::string_view label) {
  size_t len = 0;
  EVP_EncodedLength(&len, der.size());
  std::string b64(len, '\0');
  size_t n = EVP_EncodeBlock(reinterpret_cast<uint8_t*>(b64.data()),
                             reinterpret_cast<const uint8_t*>(der.data()), der.size());
  b64.resize(n);
  std::string out = "-----BEGIN " + std::string(label) + "-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  out += "-----END " + std::string(label) + "-----\n";
  return out;
}

Result<std::vector<std::string>> pemDecode(std::string_view text, std::string_view label) {
  std::vector<std::string> out;
  const std::string begin = "-----BEGIN " + std::string(label) + "-----";
  const std::string end = "-----END " + std::string(label) + "-----";
  size_t pos = 0;
  while ((pos = text.find(begin, pos)) != std::string_view::npos) {
    size_t bodyStart = pos + begin.size();
    size_t stop = text.find(end, bodyStart);
    if (stop == std::string_view::npos)
      return Status::error("PEM " + std::string(label) + " block has no END line");
    std::string b64;
    for (char c : text.substr(bodyStart, stop - bodyStart))
      if (c != '\n' && c != '\r' && c != ' ' && c != '\t') b64.push_back(c);
    size_t maxLen = 0;
    if (!EVP_DecodedLength(&maxLen, b64.size()))
      return Status::error("PEM " + std::string(label) + " block is not base64");
    std::string der(maxLen, '\0');
    size_t n = 0;
    if (!EVP_DecodeBase64(reinterpret_cast<uint8_t*>(der.data()), &n, der.size(),
                          reinterpret_cast<const uint8_t*>(b64.data()), b64.size()))
      return Status::error("PEM " + std::string(label) + " block is not base64");
    der.resize(n);
    out.push_back(std::move(der));
    pos = stop + end.size();
  }
  return out;
}

std::string hexEncode(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

namespace {
const char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
int urlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}
}  // namespace

std::string base64UrlEncode(std::string_view bytes) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kUrlAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kUrlAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

bool base64UrlDecode(std::string_view text, std::string* out) {
  out->clear();
  if (text.size() % 4 == 1) return false;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = urlValue(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero, or two texts would decode to the same bytes.
  return (acc & ((1u << bits) - 1)) == 0;
}

std::string randomBytes(size_t n) {
  std::string out(n, '\0');
  RAND_bytes(reinterpret_cast<uint8_t*>(out.data()), n);
  return out;
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace gh::identity
