// Verification throughput: ferry verify on identical tables and on tables with 10 planted
// differences, against the engine's own set difference (EXCEPT ALL, both directions) on the
// same data in the same run: the way a DBA checks two copies by hand when both are on one
// engine. Rows per table: FERRY_BENCH_ROWS (default 1,000,000).
//
//   ./build/release/bench/verify_bench --benchmark_min_time=1
#include <stdlib.h>

#include <memory>

#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "base/env.h"
#include "connect/connector.h"
#include "harness/postgres_server.h"
#include "move/verify.h"

namespace ferry {
namespace {

int64_t Rows() {
  const char* rows = getenv("FERRY_BENCH_ROWS");
  return rows != nullptr ? std::atoll(rows) : 1'000'000;
}

void SqliteExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    fprintf(stderr, "sqlite: %s\n", error);
    abort();
  }
  sqlite3_close(db);
}

// The same rows in both engines: an integer key, text, a decimal, a timestamp, a float, NULLs.
std::string SqliteFill(int64_t rows) {
  return fmt::format(
      "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, amount NUMERIC(12,2), at DATETIME, "
      "ratio REAL, note TEXT);"
      "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {}) "
      "INSERT INTO t SELECT x, 'customer ' || x, (x * 7) || '.' || printf('%02d', x % 100), "
      "datetime(1700000000 + x, 'unixepoch'), x / 8.0, CASE WHEN x % 10 = 0 THEN NULL ELSE "
      "'note ' || (x % 1000) END FROM g;",
      rows);
}

std::string PostgresFill(std::string_view table, int64_t rows) {
  return fmt::format(
      "CREATE TABLE {0} (id bigint PRIMARY KEY, name text, amount numeric(12,2), at timestamp, "
      "ratio double precision, note text);"
      "INSERT INTO {0} SELECT g, 'customer ' || g, ((g * 7)::text || '.' || lpad((g % 100)::text, "
      "2, '0'))::numeric, to_timestamp(1700000000 + g) AT TIME ZONE 'UTC', g / 8.0, CASE WHEN g "
      "% 10 = 0 THEN NULL ELSE 'note ' || (g % 1000) END FROM generate_series(1, {1}) g;"
      "ANALYZE {0};",
      table, rows);
}

constexpr std::string_view kPlantTen =
    "DELETE FROM {0} WHERE id IN (11, 222222, 333333); "
    "UPDATE {0} SET name = 'changed' WHERE id IN (4, 44444, 444444); "
    "UPDATE {0} SET amount = amount + 0.01 WHERE id IN (5, 55555); "
    "UPDATE {0} SET note = NULL WHERE id = 66666; "
    "INSERT INTO {0} (id, name) VALUES (99999999, 'extra');";

struct Fixture {
  std::string dir;
  std::string sqlite_a, sqlite_b;  // identical; b_diff has the ten differences
  std::string sqlite_diff;
  std::unique_ptr<testing::PostgresServer> postgres;
  std::string pg_db;
  std::string pg_url;

  Fixture() {
    dir = "/tmp/ferry-verify-bench-XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) abort();
    sqlite_a = dir + "/a.db";
    sqlite_b = dir + "/b.db";
    sqlite_diff = dir + "/diff.db";
    const int64_t rows = Rows();
    SqliteExec(sqlite_a, SqliteFill(rows));
    for (const std::string* copy : {&sqlite_b, &sqlite_diff}) {
      auto bytes = Env::Default()->ReadFile(sqlite_a);
      if (!bytes || !Env::Default()->WriteFileAtomic(*copy, *bytes).ok()) abort();
    }
    SqliteExec(sqlite_diff, fmt::format(fmt::runtime(kPlantTen), "t"));
    auto started = testing::PostgresServer::Start();
    if (!started.has_value()) {
      fprintf(stderr, "%s\n", started.error().ToString().c_str());
      abort();
    }
    postgres = std::move(started).value();
    auto db = postgres->CreateDatabase("verify_bench");
    if (!db.has_value()) abort();
    pg_db = *db;
    pg_url = postgres->Url(*db);
    for (std::string_view table : {"t", "t_copy", "t_diff"}) {
      if (!postgres->Execute(*db, PostgresFill(table, rows)).ok()) abort();
    }
    if (!postgres->Execute(*db, fmt::format(fmt::runtime(kPlantTen), "t_diff")).ok()) abort();
  }
  ~Fixture() { Env::Default()->RemoveAll(dir).IgnoreError(); }
};

Fixture& Data() {
  static Fixture fixture;
  return fixture;
}

