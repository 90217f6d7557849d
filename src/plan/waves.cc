#include "plan/waves.h"

#include <algorithm>
#include <queue>
#include <tuple>

#include <fmt/format.h>

namespace ferry::plan {
namespace {

enum class Binding : uint8_t { kNone, kGroupStart, kDependency, kProtection };

struct ComponentState {
  int32_t size = 0;
  bool production = false;  // holds a production server
  bool non_production = false;
  bool is_protected = false;
  double criticality = 0;  // the highest of its members
  int group = 0;           // 0 non-production, 1 production (and mixed)
  int32_t wave = -1;
  int32_t lower = 0;  // the earliest wave the rules allowed, before capacity
  Binding binding = Binding::kNone;
  int32_t binding_dependency = -1;  // component
  int32_t protected_member = -1;    // a member whose protection applied
};

struct WaveSlot {
  int32_t used = 0;
  bool closed = false;  // holds an oversized or mixed component: nothing else goes in
  bool production = false;
  bool mixed = false;
  bool oversized = false;
};

// The first `limit` names of `servers` (sorted, distinct) but `except`, and how many more:
// constant work whatever the size of the group (a cycle through 100,000 servers names each
// member's companions 100,000 times).
std::string NameList(const std::vector<int32_t>& servers, const std::vector<std::string>& names,
                     int32_t except, size_t limit) {
  std::string out;
  size_t listed = 0;
  for (size_t k = 0; k < servers.size() && listed < limit; ++k) {
    if (servers[k] == except) continue;
    out += (out.empty() ? "" : ", ") + names[servers[k]];
    ++listed;
  }
  const bool has_except = std::binary_search(servers.begin(), servers.end(), except);
  const size_t total = servers.size() - (has_except ? 1 : 0);
  if (total > listed) out += fmt::format(" and {} more", total - listed);
  return out;
}

}  // namespace

Status ValidateWaveOptions(const WaveOptions& options) {
  if (options.max_wave_size < 1) {
    return InvalidArgument(
        "--max-wave-size {}: a wave must hold at least one server; use a positive number "
        "(default 50)",
        options.max_wave_size);
  }
  if (options.protected_first_waves < 0) {
    return InvalidArgument("protected_first_waves {}: use 0 or more",
                           options.protected_first_waves);
  }
  return OkStatus();
}

WavePlan PlanWaves(const WaveInput& input, const WaveOptions& options) {
  const DependencyGraph& graph = *input.graph;
  const Components& components = *input.components;
  const std::vector<std::string>& names = *input.names;
  const int32_t n = graph.nodes();
  const int32_t count = components.count();
  const int32_t max_size = std::max(1, options.max_wave_size);

  std::vector<ComponentState> state(static_cast<size_t>(count));
  for (int32_t c = 0; c < count; ++c) {
    ComponentState& s = state[c];
    s.size = static_cast<int32_t>(components.members[c].size());
    for (int32_t u : components.members[c]) {
      (input.environment[u] == Environment::kProduction ? s.production : s.non_production) = true;
      if (!input.protection[u].empty() && !s.is_protected) {
        s.is_protected = true;
        s.protected_member = u;
      }
      s.criticality = std::max(s.criticality, input.criticality[u]);
    }
    s.group = s.production ? 1 : 0;
  }

  // The condensation: each component's distinct dependency components, and the reverse.
  std::vector<int32_t> dep_offsets(static_cast<size_t>(count) + 1, 0);
  std::vector<int32_t> deps;
  deps.reserve(graph.edges().size());
  {
    std::vector<int32_t> marker(static_cast<size_t>(count), -1);
    for (int32_t c = 0; c < count; ++c) {
      dep_offsets[c] = static_cast<int32_t>(deps.size());
      for (int32_t u : components.members[c]) {
        for (int32_t v : graph.DependenciesOf(u)) {
          const int32_t d = components.component[v];
          if (d != c && marker[d] != c) {
            marker[d] = c;
            deps.push_back(d);
          }
        }
      }
    }
    dep_offsets[count] = static_cast<int32_t>(deps.size());
  }
  std::vector<int32_t> rdep_offsets(static_cast<size_t>(count) + 1, 0);
  std::vector<int32_t> rdeps(deps.size());
  for (int32_t d : deps) ++rdep_offsets[static_cast<size_t>(d) + 1];
  for (int32_t c = 0; c < count; ++c) rdep_offsets[c + 1] += rdep_offsets[c];
  {
    std::vector<int32_t> next(rdep_offsets.begin(), rdep_offsets.end() - 1);
    for (int32_t c = 0; c < count; ++c) {
      for (int32_t k = dep_offsets[c]; k < dep_offsets[c + 1]; ++k) rdeps[next[deps[k]]++] = c;
    }
  }

  std::vector<WaveSlot> waves;
  std::vector<int32_t> skip;  // skip[w] == w: wave w has room; otherwise a later candidate
  auto find = [&](int32_t w) {
    int32_t root = w;
    while (root < static_cast<int32_t>(skip.size()) && skip[root] != root) root = skip[root];
    while (w < static_cast<int32_t>(skip.size()) && skip[w] != w) {
      const int32_t next = skip[w];
      skip[w] = root;
      w = next;
    }
    return root;
  };
  auto ensure = [&](int32_t w) {
    while (static_cast<int32_t>(waves.size()) <= w) {
      skip.push_back(static_cast<int32_t>(waves.size()));
      waves.emplace_back();
    }
  };

  auto place = [&](int32_t c, int32_t group_start) {
    ComponentState& s = state[c];
    int32_t lower = group_start;
    s.binding = group_start > 0 ? Binding::kGroupStart : Binding::kNone;
    for (int32_t k = dep_offsets[c]; k < dep_offsets[c + 1]; ++k) {
      const int32_t d = deps[k];
      if (state[d].group != s.group) continue;
      if (state[d].wave > lower || (state[d].wave == lower && s.binding != Binding::kDependency)) {
        lower = state[d].wave;
        s.binding = Binding::kDependency;
        s.binding_dependency = d;
      }
    }
    if (s.is_protected && lower < options.protected_first_waves) {
      lower = options.protected_first_waves;
      s.binding = Binding::kProtection;
    }
    s.lower = lower;
    const bool dedicated = s.size > max_size || (s.production && s.non_production);
    ensure(lower);
    int32_t w = find(lower);
    while (w < static_cast<int32_t>(waves.size()) &&
           (dedicated ? waves[w].used != 0 : waves[w].used + s.size > max_size)) {
      w = find(w + 1);
    }
    ensure(w);
    WaveSlot& slot = waves[w];
    slot.used += s.size;
    slot.production = s.production;
    if (dedicated) {
      slot.closed = true;
      slot.oversized = s.size > max_size;
      slot.mixed = s.production && s.non_production;
    }
    if (slot.closed || slot.used >= max_size) skip[w] = w + 1;
    s.wave = w;
  };

  std::vector<int32_t> remaining(static_cast<size_t>(count), 0);
  for (int group = 0; group < 2; ++group) {
    const int32_t group_start = static_cast<int32_t>(waves.size());
    // Ready components, low-risk first: unprotected, lower criticality, then server order.
    auto later = [&](int32_t a, int32_t b) {
      const ComponentState& x = state[a];
      const ComponentState& y = state[b];
      return std::make_tuple(x.is_protected, x.criticality, components.members[a].front()) >
             std::make_tuple(y.is_protected, y.criticality, components.members[b].front());
    };
    std::priority_queue<int32_t, std::vector<int32_t>, decltype(later)> ready(later);
    for (int32_t c = 0; c < count; ++c) {
      if (state[c].group != group) continue;
      for (int32_t k = dep_offsets[c]; k < dep_offsets[c + 1]; ++k) {
        if (state[deps[k]].group == group) ++remaining[c];
      }
      if (remaining[c] == 0) ready.push(c);
    }
    while (!ready.empty()) {
      const int32_t c = ready.top();
      ready.pop();
      place(c, group_start);
      for (int32_t k = rdep_offsets[c]; k < rdep_offsets[c + 1]; ++k) {
        const int32_t d = rdeps[k];
        if (state[d].group == group && --remaining[d] == 0) ready.push(d);
      }
    }
  }

  // Drop empty waves (left by the pilot rule when nothing else could fill them).
  std::vector<int32_t> renumber(waves.size(), -1);
  WavePlan plan;
  for (size_t w = 0; w < waves.size(); ++w) {
    if (waves[w].used == 0) continue;
    renumber[w] = static_cast<int32_t>(plan.waves.size());
    Wave wave;
    wave.number = static_cast<int>(plan.waves.size()) + 1;
    wave.environment = waves[w].production ? Environment::kProduction : Environment::kNonProduction;
    wave.oversized = waves[w].oversized;
    wave.mixed = waves[w].mixed;
    wave.servers.reserve(static_cast<size_t>(waves[w].used));
    plan.waves.push_back(std::move(wave));
  }
  plan.wave_of.assign(static_cast<size_t>(n), -1);
  for (int32_t c = 0; c < count; ++c) {
    const int32_t w = renumber[state[c].wave];
    for (int32_t u : components.members[c]) {
      plan.wave_of[u] = w;
      plan.waves[w].servers.push_back(u);
    }
  }
  for (Wave& wave : plan.waves) std::sort(wave.servers.begin(), wave.servers.end());

  int32_t last_non_production = -1;
  for (const Wave& wave : plan.waves) {
    if (wave.environment == Environment::kNonProduction) last_non_production = wave.number;
  }
  bool pilot_breached = false;

  // Reasons.
  plan.reason.assign(static_cast<size_t>(n), std::string());
  for (int32_t c = 0; c < count; ++c) {
    const ComponentState& s = state[c];
    const int32_t wave = renumber[s.wave];
    const int number = wave + 1;
    std::string reason;
    const bool mixed = s.production && s.non_production;
    if (mixed) {
      reason = fmt::format(
          "wave {}: its {} strongly coupled servers mix production and non-production, so they "
          "move whole, in a wave of their own among the production waves (flagged mixed)",
          number, s.size);
    } else if (s.size > max_size) {
      reason = fmt::format(
          "wave {}: its {} strongly coupled servers exceed the maximum wave size {}: kept whole, "
          "in a wave of their own (flagged oversized)",
          number, s.size, max_size);
    } else {
      reason = fmt::format("wave {} ({})", number, s.production ? "production" : "non-production");
      switch (s.binding) {
        case Binding::kDependency: {
          const int32_t d = s.binding_dependency;
          const int dep_number = renumber[state[d].wave] + 1;
          const int32_t example = components.members[d].front();
          reason += fmt::format(": {} its dependency {}{} (wave {})",
                                dep_number == number ? "moves with" : "after", names[example],
                                components.members[d].size() > 1
                                    ? fmt::format(" and the {} servers coupled with it",
                                                  components.members[d].size() - 1)
                                    : std::string(),
                                dep_number);
          break;
        }
        case Binding::kProtection:
          reason += fmt::format(": {}, kept out of the first {} wave{} (the pilot)",
                                input.protection[s.protected_member], options.protected_first_waves,
                                options.protected_first_waves == 1 ? "" : "s");
          break;
        case Binding::kGroupStart:
          reason += s.production && last_non_production > 0
                        ? fmt::format(
                              ": production moves after every non-production wave "
                              "(1-{})",
                              last_non_production)
                        : std::string(": the first wave of its environment with room");
          break;
        case Binding::kNone: reason += ": nothing it depends on holds it back"; break;
      }
      const int32_t lower_number =
          s.lower < static_cast<int32_t>(renumber.size()) && renumber[s.lower] >= 0
              ? renumber[s.lower] + 1
              : number;
      if (number > lower_number) {
        reason += fmt::format("; waves {}-{} were full (at most {} servers each)", lower_number,
                              number - 1, max_size);
      }
      if (s.is_protected && s.binding != Binding::kProtection) {
        reason += fmt::format("; {}", input.protection[s.protected_member]);
      }
    }
    if (s.is_protected && number <= options.protected_first_waves) pilot_breached = true;
    for (int32_t u : components.members[c]) {
      std::string text = reason;
      if (s.size > 1) {
        text += fmt::format("; moves with the {} servers it is strongly coupled with ({})",
                            s.size - 1, NameList(components.members[c], names, u, 5));
      }
      plan.reason[u] = std::move(text);
    }
  }

  // Non-production servers that depend on production ones (rule 3 over rule 2).
  for (int32_t u = 0; u < n; ++u) {
    if (input.environment[u] != Environment::kNonProduction) continue;
    const int32_t c = components.component[u];
    if (state[c].group != 0) continue;
    std::vector<int32_t> later;
    for (int32_t v : graph.DependenciesOf(u)) {
      if (state[components.component[v]].group == 1) {
        plan.cross_environment.push_back({u, v});
        later.push_back(v);
      }
    }
    if (!later.empty()) {
      plan.reason[u] += fmt::format(
          "; depends on production {} that move{} later (non-production moves first): keep the "
          "route to {} open until {}",
          NameList(later, names, -1, 3), later.size() == 1 ? "s" : "",
          later.size() == 1 ? "it" : "them", later.size() == 1 ? "it moves" : "they move");
    }
  }

  if (pilot_breached) {
    plan.notes.push_back(fmt::format(
        "the first {} wave(s) hold high-criticality or high-complexity servers: every other "
        "server depends on one of them, so no pilot wave without them was possible",
        options.protected_first_waves));
  }
  int oversized = 0, mixed = 0;
  for (const Wave& wave : plan.waves) {
    oversized += wave.oversized;
    mixed += wave.mixed;
  }
  if (oversized > 0) {
    plan.notes.push_back(fmt::format(
        "{} wave(s) are oversized: a strongly coupled group larger than --max-wave-size {} "
        "moves whole; break its dependency cycles (see the risk register) to split it",
        oversized, max_size));
  }
  if (mixed > 0) {
    plan.notes.push_back(fmt::format(
        "{} wave(s) mix production and non-production servers that are strongly coupled; "
        "separate those environments to move them apart",
        mixed));
  }
  if (!plan.cross_environment.empty()) {
    plan.notes.push_back(fmt::format(
        "{} dependencies of non-production servers on production ones cross the environment "
        "order: non-production moves first, so those routes stay open (hybrid connectivity) "
        "until the production side moves",
        plan.cross_environment.size()));
  }
  return plan;
}

}  // namespace ferry::plan
