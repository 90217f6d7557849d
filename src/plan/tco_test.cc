// The cost model: its formulas with figures worked out by hand, and its configuration file.
#include "plan/tco.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::plan {
namespace {

using ::testing::HasSubstr;

TEST(TcoTest, OnPremisesCostByHand) {
  CostModel m;  // the documented defaults
  // 4 vCPUs, 16 GiB, 100 GB on RHEL, over 3 years.
  OnPremisesCost c = OnPremisesCostOf(4, 16, 100, "rhel", m);
  const double purchase = 4 * 300 + 16 * 10 + 100 * 0.5;  // 1,410
  EXPECT_NEAR(c.hardware, purchase * 3 / 5 + purchase * 0.12 * 3, 1e-9);
  const double watts = 4 * 12 + 0.1 * 6;
  EXPECT_NEAR(c.power, watts * 1.6 * 8760 * 3 / 1000 * 0.15, 1e-9);
  EXPECT_NEAR(c.facilities, 4 * 30 * 3, 1e-9);
  EXPECT_NEAR(c.licences, (4 * 60 + 800) * 3, 1e-9);
  EXPECT_NEAR(c.operations, 24 * 75 * 3, 1e-9);
  EXPECT_NEAR(c.total(), c.hardware + c.power + c.facilities + c.licences + c.operations, 1e-9);
  // Debian carries no subscription.
  EXPECT_NEAR(OnPremisesCostOf(4, 16, 100, "debian", m).licences, 4 * 60 * 3, 1e-9);
}

TEST(TcoTest, CloudScenariosByHand) {
  CloudCatalog catalog;
  catalog.cloud = Cloud::kAws;
  catalog.snapshot_date = "2024-09-01";
  catalog.default_region = "r";
  catalog.regions["r"] = {.storage_name = "gp3",
                          .storage_usd_per_gb_month = 0.1,
                          .egress_usd_per_gb = 0.09,
                          .egress_free_gb_per_month = 100};
  const InstancePrice full{.on_demand = 0.10, .commit_1y = 0.06, .commit_3y = 0.04};
  const InstancePrice bare{.on_demand = 0.20};
  CostModel m;
  m.os_usd_per_server_year = {};
  std::vector<TcoServer> servers(4);
  for (TcoServer& s : servers) {
    s.vcpus = 2;
    s.memory_gib = 8;
    s.storage_gb_on_premises = 50;
    s.os_id = "debian";
    s.cloud_storage_gb = 50;
    s.egress_gb_per_month = 1000;
  }
  servers[0].fate = TcoFate::kMoves;
  servers[0].balanced = {&full};
  servers[1].fate = TcoFate::kMovesManaged;
  servers[1].balanced = {&bare};
  servers[2].fate = TcoFate::kStays;
  servers[2].balanced = {&full};
  servers[3].fate = TcoFate::kRetired;
  servers[3].balanced = {&full};
  Tco tco = ComputeTco(servers, {{&catalog, "r"}}, m);
  ASSERT_EQ(tco.clouds.size(), 1u);
  const CloudTco& c = tco.clouds[0];
  const double hours = 730 * 36;
  EXPECT_NEAR(c.compute_on_demand, 0.10 * hours + 0.20 * hours * 1.6, 1e-6);
  EXPECT_NEAR(c.compute_1y, 0.06 * hours + 0.20 * hours * 1.6, 1e-6);  // no 1y price: on demand
  EXPECT_NEAR(c.compute_3y, 0.04 * hours + 0.20 * hours * 1.6, 1e-6);
  EXPECT_NEAR(c.storage, 2 * 50 * 0.1 * 36, 1e-9);
  // 2 x 1000 GB x 20% leaves the cloud, less 100 GB free, every month.
  EXPECT_NEAR(c.egress, (2 * 1000 * 0.2 - 100) * 0.09 * 36, 1e-9);
  const double on_premises_one = OnPremisesCostOf(2, 8, 50, "debian", m).total();
  EXPECT_NEAR(c.kept_on_premises, on_premises_one, 1e-6);  // the retained one
  EXPECT_NEAR(tco.on_premises.total(), 4 * on_premises_one, 1e-6);
  EXPECT_EQ(c.servers_priced, 2);
  EXPECT_NEAR(
      c.total_on_demand,
      c.compute_on_demand + c.storage + c.egress + c.licences + c.operations + c.kept_on_premises,
      1e-6);
  EXPECT_FALSE(tco.notes.empty());  // the bare price has no commitments
}

TEST(TcoTest, UnpricedServersCountAtTheirOnPremisesCost) {
  CloudCatalog catalog;
  catalog.regions["r"] = {};
  TcoServer s{.fate = TcoFate::kMoves,
              .vcpus = 512,
              .memory_gib = 12000,
              .storage_gb_on_premises = 10,
              .balanced = {nullptr}};
  CostModel m;
  Tco tco = ComputeTco({s}, {{&catalog, "r"}}, m);
  EXPECT_EQ(tco.clouds[0].servers_unpriced, 1);
  EXPECT_NEAR(tco.clouds[0].kept_on_premises, tco.on_premises.total(), 1e-6);
  EXPECT_THAT(tco.notes[0], HasSubstr("fit no instance type"));
}

TEST(TcoTest, CostFileOverridesCoefficients) {
  FaultInjectionEnv env(Env::Default());
  Result<CostModel> m = ParseCostModel(R"(
years: 5
hardware:
  usd_per_vcpu: 450
power:
  usd_per_kwh: 0.31
licences:
  os_usd_per_server_year:
    rhel: 1200
    ubuntu: 500
cloud:
  egress_share: 0.05
)",
                                       "costs.yaml", &env);
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  EXPECT_EQ(m->years, 5);
  EXPECT_EQ(m->usd_per_vcpu, 450);
  EXPECT_EQ(m->usd_per_gib_memory, 10);  // not given: the default
  EXPECT_EQ(m->usd_per_kwh, 0.31);
  EXPECT_EQ(m->os_usd_per_server_year.at("rhel"), 1200);
  EXPECT_EQ(m->os_usd_per_server_year.at("ubuntu"), 500);
  EXPECT_EQ(m->os_usd_per_server_year.at("windows"), 1100);
  EXPECT_EQ(m->egress_share, 0.05);
  EXPECT_EQ(CostModelToJson(*m)["hardware"]["usd_per_vcpu"], 450);
}

TEST(TcoTest, CostFileErrorsNameTheLineAndTheKey) {
  FaultInjectionEnv env(Env::Default());
  Result<CostModel> typo = ParseCostModel("power:\n  usd_per_kwhh: 0.2\n", "costs.yaml", &env);
  ASSERT_FALSE(typo.has_value());
  EXPECT_THAT(typo.error().message(), HasSubstr("costs.yaml:2"));
  EXPECT_THAT(typo.error().message(), HasSubstr("usd_per_kwh"));
  Result<CostModel> negative =
      ParseCostModel("hardware:\n  usd_per_vcpu: -3\n", "costs.yaml", &env);
  ASSERT_FALSE(negative.has_value());
  EXPECT_THAT(negative.error().message(), HasSubstr("hardware.usd_per_vcpu"));
  Result<CostModel> share = ParseCostModel("cloud:\n  egress_share: 2\n", "costs.yaml", &env);
  ASSERT_FALSE(share.has_value());
  EXPECT_THAT(share.error().message(), HasSubstr("from 0 to 1"));
  Result<CostModel> missing = LoadCostModel("/nonexistent/costs.yaml", &env);
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message(), HasSubstr("--costs /nonexistent/costs.yaml"));
}

}  // namespace
}  // namespace ferry::plan
