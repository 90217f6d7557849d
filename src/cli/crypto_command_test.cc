// `ferry crypto info` and `ferry crypto selftest` through the command line, in-process.
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "cli/cli.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome RunCli(const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"ferry", "--log-level", "error"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  FaultInjectionEnv env(Env::Default());
  env.SetEnvVar("FERRY_STORE", std::nullopt);
  int code = RunFerry(static_cast<int>(argv.size()), argv.data(), out, err, &env);
  return {code, out.str(), err.str()};
}

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

TEST(CryptoCommandTest, UnknownSubcommandIsAUsageError) {
  Outcome r = RunCli({"crypto", "nonsense"});
  EXPECT_EQ(r.code, 2);
}

}  // namespace
}  // namespace ferry
