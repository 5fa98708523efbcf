#pragma once
// Module-private helpers over BoringSSL's X.509 types, shared by the CA, the verifier and the
// workload files. Only core/identity/*.cc include this (it pulls in <openssl/*>, which the
// house keeps behind core/tls and core/identity); the public headers speak DER and PEM.

#include <openssl/asn1.h>
#include <openssl/bytestring.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gh::identity::x509 {

// Parses one DER certificate; null when it does not parse or has trailing bytes.
bssl::UniquePtr<X509> parseDer(std::string_view der);
std::string toDer(const X509* cert);

// Unix seconds of an ASN1_TIME (UTCTime or GeneralizedTime).
int64_t toUnix(const ASN1_TIME* t);

// The URI subjectAltNames of a certificate, in order (however many there are).
std::vector<std::string> uriSans(const X509* cert);

// Serial number as lowercase hex without leading zeros ("0" for zero).
std::string serialHex(const X509* cert);

// The SubjectPublicKeyInfo DER of a key.
std::string publicKeyDer(const EVP_PKEY* key);
// Whether a key is an ECDSA key on P-256.
bool isP256(const EVP_PKEY* key);

// A subjectKeyIdentifier for a key: the first 160 bits of the SHA-256 of its
// SubjectPublicKeyInfo (RFC 5280 allows any method that gives unique values; RFC 7093 names
// truncated SHA-256 ones).
std::string keyIdentifier(const EVP_PKEY* key);

// The newest error of BoringSSL's queue as text ("" when empty); clears the queue.
std::string lastError();

}  // namespace gh::identity::x509
