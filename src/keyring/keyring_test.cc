// The keyring against real components: a SQLite and a PostgreSQL store (the store's test
// harness), KEK files in a scratch directory, SoftHSM2 tokens for the token KEK, and the fake
// clock of FaultInjectionEnv for the policy's periods. Every test reads back through a fresh
// Keyring (nothing cached) so that what is proved readable is what the store and the KEK hold.
#include "keyring/keyring.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/pkcs11.h"
#include "crypto/random.h"
#include "store/store_test_util.h"

namespace ferry::keyring {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

constexpr int64_t kDay = 86'400'000'000;
constexpr int64_t kStart = 1'800'000'000'000'000;  // 2027-01-15

std::string Text(const crypto::SecretBytes& bytes) { return std::string(crypto::AsText(bytes)); }

// Fails the `nth` call (1-based) of step `step` with kUnavailable, as a crash there would stop it.
std::function<Status(std::string_view)> FailAt(std::string step, int nth) {
  auto count = std::make_shared<int>(0);
  return [step, nth, count](std::string_view at) -> Status {
    if (at == step && ++*count == nth) return Unavailable("injected failure at {}", at);
    return OkStatus();
  };
}

class KeyringTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    auto location = testing::StoreLocation::Create(GetParam(), name);
    ASSERT_TRUE(location.has_value()) << location.error().ToString();
    location_ = std::move(location).value();
    env_.SetNowMicros(kStart);
    auto store = Store::Open(location_->url(), {.env = &env_});
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(store).value();
    char pattern[] = "/tmp/ferry-keyring-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    files_ = NewFileKekProvider(&env_, dir_ + "/keys");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Keyring> Open(std::function<Status(std::string_view)> fault = nullptr) {
    auto keyring = Keyring::Open({.store = store_.get(),
                                  .providers = {files_.get()},
                                  .env = &env_,
                                  .actor = "test:alice",
                                  .fault_point = std::move(fault)});
    EXPECT_TRUE(keyring.has_value());
    return std::move(keyring).value();
  }

  // Every secret read back through a fresh keyring.
  std::map<std::string, std::string> ReadAll() {
    std::unique_ptr<Keyring> fresh = Open();
    std::map<std::string, std::string> values;
    const auto items_1 = fresh->ListSecrets().value();
    for (const SecretRecord& s : items_1) {
      auto value = fresh->GetSecret(s.name);
      EXPECT_TRUE(value.has_value()) << s.name << ": " << value.error().ToString();
      if (value.has_value()) values[s.name] = Text(*value);
    }
    return values;
  }

  std::map<std::string, std::string> PutMany(Keyring& keyring, int n) {
    std::map<std::string, std::string> values;
    for (int i = 0; i < n; ++i) {
      const std::string name = fmt::format("db/password-{:03}", i);
      const std::string value = fmt::format("s3cret-{}-{}", i, std::string(i % 7, 'x'));
      EXPECT_TRUE(keyring.PutSecret(name, crypto::AsBytes(value)).has_value());
      values[name] = value;
    }
    return values;
  }

  std::vector<std::string> EventKinds() {
    std::vector<std::string> kinds;
    const auto items_2 = store_->ReadEvents(0, 100000).value();
    for (const Event& e : items_2) {
      EXPECT_EQ(e.actor, "test:alice") << e.kind;
      kinds.push_back(e.kind);
    }
    return kinds;
  }

  std::string KeyFile(int64_t version) { return dir_ + "/keys/" + KekFileName(version); }

  FaultInjectionEnv env_{Env::Default()};
  std::unique_ptr<testing::StoreLocation> location_;
  std::unique_ptr<Store> store_;
  std::string dir_;
  std::unique_ptr<KekProvider> files_;
};

