#include "core/http/request_policy.h"

#include <time.h>

#include "core/base/strings.h"

namespace gh::http {

uint64_t monotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

std::string_view rateLimitKey(const config::CompiledRateLimit& limit,
                              const RateLimitRequest& rq) {
  using Key = config::RateLimitKeyType;
  switch (limit.key) {
    case Key::kNone:
      return {};
    case Key::kClientIp:
      return rq.clientIp;
    case Key::kPrincipal:
      return rq.principal.empty() ? rq.clientIp : rq.principal;
    case Key::kHeader:
      if (rq.headers) {
        for (const Header& h : *rq.headers)
          if (h.name.size() == limit.header.size() && str::iequals(h.name, limit.header))
            return h.value;
      }
      return rq.clientIp;
  }
  return {};
}

const config::CompiledRateLimit* takeTokens(const config::RateLimitList& limits,
                                            const RateLimitRequest& rq, uint64_t nowNs,
                                            policy::RateDecision* d) {
  for (const auto& limit : limits) {
    *d = limit->table->take(rateLimitKey(*limit, rq), nowNs);
    if (!d->allowed) return limit.get();
  }
  return nullptr;
}

std::string_view trustedForwardedFor(const std::vector<Header>& headers, uint32_t trustedHops) {
  if (trustedHops == 0) return {};
  uint32_t skip = trustedHops - 1;
  for (auto h = headers.rbegin(); h != headers.rend(); ++h) {
    if (h->name.size() != 15 || !str::iequals(h->name, "x-forwarded-for")) continue;
    std::string_view v = h->value;
    while (!v.empty()) {
      size_t comma = v.rfind(',');
      std::string_view entry =
          str::trimOws(comma == std::string_view::npos ? v : v.substr(comma + 1));
      if (skip == 0) return entry;
      --skip;
      if (comma == std::string_view::npos) break;
      v = v.substr(0, comma);
    }
  }
  return {};
}

}  // namespace gh::http
