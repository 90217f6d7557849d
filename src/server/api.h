// The HTTP API of docs/api.md, independent of the HTTP library: a request in, a response out.
// http_server.cc carries it over HTTP (cpp-httplib); tests may call Handle() directly.
//
// Every request goes through the same steps, in order: route (404/405), authenticate (401),
// rate limit per key or, without one, per client address (429 + Retry-After), authorize by role
// (403 naming the role needed and the one held), then the handler. Every response carries the
// security headers of docs/api.md; API responses are `Cache-Control: no-store`.
//
// Thread-safety: Handle() may be called from any number of threads at once.
#ifndef FERRY_SERVER_API_H_
#define FERRY_SERVER_API_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/env.h"
#include "base/json.h"
#include "base/metrics.h"
#include "base/status.h"
#include "server/auth.h"
#include "server/event_feed.h"
#include "server/rate_limiter.h"
#include "store/store.h"

namespace ferry::workflow {
class Engine;
}

namespace ferry::server {

struct ApiRequest {
  std::string method;  // "GET"
  std::string path;    // decoded, without the query: "/api/v1/runs/run-1"
  std::map<std::string, std::string> query;
  std::string authorization;  // the Authorization header
  std::string content_type;
  std::string accept;
  std::string last_event_id;
  std::string body;
  std::string remote_address;
};

// The body of a streamed response (server-sent events).
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Waits for the next piece of the stream and puts it in *out: events, or a keep-alive
  // comment. `client_alive` is asked while waiting; once it says false, or the server stops,
  // returns false and the stream ends.
  virtual bool Next(std::string* out, const std::function<bool()>& client_alive) = 0;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::unique_ptr<ResponseStream> stream;  // when set, the body is streamed from it
  std::string route;  // the route's pattern, "/api/v1/runs/{id}", or "unmatched"
};

struct ApiOptions {
  // Requests per second per key (or per client address without a key); 0: no limit. A burst
  // of one second's worth is allowed.
  double rate_per_second = 50;
  // The transport refuses larger bodies with 413 before they reach Handle.
  int64_t max_body_bytes = 1 << 20;
  // A comment line on idle event streams this often, so proxies do not close them.
  int64_t keepalive_micros = 15'000'000;
  int64_t session_micros = kSessionMicros;
  bool tls = false;  // adds Strict-Transport-Security
  EventFeedOptions feed;
};

// Who may call a route.
enum class Access { kPublic, kViewer, kOperator, kAdmin };
std::string_view AccessName(Access access);  // "public", "viewer", "operator", "admin"

struct RouteInfo {
  std::string method;
  std::string path;  // OpenAPI form: "/api/v1/runs/{id}"
  Access access;
};

class Api {
 public:
  // `store`, `engine` and `env` are not owned and must outlive the Api.
  Api(Store* store, workflow::Engine* engine, Env* env, ApiOptions options);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  ApiResponse Handle(const ApiRequest& request);

  // An error response in the API's shape, with its headers: for what the transport refuses
  // itself (413, a request it cannot parse).
  ApiResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                            std::string_view path) const;

  // Ends every event stream (Next returns false): call before stopping the transport.
  void Stop();

  // Every route served, in the order matched.
  static std::vector<RouteInfo> Routes();
  // The OpenAPI 3 document (GET /api/v1/openapi.json).
  static std::string_view OpenApiDocument();

  Authenticator& authenticator() { return auth_; }
  EventFeed& feed() { return feed_; }

 private:
  struct Call;
  struct Route;
  using Handler = Result<ApiResponse> (Api::*)(Call&);
  static const std::vector<Route>& RouteTable();

  void AddHeaders(std::string_view path, ApiResponse* response) const;
  ApiResponse FromStatus(const Status& status, std::string_view path) const;
  void Record(std::string_view method, const std::string& route, int status, double seconds);

  // Handlers (api.cc; the run routes in api_runs.cc).
  Result<ApiResponse> Health(Call& call);
  Result<ApiResponse> Ready(Call& call);
  Result<ApiResponse> DeepHealth(Call& call);
  Result<ApiResponse> MetricsText(Call& call);
  Result<ApiResponse> OpenApi(Call& call);
  Result<ApiResponse> Console(Call& call);
  Result<ApiResponse> OpenSession(Call& call);
  Result<ApiResponse> WhoAmI(Call& call);
  Result<ApiResponse> ListEvents(Call& call);
  Result<ApiResponse> VerifyEvents(Call& call);
  Result<ApiResponse> ListProjects(Call& call);
  Result<ApiResponse> CreateProject(Call& call);
  Result<ApiResponse> GetProject(Call& call);
  Result<ApiResponse> ListInventories(Call& call);
  Result<ApiResponse> GetInventory(Call& call);
  Result<ApiResponse> ListPlans(Call& call);
  Result<ApiResponse> CreatePlan(Call& call);
  Result<ApiResponse> GetPlan(Call& call);
  Result<ApiResponse> ListKeys(Call& call);
  Result<ApiResponse> CreateKey(Call& call);
  Result<ApiResponse> RevokeKey(Call& call);
  Result<ApiResponse> ListRuns(Call& call);
  Result<ApiResponse> StartRun(Call& call);
  Result<ApiResponse> GetRun(Call& call);
  Result<ApiResponse> ControlRun(Call& call);
  Result<ApiResponse> ApproveRun(Call& call);
  Result<ApiResponse> ListTasks(Call& call);
  Result<ApiResponse> RunEvents(Call& call);
  Result<ApiResponse> ListArtifacts(Call& call);
  Result<ApiResponse> GetArtifact(Call& call);
  // Scrape-time figures of the engine for /metrics (api_runs.cc).
  void RefreshRunMetrics();
  Json EngineHealth();

  Store* const store_;
  workflow::Engine* const engine_;
  Env* const env_;
  const ApiOptions options_;
  Authenticator auth_;
  RateLimiter limiter_;
  EventFeed feed_;
};

// JSON helpers shared by the handlers.
// "2026-12-07T16:41:34.123Z"; null for 0.
Json TimeJson(int64_t micros);
// A response with `value` as its JSON body.
ApiResponse JsonResponse(int status, const Json& value);

}  // namespace ferry::server

#endif  // FERRY_SERVER_API_H_
