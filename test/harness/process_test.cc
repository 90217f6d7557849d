#include "harness/process.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace ferry::testing {
namespace {

using std::chrono::milliseconds;

// A directory for one test's output files, removed afterwards.
class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (std::filesystem::temp_directory_path() / "ferry-process-test-XXXXXX");
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  static std::string Contents(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string dir_;
};

bool ProcessExists(pid_t pid) { return kill(pid, 0) == 0 || errno != ESRCH; }

TEST_F(ProcessTest, CapturesStdoutAndStderrAndExitCode) {
  SubprocessOptions options;
  options.argv = {"sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"};
  options.stdout_path = Path("out");
  options.stderr_path = Path("err");
  Result<ExitStatus> status = RunToCompletion(options, std::chrono::seconds(10));
  ASSERT_TRUE(status.has_value()) << status.error().ToString();
  EXPECT_EQ(status->exit_code, 3);
  EXPECT_EQ(status->signal, 0);
  EXPECT_FALSE(status->success());
  EXPECT_EQ(status->ToString(), "exited with code 3");
  EXPECT_EQ(Contents(Path("out")), "to-stdout\n");
  EXPECT_EQ(Contents(Path("err")), "to-stderr\n");
}

TEST_F(ProcessTest, SamePathForBothStreamsInterleavesThem) {
  SubprocessOptions options;
  options.argv = {"sh", "-c", "echo one; echo two >&2; echo three"};
  options.stdout_path = Path("log");
  options.stderr_path = Path("log");
  Result<ExitStatus> status = RunToCompletion(options, std::chrono::seconds(10));
  ASSERT_TRUE(status.has_value()) << status.error().ToString();
  EXPECT_TRUE(status->success());
  EXPECT_EQ(Contents(Path("log")), "one\ntwo\nthree\n");
}

TEST_F(ProcessTest, SetsAndUnsetsEnvironmentAndWorkingDirectory) {
  setenv("FERRY_PROCESS_TEST_DROPPED", "visible", 1);
  SubprocessOptions options;
  options.argv = {"sh", "-c", "echo \"$FERRY_A|${FERRY_PROCESS_TEST_DROPPED-unset}|$(pwd)\""};
  options.env_set = {{"FERRY_A", "alpha"}};
  options.env_unset = {"FERRY_PROCESS_TEST_DROPPED"};
  options.working_dir = dir_;
  options.stdout_path = Path("out");
  Result<ExitStatus> status = RunToCompletion(options, std::chrono::seconds(10));
  unsetenv("FERRY_PROCESS_TEST_DROPPED");
  ASSERT_TRUE(status.has_value()) << status.error().ToString();
  EXPECT_EQ(Contents(Path("out")), "alpha|unset|" + dir_ + "\n");
}

TEST_F(ProcessTest, MissingProgramIsAnErrorOfSpawn) {
  SubprocessOptions options;
  options.argv = {"ferry-no-such-program"};
  Result<std::unique_ptr<Subprocess>> process = Subprocess::Spawn(options);
  ASSERT_FALSE(process.has_value());
  EXPECT_EQ(process.error().code(), StatusCode::kNotFound);
  EXPECT_NE(process.error().message().find("ferry-no-such-program"), std::string::npos);
}

TEST_F(ProcessTest, UnwritableOutputIsAnErrorOfSpawn) {
  SubprocessOptions options;
  options.argv = {"true"};
  options.stdout_path = Path("no-such-dir/out");
  Result<std::unique_ptr<Subprocess>> process = Subprocess::Spawn(options);
  ASSERT_FALSE(process.has_value());
  EXPECT_NE(process.error().message().find("no-such-dir/out"), std::string::npos)
      << process.error().ToString();
}

TEST_F(ProcessTest, WaitTimesOutAndKillEndsTheChild) {
  SubprocessOptions options;
  options.argv = {"sleep", "30"};
  Result<std::unique_ptr<Subprocess>> process = Subprocess::Spawn(options);
  ASSERT_TRUE(process.has_value()) << process.error().ToString();
  pid_t pid = (*process)->pid();
  Result<ExitStatus> waited = (*process)->Wait(milliseconds(50));
  ASSERT_FALSE(waited.has_value());
  EXPECT_EQ(waited.error().code(), StatusCode::kDeadlineExceeded);
  EXPECT_TRUE((*process)->running());

  Result<ExitStatus> killed = (*process)->Kill();
  ASSERT_TRUE(killed.has_value()) << killed.error().ToString();
  EXPECT_EQ(killed->signal, SIGKILL);
  EXPECT_EQ(killed->ToString(), "killed by signal 9 (SIGKILL)");
  EXPECT_FALSE(ProcessExists(pid));
}

TEST_F(ProcessTest, StopEscalatesToSigkillWhenTheSignalIsIgnored) {
  SubprocessOptions options;
  // The shell ignores SIGTERM and so does its sleep; only SIGKILL to the group ends them.
  options.argv = {"sh", "-c", "trap '' TERM; sleep 30; exit 0"};
  Result<std::unique_ptr<Subprocess>> process = Subprocess::Spawn(options);
  ASSERT_TRUE(process.has_value()) << process.error().ToString();
  std::this_thread::sleep_for(milliseconds(100));  // let the shell install its trap
  Result<ExitStatus> stopped = (*process)->Stop(SIGTERM, milliseconds(200));
  ASSERT_TRUE(stopped.has_value()) << stopped.error().ToString();
  EXPECT_EQ(stopped->signal, SIGKILL);
}

TEST_F(ProcessTest, RunToCompletionKillsOnTimeout) {
  SubprocessOptions options;
  options.argv = {"sleep", "30"};
  auto start = std::chrono::steady_clock::now();
  Result<ExitStatus> status = RunToCompletion(options, milliseconds(100));
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(ProcessTest, DestructorKillsARunningChild) {
  pid_t pid;
  {
    SubprocessOptions options;
    options.argv = {"sleep", "30"};
    Result<std::unique_ptr<Subprocess>> process = Subprocess::Spawn(options);
    ASSERT_TRUE(process.has_value()) << process.error().ToString();
    pid = (*process)->pid();
  }
  EXPECT_FALSE(ProcessExists(pid));
}

TEST_F(ProcessTest, RunsAsAnotherUserOnlyWhenRoot) {
  SubprocessOptions options;
  options.argv = {"id", "-un"};
  options.user = "nobody";
  options.stdout_path = Path("out");
  Result<ExitStatus> status = RunToCompletion(options, std::chrono::seconds(10));
  if (geteuid() == 0) {
    ASSERT_TRUE(status.has_value()) << status.error().ToString();
    EXPECT_TRUE(status->success());
    EXPECT_EQ(Contents(Path("out")), "nobody\n");
  } else {
    ASSERT_FALSE(status.has_value());
    EXPECT_EQ(status.error().code(), StatusCode::kPermissionDenied);
  }
}

// PR_SET_PDEATHSIG fires when the forking *thread* ends; a child spawned from a short-lived
// worker thread must survive that thread.
TEST_F(ProcessTest, ParentDeathSignalIgnoresTheEndOfASpawningWorkerThread) {
  std::unique_ptr<Subprocess> child;
  std::thread worker([&] {
    SubprocessOptions options;
    options.argv = {"sleep", "30"};
    options.parent_death_signal = SIGKILL;
    Result<std::unique_ptr<Subprocess>> spawned = Subprocess::Spawn(options);
    ASSERT_TRUE(spawned.has_value()) << spawned.error().ToString();
    child = std::move(*spawned);
  });
  worker.join();
  ASSERT_NE(child, nullptr);
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_TRUE(child->running()) << "the child died with its spawning thread";
}

// The point of PR_SET_PDEATHSIG: when the test process dies, its children die too. A forked
// copy of this process plays the test process; this process becomes the child subreaper so the
// orphaned grandchild is re-parented here and can be reaped and inspected.
TEST_F(ProcessTest, ParentDeathSignalKillsTheChildWhenTheTestProcessDies) {
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t test_process = fork();
  ASSERT_GE(test_process, 0);
  if (test_process == 0) {
    close(pipe_fds[0]);
    SubprocessOptions options;
    options.argv = {"/bin/sleep", "30"};
    options.parent_death_signal = SIGKILL;
    Result<std::unique_ptr<Subprocess>> spawned = Subprocess::Spawn(options);
    pid_t pid = spawned.has_value() ? (*spawned)->pid() : -1;
    ssize_t written = write(pipe_fds[1], &pid, sizeof(pid));
    _exit(written == sizeof(pid) ? 0 : 1);  // "crash": no destructor kills the child
  }
  close(pipe_fds[1]);
  pid_t grandchild = -1;
  ASSERT_EQ(read(pipe_fds[0], &grandchild, sizeof(grandchild)),
            static_cast<ssize_t>(sizeof(grandchild)));
  close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(test_process, &status, 0), test_process);
  ASSERT_GT(grandchild, 0);

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  pid_t reaped = 0;
  while (reaped != grandchild && std::chrono::steady_clock::now() < deadline) {
    reaped = waitpid(grandchild, &status, WNOHANG);
    if (reaped != grandchild) std::this_thread::sleep_for(milliseconds(10));
  }
  prctl(PR_SET_CHILD_SUBREAPER, 0);
  ASSERT_EQ(reaped, grandchild) << "the child outlived the process that spawned it";
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST(ReadFileTailTest, ReturnsTheEndFromALineBoundary) {
  std::string path = std::filesystem::temp_directory_path() / "ferry-tail-test.txt";
  {
    std::ofstream out(path);
    for (int i = 0; i < 1000; ++i) out << "line " << i << "\n";
  }
  std::string tail = ReadFileTail(path, 30);
  std::filesystem::remove(path);
  EXPECT_EQ(tail.substr(0, 4), "...\n");
  EXPECT_NE(tail.find("line 999\n"), std::string::npos);
  EXPECT_EQ(tail.find("line 99\n"), std::string::npos);
  EXPECT_EQ(ReadFileTail("/nonexistent/file"), "");
}

}  // namespace
}  // namespace ferry::testing
