// The HTTP API against a real server on 127.0.0.1 (a random port), a real SQLite store and the
// real run engine, through the real client: authentication and roles on every route, the
// OpenAPI document against the routes served, sessions, keys, event streams with resume,
// limits, security headers, health, metrics, TLS.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <regex>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "cli/cli.h"
#include "plan/estate_generator.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/client.h"
#include "server/console.h"
#include "server/http_server.h"
#include "store/store_test_util.h"
#include "workflow/engine.h"

namespace ferry::server {
namespace {

using ::testing::HasSubstr;

// A run that stays put: its only phase awaits an admin's approval.
constexpr std::string_view kGatedRun = R"(run: gated
phases:
  - name: check
    approval: admin
    tasks:
      - {id: disk, type: check.disk, with: {path: /tmp, free: 1}}
)";

struct Keys {
  std::string viewer, operator_, admin, expired, revoked;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({.rate_per_second = 0}); }
  void TearDown() override { StopServer(); }

  void Start(ApiOptions api_options, ServerOptions server_options = {}) {
    auto location = testing::StoreLocation::Create(
        "sqlite", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(location.has_value()) << location.error().ToString();
    location_ = std::move(*location);
    auto store = Store::Open(location_->url());
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(*store);
    work_dir_ = ::testing::TempDir() + "server-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name();
    auto engine = workflow::Engine::Create(store_.get(),
                                           {.store_url = location_->url(), .work_dir = work_dir_});
    ASSERT_TRUE(engine.has_value()) << engine.error().ToString();
    engine_ = std::move(*engine);
    api_ = std::make_unique<Api>(store_.get(), engine_.get(), Env::Default(), api_options);
    server_options.host = "127.0.0.1";
    server_options.port = 0;
    server_options.threads = 64;
    auto server = HttpServer::Start(api_.get(), server_options);
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(*server);
    const int64_t now = Env::Default()->NowMicros();
    keys_.viewer = Key("viewer", Role::kViewer, 0);
    keys_.operator_ = Key("operator", Role::kOperator, 0);
    keys_.admin = Key("admin", Role::kAdmin, 0);
    keys_.expired = Key("expired", Role::kAdmin, now - 1'000'000);
    keys_.revoked = Key("revoked", Role::kAdmin, 0);
    auto revoked = ParseToken(keys_.revoked);
    ASSERT_TRUE(revoked.has_value());
    ASSERT_TRUE(store_->RevokeApiKey(revoked->id, "test").has_value());
  }

  void StopServer() {
    if (server_) server_->Stop();
    server_.reset();
    api_.reset();
    if (engine_) engine_->Stop();
    engine_.reset();
  }

  std::string Key(const std::string& name, Role role, int64_t expires) {
    auto key = CreateApiKey(store_.get(), name, role, expires, "test");
    EXPECT_TRUE(key.has_value()) << key.error().ToString();
    return key.has_value() ? key->token : "";
  }

  std::unique_ptr<ApiClient> Client(const std::string& key = "", ClientOptions options = {}) {
    options.api_key = key;
    auto client = ApiClient::Create(server_->url(), options);
    EXPECT_TRUE(client.has_value()) << client.error().ToString();
    return std::move(*client);
  }

  HttpReply Send(const std::string& key, std::string_view method, std::string_view path,
                 std::string_view body = {}, std::string_view type = {},
                 const HeaderList& headers = {}) {
    auto reply = Client(key)->Send(method, path, body, type, headers);
    EXPECT_TRUE(reply.has_value()) << reply.error().ToString();
    return reply.has_value() ? *reply : HttpReply{};
  }

  std::string StartRun(std::string_view spec = kGatedRun) {
    HttpReply reply = Send(keys_.operator_, "POST", "/api/v1/runs", spec, "application/yaml");
    EXPECT_EQ(reply.status, 201) << reply.body;
    auto body = ParseJson(reply.body, "reply");
    return body.has_value() ? body->value("id", "") : "";
  }

  std::unique_ptr<testing::StoreLocation> location_;
  std::unique_ptr<Store> store_;
  std::string work_dir_;
  std::unique_ptr<workflow::Engine> engine_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
  Keys keys_;
};

// The first line of the answer to `request` sent as is on a new connection: for requests the
// client library would not send (no Content-Length on a POST, as `curl -X POST` sends).
std::string RawStatusLine(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "connect failed";
  }
  EXPECT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string reply;
  char buffer[4096];
  for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
    reply.append(buffer, static_cast<size_t>(n));
    if (reply.find("\r\n") != std::string::npos) break;
  }
  close(fd);
  return reply.substr(0, reply.find("\r\n"));
}

// ---- Who may call what: the table of docs/api.md, checked against the OpenAPI document and
// the routes served, then enforced for each kind of caller.

struct ExpectedRoute {
  const char* method;
  const char* path;
  const char* role;
};

