// Schema 2 of the store: shared manifests (chunked resource lists), the audit log, the
// server's runtime record, backups, and the migration from schema 1.

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/base/sha256.h"
#include "core/store/content_hash.h"
#include "core/store/manifest.h"
#include "core/store/store.h"
#include "tests/unit/store/store_test_util.h"

using namespace gh;
using namespace gh::store;
using namespace gh::store::testing;

namespace {

// The chunk hashes of a sorted set, as commit would store them.
std::vector<std::string> chunkHashesOf(std::vector<StoredResource> set) {
  std::sort(set.begin(), set.end(), [](const StoredResource& a, const StoredResource& b) {
    return std::tie(a.kind, a.ns, a.name) < std::tie(b.kind, b.ns, b.name);
  });
  std::vector<std::string> bodyHashes;
  for (const StoredResource& r : set) bodyHashes.push_back(blobHash(r.body));
  std::vector<ManifestEntry> entries;
  for (size_t i = 0; i < set.size(); ++i)
    entries.push_back({set[i].kind, set[i].ns, set[i].name, bodyHashes[i], 0});
  std::vector<std::string> out;
  size_t begin = 0;
  for (size_t end : chunkEnds(entries)) {
    out.push_back(chunkHash(entries, begin, end));
    begin = end;
  }
  return out;
}

size_t differing(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::multiset<std::string> left(a.begin(), a.end());
  size_t n = 0;
  for (const std::string& h : b) {
    auto it = left.find(h);
    if (it == left.end()) {
      ++n;
    } else {
      left.erase(it);
    }
  }
  return n;
}

CommitInfo audited(std::string author, std::string action, std::string summary, int64_t base = -1) {
  CommitInfo info;
  info.author = std::move(author);
  info.message = "m";
  info.baseVersion = base;
  info.source = "test pid 1 on host t";
  info.action = std::move(action);
  info.summary = std::move(summary);
  return info;
}

// Raw SQL on the file with the error text, for what the store must refuse from any hand.
std::string execError(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  return rc == SQLITE_OK ? "" : message;
}

}  // namespace

TEST_CASE("manifest chunks are cut by key, about 64 entries each", "[store][manifest]") {
  const auto set = routes(10'000);
  const auto hashes = chunkHashesOf(set);
  INFO(hashes.size() << " chunks");
  CHECK(hashes.size() > 100);
  CHECK(hashes.size() < 260);
  CHECK(std::set<std::string>(hashes.begin(), hashes.end()).size() == hashes.size());

  // A changed body changes exactly its own chunk.
  CHECK(differing(hashes, chunkHashesOf(routes(10'000, 1, {4'321}))) == 1);
  CHECK(differing(hashes, chunkHashesOf(routes(10'000, 1, {0, 9'999}))) == 2);

  // An added or removed resource changes the chunk it falls in (two when its key is a cut):
  // the cuts after it do not move.
  auto more = set;
  more.push_back(resource("HTTPRoute", "default", "route-5000a", "{}"));
  CHECK(differing(hashes, chunkHashesOf(more)) <= 2);
  auto fewer = set;
  fewer.erase(fewer.begin() + 777);
  CHECK(differing(hashes, chunkHashesOf(fewer)) <= 2);

  // No chunk grows past the cap, even when no key is a cut.
  std::vector<ManifestEntry> uncut;
  std::vector<std::string> names;
  for (int i = 0; names.size() < 2'000; ++i) {
    std::string name = "n" + std::to_string(i);
    if (!endsChunk("Service", "default", name)) names.push_back(name);
  }
  for (const std::string& n : names) uncut.push_back({"Service", "default", n, "h", 0});
  auto ends = chunkEnds(uncut);
  REQUIRE(ends.size() == 4);
  CHECK(ends[0] == kMaxChunkEntries);
  CHECK(ends.back() == 2'000);
  CHECK(chunkEnds({}).empty());
}

