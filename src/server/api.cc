#include "server/api.h"

#include <time.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <set>

#include <fmt/ranges.h>

#include "base/ids.h"
#include "base/log.h"
#include "plan/catalog.h"
#include "plan/estate_reader.h"
#include "plan/os_lifecycle.h"
#include "plan/plan.h"
#include "plan/plan_render.h"
#include "server/api_internal.h"
#include "server/console.h"

namespace ferry::server {

struct Api::Route {
  std::string_view method;
  std::string_view path;
  Access access;
  Handler handler;
  bool rest = false;  // the last parameter takes the rest of the path (slashes included)
};

namespace {

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' "
    "data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

std::string CodeName(StatusCode code) {
  std::string name(StatusCodeName(code));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// Whether `path` matches the route's pattern; fills `params`.
bool Matches(std::string_view pattern, bool rest, std::string_view path,
             std::map<std::string, std::string>* params) {
  std::vector<std::string_view> want = Segments(pattern);
  std::vector<std::string_view> got = Segments(path);
  if (got.size() < want.size() || (!rest && got.size() != want.size())) return false;
  std::map<std::string, std::string> found;
  for (size_t i = 0; i < want.size(); ++i) {
    std::string_view w = want[i];
    if (w.starts_with('{') && w.ends_with('}')) {
      std::string value(got[i]);
      if (rest && i + 1 == want.size()) {
        for (size_t j = i + 1; j < got.size(); ++j) value += "/" + std::string(got[j]);
      }
      if (value.empty()) return false;
      found[std::string(w.substr(1, w.size() - 2))] = std::move(value);
    } else if (w != got[i]) {
      return false;
    }
  }
  *params = std::move(found);
  return true;
}

Result<Json> ParseBody(const ApiRequest& request, bool required) {
  if (request.body.empty()) {
    if (required) {
      return Err(InvalidArgument(
          "{} {}: the request has no body; send a JSON object (Content-Type: application/json)",
          request.method, request.path));
    }
    return Json::object();
  }
  FERRY_ASSIGN_OR_RETURN(Json body, ParseJson(request.body, "request body"));
  if (!body.is_object()) {
    return Err(InvalidArgument("request body: expected a JSON object, got {}", body.type_name()));
  }
  return body;
}

// Checks that `body` has only `known` keys, naming the first other one.
Status CheckKeys(const Json& body, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : body.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return InvalidArgument("request body: unknown key `{}`; the keys are {}", key, list);
    }
  }
  return OkStatus();
}

Result<std::string> StringField(const Json& body, std::string_view key, bool required) {
  auto it = body.find(std::string(key));
  if (it == body.end() || it->is_null()) {
    if (required) return Err(InvalidArgument("request body: `{}` is required", key));
    return std::string();
  }
  if (!it->is_string()) {
    return Err(
        InvalidArgument("request body: `{}` must be a string, got {}", key, it->type_name()));
  }
  return it->get<std::string>();
}

Result<int64_t> QueryInt(const ApiRequest& request, std::string_view name, int64_t fallback,
                         int64_t min, int64_t max) {
  auto it = request.query.find(std::string(name));
  if (it == request.query.end() || it->second.empty()) return fallback;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || value < min ||
      value > max) {
    return Err(InvalidArgument("query parameter {}={}: expected an integer from {} to {}", name,
                               it->second, min, max));
  }
  return value;
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

Json EventJson(const Event& event) {
  Json payload = Json::parse(event.payload, nullptr, /*allow_exceptions=*/false);
  if (payload.is_discarded()) payload = event.payload;
  return Json{{"seq", event.seq},       {"at", TimeJson(event.at_micros)},
              {"run_id", event.run_id}, {"actor", event.actor},
              {"kind", event.kind},     {"payload", payload},
              {"hash", event.hash},     {"prev_hash", event.prev_hash}};
}

Json KeyJson(const ApiKeyRecord& key, int64_t now) {
  std::string state = "active";
  if (key.revoked_micros != 0) {
    state = "revoked";
  } else if (key.expires_micros != 0 && key.expires_micros <= now) {
    state = "expired";
  }
  return Json{{"id", key.id},
              {"name", key.name},
              {"role", key.role},
              {"state", state},
              {"created_by", key.created_by},
              {"created_at", TimeJson(key.created_micros)},
              {"expires_at", TimeJson(key.expires_micros)},
              {"revoked_at", TimeJson(key.revoked_micros)}};
}

Json ProjectJson(const ProjectRecord& project) {
  return Json{{"name", project.name},
              {"description", project.description},
              {"created_by", project.created_by},
              {"created_at", TimeJson(project.created_micros)}};
}

ApiResponse RawJson(std::string body) {
  ApiResponse response;
  response.body = std::move(body);
  return response;
}

}  // namespace

