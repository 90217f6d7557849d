// ferry's verification against real engines: SQLite files and a PostgreSQL 15 server. Each
// kind of difference is planted and must be reported with its key.
#include "move/verify.h"

#include <stdlib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "base/env.h"
#include "harness/shared_servers.h"
#include "move/test_tables.h"

namespace ferry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SqliteVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (SqliteFile* f : {&source_, &target_}) {
      f->Exec(kSqliteSchema);
      f->Exec(Inserts(false));
      f->Exec(Bulk(100, 500));
    }
  }
  const TableReport& Only(const VerifyReport& report) {
    EXPECT_EQ(report.tables.size(), 1u);
    return report.tables.front();
  }
  SqliteFile source_{"source"};
  SqliteFile target_{"target"};
};

TEST_F(SqliteVerifyTest, IdenticalDatabasesVerifyClean) {
  auto report = VerifyUrls(source_.url(), target_.url());
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  const TableReport& t = Only(*report);
  EXPECT_TRUE(report->identical());
  EXPECT_EQ(t.source_rows, 504);
  EXPECT_EQ(t.target_rows, 504);
  EXPECT_THAT(t.key, ElementsAre("id"));
  EXPECT_EQ(t.differing_buckets, 0);
  EXPECT_TRUE(t.differences.empty());
}

TEST_F(SqliteVerifyTest, ReportsEachKindOfDifferenceByKey) {
  target_.Exec("DELETE FROM account WHERE id = 250");                      // missing
  target_.Exec("INSERT INTO account (id, owner) VALUES (9999, 'ghost')");  // extra
  target_.Exec("UPDATE account SET owner = 'Zoe Angstrom' WHERE id = 1");  // changed value
  target_.Exec("UPDATE account SET balance = NULL WHERE id = 4");          // NULL-ness
  target_.Exec("UPDATE account SET balance = 3.4 WHERE id = 3");           // -0.01 -> 3.4
  target_.Exec(
      "UPDATE account SET balance = 700.9 WHERE id = 100");  // precision lost: 700.00? see below
  auto report = VerifyUrls(source_.url(), target_.url());
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  const TableReport& t = Only(*report);
  EXPECT_FALSE(report->identical());
  EXPECT_EQ(t.missing, 1);
  EXPECT_EQ(t.extra, 1);
  EXPECT_EQ(t.changed, 4);
  std::map<std::string, RowDifference> by_key;
  for (const RowDifference& d : t.differences) by_key[d.key] = d;
  ASSERT_TRUE(by_key.contains("id=250"));
  EXPECT_EQ(by_key["id=250"].kind, DifferenceKind::kMissing);
  ASSERT_TRUE(by_key.contains("id=9999"));
  EXPECT_EQ(by_key["id=9999"].kind, DifferenceKind::kExtra);
  ASSERT_TRUE(by_key.contains("id=1"));
  EXPECT_THAT(by_key["id=1"].columns, ElementsAre("owner"));
  EXPECT_THAT(by_key["id=1"].detail, HasSubstr("'Zoë Ångström' -> 'Zoe Angstrom'"));
  ASSERT_TRUE(by_key.contains("id=4"));
  EXPECT_THAT(by_key["id=4"].detail, HasSubstr("balance: 99999999.99 -> NULL"));
  EXPECT_THAT(by_key["id=3"].detail, HasSubstr("balance: -0.01 -> 3.4"));
  EXPECT_THAT(by_key["id=100"].detail, HasSubstr("balance: 700 -> 700.9"));
}

TEST_F(SqliteVerifyTest, ReportsLostPrecision) {
  // A target that keeps fewer decimal places rounds 1234.5 to 1235: the digits are compared.
  target_.Exec("UPDATE account SET balance = ROUND(balance) WHERE id = 1");
  auto report = VerifyUrls(source_.url(), target_.url());
  ASSERT_TRUE(report.has_value());
  const TableReport& t = Only(*report);
  ASSERT_EQ(t.changed, 1);
  EXPECT_EQ(t.differences[0].key, "id=1");
  EXPECT_THAT(t.differences[0].detail, HasSubstr("balance: 1234.5 -> 1235"));
}

