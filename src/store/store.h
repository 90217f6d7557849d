// The state store: where a ferry run keeps everything that must survive a crash (tasks and
// their leases, the event log, runs, host inventories, and, as later modules land, plans).
//
// Two implementations behind this one interface, chosen by URL:
//   sqlite:///abs/path/ferry.db   the embedded default: one file, WAL journal, no server;
//   postgresql://user@host/db     several processes or machines sharing one run.
// Schema migrations are versioned and applied on Open (unless StoreOptions::migrate is false);
// a store written by a newer ferry is refused with kFailedPrecondition instead of being damaged.
//
// Thread-safety: a Store is safe to use from many threads at once. Several processes (and, for
// PostgreSQL, several machines) may open the same store; the work queue is designed for that.
#ifndef FERRY_STORE_STORE_H_
#define FERRY_STORE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/json.h"
#include "base/status.h"

namespace ferry {

struct StoreOptions {
  // Apply pending schema migrations on open. `ferry store status` opens with false so that
  // looking at a store never changes it.
  bool migrate = true;
  // SQLite: create the file when it does not exist. Commands that only look (status,
  // verify-log) set this to false so that a mistyped path is reported, not created.
  bool create_if_missing = true;
  // SQLite: how long a writer waits for another process holding the write lock before the
  // call fails with kUnavailable. Longer waits ride out bursts; shorter ones surface contention.
  int busy_timeout_ms = 30000;
  // PostgreSQL: connections kept open. More lets more threads of this process talk to the
  // server at once, at the cost of a backend process (about 10 MB) on the server each.
  int max_connections = 8;
  // Clock and files; tests inject a FaultInjectionEnv. Not owned; must outlive the store.
  Env* env = nullptr;  // nullptr: Env::Default()
};

// ---------------------------------------------------------------------------------------------
// Schema

struct SchemaStatus {
  std::string backend;               // "sqlite" or "postgresql"
  std::string location;              // the URL with any password replaced by ***
  int current_version = 0;           // 0: an empty store, nothing applied yet
  int latest_version = 0;            // the newest schema this ferry knows
  std::vector<std::string> pending;  // "2 add-run-tables", in order
};

// ---------------------------------------------------------------------------------------------
// Work queue: tasks are enqueued, claimed under a lease, heartbeaten, and completed or failed.
// A lease that is not renewed expires and its task becomes claimable again. Every claim gets a
// fresh lease token; Complete/Fail/Heartbeat with an outdated token fail with kAborted, so a
// worker that lost its lease (it stalled, the network dropped) can never complete a task that
// another worker now owns: each task completes exactly once.

enum class TaskState { kPending, kLeased, kDone, kFailed };
std::string_view TaskStateName(TaskState state);

struct TaskSpec {
  std::string queue;
  std::string kind;      // what to do, e.g. "copy-chunk"
  std::string payload;   // opaque to the store (JSON by convention)
  int max_attempts = 5;  // claims allowed before the task is marked failed for good
  int priority = 0;      // higher is claimed first; ties go in enqueue order
  // When set, enqueueing a second task with the same (queue, dedupe_key) returns the first
  // task's id instead of adding a duplicate: planning steps can be rerun after a crash.
  std::optional<std::string> dedupe_key;
  int64_t not_before_micros = 0;  // not claimable before this time (store clock)
};

struct Task {
  int64_t id = 0;
  std::string queue;
  std::string kind;
  std::string payload;
  TaskState state = TaskState::kPending;
  int attempts = 0;  // claims so far, including the current one
  int max_attempts = 0;
  int priority = 0;
  std::string lease_owner;
  int64_t lease_token = 0;  // the fencing token of the current lease
  int64_t lease_expires_micros = 0;
  std::string last_error;
  std::string result;
};

struct ClaimOptions {
  std::string worker;                 // recorded as lease_owner; shows who holds what
  int64_t lease_micros = 30'000'000;  // renew with Heartbeat before this runs out
  int max_tasks = 1;                  // claim up to this many in one round trip
};

struct QueueStats {
  int64_t pending = 0;
  int64_t leased = 0;  // includes leases that have expired but were not reclaimed yet
  int64_t done = 0;
  int64_t failed = 0;
  int64_t total() const { return pending + leased + done + failed; }
};

// ---------------------------------------------------------------------------------------------
// Event log: append-only; each event carries the SHA-256 of its content and of the previous
// event's hash, so any edit, deletion or reordering breaks the chain and VerifyEventLog finds it.

struct EventSpec {
  std::string run_id;  // empty for store-wide events
  std::string actor;   // who caused it: "cli:alice", "worker:host:123", "server"
  std::string kind;    // "task.completed", "run.approved", ...
  Json payload = Json::object();
};

struct Event {
  int64_t seq = 0;  // 1, 2, 3, ... without gaps
  int64_t at_micros = 0;
  std::string run_id;
  std::string actor;
  std::string kind;
  std::string payload;    // canonical JSON
  std::string prev_hash;  // hex; 64 zeros for the first event
  std::string hash;       // hex
};

struct EventLogReport {
  bool intact = true;
  int64_t events_checked = 0;
  std::string head_hash;              // hash of the last event (give it to an auditor as an anchor)
  int64_t first_bad_seq = 0;          // 0 when intact
  std::vector<std::string> problems;  // one line each, naming the event and what is wrong
};

// ---------------------------------------------------------------------------------------------
// Runs: one record per invocation of a long job (a copy; later a workflow run). Its tasks are in
// the work queue named by the job (a copy's chunks in queue "copy:<run id>").
struct RunRecord {
  std::string id;     // "copy-20261123-101500-ab12cd"; chosen by the caller, unique
  std::string kind;   // "copy"
  std::string state;  // the job's own vocabulary: "running", "succeeded", "failed"
  std::string
      fingerprint;     // what makes two invocations "the same command", to find a run to resume
  std::string spec;    // what was asked (JSON by convention; no secrets)
  std::string result;  // what came of it (JSON by convention)
  int64_t created_micros = 0;
  int64_t updated_micros = 0;
};

// ---------------------------------------------------------------------------------------------
// Inventories: the host inventories `ferry discover --save` took (docs/discover.md), one per
// host, which `ferry plan --from-store` plans from. The store does not parse the documents: the
// caller names the host and says what the document is.
struct InventoryRecord {
  // The key: the host's name as `ferry plan` names it (host.hostname, else host.external_id),
  // else a name the caller chooses. Saving another inventory under the same name replaces it.
  std::string name;
  std::string source_kind;     // how it was taken: "agent", "azure-migrate", "aws-migration-hub"
  int64_t taken_micros = 0;    // when it was taken (0: not known)
  std::string schema_version;  // the inventory's own schema_version, e.g. "1.0"
  std::string document;        // the inventory's JSON text, kept as given
  int64_t saved_micros = 0;    // when the store saved it (its clock); set by the store
};

// ---------------------------------------------------------------------------------------------
// Keyring: the rows of ferry's envelope encryption (src/keyring; docs/crypto.md "Keys and
// secrets"). The store holds no key and no value in clear: KEK rows say where a key-encryption
// key is kept (a file path, a token and object label), DEKs exist here only wrapped under a KEK
// version, and secrets only sealed under a DEK. The keyring module gives the rows their meaning;
// the store keeps them consistent with the event log (one transaction per KeyringWrite).

struct KekRecord {
  int64_t version = 0;  // 1, 2, ...
  std::string state;    // "pending" (being rotated in), "active", "retired", "destroyed"
  std::string backend;  // "file" or "pkcs11"
  std::string locator;  // JSON: where the key is (never the key itself)
  int64_t created_micros = 0;
  int64_t retired_micros = 0;    // 0: not retired
  int64_t destroyed_micros = 0;  // 0: not destroyed
};

struct DekRecord {
  std::string purpose;  // "secrets", ...
  int64_t version = 0;
  std::string state;  // as KekRecord::state
  int64_t created_micros = 0;
  int64_t retired_micros = 0;
  int64_t destroyed_micros = 0;
};

// One DEK version wrapped under one KEK version (the wrapping's bytes in lowercase hex).
struct DekWrapRecord {
  std::string purpose;
  int64_t dek_version = 0;
  int64_t kek_version = 0;
  std::string wrapped;
  int64_t created_micros = 0;
};

struct SecretRecord {
  std::string name;
  int64_t version = 0;  // 1 on the first put, +1 on each later put
  std::string purpose;  // the DEK's purpose and version it is sealed under
  int64_t dek_version = 0;
  std::string sealed;  // lowercase hex; empty in listings without values
  int64_t created_micros = 0;
  int64_t updated_micros = 0;
};

struct KeyPolicyRecord {
  std::string key;     // "kek", "dek:secrets", "dek:*"
  std::string policy;  // JSON
  int64_t updated_micros = 0;
};

// Every keyring row but the secrets.
struct KeyringRows {
  std::vector<KekRecord> keks;       // by version
  std::vector<DekRecord> deks;       // by purpose, version
  std::vector<DekWrapRecord> wraps;  // by purpose, dek version, kek version
  std::vector<KeyPolicyRecord> policies;
};

// Changes committed together with their events, all or nothing.
struct KeyringWrite {
  // New versions: kAlreadyExists, and nothing applied, when the version exists (another process
  // made it meanwhile), so that two rotations never both believe they made version N.
  std::vector<KekRecord> new_keks;
  std::vector<DekRecord> new_deks;
  std::vector<KekRecord> keks;               // inserted, or replacing the row of that version
  std::vector<DekRecord> deks;               // same, by (purpose, version)
  std::vector<DekWrapRecord> wraps;          // same, by (purpose, dek_version, kek_version)
  std::vector<DekWrapRecord> removed_wraps;  // by (purpose, dek_version, kek_version)
  // Secrets inserted or replaced. `expected_version` is the version the caller read (0: the name
  // must not exist): a secret changed meanwhile fails the whole write with kAborted, so two
  // writers never lose each other's value.
  struct SecretPut {
    SecretRecord secret;
    int64_t expected_version = 0;
  };
  std::vector<SecretPut> secrets;
  std::vector<std::pair<std::string, int64_t>> removed_secrets;  // name, expected version
  std::vector<KeyPolicyRecord> policies;                         // inserted or replaced by key
  std::vector<EventSpec> events;
};

// ---------------------------------------------------------------------------------------------
// The HTTP API's rows (src/server, docs/api.md): API keys, console sessions, projects, plans.
// The store keeps what it is given: the server makes the ids, salts and hashes. No secret is
// ever stored, only a salted hash of it; listings carry the hashes too, for the server to check.

struct ApiKeyRecord {
  std::string id;           // the key's public id, part of the token; unique, chosen by the caller
  std::string name;         // unique among the keys in force; events of the key name "key:<name>"
  std::string role;         // "viewer", "operator" or "admin"
  std::string salt;         // hex
  std::string secret_hash;  // hex
  std::string created_by;   // the actor that made it
  int64_t created_micros = 0;  // set by the store
  int64_t expires_micros = 0;  // 0: never
  int64_t revoked_micros = 0;  // 0: in force; set by RevokeApiKey
};

// A console session: a token of its own, standing for its key until it expires (and no longer
// than the key is in force: the server checks the key at each use).
struct ApiSessionRecord {
  std::string id;
  std::string key_id;
  std::string salt;
  std::string secret_hash;
  int64_t created_micros = 0;  // set by the store
  int64_t expires_micros = 0;
};

struct ProjectRecord {
  std::string name;  // unique
  std::string description;
  std::string created_by;
  int64_t created_micros = 0;  // set by the store
};

// A plan made from the store's inventories (`ferry plan --from-store --json`), kept whole.
struct PlanRecord {
  std::string id;  // unique, chosen by the caller
  std::string created_by;
  int64_t created_micros = 0;  // set by the store
  int64_t hosts = 0;
  int64_t waves = 0;
  std::string options;   // JSON: the options it was made with
  std::string document;  // the plan JSON; empty in listings
};

class Store {
 public:
  // Opens (and by default migrates) the store at `url`. Errors: kInvalidArgument for a URL
  // that is not understood; kUnavailable when the server cannot be reached or the file cannot
  // be opened; kFailedPrecondition when the store was written by a newer ferry or is not a
  // ferry store. Every message names the store (password redacted) and the way out.
  static Result<std::unique_ptr<Store>> Open(std::string_view url,
                                             const StoreOptions& options = {});

  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  virtual std::string_view backend() const = 0;
  // The URL with any password replaced by ***; safe to log.
  virtual const std::string& location() const = 0;

