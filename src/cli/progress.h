// Progress of long work, the way users want to see it: on a terminal, one line per table
// rewritten in place with a bar, rows, rate and time left; otherwise (a pipe, a log file, CI) a
// log line every few seconds with the same numbers. The same counts go to /metrics from the
// work itself.
//
// When the environment variable FERRY_PROGRESS_FD names an open file descriptor (a pipe from the
// process that started this one: a migration run's `copy` task, src/workflow/executors.cc), each
// table's progress is also written there as one JSON line,
// {"table":"t","done":N,"total":M,"bytes":B}, at most every 250 ms per table, and the last
// counts of every table on Finish().
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

  // `done` of `total` rows of `table` (total < 0: unknown), `bytes` of them so far. Cheap when
  // called often: draws at most 10 times a second, logs at most every 5 seconds, writes to
  // FERRY_PROGRESS_FD at most every 250 ms per table.
  void Update(const std::string& table, int64_t done, int64_t total, int64_t bytes = 0);
  // Clears the line on a terminal; writes the last counts not yet written to FERRY_PROGRESS_FD.
  void Finish();

 private:
  std::ostream& out_;
  const bool terminal_;
  struct TableProgress {
    std::chrono::steady_clock::time_point start;
    int64_t first_done = 0;
    int64_t first_bytes = 0;
    // What FERRY_PROGRESS_FD has been told, and the counts it has not been told yet.
    std::chrono::steady_clock::time_point last_sent;
    bool unsent = false;
    int64_t done = 0;
    int64_t total = -1;
    int64_t bytes = 0;
  };
  void Send(const std::string& table, TableProgress& progress);

  int progress_fd_ = -1;  // FERRY_PROGRESS_FD, when it names an open descriptor
  std::map<std::string, TableProgress> tables_;
  std::chrono::steady_clock::time_point last_draw_;
  bool drawn_ = false;
  LogSink previous_sink_;
};

// "12 s", "3 min 04 s", "1 h 02 min".
std::string FormatDuration(double seconds);
// "512 B", "1.5 KiB", "12.3 MiB", "2.0 GiB" (binary multiples).
std::string FormatBytes(double bytes);

}  // namespace ferry

#endif  // FERRY_CLI_PROGRESS_H_
