// Key migration between two real SoftHSM2 tokens (created per test in a temporary directory):
// AES, RSA and EC keys moved and proved, a non-extractable key reported and left, a second run
// resuming, a rollback, and the errors of a wrong PIN, a missing token and a missing module.
#include "crypto/key_migration.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/random.h"

namespace ferry::crypto {
namespace {

using ::testing::HasSubstr;

constexpr const char* kModule = "/usr/lib/softhsm/libsofthsm2.so";

class KeyMigrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(kModule) ||
        std::system("command -v softhsm2-util > /dev/null 2>&1") != 0)
      return;
    dir_ = new std::string(fmt::format(
        "{}/ferry-hsm-{}", std::filesystem::temp_directory_path().string(), ::getpid()));
    std::filesystem::remove_all(*dir_);
    std::filesystem::create_directories(*dir_ + "/tokens");
    std::ofstream(*dir_ + "/softhsm2.conf")
        << "directories.tokendir = " << *dir_
        << "/tokens\nobjectstore.backend = file\nlog.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", (*dir_ + "/softhsm2.conf").c_str(), 1);
    for (const char* label : {"source", "target"}) {
      const std::string cmd = fmt::format(
          "softhsm2-util --init-token --free --label {} --pin 1234 --so-pin 5678 > /dev/null",
          label);
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    module_ = new std::shared_ptr<Pkcs11Module>(Pkcs11Module::Load(kModule).value());
  }
  static void TearDownTestSuite() {
    if (module_ != nullptr) {
      delete module_;
      module_ = nullptr;
    }
    if (dir_ != nullptr) std::filesystem::remove_all(*dir_);
  }
  void SetUp() override {
    if (module_ == nullptr)
      GTEST_SKIP()
          << "SoftHSM2 is not installed (Debian package softhsm2; ./setup.sh test installs it)";
    source_ = (*module_)->Open("source", "1234").value();
    target_ = (*module_)->Open("target", "1234").value();
    // Each test starts from empty tokens.
    for (Pkcs11Session* s : {source_.get(), target_.get()}) {
      const std::vector<TokenKey> keys = s->Keys().value();
      for (const TokenKey& k : keys) ASSERT_TRUE(s->Destroy(k.handle).ok());
    }
  }

  void MakeSourceKeys() {
    ASSERT_TRUE(source_->GenerateAes("aes-data", Bytes{1}, 256, true, true).has_value());
    ASSERT_TRUE(source_->GenerateRsa("rsa-sign", Bytes{2}, 2048, true, true).has_value());
    ASSERT_TRUE(source_->GenerateEc("ec-sign", Bytes{3}, true, true).has_value());
    ASSERT_TRUE(source_->GenerateAes("aes-locked", Bytes{4}, 256, false, true).has_value());
  }

  const KeyMigrationOutcome& Outcome(const KeyMigrationReport& r, const std::string& label) {
    for (const KeyMigrationOutcome& o : r.keys) {
      if (o.before.label == label) return o;
    }
    ADD_FAILURE() << "no outcome for " << label;
    return r.keys.front();
  }

  static std::string* dir_;
  static std::shared_ptr<Pkcs11Module>* module_;
  std::unique_ptr<Pkcs11Session> source_, target_;
};
std::string* KeyMigrationTest::dir_ = nullptr;
std::shared_ptr<Pkcs11Module>* KeyMigrationTest::module_ = nullptr;

