// The task types of docs/workflow.md ("Task types"): what one attempt of each does, and its undo.
//
// Three kinds of work:
// - checks and smoke tests run in this process (a connector, for SQL too, statvfs, getaddrinfo,
//   TCP connects, an HTTP client, a TLS handshake); all but a smoke test's own SQL only read;
// - `command` and `cutover` run a configured shell command as a child process;
// - `iac.write`, `copy` and `verify` run the ferry binary itself as a child process, so that a
//   copy keeps its own store-backed run (resumed chunk by chunk after a crash) and a crash of the
//   copy cannot take the engine down with it.
// A child is in its own process group, dies with ferry (PR_SET_PDEATHSIG), and is killed, with
// its whole group, when the attempt is cancelled or times out.
#include "workflow/executors.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/config.h"
#include "base/log.h"
#include "base/url.h"
#include "connect/connector.h"
#include "store/store.h"

extern char** environ;

namespace ferry::workflow {
namespace {

// ---------------------------------------------------------------------------------------------
// Parameters

// "task `copy-bank` (copy)": how every error starts.
std::string Who(const TaskRun& run) {
  return fmt::format("task `{}` ({})", run.spec->id, run.spec->type);
}

Env* EnvOf(const TaskRun& run) { return run.env != nullptr ? run.env : Env::Default(); }

std::optional<std::string> OptionalParam(const TaskRun& run, std::string_view key) {
  const Json& with = run.spec->with;
  if (!with.is_object()) return std::nullopt;
  auto it = with.find(std::string(key));
  if (it == with.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// A required `with` parameter. `example` shows what it looks like.
Result<std::string> Param(const TaskRun& run, std::string_view key, std::string_view example) {
  std::optional<std::string> value = OptionalParam(run, key);
  if (!value || value->empty()) {
    return Err(
        InvalidArgument("{}: `with` has no `{}`; add it to the task, e.g. `with: {{{}: {}}}`",
                        Who(run), key, key, example));
  }
  return *value;
}

// "10GiB", "10GB", "512MiB", "1024": a byte count. Binary (KiB, MiB, GiB, TiB, PiB) and decimal
// (KB, MB, GB, TB, PB) units; a bare number is bytes.
Result<uint64_t> ParseByteSize(std::string_view text) {
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end == text.data()) {
    return Err(InvalidArgument("`{}` is not a size; write e.g. 10GiB, 500MB or 1048576", text));
  }
  std::string unit(end, text.data() + text.size());
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  static const std::vector<std::pair<std::string_view, uint64_t>> kUnits = {
      {"", 1},
      {"B", 1},
      {"KB", 1000ULL},
      {"MB", 1000ULL * 1000},
      {"GB", 1000ULL * 1000 * 1000},
      {"TB", 1000ULL * 1000 * 1000 * 1000},
      {"PB", 1000ULL * 1000 * 1000 * 1000 * 1000},
      {"KiB", 1ULL << 10},
      {"MiB", 1ULL << 20},
      {"GiB", 1ULL << 30},
      {"TiB", 1ULL << 40},
      {"PiB", 1ULL << 50}};
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    if (number > UINT64_MAX / factor) return Err(InvalidArgument("`{}` is too large", text));
    return number * factor;
  }
  return Err(InvalidArgument("`{}`: unknown unit `{}`; use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB",
                             text, unit));
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes >= (1ULL << 30))
    return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1ULL << 30));
  if (bytes >= (1ULL << 20))
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1ULL << 20));
  return fmt::format("{} bytes", bytes);
}

Result<uint16_t> ParsePort(const TaskRun& run, std::string_view text) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535) {
    return Err(
        InvalidArgument("{}: `port` {} is not a TCP port; expected 1 to 65535", Who(run), text));
  }
  return static_cast<uint16_t>(port);
}

// A file or directory name made from a task id: what is not [A-Za-z0-9._-] becomes '_'.
std::string SafeName(std::string_view id) {
  std::string out(id);
  for (char& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  if (out.empty() || out.front() == '.') out.insert(out.begin(), '_');
  return out;
}

// For error messages: the last `lines` non-empty lines of the file at `path`, from byte `from` on
// (where this run's output began in a log that keeps earlier runs'), joined by " | ".
std::string Tail(Env* env, const std::string& path, int lines, int64_t from = 0) {
  Result<std::string> text = env->ReadFile(path);
  if (!text.has_value()) return "";
  std::vector<std::string> out;
  std::string_view rest = *text;
  rest.remove_prefix(std::min(rest.size(), static_cast<size_t>(std::max<int64_t>(0, from))));
  while (!rest.empty() && static_cast<int>(out.size()) < lines) {
    while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r')) rest.remove_suffix(1);
    const size_t nl = rest.rfind('\n');
    std::string_view line = nl == std::string_view::npos ? rest : rest.substr(nl + 1);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(0, nl);
    if (line.size() > 400) line = line.substr(line.size() - 400);
    if (!line.empty()) out.emplace_back(line);
  }
  std::reverse(out.begin(), out.end());
  return fmt::format("{}", fmt::join(out, " | "));
}

// ---------------------------------------------------------------------------------------------
// Child processes

struct ChildSpec {
  std::vector<std::string> argv;                         // argv[0] is an absolute path
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing) ours
  std::string stdout_path;  // created (truncated), or appended to when it is the log too
  // The log, appended to: an attempt run again under the same number (after ferry stopped, its
  // lease is given back without counting it; a resume starts counting again) keeps the lines of
  // the one before, after which ferry writes `again_note` in `log_format`. When it is
  // stdout_path too, both streams go into it.
  std::string stderr_path;
  LogFormat log_format = LogFormat::kHuman;
  std::string_view again_note =
      "ferry runs the task again; the lines above are from an earlier run of it (one "
      "interrupted when ferry stopped, or one before a resume or a rollback)";
  // Gives the child a pipe in FERRY_PROGRESS_FD and hands each line it writes to this.
  std::function<void(std::string_view line)> on_progress_line;
  std::string what;  // "`run`", "ferry copy": for messages
};

enum class ChildEnding { kExited, kSignalled, kCancelled, kTimedOut };

struct ChildOutcome {
  ChildEnding ending = ChildEnding::kExited;
  int exit_code = 0;
  int signal = 0;
  double seconds = 0;
  int64_t log_offset = 0;  // where this run's lines begin in the log (Tail's `from`)
};

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    Reset();
    fd_ = std::exchange(other.fd_, -1);
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Result<Fd> OpenOutput(const std::string& path, bool append = false) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC) | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Err(Unavailable("cannot create {}: {}; check the run's work directory", path,
                           std::strerror(errno)));
  }
  return Fd(fd);
}

// Closes every descriptor from 3 up, except `keep` (sorted, each >= 3). Async-signal-safe.
void CloseAllBut(const int* keep, int count) {
  unsigned first = 3;
  for (int i = 0; i < count; ++i) {
    const auto k = static_cast<unsigned>(keep[i]);
    if (k > first) ::close_range(first, k - 1, 0);
    first = std::max(first, k + 1);
  }
  ::close_range(first, ~0U, 0);
}

// Signals the child's process group, then waits for the child (not reaping it) up to `grace`.
bool SignalGroupAndWait(pid_t pid, int signal, int64_t grace_ms) {
  ::kill(-pid, signal);
  for (int64_t waited = 0; waited <= grace_ms; waited += 10) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid) {
      return true;
    }
    ::usleep(10'000);
  }
  return false;
}

