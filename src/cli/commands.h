// The commands of the `ferry` binary. Each command is a CommandSpec: where it sits in the
// command tree, its flags, and a function that runs it. cli.cc parses, resolves the shared
// settings (store, logging) and dispatches; the commands stay thin over the library.
#ifndef FERRY_CLI_COMMANDS_H_
#define FERRY_CLI_COMMANDS_H_

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/status.h"

namespace CLI {
class App;
}

namespace ferry {

// What every command gets once the shared flags, environment and configuration are resolved.
struct CommandContext {
  Env* env;
  std::ostream& out;  // results (human text, or JSON with --json)
  std::ostream& err;  // diagnostics
  bool json = false;  // --json: print one JSON document on `out`
  std::string store_url;
  // --server URL [env FERRY_SERVER]: commands that have a remote form (RemoteCommands) talk to
  // that `ferry serve` instead of the store; --api-key [env FERRY_API_KEY] authenticates them.
  std::string server_url;
  std::string api_key;
};

struct CommandSpec {
  std::vector<std::string> path;  // {"store", "status"}
  std::string group_help;         // help of the parent group ("store"), when path has two parts
  std::string help;
  // Declares the command's own flags; the closures keep their values alive.
  std::function<void(CLI::App&)> add_options;
  // Runs the command; returns the exit code, or an error that RunFerry reports and maps.
  std::function<Result<int>(CommandContext&)> run;
};

std::vector<CommandSpec> StoreCommands();
std::vector<CommandSpec> DemoCommands();
std::vector<CommandSpec> VerifyCommands();
std::vector<CommandSpec> CopyCommands();
std::vector<CommandSpec> DiscoverCommands();
std::vector<CommandSpec> PlanCommands();
std::vector<CommandSpec> IacCommands();
std::vector<CommandSpec> CopybookCommands();
std::vector<CommandSpec> CryptoCommands();
std::vector<CommandSpec> Iso8583Commands();
std::vector<CommandSpec> RelayCommands();
std::vector<CommandSpec> InferCommands();
std::vector<CommandSpec> EvidenceCommands();
std::vector<CommandSpec> SwiftCommands();
std::vector<CommandSpec> CaCommands();
std::vector<CommandSpec> KeyringCommands();
std::vector<CommandSpec> RunCommands();
std::vector<CommandSpec> ServeCommands();

// The remote form of a command (`ferry --server URL run status ID`), run instead of the local
// one when --server is given. It reads the arguments from the parsed command by their names
// ("id", "--phase", "--limit"); `add_options` declares them when no local command has this
// path, in which case the command needs --server.
struct RemoteCommand {
  std::vector<std::string> path;
  std::string help;
  std::function<void(CLI::App&)> add_options;
  std::function<Result<int>(CommandContext&, const CLI::App&)> run;
};
std::vector<RemoteCommand> RemoteCommands();

inline std::vector<CommandSpec> AllCommands() {
  std::vector<CommandSpec> all;
  for (auto group :
       {DemoCommands(), CopyCommands(), StoreCommands(), VerifyCommands(), DiscoverCommands(),
        PlanCommands(), IacCommands(), CopybookCommands(), CryptoCommands(), Iso8583Commands(),
        RelayCommands(), InferCommands(), EvidenceCommands(), SwiftCommands(), CaCommands(),
        KeyringCommands(), RunCommands(), ServeCommands()}) {
    for (auto& spec : group) all.push_back(std::move(spec));
  }
  return all;
}

}  // namespace ferry

#endif  // FERRY_CLI_COMMANDS_H_
