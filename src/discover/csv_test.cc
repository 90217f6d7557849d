#include "discover/csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CsvTest, ReadsPlainRecords) {
  Result<std::vector<CsvRecord>> records = ParseCsv("a,b,c\n1,2,3\n", "t.csv");
  ASSERT_TRUE(records.has_value());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_THAT((*records)[0].fields, ElementsAre("a", "b", "c"));
  EXPECT_THAT((*records)[1].fields, ElementsAre("1", "2", "3"));
  EXPECT_EQ((*records)[1].line, 2);
}

TEST(CsvTest, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
  Result<std::vector<CsvRecord>> records = ParseCsv(
      "name,ips,note\r\n\"web01\",\"10.0.0.1, 10.0.0.2\",\"says \"\"hi\"\"\r\nand bye\"\r\n"
      "db01,10.0.0.3,\"\"\r\n",
      "t.csv");
  ASSERT_TRUE(records.has_value()) << records.error().ToString();
  ASSERT_EQ(records->size(), 3u);
  EXPECT_THAT((*records)[1].fields,
              ElementsAre("web01", "10.0.0.1, 10.0.0.2", "says \"hi\"\r\nand bye"));
  EXPECT_EQ((*records)[1].line, 2);
  EXPECT_THAT((*records)[2].fields, ElementsAre("db01", "10.0.0.3", ""));
  EXPECT_EQ((*records)[2].line, 4);  // the quoted line break moved it down one line
}

TEST(CsvTest, EmptyFieldsBomAndBlankLines) {
  Result<std::vector<CsvRecord>> records = ParseCsv(
      "\xEF\xBB\xBF"
      "a,b,c\n\n,,\nx,,\n1,2",
      "t.csv");
  ASSERT_TRUE(records.has_value());
  ASSERT_EQ(records->size(), 4u);
  EXPECT_THAT((*records)[0].fields, ElementsAre("a", "b", "c"));  // the BOM is not in `a`
  EXPECT_THAT((*records)[1].fields, ElementsAre("", "", ""));
  EXPECT_EQ((*records)[1].line, 3);
  EXPECT_THAT((*records)[2].fields, ElementsAre("x", "", ""));
  EXPECT_THAT((*records)[3].fields, ElementsAre("1", "2"));  // no newline at the end
}

TEST(CsvTest, AQuoteInsideAnUnquotedFieldIsKept) {
  Result<std::vector<CsvRecord>> records = ParseCsv("size\n3.5\" disk\n", "t.csv");
  ASSERT_TRUE(records.has_value());
  EXPECT_THAT((*records)[1].fields, ElementsAre("3.5\" disk"));
}

TEST(CsvTest, AnUnclosedQuoteNamesWhereItOpened) {
  Result<std::vector<CsvRecord>> records = ParseCsv("a,b\n1,\"open\n2,3\n", "servers.csv");
  ASSERT_FALSE(records.has_value());
  EXPECT_THAT(records.error().message(), HasSubstr("servers.csv:2:3: the quoted field opened "
                                                   "here is never closed"));
}

TEST(CsvTest, TextAfterAClosingQuoteIsAnError) {
  Result<std::vector<CsvRecord>> records = ParseCsv("a,b\n\"x\"y,2\n", "servers.csv");
  ASSERT_FALSE(records.has_value());
  EXPECT_THAT(records.error().message(), HasSubstr("servers.csv:2:4: `y` after the closing quote"));
}

}  // namespace
}  // namespace ferry
