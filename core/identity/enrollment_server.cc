#include "core/identity/enrollment_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

#include "core/base/log.h"
#include "core/identity/ca.h"
#include "core/identity/certificate.h"
#include "core/identity/encoding.h"
#include "core/identity/enrollment.h"
#include "core/identity/enrollment_io.h"
#include "core/identity/enrollment_wire.h"
#include "core/identity/token.h"
#include "core/identity/verify.h"
#include "core/identity/workload.h"

namespace gh::identity {
namespace {

struct Reply {
  int status = 200;
  std::string body;  // JSON
};

Reply errorReply(int status, std::string_view message) {
  return {status, wire::jsonObject({{"error", message}})};
}

// "spiffe://... (serial S, until T)" of an issued PEM leaf, for the log.
std::string describeIssued(const IssuedCertificate& issued) {
  auto der = pemDecode(issued.certificatePem, "CERTIFICATE");
  if (!der.ok() || der->empty()) return "?";
  auto info = CertificateInfo::fromDer(der->front());
  if (!info.ok()) return "?";
  std::string id = info->uriSans.empty() ? "?" : info->uriSans.front();
  return id + " (serial " + info->serialHex + ", not after " + std::to_string(info->notAfter) +
         ")";
}

}  // namespace

struct EnrollmentServer::Impl {
  EnrollmentServerOptions options;
  std::unique_ptr<CertificateAuthority> ca;
  std::unique_ptr<TokenStore> tokens;
  io::Fd listenFd;
  uint16_t port = 0;
  io::Fd stopRead, stopWrite;
  std::atomic<int64_t> leafTtl{0};

  mutable std::mutex mu;  // guards ctx and servedId
  std::shared_ptr<SSL_CTX> ctx;
  std::string servedId;

  struct Slot {
    std::thread thread;
    std::atomic<bool> busy{false};
  };
  std::unique_ptr<Slot[]> slots;
  std::thread acceptThread;

  std::atomic<uint64_t> connections{0}, busy{0}, requests{0}, joined{0}, renewed{0}, refused{0},
      failed{0};

