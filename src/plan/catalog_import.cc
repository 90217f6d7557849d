#include "plan/catalog_import.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <deque>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "base/json.h"
#include "base/log.h"

namespace ferry::plan {
namespace {

// ---- Families each importer knows. docs/plan.md ("Price catalogue") lists them.

struct AwsFamily {
  std::string_view name;
  bool arm;
  bool burstable;
};
constexpr AwsFamily kAwsFamilies[] = {
    {"t2", false, true},      {"t3", false, true},   {"t3a", false, true},  {"t4g", true, true},
    {"m5", false, false},     {"m5a", false, false}, {"m6i", false, false}, {"m6a", false, false},
    {"m6g", true, false},     {"m7i", false, false}, {"m7a", false, false}, {"m7g", true, false},
    {"m8g", true, false},     {"c5", false, false},  {"c5a", false, false}, {"c6i", false, false},
    {"c6a", false, false},    {"c6g", true, false},  {"c7i", false, false}, {"c7a", false, false},
    {"c7g", true, false},     {"c8g", true, false},  {"r5", false, false},  {"r5a", false, false},
    {"r6i", false, false},    {"r6a", false, false}, {"r6g", true, false},  {"r7i", false, false},
    {"r7a", false, false},    {"r7g", true, false},  {"r8g", true, false},  {"x2idn", false, false},
    {"x2iedn", false, false}, {"z1d", false, false}, {"i4i", false, false},
};

// Azure's price file names a size ("Standard_E8s_v5") but not its vCPUs and memory: the vCPUs
// are the size's number, the memory the family's GiB per vCPU (with the exceptions below).
struct AzureFamily {
  std::string_view name;  // letters + suffix + version: "Dsv5", "Easv5", "Fsv2"
  double gib_per_vcpu;
  bool arm;
};
constexpr AzureFamily kAzureFamilies[] = {
    {"Dv3", 4, false},    {"Dsv3", 4, false},  {"Dv4", 4, false},    {"Dsv4", 4, false},
    {"Ddv4", 4, false},   {"Ddsv4", 4, false}, {"Dasv4", 4, false},  {"Dv5", 4, false},
    {"Dsv5", 4, false},   {"Ddv5", 4, false},  {"Ddsv5", 4, false},  {"Dasv5", 4, false},
    {"Dadsv5", 4, false}, {"Dlsv5", 2, false}, {"Dldsv5", 2, false}, {"Dpsv5", 4, true},
    {"Dpdsv5", 4, true},  {"Dplsv5", 2, true}, {"Dsv6", 4, false},   {"Ddsv6", 4, false},
    {"Ev3", 8, false},    {"Esv3", 8, false},  {"Ev4", 8, false},    {"Esv4", 8, false},
    {"Edv4", 8, false},   {"Edsv4", 8, false}, {"Easv4", 8, false},  {"Ev5", 8, false},
    {"Esv5", 8, false},   {"Edv5", 8, false},  {"Edsv5", 8, false},  {"Easv5", 8, false},
    {"Eadsv5", 8, false}, {"Epsv5", 8, true},  {"Epdsv5", 8, true},  {"Esv6", 8, false},
    {"Fsv2", 2, false},   {"Fasv6", 2, false},
};
// Sizes whose memory is not vCPUs x the family's ratio.
const std::map<std::string, double, std::less<>>& AzureMemoryExceptions() {
  static const auto* const kExceptions = new std::map<std::string, double, std::less<>>{
      {"E64s_v3", 432},   {"E64_v3", 432},    {"E64s_v4", 504},  {"E64_v4", 504},
      {"E64ds_v4", 504},  {"E96s_v5", 672},   {"E96_v5", 672},   {"E96ds_v5", 672},
      {"E96as_v5", 672},  {"E96ads_v5", 672}, {"E96as_v4", 672}, {"E32ps_v5", 208},
      {"E32pds_v5", 208}, {"F72s_v2", 144},
  };
  return *kExceptions;
}
// The B-series (burstable): memory per size.
const std::map<std::string, std::pair<int, double>, std::less<>>& AzureBSeries() {
  static const auto* const kSizes = new std::map<std::string, std::pair<int, double>, std::less<>>{
      {"B1ls", {1, 0.5}},  {"B1s", {1, 1}},     {"B1ms", {1, 2}},  {"B2s", {2, 4}},
      {"B2ms", {2, 8}},    {"B4ms", {4, 16}},   {"B8ms", {8, 32}}, {"B12ms", {12, 48}},
      {"B16ms", {16, 64}}, {"B20ms", {20, 80}},
  };
  return *kSizes;
}

struct GcpFamily {
  std::string_view name;
  bool arm;
};
constexpr GcpFamily kGcpFamilies[] = {
    {"e2", false}, {"n1", false},  {"n2", false}, {"n2d", false}, {"n4", false},
    {"c2", false}, {"c2d", false}, {"c3", false}, {"c3d", false}, {"t2d", false},
    {"t2a", true}, {"m1", false},  {"m2", false}, {"m3", false},
};

std::optional<double> ParseNumber(std::string_view text) {
  std::string cleaned;
  for (char c : text) {
    if (c != ',' && c != ' ') cleaned.push_back(c);
  }
  double value = 0;
  auto [ptr, ec] = std::from_chars(cleaned.data(), cleaned.data() + cleaned.size(), value);
  if (ec != std::errc() || ptr == cleaned.data()) return std::nullopt;
  return value;
}

std::string StringAt(const Json& object, std::string_view key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Collects instances by name while importing. Pointers stay valid as it grows (a deque).
class InstanceSet {
 public:
  InstanceType* Get(const std::string& name) {
    auto [it, inserted] = index_.try_emplace(name, instances_.size());
    if (inserted) {
      instances_.emplace_back();
      instances_.back().name = name;
    }
    return &instances_[it->second];
  }
  std::vector<InstanceType> Take() {
    std::vector<InstanceType> out(std::make_move_iterator(instances_.begin()),
                                  std::make_move_iterator(instances_.end()));
    instances_.clear();
    index_.clear();
    return out;
  }

 private:
  std::unordered_map<std::string, size_t> index_;
  std::deque<InstanceType> instances_;
};

// One warning per unknown family and file.
class UnknownFamilies {
 public:
  void Add(const std::string& family, const std::string& example) {
    auto [it, inserted] = counts_.try_emplace(family, Seen{0, example});
    ++it->second.count;
    (void)inserted;
  }
  void Report(const std::string& source, std::string_view cloud, ImportedPrices* out) const {
    for (const auto& [family, seen] : counts_) {
      std::string warning = fmt::format(
          "{}: instance family `{}` is unknown to ferry's {} importer ({} item(s), e.g. `{}`): "
          "skipped, the rest imported; add the family to src/plan/catalog_import.cc if plans "
          "should consider it",
          source, family, cloud, seen.count, seen.example);
      LogWarn(warning);
      out->warnings.push_back(std::move(warning));
    }
  }

 private:
  struct Seen {
    int64_t count;
    std::string example;
  };
  std::map<std::string, Seen> counts_;
};

bool Wanted(const std::set<std::string>& filter, const std::string& value) {
  return filter.empty() || filter.contains(value);
}

Status NotJson(const std::string& source, std::string_view text, std::string_view format,
               std::string_view how) {
  Result<Json> parsed = ParseJson(text, source);
  std::string what = parsed.has_value() ? "the parser gave up" : parsed.error().message();
  if (text.find_last_not_of(" \t\r\n") != std::string_view::npos &&
      text[text.find_last_not_of(" \t\r\n")] != '}' &&
      text[text.find_last_not_of(" \t\r\n")] != ']') {
    what += " (the file seems cut short: download it again)";
  }
  return InvalidArgument("{} is not a {}: {}; {}", source, format, what, how);
}

}  // namespace

// ---- AWS

Result<ImportedPrices> ImportAwsOffer(std::string_view text, const std::string& source,
                                      const ImportOptions& options) {
  ImportedPrices out;
  out.cloud = Cloud::kAws;
  out.source = source;
  std::unordered_map<std::string_view, const AwsFamily*> families;
  for (const AwsFamily& f : kAwsFamilies) families[f.name] = &f;

  UnknownFamilies unknown;
  std::unordered_set<std::string> kept_skus;
  std::vector<std::string> keys;  // the key at each depth
  int64_t skipped = 0;
  // Keep only what is needed; a region's offer file holds hundreds of thousands of products.
  auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) -> bool {
    if (event == Json::parse_event_t::key) {
      keys.resize(static_cast<size_t>(depth) + 1);
      keys[depth] = parsed.get<std::string>();
      return true;
    }
    if (event != Json::parse_event_t::object_end) return true;
    if (depth == 2 && keys.size() > 1 && keys[1] == "products") {
      const Json* attributes = parsed.contains("attributes") ? &parsed["attributes"] : nullptr;
      if (attributes == nullptr || !attributes->is_object()) {
        ++skipped;
        return false;
      }
      auto attr = [&](std::string_view key) { return StringAt(*attributes, key); };
      const std::string type = attr("instanceType");
      const std::string product_family = StringAt(parsed, "productFamily");
      const std::string license = attr("licenseModel");
      const std::string capacity = attr("capacitystatus");
      if (product_family != "Compute Instance" || type.empty() ||
          attr("operatingSystem") != "Linux" || attr("tenancy") != "Shared" ||
          attr("preInstalledSw") != "NA" || (!capacity.empty() && capacity != "Used") ||
          (!license.empty() && license != "No License required") ||
          !Wanted(options.regions, attr("regionCode"))) {
        ++skipped;
        return false;
      }
      const std::string family = type.substr(0, type.find('.'));
      if (!Wanted(options.families, family)) {
        ++skipped;
        return false;
      }
      if (!families.contains(family)) {
        unknown.Add(family, type);
        ++skipped;
        return false;
      }
      kept_skus.insert(keys[2]);
      return true;
    }
    if (depth == 3 && keys.size() > 2 && keys[1] == "terms") {
      return kept_skus.contains(keys[3]);
    }
    return true;
  };
  Json doc = Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Err(NotJson(source, text, "JSON AWS bulk offer file",
                       "download the EC2 offer file again (.../offers/v1.0/aws/AmazonEC2/current/"
                       "<region>/index.json)"));
  }
  if (StringAt(doc, "offerCode") != "AmazonEC2" || !doc.contains("products")) {
    return Err(InvalidArgument(
        "{} is not an AWS EC2 bulk offer file (offerCode `{}`, expected AmazonEC2 with "
        "`products` and `terms`): pass --from aws only with the EC2 offer index.json",
        source, StringAt(doc, "offerCode")));
  }
  out.snapshot_date = StringAt(doc, "publicationDate").substr(0, 10);