// Runs the child to its end, polling run.cancelled() every 50 ms. On cancel or timeout the
// child's group gets SIGTERM, then SIGKILL 300 ms later (a copy killed is resumed by its next
// attempt; a command must tolerate it as it tolerates a crash).
Result<ChildOutcome> RunChild(const TaskRun& run, const ChildSpec& spec) {
  const bool one_file = spec.stderr_path == spec.stdout_path;
  FERRY_ASSIGN_OR_RETURN(Fd out, OpenOutput(spec.stdout_path, /*append=*/one_file));
  Fd err;
  if (!one_file) {
    FERRY_ASSIGN_OR_RETURN(err, OpenOutput(spec.stderr_path, /*append=*/true));
  }
  const int log_fd = one_file ? out.get() : err.get();
  struct stat log_stat{};
  int64_t log_offset = 0;
  if (::fstat(log_fd, &log_stat) == 0 && log_stat.st_size > 0) {
    std::string note = FormatLogRecord(spec.log_format, LogLevel::kWarn, spec.again_note,
                                       {{"task", run.spec->id}, {"attempt", run.attempt}});
    note = "\n" + note + "\n";  // the interrupted attempt's last line may lack its newline
    if (::write(log_fd, note.data(), note.size()) < 0) {
      return Err(Unavailable("{}: cannot write to {}: {}; check the run's work directory", Who(run),
                             spec.stderr_path, std::strerror(errno)));
    }
    log_offset = static_cast<int64_t>(log_stat.st_size) + static_cast<int64_t>(note.size());
  }
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int progress[2] = {-1, -1};
  if (spec.on_progress_line && ::pipe2(progress, O_CLOEXEC) != 0) {
    return Err(ResourceExhausted("{}: cannot create a pipe: {}", Who(run), std::strerror(errno)));
  }
  Fd progress_read(progress[0]);
  Fd progress_write(progress[1]);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    return Err(ResourceExhausted("{}: cannot create a pipe: {}", Who(run), std::strerror(errno)));
  }
  Fd report_read(report[0]);
  Fd report_write(report[1]);

  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<std::pair<std::string, std::string>> extra = spec.env;
  if (progress_write.get() >= 0) {
    extra.emplace_back("FERRY_PROGRESS_FD", std::to_string(progress_write.get()));
  }
  std::vector<std::string> env_strings;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    const std::string_view name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : extra) replaced = replaced || k == name;
    if (!replaced) env_strings.emplace_back(entry);
  }
  for (const auto& [k, v] : extra) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = spec.argv;
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  int keep[2] = {progress_write.get(), report_write.get()};
  int keep_count = 2;
  if (keep[0] < 0) {
    keep[0] = keep[1];
    keep_count = 1;
  } else if (keep[0] > keep[1]) {
    std::swap(keep[0], keep[1]);
  }
  const int out_fd = out.get();
  const int err_fd = err.get() >= 0 ? err.get() : out.get();
  const int in_fd = devnull.get();
  const int progress_fd = progress_write.get();
  const int report_fd = report_write.get();
  const pid_t parent = ::getpid();
  const int64_t start = EnvOf(run)->MonotonicMicros();

  const pid_t pid = ::fork();
  if (pid < 0) {
    return Err(ResourceExhausted("{}: cannot start {}: fork: {}", Who(run), spec.what,
                                 std::strerror(errno)));
  }
  if (pid == 0) {
    auto fail = [&](int stage) {
      const int e[2] = {stage, errno};
      ssize_t unused = ::write(report_fd, e, sizeof(e));
      (void)unused;
      ::_exit(127);
    };
    ::setpgid(0, 0);
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(1);
    if (::getppid() != parent) ::_exit(127);  // ferry died before prctl: no signal would come
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
    if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) fail(2);
    if (progress_fd >= 0 && ::fcntl(progress_fd, F_SETFD, 0) != 0) fail(2);
    CloseAllBut(keep, keep_count);
    ::execve(argv[0], argv.data(), envp.data());
    fail(3);
  }
  ::setpgid(pid, pid);  // also here, so that a signal to the group never races the child's own
  report_write.Reset();
  progress_write.Reset();
  int failure[2] = {0, 0};
  ssize_t got = 0;
  do {
    got = ::read(report_read.get(), failure, sizeof(failure));
  } while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof(failure))) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    static constexpr std::string_view kStages[] = {"", "prctl", "redirecting its output", "execve"};
    return Err(FailedPrecondition(
        "{}: cannot start {} ({}: {}): check that {} exists and is "
        "executable",
        Who(run), spec.what, kStages[failure[0] & 3], std::strerror(failure[1]), spec.argv[0]));
  }

  std::string pending;  // a progress line not complete yet
  auto drain = [&] {
    if (progress_read.get() < 0) return;
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::read(progress_read.get(), buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(buffer, static_cast<size_t>(n));
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        spec.on_progress_line(std::string_view(pending).substr(0, nl));
        pending.erase(0, nl + 1);
      }
      if (n < static_cast<ssize_t>(sizeof(buffer))) break;
    }
  };
  if (progress_read.get() >= 0) ::fcntl(progress_read.get(), F_SETFL, O_NONBLOCK);
  const int64_t timeout = run.spec->timeout_micros;
  ChildOutcome outcome;
  outcome.log_offset = log_offset;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      drain();
      outcome.ending = WIFSIGNALED(status) ? ChildEnding::kSignalled : ChildEnding::kExited;
      outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      outcome.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      break;
    }
    if (done < 0 && errno == ECHILD) {
      // Reaped by someone else (SIGCHLD set to SIG_IGN, a stray waitpid(-1)): its exit code is
      // lost, so the attempt cannot say it succeeded.
      ::kill(-pid, SIGKILL);
      return Err(
          Internal("{}: {} was reaped by another part of this process, its exit code is "
                   "lost; run the task again (its output is in {})",
                   Who(run), spec.what, spec.stderr_path));
    }
    const bool cancelled = run.cancelled();
    const bool timed_out = timeout > 0 && EnvOf(run)->MonotonicMicros() - start >= timeout;
    if (cancelled || timed_out) {
      if (!SignalGroupAndWait(pid, SIGTERM, 300)) SignalGroupAndWait(pid, SIGKILL, 5000);
      ::kill(-pid, SIGKILL);  // what is left of its group (the child is not reaped yet)
      ::waitpid(pid, &status, 0);
      outcome.ending = cancelled ? ChildEnding::kCancelled : ChildEnding::kTimedOut;
      break;
    }
    if (progress_read.get() >= 0) {
      pollfd p{.fd = progress_read.get(), .events = POLLIN, .revents = 0};
      ::poll(&p, 1, 50);
      drain();
    } else {
      ::usleep(50'000);
    }
  }
  outcome.seconds = static_cast<double>(EnvOf(run)->MonotonicMicros() - start) / 1e6;
  return outcome;
}

// The common failures of a child: cancelled, timed out, killed by a signal. nullopt when it
// exited (the caller reads the exit code).
std::optional<Status> ChildFailure(const TaskRun& run, const ChildSpec& spec,
                                   const ChildOutcome& outcome, const std::string& log) {
  switch (outcome.ending) {
    case ChildEnding::kCancelled:
      return Cancelled("{}: cancelled; {} was stopped (its process group killed) after {:.1f} s",
                       Who(run), spec.what, outcome.seconds);
    case ChildEnding::kTimedOut:
      return DeadlineExceeded(
          "{}: {} did not finish within the task's timeout of {:.1f} s and was killed; raise "
          "`timeout:` or find what it waits on in {}",
          Who(run), spec.what, static_cast<double>(run.spec->timeout_micros) / 1e6, log);
    case ChildEnding::kSignalled:
      return Unavailable("{}: {} was killed by signal {} ({}); its output is in {}", Who(run),
                         spec.what, outcome.signal, strsignal(outcome.signal), log);
    case ChildEnding::kExited: return std::nullopt;
  }
  return std::nullopt;
}

Status PrepareWorkDir(const TaskRun& run) {
  if (run.work_dir.empty()) {
    return FailedPrecondition("{}: the run has no work directory for the task's output", Who(run));
  }
  Status made = EnvOf(run)->CreateDirs(run.work_dir);
  if (!made.ok()) return made.WithContext(Who(run));
  return OkStatus();
}

std::vector<std::pair<std::string, std::string>> TaskEnvironment(const TaskRun& run) {
  return {{"FERRY_RUN_ID", run.run_id},
          {"FERRY_TASK_ID", run.spec->id},
          {"FERRY_ATTEMPT", std::to_string(run.attempt)}};
}

// ---------------------------------------------------------------------------------------------
// command, cutover

// Runs `command` with /bin/sh -c, output into work_dir/<task>.<label>.log.
Result<Json> RunShell(const TaskRun& run, const std::string& key, const std::string& command,
                      const std::string& label) {
  FERRY_RETURN_IF_ERROR(PrepareWorkDir(run));
  const std::string name = fmt::format("{}.{}.log", SafeName(run.spec->id), label);
  const std::string log = run.work_dir + "/" + name;
  ChildSpec spec{.argv = {"/bin/sh", "-c", command},
                 .env = TaskEnvironment(run),
                 .stdout_path = log,
                 .stderr_path = log,
                 .what = fmt::format("`{}` ({})", key, command)};
  if (label == "undo") {
    spec.env.emplace_back("FERRY_UNDO", "1");
    spec.again_note = "ferry runs the undo again; the lines above are from an earlier run of it";
  }
  FERRY_ASSIGN_OR_RETURN(ChildOutcome outcome, RunChild(run, spec));
  if (std::optional<Status> failed = ChildFailure(run, spec, outcome, log)) return Err(*failed);
  if (outcome.exit_code != 0) {
    const std::string tail = Tail(EnvOf(run), log, 5, outcome.log_offset);
    return Err(FailedPrecondition(
        "{}: `{}` ({}) exited with code {}{}; the whole output is in {}; fix the command (or "
        "what it acts on) and resume the run",
        Who(run), key, command, outcome.exit_code,
        tail.empty() ? std::string(" and printed nothing")
                     : fmt::format("; its last lines: {}", tail),
        log));
  }
  return Json{{"command", command},
              {"exit_code", 0},
              {"seconds", outcome.seconds},
              {"log", name},
              {"artifacts", Json::array({name})}};
}

Result<Json> ExecuteCommand(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(std::string command, Param(run, "run", "\"./switch-dns.sh\""));
  return RunShell(run, "run", command, fmt::format("attempt-{}", run.attempt));
}

Result<Json> UndoCommand(const TaskRun& run) {
  std::optional<std::string> undo = OptionalParam(run, "undo");
  if (!undo || undo->empty()) {
    return Json{{"undo", "none"}, {"note", "the task declares no `undo` command"}};
  }
  FERRY_ASSIGN_OR_RETURN(Json ran, RunShell(run, "undo", *undo, "undo"));
  ran["undo"] = "ran";
  return ran;
}

// ---------------------------------------------------------------------------------------------
// SQL on a database by URL, for the checks and smoke tests that need more than a table list:
// through its connector (SQLite read-only, PostgreSQL, MySQL/MariaDB), connecting within 10 s.

Result<std::unique_ptr<Connector>> OpenDatabase(const TaskRun& run, const std::string& url,
                                                std::string_view way_out);

