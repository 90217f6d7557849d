// `ferry relay serve` and `ferry relay connect`: the two ends of the secure relay
// (docs/security.md). Each runs until SIGINT or SIGTERM (or --duration), then prints what it
// carried.
#include <signal.h>

#include <chrono>
#include <ctime>

#include <CLI/CLI.hpp>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "cli/commands.h"
#include "cli/sealed_files.h"
#include "transport/relay.h"
#include "transport/remote.h"

namespace ferry {
namespace {

struct RelayFlags {
  std::string listen = "127.0.0.1:7300";
  std::string identity;
  std::vector<std::string> allow;
  std::string forward, to, peer;
  std::vector<std::string> targets;  // serve copies (ferry copy --via) into URLs under these
  int64_t rekey_mb = 1024;
  int64_t rekey_seconds = 3600;
  double duration = 0;  // seconds; 0: until a signal
};

// Waits for SIGINT or SIGTERM (blocked in this thread before the relay's threads start, so they
// inherit the mask and the signal comes here), or for `duration` seconds.
void WaitForStop(const sigset_t& set, double duration) {
  if (duration <= 0) {
    int sig = 0;
    sigwait(&set, &sig);
    return;
  }
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(duration);
  while (std::chrono::steady_clock::now() < end) {
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
        end - std::chrono::steady_clock::now());
    timespec ts{static_cast<time_t>(left.count() / 1000000000),
                static_cast<long>(left.count() % 1000000000)};
    if (sigtimedwait(&set, nullptr, &ts) > 0) return;
  }
}

Result<int> Run(CommandContext& context, const RelayFlags& flags, bool server) {
  transport::RelayOptions options;
  FERRY_ASSIGN_OR_RETURN(options.identity, LoadIdentityFile(context.env, flags.identity));
  FERRY_ASSIGN_OR_RETURN(options.listen, transport::HostPort::Parse(flags.listen, "--listen"));
  if (flags.rekey_mb <= 0 || flags.rekey_seconds <= 0) {
    return Err(InvalidArgument("--rekey-mb and --rekey-seconds must be positive"));
  }
  options.rekey_bytes = flags.rekey_mb << 20;
  options.rekey_seconds = flags.rekey_seconds;
  if (server) {
    options.allowed_clients = flags.allow;
    if (flags.forward.empty() == flags.targets.empty()) {
      return Err(InvalidArgument(
          "relay serve: give --forward HOST:PORT (carry connections to one address) or --targets "
          "URL_PREFIX (serve `ferry copy --via` into databases under it), one of the two"));
    }
    if (!flags.forward.empty()) {
      FERRY_ASSIGN_OR_RETURN(options.forward,
                             transport::HostPort::Parse(flags.forward, "--forward"));
    } else {
      options.serve = [targets = flags.targets](transport::SecureChannel& channel) {
        return transport::ServeCopyTarget(channel, targets);
      };
    }
  } else {
    FERRY_ASSIGN_OR_RETURN(options.server, transport::HostPort::Parse(flags.to, "--to"));
    Result<crypto::PublicIdentity> peer = ReadRecipient(context.env, flags.peer);
    if (!peer.has_value()) return Err(InvalidArgument("--peer: {}", peer.error().message()));
    options.server_identity = *peer;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &set, &old);
  const std::string me = options.identity.pub.Fingerprint();
  Result<std::unique_ptr<transport::Relay>> relay =
      server ? transport::Relay::StartServer(std::move(options))
             : transport::Relay::StartClient(std::move(options));
  if (!relay.has_value()) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return Err(relay.error());
  }
  context.err << fmt::format("ferry: relay {} listening on {} (port {}), fingerprint {}; {}\n",
                             server ? "server" : "client", flags.listen, (*relay)->port(), me,
                             !server                 ? "carrying connections to " + flags.to
                             : flags.forward.empty() ? fmt::format("serving copies into {}",
                                                                   fmt::join(flags.targets, ", "))
                                                     : "forwarding to " + flags.forward);
  WaitForStop(set, flags.duration);
  (*relay)->Stop();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  const transport::RelayCounters& c = (*relay)->counters();
  if (context.json) {
    context.out << nlohmann::ordered_json{{"connections", c.connections.load()},
                                          {"refused", c.refused.load()},
                                          {"failed", c.failed.load()},
                                          {"bytes_up", c.bytes_up.load()},
                                          {"bytes_down", c.bytes_down.load()},
                                          {"key_updates", c.key_updates.load()},
                                          {"errors", (*relay)->errors()}}
                       .dump(2)
                << "\n";
  } else {
    context.out << fmt::format(
        "{} connection(s), {} refused, {} failed; {} bytes up, {} bytes down; {} key update(s)\n",
        c.connections.load(), c.refused.load(), c.failed.load(), c.bytes_up.load(),
        c.bytes_down.load(), c.key_updates.load());
  }
  return c.failed.load() > 0 ? kExitCheckFailed : kExitOk;
}

}  // namespace

std::vector<CommandSpec> RelayCommands() {
  auto serve = std::make_shared<RelayFlags>();
  auto connect = std::make_shared<RelayFlags>();
  const std::string group =
      "The secure relay: a post-quantum channel between two ferry nodes (docs/security.md)";
  auto common = [](CLI::App& app, RelayFlags* f) {
    app.add_option("--listen", f->listen, "HOST:PORT to listen on (127.0.0.1:7300)");
    app.add_option("--identity", f->identity, "This node's identity file (ferry crypto keygen)")
        ->required();
    app.add_option("--rekey-mb", f->rekey_mb,
                   "TLS key update after this many MiB in one direction (1024)");
    app.add_option("--rekey-seconds", f->rekey_seconds,
                   "TLS key update after this many seconds (3600)");
    app.add_option("--duration", f->duration,
                   "Stop after this many seconds (default: at SIGINT or SIGTERM)");
  };
  return {
      {.path = {"relay", "serve"},
       .group_help = group,
       .help = "Accept relay clients (by fingerprint); forward each connection to --forward, or "
               "serve `ferry copy --via` into the databases under --targets",
       .add_options =
           [serve, common](CLI::App& app) {
             common(app, serve.get());
             app.add_option("--allow", serve->allow,
                            "A client fingerprint to admit (repeatable; required)")
                 ->required();
             app.add_option("--forward", serve->forward,
                            "HOST:PORT each connection goes to (the target database)");
             app.add_option("--targets", serve->targets,
                            "A URL prefix `ferry copy --via` may write under, such as "
                            "postgresql://app@10.0.0.9/ (repeatable); instead of --forward");
           },
       .run = [serve](CommandContext& c) { return Run(c, *serve, true); }},
      {.path = {"relay", "connect"},
       .group_help = group,
       .help =
           "Listen locally and carry each connection to a relay server, pinned by its recipient",
       .add_options =
           [connect, common](CLI::App& app) {
             common(app, connect.get());
             app.add_option("--to", connect->to, "The relay server's HOST:PORT")->required();
             app.add_option("--peer", connect->peer,
                            "The relay server's recipient (text or file): pins its keys")
                 ->required();
           },
       .run = [connect](CommandContext& c) { return Run(c, *connect, false); }},
  };
}

}  // namespace ferry