  InstanceSet instances;
  std::unordered_map<std::string, std::pair<InstanceType*, std::string>> by_sku;  // -> region
  for (const auto& [sku, product] : doc["products"].items()) {
    const Json& a = product["attributes"];
    const std::string type = StringAt(a, "instanceType");
    const std::string family = type.substr(0, type.find('.'));
    auto vcpus = ParseNumber(StringAt(a, "vcpu"));
    std::string memory_text = StringAt(a, "memory");
    if (size_t unit = memory_text.find("GiB"); unit != std::string::npos) {
      memory_text.resize(unit);
    }
    auto memory = ParseNumber(memory_text);
    if (!vcpus || !memory || *vcpus < 1 || *memory <= 0) {
      out.warnings.push_back(
          fmt::format("{}: product {} ({}) has no readable vcpu/memory (`{}`, `{}`): skipped",
                      source, sku, type, StringAt(a, "vcpu"), StringAt(a, "memory")));
      continue;
    }
    InstanceType* instance = instances.Get(type);
    instance->family = family;
    instance->vcpus = static_cast<int>(*vcpus);
    instance->memory_gib = *memory;
    instance->architecture = families[family]->arm ? "aarch64" : "x86_64";
    instance->burstable = families[family]->burstable;
    by_sku[sku] = {instance, StringAt(a, "regionCode")};
  }

