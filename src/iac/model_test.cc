// The model of a plan in each cloud: what is provisioned as what, tiers, flows checked against
// the plan's dependencies recomputed here from the plan JSON alone, database sizes, names, and
// the plan reader's errors.
#include "iac/model.h"

#include <random>
#include <set>
#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "iac/test_plan.h"
#include "plan/catalog.h"

namespace ferry::iac {
namespace {

using ::testing::HasSubstr;

IacPlan ThreeTierPlan() {
  Result<IacPlan> plan = ReadPlanJson(ThreeTierPlanJson(), "plan.json");
  EXPECT_TRUE(plan.has_value()) << plan.error().ToString();
  return *plan;
}

TEST(IacModelTest, EveryServerIsProvisionedOnceOrListedWithItsReason) {
  const IacPlan plan = ThreeTierPlan();
  const Json& json = ThreeTierPlanJson();
  for (Cloud cloud : plan::kAllClouds) {
    SCOPED_TRACE(plan::CloudName(cloud));
    IacModel model = BuildModel(plan, cloud);
    std::map<std::string, int> seen;
    for (const Resource& r : model.machines) ++seen[r.name];
    for (const Resource& r : model.databases) ++seen[r.name];
    for (const Unprovisioned& u : model.unprovisioned) {
      ++seen[u.name];
      EXPECT_FALSE(u.reason.empty());
    }
    ASSERT_EQ(seen.size(), json["servers"].size());
    for (const Json& s : json["servers"]) {
      const std::string name = s["name"];
      EXPECT_EQ(seen[name], 1) << name;
      const bool provisioned = std::any_of(model.machines.begin(), model.machines.end(),
                                           [&](const Resource& r) { return r.name == name; }) ||
                               std::any_of(model.databases.begin(), model.databases.end(),
                                           [&](const Resource& r) { return r.name == name; });
      EXPECT_EQ(provisioned, ExpectProvisioned(s, plan::CloudName(cloud))) << name;
    }
    EXPECT_FALSE(model.machines.empty());
    EXPECT_FALSE(model.unprovisioned.empty());  // the estate has retired and repurchased servers
  }
}

TEST(IacModelTest, MachinesTakeThePlansBalancedSizeAndDatabasesTheirManagedService) {
  const IacPlan plan = ThreeTierPlan();
  const Json& json = ThreeTierPlanJson();
  for (Cloud cloud : plan::kAllClouds) {
    SCOPED_TRACE(plan::CloudName(cloud));
    const std::string cloud_name(plan::CloudName(cloud));
    IacModel model = BuildModel(plan, cloud);
    std::map<std::string, const Json*> servers;
    for (const Json& s : json["servers"]) servers[s["name"]] = &s;
    for (const Resource& r : model.machines) {
      const Json& s = *servers.at(r.name);
      EXPECT_EQ(r.instance_type, s["sizing"]["options"]["balanced"][cloud_name]) << r.name;
      const Json& type = json["instance_types"][cloud_name][r.instance_type];
      EXPECT_EQ(r.vcpus, type["vcpus"].get<int>());
      EXPECT_GE(r.storage_gb, s["sizing"]["storage_gb"].get<double>());
      EXPECT_EQ(r.stand_in_for.empty(), s["strategy"]["name"] == "rehost") << r.name;
    }
    // The estate's PostgreSQL servers are replatformed: managed databases.
    size_t postgres = 0;
    for (const Json& s : json["servers"]) {
      postgres += s.value("database_engine", "") == "postgresql" &&
                  s["strategy"]["name"] == "replatform" &&
                  s["sizing"]["options"]["balanced"][cloud_name].is_string();
    }
    ASSERT_GE(postgres, 3u);
    ASSERT_EQ(model.databases.size(), postgres);
    for (const Resource& r : model.databases) {
      EXPECT_EQ(r.engine, "postgresql");
      EXPECT_EQ(r.tier, Tier::kData);
      EXPECT_FALSE(r.database_class.empty());
    }
  }
}

TEST(IacModelTest, FlowsAreExactlyThePortsTheDependenciesUsedBetweenTiers) {
  const IacPlan plan = ThreeTierPlan();
  for (Cloud cloud : plan::kAllClouds) {
    SCOPED_TRACE(plan::CloudName(cloud));
    IacModel model = BuildModel(plan, cloud);
    std::set<FlowKey> got;
    std::set<std::string> keys;
    std::map<std::string, std::set<int>> priorities;
    for (const Flow& f : model.flows) {
      got.insert({f.from, f.to, f.protocol, f.port});
      EXPECT_TRUE(keys.insert(f.key).second) << f.key;
      EXPECT_GT(f.pairs, 0);
      EXPECT_TRUE(priorities[f.to].insert(f.priority).second) << "duplicate priority " << f.key;
      EXPECT_GE(f.priority, 100);
      EXPECT_LT(f.priority, 3000);  // below the public rules and the deny rule
    }
    EXPECT_EQ(got, ExpectedFlows(ThreeTierPlanJson(), plan::CloudName(cloud)));
    EXPECT_FALSE(got.empty());
    // Every dependency is either behind a flow or listed as open, with its reason.
    EXPECT_EQ(model.dependencies_used + static_cast<int64_t>(model.open_dependencies.size()),
              static_cast<int64_t>(plan.dependencies.size()));
    for (const OpenDependency& d : model.open_dependencies) {
      EXPECT_THAT(d.reason, HasSubstr("not provisioned"));
    }
    // Subnets: one per (environment, tier) in use, netnums distinct and from 1.
    std::set<int> netnums;
    for (const Subnet& s : model.subnets) {
      EXPECT_TRUE(netnums.insert(s.netnum).second);
      EXPECT_GE(s.netnum, 1);
      EXPECT_LT(s.netnum, model.next_netnum);
      EXPECT_EQ(s.public_facing, s.tier == Tier::kWeb);
    }
  }
}

TEST(IacModelTest, ANewDependencyOpensItsPortAndOnlyThat) {
  Json json = ThreeTierPlanJson();
  Result<IacPlan> before = ReadPlanJson(json, "plan.json");
  ASSERT_TRUE(before.has_value());
  IacModel model_before = BuildModel(*before, Cloud::kAws);

  // A web server starts talking to a database on a port nobody used.
  std::string web, database;
  for (const Json& s : json["servers"]) {
    if (s["strategy"]["name"] == "rehost" && ExpectedTier(s["roles"]) == "web" &&
        s["environment"] == "production" && web.empty()) {
      web = s["name"];
    }
    if (s["strategy"]["name"] == "replatform" && s.value("database_engine", "") == "postgresql" &&
        s["environment"] == "production" && database.empty()) {
      database = s["name"];
    }
  }
  ASSERT_FALSE(web.empty());
  ASSERT_FALSE(database.empty());
  json["dependencies"]["list"].push_back(
      {{"from", web}, {"to", database}, {"port", 6543}, {"protocol", "tcp"}, {"frequency", 2}});
  Result<IacPlan> after = ReadPlanJson(json, "plan.json");
  ASSERT_TRUE(after.has_value());
  IacModel model_after = BuildModel(*after, Cloud::kAws);
  ASSERT_EQ(model_after.flows.size(), model_before.flows.size() + 1);
  std::set<std::string> keys_before;
  for (const Flow& f : model_before.flows) keys_before.insert(f.key);
  for (const Flow& f : model_after.flows) {
    if (keys_before.contains(f.key)) continue;
    EXPECT_EQ(f.from, "prod-web");
    EXPECT_EQ(f.to, "prod-data");
    EXPECT_EQ(f.port, 6543);
    EXPECT_EQ(f.example, web + " -> " + database);
  }

  // Retiring the database instead: no rule into it any more, its dependencies are listed.
  Json retired = ThreeTierPlanJson();
  for (Json& s : retired["servers"]) {
    if (s["name"] == database) s["strategy"]["name"] = "retain";
  }
  Result<IacPlan> kept = ReadPlanJson(retired, "plan.json");
  ASSERT_TRUE(kept.has_value());
  IacModel model_kept = BuildModel(*kept, Cloud::kAws);
  EXPECT_EQ(model_kept.databases.size(), model_before.databases.size() - 1);
  bool listed = false;
  for (const OpenDependency& d : model_kept.open_dependencies) {
    if (d.to == database || d.from == database) {
      listed = true;
      EXPECT_THAT(d.reason, HasSubstr(database + " is not provisioned in aws: retain"));
    }
  }
  EXPECT_TRUE(listed);
}

TEST(IacModelTest, TiersFollowTheRoleTable) {
  EXPECT_EQ(TierOfRoles({"web", "database"}), Tier::kData);
  EXPECT_EQ(TierOfRoles({"load-balancer"}), Tier::kWeb);
  EXPECT_EQ(TierOfRoles({"dns"}), Tier::kManagement);
  EXPECT_EQ(TierOfRoles({"api"}), Tier::kApp);
  EXPECT_EQ(TierOfRoles({"worker"}), Tier::kApp);
  EXPECT_EQ(TierOfRoles({}), Tier::kApp);
  EXPECT_EQ(TierOfRoles({"monitoring", "cache"}), Tier::kData);
}

TEST(IacModelTest, CloudSafeNamesAreAcceptedEverywhereAndStayApart) {
  EXPECT_EQ(CloudSafeName("prd-web-01", 40), "prd-web-01");
  EXPECT_EQ(CloudSafeName("PRD_Web.01.example.com", 40), "prd-web-01-example-com");
  EXPECT_EQ(CloudSafeName("01-db", 40), "s-01-db");
  EXPECT_EQ(CloudSafeName("---", 40), "s");
  const std::string long_a(60, 'a');
  std::string long_b = long_a;
  long_b.back() = 'b';
  const std::string a = CloudSafeName(long_a, 40), b = CloudSafeName(long_b, 40);
  EXPECT_LE(a.size(), 40u);
  EXPECT_NE(a, b);
  std::mt19937 random(7);
  for (int i = 0; i < 500; ++i) {
    std::string name;
    const int length = static_cast<int>(random() % 70);
    for (int k = 0; k < length; ++k) name.push_back(static_cast<char>(32 + random() % 95));
    const std::string safe = CloudSafeName(name, 40);
    ASSERT_FALSE(safe.empty());
    EXPECT_LE(safe.size(), 40u) << name;
    EXPECT_TRUE(safe[0] >= 'a' && safe[0] <= 'z') << safe;
    EXPECT_NE(safe.back(), '-') << name << " -> " << safe;
    for (char c : safe) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') << safe;
    }
  }
}

TEST(IacModelTest, TheModelNamesTwoServersOfTheSameSafeNameApart) {
  Json json = ThreeTierPlanJson();
  Json twin = json["servers"][0];
  std::string name = twin["name"];
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  twin["name"] = name;  // "PRD-DNS-01": the same cloud-safe name as "prd-dns-01"
  twin["strategy"]["name"] = "rehost";
  json["servers"][0]["strategy"]["name"] = "rehost";
  json["servers"].push_back(twin);
  Result<IacPlan> plan = ReadPlanJson(json, "plan.json");
  ASSERT_TRUE(plan.has_value());
  IacModel model = BuildModel(*plan, Cloud::kGcp);
  std::set<std::string> names;
  for (const Resource& r : model.machines) EXPECT_TRUE(names.insert(r.resource_name).second);
}

TEST(IacModelTest, DatabaseClassesFitTheServer) {
  // AWS: a catalogue type of an RDS family is its db. class; another family, a class of at
  // least the vCPUs and memory.
  EXPECT_EQ(DatabaseClass(Cloud::kAws, "postgresql", "r6i.xlarge", 4, 32), "db.r6i.xlarge");
  EXPECT_EQ(DatabaseClass(Cloud::kAws, "mysql", "m7g.large", 2, 8), "db.m7g.large");
  EXPECT_EQ(DatabaseClass(Cloud::kAws, "sqlserver", "m7g.large", 2, 8), "db.m6i.large");
  EXPECT_EQ(DatabaseClass(Cloud::kAws, "postgresql", "c6i.2xlarge", 8, 16), "db.m6i.2xlarge");
  EXPECT_EQ(DatabaseClass(Cloud::kAws, "postgresql", "x9z.4xlarge", 16, 256), "db.r6i.8xlarge");
  // Azure flexible servers and Azure SQL.
  EXPECT_EQ(DatabaseClass(Cloud::kAzure, "postgresql", "Standard_D4s_v5", 4, 16),
            "GP_Standard_D4ds_v5");
  EXPECT_EQ(DatabaseClass(Cloud::kAzure, "postgresql", "Standard_E8s_v5", 8, 64),
            "MO_Standard_E8ds_v5");
  EXPECT_EQ(DatabaseClass(Cloud::kAzure, "mysql", "Standard_D2s_v5", 2, 8), "GP_Standard_D2ds_v4");
  EXPECT_EQ(DatabaseClass(Cloud::kAzure, "sqlserver", "Standard_D4s_v5", 4, 16), "GP_Gen5_4");
  // GCP custom tiers, over many sizes: 1 or an even number of vCPUs up to 96, memory a
  // multiple of 256 MiB within 0.9-6.5 GiB a vCPU, at least the server's memory.
  std::mt19937 random(11);
  for (int i = 0; i < 2000; ++i) {
    const int vcpus = 1 + static_cast<int>(random() % 80);
    const double memory = 0.5 + static_cast<double>(random() % 4000) / 10.0;
    const std::string tier = DatabaseClass(Cloud::kGcp, "postgresql", "n2-x", vcpus, memory);
    int cpus = 0;
    int64_t mib = 0;
    ASSERT_EQ(std::sscanf(tier.c_str(), "db-custom-%d-%ld", &cpus, &mib), 2) << tier;
    EXPECT_TRUE(cpus == 1 || cpus % 2 == 0) << tier;
    EXPECT_LE(cpus, 96);
    EXPECT_GE(cpus, vcpus);
    EXPECT_EQ(mib % 256, 0) << tier;
    EXPECT_GE(static_cast<double>(mib), 0.9 * cpus * 1024 - 1e-6) << tier;
    EXPECT_LE(static_cast<double>(mib), 6.5 * cpus * 1024 + 256) << tier;
    if (memory <= 6.5 * 96) {
      EXPECT_GE(static_cast<double>(mib), memory * 1024 - 1e-6) << tier;
    }
  }
}

TEST(IacModelTest, PlanReaderErrorsNameThePathAndTheWayOut) {
  Json json = ThreeTierPlanJson();
  json["plan_version"] = kPlanVersionRead + 1;
  Result<IacPlan> newer = ReadPlanJson(json, "p.json");
  ASSERT_FALSE(newer.has_value());
  EXPECT_THAT(newer.error().message(), HasSubstr("p.json: plan_version 2 is newer"));
  EXPECT_THAT(newer.error().message(), HasSubstr("upgrade ferry"));

  json = ThreeTierPlanJson();
  json["servers"][3].erase("sizing");
  Result<IacPlan> missing = ReadPlanJson(json, "p.json");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message(), HasSubstr("p.json: servers[3].sizing: missing"));

