#pragma once
// Manifests: how a version's list of resources is stored so that versions share it.
//
// A version's *manifest* is its sorted list of entries (kind, namespace, name, body hash). The
// bodies were always shared (blobs, by content hash); since schema 2 the list is shared too.
// Storing the list whole for every version costs one row per resource per version: 500
// versions of a 10 000-resource configuration are five million rows, almost all of them equal
// to a row of the version before. Instead the list is cut into *chunks*, and a chunk, like a
// body, is stored once under the hash of its content:
//
//   versions --1..n--> version_chunks (version, seq) --n..1--> chunks (id, hash)
//                                                                 |  1..n
//                                                              chunk_entries (kind, ns, name,
//                                                                 |  n..1     body id)
//                                                              bodies (id, hash, body)
//
// Inside the database, entries refer to bodies and version_chunks to chunks by integer id,
// not by their 64-digit hashes: an entry row, and the index row that finds it by body, are
// then a third of the size, and the entries are most of what a version adds. The hashes stay
// the identities (a chunk is found by its hash); the ids are only how rows point at each other.
//
// Where the cuts fall decides how much is shared. Cutting every N entries would not do: adding
// one resource near the front would shift every later cut and change every chunk. So the cuts
// are content-defined (as rsync and backup tools cut files): a chunk ends after an entry whose
// *key* (kind, namespace, name) hashes to a value with its low six bits set, one key in 64 on
// average, whatever the other entries are. Changing a body changes exactly the one chunk that
// holds it; adding or removing a resource changes one chunk (two when the key was a cut). A
// version that changes one resource out of 10 000 thus adds one chunk of about 64 entries and
// about 160 small (version, seq, chunk) rows, instead of 10 000 rows. A chunk never holds more
// than kMaxChunkEntries entries, so an unlucky run of keys cannot make one chunk huge.
//
// The key hash is FNV-1a (64 bits) passed through the splitmix64 finalizer, so that its low
// bits depend on every byte. The rule only decides what is shared, never what a version holds:
// changing it would make new versions share nothing with old ones, and nothing else; still,
// leave it alone. A chunk's hash is SHA-256 over its entries in the netstring encoding of
// content_hash.h, under its own tag line.
//
// The version hash (content_hash.h) does not depend on chunking: it is computed over the whole
// list, so it means the same before and after schema 2.

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/sql.h"

namespace gh::store {

// One entry of a manifest. Views: the caller owns the strings.
struct ManifestEntry {
  std::string_view kind;
  std::string_view ns;
  std::string_view name;
  std::string_view bodyHash;  // hex SHA-256 of the body: what the chunk hash covers
  int64_t bodyId = 0;         // bodies.id; filled in by the NewChunkFn when it is not known
};

inline constexpr size_t kMaxChunkEntries = 512;

// Whether a chunk ends after an entry with this key (the content-defined cut).
bool endsChunk(std::string_view kind, std::string_view ns, std::string_view name);

// Splits a sorted manifest into chunks: returns the index one past each chunk's last entry,
// ascending; the last is entries.size(). Empty for an empty manifest.
std::vector<size_t> chunkEnds(const std::vector<ManifestEntry>& entries);

// The hex hash a chunk of entries [begin, end) is stored under.
std::string chunkHash(const std::vector<ManifestEntry>& entries, size_t begin, size_t end);

// Writes manifests into the chunk tables (schema 2), inside the caller's write transaction.
// Used by commit and by the migration that converts schema-1 lists. One writer per
// connection; the statements live as long as the writer.
class ManifestWriter {
 public:
  // Prepares the statements; SQLite's result code.
  int prepare(sqlite3* db);

  // Called for each chunk that is not stored yet, before its entries are written, with the
  // range [begin, end) of entries it holds: when it returns, the entries' bodies must be in
  // `bodies` and their ids in entries[i].bodyId (the rows refer to them). Returns a SQLite
  // result code.
  using NewChunkFn =
      std::function<int(std::vector<ManifestEntry>& entries, size_t begin, size_t end)>;

  // Stores version `versionId`'s manifest (sorted, keys unique). Chunks already stored (by
  // this version's predecessors) are referred to, not written again. Returns SQLITE_OK or the
  // failing call's code (sqlite3_errmsg holds the message).
  int write(int64_t versionId, std::vector<ManifestEntry>& entries, const NewChunkFn& onNewChunk);

  // How many chunks the last write() stored anew (the rest were shared).
  size_t newChunks() const { return newChunks_; }

 private:
  sqlite3* db_ = nullptr;
  Statement selectChunk_;
  Statement insertChunk_;
  Statement insertEntry_;
  Statement insertVersionChunk_;
  size_t newChunks_ = 0;
};

}  // namespace gh::store
