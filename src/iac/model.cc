#include "iac/model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>

#include "base/hash.h"

namespace ferry::iac {
namespace {

// Members of the plan JSON, with errors that name the source and the JSON path.
class PlanReader {
 public:
  explicit PlanReader(const std::string& source) : source_(source) {}

  Status Missing(const std::string& path) const {
    return InvalidArgument(
        "{}: {}: missing; is this the JSON of `ferry plan --out plan.json`? Make the plan again",
        source_, path);
  }
  Status WrongType(const std::string& path, std::string_view want) const {
    return InvalidArgument("{}: {}: expected {}; make the plan again with `ferry plan`", source_,
                           path, want);
  }

  Result<const Json*> Member(const Json& object, const std::string& path, std::string_view key,
                             Json::value_t type) const {
    auto it = object.find(key);
    const std::string where = path.empty() ? std::string(key) : path + "." + std::string(key);
    if (it == object.end()) return Err(Missing(where));
    const bool number_ok = type == Json::value_t::number_float && it->is_number();
    const bool integer_ok = type == Json::value_t::number_integer && it->is_number_integer();
    if (it->type() != type && !number_ok && !integer_ok) {
      return Err(WrongType(where, TypeWord(type)));
    }
    return &*it;
  }
  Result<std::string> String(const Json& object, const std::string& path,
                             std::string_view key) const {
    FERRY_ASSIGN_OR_RETURN(const Json* value, Member(object, path, key, Json::value_t::string));
    return value->get<std::string>();
  }
  Result<int64_t> Integer(const Json& object, const std::string& path, std::string_view key) const {
    FERRY_ASSIGN_OR_RETURN(const Json* value,
                           Member(object, path, key, Json::value_t::number_integer));
    return value->get<int64_t>();
  }
  Result<double> Number(const Json& object, const std::string& path, std::string_view key) const {
    FERRY_ASSIGN_OR_RETURN(const Json* value,
                           Member(object, path, key, Json::value_t::number_float));
    return value->get<double>();
  }