struct SqlAnswer {
  TextRows rows;
  std::string server_version;  // "15.8", "10.11.6-MariaDB", "3.40.1"
  std::string engine;
};

Result<SqlAnswer> RunSql(const TaskRun& run, const std::string& url, const std::string& sql) {
  FERRY_ASSIGN_OR_RETURN(auto db, OpenDatabase(run, url, ""));
  SqlAnswer answer{.engine = std::string(db->engine())};
  Result<std::string> version = db->ServerVersion();
  if (!version.has_value()) return Err(version.error().WithContext(Who(run)));
  answer.server_version = std::move(*version);
  if (sql.empty()) return answer;
  // A statement is bounded as an HTTP answer is: by the task's `timeout`, else 30 s.
  const int64_t limit_millis =
      run.spec->timeout_micros > 0 ? std::max<int64_t>(1, run.spec->timeout_micros / 1000) : 30'000;
  Result<TextRows> rows = db->Query(sql, limit_millis);
  if (!rows.has_value() && rows.error().code() == StatusCode::kDeadlineExceeded) {
    return Err(DeadlineExceeded(
        "{}: {}; raise the task's `timeout:` (without one a statement has 30 s) or make the "
        "statement faster",
        Who(run), rows.error().message()));
  }
  if (!rows.has_value()) return Err(rows.error().WithContext(Who(run)));
  answer.rows = std::move(*rows);
  return answer;
}

// ---------------------------------------------------------------------------------------------
// Checks

Result<std::unique_ptr<Connector>> OpenDatabase(const TaskRun& run, const std::string& url,
                                                std::string_view way_out) {
  // A server that does not answer fails the check in 10 s rather than after TCP's own timeout.
  std::string bounded = url;
  if ((url.starts_with("postgresql://") || url.starts_with("postgres://")) &&
      url.find("connect_timeout=") == std::string::npos) {
    bounded += url.find('?') == std::string::npos ? "?connect_timeout=10" : "&connect_timeout=10";
  }
  Result<std::unique_ptr<Connector>> opened = Connector::Open(bounded);
  if (!opened.has_value()) {
    return Err(Status(opened.error().code(),
                      fmt::format("{}: {}{}", Who(run), opened.error().message(), way_out)));
  }
  return opened;
}

Result<Json> CheckConnect(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(std::string url, Param(run, "url", "\"postgresql://app@db:5432/bank\""));
  FERRY_ASSIGN_OR_RETURN(auto db, OpenDatabase(run, url, ""));
  Result<std::vector<std::string>> tables = db->ListTables();
  if (!tables.has_value()) return Err(tables.error().WithContext(Who(run)));
  return Json{{"engine", db->engine()}, {"location", db->location()}, {"tables", tables->size()}};
}

Result<Json> CheckCredentials(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(std::string url, Param(run, "url", "\"postgresql://app@db:5432/bank\""));
  FERRY_ASSIGN_OR_RETURN(
      auto db, OpenDatabase(run, url,
                            " (the log-in with the credentials the URL names was refused or "
                            "could not be tried; fix the user or password, or grant it access)"));
  // Reading the catalogue proves the user may do more than connect.
  Result<std::vector<std::string>> tables = db->ListTables();
  if (!tables.has_value()) {
    return Err(
        PermissionDenied("{}: {}: logged in, but cannot read the catalogue: {}; grant the "
                         "user access to the database",
                         Who(run), db->location(), tables.error().message()));
  }
  return Json{{"engine", db->engine()},
              {"location", db->location()},
              {"logged_in", true},
              {"tables_visible", tables->size()}};
}

// "15.8 (Debian 15.8-1)" -> {15, 8}.
std::vector<int> VersionNumbers(std::string_view text) {
  std::vector<int> out;
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    int n = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
    if (ec != std::errc()) break;
    out.push_back(n);
    i = static_cast<size_t>(end - text.data());
    if (i < text.size() && text[i] == '.')
      ++i;
    else
      break;
  }
  return out;
}

Result<Json> CheckVersion(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(std::string url, Param(run, "url", "\"postgresql://app@db:5432/bank\""));
  FERRY_ASSIGN_OR_RETURN(std::string min, Param(run, "min", "\"15\""));
  const std::vector<int> wanted = VersionNumbers(min);
  if (wanted.empty()) {
    return Err(
        InvalidArgument("{}: `min` {} is not a version; write e.g. 15 or 3.40.1", Who(run), min));
  }
  FERRY_ASSIGN_OR_RETURN(SqlAnswer answer, RunSql(run, url, ""));
  const std::vector<int> found = VersionNumbers(answer.server_version);
  if (found.empty()) {
    return Err(Internal("{}: {}: the server's version `{}` could not be read", Who(run),
                        RedactUrl(url), answer.server_version));
  }
  if (std::lexicographical_compare(found.begin(), found.end(), wanted.begin(), wanted.end())) {
    return Err(FailedPrecondition(
        "{}: {} runs {} {}, older than the {} the task requires; upgrade the server or lower "
        "`min`",
        Who(run), RedactUrl(url), answer.engine, answer.server_version, min));
  }
  return Json{{"engine", answer.engine}, {"version", answer.server_version}, {"min", min}};
}

Result<Json> CheckDisk(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(std::string path, Param(run, "path", "\"/var/lib/ferry\""));
  FERRY_ASSIGN_OR_RETURN(std::string free_text, Param(run, "free", "\"10GiB\""));
  Result<uint64_t> wanted = ParseByteSize(free_text);
  if (!wanted.has_value()) {
    return Err(InvalidArgument("{}: `free`: {}", Who(run), wanted.error().message()));
  }
  struct statvfs fs{};
  if (::statvfs(path.c_str(), &fs) != 0) {
    return Err(NotFound("{}: `path` {}: {}; name a directory on the disk to check", Who(run), path,
                        std::strerror(errno)));
  }
  const uint64_t available = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  const uint64_t total = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
  if (available < *wanted) {
    return Err(ResourceExhausted(
        "{}: {} has {} free (for an unprivileged user), less than the {} required; free space "
        "or give the migration another disk",
        Who(run), path, FormatBytes(available), free_text));
  }
  return Json{{"path", path},
              {"free_bytes", available},
              {"total_bytes", total},
              {"required_bytes", *wanted}};
}

// ---------------------------------------------------------------------------------------------
// Smoke tests

// scheme://host[:port][/path]
struct HttpTarget {
  std::string base;  // scheme://host:port
  std::string path;  // /path?query
};

Result<HttpTarget> ParseHttpUrl(const TaskRun& run, const std::string& url) {
  const bool https = url.starts_with("https://");
  if (!https && !url.starts_with("http://")) {
    return Err(
        InvalidArgument("{}: `url` {} is not an http:// or https:// URL; write e.g. "
                        "https://app.example.com/health",
                        Who(run), url));
  }
  const size_t host_start = https ? 8 : 7;
  const size_t slash = url.find('/', host_start);
  HttpTarget target;
  target.base = url.substr(0, slash);
  target.path = slash == std::string::npos ? "/" : url.substr(slash);
  if (target.base.size() == host_start) {
    return Err(InvalidArgument("{}: `url` {} names no host", Who(run), url));
  }
  return target;
}

Result<Json> SmokeHttp(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(std::string url, Param(run, "url", "\"https://app.example.com/health\""));
  const std::string status_text = OptionalParam(run, "status").value_or("200");
  int expected = 0;
  auto [end, ec] =
      std::from_chars(status_text.data(), status_text.data() + status_text.size(), expected);
  if (ec != std::errc() || end != status_text.data() + status_text.size() || expected < 100 ||
      expected > 599) {
    return Err(InvalidArgument("{}: `status` {} is not an HTTP status; write e.g. 200", Who(run),
                               status_text));
  }
  FERRY_ASSIGN_OR_RETURN(HttpTarget target, ParseHttpUrl(run, url));
  httplib::Client client(target.base);
  client.set_connection_timeout(10, 0);
  client.set_read_timeout(30, 0);
  client.set_follow_location(false);
  if (std::optional<std::string> ca = OptionalParam(run, "ca")) {
    client.set_ca_cert_path(ca->c_str());
  }
  client.enable_server_certificate_verification(true);
  const int64_t start = EnvOf(run)->MonotonicMicros();
  // The request runs beside this thread, which polls run.cancelled() and, when it turns true,
  // shuts the client's socket down (a connect in progress ends at its 10 s timeout).
  std::future<httplib::Result> pending =
      std::async(std::launch::async, [&] { return client.Get(target.path); });
  bool cancelled = false;
  while (pending.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (!cancelled && run.cancelled()) {
      cancelled = true;
      client.stop();
    }
  }
  httplib::Result response = pending.get();
  if (cancelled) return Err(Cancelled("{}: cancelled during GET {}", Who(run), RedactUrl(url)));
  const double ms = static_cast<double>(EnvOf(run)->MonotonicMicros() - start) / 1000;
  if (!response) {
    return Err(
        Unavailable("{}: GET {}: {}; check that the service runs and is reachable from "
                    "this host",
                    Who(run), RedactUrl(url), httplib::to_string(response.error())));
  }
  if (response->status != expected) {
    std::string body = response->body.substr(0, 200);
    for (char& c : body) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    return Err(FailedPrecondition(
        "{}: GET {} answered {} where {} was expected{}; check the service (or set `status`)",
        Who(run), RedactUrl(url), response->status, expected,
        body.empty() ? std::string() : fmt::format(" (body: {})", body)));
  }
  return Json{{"url", RedactUrl(url)},
              {"status", response->status},
              {"milliseconds", ms},
              {"bytes", response->body.size()}};
}

