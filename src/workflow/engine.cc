#include "workflow/engine.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "base/ids.h"
#include "base/log.h"

namespace ferry::workflow {

TaskExecutor DefaultTaskExecutor() {
  return {.snapshot = SnapshotTask, .execute = ExecuteTask, .undo = UndoTask};
}

namespace {

constexpr std::string_view kRunKind = "workflow";
constexpr int kEventPage = 1000;

std::string TaskQueue(std::string_view run_id) { return fmt::format("run:{}", run_id); }
std::string UndoQueue(std::string_view run_id) { return fmt::format("undo:{}", run_id); }
// Announcements the engine makes on a run's behalf (phase.started, approval.requested, the
// terminal states), one task each, deduplicated by what it announces: see AnnounceLocked.
std::string AnnounceQueue(std::string_view run_id) { return fmt::format("announce:{}", run_id); }

bool Resting(std::string_view state) {
  return state == "waiting-approval" || state == "paused" || state == "succeeded" ||
         state == "failed" || state == "cancelled" || state == "rolled-back" ||
         state == "rollback-failed";
}

std::string Micros(int64_t micros) {
  if (micros <= 0) return "0 s";
  if (micros % 3'600'000'000 == 0) return fmt::format("{}h", micros / 3'600'000'000);
  if (micros % 60'000'000 == 0) return fmt::format("{}m", micros / 60'000'000);
  if (micros % 1'000'000 == 0) return fmt::format("{}s", micros / 1'000'000);
  return fmt::format("{}ms", micros / 1000);
}

std::string PayloadTask(const Task& task) {
  Result<Json> payload = ParseJson(task.payload, "task payload");
  if (!payload.has_value() || !payload->is_object()) return {};
  return payload->value("task", std::string());
}

// Everything the event log says about one run: the control decisions and what tasks did. The
// fold of its events in order; nothing here is written anywhere else.
struct RunFold {
  RunSpec spec;
  std::string yaml;
  std::string started_by;
  int64_t created_micros = 0;
  int64_t updated_micros = 0;
  bool paused = false;
  bool cancelled = false;
  bool rollback = false;
  struct Approval {
    std::string by;
    int64_t at = 0;
  };
  std::map<std::string, Approval> approvals;
  std::set<std::string> approval_requested;
  std::set<std::string> phases_started;
  std::map<std::string, Json> snapshots;  // task -> what its undo needs
  std::vector<std::string> start_order;   // tasks in order of their first start
  std::map<std::string, int64_t> started_at, finished_at;
  std::map<std::string, TaskProgress> progress;
  std::map<std::string, int> progress_attempt;
  std::string announced;  // the last terminal state announced by an event
  // The seq of the last run.resumed or rollback.started: a terminal state is announced once
  // per such decision (announcement keys, AnnounceLocked).
  int64_t epoch = 0;
  // How many events that can change the state (all but task.progress) were folded: a status
  // derived while this did not move is consistent with the queue read meanwhile.
  int64_t changes = 0;
  // Scheduled since its last event, resting and announced: nothing to do until an event comes.
  bool settled = false;
  // Derived, cached between rounds.
  std::string state = "running";
  // The last status derived for readers, and when (monotonic micros); dropped by new events.
  std::optional<RunStatus> cached;
  int64_t cached_at = 0;
};

void Fold(RunFold& run, const Event& event) {
  Result<Json> parsed = ParseJson(event.payload, "event payload");
  const Json payload = parsed.has_value() ? *parsed : Json::object();
  const std::string task = payload.value("task", std::string());
  const std::string phase = payload.value("phase", std::string());
  const std::string& kind = event.kind;
  run.updated_micros = event.at_micros;
  if (kind != "task.progress") ++run.changes;
  if (kind == "run.paused") {
    run.paused = true;
  } else if (kind == "run.resumed") {
    run.paused = false;
    run.announced.clear();
    run.epoch = event.seq;
  } else if (kind == "run.cancelled") {
    run.cancelled = true;
  } else if (kind == "rollback.started") {
    run.rollback = true;
    run.announced.clear();
    run.epoch = event.seq;
  } else if (kind == "run.approved") {
    run.approvals[phase] = {event.actor, event.at_micros};
  } else if (kind == "approval.requested") {
    run.approval_requested.insert(phase);
  } else if (kind == "phase.started") {
    run.phases_started.insert(phase);
  } else if (kind == "task.started") {
    if (!run.started_at.contains(task)) run.start_order.push_back(task);
    run.started_at[task] = event.at_micros;
    run.finished_at.erase(task);
    if (payload.contains("snapshot") && !run.snapshots.contains(task)) {
      run.snapshots[task] = payload["snapshot"];
    }
    run.progress[task] = {};
    run.progress_attempt[task] = payload.value("attempt", 1);
  } else if (kind == "task.progress") {
    TaskProgress& p = run.progress[task];
    p.rows_done = payload.value("rows_done", int64_t{0});
    p.rows_total = payload.value("rows_total", int64_t{-1});
    p.bytes_done = payload.value("bytes_done", int64_t{0});
    p.bytes_total = payload.value("bytes_total", int64_t{-1});
    p.detail = payload.value("detail", std::string());
  } else if (kind == "task.completed" || kind == "task.failed") {
    run.finished_at[task] = event.at_micros;
    if (kind == "task.completed" && payload.contains("progress")) {
      const Json& p = payload["progress"];
      TaskProgress& done = run.progress[task];
      done.rows_done = p.value("rows_done", done.rows_done);
      done.rows_total = p.value("rows_total", done.rows_total);
      done.bytes_done = p.value("bytes_done", done.bytes_done);
      done.bytes_total = p.value("bytes_total", done.bytes_total);
    }
  } else if (kind == "run.succeeded" || kind == "run.failed" || kind == "run.rolled-back" ||
             kind == "run.rollback-failed") {
    run.announced = kind.substr(4);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class Engine::Impl {
 public:
  Impl(Store* store, EngineOptions options) : store_(store), options_(std::move(options)) {
    env_ = options_.env != nullptr ? options_.env : Env::Default();
    if (options_.worker.empty()) options_.worker = HostWorkerId();
    if (options_.ferry_path.empty()) {
      std::error_code ec;
      options_.ferry_path = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    }
    if (options_.work_dir.empty()) options_.work_dir = "ferry-runs";
    if (!options_.executor.snapshot) options_.executor.snapshot = SnapshotTask;
    if (!options_.executor.execute) options_.executor.execute = ExecuteTask;
    if (!options_.executor.undo) options_.executor.undo = UndoTask;
  }

  // Stops the workers, and waits for the Drive calls still running (they return the state
  // reached) before the engine goes.
  ~Impl() {
    Stop();
    std::unique_lock lock(wake_mu_);
    drives_done_.wait(lock, [this] { return drives_ == 0; });
  }

  // ---- Control -------------------------------------------------------------------------------

  Result<std::string> Start(std::string_view yaml, std::string_view source, const Actor& actor) {
    FERRY_RETURN_IF_ERROR(Require(actor, Role::kOperator, "start a run"));
    FERRY_ASSIGN_OR_RETURN(RunSpec spec, ParseRunSpec(yaml, source, env_));
    const std::string id = NewId("run");
    Json spec_json = {
        {"yaml", std::string(yaml)}, {"source", std::string(source)}, {"started_by", actor.name}};
    FERRY_RETURN_IF_ERROR(store_->CreateRun({.id = id,
                                             .kind = std::string(kRunKind),
                                             .state = "running",
                                             .fingerprint = spec.name,
                                             .spec = CanonicalJson(spec_json),
                                             .result = "{}"}));
    FERRY_RETURN_IF_ERROR(Append(id, actor.name, "run.started",
                                 {{"run", spec.name},
                                  {"source", std::string(source)},
                                  {"tasks", spec.ExecutionOrder().size()}}));
    Wake();
    return id;
  }

  Status Approve(std::string_view run_id, std::string_view phase, const Actor& actor) {
    FERRY_RETURN_IF_ERROR(Require(actor, Role::kOperator, "approve a phase"));
    std::unique_lock lock(mu_);
    FERRY_ASSIGN_OR_RETURN(RunFold * run, Current(run_id));
    FERRY_ASSIGN_OR_RETURN(RunStatus status, DeriveLocked(run_id, *run));
    // A paused run may be approved too: the phase that waits is recorded as approved and starts
    // at the resume.
    const bool awaits =
        (status.state == "waiting-approval" && status.awaiting == phase) ||
        (status.state == "paused" && std::ranges::any_of(status.phases, [&](const PhaseStatus& p) {
           return p.name == phase && p.state == "waiting-approval";
         }));
    if (!awaits) {
      const bool known = std::ranges::any_of(run->spec.phases,
                                             [&](const PhaseSpec& p) { return p.name == phase; });
      if (!known) {
        return NotFound("run {} has no phase '{}'; its phases are {}", run_id, phase,
                        PhaseNames(run->spec));
      }
      return FailedPrecondition(
          "run {} is {}, {}: only a phase awaiting approval can be approved; see `ferry run "
          "status {}`",
          run_id, status.state,
          status.awaiting.empty()
              ? std::string("no phase awaits approval")
              : fmt::format("the phase awaiting approval is '{}'", status.awaiting),
          run_id);
    }
    const PhaseSpec* spec = FindPhase(run->spec, phase);
    FERRY_ASSIGN_OR_RETURN(Role needed, ParseRole(spec->approval));
    if (actor.role < needed) {
      return PermissionDenied(
          "{} (role {}) cannot approve phase '{}' of run {}: it needs the role {} or admin",
          actor.name, RoleName(actor.role), phase, run_id, spec->approval);
    }
    lock.unlock();
    FERRY_RETURN_IF_ERROR(Append(run_id, actor.name, "run.approved",
                                 {{"phase", std::string(phase)},
                                  {"role", std::string(RoleName(actor.role))},
                                  {"required", spec->approval}}));
    Wake();
    return OkStatus();
  }

  Status Pause(std::string_view run_id, const Actor& actor) {
    return Control(run_id, actor, "pause", "run.paused", {"running", "waiting-approval"},
                   "only a running run or one waiting for approval can be paused");
  }

  Status Resume(std::string_view run_id, const Actor& actor) {
    FERRY_RETURN_IF_ERROR(Require(actor, Role::kOperator, "resume a run"));
    std::unique_lock lock(mu_);
    FERRY_ASSIGN_OR_RETURN(RunFold * run, Current(run_id));
    FERRY_ASSIGN_OR_RETURN(RunStatus status, DeriveLocked(run_id, *run));
    lock.unlock();
    if (status.state == "cancelled") {
      return FailedPrecondition(
          "run {} was cancelled and cannot resume: roll it back (`ferry run rollback {}`) and "
          "start a new run",
          run_id, run_id);
    }
    if (status.state == "failed") {
      FERRY_ASSIGN_OR_RETURN(int64_t retried, store_->RetryFailed(TaskQueue(run_id)));
      FERRY_RETURN_IF_ERROR(Append(run_id, actor.name, "run.resumed",
                                   {{"from", status.state}, {"tasks_retried", retried}}));
    } else if (status.state == "paused") {
      FERRY_RETURN_IF_ERROR(Append(run_id, actor.name, "run.resumed", {{"from", status.state}}));
    } else {
      return FailedPrecondition(
          "run {} is {}: only a paused or failed run can resume{}", run_id, status.state,
          status.state == "waiting-approval"
              ? fmt::format(" (it waits for approval of phase '{}': `ferry run approve {} --phase "
                            "{}`)",
                            status.awaiting, run_id, status.awaiting)
              : "");
    }
    Wake();
    return OkStatus();
  }

  Status Cancel(std::string_view run_id, const Actor& actor) {
    return Control(run_id, actor, "cancel", "run.cancelled",
                   {"running", "waiting-approval", "paused", "failed"},
                   "a finished, cancelled or rolled-back run cannot be cancelled");
  }

  Status Rollback(std::string_view run_id, const Actor& actor) {
    FERRY_RETURN_IF_ERROR(Require(actor, Role::kOperator, "roll back a run"));
    std::unique_lock lock(mu_);
    FERRY_ASSIGN_OR_RETURN(RunFold * run, Current(run_id));
    FERRY_ASSIGN_OR_RETURN(RunStatus status, DeriveLocked(run_id, *run));
    lock.unlock();
    if (status.state == "rolling-back" || status.state == "rolled-back") {
      return FailedPrecondition("run {} is already {}; see `ferry run status {}`", run_id,
                                status.state, run_id);
    }
    int64_t retried = 0;
    if (status.state == "rollback-failed") {
      FERRY_ASSIGN_OR_RETURN(retried, store_->RetryFailed(UndoQueue(run_id)));
    }
    FERRY_RETURN_IF_ERROR(Append(run_id, actor.name, "rollback.started",
                                 {{"from", status.state}, {"undos_retried", retried}}));
    Wake();
    return OkStatus();
  }

  // ---- Reading ----------------------------------------------------------------------------------

  // Readers (the API's run page, polled by many) get a status at most kStatusMaxAgeMicros old
  // unless an event of the run came since: every change of state is an event, so only live
  // progress can be that much behind.
  static constexpr int64_t kStatusMaxAgeMicros = 250'000;

  Result<RunStatus> GetStatus(std::string_view run_id) {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(RunFold * run, Current(run_id));
    return CachedStatusLocked(run_id, *run);
  }

  // The run's status from the cache when recent enough (see kStatusMaxAgeMicros), else derived.
  Result<RunStatus> CachedStatusLocked(std::string_view run_id, RunFold& run) {
    const int64_t now = env_->MonotonicMicros();
    if (run.cached && now - run.cached_at < kStatusMaxAgeMicros) return *run.cached;
    FERRY_ASSIGN_OR_RETURN(RunStatus status, DeriveLocked(run_id, run));
    run.cached = status;
    run.cached_at = now;
    return status;
  }

  Result<std::vector<RunSummary>> ListRuns(int limit) {
    FERRY_ASSIGN_OR_RETURN(std::vector<RunRecord> records, store_->ListRuns(kRunKind, limit));
    std::lock_guard lock(mu_);
    FERRY_RETURN_IF_ERROR(CatchUpLocked());
    for (const RunRecord& record : records) {
      if (!runs_.contains(record.id) && !not_ours_.contains(record.id)) {
        FERRY_RETURN_IF_ERROR(StatusOf(Load(record.id, cursor_)));
      }
    }
    std::vector<RunSummary> out;
    for (const RunRecord& record : records) {
      RunSummary summary{.id = record.id,
                         .name = record.fingerprint,
                         .state = record.state,
                         .created_micros = record.created_micros,
                         .updated_micros = record.updated_micros};
      auto it = runs_.find(record.id);
      if (it != runs_.end()) {
        Result<RunStatus> status = CachedStatusLocked(record.id, it->second);
        if (status.has_value()) {
          summary.state = status->state;
          summary.updated_micros = status->updated_micros;
          summary.tasks_total = static_cast<int>(status->tasks.size());
          summary.tasks_done = static_cast<int>(std::ranges::count_if(
              status->tasks, [](const TaskStatus& t) { return t.state == "done"; }));
        }
      }
      out.push_back(std::move(summary));
    }
    return out;
  }

  std::string ArtifactDir(std::string_view run_id) const {
    return (std::filesystem::path(options_.work_dir) / std::string(run_id)).string();
  }

  Result<std::vector<std::string>> ListArtifacts(std::string_view run_id) {
    FERRY_RETURN_IF_ERROR(StatusOf(GetStatus(run_id)));
    std::vector<std::string> out;
    const std::filesystem::path dir = ArtifactDir(run_id);
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) return out;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file()) {
        out.push_back(std::filesystem::relative(it->path(), dir).generic_string());
      }
    }
    std::ranges::sort(out);
    return out;
  }

