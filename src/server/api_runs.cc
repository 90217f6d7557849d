// The run routes of the API: the durable engine (workflow/engine.h) behind HTTP.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <mutex>

#include "base/log.h"
#include "server/api.h"
#include "server/api_internal.h"
#include "workflow/engine.h"

namespace ferry::server {

namespace {

// States of runs and tasks, as docs/api.md lists them: every one is a series of /metrics, zero
// included, so that a dashboard's query finds it before the first run reaches it.
constexpr std::string_view kRunStates[] = {"running",      "waiting-approval", "paused",
                                           "succeeded",    "failed",           "cancelled",
                                           "rolling-back", "rolled-back",      "rollback-failed"};
constexpr std::string_view kTaskStates[] = {"waiting", "queued",  "running", "retrying",   "done",
                                            "failed",  "undoing", "undone",  "undo-failed"};

bool Active(std::string_view state) {
  return state == "running" || state == "waiting-approval" || state == "paused" ||
         state == "rolling-back";
}

Json ProgressJson(const workflow::TaskProgress& p) {
  return Json{{"rows_done", p.rows_done},
              {"rows_total", p.rows_total},
              {"bytes_done", p.bytes_done},
              {"bytes_total", p.bytes_total},
              {"detail", p.detail}};
}

Json TaskJson(const workflow::TaskStatus& t) {
  return Json{{"id", t.id},
              {"type", t.type},
              {"phase", t.phase},
              {"state", t.state},
              {"attempts", t.attempts},
              {"max_attempts", t.max_attempts},
              {"error", t.error},
              {"started_at", TimeJson(t.started_micros)},
              {"finished_at", TimeJson(t.finished_micros)},
              {"progress", ProgressJson(t.progress)},
              {"rows_per_second", t.rows_per_second},
              {"eta_seconds", t.eta_seconds < 0 ? Json(nullptr) : Json(t.eta_seconds)},
              {"result", t.result}};
}

Json RunJson(const workflow::RunStatus& run) {
  Json phases = Json::array();
  for (const workflow::PhaseStatus& p : run.phases) {
    phases.push_back({{"name", p.name},
                      {"approval", p.approval},
                      {"state", p.state},
                      {"approved_by", p.approved_by},
                      {"approved_at", TimeJson(p.approved_micros)}});
  }
  Json tasks = Json::array();
  for (const workflow::TaskStatus& t : run.tasks) tasks.push_back(TaskJson(t));
  return Json{{"id", run.id},
              {"name", run.name},
              {"state", run.state},
              {"awaiting", run.awaiting},
              {"error", run.error},
              {"started_by", run.started_by},
              {"created_at", TimeJson(run.created_micros)},
              {"updated_at", TimeJson(run.updated_micros)},
              {"rows_done", run.rows_done},
              {"bytes_done", run.bytes_done},
              {"spec_yaml", run.spec_yaml},
              {"phases", phases},
              {"tasks", tasks}};
}

Json EventJsonForStream(const Event& event) {
  Json payload = Json::parse(event.payload, nullptr, false);
  if (payload.is_discarded()) payload = event.payload;
  return Json{{"seq", event.seq},       {"at", TimeJson(event.at_micros)},
              {"run_id", event.run_id}, {"actor", event.actor},
              {"kind", event.kind},     {"payload", payload},
              {"hash", event.hash},     {"prev_hash", event.prev_hash}};
}

// "id: 7\nevent: task.completed\ndata: {...}\n\n" per event.
std::string FormatEvents(const std::vector<Event>& events) {
  std::string out;
  for (const Event& event : events) {
    out += fmt::format("id: {}\nevent: {}\ndata: {}\n\n", event.seq, event.kind,
                       EventJsonForStream(event).dump());
  }
  return out;
}

class RunEventStream final : public ResponseStream {
 public:
  RunEventStream(EventFeed* feed, std::string run_id, int64_t after, int64_t keepalive_micros)
      : feed_(feed),
        run_id_(std::move(run_id)),
        position_(after),
        keepalive_(std::chrono::microseconds(keepalive_micros)) {}

