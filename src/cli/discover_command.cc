// ferry discover [--out FILE] [--save] [--root DIR] [--watch DURATION [--interval DURATION]]:
// the inventory of this host as one JSON document (docs/discover.md).
// ferry discover import --from azure-migrate|aws-migration-hub FILE [--out DIR] [--save]:
// inventories from another tool's CSV export, one per server.
// --save keeps the inventories in the state store (--store), where `ferry plan --from-store`
// reads them; without --out it replaces the output instead of adding to it.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <ostream>

#include <CLI/CLI.hpp>

#include "base/log.h"
#include "cli/commands.h"
#include "discover/baseline.h"
#include "discover/csv_import.h"
#include "discover/inventory.h"
#include "store/store.h"

namespace ferry {
namespace {

struct DiscoverFlags {
  std::string out;
  bool save = false;
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
  bool save = false;
};

// The string at `key` of `object`, or "" (no insertion: `object` may be const).
std::string StringAt(const Json& object, std::string_view key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// What the store is told about an inventory: named as `ferry plan` will name its server, else
// `fallback_name`.
InventoryRecord RecordOf(const Json& inventory, const std::string& fallback_name,
                         int64_t taken_micros) {
  InventoryRecord record;
  record.name = InventoryHostName(inventory);
  if (record.name.empty()) record.name = fallback_name;
  auto source = inventory.find("source");
  record.source_kind = source != inventory.end() ? StringAt(*source, "kind") : std::string();
  if (record.source_kind.empty()) record.source_kind = "unknown";
  record.taken_micros = taken_micros;
  record.schema_version = StringAt(inventory, "schema_version");
  record.document = inventory.dump();
  return record;
}

struct Saved {
  std::string store;  // the store's location, password redacted
  int64_t saved = 0;
  int64_t replaced = 0;  // of `saved`, how many replaced an inventory saved before
};

// --save opens the store before anything is collected, so that a store it cannot open is
// reported at once, not after a --watch of ten minutes.
Result<std::unique_ptr<Store>> OpenStoreToSave(const CommandContext& context) {
  Result<std::unique_ptr<Store>> store = Store::Open(context.store_url, {.env = context.env});
  if (!store.has_value()) return Err(store.error().WithContext("--save"));
  return store;
}

// The inventories into the store, all or none, each save an event in its log.
Result<Saved> SaveInventories(Store& store, const std::vector<InventoryRecord>& records) {
  Result<int64_t> replaced = store.PutInventories(records, "cli:discover");
  if (!replaced.has_value()) {
    return Err(replaced.error().WithContext(
        fmt::format("--save: saving {} inventories in the store", records.size())));
  }
  return Saved{.store = store.location(),
               .saved = static_cast<int64_t>(records.size()),
               .replaced = *replaced};
}

std::string SavedText(const Saved& saved) {
  std::string replaced;
  if (saved.replaced > 0) {
    replaced = saved.saved == 1
                   ? " (replacing the one saved before)"
                   : fmt::format(" ({} replacing those saved before under the same names)",
                                 saved.replaced);
  }
  return fmt::format("saved {} {} in the store {}{}", saved.saved,
                     saved.saved == 1 ? "inventory" : "inventories", saved.store, replaced);
}

Json SavedJson(const Saved& saved) {
  return Json{{"store", saved.store}, {"saved", saved.saved}, {"replaced", saved.replaced}};
}

Result<int> RunImport(CommandContext& context, const ImportFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(ImportFormat format, ParseImportFormat(flags.from));
  std::unique_ptr<Store> store;
  if (flags.save) {
    FERRY_ASSIGN_OR_RETURN(store, OpenStoreToSave(context));
  }
  const int64_t taken = context.env->NowMicros();
  FERRY_ASSIGN_OR_RETURN(std::vector<ImportedServer> servers,
                         ImportCsvInventories(format, flags.file, context.env));
  if (flags.out.empty() && !flags.save) {
    // One inventory per line (JSON Lines), so the stream splits without a parser.
    for (const ImportedServer& server : servers) context.out << server.inventory.dump() << "\n";
    return kExitOk;
  }
  Json written = Json::array();
  if (!flags.out.empty()) {
    FERRY_RETURN_IF_ERROR(context.env->CreateDirs(flags.out));
    std::map<std::string, int> used;
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
  }
  std::optional<Saved> saved;
  if (flags.save) {
    // Named as plan names them; two rows of one name are two servers, kept apart as the files
    // are (`-2`), while importing the same export again replaces them one for one.
    std::map<std::string, int> used;
    std::vector<InventoryRecord> records;
    records.reserve(servers.size());
    for (const ImportedServer& server : servers) {
      InventoryRecord record = RecordOf(server.inventory, server.name, taken);
      if (int n = ++used[record.name]; n > 1) record.name += "-" + std::to_string(n);
      records.push_back(std::move(record));
    }
    FERRY_ASSIGN_OR_RETURN(saved, SaveInventories(*store, records));
  }
  if (context.json) {
    Json report = {{"ok", true},
                   {"from", ImportFormatName(format)},
                   {"file", flags.file},
                   {"servers", servers.size()},
                   {"inventories", written}};
    if (saved.has_value()) report["saved"] = SavedJson(*saved);
    context.out << report.dump(2) << "\n";
  } else {
    std::string into;
    if (!flags.out.empty()) into = " into " + flags.out;
    if (saved.has_value()) into += (into.empty() ? "; " : "; and ") + SavedText(*saved);
    context.out << fmt::format("imported {} server(s) from {} ({}){}\n", servers.size(), flags.file,
                               ImportFormatName(format), into);
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

  std::unique_ptr<Store> store;
  if (flags.save) {
    FERRY_ASSIGN_OR_RETURN(store, OpenStoreToSave(context));
  }
  const int64_t taken = context.env->NowMicros();
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

  if (flags.out.empty() && !flags.save) {
    context.out << inventory.dump(2) << "\n";
    return kExitOk;
  }
  if (!flags.out.empty()) {
    Status status = context.env->WriteFileAtomic(flags.out, inventory.dump(2) + "\n");
    if (!status.ok()) {
      return Err(status.WithContext(
          fmt::format("--out {}: cannot write the inventory; choose a writable path", flags.out)));
    }
  }
  std::optional<Saved> saved;
  std::string saved_as;
  if (flags.save) {
    // A host without a host name (a --root copy without one) is named as plan would name the
    // file it was written to, else by its machine id.
    std::string fallback;
    if (!flags.out.empty()) {
      fallback = std::filesystem::path(flags.out).stem().string();
    } else if (auto host = inventory.find("host"); host != inventory.end()) {
      fallback = StringAt(*host, "machine_id");
    }
    if (fallback.empty()) fallback = "unnamed-host";
    InventoryRecord record = RecordOf(inventory, fallback, taken);
    saved_as = record.name;
    FERRY_ASSIGN_OR_RETURN(saved, SaveInventories(*store, {std::move(record)}));
  }
  const Json& host = inventory["host"];
  const std::string hostname =
      host["hostname"].is_string() ? host["hostname"].get<std::string>() : std::string("this host");
  if (context.json) {
    Json report = {{"ok", true},
                   {"out", flags.out.empty() ? Json(nullptr) : Json(flags.out)},
                   {"hostname", host["hostname"]},
                   {"processes", inventory["processes"].size()},
                   {"listening", inventory["listening"].size()},
                   {"unseen", inventory["unseen"].size()}};
    if (saved.has_value()) {
      report["saved"] = SavedJson(*saved);
      report["saved"]["name"] = saved_as;
    }
    context.out << report.dump(2) << "\n";
  } else {
    std::string where;
    if (!flags.out.empty()) where = "written to " + flags.out;
    if (saved.has_value()) {
      where += fmt::format("{}saved in the store {} as `{}`{}", where.empty() ? "" : " and ",
                           saved->store, saved_as,
                           saved->replaced > 0 ? " (replacing the one saved before)" : "");
    }
    context.out << fmt::format(
        "inventory of {} {}: {} processes, {} listening sockets, {} connections, {} "
        "packages, {} certificates; {} kinds of thing unseen (see `unseen`)\n",
        hostname, where, inventory["processes"].size(), inventory["listening"].size(),
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
             app.add_option("--out", flags->out,
                            "Write the inventory to FILE (default: stdout, unless --save)");
             app.add_flag("--save", flags->save,
                          "Save the inventory in the state store (--store), for `ferry plan "
                          "--from-store`; a later save of the same host replaces it");
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
                            "stdout, unless --save)");
             app.add_flag("--save", import_flags->save,
                          "Save the inventories in the state store (--store), for `ferry plan "
                          "--from-store`; a later save of the same server replaces it");
           },
       .run =
           [import_flags](CommandContext& context) { return RunImport(context, *import_flags); }},
  };
}

}  // namespace ferry
