// The dependency graph of an estate, its strongly connected components and PageRank.
//
// A node is a server; an edge u -> v means "u depends on v": u opened connections to a service
// of v (u is the client). Edges aggregate every observed connection of the pair on one port and
// protocol: `frequency` is the number of sockets seen (several inventories, or several sockets).
//
// Matching: a connection's remote address is looked up among the interface addresses of every
// server (IPv4-mapped IPv6 addresses, "::ffff:10.0.0.1", count as their IPv4 form). An address
// held by two servers (a VIP, a NAT, a container bridge such as 172.17.0.1) matches neither: it
// is reported once as ambiguous. Addresses of no server are external endpoints: counted and
// reported (the top ones by connections) but not part of the graph. Connections of a server to
// itself are dropped.
//
// Everything is linear in servers + connections (hash lookups, one sort of the edges), and the
// graph is stored as compressed sparse rows: 100,000 servers and 1,000,000 connections fit in
// tens of megabytes.
//
// Thread-safety: a built graph is immutable; the functions share no state.
#ifndef FERRY_PLAN_GRAPH_H_
#define FERRY_PLAN_GRAPH_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "plan/estate.h"

namespace ferry::plan {

struct Edge {
  int32_t from = 0;  // the dependent (client)
  int32_t to = 0;    // the dependency (server)
  uint16_t port = 0;
  Protocol protocol = Protocol::kTcp;
  uint32_t frequency = 0;
  int32_t service = -1;  // index into DependencyGraph::services, -1: no guess
};

struct ExternalEndpoint {
  std::string address;
  uint64_t connections = 0;
  int32_t example_server = -1;
};

class DependencyGraph {
 public:
  // Builds the graph of `estate` (whose servers it indexes; the estate must outlive nothing).
  static DependencyGraph Build(const Estate& estate);
  // A graph from explicit edges, for tests and generated graphs. Duplicate (from, to, port,
  // protocol) edges are merged, their frequencies summed; self-loops are dropped.
  static DependencyGraph FromEdges(int32_t nodes, std::vector<Edge> edges);

  int32_t nodes() const { return nodes_; }
  // Distinct (from, to, port, protocol) edges, sorted by (from, to, port, protocol).
  const std::vector<Edge>& edges() const { return edges_; }
  // The distinct servers u depends on (each once, whatever the ports), ascending.
  std::span<const int32_t> DependenciesOf(int32_t u) const {
    return {out_targets_.data() + out_offsets_[u], out_targets_.data() + out_offsets_[u + 1]};
  }
  // The distinct servers that depend on v, ascending.
  std::span<const int32_t> DependentsOf(int32_t v) const {
    return {in_sources_.data() + in_offsets_[v], in_sources_.data() + in_offsets_[v + 1]};
  }
  // The summed frequency of u -> DependenciesOf(u)[i], parallel to DependenciesOf.
  std::span<const double> DependencyWeights(int32_t u) const {
    return {out_weights_.data() + out_offsets_[u], out_weights_.data() + out_offsets_[u + 1]};
  }

  const std::vector<std::string>& services() const { return services_; }

  // What matching found.
  uint64_t matched_connections() const { return matched_; }
  uint64_t self_connections() const { return self_; }
  uint64_t external_connections() const { return external_; }
  // The external endpoints with the most connections (at most 20), most first.
  const std::vector<ExternalEndpoint>& top_external() const { return top_external_; }
  uint64_t external_endpoint_count() const { return external_endpoints_; }
  // Addresses that two or more servers hold, with the servers (at most 20 listed).
  const std::vector<std::string>& ambiguous_addresses() const { return ambiguous_; }

 private:
  void Finish();  // builds the adjacency from edges_

  int32_t nodes_ = 0;
  std::vector<Edge> edges_;
  std::vector<int32_t> out_offsets_, out_targets_;
  std::vector<double> out_weights_;
  std::vector<int32_t> in_offsets_, in_sources_;
  std::vector<std::string> services_;
  uint64_t matched_ = 0, self_ = 0, external_ = 0, external_endpoints_ = 0;
  std::vector<ExternalEndpoint> top_external_;
  std::vector<std::string> ambiguous_;
};

// Strongly connected components by Tarjan's algorithm (R. Tarjan, "Depth-first search and
// linear graph algorithms", SIAM J. Computing 1(2), 1972), with an explicit stack instead of
// recursion so that a path of 100,000 servers cannot overflow the call stack.
struct Components {
  // component[u]: the component of node u. Components are numbered in the order Tarjan
  // completes them, which is a reverse topological order of the condensation: when u -> v and
  // they are in different components, component[v] < component[u] (dependencies first).
  std::vector<int32_t> component;
  // members[c]: the nodes of component c, ascending.
  std::vector<std::vector<int32_t>> members;
  int32_t count() const { return static_cast<int32_t>(members.size()); }
};
Components StronglyConnectedComponents(const DependencyGraph& graph);

struct PageRankOptions {
  // The probability of following an edge rather than jumping to a random node: 0.85 as in
  // S. Brin and L. Page, "The anatomy of a large-scale hypertextual Web search engine" (1998),
  // section 2.1.1. Higher values weigh the graph's structure more and converge more slowly.
  double damping = 0.85;
  // Stops when the L1 distance between two iterations falls below this, or after
  // max_iterations.
  double tolerance = 1e-10;
  int max_iterations = 200;
  // Follow edges in proportion to their observed frequency (true) or uniformly (false).
  bool weighted = true;
};

// PageRank over the dependency edges: rank flows from a dependent to what it depends on, so a
// server that many servers (or important ones) depend on ranks high. Nodes without
// dependencies (dangling) spread their rank evenly over all nodes. The result sums to 1.
std::vector<double> PageRank(const DependencyGraph& graph, const PageRankOptions& options = {},
                             int* iterations = nullptr);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_GRAPH_H_
