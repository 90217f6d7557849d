#include "store/event_chain.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/hash.h"

namespace ferry {
namespace {

void AddField(Sha256& hasher, std::string_view field) {
  hasher.Update(fmt::format("{}:", field.size()));
  hasher.Update(field);
}

// A report stays readable when a log is badly damaged: the first problems say where to look.
constexpr size_t kMaxProblems = 20;

}  // namespace

std::string EventHash(const Event& event) {
  Sha256 hasher;
  AddField(hasher, event.prev_hash);
  AddField(hasher, fmt::format("{}", event.seq));
  AddField(hasher, fmt::format("{}", event.at_micros));
  AddField(hasher, event.run_id);
  AddField(hasher, event.actor);
  AddField(hasher, event.kind);
  AddField(hasher, event.payload);
  return HexEncode(hasher.Finish());
}

void EventChainVerifier::Problem(int64_t seq, std::string text) {
  report_.intact = false;
  if (report_.first_bad_seq == 0) report_.first_bad_seq = seq;
  if (report_.problems.size() < kMaxProblems) report_.problems.push_back(std::move(text));
}

void EventChainVerifier::Add(const Event& event) {
  ++report_.events_checked;
  if (event.seq != last_seq_ + 1) {
    if (event.seq > last_seq_ + 1) {
      Problem(last_seq_ + 1, fmt::format("events {}..{} are missing: the log jumps from event {} "
                                         "to event {} (deleted?)",
                                         last_seq_ + 1, event.seq - 1, last_seq_, event.seq));
    } else {
      Problem(event.seq, fmt::format("event {} appears after event {} (reordered or duplicated?)",
                                     event.seq, last_seq_));
    }
  }
  if (event.prev_hash != last_hash_) {
    Problem(event.seq,
            fmt::format("event {} does not link to the event before it: prev_hash {} "
                        "but the previous event's hash is {} (reordered, replaced or "
                        "an event before it deleted?)",
                        event.seq, event.prev_hash.substr(0, 16), last_hash_.substr(0, 16)));
  }
  std::string recomputed = EventHash(event);
  if (recomputed != event.hash) {
    Problem(event.seq,
            fmt::format("event {} ({}) was altered: its content hashes to {} but it "
                        "records {}",
                        event.seq, event.kind, recomputed.substr(0, 16), event.hash.substr(0, 16)));
  }
  if (!anchor_.empty() && event.hash == anchor_) anchor_seen_ = true;
  last_seq_ = event.seq;
  last_hash_ = event.hash;
}

void EventChainVerifier::CheckHead(int64_t head_seq, std::string_view head_hash) {
  if (head_seq != last_seq_) {
    Problem(std::min(head_seq, last_seq_) + 1,
            fmt::format("the log ends at event {} but its head records event {} (newest events "
                        "deleted?)",
                        last_seq_, head_seq));
  } else if (head_hash != last_hash_) {
    Problem(last_seq_, fmt::format("the last event's hash {} differs from the head's {} (the "
                                   "newest event was replaced?)",
                                   last_hash_.substr(0, 16), head_hash.substr(0, 16)));
  }
}

void EventChainVerifier::ExpectAnchor(std::string_view expected_hash) { anchor_ = expected_hash; }

void EventChainVerifier::MissingHead() {
  Problem(last_seq_ + 1, "the log's head record is missing (tampered with?)");
}

void EventChainVerifier::ExtraAfterHead(int64_t head_seq, int64_t count) {
  Problem(head_seq + 1, fmt::format("{} event(s) lie after the head (event {}): written without "
                                    "the append path (forged?)",
                                    count, head_seq));
}

EventLogReport EventChainVerifier::Finish() {
  if (!anchor_.empty() && !anchor_seen_) {
    Problem(last_seq_, fmt::format("no event has the expected hash {}: the log was rewritten "
                                   "since that hash was recorded",
                                   anchor_.substr(0, 16)));
  }
  report_.head_hash = last_hash_;
  return report_;
}

}  // namespace ferry
