// The MySQL/MariaDB connector against a real MariaDB 10.11: the edge-case table travels SQLite ->
// MariaDB -> PostgreSQL and back to SQLite, verifying clean at each step; values that do not fit
// fail naming the table and leave the target as it was; passwords never reach a message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "connect/connector.h"
#include "harness/shared_servers.h"
#include "move/copy.h"
#include "move/test_tables.h"
#include "move/verify.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class MysqlCopyTest : public testing::MariaDbTest {
 protected:
  void SetUp() override {
    testing::MariaDbTest::SetUp();
    source_.Exec(kSqliteSchema);
    source_.Exec(Inserts(false));
    source_.Exec(Bulk(100, 3000));
  }
  void ExpectVerifiedClean(const Result<CopyReport>& report) {
    ASSERT_TRUE(report.has_value()) << report.error().ToString();
    ASSERT_TRUE(report->verification.has_value());
    // Schema notes are expected (a uuid lands in CHAR(36) and compares as text); differences
    // are not.
    for (const TableReport& t : report->verification->tables) {
      for (const RowDifference& d : t.differences) ADD_FAILURE() << d.key << ": " << d.detail;
    }
    EXPECT_TRUE(report->verification->identical());
  }
  std::string ColumnType(std::string_view column) {
    return QueryValue(fmt::format("SELECT column_type FROM information_schema.columns WHERE "
                                  "table_schema = DATABASE() AND table_name = 'account' AND "
                                  "column_name = '{}'",
                                  column))
        .value_or("?");
  }
  bool TableExists(std::string_view table) {
    return QueryValue(fmt::format("SELECT COUNT(*) FROM information_schema.tables WHERE "
                                  "table_schema = DATABASE() AND table_name = '{}'",
                                  table))
               .value_or("?") == "1";
  }
  SqliteFile source_{"source"};
};

TEST_F(MysqlCopyTest, SqliteToMariaDbToPostgresAndSqliteVerifiesClean) {
  auto to_maria = CopyUrls(source_.url(), url());
  ExpectVerifiedClean(to_maria);
  ASSERT_TRUE(to_maria.has_value());
  EXPECT_TRUE(to_maria->tables.at(0).created);
  EXPECT_EQ(to_maria->tables.at(0).rows, 3004);
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM account").value_or(""), "3004");
  EXPECT_EQ(ColumnType("id"), "bigint(20)");
  EXPECT_EQ(ColumnType("owner"), "varchar(80)");
  EXPECT_EQ(ColumnType("balance"), "decimal(12,2)");
  EXPECT_EQ(ColumnType("active"), "tinyint(1)");
  EXPECT_EQ(ColumnType("updated"), "datetime(6)");
  EXPECT_EQ(ColumnType("ref"), "char(36)");
  EXPECT_EQ(QueryValue("SELECT owner FROM account WHERE id = 1").value_or(""), "Zoë Ångström");
  EXPECT_EQ(QueryValue("SELECT HEX(photo) FROM account WHERE id = 1").value_or(""), "00FF10");
  EXPECT_EQ(QueryValue("SELECT updated FROM account WHERE id = 1").value_or(""),
            "2024-02-29 23:59:59.500000");

  // The connector reads MariaDB's JSON (LONGTEXT with a json_valid check) back as JSON.
  auto maria = Connector::Open(url());
  ASSERT_TRUE(maria.has_value()) << maria.error().ToString();
  EXPECT_EQ((*maria)->engine(), "mysql");
  auto table = (*maria)->DescribeTable("ACCOUNT");
  ASSERT_TRUE(table.has_value()) << table.error().ToString();
  EXPECT_EQ(table->name, "account");
  EXPECT_EQ(table->primary_key, std::vector<std::string>{"id"});
  ASSERT_EQ(table->columns.size(), 10u);
  EXPECT_EQ(table->columns[9].kind, TypeKind::kJson);
  EXPECT_EQ(table->columns[6].kind, TypeKind::kBool);
  EXPECT_EQ(table->columns[2].precision, 12);
  EXPECT_EQ(table->columns[2].scale, 2);
  EXPECT_FALSE(table->columns[1].nullable);

  // MariaDB -> PostgreSQL.
  testing::PostgresServer* pg = testing::SharedPostgres();
  ASSERT_NE(pg, nullptr);
  auto pg_db = pg->CreateDatabase(testing::CurrentTestName());
  ASSERT_TRUE(pg_db.has_value()) << pg_db.error().ToString();
  auto to_pg = CopyUrls(url(), pg->Url(*pg_db));
  ExpectVerifiedClean(to_pg);
  EXPECT_EQ(pg->QueryValue(*pg_db, "SELECT COUNT(*) FROM account").value_or(""), "3004");
  EXPECT_EQ(pg->QueryValue(*pg_db, "SELECT active FROM account WHERE id = 1").value_or(""), "t");
  EXPECT_TRUE(pg->DropDatabase(*pg_db).ok());

  // MariaDB -> SQLite, which ends where it started.
  SqliteFile back("back");
  auto to_sqlite = CopyUrls(url(), back.url());
  ExpectVerifiedClean(to_sqlite);
  auto original = Connector::Open(source_.url());
  auto returned = Connector::Open(back.url());
  ASSERT_TRUE(original && returned);
  auto round_trip = Verify(**original, **returned, {});
  ASSERT_TRUE(round_trip.has_value()) << round_trip.error().ToString();
  EXPECT_TRUE(round_trip->identical());
}

