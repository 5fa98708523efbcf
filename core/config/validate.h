#pragma once
// Cross-resource validation of a whole configuration (the set a version would hold):
// duplicate (kind, namespace, name); every HTTPRoute parentRef names a Listener and every
// backendRef a Service; two Listeners on one address:port (0.0.0.0 conflicts with every
// address on the same port); RE2 patterns compile; every HTTPS listener's certificate and key
// files can be read, parse and belong together (a certificate outside its validity period is
// logged as a warning, not refused); AuthorizationPolicy: a CUSTOM policy's provider is declared
// in the MeshConfig (and its Service exists), targetRefs name edge Listeners; LuaScript:
// attachTo names Listeners and HTTPRoutes of its namespace. Each error names the resource, the field path and where it
// was written. Reads the certificate files and nothing else; any thread.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config/model.h"

namespace gh::config {

// The Service an extension provider's `service` names, as (namespace, name):
// "namespace/name"; else "name" in `meshNamespace` (the MeshConfig's) when that Service
// exists; else "name.namespace". `exists(ns, name)` says whether a Service is there. Validation
// and the compiled snapshot both resolve providers with this, so they cannot disagree.
std::pair<std::string, std::string> providerService(
    std::string_view service, const std::string& meshNamespace,
    const std::function<bool(const std::string& ns, const std::string& name)>& exists);

// Returns true when the set is valid; appends every problem found to `diags`.
bool validate(const std::vector<Resource>& resources, std::vector<Diagnostic>* diags);

}  // namespace gh::config
