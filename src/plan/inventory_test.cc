// Reading inventories and estate files: what each field becomes, and bad input (a newer schema,
// a truncated file, a malformed estate line) left out with a message while the rest is read.
#include <stdlib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "plan/estate_file.h"
#include "plan/estate_generator.h"
#include "plan/estate_reader.h"
#include "plan/graph.h"
#include "plan/inventory_adapter.h"

namespace ferry::plan {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/ferry-plan-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { Env::Default()->RemoveAll(path_).IgnoreError(); }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, std::string_view text) const {
    const std::string file = path_ + "/" + name;
    EXPECT_TRUE(Env::Default()->WriteFileAtomic(file, text).ok());
    return file;
  }

 private:
  std::string path_;
};

// The dependency edges of an estate by server names, for comparing two readings of it.
std::set<std::tuple<std::string, std::string, int, uint32_t>> NamedEdges(const Estate& estate) {
  DependencyGraph graph = DependencyGraph::Build(estate);
  std::set<std::tuple<std::string, std::string, int, uint32_t>> edges;
  for (const Edge& e : graph.edges()) {
    edges.insert({estate.servers[e.from].name, estate.servers[e.to].name, e.port, e.frequency});
  }
  return edges;
}

TEST(InventoryDocumentTest, VersionChecks) {
  auto parse = [](std::string_view text) { return ParseInventoryDocument(text, "web.json"); };
  Result<InventoryDocument> newer_major = parse(R"({"schema_version": "2.0", "host": {}})");
  ASSERT_FALSE(newer_major.has_value());
  EXPECT_EQ(newer_major.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(newer_major.error().message(), HasSubstr("web.json"));
  EXPECT_THAT(newer_major.error().message(), HasSubstr("schema_version 2.0"));
  EXPECT_THAT(newer_major.error().message(), HasSubstr("upgrade ferry"));

  Result<InventoryDocument> newer_minor = parse(R"({"schema_version": "1.7", "host": {}})");
  ASSERT_TRUE(newer_minor.has_value());
  ASSERT_EQ(newer_minor->warnings.size(), 1u);
  EXPECT_THAT(newer_minor->warnings[0], HasSubstr("fields added after 1.0 are ignored"));

  const std::string cut = "{\"schema_version\": \"1.0\",\n \"host\": {\n";
  Result<InventoryDocument> truncated = parse(cut);
  ASSERT_FALSE(truncated.has_value());
  EXPECT_THAT(truncated.error().message(), HasSubstr("web.json is truncated"));
  EXPECT_THAT(truncated.error().message(), HasSubstr(fmt::format("byte {}", cut.size())));
  EXPECT_THAT(truncated.error().message(), HasSubstr("ferry discover --out web.json"));

  EXPECT_THAT(parse("").error().message(), HasSubstr("is empty"));
  EXPECT_THAT(parse("{\"a\": nope}").error().message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(parse("{\"host\": {}}").error().message(), HasSubstr("no `schema_version`"));
  EXPECT_THAT(parse("[1]").error().message(), HasSubstr("not an object"));
}

TEST(InventoryAdapterTest, ReadsWhatPlanNeeds) {
  const Estate generated = ThreeTierEstate();
  Json inventory = InventoryOf(generated, 0);  // prd-dns-01
  inventory["host"]["hostname"] = "db.example.com";
  inventory["listening"].push_back({{"protocol", "tcp"},
                                    {"port", 5432},
                                    {"loopback_only", false},
                                    {"process", "postgres"},
                                    {"service_guess", {{"name", "postgresql"}}}});
  inventory["listening"].push_back({{"protocol", "tcp"},
                                    {"port", 6379},
                                    {"loopback_only", true},
                                    {"process", "redis-server"},
                                    {"service_guess", {{"name", "redis"}}}});
  inventory["network"]["interfaces"][0]["addresses"].push_back(
      {{"family", "ipv6"}, {"address", "fe80::1"}, {"prefix_length", 64}, {"scope", "link"}});
  inventory["connections"] = Json::array();
  inventory["connections"].push_back({{"protocol", "tcp"},
                                      {"remote_address", "10.9.9.9"},
                                      {"remote_port", 443},
                                      {"direction", "outbound"},
                                      {"loopback", false},
                                      {"service_guess", {{"name", "https"}}}});
  inventory["connections"].push_back({{"protocol", "tcp"},
                                      {"remote_address", "10.1.0.7"},
                                      {"local_port", 5432},
                                      {"remote_port", 51000},
                                      {"direction", "inbound"},
                                      {"loopback", false}});
  inventory["connections"].push_back({{"protocol", "tcp"},
                                      {"remote_address", "127.0.0.1"},
                                      {"remote_port", 6379},
                                      {"direction", "outbound"},
                                      {"loopback", true}});
  inventory["databases"] = Json::array({{{"name", "shop"}, {"tables_without_primary_key", 4}}});

  Estate estate;
  ASSERT_TRUE(AddInventory(inventory, "db.json", &estate).ok());
  ASSERT_EQ(estate.servers.size(), 1u);
  const Server& s = estate.servers[0];
  EXPECT_EQ(s.name, "db.example.com");
  EXPECT_EQ(s.source, "db.json");
  EXPECT_EQ(s.os_id, "debian");
  EXPECT_EQ(s.logical_cpus, 2);
  EXPECT_EQ(s.addresses, std::vector<std::string>{"10.1.0.1"});  // no loopback, no link-local
  EXPECT_TRUE(s.roles & kRoleDatabase);
  EXPECT_TRUE(s.roles & kRoleDns);
  EXPECT_FALSE(s.roles & kRoleCache);  // loopback only
  EXPECT_EQ(s.database_engine, DatabaseEngine::kPostgreSQL);
  EXPECT_EQ(s.listening_services, 2);  // dns and postgresql; ssh does not count
  ASSERT_TRUE(s.baseline.has_value());
  EXPECT_TRUE(s.baseline->sampled);
  EXPECT_NEAR(s.baseline->coverage, 0.95, 1e-12);
  EXPECT_TRUE(s.baseline->cpu_percent.has_value());
  EXPECT_EQ(s.tables_without_keys, 4);
  ASSERT_EQ(estate.connections.size(), 2u);  // the loopback one is left out
  EXPECT_EQ(estate.connections[0].client, 0);
  EXPECT_EQ(estate.connections[0].remote_address, "10.9.9.9");
  EXPECT_EQ(estate.connections[0].port, 443);
  EXPECT_EQ(estate.connections[1].server, 0);  // inbound: the remote side is the client
  EXPECT_EQ(estate.connections[1].client_address, "10.1.0.7");
  EXPECT_EQ(estate.connections[1].port, 5432);
  EXPECT_EQ(s.environment, Environment::kProduction);
}

TEST(InventoryAdapterTest, ImportedInventoriesUseUtilisationAndTags) {
  Json imported = {
      {"schema_version", "1.0"},
      {"source", {{"kind", "azure-migrate"}, {"file", "export.csv"}, {"line", 7}}},
      {"host", {{"hostname", "billing-07"}}},
      {"os", {{"id", "windows"}, {"version_id", "2012r2"}}},
      {"cpu", {{"cores", 4}, {"logical_cpus", nullptr}}},
      {"memory", {{"total_bytes", 17179869184}}},
      {"network", {{"interfaces", Json::array()}}},
      {"utilization",
       {{"cpu_percent", {{"value", 37.5}}}, {"memory_used_percent", {{"avg", 40}, {"max", 70}}}}},
      {"import_attributes", {{"Tags", "env=uat;owner=finance"}}}};
  Estate estate;
  ASSERT_TRUE(AddInventory(imported, "export.json", &estate).ok());
  const Server& s = estate.servers[0];
  EXPECT_EQ(s.logical_cpus, 4);
  EXPECT_EQ(s.environment, Environment::kNonProduction);
  EXPECT_THAT(s.environment_reason, HasSubstr("env=uat"));
  ASSERT_TRUE(s.baseline.has_value());
  EXPECT_FALSE(s.baseline->sampled);
  EXPECT_EQ(s.baseline->cpu_percent->p95, 37.5);
  EXPECT_EQ(s.baseline->memory_used_percent->p95, 70);  // the maximum stands for the peaks

  Estate bad;
  Status status = AddInventory(Json{{"schema_version", "1.0"}}, "nohost.json", &bad);
  EXPECT_THAT(status.message(), HasSubstr("nohost.json has no `host`"));
}

TEST(EstateReaderTest, ADirectoryWithBadFilesStillGivesTheRest) {
  TempDir dir;
  const Estate generated = ThreeTierEstate();
  ASSERT_TRUE(WriteInventories(generated, dir.path(), Env::Default()).ok());
  // Damage three: a newer major schema, a truncated file, a newer minor schema.
  Json newer = InventoryOf(generated, 1);
  newer["schema_version"] = "2.0";
  dir.Write(generated.servers[1].name + ".json", newer.dump());
  // Cut at the end of a line, as an interrupted copy leaves it.
  const std::string full = InventoryOf(generated, 2).dump(2);
  dir.Write(generated.servers[2].name + ".json", full.substr(0, full.find('\n', full.size() / 3)));
  Json minor = InventoryOf(generated, 3);
  minor["schema_version"] = "1.4";
  dir.Write(generated.servers[3].name + ".json", minor.dump());
  dir.Write("notes.txt", "not an inventory, not read");

  Result<Estate> estate = ReadEstate({dir.path()}, Env::Default());
  ASSERT_TRUE(estate.has_value()) << estate.error().ToString();
  EXPECT_EQ(estate->servers.size(), 48u);
  ASSERT_EQ(estate->skipped.size(), 2u);
  std::string skipped = estate->skipped[0].message + "\n" + estate->skipped[1].message;
  EXPECT_THAT(skipped, HasSubstr(generated.servers[1].name + ".json has schema_version 2.0"));
  EXPECT_THAT(skipped, HasSubstr(generated.servers[2].name + ".json is truncated"));
  ASSERT_EQ(estate->warnings.size(), 1u);
  EXPECT_THAT(estate->warnings[0].message, HasSubstr("schema_version 1.4"));
}

TEST(EstateReaderTest, InventoriesReadBackTheGeneratedEstate) {
  TempDir dir;
  const Estate generated = ThreeTierEstate();
  ASSERT_TRUE(WriteInventories(generated, dir.path(), Env::Default()).ok());
  Result<Estate> read = ReadEstate({dir.path()}, Env::Default());
  ASSERT_TRUE(read.has_value());
  ASSERT_EQ(read->servers.size(), generated.servers.size());
  EXPECT_TRUE(read->skipped.empty());
  EXPECT_EQ(NamedEdges(*read), NamedEdges(generated));
  for (const Server& s : read->servers) {
    EXPECT_FALSE(s.environment_reason.empty());
    if (s.name.starts_with("dev-") || s.name.starts_with("tst-")) {
      EXPECT_EQ(s.environment, Environment::kNonProduction) << s.name;
    }
  }
}

TEST(EstateReaderTest, JsonLinesAndMissingPaths) {
  TempDir dir;
  const Estate generated = ThreeTierEstate();
  std::string lines = InventoryOf(generated, 0).dump() + "\n\n" + InventoryOf(generated, 1).dump() +
                      "\n{\"schema_version\": \"1.0\", \"host\": {\n";
  const std::string file = dir.Write("imported.jsonl", lines);
  Result<Estate> read = ReadEstate({file}, Env::Default());
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->servers.size(), 2u);
  ASSERT_EQ(read->skipped.size(), 1u);
  EXPECT_THAT(read->skipped[0].message, HasSubstr("imported.jsonl:4"));

  Result<Estate> missing = ReadEstate({dir.path() + "/nothing-here"}, Env::Default());
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.error().message(), HasSubstr("--inventory"));
}

