#include "base/ids.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry {
namespace {

using ::testing::MatchesRegex;

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// The millisecond timestamp held in the first 10 characters of a ULID.
uint64_t DecodeMillis(std::string_view ulid) {
  uint64_t value = 0;
  for (char c : ulid.substr(0, 10)) value = value << 5 | kCrockford.find(c);
  return value;
}

uint64_t NowMillis() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

TEST(IdsTest, Format) {
  std::string id = NewId("run");
  EXPECT_THAT(id, MatchesRegex("run_[0-7][0-9A-HJKMNP-TV-Z]{25}"));
  EXPECT_THAT(NewId(""), MatchesRegex("[0-7][0-9A-HJKMNP-TV-Z]{25}"));
}

TEST(IdsTest, TimestampIsTheCurrentMillisecond) {
  uint64_t before = NowMillis();
  std::string id = NewId("");
  uint64_t after = NowMillis();
  EXPECT_GE(DecodeMillis(id), before);
  EXPECT_LE(DecodeMillis(id), after);
}

TEST(IdsTest, UniqueAndStrictlyIncreasingOver100k) {
  std::unordered_set<std::string> seen;
  std::string previous;
  for (int i = 0; i < 100'000; ++i) {
    std::string id = NewId("evt");
    ASSERT_TRUE(seen.insert(id).second) << "duplicate " << id;
    ASSERT_LT(previous, id);
    previous = id;
  }
}

TEST(IdsTest, LexicographicOrderFollowsTime) {
  std::string earlier = NewId("chunk");
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  std::string later = NewId("chunk");
  EXPECT_LT(earlier, later);
  EXPECT_GE(DecodeMillis(later.substr(6)), DecodeMillis(earlier.substr(6)) + 3);
}

TEST(IdsTest, UniqueAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25'000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      for (int i = 0; i < kPerThread; ++i) ids[t].push_back(NewId("w"));
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::unordered_set<std::string> all;
  for (const auto& list : ids) {
    for (size_t i = 1; i < list.size(); ++i) ASSERT_LT(list[i - 1], list[i]);
    all.insert(list.begin(), list.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(IdsTest, HostWorkerId) {
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof(host) - 1), 0);
  std::string id = HostWorkerId();
  std::string expected_start = std::string(host) + ":" + std::to_string(::getpid()) + ":";
  ASSERT_EQ(id.substr(0, expected_start.size()), expected_start);
  EXPECT_THAT(id.substr(expected_start.size()), MatchesRegex("[0-9a-f]{8}"));
  EXPECT_NE(HostWorkerId(), id);
}

TEST(IdsTest, WorkerProcessGoneOnlyForADeadProcessOfThisHost) {
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof(host) - 1), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  const std::string worker = std::string(host) + ":" + std::to_string(child) + ":0badf00d";
  EXPECT_FALSE(WorkerProcessGone(worker)) << "a live process";
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  // Dead but not reaped yet: a zombie, gone as a worker.
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  EXPECT_TRUE(WorkerProcessGone(worker)) << "a zombie";
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_TRUE(WorkerProcessGone(worker)) << "reaped";
  EXPECT_FALSE(WorkerProcessGone(HostWorkerId()));                     // this process
  EXPECT_FALSE(WorkerProcessGone(std::string(host) + ":1:0badf00d"));  // init is alive
  EXPECT_FALSE(WorkerProcessGone("another-host:" + std::to_string(child) + ":0badf00d"));
  EXPECT_FALSE(WorkerProcessGone(std::string(host) + ":12x:0badf00d"));
  EXPECT_FALSE(WorkerProcessGone("worker-7"));
}

}  // namespace
}  // namespace ferry
