// ParseMt and ValidateMt on hand-written MT103s (swift_test_messages.h): the blocks and their
// parts, fields with tags, options, lines and positions, the X character set, and every kind of
// error with the block, field, line and column it names.
#include "legacy/swift_mt.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "legacy/swift_test_messages.h"

namespace ferry::legacy {
namespace {

using testing::Crlf;
using ::testing::HasSubstr;

// The message with `from` replaced by `to` (once; the test fails when `from` is not there).
std::string Edit(std::string_view message, std::string_view from, std::string_view to) {
  std::string out(message);
  const size_t at = out.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) out.replace(at, from.size(), to);
  return out;
}

std::string ParseError(std::string_view text) {
  Result<MtMessage> m = ParseMt(text);
  if (m.has_value()) return "(parsed)";
  return m.error().message();
}

std::string ValidateError(std::string_view text) {
  Result<MtMessage> m = ParseMt(text);
  if (!m.has_value()) return "(parse error) " + m.error().message();
  Status s = ValidateMt(*m);
  return s.ok() ? "(valid)" : s.message();
}

TEST(SwiftMtTest, ParsesTheBlocksOfAnOutputMessage) {
  const std::string text = Crlf(testing::kMt103Full);
  Result<MtMessage> m = ParseMt(text);
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  EXPECT_EQ(m->application_id, 'F');
  EXPECT_EQ(m->service_id, "01");
  EXPECT_EQ(m->logical_terminal, "BANKDEFFXXXX");
  EXPECT_EQ(m->session, "0000");
  EXPECT_EQ(m->sequence, "000000");
  EXPECT_EQ(m->direction, 'O');
  EXPECT_EQ(m->message_type, "103");
  EXPECT_EQ(m->input_time, "1230");
  EXPECT_EQ(m->mir_date, "260115");
  EXPECT_EQ(m->mir_terminal, "FAKEGB2LAXXX");
  EXPECT_EQ(m->output_date, "260115");
  EXPECT_EQ(m->output_time, "1230");
  EXPECT_EQ(m->priority, 'N');
  ASSERT_EQ(m->block3.size(), 3u);
  EXPECT_EQ(m->UserHeader("108"), "MUR12345");
  EXPECT_EQ(m->UserHeader("121"), "e2b8a9c4-1111-4a2b-9c3d-0123456789ab");
  EXPECT_EQ(m->UserHeader("119"), "");
  ASSERT_EQ(m->block5.size(), 1u);
  EXPECT_EQ(m->block5[0].tag, "CHK");
  EXPECT_EQ(m->block5[0].value, "123456789ABC");
  EXPECT_EQ(m->Kind(), "103");
  EXPECT_TRUE(ValidateMt(*m).ok()) << ValidateMt(*m).ToString();
}

TEST(SwiftMtTest, FieldsKeepTagOptionLinesAndPosition) {
  const std::string text = Crlf(testing::kMt103Full);
  Result<MtMessage> m = ParseMt(text);
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->fields.size(), 21u);
  const MtField& f20 = m->fields[0];
  EXPECT_EQ(f20.tag, "20");
  EXPECT_EQ(f20.number(), "20");
  EXPECT_EQ(f20.option(), '\0');
  EXPECT_EQ(f20.value, "REF-2026-0001");
  EXPECT_EQ(f20.line, 2u);
  EXPECT_EQ(f20.column, 5u);
  const MtField& f50 = m->fields[9];
  EXPECT_EQ(f50.tag, "50F");
  EXPECT_EQ(f50.option(), 'F');
  EXPECT_EQ(f50.line, 11u);
  EXPECT_EQ(f50.column, 6u);
  EXPECT_EQ(f50.value,
            "/DE44500105175407324931\r\n1/ADA LOVELACE\r\n2/12 ANALYTICAL ROW\r\n3/GB/LONDON");
  EXPECT_THAT(FieldLines(f50.value),
              ::testing::ElementsAre("/DE44500105175407324931", "1/ADA LOVELACE",
                                     "2/12 ANALYTICAL ROW", "3/GB/LONDON"));
  // The 72 continuation line stays part of field 72.
  const MtField& f72 = m->fields[19];
  EXPECT_EQ(f72.tag, "72");
  EXPECT_EQ(FieldLines(f72.value).size(), 5u);
  EXPECT_EQ(FieldLines(f72.value)[3], "//OF DOCUMENTS");
  EXPECT_EQ(m->fields.back().tag, "77B");
}

