// The ISO 8583 codec against moov-io/iso8583's test messages and their expected field values
// (../shared/data/iso8583: README.md says which encoding each message uses, decoded_fields.json
// holds every field's value as an independent decoder read it), and its fuzz corpus. Skipped
// when the shared datasets are not beside this clone.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "legacy/iso8583.h"

namespace ferry::legacy::iso8583 {
namespace {

std::string DataDir() { return std::string(FERRY_SOURCE_DIR) + "/../shared/data/iso8583"; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

#define SKIP_WITHOUT_SHARED()                                                                 \
  if (!std::filesystem::exists(DataDir() + "/decoded_fields.json")) {                         \
    GTEST_SKIP() << DataDir() << " not found: the shared datasets are not beside this clone"; \
  }

// The built-in spec each message was written with (README.md, "The messages"). The BCD number
// message is read with both number alignments.
std::vector<std::string> SpecsOf(const std::string& file) {
  if (file == "message_with_hex_length.dat") return {"legacy-1987-hex-length"};
  if (file == "message_with_hex_bcd.dat") return {"legacy-1987-bcd-length"};
  if (file == "message_with_hex_rbcd.dat" || file == "message_with_indicate_numeric.dat" ||
      file == "message_with_error_indicate_numeric.dat") {
    return {"legacy-1987-rbcd-length"};
  }
  if (file == "message_with_number_bcd_encoding.dat") {
    return {"legacy-1987-bcd-numbers", "legacy-1987-rbcd-numbers"};
  }
  if (file == "message_with_character_ebcdic_encoding.dat") return {"legacy-1987-ebcdic-text"};
  return {"legacy-1987"};
}

std::string Bits(uint64_t word) {
  std::string bits;
  for (int i = 63; i >= 0; --i) bits.push_back(((word >> i) & 1) != 0 ? '1' : '0');
  return bits;
}

std::string BytesAsBits(std::string_view bytes) {
  std::string bits;
  for (char c : bytes) {
    for (int i = 7; i >= 0; --i)
      bits.push_back(((static_cast<uint8_t>(c) >> i) & 1) != 0 ? '1' : '0');
  }
  return bits;
}

TEST(Iso8583SharedTest, EveryMessageDecodesToTheExpectedFieldsAndEncodesBack) {
  SKIP_WITHOUT_SHARED();
  Result<Json> expected = ParseJson(ReadAll(DataDir() + "/decoded_fields.json"), "decoded_fields");
  ASSERT_TRUE(expected.has_value()) << expected.error().ToString();
  int messages = 0;
  for (const auto& [file, entry] : expected->items()) {
    const std::string bytes = ReadAll(DataDir() + "/testdata/" + file);
    ASSERT_EQ(bytes.size(), entry["size_bytes"].get<size_t>()) << file;
    const bool truncated = file == "error_message.dat";
    for (const std::string& spec_name : SpecsOf(file)) {
      SCOPED_TRACE(file + " with " + spec_name);
      Result<std::shared_ptr<const Spec>> spec = Spec::BuiltIn(spec_name);
      ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
      Message message;
      const Status status = Unpack(**spec, bytes, &message);
      if (truncated) {
        // Cut off inside field 55: its prefix 030 at byte 182, 21 bytes of value remain.
        ASSERT_FALSE(status.ok());
        EXPECT_THAT(status.message(),
                    testing::HasSubstr("field 55 (ans...999) at byte 185: the value needs 30 "
                                       "bytes (30 characters) but only 21 remain"));
        continue;
      }
      ASSERT_TRUE(status.ok()) << status.ToString();
      ++messages;
      size_t fields = 0;
      for (const Json& field : entry["fields"]) {
        const std::string name = field["field"].get<std::string>();
        const std::string value = field["value"].get<std::string>();
        SCOPED_TRACE("field " + name);
        if (name == "MTI") {
          EXPECT_EQ(message.mti(), value);
        } else if (name == "bitmap") {
          const uint64_t primary =
              message.present()[0] | (message.bitmaps() >= 2 ? uint64_t{1} << 63 : 0);
          EXPECT_EQ(Bits(primary), value);
        } else if (name == "1") {
          ASSERT_GE(message.bitmaps(), 2);
          EXPECT_EQ(Bits(message.present()[1]), value);
        } else {
          const int number = std::stoi(name);
          ASSERT_TRUE(message.Has(number));
          ++fields;
          const FieldSpec* f = (*spec)->field(number);
          if (f->type == DataType::kBinary) {
            EXPECT_EQ(BytesAsBits(message.Get(number)), value);
          } else {
            EXPECT_EQ(message.Get(number), value);
          }
        }
      }
      size_t present = 0;
      message.ForEach([&](int, std::string_view) { ++present; });
      EXPECT_EQ(present, fields);

      std::string again;
      ASSERT_TRUE(Pack(**spec, message, &again).ok());
      EXPECT_EQ(ToHex(again), ToHex(bytes));

      // Through JSON (unmasked) and back, byte for byte.
      Result<OrderedJson> json = MessageToJson(**spec, message, {.mask_pan = false});
      ASSERT_TRUE(json.has_value()) << json.error().ToString();
      std::string line;
      ASSERT_TRUE(AppendMessageJson(**spec, message, {.mask_pan = false}, &line).ok());
      EXPECT_EQ(line, json->dump());
      Message parsed;
      const Status from_json = MessageFromJson(**spec, *json, &parsed);
      ASSERT_TRUE(from_json.ok()) << from_json.ToString() << "\n" << json->dump();
      std::string from_json_bytes;
      const Status packed = Pack(**spec, parsed, &from_json_bytes);
      ASSERT_TRUE(packed.ok()) << packed.ToString();
      EXPECT_EQ(ToHex(from_json_bytes), ToHex(bytes));
    }
  }
  EXPECT_EQ(messages, 22);  // 21 decodable files, one read with two specs
}

// The messages the legacy suite expects to fail validation, for the reasons its README gives
// that are about field content (not message-type rules).
TEST(Iso8583SharedTest, ValidateFlagsBadDatesSignsAndTrackData) {
  SKIP_WITHOUT_SHARED();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"iso_reversal_message_error_date.dat", "field 13 (n 4): \"9099\" is not a valid MMDD"},
      {"network_management_message_with_error_track.dat", "field 35 (z..37): \"III\" holds \"I\""},
      {"message_with_error_indicate_numeric.dat",
       "field 28 (x+n 7): \"F0000000\" is not C or D followed by digits"},
  };
  for (const auto& [file, error] : cases) {
    SCOPED_TRACE(file);
    auto spec = Spec::BuiltIn(SpecsOf(file)[0]);
    ASSERT_TRUE(spec.has_value());
    const std::string bytes = ReadAll(DataDir() + "/testdata/" + file);
    Message message;
    ASSERT_TRUE(Unpack(**spec, bytes, &message).ok());
    const Status status = Validate(**spec, message);
    ASSERT_FALSE(status.ok());
    EXPECT_THAT(status.message(), testing::HasSubstr(error));
  }
  for (const std::string file :
       {"iso_reversal_message.dat", "network_management_message_with_track.dat",
        "message_with_indicate_numeric.dat"}) {
    auto spec = Spec::BuiltIn(SpecsOf(file)[0]);
    ASSERT_TRUE(spec.has_value());
    const std::string bytes = ReadAll(DataDir() + "/testdata/" + file);
    Message message;
    ASSERT_TRUE(Unpack(**spec, bytes, &message).ok());
    EXPECT_TRUE(Validate(**spec, message).ok())
        << file << ": " << Validate(**spec, message).ToString();
  }
}

// Go's fuzz corpus format: a header line, then one Go literal per argument.
struct FuzzCase {
  std::string data;
  int64_t length = 0;
};

FuzzCase ReadFuzzCase(const std::string& path) {
  std::istringstream lines(ReadAll(path));
  std::string line;
  std::getline(lines, line);  // go test fuzz v1
  FuzzCase c;
  while (std::getline(lines, line)) {
    if (line.starts_with("[]byte(\"")) {
      c.data = line.substr(8, line.size() - 10);
    } else if (line.starts_with("int(")) {
      c.length = std::stoll(line.substr(4, line.size() - 5));
    }
  }
  return c;
}

TEST(Iso8583SharedTest, FuzzUnpackInputsGivePreciseErrors) {
  SKIP_WITHOUT_SHARED();
  auto spec = Spec::BuiltIn("1987");
  ASSERT_TRUE(spec.has_value());
  const std::map<std::string, std::string> expected = {
      {"582528ddfad69eb5", "MTI at byte 0: the message has 1 byte, the MTI alone needs 4"},
      {"c969d21bb8e7bad4",
       "field 2 (n..19) at byte 20: the length prefix \"-1\" is not 2 ASCII digits"},
      {"e060164ea4a41499",
       "field 3 (n 6) at byte 22: the value needs 6 bytes (6 digits) but only 0 "
       "remain"},
  };
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(DataDir() + "/fuzz/FuzzUnpack")) {
    const FuzzCase c = ReadFuzzCase(entry.path().string());
    Message message;
    const Status status = Unpack(**spec, c.data, &message);
    ASSERT_FALSE(status.ok()) << entry.path();
    const auto it = expected.find(entry.path().filename().string());
    ASSERT_NE(it, expected.end()) << entry.path();
    EXPECT_THAT(status.message(), testing::HasSubstr(it->second));
    ++seen;
  }
  EXPECT_EQ(seen, 3);
}