constexpr ExpectedRoute kAuthTable[] = {
    {"GET", "/health/live", "public"},
    {"GET", "/health/ready", "public"},
    {"GET", "/health/deep", "viewer"},
    {"GET", "/metrics", "viewer"},
    {"GET", "/api/v1/openapi.json", "public"},
    {"POST", "/api/v1/session", "public"},
    {"GET", "/api/v1/whoami", "viewer"},
    {"GET", "/api/v1/runs", "viewer"},
    {"POST", "/api/v1/runs", "operator"},
    {"GET", "/api/v1/runs/{id}", "viewer"},
    {"POST", "/api/v1/runs/{id}/pause", "operator"},
    {"POST", "/api/v1/runs/{id}/resume", "operator"},
    {"POST", "/api/v1/runs/{id}/cancel", "operator"},
    {"POST", "/api/v1/runs/{id}/rollback", "operator"},
    {"POST", "/api/v1/runs/{id}/approve", "operator"},
    {"GET", "/api/v1/runs/{id}/tasks", "viewer"},
    {"GET", "/api/v1/runs/{id}/events", "viewer"},
    {"GET", "/api/v1/runs/{id}/artifacts", "viewer"},
    {"GET", "/api/v1/runs/{id}/artifacts/{name}", "viewer"},
    {"GET", "/api/v1/events", "viewer"},
    {"GET", "/api/v1/events/verify", "viewer"},
    {"GET", "/api/v1/projects", "viewer"},
    {"POST", "/api/v1/projects", "operator"},
    {"GET", "/api/v1/projects/{name}", "viewer"},
    {"GET", "/api/v1/inventories", "viewer"},
    {"GET", "/api/v1/inventories/{name}", "viewer"},
    {"GET", "/api/v1/plans", "viewer"},
    {"POST", "/api/v1/plans", "operator"},
    {"GET", "/api/v1/plans/{id}", "viewer"},
    {"GET", "/api/v1/keys", "admin"},
    {"POST", "/api/v1/keys", "admin"},
    {"DELETE", "/api/v1/keys/{id}", "admin"},
    {"GET", "/", "public"},
    {"GET", "/assets/{file}", "public"},
};

std::map<std::pair<std::string, std::string>, std::string> OpenApiRoutes() {
  auto doc = ParseJson(Api::OpenApiDocument(), "openapi.json");
  EXPECT_TRUE(doc.has_value()) << doc.error().ToString();
  std::map<std::pair<std::string, std::string>, std::string> routes;
  for (const auto& [path, item] : (*doc)["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      routes[{upper, path}] = operation.value("x-ferry-role", "?");
    }
  }
  return routes;
}

TEST(OpenApiTest, DocumentTableAndServedRoutesAgree) {
  auto doc = ParseJson(Api::OpenApiDocument(), "openapi.json");
  ASSERT_TRUE(doc.has_value()) << doc.error().ToString();
  EXPECT_EQ((*doc)["openapi"].get<std::string>().substr(0, 2), "3.");
  const auto documented = OpenApiRoutes();
  std::map<std::pair<std::string, std::string>, std::string> table;
  for (const ExpectedRoute& r : kAuthTable) table[{r.method, r.path}] = r.role;
  std::map<std::pair<std::string, std::string>, std::string> served;
  for (const RouteInfo& r : Api::Routes()) served[{r.method, r.path}] = AccessName(r.access);
  EXPECT_EQ(table, documented) << "the test's table and the OpenAPI document differ";
  EXPECT_EQ(served, documented) << "the routes served and the OpenAPI document differ";
  // Every $ref points at a schema that exists.
  const std::string text(Api::OpenApiDocument());
  std::regex ref("\"#/components/schemas/([A-Za-z]+)\"");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), ref); it != std::sregex_iterator();
       ++it) {
    EXPECT_TRUE((*doc)["components"]["schemas"].contains((*it)[1].str())) << (*it)[1].str();
  }
}

// `{id}` and friends filled with values that reach the handler.
std::string Fill(std::string path, const std::string& run_id) {
  auto replace = [&](std::string_view from, std::string_view to) {
    if (size_t at = path.find(from); at != std::string::npos) path.replace(at, from.size(), to);
  };
  replace("/runs/{id}", "/runs/" + run_id);
  replace("{name}", "x");
  replace("{id}", "0123456789abcdef");
  replace("{file}", "app.js");
  return path;
}

