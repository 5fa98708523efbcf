#include "core/server/mesh_node.h"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <thread>

#include "core/base/log.h"
#include "core/base/strings.h"
#include "core/identity/ca.h"
#include "core/identity/encoding.h"
#include "core/identity/enrollment_client.h"
#include "core/identity/enrollment_server.h"
#include "core/identity/workload.h"
#include "core/net/address.h"
#include "core/tls/client_context.h"
#include "core/tls/server_context.h"

namespace gh::server {

namespace {

constexpr uint16_t kDefaultCaPort = 15012;

// "host:port" / "[v6]:port" -> host, port (the decoder has checked the form).
bool splitHostPort(const std::string& s, std::string* host, uint16_t* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  uint64_t p = 0;
  if (!str::parseU64(s.substr(colon + 1), &p) || p == 0 || p > 65535) return false;
  *host = s.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']')
    *host = host->substr(1, host->size() - 2);
  *port = static_cast<uint16_t>(p);
  return true;
}

}  // namespace

MeshNode::MeshNode(event::Loop& loop, std::string dataDir, std::function<void()> onRenewed)
    : loop_(loop),
      dataDir_(std::move(dataDir)),
      caDir_(dataDir_ + "/ca"),
      identityDir_(dataDir_ + "/identity"),
      onRenewed_(std::move(onRenewed)),
      alive_(std::make_shared<std::atomic<bool>>(true)) {
  if (identity::WorkloadIdentity::existsIn(identityDir_)) {
    if (Status s = loadIdentity(); !s.ok())
      LOG_ERROR("workload identity in %s: %s", identityDir_.c_str(), s.message().c_str());
  }
}

MeshNode::~MeshNode() {
  alive_->store(false);
  if (renewThread_.joinable()) renewThread_.join();  // bounded by the client's timeouts
  enrollment_.reset();
}

Result<std::shared_ptr<const config::NodeIdentity>> loadNodeIdentity(
    const std::string& identityDir, int64_t* renewAt, std::string* serial) {
  auto loaded = identity::WorkloadIdentity::load(identityDir);
  if (!loaded.ok()) return loaded.status();
  const identity::WorkloadIdentity& w = loaded.value();
  auto certificate = tls::Certificate::fromPem(
      identity::pemEncode(w.certificate.der, "CERTIFICATE"), w.key->pem(),
      identityDir + "/" + identity::WorkloadIdentity::kCertFile,
      identityDir + "/" + identity::WorkloadIdentity::kKeyFile);
  if (!certificate.ok()) return certificate.status();
  auto trust = std::make_shared<tls::PeerTrust>();
  identity::TrustBundle bundle;
  bundle.trustDomain = std::string(w.id.trustDomain());
  for (const identity::CertificateInfo& root : w.bundle) bundle.rootsDer.push_back(root.der);
  trust->bundles.push_back(std::move(bundle));
  auto node = std::make_shared<config::NodeIdentity>();
  node->spiffeId = w.id.uri();
  node->trustDomain = std::string(w.id.trustDomain());
  node->certificate = std::move(certificate.value());
  node->trust = std::move(trust);
  node->notAfter = w.certificate.notAfter;
  auto client = tls::ClientContext::build(node->certificate, node->trust);
  if (!client.ok()) return client.status();
  node->client = std::move(client.value());
  if (renewAt) *renewAt = w.renewAt();
  if (serial) *serial = w.certificate.serialHex;
  return std::shared_ptr<const config::NodeIdentity>(std::move(node));
}

Status MeshNode::loadIdentity() {
  int64_t renewAt = 0;
  std::string serial;
  auto node = loadNodeIdentity(identityDir_, &renewAt, &serial);
  if (!node.ok()) return node.status();
  identity_ = std::move(node.value());
  LOG_INFO("workload identity %s (serial %s, valid until %lld, renewal at %lld)",
           identity_->spiffeId.c_str(), serial.c_str(),
           static_cast<long long>(identity_->notAfter), static_cast<long long>(renewAt));
  schedule(renewAt);
  return okStatus();
}

bool MeshNode::certificateValid(int64_t now) const {
  return !identity_ || now < identity_->notAfter;
}

void MeshNode::schedule(int64_t at) {
  renewAt_ = at;
  if (!timer_) timer_ = std::make_unique<event::Timer>(loop_, &MeshNode::onRenewTimer, this);
  int64_t delay = std::max<int64_t>(0, at - static_cast<int64_t>(time(nullptr)));
  timer_->arm(static_cast<uint64_t>(delay) * 1000);
}

