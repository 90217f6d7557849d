// ferry copy against real engines: round trips through PostgreSQL and SQLite verify clean, and
// every refusal happens before a row moves, leaving the target as it was.
#include "move/copy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/shared_servers.h"
#include "move/test_tables.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;

class CopyTest : public testing::PostgresTest {
 protected:
  void SetUp() override {
    testing::PostgresTest::SetUp();
    source_.Exec(kSqliteSchema);
    source_.Exec(Inserts(false));
    source_.Exec(Bulk(100, 3000));
  }
  int64_t PostgresRows() {
    auto count = QueryValue("SELECT COUNT(*) FROM account");
    return count.has_value() ? std::stoll(*count) : -1;
  }
  SqliteFile source_{"source"};
};

TEST_F(CopyTest, SqliteToPostgresAndBackVerifiesClean) {
  auto to_pg = CopyUrls(source_.url(), url());
  ASSERT_TRUE(to_pg.has_value()) << to_pg.error().ToString();
  ASSERT_EQ(to_pg->tables.size(), 1u);
  EXPECT_TRUE(to_pg->tables[0].created);
  EXPECT_EQ(to_pg->tables[0].rows, 3004);
  ASSERT_TRUE(to_pg->verification.has_value());
  for (const RowDifference& d : to_pg->verification->tables.at(0).differences) {
    ADD_FAILURE() << d.key << ": " << d.detail;
  }
  EXPECT_TRUE(to_pg->verification->identical());
  EXPECT_EQ(PostgresRows(), 3004);
  // The PostgreSQL types chosen for SQLite's declarations.
  EXPECT_EQ(QueryValue("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid "
                       "= 'account'::regclass AND attname = 'balance'")
                .value_or(""),
            "numeric(12,2)");
  EXPECT_EQ(QueryValue("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid "
                       "= 'account'::regclass AND attname = 'profile'")
                .value_or(""),
            "jsonb");

  SqliteFile back("back");
  auto to_sqlite = CopyUrls(url(), back.url());
  ASSERT_TRUE(to_sqlite.has_value()) << to_sqlite.error().ToString();
  EXPECT_TRUE(to_sqlite->verification->identical());
  // And the round trip ends where it started.
  auto original = Connector::Open(source_.url());
  auto returned = Connector::Open(back.url());
  ASSERT_TRUE(original && returned);
  auto round_trip = Verify(**original, **returned, {});
  ASSERT_TRUE(round_trip.has_value()) << round_trip.error().ToString();
  EXPECT_TRUE(round_trip->identical());
}

TEST_F(CopyTest, RefusesATargetTableThatHoldsRowsBeforeMovingAnything) {
  source_.Exec(
      "CREATE TABLE aaa_first (id INTEGER PRIMARY KEY); INSERT INTO aaa_first VALUES (1);");
  ASSERT_TRUE(Execute(kPostgresSchema).ok());
  ASSERT_TRUE(Execute("INSERT INTO account (id, owner) VALUES (7, 'kept')").ok());
  auto refused = CopyUrls(source_.url(), url());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(refused.error().message(), HasSubstr("table `account` already holds rows"));
  EXPECT_THAT(refused.error().message(), HasSubstr("--if-exists truncate"));
  EXPECT_EQ(PostgresRows(), 1);
  // Planned first: aaa_first, which sorts before account, was not created either.
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM pg_class WHERE relname = 'aaa_first'").value_or(""),
            "0");
}

TEST_F(CopyTest, TruncateReplacesAndAppendAdds) {
  ASSERT_TRUE(Execute(kPostgresSchema).ok());
  ASSERT_TRUE(Execute("INSERT INTO account (id, owner) VALUES (99999, 'old')").ok());
  auto replaced = CopyUrls(source_.url(), url(), {.if_exists = IfExists::kTruncate});
  ASSERT_TRUE(replaced.has_value()) << replaced.error().ToString();
  EXPECT_FALSE(replaced->tables[0].created);
  EXPECT_TRUE(replaced->verification->identical());
  EXPECT_EQ(PostgresRows(), 3004);

  SqliteFile more("more");
  more.Exec(kSqliteSchema);
  more.Exec("INSERT INTO account (id, owner) VALUES (50000, 'new')");
  auto appended = CopyUrls(more.url(), url(), {.if_exists = IfExists::kAppend, .verify = false});
  ASSERT_TRUE(appended.has_value()) << appended.error().ToString();
  EXPECT_EQ(PostgresRows(), 3005);
  // Appending a key that is there already is refused, and the load is rolled back whole.
  auto duplicate = CopyUrls(more.url(), url(), {.if_exists = IfExists::kAppend, .verify = false});
  ASSERT_FALSE(duplicate.has_value());
  EXPECT_THAT(duplicate.error().message(), HasSubstr("table `account`, chunk 1"));
  EXPECT_THAT(duplicate.error().message(), HasSubstr("duplicate key"));
  EXPECT_THAT(duplicate.error().message(), HasSubstr("--resume"));
  EXPECT_EQ(PostgresRows(), 3005);
}

