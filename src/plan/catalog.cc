#include "plan/catalog.h"

#include <algorithm>
#include <cctype>

#include "base/log.h"
#include "plan/catalog_snapshot.h"

namespace ferry::plan {
namespace {

// Reads typed members of a JSON object, naming `source` and the member's JSON path in errors.
class Reader {
 public:
  Reader(const std::string& source, std::string path) : source_(source), path_(std::move(path)) {}

  Status Invalid(std::string_view key, std::string_view what) const {
    return InvalidArgument(
        "catalogue {}: `{}{}{}`: {}; fix the file or write it again with "
        "`ferry catalog import`",
        source_, path_, path_.empty() || key.empty() ? "" : ".", key, what);
  }

  Result<const Json*> Member(const Json& object, std::string_view key, bool required) const {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) {
      if (required) return Err(Invalid(key, "missing"));
      return nullptr;
    }
    return &*it;
  }
  Result<std::string> String(const Json& object, std::string_view key, bool required) const {
    FERRY_ASSIGN_OR_RETURN(const Json* value, Member(object, key, required));
    if (value == nullptr) return std::string();
    if (!value->is_string()) {
      return Err(Invalid(key, fmt::format("expected a string, got {}", value->type_name())));
    }
    return value->get<std::string>();
  }
  Result<std::optional<double>> Number(const Json& object, std::string_view key, bool required,
                                       double minimum = 0) const {
    FERRY_ASSIGN_OR_RETURN(const Json* value, Member(object, key, required));
    if (value == nullptr) return std::optional<double>();
    if (!value->is_number()) {
      return Err(Invalid(key, fmt::format("expected a number, got {}", value->type_name())));
    }
    double number = value->get<double>();
    if (!(number >= minimum)) {
      return Err(
          Invalid(key, fmt::format("expected a number of at least {}, got {}", minimum, number)));
    }
    return number;
  }
  Reader Child(std::string_view key) const {
    return Reader(source_, path_.empty() ? std::string(key) : path_ + "." + std::string(key));
  }
  Reader Index(size_t i) const { return Reader(source_, fmt::format("{}[{}]", path_, i)); }

