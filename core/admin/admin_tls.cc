#include "core/admin/admin_tls.h"

#include "core/base/log.h"
#include "core/base/strings.h"
#include "core/tls/server_context.h"

namespace gh::admin {

bool isLoopback(const std::string& ip) { return str::startsWith(ip, "127.") || ip == "::1"; }

AdminServer::TlsSource identityTlsSource(std::function<const config::NodeIdentity*()> identity) {
  struct Cache {
    std::shared_ptr<const tls::Certificate> certificate;
    std::shared_ptr<const tls::ServerContext> context;
  };
  auto cache = std::make_shared<Cache>();
  return [identity = std::move(identity), cache]() -> std::shared_ptr<const tls::ServerContext> {
    const config::NodeIdentity* id = identity ? identity() : nullptr;
    if (!id || !id->certificate) return nullptr;
    if (cache->certificate != id->certificate) {
      auto ctx = tls::ServerContext::build({id->certificate});
      if (!ctx.ok()) {
        LOG_ERROR("admin HTTPS: %s", ctx.status().message().c_str());
        return nullptr;
      }
      cache->certificate = id->certificate;
      cache->context = ctx.value();
    }
    return cache->context;
  };
}

}  // namespace gh::admin
