// Right-sizing: what each server needs in the cloud, and the cheapest instance type of each
// cloud that gives it.
//
// Performance-based when the server has a baseline (docs/plan.md, "Right-sizing"):
//   vCPUs  = logical CPUs x CPU utilisation at the percentile x comfort factor
//   memory = memory used at the percentile x comfort factor
// with three options:
//   conservative  the next percentile up (p50 -> p95 -> p99 -> max) x comfort
//   balanced      the chosen percentile (default p95) x comfort (default 1.3): recommended
//   aggressive    the chosen percentile, no comfort factor; burstable types allowed
// As-on-premises when there is no baseline: the server's own CPUs and memory, the same for all
// three options.
//
// "Fits" means at least the vCPUs and the memory needed, on the server's architecture (x86_64
// or aarch64). Burstable types (t3/t4g, B-series, e2 shared-core) are for the aggressive option
// only: their sustained CPU is a fraction of their vCPUs. The cheapest fitting type is the one
// with the lowest on-demand price in the region; ties go to fewer vCPUs, then less memory, then
// the name.
//
// Confidence (1 to 5 stars) as Azure Migrate rates it, from the share of the expected samples
// the baseline has: 0-20% 1 star, 21-40% 2, 41-60% 3, 61-80% 4, 81-100% 5. No baseline, or a
// utilisation imported from another tool: 1 star.
//
// Thread-safety: an InstanceSelector is immutable once built; SizeServer is pure.
#ifndef FERRY_PLAN_SIZING_H_
#define FERRY_PLAN_SIZING_H_

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plan/catalog.h"
#include "plan/estate.h"

namespace ferry::plan {

enum class SizingOption : uint8_t { kConservative, kBalanced, kAggressive };
inline constexpr SizingOption kAllSizingOptions[] = {
    SizingOption::kConservative, SizingOption::kBalanced, SizingOption::kAggressive};
std::string_view SizingOptionName(SizingOption option);

struct SizingOptions {
  // The baseline percentile sizing reads: 50, 95, 99 or 100 (the maximum). Higher sizes for
  // the peaks (safer, dearer); lower for the usual load.
  int percentile = 95;
  // Headroom over what was measured: 1.3 = 30% more. Below 1 sizes under the measured load.
  double comfort = 1.3;
};

// Checks a percentile and a comfort factor, naming the flag and the accepted values.
[[nodiscard]] Status ValidateSizingOptions(const SizingOptions& options);

struct Requirement {
  double vcpus = 0;
  double memory_gib = 0;
  bool allow_burstable = false;
};

// One region of one cloud's catalogue, organised for "the cheapest type with at least V vCPUs
// and M GiB": the types priced in the region, sorted by price, without the ones another type
// at most as dear, with at least as many vCPUs and as much memory, dominates.
class InstanceSelector {
 public:
  // nullopt with a message when the region has no priced type.
  static Result<InstanceSelector> Build(const CloudCatalog& catalog, const std::string& region);

  struct Offer {
    const InstanceType* type;
    const InstancePrice* price;
  };
  // The cheapest fitting offer, or nullopt when nothing in the region is big enough.
  std::optional<Offer> Cheapest(const Requirement& need, std::string_view architecture) const;

  Cloud cloud() const { return cloud_; }
  const std::string& region() const { return region_; }

 private:
  struct Entry {
    double price;
    int vcpus;
    double memory_gib;
    bool aarch64;
    bool burstable;
    Offer offer;
  };
  Cloud cloud_ = Cloud::kAws;
  std::string region_;
  std::vector<Entry> entries_;  // non-dominated, ascending (price, vcpus, memory, name)
};

struct InstanceChoice {
  const InstanceType* type = nullptr;  // null: nothing fits
  const InstancePrice* price = nullptr;
};

struct ServerSizing {
  // "performance-based", "as-on-premises" or "imported utilisation".
  std::string basis;
  std::string basis_reason;
  int confidence_stars = 1;
  std::string confidence_reason;
  std::array<Requirement, 3> need;  // by SizingOption
  // choice[option][cloud], in the order of the selectors given to SizeServer.
  std::array<std::vector<InstanceChoice>, 3> choice;
  double storage_gb = 0;
  double egress_gb_per_month = 0;  // measured transmit, before the egress share
  std::string architecture;        // the server's, as sizing matched it
};

// Confidence stars for a coverage (0..1).
int ConfidenceStars(double coverage);
// "x86_64" for x86_64/amd64/i686...; "aarch64" for aarch64/arm64; otherwise the input.
std::string NormalizeArchitecture(std::string_view machine);

ServerSizing SizeServer(const Server& server, const SizingOptions& options,
                        const std::vector<InstanceSelector>& selectors);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_SIZING_H_
