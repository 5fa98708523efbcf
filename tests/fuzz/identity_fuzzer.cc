// Fuzzes the identity parsers: SPIFFE IDs, principal patterns and join tokens.
//
// The first byte picks the parser, the rest is its input. Invariants beyond "never crash":
// a parsed SPIFFE ID re-parses from its canonical form to the same ID; a parsed principal
// pattern can be matched against any ID; a parsed join token formats to text that parses back
// to the same token.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/identity/spiffe.h"
#include "core/identity/token.h"
#include "tests/fuzz/fuzz_support.h"

using gh::identity::JoinToken;
using gh::identity::PrincipalPattern;
using gh::identity::SpiffeId;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto id = SpiffeId::parse(in);
      if (!id.ok()) return 0;
      auto again = SpiffeId::parse(id->uri());
      FUZZ_CHECK(again.ok() && *again == *id);
      (void)id->withoutScheme();
      if (id->isWorkload()) FUZZ_CHECK(!id->serviceAccount().empty());
      break;
    }
    case 1: {
      // "pattern\nspiffe-id": parse both and match.
      size_t nl = in.find('\n');
      auto pattern = PrincipalPattern::parse(in.substr(0, nl));
      if (!pattern.ok()) return 0;
      auto id = SpiffeId::parse(nl == std::string_view::npos ? std::string_view(
                                                                   "spiffe://cluster.local/ns/a/sa/b")
                                                             : in.substr(nl + 1));
      if (id.ok()) (void)pattern->matches(*id);
      break;
    }
    default: {
      auto token = JoinToken::parse(in);
      if (!token.ok()) return 0;
      auto again = JoinToken::parse(token->format());
      FUZZ_CHECK(again.ok() && again->id == token->id && again->secret == token->secret &&
                 again->spiffeId == token->spiffeId && again->expiresAt == token->expiresAt &&
                 again->caFingerprint == token->caFingerprint);
      break;
    }
  }
  return 0;
}
