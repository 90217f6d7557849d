#include "iac/hcl.h"

#include <gtest/gtest.h>

namespace ferry::iac {
namespace {

TEST(HclTest, StringsEscapeQuotesControlsAndTemplateSequences) {
  EXPECT_EQ(HclString("plain"), "\"plain\"");
  EXPECT_EQ(HclString("a \"b\" \\ c"), "\"a \\\"b\\\" \\\\ c\"");
  EXPECT_EQ(HclString("line\nnext\ttab"), "\"line\\nnext\\ttab\"");
  EXPECT_EQ(HclString(std::string_view("\x01", 1)), "\"\\u0001\"");
  // ${ and %{ would start an interpolation or a directive: doubled, they stay text.
  EXPECT_EQ(HclString("cost ${x} and %{if}"), "\"cost $${x} and %%{if}\"");
  // A lone $ or % is text as it is.
  EXPECT_EQ(HclString("$5 is 100%"), "\"$5 is 100%\"");
  EXPECT_EQ(HclString("naïve"), "\"naïve\"");
}

TEST(HclTest, IdentifiersNumbersListsObjects) {
  EXPECT_TRUE(IsHclIdentifier("instance_type"));
  EXPECT_TRUE(IsHclIdentifier("ferry-wave"));
  EXPECT_FALSE(IsHclIdentifier("1st"));
  EXPECT_FALSE(IsHclIdentifier("prd-web-01.example.com"));
  EXPECT_FALSE(IsHclIdentifier(""));
  EXPECT_EQ(HclNumber(8), "8");
  EXPECT_EQ(HclNumber(0.5), "0.5");
  EXPECT_EQ(HclNumber(-3), "-3");
  EXPECT_EQ(HclList({"1", "\"a\""}), "[1, \"a\"]");
  EXPECT_EQ(HclList({}), "[]");
  EXPECT_EQ(HclObject({{"tier", "\"web\""}, {"a.b", "1"}}), "{ tier = \"web\", \"a.b\" = 1 }");
  EXPECT_EQ(HclObject({}), "{}");
}

TEST(HclTest, WriterAlignsAttributesAndNestsBlocks) {
  HclWriter w;
  w.Comment("first\nsecond");
  w.Open("resource \"aws_vpc\" \"main\"");
  w.Attr("cidr_block", "var.network_cidr");
  w.Attr("enable_dns_support", "true");
  w.Open("tags_block");
  w.Attr("a", "1");
  w.Close();
  w.Attr("x", "2");
  w.Close();
  w.Open("locals");
  w.OpenMap("servers");
  w.MapEntry("prd-web-01", "{ wave = 1 }");
  w.MapEntry("db", "{ wave = 2 }");
  w.CloseMap();
  w.Close();
  EXPECT_EQ(w.Take(),
            "# first\n"
            "# second\n"
            "resource \"aws_vpc\" \"main\" {\n"
            "  cidr_block         = var.network_cidr\n"
            "  enable_dns_support = true\n"
            "  tags_block {\n"
            "    a = 1\n"
            "  }\n"
            "  x = 2\n"
            "}\n"
            "\n"
            "locals {\n"
            "  servers = {\n"
            "    \"prd-web-01\" = { wave = 1 }\n"
            "    \"db\"         = { wave = 2 }\n"
            "  }\n"
            "}\n");
}

}  // namespace
}  // namespace ferry::iac
