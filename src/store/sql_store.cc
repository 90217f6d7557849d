#include "store/sql_store.h"

#include <algorithm>
#include <limits>
#include <random>
#include <unordered_set>

#include <fmt/format.h>

#include "base/hash.h"
#include "base/log.h"
#include "store/event_chain.h"
#include "store/migrations.h"

namespace ferry::store_internal {
namespace {

constexpr std::string_view kTaskColumns =
    "id, queue, kind, payload, state, attempts, max_attempts, priority, lease_owner, "
    "lease_token, lease_expires_at, last_error, result";

Result<TaskState> ParseTaskState(const SqlValue& value) {
  std::string_view s = value.has_value() ? std::string_view(*value) : std::string_view();
  if (s == "pending") return TaskState::kPending;
  if (s == "leased") return TaskState::kLeased;
  if (s == "done") return TaskState::kDone;
  if (s == "failed") return TaskState::kFailed;
  return Err(DataLoss("store: task state '{}' is not one ferry writes", s));
}

// Decodes a row selected with kTaskColumns.
Result<Task> TaskFromRow(const SqlRow& row) {
  Task task;
  FERRY_ASSIGN_OR_RETURN(task.id, ToInt(row[0], "task id"));
  task.queue = row[1].value_or("");
  task.kind = row[2].value_or("");
  task.payload = row[3].value_or("");
  FERRY_ASSIGN_OR_RETURN(task.state, ParseTaskState(row[4]));
  FERRY_ASSIGN_OR_RETURN(int64_t attempts, ToInt(row[5], "task attempts"));
  FERRY_ASSIGN_OR_RETURN(int64_t max_attempts, ToInt(row[6], "task max_attempts"));
  FERRY_ASSIGN_OR_RETURN(int64_t priority, ToInt(row[7], "task priority"));
  task.attempts = static_cast<int>(attempts);
  task.max_attempts = static_cast<int>(max_attempts);
  task.priority = static_cast<int>(priority);
  task.lease_owner = row[8].value_or("");
  FERRY_ASSIGN_OR_RETURN(task.lease_token, ToInt(row[9], "task lease_token"));
  if (row[10].has_value()) {
    FERRY_ASSIGN_OR_RETURN(task.lease_expires_micros, ToInt(row[10], "task lease_expires_at"));
  }
  task.last_error = row[11].value_or("");
  task.result = row[12].value_or("");
  return task;
}

Result<Event> EventFromRow(const SqlRow& row) {
  Event event;
  FERRY_ASSIGN_OR_RETURN(event.seq, ToInt(row[0], "event seq"));
  FERRY_ASSIGN_OR_RETURN(event.at_micros, ToInt(row[1], "event at"));
  event.run_id = row[2].value_or("");
  event.actor = row[3].value_or("");
  event.kind = row[4].value_or("");
  event.payload = row[5].value_or("");
  event.prev_hash = row[6].value_or("");
  event.hash = row[7].value_or("");
  return event;
}

constexpr int64_t kReclaimIntervalMicros = 1'000'000;

constexpr std::string_view kEventColumns = "seq, at, run_id, actor, kind, payload, prev_hash, hash";

// Takes back the expired leases of a queue (parameter: queue). `{}` is the dialect's row-lock
// clause for the inner select.
constexpr std::string_view kReclaimSql =
    "UPDATE ferry_tasks SET "
    "state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END, "
    "last_error = 'lease of ' || COALESCE(lease_owner, '?') || ' expired', "
    "finished_at = CASE WHEN attempts >= max_attempts THEN ferry_now() END, "
    "lease_owner = NULL, lease_expires_at = NULL, updated_at = ferry_now() "
    "WHERE id IN (SELECT id FROM ferry_tasks WHERE queue = ? AND state = 'leased' "
    "AND lease_expires_at < ferry_now(){}) RETURNING id";

// Leases claimable tasks (parameters: queue, limit, worker, lease micros). The picked ids are
// a MATERIALIZED CTE: as `id IN (SELECT ... LIMIT n)` PostgreSQL may run the subquery again
// per row under some plans and lease more than n tasks.
constexpr std::string_view kClaimSql =
    "WITH picked (task_id) AS MATERIALIZED (SELECT id FROM ferry_tasks WHERE queue = ? AND "
    "state = 'pending' AND not_before <= ferry_now() ORDER BY priority DESC, id LIMIT ?{}) "
    "UPDATE ferry_tasks SET state = 'leased', lease_owner = ?, "
    "lease_token = lease_token + 1, lease_expires_at = ferry_now() + ?, "
    "attempts = attempts + 1, updated_at = ferry_now() "
    "FROM picked WHERE id = picked.task_id RETURNING {}";

}  // namespace

// ---------------------------------------------------------------------------------------------
// ConnectionPool

ConnectionPool::ConnectionPool(Factory factory, int max)
    : factory_(std::move(factory)), max_(std::max(1, max)) {}

ConnectionPool::Handle::~Handle() {
  if (conn_ != nullptr) pool_->Release(std::move(conn_));
}

Result<ConnectionPool::Handle> ConnectionPool::Acquire() {
  std::unique_lock lock(mu_);
  available_.wait(lock, [this] { return !idle_.empty() || open_ < max_; });
  if (!idle_.empty()) {
    std::unique_ptr<SqlConnection> conn = std::move(idle_.back());
    idle_.pop_back();
    return Handle(this, std::move(conn));
  }
  ++open_;
  lock.unlock();
  Result<std::unique_ptr<SqlConnection>> conn = factory_();
  if (!conn.has_value()) {
    lock.lock();
    --open_;
    available_.notify_one();
    return Err(conn.error());
  }
  return Handle(this, std::move(conn).value());
}

void ConnectionPool::Release(std::unique_ptr<SqlConnection> conn) {
  const bool healthy = conn->Healthy();
  if (!healthy) conn.reset();  // close outside the lock would be nicer; closing is quick
  std::lock_guard lock(mu_);
  if (healthy) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  available_.notify_one();
}

// ---------------------------------------------------------------------------------------------
// SqlStore: plumbing

SqlStore::Metrics::Metrics(std::string_view backend)
    : enqueued(MetricsRegistry::Default().GetCounter("ferry_queue_tasks_enqueued_total",
                                                     "Tasks added to work queues.",
                                                     {{"backend", std::string(backend)}})),
      claimed(MetricsRegistry::Default().GetCounter("ferry_queue_tasks_claimed_total",
                                                    "Tasks claimed under a lease.",
                                                    {{"backend", std::string(backend)}})),
      completed(MetricsRegistry::Default().GetCounter("ferry_queue_tasks_completed_total",
                                                      "Tasks completed.",
                                                      {{"backend", std::string(backend)}})),
      failed(MetricsRegistry::Default().GetCounter(
          "ferry_queue_task_failures_total",
          "Tasks given back with an error (retried or failed for good).",
          {{"backend", std::string(backend)}})),
      leases_lost(MetricsRegistry::Default().GetCounter(
          "ferry_queue_leases_lost_total",
          "Complete, Fail or Heartbeat calls refused because the lease had passed to another "
          "worker.",
          {{"backend", std::string(backend)}})),
      leases_reclaimed(MetricsRegistry::Default().GetCounter(
          "ferry_queue_leases_reclaimed_total", "Expired leases whose task was taken back.",
          {{"backend", std::string(backend)}})),
      events_appended(MetricsRegistry::Default().GetCounter("ferry_events_appended_total",
                                                            "Events appended to the event log.",
                                                            {{"backend", std::string(backend)}})),
      transaction_retries(MetricsRegistry::Default().GetCounter(
          "ferry_store_transaction_retries_total",
          "Store transactions retried after a conflict (serialization failure, deadlock).",
          {{"backend", std::string(backend)}})) {}

SqlStore::SqlStore(const SqlDialect& dialect, std::string location, ConnectionPool::Factory factory,
                   int max_connections, Env* env)
    : dialect_(dialect),
      location_(std::move(location)),
      metrics_(dialect.backend),
      reclaim_sql_(fmt::format(fmt::runtime(kReclaimSql), dialect.skip_locked)),
      claim_sql_(fmt::format(fmt::runtime(kClaimSql), dialect.skip_locked, kTaskColumns)),
      env_(env),
      pool_(std::move(factory), max_connections) {}

template <typename T>
Result<T> SqlStore::WithConnection(const std::function<Result<T>(SqlConnection&)>& body) {
  FERRY_ASSIGN_OR_RETURN(ConnectionPool::Handle conn, pool_.Acquire());
  return body(*conn);
}

template <typename T>
Result<T> SqlStore::InTransaction(const std::function<Result<T>(SqlConnection&)>& body) {
  constexpr int kMaxAttempts = 8;
  std::minstd_rand jitter(static_cast<unsigned>(env_->MonotonicMicros()));
  for (int attempt = 1;; ++attempt) {
    FERRY_ASSIGN_OR_RETURN(ConnectionPool::Handle conn, pool_.Acquire());
    Status status = conn->BeginWrite();
    if (status.ok()) {
      Result<T> result = body(*conn);
      if (result.has_value()) {
        status = conn->Commit();
        if (status.ok()) return result;
      } else {
        status = result.error();
      }
    }
    const bool conflict = conn->LastErrorWasConflict();
    conn->Rollback().IgnoreError();  // the error that made us roll back is the one to report
    if (!conflict || attempt == kMaxAttempts) return Err(status);
    metrics_.transaction_retries.Increment();
    // Exponential backoff with full jitter: conflicting writers spread out instead of colliding
    // again in lockstep.
    const int64_t cap = int64_t{1000} << attempt;
    env_->SleepForMicros(static_cast<int64_t>(jitter() % static_cast<uint64_t>(cap)));
  }
}

// ---------------------------------------------------------------------------------------------
// Schema

Status SqlStore::NewerSchema(int version) const {
  return FailedPrecondition(
      "store {}: schema version {} was written by a newer ferry; this ferry {} understands up to "
      "version {}; upgrade ferry, or use another --store",
      location_, version, FERRY_VERSION, LatestSchemaVersion());
}

Result<int> SqlStore::CurrentVersion(SqlConnection& conn) {
  FERRY_ASSIGN_OR_RETURN(auto exists, conn.Query(dialect_.migrations_table_exists));
  FERRY_ASSIGN_OR_RETURN(int64_t has_table, ToInt(exists.at(0).at(0), "migrations table check"));
  if (has_table == 0) return 0;
  FERRY_ASSIGN_OR_RETURN(auto rows,
                         conn.Query("SELECT COALESCE(MAX(version), 0) FROM ferry_migrations"));
  FERRY_ASSIGN_OR_RETURN(int64_t version, ToInt(rows.at(0).at(0), "schema version"));
  return static_cast<int>(version);
}

Status SqlStore::Initialize(bool migrate) {
  FERRY_ASSIGN_OR_RETURN(SchemaStatus schema, GetSchemaStatus());
  if (schema.current_version > schema.latest_version) {
    return NewerSchema(schema.current_version);
  }
  if (schema.current_version == 0 && dialect_.refuse_foreign_database) {
    FERRY_ASSIGN_OR_RETURN(
        int64_t foreign, WithConnection<int64_t>([&](SqlConnection& conn) -> Result<int64_t> {
          FERRY_ASSIGN_OR_RETURN(auto rows, conn.Query(dialect_.other_tables_exist));
          return ToInt(rows.at(0).at(0), "table check");
        }));
    if (foreign != 0) {
      return FailedPrecondition(
          "store {}: this database holds tables that are not ferry's; it looks like a user "
          "database, not a ferry store; point --store at a new file (e.g. sqlite:///path/ferry.db)",
          location_);
    }
  }
  if (migrate && !schema.pending.empty()) {
    FERRY_ASSIGN_OR_RETURN(int applied, Migrate());
    (void)applied;
  }
  return OkStatus();
}

Result<SchemaStatus> SqlStore::GetSchemaStatus() {
  SchemaStatus status;
  status.backend = std::string(dialect_.backend);
  status.location = location_;
  status.latest_version = LatestSchemaVersion();
  FERRY_ASSIGN_OR_RETURN(status.current_version, WithConnection<int>([&](SqlConnection& conn) {
                           return CurrentVersion(conn);
                         }));
  for (const Migration& m : AllMigrations()) {
    if (m.version > status.current_version) {
      status.pending.push_back(fmt::format("{} {}", m.version, m.name));
    }
  }
  return status;
}

Result<int> SqlStore::Migrate() {
  std::vector<const Migration*> applied_now;
  Result<int> applied = InTransaction<int>([&](SqlConnection& conn) -> Result<int> {
    applied_now.clear();  // a retried transaction starts over
    if (!dialect_.migration_lock.empty()) {
      FERRY_RETURN_IF_ERROR(conn.ExecScript(dialect_.migration_lock));
    }
    FERRY_RETURN_IF_ERROR(conn.ExecScript(
        "CREATE TABLE IF NOT EXISTS ferry_migrations (version INTEGER PRIMARY KEY, name TEXT NOT "
        "NULL, applied_at BIGINT NOT NULL, ferry_version TEXT NOT NULL)"));
    // Read under the lock: a concurrent ferry may have migrated while we waited for it.
    FERRY_ASSIGN_OR_RETURN(int current, CurrentVersion(conn));
    if (current > LatestSchemaVersion()) {
      return Err(NewerSchema(current));
    }
    for (const Migration& m : AllMigrations()) {
      if (m.version <= current) continue;
      Status status = conn.ExecScript(MigrationScript(m, dialect_.engine));
      if (!status.ok()) {
        return Err(status.WithContext(
            fmt::format("applying schema migration {} ({})", m.version, m.name)));
      }
      const SqlParam params[] = {int64_t{m.version}, std::string(m.name), env_->NowMicros(),
                                 std::string(FERRY_VERSION)};
      FERRY_ASSIGN_OR_RETURN(auto rows,
                             conn.Query("INSERT INTO ferry_migrations (version, name, applied_at, "
                                        "ferry_version) VALUES (?, ?, ?, ?)",
                                        params));
      (void)rows;
      applied_now.push_back(&m);
    }
    return static_cast<int>(applied_now.size());
  });
  if (applied.has_value()) {
    for (const Migration* m : applied_now) {
      LogInfo("applied schema migration",
              {{"store", location_}, {"version", m->version}, {"name", m->name}});
    }
  }
  return applied;
}

// ---------------------------------------------------------------------------------------------
// Work queue

Result<int64_t> SqlStore::InsertTask(SqlConnection& conn, const TaskSpec& spec) {
  if (spec.queue.empty() || spec.kind.empty()) {
    return Err(
        InvalidArgument("store {}: a task needs a queue and a kind (got queue '{}', kind '{}')",
                        location_, spec.queue, spec.kind));
  }
  if (spec.max_attempts < 1) {
    return Err(
        InvalidArgument("store {}: task of kind '{}': max_attempts must be at least 1, got {}",
                        location_, spec.kind, spec.max_attempts));
  }
  SqlParam dedupe = spec.dedupe_key.has_value() ? SqlParam(*spec.dedupe_key) : SqlParam(nullptr);
  const SqlParam params[] = {spec.queue,
                             spec.kind,
                             spec.payload,
                             dedupe,
                             int64_t{spec.priority},
                             int64_t{spec.max_attempts},
                             spec.not_before_micros};
  FERRY_ASSIGN_OR_RETURN(
      auto rows,
      conn.Query("INSERT INTO ferry_tasks (queue, kind, payload, dedupe_key, priority, state, "
                 "max_attempts, not_before, created_at, updated_at) VALUES (?, ?, ?, ?, ?, "
                 "'pending', ?, ?, ferry_now(), ferry_now()) ON CONFLICT (queue, dedupe_key) DO "
                 "NOTHING RETURNING id",
                 params));
  if (rows.empty()) {  // a task with this dedupe key exists: return it
    const SqlParam key[] = {spec.queue, dedupe};
    FERRY_ASSIGN_OR_RETURN(
        rows, conn.Query("SELECT id FROM ferry_tasks WHERE queue = ? AND dedupe_key = ?", key));
    if (rows.empty()) return Err(Internal("store {}: dedupe conflict without a row", location_));
  }
  return ToInt(rows[0][0], "task id");
}

Result<int64_t> SqlStore::Enqueue(const TaskSpec& spec) {
  Result<int64_t> id =
      InTransaction<int64_t>([&](SqlConnection& conn) { return InsertTask(conn, spec); });
  if (id.has_value()) metrics_.enqueued.Increment();
  return id;
}

Result<std::vector<int64_t>> SqlStore::EnqueueBatch(const std::vector<TaskSpec>& specs) {
  Result<std::vector<int64_t>> ids =
      InTransaction<std::vector<int64_t>>([&](SqlConnection& conn) -> Result<std::vector<int64_t>> {
        std::vector<int64_t> inserted;
        inserted.reserve(specs.size());
        for (const TaskSpec& spec : specs) {
          FERRY_ASSIGN_OR_RETURN(int64_t id, InsertTask(conn, spec));
          inserted.push_back(id);
        }
        return inserted;
      });
  if (ids.has_value()) metrics_.enqueued.Increment(static_cast<double>(ids->size()));
  return ids;
}

Result<int64_t> SqlStore::ReclaimIn(SqlConnection& conn, std::string_view queue) {
  const SqlParam params[] = {std::string(queue)};
  FERRY_ASSIGN_OR_RETURN(auto rows, conn.Query(reclaim_sql_, params));
  // Counted here, inside the transaction: a retried transaction may count a reclaim twice,
  // which a monitoring counter tolerates.
  metrics_.leases_reclaimed.Increment(static_cast<double>(rows.size()));
  return static_cast<int64_t>(rows.size());
}

Result<int64_t> SqlStore::ReclaimExpired(std::string_view queue) {
  return WithConnection<int64_t>([&](SqlConnection& conn) { return ReclaimIn(conn, queue); });
}

Result<std::vector<Task>> SqlStore::Claim(std::string_view queue, const ClaimOptions& options) {
  if (options.max_tasks < 1 || options.lease_micros < 1) {
    return Err(
        InvalidArgument("store {}: claim needs max_tasks >= 1 and a positive lease, got "
                        "max_tasks {} and lease {} us",
                        location_, options.max_tasks, options.lease_micros));
  }
  // Claim and reclaim are single statements, each atomic on its own, so no explicit
  // transaction is needed. Reclaiming runs at most once per kReclaimInterval on the hot path
  // (one round trip per claim while the queue is busy), and whenever a claim comes back short,
  // so an expired lease is taken back within a second of a claim that could use it.
  Result<std::vector<Task>> claimed =
      WithConnection<std::vector<Task>>([&](SqlConnection& conn) -> Result<std::vector<Task>> {
        const int64_t now = env_->MonotonicMicros();
        bool reclaimed_now = false;
        if (now >= next_reclaim_micros_.load(std::memory_order_relaxed)) {
          next_reclaim_micros_.store(now + kReclaimIntervalMicros, std::memory_order_relaxed);
          FERRY_ASSIGN_OR_RETURN(int64_t reclaimed, ReclaimIn(conn, queue));
          (void)reclaimed;
          reclaimed_now = true;
        }
        std::vector<Task> tasks;
        for (;;) {
          const SqlParam params[] = {std::string(queue),
                                     int64_t{options.max_tasks - static_cast<int>(tasks.size())},
                                     options.worker, options.lease_micros};
          FERRY_ASSIGN_OR_RETURN(auto rows, conn.Query(claim_sql_, params));
          for (const SqlRow& row : rows) {
            FERRY_ASSIGN_OR_RETURN(Task task, TaskFromRow(row));
            tasks.push_back(std::move(task));
          }
          if (static_cast<int>(tasks.size()) >= options.max_tasks || reclaimed_now) break;
          FERRY_ASSIGN_OR_RETURN(int64_t reclaimed, ReclaimIn(conn, queue));
          reclaimed_now = true;
          if (reclaimed == 0) break;
        }
        // RETURNING order is unspecified; hand tasks out in claim order.
        std::sort(tasks.begin(), tasks.end(), [](const Task& a, const Task& b) {
          return a.priority != b.priority ? a.priority > b.priority : a.id < b.id;
        });
        return tasks;
      });
  if (claimed.has_value()) metrics_.claimed.Increment(static_cast<double>(claimed->size()));
  return claimed;
}

Status SqlStore::LeaseLost(SqlConnection& conn, const Task& task, std::string_view action) {
  const SqlParam params[] = {task.id};
  FERRY_ASSIGN_OR_RETURN(
      auto rows,
      conn.Query(fmt::format("SELECT {} FROM ferry_tasks WHERE id = ?", kTaskColumns), params));
  if (rows.empty()) {
    return NotFound("store {}: cannot {} task {}: it does not exist", location_, action, task.id);
  }
  FERRY_ASSIGN_OR_RETURN(Task now, TaskFromRow(rows[0]));
  metrics_.leases_lost.Increment();
  return Aborted(
      "store {}: cannot {} task {} ({}): its lease (token {}) was lost; the task is now {} with "
      "lease token {}{}; drop the work done on it, another worker owns it",
      location_, action, task.id, task.kind, task.lease_token, TaskStateName(now.state),
      now.lease_token, now.lease_owner.empty() ? "" : fmt::format(" held by {}", now.lease_owner));
}

// Heartbeat, Complete and Fail are one guarded UPDATE each: atomic on their own, so they run
// without an explicit transaction (one round trip on PostgreSQL). The follow-up reads that
// explain a refusal are informational and need no atomicity with it.
Status SqlStore::Heartbeat(const Task& task, int64_t extend_micros) {
  Result<bool> result = WithConnection<bool>([&](SqlConnection& conn) -> Result<bool> {
    const SqlParam params[] = {extend_micros, task.id, task.lease_token};
    FERRY_ASSIGN_OR_RETURN(
        auto rows, conn.Query("UPDATE ferry_tasks SET lease_expires_at = ferry_now() + ?, "
                              "updated_at = ferry_now() WHERE id = ? AND state = 'leased' AND "
                              "lease_token = ? RETURNING id",
                              params));
    if (rows.empty()) return Err(LeaseLost(conn, task, "heartbeat"));
    return true;
  });
  return StatusOf(result);
}

Result<bool> SqlStore::CompleteIn(SqlConnection& conn, const Task& task, std::string_view result) {
  const SqlParam params[] = {std::string(result), task.id, task.lease_token};
  FERRY_ASSIGN_OR_RETURN(
      auto rows, conn.Query("UPDATE ferry_tasks SET state = 'done', result = ?, "
                            "lease_expires_at = NULL, finished_at = ferry_now(), updated_at = "
                            "ferry_now() WHERE id = ? AND state = 'leased' AND lease_token = ? "
                            "RETURNING id",
                            params));
  if (!rows.empty()) return true;
  // Completing twice under the same lease (a retry after a lost reply) is not an error; it
  // changes nothing (false: no events to append again).
  const SqlParam check[] = {task.id, task.lease_token};
  FERRY_ASSIGN_OR_RETURN(rows, conn.Query("SELECT id FROM ferry_tasks WHERE id = ? AND state = "
                                          "'done' AND lease_token = ?",
                                          check));
  if (!rows.empty()) return false;
  return Err(LeaseLost(conn, task, "complete"));
}

Result<bool> SqlStore::FailIn(SqlConnection& conn, const Task& task, std::string_view error,
                              int64_t retry_delay_micros, bool give_up) {
  const int64_t final_flag = give_up ? 1 : 0;
  const SqlParam params[] = {
      final_flag, final_flag,      std::string(error), std::max<int64_t>(0, retry_delay_micros),
      task.id,    task.lease_token};
  FERRY_ASSIGN_OR_RETURN(
      auto rows,
      conn.Query("UPDATE ferry_tasks SET "
                 "state = CASE WHEN ? = 1 OR attempts >= max_attempts THEN 'failed' ELSE "
                 "'pending' END, "
                 "finished_at = CASE WHEN ? = 1 OR attempts >= max_attempts THEN ferry_now() END, "
                 "last_error = ?, not_before = ferry_now() + ?, lease_owner = NULL, "
                 "lease_expires_at = NULL, updated_at = ferry_now() "
                 "WHERE id = ? AND state = 'leased' AND lease_token = ? RETURNING id",
                 params));
  if (rows.empty()) return Err(LeaseLost(conn, task, "fail"));
  return true;
}

Status SqlStore::Complete(const Task& task, std::string_view result) {
  Result<bool> done = WithConnection<bool>(
      [&](SqlConnection& conn) -> Result<bool> { return CompleteIn(conn, task, result); });
  if (done.has_value()) metrics_.completed.Increment();
  return StatusOf(done);
}

Status SqlStore::Fail(const Task& task, std::string_view error, int64_t retry_delay_micros) {
  Result<bool> failed = WithConnection<bool>([&](SqlConnection& conn) -> Result<bool> {
    return FailIn(conn, task, error, retry_delay_micros);
  });
  if (failed.has_value()) metrics_.failed.Increment();
  return StatusOf(failed);
}

Status SqlStore::Complete(const Task& task, std::string_view result,
                          const std::vector<EventSpec>& events) {
  Result<bool> done = InTransaction<bool>([&](SqlConnection& conn) -> Result<bool> {
    FERRY_ASSIGN_OR_RETURN(bool changed, CompleteIn(conn, task, result));
    if (changed) {
      for (const EventSpec& event : events) {
        FERRY_ASSIGN_OR_RETURN(Event appended, AppendEventIn(conn, event));
        (void)appended;
      }
    }
    return changed;
  });
  if (done.has_value()) {
    metrics_.completed.Increment();
    if (*done) metrics_.events_appended.Increment(static_cast<double>(events.size()));
  }
  return StatusOf(done);
}

Status SqlStore::Fail(const Task& task, std::string_view error, int64_t retry_delay_micros,
                      const std::vector<EventSpec>& events, bool give_up) {
  Result<bool> failed = InTransaction<bool>([&](SqlConnection& conn) -> Result<bool> {
    FERRY_ASSIGN_OR_RETURN(bool failed_now, FailIn(conn, task, error, retry_delay_micros, give_up));
    (void)failed_now;
    for (const EventSpec& event : events) {
      FERRY_ASSIGN_OR_RETURN(Event appended, AppendEventIn(conn, event));
      (void)appended;
    }
    return true;
  });
  if (failed.has_value()) {
    metrics_.failed.Increment();
    metrics_.events_appended.Increment(static_cast<double>(events.size()));
  }
  return StatusOf(failed);
}

Result<QueueStats> SqlStore::GetQueueStats(std::string_view queue) {
  return WithConnection<QueueStats>([&](SqlConnection& conn) -> Result<QueueStats> {
    const SqlParam params[] = {std::string(queue)};
    FERRY_ASSIGN_OR_RETURN(
        auto rows,
        conn.Query("SELECT state, COUNT(*) FROM ferry_tasks WHERE queue = ? GROUP BY state",
                   params));
    QueueStats stats;
    for (const SqlRow& row : rows) {
      FERRY_ASSIGN_OR_RETURN(TaskState state, ParseTaskState(row[0]));
      FERRY_ASSIGN_OR_RETURN(int64_t count, ToInt(row[1], "task count"));
      switch (state) {
        case TaskState::kPending: stats.pending = count; break;
        case TaskState::kLeased: stats.leased = count; break;
        case TaskState::kDone: stats.done = count; break;
        case TaskState::kFailed: stats.failed = count; break;
      }
    }
    return stats;
  });
}

Result<Task> SqlStore::GetTask(int64_t id) {
  return WithConnection<Task>([&](SqlConnection& conn) -> Result<Task> {
    const SqlParam params[] = {id};
    FERRY_ASSIGN_OR_RETURN(
        auto rows,
        conn.Query(fmt::format("SELECT {} FROM ferry_tasks WHERE id = ?", kTaskColumns), params));
    if (rows.empty()) return Err(NotFound("store {}: task {} does not exist", location_, id));
    return TaskFromRow(rows[0]);
  });
}

Result<int64_t> SqlStore::ReleaseLeases(std::string_view queue, std::string_view owner) {
  return InTransaction<int64_t>([&](SqlConnection& conn) -> Result<int64_t> {
    const SqlParam params[] = {std::string(queue), std::string(owner)};
    // A new token fences the old holder, should it not be as dead as its supervisor thinks.
    FERRY_ASSIGN_OR_RETURN(
        auto rows, conn.Query("UPDATE ferry_tasks SET state = 'pending', lease_owner = NULL, "
                              "lease_expires_at = NULL, lease_token = lease_token + 1, attempts = "
                              "CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, updated_at = "
                              "ferry_now() WHERE queue = ? AND state = 'leased' AND lease_owner = "
                              "? RETURNING id",
                              params));
    return static_cast<int64_t>(rows.size());
  });
}

Result<int64_t> SqlStore::RetryFailed(std::string_view queue) {
  return InTransaction<int64_t>([&](SqlConnection& conn) -> Result<int64_t> {
    const SqlParam params[] = {std::string(queue)};
    FERRY_ASSIGN_OR_RETURN(
        auto rows, conn.Query("UPDATE ferry_tasks SET state = 'pending', attempts = 0, "
                              "finished_at = NULL, not_before = 0, updated_at = ferry_now() WHERE "
                              "queue = ? AND state = 'failed' RETURNING id",
                              params));
    return static_cast<int64_t>(rows.size());
  });
}

Result<std::vector<Task>> SqlStore::ListTasks(std::string_view queue) {
  return WithConnection<std::vector<Task>>([&](SqlConnection& conn) -> Result<std::vector<Task>> {
    const SqlParam params[] = {std::string(queue)};
    FERRY_ASSIGN_OR_RETURN(
        auto rows, conn.Query(fmt::format("SELECT {} FROM ferry_tasks WHERE queue = ? ORDER BY id",
                                          kTaskColumns),
                              params));
    std::vector<Task> tasks;
    tasks.reserve(rows.size());
    for (const SqlRow& row : rows) {
      FERRY_ASSIGN_OR_RETURN(Task task, TaskFromRow(row));
      tasks.push_back(std::move(task));
    }
    return tasks;
  });
}

// ---------------------------------------------------------------------------------------------
// Runs

namespace {

constexpr std::string_view kRunColumns =
    "id, kind, state, fingerprint, spec, result, created_at, updated_at";

Result<RunRecord> RunFromRow(const SqlRow& row) {
  RunRecord run;
  run.id = row[0].value_or("");
  run.kind = row[1].value_or("");
  run.state = row[2].value_or("");
  run.fingerprint = row[3].value_or("");
  run.spec = row[4].value_or("");
  run.result = row[5].value_or("");
  FERRY_ASSIGN_OR_RETURN(run.created_micros, ToInt(row[6], "run created_at"));
  FERRY_ASSIGN_OR_RETURN(run.updated_micros, ToInt(row[7], "run updated_at"));
  return run;
}

}  // namespace

Status SqlStore::CreateRun(const RunRecord& run) {
  Result<bool> created = InTransaction<bool>([&](SqlConnection& conn) -> Result<bool> {
    const SqlParam exists_params[] = {run.id};
    FERRY_ASSIGN_OR_RETURN(auto existing,
                           conn.Query("SELECT 1 FROM ferry_runs WHERE id = ?", exists_params));
    if (!existing.empty()) return false;
    const SqlParam params[] = {run.id, run.kind, run.state, run.fingerprint, run.spec, run.result};
    FERRY_ASSIGN_OR_RETURN(
        auto rows, conn.Query("INSERT INTO ferry_runs (id, kind, state, fingerprint, spec, result, "
                              "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ferry_now(), "
                              "ferry_now())",
                              params));
    return true;
  });
  if (!created.has_value()) return created.error();
  if (!*created) return AlreadyExists("store {}: run {} already exists", location_, run.id);
  return OkStatus();
}

Result<RunRecord> SqlStore::GetRun(std::string_view id) {
  return WithConnection<RunRecord>([&](SqlConnection& conn) -> Result<RunRecord> {
    const SqlParam params[] = {std::string(id)};
    FERRY_ASSIGN_OR_RETURN(
        auto rows,
        conn.Query(fmt::format("SELECT {} FROM ferry_runs WHERE id = ?", kRunColumns), params));
    if (rows.empty()) {
      return Err(
          NotFound("store {}: there is no run {}; check the id the copy printed, and the "
                   "--store it used",
                   location_, id));
    }
    return RunFromRow(rows[0]);
  });
}

Status SqlStore::UpdateRun(std::string_view id, std::string_view state, std::string_view result) {
  Result<bool> updated = InTransaction<bool>([&](SqlConnection& conn) -> Result<bool> {
    const SqlParam params[] = {std::string(state), std::string(result), std::string(id)};
    FERRY_ASSIGN_OR_RETURN(auto rows,
                           conn.Query("UPDATE ferry_runs SET state = ?, result = ?, updated_at = "
                                      "ferry_now() WHERE id = ? RETURNING id",
                                      params));
    return !rows.empty();
  });
  if (!updated.has_value()) return updated.error();
  if (!*updated) return NotFound("store {}: there is no run {}", location_, id);
  return OkStatus();
}

Result<std::vector<RunRecord>> SqlStore::ListRuns(std::string_view kind, int limit) {
  return WithConnection<std::vector<RunRecord>>(
      [&](SqlConnection& conn) -> Result<std::vector<RunRecord>> {
        const SqlParam params[] = {std::string(kind), static_cast<int64_t>(std::max(0, limit))};
        FERRY_ASSIGN_OR_RETURN(
            auto rows, conn.Query(fmt::format("SELECT {} FROM ferry_runs WHERE kind = ? ORDER BY "
                                              "created_at DESC, id DESC LIMIT ?",
                                              kRunColumns),
                                  params));
        std::vector<RunRecord> runs;
        for (const SqlRow& row : rows) {
          FERRY_ASSIGN_OR_RETURN(RunRecord run, RunFromRow(row));
          runs.push_back(std::move(run));
        }
        return runs;
      });
}

Result<std::vector<RunRecord>> SqlStore::FindRuns(std::string_view kind,
                                                  std::string_view fingerprint) {
  return WithConnection<std::vector<RunRecord>>(
      [&](SqlConnection& conn) -> Result<std::vector<RunRecord>> {
        const SqlParam params[] = {std::string(kind), std::string(fingerprint)};
        FERRY_ASSIGN_OR_RETURN(
            auto rows, conn.Query(fmt::format("SELECT {} FROM ferry_runs WHERE kind = ? AND "
                                              "fingerprint = ? ORDER BY created_at DESC, id DESC",
                                              kRunColumns),
                                  params));
        std::vector<RunRecord> runs;
        for (const SqlRow& row : rows) {
          FERRY_ASSIGN_OR_RETURN(RunRecord run, RunFromRow(row));
          runs.push_back(std::move(run));
        }
        return runs;
      });
}

// ---------------------------------------------------------------------------------------------
// Inventories

namespace {

constexpr std::string_view kInventoryColumns =
    "name, source_kind, taken_at, schema_version, document, saved_at";

Result<InventoryRecord> InventoryFromRow(const SqlRow& row) {
  InventoryRecord inventory;
  inventory.name = row[0].value_or("");
  inventory.source_kind = row[1].value_or("");
  FERRY_ASSIGN_OR_RETURN(inventory.taken_micros, ToInt(row[2], "inventory taken_at"));
  inventory.schema_version = row[3].value_or("");
  inventory.document = row[4].value_or("");
  FERRY_ASSIGN_OR_RETURN(inventory.saved_micros, ToInt(row[5], "inventory saved_at"));
  return inventory;
}

}  // namespace

Result<int64_t> SqlStore::PutInventories(const std::vector<InventoryRecord>& inventories,
                                         std::string_view actor) {
  if (actor.empty()) {
    return Err(InvalidArgument("store {}: saving inventories needs an actor", location_));
  }
  std::unordered_set<std::string_view> names;
  for (const InventoryRecord& inventory : inventories) {
    if (inventory.name.empty() || inventory.source_kind.empty() || inventory.document.empty()) {
      return Err(InvalidArgument(
          "store {}: inventory `{}` needs a name, a source kind and a document (got source "
          "kind '{}', {} bytes of document)",
          location_, inventory.name, inventory.source_kind, inventory.document.size()));
    }
    if (!names.insert(inventory.name).second) {
      return Err(InvalidArgument(
          "store {}: inventory `{}` is given twice in one save; name each host once", location_,
          inventory.name));
    }
  }
  Result<int64_t> replaced = InTransaction<int64_t>([&](SqlConnection& conn) -> Result<int64_t> {
    int64_t replaced_now = 0;
    for (const InventoryRecord& inventory : inventories) {
      const SqlParam key[] = {inventory.name};
      FERRY_ASSIGN_OR_RETURN(auto existing,
                             conn.Query("SELECT 1 FROM ferry_inventories WHERE name = ?", key));
      const bool replaces = !existing.empty();
      FERRY_ASSIGN_OR_RETURN(
          Event event,
          AppendEventIn(conn, {.actor = std::string(actor),
                               .kind = "inventory.saved",
                               .payload = Json{{"name", inventory.name},
                                               {"source_kind", inventory.source_kind},
                                               {"schema_version", inventory.schema_version},
                                               {"taken_at", inventory.taken_micros},
                                               {"bytes", inventory.document.size()},
                                               {"sha256", Sha256Hex(inventory.document)},
                                               {"replaced", replaces}}}));
      // saved_at is the event's time: the log and the table agree on when it happened.
      const SqlParam params[] = {inventory.name,         inventory.source_kind,
                                 inventory.taken_micros, inventory.schema_version,
                                 inventory.document,     event.at_micros};
      FERRY_ASSIGN_OR_RETURN(
          auto rows,
          conn.Query(fmt::format("INSERT INTO ferry_inventories ({}) VALUES (?, ?, ?, ?, ?, ?) "
                                 "ON CONFLICT (name) DO UPDATE SET source_kind = "
                                 "excluded.source_kind, taken_at = excluded.taken_at, "
                                 "schema_version = excluded.schema_version, document = "
                                 "excluded.document, saved_at = excluded.saved_at",
                                 kInventoryColumns),
                     params));
      if (replaces) ++replaced_now;
    }
    return replaced_now;
  });
  if (replaced.has_value()) {
    metrics_.events_appended.Increment(static_cast<double>(inventories.size()));
  }
  return replaced;
}

Result<std::vector<InventoryRecord>> SqlStore::ListInventories(std::string_view after_name,
                                                               int limit) {
  return WithConnection<std::vector<InventoryRecord>>(
      [&](SqlConnection& conn) -> Result<std::vector<InventoryRecord>> {
        std::vector<SqlParam> params = {std::string(after_name)};
        std::string sql = fmt::format(
            "SELECT {} FROM ferry_inventories WHERE name > ? ORDER BY name", kInventoryColumns);
        if (limit > 0) {
          sql += " LIMIT ?";
          params.emplace_back(int64_t{limit});
        }
        FERRY_ASSIGN_OR_RETURN(auto rows, conn.Query(sql, params));
        std::vector<InventoryRecord> inventories;
        inventories.reserve(rows.size());
        for (const SqlRow& row : rows) {
          FERRY_ASSIGN_OR_RETURN(InventoryRecord inventory, InventoryFromRow(row));
          inventories.push_back(std::move(inventory));
        }
        return inventories;
      });
}

Result<std::optional<InventoryRecord>> SqlStore::GetInventory(std::string_view name) {
  return WithConnection<std::optional<InventoryRecord>>(
      [&](SqlConnection& conn) -> Result<std::optional<InventoryRecord>> {
        const SqlParam key[] = {std::string(name)};
        FERRY_ASSIGN_OR_RETURN(
            auto rows, conn.Query(fmt::format("SELECT {} FROM ferry_inventories WHERE name = ?",
                                              kInventoryColumns),
                                  key));
        if (rows.empty()) return std::optional<InventoryRecord>();
        FERRY_ASSIGN_OR_RETURN(InventoryRecord inventory, InventoryFromRow(rows[0]));
        return std::optional<InventoryRecord>(std::move(inventory));
      });
}

// ---------------------------------------------------------------------------------------------
// HTTP API: keys, sessions, projects, plans

namespace {

constexpr std::string_view kApiKeyColumns =
    "id, name, role, salt, secret_hash, created_by, created_at, expires_at, revoked_at";

Result<ApiKeyRecord> ApiKeyFromRow(const SqlRow& row) {
  ApiKeyRecord key;
  key.id = row[0].value_or("");
  key.name = row[1].value_or("");
  key.role = row[2].value_or("");
  key.salt = row[3].value_or("");
  key.secret_hash = row[4].value_or("");
  key.created_by = row[5].value_or("");
  FERRY_ASSIGN_OR_RETURN(key.created_micros, ToInt(row[6], "api key created_at"));
  FERRY_ASSIGN_OR_RETURN(key.expires_micros, ToInt(row[7], "api key expires_at"));
  FERRY_ASSIGN_OR_RETURN(key.revoked_micros, ToInt(row[8], "api key revoked_at"));
  return key;
}

constexpr std::string_view kSessionColumns =
    "id, key_id, salt, secret_hash, created_at, expires_at";

Result<ApiSessionRecord> SessionFromRow(const SqlRow& row) {
  ApiSessionRecord session;
  session.id = row[0].value_or("");
  session.key_id = row[1].value_or("");
  session.salt = row[2].value_or("");
  session.secret_hash = row[3].value_or("");
  FERRY_ASSIGN_OR_RETURN(session.created_micros, ToInt(row[4], "session created_at"));
  FERRY_ASSIGN_OR_RETURN(session.expires_micros, ToInt(row[5], "session expires_at"));
  return session;
}

constexpr std::string_view kProjectColumns = "name, description, created_by, created_at";

Result<ProjectRecord> ProjectFromRow(const SqlRow& row) {
  ProjectRecord project;
  project.name = row[0].value_or("");
  project.description = row[1].value_or("");
  project.created_by = row[2].value_or("");
  FERRY_ASSIGN_OR_RETURN(project.created_micros, ToInt(row[3], "project created_at"));
  return project;
}

constexpr std::string_view kPlanColumns =
    "id, created_by, created_at, hosts, waves, options, document";

Result<PlanRecord> PlanFromRow(const SqlRow& row) {
  PlanRecord plan;
  plan.id = row[0].value_or("");
  plan.created_by = row[1].value_or("");
  FERRY_ASSIGN_OR_RETURN(plan.created_micros, ToInt(row[2], "plan created_at"));
  FERRY_ASSIGN_OR_RETURN(plan.hosts, ToInt(row[3], "plan hosts"));
  FERRY_ASSIGN_OR_RETURN(plan.waves, ToInt(row[4], "plan waves"));
  plan.options = row[5].value_or("");
  plan.document = row[6].value_or("");
  return plan;
}

}  // namespace

Status SqlStore::CreateApiKey(const ApiKeyRecord& key, std::string_view actor) {
  if (key.id.empty() || key.name.empty() || key.salt.empty() || key.secret_hash.empty() ||
      actor.empty()) {
    return InvalidArgument(
        "store {}: an API key needs an id, a name, a salt, a hash and an actor (got id '{}', "
        "name '{}')",
        location_, key.id, key.name);
  }
  if (key.role != "viewer" && key.role != "operator" && key.role != "admin") {
    return InvalidArgument("store {}: API key `{}`: role `{}`: expected admin, operator or viewer",
                           location_, key.name, key.role);
  }
  Result<int> created = InTransaction<int>([&](SqlConnection& conn) -> Result<int> {
    const SqlParam by_name[] = {key.name};
    FERRY_ASSIGN_OR_RETURN(
        auto named,
        conn.Query("SELECT id FROM ferry_api_keys WHERE name = ? AND revoked_at = 0", by_name));
    if (!named.empty()) {
      return Err(AlreadyExists(
          "store {}: an API key named `{}` is in force already (id {}); revoke it first (`ferry "
          "api-key revoke {}`), or choose another name",
          location_, key.name, named[0][0].value_or(""), named[0][0].value_or("")));
    }
    const SqlParam by_id[] = {key.id};
    FERRY_ASSIGN_OR_RETURN(auto same_id,
                           conn.Query("SELECT 1 FROM ferry_api_keys WHERE id = ?", by_id));
    if (!same_id.empty()) {
      return Err(AlreadyExists("store {}: an API key with id {} exists already; make a new id",
                               location_, key.id));
    }
    FERRY_ASSIGN_OR_RETURN(
        Event event, AppendEventIn(conn, {.actor = std::string(actor),
                                          .kind = "api-key.created",
                                          .payload = Json{{"id", key.id},
                                                          {"name", key.name},
                                                          {"role", key.role},
                                                          {"expires_at", key.expires_micros}}}));
    const SqlParam params[] = {key.id,          key.name,          key.role,
                               key.salt,        key.secret_hash,   key.created_by,
                               event.at_micros, key.expires_micros};
    FERRY_ASSIGN_OR_RETURN(
        auto rows, conn.Query(fmt::format("INSERT INTO ferry_api_keys ({}) VALUES (?, ?, ?, ?, "
                                          "?, ?, ?, ?, 0)",
                                          kApiKeyColumns),
                              params));
    return 1;
  });
  if (!created.has_value()) return created.error();
  metrics_.events_appended.Increment();
  return OkStatus();
}

Result<std::optional<ApiKeyRecord>> SqlStore::GetApiKey(std::string_view id) {
  return WithConnection<std::optional<ApiKeyRecord>>(
      [&](SqlConnection& conn) -> Result<std::optional<ApiKeyRecord>> {
        const SqlParam key[] = {std::string(id)};
        FERRY_ASSIGN_OR_RETURN(
            auto rows,
            conn.Query(fmt::format("SELECT {} FROM ferry_api_keys WHERE id = ?", kApiKeyColumns),
                       key));
        if (rows.empty()) return std::optional<ApiKeyRecord>();
        FERRY_ASSIGN_OR_RETURN(ApiKeyRecord record, ApiKeyFromRow(rows[0]));
        return std::optional<ApiKeyRecord>(std::move(record));
      });
}

Result<std::vector<ApiKeyRecord>> SqlStore::ListApiKeys() {
  return WithConnection<std::vector<ApiKeyRecord>>(
      [&](SqlConnection& conn) -> Result<std::vector<ApiKeyRecord>> {
        FERRY_ASSIGN_OR_RETURN(auto rows,
                               conn.Query(fmt::format("SELECT {} FROM ferry_api_keys ORDER BY "
                                                      "created_at, id",
                                                      kApiKeyColumns)));
        std::vector<ApiKeyRecord> keys;
        keys.reserve(rows.size());
        for (const SqlRow& row : rows) {
          FERRY_ASSIGN_OR_RETURN(ApiKeyRecord key, ApiKeyFromRow(row));
          keys.push_back(std::move(key));
        }
        return keys;
      });
}

Result<ApiKeyRecord> SqlStore::RevokeApiKey(std::string_view id, std::string_view actor) {
  if (actor.empty()) {
    return Err(InvalidArgument("store {}: revoking an API key needs an actor", location_));
  }
  bool evented = false;
  Result<ApiKeyRecord> revoked =
      InTransaction<ApiKeyRecord>([&](SqlConnection& conn) -> Result<ApiKeyRecord> {
        evented = false;
        const SqlParam key[] = {std::string(id)};
        FERRY_ASSIGN_OR_RETURN(
            auto rows,
            conn.Query(fmt::format("SELECT {} FROM ferry_api_keys WHERE id = ?", kApiKeyColumns),
                       key));
        if (rows.empty()) {
          return Err(
              NotFound("store {}: there is no API key with id {}; list them with `ferry "
                       "api-key list` (or GET /api/v1/keys)",
                       location_, id));
        }
        FERRY_ASSIGN_OR_RETURN(ApiKeyRecord record, ApiKeyFromRow(rows[0]));
        if (record.revoked_micros != 0) return record;
        FERRY_ASSIGN_OR_RETURN(
            Event event,
            AppendEventIn(conn, {.actor = std::string(actor),
                                 .kind = "api-key.revoked",
                                 .payload = Json{{"id", record.id}, {"name", record.name}}}));
        const SqlParam params[] = {event.at_micros, record.id};
        FERRY_ASSIGN_OR_RETURN(
            rows, conn.Query("UPDATE ferry_api_keys SET revoked_at = ? WHERE id = ?", params));
        FERRY_ASSIGN_OR_RETURN(rows,
                               conn.Query("DELETE FROM ferry_api_sessions WHERE key_id = ?", key));
        record.revoked_micros = event.at_micros;
        evented = true;
        return record;
      });
  if (revoked.has_value() && evented) metrics_.events_appended.Increment();
  return revoked;
}

Status SqlStore::CreateApiSession(const ApiSessionRecord& session, std::string_view actor) {
  if (session.id.empty() || session.key_id.empty() || session.salt.empty() ||
      session.secret_hash.empty() || actor.empty()) {
    return InvalidArgument(
        "store {}: a session needs an id, a key, a salt, a hash and an actor (got id '{}')",
        location_, session.id);
  }
  Result<int> created = InTransaction<int>([&](SqlConnection& conn) -> Result<int> {
    FERRY_ASSIGN_OR_RETURN(
        auto expired, conn.Query("DELETE FROM ferry_api_sessions WHERE expires_at < ferry_now()"));
    const SqlParam key[] = {session.key_id};
    FERRY_ASSIGN_OR_RETURN(auto exists,
                           conn.Query("SELECT 1 FROM ferry_api_keys WHERE id = ?", key));
    if (exists.empty()) {
      return Err(NotFound("store {}: there is no API key with id {} to open a session for",
                          location_, session.key_id));
    }
    FERRY_ASSIGN_OR_RETURN(
        Event event,
        AppendEventIn(conn, {.actor = std::string(actor),
                             .kind = "api-session.created",
                             .payload = Json{{"id", session.id},
                                             {"key_id", session.key_id},
                                             {"expires_at", session.expires_micros}}}));
    const SqlParam params[] = {session.id,          session.key_id,  session.salt,
                               session.secret_hash, event.at_micros, session.expires_micros};
    FERRY_ASSIGN_OR_RETURN(
        auto rows, conn.Query(fmt::format("INSERT INTO ferry_api_sessions ({}) VALUES (?, ?, ?, "
                                          "?, ?, ?)",
                                          kSessionColumns),
                              params));
    return 1;
  });
  if (!created.has_value()) return created.error();
  metrics_.events_appended.Increment();
  return OkStatus();
}

Result<std::optional<ApiSessionRecord>> SqlStore::GetApiSession(std::string_view id) {
  return WithConnection<std::optional<ApiSessionRecord>>(
      [&](SqlConnection& conn) -> Result<std::optional<ApiSessionRecord>> {
        const SqlParam key[] = {std::string(id)};
        FERRY_ASSIGN_OR_RETURN(
            auto rows, conn.Query(fmt::format("SELECT {} FROM ferry_api_sessions WHERE id = ?",
                                              kSessionColumns),
                                  key));
        if (rows.empty()) return std::optional<ApiSessionRecord>();
        FERRY_ASSIGN_OR_RETURN(ApiSessionRecord session, SessionFromRow(rows[0]));
        return std::optional<ApiSessionRecord>(std::move(session));
      });
}

Status SqlStore::CreateProject(const ProjectRecord& project, std::string_view actor) {
  if (project.name.empty() || actor.empty()) {
    return InvalidArgument("store {}: a project needs a name and an actor", location_);
  }
  Result<int> created = InTransaction<int>([&](SqlConnection& conn) -> Result<int> {
    const SqlParam key[] = {project.name};
    FERRY_ASSIGN_OR_RETURN(auto exists,
                           conn.Query("SELECT 1 FROM ferry_projects WHERE name = ?", key));
    if (!exists.empty()) {
      return Err(AlreadyExists("store {}: project `{}` exists already; choose another name",
                               location_, project.name));
    }
    FERRY_ASSIGN_OR_RETURN(
        Event event, AppendEventIn(conn, {.actor = std::string(actor),
                                          .kind = "project.created",
                                          .payload = Json{{"name", project.name},
                                                          {"description", project.description}}}));
    const SqlParam params[] = {project.name, project.description, std::string(actor),
                               event.at_micros};
    FERRY_ASSIGN_OR_RETURN(
        auto rows, conn.Query(fmt::format("INSERT INTO ferry_projects ({}) VALUES (?, ?, ?, ?)",
                                          kProjectColumns),
                              params));
    return 1;
  });
  if (!created.has_value()) return created.error();
  metrics_.events_appended.Increment();
  return OkStatus();
}

Result<std::optional<ProjectRecord>> SqlStore::GetProject(std::string_view name) {
  return WithConnection<std::optional<ProjectRecord>>(
      [&](SqlConnection& conn) -> Result<std::optional<ProjectRecord>> {
        const SqlParam key[] = {std::string(name)};
        FERRY_ASSIGN_OR_RETURN(
            auto rows,
            conn.Query(fmt::format("SELECT {} FROM ferry_projects WHERE name = ?", kProjectColumns),
                       key));
        if (rows.empty()) return std::optional<ProjectRecord>();
        FERRY_ASSIGN_OR_RETURN(ProjectRecord project, ProjectFromRow(rows[0]));
        return std::optional<ProjectRecord>(std::move(project));
      });
}

Result<std::vector<ProjectRecord>> SqlStore::ListProjects() {
  return WithConnection<std::vector<ProjectRecord>>(
      [&](SqlConnection& conn) -> Result<std::vector<ProjectRecord>> {
        FERRY_ASSIGN_OR_RETURN(auto rows,
                               conn.Query(fmt::format("SELECT {} FROM ferry_projects ORDER BY name",
                                                      kProjectColumns)));
        std::vector<ProjectRecord> projects;
        projects.reserve(rows.size());
        for (const SqlRow& row : rows) {
          FERRY_ASSIGN_OR_RETURN(ProjectRecord project, ProjectFromRow(row));
          projects.push_back(std::move(project));
        }
        return projects;
      });
}

Status SqlStore::SavePlan(const PlanRecord& plan, std::string_view actor) {
  if (plan.id.empty() || plan.document.empty() || actor.empty()) {
    return InvalidArgument("store {}: a plan needs an id, a document and an actor (got id '{}')",
                           location_, plan.id);
  }
  Result<int> saved = InTransaction<int>([&](SqlConnection& conn) -> Result<int> {
    const SqlParam key[] = {plan.id};
    FERRY_ASSIGN_OR_RETURN(auto exists, conn.Query("SELECT 1 FROM ferry_plans WHERE id = ?", key));
    if (!exists.empty()) {
      return Err(
          AlreadyExists("store {}: plan {} exists already; make a new id", location_, plan.id));
    }
    Json options = Json::object();
    if (!plan.options.empty()) {
      FERRY_ASSIGN_OR_RETURN(options, ParseJson(plan.options, "plan options"));
    }
    FERRY_ASSIGN_OR_RETURN(
        Event event, AppendEventIn(conn, {.actor = std::string(actor),
                                          .kind = "plan.created",
                                          .payload = Json{{"id", plan.id},
                                                          {"hosts", plan.hosts},
                                                          {"waves", plan.waves},
                                                          {"options", options},
                                                          {"bytes", plan.document.size()},
                                                          {"sha256", Sha256Hex(plan.document)}}}));
    const SqlParam params[] = {plan.id,         std::string(actor),
                               event.at_micros, plan.hosts,
                               plan.waves,      plan.options.empty() ? "{}" : plan.options,
                               plan.document};
    FERRY_ASSIGN_OR_RETURN(
        auto rows, conn.Query(fmt::format("INSERT INTO ferry_plans ({}) VALUES (?, ?, ?, ?, ?, "
                                          "?, ?)",
                                          kPlanColumns),
                              params));
    return 1;
  });
  if (!saved.has_value()) return saved.error();
  metrics_.events_appended.Increment();
  return OkStatus();
}

Result<std::optional<PlanRecord>> SqlStore::GetPlan(std::string_view id) {
  return WithConnection<std::optional<PlanRecord>>(
      [&](SqlConnection& conn) -> Result<std::optional<PlanRecord>> {
        const SqlParam key[] = {std::string(id)};
        FERRY_ASSIGN_OR_RETURN(
            auto rows,
            conn.Query(fmt::format("SELECT {} FROM ferry_plans WHERE id = ?", kPlanColumns), key));
        if (rows.empty()) return std::optional<PlanRecord>();
        FERRY_ASSIGN_OR_RETURN(PlanRecord plan, PlanFromRow(rows[0]));
        return std::optional<PlanRecord>(std::move(plan));
      });
}

Result<std::vector<PlanRecord>> SqlStore::ListPlans(int limit) {
  return WithConnection<std::vector<PlanRecord>>(
      [&](SqlConnection& conn) -> Result<std::vector<PlanRecord>> {
        std::vector<SqlParam> params;
        std::string sql =
            "SELECT id, created_by, created_at, hosts, waves, options, '' FROM ferry_plans ORDER "
            "BY created_at DESC, id DESC";
        if (limit > 0) {
          sql += " LIMIT ?";
          params.emplace_back(int64_t{limit});
        }
        FERRY_ASSIGN_OR_RETURN(auto rows, conn.Query(sql, params));
        std::vector<PlanRecord> plans;
        plans.reserve(rows.size());
        for (const SqlRow& row : rows) {
          FERRY_ASSIGN_OR_RETURN(PlanRecord plan, PlanFromRow(row));
          plans.push_back(std::move(plan));
        }
        return plans;
      });
}

Result<int64_t> SqlStore::LastEventSeq() {
  return WithConnection<int64_t>([&](SqlConnection& conn) -> Result<int64_t> {
    FERRY_ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT seq FROM ferry_event_head WHERE id = 1"));
    if (rows.empty()) {
      return Err(DataLoss(
          "store {}: the event log head is missing; the store was tampered with; run `ferry "
          "store verify-log` and restore from a backup",
          location_));
    }
    return ToInt(rows[0][0], "event head seq");
  });
}

// ---------------------------------------------------------------------------------------------
// Event log

Result<Event> SqlStore::AppendEvent(const EventSpec& spec) {
  if (spec.kind.empty() || spec.actor.empty()) {
    return Err(
        InvalidArgument("store {}: an event needs a kind and an actor (got kind '{}', "
                        "actor '{}')",
                        location_, spec.kind, spec.actor));
  }
  Result<Event> appended = InTransaction<Event>(
      [&](SqlConnection& conn) -> Result<Event> { return AppendEventIn(conn, spec); });
  if (appended.has_value()) metrics_.events_appended.Increment();
  return appended;
}

Result<Event> SqlStore::AppendEventIn(SqlConnection& conn, const EventSpec& spec) {
  // Reading the head under a row lock serialises appenders across processes and machines.
  FERRY_ASSIGN_OR_RETURN(
      auto head, conn.Query(fmt::format("SELECT seq, hash, ferry_now() FROM ferry_event_head "
                                        "WHERE id = 1{}",
                                        dialect_.for_update)));
  if (head.empty()) {
    return Err(
        DataLoss("store {}: the event log head is missing; the store was tampered "
                 "with; run `ferry store verify-log` and restore from a backup",
                 location_));
  }
  Event event;
  FERRY_ASSIGN_OR_RETURN(int64_t head_seq, ToInt(head[0][0], "event head seq"));
  event.seq = head_seq + 1;
  event.prev_hash = head[0][1].value_or("");
  FERRY_ASSIGN_OR_RETURN(event.at_micros, ToInt(head[0][2], "clock"));
  event.run_id = spec.run_id;
  event.actor = spec.actor;
  event.kind = spec.kind;
  event.payload = CanonicalJson(spec.payload);
  event.hash = EventHash(event);
  const SqlParam insert[] = {event.seq,  event.at_micros, event.run_id,    event.actor,
                             event.kind, event.payload,   event.prev_hash, event.hash};
  FERRY_ASSIGN_OR_RETURN(
      auto rows, conn.Query(fmt::format("INSERT INTO ferry_events ({}) VALUES (?, ?, ?, ?, ?, "
                                        "?, ?, ?)",
                                        kEventColumns),
                            insert));
  const SqlParam update[] = {event.seq, event.hash};
  FERRY_ASSIGN_OR_RETURN(
      rows, conn.Query("UPDATE ferry_event_head SET seq = ?, hash = ? WHERE id = 1", update));
  return event;
}

Result<std::vector<Event>> SqlStore::ReadEvents(int64_t after_seq, int limit,
                                                std::string_view run_id) {
  return WithConnection<std::vector<Event>>([&](SqlConnection& conn) -> Result<std::vector<Event>> {
    std::vector<SqlParam> params = {after_seq};
    std::string sql = fmt::format("SELECT {} FROM ferry_events WHERE seq > ?", kEventColumns);
    if (!run_id.empty()) {
      sql += " AND run_id = ?";
      params.emplace_back(std::string(run_id));
    }
    sql += " ORDER BY seq LIMIT ?";
    params.emplace_back(int64_t{std::max(0, limit)});
    FERRY_ASSIGN_OR_RETURN(auto rows, conn.Query(sql, params));
    std::vector<Event> events;
    events.reserve(rows.size());
    for (const SqlRow& row : rows) {
      FERRY_ASSIGN_OR_RETURN(Event event, EventFromRow(row));
      events.push_back(std::move(event));
    }
    return events;
  });
}

Result<EventLogReport> SqlStore::VerifyEventLog(std::string_view expected_head) {
  return WithConnection<EventLogReport>([&](SqlConnection& conn) -> Result<EventLogReport> {
    // Every read below sees one snapshot, so events appended meanwhile by other processes are
    // neither half-seen nor mistaken for events written beside the append path.
    FERRY_RETURN_IF_ERROR(conn.BeginRead());
    Result<EventLogReport> report = VerifyEventLogIn(conn, expected_head);
    conn.Rollback().IgnoreError();  // read-only: nothing to keep
    return report;
  });
}

Result<EventLogReport> SqlStore::VerifyEventLogIn(SqlConnection& conn,
                                                  std::string_view expected_head) {
  {
    FERRY_ASSIGN_OR_RETURN(auto head,
                           conn.Query("SELECT seq, hash FROM ferry_event_head WHERE id = 1"));
    EventChainVerifier verifier;
    if (!expected_head.empty()) verifier.ExpectAnchor(expected_head);
    int64_t head_seq = -1;
    std::string head_hash;
    if (!head.empty()) {
      FERRY_ASSIGN_OR_RETURN(head_seq, ToInt(head[0][0], "event head seq"));
      head_hash = head[0][1].value_or("");
    }
    // Page by position (OFFSET-free keyset on rowid order): a deleted or renumbered event must
    // not hide the rows after it.
    constexpr int kPage = 2000;
    int64_t after = std::numeric_limits<int64_t>::min();
    for (;;) {
      const SqlParam params[] = {
          after, head_seq < 0 ? std::numeric_limits<int64_t>::max() : head_seq, int64_t{kPage}};
      FERRY_ASSIGN_OR_RETURN(
          auto rows,
          conn.Query(fmt::format("SELECT {} FROM ferry_events WHERE seq > ? AND seq <= ? "
                                 "ORDER BY seq LIMIT ?",
                                 kEventColumns),
                     params));
      for (const SqlRow& row : rows) {
        FERRY_ASSIGN_OR_RETURN(Event event, EventFromRow(row));
        verifier.Add(event);
        after = event.seq;
      }
      if (static_cast<int>(rows.size()) < kPage) break;
    }
    if (head.empty()) {
      verifier.MissingHead();
    } else {
      verifier.CheckHead(head_seq, head_hash);
    }
    // Events beyond the head were written without moving it: a forged append.
    const SqlParam beyond[] = {std::max<int64_t>(head_seq, 0)};
    FERRY_ASSIGN_OR_RETURN(auto extra,
                           conn.Query("SELECT COUNT(*) FROM ferry_events WHERE seq > ?", beyond));
    FERRY_ASSIGN_OR_RETURN(int64_t extra_count, ToInt(extra.at(0).at(0), "event count"));
    if (extra_count > 0 && !head.empty()) verifier.ExtraAfterHead(head_seq, extra_count);
    return verifier.Finish();
  }
}

// ---------------------------------------------------------------------------------------------
// Keyring

namespace {

constexpr std::string_view kSecretColumns =
    "name, version, purpose, dek_version, sealed, created_at, updated_at";

Result<SecretRecord> SecretFromRow(const SqlRow& row) {
  SecretRecord secret;
  secret.name = row[0].value_or("");
  FERRY_ASSIGN_OR_RETURN(secret.version, ToInt(row[1], "secret version"));
  secret.purpose = row[2].value_or("");
  FERRY_ASSIGN_OR_RETURN(secret.dek_version, ToInt(row[3], "secret dek_version"));
  secret.sealed = row[4].value_or("");
  FERRY_ASSIGN_OR_RETURN(secret.created_micros, ToInt(row[5], "secret created_at"));
  FERRY_ASSIGN_OR_RETURN(secret.updated_micros, ToInt(row[6], "secret updated_at"));
  return secret;
}

// The version of secret `name` as committed (0: none), inside the caller's transaction.
Result<int64_t> SecretVersionIn(SqlConnection& conn, const std::string& name) {
  const SqlParam key[] = {name};
  FERRY_ASSIGN_OR_RETURN(auto rows,
                         conn.Query("SELECT version FROM ferry_secrets WHERE name = ?", key));
  if (rows.empty()) return int64_t{0};
  return ToInt(rows[0][0], "secret version");
}

}  // namespace

Result<KeyringRows> SqlStore::ReadKeyring() {
  return WithConnection<KeyringRows>([&](SqlConnection& conn) -> Result<KeyringRows> {
    // One snapshot: a rotation committing meanwhile is seen whole or not at all.
    FERRY_RETURN_IF_ERROR(conn.BeginRead());
    auto read = [&]() -> Result<KeyringRows> {
      KeyringRows rows;
      FERRY_ASSIGN_OR_RETURN(
          auto keks,
          conn.Query("SELECT version, state, backend, locator, created_at, "
                     "retired_at, destroyed_at FROM ferry_keyring_keks ORDER BY version"));
      for (const SqlRow& row : keks) {
        KekRecord kek;
        FERRY_ASSIGN_OR_RETURN(kek.version, ToInt(row[0], "kek version"));
        kek.state = row[1].value_or("");
        kek.backend = row[2].value_or("");
        kek.locator = row[3].value_or("");
        FERRY_ASSIGN_OR_RETURN(kek.created_micros, ToInt(row[4], "kek created_at"));
        FERRY_ASSIGN_OR_RETURN(kek.retired_micros, ToInt(row[5], "kek retired_at"));
        FERRY_ASSIGN_OR_RETURN(kek.destroyed_micros, ToInt(row[6], "kek destroyed_at"));
        rows.keks.push_back(std::move(kek));
      }
      FERRY_ASSIGN_OR_RETURN(
          auto deks, conn.Query("SELECT purpose, version, state, created_at, retired_at, "
                                "destroyed_at FROM ferry_keyring_deks ORDER BY purpose, version"));
      for (const SqlRow& row : deks) {
        DekRecord dek;
        dek.purpose = row[0].value_or("");
        FERRY_ASSIGN_OR_RETURN(dek.version, ToInt(row[1], "dek version"));
        dek.state = row[2].value_or("");
        FERRY_ASSIGN_OR_RETURN(dek.created_micros, ToInt(row[3], "dek created_at"));
        FERRY_ASSIGN_OR_RETURN(dek.retired_micros, ToInt(row[4], "dek retired_at"));
        FERRY_ASSIGN_OR_RETURN(dek.destroyed_micros, ToInt(row[5], "dek destroyed_at"));
        rows.deks.push_back(std::move(dek));
      }
      FERRY_ASSIGN_OR_RETURN(
          auto wraps,
          conn.Query("SELECT purpose, dek_version, kek_version, wrapped, created_at FROM "
                     "ferry_keyring_wraps ORDER BY purpose, dek_version, kek_version"));
      for (const SqlRow& row : wraps) {
        DekWrapRecord wrap;
        wrap.purpose = row[0].value_or("");
        FERRY_ASSIGN_OR_RETURN(wrap.dek_version, ToInt(row[1], "wrap dek_version"));
        FERRY_ASSIGN_OR_RETURN(wrap.kek_version, ToInt(row[2], "wrap kek_version"));
        wrap.wrapped = row[3].value_or("");
        FERRY_ASSIGN_OR_RETURN(wrap.created_micros, ToInt(row[4], "wrap created_at"));
        rows.wraps.push_back(std::move(wrap));
      }
      FERRY_ASSIGN_OR_RETURN(
          auto policies,
          conn.Query("SELECT key_name, policy, updated_at FROM ferry_key_policies ORDER BY "
                     "key_name"));
      for (const SqlRow& row : policies) {
        KeyPolicyRecord policy;
        policy.key = row[0].value_or("");
        policy.policy = row[1].value_or("");
        FERRY_ASSIGN_OR_RETURN(policy.updated_micros, ToInt(row[2], "policy updated_at"));
        rows.policies.push_back(std::move(policy));
      }
      return rows;
    };
    Result<KeyringRows> rows = read();
    conn.Rollback().IgnoreError();  // read-only: nothing to keep
    return rows;
  });
}

Status SqlStore::WriteKeyring(const KeyringWrite& write) {
  for (const EventSpec& event : write.events) {
    if (event.kind.empty() || event.actor.empty()) {
      return InvalidArgument("store {}: a keyring event needs a kind and an actor (got kind '{}')",
                             location_, event.kind);
    }
  }
  Result<int> done = InTransaction<int>([&](SqlConnection& conn) -> Result<int> {
    for (const KekRecord& kek : write.new_keks) {
      const SqlParam key[] = {kek.version};
      FERRY_ASSIGN_OR_RETURN(
          auto rows, conn.Query("SELECT state FROM ferry_keyring_keks WHERE version = ?", key));
      if (!rows.empty()) {
        return Err(AlreadyExists(
            "store {}: KEK v{} exists already ({}): another process made it meanwhile; run the "
            "rotation again, which finishes that one",
            location_, kek.version, rows[0][0].value_or("")));
      }
    }
    for (const DekRecord& dek : write.new_deks) {
      const SqlParam key[] = {dek.purpose, dek.version};
      FERRY_ASSIGN_OR_RETURN(
          auto rows,
          conn.Query("SELECT state FROM ferry_keyring_deks WHERE purpose = ? AND version = ?",
                     key));
      if (!rows.empty()) {
        return Err(AlreadyExists(
            "store {}: data key {} v{} exists already ({}): another process made it meanwhile; "
            "run the rotation again, which finishes that one",
            location_, dek.purpose, dek.version, rows[0][0].value_or("")));
      }
    }
    std::vector<KekRecord> keks = write.new_keks;
    keks.insert(keks.end(), write.keks.begin(), write.keks.end());
    std::vector<DekRecord> deks = write.new_deks;
    deks.insert(deks.end(), write.deks.begin(), write.deks.end());
    for (const KekRecord& kek : keks) {
      const SqlParam params[] = {kek.version,         kek.state,          kek.backend,
                                 kek.locator,         kek.created_micros, kek.retired_micros,
                                 kek.destroyed_micros};
      FERRY_ASSIGN_OR_RETURN(
          auto rows,
          conn.Query("INSERT INTO ferry_keyring_keks (version, state, backend, locator, "
                     "created_at, retired_at, destroyed_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON "
                     "CONFLICT (version) DO UPDATE SET state = excluded.state, backend = "
                     "excluded.backend, locator = excluded.locator, created_at = "
                     "excluded.created_at, retired_at = excluded.retired_at, destroyed_at = "
                     "excluded.destroyed_at",
                     params));
    }
    for (const DekRecord& dek : deks) {
      const SqlParam params[] = {dek.purpose,        dek.version,        dek.state,
                                 dek.created_micros, dek.retired_micros, dek.destroyed_micros};
      FERRY_ASSIGN_OR_RETURN(
          auto rows,
          conn.Query("INSERT INTO ferry_keyring_deks (purpose, version, state, created_at, "
                     "retired_at, destroyed_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (purpose, "
                     "version) DO UPDATE SET state = excluded.state, created_at = "
                     "excluded.created_at, retired_at = excluded.retired_at, destroyed_at = "
                     "excluded.destroyed_at",
                     params));
    }
    for (const DekWrapRecord& wrap : write.wraps) {
      const SqlParam params[] = {wrap.purpose, wrap.dek_version, wrap.kek_version, wrap.wrapped,
                                 wrap.created_micros};
      FERRY_ASSIGN_OR_RETURN(
          auto rows,
          conn.Query("INSERT INTO ferry_keyring_wraps (purpose, dek_version, kek_version, "
                     "wrapped, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (purpose, "
                     "dek_version, kek_version) DO UPDATE SET wrapped = excluded.wrapped, "
                     "created_at = excluded.created_at",
                     params));
    }
    for (const DekWrapRecord& wrap : write.removed_wraps) {
      const SqlParam params[] = {wrap.purpose, wrap.dek_version, wrap.kek_version};
      FERRY_ASSIGN_OR_RETURN(auto rows, conn.Query("DELETE FROM ferry_keyring_wraps WHERE purpose "
                                                   "= ? AND dek_version = ? AND kek_version = ?",
                                                   params));
    }
    for (const KeyringWrite::SecretPut& put : write.secrets) {
      FERRY_ASSIGN_OR_RETURN(int64_t current, SecretVersionIn(conn, put.secret.name));
      if (current != put.expected_version) {
        return Err(Aborted(
            "store {}: secret `{}` is at version {}, not {} as read: another writer changed it "
            "meanwhile; read it again and retry",
            location_, put.secret.name, current, put.expected_version));
      }
      const SqlParam params[] = {put.secret.name,          put.secret.version,
                                 put.secret.purpose,       put.secret.dek_version,
                                 put.secret.sealed,        put.secret.created_micros,
                                 put.secret.updated_micros};
      FERRY_ASSIGN_OR_RETURN(
          auto rows,
          conn.Query(fmt::format("INSERT INTO ferry_secrets ({}) VALUES (?, ?, ?, ?, ?, ?, ?) ON "
                                 "CONFLICT (name) DO UPDATE SET version = excluded.version, "
                                 "purpose = excluded.purpose, dek_version = "
                                 "excluded.dek_version, sealed = excluded.sealed, created_at = "
                                 "excluded.created_at, updated_at = excluded.updated_at",
                                 kSecretColumns),
                     params));
    }
    for (const auto& [name, expected] : write.removed_secrets) {
      FERRY_ASSIGN_OR_RETURN(int64_t current, SecretVersionIn(conn, name));
      if (current != expected) {
        return Err(Aborted(
            "store {}: secret `{}` is at version {}, not {} as read: another writer changed it "
            "meanwhile; read it again and retry",
            location_, name, current, expected));
      }
      const SqlParam key[] = {name};
      FERRY_ASSIGN_OR_RETURN(auto rows,
                             conn.Query("DELETE FROM ferry_secrets WHERE name = ?", key));
    }
    for (const KeyPolicyRecord& policy : write.policies) {
      const SqlParam params[] = {policy.key, policy.policy, policy.updated_micros};
      FERRY_ASSIGN_OR_RETURN(
          auto rows,
          conn.Query("INSERT INTO ferry_key_policies (key_name, policy, updated_at) VALUES (?, ?, "
                     "?) ON CONFLICT (key_name) DO UPDATE SET policy = excluded.policy, "
                     "updated_at = excluded.updated_at",
                     params));
    }
    for (const EventSpec& event : write.events) {
      FERRY_ASSIGN_OR_RETURN(Event appended, AppendEventIn(conn, event));
    }
    return 0;
  });
  if (!done.has_value()) return done.error();
  metrics_.events_appended.Increment(static_cast<double>(write.events.size()));
  return OkStatus();
}

Result<std::optional<SecretRecord>> SqlStore::GetSecret(std::string_view name) {
  return WithConnection<std::optional<SecretRecord>>(
      [&](SqlConnection& conn) -> Result<std::optional<SecretRecord>> {
        const SqlParam key[] = {std::string(name)};
        FERRY_ASSIGN_OR_RETURN(
            auto rows,
            conn.Query(fmt::format("SELECT {} FROM ferry_secrets WHERE name = ?", kSecretColumns),
                       key));
        if (rows.empty()) return std::optional<SecretRecord>();
        FERRY_ASSIGN_OR_RETURN(SecretRecord secret, SecretFromRow(rows[0]));
        return std::optional<SecretRecord>(std::move(secret));
      });
}

Result<std::vector<SecretRecord>> SqlStore::ListSecrets(bool with_values) {
  return WithConnection<std::vector<SecretRecord>>(
      [&](SqlConnection& conn) -> Result<std::vector<SecretRecord>> {
        const std::string columns =
            with_values ? std::string(kSecretColumns)
                        : "name, version, purpose, dek_version, '', created_at, updated_at";
        FERRY_ASSIGN_OR_RETURN(
            auto rows,
            conn.Query(fmt::format("SELECT {} FROM ferry_secrets ORDER BY name", columns)));
        std::vector<SecretRecord> secrets;
        secrets.reserve(rows.size());
        for (const SqlRow& row : rows) {
          FERRY_ASSIGN_OR_RETURN(SecretRecord secret, SecretFromRow(row));
          secrets.push_back(std::move(secret));
        }
        return secrets;
      });
}

}  // namespace ferry::store_internal
