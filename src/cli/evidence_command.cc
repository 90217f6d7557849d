// `ferry evidence export RUN` and `ferry evidence verify FILE`: signed evidence of a run, checked
// offline (docs/evidence.md).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/sealed_files.h"
#include "report/checkpoint.h"
#include "report/evidence.h"
#include "store/store.h"

namespace ferry {
namespace {

struct EvidenceFlags {
  std::string run, identity, out, keys_report, file, signer;
};

Result<int> RunExport(CommandContext& context, const EvidenceFlags& f) {
  FERRY_ASSIGN_OR_RETURN(crypto::Identity signer, LoadIdentityFile(context.env, f.identity));
  std::optional<std::string> keys;
  if (!f.keys_report.empty()) {
    FERRY_ASSIGN_OR_RETURN(keys, context.env->ReadFile(f.keys_report));
  }
  FERRY_ASSIGN_OR_RETURN(auto store, Store::Open(context.store_url, {.env = context.env}));
  FERRY_ASSIGN_OR_RETURN(std::string text, report::ExportEvidence(*store, f.run, signer,
                                                                  context.env->NowMicros(), keys));
  FERRY_RETURN_IF_ERROR(context.env->WriteFileAtomic(f.out, text));
  context.err << "ferry: evidence of run " << f.run << " written to " << f.out << ", signed by "
              << signer.pub.Fingerprint() << " (ML-DSA-65 and Ed25519)\n";
  return kExitOk;
}

Result<int> RunVerify(CommandContext& context, const EvidenceFlags& f) {
  FERRY_ASSIGN_OR_RETURN(std::string text, context.env->ReadFile(f.file));
  Result<report::EvidenceSummary> s = report::VerifyEvidence(text, f.signer);
  if (!s.has_value()) {
    context.err << "ferry: " << f.file << ": REJECTED: " << s.error().message() << "\n";
    return kExitCheckFailed;
  }
  if (context.json) {
    context.out << nlohmann::ordered_json{{"file", f.file},
                                          {"valid", true},
                                          {"run", s->run_id},
                                          {"kind", s->run_kind},
                                          {"state", s->run_state},
                                          {"events", s->events},
                                          {"log_intact", s->log_intact},
                                          {"log_head", s->log_head},
                                          {"signer", s->signer},
                                          {"keys_report", s->has_keys_report}}
                       .dump(2)
                << "\n";
  } else {
    context.out << fmt::format(
        "{}: valid: run {} ({}, {}), {} event(s) with their hashes, event log {} at head {}, "
        "signed by {}{}\n",
        f.file, s->run_id, s->run_kind, s->run_state, s->events,
        s->log_intact ? "intact" : "BROKEN", s->log_head, s->signer,
        f.signer.empty() ? " (not pinned: pass --signer to require it)" : " (the expected signer)");
  }
  return s->log_intact ? kExitOk : kExitCheckFailed;
}

Result<int> RunCheckpoint(CommandContext& context, const EvidenceFlags& f) {
  FERRY_ASSIGN_OR_RETURN(crypto::Identity signer, LoadIdentityFile(context.env, f.identity));
  FERRY_ASSIGN_OR_RETURN(auto store, Store::Open(context.store_url, {.env = context.env}));
  FERRY_ASSIGN_OR_RETURN(Event e,
                         report::SignCheckpoint(*store, signer, "cli:evidence checkpoint"));
  context.out << fmt::format("checkpoint at event {}: the log's head signed by {}\n", e.seq,
                             signer.pub.Fingerprint());
  return kExitOk;
}

Result<int> RunVerifyLog(CommandContext& context, const EvidenceFlags& f) {
  FERRY_ASSIGN_OR_RETURN(auto store, Store::Open(context.store_url, {.env = context.env}));
  FERRY_ASSIGN_OR_RETURN(EventLogReport chain, store->VerifyEventLog());
  FERRY_ASSIGN_OR_RETURN(report::CheckpointReport r, report::VerifyCheckpoints(*store, f.signer));
  for (const std::string& p : chain.problems) context.out << "chain: " << p << "\n";
  for (const std::string& p : r.problems) context.out << p << "\n";
  context.out << fmt::format(
      "{} event(s), chain {}; {} signed checkpoint(s), {} problem(s); signed up to event {}\n",
      chain.events_checked, chain.intact ? "intact" : "BROKEN", r.checkpoints, r.problems.size(),
      r.last_checkpointed_seq);
  if (r.checkpoints == 0)
    context.err << "ferry: no signed checkpoint yet: `ferry evidence checkpoint --identity KEY` "
                   "makes one\n";
  return chain.intact && r.problems.empty() ? kExitOk : kExitCheckFailed;
}

}  // namespace

std::vector<CommandSpec> EvidenceCommands() {
  auto cp = std::make_shared<EvidenceFlags>();
  auto vl = std::make_shared<EvidenceFlags>();
  auto exp = std::make_shared<EvidenceFlags>();
  auto ver = std::make_shared<EvidenceFlags>();
  const std::string group = "Signed evidence of runs, for auditors";
  return {
      {.path = {"evidence", "export"},
       .group_help = group,
       .help = "Write a run's evidence (what moved, verification, events, the log's head, keys) "
               "signed with ML-DSA-65 and Ed25519",
       .add_options =
           [exp](CLI::App& app) {
             app.add_option("run", exp->run, "The run id (as ferry copy printed it)")->required();
             app.add_option("--identity", exp->identity,
                            "The signing identity (ferry crypto keygen)")
                 ->required();
             app.add_option("--out", exp->out, "The evidence file to write")->required();
             app.add_option("--keys-report", exp->keys_report,
                            "A `ferry keys migrate --report` file to include");
           },
       .run = [exp](CommandContext& c) { return RunExport(c, *exp); }},
      {.path = {"evidence", "verify"},
       .group_help = group,
       .help = "Check an evidence file offline: signatures, signer, every event's hash; exit 1 if "
               "rejected",
       .add_options =
           [ver](CLI::App& app) {
             app.add_option("file", ver->file, "The evidence file")->required();
             app.add_option("--signer", ver->signer, "Require this signer fingerprint");
           },
       .run = [ver](CommandContext& c) { return RunVerify(c, *ver); }},
      {.path = {"evidence", "checkpoint"},
       .group_help = group,
       .help = "Sign the event log's head (ML-DSA-65 and Ed25519) as a checkpoint event in the log",
       .add_options =
           [cp](CLI::App& app) {
             app.add_option("--identity", cp->identity,
                            "The signing identity (ferry crypto keygen)")
                 ->required();
           },
       .run = [cp](CommandContext& c) { return RunCheckpoint(c, *cp); }},
      {.path = {"evidence", "verify-log"},
       .group_help = group,
       .help =
           "Check the event log's chain and every signed checkpoint in it; exit 1 on any problem",
       .add_options =
           [vl](CLI::App& app) {
             app.add_option("--signer", vl->signer,
                            "Require checkpoints signed by this fingerprint");
           },
       .run = [vl](CommandContext& c) { return RunVerifyLog(c, *vl); }},
  };
}

}  // namespace ferry
