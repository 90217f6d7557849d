#include "harness/process.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

extern char** environ;

namespace ferry::testing {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

// What the child does between fork and exec. Everything is prepared before the fork: the child
// may only make async-signal-safe calls (no allocation, no locks), because another thread of the
// test may have held the allocator's lock at the moment of the fork.
struct ChildPlan {
  const char* program = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* stdout_path = nullptr;  // null: inherit
  const char* stderr_path = nullptr;  // null: inherit
  bool stderr_to_stdout = false;      // same file for both
  const char* working_dir = nullptr;  // null: inherit
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  int parent_death_signal = 0;
  pid_t parent_pid = 0;
  bool new_process_group = true;
  int error_fd = -1;  // write end of a CLOEXEC pipe: silent on a successful exec
  int max_fd = 1024;  // fallback bound when close_range is unavailable
};

// Stages of the child setup, reported through the error pipe when one fails.
enum class ChildStage : int {
  kSetpgid,
  kSignals,
  kStdin,
  kStdout,
  kStderr,
  kChdir,
  kSetgroups,
  kSetgid,
  kSetuid,
  kPdeathsig,
  kParentGone,
  kExec,
};

const char* StageName(ChildStage stage) {
  switch (stage) {
    case ChildStage::kSetpgid: return "setpgid";
    case ChildStage::kSignals: return "resetting signal handlers";
    case ChildStage::kStdin: return "opening /dev/null as stdin";
    case ChildStage::kStdout: return "opening the stdout file";
    case ChildStage::kStderr: return "opening the stderr file";
    case ChildStage::kChdir: return "chdir to the working directory";
    case ChildStage::kSetgroups: return "setgroups";
    case ChildStage::kSetgid: return "setgid";
    case ChildStage::kSetuid: return "setuid";
    case ChildStage::kPdeathsig: return "prctl(PR_SET_PDEATHSIG)";
    case ChildStage::kParentGone: return "checking the parent is alive";
    case ChildStage::kExec: return "execve";
  }
  return "?";
}

struct ChildError {
  ChildStage stage;
  int err;
};

[[noreturn]] void ChildFail(const ChildPlan& plan, ChildStage stage) {
  ChildError error{.stage = stage, .err = errno};
  ssize_t unused = write(plan.error_fd, &error, sizeof(error));
  (void)unused;
  _exit(127);
}

void CloseFrom(int first, int last_inclusive, int max_fd) {
  if (first > last_inclusive) return;
  if (close_range(static_cast<unsigned>(first), static_cast<unsigned>(last_inclusive), 0) == 0) {
    return;
  }
  for (int fd = first; fd <= std::min(last_inclusive, max_fd); ++fd) close(fd);
}

// Opens `path` for appending and moves it onto `target_fd`.
bool RedirectTo(const char* path, int flags, int target_fd) {
  int fd = open(path, flags, 0644);
  if (fd < 0) return false;
  if (fd != target_fd) {
    if (dup2(fd, target_fd) < 0) return false;
    close(fd);
  }
  return true;
}

[[noreturn]] void ChildMain(const ChildPlan& plan) {
  if (plan.new_process_group && setpgid(0, 0) != 0) ChildFail(plan, ChildStage::kSetpgid);

  // Ignored signals and the signal mask survive exec; a server must start with defaults.
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, nullptr) != 0) ChildFail(plan, ChildStage::kSignals);
  struct sigaction default_action;
  std::memset(&default_action, 0, sizeof(default_action));
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &default_action, nullptr);  // fails harmlessly for reserved signals
  }

  // Descriptors the test had open (client sockets, log files) must not leak into the server.
  CloseFrom(3, plan.error_fd - 1, plan.max_fd);
  CloseFrom(plan.error_fd + 1, ~0U >> 1, plan.max_fd);

  if (!RedirectTo("/dev/null", O_RDONLY, STDIN_FILENO)) ChildFail(plan, ChildStage::kStdin);
  constexpr int kAppend = O_WRONLY | O_CREAT | O_APPEND;
  if (plan.stdout_path != nullptr && !RedirectTo(plan.stdout_path, kAppend, STDOUT_FILENO)) {
    ChildFail(plan, ChildStage::kStdout);
  }
  if (plan.stderr_to_stdout) {
    if (dup2(STDOUT_FILENO, STDERR_FILENO) < 0) ChildFail(plan, ChildStage::kStderr);
  } else if (plan.stderr_path != nullptr && !RedirectTo(plan.stderr_path, kAppend, STDERR_FILENO)) {
    ChildFail(plan, ChildStage::kStderr);
  }
  if (plan.working_dir != nullptr && chdir(plan.working_dir) != 0) {
    ChildFail(plan, ChildStage::kChdir);
  }
  if (plan.switch_user) {
    // Group first: after setuid we no longer have the right to change it.
    if (setgroups(1, &plan.gid) != 0) ChildFail(plan, ChildStage::kSetgroups);
    if (setgid(plan.gid) != 0) ChildFail(plan, ChildStage::kSetgid);
    if (setuid(plan.uid) != 0) ChildFail(plan, ChildStage::kSetuid);
  }
  // After the uid change: the kernel clears the parent-death signal when credentials change.
  if (plan.parent_death_signal != 0) {
    if (prctl(PR_SET_PDEATHSIG, plan.parent_death_signal) != 0) {
      ChildFail(plan, ChildStage::kPdeathsig);
    }
    // The parent may have died before prctl: then no signal would ever come.
    if (getppid() != plan.parent_pid) {
      errno = ESRCH;
      ChildFail(plan, ChildStage::kParentGone);
    }
  }
  execve(plan.program, plan.argv, plan.envp);
  ChildFail(plan, ChildStage::kExec);
}

