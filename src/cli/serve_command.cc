// `ferry serve`: the HTTP API, its event streams and the console (docs/api.md), with the run
// engine's workers. `ferry api-key create|list|revoke`: the API's keys, in the local store.
// And the remote forms of the run commands: `ferry --server URL run status ID` and friends talk
// to a `ferry serve` instead of the store.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/json.h"
#include "base/log.h"
#include "cli/commands.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/client.h"
#include "server/http_server.h"
#include "server/rate_limiter.h"
#include "store/store.h"
#include "workflow/engine.h"

namespace ferry {
namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000;

struct ServeFlags {
  std::string listen = "127.0.0.1:8080";
  std::string tls_cert, tls_key;
  int workers = 2;
  int64_t max_body = 1 << 20;
  std::string rate = "50/s";
  int threads = 512;
  std::string work_dir;
};

struct KeyFlags {
  std::string name;
  std::string role;
  int64_t expires_days = 90;
  std::string id;
};

std::string LocalActor(Env* env) {
  std::optional<std::string> user = env->GetEnvVar("USER");
  return fmt::format("cli:{}", user && !user->empty() ? *user : "unknown");
}

std::string TimeText(int64_t micros) {
  Json t = server::TimeJson(micros);
  return t.is_null() ? "-" : t.get<std::string>();
}

Result<int> Serve(CommandContext& context, const ServeFlags& flags) {
  server::ServerOptions options;
  FERRY_RETURN_IF_ERROR(server::ParseListen(flags.listen, &options));
  options.tls_cert = flags.tls_cert;
  options.tls_key = flags.tls_key;
  options.threads = flags.threads;
  if (flags.max_body < 1024) {
    return Err(InvalidArgument("--max-body {}: at least 1024 bytes", flags.max_body));
  }
  options.max_body_bytes = flags.max_body;
  if (flags.workers < 0 || flags.threads < 4) {
    return Err(InvalidArgument("--workers must be 0 or more and --threads at least 4"));
  }
  server::ApiOptions api_options;
  FERRY_ASSIGN_OR_RETURN(api_options.rate_per_second, server::ParseRate(flags.rate));
  api_options.max_body_bytes = flags.max_body;
  api_options.tls = !flags.tls_cert.empty();

  // SIGINT and SIGTERM are taken by this thread (sigwait below): blocked before any thread
  // starts, so that every thread inherits the mask and none is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                         Store::Open(context.store_url, {.env = context.env}));
  workflow::EngineOptions engine_options;
  engine_options.store_url = context.store_url;
  engine_options.work_dir = flags.work_dir;
  engine_options.env = context.env;
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<workflow::Engine> engine,
                         workflow::Engine::Create(store.get(), engine_options));
  if (flags.workers > 0) FERRY_RETURN_IF_ERROR(engine->RunWorkers(flags.workers));
  server::Api api(store.get(), engine.get(), context.env, api_options);
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<server::HttpServer> http,
                         server::HttpServer::Start(&api, options));
  LogInfo("serving the API", {{"url", http->url()},
                              {"store", store->location()},
                              {"workers", flags.workers},
                              {"rate_per_key", flags.rate}});
  if (context.json) {
    context.out << Json{{"ok", true}, {"url", http->url()}, {"port", http->port()}}.dump() << "\n";
  } else {
    context.out << fmt::format("ferry serving {} (store {}); Ctrl-C stops\n", http->url(),
                               store->location());
  }
  context.out.flush();
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LogInfo("stopping", {{"signal", signal_number}});
  http->Stop();
  engine->Stop();
  return kExitOk;
}

Result<int> CreateKey(CommandContext& context, const KeyFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(server::Role role, server::ParseRole(flags.role));
  if (flags.expires_days < 0) {
    return Err(InvalidArgument("--expires-days {}: 0 (never) or more", flags.expires_days));
  }
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                         Store::Open(context.store_url, {.env = context.env}));
  const int64_t expires =
      flags.expires_days == 0 ? 0 : context.env->NowMicros() + flags.expires_days * kMicrosPerDay;
  FERRY_ASSIGN_OR_RETURN(
      server::NewApiKey key,
      server::CreateApiKey(store.get(), flags.name, role, expires, LocalActor(context.env)));
  if (context.json) {
    context.out << Json{{"key", key.token},
                        {"id", key.record.id},
                        {"name", key.record.name},
                        {"role", key.record.role},
                        {"expires_at", server::TimeJson(key.record.expires_micros)}}
                       .dump(2)
                << "\n";
  } else {
    context.out << fmt::format(
        "{}\n\nAPI key `{}` (id {}, role {}, expires {}). It is shown this once: keep it in a "
        "secret store; ferry keeps only a salted hash of it.\n",
        key.token, key.record.name, key.record.id, key.record.role,
        key.record.expires_micros == 0 ? "never" : TimeText(key.record.expires_micros));
  }
  return kExitOk;
}

