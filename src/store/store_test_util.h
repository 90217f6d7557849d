// Test support for the store: opens a fresh store of each backend and gives raw SQL access to
// it (to play an attacker editing the event log, or a newer ferry writing a newer schema).
#ifndef FERRY_STORE_STORE_TEST_UTIL_H_
#define FERRY_STORE_STORE_TEST_UTIL_H_

#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "base/status.h"
#include "store/store.h"

namespace ferry::testing {

// One empty store location of a backend: a new SQLite file in a scratch directory, or a new
// database on the test binary's shared PostgreSQL server. Removed on destruction.
class StoreLocation {
 public:
  // backend: "sqlite" or "postgresql". Fails (with the missing package named) when the
  // PostgreSQL server cannot be started.
  static Result<std::unique_ptr<StoreLocation>> Create(std::string_view backend,
                                                       std::string_view name_hint);
  virtual ~StoreLocation() = default;

  virtual const std::string& url() const = 0;
  // Runs SQL directly on the database, bypassing the store.
  virtual Status Exec(std::string_view sql) = 0;
  // Disables the append-only triggers of the event log, as an attacker with write access to
  // the database would.
  virtual Status DisableEventTriggers() = 0;
};

// A fixture with a fresh store of the backend its parameter names ("sqlite" or "postgresql"),
// opened and migrated: instantiate with ::testing::Values("sqlite", "postgresql").
class StoreBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;

  std::unique_ptr<StoreLocation> location_;
  std::unique_ptr<Store> store_;
};

}  // namespace ferry::testing

#endif  // FERRY_STORE_STORE_TEST_UTIL_H_