TEST_P(KeyringTest, SecretsRoundTripWithVersionsAndEvents) {
  std::unique_ptr<Keyring> keyring = Open();
  EXPECT_EQ(keyring->PutSecret("pg/password", crypto::AsBytes("hunter2")).value(), 1);
  EXPECT_EQ(keyring->PutSecret("pg/password", crypto::AsBytes("correct horse")).value(), 2);
  const std::string binary("\x00\xff\x01 binary", 10);
  EXPECT_EQ(keyring->PutSecret("blob", crypto::AsBytes(binary)).value(), 1);
  EXPECT_EQ(keyring->PutSecret("empty", {}).value(), 1);

  EXPECT_EQ(ReadAll(), (std::map<std::string, std::string>{
                           {"blob", binary}, {"empty", ""}, {"pg/password", "correct horse"}}));
  auto listed = keyring->ListSecrets().value();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[2].name, "pg/password");
  EXPECT_EQ(listed[2].version, 2);
  EXPECT_EQ(listed[2].dek_version, 1);
  for (const SecretRecord& s : listed) EXPECT_TRUE(s.sealed.empty()) << "a listing has no values";

  // The store holds neither the value nor the data key in clear.
  auto raw = store_->GetSecret("pg/password").value();
  ASSERT_TRUE(raw.has_value());
  EXPECT_THAT(raw->sealed, ::testing::Not(HasSubstr(crypto::Hex(crypto::AsBytes("correct")))));

  ASSERT_TRUE(keyring->DeleteSecret("blob").ok());
  EXPECT_EQ(keyring->GetSecret("blob").error().code(), StatusCode::kNotFound);
  EXPECT_THAT(keyring->GetSecret("blob").error().message(), HasSubstr("ferry secrets list"));
  EXPECT_EQ(keyring->DeleteSecret("blob").code(), StatusCode::kNotFound);
  EXPECT_EQ(keyring->PutSecret("bad name", crypto::AsBytes("x")).error().code(),
            StatusCode::kInvalidArgument);

  EXPECT_EQ(EventKinds(),
            (std::vector<std::string>{"keyring.kek.created", "keyring.dek.created", "secret.put",
                                      "secret.put", "secret.put", "secret.put", "secret.deleted"}));
  EXPECT_TRUE(store_->VerifyEventLog().value().intact);

  struct stat st{};
  ASSERT_EQ(::stat(KeyFile(1).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
}

TEST_P(KeyringTest, KekRotationRewrapsKeysAndLeavesValuesUntouched) {
  std::unique_ptr<Keyring> keyring = Open();
  const auto values = PutMany(*keyring, 5);
  const std::string before = store_->GetSecret("db/password-003").value()->sealed;

  auto report = keyring->RotateKek();
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_THAT(report->actions.at(0), HasSubstr("kek v1 -> v2 (1 of 1 data keys re-wrapped"));
  EXPECT_EQ(store_->GetSecret("db/password-003").value()->sealed, before);  // data untouched
  EXPECT_EQ(ReadAll(), values);
  auto rows = store_->ReadKeyring().value();
  ASSERT_EQ(rows.keks.size(), 2u);
  EXPECT_EQ(rows.keks[0].state, "retired");
  EXPECT_EQ(rows.keks[1].state, "active");
  EXPECT_EQ(rows.wraps.size(), 2u);  // under v1 (kept for the grace period) and v2

  // Readable with the new KEK alone: the retired key file is not needed.
  ASSERT_EQ(::rename(KeyFile(1).c_str(), (KeyFile(1) + ".aside").c_str()), 0);
  EXPECT_EQ(ReadAll(), values);
  ASSERT_EQ(::rename((KeyFile(1) + ".aside").c_str(), KeyFile(1).c_str()), 0);

  // Within the grace period nothing is destroyed; after it, --due destroys v1.
  env_.AdvanceMicros(29 * kDay);
  EXPECT_TRUE(keyring->RotateDue().value().actions.empty());
  env_.AdvanceMicros(2 * kDay);
  auto due = keyring->RotateDue();
  ASSERT_TRUE(due.has_value()) << due.error().ToString();
  EXPECT_THAT(due->actions, ::testing::ElementsAre(HasSubstr("kek v1 destroyed")));
  EXPECT_FALSE(std::filesystem::exists(KeyFile(1)));
  rows = store_->ReadKeyring().value();
  EXPECT_EQ(rows.keks[0].state, "destroyed");
  EXPECT_EQ(rows.wraps.size(), 1u);
  EXPECT_EQ(ReadAll(), values);
  const auto kinds = EventKinds();
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "keyring.kek.rotated"), 1);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "keyring.kek.retired"), 1);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "keyring.kek.destroyed"), 1);
}

