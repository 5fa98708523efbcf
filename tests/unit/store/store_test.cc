#include "core/store/store.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/base/sha256.h"
#include "core/store/content_hash.h"
#include "core/store/manifest.h"
#include "tests/unit/store/store_test_util.h"

using namespace gh;
using namespace gh::store;
using namespace gh::store::testing;

TEST_CASE("open creates a database only when asked to", "[store]") {
  TempDir dir;
  const std::string path = dir.file("config.db");

  CHECK(openError(path) == path + ": no such database");
  CHECK_FALSE(std::filesystem::exists(path));
  const std::string nowhere = dir.file("missing/config.db");
  CHECK(openError(nowhere, /*create=*/true) ==
        nowhere + ": cannot open: unable to open database file");

  {
    auto store = openOrFail(path, /*create=*/true);
    CHECK(*store->activeVersion() == 0);
    CHECK(store->history(10)->empty());
  }
  CHECK(queryInt(path, "PRAGMA user_version") == 3);
  CHECK(queryInt(path, "PRAGMA application_id") == 0x47486366);
  // A write-ahead log is a property of the file: a connection that did not ask for it sees it.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))) == "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);

  // Reopening, with or without create, finds the same (migrated) database.
  auto again = openOrFail(path, /*create=*/false);
  CHECK(*again->activeVersion() == 0);
  commitOrFail(*again, routes(2));
  auto third = openOrFail(path, /*create=*/true);
  CHECK(*third->activeVersion() == 1);
}

TEST_CASE("a committed version loads back sorted and survives reopening", "[store]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  // Given out of order, with bodies an SQL string builder would mangle.
  const std::vector<StoredResource> input = {
      resource("Service", "shop", "cart", R"({"q":"it's \"quoted\"; DROP TABLE blobs;--"})"),
      resource("Listener", "default", "public", R"({"port":443,"name":"Zürich ✓"})"),
      resource("HTTPRoute", "shop", "cart", std::string("with\0nul", 8)),
      resource("HTTPRoute", "default", "empty", ""),
  };

  auto before = std::chrono::system_clock::now();
  int64_t id;
  {
    auto store = openOrFail(path);
    id = commitOrFail(*store, input, by("alice", "first cut"));
  }
  auto after = std::chrono::system_clock::now();
  CHECK(id == 1);

  auto store = openOrFail(path, /*create=*/false);
  CHECK(*store->activeVersion() == 1);
  auto loaded = store->loadVersion(id);
  REQUIRE(loaded.ok());
  REQUIRE(loaded->size() == 4);
  const StoredResource& a = (*loaded)[0];
  const StoredResource& b = (*loaded)[1];
  const StoredResource& c = (*loaded)[2];
  const StoredResource& d = (*loaded)[3];
  CHECK((a.kind == "HTTPRoute" && a.ns == "default" && a.name == "empty" && a.body.empty()));
  CHECK((b.kind == "HTTPRoute" && b.ns == "shop" && b.name == "cart"));
  CHECK(b.body == std::string("with\0nul", 8));
  CHECK((c.kind == "Listener" && c.body == input[1].body));
  CHECK((d.kind == "Service" && d.body == input[0].body));

  auto info = store->versionInfo(id);
  REQUIRE(info.ok());
  CHECK(info->id == 1);
  CHECK(info->author == "alice");
  CHECK(info->message == "first cut");
  CHECK(info->resourceCount == 4);
  CHECK(info->hash.size() == 64);
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  CHECK(info->createdAtUnixMs >= duration_cast<milliseconds>(before.time_since_epoch()).count());
  CHECK(info->createdAtUnixMs <= duration_cast<milliseconds>(after.time_since_epoch()).count());
}

TEST_CASE("an unknown version is an error, an empty version is not", "[store]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  auto store = openOrFail(path);
  CHECK(store->versionInfo(1).status().message() == path + ": no version 1");
  CHECK(store->loadVersion(1).status().message() == path + ": no version 1");

  int64_t id = commitOrFail(*store, {});
  CHECK(id == 1);
  auto loaded = store->loadVersion(id);
  REQUIRE(loaded.ok());
  CHECK(loaded->empty());
  CHECK(store->versionInfo(id)->resourceCount == 0);
  CHECK(store->versionInfo(2).status().message() == path + ": no version 2");
}

TEST_CASE("committing the active set again creates no version", "[store]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  auto store = openOrFail(path);

  auto first = routes(20);
  CHECK(commitOrFail(*store, first) == 1);
  // The same set in another order is the same set.
  auto shuffled = first;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(7));
  CHECK(commitOrFail(*store, shuffled, by("bob", "again")) == 1);
  CHECK(historyIds(*store) == std::vector<int64_t>{1});
  CHECK(store->versionInfo(1)->author == "test");
  CHECK(rows(path, "versions") == 1);

  // A change is a version; going back to the first set is a change too, with the first hash.
  CHECK(commitOrFail(*store, routes(20, 1, {3})) == 2);
  CHECK(commitOrFail(*store, first) == 3);
  CHECK(store->versionInfo(3)->hash == store->versionInfo(1)->hash);
  CHECK(store->versionInfo(2)->hash != store->versionInfo(1)->hash);
}

