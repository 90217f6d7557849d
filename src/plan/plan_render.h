// A plan as JSON (the documented shape of docs/plan.md, "Plan JSON"), Markdown, or a table for
// a terminal. The JSON is written by a streaming writer, not built as a DOM: a plan of 100,000
// servers and a million dependencies is written in well under a second.
//
// Thread-safety: pure functions.
#ifndef FERRY_PLAN_PLAN_RENDER_H_
#define FERRY_PLAN_PLAN_RENDER_H_

#include <string>
#include <string_view>

#include "base/status.h"
#include "plan/estate.h"
#include "plan/plan.h"

namespace ferry::plan {

enum class PlanFormat { kTable, kJson, kMarkdown };
// "table", "json" or "markdown" (also "md"); the error lists them.
[[nodiscard]] Result<PlanFormat> ParsePlanFormat(std::string_view name);

inline constexpr int kPlanJsonVersion = 1;

std::string RenderPlanJson(const Estate& estate, const Plan& plan);
std::string RenderPlanMarkdown(const Estate& estate, const Plan& plan);
// At most `max_rows` servers and risks are listed (the rest counted).
std::string RenderPlanTable(const Estate& estate, const Plan& plan, size_t max_rows = 200);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_PLAN_RENDER_H_