// A target whose columns are in another order, with one the source lacks: every value lands in
// its own column, batch after batch (the loader reuses its rows between batches), and the extra
// column stays NULL.
TEST_F(CopyTest, TargetColumnsInAnotherOrderGetTheirOwnValues) {
  ASSERT_TRUE(Execute("CREATE TABLE account (profile jsonb, note text, ref uuid, photo bytea, "
                      "active boolean, updated timestamp, opened date, rate double precision, "
                      "balance numeric(12,2), owner varchar(80) NOT NULL, id integer PRIMARY KEY)")
                  .ok());
  auto copied = CopyUrls(source_.url(), url(),
                         {.if_exists = IfExists::kTruncate, .batch_rows = 7, .jobs = 2});
  ASSERT_TRUE(copied.has_value()) << copied.error().ToString();
  ASSERT_TRUE(copied->verification.has_value());
  for (const RowDifference& d : copied->verification->tables.at(0).differences) {
    ADD_FAILURE() << d.key << ": " << d.detail;
  }
  EXPECT_TRUE(copied->verification->tables.at(0).source_checksum ==
              copied->verification->tables.at(0).target_checksum);
  EXPECT_EQ(PostgresRows(), 3004);
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM account WHERE note IS NOT NULL").value_or(""), "0");
  // And an independent look: the owner of each row is where the source has it.
  auto source = Connector::Open(source_.url());
  auto target = Connector::Open(url());
  ASSERT_TRUE(source && target);
  auto compared = Verify(**source, **target, {});
  ASSERT_TRUE(compared.has_value()) << compared.error().ToString();
  EXPECT_EQ(compared->tables.at(0).missing + compared->tables.at(0).extra +
                compared->tables.at(0).changed,
            0);
}

// A table without a key, bigger than a chunk, is split into ranges of its pages (ctid), loaded by
// two workers from one snapshot. Rows that are exact duplicates (which only a keyless table can
// hold) arrive as many times as they are in the source, and the copy verifies clean.
TEST_F(CopyTest, KeylessPostgresTableIsChunkedByPages) {
  ASSERT_TRUE(Execute("CREATE TABLE events (at timestamp, kind text, amount numeric(10,2))").ok());
  ASSERT_TRUE(Execute("INSERT INTO events SELECT timestamp '2024-01-01' + g * interval '1 second', "
                      "'kind ' || (g % 7), g / 100.0 FROM generate_series(1, 20000) g")
                  .ok());
  ASSERT_TRUE(Execute("INSERT INTO events SELECT * FROM events WHERE amount < 10").ok());
  ASSERT_TRUE(Execute("ANALYZE events").ok());
  const int64_t source_rows = std::stoll(QueryValue("SELECT COUNT(*) FROM events").value_or("-1"));
  ASSERT_EQ(source_rows, 20999);
  SqliteFile target("keyless");
  auto copied =
      CopyUrls(url(), target.url(), {.tables = {"events"}, .jobs = 2, .chunk_rows = 3000});
  ASSERT_TRUE(copied.has_value()) << copied.error().ToString();
  ASSERT_EQ(copied->tables.size(), 1u);
  EXPECT_GE(copied->tables[0].chunks, 5);
  EXPECT_EQ(copied->tables[0].rows, source_rows);
  ASSERT_TRUE(copied->verification.has_value());
  EXPECT_TRUE(copied->verification->identical());
  // An independent count of the duplicated rows on the target.
  EXPECT_EQ(target.QueryValue("SELECT COUNT(*) FROM events WHERE amount < 10"), "1998");
}