  EngineMetrics Metrics() const {
    return {.tasks_started = tasks_started_.load(),
            .tasks_completed = tasks_completed_.load(),
            .tasks_failed_attempts = tasks_failed_.load(),
            .tasks_running = tasks_running_.load(),
            .rows_moved = rows_moved_.load(),
            .bytes_moved = bytes_moved_.load()};
  }

  // ---- Working ----------------------------------------------------------------------------------

  Status RunWorkers(int threads) {
    {
      std::lock_guard lock(mu_);
      FERRY_RETURN_IF_ERROR(FollowAllLocked());
      ReleaseDeadLeasesLocked(/*all=*/true);
    }
    std::lock_guard lock(workers_mu_);
    const uint64_t generation = Generation();
    for (int i = 0; i < std::max(1, threads); ++i) {
      workers_.emplace_back([this, generation, worker = NextWorkerId()] {
        WorkLoop({}, {generation, nullptr, worker});
      });
    }
    return OkStatus();
  }

  // Stops every worker of this engine, RunWorkers' and Drive's; each gives the lease of the task
  // it was running back at once (ReleaseLeases: the task is pending again, without counting an
  // attempt). Drive returns the state reached.
  void Stop() {
    {
      std::lock_guard lock(wake_mu_);
      ++generation_;
    }
    wake_.notify_all();
    std::vector<std::thread> workers;
    {
      std::lock_guard lock(workers_mu_);
      workers.swap(workers_);
    }
    for (std::thread& t : workers) t.join();
  }

