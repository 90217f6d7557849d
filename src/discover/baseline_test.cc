#include "discover/baseline.h"

#include <cmath>
#include <deque>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "discover/fixture.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;

TEST(PercentileTest, NearestRankMatchesHandComputedValues) {
  // The textbook example: 15, 20, 35, 40, 50. Rank = ceil(p/100 * 5).
  const std::vector<double> values = {15, 20, 35, 40, 50};
  EXPECT_EQ(NearestRankPercentile(values, 5), 15);    // rank ceil(0.25) = 1
  EXPECT_EQ(NearestRankPercentile(values, 30), 20);   // rank ceil(1.5) = 2
  EXPECT_EQ(NearestRankPercentile(values, 40), 20);   // rank 2 exactly
  EXPECT_EQ(NearestRankPercentile(values, 50), 35);   // rank ceil(2.5) = 3
  EXPECT_EQ(NearestRankPercentile(values, 100), 50);  // rank 5
  // 1..20: p95 is rank 19 (0.95 * 20 = 19 exactly), p99 rank ceil(19.8) = 20, p50 rank 10.
  std::vector<double> twenty;
  for (int i = 1; i <= 20; ++i) twenty.push_back(i);
  EXPECT_EQ(NearestRankPercentile(twenty, 50), 10);
  EXPECT_EQ(NearestRankPercentile(twenty, 95), 19);
  EXPECT_EQ(NearestRankPercentile(twenty, 99), 20);
  EXPECT_EQ(NearestRankPercentile({7}, 99), 7);
  EXPECT_TRUE(std::isnan(NearestRankPercentile({}, 50)));
}

TEST(PercentileTest, SummariseSortsFirst) {
  MetricSummary summary = Summarise({9, 1, 8, 2, 7, 3, 6, 4, 5, 10});
  EXPECT_EQ(summary.samples, 10);
  EXPECT_EQ(summary.p50, 5);   // rank 5
  EXPECT_EQ(summary.p95, 10);  // rank ceil(9.5) = 10
  EXPECT_EQ(summary.p99, 10);
  EXPECT_EQ(summary.max, 10);
}

