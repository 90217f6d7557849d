// `ferry run validate FILE` and `ferry run template`: the run specs of a migration
// (docs/workflow.md). Running a spec durably (`ferry run start`) builds on these.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "workflow/run_spec.h"

namespace ferry {
namespace {

struct RunFlags {
  std::string file;
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
    context.out
        << nlohmann::ordered_json{{"run", spec.name}, {"phases", phases}, {"order", order}}.dump(2)
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
      context.out << fmt::format("    {:<24} {:<14}{}\n", t.id, t.type,
                                 type->available ? "" : "  (not available yet: says so when run)");
    }
  }
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> RunCommands() {
  auto flags = std::make_shared<RunFlags>();
  const std::string group = "Migration runs declared in YAML: phases, tasks, approvals";
  return {
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
  };
}

}  // namespace ferry
