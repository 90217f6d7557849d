// The shared event feed against the store it reads: while a writer appends events of several
// runs, readers following one run (some far behind the window, some resuming from where they
// stopped) each receive exactly that run's events, in order, without gaps or duplicates.
#include "server/event_feed.h"

#include <atomic>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "store/store_test_util.h"

namespace ferry::server {
namespace {

class EventFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto location = testing::StoreLocation::Create("sqlite", "feed");
    ASSERT_TRUE(location.has_value()) << location.error().ToString();
    location_ = std::move(*location);
    auto store = Store::Open(location_->url());
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(*store);
  }
  std::unique_ptr<testing::StoreLocation> location_;
  std::unique_ptr<Store> store_;
};

TEST_F(EventFeedTest, EveryReaderGetsEachEventOfItsRunOnceInOrder) {
  // Events before the feed starts: readers from 0 begin behind the window.
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(store_->AppendEvent({.run_id = i % 3 == 0 ? "a" : "b", .actor = "t", .kind = "k"}));
  }
  // A small window, so that catching up from the store and joining the window both happen.
  EventFeed feed(store_.get(), {.poll_micros = 2'000, .window = 64});
  constexpr int kWrites = 1500;
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    std::minstd_rand random(7);
    for (int i = 0; i < kWrites; ++i) {
      const char* run = random() % 3 == 0 ? "a" : (random() % 2 ? "b" : "c");
      ASSERT_TRUE(store_->AppendEvent({.run_id = run, .actor = "t", .kind = "k"}));
      if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    writing = false;
  });
  constexpr int kReaders = 6;
  std::vector<std::vector<int64_t>> received(kReaders);
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      std::minstd_rand random(r);
      int64_t position = 0;
      int64_t last_delivered = 0;
      for (;;) {
        auto batch = feed.Wait("a", position, 1 + static_cast<int>(random() % 40), 20'000);
        ASSERT_TRUE(batch.has_value()) << batch.error().ToString();
        for (const Event& e : batch->events) {
          ASSERT_EQ(e.run_id, "a");
          received[r].push_back(e.seq);
          last_delivered = e.seq;
        }
        position = batch->position;
        // Now and then, "disconnect" and resume from the last event received, as a client
        // does with Last-Event-ID.
        if (random() % 10 == 0) position = last_delivered;
        if (!writing && batch->events.empty()) {
          auto rest = feed.Wait("a", position, 1000, 50'000);
          ASSERT_TRUE(rest.has_value());
          for (const Event& e : rest->events) received[r].push_back(e.seq);
          if (rest->events.empty()) break;
          position = rest->position;
        }
      }
    });
  }
  writer.join();
  for (std::thread& t : readers) t.join();
  auto expected = store_->ReadEvents(0, 100'000, "a");
  ASSERT_TRUE(expected.has_value());
  std::vector<int64_t> want;
  for (const Event& e : *expected) want.push_back(e.seq);
  ASSERT_GT(want.size(), 300u);
  for (int r = 0; r < kReaders; ++r) EXPECT_EQ(received[r], want) << "reader " << r;
  EXPECT_GT(feed.polls(), 0);
}

TEST_F(EventFeedTest, WaitReturnsEmptyAtTheDeadlineAndStopEndsIt) {
  EventFeed feed(store_.get(), {.poll_micros = 5'000});
  auto none = feed.Wait("a", 0, 10, 50'000);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->events.empty());
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    feed.Stop();
  });
  auto stopped = feed.Wait("a", 0, 10, 10'000'000);
  stopper.join();
  ASSERT_FALSE(stopped.has_value());
  EXPECT_EQ(stopped.error().code(), StatusCode::kCancelled);
}

}  // namespace
}  // namespace ferry::server