std::string_view AccessName(Access access) {
  switch (access) {
    case Access::kPublic: return "public";
    case Access::kViewer: return "viewer";
    case Access::kOperator: return "operator";
    case Access::kAdmin: return "admin";
  }
  return "public";
}

Json TimeJson(int64_t micros) {
  if (micros == 0) return nullptr;
  const time_t seconds = static_cast<time_t>(micros / 1'000'000);
  struct tm utc;
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     (micros % 1'000'000) / 1000);
}

ApiResponse JsonResponse(int status, const Json& value) {
  ApiResponse response;
  response.status = status;
  response.body = value.dump();
  return response;
}

// The routes, most specific first where two could match.
const std::vector<Api::Route>& Api::RouteTable() {
  static const std::vector<Route> routes = {
      {"GET", "/health/live", Access::kPublic, &Api::Health},
      {"GET", "/health/ready", Access::kPublic, &Api::Ready},
      {"GET", "/health/deep", Access::kViewer, &Api::DeepHealth},
      {"GET", "/metrics", Access::kViewer, &Api::MetricsText},
      {"GET", "/api/v1/openapi.json", Access::kPublic, &Api::OpenApi},
      {"POST", "/api/v1/session", Access::kPublic, &Api::OpenSession},
      {"GET", "/api/v1/whoami", Access::kViewer, &Api::WhoAmI},
      {"GET", "/api/v1/runs", Access::kViewer, &Api::ListRuns},
      {"POST", "/api/v1/runs", Access::kOperator, &Api::StartRun},
      {"GET", "/api/v1/runs/{id}", Access::kViewer, &Api::GetRun},
      {"POST", "/api/v1/runs/{id}/pause", Access::kOperator, &Api::ControlRun},
      {"POST", "/api/v1/runs/{id}/resume", Access::kOperator, &Api::ControlRun},
      {"POST", "/api/v1/runs/{id}/cancel", Access::kOperator, &Api::ControlRun},
      {"POST", "/api/v1/runs/{id}/rollback", Access::kOperator, &Api::ControlRun},
      {"POST", "/api/v1/runs/{id}/approve", Access::kOperator, &Api::ApproveRun},
      {"GET", "/api/v1/runs/{id}/tasks", Access::kViewer, &Api::ListTasks},
      {"GET", "/api/v1/runs/{id}/events", Access::kViewer, &Api::RunEvents},
      {"GET", "/api/v1/runs/{id}/artifacts", Access::kViewer, &Api::ListArtifacts},
      {"GET", "/api/v1/runs/{id}/artifacts/{name}", Access::kViewer, &Api::GetArtifact, true},
      {"GET", "/api/v1/events", Access::kViewer, &Api::ListEvents},
      {"GET", "/api/v1/events/verify", Access::kViewer, &Api::VerifyEvents},
      {"GET", "/api/v1/projects", Access::kViewer, &Api::ListProjects},
      {"POST", "/api/v1/projects", Access::kOperator, &Api::CreateProject},
      {"GET", "/api/v1/projects/{name}", Access::kViewer, &Api::GetProject},
      {"GET", "/api/v1/inventories", Access::kViewer, &Api::ListInventories},
      {"GET", "/api/v1/inventories/{name}", Access::kViewer, &Api::GetInventory},
      {"GET", "/api/v1/plans", Access::kViewer, &Api::ListPlans},
      {"POST", "/api/v1/plans", Access::kOperator, &Api::CreatePlan},
      {"GET", "/api/v1/plans/{id}", Access::kViewer, &Api::GetPlan},
      {"GET", "/api/v1/keys", Access::kAdmin, &Api::ListKeys},
      {"POST", "/api/v1/keys", Access::kAdmin, &Api::CreateKey},
      {"DELETE", "/api/v1/keys/{id}", Access::kAdmin, &Api::RevokeKey},
      {"GET", "/", Access::kPublic, &Api::Console},
      {"GET", "/assets/{file}", Access::kPublic, &Api::Console, true},
  };
  return routes;
}