// What a copy carries besides rows: secondary indexes (built after the load), foreign keys
// (added once every table is in), and the numbering of auto-increment keys. SQLite Chinook
// into MariaDB, then back out of MariaDB into a new SQLite file.
TEST_F(MysqlCopyTest, ChinookKeepsIndexesForeignKeysAndNumbering) {
  const std::string chinook = FERRY_SHARED_DIR "/data/chinook/Chinook_Sqlite.sqlite";
  if (!Env::Default()->FileExists(chinook)) {
    GTEST_SKIP() << chinook << " not found: the shared datasets are not beside this clone";
  }
  auto copied = CopyUrls("sqlite://" + chinook, url(), {.jobs = 2});
  ExpectVerifiedClean(copied);
  int indexes = 0, foreign_keys = 0;
  for (const TableCopy& t : copied->tables) {
    indexes += t.indexes;
    foreign_keys += t.foreign_keys;
    EXPECT_TRUE(t.not_copied.empty()) << t.table << ": " << t.not_copied.front();
  }
  EXPECT_EQ(indexes, 11);  // Chinook's IFK_ indexes
  EXPECT_EQ(foreign_keys, 11);
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM information_schema.referential_constraints WHERE "
                       "constraint_schema = DATABASE()")
                .value_or(""),
            "11");
  EXPECT_EQ(QueryValue("SELECT COUNT(DISTINCT index_name) FROM information_schema.statistics "
                       "WHERE table_schema = DATABASE() AND index_name LIKE 'IFK\\_%'")
                .value_or(""),
            "11");
  // The foreign keys hold: a track of an album that does not exist is refused.
  EXPECT_FALSE(Execute("INSERT INTO Track (TrackId, Name, AlbumId, MediaTypeId, Milliseconds, "
                       "UnitPrice) VALUES (99999, 'x', 424242, 1, 1, 0.99)")
                   .ok());
  // And the numbering goes on after the largest key copied.
  ASSERT_TRUE(Execute("INSERT INTO Genre (Name) VALUES ('Fado')").ok());
  EXPECT_EQ(QueryValue("SELECT GenreId FROM Genre WHERE Name = 'Fado'").value_or(""), "26");

  // MariaDB -> a new SQLite file: the foreign keys are declared with the tables.
  SqliteFile back("back");
  auto returned = CopyUrls(url(), back.url(), {.tables = {"Album", "Artist", "Track"}});
  ASSERT_TRUE(returned.has_value()) << returned.error().ToString();
  for (const TableCopy& t : returned->tables) {
    if (t.table != "Track") continue;
    // Track's keys to Genre and MediaType point at tables this copy left out.
    EXPECT_EQ(t.foreign_keys, 1);
    ASSERT_EQ(t.not_copied.size(), 2u);
    EXPECT_THAT(t.not_copied[0], HasSubstr("that table was not copied"));
  }
}

