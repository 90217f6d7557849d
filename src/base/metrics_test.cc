#include "base/metrics.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(MetricsTest, RendersTheExpositionFormat) {
  MetricsRegistry registry;
  registry
      .GetCounter("ferry_rows_copied_total", "Rows written to the target.",
                  {{"table", "invoice"}, {"source", "pg"}})
      .Increment(1000);
  registry
      .GetCounter("ferry_rows_copied_total", "ignored: the first help is kept",
                  {{"table", "customer"}, {"source", "pg"}})
      .Increment(2.5);
  registry.GetGauge("ferry_chunks_in_flight", "Chunks being copied.\nPer worker.").Set(-3);
  Histogram& latency = registry.GetHistogram("ferry_chunk_seconds", "Time to copy a chunk.",
                                             {0.1, 1, 10}, {{"table", "invoice"}});
  for (double seconds : {0.0625, 0.125, 0.5, 2.0, 64.0}) latency.Observe(seconds);

  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP ferry_chunk_seconds Time to copy a chunk.\n"
            "# TYPE ferry_chunk_seconds histogram\n"
            "ferry_chunk_seconds_bucket{table=\"invoice\",le=\"0.1\"} 1\n"
            "ferry_chunk_seconds_bucket{table=\"invoice\",le=\"1\"} 3\n"
            "ferry_chunk_seconds_bucket{table=\"invoice\",le=\"10\"} 4\n"
            "ferry_chunk_seconds_bucket{table=\"invoice\",le=\"+Inf\"} 5\n"
            "ferry_chunk_seconds_sum{table=\"invoice\"} 66.6875\n"
            "ferry_chunk_seconds_count{table=\"invoice\"} 5\n"
            "# HELP ferry_chunks_in_flight Chunks being copied.\\nPer worker.\n"
            "# TYPE ferry_chunks_in_flight gauge\n"
            "ferry_chunks_in_flight -3\n"
            "# HELP ferry_rows_copied_total Rows written to the target.\n"
            "# TYPE ferry_rows_copied_total counter\n"
            "ferry_rows_copied_total{source=\"pg\",table=\"customer\"} 2.5\n"
            "ferry_rows_copied_total{source=\"pg\",table=\"invoice\"} 1000\n");
}

