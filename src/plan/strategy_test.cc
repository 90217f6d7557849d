// Strategy rules, operating system end-of-life dates and the environment of a server.
#include "plan/strategy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "plan/os_lifecycle.h"

namespace ferry::plan {
namespace {

using ::testing::HasSubstr;

constexpr char kToday[] = "2025-06-01";

StrategyFacts FactsFor(const Server& server, int dependents = 1) {
  StrategyFacts facts;
  facts.dependents = dependents;
  facts.lifecycle = FindOsLifecycle(server.os_id, server.os_version_id);
  if (facts.lifecycle && !facts.lifecycle->end_date.empty()) {
    facts.days_to_end_of_life = DaysUntil(kToday, facts.lifecycle->end_date);
  }
  return facts;
}

Server Idle(double days, double traffic) {
  Server s;
  s.name = "old-batch";
  s.os_id = "debian";
  s.os_version_id = "12";
  PerformanceBaseline b;
  b.duration_seconds = days * 86400;
  b.coverage = 0.9;
  b.network_rx_bytes_per_second = MetricPercentiles{.p95 = traffic / 2};
  b.network_tx_bytes_per_second = MetricPercentiles{.p95 = traffic / 2};
  s.baseline = b;
  return s;
}

TEST(StrategyTest, RetiresWhatNobodyUsesAfterAMonthOfSilence) {
  Server idle = Idle(35, 300);
  StrategyChoice choice = SuggestStrategy(idle, FactsFor(idle, 0));
  EXPECT_EQ(choice.strategy, Strategy::kRetire);
  EXPECT_THAT(choice.reasons[0], HasSubstr("no traffic for 30 days"));
  // Someone depends on it, or the baseline is too short, or it talks: not retired.
  EXPECT_NE(SuggestStrategy(idle, FactsFor(idle, 1)).strategy, Strategy::kRetire);
  Server short_watch = Idle(10, 300);
  EXPECT_NE(SuggestStrategy(short_watch, FactsFor(short_watch, 0)).strategy, Strategy::kRetire);
  Server busy = Idle(35, 50'000);
  EXPECT_NE(SuggestStrategy(busy, FactsFor(busy, 0)).strategy, Strategy::kRetire);
}

TEST(StrategyTest, DatabasesGoToTheManagedServiceOfTheirEngine) {
  Server db;
  db.os_id = "debian";
  db.os_version_id = "12";
  db.roles = kRoleDatabase;
  db.database_engine = DatabaseEngine::kPostgreSQL;
  StrategyChoice choice = SuggestStrategy(db, FactsFor(db));
  EXPECT_EQ(choice.strategy, Strategy::kReplatform);
  EXPECT_THAT(choice.target, HasSubstr("Cloud SQL for PostgreSQL"));
  db.database_engine = DatabaseEngine::kSqlServer;
  EXPECT_THAT(SuggestStrategy(db, FactsFor(db)).target, HasSubstr("Azure SQL Managed Instance"));
}

TEST(StrategyTest, RulesInOrder) {
  auto strategy_of = [](uint32_t roles, std::string os_id, std::string version,
                        std::string arch = "x86_64", std::vector<std::string> tags = {}) {
    Server s;
    s.roles = roles;
    s.os_id = std::move(os_id);
    s.os_version_id = std::move(version);
    s.architecture = std::move(arch);
    s.tags = std::move(tags);
    return SuggestStrategy(s, FactsFor(s)).strategy;
  };
  EXPECT_EQ(strategy_of(kRoleApi, "aix", "7.2"), Strategy::kEncapsulate);
  EXPECT_EQ(strategy_of(kRoleApi, "rhel", "8", "s390x"), Strategy::kEncapsulate);  // mainframe
  EXPECT_EQ(strategy_of(kRoleMainframe, "zos", "2.5"), Strategy::kEncapsulate);
  EXPECT_EQ(strategy_of(kRoleApi, "centos", "6.10"), Strategy::kEncapsulate);  // EOL 2020
  EXPECT_EQ(strategy_of(kRoleApi, "centos", "7.9"), Strategy::kRehost);        // EOL 2024
  EXPECT_EQ(strategy_of(kRoleApi, "debian", "12", "ppc64le"), Strategy::kRetain);
  EXPECT_EQ(strategy_of(kRoleDatabase, "debian", "12", "x86_64", {"Retain=yes"}),
            Strategy::kRetain);
  EXPECT_EQ(strategy_of(kRoleCache, "debian", "12"), Strategy::kReplatform);
  EXPECT_EQ(strategy_of(kRoleQueue, "debian", "12"), Strategy::kReplatform);
  EXPECT_EQ(strategy_of(kRoleLoadBalancer, "debian", "12"), Strategy::kReplatform);
  EXPECT_EQ(strategy_of(kRoleDns, "debian", "12"), Strategy::kRepurchase);
  EXPECT_EQ(strategy_of(kRoleDirectory, "debian", "12"), Strategy::kRepurchase);
  EXPECT_EQ(strategy_of(kRoleMonitoring, "debian", "12"), Strategy::kRepurchase);
  EXPECT_EQ(strategy_of(kRoleContainerHost | kRoleApi, "debian", "12"), Strategy::kRefactor);
  EXPECT_EQ(strategy_of(kRoleWeb, "debian", "12"), Strategy::kRehost);
  EXPECT_EQ(strategy_of(kRoleWeb, "debian", "12", "aarch64"), Strategy::kRehost);
}

TEST(StrategyTest, RehostOnAnEndOfLifeOsSaysToUpgrade) {
  Server s;
  s.roles = kRoleWeb;
  s.os_id = "ubuntu";
  s.os_version_id = "18.04";
  StrategyChoice choice = SuggestStrategy(s, FactsFor(s));
  EXPECT_EQ(choice.strategy, Strategy::kRehost);
  ASSERT_EQ(choice.reasons.size(), 2u);
  EXPECT_THAT(choice.reasons[1], HasSubstr("Ubuntu 18.04 LTS"));
}

TEST(OsLifecycleTest, FindsTheReleaseByItsVersion) {
  EXPECT_EQ(FindOsLifecycle("rhel", "7.9")->end_date, "2024-06-30");
  EXPECT_EQ(FindOsLifecycle("debian", "12")->end_date, "2028-06-30");
  EXPECT_EQ(FindOsLifecycle("ubuntu", "20.04")->end_date, "2025-05-31");
  EXPECT_EQ(FindOsLifecycle("amzn", "2")->product, "Amazon Linux 2");
  EXPECT_EQ(FindOsLifecycle("amzn", "2023")->product, "Amazon Linux 2023");
  EXPECT_EQ(FindOsLifecycle("Windows", "2012 R2")->end_date, "2023-10-10");
  EXPECT_EQ(FindOsLifecycle("windows2008", "")->end_date, "2020-01-14");
  EXPECT_TRUE(FindOsLifecycle("aix", "7.2")->legacy_platform);
  EXPECT_FALSE(FindOsLifecycle("debian", "13").has_value());
  EXPECT_FALSE(FindOsLifecycle("plan9", "4").has_value());
}

TEST(OsLifecycleTest, DatesAndDays) {
  EXPECT_EQ(DaysUntil("2025-06-01", "2025-06-02"), 1);
  EXPECT_EQ(DaysUntil("2024-03-01", "2024-02-28"), -2);  // a leap year
  EXPECT_EQ(DaysUntil("2025-06-01", "2026-06-01"), 365);
  EXPECT_FALSE(DaysUntil("2025-13-01", "2025-06-01").has_value());
  EXPECT_FALSE(DaysUntil("yesterday", "2025-06-01").has_value());
  EXPECT_EQ(DateOfMicros(0), "1970-01-01");
  EXPECT_EQ(DateOfMicros(int64_t{1'748'736'000} * 1'000'000), "2025-06-01");
}

TEST(EnvironmentTest, TagsThenHostnameWordsThenProduction) {
  std::string reason;
  EXPECT_EQ(EnvironmentFromNames("web-01", {"Environment: Test"}, &reason),
            Environment::kNonProduction);
  EXPECT_THAT(reason, HasSubstr("tag"));
  EXPECT_EQ(EnvironmentFromNames("dev-web-01", {"env=prod"}, &reason), Environment::kProduction);
  EXPECT_EQ(EnvironmentFromNames("web01.dev.example.com", {}, &reason),
            Environment::kNonProduction);
  EXPECT_THAT(reason, HasSubstr("`dev`"));
  EXPECT_EQ(EnvironmentFromNames("preprod-db", {}, &reason), Environment::kNonProduction);
  EXPECT_EQ(EnvironmentFromNames("UAT_API_3", {}, &reason), Environment::kNonProduction);
  EXPECT_EQ(EnvironmentFromNames("d-web-01", {}, &reason), Environment::kNonProduction);
  EXPECT_EQ(EnvironmentFromNames("prd-web-01", {}, &reason), Environment::kProduction);
  EXPECT_EQ(EnvironmentFromNames("web-d", {}, &reason), Environment::kProduction);
  EXPECT_EQ(EnvironmentFromNames("devonshire", {}, &reason), Environment::kProduction);
  EXPECT_EQ(EnvironmentFromNames("billing", {}, &reason), Environment::kProduction);
  EXPECT_THAT(reason, HasSubstr("safe default"));
  EXPECT_EQ(EnvironmentFromNames("x", {"owner=ops;env=qa"}, &reason), Environment::kNonProduction);
}

}  // namespace
}  // namespace ferry::plan