  // ---- Schema
  virtual Result<SchemaStatus> GetSchemaStatus() = 0;
  // Applies pending migrations; returns how many were applied. Safe against concurrent callers.
  virtual Result<int> Migrate() = 0;

  // ---- Work queue
  virtual Result<int64_t> Enqueue(const TaskSpec& spec) = 0;
  // All or nothing, in one transaction; ids in the order of `specs`.
  virtual Result<std::vector<int64_t>> EnqueueBatch(const std::vector<TaskSpec>& specs) = 0;
  // Claims up to options.max_tasks claimable tasks of `queue` (pending, not_before reached),
  // highest priority first. Expired leases of the queue are taken back as part of claiming: at
  // most once a second while pending tasks abound, and always before coming back short. Never
  // blocks on tasks another worker is claiming. Returns an empty vector when nothing is
  // claimable.
  virtual Result<std::vector<Task>> Claim(std::string_view queue, const ClaimOptions& options) = 0;
  // Extends the lease of `task` (as claimed) to now + extend_micros. kAborted if it was lost.
  virtual Status Heartbeat(const Task& task, int64_t extend_micros) = 0;
  // Marks `task` done with `result`. kAborted if the lease was lost (the task is someone else's).
  virtual Status Complete(const Task& task, std::string_view result) = 0;
  // Gives the task back with `error`: pending again after retry_delay_micros while attempts
  // remain, otherwise failed for good. kAborted if the lease was lost.
  virtual Status Fail(const Task& task, std::string_view error, int64_t retry_delay_micros) = 0;
  // Complete and Fail with `events` appended in the same transaction, all or nothing: a worker
  // that dies between the two leaves neither (the workflow engine's task.completed events).
  // `give_up`: failed for good now, whatever attempts remain (an error no retry can mend).
  virtual Status Complete(const Task& task, std::string_view result,
                          const std::vector<EventSpec>& events) = 0;
  virtual Status Fail(const Task& task, std::string_view error, int64_t retry_delay_micros,
                      const std::vector<EventSpec>& events, bool give_up = false) = 0;
  // Returns tasks whose lease expired to pending (or to failed when out of attempts); returns
  // how many. Claim does this too; exposed for supervisors and tests.
  virtual Result<int64_t> ReclaimExpired(std::string_view queue) = 0;
  virtual Result<QueueStats> GetQueueStats(std::string_view queue) = 0;
  virtual Result<Task> GetTask(int64_t id) = 0;