TEST_CASE("versions load back whole across chunk boundaries", "[store][manifest]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  auto store = openOrFail(path);

  std::map<std::string, std::string> expected;  // "kind/ns/name" -> body
  auto set = routes(3'000);
  for (int round = 1; round <= 6; ++round) {
    // Each round changes some bodies, drops some resources and adds some of another kind.
    for (int i = round; i < static_cast<int>(set.size()); i += 97)
      set[static_cast<size_t>(i)].body = "{\"round\":" + std::to_string(round) + "}";
    set.erase(set.begin() + round * 10, set.begin() + round * 10 + 5);
    for (int k = 0; k < 7; ++k)
      set.push_back(resource("Service", "ns" + std::to_string(k), "svc-" + std::to_string(round),
                             std::to_string(k)));
    const int64_t id = commitOrFail(*store, set);
    CHECK(id == round);

    auto loaded = store->loadVersion(id);
    REQUIRE(loaded.ok());
    REQUIRE(loaded->size() == set.size());
    std::map<std::string, std::string> want;
    for (const StoredResource& r : set) want[r.kind + "/" + r.ns + "/" + r.name] = r.body;
    size_t i = 0;
    for (const auto& [key, body] : want) {
      const StoredResource& got = (*loaded)[i++];
      REQUIRE(got.kind + "/" + got.ns + "/" + got.name == key);
      REQUIRE(got.body == body);
    }
  }
  // Every version is still there, each with its own set.
  CHECK(store->loadVersion(1)->size() == 3'000 - 5 + 7);
}

TEST_CASE("a version whose rows were removed by other hands is reported damaged", "[store]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  {
    auto store = openOrFail(path);
    commitOrFail(*store, routes(300));
  }
  // One chunk of the list gone: the rest of the version would still load.
  REQUIRE(rows(path, "version_chunks") > 1);
  execOrFail(path, "DELETE FROM version_chunks WHERE seq = 1");
  auto store = openOrFail(path, false);
  auto loaded = store->loadVersion(1);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().message().find("version 1 is damaged") != std::string::npos);
}

TEST_CASE("every commit that makes a version appends one audit entry", "[store][audit]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  auto store = openOrFail(path);
  CHECK(store->auditLog(-1)->empty());

  CHECK(commitOrFail(*store, routes(3), audited("alice", "apply", "+3 ~0 -0")) == 1);
  CHECK(commitOrFail(*store, routes(3, 1, {1}), audited("bob", "rollback", "to 0")) == 2);
  // No change, no entry; a refused commit, no entry.
  CHECK(commitOrFail(*store, routes(3, 1, {1}), audited("carol", "apply", "none")) == 2);
  CHECK(isConflict(store->commit(routes(4), audited("dave", "apply", "x", 1)).status()));
  CHECK_FALSE(store
                  ->commit({resource("A", "b", "c", ""), resource("A", "b", "c", "")},
                           audited("erin", "apply", "dup"))
                  .ok());

  auto log = store->auditLog(-1);
  REQUIRE(log.ok());
  REQUIRE(log->size() == 2);
  const AuditEntry& newest = (*log)[0];
  const AuditEntry& oldest = (*log)[1];
  CHECK(newest.id > oldest.id);
  CHECK((oldest.actor == "alice" && oldest.action == "apply" && oldest.summary == "+3 ~0 -0"));
  CHECK((oldest.versionBefore == 0 && oldest.versionAfter == 1));
  CHECK(oldest.source == "test pid 1 on host t");
  CHECK((newest.actor == "bob" && newest.action == "rollback"));
  CHECK((newest.versionBefore == 1 && newest.versionAfter == 2));
  CHECK(newest.atUnixMs == store->versionInfo(2)->createdAtUnixMs);
  CHECK(store->auditLog(1)->size() == 1);

  AuditEntry extra;
  extra.actor = "frank";
  extra.source = "s";
  extra.action = "restore";
  extra.versionBefore = extra.versionAfter = 2;
  extra.summary = "whole database";
  REQUIRE(store->appendAudit(extra).ok());
  CHECK(store->auditLog(1)->front().action == "restore");
  CHECK(store->auditLog(1)->front().atUnixMs > 0);
}

