// `ferry plan`, `ferry catalog` and `ferry iac` through the command line, in-process: formats,
// bad input and exit codes; inventories saved in the state store and planned from it.
#include <stdlib.h>

#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "base/log.h"
#include "cli/cli.h"
#include "plan/estate_file.h"
#include "plan/estate_generator.h"
#include "store/store.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

class PlanCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ferry-plan-cli-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    for (const char* name :
         {"FERRY_STORE", "FERRY_CONFIG", "FERRY_LOG_LEVEL", "FERRY_LOG_FORMAT"}) {
      env_.SetEnvVar(name, std::nullopt);
    }
    inventories_ = dir_ + "/inventories";
    ASSERT_TRUE(plan::WriteInventories(plan::ThreeTierEstate(), inventories_, &env_).ok());
  }
  void TearDown() override {
    SetLogSink(nullptr);
    ConfigureLogging({});
    ASSERT_TRUE(Env::Default()->RemoveAll(dir_).ok());
  }

  Outcome Run(std::vector<std::string> args) {
    std::vector<const char*> argv = {"ferry", "--log-level", "error"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    std::ostringstream out, err;
    int code = RunFerry(static_cast<int>(argv.size()), argv.data(), out, err, &env_);
    return {code, out.str(), err.str()};
  }

  std::string Testdata(const std::string& name) {
    return std::string(FERRY_SOURCE_DIR) + "/src/plan/testdata/" + name;
  }

  FaultInjectionEnv env_{Env::Default()};
  std::string dir_;
  std::string inventories_;
};

TEST_F(PlanCommandTest, PlansADirectoryOfInventoriesAsJson) {
  Outcome r = Run({"plan", "--inventory", inventories_, "--format", "json", "--date", "2025-06-01",
                   "--max-wave-size", "8"});
  ASSERT_EQ(r.code, 0) << r.err;
  Result<Json> plan = ParseJson(r.out, "stdout");
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  EXPECT_EQ((*plan)["summary"]["servers"], 50);
  EXPECT_EQ((*plan)["options"]["max_wave_size"], 8);
  for (const Json& wave : (*plan)["waves"]) EXPECT_LE(wave["size"].get<int>(), 8);
  EXPECT_EQ((*plan)["date"], "2025-06-01");
}

TEST_F(PlanCommandTest, TableByDefaultAndFormatsByExtension) {
  Outcome table = Run({"plan", "--inventory", inventories_});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("plan of 50 server(s)"));
  EXPECT_THAT(table.out, HasSubstr("WAVE"));

  const std::string markdown = dir_ + "/plan.md";
  Outcome md = Run({"plan", "--inventory", inventories_, "--out", markdown});
  ASSERT_EQ(md.code, 0) << md.err;
  EXPECT_THAT(md.out, HasSubstr("written to " + markdown));
  EXPECT_THAT(*env_.ReadFile(markdown), HasSubstr("# Migration plan"));

  const std::string json = dir_ + "/plan.json";
  ASSERT_EQ(Run({"plan", "--inventory", inventories_, "--out", json}).code, 0);
  EXPECT_TRUE(ParseJson(*env_.ReadFile(json), json).has_value());

  Outcome global_json = Run({"--json", "plan", "--inventory", inventories_});
  ASSERT_EQ(global_json.code, 0);
  EXPECT_TRUE(ParseJson(global_json.out, "stdout").has_value());
}