// Chinook as its MySQL script creates it, loaded into MariaDB: compared with the SQLite edition
// across the two engines, then copied MariaDB -> PostgreSQL -> MariaDB, each step verified.
// Skips with a message in a clone without ../shared.
TEST_F(MysqlCopyTest, ChinookFromMySqlThroughPostgresAndBack) {
  const std::string dir = FERRY_SHARED_DIR "/data/chinook";
  if (!Env::Default()->FileExists(dir + "/Chinook_MySql.sql")) {
    GTEST_SKIP() << dir << " not found: the shared datasets are not beside this clone";
  }
  auto script = Env::Default()->ReadFile(dir + "/Chinook_MySql.sql");
  ASSERT_TRUE(script.has_value());
  // The script creates and selects its own database; load its tables into the test's instead.
  const size_t tables = script->find("CREATE TABLE");
  ASSERT_NE(tables, std::string::npos);
  ASSERT_TRUE(Execute(script->substr(tables)).ok());

  // The two editions hold the same rows but four: the MySQL script writes
  // 'Cavalleria Rusticana \\ Act \\ ...', and MySQL's string syntax reads a backslash before a
  // space as an escape, so those Track names lost their backslashes when the script was loaded.
  auto mysql = Connector::Open(url());
  auto sqlite = Connector::Open("sqlite://" + dir + "/Chinook_Sqlite.sqlite");
  ASSERT_TRUE(mysql.has_value() && sqlite.has_value());
  auto editions = Verify(**sqlite, **mysql, {});
  ASSERT_TRUE(editions.has_value()) << editions.error().ToString();
  ASSERT_EQ(editions->tables.size(), 11u);
  for (const TableReport& t : editions->tables) {
    if (t.table != "Track") {
      EXPECT_TRUE(t.identical()) << t.table;
      continue;
    }
    EXPECT_EQ(t.missing + t.extra, 0);
    ASSERT_EQ(t.changed, 4);
    EXPECT_EQ(t.differences[0].key, "TrackId=3435");
    for (const RowDifference& d : t.differences) {
      EXPECT_THAT(d.columns, ::testing::ElementsAre("Name"));
      EXPECT_THAT(d.detail, ::testing::HasSubstr(" \\\\ "));  // the lost backslash, displayed
    }
  }

  testing::PostgresServer* pg = testing::SharedPostgres();
  ASSERT_NE(pg, nullptr);
  auto pg_db = pg->CreateDatabase("chinook_from_mysql");
  ASSERT_TRUE(pg_db.has_value());
  auto to_pg = CopyUrls(url(), pg->Url(*pg_db));
  ExpectVerifiedClean(to_pg);
  EXPECT_EQ(to_pg->tables.size(), 11u);

  auto back_db = server()->CreateDatabase("chinook_back");
  ASSERT_TRUE(back_db.has_value());
  auto back = CopyUrls(pg->Url(*pg_db), server()->Url(*back_db));
  ExpectVerifiedClean(back);
  auto returned = Connector::Open(server()->Url(*back_db));
  ASSERT_TRUE(returned.has_value());
  auto end_to_end = Verify(**mysql, **returned, {});
  ASSERT_TRUE(end_to_end.has_value()) << end_to_end.error().ToString();
  EXPECT_TRUE(end_to_end->identical());
  EXPECT_TRUE(pg->DropDatabase(*pg_db).ok());
  EXPECT_TRUE(server()->DropDatabase(*back_db).ok());
}