TEST_P(KeyringTest, DekRotationReencryptsEveryValue) {
  std::unique_ptr<Keyring> keyring = Open();
  const auto values = PutMany(*keyring, 150);  // more than one re-encryption batch
  const std::string before = store_->GetSecret("db/password-010").value()->sealed;
  auto report = keyring->RotateDek("secrets");
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_EQ(report->actions.at(0), "dek:secrets v1 -> v2 (150 secrets re-encrypted)");
  const auto items_3 = store_->ListSecrets(true).value();
  for (const SecretRecord& s : items_3) EXPECT_EQ(s.dek_version, 2);
  EXPECT_NE(store_->GetSecret("db/password-010").value()->sealed, before);
  EXPECT_EQ(store_->GetSecret("db/password-010").value()->version, 1);  // same value version
  EXPECT_EQ(ReadAll(), values);
  // A new put goes under v2; v1 is destroyed after its grace period, with its wrapping.
  EXPECT_EQ(keyring->PutSecret("later", crypto::AsBytes("v")).value(), 1);
  EXPECT_EQ(store_->GetSecret("later").value()->dek_version, 2);
  env_.AdvanceMicros(31 * kDay);
  auto due = keyring->RotateDue();
  ASSERT_TRUE(due.has_value()) << due.error().ToString();
  EXPECT_THAT(due->actions, ::testing::ElementsAre("dek:secrets v1 destroyed"));
  auto rows = store_->ReadKeyring().value();
  EXPECT_EQ(rows.deks[0].state, "destroyed");
  for (const DekWrapRecord& w : rows.wraps) EXPECT_EQ(w.dek_version, 2);
  auto all = ReadAll();
  EXPECT_EQ(all.erase("later"), 1u);
  EXPECT_EQ(all, values);
}

TEST_P(KeyringTest, InterruptedKekRotationStaysReadableAndResumes) {
  std::unique_ptr<Keyring> keyring = Open();
  const auto values = PutMany(*keyring, 4);
  ASSERT_TRUE(keyring->RotateDek("secrets").has_value());  // two live data keys: v1 retired, v2
  auto rows = store_->ReadKeyring().value();
  ASSERT_EQ(rows.deks.size(), 2u);

  // Stopped after the first data key was re-wrapped under the new KEK.
  auto stopped = Open(FailAt("kek.rewrap", 2))->RotateKek();
  ASSERT_FALSE(stopped.has_value());
  EXPECT_THAT(stopped.error().message(), HasSubstr("injected failure"));
  rows = store_->ReadKeyring().value();
  EXPECT_EQ(rows.keks[1].state, "pending");
  EXPECT_EQ(ReadAll(), values);
  // A put meanwhile still works, under the active KEK's data key.
  ASSERT_TRUE(keyring->PutSecret("db/password-000", crypto::AsBytes("changed")).has_value());
  auto expected = values;
  expected["db/password-000"] = "changed";
  EXPECT_EQ(ReadAll(), expected);

  // Running it again finishes the same rotation (v2, not a v3).
  auto resumed = Open()->RotateKek();
  ASSERT_TRUE(resumed.has_value()) << resumed.error().ToString();
  EXPECT_THAT(resumed->actions.at(0), HasSubstr("kek v1 -> v2 (1 of 2 data keys re-wrapped"));
  rows = store_->ReadKeyring().value();
  ASSERT_EQ(rows.keks.size(), 2u);
  EXPECT_EQ(rows.keks[1].state, "active");
  EXPECT_EQ(ReadAll(), expected);

  // Stopped at activation, then at destruction: each time readable, and re-runnable.
  auto at_activate = Open(FailAt("kek.activate", 1))->RotateKek();
  ASSERT_FALSE(at_activate.has_value());
  EXPECT_EQ(ReadAll(), expected);
  ASSERT_TRUE(Open()->RotateKek().has_value());
  env_.AdvanceMicros(31 * kDay);
  ASSERT_FALSE(Open(FailAt("kek.destroy", 1))->RotateDue().has_value());
  EXPECT_EQ(ReadAll(), expected);
  auto due = Open()->RotateDue();
  ASSERT_TRUE(due.has_value()) << due.error().ToString();
  EXPECT_EQ(ReadAll(), expected);
  rows = store_->ReadKeyring().value();
  EXPECT_EQ(rows.keks[0].state, "destroyed");
  EXPECT_EQ(rows.keks[1].state, "destroyed");
  EXPECT_EQ(rows.keks[2].state, "active");
}

