// `ferry crypto info` and `ferry crypto selftest` through the command line, in-process.
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "base/json.h"
#include "cli/cli.h"
#include "cli/cli_test_util.h"
#include "crypto/pkcs11.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;
using Outcome = ::ferry::testing::CliOutcome;
using ::ferry::testing::RunCli;
using ::testing::Not;

TEST(CryptoCommandTest, InfoNamesTheBackendsAndSizes) {
  Outcome r = RunCli({"crypto", "info"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("post-quantum: PQClean"));
  EXPECT_THAT(r.out, HasSubstr("classical:    OpenSSL 3"));
  EXPECT_THAT(r.out, HasSubstr("ML-KEM-768   FIPS 203          1184                  1088"));

  Outcome j = RunCli({"--json", "crypto", "info"});
  ASSERT_EQ(j.code, 0) << j.err;
  Json doc = ParseJson(j.out, "crypto info").value();
  EXPECT_THAT(doc["post_quantum_backend"].get<std::string>(), HasSubstr("PQClean"));
  ASSERT_EQ(doc["kem"].size(), 3u);
  EXPECT_EQ(doc["kem"][2]["name"], "X-Wing");
  EXPECT_EQ(doc["kem"][2]["public_key"], 1216);
  EXPECT_EQ(doc["signature"][1]["signature"], 4627);
}

TEST(CryptoCommandTest, SelftestPassesEveryKnownAnswer) {
  Outcome r = RunCli({"crypto", "selftest"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("ok    X-Wing (draft-connolly-cfrg-xwing-kem-10"));
  EXPECT_THAT(r.out, Not(HasSubstr("FAIL")));

  Outcome j = RunCli({"--json", "crypto", "selftest"});
  ASSERT_EQ(j.code, 0) << j.err;
  Json doc = ParseJson(j.out, "selftest").value();
  EXPECT_EQ(doc["failed"], 0);
  EXPECT_GE(doc["passed"].get<int>(), 15);
  for (const Json& t : doc["tests"]) EXPECT_TRUE(t["passed"].get<bool>()) << t.dump();
}

class CryptoExportCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ferry-crypto-cli-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ASSERT_TRUE(Env::Default()->CreateDirs(dir_ + "/data/sub").ok());
    std::string rows;
    for (int i = 0; i < 20000; ++i) rows += std::to_string(i) + ",row\n";
    ASSERT_TRUE(Env::Default()->WriteFileAtomic(dir_ + "/data/sub/rows.csv", rows).ok());
    ASSERT_TRUE(Env::Default()->WriteFileAtomic(dir_ + "/data/schema.json", "{}").ok());
  }
  void TearDown() override { ASSERT_TRUE(Env::Default()->RemoveAll(dir_).ok()); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Read(const std::string& name) const {
    return Env::Default()->ReadFile(Path(name)).value_or("<none>");
  }

  std::string dir_;
};

TEST_F(CryptoExportCommandTest, SealsForTwoRecipientsAndOpensVerified) {
  Outcome a = RunCli({"crypto", "keygen", "--out", Path("alice.key")});
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_THAT(a.out, HasSubstr("ferry-recipient-v1:"));
  ASSERT_EQ(RunCli({"crypto", "keygen", "--out", Path("bob.key")}).code, 0);
  Outcome again = RunCli({"crypto", "keygen", "--out", Path("bob.key")});
  EXPECT_NE(again.code, 0);
  EXPECT_THAT(again.err, HasSubstr("ferry never overwrites a key"));

  Outcome sealed =
      RunCli({"crypto", "seal", "--to", Path("bob.key"), "--to", a.out.substr(0, a.out.size() - 1),
              "--identity", Path("alice.key"), "--out", Path("x.ferry"), Path("data")});
  ASSERT_EQ(sealed.code, 0) << sealed.err;
  EXPECT_THAT(sealed.err, HasSubstr("sealed 2 file(s)"));
  const std::string alice = ParseJson(Read("alice.key"), "key").value()["fingerprint"];

  for (const char* who : {"alice.key", "bob.key"}) {
    const std::string out = Path(std::string("open-") + who);
    Outcome opened = RunCli({"crypto", "open", "--identity", Path(who), "--in", Path("x.ferry"),
                             "--out", out, "--signer", alice});
    ASSERT_EQ(opened.code, 0) << opened.err;
    EXPECT_EQ(Env::Default()->ReadFile(out + "/data/sub/rows.csv").value(),
              Read("data/sub/rows.csv"));
    EXPECT_EQ(Env::Default()->ReadFile(out + "/data/schema.json").value(), "{}");
  }
}

TEST_F(CryptoExportCommandTest, ATamperedOrForeignExportLeavesNothingBehind) {
  ASSERT_EQ(RunCli({"crypto", "keygen", "--out", Path("alice.key")}).code, 0);
  ASSERT_EQ(RunCli({"crypto", "keygen", "--out", Path("eve.key")}).code, 0);
  ASSERT_EQ(RunCli({"crypto", "seal", "--to", Path("alice.key"), "--identity", Path("alice.key"),
                    "--out", Path("x.ferry"), Path("data")})
                .code,
            0);
  Outcome foreign = RunCli({"crypto", "open", "--identity", Path("eve.key"), "--in",
                            Path("x.ferry"), "--out", Path("eve")});
  EXPECT_NE(foreign.code, 0);
  EXPECT_THAT(foreign.err, HasSubstr("not encrypted to this identity"));
  EXPECT_FALSE(Env::Default()->FileExists(Path("eve")));

  std::string bytes = Read("x.ferry");
  bytes[bytes.size() - 40] ^= 0x10;  // inside the last chunk
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(Path("bad.ferry"), bytes).ok());
  Outcome bad = RunCli({"crypto", "open", "--identity", Path("alice.key"), "--in",
                        Path("bad.ferry"), "--out", Path("out")});
  EXPECT_NE(bad.code, 0);
  EXPECT_THAT(bad.err, HasSubstr("fails authentication"));
  EXPECT_FALSE(Env::Default()->FileExists(Path("out")));
  EXPECT_FALSE(Env::Default()->FileExists(Path("out.partial")));

  Outcome wrong_to = RunCli({"crypto", "seal", "--to", "age1notaferryrecipient", "--identity",
                             Path("alice.key"), "--out", Path("y.ferry"), Path("data")});
  EXPECT_EQ(wrong_to.code, 2);
  EXPECT_THAT(wrong_to.err, HasSubstr("starts with \"ferry-recipient-v1:\""));
  EXPECT_FALSE(Env::Default()->FileExists(Path("y.ferry")));
}