  Result<RunStatus> Drive(std::string_view run_id, int threads,
                          const std::function<void(const RunStatus&)>& on_change) {
    {
      std::lock_guard lock(wake_mu_);
      ++drives_;
    }
    Result<RunStatus> status = DriveCounted(run_id, threads, on_change);
    std::lock_guard lock(wake_mu_);
    --drives_;
    drives_done_.notify_all();  // under the lock: the destructor may follow at once
    return status;
  }

  Result<RunStatus> DriveCounted(std::string_view run_id, int threads,
                                 const std::function<void(const RunStatus&)>& on_change) {
    {
      std::lock_guard lock(mu_);
      // The run first (an engine follows only the runs asked about), then its dead leases.
      FERRY_RETURN_IF_ERROR(StatusOf(Current(run_id)));
      ReleaseDeadLeasesLocked(/*all=*/true);
    }
    const std::string only(run_id);
    // This call's workers stop when it returns, or on Stop(); RunWorkers' go on.
    std::atomic<bool> finished{false};
    const uint64_t generation = Generation();
    std::vector<std::thread> pool;
    for (int i = 0; i < std::max(1, threads); ++i) {
      pool.emplace_back([this, only, generation, &finished, worker = NextWorkerId()] {
        WorkLoop(only, {generation, &finished, worker});
      });
    }
    std::string last_state;
    int64_t last_report = 0;
    Result<RunStatus> status = Err(Internal("not reached"));
    while (true) {
      status = GetStatus(run_id);
      if (!status.has_value()) break;
      const int64_t now = env_->MonotonicMicros();
      if (on_change && (status->state != last_state || now - last_report >= 1'000'000)) {
        on_change(*status);
        last_report = now;
      }
      last_state = status->state;
      if (Resting(status->state) && RunningHere(only) == 0) break;
      std::unique_lock lock(wake_mu_);
      if (generation_ != generation) break;  // Stop()
      wake_.wait_for(lock, std::chrono::microseconds(options_.poll_micros));
    }
    {
      std::lock_guard lock(wake_mu_);
      finished = true;
    }
    wake_.notify_all();
    for (std::thread& t : pool) t.join();
    {
      // The round that announces the state reached (run.succeeded...) and records it.
      std::lock_guard lock(mu_);
      Status scheduled = ScheduleLocked(only);
      if (!scheduled.ok()) LogWarn("workflow scheduling: " + scheduled.ToString());
    }
    if (status.has_value() && !Resting(status->state)) status = GetStatus(run_id);
    return status;
  }

 private:
  // ---- Helpers of control -------------------------------------------------------------------

  static Status Require(const Actor& actor, Role needed, std::string_view what) {
    if (actor.role >= needed) return OkStatus();
    return PermissionDenied("{} (role {}) cannot {}: it needs the role {} or admin", actor.name,
                            RoleName(actor.role), what, RoleName(needed));
  }

  static std::string PhaseNames(const RunSpec& spec) {
    std::string out;
    for (const PhaseSpec& p : spec.phases) out += (out.empty() ? "" : ", ") + p.name;
    return out;
  }

  static const PhaseSpec* FindPhase(const RunSpec& spec, std::string_view name) {
    for (const PhaseSpec& p : spec.phases) {
      if (p.name == name) return &p;
    }
    return nullptr;
  }

  Status Control(std::string_view run_id, const Actor& actor, std::string_view verb,
                 std::string_view kind, std::initializer_list<std::string_view> allowed,
                 std::string_view rule) {
    FERRY_RETURN_IF_ERROR(Require(actor, Role::kOperator, fmt::format("{} a run", verb)));
    std::unique_lock lock(mu_);
    FERRY_ASSIGN_OR_RETURN(RunFold * run, Current(run_id));
    FERRY_ASSIGN_OR_RETURN(RunStatus status, DeriveLocked(run_id, *run));
    lock.unlock();
    if (std::ranges::find(allowed, status.state) == allowed.end()) {
      return FailedPrecondition("cannot {} run {}: it is {}, and {}; see `ferry run status {}`",
                                verb, run_id, status.state, rule, run_id);
    }
    FERRY_RETURN_IF_ERROR(Append(run_id, actor.name, kind, {{"from", status.state}}));
    Wake();
    return OkStatus();
  }

  Status Append(std::string_view run_id, std::string_view actor, std::string_view kind,
                Json payload) {
    return StatusOf(store_->AppendEvent({.run_id = std::string(run_id),
                                         .actor = std::string(actor),
                                         .kind = std::string(kind),
                                         .payload = std::move(payload)}));
  }

  void Wake() { wake_.notify_all(); }

  // ---- The fold --------------------------------------------------------------------------------

  // Reads the events appended since the last call and folds those of the runs this engine
  // follows: every workflow run once it works on all of them (FollowAllLocked, for RunWorkers),
  // else only the runs asked about (Current). It starts at the end of the log, and a run is
  // folded from its own events when first followed (Load): an engine that answers about one run
  // (a `ferry run status`) never reads the other runs' events, which for a store in use for
  // weeks are millions (a task.progress every 2 s per running task).
  Status CatchUpLocked() {
    if (!cursor_known_) {
      FERRY_ASSIGN_OR_RETURN(cursor_, store_->LastEventSeq());
      cursor_known_ = true;
    }
    while (true) {
      FERRY_ASSIGN_OR_RETURN(std::vector<Event> events, store_->ReadEvents(cursor_, kEventPage));
      for (const Event& event : events) {
        if (event.run_id.empty() || not_ours_.contains(event.run_id)) {
          cursor_ = event.seq;
          continue;
        }
        auto it = runs_.find(event.run_id);
        if (it == runs_.end()) {
          if (!follow_all_) {
            cursor_ = event.seq;
            continue;
          }
          // On an error the cursor stays before the event: the next call reads it again.
          FERRY_ASSIGN_OR_RETURN(RunFold * loaded, Load(event.run_id, event.seq - 1));
          if (loaded == nullptr) {
            cursor_ = event.seq;
            continue;
          }
          it = runs_.find(event.run_id);
        }
        Fold(it->second, event);
        it->second.cached.reset();
        it->second.settled = false;
        dirty_.insert(event.run_id);
        cursor_ = event.seq;
      }
      if (static_cast<int>(events.size()) < kEventPage) return OkStatus();
    }
  }

  // Follows every workflow run of the store from now on (RunWorkers).
  Status FollowAllLocked() {
    FERRY_RETURN_IF_ERROR(CatchUpLocked());
    if (follow_all_) return OkStatus();
    FERRY_ASSIGN_OR_RETURN(std::vector<RunRecord> records,
                           store_->ListRuns(kRunKind, std::numeric_limits<int>::max()));
    for (const RunRecord& record : records) {
      if (runs_.contains(record.id)) continue;
      FERRY_RETURN_IF_ERROR(StatusOf(Load(record.id, cursor_)));
    }
    follow_all_ = true;
    return OkStatus();
  }

