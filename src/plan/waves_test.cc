// Waves of the generated 50-server estate (and larger ones), checked rule by rule as
// properties rather than against a fixed answer; mutations of the estate checked against an
// independent re-computation of where every server must go.
#include "plan/waves.h"

#include <algorithm>
#include <map>
#include <queue>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "plan/estate_generator.h"
#include "plan/plan.h"

namespace ferry::plan {
namespace {

using ::testing::HasSubstr;

constexpr char kToday[] = "2025-06-01";

Plan PlanOf(const Estate& estate, int max_wave_size) {
  PlanOptions options;
  options.today = kToday;
  options.waves.max_wave_size = max_wave_size;
  Result<Plan> plan = MakePlan(estate, BuiltinCatalog(), options);
  EXPECT_TRUE(plan.has_value()) << plan.error().ToString();
  return std::move(*plan);
}

int32_t IndexOf(const Estate& estate, std::string_view name) {
  for (size_t i = 0; i < estate.servers.size(); ++i) {
    if (estate.servers[i].name == name) return static_cast<int32_t>(i);
  }
  ADD_FAILURE() << "no server " << name;
  return -1;
}

void AddDependency(Estate* estate, std::string_view from, std::string_view to, uint16_t port) {
  ObservedConnection c;
  c.client = IndexOf(*estate, from);
  c.remote_address = estate->servers[IndexOf(*estate, to)].addresses.front();
  c.port = port;
  c.service = "http";
  estate->connections.push_back(c);
}

bool IsProtected(const Plan& plan, int32_t u) {
  return plan.servers[u].criticality.level == "high" || plan.servers[u].complexity.level == "high";
}

// Every rule of waves.h, as a property of the plan.
void ExpectRulesHold(const Estate& estate, const Plan& plan) {
  const int32_t n = static_cast<int32_t>(estate.servers.size());
  const WavePlan& waves = plan.waves;
  const int max_size = plan.options.waves.max_wave_size;
  ASSERT_EQ(waves.wave_of.size(), static_cast<size_t>(n));
  // Each server in exactly one wave, and wave_of agrees.
  std::vector<int> seen(static_cast<size_t>(n), 0);
  for (size_t w = 0; w < waves.waves.size(); ++w) {
    EXPECT_EQ(waves.waves[w].number, static_cast<int>(w) + 1);
    EXPECT_FALSE(waves.waves[w].servers.empty()) << "empty wave " << w + 1;
    for (int32_t u : waves.waves[w].servers) {
      ++seen[u];
      EXPECT_EQ(waves.wave_of[u], static_cast<int32_t>(w));
    }
  }
  for (int32_t u = 0; u < n; ++u) EXPECT_EQ(seen[u], 1) << estate.servers[u].name;

  // 1. Strongly coupled servers share a wave.
  for (const auto& members : plan.components.members) {
    for (int32_t u : members) EXPECT_EQ(waves.wave_of[u], waves.wave_of[members.front()]);
  }
  // 2. A dependency moves in the same or an earlier wave, except a non-production server's
  //    dependency on a production one, which must then be listed as crossing environments.
  std::set<std::pair<int32_t, int32_t>> crossing;
  for (const auto& d : waves.cross_environment) crossing.insert({d.dependent, d.dependency});
  for (const Edge& e : plan.graph.edges()) {
    if (waves.wave_of[e.to] <= waves.wave_of[e.from]) continue;
    EXPECT_EQ(estate.servers[e.from].environment, Environment::kNonProduction)
        << estate.servers[e.from].name << " -> " << estate.servers[e.to].name;
    EXPECT_EQ(waves.waves[waves.wave_of[e.to]].environment, Environment::kProduction);
    EXPECT_TRUE(crossing.contains({e.from, e.to}))
        << estate.servers[e.from].name << " -> " << estate.servers[e.to].name;
  }
  // 3. No wave mixes environments (unless flagged mixed), and non-production comes first.
  bool production_started = false;
  for (const Wave& wave : waves.waves) {
    if (!wave.mixed) {
      for (int32_t u : wave.servers) {
        EXPECT_EQ(estate.servers[u].environment, wave.environment)
            << "wave " << wave.number << " " << estate.servers[u].name;
      }
    }
    if (wave.environment == Environment::kProduction) production_started = true;
    if (production_started) {
      EXPECT_EQ(wave.environment, Environment::kProduction) << "wave " << wave.number;
    }
  }
  // 4. High-criticality and high-complexity servers are not in the pilot (wave 1), unless the
  //    plan says why; the three most critical servers are never in wave 1 here.
  const bool pilot_breach_noted = std::any_of(
      plan.notes.begin(), plan.notes.end(),
      [](const std::string& note) { return note.find("no pilot wave") != std::string::npos; });
  for (int32_t u = 0; u < n; ++u) {
    if (IsProtected(plan, u) && waves.wave_of[u] == 0) {
      EXPECT_TRUE(pilot_breach_noted) << estate.servers[u].name << " is in the pilot";
    }
  }
  // 5. Wave sizes stay within the maximum, except one flagged oversized group.
  for (const Wave& wave : waves.waves) {
    if (static_cast<int>(wave.servers.size()) > max_size) {
      EXPECT_TRUE(wave.oversized) << "wave " << wave.number;
    }
    if (wave.oversized || wave.mixed) {
      // A dedicated wave holds one component, whole.
      const int32_t c = plan.components.component[wave.servers.front()];
      EXPECT_EQ(wave.servers.size(), plan.components.members[c].size());
    }
  }
  // Every placement carries its reason, naming its wave.
  for (int32_t u = 0; u < n; ++u) {
    EXPECT_THAT(waves.reason[u], HasSubstr(fmt::format("wave {}", waves.wave_of[u] + 1)))
        << estate.servers[u].name;
  }
}

TEST(WavesTest, ThreeTierEstateFollowsEveryRule) {
  const Estate estate = ThreeTierEstate();
  ASSERT_EQ(estate.servers.size(), 50u);
  for (int max_size : {4, 8, 13, 50}) {
    SCOPED_TRACE(fmt::format("max wave size {}", max_size));
    Plan plan = PlanOf(estate, max_size);
    ExpectRulesHold(estate, plan);
    // The most critical servers (those the whole estate depends on) are not in wave 1.
    std::vector<int32_t> order(estate.servers.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
      return plan.servers[a].criticality.rank < plan.servers[b].criticality.rank;
    });
    for (int k = 0; k < 3; ++k) {
      EXPECT_NE(plan.waves.wave_of[order[k]], 0) << estate.servers[order[k]].name;
    }
    EXPECT_EQ(estate.servers[order[0]].name, "prd-dns-01");
    // Non-production waves exist and come first; dev servers reach the production DNS.
    EXPECT_EQ(plan.waves.waves.front().environment, Environment::kNonProduction);
    EXPECT_FALSE(plan.waves.cross_environment.empty());
    if (max_size < 50) {
      EXPECT_GE(plan.waves.waves.size(), static_cast<size_t>((29 + max_size - 1) / max_size + 1));
    }
  }
}

TEST(WavesTest, ReasonsSayWhatHeldAServerBack) {
  const Estate estate = ThreeTierEstate();
  Plan plan = PlanOf(estate, 50);
  const int32_t web = IndexOf(estate, "prd-web-01");
  EXPECT_THAT(plan.waves.reason[web], HasSubstr("its dependency"));
  const int32_t dns = IndexOf(estate, "prd-dns-01");
  EXPECT_THAT(plan.waves.reason[dns], HasSubstr("high criticality"));
  const int32_t dev = IndexOf(estate, "dev-api-01");
  EXPECT_THAT(plan.waves.reason[dev], HasSubstr("depends on production"));
  EXPECT_THAT(plan.waves.reason[dev], HasSubstr("prd-dns-01"));
}

// The documented algorithm written out again, naively (quadratic scans instead of a heap, a
// union-find and compressed rows): components by reachability; non-production components
// first, then production ones (a component with any production server); among the components
// whose same-group dependencies are placed, unprotected first, then lower criticality, then
// lower first server; each to the earliest wave at or after its group's first wave, its
// dependencies' waves and (protected) the pilot, with room for it (a component larger than the
// maximum, or mixing environments, needs an empty wave and closes it); empty waves dropped.
std::vector<int32_t> ReferenceWaves(const Estate& estate, const Plan& plan) {
  const int32_t n = static_cast<int32_t>(estate.servers.size());
  const int max_size = plan.options.waves.max_wave_size;
  const int pilot = plan.options.waves.protected_first_waves;
  std::vector<std::set<int32_t>> deps(static_cast<size_t>(n));
  for (const Edge& e : plan.graph.edges()) deps[e.from].insert(e.to);
  std::vector<std::vector<bool>> reach(static_cast<size_t>(n), std::vector<bool>(n, false));
  for (int32_t s = 0; s < n; ++s) {
    std::queue<int32_t> q;
    q.push(s);
    reach[s][s] = true;
    while (!q.empty()) {
      int32_t u = q.front();
      q.pop();
      for (int32_t v : deps[u]) {
        if (!reach[s][v]) {
          reach[s][v] = true;
          q.push(v);
        }
      }
    }
  }
  struct Component {
    std::vector<int32_t> members;
    int group = 0;
    bool is_protected = false, dedicated = false;
    double criticality = 0;
    int32_t wave = -1;
  };
  std::vector<Component> components;
  std::vector<int32_t> component_of(static_cast<size_t>(n), -1);
  for (int32_t u = 0; u < n; ++u) {
    if (component_of[u] >= 0) continue;
    Component c;
    bool production = false, non_production = false;
    for (int32_t v = 0; v < n; ++v) {
      if (!(reach[u][v] && reach[v][u])) continue;
      c.members.push_back(v);
      component_of[v] = static_cast<int32_t>(components.size());
      (estate.servers[v].environment == Environment::kProduction ? production : non_production) =
          true;
      c.is_protected |= IsProtected(plan, v);
      c.criticality = std::max(c.criticality, plan.servers[v].criticality.pagerank);
    }
    c.group = production ? 1 : 0;
    c.dedicated = static_cast<int>(c.members.size()) > max_size || (production && non_production);
    components.push_back(std::move(c));
  }
  struct Slot {
    int used = 0;
    bool closed = false;
  };
  std::vector<Slot> waves;
  for (int g = 0; g < 2; ++g) {
    const int32_t start = static_cast<int32_t>(waves.size());
    while (true) {
      int32_t best = -1;
      for (int32_t c = 0; c < static_cast<int32_t>(components.size()); ++c) {
        const Component& x = components[c];
        if (x.group != g || x.wave >= 0) continue;
        bool ready = true;
        for (int32_t u : x.members) {
          for (int32_t d : deps[u]) {
            const Component& y = components[component_of[d]];
            if (component_of[d] != c && y.group == g && y.wave < 0) ready = false;
          }
        }
        if (!ready) continue;
        if (best < 0 ||
            std::make_tuple(x.is_protected, x.criticality, x.members.front()) <
                std::make_tuple(components[best].is_protected, components[best].criticality,
                                components[best].members.front())) {
          best = c;
        }
      }
      if (best < 0) break;
      Component& x = components[best];
      int32_t lower = start;
      for (int32_t u : x.members) {
        for (int32_t d : deps[u]) {
          const Component& y = components[component_of[d]];
          if (component_of[d] != best && y.group == g) lower = std::max(lower, y.wave);
        }
      }
      if (x.is_protected) lower = std::max(lower, pilot);
      const int size = static_cast<int>(x.members.size());
      int32_t w = lower;
      while (true) {
        if (w >= static_cast<int32_t>(waves.size())) waves.resize(static_cast<size_t>(w) + 1);
        const Slot& slot = waves[w];
        if (x.dedicated ? slot.used == 0 && !slot.closed
                        : !slot.closed && slot.used + size <= max_size) {
          break;
        }
        ++w;
      }
      waves[w].used += size;
      waves[w].closed |= x.dedicated;
      x.wave = w;
    }
  }
  std::map<int32_t, int32_t> compact;
  for (int32_t w = 0; w < static_cast<int32_t>(waves.size()); ++w) {
    if (waves[w].used > 0) compact[w] = static_cast<int32_t>(compact.size());
  }
  std::vector<int32_t> wave_of(static_cast<size_t>(n));
  for (int32_t u = 0; u < n; ++u) wave_of[u] = compact[components[component_of[u]].wave];
  return wave_of;
}

std::set<std::string> Moved(const Estate& estate, const Plan& before, const Plan& after) {
  std::set<std::string> moved;
  for (size_t i = 0; i < estate.servers.size(); ++i) {
    if (before.waves.wave_of[i] != after.waves.wave_of[i]) moved.insert(estate.servers[i].name);
  }
  return moved;
}

TEST(WavesTest, PlanMatchesTheReferenceImplementation) {
  for (const Estate& estate :
       {ThreeTierEstate(), LargeEstate({.servers = 400, .connections = 3000, .seed = 9})}) {
    for (int max_size : {3, 6, 8, 20, 50}) {
      Plan plan = PlanOf(estate, max_size);
      EXPECT_EQ(plan.waves.wave_of, ReferenceWaves(estate, plan)) << "max " << max_size;
    }
  }
}

// The wave size the mutation tests use: small enough that dependencies spread production over
// several waves.
constexpr int kMutationWaveSize = 6;

// A mutation moves exactly the servers the rules move: the planner agrees with the reference
// implementation before and after, so what moved is what the rules say must move; and nothing
// of non-production moves for a production change (it is planned first, on its own).
void ExpectMutationMovesTheRightServers(const Estate& before_estate, const Estate& after_estate) {
  Plan before = PlanOf(before_estate, kMutationWaveSize);
  Plan after = PlanOf(after_estate, kMutationWaveSize);
  ExpectRulesHold(after_estate, after);
  const std::vector<int32_t> reference_before = ReferenceWaves(before_estate, before);
  const std::vector<int32_t> reference_after = ReferenceWaves(after_estate, after);
  EXPECT_EQ(before.waves.wave_of, reference_before);
  EXPECT_EQ(after.waves.wave_of, reference_after);
  std::set<std::string> reference_moved;
  for (size_t i = 0; i < reference_before.size(); ++i) {
    if (reference_before[i] != reference_after[i]) {
      reference_moved.insert(before_estate.servers[i].name);
    }
  }
  const std::set<std::string> moved = Moved(before_estate, before, after);
  EXPECT_EQ(moved, reference_moved);
  for (const std::string& name : moved) EXPECT_TRUE(name.starts_with("prd-")) << name;
}

TEST(WavesTest, ACycleBetweenTiersPullsBothIntoOneWave) {
  const Estate estate = ThreeTierEstate();
  Plan before = PlanOf(estate, kMutationWaveSize);
  const int32_t api = IndexOf(estate, "prd-api-01");
  const int32_t db = IndexOf(estate, "prd-db-01");
  ASSERT_LT(before.waves.wave_of[db], before.waves.wave_of[api]);
  Estate mutated = estate;
  AddDependency(&mutated, "prd-db-01", "prd-api-01", 8080);  // the database calls the API back
  Plan after = PlanOf(mutated, kMutationWaveSize);
  EXPECT_EQ(after.waves.wave_of[api], after.waves.wave_of[db]);
  EXPECT_EQ(after.components.component[api], after.components.component[db]);
  EXPECT_THAT(after.waves.reason[db], HasSubstr("strongly coupled"));
  EXPECT_THAT(after.waves.reason[db], HasSubstr("prd-api-01"));
  const std::set<std::string> moved = Moved(estate, before, after);
  EXPECT_TRUE(moved.contains("prd-db-01") || moved.contains("prd-api-01"));
  ExpectMutationMovesTheRightServers(estate, mutated);
}

TEST(WavesTest, ANewDependencyMovesTheDependentAfterItsDependency) {
  const Estate estate = ThreeTierEstate();
  Plan before = PlanOf(estate, kMutationWaveSize);
  const int32_t worker = IndexOf(estate, "prd-wrk-01");
  const int32_t api = IndexOf(estate, "prd-api-03");
  ASSERT_LT(before.waves.wave_of[worker], before.waves.wave_of[api]);
  Estate mutated = estate;
  AddDependency(&mutated, "prd-wrk-01", "prd-api-03", 8080);
  Plan after = PlanOf(mutated, kMutationWaveSize);
  EXPECT_GE(after.waves.wave_of[worker], after.waves.wave_of[api]);
  EXPECT_TRUE(Moved(estate, before, after).contains("prd-wrk-01"));
  EXPECT_THAT(after.waves.reason[worker], HasSubstr("prd-api-03"));
  ExpectMutationMovesTheRightServers(estate, mutated);
}

TEST(WavesTest, ACycleSpanningTheWholeEstateIsKeptWholeAndFlagged) {
  Estate estate = ThreeTierEstate();
  // Production only, so that the group is oversized without mixing environments.
  std::vector<std::string> production;
  for (const Server& s : estate.servers) {
    if (s.environment == Environment::kProduction) production.push_back(s.name);
  }
  for (size_t k = 0; k < production.size(); ++k) {
    AddDependency(&estate, production[k], production[(k + 1) % production.size()], 7000);
  }
  Plan plan = PlanOf(estate, 10);
  ExpectRulesHold(estate, plan);
  int oversized = 0;
  for (const Wave& wave : plan.waves.waves) {
    if (wave.oversized) {
      ++oversized;
      EXPECT_EQ(wave.servers.size(), production.size());
    }
  }
  EXPECT_EQ(oversized, 1);
  EXPECT_THAT(plan.waves.reason[IndexOf(estate, "prd-web-01")], HasSubstr("oversized"));
  EXPECT_TRUE(std::any_of(plan.notes.begin(), plan.notes.end(), [](const std::string& note) {
    return note.find("oversized") != std::string::npos;
  }));
}

TEST(WavesTest, AGroupMixingEnvironmentsGetsAFlaggedWaveOfItsOwn) {
  Estate estate = ThreeTierEstate();
  AddDependency(&estate, "prd-web-01", "dev-web-01", 8080);
  AddDependency(&estate, "dev-web-01", "prd-web-01", 8080);
  Plan plan = PlanOf(estate, 50);
  ExpectRulesHold(estate, plan);
  const int32_t w = plan.waves.wave_of[IndexOf(estate, "dev-web-01")];
  EXPECT_EQ(w, plan.waves.wave_of[IndexOf(estate, "prd-web-01")]);
  EXPECT_TRUE(plan.waves.waves[w].mixed);
  EXPECT_EQ(plan.waves.waves[w].servers.size(), 2u);
}

TEST(WavesTest, LargeGeneratedEstateFollowsEveryRule) {
  const Estate estate = LargeEstate({.servers = 3000, .connections = 30000, .seed = 5});
  Plan plan = PlanOf(estate, 40);
  ExpectRulesHold(estate, plan);
  int coupled = 0;
  for (const auto& members : plan.components.members) coupled += members.size() > 1;
  EXPECT_GT(coupled, 0);  // the generator plants a few cycles
}

TEST(WavesTest, RejectsAWaveSizeBelowOne) {
  Status status = ValidateWaveOptions({.max_wave_size = 0});
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("--max-wave-size 0"));
}

}  // namespace
}  // namespace ferry::plan