  auto hourly = [](const Json& term) -> std::optional<double> {
    auto dimensions = term.find("priceDimensions");
    if (dimensions == term.end() || !dimensions->is_object()) return std::nullopt;
    for (const auto& [id, dimension] : dimensions->items()) {
      if (StringAt(dimension, "unit") != "Hrs") continue;
      auto price = dimension.find("pricePerUnit");
      if (price == dimension.end()) continue;
      return ParseNumber(StringAt(*price, "USD"));
    }
    return std::nullopt;
  };
  const Json& terms = doc.contains("terms") ? doc["terms"] : Json::object();
  if (terms.contains("OnDemand")) {
    for (const auto& [sku, offers] : terms["OnDemand"].items()) {
      auto it = by_sku.find(sku);
      if (it == by_sku.end()) continue;
      for (const auto& [code, term] : offers.items()) {
        if (auto price = hourly(term); price && *price > 0) {
          it->second.first->prices[it->second.second].on_demand = *price;
          ++out.prices;
        }
      }
    }
  }
  if (terms.contains("Reserved")) {
    for (const auto& [sku, offers] : terms["Reserved"].items()) {
      auto it = by_sku.find(sku);
      if (it == by_sku.end()) continue;
      for (const auto& [code, term] : offers.items()) {
        const Json& attributes =
            term.contains("termAttributes") ? term["termAttributes"] : Json::object();
        if (StringAt(attributes, "OfferingClass") != "standard" ||
            StringAt(attributes, "PurchaseOption") != "No Upfront") {
          continue;
        }
        const std::string length = StringAt(attributes, "LeaseContractLength");
        auto price = hourly(term);
        if (!price || *price <= 0) continue;
        InstancePrice& p = it->second.first->prices[it->second.second];
        if (length == "1yr") p.commit_1y = *price;
        if (length == "3yr") p.commit_3y = *price;
      }
    }
  }
  out.instances = instances.Take();
  // A reserved price without an on-demand one cannot size anything: drop it.
  for (InstanceType& instance : out.instances) {
    std::erase_if(instance.prices, [](const auto& entry) { return entry.second.on_demand <= 0; });
  }
  std::erase_if(out.instances, [](const InstanceType& t) { return t.prices.empty(); });
  out.skipped_items = skipped;
  unknown.Report(source, "aws", &out);
  return out;
}

