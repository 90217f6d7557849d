// `ferry run template` and `ferry run validate` through the command line: the template validates
// as printed, a spec with a cycle is refused naming it, a missing file is named.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "cli/cli_test_util.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;

class RunCommandTest : public testing::CliFileTest {};

TEST_F(RunCommandTest, TheTemplateValidatesAsPrinted) {
  testing::CliOutcome t =
      Run({"run", "template", "--from", "sqlite:///src.db", "--to", "postgresql://app@db/bank"});
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_THAT(t.out, HasSubstr("to: \"postgresql://app@db/bank\""));
  const std::string path = Write("run.yaml", t.out);
  testing::CliOutcome v = Run({"run", "validate", path});
  ASSERT_EQ(v.code, 0) << v.err;
  EXPECT_THAT(v.out, HasSubstr("run `migration`, 8 phase(s), 11 task(s); valid"));
  EXPECT_THAT(v.out, HasSubstr("replicate (approval: operator)"));
  EXPECT_THAT(v.out, HasSubstr("retire-source"));
  EXPECT_THAT(v.out, HasSubstr("not available yet"));
  testing::CliOutcome j = Run({"--json", "run", "validate", path});
  ASSERT_EQ(j.code, 0) << j.err;
  const Json doc = Json::parse(j.out);
  EXPECT_EQ(doc["order"].size(), 11u);
  EXPECT_EQ(doc["order"].back(), "retire-source");
}

TEST_F(RunCommandTest, ABadSpecIsRefusedByNameAndPosition) {
  const std::string path = Write("cycle.yaml",
                                 "run: x\nphases:\n  - name: a\n    tasks:\n"
                                 "      - {id: a1, type: copy, depends_on: [a2]}\n"
                                 "      - {id: a2, type: copy, depends_on: [a1]}\n");
  testing::CliOutcome v = Run({"run", "validate", path});
  EXPECT_EQ(v.code, 2);
  EXPECT_THAT(v.err, HasSubstr("cycle.yaml:5:"));
  EXPECT_THAT(v.err, HasSubstr("dependency cycle a1 -> a2 -> a1"));
  testing::CliOutcome missing = Run({"run", "validate", dir_ + "/none.yaml"});
  EXPECT_NE(missing.code, 0);
  EXPECT_THAT(missing.err, HasSubstr("none.yaml"));
}

// The durable commands refuse bad input before anything is recorded: a spec that does not
// check starts no run, and an unknown run is named with the way to list runs.
TEST_F(RunCommandTest, BadInputToTheRunCommandsIsRefusedAndRecordsNothing) {
  const std::string store = "sqlite://" + dir_ + "/state.db";
  const std::string cycle = Write("cycle.yaml",
                                  "run: x\nphases:\n  - name: a\n    tasks:\n"
                                  "      - {id: a1, type: command, depends_on: [a2]}\n"
                                  "      - {id: a2, type: command, depends_on: [a1]}\n");
  testing::CliOutcome bad = Run({"--store", store, "run", "start", cycle});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("dependency cycle a1 -> a2 -> a1"));
  testing::CliOutcome missing = Run({"--store", store, "run", "start", dir_ + "/none.yaml"});
  EXPECT_NE(missing.code, 0);
  EXPECT_THAT(missing.err, HasSubstr("none.yaml"));
  testing::CliOutcome listed = Run({"--store", store, "--json", "run", "list"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_TRUE(Json::parse(listed.out)["runs"].empty());

  testing::CliOutcome unknown = Run({"--store", store, "run", "status", "run_nope"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("there is no run run_nope"));
  EXPECT_THAT(unknown.err, HasSubstr("ferry run list"));
  testing::CliOutcome approve =
      Run({"--store", store, "run", "approve", "run_nope", "--phase", "cutover"});
  EXPECT_EQ(approve.code, 2);
  EXPECT_THAT(approve.err, HasSubstr("run_nope"));
}

}  // namespace
}  // namespace ferry
