// The whole plan of the generated 50-server estate: strategies, risks, sizing, costs and the
// three renderings; and bad input inside an estate that still gives a plan.
#include "plan/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "plan/estate_generator.h"
#include "plan/plan_render.h"

namespace ferry::plan {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

PlanOptions Options() {
  PlanOptions options;
  options.today = "2025-05-01";
  return options;
}

int32_t IndexOf(const Estate& estate, std::string_view name) {
  for (size_t i = 0; i < estate.servers.size(); ++i) {
    if (estate.servers[i].name == name) return static_cast<int32_t>(i);
  }
  ADD_FAILURE() << "no server " << name;
  return 0;
}

std::vector<const Risk*> RisksOf(const Plan& plan, std::string_view category) {
  std::vector<const Risk*> out;
  for (const Risk& risk : plan.risks) {
    if (risk.category == category) out.push_back(&risk);
  }
  return out;
}

class ThreeTierPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    estate_ = ThreeTierEstate();
    Result<Plan> plan = MakePlan(estate_, BuiltinCatalog(), Options());
    ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
    plan_ = std::move(*plan);
  }
  const ServerPlan& Of(std::string_view name) { return plan_.servers[IndexOf(estate_, name)]; }

  Estate estate_;
  Plan plan_;
};

TEST_F(ThreeTierPlanTest, StrategiesFollowTheRules) {
  EXPECT_EQ(Of("prd-db-01").strategy.strategy, Strategy::kReplatform);
  EXPECT_EQ(Of("prd-cache-01").strategy.strategy, Strategy::kReplatform);
  EXPECT_EQ(Of("prd-lb-01").strategy.strategy, Strategy::kReplatform);
  EXPECT_EQ(Of("prd-dns-01").strategy.strategy, Strategy::kRepurchase);
  EXPECT_EQ(Of("prd-ldap-01").strategy.strategy, Strategy::kRepurchase);
  EXPECT_EQ(Of("prd-mon-01").strategy.strategy, Strategy::kRepurchase);
  EXPECT_EQ(Of("prd-web-01").strategy.strategy, Strategy::kRehost);
  EXPECT_EQ(Of("prd-wrk-04").strategy.strategy, Strategy::kEncapsulate);  // CentOS 6
  EXPECT_EQ(Of("tst-old-01").strategy.strategy, Strategy::kRetire);
  for (const ServerPlan& sp : plan_.servers) EXPECT_FALSE(sp.strategy.reasons.empty());
}

TEST_F(ThreeTierPlanTest, CriticalityRanksTheSharedServicesFirst) {
  EXPECT_EQ(Of("prd-dns-01").criticality.rank, 1);
  EXPECT_EQ(Of("prd-dns-01").criticality.level, "high");
  EXPECT_GT(Of("prd-db-01").criticality.pagerank, Of("prd-db-02").criticality.pagerank);
  double sum = 0;
  for (const ServerPlan& sp : plan_.servers) sum += sp.criticality.pagerank;
  EXPECT_NEAR(sum, 1.0, 1e-9);
}