TEST(SwiftMtTest, LfLineEndsParseTheSameAsCrlf) {
  const std::string crlf_text = Crlf(testing::kMt103Input);  // the fields are views into it
  Result<MtMessage> crlf = ParseMt(crlf_text);
  Result<MtMessage> lf = ParseMt(testing::kMt103Input);
  ASSERT_TRUE(crlf.has_value());
  ASSERT_TRUE(lf.has_value()) << lf.error().ToString();
  ASSERT_EQ(crlf->fields.size(), lf->fields.size());
  for (size_t i = 0; i < lf->fields.size(); ++i) {
    EXPECT_EQ(crlf->fields[i].tag, lf->fields[i].tag);
    EXPECT_EQ(FieldLines(crlf->fields[i].value), FieldLines(lf->fields[i].value));
    EXPECT_EQ(crlf->fields[i].line, lf->fields[i].line);
  }
  EXPECT_EQ(lf->direction, 'I');
  EXPECT_EQ(lf->receiver, "BANKJPJTXXXX");
  EXPECT_EQ(lf->priority, 'N');
  EXPECT_TRUE(ValidateMt(*lf).ok()) << ValidateMt(*lf).ToString();
}

TEST(SwiftMtTest, AllHandWrittenMessagesAreValid) {
  for (std::string_view text :
       {testing::kMt103Full, testing::kMt103Input, testing::kMt103Third, testing::kMt103Return}) {
    EXPECT_EQ(ValidateError(Crlf(text)), "(valid)") << text.substr(0, 60);
  }
}

TEST(SwiftMtTest, ToleratesTrailingBracesAndBlanks) {
  const std::string text = Crlf(std::string(testing::kMt103Input) + "}\r\n  \n");
  Result<MtMessage> m = ParseMt(text);
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  EXPECT_EQ(m->fields.size(), 13u);
}

TEST(SwiftMtTest, XCharacterSet) {
  for (char c : std::string_view("azAZ09/-?:().,'+ ")) EXPECT_TRUE(IsSwiftXChar(c)) << c;
  for (char c : std::string_view("@_!\"#$%&*;<=>[]\\^`{|}~\t")) EXPECT_FALSE(IsSwiftXChar(c)) << c;
  EXPECT_FALSE(IsSwiftXChar('\xC3'));
}

TEST(SwiftMtTest, InvalidCharacterNamesFieldLineAndColumn) {
  const std::string text = Crlf(Edit(testing::kMt103Input, ":70:GOODS", ":70:GOODS_FOR_YOU"));
  EXPECT_EQ(ParseError(text),
            "block 4, field :70: (line 16, column 10): '_' (0x5F) is not in the SWIFT X "
            "character set (a-z A-Z 0-9 / - ? : ( ) . , ' + space); replace or remove it");
  // A UTF-8 euro sign in a name line.
  const std::string euro = Crlf(Edit(testing::kMt103Input, "ACME WIDGETS", "ACME \xE2\x82\xAC"));
  EXPECT_THAT(ParseError(euro), HasSubstr("field :50K: (line 6, column 6): byte 0xE2"));
}

