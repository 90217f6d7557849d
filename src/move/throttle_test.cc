#include "move/throttle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry {
namespace {

using ::testing::HasSubstr;

TEST(RateLimitTest, ParsesRowsAndBytes) {
  EXPECT_EQ(ParseRateLimit("5000")->rows_per_second, 5000);
  EXPECT_EQ(ParseRateLimit("5000/s")->rows_per_second, 5000);
  EXPECT_EQ(ParseRateLimit("2500 rows/s")->rows_per_second, 2500);
  EXPECT_EQ(ParseRateLimit("10MB/s")->bytes_per_second, 10e6);
  EXPECT_EQ(ParseRateLimit("512kb/s")->bytes_per_second, 512e3);
  EXPECT_EQ(ParseRateLimit("1GiB/s")->bytes_per_second, 1073741824.0);
  EXPECT_EQ(ParseRateLimit("1.5MB/s")->bytes_per_second, 1.5e6);
  for (const char* bad : {"", "fast", "-5", "0", "10 parsecs/s", "MB/s"}) {
    auto limit = ParseRateLimit(bad);
    ASSERT_FALSE(limit.has_value()) << bad;
    EXPECT_THAT(limit.error().message(), HasSubstr("expected rows per second")) << bad;
  }
}

// With the injected clock, sleeping advances time: the throttle's sleeps add up to exactly what
// the limit requires, and nothing when the work is slower than the limit anyway.
TEST(ThrottleTest, HoldsTheAverageToTheLimit) {
  FaultInjectionEnv env(Env::Default());
  env.SetNowMicros(1'000'000);
  Throttle rows(RateLimit{.rows_per_second = 1000}, &env);
  for (int i = 0; i < 10; ++i) rows.Consume(1000, 0);  // 10,000 rows at 1,000/s: 10 s
  EXPECT_EQ(env.MonotonicMicros() - 1'000'000, 10'000'000);
  EXPECT_EQ(rows.slept_micros(), 10'000'000);

  Throttle bytes(RateLimit{.bytes_per_second = 1e6}, &env);
  const int64_t before = env.MonotonicMicros();
  bytes.Consume(10, 500'000);
  bytes.Consume(10, 500'000);
  EXPECT_EQ(env.MonotonicMicros() - before, 1'000'000);

  Throttle slow(RateLimit{.rows_per_second = 1000}, &env);
  env.AdvanceMicros(5'000'000);  // the work itself took 5 s for 100 rows
  slow.Consume(100, 0);
  EXPECT_EQ(slow.slept_micros(), 0);
}

}  // namespace
}  // namespace ferry