// A changed 20 KB blob is reported by its start, its size and where it first differs, not
// printed whole.
TEST_F(SqliteVerifyTest, LongChangedValuesAreShortenedWithTheFirstDifference) {
  for (SqliteFile* f : {&source_, &target_}) {
    f->Exec(
        "UPDATE account SET photo = zeroblob(20000), owner = printf('%.3000c', 'a') "
        "WHERE id = 150");
  }
  target_.Exec(
      "UPDATE account SET photo = CAST(substr(photo, 1, 12345) || x'01' || "
      "substr(photo, 12347) AS BLOB), owner = printf('%.2999c', 'a') || 'b' "
      "WHERE id = 150");
  auto report = VerifyUrls(source_.url(), target_.url());
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  const TableReport& t = Only(*report);
  ASSERT_EQ(t.changed, 1);
  const RowDifference& d = t.differences.at(0);
  EXPECT_EQ(d.key, "id=150");
  EXPECT_THAT(d.columns, ElementsAre("owner", "photo"));
  EXPECT_LT(d.detail.size(), 600u) << d.detail;
  EXPECT_THAT(d.detail, HasSubstr("(20000 bytes) -> x'"));
  EXPECT_THAT(d.detail, HasSubstr("(first difference at byte 12345)"));
  EXPECT_THAT(d.detail, HasSubstr("(3000 bytes)"));
  EXPECT_THAT(d.detail, HasSubstr("(first difference at byte 2999)"));
}

TEST_F(SqliteVerifyTest, ListsAFewAndCountsTheRest) {
  target_.Exec("DELETE FROM account WHERE id >= 200");
  auto report = VerifyUrls(source_.url(), target_.url(), {.max_listed_differences = 5});
  ASSERT_TRUE(report.has_value());
  const TableReport& t = Only(*report);
  EXPECT_EQ(t.missing, 400);
  EXPECT_EQ(t.differences.size(), 5u);
}

TEST_F(SqliteVerifyTest, TablesAndColumnsOnOneSideOnly) {
  source_.Exec("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)");
  target_.Exec("CREATE TABLE audit (id INTEGER PRIMARY KEY)");
  target_.Exec("ALTER TABLE account ADD COLUMN extra TEXT");
  auto report = VerifyUrls(source_.url(), target_.url());
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  ASSERT_EQ(report->tables.size(), 3u);
  EXPECT_EQ(report->tables[0].table, "account");
  EXPECT_TRUE(report->tables[0].identical());  // the extra column is noted, not compared
  EXPECT_THAT(report->tables[0].schema_notes,
              ElementsAre("column `extra` is in the target only (not compared)"));
  EXPECT_EQ(report->tables[1].table, "audit");
  EXPECT_FALSE(report->tables[1].in_source);
  EXPECT_EQ(report->tables[2].table, "note");
  EXPECT_FALSE(report->tables[2].in_target);
  EXPECT_FALSE(report->identical());
}

TEST(VerifyKeylessTest, ComparesWholeRowsWithMultiplicity) {
  SqliteFile source("source"), target("target");
  source.Exec(
      "CREATE TABLE log (at TEXT, msg TEXT); INSERT INTO log VALUES ('a', 'x'), ('a', 'x'), "
      "('b', 'y');");
  target.Exec(
      "CREATE TABLE log (at TEXT, msg TEXT); INSERT INTO log VALUES ('a', 'x'), ('b', 'y'), "
      "('c', 'z');");
  auto report = VerifyUrls(source.url(), target.url());
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  const TableReport& t = report->tables.at(0);
  EXPECT_TRUE(t.key.empty());
  EXPECT_EQ(t.missing, 1);  // ('a','x') twice in the source, once in the target
  EXPECT_EQ(t.extra, 1);    // ('c','z')
  bool saw_count = false;
  for (const RowDifference& d : t.differences) {
    if (d.detail == "(at='a', msg='x'): 2 in the source, 1 in the target") saw_count = true;
  }
  EXPECT_TRUE(saw_count);
}