std::vector<RouteInfo> Api::Routes() {
  std::vector<RouteInfo> routes;
  for (const Route& route : RouteTable()) {
    routes.push_back({std::string(route.method), std::string(route.path), route.access});
  }
  return routes;
}

Api::Api(Store* store, workflow::Engine* engine, Env* env, ApiOptions options)
    : store_(store),
      engine_(engine),
      env_(env),
      options_(options),
      auth_(store, env),
      limiter_(options.rate_per_second, 0, env),
      feed_(store, options.feed) {}

Api::~Api() { Stop(); }

void Api::Stop() { feed_.Stop(); }

void Api::AddHeaders(std::string_view path, ApiResponse* response) const {
  auto& h = response->headers;
  h.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  h.emplace_back("X-Content-Type-Options", "nosniff");
  h.emplace_back("X-Frame-Options", "DENY");
  h.emplace_back("Referrer-Policy", "no-referrer");
  h.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  if (options_.tls) h.emplace_back("Strict-Transport-Security", "max-age=31536000");
  const bool console = !(path.starts_with("/api/") || path.starts_with("/health/") ||
                         path == "/metrics" || path == "/api");
  h.emplace_back("Cache-Control", console ? "no-cache" : "no-store");
}

ApiResponse Api::ErrorResponse(int status, std::string_view code, std::string_view message,
                               std::string_view path) const {
  ApiResponse response =
      JsonResponse(status, Json{{"error", {{"code", std::string(code)}, {"message", message}}}});
  AddHeaders(path, &response);
  return response;
}

ApiResponse Api::FromStatus(const Status& status, std::string_view path) const {
  return ErrorResponse(status.HttpStatus(), CodeName(status.code()), status.message(), path);
}

void Api::Record(std::string_view method, const std::string& route, int status, double seconds) {
  static const std::vector<double> kBounds = ExponentialBuckets(0.0001, 2, 16);  // 0.1 ms .. 3.3 s
  MetricsRegistry& registry = MetricsRegistry::Default();
  registry
      .GetCounter(
          "ferry_http_requests_total", "HTTP requests answered, by route and status.",
          {{"method", std::string(method)}, {"route", route}, {"code", std::to_string(status)}})
      .Increment();
  registry
      .GetHistogram("ferry_http_request_duration_seconds",
                    "Time to answer an HTTP request (to the first byte for event streams).",
                    kBounds, {{"method", std::string(method)}, {"route", route}})
      .Observe(seconds);
}