TEST_P(KeyringTest, InterruptedDekRotationStaysReadableAndResumes) {
  std::unique_ptr<Keyring> keyring = Open();
  const auto values = PutMany(*keyring, 100);
  // Stopped after the first batch of re-encrypted values was committed.
  auto stopped = Open(FailAt("dek.reseal", 2))->RotateDek("secrets");
  ASSERT_FALSE(stopped.has_value());
  int64_t moved = 0;
  const auto items_4 = store_->ListSecrets(false).value();
  for (const SecretRecord& s : items_4) moved += s.dek_version == 2;
  EXPECT_EQ(moved, 64);
  EXPECT_EQ(ReadAll(), values);
  EXPECT_EQ(keyring->PutSecret("fresh", crypto::AsBytes("x")).value(), 1);  // under v1 still
  auto expected = values;
  expected["fresh"] = "x";

  auto resumed = Open()->RotateDek("secrets");
  ASSERT_TRUE(resumed.has_value()) << resumed.error().ToString();
  EXPECT_EQ(resumed->actions.at(0), "dek:secrets v1 -> v2 (37 secrets re-encrypted)");
  const auto items_5 = store_->ListSecrets(false).value();
  for (const SecretRecord& s : items_5) EXPECT_EQ(s.dek_version, 2);
  EXPECT_EQ(ReadAll(), expected);
  auto rows = store_->ReadKeyring().value();
  ASSERT_EQ(rows.deks.size(), 2u);
  EXPECT_EQ(rows.deks[1].state, "active");
}

// A key file left by a rotation that stopped before the store named it is replaced, not used.
TEST_P(KeyringTest, AnOrphanKeyFileFromAStoppedRotationIsReplaced) {
  std::unique_ptr<Keyring> keyring = Open();
  const auto values = PutMany(*keyring, 3);
  ASSERT_TRUE(env_.WriteFileAtomic(KeyFile(2), std::string(32, 'x')).ok());
  auto rotated = keyring->RotateKek();
  ASSERT_TRUE(rotated.has_value()) << rotated.error().ToString();
  EXPECT_NE(env_.ReadFile(KeyFile(2)).value(), std::string(32, 'x'));
  ASSERT_TRUE(env_.RemoveAll(KeyFile(1)).ok());  // only v2 left
  EXPECT_EQ(ReadAll(), values);
}

