// Signed evidence of a run from a real SQLite store: exported, verified offline, and each kind of
// tampering refused by its own test.
#include "report/evidence.h"

#include <unistd.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/classical.h"
#include "crypto/pq.h"

namespace ferry::report {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class EvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ =
        (std::filesystem::temp_directory_path() / fmt::format("ferry-evidence-{}.db", ::getpid()))
            .string();
    std::filesystem::remove(path_);
    store_ = Store::Open("sqlite://" + path_).value();
    ASSERT_TRUE(
        store_
            ->CreateRun({"copy-1", "copy", "succeeded", "fp", R"({"from":"sqlite:///a.db"})",
                         R"({"rows":1200,"verified":true})", 1, 2})
            .ok());
    ASSERT_TRUE(store_->AppendEvent({"", "cli:ops", "store.opened", Json::object()}).has_value());
    for (const char* kind : {"run.started", "table.copied", "run.verified"}) {
      ASSERT_TRUE(
          store_->AppendEvent({"copy-1", "cli:ops", kind, Json{{"table", "account"}}}).has_value());
    }
    signer_ = crypto::Identity::Generate().value();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove(path_);
  }

  // Re-signs `file`'s evidence with `id` (what a forger with their own keys can do).
  static std::string Resign(json file, const crypto::Identity& id) {
    json& signer = file["evidence"]["signer"];
    signer["fingerprint"] = id.pub.Fingerprint();
    signer["ml_dsa_65"] = crypto::Hex(id.pub.ml_dsa_65);
    signer["ed25519"] = crypto::Hex(id.pub.ed25519);
    signer["xwing"] = crypto::Hex(id.pub.xwing);
    const std::string body = "ferry evidence v1\n" + file["evidence"].dump();
    const crypto::MlDsa dsa(crypto::MlDsaLevel::k65);
    crypto::SignatureKeyPair kp = dsa.KeyPairFromSeed(id.ml_dsa_65_seed).value();
    file["signatures"]["ml_dsa_65"] = crypto::Hex(
        dsa.Sign(kp.secret_key, crypto::AsBytes(body), crypto::AsBytes("ferry-evidence-v1"))
            .value());
    file["signatures"]["ed25519"] =
        crypto::Hex(crypto::Ed25519Sign(id.ed25519_seed, crypto::AsBytes(body)).value());
    return file.dump();
  }

  std::string path_;
  std::unique_ptr<Store> store_;
  crypto::Identity signer_;
};

TEST_F(EvidenceTest, ExportsAndVerifiesOffline) {
  const std::string text =
      ExportEvidence(*store_, "copy-1", signer_, 42, R"({"moved": 3})").value();
  EvidenceSummary s = VerifyEvidence(text, signer_.pub.Fingerprint()).value();
  EXPECT_EQ(s.run_id, "copy-1");
  EXPECT_EQ(s.run_state, "succeeded");
  EXPECT_EQ(s.events, 3);  // the run's events, not the store-wide one
  EXPECT_TRUE(s.log_intact);
  EXPECT_EQ(s.log_head, store_->VerifyEventLog().value().head_hash);
  EXPECT_TRUE(s.has_keys_report);
  json file = json::parse(text);
  EXPECT_EQ(file["evidence"]["run"]["result"]["rows"], 1200);
  EXPECT_THAT(ExportEvidence(*store_, "nope", signer_, 1).error().message(), HasSubstr("nope"));
  EXPECT_THAT(ExportEvidence(*store_, "copy-1", signer_, 1, "not json").error().message(),
              HasSubstr("--keys-report: not JSON"));
}

TEST_F(EvidenceTest, AChangedFigureBreaksTheSignature) {
  json file = json::parse(ExportEvidence(*store_, "copy-1", signer_, 42).value());
  file["evidence"]["run"]["result"]["rows"] = 1199;
  Result<EvidenceSummary> r = VerifyEvidence(file.dump());
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("signature does not verify (ML-DSA-65 and Ed25519)"));
}

TEST_F(EvidenceTest, MissingSignaturesAreRefused) {
  json file = json::parse(ExportEvidence(*store_, "copy-1", signer_, 42).value());
  file.erase("signatures");
  EXPECT_THAT(VerifyEvidence(file.dump()).error().message(),
              HasSubstr("no evidence or no signatures"));
  EXPECT_THAT(VerifyEvidence("{\"format\": \"zip\"}").error().message(),
              HasSubstr("not a ferry evidence file"));
}

TEST_F(EvidenceTest, AnotherSignerIsRefusedWhenOneIsExpected) {
  const crypto::Identity forger = crypto::Identity::Generate().value();
  const std::string forged =
      Resign(json::parse(ExportEvidence(*store_, "copy-1", signer_, 42).value()), forger);
  EXPECT_THAT(VerifyEvidence(forged, signer_.pub.Fingerprint()).error().message(),
              HasSubstr("signed by " + forger.pub.Fingerprint() + ", not by the expected " +
                        signer_.pub.Fingerprint()));
}

TEST_F(EvidenceTest, AnEditedEventIsCaughtByItsHashEvenWhenResigned) {
  json file = json::parse(ExportEvidence(*store_, "copy-1", signer_, 42).value());
  file["evidence"]["events"][1]["kind"] = "table.skipped";
  const std::string forged = Resign(file, crypto::Identity::Generate().value());
  Result<EvidenceSummary> r = VerifyEvidence(forged);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(),
              HasSubstr("event 3 (table.skipped): its hash does not match its content"));
}

TEST_F(EvidenceTest, ReorderedEventsAreRefused) {
  json file = json::parse(ExportEvidence(*store_, "copy-1", signer_, 42).value());
  std::swap(file["evidence"]["events"][0], file["evidence"]["events"][2]);
  Result<EvidenceSummary> r = VerifyEvidence(Resign(file, signer_));
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("out of order"));
}

TEST_F(EvidenceTest, AnEventRenumberedToHideADroppedOneIsCaught) {
  ASSERT_TRUE(store_->AppendEvent({"copy-1", "cli:ops", "run.closed", Json::object()}).has_value());
  json file = json::parse(ExportEvidence(*store_, "copy-1", signer_, 42).value());
  file["evidence"]["events"].erase(2);  // seq 2, 3, [4 dropped], 5: no link to check across the gap
  file["evidence"]["events"].erase(0);  // now 3, 5
  file["evidence"]["events"][0]["seq"] = 4;  // pretend 3 was 4, so 4 -> 5 must link
  Result<EvidenceSummary> r = VerifyEvidence(Resign(file, signer_));
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("its hash does not match its content"));
}

}  // namespace
}  // namespace ferry::report
