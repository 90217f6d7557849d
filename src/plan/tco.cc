#include "plan/tco.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/config.h"

namespace ferry::plan {
namespace {

// Reads the double at `key` into `field` when present; negative values are refused.
Status ReadNonNegative(const ConfigNode& node, std::string_view key, double* field) {
  FERRY_ASSIGN_OR_RETURN(std::optional<double> value, node.GetDouble(key));
  if (!value) return OkStatus();
  if (*value < 0) return node.Invalid(key, fmt::format("expected 0 or more, got {}", *value));
  *field = *value;
  return OkStatus();
}

Status ReadPositive(const ConfigNode& node, std::string_view key, double* field) {
  FERRY_ASSIGN_OR_RETURN(std::optional<double> value, node.GetDouble(key));
  if (!value) return OkStatus();
  if (*value <= 0) return node.Invalid(key, fmt::format("expected more than 0, got {}", *value));
  *field = *value;
  return OkStatus();
}

}  // namespace

Result<CostModel> ParseCostModel(std::string_view text, const std::string& source, Env* env) {
  FERRY_ASSIGN_OR_RETURN(ConfigDocument doc, ParseConfig(text, source, env));
  CostModel model;
  ConfigNode root = doc.root();
  FERRY_RETURN_IF_ERROR(root.CheckKnownKeys(
      {"years", "hardware", "power", "facilities", "licences", "operations", "cloud"}));
  FERRY_ASSIGN_OR_RETURN(std::optional<int64_t> years, root.GetInt("years"));
  if (years) {
    if (*years < 1 || *years > 10) {
      return Err(root.Invalid("years", fmt::format("expected 1 to 10, got {}", *years)));
    }
    model.years = static_cast<int>(*years);
  }
  ConfigNode hardware = root.Child("hardware");
  FERRY_RETURN_IF_ERROR(
      hardware.CheckKnownKeys({"usd_per_vcpu", "usd_per_gib_memory", "usd_per_gb_storage",
                               "lifetime_years", "maintenance_rate"}));
  FERRY_RETURN_IF_ERROR(ReadNonNegative(hardware, "usd_per_vcpu", &model.usd_per_vcpu));
  FERRY_RETURN_IF_ERROR(ReadNonNegative(hardware, "usd_per_gib_memory", &model.usd_per_gib_memory));
  FERRY_RETURN_IF_ERROR(ReadNonNegative(hardware, "usd_per_gb_storage", &model.usd_per_gb_storage));
  FERRY_RETURN_IF_ERROR(ReadPositive(hardware, "lifetime_years", &model.lifetime_years));
  FERRY_RETURN_IF_ERROR(ReadNonNegative(hardware, "maintenance_rate", &model.maintenance_rate));
  ConfigNode power = root.Child("power");
  FERRY_RETURN_IF_ERROR(
      power.CheckKnownKeys({"watts_per_vcpu", "watts_per_tb_storage", "pue", "usd_per_kwh"}));
  FERRY_RETURN_IF_ERROR(ReadNonNegative(power, "watts_per_vcpu", &model.watts_per_vcpu));
  FERRY_RETURN_IF_ERROR(
      ReadNonNegative(power, "watts_per_tb_storage", &model.watts_per_tb_storage));
  FERRY_RETURN_IF_ERROR(ReadPositive(power, "pue", &model.pue));
  FERRY_RETURN_IF_ERROR(ReadNonNegative(power, "usd_per_kwh", &model.usd_per_kwh));
  ConfigNode facilities = root.Child("facilities");
  FERRY_RETURN_IF_ERROR(facilities.CheckKnownKeys({"usd_per_vcpu_year"}));
  FERRY_RETURN_IF_ERROR(
      ReadNonNegative(facilities, "usd_per_vcpu_year", &model.facilities_usd_per_vcpu_year));
  ConfigNode licences = root.Child("licences");
  FERRY_RETURN_IF_ERROR(
      licences.CheckKnownKeys({"virtualization_usd_per_vcpu_year", "os_usd_per_server_year"}));
  FERRY_RETURN_IF_ERROR(ReadNonNegative(licences, "virtualization_usd_per_vcpu_year",
                                        &model.virtualization_usd_per_vcpu_year));
  ConfigNode os = licences.Child("os_usd_per_server_year");
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> os_ids, os.Keys());
  for (const std::string& id : os_ids) {
    double price = 0;
    FERRY_RETURN_IF_ERROR(ReadNonNegative(os, id, &price));
    model.os_usd_per_server_year[id] = price;
  }
  ConfigNode operations = root.Child("operations");
  FERRY_RETURN_IF_ERROR(operations.CheckKnownKeys(
      {"admin_hours_per_server_year", "cloud_admin_hours_per_server_year", "usd_per_hour"}));
  FERRY_RETURN_IF_ERROR(ReadNonNegative(operations, "admin_hours_per_server_year",
                                        &model.admin_hours_per_server_year));
  FERRY_RETURN_IF_ERROR(ReadNonNegative(operations, "cloud_admin_hours_per_server_year",
                                        &model.cloud_admin_hours_per_server_year));
  FERRY_RETURN_IF_ERROR(ReadNonNegative(operations, "usd_per_hour", &model.usd_per_hour));
  ConfigNode cloud = root.Child("cloud");
  FERRY_RETURN_IF_ERROR(
      cloud.CheckKnownKeys({"hours_per_month", "egress_share", "managed_service_factor"}));
  FERRY_RETURN_IF_ERROR(ReadPositive(cloud, "hours_per_month", &model.hours_per_month));
  FERRY_RETURN_IF_ERROR(ReadNonNegative(cloud, "egress_share", &model.egress_share));
  if (model.egress_share > 1) {
    return Err(cloud.Invalid(
        "egress_share", fmt::format("expected a share from 0 to 1, got {}", model.egress_share)));
  }
  FERRY_RETURN_IF_ERROR(
      ReadPositive(cloud, "managed_service_factor", &model.managed_service_factor));
  return model;
}

