#include "plan/plan.h"

#include <algorithm>
#include <chrono>
#include <numeric>

#include <fmt/format.h>

namespace ferry::plan {
namespace {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  // Milliseconds since the last call (or construction).
  double Lap() {
    auto now = std::chrono::steady_clock::now();
    double ms = std::chrono::duration<double, std::milli>(now - start_).count();
    start_ = now;
    return ms;
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

Complexity AssessComplexity(const Server& server, int degree, int32_t component_size,
                            const std::optional<OsLifecycle>& lifecycle,
                            std::optional<int64_t> days_to_end_of_life, int high) {
  Complexity c;
  const int services = std::min(5, server.listening_services);
  if (services > 0) {
    c.score += services;
    c.factors.push_back(
        fmt::format("{} listening service(s): +{}", server.listening_services, services));
  }
  const int coupling = std::min(5, degree / 5);
  if (coupling > 0) {
    c.score += coupling;
    c.factors.push_back(fmt::format("{} servers connected to it: +{}", degree, coupling));
  }
  if (server.roles & kRoleDatabase) {
    c.score += 3;
    c.factors.push_back("database: +3");
  }
  if (component_size > 1) {
    c.score += 2;
    c.factors.push_back(
        fmt::format("strongly coupled with {} other server(s): +2", component_size - 1));
  }
  if ((lifecycle && lifecycle->legacy_platform) ||
      (days_to_end_of_life && *days_to_end_of_life < 0)) {
    c.score += 2;
    c.factors.push_back("legacy or end-of-life OS: +2");
  }
  c.level = c.score >= high ? "high" : c.score >= 4 ? "medium" : "low";
  return c;
}

TcoFate FateOf(Strategy strategy) {
  switch (strategy) {
    case Strategy::kReplatform: return TcoFate::kMovesManaged;
    case Strategy::kRetire: return TcoFate::kRetired;
    case Strategy::kRetain:
    case Strategy::kEncapsulate: return TcoFate::kStays;
    case Strategy::kRehost:
    case Strategy::kRefactor:
    case Strategy::kRepurchase: return TcoFate::kMoves;
  }
  return TcoFate::kMoves;
}

}  // namespace

Result<Plan> MakePlan(const Estate& estate, const Catalog& catalog, const PlanOptions& options) {
  FERRY_RETURN_IF_ERROR(ValidateSizingOptions(options.sizing));
  FERRY_RETURN_IF_ERROR(ValidateWaveOptions(options.waves));
  if (!DaysUntil(options.today, options.today)) {
    return Err(InvalidArgument("plan date `{}` is not YYYY-MM-DD", options.today));
  }
  if (estate.servers.empty()) {
    std::string why = estate.skipped.empty()
                          ? std::string("the inputs hold no inventory")
                          : fmt::format("{} input(s) could not be read, e.g. {}",
                                        estate.skipped.size(), estate.skipped.front().message);
    return Err(InvalidArgument(
        "no server to plan: {}; pass inventories written by `ferry discover` (files, "
        "directories of them, or an estate file) with --inventory, or those `ferry discover "
        "--save` kept in the store with --from-store",
        why));
  }
  Plan plan;
  plan.options = options;
  plan.connection_records = static_cast<int64_t>(estate.connections.size());
  Stopwatch watch;

  // The clouds to size and price, and their regions.
  std::vector<InstanceSelector> selectors;
  for (const auto& [cloud, region] : options.regions) {
    if (catalog.Find(cloud) == nullptr) {
      return Err(InvalidArgument(
          "--region {}={}: the catalogue has no {} prices; import them with `ferry catalog "
          "import --from {} FILE` or leave that --region out",
          CloudName(cloud), region, CloudName(cloud), CloudName(cloud)));
    }
  }
  for (Cloud cloud : kAllClouds) {
    const CloudCatalog* section = catalog.Find(cloud);
    if (section == nullptr) {
      plan.notes.push_back(fmt::format("the catalogue has no {} prices: {} is not sized or priced",
                                       CloudName(cloud), CloudName(cloud)));
      continue;
    }
    auto it = options.regions.find(cloud);
    const std::string region = it != options.regions.end() ? it->second : section->default_region;
    FERRY_ASSIGN_OR_RETURN(InstanceSelector selector, InstanceSelector::Build(*section, region));
    selectors.push_back(std::move(selector));
    plan.clouds.push_back({cloud, region, section});
  }

  const int32_t n = static_cast<int32_t>(estate.servers.size());
  plan.graph = DependencyGraph::Build(estate);
  plan.timings.graph_ms = watch.Lap();
  plan.components = StronglyConnectedComponents(plan.graph);
  plan.timings.components_ms = watch.Lap();
  std::vector<double> rank = PageRank(plan.graph, {}, &plan.pagerank_iterations);
  plan.timings.pagerank_ms = watch.Lap();

  // Criticality, complexity, lifecycle, strategy.
  plan.servers.resize(static_cast<size_t>(n));
  {
    std::vector<int32_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](int32_t a, int32_t b) { return rank[a] != rank[b] ? rank[a] > rank[b] : a < b; });
    for (int32_t position = 0; position < n; ++position) {
      plan.servers[order[position]].criticality.rank = position + 1;
    }
  }
  WaveInput wave_input;
  wave_input.graph = &plan.graph;
  wave_input.components = &plan.components;
  wave_input.environment.resize(static_cast<size_t>(n));
  wave_input.protection.resize(static_cast<size_t>(n));
  wave_input.criticality.resize(static_cast<size_t>(n));
  std::vector<std::string> names(static_cast<size_t>(n));
  // Estates repeat a handful of OS releases: look each up once.
  std::map<std::pair<std::string, std::string>, std::optional<OsLifecycle>> lifecycles;
  for (int32_t i = 0; i < n; ++i) {
    const Server& server = estate.servers[i];
    ServerPlan& sp = plan.servers[i];
    names[i] = server.name;
    sp.dependencies = static_cast<int>(plan.graph.DependenciesOf(i).size());
    sp.dependents = static_cast<int>(plan.graph.DependentsOf(i).size());
    Criticality& c = sp.criticality;
    c.pagerank = rank[i];
    c.relative = rank[i] * n;
    c.level = c.relative >= options.high_criticality ? "high"
              : c.relative >= 1.5                    ? "medium"
                                                     : "low";
    auto [known, inserted] =
        lifecycles.try_emplace({server.os_id, server.os_version_id}, std::nullopt);
    if (inserted) known->second = FindOsLifecycle(server.os_id, server.os_version_id);
    sp.lifecycle = known->second;
    if (sp.lifecycle && !sp.lifecycle->end_date.empty()) {
      sp.days_to_end_of_life = DaysUntil(options.today, sp.lifecycle->end_date);
    }
    const int32_t component_size =
        static_cast<int32_t>(plan.components.members[plan.components.component[i]].size());
    sp.complexity = AssessComplexity(server, sp.dependencies + sp.dependents, component_size,
                                     sp.lifecycle, sp.days_to_end_of_life, options.high_complexity);
    sp.strategy = SuggestStrategy(server, {.dependents = sp.dependents,
                                           .lifecycle = sp.lifecycle,
                                           .days_to_end_of_life = sp.days_to_end_of_life});
    wave_input.environment[i] = server.environment;
    wave_input.criticality[i] = rank[i];
    if (c.level == "high") {
      wave_input.protection[i] = fmt::format(
          "high criticality (PageRank {:.1f}x the average, rank {} of {})", c.relative, c.rank, n);
    } else if (sp.complexity.level == "high") {
      wave_input.protection[i] = fmt::format("high complexity (score {})", sp.complexity.score);
    }
  }
  wave_input.names = &names;
  plan.timings.assess_ms = watch.Lap();

