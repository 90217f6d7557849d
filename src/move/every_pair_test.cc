// The edge-case table (NULLs, unicode, the widest decimals, negative zero, timestamps to the
// microsecond, blobs with NUL bytes, UUIDs, JSON) copied between every ordered pair of engines
// ferry reads and writes: SQLite, PostgreSQL, MariaDB, CSV and JSON Lines. Each copy verifies
// clean, and each result is compared again, independently of the copy, with the SQLite original.
#include <array>
#include <map>

#include <gtest/gtest.h>

#include "base/env.h"
#include "harness/shared_servers.h"
#include "move/test_tables.h"

namespace ferry {
namespace {

constexpr std::array<std::string_view, 5> kEngines = {"sqlite", "postgresql", "mysql", "csv",
                                                      "jsonl"};

class EveryPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    original_.Exec(kSqliteSchema);
    original_.Exec(Inserts(false));
    original_.Exec(Bulk(100, 300));
    char pattern[] = "/tmp/ferry-pairs-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    for (auto& [server, db] : pg_databases_) EXPECT_TRUE(server->DropDatabase(db).ok());
    for (auto& [server, db] : maria_databases_) EXPECT_TRUE(server->DropDatabase(db).ok());
    Env::Default()->RemoveAll(dir_).IgnoreError();
  }

  // A new, empty place of `engine` to copy into.
  std::string NewTarget(std::string_view engine) {
    const std::string name = fmt::format("{}_{}", engine, ++made_);
    if (engine == "sqlite") return fmt::format("sqlite://{}/{}.db", dir_, name);
    if (engine == "csv" || engine == "jsonl") {
      return fmt::format("{}://{}/{}", engine, dir_, name);
    }
    if (engine == "postgresql") {
      testing::PostgresServer* pg = testing::SharedPostgres();
      if (pg == nullptr) return "";
      Result<std::string> db = pg->CreateDatabase(testing::CurrentTestName());
      if (!db.has_value()) return "";
      pg_databases_.emplace_back(pg, *db);
      return pg->Url(*db);
    }
    testing::MariaDbServer* maria = testing::SharedMariaDb();
    if (maria == nullptr) return "";
    Result<std::string> db = maria->CreateDatabase(testing::CurrentTestName());
    if (!db.has_value()) return "";
    maria_databases_.emplace_back(maria, *db);
    return maria->Url(*db);
  }

  // Copies `from` into `to`: the copy's own verification must be clean, and so must an
  // independent verification of `to` against the SQLite original.
  void CopyAndCheck(const std::string& from, const std::string& to, std::string_view what) {
    SCOPED_TRACE(std::string(what));
    auto copied = CopyUrls(from, to);
    ASSERT_TRUE(copied.has_value()) << copied.error().ToString();
    ASSERT_EQ(copied->tables.size(), 1u);
    EXPECT_EQ(copied->tables[0].rows, 304);
    ASSERT_TRUE(copied->verification.has_value());
    for (const TableReport& t : copied->verification->tables) {
      for (const RowDifference& d : t.differences) ADD_FAILURE() << d.key << ": " << d.detail;
    }
    EXPECT_TRUE(copied->verification->identical());
    auto against_original = VerifyUrls(original_.url(), to);
    ASSERT_TRUE(against_original.has_value()) << against_original.error().ToString();
    for (const TableReport& t : against_original->tables) {
      for (const RowDifference& d : t.differences) {
        ADD_FAILURE() << "against the original: " << d.key << ": " << d.detail;
      }
    }
    EXPECT_TRUE(against_original->identical());
  }

  SqliteFile original_{"original"};
  std::string dir_;
  int made_ = 0;
  std::vector<std::pair<testing::PostgresServer*, std::string>> pg_databases_;
  std::vector<std::pair<testing::MariaDbServer*, std::string>> maria_databases_;
};

TEST_F(EveryPairTest, EdgeCasesTravelBetweenEveryPairOfEnginesIntact) {
  // The table in each engine, copied there from the original.
  std::map<std::string_view, std::string> home;
  home["sqlite"] = original_.url();
  for (std::string_view engine : kEngines) {
    if (engine == "sqlite") continue;
    home[engine] = NewTarget(engine);
    ASSERT_FALSE(home[engine].empty()) << "no " << engine << " target";
    CopyAndCheck(original_.url(), home[engine], fmt::format("sqlite -> {}", engine));
  }
  // Then from each engine to every other.
  int pairs = 0;
  for (std::string_view from : kEngines) {
    for (std::string_view to : kEngines) {
      if (from == to) continue;
      const std::string target = NewTarget(to);
      ASSERT_FALSE(target.empty()) << "no " << to << " target";
      CopyAndCheck(home[from], target, fmt::format("{} -> {}", from, to));
      ++pairs;
    }
  }
  EXPECT_EQ(pairs, 20);
}

}  // namespace
}  // namespace ferry
