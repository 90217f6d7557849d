// RecordWriter's framing, checked by reading it back with RecordReader (an implementation
// written first, against Cobrix's files): random records of random lengths in every format and
// byte order come back the same, in the same order, from the same offsets.
#include "legacy/record_writer.h"

#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::legacy {
namespace {

using ::testing::HasSubstr;

std::vector<std::vector<uint8_t>> RandomRecords(std::mt19937& rng, int count, int max_length,
                                                bool avoid_line_ends) {
  std::vector<std::vector<uint8_t>> records(count);
  std::uniform_int_distribution<int> length(1, max_length);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& record : records) {
    record.resize(length(rng));
    for (uint8_t& b : record) {
      do {
        b = static_cast<uint8_t>(byte(rng));
      } while (avoid_line_ends && (b == 0x15 || b == 0x25 || b == '\n' || b == '\r'));
    }
  }
  return records;
}

std::vector<std::vector<uint8_t>> ReadBack(const std::string& file, const FramingOptions& options) {
  auto source = ByteSource::FromMemory(file);
  RecordReader reader(source.get(), options);
  std::vector<std::vector<uint8_t>> records;
  while (true) {
    RawRecord raw;
    std::string error;
    Result<RecordReader::Outcome> outcome = reader.Next(&raw, &error);
    EXPECT_TRUE(outcome.has_value());
    if (!outcome.has_value() || *outcome == RecordReader::Outcome::kEnd) break;
    EXPECT_EQ(*outcome, RecordReader::Outcome::kRecord) << error;
    if (*outcome != RecordReader::Outcome::kRecord) break;
    records.emplace_back(raw.data.begin(), raw.data.end());
  }
  return records;
}

struct Framing {
  const char* name;
  RecordFormat format;
  bool big_endian;
  int32_t rdw_adjustment;
  int64_t block_size;
};

class RecordWriterRoundTrip : public ::testing::TestWithParam<Framing> {};

TEST_P(RecordWriterRoundTrip, ReadsBackEveryRecord) {
  const Framing& f = GetParam();
  std::mt19937 rng(20261207);
  for (int trial = 0; trial < 20; ++trial) {
    FramingOptions options;
    options.format = f.format;
    options.rdw_big_endian = f.big_endian;
    options.rdw_adjustment = f.rdw_adjustment;
    options.ebcdic_text = trial % 2 == 0;
    const bool text = f.format == RecordFormat::kText;
    auto records = RandomRecords(rng, 1 + trial * 7, text ? 80 : 700, text);
    RecordWriter writer(options, f.block_size);
    std::string file;
    for (const auto& record : records) ASSERT_TRUE(writer.Add(record, &file).ok());
    writer.Finish(&file);
    EXPECT_EQ(ReadBack(file, options), records) << f.name << " trial " << trial;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Formats, RecordWriterRoundTrip,
    ::testing::Values(Framing{"V_big", RecordFormat::kVariable, true, -4, 0},
                      Framing{"V_little", RecordFormat::kVariable, false, -4, 0},
                      Framing{"V_adjust0", RecordFormat::kVariable, true, 0, 0},
                      Framing{"VB_small_blocks", RecordFormat::kVariableBlocked, true, -4, 1000},
                      Framing{"VB_default", RecordFormat::kVariableBlocked, true, -4, 32760},
                      Framing{"text", RecordFormat::kText, true, -4, 0}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(RecordWriter, FixedRecordsAreConcatenated) {
  RecordWriter writer({.format = RecordFormat::kFixed});
  std::string file;
  const std::vector<uint8_t> a = {1, 2, 3}, b = {4, 5, 6};
  ASSERT_TRUE(writer.Add(a, &file).ok());
  ASSERT_TRUE(writer.Add(b, &file).ok());
  writer.Finish(&file);
  EXPECT_EQ(file, std::string("\x01\x02\x03\x04\x05\x06"));
}

TEST(RecordWriter, DescriptorWordsHaveTheDocumentedBytes) {
  // IBM's layout: a BDW of the block's length (itself included), then an RDW of the record's
  // length (itself included), each followed by two zero bytes.
  RecordWriter writer({.format = RecordFormat::kVariableBlocked});
  std::string file;
  const std::vector<uint8_t> record(300, 0xC1);
  ASSERT_TRUE(writer.Add(record, &file).ok());
  EXPECT_TRUE(file.empty()) << "the block is written when it is full or finished";
  writer.Finish(&file);
  ASSERT_EQ(file.size(), 308U);
  EXPECT_EQ(file.substr(0, 8), std::string("\x01\x34\x00\x00\x01\x30\x00\x00", 8));
}

TEST(RecordWriter, RefusesWhatCannotBeFramed) {
  std::string file;
  RecordWriter v({.format = RecordFormat::kVariable});
  Status too_long = v.Add(std::vector<uint8_t>(70000, 1), &file);
  EXPECT_THAT(too_long.message(), HasSubstr("70000 bytes does not fit a record descriptor word"));
  RecordWriter vb({.format = RecordFormat::kVariableBlocked}, 100);
  EXPECT_THAT(vb.Add(std::vector<uint8_t>(200, 1), &file).message(),
              HasSubstr("raise --block-size"));
  RecordWriter text({.format = RecordFormat::kText, .ebcdic_text = false});
  EXPECT_THAT(text.Add(std::vector<uint8_t>{'a', '\n', 'b'}, &file).message(),
              HasSubstr("holds a line-end byte"));
  EXPECT_TRUE(file.empty()) << "a refused record writes nothing";
}

}  // namespace
}  // namespace ferry::legacy
