#pragma once
// The request side of the traffic policies, as the session applies them in its rate_limit and
// select_upstream phases (docs/traffic.md): which bucket a request is charged to, and the
// client address a trusted proxy vouches for. Pure functions of their inputs; the token
// tables they charge are the shared lock-free ones of config::CompiledRateLimit.

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/config/request_policy.h"
#include "core/http/parser.h"
#include "core/policy/token_bucket.h"

namespace gh::http {

// Monotonic nanoseconds (the buckets' clock: finer than the loop's coarse milliseconds).
uint64_t monotonicNs();

// What a rate-limit key can be made of. Views valid for the call only.
struct RateLimitRequest {
  std::string_view principal;  // verified mTLS peer identity; empty when none
  std::string_view clientIp;   // the client address as text (trusted X-Forwarded-For entry)
  const std::vector<Header>* headers = nullptr;
};

// The bucket key of `rq` under `limit`: nothing (one bucket), the client address, the
// principal, or a header's first value; the last two fall back to the client address when
// absent, so a client cannot escape a per-principal or per-key limit by not saying who it is.
std::string_view rateLimitKey(const config::CompiledRateLimit& limit, const RateLimitRequest& rq);

// Charges one token to each limit in order; the first refusal stops (later limits are not
// charged) and is returned with its decision in *d. Null: every limit allowed the request.
const config::CompiledRateLimit* takeTokens(const config::RateLimitList& limits,
                                            const RateLimitRequest& rq, uint64_t nowNs,
                                            policy::RateDecision* d);

// The X-Forwarded-For entry `trustedHops` trusted proxies vouch for: the trustedHops-th from
// the right (the nearest proxy appended the one before it). Empty when trustedHops is 0 or
// the entry is missing. Walks the fields from the right without copying.
std::string_view trustedForwardedFor(const std::vector<Header>& headers, uint32_t trustedHops);

}  // namespace gh::http