// A thread that lives as long as the process and does the forks whose child must receive a
// parent-death signal: PR_SET_PDEATHSIG fires when the forking *thread* exits, and a test's worker
// thread may exit long before the test process does.
class ForkThread {
 public:
  static ForkThread& Get() {
    static auto* const kInstance = new ForkThread();  // never deleted: see Run()
    return *kInstance;
  }

  // Forks on the helper thread; returns fork()'s result in the parent (-1 with errno in *err).
  pid_t Fork(const ChildPlan& plan, int* err) {
    std::unique_lock lock(mu_);
    idle_.wait(lock, [&] { return request_ == nullptr; });
    request_ = &plan;
    done_ = false;
    wake_.notify_all();
    finished_.wait(lock, [&] { return done_; });
    *err = error_;
    pid_t pid = pid_;
    request_ = nullptr;
    idle_.notify_all();
    return pid;
  }

 private:
  ForkThread() {
    std::thread([this] { Run(); }).detach();
  }

  // Never returns; the objects it waits on are never destroyed, so process exit (which runs
  // static destructors while this thread is blocked) is safe.
  [[noreturn]] void Run() {
    std::unique_lock lock(mu_);
    for (;;) {
      wake_.wait(lock, [&] { return request_ != nullptr && !done_; });
      pid_t pid = fork();
      if (pid == 0) ChildMain(*request_);
      pid_ = pid;
      error_ = pid < 0 ? errno : 0;
      done_ = true;
      finished_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable finished_;
  std::condition_variable idle_;
  const ChildPlan* request_ = nullptr;  // GUARDED_BY(mu_)
  bool done_ = false;                   // GUARDED_BY(mu_)
  pid_t pid_ = -1;                      // GUARDED_BY(mu_)
  int error_ = 0;                       // GUARDED_BY(mu_)
};

Result<std::string> FindProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), X_OK) != 0) {
      return Err(NotFound("program {} is not executable: {}", name, ErrnoText(errno)));
    }
    return name;
  }
  const char* path = getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = fmt::format("{}/{}", dir, name);
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return Err(NotFound("program `{}` not found on PATH ({})", name, dirs));
}

struct UserIds {
  uid_t uid;
  gid_t gid;
};

Result<UserIds> LookUpUser(const std::string& user) {
  std::vector<char> buffer(16384);
  struct passwd entry;
  struct passwd* found = nullptr;
  int rc = getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (found == nullptr) {
    return Err(NotFound("user `{}` does not exist on this machine{}", user,
                        rc != 0 ? ": " + ErrnoText(rc) : ""));
  }
  return UserIds{.uid = entry.pw_uid, .gid = entry.pw_gid};
}

std::optional<ExitStatus> DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return ExitStatus{.exit_code = WEXITSTATUS(status), .signal = 0};
  if (WIFSIGNALED(status)) return ExitStatus{.exit_code = 0, .signal = WTERMSIG(status)};
  return std::nullopt;  // stopped or continued: still alive
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (signal == 0) return fmt::format("exited with code {}", exit_code);
  const char* name = sigabbrev_np(signal);
  return fmt::format("killed by signal {} (SIG{})", signal, name != nullptr ? name : "?");
}

