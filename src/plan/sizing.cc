#include "plan/sizing.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include <fmt/format.h>

namespace ferry::plan {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kGB = 1e9;
constexpr double kSecondsPerMonth = 730.0 * 3600.0;

int NextPercentileUp(int percentile) {
  if (percentile < 95) return 95;
  if (percentile < 99) return 99;
  return 100;
}

std::string PercentileName(int percentile) {
  return percentile >= 100 ? "max" : fmt::format("p{}", percentile);
}

}  // namespace

std::string_view SizingOptionName(SizingOption option) {
  switch (option) {
    case SizingOption::kConservative: return "conservative";
    case SizingOption::kBalanced: return "balanced";
    case SizingOption::kAggressive: return "aggressive";
  }
  return "";
}

Status ValidateSizingOptions(const SizingOptions& options) {
  if (options.percentile != 50 && options.percentile != 95 && options.percentile != 99 &&
      options.percentile != 100) {
    return InvalidArgument(
        "--percentile {}: the baseline holds p50, p95, p99 and the maximum; use 50, 95, 99 or "
        "100 (the maximum)",
        options.percentile);
  }
  if (!(options.comfort >= 0.5 && options.comfort <= 5)) {
    return InvalidArgument(
        "--comfort {}: the comfort factor multiplies the measured load; use a value from 0.5 to "
        "5 (1.3 = 30% headroom)",
        options.comfort);
  }
  return OkStatus();
}

int ConfidenceStars(double coverage) {
  const double percent = coverage * 100.0;
  if (percent <= 20) return 1;
  if (percent <= 40) return 2;
  if (percent <= 60) return 3;
  if (percent <= 80) return 4;
  return 5;
}

std::string NormalizeArchitecture(std::string_view machine) {
  if (machine.empty() || machine == "x86_64" || machine == "amd64" || machine == "x64" ||
      machine == "i386" || machine == "i486" || machine == "i586" || machine == "i686" ||
      machine == "x86") {
    return "x86_64";
  }
  if (machine == "aarch64" || machine == "arm64" || machine == "armv8") return "aarch64";
  return std::string(machine);
}

Result<InstanceSelector> InstanceSelector::Build(const CloudCatalog& catalog,
                                                 const std::string& region) {
  InstanceSelector selector;
  selector.cloud_ = catalog.cloud;
  selector.region_ = region;
  std::vector<Entry> all;
  for (const InstanceType& type : catalog.instances) {
    auto it = type.prices.find(region);
    if (it == type.prices.end() || it->second.on_demand <= 0) continue;
    all.push_back({.price = it->second.on_demand,
                   .vcpus = type.vcpus,
                   .memory_gib = type.memory_gib,
                   .aarch64 = type.architecture == "aarch64",
                   .burstable = type.burstable,
                   .offer = {&type, &it->second}});
  }
  if (all.empty()) {
    std::string regions;
    for (const auto& [name, rates] : catalog.regions) {
      regions += (regions.empty() ? "" : ", ") + name;
    }
    return Err(InvalidArgument(
        "region `{}` of {} has no priced instance type in the catalogue (snapshot {}); choose "
        "one of {} with --region {}=REGION, or import its prices with `ferry catalog import`",
        region, CloudName(catalog.cloud), catalog.snapshot_date, regions,
        CloudName(catalog.cloud)));
  }
  auto order = [](const Entry& a, const Entry& b) {
    return std::forward_as_tuple(a.price, a.vcpus, a.memory_gib, a.offer.type->name) <
           std::forward_as_tuple(b.price, b.vcpus, b.memory_gib, b.offer.type->name);
  };
  std::sort(all.begin(), all.end(), order);
  // Keep a type only if no earlier (cheaper or equal) type serves every request it serves.
  for (const Entry& candidate : all) {
    bool dominated = false;
    for (const Entry& kept : selector.entries_) {
      if (kept.aarch64 == candidate.aarch64 && (!kept.burstable || candidate.burstable) &&
          kept.vcpus >= candidate.vcpus && kept.memory_gib >= candidate.memory_gib) {
        dominated = true;
        break;
      }
    }
    if (!dominated) selector.entries_.push_back(candidate);
  }
  return selector;
}

std::optional<InstanceSelector::Offer> InstanceSelector::Cheapest(
    const Requirement& need, std::string_view architecture) const {
  const bool aarch64 = architecture == "aarch64";
  if (!aarch64 && architecture != "x86_64") return std::nullopt;
  for (const Entry& entry : entries_) {
    if (entry.aarch64 != aarch64) continue;
    if (entry.burstable && !need.allow_burstable) continue;
    if (entry.vcpus >= need.vcpus && entry.memory_gib >= need.memory_gib) return entry.offer;
  }
  return std::nullopt;
}

