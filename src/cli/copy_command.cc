// ferry copy --from URL --to URL [--tables a,b] [--jobs N] [--resume RUN_ID]
//            [--if-exists fail|truncate|append] [--cast col:type] [--no-verify] [--max-rate R]
//            [--encrypt-to RECIPIENT --identity KEY]   (--to file:///X.ferry: an encrypted export)
//            [--identity KEY [--signer FP]]             (--from file:///X.ferry: restore one)
//            [--via ferry://HOST:PORT --peer RECIPIENT --identity KEY [--rekey-mb N]]
//                                          (the target opened by a relay node near it)
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>

#include <CLI/CLI.hpp>

#include "base/ids.h"
#include "base/log.h"
#include "base/url.h"
#include "cli/commands.h"
#include "cli/export_target.h"
#include "cli/progress.h"
#include "cli/sealed_files.h"
#include "connect/connector.h"
#include "move/copy.h"
#include "move/transformed_source.h"
#include "store/store.h"
#include "transport/remote.h"

namespace ferry {
namespace {

struct CopyFlags {
  std::string from;
  std::string to;
  std::vector<std::string> tables;
  std::string if_exists = "fail";
  std::vector<std::string> casts;
  bool no_verify = false;
  std::string max_rate;
  int jobs = 1;
  int64_t chunk_rows = 250'000;
  int64_t lease_seconds = 30;
  std::string resume;
  std::string spec;
  std::string rejects = "ferry-rejects.jsonl";
  int64_t max_rejects = 0;
  std::vector<std::string> encrypt_to;  // recipients of a file:///X.ferry export
  std::string identity;                 // signs an export; opens one
  std::string signer;                   // an export to open must be signed by this fingerprint
  std::string via;                      // ferry://HOST:PORT: the relay node that opens --to
  std::string peer;                     // its recipient (pinned by fingerprint)
  int64_t rekey_mb = 1024;
};

// The channel to the relay node of --via, resolved from the flags (its address, this node's
// identity, the pinned peer) before anything opens; nullopt without --via.
Result<std::optional<transport::RemoteOptions>> ViaOptions(CommandContext& context,
                                                           const CopyFlags& flags) {
  if (flags.via.empty()) return std::nullopt;
  transport::RemoteOptions options;
  FERRY_ASSIGN_OR_RETURN(options.server, transport::ParseViaUrl(flags.via));
  if (flags.identity.empty() || flags.peer.empty()) {
    return Err(InvalidArgument(
        "--via {}: the relay channel needs this node's --identity FILE and the relay's --peer "
        "RECIPIENT (its `ferry crypto keygen` output, pinned by fingerprint)",
        flags.via));
  }
  if (flags.rekey_mb <= 0) return Err(InvalidArgument("--rekey-mb must be positive"));
  FERRY_ASSIGN_OR_RETURN(options.identity, LoadIdentityFile(context.env, flags.identity));
  Result<crypto::PublicIdentity> peer = ReadRecipient(context.env, flags.peer);
  if (!peer.has_value()) return Err(InvalidArgument("--peer: {}", peer.error().message()));
  options.server_identity = *peer;
  options.rekey.bytes = flags.rekey_mb << 20;
  return options;
}

// The target: opened here, or by the relay node of `via` (transport/remote.h).
Result<std::unique_ptr<Connector>> OpenTarget(const CopyFlags& flags,
                                              std::optional<transport::RemoteOptions> via,
                                              std::shared_ptr<transport::RemoteStats>* stats) {
  if (!via) return Connector::Open(flags.to, {.create_if_missing = true});
  via->stats = *stats = std::make_shared<transport::RemoteStats>();
  return transport::OpenRemoteConnector(flags.to, {.create_if_missing = true}, std::move(*via));
}

Result<std::map<std::string, std::string>> ParseCasts(const std::vector<std::string>& casts) {
  std::map<std::string, std::string> out;
  for (const std::string& cast : casts) {
    const size_t colon = cast.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == cast.size()) {
      return Err(InvalidArgument("--cast {}: expected COLUMN:TYPE, e.g. --cast total:numeric(14,2)",
                                 cast));
    }
    out[cast.substr(0, colon)] = cast.substr(colon + 1);
  }
  return out;
}

// With `--to file:///X.ferry`: the export the copy writes into, and what makes each export a run
// of its own (an export cannot be continued: its entries so far are in no file).
struct ExportCopy {
  ExportTarget* target = nullptr;
  std::string fingerprint_extra;
};

Result<int> RunPlainCopy(CommandContext& context, const CopyFlags& flags,
                         const ExportCopy* export_copy = nullptr) {
  FERRY_ASSIGN_OR_RETURN(IfExists if_exists, ParseIfExists(flags.if_exists));
  FERRY_ASSIGN_OR_RETURN(auto casts, ParseCasts(flags.casts));
  RateLimit max_rate;
  if (!flags.max_rate.empty()) {
    FERRY_ASSIGN_OR_RETURN(max_rate, ParseRateLimit(flags.max_rate));
  }
  if (flags.jobs < 1 || flags.jobs > 64) {
    return Err(InvalidArgument("--jobs {}: expected 1 to 64 workers", flags.jobs));
  }
  if (flags.chunk_rows < 1) {
    return Err(InvalidArgument("--chunk-rows {}: expected at least 1", flags.chunk_rows));
  }
  if (flags.lease_seconds < 1 || flags.lease_seconds > 86400) {
    return Err(InvalidArgument(
        "--lease {}: expected 1 to 86400 seconds (a worker renews its lease every third of it)",
        flags.lease_seconds));
  }
  FERRY_ASSIGN_OR_RETURN(std::optional<transport::RemoteOptions> via_options,
                         ViaOptions(context, flags));
  FERRY_ASSIGN_OR_RETURN(auto source, Connector::Open(flags.from));
  std::shared_ptr<transport::RemoteStats> via;
  std::unique_ptr<Connector> opened;
  Connector* target = export_copy != nullptr ? export_copy->target : nullptr;
  if (target == nullptr) {
    FERRY_ASSIGN_OR_RETURN(opened, OpenTarget(flags, std::move(via_options), &via));
    target = opened.get();
  }
  FERRY_ASSIGN_OR_RETURN(auto store, Store::Open(context.store_url, {.env = context.env}));
  // With a spec, the copy reads the source as the spec makes it (move/transformed_source.h).
  Connector* from = source.get();
  std::vector<std::string> wanted = flags.tables;
  std::unique_ptr<SpecSource> spec;
  if (!flags.spec.empty()) {
    FERRY_ASSIGN_OR_RETURN(
        spec, SpecSource::Open(*source, flags.spec, flags.rejects, flags.max_rejects, context.env));
    from = &spec->connector();
    wanted = spec->TargetNames(std::move(wanted));
  }
  CopyOptions options{.tables = wanted,
                      .if_exists = if_exists,
                      .casts = std::move(casts),
                      .verify = !flags.no_verify,
                      .jobs = flags.jobs,
                      .chunk_rows = flags.chunk_rows,
                      .max_rate = max_rate,
                      .env = context.env,
                      .store = store.get(),
                      .resume = flags.resume,
                      .fingerprint_extra = spec != nullptr ? spec->content_hash() : "",
                      .lease_micros = flags.lease_seconds * 1'000'000};
  if (export_copy != nullptr) {
    options.verify = false;  // the export is not read back: VerifyAgainstSource, below
    options.fingerprint_extra += export_copy->fingerprint_extra;
    // Only this process works on an export (a run of its own that nothing else can continue),
    // so its chunks need no lease another worker could take over: a writer waiting for the
    // archive's entry must not lose its chunk to the next worker.
    options.lease_micros = int64_t{24} * 3600 * 1'000'000;
  }
  options.on_run = [&](const std::string& run_id, bool resumed) {
    LogInfo(resumed ? "continuing copy run" : "copy run",
            {{"run", run_id}, {"store", store->location()}});
  };
  ProgressReporter progress(context.err, !context.json && isatty(STDERR_FILENO));
  options.on_progress = [&](const std::string& table, int64_t rows, int64_t estimated,
                            int64_t bytes) { progress.Update(table, rows, estimated, bytes); };
  Result<CopyReport> copied = Copy(*from, *target, options);
  if (export_copy != nullptr && !flags.no_verify && copied.has_value()) {
    // An export is not read back: the source is scanned again and compared with the checksums
    // of what was written.
    const auto start = std::chrono::steady_clock::now();
    Result<VerifyReport> verified = export_copy->target->VerifyAgainstSource(*from, flags.jobs);
    if (verified.has_value()) {
      copied->verification = std::move(verified).value();
      copied->verification_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } else {
      copied = Err(verified.error());
    }
  }
  if (spec != nullptr && spec->rejects().count() > 0) {
    LogWarn("rows rejected by the spec",
            {{"rows", spec->rejects().count()}, {"file", spec->rejects().path()}});
  }
  progress.Finish();
  FERRY_ASSIGN_OR_RETURN(CopyReport report, std::move(copied));
  const bool identical = !report.verification.has_value() || report.verification->identical();
  if (context.json) {
    Json tables = Json::array();
    for (const TableCopy& t : report.tables) {
      Json risks = Json::array();
      for (const ColumnMapping& c : t.mapping.columns) {
        for (const std::string& r : c.risks) risks.push_back({{"column", c.name}, {"risk", r}});
      }
      tables.push_back({{"table", t.table},
                        {"rows", t.rows},
                        {"bytes", t.bytes},
                        {"seconds", t.seconds},
                        {"created", t.created},
                        {"chunks", t.chunks},
                        {"indexes", t.indexes},
                        {"foreign_keys", t.foreign_keys},
                        {"not_copied", t.not_copied},
                        {"risks", risks}});
    }
    Json doc = {{"ok", identical},
                {"run_id", report.run_id},
                {"rejected_rows", spec != nullptr ? spec->rejects().count() : 0},
                {"resumed", report.resumed},
                {"source_position", report.snapshot.position},
                {"consistency", report.snapshot.note},
                {"tables", tables}};
    if (via != nullptr) {
      doc["via"] = {{"relay", flags.via},
                    {"channels", via->channels.load()},
                    {"rows_sent", via->rows_sent.load()},
                    {"batch_bytes", via->batch_bytes.load()},
                    {"wire_bytes", via->wire_bytes.load()},
                    {"key_updates", via->key_updates.load()}};
    }
    if (report.verification.has_value()) {
      doc["verification"] = report.verification->ToJson();
      doc["verification_seconds"] = report.verification_seconds;
    }
    context.out << doc.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    return identical ? kExitOk : kExitCheckFailed;
  }
  context.out << fmt::format("copy {} -> {}\n  run {}{}\n", source->location(), target->location(),
                             report.run_id, report.resumed ? " (continued)" : "");
  if (!report.snapshot.position.empty()) {
    context.out << fmt::format("  source position {}\n", report.snapshot.position);
  }
  for (const TableCopy& t : report.tables) {
    context.out << fmt::format("  {:<24} {:>10} rows  {:>5} chunk{}  {:6.2f} s{}\n", t.table,
                               t.rows, t.chunks, t.chunks == 1 ? " " : "s", t.seconds,
                               t.created ? "  (created)" : "");
    if (t.indexes > 0 || t.foreign_keys > 0) {
      context.out << fmt::format("      built {} index{}, {} foreign key{}\n", t.indexes,
                                 t.indexes == 1 ? "" : "es", t.foreign_keys,
                                 t.foreign_keys == 1 ? "" : "s");
    }
    for (const ColumnMapping& c : t.mapping.columns) {
      for (const std::string& r : c.risks) {
        context.out << fmt::format("      {} {} -> {}: {}\n", c.name, c.source_type, c.target_type,
                                   r);
      }
    }
    for (const std::string& what : t.not_copied) {
      context.out << fmt::format("      not copied: {}\n", what);
    }
  }
  if (via != nullptr) {
    context.out << fmt::format(
        "  through {}: {} secure channel(s), {} rows sent, {:.1f} MB of batches as {:.1f} MB "
        "(zstd), {} key update(s)\n",
        flags.via, via->channels.load(), via->rows_sent.load(), via->batch_bytes.load() / 1e6,
        via->wire_bytes.load() / 1e6, via->key_updates.load());
  }
  if (report.verification.has_value()) {
    context.out << (identical ? fmt::format("verified: every row arrived intact ({:.2f} s)\n",
                                            report.verification_seconds)
                    : export_copy != nullptr
                        ? std::string("VERIFICATION FOUND DIFFERENCES: the source, scanned again, "
                                      "does not hold the rows written (--json lists the tables)\n")
                        : std::string("VERIFICATION FOUND DIFFERENCES: run `ferry verify` "
                                      "with the same --from and --to for the list\n"));
  } else {
    context.out << "not verified (--no-verify)\n";
  }
  return identical ? kExitOk : kExitCheckFailed;
}

// A `file:///PATH.ferry` URL: an encrypted export (docs/crypto.md, "Encrypted exports").
std::optional<std::string> ExportPath(const std::string& url) {
  constexpr std::string_view kScheme = "file://";
  if (!url.starts_with(kScheme) || !url.ends_with(".ferry")) return std::nullopt;
  return url.substr(kScheme.size());
}

// A private (0700) directory beside `path` for the plain files of an export being restored;
// removed by the caller.
Result<std::string> StagingDir(const std::string& path) {
  std::string pattern = path + ".staging-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Err(InvalidArgument("{}: cannot create a staging directory beside it: {}", path,
                               std::strerror(errno)));
  }
  return pattern;
}

