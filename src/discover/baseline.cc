#include "discover/baseline.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "base/log.h"
#include "discover/host_files.h"

namespace ferry {
namespace discover_internal {

std::optional<std::pair<uint64_t, uint64_t>> ParseStatCpuTicks(std::string_view proc_stat) {
  std::optional<std::pair<uint64_t, uint64_t>> ticks;
  std::vector<std::string_view> fields;
  ForEachLine(proc_stat, [&](std::string_view line) {
    if (ticks.has_value() || !line.starts_with("cpu ")) return;
    // cpu user nice system idle iowait irq softirq steal guest guest_nice; guest time is
    // already counted in user (proc_stat(5)), so the total stops at steal.
    SplitBlanks(line, &fields);
    if (fields.size() < 5) return;
    uint64_t total = 0;
    for (size_t i = 1; i < fields.size() && i <= 8; ++i) total += ParseUint(fields[i]).value_or(0);
    uint64_t idle = ParseUint(fields[4]).value_or(0);
    if (fields.size() > 5) idle += ParseUint(fields[5]).value_or(0);
    ticks = std::pair{total, idle};
  });
  return ticks;
}

DiskTotals ParseDiskstats(std::string_view text,
                          const std::function<bool(std::string_view)>& is_disk) {
  DiskTotals totals;
  std::vector<std::string_view> fields;
  ForEachLine(text, [&](std::string_view line) {
    // major minor name reads merged sectors_read ms_reading writes merged sectors_written ...
    SplitBlanks(line, &fields);
    if (fields.size() < 10 || !is_disk(fields[2])) return;
    totals.reads += ParseUint(fields[3]).value_or(0);
    totals.read_bytes += ParseUint(fields[5]).value_or(0) * 512;
    totals.writes += ParseUint(fields[7]).value_or(0);
    totals.write_bytes += ParseUint(fields[9]).value_or(0) * 512;
  });
  return totals;
}

std::pair<uint64_t, uint64_t> ParseNetDev(std::string_view text) {
  uint64_t rx = 0, tx = 0;
  std::vector<std::string_view> fields;
  ForEachLine(text, [&](std::string_view line) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;  // the two header lines have no ':'
    std::string_view name = Trim(line.substr(0, colon));
    if (name == "lo") return;
    // rx: bytes packets errs drop fifo frame compressed multicast; then tx: bytes ...
    SplitBlanks(line.substr(colon + 1), &fields);
    if (fields.size() < 9) return;
    rx += ParseUint(fields[0]).value_or(0);
    tx += ParseUint(fields[8]).value_or(0);
  });
  return {rx, tx};
}

}  // namespace discover_internal

namespace {

using discover_internal::HostRoot;

class ProcCounterSource final : public CounterSource {
 public:
  explicit ProcCounterSource(const std::string& root) : root_(root) {
    // Whole disks are the entries of /sys/block; device-mapper and md devices sit on top of
    // them and would count their I/O again.
    std::vector<std::string> names;
    if (root_.List("/sys/block", &names) == 0) {
      for (std::string& name : names) {
        if (name.starts_with("loop") || name.starts_with("ram") || name.starts_with("zram") ||
            name.starts_with("dm-") || name.starts_with("md")) {
          continue;
        }
        disks_.insert(std::move(name));
      }
    }
  }

  Result<CounterReading> Read() override {
    CounterReading reading;
    FERRY_RETURN_IF_ERROR(ReadFile("/proc/stat"));
    auto ticks = discover_internal::ParseStatCpuTicks(buffer_);
    if (!ticks) return Err(DataLoss("{}: no `cpu` line", root_.Path("/proc/stat")));
    reading.cpu_total_ticks = ticks->first;
    reading.cpu_idle_ticks = ticks->second;

    FERRY_RETURN_IF_ERROR(ReadFile("/proc/meminfo"));
    discover_internal::ForEachColonField(
        buffer_, [&](std::string_view key, std::string_view value) {
          if (value.ends_with(" kB")) value.remove_suffix(3);
          if (key == "MemTotal") {
            reading.memory_total_bytes = discover_internal::ParseUint(value).value_or(0) * 1024;
          } else if (key == "MemAvailable") {
            reading.memory_available_bytes = discover_internal::ParseUint(value).value_or(0) * 1024;
          }
        });

    FERRY_RETURN_IF_ERROR(ReadFile("/proc/diskstats"));
    auto disks = discover_internal::ParseDiskstats(
        buffer_, [&](std::string_view name) { return disks_.contains(std::string(name)); });
    reading.disk_read_bytes = disks.read_bytes;
    reading.disk_write_bytes = disks.write_bytes;
    reading.disk_reads = disks.reads;
    reading.disk_writes = disks.writes;

    FERRY_RETURN_IF_ERROR(ReadFile("/proc/net/dev"));
    auto [rx, tx] = discover_internal::ParseNetDev(buffer_);
    reading.network_rx_bytes = rx;
    reading.network_tx_bytes = tx;
    return reading;
  }