TEST_F(ServerTest, EveryRouteAllowsAndRefusesAsDocumented) {
  const std::string run_id = StartRun();
  ASSERT_FALSE(run_id.empty());
  struct Caller {
    std::string name;
    std::string key;
    int rank;  // -1: no valid credentials
  };
  const std::vector<Caller> callers = {{"none", "", -1},
                                       {"expired", keys_.expired, -1},
                                       {"revoked", keys_.revoked, -1},
                                       {"viewer", keys_.viewer, 0},
                                       {"operator", keys_.operator_, 1},
                                       {"admin", keys_.admin, 2}};
  const std::map<std::string, int> need = {
      {"public", -1}, {"viewer", 0}, {"operator", 1}, {"admin", 2}};
  int checked = 0;
  for (const ExpectedRoute& route : kAuthTable) {
    for (const Caller& caller : callers) {
      const std::string path = Fill(route.path, run_id);
      // Mutations get a body their handler refuses, so that nothing changes: allowed means
      // "reached the handler", whatever it then answers.
      HttpReply reply = Send(caller.key, route.method, path,
                             std::string_view(route.method) == "GET" ? "" : "{\"bogus\": 1}");
      const int needed = need.at(route.role);
      SCOPED_TRACE(fmt::format("{} {} as {}: {} {}", route.method, path, caller.name, reply.status,
                               reply.body.substr(0, 200)));
      if (needed < 0) {
        EXPECT_NE(reply.status, 401);
        EXPECT_NE(reply.status, 403);
      } else if (caller.rank < 0) {
        EXPECT_EQ(reply.status, 401);
        EXPECT_THAT(reply.body, HasSubstr("\"unauthenticated\""));
      } else if (caller.rank < needed) {
        EXPECT_EQ(reply.status, 403);
        EXPECT_THAT(reply.body, HasSubstr(fmt::format("needs the {} role", route.role)));
      } else {
        EXPECT_NE(reply.status, 401);
        EXPECT_NE(reply.status, 403);
        EXPECT_NE(reply.status, 405);
        EXPECT_THAT(reply.body, ::testing::Not(HasSubstr("no such route")));
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(std::size(kAuthTable) * callers.size()));
  // Nothing the refused callers sent changed anything: no key, project or plan was made.
  EXPECT_EQ(store_->ListApiKeys()->size(), 5u);
  EXPECT_TRUE(store_->ListProjects()->empty());
}

TEST_F(ServerTest, EveryDocumentedPathIsServed) {
  const std::string run_id = StartRun();
  for (const auto& [route, role] : OpenApiRoutes()) {
    const std::string path = Fill(route.second, run_id);
    HttpReply reply = Send(keys_.admin, route.first, path);
    SCOPED_TRACE(route.first + " " + path + ": " + reply.body.substr(0, 200));
    EXPECT_NE(reply.status, 405);
    EXPECT_THAT(reply.body, ::testing::Not(HasSubstr("no such route")));
  }
  // And what is not documented is not served.
  HttpReply unknown = Send(keys_.admin, "GET", "/api/v1/nothing");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(unknown.body, HasSubstr("no such route"));
  HttpReply wrong_method = Send(keys_.admin, "PUT", "/api/v1/runs");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.Header("Allow"), "GET, POST");
}

// ---- Sessions and keys

TEST_F(ServerTest, SessionTokensStandForTheirKey) {
  HttpReply opened = Send("", "POST", "/api/v1/session", Json{{"api_key", keys_.operator_}}.dump(),
                          "application/json");
  ASSERT_EQ(opened.status, 200) << opened.body;
  Json session = *ParseJson(opened.body, "session");
  EXPECT_EQ(session["name"], "operator");
  EXPECT_EQ(session["role"], "operator");
  const std::string token = session["token"];
  EXPECT_TRUE(token.starts_with("frs_"));
  EXPECT_TRUE(std::regex_match(session["expires_at"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  HttpReply who = Send(token, "GET", "/api/v1/whoami");
  ASSERT_EQ(who.status, 200);
  EXPECT_EQ((*ParseJson(who.body, "who"))["actor"], "console:operator");
  // A session acts with its key's role, no more.
  EXPECT_EQ(Send(token, "GET", "/api/v1/keys").status, 403);

  for (const std::string& bad : {keys_.expired, keys_.revoked, token, std::string("fry_nope")}) {
    HttpReply refused =
        Send("", "POST", "/api/v1/session", Json{{"api_key", bad}}.dump(), "application/json");
    EXPECT_EQ(refused.status, 401) << refused.body;
  }
  HttpReply malformed = Send("", "POST", "/api/v1/session", "{\"api_key\": ", "application/json");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_THAT(malformed.body, HasSubstr("request body:1:13"));
}

TEST_F(ServerTest, KeysAreShownOnceAndRevokedAtOnce) {
  HttpReply made = Send(keys_.admin, "POST", "/api/v1/keys",
                        R"({"name": "ci", "role": "operator", "expires_in_days": 7})");
  ASSERT_EQ(made.status, 201) << made.body;
  Json key = *ParseJson(made.body, "key");
  const std::string token = key["key"];
  EXPECT_EQ(key["role"], "operator");
  EXPECT_EQ(key["state"], "active");
  EXPECT_EQ(Send(token, "GET", "/api/v1/whoami").status, 200);
  HttpReply listed = Send(keys_.admin, "GET", "/api/v1/keys");
  EXPECT_THAT(listed.body, HasSubstr("\"ci\""));
  EXPECT_THAT(listed.body, ::testing::Not(HasSubstr(token.substr(21))));  // never the secret
  EXPECT_THAT(listed.body, ::testing::Not(HasSubstr("secret_hash")));
  HttpReply same_name =
      Send(keys_.admin, "POST", "/api/v1/keys", R"({"name": "ci", "role": "viewer"})");
  EXPECT_EQ(same_name.status, 409);
  EXPECT_EQ(Send(keys_.admin, "POST", "/api/v1/keys", R"({"name": "x", "role": "boss"})").status,
            400);

  HttpReply revoked = Send(keys_.admin, "DELETE", "/api/v1/keys/" + key["id"].get<std::string>());
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ((*ParseJson(revoked.body, "k"))["state"], "revoked");
  HttpReply after = Send(token, "GET", "/api/v1/whoami");
  EXPECT_EQ(after.status, 401);
  EXPECT_THAT(after.body, HasSubstr("was revoked"));
  // Each change is an event of the admin's key.
  std::vector<std::string> kinds;
  const auto all1 = store_->ReadEvents(0, 1000).value();

  for (const Event& e : all1) {
    if (e.actor == "key:admin") kinds.push_back(e.kind);
  }
  EXPECT_THAT(kinds, ::testing::ElementsAre("api-key.created", "api-key.revoked"));
}

// ---- Runs

TEST_F(ServerTest, RunsStartControlAndRecordTheirActor) {
  HttpReply bad = Send(keys_.operator_, "POST", "/api/v1/runs",
                       "run: x\nphases:\n  - name: p\n    tasks:\n      - {id: a, type: kopy}\n",
                       "application/yaml");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("request body:5:"));
  EXPECT_THAT(bad.body, HasSubstr("kopy"));
  HttpReply not_yaml = Send(keys_.operator_, "POST", "/api/v1/runs", "run: [", "text/yaml");
  EXPECT_EQ(not_yaml.status, 400);
  EXPECT_THAT(not_yaml.body, HasSubstr("request body:"));

  HttpReply as_json = Send(keys_.operator_, "POST", "/api/v1/runs",
                           Json{{"spec", std::string(kGatedRun)}}.dump(), "application/json");
  ASSERT_EQ(as_json.status, 201) << as_json.body;
  const std::string id = (*ParseJson(as_json.body, "r"))["id"];
  EXPECT_EQ(as_json.Header("Location"), "/api/v1/runs/" + id);

  HttpReply run = Send(keys_.viewer, "GET", "/api/v1/runs/" + id);
  ASSERT_EQ(run.status, 200) << run.body;
  Json status = *ParseJson(run.body, "run");
  EXPECT_EQ(status["id"], id);
  EXPECT_EQ(status["name"], "gated");
  EXPECT_EQ(status["started_by"], "key:operator");
  EXPECT_EQ(status["tasks"].size(), 1u);
  EXPECT_EQ(status["tasks"][0]["id"], "disk");
  EXPECT_EQ(status["phases"][0]["approval"], "admin");
  for (const char* field :
       {"awaiting", "error", "created_at", "updated_at", "rows_done", "bytes_done", "spec_yaml"}) {
    EXPECT_TRUE(status.contains(field)) << field;
  }
  HttpReply list = Send(keys_.viewer, "GET", "/api/v1/runs");
  EXPECT_THAT(list.body, HasSubstr(id));
  HttpReply tasks = Send(keys_.viewer, "GET", "/api/v1/runs/" + id + "/tasks");
  EXPECT_EQ((*ParseJson(tasks.body, "t"))["tasks"].size(), 1u);

  // The phase wants an admin: the operator is refused by the engine, naming both roles.
  HttpReply approve =
      Send(keys_.operator_, "POST", "/api/v1/runs/" + id + "/approve", R"({"phase": "check"})");
  EXPECT_EQ(approve.status, 403) << approve.body;
  // `curl -X POST` sends no Content-Length: the control routes take no body, so it is served.
  EXPECT_EQ(RawStatusLine(server_->port(),
                          fmt::format("POST /api/v1/runs/{}/pause HTTP/1.1\r\nHost: x\r\n"
                                      "Authorization: Bearer {}\r\nConnection: close\r\n\r\n",
                                      id, keys_.operator_)),
            "HTTP/1.1 200 OK");
  HttpReply cancelled = Send(keys_.operator_, "POST", "/api/v1/runs/" + id + "/cancel");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ((*ParseJson(cancelled.body, "c"))["state"], "cancelled");
  HttpReply resume = Send(keys_.operator_, "POST", "/api/v1/runs/" + id + "/resume");
  EXPECT_EQ(resume.status, 400) << resume.body;
  EXPECT_EQ(Send(keys_.viewer, "GET", "/api/v1/runs/run-nope").status, 404);

  std::set<std::string> actors;
  const auto all2 = store_->ReadEvents(0, 1000, id).value();

  for (const Event& e : all2) actors.insert(e.actor);
  EXPECT_TRUE(actors.contains("key:operator"));
}

// Server-sent events: read part of a run's events, disconnect, resume with Last-Event-ID, and
// get exactly the rest.
struct SseEvent {
  int64_t seq = 0;
  std::string kind;
  Json data;
};

std::vector<SseEvent> ReadSse(ApiClient& client, const std::string& path, int64_t last_id,
                              const std::function<bool(const SseEvent&)>& until) {
  std::vector<SseEvent> events;
  std::string buffer;
  HeaderList headers = {{"Accept", "text/event-stream"}};
  if (last_id > 0) headers.emplace_back("Last-Event-ID", std::to_string(last_id));
  auto status = client.Stream(path, headers, [&](std::string_view data) {
    buffer.append(data);
    for (size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
      std::string block = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      SseEvent event;
      std::istringstream lines(block);
      for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("id: ")) event.seq = std::stoll(line.substr(4));
        if (line.starts_with("event: ")) event.kind = line.substr(7);
        if (line.starts_with("data: ")) event.data = *ParseJson(line.substr(6), "data");
      }
      if (event.seq == 0) continue;  // a comment or the retry line
      events.push_back(event);
      if (until(event)) return false;
    }
    return true;
  });
  EXPECT_TRUE(status.has_value()) << status.error().ToString();
  return events;
}

TEST_F(ServerTest, EventStreamResumesAfterLastEventIdWithoutGapsOrDuplicates) {
  const std::string id = StartRun();
  auto append = [&](int n, const std::string& kind) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(store_->AppendEvent({.run_id = id, .actor = "test", .kind = kind}));
      ASSERT_TRUE(store_->AppendEvent({.run_id = "other", .actor = "test", .kind = "noise"}));
    }
  };
  append(20, "test.first");
  auto client = Client(keys_.viewer);
  const std::string path = "/api/v1/runs/" + id + "/events";
  int seen = 0;
  std::vector<SseEvent> first =
      ReadSse(*client, path, 0, [&](const SseEvent&) { return ++seen == 12; });
  ASSERT_EQ(first.size(), 12u);
  // More events while disconnected, some while the second connection is open.
  append(15, "test.second");
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    append(10, "test.third");
    ASSERT_TRUE(store_->AppendEvent({.run_id = id, .actor = "test", .kind = "test.end"}));
  });
  std::vector<SseEvent> rest = ReadSse(*client, path, first.back().seq,
                                       [](const SseEvent& e) { return e.kind == "test.end"; });
  late.join();
  std::vector<int64_t> got;
  for (const SseEvent& e : first) got.push_back(e.seq);
  for (const SseEvent& e : rest) got.push_back(e.seq);
  std::vector<int64_t> want;
  const auto all3 = store_->ReadEvents(0, 10000, id).value();

  for (const Event& e : all3) want.push_back(e.seq);
  EXPECT_EQ(got, want);
  // Each event's data is the event, as GET /events gives it.
  const SseEvent& last = rest.back();
  EXPECT_EQ(last.data["seq"], last.seq);
  EXPECT_EQ(last.data["run_id"], id);
  EXPECT_EQ(last.data["kind"], "test.end");
  EXPECT_EQ(last.data["actor"], "test");
  EXPECT_EQ(last.data["hash"].get<std::string>().size(), 64u);

  // Without the Accept header: the same events as JSON, after ?after=.
  HttpReply json = Send(keys_.viewer, "GET", path + "?after=" + std::to_string(first.back().seq));
  ASSERT_EQ(json.status, 200);
  EXPECT_EQ((*ParseJson(json.body, "events"))["events"].size(), rest.size());
}

