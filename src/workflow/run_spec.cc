#include "workflow/run_spec.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/config.h"

namespace ferry::workflow {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer: return "viewer";
    case Role::kOperator: return "operator";
    case Role::kAdmin: return "admin";
  }
  return "viewer";
}

Result<Role> ParseRole(std::string_view name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "operator") return Role::kOperator;
  if (name == "admin") return Role::kAdmin;
  return Err(InvalidArgument("role `{}`: expected admin, operator or viewer", name));
}

const std::vector<TaskType>& TaskTypes() {
  static const std::vector<TaskType> types = {
      {"check.connect", "opens the database at `url` and lists its tables", "nothing (read-only)"},
      {"check.disk", "checks `path` has `free` bytes free", "nothing (read-only)"},
      {"check.version", "reads the server version of `url` and compares it with `min`",
       "nothing (read-only)"},
      {"check.credentials", "logs in to `url` with the credentials it names",
       "nothing (read-only)"},
      {"check.quota", "compares the plan's sizing with the cloud account's quotas",
       "nothing (read-only)", false},
      {"iac.write", "writes the IaC of `ferry iac` for `plan` into `dir`",
       "deletes the files it wrote"},
      {"command", "runs `run` (a configured command), with `undo` as its undo",
       "runs the task's `undo` command, if it has one"},
      {"copy", "ferry copy from `from` to `to` (tables, jobs as options)",
       "drops the target tables the copy created, or empties those it filled"},
      {"verify", "ferry verify of `from` against `to`", "nothing (read-only)"},
      {"validate.baseline",
       "compares the performance baseline of `after` (the migrated host's inventory) with "
       "`before`: each metric's p95 within `tolerance`",
       "nothing (read-only)"},
      {"smoke.http", "GET `url` and expects `status` (200)", "nothing (read-only)"},
      {"smoke.sql", "runs `sql` (SELECT 1) on `url`", "nothing (read-only)"},
      {"smoke.tls", "checks the certificate of `host:port` is valid for `days` more days",
       "nothing (read-only)"},
      {"smoke.dns", "resolves `name` and expects `address`", "nothing (read-only)"},
      {"smoke.latency", "measures round trips to `host:port` against `budget`",
       "nothing (read-only)"},
      {"cutover", "switches the application to the target through configured commands",
       "switches back through the same commands' undo"},
      {"decommission", "retires the source through a configured command",
       "none: a decommission is final, so it is always behind an approval", false},
  };
  return types;
}

const TaskType* FindTaskType(std::string_view name) {
  for (const TaskType& t : TaskTypes()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

namespace {

struct Declared {
  TaskSpec task;
  size_t phase = 0;
  ConfigNode node;  // for messages at the task's position
};

Result<TaskSpec> ParseTask(const ConfigNode& node) {
  FERRY_RETURN_IF_ERROR(
      node.CheckKnownKeys({"id", "type", "with", "depends_on", "retries", "backoff", "timeout"}));
  TaskSpec t;
  FERRY_ASSIGN_OR_RETURN(std::optional<std::string> id, node.GetString("id"));
  if (!id || id->empty()) return Err(node.Invalid("", "a task needs an `id`"));
  t.id = *id;
  FERRY_ASSIGN_OR_RETURN(std::optional<std::string> type, node.GetString("type"));
  if (!type) return Err(node.Invalid("", fmt::format("task `{}` needs a `type`", t.id)));
  if (FindTaskType(*type) == nullptr) {
    std::vector<std::string_view> known;
    for (const TaskType& k : TaskTypes()) known.push_back(k.name);
    return Err(node.Invalid("type", fmt::format("unknown task type `{}`; the types are {}", *type,
                                                fmt::join(known, ", "))));
  }
  t.type = *type;
  const ConfigNode with = node.Child("with");
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> keys, with.Keys());
  for (const std::string& key : keys) {
    FERRY_ASSIGN_OR_RETURN(std::optional<std::string> value, with.GetString(key));
    if (value) t.with[key] = *value;
  }
  FERRY_ASSIGN_OR_RETURN(t.depends_on, node.GetStringList("depends_on"));
  FERRY_ASSIGN_OR_RETURN(std::optional<int64_t> retries, node.GetInt("retries"));
  if (retries && (*retries < 0 || *retries > 100)) {
    return Err(node.Invalid("retries", "expected 0 to 100 retries"));
  }
  t.retries = static_cast<int>(retries.value_or(0));
  FERRY_ASSIGN_OR_RETURN(std::optional<int64_t> backoff, node.GetDurationMicros("backoff"));
  t.backoff_micros = backoff.value_or(t.backoff_micros);
  FERRY_ASSIGN_OR_RETURN(std::optional<int64_t> timeout, node.GetDurationMicros("timeout"));
  t.timeout_micros = timeout.value_or(0);
  return t;
}

// A dependency cycle among `tasks` as "a -> b -> a", or empty.
std::string FindCycle(const std::vector<Declared>& tasks,
                      const std::map<std::string, size_t>& index) {
  std::vector<int> state(tasks.size(), 0);  // 0 new, 1 on the path, 2 done
  std::vector<size_t> path;
  std::string cycle;
  auto visit = [&](auto& self, size_t i) -> bool {
    state[i] = 1;
    path.push_back(i);
    for (const std::string& dep : tasks[i].task.depends_on) {
      const size_t j = index.at(dep);
      if (state[j] == 1) {
        auto from = std::find(path.begin(), path.end(), j);
        std::vector<std::string> names;
        for (auto it = from; it != path.end(); ++it) names.push_back(tasks[*it].task.id);
        names.push_back(tasks[j].task.id);
        cycle = fmt::format("{}", fmt::join(names, " -> "));
        return true;
      }
      if (state[j] == 0 && self(self, j)) return true;
    }
    path.pop_back();
    state[i] = 2;
    return false;
  };
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (state[i] == 0 && visit(visit, i)) return cycle;
  }
  return "";
}

}  // namespace