  Status loadIdentity();
  void acceptLoop();
  void serve(int slot, io::Fd fd, std::string peer);
  Reply handle(const wire::RequestHead& head, std::string_view body,
               const std::vector<std::string>& peerChain, const std::string& peer);
  Reply join(std::string_view body, const std::string& peer);
  Reply renew(std::string_view body, const std::vector<std::string>& peerChain,
              const std::string& peer);
};

Status EnrollmentServer::Impl::loadIdentity() {
  const std::string& dir = options.identityDir;
  if (!WorkloadIdentity::existsIn(dir))
    return Status::error("enrollment server: no workload identity in " + dir +
                         " to serve with (gatehouse cert issue makes one on the CA node)");
  auto id = WorkloadIdentity::load(dir);
  if (!id.ok()) return Status::error("enrollment server: " + id.status().message());
  const int64_t now = time(nullptr);
  std::vector<TrustBundle> bundles = {{ca->trustDomain(), {ca->certificateDer()}}};
  SvidVerdict v = verifySvid({id->certificate.der}, bundles, now);
  if (v.error == SvidError::kExpired || v.error == SvidError::kNotYetValid) {
    // Served anyway: a later reloadIdentity() fixes it, and joiners say what is wrong.
    LOG_WARN("enrollment: this node's certificate %s is %s; joining nodes will refuse it "
             "(gatehouse cert issue renews it)",
             id->id.uri().c_str(), svidErrorName(v.error));
  } else if (!v.ok()) {
    return Status::error("enrollment server: this node's certificate in " + dir +
                         " does not verify under the CA in " + options.caDir + " (" +
                         svidErrorName(v.error) + "): " + v.detail);
  }
  io::ChainAndKey chain{{id->certificate.der, ca->certificateDer()}, id->key->get()};
  auto newCtx = io::newContext(true, &chain);
  if (!newCtx.ok()) return Status::error("enrollment server: " + newCtx.status().message());
  std::shared_ptr<SSL_CTX> shared(newCtx->release(), SSL_CTX_free);
  std::lock_guard<std::mutex> lock(mu);
  ctx = std::move(shared);
  servedId = id->id.uri();
  return okStatus();
}

void EnrollmentServer::Impl::acceptLoop() {
  const int max = options.maxConnections;
  while (true) {
    pollfd p[2] = {{listenFd.get(), POLLIN, 0}, {stopRead.get(), POLLIN, 0}};
    int n = ::poll(p, 2, 1000);
    if (n < 0 && errno != EINTR) {
      LOG_ERROR("enrollment: poll: %s", strerror(errno));
      return;
    }
    if (p[1].revents & POLLIN) return;
    if (n <= 0 || !(p[0].revents & POLLIN)) continue;
    while (true) {
      sockaddr_storage ss;
      socklen_t len = sizeof ss;
      int fd = ::accept4(listenFd.get(), reinterpret_cast<sockaddr*>(&ss), &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        if (errno == ECONNABORTED) continue;
        LOG_WARN("enrollment: accept: %s", strerror(errno));
        usleep(100'000);  // EMFILE and friends: do not spin
        break;
      }
      io::Fd conn(fd);
      std::string peer = io::peerAddress(fd);
      int slot = -1;
      for (int i = 0; i < max && slot < 0; ++i)
        if (!slots[i].busy.load(std::memory_order_acquire)) slot = i;
      if (slot < 0) {
        ++busy;
        LOG_WARN("enrollment: %s: closed at once, %d connections are in progress", peer.c_str(),
                 max);
        continue;  // conn closes here
      }
      ++connections;
      Slot& s = slots[slot];
      if (s.thread.joinable()) s.thread.join();  // finished: busy was cleared as its last act
      s.busy.store(true, std::memory_order_release);
      s.thread = std::thread(&Impl::serve, this, slot, std::move(conn), std::move(peer));
    }
  }
}

void EnrollmentServer::Impl::serve(int slot, io::Fd fd, std::string peer) {
  io::SigpipeGuard noSigpipe;
  std::shared_ptr<SSL_CTX> context;
  {
    std::lock_guard<std::mutex> lock(mu);
    context = ctx;
  }
  const int64_t deadline = io::monotonicMillis() + options.connectionDeadlineMillis;
  io::TlsChannel ch(context.get(), std::move(fd), true, deadline, stopRead.get());
  auto fail = [&](const std::string& why) {
    ++failed;
    LOG_WARN("enrollment: %s: %s", peer.c_str(), why.c_str());
  };
  auto answer = [&](const Reply& r, size_t unreadBody = 0) {
    if (r.status >= 400) ++refused;
    Status s = ch.writeAll(wire::formatResponse(r.status, r.body));
    if (!s.ok()) LOG_WARN("enrollment: %s: answering: %s", peer.c_str(), s.message().c_str());
    if (unreadBody > 0) ch.drain(std::min<size_t>(unreadBody, 1 << 20), 2000);
    ch.shutdown();
  };

  Status hs = ch.handshake();
  if (!hs.ok()) {
    fail(hs.message());
  } else {
    std::string buffer;
    auto headLen = ch.readHead(&buffer);
    if (!headLen.ok()) {
      if (buffer.size() >= wire::kMaxHeadBytes)
        answer(errorReply(431, headLen.status().message()));
      fail(headLen.status().message());
    } else {
      auto head = wire::parseRequestHead(std::string_view(buffer).substr(0, *headLen));
      if (!head.ok()) {
        fail(head.status().message());
        answer(errorReply(400, head.status().message()));
      } else {
        ++requests;
        if (head->contentLength > wire::kMaxRequestBodyBytes) {
          LOG_WARN("enrollment: %s: %s %s: a body of %llu bytes (at most %zu)", peer.c_str(),
                   head->method.c_str(), head->target.c_str(),
                   static_cast<unsigned long long>(head->contentLength),
                   wire::kMaxRequestBodyBytes);
          answer(errorReply(413, "the body may hold at most " +
                                     std::to_string(wire::kMaxRequestBodyBytes) + " bytes"),
                 head->contentLength);
        } else {
          Status body = ch.readUntil(&buffer, *headLen + head->contentLength);
          if (!body.ok()) {
            fail(head->method + " " + head->target + ": " + body.message());
          } else {
            std::string_view bodyBytes =
                std::string_view(buffer).substr(*headLen, head->contentLength);
            answer(handle(*head, bodyBytes, ch.peerChain(), peer));
          }
        }
      }
    }
  }
  slots[slot].busy.store(false, std::memory_order_release);
}

Reply EnrollmentServer::Impl::handle(const wire::RequestHead& head, std::string_view body,
                                     const std::vector<std::string>& peerChain,
                                     const std::string& peer) {
  const bool isJoin = head.target == "/v1/join";
  const bool isRenew = head.target == "/v1/renew";
  if (!isJoin && !isRenew) {
    LOG_WARN("enrollment: %s: %s %s: not found", peer.c_str(), head.method.c_str(),
             head.target.c_str());
    return errorReply(404, "no such endpoint (POST /v1/join or /v1/renew)");
  }
  if (head.method != "POST") {
    LOG_WARN("enrollment: %s: %s %s: method not allowed", peer.c_str(), head.method.c_str(),
             head.target.c_str());
    return errorReply(405, head.target + " takes POST");
  }
  if (!head.hasContentLength) {
    LOG_WARN("enrollment: %s: POST %s without Content-Length", peer.c_str(), head.target.c_str());
    return errorReply(411, "a body with Content-Length is required");
  }
  return isJoin ? join(body, peer) : renew(body, peerChain, peer);
}

Reply EnrollmentServer::Impl::join(std::string_view body, const std::string& peer) {
  auto json = wire::JsonStrings::parse(body);
  const std::string* token = json.ok() ? json->get("token") : nullptr;
  const std::string* csr = json.ok() ? json->get("csr") : nullptr;
  if (!token || !csr) {
    std::string why = json.ok() ? "expected {\"token\": TOKEN, \"csr\": PEM}"
                                : "the body is not a JSON object: " + json.status().message();
    LOG_WARN("enrollment: %s: join refused: %s", peer.c_str(), why.c_str());
    return errorReply(400, why);
  }
  // Only the token's id (never its secret) goes to logs and answers.
  auto parsed = JoinToken::parse(*token);
  if (!parsed.ok()) {
    LOG_WARN("enrollment: %s: join refused: %s", peer.c_str(), parsed.status().message().c_str());
    return errorReply(400, parsed.status().message());
  }
  const std::string& tokenId = parsed->id;
  auto spki = csrPublicKey(*csr);
  if (!spki.ok()) {
    LOG_WARN("enrollment: %s: join with token %s refused: csr: %s", peer.c_str(), tokenId.c_str(),
             spki.status().message().c_str());
    return errorReply(400, "csr: " + spki.status().message());
  }
  EnrollmentAuthority authority(*ca, *tokens, leafTtl.load());
  auto issued = authority.enroll(*token, *csr, time(nullptr));
  if (!issued.ok()) {
    LOG_WARN("enrollment: %s: join with token %s (claims %s) refused: %s", peer.c_str(),
             tokenId.c_str(), parsed->spiffeId.uri().c_str(), issued.status().message().c_str());
    return errorReply(403, issued.status().message());
  }
  ++joined;
  LOG_INFO("enrollment: %s joined as %s with token %s", peer.c_str(),
           describeIssued(*issued).c_str(), tokenId.c_str());
  return {200, wire::jsonObject({{"certificate", issued->certificatePem},
                                 {"bundle", issued->bundlePem}})};
}

Reply EnrollmentServer::Impl::renew(std::string_view body,
                                    const std::vector<std::string>& peerChain,
                                    const std::string& peer) {
  const int64_t now = time(nullptr);
  std::vector<TrustBundle> bundles = {{ca->trustDomain(), {ca->certificateDer()}}};
  SvidVerdict v = verifySvid(peerChain, bundles, now, SvidRole::kClient);
  if (!v.ok()) {
    std::string why = std::string(svidErrorName(v.error)) + ": " +
                      (v.error == SvidError::kNoCertificate
                           ? "renewal is authenticated by the current certificate, sent as the "
                             "TLS client certificate"
                           : v.detail);
    if (v.error == SvidError::kExpired) why += " (an expired node must join again)";
    LOG_WARN("enrollment: %s: renewal refused: %s", peer.c_str(), why.c_str());
    return errorReply(401, why);
  }
  auto json = wire::JsonStrings::parse(body);
  const std::string* csr = json.ok() ? json->get("csr") : nullptr;
  if (!csr) {
    std::string why = json.ok() ? "expected {\"csr\": PEM}"
                                : "the body is not a JSON object: " + json.status().message();
    LOG_WARN("enrollment: %s: renewal of %s refused: %s", peer.c_str(), v.id.uri().c_str(),
             why.c_str());
    return errorReply(400, why);
  }
  EnrollmentAuthority authority(*ca, *tokens, leafTtl.load());
  auto issued = authority.renew(v.id, *csr, now);
  if (!issued.ok()) {
    LOG_WARN("enrollment: %s: renewal of %s refused: %s", peer.c_str(), v.id.uri().c_str(),
             issued.status().message().c_str());
    return errorReply(400, issued.status().message());
  }
  ++renewed;
  LOG_INFO("enrollment: %s renewed %s", peer.c_str(), describeIssued(*issued).c_str());
  return {200, wire::jsonObject({{"certificate", issued->certificatePem},
                                 {"bundle", issued->bundlePem}})};
}

// --- EnrollmentServer ---------------------------------------------------------------------

EnrollmentServer::EnrollmentServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<EnrollmentServer>> EnrollmentServer::start(
    const EnrollmentServerOptions& options) {
  if (options.leafTtlSeconds <= 0)
    return Status::error("enrollment server: the certificate lifetime must be positive");
  if (options.maxConnections < 1 || options.connectionDeadlineMillis < 1)
    return Status::error("enrollment server: limits must be positive");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->leafTtl.store(options.leafTtlSeconds);
  if (!CertificateAuthority::existsIn(options.caDir))
    return Status::error("enrollment server: no CA in " + options.caDir);
  auto ca = CertificateAuthority::load(options.caDir);
  if (!ca.ok()) return Status::error("enrollment server: " + ca.status().message());
  impl->ca = std::move(*ca);
  impl->tokens = std::make_unique<TokenStore>(options.caDir);
  Status s = impl->loadIdentity();
  if (!s.ok()) return s;
  auto listen = io::listenOn(options.bindHost, options.port, &impl->port);
  if (!listen.ok()) return listen.status();
  impl->listenFd = std::move(*listen);
  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) != 0)
    return Status::error(std::string("enrollment server: pipe: ") + strerror(errno));
  impl->stopRead = io::Fd(pipeFds[0]);
  impl->stopWrite = io::Fd(pipeFds[1]);
  impl->slots = std::make_unique<Impl::Slot[]>(static_cast<size_t>(options.maxConnections));
  Impl* raw = impl.get();
  impl->acceptThread = std::thread([raw] { raw->acceptLoop(); });
  std::string served;
  {
    std::lock_guard<std::mutex> lock(impl->mu);
    served = impl->servedId;
  }
  LOG_INFO("enrollment: serving joins and renewals for trust domain %s on %s:%u as %s",
           impl->ca->trustDomain().c_str(),
           options.bindHost.empty() ? "0.0.0.0" : options.bindHost.c_str(), impl->port,
           served.c_str());
  return std::unique_ptr<EnrollmentServer>(new EnrollmentServer(std::move(impl)));
}