// ---- Azure

namespace {

struct AzureSize {
  std::string family;
  int vcpus = 0;
  double memory_gib = 0;
  bool arm = false;
  bool burstable = false;
};

// "Standard_D2s_v5" -> Dsv5, 2 vCPUs, 8 GiB. nullopt with `family` set when the family is
// unknown; nullopt with an empty family for a constrained-vCPU size of a known family
// ("E16-8s_v5", skipped: it costs what its full size costs).
std::optional<AzureSize> ParseAzureSize(std::string_view arm_sku, std::string* family_out) {
  family_out->clear();
  std::string_view name = arm_sku;
  if (name.starts_with("Standard_")) name.remove_prefix(9);
  std::string_view base = name, version;
  if (size_t underscore = name.find('_'); underscore != std::string_view::npos) {
    base = name.substr(0, underscore);
    version = name.substr(underscore + 1);
  }
  size_t i = 0;
  while (i < base.size() && std::isalpha(static_cast<unsigned char>(base[i]))) ++i;
  const std::string_view letters = base.substr(0, i);
  const size_t digits_start = i;
  while (i < base.size() && std::isdigit(static_cast<unsigned char>(base[i]))) ++i;
  if (letters.empty() || i == digits_start) {
    *family_out = std::string(name);  // not a size name ferry knows how to read
    return std::nullopt;
  }
  int vcpus = 0;
  std::from_chars(base.data() + digits_start, base.data() + i, vcpus);
  const bool constrained = i < base.size() && base[i] == '-';  // "E16-8s_v5"
  size_t suffix_start = i;
  if (constrained) {
    ++suffix_start;
    while (suffix_start < base.size() &&
           std::isdigit(static_cast<unsigned char>(base[suffix_start]))) {
      ++suffix_start;
    }
  }
  const std::string_view suffix = base.substr(suffix_start);
  std::string version_key(version);
  std::erase(version_key, '_');
  const std::string family = std::string(letters) + std::string(suffix) + version_key;
  if (letters == "B" && version.empty()) {
    auto it = AzureBSeries().find(base);
    if (it == AzureBSeries().end()) {
      *family_out = family;
      return std::nullopt;
    }
    return AzureSize{"B", it->second.first, it->second.second, false, true};
  }
  for (const AzureFamily& known : kAzureFamilies) {
    if (known.name != family) continue;
    // A constrained-vCPU size costs what its full size costs: the full size is the one to buy.
    if (constrained) return std::nullopt;
    double memory = vcpus * known.gib_per_vcpu;
    if (auto e = AzureMemoryExceptions().find(name); e != AzureMemoryExceptions().end()) {
      memory = e->second;
    }
    return AzureSize{family, vcpus, memory, known.arm, false};
  }
  *family_out = family;
  return std::nullopt;
}

}  // namespace

