#include "harness/shared_servers.h"

#include <memory>
#include <mutex>
#include <optional>

namespace ferry::testing {
namespace {

// A server started once per process and stopped at exit by the static destructor, which runs
// when gtest's main returns, pass or fail. A test that calls _exit or crashes skips it: then
// PR_SET_PDEATHSIG stops the server instead.
template <typename Server>
class SharedServer {
 public:
  explicit SharedServer(std::string_view engine) : engine_(engine) {}

  Server* Get() {
    std::lock_guard lock(mu_);
    if (server_ == nullptr && !error_.has_value()) {
      Result<std::unique_ptr<Server>> started = Server::Start();
      if (started.has_value()) {
        server_ = std::move(*started);
      } else {
        error_ = started.error();
      }
    }
    if (error_.has_value()) {
      ADD_FAILURE() << "the shared " << engine_
                    << " test server could not start: " << error_->ToString();
      return nullptr;
    }
    return server_.get();
  }

 private:
  std::string engine_;
  std::mutex mu_;
  std::unique_ptr<Server> server_;  // GUARDED_BY(mu_)
  std::optional<Status> error_;     // GUARDED_BY(mu_)
};

}  // namespace

PostgresServer* SharedPostgres() {
  static SharedServer<PostgresServer> shared("PostgreSQL");
  return shared.Get();
}

MariaDbServer* SharedMariaDb() {
  static SharedServer<MariaDbServer> shared("MariaDB");
  return shared.Get();
}

std::string CurrentTestName() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr) return "no_test";
  return std::string(info->test_suite_name()) + "_" + info->name();
}

}  // namespace ferry::testing