  plan.waves = PlanWaves(wave_input, options.waves);
  plan.timings.waves_ms = watch.Lap();

  for (int32_t i = 0; i < n; ++i) {
    plan.servers[i].sizing = SizeServer(estate.servers[i], options.sizing, selectors);
  }
  plan.timings.sizing_ms = watch.Lap();

  plan.risks = BuildRiskRegister(estate, plan);
  plan.timings.risks_ms = watch.Lap();

  std::vector<TcoServer> tco_servers(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    const Server& server = estate.servers[i];
    const ServerPlan& sp = plan.servers[i];
    TcoServer& t = tco_servers[i];
    t.fate = FateOf(sp.strategy.strategy);
    t.vcpus = server.logical_cpus > 0 ? server.logical_cpus : 2;
    t.memory_gib = server.memory_bytes > 0 ? server.memory_bytes / (1024.0 * 1024 * 1024) : 4;
    t.storage_gb_on_premises = std::max(
        10.0,
        static_cast<double>(server.disk_bytes > 0 ? server.disk_bytes : server.disk_used_bytes) /
            1e9);
    t.os_id = server.os_id;
    t.cloud_storage_gb = sp.sizing.storage_gb;
    t.egress_gb_per_month = sp.sizing.egress_gb_per_month;
    const auto& balanced = sp.sizing.choice[static_cast<size_t>(SizingOption::kBalanced)];
    t.balanced.reserve(balanced.size());
    for (const InstanceChoice& choice : balanced) t.balanced.push_back(choice.price);
  }
  std::vector<TcoCloud> tco_clouds;
  for (const PricedCloud& cloud : plan.clouds) tco_clouds.push_back({cloud.catalog, cloud.region});
  plan.tco = ComputeTco(tco_servers, tco_clouds, options.costs);
  plan.timings.tco_ms = watch.Lap();

  // Notes for the reader.
  if (!estate.skipped.empty()) {
    plan.notes.push_back(fmt::format(
        "{} input(s) could not be read and are not in the plan (see `inputs.skipped`); the plan "
        "covers the {} server(s) that could",
        estate.skipped.size(), n));
  }
  if (plan.graph.external_connections() > 0) {
    plan.notes.push_back(fmt::format(
        "{} connection(s) reach {} address(es) outside the inventories: they are not in the "
        "dependency graph (see `dependencies.external`)",
        plan.graph.external_connections(), plan.graph.external_endpoint_count()));
  }
  if (!plan.graph.ambiguous_addresses().empty()) {
    plan.notes.push_back(fmt::format(
        "{}{} address(es) belong to several servers (e.g. {}): connections to them match no "
        "server",
        plan.graph.ambiguous_addresses().size(),
        plan.graph.ambiguous_addresses().size() >= 20 ? " or more" : "",
        plan.graph.ambiguous_addresses().front()));
  }
  for (const std::string& note : plan.waves.notes) plan.notes.push_back(note);
  for (const std::string& note : plan.tco.notes) plan.notes.push_back(note);
  return plan;
}

}  // namespace ferry::plan
