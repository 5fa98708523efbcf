#include "core/telemetry/counters.h"

namespace gh::telemetry {

const char* localReasonName(LocalReason r) {
  switch (r) {
    case LocalReason::kNoRoute: return "no_route";
    case LocalReason::kNoBackend: return "no_backend";
    case LocalReason::kBadPath: return "bad_path";
    case LocalReason::kBodyTooLarge: return "body_too_large";
    case LocalReason::kExpectationFailed: return "expectation_failed";
    case LocalReason::kHeadTimeout: return "head_timeout";
    case LocalReason::kUpstreamConnectFailed: return "upstream_connect_failed";
    case LocalReason::kUpstreamReset: return "upstream_reset";
    case LocalReason::kUpstreamBadResponse: return "upstream_bad_response";
    case LocalReason::kUpstreamConnectTimeout: return "upstream_connect_timeout";
    case LocalReason::kUpstreamTimeout: return "upstream_timeout";
    case LocalReason::kRequestTimeout: return "request_timeout";
    case LocalReason::kNoHealthyUpstream: return "no_healthy_upstream";
    case LocalReason::kUpstreamTlsFailed: return "upstream_tls_failed";
    case LocalReason::kRbacDenied: return "rbac_denied";
    case LocalReason::kExtAuthzDenied: return "ext_authz_denied";
    case LocalReason::kExtAuthzError: return "ext_authz_error";
    case LocalReason::kOverflow: return "overflow";
    case LocalReason::kLuaError: return "lua_error";
    case LocalReason::kRateLimited: return "rate_limited";
    case LocalReason::kEgressDenied: return "egress_denied";
    case LocalReason::kFaultAbort: return "fault_abort";
    case LocalReason::kCount: break;
  }
  return "unknown";
}

}  // namespace gh::telemetry