ServerSizing SizeServer(const Server& server, const SizingOptions& options,
                        const std::vector<InstanceSelector>& selectors) {
  ServerSizing sizing;
  sizing.architecture = NormalizeArchitecture(server.architecture);
  const double cores = server.logical_cpus > 0 ? server.logical_cpus : 2;
  const double memory_gib = server.memory_bytes > 0 ? server.memory_bytes / kGiB : 4;
  std::string unknown;
  if (server.logical_cpus <= 0) unknown += "CPU count unknown (2 assumed); ";
  if (server.memory_bytes == 0) unknown += "memory unknown (4 GiB assumed); ";

  const PerformanceBaseline* baseline = server.baseline ? &*server.baseline : nullptr;
  const MetricPercentiles* cpu =
      baseline && baseline->cpu_percent ? &*baseline->cpu_percent : nullptr;
  const MetricPercentiles* memory_bytes =
      baseline && baseline->memory_used_bytes ? &*baseline->memory_used_bytes : nullptr;
  const MetricPercentiles* memory_percent =
      baseline && baseline->memory_used_percent ? &*baseline->memory_used_percent : nullptr;
  const bool performance = cpu != nullptr || memory_bytes != nullptr || memory_percent != nullptr;

  for (SizingOption option : kAllSizingOptions) {
    const int percentile = option == SizingOption::kConservative
                               ? NextPercentileUp(options.percentile)
                               : options.percentile;
    const double comfort = option == SizingOption::kAggressive ? 1.0 : options.comfort;
    Requirement& need = sizing.need[static_cast<size_t>(option)];
    need.allow_burstable = option == SizingOption::kAggressive;
    need.vcpus = cpu ? cores * cpu->At(percentile) / 100.0 * comfort : cores;
    if (memory_bytes) {
      need.memory_gib = memory_bytes->At(percentile) / kGiB * comfort;
    } else if (memory_percent) {
      need.memory_gib = memory_gib * memory_percent->At(percentile) / 100.0 * comfort;
    } else {
      need.memory_gib = memory_gib;
    }
    need.memory_gib = std::max(need.memory_gib, 0.5);
    need.vcpus = std::max(need.vcpus, 0.1);
  }

  if (!performance) {
    sizing.basis = "as-on-premises";
    sizing.basis_reason = fmt::format(
        "{}no performance baseline: sized as on premises ({} vCPUs, {:.1f} GiB); run `ferry "
        "discover --watch 7d` on the host for a performance-based size",
        unknown, cores, memory_gib);
    sizing.confidence_stars = 1;
    sizing.confidence_reason = "no baseline: 1 star";
  } else if (!baseline->sampled) {
    sizing.basis = "imported utilisation";
    sizing.basis_reason = fmt::format(
        "{}utilisation reported by another tool (one figure per metric, not a sampled "
        "baseline) x comfort {}",
        unknown, options.comfort);
    sizing.confidence_stars = 1;
    sizing.confidence_reason = "imported utilisation of unknown coverage: 1 star";
  } else {
    double coverage = baseline->coverage;
    std::string weakest = "the baseline";
    for (const auto& [metric, name] :
         {std::pair{cpu, "cpu_percent"}, std::pair{memory_bytes, "memory_used_bytes"}}) {
      if (metric != nullptr && baseline->expected_samples > 0) {
        const double metric_coverage =
            static_cast<double>(metric->samples) / static_cast<double>(baseline->expected_samples);
        if (metric_coverage < coverage) {
          coverage = metric_coverage;
          weakest = name;
        }
      }
    }
    coverage = std::clamp(coverage, 0.0, 1.0);
    sizing.basis = "performance-based";
    std::string missing;
    if (cpu == nullptr) missing += "no CPU figures (CPUs as on premises); ";
    if (memory_bytes == nullptr && memory_percent == nullptr) {
      missing += "no memory figures (memory as on premises); ";
    }
    sizing.basis_reason = fmt::format(
        "{}{}{} of {:.1f} days x comfort {} (conservative: {}; aggressive: no comfort "
        "factor)",
        unknown, missing, PercentileName(options.percentile), baseline->duration_seconds / 86400.0,
        options.comfort, PercentileName(NextPercentileUp(options.percentile)));
    sizing.confidence_stars = ConfidenceStars(coverage);
    sizing.confidence_reason =
        fmt::format("{:.0f}% of the expected samples ({}): {} star{}", coverage * 100, weakest,
                    sizing.confidence_stars, sizing.confidence_stars == 1 ? "" : "s");
  }

  // Storage: what is used, with the comfort factor, when the baseline allows performance-based
  // sizing; otherwise the provisioned disks. At least 10 GB (a boot disk).
  const double used_gb = static_cast<double>(server.disk_used_bytes) / kGB;
  const double provisioned_gb = static_cast<double>(server.disk_bytes) / kGB;
  if (performance && used_gb > 0) {
    sizing.storage_gb = used_gb * options.comfort;
  } else {
    sizing.storage_gb = provisioned_gb > 0 ? provisioned_gb : used_gb;
  }
  sizing.storage_gb = std::max(sizing.storage_gb, 10.0);
  if (baseline && baseline->network_tx_bytes_per_second) {
    sizing.egress_gb_per_month =
        baseline->network_tx_bytes_per_second->p50 * kSecondsPerMonth / kGB;
  }

  for (SizingOption option : kAllSizingOptions) {
    std::vector<InstanceChoice>& choices = sizing.choice[static_cast<size_t>(option)];
    choices.reserve(selectors.size());
    for (const InstanceSelector& selector : selectors) {
      auto offer = selector.Cheapest(sizing.need[static_cast<size_t>(option)], sizing.architecture);
      choices.push_back(offer ? InstanceChoice{offer->type, offer->price} : InstanceChoice{});
    }
  }
  return sizing;
}

}  // namespace ferry::plan
