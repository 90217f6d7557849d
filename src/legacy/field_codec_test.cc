#include "legacy/field_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "legacy/number_text.h"

namespace ferry::legacy {
namespace {

using ::testing::HasSubstr;

// A one-field copybook's field.
Field FieldOf(std::string_view declaration) {
  Result<Copybook> cb = ParseCopybook(
      std::string("       01  R.\n           05  F ") + std::string(declaration) + ".\n", "t.cob");
  EXPECT_TRUE(cb.has_value()) << cb.error().ToString();
  return cb.has_value() ? cb->fields[1] : Field{};
}

struct Decoded {
  FieldCodec::Outcome outcome;
  std::string text;
  std::string error;
};

Decoded Decode(std::string_view declaration, std::vector<uint8_t> bytes,
               FieldCodecOptions options = {}) {
  FieldCodec codec(options);
  Field f = FieldOf(declaration);
  EXPECT_EQ(static_cast<size_t>(f.size), bytes.size()) << declaration;
  Value value;
  FieldCodec::Outcome outcome = codec.Decode(f, bytes, &value);
  return {outcome, outcome == FieldCodec::Outcome::kValue ? ValueText(value) : "",
          codec.last_error()};
}

std::string Text(std::string_view declaration, std::vector<uint8_t> bytes,
                 FieldCodecOptions options = {}) {
  Decoded d = Decode(declaration, std::move(bytes), options);
  EXPECT_EQ(d.outcome, FieldCodec::Outcome::kValue) << declaration << ": " << d.error;
  return d.text;
}

std::vector<uint8_t> Encode(std::string_view declaration, std::string_view number,
                            FieldCodecOptions options = {}) {
  FieldCodec codec(options);
  Field f = FieldOf(declaration);
  std::vector<uint8_t> out(static_cast<size_t>(f.size));
  Result<DecimalNumber> n = ParseDecimal(number);
  EXPECT_TRUE(n.has_value());
  Status status = codec.EncodeNumber(f, *n, out.data());
  EXPECT_TRUE(status.ok()) << declaration << " " << number << ": " << status.ToString();
  return out;
}

TEST(NumberTextTest, ExactDecimals) {
  auto format = [](bool negative, std::string_view digits, int32_t scale) {
    std::string out;
    AppendDecimal(negative, digits, scale, &out);
    return out;
  };
  EXPECT_EQ(format(false, "3050", 2), "30.50");
  EXPECT_EQ(format(false, "0", 2), "0.00");
  EXPECT_EQ(format(true, "0", 2), "0.00");
  EXPECT_EQ(format(true, "30503", 7), "-0.0030503");
  EXPECT_EQ(format(false, "30503", -3), "30503000");
  EXPECT_EQ(format(false, "0", -3), "0");
  EXPECT_EQ(format(true, "3050393257676267687078781717600592714", 0),
            "-3050393257676267687078781717600592714");
  char buffer[48];
  EXPECT_EQ(FormatUnsigned(~Uint128(0), buffer, sizeof(buffer)),
            "340282366920938463463374607431768211455");
}

TEST(NumberTextTest, JavaFloatingPoint) {
  auto f = [](float v) {
    std::string out;
    AppendJavaFloat(v, &out);
    return out;
  };
  auto d = [](double v) {
    std::string out;
    AppendJavaDouble(v, &out);
    return out;
  };
  EXPECT_EQ(f(-30503.93f), "-30503.93");
  EXPECT_EQ(f(70057.6f), "70057.6");
  EXPECT_EQ(d(-3050393257.6762), "-3.0503932576762E9");
  EXPECT_EQ(d(1e7), "1.0E7");
  EXPECT_EQ(d(9999999.0), "9999999.0");
  EXPECT_EQ(d(0.001), "0.001");
  EXPECT_EQ(d(1e-4), "1.0E-4");
  EXPECT_EQ(d(100.0), "100.0");
  EXPECT_EQ(d(0.0), "0.0");
  EXPECT_EQ(d(-0.5), "-0.5");
}

TEST(FieldCodecTest, ZonedDecimalWithOverpunchedAndSeparateSigns) {
  EXPECT_EQ(Text("PIC 999", {0xF1, 0xF2, 0xF3}), "123");
  EXPECT_EQ(Text("PIC S999", {0xF1, 0xF2, 0xC3}), "123");
  EXPECT_EQ(Text("PIC S999", {0xF1, 0xF2, 0xD3}), "-123");
  EXPECT_EQ(Text("PIC S999 SIGN LEADING", {0xD1, 0xF2, 0xF3}), "-123");
  EXPECT_EQ(Text("PIC S999 SIGN LEADING SEPARATE", {0x60, 0xF1, 0xF2, 0xF3}), "-123");
  EXPECT_EQ(Text("PIC S999 SIGN TRAILING SEPARATE", {0xF1, 0xF2, 0xF3, 0x4E}), "123");
  EXPECT_EQ(Text("PIC S9V99", {0xF1, 0xF2, 0xD3}), "-1.23");
  EXPECT_EQ(Text("PIC 9(3).99", {0xF1, 0xF2, 0xF3, 0x4B, 0xF4, 0xF5}), "123.45");
  EXPECT_EQ(Text("PIC SPP99", {0xF1, 0xC2}), "0.0012");
  EXPECT_EQ(Text("PIC 99PPP", {0xF1, 0xF2}), "12000");
  // ASCII: digits, the IBM overpunch letters and GnuCOBOL's p-y for negative digits.
  FieldCodecOptions ascii{.encoding = Encoding::kAscii};
  EXPECT_EQ(Text("PIC S999", {'1', '2', 'L'}, ascii), "-123");
  EXPECT_EQ(Text("PIC S999", {'1', '2', 's'}, ascii), "-123");
  EXPECT_EQ(Text("PIC S999", {'1', '2', 'C'}, ascii), "123");
}

TEST(FieldCodecTest, InvalidZonedDigitsAreRejectedOrNull) {
  Decoded letter = Decode("PIC 9(3)", {0xF1, 0xC1, 0xF3});
  EXPECT_EQ(letter.outcome, FieldCodec::Outcome::kInvalid);
  EXPECT_THAT(letter.error, HasSubstr("byte 0xC1 at offset 1 is a signed digit in an unsigned"));
  Decoded garbage = Decode("PIC S9(3)", {0xF1, 0x7B, 0xF3});
  EXPECT_THAT(garbage.error, HasSubstr("byte 0x7B at offset 1 is not a digit"));
  Decoded negative = Decode("PIC 9(3) SIGN TRAILING SEPARATE", {0xF1, 0xF2, 0xF3, 0x60});
  EXPECT_EQ(negative.outcome, FieldCodec::Outcome::kValue);  // a SIGN clause makes it signed
  EXPECT_EQ(Decode("PIC 9(3)", {0xF1, 0xC1, 0xF3}, {.invalid = InvalidValues::kNull}).outcome,
            FieldCodec::Outcome::kNull);
  // Blanks: null, or zero where the picture blanks zero.
  EXPECT_EQ(Decode("PIC 9(3)", {0x40, 0x40, 0x40}).outcome, FieldCodec::Outcome::kNull);
  EXPECT_EQ(Text("PIC 9(3) BLANK WHEN ZERO", {0x40, 0x40, 0x40}), "0");
  EXPECT_EQ(Decode("PIC 9(3)", {0, 0, 0}).outcome, FieldCodec::Outcome::kNull);
}

TEST(FieldCodecTest, PackedDecimal) {
  EXPECT_EQ(Text("PIC S9(5) COMP-3", {0x12, 0x34, 0x5C}), "12345");
  EXPECT_EQ(Text("PIC S9(5) COMP-3", {0x12, 0x34, 0x5D}), "-12345");
  EXPECT_EQ(Text("PIC 9(3)V99 COMP-3", {0x12, 0x34, 0x5F}), "123.45");
  EXPECT_EQ(Text("PIC S9(4) COMP-3", {0x01, 0x23, 0x4B}), "-1234");  // B is minus too
  Decoded nibble = Decode("PIC S9(5) COMP-3", {0x1A, 0x34, 0x5C});
  EXPECT_EQ(nibble.outcome, FieldCodec::Outcome::kInvalid);
  EXPECT_THAT(nibble.error, HasSubstr("invalid packed digit nibble 0xA in byte 0 (0x1A)"));
  Decoded sign = Decode("PIC S9(5) COMP-3", {0x12, 0x34, 0x53});
  EXPECT_THAT(sign.error, HasSubstr("invalid packed sign nibble 0x3 in byte 2"));
  Decoded spare = Decode("PIC S9(4) COMP-3", {0x91, 0x23, 0x4C});
  EXPECT_THAT(spare.error, HasSubstr("91234 has more digits than PIC S9(4) holds"));
  EXPECT_EQ(Encode("PIC S9(5) COMP-3", "-12345"), (std::vector<uint8_t>{0x12, 0x34, 0x5D}));
  EXPECT_EQ(Encode("PIC 9(4) COMP-3", "12"), (std::vector<uint8_t>{0x00, 0x01, 0x2F}));
}

TEST(FieldCodecTest, Binary) {
  EXPECT_EQ(Text("PIC S9(4) COMP", {0xFF, 0xFE}), "-2");
  EXPECT_EQ(Text("PIC 9(4) COMP", {0xFF, 0xFE}), "65534");
  EXPECT_EQ(Text("PIC S9(9)V99 BINARY", {0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x82, 0x4B}),
            "988.91");
  EXPECT_EQ(Text("PIC S9(4) COMP-5", {0xFE, 0xFF}, {.comp5_little_endian = true}), "-2");
  // COMP values beyond the picture's digits are what the program stored (TRUNC(BIN)).
  EXPECT_EQ(Text("PIC 9(2) COMP", {0x27, 0x10}), "10000");
  // Cobrix nulls what overflows its Spark type (an unsigned 9(8) COMP is an int32).
  EXPECT_EQ(
      Decode("PIC 9(8) COMP", {0xF9, 0xF2, 0xF7, 0xF1}, {.invalid = InvalidValues::kNull}).outcome,
      FieldCodec::Outcome::kNull);
  EXPECT_EQ(
      Text("PIC S9(37) COMP", Encode("PIC S9(37) COMP", "-3050393257676267687078781717600592714")),
      "-3050393257676267687078781717600592714");
  EXPECT_EQ(Encode("PIC S9(4) COMP", "-2"), (std::vector<uint8_t>{0xFF, 0xFE}));
  FieldCodec codec({});
  Field f = FieldOf("PIC S9(4) COMP");
  uint8_t out[2];
  EXPECT_THAT(
      codec.EncodeNumber(f, {.negative = false, .digits = "12345", .scale = 0}, out).message(),
      HasSubstr("12345 has more digits than PIC S9(4) holds"));
}

TEST(FieldCodecTest, FloatingPoint) {
  // IBM hexadecimal: -118.625 is C2 76 A0 00 (the textbook example), 1.0 is 41 10 00 ...
  EXPECT_EQ(Text("COMP-1", {0xC2, 0x76, 0xA0, 0x00}), "-118.625");
  EXPECT_EQ(Text("COMP-2", {0x41, 0x10, 0, 0, 0, 0, 0, 0}), "1.0");
  EXPECT_EQ(Text("COMP-1", {0x3F, 0x80, 0x00, 0x00}, {.floating_point = FloatFormat::kIeee}),
            "1.0");
  EXPECT_EQ(Text("COMP-2", {0, 0, 0, 0, 0, 0, 0xF0, 0x3F},
                 {.floating_point = FloatFormat::kIeeeLittleEndian}),
            "1.0");
  FieldCodec codec({});
  uint8_t out[4];
  ASSERT_TRUE(codec.EncodeReal(FieldOf("COMP-1"), -118.625, out).ok());
  EXPECT_EQ(std::vector<uint8_t>(out, out + 4), (std::vector<uint8_t>{0xC2, 0x76, 0xA0, 0x00}));
  Decoded nan = Decode("COMP-1", {0x7F, 0xC0, 0, 0}, {.floating_point = FloatFormat::kIeee});
  EXPECT_EQ(nan.outcome, FieldCodec::Outcome::kInvalid);
}

TEST(FieldCodecTest, NumericEdited) {
  const CodePage* common = CodePage::Get("common").value();
  auto bytes = [&](std::string_view text) {
    std::vector<uint8_t> out;
    for (char c : text) {
      uint8_t b = 0;
      EXPECT_TRUE(common->Encode(static_cast<unsigned char>(c), &b)) << c;
      out.push_back(b);
    }
    return out;
  };
  EXPECT_EQ(Text("PIC $$,$$9.99CR", bytes("$1,234.56CR")), "-1234.56");
  EXPECT_EQ(Text("PIC $$,$$9.99CR", bytes("    $5.00  ")), "5.00");
  EXPECT_EQ(Text("PIC Z(6)VZZ-", bytes("30503932-")), "-305039.32");
  EXPECT_EQ(Text("PIC +9(8)", bytes("-30503932")), "-30503932");
  EXPECT_EQ(Text("PIC ++++9", bytes("  -12")), "-12");
  EXPECT_EQ(Text("PIC 99/99/99", bytes("12/31/99")), "123199");
  EXPECT_EQ(Text("PIC ***,**9.99", bytes("******1.50")), "1.50");
  EXPECT_EQ(Encode("PIC $$,$$9.99CR", "-1234.56"), bytes("$1,234.56CR"));
  EXPECT_EQ(Encode("PIC $$,$$9.99CR", "5"), bytes("    $5.00  "));
  EXPECT_EQ(Encode("PIC ZZZ,ZZ9.99-", "-1234.5"), bytes("  1,234.50-"));
  EXPECT_EQ(Encode("PIC ++++9", "-12"), bytes("  -12"));
  EXPECT_EQ(Encode("PIC ***,**9.99", "1.5"), bytes("******1.50"));
  // Blanks: zero where the picture suppresses every digit, null where a 9 must be printed.
  EXPECT_EQ(Text("PIC ZZZ.ZZ", bytes("      ")), "0.00");
  EXPECT_EQ(Decode("PIC ZZ9.99", bytes("      ")).outcome, FieldCodec::Outcome::kNull);
  EXPECT_EQ(Encode("PIC ZZZ.ZZ", "0"), bytes("      "));
  Decoded bad = Decode("PIC ZZ9.99", bytes("1A3.45"));
  EXPECT_THAT(bad.error, HasSubstr("byte 0xC1 at offset 1 does not fit `Z` of PIC ZZ9.99"));
}

TEST(FieldCodecTest, TextInCodePages) {
  FieldCodecOptions cp037{.code_page = CodePage::Get("cp037").value()};
  EXPECT_EQ(Text("PIC X(5)", {0xC8, 0x85, 0x93, 0x93, 0x40}, cp037), "Hell");
  FieldCodecOptions none = cp037;
  none.trimming = Trimming::kNone;
  EXPECT_EQ(Text("PIC X(5)", {0x40, 0xC8, 0x85, 0x93, 0x40}, none), " Hel ");
  FieldCodecOptions cp273{.code_page = CodePage::Get("cp273").value()};
  EXPECT_EQ(Text("PIC X(3)", {0x4A, 0xE0, 0x5A}, cp273), "ÄÖÜ");
  FieldCodecOptions cp1148{.code_page = CodePage::Get("cp1148").value()};
  EXPECT_EQ(Text("PIC X", {0x9F}, cp1148), "€");
  // An unassigned byte of CCSID 875 (Greek).
  FieldCodecOptions greek{.code_page = CodePage::Get("ibm-875").value()};
  Decoded unassigned = Decode("PIC X(2)", {0xC1, 0x6A}, greek);
  EXPECT_EQ(unassigned.outcome, FieldCodec::Outcome::kInvalid);
  EXPECT_THAT(unassigned.error, HasSubstr("byte 0x6A at offset 1 has no character in code page "
                                          "ibm-875"));
  FieldCodec codec(cp037);
  uint8_t out[4];
  EXPECT_TRUE(codec.EncodeText(FieldOf("PIC X(4)"), "Hé", out).ok());
  EXPECT_EQ(std::vector<uint8_t>(out, out + 4), (std::vector<uint8_t>{0xC8, 0x51, 0x40, 0x40}));
  EXPECT_THAT(codec.EncodeText(FieldOf("PIC X(4)"), "€", out).message(),
              HasSubstr("U+20AC `€` has no byte in code page cp037"));
  EXPECT_THAT(codec.EncodeText(FieldOf("PIC X(2)"), "abc", out).message(),
              HasSubstr("3 characters do not fit PIC X(2)"));
  EXPECT_TRUE(codec.EncodeText(FieldOf("PIC X(2)"), "ab  ", out).ok());
  EXPECT_TRUE(codec.EncodeText(FieldOf("PIC X(4) JUSTIFIED RIGHT"), "ab", out).ok());
  EXPECT_EQ(std::vector<uint8_t>(out, out + 4), (std::vector<uint8_t>{0x40, 0x40, 0x81, 0x82}));
}

TEST(FieldCodecTest, CodePagesComeFromIconv) {
  for (const std::string& name : CodePage::Names()) {
    Result<const CodePage*> page = CodePage::Get(name);
    ASSERT_TRUE(page.has_value()) << name << ": " << page.error().ToString();
    if ((*page)->is_ebcdic()) {
      EXPECT_EQ((*page)->CodePoint(0xC1), U'A') << name;
      EXPECT_EQ((*page)->CodePoint(0xF0), U'0') << name;
      EXPECT_EQ((*page)->CodePoint(0x40), U' ') << name;
    }
  }
  EXPECT_EQ(CodePage::Get("IBM037").value()->name(), "ibm-037");
  EXPECT_EQ(CodePage::Get("cp37").value()->name(), "cp037");
  EXPECT_EQ(CodePage::Get("1047").value()->name(), "cp1047");
  EXPECT_EQ(CodePage::Get("ibm-1047").value()->iconv_name(), "IBM1047");
  EXPECT_EQ(CodePage::Get("ibm-037").value()->CodePoint(0x25), U'\n');         // IBM's LF
  EXPECT_EQ(CodePage::Get("cp037_extended").value()->CodePoint(0x25), U'\r');  // Cobrix's
  EXPECT_THAT(CodePage::Get("cp999").error().message(), HasSubstr("use one of common"));
}

TEST(FieldCodecTest, ParseDecimal) {
  DecimalNumber n = ParseDecimal("-123.450").value();
  EXPECT_TRUE(n.negative);
  EXPECT_EQ(n.digits, "123450");
  EXPECT_EQ(n.scale, 3);
  EXPECT_EQ(ParseDecimal("1.5E3").value().scale, -2);
  EXPECT_FALSE(ParseDecimal("12a").has_value());
  EXPECT_FALSE(ParseDecimal("").has_value());
  EXPECT_FALSE(ParseDecimal(".").has_value());
}

}  // namespace
}  // namespace ferry::legacy
