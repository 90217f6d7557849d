// ferry discover [--out FILE] [--root DIR] [--watch DURATION [--interval DURATION]]: the
// inventory of this host as one JSON document (docs/discover.md).
// ferry discover import --from azure-migrate|aws-migration-hub FILE [--out DIR]: inventories
// from another tool's CSV export, one per server.
#include <map>
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>

#include "base/log.h"
#include "cli/commands.h"
#include "discover/baseline.h"
#include "discover/csv_import.h"
#include "discover/inventory.h"

namespace ferry {
namespace {

struct DiscoverFlags {
  std::string out;
  std::string root = "/";
  std::string watch;
  std::string interval;
  // `discover import` is a subcommand of `discover`; CLI11 marks both parsed, so `discover`
  // looks at this one to know which to run.
  CLI::App* import_app = nullptr;
};

struct ImportFlags {
  std::string from;
  std::string file;
  std::string out;
};

Result<int> RunImport(CommandContext& context, const ImportFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(ImportFormat format, ParseImportFormat(flags.from));
  FERRY_ASSIGN_OR_RETURN(std::vector<ImportedServer> servers,
                         ImportCsvInventories(format, flags.file, context.env));
  if (flags.out.empty()) {
    // One inventory per line (JSON Lines), so the stream splits without a parser.
    for (const ImportedServer& server : servers) context.out << server.inventory.dump() << "\n";
    return kExitOk;
  }
  FERRY_RETURN_IF_ERROR(context.env->CreateDirs(flags.out));
  std::map<std::string, int> used;
  Json written = Json::array();
  for (const ImportedServer& server : servers) {
    std::string name = InventoryFileName(server.name);
    // Two rows of one server name (an export of two vCenters) must not overwrite each other.
    if (int n = ++used[name]; n > 1) name += "-" + std::to_string(n);
    const std::string path = flags.out + "/" + name + ".json";
    Status status = context.env->WriteFileAtomic(path, server.inventory.dump(2) + "\n");
    if (!status.ok()) {
      return Err(status.WithContext(fmt::format("writing the inventory of `{}`", server.name)));
    }
    written.push_back(path);
  }
  if (context.json) {
    context.out << Json{{"ok", true},
                        {"from", ImportFormatName(format)},
                        {"file", flags.file},
                        {"inventories", written}}
                       .dump(2)
                << "\n";
  } else {
    context.out << fmt::format("imported {} server(s) from {} ({}) into {}\n", servers.size(),
                               flags.file, ImportFormatName(format), flags.out);
  }
  return kExitOk;
}

Result<int> RunDiscover(CommandContext& context, const DiscoverFlags& flags) {
  if (flags.watch.empty() && !flags.interval.empty()) {
    return Err(InvalidArgument(
        "--interval {} without --watch: give the sampling duration too, e.g. --watch 10m "
        "--interval 30s",
        flags.interval));
  }
  std::optional<BaselineOptions> baseline_options;
  if (!flags.watch.empty()) {
    BaselineOptions options;
    FERRY_ASSIGN_OR_RETURN(options.duration_ms, ParseDurationMillis(flags.watch));
    if (!flags.interval.empty()) {
      FERRY_ASSIGN_OR_RETURN(options.interval_ms, ParseDurationMillis(flags.interval));
    }
    if (options.interval_ms <= 0 || options.duration_ms < options.interval_ms) {
      return Err(InvalidArgument(
          "--watch {} --interval {}: the interval must be more than zero and no longer than "
          "the watch, e.g. --watch 10m --interval 30s",
          flags.watch, flags.interval.empty() ? "30s" : flags.interval));
    }
    baseline_options = options;
  }

  FERRY_ASSIGN_OR_RETURN(Json inventory, DiscoverHost({.root = flags.root}, context.env));
  if (baseline_options.has_value()) {
    LogInfo("sampling the performance baseline",
            {{"duration_s", baseline_options->duration_ms / 1000},
             {"interval_s", baseline_options->interval_ms / 1000}});
    std::unique_ptr<CounterSource> source = NewProcCounterSource(flags.root);
    FERRY_ASSIGN_OR_RETURN(Baseline baseline,
                           SampleBaseline(*baseline_options, source.get(), context.env));
    inventory["baseline"] = baseline.ToJson();
  }

  const std::string text = inventory.dump(2) + "\n";
  if (flags.out.empty()) {
    context.out << text;
    return kExitOk;
  }
  Status status = context.env->WriteFileAtomic(flags.out, text);
  if (!status.ok()) {
    return Err(status.WithContext(
        fmt::format("--out {}: cannot write the inventory; choose a writable path", flags.out)));
  }
  const Json& host = inventory["host"];
  const std::string hostname =
      host["hostname"].is_string() ? host["hostname"].get<std::string>() : std::string("this host");
  if (context.json) {
    context.out << Json{{"ok", true},
                        {"out", flags.out},
                        {"hostname", host["hostname"]},
                        {"processes", inventory["processes"].size()},
                        {"listening", inventory["listening"].size()},
                        {"unseen", inventory["unseen"].size()}}
                       .dump(2)
                << "\n";
  } else {
    context.out << fmt::format(
        "inventory of {} written to {}: {} processes, {} listening sockets, {} connections, {} "
        "packages, {} certificates; {} kinds of thing unseen (see `unseen`)\n",
        hostname, flags.out, inventory["processes"].size(), inventory["listening"].size(),
        inventory["connections"].size(), inventory["packages"].size(),
        inventory["certificates"].size(), inventory["unseen"].size());
  }
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> DiscoverCommands() {
  auto flags = std::make_shared<DiscoverFlags>();
  auto import_flags = std::make_shared<ImportFlags>();
  return {
      {.path = {"discover"},
       .group_help = "",
       .help = "Inventory this host (or a copy of one) as JSON: hardware, OS, packages, "
               "services, processes, sockets with their owners, certificates",
       .add_options =
           [flags](CLI::App& app) {
             app.add_option("--out", flags->out, "Write the inventory to FILE (default: stdout)");
             app.add_option("--root", flags->root,
                            "Read /proc, /sys, /etc, /var from this directory instead of / "
                            "(a copy of a host's files)");
             app.add_option("--watch", flags->watch,
                            "Also sample CPU, memory, disk and network for DURATION (e.g. 10m) "
                            "and store p50/p95/p99/max as `baseline`");
             app.add_option("--interval", flags->interval,
                            "Sampling interval of --watch (default 30s)");
           },
       .run = [flags, import_flags](CommandContext& context) -> Result<int> {
         if (flags->import_app != nullptr && flags->import_app->parsed()) {
           return RunImport(context, *import_flags);
         }
         return RunDiscover(context, *flags);
       }},
      {.path = {"discover", "import"},
       .group_help = "",
       .help = "Inventories from an Azure Migrate or AWS Migration Hub CSV export, one per "
               "server",
       .add_options =
           [flags, import_flags](CLI::App& app) {
             flags->import_app = &app;
             app.add_option("--from", import_flags->from, "azure-migrate or aws-migration-hub")
                 ->required();
             app.add_option("file", import_flags->file, "The exported CSV file")->required();
             app.add_option("--out", import_flags->out,
                            "Write one inventory per server into DIR (default: JSON Lines on "
                            "stdout)");
           },
       .run =
           [import_flags](CommandContext& context) { return RunImport(context, *import_flags); }},
  };
}

}  // namespace ferry