TEST_F(ThreeTierPlanTest, RiskRegisterCoversTheKnownRisks) {
  auto titles = [&](std::string_view category) {
    std::vector<std::string> out;
    for (const Risk* r : RisksOf(plan_, category)) out.push_back(r->title);
    return out;
  };
  EXPECT_THAT(titles("data-loss"), Contains(HasSubstr("prd-db-01: 3 table(s) without")));
  EXPECT_THAT(titles("quantum"), Contains(HasSubstr("prd-web-01")));
  EXPECT_THAT(titles("quantum"), Contains(HasSubstr("RSA 2048")));
  EXPECT_THAT(titles("end-of-life"), Contains(HasSubstr("prd-wrk-04: CentOS 6")));
  EXPECT_THAT(titles("end-of-life"), Contains(HasSubstr("tst-db-02: CentOS 7")));
  EXPECT_THAT(titles("end-of-life"),
              Contains(HasSubstr("Ubuntu 20.04 LTS reaches its end of life on 2025-05-31: 3 "
                                 "servers (prd-cache-01, prd-cache-02, prd-cache-03)")));
  EXPECT_THAT(titles("sizing"),
              Contains(HasSubstr("no performance baseline, sized as on premises: 2 servers "
                                 "(dev-wrk-01, tst-web-02)")));
  EXPECT_THAT(titles("sizing"), Contains(HasSubstr("prd-web-06: a baseline covering 40%")));
  EXPECT_THAT(titles("certificate"), Contains(HasSubstr("prd-web-06: a certificate expires")));
  EXPECT_THAT(titles("dependency"), Contains(HasSubstr("203.0.113.10")));
  EXPECT_THAT(titles("dependency"), Contains(HasSubstr("non-production server(s) depend on")));
  for (const Risk& risk : plan_.risks) {
    EXPECT_GE(risk.probability, 1);
    EXPECT_LE(risk.impact, 5);
    EXPECT_FALSE(risk.mitigation.empty()) << risk.title;
    EXPECT_EQ(risk.id.size(), 5u);
  }
  for (size_t k = 1; k < plan_.risks.size(); ++k) {
    EXPECT_GE(plan_.risks[k - 1].score(), plan_.risks[k].score());
  }
  EXPECT_EQ(RiskLevel(4), "low");
  EXPECT_EQ(RiskLevel(5), "medium");
  EXPECT_EQ(RiskLevel(10), "high");
  EXPECT_EQ(RiskLevel(15), "critical");
}

TEST_F(ThreeTierPlanTest, AServerWithoutBaselineIsSizedAsOnPremises) {
  const ServerPlan& sp = Of("dev-wrk-01");
  EXPECT_EQ(sp.sizing.basis, "as-on-premises");
  EXPECT_EQ(sp.sizing.confidence_stars, 1);
  EXPECT_DOUBLE_EQ(sp.sizing.need[1].vcpus, 2);
  // Every cloud still gets a size for it.
  for (const InstanceChoice& choice : sp.sizing.choice[1]) EXPECT_NE(choice.type, nullptr);
  EXPECT_EQ(Of("prd-db-01").sizing.basis, "performance-based");
  EXPECT_EQ(Of("prd-db-01").sizing.confidence_stars, 5);
  EXPECT_EQ(Of("prd-web-06").sizing.confidence_stars, 2);  // 30% coverage
}

TEST_F(ThreeTierPlanTest, TcoComparesTheCloudsWithOnPremises) {
  ASSERT_EQ(plan_.tco.clouds.size(), 3u);
  EXPECT_GT(plan_.tco.on_premises.total(), 0);
  for (const CloudTco& c : plan_.tco.clouds) {
    EXPECT_GT(c.compute_on_demand, c.compute_1y) << c.cloud;
    EXPECT_GE(c.compute_1y, c.compute_3y) << c.cloud;
    EXPECT_GT(c.kept_on_premises, 0) << c.cloud;  // the encapsulated worker stays
    EXPECT_EQ(c.servers_priced, 48) << c.cloud;   // all but the retired and encapsulated
  }
}