TEST(SwiftMtTest, BlockStructureErrors) {
  EXPECT_EQ(ParseError("{1:F01BANKDEFFXXXX0000000000}{4:\r\n:20:X\r\n-}"),
            "block 2 (application header) is missing");
  EXPECT_EQ(ParseError("{1:F01BANKDEFFXXXX0000000000}{2:I103BANKJPJTXXXXN}"),
            "block 4 (text) is missing: the message has no '{4:' block");
  EXPECT_THAT(ParseError("{2:I103BANKJPJTXXXXN}{1:F01BANKDEFFXXXX0000000000}{4:\r\n-}"),
              HasSubstr("block 1 is repeated or out of order"));
  EXPECT_THAT(ParseError("{1:F01BANK}{2:I103BANKJPJTXXXXN}{4:\r\n-}"),
              HasSubstr("block 1 (line 1, column 1): 'F01BANK' is 7 characters"));
  EXPECT_THAT(ParseError("{1:F01BANKDEFFXXXX0000000000}{2:X103BANKJPJTXXXXN}{4:\r\n-}"),
              HasSubstr("block 2 (line 1, column 30): 'X103BANKJPJTXXXXN' does not start with I"));
  EXPECT_THAT(ParseError("{1:F01BANKDEFFXXXX0000000000}{2:O1031230}{4:\r\n-}"),
              HasSubstr("output header 'O1031230' is 8 characters; it needs 46"));
  EXPECT_THAT(ParseError("{1:F01BANKDEFFXXXX0000000000}{7:X}"),
              HasSubstr("block '7' is not one of 1-5 or S"));
  EXPECT_THAT(ParseError("{1:F01BANKDEFFXXXX0000000000}{2:I103BANKJPJTXXXXN}{3:{121:abc}"),
              HasSubstr("block 3"));
}

TEST(SwiftMtTest, TextBlockErrors) {
  const std::string text = Crlf(testing::kMt103Input);
  // Cut before the closing "-}".
  EXPECT_THAT(ParseError(text.substr(0, text.size() - 2)),
              HasSubstr("the message ends inside field :71F: (truncated?)"));
  EXPECT_THAT(ParseError(Edit(text, ":20:INPUT-0002", ":2X:INPUT-0002")),
              HasSubstr("block 4 (line 2, column 1): ':2X' is not a field tag"));
  EXPECT_THAT(ParseError(Edit(text, "1 MAIN STREET", "-1 MAIN STREET")),
              HasSubstr("block 4 (line 7, column 1): a line starts with '-' but is not the "
                        "closing '-}'"));
  EXPECT_THAT(ParseError(Edit(text, "{4:\r\n", "{4::20:X\r\n")),
              HasSubstr("the text block must start a new line after '{4:'"));
}

TEST(SwiftMtTest, MissingMandatoryField) {
  const std::string no59 = Edit(Crlf(testing::kMt103Input), ":59A:/JP123456\r\nBENEJPJT\r\n", "");
  EXPECT_EQ(ValidateError(no59),
            "block 4: MT103: mandatory field 59 (beneficiary customer) is missing; add :59:, "
            ":59A:, :59F:");
  const std::string no71a = Edit(Crlf(testing::kMt103Third), ":71A:SHA\r\n", "");
  EXPECT_THAT(ValidateError(no71a), HasSubstr("mandatory field 71A (details of charges)"));
}