  json = ThreeTierPlanJson();
  json["dependencies"]["list"][0]["port"] = "http";
  Result<IacPlan> wrong = ReadPlanJson(json, "p.json");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_THAT(wrong.error().message(),
              HasSubstr("p.json: dependencies.list[0].port: expected an integer"));

  json = ThreeTierPlanJson();
  json["dependencies"]["list"][0]["port"] = 70000;
  Result<IacPlan> port = ReadPlanJson(json, "p.json");
  ASSERT_FALSE(port.has_value());
  EXPECT_THAT(port.error().message(), HasSubstr("70000 is not a port"));

  Result<IacPlan> not_object = ReadPlanJson(Json::array(), "p.json");
  ASSERT_FALSE(not_object.has_value());
  EXPECT_THAT(not_object.error().message(), HasSubstr("expected an object"));
}

TEST(IacModelTest, AServerNoTypeFitsIsListedNotProvisioned) {
  Json json = ThreeTierPlanJson();
  std::string name;
  for (Json& s : json["servers"]) {
    if (s["strategy"]["name"] == "rehost") {
      s["sizing"]["options"]["balanced"]["azure"] = nullptr;
      name = s["name"];
      break;
    }
  }
  Result<IacPlan> plan = ReadPlanJson(json, "plan.json");
  ASSERT_TRUE(plan.has_value());
  IacModel azure = BuildModel(*plan, Cloud::kAzure);
  bool listed = false;
  for (const Unprovisioned& u : azure.unprovisioned) {
    if (u.name == name) {
      listed = true;
      EXPECT_THAT(u.reason, HasSubstr("no instance type of azure fits"));
    }
  }
  EXPECT_TRUE(listed);
  IacModel aws = BuildModel(*plan, Cloud::kAws);
  EXPECT_TRUE(std::any_of(aws.machines.begin(), aws.machines.end(),
                          [&](const Resource& r) { return r.name == name; }));
}