TEST_F(ThreeTierPlanTest, JsonFollowsTheDocumentedShape) {
  const std::string text = RenderPlanJson(estate_, plan_);
  Result<Json> parsed = ParseJson(text, "plan.json");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  const Json& doc = *parsed;
  for (const char* key :
       {"plan_version", "generator", "date", "options", "inputs", "summary", "notes", "waves",
        "servers", "components", "dependencies", "cross_environment", "risks", "tco", "catalog"}) {
    EXPECT_TRUE(doc.contains(key)) << key;
  }
  EXPECT_EQ(doc["plan_version"], kPlanJsonVersion);
  ASSERT_EQ(doc["servers"].size(), 50u);
  const Json& web = doc["servers"][IndexOf(estate_, "prd-web-01")];
  EXPECT_EQ(web["name"], "prd-web-01");
  EXPECT_EQ(web["environment"], "production");
  EXPECT_EQ(web["strategy"]["name"], "rehost");
  EXPECT_TRUE(web["placement"].get<std::string>().starts_with("wave "));
  for (const char* option : {"conservative", "balanced", "aggressive"}) {
    for (const char* cloud : {"aws", "azure", "gcp"}) {
      const Json& type = web["sizing"]["options"][option][cloud];
      ASSERT_TRUE(type.is_string()) << option << cloud;
      // Every type a size names is described once, with its price.
      EXPECT_GT(doc["instance_types"][cloud][type.get<std::string>()]["usd_per_hour"], 0);
    }
    EXPECT_GT(web["sizing"]["balanced_usd_per_month"]["aws"], 0);
  }
  EXPECT_EQ(doc["dependencies"]["list"].size(), plan_.graph.edges().size());
  EXPECT_EQ(doc["tco"]["clouds"].size(), 3u);
  EXPECT_EQ(doc["tco"]["cost_model"]["hardware"]["lifetime_years"], 5);
  EXPECT_EQ(doc["waves"].size(), plan_.waves.waves.size());
  EXPECT_EQ(doc["risks"].size(), plan_.risks.size());
}

TEST_F(ThreeTierPlanTest, MarkdownAndTable) {
  const std::string markdown = RenderPlanMarkdown(estate_, plan_);
  EXPECT_THAT(markdown, HasSubstr("# Migration plan"));
  EXPECT_THAT(markdown, HasSubstr("### Wave 1: non-production"));
  EXPECT_THAT(markdown, HasSubstr("| prd-db-01 | database | replatform |"));
  EXPECT_THAT(markdown, HasSubstr("## Risks"));
  EXPECT_THAT(markdown, HasSubstr("3-year TCO"));
  const std::string table = RenderPlanTable(estate_, plan_, 10);
  EXPECT_THAT(table, HasSubstr("plan of 50 server(s)"));
  EXPECT_THAT(table, HasSubstr("... and 40 more server(s)"));
  EXPECT_THAT(table, HasSubstr("3-YEAR TCO"));
  EXPECT_TRUE(ParsePlanFormat("md").has_value());
  EXPECT_THAT(ParsePlanFormat("yaml").error().message(), HasSubstr("table, json or markdown"));
}

TEST(PlanTest, JsonEscapesWhatNamesContain) {
  Estate estate = ThreeTierEstate();
  const std::vector<std::string> names = {"quote\"d",
                                          "back\\slash",
                                          "tab\there",
                                          "line\nbreak",
                                          "bell\x07",
                                          "caf\xc3\xa9-01",
                                          "plain-long-name-without-escapes"};
  for (size_t k = 0; k < names.size(); ++k) estate.servers[k].name = names[k];
  Result<Plan> plan = MakePlan(estate, BuiltinCatalog(), Options());
  ASSERT_TRUE(plan.has_value());
  Result<Json> doc = ParseJson(RenderPlanJson(estate, *plan), "plan.json");
  ASSERT_TRUE(doc.has_value()) << doc.error().ToString();
  for (size_t k = 0; k < names.size(); ++k) EXPECT_EQ((*doc)["servers"][k]["name"], names[k]);
}

TEST(PlanTest, ACycleThroughTheWholeEstateStillGivesAPlan) {
  Estate estate = ThreeTierEstate();
  const size_t n = estate.servers.size();
  for (size_t i = 0; i < n; ++i) {
    ObservedConnection c;
    c.client = static_cast<int32_t>(i);
    c.remote_address = estate.servers[(i + 1) % n].addresses.front();
    c.port = 7000;
    estate.connections.push_back(c);
  }
  PlanOptions options = Options();
  options.waves.max_wave_size = 10;
  Result<Plan> plan = MakePlan(estate, BuiltinCatalog(), options);
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  ASSERT_EQ(plan->waves.waves.size(), 1u);
  EXPECT_TRUE(plan->waves.waves[0].oversized);
  EXPECT_TRUE(plan->waves.waves[0].mixed);
  std::vector<const Risk*> downtime = RisksOf(*plan, "downtime");
  ASSERT_EQ(downtime.size(), 1u);
  EXPECT_EQ(downtime[0]->servers.size(), n);
  EXPECT_EQ(RiskLevel(downtime[0]->score()), "critical");
  EXPECT_THAT(downtime[0]->title, HasSubstr("50 strongly coupled servers"));
  EXPECT_THAT(downtime[0]->mitigation, HasSubstr("close the cycles"));
  // Everything else is still planned: sizes, strategies, costs.
  EXPECT_EQ(plan->tco.clouds.size(), 3u);
  EXPECT_EQ(plan->servers[0].sizing.choice[1].size(), 3u);
}