// Inventories handed over as text (the state store's) are read as files are, together with
// files; one that names no host is named by the name given with it.
TEST(EstateReaderTest, InventoryTextIsReadAsAFileIs) {
  TempDir dir;
  const Estate generated = ThreeTierEstate();
  const std::string file = dir.Write("a.json", InventoryOf(generated, 0).dump());
  EstateReader reader(Env::Default());
  ASSERT_TRUE(reader.AddPaths({file}).ok());
  reader.AddInventoryText(InventoryOf(generated, 1).dump(), "store:" + generated.servers[1].name,
                          generated.servers[1].name);
  Json unnamed = InventoryOf(generated, 2);
  unnamed["host"].erase("hostname");
  reader.AddInventoryText(unnamed.dump(), "store:kept-name", "kept-name");
  Json newer = InventoryOf(generated, 3);
  newer["schema_version"] = "2.0";
  reader.AddInventoryText(newer.dump(), "store:future", "future");
  reader.AddInventoryText(InventoryOf(generated, 4).dump(), "store:again", "again");
  reader.AddInventoryText(InventoryOf(generated, 4).dump(), "store:again-2", "again-2");
  Estate estate = std::move(reader).Finish();

  ASSERT_EQ(estate.servers.size(), 5u);
  EXPECT_EQ(estate.inputs_read, 5);
  EXPECT_EQ(estate.servers[0].source, file);
  EXPECT_EQ(estate.servers[1].name, generated.servers[1].name);
  EXPECT_EQ(estate.servers[1].source, "store:" + generated.servers[1].name);
  EXPECT_EQ(estate.servers[2].name, "kept-name");
  EXPECT_EQ(estate.servers[4].name, generated.servers[4].name + "#2");  // names made unique
  ASSERT_EQ(estate.skipped.size(), 1u);
  EXPECT_EQ(estate.skipped[0].source, "store:future");
  EXPECT_THAT(estate.skipped[0].message,
              HasSubstr("inventory store:future has schema_version 2.0"));
}

