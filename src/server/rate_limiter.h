// Requests per second per caller (an API key, or the client address for requests without
// one), as token buckets: each caller may send `rate` requests a second on average and a burst
// of `burst` at once. A refused request learns when the next one would be accepted
// (Retry-After).
//
// Thread-safety: may be used from any thread.
#ifndef FERRY_SERVER_RATE_LIMITER_H_
#define FERRY_SERVER_RATE_LIMITER_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/env.h"
#include "base/status.h"

namespace ferry::server {

class RateLimiter {
 public:
  // `rate` <= 0 turns limiting off. `burst` < 1 means one second's worth (at least 1).
  RateLimiter(double rate, double burst, Env* env);

  // 0 when the request of `caller` may go ahead (and counts it); otherwise the seconds to wait
  // before asking again (at least 1), and the request is not counted.
  int64_t Admit(std::string_view caller);

  double rate() const { return rate_; }

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_micros = 0;
  };
  const double rate_;
  const double burst_;
  Env* const env_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // GUARDED_BY(mu_)
};

// Parses `--rate` values: "20/s", "20", "1200/min", "0" (off). kInvalidArgument otherwise.
Result<double> ParseRate(std::string_view text);

}  // namespace ferry::server

#endif  // FERRY_SERVER_RATE_LIMITER_H_