TEST(VerifyKeylessTest, CountsEveryMissingCopyOfARow) {
  SqliteFile source("source"), target("target");
  source.Exec("CREATE TABLE log (msg TEXT); INSERT INTO log VALUES ('x'), ('x'), ('x'), ('y');");
  target.Exec("CREATE TABLE log (msg TEXT); INSERT INTO log VALUES ('x'), ('y');");
  auto report = VerifyUrls(source.url(), target.url());
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_EQ(report->tables.at(0).missing, 2);
  EXPECT_EQ(report->tables.at(0).extra, 0);
}

// SQLite does not enforce NOT NULL on a non-integer primary key: rows can share a NULL key.
TEST(VerifyDuplicateKeyTest, ComparesRowsSharingAKeyAsMultisets) {
  SqliteFile source("source"), target("target");
  source.Exec(
      "CREATE TABLE t (code TEXT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (NULL, 'a'), "
      "(NULL, 'b'), ('k', 'same');");
  target.Exec(
      "CREATE TABLE t (code TEXT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (NULL, 'a'), "
      "(NULL, 'c'), ('k', 'same');");
  auto report = VerifyUrls(source.url(), target.url());
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  const TableReport& t = report->tables.at(0);
  EXPECT_FALSE(t.identical());
  EXPECT_EQ(t.missing, 1);
  EXPECT_EQ(t.extra, 1);
  ASSERT_EQ(t.differences.size(), 2u);
  EXPECT_THAT(t.differences[0].detail, HasSubstr("v='b'"));
}

TEST(VerifySchemaTest, AColumnMissingInTheTargetIsADifference) {
  SqliteFile source("source"), target("target");
  source.Exec(
      "CREATE TABLE person (id INTEGER PRIMARY KEY, ssn TEXT); INSERT INTO person VALUES (1, "
      "'078-05-1120');");
  target.Exec("CREATE TABLE person (id INTEGER PRIMARY KEY); INSERT INTO person VALUES (1);");
  auto report = VerifyUrls(source.url(), target.url());
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_FALSE(report->identical());
  EXPECT_THAT(report->tables.at(0).missing_columns, ElementsAre("ssn"));
}

TEST(VerifyConversionTest, ConversionsThatLoseInformationDoNotHideDifferences) {
  SqliteFile source("source"), target("target");
  source.Exec(
      "CREATE TABLE n (id INTEGER PRIMARY KEY, big INTEGER, r REAL, d NUMERIC(20,2));"
      "INSERT INTO n VALUES (1, 9007199254740993, 0.1 + 0.2, 1.98), (2, 5, 0.5, 3);");
  target.Exec(
      "CREATE TABLE n (id INTEGER PRIMARY KEY, big REAL, r NUMERIC(20,2), d REAL);"
      "INSERT INTO n VALUES (1, 9007199254740992, 0.3, 1.98), (2, 5, 0.5, 3);");
  auto report = VerifyUrls(source.url(), target.url());
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  const TableReport& t = report->tables.at(0);
  // Row 2 converts exactly (5 -> 5.0, 0.5 -> 0.5, 3 -> 3.0); row 1 does not.
  EXPECT_EQ(t.changed, 1);
  ASSERT_EQ(t.differences.size(), 1u);
  EXPECT_EQ(t.differences[0].key, "id=1");
  EXPECT_THAT(t.differences[0].columns, ElementsAre("big", "r"));
}