TEST(MetricsTest, SameNameAndLabelsGiveTheSameObject) {
  MetricsRegistry registry;
  Counter& a = registry.GetCounter("c_total", "h", {{"x", "1"}, {"y", "2"}});
  Counter& b = registry.GetCounter("c_total", "h", {{"y", "2"}, {"x", "1"}});
  Counter& other = registry.GetCounter("c_total", "h", {{"x", "1"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  // References survive many later registrations.
  for (int i = 0; i < 1000; ++i) registry.GetCounter("c_total", "h", {{"i", std::to_string(i)}});
  a.Increment();
  EXPECT_EQ(registry.GetCounter("c_total", "h", {{"x", "1"}, {"y", "2"}}).Value(), 1);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  MetricsRegistry registry;
  registry.GetGauge("g", "h", {{"path", "C:\\data\n\"x\""}}).Set(1);
  EXPECT_THAT(registry.RenderPrometheus(), HasSubstr("g{path=\"C:\\\\data\\n\\\"x\\\"\"} 1\n"));
}

TEST(MetricsTest, SpecialValues) {
  MetricsRegistry registry;
  registry.GetGauge("a", "h").Set(std::numeric_limits<double>::infinity());
  registry.GetGauge("b", "h").Set(-std::numeric_limits<double>::infinity());
  registry.GetGauge("c", "h").Set(std::nan(""));
  registry.GetGauge("d", "h").Set(1e21);
  std::string text = registry.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("\na +Inf\n"));
  EXPECT_THAT(text, HasSubstr("\nb -Inf\n"));
  EXPECT_THAT(text, HasSubstr("\nc NaN\n"));
  EXPECT_THAT(text, HasSubstr("\nd 1e+21\n"));
}

TEST(MetricsTest, CounterNeverGoesDown) {
  MetricsRegistry registry;
  Counter& counter = registry.GetCounter("c_total", "h");
  counter.Increment(5);
  counter.Increment(-3);
  counter.Increment();
  EXPECT_EQ(counter.Value(), 6);
}

TEST(MetricsTest, GaugeSetAndAdd) {
  MetricsRegistry registry;
  Gauge& gauge = registry.GetGauge("lag_seconds", "h");
  gauge.Set(10);
  gauge.Add(-2.5);
  EXPECT_EQ(gauge.Value(), 7.5);
}

TEST(MetricsTest, HistogramBoundsAreInclusiveAndNaNIsDropped) {
  MetricsRegistry registry;
  Histogram& histogram = registry.GetHistogram("h", "h", {1, 2});
  histogram.Observe(1);
  histogram.Observe(2);
  histogram.Observe(2.5);
  histogram.Observe(-5);
  histogram.Observe(std::nan(""));
  EXPECT_EQ(histogram.Count(), 4u);
  EXPECT_EQ(histogram.Sum(), 0.5);
  std::string text = registry.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("h_bucket{le=\"1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("h_bucket{le=\"2\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("h_bucket{le=\"+Inf\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("h_count 4\n"));
}

TEST(MetricsTest, ExponentialBuckets) {
  EXPECT_THAT(ExponentialBuckets(0.001, 10, 4), ElementsAre(0.001, 0.01, 0.1, 1.0));
  EXPECT_TRUE(ExponentialBuckets(1, 2, 0).empty());
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry registry;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry, t] {
      // Every thread looks the metrics up itself, racing on creation too.
      Counter& counter = registry.GetCounter("ops_total", "h");
      Gauge& gauge = registry.GetGauge("level", "h");
      Histogram& histogram = registry.GetHistogram("size", "h", {10, 100});
      for (int i = 0; i < kPerThread; ++i) {
        counter.Increment();
        gauge.Add(t % 2 == 0 ? 1 : -1);
        histogram.Observe(i % 200);
      }
      registry.GetCounter("per_thread_total", "h", {{"t", std::to_string(t)}}).Increment();
    });
  }
  // A render racing with the writers still shows a histogram whose count is its +Inf bucket.
  for (int i = 0; i < 50; ++i) {
    std::string text = registry.RenderPrometheus();
    size_t inf = text.find("size_bucket{le=\"+Inf\"} ");
    size_t count = text.find("size_count ");
    if (inf == std::string::npos) continue;
    ASSERT_NE(count, std::string::npos);
    EXPECT_EQ(std::stoull(text.substr(inf + 23)), std::stoull(text.substr(count + 11)));
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(registry.GetCounter("ops_total", "h").Value(), kThreads * kPerThread);
  EXPECT_EQ(registry.GetGauge("level", "h").Value(), 0);
  EXPECT_EQ(registry.GetHistogram("size", "h", {10, 100}).Count(),
            static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_THAT(registry.RenderPrometheus(), HasSubstr("size_bucket{le=\"10\"} 44000\n"));
}

TEST(MetricsTest, DefaultRegistryIsShared) {
  Counter& counter = MetricsRegistry::Default().GetCounter("ferry_metrics_test_total", "h");
  counter.Increment();
  EXPECT_THAT(MetricsRegistry::Default().RenderPrometheus(),
              HasSubstr("ferry_metrics_test_total 1\n"));
}

TEST(MetricsTest, NameValidation) {
  EXPECT_TRUE(ValidateMetricName("ferry:rows_total").ok());
  EXPECT_TRUE(ValidateMetricName("_x9").ok());
  EXPECT_EQ(ValidateMetricName("9lives").message(),
            "metric name `9lives` is not valid: it must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  EXPECT_FALSE(ValidateMetricName("rows-total").ok());
  EXPECT_FALSE(ValidateMetricName("").ok());

  EXPECT_TRUE(ValidateLabelName("table").ok());
  EXPECT_EQ(ValidateLabelName("a:b").message(),
            "label name `a:b` is not valid: it must match [a-zA-Z_][a-zA-Z0-9_]*");
  EXPECT_EQ(ValidateLabelName("__name__").message(),
            "label name `__name__` is not valid: names starting with __ are reserved");
}

TEST(MetricsDeathTest, MisuseAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  MetricsRegistry registry;
  registry.GetCounter("jobs_total", "h");
  EXPECT_DEATH(registry.GetGauge("jobs_total", "h"),
               "metric `jobs_total` is already registered as another type than gauge");
  EXPECT_DEATH(registry.GetCounter("bad name", "h"), "metric name `bad name` is not valid");
  EXPECT_DEATH(registry.GetCounter("ok_total", "h", {{"bad-label", "x"}}),
               "label name `bad-label` is not valid");
  EXPECT_DEATH(registry.GetHistogram("h", "h", {1, 1}), "strictly increasing");
  EXPECT_DEATH(registry.GetHistogram("h2", "h", {1}, {{"le", "x"}}), "`le` is reserved");
  registry.GetHistogram("h3", "h", {1, 2});
  EXPECT_DEATH(registry.GetHistogram("h3", "h", {1, 3}), "already registered with other bounds");
}

}  // namespace
}  // namespace ferry
