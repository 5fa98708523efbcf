#pragma once
// HTTPS for the admin listener when it is bound beyond loopback (spec/admin.md): the node's
// workload certificate (MeshNode::identity()) serves it. The context is built once per
// certificate and rebuilt when renewal swaps the certificate, so each new connection gets the
// current one. Without an identity there is no context, and the admin server then refuses
// connections rather than fall back to plaintext. Control thread only.

#include <functional>
#include <memory>
#include <string>

#include "core/admin/admin_server.h"
#include "core/config/snapshot.h"

namespace gh::admin {

// Whether `ip` ("127.0.0.1", "::1") is a loopback address.
bool isLoopback(const std::string& ip);

AdminServer::TlsSource identityTlsSource(std::function<const config::NodeIdentity*()> identity);

}  // namespace gh::admin