Result<CostModel> LoadCostModel(const std::string& path, Env* env) {
  Result<std::string> text = env->ReadFile(path);
  if (!text.has_value()) {
    return Err(Status(text.error().code(),
                      fmt::format("--costs {}: {}; pass a YAML file of cost coefficients "
                                  "(docs/plan.md, \"TCO\"), or leave --costs out for the defaults",
                                  path, text.error().message())));
  }
  return ParseCostModel(*text, path, env);
}

Json CostModelToJson(const CostModel& m) {
  return {{"years", m.years},
          {"hardware",
           {{"usd_per_vcpu", m.usd_per_vcpu},
            {"usd_per_gib_memory", m.usd_per_gib_memory},
            {"usd_per_gb_storage", m.usd_per_gb_storage},
            {"lifetime_years", m.lifetime_years},
            {"maintenance_rate", m.maintenance_rate}}},
          {"power",
           {{"watts_per_vcpu", m.watts_per_vcpu},
            {"watts_per_tb_storage", m.watts_per_tb_storage},
            {"pue", m.pue},
            {"usd_per_kwh", m.usd_per_kwh}}},
          {"facilities", {{"usd_per_vcpu_year", m.facilities_usd_per_vcpu_year}}},
          {"licences",
           {{"virtualization_usd_per_vcpu_year", m.virtualization_usd_per_vcpu_year},
            {"os_usd_per_server_year", m.os_usd_per_server_year}}},
          {"operations",
           {{"admin_hours_per_server_year", m.admin_hours_per_server_year},
            {"cloud_admin_hours_per_server_year", m.cloud_admin_hours_per_server_year},
            {"usd_per_hour", m.usd_per_hour}}},
          {"cloud",
           {{"hours_per_month", m.hours_per_month},
            {"egress_share", m.egress_share},
            {"managed_service_factor", m.managed_service_factor}}}};
}

OnPremisesCost OnPremisesCostOf(int vcpus, double memory_gib, double storage_gb,
                                const std::string& os_id, const CostModel& m) {
  OnPremisesCost cost;
  const double years = m.years;
  const double purchase = vcpus * m.usd_per_vcpu + memory_gib * m.usd_per_gib_memory +
                          storage_gb * m.usd_per_gb_storage;
  cost.hardware =
      purchase * std::min(1.0, years / m.lifetime_years) + purchase * m.maintenance_rate * years;
  const double watts = vcpus * m.watts_per_vcpu + storage_gb / 1000.0 * m.watts_per_tb_storage;
  cost.power = watts * m.pue * 8760.0 * years / 1000.0 * m.usd_per_kwh;
  cost.facilities = vcpus * m.facilities_usd_per_vcpu_year * years;
  double os = 0;
  if (auto it = m.os_usd_per_server_year.find(os_id); it != m.os_usd_per_server_year.end()) {
    os = it->second;
  }
  cost.licences = (vcpus * m.virtualization_usd_per_vcpu_year + os) * years;
  cost.operations = m.admin_hours_per_server_year * m.usd_per_hour * years;
  return cost;
}

