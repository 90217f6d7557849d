// Work-queue throughput: tasks claimed and completed per second, for both stores.
//
// Each benchmark pre-fills a queue, then one or more threads claim and complete tasks until the
// iteration count is reached. The anchor, measured in the same run, is a minimal hand-written
// queue on the same engine (one UPDATE to claim with SKIP LOCKED where the engine has it, one
// UPDATE to complete; no lease token, no retry accounting, no reclaim): the ratio shows what
// ferry's guarantees (fencing, reclaim, retries) cost over the bare state transitions.
//
//   ./build/release/bench/queue_bench --benchmark_min_time=2
#include <stdlib.h>

#include <atomic>
#include <memory>
#include <mutex>

#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "base/env.h"
#include "harness/postgres_server.h"
#include "store/store.h"

namespace ferry {
namespace {

std::string TempDir() {
  std::string pattern = "/tmp/ferry-bench-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) abort();
  return pattern;
}

testing::PostgresServer* Postgres() {
  static std::unique_ptr<testing::PostgresServer> server = [] {
    auto started = testing::PostgresServer::Start();
    if (!started.has_value()) {
      fprintf(stderr, "cannot start PostgreSQL: %s\n", started.error().ToString().c_str());
      abort();
    }
    return std::move(started).value();
  }();
  return server.get();
}

std::string FreshUrl(std::string_view backend) {
  if (backend == "sqlite") return SqliteStoreUrl(TempDir() + "/ferry.db");
  auto db = Postgres()->CreateDatabase("bench");
  if (!db.has_value()) abort();
  return Postgres()->Url(*db);
}

void Fill(Store& store, int64_t n) {
  std::vector<TaskSpec> specs(static_cast<size_t>(n), TaskSpec{.queue = "q", .kind = "k"});
  if (!store.EnqueueBatch(specs).has_value()) abort();
}

// ---- ferry's queue

void ClaimComplete(benchmark::State& state, std::string_view backend) {
  static std::unique_ptr<Store> store;
  const int batch = static_cast<int>(state.range(0));
  if (state.thread_index() == 0) {
    auto opened = Store::Open(FreshUrl(backend), {.max_connections = 8});
    if (!opened.has_value()) {
      state.SkipWithError(opened.error().ToString().c_str());
      return;
    }
    store = std::move(opened).value();
    Fill(*store, state.max_iterations * state.threads() * batch + 1000);
  }
  // Google Benchmark starts the timed loops of all threads together, after thread 0's setup.
  int64_t done = 0;
  for (auto _ : state) {
    auto tasks = store->Claim("q", {.worker = "bench", .max_tasks = batch});
    if (!tasks.has_value() || tasks->empty()) {
      state.SkipWithError("claim failed");
      break;
    }
    for (const Task& task : *tasks) {
      if (!store->Complete(task, "").ok()) state.SkipWithError("complete failed");
    }
    done += static_cast<int64_t>(tasks->size());
  }
  state.SetItemsProcessed(done);
  if (state.thread_index() == 0) store.reset();
}

// ---- anchors: the bare state transitions, no guarantees

void SqliteAnchor(benchmark::State& state) {
  const std::string path = TempDir() + "/anchor.db";
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE t (id INTEGER "
               "PRIMARY KEY, state TEXT NOT NULL); CREATE INDEX t_pending ON t (id) WHERE state "
               "= 'pending';",
               nullptr, nullptr, nullptr);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t (state) VALUES ('pending')", -1, &insert, nullptr);
  for (int64_t i = 0; i < state.max_iterations + 1000; ++i) {
    sqlite3_step(insert);
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_stmt* claim = nullptr;
  sqlite3_stmt* complete = nullptr;
  sqlite3_prepare_v2(db,
                     "UPDATE t SET state = 'leased' WHERE id = (SELECT id FROM t WHERE state = "
                     "'pending' ORDER BY id LIMIT 1) RETURNING id",
                     -1, &claim, nullptr);
  sqlite3_prepare_v2(db, "UPDATE t SET state = 'done' WHERE id = ?", -1, &complete, nullptr);
  for (auto _ : state) {
    if (sqlite3_step(claim) != SQLITE_ROW) state.SkipWithError("anchor claim failed");
    const int64_t id = sqlite3_column_int64(claim, 0);
    sqlite3_reset(claim);
    sqlite3_bind_int64(complete, 1, id);
    sqlite3_step(complete);
    sqlite3_reset(complete);
  }
  sqlite3_finalize(claim);
  sqlite3_finalize(complete);
  sqlite3_close(db);
  state.SetItemsProcessed(state.iterations());
}

void PostgresAnchor(benchmark::State& state) {
  static std::string conninfo;
  if (state.thread_index() == 0) {
    auto db = Postgres()->CreateDatabase("anchor");
    if (!db.has_value()) abort();
    conninfo = Postgres()->ConnInfo(*db);
    PGconn* setup = PQconnectdb(conninfo.c_str());
    PQclear(PQexec(setup, "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, state TEXT NOT NULL)"));
    PQclear(PQexec(setup, "CREATE INDEX t_pending ON t (id) WHERE state = 'pending'"));
    std::string fill =
        fmt::format("INSERT INTO t (state) SELECT 'pending' FROM generate_series(1, {})",
                    state.max_iterations * state.threads() + 1000);
    PQclear(PQexec(setup, fill.c_str()));
    PQfinish(setup);
  }
  PGconn* conn = nullptr;
  for (auto _ : state) {
    if (conn == nullptr) conn = PQconnectdb(conninfo.c_str());
    PGresult* claimed = PQexec(conn,
                               "UPDATE t SET state = 'leased' WHERE id = (SELECT id FROM t "
                               "WHERE state = 'pending' ORDER BY id LIMIT 1 FOR UPDATE SKIP "
                               "LOCKED) RETURNING id");
    if (PQntuples(claimed) != 1) state.SkipWithError("anchor claim failed");
    const char* id[] = {PQgetvalue(claimed, 0, 0)};
    PQclear(PQexecParams(conn, "UPDATE t SET state = 'done' WHERE id = $1", 1, nullptr, id, nullptr,
                         nullptr, 0));
    PQclear(claimed);
  }
  PQfinish(conn);
  state.SetItemsProcessed(state.iterations());
}

void BM_Sqlite_Ferry(benchmark::State& state) { ClaimComplete(state, "sqlite"); }
void BM_Sqlite_Anchor(benchmark::State& state) { SqliteAnchor(state); }
void BM_Postgres_Ferry(benchmark::State& state) { ClaimComplete(state, "postgresql"); }
void BM_Postgres_Anchor(benchmark::State& state) { PostgresAnchor(state); }

// Iteration counts are fixed so that every run moves the same number of tasks: the queue is
// pre-filled with exactly what the run will claim.
BENCHMARK(BM_Sqlite_Anchor)->Iterations(20000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Sqlite_Ferry)->Arg(1)->Iterations(20000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Sqlite_Ferry)->Arg(16)->Iterations(2000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Sqlite_Ferry)
    ->Arg(1)
    ->Threads(8)
    ->Iterations(2500)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_Postgres_Anchor)->Iterations(5000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Postgres_Anchor)
    ->Threads(8)
    ->Iterations(1000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_Postgres_Ferry)
    ->Arg(1)
    ->Iterations(5000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_Postgres_Ferry)
    ->Arg(16)
    ->Iterations(500)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_Postgres_Ferry)
    ->Arg(1)
    ->Threads(8)
    ->Iterations(1000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace ferry

BENCHMARK_MAIN();
