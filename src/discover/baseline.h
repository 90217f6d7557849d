// The performance baseline of `ferry discover --watch 10m --interval 30s`: CPU, memory, disk
// I/O and network sampled every interval for the duration, summarised per metric as p50, p95,
// p99 and max, with the number of samples and the coverage (samples / expected samples) that
// plan's right-sizing turns into a confidence rating.
//
// Counters come from /proc/stat (CPU ticks; busy = everything but idle and iowait),
// /proc/meminfo (MemTotal - MemAvailable), /proc/diskstats (whole disks only: partitions,
// device-mapper and md devices would count the same I/O twice; sectors are 512 bytes whatever
// the device) and /proc/net/dev (every interface but lo). A sample is the rate between two
// readings, over the time the clock says passed between them.
//
// Percentiles are nearest-rank (NIST/Hyndman-Fan definition 1; "nearest rank" in most
// textbooks): the p-th percentile of N sorted values is the value at rank ceil(p/100 * N),
// counting from 1. It is always one of the observed values, never an interpolation, so a p95
// of CPU is a load the host really had.
//
// The clock and the sleep are the Env's: tests run an hour of sampling in microseconds with a
// FaultInjectionEnv, and a CounterSource that returns scripted counters.
//
// Thread-safety: SampleBaseline blocks the calling thread for the duration; sources are used by
// one thread.
#ifndef FERRY_DISCOVER_BASELINE_H_
#define FERRY_DISCOVER_BASELINE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/json.h"
#include "base/status.h"

namespace ferry {

// Counters at one instant. Cumulative counters only grow (until the host reboots).
struct CounterReading {
  uint64_t cpu_total_ticks = 0;
  uint64_t cpu_idle_ticks = 0;  // idle + iowait
  uint64_t memory_total_bytes = 0;
  uint64_t memory_available_bytes = 0;
  uint64_t disk_read_bytes = 0;
  uint64_t disk_write_bytes = 0;
  uint64_t disk_reads = 0;  // completed I/O operations
  uint64_t disk_writes = 0;
  uint64_t network_rx_bytes = 0;
  uint64_t network_tx_bytes = 0;
};

// Where readings come from.
class CounterSource {
 public:
  virtual ~CounterSource() = default;
  // The counters now; an error loses this sample (the coverage shows it), not the baseline.
  virtual Result<CounterReading> Read() = 0;
};

// Reads /proc (and /sys/block, to tell disks from partitions) under `root` ("/" for this host).
std::unique_ptr<CounterSource> NewProcCounterSource(const std::string& root);

struct BaselineOptions {
  // How long to sample and how often. interval_ms > 0 and duration_ms >= interval_ms.
  int64_t duration_ms = int64_t{10} * 60 * 1000;
  int64_t interval_ms = int64_t{30} * 1000;
};

struct MetricSummary {
  int64_t samples = 0;
  double p50 = 0, p95 = 0, p99 = 0, max = 0;
};

struct Baseline {
  int64_t duration_ms = 0;
  int64_t interval_ms = 0;
  int64_t expected_samples = 0;  // duration / interval
  int64_t samples = 0;           // intervals measured
  double coverage = 0;           // samples / expected_samples, 0..1
  std::string started_at;        // RFC 3339 UTC
  std::string ended_at;
  // "cpu_percent", "memory_used_percent", "memory_used_bytes", "disk_read_bytes_per_second",
  // "disk_write_bytes_per_second", "disk_iops", "network_rx_bytes_per_second",
  // "network_tx_bytes_per_second".
  std::map<std::string, MetricSummary> metrics;

  Json ToJson() const;
};

// Samples for options.duration_ms, every options.interval_ms (sleeping on `env`'s clock, on a
// fixed schedule from the start so that slow reads do not drift it).
[[nodiscard]] Result<Baseline> SampleBaseline(const BaselineOptions& options, CounterSource* source,
                                              Env* env);

// The nearest-rank percentile (see above) of values sorted ascending; p in (0, 100]. NaN for
// no values.
double NearestRankPercentile(const std::vector<double>& sorted, double p);
MetricSummary Summarise(std::vector<double> values);

// "30s", "10m", "1h30m", "500ms", "2h": a duration in milliseconds. InvalidArgument names the
// text and the accepted forms.
[[nodiscard]] Result<int64_t> ParseDurationMillis(std::string_view text);

namespace discover_internal {
// Parsers of the counter files, for the source and its tests.
std::optional<std::pair<uint64_t, uint64_t>> ParseStatCpuTicks(std::string_view proc_stat);
// Sums of whole disks: {read_bytes, write_bytes, reads, writes}. `is_disk` decides by name.
struct DiskTotals {
  uint64_t read_bytes = 0, write_bytes = 0, reads = 0, writes = 0;
};
DiskTotals ParseDiskstats(std::string_view text,
                          const std::function<bool(std::string_view)>& is_disk);
// {rx_bytes, tx_bytes} over every interface but lo.
std::pair<uint64_t, uint64_t> ParseNetDev(std::string_view text);
}  // namespace discover_internal

}  // namespace ferry

#endif  // FERRY_DISCOVER_BASELINE_H_