Status MeshNode::prepare(const std::vector<config::Resource>& resources) {
  const config::MeshConfigSpec* mesh = nullptr;
  const config::Resource* onlyWorkload = nullptr;
  size_t workloads = 0;
  for (const config::Resource& r : resources) {
    if (r.kind == config::Kind::kMeshConfig) mesh = &r.meshConfig();
    if (r.kind == config::Kind::kWorkload) {
      ++workloads;
      onlyWorkload = &r;
    }
  }
  config::MeshConfigSpec defaults;
  ttlSeconds_ = static_cast<int64_t>((mesh ? mesh->certificateTtlMs : defaults.certificateTtlMs) /
                                     1000);
  caAddress_ = mesh ? mesh->caAddress : std::string();
  bool caNode = identity::CertificateAuthority::existsIn(caDir_);
  bool serveEnrollment = caNode && mesh;

  if (!identity_ && caNode && (serveEnrollment || config::needsIdentity(resources))) {
    // The CA node issues its own identity: holding the CA key is the authority.
    auto ca = identity::CertificateAuthority::load(caDir_);
    if (!ca.ok()) return Status::error("mesh CA: " + ca.status().message());
    std::string ns = workloads == 1 ? onlyWorkload->meta.ns : "default";
    std::string sa = workloads == 1 ? onlyWorkload->workload().serviceAccount : "gatehouse";
    auto id = identity::SpiffeId::forWorkload((*ca)->trustDomain(), ns, sa);
    if (!id.ok()) return id.status();
    auto issued = identity::issueFromLocalCa(**ca, identityDir_, *id, ttlSeconds_, time(nullptr));
    if (!issued.ok()) return Status::error("issuing this node's identity: " +
                                           issued.status().message());
    LOG_INFO("issued this node's workload identity %s from the local CA", id->uri().c_str());
    if (Status s = loadIdentity(); !s.ok()) return s;
  }

  if (!serveEnrollment) {
    if (enrollment_) LOG_INFO("enrollment server stopped");
    enrollment_.reset();
    enrollmentBind_.clear();
    return okStatus();
  }
  std::string host = "0.0.0.0";
  uint16_t port = kDefaultCaPort;
  if (!mesh->caAddress.empty()) {
    std::string h;
    if (!splitHostPort(mesh->caAddress, &h, &port))
      return Status::error("MeshConfig caAddress " + mesh->caAddress + ": expected HOST:PORT");
    net::Address probe;
    if (net::Address::parse(h, port, &probe)) host = h;
  }
  std::string bind = host + "|" + std::to_string(port);
  if (enrollment_ && bind == enrollmentBind_) {
    enrollment_->setLeafTtl(ttlSeconds_);
    return okStatus();
  }
  enrollment_.reset();  // a new address: release the old port before binding the new one
  identity::EnrollmentServerOptions options;
  options.bindHost = host;
  options.port = port;
  options.caDir = caDir_;
  options.identityDir = identityDir_;
  options.leafTtlSeconds = ttlSeconds_;
  auto server = identity::EnrollmentServer::start(options);
  if (!server.ok()) return Status::error("enrollment server: " + server.status().message());
  enrollment_ = std::move(server.value());
  enrollmentBind_ = bind;
  LOG_INFO("enrollment server on %s:%u", host.c_str(), static_cast<unsigned>(enrollment_->port()));
  return okStatus();
}

void MeshNode::onRenewTimer(void* arg) { static_cast<MeshNode*>(arg)->renew(); }

void MeshNode::renew() {
  if (renewing_ || !identity_) return;
  int64_t now = time(nullptr);
  if (identity::CertificateAuthority::existsIn(caDir_)) {
    auto ca = identity::CertificateAuthority::load(caDir_);
    Status result = ca.status();
    if (ca.ok()) {
      auto id = identity::SpiffeId::parse(identity_->spiffeId);
      auto issued = id.ok() ? identity::issueFromLocalCa(**ca, identityDir_, *id, ttlSeconds_, now)
                            : Result<identity::WorkloadIdentity>(id.status());
      result = issued.ok() ? okStatus() : issued.status();
    }
    renewed(result);
    return;
  }
  std::string address = caAddress_.empty() ? identity::joinedCaAddress(identityDir_) : caAddress_;
  if (address.empty()) {
    renewed(Status::error("no CA address: set MeshConfig caAddress, or join with gatehouse join"));
    return;
  }
  // The call blocks on the network: off the control loop, then back onto it.
  renewing_ = true;
  if (renewThread_.joinable()) renewThread_.join();  // the previous one has posted: it is done
  std::string dir = identityDir_;
  auto alive = alive_;
  renewThread_ = std::thread([this, address, dir, alive] {
    auto r = identity::renewWithCa(address, dir, time(nullptr));
    Status result = r.ok() ? okStatus() : r.status();
    if (alive->load()) loop_.post([this, alive, result] {
      if (alive->load()) renewed(result);
    });
  });
}

void MeshNode::renewed(Status result) {
  renewing_ = false;
  if (result.ok()) {
    result = loadIdentity();
    if (result.ok()) {
      LOG_INFO("workload certificate renewed: new connections use it, open ones keep theirs");
      if (enrollment_) {
        if (Status s = enrollment_->reloadIdentity(); !s.ok())
          LOG_WARN("enrollment server keeps its certificate: %s", s.message().c_str());
      }
      onRenewed_();
      return;
    }
  }
  int64_t now = time(nullptr);
  int64_t left = identity_ ? identity_->notAfter - now : 0;
  int64_t retry = std::clamp<int64_t>(left / 10, 5, 300);
  if (left <= 0)
    LOG_ERROR("workload certificate %s has expired and renewal failed: %s; this node must join "
              "again (gatehouse join)",
              identity_ ? identity_->spiffeId.c_str() : "", result.message().c_str());
  else
    LOG_WARN("renewing the workload certificate failed: %s; retry in %llds",
             result.message().c_str(), static_cast<long long>(retry));
  schedule(now + retry);
}

}  // namespace gh::server