TEST_F(ServerTest, ManyStreamsShareOnePoller) {
  const std::string id = StartRun();
  constexpr int kClients = 40;
  std::atomic<int> done{0};
  std::vector<std::thread> clients;
  std::vector<size_t> counts(kClients);
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto client = Client(keys_.viewer);
      counts[c] = ReadSse(*client, "/api/v1/runs/" + id + "/events", 0, [](const SseEvent& e) {
                    return e.kind == "test.end";
                  }).size();
      ++done;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(store_->AppendEvent({.run_id = id, .actor = "test", .kind = "tick"}));
  }
  ASSERT_TRUE(store_->AppendEvent({.run_id = id, .actor = "test", .kind = "test.end"}));
  for (std::thread& t : clients) t.join();
  const size_t want = store_->ReadEvents(0, 10000, id)->size();
  for (int c = 0; c < kClients; ++c) EXPECT_EQ(counts[c], want) << "client " << c;
}

// ---- Limits, errors, headers

TEST_F(ServerTest, LimitsAndErrorsAnswerInTheApisShape) {
  const std::string big(2 << 20, 'x');
  HttpReply too_big = Send(keys_.operator_, "POST", "/api/v1/projects", big, "application/json");
  EXPECT_EQ(too_big.status, 413);
  EXPECT_THAT(too_big.body, HasSubstr("\"payload_too_large\""));
  EXPECT_EQ(too_big.Header("X-Content-Type-Options"), "nosniff");

  HttpReply malformed = Send(keys_.operator_, "POST", "/api/v1/projects",
                             "{\n  \"name\": \"a\",\n  \"description\": oops\n}");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_THAT(malformed.body, HasSubstr("request body:3:"));
  HttpReply unknown_key = Send(keys_.operator_, "POST", "/api/v1/projects", R"({"nmae": "a"})");
  EXPECT_EQ(unknown_key.status, 400);
  EXPECT_THAT(unknown_key.body, HasSubstr("unknown key `nmae`"));

  HttpReply made = Send(keys_.operator_, "POST", "/api/v1/projects",
                        R"({"name": "bank", "description": "core banking"})");
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(Send(keys_.operator_, "POST", "/api/v1/projects", R"({"name": "bank"})").status, 409);
  HttpReply got = Send(keys_.viewer, "GET", "/api/v1/projects/bank");
  EXPECT_EQ((*ParseJson(got.body, "p"))["created_by"], "key:operator");
  EXPECT_EQ(Send(keys_.viewer, "GET", "/api/v1/projects/nope").status, 404);

  for (const char* path : {"/api/v1/whoami", "/health/live", "/"}) {
    HttpReply reply = Send(keys_.viewer, "GET", path);
    SCOPED_TRACE(path);
    EXPECT_THAT(reply.Header("Content-Security-Policy"), HasSubstr("default-src 'self'"));
    EXPECT_THAT(reply.Header("Content-Security-Policy"), HasSubstr("frame-ancestors 'none'"));
    EXPECT_THAT(reply.Header("Content-Security-Policy"), ::testing::Not(HasSubstr("unsafe")));
    EXPECT_EQ(reply.Header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(reply.Header("X-Frame-Options"), "DENY");
    EXPECT_EQ(reply.Header("Referrer-Policy"), "no-referrer");
    EXPECT_EQ(reply.Header("Strict-Transport-Security"), "") << "plain HTTP";
    EXPECT_EQ(reply.Header("Cache-Control"),
              std::string_view(path) == "/" ? "no-cache" : "no-store");
  }
  // The console: the page saying it was not built (or the console), for client-side routes too.
  HttpReply root = Send("", "GET", "/");
  EXPECT_EQ(root.status, 200);
  EXPECT_THAT(root.Header("Content-Type"), HasSubstr("text/html"));
  EXPECT_EQ(Send("", "GET", "/runs/abc").body, root.body);
  EXPECT_EQ(Send("", "GET", "/assets/nothing.js").status, 404);
  if (ConsoleBuilt()) {
    EXPECT_THAT(root.body, HasSubstr("<!doctype html>"));
    HttpReply app = Send("", "GET", "/assets/app.js");
    EXPECT_EQ(app.status, 200);
    EXPECT_THAT(app.Header("Content-Type"), HasSubstr("javascript"));
    EXPECT_EQ(app.Header("Cache-Control"), "no-cache");
  } else {
    EXPECT_THAT(root.body, HasSubstr("built without its web console"));
  }
}

TEST_F(ServerTest, RateLimitPerKeyAnswers429WithRetryAfter) {
  StopServer();
  Start({.rate_per_second = 3});
  int ok = 0, limited = 0;
  std::string retry_after;
  for (int i = 0; i < 10; ++i) {
    HttpReply reply = Send(keys_.viewer, "GET", "/api/v1/whoami");
    if (reply.status == 200) ++ok;
    if (reply.status == 429) {
      ++limited;
      retry_after = reply.Header("Retry-After");
      EXPECT_THAT(reply.body, HasSubstr("key:viewer"));
    }
  }
  EXPECT_GE(ok, 3);
  EXPECT_LE(ok, 4);
  EXPECT_EQ(ok + limited, 10);
  EXPECT_EQ(retry_after, "1");
  // Another key has its own budget; probes are never limited.
  EXPECT_EQ(Send(keys_.operator_, "GET", "/api/v1/whoami").status, 200);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Send("", "GET", "/health/live").status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(Send(keys_.viewer, "GET", "/api/v1/whoami").status, 200);
}

// ---- Health, metrics, events, plans

TEST_F(ServerTest, HealthEndpoints) {
  HttpReply live = Send("", "GET", "/health/live");
  EXPECT_EQ(live.status, 200);
  HttpReply ready = Send("", "GET", "/health/ready");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_THAT(ready.body, HasSubstr("\"ready\""));
  HttpReply deep = Send(keys_.viewer, "GET", "/health/deep");
  ASSERT_EQ(deep.status, 200) << deep.body;
  Json components = (*ParseJson(deep.body, "deep"))["components"];
  for (const char* c : {"store", "event_log", "event_streams", "engine", "console"}) {
    EXPECT_EQ(components[c]["status"], "ok") << c;
  }
  EXPECT_EQ(components["store"]["backend"], "sqlite");
  // A store that has fallen behind this ferry's schema is not ready.
  ASSERT_TRUE(location_
                  ->Exec("DELETE FROM ferry_migrations WHERE version = (SELECT MAX(version) "
                         "FROM ferry_migrations)")
                  .ok());
  HttpReply behind = Send("", "GET", "/health/ready");
  EXPECT_EQ(behind.status, 503);
  EXPECT_THAT(behind.body, HasSubstr("migrations pending"));
}

TEST_F(ServerTest, MetricsAreValidPrometheusText) {
  const std::string id = StartRun();
  Send(keys_.viewer, "GET", "/api/v1/runs/" + id);
  Send(keys_.viewer, "GET", "/api/v1/runs/" + id);
  HttpReply metrics = Send(keys_.viewer, "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.Header("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
  const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf))");
  std::map<std::string, std::string> types;
  std::map<std::string, double> values;
  std::istringstream lines(metrics.body);
  int samples = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    if (line.starts_with("# HELP ")) continue;
    if (line.starts_with("# TYPE ")) {
      std::istringstream parts(line.substr(7));
      std::string name, type;
      parts >> name >> type;
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      types[name] = type;
      continue;
    }
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, sample)) << "not a sample: " << line;
    values[line.substr(0, line.rfind(' '))] = std::stod(m[m.size() - 1].str());
    ++samples;
  }
  EXPECT_GT(samples, 20);
  for (const char* family : {"ferry_http_requests_total", "ferry_http_request_duration_seconds",
                             "ferry_runs", "ferry_run_tasks", "ferry_run_queue_depth",
                             "ferry_rows_moved_total", "ferry_bytes_moved_total"}) {
    EXPECT_TRUE(types.contains(family)) << family;
  }
  EXPECT_EQ(types["ferry_http_request_duration_seconds"], "histogram");
  EXPECT_GE(
      values[R"(ferry_http_requests_total{code="200",method="GET",route="/api/v1/runs/{id}"})"], 2);
  const std::string count_key =
      R"(ferry_http_request_duration_seconds_count{method="GET",route="/api/v1/runs/{id}"})";
  const std::string inf_key =
      R"(ferry_http_request_duration_seconds_bucket{method="GET",route="/api/v1/runs/{id}",le="+Inf"})";
  ASSERT_TRUE(values.contains(count_key));
  EXPECT_EQ(values[count_key], values[inf_key]);
  EXPECT_GE(
      values[R"(ferry_runs{state="running"})"] + values[R"(ferry_runs{state="waiting-approval"})"],
      1);
}