TEST(SwiftMtTest, BadDateAmountCurrencyAndCodes) {
  const std::string text = Crlf(testing::kMt103Input);
  EXPECT_EQ(ValidateError(Edit(text, ":32A:251231", ":32A:251332")),
            "block 4, field :32A: (line 4, column 6): '251332' does not start with a valid date "
            "YYMMDD");
  EXPECT_EQ(ValidateError(Edit(text, "JPY1000000,", "JPY1000000.50")),
            "block 4, field :32A: (line 4, column 15): amount '1000000.50' is not digits with "
            "one decimal comma, at most 15 characters (e.g. 1234,56 or 100,)");
  EXPECT_THAT(ValidateError(Edit(text, "JPY1000000,", "JP11000000,")),
              HasSubstr("field :32A: (line 4, column 12): currency 'JP1' is not a 3-letter"));
  EXPECT_THAT(ValidateError(Edit(text, ":71A:BEN", ":71A:XYZ")),
              HasSubstr("field :71A: (line 17, column 6): 'XYZ' is not BEN, OUR or SHA"));
  EXPECT_THAT(ValidateError(Edit(text, ":23B:CRED", ":23B:CRDE")),
              HasSubstr("'CRDE' is not a bank operation code"));
  EXPECT_THAT(ValidateError(Edit(text, ":57A:BANKJPJT", ":57A:BANK-JPJT")),
              HasSubstr("field :57A: (line 13, column 6): 'BANK-JPJT' is not a BIC"));
  EXPECT_THAT(ValidateError(Edit(text, ":20:INPUT-0002", ":20:/INPUT-0002")),
              HasSubstr("must not start or end with '/'"));
}

TEST(SwiftMtTest, LineCountsLengthsAndStructuredLines) {
  const std::string text = Crlf(testing::kMt103Third);
  EXPECT_THAT(ValidateError(Edit(text, "3/DE/MUNICH", "9/DE/MUNICH")),
              HasSubstr("field :59F: (line 16, column 1): '9/DE/MUNICH' does not start with a "
                        "line number 1/ to 3/"));
  EXPECT_THAT(ValidateError(Edit(text, "3/DE/MUNICH", "3/D1/MUNICH")),
              HasSubstr("is not 3/ with a 2-letter country code"));
  const std::string long_line =
      Edit(Crlf(testing::kMt103Input), ":70:GOODS", ":70:GOODS AND SERVICES OF EVERY KIND SOLD");
  EXPECT_THAT(ValidateError(long_line),
              HasSubstr("field :70: (line 16, column 40): line of 37 characters; at most 35"));
  const std::string five_lines =
      Edit(Crlf(testing::kMt103Input), ":70:GOODS", ":70:A\r\nB\r\nC\r\nD\r\nE");
  EXPECT_THAT(ValidateError(five_lines),
              HasSubstr("field :70: (line 20, column 1): 5 lines; at most 4 are allowed here"));
}

TEST(SwiftMtTest, UnknownAndRepeatedFields) {
  const std::string text = Crlf(testing::kMt103Input);
  EXPECT_EQ(ValidateError(Edit(text, ":70:GOODS", ":21:RELATED")),
            "block 4, field :21: (line 16): not a field of MT103; remove it or check the tag and "
            "letter option");
  EXPECT_THAT(ValidateError(Edit(text, ":57A:BANKJPJT", ":57Q:BANKJPJT")),
              HasSubstr("field :57Q: (line 13): not a field of MT103"));
  EXPECT_EQ(ValidateError(Edit(text, ":70:GOODS", ":50K:SECOND PARTY")),
            "block 4, field :50K: (line 16): field 50 appears twice");
  // 23E and 71F may repeat.
  EXPECT_EQ(ValidateError(Edit(text, ":71A:BEN", ":23E:SDVA\r\n:71A:BEN")), "(valid)");
}