TEST_F(MysqlCopyTest, ReadsMariaDbNativeTypes) {
  ASSERT_TRUE(Execute("CREATE TABLE native (id INT PRIMARY KEY, big BIGINT UNSIGNED, "
                      "at TIMESTAMP(6) NULL, wall DATETIME(3), t TIME(6), e ENUM('a','b'), "
                      "j JSON, u UUID, f FLOAT, bin VARBINARY(8), d DOUBLE) ENGINE=InnoDB; "
                      "INSERT INTO native VALUES (1, 18446744073709551615, "
                      "'2024-01-02 03:04:05.123456', '1999-12-31 23:59:59.125', '13:45:01.25', "
                      "'b', '{\"b\": 1.50, \"a\": [1e2]}', "
                      "'123e4567-e89b-12d3-a456-426614174000', 0.5, X'00ff', 0.1e0 + 0.2e0), "
                      "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)")
                  .ok());
  auto maria = Connector::Open(url());
  ASSERT_TRUE(maria.has_value()) << maria.error().ToString();
  auto tables = (*maria)->ListTables();
  ASSERT_TRUE(tables.has_value()) << tables.error().ToString();
  EXPECT_EQ(*tables, std::vector<std::string>{"native"});
  auto table = (*maria)->DescribeTable("native");
  ASSERT_TRUE(table.has_value()) << table.error().ToString();
  std::vector<TypeKind> kinds;
  for (const ColumnInfo& c : table->columns) kinds.push_back(c.kind);
  EXPECT_EQ(kinds, (std::vector<TypeKind>{
                       TypeKind::kInt64, TypeKind::kDecimal, TypeKind::kTimestampTz,
                       TypeKind::kTimestamp, TypeKind::kTime, TypeKind::kText, TypeKind::kJson,
                       TypeKind::kUuid, TypeKind::kFloat64, TypeKind::kBytes, TypeKind::kFloat64}));
  auto reader = (*maria)->Scan({.table = &*table});
  ASSERT_TRUE(reader.has_value()) << reader.error().ToString();
  std::vector<Row> batch, rows;
  for (;;) {
    auto more = (*reader)->Next(&batch);
    ASSERT_TRUE(more.has_value()) << more.error().ToString();
    if (!*more) break;
    for (Row& r : batch) rows.push_back(std::move(r));
  }
  ASSERT_EQ(rows.size(), 2u);
  const Row& r = rows[0][0].int64_value() == 1 ? rows[0] : rows[1];
  const Row& nulls = rows[0][0].int64_value() == 1 ? rows[1] : rows[0];
  EXPECT_EQ(r[1].ToDisplay(), "18446744073709551615");
  EXPECT_EQ(r[2].ToDisplay(), "TIMESTAMPTZ '2024-01-02 03:04:05.123456Z'");
  EXPECT_EQ(r[3].ToDisplay(), "TIMESTAMP '1999-12-31 23:59:59.125'");
  EXPECT_EQ(r[4].ToDisplay(), "TIME '13:45:01.25'");
  EXPECT_EQ(r[5].ToDisplay(), "'b'");
  EXPECT_EQ(r[6].ToDisplay(), "JSON '{\"a\":[100],\"b\":1.5}'");
  EXPECT_EQ(r[7].ToDisplay(), "UUID '123e4567-e89b-12d3-a456-426614174000'");
  EXPECT_EQ(r[8].ToDisplay(), "0.5");
  EXPECT_EQ(r[9].ToDisplay(), "x'00ff'");
  // DOUBLE's text is exact (shortest round trip), so float64 verifies bit for bit.
  EXPECT_EQ(r[10].float64_value(), 0.1 + 0.2);
  for (size_t c = 1; c < nulls.size(); ++c) EXPECT_TRUE(nulls[c].is_null()) << c;
}

TEST_F(MysqlCopyTest, ValueThatDoesNotFitFailsNamingTheTableAndLeavesNoTable) {
  SqliteFile narrow("narrow");
  narrow.Exec(
      "CREATE TABLE account (id INTEGER PRIMARY KEY, owner VARCHAR(3) NOT NULL);"
      "INSERT INTO account VALUES (1, 'abc'), (2, 'abcd');");
  auto refused = CopyUrls(narrow.url(), url());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.error().message(), HasSubstr("table `account`"));
  EXPECT_THAT(refused.error().message(), HasSubstr("refused row 2 of the load"));
  EXPECT_THAT(refused.error().message(), HasSubstr("Data too long for column 'owner'"));
  EXPECT_THAT(refused.error().message(), HasSubstr("nothing of this load was committed"));
  EXPECT_FALSE(TableExists("account"));
  // The way out the message names: a wider type through --cast, read with MySQL's type names.
  auto widened = CopyUrls(narrow.url(), url(), {.casts = {{"owner", "VARCHAR(10)"}}});
  ExpectVerifiedClean(widened);
  EXPECT_EQ(ColumnType("owner"), "varchar(10)");
}

TEST_F(MysqlCopyTest, DecimalRoundedToTheColumnScaleIsRefusedNotKept) {
  SqliteFile precise("precise");
  precise.Exec(
      "CREATE TABLE account (id INTEGER PRIMARY KEY, balance NUMERIC(12,2));"
      "INSERT INTO account VALUES (1, '1.234');");
  auto refused = CopyUrls(precise.url(), url());
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().message(), HasSubstr("table `account`"));
  EXPECT_THAT(refused.error().message(), HasSubstr("balance"));
  EXPECT_FALSE(TableExists("account"));
}

