#include "core/telemetry/prometheus.h"

#include <algorithm>
#include <cstdio>

#include "core/policy/authz.h"
#include "core/tls/peer.h"

namespace gh::telemetry {
namespace {

template <typename F>
uint64_t sum(const std::vector<const WorkerCounters*>& ws, F f) {
  uint64_t v = 0;
  for (const WorkerCounters* w : ws) v += f(*w).get();
  return v;
}

void header(std::string& out, const char* name, const char* help, const char* type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const char* name, const char* labels, uint64_t v) {
  char buf[64];
  out += name;
  if (labels && *labels) {
    out += '{';
    out += labels;
    out += '}';
  }
  snprintf(buf, sizeof buf, " %llu\n", static_cast<unsigned long long>(v));
  out += buf;
}

}  // namespace

void renderCounter(std::string& out, const char* name, const char* help, uint64_t value) {
  header(out, name, help, "counter");
  sample(out, name, nullptr, value);
}

void renderGauge(std::string& out, const char* name, const char* help, double value) {
  header(out, name, help, "gauge");
  char buf[64];
  snprintf(buf, sizeof buf, " %.17g\n", value);
  out += name;
  out += buf;
}

void renderWorkerCounters(const std::vector<const WorkerCounters*>& ws, std::string& out) {
  renderCounter(out, "gatehouse_downstream_cx_total", "Downstream connections accepted.",
                sum(ws, [](auto& w) -> auto& { return w.downstreamCxTotal; }));
  renderGauge(out, "gatehouse_downstream_cx_active", "Downstream connections open.",
              static_cast<double>(static_cast<int64_t>(
                  sum(ws, [](auto& w) -> auto& { return w.downstreamCxActive; }))));
  renderCounter(out, "gatehouse_downstream_rq_total", "Requests whose head was parsed.",
                sum(ws, [](auto& w) -> auto& { return w.downstreamRqTotal; }));
  renderGauge(out, "gatehouse_downstream_rq_active", "Exchanges in flight.",
              static_cast<double>(static_cast<int64_t>(
                  sum(ws, [](auto& w) -> auto& { return w.downstreamRqActive; }))));

  header(out, "gatehouse_downstream_rs_total", "Responses sent downstream, by status class.",
         "counter");
  for (int c = 1; c <= 5; ++c) {
    char labels[32];
    snprintf(labels, sizeof labels, "code_class=\"%dxx\"", c);
    sample(out, "gatehouse_downstream_rs_total", labels,
           sum(ws, [c](auto& w) -> auto& { return w.responsesByClass[c]; }));
  }

  header(out, "gatehouse_http_parse_rejections_total",
         "Messages refused by the HTTP/1.1 parser, by reason.", "counter");
  for (int e = 1; e < static_cast<int>(http::ParseError::kCount); ++e) {
    std::string labels = std::string("reason=\"") + http::reasonName(static_cast<http::ParseError>(e)) + "\"";
    sample(out, "gatehouse_http_parse_rejections_total", labels.c_str(),
           sum(ws, [e](auto& w) -> auto& { return w.parseRejections[e]; }));
  }

  header(out, "gatehouse_local_replies_total", "Local replies by x-gatehouse-reason.", "counter");
  for (int r = 0; r < static_cast<int>(LocalReason::kCount); ++r) {
    std::string labels = std::string("reason=\"") + localReasonName(static_cast<LocalReason>(r)) + "\"";
    sample(out, "gatehouse_local_replies_total", labels.c_str(),
           sum(ws, [r](auto& w) -> auto& { return w.localReplies[r]; }));
  }

  renderCounter(out, "gatehouse_upstream_rq_total", "Requests sent upstream.",
                sum(ws, [](auto& w) -> auto& { return w.upstreamRqTotal; }));
  renderCounter(out, "gatehouse_upstream_cx_total", "Upstream connections opened.",
                sum(ws, [](auto& w) -> auto& { return w.upstreamCxTotal; }));
  renderCounter(out, "gatehouse_upstream_cx_reused_total",
                "Requests sent on a pooled (reused) upstream connection.",
                sum(ws, [](auto& w) -> auto& { return w.upstreamCxReused; }));
  renderCounter(out, "gatehouse_upstream_cx_connect_fail_total", "Upstream connect failures.",
                sum(ws, [](auto& w) -> auto& { return w.upstreamCxConnectFail; }));
  renderCounter(out, "gatehouse_upstream_outlier_ejections_total",
                "Endpoints ejected by outlier detection (each worker judges what it sees).",
                sum(ws, [](auto& w) -> auto& { return w.upstreamOutlierEjections; }));
  renderCounter(out, "gatehouse_upstream_rq_retry_total",
                "Retries made by routes' retry policies (each one another attempt upstream).",
                sum(ws, [](auto& w) -> auto& { return w.upstreamRetries; }));
  renderCounter(out, "gatehouse_upstream_rq_retry_budget_exhausted_total",
                "Retries refused because the Service's retry budget was used up.",
                sum(ws, [](auto& w) -> auto& { return w.upstreamRetryBudgetExhausted; }));
  renderCounter(out, "gatehouse_upstream_rq_retry_pooled_total",
                "Transparent retries after a pooled connection turned out closed.",
                sum(ws, [](auto& w) -> auto& { return w.upstreamRetryPooled; }));
  renderCounter(out, "gatehouse_tls_handshakes_total", "Downstream TLS handshakes completed.",
                sum(
                    ws, [](auto& w) -> auto& { return w.tlsHandshakes; }));
  header(out, "gatehouse_tls_handshake_errors_total",
         "Downstream TLS handshakes that failed, by reason.", "counter");
  for (int e = 0; e < static_cast<int>(tls::HandshakeError::kCount); ++e) {
    std::string labels = std::string("reason=\"") +
                         tls::handshakeErrorName(static_cast<tls::HandshakeError>(e)) + "\"";
    sample(out, "gatehouse_tls_handshake_errors_total", labels.c_str(),
           sum(
               ws, [e](auto& w) -> auto& { return w.tlsHandshakeErrors[e]; }));
  }
  header(out, "gatehouse_mesh_peer_rejected_total",
         "Mesh peers refused in the TLS handshake, by direction and reason.", "counter");
  for (int d = 0; d < 2; ++d) {
    for (int e = 1; e < static_cast<int>(tls::PeerError::kCount); ++e) {
      std::string labels = std::string("direction=\"") + (d == 0 ? "inbound" : "outbound") +
                           "\",reason=\"" + tls::peerErrorName(static_cast<tls::PeerError>(e)) +
                           "\"";
      sample(out, "gatehouse_mesh_peer_rejected_total", labels.c_str(),
             sum(ws, [d, e](auto& w) -> auto& { return w.meshPeerRejected[d][e]; }));
    }
  }
  renderCounter(out, "gatehouse_mesh_mtls_connections_total",
                "Inbound mesh connections with a verified peer identity.",
                sum(ws, [](auto& w) -> auto& { return w.meshMtlsConnections; }));
  renderCounter(out, "gatehouse_mesh_plaintext_connections_total",
                "Inbound mesh connections accepted in plaintext (mtls: PERMISSIVE).",
                sum(ws, [](auto& w) -> auto& { return w.meshPlaintextConnections; }));
  renderCounter(out, "gatehouse_upstream_tls_handshakes_total",
                "Mutual-TLS connections originated to mesh Services.",
                sum(ws, [](auto& w) -> auto& { return w.upstreamTlsHandshakes; }));
  renderCounter(out, "gatehouse_upstream_tls_handshake_errors_total",
                "Mutual-TLS connections to mesh Services that failed in the handshake.",
                sum(ws, [](auto& w) -> auto& { return w.upstreamTlsHandshakeErrors; }));
  header(out, "gatehouse_authz_requests_total",
         "Authorization decisions, by result and the step of the decision order that decided.",
         "counter");
  for (int allowed = 1; allowed >= 0; --allowed) {
    for (int by = 0; by < kAuthzSteps; ++by) {
      using By = policy::Decision::By;
      auto b = static_cast<By>(by);
      // Only the combinations the decision order can produce.
      bool possible = allowed ? (b == By::kAllow || b == By::kNoAllowPolicy)
                              : (b == By::kDeny || b == By::kNoAllowMatched || b == By::kCustom);
      if (!possible) continue;
      std::string labels = std::string("result=\"") + (allowed ? "allowed" : "denied") +
                           "\",by=\"" + policy::byName(b) + "\"";
      sample(out, "gatehouse_authz_requests_total", labels.c_str(),
             sum(ws, [allowed, by](auto& w) -> auto& { return w.authzDecisions[allowed][by]; }));
    }
  }
  renderCounter(out, "gatehouse_authz_dry_run_denied_total",
                "Requests a dry-run AuthorizationPolicy would have denied (not enforced).",
                sum(ws, [](auto& w) -> auto& { return w.authzDryRunDenied; }));
  renderCounter(out, "gatehouse_authz_audited_total", "Requests an AUDIT policy matched.",
                sum(ws, [](auto& w) -> auto& { return w.authzAudited; }));
  renderGauge(out, "gatehouse_upstream_cx_active", "Upstream connections in use by exchanges.",
              static_cast<double>(static_cast<int64_t>(
                  sum(ws, [](auto& w) -> auto& { return w.upstreamCxActive; }))));
}

std::string escapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string toOpenMetrics(std::string_view text) {
  // Counter families first: a family's HELP line comes before the TYPE line that says so.
  std::vector<std::string_view> counters;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (line.starts_with("# TYPE ") && line.ends_with(" counter"))
      counters.push_back(line.substr(7, line.size() - 7 - 8));
  }
  std::sort(counters.begin(), counters.end());
  auto familyName = [&](std::string_view name) {
    if (name.ends_with("_total") && std::binary_search(counters.begin(), counters.end(), name))
      name.remove_suffix(6);
    return name;
  };
  std::string out;
  out.reserve(text.size() + 16);
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      std::string_view rest = line.substr(7);
      size_t space = rest.find(' ');
      std::string_view name = rest.substr(0, space);
      std::string_view tail = space == std::string_view::npos ? "" : rest.substr(space);
      out.append(line.substr(0, 7)).append(familyName(name));
      if (line[2] == 'T') {
        out.append(tail == " untyped" ? std::string_view(" unknown") : tail);
      } else {
        // OpenMetrics escapes a double quote in HELP too (0.0.4 only backslash and newline).
        for (char c : tail) {
          if (c == '"') out += '\\';
          out += c;
        }
      }
    } else if (!line.empty() && line[0] == '#') {
      continue;  // other comments are not allowed in OpenMetrics
    } else {
      out.append(line);
    }
    if (!line.empty()) out += '\n';
  }
  out += "# EOF\n";
  return out;
}

}  // namespace gh::telemetry