// The verification after a copy compares the rows the copy read (hashed as they streamed) with
// what the target holds: rows the target had before are reported.
TEST_F(CopyTest, VerificationAfterAppendReportsTheRowsThatWereThere) {
  ASSERT_TRUE(Execute(kPostgresSchema).ok());
  ASSERT_TRUE(
      Execute("INSERT INTO account (id, owner) VALUES (90001, 'before'), (90002, 'x')").ok());
  auto appended = CopyUrls(source_.url(), url(), {.if_exists = IfExists::kAppend});
  ASSERT_TRUE(appended.has_value()) << appended.error().ToString();
  ASSERT_TRUE(appended->verification.has_value());
  const TableReport& t = appended->verification->tables.at(0);
  EXPECT_FALSE(t.identical());
  EXPECT_EQ(t.source_rows, 3004);
  EXPECT_EQ(t.target_rows, 3006);
  EXPECT_EQ(t.extra, 2);
  EXPECT_EQ(t.missing + t.changed, 0);
  EXPECT_EQ(t.differences.at(0).key, "id=90001");
}

TEST_F(CopyTest, ARowThatDoesNotFitLeavesNoTableAndCastWidensIt) {
  SqliteFile narrow("narrow");
  narrow.Exec(
      "CREATE TABLE code (id INTEGER PRIMARY KEY, name VARCHAR(3));"
      "INSERT INTO code VALUES (1, 'abc'), (2, 'abcdef');");
  auto failed = CopyUrls(narrow.url(), url());
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(failed.error().message(), HasSubstr("table `code`"));
  EXPECT_THAT(failed.error().message(), HasSubstr("value too long"));
  EXPECT_THAT(failed.error().message(), HasSubstr("--cast"));
  // The run created the table and committed none of its rows: it drops it again.
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM pg_class WHERE relname = 'code'").value_or(""), "0");

  auto widened = CopyUrls(narrow.url(), url(), {.casts = {{"name", "text"}}});
  ASSERT_TRUE(widened.has_value()) << widened.error().ToString();
  EXPECT_TRUE(widened->verification->identical());
}

// Many chunks on several workers: every key range arrives exactly once, the marker table is
// gone afterwards, and the store holds the run and a done task per chunk.
TEST_F(CopyTest, ChunkedCopyWithSeveralWorkersVerifiesClean) {
  source_.Exec(
      "CREATE TABLE note (body TEXT);"  // no key: one chunk
      "INSERT INTO note VALUES ('a'), ('b'), (NULL), ('b');");
  TempStore store;
  auto copied =
      CopyUrls(source_.url(), url(), {.jobs = 4, .chunk_rows = 100, .store = store.get()});
  ASSERT_TRUE(copied.has_value()) << copied.error().ToString();
  ASSERT_TRUE(copied->verification.has_value());
  EXPECT_TRUE(copied->verification->identical());
  ASSERT_EQ(copied->tables.size(), 2u);
  const TableCopy& account = copied->tables[0];
  EXPECT_EQ(account.table, "account");
  EXPECT_EQ(account.rows, 3004);
  EXPECT_GE(account.chunks, 25);  // keys 1..3100 in ranges of about 100 rows
  EXPECT_EQ(copied->tables[1].chunks, 1);
  EXPECT_EQ(copied->tables[1].rows, 4);
  EXPECT_EQ(PostgresRows(), 3004);
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM note").value_or(""), "4");
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM pg_class WHERE relname = 'ferry_chunks'").value_or(""),
            "0");
  auto run = store.get()->GetRun(copied->run_id);
  ASSERT_TRUE(run.has_value()) << run.error().ToString();
  EXPECT_EQ(run->state, "succeeded");
  auto tasks = store.get()->ListTasks("copy:" + copied->run_id);
  ASSERT_TRUE(tasks.has_value());
  EXPECT_EQ(static_cast<int64_t>(tasks->size()), account.chunks + 1);
  for (const Task& t : *tasks) EXPECT_EQ(t.state, TaskState::kDone) << t.payload;
}

