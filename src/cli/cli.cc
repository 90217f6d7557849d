#include "cli/cli.h"

#include <algorithm>
#include <filesystem>
#include <ostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/config.h"
#include "base/json.h"
#include "base/log.h"
#include "cli/commands.h"
#include "store/store.h"

namespace ferry {
namespace {

constexpr std::string_view kDefaultConfigFile = "ferry.yaml";
constexpr std::string_view kDefaultStoreFile = "ferry.db";

// Flags shared by every command; filled by CLI11, then completed from the environment and the
// configuration file by ResolveSettings.
struct GlobalFlags {
  std::string store;
  std::string config;
  std::string log_level;
  std::string log_format;
  std::string server;
  std::string api_key;
  bool json = false;
};

// Precedence, highest first: command-line flag, environment variable (FERRY_STORE,
// FERRY_LOG_LEVEL, FERRY_LOG_FORMAT), configuration file, built-in default.
Result<CommandContext> ResolveSettings(const GlobalFlags& flags, Env* env, std::ostream& out,
                                       std::ostream& err) {
  CommandContext context{.env = env, .out = out, .err = err, .json = flags.json};
  std::string config_path = flags.config;
  if (config_path.empty()) config_path = env->GetEnvVar("FERRY_CONFIG").value_or("");
  const bool config_explicit = !config_path.empty();
  if (!config_explicit && env->FileExists(std::string(kDefaultConfigFile))) {
    config_path = kDefaultConfigFile;
  }
  std::string store_url;
  std::string log_level = "info";
  std::string log_format = "human";
  if (!config_path.empty()) {
    FERRY_ASSIGN_OR_RETURN(ConfigDocument doc, LoadConfigFile(config_path, env));
    ConfigNode root = doc.root();
    FERRY_RETURN_IF_ERROR(root.CheckKnownKeys({"store", "log"}));
    FERRY_ASSIGN_OR_RETURN(auto store, root.GetString("store"));
    if (store.has_value()) store_url = *store;
    ConfigNode log = root.Child("log");
    FERRY_RETURN_IF_ERROR(log.CheckKnownKeys({"level", "format"}));
    FERRY_ASSIGN_OR_RETURN(auto level, log.GetString("level"));
    if (level.has_value()) log_level = *level;
    FERRY_ASSIGN_OR_RETURN(auto format, log.GetString("format"));
    if (format.has_value()) log_format = *format;
  }
  auto pick = [&](const std::string& flag, const char* variable, std::string& value) {
    if (!flag.empty()) {
      value = flag;
    } else if (auto from_env = env->GetEnvVar(variable); from_env && !from_env->empty()) {
      value = *from_env;
    }
  };
  pick(flags.store, "FERRY_STORE", store_url);
  pick(flags.log_level, "FERRY_LOG_LEVEL", log_level);
  pick(flags.log_format, "FERRY_LOG_FORMAT", log_format);
  pick(flags.server, "FERRY_SERVER", context.server_url);
  pick(flags.api_key, "FERRY_API_KEY", context.api_key);
  if (store_url.empty()) {
    std::error_code ec;
    std::filesystem::path cwd = std::filesystem::current_path(ec);
    store_url = SqliteStoreUrl((cwd / kDefaultStoreFile).string());
  }
  context.store_url = store_url;
  LogOptions log_options;
  FERRY_ASSIGN_OR_RETURN(log_options.level, ParseLogLevel(log_level));
  FERRY_ASSIGN_OR_RETURN(log_options.format, ParseLogFormat(log_format));
  ConfigureLogging(log_options);
  return context;
}

// Reports a failed command: one line on stderr (or a JSON object on stdout with --json).
int Report(const Status& status, CommandContext* context, std::ostream& err, bool json,
           std::ostream& out) {
  if (json) {
    out << Json{{"ok", false},
                {"error",
                 {{"code", std::string(StatusCodeName(status.code()))},
                  {"message", status.message()}}}}
               .dump(-1, ' ', false, Json::error_handler_t::replace)
        << "\n";
  } else {
    err << "ferry: " << status.message() << "\n";
  }
  (void)context;
  return status.ExitCode();
}

// Help text of `app` itself. (CLI11's App::help() describes the first selected subcommand
// instead, which for `ferry help` would be the help command.)
std::string HelpOf(const CLI::App& app) {
  return app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal);
}

// `ferry store --help` explains `store`: the deepest command selected on the command line.
std::string HelpOfSelected(CLI::App& app) {
  CLI::App* target = &app;
  for (auto selected = target->get_subcommands(); !selected.empty();
       selected = target->get_subcommands()) {
    target = selected.front();
  }
  return HelpOf(*target);
}

// The first word on the command line that is neither a flag nor a flag's value, when it names
// no top-level command ("" otherwise): `ferry teleport` deserves better than CLI11's
// "A subcommand is required".
std::string UnknownCommand(int argc, const char* const* argv, const CLI::App& app) {
  static constexpr std::string_view kFlagsWithValue[] = {"--store",      "--config", "--log-level",
                                                         "--log-format", "--server", "--api-key"};
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("-")) {
      const bool takes_value = std::find(std::begin(kFlagsWithValue), std::end(kFlagsWithValue),
                                         arg) != std::end(kFlagsWithValue);
      if (takes_value) ++i;
      continue;
    }
    for (const CLI::App* sub : app.get_subcommands({})) {
      if (sub->get_name() == arg) return "";
    }
    return std::string(arg);
  }
  return "";
}

}  // namespace

