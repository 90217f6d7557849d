// Records, files and the reject channel: bad bytes reject their record, with its offset, the
// field and the reason, and the rest of the file is decoded.
#include "legacy/record_decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "legacy/test_bytes.h"

namespace ferry::legacy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Copybook Parse(std::string_view text) {
  Result<Copybook> cb = ParseCopybook(text, "t.cob");
  EXPECT_TRUE(cb.has_value()) << cb.error().ToString();
  return cb.value_or(Copybook{});
}

using testing::Bytes;
using testing::E;

struct Decoded {
  std::vector<std::string> records;
  std::vector<Reject> rejects;
  StreamStats stats;
};

Decoded DecodeAll(const Copybook& cb, const std::string& data, const FramingOptions& framing = {},
                  const StreamOptions& options = {}) {
  Decoded d;
  std::unique_ptr<ByteSource> source = ByteSource::FromMemory(data);
  Result<StreamStats> stats = DecodeStream(
      source.get(), cb, framing, options,
      [&](std::string_view line) {
        d.records.emplace_back(line);
        return OkStatus();
      },
      [&](const Reject& r) {
        d.rejects.push_back(r);
        return OkStatus();
      });
  EXPECT_TRUE(stats.has_value()) << stats.error().ToString();
  if (stats.has_value()) d.stats = *stats;
  return d;
}

constexpr const char* kAccount =
    "       01  ACCOUNT.\n"
    "           05  ID       PIC 9(3).\n"
    "           05  NAME     PIC X(5).\n"
    "           05  BALANCE  PIC S9(5)V99 COMP-3.\n";  // 12 bytes a record

TEST(RecordDecoderTest, DecodesFixedLengthRecords) {
  Copybook cb = Parse(kAccount);
  const std::string data = E("001ALICE") + Bytes({0x00, 0x12, 0x34, 0x5C}) + E("002BOB  ") +
                           Bytes({0x00, 0x00, 0x07, 0x5D});
  Decoded d = DecodeAll(cb, data);
  EXPECT_THAT(d.records, ElementsAre(R"({"ID":1,"NAME":"ALICE","BALANCE":123.45})",
                                     R"({"ID":2,"NAME":"BOB","BALANCE":-0.75})"));
  EXPECT_EQ(d.stats.records, 2);
  EXPECT_EQ(d.stats.bytes, 24);
}

TEST(RecordDecoderTest, InvalidPackedNibbleRejectsOnlyItsRecord) {
  Copybook cb = Parse(kAccount);
  const std::string data = E("001ALICE") + Bytes({0x00, 0x12, 0x34, 0x5C}) + E("002BOB  ") +
                           Bytes({0x00, 0x1F, 0x34, 0x5C}) + E("003CAROL") +
                           Bytes({0x00, 0x00, 0x00, 0x0C});
  Decoded d = DecodeAll(cb, data);
  ASSERT_EQ(d.records.size(), 2u);
  EXPECT_THAT(d.records[1], HasSubstr("\"ID\":3"));
  ASSERT_EQ(d.rejects.size(), 1u);
  const Reject& r = d.rejects[0];
  EXPECT_EQ(r.record, 1);
  EXPECT_EQ(r.offset, 12);
  EXPECT_EQ(r.field, "ACCOUNT.BALANCE");
  EXPECT_EQ(r.field_offset, 8);
  EXPECT_THAT(r.reason, HasSubstr("invalid packed digit nibble 0xF in byte 1 (0x1F)"));
  EXPECT_EQ(r.hex, "F0F0F2C2D6C24040001F345C");
  const std::string json = RejectJson(r);
  EXPECT_THAT(json, HasSubstr(R"("record":1,"offset":12,"length":12,"field":"ACCOUNT.BALANCE")"));
}

