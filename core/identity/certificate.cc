#include "core/identity/certificate.h"

#include <openssl/bio.h>

#include "core/base/sha256.h"
#include "core/identity/encoding.h"
#include "core/identity/x509_util.h"

namespace gh::identity {
namespace {

std::string nameText(const X509_NAME* name) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

}  // namespace

Result<CertificateInfo> CertificateInfo::fromDer(std::string_view der) {
  bssl::UniquePtr<X509> cert = x509::parseDer(der);
  if (!cert) return Status::error("certificate does not parse");
  CertificateInfo info;
  info.der = std::string(der);
  info.subject = nameText(X509_get_subject_name(cert.get()));
  info.issuer = nameText(X509_get_issuer_name(cert.get()));
  info.serialHex = x509::serialHex(cert.get());
  info.notBefore = x509::toUnix(X509_get0_notBefore(cert.get()));
  info.notAfter = x509::toUnix(X509_get0_notAfter(cert.get()));
  info.isCa = X509_check_ca(cert.get()) != 0;
  info.uriSans = x509::uriSans(cert.get());
  info.sha256Hex = Sha256::hex(der);
  return info;
}

Result<std::vector<CertificateInfo>> readPemCertificates(std::string_view pem) {
  auto blocks = pemDecode(pem, "CERTIFICATE");
  if (!blocks.ok()) return blocks.status();
  if (blocks->empty()) return Status::error("no PEM CERTIFICATE block");
  std::vector<CertificateInfo> out;
  for (const std::string& der : *blocks) {
    auto info = CertificateInfo::fromDer(der);
    if (!info.ok()) return info.status();
    out.push_back(std::move(*info));
  }
  return out;
}

}  // namespace gh::identity