TEST(VerifyLimitsTest, TooManyDifferencesToHoldAreReportedAsIncomplete) {
  SqliteFile source("source"), target("target");
  source.Exec(kSqliteSchema);
  source.Exec(Bulk(1, 500));
  target.Exec(kSqliteSchema);
  target.Exec(Bulk(1001, 500));
  auto report = VerifyUrls(source.url(), target.url(), {.max_rows_in_memory = 100});
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  const TableReport& t = report->tables.at(0);
  EXPECT_TRUE(t.incomplete);
  EXPECT_FALSE(t.identical());
  EXPECT_TRUE(t.differences.empty());
  EXPECT_EQ(t.missing + t.extra + t.changed, 0);
  EXPECT_GT(t.differing_buckets, 0);
}

TEST(VerifyInputTest, BadUrlsNameTheProblem) {
  auto unknown = Connector::Open("oracle://scott:tiger@db/orcl");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.error().message(), HasSubstr("unknown kind of database `oracle`"));
  EXPECT_THAT(unknown.error().message(), ::testing::Not(HasSubstr("tiger")));

  auto missing = Connector::Open("sqlite:///nonexistent/dir/x.db");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kUnavailable);
  EXPECT_THAT(missing.error().message(), HasSubstr("/nonexistent/dir/x.db"));

  SqliteFile garbage("garbage");
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(garbage.path(), std::string(4096, 'g')).ok());
  auto not_db = Connector::Open(garbage.url());
  ASSERT_FALSE(not_db.has_value());
  EXPECT_THAT(not_db.error().message(), HasSubstr("not an SQLite database"));
}

TEST(VerifyInputTest, AValueThatDoesNotParseNamesTableColumnAndRow) {
  SqliteFile source("source"), target("target");
  source.Exec(
      "CREATE TABLE t (id INTEGER PRIMARY KEY, d DATE); INSERT INTO t VALUES (1, "
      "'2024-01-01'), (2, '2023-02-30');");
  target.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, d DATE);");
  auto report = VerifyUrls(source.url(), target.url());
  ASSERT_FALSE(report.has_value());
  EXPECT_THAT(report.error().message(), HasSubstr("table `t`, column `d` (DATE), row 2"));
  EXPECT_THAT(report.error().message(), HasSubstr("2023-02-30"));
}

// The public Chinook sample (../shared/data/chinook), beside the repository in CI; a user's
// clone has no ../shared, and the test says so and skips.
TEST(ChinookVerifyTest, FindsPlantedDifferencesInChinook) {
  const std::string chinook = FERRY_SHARED_DIR "/data/chinook/Chinook_Sqlite.sqlite";
  if (!Env::Default()->FileExists(chinook)) {
    GTEST_SKIP() << chinook << " not found: the shared datasets are not beside this clone";
  }
  SqliteFile source("chinook_source"), target("chinook_target");
  auto bytes = Env::Default()->ReadFile(chinook);
  ASSERT_TRUE(bytes.has_value());
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(source.path(), *bytes).ok());
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(target.path(), *bytes).ok());
  auto clean = VerifyUrls(source.url(), target.url());
  ASSERT_TRUE(clean.has_value()) << clean.error().ToString();
  EXPECT_TRUE(clean->identical());
  EXPECT_EQ(clean->tables.size(), 11u);

  target.Exec(
      "UPDATE Invoice SET Total = 2.00 WHERE InvoiceId = 1;"
      "DELETE FROM Track WHERE TrackId = 3;"
      "UPDATE Customer SET Company = NULL WHERE CustomerId = 1;");
  auto report = VerifyUrls(source.url(), target.url());
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  std::map<std::string, const TableReport*> by_table;
  for (const TableReport& t : report->tables) by_table[t.table] = &t;
  EXPECT_EQ(by_table["Invoice"]->differences.at(0).detail, "Total: 1.98 -> 2");
  EXPECT_EQ(by_table["Track"]->differences.at(0).key, "TrackId=3");
  EXPECT_THAT(by_table["Customer"]->differences.at(0).detail,
              HasSubstr("Company: 'Embraer - Empresa Brasileira de Aeronáutica S.A.' -> NULL"));
  EXPECT_TRUE(by_table["InvoiceLine"]->identical());
}

// ---- Across engines: the same rows in SQLite and PostgreSQL.