TEST(PlanTest, ACycleThroughALargeEstateStaysLinear) {
  Estate estate = LargeEstate({.servers = 20'000, .connections = 100'000, .seed = 3});
  const size_t n = estate.servers.size();
  for (size_t i = 0; i < n; ++i) {
    ObservedConnection c;
    c.client = static_cast<int32_t>(i);
    c.remote_address = estate.servers[(i + 1) % n].addresses.front();
    c.port = 7000;
    estate.connections.push_back(c);
  }
  Result<Plan> plan = MakePlan(estate, BuiltinCatalog(), Options());
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(plan->components.count(), 1);
  ASSERT_EQ(plan->waves.waves.size(), 1u);
  EXPECT_TRUE(plan->waves.waves[0].oversized);
  EXPECT_THAT(plan->waves.reason[0], HasSubstr("and 19994 more"));
  EXPECT_LT(plan->timings.total_ms(), 20'000);
  EXPECT_TRUE(ParseJson(RenderPlanJson(estate, *plan), "ring").has_value());
}

TEST(PlanTest, AnEmptyEstateIsAnErrorThatSaysWhy) {
  Estate estate;
  estate.skipped.push_back({"a.json", "inventory a.json is truncated: ..."});
  Result<Plan> plan = MakePlan(estate, BuiltinCatalog(), Options());
  ASSERT_FALSE(plan.has_value());
  EXPECT_THAT(plan.error().message(), HasSubstr("no server to plan"));
  EXPECT_THAT(plan.error().message(), HasSubstr("a.json is truncated"));
}

TEST(PlanTest, RegionsAndCataloguesAreChecked) {
  const Estate estate = ThreeTierEstate();
  PlanOptions options = Options();
  options.regions[Cloud::kAws] = "eu-west-1";
  Result<Plan> plan = MakePlan(estate, BuiltinCatalog(), options);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->clouds[0].region, "eu-west-1");
  options.regions[Cloud::kAws] = "moon-1";
  EXPECT_THAT(MakePlan(estate, BuiltinCatalog(), options).error().message(), HasSubstr("moon-1"));
  Catalog only_gcp;
  only_gcp.clouds.push_back(*BuiltinCatalog().Find(Cloud::kGcp));
  Result<Plan> gcp = MakePlan(estate, only_gcp, Options());
  ASSERT_TRUE(gcp.has_value());
  EXPECT_EQ(gcp->clouds.size(), 1u);
  EXPECT_THAT(gcp->notes, Contains(HasSubstr("no aws prices")));
}

TEST(PlanTest, LargeEstatePlansInLinearTime) {
  const Estate estate = LargeEstate({.servers = 20'000, .connections = 200'000, .seed = 1});
  Result<Plan> plan = MakePlan(estate, BuiltinCatalog(), Options());
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->servers.size(), 20'000u);
  // Generous: the benchmark measures; this only catches an accidental quadratic step.
  EXPECT_LT(plan->timings.total_ms(), 20'000);
  EXPECT_GT(plan->graph.external_connections(), 0u);
  const std::string json = RenderPlanJson(estate, *plan);
  EXPECT_TRUE(ParseJson(json, "large").has_value());
}

}  // namespace
}  // namespace ferry::plan
