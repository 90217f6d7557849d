// `ferry serve` as users run it: the real binary, started with a key made by `ferry api-key
// create`, answering the CLI's remote mode (`ferry --server URL run ...`) and stopping cleanly
// on SIGTERM. `ferry api-key list|revoke` on the local store.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "cli/cli_test_util.h"
#include "harness/process.h"
#include "server/client.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;

class ServeCommandTest : public testing::CliFileTest {
 protected:
  std::string Store() { return "sqlite://" + dir_ + "/ferry.db"; }
  testing::CliOutcome Local(std::vector<std::string> args) {
    args.insert(args.begin(), {"--store", Store()});
    return Run(args);
  }
};

TEST_F(ServeCommandTest, ServesTheApiAndTheCliTalksToIt) {
  auto made = Local({"--json", "api-key", "create", "alice", "--role", "admin"});
  ASSERT_EQ(made.code, 0) << made.err;
  const std::string key = (*ParseJson(made.out, "key"))["key"];
  ASSERT_TRUE(key.starts_with("fry_"));
  auto viewer =
      Local({"--json", "api-key", "create", "bob", "--role", "viewer", "--expires-days", "0"});
  ASSERT_EQ(viewer.code, 0) << viewer.err;
  const std::string viewer_key = (*ParseJson(viewer.out, "key"))["key"];

  auto port = Env::Default()->FreeLoopbackPort();
  ASSERT_TRUE(port.has_value());
  const std::string url = fmt::format("http://127.0.0.1:{}", *port);
  auto server = testing::Subprocess::Spawn(
      {.argv = {FERRY_BINARY, "--store", Store(), "--log-level", "warn", "serve", "--listen",
                fmt::format("127.0.0.1:{}", *port), "--workers", "1"},
       .stdout_path = dir_ + "/serve.out",
       .stderr_path = dir_ + "/serve.err",
       .working_dir = dir_,
       .env_unset = {"FERRY_STORE", "FERRY_CONFIG"},
       .parent_death_signal = SIGKILL});
  ASSERT_TRUE(server.has_value()) << server.error().ToString();
  auto client = server::ApiClient::Create(url, {.api_key = key});
  ASSERT_TRUE(client.has_value());
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    auto reply = (*client)->Send("GET", "/health/ready");
    up = reply.has_value() && reply->status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(up) << testing::ReadFileTail(dir_ + "/serve.err");

  // A run started through the API, read back through the CLI's remote mode.
  const std::string spec =
      "run: remote\nphases:\n  - name: check\n    approval: admin\n    tasks:\n      - {id: "
      "disk, type: check.disk, with: {path: /tmp, free: 1}}\n";
  auto started = (*client)->Send("POST", "/api/v1/runs", spec, "application/yaml");
  ASSERT_TRUE(started.has_value());
  ASSERT_EQ(started->status, 201) << started->body;
  const std::string id = (*ParseJson(started->body, "id"))["id"];

  auto status = Run({"--server", url, "--api-key", viewer_key, "run", "status", id});
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("run " + id + " (remote)"));
  EXPECT_THAT(status.out, HasSubstr("disk"));
  env_.SetEnvVar("FERRY_API_KEY", viewer_key);
  auto list = Run({"--server", url, "--json", "run", "list"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_EQ((*ParseJson(list.out, "list"))["runs"][0]["id"], id);
  // The viewer may not cancel; the admin may.
  auto refused = Run({"--server", url, "run", "cancel", id});
  EXPECT_EQ(refused.code, kExitUsage);
  EXPECT_THAT(refused.err, HasSubstr("needs the operator role"));
  auto cancelled = Run({"--server", url, "--api-key", key, "--json", "run", "cancel", id});
  ASSERT_EQ(cancelled.code, 0) << cancelled.err;
  EXPECT_EQ((*ParseJson(cancelled.out, "run"))["state"], "cancelled");
  auto missing = Run({"--server", url, "run", "status", "run-nope"});
  EXPECT_EQ(missing.code, kExitUsage);
  EXPECT_THAT(missing.err, HasSubstr("server " + url));
  env_.SetEnvVar("FERRY_API_KEY", "fry_0000000000000000_" + std::string(64, '0'));
  auto bad_key = Run({"--server", url, "run", "list"});
  EXPECT_NE(bad_key.code, 0);
  EXPECT_THAT(bad_key.err, HasSubstr("no API key has id 0000000000000000"));
  // Commands without a remote form say so.
  auto local_only = Run({"--server", url, "store", "status"});
  EXPECT_EQ(local_only.code, kExitUsage);
  EXPECT_THAT(local_only.err, HasSubstr("runs here, not on a server"));

  auto stopped = (*server)->Stop(SIGTERM, std::chrono::seconds(10));
  ASSERT_TRUE(stopped.has_value());
  EXPECT_TRUE(stopped->success()) << stopped->ToString()
                                  << testing::ReadFileTail(dir_ + "/serve.err");
  EXPECT_THAT(Read(dir_ + "/serve.out"), HasSubstr("ferry serving " + url));
  auto unreachable = Run({"--server", url, "run", "list"});
  EXPECT_EQ(unreachable.code, kExitRuntime);
  EXPECT_THAT(unreachable.err, HasSubstr("that `ferry serve` runs there"));
}

TEST_F(ServeCommandTest, ApiKeysAreListedAndRevokedLocally) {
  auto made =
      Local({"--json", "api-key", "create", "ci", "--role", "operator", "--expires-days", "7"});
  ASSERT_EQ(made.code, 0) << made.err;
  Json key = *ParseJson(made.out, "key");
  auto list = Local({"api-key", "list"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr(key["id"].get<std::string>()));
  EXPECT_THAT(list.out, HasSubstr("active"));
  EXPECT_THAT(list.out, ::testing::Not(HasSubstr(key["key"].get<std::string>().substr(21))));
  auto twice = Local({"api-key", "create", "ci", "--role", "viewer"});
  EXPECT_EQ(twice.code, kExitUsage);
  EXPECT_THAT(twice.err, HasSubstr("in force already"));
  auto revoked = Local({"api-key", "revoke", key["id"]});
  ASSERT_EQ(revoked.code, 0) << revoked.err;
  EXPECT_THAT(Local({"api-key", "list"}).out, HasSubstr("revoked"));
  auto bad_role = Local({"api-key", "create", "x", "--role", "boss"});
  EXPECT_EQ(bad_role.code, kExitUsage);
  EXPECT_THAT(bad_role.err, HasSubstr("expected admin, operator or viewer"));
  auto bad_name = Local({"api-key", "create", "a b", "--role", "viewer"});
  EXPECT_EQ(bad_name.code, kExitUsage);
  auto no_server = Local({"run", "status", "x"});
  EXPECT_NE(no_server.code, 0);
  auto bad_listen = Local({"serve", "--listen", "nowhere"});
  EXPECT_EQ(bad_listen.code, kExitUsage);
  EXPECT_THAT(bad_listen.err, HasSubstr("expected HOST:PORT"));
}

}  // namespace
}  // namespace ferry