  // Gives back at once the leases `owner` holds in `queue`, for a supervisor that knows the
  // owner died (its process is gone): the tasks are pending again without waiting for the
  // leases to expire, and the interrupted claims do not count as attempts. Returns how many.
  virtual Result<int64_t> ReleaseLeases(std::string_view queue, std::string_view owner) = 0;
  // ReleaseLeases for every lease holder in `queue` that is a worker of this host whose process
  // is gone (WorkerProcessGone, base/ids.h). Returns each such holder with how many tasks it
  // gave back.
  Result<std::vector<std::pair<std::string, int64_t>>> ReleaseLeasesOfGoneWorkers(
      std::string_view queue);
  // Makes the failed tasks of `queue` pending again with their attempts reset, for a user who
  // fixed the cause and resumes. Returns how many.
  virtual Result<int64_t> RetryFailed(std::string_view queue) = 0;
  // Every task of `queue`, in id order (a run's chunks, to report on them).
  virtual Result<std::vector<Task>> ListTasks(std::string_view queue) = 0;

  // ---- Runs
  // kAlreadyExists when a run with this id exists.
  virtual Status CreateRun(const RunRecord& run) = 0;
  // kNotFound, naming the id and how to list runs, when there is none.
  virtual Result<RunRecord> GetRun(std::string_view id) = 0;
  virtual Status UpdateRun(std::string_view id, std::string_view state,
                           std::string_view result) = 0;
  // Runs of `kind` with `fingerprint`, newest first.
  virtual Result<std::vector<RunRecord>> FindRuns(std::string_view kind,
                                                  std::string_view fingerprint) = 0;
  // The newest `limit` runs of `kind`, newest first.
  virtual Result<std::vector<RunRecord>> ListRuns(std::string_view kind, int limit) = 0;

