#pragma once
// Helpers shared by the store's tests: a temporary directory per test, commits that must
// succeed, and reads of the database behind the store's back (as an operator with the sqlite3
// shell would), to check what is actually on disk.

#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/store/store.h"

namespace gh::store::testing {

// A fresh directory under /tmp for one test, removed with everything in it (the database and
// its -wal and -shm files) when the test ends.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/gh-store-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::unique_ptr<Store> openOrFail(const std::string& path, bool create = true) {
  auto store = Store::open(path, create);
  INFO(store.status().message());
  REQUIRE(store.ok());
  return std::move(*store);
}

inline StoredResource resource(std::string kind, std::string ns, std::string name,
                               std::string body) {
  return StoredResource{std::move(kind), std::move(ns), std::move(name), std::move(body)};
}

// `n` HTTPRoutes whose bodies depend on `generation` only for the names listed in `changed`.
inline std::vector<StoredResource> routes(int n, int generation = 0,
                                          std::vector<int> changed = {}) {
  std::vector<StoredResource> out;
  for (int i = 0; i < n; ++i) {
    bool bumped = std::find(changed.begin(), changed.end(), i) != changed.end();
    std::string body = R"({"spec":{"hostnames":["r)" + std::to_string(i) + R"(.example"]},"gen":)" +
                       std::to_string(bumped ? generation : 0) + "}";
    out.push_back(resource("HTTPRoute", "default", "route-" + std::to_string(i), body));
  }
  return out;
}

inline CommitInfo by(std::string author, std::string message = "", int64_t base = -1) {
  CommitInfo info;
  info.author = std::move(author);
  info.message = std::move(message);
  info.baseVersion = base;
  return info;
}

inline int64_t commitOrFail(Store& store, const std::vector<StoredResource>& set,
                            const CommitInfo& info = by("test")) {
  Result<int64_t> id = store.commit(set, info);
  INFO(id.status().message());
  REQUIRE(id.ok());
  return *id;
}

// Reads the database behind the store's back, as an operator with the sqlite3 shell would.
inline int64_t queryInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  int64_t value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

inline std::string queryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  std::string value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

inline int64_t rows(const std::string& path, const std::string& table) {
  return queryInt(path, "SELECT count(*) FROM " + table);
}

inline void execOrFail(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) ==
          SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  INFO((error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

inline std::string openError(const std::string& path, bool create = false) {
  auto store = Store::open(path, create);
  REQUIRE_FALSE(store.ok());
  return store.status().message();
}

inline std::vector<int64_t> historyIds(Store& store, int64_t limit = -1) {
  auto history = store.history(limit);
  REQUIRE(history.ok());
  std::vector<int64_t> ids;
  for (const VersionInfo& v : *history) ids.push_back(v.id);
  return ids;
}

}  // namespace gh::store::testing
