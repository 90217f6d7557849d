#include "server/rate_limiter.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace ferry::server {

RateLimiter::RateLimiter(double rate, double burst, Env* env)
    : rate_(rate), burst_(burst >= 1 ? burst : std::max(1.0, rate)), env_(env) {}

int64_t RateLimiter::Admit(std::string_view caller) {
  if (rate_ <= 0) return 0;
  const int64_t now = env_->MonotonicMicros();
  std::lock_guard lock(mu_);
  // Buckets full again are forgotten now and then, so that many one-off callers (addresses)
  // cannot grow the map without bound.
  if (buckets_.size() > 100'000) {
    std::erase_if(buckets_, [&](const auto& entry) {
      return entry.second.tokens + (now - entry.second.updated_micros) / 1e6 * rate_ >= burst_;
    });
  }
  auto [it, inserted] = buckets_.try_emplace(std::string(caller), Bucket{burst_, now});
  Bucket& bucket = it->second;
  if (!inserted) {
    bucket.tokens = std::min(burst_, bucket.tokens + (now - bucket.updated_micros) / 1e6 * rate_);
    bucket.updated_micros = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return 0;
  }
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1 - bucket.tokens) / rate_)));
}

Result<double> ParseRate(std::string_view text) {
  std::string_view number = text;
  double per_seconds = 1;
  if (const size_t slash = text.find('/'); slash != std::string_view::npos) {
    number = text.substr(0, slash);
    std::string_view unit = text.substr(slash + 1);
    if (unit == "s" || unit == "sec") {
      per_seconds = 1;
    } else if (unit == "min" || unit == "m") {
      per_seconds = 60;
    } else if (unit == "h") {
      per_seconds = 3600;
    } else {
      return Err(InvalidArgument("--rate {}: unit `{}`: expected /s, /min or /h, e.g. --rate 20/s",
                                 text, unit));
    }
  }
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size() || value < 0 ||
      !std::isfinite(value)) {
    return Err(InvalidArgument(
        "--rate {}: expected requests per second per key, e.g. --rate 20/s (0: no limit)", text));
  }
  return value / per_seconds;
}

}  // namespace ferry::server
