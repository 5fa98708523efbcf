// Retry decisions, full-jitter backoff and the retry budget.

#include "core/upstream/retry.h"

#include <catch2/catch.hpp>

#include "core/upstream/hash.h"

using namespace gh::upstream;

namespace {

RetryPolicy gatewayPolicy() {
  RetryPolicy p;
  p.attempts = 2;
  p.addCode(502);
  p.addCode(503);
  return p;
}

Attempt statusAttempt(int status, uint32_t tries = 1) {
  Attempt a;
  a.failure = AttemptFailure::kStatus;
  a.status = status;
  a.triesSoFar = tries;
  a.idempotent = true;
  return a;
}

}  // namespace

TEST_CASE("isIdempotent", "[upstream][retry]") {
  for (auto m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) CHECK(isIdempotent(m));
  for (auto m : {"POST", "PATCH", "CONNECT", "get"}) CHECK_FALSE(isIdempotent(m));
}

TEST_CASE("codes, connect failures and resets are retried; attempts bound",
          "[upstream][retry]") {
  RetryPolicy p = gatewayPolicy();
  CHECK(decideRetry(p, statusAttempt(503)) == RetryDecision::kRetry);
  CHECK(decideRetry(p, statusAttempt(502, 2)) == RetryDecision::kRetry);
  CHECK(decideRetry(p, statusAttempt(502, 3)) == RetryDecision::kAttemptsExhausted);
  CHECK(decideRetry(p, statusAttempt(500)) == RetryDecision::kNotCovered);
  CHECK(decideRetry(p, statusAttempt(504)) == RetryDecision::kNotCovered);
  Attempt a;
  a.failure = AttemptFailure::kConnectFailure;
  CHECK(decideRetry(p, a) == RetryDecision::kRetry);
  a.failure = AttemptFailure::kReset;
  a.idempotent = true;
  CHECK(decideRetry(p, a) == RetryDecision::kRetry);
  a.failure = AttemptFailure::kTimeout;
  CHECK(decideRetry(p, a) == RetryDecision::kNotCovered);
  p.retryOn |= kRetryOnTimeout;
  CHECK(decideRetry(p, a) == RetryDecision::kRetry);
  RetryPolicy none;
  CHECK(decideRetry(none, statusAttempt(503)) == RetryDecision::kNotCovered);
}

TEST_CASE("retryOn 5xx and gateway-error", "[upstream][retry]") {
  RetryPolicy p;
  p.attempts = 1;
  p.retryOn = kRetryOn5xx;
  CHECK(decideRetry(p, statusAttempt(500)) == RetryDecision::kRetry);
  CHECK(decideRetry(p, statusAttempt(599)) == RetryDecision::kRetry);
  CHECK(decideRetry(p, statusAttempt(429)) == RetryDecision::kNotCovered);
  Attempt reset;
  reset.failure = AttemptFailure::kReset;
  reset.idempotent = true;
  CHECK(decideRetry(p, reset) == RetryDecision::kRetry);
  p.retryOn = kRetryOnGatewayError;
  CHECK(decideRetry(p, statusAttempt(500)) == RetryDecision::kNotCovered);
  CHECK(decideRetry(p, statusAttempt(504)) == RetryDecision::kRetry);
  CHECK(decideRetry(p, reset) == RetryDecision::kNotCovered);
}

TEST_CASE("only safe retries: idempotent, or no body byte sent; never after forwarding",
          "[upstream][retry]") {
  RetryPolicy p = gatewayPolicy();
  Attempt a = statusAttempt(503);
  a.idempotent = false;  // POST
  CHECK(decideRetry(p, a) == RetryDecision::kRetry);  // no body byte went out
  a.requestBodySent = true;
  CHECK(decideRetry(p, a) == RetryDecision::kUnsafe);
  a.failure = AttemptFailure::kConnectFailure;  // nothing was sent at all
  CHECK(decideRetry(p, a) == RetryDecision::kRetry);
  a.failure = AttemptFailure::kReset;
  CHECK(decideRetry(p, a) == RetryDecision::kUnsafe);
  Attempt g = statusAttempt(503);
  g.requestBodySent = true;  // PUT with a body: idempotent
  CHECK(decideRetry(p, g) == RetryDecision::kRetry);
  g.responseForwarded = true;
  CHECK(decideRetry(p, g) == RetryDecision::kUnsafe);
}

TEST_CASE("backoff: full jitter under base * 2^n, capped", "[upstream][retry]") {
  RetryPolicy p;
  p.backoffBaseMs = 25;  // cap 250
  Rng r(11);
  for (uint32_t n = 0; n < 70; ++n) {
    const uint64_t ceiling = n < 4 ? (25u << n) : 250;
    uint64_t lo = UINT64_MAX, hi = 0, sum = 0;
    for (int k = 0; k < 4000; ++k) {
      uint64_t b = retryBackoffMs(p, n, r.next());
      lo = std::min(lo, b);
      hi = std::max(hi, b);
      sum += b;
    }
    INFO("retry " << n);
    CHECK(hi <= ceiling);
    CHECK(lo <= ceiling / 20 + 1);        // reaches near 0...
    CHECK(hi >= ceiling - ceiling / 20);  // ...and near the ceiling
    CHECK(double(sum) / 4000 == Approx(ceiling / 2.0).epsilon(0.06));
  }
  p.backoffMaxMs = 60;
  CHECK(retryBackoffMs(p, 5, ~uint64_t{0} - 3) <= 60);
  p.backoffBaseMs = 0;
  CHECK(retryBackoffMs(p, 3, 12345) == 0);
}

TEST_CASE("retry budget: 20% of active requests, minimum 3", "[upstream][retry]") {
  RetryBudget b(20, 3, 1, 0);
  CHECK(b.allowed() == 3);
  for (int k = 0; k < 3; ++k) CHECK(b.tryAcquire());
  CHECK_FALSE(b.tryAcquire());  // no traffic: only the minimum
  for (int k = 0; k < 100; ++k) b.onRequestStart();
  CHECK(b.allowed() == 20);
  int granted = 0;
  for (int k = 0; k < 100; ++k) granted += b.tryAcquire();
  CHECK(granted == 17);  // 20 in flight in all
  CHECK(b.refused() == 84);
  b.onRetryEnd();
  CHECK(b.tryAcquire());
  // Full outage simulation: 1000 requests, every attempt fails; retries in flight never
  // exceed the budget.
  RetryBudget o(20, 3, 1, 0);
  uint32_t peak = 0;
  for (int k = 0; k < 1000; ++k) {
    o.onRequestStart();
    if (o.tryAcquire()) peak = std::max(peak, o.activeRetries());
  }
  CHECK(peak == 200);
  CHECK(o.refused() == 800);
}

TEST_CASE("retry budget minimum is split across workers", "[upstream][retry]") {
  CHECK(RetryBudget(20, 3, 2, 0).allowed() == 2);
  CHECK(RetryBudget(20, 3, 2, 1).allowed() == 1);
  CHECK(RetryBudget(20, 3, 8, 7).allowed() == 1);
}
