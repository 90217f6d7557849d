// Total cost of ownership over a horizon (3 years by default): the estate as it runs today,
// on premises, against each cloud with on-demand prices, 1-year and 3-year commitments.
//
// On premises, per server (every coefficient is a field of CostModel, documented in
// docs/plan.md, "TCO", and overridable with `ferry plan --costs FILE`):
//   hardware    (vCPUs x usd_per_vcpu + GiB x usd_per_gib_memory + GB x usd_per_gb_storage)
//               x years / lifetime_years, plus maintenance_rate of the purchase a year
//   power       (vCPUs x watts_per_vcpu + TB x watts_per_tb_storage) x pue x 8,760 h x price
//   facilities  vCPUs x usd_per_vcpu_year (space, cooling, network share) a year
//   licences    vCPUs x virtualization_usd_per_vcpu_year + the OS subscription a year
//   operations  admin_hours_per_server_year x usd_per_hour
// In the cloud, per server that moves (rehost, replatform, refactor, repurchase), with the
// balanced size of the sizing: the instance's price x hours (managed services x
// managed_service_factor), storage_gb x the region's storage price, the transmitted traffic x
// egress_share x the egress price (less the free allowance), the OS subscription (brought
// along), and cloud_admin_hours_per_server_year x usd_per_hour. Retained and encapsulated
// servers keep their on-premises cost in every cloud scenario; retired ones cost nothing.
//
// Thread-safety: pure functions.
#ifndef FERRY_PLAN_TCO_H_
#define FERRY_PLAN_TCO_H_

#include <map>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/json.h"
#include "base/status.h"
#include "plan/catalog.h"

namespace ferry::plan {

struct CostModel {
  int years = 3;  // the horizon

  // Hardware bought for the estate, per unit of capacity the servers use.
  double usd_per_vcpu = 300;        // one vCPU of a virtualisation host, chassis share included
  double usd_per_gib_memory = 10;   // one GiB of server memory
  double usd_per_gb_storage = 0.5;  // one usable GB of enterprise storage (RAID, snapshots)
  double lifetime_years = 5;        // depreciation period of that hardware
  double maintenance_rate = 0.12;   // yearly support contract, share of the purchase price

  // Power: what the capacity draws, with the cooling overhead.
  double watts_per_vcpu = 12;
  double watts_per_tb_storage = 6;
  double pue = 1.6;  // power usage effectiveness of the data centre
  double usd_per_kwh = 0.15;

  // Facilities: floor space, cooling plant, racks, network share.
  double facilities_usd_per_vcpu_year = 30;

  // Licences.
  double virtualization_usd_per_vcpu_year = 60;  // hypervisor and its management
  // OS subscription per server a year, by os-release ID; an ID not listed costs nothing
  // (Debian, Ubuntu without Pro, Rocky, Alma...). Brought to the cloud as well (BYOL).
  std::map<std::string, double> os_usd_per_server_year = {
      {"rhel", 800}, {"sles", 800}, {"windows", 1100}, {"ol", 0}};

  // Operations.
  double admin_hours_per_server_year = 24;        // patching, backups, hardware incidents
  double cloud_admin_hours_per_server_year = 12;  // the same in the cloud
  double usd_per_hour = 75;                       // loaded cost of an administrator's hour

  // Cloud.
  double hours_per_month = 730;
  double egress_share = 0.2;  // share of a server's transmitted traffic that leaves the cloud
  // Managed services (replatform: managed database, cache, broker) cost more than the
  // instance of the same size they replace.
  double managed_service_factor = 1.6;
};

// Reads a YAML (or JSON) file whose keys are CostModel's fields, grouped as in docs/plan.md:
//   years: 3
//   hardware: {usd_per_vcpu: 300, usd_per_gib_memory: 10, usd_per_gb_storage: 0.5,
//              lifetime_years: 5, maintenance_rate: 0.12}
//   power: {watts_per_vcpu: 12, watts_per_tb_storage: 6, pue: 1.6, usd_per_kwh: 0.15}
//   facilities: {usd_per_vcpu_year: 30}
//   licences: {virtualization_usd_per_vcpu_year: 60, os_usd_per_server_year: {rhel: 800}}
//   operations: {admin_hours_per_server_year: 24, cloud_admin_hours_per_server_year: 12,
//                usd_per_hour: 75}
//   cloud: {hours_per_month: 730, egress_share: 0.2, managed_service_factor: 1.6}
// Keys left out keep their defaults. Unknown keys and negative values are errors naming the
// file, line and key.
[[nodiscard]] Result<CostModel> LoadCostModel(const std::string& path, Env* env);
[[nodiscard]] Result<CostModel> ParseCostModel(std::string_view text, const std::string& source,
                                               Env* env);
Json CostModelToJson(const CostModel& model);

struct OnPremisesCost {
  double hardware = 0, power = 0, facilities = 0, licences = 0, operations = 0;
  double total() const { return hardware + power + facilities + licences + operations; }
};

// One server's on-premises cost over the horizon.
OnPremisesCost OnPremisesCostOf(int vcpus, double memory_gib, double storage_gb,
                                const std::string& os_id, const CostModel& model);

struct CloudTco {
  std::string cloud;
  std::string region;
  std::string snapshot_date;
  double compute_on_demand = 0, compute_1y = 0, compute_3y = 0;
  double storage = 0, egress = 0, licences = 0, operations = 0;
  double kept_on_premises = 0;  // retained and encapsulated servers
  double total_on_demand = 0, total_1y = 0, total_3y = 0;
  int servers_priced = 0;
  int servers_unpriced = 0;  // nothing in the catalogue fits: priced as their on-premises cost
};

struct Tco {
  int years = 3;
  OnPremisesCost on_premises;
  int servers = 0;
  std::vector<CloudTco> clouds;
  std::vector<std::string> notes;
};

// What becomes of a server, for its cost.
enum class TcoFate : uint8_t {
  kMoves,         // rehost, refactor, repurchase: priced as its instance
  kMovesManaged,  // replatform onto a managed service: instance x managed_service_factor
  kStays,         // retain, encapsulate: its on-premises cost in every scenario
  kRetired,       // nothing in any cloud scenario
};

struct TcoServer {
  TcoFate fate = TcoFate::kMoves;
  int vcpus = 0;
  double memory_gib = 0;
  double storage_gb_on_premises = 0;
  std::string os_id;
  double cloud_storage_gb = 0;
  double egress_gb_per_month = 0;  // transmitted, before egress_share
  // The balanced size's price in each cloud of ComputeTco's `clouds`, in order; null when
  // nothing fits (the server is then counted at its on-premises cost, and noted).
  std::vector<const InstancePrice*> balanced;
};

struct TcoCloud {
  const CloudCatalog* catalog = nullptr;
  std::string region;
};

Tco ComputeTco(const std::vector<TcoServer>& servers, const std::vector<TcoCloud>& clouds,
               const CostModel& model);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_TCO_H_