 private:
  const std::string& source_;
  std::string path_;
};

Result<CloudCatalog> ParseCloudCatalog(const Json& doc, const Reader& r) {
  if (!doc.is_object()) return Err(r.Invalid("", "expected an object"));
  CloudCatalog cloud;
  FERRY_ASSIGN_OR_RETURN(std::string name, r.String(doc, "cloud", true));
  auto parsed = ParseCloud(name);
  if (!parsed.has_value()) return Err(r.Invalid("cloud", parsed.error().message()));
  cloud.cloud = *parsed;
  FERRY_ASSIGN_OR_RETURN(cloud.currency, r.String(doc, "currency", false));
  if (cloud.currency.empty()) cloud.currency = "USD";
  if (cloud.currency != "USD") {
    return Err(r.Invalid("currency",
                         fmt::format("only USD catalogues are supported, got {}", cloud.currency)));
  }
  FERRY_ASSIGN_OR_RETURN(cloud.snapshot_date, r.String(doc, "snapshot_date", true));
  FERRY_ASSIGN_OR_RETURN(cloud.source, r.String(doc, "source", false));
  FERRY_ASSIGN_OR_RETURN(cloud.default_region, r.String(doc, "default_region", true));
  FERRY_ASSIGN_OR_RETURN(const Json* regions, r.Member(doc, "regions", true));
  if (!regions->is_object()) return Err(r.Invalid("regions", "expected an object by region"));
  for (const auto& [region, rates_json] : regions->items()) {
    Reader rr = r.Child("regions").Child(region);
    if (!rates_json.is_object()) return Err(rr.Invalid("", "expected an object"));
    RegionRates rates;
    FERRY_ASSIGN_OR_RETURN(const Json* storage, rr.Member(rates_json, "storage", true));
    FERRY_ASSIGN_OR_RETURN(rates.storage_name, rr.Child("storage").String(*storage, "name", true));
    FERRY_ASSIGN_OR_RETURN(auto storage_price,
                           rr.Child("storage").Number(*storage, "usd_per_gb_month", true));
    rates.storage_usd_per_gb_month = *storage_price;
    FERRY_ASSIGN_OR_RETURN(const Json* egress, rr.Member(rates_json, "egress", true));
    FERRY_ASSIGN_OR_RETURN(auto egress_price,
                           rr.Child("egress").Number(*egress, "usd_per_gb", true));
    rates.egress_usd_per_gb = *egress_price;
    FERRY_ASSIGN_OR_RETURN(auto free,
                           rr.Child("egress").Number(*egress, "free_gb_per_month", false));
    rates.egress_free_gb_per_month = free.value_or(0);
    cloud.regions[region] = rates;
  }
  if (!cloud.regions.contains(cloud.default_region)) {
    return Err(r.Invalid("default_region",
                         fmt::format("region `{}` is not among `regions`", cloud.default_region)));
  }
  FERRY_ASSIGN_OR_RETURN(const Json* instances, r.Member(doc, "instances", true));
  if (!instances->is_array()) return Err(r.Invalid("instances", "expected an array"));
  cloud.instances.reserve(instances->size());
  for (size_t i = 0; i < instances->size(); ++i) {
    const Json& item = (*instances)[i];
    Reader ir = r.Child("instances").Index(i);
    if (!item.is_object()) return Err(ir.Invalid("", "expected an object"));
    InstanceType type;
    FERRY_ASSIGN_OR_RETURN(type.name, ir.String(item, "type", true));
    FERRY_ASSIGN_OR_RETURN(type.family, ir.String(item, "family", true));
    FERRY_ASSIGN_OR_RETURN(auto vcpus, ir.Number(item, "vcpus", true, 1));
    type.vcpus = static_cast<int>(*vcpus);
    FERRY_ASSIGN_OR_RETURN(auto memory, ir.Number(item, "memory_gib", true, 0.1));
    type.memory_gib = *memory;
    FERRY_ASSIGN_OR_RETURN(type.architecture, ir.String(item, "architecture", false));
    if (type.architecture.empty()) type.architecture = "x86_64";
    if (auto burst = item.find("burstable"); burst != item.end() && burst->is_boolean()) {
      type.burstable = burst->get<bool>();
    }
    FERRY_ASSIGN_OR_RETURN(const Json* prices, ir.Member(item, "prices", true));
    if (!prices->is_object()) return Err(ir.Invalid("prices", "expected an object by region"));
    for (const auto& [region, price_json] : prices->items()) {
      Reader pr = ir.Child("prices").Child(region);
      if (!price_json.is_object()) return Err(pr.Invalid("", "expected an object"));
      InstancePrice price;
      FERRY_ASSIGN_OR_RETURN(auto on_demand, pr.Number(price_json, "on_demand", true));
      price.on_demand = *on_demand;
      FERRY_ASSIGN_OR_RETURN(price.commit_1y, pr.Number(price_json, "commit_1y", false));
      FERRY_ASSIGN_OR_RETURN(price.commit_3y, pr.Number(price_json, "commit_3y", false));
      type.prices[region] = price;
    }
    cloud.instances.push_back(std::move(type));
  }
  return cloud;
}

Json PriceToJson(const InstancePrice& price) {
  Json out = {{"on_demand", price.on_demand}};
  if (price.commit_1y) out["commit_1y"] = *price.commit_1y;
  if (price.commit_3y) out["commit_3y"] = *price.commit_3y;
  return out;
}

}  // namespace

std::string_view CloudName(Cloud cloud) {
  switch (cloud) {
    case Cloud::kAws: return "aws";
    case Cloud::kAzure: return "azure";
    case Cloud::kGcp: return "gcp";
  }
  return "";
}

Result<Cloud> ParseCloud(std::string_view name) {
  std::string lower;
  for (char c : name)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (Cloud cloud : kAllClouds) {
    if (lower == CloudName(cloud)) return cloud;
  }
  return Err(InvalidArgument("unknown cloud `{}`: use aws, azure or gcp", name));
}

const CloudCatalog* Catalog::Find(Cloud cloud) const {
  for (const CloudCatalog& c : clouds) {
    if (c.cloud == cloud) return &c;
  }
  return nullptr;
}

CloudCatalog* Catalog::Find(Cloud cloud) {
  for (CloudCatalog& c : clouds) {
    if (c.cloud == cloud) return &c;
  }
  return nullptr;
}