TEST_P(KeyringTest, TamperedRowsAreRefusedByName) {
  std::unique_ptr<Keyring> keyring = Open();
  PutMany(*keyring, 2);
  const std::string a = store_->GetSecret("db/password-000").value()->sealed;
  const std::string b = store_->GetSecret("db/password-001").value()->sealed;
  // A value moved from one name to another does not open: the name is associated data.
  ASSERT_TRUE(location_
                  ->Exec(fmt::format("UPDATE ferry_secrets SET sealed = '{}' WHERE name = "
                                     "'db/password-000'",
                                     b))
                  .ok());
  auto swapped = Open()->GetSecret("db/password-000");
  ASSERT_FALSE(swapped.has_value());
  EXPECT_EQ(swapped.error().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(swapped.error().message(),
              HasSubstr("secret `db/password-000` v1: its ciphertext does not verify"));
  // One flipped bit.
  std::string flipped = a;
  flipped[40] = flipped[40] == '0' ? '1' : '0';
  ASSERT_TRUE(location_
                  ->Exec(fmt::format("UPDATE ferry_secrets SET sealed = '{}' WHERE name = "
                                     "'db/password-000'",
                                     flipped))
                  .ok());
  EXPECT_EQ(Open()->GetSecret("db/password-000").error().code(), StatusCode::kUnauthenticated);
  // A rolled-back version number.
  ASSERT_TRUE(location_
                  ->Exec(fmt::format("UPDATE ferry_secrets SET sealed = '{}', version = 2 "
                                     "WHERE name = 'db/password-000'",
                                     a))
                  .ok());
  EXPECT_EQ(Open()->GetSecret("db/password-000").error().code(), StatusCode::kUnauthenticated);
  // An altered data-key wrapping.
  const std::string wrap = store_->ReadKeyring().value().wraps.at(0).wrapped;
  std::string bad_wrap = wrap;
  bad_wrap[30] = bad_wrap[30] == 'a' ? 'b' : 'a';
  ASSERT_TRUE(
      location_->Exec(fmt::format("UPDATE ferry_keyring_wraps SET wrapped = '{}'", bad_wrap)).ok());
  auto unwrapped = Open()->GetSecret("db/password-001");
  ASSERT_FALSE(unwrapped.has_value());
  EXPECT_EQ(unwrapped.error().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(unwrapped.error().message(), HasSubstr("data key secrets v1: KEK v1 (file " +
                                                     KeyFile(1) + ") does not open this wrapping"));
}

TEST_P(KeyringTest, WrongMissingOrDamagedKekFileIsNamed) {
  std::unique_ptr<Keyring> keyring = Open();
  PutMany(*keyring, 1);
  const std::string name = "db/password-000";
  // Another key in the file.
  auto other = crypto::RandomSecret(32).value();
  ASSERT_TRUE(env_.WriteFileAtomic(KeyFile(1), crypto::AsText(other.view())).ok());
  auto wrong = Open()->GetSecret(name);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(wrong.error().message(), HasSubstr("the file holds another key"));
  // A truncated file.
  ASSERT_TRUE(env_.WriteFileAtomic(KeyFile(1), "short").ok());
  auto damaged = Open()->GetSecret(name);
  EXPECT_EQ(damaged.error().code(), StatusCode::kDataLoss);
  EXPECT_THAT(damaged.error().message(), HasSubstr("holds 5 bytes, not the 32"));
  // No file.
  ASSERT_TRUE(env_.RemoveAll(KeyFile(1)).ok());
  auto missing = Open()->GetSecret(name);
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.error().message(),
              HasSubstr("KEK v1: key file " + KeyFile(1) + " is missing: restore it"));
}

TEST_P(KeyringTest, MovedKeyDirectoryIsFoundThroughTheProviderDirectory) {
  std::unique_ptr<Keyring> keyring = Open();
  PutMany(*keyring, 1);
  std::filesystem::rename(dir_ + "/keys", dir_ + "/moved");
  files_ = NewFileKekProvider(&env_, dir_ + "/moved");
  EXPECT_EQ(Text(Open()->GetSecret("db/password-000").value()), "s3cret-0-");
}

TEST_P(KeyringTest, PolicyDrivesStatusExpiryAndDueRotation) {
  std::unique_ptr<Keyring> keyring = Open();
  PutMany(*keyring, 3);
  auto status = keyring->KeyStatus().value();
  ASSERT_EQ(status.size(), 2u);
  EXPECT_EQ(status[0].key, "kek");
  EXPECT_EQ(status[1].key, "dek:secrets");
  EXPECT_EQ(status[1].secrets, 3);
  EXPECT_EQ(status[1].where, "wrapped under KEK v1");
  EXPECT_FALSE(status[1].rotation_due);
  EXPECT_TRUE(keyring->RotateDue().value().actions.empty());

  env_.AdvanceMicros(90 * kDay);  // the data key's default rotation period
  status = keyring->KeyStatus().value();
  EXPECT_EQ(status[1].age_days, 90);
  EXPECT_TRUE(status[1].rotation_due);
  EXPECT_FALSE(status[1].expired);
  EXPECT_FALSE(status[0].rotation_due);
  env_.AdvanceMicros(90 * kDay);  // expired: no new value under it, reading still works
  auto put = keyring->PutSecret("x", crypto::AsBytes("y"));
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(put.error().message(),
              HasSubstr("data key secrets v1 expired on 2027-07-14 (policy dek:secrets: "
                        "expire_after_days 180)"));
  EXPECT_EQ(Text(keyring->GetSecret("db/password-001").value()), "s3cret-1-x");

  auto due = keyring->RotateDue();
  ASSERT_TRUE(due.has_value()) << due.error().ToString();
  EXPECT_THAT(due->actions,
              ::testing::ElementsAre("dek:secrets v1 -> v2 (3 secrets re-encrypted)"));
  EXPECT_TRUE(keyring->PutSecret("x", crypto::AsBytes("y")).has_value());
  status = keyring->KeyStatus().value();
  EXPECT_EQ(status[1].state, "retired");
  EXPECT_EQ(status[1].destroy_at_micros, env_.NowMicros() + 30 * kDay);
  EXPECT_FALSE(status[1].destruction_due);

  // A stored policy: the KEK every 10 days, data keys kept 0 days once retired.
  ASSERT_TRUE(
      keyring
          ->SetPolicies(
              {{"kek", {.rotate_after_days = 10, .expire_after_days = 20, .destroy_after_days = 0}},
               {"dek:*",
                {.rotate_after_days = 365, .expire_after_days = 0, .destroy_after_days = 0}}})
          .ok());
  EXPECT_EQ(keyring->PolicyFor("dek:other").value().rotate_after_days, 365);
  due = keyring->RotateDue();
  ASSERT_TRUE(due.has_value()) << due.error().ToString();
  EXPECT_THAT(due->actions,
              ::testing::ElementsAre(HasSubstr("kek v1 -> v2"), "dek:secrets v1 destroyed",
                                     HasSubstr("kek v1 destroyed")));
  EXPECT_EQ(ReadAll().size(), 4u);
  const auto kinds = EventKinds();
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "keyring.policy.set"), 2);
  EXPECT_TRUE(store_->VerifyEventLog().value().intact);
}