TEST_CASE("the version hash follows the documented encoding", "[store]") {
  TempDir dir;
  auto store = openOrFail(dir.file("config.db"));
  const std::vector<StoredResource> set = {
      resource("Service", "shop", "cart", "{}"),
      resource("HTTPRoute", "default", "www", R"({"a":1})"),
  };
  int64_t id = commitOrFail(*store, set);

  // Spelled out by hand from content_hash.h, so a change to the format fails here: hashes are
  // compared between nodes and must not drift between builds.
  auto netstring = [](const std::string& s) { return std::to_string(s.size()) + ":" + s + ","; };
  std::string encoded = "gatehouse-version-1\n";
  for (const StoredResource* r : {&set[1], &set[0]})
    encoded += netstring(r->kind) + netstring(r->ns) + netstring(r->name) +
               netstring(Sha256::hex(r->body));
  CHECK(store->versionInfo(id)->hash == Sha256::hex(encoded));
}

TEST_CASE("the version hash cannot confuse field boundaries", "[store]") {
  // Each entry: kind, namespace, name, body hash.
  auto hashOf = [](std::vector<std::array<std::string, 4>> resources) {
    VersionHasher hasher;
    for (const auto& [kind, ns, name, bodyHash] : resources) hasher.add(kind, ns, name, bodyHash);
    return hasher.finish();
  };
  const std::string h1 = blobHash("1"), h2 = blobHash("2");
  const std::string base = hashOf({{"Service", "shop", "cart", h1}});
  CHECK(hashOf({{"Service", "shop", "cart", h1}}) == base);
  CHECK(hashOf({{"Servic", "eshop", "cart", h1}}) != base);
  CHECK(hashOf({{"Service", "shopc", "art", h1}}) != base);
  CHECK(hashOf({{"Service", "shop", "cart", h2}}) != base);
  CHECK(hashOf({}) != hashOf({{"", "", "", ""}}));
  // A name that spells out the encoding of the rest of a second resource still does not make
  // one resource look like two: its own length prefix gives it away.
  CHECK(hashOf({{"A", "n", "x", h1}, {"A", "n", "y", h2}}) !=
        hashOf({{"A", "n", "x,64:" + h1 + ",1:A,1:n,1:y", h2}}));
}

TEST_CASE("versions share the bodies they have in common", "[store]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  auto store = openOrFail(path);

  commitOrFail(*store, routes(1000));
  CHECK(rows(path, "bodies") == 1000);
  CHECK(rows(path, "chunk_entries") == 1000);
  const int64_t chunks = rows(path, "chunks");
  CHECK(chunks > 1);

  commitOrFail(*store, routes(1000, 1, {42}));
  CHECK(rows(path, "versions") == 2);
  CHECK(rows(path, "bodies") == 1001);  // only the changed body is new
  // ... and only the chunk that holds it: the other chunks of the list are shared.
  CHECK(rows(path, "chunks") == chunks + 1);
  CHECK(rows(path, "version_chunks") == 2 * chunks);
  CHECK(rows(path, "chunk_entries") < 1000 + static_cast<int64_t>(kMaxChunkEntries));

  // Identical bodies under different names are one blob as well.
  commitOrFail(*store,
               {resource("Service", "a", "x", "same"), resource("Service", "b", "y", "same")});
  CHECK(rows(path, "bodies") == 1002);

  auto second = store->loadVersion(2);
  REQUIRE(second.ok());
  REQUIRE(second->size() == 1000);
  auto changed = std::find_if(second->begin(), second->end(),
                              [](const StoredResource& r) { return r.name == "route-42"; });
  REQUIRE(changed != second->end());
  CHECK(changed->body.find("\"gen\":1") != std::string::npos);
}