 private:
  Status ReadFile(std::string_view path) {
    int error = root_.Read(path, &buffer_);
    if (error != 0) {
      return Unavailable("{}: {}", root_.Path(path), discover_internal::ErrnoText(error));
    }
    return OkStatus();
  }

  HostRoot root_;
  std::set<std::string> disks_;
  std::string buffer_;
};

Json SummaryJson(const MetricSummary& summary) {
  return {{"samples", summary.samples},
          {"p50", summary.p50},
          {"p95", summary.p95},
          {"p99", summary.p99},
          {"max", summary.max}};
}

}  // namespace

std::unique_ptr<CounterSource> NewProcCounterSource(const std::string& root) {
  return std::make_unique<ProcCounterSource>(root);
}

double NearestRankPercentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  const auto n = static_cast<double>(sorted.size());
  // ceil(p/100 * N), 1-based; clamped so that p near 0 is the smallest value. The small
  // tolerance keeps 0.95 * 20 = 19.000000000000004 at rank 19, as arithmetic says it is.
  double rank = std::ceil(p / 100.0 * n - 1e-9);
  rank = std::clamp(rank, 1.0, n);
  return sorted[static_cast<size_t>(rank) - 1];
}

MetricSummary Summarise(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  MetricSummary summary;
  summary.samples = static_cast<int64_t>(values.size());
  if (values.empty()) return summary;
  summary.p50 = NearestRankPercentile(values, 50);
  summary.p95 = NearestRankPercentile(values, 95);
  summary.p99 = NearestRankPercentile(values, 99);
  summary.max = values.back();
  return summary;
}

Json Baseline::ToJson() const {
  Json json_metrics = Json::object();
  for (const auto& [name, summary] : metrics) json_metrics[name] = SummaryJson(summary);
  return {{"duration_seconds", static_cast<double>(duration_ms) / 1000.0},
          {"interval_seconds", static_cast<double>(interval_ms) / 1000.0},
          {"expected_samples", expected_samples},
          {"samples", samples},
          {"coverage", coverage},
          {"started_at", started_at},
          {"ended_at", ended_at},
          {"percentile_method", "nearest-rank"},
          {"metrics", std::move(json_metrics)}};
}

