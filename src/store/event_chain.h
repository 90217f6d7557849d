// The hash chain of the event log, independent of any database.
//
// hash(e) = SHA-256 over the length-prefixed fields
//   prev_hash, seq, at_micros, run_id, actor, kind, payload
// each written as "<decimal length>:<bytes>" so that no two different events serialise alike
// (moving a byte from `actor` to `kind` changes the input). prev_hash of the first event is
// kGenesisHash. An auditor can recompute the chain from an export with any SHA-256 tool.
#ifndef FERRY_STORE_EVENT_CHAIN_H_
#define FERRY_STORE_EVENT_CHAIN_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "store/store.h"

namespace ferry {

inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

std::string EventHash(const Event& event);

// Checks events fed in seq order, one at a time, keeping only the previous link in memory so a
// log of any length verifies in constant space.
class EventChainVerifier {
 public:
  // Requires that some event in the chain has this hash (a head hash recorded earlier and kept
  // outside the store). Call before the first Add.
  void ExpectAnchor(std::string_view expected_hash);
  void Add(const Event& event);
  // Compares the end of the chain with the head recorded beside it (seq and hash), which
  // catches the deletion of the newest events.
  void CheckHead(int64_t head_seq, std::string_view head_hash);
  void MissingHead();
  // `count` events lie beyond the recorded head: appended without moving it (forged).
  void ExtraAfterHead(int64_t head_seq, int64_t count);
  EventLogReport Finish();

 private:
  void Problem(int64_t seq, std::string text);

  EventLogReport report_;
  int64_t last_seq_ = 0;
  std::string last_hash_{kGenesisHash};
  bool anchor_seen_ = false;
  std::string anchor_;
};

}  // namespace ferry

#endif  // FERRY_STORE_EVENT_CHAIN_H_
