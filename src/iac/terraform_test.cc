// The generated Terraform, read back by a real HCL parser (HashiCorp's hcl library, as the npm
// package @cdktf/hcl2json, run with Node.js: test/node/hcl2json.mjs), for each cloud: every file
// parses; every reference to a resource, data source, variable or local is declared; every
// index into a for_each map (`aws_subnet.tier[each.value.subnet]`) names a key the map has,
// for every element that iterates; the security rules are exactly the flows the plan's
// dependencies call for; and the directory writer keeps a user's own files.
#include "iac/terraform.h"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "iac/test_plan.h"

namespace ferry::iac {
namespace {

using ::testing::HasSubstr;

std::string TempDir(std::string_view name) {
  std::string dir =
      (std::filesystem::temp_directory_path() / fmt::format("ferry-iac-{}-{}", name, ::getpid()))
          .string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Runs the HCL parser over `dir`: {"files": {"name.tf": <the parser's JSON>}}.
Result<Json> ParseWithHcl(const std::string& dir) {
  const std::string script = std::string(FERRY_SOURCE_DIR) + "/test/node/hcl2json.mjs";
  const std::string command = fmt::format("node '{}' '{}' 2>&1", script, dir);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return Err(Internal("popen {}", command));
  std::string out;
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Err(
        Internal("the HCL parser failed on {} (exit {}): {}\n(the parser is the npm package "
                 "@cdktf/hcl2json in test/node: `./setup.sh test` installs it, or `npm ci --prefix "
                 "test/node`)",
                 dir, WIFEXITED(status) ? WEXITSTATUS(status) : -1, out.substr(0, 2000)));
  }
  return ParseJson(out, "hcl2json output");
}

// What a Terraform directory declares, read from the parser's JSON.
struct Declared {
  std::map<std::string, Json> resources;  // "aws_subnet.tier" -> body
  std::map<std::string, Json> data;       // "data.aws_ami.debian" -> body
  std::map<std::string, Json> variables;  // name -> body
  std::map<std::string, Json> locals;     // name -> value
  std::set<std::string> outputs;
};

Declared Collect(const Json& files) {
  Declared d;
  for (const auto& [file, doc] : files.items()) {
    for (const char* kind : {"resource", "data"}) {
      if (!doc.contains(kind)) continue;
      for (const auto& [type, by_name] : doc[kind].items()) {
        for (const auto& [name, bodies] : by_name.items()) {
          const std::string key = (std::string(kind) == "data" ? "data." : "") + type + "." + name;
          auto& target = std::string(kind) == "data" ? d.data : d.resources;
          EXPECT_FALSE(target.contains(key)) << "declared twice: " << key;
          target[key] = bodies.at(0);
        }
      }
    }
    if (doc.contains("variable")) {
      for (const auto& [name, bodies] : doc["variable"].items()) d.variables[name] = bodies.at(0);
    }
    if (doc.contains("locals")) {
      for (const Json& block : doc["locals"]) {
        for (const auto& [name, value] : block.items()) {
          EXPECT_FALSE(d.locals.contains(name)) << "local declared twice: " << name;
          d.locals[name] = value;
        }
      }
    }
    if (doc.contains("output")) {
      for (const auto& [name, bodies] : doc["output"].items()) d.outputs.insert(name);
    }
  }
  return d;
}

void Strings(const Json& value, std::vector<std::string>* out) {
  if (value.is_string()) {
    out->push_back(value.get<std::string>());
  } else if (value.is_structured()) {
    for (const Json& child : value) Strings(child, out);
  }
}

// The expression inside "${...}".
std::string Inner(const std::string& text) {
  if (text.starts_with("${") && text.ends_with("}")) return text.substr(2, text.size() - 3);
  return text;
}

// The elements a for_each iterates, as (key, value) where the value is known (a map of the
// plan's data), or nullopt when the test cannot evaluate it (var-driven products).
class Evaluator {
 public:
  explicit Evaluator(const Declared& d) : d_(d) {}

  // The keys of what `expression` names: a local map, a variable's default map, a resource's
  // or data source's for_each.
  std::optional<std::set<std::string>> KeysOf(const std::string& target) const {
    if (target.starts_with("local.")) {
      auto it = d_.locals.find(target.substr(6));
      if (it == d_.locals.end()) return std::nullopt;
      if (it->second.is_object()) return KeysOfObject(it->second);
      auto entries = Entries(it->second.get<std::string>());
      if (!entries) return std::nullopt;
      return KeysOfObject(*entries);
    }
    if (target.starts_with("var.")) {
      auto it = d_.variables.find(target.substr(4));
      if (it == d_.variables.end() || !it->second.contains("default")) return std::nullopt;
      if (!it->second["default"].is_object()) return std::nullopt;
      return KeysOfObject(it->second["default"]);
    }
    const Json* body = Body(target);
    if (body == nullptr || !body->contains("for_each")) return std::nullopt;
    auto entries = Entries((*body)["for_each"].get<std::string>());
    if (!entries) return std::nullopt;
    return KeysOfObject(*entries);
  }

  // The elements of a for_each expression.
  std::optional<Json> Entries(const std::string& expression) const {
    std::string e = Inner(expression);
    // A product of variables (public ingress, egress): its elements are the user's to set.
    if (e.find("setproduct(") != std::string::npos) return std::nullopt;
    if (e.starts_with("{") && e.ends_with("}")) e = e.substr(1, e.size() - 2);
    static const std::regex kSet(R"(^\s*toset\(\[(.*)\]\)\s*$)");
    std::smatch m;
    if (std::regex_match(e, m, kSet)) {
      Json out = Json::object();
      static const std::regex kLiteral(R"re("([^"]*)")re");
      std::string list = m[1];
      for (auto it = std::sregex_iterator(list.begin(), list.end(), kLiteral);
           it != std::sregex_iterator(); ++it) {
        out[(*it)[1].str()] = (*it)[1].str();
      }
      return out;
    }
    // { for k, v in SOURCE : k => v if FILTER }, possibly inside a conditional.
    static const std::regex kFor(
        R"(\{?\s*for (\w+), (\w+) in ([\w.]+) : \w+ => \w+(?: if ([^}]*))?\s*\}?)");
    if (std::regex_search(e, m, kFor)) {
      const std::string value_name = m[2], source = m[3], filter = m[4];
      auto base = SourceEntries(source);
      if (!base) return std::nullopt;
      Json out = Json::object();
      for (const auto& [key, value] : base->items()) {
        if (Keeps(filter, value_name, value)) out[key] = value;
      }
      return out;
    }
    static const std::regex kRef(R"((local\.\w+|(?:aws|azurerm|google|random)_\w+\.\w+))");
    if (std::regex_search(e, m, kRef)) return SourceEntries(m[1]);
    return std::nullopt;
  }

 private:
  static std::set<std::string> KeysOfObject(const Json& object) {
    std::set<std::string> keys;
    for (const auto& [key, value] : object.items()) keys.insert(key);
    return keys;
  }

  const Json* Body(const std::string& target) const {
    auto r = d_.resources.find(target);
    if (r != d_.resources.end()) return &r->second;
    auto da = d_.data.find(target);
    if (da != d_.data.end()) return &da->second;
    return nullptr;
  }

  std::optional<Json> SourceEntries(const std::string& source) const {
    if (source.starts_with("local.")) {
      auto it = d_.locals.find(source.substr(6));
      if (it == d_.locals.end()) return std::nullopt;
      if (it->second.is_object()) return it->second;
      if (it->second.is_string()) return Entries(it->second.get<std::string>());
      return std::nullopt;
    }
    const Json* body = Body(source);
    if (body == nullptr || !body->contains("for_each")) return std::nullopt;
    return Entries((*body)["for_each"].get<std::string>());
  }

  // The filters the generator writes: `v.field == "literal"`, `v.field` (a boolean), and the
  // wave selection `contains(var.waves, v.wave)` (every wave, by default).
  static bool Keeps(const std::string& filter, const std::string& name, const Json& value) {
    // `a && b`: each conjunct; one on variables (the wave selection, var.nat_gateway, lengths
    // of var lists) is taken as true, so the elements are those of the widest selection.
    if (size_t and_at = filter.find("&&"); and_at != std::string::npos) {
      return Keeps(filter.substr(0, and_at), name, value) &&
             Keeps(filter.substr(and_at + 2), name, value);
    }
    if (filter.empty() || filter.find("var.") != std::string::npos) return true;
    std::smatch m;
    static const std::regex kEquals(R"re(^\s*(\w+)\.(\w+) == "([^"]*)"\s*$)re");
    if (std::regex_match(filter, m, kEquals) && m[1] == name) {
      return value.is_object() && value.value(m[2].str(), "") == m[3].str();
    }
    static const std::regex kFlag(R"(^\s*(\w+)\.(\w+)\s*$)");
    if (std::regex_match(filter, m, kFlag) && m[1] == name) {
      return value.is_object() && value.value(m[2].str(), false);
    }
    ADD_FAILURE() << "the test cannot evaluate the filter `" << filter << "`";
    return true;
  }

  const Declared& d_;
};

struct CheckCounts {
  int references = 0;
  int index_checks = 0;
};

// Every reference resolves, and every index names a key of its map for every element.
CheckCounts CheckReferences(const Json& files) {
  const Declared d = Collect(files);
  Evaluator eval(d);
  CheckCounts counts;
  static const std::regex kVarOrLocal(R"((?:^|[^\w.])(var|local)\.([A-Za-z_][\w-]*))");
  static const std::regex kData(R"((?:^|[^\w.])data\.([a-z0-9_]+)\.([a-z0-9_]+))");
  static const std::regex kResource(
      R"((?:^|[^\w.])((?:aws|azurerm|google|random)_[a-z0-9_]+)\.([a-z0-9_]+))");
  static const std::regex kIndex(
      R"re(((?:data\.)?(?:aws|azurerm|google|random)_[a-z0-9_]+\.[a-z0-9_]+|local\.\w+|var\.\w+)\[(each\.key|each\.value\.(\w+)|"([^"]+)")\])re");

  auto check_block = [&](const std::string& where, const Json& body) {
    std::optional<Json> elements;
    if (body.is_object() && body.contains("for_each")) {
      elements = eval.Entries(body["for_each"].get<std::string>());
    }
    std::vector<std::string> strings;
    Strings(body, &strings);
    for (const std::string& s : strings) {
      if (s.find("${") == std::string::npos) continue;
      // `cond ? local.map : {}` fails in Terraform ("inconsistent conditional result types"):
      // an object of elements and an empty object are two types.
      static const std::regex kEmptyBranch(R"(\?[^?:]+:\s*\{\s*\})");
      EXPECT_FALSE(std::regex_search(s, kEmptyBranch))
          << where << ": a conditional with an empty object on one side: " << s;
      for (auto it = std::sregex_iterator(s.begin(), s.end(), kVarOrLocal);
           it != std::sregex_iterator(); ++it) {
        const std::string kind = (*it)[1], name = (*it)[2];
        const bool ok = kind == "var" ? d.variables.contains(name) : d.locals.contains(name);
        EXPECT_TRUE(ok) << where << ": " << kind << "." << name << " is not declared, in " << s;
        ++counts.references;
      }
      for (auto it = std::sregex_iterator(s.begin(), s.end(), kData); it != std::sregex_iterator();
           ++it) {
        const std::string key = "data." + (*it)[1].str() + "." + (*it)[2].str();
        EXPECT_TRUE(d.data.contains(key)) << where << ": " << key << " is not declared";
        ++counts.references;
      }
      for (auto it = std::sregex_iterator(s.begin(), s.end(), kResource);
           it != std::sregex_iterator(); ++it) {
        const std::string key = (*it)[1].str() + "." + (*it)[2].str();
        EXPECT_TRUE(d.resources.contains(key)) << where << ": " << key << " is not declared";
        ++counts.references;
      }
      for (auto it = std::sregex_iterator(s.begin(), s.end(), kIndex); it != std::sregex_iterator();
           ++it) {
        const std::string target = (*it)[1], index = (*it)[2], field = (*it)[3], literal = (*it)[4];
        std::optional<std::set<std::string>> keys = eval.KeysOf(target);
        if (!keys) continue;  // a var-driven map (public ingress) or a count index
        if (!literal.empty()) {
          EXPECT_TRUE(keys->contains(literal))
              << where << ": " << target << "[\"" << literal << "\"]: no such key";
          ++counts.index_checks;
          continue;
        }
        if (!elements) continue;
        for (const auto& [key, value] : elements->items()) {
          std::string want = key;
          if (index != "each.key") {
            ASSERT_TRUE(value.is_object() && value.contains(field) && value[field].is_string())
                << where << "[" << key << "]: each.value." << field << " is missing";
            want = value[field].get<std::string>();
          }
          EXPECT_TRUE(keys->contains(want))
              << where << "[" << key << "]: " << target << "[" << want << "]: no such key";
          ++counts.index_checks;
        }
      }
    }
  };
  for (const auto& [key, body] : d.resources) check_block(key, body);
  for (const auto& [key, body] : d.data) check_block(key, body);
  for (const auto& [name, value] : d.locals) check_block("local." + name, value);
  for (const auto& [file, doc] : files.items()) {
    if (doc.contains("output")) check_block(file + " outputs", doc["output"]);
  }
  return counts;
}

// The plan with one database of each engine ferry provisions: PostgreSQL, MySQL, SQL Server.
Json PlanWithEveryEngine() {
  Json json = ThreeTierPlanJson();
  int k = 0;
  for (Json& s : json["servers"]) {
    if (s.value("database_engine", "") != "postgresql") continue;
    if (k % 3 == 1) s["database_engine"] = "mysql";
    if (k % 3 == 2) s["database_engine"] = "sqlserver";
    ++k;
  }
  EXPECT_GE(k, 3);
  return json;
}

class TerraformTest : public ::testing::TestWithParam<Cloud> {};

void GenerateParseAndCheck(const Json& plan_json, Cloud cloud, const std::string& dir) {
  Result<IacPlan> plan = ReadPlanJson(plan_json, "plan.json");
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  IacModel model = BuildModel(*plan, cloud);
  std::vector<TerraformFile> files = RenderTerraform(model);
  Status written = WriteTerraform(files, dir, false, Env::Default());
  ASSERT_TRUE(written.ok()) << written.ToString();

  Result<Json> parsed = ParseWithHcl(dir);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  const Json& tf = (*parsed)["files"];
  std::set<std::string> parsed_names, written_names;
  for (const auto& [name, doc] : tf.items()) parsed_names.insert(name);
  for (const TerraformFile& f : files) {
    if (f.name.ends_with(".tf")) written_names.insert(f.name);
  }
  EXPECT_EQ(parsed_names, written_names);
  for (const char* required : {"versions.tf", "variables.tf", "locals.tf", "network.tf",
                               "security.tf", "compute.tf", "outputs.tf"}) {
    EXPECT_TRUE(parsed_names.contains(required)) << required;
  }

  CheckCounts counts = CheckReferences(tf);
  EXPECT_GT(counts.references, 40);
  EXPECT_GT(counts.index_checks, 60);  // the checker evaluated the for_each maps

  // The security rules are the flows of the plan's dependencies, no more, no less.
  const Declared d = Collect(tf);
  std::set<FlowKey> flows;
  for (const auto& [key, f] : d.locals.at("flows").items()) {
    flows.insert({f["from"], f["to"], f["protocol"], f["port"].get<int>()});
  }
  EXPECT_EQ(flows, ExpectedFlows(plan_json, plan::CloudName(cloud)));

  // Each machine has the plan's balanced type, and the resources iterate over them.
  const std::string cloud_name(plan::CloudName(cloud));
  std::map<std::string, std::string> balanced;
  for (const Json& s : plan_json["servers"]) {
    const Json& b = s["sizing"]["options"]["balanced"];
    if (b.contains(cloud_name) && b[cloud_name].is_string()) balanced[s["name"]] = b[cloud_name];
  }
  const Json& machines = d.locals.at("machines");
  EXPECT_EQ(machines.size(), model.machines.size());
  for (const auto& [name, m] : machines.items()) {
    EXPECT_EQ(m["instance_type"], balanced.at(name)) << name;
  }
  const std::map<Cloud, std::string> vm = {{Cloud::kAws, "aws_instance.server"},
                                           {Cloud::kAzure, "azurerm_linux_virtual_machine.server"},
                                           {Cloud::kGcp, "google_compute_instance.server"}};
  ASSERT_TRUE(d.resources.contains(vm.at(cloud)));
  EXPECT_EQ(d.resources.at(vm.at(cloud))["for_each"], "${local.selected_machines}");
  EXPECT_EQ(d.locals.at("databases").size(), model.databases.size());
}

TEST_P(TerraformTest, ParsesAndEveryReferenceResolves) {
  const std::string dir = TempDir(std::string(plan::CloudName(GetParam())));
  GenerateParseAndCheck(ThreeTierPlanJson(), GetParam(), dir);
  std::filesystem::remove_all(dir);
}

TEST_P(TerraformTest, EveryDatabaseEngineParsesAndResolves) {
  const std::string dir = TempDir(std::string(plan::CloudName(GetParam())) + "-engines");
  const Json plan = PlanWithEveryEngine();
  GenerateParseAndCheck(plan, GetParam(), dir);
  Result<Json> parsed = ParseWithHcl(dir);
  ASSERT_TRUE(parsed.has_value());
  const Declared d = Collect((*parsed)["files"]);
  std::set<std::string> engines;
  for (const auto& [name, db] : d.locals.at("databases").items()) engines.insert(db["engine"]);
  EXPECT_EQ(engines, (std::set<std::string>{"mysql", "postgresql", "sqlserver"}));
  switch (GetParam()) {
    case Cloud::kAws: EXPECT_TRUE(d.resources.contains("aws_db_instance.database")); break;
    case Cloud::kAzure:
      for (const char* r :
           {"azurerm_postgresql_flexible_server.database", "azurerm_mysql_flexible_server.database",
            "azurerm_mssql_server.database", "azurerm_mssql_database.database",
            "azurerm_private_endpoint.database"}) {
        EXPECT_TRUE(d.resources.contains(r)) << r;
      }
      break;
    case Cloud::kGcp:
      EXPECT_TRUE(d.resources.contains("google_sql_database_instance.database"));
      EXPECT_TRUE(d.resources.contains("random_password.database"));
      break;
  }
  std::filesystem::remove_all(dir);
}

TEST_P(TerraformTest, TheParserRejectsBrokenHclSoTheCheckCanFail) {
  // The oracle itself: a file cut short does not parse.
  const std::string dir = TempDir(std::string(plan::CloudName(GetParam())) + "-broken");
  Result<IacPlan> plan = ReadPlanJson(ThreeTierPlanJson(), "plan.json");
  ASSERT_TRUE(plan.has_value());
  std::vector<TerraformFile> files = RenderTerraform(BuildModel(*plan, GetParam()));
  for (TerraformFile& f : files) {
    if (f.name == "network.tf") f.text.resize(f.text.size() - 3);
  }
  ASSERT_TRUE(WriteTerraform(files, dir, false, Env::Default()).ok());
  Result<Json> parsed = ParseWithHcl(dir);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_THAT(parsed.error().message(), HasSubstr("network.tf"));
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Clouds, TerraformTest,
                         ::testing::Values(Cloud::kAws, Cloud::kAzure, Cloud::kGcp),
                         [](const ::testing::TestParamInfo<Cloud>& param) {
                           return std::string(plan::CloudName(param.param));
                         });

TEST(TerraformCheckerTest, AnUndeclaredReferenceOrAMissingKeyIsCaught) {
  // The reference checker on hand-made documents: it must fail where Terraform would.
  const Json files = Json::parse(R"json({
    "a.tf": {
      "locals": [{"subnets": {"prod-web": {"netnum": 1}},
                  "machines": {"web1": {"subnet": "prod-app"}}}],
      "resource": {
        "aws_subnet": {"tier": [{"for_each": "${local.subnets}"}]},
        "aws_instance": {"server": [{"for_each": "${local.machines}",
                                     "subnet_id": "${aws_subnet.tier[each.value.subnet].id}",
                                     "ami": "${data.aws_ami.missing.id}"}]}}},
    "b.tf": {
      "resource": {
        "aws_route_table_association": {
          "x": [{"for_each": "${var.nat ? local.subnets : {}}"}]}}}})json");
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    CheckReferences(files);
  }
  std::string messages;
  for (int i = 0; i < failures.size(); ++i) messages += failures.GetTestPartResult(i).message();
  EXPECT_THAT(messages, HasSubstr("aws_subnet.tier[prod-app]: no such key"));
  EXPECT_THAT(messages, HasSubstr("data.aws_ami.missing is not declared"));
  EXPECT_THAT(messages, HasSubstr("a conditional with an empty object on one side"));
  EXPECT_THAT(messages, HasSubstr("var.nat is not declared"));
}

TEST(WriteTerraformTest, KeepsAUsersOwnFileAndRemovesStaleGeneratedOnes) {
  const std::string dir = TempDir("write");
  Env* env = Env::Default();
  ASSERT_TRUE(env->WriteFileAtomic(dir + "/network.tf", "# my own network\n").ok());
  std::vector<TerraformFile> files = {{"network.tf", "# Generated by ferry iac\n"},
                                      {"databases.tf", "# Generated by ferry iac\n"}};
  Status refused = WriteTerraform(files, dir, false, env);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.message(), HasSubstr("network.tf: exists and was not generated by ferry"));
  EXPECT_THAT(refused.message(), HasSubstr("--force"));
  // Nothing was written: the check comes before any write.
  EXPECT_FALSE(env->FileExists(dir + "/databases.tf"));
  EXPECT_EQ(*env->ReadFile(dir + "/network.tf"), "# my own network\n");

  ASSERT_TRUE(WriteTerraform(files, dir, true, env).ok());
  EXPECT_EQ(*env->ReadFile(dir + "/network.tf"), "# Generated by ferry iac\n");
  ASSERT_TRUE(env->WriteFileAtomic(dir + "/extra.tf", "# a user's file\n").ok());

  // The next generation has no databases: its stale databases.tf goes, the user's file stays.
  ASSERT_TRUE(WriteTerraform({files[0]}, dir, false, env).ok());
  EXPECT_FALSE(env->FileExists(dir + "/databases.tf"));
  EXPECT_TRUE(env->FileExists(dir + "/extra.tf"));
  std::filesystem::remove_all(dir);
}

TEST(RenderTerraformTest, FilesNameTheirPlanAndTheReadmeListsWhatWasLeftOut) {
  Result<IacPlan> plan = ReadPlanJson(ThreeTierPlanJson(), "inventories/plan.json");
  ASSERT_TRUE(plan.has_value());
  IacModel model = BuildModel(*plan, Cloud::kAws);
  std::vector<TerraformFile> files = RenderTerraform(model);
  ASSERT_FALSE(files.empty());
  for (const TerraformFile& f : files) {
    EXPECT_NE(f.text.substr(0, 200).find(kGeneratedMarker), std::string::npos) << f.name;
    EXPECT_THAT(f.text.substr(0, 300), HasSubstr("inventories/plan.json")) << f.name;
  }
  const TerraformFile& readme = files.back();
  ASSERT_EQ(readme.name, "README.md");
  for (const Unprovisioned& u : model.unprovisioned) {
    EXPECT_THAT(readme.text, HasSubstr("| " + u.name + " | " + u.strategy + " |"));
  }
  EXPECT_THAT(readme.text, HasSubstr("terraform apply -var 'waves=[1]'"));
}

}  // namespace
}  // namespace ferry::iac
