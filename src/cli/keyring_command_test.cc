// `ferry secrets ...` and `ferry keys init|status|rotate|policy` in-process, on a SQLite store and
// a key directory in a scratch directory, with the fake clock of the test Env for the policy's
// periods.
#include <sys/stat.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "cli/cli_test_util.h"
#include "harness/process.h"
#include "store/store.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kDay = 86'400'000'000;

class KeyringCommandTest : public testing::CliFileTest {
 protected:
  void SetUp() override {
    CliFileTest::SetUp();
    env_.SetNowMicros(1'800'000'000'000'000);
    env_.SetEnvVar("USER", "alice");
    env_.SetEnvVar("FERRY_KEK_DIR", std::nullopt);
    store_ = SqliteStoreUrl(dir_ + "/ferry.db");
    keys_ = dir_ + "/keys";
  }
  testing::CliOutcome Ferry(std::vector<std::string> args) {
    args.insert(args.begin(), {"--store", store_});
    return Run(args);
  }
  testing::CliOutcome Put(const std::string& name, const std::string& value) {
    return Ferry(
        {"secrets", "put", name, "--from-file", Write("value.txt", value), "--kek-dir", keys_});
  }
  Json StatusJson() {
    auto status = Ferry({"keys", "status", "--json"});
    EXPECT_EQ(status.code, 0) << status.err;
    return Json::parse(status.out);
  }
  std::string store_, keys_;
};

TEST_F(KeyringCommandTest, SecretsPutGetListDelete) {
  auto put = Put("pg/password", "hunter2\n");
  ASSERT_EQ(put.code, 0) << put.err;
  EXPECT_THAT(put.err, HasSubstr("secret pg/password version 1 stored"));
  ASSERT_EQ(Put("pg/password", "correct horse").code, 0);
  ASSERT_EQ(Put("api", "k").code, 0);

  // The key directory is remembered by the store: no flag needed to read.
  auto get = Ferry({"secrets", "get", "pg/password"});
  ASSERT_EQ(get.code, 0) << get.err;
  EXPECT_EQ(get.out, "correct horse");

  auto list = Ferry({"secrets", "list"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("pg/password"));
  EXPECT_THAT(list.out, Not(HasSubstr("correct horse")));
  auto json = Ferry({"secrets", "list", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  const Json secrets = Json::parse(json.out)["secrets"];
  ASSERT_EQ(secrets.size(), 2u);
  EXPECT_EQ(secrets[1]["name"], "pg/password");
  EXPECT_EQ(secrets[1]["version"], 2);
  EXPECT_EQ(secrets[1]["data_key"], "secrets v1");

  ASSERT_EQ(Ferry({"secrets", "delete", "api"}).code, 0);
  auto gone = Ferry({"secrets", "get", "api"});
  EXPECT_NE(gone.code, 0);
  EXPECT_THAT(gone.err, HasSubstr("secret `api` does not exist"));

  // Each operation is an event by the user who ran it.
  auto store = Store::Open(store_).value();
  std::vector<std::string> kinds;
  const std::vector<Event> events = store->ReadEvents(0, 100).value();
  for (const Event& e : events) {
    EXPECT_EQ(e.actor, "cli:alice");
    kinds.push_back(e.kind);
  }
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"keyring.kek.created", "keyring.dek.created", "secret.put",
                                      "secret.put", "secret.put", "secret.deleted"}));
  struct stat st{};
  ASSERT_EQ(::stat((keys_ + "/kek-v1.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(KeyringCommandTest, RotateKeepsSecretsReadableAndDestroysAfterGrace) {
  ASSERT_EQ(Put("a", "1").code, 0);
  ASSERT_EQ(Put("b", "2").code, 0);
  auto kek = Ferry({"keys", "rotate", "--kek"});
  ASSERT_EQ(kek.code, 0) << kek.err;
  EXPECT_THAT(kek.out, HasSubstr("kek v1 -> v2 (1 of 1 data keys re-wrapped)"));
  auto dek = Ferry({"keys", "rotate", "--dek", "secrets"});
  ASSERT_EQ(dek.code, 0) << dek.err;
  EXPECT_EQ(dek.out, "dek:secrets v1 -> v2 (2 secrets re-encrypted)\n");
  EXPECT_EQ(Ferry({"secrets", "get", "a"}).out, "1");
  EXPECT_EQ(Ferry({"secrets", "get", "b"}).out, "2");

  Json status = StatusJson();
  ASSERT_EQ(status["keys"].size(), 4u);
  EXPECT_EQ(status["keys"][0]["state"], "retired");
  EXPECT_THAT(status["keys"][0]["note"].get<std::string>(), HasSubstr("awaiting destruction"));
  EXPECT_EQ(status["keys"][1]["state"], "active");
  EXPECT_EQ(status["keys"][3]["secrets"], 2);
  EXPECT_FALSE(status["attention"]);

  auto early = Ferry({"keys", "rotate", "--due"});
  ASSERT_EQ(early.code, 0) << early.err;
  EXPECT_EQ(early.out, "nothing due\n");
  env_.AdvanceMicros(31 * kDay);
  EXPECT_TRUE(StatusJson()["attention"]);
  auto due = Ferry({"keys", "rotate", "--due"});
  ASSERT_EQ(due.code, 0) << due.err;
  EXPECT_THAT(due.out, HasSubstr("dek:secrets v1 destroyed"));
  EXPECT_THAT(due.out, HasSubstr("kek v1 destroyed (file " + keys_ + "/kek-v1.key)"));
  EXPECT_FALSE(std::filesystem::exists(keys_ + "/kek-v1.key"));
  EXPECT_TRUE(std::filesystem::exists(keys_ + "/kek-v2.key"));
  EXPECT_EQ(Ferry({"secrets", "get", "a"}).out, "1");
  auto text = Ferry({"keys", "status"});
  EXPECT_THAT(text.out, HasSubstr("destroyed"));
}

TEST_F(KeyringCommandTest, PolicySetShowAndDueRotation) {
  ASSERT_EQ(Put("a", "1").code, 0);
  auto set = Ferry(
      {"keys", "policy", "set", "dek:secrets", "--rotate-after", "7", "--expire-after", "14"});
  ASSERT_EQ(set.code, 0) << set.err;
  auto file =
      Write("policy.json", R"({"kek": {"rotate_after_days": 100, "expire_after_days": 200}})");
  ASSERT_EQ(Ferry({"keys", "policy", "set", "--file", file}).code, 0);
  auto show = Ferry({"keys", "policy", "show"});
  ASSERT_EQ(show.code, 0) << show.err;
  const Json policies = Json::parse(show.out);
  EXPECT_EQ(policies["dek:secrets"]["rotate_after_days"], 7);
  EXPECT_EQ(policies["dek:secrets"]["destroy_after_days"], 30);
  EXPECT_EQ(policies["kek"]["expire_after_days"], 200);

  env_.AdvanceMicros(8 * kDay);
  Json status = StatusJson();
  EXPECT_TRUE(status["keys"][1]["rotation_due"]);
  EXPECT_FALSE(status["keys"][0]["rotation_due"]);
  env_.AdvanceMicros(7 * kDay);
  auto expired = Put("b", "2");
  EXPECT_NE(expired.code, 0);
  EXPECT_THAT(expired.err, HasSubstr("expired on"));
  EXPECT_THAT(Ferry({"keys", "status"}).out, HasSubstr("EXPIRED"));
  auto due = Ferry({"keys", "rotate", "--due"});
  ASSERT_EQ(due.code, 0) << due.err;
  EXPECT_EQ(due.out, "dek:secrets v1 -> v2 (1 secrets re-encrypted)\n");
  EXPECT_EQ(Put("b", "2").code, 0);

  auto bad =
      Ferry({"keys", "policy", "set", "--file", Write("bad.json", R"({"kek": {"every": 3}})")});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("unknown field `every`"));
  auto bad_key = Ferry({"keys", "policy", "set", "dek", "--rotate-after", "3"});
  EXPECT_EQ(bad_key.code, 2);
  EXPECT_THAT(bad_key.err, HasSubstr("is not a key name"));
}

TEST_F(KeyringCommandTest, ErrorsNameTheWayOut) {
  auto nothing = Ferry({"keys", "rotate"});
  EXPECT_EQ(nothing.code, 2);
  EXPECT_THAT(nothing.err, HasSubstr("--kek, --dek PURPOSE"));
  auto no_dir = Ferry({"keys", "init"});
  EXPECT_EQ(no_dir.code, 2);
  EXPECT_THAT(no_dir.err, HasSubstr("--kek-dir DIR"));
  auto init = Ferry({"keys", "init", "--kek-dir", keys_});
  ASSERT_EQ(init.code, 0) << init.err;
  auto again = Ferry({"keys", "init", "--kek-dir", keys_});
  EXPECT_NE(again.code, 0);
  EXPECT_THAT(again.err, HasSubstr("already has KEK v1"));
  ASSERT_EQ(Put("a", "1").code, 0);
  std::filesystem::remove(keys_ + "/kek-v1.key");
  auto missing = Ferry({"secrets", "get", "a"});
  EXPECT_NE(missing.code, 0);
  EXPECT_THAT(missing.err, HasSubstr("kek-v1.key is missing: restore it from its backup"));
  EXPECT_EQ(missing.out, "");
}

// The real binary, the value from standard input through a pipe, as a user types it.
TEST_F(KeyringCommandTest, BinaryPutFromStandardInput) {
  auto sh = [&](const std::string& command) {
    auto status =
        testing::RunToCompletion({.argv = {"/bin/sh", "-c", command},
                                  .stdout_path = dir_ + "/out",
                                  .stderr_path = dir_ + "/err",
                                  .env_unset = {"FERRY_STORE", "FERRY_KEK_DIR", "FERRY_CONFIG"}},
                                 std::chrono::seconds(60));
    EXPECT_TRUE(status.has_value());
    return status.has_value() ? status->exit_code : -1;
  };
  const std::string ferry = std::string(FERRY_BINARY) + " --store " + store_;
  ASSERT_EQ(sh("printf 'p@ss word\\n' | " + ferry + " secrets put db/pw --kek-dir " + keys_), 0)
      << Read(dir_ + "/err");
  ASSERT_EQ(sh(ferry + " secrets get db/pw > " + dir_ + "/value"), 0) << Read(dir_ + "/err");
  EXPECT_EQ(Read(dir_ + "/value"), "p@ss word\n");
  EXPECT_EQ(sh(ferry + " secrets get other"), 2);
}

// The KEK on a real SoftHSM2 token through the CLI: the PIN from the environment only.
TEST_F(KeyringCommandTest, TokenKekThroughTheCli) {
  constexpr const char* kModule = "/usr/lib/softhsm/libsofthsm2.so";
  if (!std::filesystem::exists(kModule) ||
      std::system("command -v softhsm2-util > /dev/null 2>&1") != 0) {
    GTEST_SKIP()
        << "SoftHSM2 is not installed (Debian package softhsm2; ./setup.sh test installs it)";
  }
  std::filesystem::create_directories(dir_ + "/tokens");
  const std::string conf =
      Write("softhsm2.conf", "directories.tokendir = " + dir_ +
                                 "/tokens\nobjectstore.backend = file\nlog.level = ERROR\n");
  ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
  ASSERT_EQ(std::system("softhsm2-util --init-token --free --label ferry-kek --pin 1234 --so-pin "
                        "5678 > /dev/null"),
            0);
  auto no_pin = Ferry({"keys", "init", "--kek-token", "ferry-kek"});
  EXPECT_EQ(no_pin.code, 2);
  EXPECT_THAT(no_pin.err, HasSubstr("no PIN"));
  env_.SetEnvVar("FERRY_PIN", "1234");
  auto init = Ferry({"keys", "init", "--kek-token", "ferry-kek"});
  ASSERT_EQ(init.code, 0) << init.err;
  EXPECT_THAT(init.err, HasSubstr("KEK v1 made (pkcs11)"));
  auto put = Ferry({"secrets", "put", "a", "--from-file", Write("v", "token-held")});
  ASSERT_EQ(put.code, 0) << put.err;
  // The token is found from the store's record: only the PIN is needed.
  EXPECT_EQ(Ferry({"secrets", "get", "a"}).out, "token-held");
  auto rotated = Ferry({"keys", "rotate", "--kek"});
  ASSERT_EQ(rotated.code, 0) << rotated.err;
  EXPECT_THAT(Ferry({"keys", "status"}).out, HasSubstr("token ferry-kek key ferry-kek-v2"));
  env_.SetEnvVar("FERRY_PIN", "9999");
  auto wrong = Ferry({"secrets", "get", "a"});
  EXPECT_EQ(wrong.code, 2);
  EXPECT_THAT(wrong.err, HasSubstr("CKR_PIN_INCORRECT"));
  EXPECT_EQ(wrong.out, "");
  ::unsetenv("SOFTHSM2_CONF");
}

}  // namespace
}  // namespace ferry
