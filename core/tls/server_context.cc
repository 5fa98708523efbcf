#include "core/tls/server_context.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/bytestring.h>
#include <openssl/cipher.h>
#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/pool.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/tls/peer.h"
#include "core/tls/ticket_keys.h"

namespace gh::tls {

namespace {

constexpr size_t kMaxPemBytes = 1 << 20;
// TLS 1.2 suites: forward-secret AEADs only (Mozilla's "intermediate" list, which every client
// of the last decade supports). BoringSSL's own default still carries plain-RSA key exchange and
// CBC suites for old clients. All are strong, so the client's order decides (no server
// preference), as Mozilla recommends: a client without AES hardware asks for ChaCha20 first.
// TLS 1.3 suites are fixed by BoringSSL.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr uint32_t kSessionLifetimeSeconds = 12 * 3600;  // one ticket-key period

// The oldest queued BoringSSL error, as text, and the queue cleared.
std::string sslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  const char* reason = ERR_reason_error_string(e);
  return reason ? reason : "error " + std::to_string(e);
}

Result<std::string> readFile(const std::string& path) {
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) return Status::error("cannot read " + path + ": " + strerror(errno));
  std::string data;
  char buf[16 * 1024];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    data.append(buf, n);
    if (data.size() > kMaxPemBytes) {
      fclose(f);
      return Status::error(path + " is larger than 1 MiB: not a PEM certificate or key");
    }
  }
  bool bad = ferror(f);
  fclose(f);
  if (bad) return Status::error("cannot read " + path + ": " + strerror(EIO));
  return data;
}

int64_t unixTime(const ASN1_TIME* t) {
  ASN1_TIME* epoch = ASN1_TIME_set(nullptr, 0);
  int days = 0, seconds = 0;
  bool ok = epoch && ASN1_TIME_diff(&days, &seconds, epoch, t);
  ASN1_TIME_free(epoch);
  return ok ? int64_t{days} * 86400 + seconds : 0;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

// --- Certificate ----------------------------------------------------------------------------

Result<std::shared_ptr<const Certificate>> Certificate::load(const std::string& certFile,
                                                             const std::string& keyFile,
                                                             bool* keyAtFault) {
  bool scratch;
  if (!keyAtFault) keyAtFault = &scratch;
  *keyAtFault = false;
  auto certPem = readFile(certFile);
  if (!certPem.ok()) return certPem.status();
  auto keyPem = readFile(keyFile);
  if (!keyPem.ok()) {
    *keyAtFault = true;
    return keyPem.status();
  }
  return fromPem(*certPem, *keyPem, certFile, keyFile, keyAtFault);
}

Result<std::shared_ptr<const Certificate>> Certificate::fromPem(std::string_view certPemText,
                                                                std::string_view keyPemText,
                                                                const std::string& certFile,
                                                                const std::string& keyFile,
                                                                bool* keyAtFault) {
  bool scratch;
  if (!keyAtFault) keyAtFault = &scratch;
  *keyAtFault = false;
  ERR_clear_error();
  const std::string_view* certPem = &certPemText;
  const std::string_view* keyPem = &keyPemText;
  std::shared_ptr<Certificate> c(new Certificate());
  X509* leaf = nullptr;
  {
    BIO* bio = BIO_new_mem_buf(certPem->data(), static_cast<int>(certPem->size()));
    for (;;) {
      X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
      if (!x) break;
      uint8_t* der = nullptr;
      int len = i2d_X509(x, &der);
      if (len > 0) {
        c->chain_.push_back(CRYPTO_BUFFER_new(der, static_cast<size_t>(len), nullptr));
        if (!leaf) SHA256(der, static_cast<size_t>(len), c->fingerprint_);
      }
      OPENSSL_free(der);
      if (!leaf)
        leaf = x;
      else
        X509_free(x);
    }
    BIO_free(bio);
    ERR_clear_error();  // the loop ends on a "no start line" error
  }
  if (!leaf) return Status::error(certFile + ": no PEM certificate found");

  // What the rest of the server needs from the leaf: names, validity, subject.
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
  for (size_t i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type != GEN_DNS) continue;
    const ASN1_IA5STRING* s = g->d.dNSName;
    c->dnsNames_.push_back(lower(std::string_view(
        reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s))));
  }
  GENERAL_NAMES_free(names);
  c->notBefore_ = unixTime(X509_get0_notBefore(leaf));
  c->notAfter_ = unixTime(X509_get0_notAfter(leaf));
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {  // upper-case, no leading zeros
      c->serialHex_ = hex;
      for (char& ch : c->serialHex_) ch = static_cast<char>(tolower(static_cast<unsigned char>(ch)));
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(leaf), subject, sizeof subject);
  c->subject_ = subject;

  {
    BIO* bio = BIO_new_mem_buf(keyPem->data(), static_cast<int>(keyPem->size()));
    c->key_ = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
  }
  if (!c->key_) {
    X509_free(leaf);
    *keyAtFault = true;
    return Status::error(keyFile + ": no PEM private key found (" + sslError() + ")");
  }
  switch (EVP_PKEY_id(c->key_)) {
    case EVP_PKEY_EC:
      c->keyType_ = "ECDSA";
      break;
    case EVP_PKEY_RSA:
      c->keyType_ = "RSA";
      break;
    case EVP_PKEY_ED25519:
      c->keyType_ = "Ed25519";
      break;
    default:
      X509_free(leaf);
      *keyAtFault = true;
      return Status::error(keyFile + ": unsupported key type (use ECDSA, RSA or Ed25519)");
  }
  bool match = X509_check_private_key(leaf, c->key_) == 1;
  X509_free(leaf);
  ERR_clear_error();
  if (!match) {
    *keyAtFault = true;
    return Status::error(keyFile + ": private key does not match the certificate in " + certFile);
  }
  return std::shared_ptr<const Certificate>(std::move(c));
}