TEST(Iso8583SharedTest, FuzzDecoderInputsAreRejectedOrDecoded) {
  SKIP_WITHOUT_SHARED();
  // The Go decoder each corpus belongs to, as one of our field encodings.
  const std::map<std::string, std::string> specs = {
      {"FuzzDecodeASCIIHexToBytes", R"({"format": "b..99", "encoding": "hex"})"},
      {"FuzzDecodeBCD", R"({"format": "n..99", "encoding": "bcd"})"},
      {"FuzzDecodeLBCD", R"({"format": "n..99", "encoding": "bcd-rpad"})"},
      {"FuzzDecodeBinary", R"({"format": "b..99", "encoding": "binary"})"},
      {"FuzzDecodeEBCDIC", R"({"format": "ans..99", "encoding": "ebcdic"})"},
      {"FuzzDecodeEBCDIC1047", R"({"format": "ans..99", "encoding": "ebcdic"})"},
      {"FuzzDecodeHEXToACII", R"({"format": "b..99", "encoding": "hex"})"},
  };
  int seen = 0;
  for (const auto& dir : std::filesystem::directory_iterator(DataDir() + "/fuzz/encoding")) {
    const std::string name = dir.path().filename().string();
    ASSERT_TRUE(specs.contains(name)) << name;
    const std::string codepage = name == "FuzzDecodeEBCDIC1047" ? "ibm-1047" : "ibm-037";
    auto spec = Spec::Parse(
        fmt::format(R"({{"codepage": "{}", "fields": {{"2": {}}}}})", codepage, specs.at(name)),
        name);
    ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
      const FuzzCase c = ReadFuzzCase(entry.path().string());
      std::string out;
      const Status status = DecodeValue(**spec, *(*spec)->field(2), c.data, c.length, &out);
      if (c.length < 0) {
        ASSERT_FALSE(status.ok()) << entry.path();
        EXPECT_THAT(status.message(), testing::HasSubstr(fmt::format(
                                          "field 2: the length {} is negative", c.length)));
      } else {
        // ("0000", 4) in EBCDIC 1047: four bytes 0x30, each the C1 control U+0090 in that page
        // (two bytes of UTF-8).
        ASSERT_TRUE(status.ok()) << status.ToString();
        EXPECT_EQ(ToHex(out), "C290C290C290C290");
      }
      ++seen;
    }
  }
  EXPECT_EQ(seen, 8);
}

}  // namespace
}  // namespace ferry::legacy::iso8583