ApiResponse Api::Handle(const ApiRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  ApiResponse response;
  std::string route_name = "unmatched";
  auto finish = [&](ApiResponse r) {
    r.route = route_name;
    if (r.headers.empty() || r.headers.front().first != "Content-Security-Policy") {
      AddHeaders(request.path, &r);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    Record(request.method, route_name, r.status, seconds);
    return r;
  };

  const Route* route = nullptr;
  std::map<std::string, std::string> params;
  std::set<std::string> allowed;
  for (const Route& candidate : RouteTable()) {
    std::map<std::string, std::string> found;
    if (!Matches(candidate.path, candidate.rest, request.path, &found)) continue;
    if (candidate.method == request.method ||
        (request.method == "HEAD" && candidate.method == "GET")) {
      route = &candidate;
      params = std::move(found);
      break;
    }
    allowed.insert(std::string(candidate.method));
  }
  const bool api_path = request.path.starts_with("/api/") || request.path == "/api" ||
                        request.path.starts_with("/health/") || request.path == "/metrics";
  if (route == nullptr && !allowed.empty()) {
    std::string list;
    for (const std::string& m : allowed) list += (list.empty() ? "" : ", ") + m;
    ApiResponse r = ErrorResponse(
        405, "method_not_allowed",
        fmt::format("{} {}: this route answers {} only", request.method, request.path, list),
        request.path);
    r.headers.emplace_back("Allow", list);
    return finish(std::move(r));
  }
  if (route == nullptr && !api_path && (request.method == "GET" || request.method == "HEAD")) {
    // Client-side routes of the console (#/runs/...) and anything else: index.html.
    static const Route kConsoleFallback = {"GET", "/", Access::kPublic, &Api::Console};
    route = &kConsoleFallback;
    route_name = "console";
  }
  if (route == nullptr) {
    return finish(ErrorResponse(
        404, "not_found",
        fmt::format("{} {}: no such route; the routes are listed in /api/v1/openapi.json",
                    request.method, request.path),
        request.path));
  }
  if (route_name == "unmatched") route_name = std::string(route->path);

  Call call{.request = request, .params = std::move(params)};
  // Credentials: required unless the route is public; a public route ignores them.
  if (route->access != Access::kPublic) {
    // Missing or wrong credentials count against the address: guessing keys costs the guesser
    // its rate.
    auto limit_address = [&]() -> std::optional<ApiResponse> {
      const int64_t wait = limiter_.Admit("addr:" + request.remote_address);
      if (wait <= 0) return std::nullopt;
      ApiResponse r = ErrorResponse(
          429, "resource_exhausted",
          fmt::format("too many requests from {}; retry after {} s", request.remote_address, wait),
          request.path);
      r.headers.emplace_back("Retry-After", std::to_string(wait));
      return r;
    };
    std::string_view header = request.authorization;
    std::string_view token;
    if (header.size() > 7 &&
        (header.substr(0, 7) == "Bearer " || header.substr(0, 7) == "bearer ")) {
      token = header.substr(7);
      while (token.starts_with(' ')) token.remove_prefix(1);
    }
    if (token.empty()) {
      if (std::optional<ApiResponse> limited = limit_address()) return finish(std::move(*limited));
      ApiResponse r = ErrorResponse(
          401, "unauthenticated",
          fmt::format("{} {} needs credentials: send `Authorization: Bearer fry_...` with an API "
                      "key (`ferry api-key create NAME --role viewer`), or a session token from "
                      "POST /api/v1/session",
                      request.method, request.path),
          request.path);
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ferry\"");
      return finish(std::move(r));
    }
    Result<Principal> principal = auth_.Authenticate(token);
    if (!principal.has_value()) {
      if (std::optional<ApiResponse> limited = limit_address()) return finish(std::move(*limited));
      ApiResponse r = FromStatus(principal.error(), request.path);
      if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ferry\"");
      return finish(std::move(r));
    }
    call.principal = std::move(*principal);
    call.authenticated = true;
  }
  const bool probe = route->path == "/health/live" || route->path == "/health/ready";
  if (!probe) {
    const std::string caller =
        call.authenticated ? "key:" + call.principal.key_id : "addr:" + request.remote_address;
    if (int64_t wait = limiter_.Admit(caller); wait > 0) {
      ApiResponse r = ErrorResponse(
          429, "resource_exhausted",
          fmt::format("too many requests for {} (the limit is {} a second); retry after {} s",
                      call.authenticated ? call.principal.actor : request.remote_address,
                      limiter_.rate(), wait),
          request.path);
      r.headers.emplace_back("Retry-After", std::to_string(wait));
      return finish(std::move(r));
    }
  }
  if (route->access != Access::kPublic) {
    const Role needed = route->access == Access::kViewer     ? Role::kViewer
                        : route->access == Access::kOperator ? Role::kOperator
                                                             : Role::kAdmin;
    if (static_cast<int>(call.principal.role) < static_cast<int>(needed)) {
      return finish(ErrorResponse(
          403, "permission_denied",
          fmt::format("{} {} needs the {} role; {} holds {}; ask an admin for a key with that "
                      "role",
                      request.method, route->path, RoleName(needed), call.principal.actor,
                      RoleName(call.principal.role)),
          request.path));
    }
  }
  Result<ApiResponse> handled = (this->*(route->handler))(call);
  if (!handled.has_value()) {
    if (handled.error().code() == StatusCode::kInternal ||
        handled.error().code() == StatusCode::kUnknown ||
        handled.error().code() == StatusCode::kDataLoss) {
      LogError("API request failed", {{"method", request.method},
                                      {"path", request.path},
                                      {"error", handled.error().message()}});
    }
    return finish(FromStatus(handled.error(), request.path));
  }
  if (request.method == "HEAD") handled->body.clear();
  return finish(std::move(*handled));
}