  // ---- Inventories
  // Saves `inventories` in one transaction (all or none). Each replaces the inventory saved
  // before under its name, if any: the latest save wins, whenever either was taken (a store
  // keeps no history of a host; the event log does). Each save is also an `inventory.saved`
  // event by `actor` (name, source kind, schema version, SHA-256 of the document, whether it
  // replaced one), in the same transaction. Returns how many replaced an earlier inventory.
  // kInvalidArgument, naming the record, for one without a name, source kind or document, or
  // for a name given twice in `inventories`.
  virtual Result<int64_t> PutInventories(const std::vector<InventoryRecord>& inventories,
                                         std::string_view actor) = 0;
  // One inventory; true when it replaced an earlier one.
  Result<bool> PutInventory(const InventoryRecord& inventory, std::string_view actor);
  // Saved inventories with their documents, in byte order of their names: those whose name
  // sorts after `after_name`, at most `limit` of them (0: no limit). Pass the last name of a
  // page to get the next, so that a large estate is read without holding all of it.
  virtual Result<std::vector<InventoryRecord>> ListInventories(std::string_view after_name = {},
                                                               int limit = 0) = 0;
  // The inventory saved under `name`, with its document; nullopt when there is none.
  virtual Result<std::optional<InventoryRecord>> GetInventory(std::string_view name) = 0;

