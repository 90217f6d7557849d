// ferry store status | migrate | verify-log
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>

#include "base/json.h"
#include "cli/commands.h"
#include "store/store.h"

namespace ferry {
namespace {

constexpr std::string_view kGroupHelp = "Inspect and maintain the state store";

Json SchemaJson(const SchemaStatus& schema) {
  return Json{{"backend", schema.backend},
              {"location", schema.location},
              {"schema_version", schema.current_version},
              {"latest_version", schema.latest_version},
              {"pending_migrations", schema.pending}};
}

// Commands that only look at a store must not create or migrate it.
constexpr StoreOptions kLookOnly = {.migrate = false, .create_if_missing = false};

Result<std::unique_ptr<Store>> OpenToLook(const CommandContext& context) {
  StoreOptions options = kLookOnly;
  options.env = context.env;
  return Store::Open(context.store_url, options);
}

Result<int> RunStatus(CommandContext& context) {
  FERRY_ASSIGN_OR_RETURN(auto store, OpenToLook(context));
  FERRY_ASSIGN_OR_RETURN(SchemaStatus schema, store->GetSchemaStatus());
  const bool current = schema.pending.empty();
  if (context.json) {
    Json doc = SchemaJson(schema);
    doc["ok"] = true;
    doc["up_to_date"] = current;
    context.out << doc.dump(2) << "\n";
    return kExitOk;
  }
  context.out << fmt::format("store    {} ({})\n", schema.location, schema.backend);
  context.out << fmt::format("schema   version {} of {}{}\n", schema.current_version,
                             schema.latest_version, current ? ", up to date" : "");
  for (const std::string& pending : schema.pending) {
    context.out << fmt::format("pending  migration {}\n", pending);
  }
  if (!current) context.out << "run `ferry store migrate` to apply the pending migrations\n";
  return kExitOk;
}

Result<int> RunMigrate(CommandContext& context) {
  // Open without migrating so that the number applied can be reported.
  FERRY_ASSIGN_OR_RETURN(auto store,
                         Store::Open(context.store_url, {.migrate = false, .env = context.env}));
  FERRY_ASSIGN_OR_RETURN(int applied, store->Migrate());
  FERRY_ASSIGN_OR_RETURN(SchemaStatus schema, store->GetSchemaStatus());
  if (context.json) {
    Json doc = SchemaJson(schema);
    doc["ok"] = true;
    doc["applied"] = applied;
    context.out << doc.dump(2) << "\n";
    return kExitOk;
  }
  context.out << fmt::format("store    {} ({})\n", schema.location, schema.backend);
  context.out << fmt::format("schema   version {}: applied {} migration{}\n",
                             schema.current_version, applied, applied == 1 ? "" : "s");
  return kExitOk;
}

Result<int> RunVerifyLog(CommandContext& context, const std::string& expected_head) {
  FERRY_ASSIGN_OR_RETURN(auto store, OpenToLook(context));
  FERRY_ASSIGN_OR_RETURN(EventLogReport report, store->VerifyEventLog(expected_head));
  if (context.json) {
    context.out << Json{{"ok", report.intact},
                        {"intact", report.intact},
                        {"events_checked", report.events_checked},
                        {"head_hash", report.head_hash},
                        {"first_bad_seq", report.first_bad_seq},
                        {"problems", report.problems}}
                       .dump(2)
                << "\n";
  } else if (report.intact) {
    context.out << fmt::format("event log intact: {} events, head {}\n", report.events_checked,
                               report.head_hash);
    context.out << "keep the head hash outside the store; `ferry store verify-log --expect-head "
                   "HASH` later proves the log was not rewritten\n";
  } else {
    context.out << fmt::format("event log BROKEN: {} events checked, first bad event {}\n",
                               report.events_checked, report.first_bad_seq);
    for (const std::string& problem : report.problems) context.out << "  " << problem << "\n";
    context.out << "the store was modified outside ferry; restore it from a backup and keep this "
                   "report as evidence\n";
  }
  return report.intact ? kExitOk : kExitCheckFailed;
}

}  // namespace

std::vector<CommandSpec> StoreCommands() {
  auto expected_head = std::make_shared<std::string>();
  return {
      {.path = {"store", "status"},
       .group_help = std::string(kGroupHelp),
       .help = "Show the store's location, backend and schema version (changes nothing)",
       .add_options = nullptr,
       .run = RunStatus},
      {.path = {"store", "migrate"},
       .group_help = std::string(kGroupHelp),
       .help = "Create the store or apply pending schema migrations",
       .add_options = nullptr,
       .run = RunMigrate},
      {.path = {"store", "verify-log"},
       .group_help = std::string(kGroupHelp),
       .help = "Check the hash chain of the event log; exit 1 if any event was edited, deleted "
               "or reordered",
       .add_options =
           [expected_head](CLI::App& app) {
             app.add_option("--expect-head", *expected_head,
                            "A head hash recorded earlier: the log must still contain it");
           },
       .run = [expected_head](
                  CommandContext& context) { return RunVerifyLog(context, *expected_head); }},
  };
}

}  // namespace ferry