// ---- Health, metrics, documents

Result<ApiResponse> Api::Health(Call&) { return JsonResponse(200, Json{{"status", "ok"}}); }

Result<ApiResponse> Api::Ready(Call&) {
  Result<SchemaStatus> schema = store_->GetSchemaStatus();
  if (!schema.has_value()) {
    return JsonResponse(503, Json{{"status", "not-ready"}, {"reason", schema.error().message()}});
  }
  if (!schema->pending.empty() || schema->current_version != schema->latest_version) {
    return JsonResponse(
        503, Json{{"status", "not-ready"},
                  {"reason", fmt::format("store {}: schema migrations pending ({}); restart "
                                         "`ferry serve`, which applies them",
                                         schema->location, fmt::join(schema->pending, ", "))}});
  }
  return JsonResponse(200, Json{{"status", "ready"},
                                {"store", schema->backend},
                                {"schema_version", schema->current_version}});
}

Result<ApiResponse> Api::DeepHealth(Call&) {
  Json components = Json::object();
  bool healthy = true;
  const auto t0 = std::chrono::steady_clock::now();
  Result<SchemaStatus> schema = store_->GetSchemaStatus();
  const double store_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (schema.has_value()) {
    components["store"] = {{"status", schema->pending.empty() ? "ok" : "migrations-pending"},
                           {"backend", schema->backend},
                           {"location", schema->location},
                           {"schema_version", schema->current_version},
                           {"latest_schema_version", schema->latest_version},
                           {"latency_ms", store_ms}};
    healthy = healthy && schema->pending.empty();
  } else {
    components["store"] = {{"status", "down"}, {"error", schema.error().message()}};
    healthy = false;
  }
  Result<int64_t> head = store_->LastEventSeq();
  if (head.has_value()) {
    components["event_log"] = {{"status", "ok"}, {"head_seq", *head}};
  } else {
    components["event_log"] = {{"status", "down"}, {"error", head.error().message()}};
    healthy = false;
  }
  components["event_streams"] = {
      {"status", "ok"}, {"clients_waiting", feed_.waiting()}, {"polls", feed_.polls()}};
  components["engine"] = EngineHealth();
  components["console"] = {{"status", "ok"}, {"built", ConsoleBuilt()}};
  return JsonResponse(healthy ? 200 : 503, Json{{"status", healthy ? "ok" : "degraded"},
                                                {"version", FERRY_VERSION},
                                                {"components", components}});
}

Result<ApiResponse> Api::MetricsText(Call&) {
  RefreshRunMetrics();
  ApiResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = MetricsRegistry::Default().RenderPrometheus();
  return response;
}

Result<ApiResponse> Api::OpenApi(Call&) { return RawJson(std::string(OpenApiDocument())); }

Result<ApiResponse> Api::Console(Call& call) {
  std::string_view path = call.request.path;
  std::optional<ConsoleFile> file = FindConsoleFile(path);
  if (!file.has_value() && path.starts_with("/assets/")) {
    return Err(NotFound("{}: the console has no such file", path));
  }
  if (!file.has_value()) file = FindConsoleFile("/index.html");
  ApiResponse response;
  if (!file.has_value()) {
    response.content_type = "text/html; charset=utf-8";
    response.body = std::string(ConsoleNotBuiltPage());
    return response;
  }
  response.content_type = std::string(file->content_type);
  response.body = std::string(file->body);
  return response;
}

// ---- Sessions, identity, keys

