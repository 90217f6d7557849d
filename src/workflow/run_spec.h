// A migration run, declared in YAML: its phases, their tasks and the dependencies between them
// (docs/workflow.md). This is the declaration only: parsing, checking and ordering. Running it
// durably through the store's work queue builds on it.
//
//   run: bank-migration
//   phases:
//     - name: preflight
//       tasks:
//         - {id: source-reachable, type: check.connect, with: {url: "postgresql://app@db/bank"}}
//     - name: replicate
//       approval: operator          # a user with this role (or admin) must approve the phase
//       tasks:
//         - id: copy-bank
//           type: copy
//           with: {from: "postgresql://app@db/bank", to: "sqlite:///srv/bank.db"}
//           depends_on: [source-reachable]
//           retries: 3              # attempts after the first, with exponential backoff
//           backoff: 10s            # the first retry's delay (doubled each time)
//           timeout: 2h
//
// Phases run in order: a phase starts once every task of the previous one has completed. Within
// a phase, tasks run as their `depends_on` allow; a task may depend on a task of its own phase
// or an earlier one, never a later one.
#ifndef FERRY_WORKFLOW_RUN_SPEC_H_
#define FERRY_WORKFLOW_RUN_SPEC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/json.h"
#include "base/status.h"

namespace ferry::workflow {

// Who asks. Roles, from least to most: viewer (reads), operator (starts, pauses, resumes,
// cancels, rolls back, approves), admin (everything, and manages API keys).
enum class Role { kViewer = 0, kOperator = 1, kAdmin = 2 };
std::string_view RoleName(Role role);
// kInvalidArgument "role `X`: expected admin, operator or viewer" for anything else.
Result<Role> ParseRole(std::string_view name);

// What a task type does and how it is undone (a rollback runs the undos of completed tasks in
// reverse order).
struct TaskType {
  std::string_view name;  // "copy", "check.connect", ...
  std::string_view does;
  std::string_view undo;
  // A capability ferry does not have yet: a run that uses it says so when the task runs, rather
  // than pretending it ran.
  bool available = true;
};

// Every task type a run spec may name, in a fixed order.
const std::vector<TaskType>& TaskTypes();
const TaskType* FindTaskType(std::string_view name);

struct TaskSpec {
  std::string id;
  std::string type;
  Json with = Json::object();  // the type's parameters (strings)
  std::vector<std::string> depends_on;
  int retries = 0;
  int64_t backoff_micros = 5'000'000;
  int64_t timeout_micros = 0;  // 0: none
};

struct PhaseSpec {
  std::string name;
  std::string approval;  // the role that must approve before the phase starts; empty: none
  std::vector<TaskSpec> tasks;
};

struct RunSpec {
  std::string name;
  std::vector<PhaseSpec> phases;

  // Every task's id in an order that respects the phases and the dependencies: phase by phase,
  // and within a phase by dependencies, ties in declaration order.
  std::vector<std::string> ExecutionOrder() const;
};

// Parses and checks a run spec. Errors are InvalidArgument "<source>:<line>:<column>: ..." and
// name the way out: malformed YAML, an unknown key (with the closest known one), a missing id or
// type, an unknown task type (listing the known ones), a duplicate id, a dependency on a task that
// does not exist or belongs to a later phase, a dependency cycle (naming it: a -> b -> a), an
// approval role other than admin, operator or viewer.
[[nodiscard]] Result<RunSpec> ParseRunSpec(std::string_view text, std::string_view source,
                                           Env* env);

// The default template: the migration journey (pre-flight, provision, replicate, configure,
// smoke tests, cutover, validate, decommission) for a source and a target URL.
std::string DefaultRunTemplate(std::string_view source_url, std::string_view target_url);

}  // namespace ferry::workflow

#endif  // FERRY_WORKFLOW_RUN_SPEC_H_
