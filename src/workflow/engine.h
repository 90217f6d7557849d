// The durable run engine (docs/workflow.md "Running"): runs a RunSpec through the store's work
// queue so that a run survives the crash of the process running it.
//
// Where each fact lives:
// - what was asked and every decision (start, approve, pause, resume, cancel, rollback) is an
//   event of the run in the store's hash-chained event log, with its actor: the control state of
//   a run is the fold of those events, so two processes never lose each other's decision;
// - each task of the spec is one task of the queue "run:<id>", enqueued (deduplicated by its id)
//   once its phase is open and its dependencies are done; its completion is fenced by the lease,
//   so no task completes twice, and its `task.completed` event is written in the same
//   transaction;
// - a rollback's undos are the tasks of queue "undo:<id>", one at a time, in reverse order of
//   the tasks' starts;
// - announcements (phase.started, approval.requested, run.succeeded...) are tasks of queue
//   "announce:<id>", deduplicated by what they announce, so two engines announce each once;
// - the run record (Store::GetRun) caches the derived state for listings.
//
// A process that dies holding a lease (SIGKILL) leaves the task leased; the next engine on the
// same host gives such leases back at once (the holder's pid is gone), others wait for the
// lease to expire (EngineOptions::lease_micros). The task then runs again: task types are
// idempotent across attempts (executors.h).
//
// Thread-safety: all methods may be called from any thread.
#ifndef FERRY_WORKFLOW_ENGINE_H_
#define FERRY_WORKFLOW_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/json.h"
#include "base/status.h"
#include "store/store.h"
#include "workflow/executors.h"
#include "workflow/run_spec.h"

namespace ferry::workflow {

struct Actor {
  std::string name;  // "cli:alice", "key:ci-deployer", "console:bob"
  Role role = Role::kViewer;
};

// Run states. Resting states: waiting-approval, paused, succeeded, failed, cancelled,
// rolled-back, rollback-failed.
//   running           tasks are being run
//   waiting-approval  the next phase needs an approval (RunStatus::awaiting names it)
//   paused            no new task starts; resume continues
//   succeeded         every task completed
//   failed            a task failed for good (RunStatus::error says which and the way out)
//   cancelled         stopped for good; roll it back or start a new run
//   rolling-back      undoing
//   rolled-back       every undo done
//   rollback-failed   an undo failed for good (RunStatus::error); rollback again to retry
struct TaskStatus {
  std::string id;
  std::string type;
  std::string phase;
  // waiting (dependencies or phase not ready), queued, running, retrying (failed an attempt,
  // will run again after backoff), done, failed, undoing, undone, undo-failed
  std::string state;
  int attempts = 0;
  int max_attempts = 1;
  std::string error;  // the last attempt's error
  int64_t started_micros = 0;
  int64_t finished_micros = 0;
  TaskProgress progress;       // live, while running in this process (else the last reported)
  double rows_per_second = 0;  // over the attempt so far
  double eta_seconds = -1;     // -1: not known
  Json result;                 // the executor's result when done; null otherwise
};

struct PhaseStatus {
  std::string name;
  std::string approval;  // the role required; empty: none
  std::string state;     // pending, waiting-approval, running, done, failed
  std::string approved_by;
  int64_t approved_micros = 0;
};

struct RunStatus {
  std::string id;
  std::string name;  // the spec's `run:`
  std::string state;
  std::string awaiting;  // the phase waiting for approval, when state is waiting-approval
  std::string error;     // what failed and the way out, when failed or rollback-failed
  std::string started_by;
  int64_t created_micros = 0;
  int64_t updated_micros = 0;
  std::vector<PhaseStatus> phases;
  std::vector<TaskStatus> tasks;  // in execution order
  int64_t rows_done = 0;          // summed over tasks
  int64_t bytes_done = 0;
  std::string spec_yaml;  // the spec as started
};

struct RunSummary {
  std::string id;
  std::string name;
  std::string state;
  int64_t created_micros = 0;
  int64_t updated_micros = 0;
  int tasks_total = 0;
  int tasks_done = 0;
};

// How tasks are done: the task types' executors (executors.h) unless a test injects its own to
// drive the engine's state machine through chosen outcomes.
struct TaskExecutor {
  std::function<Result<Json>(const TaskRun&)> snapshot;
  std::function<Result<Json>(const TaskRun&)> execute;
  std::function<Result<Json>(const TaskRun&, const Json&, const Json&)> undo;
};
TaskExecutor DefaultTaskExecutor();

struct EngineOptions {
  std::string store_url;   // passed to tasks that run ferry commands (copy, verify)
  std::string ferry_path;  // the ferry binary (default: /proc/self/exe)
  std::string work_dir;    // artifacts: <work_dir>/<run id>/ (default: ./ferry-runs)
  std::string worker;      // lease owner (default: "<hostname>:<pid>")
  int64_t lease_micros = 15'000'000;
  int64_t heartbeat_micros = 2'000'000;
  int64_t poll_micros = 200'000;              // idle wait between scheduling rounds
  int64_t progress_event_micros = 2'000'000;  // task.progress events at most this often per task
  Env* env = nullptr;
  TaskExecutor executor;  // empty functions: DefaultTaskExecutor()'s
};

// Counts for /metrics.
struct EngineMetrics {
  int64_t tasks_started = 0;
  int64_t tasks_completed = 0;
  int64_t tasks_failed_attempts = 0;
  int64_t tasks_running = 0;
  int64_t rows_moved = 0;
  int64_t bytes_moved = 0;
};

class Engine {
 public:
  // `store` is not owned and must outlive the engine.
  static Result<std::unique_ptr<Engine>> Create(Store* store, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // ---- Control. Each is an event with the actor; errors are precise and change nothing:
  // kPermissionDenied for a role below operator (approve: below the phase's role, naming both),
  // kNotFound for an unknown run, kFailedPrecondition for a transition the state does not allow
  // (resume of a cancelled run, approve of a phase not awaiting one...), naming the way out.

  // Parses and checks `yaml` (errors positioned in `source`), records the run and returns its id.
  // It runs when an engine's workers pick it up (RunWorkers, or Drive).
  Result<std::string> Start(std::string_view yaml, std::string_view source, const Actor& actor);
  Status Approve(std::string_view run_id, std::string_view phase, const Actor& actor);
  Status Pause(std::string_view run_id, const Actor& actor);
  Status Resume(std::string_view run_id, const Actor& actor);  // also retries a failed run
  Status Cancel(std::string_view run_id, const Actor& actor);
  Status Rollback(std::string_view run_id, const Actor& actor);

  // ---- Reading
  Result<RunStatus> GetStatus(std::string_view run_id);
  Result<std::vector<RunSummary>> ListRuns(int limit = 100);
  // The run's artifacts: paths relative to its work directory.
  Result<std::vector<std::string>> ListArtifacts(std::string_view run_id);
  std::string ArtifactDir(std::string_view run_id) const;
  EngineMetrics Metrics() const;

  // ---- Working
  // Starts `threads` worker threads that schedule and run the tasks of every active run in the
  // store until Stop() (or destruction). Gives back, first, the leases of dead processes of this
  // host.
  Status RunWorkers(int threads);
  void Stop();
  // Works in the calling thread on one run until it reaches a resting state, then returns it
  // (what `ferry run start` and `ferry run resume` do in the foreground). `on_change` is called
  // after each state change and at most every second while tasks run, for progress display.
  Result<RunStatus> Drive(std::string_view run_id, int threads,
                          const std::function<void(const RunStatus&)>& on_change = {});

 private:
  class Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::workflow

#endif  // FERRY_WORKFLOW_ENGINE_H_