Result<RunSpec> ParseRunSpec(std::string_view text, std::string_view source, Env* env) {
  FERRY_ASSIGN_OR_RETURN(ConfigDocument doc, ParseConfig(text, source, env));
  const ConfigNode root = doc.root();
  FERRY_RETURN_IF_ERROR(root.CheckKnownKeys({"run", "phases"}));
  RunSpec spec;
  FERRY_ASSIGN_OR_RETURN(std::optional<std::string> name, root.GetString("run"));
  if (!name || name->empty()) return Err(root.Invalid("", "a run spec needs `run: NAME`"));
  spec.name = *name;
  FERRY_ASSIGN_OR_RETURN(std::vector<ConfigNode> phases, root.GetList("phases"));
  if (phases.empty()) return Err(root.Invalid("phases", "a run needs at least one phase"));
  std::vector<Declared> declared;
  std::map<std::string, size_t> index;
  std::set<std::string> phase_names;
  for (size_t p = 0; p < phases.size(); ++p) {
    const ConfigNode& node = phases[p];
    FERRY_RETURN_IF_ERROR(node.CheckKnownKeys({"name", "approval", "tasks"}));
    PhaseSpec phase;
    FERRY_ASSIGN_OR_RETURN(std::optional<std::string> phase_name, node.GetString("name"));
    if (!phase_name || phase_name->empty()) {
      return Err(node.Invalid("", "a phase needs a `name`"));
    }
    if (!phase_names.insert(*phase_name).second) {
      return Err(node.Invalid("name", fmt::format("phase `{}` is declared twice", *phase_name)));
    }
    phase.name = *phase_name;
    FERRY_ASSIGN_OR_RETURN(std::optional<std::string> approval, node.GetString("approval"));
    if (approval) {
      if (Result<Role> role = ParseRole(*approval); !role.has_value()) {
        return Err(node.Invalid("approval", role.error().message()));
      }
    }
    phase.approval = approval.value_or("");
    FERRY_ASSIGN_OR_RETURN(std::vector<ConfigNode> tasks, node.GetList("tasks"));
    if (tasks.empty()) {
      return Err(node.Invalid("tasks", fmt::format("phase `{}` has no tasks", phase.name)));
    }
    for (const ConfigNode& task_node : tasks) {
      FERRY_ASSIGN_OR_RETURN(TaskSpec task, ParseTask(task_node));
      if (index.contains(task.id)) {
        return Err(task_node.Invalid("id", fmt::format("task id `{}` is used twice", task.id)));
      }
      index[task.id] = declared.size();
      declared.push_back({task, p, task_node});
      phase.tasks.push_back(std::move(task));
    }
    spec.phases.push_back(std::move(phase));
  }
  for (const Declared& d : declared) {
    for (const std::string& dep : d.task.depends_on) {
      auto it = index.find(dep);
      if (it == index.end()) {
        return Err(d.node.Invalid(
            "depends_on",
            fmt::format("task `{}` depends on `{}`, which no phase declares", d.task.id, dep)));
      }
      if (declared[it->second].phase > d.phase) {
        return Err(d.node.Invalid(
            "depends_on",
            fmt::format("task `{}` (phase `{}`) depends on `{}` of the later phase `{}`: phases "
                        "run in order, so move one of them",
                        d.task.id, spec.phases[d.phase].name, dep,
                        spec.phases[declared[it->second].phase].name)));
      }
    }
  }
  if (std::string cycle = FindCycle(declared, index); !cycle.empty()) {
    const Declared& first = declared[index.at(cycle.substr(0, cycle.find(' ')))];
    return Err(first.node.Invalid(
        "depends_on", fmt::format("dependency cycle {}: no task of it could ever start", cycle)));
  }
  return spec;
}

