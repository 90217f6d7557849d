#include "plan/risk.h"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "plan/plan.h"

namespace ferry::plan {
namespace {

constexpr int32_t kDowntimeGroupSize = 5;
constexpr int64_t kEndOfLifeSoonDays = 365;
constexpr int64_t kCertificateSoonDays = 30;

int CriticalityImpact(const std::string& level) {
  return level == "high" ? 5 : level == "medium" ? 4 : 3;
}

std::string Names(const std::vector<int32_t>& servers, const Estate& estate, size_t limit) {
  std::string out;
  for (size_t k = 0; k < servers.size() && k < limit; ++k) {
    out += (k == 0 ? "" : ", ") + estate.servers[servers[k]].name;
  }
  if (servers.size() > limit) out += fmt::format(" and {} more", servers.size() - limit);
  return out;
}

}  // namespace

std::string_view RiskLevel(int score) {
  if (score <= 4) return "low";
  if (score <= 9) return "medium";
  if (score <= 14) return "high";
  return "critical";
}

std::vector<Risk> BuildRiskRegister(const Estate& estate, const Plan& plan) {
  std::vector<Risk> risks;
  const int32_t n = static_cast<int32_t>(estate.servers.size());
  auto add = [&](std::string category, std::string title, std::vector<int32_t> servers,
                 int probability, int impact, std::string mitigation) {
    risks.push_back({.id = "",
                     .category = std::move(category),
                     .title = std::move(title),
                     .servers = std::move(servers),
                     .probability = std::clamp(probability, 1, 5),
                     .impact = std::clamp(impact, 1, 5),
                     .mitigation = std::move(mitigation)});
  };
  // Per-server risks of the same kind, figures and mitigation are one entry listing every
  // server it concerns: a register of 100,000 servers stays readable.
  struct Group {
    std::string category;
    std::string what;
    int probability;
    int impact;
    std::string_view mitigation;
    std::vector<int32_t> servers;
  };
  std::vector<Group> groups;
  std::unordered_map<std::string, size_t> group_index;
  auto add_server = [&](std::string_view category, std::string what, int32_t server,
                        int probability, int impact, std::string_view mitigation) {
    std::string key = fmt::format("{}\x1f{}\x1f{}\x1f{}", category, what, probability, impact);
    auto [it, inserted] = group_index.try_emplace(std::move(key), groups.size());
    if (inserted) {
      groups.push_back(
          {std::string(category), std::move(what), probability, impact, mitigation, {}});
    }
    groups[it->second].servers.push_back(server);
  };

  for (int32_t i = 0; i < n; ++i) {
    const Server& server = estate.servers[i];
    const ServerPlan& sp = plan.servers[i];
    const bool production = server.environment == Environment::kProduction;

    if (server.tables_without_keys && *server.tables_without_keys > 0) {
      add_server(
          "data-loss",
          fmt::format("{} table(s) without a primary or unique key", *server.tables_without_keys),
          i, 3, production ? 5 : 3,
          "add a primary key (or a unique index over non-null columns) to each before the "
          "copy; without one a copy cannot be resumed or verified row by row, and a "
          "duplicate or lost row goes unnoticed. Otherwise copy those tables whole and "
          "compare them in full with `ferry verify`");
    }

    std::vector<std::string> weak_keys;
    bool expired = false, expiring = false;
    for (const CertificateNote& cert : server.certificates) {
      if (!cert.quantum_safe) weak_keys.push_back(cert.key_type.empty() ? "?" : cert.key_type);
      if (cert.days_to_expiry) {
        expired |= *cert.days_to_expiry < 0;
        expiring |= *cert.days_to_expiry >= 0 && *cert.days_to_expiry <= kCertificateSoonDays;
      }
    }
    if (!weak_keys.empty()) {
      std::sort(weak_keys.begin(), weak_keys.end());
      weak_keys.erase(std::unique(weak_keys.begin(), weak_keys.end()), weak_keys.end());
      const bool exposed = server.roles & (kRoleWeb | kRoleLoadBalancer);
      std::string kinds;
      for (const std::string& k : weak_keys) kinds += (kinds.empty() ? "" : ", ") + k;
      add_server("quantum",
                 fmt::format("certificates with keys a quantum computer could break ({}){}", kinds,
                             exposed ? ", on a server clients reach" : ""),
                 i, exposed ? 3 : 2, production ? 4 : 2,
                 "traffic recorded today can be decrypted later (harvest now, decrypt later): "
                 "when the certificates are issued again for the cloud, turn on hybrid "
                 "post-quantum key exchange (X25519 + ML-KEM-768) in TLS, and plan ML-DSA "
                 "certificates as CAs issue them; keep the inventory of keys and their lifetimes");
    }
    if (expired) {
      add_server("certificate", "a certificate expired", i, 5, production ? 4 : 2,
                 "renew it before the move: an expired certificate fails the cutover's health "
                 "checks, or is already failing its clients");
    }
    if (expiring) {
      add_server("certificate",
                 fmt::format("a certificate expires within {} days", kCertificateSoonDays), i, 4,
                 production ? 3 : 2,
                 "renew it before the move, or issue the cloud's certificate first");
    }

    if (sp.lifecycle && sp.lifecycle->legacy_platform) {
      add_server("end-of-life", fmt::format("{} is a legacy platform", sp.lifecycle->product), i, 4,
                 production ? 4 : 2,
                 "no cloud runs it as a virtual machine: encapsulate it behind an API and plan "
                 "its replacement; keep its hardware support contract until then");
    } else if (sp.days_to_end_of_life && *sp.days_to_end_of_life < 0) {
      add_server("end-of-life",
                 fmt::format("{} reached its end of life on {}", sp.lifecycle->product,
                             sp.lifecycle->end_date),
                 i, 4, production ? 4 : 2,
                 "no security fixes any more: upgrade the OS before or during the move (a new "
                 "image in the cloud), or buy extended support for the time of the migration");
    } else if (sp.days_to_end_of_life && *sp.days_to_end_of_life <= kEndOfLifeSoonDays) {
      add_server("end-of-life",
                 fmt::format("{} reaches its end of life on {}", sp.lifecycle->product,
                             sp.lifecycle->end_date),
                 i, 3, production ? 3 : 2,
                 "move it onto a supported OS image in the cloud rather than rehosting the old "
                 "one");
    }

    if (MovesToCloud(sp.strategy.strategy)) {
      if (!server.baseline) {
        add_server("sizing", "no performance baseline, sized as on premises", i, 3,
                   production ? 3 : 2,
                   "run `ferry discover --watch 7d --interval 1m` on it (a week or more, "
                   "covering a busy period), then plan again for a performance-based size and "
                   "cost");
      } else if (server.baseline->sampled && sp.sizing.confidence_stars <= 2) {
        add_server("sizing", "a baseline covering 40% or less of its expected samples", i, 2,
                   production ? 3 : 2,
                   "sample it again, longer, without interruptions; until then prefer the "
                   "conservative size");
      }
      bool any_fit = false, all_fit = true;
      for (const InstanceChoice& choice :
           sp.sizing.choice[static_cast<size_t>(SizingOption::kBalanced)]) {
        any_fit |= choice.type != nullptr;
        all_fit &= choice.type != nullptr;
      }
      if (!all_fit && !sp.sizing.choice[1].empty()) {
        add_server("sizing",
                   fmt::format("{} instance type of the catalogue is big enough ({})",
                               any_fit ? "not every cloud has an" : "no", sp.sizing.architecture),
                   i, 5, 4,
                   "split the workload, use a dedicated or bare-metal host, or refresh the "
                   "catalogue with the provider's larger families (`ferry catalog import`)");
      }
    }
  }
  for (Group& g : groups) {
    std::string title = g.servers.size() == 1
                            ? fmt::format("{}: {}", estate.servers[g.servers[0]].name, g.what)
                            : fmt::format("{}: {} servers ({})", g.what, g.servers.size(),
                                          Names(g.servers, estate, 5));
    add(std::move(g.category), std::move(title), std::move(g.servers), g.probability, g.impact,
        std::string(g.mitigation));
  }

  // Strongly coupled groups: one cutover for all.
  for (int32_t c = 0; c < plan.components.count(); ++c) {
    const std::vector<int32_t>& members = plan.components.members[c];
    if (static_cast<int32_t>(members.size()) < kDowntimeGroupSize) continue;
    const int32_t size = static_cast<int32_t>(members.size());
    const bool oversized = size > plan.options.waves.max_wave_size;
    const int probability = oversized ? 5 : size >= 25 ? 4 : size >= 10 ? 3 : 2;
    int impact = 3;
    bool production = false, non_production = false;
    for (int32_t u : members) {
      impact = std::max(impact, CriticalityImpact(plan.servers[u].criticality.level));
      (estate.servers[u].environment == Environment::kProduction ? production : non_production) =
          true;
    }
    add("downtime",
        fmt::format("{} strongly coupled servers must cut over together{}: {}", size,
                    oversized ? fmt::format(" (more than --max-wave-size {})",
                                            plan.options.waves.max_wave_size)
                              : std::string(),
                    Names(members, estate, 5)),
        members, probability, impact,
        "their dependencies form cycles, so no order moves one before another: find the "
        "connections that close the cycles (`dependencies` in the plan) and route them through "
        "a stable name (DNS, a load balancer) that can point either way, so the group moves in "
        "parts; otherwise rehearse the joint cutover and book a longer window");
    if (production && non_production) {
      add("dependency",
          fmt::format("production and non-production servers are strongly coupled: {}",
                      Names(members, estate, 5)),
          members, 4, 4,
          "a test system in a production cycle (or the reverse) lets tests reach production "
          "data: separate the environments before the move");
    }
  }
  for (int32_t c = 0; c < plan.components.count(); ++c) {
    const std::vector<int32_t>& members = plan.components.members[c];
    if (static_cast<int32_t>(members.size()) >= kDowntimeGroupSize || members.size() < 2) {
      continue;
    }
    bool production = false, non_production = false;
    for (int32_t u : members) {
      (estate.servers[u].environment == Environment::kProduction ? production : non_production) =
          true;
    }
    if (production && non_production) {
      add("dependency",
          fmt::format("production and non-production servers are strongly coupled: {}",
                      Names(members, estate, 5)),
          members, 4, 4,
          "a test system in a production cycle (or the reverse) lets tests reach production "
          "data: separate the environments before the move");
    }
  }

  if (plan.graph.external_connections() > 0) {
    std::string top;
    std::vector<int32_t> examples;
    for (const ExternalEndpoint& e : plan.graph.top_external()) {
      if (top.size() < 200) {
        top += fmt::format("{}{} ({} connection(s), e.g. from {})", top.empty() ? "" : ", ",
                           e.address, e.connections,
                           e.example_server >= 0 ? estate.servers[e.example_server].name : "?");
      }
      if (e.example_server >= 0) examples.push_back(e.example_server);
    }
    std::sort(examples.begin(), examples.end());
    examples.erase(std::unique(examples.begin(), examples.end()), examples.end());
    add("dependency",
        fmt::format("{} connection(s) to {} address(es) outside the inventories: {}",
                    plan.graph.external_connections(), plan.graph.external_endpoint_count(), top),
        examples, 4, 3,
        "find out what each address is (run `ferry discover` there, or ask the network team): a "
        "dependency nobody knows about breaks at cutover; add its inventory and plan again");
  }
  if (!plan.waves.cross_environment.empty()) {
    std::vector<int32_t> dependents;
    for (const CrossEnvironmentDependency& d : plan.waves.cross_environment) {
      dependents.push_back(d.dependent);
    }
    std::sort(dependents.begin(), dependents.end());
    dependents.erase(std::unique(dependents.begin(), dependents.end()), dependents.end());
    add("dependency",
        fmt::format("{} non-production server(s) depend on production ones that move after "
                    "them: {}",
                    dependents.size(), Names(dependents, estate, 5)),
        dependents, 3, 2,
        "keep hybrid connectivity (VPN or private link) from the cloud to the data centre until "
        "the last production wave, or give non-production its own copies of those services");
  }
  if (!plan.graph.ambiguous_addresses().empty()) {
    add("dependency",
        fmt::format("addresses held by several servers: {} (connections to them are not in "
                    "the graph)",
                    plan.graph.ambiguous_addresses().front()),
        {}, 3, 2,
        "shared addresses (a VIP, a NAT, a container bridge) hide who talks to whom: look at the "
        "servers behind them, or list each server's own address only");
  }

  std::stable_sort(risks.begin(), risks.end(), [](const Risk& a, const Risk& b) {
    const int32_t fa = a.servers.empty() ? -1 : a.servers.front();
    const int32_t fb = b.servers.empty() ? -1 : b.servers.front();
    return std::make_tuple(-a.score(), a.category, fa) <
           std::make_tuple(-b.score(), b.category, fb);
  });
  const int width =
      risks.size() < 10000 ? 4 : static_cast<int>(fmt::format("{}", risks.size()).size());
  for (size_t k = 0; k < risks.size(); ++k) risks[k].id = fmt::format("R{:0{}}", k + 1, width);
  return risks;
}

}  // namespace ferry::plan