// Copy to an encrypted export: the copy engine writes every table's rows straight into the
// export (cli/export_target.h: JSON Lines and schema entries, compressed, encrypted, in
// PATH.partial); with verification, the source is scanned again and compared with the checksums
// of what was written; then the manifest, with each table's rows and checksum, is signed and the
// file renamed to PATH. On any failure or difference PATH.partial is removed and PATH never
// exists. No plain row is written to the disk.
Result<int> RunExport(CommandContext& context, CopyFlags flags, const std::string& path) {
  if (flags.encrypt_to.empty()) {
    return Err(InvalidArgument(
        "--to {}: an export is always encrypted: name its recipients with --encrypt-to", flags.to));
  }
  if (flags.identity.empty())
    return Err(InvalidArgument("--to {}: an export is signed: give --identity FILE", flags.to));
  if (!flags.resume.empty()) {
    return Err(InvalidArgument(
        "--resume {}: an export is written whole in one run and cannot be continued; run the "
        "export again without --resume",
        flags.resume));
  }
  std::vector<crypto::PublicIdentity> recipients;
  for (const std::string& to : flags.encrypt_to) {
    FERRY_ASSIGN_OR_RETURN(crypto::PublicIdentity r, LoadRecipient(context.env, to));
    recipients.push_back(std::move(r));
  }
  FERRY_ASSIGN_OR_RETURN(crypto::Identity signer, LoadIdentityFile(context.env, flags.identity));
  if (context.env->FileExists(path))
    return Err(AlreadyExists("{} exists; ferry never overwrites an export", path));
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<ExportTarget> target,
                         ExportTarget::Create(path, recipients, signer));
  const ExportCopy export_copy{.target = target.get(), .fingerprint_extra = NewId("export")};
  FERRY_ASSIGN_OR_RETURN(int copied, RunPlainCopy(context, flags, &export_copy));
  if (copied != kExitOk) {
    // `target` removes PATH.partial as it goes.
    context.err << fmt::format(
        "not exported: the source, scanned again, does not hold the rows written into the "
        "export (it changed during the copy?); {} was not created, export again\n",
        path);
    return copied;
  }
  const Json extra = {{"source", RedactUrl(flags.from)},
                      {"format", "jsonl"},
                      {"verified_against_source", !flags.no_verify}};
  FERRY_ASSIGN_OR_RETURN(int64_t bytes, target->Finish(extra));
  if (!context.json) {
    context.out << fmt::format("sealed into {} ({} bytes) for {} recipient(s), signed by {}\n",
                               path, bytes, recipients.size(), signer.pub.Fingerprint());
  }
  return kExitOk;
}

