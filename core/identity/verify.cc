#include "core/identity/verify.h"

#include <openssl/nid.h>

#include "core/identity/x509_util.h"

namespace gh::identity {
namespace {

SvidVerdict reject(SvidError e, std::string detail) {
  SvidVerdict v;
  v.error = e;
  v.detail = std::move(detail);
  return v;
}

}  // namespace

const char* svidErrorName(SvidError e) {
  switch (e) {
    case SvidError::kNone:
      return "none";
    case SvidError::kNoCertificate:
      return "no_certificate";
    case SvidError::kMalformed:
      return "malformed";
    case SvidError::kLeafIsCa:
      return "leaf_is_ca";
    case SvidError::kKeyUsage:
      return "key_usage";
    case SvidError::kNoUriSan:
      return "no_uri_san";
    case SvidError::kManyUriSans:
      return "many_uri_sans";
    case SvidError::kNotSpiffe:
      return "not_spiffe";
    case SvidError::kTrustDomain:
      return "trust_domain";
    case SvidError::kNotYetValid:
      return "not_yet_valid";
    case SvidError::kExpired:
      return "expired";
    case SvidError::kUntrusted:
      return "untrusted";
    case SvidError::kExtendedKeyUsage:
      return "extended_key_usage";
    case SvidError::kCount:
      break;
  }
  return "unknown";
}

SvidVerdict verifySvid(const std::vector<std::string>& chainDer,
                       const std::vector<TrustBundle>& bundles, int64_t now, SvidRole role) {
  if (chainDer.empty()) return reject(SvidError::kNoCertificate, "the peer sent no certificate");
  std::vector<bssl::UniquePtr<X509>> chain;
  for (const std::string& der : chainDer) {
    chain.push_back(x509::parseDer(der));
    if (!chain.back())
      return reject(SvidError::kMalformed, "certificate " + std::to_string(chain.size() - 1) +
                                               " of the chain does not parse");
  }
  X509* leaf = chain.front().get();

  // X509_check_ca also computes the cached extension flags; a leaf whose extensions do not
  // parse gets EXFLAG_INVALID, which is malformed rather than any of the reasons below.
  // (X509_check_ca alone would miss CA:TRUE beside a keyUsage without keyCertSign.)
  int ca = X509_check_ca(leaf);
  uint32_t flags = X509_get_extension_flags(leaf);
  if (flags & EXFLAG_INVALID)
    return reject(SvidError::kMalformed, "the leaf's extensions do not parse");
  if (ca != 0 || (flags & EXFLAG_CA))
    return reject(SvidError::kLeafIsCa, "the leaf certificate is a CA");
  uint32_t usage = X509_get_key_usage(leaf);
  if (!(flags & EXFLAG_KUSAGE)) return reject(SvidError::kKeyUsage, "the leaf has no keyUsage");
  if (!(usage & KU_DIGITAL_SIGNATURE))
    return reject(SvidError::kKeyUsage, "the leaf's keyUsage lacks digitalSignature");
  if (usage & (KU_KEY_CERT_SIGN | KU_CRL_SIGN))
    return reject(SvidError::kKeyUsage, "the leaf's keyUsage allows signing certificates or CRLs");

  if (role != SvidRole::kAny) {
    // The peer's role must be among the purposes its certificate was issued for.
    uint32_t need = role == SvidRole::kClient ? XKU_SSL_CLIENT : XKU_SSL_SERVER;
    if (!(flags & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(leaf) & need))
      return reject(SvidError::kExtendedKeyUsage,
                    std::string("the leaf's extendedKeyUsage lacks ") +
                        (role == SvidRole::kClient ? "clientAuth" : "serverAuth"));
  }

  std::vector<std::string> uris = x509::uriSans(leaf);
  if (uris.empty()) return reject(SvidError::kNoUriSan, "the leaf has no URI subjectAltName");
  if (uris.size() > 1)
    return reject(SvidError::kManyUriSans,
                  "the leaf has " + std::to_string(uris.size()) + " URI subjectAltNames");
  auto id = SpiffeId::parse(uris.front());
  if (!id.ok()) return reject(SvidError::kNotSpiffe, id.status().message());

  const TrustBundle* bundle = nullptr;
  for (const TrustBundle& b : bundles)
    if (b.trustDomain == id->trustDomain()) bundle = &b;
  if (!bundle)
    return reject(SvidError::kTrustDomain, id->uri() + ": trust domain is not trusted here");

  int64_t notBefore = x509::toUnix(X509_get0_notBefore(leaf));
  int64_t notAfter = x509::toUnix(X509_get0_notAfter(leaf));
  if (now < notBefore) return reject(SvidError::kNotYetValid, "the leaf is not valid yet");
  // notAfter itself is already too late, as BoringSSL's own time check has it.
  if (now >= notAfter) return reject(SvidError::kExpired, "the leaf has expired");

  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  for (const std::string& der : bundle->rootsDer) {
    bssl::UniquePtr<X509> root = x509::parseDer(der);
    if (root) X509_STORE_add_cert(store.get(), root.get());
  }
  bssl::UniquePtr<STACK_OF(X509)> intermediates(sk_X509_new_null());
  for (size_t i = 1; i < chain.size(); ++i) {
    X509_up_ref(chain[i].get());
    sk_X509_push(intermediates.get(), chain[i].get());
  }
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!store || !ctx || !X509_STORE_CTX_init(ctx.get(), store.get(), leaf, intermediates.get()))
    return reject(SvidError::kUntrusted, "cannot set up verification: " + x509::lastError());
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(now));
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    x509::lastError();
    return reject(SvidError::kUntrusted, X509_verify_cert_error_string(err));
  }
  SvidVerdict ok;
  ok.id = std::move(*id);
  return ok;
}

}  // namespace gh::identity
