#pragma once
// CompiledRule: one rule of an AuthorizationPolicy, compiled for matching (authz.h describes
// the semantics). Internal to core/policy; exposed in a header of its own so that the index
// (authz.cc) and the tests can use it.
//
// Everything is parsed at compile time — principal patterns (identity::PrincipalPattern),
// CIDRs (config::IpBlock), ports, header names — so matching only compares. Immutable after
// compile(); shared read-only by every worker.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/config/ip_block.h"
#include "core/config/model.h"
#include "core/identity/spiffe.h"
#include "core/policy/authz.h"

namespace gh::policy {

// One string of a policy: exact, prefix "abc*", suffix "*abc" or presence "*".
struct StringMatch {
  enum class Kind : uint8_t { kExact, kPrefix, kSuffix, kPresent };
  Kind kind = Kind::kExact;
  bool ignoreCase = false;  // hosts
  std::string text;         // without the '*'; lower-cased when ignoreCase

  static StringMatch parse(std::string_view s, bool ignoreCase = false);
  // kPresent: any non-empty value.
  bool matches(std::string_view s) const;
};

// The request plus what is derived from it once, on first use.
class MatchContext {
 public:
  explicit MatchContext(const Request& r) : request(r) {}
  const Request& request;

  // The peer's parsed SPIFFE ID; empty when there is no peer (or it does not parse, which a
  // verified peer always does).
  const identity::SpiffeId& peer();
  std::string_view peerNamespace();  // of a workload ID; empty otherwise
  const std::optional<IpAddress>& remoteIp() const {
    return request.remoteIp ? request.remoteIp : request.sourceIp;
  }
  // The value of a header (repeated ones joined with ","), or nullopt when absent.
  std::optional<std::string_view> header(std::string_view lowerName);

 private:
  bool parsed_ = false;
  identity::SpiffeId peer_;
  std::string joined_;
};

struct CompiledSource {
  std::vector<identity::PrincipalPattern> principals, notPrincipals;
  std::vector<StringMatch> namespaces, notNamespaces;
  std::vector<config::IpBlock> ipBlocks, notIpBlocks, remoteIpBlocks, notRemoteIpBlocks;
  bool matches(MatchContext& c) const;
};

struct CompiledOperation {
  std::vector<StringMatch> hosts, notHosts;
  std::vector<uint16_t> ports, notPorts;
  std::vector<StringMatch> methods, notMethods, paths, notPaths;
  bool matches(MatchContext& c) const;
};

struct CompiledCondition {
  enum class Key : uint8_t {
    kHeader, kSourceIp, kRemoteIp, kSourcePrincipal, kSourceNamespace, kDestinationPort, kSni
  };
  Key key = Key::kHeader;
  std::string header;  // kHeader: lower-cased name
  // One pair is used, by key: strings (kHeader, kSourceNamespace, kSni; for kHeader kPresent
  // means "the header is there"), IP blocks, principal patterns, ports.
  std::vector<StringMatch> values, notValues;
  std::vector<config::IpBlock> ipValues, ipNotValues;
  std::vector<identity::PrincipalPattern> principalValues, principalNotValues;
  std::vector<uint16_t> portValues, portNotValues;
  bool holds(MatchContext& c) const;
};

struct CompiledRule {
  const PolicyRef* policy = nullptr;
  int index = 0;         // in spec.rules
  uint32_t ordinal = 0;  // evaluation order across the whole index (policy order, then rule)
  std::vector<CompiledSource> from;
  std::vector<CompiledOperation> to;
  std::vector<CompiledCondition> when;

  static Result<CompiledRule> compile(const config::AuthzRule& rule);
  bool matches(MatchContext& c) const;
};

}  // namespace gh::policy