  // ---- Keyring
  virtual Result<KeyringRows> ReadKeyring() = 0;
  // Applies `write` and appends its events in one transaction. kAborted, naming the secret, when
  // a secret's version is not the expected one; nothing is applied then.
  virtual Status WriteKeyring(const KeyringWrite& write) = 0;
  // The secret named `name` with its sealed value; nullopt when there is none.
  virtual Result<std::optional<SecretRecord>> GetSecret(std::string_view name) = 0;
  // Every secret in byte order of names; `with_values` false leaves `sealed` empty.
  virtual Result<std::vector<SecretRecord>> ListSecrets(bool with_values) = 0;

  // ---- HTTP API: keys, sessions, projects, plans. Each change is an event by `actor` in the
  // same transaction (never with a secret or a hash in it).
  // kAlreadyExists, naming it, when a key in force has the same name (revoke it first, or
  // choose another name) or a key has the same id; kInvalidArgument for a record without an
  // id, name, role or hash. Event `api-key.created` (id, name, role, expires_at).
  virtual Status CreateApiKey(const ApiKeyRecord& key, std::string_view actor) = 0;
  virtual Result<std::optional<ApiKeyRecord>> GetApiKey(std::string_view id) = 0;
  // Every key, revoked ones included, oldest first.
  virtual Result<std::vector<ApiKeyRecord>> ListApiKeys() = 0;
  // Revokes the key and ends its sessions; returns it as it now is. Revoking a revoked key
  // changes nothing and writes no event. kNotFound, naming the id, for an unknown key.
  // Event `api-key.revoked` (id, name).
  virtual Result<ApiKeyRecord> RevokeApiKey(std::string_view id, std::string_view actor) = 0;
  // Also deletes the sessions that have expired. kNotFound when the key does not exist.
  // Event `api-session.created` (session id, key id, expires_at).
  virtual Status CreateApiSession(const ApiSessionRecord& session, std::string_view actor) = 0;
  virtual Result<std::optional<ApiSessionRecord>> GetApiSession(std::string_view id) = 0;
  // kAlreadyExists when the name is taken. Event `project.created` (name, description).
  virtual Status CreateProject(const ProjectRecord& project, std::string_view actor) = 0;
  virtual Result<std::optional<ProjectRecord>> GetProject(std::string_view name) = 0;
  // In byte order of names.
  virtual Result<std::vector<ProjectRecord>> ListProjects() = 0;
  // kAlreadyExists when the id is taken. Event `plan.created` (id, hosts, waves, options,
  // SHA-256 of the document).
  virtual Status SavePlan(const PlanRecord& plan, std::string_view actor) = 0;
  virtual Result<std::optional<PlanRecord>> GetPlan(std::string_view id) = 0;
  // Newest first, at most `limit` (0: all), without their documents.
  virtual Result<std::vector<PlanRecord>> ListPlans(int limit = 0) = 0;

  // ---- Event log
  // The sequence number of the last event (0 for an empty log): where a reader that wants only
  // what comes next starts.
  virtual Result<int64_t> LastEventSeq() = 0;
  virtual Result<Event> AppendEvent(const EventSpec& spec) = 0;
  // Events with seq > after_seq in order, at most `limit`; run_id filters when not empty.
  virtual Result<std::vector<Event>> ReadEvents(int64_t after_seq, int limit,
                                                std::string_view run_id = {}) = 0;
  // Walks the whole log and checks every link. A broken chain is reported in the result
  // (intact == false), not as an error; errors are for a store that cannot be read.
  // When `expected_head` is given (a head hash recorded earlier), the log must contain it.
  virtual Result<EventLogReport> VerifyEventLog(std::string_view expected_head = {}) = 0;

 protected:
  Store() = default;
};

// Canonical store URL of a file path: "sqlite:///abs/path".
std::string SqliteStoreUrl(std::string_view path);

}  // namespace ferry

#endif  // FERRY_STORE_STORE_H_
