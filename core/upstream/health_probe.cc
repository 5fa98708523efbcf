#include "core/upstream/health_probe.h"

#include "core/net/socket.h"

namespace gh::upstream {

HealthProbe::HealthProbe(event::Loop& loop, Callback done, void* arg)
    : loop_(loop),
      done_(done),
      arg_(arg),
      timer_(loop, &HealthProbe::onTimeout, this),
      failNow_(loop, &HealthProbe::onStartFailed, this) {}

HealthProbe::~HealthProbe() = default;

void HealthProbe::cancel() {
  timer_.cancel();
  failNow_.cancel();
  stream_.reset();
  connecting_ = false;
  running_ = false;
}

void HealthProbe::start(const net::Address& address, std::string_view host,
                        std::string_view path, uint64_t timeoutMs) {
  cancel();
  running_ = true;
  request_.clear();
  request_.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host);
  request_.append("\r\nUser-Agent: gatehouse-health-check\r\nConnection: close\r\n\r\n");
  auto fd = net::connectNonBlocking(address);
  if (!fd.ok()) {
    failNow_.arm(0, false);
    return;
  }
  stream_ = std::make_unique<net::Stream>(loop_, fd.value(), this);
  connecting_ = true;
  stream_->waitWritable();
  timer_.arm(timeoutMs, false);
}

void HealthProbe::onStartFailed(void* arg) {
  static_cast<HealthProbe*>(arg)->finish(ProbeResult::kFail);
}

void HealthProbe::onTimeout(void* arg) {
  static_cast<HealthProbe*>(arg)->finish(ProbeResult::kTimeout);
}

void HealthProbe::onDrained() {
  if (!stream_) return;
  if (connecting_) {
    connecting_ = false;
    if (net::connectResult(stream_->fd()) != 0 || !stream_->send(request_)) {
      finish(ProbeResult::kFail);
      return;
    }
    stream_->enableRead();
    return;
  }
  if (stream_->lastError()) finish(ProbeResult::kFail);
}

void HealthProbe::onReadable() {
  if (!stream_) return;
  auto r = stream_->fill(kMaxHealthStatusLine + 1);
  if (r == net::Stream::ReadResult::kAgain) return;
  StatusLineVerdict v = healthStatusLine(stream_->in().view());
  if (v == StatusLineVerdict::kNeedMore && r == net::Stream::ReadResult::kData) return;
  finish(v == StatusLineVerdict::kPass ? ProbeResult::kPass : ProbeResult::kFail);
}

void HealthProbe::finish(ProbeResult result) {
  if (!running_) return;
  cancel();
  done_(arg_, result);
}

}  // namespace gh::upstream