Result<std::unique_ptr<Subprocess>> Subprocess::Spawn(SubprocessOptions options) {
  if (options.argv.empty()) return Err(InvalidArgument("Subprocess::Spawn: argv is empty"));
  FERRY_ASSIGN_OR_RETURN(std::string program, FindProgram(options.argv[0]));

  ChildPlan plan;
  if (!options.user.empty()) {
    FERRY_ASSIGN_OR_RETURN(UserIds ids, LookUpUser(options.user));
    if (ids.uid != geteuid()) {
      if (geteuid() != 0) {
        return Err(PermissionDenied("running {} as user `{}` needs root; this test runs as uid {}",
                                    program, options.user, geteuid()));
      }
      plan.switch_user = true;
      plan.uid = ids.uid;
      plan.gid = ids.gid;
    }
  }

  // Everything the child touches is built now: the child must not allocate.
  std::vector<char*> argv;
  argv.reserve(options.argv.size() + 1);
  for (std::string& arg : options.argv) argv.push_back(arg.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_strings;
  auto overridden = [&](std::string_view entry) {
    std::string_view name = entry.substr(0, entry.find('='));
    if (std::ranges::find(options.env_unset, name) != options.env_unset.end()) return true;
    return std::ranges::any_of(options.env_set, [&](const auto& kv) { return kv.first == name; });
  };
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    if (!overridden(*entry)) env_strings.emplace_back(*entry);
  }
  for (const auto& [name, value] : options.env_set) {
    env_strings.push_back(fmt::format("{}={}", name, value));
  }
  std::vector<char*> envp;
  envp.reserve(env_strings.size() + 1);
  for (std::string& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return Err(Internal("spawning {}: pipe2: {}", program, ErrnoText(errno)));
  }
  struct rlimit limit;
  plan.max_fd = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
                    ? static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1 << 16))
                    : 1 << 16;
  plan.program = program.c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.stdout_path = options.stdout_path.empty() ? nullptr : options.stdout_path.c_str();
  plan.stderr_to_stdout =
      !options.stderr_path.empty() && options.stderr_path == options.stdout_path;
  plan.stderr_path = options.stderr_path.empty() ? nullptr : options.stderr_path.c_str();
  plan.working_dir = options.working_dir.empty() ? nullptr : options.working_dir.c_str();
  plan.parent_death_signal = options.parent_death_signal;
  plan.parent_pid = getpid();
  plan.new_process_group = options.new_process_group;
  plan.error_fd = pipe_fds[1];

  pid_t pid;
  int fork_errno = 0;
  if (options.parent_death_signal != 0 && gettid() != getpid()) {
    pid = ForkThread::Get().Fork(plan, &fork_errno);
  } else {
    pid = fork();
    if (pid == 0) ChildMain(plan);
    fork_errno = errno;
  }
  close(pipe_fds[1]);
  if (pid < 0) {
    close(pipe_fds[0]);
    return Err(ResourceExhausted("spawning {}: fork: {}", program, ErrnoText(fork_errno)));
  }
  if (options.new_process_group) setpgid(pid, pid);  // also in the parent: no race with Signal

  ChildError child_error;
  ssize_t got;
  do {
    got = read(pipe_fds[0], &child_error, sizeof(child_error));
  } while (got < 0 && errno == EINTR);
  close(pipe_fds[0]);
  if (got == static_cast<ssize_t>(sizeof(child_error))) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string detail;
    if (child_error.stage == ChildStage::kStdout) detail = " " + options.stdout_path;
    if (child_error.stage == ChildStage::kStderr) detail = " " + options.stderr_path;
    if (child_error.stage == ChildStage::kChdir) detail = " " + options.working_dir;
    return Err(Internal("spawning {}{}: {}{} failed: {}", program,
                        options.user.empty() ? "" : " as user " + options.user,
                        StageName(child_error.stage), detail, ErrnoText(child_error.err)));
  }
  return std::unique_ptr<Subprocess>(new Subprocess(std::move(options), pid));
}

Subprocess::Subprocess(SubprocessOptions options, pid_t pid)
    : options_(std::move(options)), pid_(pid), owner_pid_(getpid()) {}

Subprocess::~Subprocess() {
  if (getpid() != owner_pid_ || exit_status_.has_value()) return;
  if (Poll().has_value()) return;
  StatusOf(Kill()).IgnoreError();
}

std::string Subprocess::CommandLine() const {
  std::string line;
  for (const std::string& arg : options_.argv) {
    if (!line.empty()) line += ' ';
    line += arg;
  }
  return line;
}