  bool Next(std::string* out, const std::function<bool()>& client_alive) override {
    out->clear();
    if (first_) {
      // Sent at once, so that the client sees the stream open (headers and all) before any
      // event comes; `retry` sets EventSource's reconnection delay.
      first_ = false;
      last_write_ = std::chrono::steady_clock::now();
      *out = "retry: 2000\n: connected\n\n";
      return true;
    }
    for (;;) {
      if (!client_alive()) return false;
      const auto now = std::chrono::steady_clock::now();
      const auto until_keepalive = last_write_ + keepalive_ - now;
      if (until_keepalive <= std::chrono::steady_clock::duration::zero()) {
        last_write_ = now;
        *out = ": keep-alive\n\n";
        return true;
      }
      // Wake at least every second to notice a client that went away.
      const int64_t wait = std::min<int64_t>(
          1'000'000,
          std::chrono::duration_cast<std::chrono::microseconds>(until_keepalive).count() + 1);
      Result<FeedBatch> batch = feed_->Wait(run_id_, position_, 500, wait);
      if (!batch.has_value()) return false;
      position_ = batch->position;
      if (!batch->events.empty()) {
        last_write_ = std::chrono::steady_clock::now();
        *out = FormatEvents(batch->events);
        return true;
      }
    }
  }

 private:
  EventFeed* const feed_;
  const std::string run_id_;
  int64_t position_;
  const std::chrono::steady_clock::duration keepalive_;
  bool first_ = true;
  std::chrono::steady_clock::time_point last_write_;
};

Result<int64_t> AfterOf(const ApiRequest& request) {
  std::string text = request.last_event_id;
  if (text.empty()) {
    auto it = request.query.find("after");
    if (it != request.query.end()) text = it->second;
  }
  if (text.empty()) return int64_t{0};
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    return Err(InvalidArgument(
        "Last-Event-ID / after `{}`: expected the sequence number of the last event received "
        "(an integer, 0 for all)",
        text));
  }
  return value;
}

std::string_view ContentTypeOf(std::string_view name) {
  if (name.ends_with(".json")) return "application/json";
  if (name.ends_with(".txt") || name.ends_with(".log") || name.ends_with(".md") ||
      name.ends_with(".tf") || name.ends_with(".yaml") || name.ends_with(".csv")) {
    return "text/plain; charset=utf-8";
  }
  return "application/octet-stream";
}

}  // namespace

Result<ApiResponse> Api::ListRuns(Call& call) {
  int64_t limit = 100;
  if (auto it = call.request.query.find("limit"); it != call.request.query.end()) {
    auto [end, ec] =
        std::from_chars(it->second.data(), it->second.data() + it->second.size(), limit);
    if (ec != std::errc() || end != it->second.data() + it->second.size() || limit < 1 ||
        limit > 1000) {
      return Err(InvalidArgument("query parameter limit={}: expected an integer from 1 to 1000",
                                 it->second));
    }
  }
  FERRY_ASSIGN_OR_RETURN(std::vector<workflow::RunSummary> runs,
                         engine_->ListRuns(static_cast<int>(limit)));
  Json list = Json::array();
  for (const workflow::RunSummary& r : runs) {
    list.push_back({{"id", r.id},
                    {"name", r.name},
                    {"state", r.state},
                    {"created_at", TimeJson(r.created_micros)},
                    {"updated_at", TimeJson(r.updated_micros)},
                    {"tasks_total", r.tasks_total},
                    {"tasks_done", r.tasks_done}});
  }
  return JsonResponse(200, Json{{"runs", list}});
}

Result<ApiResponse> Api::StartRun(Call& call) {
  const ApiRequest& request = call.request;
  std::string_view type = request.content_type;
  type = type.substr(0, type.find(';'));
  std::string yaml;
  if (type == "application/yaml" || type == "text/yaml" || type == "application/x-yaml") {
    yaml = request.body;
  } else if (type == "application/json" || type.empty()) {
    FERRY_ASSIGN_OR_RETURN(Json body, ParseJson(request.body, "request body"));
    if (!body.is_object() || !body.contains("spec") || !body["spec"].is_string()) {
      return Err(InvalidArgument(
          "request body: expected {{\"spec\": \"<run spec YAML>\"}}, or the YAML itself with "
          "Content-Type: application/yaml"));
    }
    yaml = body["spec"].get<std::string>();
  } else {
    return Err(InvalidArgument(
        "Content-Type {}: send the run spec as application/yaml (or text/yaml), or as JSON "
        "{{\"spec\": \"...\"}} with application/json",
        request.content_type));
  }
  if (yaml.empty()) {
    return Err(
        InvalidArgument("request body: the run spec is empty; `ferry run template` "
                        "prints one to start from"));
  }
  workflow::Actor actor{call.principal.actor, call.principal.role};
  FERRY_ASSIGN_OR_RETURN(std::string id, engine_->Start(yaml, "request body", actor));
  ApiResponse response = JsonResponse(201, Json{{"id", id}});
  response.headers.emplace_back("Location", "/api/v1/runs/" + id);
  return response;
}