 private:
  static std::string_view TypeWord(Json::value_t type) {
    switch (type) {
      case Json::value_t::object: return "an object";
      case Json::value_t::array: return "an array";
      case Json::value_t::string: return "a string";
      case Json::value_t::number_integer: return "an integer";
      case Json::value_t::number_float: return "a number";
      default: return "a value";
    }
  }
  const std::string& source_;
};

Result<PlannedServer> ReadServer(const PlanReader& r, const Json& s, const std::string& path) {
  if (!s.is_object()) return Err(r.WrongType(path, "an object"));
  PlannedServer server;
  FERRY_ASSIGN_OR_RETURN(server.name, r.String(s, path, "name"));
  FERRY_ASSIGN_OR_RETURN(server.environment, r.String(s, path, "environment"));
  FERRY_ASSIGN_OR_RETURN(const Json* roles, r.Member(s, path, "roles", Json::value_t::array));
  for (const Json& role : *roles) {
    if (role.is_string()) server.roles.push_back(role.get<std::string>());
  }
  if (auto engine = s.find("database_engine"); engine != s.end() && engine->is_string()) {
    server.database_engine = engine->get<std::string>();
  }
  FERRY_ASSIGN_OR_RETURN(server.architecture, r.String(s, path, "architecture"));
  if (auto os = s.find("os"); os != s.end() && os->is_string()) server.os = os->get<std::string>();
  FERRY_ASSIGN_OR_RETURN(int64_t wave, r.Integer(s, path, "wave"));
  server.wave = static_cast<int>(wave);
  FERRY_ASSIGN_OR_RETURN(const Json* strategy,
                         r.Member(s, path, "strategy", Json::value_t::object));
  FERRY_ASSIGN_OR_RETURN(server.strategy, r.String(*strategy, path + ".strategy", "name"));
  if (auto target = strategy->find("target"); target != strategy->end() && target->is_string()) {
    server.target = target->get<std::string>();
  }
  FERRY_ASSIGN_OR_RETURN(const Json* sizing, r.Member(s, path, "sizing", Json::value_t::object));
  const std::string sizing_path = path + ".sizing";
  FERRY_ASSIGN_OR_RETURN(server.storage_gb, r.Number(*sizing, sizing_path, "storage_gb"));
  FERRY_ASSIGN_OR_RETURN(const Json* options,
                         r.Member(*sizing, sizing_path, "options", Json::value_t::object));
  FERRY_ASSIGN_OR_RETURN(const Json* balanced, r.Member(*options, sizing_path + ".options",
                                                        "balanced", Json::value_t::object));
  for (Cloud cloud : plan::kAllClouds) {
    auto type = balanced->find(plan::CloudName(cloud));
    if (type != balanced->end() && type->is_string()) {
      server.balanced[cloud] = type->get<std::string>();
    }
  }
  return server;
}

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool HasRole(const std::vector<std::string>& roles, std::string_view role) {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

// The managed database engines each cloud's Terraform provisions.
bool ManagedEngine(std::string_view engine) {
  return engine == "postgresql" || engine == "mysql" || engine == "sqlserver";
}

// The smallest of `sizes` at least `want`, else the largest.
int AtLeast(std::initializer_list<int> sizes, double want) {
  int last = 0;
  for (int size : sizes) {
    last = size;
    if (size >= want) return size;
  }
  return last;
}

// An AWS size suffix of `vcpus`: 2 large, 4 xlarge, 8 2xlarge...
std::string AwsSizeSuffix(int vcpus) {
  if (vcpus <= 2) return "large";
  if (vcpus <= 4) return "xlarge";
  return fmt::format("{}xlarge", vcpus / 4);
}

std::string AwsDatabaseClass(std::string_view engine, std::string_view type, int vcpus,
                             double memory_gib) {
  // RDS offers these families of the catalogue's as DB instance classes (db.<type>); SQL
  // Server only on x86_64.
  static constexpr std::array<std::string_view, 13> kRds = {
      "t3", "t4g", "m5", "m6i", "m6g", "m7i", "m7g", "r5", "r6i", "r6g", "r7i", "r7g", "x2idn"};
  const std::string_view family = type.substr(0, type.find('.'));
  const bool graviton = family.ends_with('g');
  if (std::find(kRds.begin(), kRds.end(), family) != kRds.end() &&
      !(engine == "sqlserver" && graviton)) {
    return "db." + std::string(type);
  }
  // Otherwise (compute-optimised c6i, c7i...) the general-purpose or memory-optimised class
  // with at least the vCPUs and the memory.
  const double per_vcpu = memory_gib / std::max(1, vcpus);
  const std::string_view base = per_vcpu > 4 ? "r6i" : "m6i";
  const double ratio = per_vcpu > 4 ? 8 : 4;
  const int size =
      AtLeast({2, 4, 8, 16, 32, 48, 64, 96, 128}, std::max<double>(vcpus, memory_gib / ratio));
  return fmt::format("db.{}.{}", base, AwsSizeSuffix(size));
}

std::string AzureDatabaseClass(std::string_view engine, int vcpus, double memory_gib) {
  const double per_vcpu = memory_gib / std::max(1, vcpus);
  if (engine == "sqlserver") {
    // Azure SQL Database, vCore model, General Purpose, standard-series (Gen5).
    return fmt::format("GP_Gen5_{}", AtLeast({2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 24, 32, 40, 80},
                                             std::max<double>(vcpus, memory_gib / 5.1)));
  }
  // Flexible servers: General Purpose D-series (4 GiB a vCPU) or Memory Optimized E-series
  // (8 GiB a vCPU); MySQL's names are of the v4 generation, PostgreSQL's of v5.
  const bool memory = per_vcpu > 4;
  const int size = AtLeast({2, 4, 8, 16, 32, 48, 64},
                           std::max<double>(vcpus, memory_gib / (memory ? 8.0 : 4.0)));
  const std::string_view generation = engine == "mysql" ? "v4" : "v5";
  return fmt::format("{}_Standard_{}{}ds_{}", memory ? "MO" : "GP", memory ? "E" : "D", size,
                     generation);
}

std::string GcpDatabaseClass(int vcpus, double memory_gib) {
  // Cloud SQL custom machine types: 1 or an even number of vCPUs up to 96, memory from 0.9 to
  // 6.5 GiB per vCPU in multiples of 256 MiB.
  int cpus = std::max(1, vcpus);
  if (cpus > 1 && cpus % 2 == 1) ++cpus;
  while (memory_gib > 6.5 * cpus && cpus < 96) cpus = cpus == 1 ? 2 : cpus + 2;
  cpus = std::min(cpus, 96);
  double mib = std::max(memory_gib, 0.9 * cpus) * 1024;
  mib = std::min(mib, 6.5 * cpus * 1024);
  const int64_t rounded = static_cast<int64_t>(std::ceil(mib / 256.0)) * 256;
  return fmt::format("db-custom-{}-{}", cpus, rounded);
}

Status CheckVersion(const PlanReader& r, const Json& document, const std::string& source) {
  FERRY_ASSIGN_OR_RETURN(int64_t version, r.Integer(document, "", "plan_version"));
  if (version > kPlanVersionRead) {
    return FailedPrecondition(
        "{}: plan_version {} is newer than this ferry reads ({}); upgrade ferry, or make the plan "
        "with this ferry's `ferry plan`",
        source, version, kPlanVersionRead);
  }
  return OkStatus();
}

// plan_version, date, generator, options.regions and instance_types.
Status ReadHeader(const PlanReader& r, const Json& document, IacPlan* plan) {
  FERRY_ASSIGN_OR_RETURN(int64_t version, r.Integer(document, "", "plan_version"));
  plan->plan_version = static_cast<int>(version);
  FERRY_ASSIGN_OR_RETURN(plan->date, r.String(document, "", "date"));
  if (auto generator = document.find("generator");
      generator != document.end() && generator->is_object()) {
    plan->generator =
        fmt::format("{} {}", generator->value("name", "ferry"), generator->value("version", ""));
  }
  FERRY_ASSIGN_OR_RETURN(const Json* options,
                         r.Member(document, "", "options", Json::value_t::object));
  if (auto regions = options->find("regions"); regions != options->end() && regions->is_object()) {
    for (const auto& [name, region] : regions->items()) {
      auto cloud = plan::ParseCloud(name);
      if (cloud && region.is_string()) plan->regions[*cloud] = region.get<std::string>();
    }
  }
  if (auto types = document.find("instance_types"); types != document.end() && types->is_object()) {
    for (const auto& [cloud_name, by_type] : types->items()) {
      auto cloud = plan::ParseCloud(cloud_name);
      if (!cloud || !by_type.is_object()) continue;
      for (const auto& [name, type] : by_type.items()) {
        const std::string path = fmt::format("instance_types.{}.{}", cloud_name, name);
        PlannedType planned;
        FERRY_ASSIGN_OR_RETURN(int64_t vcpus, r.Integer(type, path, "vcpus"));
        planned.vcpus = static_cast<int>(vcpus);
        FERRY_ASSIGN_OR_RETURN(planned.memory_gib, r.Number(type, path, "memory_gib"));
        FERRY_ASSIGN_OR_RETURN(planned.architecture, r.String(type, path, "architecture"));
        plan->instance_types[*cloud][name] = planned;
      }
    }
  }
  return OkStatus();
}

Result<PlannedDependency> ReadDependency(const PlanReader& r, const Json& edge,
                                         const std::string& path, const std::string& source) {
  if (!edge.is_object()) return Err(r.WrongType(path, "an object"));
  PlannedDependency d;
  FERRY_ASSIGN_OR_RETURN(d.from, r.String(edge, path, "from"));
  FERRY_ASSIGN_OR_RETURN(d.to, r.String(edge, path, "to"));
  FERRY_ASSIGN_OR_RETURN(int64_t port, r.Integer(edge, path, "port"));
  if (port < 0 || port > 65535) {
    return Err(InvalidArgument("{}: {}.port: {} is not a port (0 to 65535)", source, path, port));
  }
  d.port = static_cast<int>(port);
  FERRY_ASSIGN_OR_RETURN(d.protocol, r.String(edge, path, "protocol"));
  d.service = edge.value("service", "");
  d.frequency = edge.value("frequency", int64_t{1});
  return d;
}

}  // namespace

Result<IacPlan> ReadPlanJson(const Json& document, const std::string& source) {
  PlanReader r(source);
  if (!document.is_object()) return Err(r.WrongType("the document", "an object"));
  IacPlan plan;
  plan.source = source;
  FERRY_RETURN_IF_ERROR(CheckVersion(r, document, source));
  FERRY_RETURN_IF_ERROR(ReadHeader(r, document, &plan));
  FERRY_ASSIGN_OR_RETURN(const Json* servers,
                         r.Member(document, "", "servers", Json::value_t::array));
  plan.servers.reserve(servers->size());
  std::set<int> waves;
  for (size_t i = 0; i < servers->size(); ++i) {
    FERRY_ASSIGN_OR_RETURN(PlannedServer server,
                           ReadServer(r, (*servers)[i], fmt::format("servers[{}]", i)));
    waves.insert(server.wave);
    plan.servers.push_back(std::move(server));
  }
  plan.waves.assign(waves.begin(), waves.end());
  FERRY_ASSIGN_OR_RETURN(const Json* dependencies,
                         r.Member(document, "", "dependencies", Json::value_t::object));
  FERRY_ASSIGN_OR_RETURN(const Json* list,
                         r.Member(*dependencies, "dependencies", "list", Json::value_t::array));
  plan.dependencies.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    FERRY_ASSIGN_OR_RETURN(
        PlannedDependency d,
        ReadDependency(r, (*list)[i], fmt::format("dependencies.list[{}]", i), source));
    plan.dependencies.push_back(std::move(d));
  }
  return plan;
}

Result<IacPlan> ReadPlanText(std::string_view text, const std::string& source) {
  // The plan of 100,000 servers is some 250 MB of JSON: read each server and dependency as the
  // parser finishes it and drop it, and skip what infrastructure does not use, so that only the
  // model is held (not the document).
  static const std::set<std::string_view> kTopLevel = {
      "plan_version", "date", "generator", "options", "servers", "instance_types", "dependencies"};
  static const std::set<std::string_view> kServerSkipped = {
      "source",       "environment_reason", "placement",         "component",
      "coupled_with", "dependencies",       "dependents",        "criticality",
      "complexity",   "end_of_life",        "reasons",           "basis",
      "basis_reason", "confidence_stars",   "confidence_reason", "egress_gb_per_month",
      "recommended",  "conservative",       "aggressive",        "balanced_usd_per_month"};
  PlanReader r(source);
  IacPlan plan;
  plan.source = source;
  Status failed;
  std::string top;     // the top-level member being read
  std::string second;  // the member of `dependencies` being read
  bool saw_servers = false, saw_list = false;
  int64_t servers = 0, dependencies = 0;
  std::set<int> waves;
  auto filter = [&](int depth, Json::parse_event_t event, Json& parsed) -> bool {
    using Event = Json::parse_event_t;
    if (!failed.ok()) return false;
    switch (event) {
      case Event::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (depth == 1) {
          top = key;
          return kTopLevel.contains(key);
        }
        if (top == "servers") return !kServerSkipped.contains(key);
        if (top == "dependencies" && depth == 2) {
          second = key;
          return key == "list";
        }
        return true;
      }
      case Event::value:
        if (depth == 1 && top == "plan_version") {
          failed = CheckVersion(r, Json{{"plan_version", parsed}}, source);
        }
        return true;
      case Event::array_start:
        saw_servers |= depth == 1 && top == "servers";
        saw_list |= depth == 2 && top == "dependencies" && second == "list";
        return true;
      case Event::object_end:
        if (depth == 2 && top == "servers") {
          auto server = ReadServer(r, parsed, fmt::format("servers[{}]", servers++));
          if (!server) {
            failed = server.error();
          } else {
            waves.insert(server->wave);
            plan.servers.push_back(std::move(*server));
          }
          return false;
        }
        if (depth == 3 && top == "dependencies") {
          auto d = ReadDependency(r, parsed, fmt::format("dependencies.list[{}]", dependencies++),
                                  source);
          if (!d) {
            failed = d.error();
          } else {
            plan.dependencies.push_back(std::move(*d));
          }
          return false;
        }
        return true;
      default: return true;
    }
  };
  Result<Json> rest = ParseJsonFiltered(text, source, filter);
  FERRY_RETURN_IF_ERROR(failed);
  if (!rest) return Err(rest.error());
  if (!rest->is_object()) return Err(r.WrongType("the document", "an object"));
  FERRY_RETURN_IF_ERROR(CheckVersion(r, *rest, source));
  FERRY_RETURN_IF_ERROR(ReadHeader(r, *rest, &plan));
  if (!saw_servers) {
    return Err(rest->contains("servers") ? r.WrongType("servers", "an array")
                                         : r.Missing("servers"));
  }
  if (!saw_list) {
    FERRY_ASSIGN_OR_RETURN(const Json* d,
                           r.Member(*rest, "", "dependencies", Json::value_t::object));
    FERRY_RETURN_IF_ERROR(StatusOf(r.Member(*d, "dependencies", "list", Json::value_t::array)));
  }
  plan.waves.assign(waves.begin(), waves.end());
  return plan;
}

