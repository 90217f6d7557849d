// `ferry plan` on generated estates: 1,000 to 100,000 servers with ten connection records per
// server (100,000 servers, 1,000,000 connections at the top), read from the estate file and
// planned: graph, components, PageRank, waves, strategies, sizing in three clouds, risks, TCO.
// Figures and the commands that produced them: docs/plan.md, "Performance".
//
//   plan_bench                                       # the benchmarks
//   plan_bench --write-estate FILE [--servers N] [--connections M] [--seed S]
//   plan_bench --write-inventories DIR               # the 50-server three-tier estate
//
// The written estate is what `ferry plan --inventory FILE` reads, so the CLI can be timed on
// the same data (with /usr/bin/time -v for its peak memory).
#include <sys/resource.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include <benchmark/benchmark.h>

#include "base/env.h"
#include "plan/catalog.h"
#include "plan/estate_file.h"
#include "plan/estate_generator.h"
#include "plan/estate_reader.h"
#include "plan/plan.h"
#include "plan/plan_render.h"

namespace ferry::plan {
namespace {

double PeakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

PlanOptions BenchOptions() {
  PlanOptions options;
  options.today = "2025-06-01";
  return options;
}

// The estate file text of a generated estate of `servers` servers, ten connections each.
const std::string& EstateText(int32_t servers) {
  static std::map<int32_t, std::string>* texts = new std::map<int32_t, std::string>();
  auto it = texts->find(servers);
  if (it == texts->end()) {
    Estate estate = LargeEstate({.servers = servers, .connections = int64_t{10} * servers});
    it = texts->emplace(servers, FormatEstateFile(estate)).first;
  }
  return it->second;
}

// Read the estate file and plan it: what `ferry plan --inventory FILE` does before writing.
void BM_ReadAndPlan(benchmark::State& state) {
  const int32_t servers = static_cast<int32_t>(state.range(0));
  const std::string& text = EstateText(servers);
  PlanTimings timings;
  double read_ms = 0;
  size_t edges = 0, components = 0, waves = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    Estate estate;
    AddEstateText(text, "bench.estate", &estate);
    read_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    Result<Plan> plan = MakePlan(estate, BuiltinCatalog(), BenchOptions());
    if (!plan.has_value()) {
      state.SkipWithError(plan.error().message().c_str());
      return;
    }
    timings = plan->timings;
    edges = plan->graph.edges().size();
    components = static_cast<size_t>(plan->components.count());
    waves = plan->waves.waves.size();
    benchmark::DoNotOptimize(plan);
  }
  state.counters["connections"] = static_cast<double>(10 * servers);
  state.counters["edges"] = static_cast<double>(edges);
  state.counters["components"] = static_cast<double>(components);
  state.counters["waves"] = static_cast<double>(waves);
  state.counters["read_ms"] = read_ms;
  state.counters["graph_ms"] = timings.graph_ms;
  state.counters["scc_ms"] = timings.components_ms;
  state.counters["pagerank_ms"] = timings.pagerank_ms;
  state.counters["waves_ms"] = timings.waves_ms;
  state.counters["sizing_ms"] = timings.sizing_ms;
  state.counters["rest_ms"] = timings.assess_ms + timings.risks_ms + timings.tco_ms;
  state.counters["peak_rss_MiB"] = PeakRssMiB();
}
BENCHMARK(BM_ReadAndPlan)
    ->Arg(1'000)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

// The plan as JSON (every server, dependency and risk).
void BM_RenderJson(benchmark::State& state) {
  const int32_t servers = static_cast<int32_t>(state.range(0));
  Estate estate;
  AddEstateText(EstateText(servers), "bench.estate", &estate);
  Result<Plan> plan = MakePlan(estate, BuiltinCatalog(), BenchOptions());
  if (!plan.has_value()) {
    state.SkipWithError(plan.error().message().c_str());
    return;
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::string json = RenderPlanJson(estate, *plan);
    bytes = json.size();
    benchmark::DoNotOptimize(json);
  }
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
}
BENCHMARK(BM_RenderJson)
    ->Arg(1'000)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

int WriteAndExit(int argc, char** argv) {
  std::string estate_file, inventories;
  LargeEstateOptions options;
  for (int i = 1; i < argc; ++i) {
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (std::strcmp(argv[i], "--write-estate") == 0) {
      estate_file = value();
    } else if (std::strcmp(argv[i], "--write-inventories") == 0) {
      inventories = value();
    } else if (std::strcmp(argv[i], "--servers") == 0) {
      options.servers = std::stoi(value());
    } else if (std::strcmp(argv[i], "--connections") == 0) {
      options.connections = std::stoll(value());
    } else if (std::strcmp(argv[i], "--seed") == 0) {
      options.seed = std::stoull(value());
    } else {
      std::cerr << "plan_bench: unknown argument " << argv[i]
                << "; use --write-estate FILE [--servers N] [--connections M] [--seed S] or "
                   "--write-inventories DIR\n";
      return 2;
    }
  }
  if (!inventories.empty()) {
    Status status = WriteInventories(ThreeTierEstate(), inventories, Env::Default());
    if (!status.ok()) {
      std::cerr << "plan_bench: " << status.message() << "\n";
      return 3;
    }
    std::cout << "wrote the 50-server three-tier estate as inventories into " << inventories
              << "\n";
  }
  if (!estate_file.empty()) {
    Estate estate = LargeEstate(options);
    Status status = Env::Default()->WriteFileAtomic(estate_file, FormatEstateFile(estate));
    if (!status.ok()) {
      std::cerr << "plan_bench: " << status.message() << "\n";
      return 3;
    }
    std::cout << "wrote " << estate.servers.size() << " servers and " << estate.connections.size()
              << " connections to " << estate_file << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace ferry::plan

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--write-", 8) == 0) return ferry::plan::WriteAndExit(argc, argv);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
