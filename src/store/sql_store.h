// Private to the store module: the one Store implementation, over SqlConnection. The two
// engines differ only in what SqlDialect says; everything else (the queue's state machine, the
// event chain, migrations) is written once.
#ifndef FERRY_STORE_SQL_STORE_H_
#define FERRY_STORE_SQL_STORE_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "store/migrations.h"
#include "store/sql_connection.h"
#include "store/store.h"

namespace ferry::store_internal {

struct SqlDialect {
  SqlEngine engine;
  std::string_view backend;      // "sqlite" | "postgresql"
  std::string_view skip_locked;  // appended to claim subqueries: "" or " FOR UPDATE SKIP LOCKED"
  std::string_view for_update;   // appended to the head read: "" or " FOR UPDATE"
  std::string_view migrations_table_exists;  // query returning one row with 1 or 0
  std::string_view other_tables_exist;       // query: 1 when the database holds non-ferry tables
  std::string_view migration_lock;           // statement run first in the migration transaction
  bool refuse_foreign_database;  // refuse to turn a database that holds other tables into a store
};

// Hands out connections, one thread at a time each, opening up to `max` lazily and discarding
// those that went bad. Thread-safe.
class ConnectionPool {
 public:
  using Factory = std::function<Result<std::unique_ptr<SqlConnection>>()>;
  ConnectionPool(Factory factory, int max);

  class Handle {
   public:
    Handle(ConnectionPool* pool, std::unique_ptr<SqlConnection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Handle(Handle&&) = default;
    ~Handle();
    SqlConnection* operator->() const { return conn_.get(); }
    SqlConnection& operator*() const { return *conn_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<SqlConnection> conn_;
  };

  Result<Handle> Acquire();

 private:
  void Release(std::unique_ptr<SqlConnection> conn);

  Factory factory_;
  const int max_;
  std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<SqlConnection>> idle_;  // GUARDED_BY(mu_)
  int open_ = 0;                                      // GUARDED_BY(mu_)
};

class SqlStore final : public Store {
 public:
  SqlStore(const SqlDialect& dialect, std::string location, ConnectionPool::Factory factory,
           int max_connections, Env* env);

  // Refuses stores from a newer ferry and foreign databases; migrates when asked.
  Status Initialize(bool migrate);

  std::string_view backend() const override { return dialect_.backend; }
  const std::string& location() const override { return location_; }

  Result<SchemaStatus> GetSchemaStatus() override;
  Result<int> Migrate() override;

  Result<int64_t> Enqueue(const TaskSpec& spec) override;
  Result<std::vector<int64_t>> EnqueueBatch(const std::vector<TaskSpec>& specs) override;
  Result<std::vector<Task>> Claim(std::string_view queue, const ClaimOptions& options) override;
  Status Heartbeat(const Task& task, int64_t extend_micros) override;
  Status Complete(const Task& task, std::string_view result) override;
  Status Fail(const Task& task, std::string_view error, int64_t retry_delay_micros) override;
  Status Complete(const Task& task, std::string_view result,
                  const std::vector<EventSpec>& events) override;
  Status Fail(const Task& task, std::string_view error, int64_t retry_delay_micros,
              const std::vector<EventSpec>& events, bool give_up) override;
  Result<int64_t> ReclaimExpired(std::string_view queue) override;
  Result<QueueStats> GetQueueStats(std::string_view queue) override;
  Result<Task> GetTask(int64_t id) override;
  Result<int64_t> ReleaseLeases(std::string_view queue, std::string_view owner) override;
  Result<int64_t> RetryFailed(std::string_view queue) override;
  Result<std::vector<Task>> ListTasks(std::string_view queue) override;

  Status CreateRun(const RunRecord& run) override;
  Result<RunRecord> GetRun(std::string_view id) override;
  Status UpdateRun(std::string_view id, std::string_view state, std::string_view result) override;
  Result<std::vector<RunRecord>> ListRuns(std::string_view kind, int limit) override;
  Result<std::vector<RunRecord>> FindRuns(std::string_view kind,
                                          std::string_view fingerprint) override;

  Result<int64_t> PutInventories(const std::vector<InventoryRecord>& inventories,
                                 std::string_view actor) override;
  Result<std::vector<InventoryRecord>> ListInventories(std::string_view after_name,
                                                       int limit) override;
  Result<std::optional<InventoryRecord>> GetInventory(std::string_view name) override;

