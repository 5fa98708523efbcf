#pragma once
// MeshNode: this node's part in the mesh, run on the control thread (spec/mesh.md).
//
// It owns the node's workload identity as the data path uses it (config::NodeIdentity, made
// from DATA_DIR/identity/ on every change), keeps it fresh, and on the CA node serves
// enrollment:
//
//   identity    loaded at start and after every renewal. On the node that holds the CA, a
//               configuration that needs an identity gets one issued from the local CA if the
//               node has none yet (the only Workload's service account, else
//               ns/default/sa/gatehouse); any other node must `gatehouse join` first.
//   renewal     at identity.renewAt() (half-life plus jitter): the CA node signs a new key
//               itself; other nodes call the CA (MeshConfig.caAddress, else the address they
//               joined) over mTLS with their current certificate, on a background thread so
//               the control loop never blocks. Then onRenewed() runs on the control thread and
//               the server compiles the serving version again with the new certificate: new
//               handshakes use it, established connections finish with the old one. A failed
//               renewal is retried after a tenth of the remaining lifetime (at least 5 s, at
//               most 5 min); an expired certificate is logged and reported by /ready.
//   enrollment  when DATA_DIR/ca exists and the configuration has a MeshConfig, the
//               enrollment server listens on the port of MeshConfig.caAddress (default 15012),
//               on its host when that is an IP literal, else on all addresses.
//
// Not thread-safe: control thread only (the renewal thread only touches files and posts).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/base/status.h"
#include "core/config/model.h"
#include "core/config/snapshot.h"
#include "core/event/loop.h"

namespace gh::identity {
class EnrollmentServer;
}

namespace gh::server {

// DATA_DIR/identity/ as compile() uses it: certificate and key, the trust bundle of its
// trust domain, and the mTLS client context made once for it. Also gives the renewal time
// and serial when asked. Used by MeshNode and by `gatehouse validate --stored`.
Result<std::shared_ptr<const config::NodeIdentity>> loadNodeIdentity(
    const std::string& identityDir, int64_t* renewAt = nullptr, std::string* serial = nullptr);

class MeshNode {
 public:
  // `onRenewed` runs on the control thread after the identity changed.
  MeshNode(event::Loop& loop, std::string dataDir, std::function<void()> onRenewed);
  ~MeshNode();

  // Readies the node for a resource set about to be compiled: issues the CA node's identity
  // if needed, starts, moves or stops the enrollment server. A failure refuses the version.
  Status prepare(const std::vector<config::Resource>& resources);

  // The identity for compile(), or null when the node has none.
  const config::NodeIdentity* identity() const { return identity_ ? identity_.get() : nullptr; }
  // Whether the node's certificate is valid now (true when the node has no identity).
  bool certificateValid(int64_t now) const;
  int64_t renewAt() const { return renewAt_; }

 private:
  Status loadIdentity();
  void schedule(int64_t at);
  static void onRenewTimer(void* arg);
  void renew();
  void renewed(Status result);

  event::Loop& loop_;
  std::string dataDir_;
  std::string caDir_;
  std::string identityDir_;
  std::function<void()> onRenewed_;
  std::shared_ptr<const config::NodeIdentity> identity_;
  int64_t renewAt_ = 0;
  int64_t ttlSeconds_ = 86400;
  std::string caAddress_;  // from MeshConfig ("" = the joined address)
  std::string enrollmentBind_;
  std::unique_ptr<identity::EnrollmentServer> enrollment_;
  std::unique_ptr<event::Timer> timer_;
  std::shared_ptr<std::atomic<bool>> alive_;  // the renewal thread posts only while true
  std::thread renewThread_;                   // joined before the next and at destruction
  bool renewing_ = false;
};

}  // namespace gh::server
