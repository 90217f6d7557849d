// ferry demo: the main job, end to end, on embedded databases: create a small bank in SQLite,
// copy it (to a new SQLite file, or to --to URL), verify every row, and record the run in the
// state store's event log.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>

#include "base/json.h"
#include "base/url.h"
#include "cli/commands.h"
#include "cli/demo_bank.h"
#include "cli/progress.h"
#include "connect/connector.h"
#include "move/copy.h"
#include "store/store.h"

namespace ferry {
namespace {

struct DemoFlags {
  int64_t rows = 100'000;
  std::string to;
  std::string dir;
};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Result<int> RunDemo(CommandContext& context, const DemoFlags& flags) {
  std::error_code ec;
  const std::filesystem::path dir = flags.dir.empty()
                                        ? std::filesystem::current_path(ec) / "ferry-demo"
                                        : std::filesystem::path(flags.dir);
  FERRY_RETURN_IF_ERROR(context.env->CreateDirs(dir.string()));
  const std::string bank = (dir / "bank.db").string();
  const std::string to = flags.to.empty() ? "sqlite://" + (dir / "copy.db").string() : flags.to;
  FERRY_ASSIGN_OR_RETURN(auto store, Store::Open(context.store_url, {.env = context.env}));
  const std::string run_id = fmt::format("demo-{}", context.env->NowMicros());
  auto event = [&](std::string kind, Json payload) {
    return StatusOf(store->AppendEvent({.run_id = run_id,
                                        .actor = "cli:demo",
                                        .kind = std::move(kind),
                                        .payload = std::move(payload)}));
  };
  FERRY_RETURN_IF_ERROR(event("demo.started", {{"rows", flags.rows}, {"target", RedactUrl(to)}}));

  auto start = std::chrono::steady_clock::now();
  FERRY_ASSIGN_OR_RETURN(DemoBankSize size, CreateDemoBank(bank, flags.rows));
  const double create_seconds = SecondsSince(start);

  FERRY_ASSIGN_OR_RETURN(auto source, Connector::Open("sqlite://" + bank));
  FERRY_ASSIGN_OR_RETURN(auto target, Connector::Open(to, {.create_if_missing = true}));
  start = std::chrono::steady_clock::now();
  // The demo can be run again and again: it replaces what an earlier run copied.
  ProgressReporter progress(context.err, !context.json && isatty(STDERR_FILENO));
  Result<CopyReport> copied =
      Copy(*source, *target,
           {.if_exists = IfExists::kTruncate,
            .store = store.get(),
            // The bank is made anew each time: a demo never continues an earlier one.
            .fingerprint_extra = run_id,
            .on_progress = [&](const std::string& table, int64_t rows, int64_t estimated,
                               int64_t bytes) { progress.Update(table, rows, estimated, bytes); }});
  progress.Finish();
  FERRY_ASSIGN_OR_RETURN(CopyReport report, std::move(copied));
  const double copy_seconds = SecondsSince(start);
  for (const TableCopy& t : report.tables) {
    FERRY_RETURN_IF_ERROR(event("table.copied", {{"table", t.table}, {"rows", t.rows}}));
  }
  const VerifyReport& verification = *report.verification;
  FERRY_RETURN_IF_ERROR(event("run.verified", {{"identical", verification.identical()}}));
  FERRY_ASSIGN_OR_RETURN(EventLogReport log, store->VerifyEventLog());

  if (context.json) {
    Json doc = {{"ok", verification.identical()},
                {"source", "sqlite://" + bank},
                {"target", target->location()},
                {"rows", size.total()},
                {"create_seconds", create_seconds},
                {"copy_and_verify_seconds", copy_seconds},
                {"verification", verification.ToJson()},
                {"store", store->location()},
                {"run_id", run_id},
                {"event_log_intact", log.intact}};
    context.out << doc.dump(2) << "\n";
    return verification.identical() ? kExitOk : kExitCheckFailed;
  }
  context.out << "ferry demo: a small bank, copied and verified\n\n";
  context.out << fmt::format(
      "  source  sqlite://{}\n          {} customers, {} accounts, {} loans, "
      "{} transactions (created in {:.2f} s)\n",
      bank, size.customers, size.accounts, size.loans, size.transactions, create_seconds);
  context.out << fmt::format("  target  {}\n\n", target->location());
  for (const TableCopy& t : report.tables) {
    const TableReport* checked = nullptr;
    for (const TableReport& r : verification.tables) {
      if (r.table == t.table) checked = &r;
    }
    context.out << fmt::format(
        "  {:<14} {:>9} rows copied in {:5.2f} s   {}\n", t.table, t.rows, t.seconds,
        checked != nullptr && checked->identical()
            ? fmt::format("verified, checksum {}", checked->target_checksum.ToHex().substr(0, 16))
            : "DIFFERENT: run ferry verify for the rows");
  }
  context.out << fmt::format(
      "\n  {} rows copied and verified in {:.2f} s: {}\n", size.total(), copy_seconds,
      verification.identical() ? "every row arrived intact" : "DIFFERENCES FOUND");
  context.out << fmt::format("  run {} recorded in {} ({} events, chain {})\n\n", run_id,
                             store->location(), log.events_checked,
                             log.intact ? "intact" : "BROKEN");
  context.out << fmt::format("  try: ferry verify --from sqlite://{} --to {}\n", bank,
                             target->location());
  context.out << "       ferry store verify-log\n";
  return verification.identical() ? kExitOk : kExitCheckFailed;
}

}  // namespace

std::vector<CommandSpec> DemoCommands() {
  auto flags = std::make_shared<DemoFlags>();
  return {{.path = {"demo"},
           .group_help = "",
           .help = "Run the main job on embedded databases: create a bank, copy, verify, report",
           .add_options =
               [flags](CLI::App& app) {
                 app.add_option("--rows", flags->rows,
                                "Transactions in the generated bank (customers, accounts and "
                                "loans in proportion)")
                     ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}));
                 app.add_option("--to", flags->to,
                                "Target URL (default: DIR/copy.db, replaced each run)");
                 app.add_option("--dir", flags->dir,
                                "Where the generated bank (and the default target) go "
                                "(default: ./ferry-demo)");
               },
           .run = [flags](CommandContext& context) { return RunDemo(context, *flags); }}};
}

}  // namespace ferry
