// Run specs: the default template, the order tasks run in, and every way a spec is refused, each
// with its position and the way out; random dependency graphs ordered correctly and their cycles
// found.
#include "workflow/run_spec.h"

#include <random>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::workflow {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

Result<RunSpec> Parse(std::string_view text) {
  return ParseRunSpec(text, "run.yaml", Env::Default());
}

std::string Error(std::string_view text) {
  Result<RunSpec> r = Parse(text);
  EXPECT_FALSE(r.has_value()) << text;
  return r.has_value() ? "" : r.error().message();
}

size_t Position(const std::vector<std::string>& order, std::string_view id) {
  return static_cast<size_t>(std::find(order.begin(), order.end(), id) - order.begin());
}

TEST(RunSpecTest, TheDefaultTemplateFollowsTheMigrationJourney) {
  Result<RunSpec> spec = Parse(DefaultRunTemplate("sqlite:///a.db", "sqlite:///b.db"));
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  std::vector<std::string> phases;
  for (const PhaseSpec& p : spec->phases) phases.push_back(p.name);
  EXPECT_THAT(phases, ::testing::ElementsAre("preflight", "provision", "replicate", "configure",
                                             "smoke-tests", "cutover", "validate", "decommission"));
  EXPECT_EQ(spec->phases[2].approval, "operator");
  EXPECT_EQ(spec->phases[7].approval, "admin");
  const TaskSpec& copy = spec->phases[2].tasks[0];
  EXPECT_EQ(copy.type, "copy");
  EXPECT_EQ(copy.with["from"], "sqlite:///a.db");
  EXPECT_EQ(copy.retries, 3);
  EXPECT_EQ(copy.backoff_micros, 10'000'000);
  const std::vector<std::string> order = spec->ExecutionOrder();
  ASSERT_EQ(order.size(), 11u);
  EXPECT_LT(Position(order, "source-reachable"), Position(order, "copy"));
  EXPECT_LT(Position(order, "copy"), Position(order, "verify"));
  EXPECT_LT(Position(order, "verify"), Position(order, "baseline"));  // validate: both
  EXPECT_EQ(order.back(), "retire-source");
  // Every type the template uses is known; the ones ferry cannot run yet say so.
  EXPECT_FALSE(FindTaskType("decommission")->available);
  EXPECT_TRUE(FindTaskType("copy")->available);
  EXPECT_THAT(std::string(FindTaskType("copy")->undo), HasSubstr("drops the target tables"));
}

TEST(RunSpecTest, EachKindOfBadSpecIsRefusedWithItsPositionAndTheWayOut) {
  EXPECT_THAT(Error("run: x\nphases: [\n"), StartsWith("run.yaml:"));
  EXPECT_THAT(Error("run: x\nphases: [\n"), HasSubstr("invalid YAML"));
  EXPECT_THAT(Error("run: x\nphases:\n  - name: a\n    tasks:\n      - {id: t, type: kopy}\n"),
              HasSubstr("unknown task type `kopy`; the types are check.connect"));
  EXPECT_THAT(Error("run: x\nphases:\n  - name: a\n    tasks:\n      - {id: t, type: copy}\n"
                    "      - {id: t, type: verify}\n"),
              HasSubstr("task id `t` is used twice"));
  EXPECT_THAT(Error("run: x\nphases:\n  - name: a\n    tasks:\n"
                    "      - {id: t, type: copy, depends_on: [nope]}\n"),
              HasSubstr("depends on `nope`, which no phase declares"));
  EXPECT_THAT(Error("run: x\nphases:\n  - name: a\n    tasks:\n"
                    "      - {id: t, type: copy, depends_on: [u]}\n"
                    "  - name: b\n    tasks:\n      - {id: u, type: verify}\n"),
              HasSubstr("depends on `u` of the later phase `b`"));
  EXPECT_THAT(Error("run: x\nphases:\n  - name: a\n    approval: boss\n    tasks:\n"
                    "      - {id: t, type: copy}\n"),
              HasSubstr("role `boss`: expected admin, operator or viewer"));
  EXPECT_THAT(Error("run: x\nphases:\n  - name: a\n    tasks:\n"
                    "      - {id: t, type: copy, retrys: 2}\n"),
              HasSubstr("retries"));
  EXPECT_THAT(Error("run: x\nphases:\n  - name: a\n    tasks: []\n"), HasSubstr("has no tasks"));
  EXPECT_THAT(Error("phases:\n  - name: a\n    tasks:\n      - {id: t, type: copy}\n"),
              HasSubstr("needs `run: NAME`"));
  // A cycle is named, at the line of the task where it was found.
  const std::string cycle = Error(
      "run: x\nphases:\n  - name: a\n    tasks:\n"
      "      - {id: a1, type: copy, depends_on: [a3]}\n"
      "      - {id: a2, type: copy, depends_on: [a1]}\n"
      "      - {id: a3, type: copy, depends_on: [a2]}\n");
  EXPECT_THAT(cycle, HasSubstr("dependency cycle a1 -> a3 -> a2 -> a1"));
  EXPECT_THAT(cycle, StartsWith("run.yaml:5:"));
}

