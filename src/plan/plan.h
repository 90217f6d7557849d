// `ferry plan`: from an estate (estate.h) to a migration plan: the dependency graph and its
// strongly coupled groups, criticality (PageRank) and complexity, waves, a strategy per server,
// the risk register, right-sizing in three clouds and the TCO. docs/plan.md describes every
// rule and the JSON shape of a plan; plan_render.h writes it as JSON, Markdown or a table.
//
//   FERRY_ASSIGN_OR_RETURN(Estate estate, ReadEstate(paths, env));
//   FERRY_ASSIGN_OR_RETURN(Plan plan, MakePlan(estate, BuiltinCatalog(), options));
//
// Thread-safety: MakePlan is a pure function of its arguments (the clock is in options.today).
#ifndef FERRY_PLAN_PLAN_H_
#define FERRY_PLAN_PLAN_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "plan/catalog.h"
#include "plan/estate.h"
#include "plan/graph.h"
#include "plan/os_lifecycle.h"
#include "plan/risk.h"
#include "plan/sizing.h"
#include "plan/strategy.h"
#include "plan/tco.h"
#include "plan/waves.h"

namespace ferry::plan {

struct PlanOptions {
  SizingOptions sizing;
  WaveOptions waves;
  // The region priced in each cloud; a cloud left out uses its catalogue's default region.
  std::map<Cloud, std::string> regions;
  // "YYYY-MM-DD": the day end-of-life dates are measured from. Required.
  std::string today;
  CostModel costs;
  // A server is high-criticality when its PageRank is at least this many times the average
  // (1/servers). Lower it to protect more servers from the pilot waves.
  double high_criticality = 3.0;
  // A server is high-complexity at this complexity score or more (docs/plan.md).
  int high_complexity = 8;
};

struct Criticality {
  double pagerank = 0;
  double relative = 0;  // pagerank x servers: 1 is the average
  int rank = 0;         // 1 = the most critical
  std::string level;    // "high", "medium" (1.5x the average or more), "low"
};

struct Complexity {
  int score = 0;
  std::string level;  // "high", "medium" (4 or more), "low"
  std::vector<std::string> factors;
};

struct ServerPlan {
  Criticality criticality;
  Complexity complexity;
  int dependencies = 0;  // distinct servers it depends on
  int dependents = 0;    // distinct servers that depend on it
  std::optional<OsLifecycle> lifecycle;
  std::optional<int64_t> days_to_end_of_life;
  StrategyChoice strategy;
  ServerSizing sizing;
};

// Where each phase's time went, for the benchmark and `--log-level debug`.
struct PlanTimings {
  double graph_ms = 0, components_ms = 0, pagerank_ms = 0, assess_ms = 0, waves_ms = 0,
         sizing_ms = 0, risks_ms = 0, tco_ms = 0;
  double total_ms() const {
    return graph_ms + components_ms + pagerank_ms + assess_ms + waves_ms + sizing_ms + risks_ms +
           tco_ms;
  }
};

struct PricedCloud {
  Cloud cloud = Cloud::kAws;
  std::string region;
  const CloudCatalog* catalog = nullptr;  // points into the Catalog given to MakePlan
};

struct Plan {
  PlanOptions options;
  int64_t connection_records = 0;  // Estate::connections.size() when planned
  DependencyGraph graph;
  Components components;
  int pagerank_iterations = 0;
  std::vector<ServerPlan> servers;  // parallel to Estate::servers
  WavePlan waves;
  std::vector<Risk> risks;
  std::vector<PricedCloud> clouds;  // the clouds sized and priced, in Cloud order
  Tco tco;
  std::vector<std::string> notes;  // things the reader of the plan should know
  PlanTimings timings;
};

// Plans `estate`. `catalog` must outlive the plan (sizing points into it). Fails only for bad
// options (a region the catalogue does not price, a percentile the baseline does not hold) or
// an empty estate; bad input inside the estate becomes notes and risks.
[[nodiscard]] Result<Plan> MakePlan(const Estate& estate, const Catalog& catalog,
                                    const PlanOptions& options);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_PLAN_H_
