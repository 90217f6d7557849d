#include "base/env.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "ferry_env_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { ASSERT_TRUE(env_->RemoveAll(dir_).ok()); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  Env* env_ = Env::Default();
  std::string dir_;
};

TEST_F(EnvTest, WriteFileAtomicThenReadBack) {
  const std::string path = Path("state.json");
  ASSERT_TRUE(env_->WriteFileAtomic(path, "first").ok());
  ASSERT_TRUE(env_->WriteFileAtomic(path, std::string(100'000, 'x')).ok());
  Result<std::string> data = env_->ReadFile(path);
  ASSERT_TRUE(data.has_value()) << data.error().ToString();
  EXPECT_EQ(*data, std::string(100'000, 'x'));
  EXPECT_EQ(env_->FileSize(path).value(), 100'000u);
  // No temporary file is left beside the target.
  EXPECT_THAT(env_->ListDir(dir_).value(), ElementsAre("state.json"));
}

TEST_F(EnvTest, ReadersNeverSeeATornAtomicWrite) {
  const std::string path = Path("flip");
  const std::string a(size_t{64} * 1024, 'a');
  const std::string b(size_t{64} * 1024, 'b');
  ASSERT_TRUE(env_->WriteFileAtomic(path, a).ok());
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(env_->WriteFileAtomic(path, i % 2 == 0 ? b : a).ok());
    }
    done = true;
  });
  int reads = 0;
  while (!done || reads == 0) {
    Result<std::string> data = env_->ReadFile(path);
    ASSERT_TRUE(data.has_value()) << data.error().ToString();
    ASSERT_TRUE(*data == a || *data == b) << "torn read of " << data->size() << " bytes";
    ++reads;
  }
  writer.join();
}

TEST_F(EnvTest, ReadFileReadsEmptyLargeProcAndPipeFilesWhole) {
  // A regular file is sized by fstat; these are the cases where the size says nothing or lies.
  const std::string empty = Path("empty");
  ASSERT_TRUE(env_->WriteFileAtomic(empty, "").ok());
  EXPECT_EQ(env_->ReadFile(empty).value(), "");
  std::string big(size_t{3} * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  const std::string large = Path("large");
  ASSERT_TRUE(env_->WriteFileAtomic(large, big).ok());
  EXPECT_EQ(env_->ReadFile(large).value(), big);
  // procfs reports a size of 0 for files that hold text.
  Result<std::string> status = env_->ReadFile("/proc/self/status");
  ASSERT_TRUE(status.has_value()) << status.error().ToString();
  EXPECT_THAT(*status, ::testing::HasSubstr("Pid:"));
  // A pipe has no size at all: written in pieces larger than the first buffer.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([&] {
    for (size_t at = 0; at < big.size();) {
      ssize_t n = ::write(fds[1], big.data() + at, std::min<size_t>(100'000, big.size() - at));
      ASSERT_GT(n, 0);
      at += static_cast<size_t>(n);
    }
    ::close(fds[1]);
  });
  Result<std::string> piped = env_->ReadFile(fmt::format("/proc/self/fd/{}", fds[0]));
  writer.join();
  ::close(fds[0]);
  ASSERT_TRUE(piped.has_value()) << piped.error().ToString();
  EXPECT_EQ(*piped, big);
}

TEST_F(EnvTest, ReadMissingFileNamesPathAndReason) {
  const std::string path = Path("missing.yaml");
  Result<std::string> data = env_->ReadFile(path);
  ASSERT_FALSE(data.has_value());
  EXPECT_EQ(data.error().code(), StatusCode::kNotFound);
  EXPECT_EQ(data.error().message(), "open " + path + ": No such file or directory");
  EXPECT_FALSE(env_->FileExists(path));
  EXPECT_EQ(env_->FileSize(path).error().code(), StatusCode::kNotFound);
}

TEST_F(EnvTest, AppendFileCreatesThenAppends) {
  const std::string path = Path("journal");
  ASSERT_TRUE(env_->AppendFile(path, "one\n").ok());
  ASSERT_TRUE(env_->AppendFile(path, "two\n").ok());
  EXPECT_EQ(env_->ReadFile(path).value(), "one\ntwo\n");
}

TEST_F(EnvTest, ListDirIsSortedWithoutDotEntries) {
  for (const char* name : {"b", "c", "a", "B"}) {
    ASSERT_TRUE(env_->WriteFileAtomic(Path(name), name).ok());
  }
  ASSERT_TRUE(env_->CreateDirs(Path("d")).ok());
  EXPECT_THAT(env_->ListDir(dir_).value(), ElementsAre("B", "a", "b", "c", "d"));
  Result<std::vector<std::string>> missing = env_->ListDir(Path("nope"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message(), HasSubstr(Path("nope")));
}

TEST_F(EnvTest, CreateDirsAndRemoveAllOfATree) {
  const std::string root = Path("x");
  ASSERT_TRUE(env_->CreateDirs(root + "/y/z").ok());
  ASSERT_TRUE(env_->CreateDirs(root + "/y/z").ok()) << "existing directories are OK";
  ASSERT_TRUE(env_->WriteFileAtomic(root + "/y/z/f", "data").ok());
  ASSERT_TRUE(env_->WriteFileAtomic(root + "/g", "data").ok());
  ASSERT_EQ(::symlink(dir_.c_str(), (root + "/link-outside").c_str()), 0);

  ASSERT_TRUE(env_->RemoveAll(root).ok());
  EXPECT_FALSE(env_->FileExists(root));
  EXPECT_TRUE(env_->FileExists(dir_)) << "a symbolic link is removed, not followed";
  EXPECT_TRUE(env_->RemoveAll(root).ok()) << "removing what does not exist is OK";
}

TEST_F(EnvTest, CreateDirsThroughAFileFails) {
  ASSERT_TRUE(env_->WriteFileAtomic(Path("file"), "").ok());
  Status status = env_->CreateDirs(Path("file/sub"));
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "mkdir " + Path("file/sub") + ": Not a directory");
}

TEST_F(EnvTest, InjectedWriteFaultLeavesOldFileIntact) {
  FaultInjectionEnv env(env_);
  const std::string path = Path("checkpoint");
  ASSERT_TRUE(env.WriteFileAtomic(path, "old").ok());

  env.FailNextWrites(2, Unavailable("disk {} went away", "sdb"));
  Status first = env.WriteFileAtomic(path, "new");
  EXPECT_EQ(first, Unavailable("disk sdb went away"));
  EXPECT_EQ(env.AppendFile(path, "more").code(), StatusCode::kUnavailable);
  EXPECT_EQ(env.ReadFile(path).value(), "old");

  // The faults are used up: writes reach the disk again.
  ASSERT_TRUE(env.WriteFileAtomic(path, "new").ok());
  EXPECT_EQ(env.ReadFile(path).value(), "new");
}

TEST_F(EnvTest, InjectedFaultAlsoStopsCreateDirs) {
  FaultInjectionEnv env(env_);
  env.FailNextWrites(1, PermissionDenied("read-only volume"));
  EXPECT_EQ(env.CreateDirs(Path("d")).code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(env.FileExists(Path("d")));
}

TEST(EnvClockTest, RealClocksAreSane) {
  Env* env = Env::Default();
  int64_t wall = env->NowMicros();
  EXPECT_NEAR(static_cast<double>(wall) / 1e6, static_cast<double>(::time(nullptr)), 2.0);
  int64_t before = env->MonotonicMicros();
  env->SleepForMicros(2000);
  EXPECT_GE(env->MonotonicMicros() - before, 2000);
}

TEST(FaultInjectionEnvTest, ManualClockAdvancesOnSleep) {
  FaultInjectionEnv env(Env::Default());
  env.SetNowMicros(1'000'000);
  EXPECT_EQ(env.NowMicros(), 1'000'000);
  EXPECT_EQ(env.MonotonicMicros(), 1'000'000);

  int64_t real_before = Env::Default()->MonotonicMicros();
  env.SleepForMicros(3'600'000'000);  // an hour, instantly
  EXPECT_LT(Env::Default()->MonotonicMicros() - real_before, 1'000'000);
  EXPECT_EQ(env.NowMicros(), 3'601'000'000);

  env.AdvanceMicros(5);
  EXPECT_EQ(env.MonotonicMicros(), 3'601'000'005);
}

TEST(FaultInjectionEnvTest, AdvanceFreezesAnUnfrozenClock) {
  FaultInjectionEnv env(Env::Default());
  int64_t before = Env::Default()->NowMicros();
  env.AdvanceMicros(60'000'000);
  int64_t frozen = env.NowMicros();
  EXPECT_GE(frozen, before + 60'000'000);
  EXPECT_EQ(env.NowMicros(), frozen);
}

TEST(FaultInjectionEnvTest, EnvVarOverridesAndHides) {
  ASSERT_EQ(::setenv("FERRY_ENV_TEST_VAR", "real", 1), 0);
  FaultInjectionEnv env(Env::Default());
  EXPECT_EQ(env.GetEnvVar("FERRY_ENV_TEST_VAR"), "real");
  env.SetEnvVar("FERRY_ENV_TEST_VAR", "fake");
  EXPECT_EQ(env.GetEnvVar("FERRY_ENV_TEST_VAR"), "fake");
  env.SetEnvVar("FERRY_ENV_TEST_VAR", std::nullopt);
  EXPECT_EQ(env.GetEnvVar("FERRY_ENV_TEST_VAR"), std::nullopt);
  EXPECT_EQ(Env::Default()->GetEnvVar("FERRY_ENV_TEST_VAR"), "real");
  ASSERT_EQ(::unsetenv("FERRY_ENV_TEST_VAR"), 0);
  EXPECT_EQ(Env::Default()->GetEnvVar("FERRY_ENV_TEST_VAR"), std::nullopt);
}

TEST(EnvNetTest, ConnectToClosedPortNamesHostPortAndReason) {
  Env* env = Env::Default();
  Result<uint16_t> port = env->FreeLoopbackPort();
  ASSERT_TRUE(port.has_value()) << port.error().ToString();
  EXPECT_GT(*port, 0);
  Result<int> fd = env->ConnectTcp("127.0.0.1", *port, 2000);
  ASSERT_FALSE(fd.has_value());
  EXPECT_EQ(fd.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(fd.error().message(), fmt::format("connect 127.0.0.1:{}: Connection refused", *port));
}

TEST(EnvNetTest, ConnectToListenerReturnsBlockingSocket) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);

  Result<int> fd = Env::Default()->ConnectTcp("localhost", ntohs(address.sin_port), 2000);
  ASSERT_TRUE(fd.has_value()) << fd.error().ToString();
  EXPECT_EQ(::fcntl(*fd, F_GETFL) & O_NONBLOCK, 0);
  int accepted = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  ASSERT_EQ(::write(*fd, "ping", 4), 4);
  char buffer[4];
  ASSERT_EQ(::read(accepted, buffer, 4), 4);
  EXPECT_EQ(std::string(buffer, 4), "ping");
  ::close(accepted);
  ::close(*fd);
  ::close(listener);
}

TEST(EnvNetTest, ConnectGivesUpAtTheTimeout) {
  // A listener that never accepts, with its backlog full: the kernel drops further SYNs, so a
  // new connect hangs until our deadline.
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(::listen(listener, 0), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const uint16_t port = ntohs(address.sin_port);
  std::vector<int> held;
  Env* env = Env::Default();
  Result<int> fd;
  int64_t elapsed = 0;
  for (int i = 0; i < 8; ++i) {
    int64_t start = env->MonotonicMicros();
    fd = env->ConnectTcp("127.0.0.1", port, 200);
    elapsed = env->MonotonicMicros() - start;
    if (!fd.has_value()) break;
    held.push_back(*fd);
  }
  for (int open_fd : held) ::close(open_fd);
  ::close(listener);
  ASSERT_FALSE(fd.has_value()) << "the backlog never filled";
  EXPECT_EQ(fd.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(fd.error().message(),
            fmt::format("connect 127.0.0.1:{}: timed out after 200 ms", port));
  EXPECT_GE(elapsed, 200'000);
  EXPECT_LT(elapsed, 2'000'000);
}

TEST(EnvNetTest, InjectedConnectFault) {
  FaultInjectionEnv env(Env::Default());
  env.FailNextConnects(1, Unavailable("connect db:5432: injected"));
  EXPECT_EQ(env.ConnectTcp("db", 5432, 100).error().message(), "connect db:5432: injected");
}

}  // namespace
}  // namespace ferry
