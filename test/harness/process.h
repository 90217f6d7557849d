// Subprocess: start a program, capture its output in files, wait for it with a deadline, signal
// it, kill it. The database servers of the harness run through it, and tests use it to run the
// `ferry` binary and to kill it mid-migration (SIGKILL) to test resumption.
//
// Linux only (prctl, close_range). The child is set up between fork and exec with
// async-signal-safe calls only, so spawning from a multithreaded test is safe.
//
// Thread-safety: Spawn and RunToCompletion may be called from any thread. A Subprocess object is
// not synchronised: use one from one thread at a time.
#ifndef FERRY_TEST_HARNESS_PROCESS_H_
#define FERRY_TEST_HARNESS_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace ferry::testing {

struct SubprocessOptions {
  // argv[0] is the program: a path if it contains '/', otherwise looked up on $PATH before the
  // fork (so a missing program is an error of Spawn, not an exit code of 127).
  std::vector<std::string> argv;

  // Where the child's stdout and stderr go. Files are created (mode 0644) or appended to. Empty
  // means the test process's own stream. The same path for both interleaves them in one file.
  // stdin is always /dev/null: a test must never wait on a terminal.
  std::string stdout_path;
  std::string stderr_path;

  // Working directory of the child; empty keeps the test's.
  std::string working_dir;

  // Environment: the test's own environment, minus `env_unset`, plus `env_set` (which wins).
  // Setting LC_ALL=C keeps server logs in English, which callers grep.
  std::vector<std::pair<std::string, std::string>> env_set;
  std::vector<std::string> env_unset;

  // Run the child as this user (setgroups/setgid/setuid before exec). Needs root; empty keeps
  // the current user. Used because PostgreSQL refuses to run as root.
  std::string user;

  // Signal the kernel sends the child when the thread that spawned it dies (PR_SET_PDEATHSIG),
  // so that a crashed or SIGKILLed test leaves no server behind; 0 disables it. The kernel ties
  // this to the *thread* that forked, not to the process: when Spawn is called on a thread other
  // than the main thread, the fork happens on a process-lifetime helper thread instead, so the
  // signal fires only when the whole test process dies.
  int parent_death_signal = 0;

  // Puts the child in a new process group (its pid is the group id), so a Ctrl-C in the
  // terminal reaches only the test process, and SignalGroup() reaches the child's own children.
  bool new_process_group = true;
};

// How a child ended.
struct ExitStatus {
  // Meaningful when signal == 0. -1 when the status is unknown because something else reaped
  // the child (a SIGCHLD handler set to SIG_IGN, a stray waitpid(-1)).
  int exit_code = 0;
  int signal = 0;  // the signal that killed it, 0 if it exited
  bool success() const { return signal == 0 && exit_code == 0; }
  // "exited with code 3", "killed by signal 9 (SIGKILL)".
  std::string ToString() const;
};

class Subprocess {
 public:
  // Starts the child. Errors (program not found, exec failure, unknown user, unwritable output
  // file) are reported here, with the stage that failed and the errno text.
  [[nodiscard]] static Result<std::unique_ptr<Subprocess>> Spawn(SubprocessOptions options);

  // Kill()s the child if it is still running. Does nothing in a forked copy of the test process (a
  // gtest death test child), which does not own the child.
  ~Subprocess();

  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  const SubprocessOptions& options() const { return options_; }
  // Program and arguments joined by spaces, for messages.
  std::string CommandLine() const;

  // Only the process that spawned the child may wait for or signal it: in a forked copy of that
  // process (a gtest death-test child) Wait, Signal, SignalGroup and Stop return
  // FailedPrecondition and Poll says "running".

  // The exit status if the child has ended (reaping it), nullopt while it runs. Never blocks.
  std::optional<ExitStatus> Poll();
  bool running() { return !Poll().has_value(); }

  // Waits until the child ends. DeadlineExceeded if it still runs after `timeout`; the child is
  // then left running.
  [[nodiscard]] Result<ExitStatus> Wait(std::chrono::milliseconds timeout);

  // Sends `signal` to the child (SignalGroup: to its whole process group). OK if it has ended.
  [[nodiscard]] Status Signal(int signal);
  [[nodiscard]] Status SignalGroup(int signal);

  // Sends `signal` to the child, waits up to `grace` for it to end, then Kill(). Returns how it
  // ended. How the servers stop: Stop(SIGINT, 30 s) is PostgreSQL's fast shutdown.
  [[nodiscard]] Result<ExitStatus> Stop(int signal, std::chrono::milliseconds grace);

  // SIGKILL to the child's process group (or to the child alone without one), then reaps it:
  // how a crash is simulated. Internal error if it is still there 10 s later (stuck in the
  // kernel).
  [[nodiscard]] Result<ExitStatus> Kill();

 private:
  Subprocess(SubprocessOptions options, pid_t pid);
  Status CheckOwner() const;

  SubprocessOptions options_;
  pid_t pid_;
  pid_t owner_pid_;  // the test process that spawned it
  std::optional<ExitStatus> exit_status_;
};

// Spawns, waits up to `timeout`, and returns how the child ended (a non-zero exit is a value, not
// an error). On timeout the child is killed and DeadlineExceeded returned.
[[nodiscard]] Result<ExitStatus> RunToCompletion(SubprocessOptions options,
                                                 std::chrono::milliseconds timeout);

// The last `max_bytes` of a file (starting at a line boundary when one is near), for error
// messages that show the end of a server log. Empty if the file cannot be read.
std::string ReadFileTail(const std::string& path, std::size_t max_bytes = 4096);

}  // namespace ferry::testing

#endif  // FERRY_TEST_HARNESS_PROCESS_H_