Certificate::~Certificate() {
  for (CRYPTO_BUFFER* b : chain_) CRYPTO_BUFFER_free(b);
  EVP_PKEY_free(key_);
}

bool Certificate::install(SSL* ssl) const {
  return SSL_set_chain_and_key(ssl, chain_.data(), chain_.size(), key_, nullptr) == 1 &&
         SSL_set_session_id_context(ssl, fingerprint_, sizeof fingerprint_) == 1;
}

// --- ServerContext --------------------------------------------------------------------------

// BoringSSL's callbacks: each finds its ServerContext in the SSL_CTX's app data.
struct ContextCallbacks {
  static const ServerContext* of(const SSL* ssl) {
    return static_cast<const ServerContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  }

  // Runs before resumption is decided, so the session id context it sets binds resumption to
  // the certificate chosen here.
  // Which certificate key types the client can verify. Without the signature_algorithms
  // extension (old TLS 1.2 clients) anything goes. An ECDSA certificate also needs, below
  // TLS 1.3, an ECDHE-ECDSA suite among the client's.
  static uint8_t clientKeyTypes(const SSL_CLIENT_HELLO* hello) {
    const uint8_t* data;
    size_t len;
    if (!SSL_early_callback_ctx_extension_get(hello, TLSEXT_TYPE_signature_algorithms, &data, &len))
      return ServerContext::kAnyKey;
    uint8_t keys = 0;
    CBS ext, list;
    CBS_init(&ext, data, len);
    if (!CBS_get_u16_length_prefixed(&ext, &list)) return ServerContext::kAnyKey;
    uint16_t alg;
    while (CBS_get_u16(&list, &alg)) {
      switch (alg) {
        case SSL_SIGN_ECDSA_SHA1:
        case SSL_SIGN_ECDSA_SECP256R1_SHA256:
        case SSL_SIGN_ECDSA_SECP384R1_SHA384:
        case SSL_SIGN_ECDSA_SECP521R1_SHA512:
          keys |= ServerContext::kEcdsa;
          break;
        case SSL_SIGN_RSA_PKCS1_SHA1:
        case SSL_SIGN_RSA_PKCS1_SHA256:
        case SSL_SIGN_RSA_PKCS1_SHA384:
        case SSL_SIGN_RSA_PKCS1_SHA512:
        case SSL_SIGN_RSA_PSS_RSAE_SHA256:
        case SSL_SIGN_RSA_PSS_RSAE_SHA384:
        case SSL_SIGN_RSA_PSS_RSAE_SHA512:
          keys |= ServerContext::kRsa;
          break;
        case SSL_SIGN_ED25519:
          keys |= ServerContext::kEd25519;
          break;
      }
    }
    if (keys & ServerContext::kEcdsa) {
      bool suite = false;
      CBS suites;
      CBS_init(&suites, hello->cipher_suites, hello->cipher_suites_len);
      uint16_t id;
      while (!suite && CBS_get_u16(&suites, &id)) {
        // TLS 1.3 suites (0x13xx) work with any key; the rest are ECDHE_ECDSA ones.
        suite = (id >> 8) == 0x13 || id == 0xc02b || id == 0xc02c || id == 0xcca9 || id == 0xc009 ||
                id == 0xc00a || id == 0xc023 || id == 0xc024;
      }
      if (!suite) keys &= static_cast<uint8_t>(~ServerContext::kEcdsa);
    }
    return keys;
  }

