// The plan JSON of the generated 50-server three-tier estate (plan/estate_generator.h), made by
// the plan module as `ferry plan --out plan.json` writes it: the input of the iac tests; and
// the iac rules recomputed from a plan JSON, the expectation the tests compare with.
#ifndef FERRY_IAC_TEST_PLAN_H_
#define FERRY_IAC_TEST_PLAN_H_

#include <map>
#include <set>
#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include "base/json.h"
#include "plan/estate_generator.h"
#include "plan/plan.h"
#include "plan/plan_render.h"

namespace ferry::iac {

inline const Json& ThreeTierPlanJson() {
  static const Json* json = [] {
    plan::Estate estate = plan::ThreeTierEstate();
    plan::PlanOptions options;
    options.today = "2025-05-01";
    Result<plan::Plan> made = plan::MakePlan(estate, plan::BuiltinCatalog(), options);
    EXPECT_TRUE(made.has_value()) << made.error().ToString();
    Result<Json> parsed = ParseJson(plan::RenderPlanJson(estate, *made), "plan.json");
    EXPECT_TRUE(parsed.has_value()) << parsed.error().ToString();
    return new Json(std::move(*parsed));
  }();
  return *json;
}

// The rules of docs/iac.md, written again here from its tables, independently of model.cc, so
// that the tests compare the model and the Terraform with them.

// The tier of a server's roles.
inline std::string ExpectedTier(const Json& roles) {
  std::set<std::string> r;
  for (const Json& role : roles) r.insert(role.get<std::string>());
  for (const char* data : {"database", "cache", "queue", "file-server"}) {
    if (r.contains(data)) return "data";
  }
  if (r.contains("load-balancer") || r.contains("web")) return "web";
  if (r.contains("dns") || r.contains("directory") || r.contains("monitoring")) return "mgmt";
  return "app";
}

// Provisioned: a strategy that moves the server onto infrastructure, and a size in the cloud.
inline bool ExpectProvisioned(const Json& server, std::string_view cloud) {
  const std::string strategy = server["strategy"]["name"];
  const Json& balanced = server["sizing"]["options"]["balanced"];
  return (strategy == "rehost" || strategy == "replatform" || strategy == "refactor") &&
         balanced.contains(cloud) && balanced[std::string(cloud)].is_string();
}

using FlowKey = std::tuple<std::string, std::string, std::string, int>;

// The flows the plan's dependencies call for: (source subnet, destination subnet, protocol,
// port) of every dependency whose two ends are provisioned.
inline std::set<FlowKey> ExpectedFlows(const Json& plan, std::string_view cloud) {
  std::map<std::string, std::string> subnet;
  for (const Json& s : plan["servers"]) {
    if (!ExpectProvisioned(s, cloud)) continue;
    subnet[s["name"]] = std::string(s["environment"] == "production" ? "prod" : "nonprod") + "-" +
                        ExpectedTier(s["roles"]);
  }
  std::set<FlowKey> flows;
  for (const Json& d : plan["dependencies"]["list"]) {
    auto from = subnet.find(d["from"]);
    auto to = subnet.find(d["to"]);
    if (from == subnet.end() || to == subnet.end()) continue;
    flows.insert({from->second, to->second, d["protocol"], d["port"].get<int>()});
  }
  return flows;
}

}  // namespace ferry::iac

#endif  // FERRY_IAC_TEST_PLAN_H_