Result<ImportedPrices> ImportAzureRetail(std::string_view text, const std::string& source,
                                         const ImportOptions& options) {
  Result<Json> parsed = ParseJson(text, source);
  if (!parsed.has_value()) {
    return Err(NotJson(source, text, "JSON page of the Azure Retail Prices API",
                       "save the API's response again (https://prices.azure.com/api/retail/"
                       "prices?$filter=serviceName eq 'Virtual Machines')"));
  }
  std::vector<const Json*> pages;
  if (parsed->is_array()) {
    for (const Json& page : *parsed) pages.push_back(&page);
  } else {
    pages.push_back(&*parsed);
  }
  ImportedPrices out;
  out.cloud = Cloud::kAzure;
  out.source = source;
  UnknownFamilies unknown;
  InstanceSet instances;
  for (const Json* page : pages) {
    if (!page->is_object() || !page->contains("Items") || !(*page)["Items"].is_array()) {
      return Err(InvalidArgument(
          "{} is not a page of the Azure Retail Prices API: it has no `Items` array; save the "
          "JSON that https://prices.azure.com/api/retail/prices returns, one page per file or an "
          "array of pages",
          source));
    }
    for (const Json& item : (*page)["Items"]) {
      const std::string service = StringAt(item, "serviceName");
      const std::string type = StringAt(item, "type");
      const std::string sku_name = StringAt(item, "skuName");
      const std::string product = StringAt(item, "productName");
      const std::string region = StringAt(item, "armRegionName");
      const std::string arm_sku = StringAt(item, "armSkuName");
      if (service != "Virtual Machines" || arm_sku.empty() ||
          StringAt(item, "currencyCode") != "USD" || product.find("Windows") != std::string::npos ||
          sku_name.find("Spot") != std::string::npos ||
          sku_name.find("Low Priority") != std::string::npos ||
          (type != "Consumption" && type != "Reservation") || !Wanted(options.regions, region)) {
        ++out.skipped_items;
        continue;
      }
      std::string family;
      std::optional<AzureSize> size = ParseAzureSize(arm_sku, &family);
      if (!size) {
        if (!family.empty() && Wanted(options.families, family)) unknown.Add(family, arm_sku);
        ++out.skipped_items;
        continue;
      }
      if (!Wanted(options.families, size->family)) {
        ++out.skipped_items;
        continue;
      }
      auto price_it = item.find("retailPrice");
      if (price_it == item.end() || !price_it->is_number()) {
        ++out.skipped_items;
        continue;
      }
      const double price = price_it->get<double>();
      InstanceType* instance = instances.Get(arm_sku);
      instance->family = size->family;
      instance->vcpus = size->vcpus;
      instance->memory_gib = size->memory_gib;
      instance->architecture = size->arm ? "aarch64" : "x86_64";
      instance->burstable = size->burstable;
      InstancePrice& p = instance->prices[region];
      if (type == "Consumption") {
        if (StringAt(item, "unitOfMeasure") != "1 Hour" || price <= 0) {
          ++out.skipped_items;
          continue;
        }
        p.on_demand = price;
        ++out.prices;
      } else {
        // A reservation's retail price is for the whole term.
        const std::string term = StringAt(item, "reservationTerm");
        if (term == "1 Year") p.commit_1y = price / 8760.0;
        if (term == "3 Years") p.commit_3y = price / (3 * 8760.0);
      }
    }
  }
  out.instances = instances.Take();
  for (InstanceType& instance : out.instances) {
    std::erase_if(instance.prices, [](const auto& entry) { return entry.second.on_demand <= 0; });
  }
  std::erase_if(out.instances, [](const InstanceType& t) { return t.prices.empty(); });
  unknown.Report(source, "azure", &out);
  return out;
}

