#include "base/thread_pool.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/status.h"

namespace ferry {
namespace {

TEST(ThreadPoolTest, RunsManyTasksAndReturnsTheirResults) {
  ThreadPool pool(4);
  EXPECT_EQ(pool.size(), 4u);
  std::atomic<int64_t> sum{0};
  std::vector<std::future<int>> futures;
  for (int i = 0; i < 10'000; ++i) {
    futures.push_back(pool.Submit([i, &sum] {
      sum += i;
      return i * 2;
    }));
  }
  int64_t returned = 0;
  for (auto& future : futures) returned += future.get();
  EXPECT_EQ(sum.load(), 49'995'000);
  EXPECT_EQ(returned, 2 * 49'995'000);
}

TEST(ThreadPoolTest, UsesAllItsThreads) {
  ThreadPool pool(3);
  std::mutex mu;
  std::set<std::thread::id> seen;
  std::atomic<int> arrived{0};
  for (int i = 0; i < 3; ++i) {
    pool.Submit([&] {
      {
        std::lock_guard lock(mu);
        seen.insert(std::this_thread::get_id());
      }
      // Hold every worker until all three tasks run at once.
      ++arrived;
      while (arrived.load() < 3) std::this_thread::yield();
    });
  }
  pool.Wait();
  EXPECT_EQ(seen.size(), 3u);
}

TEST(ThreadPoolTest, ExceptionTravelsThroughTheFuture) {
  ThreadPool pool(2);
  std::future<int> failing =
      pool.Submit([]() -> int { throw std::runtime_error("chunk 7 failed"); });
  std::future<int> fine = pool.Submit([] { return 7; });
  try {
    failing.get();
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "chunk 7 failed");
  }
  EXPECT_EQ(fine.get(), 7) << "the worker survived the exception";
}

TEST(ThreadPoolTest, CarriesResultsAndMoveOnlyTasks) {
  ThreadPool pool(1);
  auto owned = std::make_unique<int>(41);
  std::future<Result<int>> result = pool.Submit([p = std::move(owned)]() -> Result<int> {
    if (*p != 41) return Err(Internal("lost the capture"));
    return *p + 1;
  });
  EXPECT_EQ(result.get().value(), 42);
  std::future<void> done = pool.Submit([] {});
  done.get();
}

TEST(ThreadPoolTest, WaitCoversTasksSubmittedByTasks) {
  ThreadPool pool(2);
  std::atomic<int> count{0};
  for (int i = 0; i < 100; ++i) {
    pool.Submit([&pool, &count] {
      pool.Submit([&count] {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        ++count;
      });
      ++count;
    });
  }
  pool.Wait();
  EXPECT_EQ(count.load(), 200);
  pool.Wait();  // already idle: returns at once
}

TEST(ThreadPoolTest, ConcurrentSubmitters) {
  ThreadPool pool(4);
  std::atomic<int> count{0};
  std::vector<std::thread> submitters;
  for (int t = 0; t < 4; ++t) {
    submitters.emplace_back([&] {
      for (int i = 0; i < 2'500; ++i) pool.Submit([&count] { ++count; });
    });
  }
  for (std::thread& thread : submitters) thread.join();
  pool.Wait();
  EXPECT_EQ(count.load(), 10'000);
}

TEST(ThreadPoolTest, DestructorDrainsTheQueue) {
  std::atomic<int> count{0};
  {
    ThreadPool pool(2);
    for (int i = 0; i < 200; ++i) {
      pool.Submit([&count] {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        ++count;
      });
    }
  }
  EXPECT_EQ(count.load(), 200);
}

TEST(ThreadPoolTest, ZeroThreadsMeansOne) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(pool.Submit([] { return 3; }).get(), 3);
}

}  // namespace
}  // namespace ferry
