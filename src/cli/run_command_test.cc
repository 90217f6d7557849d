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

}  // namespace
}  // namespace ferry