Result<Json> SmokeSql(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(std::string url, Param(run, "url", "\"postgresql://app@db/bank\""));
  const std::string sql = OptionalParam(run, "sql").value_or("SELECT 1");
  const int64_t start = EnvOf(run)->MonotonicMicros();
  Result<SqlAnswer> ran = RunSql(run, url, sql);
  if (!ran.has_value() && ran.error().code() == StatusCode::kFailedPrecondition) {
    return Err(Status(ran.error().code(),
                      ran.error().message() + "; fix `sql`, or the database it expects"));
  }
  FERRY_ASSIGN_OR_RETURN(SqlAnswer answer, std::move(ran));
  const double ms = static_cast<double>(EnvOf(run)->MonotonicMicros() - start) / 1000;
  Json first = nullptr;
  if (!answer.rows.empty() && !answer.rows[0].empty() && answer.rows[0][0])
    first = *answer.rows[0][0];
  Json result = {{"engine", answer.engine},
                 {"sql", sql},
                 {"rows", answer.rows.size()},
                 {"first_value", first},
                 {"milliseconds", ms}};
  if (std::optional<std::string> expect = OptionalParam(run, "expect")) {
    if (!first.is_string() || first.get<std::string>() != *expect) {
      return Err(FailedPrecondition("{}: `{}` on {} gave {} where `expect` is {}", Who(run), sql,
                                    RedactUrl(url), first.is_null() ? "no value" : first.dump(),
                                    *expect));
    }
  }
  return result;
}

struct SslDeleter {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(SSL* p) const { SSL_free(p); }
  void operator()(X509* p) const { X509_free(p); }
};

std::string OpenSslErrors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(e, buffer, sizeof(buffer));
    if (!out.empty()) out += "; ";
    out += buffer;
  }
  return out.empty() ? "no detail" : out;
}

Result<Json> SmokeTls(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(std::string host, Param(run, "host", "app.example.com"));
  const std::string port_text = OptionalParam(run, "port").value_or("443");
  FERRY_ASSIGN_OR_RETURN(uint16_t port, ParsePort(run, port_text));
  const std::string days_text = OptionalParam(run, "days").value_or("14");
  int days = 0;
  auto [end, ec] = std::from_chars(days_text.data(), days_text.data() + days_text.size(), days);
  if (ec != std::errc() || end != days_text.data() + days_text.size() || days < 0) {
    return Err(InvalidArgument("{}: `days` {} is not a number of days; write e.g. 14", Who(run),
                               days_text));
  }
  const std::string where = fmt::format("{}:{}", host, port);
  Result<int> socket = EnvOf(run)->ConnectTcp(host, port, 10'000);
  if (!socket.has_value()) {
    return Err(Unavailable("{}: {}: {}; check that the service listens there and is reachable",
                           Who(run), where, socket.error().message()));
  }
  Fd fd(*socket);
  std::unique_ptr<SSL_CTX, SslDeleter> ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) return Err(Internal("{}: TLS: {}", Who(run), OpenSslErrors()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  std::optional<std::string> ca = OptionalParam(run, "ca");
  if (ca) {
    if (SSL_CTX_load_verify_locations(ctx.get(), ca->c_str(), nullptr) != 1) {
      return Err(InvalidArgument("{}: `ca` {}: not a readable PEM certificate file ({})", Who(run),
                                 *ca, OpenSslErrors()));
    }
  } else {
    SSL_CTX_set_default_verify_paths(ctx.get());
  }
  // The handshake completes whatever the chain; the verdict is read and reported below.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  std::unique_ptr<SSL, SslDeleter> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd.get());
  SSL_set_tlsext_host_name(ssl.get(), host.c_str());
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  }
  timeval tv{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (SSL_connect(ssl.get()) != 1) {
    return Err(Unavailable("{}: {}: the TLS handshake failed ({}); check that the port serves TLS",
                           Who(run), where, OpenSslErrors()));
  }
  std::unique_ptr<X509, SslDeleter> cert(SSL_get1_peer_certificate(ssl.get()));
  if (cert == nullptr) {
    return Err(FailedPrecondition("{}: {}: the server sent no certificate", Who(run), where));
  }
  const long verdict = SSL_get_verify_result(ssl.get());
  char subject[512];
  X509_NAME_oneline(X509_get_subject_name(cert.get()), subject, sizeof(subject));
  if (verdict != X509_V_OK) {
    return Err(
        FailedPrecondition("{}: {}: the certificate ({}) is not valid: {}; {}", Who(run), where,
                           subject, X509_verify_cert_error_string(verdict),
                           ca ? "renew it, or check `ca` names the CA that issued it"
                              : "renew it, or name the CA that issued it in `ca` (a PEM file)"));
  }
  int remaining_days = 0;
  int remaining_seconds = 0;
  ASN1_TIME_diff(&remaining_days, &remaining_seconds, nullptr, X509_get0_notAfter(cert.get()));
  if (remaining_days < days) {
    return Err(FailedPrecondition(
        "{}: {}: the certificate ({}) expires in {} day(s), fewer than the {} required; renew "
        "it before the cutover",
        Who(run), where, subject, remaining_days, days));
  }
  return Json{{"host", host},
              {"port", port},
              {"subject", subject},
              {"days_left", remaining_days},
              {"protocol", SSL_get_version(ssl.get())}};
}

Result<Json> SmokeDns(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(std::string name, Param(run, "name", "app.example.com"));
  std::optional<std::string> expected = OptionalParam(run, "address");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &found);
  if (rc != 0) {
    return Err(
        NotFound("{}: `{}` does not resolve: {}; check the DNS record (and this host's "
                 "resolver)",
                 Who(run), name, gai_strerror(rc)));
  }
  std::set<std::string> addresses;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw =
        a->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if (inet_ntop(a->ai_family, raw, text, sizeof(text)) != nullptr) addresses.insert(text);
  }
  ::freeaddrinfo(found);
  if (expected && !addresses.contains(*expected)) {
    return Err(FailedPrecondition(
        "{}: `{}` resolves to {}, not to {}; update the DNS record (or wait for its TTL) or fix "
        "`address`",
        Who(run), name, fmt::join(addresses, ", "), *expected));
  }
  return Json{{"name", name}, {"addresses", addresses}};
}

// validate.baseline: the performance baseline of the migrated host against the source's, both
// taken by `ferry discover --watch` (docs/discover.md): each metric's p95 after may exceed the p95
// before by at most `tolerance` (a percentage), else the task fails naming every metric over.
Result<Json> ReadBaseline(const TaskRun& run, std::string_view key) {
  FERRY_ASSIGN_OR_RETURN(std::string path, Param(run, key, "\"inventories/web01.json\""));
  Result<std::string> text = EnvOf(run)->ReadFile(path);
  if (!text.has_value()) {
    return Err(Unavailable("{}: `{}` {}: {}; take it with `ferry discover --watch 10m --out {}`",
                           Who(run), key, path, text.error().message(), path));
  }
  FERRY_ASSIGN_OR_RETURN(Json doc, ParseJson(*text, path));
  if (!doc.is_object() || !doc.contains("baseline") || !doc["baseline"].is_object() ||
      !doc["baseline"].contains("metrics")) {
    return Err(InvalidArgument(
        "{}: `{}` {} has no performance baseline; take the inventory with `ferry discover "
        "--watch DURATION` (an imported inventory has none)",
        Who(run), key, path));
  }
  return doc["baseline"]["metrics"];
}

Result<Json> ValidateBaseline(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(Json before, ReadBaseline(run, "before"));
  FERRY_ASSIGN_OR_RETURN(Json after, ReadBaseline(run, "after"));
  const std::string tolerance_text = OptionalParam(run, "tolerance").value_or("25%");
  double tolerance = 0;
  {
    std::string digits = tolerance_text;
    if (!digits.empty() && digits.back() == '%') digits.pop_back();
    char* end = nullptr;
    tolerance = std::strtod(digits.c_str(), &end);
    if (digits.empty() || end != digits.c_str() + digits.size() || tolerance < 0) {
      return Err(InvalidArgument("{}: tolerance `{}` is not a percentage; write it like \"25%\"",
                                 Who(run), tolerance_text));
    }
  }
  std::vector<std::string> metrics;
  {
    const std::string list =
        OptionalParam(run, "metrics").value_or("cpu_percent,memory_used_percent,disk_iops");
    size_t start = 0;
    while (start <= list.size()) {
      const size_t comma = std::min(list.find(',', start), list.size());
      std::string name = list.substr(start, comma - start);
      if (!name.empty()) metrics.push_back(std::move(name));
      start = comma + 1;
    }
  }
  Json compared = Json::array();
  std::vector<std::string> over;
  for (const std::string& metric : metrics) {
    if (!before.contains(metric) || !after.contains(metric)) {
      return Err(
          InvalidArgument("{}: metric `{}` is not in both baselines; the metrics are "
                          "cpu_percent, memory_used_percent, memory_used_bytes, "
                          "disk_read_bytes_per_second, disk_write_bytes_per_second, "
                          "disk_iops, network_rx_bytes_per_second, "
                          "network_tx_bytes_per_second",
                          Who(run), metric));
    }
    const double was = before[metric].value("p95", 0.0);
    const double is = after[metric].value("p95", 0.0);
    const double limit = was * (1.0 + tolerance / 100.0);
    const bool ok = is <= limit;
    compared.push_back(
        {{"metric", metric}, {"before_p95", was}, {"after_p95", is}, {"limit", limit}, {"ok", ok}});
    if (!ok) over.push_back(fmt::format("{} p95 {:.4g} against {:.4g} before", metric, is, was));
  }
  if (!over.empty()) {
    return Err(FailedPrecondition(
        "{}: the migrated host is over its baseline by more than {}: {}; size it up (ferry plan "
        "--sizing) or raise `tolerance` if that is expected",
        Who(run), tolerance_text, fmt::join(over, "; ")));
  }
  return Json{{"tolerance", tolerance_text}, {"metrics", compared}};
}