  Status CreateApiKey(const ApiKeyRecord& key, std::string_view actor) override;
  Result<std::optional<ApiKeyRecord>> GetApiKey(std::string_view id) override;
  Result<std::vector<ApiKeyRecord>> ListApiKeys() override;
  Result<ApiKeyRecord> RevokeApiKey(std::string_view id, std::string_view actor) override;
  Status CreateApiSession(const ApiSessionRecord& session, std::string_view actor) override;
  Result<std::optional<ApiSessionRecord>> GetApiSession(std::string_view id) override;
  Status CreateProject(const ProjectRecord& project, std::string_view actor) override;
  Result<std::optional<ProjectRecord>> GetProject(std::string_view name) override;
  Result<std::vector<ProjectRecord>> ListProjects() override;
  Status SavePlan(const PlanRecord& plan, std::string_view actor) override;
  Result<std::optional<PlanRecord>> GetPlan(std::string_view id) override;
  Result<std::vector<PlanRecord>> ListPlans(int limit) override;

  Result<int64_t> LastEventSeq() override;
  Result<Event> AppendEvent(const EventSpec& spec) override;
  Result<std::vector<Event>> ReadEvents(int64_t after_seq, int limit,
                                        std::string_view run_id) override;
  Result<EventLogReport> VerifyEventLog(std::string_view expected_head) override;

  Result<KeyringRows> ReadKeyring() override;
  Status WriteKeyring(const KeyringWrite& write) override;
  Result<std::optional<SecretRecord>> GetSecret(std::string_view name) override;
  Result<std::vector<SecretRecord>> ListSecrets(bool with_values) override;

 private:
  // One guarded UPDATE each, on `conn` (inside a caller's transaction or not). CompleteIn returns
  // false when the task was already done under this lease (nothing changed).
  Result<bool> CompleteIn(SqlConnection& conn, const Task& task, std::string_view result);
  Result<bool> FailIn(SqlConnection& conn, const Task& task, std::string_view error,
                      int64_t retry_delay_micros, bool give_up = false);
  // Runs `body` in a write transaction on one connection; commits on success, rolls back on
  // error, and retries the whole transaction on a conflict with a concurrent one.
  template <typename T>
  Result<T> InTransaction(const std::function<Result<T>(SqlConnection&)>& body);
  // Runs `body` on one connection outside an explicit transaction.
  template <typename T>
  Result<T> WithConnection(const std::function<Result<T>(SqlConnection&)>& body);

  Result<int> CurrentVersion(SqlConnection& conn);
  // The refusal to touch a store whose schema `version` is newer than this ferry knows.
  Status NewerSchema(int version) const;
  Result<int64_t> InsertTask(SqlConnection& conn, const TaskSpec& spec);
  Result<int64_t> ReclaimIn(SqlConnection& conn, std::string_view queue);
  // Why a lease-guarded update matched no row: the task is gone or someone else's.
  Status LeaseLost(SqlConnection& conn, const Task& task, std::string_view action);
  // Appends one event inside the caller's transaction on `conn`, so that a state change and
  // its event are committed together or not at all.
  Result<Event> AppendEventIn(SqlConnection& conn, const EventSpec& spec);
  // VerifyEventLog's walk, inside the read snapshot it opened on `conn`.
  Result<EventLogReport> VerifyEventLogIn(SqlConnection& conn, std::string_view expected_head);

  // Counters in MetricsRegistry::Default(), labelled by backend; the server exposes them on
  // /metrics.
  struct Metrics {
    explicit Metrics(std::string_view backend);
    Counter& enqueued;
    Counter& claimed;
    Counter& completed;
    Counter& failed;
    Counter& leases_lost;
    Counter& leases_reclaimed;
    Counter& events_appended;
    Counter& transaction_retries;
  };

  const SqlDialect& dialect_;
  const std::string location_;
  Metrics metrics_;
  // The queue's hot statements, formatted once for the dialect.
  const std::string reclaim_sql_;
  const std::string claim_sql_;
  // When Claim next takes back expired leases before claiming (Env monotonic clock).
  std::atomic<int64_t> next_reclaim_micros_{0};
  Env* const env_;
  ConnectionPool pool_;
};

}  // namespace ferry::store_internal

#endif  // FERRY_STORE_SQL_STORE_H_
