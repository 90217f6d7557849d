// What the CLI tests share: running `ferry` in-process and keeping its exit code and output.
#ifndef FERRY_CLI_CLI_TEST_UTIL_H_
#define FERRY_CLI_CLI_TEST_UTIL_H_

#include <stdlib.h>

#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/env.h"
#include "base/log.h"
#include "cli/cli.h"

namespace ferry::testing {

struct CliOutcome {
  int code;
  std::string out;
  std::string err;
};

// `ferry --log-level error ARGS...` through RunFerry with `env`, or, without one, an Env over the
// real one in which FERRY_STORE is unset (so a developer's setting cannot leak into a test).
inline CliOutcome RunCli(const std::vector<std::string>& args, Env* env = nullptr) {
  std::vector<const char*> argv = {"ferry", "--log-level", "error"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  FaultInjectionEnv isolated(Env::Default());
  isolated.SetEnvVar("FERRY_STORE", std::nullopt);
  const int code = RunFerry(static_cast<int>(argv.size()), argv.data(), out, err,
                            env != nullptr ? env : &isolated);
  return {code, out.str(), err.str()};
}

// A CLI test with its own scratch directory and an Env in which the variables that change ferry's
// settings are unset; Run() runs `ferry` in-process with that Env.
class CliFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ferry-cli-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    for (const char* name :
         {"FERRY_STORE", "FERRY_CONFIG", "FERRY_LOG_LEVEL", "FERRY_LOG_FORMAT"}) {
      env_.SetEnvVar(name, std::nullopt);
    }
  }
  void TearDown() override {
    SetLogSink(nullptr);
    ConfigureLogging({});
    ASSERT_TRUE(Env::Default()->RemoveAll(dir_).ok());
  }

  // Writes `bytes` to DIR/name (creating its directories); returns the path.
  std::string Write(const std::string& name, std::string_view bytes) {
    const std::string path = dir_ + "/" + name;
    EXPECT_TRUE(Env::Default()->CreateDirs(path.substr(0, path.rfind('/'))).ok());
    EXPECT_TRUE(Env::Default()->WriteFileAtomic(path, bytes).ok());
    return path;
  }
  std::string Read(const std::string& path) {
    return Env::Default()->ReadFile(path).value_or("<unreadable>");
  }
  CliOutcome Run(const std::vector<std::string>& args) { return RunCli(args, &env_); }

  FaultInjectionEnv env_{Env::Default()};
  std::string dir_;
};

}  // namespace ferry::testing

#endif  // FERRY_CLI_CLI_TEST_UTIL_H_
