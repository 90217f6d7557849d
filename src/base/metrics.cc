#include "base/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <type_traits>
#include <variant>

namespace ferry {
namespace {

[[noreturn]] void MisusedMetrics(const std::string& reason) {
  fmt::print(stderr, "ferry metrics: {}\n", reason);
  std::abort();
}

template <typename Metric>
using SeriesMap = std::map<Labels, std::unique_ptr<Metric>>;

template <typename Metric>
constexpr std::string_view kTypeName = std::is_same_v<Metric, Counter> ? "counter"
                                       : std::is_same_v<Metric, Gauge> ? "gauge"
                                                                       : "histogram";

// Prometheus reads sample values with Go's ParseFloat, which wants these spellings.
std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string EscapeHelp(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string EscapeLabelValue(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '"') {
      out.append("\\\"");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// `{a="x",b="y"}`, with `extra` (already formatted, e.g. `le="0.5"`) last; "" when empty.
std::string FormatLabels(const Labels& labels, std::string_view extra = {}) {
  std::string out;
  for (const auto& [name, value] : labels) {
    out += fmt::format("{}{}=\"{}\"", out.empty() ? "{" : ",", name, EscapeLabelValue(value));
  }
  if (!extra.empty()) out += fmt::format("{}{}", out.empty() ? "{" : ",", extra);
  if (!out.empty()) out.push_back('}');
  return out;
}

bool IsNameChar(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         (allow_colon && c == ':');
}

bool IsValidName(std::string_view name, bool allow_colon) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::ranges::all_of(name, [&](char c) { return IsNameChar(c, allow_colon); });
}

}  // namespace

// ---- Metrics

void Counter::Increment(double amount) {
  if (amount > 0) value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  auto bucket = static_cast<size_t>(std::ranges::lower_bound(bounds_, value) - bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

uint64_t Histogram::Count() const {
  uint64_t count = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) count += counts_[i].load(std::memory_order_relaxed);
  return count;
}

std::vector<double> ExponentialBuckets(double start, double factor, size_t count) {
  std::vector<double> bounds;
  bounds.reserve(count);
  for (double bound = start; bounds.size() < count; bound *= factor) bounds.push_back(bound);
  return bounds;
}

Status ValidateMetricName(std::string_view name) {
  if (IsValidName(name, /*allow_colon=*/true)) return OkStatus();
  return InvalidArgument("metric name `{}` is not valid: it must match [a-zA-Z_:][a-zA-Z0-9_:]*",
                         name);
}

Status ValidateLabelName(std::string_view name) {
  if (!IsValidName(name, /*allow_colon=*/false)) {
    return InvalidArgument("label name `{}` is not valid: it must match [a-zA-Z_][a-zA-Z0-9_]*",
                           name);
  }
  if (name.starts_with("__")) {
    return InvalidArgument("label name `{}` is not valid: names starting with __ are reserved",
                           name);
  }
  return OkStatus();
}

// ---- MetricsRegistry

struct MetricsRegistry::Family {
  std::string help;
  std::vector<double> bounds;  // histograms only
  std::variant<SeriesMap<Counter>, SeriesMap<Gauge>, SeriesMap<Histogram>> series;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry& MetricsRegistry::Default() {
  static auto* const kRegistry = new MetricsRegistry();
  return *kRegistry;
}

template <typename Metric>
Metric& MetricsRegistry::GetOrCreate(std::string name, std::string help, std::vector<double> bounds,
                                     Labels labels) {
  constexpr bool kIsHistogram = std::is_same_v<Metric, Histogram>;
  if (Status status = ValidateMetricName(name); !status.ok()) MisusedMetrics(status.message());
  for (const auto& [label, value] : labels) {
    if (Status status = ValidateLabelName(label); !status.ok()) MisusedMetrics(status.message());
    if (kIsHistogram && label == "le") {
      MisusedMetrics(fmt::format("histogram `{}`: label name `le` is reserved", name));
    }
  }
  if constexpr (kIsHistogram) {
    for (size_t i = 0; i < bounds.size(); ++i) {
      if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
        MisusedMetrics(
            fmt::format("histogram `{}`: bounds must be finite and strictly "
                        "increasing, got {} at position {}",
                        name, bounds[i], i));
      }
    }
  }

  std::lock_guard lock(mu_);
  std::unique_ptr<Family>& family = families_[name];
  if (family == nullptr) {
    family = std::make_unique<Family>(std::move(help), std::move(bounds), SeriesMap<Metric>());
  } else if (!std::holds_alternative<SeriesMap<Metric>>(family->series)) {
    MisusedMetrics(fmt::format("metric `{}` is already registered as another type than {}", name,
                               kTypeName<Metric>));
  } else if (kIsHistogram && family->bounds != bounds) {
    MisusedMetrics(fmt::format("histogram `{}` is already registered with other bounds", name));
  }
  std::unique_ptr<Metric>& metric = std::get<SeriesMap<Metric>>(family->series)[std::move(labels)];
  if (metric == nullptr) {
    if constexpr (kIsHistogram) {
      metric.reset(new Histogram(family->bounds));
    } else {
      metric.reset(new Metric());
    }
  }
  return *metric;
}

Counter& MetricsRegistry::GetCounter(std::string name, std::string help, Labels labels) {
  return GetOrCreate<Counter>(std::move(name), std::move(help), {}, std::move(labels));
}

Gauge& MetricsRegistry::GetGauge(std::string name, std::string help, Labels labels) {
  return GetOrCreate<Gauge>(std::move(name), std::move(help), {}, std::move(labels));
}

Histogram& MetricsRegistry::GetHistogram(std::string name, std::string help,
                                         std::vector<double> bounds, Labels labels) {
  return GetOrCreate<Histogram>(std::move(name), std::move(help), std::move(bounds),
                                std::move(labels));
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) {
    std::visit(
        [&](const auto& series) {
          using Metric = typename std::decay_t<decltype(series)>::mapped_type::element_type;
          out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, EscapeHelp(family->help), name,
                             kTypeName<Metric>);
          for (const auto& [labels, metric] : series) {
            if constexpr (std::is_same_v<Metric, Histogram>) {
              uint64_t cumulative = 0;
              for (size_t i = 0; i <= family->bounds.size(); ++i) {
                cumulative += metric->counts_[i].load(std::memory_order_relaxed);
                double bound = i < family->bounds.size() ? family->bounds[i]
                                                         : std::numeric_limits<double>::infinity();
                std::string le = fmt::format("le=\"{}\"", FormatValue(bound));
                out += fmt::format("{}_bucket{} {}\n", name, FormatLabels(labels, le), cumulative);
              }
              out += fmt::format("{}_sum{} {}\n", name, FormatLabels(labels),
                                 FormatValue(metric->Sum()));
              out += fmt::format("{}_count{} {}\n", name, FormatLabels(labels), cumulative);
            } else {
              out += fmt::format("{}{} {}\n", name, FormatLabels(labels),
                                 FormatValue(metric->Value()));
            }
          }
        },
        family->series);
  }
  return out;
}

}  // namespace ferry