// `ferry copy` to an encrypted export and back: rows through the export into another database,
// verified; a tampered export loads nothing; an export without recipients is refused.
TEST_F(CryptoExportCommandTest, CopyToAnEncryptedExportAndBack) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(Path("src.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db,
                   "CREATE TABLE account (id INTEGER PRIMARY KEY, owner TEXT, balance NUMERIC);"
                   "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) "
                   "INSERT INTO account SELECT i, 'owner ' || i, i * 1.25 FROM n;",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  ASSERT_EQ(RunCli({"crypto", "keygen", "--out", Path("ops.key")}).code, 0);
  Outcome bob = RunCli({"crypto", "keygen", "--out", Path("bob.key")});
  ASSERT_EQ(bob.code, 0);
  const std::string store = "sqlite://" + Path("ferry.db");
  Outcome exported = RunCli({"--store", store, "copy", "--from", "sqlite://" + Path("src.db"),
                             "--to", "file://" + Path("bank.ferry"), "--encrypt-to",
                             Path("bob.key"), "--identity", Path("ops.key")});
  ASSERT_EQ(exported.code, 0) << exported.out << exported.err;
  EXPECT_THAT(exported.out, HasSubstr("sealed into " + Path("bank.ferry")));
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().string().find("staging"), std::string::npos)
        << "plain files left: " << entry.path();
  }
  Outcome restored =
      RunCli({"--store", store, "copy", "--from", "file://" + Path("bank.ferry"), "--identity",
              Path("bob.key"), "--to", "sqlite://" + Path("restored.db")});
  ASSERT_EQ(restored.code, 0) << restored.out << restored.err;
  EXPECT_THAT(restored.out, HasSubstr("verified before loading"));
  Outcome same = RunCli({"verify", "--from", "sqlite://" + Path("src.db"), "--to",
                         "sqlite://" + Path("restored.db")});
  EXPECT_EQ(same.code, 0) << same.out;

  std::string bytes = Read("bank.ferry");
  bytes[bytes.size() - 40] ^= 0x01;  // inside the last chunk
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(Path("bad.ferry"), bytes).ok());
  Outcome bad = RunCli({"--store", store, "copy", "--from", "file://" + Path("bad.ferry"),
                        "--identity", Path("bob.key"), "--to", "sqlite://" + Path("never.db")});
  EXPECT_NE(bad.code, 0);
  EXPECT_THAT(bad.err, HasSubstr("fails authentication"));
  EXPECT_FALSE(Env::Default()->FileExists(Path("never.db")));

  Outcome no_recipient =
      RunCli({"--store", store, "copy", "--from", "sqlite://" + Path("src.db"), "--to",
              "file://" + Path("plain.ferry"), "--identity", Path("ops.key")});
  EXPECT_EQ(no_recipient.code, 2);
  EXPECT_THAT(no_recipient.err, HasSubstr("name its recipients with --encrypt-to"));

  // An existing export is never overwritten; an export is not opened without an identity.
  const std::string before = Read("bank.ferry");
  Outcome again = RunCli({"--store", store, "copy", "--from", "sqlite://" + Path("src.db"), "--to",
                          "file://" + Path("bank.ferry"), "--encrypt-to", Path("bob.key"),
                          "--identity", Path("ops.key")});
  EXPECT_EQ(again.code, 2);
  EXPECT_THAT(again.err, HasSubstr("exists; ferry never overwrites an export"));
  EXPECT_EQ(Read("bank.ferry"), before);
  Outcome no_identity = RunCli({"--store", store, "copy", "--from", "file://" + Path("bank.ferry"),
                                "--to", "sqlite://" + Path("r2.db")});
  EXPECT_EQ(no_identity.code, 2);
  EXPECT_THAT(no_identity.err,
              HasSubstr("opening an export needs the --identity it is encrypted to"));
  EXPECT_FALSE(Env::Default()->FileExists(Path("r2.db")));
}

