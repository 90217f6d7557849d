// Test data shared by the move module's tests: a scratch SQLite file, and one table of values
// that are hard to move, declared for SQLite and for PostgreSQL, with the same rows for both.
#ifndef FERRY_MOVE_TEST_TABLES_H_
#define FERRY_MOVE_TEST_TABLES_H_

#include <stdlib.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "base/env.h"
#include "connect/connector.h"
#include "move/copy.h"
#include "move/verify.h"
#include "store/store.h"

namespace ferry {

// A fresh SQLite file in a scratch directory.
class SqliteFile {
 public:
  explicit SqliteFile(std::string_view name) {
    char pattern[] = "/tmp/ferry-verify-XXXXXX";
    if (mkdtemp(pattern) == nullptr) abort();
    dir_ = pattern;
    path_ = fmt::format("{}/{}.db", dir_, name);
  }
  ~SqliteFile() { Env::Default()->RemoveAll(dir_).IgnoreError(); }
  std::string url() const { return "sqlite://" + path_; }
  const std::string& path() const { return path_; }

  void Exec(std::string_view sql) const {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, std::string(sql).c_str(), nullptr, nullptr, &error);
    std::string message = error != nullptr ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message << "\n" << sql;
  }

  // The first column of the first row of `sql`, as text; "" when there is no row.
  std::string QueryValue(std::string_view sql) const {
    sqlite3* db = nullptr;
    if (sqlite3_open(path_.c_str(), &db) != SQLITE_OK) abort();
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, std::string(sql).c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  }

 private:
  std::string dir_;
  std::string path_;
};

// Types that are hard to move, as SQLite declares them; the same data is loaded into each side.
constexpr std::string_view kSqliteSchema = R"sql(
CREATE TABLE account (
  id INTEGER PRIMARY KEY,
  owner NVARCHAR(80) NOT NULL,
  balance NUMERIC(12,2),
  rate REAL,
  opened DATE,
  updated DATETIME,
  active BOOLEAN,
  photo BLOB,
  ref UUID,
  profile JSON
);
)sql";

constexpr std::string_view kPostgresSchema = R"sql(
CREATE TABLE account (
  id integer PRIMARY KEY,
  owner varchar(80) NOT NULL,
  balance numeric(12,2),
  rate double precision,
  opened date,
  updated timestamp,
  active boolean,
  photo bytea,
  ref uuid,
  profile jsonb
);
)sql";

// Rows as (SQLite literal list, PostgreSQL literal list).
inline const std::vector<std::pair<std::string, std::string>> kRows = {
    {"1, 'Zoë Ångström', 1234.50, 0.035, '2024-02-29', '2024-02-29 23:59:59.5', 1, x'00ff10', "
     "'123e4567-e89b-12d3-a456-426614174000', '{\"tier\": \"gold\", \"limits\": [1, 2.50]}'",
     "1, 'Zoë Ångström', 1234.50, 0.035, '2024-02-29', '2024-02-29 23:59:59.5', true, "
     "'\\x00ff10', '123E4567-E89B-12D3-A456-426614174000', '{\"limits\": [1, 2.5], \"tier\": "
     "\"gold\"}'"},
    {"2, '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL",
     "2, '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"},
    {"3, '日本語 テキスト', -0.01, -1e-300, '1970-01-01', '1999-12-31 00:00:00', 0, x'', "
     "'00000000-0000-0000-0000-000000000000', '[]'",
     "3, '日本語 テキスト', -0.01, -1e-300, '1970-01-01', '1999-12-31 00:00:00', false, '\\x', "
     "'00000000-0000-0000-0000-000000000000', '[]'"},
    {"4, 'O''Brien', 99999999.99, 1.5, '0001-01-01', '2038-01-19 03:14:08', 1, x'deadbeef', NULL, "
     "'{\"a\": null}'",
     "4, 'O''Brien', 99999999.99, 1.5, '0001-01-01', '2038-01-19 03:14:08', true, '\\xdeadbeef', "
     "NULL, '{\"a\": null}'"},
};

inline std::string Inserts(bool postgres) {
  std::string sql;
  for (const auto& [sqlite, pg] : kRows) {
    sql += fmt::format("INSERT INTO account VALUES ({});\n", postgres ? pg : sqlite);
  }
  return sql;
}

// Many rows with a generated key, to spread over many buckets.
inline std::string Bulk(int first, int count) {
  std::string sql = "INSERT INTO account (id, owner, balance) VALUES ";
  for (int i = 0; i < count; ++i) {
    sql += fmt::format("{}({}, 'owner {}', {}.{:02})", i == 0 ? "" : ", ", first + i, first + i,
                       (first + i) * 7, (first + i) % 100);
  }
  return sql + ";";
}

// Copy and Verify between two URLs, as the CLI does (the target is created when missing).
// A state store of its own, in a scratch directory, for copies in tests.
class TempStore {
 public:
  TempStore() : file_("store") {
    auto store = Store::Open(SqliteStoreUrl(file_.path()));
    if (!store.has_value()) {
      ADD_FAILURE() << store.error().ToString();
      abort();
    }
    store_ = std::move(store).value();
  }
  Store* get() const { return store_.get(); }
  const std::string& path() const { return file_.path(); }

 private:
  SqliteFile file_;
  std::unique_ptr<Store> store_;
};

// Copies `from` to `to`; with a scratch state store unless `options` names one.
inline Result<CopyReport> CopyUrls(const std::string& from, const std::string& to,
                                   CopyOptions options = {}) {
  FERRY_ASSIGN_OR_RETURN(auto source, Connector::Open(from));
  FERRY_ASSIGN_OR_RETURN(auto target, Connector::Open(to, {.create_if_missing = true}));
  std::optional<TempStore> scratch;
  if (options.store == nullptr) options.store = scratch.emplace().get();
  return Copy(*source, *target, options);
}

inline Result<VerifyReport> VerifyUrls(const std::string& from, const std::string& to,
                                       const VerifyOptions& options = {}) {
  FERRY_ASSIGN_OR_RETURN(auto source, Connector::Open(from));
  FERRY_ASSIGN_OR_RETURN(auto target, Connector::Open(to));
  return Verify(*source, *target, options);
}

}  // namespace ferry

#endif  // FERRY_MOVE_TEST_TABLES_H_