Result<Json> SmokeLatency(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(std::string host, Param(run, "host", "db.example.com"));
  FERRY_ASSIGN_OR_RETURN(std::string port_text, Param(run, "port", "5432"));
  FERRY_ASSIGN_OR_RETURN(uint16_t port, ParsePort(run, port_text));
  FERRY_ASSIGN_OR_RETURN(std::string budget_text, Param(run, "budget", "50ms"));
  Result<int64_t> budget = ParseDurationMicros(budget_text);
  if (!budget.has_value() || *budget <= 0) {
    return Err(InvalidArgument("{}: `budget` {} is not a positive duration; write e.g. 50ms",
                               Who(run), budget_text));
  }
  const std::string samples_text = OptionalParam(run, "samples").value_or("9");
  int samples = 0;
  auto [end, ec] =
      std::from_chars(samples_text.data(), samples_text.data() + samples_text.size(), samples);
  if (ec != std::errc() || samples < 1 || samples > 1000) {
    return Err(
        InvalidArgument("{}: `samples` {}: expected 1 to 1000 connects", Who(run), samples_text));
  }
  Env* env = EnvOf(run);
  std::vector<int64_t> micros;
  for (int i = 0; i < samples; ++i) {
    if (run.cancelled()) return Err(Cancelled("{}: cancelled", Who(run)));
    const int64_t start = env->MonotonicMicros();
    Result<int> fd = env->ConnectTcp(host, port, 5'000);
    if (!fd.has_value()) {
      return Err(
          Unavailable("{}: {}:{}: {}; check that the service listens there and is "
                      "reachable from this host",
                      Who(run), host, port, fd.error().message()));
    }
    micros.push_back(env->MonotonicMicros() - start);
    ::close(*fd);
  }
  std::sort(micros.begin(), micros.end());
  const int64_t median = micros[micros.size() / 2];
  const auto ms = [](int64_t us) { return static_cast<double>(us) / 1000; };
  if (median > *budget) {
    return Err(FailedPrecondition(
        "{}: {}:{}: the median TCP connect of {} took {:.3f} ms, over the budget of {} (min "
        "{:.3f} ms, max {:.3f} ms); check the network path or raise `budget`",
        Who(run), host, port, samples, ms(median), budget_text, ms(micros.front()),
        ms(micros.back())));
  }
  return Json{{"host", host},
              {"port", port},
              {"samples", samples},
              {"median_ms", ms(median)},
              {"min_ms", ms(micros.front())},
              {"max_ms", ms(micros.back())},
              {"budget_ms", ms(*budget)}};
}

// ---------------------------------------------------------------------------------------------
// iac.write

// `dir` of the task, under the run's work directory.
Result<std::string> IacDir(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(std::string dir, Param(run, "dir", "iac"));
  const std::filesystem::path p(dir);
  bool escapes = p.is_absolute();
  for (const auto& part : p) escapes = escapes || part == "..";
  if (escapes) {
    return Err(
        InvalidArgument("{}: `dir` {} must be a relative path inside the run's work "
                        "directory (no leading / and no ..)",
                        Who(run), dir));
  }
  FERRY_RETURN_IF_ERROR(PrepareWorkDir(run));
  return run.work_dir + "/" + dir;
}

// Files under `root`, relative to `base`, sorted.
std::vector<std::string> FilesUnder(const std::string& root, const std::string& base) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) return out;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) {
      out.push_back(std::filesystem::relative(it->path(), base, ec).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string FerryPath(const TaskRun& run) {
  return run.ferry_path.empty() ? std::string("/proc/self/exe") : run.ferry_path;
}

// Runs `ferry <args>` with --json (stdout into <task>.attempt-N.json) and JSON logs (stderr into
// <task>.attempt-N.log); returns the outcome, and the output document when it parses.
struct FerryRun {
  ChildOutcome outcome;
  std::optional<Json> document;
  std::string out_name;
  std::string log_name;
  std::string log_path;
};

Result<FerryRun> RunFerryChild(const TaskRun& run, const std::string& what,
                               std::vector<std::string> args,
                               std::function<void(std::string_view)> on_progress_line = {}) {
  FERRY_RETURN_IF_ERROR(PrepareWorkDir(run));
  FerryRun out;
  const std::string stem = fmt::format("{}.attempt-{}", SafeName(run.spec->id), run.attempt);
  out.out_name = stem + ".json";
  out.log_name = stem + ".log";
  out.log_path = run.work_dir + "/" + out.log_name;
  std::vector<std::string> argv = {FerryPath(run), "--json", "--log-format", "json"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::pair<std::string, std::string>> env = TaskEnvironment(run);
  // In the environment rather than on the command line, which any user of the host can read
  // (/proc/PID/cmdline): a PostgreSQL store's URL may carry a password.
  if (!run.store_url.empty()) env.emplace_back("FERRY_STORE", run.store_url);
  ChildSpec spec{.argv = std::move(argv),
                 .env = std::move(env),
                 .stdout_path = run.work_dir + "/" + out.out_name,
                 .stderr_path = out.log_path,
                 .log_format = LogFormat::kJson,
                 .on_progress_line = std::move(on_progress_line),
                 .what = what};
  FERRY_ASSIGN_OR_RETURN(out.outcome, RunChild(run, spec));
  if (std::optional<Status> failed = ChildFailure(run, spec, out.outcome, out.log_path)) {
    return Err(*failed);
  }
  Result<std::string> text = EnvOf(run)->ReadFile(spec.stdout_path);
  if (text.has_value() && !text->empty()) {
    Result<Json> doc = ParseJson(*text, spec.stdout_path);
    if (doc.has_value()) out.document = std::move(*doc);
  }
  return out;
}

// The error of a ferry child that exited non-zero: its own message (the last lines of its log).
Status FerryChildError(const TaskRun& run, const std::string& what, const FerryRun& ran,
                       std::string_view way_out) {
  // With --json, a failing command prints {"ok":false,"error":{"code","message"}} on stdout.
  std::string tail;
  if (ran.document && ran.document->contains("error") && (*ran.document)["error"].is_object()) {
    tail = (*ran.document)["error"].value("message", "");
  }
  if (tail.empty()) tail = Tail(EnvOf(run), ran.log_path, 3, ran.outcome.log_offset);
  const StatusCode code = ran.outcome.exit_code == kExitUsage ? StatusCode::kInvalidArgument
                          : ran.outcome.exit_code == kExitCheckFailed
                              ? StatusCode::kFailedPrecondition
                              : StatusCode::kUnavailable;
  return Status(code,
                fmt::format("{}: {} exited with code {}: {}; {} (its log: {})", Who(run), what,
                            ran.outcome.exit_code, tail.empty() ? std::string("no message") : tail,
                            way_out, ran.log_path));
}

Result<Json> IacWrite(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(std::string plan, Param(run, "plan", "plan.json"));
  FERRY_ASSIGN_OR_RETURN(std::string dir, IacDir(run));
  const std::string cloud = OptionalParam(run, "cloud").value_or("all");
  if (!EnvOf(run)->FileExists(plan)) {
    return Err(
        NotFound("{}: `plan` {}: no such file; write it with `ferry plan --inventory DIR "
                 "--out {}`",
                 Who(run), plan, plan));
  }
  FERRY_ASSIGN_OR_RETURN(
      FerryRun ran,
      RunFerryChild(run, "ferry iac", {"iac", "--plan", plan, "--cloud", cloud, "--out", dir}));
  if (ran.outcome.exit_code != 0) {
    return Err(FerryChildError(run, "ferry iac", ran,
                               "fix the plan or the parameters (`cloud` is aws, azure, gcp or "
                               "all) and resume the run"));
  }
  std::vector<std::string> files = FilesUnder(dir, run.work_dir);
  Json artifacts = files;
  artifacts.push_back(ran.log_name);
  Json result = {{"dir", OptionalParam(run, "dir").value_or("")},
                 {"cloud", cloud},
                 {"files", files},
                 {"artifacts", artifacts}};
  if (ran.document && ran.document->contains("clouds"))
    result["clouds"] = (*ran.document)["clouds"];
  return result;
}

Result<Json> IacSnapshot(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(std::string dir, IacDir(run));
  return Json{{"existing_files", FilesUnder(dir, run.work_dir)}};
}

Result<Json> IacUndo(const TaskRun& run, const Json& snapshot) {
  FERRY_ASSIGN_OR_RETURN(std::string dir, IacDir(run));
  std::set<std::string> before;
  if (snapshot.is_object() && snapshot.contains("existing_files")) {
    for (const Json& f : snapshot["existing_files"]) before.insert(f.get<std::string>());
  }
  // Every file under `dir` that was not there before the task: those of a completed attempt and
  // those an interrupted one left.
  std::vector<std::string> removed;
  for (const std::string& file : FilesUnder(dir, run.work_dir)) {
    if (before.contains(file)) continue;
    Status gone = EnvOf(run)->RemoveAll(run.work_dir + "/" + file);
    if (!gone.ok()) return Err(gone.WithContext(Who(run)));
    removed.push_back(file);
  }
  // Directories it emptied, deepest first, while they hold nothing.
  std::error_code ec;
  std::vector<std::filesystem::path> dirs;
  if (std::filesystem::is_directory(dir, ec)) {
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec)) dirs.push_back(it->path());
    }
    std::sort(dirs.rbegin(), dirs.rend());
    dirs.emplace_back(dir);
    for (const auto& d : dirs) {
      if (std::filesystem::is_empty(d, ec)) std::filesystem::remove(d, ec);
    }
  }
  return Json{{"removed", removed}, {"kept", before}};
}

