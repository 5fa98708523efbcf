#include "core/http/ext_authz.h"

#include <cerrno>
#include <cstring>

#include "core/base/strings.h"
#include "core/http/whole_response.h"
#include "core/net/socket.h"

namespace gh::http {

namespace {

bool listed(const std::vector<std::string>& names, std::string_view name) {
  for (const std::string& n : names)
    if (str::iequals(n, name)) return true;
  return false;
}

}  // namespace

std::string buildExtAuthzRequest(const config::ExtAuthzHttpProvider& provider,
                                 const RequestHead& request, std::string_view path,
                                 std::string_view query) {
  std::string out;
  out.reserve(256 + path.size() + query.size());
  out.append(request.method);
  out += ' ';
  out += provider.pathPrefix;
  out.append(path);
  if (!query.empty()) {
    out += '?';
    out.append(query);
  }
  out += " HTTP/1.1\r\nHost: ";
  out.append(request.host);
  out += "\r\nContent-Length: 0\r\nConnection: close\r\n";
  for (const Header& h : request.headers) {
    if (str::iequals(h.name, "host") || str::iequals(h.name, "content-length") ||
        str::iequals(h.name, "connection") || !listed(provider.includeRequestHeadersInCheck, h.name))
      continue;
    out.append(h.name);
    out += ": ";
    out.append(h.value);
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

ExtAuthzCheck::ExtAuthzCheck(event::Loop& loop, const config::ExtAuthzHttpProvider& provider,
                             const net::Address& address, Callback done, void* arg)
    : loop_(loop),
      provider_(provider),
      address_(address),
      done_(done),
      arg_(arg),
      timer_(loop, &ExtAuthzCheck::onTimeout, this) {}

ExtAuthzCheck::~ExtAuthzCheck() = default;

bool ExtAuthzCheck::start(const RequestHead& request, std::string_view path,
                          std::string_view query, std::string* error) {
  request_ = buildExtAuthzRequest(provider_, request, path, query);
  auto fd = net::connectNonBlocking(address_);
  if (!fd.ok()) {
    *error = "connect " + address_.toString() + ": " + fd.status().message();
    return false;
  }
  timer_.set(provider_.timeoutMs);
  stream_ = std::make_unique<net::Stream>(loop_, fd.value(), this);
  connecting_ = true;
  stream_->waitWritable();
  return true;
}

void ExtAuthzCheck::onDrained() {
  if (finished_ || !stream_) return;
  if (connecting_) {
    connecting_ = false;
    if (int err = net::connectResult(stream_->fd()); err != 0) {
      fail("connect " + address_.toString() + ": " + strerror(err));
      return;
    }
    if (!stream_->send(request_)) {
      fail("send: " + std::string(strerror(stream_->lastError())));
      return;
    }
    stream_->enableRead();
    return;
  }
  if (stream_->lastError()) fail("send: " + std::string(strerror(stream_->lastError())));
}

void ExtAuthzCheck::onReadable() {
  if (finished_ || !stream_) return;
  auto r = stream_->fill(kMaxResponse + 1);
  IoBuffer& in = stream_->in();
  if (r == net::Stream::ReadResult::kData) {
    response_.append(in.begin(), in.size());
    in.consume(in.size());
    if (response_.size() > kMaxResponse) {
      fail("response larger than 64 KiB");
      return;
    }
    parseResponse(false);
    return;
  }
  if (r == net::Stream::ReadResult::kAgain) return;
  if (r == net::Stream::ReadResult::kEof) {
    if (!parseResponse(true)) fail("connection closed before a complete response");
    return;
  }
  fail(r == net::Stream::ReadResult::kFull ? "response larger than 64 KiB"
                                           : "read: " + std::string(strerror(stream_->lastError())));
}

bool ExtAuthzCheck::parseResponse(bool eof) {
  ResponseHead head;
  std::string body;
  switch (readWholeResponse(response_, eof, &head, &body)) {
    case WholeResponse::kIncomplete: return false;
    case WholeResponse::kBadHead: fail("bad response from the provider"); return true;
    case WholeResponse::kBadChunked: fail("bad chunked body from the provider"); return true;
    case WholeResponse::kDone: break;
  }
  ExtAuthzOutcome out;
  if (head.status >= 200 && head.status < 300) {
    out.kind = ExtAuthzOutcome::Kind::kAllow;
    for (const Header& h : head.headers)
      if (listed(provider_.headersToUpstreamOnAllow, h.name))
        out.upstreamHeaders.emplace_back(std::string(h.name), std::string(h.value));
  } else {
    out.kind = ExtAuthzOutcome::Kind::kDeny;
    out.status = head.status;
    out.body = std::move(body);
    for (const Header& h : head.headers)
      if (str::iequals(h.name, "content-type")) out.contentType.assign(h.value);
  }
  finish(std::move(out));
  return true;
}

void ExtAuthzCheck::onTimeout(void* arg) {
  auto* c = static_cast<ExtAuthzCheck*>(arg);
  c->fail("no answer within " + std::to_string(c->provider_.timeoutMs) + " ms");
}

void ExtAuthzCheck::fail(std::string why) {
  ExtAuthzOutcome out;
  out.kind = ExtAuthzOutcome::Kind::kError;
  out.error = std::move(why);
  finish(std::move(out));
}

void ExtAuthzCheck::finish(ExtAuthzOutcome outcome) {
  if (finished_) return;
  finished_ = true;
  timer_.clear();
  // The connection is done either way; the callback may destroy this object.
  if (stream_) stream_->disableRead();
  done_(arg_, std::move(outcome));
}

}  // namespace gh::http
