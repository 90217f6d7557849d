#include "legacy/copybook.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "legacy/layout.h"

namespace ferry::legacy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Copybook Parse(std::string_view text, ParseOptions options = {}) {
  Result<Copybook> cb = ParseCopybook(text, "test.cob", options);
  EXPECT_TRUE(cb.has_value()) << cb.error().ToString();
  return cb.value_or(Copybook{});
}

std::string ParseError(std::string_view text, ParseOptions options = {}) {
  Result<Copybook> cb = ParseCopybook(text, "test.cob", options);
  EXPECT_FALSE(cb.has_value());
  return cb.has_value() ? "" : cb.error().message();
}

const Field& Named(const Copybook& cb, std::string_view name) {
  std::vector<int32_t> found = cb.Find(name);
  EXPECT_EQ(found.size(), 1u) << name;
  static const Field kNone;
  return found.empty() ? kNone : cb.fields[found.front()];
}

// An 80-column card: sequence number, indicator and code (columns 7-72), identification.
std::string Card(std::string_view sequence, std::string_view code, std::string_view id) {
  std::string card(sequence);
  card.resize(6, ' ');
  card += code;
  card.resize(72, ' ');
  card += id;
  return card + "\n";
}

TEST(CopybookTest, FixedFormatIgnoresSequenceAndIdentificationAreas) {
  // Columns 1-6 and 73-80 hold anything; only 8-72 is code.
  Copybook cb = Parse(Card("000100", " 01  CUSTOMER.", "CUST0001") +
                      Card("000200", "* a comment line", "CUST0002") +
                      Card("000300", "/ a page-eject comment line", "") +
                      Card("000400", "     05  CUST-ID         PIC 9(6).", "CUST0003") +
                      Card("000500", "     05  CUST-NAME       PIC X(20).", "NAME(04)") +
                      Card("000600", "D    05  DEBUG-ONLY      PIC X.", "CUST0005"));
  ASSERT_EQ(cb.records.size(), 1u);
  EXPECT_EQ(cb.fields.size(), 3u);
  EXPECT_EQ(Named(cb, "CUST-NAME").size, 20);
  EXPECT_EQ(Named(cb, "CUST-NAME").offset, 6);
  EXPECT_EQ(cb.record_size(), 26);
}

TEST(CopybookTest, FreeFormatIsDetectedAndHasInlineComments) {
  Copybook cb = Parse(
      "01 REC. *> the record\n"
      "  05 A PIC X(3).\n"
      "  05 B PIC S9(5)V99 COMP-3. *> 4 bytes\n");
  EXPECT_EQ(Named(cb, "B").size, 4);
  EXPECT_EQ(Named(cb, "B").offset, 3);
  // The same text read as fixed format is wrong: column 7 holds code.
  EXPECT_THAT(ParseError("01 REC.\n  05 A PIC X(3).\n", {.format = SourceFormat::kFixed}),
              HasSubstr("test.cob"));
}

TEST(CopybookTest, SourceFormatDirectiveSwitches) {
  Copybook cb = Parse(
      "       >>SOURCE FORMAT IS FREE\n"
      "01 REC.\n"
      "   05 LONG-NAME-THAT-RUNS-PAST-COLUMN-SEVENTY-TWO-IN-FREE-FORMAT-IS-FINE PIC X(2).\n");
  EXPECT_EQ(cb.fields.size(), 2u);
}

TEST(CopybookTest, TabsExpandToMultiplesOfEight) {
  Copybook cb = Parse("\t01 R.\n\t    05 A PIC X.\n\t\t05 B PIC X.\n");
  EXPECT_EQ(cb.fields.size(), 3u);
}

TEST(CopybookTest, ContinuedLiteral) {
  Copybook cb = Parse(
      "       01  R.\n"
      "           05  STATUS-CODE PIC X(40).\n"
      "               88  LONG-VALUE VALUE 'THIS LITERAL IS CONTINUED ON THE NE\n"
      "      -    'XT LINE'.\n");
  const Field& f = Named(cb, "STATUS-CODE");
  ASSERT_EQ(f.conditions.size(), 1u);
  EXPECT_EQ(f.conditions[0].values[0].from, "THIS LITERAL IS CONTINUED ON THE NEXT LINE");
}

