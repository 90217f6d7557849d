// What each task type does, and how it is undone (docs/workflow.md "Task types"). The engine
// (engine.h) decides when a task runs, retries it and records it; an executor only does the work
// of one attempt and reports on it.
//
// Contract for every executor:
// - Work that ferry itself does is idempotent across attempts: an attempt interrupted by a crash
//   is run again, and must converge on the same end state (a copy resumes its chunks, IaC files
//   are rewritten atomically, checks only read).
// - `run.cancelled()` is polled at least every 100 ms in long work (or the child process killed):
//   it turns true on cancel, timeout and shutdown, and the attempt must then return kCancelled
//   promptly.
// - Errors name the task, the thing (URL with password redacted, path, host:port) and the way out.
// - A type marked unavailable (TaskType::available false) fails with kUnimplemented saying so.
#ifndef FERRY_WORKFLOW_EXECUTORS_H_
#define FERRY_WORKFLOW_EXECUTORS_H_

#include <cstdint>
#include <functional>
#include <string>

#include "base/env.h"
#include "base/json.h"
#include "base/status.h"
#include "workflow/run_spec.h"

namespace ferry::workflow {

// Live progress of one attempt: rows and bytes done of totals (-1: not known).
struct TaskProgress {
  int64_t rows_done = 0;
  int64_t rows_total = -1;
  int64_t bytes_done = 0;
  int64_t bytes_total = -1;
  std::string detail;  // e.g. the table being copied
};

struct TaskRun {
  const TaskSpec* spec = nullptr;  // id, type, `with`
  std::string run_id;
  int attempt = 1;         // 1 for the first
  std::string store_url;   // the store the engine uses; `ferry copy` keeps its own run there
  std::string ferry_path;  // the ferry binary, for the types that run a ferry command
  std::string work_dir;    // this run's directory for artifacts (created by the engine)
  std::function<bool()> cancelled = [] { return false; };
  std::function<void(const TaskProgress&)> progress = [](const TaskProgress&) {};
  Env* env = nullptr;
};

// Before a task's first attempt: what the undo will need to restore the state before the task
// (for `copy`, the target tables that already existed). Kept durably with the task's first
// `task.started` event and handed to UndoTask. Json::object() when the type needs nothing.
[[nodiscard]] Result<Json> SnapshotTask(const TaskRun& run);

// One attempt of the task. The result (JSON object) is kept with the completed task and shown in
// the API: what the task found or did (rows copied, latency measured, files written...).
// `artifacts` in the result (array of paths under work_dir) are listed as the run's artifacts.
[[nodiscard]] Result<Json> ExecuteTask(const TaskRun& run);

// Undoes the task given its snapshot and, when it completed, its result (Json() when it did not
// complete: a rollback also undoes a task that failed or was interrupted part-way, since a copy
// that failed half-way has written to the target). Idempotent: undoing twice is harmless.
// Returns what was done, for the `task.undone` event.
[[nodiscard]] Result<Json> UndoTask(const TaskRun& run, const Json& snapshot, const Json& result);

}  // namespace ferry::workflow

#endif  // FERRY_WORKFLOW_EXECUTORS_H_