// The rows of the opened export in `dir` against the row counts and checksums its signed
// manifest lists (exports written before these were added list none, and are not checked).
Status CheckExportedRows(const std::string& dir, const std::string& path,
                         const crypto::ExportManifest& manifest) {
  FERRY_ASSIGN_OR_RETURN(std::optional<std::vector<ManifestTable>> listed,
                         ManifestTables(manifest.extra_json));
  if (!listed.has_value()) return OkStatus();
  FERRY_ASSIGN_OR_RETURN(auto files, Connector::Open("jsonl://" + dir));
  for (const ManifestTable& t : *listed) {
    FERRY_ASSIGN_OR_RETURN(TableInfo table, files->DescribeTable(t.table));
    FERRY_ASSIGN_OR_RETURN(auto reader, files->Scan({.table = &table}));
    RowHasher hasher;
    std::vector<Row> batch;
    for (;;) {
      FERRY_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
      if (!more) break;
      for (const Row& row : batch) hasher.AddRow(row);
    }
    if (hasher.checksum() != t.checksum) {
      return DataLoss(
          "{}: table `{}`: the rows read from the export ({} rows, checksum {}) are not those "
          "its signed manifest lists ({} rows, checksum {}); nothing was loaded",
          path, t.table, hasher.checksum().rows, hasher.checksum().ToHex(), t.rows,
          t.checksum.ToHex());
    }
  }
  return OkStatus();
}

