// The dependency graph: address matching, Tarjan's components against an independent
// reachability-based definition on random graphs, and PageRank's invariants.
#include "plan/graph.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::plan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<Edge> RandomEdges(std::mt19937_64& rng, int32_t n, int64_t m) {
  std::vector<Edge> edges;
  std::uniform_int_distribution<int32_t> node(0, n - 1);
  for (int64_t k = 0; k < m; ++k) {
    edges.push_back({.from = node(rng), .to = node(rng), .port = 80, .frequency = 1});
  }
  return edges;
}

// Components by definition: u and v are strongly connected when each reaches the other. Each
// node is labelled by the smallest node of its component.
std::vector<int32_t> NaiveComponentLabels(int32_t n, const std::vector<Edge>& edges) {
  std::vector<std::vector<int32_t>> adjacency(static_cast<size_t>(n));
  for (const Edge& e : edges) {
    if (e.from != e.to) adjacency[e.from].push_back(e.to);
  }
  std::vector<std::vector<bool>> reach(static_cast<size_t>(n), std::vector<bool>(n, false));
  for (int32_t s = 0; s < n; ++s) {
    std::queue<int32_t> queue;
    queue.push(s);
    reach[s][s] = true;
    while (!queue.empty()) {
      int32_t u = queue.front();
      queue.pop();
      for (int32_t v : adjacency[u]) {
        if (!reach[s][v]) {
          reach[s][v] = true;
          queue.push(v);
        }
      }
    }
  }
  std::vector<int32_t> label(static_cast<size_t>(n));
  for (int32_t u = 0; u < n; ++u) {
    for (int32_t v = 0; v <= u; ++v) {
      if (reach[u][v] && reach[v][u]) {
        label[u] = v;
        break;
      }
    }
  }
  return label;
}

std::vector<int32_t> LabelsOf(const Components& components) {
  std::vector<int32_t> label(components.component.size());
  for (const auto& members : components.members) {
    for (int32_t u : members) label[u] = members.front();
  }
  return label;
}

TEST(TarjanTest, MatchesReachabilityOnRandomGraphs) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 300; ++round) {
    const int32_t n = 1 + static_cast<int32_t>(rng() % 60);
    // From sparse (mostly singletons) to dense (one big component).
    const int64_t m = static_cast<int64_t>(rng() % (3 * n + 1));
    std::vector<Edge> edges = RandomEdges(rng, n, m);
    DependencyGraph graph = DependencyGraph::FromEdges(n, edges);
    Components components = StronglyConnectedComponents(graph);
    ASSERT_EQ(LabelsOf(components), NaiveComponentLabels(n, edges)) << "round " << round;
    // Every node in exactly one component; members sorted.
    int32_t total = 0;
    for (const auto& members : components.members) {
      total += static_cast<int32_t>(members.size());
      EXPECT_TRUE(std::is_sorted(members.begin(), members.end()));
    }
    EXPECT_EQ(total, n);
  }
}

TEST(TarjanTest, NumbersComponentsDependenciesFirst) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 100; ++round) {
    const int32_t n = 2 + static_cast<int32_t>(rng() % 80);
    DependencyGraph graph = DependencyGraph::FromEdges(n, RandomEdges(rng, n, 2 * n));
    Components c = StronglyConnectedComponents(graph);
    for (const Edge& e : graph.edges()) {
      if (c.component[e.from] != c.component[e.to]) {
        EXPECT_LT(c.component[e.to], c.component[e.from]);
      }
    }
  }
}

TEST(TarjanTest, LongChainAndWholeRingNeedNoRecursion) {
  const int32_t n = 200'000;
  std::vector<Edge> chain;
  for (int32_t i = 0; i + 1 < n; ++i) chain.push_back({.from = i, .to = i + 1});
  Components path = StronglyConnectedComponents(DependencyGraph::FromEdges(n, chain));
  EXPECT_EQ(path.count(), n);
  EXPECT_EQ(path.component[n - 1], 0);  // the deepest dependency completes first

  chain.push_back({.from = n - 1, .to = 0});
  Components ring = StronglyConnectedComponents(DependencyGraph::FromEdges(n, chain));
  ASSERT_EQ(ring.count(), 1);
  EXPECT_EQ(ring.members[0].size(), static_cast<size_t>(n));
}

double Sum(const std::vector<double>& values) {
  return std::accumulate(values.begin(), values.end(), 0.0);
}

TEST(PageRankTest, SumsToOneOnRandomGraphs) {
  std::mt19937_64 rng(3);
  for (int round = 0; round < 100; ++round) {
    const int32_t n = 1 + static_cast<int32_t>(rng() % 200);
    std::vector<Edge> edges = RandomEdges(rng, n, static_cast<int64_t>(rng() % (4 * n)));
    for (Edge& e : edges) e.frequency = 1 + static_cast<uint32_t>(rng() % 10);
    for (bool weighted : {true, false}) {
      std::vector<double> rank =
          PageRank(DependencyGraph::FromEdges(n, edges), {.weighted = weighted});
      ASSERT_EQ(rank.size(), static_cast<size_t>(n));
      EXPECT_NEAR(Sum(rank), 1.0, 1e-9);
      for (double r : rank) EXPECT_GT(r, 0);
    }
  }
}