TEST(CopybookTest, LevelEightyEightConditions) {
  Copybook cb = Parse(
      "       01  R.\n"
      "           05  STATE PIC X.\n"
      "               88  IS-OPEN   VALUE 'O'.\n"
      "               88  IS-CLOSED VALUES ARE 'C' 'X'.\n"
      "           05  GRADE PIC 99.\n"
      "               88  PASSING   VALUE 50 THRU 100.\n"
      "               88  NOTHING   VALUE ZERO.\n");
  const Field& state = Named(cb, "STATE");
  ASSERT_EQ(state.conditions.size(), 2u);
  EXPECT_EQ(state.conditions[1].name, "IS-CLOSED");
  EXPECT_EQ(state.conditions[1].values.size(), 2u);
  const Field& grade = Named(cb, "GRADE");
  EXPECT_EQ(grade.conditions[0].values[0].from, "50");
  EXPECT_EQ(grade.conditions[0].values[0].thru, "100");
  EXPECT_EQ(grade.conditions[1].values[0].from, "ZERO");
  EXPECT_EQ(cb.fields.size(), 3u);  // 88s are metadata, not fields
}

TEST(CopybookTest, UsagesAndSizes) {
  Copybook cb = Parse(
      "       01  R.\n"
      "           05  D1  PIC S9(4).\n"
      "           05  D2  PIC S9(4) SIGN LEADING SEPARATE.\n"
      "           05  B1  PIC S9(4) COMP.\n"
      "           05  B2  PIC 9(9) BINARY.\n"
      "           05  B3  PIC S9(18) COMP-4.\n"
      "           05  N1  PIC 9(5) COMP-5.\n"
      "           05  P1  PIC S9(7)V99 COMP-3.\n"
      "           05  P2  PIC 9(6) PACKED-DECIMAL.\n"
      "           05  F1  COMP-1.\n"
      "           05  F2  USAGE IS COMP-2.\n"
      "           05  E1  PIC ZZZ,ZZ9.99-.\n"
      "           05  X1  PIC X(7).\n");
  auto size = [&](const char* name) { return Named(cb, name).size; };
  EXPECT_EQ(size("D1"), 4);
  EXPECT_EQ(size("D2"), 5);
  EXPECT_EQ(size("B1"), 2);
  EXPECT_EQ(size("B2"), 4);
  EXPECT_EQ(size("B3"), 8);
  EXPECT_EQ(size("N1"), 4);
  EXPECT_EQ(size("P1"), 5);
  EXPECT_EQ(size("P2"), 4);
  EXPECT_EQ(size("F1"), 4);
  EXPECT_EQ(size("F2"), 8);
  EXPECT_EQ(size("E1"), 11);
  EXPECT_EQ(Named(cb, "D2").sign, SignPosition::kLeading);
  EXPECT_TRUE(Named(cb, "D2").sign_separate);
  EXPECT_EQ(Named(cb, "P1").type, ValueType::kDecimal);
  EXPECT_EQ(Named(cb, "B2").type, ValueType::kInt64);  // 9 unsigned binary digits
  EXPECT_EQ(Named(cb, "N1").usage, Usage::kNativeBinary);
  EXPECT_EQ(cb.record_size(), 4 + 5 + 2 + 4 + 8 + 4 + 5 + 4 + 4 + 8 + 11 + 7);
}

TEST(CopybookTest, GroupUsageAndSignApplyToTheItemsBelow) {
  Copybook cb = Parse(
      "       01  R.\n"
      "           05  G USAGE COMP-3.\n"
      "               10  A PIC S9(5).\n"
      "               10  B PIC S9(3).\n"
      "           05  H SIGN IS TRAILING SEPARATE.\n"
      "               10  C PIC S9(3).\n");
  EXPECT_EQ(Named(cb, "A").usage, Usage::kPacked);
  EXPECT_EQ(Named(cb, "A").size, 3);
  EXPECT_TRUE(Named(cb, "C").sign_separate);
  EXPECT_EQ(Named(cb, "C").size, 4);
}