  // The fold of a run seen for the first time, from its events up to seq `upto` (those after
  // come through CatchUpLocked); nullptr when it is not a workflow run.
  Result<RunFold*> Load(const std::string& run_id, int64_t upto) {
    Result<RunRecord> record = store_->GetRun(run_id);
    if (!record.has_value()) {
      if (record.error().code() == StatusCode::kNotFound) {
        not_ours_.insert(run_id);
        return nullptr;
      }
      return Err(record.error());
    }
    if (record->kind != kRunKind) {
      not_ours_.insert(run_id);
      return nullptr;
    }
    RunFold fold;
    Result<Json> spec_json = ParseJson(record->spec, "run " + run_id + " spec");
    Result<RunSpec> spec = Err(Internal("not parsed"));
    if (spec_json.has_value()) {
      fold.yaml = spec_json->value("yaml", std::string());
      fold.started_by = spec_json->value("started_by", std::string());
      spec = ParseRunSpec(fold.yaml, spec_json->value("source", run_id), env_);
    }
    if (!spec.has_value()) {
      // Not a passing failure: the run is set aside, and the others go on.
      const Status& why = spec_json.has_value() ? spec.error() : spec_json.error();
      broken_[run_id] = FailedPrecondition(
          "run {} cannot be read here: its recorded spec does not parse ({}); it was started by "
          "another version of ferry, or the store was edited: work on it with the ferry that "
          "started it",
          run_id, why.message());
      LogWarn(broken_[run_id].message());
      not_ours_.insert(run_id);
      return nullptr;
    }
    fold.spec = std::move(*spec);
    fold.created_micros = record->created_micros;
    fold.updated_micros = record->updated_micros;
    fold.state = record->state;
    for (int64_t after = 0; after < upto;) {
      FERRY_ASSIGN_OR_RETURN(std::vector<Event> events,
                             store_->ReadEvents(after, kEventPage, run_id));
      for (const Event& event : events) {
        if (event.seq > upto) break;
        Fold(fold, event);
        after = event.seq;
      }
      if (static_cast<int>(events.size()) < kEventPage || events.back().seq > upto) break;
    }
    auto [it, inserted] = runs_.emplace(run_id, std::move(fold));
    dirty_.insert(run_id);
    return &it->second;
  }

  Result<RunFold*> Current(std::string_view run_id) {
    FERRY_RETURN_IF_ERROR(CatchUpLocked());
    if (auto b = broken_.find(std::string(run_id)); b != broken_.end()) return Err(b->second);
    auto it = runs_.find(std::string(run_id));
    if (it == runs_.end()) {
      // A run created but whose first event is not visible yet, or no such run.
      Result<RunRecord> record = store_->GetRun(run_id);
      if (!record.has_value()) {
        return Err(NotFound("there is no run {} in store {}; list runs with `ferry run list`",
                            run_id, store_->location()));
      }
      if (record->kind != kRunKind) {
        return Err(NotFound("{} is a {} run, not a workflow run; `ferry run list` shows those",
                            run_id, record->kind));
      }
      FERRY_ASSIGN_OR_RETURN(RunFold * loaded, Load(std::string(run_id), cursor_));
      if (loaded == nullptr) return Err(broken_.at(std::string(run_id)));
      return loaded;
    }
    return &it->second;
  }

  // ---- Deriving the state ----------------------------------------------------------------------

  struct QueueView {
    std::map<std::string, Task> tasks;  // by spec task id
  };

  Result<QueueView> ReadQueue(const std::string& queue) {
    FERRY_ASSIGN_OR_RETURN(std::vector<Task> tasks, store_->ListTasks(queue));
    QueueView view;
    for (Task& t : tasks) {
      std::string id = PayloadTask(t);
      if (!id.empty()) view.tasks.emplace(std::move(id), std::move(t));
    }
    return view;
  }

  // The state of the run from its fold and its queues, read so that they agree: every change of
  // a queue that matters comes after its event (task.started before the task ends) or in the
  // same transaction (task.completed), so the queues are read first and the events after; when
  // an event of the run came meanwhile, they are read again. Without this, a task that started
  // and ended between the two reads would look ended but never started, and a rollback would
  // undo the tasks before it first.
  Result<RunStatus> DeriveLocked(std::string_view run_id, RunFold& run) {
    const std::string id(run_id);
    QueueView queue, undo;
    for (int tries = 0;; ++tries) {
      const int64_t changes = run.changes;
      FERRY_ASSIGN_OR_RETURN(queue, ReadQueue(TaskQueue(id)));
      undo = {};
      if (run.rollback) {
        FERRY_ASSIGN_OR_RETURN(undo, ReadQueue(UndoQueue(id)));
      }
      FERRY_RETURN_IF_ERROR(CatchUpLocked());
      if (run.changes == changes) break;
      if (tries == 8) {
        // Tasks end faster than the queue can be read: go on with this reading (the next round
        // reads again), except for a rollback, whose order of undos depends on it.
        if (!run.rollback) break;
        return Err(Unavailable("run {} changes too fast to read its state; try again", id));
      }
    }
    RunStatus status;
    status.id = id;
    status.name = run.spec.name;
    status.started_by = run.started_by;
    status.created_micros = run.created_micros;
    status.updated_micros = run.updated_micros;
    status.spec_yaml = run.yaml;

    const int64_t now = env_->NowMicros();
    std::map<std::string, const TaskSpec*> specs;
    std::map<std::string, std::string> phase_of;
    for (const PhaseSpec& phase : run.spec.phases) {
      for (const TaskSpec& task : phase.tasks) {
        specs[task.id] = &task;
        phase_of[task.id] = phase.name;
      }
    }
    std::string failed_task, failed_error;
    for (const std::string& task_id : run.spec.ExecutionOrder()) {
      const TaskSpec& spec = *specs[task_id];
      TaskStatus t{.id = task_id, .type = spec.type, .phase = phase_of[task_id]};
      t.max_attempts = spec.retries + 1;
      auto q = queue.tasks.find(task_id);
      if (q == queue.tasks.end()) {
        t.state = "waiting";
      } else {
        const Task& task = q->second;
        t.attempts = task.attempts;
        t.error = task.last_error;
        switch (task.state) {
          case TaskState::kPending: t.state = task.attempts == 0 ? "queued" : "retrying"; break;
          case TaskState::kLeased: t.state = "running"; break;
          case TaskState::kDone:
            t.state = "done";
            t.error.clear();
            if (Result<Json> r = ParseJson(task.result, "task result"); r.has_value()) {
              t.result = std::move(*r);
            }
            break;
          case TaskState::kFailed:
            t.state = "failed";
            if (failed_task.empty()) {
              failed_task = task_id;
              failed_error = task.last_error;
            }
            break;
        }
      }
      if (auto u = undo.tasks.find(task_id); u != undo.tasks.end()) {
        switch (u->second.state) {
          case TaskState::kPending:
          case TaskState::kLeased: t.state = "undoing"; break;
          case TaskState::kDone: t.state = "undone"; break;
          case TaskState::kFailed:
            t.state = "undo-failed";
            t.error = u->second.last_error;
            break;
        }
      }
      if (auto s = run.started_at.find(task_id); s != run.started_at.end()) {
        t.started_micros = s->second;
      }
      if (auto f = run.finished_at.find(task_id); f != run.finished_at.end()) {
        t.finished_micros = f->second;
      }
      if (auto p = run.progress.find(task_id); p != run.progress.end()) t.progress = p->second;
      if (auto live = live_.find(LiveKey(id, task_id)); live != live_.end()) {
        t.progress = live->second;
      }
      if (t.started_micros > 0) {
        const int64_t end = t.finished_micros > 0 ? t.finished_micros : now;
        const double seconds =
            std::max<double>(1e-3, static_cast<double>(end - t.started_micros) / 1e6);
        t.rows_per_second = static_cast<double>(t.progress.rows_done) / seconds;
        if (t.state == "running" && t.progress.rows_total > 0 && t.rows_per_second > 0) {
          t.eta_seconds =
              static_cast<double>(t.progress.rows_total - t.progress.rows_done) / t.rows_per_second;
        }
      }
      status.rows_done += t.progress.rows_done;
      status.bytes_done += t.progress.bytes_done;
      status.tasks.push_back(std::move(t));
    }

    // Phases, in order: the first not done is the one that runs (or waits).
    auto task_state = [&](const std::string& task_id) -> const std::string& {
      for (const TaskStatus& t : status.tasks) {
        if (t.id == task_id) return t.state;
      }
      static const std::string kNone;
      return kNone;
    };
    bool earlier_done = true;
    for (const PhaseSpec& phase : run.spec.phases) {
      PhaseStatus p{.name = phase.name, .approval = phase.approval};
      if (auto a = run.approvals.find(phase.name); a != run.approvals.end()) {
        p.approved_by = a->second.by;
        p.approved_micros = a->second.at;
      }
      int done = 0, failed = 0, active = 0;
      for (const TaskSpec& task : phase.tasks) {
        const std::string& s = task_state(task.id);
        if (s == "done" || s == "undone" || s == "undoing" || s == "undo-failed") ++done;
        if (s == "failed") ++failed;
        if (s == "queued" || s == "running" || s == "retrying") ++active;
      }
      if (done == static_cast<int>(phase.tasks.size())) {
        p.state = "done";
      } else if (failed > 0) {
        p.state = "failed";
      } else if (active > 0 || run.phases_started.contains(phase.name)) {
        p.state = "running";
      } else if (earlier_done && !phase.approval.empty() && !run.approvals.contains(phase.name)) {
        p.state = "waiting-approval";
        if (status.awaiting.empty()) status.awaiting = phase.name;
      } else {
        p.state = "pending";
      }
      earlier_done = earlier_done && p.state == "done";
      status.phases.push_back(std::move(p));
    }

    const bool any_running =
        std::ranges::any_of(status.tasks, [](const TaskStatus& t) { return t.state == "running"; });
    const bool all_done =
        std::ranges::all_of(status.tasks, [](const TaskStatus& t) { return t.state == "done"; });
    if (run.rollback) {
      const bool undo_failed = std::ranges::any_of(
          status.tasks, [](const TaskStatus& t) { return t.state == "undo-failed"; });
      if (undo_failed) {
        status.state = "rollback-failed";
        for (const TaskStatus& t : status.tasks) {
          if (t.state == "undo-failed") {
            status.error = fmt::format(
                "the undo of task {} failed: {}; fix the cause and roll back again (`ferry run "
                "rollback {}`): undos already done are not repeated",
                t.id, t.error, id);
            break;
          }
        }
      } else if (!any_running && UndoPlan(run).size() == static_cast<size_t>(std::ranges::count_if(
                                                             status.tasks, [](const TaskStatus& t) {
                                                               return t.state == "undone";
                                                             }))) {
        status.state = "rolled-back";
      } else {
        status.state = "rolling-back";
      }
    } else if (run.cancelled) {
      status.state = "cancelled";
    } else if (!failed_task.empty()) {
      status.state = "failed";
      status.error = fmt::format(
          "task {} failed: {}; fix the cause and resume (`ferry run resume {}`: failed tasks "
          "run again, completed ones do not), or roll back (`ferry run rollback {}`)",
          failed_task, failed_error, id, id);
    } else if (all_done) {
      status.state = "succeeded";
    } else if (run.paused) {
      status.state = "paused";
    } else if (!status.awaiting.empty() && !any_running &&
               std::ranges::none_of(status.tasks, [](const TaskStatus& t) {
                 return t.state == "queued" || t.state == "retrying";
               })) {
      status.state = "waiting-approval";
    } else {
      status.state = "running";
    }
    if (status.state != "waiting-approval") status.awaiting.clear();
    return status;
  }