TEST_P(KeyringTest, ConcurrentChangeOfASecretIsRefused) {
  std::unique_ptr<Keyring> keyring = Open();
  PutMany(*keyring, 1);
  SecretRecord stale = store_->GetSecret("db/password-000").value().value();
  ASSERT_TRUE(keyring->PutSecret("db/password-000", crypto::AsBytes("new")).has_value());
  KeyringWrite write;
  write.secrets.push_back({.secret = stale, .expected_version = 1});
  write.events.push_back({.actor = "test:alice", .kind = "secret.put"});
  const Status st = store_->WriteKeyring(write);
  EXPECT_EQ(st.code(), StatusCode::kAborted);
  EXPECT_THAT(st.message(), HasSubstr("secret `db/password-000` is at version 2, not 1"));
  EXPECT_EQ(Text(keyring->GetSecret("db/password-000").value()), "new");
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyringTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& param_info) { return param_info.param; });

TEST(KeyPolicyTest, PolicyFileIsCheckedByName) {
  auto ok = ParsePolicyFile(R"({"kek": {"rotate_after_days": 30, "expire_after_days": 60},
                                "dek:secrets": {"destroy_after_days": 7}})",
                            "p.json");
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_EQ(
      ok->at("kek"),
      (KeyPolicy{.rotate_after_days = 30, .expire_after_days = 60, .destroy_after_days = 30}));
  EXPECT_EQ(
      ok->at("dek:secrets"),
      (KeyPolicy{.rotate_after_days = 90, .expire_after_days = 180, .destroy_after_days = 7}));
  EXPECT_THAT(ParsePolicyFile(R"({"kek": {"rotate_every": 3}})", "p.json").error().message(),
              HasSubstr("policy file p.json, key kek: unknown field `rotate_every`"));
  EXPECT_THAT(ParsePolicyFile(R"({"dek": {}})", "p.json").error().message(),
              HasSubstr("key `dek` is not a key name"));
  EXPECT_THAT(
      ParsePolicyFile(R"({"kek": {"rotate_after_days": 90, "expire_after_days": 30}})", "p.json")
          .error()
          .message(),
      HasSubstr("expire_after_days (30) is shorter than rotate_after_days (90)"));
  EXPECT_THAT(ParsePolicyFile(R"({"kek": {"rotate_after_days": -1}})", "p.json").error().message(),
              HasSubstr("`rotate_after_days` is -1"));
  EXPECT_THAT(ParsePolicyFile("[1]", "p.json").error().message(),
              HasSubstr("policy file p.json: not a JSON object"));
}