TEST_F(MysqlCopyTest, RefusesATargetTableThatHoldsRowsAndTruncateReplacesThem) {
  ASSERT_TRUE(Execute("CREATE TABLE account (id BIGINT PRIMARY KEY, owner VARCHAR(80) NOT NULL, "
                      "balance DECIMAL(12,2), rate DOUBLE, opened DATE, updated DATETIME(6), "
                      "active TINYINT(1), photo LONGBLOB, ref CHAR(36), profile JSON)")
                  .ok());
  // Enough rows that the "holds rows?" probe abandons a scan with rows still on the wire.
  ASSERT_TRUE(Execute(Bulk(10'000, 5000)).ok());
  auto refused = CopyUrls(source_.url(), url());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(refused.error().message(), HasSubstr("table `account` already holds rows"));
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM account").value_or(""), "5000");

  auto replaced = CopyUrls(source_.url(), url(), {.if_exists = IfExists::kTruncate});
  ExpectVerifiedClean(replaced);
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM account").value_or(""), "3004");
}

// --if-exists truncate empties the table when the run is planned; a chunk that then fails is
// rolled back alone, and the table keeps the chunks committed before it.
TEST_F(MysqlCopyTest, FailedChunkKeepsTheChunksCommittedBeforeIt) {
  ASSERT_TRUE(Execute("CREATE TABLE account (id BIGINT PRIMARY KEY, owner VARCHAR(12) NOT NULL); "
                      "INSERT INTO account VALUES (1, 'old')")
                  .ok());
  SqliteFile source("long");
  source.Exec(
      "CREATE TABLE account (id INTEGER PRIMARY KEY, owner TEXT NOT NULL);"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) "
      "INSERT INTO account SELECT i, 'owner ' || i FROM n;"
      "UPDATE account SET owner = 'far too long a name' WHERE id = 95;");
  TempStore store;
  auto refused =
      CopyUrls(source.url(), url(),
               {.if_exists = IfExists::kTruncate, .chunk_rows = 10, .store = store.get()});
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().message(), HasSubstr("Data too long"));
  EXPECT_THAT(refused.error().message(), HasSubstr("--resume"));
  // Chunks are claimed in key order: the nine before the bad one are in, the bad one is not.
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM account").value_or(""), "90");
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM account WHERE id = 1 AND owner = 'old'").value_or(""),
            "0");
}

TEST_F(MysqlCopyTest, BadPasswordAndBadUrlNeverShowThePassword) {
  const std::string secret = "NotThePassword42";
  const std::string wrong =
      fmt::format("mysql://ferry:{}@127.0.0.1:{}/{}", secret, server()->port(), db_name());
  auto denied = Connector::Open(wrong);
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code(), StatusCode::kUnavailable);
  EXPECT_THAT(denied.error().message(), HasSubstr("Access denied"));
  EXPECT_THAT(denied.error().message(), HasSubstr("***"));
  EXPECT_THAT(denied.error().message(), Not(HasSubstr(secret)));
  EXPECT_THAT(denied.error().message(), Not(HasSubstr(server()->password())));

  auto bad_port = Connector::Open(fmt::format("mysql://ferry:{}@127.0.0.1:port/db", secret));
  ASSERT_FALSE(bad_port.has_value());
  EXPECT_EQ(bad_port.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_port.error().message(), HasSubstr("port"));
  EXPECT_THAT(bad_port.error().message(), Not(HasSubstr(secret)));

  auto no_db = Connector::Open(fmt::format("mariadb://ferry:{}@127.0.0.1:3306", secret));
  ASSERT_FALSE(no_db.has_value());
  EXPECT_THAT(no_db.error().message(), HasSubstr("no database name"));
  EXPECT_THAT(no_db.error().message(), Not(HasSubstr(secret)));

  auto no_table = Connector::Open(url());
  ASSERT_TRUE(no_table.has_value()) << no_table.error().ToString();
  auto missing = (*no_table)->DescribeTable("nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.error().message(), Not(HasSubstr(server()->password())));
}

}  // namespace
}  // namespace ferry
