// Counters, gauges and histograms, rendered in the Prometheus text exposition format 0.0.4
// (prometheus.io/docs/instrumenting/exposition_formats).
//
//   static Counter& rows = MetricsRegistry::Default().GetCounter(
//       "ferry_rows_copied_total", "Rows written to the target.", {{"table", "invoice"}});
//   rows.Increment(batch.size());
//
// Looking a metric up takes the registry lock; updating it is a few atomic instructions and
// takes no lock, so keep the reference and update it on the hot path.
//
// A metric or label name that is not valid, or one name asked for as two different kinds of
// metric (or as histograms with different buckets), is a bug in the calling code: the Get*
// call prints the reason to stderr and aborts. Code that builds names at run time checks them
// first with ValidateMetricName / ValidateLabelName.
//
// Thread-safety: everything here may be used from any thread.
#ifndef FERRY_BASE_METRICS_H_
#define FERRY_BASE_METRICS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ferry {

// Label name -> value. Equal sets are equal whatever order they are written in.
using Labels = std::map<std::string, std::string>;

// A value that only goes up (rows copied, errors seen).
class Counter {
 public:
  // Adds `amount`. Negative amounts are ignored: a counter never goes down.
  void Increment(double amount = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  friend class MetricsRegistry;
  Counter() = default;
  std::atomic<double> value_{0};
};

// A value that goes up and down (chunks in flight, replication lag).
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  friend class MetricsRegistry;
  Gauge() = default;
  std::atomic<double> value_{0};
};

// Counts observations into buckets by upper bound (a value equal to a bound falls in that
// bucket), and keeps their sum. NaN observations are dropped. A render that races with
// Observe may show a sum that lags the counts by the racing observations; the counts are
// always consistent with each other.
class Histogram {
 public:
  void Observe(double value);
  uint64_t Count() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  friend class MetricsRegistry;
  explicit Histogram(const std::vector<double>& bounds);

  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative; last is +Inf
  std::atomic<double> sum_{0};
};

// `count` bounds start, start*factor, start*factor^2, ... (start > 0, factor > 1).
std::vector<double> ExponentialBuckets(double start, double factor, size_t count);

// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
[[nodiscard]] Status ValidateMetricName(std::string_view name);
// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved by Prometheus).
[[nodiscard]] Status ValidateLabelName(std::string_view name);

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The process-wide registry that the server exposes. Never destroyed.
  static MetricsRegistry& Default();

  // The metric `name` with `labels`, created on first use. The reference stays valid for the
  // registry's lifetime; the same name and labels always give the same object. The help text
  // of the first call for a name is kept.
  Counter& GetCounter(std::string name, std::string help, Labels labels = {});
  Gauge& GetGauge(std::string name, std::string help, Labels labels = {});
  // `bounds` must be finite and strictly increasing; +Inf is implied. Every label set of one
  // name must use the same bounds. `le` is reserved as a label name.
  Histogram& GetHistogram(std::string name, std::string help, std::vector<double> bounds,
                          Labels labels = {});

  // Every metric: families sorted by name, each with # HELP and # TYPE, series sorted by
  // label set.
  std::string RenderPrometheus() const;

 private:
  struct Family;
  template <typename Metric>
  Metric& GetOrCreate(std::string name, std::string help, std::vector<double> bounds,
                      Labels labels);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>> families_;  // GUARDED_BY(mu_)
};

}  // namespace ferry

#endif  // FERRY_BASE_METRICS_H_