Result<IacPlan> ReadPlanFile(const std::string& path, Env* env) {
  auto text = env->ReadFile(path);
  if (!text) {
    return Err(text.error().WithContext(
        fmt::format("--plan {}: cannot read the plan; write one with `ferry plan --inventory DIR "
                    "--out plan.json`",
                    path)));
  }
  return ReadPlanText(*text, path);
}

std::string_view TierName(Tier tier) {
  switch (tier) {
    case Tier::kWeb: return "web";
    case Tier::kApp: return "app";
    case Tier::kData: return "data";
    case Tier::kManagement: return "mgmt";
  }
  return "app";
}

Tier TierOfRoles(const std::vector<std::string>& roles) {
  for (std::string_view role : {"database", "cache", "queue", "file-server"}) {
    if (HasRole(roles, role)) return Tier::kData;
  }
  for (std::string_view role : {"load-balancer", "web"}) {
    if (HasRole(roles, role)) return Tier::kWeb;
  }
  for (std::string_view role : {"dns", "directory", "monitoring"}) {
    if (HasRole(roles, role)) return Tier::kManagement;
  }
  return Tier::kApp;
}

std::string_view EnvironmentShortName(std::string_view environment) {
  return environment == "production" ? "prod" : "nonprod";
}

std::string CloudSafeName(std::string_view name, size_t max_length) {
  std::string out;
  out.reserve(name.size() + 2);
  for (char c : Lowercase(name)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (ok) {
      out.push_back(c);
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.empty()) {
    out = "s";
  } else if (!(out[0] >= 'a' && out[0] <= 'z')) {
    out.insert(0, "s-");
  }
  if (out.size() > max_length) {
    // Cut, and keep two long names apart by a hash of the whole original name.
    const std::string tag = Sha256Hex(name).substr(0, 6);
    out.resize(max_length - tag.size() - 1);
    while (!out.empty() && out.back() == '-') out.pop_back();
    out += "-" + tag;
  }
  return out;
}

std::string DatabaseClass(Cloud cloud, std::string_view engine, std::string_view instance_type,
                          int vcpus, double memory_gib) {
  switch (cloud) {
    case Cloud::kAws: return AwsDatabaseClass(engine, instance_type, vcpus, memory_gib);
    case Cloud::kAzure: return AzureDatabaseClass(engine, vcpus, memory_gib);
    case Cloud::kGcp: return GcpDatabaseClass(vcpus, memory_gib);
  }
  return "";
}

IacModel BuildModel(const IacPlan& plan, Cloud cloud) {
  IacModel model;
  model.cloud = cloud;
  auto region = plan.regions.find(cloud);
  model.region = region != plan.regions.end() ? region->second : "";
  model.plan_source = plan.source;
  model.plan_date = plan.date;
  model.generator = plan.generator;

  static const std::map<std::string, PlannedType> kNoTypes;
  auto types_it = plan.instance_types.find(cloud);
  const std::map<std::string, PlannedType>& types =
      types_it != plan.instance_types.end() ? types_it->second : kNoTypes;

  // What each server becomes. `where[name]` is the subnet key of a provisioned server.
  std::unordered_map<std::string, std::string> where;
  std::unordered_map<std::string, std::string> why_not;  // name -> reason
  std::set<std::string> used_names;
  std::set<std::pair<std::string, Tier>> subnet_keys;  // (environment, tier)
  std::set<int> waves;
  for (const PlannedServer& s : plan.servers) {
    auto skip = [&](std::string reason) {
      why_not[s.name] = reason;
      model.unprovisioned.push_back({s.name, s.strategy, std::move(reason)});
    };
    if (s.strategy == "retire") {
      skip("retire: decommission it (confirm with its owner, archive its data)");
      continue;
    }
    if (s.strategy == "retain" || s.strategy == "encapsulate") {
      skip(fmt::format("{}: stays on premises{}", s.strategy,
                       s.target.empty() ? "" : " (" + s.target + ")"));
      continue;
    }
    if (s.strategy == "repurchase") {
      skip(fmt::format("repurchase: replaced by {}, not a server of the estate",
                       s.target.empty() ? "a managed service" : s.target));
      continue;
    }
    auto balanced = s.balanced.find(cloud);
    if (balanced == s.balanced.end()) {
      skip(fmt::format("no instance type of {} fits it in the plan (see its sizing risk)",
                       plan::CloudName(cloud)));
      continue;
    }
    Resource r;
    r.name = s.name;
    r.environment = s.environment;
    r.tier = TierOfRoles(s.roles);
    r.subnet = fmt::format("{}-{}", EnvironmentShortName(s.environment), TierName(r.tier));
    r.wave = s.wave;
    r.strategy = s.strategy;
    r.instance_type = balanced->second;
    if (auto type = types.find(r.instance_type); type != types.end()) {
      r.vcpus = type->second.vcpus;
      r.memory_gib = type->second.memory_gib;
      r.architecture = type->second.architecture;
    }
    if (r.architecture.empty()) r.architecture = s.architecture == "aarch64" ? "aarch64" : "x86_64";
    r.storage_gb = static_cast<int>(std::ceil(std::max(10.0, s.storage_gb)));
    std::string base = CloudSafeName(s.name, 40);
    r.resource_name = base;
    for (int n = 2; !used_names.insert(r.resource_name).second; ++n) {
      r.resource_name = fmt::format("{}-{}", base, n);
    }
    if (s.strategy == "replatform" && HasRole(s.roles, "database") &&
        ManagedEngine(s.database_engine)) {
      r.kind = Kind::kManagedDatabase;
      r.engine = s.database_engine;
      r.database_class = DatabaseClass(cloud, r.engine, r.instance_type, r.vcpus, r.memory_gib);
    } else if (s.strategy != "rehost") {
      r.stand_in_for = s.target.empty() ? s.strategy : s.target;
    }
    where[s.name] = r.subnet;
    subnet_keys.insert({s.environment, r.tier});
    waves.insert(r.wave);
    (r.kind == Kind::kManagedDatabase ? model.databases : model.machines).push_back(std::move(r));
  }
  auto by_name = [](const Resource& a, const Resource& b) { return a.name < b.name; };
  std::sort(model.machines.begin(), model.machines.end(), by_name);
  std::sort(model.databases.begin(), model.databases.end(), by_name);
  std::sort(model.unprovisioned.begin(), model.unprovisioned.end(),
            [](const Unprovisioned& a, const Unprovisioned& b) { return a.name < b.name; });
  model.waves.assign(waves.begin(), waves.end());

  // Subnets: production first, then by tier; netnums from 1 (0 is left for the cloud's own use).
  int netnum = 1;
  for (const char* environment : {"production", "non-production"}) {
    for (Tier tier : {Tier::kWeb, Tier::kApp, Tier::kData, Tier::kManagement}) {
      if (!subnet_keys.contains({environment, tier})) continue;
      Subnet subnet;
      subnet.environment = environment;
      subnet.tier = tier;
      subnet.key = fmt::format("{}-{}", EnvironmentShortName(environment), TierName(tier));
      subnet.netnum = netnum++;
      subnet.zone = 0;
      subnet.public_facing = tier == Tier::kWeb;
      model.subnets.push_back(std::move(subnet));
    }
  }
  model.next_netnum = netnum;

  // Flows: one per (source subnet, destination subnet, protocol, port) the dependencies used.
  struct FlowAccumulator {
    std::set<std::string> services;
    std::set<std::pair<std::string, std::string>> pairs;
    int64_t connections = 0;
    std::string example;
  };
  std::map<std::tuple<std::string, std::string, std::string, int>, FlowAccumulator> flows;
  for (const PlannedDependency& d : plan.dependencies) {
    auto from = where.find(d.from);
    auto to = where.find(d.to);
    if (from == where.end() || to == where.end()) {
      std::string reason;
      for (const std::string* missing : {&d.from, &d.to}) {
        if (where.contains(*missing)) continue;
        auto why = why_not.find(*missing);
        reason += fmt::format("{}{} is not provisioned in {}: {}", reason.empty() ? "" : "; ",
                              *missing, plan::CloudName(cloud),
                              why != why_not.end() ? why->second : "it is not in the plan");
      }
      model.open_dependencies.push_back({d.from, d.to, d.port, d.protocol, std::move(reason)});
      continue;
    }
    FlowAccumulator& flow = flows[{from->second, to->second, d.protocol, d.port}];
    if (!d.service.empty()) flow.services.insert(d.service);
    if (flow.pairs.insert({d.from, d.to}).second && flow.example.empty()) {
      flow.example = d.from + " -> " + d.to;
    }
    flow.connections += d.frequency;
    ++model.dependencies_used;
  }
  // Azure rule priorities, per destination NSG: 100, 110, ... (room to insert rules by hand), or
  // 100, 101, ... when a destination has more than 390 flows; the deny rule is at 4096.
  std::map<std::string, int> per_destination, next_priority;
  for (const auto& [key, flow] : flows) ++per_destination[std::get<1>(key)];
  for (auto& [key, flow] : flows) {
    const auto& [from, to, protocol, port] = key;
    Flow f;
    f.from = from;
    f.to = to;
    f.protocol = protocol;
    f.port = port;
    f.key = fmt::format("{}-to-{}-{}-{}", from, to, protocol, port);
    f.services.assign(flow.services.begin(), flow.services.end());
    f.pairs = static_cast<int>(flow.pairs.size());
    f.connections = flow.connections;
    f.example = flow.example;
    int& priority = next_priority[to];
    if (priority == 0) priority = 100;
    f.priority = priority;
    priority += per_destination[to] > 390 ? 1 : 10;
    model.flows.push_back(std::move(f));
  }
  return model;
}

}  // namespace ferry::iac