TEST_F(PlanCommandTest, ReadsAnEstateFile) {
  const std::string estate = dir_ + "/three-tier.estate";
  ASSERT_TRUE(env_.WriteFileAtomic(estate, plan::FormatEstateFile(plan::ThreeTierEstate())).ok());
  Outcome r = Run({"plan", "--inventory", estate, "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ((*ParseJson(r.out, "stdout"))["summary"]["servers"], 50);
}

TEST_F(PlanCommandTest, BadInventoriesAreLeftOutAndNamed) {
  ASSERT_TRUE(
      env_.WriteFileAtomic(inventories_ + "/broken.json", "{\"schema_version\": \"1.0\",\n").ok());
  ASSERT_TRUE(
      env_.WriteFileAtomic(inventories_ + "/future.json", R"({"schema_version": "3.1"})").ok());
  Outcome r = Run({"plan", "--inventory", inventories_, "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json plan = *ParseJson(r.out, "stdout");
  EXPECT_EQ(plan["summary"]["servers"], 50);
  ASSERT_EQ(plan["inputs"]["skipped"].size(), 2u);
  EXPECT_THAT(plan["inputs"]["skipped"].dump(), HasSubstr("broken.json is truncated"));
  EXPECT_THAT(plan["inputs"]["skipped"].dump(), HasSubstr("future.json has schema_version 3.1"));
}

TEST_F(PlanCommandTest, UsageErrorsExitTwoWithTheWayOut) {
  Outcome missing = Run({"plan", "--inventory", dir_ + "/nowhere"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("--inventory " + dir_ + "/nowhere"));
  Outcome percentile = Run({"plan", "--inventory", inventories_, "--percentile", "90"});
  EXPECT_EQ(percentile.code, 2);
  EXPECT_THAT(percentile.err, HasSubstr("use 50, 95, 99 or 100"));
  Outcome wave = Run({"plan", "--inventory", inventories_, "--max-wave-size", "0"});
  EXPECT_EQ(wave.code, 2);
  Outcome region = Run({"plan", "--inventory", inventories_, "--region", "aws"});
  EXPECT_EQ(region.code, 2);
  EXPECT_THAT(region.err, HasSubstr("CLOUD=REGION"));
  Outcome format = Run({"plan", "--inventory", inventories_, "--format", "yaml"});
  EXPECT_EQ(format.code, 2);
  Outcome empty = Run({"plan", "--inventory", dir_});  // holds no inventory file
  EXPECT_EQ(empty.code, 2);
  EXPECT_THAT(empty.err, HasSubstr("no server to plan"));
  const std::string costs = dir_ + "/costs.yaml";
  ASSERT_TRUE(env_.WriteFileAtomic(costs, "power:\n  pue: 0\n").ok());
  Outcome bad_costs = Run({"plan", "--inventory", inventories_, "--costs", costs});
  EXPECT_EQ(bad_costs.code, 2);
  EXPECT_THAT(bad_costs.err, HasSubstr("power.pue"));
}

TEST_F(PlanCommandTest, CostsAndRegionsChangeTheCosts) {
  const std::string costs = dir_ + "/costs.yaml";
  ASSERT_TRUE(env_.WriteFileAtomic(costs, "years: 5\nhardware:\n  usd_per_vcpu: 1000\n").ok());
  Outcome r = Run({"plan", "--inventory", inventories_, "--format", "json", "--costs", costs,
                   "--region", "aws=eu-west-1", "--region", "gcp=europe-west1"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json plan = *ParseJson(r.out, "stdout");
  EXPECT_EQ(plan["tco"]["years"], 5);
  EXPECT_EQ(plan["tco"]["cost_model"]["hardware"]["usd_per_vcpu"], 1000);
  EXPECT_EQ(plan["options"]["regions"]["aws"], "eu-west-1");
  EXPECT_EQ(plan["options"]["regions"]["azure"], "eastus");
  EXPECT_EQ(plan["tco"]["clouds"][2]["region"], "europe-west1");
}

TEST_F(PlanCommandTest, CatalogImportThenPlanWithIt) {
  const std::string catalog = dir_ + "/catalog.json";
  Outcome aws = Run(
      {"catalog", "import", "--from", "aws", Testdata("aws_offer_ec2.json"), "--catalog", catalog});
  ASSERT_EQ(aws.code, 0) << aws.err;
  EXPECT_THAT(aws.out, HasSubstr("imported 4 price(s) of 3 aws instance type(s)"));
  EXPECT_THAT(aws.out, HasSubstr("1 warning(s)"));
  Outcome json =
      Run({"--json", "catalog", "import", "--from", "gcp", Testdata("gcp_machine_types.json"),
           "--catalog", catalog, "--date", "2024-09-30"});
  ASSERT_EQ(json.code, 0) << json.err;
  Json report = *ParseJson(json.out, "stdout");
  ASSERT_EQ(report["warnings"].size(), 2u);
  EXPECT_THAT(report["warnings"][0].get<std::string>(), HasSubstr("`a2`"));

  Outcome show = Run({"catalog", "show", "--catalog", catalog});
  ASSERT_EQ(show.code, 0);
  EXPECT_THAT(show.out, HasSubstr("gcp: "));
  EXPECT_THAT(show.out, HasSubstr("prices of 2024-09-30"));

  Outcome plan =
      Run({"plan", "--inventory", inventories_, "--format", "json", "--catalog", catalog});
  ASSERT_EQ(plan.code, 0) << plan.err;
  EXPECT_THAT((*ParseJson(plan.out, "stdout"))["catalog"].dump(), HasSubstr("aws_offer_ec2.json"));

  Outcome unknown = Run({"catalog", "import", "--from", "oracle", Testdata("aws_offer_ec2.json")});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("aws, azure or gcp"));
  Outcome wrong = Run({"catalog", "import", "--from", "aws", Testdata("gcp_machine_types.json"),
                       "--catalog", catalog});
  EXPECT_EQ(wrong.code, 2);
  EXPECT_THAT(wrong.err, HasSubstr("gcp_machine_types.json"));
}

// ---- Inventories kept in the state store: `ferry discover ... --save`, `ferry plan --from-store`

// A plan's servers with where each was read from left out (a file or store:NAME): what
// planning the same inventories from files and from the store must agree on.
Json ServersWithoutSource(const Json& plan) {
  Json servers = plan["servers"];
  for (Json& server : servers) server.erase("source");
  return servers;
}

class PlanFromStoreTest : public PlanCommandTest {
 protected:
  void SetUp() override {
    PlanCommandTest::SetUp();
    store_url_ = SqliteStoreUrl(dir_ + "/ferry.db");
    csv_ = dir_ + "/azure.csv";
    ASSERT_TRUE(env_.WriteFileAtomic(csv_,
                                     "*Server name,IP addresses,*Cores,*Memory (In MB),*OS name\n"
                                     "prd-web-01,10.0.0.1,4,8192,Ubuntu 22.04\n"
                                     "prd-app-01,10.0.0.2,8,16384,Ubuntu 22.04\n"
                                     "prd-db-01,10.0.0.3,16,65536,Windows Server 2019\n"
                                     "dev-web-01,10.0.1.1,2,4096,Ubuntu 20.04\n")
                    .ok());
  }

  // `ferry plan` with the store of this test, as JSON on a fixed date.
  Outcome Plan(std::vector<std::string> args) {
    std::vector<std::string> all = {"--store", store_url_, "plan",      "--format",
                                    "json",    "--date",   "2025-06-01"};
    all.insert(all.end(), args.begin(), args.end());
    return Run(all);
  }

  // Saves inventory files into the store as `ferry discover --save` would (the generated estate
  // has no discover command to run).
  void SaveFiles(const std::string& dir) {
    auto store = Store::Open(store_url_);
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    std::vector<InventoryRecord> records;
    auto names = env_.ListDir(dir);
    ASSERT_TRUE(names.has_value());
    for (const std::string& name : *names) {
      records.push_back({.name = name.substr(0, name.size() - 5),
                         .source_kind = "agent",
                         .schema_version = "1.0",
                         .document = *env_.ReadFile(dir + "/" + name)});
    }
    auto saved = (*store)->PutInventories(records, "test");
    ASSERT_TRUE(saved.has_value()) << saved.error().ToString();
  }

  std::string store_url_;
  std::string csv_;
};

TEST_F(PlanFromStoreTest, ImportSaveThenPlanFromStoreGivesTheServersOfTheFiles) {
  const std::string files = dir_ + "/imported";
  ASSERT_EQ(Run({"discover", "import", "--from", "azure-migrate", csv_, "--out", files}).code, 0);
  Outcome saved =
      Run({"--store", store_url_, "discover", "import", "--from", "azure-migrate", csv_, "--save"});
  ASSERT_EQ(saved.code, 0) << saved.err;
  EXPECT_THAT(saved.out, HasSubstr("imported 4 server(s)"));
  EXPECT_THAT(saved.out, HasSubstr("saved 4 inventories in the store " + store_url_));
  EXPECT_THAT(saved.out, ::testing::Not(HasSubstr("schema_version")));  // no JSON Lines

  Outcome from_files = Plan({"--inventory", files});
  ASSERT_EQ(from_files.code, 0) << from_files.err;
  Outcome from_store = Plan({"--from-store"});
  ASSERT_EQ(from_store.code, 0) << from_store.err;
  Json by_file = *ParseJson(from_files.out, "files");
  Json by_store = *ParseJson(from_store.out, "store");
  EXPECT_EQ(by_store["summary"]["servers"], 4);
  EXPECT_EQ(ServersWithoutSource(by_store), ServersWithoutSource(by_file));
  EXPECT_EQ(by_store["waves"], by_file["waves"]);
  for (const Json& server : by_store["servers"]) {
    EXPECT_EQ(server["source"], "store:" + server["name"].get<std::string>());
  }
  EXPECT_EQ(by_store["inputs"]["read"], 4);
  EXPECT_TRUE(by_store["inputs"]["skipped"].empty());

  // The same export again replaces each server's inventory: still four servers. With --out
  // too, the files are written as well; --json reports what was saved.
  Outcome again = Run({"--json", "--store", store_url_, "discover", "import", "--from",
                       "azure-migrate", csv_, "--save", "--out", dir_ + "/again"});
  ASSERT_EQ(again.code, 0) << again.err;
  Json report = *ParseJson(again.out, "stdout");
  EXPECT_EQ(report["saved"]["saved"], 4);
  EXPECT_EQ(report["saved"]["replaced"], 4);
  EXPECT_EQ(report["inventories"].size(), 4u);
  EXPECT_TRUE(env_.FileExists(dir_ + "/again/prd-db-01.json"));
  EXPECT_EQ((*ParseJson(Plan({"--from-store"}).out, "stdout"))["summary"]["servers"], 4);

  // Files and the store together.
  Outcome both = Plan({"--inventory", inventories_, "--from-store"});
  ASSERT_EQ(both.code, 0) << both.err;
  EXPECT_EQ((*ParseJson(both.out, "stdout"))["summary"]["servers"], 54);
}

TEST_F(PlanFromStoreTest, TheStoreIsReadAsTheFilesAre) {
  SaveFiles(inventories_);
  Outcome from_files = Plan({"--inventory", inventories_});
  ASSERT_EQ(from_files.code, 0) << from_files.err;
  Outcome from_store = Plan({"--from-store"});
  ASSERT_EQ(from_store.code, 0) << from_store.err;
  Json by_file = *ParseJson(from_files.out, "files");
  Json by_store = *ParseJson(from_store.out, "store");
  EXPECT_EQ(by_store["summary"]["servers"], 50);
  EXPECT_EQ(ServersWithoutSource(by_store), ServersWithoutSource(by_file));
  for (const char* section : {"summary", "waves", "risks", "tco", "dependencies", "components"}) {
    EXPECT_EQ(by_store[section], by_file[section]) << section;
  }
}

TEST_F(PlanFromStoreTest, RowsOfOneNameAreKeptApartAsTheFilesAre) {
  ASSERT_TRUE(env_.WriteFileAtomic(csv_,
                                   "*Server name,IP addresses,*Cores,*Memory (In MB),*OS name\n"
                                   "web01,10.0.0.1,4,8192,Ubuntu 22.04\n"
                                   "web01,10.0.0.2,4,8192,Ubuntu 22.04\n")
                  .ok());
  Outcome saved = Run({"--json", "--store", store_url_, "discover", "import", "--from",
                       "azure-migrate", csv_, "--save"});
  ASSERT_EQ(saved.code, 0) << saved.err;
  EXPECT_EQ((*ParseJson(saved.out, "stdout"))["saved"]["saved"], 2);
  auto store = Store::Open(store_url_);
  ASSERT_TRUE(store.has_value());
  auto listed = (*store)->ListInventories();
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name, "web01");
  EXPECT_EQ((*listed)[1].name, "web01-2");
  EXPECT_EQ((*listed)[1].source_kind, "azure-migrate");
  EXPECT_EQ((*listed)[1].schema_version, "1.0");
  auto events = (*store)->ReadEvents(0, 10);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].kind, "inventory.saved");
  EXPECT_EQ(Json::parse((*events)[1].payload)["name"], "web01-2");

  Outcome plan = Plan({"--from-store"});
  ASSERT_EQ(plan.code, 0) << plan.err;
  Json servers = (*ParseJson(plan.out, "stdout"))["servers"];
  std::set<std::string> names;
  for (const Json& server : servers) names.insert(server["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"web01", "web01#2"}));
}

TEST_F(PlanFromStoreTest, AnEmptyOrMissingStoreSaysToSaveInventoriesFirst) {
  Outcome missing = Plan({"--from-store"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("there is no store at " + store_url_));
  EXPECT_THAT(missing.err, HasSubstr("ferry discover --save"));
  EXPECT_FALSE(env_.FileExists(dir_ + "/ferry.db"));  // looking does not create one

  ASSERT_EQ(Run({"--store", store_url_, "store", "migrate"}).code, 0);
  Outcome empty = Plan({"--from-store"});
  EXPECT_EQ(empty.code, 2);
  EXPECT_THAT(empty.err, HasSubstr("the store " + store_url_ + " holds no inventory"));
  EXPECT_THAT(empty.err, HasSubstr("ferry discover --save"));
  // With files as well, an empty store is still a mistake worth stopping for.
  Outcome with_files = Plan({"--inventory", inventories_, "--from-store"});
  EXPECT_EQ(with_files.code, 2);
  EXPECT_THAT(with_files.err, HasSubstr("holds no inventory"));
}

TEST_F(PlanFromStoreTest, NeitherInventoryNorFromStoreIsAUsageError) {
  Outcome r = Run({"plan", "--format", "json"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--inventory"));
  EXPECT_THAT(r.err, HasSubstr("--from-store"));
  EXPECT_TRUE(r.out.empty());
}

TEST_F(PlanFromStoreTest, AStoredInventoryOfANewerMajorIsLeftOutAsAFileIs) {
  Json future = *ParseJson(*env_.ReadFile(inventories_ + "/" + env_.ListDir(inventories_)->at(0)),
                           "inventory");
  future["schema_version"] = "2.0";
  future["host"]["hostname"] = "future01";
  const std::string file = dir_ + "/future01.json";
  ASSERT_TRUE(env_.WriteFileAtomic(file, future.dump()).ok());
  auto store = Store::Open(store_url_);
  ASSERT_TRUE(store.has_value());
  ASSERT_TRUE((*store)->PutInventory({.name = "future01",
                                      .source_kind = "agent",
                                      .schema_version = "2.0",
                                      .document = future.dump()},
                                     "test"));

  Outcome from_file = Plan({"--inventory", inventories_, file});
  ASSERT_EQ(from_file.code, 0) << from_file.err;
  Outcome from_store = Plan({"--inventory", inventories_, "--from-store"});
  ASSERT_EQ(from_store.code, 0) << from_store.err;
  Json by_file = *ParseJson(from_file.out, "files");
  Json by_store = *ParseJson(from_store.out, "store");
  EXPECT_EQ(by_store["summary"]["servers"], 50);
  ASSERT_EQ(by_file["inputs"]["skipped"].size(), 1u);
  ASSERT_EQ(by_store["inputs"]["skipped"].size(), 1u);
  const Json& skipped = by_store["inputs"]["skipped"][0];
  EXPECT_EQ(skipped["source"], "store:future01");
  std::string expected = by_file["inputs"]["skipped"][0]["message"];
  expected.replace(expected.find(file), file.size(), "store:future01");
  EXPECT_EQ(skipped["message"], expected);
  EXPECT_THAT(expected, HasSubstr("has schema_version 2.0, newer than this ferry"));
}

// ferry iac, from a plan `ferry plan` wrote.
class IacCommandTest : public PlanCommandTest {
 protected:
  std::string Plan() {
    const std::string plan = dir_ + "/plan.json";
    Outcome made =
        Run({"plan", "--inventory", inventories_, "--out", plan, "--date", "2025-05-01"});
    EXPECT_EQ(made.code, 0) << made.err;
    return plan;
  }
};

TEST_F(IacCommandTest, WritesEachCloudAndReportsWhatItWrote) {
  const std::string plan = Plan();
  Outcome all = Run({"--json", "iac", "--plan", plan, "--cloud", "all", "--out", dir_ + "/tf"});
  ASSERT_EQ(all.code, 0) << all.err;
  Result<Json> report = ParseJson(all.out, "stdout");
  ASSERT_TRUE(report.has_value()) << all.out;
  ASSERT_EQ((*report)["clouds"].size(), 3u);
  for (const Json& cloud : (*report)["clouds"]) {
    const std::string out = cloud["out"];
    EXPECT_EQ(out, dir_ + "/tf/" + cloud["cloud"].get<std::string>());
    EXPECT_GT(cloud["virtual_machines"].get<int>(), 0);
    EXPECT_GT(cloud["flows"].get<int>(), 0);
    for (const char* file : {"versions.tf", "variables.tf", "locals.tf", "network.tf",
                             "security.tf", "compute.tf", "outputs.tf", "README.md"}) {
      EXPECT_TRUE(env_.FileExists(out + "/" + file)) << out << "/" << file;
    }
  }
  // One cloud goes straight into --out; the same command again replaces its own files.
  Outcome aws = Run({"iac", "--plan", plan, "--cloud", "aws", "--out", dir_ + "/aws"});
  ASSERT_EQ(aws.code, 0) << aws.err;
  EXPECT_THAT(aws.out, HasSubstr("aws (us-east-1): "));
  EXPECT_THAT(aws.out, HasSubstr("written to " + dir_ + "/aws"));
  EXPECT_TRUE(env_.FileExists(dir_ + "/aws/locals.tf"));
  EXPECT_EQ(Run({"iac", "--plan", plan, "--cloud", "aws", "--out", dir_ + "/aws"}).code, 0);
}

TEST_F(IacCommandTest, BadInputExitsTwoAndNamesTheWayOut) {
  const std::string plan = Plan();
  Outcome cloud = Run({"iac", "--plan", plan, "--cloud", "oracle", "--out", dir_ + "/tf"});
  EXPECT_EQ(cloud.code, 2);
  EXPECT_THAT(cloud.err, HasSubstr("--cloud oracle: expected aws, azure, gcp or all"));

  Outcome missing = Run({"iac", "--plan", dir_ + "/none.json", "--cloud", "aws", "--out", dir_});
  EXPECT_NE(missing.code, 0);
  EXPECT_THAT(missing.err, HasSubstr("ferry plan --inventory DIR --out plan.json"));

  // A plan cut short: the error names the file and the position, nothing is written.
  std::string text = *env_.ReadFile(plan);
  const std::string truncated = dir_ + "/truncated.json";
  ASSERT_TRUE(env_.WriteFileAtomic(truncated, text.substr(0, text.size() / 2)).ok());
  Outcome cut = Run({"iac", "--plan", truncated, "--cloud", "gcp", "--out", dir_ + "/cut"});
  EXPECT_EQ(cut.code, 2);
  EXPECT_THAT(cut.err, HasSubstr(truncated + ":"));
  EXPECT_FALSE(env_.FileExists(dir_ + "/cut/locals.tf"));

  // A plan of a newer ferry.
  Result<Json> json = ParseJson(text, plan);
  ASSERT_TRUE(json.has_value());
  (*json)["plan_version"] = 99;
  const std::string newer = dir_ + "/newer.json";
  ASSERT_TRUE(env_.WriteFileAtomic(newer, json->dump()).ok());
  Outcome future = Run({"iac", "--plan", newer, "--cloud", "aws", "--out", dir_ + "/newer"});
  EXPECT_EQ(future.code, 2);
  EXPECT_THAT(future.err, HasSubstr("plan_version 99 is newer"));

  // A hand-written file where ferry would write is kept, unless --force.
  ASSERT_TRUE(env_.CreateDirs(dir_ + "/mine").ok());
  ASSERT_TRUE(env_.WriteFileAtomic(dir_ + "/mine/network.tf", "# mine\n").ok());
  Outcome kept = Run({"iac", "--plan", plan, "--cloud", "azure", "--out", dir_ + "/mine"});
  EXPECT_EQ(kept.code, 2);
  EXPECT_THAT(kept.err, HasSubstr("network.tf: exists and was not generated by ferry iac"));
  EXPECT_EQ(*env_.ReadFile(dir_ + "/mine/network.tf"), "# mine\n");
  EXPECT_FALSE(env_.FileExists(dir_ + "/mine/locals.tf"));
  Outcome forced =
      Run({"iac", "--plan", plan, "--cloud", "azure", "--out", dir_ + "/mine", "--force"});
  EXPECT_EQ(forced.code, 0) << forced.err;
  EXPECT_NE(*env_.ReadFile(dir_ + "/mine/network.tf"), "# mine\n");
}

}  // namespace
}  // namespace ferry