// ---------------------------------------------------------------------------------------------
// Token KEK (SoftHSM2)

constexpr const char* kModule = "/usr/lib/softhsm/libsofthsm2.so";

class TokenKeyringTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(kModule) ||
        std::system("command -v softhsm2-util > /dev/null 2>&1") != 0)
      return;
    hsm_dir_ = new std::string(fmt::format(
        "{}/ferry-keyring-hsm-{}", std::filesystem::temp_directory_path().string(), ::getpid()));
    std::filesystem::remove_all(*hsm_dir_);
    std::filesystem::create_directories(*hsm_dir_ + "/tokens");
    std::ofstream(*hsm_dir_ + "/softhsm2.conf")
        << "directories.tokendir = " << *hsm_dir_
        << "/tokens\nobjectstore.backend = file\nlog.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", (*hsm_dir_ + "/softhsm2.conf").c_str(), 1);
    const std::string cmd =
        "softhsm2-util --init-token --free --label kek-token --pin 1234 --so-pin 5678 > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  static void TearDownTestSuite() {
    if (hsm_dir_ != nullptr) std::filesystem::remove_all(*hsm_dir_);
    delete hsm_dir_;
    hsm_dir_ = nullptr;
  }
  void SetUp() override {
    if (hsm_dir_ == nullptr)
      GTEST_SKIP()
          << "SoftHSM2 is not installed (Debian package softhsm2; ./setup.sh test installs it)";
    auto location = testing::StoreLocation::Create(
        "sqlite", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(location.has_value()) << location.error().ToString();
    location_ = std::move(location).value();
    env_.SetNowMicros(kStart);
    store_ = Store::Open(location_->url(), {.env = &env_}).value();
    char pattern[] = "/tmp/ferry-keyring-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    files_ = NewFileKekProvider(&env_, dir_ + "/keys");
    token_ = NewPkcs11KekProvider(kModule, "kek-token", "1234");
    // Each test starts from an empty token.
    auto module = SharedPkcs11Module(kModule).value();
    auto session = module->Open("kek-token", "1234").value();
    const std::vector<crypto::TokenKey> keys = session->Keys().value();
    for (const crypto::TokenKey& k : keys) {
      ASSERT_TRUE(session->Destroy(k.handle).ok());
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Keyring> Open(KekProvider* create_in = nullptr,
                                std::vector<KekProvider*> providers = {}) {
    if (providers.empty()) providers = {token_.get(), files_.get()};
    return Keyring::Open({.store = store_.get(),
                          .providers = providers,
                          .create_in = create_in,
                          .env = &env_,
                          .actor = "test:alice"})
        .value();
  }

  std::vector<crypto::TokenKey> TokenKeys() {
    auto module = SharedPkcs11Module(kModule);
    EXPECT_TRUE(module.has_value()) << module.error().ToString();
    auto session = (*module)->Open("kek-token", "1234");
    EXPECT_TRUE(session.has_value()) << session.error().ToString();
    auto keys = (*session)->Keys();
    EXPECT_TRUE(keys.has_value()) << keys.error().ToString();
    return keys.value_or(std::vector<crypto::TokenKey>{});
  }
  std::string Get(const std::string& name) {
    auto value = Open()->GetSecret(name);
    EXPECT_TRUE(value.has_value()) << value.error().ToString();
    return value.has_value() ? Text(*value) : "<error>";
  }

  static std::string* hsm_dir_;
  FaultInjectionEnv env_{Env::Default()};
  std::unique_ptr<testing::StoreLocation> location_;
  std::unique_ptr<Store> store_;
  std::string dir_;
  std::unique_ptr<KekProvider> files_, token_;
};
std::string* TokenKeyringTest::hsm_dir_ = nullptr;

TEST_F(TokenKeyringTest, TokenKekWrapsInsideTheTokenAndIsDestroyedThere) {
  std::unique_ptr<Keyring> keyring = Open(token_.get());
  ASSERT_TRUE(keyring->PutSecret("api-key", crypto::AsBytes("abc123")).has_value());
  auto keys = TokenKeys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].label, "ferry-kek-v1");
  EXPECT_EQ(keys[0].key_type, "AES");
  EXPECT_EQ(keys[0].bits, 256);
  EXPECT_TRUE(keys[0].sensitive);
  EXPECT_FALSE(keys[0].extractable);
  EXPECT_EQ(store_->ReadKeyring().value().keks[0].backend, "pkcs11");
  EXPECT_EQ(Get("api-key"), "abc123");

  ASSERT_TRUE(keyring->RotateKek().has_value());
  EXPECT_EQ(TokenKeys().size(), 2u);
  EXPECT_EQ(Get("api-key"), "abc123");
  env_.AdvanceMicros(31 * kDay);
  auto due = keyring->RotateDue();
  ASSERT_TRUE(due.has_value()) << due.error().ToString();
  EXPECT_THAT(due->actions,
              ::testing::ElementsAre("kek v1 destroyed (token kek-token key ferry-kek-v1)"));
  keys = TokenKeys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].label, "ferry-kek-v2");
  EXPECT_EQ(Get("api-key"), "abc123");
}