TEST_CASE("the audit log refuses changes from any hand, pruning included", "[store][audit]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  auto store = openOrFail(path);
  store->setKeepVersions(2);
  for (int g = 1; g <= 4; ++g)
    commitOrFail(*store, routes(2, g, {0}), audited("a", "apply", std::to_string(g)));

  // Versions 1 and 2 went, and the entries that describe them stayed, plus one per pruning.
  CHECK(historyIds(*store) == std::vector<int64_t>{4, 3});
  auto log = store->auditLog(-1);
  REQUIRE(log.ok());
  std::vector<std::string> actions;
  for (auto it = log->rbegin(); it != log->rend(); ++it) actions.push_back(it->action);
  CHECK(actions == std::vector<std::string>{"apply", "apply", "apply", "prune", "apply", "prune"});
  CHECK((*log)[0].summary == "dropped version 2 from history (keeping the newest 2)");
  CHECK((*log)[0].versionAfter == 4);

  // Even the sqlite3 shell cannot edit or delete an entry.
  CHECK(execError(path, "UPDATE audit SET actor = 'mallory'") == "the audit log is append-only");
  CHECK(execError(path, "DELETE FROM audit WHERE id = 1") == "the audit log is append-only");
  CHECK(execError(path, "DELETE FROM audit") == "the audit log is append-only");
  CHECK(rows(path, "audit") == 6);
}

TEST_CASE("the server's running version and refusals are recorded", "[store][runtime]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  auto server = openOrFail(path);
  auto cli = openOrFail(path);
  CHECK(cli->runtime()->runningVersion == 0);
  CHECK(cli->runtime()->pid == 0);

  commitOrFail(*cli, routes(1));
  commitOrFail(*cli, routes(2));
  REQUIRE(server->recordServing(1, 4242, "edge-1").ok());
  REQUIRE(server->recordRefusal(2, "Listener default/x: address in use").ok());
  // A version that is not in history is not recorded, and that is not an error.
  REQUIRE(server->recordRefusal(99, "gone").ok());

  auto state = cli->runtime();
  REQUIRE(state.ok());
  CHECK((state->runningVersion == 1 && state->pid == 4242 && state->host == "edge-1"));
  auto refused = cli->refusals();
  REQUIRE(refused.ok());
  REQUIRE(refused->size() == 1);
  CHECK(
      ((*refused)[0].version == 2 && (*refused)[0].reason == "Listener default/x: address in use"));

  // Serving it later (after SIGHUP, say) clears the refusal.
  REQUIRE(server->recordServing(2, 4242, "edge-1").ok());
  CHECK(cli->runtime()->runningVersion == 2);
  CHECK(cli->refusals()->empty());

  // A refusal goes with its version when history is pruned.
  REQUIRE(server->recordRefusal(1, "old").ok());
  cli->setKeepVersions(1);
  commitOrFail(*cli, routes(3));
  CHECK(cli->refusals()->empty());

  // Only the server that recorded itself can record its stop.
  REQUIRE(server->recordStopped(1).ok());
  CHECK(cli->runtime()->runningVersion == 2);
  REQUIRE(server->recordStopped(4242).ok());
  CHECK(cli->runtime()->runningVersion == 0);

  // Recording is not a configuration change: the server's own writes do not move data_version
  // for itself, and they are not versions.
  CHECK(historyIds(*cli) == std::vector<int64_t>{3});
}