// `ferry keys list` and `ferry keys migrate` on two real SoftHSM2 tokens, PINs from variables.
TEST_F(CryptoExportCommandTest, KeysMigrateBetweenSoftHsmTokensWithAReport) {
  if (!Env::Default()->FileExists("/usr/lib/softhsm/libsofthsm2.so") ||
      std::system("command -v softhsm2-util > /dev/null 2>&1") != 0) {
    GTEST_SKIP()
        << "SoftHSM2 is not installed (Debian package softhsm2; ./setup.sh test installs it)";
  }
  ASSERT_TRUE(Env::Default()->CreateDirs(Path("tokens")).ok());
  ASSERT_TRUE(Env::Default()
                  ->WriteFileAtomic(
                      Path("softhsm2.conf"),
                      "directories.tokendir = " + Path("tokens") + "\nobjectstore.backend = file\n")
                  .ok());
  ::setenv("SOFTHSM2_CONF", Path("softhsm2.conf").c_str(), 1);
  for (const char* label : {"src", "dst"}) {
    ASSERT_EQ(
        std::system(
            fmt::format(
                "softhsm2-util --init-token --free --label {} --pin 1111 --so-pin 9999 > /dev/null",
                label)
                .c_str()),
        0);
  }
  {
    auto module = crypto::Pkcs11Module::Load("/usr/lib/softhsm/libsofthsm2.so").value();
    auto src = module->Open("src", "1111").value();
    ASSERT_TRUE(src->GenerateAes("payments-kek", crypto::Bytes{7}, 256, true, true).has_value());
    ASSERT_TRUE(src->GenerateAes("pinned", crypto::Bytes{8}, 256, false, true).has_value());
  }
  ::setenv("FERRY_PIN", "1111", 1);
  Outcome list = RunCli({"keys", "list", "--token", "src"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("secret   AES      256  yes         07         payments-kek"));
  EXPECT_THAT(list.out, HasSubstr("no          08         pinned"));

  ::setenv("FERRY_FROM_PIN", "1111", 1);
  ::setenv("FERRY_TO_PIN", "1111", 1);
  Outcome migrate = RunCli({"keys", "migrate", "--from-token", "src", "--to-token", "dst",
                            "--report", Path("report.json")});
  EXPECT_EQ(migrate.code, 1) << migrate.err;  // one key could not move
  EXPECT_THAT(migrate.out, HasSubstr("1 moved, 0 already there, 1 not moved"));
  Json report = ParseJson(Read("report.json"), "report").value();
  EXPECT_EQ(report["moved"], 1);
  EXPECT_THAT(report["keys"][1]["reason"].get<std::string>(),
              HasSubstr("CKA_EXTRACTABLE is false"));

  ASSERT_TRUE(Env::Default()->WriteFileAtomic(Path("junk.json"), "[1, 2]").ok());
  Outcome junk = RunCli({"keys", "migrate", "--to-token", "dst", "--rollback", Path("junk.json")});
  EXPECT_EQ(junk.code, 2);
  EXPECT_THAT(junk.err, HasSubstr("not a key migration report"));
  Outcome rollback =
      RunCli({"keys", "migrate", "--to-token", "dst", "--rollback", Path("report.json")});
  ASSERT_EQ(rollback.code, 0) << rollback.err;
  ::setenv("FERRY_PIN", "1111", 1);
  EXPECT_THAT(RunCli({"keys", "list", "--token", "dst"}).out, Not(HasSubstr("payments-kek")));

  ::setenv("FERRY_PIN", "0000", 1);
  Outcome wrong = RunCli({"keys", "list", "--token", "src"});
  EXPECT_EQ(wrong.code, 2);
  EXPECT_THAT(wrong.err, HasSubstr("CKR_PIN_INCORRECT"));
  for (const char* v : {"FERRY_PIN", "FERRY_FROM_PIN", "FERRY_TO_PIN", "SOFTHSM2_CONF"})
    ::unsetenv(v);
}

TEST(CryptoCommandTest, UnknownSubcommandIsAUsageError) {
  Outcome r = RunCli({"crypto", "nonsense"});
  EXPECT_EQ(r.code, 2);
}

}  // namespace
}  // namespace ferry