  // The tasks a rollback undoes, in the order it undoes them: every task that started, latest
  // first start first.
  static std::vector<std::string> UndoPlan(const RunFold& run) {
    return {run.start_order.rbegin(), run.start_order.rend()};
  }

  // ---- Scheduling ------------------------------------------------------------------------------

  // Moves every run with news forward: enqueues the tasks that may start, the next undo,
  // announces approvals wanted and terminal states. Idempotent: enqueues are deduplicated.
  Status ScheduleLocked(const std::string& only) {
    FERRY_RETURN_IF_ERROR(CatchUpLocked());
    std::vector<std::string> ids;
    for (auto& [id, run] : runs_) {
      if (!only.empty() && id != only) continue;
      // A resting run changes only by an event (a decision, a task that ends): without one,
      // there is nothing to do, and no store round trip is spent on it.
      if (run.settled && !dirty_.contains(id)) continue;
      ids.push_back(id);
    }
    // One run that cannot be scheduled (its store queries fail) does not hold up the others;
    // it is tried again next round.
    Status first_error;
    for (const std::string& id : ids) {
      dirty_.erase(id);
      Status scheduled = ScheduleRunLocked(id, runs_.at(id));
      if (!scheduled.ok()) {
        runs_.at(id).settled = false;
        if (first_error.ok()) first_error = scheduled;
      }
    }
    return first_error;
  }

  // Appends the event `kind` of run `id` once, however many engines (threads, processes,
  // machines) decide at the same moment that it is due: the announcement is a task of the run's
  // announce queue, deduplicated by `key`, and the engine that claims it appends the event in the
  // same transaction as the task's completion. Returns whether the event is in the log (made
  // here or by another engine); false while another engine holds it (it makes it, or, if it
  // died, its lease runs out and the next round makes it).
  Result<bool> AnnounceLocked(const std::string& id, std::string_view kind, const Json& payload,
                              const std::string& key) {
    const std::string queue = AnnounceQueue(id);
    FERRY_ASSIGN_OR_RETURN(int64_t task_id, store_->Enqueue({.queue = queue,
                                                             .kind = std::string(kind),
                                                             .payload = CanonicalJson(payload),
                                                             .max_attempts = 1000,
                                                             .dedupe_key = key}));
    FERRY_ASSIGN_OR_RETURN(std::vector<Task> claimed,
                           store_->Claim(queue, {.worker = options_.worker,
                                                 .lease_micros = options_.lease_micros,
                                                 .max_tasks = 8}));
    bool made = false;
    for (const Task& task : claimed) {
      Result<Json> event = ParseJson(task.payload, "announcement");
      Status completed =
          store_->Complete(task, "{}",
                           {{.run_id = id,
                             .actor = "engine",
                             .kind = task.kind,
                             .payload = event.has_value() ? *event : Json::object()}});
      if (!completed.ok() && completed.code() != StatusCode::kAborted) return Err(completed);
      if (completed.ok() && task.id == task_id) made = true;
    }
    if (made) return true;
    FERRY_ASSIGN_OR_RETURN(Task task, store_->GetTask(task_id));
    return task.state == TaskState::kDone;
  }

  Status ScheduleRunLocked(const std::string& id, RunFold& run) {
    FERRY_ASSIGN_OR_RETURN(RunStatus status, DeriveLocked(id, run));
    bool announced = true;
    if (run.rollback && status.state == "rolling-back") {
      FERRY_RETURN_IF_ERROR(AdvanceRollbackLocked(id, run, status));
    } else if (status.state == "running") {
      FERRY_RETURN_IF_ERROR(EnqueueReadyLocked(id, run, status));
    } else if (status.state == "waiting-approval" &&
               !run.approval_requested.contains(status.awaiting)) {
      const PhaseSpec* phase = FindPhase(run.spec, status.awaiting);
      FERRY_ASSIGN_OR_RETURN(announced,
                             AnnounceLocked(id, "approval.requested",
                                            {{"phase", status.awaiting}, {"role", phase->approval}},
                                            "approval.requested:" + status.awaiting));
      if (announced) run.approval_requested.insert(status.awaiting);
    }
    const std::string& s = status.state;
    if ((s == "succeeded" || s == "failed" || s == "rolled-back" || s == "rollback-failed") &&
        run.announced != s) {
      Json payload = {{"rows_done", status.rows_done}, {"bytes_done", status.bytes_done}};
      if (!status.error.empty()) payload["error"] = status.error;
      // Once per state per decision: a run fails again after a resume, a rollback fails again
      // after a retry.
      FERRY_ASSIGN_OR_RETURN(announced, AnnounceLocked(id, "run." + s, payload,
                                                       fmt::format("run.{}@{}", s, run.epoch)));
      if (announced) run.announced = s;
    }
    run.settled = announced && Resting(s);
    if (run.state != s) {
      run.state = s;
      store_->UpdateRun(id, s, CanonicalJson(Json{{"error", status.error}})).IgnoreError();
    }
    return OkStatus();
  }