Result<Catalog> ParseCatalog(std::string_view text, const std::string& source) {
  auto parsed = ParseJson(text, source);
  if (!parsed.has_value()) {
    return Err(InvalidArgument("catalogue {}: {}; write it again with `ferry catalog import`",
                               source, parsed.error().message()));
  }
  const Json& doc = *parsed;
  Reader r(source, "");
  if (!doc.is_object()) return Err(r.Invalid("", "expected a JSON object"));
  FERRY_ASSIGN_OR_RETURN(auto version, r.Number(doc, "catalog_version", true, 1));
  if (*version > kCatalogVersion) {
    return Err(FailedPrecondition(
        "catalogue {} has catalog_version {}, newer than this ferry reads ({}): upgrade ferry, "
        "or import the price files again with this ferry's `ferry catalog import`",
        source, *version, kCatalogVersion));
  }
  FERRY_ASSIGN_OR_RETURN(const Json* clouds, r.Member(doc, "clouds", true));
  if (!clouds->is_array()) return Err(r.Invalid("clouds", "expected an array"));
  Catalog catalog;
  for (size_t i = 0; i < clouds->size(); ++i) {
    FERRY_ASSIGN_OR_RETURN(CloudCatalog cloud,
                           ParseCloudCatalog((*clouds)[i], r.Child("clouds").Index(i)));
    if (catalog.Find(cloud.cloud) != nullptr) {
      return Err(r.Child("clouds").Index(i).Invalid(
          "cloud", fmt::format("{} appears twice; keep one", CloudName(cloud.cloud))));
    }
    catalog.clouds.push_back(std::move(cloud));
  }
  return catalog;
}

Result<Catalog> ReadCatalogFile(const std::string& path, Env* env) {
  Result<std::string> text = env->ReadFile(path);
  if (!text.has_value()) {
    return Err(Status(text.error().code(),
                      fmt::format("--catalog {}: {}; pass a catalogue written by `ferry catalog "
                                  "import`, or leave --catalog out to use the built-in snapshot",
                                  path, text.error().message())));
  }
  return ParseCatalog(*text, path);
}

Json CatalogToJson(const Catalog& catalog) {
  Json clouds = Json::array();
  for (const CloudCatalog& cloud : catalog.clouds) {
    Json regions = Json::object();
    for (const auto& [name, rates] : cloud.regions) {
      regions[name] = {
          {"storage",
           {{"name", rates.storage_name}, {"usd_per_gb_month", rates.storage_usd_per_gb_month}}},
          {"egress",
           {{"usd_per_gb", rates.egress_usd_per_gb},
            {"free_gb_per_month", rates.egress_free_gb_per_month}}}};
    }
    std::vector<const InstanceType*> sorted;
    for (const InstanceType& type : cloud.instances) sorted.push_back(&type);
    std::sort(sorted.begin(), sorted.end(), [](const InstanceType* a, const InstanceType* b) {
      return std::tie(a->family, a->vcpus, a->memory_gib, a->name) <
             std::tie(b->family, b->vcpus, b->memory_gib, b->name);
    });
    Json instances = Json::array();
    for (const InstanceType* type : sorted) {
      Json prices = Json::object();
      for (const auto& [region, price] : type->prices) prices[region] = PriceToJson(price);
      Json item = {{"type", type->name},
                   {"family", type->family},
                   {"vcpus", type->vcpus},
                   {"memory_gib", type->memory_gib},
                   {"architecture", type->architecture},
                   {"prices", std::move(prices)}};
      if (type->burstable) item["burstable"] = true;
      instances.push_back(std::move(item));
    }
    clouds.push_back({{"cloud", CloudName(cloud.cloud)},
                      {"currency", cloud.currency},
                      {"snapshot_date", cloud.snapshot_date},
                      {"source", cloud.source},
                      {"default_region", cloud.default_region},
                      {"regions", std::move(regions)},
                      {"instances", std::move(instances)}});
  }
  return {{"catalog_version", kCatalogVersion}, {"clouds", std::move(clouds)}};
}

const Catalog& BuiltinCatalog() {
  static const Catalog* const kCatalog = [] {
    auto* catalog = new Catalog();
    for (const catalog_internal::SnapshotFile& file : catalog_internal::SnapshotFiles()) {
      Result<Catalog> parsed = ParseCatalog(file.text, std::string(file.name));
      if (!parsed.has_value()) {
        // The snapshot is checked by plan_test; a broken one is a build defect.
        LogError("the built-in price catalogue is damaged",
                 {{"file", file.name}, {"error", parsed.error().message()}});
        continue;
      }
      OverlayCatalog(catalog, *parsed);
    }
    return catalog;
  }();
  return *kCatalog;
}

void OverlayCatalog(Catalog* base, const Catalog& overlay) {
  for (const CloudCatalog& cloud : overlay.clouds) {
    if (CloudCatalog* existing = base->Find(cloud.cloud)) {
      *existing = cloud;
    } else {
      base->clouds.push_back(cloud);
    }
  }
  std::sort(base->clouds.begin(), base->clouds.end(),
            [](const CloudCatalog& a, const CloudCatalog& b) { return a.cloud < b.cloud; });
}

}  // namespace ferry::plan