Result<int> ListKeys(CommandContext& context) {
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                         Store::Open(context.store_url, {.env = context.env}));
  FERRY_ASSIGN_OR_RETURN(std::vector<ApiKeyRecord> keys, store->ListApiKeys());
  const int64_t now = context.env->NowMicros();
  auto state = [now](const ApiKeyRecord& k) -> std::string {
    if (k.revoked_micros != 0) return "revoked";
    if (k.expires_micros != 0 && k.expires_micros <= now) return "expired";
    return "active";
  };
  if (context.json) {
    Json list = Json::array();
    for (const ApiKeyRecord& k : keys) {
      list.push_back({{"id", k.id},
                      {"name", k.name},
                      {"role", k.role},
                      {"state", state(k)},
                      {"created_by", k.created_by},
                      {"created_at", server::TimeJson(k.created_micros)},
                      {"expires_at", server::TimeJson(k.expires_micros)},
                      {"revoked_at", server::TimeJson(k.revoked_micros)}});
    }
    context.out << Json{{"keys", list}}.dump(2) << "\n";
    return kExitOk;
  }
  context.out << fmt::format("{:<16}  {:<20} {:<8} {:<7}  {:<24}  {}\n", "ID", "NAME", "ROLE",
                             "STATE", "CREATED", "EXPIRES");
  for (const ApiKeyRecord& k : keys) {
    context.out << fmt::format("{:<16}  {:<20} {:<8} {:<7}  {:<24}  {}\n", k.id, k.name, k.role,
                               state(k), TimeText(k.created_micros),
                               k.expires_micros == 0 ? "never" : TimeText(k.expires_micros));
  }
  return kExitOk;
}

Result<int> RevokeKey(CommandContext& context, const KeyFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                         Store::Open(context.store_url, {.env = context.env}));
  FERRY_ASSIGN_OR_RETURN(ApiKeyRecord key, store->RevokeApiKey(flags.id, LocalActor(context.env)));
  if (context.json) {
    context.out << Json{{"ok", true},
                        {"id", key.id},
                        {"name", key.name},
                        {"revoked_at", server::TimeJson(key.revoked_micros)}}
                       .dump(2)
                << "\n";
  } else {
    context.out << fmt::format("API key `{}` (id {}) is revoked; its sessions have ended\n",
                               key.name, key.id);
  }
  return kExitOk;
}

// ---- Remote run commands

std::string OptionValue(const CLI::App& app, const std::string& name) {
  try {
    const CLI::Option* option = app.get_option(name);
    if (option == nullptr || option->count() == 0) return "";
    return option->results().empty() ? "" : option->results().front();
  } catch (const CLI::OptionNotFound&) {
    return "";
  }
}

Result<std::unique_ptr<server::ApiClient>> Connect(CommandContext& context) {
  server::ClientOptions options;
  options.api_key = context.api_key;
  options.ca_file = context.env->GetEnvVar("FERRY_SERVER_CA").value_or("");
  return server::ApiClient::Create(context.server_url, options);
}

void PrintRun(CommandContext& context, const Json& run) {
  if (context.json) {
    context.out << run.dump(2) << "\n";
    return;
  }
  context.out << fmt::format("run {} ({}): {}{}\n", run.value("id", ""), run.value("name", ""),
                             run.value("state", ""),
                             run.value("awaiting", "").empty()
                                 ? ""
                                 : " (awaiting approval of " + run.value("awaiting", "") + ")");
  if (!run.value("error", "").empty()) context.out << "  error: " << run.value("error", "") << "\n";
  for (const Json& task : run.value("tasks", Json::array())) {
    context.out << fmt::format(
        "  {:<24} {:<14} {:<10} attempts {}/{}{}\n", task.value("id", ""), task.value("type", ""),
        task.value("state", ""), task.value("attempts", 0), task.value("max_attempts", 0),
        task.value("error", "").empty() ? "" : "  " + task.value("error", ""));
  }
}

Result<int> RemoteStatus(CommandContext& context, const CLI::App& app) {
  FERRY_ASSIGN_OR_RETURN(auto client, Connect(context));
  const std::string id = OptionValue(app, "id");
  FERRY_ASSIGN_OR_RETURN(Json run, client->Call("GET", "/api/v1/runs/" + id));
  PrintRun(context, run);
  return kExitOk;
}

