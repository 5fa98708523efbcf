#pragma once
// EnrollmentServer: the CA node's door for joining and renewal (spec/mesh.md "Enrollment",
// MeshConfig.caAddress, default port 15012). It moves the values of enrollment.h over TLS; who
// gets which certificate is decided there (EnrollmentAuthority), not here.
//
//   POST /v1/join   {"token", "csr"}  -> EnrollmentAuthority::enroll -> 200 {"certificate","bundle"}
//                                        403 token refused, 400 bad request
//   POST /v1/renew  {"csr"}           -> needs a client certificate that verifySvid accepts
//                                        against this CA; EnrollmentAuthority::renew for the
//                                        identity it carries -> 200 as above; 401 {"error":
//                                        "<svid error name>: ..."} without a valid one
// Everything else: 404 / 405 / 400 / 413 with {"error"}. The token's secret is never echoed or
// logged (only its id). One request per connection; the answer ends it.
//
// TLS: 1.3 only (both ends are Gatehouse). The server's certificate is this node's own workload
// identity (DATA_DIR/identity/, WorkloadIdentity), sent with the CA root after it, so that a
// joining node can find the root its token pins in the chain (verifyPinnedServer). A client
// certificate is requested but optional: a join has none, a renewal presents its current one.
//
// Threads and blocking: enrollment is rare, so simplicity wins over the event loop. One thread
// accepts (poll on the listening socket and a stop pipe); each connection gets its own thread,
// at most maxConnections at a time (a connection beyond that is closed at once, counted in
// Stats::busy). All socket I/O is non-blocking under one absolute deadline per connection
// (connectionDeadlineMillis, 10 s, from accept to the last byte), so a slow or silent peer
// costs one slot for at most that long; a request head is capped at 8 KiB and a body at 64 KiB.
// Bad input of any kind ends the connection (with a 4xx when HTTP was spoken), never the server.
//
// Thread safety: start() and the destructor from one owner thread; port(), setLeafTtl(),
// reloadIdentity() and stats() from any thread. The destructor stops accepting, wakes every
// connection's wait and joins all threads (it returns promptly, not after the deadlines).
//
// Outcomes are logged (LOG_INFO for certificates issued, LOG_WARN for refusals and failures),
// naming the identity, the token id where there is one, and the peer address.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/base/status.h"

namespace gh::identity {

struct EnrollmentServerOptions {
  std::string bindHost;  // an IP literal ("0.0.0.0", "127.0.0.1", "::"); "" = any IPv4
  uint16_t port = 15012;  // 0: an ephemeral port (tests), see EnrollmentServer::port()
  std::string caDir;        // DATA_DIR/ca: the CA and its join-token records
  std::string identityDir;  // DATA_DIR/identity: this node's workload identity, served as TLS cert
  int64_t leafTtlSeconds = 86400;  // MeshConfig.certificateTTL of the certificates issued

  // Limits (the defaults are the contract; tests shorten the deadline).
  int64_t connectionDeadlineMillis = 10'000;
  int maxConnections = 16;
};

class EnrollmentServer {
 public:
  // What happened so far; monotonic counters.
  struct Stats {
    uint64_t connections = 0;  // accepted and served by a thread
    uint64_t busy = 0;         // accepted and closed at once: maxConnections were in use
    uint64_t requests = 0;     // complete HTTP request heads received (after TLS)
    uint64_t joined = 0;       // certificates issued by /v1/join
    uint64_t renewed = 0;      // certificates issued by /v1/renew
    uint64_t refused = 0;      // requests answered with a 4xx
    uint64_t failed = 0;       // connections that ended without an answer (TLS, timeouts, junk)
  };

  // Loads the CA from caDir and this node's identity from identityDir (which must verify
  // under that CA), binds (SO_REUSEADDR) and starts the accepting thread. Errors name what is
  // missing: no CA, no identity (gatehouse cert issue makes one on the CA node), the port.
  static Result<std::unique_ptr<EnrollmentServer>> start(const EnrollmentServerOptions& options);

  ~EnrollmentServer();
  EnrollmentServer(const EnrollmentServer&) = delete;
  EnrollmentServer& operator=(const EnrollmentServer&) = delete;

  // The bound port (the chosen one when options.port was 0).
  uint16_t port() const;
  // The lifetime of certificates issued from now on (MeshConfig changed). Thread-safe.
  void setLeafTtl(int64_t seconds);
  // Re-reads identityDir (after this node's own certificate was renewed); connections accepted
  // afterwards present the new certificate. On error the current one stays. Thread-safe.
  Status reloadIdentity();
  Stats stats() const;

 private:
  struct Impl;
  explicit EnrollmentServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gh::identity