// ---- GCP

Result<ImportedPrices> ImportGcpMachineTypes(std::string_view text, const std::string& source,
                                             const ImportOptions& options) {
  Result<Json> parsed = ParseJson(text, source);
  if (!parsed.has_value()) {
    return Err(NotJson(source, text, "JSON GCP machine-type price file",
                       "copy the file again (the format of ../shared/data/pricing/"
                       "gcp_instances_2024-09.json)"));
  }
  if (!parsed->is_object()) {
    return Err(
        InvalidArgument("{} is not a GCP machine-type price file: expected an object of families "
                        "(\"n2\": {{\"n2-standard-2\": {{\"regions\": ..., \"specs\": ...}}}})",
                        source));
  }
  ImportedPrices out;
  out.cloud = Cloud::kGcp;
  out.source = source;
  UnknownFamilies unknown;
  InstanceSet instances;
  for (const auto& [family, types] : parsed->items()) {
    if (family == "license") continue;  // OS licence prices: not instance types
    if (!types.is_object()) {
      ++out.skipped_items;
      continue;
    }
    const GcpFamily* known = nullptr;
    for (const GcpFamily& f : kGcpFamilies) {
      if (f.name == family) known = &f;
    }
    if (known == nullptr) {
      if (Wanted(options.families, family)) {
        for (const auto& [type, spec] : types.items()) unknown.Add(family, type);
      }
      out.skipped_items += static_cast<int64_t>(types.size());
      continue;
    }
    if (!Wanted(options.families, family)) {
      out.skipped_items += static_cast<int64_t>(types.size());
      continue;
    }
    for (const auto& [type, entry] : types.items()) {
      const Json& specs = entry.contains("specs") ? entry["specs"] : Json::object();
      const Json& regions = entry.contains("regions") ? entry["regions"] : Json::object();
      const bool shared_core = type == "e2-micro" || type == "e2-small" || type == "e2-medium" ||
                               (specs.contains("cores") && specs["cores"].is_string());
      int vcpus = 0;
      if (specs.contains("cores") && specs["cores"].is_number()) {
        vcpus = specs["cores"].get<int>();
      } else if (shared_core) {
        vcpus = 2;  // shared-core types burst on two vCPUs
      }
      const double memory = specs.contains("memory") && specs["memory"].is_number()
                                ? specs["memory"].get<double>()
                                : 0;
      if (vcpus < 1 || memory <= 0) {
        out.warnings.push_back(
            fmt::format("{}: {} has no readable cores/memory in `specs`: skipped", source, type));
        ++out.skipped_items;
        continue;
      }
      InstanceType* instance = nullptr;
      for (const auto& [region, prices] : regions.items()) {
        if (!Wanted(options.regions, region) || !prices.is_object()) continue;
        auto on_demand = prices.find("ondemand");
        if (on_demand == prices.end() || !on_demand->is_number() || on_demand->get<double>() <= 0) {
          continue;
        }
        if (instance == nullptr) {
          instance = instances.Get(type);
          instance->family = family;
          instance->vcpus = vcpus;
          instance->memory_gib = memory;
          instance->architecture = known->arm ? "aarch64" : "x86_64";
          instance->burstable = shared_core;
        }
        InstancePrice& p = instance->prices[region];
        p.on_demand = on_demand->get<double>();
        if (auto c = prices.find("cud-1y"); c != prices.end() && c->is_number()) {
          p.commit_1y = c->get<double>();
        }
        if (auto c = prices.find("cud-3y"); c != prices.end() && c->is_number()) {
          p.commit_3y = c->get<double>();
        }
        ++out.prices;
      }
    }
  }
  out.instances = instances.Take();
  unknown.Report(source, "gcp", &out);
  return out;
}