bool SamePlan(const IacPlan& a, const IacPlan& b) {
  auto server = [](const PlannedServer& s) {
    return std::tie(s.name, s.environment, s.roles, s.database_engine, s.architecture, s.os, s.wave,
                    s.strategy, s.target, s.storage_gb, s.balanced);
  };
  auto dependency = [](const PlannedDependency& d) {
    return std::tie(d.from, d.to, d.port, d.protocol, d.service, d.frequency);
  };
  if (a.servers.size() != b.servers.size() || a.dependencies.size() != b.dependencies.size()) {
    return false;
  }
  for (size_t i = 0; i < a.servers.size(); ++i) {
    if (server(a.servers[i]) != server(b.servers[i])) return false;
  }
  for (size_t i = 0; i < a.dependencies.size(); ++i) {
    if (dependency(a.dependencies[i]) != dependency(b.dependencies[i])) return false;
  }
  if (a.instance_types.size() != b.instance_types.size()) return false;
  for (const auto& [cloud, types] : a.instance_types) {
    const auto& other = b.instance_types.at(cloud);
    if (types.size() != other.size()) return false;
    for (const auto& [name, t] : types) {
      const PlannedType& u = other.at(name);
      if (t.vcpus != u.vcpus || t.memory_gib != u.memory_gib || t.architecture != u.architecture) {
        return false;
      }
    }
  }
  return a.plan_version == b.plan_version && a.date == b.date && a.generator == b.generator &&
         a.regions == b.regions && a.waves == b.waves;
}