Result<int> RemoteList(CommandContext& context, const CLI::App& app) {
  FERRY_ASSIGN_OR_RETURN(auto client, Connect(context));
  std::string limit = OptionValue(app, "--limit");
  FERRY_ASSIGN_OR_RETURN(
      Json runs, client->Call("GET", "/api/v1/runs" + (limit.empty() ? "" : "?limit=" + limit)));
  if (context.json) {
    context.out << runs.dump(2) << "\n";
    return kExitOk;
  }
  context.out << fmt::format("{:<34} {:<20} {:<17} {:>5}  {}\n", "ID", "NAME", "STATE", "TASKS",
                             "UPDATED");
  for (const Json& r : runs.value("runs", Json::array())) {
    context.out << fmt::format(
        "{:<34} {:<20} {:<17} {:>2}/{:<2}  {}\n", r.value("id", ""), r.value("name", ""),
        r.value("state", ""), r.value("tasks_done", 0), r.value("tasks_total", 0),
        r["updated_at"].is_string() ? r["updated_at"].get<std::string>() : "-");
  }
  return kExitOk;
}

Result<int> RemoteControl(CommandContext& context, const CLI::App& app, const std::string& verb) {
  FERRY_ASSIGN_OR_RETURN(auto client, Connect(context));
  const std::string id = OptionValue(app, "id");
  Json body = Json::object();
  if (verb == "approve") body["phase"] = OptionValue(app, "--phase");
  FERRY_ASSIGN_OR_RETURN(Json run, client->Call("POST", "/api/v1/runs/" + id + "/" + verb, &body));
  PrintRun(context, run);
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> ServeCommands() {
  auto serve = std::make_shared<ServeFlags>();
  auto key = std::make_shared<KeyFlags>();
  const std::string keys_group = "API keys of `ferry serve` (in the local store)";
  return {
      {.path = {"serve"},
       .help = "Serve the HTTP API, its event streams and the console, and run migration runs",
       .add_options =
           [serve](CLI::App& app) {
             app.add_option("--listen", serve->listen,
                            "HOST:PORT to listen on (default 127.0.0.1:8080: this host only)");
             app.add_option("--tls-cert", serve->tls_cert, "PEM certificate: serve HTTPS");
             app.add_option("--tls-key", serve->tls_key, "PEM private key of --tls-cert");
             app.add_option("--workers", serve->workers,
                            "Run engine workers: tasks run at once by this server (2; 0: none, "
                            "runs are worked by `ferry run work` elsewhere)");
             app.add_option("--max-body", serve->max_body,
                            "Largest request body in bytes (1048576); larger get 413");
             app.add_option("--rate", serve->rate,
                            "Requests per second per API key (50/s; also /min; 0: no limit); "
                            "more get 429 with Retry-After");
             app.add_option("--threads", serve->threads,
                            "Connections served at once, event streams included (512)");
             app.add_option("--work-dir", serve->work_dir,
                            "Where runs keep their artifacts (./ferry-runs)");
           },
       .run = [serve](CommandContext& c) { return Serve(c, *serve); }},
      {.path = {"api-key", "create"},
       .group_help = keys_group,
       .help = "Make an API key and print it (shown once)",
       .add_options =
           [key](CLI::App& app) {
             app.add_option("name", key->name, "Its name; its actions are by `key:NAME`")
                 ->required();
             app.add_option("--role", key->role, "viewer, operator or admin")->required();
             app.add_option("--expires-days", key->expires_days,
                            "Days until it expires (90; 0: never)");
           },
       .run = [key](CommandContext& c) { return CreateKey(c, *key); }},
      {.path = {"api-key", "list"},
       .group_help = keys_group,
       .help = "List the API keys (never their secrets)",
       .run = [](CommandContext& c) { return ListKeys(c); }},
      {.path = {"api-key", "revoke"},
       .group_help = keys_group,
       .help = "Revoke an API key and end its console sessions",
       .add_options =
           [key](CLI::App& app) {
             app.add_option("id", key->id, "The key's id (`ferry api-key list`)")->required();
           },
       .run = [key](CommandContext& c) { return RevokeKey(c, *key); }},
  };
}

std::vector<RemoteCommand> RemoteCommands() {
  std::vector<RemoteCommand> remote = {
      {.path = {"run", "status"},
       .help = "A run's state, phases and tasks",
       .add_options =
           [](CLI::App& app) { app.add_option("id")->description("The run's id")->required(); },
       .run = RemoteStatus},
      {.path = {"run", "list"},
       .help = "Runs, newest first",
       .add_options =
           [](CLI::App& app) { app.add_option("--limit")->description("At most this many"); },
       .run = RemoteList},
  };
  for (const char* verb : {"pause", "resume", "cancel", "rollback", "approve"}) {
    const std::string v = verb;
    remote.push_back(
        {.path = {"run", v},
         .help = "Ask the run to " + v,
         .add_options =
             [v](CLI::App& app) {
               app.add_option("id")->description("The run's id")->required();
               if (v == "approve") {
                 app.add_option("--phase")->description("The phase to approve")->required();
               }
             },
         .run = [v](CommandContext& c, const CLI::App& app) { return RemoteControl(c, app, v); }});
  }
  return remote;
}

}  // namespace ferry
