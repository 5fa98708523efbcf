#pragma once
// Retry decisions and the retry budget.
//
// Pure and allocation-free: the caller (the HTTP session) describes a failed attempt, these
// functions say whether to try again and after how long. The random bits for jitter come from
// the caller (the worker's Rng), so tests are deterministic.
//
// RetryPolicy follows the HTTPRoute `retry` field (attempts, backoff, codes) plus Envoy's
// retry_on conditions. A retry is allowed when all of these hold:
//   1. the policy covers the failure (retryOn: a status in `codes`, any 5xx, a gateway error
//      502/503/504, a connect failure, a reset, a per-try timeout);
//   2. attempts are left: `attempts` counts retries, so a request is tried at most
//      1 + attempts times;
//   3. it is safe: nothing was forwarded to the client yet, and either the method is
//      idempotent (RFC 9110: GET HEAD OPTIONS TRACE PUT DELETE) or the upstream never saw a
//      body byte — a connect failure is always safe, since nothing was sent;
//   4. the retry budget of the Service on this worker has room (RetryBudget::tryAcquire).
// The decision names the first rule that said no, so each refusal can be counted apart.
//
// Backoff: full jitter (AWS architecture blog's name): the n-th retry (n = 0, 1, ...) waits a
// uniformly random time in [0, min(maxBackoff, base * 2^n)]. Envoy's defaults: base 25 ms,
// max 10 x base.
//
// RetryBudget (one per Service per worker; not thread-safe): retries in flight may be at most
// budgetPercent of the requests in flight, but minConcurrent are always allowed — so retries
// help when a few requests fail and cannot multiply load during a full outage. Envoy's numbers:
// 20%, minimum 3. Per worker, like the circuit breaker: the percentage is a ratio and holds
// per worker as it would per process; the minimum is split across workers with workerShare()
// (at least 1 each), so W workers allow max(3, W) concurrent retries in all.

#include <bitset>
#include <cstdint>
#include <string_view>

namespace gh::upstream {

enum RetryOn : uint32_t {
  kRetryOnRetriableCodes = 1u << 0,  // a status listed in codes
  kRetryOn5xx = 1u << 1,             // any 5xx, and also connect failures, resets, timeouts
  kRetryOnGatewayError = 1u << 2,    // 502, 503, 504
  kRetryOnConnectFailure = 1u << 3,
  kRetryOnReset = 1u << 4,
  kRetryOnTimeout = 1u << 5,         // the per-try (backendRequest) timeout
};

struct RetryPolicy {
  uint32_t attempts = 0;  // retries after the first try; 0 = no retry
  uint64_t backoffBaseMs = 25;
  uint64_t backoffMaxMs = 0;  // 0: 10 x base
  // Gateway API retry with `codes` implies codes plus connect failures and resets (issue 6).
  uint32_t retryOn = kRetryOnRetriableCodes | kRetryOnConnectFailure | kRetryOnReset;
  std::bitset<600> codes;  // retriable statuses (index = status)

  void addCode(int status) {
    if (status >= 100 && status < 600) codes.set(static_cast<size_t>(status));
  }
};

enum class AttemptFailure : uint8_t {
  kStatus,          // a complete response head with `status`
  kConnectFailure,  // connection not established (nothing sent)
  kReset,           // connection failed after the request started going out
  kTimeout,         // per-try timeout
};

struct Attempt {
  AttemptFailure failure = AttemptFailure::kStatus;
  int status = 0;                   // for kStatus
  uint32_t triesSoFar = 1;          // attempts made, this one included
  bool idempotent = false;          // isIdempotent(method)
  bool requestBodySent = false;     // any request body byte was written upstream
  bool responseForwarded = false;   // any response byte reached the client
};

enum class RetryDecision : uint8_t {
  kRetry,
  kNotCovered,         // the policy does not retry this failure (or there is no policy)
  kAttemptsExhausted,
  kUnsafe,             // not idempotent and body sent, or response already forwarded
};

bool isIdempotent(std::string_view method);

// Rules 1-3; the caller then asks the budget (rule 4).
RetryDecision decideRetry(const RetryPolicy& policy, const Attempt& attempt);

// Delay before retry number `retryIndex` (0 for the first retry); `random` is 64 random bits.
uint64_t retryBackoffMs(const RetryPolicy& policy, uint32_t retryIndex, uint64_t random);

class RetryBudget {
 public:
  RetryBudget() = default;
  RetryBudget(uint32_t budgetPercent, uint32_t minConcurrent, uint32_t workers, uint32_t index);

  void onRequestStart() { ++active_; }
  void onRequestEnd() {
    if (active_) --active_;
  }
  // Call before a retry; true means go ahead and call onRetryEnd() when that attempt ends.
  bool tryAcquire();
  void onRetryEnd() {
    if (retries_) --retries_;
  }
  uint32_t allowed() const;  // retries that may be in flight now
  uint32_t activeRequests() const { return active_; }
  uint32_t activeRetries() const { return retries_; }
  uint64_t refused() const { return refused_; }

 private:
  uint32_t percent_ = 20;
  uint32_t minConcurrent_ = 3;
  uint32_t active_ = 0;
  uint32_t retries_ = 0;
  uint64_t refused_ = 0;
};

}  // namespace gh::upstream
