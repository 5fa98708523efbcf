#pragma once
// How the certificate subcommands (cert status / issue / renew, join) print times and a newly
// stored identity, so they all read alike.

#include <cstdint>
#include <cstdio>
#include <string>

#include "cmd/gatehouse/config_files.h"
#include "core/identity/enrollment_client.h"
#include "core/identity/workload.h"

namespace gh::cli {

// "23h59m", "4m10s", "-2h5m" (negative: in the past).
inline std::string formatSpan(int64_t seconds) {
  std::string sign = seconds < 0 ? "-" : "";
  uint64_t s = static_cast<uint64_t>(seconds < 0 ? -seconds : seconds);
  char buf[48];
  if (s >= 86400 * 2)
    snprintf(buf, sizeof buf, "%llud%lluh", (unsigned long long)(s / 86400),
             (unsigned long long)(s % 86400 / 3600));
  else if (s >= 3600)
    snprintf(buf, sizeof buf, "%lluh%llum", (unsigned long long)(s / 3600),
             (unsigned long long)(s % 3600 / 60));
  else
    snprintf(buf, sizeof buf, "%llum%llus", (unsigned long long)(s / 60),
             (unsigned long long)(s % 60));
  return sign + buf;
}

// "2026-11-27 17:28:27Z (in 24h0m)" / "... (5m0s ago)".
inline std::string when(int64_t t, int64_t now) {
  std::string out = formatTime(t * 1000);
  out += t >= now ? " (in " + formatSpan(t - now) + ")" : " (" + formatSpan(now - t) + " ago)";
  return out;
}

// "<verb> <spiffe id>" then serial, not-after and renewal time, as cert issue prints them.
inline void printIssued(const char* verb, const identity::WorkloadIdentity& id, int64_t now) {
  printf("%s %s\n", verb, id.id.uri().c_str());
  printf("serial:    %s\n", id.certificate.serialHex.c_str());
  printf("not after: %s\n", when(id.certificate.notAfter, now).c_str());
  printf("renewal:   %s\n", when(id.renewAt(), now).c_str());
}

// The exit code of spec/cli.md for a failed join or renewal.
inline int exitFor(identity::EnrollmentFailure why) {
  switch (why) {
    case identity::EnrollmentFailure::kInvalid: return 2;      // usage
    case identity::EnrollmentFailure::kRefused: return 1;      // refused / pin mismatch
    case identity::EnrollmentFailure::kUnreachable: return 3;  // cannot reach the CA
    case identity::EnrollmentFailure::kLocal: return 3;        // cannot use the data dir
    case identity::EnrollmentFailure::kNone: break;
  }
  return 1;
}

}  // namespace gh::cli
