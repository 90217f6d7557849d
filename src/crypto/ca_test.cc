// The local CA with a fake clock: issue by policy, check with `openssl verify` (an independent
// verifier), refuse names outside the policy, renew what is due as the clock moves, and report
// weak and quantum-vulnerable certificates found in files.
#include "crypto/ca.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::crypto {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kDay = 86400;
constexpr int64_t kStart = 1796083200;  // 2026-12-01T00:00:00Z

class CaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fmt::format("{}/ferry-ca-{}", std::filesystem::temp_directory_path().string(), ::getpid());
    std::filesystem::remove_all(dir_);
    env_.SetNowMicros(kStart * 1000000);
    policy_.allowed_names = {"*.bank.internal", "vault.example.org"};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void At(int64_t day) { env_.SetNowMicros((kStart + day * kDay) * 1000000); }

  FaultInjectionEnv env_{Env::Default()};
  std::string dir_;
  CaPolicy policy_;
};

TEST_F(CaTest, IssuesByPolicyAndOpensslVerifiesIt) {
  CertificateAuthority ca =
      CertificateAuthority::Init(&env_, dir_ + "/ca", "Bank Migration CA", policy_).value();
  CertInfo c = ca.Issue({"db1.bank.internal", "vault.example.org"}, dir_ + "/certs").value();
  EXPECT_EQ(c.names, (std::vector<std::string>{"db1.bank.internal", "vault.example.org"}));
  EXPECT_EQ(c.not_after, kStart + 90 * kDay);
  EXPECT_EQ(c.key_type, "EC 256");
  EXPECT_TRUE(c.quantum_vulnerable);
  EXPECT_TRUE(c.weakness.empty());
  EXPECT_THAT(c.issuer, HasSubstr("Bank Migration CA"));
  struct stat st{};
  ASSERT_EQ(::stat((dir_ + "/certs/db1.bank.internal.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  // openssl verify at the fake time (its -attime), against the CA certificate.
  const std::string cmd = fmt::format(
      "openssl verify -attime {} -CAfile {}/ca/ca.crt {}/certs/db1.bank.internal.crt > /dev/null "
      "2>&1",
      kStart + kDay, dir_, dir_);
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string late = fmt::format(
      "openssl verify -attime {} -CAfile {}/ca/ca.crt {}/certs/db1.bank.internal.crt > /dev/null "
      "2>&1",
      kStart + 91 * kDay, dir_, dir_);
  EXPECT_NE(std::system(late.c_str()), 0) << "expired after 90 days";
}

TEST_F(CaTest, NamesOutsideThePolicyAreRefused) {
  CertificateAuthority ca = CertificateAuthority::Init(&env_, dir_ + "/ca", "CA", policy_).value();
  for (const char* name :
       {"db1.other.internal", "a.b.bank.internal", "bank.internal", "evil.vault.example.org"}) {
    Result<CertInfo> r = ca.Issue({name}, dir_ + "/certs");
    ASSERT_FALSE(r.has_value()) << name;
    EXPECT_EQ(r.error().code(), StatusCode::kPermissionDenied);
    EXPECT_THAT(
        r.error().message(),
        HasSubstr(std::string(name) +
                  " is outside the CA's policy (allowed: *.bank.internal, vault.example.org)"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/certs"));
}

TEST_F(CaTest, RenewsWhatIsDueAsTheClockMoves) {
  CertificateAuthority ca = CertificateAuthority::Init(&env_, dir_ + "/ca", "CA", policy_).value();
  ASSERT_TRUE(ca.Issue({"db1.bank.internal"}, dir_ + "/certs").has_value());
  At(20);
  ASSERT_TRUE(ca.Issue({"db2.bank.internal"}, dir_ + "/certs").has_value());
  At(59);
  EXPECT_TRUE(ca.Due().value().empty());  // db1 expires on day 90: 31 days left
  At(61);
  std::vector<CertInfo> due = ca.Due().value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].names.front(), "db1.bank.internal");
  std::vector<CertInfo> renewed = ca.RenewDue().value();
  ASSERT_EQ(renewed.size(), 1u);
  EXPECT_EQ(renewed[0].not_after, kStart + (61 + 90) * kDay);
  EXPECT_TRUE(ca.Due().value().empty());
  EXPECT_EQ(ca.Inventory().value().size(), 2u);  // replaced in place, not added
  At(81);
  EXPECT_EQ(ca.RenewDue().value().size(), 1u);  // now db2 (issued day 20, expires day 110)
}

TEST_F(CaTest, ScanReportsWeakAndQuantumVulnerableCertificates) {
  CertificateAuthority ca = CertificateAuthority::Init(&env_, dir_ + "/ca", "CA", policy_).value();
  ASSERT_TRUE(ca.Issue({"db1.bank.internal"}, dir_ + "/found").has_value());
  const std::string cmd = fmt::format(
      "openssl req -x509 -newkey rsa:1024 -sha1 -nodes -days 10 -subj /CN=legacy -keyout "
      "{0}/found/legacy.key "
      "-out {0}/found/legacy.pem > /dev/null 2>&1",
      dir_);
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::vector<CertInfo> found = ScanCertificates(&env_, {dir_ + "/found"}).value();
  ASSERT_EQ(found.size(), 2u);
  const CertInfo& legacy =
      found[1].subject.find("legacy") != std::string::npos ? found[1] : found[0];
  EXPECT_EQ(legacy.key_type, "RSA 1024");
  EXPECT_THAT(legacy.weakness, HasSubstr("RSA key of 1024 bits"));
  EXPECT_THAT(legacy.weakness, HasSubstr("sha1WithRSAEncryption"));
  EXPECT_TRUE(legacy.quantum_vulnerable);
  EXPECT_THAT(ScanCertificates(&env_, {dir_ + "/found/legacy.key"}).error().message(),
              HasSubstr("not a PEM certificate"));
}

TEST_F(CaTest, RefusesASecondInitAndABadPolicy) {
  ASSERT_TRUE(CertificateAuthority::Init(&env_, dir_ + "/ca", "CA", policy_).has_value());
  EXPECT_THAT(CertificateAuthority::Init(&env_, dir_ + "/ca", "CA", policy_).error().message(),
              HasSubstr("never overwrites a CA key"));
  CaPolicy bad = policy_;
  bad.renew_before_days = 90;
  EXPECT_THAT(CertificateAuthority::Init(&env_, dir_ + "/ca2", "CA", bad).error().message(),
              HasSubstr("renewal must come after issue"));
  bad = policy_;
  bad.allowed_names.clear();
  EXPECT_THAT(CertificateAuthority::Init(&env_, dir_ + "/ca3", "CA", bad).error().message(),
              HasSubstr("no allowed names"));
  EXPECT_THAT(CertificateAuthority::Open(&env_, dir_ + "/nothing").error().message(),
              HasSubstr("ferry ca init"));
}

}  // namespace
}  // namespace ferry::crypto