// Copy from an encrypted export: the whole export is verified and decrypted into a private
// staging directory first, and its rows checked against the row counts and checksums of its
// signed manifest (nothing is loaded from an export that fails any check), then copied from
// there by the copy engine, which verifies the target against it.
Result<int> RunRestore(CommandContext& context, CopyFlags flags, const std::string& path) {
  if (flags.identity.empty()) {
    return Err(InvalidArgument(
        "--from {}: opening an export needs the --identity it is encrypted to", flags.from));
  }
  FERRY_ASSIGN_OR_RETURN(crypto::Identity id, LoadIdentityFile(context.env, flags.identity));
  FERRY_ASSIGN_OR_RETURN(std::string staging, StagingDir(path));
  std::error_code ec;
  std::filesystem::remove(staging, ec);  // OpenExportInto creates it, and only when all verified
  Result<crypto::ExportManifest> opened = OpenExportInto(path, id, staging, flags.signer);
  if (!opened.has_value()) return Err(opened.error());
  if (Status checked = CheckExportedRows(staging, path, *opened); !checked.ok()) {
    std::filesystem::remove_all(staging, ec);
    return Err(checked);
  }
  flags.from = "jsonl://" + staging;
  Result<int> copied = RunPlainCopy(context, flags);
  std::filesystem::remove_all(staging, ec);
  if (copied.has_value() && !context.json) {
    context.out << fmt::format(
        "from {}: signed by {}, every chunk, checksum, signature and table checksum verified "
        "before loading\n",
        path, opened->signer_fingerprint);
  }
  return copied;
}

