// The price catalogue: instance types of AWS, Azure and GCP with their hourly prices per region
// (on demand, 1-year and 3-year commitments), and per region the price of block storage and of
// internet egress. docs/plan.md ("Price catalogue") documents the file format and where every
// figure of the shipped snapshot comes from.
//
// ferry ships a dated snapshot (data/catalog/*.json, compiled into the binary, so `ferry plan`
// needs no file and no network); `ferry catalog import` turns the providers' own price files
// into a catalogue file (catalog_import.h) that `ferry plan --catalog FILE` lays over the
// snapshot: a cloud in the file replaces that cloud of the snapshot.
//
// Prices are USD per hour for instances (Linux, shared tenancy, no licence), USD per GB-month
// for storage, USD per GB for egress.
//
// Thread-safety: plain values.
#ifndef FERRY_PLAN_CATALOG_H_
#define FERRY_PLAN_CATALOG_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/json.h"
#include "base/status.h"

namespace ferry::plan {

enum class Cloud : uint8_t { kAws, kAzure, kGcp };
inline constexpr Cloud kAllClouds[] = {Cloud::kAws, Cloud::kAzure, Cloud::kGcp};
// "aws", "azure", "gcp".
std::string_view CloudName(Cloud cloud);
// "aws", "azure" or "gcp" (any case); the error lists them.
[[nodiscard]] Result<Cloud> ParseCloud(std::string_view name);

inline constexpr int kCatalogVersion = 1;

struct InstancePrice {
  double on_demand = 0;             // USD per hour, pay as you go
  std::optional<double> commit_1y;  // effective USD per hour of a 1-year commitment, no upfront
  std::optional<double> commit_3y;  // the same for 3 years
};

struct InstanceType {
  std::string name;    // "m6i.large", "Standard_D2s_v5", "n2-standard-2"
  std::string family;  // "m6i", "Dsv5", "n2"
  int vcpus = 0;
  double memory_gib = 0;
  std::string architecture = "x86_64";          // or "aarch64"
  bool burstable = false;                       // CPU credits (t3, B-series, e2 shared-core)
  std::map<std::string, InstancePrice> prices;  // by region
};

struct RegionRates {
  std::string storage_name;  // "gp3", "Standard SSD", "pd-balanced"
  double storage_usd_per_gb_month = 0;
  double egress_usd_per_gb = 0;  // to the internet, first tier
  double egress_free_gb_per_month = 0;
};

struct CloudCatalog {
  Cloud cloud = Cloud::kAws;
  std::string currency = "USD";
  std::string snapshot_date;  // "2024-09-01": when the prices were current
  std::string source;         // where they come from
  std::string default_region;
  std::map<std::string, RegionRates> regions;
  std::vector<InstanceType> instances;
};

struct Catalog {
  std::vector<CloudCatalog> clouds;

  const CloudCatalog* Find(Cloud cloud) const;
  CloudCatalog* Find(Cloud cloud);
};

// Parses a catalogue file (docs/plan.md, "Catalogue file"). Errors name `source`, the JSON path
// of the offending value and what was expected. A catalogue_version newer than this ferry's is
// FailedPrecondition (upgrade ferry).
[[nodiscard]] Result<Catalog> ParseCatalog(std::string_view text, const std::string& source);
[[nodiscard]] Result<Catalog> ReadCatalogFile(const std::string& path, Env* env);
// The catalogue as a JSON document in the same format (instances sorted by family, vCPUs,
// memory and name; regions sorted), so that a written file diffs well.
Json CatalogToJson(const Catalog& catalog);

// The snapshot compiled into ferry (data/catalog/*.json).
const Catalog& BuiltinCatalog();

// Lays `overlay` over `base`: each cloud of the overlay replaces the base's.
void OverlayCatalog(Catalog* base, const Catalog& overlay);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_CATALOG_H_
