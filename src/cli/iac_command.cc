// ferry iac --plan FILE --cloud aws|azure|gcp|all --out DIR [--force]: Terraform from a plan
// (docs/iac.md).
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>

#include "base/log.h"
#include "cli/commands.h"
#include "iac/model.h"
#include "iac/terraform.h"

namespace ferry {
namespace {

struct IacFlags {
  std::string plan;
  std::string cloud;
  std::string out;
  bool force = false;
};

Result<int> RunIac(CommandContext& context, const IacFlags& flags) {
  std::vector<plan::Cloud> clouds;
  if (flags.cloud == "all") {
    clouds.assign(std::begin(plan::kAllClouds), std::end(plan::kAllClouds));
  } else {
    auto cloud = plan::ParseCloud(flags.cloud);
    if (!cloud) {
      return Err(InvalidArgument("--cloud {}: expected aws, azure, gcp or all", flags.cloud));
    }
    clouds.push_back(*cloud);
  }
  FERRY_ASSIGN_OR_RETURN(iac::IacPlan plan, iac::ReadPlanFile(flags.plan, context.env));
  Json report = Json::array();
  for (plan::Cloud cloud : clouds) {
    const std::string dir =
        clouds.size() == 1 ? flags.out : flags.out + "/" + std::string(plan::CloudName(cloud));
    iac::IacModel model = iac::BuildModel(plan, cloud);
    std::vector<iac::TerraformFile> files = iac::RenderTerraform(model);
    FERRY_RETURN_IF_ERROR(iac::WriteTerraform(files, dir, flags.force, context.env));
    for (const iac::Unprovisioned& u : model.unprovisioned) {
      LogDebug("not provisioned", {{"cloud", std::string(plan::CloudName(cloud))},
                                   {"server", u.name},
                                   {"reason", u.reason}});
    }
    Json entry = {{"cloud", plan::CloudName(cloud)},
                  {"region", model.region},
                  {"out", dir},
                  {"files", files.size()},
                  {"virtual_machines", model.machines.size()},
                  {"managed_databases", model.databases.size()},
                  {"subnets", model.subnets.size()},
                  {"flows", model.flows.size()},
                  {"waves", model.waves.size()},
                  {"not_provisioned", model.unprovisioned.size()},
                  {"dependencies_without_rule", model.open_dependencies.size()}};
    if (!context.json) {
      context.out << fmt::format(
          "{} ({}): {} virtual machine(s), {} managed database(s), {} subnet(s), {} flow "
          "rule(s) in {} wave(s): {} file(s) written to {}{}\n",
          plan::CloudName(cloud), model.region, model.machines.size(), model.databases.size(),
          model.subnets.size(), model.flows.size(), model.waves.size(), files.size(), dir,
          model.unprovisioned.empty()
              ? std::string()
              : fmt::format("; {} server(s) not provisioned, listed in {}/README.md",
                            model.unprovisioned.size(), dir));
    }
    report.push_back(std::move(entry));
  }
  if (context.json) context.out << Json{{"ok", true}, {"clouds", report}}.dump(2) << "\n";
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> IacCommands() {
  auto flags = std::make_shared<IacFlags>();
  return {
      {.path = {"iac"},
       .group_help = "",
       .help = "Write Terraform for a plan: network, subnets per tier, security rules from the "
               "observed dependencies, VMs of the recommended sizes, managed databases",
       .add_options =
           [flags](CLI::App& app) {
             app.add_option("--plan", flags->plan, "Plan JSON of `ferry plan --out plan.json`")
                 ->required();
             app.add_option("--cloud", flags->cloud,
                            "aws, azure, gcp, or all (then one subdirectory of --out each)")
                 ->required();
             app.add_option("--out", flags->out, "Directory to write the Terraform into")
                 ->required();
             app.add_flag("--force", flags->force,
                          "Overwrite files of the same name that ferry did not generate");
           },
       .run = [flags](CommandContext& context) { return RunIac(context, *flags); }},
  };
}

}  // namespace ferry
