// Right-sizing: the requirement of each option, and the cheapest fitting type checked by brute
// force over the whole catalogue (an implementation independent of InstanceSelector's pruning).
#include "plan/sizing.h"

#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::plan {
namespace {

using ::testing::HasSubstr;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// The documented rule, written out again: the cheapest type in `region` with at least the
// vCPUs and memory, of the architecture, burstable only when allowed; ties: fewer vCPUs, less
// memory, then the name.
const InstanceType* BruteForceCheapest(const CloudCatalog& catalog, const std::string& region,
                                       const Requirement& need, const std::string& architecture) {
  const InstanceType* best = nullptr;
  double best_price = 0;
  for (const InstanceType& type : catalog.instances) {
    auto price = type.prices.find(region);
    if (price == type.prices.end() || price->second.on_demand <= 0) continue;
    if (type.architecture != architecture) continue;
    if (type.burstable && !need.allow_burstable) continue;
    if (type.vcpus < need.vcpus || type.memory_gib < need.memory_gib) continue;
    const double p = price->second.on_demand;
    if (best == nullptr || p < best_price ||
        (p == best_price && std::tie(type.vcpus, type.memory_gib, type.name) <
                                std::tie(best->vcpus, best->memory_gib, best->name))) {
      best = &type;
      best_price = p;
    }
  }
  return best;
}

MetricPercentiles Metric(double p50, double p95, double p99, double max) {
  return {.p50 = p50, .p95 = p95, .p99 = p99, .max = max, .samples = 100};
}

TEST(SizingTest, ConfidenceStarsFollowAzureMigrateBands) {
  EXPECT_EQ(ConfidenceStars(0.0), 1);
  EXPECT_EQ(ConfidenceStars(0.20), 1);
  EXPECT_EQ(ConfidenceStars(0.21), 2);
  EXPECT_EQ(ConfidenceStars(0.40), 2);
  EXPECT_EQ(ConfidenceStars(0.41), 3);
  EXPECT_EQ(ConfidenceStars(0.60), 3);
  EXPECT_EQ(ConfidenceStars(0.61), 4);
  EXPECT_EQ(ConfidenceStars(0.80), 4);
  EXPECT_EQ(ConfidenceStars(0.81), 5);
  EXPECT_EQ(ConfidenceStars(1.0), 5);
}

TEST(SizingTest, OptionsUseThePercentilesAndTheComfortFactor) {
  Server server;
  server.logical_cpus = 8;
  server.memory_bytes = static_cast<uint64_t>(32 * kGiB);
  PerformanceBaseline b;
  b.coverage = 0.9;
  b.duration_seconds = 14 * 86400;
  b.expected_samples = 100;
  b.cpu_percent = Metric(10, 40, 60, 90);
  b.memory_used_bytes = Metric(4 * kGiB, 8 * kGiB, 12 * kGiB, 16 * kGiB);
  server.baseline = b;
  ServerSizing s = SizeServer(server, {.percentile = 95, .comfort = 1.5}, {});
  EXPECT_EQ(s.basis, "performance-based");
  const Requirement& conservative = s.need[0];
  const Requirement& balanced = s.need[1];
  const Requirement& aggressive = s.need[2];
  EXPECT_DOUBLE_EQ(balanced.vcpus, 8 * 0.40 * 1.5);
  EXPECT_DOUBLE_EQ(balanced.memory_gib, 8 * 1.5);
  EXPECT_DOUBLE_EQ(conservative.vcpus, 8 * 0.60 * 1.5);  // p99
  EXPECT_DOUBLE_EQ(conservative.memory_gib, 12 * 1.5);
  EXPECT_DOUBLE_EQ(aggressive.vcpus, 8 * 0.40);  // no comfort factor
  EXPECT_TRUE(aggressive.allow_burstable);
  EXPECT_FALSE(balanced.allow_burstable);
  EXPECT_EQ(s.confidence_stars, 5);

  ServerSizing max = SizeServer(server, {.percentile = 100, .comfort = 1.0}, {});
  EXPECT_DOUBLE_EQ(max.need[1].vcpus, 8 * 0.90);
  EXPECT_DOUBLE_EQ(max.need[0].vcpus, 8 * 0.90);  // nothing above the maximum
}

TEST(SizingTest, WithoutABaselineSizesAsOnPremisesWithOneStar) {
  Server server;
  server.logical_cpus = 4;
  server.memory_bytes = static_cast<uint64_t>(16 * kGiB);
  ServerSizing s = SizeServer(server, {}, {});
  EXPECT_EQ(s.basis, "as-on-premises");
  EXPECT_THAT(s.basis_reason, HasSubstr("ferry discover --watch"));
  EXPECT_EQ(s.confidence_stars, 1);
  for (const Requirement& need : s.need) {
    EXPECT_DOUBLE_EQ(need.vcpus, 4);
    EXPECT_DOUBLE_EQ(need.memory_gib, 16);
  }
}

TEST(SizingTest, ConfidenceFollowsTheWeakestMetric) {
  Server server;
  server.logical_cpus = 2;
  server.memory_bytes = static_cast<uint64_t>(4 * kGiB);
  PerformanceBaseline b;
  b.coverage = 0.95;
  b.expected_samples = 100;
  b.cpu_percent = Metric(1, 2, 3, 4);
  b.cpu_percent->samples = 35;  // CPU readings failed often
  server.baseline = b;
  ServerSizing s = SizeServer(server, {}, {});
  EXPECT_EQ(s.confidence_stars, 2);
  EXPECT_THAT(s.confidence_reason, HasSubstr("cpu_percent"));
}

TEST(SizingTest, RejectsPercentilesTheBaselineDoesNotHold) {
  EXPECT_THAT(ValidateSizingOptions({.percentile = 90}).message(), HasSubstr("50, 95, 99"));
  EXPECT_THAT(ValidateSizingOptions({.percentile = 95, .comfort = 0}).message(),
              HasSubstr("--comfort"));
  EXPECT_TRUE(ValidateSizingOptions({.percentile = 99, .comfort = 1.0}).ok());
}

// Random servers against the shipped catalogue: every option in every cloud is the brute-force
// cheapest fit.
TEST(SizingTest, PicksTheCheapestFittingTypeOfTheCatalogue) {
  const Catalog& catalog = BuiltinCatalog();
  ASSERT_EQ(catalog.clouds.size(), 3u);
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> unit(0, 1);
  for (const CloudCatalog& cloud : catalog.clouds) {
    for (const auto& [region, rates] : cloud.regions) {
      auto selector = InstanceSelector::Build(cloud, region);
      ASSERT_TRUE(selector.has_value()) << selector.error().ToString();
      std::vector<InstanceSelector> selectors = {*selector};
      for (int round = 0; round < 400; ++round) {
        Server server;
        static constexpr int kCpus[] = {1, 2, 4, 8, 16, 32, 64, 96, 128, 256};
        server.logical_cpus = kCpus[rng() % 10];
        server.memory_bytes = static_cast<uint64_t>(server.logical_cpus * (1 + rng() % 16) * kGiB);
        server.architecture = rng() % 5 == 0 ? "aarch64" : "x86_64";
        if (rng() % 4 != 0) {
          PerformanceBaseline b;
          b.coverage = unit(rng);
          b.expected_samples = 100;
          const double cpu = unit(rng) * 100;
          b.cpu_percent = Metric(cpu * 0.5, cpu, std::min(100.0, cpu * 1.2), 100);
          const double memory = unit(rng) * static_cast<double>(server.memory_bytes);
          b.memory_used_bytes = Metric(memory * 0.5, memory, memory * 1.1, memory * 1.3);
          server.baseline = b;
        }
        const SizingOptions options{.percentile = std::array{50, 95, 99, 100}[rng() % 4],
                                    .comfort = 1 + unit(rng)};
        ServerSizing s = SizeServer(server, options, selectors);
        for (SizingOption option : kAllSizingOptions) {
          const size_t k = static_cast<size_t>(option);
          const InstanceType* expected =
              BruteForceCheapest(cloud, region, s.need[k], s.architecture);
          const InstanceType* got = s.choice[k][0].type;
          ASSERT_EQ(got == nullptr, expected == nullptr)
              << CloudName(cloud.cloud) << " " << region << " need " << s.need[k].vcpus << "/"
              << s.need[k].memory_gib;
          if (got != nullptr) {
            EXPECT_EQ(got->name, expected->name)
                << CloudName(cloud.cloud) << " " << region << " " << SizingOptionName(option)
                << " need " << s.need[k].vcpus << " vCPU " << s.need[k].memory_gib << " GiB";
            EXPECT_EQ(s.choice[k][0].price, &got->prices.at(region));
          }
        }
      }
    }
  }
}

// A random catalogue with many dominated types, ties and burstable ones: the pruned selector
// still finds the brute-force answer.
TEST(SizingTest, SelectorAgreesWithBruteForceOnRandomCatalogues) {
  std::mt19937_64 rng(23);
  std::uniform_real_distribution<double> unit(0, 1);
  for (int round = 0; round < 50; ++round) {
    CloudCatalog catalog;
    catalog.cloud = Cloud::kAws;
    catalog.default_region = "r1";
    catalog.regions["r1"] = {};
    for (int t = 0; t < 80; ++t) {
      InstanceType type;
      type.name = fmt::format("t{:03}", t);
      type.family = "f";
      type.vcpus = 1 << (rng() % 7);
      type.memory_gib = type.vcpus * static_cast<double>(1 + rng() % 8);
      type.architecture = rng() % 4 == 0 ? "aarch64" : "x86_64";
      type.burstable = rng() % 5 == 0;
      // Coarse prices make ties common.
      type.prices["r1"] = {.on_demand = static_cast<double>(1 + rng() % 20) / 10};
      if (rng() % 10 != 0) catalog.instances.push_back(std::move(type));
    }
    auto selector = InstanceSelector::Build(catalog, "r1");
    ASSERT_TRUE(selector.has_value());
    for (int q = 0; q < 200; ++q) {
      Requirement need{.vcpus = unit(rng) * 70,
                       .memory_gib = unit(rng) * 600,
                       .allow_burstable = rng() % 2 == 0};
      const std::string arch = rng() % 3 == 0 ? "aarch64" : "x86_64";
      const InstanceType* expected = BruteForceCheapest(catalog, "r1", need, arch);
      auto got = selector->Cheapest(need, arch);
      ASSERT_EQ(got.has_value(), expected != nullptr);
      if (got) {
        EXPECT_EQ(got->type->name, expected->name);
      }
    }
  }
}

TEST(SizingTest, NoTypeForAnArchitectureNoCloudOffers) {
  const CloudCatalog* aws = BuiltinCatalog().Find(Cloud::kAws);
  ASSERT_NE(aws, nullptr);
  auto selector = InstanceSelector::Build(*aws, aws->default_region);
  ASSERT_TRUE(selector.has_value());
  EXPECT_FALSE(selector->Cheapest({.vcpus = 1, .memory_gib = 1}, "s390x").has_value());
  EXPECT_FALSE(selector->Cheapest({.vcpus = 100000, .memory_gib = 1}, "x86_64").has_value());
  EXPECT_EQ(NormalizeArchitecture("amd64"), "x86_64");
  EXPECT_EQ(NormalizeArchitecture("arm64"), "aarch64");
}

TEST(SizingTest, AnUnpricedRegionIsAnErrorNamingTheWayOut) {
  const CloudCatalog* gcp = BuiltinCatalog().Find(Cloud::kGcp);
  ASSERT_NE(gcp, nullptr);
  auto selector = InstanceSelector::Build(*gcp, "mars-north1");
  ASSERT_FALSE(selector.has_value());
  EXPECT_THAT(selector.error().message(), HasSubstr("mars-north1"));
  EXPECT_THAT(selector.error().message(), HasSubstr("--region gcp=REGION"));
}

}  // namespace
}  // namespace ferry::plan