// ---------------------------------------------------------------------------------------------
// copy, verify

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

// Progress lines of the copy child, summed over its tables.
class CopyProgress {
 public:
  explicit CopyProgress(const TaskRun& run) : run_(run) {}
  void OnLine(std::string_view line) {
    Result<Json> doc = ParseJson(line, "progress");
    if (!doc.has_value() || !doc->is_object() || !doc->contains("table")) return;
    const std::string table = doc->value("table", "");
    tables_[table] = {.done = doc->value("done", int64_t{0}),
                      .total = doc->value("total", int64_t{-1}),
                      .bytes = doc->value("bytes", int64_t{0})};
    TaskProgress p;
    p.rows_total = 0;
    for (const auto& [name, counts] : tables_) {
      p.rows_done += counts.done;
      p.bytes_done += counts.bytes;
      if (counts.total < 0 || p.rows_total < 0) {
        p.rows_total = -1;
      } else {
        p.rows_total += counts.total;
      }
    }
    // The bytes to come, estimated at the bytes per row so far (the rows' total is the
    // source's estimate too).
    if (p.rows_total > 0 && p.rows_done > 0 && p.bytes_done > 0) {
      p.bytes_total = static_cast<int64_t>(
          static_cast<double>(p.bytes_done) / static_cast<double>(p.rows_done) *
          static_cast<double>(std::max(p.rows_total, p.rows_done)));
    }
    p.detail = table;
    run_.progress(p);
  }

 private:
  struct Counts {
    int64_t done = 0;
    int64_t total = -1;
    int64_t bytes = 0;
  };
  const TaskRun& run_;
  std::map<std::string, Counts> tables_;
};

struct CopyParams {
  std::string from;
  std::string to;
  std::vector<std::string> tables;
  std::string if_exists = "fail";
};

Result<CopyParams> ReadCopyParams(const TaskRun& run) {
  CopyParams p;
  FERRY_ASSIGN_OR_RETURN(p.from, Param(run, "from", "\"postgresql://app@db/bank\""));
  FERRY_ASSIGN_OR_RETURN(p.to, Param(run, "to", "\"sqlite:///srv/bank.db\""));
  if (std::optional<std::string> tables = OptionalParam(run, "tables")) {
    p.tables = SplitList(*tables);
  }
  p.if_exists = OptionalParam(run, "if_exists").value_or("fail");
  if (p.if_exists != "fail" && p.if_exists != "truncate" && p.if_exists != "append") {
    return Err(InvalidArgument("{}: `if_exists` {}: expected fail, truncate or append", Who(run),
                               p.if_exists));
  }
  return p;
}

// The target as it is; nullptr for an SQLite file that does not exist (yet).
Result<std::unique_ptr<Connector>> OpenTargetIfExists(const TaskRun& run, const std::string& url) {
  if (url.starts_with("sqlite://") && !EnvOf(run)->FileExists(url.substr(9))) {
    return std::unique_ptr<Connector>();
  }
  Result<std::unique_ptr<Connector>> opened = Connector::Open(url);
  if (!opened.has_value()) return Err(opened.error().WithContext(Who(run) + ": the target"));
  return opened;
}

Result<bool> TableHasRows(Connector& db, const std::string& table) {
  FERRY_ASSIGN_OR_RETURN(TableInfo info, db.DescribeTable(table));
  FERRY_ASSIGN_OR_RETURN(auto reader, db.Scan({.table = &info, .batch_rows = 1}));
  std::vector<Row> batch;
  FERRY_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
  return more && !batch.empty();
}

Result<Json> CopySnapshot(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(CopyParams p, ReadCopyParams(run));
  FERRY_ASSIGN_OR_RETURN(auto target, OpenTargetIfExists(run, p.to));
  Json tables = Json::object();
  if (target != nullptr) {
    Result<std::vector<std::string>> names = target->ListTables();
    if (!names.has_value()) return Err(names.error().WithContext(Who(run) + ": the target"));
    for (const std::string& name : *names) {
      FERRY_ASSIGN_OR_RETURN(bool has_rows, TableHasRows(*target, name));
      tables[name] = {{"had_rows", has_rows}};
    }
  }
  return Json{
      {"target", RedactUrl(p.to)}, {"target_existed", target != nullptr}, {"tables", tables}};
}

// The size the copied tables take in the target, where the engine tells (PostgreSQL:
// pg_total_relation_size; SQLite: the dbstat table; MySQL: information_schema's data and index
// lengths, themselves estimates for InnoDB); nullopt otherwise.
std::optional<int64_t> TargetBytes(const TaskRun& run, const std::string& url,
                                   const std::vector<std::string>& tables) {
  if (tables.empty()) return std::nullopt;
  // MySQL string literals also take backslash escapes (unless the server runs with
  // NO_BACKSLASH_ESCAPES, when a name with a backslash is not measured).
  const bool backslashes = url.starts_with("mysql://") || url.starts_with("mariadb://");
  std::vector<std::string> quoted;
  for (const std::string& t : tables) {
    std::string q = "'";
    for (char c : t) {
      if (c == '\'') {
        q += "''";
      } else if (c == '\\' && backslashes) {
        q += "\\\\";
      } else {
        q += c;
      }
    }
    quoted.push_back(q + "'");
  }
  std::string sql;
  if (url.starts_with("sqlite://")) {
    sql = fmt::format(
        "SELECT SUM(pgsize) FROM dbstat WHERE name IN ({0}) OR name IN (SELECT name FROM "
        "sqlite_schema WHERE type = 'index' AND tbl_name IN ({0}))",
        fmt::join(quoted, ","));
  } else if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    sql = fmt::format(
        "SELECT SUM(pg_total_relation_size(c.oid))::bigint FROM pg_class c JOIN pg_namespace n ON "
        "n.oid = c.relnamespace WHERE c.relname IN ({}) AND n.nspname = current_schema()",
        fmt::join(quoted, ","));
  } else if (url.starts_with("mysql://") || url.starts_with("mariadb://")) {
    sql = fmt::format(
        "SELECT CAST(SUM(data_length + index_length) AS SIGNED) FROM information_schema.tables "
        "WHERE table_schema = DATABASE() AND table_name IN ({})",
        fmt::join(quoted, ","));
  } else {
    return std::nullopt;
  }
  Result<SqlAnswer> answer = RunSql(run, url, sql);
  if (!answer.has_value() || answer->rows.empty() || answer->rows[0].empty() ||
      !answer->rows[0][0]) {
    return std::nullopt;
  }
  int64_t bytes = 0;
  const std::string& text = *answer->rows[0][0];
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), bytes);
  if (ec != std::errc()) return std::nullopt;
  return bytes;
}

// The copy run ids the JSON logs of the task's attempts name ("copy run started", "resuming
// copy run"), in the order of the attempts (and of the lines within one).
std::vector<std::string> CopyRunIdsInLogs(const TaskRun& run, int before_attempt = INT_MAX) {
  std::vector<std::string> ids;
  Result<std::vector<std::string>> names = EnvOf(run)->ListDir(run.work_dir);
  if (!names.has_value()) return ids;
  const std::string prefix = SafeName(run.spec->id) + ".attempt-";
  std::vector<std::pair<int, std::string>> logs;
  for (const std::string& name : *names) {
    if (!name.starts_with(prefix) || !name.ends_with(".log")) continue;
    const std::string_view number(name.data() + prefix.size(), name.size() - prefix.size() - 4);
    int attempt = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), attempt);
    if (ec != std::errc() || end != number.data() + number.size()) continue;
    if (attempt < before_attempt) logs.emplace_back(attempt, name);
  }
  std::sort(logs.begin(), logs.end());
  for (const auto& [attempt, name] : logs) {
    Result<std::string> text = EnvOf(run)->ReadFile(run.work_dir + "/" + name);
    if (!text.has_value()) continue;
    std::string_view rest = *text;
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      const std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      if (line.find("copy run") == std::string_view::npos) continue;
      Result<Json> doc = ParseJson(line, name);
      if (doc.has_value() && doc->is_object() && doc->contains("run") &&
          (*doc)["run"].is_string()) {
        const std::string id = (*doc)["run"].get<std::string>();
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
      }
    }
  }
  return ids;
}

std::string UndoneCopyRunsPath(const TaskRun& run) {
  return run.work_dir + "/" + SafeName(run.spec->id) + ".undone-copy-runs";
}

