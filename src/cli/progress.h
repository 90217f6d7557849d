// Progress of long work, the way users want to see it: on a terminal, one line per table
// rewritten in place with a bar, rows, rate and time left; otherwise (a pipe, a log file, CI) a
// log line every few seconds with the same numbers. The same counts go to /metrics from the
// work itself.
#ifndef FERRY_CLI_PROGRESS_H_
#define FERRY_CLI_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>

#include "base/log.h"

namespace ferry {

class ProgressReporter {
 public:
  // `terminal`: draw on `out` (stderr) instead of logging. While it draws, log lines first
  // clear the progress line, so the two never mix on one line.
  ProgressReporter(std::ostream& out, bool terminal);
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // `done` of `total` rows of `table` (total < 0: unknown). Cheap when called often: draws at
  // most 10 times a second, logs at most every 5 seconds.
  void Update(const std::string& table, int64_t done, int64_t total);
  // Clears the line on a terminal.
  void Finish();

 private:
  std::ostream& out_;
  const bool terminal_;
  struct TableProgress {
    std::chrono::steady_clock::time_point start;
    int64_t first_done = 0;
  };
  std::map<std::string, TableProgress> tables_;
  std::chrono::steady_clock::time_point last_draw_;
  bool drawn_ = false;
  LogSink previous_sink_;
};

// "12 s", "3 min 04 s", "1 h 02 min".
std::string FormatDuration(double seconds);

}  // namespace ferry

#endif  // FERRY_CLI_PROGRESS_H_