TEST_CASE("pruning keeps the newest versions and drops bodies nobody uses", "[store]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  auto store = openOrFail(path);
  store->setKeepVersions(3);

  // Every version holds one body common to all and one of its own.
  const StoredResource common = resource("Listener", "default", "public", R"({"port":80})");
  for (int generation = 1; generation <= 5; ++generation) {
    std::string own = R"({"gen":)" + std::to_string(generation) + "}";
    CHECK(commitOrFail(*store, {common, resource("HTTPRoute", "default", "www", own)}) ==
          generation);
  }

  CHECK(historyIds(*store) == std::vector<int64_t>{5, 4, 3});
  CHECK(rows(path, "versions") == 3);
  CHECK(rows(path, "version_chunks") == 3);  // one chunk each: two entries never fill more
  CHECK(rows(path, "chunks") == 3);
  CHECK(rows(path, "chunk_entries") == 6);
  CHECK(rows(path, "bodies") == 4);  // the common body and those of versions 3, 4 and 5
  CHECK(queryInt(path,
                 "SELECT count(*) FROM bodies WHERE body IN ('{\"gen\":1}', '{\"gen\":2}')") == 0);
  CHECK_FALSE(store->loadVersion(2).ok());
  auto oldest = store->loadVersion(3);
  REQUIRE(oldest.ok());
  REQUIRE(oldest->size() == 2);
  CHECK((*oldest)[0].body == R"({"gen":3})");
  CHECK((*oldest)[1].body == common.body);

  // Ids keep counting up after pruning; an old id is never handed out again.
  CHECK(commitOrFail(*store, {common}) == 6);
  CHECK(historyIds(*store) == std::vector<int64_t>{6, 5, 4});
  CHECK(rows(path, "bodies") == 3);

  // The active version always survives, whatever the setting.
  store->setKeepVersions(0);
  CHECK(commitOrFail(*store, {}) == 7);
  CHECK(historyIds(*store) == std::vector<int64_t>{7});
  CHECK(rows(path, "bodies") == 0);
  CHECK(rows(path, "chunks") == 0);
  CHECK(rows(path, "chunk_entries") == 0);
  CHECK(rows(path, "version_chunks") == 0);
}

TEST_CASE("a commit based on a stale version is refused as a conflict", "[store]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  auto alice = openOrFail(path);
  auto bob = openOrFail(path);

  // Base 0 means "I saw an empty store".
  CHECK(commitOrFail(*alice, routes(3), by("alice", "", /*base=*/0)) == 1);

  // Bob loaded the empty store too, and is now behind.
  Result<int64_t> stale = bob->commit(routes(4), by("bob", "", /*base=*/0));
  REQUIRE_FALSE(stale.ok());
  CHECK(isConflict(stale.status()));
  const std::string& message = stale.status().message();
  CHECK(message.rfind("conflict: ", 0) == 0);
  CHECK(message.find("version 0") != std::string::npos);
  CHECK(message.find("version 1") != std::string::npos);
  CHECK(historyIds(*bob) == std::vector<int64_t>{1});

  // Even an identical set is a conflict when the base is stale: the caller decided on old data.
  CHECK(isConflict(bob->commit(routes(3), by("bob", "", 0)).status()));

  // After re-reading, Bob's change goes in; without a base it always does.
  CHECK(commitOrFail(*bob, routes(4), by("bob", "", /*base=*/1)) == 2);
  CHECK(commitOrFail(*alice, routes(5), by("alice")) == 3);
  CHECK_FALSE(isConflict(okStatus()));
  CHECK_FALSE(isConflict(Status::error("something else")));
}