  Status EnqueueReadyLocked(const std::string& id, RunFold& run, const RunStatus& status) {
    std::map<std::string, std::string> state;
    for (const TaskStatus& t : status.tasks) state[t.id] = t.state;
    std::vector<TaskSpec> ready;
    for (size_t i = 0; i < run.spec.phases.size(); ++i) {
      const PhaseSpec& phase = run.spec.phases[i];
      const PhaseStatus& p = status.phases[i];
      if (p.state == "done") continue;
      if (p.state == "pending" || p.state == "waiting-approval") {
        // Not open: an earlier phase is not done, or the approval is missing.
        bool earlier_done = true;
        for (size_t j = 0; j < i; ++j) earlier_done &= status.phases[j].state == "done";
        if (!earlier_done) break;
        if (!phase.approval.empty() && !run.approvals.contains(phase.name)) break;
      }
      if (!run.phases_started.contains(phase.name)) {
        FERRY_ASSIGN_OR_RETURN(bool announced,
                               AnnounceLocked(id, "phase.started", {{"phase", phase.name}},
                                              "phase.started:" + phase.name));
        // Its tasks start after it is in the log, whoever puts it there.
        if (!announced) return OkStatus();
        run.phases_started.insert(phase.name);
      }
      for (const TaskSpec& task : phase.tasks) {
        if (state[task.id] != "waiting") continue;
        const bool deps_done = std::ranges::all_of(
            task.depends_on, [&](const std::string& d) { return state[d] == "done"; });
        if (deps_done) ready.push_back(task);
      }
      break;  // phases run one at a time
    }
    if (ready.empty()) return OkStatus();
    std::vector<ferry::TaskSpec> specs;
    for (const TaskSpec& task : ready) {
      specs.push_back({.queue = TaskQueue(id),
                       .kind = task.type,
                       .payload = CanonicalJson(Json{{"task", task.id}}),
                       .max_attempts = task.retries + 1,
                       .dedupe_key = task.id});
    }
    FERRY_RETURN_IF_ERROR(StatusOf(store_->EnqueueBatch(specs)));
    Wake();
    return OkStatus();
  }

  Status AdvanceRollbackLocked(const std::string& id, RunFold& run, const RunStatus& status) {
    // Nothing is undone while a task of the run still runs: its worker stops it first.
    if (std::ranges::any_of(status.tasks,
                            [](const TaskStatus& t) { return t.state == "running"; })) {
      (void)store_->ReclaimExpired(TaskQueue(id));
      return OkStatus();
    }
    std::map<std::string, std::string> state;
    for (const TaskStatus& t : status.tasks) state[t.id] = t.state;
    for (const std::string& task : UndoPlan(run)) {
      const std::string& s = state[task];
      if (s == "undone") continue;
      if (s == "undoing" || s == "undo-failed") return OkStatus();  // one at a time, in order
      FERRY_RETURN_IF_ERROR(
          StatusOf(store_->Enqueue({.queue = UndoQueue(id),
                                    .kind = "undo",
                                    .payload = CanonicalJson(Json{{"task", task}}),
                                    .max_attempts = 3,
                                    .dedupe_key = task})));
      Wake();
      return OkStatus();
    }
    return OkStatus();
  }

  // ---- Leases of dead processes -----------------------------------------------------------------

  // Every run but the settled ones (`all`: at start, every run not finished).
  void ReleaseDeadLeasesLocked(bool all) {
    for (const auto& [id, run] : runs_) {
      if (run.state == "succeeded" || run.state == "rolled-back") continue;
      if (!all && run.settled) continue;
      for (const std::string& queue : {TaskQueue(id), UndoQueue(id), AnnounceQueue(id)}) {
        // A store error leaves the leases to the next round (or to their expiry).
        Result<std::vector<std::pair<std::string, int64_t>>> released =
            store_->ReleaseLeasesOfGoneWorkers(queue);
        if (!released.has_value()) continue;
        for (const auto& [owner, count] : *released) {
          if (count > 0) {
            LogInfo(fmt::format("run {}: gave back {} task(s) held by {}, a process that is gone",
                                id, count, owner));
          }
        }
      }
    }
  }

  // ---- Workers ---------------------------------------------------------------------------------

  static std::string LiveKey(const std::string& run, const std::string& task) {
    return run + "\n" + task;
  }

  int RunningHere(const std::string& run) {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& [key, p] : live_) {
      if (key.starts_with(run + "\n")) ++n;
    }
    return n;
  }

  // One worker thread: its lease owner id (each thread its own, so that it can give back its
  // own lease without touching its siblings'), and when it stops: on Stop() (the generation
  // moves) or when `finished` turns true (the end of a Drive).
  struct Crew {
    uint64_t generation = 0;
    const std::atomic<bool>* finished = nullptr;
    std::string worker;
  };

  uint64_t Generation() {
    std::lock_guard lock(wake_mu_);
    return generation_;
  }

  // Under wake_mu_.
  bool StoppingLocked(const Crew& crew) const {
    return generation_ != crew.generation || (crew.finished != nullptr && crew.finished->load());
  }

  bool Stopping(const Crew& crew) {
    std::lock_guard lock(wake_mu_);
    return StoppingLocked(crew);
  }

  std::string NextWorkerId() { return fmt::format("{}/{}", options_.worker, ++next_worker_); }

  void WorkLoop(const std::string& only, const Crew& crew) {
    int64_t last_dead_check = env_->MonotonicMicros();
    while (!Stopping(crew)) {
      struct Candidate {
        std::string run_id;
        bool undo = false;
      };
      std::vector<Candidate> candidates;
      {
        std::lock_guard lock(mu_);
        Status scheduled = ScheduleLocked(only);
        if (!scheduled.ok()) {
          LogWarn("workflow scheduling: " + scheduled.ToString());
        }
        if (env_->MonotonicMicros() - last_dead_check > 10'000'000) {
          ReleaseDeadLeasesLocked(/*all=*/false);
          last_dead_check = env_->MonotonicMicros();
        }
        for (auto& [id, run] : runs_) {
          if (!only.empty() && id != only) continue;
          const bool undo = run.rollback && run.state == "rolling-back";
          if (!undo && (run.state != "running" || run.paused || run.cancelled)) continue;
          candidates.push_back({id, undo});
        }
      }
      // Claims go to the store without mu_, so that readers (GetStatus) do not wait on them.
      std::optional<Candidate> claimed_run;
      Task task;
      for (const Candidate& c : candidates) {
        const std::string queue = c.undo ? UndoQueue(c.run_id) : TaskQueue(c.run_id);
        Result<std::vector<Task>> tasks =
            store_->Claim(queue, {.worker = crew.worker, .lease_micros = options_.lease_micros});
        if (tasks.has_value() && !tasks->empty()) {
          claimed_run = c;
          task = std::move(tasks->front());
          break;
        }
      }
      if (claimed_run && !claimed_run->undo && !MayStart(claimed_run->run_id)) {
        // A rollback, a cancel or a pause came after the round that chose this run: the task
        // did not start, and goes back without counting as an attempt.
        (void)store_->ReleaseLeases(task.queue, crew.worker);
        claimed_run.reset();
      }
      if (!claimed_run) {
        std::unique_lock lock(wake_mu_);
        if (StoppingLocked(crew)) break;
        wake_.wait_for(lock, std::chrono::microseconds(options_.poll_micros));
        continue;
      }
      const std::string live_key = LiveKey(claimed_run->run_id, PayloadTask(task));
      {
        std::lock_guard lock(mu_);
        live_[live_key] = {};
      }
      if (claimed_run->undo) {
        RunUndo(claimed_run->run_id, task, crew);
      } else {
        RunTask(claimed_run->run_id, task, crew);
      }
      {
        std::lock_guard lock(mu_);
        live_.erase(live_key);
      }
      Wake();
    }
  }

