// The target of `ferry copy --to file:///PATH.ferry`: a Connector whose writers stream each
// table's rows, as JSON Lines, straight into an encrypted export (crypto/sealed_export.h). No
// plain row touches the disk: rows are encoded in memory and leave the process only compressed,
// encrypted and authenticated, in `PATH.ferry.partial`, renamed to `PATH.ferry` by Finish.
//
// Entries. Each table is two entries, exactly the files a `jsonl://` directory holds for it
// (the encoders are the file connector's, connect/file_connector.h): `<table>.jsonl` and
// `<table>.schema.json`. So `ferry crypto open` of an export gives the directory that `ferry copy
// --to jsonl://DIR` would have written, and a restore reads it with the jsonl connector.
//
// One entry at a time. The archive takes one entry at a time and cannot take back half of one,
// so writers share it as follows (docs/crypto.md, "Exports from ferry copy"):
//   - a writer buffers its table's JSON Lines in memory; a table that fits in
//     `stream_after_bytes` is written whole at Commit, under the export's entry lock, so a
//     writer abandoned before Commit (a failed read, a chunk retried) leaves nothing;
//   - a bigger table takes the entry lock when its buffer reaches that size (if no other
//     writer holds it) and from then on streams: its entry is open in the archive until
//     Commit. Abandoning such a writer breaks the export: every later call fails with an error
//     naming the table, Finish is refused, and the `.partial` file is removed when the target
//     is destroyed. An export is written whole in one run or not at all;
//   - a writer that finds the entry lock held keeps buffering up to `max_buffer_bytes`, then
//     waits for it.
// Compression and encryption run on a sealing thread fed by a bounded queue of buffers, so the
// copy's workers go on reading while the previous megabyte is sealed.
//
// Checksums. Each writer hashes the rows it encodes (canonical encoding and ChunkChecksum,
// connect/canonical.h) after bringing each value to its column's kind, as a reader of the
// entry will decode it. Finish puts the per-table row counts and checksums in the signed
// manifest's extra JSON under "tables"; VerifyAgainstSource compares a fresh scan of the source
// with them.
//
// Thread-safety: as Connector. Writers belong to one thread each; Finish and
// VerifyAgainstSource are called once every writer is gone.
#ifndef FERRY_CLI_EXPORT_TARGET_H_
#define FERRY_CLI_EXPORT_TARGET_H_

#include <memory>
#include <string>
#include <vector>

#include "base/json.h"
#include "connect/canonical.h"
#include "connect/connector.h"
#include "crypto/identity.h"
#include "move/verify.h"

namespace ferry {

struct ExportTargetOptions {
  // A writer's JSON Lines held in memory before it takes the export's entry and streams. Bigger
  // means more tables survive a retry, at that much memory per worker.
  size_t stream_after_bytes = size_t{8} << 20;
  // While another writer holds the entry, a writer buffers up to this much, then waits.
  size_t max_buffer_bytes = size_t{64} << 20;
  // The archive's chunk size (1 KiB to 32 MiB): memory of the sealing thread.
  size_t chunk_bytes = size_t{1} << 20;
  // Buffers (of about chunk_bytes) queued for the sealing thread before writers wait.
  size_t queued_buffers = 8;
};

// A table as written into the export.
struct ExportedTable {
  TableInfo table;  // its columns as written (the schema entry)
  int64_t rows = 0;
  ChunkChecksum checksum;  // of the rows written, in the columns' kinds
  std::string data_entry;  // "<table>.jsonl"
  std::string schema_entry;
};

class ExportTarget : public Connector {
 public:
  // Creates `path`.partial (refused when `path` or the partial file exists) and writes the
  // export's header for `recipients`, signed later by `signer`.
  [[nodiscard]] static Result<std::unique_ptr<ExportTarget>> Create(
      const std::string& path, const std::vector<crypto::PublicIdentity>& recipients,
      const crypto::Identity& signer, const ExportTargetOptions& options = {});

  // Tables written so far, in the order they were committed.
  virtual std::vector<ExportedTable> tables() const = 0;

  // Scans every written table of `source` (the connector the copy read) and compares its rows,
  // in the written columns and kinds, with what was written: row counts and checksums. Cannot
  // list differing rows: the written rows are not read back. `jobs` tables at a time.
  [[nodiscard]] virtual Result<VerifyReport> VerifyAgainstSource(Connector& source, int jobs) = 0;

  // Writes the manifest (its extra JSON is `extra` plus "tables": name, rows, checksum and
  // entries of each table), signs it, syncs the file and renames it to `path`. Returns the
  // export's size in bytes. Refused when a writer broke the export.
  [[nodiscard]] virtual Result<int64_t> Finish(Json extra) = 0;
};

// The "tables" array Finish writes into the manifest's extra JSON, and its reverse (for a
// restore's check; nullopt when an export has none: one written before it was added).
Json ExportedTablesJson(const std::vector<ExportedTable>& tables);
struct ManifestTable {
  std::string table;
  int64_t rows = 0;
  ChunkChecksum checksum;
};
[[nodiscard]] Result<std::optional<std::vector<ManifestTable>>> ManifestTables(
    std::string_view extra_json);

// `row` (one value per column of `table`) with each non-NULL value whose kind differs from its
// column's brought to the column's kind through its text form, as a JSON Lines reader would read
// it back; a value that does not convert is left as it is.
void ToColumnKinds(const TableInfo& table, Row* row);

}  // namespace ferry

#endif  // FERRY_CLI_EXPORT_TARGET_H_