TEST(RecordDecoderTest, InvalidZonedDigitRejectsItsRecord) {
  Copybook cb = Parse(kAccount);
  const std::string data = E("0X1ALICE") + Bytes({0x00, 0x12, 0x34, 0x5C}) + E("002BOB  ") +
                           Bytes({0x00, 0x00, 0x07, 0x5D});
  Decoded d = DecodeAll(cb, data);
  ASSERT_EQ(d.rejects.size(), 1u);
  EXPECT_EQ(d.rejects[0].field, "ACCOUNT.ID");
  EXPECT_EQ(d.rejects[0].offset, 0);
  EXPECT_THAT(d.rejects[0].reason, HasSubstr("byte 0xE7 at offset 1 is not a digit"));
  EXPECT_EQ(d.records.size(), 1u);
  // With Cobrix's policy the value is null (left out) and the record kept.
  StreamOptions cobrix;
  cobrix.decode.codec.invalid = InvalidValues::kNull;
  Decoded lenient = DecodeAll(cb, data, {}, cobrix);
  EXPECT_TRUE(lenient.rejects.empty());
  EXPECT_EQ(lenient.records[0], R"({"NAME":"ALICE","BALANCE":123.45})");
}

TEST(RecordDecoderTest, DependingOnCountOutOfRangeRejectsItsRecord) {
  Copybook cb = Parse(
      "       01  ORDER.\n"
      "           05  LINES    PIC 9.\n"
      "           05  LINE     OCCURS 0 TO 3 DEPENDING ON LINES PIC X(2).\n");
  const std::string data = E("2ABCD  ") + E("9ABCDEF") + E("0      ") + E("Q      ");
  Decoded d = DecodeAll(cb, data);
  EXPECT_THAT(d.records,
              ElementsAre(R"({"LINES":2,"LINE":["AB","CD"]})", R"({"LINES":0,"LINE":[]})"));
  ASSERT_EQ(d.rejects.size(), 2u);
  EXPECT_EQ(d.rejects[0].record, 1);
  EXPECT_EQ(d.rejects[0].offset, 7);
  EXPECT_EQ(d.rejects[0].field, "ORDER.LINE");
  EXPECT_THAT(d.rejects[0].reason, HasSubstr("DEPENDING ON LINES = 9 is outside OCCURS 0 TO 3"));
  EXPECT_EQ(d.rejects[1].field, "ORDER.LINES");  // the counter itself is not a number
}

TEST(RecordDecoderTest, FileSizeThatDoesNotMatchTheLayout) {
  Copybook cb = Parse(kAccount);
  const std::string data = E("001ALICE") + Bytes({0x00, 0x12, 0x34, 0x5C}) + E("002BO");
  Decoded d = DecodeAll(cb, data);
  EXPECT_EQ(d.records.size(), 1u);
  ASSERT_EQ(d.rejects.size(), 1u);
  EXPECT_EQ(d.rejects[0].offset, 12);
  EXPECT_EQ(d.rejects[0].length, 5);
  EXPECT_THAT(d.rejects[0].reason,
              HasSubstr("the last 5 bytes are a partial record: the data (17 bytes) is not a "
                        "multiple of the record length 12"));
}

TEST(RecordDecoderTest, VariableLengthWithRdw) {
  Copybook cb = Parse(kAccount);
  // z/OS RDWs: big-endian, counting their own four bytes; the second record is short.
  const std::string data = Bytes({0, 16, 0, 0}) + E("001ALICE") + Bytes({0x00, 0x12, 0x34, 0x5C}) +
                           Bytes({0, 9, 0, 0}) + E("002BO");
  FramingOptions framing{.format = RecordFormat::kVariable};
  Decoded d = DecodeAll(cb, data, framing);
  EXPECT_THAT(d.records, ElementsAre(R"({"ID":1,"NAME":"ALICE","BALANCE":123.45})",
                                     R"({"ID":2,"NAME":"BO"})"));
  // Little-endian RDWs holding the payload length, as Cobrix's test files have them.
  const std::string little = Bytes({0, 0, 12, 0}) + E("001ALICE") + Bytes({0x00, 0x12, 0x34, 0x5C});
  framing.rdw_big_endian = false;
  framing.rdw_adjustment = 0;
  EXPECT_EQ(DecodeAll(cb, little, framing).records.size(), 1u);
}

