#include "plan/graph.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

namespace ferry::plan {
namespace {

// Hash map keyed by std::string, looked up by std::string_view without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// "::ffff:10.0.0.1" -> "10.0.0.1"; "fe80::1%eth0" -> "fe80::1". Addresses are compared as text
// otherwise (the readers write them in their canonical inet_ntop form).
std::string_view NormalizeAddress(std::string_view address) {
  if (address.starts_with("::ffff:") && address.find('.') != std::string_view::npos) {
    address.remove_prefix(7);
  }
  if (size_t zone = address.find('%'); zone != std::string_view::npos) {
    address = address.substr(0, zone);
  }
  return address;
}

constexpr int32_t kAmbiguous = -2;
constexpr int32_t kUnknown = -1;

bool EdgeLess(const Edge& a, const Edge& b) {
  if (a.to != b.to) return a.to < b.to;
  if (a.port != b.port) return a.port < b.port;
  return a.protocol < b.protocol;
}

// Sorts edges by (from, to, port, protocol) with a counting sort on `from` (linear) and a small
// sort inside each node's bucket, then merges duplicates.
std::vector<Edge> SortAndMerge(int32_t nodes, std::vector<Edge> edges) {
  std::vector<int64_t> offsets(static_cast<size_t>(nodes) + 1, 0);
  for (const Edge& e : edges) ++offsets[static_cast<size_t>(e.from) + 1];
  for (int32_t i = 0; i < nodes; ++i) offsets[i + 1] += offsets[i];
  std::vector<Edge> sorted(edges.size());
  {
    std::vector<int64_t> next(offsets.begin(), offsets.end() - 1);
    for (const Edge& e : edges) sorted[next[e.from]++] = e;
  }
  edges.clear();
  edges.shrink_to_fit();
  std::vector<Edge> merged;
  merged.reserve(sorted.size());
  for (int32_t u = 0; u < nodes; ++u) {
    auto begin = sorted.begin() + offsets[u];
    auto end = sorted.begin() + offsets[u + 1];
    std::sort(begin, end, EdgeLess);
    for (auto it = begin; it != end; ++it) {
      if (!merged.empty() && merged.back().from == it->from && merged.back().to == it->to &&
          merged.back().port == it->port && merged.back().protocol == it->protocol) {
        merged.back().frequency += it->frequency;
        if (merged.back().service < 0) merged.back().service = it->service;
      } else {
        merged.push_back(*it);
      }
    }
  }
  return merged;
}

}  // namespace

DependencyGraph DependencyGraph::Build(const Estate& estate) {
  DependencyGraph graph;
  graph.nodes_ = static_cast<int32_t>(estate.servers.size());

  StringMap<int32_t> by_address;
  by_address.reserve(estate.servers.size() * 2);
  StringMap<std::vector<int32_t>> ambiguous_holders;
  for (int32_t i = 0; i < graph.nodes_; ++i) {
    for (const std::string& raw : estate.servers[i].addresses) {
      std::string_view address = NormalizeAddress(raw);
      auto [it, inserted] = by_address.try_emplace(std::string(address), i);
      if (!inserted && it->second != i) {
        auto& holders = ambiguous_holders[it->first];
        if (holders.empty() && it->second >= 0) holders.push_back(it->second);
        holders.push_back(i);
        it->second = kAmbiguous;
      }
    }
  }
  for (const auto& [address, holders] : ambiguous_holders) {
    std::string names;
    for (size_t k = 0; k < holders.size() && k < 5; ++k) {
      if (!names.empty()) names += ", ";
      names += estate.servers[holders[k]].name;
    }
    if (holders.size() > 5) names += fmt::format(" and {} more", holders.size() - 5);
    graph.ambiguous_.push_back(fmt::format("{} ({})", address, names));
  }
  std::sort(graph.ambiguous_.begin(), graph.ambiguous_.end());
  if (graph.ambiguous_.size() > 20) graph.ambiguous_.resize(20);

  auto lookup = [&](std::string_view raw) -> int32_t {
    auto it = by_address.find(NormalizeAddress(raw));
    return it == by_address.end() ? kUnknown : it->second;
  };

  StringMap<int32_t> service_index;
  struct ExternalCount {
    uint64_t connections = 0;
    int32_t example = -1;
  };
  StringMap<ExternalCount> external;
  std::vector<Edge> edges;
  edges.reserve(estate.connections.size());
  std::string_view last_service;
  int32_t last_service_index = -1;
  for (const ObservedConnection& c : estate.connections) {
    const int32_t client = c.client >= 0 ? c.client : lookup(c.client_address);
    const int32_t server = c.server >= 0 ? c.server : lookup(c.remote_address);
    if (client < 0 || server < 0) {
      graph.external_ += c.count;
      std::string_view address = NormalizeAddress(client < 0 ? c.client_address : c.remote_address);
      ExternalCount& count = external[std::string(address)];
      count.connections += c.count;
      if (count.example < 0) count.example = client >= 0 ? client : server;
      continue;
    }
    if (client == server) {
      graph.self_ += c.count;
      continue;
    }
    graph.matched_ += c.count;
    int32_t service = -1;
    if (!c.service.empty()) {
      if (c.service == last_service) {
        service = last_service_index;
      } else {
        auto [it, inserted] =
            service_index.try_emplace(c.service, static_cast<int32_t>(graph.services_.size()));
        if (inserted) graph.services_.push_back(c.service);
        service = it->second;
        last_service = it->first;
        last_service_index = service;
      }
    }
    edges.push_back({.from = client,
                     .to = server,
                     .port = c.port,
                     .protocol = c.protocol,
                     .frequency = c.count,
                     .service = service});
  }
  graph.external_endpoints_ = external.size();
  std::vector<ExternalEndpoint> endpoints;
  endpoints.reserve(external.size());
  for (auto& [address, count] : external) {
    endpoints.push_back({address, count.connections, count.example});
  }
  const size_t top = std::min<size_t>(20, endpoints.size());
  std::partial_sort(endpoints.begin(), endpoints.begin() + static_cast<ptrdiff_t>(top),
                    endpoints.end(), [](const ExternalEndpoint& a, const ExternalEndpoint& b) {
                      if (a.connections != b.connections) return a.connections > b.connections;
                      return a.address < b.address;
                    });
  endpoints.resize(top);
  graph.top_external_ = std::move(endpoints);

  graph.edges_ = SortAndMerge(graph.nodes_, std::move(edges));
  graph.Finish();
  return graph;
}

DependencyGraph DependencyGraph::FromEdges(int32_t nodes, std::vector<Edge> edges) {
  DependencyGraph graph;
  graph.nodes_ = nodes;
  std::erase_if(edges, [](const Edge& e) { return e.from == e.to; });
  for (Edge& e : edges) {
    if (e.frequency == 0) e.frequency = 1;
  }
  graph.matched_ = edges.size();
  graph.edges_ = SortAndMerge(nodes, std::move(edges));
  graph.Finish();
  return graph;
}

void DependencyGraph::Finish() {
  const size_t n = static_cast<size_t>(nodes_);
  out_offsets_.assign(n + 1, 0);
  out_targets_.clear();
  out_weights_.clear();
  out_targets_.reserve(edges_.size());
  out_weights_.reserve(edges_.size());
  // edges_ is sorted by (from, to): distinct targets are runs.
  size_t e = 0;
  for (int32_t u = 0; u < nodes_; ++u) {
    out_offsets_[u] = static_cast<int32_t>(out_targets_.size());
    while (e < edges_.size() && edges_[e].from == u) {
      const int32_t to = edges_[e].to;
      double weight = 0;
      while (e < edges_.size() && edges_[e].from == u && edges_[e].to == to) {
        weight += edges_[e].frequency;
        ++e;
      }
      out_targets_.push_back(to);
      out_weights_.push_back(weight);
    }
  }
  out_offsets_[n] = static_cast<int32_t>(out_targets_.size());

  in_offsets_.assign(n + 1, 0);
  for (int32_t v : out_targets_) ++in_offsets_[static_cast<size_t>(v) + 1];
  for (size_t i = 0; i < n; ++i) in_offsets_[i + 1] += in_offsets_[i];
  in_sources_.assign(out_targets_.size(), 0);
  std::vector<int32_t> next(in_offsets_.begin(), in_offsets_.end() - 1);
  // Sources are visited in ascending order, so each in-list comes out sorted.
  for (int32_t u = 0; u < nodes_; ++u) {
    for (int32_t k = out_offsets_[u]; k < out_offsets_[u + 1]; ++k) {
      in_sources_[next[out_targets_[k]]++] = u;
    }
  }
}

Components StronglyConnectedComponents(const DependencyGraph& graph) {
  const int32_t n = graph.nodes();
  Components result;
  result.component.assign(static_cast<size_t>(n), -1);
  std::vector<int32_t> index(static_cast<size_t>(n), -1);
  std::vector<int32_t> low(static_cast<size_t>(n), 0);
  std::vector<bool> on_stack(static_cast<size_t>(n), false);
  std::vector<int32_t> stack;
  // The explicit call stack: a node and the position of the next dependency to visit.
  struct Frame {
    int32_t node;
    int32_t next;
  };
  std::vector<Frame> calls;
  int32_t counter = 0;

  for (int32_t root = 0; root < n; ++root) {
    if (index[root] >= 0) continue;
    index[root] = low[root] = counter++;
    stack.push_back(root);
    on_stack[root] = true;
    calls.push_back({root, 0});
    while (!calls.empty()) {
      Frame& frame = calls.back();
      const int32_t v = frame.node;
      std::span<const int32_t> dependencies = graph.DependenciesOf(v);
      if (frame.next < static_cast<int32_t>(dependencies.size())) {
        const int32_t w = dependencies[frame.next++];
        if (index[w] < 0) {
          index[w] = low[w] = counter++;
          stack.push_back(w);
          on_stack[w] = true;
          calls.push_back({w, 0});  // invalidates `frame`
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      calls.pop_back();
      if (low[v] == index[v]) {
        const int32_t id = static_cast<int32_t>(result.members.size());
        std::vector<int32_t> members;
        int32_t w;
        do {
          w = stack.back();
          stack.pop_back();
          on_stack[w] = false;
          result.component[w] = id;
          members.push_back(w);
        } while (w != v);
        std::sort(members.begin(), members.end());
        result.members.push_back(std::move(members));
      }
      if (!calls.empty()) {
        const int32_t parent = calls.back().node;
        low[parent] = std::min(low[parent], low[v]);
      }
    }
  }
  return result;
}

std::vector<double> PageRank(const DependencyGraph& graph, const PageRankOptions& options,
                             int* iterations) {
  const int32_t n = graph.nodes();
  if (n == 0) return {};
  const double d = options.damping;
  const double uniform = 1.0 / n;
  // Each node's outgoing probabilities, normalised once.
  std::vector<double> share_of_total(static_cast<size_t>(n), 0);
  std::vector<bool> dangling(static_cast<size_t>(n), false);
  for (int32_t u = 0; u < n; ++u) {
    std::span<const double> weights = graph.DependencyWeights(u);
    if (weights.empty()) {
      dangling[u] = true;
      continue;
    }
    double total = 0;
    if (options.weighted) {
      for (double w : weights) total += w;
    } else {
      total = static_cast<double>(weights.size());
    }
    share_of_total[u] = 1.0 / total;
  }
  std::vector<double> rank(static_cast<size_t>(n), uniform);
  std::vector<double> next(static_cast<size_t>(n), 0);
  int iteration = 0;
  for (; iteration < options.max_iterations; ++iteration) {
    double dangling_mass = 0;
    for (int32_t u = 0; u < n; ++u) {
      if (dangling[u]) dangling_mass += rank[u];
    }
    const double base = (1.0 - d) * uniform + d * dangling_mass * uniform;
    std::fill(next.begin(), next.end(), base);
    for (int32_t u = 0; u < n; ++u) {
      if (dangling[u]) continue;
      const double push = d * rank[u] * share_of_total[u];
      std::span<const int32_t> targets = graph.DependenciesOf(u);
      if (options.weighted) {
        std::span<const double> weights = graph.DependencyWeights(u);
        for (size_t k = 0; k < targets.size(); ++k) next[targets[k]] += push * weights[k];
      } else {
        for (int32_t v : targets) next[v] += push;
      }
    }
    // Renormalise against rounding drift, then measure the change.
    double sum = 0;
    for (double r : next) sum += r;
    double change = 0;
    for (int32_t v = 0; v < n; ++v) {
      next[v] /= sum;
      change += std::fabs(next[v] - rank[v]);
    }
    rank.swap(next);
    if (change < options.tolerance) {
      ++iteration;
      break;
    }
  }
  if (iterations != nullptr) *iterations = iteration;
  return rank;
}

}  // namespace ferry::plan