void ExpectUniform(const std::vector<double>& rank) {
  for (double r : rank) EXPECT_NEAR(r, 1.0 / static_cast<double>(rank.size()), 1e-9);
}

TEST(PageRankTest, SymmetricGraphsAreUniform) {
  const int32_t n = 24;
  std::vector<Edge> ring, both_ways, complete;
  for (int32_t i = 0; i < n; ++i) {
    ring.push_back({.from = i, .to = (i + 1) % n});
    both_ways.push_back({.from = i, .to = (i + 1) % n});
    both_ways.push_back({.from = (i + 1) % n, .to = i});
    for (int32_t j = 0; j < n; ++j) {
      if (i != j) complete.push_back({.from = i, .to = j, .frequency = 5});
    }
  }
  ExpectUniform(PageRank(DependencyGraph::FromEdges(n, ring)));
  ExpectUniform(PageRank(DependencyGraph::FromEdges(n, both_ways)));
  ExpectUniform(PageRank(DependencyGraph::FromEdges(n, complete)));
  ExpectUniform(PageRank(DependencyGraph::FromEdges(n, {})));  // all dangling
}

TEST(PageRankTest, WhatManyDependOnRanksHighest) {
  // Nine servers depend on server 0 (DNS); 0 depends on nothing.
  std::vector<Edge> edges;
  for (int32_t i = 1; i < 10; ++i) edges.push_back({.from = i, .to = 0});
  edges.push_back({.from = 5, .to = 6});
  std::vector<double> rank = PageRank(DependencyGraph::FromEdges(10, edges));
  for (int32_t i = 1; i < 10; ++i) EXPECT_GT(rank[0], rank[i]);
  EXPECT_GT(rank[6], rank[7]);  // one dependent more than its peers
}

TEST(PageRankTest, FollowsFrequencyWhenWeighted) {
  // 0 talks to 1 a hundred times as often as to 2.
  std::vector<Edge> edges = {{.from = 0, .to = 1, .frequency = 100},
                             {.from = 0, .to = 2, .frequency = 1}};
  std::vector<double> weighted = PageRank(DependencyGraph::FromEdges(3, edges));
  std::vector<double> plain = PageRank(DependencyGraph::FromEdges(3, edges), {.weighted = false});
  EXPECT_GT(weighted[1], weighted[2]);
  EXPECT_NEAR(plain[1], plain[2], 1e-12);
}

Server ServerWith(std::string name, std::vector<std::string> addresses) {
  Server s;
  s.name = std::move(name);
  s.addresses = std::move(addresses);
  return s;
}

TEST(DependencyGraphTest, MatchesAddressesAndMergesConnections) {
  Estate estate;
  estate.servers.push_back(ServerWith("web", {"10.0.0.1"}));
  estate.servers.push_back(ServerWith("db", {"10.0.0.2", "fd00::2"}));
  estate.servers.push_back(ServerWith("cache", {"10.0.0.3"}));
  estate.servers.push_back(ServerWith("node-a", {"172.17.0.1"}));  // docker bridge on both
  estate.servers.push_back(ServerWith("node-b", {"172.17.0.1"}));
  auto out = [&](int32_t client, std::string remote, uint16_t port, uint32_t count = 1) {
    ObservedConnection c;
    c.client = client;
    c.remote_address = std::move(remote);
    c.port = port;
    c.count = count;
    c.service = port == 5432 ? "postgresql" : "";
    estate.connections.push_back(c);
  };
  out(0, "10.0.0.2", 5432, 2);
  out(0, "::ffff:10.0.0.2", 5432, 3);  // IPv4-mapped: the same server
  out(0, "fd00::2", 5432, 1);
  out(0, "10.0.0.3", 6379);
  out(0, "10.0.0.1", 8080);    // itself
  out(0, "172.17.0.1", 80);    // two servers hold it
  out(0, "203.0.113.9", 443);  // outside
  ObservedConnection inbound;  // seen by the cache: web connected to it
  inbound.server = 2;
  inbound.client_address = "10.0.0.1";
  inbound.port = 6379;
  estate.connections.push_back(inbound);

  DependencyGraph graph = DependencyGraph::Build(estate);
  ASSERT_EQ(graph.edges().size(), 2u);
  const Edge& db = graph.edges()[0];
  EXPECT_EQ(db.from, 0);
  EXPECT_EQ(db.to, 1);
  EXPECT_EQ(db.port, 5432);
  EXPECT_EQ(db.frequency, 6u);
  EXPECT_EQ(graph.services()[db.service], "postgresql");
  EXPECT_EQ(graph.edges()[1].to, 2);
  EXPECT_EQ(graph.edges()[1].frequency, 2u);  // outbound and inbound views of one dependency
  EXPECT_THAT(graph.DependenciesOf(0), ElementsAre(1, 2));
  EXPECT_THAT(graph.DependentsOf(1), ElementsAre(0));
  EXPECT_EQ(graph.self_connections(), 1u);
  EXPECT_EQ(graph.external_connections(), 2u);  // the outsider and the ambiguous address
  ASSERT_EQ(graph.ambiguous_addresses().size(), 1u);
  EXPECT_THAT(graph.ambiguous_addresses()[0], HasSubstr("172.17.0.1 (node-a, node-b)"));
  ASSERT_FALSE(graph.top_external().empty());
}

}  // namespace
}  // namespace ferry::plan