  static ssl_select_cert_result_t selectCertificate(const SSL_CLIENT_HELLO* hello) {
    const ServerContext* sc = of(hello->ssl);
    const char* name = SSL_get_servername(hello->ssl, TLSEXT_NAMETYPE_host_name);
    uint8_t keys = ServerContext::kAnyKey;
    if (sc->certificates_.size() > 1) keys = clientKeyTypes(hello);
    size_t i = sc->select(name ? std::string_view(name) : std::string_view(), keys);
    return sc->certificates_[i]->install(hello->ssl) ? ssl_select_cert_success
                                                     : ssl_select_cert_error;
  }

  static int selectAlpn(SSL*, const uint8_t** out, uint8_t* outLen, const uint8_t* in,
                        unsigned inLen, void*) {
    CBS list;
    CBS_init(&list, in, inLen);
    while (CBS_len(&list) > 0) {
      CBS proto;
      if (!CBS_get_u8_length_prefixed(&list, &proto)) break;
      if (CBS_len(&proto) == 8 && memcmp(CBS_data(&proto), "http/1.1", 8) == 0) {
        *out = CBS_data(&proto);
        *outLen = 8;
        return SSL_TLSEXT_ERR_OK;
      }
    }
    return SSL_TLSEXT_ERR_NOACK;
  }

  // Tickets: AES-256-CBC + HMAC-SHA256 under the shared TicketKeys (RFC 5077's layout).
  static int ticketKey(SSL* ssl, uint8_t* keyName, uint8_t* iv, EVP_CIPHER_CTX* cipher,
                       HMAC_CTX* hmac, int encrypt) {
    TicketKeys* keys = of(ssl)->tickets_;
    TicketKeys::Key k;
    if (encrypt) {
      k = keys->current();
      memcpy(keyName, k.name, sizeof k.name);
      RAND_bytes(iv, 16);
      if (!EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aesKey, iv) ||
          !HMAC_Init_ex(hmac, k.hmacKey, sizeof k.hmacKey, EVP_sha256(), nullptr))
        return -1;
      return 1;
    }
    bool renew = false;
    if (!keys->find(keyName, &k, &renew)) return 0;  // unknown key: full handshake
    if (!HMAC_Init_ex(hmac, k.hmacKey, sizeof k.hmacKey, EVP_sha256(), nullptr) ||
        !EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aesKey, iv))
      return -1;
    return renew ? 2 : 1;
  }
};

size_t ServerContext::select(std::string_view serverName, uint8_t clientKeys) const {
  auto pick = [&](const std::vector<size_t>& candidates) {
    for (size_t i : candidates)
      if (keyTypes_[i] & clientKeys) return i;
    return candidates.front();
  };
  if (serverName.empty()) return 0;
  std::string name = lower(serverName);
  if (!name.empty() && name.back() == '.') name.pop_back();  // absolute form
  auto it = exact_.find(name);
  if (it != exact_.end()) return pick(it->second);
  size_t dot = name.find('.');
  if (dot != std::string::npos && dot > 0) {
    it = wildcard_.find(name.substr(dot + 1));
    if (it != wildcard_.end()) return pick(it->second);
  }
  return 0;
}

