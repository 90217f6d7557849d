// UnseenLog: what a discovery run could not see, and why. An inventory never fails for what it
// cannot read (another user's /proc/PID/fd, a crontab readable by its owner only, a key): it
// says so in its `unseen` array, so that a reader knows the difference between "no cron jobs"
// and "cron jobs not readable by the user who ran ferry".
//
// Entries with the same `what` and `why` merge into one with a count and a few examples, so a
// run without root on a host with 5,000 processes lists one line about /proc/PID/fd, not 5,000.
//
// Thread-safety: none; one log per discovery run, filled by one thread.
#ifndef FERRY_DISCOVER_UNSEEN_H_
#define FERRY_DISCOVER_UNSEEN_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/json.h"

namespace ferry {

struct Unseen {
  std::string what;  // what could not be seen: "socket owners (/proc/PID/fd of other users)"
  std::string why;   // why, with the way out: "permission denied (EACCES); run as root to ..."
  int64_t count = 0;
  std::vector<std::string> examples;  // up to kMaxExamples concrete paths or names
};

class UnseenLog {
 public:
  static constexpr size_t kMaxExamples = 5;

  // Records one occurrence; `example` (a path, a pid) may be empty.
  void Add(const std::string& what, const std::string& why, std::string example = "");

  bool empty() const { return entries_.empty(); }
  // Entries in the order they were first added.
  std::vector<Unseen> entries() const;
  // [{"what", "why", "count", "examples"}], in that order.
  Json ToJson() const;
  // The entry with this `what`, or nullptr.
  const Unseen* Find(const std::string& what) const;

 private:
  std::vector<Unseen> entries_;
  std::map<std::pair<std::string, std::string>, size_t> index_;
};

}  // namespace ferry

#endif  // FERRY_DISCOVER_UNSEEN_H_