// The copy runs an undo of the task has rolled back: never taken for the result of a later
// attempt.
std::set<std::string> UndoneCopyRuns(const TaskRun& run) {
  std::set<std::string> ids;
  Result<std::string> text = EnvOf(run)->ReadFile(UndoneCopyRunsPath(run));
  if (!text.has_value()) return ids;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    if (nl > 0) ids.emplace(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest = rest.substr(nl + 1);
  }
  return ids;
}

// A copy task's totals and tables, from the tables a copy reported: its --json report names
// each table `table`, its run record `name`.
struct CopyTotals {
  int64_t rows = 0;
  int64_t bytes = 0;
  Json tables = Json::array();  // {table, rows, bytes, created}
  std::vector<std::string> names;
};

CopyTotals SumCopyTables(const Json& reported, const char* name_key) {
  CopyTotals out;
  for (const Json& t : reported) {
    const std::string name = t.value(name_key, "");
    const int64_t rows = t.value("rows", int64_t{0});
    const int64_t bytes = t.value("bytes", int64_t{0});
    out.rows += rows;
    out.bytes += bytes;
    out.names.push_back(name);
    out.tables.push_back({{"table", name},
                          {"rows", rows},
                          {"bytes", bytes},
                          {"created", t.value("created", false)}});
  }
  return out;
}

// An earlier run of the task whose copy run completed in the store, though it did not report
// it (ferry died after the copy finished, before the task's completion was recorded): its
// result, from the copy run's record, rather than a second copy (which would find the target's
// tables full). The copy runs are those the task's logs name, this attempt's included: after a
// crash the attempt runs again under the same number, appending to the same log. Of those not
// rolled back, the newest counts. nullopt when there is none: the copy command then continues
// the unfinished run, if any, from its committed chunks.
Result<std::optional<Json>> EarlierCompletedCopy(const TaskRun& run, const CopyParams& p) {
  std::vector<std::string> ids = CopyRunIdsInLogs(run, run.attempt + 1);
  const std::set<std::string> undone = UndoneCopyRuns(run);
  std::erase_if(ids, [&](const std::string& id) { return undone.contains(id); });
  if (ids.empty()) return std::optional<Json>();
  Result<std::unique_ptr<Store>> store = Store::Open(run.store_url, {.env = EnvOf(run)});
  if (!store.has_value()) return Err(store.error().WithContext(Who(run)));
  std::optional<RunRecord> record;
  for (const std::string& id : ids) {
    Result<RunRecord> found = (*store)->GetRun(id);
    if (!found.has_value()) {
      if (found.error().code() == StatusCode::kNotFound) continue;  // it failed before it began
      return Err(found.error().WithContext(Who(run)));
    }
    if (!record || found->created_micros >= record->created_micros) record = std::move(*found);
  }
  if (!record) return std::optional<Json>();
  if (record->state == "differences") {
    // With truncate or append a new copy may run: it starts afresh (a `differences` run is not
    // continued). With fail it would only refuse the full tables: the way out is named instead.
    if (p.if_exists != "fail") return std::optional<Json>();
    return Err(
        DataLoss("{}: copy run {} (of an earlier run of the task) loaded the rows, but its "
                 "verification found differences; run `ferry verify --from {} --to {}` for the "
                 "rows, then roll the run back (`ferry run rollback`, which drops the tables the "
                 "copy created) and start it again, or set `if_exists: truncate` on the task to "
                 "copy again on resume",
                 Who(run), record->id, RedactUrl(p.from), RedactUrl(p.to)));
  }
  if (record->state != "succeeded") return std::optional<Json>();
  Result<Json> saved = ParseJson(record->result, "copy run record");
  if (!saved.has_value()) return Err(saved.error().WithContext(Who(run)));
  const CopyTotals copied = SumCopyTables(saved->value("tables", Json::array()), "name");
  Json result = {{"copy_run_id", record->id},
                 {"resumed", true},
                 {"rows", copied.rows},
                 {"bytes", copied.bytes},
                 {"tables", copied.tables},
                 {"verified", saved->contains("identical")},
                 {"completed_by_earlier_attempt", true},
                 {"artifacts", Json::array()}};
  if (std::optional<int64_t> size = TargetBytes(run, p.to, copied.names)) {
    result["target_bytes"] = *size;
  }
  return std::optional<Json>(std::move(result));
}

Result<Json> ExecuteCopy(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(CopyParams p, ReadCopyParams(run));
  std::vector<std::string> args = {"copy", "--from",      p.from,     "--to",
                                   p.to,   "--if-exists", p.if_exists};
  if (!p.tables.empty()) {
    args.push_back("--tables");
    args.push_back(fmt::format("{}", fmt::join(p.tables, ",")));
  }
  if (std::optional<std::string> jobs = OptionalParam(run, "jobs")) {
    args.push_back("--jobs");
    args.push_back(*jobs);
  }
  if (std::optional<std::string> chunk_rows = OptionalParam(run, "chunk_rows")) {
    args.push_back("--chunk-rows");
    args.push_back(*chunk_rows);
  }
  if (run.store_url.empty()) {
    return Err(
        FailedPrecondition("{}: the run has no store for the copy's own run; give the "
                           "engine a --store",
                           Who(run)));
  }
  FERRY_ASSIGN_OR_RETURN(std::optional<Json> earlier, EarlierCompletedCopy(run, p));
  if (earlier) return *earlier;
  CopyProgress progress(run);
  FERRY_ASSIGN_OR_RETURN(
      FerryRun ran, RunFerryChild(run, "ferry copy", std::move(args),
                                  [&progress](std::string_view line) { progress.OnLine(line); }));
  if (ran.outcome.exit_code != 0 && ran.outcome.exit_code != kExitCheckFailed) {
    return Err(FerryChildError(
        run, "ferry copy", ran,
        "fix the cause and resume the run: the next attempt continues the copy from the chunks "
        "already committed"));
  }
  if (!ran.document || !ran.document->is_object()) {
    return Err(Internal("{}: ferry copy printed no JSON report (see {})", Who(run), ran.log_path));
  }
  const Json& doc = *ran.document;
  const CopyTotals copied = SumCopyTables(doc.value("tables", Json::array()), "table");
  if (ran.outcome.exit_code == kExitCheckFailed) {
    std::vector<std::string> differing;
    if (doc.contains("verification")) {
      for (const Json& t : doc["verification"].value("tables", Json::array())) {
        if (!t.value("identical", true)) differing.push_back(t.value("table", ""));
      }
    }
    return Err(DataLoss(
        "{}: copy run {} loaded the rows, but the verification found differences in {}; run "
        "`ferry verify --from {} --to {}` for the rows (report: {})",
        Who(run), doc.value("run_id", ""),
        differing.empty() ? std::string("the tables")
                          : fmt::format("{}", fmt::join(differing, ", ")),
        RedactUrl(p.from), RedactUrl(p.to), ran.out_name));
  }
  TaskProgress done;
  done.rows_done = copied.rows;
  done.rows_total = copied.rows;
  done.bytes_done = copied.bytes;
  done.bytes_total = copied.bytes;
  done.detail = "copied";
  Json result = {{"copy_run_id", doc.value("run_id", "")},
                 {"resumed", doc.value("resumed", false)},
                 {"rows", copied.rows},
                 {"bytes", copied.bytes},
                 {"tables", copied.tables},
                 {"verified", doc.contains("verification")},
                 {"artifacts", Json::array({ran.out_name, ran.log_name})}};
  if (std::optional<int64_t> size = TargetBytes(run, p.to, copied.names)) {
    result["target_bytes"] = *size;
  }
  run.progress(done);
  return result;
}

// The tables the copy writes: those its result lists, else those of the source it names.
Result<std::vector<std::string>> CopiedTables(const TaskRun& run, const CopyParams& p,
                                              const Json& result) {
  std::vector<std::string> names;
  if (result.is_object() && result.contains("tables")) {
    for (const Json& t : result["tables"]) names.push_back(t.value("table", ""));
    return names;
  }
  if (!p.tables.empty()) return p.tables;
  Result<std::unique_ptr<Connector>> source = Connector::Open(p.from);
  Result<std::vector<std::string>> listed =
      source.has_value() ? (*source)->ListTables()
                         : Result<std::vector<std::string>>(Err(source.error()));
  if (!listed.has_value()) {
    return Err(Unavailable(
        "{}: cannot tell which tables the interrupted copy wrote: the source does not answer "
        "({}); retry the rollback once it is reachable",
        Who(run), listed.error().message()));
  }
  return *listed;
}

