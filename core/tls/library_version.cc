#include "core/tls/library_version.h"

#include <openssl/crypto.h>

namespace gh::tls {
const char* boringsslVersion() { return OpenSSL_version(OPENSSL_VERSION); }
}  // namespace gh::tls