class CrossEngineVerifyTest : public testing::PostgresTest {
 protected:
  void SetUp() override {
    testing::PostgresTest::SetUp();
    source_.Exec(kSqliteSchema);
    source_.Exec(Inserts(false));
    source_.Exec(Bulk(100, 2000));
    ASSERT_TRUE(Execute(kPostgresSchema).ok());
    ASSERT_TRUE(Execute(Inserts(true)).ok());
    ASSERT_TRUE(Execute(Bulk(100, 2000)).ok());
  }
  SqliteFile source_{"source"};
};

TEST_F(CrossEngineVerifyTest, TableNamesDifferingOnlyInCaseAreNeverConfused) {
  ASSERT_TRUE(Execute("CREATE TABLE \"Account\" (id int PRIMARY KEY)").ok());
  auto pg = Connector::Open(url());
  ASSERT_TRUE(pg.has_value());
  auto exact = (*pg)->DescribeTable("Account");
  ASSERT_TRUE(exact.has_value());
  EXPECT_EQ(exact->name, "Account");
  EXPECT_EQ(exact->columns.size(), 1u);
  auto ambiguous = (*pg)->DescribeTable("ACCOUNT");
  ASSERT_FALSE(ambiguous.has_value());
  EXPECT_THAT(ambiguous.error().message(), HasSubstr("could mean any of Account, account"));
}

TEST_F(CrossEngineVerifyTest, SameRowsInSqliteAndPostgresVerifyClean) {
  auto report = VerifyUrls(source_.url(), url());
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  const TableReport& t = report->tables.at(0);
  for (const RowDifference& d : t.differences) ADD_FAILURE() << d.key << ": " << d.detail;
  EXPECT_TRUE(report->identical());
  EXPECT_EQ(t.source_rows, 2004);
  EXPECT_EQ(t.source_checksum, t.target_checksum);
  // And the other way round.
  auto reverse = VerifyUrls(url(), source_.url());
  ASSERT_TRUE(reverse.has_value()) << reverse.error().ToString();
  EXPECT_TRUE(reverse->identical());
}

TEST_F(CrossEngineVerifyTest, FindsTenPlantedDifferencesInPostgres) {
  ASSERT_TRUE(Execute("DELETE FROM account WHERE id IN (150, 1500, 2099)").ok());
  ASSERT_TRUE(Execute("INSERT INTO account (id, owner) VALUES (5000, 'x'), (5001, 'y')").ok());
  ASSERT_TRUE(
      Execute("UPDATE account SET updated = updated + interval '1 microsecond' WHERE id = 1").ok());
  ASSERT_TRUE(Execute("UPDATE account SET profile = '{\"tier\": \"silver\"}' WHERE id = 1").ok());
  ASSERT_TRUE(Execute("UPDATE account SET photo = '\\x00ff11' WHERE id = 4").ok());
  ASSERT_TRUE(Execute("UPDATE account SET rate = 0.0350000001 WHERE id = 3").ok());
  ASSERT_TRUE(Execute("UPDATE account SET active = NULL WHERE id = 4").ok());
  ASSERT_TRUE(Execute("UPDATE account SET owner = owner || ' ' WHERE id = 777").ok());
  auto report = VerifyUrls(source_.url(), url());
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  const TableReport& t = report->tables.at(0);
  EXPECT_EQ(t.missing, 3);
  EXPECT_EQ(t.extra, 2);
  EXPECT_EQ(t.changed, 4);  // ids 1 (two columns), 3, 4 (two columns), 777
  std::map<std::string, RowDifference> by_key;
  for (const RowDifference& d : t.differences) by_key[d.key] = d;
  EXPECT_THAT(by_key["id=1"].columns, ElementsAre("updated", "profile"));
  EXPECT_THAT(by_key["id=4"].columns, ElementsAre("active", "photo"));
  EXPECT_THAT(by_key["id=777"].detail, HasSubstr("'owner 777' -> 'owner 777 '"));
}

}  // namespace
}  // namespace ferry