void RunFerryVerify(benchmark::State& state, const std::string& from, const std::string& to,
                    bool expect_identical) {
  for (auto _ : state) {
    auto source = Connector::Open(from);
    auto target = Connector::Open(to);
    if (!source || !target) {
      state.SkipWithError("open failed");
      return;
    }
    auto report = Verify(**source, **target, {.tables = {"t"}});
    if (!report.has_value()) {
      state.SkipWithError(report.error().ToString().c_str());
      return;
    }
    if (report->identical() != expect_identical) state.SkipWithError("unexpected verdict");
  }
  state.SetItemsProcessed(state.iterations() * Rows());
}

void BM_Ferry_SqliteToSqlite_Identical(benchmark::State& state) {
  RunFerryVerify(state, "sqlite://" + Data().sqlite_a, "sqlite://" + Data().sqlite_b, true);
}
void BM_Ferry_SqliteToSqlite_TenDifferences(benchmark::State& state) {
  RunFerryVerify(state, "sqlite://" + Data().sqlite_a, "sqlite://" + Data().sqlite_diff, false);
}
void BM_Anchor_SqliteExcept(benchmark::State& state, const std::string& other) {
  for (auto _ : state) {
    sqlite3* db = nullptr;
    sqlite3_open(Data().sqlite_a.c_str(), &db);
    sqlite3_exec(db, fmt::format("ATTACH '{}' AS other", other).c_str(), nullptr, nullptr, nullptr);
    int64_t differences = 0;
    auto count = [](void* out, int, char** values, char**) {
      *static_cast<int64_t*>(out) += std::atoll(values[0]);
      return 0;
    };
    sqlite3_exec(db,
                 "SELECT COUNT(*) FROM (SELECT * FROM main.t EXCEPT SELECT * FROM other.t);"
                 "SELECT COUNT(*) FROM (SELECT * FROM other.t EXCEPT SELECT * FROM main.t);",
                 count, &differences, nullptr);
    sqlite3_close(db);
    benchmark::DoNotOptimize(differences);
  }
  state.SetItemsProcessed(state.iterations() * Rows());
}
void BM_Anchor_SqliteExcept_Identical(benchmark::State& state) {
  BM_Anchor_SqliteExcept(state, Data().sqlite_b);
}
void BM_Anchor_SqliteExcept_TenDifferences(benchmark::State& state) {
  BM_Anchor_SqliteExcept(state, Data().sqlite_diff);
}

void BM_Ferry_SqliteToPostgres_Identical(benchmark::State& state) {
  RunFerryVerify(state, "sqlite://" + Data().sqlite_a, Data().pg_url, true);
}
void BM_Ferry_PostgresToSqlite_TenDifferences(benchmark::State& state) {
  RunFerryVerify(state, Data().pg_url, "sqlite://" + Data().sqlite_diff, false);
}

void PostgresExcept(benchmark::State& state, std::string_view other) {
  PGconn* conn = PQconnectdb(Data().postgres->ConnInfo(Data().pg_db).c_str());
  for (auto _ : state) {
    const std::string sql = fmt::format(
        "SELECT (SELECT COUNT(*) FROM (SELECT * FROM t EXCEPT ALL SELECT * FROM {0}) a) + "
        "(SELECT COUNT(*) FROM (SELECT * FROM {0} EXCEPT ALL SELECT * FROM t) b)",
        other);
    PGresult* res = PQexec(conn, sql.c_str());
    if (PQresultStatus(res) != PGRES_TUPLES_OK) state.SkipWithError(PQresultErrorMessage(res));
    PQclear(res);
  }
  PQfinish(conn);
  state.SetItemsProcessed(state.iterations() * Rows());
}
void BM_Anchor_PostgresExcept_Identical(benchmark::State& state) {
  PostgresExcept(state, "t_copy");
}
void BM_Anchor_PostgresExcept_TenDifferences(benchmark::State& state) {
  PostgresExcept(state, "t_diff");
}

#define FERRY_VERIFY_BENCHMARK(name) \
  BENCHMARK(name)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3)
FERRY_VERIFY_BENCHMARK(BM_Anchor_SqliteExcept_Identical);
FERRY_VERIFY_BENCHMARK(BM_Ferry_SqliteToSqlite_Identical);
FERRY_VERIFY_BENCHMARK(BM_Anchor_SqliteExcept_TenDifferences);
FERRY_VERIFY_BENCHMARK(BM_Ferry_SqliteToSqlite_TenDifferences);
FERRY_VERIFY_BENCHMARK(BM_Anchor_PostgresExcept_Identical);
FERRY_VERIFY_BENCHMARK(BM_Anchor_PostgresExcept_TenDifferences);
FERRY_VERIFY_BENCHMARK(BM_Ferry_SqliteToPostgres_Identical);
FERRY_VERIFY_BENCHMARK(BM_Ferry_PostgresToSqlite_TenDifferences);

}  // namespace
}  // namespace ferry

BENCHMARK_MAIN();
