#pragma once
// ServerContext: everything a TLS listener needs to accept handshakes — its certificates, the
// SNI rule that picks one, protocol versions, ALPN, and session tickets.
//
// Built on the control thread when a configuration version is compiled (certificate and key
// files are read then, so a new version re-reads them), immutable afterwards, and shared by
// all workers through shared_ptr. A connection holds its ServerContext until it closes, so a
// reload that changes a listener's certificates affects new connections only.
//
// Certificate selection (SNI): the client's server name is compared, case-insensitively, with
// each certificate's DNS subjectAltNames (never the subject CN). An exact name beats a
// wildcard; a wildcard "*.example.com" covers exactly one label ("a.example.com", not
// "example.com" nor "a.b.example.com"); among equals the certificate listed first wins. No
// server name, or no match, gets the first certificate: there is always a default.
//
// Several certificates may cover the same name with different key types (an ECDSA one for
// modern clients and an RSA one for the rest): among the certificates for the name, the first
// whose key type the client can verify is chosen (its signature_algorithms, and for a
// TLS 1.2-only client its cipher suites), else the first for the name.
//
// Protocol: TLS 1.2 and 1.3 (minVersion raises the floor to 1.3); for TLS 1.2 only ECDHE with
// AES-GCM or ChaCha20-Poly1305; BoringSSL's groups (X25519 first) and TLS 1.3 suites.
// BoringSSL never renegotiates as a server. ALPN selects "http/1.1" when offered; a client without
// ALPN, or offering only other protocols, proceeds without it (HTTP/1.1 is what we speak anyway).
//
// Sessions resume only by ticket (no server-side cache: nothing per worker to miss), with the
// process-wide TicketKeys, so a ticket works on every worker and after a reload. A session is
// bound to the certificate it was established with (the session id context is the leaf's
// SHA-256): a name served by a new certificate gets a full handshake.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/base/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct evp_pkey_st EVP_PKEY;
typedef struct crypto_buffer_st CRYPTO_BUFFER;

namespace gh::tls {

class TicketKeys;
struct PeerTrust;

enum class Version { kTls12, kTls13 };

// One certificate chain and its private key, read from PEM files. Immutable.
class Certificate {
 public:
  // Reads `certFile` (the leaf first, then its intermediates) and `keyFile` (PEM private key,
  // PKCS#8 or traditional) and checks they belong together. On failure *keyAtFault tells
  // whether the key file (rather than the certificate file) is the one to blame.
  static Result<std::shared_ptr<const Certificate>> load(const std::string& certFile,
                                                         const std::string& keyFile,
                                                         bool* keyAtFault = nullptr);
  // As load, from PEM text already in memory; the names are for messages.
  static Result<std::shared_ptr<const Certificate>> fromPem(std::string_view certPem,
                                                            std::string_view keyPem,
                                                            const std::string& certName,
                                                            const std::string& keyName,
                                                            bool* keyAtFault = nullptr);
  ~Certificate();
  Certificate(const Certificate&) = delete;
  Certificate& operator=(const Certificate&) = delete;

  const std::vector<std::string>& dnsNames() const { return dnsNames_; }  // lower-case
  const std::string& subject() const { return subject_; }  // one-line form, for messages
  int64_t notBefore() const { return notBefore_; }         // Unix seconds
  int64_t notAfter() const { return notAfter_; }
  const char* keyType() const { return keyType_; }             // "ECDSA", "RSA", "Ed25519"
  const uint8_t* fingerprint() const { return fingerprint_; }  // SHA-256 of the leaf (DER)
  const std::string& serialHex() const { return serialHex_; }  // lower-case hex

  // Installs chain and key on one connection.
  bool install(SSL* ssl) const;

 private:
  Certificate() = default;
  std::vector<CRYPTO_BUFFER*> chain_;
  EVP_PKEY* key_ = nullptr;
  std::vector<std::string> dnsNames_;
  std::string subject_;
  int64_t notBefore_ = 0;
  int64_t notAfter_ = 0;
  const char* keyType_ = "";
  std::string serialHex_;
  uint8_t fingerprint_[32] = {};
};

struct CertificateFiles {
  std::string certFile;
  std::string keyFile;
};

struct ServerOptions {
  std::vector<CertificateFiles> certificates;  // the first is the default
  Version minVersion = Version::kTls12;
  TicketKeys* tickets = nullptr;  // null: TicketKeys::process()
};

class ServerContext {
 public:
  static Result<std::shared_ptr<const ServerContext>> build(const ServerOptions& options);
  // As build, from certificates already loaded (tests; at least one).
  static Result<std::shared_ptr<const ServerContext>> build(
      std::vector<std::shared_ptr<const Certificate>> certificates,
      Version minVersion = Version::kTls12, TicketKeys* tickets = nullptr);
  // A mesh hop's server side (MESH_INBOUND, spec/mesh.md): this node's workload certificate
  // for every client, TLS 1.3 only (both ends are ours), and the client's certificate checked
  // against `trust` inside the handshake (peer.h). requireClientCertificate: STRICT; without
  // it a client may come without a certificate (PERMISSIVE) but one it sends must verify. No
  // session resumption: every connection proves its identity with the certificate current now,
  // which is what makes a rotation or a revocation of trust take effect for new connections.
  static Result<std::shared_ptr<const ServerContext>> buildMesh(
      std::shared_ptr<const Certificate> certificate, std::shared_ptr<const PeerTrust> trust,
      bool requireClientCertificate);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // Key types a client can verify, as a mask of KeyType bits.
  enum KeyType : uint8_t { kEcdsa = 1, kRsa = 2, kEd25519 = 4, kAnyKey = 7 };

  // The index of the certificate for a client's server name (empty: none sent) and the key
  // types it accepts. Pure.
  size_t select(std::string_view serverName, uint8_t clientKeys = kAnyKey) const;
  const Certificate& certificate(size_t i) const { return *certificates_[i]; }
  size_t certificateCount() const { return certificates_.size(); }
  Version minVersion() const { return minVersion_; }
  // Whether clients are asked for a certificate (a mesh context).
  bool verifiesPeers() const { return trust_ != nullptr; }

  // A new server-side connection object, in accept state, or null when out of memory. The
  // caller owns it (SSL_free) and must keep this ServerContext alive as long as it lives.
  SSL* newConnection() const;

 private:
  ServerContext() = default;
  friend struct ContextCallbacks;
  SSL_CTX* ctx_ = nullptr;
  std::vector<std::shared_ptr<const Certificate>> certificates_;
  // DNS name -> the certificates that cover it, in listed order.
  std::unordered_map<std::string, std::vector<size_t>> exact_;
  std::unordered_map<std::string, std::vector<size_t>>
      wildcard_;                   // "example.com" of "*.example.com"
  std::vector<uint8_t> keyTypes_;  // per certificate, one KeyType bit
  Version minVersion_ = Version::kTls12;
  TicketKeys* tickets_ = nullptr;
  std::shared_ptr<const PeerTrust> trust_;  // mesh contexts only
};

}  // namespace gh::tls
