#include "legacy/picture.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::legacy {
namespace {

using ::testing::HasSubstr;

Picture Parse(std::string_view text) {
  Result<Picture> pic = ParsePicture(text);
  EXPECT_TRUE(pic.has_value()) << text << ": " << pic.error().ToString();
  return pic.value_or(Picture{});
}

TEST(PictureTest, Alphanumeric) {
  Picture x = Parse("x(10)");
  EXPECT_EQ(x.text, "X(10)");
  EXPECT_EQ(x.category, PictureCategory::kAlphanumeric);
  EXPECT_EQ(x.size, 10);
  EXPECT_EQ(Parse("A(3)").category, PictureCategory::kAlphabetic);
  EXPECT_EQ(Parse("AAX").category, PictureCategory::kAlphanumeric);
  Picture edited = Parse("XXBXX/X0");
  EXPECT_EQ(edited.category, PictureCategory::kAlphanumericEdited);
  EXPECT_EQ(edited.size, 8);
}

TEST(PictureTest, NumericDigitsScaleAndSign) {
  Picture p = Parse("S9(7)V99");
  EXPECT_EQ(p.category, PictureCategory::kNumeric);
  EXPECT_TRUE(p.is_signed);
  EXPECT_EQ(p.digits, 9);
  EXPECT_EQ(p.scale, 2);
  EXPECT_EQ(p.size, 9);
  Picture point = Parse("S9(3).99");
  EXPECT_TRUE(point.explicit_point);
  EXPECT_EQ(point.size, 6);
  EXPECT_EQ(point.scale, 2);
  Picture v = Parse("SV9(5)");
  EXPECT_EQ(v.digits, 5);
  EXPECT_EQ(v.scale, 5);
}

TEST(PictureTest, PScaling) {
  Picture leading = Parse("PPP9(5)");
  EXPECT_EQ(leading.digits, 5);
  EXPECT_EQ(leading.scale, 8);
  EXPECT_EQ(leading.precision(), 8);
  EXPECT_EQ(leading.size, 5);
  Picture trailing = Parse("S9(5)PPP");
  EXPECT_EQ(trailing.scale, -3);
  EXPECT_EQ(trailing.precision(), 8);
  EXPECT_EQ(Parse("SPP99999").scale, 7);
  EXPECT_EQ(Parse("VPP99").scale, 4);
}

TEST(PictureTest, NumericEdited) {
  Picture z = Parse("Z(6)VZZ-");
  EXPECT_EQ(z.category, PictureCategory::kNumericEdited);
  EXPECT_EQ(z.size, 9);
  EXPECT_EQ(z.digits, 8);
  EXPECT_EQ(z.scale, 2);
  EXPECT_TRUE(z.is_signed);
  Picture money = Parse("$$$,$$9.99CR");
  EXPECT_EQ(money.size, 12);
  EXPECT_EQ(money.digits, 7);  // two floating $ after the first, two more, the 9, two decimals
  EXPECT_EQ(money.scale, 2);
  EXPECT_EQ(money.edit[0].role, EditRole::kInsert);
  EXPECT_EQ(money.edit[1].role, EditRole::kDigit);
  EXPECT_EQ(money.edit[3].role, EditRole::kInsert);
  EXPECT_EQ(money.edit[10].role, EditRole::kCredit);
  Picture plus = Parse("+9(8)");
  EXPECT_EQ(plus.edit[0].role, EditRole::kSign);
  EXPECT_EQ(plus.digits, 8);
  Picture floating = Parse("++++9.99");
  EXPECT_EQ(floating.edit[0].role, EditRole::kSign);
  EXPECT_EQ(floating.edit[1].role, EditRole::kDigit);
  EXPECT_EQ(floating.digits, 6);
}

TEST(PictureTest, Errors) {
  EXPECT_THAT(ParsePicture("9(3)V9V9").error().message(), HasSubstr("more than one V"));
  EXPECT_THAT(ParsePicture("9S9").error().message(), HasSubstr("S must be the first"));
  EXPECT_THAT(ParsePicture("X(0)").error().message(), HasSubstr("out of range"));
  EXPECT_THAT(ParsePicture("X(3").error().message(), HasSubstr("without `)`"));
  EXPECT_THAT(ParsePicture("9Q").error().message(), HasSubstr("`Q` is not a picture symbol"));
  EXPECT_THAT(ParsePicture("ZZ9X").error().message(), HasSubstr("cannot be mixed"));
  EXPECT_EQ(ParsePicture("N(10)").error().code(), StatusCode::kUnimplemented);
  EXPECT_THAT(ParsePicture("99P9").error().message(), HasSubstr("one end"));
}

}  // namespace
}  // namespace ferry::legacy