TEST_CASE("a backup is a consistent copy, even while commits go on", "[store][backup]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  auto store = openOrFail(path);
  for (int g = 1; g <= 5; ++g) commitOrFail(*store, routes(500, g, {g}), audited("a", "apply", ""));

  // A writer keeps committing large versions on its own connection while backups are taken.
  std::atomic<bool> stop{false};
  std::string writerError;
  std::thread writer([&] {
    auto w = Store::open(path, false);
    if (!w.ok()) {
      writerError = w.status().message();
      return;
    }
    for (int g = 100; !stop.load(); ++g) {
      auto id = (*w)->commit(routes(2'000, g, {g % 2'000, (g * 7) % 2'000}), by("w"));
      if (!id.ok()) {
        writerError = id.status().message();
        return;
      }
    }
  });
  for (int i = 0; i < 5; ++i) {
    const std::string copy = dir.file("backup-" + std::to_string(i) + ".db");
    auto backup = store->backupTo(copy);
    INFO(backup.status().message());
    REQUIRE(backup.ok());
    CHECK_FALSE(std::filesystem::exists(copy + ".partial-" + std::to_string(getpid())));
    // One self-contained file, not a write-ahead log that needs companions to be read.
    CHECK(queryText(copy, "PRAGMA journal_mode") == "delete");
    CHECK_FALSE(std::filesystem::exists(copy + "-wal"));
    CHECK_FALSE(std::filesystem::exists(copy + "-shm"));
    auto restored = openOrFail(copy, false);
    const int64_t active = *restored->activeVersion();
    CHECK(active >= 5);
    CHECK(active == backup->activeVersion);
    CHECK(backup->versions == active);
    // The copy's active version is whole: its hash matches its resources.
    auto info = restored->versionInfo(active);
    auto set = restored->loadVersion(active);
    REQUIRE(set.ok());
    VersionHasher hasher;
    for (const StoredResource& r : *set) hasher.add(r.kind, r.ns, r.name, blobHash(r.body));
    CHECK(hasher.finish() == info->hash);
    CHECK(restored->auditLog(-1)->size() == static_cast<size_t>(active));
  }
  stop = true;
  writer.join();
  CHECK(writerError == "");

  // Overwriting a backup replaces it whole.
  const std::string copy = dir.file("backup-0.db");
  REQUIRE(store->backupTo(copy).ok());
  CHECK(*openOrFail(copy, false)->activeVersion() == *store->activeVersion());

  // copyDatabase reads a file without changing it or leaving anything beside it.
  const std::string fresh = dir.file("fresh.db");
  REQUIRE(store->backupTo(fresh).ok());
  const auto bytes = std::filesystem::file_size(fresh);
  const std::string second = dir.file("second.db");
  REQUIRE(Store::copyDatabase(fresh, second).ok());
  CHECK(std::filesystem::file_size(fresh) == bytes);
  CHECK_FALSE(std::filesystem::exists(fresh + "-wal"));
  CHECK_FALSE(std::filesystem::exists(fresh + "-shm"));
  CHECK(*openOrFail(second, false)->activeVersion() == *store->activeVersion());
  CHECK(Store::copyDatabase(dir.file("nothing.db"), second).message() ==
        dir.file("nothing.db") + ": no such file");
  CHECK_FALSE(store->backupTo(dir.file("no/such/dir/x.db")).ok());
}

TEST_CASE("a schema-1 database migrates to shared manifests, keeping ids and hashes",
          "[store][migrate]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  // Schema 1 exactly as the first gatehouse laid it out, with two versions.
  execOrFail(path, R"sql(
    PRAGMA journal_mode = WAL;
    CREATE TABLE blobs (hash TEXT PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE versions (id INTEGER PRIMARY KEY, created_at_ms INTEGER NOT NULL,
      author TEXT NOT NULL, message TEXT NOT NULL, hash TEXT NOT NULL,
      resource_count INTEGER NOT NULL);
    CREATE TABLE version_resources (
      version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
      kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
      blob_hash TEXT NOT NULL REFERENCES blobs(hash),
      PRIMARY KEY (version_id, kind, namespace, name)) WITHOUT ROWID;
    CREATE INDEX version_resources_by_blob ON version_resources(blob_hash);
    PRAGMA user_version = 1;
    PRAGMA application_id = 1195926374;  -- 0x47486366, "GHcf"
  )sql");
  std::vector<std::vector<StoredResource>> sets = {routes(200), routes(200, 1, {5, 150})};
  std::vector<std::string> hashes;
  for (size_t v = 0; v < sets.size(); ++v) {
    auto set = sets[v];
    std::sort(set.begin(), set.end(), [](const StoredResource& a, const StoredResource& b) {
      return std::tie(a.kind, a.ns, a.name) < std::tie(b.kind, b.ns, b.name);
    });
    VersionHasher hasher;
    std::string sql = "BEGIN;";
    for (const StoredResource& r : set) {
      const std::string h = blobHash(r.body);
      hasher.add(r.kind, r.ns, r.name, h);
      sql += "INSERT OR IGNORE INTO blobs VALUES ('" + h + "', '" + r.body + "');";
      sql += "INSERT INTO version_resources VALUES (" + std::to_string(v + 1) + ", '" + r.kind +
             "', '" + r.ns + "', '" + r.name + "', '" + h + "');";
    }
    hashes.push_back(hasher.finish());
    sql += "INSERT INTO versions VALUES (" + std::to_string(v + 1) + ", 1000, 'old', 'v', '" +
           hashes.back() + "', " + std::to_string(set.size()) + "); COMMIT;";
    execOrFail(path, sql);
  }

  auto store = openOrFail(path, false);
  CHECK(queryInt(path, "PRAGMA user_version") == 3);
  CHECK(queryInt(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'version_resources'") == 0);
  CHECK(historyIds(*store) == std::vector<int64_t>{2, 1});
  for (int64_t id : {1, 2}) {
    auto loaded = store->loadVersion(id);
    REQUIRE(loaded.ok());
    CHECK(loaded->size() == 200);
    CHECK(store->versionInfo(id)->hash == hashes[static_cast<size_t>(id - 1)]);
  }
  CHECK(store->loadVersion(2)->at(0).body == sets[1][0].body);
  auto log = store->auditLog(-1);
  REQUIRE(log->size() == 1);
  CHECK((*log)[0].action == "migrate");
  CHECK((*log)[0].summary.find("2 versions kept") != std::string::npos);
  // Committing the same set again is still no change: the hash carried over.
  CHECK(commitOrFail(*store, sets[1]) == 2);
  CHECK(commitOrFail(*store, sets[0]) == 3);
  CHECK(rows(path, "bodies") == 202);
}

// Not run by default (`unit_store '[.size]'`): the figure in docs/versions.md.
TEST_CASE("500 versions of 10 000 resources, one changed each time", "[.size]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  auto store = openOrFail(path);
  // Bodies about the size of a real HTTPRoute's canonical JSON.
  auto body = [](int i, int generation) {
    return R"({"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"route-)" +
           std::to_string(i) +
           R"(","namespace":"shop"},"spec":{"parentRefs":[{"name":"edge"}],"hostnames":["r)" +
           std::to_string(i) +
           R"(.shop.example.com"],"rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/api/)" +
           std::to_string(i) + R"("}}],"backendRefs":[{"name":"svc-)" + std::to_string(i % 50) +
           R"(","weight":)" + std::to_string(generation) + "}]}]}}";
  };
  std::vector<StoredResource> set;
  for (int i = 0; i < 10'000; ++i)
    set.push_back(resource("HTTPRoute", "shop", "route-" + std::to_string(i), body(i, 1)));
  auto t0 = std::chrono::steady_clock::now();
  for (int v = 1; v <= 500; ++v) {
    if (v > 1) {
      const int i = (v * 7919) % 10'000;
      set[static_cast<size_t>(i)].body = body(i, v);
    }
    REQUIRE(commitOrFail(*store, set) == v);
  }
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  store.reset();  // checkpoints the log into the file
  const auto bytes = std::filesystem::file_size(path);
  std::cout << "store: 500 versions x 10000 resources (one changed per version): " << bytes / 1024
            << " KiB on disk, " << rows(path, "bodies") << " bodies, " << rows(path, "chunks")
            << " chunks, " << rows(path, "chunk_entries") << " chunk entries, "
            << rows(path, "version_chunks") << " chunk references; " << ms / 500
            << " ms per commit\n";
  CHECK(bytes < 64u * 1024 * 1024);
  // For a closer look (sqlite3_analyzer, dbstat): GH_KEEP_DB=/some/file.db
  if (const char* keep = getenv("GH_KEEP_DB"))
    std::filesystem::copy_file(path, keep, std::filesystem::copy_options::overwrite_existing);
}