TEST(SwiftMtTest, Mt103NetworkRulesBetweenFields) {
  auto edited = [](std::string_view from, std::string_view to) {
    return Crlf(Edit(testing::kMt103Full, from, to));
  };
  EXPECT_EQ(ValidateError(edited(":36:0,9145\n", "")),
            "block 4, field :33B: (line 9): rule D75: the instructed amount is in USD and 32A in "
            "EUR; add the exchange rate :36:");
  EXPECT_THAT(ValidateError(edited(":33B:USD1350,", ":33B:EUR1350,")),
              HasSubstr("field :36: (line 10): rule D75: 33B and 32A are both in EUR"));
  EXPECT_THAT(ValidateError(edited(":33B:USD1350,\n", "")),
              HasSubstr("rule D75: an exchange rate needs the instructed amount"));
  EXPECT_THAT(ValidateError(edited(":71G:EUR12,5", ":71F:EUR12,5")),
              HasSubstr("field :71F: (line 31): rule E13: with 71A OUR"));
  EXPECT_THAT(ValidateError(edited(":71A:OUR", ":71A:SHA")),
              HasSubstr("field :71G: (line 31): rule D50: receiver's charges :71G: are allowed "
                        "only with 71A OUR, not SHA"));
  EXPECT_THAT(ValidateError(edited(":23B:CRED", ":23B:SPRI")),
              HasSubstr("field :23E: (line 6): rule E01: 23B SPRI does not allow the instruction "
                        "code HOLD"));
  EXPECT_THAT(ValidateError(edited(":23B:CRED", ":23B:SSTD")),
              HasSubstr("field :23E: (line 4): rule E02: 23B SSTD does not allow"));
}

TEST(SwiftMtTest, UetrIsAVersion4Uuid) {
  const std::string text = Crlf(testing::kMt103Input);
  EXPECT_EQ(ValidateError(Edit(text, "0f1e2d3c-4b5a-4978", "0F1E2D3C-4b5a-4978")),
            "block 3, {121:0F1E2D3C-4b5a-4978-8695-a4b3c2d1e0f9}: the UETR must be a version 4 "
            "UUID in lower case (xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx)");
  EXPECT_THAT(ValidateError(Edit(text, "4b5a-4978", "4b5a-1978")), HasSubstr("version 4 UUID"));
  EXPECT_THAT(ValidateError(Edit(text, "-a4b3c2d1e0f9}", "-a4b3c2d1e0f}")),
              HasSubstr("version 4 UUID"));
}

TEST(SwiftMtTest, AmountsBetweenMtAndDecimal) {
  EXPECT_EQ(MtAmountToDecimal("136500,"), "136500");
  EXPECT_EQ(MtAmountToDecimal("7138,40"), "7138.4");
  EXPECT_EQ(MtAmountToDecimal("0,5"), "0.5");
  EXPECT_EQ(MtAmountToDecimal("007,00"), "7");
  EXPECT_EQ(MtAmountToDecimal("100"), "");
  EXPECT_EQ(MtAmountToDecimal("1,2,3"), "");
  EXPECT_EQ(MtAmountToDecimal(",5"), "");
  EXPECT_EQ(DecimalToMtAmount("7138.4"), "7138,4");
  EXPECT_EQ(DecimalToMtAmount("100"), "100,");
  EXPECT_EQ(DecimalToMtAmount("100.00"), "100,");
  EXPECT_EQ(DecimalToMtAmount("-1"), "");
  EXPECT_EQ(DecimalToMtAmount("1e5"), "");
  // Round trip over many amounts.
  for (int whole : {0, 1, 10, 999, 123456}) {
    for (std::string_view frac : {"", "5", "05", "25", "999"}) {
      const std::string mt = fmt::format("{},{}", whole, frac);
      EXPECT_EQ(MtAmountToDecimal(DecimalToMtAmount(MtAmountToDecimal(mt))), MtAmountToDecimal(mt));
    }
  }
}

TEST(SwiftMtTest, Bics) {
  EXPECT_TRUE(IsBic("BANKDEFF"));
  EXPECT_TRUE(IsBic("BANKDEFFXXX"));
  EXPECT_TRUE(IsBic("BANKDE2L"));
  EXPECT_FALSE(IsBic("BANKDEF"));
  EXPECT_FALSE(IsBic("BANKDEFFXX"));
  EXPECT_FALSE(IsBic("BAN1DEFF"));
  EXPECT_TRUE(IsBic("BAN1DEFF", false));
  EXPECT_FALSE(IsBic("bankdeff"));
}

}  // namespace
}  // namespace ferry::legacy