  // Whether a task of the run claimed now may start: not when a rollback, a cancel or a pause
  // is in the log.
  bool MayStart(const std::string& run_id) {
    std::lock_guard lock(mu_);
    if (!CatchUpLocked().ok()) return true;  // the supervisor catches up again
    auto it = runs_.find(run_id);
    return it == runs_.end() ||
           (!it->second.rollback && !it->second.cancelled && !it->second.paused);
  }

  // Why an attempt is being stopped; empty while it may go on.
  struct Watch {
    std::atomic<bool> cancelled{false};
    std::mutex mu;
    std::string reason;
    bool shutdown = false;
    bool lease_lost = false;
    void Cancel(std::string why, bool is_shutdown = false, bool lost = false) {
      std::lock_guard lock(mu);
      if (cancelled) return;
      reason = std::move(why);
      shutdown = is_shutdown;
      lease_lost = lost;
      cancelled = true;
    }
  };

  // Heartbeats the lease, and cancels the attempt on timeout, lease loss, run cancel or rollback,
  // and shutdown; returns when `done` turns true.
  void Supervise(const std::string& run_id, const Task& task, int64_t timeout_micros,
                 std::atomic<bool>& done, Watch& watch, const Crew& crew) {
    const int64_t start = env_->MonotonicMicros();
    int64_t last_beat = start;
    while (!done) {
      {
        std::unique_lock lock(wake_mu_);
        wake_.wait_for(lock, std::chrono::milliseconds(50));
        if (StoppingLocked(crew)) watch.Cancel("ferry is shutting down", /*is_shutdown=*/true);
      }
      if (done) break;
      const int64_t now = env_->MonotonicMicros();
      if (timeout_micros > 0 && now - start >= timeout_micros) {
        watch.Cancel(
            fmt::format("timed out after {} (its `timeout`); raise the timeout in the "
                        "run spec if the work needs longer",
                        Micros(timeout_micros)));
      }
      if (now - last_beat >= options_.heartbeat_micros) {
        last_beat = now;
        Status beat = store_->Heartbeat(task, options_.lease_micros);
        if (beat.code() == StatusCode::kAborted) {
          watch.Cancel(beat.message(), false, /*lost=*/true);
        }
        std::lock_guard lock(mu_);
        CatchUpLocked().IgnoreError();
      }
      {
        std::lock_guard lock(mu_);
        auto it = runs_.find(run_id);
        if (it != runs_.end() && it->second.rollback && !task.queue.starts_with("undo:")) {
          watch.Cancel("the run is being rolled back");
        } else if (it != runs_.end() && it->second.cancelled && !task.queue.starts_with("undo:")) {
          watch.Cancel("the run was cancelled");
        }
      }
    }
  }

  TaskRun MakeTaskRun(const std::string& run_id, const TaskSpec* spec, int attempt, Watch& watch) {
    TaskRun run;
    run.spec = spec;
    run.run_id = run_id;
    run.attempt = attempt;
    run.store_url = options_.store_url;
    run.ferry_path = options_.ferry_path;
    run.work_dir = ArtifactDir(run_id);
    run.env = env_;
    run.cancelled = [&watch] { return watch.cancelled.load(); };
    return run;
  }

  const TaskSpec* FindTask(const RunFold& run, const std::string& task_id) {
    for (const PhaseSpec& phase : run.spec.phases) {
      for (const TaskSpec& task : phase.tasks) {
        if (task.id == task_id) return &task;
      }
    }
    return nullptr;
  }

  void RunTask(const std::string& run_id, const Task& task, const Crew& crew) {
    const std::string task_id = PayloadTask(task);
    const TaskSpec* spec = nullptr;
    bool need_snapshot = false;
    {
      std::lock_guard lock(mu_);
      auto it = runs_.find(run_id);
      if (it != runs_.end()) {
        spec = FindTask(it->second, task_id);
        need_snapshot = !it->second.snapshots.contains(task_id);
      }
    }
    const std::string actor = "worker:" + crew.worker;
    if (spec == nullptr) {
      store_
          ->Fail(task, fmt::format("task {} is not in the run's spec", task_id), 0,
                 {{.run_id = run_id,
                   .actor = actor,
                   .kind = "task.failed",
                   .payload = {{"task", task_id}, {"error", "not in the spec"}}}})
          .IgnoreError();
      return;
    }
    Watch watch;
    TaskRun run = MakeTaskRun(run_id, spec, task.attempts, watch);
    std::error_code ec;
    std::filesystem::create_directories(run.work_dir, ec);

    Json started = {{"task", task_id},
                    {"type", spec->type},
                    {"attempt", task.attempts},
                    {"max_attempts", task.max_attempts},
                    {"worker", crew.worker}};
    if (need_snapshot) {
      Result<Json> snapshot = options_.executor.snapshot(run);
      if (!snapshot.has_value()) {
        FinishFailed(run_id, task, *spec, actor,
                     fmt::format("task {}: could not record the state before it (for its undo): {}",
                                 task_id, snapshot.error().message()));
        return;
      }
      started["snapshot"] = std::move(*snapshot);
    }
    if (Status appended = Append(run_id, actor, "task.started", std::move(started));
        !appended.ok()) {
      // Not started: the task goes back now rather than when its lease runs out.
      LogWarn(fmt::format("run {} task {}: {}", run_id, task_id, appended.ToString()));
      (void)store_->ReleaseLeases(task.queue, crew.worker);
      return;
    }
    ++tasks_started_;
    ++tasks_running_;

    int64_t last_progress_event = 0;
    TaskProgress last_progress;
    std::mutex progress_mu;
    run.progress = [&](const TaskProgress& p) {
      {
        std::lock_guard lock(mu_);
        live_[LiveKey(run_id, task_id)] = p;
      }
      std::lock_guard lock(progress_mu);
      last_progress = p;
      const int64_t now = env_->MonotonicMicros();
      if (now - last_progress_event >= options_.progress_event_micros) {
        last_progress_event = now;
        Append(run_id, actor, "task.progress",
               {{"task", task_id},
                {"rows_done", p.rows_done},
                {"rows_total", p.rows_total},
                {"bytes_done", p.bytes_done},
                {"bytes_total", p.bytes_total},
                {"detail", p.detail}})
            .IgnoreError();
      }
    };

    std::atomic<bool> done{false};
    std::thread supervisor(
        [&] { Supervise(run_id, task, spec->timeout_micros, done, watch, crew); });
    const int64_t start = env_->MonotonicMicros();
    Result<Json> result = options_.executor.execute(run);
    done = true;
    supervisor.join();
    --tasks_running_;
    const double seconds = static_cast<double>(env_->MonotonicMicros() - start) / 1e6;

    TaskProgress final_progress;
    {
      std::lock_guard lock(progress_mu);
      final_progress = last_progress;
    }
    if (watch.shutdown) {
      // The task goes back at once, without counting as an attempt, and runs again later.
      (void)store_->ReleaseLeases(task.queue, crew.worker);
      return;
    }
    if (watch.lease_lost) {
      LogWarn(fmt::format("run {} task {}: {}", run_id, task_id, watch.reason));
      return;
    }
    if (result.has_value() && !watch.cancelled) {
      Json value = result->is_object() ? std::move(*result) : Json{{"value", *result}};
      const int64_t rows = value.value("rows", final_progress.rows_done);
      const int64_t bytes = value.value("bytes", final_progress.bytes_done);
      final_progress.rows_done = std::max(final_progress.rows_done, rows);
      final_progress.bytes_done = std::max(final_progress.bytes_done, bytes);
      Json event = {{"task", task_id},
                    {"attempt", task.attempts},
                    {"seconds", seconds},
                    {"progress",
                     {{"rows_done", final_progress.rows_done},
                      {"rows_total", final_progress.rows_total},
                      {"bytes_done", final_progress.bytes_done},
                      {"bytes_total", final_progress.bytes_total}}},
                    {"result", value}};
      Status completed = store_->Complete(
          task, CanonicalJson(value),
          {{.run_id = run_id, .actor = actor, .kind = "task.completed", .payload = event}});
      if (completed.ok()) {
        ++tasks_completed_;
        rows_moved_ += final_progress.rows_done;
        bytes_moved_ += final_progress.bytes_done;
      } else {
        LogWarn(fmt::format("run {} task {}: {}", run_id, task_id, completed.ToString()));
      }
      return;
    }
    std::string error;
    bool give_up = false;
    if (watch.cancelled) {
      std::lock_guard lock(watch.mu);
      error = fmt::format("task {} stopped: {}", task_id, watch.reason);
    } else {
      error = result.error().message();
      // A capability ferry does not have, or a parameter the spec got wrong: no retry mends it.
      const StatusCode code = result.error().code();
      give_up = code == StatusCode::kUnimplemented || code == StatusCode::kInvalidArgument;
    }
    FinishFailed(run_id, task, *spec, actor, error, give_up);
  }

