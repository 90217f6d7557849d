// Copying tables between engines: `ferry copy`.
//
// This first version copies table by table, each in one transaction on the target (a table is
// loaded entirely or not at all), after reporting every type mapping that could lose
// information, and verifies the result (move/verify.h) unless asked not to. Chunked parallel
// loading through the state store's work queue, resume, and transforms come next
// (docs/copy.md, "Limits").
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

namespace ferry {

// What to do with a target table that already holds rows.
enum class IfExists { kFail, kTruncate, kAppend };
Result<IfExists> ParseIfExists(std::string_view text);

struct CopyOptions {
  std::vector<std::string> tables;  // empty: every table of the source
  IfExists if_exists = IfExists::kFail;
  std::map<std::string, std::string> casts;  // column -> target type, for every table
  bool verify = true;
  size_t batch_rows = 4096;  // rows read and written at a time: bounds memory per table
  // --max-rate: the copy as a whole stays at or under this many rows or bytes (of the rows'
  // canonical encoding) per second, to spare a production source. Default: no limit.
  RateLimit max_rate;
  Env* env = nullptr;  // clock for the throttle; nullptr: Env::Default()
  // Called after each batch with the table, the rows copied so far, and the source's estimate
  // of its rows (-1 when unknown); for progress display.
  std::function<void(const std::string& table, int64_t rows, int64_t estimated_rows)> on_progress;
};

struct TableCopy {
  std::string table;
  TableMapping mapping;
  bool created = false;  // the target table was created by this copy
  int64_t rows = 0;
  double seconds = 0;
};

struct CopyReport {
  std::vector<TableCopy> tables;
  std::optional<VerifyReport> verification;  // unless CopyOptions::verify is false
};

// Plans every table first (mappings, risks, target state), refusing before any row moves when
// a target table holds rows and if_exists is kFail; then copies table by table.
Result<CopyReport> Copy(Connector& source, Connector& target, const CopyOptions& options);

}  // namespace ferry

#endif  // FERRY_MOVE_COPY_H_
