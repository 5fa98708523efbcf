#include "core/store/manifest.h"

#include "core/base/sha256.h"

namespace gh::store {
namespace {

constexpr std::string_view kChunkTag = "gatehouse-chunk-1\n";

// One cut in 2^6 keys: chunks of about 64 entries. Smaller chunks make a one-resource change
// cheaper to store but every version's chunk list longer; at 10 000 resources both costs are
// a few kilobytes (docs/versions.md has the measurement).
constexpr uint64_t kCutMask = (1u << 6) - 1;

uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// splitmix64's finalizer: FNV's low bits depend mostly on the last bytes, and keys that differ
// only early ("a-1/x", "b-1/x") would otherwise cut alike.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void netstring(Sha256* sha, std::string_view s) {
  const std::string length = std::to_string(s.size());
  sha->update(length);
  sha->update(":");
  sha->update(s);
  sha->update(",");
}

}  // namespace

bool endsChunk(std::string_view kind, std::string_view ns, std::string_view name) {
  // The separators keep ("ab", "c") and ("a", "bc") apart; no key field holds a NUL.
  uint64_t h = 0xcbf29ce484222325ull;
  h = fnv1a(h, kind);
  h = fnv1a(h, std::string_view("\0", 1));
  h = fnv1a(h, ns);
  h = fnv1a(h, std::string_view("\0", 1));
  h = fnv1a(h, name);
  return (mix(h) & kCutMask) == kCutMask;
}

std::vector<size_t> chunkEnds(const std::vector<ManifestEntry>& entries) {
  std::vector<size_t> ends;
  size_t begin = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const ManifestEntry& e = entries[i];
    if (endsChunk(e.kind, e.ns, e.name) || i + 1 - begin == kMaxChunkEntries) {
      ends.push_back(i + 1);
      begin = i + 1;
    }
  }
  if (begin < entries.size()) ends.push_back(entries.size());
  return ends;
}

std::string chunkHash(const std::vector<ManifestEntry>& entries, size_t begin, size_t end) {
  Sha256 sha;
  sha.update(kChunkTag);
  for (size_t i = begin; i < end; ++i) {
    netstring(&sha, entries[i].kind);
    netstring(&sha, entries[i].ns);
    netstring(&sha, entries[i].name);
    netstring(&sha, entries[i].bodyHash);
  }
  return Sha256::toHex(sha.digest());
}

int ManifestWriter::prepare(sqlite3* db) {
  db_ = db;
  const struct {
    Statement* statement;
    const char* sql;
  } kStatements[] = {
      {&selectChunk_, "SELECT id FROM chunks WHERE hash = ?"},
      {&insertChunk_, "INSERT INTO chunks (hash) VALUES (?)"},
      {&insertEntry_,
       "INSERT INTO chunk_entries (chunk_id, kind, namespace, name, body_id)"
       " VALUES (?, ?, ?, ?, ?)"},
      {&insertVersionChunk_,
       "INSERT INTO version_chunks (version_id, seq, chunk_id) VALUES (?, ?, ?)"},
  };
  for (const auto& [statement, sql] : kStatements) {
    if (int rc = statement->prepare(db, sql, Statement::Lifetime::kConnection); rc != SQLITE_OK)
      return rc;
  }
  return SQLITE_OK;
}

int ManifestWriter::write(int64_t versionId, std::vector<ManifestEntry>& entries,
                          const NewChunkFn& onNewChunk) {
  newChunks_ = 0;
  size_t begin = 0;
  int64_t seq = 0;
  for (size_t end : chunkEnds(entries)) {
    const std::string hash = chunkHash(entries, begin, end);
    int64_t chunkId = 0;
    {
      Query query(selectChunk_);
      query.bind(hash);
      int rc = query.step();
      if (rc == SQLITE_ROW) {
        chunkId = query.int64(0);
      } else if (rc != SQLITE_DONE) {
        return rc;
      }
    }
    if (chunkId == 0) {
      if (int rc = onNewChunk(entries, begin, end); rc != SQLITE_OK) return rc;
      {
        Query query(insertChunk_);
        query.bind(hash);
        if (int rc = query.step(); rc != SQLITE_DONE) return rc;
      }
      chunkId = sqlite3_last_insert_rowid(db_);
      for (size_t i = begin; i < end; ++i) {
        const ManifestEntry& e = entries[i];
        Query query(insertEntry_);
        query.bind(chunkId).bindView(e.kind).bindView(e.ns).bindView(e.name).bind(e.bodyId);
        if (int rc = query.step(); rc != SQLITE_DONE) return rc;
      }
      ++newChunks_;
    }
    Query query(insertVersionChunk_);
    query.bind(versionId).bind(seq++).bind(chunkId);
    if (int rc = query.step(); rc != SQLITE_DONE) return rc;
    begin = end;
  }
  return SQLITE_OK;
}

}  // namespace gh::store