TEST_F(ServerTest, EventLogAndItsVerification) {
  Send(keys_.operator_, "POST", "/api/v1/projects", R"({"name": "p1"})");
  HttpReply events = Send(keys_.viewer, "GET", "/api/v1/events?after=0&limit=1000");
  ASSERT_EQ(events.status, 200);
  Json list = (*ParseJson(events.body, "e"))["events"];
  ASSERT_FALSE(list.empty());
  EXPECT_EQ(list.back()["kind"], "project.created");
  EXPECT_EQ(list.back()["actor"], "key:operator");
  EXPECT_EQ(list.back()["payload"]["name"], "p1");
  EXPECT_EQ(Send(keys_.viewer, "GET", "/api/v1/events?limit=0").status, 400);
  HttpReply verify = Send(keys_.viewer, "GET", "/api/v1/events/verify");
  Json report = *ParseJson(verify.body, "v");
  EXPECT_EQ(report["intact"], true);
  EXPECT_EQ(report["events_checked"], list.size());
}

TEST_F(ServerTest, PlansAreThoseOfFerryPlanFromStore) {
  HttpReply empty = Send(keys_.operator_, "POST", "/api/v1/plans", "{}");
  EXPECT_EQ(empty.status, 400);
  EXPECT_THAT(empty.body, HasSubstr("holds no inventory"));

  const std::string dir = work_dir_ + "-inventories";
  ASSERT_TRUE(plan::WriteInventories(plan::ThreeTierEstate(), dir, Env::Default()).ok());
  std::vector<InventoryRecord> records;
  const std::vector<std::string> names = Env::Default()->ListDir(dir).value();
  for (const std::string& name : names) {
    records.push_back({.name = name.substr(0, name.size() - 5),
                       .source_kind = "agent",
                       .schema_version = "1.0",
                       .document = *Env::Default()->ReadFile(dir + "/" + name)});
  }
  ASSERT_TRUE(store_->PutInventories(records, "test").has_value());
  HttpReply inventories = Send(keys_.viewer, "GET", "/api/v1/inventories");
  EXPECT_EQ((*ParseJson(inventories.body, "i"))["inventories"].size(), records.size());
  HttpReply one = Send(keys_.viewer, "GET", "/api/v1/inventories/" + records[0].name);
  EXPECT_EQ(one.body, records[0].document);

  HttpReply made =
      Send(keys_.operator_, "POST", "/api/v1/plans", R"({"date": "2025-06-01", "percentile": 95})");
  ASSERT_EQ(made.status, 201) << made.body;
  Json created = *ParseJson(made.body, "m");
  EXPECT_EQ(created["hosts"], 50);
  HttpReply plan = Send(keys_.viewer, "GET", "/api/v1/plans/" + created["id"].get<std::string>());
  ASSERT_EQ(plan.status, 200);
  // The same plan as the command line makes from the same store.
  const char* argv[] = {
      "ferry",     "--log-level",  "error",    "--store", location_->url().c_str(),
      "plan",      "--from-store", "--format", "json",    "--date",
      "2025-06-01"};
  std::ostringstream out, err;
  ASSERT_EQ(RunFerry(std::size(argv), argv, out, err, Env::Default()), 0) << err.str();
  EXPECT_EQ(*ParseJson(plan.body, "api plan"), *ParseJson(out.str(), "cli plan"));
  HttpReply plans = Send(keys_.viewer, "GET", "/api/v1/plans");
  EXPECT_EQ((*ParseJson(plans.body, "p"))["plans"][0]["id"], created["id"]);
  EXPECT_EQ(Send(keys_.operator_, "POST", "/api/v1/plans", R"({"percentile": 101})").status, 400);
  EXPECT_EQ(Send(keys_.operator_, "POST", "/api/v1/plans", R"({"waves": 3})").status, 400);
}