TEST(CopybookTest, RedefinesTakeTheLargestMember) {
  Copybook cb = Parse(
      "       01  R.\n"
      "           05  A PIC X(4).\n"
      "           05  B REDEFINES A PIC 9(8).\n"
      "           05  C REDEFINES A.\n"
      "               10 C1 PIC X(2).\n"
      "           05  D PIC X.\n");
  EXPECT_EQ(Named(cb, "B").offset, 0);
  EXPECT_EQ(Named(cb, "C").offset, 0);
  EXPECT_EQ(Named(cb, "D").offset, 8);
  EXPECT_EQ(Named(cb, "A").layout_size, 8);
  EXPECT_TRUE(Named(cb, "A").is_redefined);
  EXPECT_TRUE(Named(cb, "B").is_redefined);
  EXPECT_FALSE(Named(cb, "C").is_redefined);
  EXPECT_EQ(cb.fields[Named(cb, "C").redefines].name, "A");
}

TEST(CopybookTest, OccursAndNestedDependingOn) {
  Copybook cb = Parse(
      "       01  R.\n"
      "           05  N      PIC 9.\n"
      "           05  G OCCURS 1 TO 3 TIMES DEPENDING ON N INDEXED BY IX.\n"
      "               10  M  PIC 9.\n"
      "               10  H OCCURS 0 TO 2 DEPENDING ON M ASCENDING KEY IS V.\n"
      "                   15 V PIC X(2).\n"
      "           05  T PIC X.\n");
  const Field& g = Named(cb, "G");
  EXPECT_EQ(g.occurs_min, 1);
  EXPECT_EQ(g.occurs_max, 3);
  EXPECT_EQ(cb.fields[g.depending_on].name, "N");
  EXPECT_EQ(g.size, 5);
  EXPECT_EQ(g.layout_size, 15);
  EXPECT_TRUE(Named(cb, "M").is_counter);
  EXPECT_EQ(Named(cb, "T").offset, 16);
  EXPECT_TRUE(cb.has_depending_on());
}

TEST(CopybookTest, SyncAlignsBinaryItems) {
  Copybook cb = Parse(
      "       01  R.\n"
      "           05  A PIC X.\n"
      "           05  B PIC S9(9) COMP SYNC.\n"
      "           05  C PIC X(3).\n"
      "           05  D COMP-2 SYNCHRONIZED.\n"
      "           05  E PIC S9(4) COMP SYNC.\n");
  EXPECT_EQ(Named(cb, "B").offset, 4);
  EXPECT_EQ(Named(cb, "C").offset, 8);
  EXPECT_EQ(Named(cb, "D").offset, 16);
  EXPECT_EQ(Named(cb, "E").offset, 24);
}

TEST(CopybookTest, RenamesAndSeventySevenAndFragments) {
  Copybook cb = Parse(
      "       01  R.\n"
      "           05  A PIC X(2).\n"
      "           05  B PIC X(3).\n"
      "           05  C PIC X(4).\n"
      "       66  AB RENAMES A THRU B.\n"
      "       77  COUNTER PIC 9(4) COMP.\n");
  const Field& ab = Named(cb, "AB");
  EXPECT_EQ(ab.offset, 0);
  EXPECT_EQ(ab.size, 5);
  EXPECT_EQ(cb.records.size(), 2u);
  // A copybook that starts below 01 is one record's fields.
  Copybook fragment = Parse("           05  A PIC X(2).\n           05  B PIC 9.\n");
  ASSERT_EQ(fragment.records.size(), 1u);
  EXPECT_EQ(fragment.fields[fragment.records[0]].name, "RECORD");
  EXPECT_EQ(fragment.record_size(), 3);
}