Tco ComputeTco(const std::vector<TcoServer>& servers, const std::vector<TcoCloud>& clouds,
               const CostModel& m) {
  Tco tco;
  tco.years = m.years;
  tco.servers = static_cast<int>(servers.size());
  const double months = 12.0 * m.years;
  const double hours = m.hours_per_month * months;
  std::vector<double> on_premises_of(servers.size());
  for (size_t i = 0; i < servers.size(); ++i) {
    const TcoServer& s = servers[i];
    OnPremisesCost cost =
        OnPremisesCostOf(s.vcpus, s.memory_gib, s.storage_gb_on_premises, s.os_id, m);
    tco.on_premises.hardware += cost.hardware;
    tco.on_premises.power += cost.power;
    tco.on_premises.facilities += cost.facilities;
    tco.on_premises.licences += cost.licences;
    tco.on_premises.operations += cost.operations;
    on_premises_of[i] = cost.total();
  }
  int missing_commitments = 0;
  for (size_t k = 0; k < clouds.size(); ++k) {
    const CloudCatalog& catalog = *clouds[k].catalog;
    const RegionRates rates = catalog.regions.contains(clouds[k].region)
                                  ? catalog.regions.at(clouds[k].region)
                                  : RegionRates{};
    CloudTco c;
    c.cloud = std::string(CloudName(catalog.cloud));
    c.region = clouds[k].region;
    c.snapshot_date = catalog.snapshot_date;
    double egress_gb_per_month = 0;
    for (size_t i = 0; i < servers.size(); ++i) {
      const TcoServer& s = servers[i];
      if (s.fate == TcoFate::kRetired) continue;
      const InstancePrice* price = k < s.balanced.size() ? s.balanced[k] : nullptr;
      if (s.fate == TcoFate::kStays || price == nullptr) {
        c.kept_on_premises += on_premises_of[i];
        if (s.fate != TcoFate::kStays) ++c.servers_unpriced;
        continue;
      }
      ++c.servers_priced;
      const double factor = s.fate == TcoFate::kMovesManaged ? m.managed_service_factor : 1.0;
      const double one_year = price->commit_1y.value_or(price->on_demand);
      const double three_year = price->commit_3y.value_or(one_year);
      if (!price->commit_1y || !price->commit_3y) ++missing_commitments;
      c.compute_on_demand += price->on_demand * hours * factor;
      c.compute_1y += one_year * hours * factor;
      c.compute_3y += three_year * hours * factor;
      c.storage += s.cloud_storage_gb * rates.storage_usd_per_gb_month * months;
      egress_gb_per_month += s.egress_gb_per_month * m.egress_share;
      double os = 0;
      if (auto it = m.os_usd_per_server_year.find(s.os_id); it != m.os_usd_per_server_year.end()) {
        os = it->second;
      }
      c.licences += os * m.years;
      c.operations += m.cloud_admin_hours_per_server_year * m.usd_per_hour * m.years;
    }
    c.egress = std::max(0.0, egress_gb_per_month - rates.egress_free_gb_per_month) *
               rates.egress_usd_per_gb * months;
    const double common = c.storage + c.egress + c.licences + c.operations + c.kept_on_premises;
    c.total_on_demand = c.compute_on_demand + common;
    c.total_1y = c.compute_1y + common;
    c.total_3y = c.compute_3y + common;
    if (c.servers_unpriced > 0) {
      tco.notes.push_back(
          fmt::format("{} {}: {} server(s) fit no instance type of the catalogue: counted at their "
                      "on-premises cost",
                      c.cloud, c.region, c.servers_unpriced));
    }
    tco.clouds.push_back(std::move(c));
  }
  if (missing_commitments > 0) {
    tco.notes.push_back(fmt::format(
        "{} priced instance(s) have no 1-year or 3-year commitment price in the catalogue: "
        "counted at the next price available (1-year, else on demand)",
        missing_commitments));
  }
  return tco;
}

}  // namespace ferry::plan