TEST_F(TokenKeyringTest, RotationMovesTheKekFromAFileIntoTheToken) {
  ASSERT_TRUE(Open(files_.get())->PutSecret("a", crypto::AsBytes("1")).has_value());
  ASSERT_TRUE(Open(token_.get())->RotateKek().has_value());
  auto rows = store_->ReadKeyring().value();
  EXPECT_EQ(rows.keks[1].backend, "pkcs11");
  EXPECT_EQ(rows.keks[1].state, "active");
  // The file key is no longer needed to read.
  std::filesystem::remove_all(dir_ + "/keys");
  EXPECT_EQ(Get("a"), "1");
}

TEST_F(TokenKeyringTest, WrongPinAndMissingTokenKeyAreNamed) {
  ASSERT_TRUE(Open(token_.get())->PutSecret("a", crypto::AsBytes("1")).has_value());
  token_.reset();  // a token's login is shared by the sessions of a process: log out first
  auto wrong_pin = NewPkcs11KekProvider(kModule, "kek-token", "9999");
  auto wrong = Open(nullptr, {wrong_pin.get()})->GetSecret("a");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(wrong.error().message(), HasSubstr("CKR_PIN_INCORRECT"));
  // Without a provider for the token, the message says how to give one.
  auto no_token = Open(nullptr, {files_.get()})->GetSecret("a");
  EXPECT_EQ(no_token.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(no_token.error().message(), HasSubstr("give --kek-token"));
  // The key gone from the token.
  token_ = NewPkcs11KekProvider(kModule, "kek-token", "1234");
  auto module = SharedPkcs11Module(kModule).value();
  auto session = module->Open("kek-token", "1234").value();
  const std::vector<crypto::TokenKey> all_keys = session->Keys().value();
  for (const crypto::TokenKey& k : all_keys) ASSERT_TRUE(session->Destroy(k.handle).ok());
  auto gone = Open()->GetSecret("a");
  EXPECT_EQ(gone.error().code(), StatusCode::kNotFound);
  EXPECT_THAT(gone.error().message(),
              HasSubstr("token kek-token has no key labelled ferry-kek-v1"));
}

}  // namespace
}  // namespace ferry::keyring