TEST(DurationTest, ParsesDurations) {
  EXPECT_EQ(*ParseDurationMillis("30s"), 30'000);
  EXPECT_EQ(*ParseDurationMillis("10m"), 600'000);
  EXPECT_EQ(*ParseDurationMillis("1h30m"), 5'400'000);
  EXPECT_EQ(*ParseDurationMillis("500ms"), 500);
  EXPECT_EQ(*ParseDurationMillis("2h"), 7'200'000);
  for (const char* bad : {"", "10", "m", "10 minutes", "-5s", "1.5h", "10x"}) {
    Result<int64_t> parsed = ParseDurationMillis(bad);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_THAT(parsed.error().message(), HasSubstr("e.g. 30s, 10m"));
  }
}

// Counters a test scripts reading by reading; a reading without a value fails.
class ScriptedSource : public CounterSource {
 public:
  void Add(std::optional<CounterReading> reading) { readings_.push_back(reading); }
  Result<CounterReading> Read() override {
    ++reads_;
    if (readings_.empty()) return Err(Unavailable("no more scripted readings"));
    std::optional<CounterReading> next = readings_.front();
    readings_.pop_front();
    if (!next.has_value()) return Err(Unavailable("/proc/stat: scripted failure"));
    return *next;
  }
  int reads() const { return reads_; }

 private:
  std::deque<std::optional<CounterReading>> readings_;
  int reads_ = 0;
};

// A reading after `t` seconds of a host whose CPU was `busy` percent busy since the start, with
// 100 ticks a second, 8 GiB of memory and `used_gib` in use, and counters growing by the rates.
CounterReading At(double t, double busy_ticks_total, uint64_t used_gib, uint64_t disk_bytes,
                  uint64_t ops, uint64_t net_bytes) {
  CounterReading r;
  r.cpu_total_ticks = static_cast<uint64_t>(t * 100);
  r.cpu_idle_ticks = r.cpu_total_ticks - static_cast<uint64_t>(busy_ticks_total);
  r.memory_total_bytes = 8ull << 30;
  r.memory_available_bytes = (8ull - used_gib) << 30;
  r.disk_read_bytes = disk_bytes;
  r.disk_write_bytes = disk_bytes / 2;
  r.disk_reads = ops;
  r.disk_writes = ops;
  r.network_rx_bytes = net_bytes;
  r.network_tx_bytes = net_bytes / 4;
  return r;
}

TEST(BaselineTest, SamplesOnTheInjectedClockAndSummarises) {
  FaultInjectionEnv env(Env::Default());
  env.SetNowMicros(1'700'000'000'000'000);
  ScriptedSource source;
  // Four 10-second intervals. Busy ticks per interval: 100, 300, 500, 900 of 1000 -> CPU 10%,
  // 30%, 50%, 90%. Memory used at each end: 2, 4, 4, 6 GiB of 8 -> 25%, 50%, 50%, 75%.
  // Disk reads: +10 MB, +0, +20 MB, +10 MB per 10 s -> 1e6, 0, 2e6, 1e6 bytes/s.
  // Ops (reads + writes): +2*100, +2*0, +2*300, +2*50 -> 20, 0, 60, 10 IOPS.
  // Network rx: +1e5, +1e5, +1e6, +1e5 -> 1e4, 1e4, 1e5, 1e4 bytes/s.
  source.Add(At(0, 0, 1, 0, 0, 0));
  source.Add(At(10, 100, 2, 10'000'000, 100, 100'000));
  source.Add(At(20, 400, 4, 10'000'000, 100, 200'000));
  source.Add(At(30, 900, 4, 30'000'000, 400, 1'200'000));
  source.Add(At(40, 1800, 6, 40'000'000, 450, 1'300'000));
  Result<Baseline> baseline =
      SampleBaseline({.duration_ms = 40'000, .interval_ms = 10'000}, &source, &env);
  ASSERT_TRUE(baseline.has_value()) << baseline.error().ToString();
  EXPECT_EQ(source.reads(), 5);
  EXPECT_EQ(env.NowMicros(), 1'700'000'040'000'000);  // slept exactly the duration
  EXPECT_EQ(baseline->expected_samples, 4);
  EXPECT_EQ(baseline->samples, 4);
  EXPECT_EQ(baseline->coverage, 1.0);
  EXPECT_EQ(baseline->started_at, "2023-11-14T22:13:20Z");
  EXPECT_EQ(baseline->ended_at, "2023-11-14T22:14:00Z");
  // Nearest rank over 4 values: p50 = rank 2, p95 = p99 = rank 4.
  const MetricSummary& cpu = baseline->metrics.at("cpu_percent");
  EXPECT_DOUBLE_EQ(cpu.p50, 30);
  EXPECT_DOUBLE_EQ(cpu.p95, 90);
  EXPECT_DOUBLE_EQ(cpu.p99, 90);
  EXPECT_DOUBLE_EQ(cpu.max, 90);
  const MetricSummary& memory = baseline->metrics.at("memory_used_percent");
  EXPECT_DOUBLE_EQ(memory.p50, 50);
  EXPECT_DOUBLE_EQ(memory.max, 75);
  EXPECT_DOUBLE_EQ(baseline->metrics.at("memory_used_bytes").p95, 6.0 * (1ull << 30));
  const MetricSummary& read = baseline->metrics.at("disk_read_bytes_per_second");
  EXPECT_DOUBLE_EQ(read.p50, 1e6);  // sorted 0, 1e6, 1e6, 2e6
  EXPECT_DOUBLE_EQ(read.max, 2e6);
  EXPECT_DOUBLE_EQ(baseline->metrics.at("disk_write_bytes_per_second").max, 1e6);
  const MetricSummary& iops = baseline->metrics.at("disk_iops");
  EXPECT_DOUBLE_EQ(iops.p50, 10);  // sorted 0, 10, 20, 60
  EXPECT_DOUBLE_EQ(iops.max, 60);
  EXPECT_DOUBLE_EQ(baseline->metrics.at("network_rx_bytes_per_second").p50, 1e4);
  EXPECT_DOUBLE_EQ(baseline->metrics.at("network_rx_bytes_per_second").max, 1e5);
  EXPECT_DOUBLE_EQ(baseline->metrics.at("network_tx_bytes_per_second").max, 2.5e4);

  Json json = baseline->ToJson();
  EXPECT_EQ(json["percentile_method"], "nearest-rank");
  EXPECT_EQ(json["interval_seconds"], 10.0);
  EXPECT_EQ(json["metrics"]["cpu_percent"]["p95"], 90.0);
}

TEST(BaselineTest, LostReadingsLowerTheCoverage) {
  FaultInjectionEnv env(Env::Default());
  env.SetNowMicros(0);
  ScriptedSource source;
  // Ten 1-second intervals; readings 3 and 7 fail. The sample after a failure spans two
  // intervals (from the last good reading), so 8 of 10 samples remain.
  for (int i = 0; i <= 10; ++i) {
    if (i == 3 || i == 7) {
      source.Add(std::nullopt);
    } else {
      source.Add(At(i, i * 50, 2, 0, 0, 0));  // 50% busy throughout
    }
  }
  Result<Baseline> baseline =
      SampleBaseline({.duration_ms = 10'000, .interval_ms = 1'000}, &source, &env);
  ASSERT_TRUE(baseline.has_value());
  EXPECT_EQ(baseline->expected_samples, 10);
  EXPECT_EQ(baseline->samples, 8);
  EXPECT_DOUBLE_EQ(baseline->coverage, 0.8);
  EXPECT_DOUBLE_EQ(baseline->metrics.at("cpu_percent").max, 50);
  EXPECT_EQ(baseline->metrics.at("cpu_percent").samples, 8);
}

TEST(BaselineTest, ACounterThatGoesBackLosesThatSample) {
  FaultInjectionEnv env(Env::Default());
  env.SetNowMicros(0);
  ScriptedSource source;
  source.Add(At(0, 0, 1, 500, 0, 0));
  source.Add(At(1, 50, 1, 100, 0, 0));  // disk bytes went back: a device went away
  source.Add(At(2, 100, 1, 200, 0, 0));
  Result<Baseline> baseline =
      SampleBaseline({.duration_ms = 2'000, .interval_ms = 1'000}, &source, &env);
  ASSERT_TRUE(baseline.has_value());
  EXPECT_EQ(baseline->samples, 1);
  EXPECT_DOUBLE_EQ(baseline->coverage, 0.5);
}

TEST(BaselineTest, RefusesAnIntervalLongerThanTheWatch) {
  FaultInjectionEnv env(Env::Default());
  ScriptedSource source;
  Result<Baseline> baseline =
      SampleBaseline({.duration_ms = 1'000, .interval_ms = 5'000}, &source, &env);
  ASSERT_FALSE(baseline.has_value());
  EXPECT_THAT(baseline.error().message(), HasSubstr("--interval"));
  EXPECT_EQ(source.reads(), 0);
}

TEST(CounterFilesTest, ParsesTheCounterFiles) {
  auto ticks = discover_internal::ParseStatCpuTicks(
      "cpu  100 5 50 800 20 3 2 1 40 0\ncpu0 50 2 25 400 10 1 1 0 20 0\nbtime 1\n");
  ASSERT_TRUE(ticks.has_value());
  EXPECT_EQ(ticks->first, 100u + 5 + 50 + 800 + 20 + 3 + 2 + 1);  // guest is inside user
  EXPECT_EQ(ticks->second, 820u);                                 // idle + iowait
  auto disks = discover_internal::ParseDiskstats(
      "   8       0 sda 1000 10 20000 500 2000 20 40000 900 0 1000 1400 0 0 0 0\n"
      "   8       1 sda1 900 10 18000 450 1900 20 38000 850 0 900 1300 0 0 0 0\n"
      " 253       0 dm-0 800 0 16000 400 1800 0 36000 800 0 800 1200 0 0 0 0\n",
      [](std::string_view name) { return name == "sda"; });
  EXPECT_EQ(disks.reads, 1000u);
  EXPECT_EQ(disks.read_bytes, 20000u * 512);
  EXPECT_EQ(disks.writes, 2000u);
  EXPECT_EQ(disks.write_bytes, 40000u * 512);
  auto [rx, tx] = discover_internal::ParseNetDev(
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
      "drop fifo colls carrier compressed\n"
      "    lo: 9999 10 0 0 0 0 0 0 9999 10 0 0 0 0 0 0\n"
      "  eth0: 1500 20 0 0 0 0 0 0 700 15 0 0 0 0 0 0\n"
      "  eth1:500 5 0 0 0 0 0 0 300 3 0 0 0 0 0 0\n");
  EXPECT_EQ(rx, 2000u);
  EXPECT_EQ(tx, 1000u);
}

TEST(CounterFilesTest, TheProcSourceReadsAFixtureAndThisHost) {
  discover_testing::FixtureRoot fixture;
  fixture.Write("/proc/stat", "cpu  100 0 50 800 50 0 0 0 0 0\n");
  fixture.Write("/proc/meminfo", "MemTotal: 1024 kB\nMemAvailable: 256 kB\n");
  fixture.Write("/proc/diskstats",
                "   8 0 sda 10 0 80 0 20 0 160 0 0 0 0\n   8 1 sda1 5 0 40 0 0 0 0 0 0 0 0\n");
  fixture.Write("/proc/net/dev", "h\nh\n  eth0: 100 1 0 0 0 0 0 0 50 1 0 0 0 0 0 0\n");
  fixture.Write("/sys/block/sda/size", "100\n");
  auto source = NewProcCounterSource(fixture.path());
  Result<CounterReading> reading = source->Read();
  ASSERT_TRUE(reading.has_value()) << reading.error().ToString();
  EXPECT_EQ(reading->cpu_total_ticks, 1000u);
  EXPECT_EQ(reading->cpu_idle_ticks, 850u);
  EXPECT_EQ(reading->memory_total_bytes, 1024u * 1024);
  EXPECT_EQ(reading->memory_available_bytes, 256u * 1024);
  EXPECT_EQ(reading->disk_reads, 10u);  // sda only: sda1 is its partition
  EXPECT_EQ(reading->disk_read_bytes, 80u * 512);
  EXPECT_EQ(reading->network_rx_bytes, 100u);

  auto live = NewProcCounterSource("/");
  Result<CounterReading> now = live->Read();
  ASSERT_TRUE(now.has_value()) << now.error().ToString();
  EXPECT_GT(now->cpu_total_ticks, 0u);
  EXPECT_GT(now->memory_total_bytes, 0u);

  auto missing = NewProcCounterSource(fixture.path() + "/nowhere");
  Result<CounterReading> failed = missing->Read();
  ASSERT_FALSE(failed.has_value());
  EXPECT_THAT(failed.error().message(), HasSubstr("/nowhere/proc/stat"));
}

}  // namespace
}  // namespace ferry
