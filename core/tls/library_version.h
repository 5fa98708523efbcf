#pragma once
namespace gh::tls {
const char* boringsslVersion();  // the linked TLS library's version string
}  // namespace gh::tls
