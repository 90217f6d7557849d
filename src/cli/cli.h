// The `ferry` command line, as a function so that tests can run it in-process.
//
// Exit codes (docs/cli.md): 0 success; 1 a check ran and found differences or corruption;
// 2 usage or configuration error; 3 runtime error (unreachable server, I/O failure).
#ifndef FERRY_CLI_CLI_H_
#define FERRY_CLI_CLI_H_

#include <iosfwd>

#include "base/env.h"

namespace ferry {

// Runs `ferry` with argv. Normal output goes to `out`, diagnostics to `err`; `env` supplies
// files, clock and environment variables. Returns the exit code.
int RunFerry(int argc, const char* const* argv, std::ostream& out, std::ostream& err, Env* env);

}  // namespace ferry

#endif  // FERRY_CLI_CLI_H_