TEST(IacPlanTextTest, ReadingTheTextAsItStreamsGivesWhatTheDocumentGives) {
  const Json& json = ThreeTierPlanJson();
  Result<IacPlan> whole = ReadPlanJson(json, "plan.json");
  Result<IacPlan> streamed = ReadPlanText(json.dump(1), "plan.json");
  ASSERT_TRUE(whole.has_value()) << whole.error().ToString();
  ASSERT_TRUE(streamed.has_value()) << streamed.error().ToString();
  EXPECT_TRUE(SamePlan(*whole, *streamed));
  EXPECT_EQ(streamed->servers.size(), json["servers"].size());
  EXPECT_EQ(streamed->dependencies.size(), json["dependencies"]["list"].size());
  EXPECT_FALSE(streamed->instance_types.empty());
  // Members in another order (a plan edited by hand and saved by another tool) read the same.
  Json reordered = Json::object();
  for (const char* key : {"dependencies", "servers", "instance_types", "options", "date",
                          "generator", "plan_version"}) {
    reordered[key] = json[key];
  }
  std::string text = "{";
  for (const char* key : {"dependencies", "servers", "instance_types", "options", "date",
                          "generator", "plan_version"}) {
    text += (text.size() > 1 ? "," : "") + Json(key).dump() + ":" + reordered[key].dump();
  }
  text += "}";
  Result<IacPlan> again = ReadPlanText(text, "plan.json");
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_TRUE(SamePlan(*whole, *again));
}

