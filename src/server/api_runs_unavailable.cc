// The run routes when this ferry is built without the durable engine (src/workflow/engine.cc
// not part of ferry_workflow): each answers 503 saying so. src/server/CMakeLists.txt picks this
// file or api_runs.cc.
#include "server/api.h"
#include "server/api_internal.h"

namespace ferry::server {
namespace {

Status NoEngine() {
  return Unavailable(
      "this ferry was built without the run engine (src/workflow/engine.cc); the run routes "
      "answer once it is built in");
}

}  // namespace

Result<ApiResponse> Api::ListRuns(Call&) { return Err(NoEngine()); }
Result<ApiResponse> Api::StartRun(Call&) { return Err(NoEngine()); }
Result<ApiResponse> Api::GetRun(Call&) { return Err(NoEngine()); }
Result<ApiResponse> Api::ControlRun(Call&) { return Err(NoEngine()); }
Result<ApiResponse> Api::ApproveRun(Call&) { return Err(NoEngine()); }
Result<ApiResponse> Api::ListTasks(Call&) { return Err(NoEngine()); }
Result<ApiResponse> Api::RunEvents(Call&) { return Err(NoEngine()); }
Result<ApiResponse> Api::ListArtifacts(Call&) { return Err(NoEngine()); }
Result<ApiResponse> Api::GetArtifact(Call&) { return Err(NoEngine()); }
void Api::RefreshRunMetrics() {}
Json Api::EngineHealth() { return Json{{"status", "not-built"}}; }

}  // namespace ferry::server