Result<Baseline> SampleBaseline(const BaselineOptions& options, CounterSource* source, Env* env) {
  if (options.interval_ms <= 0 || options.duration_ms < options.interval_ms) {
    return Err(InvalidArgument(
        "--watch {}ms with --interval {}ms: the interval must be positive and no longer than "
        "the watch; e.g. --watch 10m --interval 30s",
        options.duration_ms, options.interval_ms));
  }
  Baseline baseline;
  baseline.duration_ms = options.duration_ms;
  baseline.interval_ms = options.interval_ms;
  baseline.expected_samples = options.duration_ms / options.interval_ms;
  baseline.started_at = discover_internal::IsoTimeUtc(env->NowMicros() / 1'000'000);

  std::map<std::string, std::vector<double>> values;
  const int64_t start = env->MonotonicMicros();
  std::optional<CounterReading> previous;
  int64_t previous_at = start;
  auto take = [&]() {
    Result<CounterReading> reading = source->Read();
    const int64_t at = env->MonotonicMicros();
    if (!reading.has_value()) {
      LogWarn("baseline sample lost", {{"error", reading.error().message()}});
      return;
    }
    if (previous.has_value() && at > previous_at) {
      const CounterReading& a = *previous;
      const CounterReading& b = *reading;
      const double seconds = static_cast<double>(at - previous_at) / 1e6;
      // Counters go back only when the host reboots or a device goes: that interval is lost.
      const bool monotonic =
          b.cpu_total_ticks >= a.cpu_total_ticks && b.cpu_idle_ticks >= a.cpu_idle_ticks &&
          b.disk_read_bytes >= a.disk_read_bytes && b.disk_write_bytes >= a.disk_write_bytes &&
          b.disk_reads >= a.disk_reads && b.disk_writes >= a.disk_writes &&
          b.network_rx_bytes >= a.network_rx_bytes && b.network_tx_bytes >= a.network_tx_bytes;
      const uint64_t total = b.cpu_total_ticks - a.cpu_total_ticks;
      if (monotonic && total > 0 && b.memory_total_bytes > 0) {
        auto rate = [&](uint64_t before, uint64_t after) {
          return static_cast<double>(after - before) / seconds;
        };
        const uint64_t idle = b.cpu_idle_ticks - a.cpu_idle_ticks;
        values["cpu_percent"].push_back(100.0 * static_cast<double>(total - std::min(idle, total)) /
                                        static_cast<double>(total));
        const uint64_t used =
            b.memory_total_bytes - std::min(b.memory_available_bytes, b.memory_total_bytes);
        values["memory_used_bytes"].push_back(static_cast<double>(used));
        values["memory_used_percent"].push_back(100.0 * static_cast<double>(used) /
                                                static_cast<double>(b.memory_total_bytes));
        values["disk_read_bytes_per_second"].push_back(rate(a.disk_read_bytes, b.disk_read_bytes));
        values["disk_write_bytes_per_second"].push_back(
            rate(a.disk_write_bytes, b.disk_write_bytes));
        values["disk_iops"].push_back(
            rate(a.disk_reads + a.disk_writes, b.disk_reads + b.disk_writes));
        values["network_rx_bytes_per_second"].push_back(
            rate(a.network_rx_bytes, b.network_rx_bytes));
        values["network_tx_bytes_per_second"].push_back(
            rate(a.network_tx_bytes, b.network_tx_bytes));
        ++baseline.samples;
      }
    }
    // A failed read keeps the last good one, so the next sample spans two intervals.
    previous = *reading;
    previous_at = at;
  };

  take();
  for (int64_t k = 1; k <= baseline.expected_samples; ++k) {
    const int64_t deadline = start + k * options.interval_ms * 1000;
    const int64_t now = env->MonotonicMicros();
    if (deadline > now) env->SleepForMicros(deadline - now);
    take();
  }
  baseline.ended_at = discover_internal::IsoTimeUtc(env->NowMicros() / 1'000'000);
  baseline.coverage =
      baseline.expected_samples > 0
          ? static_cast<double>(baseline.samples) / static_cast<double>(baseline.expected_samples)
          : 0;
  for (auto& [name, list] : values) baseline.metrics[name] = Summarise(std::move(list));
  return baseline;
}

Result<int64_t> ParseDurationMillis(std::string_view text) {
  auto bad = [&] {
    return Err(InvalidArgument(
        "duration `{}`: expected a number and a unit, e.g. 30s, 10m, 1h30m or 500ms (units: ms, "
        "s, m, h)",
        text));
  };
  std::string_view rest = discover_internal::Trim(text);
  if (rest.empty()) return bad();
  int64_t total = 0;
  while (!rest.empty()) {
    size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 0) return bad();
    auto number = discover_internal::ParseUint(rest.substr(0, digits));
    rest.remove_prefix(digits);
    int64_t unit = 0;
    if (rest.starts_with("ms")) {
      unit = 1;
      rest.remove_prefix(2);
    } else if (rest.starts_with("s")) {
      unit = 1000;
      rest.remove_prefix(1);
    } else if (rest.starts_with("m")) {
      unit = 60'000;
      rest.remove_prefix(1);
    } else if (rest.starts_with("h")) {
      unit = 3'600'000;
      rest.remove_prefix(1);
    } else {
      return bad();
    }
    if (!number || *number > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / unit)) {
      return bad();
    }
    total += static_cast<int64_t>(*number) * unit;
  }
  return total;
}

}  // namespace ferry
