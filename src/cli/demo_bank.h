// The demo's source database: a small bank in SQLite, with the values that are hard to move
// (NULLs, unicode, exact decimals beyond a double's precision, microsecond timestamps, blobs,
// UUIDs, JSON). Deterministic: the same `rows` always give the same database.
#ifndef FERRY_CLI_DEMO_BANK_H_
#define FERRY_CLI_DEMO_BANK_H_

#include <cstdint>
#include <string>

#include "base/status.h"

namespace ferry {

struct DemoBankSize {
  int64_t customers = 0;
  int64_t accounts = 0;
  int64_t loans = 0;
  int64_t transactions = 0;
  int64_t total() const { return customers + accounts + loans + transactions; }
};

// Writes the bank to a new SQLite file at `path` (replacing one that exists), with `rows`
// transactions and customers, accounts and loans in proportion.
Result<DemoBankSize> CreateDemoBank(const std::string& path, int64_t rows);

}  // namespace ferry

#endif  // FERRY_CLI_DEMO_BANK_H_