  void FinishFailed(const std::string& run_id, const Task& task, const TaskSpec& spec,
                    const std::string& actor, const std::string& error, bool give_up = false) {
    ++tasks_failed_;
    const bool last = give_up || task.attempts >= task.max_attempts;
    int64_t delay = spec.backoff_micros;
    for (int i = 1; i < task.attempts && delay < 3'600'000'000; ++i) delay *= 2;
    delay = std::min<int64_t>(delay, 3'600'000'000);
    Json payload = {{"task", spec.id},
                    {"attempt", task.attempts},
                    {"max_attempts", task.max_attempts},
                    {"error", error},
                    {"final", last}};
    if (!last) payload["retry_in_seconds"] = static_cast<double>(delay) / 1e6;
    Status failed = store_->Fail(
        task, error, last ? 0 : delay,
        {{.run_id = run_id, .actor = actor, .kind = "task.failed", .payload = std::move(payload)}},
        give_up);
    if (!failed.ok()) {
      LogWarn(fmt::format("run {} task {}: {}", run_id, spec.id, failed.ToString()));
    }
  }

  void RunUndo(const std::string& run_id, const Task& task, const Crew& crew) {
    const std::string task_id = PayloadTask(task);
    const TaskSpec* spec = nullptr;
    Json snapshot = Json::object();
    Json result;  // null: the task did not complete
    {
      std::lock_guard lock(mu_);
      auto it = runs_.find(run_id);
      if (it != runs_.end()) {
        spec = FindTask(it->second, task_id);
        if (auto s = it->second.snapshots.find(task_id); s != it->second.snapshots.end()) {
          snapshot = s->second;
        }
      }
    }
    Result<std::vector<Task>> tasks = store_->ListTasks(TaskQueue(run_id));
    if (tasks.has_value()) {
      for (const Task& t : *tasks) {
        if (PayloadTask(t) == task_id && t.state == TaskState::kDone) {
          if (Result<Json> r = ParseJson(t.result, "task result"); r.has_value()) result = *r;
        }
      }
    }
    const std::string actor = "worker:" + crew.worker;
    if (spec == nullptr) {
      store_->Fail(task, fmt::format("task {} is not in the run's spec", task_id), 0).IgnoreError();
      return;
    }
    Watch watch;
    TaskRun run = MakeTaskRun(run_id, spec, task.attempts, watch);
    std::atomic<bool> done{false};
    std::thread supervisor([&] { Supervise(run_id, task, 0, done, watch, crew); });
    Result<Json> undone = options_.executor.undo(run, snapshot, result);
    done = true;
    supervisor.join();
    if (watch.shutdown) (void)store_->ReleaseLeases(task.queue, crew.worker);
    if (watch.shutdown || watch.lease_lost) return;
    if (undone.has_value()) {
      store_
          ->Complete(task, CanonicalJson(*undone),
                     {{.run_id = run_id,
                       .actor = actor,
                       .kind = "task.undone",
                       .payload = {{"task", task_id},
                                   {"type", spec->type},
                                   {"completed", !result.is_null()},
                                   {"did", *undone}}}})
          .IgnoreError();
      return;
    }
    store_
        ->Fail(task, undone.error().message(), 1'000'000,
               {{.run_id = run_id,
                 .actor = actor,
                 .kind = "task.undo-failed",
                 .payload = {{"task", task_id},
                             {"attempt", task.attempts},
                             {"error", undone.error().message()}}}})
        .IgnoreError();
  }

  Store* const store_;
  EngineOptions options_;
  Env* env_ = nullptr;

  std::mutex mu_;       // guards everything below up to wake_mu_
  int64_t cursor_ = 0;  // the last event read
  bool cursor_known_ = false;
  bool follow_all_ = false;  // every workflow run, not only those asked about
  std::map<std::string, RunFold> runs_;
  std::set<std::string> not_ours_;
  std::map<std::string, Status> broken_;  // workflow runs whose spec does not parse, and why
  std::set<std::string> dirty_;
  std::map<std::string, TaskProgress> live_;  // tasks running in this process

  std::mutex wake_mu_;  // guards generation_; wake_ wakes workers and Drive
  std::condition_variable wake_;
  uint64_t generation_ = 0;  // moved by Stop()
  int drives_ = 0;           // Drive calls running
  std::condition_variable drives_done_;

  std::mutex workers_mu_;
  std::vector<std::thread> workers_;  // RunWorkers'
  std::atomic<int> next_worker_{0};

  std::atomic<int64_t> tasks_started_{0}, tasks_completed_{0}, tasks_failed_{0}, tasks_running_{0},
      rows_moved_{0}, bytes_moved_{0};
};

// ---------------------------------------------------------------------------------------------

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::Create(Store* store, EngineOptions options) {
  if (store == nullptr) return Err(InvalidArgument("the run engine needs a store"));
  return std::unique_ptr<Engine>(new Engine(std::make_unique<Impl>(store, std::move(options))));
}

Result<std::string> Engine::Start(std::string_view yaml, std::string_view source,
                                  const Actor& actor) {
  return impl_->Start(yaml, source, actor);
}
Status Engine::Approve(std::string_view run_id, std::string_view phase, const Actor& actor) {
  return impl_->Approve(run_id, phase, actor);
}
Status Engine::Pause(std::string_view run_id, const Actor& actor) {
  return impl_->Pause(run_id, actor);
}
Status Engine::Resume(std::string_view run_id, const Actor& actor) {
  return impl_->Resume(run_id, actor);
}
Status Engine::Cancel(std::string_view run_id, const Actor& actor) {
  return impl_->Cancel(run_id, actor);
}
Status Engine::Rollback(std::string_view run_id, const Actor& actor) {
  return impl_->Rollback(run_id, actor);
}
Result<RunStatus> Engine::GetStatus(std::string_view run_id) { return impl_->GetStatus(run_id); }
Result<std::vector<RunSummary>> Engine::ListRuns(int limit) { return impl_->ListRuns(limit); }
Result<std::vector<std::string>> Engine::ListArtifacts(std::string_view run_id) {
  return impl_->ListArtifacts(run_id);
}
std::string Engine::ArtifactDir(std::string_view run_id) const {
  return impl_->ArtifactDir(run_id);
}
EngineMetrics Engine::Metrics() const { return impl_->Metrics(); }
Status Engine::RunWorkers(int threads) { return impl_->RunWorkers(threads); }
void Engine::Stop() { impl_->Stop(); }
Result<RunStatus> Engine::Drive(std::string_view run_id, int threads,
                                const std::function<void(const RunStatus&)>& on_change) {
  return impl_->Drive(run_id, threads, on_change);
}

}  // namespace ferry::workflow