std::vector<std::string> RunSpec::ExecutionOrder() const {
  std::vector<std::string> order;
  std::set<std::string> done;
  for (const PhaseSpec& phase : phases) {
    std::vector<const TaskSpec*> left;
    for (const TaskSpec& t : phase.tasks) left.push_back(&t);
    while (!left.empty()) {
      auto ready = std::find_if(left.begin(), left.end(), [&](const TaskSpec* t) {
        return std::all_of(t->depends_on.begin(), t->depends_on.end(),
                           [&](const std::string& d) { return done.contains(d); });
      });
      if (ready == left.end()) break;  // a cycle: ParseRunSpec refuses these
      order.push_back((*ready)->id);
      done.insert((*ready)->id);
      left.erase(ready);
    }
  }
  return order;
}

std::string DefaultRunTemplate(std::string_view source_url, std::string_view target_url) {
  // An SQLite target is a file the copy creates: what can be checked before is its directory.
  std::string target_check = fmt::format(
      "{{id: target-reachable, type: check.connect, with: {{url: \"{}\"}}}}", target_url);
  if (target_url.starts_with("sqlite://")) {
    std::string path(target_url.substr(std::string_view("sqlite://").size()));
    const size_t slash = path.rfind('/');
    path = slash == std::string::npos || slash == 0 ? std::string(slash == 0 ? "/" : ".")
                                                    : path.substr(0, slash);
    target_check = fmt::format(
        "{{id: target-reachable, type: check.disk, with: {{path: \"{}\", free: \"1GB\"}}}}", path);
  }
  return fmt::format(
      R"(# The migration journey (docs/workflow.md). Edit the URLs, commands and checks.
run: migration
phases:
  - name: preflight
    tasks:
      - {{id: source-reachable, type: check.connect, with: {{url: "{0}"}}}}
      - {2}
      - {{id: disk-space, type: check.disk, with: {{path: ".", free: "10GB"}}}}
  - name: provision
    tasks:
      - {{id: write-iac, type: iac.write, with: {{plan: "plan.json", dir: "iac"}}}}
  - name: replicate
    approval: operator
    tasks:
      - id: copy
        type: copy
        with: {{from: "{0}", to: "{1}"}}
        depends_on: [source-reachable, target-reachable]
        retries: 3
        backoff: 10s
  - name: configure
    tasks:
      - {{id: connection-strings, type: command, with: {{run: "true", undo: "true"}}}}
  - name: smoke-tests
    tasks:
      - {{id: select-one, type: smoke.sql, with: {{url: "{1}", sql: "SELECT 1"}}}}
  - name: cutover
    approval: operator
    tasks:
      - {{id: switch, type: cutover, with: {{run: "true", undo: "true"}}}}
  - name: validate
    tasks:
      - {{id: verify, type: verify, with: {{from: "{0}", to: "{1}"}}}}
      - {{id: baseline, type: validate.baseline, with: {{before: "inventories/source.json", after: "inventories/target.json", tolerance: "25%"}}}}
  - name: decommission
    approval: admin
    tasks:
      - {{id: retire-source, type: decommission, with: {{run: "true"}}}}
)",
      source_url, target_url, target_check);
}

}  // namespace ferry::workflow