Result<ApiResponse> Api::GetRun(Call& call) {
  FERRY_ASSIGN_OR_RETURN(workflow::RunStatus run, engine_->GetStatus(call.params["id"]));
  return JsonResponse(200, RunJson(run));
}

Result<ApiResponse> Api::ControlRun(Call& call) {
  const std::string& id = call.params["id"];
  workflow::Actor actor{call.principal.actor, call.principal.role};
  std::string_view path = call.request.path;
  const std::string_view verb = path.substr(path.rfind('/') + 1);
  Status status;
  if (verb == "pause") {
    status = engine_->Pause(id, actor);
  } else if (verb == "resume") {
    status = engine_->Resume(id, actor);
  } else if (verb == "cancel") {
    status = engine_->Cancel(id, actor);
  } else {
    status = engine_->Rollback(id, actor);
  }
  FERRY_RETURN_IF_ERROR(status);
  FERRY_ASSIGN_OR_RETURN(workflow::RunStatus run, engine_->GetStatus(id));
  return JsonResponse(200, RunJson(run));
}

Result<ApiResponse> Api::ApproveRun(Call& call) {
  const std::string& id = call.params["id"];
  FERRY_ASSIGN_OR_RETURN(
      Json body, ParseJson(call.request.body.empty() ? "{}" : call.request.body, "request body"));
  if (!body.is_object() || !body.contains("phase") || !body["phase"].is_string()) {
    return Err(InvalidArgument(
        "request body: expected {{\"phase\": \"<name>\"}}, the phase awaiting approval (GET "
        "/api/v1/runs/{} shows it as `awaiting`)",
        id));
  }
  workflow::Actor actor{call.principal.actor, call.principal.role};
  FERRY_RETURN_IF_ERROR(engine_->Approve(id, body["phase"].get<std::string>(), actor));
  FERRY_ASSIGN_OR_RETURN(workflow::RunStatus run, engine_->GetStatus(id));
  return JsonResponse(200, RunJson(run));
}

Result<ApiResponse> Api::ListTasks(Call& call) {
  FERRY_ASSIGN_OR_RETURN(workflow::RunStatus run, engine_->GetStatus(call.params["id"]));
  Json tasks = Json::array();
  for (const workflow::TaskStatus& t : run.tasks) tasks.push_back(TaskJson(t));
  return JsonResponse(200, Json{{"tasks", tasks}});
}

Result<ApiResponse> Api::RunEvents(Call& call) {
  const std::string& id = call.params["id"];
  FERRY_ASSIGN_OR_RETURN(workflow::RunStatus run, engine_->GetStatus(id));
  FERRY_ASSIGN_OR_RETURN(int64_t after, AfterOf(call.request));
  if (call.request.accept.find("text/event-stream") != std::string::npos) {
    ApiResponse response;
    response.content_type = "text/event-stream";
    response.headers.emplace_back("X-Accel-Buffering", "no");
    response.stream =
        std::make_unique<RunEventStream>(&feed_, run.id, after, options_.keepalive_micros);
    return response;
  }
  int64_t limit = 1000;
  if (auto it = call.request.query.find("limit"); it != call.request.query.end()) {
    auto [end, ec] =
        std::from_chars(it->second.data(), it->second.data() + it->second.size(), limit);
    if (ec != std::errc() || end != it->second.data() + it->second.size() || limit < 1 ||
        limit > 10000) {
      return Err(InvalidArgument("query parameter limit={}: expected an integer from 1 to 10000",
                                 it->second));
    }
  }
  FERRY_ASSIGN_OR_RETURN(std::vector<Event> events,
                         store_->ReadEvents(after, static_cast<int>(limit), run.id));
  Json list = Json::array();
  for (const Event& event : events) list.push_back(EventJsonForStream(event));
  return JsonResponse(200, Json{{"events", list}});
}

Result<ApiResponse> Api::ListArtifacts(Call& call) {
  const std::string& id = call.params["id"];
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> names, engine_->ListArtifacts(id));
  const std::string dir = engine_->ArtifactDir(id);
  Json list = Json::array();
  for (const std::string& name : names) {
    Result<uint64_t> size = env_->FileSize(dir + "/" + name);
    list.push_back({{"name", name}, {"size", size.has_value() ? Json(*size) : Json(nullptr)}});
  }
  return JsonResponse(200, Json{{"artifacts", list}});
}

