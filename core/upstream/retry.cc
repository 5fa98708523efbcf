#include "core/upstream/retry.h"

#include <algorithm>

#include "core/upstream/circuit.h"

namespace gh::upstream {

bool isIdempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" ||
         m == "DELETE";
}

namespace {

bool covered(const RetryPolicy& p, const Attempt& a) {
  const uint32_t on = p.retryOn;
  switch (a.failure) {
    case AttemptFailure::kStatus:
      if (a.status >= 100 && a.status < 600 && (on & kRetryOnRetriableCodes) &&
          p.codes.test(static_cast<size_t>(a.status)))
        return true;
      if (a.status >= 500 && a.status < 600 && (on & kRetryOn5xx)) return true;
      return a.status >= 502 && a.status <= 504 && (on & kRetryOnGatewayError);
    case AttemptFailure::kConnectFailure:
      return on & (kRetryOnConnectFailure | kRetryOn5xx | kRetryOnGatewayError);
    case AttemptFailure::kReset:
      return on & (kRetryOnReset | kRetryOn5xx);
    case AttemptFailure::kTimeout:
      return on & (kRetryOnTimeout | kRetryOn5xx | kRetryOnGatewayError);
  }
  return false;
}

}  // namespace

RetryDecision decideRetry(const RetryPolicy& p, const Attempt& a) {
  if (p.attempts == 0 || !covered(p, a)) return RetryDecision::kNotCovered;
  if (a.triesSoFar > p.attempts) return RetryDecision::kAttemptsExhausted;
  if (a.responseForwarded) return RetryDecision::kUnsafe;
  const bool nothingSent = a.failure == AttemptFailure::kConnectFailure;
  if (!nothingSent && !a.idempotent && a.requestBodySent) return RetryDecision::kUnsafe;
  return RetryDecision::kRetry;
}

uint64_t retryBackoffMs(const RetryPolicy& p, uint32_t retryIndex, uint64_t random) {
  const uint64_t base = p.backoffBaseMs;
  if (base == 0) return 0;
  const uint64_t cap = p.backoffMaxMs ? p.backoffMaxMs : 10 * base;
  uint64_t ceiling = cap;
  if (retryIndex < 63 && base <= (cap >> std::min<uint32_t>(retryIndex, 63)))
    ceiling = std::min(cap, base << retryIndex);
  return random % (ceiling + 1);
}

RetryBudget::RetryBudget(uint32_t budgetPercent, uint32_t minConcurrent, uint32_t workers,
                         uint32_t index)
    : percent_(budgetPercent), minConcurrent_(workerShare(minConcurrent, workers, index)) {}

uint32_t RetryBudget::allowed() const {
  const uint64_t byShare = uint64_t{active_} * percent_ / 100;
  return static_cast<uint32_t>(std::max<uint64_t>(minConcurrent_, byShare));
}

bool RetryBudget::tryAcquire() {
  if (retries_ >= allowed()) {
    ++refused_;
    return false;
  }
  ++retries_;
  return true;
}

}  // namespace gh::upstream