// A PostgreSQL table the copy creates gets its primary key after the load (one index build).
// Rows that break it (NULL keys, which SQLite allows in a text primary key) stop the run at the
// build, with every row kept; once the target is fixed, the same command builds the key and
// finishes, and the verification names what was removed.
TEST_F(CopyTest, PrimaryKeyIsBuiltAfterTheLoadAndRowsThatBreakItStopTheRun) {
  SqliteFile codes("codes");
  codes.Exec(
      "CREATE TABLE code (k TEXT PRIMARY KEY, v TEXT);"
      "INSERT INTO code VALUES ('a', 'one'), (NULL, 'two'), ('b', 'three');");
  TempStore store;
  auto stopped = CopyUrls(codes.url(), url(), {.store = store.get()});
  ASSERT_FALSE(stopped.has_value());
  EXPECT_EQ(stopped.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(stopped.error().message(), HasSubstr("every row is loaded"));
  EXPECT_THAT(stopped.error().message(), HasSubstr("table `code`: primary key (\"k\")"));
  EXPECT_THAT(stopped.error().message(), HasSubstr("null values"));
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM code").value_or(""), "3");
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM pg_constraint WHERE conrelid = 'code'::regclass "
                       "AND contype = 'p'")
                .value_or(""),
            "0");

  ASSERT_TRUE(Execute("DELETE FROM code WHERE k IS NULL").ok());
  auto finished = CopyUrls(codes.url(), url(), {.store = store.get()});
  ASSERT_TRUE(finished.has_value()) << finished.error().ToString();
  EXPECT_TRUE(finished->resumed);
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM pg_constraint WHERE conrelid = 'code'::regclass "
                       "AND contype = 'p'")
                .value_or(""),
            "1");
  ASSERT_TRUE(finished->verification.has_value());
  const TableReport& t = finished->verification->tables.at(0);
  EXPECT_EQ(t.source_rows, 3);
  EXPECT_EQ(t.target_rows, 2);
  EXPECT_EQ(t.missing, 1);
}

// The window a crash can fall into: a chunk committed to the target whose completion the store
// never heard of. The resumed run finds the chunk's marker and does not load it again.
TEST_F(CopyTest, ChunkCommittedButNotRecordedIsNotLoadedTwice) {
  TempStore store;
  CopyOptions options{.chunk_rows = 500, .store = store.get(), .lease_micros = 200'000};
  int64_t crashed_after = 0;
  options.after_chunk_commit = [&](int64_t chunk) -> Status {
    if (chunk == 3) {
      crashed_after = chunk;
      return Internal("simulated crash after chunk {}", chunk);
    }
    return OkStatus();
  };
  auto crashed = CopyUrls(source_.url(), url(), options);
  ASSERT_FALSE(crashed.has_value());
  EXPECT_EQ(crashed_after, 3);
  EXPECT_THAT(crashed.error().message(), HasSubstr("--resume"));
  const int64_t rows_before = PostgresRows();
  EXPECT_GT(rows_before, 0);
  EXPECT_LT(rows_before, 3004);
  // Chunk 3's lease is still held by the "crashed" worker (this process): the resumed run
  // waits for it to expire, then finds the marker.
  options.after_chunk_commit = nullptr;
  auto resumed = CopyUrls(source_.url(), url(), options);
  ASSERT_TRUE(resumed.has_value()) << resumed.error().ToString();
  EXPECT_TRUE(resumed->resumed);
  EXPECT_EQ(resumed->run_id.substr(0, 5), "copy-");
  EXPECT_TRUE(resumed->verification->identical());
  EXPECT_EQ(PostgresRows(), 3004);
  EXPECT_EQ(resumed->tables.at(0).rows, 3004);
  // The same command once more starts a new run, which refuses the table that now holds rows.
  auto again = CopyUrls(source_.url(), url(), options);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), StatusCode::kAlreadyExists);
}

TEST_F(CopyTest, ResumeNamesTheRunAndRefusesOtherArguments) {
  TempStore store;
  auto first = CopyUrls(source_.url(), url(), {.store = store.get()});
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  auto done = CopyUrls(source_.url(), url(), {.store = store.get(), .resume = first->run_id});
  ASSERT_FALSE(done.has_value());
  EXPECT_THAT(done.error().message(), HasSubstr("completed already"));
  auto other =
      CopyUrls(source_.url(), url(),
               {.if_exists = IfExists::kTruncate, .store = store.get(), .resume = first->run_id});
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(other.error().message(), HasSubstr("started with other arguments"));
  auto unknown = CopyUrls(source_.url(), url(), {.store = store.get(), .resume = "copy-nope"});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), StatusCode::kNotFound);
}