TEST_CASE("many connections may create and migrate one new file at once", "[store]") {
  // All of them find a new, empty file; while one converts it to WAL and migrates it, the
  // others look at it at every stage of that and must neither fail nor mistake it for someone
  // else's database. Several rounds, as each race is narrow.
  constexpr int kRounds = 10;
  constexpr int kOpeners = 12;
  for (int round = 0; round < kRounds; ++round) {
    TempDir dir;
    const std::string path = dir.file("config.db");
    std::atomic<bool> go{false};
    std::vector<std::string> failures(kOpeners);
    std::vector<std::thread> openers;
    for (int i = 0; i < kOpeners; ++i) {
      openers.emplace_back([&, i] {
        while (!go.load()) std::this_thread::yield();
        auto store = Store::open(path, /*create=*/true);
        if (!store.ok()) {
          failures[i] = store.status().message();
          return;
        }
        // Commits keep the file busy while later openers are still looking at it.
        auto id = (*store)->commit({resource("Service", "s", std::to_string(i), "{}")}, by("t"));
        if (!id.ok()) failures[i] = id.status().message();
      });
    }
    go = true;
    for (std::thread& t : openers) t.join();
    INFO("round " << round);
    for (const std::string& f : failures) CHECK(f == "");
    CHECK(queryInt(path, "PRAGMA user_version") == 3);
    // bodies, versions, chunks, chunk_entries, version_chunks, audit, runtime, refusals,
    // users, sessions, api_tokens
    CHECK(queryInt(path, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'") == 11);
  }
}

TEST_CASE("writers on separate connections serialize, and stale bases are caught", "[store]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  constexpr int kWriters = 4;
  constexpr int kCommitsEach = 10;

  // Every writer opens the new file at once, so they also race to create and migrate it.
  std::vector<int> conflicts(kWriters, 0);
  std::vector<std::string> failures(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto opened = Store::open(path, /*create=*/true);
      if (!opened.ok()) {
        failures[w] = opened.status().message();
        return;
      }
      Store& store = **opened;
      for (int done = 0; done < kCommitsEach;) {
        // Read, decide, commit based on what was read: the editor's loop.
        int64_t base = *store.activeVersion();
        std::string body = std::to_string(w) + "/" + std::to_string(done);
        Result<int64_t> id =
            store.commit({resource("Service", "w", std::to_string(w), body)}, by("w", "", base));
        if (isConflict(id.status())) {
          ++conflicts[w];
          continue;
        }
        if (!id.ok() || *id != base + 1) {
          failures[w] = id.ok()
                            ? "version " + std::to_string(*id) + " after " + std::to_string(base)
                            : id.status().message();
          return;
        }
        ++done;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  for (const std::string& f : failures) CHECK(f == "");

  auto store = openOrFail(path, /*create=*/false);
  CHECK(*store->activeVersion() == kWriters * kCommitsEach);
  CHECK(rows(path, "versions") == kWriters * kCommitsEach);
  CHECK(rows(path, "audit") == kWriters * kCommitsEach);
  CHECK(queryInt(path, "PRAGMA user_version") == 3);
  int total = 0;
  for (int c : conflicts) total += c;
  std::cout << "store: " << kWriters << " writers, " << kWriters * kCommitsEach << " commits, "
            << total << " conflicts retried\n";
}

TEST_CASE("two resources with one key are refused", "[store]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  auto store = openOrFail(path);
  auto set = routes(5);
  set.push_back(resource("HTTPRoute", "default", "route-2", "{}"));

  Result<int64_t> id = store->commit(set, by("test"));
  REQUIRE_FALSE(id.ok());
  CHECK(id.status().message() == path + ": commit: HTTPRoute default/route-2 appears twice");
  CHECK(*store->activeVersion() == 0);
  CHECK(rows(path, "bodies") == 0);

  // The same name in another namespace or of another kind is a different resource.
  set.back() = resource("HTTPRoute", "other", "route-2", "{}");
  set.push_back(resource("Service", "default", "route-2", "{}"));
  CHECK(commitOrFail(*store, set) == 1);
}

TEST_CASE("dataVersion moves when another connection commits, and only then", "[store]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  auto server = openOrFail(path);
  auto cli = openOrFail(path);

  const int64_t start = *server->dataVersion();
  CHECK(*server->dataVersion() == start);
  CHECK(*server->activeVersion() == 0);

  // Its own commit is news to nobody.
  commitOrFail(*server, routes(2));
  const int64_t afterOwn = *server->dataVersion();
  CHECK(afterOwn == start);

  commitOrFail(*cli, routes(3));
  const int64_t afterOther = *server->dataVersion();
  CHECK(afterOther != afterOwn);
  CHECK(*server->activeVersion() == 2);
  CHECK(*server->dataVersion() == afterOther);

  // A commit that changes nothing writes nothing, so there is nothing to notice.
  commitOrFail(*cli, routes(3));
  CHECK(*server->dataVersion() == afterOther);

  // A refused commit does not either.
  CHECK_FALSE(cli->commit(routes(4), by("cli", "", /*base=*/1)).ok());
  CHECK(*server->dataVersion() == afterOther);
}

TEST_CASE("a corrupt database is refused", "[store]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  {
    auto store = openOrFail(path);
    for (int generation = 1; generation <= 20; ++generation)
      commitOrFail(*store, routes(2000, generation, {generation}));
  }
  // The last connection to close checkpointed the log into the main file and removed it.
  REQUIRE_FALSE(std::filesystem::exists(path + "-wal"));
  const auto size = std::filesystem::file_size(path);
  REQUIRE(size > 64 * 4096);

  SECTION("pages overwritten with garbage") {
    {
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(size / 2));
      std::string garbage(3 * 4096, '\xa5');
      f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
    // Found by quick_check, which names the damaged pages.
    const std::string error = openError(path);
    INFO(error);
    CHECK(error.rfind(path + ": database is corrupt: Page ", 0) == 0);
    CHECK(error.find('\n') == std::string::npos);
  }
  SECTION("file truncated") {
    // Here SQLite fails the check itself with SQLITE_CORRUPT instead of reporting rows.
    std::filesystem::resize_file(path, size / 2);
    const std::string error = openError(path);
    INFO(error);
    CHECK(error.rfind(path + ": database is corrupt: ", 0) == 0);
  }
}

TEST_CASE("a file that is not a gatehouse database is refused", "[store]") {
  TempDir dir;

  SECTION("not SQLite at all") {
    const std::string path = dir.file("notes.txt");
    std::ofstream(path) << std::string(8192, 'x');
    CHECK(openError(path) == path + ": not a SQLite database");
    CHECK(openError(path, /*create=*/true) == path + ": not a SQLite database");
  }
  SECTION("another program's SQLite database, left untouched") {
    const std::string path = dir.file("other.db");
    execOrFail(path, "CREATE TABLE photos(id INTEGER PRIMARY KEY, title TEXT)");
    const std::string error = openError(path);
    CHECK(error.rfind(path + ": not a gatehouse database", 0) == 0);
    CHECK(queryInt(path, "SELECT count(*) FROM sqlite_schema") == 1);
  }
  SECTION("laid out by a newer gatehouse") {
    const std::string path = dir.file("config.db");
    { openOrFail(path); }
    execOrFail(path, "PRAGMA user_version = 99");
    CHECK(openError(path) == path + ": schema version 99 is newer than this gatehouse (3)");
  }
}

TEST_CASE("history lists versions newest first", "[store]") {
  TempDir dir;
  auto store = openOrFail(dir.file("config.db"));
  for (int i = 1; i <= 5; ++i)
    commitOrFail(*store, routes(i), by("user" + std::to_string(i), "change " + std::to_string(i)));

  auto recent = store->history(3);
  REQUIRE(recent.ok());
  REQUIRE(recent->size() == 3);
  for (int k = 0; k < 3; ++k) {
    const VersionInfo& v = (*recent)[static_cast<size_t>(k)];
    CHECK(v.id == 5 - k);
    CHECK(v.resourceCount == 5 - k);
    CHECK(v.author == "user" + std::to_string(5 - k));
    CHECK(v.message == "change " + std::to_string(5 - k));
    CHECK(v.hash == store->versionInfo(v.id)->hash);
  }
  CHECK((*recent)[0].createdAtUnixMs >= (*recent)[2].createdAtUnixMs);
  CHECK(historyIds(*store) == std::vector<int64_t>{5, 4, 3, 2, 1});
  CHECK(historyIds(*store, 100) == std::vector<int64_t>{5, 4, 3, 2, 1});
  CHECK(historyIds(*store, 0).empty());
}

TEST_CASE("ten thousand resources commit in one go", "[store][slow]") {
  TempDir dir;
  const std::string path = dir.file("config.db");
  auto store = openOrFail(path);
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };

  const auto first = routes(10'000);
  auto t0 = Clock::now();
  CHECK(commitOrFail(*store, first) == 1);
  auto t1 = Clock::now();
  auto loaded = store->loadVersion(1);
  auto t2 = Clock::now();
  REQUIRE(loaded.ok());
  CHECK(loaded->size() == 10'000);
  CHECK(commitOrFail(*store, first) == 1);
  auto t3 = Clock::now();
  CHECK(commitOrFail(*store, routes(10'000, 1, {0, 9'999})) == 2);
  auto t4 = Clock::now();
  CHECK(rows(path, "bodies") == 10'002);

  std::cout << "store: 10000 resources: first commit " << ms(t1 - t0) << " ms, load " << ms(t2 - t1)
            << " ms, unchanged commit " << ms(t3 - t2) << " ms, commit of 2 changes " << ms(t4 - t3)
            << " ms\n";
}
