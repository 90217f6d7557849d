#include "move/throttle.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

namespace ferry {

Result<RateLimit> ParseRateLimit(std::string_view text) {
  auto invalid = [&] {
    return Err(
        InvalidArgument("--max-rate {}: expected rows per second (5000, 5000/s, "
                        "5000rows/s) or bytes per second (10MB/s, 512KB/s, 1GiB/s)",
                        text));
  };
  std::string t;
  for (char c : text) {
    if (c != ' ') t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  double value = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (ec != std::errc() || value <= 0) return invalid();
  std::string unit(end, static_cast<const char*>(t.data() + t.size()));
  if (unit.ends_with("/s")) unit.resize(unit.size() - 2);
  RateLimit limit;
  if (unit.empty() || unit == "rows" || unit == "row") {
    limit.rows_per_second = value;
    return limit;
  }
  static constexpr std::pair<std::string_view, double> kUnits[] = {
      {"b", 1},        {"kb", 1e3},        {"mb", 1e6},          {"gb", 1e9},
      {"kib", 1024.0}, {"mib", 1048576.0}, {"gib", 1073741824.0}};
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) {
      limit.bytes_per_second = value * factor;
      return limit;
    }
  }
  return invalid();
}

Throttle::Throttle(const RateLimit& limit, Env* env)
    : limit_(limit), env_(env), start_micros_(env->MonotonicMicros()) {}

void Throttle::Consume(int64_t rows, int64_t bytes) {
  rows_ += static_cast<double>(rows);
  bytes_ += static_cast<double>(bytes);
  double due_seconds = 0;  // when the totals so far may be done, at the limit
  if (limit_.rows_per_second > 0)
    due_seconds = std::max(due_seconds, rows_ / limit_.rows_per_second);
  if (limit_.bytes_per_second > 0) {
    due_seconds = std::max(due_seconds, bytes_ / limit_.bytes_per_second);
  }
  const int64_t due = start_micros_ + static_cast<int64_t>(due_seconds * 1e6);
  const int64_t now = env_->MonotonicMicros();
  if (due > now) {
    env_->SleepForMicros(due - now);
    slept_micros_ += due - now;
  }
}

}  // namespace ferry
