// Copying tables between engines: `ferry copy`.
//
// A copy is a run recorded in the state store (docs/copy.md):
//   1. Plan: every table is described and mapped, and every mapping that could lose information
//      is reported, before any row moves. A target table that holds rows is refused unless
//      --if-exists says otherwise. Target tables are created (or emptied), the source's
//      snapshot and position are taken, and each table is split into chunks by ranges of its
//      integer primary key (one chunk for a table without one, and for the file engines),
//      biggest tables first. The chunks are tasks in the store's work queue "copy:<run id>".
//   2. Load: `jobs` workers claim chunks, stream each from the source, and load it in one
//      transaction on the target that also inserts the chunk's marker row: a chunk is in the
//      target exactly once, whatever crashes in between. The chunk's row count and checksum are
//      then committed to the store.
//   3. Build: secondary indexes (in parallel), foreign keys and identity positions of the tables
//      the run created.
//   4. Verify (unless told not to): every table compared row for row (move/verify.h).
// A run that stops (an error, a crash, SIGKILL) is continued by the same command, or by
// --resume RUN_ID, from the chunks not committed.
#ifndef FERRY_MOVE_COPY_H_
#define FERRY_MOVE_COPY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "connect/connector.h"
#include "connect/schema_map.h"
#include "move/throttle.h"
#include "move/verify.h"
#include "store/store.h"

namespace ferry {

// What to do with a target table that already holds rows.
enum class IfExists { kFail, kTruncate, kAppend };
Result<IfExists> ParseIfExists(std::string_view text);

struct CopyOptions {
  std::vector<std::string> tables;  // empty: every table of the source
  IfExists if_exists = IfExists::kFail;
  std::map<std::string, std::string> casts;  // column -> target type, for every table
  bool verify = true;
  size_t batch_rows = 4096;      // rows read and written at a time: bounds memory per worker
  int jobs = 1;                  // workers loading chunks at once
  int64_t chunk_rows = 250'000;  // rows per chunk, planned from the key range and row estimate
  // --max-rate: the copy as a whole stays at or under this many rows or bytes (of the rows'
  // canonical encoding) per second, to spare a production source. Default: no limit.
  RateLimit max_rate;
  Env* env = nullptr;  // clock for the throttle; nullptr: Env::Default()

  // Where the run and its chunks are recorded. Required.
  Store* store = nullptr;
  // A run to continue. Empty: continue the unfinished run of the same command (same source,
  // target, tables and options), or start a new one.
  std::string resume;
  // Added to what makes two commands "the same" (e.g. a hash of a transform spec).
  std::string fingerprint_extra;

  // Called once the run is known, before any row moves (to print its id).
  std::function<void(const std::string& run_id, bool resumed)> on_run;
  // Called after each batch with the table, the rows copied so far (all chunks, including
  // those of earlier attempts), the source's estimate of its rows (-1 when unknown), and the
  // bytes copied so far (TableCopy::bytes). Calls are serialised.
  std::function<void(const std::string& table, int64_t rows, int64_t estimated_rows, int64_t bytes)>
      on_progress;
  // How long a worker's claim on a chunk lasts without a heartbeat; a crashed worker's chunks
  // on another host are taken over after this.
  int64_t lease_micros = 30'000'000;
  // Tests: called by a worker after each chunk is committed to the target and before the
  // store records it, the window in which a crash leaves the two disagreeing. An error makes
  // the worker behave as if it crashed there: the store is not told, the run stops.
  std::function<Status(int64_t chunk)> after_chunk_commit;
};

struct TableCopy {
  std::string table;
  TableMapping mapping;
  bool created = false;  // the target table was created by this run
  int64_t rows = 0;      // rows in the target from this run (all its attempts)
  // The size of those rows' canonical encoding (connect/canonical.h), what --max-rate counts:
  // the bytes moved, whatever either engine's storage makes of them. A chunk found in the
  // target after a crash before the store heard of it counts its rows, not its bytes.
  int64_t bytes = 0;
  int64_t chunks = 0;
  double seconds = 0;    // wall time of this process's loading, first chunk to last
  int indexes = 0;       // secondary indexes built after the load
  int foreign_keys = 0;  // foreign keys added after the load
  // What the copy did not carry to the target (an expression index, a check constraint, a
  // foreign key to a table not copied, an index the target refused), one line each.
  std::vector<std::string> not_copied;
};

struct CopyReport {
  std::string run_id;
  bool resumed = false;   // continued a run an earlier process started
  SnapshotInfo snapshot;  // the source's position when the run was planned
  std::vector<TableCopy> tables;
  std::optional<VerifyReport> verification;  // unless CopyOptions::verify is false
  // Wall time of the verification after the load (the rows were hashed during it already).
  double verification_seconds = 0;
};

// Plans, loads and verifies as described above. Errors name the table, the chunk and the way
// out; a run that fails stays resumable.
Result<CopyReport> Copy(Connector& source, Connector& target, const CopyOptions& options);

}  // namespace ferry

#endif  // FERRY_MOVE_COPY_H_
