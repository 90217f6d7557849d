// `ferry iac`: the target infrastructure of a plan, before it is written in any cloud's words.
//
// ReadPlanJson takes the plan JSON of `ferry plan` (docs/plan.md, "Plan JSON"), keeping what
// infrastructure needs: each server's environment, roles, strategy, wave, balanced size and
// storage, and the observed dependencies. BuildModel decides, for one cloud, which servers
// become virtual machines and which managed databases, which are not provisioned and why, the
// tiers and their subnets, and the network flows the security rules allow: only the ports the
// dependencies used, only from the tiers that used them. terraform.h writes the model as
// Terraform. docs/iac.md describes every rule.
//
//   FERRY_ASSIGN_OR_RETURN(IacPlan plan, ReadPlanFile("plan.json", env));
//   FERRY_ASSIGN_OR_RETURN(IacModel model, BuildModel(plan, plan::Cloud::kAws));
//
// Thread-safety: pure functions over values.
#ifndef FERRY_IAC_MODEL_H_
#define FERRY_IAC_MODEL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/json.h"
#include "base/status.h"
#include "plan/catalog.h"

namespace ferry::iac {

using plan::Cloud;

// The newest plan JSON version this ferry reads.
inline constexpr int kPlanVersionRead = 1;

// A server of the plan, as infrastructure sees it.
struct PlannedServer {
  std::string name;
  std::string environment;  // "production" or "non-production"
  std::vector<std::string> roles;
  std::string database_engine;  // "postgresql", "mysql", "sqlserver", ... or empty
  std::string architecture;     // "x86_64", "aarch64", ...
  std::string os;
  int wave = 0;
  std::string strategy;  // rehost, replatform, refactor, repurchase, retire, retain, encapsulate
  std::string target;    // the strategy's target, as the plan words it
  double storage_gb = 0;
  std::map<Cloud, std::string> balanced;  // the recommended size per cloud; absent: none fits
};

// An instance type a size names, as the plan's `instance_types` describes it.
struct PlannedType {
  int vcpus = 0;
  double memory_gib = 0;
  std::string architecture;
};

// One edge of the dependency graph: `from` opened connections to `to`'s `port`.
struct PlannedDependency {
  std::string from, to;
  int port = 0;
  std::string protocol;  // "tcp" or "udp"
  std::string service;
  int64_t frequency = 0;
};

struct IacPlan {
  std::string source;  // the file it was read from
  int plan_version = 0;
  std::string date;
  std::string generator;                 // "ferry 0.1.0"
  std::map<Cloud, std::string> regions;  // the regions the plan priced
  std::vector<PlannedServer> servers;
  std::map<Cloud, std::map<std::string, PlannedType>> instance_types;
  std::vector<PlannedDependency> dependencies;
  std::vector<int> waves;  // wave numbers, ascending
};

// Reads a plan JSON document. Errors name the source and the JSON path of what is missing or of
// the wrong type (`servers[3].sizing: missing`); a newer plan_version is refused.
[[nodiscard]] Result<IacPlan> ReadPlanJson(const Json& document, const std::string& source);
// The same from the text, reading each server and dependency as the parser finishes it: memory
// in proportion to the model, not to the document (a 250 MB plan of 100,000 servers).
[[nodiscard]] Result<IacPlan> ReadPlanText(std::string_view text, const std::string& source);
[[nodiscard]] Result<IacPlan> ReadPlanFile(const std::string& path, Env* env);

// Tiers: the subnets and security groups servers are placed in, by their roles (first match):
// data (database, cache, queue, file server), web (load balancer, web), management (DNS,
// directory, monitoring), application (everything else: API, worker, container host...).
enum class Tier : uint8_t { kWeb, kApp, kData, kManagement };
std::string_view TierName(Tier tier);  // "web", "app", "data", "mgmt"
Tier TierOfRoles(const std::vector<std::string>& roles);

// "production" -> "prod", "non-production" -> "nonprod": the short form names are built of.
std::string_view EnvironmentShortName(std::string_view environment);

// A subnet of one environment and tier; its address range is cidrsubnet(network, 8, netnum).
struct Subnet {
  std::string key;  // "prod-web"
  std::string environment;
  Tier tier = Tier::kApp;
  int netnum = 0;
  int zone = 0;                // index into the region's zones
  bool public_facing = false;  // the web tier: reachable from var.public_ingress_cidrs
};

// A security group (AWS), network security group (Azure) or network tag (GCP) per subnet.
struct Flow {
  std::string key;   // "prod-app-to-prod-data-tcp-5432"
  std::string from;  // the source subnet/group key
  std::string to;    // the destination subnet/group key
  int port = 0;
  std::string protocol;
  std::vector<std::string> services;  // as the plan named them (postgresql, https...)
  int pairs = 0;                      // distinct (client, server) pairs behind it
  int64_t connections = 0;            // sockets observed, summed
  std::string example;                // "prd-api-01 -> prd-db-01"
  int priority = 0;  // Azure: the rule's priority within its destination's NSG (100, 110, ...)
};

enum class Kind : uint8_t { kVirtualMachine, kManagedDatabase };

// A server that becomes a resource in the cloud.
struct Resource {
  std::string name;           // the plan's name: the Terraform map key
  std::string resource_name;  // the cloud-safe name: lowercase letters, digits and hyphens
  Kind kind = Kind::kVirtualMachine;
  std::string environment;
  Tier tier = Tier::kApp;
  std::string subnet;  // its Subnet::key
  int wave = 0;
  std::string strategy;
  std::string instance_type;  // the plan's balanced type in this cloud
  int vcpus = 0;
  double memory_gib = 0;
  std::string architecture;  // "x86_64" or "aarch64"
  int storage_gb = 0;
  // Managed databases: the engine (postgresql, mysql, sqlserver) and the service's size
  // ("db.r6i.xlarge", "GP_Standard_D4ds_v5", "db-custom-4-16384").
  std::string engine;
  std::string database_class;
  // A virtual machine standing in for what the plan suggests (a managed cache, a cloud load
  // balancer...): the plan's target, so that nothing is lost on the way.
  std::string stand_in_for;
};

// A server the model does not provision, and why.
struct Unprovisioned {
  std::string name;
  std::string strategy;
  std::string reason;
};

// A dependency no rule was made for, because one end is not provisioned in the cloud.
struct OpenDependency {
  std::string from, to;
  int port = 0;
  std::string protocol;
  std::string reason;
};

struct IacModel {
  Cloud cloud = Cloud::kAws;
  std::string region;
  std::string plan_source, plan_date, generator;
  std::vector<int> waves;  // every wave with a resource, ascending
  std::vector<Subnet> subnets;
  int next_netnum = 0;  // the first netnum no subnet uses (for the clouds' own extra subnets)
  std::vector<Flow> flows;
  std::vector<Resource> machines;   // by name
  std::vector<Resource> databases;  // by name
  std::vector<Unprovisioned> unprovisioned;
  std::vector<OpenDependency> open_dependencies;
  int64_t dependencies_used = 0;  // plan dependencies the flows cover
};

// The model of `plan` in `cloud`. Never fails: what cannot be provisioned is listed.
IacModel BuildModel(const IacPlan& plan, Cloud cloud);

// A name the clouds accept for most resources: lowercase letters, digits and hyphens, starting
// with a letter, not ending with a hyphen, at most `max_length` characters (then cut and given
// a short hash of the whole name, so two long names stay apart).
std::string CloudSafeName(std::string_view name, size_t max_length);

// The managed database size for a server of `vcpus` and `memory_gib` whose balanced type in
// `cloud` is `instance_type` (docs/iac.md, "Managed databases").
std::string DatabaseClass(Cloud cloud, std::string_view engine, std::string_view instance_type,
                          int vcpus, double memory_gib);

}  // namespace ferry::iac

#endif  // FERRY_IAC_MODEL_H_