Result<Json> UndoCopy(const TaskRun& run, const Json& snapshot, const Json& result) {
  FERRY_ASSIGN_OR_RETURN(CopyParams p, ReadCopyParams(run));
  // The task's copy runs are marked rolled back first, before anything in the target goes: a
  // later run of the task then starts a copy afresh instead of taking one of these (finished,
  // or continued from chunks no longer there), even if this undo stops half-way.
  std::set<std::string> runs;
  for (const std::string& id : CopyRunIdsInLogs(run)) runs.insert(id);
  if (result.is_object() && result.value("copy_run_id", "") != "") {
    runs.insert(result["copy_run_id"].get<std::string>());
  }
  if (!runs.empty()) {
    std::string lines;
    for (const std::string& id : runs) lines += id + "\n";
    Status noted = EnvOf(run)->AppendFile(UndoneCopyRunsPath(run), lines);
    if (!noted.ok()) return Err(noted.WithContext(Who(run)));
    Result<std::unique_ptr<Store>> store = Store::Open(run.store_url, {.env = EnvOf(run)});
    if (!store.has_value()) return Err(store.error().WithContext(Who(run)));
    for (const std::string& id : runs) {
      Result<RunRecord> record = (*store)->GetRun(id);
      if (!record.has_value()) continue;  // not recorded (it failed before it started)
      if (record->state == "rolled-back") continue;
      Status marked = (*store)->UpdateRun(id, "rolled-back", record->result);
      if (!marked.ok()) return Err(marked.WithContext(Who(run)));
    }
  }
  FERRY_ASSIGN_OR_RETURN(auto target, OpenTargetIfExists(run, p.to));
  if (target == nullptr) {
    return Json{{"dropped", Json::array()}, {"note", "no target database"}, {"copy_runs", runs}};
  }
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> copied, CopiedTables(run, p, result));
  const Json before =
      snapshot.is_object() ? snapshot.value("tables", Json::object()) : Json::object();
  Result<std::vector<std::string>> now = target->ListTables();
  if (!now.has_value()) return Err(now.error().WithContext(Who(run) + ": the target"));
  Json dropped = Json::array();
  Json emptied = Json::array();
  Json kept = Json::array();
  for (const std::string& wanted : copied) {
    std::optional<std::string> name;
    for (const std::string& t : *now) {
      if (t == wanted) name = t;
    }
    for (const std::string& t : *now) {
      if (!name && SameIdentifier(t, wanted)) name = t;
    }
    if (!name) continue;  // not (or no longer) in the target
    std::optional<std::string> existed;
    for (const auto& [t, info] : before.items()) {
      if (t == *name) existed = t;
    }
    if (!existed) {
      Status gone = target->DropTable(*name);
      if (!gone.ok()) return Err(gone.WithContext(Who(run) + ": dropping the table it created"));
      dropped.push_back(*name);
      continue;
    }
    if (before[*existed].value("had_rows", true)) {
      // Its rows before the copy are not known to ferry: with --if-exists truncate they are
      // gone, with append they are mixed with the copied ones. Left as it is.
      kept.push_back({{"table", *name},
                      {"why", p.if_exists == "fail"
                                  ? "it held rows before, so the copy (--if-exists fail) did not "
                                    "write to it"
                                  : fmt::format("it held rows before the copy (--if-exists {}): "
                                                "ferry cannot restore them; restore the table "
                                                "from a backup",
                                                p.if_exists)}});
      continue;
    }
    FERRY_ASSIGN_OR_RETURN(TableInfo info, target->DescribeTable(*name));
    FERRY_ASSIGN_OR_RETURN(auto writer, target->OpenWriter(info, LoadMode::kReplace));
    Status committed = writer->Commit();
    if (!committed.ok()) return Err(committed.WithContext(Who(run) + ": emptying " + *name));
    emptied.push_back(*name);
  }
  // The chunk markers of the copy's runs, so that a later copy does not take their chunks for
  // loaded.
  if (target->supports_chunks() && !runs.empty()) {
    for (const std::string& id : runs) {
      // The marker table exists for ForgetChunks to work on, which drops it again once empty.
      Status prepared = target->PrepareChunkMarkers();
      if (!prepared.ok()) return Err(prepared.WithContext(Who(run) + ": the chunk markers"));
      Status forgotten = target->ForgetChunks(id);
      if (!forgotten.ok()) return Err(forgotten.WithContext(Who(run) + ": forgetting chunks"));
    }
  }
  return Json{{"dropped", dropped}, {"emptied", emptied}, {"kept", kept}, {"copy_runs", runs}};
}

Result<Json> ExecuteVerify(const TaskRun& run) {
  FERRY_ASSIGN_OR_RETURN(std::string from, Param(run, "from", "\"postgresql://app@db/bank\""));
  FERRY_ASSIGN_OR_RETURN(std::string to, Param(run, "to", "\"sqlite:///srv/bank.db\""));
  std::vector<std::string> args = {"verify", "--from", from, "--to", to};
  if (std::optional<std::string> tables = OptionalParam(run, "tables")) {
    args.push_back("--tables");
    args.push_back(*tables);
  }
  FERRY_ASSIGN_OR_RETURN(FerryRun ran, RunFerryChild(run, "ferry verify", std::move(args)));
  if (ran.outcome.exit_code != 0 && ran.outcome.exit_code != kExitCheckFailed) {
    return Err(FerryChildError(run, "ferry verify", ran,
                               "fix the cause (both databases must be reachable) and resume the "
                               "run"));
  }
  if (!ran.document || !ran.document->is_object()) {
    return Err(
        Internal("{}: ferry verify printed no JSON report (see {})", Who(run), ran.log_path));
  }
  Json tables = Json::array();
  std::vector<std::string> differences;
  for (const Json& t : ran.document->value("tables", Json::array())) {
    const std::string name = t.value("table", "");
    const bool identical = t.value("identical", false);
    tables.push_back({{"table", name},
                      {"identical", identical},
                      {"source_rows", t.value("source_rows", int64_t{0})},
                      {"target_rows", t.value("target_rows", int64_t{0})}});
    if (identical) continue;
    if (!t.value("in_target", true)) {
      differences.push_back(fmt::format("`{}` is missing from the target", name));
    } else if (!t.value("in_source", true)) {
      differences.push_back(fmt::format("`{}` is not in the source", name));
    } else {
      differences.push_back(
          fmt::format("`{}`: {} missing, {} extra, {} changed row(s) (source {} rows, target {})",
                      name, t.value("missing", int64_t{0}), t.value("extra", int64_t{0}),
                      t.value("changed", int64_t{0}), t.value("source_rows", int64_t{0}),
                      t.value("target_rows", int64_t{0})));
    }
  }
  if (ran.outcome.exit_code == kExitCheckFailed || !differences.empty()) {
    return Err(
        DataLoss("{}: {} and {} differ: {}; the rows are listed in {}; copy again (or fix "
                 "the target) and resume the run",
                 Who(run), RedactUrl(from), RedactUrl(to),
                 differences.empty() ? std::string("see the report")
                                     : fmt::format("{}", fmt::join(differences, "; ")),
                 ran.out_name));
  }
  return Json{{"identical", true},
              {"tables", tables},
              {"artifacts", Json::array({ran.out_name, ran.log_name})}};
}

// ---------------------------------------------------------------------------------------------

Status NotAvailableYet(const TaskRun& run, std::string_view way_out) {
  return Unimplemented("{}: ferry cannot do this task type yet; {}", Who(run), way_out);
}

std::string_view UnavailableWayOut(std::string_view type) {
  if (type == "check.quota") {
    return "check the cloud account's quotas against the plan's sizing by hand (or with a "
           "`command` task running the provider's CLI), then remove this task or replace it";
  }
  return "retire the source by hand, or with a `command` task running your decommission "
         "procedure behind an approval, then remove this task or replace it";
}

Status CheckRun(const TaskRun& run) {
  if (run.spec == nullptr) return InvalidArgument("a task run without its spec");
  if (FindTaskType(run.spec->type) == nullptr) {
    return InvalidArgument("task `{}`: unknown task type `{}`", run.spec->id, run.spec->type);
  }
  return OkStatus();
}

}  // namespace

Result<Json> SnapshotTask(const TaskRun& run) {
  FERRY_RETURN_IF_ERROR(CheckRun(run));
  const std::string& type = run.spec->type;
  if (type == "copy") return CopySnapshot(run);
  if (type == "iac.write") return IacSnapshot(run);
  return Json::object();
}

Result<Json> ExecuteTask(const TaskRun& run) {
  FERRY_RETURN_IF_ERROR(CheckRun(run));
  const std::string& type = run.spec->type;
  if (!FindTaskType(type)->available) return Err(NotAvailableYet(run, UnavailableWayOut(type)));
  if (type == "check.connect") return CheckConnect(run);
  if (type == "check.credentials") return CheckCredentials(run);
  if (type == "check.version") return CheckVersion(run);
  if (type == "check.disk") return CheckDisk(run);
  if (type == "iac.write") return IacWrite(run);
  if (type == "command" || type == "cutover") return ExecuteCommand(run);
  if (type == "copy") return ExecuteCopy(run);
  if (type == "verify") return ExecuteVerify(run);
  if (type == "smoke.http") return SmokeHttp(run);
  if (type == "smoke.sql") return SmokeSql(run);
  if (type == "smoke.tls") return SmokeTls(run);
  if (type == "smoke.dns") return SmokeDns(run);
  if (type == "smoke.latency") return SmokeLatency(run);
  if (type == "validate.baseline") return ValidateBaseline(run);
  return Err(Internal("{}: no executor for this task type", Who(run)));
}

Result<Json> UndoTask(const TaskRun& run, const Json& snapshot, const Json& result) {
  FERRY_RETURN_IF_ERROR(CheckRun(run));
  const std::string& type = run.spec->type;
  if (type == "command" || type == "cutover") return UndoCommand(run);
  if (type == "copy") return UndoCopy(run, snapshot, result);
  if (type == "iac.write") return IacUndo(run, snapshot);
  if (type == "decommission") {
    return Json{{"undo", "none"},
                {"note",
                 "a decommission is final; this one did nothing (the type is not "
                 "available yet)"}};
  }
  return Json{{"undo", "none"}, {"note", "the task only reads"}};
}

}  // namespace ferry::workflow
