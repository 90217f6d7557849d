// `ferry run ...`: migration runs declared in YAML (docs/workflow.md). `validate` and
// `template` work on the spec; `start`, `status`, `list`, `approve`, `pause`, `resume`,
// `cancel`, `rollback` and `work` run it durably through the store with the workflow engine.
// A local user of the store is its admin: the actor is "cli:$USER".
#include <unistd.h>

#include <csignal>
#include <ctime>

#include <CLI/CLI.hpp>
#include <fmt/chrono.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "store/store.h"
#include "workflow/engine.h"
#include "workflow/run_spec.h"

namespace ferry {
namespace {

struct RunFlags {
  std::string file;
  std::string id;
  std::string phase;
  bool detach = false;
  bool wait = false;     // pause, cancel: then drive the run here
  bool no_wait = false;  // approve, resume, rollback: only record the decision
  int jobs = 2;
  int limit = 20;
  std::string work_dir = "ferry-runs";
  std::string from = "sqlite:///path/to/source.db";
  std::string to = "sqlite:///path/to/target.db";
};

Result<int> Validate(CommandContext& context, const RunFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(std::string text, context.env->ReadFile(flags.file));
  FERRY_ASSIGN_OR_RETURN(workflow::RunSpec spec,
                         workflow::ParseRunSpec(text, flags.file, context.env));
  const std::vector<std::string> order = spec.ExecutionOrder();
  if (context.json) {
    nlohmann::ordered_json phases = nlohmann::ordered_json::array();
    for (const workflow::PhaseSpec& p : spec.phases) {
      nlohmann::ordered_json tasks = nlohmann::ordered_json::array();
      for (const workflow::TaskSpec& t : p.tasks) {
        tasks.push_back({{"id", t.id},
                         {"type", t.type},
                         {"depends_on", t.depends_on},
                         {"available", workflow::FindTaskType(t.type)->available}});
      }
      phases.push_back({{"name", p.name}, {"approval", p.approval}, {"tasks", tasks}});
    }
    context.out << nlohmann::ordered_json{{"run", spec.name}, {"phases", phases}, {"order", order}}
                       .dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
                << "\n";
    return kExitOk;
  }
  context.out << fmt::format("{}: run `{}`, {} phase(s), {} task(s); valid\n", flags.file,
                             spec.name, spec.phases.size(), order.size());
  for (const workflow::PhaseSpec& p : spec.phases) {
    context.out << fmt::format("  {}{}\n", p.name,
                               p.approval.empty() ? "" : " (approval: " + p.approval + ")");
    for (const workflow::TaskSpec& t : p.tasks) {
      const workflow::TaskType* type = workflow::FindTaskType(t.type);
      context.out << fmt::format("    {:<24} {:<18}{}\n", t.id, t.type,
                                 type->available ? "" : "  (not available yet: says so when run)");
    }
  }
  return kExitOk;
}

workflow::Actor LocalActor(CommandContext& context) {
  std::string user = context.env->GetEnvVar("USER").value_or("");
  if (user.empty()) user = std::to_string(::getuid());
  return {.name = "cli:" + user, .role = workflow::Role::kAdmin};
}

struct LocalEngine {
  std::unique_ptr<Store> store;
  std::unique_ptr<workflow::Engine> engine;
};

Result<LocalEngine> OpenEngine(CommandContext& context, const RunFlags& flags) {
  LocalEngine local;
  FERRY_ASSIGN_OR_RETURN(local.store, Store::Open(context.store_url, {.env = context.env}));
  FERRY_ASSIGN_OR_RETURN(
      local.engine, workflow::Engine::Create(local.store.get(), {.store_url = context.store_url,
                                                                 .work_dir = flags.work_dir,
                                                                 .env = context.env}));
  return local;
}

std::string Clock(int64_t micros) {
  if (micros <= 0) return "-";
  const std::time_t t = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:%Y-%m-%d %H:%M:%S}Z", tm);
}

nlohmann::ordered_json StatusJson(const workflow::RunStatus& s) {
  nlohmann::ordered_json phases = nlohmann::ordered_json::array();
  for (const workflow::PhaseStatus& p : s.phases) {
    phases.push_back({{"name", p.name},
                      {"approval", p.approval},
                      {"state", p.state},
                      {"approved_by", p.approved_by},
                      {"approved_micros", p.approved_micros}});
  }
  nlohmann::ordered_json tasks = nlohmann::ordered_json::array();
  for (const workflow::TaskStatus& t : s.tasks) {
    tasks.push_back({{"id", t.id},
                     {"type", t.type},
                     {"phase", t.phase},
                     {"state", t.state},
                     {"attempts", t.attempts},
                     {"max_attempts", t.max_attempts},
                     {"error", t.error},
                     {"started_micros", t.started_micros},
                     {"finished_micros", t.finished_micros},
                     {"rows_done", t.progress.rows_done},
                     {"rows_total", t.progress.rows_total},
                     {"bytes_done", t.progress.bytes_done},
                     {"rows_per_second", t.rows_per_second},
                     {"eta_seconds", t.eta_seconds},
                     {"result", t.result}});
  }
  return {{"id", s.id},
          {"name", s.name},
          {"state", s.state},
          {"awaiting", s.awaiting},
          {"error", s.error},
          {"started_by", s.started_by},
          {"created_micros", s.created_micros},
          {"updated_micros", s.updated_micros},
          {"rows_done", s.rows_done},
          {"bytes_done", s.bytes_done},
          {"phases", phases},
          {"tasks", tasks}};
}

void PrintStatus(std::ostream& out, const workflow::RunStatus& s) {
  out << fmt::format("run {} ({}): {}\n", s.id, s.name, s.state);
  out << fmt::format("  started by {} at {}\n", s.started_by, Clock(s.created_micros));
  for (const workflow::PhaseStatus& p : s.phases) {
    std::string approval;
    if (!p.approval.empty()) {
      approval = p.approved_by.empty() ? fmt::format("  (approval: {})", p.approval)
                                       : fmt::format("  (approved by {} at {})", p.approved_by,
                                                     Clock(p.approved_micros));
    }
    out << fmt::format("  {:<22} {}{}\n", p.name, p.state, approval);
    for (const workflow::TaskStatus& t : s.tasks) {
      if (t.phase != p.name) continue;
      std::string detail;
      if (t.attempts > 1 || (t.attempts > 0 && t.max_attempts > 1)) {
        detail += fmt::format("  attempt {}/{}", t.attempts, t.max_attempts);
      }
      if (t.progress.rows_done > 0 || t.progress.rows_total > 0) {
        detail += t.progress.rows_total > 0
                      ? fmt::format("  {}/{} rows", t.progress.rows_done, t.progress.rows_total)
                      : fmt::format("  {} rows", t.progress.rows_done);
        if (t.state == "running" && t.rows_per_second > 0) {
          detail += fmt::format("  {:.0f} rows/s", t.rows_per_second);
        }
        if (t.eta_seconds >= 0) detail += "  ETA " + FormatDuration(t.eta_seconds);
      }
      if (t.started_micros > 0 && t.finished_micros >= t.started_micros) {
        detail +=
            "  " + FormatDuration(static_cast<double>(t.finished_micros - t.started_micros) / 1e6);
      }
      out << fmt::format("    {:<20} {:<12} {}{}\n", t.id, t.type, t.state, detail);
      if (!t.error.empty() && t.state != "done") out << fmt::format("      error: {}\n", t.error);
    }
  }
  if (!s.error.empty()) out << fmt::format("  {}\n", s.error);
  if (s.state == "waiting-approval") {
    out << fmt::format("  phase {} waits for approval: ferry run approve {} --phase {}\n",
                       s.awaiting, s.id, s.awaiting);
  }
}

int ExitFor(const workflow::RunStatus& s) {
  if (s.state == "failed" || s.state == "rollback-failed") return kExitCheckFailed;
  return kExitOk;
}

// Works on `id` in the foreground until it rests, showing progress: one line per change on a
// terminal's stderr (or a log line), then the status on `out`.
Result<int> DriveAndReport(CommandContext& context, workflow::Engine& engine, const std::string& id,
                           int jobs) {
  const bool terminal = !context.json && isatty(STDERR_FILENO);
  std::string last;
  FERRY_ASSIGN_OR_RETURN(
      workflow::RunStatus status, engine.Drive(id, jobs, [&](const workflow::RunStatus& s) {
        int done = 0;
        for (const workflow::TaskStatus& t : s.tasks) done += t.state == "done" ? 1 : 0;
        std::string running;
        for (const workflow::TaskStatus& t : s.tasks) {
          if (t.state != "running") continue;
          running += fmt::format(" {}", t.id);
          if (t.progress.rows_total > 0) {
            running += fmt::format(" {}%", 100 * t.progress.rows_done / t.progress.rows_total);
          }
          if (t.rows_per_second > 0) running += fmt::format(" {:.0f} rows/s", t.rows_per_second);
          if (t.eta_seconds >= 0) running += " ETA " + FormatDuration(t.eta_seconds);
        }
        const std::string line = fmt::format("run {}: {}, {}/{} tasks done{}", s.id, s.state, done,
                                             s.tasks.size(), running.empty() ? "" : ";" + running);
        if (line == last) return;
        last = line;
        if (terminal) {
          context.err << "\r\033[K" << line << std::flush;
        } else if (!context.json) {
          context.err << line << "\n";
        }
      }));
  if (terminal) context.err << "\r\033[K" << std::flush;
  if (context.json) {
    context.out << StatusJson(status).dump(2, ' ', false,
                                           nlohmann::ordered_json::error_handler_t::replace)
                << "\n";
  } else {
    PrintStatus(context.out, status);
  }
  return ExitFor(status);
}

Result<int> Start(CommandContext& context, const RunFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(std::string text, context.env->ReadFile(flags.file));
  FERRY_ASSIGN_OR_RETURN(LocalEngine local, OpenEngine(context, flags));
  FERRY_ASSIGN_OR_RETURN(std::string id,
                         local.engine->Start(text, flags.file, LocalActor(context)));
  if (!context.json) context.err << fmt::format("run {} started from {}\n", id, flags.file);
  if (flags.detach) {
    if (context.json) {
      context.out << nlohmann::ordered_json{{"id", id}}.dump() << "\n";
    } else {
      context.out << id << "\n";
    }
    return kExitOk;
  }
  return DriveAndReport(context, *local.engine, id, flags.jobs);
}

Result<int> ShowStatus(CommandContext& context, const RunFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(LocalEngine local, OpenEngine(context, flags));
  FERRY_ASSIGN_OR_RETURN(workflow::RunStatus status, local.engine->GetStatus(flags.id));
  if (context.json) {
    context.out << StatusJson(status).dump(2, ' ', false,
                                           nlohmann::ordered_json::error_handler_t::replace)
                << "\n";
  } else {
    PrintStatus(context.out, status);
  }
  return kExitOk;
}

Result<int> List(CommandContext& context, const RunFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(LocalEngine local, OpenEngine(context, flags));
  FERRY_ASSIGN_OR_RETURN(std::vector<workflow::RunSummary> runs,
                         local.engine->ListRuns(flags.limit));
  if (context.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const workflow::RunSummary& r : runs) {
      out.push_back({{"id", r.id},
                     {"name", r.name},
                     {"state", r.state},
                     {"created_micros", r.created_micros},
                     {"tasks_total", r.tasks_total},
                     {"tasks_done", r.tasks_done}});
    }
    context.out << nlohmann::ordered_json{{"runs", out}}.dump(
                       2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
                << "\n";
    return kExitOk;
  }
  if (runs.empty()) {
    context.out << "no runs in " << local.store->location() << "; start one with `ferry run start "
                << "run.yaml` (`ferry run template` writes one)\n";
    return kExitOk;
  }
  for (const workflow::RunSummary& r : runs) {
    context.out << fmt::format("{}  {:<18} {:<16} {}/{} tasks  {}\n", r.id, r.name, r.state,
                               r.tasks_done, r.tasks_total, Clock(r.created_micros));
  }
  return kExitOk;
}

// approve, pause, resume, cancel, rollback: the decision, then (with --wait, or always for
// resume and rollback, which need work done) the run driven here until it rests.
Result<int> Decide(CommandContext& context, const RunFlags& flags, std::string_view verb) {
  FERRY_ASSIGN_OR_RETURN(LocalEngine local, OpenEngine(context, flags));
  const workflow::Actor actor = LocalActor(context);
  workflow::Engine& engine = *local.engine;
  Status decided;
  if (verb == "approve") decided = engine.Approve(flags.id, flags.phase, actor);
  if (verb == "pause") decided = engine.Pause(flags.id, actor);
  if (verb == "resume") {
    // A run left `running` by a process that stopped (a crash, a reboot) needs no decision:
    // it is worked on here, from where it was.
    FERRY_ASSIGN_OR_RETURN(workflow::RunStatus now, engine.GetStatus(flags.id));
    if (now.state == "running" || now.state == "rolling-back") {
      if (!context.json) {
        context.err << fmt::format("run {} is {}; working on it here\n", flags.id, now.state);
      }
      return DriveAndReport(context, engine, flags.id, flags.jobs);
    }
    decided = engine.Resume(flags.id, actor);
  }
  if (verb == "cancel") decided = engine.Cancel(flags.id, actor);
  if (verb == "rollback") decided = engine.Rollback(flags.id, actor);
  FERRY_RETURN_IF_ERROR(decided);
  if (!context.json) context.err << fmt::format("run {}: {} recorded\n", flags.id, verb);
  const bool drives = verb == "approve" || verb == "resume" || verb == "rollback";
  if (drives ? !flags.no_wait : flags.wait) {
    return DriveAndReport(context, engine, flags.id, flags.jobs);
  }
  return ShowStatus(context, flags);
}

volatile std::sig_atomic_t g_stop = 0;

Result<int> Work(CommandContext& context, const RunFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(LocalEngine local, OpenEngine(context, flags));
  struct sigaction action{};
  action.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  FERRY_RETURN_IF_ERROR(local.engine->RunWorkers(flags.jobs));
  context.err << fmt::format("working on the runs of {} with {} worker(s); Ctrl-C stops\n",
                             local.store->location(), flags.jobs);
  while (!g_stop) context.env->SleepForMicros(100'000);
  local.engine->Stop();
  context.err << "stopped; tasks that were running go back to the queue\n";
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> RunCommands() {
  auto flags = std::make_shared<RunFlags>();
  const std::string group = "Migration runs declared in YAML: phases, tasks, approvals";
  std::vector<CommandSpec> commands = {
      {.path = {"run", "validate"},
       .group_help = group,
       .help = "Check a run spec (phases, tasks, dependencies) and show the order tasks run in",
       .add_options =
           [flags](CLI::App& app) {
             app.add_option("file", flags->file, "The run spec (YAML)")->required();
           },
       .run = [flags](CommandContext& c) { return Validate(c, *flags); }},
      {.path = {"run", "template"},
       .group_help = group,
       .help = "Print the default run spec: the migration journey, to edit",
       .add_options =
           [flags](CLI::App& app) {
             app.add_option("--from", flags->from, "The source URL to put in it");
             app.add_option("--to", flags->to, "The target URL to put in it");
           },
       .run = [flags](CommandContext& c) -> Result<int> {
         c.out << workflow::DefaultRunTemplate(flags->from, flags->to);
         return kExitOk;
       }},
      {.path = {"run", "start"},
       .group_help = group,
       .help = "Start a run from its spec and work on it here until it finishes or waits",
       .add_options =
           [flags](CLI::App& app) {
             app.add_option("file", flags->file, "The run spec (YAML)")->required();
             app.add_flag("--detach", flags->detach,
                          "Only record the run and print its id (`ferry run work` or `ferry "
                          "serve` runs it)");
             app.add_option("--jobs,-j", flags->jobs, "Tasks run at once (2)");
             app.add_option("--work-dir", flags->work_dir,
                            "Where runs keep their artifacts (ferry-runs)");
           },
       .run = [flags](CommandContext& c) { return Start(c, *flags); }},
      {.path = {"run", "status"},
       .group_help = group,
       .help = "Show a run: phases, tasks, progress, errors",
       .add_options =
           [flags](CLI::App& app) {
             app.add_option("id", flags->id, "The run's id")->required();
             app.add_option("--work-dir", flags->work_dir, "Where runs keep their artifacts");
           },
       .run = [flags](CommandContext& c) { return ShowStatus(c, *flags); }},
      {.path = {"run", "list"},
       .group_help = group,
       .help = "List runs, newest first",
       .add_options =
           [flags](CLI::App& app) {
             app.add_option("--limit", flags->limit, "At most this many (20)");
           },
       .run = [flags](CommandContext& c) { return List(c, *flags); }},
      {.path = {"run", "work"},
       .group_help = group,
       .help = "Work on every active run of the store until Ctrl-C (a headless worker)",
       .add_options =
           [flags](CLI::App& app) {
             app.add_option("--jobs,-j", flags->jobs, "Tasks run at once (2)");
             app.add_option("--work-dir", flags->work_dir, "Where runs keep their artifacts");
           },
       .run = [flags](CommandContext& c) { return Work(c, *flags); }},
  };
  for (std::string verb : {"approve", "pause", "resume", "cancel", "rollback"}) {
    const bool drives = verb == "resume" || verb == "rollback" || verb == "approve";
    commands.push_back(
        {.path = {"run", verb},
         .group_help = group,
         .help = verb == "approve"  ? "Approve the phase a run waits for (then work on it)"
                 : verb == "pause"  ? "Pause a run: tasks running finish, no new task starts"
                 : verb == "resume" ? "Resume a paused run, or retry the failed tasks of a "
                                      "failed run, and work on it"
                 : verb == "cancel" ? "Cancel a run for good (roll it back to undo its work)"
                                    : "Undo the run's tasks in reverse order, and work on it",
         .add_options =
             [flags, verb, drives](CLI::App& app) {
               app.add_option("id", flags->id, "The run's id")->required();
               if (verb == "approve") {
                 app.add_option("--phase", flags->phase, "The phase to approve")->required();
               }
               if (drives) {
                 app.add_flag("--no-wait", flags->no_wait,
                              "Only record the decision (by default the run is then worked on "
                              "here until it rests)");
               } else {
                 app.add_flag("--wait", flags->wait, "Then work on the run here until it rests");
               }
               app.add_option("--jobs,-j", flags->jobs, "Tasks run at once (2)");
               app.add_option("--work-dir", flags->work_dir, "Where runs keep their artifacts");
             },
         .run = [flags, verb](CommandContext& c) { return Decide(c, *flags, verb); }});
  }
  return commands;
}

}  // namespace ferry
