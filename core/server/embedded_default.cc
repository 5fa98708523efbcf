#include "core/server/embedded_default.h"

namespace gh::server {

std::string embeddedDefaultConfig(const std::string& adminAddress) {
  std::string page =
      "<!doctype html><html><head><meta charset=utf-8><title>Gatehouse</title></head>"
      "<body><h1>Gatehouse is running</h1>"
      "<p>This is the default route of the listener on 127.0.0.1:8080.</p>"
      "<p>Admin UI and API: <a href=\\\"http://" + adminAddress + "/\\\">http://" + adminAddress +
      "/</a> (readiness at /ready, metrics at /metrics).</p>"
      "<p>Replace this page: <code>gatehouse apply -f your-config.yaml</code>.</p>"
      "</body></html>\\n";
  return R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: default}
spec: {address: 127.0.0.1, port: 8080, protocol: HTTP}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: welcome}
spec:
  directResponse:
    status: 200
    contentType: text/html; charset=utf-8
    body: ")" + page + R"("
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: welcome}
spec:
  parentRefs: [{name: default}]
  rules:
    - backendRefs: [{name: welcome}]
)";
}

}  // namespace gh::server