TEST_F(CopyTest, ABadCastIsRefusedBeforeAnythingMoves) {
  auto bad = CopyUrls(source_.url(), url(), {.casts = {{"balance", "date"}}});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.error().message(), HasSubstr("`balance` is read as decimal but date"));
  auto unknown = CopyUrls(source_.url(), url(), {.casts = {{"nope", "text"}}});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_THAT(unknown.error().message(), HasSubstr("has no column `nope`"));
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM pg_class WHERE relname = 'account'").value_or(""),
            "0");
}

// Chinook (../shared/data/chinook): SQLite -> PostgreSQL -> SQLite, verified at each step and
// end to end. Skips with a message in a clone without ../shared.
TEST_F(CopyTest, ChinookRoundTripsThroughPostgres) {
  const std::string chinook = FERRY_SHARED_DIR "/data/chinook/Chinook_Sqlite.sqlite";
  if (!Env::Default()->FileExists(chinook)) {
    GTEST_SKIP() << chinook << " not found: the shared datasets are not beside this clone";
  }
  const std::string source = "sqlite://" + chinook;
  auto to_pg = CopyUrls(source, url());
  ASSERT_TRUE(to_pg.has_value()) << to_pg.error().ToString();
  EXPECT_EQ(to_pg->tables.size(), 11u);
  EXPECT_TRUE(to_pg->verification->identical());
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM \"InvoiceLine\"").value_or(""), "2240");
  EXPECT_EQ(QueryValue("SELECT SUM(\"Total\") FROM \"Invoice\"").value_or(""), "2328.60");

  SqliteFile back("chinook_back");
  auto to_sqlite = CopyUrls(url(), back.url());
  ASSERT_TRUE(to_sqlite.has_value()) << to_sqlite.error().ToString();
  EXPECT_TRUE(to_sqlite->verification->identical());
  auto original = Connector::Open(source);
  auto returned = Connector::Open(back.url());
  ASSERT_TRUE(original && returned);
  auto end_to_end = Verify(**original, **returned, {});
  ASSERT_TRUE(end_to_end.has_value()) << end_to_end.error().ToString();
  EXPECT_TRUE(end_to_end->identical());
}

TEST(CopyRateTest, MaxRateHoldsTheCopyToTheLimit) {
  SqliteFile source("source"), target("target");
  source.Exec(kSqliteSchema);
  source.Exec(Bulk(1, 3000));
  FaultInjectionEnv env(Env::Default());  // sleeping advances this clock instead of waiting
  env.SetNowMicros(0);
  auto from = Connector::Open(source.url());
  auto to = Connector::Open(target.url(), {.create_if_missing = true});
  ASSERT_TRUE(from.has_value() && to.has_value());
  TempStore store;
  auto report = Copy(**from, **to,
                     {.batch_rows = 500,
                      .max_rate = {.rows_per_second = 1000},
                      .env = &env,
                      .store = store.get()});
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_TRUE(report->verification->identical());
  EXPECT_EQ(env.MonotonicMicros(), 3'000'000);  // 3,000 rows at 1,000 rows/s
}

TEST(SchemaMapTest, ReportsWhatAMappingMayLose) {
  TableInfo table{
      .name = "t",
      .columns = {{.name = "amount",
                   .native_type = "NUMERIC(10,2)",
                   .kind = TypeKind::kDecimal,
                   .precision = 10,
                   .scale = 2},
                  {.name = "at", .native_type = "timestamptz", .kind = TypeKind::kTimestampTz},
                  {.name = "id", .native_type = "bigint", .kind = TypeKind::kInt64}}};
  auto to_pg = MapTable(table, "sqlite", "postgresql");
  ASSERT_TRUE(to_pg.has_value());
  EXPECT_EQ(to_pg->columns[0].target_type, "numeric(10,2)");
  EXPECT_THAT(to_pg->columns[0].risks.at(0), HasSubstr("precision: SQLite never enforced"));
  auto to_sqlite = MapTable(table, "postgresql", "sqlite");
  ASSERT_TRUE(to_sqlite.has_value());
  EXPECT_EQ(to_sqlite->columns[1].target_type, "TIMESTAMPTZ");
  EXPECT_THAT(to_sqlite->columns[1].risks.at(0), HasSubstr("time zone"));
  EXPECT_TRUE(to_sqlite->columns[2].risks.empty());
  auto same = MapTable(table, "postgresql", "postgresql");
  ASSERT_TRUE(same.has_value());
  EXPECT_TRUE(same->lossless());
  EXPECT_EQ(same->columns[2].target_type, "bigint");
}

}  // namespace
}  // namespace ferry
