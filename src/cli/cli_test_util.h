// What the CLI tests share: running `ferry` in-process and keeping its exit code and output.
#ifndef FERRY_CLI_CLI_TEST_UTIL_H_
#define FERRY_CLI_CLI_TEST_UTIL_H_

#include <sstream>
#include <string>
#include <vector>

#include "base/env.h"
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

}  // namespace ferry::testing

#endif  // FERRY_CLI_CLI_TEST_UTIL_H_