EnrollmentServer::~EnrollmentServer() {
  if (!impl_) return;
  // The byte is never read: the pipe stays readable, and every wait polls it.
  char byte = 1;
  while (::write(impl_->stopWrite.get(), &byte, 1) < 0 && errno == EINTR) {
  }
  if (impl_->acceptThread.joinable()) impl_->acceptThread.join();
  for (int i = 0; i < impl_->options.maxConnections; ++i)
    if (impl_->slots[i].thread.joinable()) impl_->slots[i].thread.join();
}

uint16_t EnrollmentServer::port() const { return impl_->port; }

void EnrollmentServer::setLeafTtl(int64_t seconds) {
  if (seconds > 0) impl_->leafTtl.store(seconds);
}

Status EnrollmentServer::reloadIdentity() {
  Status s = impl_->loadIdentity();
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    LOG_INFO("enrollment: now serving as %s", impl_->servedId.c_str());
  }
  return s;
}

EnrollmentServer::Stats EnrollmentServer::stats() const {
  Stats s;
  s.connections = impl_->connections.load();
  s.busy = impl_->busy.load();
  s.requests = impl_->requests.load();
  s.joined = impl_->joined.load();
  s.renewed = impl_->renewed.load();
  s.refused = impl_->refused.load();
  s.failed = impl_->failed.load();
  return s;
}

}  // namespace gh::identity