Result<std::shared_ptr<const ServerContext>> ServerContext::build(const ServerOptions& options) {
  std::vector<std::shared_ptr<const Certificate>> certs;
  for (const CertificateFiles& f : options.certificates) {
    auto c = Certificate::load(f.certFile, f.keyFile);
    if (!c.ok()) return c.status();
    certs.push_back(std::move(c.value()));
  }
  return build(std::move(certs), options.minVersion, options.tickets);
}

Result<std::shared_ptr<const ServerContext>> ServerContext::build(
    std::vector<std::shared_ptr<const Certificate>> certificates, Version minVersion,
    TicketKeys* tickets) {
  if (certificates.empty()) return Status::error("a TLS listener needs at least one certificate");
  std::shared_ptr<ServerContext> sc(new ServerContext());
  sc->certificates_ = std::move(certificates);
  sc->minVersion_ = minVersion;
  sc->tickets_ = tickets ? tickets : &TicketKeys::process();
  for (size_t i = 0; i < sc->certificates_.size(); ++i) {
    const Certificate& c = *sc->certificates_[i];
    std::string_view type = c.keyType();
    sc->keyTypes_.push_back(type == "ECDSA" ? kEcdsa : type == "RSA" ? kRsa : kEd25519);
    for (const std::string& n : c.dnsNames()) {
      auto& candidates =
          n.size() > 2 && n.compare(0, 2, "*.") == 0 ? sc->wildcard_[n.substr(2)] : sc->exact_[n];
      if (candidates.empty() || candidates.back() != i) candidates.push_back(i);
    }
  }

  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (!ctx) return Status::error("cannot create a TLS context: " + sslError());
  sc->ctx_ = ctx;
  SSL_CTX_set_app_data(ctx, sc.get());
  SSL_CTX_set_min_proto_version(ctx,
                                minVersion == Version::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  if (!SSL_CTX_set_strict_cipher_list(ctx, kTls12Ciphers))
    return Status::error("cannot set the TLS 1.2 cipher suites: " + sslError());
  // Stream::send keeps the unsent remainder in its own buffer, which moves as it grows, and
  // hands it back later: BoringSSL must accept the same bytes at another address.
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_timeout(ctx, kSessionLifetimeSeconds);
  SSL_CTX_set_session_psk_dhe_timeout(ctx, kSessionLifetimeSeconds);
  SSL_CTX_set_select_certificate_cb(ctx, &ContextCallbacks::selectCertificate);
  SSL_CTX_set_alpn_select_cb(ctx, &ContextCallbacks::selectAlpn, nullptr);
  SSL_CTX_set_tlsext_ticket_key_cb(ctx, &ContextCallbacks::ticketKey);
  return std::shared_ptr<const ServerContext>(std::move(sc));
}

Result<std::shared_ptr<const ServerContext>> ServerContext::buildMesh(
    std::shared_ptr<const Certificate> certificate, std::shared_ptr<const PeerTrust> trust,
    bool requireClientCertificate) {
  if (!certificate || !trust) return Status::error("a mesh listener needs a workload identity");
  auto built = build({std::move(certificate)}, Version::kTls13, nullptr);
  if (!built.ok()) return built.status();
  // Only this function has the object before it is shared.
  auto* sc = const_cast<ServerContext*>(built.value().get());
  sc->trust_ = std::move(trust);
  SSL_CTX_set_options(sc->ctx_, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(sc->ctx_, 0);
  enablePeerVerification(sc->ctx_, sc->trust_.get(), requireClientCertificate);
  return built;
}

ServerContext::~ServerContext() {
  SSL_CTX_free(ctx_);
}

SSL* ServerContext::newConnection() const {
  SSL* ssl = SSL_new(ctx_);
  if (!ssl) return nullptr;
  SSL_set_accept_state(ssl);
  // The certificate and handshake settings are not needed once the handshake is done: drop
  // them so an idle connection holds less.
  SSL_set_shed_handshake_config(ssl, 1);
  return ssl;
}

}  // namespace gh::tls