TEST(CopybookTest, FillerNames) {
  Copybook cb = Parse(
      "       01  R.\n"
      "           05  FILLER PIC X.\n"
      "           05  A PIC X.\n"
      "           05  FILLER.\n"
      "               10 FILLER PIC X.\n"
      "           05  PIC X.\n");
  EXPECT_THAT(OutputNames(cb, FillerNaming::kSequenceNumbers),
              ElementsAre("R", "FILLER_P1", "A", "FILLER_1", "FILLER_P2", "FILLER_P3"));
  EXPECT_THAT(OutputNames(cb, FillerNaming::kPreviousFieldName),
              ElementsAre("R", "FILLER_AFTER_R", "A", "FILLER_AFTER_A",
                          "FILLER_AFTER_FILLER_AFTER_A", "FILLER_AFTER_FILLER_AFTER_A"));
}

TEST(CopybookTest, LayoutJsonHasPathsTypesAndLinks) {
  Copybook cb = Parse(
      "       01  R.\n"
      "           05  N PIC 9.\n"
      "           05  A OCCURS 2 DEPENDING ON N PIC S9(3)V9 COMP-3.\n");
  OrderedJson layout = LayoutJson(cb);
  EXPECT_EQ(layout["record_size"], 7);
  const OrderedJson& a = layout["fields"][2];
  EXPECT_EQ(a["path"], "R.A");
  EXPECT_EQ(a["type"], "decimal");
  EXPECT_EQ(a["usage"], "COMP-3");
  EXPECT_EQ(a["precision"], 4);
  EXPECT_EQ(a["scale"], 1);
  EXPECT_EQ(a["occurs"]["depending_on"], "R.N");
  EXPECT_EQ(a["offset"], 1);
}

TEST(CopybookTest, ErrorsNameTheLineColumnAndTheWayOut) {
  EXPECT_THAT(
      ParseError("       01  R.\n"
                 "           05  A PIC 9(3)V9V9.\n"),
      HasSubstr("test.cob:2:22: PIC 9(3)V9V9: more than one V or `.` (in the entry of `A`)"));
  EXPECT_THAT(ParseError("       01  R.\n"
                         "           05  A PIC X(3)\n"
                         "           05  B PIC X.\n"),
              HasSubstr("test.cob:3:12: `05` where a clause or the period ending `A` was "
                        "expected; is the period missing at the end of line 2?"));
  EXPECT_THAT(ParseError("       01  R.\n"
                         "           05  A PIC X(3) OCCURS FIVE TIMES.\n"),
              HasSubstr("test.cob:2:34: expected a number of occurrences after OCCURS"));
  EXPECT_THAT(ParseError("       01  R.\n"
                         "           05  A PIC X(3).\n"
                         "           05  B REDEFINES C PIC X.\n"),
              HasSubstr("test.cob:3:28: `B` REDEFINES `C`, but the item before it at level 05 "
                        "is `A`"));
  EXPECT_THAT(ParseError("       01  R.\n"
                         "           05  A OCCURS 3 DEPENDING ON N PIC X.\n"),
              HasSubstr("test.cob:2:40: `A` OCCURS DEPENDING ON `N`, but no item of that name"));
  EXPECT_THAT(ParseError("       01  R.\n"
                         "           05  G PIC X.\n"
                         "               10 H PIC X.\n"),
              HasSubstr("test.cob:2:22: `G` has items under it, so it is a group"));
  EXPECT_THAT(ParseError("       01  R.\n"
                         "           05  A.\n"),
              HasSubstr("test.cob:2:12: `A` has no PICTURE clause and no items under it"));
  EXPECT_THAT(ParseError("       01  R.\n"
                         "           05  A PIC X VALUE 'open.\n"),
              HasSubstr("test.cob:2:30: literal not closed at the end of the copybook"));
  EXPECT_THAT(ParseError("       01  R.\n"
                         "           05  A PIC X COMP-3.\n"),
              HasSubstr("cannot be COMP-3"));
  EXPECT_THAT(ParseError("       01  R.\n"
                         "           05  A PIC X GARBAGE.\n"),
              HasSubstr("test.cob:2:24: `GARBAGE` is not a clause"));
  EXPECT_EQ(ParseCopybook("       01  R.\n           05  A USAGE INDEX.\n", "t").error().code(),
            StatusCode::kUnimplemented);
  EXPECT_THAT(ParseError("       COPY OTHER.\n"), HasSubstr("COPY statements are not expanded"));
}

}  // namespace
}  // namespace ferry::legacy
