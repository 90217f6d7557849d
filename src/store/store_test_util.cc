#include "store/store_test_util.h"

#include <stdlib.h>

#include <sqlite3.h>

#include "base/env.h"
#include "harness/shared_servers.h"

namespace ferry::testing {
namespace {

class SqliteLocation final : public StoreLocation {
 public:
  explicit SqliteLocation(std::string dir)
      : dir_(std::move(dir)), url_(SqliteStoreUrl(dir_ + "/ferry.db")) {}
  ~SqliteLocation() override { Env::Default()->RemoveAll(dir_).IgnoreError(); }

  const std::string& url() const override { return url_; }

  Status Exec(std::string_view sql) override {
    sqlite3* db = nullptr;
    if (sqlite3_open((dir_ + "/ferry.db").c_str(), &db) != SQLITE_OK) {
      sqlite3_close(db);
      return Internal("cannot open {}", url_);
    }
    sqlite3_busy_timeout(db, 10000);
    char* message = nullptr;
    const int rc = sqlite3_exec(db, std::string(sql).c_str(), nullptr, nullptr, &message);
    Status status = rc == SQLITE_OK ? OkStatus() : InvalidArgument("{}", message ? message : "");
    sqlite3_free(message);
    sqlite3_close(db);
    return status;
  }

  Status DisableEventTriggers() override {
    return Exec(
        "DROP TRIGGER IF EXISTS ferry_events_no_update; "
        "DROP TRIGGER IF EXISTS ferry_events_no_delete;");
  }

 private:
  std::string dir_;
  std::string url_;
};

class PostgresLocation final : public StoreLocation {
 public:
  PostgresLocation(PostgresServer* server, std::string db)
      : server_(server), db_(std::move(db)), url_(server->Url(db_)) {}
  ~PostgresLocation() override { server_->DropDatabase(db_).IgnoreError(); }

  const std::string& url() const override { return url_; }
  Status Exec(std::string_view sql) override { return server_->Execute(db_, sql); }
  Status DisableEventTriggers() override {
    return Exec("ALTER TABLE ferry_events DISABLE TRIGGER USER");
  }

 private:
  PostgresServer* server_;
  std::string db_;
  std::string url_;
};

}  // namespace

Result<std::unique_ptr<StoreLocation>> StoreLocation::Create(std::string_view backend,
                                                             std::string_view name_hint) {
  if (backend == "sqlite") {
    std::string pattern =
        fmt::format("{}/ferry-store-XXXXXX", Env::Default()->GetEnvVar("TMPDIR").value_or("/tmp"));
    if (mkdtemp(pattern.data()) == nullptr) return Err(Internal("mkdtemp {} failed", pattern));
    return std::unique_ptr<StoreLocation>(std::make_unique<SqliteLocation>(pattern));
  }
  if (backend == "postgresql") {
    PostgresServer* server = SharedPostgres();
    if (server == nullptr) {
      return Err(
          Unavailable("the shared PostgreSQL test server did not start (see the failure above)"));
    }
    FERRY_ASSIGN_OR_RETURN(std::string db, server->CreateDatabase(name_hint));
    return std::unique_ptr<StoreLocation>(std::make_unique<PostgresLocation>(server, db));
  }
  return Err(InvalidArgument("unknown backend {}", backend));
}

void StoreBackendTest::SetUp() {
  auto location = StoreLocation::Create(
      GetParam(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
  ASSERT_TRUE(location.has_value()) << location.error().ToString();
  location_ = std::move(location).value();
  auto store = Store::Open(location_->url());
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  store_ = std::move(store).value();
}

}  // namespace ferry::testing
