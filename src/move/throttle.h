// --max-rate: holds a stream of work to a rate in rows or bytes per second.
#ifndef FERRY_MOVE_THROTTLE_H_
#define FERRY_MOVE_THROTTLE_H_

#include <cstdint>
#include <string_view>

#include "base/env.h"
#include "base/status.h"

namespace ferry {

struct RateLimit {
  double rows_per_second = 0;   // 0: no limit on rows
  double bytes_per_second = 0;  // 0: no limit on bytes
  bool limits_bytes() const { return bytes_per_second > 0; }
  bool unlimited() const { return rows_per_second <= 0 && bytes_per_second <= 0; }
};

// "5000" or "5000/s" or "5000 rows/s" (rows), "10MB/s", "512KB/s", "1GB/s" (bytes, powers of
// 1000; KiB/MiB/GiB for powers of 1024). The error names the text and the accepted forms.
Result<RateLimit> ParseRateLimit(std::string_view text);

// Sleeps just enough, after each batch, that the totals since the start never run ahead of
// the limit. Averages over the whole stream, so a slow start is not made up by a burst beyond
// what the average allows. Not thread-safe: one per stream.
class Throttle {
 public:
  Throttle(const RateLimit& limit, Env* env);
  void Consume(int64_t rows, int64_t bytes);
  int64_t slept_micros() const { return slept_micros_; }

 private:
  const RateLimit limit_;
  Env* const env_;
  const int64_t start_micros_;
  double rows_ = 0;
  double bytes_ = 0;
  int64_t slept_micros_ = 0;
};

}  // namespace ferry

#endif  // FERRY_MOVE_THROTTLE_H_
