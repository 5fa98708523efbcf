// Fuzzes the enrollment protocol's parsers (core/identity/enrollment_wire.h): the JSON object
// reader, HTTP request and response heads, and CA addresses.
//
// The first byte picks the parser, the rest is its input. Invariants beyond "never crash":
// the string members a JSON object yields, written back with jsonObject(), parse to the same
// members; a request or response head that parses was complete (ends with CRLF CRLF) and within
// the size cap; a parsed address has a non-empty host and a port from 1 to 65535.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/identity/enrollment_wire.h"
#include "tests/fuzz/fuzz_support.h"

namespace wire = gh::identity::wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto copy = gh::fuzz::exactCopy(data + 1, size - 1);
  std::string_view in(copy.get(), size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto json = wire::JsonStrings::parse(in);
      if (!json.ok()) return 0;
      std::vector<std::pair<std::string_view, std::string_view>> members;
      for (const auto& m : json->members()) members.emplace_back(m.first, m.second);
      auto again = wire::JsonStrings::parse(wire::jsonObject(members));
      FUZZ_CHECK(again.ok());
      FUZZ_CHECK(again->members() == json->members());
      break;
    }
    case 1: {
      auto head = wire::parseRequestHead(in);
      if (!head.ok()) return 0;
      FUZZ_CHECK(in.size() <= wire::kMaxHeadBytes && wire::headLength(in) == in.size());
      FUZZ_CHECK(!head->method.empty() && !head->target.empty() && head->target[0] == '/');
      break;
    }
    case 2: {
      auto head = wire::parseResponseHead(in);
      if (!head.ok()) return 0;
      FUZZ_CHECK(in.size() <= wire::kMaxHeadBytes && wire::headLength(in) == in.size());
      FUZZ_CHECK(head->status >= 100 && head->status <= 999);
      break;
    }
    default: {
      auto hp = wire::parseHostPort(in);
      if (!hp.ok()) return 0;
      FUZZ_CHECK(!hp->host.empty() && hp->port != 0);
      break;
    }
  }
  return 0;
}