// ---- TLS

TEST_F(ServerTest, ServesHttpsWithACertificateMadeByOpenssl) {
  StopServer();
  const std::string cert = work_dir_ + "-cert.pem", key = work_dir_ + "-key.pem";
  const std::string command = fmt::format(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout {} -out {} 2>/dev/null",
      key, cert);
  ASSERT_EQ(std::system(command.c_str()), 0);
  Start({.rate_per_second = 0, .tls = true}, {.tls_cert = cert, .tls_key = key});
  ASSERT_TRUE(server_->url().starts_with("https://127.0.0.1:")) << server_->url();
  auto client = Client(keys_.viewer, {.ca_file = cert});
  auto reply = client->Send("GET", "/api/v1/whoami");
  ASSERT_TRUE(reply.has_value()) << reply.error().ToString();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->Header("Strict-Transport-Security"), "max-age=31536000");
  // A client that does not trust the certificate is refused, and plain HTTP gets nothing.
  auto untrusting = ApiClient::Create(server_->url(), {.ca_file = "/dev/null"});
  ASSERT_TRUE(untrusting.has_value());
  EXPECT_FALSE((*untrusting)->Send("GET", "/health/live").has_value());
  std::string plain = server_->url();
  plain.replace(0, 5, "http");
  auto http = ApiClient::Create(plain, {});
  ASSERT_TRUE(http.has_value());
  auto refused = (*http)->Send("GET", "/health/live");
  EXPECT_TRUE(!refused.has_value() || refused->status != 200);
  // A key file that does not match is a precise error.
  auto bad = HttpServer::Start(api_.get(), {.port = 0, .tls_cert = cert, .tls_key = cert});
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error().message(), HasSubstr("--tls-cert"));
}

TEST(ListenTest, ParsesAddresses) {
  ServerOptions options;
  ASSERT_TRUE(ParseListen("127.0.0.1:9000", &options).ok());
  EXPECT_EQ(options.host, "127.0.0.1");
  EXPECT_EQ(options.port, 9000);
  ASSERT_TRUE(ParseListen("[::1]:80", &options).ok());
  EXPECT_EQ(options.host, "::1");
  ASSERT_TRUE(ParseListen(":8080", &options).ok());
  EXPECT_EQ(options.host, "0.0.0.0");
  EXPECT_FALSE(ParseListen("8080", &options).ok());
  EXPECT_FALSE(ParseListen("localhost:http", &options).ok());
  EXPECT_FALSE(ParseListen("localhost:70000", &options).ok());
}

}  // namespace
}  // namespace ferry::server