Result<ApiResponse> Api::GetArtifact(Call& call) {
  const std::string& id = call.params["id"];
  const std::string& name = call.params["name"];
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> names, engine_->ListArtifacts(id));
  // Only what the run lists: a name is never a path of the caller's choosing.
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    return Err(NotFound("run {} has no artifact `{}`; GET /api/v1/runs/{}/artifacts lists them", id,
                        name, id));
  }
  FERRY_ASSIGN_OR_RETURN(std::string bytes, env_->ReadFile(engine_->ArtifactDir(id) + "/" + name));
  ApiResponse response;
  response.content_type = std::string(ContentTypeOf(name));
  response.body = std::move(bytes);
  const std::string base = name.substr(name.rfind('/') + 1);
  response.headers.emplace_back("Content-Disposition",
                                fmt::format("attachment; filename=\"{}\"", base));
  return response;
}

void Api::RefreshRunMetrics() {
  MetricsRegistry& registry = MetricsRegistry::Default();
  Result<std::vector<workflow::RunSummary>> runs = engine_->ListRuns(1000);
  if (!runs.has_value()) return;
  std::map<std::string, int64_t> run_counts, task_counts;
  int64_t pending = 0, leased = 0;
  for (const workflow::RunSummary& r : *runs) {
    ++run_counts[r.state];
    if (!Active(r.state)) continue;
    Result<workflow::RunStatus> status = engine_->GetStatus(r.id);
    if (status.has_value()) {
      for (const workflow::TaskStatus& t : status->tasks) ++task_counts[t.state];
    }
    Result<QueueStats> queue = store_->GetQueueStats("run:" + r.id);
    if (queue.has_value()) {
      pending += queue->pending;
      leased += queue->leased;
    }
  }
  for (std::string_view state : kRunStates) {
    registry
        .GetGauge("ferry_runs", "Runs by state (the latest 1000 runs).",
                  {{"state", std::string(state)}})
        .Set(static_cast<double>(run_counts[std::string(state)]));
  }
  for (std::string_view state : kTaskStates) {
    registry
        .GetGauge("ferry_run_tasks", "Tasks of the active runs by state.",
                  {{"state", std::string(state)}})
        .Set(static_cast<double>(task_counts[std::string(state)]));
  }
  registry
      .GetGauge("ferry_run_queue_depth", "Tasks of the active runs' queues, by queue state.",
                {{"state", "pending"}})
      .Set(static_cast<double>(pending));
  registry
      .GetGauge("ferry_run_queue_depth", "Tasks of the active runs' queues, by queue state.",
                {{"state", "leased"}})
      .Set(static_cast<double>(leased));
  const workflow::EngineMetrics m = engine_->Metrics();
  // The engine's totals become counters by adding what grew since the last scrape.
  static std::mutex mu;
  static int64_t rows_seen = 0, bytes_seen = 0;
  {
    std::lock_guard lock(mu);
    registry
        .GetCounter("ferry_rows_moved_total", "Rows moved by the tasks of this server's engine.")
        .Increment(static_cast<double>(std::max<int64_t>(0, m.rows_moved - rows_seen)));
    registry
        .GetCounter("ferry_bytes_moved_total", "Bytes moved by the tasks of this server's engine.")
        .Increment(static_cast<double>(std::max<int64_t>(0, m.bytes_moved - bytes_seen)));
    rows_seen = std::max(rows_seen, m.rows_moved);
    bytes_seen = std::max(bytes_seen, m.bytes_moved);
  }
  registry.GetGauge("ferry_engine_tasks_running", "Tasks running in this server's engine now.")
      .Set(static_cast<double>(m.tasks_running));
  registry.GetGauge("ferry_event_stream_clients", "Clients waiting on an event stream now.")
      .Set(static_cast<double>(feed_.waiting()));
}

Json Api::EngineHealth() {
  const workflow::EngineMetrics m = engine_->Metrics();
  return Json{{"status", "ok"},
              {"tasks_running", m.tasks_running},
              {"tasks_started", m.tasks_started},
              {"tasks_completed", m.tasks_completed},
              {"tasks_failed_attempts", m.tasks_failed_attempts}};
}

}  // namespace ferry::server