Result<ApiResponse> Api::OpenSession(Call& call) {
  FERRY_ASSIGN_OR_RETURN(Json body, ParseBody(call.request, true));
  FERRY_RETURN_IF_ERROR(CheckKeys(body, {"api_key"}));
  FERRY_ASSIGN_OR_RETURN(std::string key, StringField(body, "api_key", true));
  FERRY_ASSIGN_OR_RETURN(NewSession session, auth_.OpenSession(key, options_.session_micros));
  return JsonResponse(200, Json{{"token", session.token},
                                {"name", session.principal.name},
                                {"role", RoleName(session.principal.role)},
                                {"expires_at", TimeJson(session.principal.expires_micros)}});
}

Result<ApiResponse> Api::WhoAmI(Call& call) {
  const Principal& p = call.principal;
  return JsonResponse(200, Json{{"name", p.name},
                                {"role", RoleName(p.role)},
                                {"actor", p.actor},
                                {"key_id", p.key_id},
                                {"session", p.session},
                                {"expires_at", TimeJson(p.expires_micros)}});
}

Result<ApiResponse> Api::ListKeys(Call&) {
  FERRY_ASSIGN_OR_RETURN(std::vector<ApiKeyRecord> keys, store_->ListApiKeys());
  Json list = Json::array();
  const int64_t now = env_->NowMicros();
  for (const ApiKeyRecord& key : keys) list.push_back(KeyJson(key, now));
  return JsonResponse(200, Json{{"keys", list}});
}

Result<ApiResponse> Api::CreateKey(Call& call) {
  FERRY_ASSIGN_OR_RETURN(Json body, ParseBody(call.request, true));
  FERRY_RETURN_IF_ERROR(CheckKeys(body, {"name", "role", "expires_in_days"}));
  FERRY_ASSIGN_OR_RETURN(std::string name, StringField(body, "name", true));
  FERRY_ASSIGN_OR_RETURN(std::string role_text, StringField(body, "role", true));
  FERRY_ASSIGN_OR_RETURN(Role role, ParseRole(role_text));
  int64_t days = 90;
  if (auto it = body.find("expires_in_days"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 3650) {
      return Err(InvalidArgument(
          "request body: `expires_in_days` must be an integer from 0 (never) to 3650"));
    }
    days = it->get<int64_t>();
  }
  const int64_t expires = days == 0 ? 0 : env_->NowMicros() + days * 86'400'000'000;
  FERRY_ASSIGN_OR_RETURN(NewApiKey key,
                         server::CreateApiKey(store_, name, role, expires, call.principal.actor));
  Json out = KeyJson(key.record, env_->NowMicros());
  out["key"] = key.token;
  return JsonResponse(201, out);
}

Result<ApiResponse> Api::RevokeKey(Call& call) {
  FERRY_ASSIGN_OR_RETURN(ApiKeyRecord key,
                         store_->RevokeApiKey(call.params["id"], call.principal.actor));
  auth_.Forget(key.id);
  return JsonResponse(200, KeyJson(key, env_->NowMicros()));
}

// ---- Event log

Result<ApiResponse> Api::ListEvents(Call& call) {
  FERRY_ASSIGN_OR_RETURN(int64_t after, QueryInt(call.request, "after", 0, 0, INT64_MAX));
  FERRY_ASSIGN_OR_RETURN(int64_t limit, QueryInt(call.request, "limit", 100, 1, 1000));
  FERRY_ASSIGN_OR_RETURN(std::vector<Event> events,
                         store_->ReadEvents(after, static_cast<int>(limit)));
  Json list = Json::array();
  for (const Event& event : events) list.push_back(EventJson(event));
  return JsonResponse(200, Json{{"events", list}});
}

Result<ApiResponse> Api::VerifyEvents(Call&) {
  FERRY_ASSIGN_OR_RETURN(EventLogReport report, store_->VerifyEventLog());
  return JsonResponse(200, Json{{"intact", report.intact},
                                {"events_checked", report.events_checked},
                                {"head_hash", report.head_hash},
                                {"first_bad_seq", report.first_bad_seq},
                                {"problems", report.problems}});
}