TEST(EstateFileTest, RoundTripKeepsServersAndDependencies) {
  const Estate generated = ThreeTierEstate();
  const std::string text = FormatEstateFile(generated);
  Estate read;
  ASSERT_TRUE(ParseEstateFile(text, "three-tier.estate", &read).ok());
  EXPECT_TRUE(read.warnings.empty()) << read.warnings[0].message;
  ASSERT_EQ(read.servers.size(), generated.servers.size());
  EXPECT_EQ(NamedEdges(read), NamedEdges(generated));
  for (size_t i = 0; i < read.servers.size(); ++i) {
    const Server& a = generated.servers[i];
    const Server& b = read.servers[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.environment, b.environment) << a.name;
    EXPECT_EQ(a.roles, b.roles) << a.name;
    EXPECT_EQ(a.logical_cpus, b.logical_cpus);
    EXPECT_EQ(a.baseline.has_value(), b.baseline.has_value()) << a.name;
    if (a.baseline && b.baseline) {
      EXPECT_NEAR(a.baseline->cpu_percent->p95, b.baseline->cpu_percent->p95, 1e-3);
      EXPECT_NEAR(a.baseline->coverage, b.baseline->coverage, 1e-9);
    }
    EXPECT_EQ(a.tables_without_keys, b.tables_without_keys);
    EXPECT_EQ(a.certificates.size(), b.certificates.size());
  }
}