TEST_F(KeyMigrationTest, MovesAesRsaAndEcProvesEachAndLeavesTheNonExtractableKey) {
  MakeSourceKeys();
  Result<KeyMigrationReport> migrated = MigrateKeys(*source_, *target_);
  ASSERT_TRUE(migrated.has_value()) << migrated.error().ToString();
  KeyMigrationReport r = *migrated;
  EXPECT_EQ(r.moved, 3);
  EXPECT_EQ(r.not_moved, 1);
  EXPECT_EQ(Outcome(r, "aes-data").status, "moved");
  EXPECT_THAT(Outcome(r, "aes-data").proof, HasSubstr("decrypts in the target"));
  EXPECT_THAT(Outcome(r, "rsa-sign").proof, HasSubstr("verifies with the source's public key"));
  EXPECT_THAT(Outcome(r, "ec-sign").proof, HasSubstr("ECDSA"));
  EXPECT_EQ(Outcome(r, "aes-locked").status, "not moved");
  EXPECT_THAT(Outcome(r, "aes-locked").reason, HasSubstr("CKA_EXTRACTABLE is false"));

  // Attributes kept: label, id, sensitivity, usage; the copies are on the token.
  const TokenKey& after = *Outcome(r, "rsa-sign").after;
  EXPECT_EQ(after.id, "02");
  EXPECT_TRUE(after.token);
  EXPECT_TRUE(after.sensitive);
  EXPECT_TRUE(after.sign);
  EXPECT_EQ(after.bits, 2048);

  // An independent check of the AES key, the other way round: encrypt in the target, decrypt in
  // the source.
  const Bytes iv(16, 9), msg = {'p', 'r', 'o', 'o', 'f'};
  const uint64_t target_aes = Outcome(r, "aes-data").after->handle;
  const uint64_t source_aes = Outcome(r, "aes-data").before.handle;
  EXPECT_EQ(source_->Decrypt(source_aes, iv, target_->Encrypt(target_aes, iv, msg).value()).value(),
            msg);
  // The RSA and EC pairs' public keys came along; the locked key did not; no transport key is left.
  std::vector<std::string> labels;
  const std::vector<TokenKey> target_keys = target_->Keys().value();
  for (const TokenKey& k : target_keys) labels.push_back(k.object_class + ":" + k.label);
  std::sort(labels.begin(), labels.end());
  EXPECT_EQ(labels,
            (std::vector<std::string>{"private:ec-sign", "private:rsa-sign", "public:ec-sign",
                                      "public:rsa-sign", "secret:aes-data"}));

  nlohmann::json report = nlohmann::json::parse(r.ToJson());
  EXPECT_EQ(report["moved"], 3);
  EXPECT_EQ(report["keys"].size(), 4u);
  EXPECT_TRUE(report["keys"][0].contains("before"));
}

TEST_F(KeyMigrationTest, ASecondRunResumesWithoutCopyingTwice) {
  MakeSourceKeys();
  ASSERT_EQ(MigrateKeys(*source_, *target_, {"aes-data"}).value().moved,
            1);  // interrupted after one key
  Result<KeyMigrationReport> migrated = MigrateKeys(*source_, *target_);
  ASSERT_TRUE(migrated.has_value()) << migrated.error().ToString();
  KeyMigrationReport r = *migrated;
  EXPECT_EQ(r.already, 1);
  EXPECT_EQ(r.moved, 2);
  EXPECT_EQ(Outcome(r, "aes-data").status, "already there");
  EXPECT_EQ(target_->Find("aes-data", "01").value().size(), 1u);
}

TEST_F(KeyMigrationTest, RollbackRemovesWhatWasMoved) {
  MakeSourceKeys();
  Result<KeyMigrationReport> migrated = MigrateKeys(*source_, *target_);
  ASSERT_TRUE(migrated.has_value()) << migrated.error().ToString();
  KeyMigrationReport r = *migrated;
  ASSERT_TRUE(RollBackKeyMigration(*target_, r).ok());
  EXPECT_TRUE(target_->Keys().value().empty());
  EXPECT_EQ(source_->Keys().value().size(), 6u);  // the source is untouched
}

TEST_F(KeyMigrationTest, ADifferentKeyUnderTheSameLabelIsNotOverwritten) {
  MakeSourceKeys();
  ASSERT_TRUE(target_->GenerateAes("aes-data", Bytes{1}, 256, true, true).has_value());
  Result<KeyMigrationReport> migrated = MigrateKeys(*source_, *target_);
  ASSERT_TRUE(migrated.has_value()) << migrated.error().ToString();
  KeyMigrationReport r = *migrated;
  EXPECT_EQ(Outcome(r, "aes-data").status, "not moved");
  EXPECT_THAT(Outcome(r, "aes-data").reason,
              HasSubstr("already holds a different key with this label and id"));
}

TEST_F(KeyMigrationTest, WrongPinMissingTokenMissingModule) {
  source_.reset();  // a token logged in by one session is logged in for all: log out first
  target_.reset();
  Result<std::unique_ptr<Pkcs11Session>> wrong = (*module_)->Open("target", "0000");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(wrong.error().message(), HasSubstr("CKR_PIN_INCORRECT"));
  Result<std::unique_ptr<Pkcs11Session>> missing = (*module_)->Open("nope", "1234");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message(), HasSubstr("no token labelled \"nope\""));
  EXPECT_THAT(missing.error().message(), HasSubstr("\"source\""));
  Result<std::shared_ptr<Pkcs11Module>> no_module = Pkcs11Module::Load("/nonexistent/libpkcs11.so");
  ASSERT_FALSE(no_module.has_value());
  EXPECT_THAT(no_module.error().message(), HasSubstr("cannot be loaded"));
}

}  // namespace
}  // namespace ferry::crypto