// ---- Projects

Result<ApiResponse> Api::ListProjects(Call&) {
  FERRY_ASSIGN_OR_RETURN(std::vector<ProjectRecord> projects, store_->ListProjects());
  Json list = Json::array();
  for (const ProjectRecord& project : projects) list.push_back(ProjectJson(project));
  return JsonResponse(200, Json{{"projects", list}});
}

Result<ApiResponse> Api::CreateProject(Call& call) {
  FERRY_ASSIGN_OR_RETURN(Json body, ParseBody(call.request, true));
  FERRY_RETURN_IF_ERROR(CheckKeys(body, {"name", "description"}));
  FERRY_ASSIGN_OR_RETURN(std::string name, StringField(body, "name", true));
  FERRY_ASSIGN_OR_RETURN(std::string description, StringField(body, "description", false));
  if (!ValidName(name)) {
    return Err(InvalidArgument(
        "request body: project name `{}`: use 1 to 100 letters, digits, `-`, `_` or `.`", name));
  }
  FERRY_RETURN_IF_ERROR(
      store_->CreateProject({.name = name, .description = description}, call.principal.actor));
  FERRY_ASSIGN_OR_RETURN(std::optional<ProjectRecord> project, store_->GetProject(name));
  if (!project.has_value()) return Err(Internal("project `{}` vanished after creation", name));
  return JsonResponse(201, ProjectJson(*project));
}

Result<ApiResponse> Api::GetProject(Call& call) {
  const std::string& name = call.params["name"];
  FERRY_ASSIGN_OR_RETURN(std::optional<ProjectRecord> project, store_->GetProject(name));
  if (!project.has_value()) {
    return Err(NotFound("there is no project `{}`; GET /api/v1/projects lists them", name));
  }
  return JsonResponse(200, ProjectJson(*project));
}

// ---- Inventories and plans

Result<ApiResponse> Api::ListInventories(Call&) {
  Json list = Json::array();
  std::string after;
  constexpr int kPage = 256;
  for (;;) {
    FERRY_ASSIGN_OR_RETURN(std::vector<InventoryRecord> page,
                           store_->ListInventories(after, kPage));
    for (const InventoryRecord& inventory : page) {
      list.push_back({{"name", inventory.name},
                      {"source_kind", inventory.source_kind},
                      {"taken_at", TimeJson(inventory.taken_micros)},
                      {"saved_at", TimeJson(inventory.saved_micros)},
                      {"schema_version", inventory.schema_version},
                      {"bytes", inventory.document.size()}});
    }
    if (static_cast<int>(page.size()) < kPage) break;
    after = page.back().name;
  }
  return JsonResponse(200, Json{{"inventories", list}});
}

Result<ApiResponse> Api::GetInventory(Call& call) {
  const std::string& name = call.params["name"];
  FERRY_ASSIGN_OR_RETURN(std::optional<InventoryRecord> inventory, store_->GetInventory(name));
  if (!inventory.has_value()) {
    return Err(NotFound("there is no inventory `{}`; GET /api/v1/inventories lists them", name));
  }
  return RawJson(inventory->document);
}

Result<ApiResponse> Api::ListPlans(Call& call) {
  FERRY_ASSIGN_OR_RETURN(int64_t limit, QueryInt(call.request, "limit", 100, 1, 1000));
  FERRY_ASSIGN_OR_RETURN(std::vector<PlanRecord> plans, store_->ListPlans(static_cast<int>(limit)));
  Json list = Json::array();
  for (const PlanRecord& plan : plans) {
    Json options = Json::parse(plan.options, nullptr, false);
    list.push_back({{"id", plan.id},
                    {"created_at", TimeJson(plan.created_micros)},
                    {"created_by", plan.created_by},
                    {"hosts", plan.hosts},
                    {"waves", plan.waves},
                    {"options", options.is_discarded() ? Json::object() : options}});
  }
  return JsonResponse(200, Json{{"plans", list}});
}

