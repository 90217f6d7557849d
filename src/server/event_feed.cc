#include "server/event_feed.h"

#include <algorithm>
#include <chrono>

#include "base/log.h"

namespace ferry::server {
namespace {

constexpr int kPollPage = 1000;

}  // namespace

EventFeed::EventFeed(Store* store, EventFeedOptions options) : store_(store), options_(options) {}

EventFeed::~EventFeed() {
  Stop();
  if (poller_.joinable()) poller_.join();
}

void EventFeed::Stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  changed_.notify_all();
}

int EventFeed::waiting() const {
  std::lock_guard lock(mu_);
  return waiting_;
}

int64_t EventFeed::polls() const {
  std::lock_guard lock(mu_);
  return polls_;
}

void EventFeed::PollLoop() {
  std::unique_lock lock(mu_);
  while (!stopped_) {
    // Idle while nobody waits: the window falls behind, and the next waiter catches up from
    // the store while the poll reads forward.
    if (waiting_ == 0) {
      changed_.wait(lock, [&] { return stopped_ || waiting_ > 0; });
      continue;
    }
    bool full_page = false;
    if (head_ < 0) {
      lock.unlock();
      Result<int64_t> head = store_->LastEventSeq();
      lock.lock();
      ++polls_;
      if (head.has_value()) {
        head_ = *head;
        poll_error_ = OkStatus();
        changed_.notify_all();
      } else {
        poll_error_ = head.error();
      }
    } else {
      const int64_t from = head_;
      lock.unlock();
      Result<std::vector<Event>> events = store_->ReadEvents(from, kPollPage);
      lock.lock();
      ++polls_;
      if (events.has_value()) {
        for (Event& event : *events) {
          head_ = event.seq;
          window_.push_back(std::move(event));
        }
        while (window_.size() > options_.window) window_.pop_front();
        full_page = static_cast<int>(events->size()) == kPollPage;
        if (!events->empty()) changed_.notify_all();
        poll_error_ = OkStatus();
      } else {
        if (poll_error_.ok()) {
          LogWarn("event feed: reading the event log failed; retrying",
                  {{"error", events.error().message()}});
        }
        poll_error_ = events.error();
      }
    }
    if (full_page) continue;
    changed_.wait_for(lock, std::chrono::microseconds(options_.poll_micros),
                      [&] { return stopped_; });
  }
}

bool EventFeed::CoveredLocked(int64_t after) const {
  if (after >= head_) return true;
  return !window_.empty() && after >= window_.front().seq - 1;
}

void EventFeed::CollectLocked(std::string_view run_id, int64_t after, int limit,
                              FeedBatch* batch) const {
  batch->position = std::max(after, head_);
  if (window_.empty() || after >= head_) {
    batch->position = after;
    return;
  }
  const int64_t first = window_.front().seq;
  for (size_t i = static_cast<size_t>(std::max<int64_t>(0, after + 1 - first)); i < window_.size();
       ++i) {
    const Event& event = window_[i];
    if (!run_id.empty() && event.run_id != run_id) continue;
    batch->events.push_back(event);
    if (static_cast<int>(batch->events.size()) >= limit) {
      batch->position = event.seq;
      return;
    }
  }
}

Result<FeedBatch> EventFeed::Wait(std::string_view run_id, int64_t after, int limit,
                                  int64_t timeout_micros) {
  limit = std::max(1, limit);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::microseconds(std::max<int64_t>(0, timeout_micros));
  std::unique_lock lock(mu_);
  if (stopped_) return Err(Cancelled("the server is stopping; reconnect with Last-Event-ID"));
  if (!poller_.joinable()) poller_ = std::thread([this] { PollLoop(); });
  ++waiting_;
  changed_.notify_all();
  struct Leave {
    EventFeed* feed;
    ~Leave() { --feed->waiting_; }
  } leave{this};
  for (;;) {
    if (stopped_) return Err(Cancelled("the server is stopping; reconnect with Last-Event-ID"));
    const bool timed_out = std::chrono::steady_clock::now() >= deadline;
    if (head_ < 0) {
      if (timed_out) return FeedBatch{.position = after};
      changed_.wait_until(lock, deadline);
      continue;
    }
    if (CoveredLocked(after)) {
      FeedBatch batch;
      CollectLocked(run_id, after, limit, &batch);
      if (!batch.events.empty() || timed_out) return batch;
      after = batch.position;
      changed_.wait_until(lock, deadline);
      continue;
    }
    // Behind the window: read from the store. Every event up to the polled head was committed
    // before this read began (appends are serialised on the log's head), so the read returns
    // all of the run's events up to there at least.
    const int64_t head = head_;
    lock.unlock();
    Result<std::vector<Event>> events = store_->ReadEvents(after, limit, run_id);
    lock.lock();
    if (!events.has_value()) return Err(events.error());
    FeedBatch batch;
    if (static_cast<int>(events->size()) >= limit) {
      batch.position = events->back().seq;
    } else {
      batch.position = std::max(head, events->empty() ? after : events->back().seq);
    }
    batch.events = std::move(*events);
    if (!batch.events.empty() || timed_out) return batch;
    after = batch.position;
  }
}

}  // namespace ferry::server