int RunFerry(int argc, const char* const* argv, std::ostream& out, std::ostream& err, Env* env) {
  CLI::App app{
      "ferry moves databases, servers, files and keys to the cloud, and proves that "
      "everything arrived intact.",
      "ferry"};
  app.set_version_flag("--version", std::string("ferry ") + FERRY_VERSION);
  app.set_help_flag("-h,--help", "Show help for ferry or for a command");
  app.require_subcommand(1);
  app.fallthrough();
  GlobalFlags flags;
  app.add_option("--store", flags.store,
                 "State store URL: sqlite:///path/ferry.db (default ./ferry.db) or "
                 "postgresql://user@host:port/db [env FERRY_STORE]");
  app.add_option("--config", flags.config,
                 "Configuration file (YAML); default ./ferry.yaml when present [env FERRY_CONFIG]");
  app.add_option("--log-level", flags.log_level,
                 "debug, info, warn or error [env FERRY_LOG_LEVEL]");
  app.add_option(
      "--log-format", flags.log_format,
      "human (lines for a terminal) or json (one object per line) [env FERRY_LOG_FORMAT]");
  app.add_flag("--json", flags.json, "Print results as JSON on stdout");
  app.add_option("--server", flags.server,
                 "A `ferry serve` to ask instead of the store, for the commands that can "
                 "(run status|list|pause|resume|cancel|rollback|approve) [env FERRY_SERVER]");
  app.add_option("--api-key", flags.api_key, "API key for --server (fry_...) [env FERRY_API_KEY]");

  std::vector<CommandSpec> commands = AllCommands();
  std::vector<std::pair<CLI::App*, const CommandSpec*>> registered;
  std::string help_topic;
  CLI::App* help = app.add_subcommand("help", "Show help for ferry or for a command");
  help->add_option("command", help_topic, "The command to explain, e.g. `store`");
  for (const CommandSpec& spec : commands) {
    CLI::App* parent = &app;
    for (size_t i = 0; i + 1 < spec.path.size(); ++i) {
      CLI::App* existing = nullptr;
      for (CLI::App* sub : parent->get_subcommands({})) {
        if (sub->get_name() == spec.path[i]) existing = sub;
      }
      if (existing == nullptr) {
        existing = parent->add_subcommand(spec.path[i], spec.group_help);
        existing->require_subcommand(1);
        existing->fallthrough();
      }
      parent = existing;
    }
    CLI::App* sub = parent->add_subcommand(spec.path.back(), spec.help);
    sub->fallthrough();
    if (spec.add_options) spec.add_options(*sub);
    registered.emplace_back(sub, &spec);
  }
  // Remote forms: attached to the local command of the same path, or declared when there is
  // none (then only --server runs them).
  std::vector<RemoteCommand> remotes = RemoteCommands();
  std::vector<std::pair<CLI::App*, const RemoteCommand*>> remote_registered;
  for (const RemoteCommand& remote : remotes) {
    CLI::App* parent = &app;
    CLI::App* found = nullptr;
    for (size_t i = 0; i < remote.path.size(); ++i) {
      found = nullptr;
      for (CLI::App* sub : parent->get_subcommands({})) {
        if (sub->get_name() == remote.path[i]) found = sub;
      }
      if (found == nullptr) {
        found = parent->add_subcommand(remote.path[i], i + 1 == remote.path.size()
                                                           ? remote.help + " (with --server)"
                                                           : std::string());
        found->fallthrough();
        if (i + 1 < remote.path.size()) {
          found->require_subcommand(1);
        } else if (remote.add_options) {
          remote.add_options(*found);
        }
      }
      parent = found;
    }
    remote_registered.emplace_back(found, &remote);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << HelpOfSelected(app);
    return kExitOk;
  } catch (const CLI::CallForVersion& e) {
    out << e.what() << "\n";
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    // Help asked for a subcommand: CLI11 signals it as an error of that subcommand.
    if (e.get_exit_code() == 0) {
      out << e.what();
      return kExitOk;
    }
    if (std::string unknown = UnknownCommand(argc, argv, app); !unknown.empty()) {
      err << "ferry: no command named `" << unknown << "`; run `ferry help` to see the commands\n";
    } else {
      err << "ferry: " << e.what() << "; run `ferry help` to see the commands and their flags\n";
    }
    return kExitUsage;
  }

  if (help->parsed()) {
    if (help_topic.empty()) {
      out << HelpOf(app);
      return kExitOk;
    }
    for (CLI::App* sub : app.get_subcommands({})) {
      if (sub->get_name() == help_topic && sub != help) {
        out << HelpOf(*sub);
        return kExitOk;
      }
    }
    err << "ferry: no command named `" << help_topic << "`; run `ferry help` to see them\n";
    return kExitUsage;
  }

  Result<CommandContext> context = ResolveSettings(flags, env, out, err);
  if (!context.has_value()) return Report(context.error(), nullptr, err, flags.json, out);
  if (!context->server_url.empty()) {
    for (auto& [sub, remote] : remote_registered) {
      if (!sub->parsed()) continue;
      Result<int> code = remote->run(*context, *sub);
      if (!code.has_value()) return Report(code.error(), &*context, err, flags.json, out);
      return *code;
    }
    for (auto& [sub, spec] : registered) {
      if (!sub->parsed()) continue;
      if (spec->path.size() == 1 && spec->path[0] == "serve") break;  // serves; --server unused
      err << "ferry: --server: `ferry " << fmt::format("{}", fmt::join(spec->path, " "))
          << "` runs here, not on a server; drop --server (the remote commands are run "
             "status|list|pause|resume|cancel|rollback|approve)\n";
      return kExitUsage;
    }
  }
  for (auto& [sub, remote] : remote_registered) {
    bool local = false;
    for (auto& [lsub, spec] : registered) local = local || lsub == sub;
    if (sub->parsed() && !local) {
      err << "ferry: `ferry " << fmt::format("{}", fmt::join(remote->path, " "))
          << "` asks a server: give --server URL (and --api-key, or FERRY_API_KEY)\n";
      return kExitUsage;
    }
  }
  for (auto& [sub, spec] : registered) {
    if (!sub->parsed()) continue;
    Result<int> code = spec->run(*context);
    if (!code.has_value()) return Report(code.error(), &*context, err, flags.json, out);
    return *code;
  }
  err << "ferry: no command given; run `ferry help`\n";
  return kExitUsage;
}

}  // namespace ferry