TEST(IacPlanTextTest, ErrorsNameTheLineTheJsonPathAndTheWayOut) {
  const std::string text = ThreeTierPlanJson().dump(1);
  Result<IacPlan> cut = ReadPlanText(text.substr(0, text.size() / 3), "p.json");
  ASSERT_FALSE(cut.has_value());
  EXPECT_THAT(cut.error().message(), ::testing::MatchesRegex("p\\.json:[0-9]+:[0-9]+: .*"));

  Json json = ThreeTierPlanJson();
  json["servers"][7]["strategy"].erase("name");
  Result<IacPlan> missing = ReadPlanText(json.dump(), "p.json");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message(), HasSubstr("p.json: servers[7].strategy.name: missing"));

  json = ThreeTierPlanJson();
  json["dependencies"]["list"][4]["to"] = 12;
  Result<IacPlan> wrong = ReadPlanText(json.dump(), "p.json");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_THAT(wrong.error().message(), HasSubstr("dependencies.list[4].to: expected a string"));

  json = ThreeTierPlanJson();
  json["plan_version"] = 7;
  json["servers"][0].erase("name");  // a newer plan is refused for its version, not its fields
  Result<IacPlan> newer = ReadPlanText(json.dump(), "p.json");
  ASSERT_FALSE(newer.has_value());
  EXPECT_THAT(newer.error().message(), HasSubstr("plan_version 7 is newer"));

  json = ThreeTierPlanJson();
  json.erase("servers");
  Result<IacPlan> no_servers = ReadPlanText(json.dump(), "p.json");
  ASSERT_FALSE(no_servers.has_value());
  EXPECT_THAT(no_servers.error().message(), HasSubstr("p.json: servers: missing"));

  json = ThreeTierPlanJson();
  json["dependencies"].erase("list");
  Result<IacPlan> no_list = ReadPlanText(json.dump(), "p.json");
  ASSERT_FALSE(no_list.has_value());
  EXPECT_THAT(no_list.error().message(), HasSubstr("p.json: dependencies.list: missing"));
}

}  // namespace
}  // namespace ferry::iac
