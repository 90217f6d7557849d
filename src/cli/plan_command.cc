// ferry plan --inventory DIR|FILE... | --from-store [--out FILE] [--format table|json|markdown]
// ...: waves, strategies, risks, sizes and costs from inventories, files or those the state
// store holds (docs/plan.md).
// ferry catalog import --from aws|azure|gcp FILE... [--catalog FILE]: the providers' price files
// into a catalogue file that `ferry plan --catalog FILE` uses.
// ferry catalog show [--catalog FILE]: what the catalogue holds.
#include <map>
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>

#include "base/log.h"
#include "base/url.h"
#include "cli/commands.h"
#include "plan/catalog.h"
#include "plan/catalog_import.h"
#include "plan/estate_reader.h"
#include "plan/plan.h"
#include "plan/plan_render.h"
#include "store/store.h"

namespace ferry {
namespace {

struct PlanFlags {
  std::vector<std::string> inventories;
  bool from_store = false;
  std::string out;
  std::string format;
  int max_wave_size = 50;
  int percentile = 95;
  double comfort = 1.3;
  std::vector<std::string> catalogs;
  std::string costs;
  std::vector<std::string> regions;
  std::string date;
};

struct ImportFlags {
  std::string from;
  std::vector<std::string> files;
  std::string catalog = "ferry-catalog.json";
  std::vector<std::string> regions;
  std::vector<std::string> families;
  std::string date;
};

struct ShowFlags {
  std::vector<std::string> catalogs;
};

// The built-in snapshot with each --catalog file laid over it.
Result<plan::Catalog> LoadCatalog(const std::vector<std::string>& files, Env* env) {
  plan::Catalog catalog = plan::BuiltinCatalog();
  for (const std::string& file : files) {
    FERRY_ASSIGN_OR_RETURN(plan::Catalog overlay, plan::ReadCatalogFile(file, env));
    plan::OverlayCatalog(&catalog, overlay);
  }
  return catalog;
}

Result<std::map<plan::Cloud, std::string>> ParseRegions(const std::vector<std::string>& flags) {
  std::map<plan::Cloud, std::string> regions;
  for (const std::string& flag : flags) {
    const size_t eq = flag.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == flag.size()) {
      return Err(
          InvalidArgument("--region {}: expected CLOUD=REGION, e.g. --region "
                          "aws=eu-west-1 --region azure=westeurope",
                          flag));
    }
    FERRY_ASSIGN_OR_RETURN(plan::Cloud cloud, plan::ParseCloud(flag.substr(0, eq)));
    regions[cloud] = flag.substr(eq + 1);
  }
  return regions;
}

// Every inventory the store holds (`ferry discover --save`), read as files are: source
// "store:NAME", the stored name naming a server whose inventory names no host. Paged, so that
// a large estate's documents are never all in memory at once.
Status AddStoredInventories(const CommandContext& context, plan::EstateReader* reader) {
  // Opening migrates an older store (its inventories table is then empty), but never creates
  // one: a mistyped --store is reported, not planned as an empty estate.
  Result<std::unique_ptr<Store>> store =
      Store::Open(context.store_url, {.create_if_missing = false, .env = context.env});
  if (!store.has_value()) {
    if (store.error().code() != StatusCode::kNotFound) return store.error();
    return NotFound(
        "--from-store: there is no store at {}; save inventories first with `ferry discover "
        "--save` (or `ferry discover import ... --save`), or point --store at the store that "
        "holds them",
        RedactUrl(context.store_url));
  }
  constexpr int kPage = 256;
  int64_t read = 0;
  std::string after;
  for (;;) {
    FERRY_ASSIGN_OR_RETURN(std::vector<InventoryRecord> page,
                           (*store)->ListInventories(after, kPage));
    for (const InventoryRecord& inventory : page) {
      reader->AddInventoryText(inventory.document, "store:" + inventory.name, inventory.name);
    }
    read += static_cast<int64_t>(page.size());
    if (static_cast<int>(page.size()) < kPage) break;
    after = page.back().name;
  }
  if (read == 0) {
    return FailedPrecondition(
        "--from-store: the store {} holds no inventory; save some first with `ferry discover "
        "--save` on each host (or `ferry discover import ... --save`), or point --store at the "
        "store that holds them",
        (*store)->location());
  }
  LogInfo("read inventories from the store",
          {{"store", (*store)->location()}, {"inventories", read}});
  return OkStatus();
}

Result<int> RunPlan(CommandContext& context, const PlanFlags& flags) {
  if (flags.inventories.empty() && !flags.from_store) {
    return Err(InvalidArgument(
        "nothing to plan: pass --inventory with files or directories written by `ferry "
        "discover` (or an estate file), or --from-store to plan the inventories `ferry discover "
        "--save` kept in the store (--store), or both"));
  }
  plan::PlanFormat format = plan::PlanFormat::kTable;
  if (!flags.format.empty()) {
    FERRY_ASSIGN_OR_RETURN(format, plan::ParsePlanFormat(flags.format));
  } else if (context.json || flags.out.ends_with(".json")) {
    format = plan::PlanFormat::kJson;
  } else if (flags.out.ends_with(".md")) {
    format = plan::PlanFormat::kMarkdown;
  } else if (!flags.out.empty()) {
    format = plan::PlanFormat::kJson;
  }
  plan::PlanOptions options;
  options.sizing = {.percentile = flags.percentile, .comfort = flags.comfort};
  options.waves.max_wave_size = flags.max_wave_size;
  FERRY_RETURN_IF_ERROR(plan::ValidateSizingOptions(options.sizing));
  FERRY_RETURN_IF_ERROR(plan::ValidateWaveOptions(options.waves));
  FERRY_ASSIGN_OR_RETURN(options.regions, ParseRegions(flags.regions));
  options.today = flags.date.empty() ? plan::DateOfMicros(context.env->NowMicros()) : flags.date;
  if (!plan::DaysUntil(options.today, options.today)) {
    return Err(
        InvalidArgument("--date {}: expected YYYY-MM-DD, e.g. --date 2025-06-01", flags.date));
  }
  if (!flags.costs.empty()) {
    FERRY_ASSIGN_OR_RETURN(options.costs, plan::LoadCostModel(flags.costs, context.env));
  }
  FERRY_ASSIGN_OR_RETURN(plan::Catalog catalog, LoadCatalog(flags.catalogs, context.env));
  plan::EstateReader reader(context.env);
  FERRY_RETURN_IF_ERROR(reader.AddPaths(flags.inventories));
  if (flags.from_store) FERRY_RETURN_IF_ERROR(AddStoredInventories(context, &reader));
  plan::Estate estate = std::move(reader).Finish();
  FERRY_ASSIGN_OR_RETURN(plan::Plan plan, plan::MakePlan(estate, catalog, options));
  LogDebug("plan made", {{"servers", static_cast<int64_t>(estate.servers.size())},
                         {"graph_ms", plan.timings.graph_ms},
                         {"components_ms", plan.timings.components_ms},
                         {"pagerank_ms", plan.timings.pagerank_ms},
                         {"waves_ms", plan.timings.waves_ms},
                         {"sizing_ms", plan.timings.sizing_ms},
                         {"total_ms", plan.timings.total_ms()}});

  // The plan keeps what it needs of the connections (its graph): free them before rendering.
  std::vector<plan::ObservedConnection>().swap(estate.connections);
  std::string text;
  switch (format) {
    case plan::PlanFormat::kJson: text = plan::RenderPlanJson(estate, plan); break;
    case plan::PlanFormat::kMarkdown: text = plan::RenderPlanMarkdown(estate, plan); break;
    case plan::PlanFormat::kTable: text = plan::RenderPlanTable(estate, plan); break;
  }
  if (flags.out.empty()) {
    context.out << text;
    return kExitOk;
  }
  Status written = context.env->WriteFileAtomic(flags.out, text);
  if (!written.ok()) {
    return Err(written.WithContext(
        fmt::format("--out {}: cannot write the plan; choose a writable path", flags.out)));
  }
  if (context.json && format != plan::PlanFormat::kJson) {
    context.out << Json{{"ok", true},
                        {"out", flags.out},
                        {"servers", estate.servers.size()},
                        {"waves", plan.waves.waves.size()},
                        {"risks", plan.risks.size()},
                        {"skipped_inputs", estate.skipped.size()}}
                       .dump(2)
                << "\n";
  } else {
    context.out << fmt::format(
        "plan of {} server(s) written to {}: {} wave(s), {} risk(s){}\n", estate.servers.size(),
        flags.out, plan.waves.waves.size(), plan.risks.size(),
        estate.skipped.empty()
            ? std::string()
            : fmt::format("; {} input(s) left out (see `inputs.skipped`)", estate.skipped.size()));
  }
  return kExitOk;
}

Result<int> RunImport(CommandContext& context, const ImportFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(plan::Cloud cloud, plan::ParseCloud(flags.from));
  plan::ImportOptions options;
  options.regions.insert(flags.regions.begin(), flags.regions.end());
  options.families.insert(flags.families.begin(), flags.families.end());
  FERRY_ASSIGN_OR_RETURN(plan::ImportedPrices imported,
                         plan::ImportPriceFiles(cloud, flags.files, options, context.env));
  if (!flags.date.empty()) {
    if (!plan::DaysUntil(flags.date, flags.date)) {
      return Err(InvalidArgument("--date {}: expected YYYY-MM-DD", flags.date));
    }
    imported.snapshot_date = flags.date;
  }
  if (imported.prices == 0) {
    return Err(InvalidArgument(
        "{}: no Linux instance price found for {}{}; check --from, --regions and --families, "
        "or download the file again",
        imported.source, plan::CloudName(cloud),
        imported.warnings.empty() ? "" : " (" + imported.warnings.front() + ")"));
  }
  plan::Catalog catalog;
  if (context.env->FileExists(flags.catalog)) {
    FERRY_ASSIGN_OR_RETURN(catalog, plan::ReadCatalogFile(flags.catalog, context.env));
  }
  const plan::CloudCatalog* fallback = plan::BuiltinCatalog().Find(cloud);
  plan::CloudCatalog empty;
  empty.cloud = cloud;
  std::vector<std::string> warnings = imported.warnings;
  plan::MergeImportedPrices(imported, fallback ? *fallback : empty,
                            plan::DateOfMicros(context.env->NowMicros()), &catalog, &warnings);
  for (size_t k = imported.warnings.size(); k < warnings.size(); ++k) LogWarn(warnings[k]);
  Status written =
      context.env->WriteFileAtomic(flags.catalog, plan::CatalogToJson(catalog).dump(1) + "\n");
  if (!written.ok()) {
    return Err(written.WithContext(fmt::format(
        "--catalog {}: cannot write the catalogue; choose a writable path", flags.catalog)));
  }
  if (context.json) {
    context.out << Json{{"ok", true},
                        {"cloud", plan::CloudName(cloud)},
                        {"catalog", flags.catalog},
                        {"instance_types", imported.instances.size()},
                        {"prices", imported.prices},
                        {"skipped_items", imported.skipped_items},
                        {"warnings", warnings}}
                       .dump(2)
                << "\n";
  } else {
    context.out << fmt::format(
        "imported {} price(s) of {} {} instance type(s) from {} into {} ({} item(s) of the file "
        "skipped, {} warning(s)); use it with `ferry plan --catalog {}`\n",
        imported.prices, imported.instances.size(), plan::CloudName(cloud), imported.source,
        flags.catalog, imported.skipped_items, warnings.size(), flags.catalog);
  }
  return kExitOk;
}

Result<int> RunShow(CommandContext& context, const ShowFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(plan::Catalog catalog, LoadCatalog(flags.catalogs, context.env));
  if (context.json) {
    context.out << plan::CatalogToJson(catalog).dump(1) << "\n";
    return kExitOk;
  }
  for (const plan::CloudCatalog& cloud : catalog.clouds) {
    std::map<std::string, int> families;
    for (const plan::InstanceType& type : cloud.instances) ++families[type.family];
    std::string family_list, region_list;
    for (const auto& [family, count] : families) {
      family_list += fmt::format("{}{} ({})", family_list.empty() ? "" : ", ", family, count);
    }
    for (const auto& [region, rates] : cloud.regions) {
      region_list += (region_list.empty() ? "" : ", ") + region;
    }
    context.out << fmt::format(
        "{}: {} instance types, prices of {}\n  regions: {} (default {})\n  families: {}\n  "
        "source: {}\n",
        plan::CloudName(cloud.cloud), cloud.instances.size(), cloud.snapshot_date, region_list,
        cloud.default_region, family_list, cloud.source);
  }
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> PlanCommands() {
  auto flags = std::make_shared<PlanFlags>();
  auto import_flags = std::make_shared<ImportFlags>();
  auto show_flags = std::make_shared<ShowFlags>();
  return {
      {.path = {"plan"},
       .group_help = "",
       .help = "Plan the migration of inventoried servers: dependency waves, strategies, risks, "
               "right-sizing in AWS, Azure and GCP, and the 3-year cost",
       .add_options =
           [flags](CLI::App& app) {
             app.add_option("--inventory", flags->inventories,
                            "Inventories: files of `ferry discover`, directories of them, or an "
                            "estate file (repeatable; this or --from-store is required)");
             app.add_flag("--from-store", flags->from_store,
                          "Also plan every inventory `ferry discover --save` kept in the store "
                          "(--store)");
             app.add_option("--out", flags->out, "Write the plan to FILE (default: stdout)");
             app.add_option("--format", flags->format,
                            "table, json or markdown (default: table on stdout, else by the "
                            "--out extension: .md markdown, otherwise json)");
             app.add_option("--max-wave-size", flags->max_wave_size,
                            "Most servers in one wave (default 50)");
             app.add_option("--percentile", flags->percentile,
                            "Baseline percentile sizing uses: 50, 95, 99 or 100 (default 95)");
             app.add_option("--comfort", flags->comfort,
                            "Comfort factor over the measured load (default 1.3)");
             app.add_option("--catalog", flags->catalogs,
                            "Price catalogue file(s) from `ferry catalog import`, laid over the "
                            "built-in snapshot (repeatable)");
             app.add_option("--costs", flags->costs,
                            "YAML file overriding the on-premises cost model (docs/plan.md)");
             app.add_option("--region", flags->regions,
                            "CLOUD=REGION priced (repeatable; default aws=us-east-1, "
                            "azure=eastus, gcp=us-central1)");
             app.add_option("--date", flags->date,
                            "Plan date YYYY-MM-DD for end-of-life checks (default: today)");
           },
       .run = [flags](CommandContext& context) { return RunPlan(context, *flags); }},
      {.path = {"catalog", "import"},
       .group_help = "The price catalogue `ferry plan` sizes and prices with",
       .help = "Import a provider's price file(s) (AWS bulk offer JSON, Azure Retail Prices "
               "API pages, GCP machine-type JSON) into a catalogue file",
       .add_options =
           [import_flags](CLI::App& app) {
             app.add_option("--from", import_flags->from, "aws, azure or gcp")->required();
             app.add_option("files", import_flags->files, "Price file(s) of that provider")
                 ->required();
             app.add_option("--catalog", import_flags->catalog,
                            "Catalogue file to update (default ./ferry-catalog.json; created "
                            "when missing)");
             app.add_option("--regions", import_flags->regions,
                            "Only these regions, comma-separated (default: all in the file)")
                 ->delimiter(',');
             app.add_option("--families", import_flags->families,
                            "Only these instance families, comma-separated (default: all "
                            "known)")
                 ->delimiter(',');
             app.add_option("--date", import_flags->date,
                            "Date of the prices, YYYY-MM-DD, when the file carries none");
           },
       .run =
           [import_flags](CommandContext& context) { return RunImport(context, *import_flags); }},
      {.path = {"catalog", "show"},
       .group_help = "The price catalogue `ferry plan` sizes and prices with",
       .help = "Show the clouds, regions, families and dates of the price catalogue",
       .add_options =
           [show_flags](CLI::App& app) {
             app.add_option("--catalog", show_flags->catalogs,
                            "Catalogue file(s) laid over the built-in snapshot (repeatable)");
           },
       .run = [show_flags](CommandContext& context) { return RunShow(context, *show_flags); }},
  };
}

}  // namespace ferry