TEST(RecordDecoderTest, BrokenRdwRejectsTheRestOfTheFile) {
  Copybook cb = Parse(kAccount);
  const std::string data = Bytes({0, 16, 0, 0}) + E("001ALICE") + Bytes({0x00, 0x12, 0x34, 0x5C}) +
                           Bytes({0, 200, 0, 0}) + E("002BOB");
  Decoded d = DecodeAll(cb, data, {.format = RecordFormat::kVariable});
  EXPECT_EQ(d.records.size(), 1u);
  ASSERT_EQ(d.rejects.size(), 1u);
  EXPECT_EQ(d.rejects[0].offset, 16);
  EXPECT_THAT(d.rejects[0].reason,
              HasSubstr("record descriptor word 00 C8 00 00 announces 196 bytes, but only 6 "
                        "remain"));
  Decoded zero = DecodeAll(cb, Bytes({0, 0, 0, 0}) + E("001"), {.format = RecordFormat::kVariable});
  ASSERT_EQ(zero.rejects.size(), 1u);
  EXPECT_THAT(zero.rejects[0].reason, HasSubstr("gives a record of -4 bytes"));
}

TEST(RecordDecoderTest, VariableBlocked) {
  Copybook cb = Parse(kAccount);
  const std::string record1 =
      Bytes({0, 16, 0, 0}) + E("001ALICE") + Bytes({0x00, 0x12, 0x34, 0x5C});
  const std::string record2 =
      Bytes({0, 16, 0, 0}) + E("002BOB  ") + Bytes({0x00, 0x00, 0x07, 0x5D});
  const std::string data = Bytes({0, 36, 0, 0}) + record1 + record2 +  // one block of two
                           Bytes({0, 20, 0, 0}) + record1;             // and one of one
  Decoded d = DecodeAll(cb, data, {.format = RecordFormat::kVariableBlocked});
  EXPECT_EQ(d.records.size(), 3u);
  EXPECT_TRUE(d.rejects.empty());
  Decoded crossing =
      DecodeAll(cb, Bytes({0, 12, 0, 0}) + record1, {.format = RecordFormat::kVariableBlocked});
  ASSERT_EQ(crossing.rejects.size(), 1u);
  EXPECT_THAT(crossing.rejects[0].reason, HasSubstr("crosses the end of its block"));
}

TEST(RecordDecoderTest, TextLines) {
  Copybook cb = Parse(
      "       01  LINE.\n"
      "           05  CODE  PIC X(3).\n"
      "           05  QTY   PIC S9(4) SIGN LEADING SEPARATE.\n");
  StreamOptions ascii;
  ascii.decode.codec.encoding = Encoding::kAscii;
  Decoded d = DecodeAll(cb, "ABC+0012\r\n\nXYZ-0003\nSHO", {.format = RecordFormat::kText}, ascii);
  EXPECT_THAT(d.records, ElementsAre(R"({"CODE":"ABC","QTY":12})", R"({"CODE":"XYZ","QTY":-3})",
                                     R"({"CODE":"SHO"})"));
  ASSERT_EQ(d.rejects.size(), 0u);
}

TEST(RecordDecoderTest, ToJsonKeepsDecimalsExact) {
  Copybook cb = Parse(kAccount);
  std::unique_ptr<RecordDecoder> decoder = RecordDecoder::Create(cb, {}).value();
  const std::string bytes = E("001ALICE") + Bytes({0x00, 0x12, 0x34, 0x5C});
  OrderedJson j =
      decoder->ToJson(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()))
          .value();
  EXPECT_EQ(j.dump(), R"({"ID":1,"NAME":"ALICE","BALANCE":"123.45"})");
  const std::string bad = E("0X1ALICE") + Bytes({0x00, 0x12, 0x34, 0x5C});
  Result<OrderedJson> rejected =
      decoder->ToJson(std::span(reinterpret_cast<const uint8_t*>(bad.data()), bad.size()));
  ASSERT_FALSE(rejected.has_value());
  EXPECT_THAT(rejected.error().message(), HasSubstr("ACCOUNT.ID at offset 0"));
}

TEST(RecordDecoderTest, OptionsNameMissingFields) {
  Copybook cb = Parse(kAccount);
  DecodeOptions options;
  options.segment_field = "KIND";
  EXPECT_THAT(RecordDecoder::Create(cb, options).error().message(),
              HasSubstr("segment field `KIND`: no such field in t.cob"));
  DecodeOptions nt;
  nt.non_terminals = {"NAME"};
  EXPECT_THAT(RecordDecoder::Create(cb, nt).error().message(), HasSubstr("is not a group"));
}

}  // namespace
}  // namespace ferry::legacy