// Random dependency graphs within one phase: edges only from later to earlier tasks (a DAG) are
// ordered so every task follows its dependencies; one edge back closes a cycle, which is found.
TEST(RunSpecTest, RandomGraphsAreOrderedAndTheirCyclesFound) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    const int n = 2 + static_cast<int>(rng() % 12);
    std::vector<std::vector<int>> deps(static_cast<size_t>(n));
    for (int i = 1; i < n; ++i) {
      for (int j = 0; j < i; ++j) {
        if (rng() % 3 == 0) deps[static_cast<size_t>(i)].push_back(j);
      }
    }
    // Declared in a shuffled order, so declaration order does not hide a wrong sort.
    std::vector<int> declared(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) declared[static_cast<size_t>(i)] = i;
    std::shuffle(declared.begin(), declared.end(), rng);
    auto yaml = [&](int back_from, int back_to) {
      std::string text = "run: r\nphases:\n  - name: p\n    tasks:\n";
      for (int i : declared) {
        std::vector<std::string> d;
        for (int j : deps[static_cast<size_t>(i)]) d.push_back(fmt::format("t{}", j));
        if (i == back_to) d.push_back(fmt::format("t{}", back_from));
        text += fmt::format("      - {{id: t{}, type: command, depends_on: [{}]}}\n", i,
                            fmt::join(d, ", "));
      }
      return text;
    };
    Result<RunSpec> spec = Parse(yaml(-1, -1));
    ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
    const std::vector<std::string> order = spec->ExecutionOrder();
    ASSERT_EQ(order.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      for (int j : deps[static_cast<size_t>(i)]) {
        EXPECT_LT(Position(order, fmt::format("t{}", j)), Position(order, fmt::format("t{}", i)));
      }
    }
    // t0 depending on the last task closes a cycle whenever the last task reaches t0.
    std::vector<bool> reaches(static_cast<size_t>(n), false);
    reaches[0] = true;
    for (int i = 1; i < n; ++i) {
      for (int j : deps[static_cast<size_t>(i)])
        reaches[static_cast<size_t>(i)] =
            reaches[static_cast<size_t>(i)] || reaches[static_cast<size_t>(j)];
    }
    Result<RunSpec> closed = Parse(yaml(n - 1, 0));
    if (reaches[static_cast<size_t>(n - 1)]) {
      ASSERT_FALSE(closed.has_value());
      EXPECT_THAT(closed.error().message(), HasSubstr("dependency cycle"));
    } else {
      EXPECT_TRUE(closed.has_value()) << closed.error().ToString();
    }
  }
}

}  // namespace
}  // namespace ferry::workflow