Status Subprocess::CheckOwner() const {
  if (getpid() == owner_pid_) return OkStatus();
  return FailedPrecondition("`{}` (pid {}) belongs to process {}, not to its forked copy {}",
                            CommandLine(), pid_, owner_pid_, getpid());
}

std::optional<ExitStatus> Subprocess::Poll() {
  if (exit_status_.has_value()) return exit_status_;
  if (!CheckOwner().ok()) return std::nullopt;  // not our child: waitpid would say ECHILD
  for (;;) {
    int status = 0;
    pid_t got = waitpid(pid_, &status, WNOHANG);
    if (got == 0) return std::nullopt;
    if (got == pid_) {
      exit_status_ = DecodeWaitStatus(status);
      return exit_status_;
    }
    if (errno == EINTR) continue;
    // ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN, or a stray waitpid(-1)).
    exit_status_ = ExitStatus{.exit_code = -1, .signal = 0};
    return exit_status_;
  }
}

Result<ExitStatus> Subprocess::Wait(std::chrono::milliseconds timeout) {
  FERRY_RETURN_IF_ERROR(CheckOwner());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::microseconds(500);
  for (;;) {
    if (std::optional<ExitStatus> status = Poll()) return *status;
    if (std::chrono::steady_clock::now() >= deadline) {
      return Err(DeadlineExceeded("`{}` (pid {}) still running after {} ms", CommandLine(), pid_,
                                  timeout.count()));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(20));
  }
}

Status Subprocess::Signal(int signal) {
  FERRY_RETURN_IF_ERROR(CheckOwner());
  if (Poll().has_value()) return OkStatus();
  if (kill(pid_, signal) != 0 && errno != ESRCH) {
    return Internal("kill({}, {}) for `{}`: {}", pid_, signal, CommandLine(), ErrnoText(errno));
  }
  return OkStatus();
}

Status Subprocess::SignalGroup(int signal) {
  FERRY_RETURN_IF_ERROR(CheckOwner());
  if (!options_.new_process_group) return Signal(signal);
  // The group may outlive its leader (orphaned children), so no Poll() shortcut here. A process
  // group id is not reused while any member is alive, so this cannot hit a stranger.
  if (kill(-pid_, signal) != 0 && errno != ESRCH) {
    return Internal("kill(-{}, {}) for `{}`: {}", pid_, signal, CommandLine(), ErrnoText(errno));
  }
  return OkStatus();
}

Result<ExitStatus> Subprocess::Stop(int signal, std::chrono::milliseconds grace) {
  FERRY_RETURN_IF_ERROR(CheckOwner());
  if (std::optional<ExitStatus> ended = Poll()) return *ended;
  FERRY_RETURN_IF_ERROR(Signal(signal));
  Result<ExitStatus> ended = Wait(grace);
  if (ended.has_value()) return *ended;
  return Kill();
}

Result<ExitStatus> Subprocess::Kill() {
  FERRY_RETURN_IF_ERROR(CheckOwner());
  if (std::optional<ExitStatus> ended = Poll()) return *ended;
  FERRY_RETURN_IF_ERROR(SignalGroup(SIGKILL));
  Result<ExitStatus> killed = Wait(std::chrono::seconds(10));
  if (!killed.has_value()) {
    return Err(Internal("`{}` (pid {}) survived SIGKILL for 10 s (stuck in the kernel?)",
                        CommandLine(), pid_));
  }
  return *killed;
}

Result<ExitStatus> RunToCompletion(SubprocessOptions options, std::chrono::milliseconds timeout) {
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<Subprocess> process,
                         Subprocess::Spawn(std::move(options)));
  Result<ExitStatus> status = process->Wait(timeout);
  if (!status.has_value()) {
    StatusOf(process->Kill()).IgnoreError();
    return Err(DeadlineExceeded("`{}` did not finish within {} ms; killed it",
                                process->CommandLine(), timeout.count()));
  }
  return status;
}

std::string ReadFileTail(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size <= 0) return "";
  std::streamoff start = size > static_cast<std::streamoff>(max_bytes)
                             ? size - static_cast<std::streamoff>(max_bytes)
                             : 0;
  in.seekg(start);
  std::string tail(static_cast<std::size_t>(size - start), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  tail.resize(static_cast<std::size_t>(in.gcount()));
  if (start > 0) {
    std::size_t newline = tail.find('\n');
    if (newline != std::string::npos && newline < 256) tail.erase(0, newline + 1);
    tail.insert(0, "...\n");
  }
  return tail;
}

}  // namespace ferry::testing
