// `ferry ca` through the command line with a fake clock: init, issue, a name outside the policy,
// renew --due as time passes, and the report's exit code.
#include <unistd.h>

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/cli.h"
#include "cli/cli_test_util.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;

using Outcome = ::ferry::testing::CliOutcome;

class CaCommandTest : public ::ferry::testing::CliFileTest {
 protected:
  void SetUp() override {
    CliFileTest::SetUp();
    env_.SetNowMicros(int64_t{1796083200} * 1000000);  // 2026-12-01
  }
};

TEST_F(CaCommandTest, IssuesRenewsWhenDueAndReports) {
  ASSERT_EQ(Run({"ca", "init", "--dir", dir_ + "/ca", "--allow-name", "*.bank.internal",
                 "--validity-days", "60", "--renew-before-days", "20"})
                .code,
            0);
  Outcome issued = Run({"ca", "issue", "--dir", dir_ + "/ca", "--name", "db1.bank.internal",
                        "--out-dir", dir_ + "/certs"});
  ASSERT_EQ(issued.code, 0) << issued.err;
  EXPECT_THAT(issued.out, HasSubstr("db1.bank.internal"));
  Outcome outside = Run({"ca", "issue", "--dir", dir_ + "/ca", "--name", "db1.evil.com",
                         "--out-dir", dir_ + "/certs"});
  EXPECT_EQ(outside.code, 2);
  EXPECT_THAT(outside.err,
              HasSubstr("db1.evil.com is outside the CA's policy (allowed: *.bank.internal)"));

  EXPECT_THAT(Run({"ca", "renew", "--dir", dir_ + "/ca", "--due"}).err,
              HasSubstr("0 certificate(s) renewed"));
  Outcome report = Run({"--json", "ca", "report", "--dir", dir_ + "/ca", "--within-days", "30"});
  EXPECT_EQ(report.code, 0) << report.out;  // 60 days left: nothing expiring, nothing weak
  env_.AdvanceMicros(int64_t{45} * 86400 * 1000000);  // 15 days left
  EXPECT_EQ(Run({"ca", "report", "--dir", dir_ + "/ca"}).code, 1);
  Outcome renewed = Run({"ca", "renew", "--dir", dir_ + "/ca", "--due"});
  ASSERT_EQ(renewed.code, 0) << renewed.err;
  EXPECT_THAT(renewed.err, HasSubstr("1 certificate(s) renewed"));
  EXPECT_THAT(renewed.out, HasSubstr("60 days"));
  EXPECT_EQ(Run({"ca", "report", "--dir", dir_ + "/ca"}).code, 0);
  EXPECT_EQ(Run({"ca", "renew", "--dir", dir_ + "/ca"}).code, 2);  // --due is required
}

TEST_F(CaCommandTest, ReportsCertificatesADiscoverInventoryFound) {
  // Two certificates as `ferry discover` records them (docs/inventory.schema.json), on host db7.
  const std::string inventory = R"({
    "host": {"hostname": "db7"},
    "certificates": [
      {"path": "/etc/pki/old.pem", "subject": "CN=old.bank.internal", "issuer": "CN=old CA", "serial": "01",
       "sans": ["DNS:old.bank.internal", "IP:10.0.0.7"], "key_type": "RSA", "key_bits": 1024, "curve": null,
       "quantum_safe": false, "signature_algorithm": "sha1WithRSAEncryption",
       "not_before": "2024-01-01T00:00:00Z", "not_after": "2026-12-11T00:00:00Z"},
      {"path": "/etc/pki/new.pem", "subject": "CN=new.bank.internal", "issuer": "CN=CA", "serial": "02",
       "sans": ["DNS:new.bank.internal"], "key_type": "EC", "key_bits": 256, "curve": "prime256v1",
       "quantum_safe": false, "signature_algorithm": "ecdsa-with-SHA256",
       "not_before": "2026-06-01T00:00:00Z", "not_after": "2027-06-01T00:00:00Z"}]})";
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(dir_ + "/db7.json", inventory).ok());
  Outcome r = Run({"ca", "report", "--inventory", dir_ + "/db7.json"});
  EXPECT_EQ(r.code, 1);  // one expires in 10 days and is weak
  EXPECT_THAT(r.out, HasSubstr("old.bank.internal"));
  EXPECT_THAT(r.out, HasSubstr("10 days  RSA 1024  db7:/etc/pki/old.pem  WEAK: RSA key of 1024 "
                               "bits (under 2048); signed with sha1WithRSAEncryption"));
  EXPECT_THAT(
      r.out,
      HasSubstr(
          "2 certificate(s): 1 expire within 30 days, 1 weak, 2 with quantum-vulnerable keys"));
}

}  // namespace
}  // namespace ferry
