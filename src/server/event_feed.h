// One reader of the store's event log shared by every client that follows it (the server-sent
// events of GET /api/v1/runs/{id}/events): a single thread polls the log for what is new, keeps
// the latest events in memory and wakes the waiting clients, so that 200 clients watching cost
// one store query per poll interval, not 200.
//
// A client asks for the events of a run after a sequence number. When that number is still in
// the window kept in memory, it is served from there; when it is older (a client resuming after
// a long time away, or a first read of a long run), it is read from the store, then the client
// joins the window. The positions returned guarantee neither gaps nor duplicates: every event of
// the run after `after` is returned exactly once, in order, across successive calls.
//
// Thread-safety: every method may be called from any thread.
#ifndef FERRY_SERVER_EVENT_FEED_H_
#define FERRY_SERVER_EVENT_FEED_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"
#include "store/store.h"

namespace ferry::server {

struct EventFeedOptions {
  // How often the log is polled while clients wait. Shorter is fresher and costs a query each.
  int64_t poll_micros = 100'000;
  // Events kept in memory. A client further behind reads from the store instead.
  size_t window = 8192;
};

struct FeedBatch {
  std::vector<Event> events;  // of the run, in order
  // Pass as `after` next time: every event of the run up to here has been returned.
  int64_t position = 0;
};

class EventFeed {
 public:
  // `store` is not owned and must outlive the feed.
  explicit EventFeed(Store* store, EventFeedOptions options = {});
  ~EventFeed();
  EventFeed(const EventFeed&) = delete;
  EventFeed& operator=(const EventFeed&) = delete;

  // The events of `run_id` (every run's when empty) after `after`, at most `limit`; waits up to
  // `timeout_micros` for some when there are none yet (returning an empty batch, with the
  // position moved on, if none came). kCancelled once Stop() was called.
  Result<FeedBatch> Wait(std::string_view run_id, int64_t after, int limit, int64_t timeout_micros);

  // Wakes every waiter with kCancelled and stops polling. Idempotent.
  void Stop();

  // Clients waiting now, and polls made so far (for /metrics and tests).
  int waiting() const;
  int64_t polls() const;

 private:
  void PollLoop();
  // Under mu_: whether `after` is within what the window covers.
  bool CoveredLocked(int64_t after) const;
  void CollectLocked(std::string_view run_id, int64_t after, int limit, FeedBatch* batch) const;

  Store* const store_;
  const EventFeedOptions options_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Event> window_;  // GUARDED_BY(mu_): contiguous seqs, the newest last
  int64_t head_ = -1;         // GUARDED_BY(mu_): the last seq polled; -1 before the first poll
  bool stopped_ = false;      // GUARDED_BY(mu_)
  int waiting_ = 0;           // GUARDED_BY(mu_)
  int64_t polls_ = 0;         // GUARDED_BY(mu_)
  Status poll_error_;         // GUARDED_BY(mu_): the last poll's failure, reported to waiters
  std::thread poller_;        // started by the first Wait
};

}  // namespace ferry::server

#endif  // FERRY_SERVER_EVENT_FEED_H_
