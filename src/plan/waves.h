// Wave planning: which servers move together, and in which order. The rules are those Azure
// Migrate's wave planning documents (Microsoft Learn, "Plan migration waves"), made exact;
// docs/plan.md ("Waves") explains each and how conflicts between them are settled:
//
//  1. Strongly coupled servers (a strongly connected component of the dependency graph) move in
//     one wave. A component larger than the maximum wave size is kept whole, in a wave of its
//     own, flagged `oversized`.
//  2. A dependency moves in the same wave as its dependent or an earlier one.
//  3. Non-production servers move before production ones, and no wave mixes them. A component
//     holding both is kept whole in a wave of its own among the production waves, flagged
//     `mixed`. A non-production server that depends on a production one cannot satisfy rule 2
//     (the production one moves later): the pair is listed as a cross-environment dependency,
//     whose route stays open until the production side moves.
//  4. High-criticality and high-complexity servers are kept out of the plan's first
//     `protected_first_waves` waves (the pilot), so that the first moves teach on low stakes.
//  5. A wave holds at most `max_wave_size` servers.
//
// Within these rules a component goes to the earliest wave with room, components considered
// dependencies first and, among those ready, low-risk ones first (unprotected, then by
// criticality ascending), so that the early waves fill with the easy moves.
//
// Cost: linear in servers + dependencies, plus a heap of the ready components.
//
// Thread-safety: pure function.
#ifndef FERRY_PLAN_WAVES_H_
#define FERRY_PLAN_WAVES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "plan/estate.h"
#include "plan/graph.h"

namespace ferry::plan {

struct WaveOptions {
  // The most servers a wave moves. Smaller waves lower each cutover's risk and lengthen the
  // migration; at least 1.
  int max_wave_size = 50;
  // How many first waves (the pilot) high-criticality and high-complexity servers stay out of.
  int protected_first_waves = 1;
};

struct WaveInput {
  const DependencyGraph* graph = nullptr;
  const Components* components = nullptr;
  std::vector<Environment> environment;  // by server
  // Whether a server is high-criticality or high-complexity, and why ("criticality 4.2x
  // average, rank 1 of 50"); empty when it is not.
  std::vector<std::string> protection;
  std::vector<double> criticality;  // by server, for the order among ready components
  const std::vector<std::string>* names = nullptr;  // by server, for reasons
};

struct Wave {
  int number = 0;  // 1-based
  Environment environment = Environment::kProduction;
  std::vector<int32_t> servers;  // ascending
  bool oversized = false;        // one component larger than the maximum wave size
  bool mixed = false;            // one component mixing production and non-production
};

struct CrossEnvironmentDependency {
  int32_t dependent = 0;   // a non-production server
  int32_t dependency = 0;  // a production server it depends on, moving in a later wave
};

struct WavePlan {
  std::vector<Wave> waves;
  std::vector<int32_t> wave_of;     // by server: index into waves (number - 1)
  std::vector<std::string> reason;  // by server: why this wave
  std::vector<CrossEnvironmentDependency> cross_environment;
  std::vector<std::string> notes;  // rules that could not all hold, and why
};

// Validates the options ("--max-wave-size 0: ...").
[[nodiscard]] Status ValidateWaveOptions(const WaveOptions& options);

WavePlan PlanWaves(const WaveInput& input, const WaveOptions& options);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_WAVES_H_