TEST(EstateFileTest, MalformedLinesAreSkippedWithTheirLine) {
  const std::string text =
      "ferry-estate 1\n"
      "# a hand-written estate\n"
      "server web-1 env=prod cpus=2 mem_gib=4 ip=10.0.0.1 roles=web\n"
      "> 10.0.0.2 8080 tcp 3 http\n"
      "> 10.0.0.2 eighty tcp\n"
      "server api-1 cpus=two ip=10.0.0.3\n"
      "> 10.0.0.2 5432 tcp\n"
      "server db-1 env=dev roles=database,spaceship ip=10.0.0.9\n"
      "server db-2 db=postgresql ip=10.0.0.2 baseline=0.5:14 cpu=1:2:3:4 nokeys=2\n"
      "< 10.0.0.1 5432 tcp 2 postgresql\n"
      "frobnicate\n";
  Estate estate;
  ASSERT_TRUE(ParseEstateFile(text, "hand.estate", &estate).ok());
  std::vector<std::string> names;
  for (const Server& s : estate.servers) names.push_back(s.name);
  EXPECT_THAT(names, UnorderedElementsAre("web-1", "db-2"));
  ASSERT_EQ(estate.warnings.size(), 4u);
  EXPECT_THAT(estate.warnings[0].message, HasSubstr("hand.estate:5"));
  EXPECT_THAT(estate.warnings[1].message, HasSubstr("hand.estate:6: server api-1: `cpus=two`"));
  EXPECT_THAT(estate.warnings[2].message, HasSubstr("unknown role `spaceship`"));
  EXPECT_THAT(estate.warnings[3].message, HasSubstr("hand.estate:11"));
  EXPECT_EQ(estate.connections.size(), 2u);  // api-1's connection went with it
  EXPECT_EQ(estate.servers[1].tables_without_keys, 2);
  EXPECT_EQ(estate.servers[1].baseline->cpu_percent->p95, 2);

  Estate newer;
  Status status = ParseEstateFile("ferry-estate 7\n", "new.estate", &newer);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("upgrade ferry"));
}

// The generated inventories follow the JSON Schema of `ferry discover` (checked with an
// independent validator when python3-jsonschema is installed).
TEST(InventoryAdapterTest, GeneratedInventoriesFollowTheSchema) {
  const std::string schema = std::string(FERRY_SOURCE_DIR) + "/docs/inventory.schema.json";
  if (!Env::Default()->FileExists(schema) ||
      std::system("python3 -c 'import jsonschema' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-jsonschema or docs/inventory.schema.json is absent";
  }
  TempDir dir;
  const Estate generated = ThreeTierEstate();
  const std::string file = dir.Write("web.json", InventoryOf(generated, 10).dump());
  const std::string command =
      "python3 -c 'import json, sys, jsonschema; "
      "jsonschema.validate(json.load(open(sys.argv[2])), "
      "json.load(open(sys.argv[1])))' " +
      schema + " " + file;
  EXPECT_EQ(std::system(command.c_str()), 0);
}

}  // namespace
}  // namespace ferry::plan
