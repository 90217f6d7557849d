// The plan JSON of the generated 50-server three-tier estate (plan/estate_generator.h), made by
// the plan module as `ferry plan --out plan.json` writes it: the input of the iac tests.
#ifndef FERRY_IAC_TEST_PLAN_H_
#define FERRY_IAC_TEST_PLAN_H_

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

}  // namespace ferry::iac

#endif  // FERRY_IAC_TEST_PLAN_H_
