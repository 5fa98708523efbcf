#pragma once
// Content hashes: how the store names a resource body and a whole version.
//
// A body is named by the hex SHA-256 of its bytes (blobs.hash). A version is named by a hash of
// its resource set, built the way git names a tree: not over the bodies themselves but over
// each resource's key and the name of its body,
//
//   SHA-256( "gatehouse-version-1\n"
//            || for each resource in ascending (kind, ns, name) byte order:
//                 N(kind) || N(ns) || N(name) || N(hex SHA-256 of body) )
//
// where N(s) is the netstring "<decimal length of s>:<s>,". The length prefixes make the
// encoding unambiguous (("ab", "c") and ("a", "bc") encode differently, and no field can
// imitate a boundary), so two sets have the same hash exactly when they hold the same
// resources with the same bodies. Hashing body names instead of bodies means every body is
// read once per commit, not twice, and a version's hash can be checked against
// version_resources without reading a single blob.
//
// The format is part of the store's contract: version hashes are shown to operators and
// compared between nodes, so a change to it needs a new tag line, not an edit.

#include <string>
#include <string_view>

#include "core/base/sha256.h"

namespace gh::store {

// The name a body is stored under.
inline std::string blobHash(std::string_view body) {
  return Sha256::hex(body);
}

// Builds a version hash one resource at a time. The caller adds resources in ascending
// (kind, ns, name) order, each key once, as the store's commit does after sorting.
class VersionHasher {
 public:
  VersionHasher();

  void add(std::string_view kind, std::string_view ns, std::string_view name,
           std::string_view bodyHash);

  // The hex hash; call once, after the last add().
  std::string finish() { return Sha256::toHex(sha_.digest()); }

 private:
  void field(std::string_view s);

  Sha256 sha_;
};

}  // namespace gh::store