Result<ApiResponse> Api::CreatePlan(Call& call) {
  FERRY_ASSIGN_OR_RETURN(Json body, ParseBody(call.request, false));
  FERRY_RETURN_IF_ERROR(
      CheckKeys(body, {"max_wave_size", "percentile", "comfort", "regions", "date"}));
  plan::PlanOptions options;
  auto integer = [&](std::string_view key, int* out) -> Status {
    auto it = body.find(std::string(key));
    if (it == body.end() || it->is_null()) return OkStatus();
    if (!it->is_number_integer()) {
      return InvalidArgument("request body: `{}` must be an integer, got {}", key, it->type_name());
    }
    *out = it->get<int>();
    return OkStatus();
  };
  FERRY_RETURN_IF_ERROR(integer("max_wave_size", &options.waves.max_wave_size));
  FERRY_RETURN_IF_ERROR(integer("percentile", &options.sizing.percentile));
  if (auto it = body.find("comfort"); it != body.end() && !it->is_null()) {
    if (!it->is_number()) {
      return Err(
          InvalidArgument("request body: `comfort` must be a number, got {}", it->type_name()));
    }
    options.sizing.comfort = it->get<double>();
  }
  FERRY_RETURN_IF_ERROR(plan::ValidateSizingOptions(options.sizing));
  FERRY_RETURN_IF_ERROR(plan::ValidateWaveOptions(options.waves));
  if (auto it = body.find("regions"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) {
      return Err(InvalidArgument(
          "request body: `regions` must be an object of cloud to region, e.g. {{\"aws\": "
          "\"eu-west-1\"}}"));
    }
    for (const auto& [cloud_name, region] : it->items()) {
      FERRY_ASSIGN_OR_RETURN(plan::Cloud cloud, plan::ParseCloud(cloud_name));
      if (!region.is_string()) {
        return Err(InvalidArgument("request body: regions.{} must be a string", cloud_name));
      }
      options.regions[cloud] = region.get<std::string>();
    }
  }
  FERRY_ASSIGN_OR_RETURN(std::string date, StringField(body, "date", false));
  options.today = date.empty() ? plan::DateOfMicros(env_->NowMicros()) : date;
  if (!plan::DaysUntil(options.today, options.today)) {
    return Err(InvalidArgument("request body: `date` {}: expected YYYY-MM-DD", date));
  }
  plan::EstateReader reader(env_);
  constexpr int kPage = 256;
  int64_t read = 0;
  std::string after;
  for (;;) {
    FERRY_ASSIGN_OR_RETURN(std::vector<InventoryRecord> page,
                           store_->ListInventories(after, kPage));
    for (const InventoryRecord& inventory : page) {
      reader.AddInventoryText(inventory.document, "store:" + inventory.name, inventory.name);
    }
    read += static_cast<int64_t>(page.size());
    if (static_cast<int>(page.size()) < kPage) break;
    after = page.back().name;
  }
  if (read == 0) {
    return Err(FailedPrecondition(
        "the store {} holds no inventory to plan; save some first with `ferry discover --save` "
        "on each host (or `ferry discover import ... --save`)",
        store_->location()));
  }
  plan::Estate estate = std::move(reader).Finish();
  FERRY_ASSIGN_OR_RETURN(plan::Plan made, plan::MakePlan(estate, plan::BuiltinCatalog(), options));
  PlanRecord record{.id = NewId("plan"),
                    .hosts = static_cast<int64_t>(estate.servers.size()),
                    .waves = static_cast<int64_t>(made.waves.waves.size()),
                    .options = body.dump(),
                    .document = plan::RenderPlanJson(estate, made)};
  FERRY_RETURN_IF_ERROR(store_->SavePlan(record, call.principal.actor));
  return JsonResponse(201,
                      Json{{"id", record.id}, {"hosts", record.hosts}, {"waves", record.waves}});
}

Result<ApiResponse> Api::GetPlan(Call& call) {
  const std::string& id = call.params["id"];
  FERRY_ASSIGN_OR_RETURN(std::optional<PlanRecord> plan, store_->GetPlan(id));
  if (!plan.has_value()) {
    return Err(NotFound("there is no plan {}; GET /api/v1/plans lists them", id));
  }
  return RawJson(plan->document);
}

}  // namespace ferry::server