Result<ImportedPrices> ImportPriceFiles(Cloud cloud, const std::vector<std::string>& paths,
                                        const ImportOptions& options, Env* env) {
  if (paths.empty()) {
    return Err(InvalidArgument("no price file given: name one or more files after --from {}",
                               CloudName(cloud)));
  }
  ImportedPrices all;
  all.cloud = cloud;
  InstanceSet merged;
  for (const std::string& path : paths) {
    Result<std::string> text = env->ReadFile(path);
    if (!text.has_value()) {
      return Err(Status(text.error().code(),
                        fmt::format("price file {}: {}; pass the path of a file downloaded from "
                                    "the provider",
                                    path, text.error().message())));
    }
    Result<ImportedPrices> one;
    switch (cloud) {
      case Cloud::kAws: one = ImportAwsOffer(*text, path, options); break;
      case Cloud::kAzure: one = ImportAzureRetail(*text, path, options); break;
      case Cloud::kGcp: one = ImportGcpMachineTypes(*text, path, options); break;
    }
    if (!one.has_value()) return Err(one.error());
    all.source += (all.source.empty() ? "" : ", ") + path;
    all.snapshot_date = std::max(all.snapshot_date, one->snapshot_date);
    all.prices += one->prices;
    all.skipped_items += one->skipped_items;
    for (std::string& w : one->warnings) all.warnings.push_back(std::move(w));
    for (InstanceType& instance : one->instances) {
      InstanceType* into = merged.Get(instance.name);
      const bool fresh = into->prices.empty();
      if (fresh) {
        into->family = instance.family;
        into->vcpus = instance.vcpus;
        into->memory_gib = instance.memory_gib;
        into->architecture = instance.architecture;
        into->burstable = instance.burstable;
      }
      for (auto& [region, price] : instance.prices) {
        InstancePrice& p = into->prices[region];
        p.on_demand = price.on_demand;
        if (price.commit_1y) p.commit_1y = price.commit_1y;
        if (price.commit_3y) p.commit_3y = price.commit_3y;
      }
    }
  }
  all.instances = merged.Take();
  return all;
}

void MergeImportedPrices(const ImportedPrices& imported, const CloudCatalog& fallback,
                         const std::string& today, Catalog* catalog,
                         std::vector<std::string>* warnings) {
  CloudCatalog* target = catalog->Find(imported.cloud);
  if (target == nullptr) {
    catalog->clouds.push_back(fallback);
    target = &catalog->clouds.back();
  }
  const std::string date = imported.snapshot_date.empty() ? today : imported.snapshot_date;
  target->source = fmt::format("{} prices imported from {} (prices of {}) over: {}",
                               imported.prices, imported.source, date, target->source);
  target->snapshot_date = std::max(target->snapshot_date, date);
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < target->instances.size(); ++i) index[target->instances[i].name] = i;
  std::set<std::string> new_regions;
  for (const InstanceType& instance : imported.instances) {
    auto it = index.find(instance.name);
    if (it == index.end()) {
      index[instance.name] = target->instances.size();
      target->instances.push_back(instance);
    } else {
      InstanceType& into = target->instances[it->second];
      into.vcpus = instance.vcpus;
      into.memory_gib = instance.memory_gib;
      into.family = instance.family;
      into.architecture = instance.architecture;
      into.burstable = instance.burstable;
      for (const auto& [region, price] : instance.prices) into.prices[region] = price;
    }
    for (const auto& [region, price] : instance.prices) {
      if (!target->regions.contains(region)) new_regions.insert(region);
    }
  }
  const RegionRates defaults = target->regions.contains(target->default_region)
                                   ? target->regions.at(target->default_region)
                                   : RegionRates{};
  for (const std::string& region : new_regions) {
    target->regions[region] = defaults;
    warnings->push_back(fmt::format(
        "region {} of {} has no storage and egress rates in the catalogue: it uses those of {} "
        "({} {}/GB-month, egress {}/GB); set `regions.{}` in the catalogue file to its own",
        region, CloudName(imported.cloud), target->default_region, defaults.storage_name,
        defaults.storage_usd_per_gb_month, defaults.egress_usd_per_gb, region));
  }
}

}  // namespace ferry::plan