Result<int> RunCopy(CommandContext& context, const CopyFlags& flags) {
  if (!flags.via.empty() && (ExportPath(flags.to) || ExportPath(flags.from))) {
    return Err(InvalidArgument(
        "--via carries a copy to a database near the relay; an export (file:///...ferry) is "
        "written and read where ferry runs: drop --via, and move the file itself"));
  }
  if (std::optional<std::string> out = ExportPath(flags.to)) return RunExport(context, flags, *out);
  if (std::optional<std::string> in = ExportPath(flags.from))
    return RunRestore(context, flags, *in);
  if (!flags.encrypt_to.empty()) {
    return Err(InvalidArgument("--encrypt-to applies to an export: --to file:///PATH.ferry"));
  }
  return RunPlainCopy(context, flags);
}

}  // namespace

std::vector<CommandSpec> CopyCommands() {
  auto flags = std::make_shared<CopyFlags>();
  return {
      {.path = {"copy"},
       .group_help = "",
       .help = "Copy tables to another database or engine, then verify every row",
       .add_options =
           [flags](CLI::App& app) {
             app.add_option("--from", flags->from,
                            "Source: sqlite:///path.db or postgresql://user@host:port/db")
                 ->required();
             app.add_option("--to", flags->to,
                            "Target, same forms (an SQLite file is created if missing)")
                 ->required();
             app.add_option("--tables", flags->tables,
                            "Tables to copy, comma-separated (default: all of the source)")
                 ->delimiter(',');
             app.add_option("--if-exists", flags->if_exists,
                            "A target table that holds rows: fail (default), truncate, append");
             app.add_option("--cast", flags->casts,
                            "Target type of a column, COLUMN:TYPE (repeatable)");
             app.add_flag("--no-verify", flags->no_verify, "Skip the verification");
             app.add_option("--jobs,-j", flags->jobs, "Workers loading chunks at once (1)");
             app.add_option("--chunk-rows", flags->chunk_rows,
                            "Rows per chunk, split by primary-key range (250000)");
             app.add_option("--spec", flags->spec,
                            "Transform spec (YAML): rename, cast, drop, filter, hash, mask... "
                            "(docs/transforms.md)");
             app.add_option("--rejects", flags->rejects,
                            "Where rows a transform rejects go (ferry-rejects.jsonl)");
             app.add_option("--max-rejects", flags->max_rejects,
                            "Rejected rows allowed before the copy stops (0; -1: no limit)");
             app.add_option("--lease", flags->lease_seconds,
                            "Seconds a worker's claim on a chunk lasts unrenewed; a worker on "
                            "another host that stops loses its chunks after this (30)");
             app.add_option("--resume", flags->resume,
                            "Continue this run (default: the unfinished run of the same "
                            "command, if any)");
             app.add_option(
                 "--encrypt-to", flags->encrypt_to,
                 "With --to file:///PATH.ferry: a recipient of the encrypted export (repeatable)");
             app.add_option("--identity", flags->identity,
                            "Signs an export (--to ...ferry), opens one (--from ...ferry), or is "
                            "this node in the channel to --via");
             app.add_option(
                 "--signer", flags->signer,
                 "With --from ...ferry: refuse an export not signed by this fingerprint");
             app.add_option("--via", flags->via,
                            "ferry://HOST:PORT: a relay node near the target (`ferry relay serve "
                            "--targets`) opens --to and takes the batches over a post-quantum "
                            "channel");
             app.add_option("--peer", flags->peer,
                            "With --via: the relay's recipient (pinned by its fingerprint)");
             app.add_option("--rekey-mb", flags->rekey_mb,
                            "With --via: TLS key update after this many MiB sent (1024)");
             app.add_option("--max-rate", flags->max_rate,
                            "Stay under this rate: rows/s (5000) or bytes/s (10MB/s)");
           },
       .run = [flags](CommandContext& context) { return RunCopy(context, *flags); }}};
}

}  // namespace ferry
