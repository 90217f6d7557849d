// Format inference on protocols generated here with a known layout: the inferred field
// boundaries are scored against the generator's (precision and recall over byte boundaries,
// the metric of NEMESYS and BinaryInferno) and each field's kind is checked; a random control
// must yield (almost) no boundaries. The shared BinaryInferno samples, when present, are run
// for crashes and a sanity floor (bench/infer_eval.sh scores them against Wireshark).
#include "legacy/format_inference.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/env.h"
#include "legacy/message_samples.h"

namespace ferry::legacy {
namespace {

using ::testing::HasSubstr;

void PutBe(std::string* out, uint64_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) {
    out->push_back(static_cast<char>(v >> (8 * (width - 1 - i)) & 0xff));
  }
}
void PutLe(std::string* out, uint64_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) out->push_back(static_cast<char>(v >> (8 * i) & 0xff));
}

struct Sample {
  std::vector<std::string> messages;
  std::vector<std::set<uint32_t>> truth;  // per message, its true inner boundaries
};

// A binary protocol with every kind the inference knows:
//   0  magic      4  constant fe ed fa ce
//   4  type       1  enumeration 1, 2, 3
//   5  sequence   4  counter (+1 a message, big-endian)
//   9  time       4  unix seconds, big-endian
//  13  length     2  the number of bytes after it (payload and checksum)
//  15  payload       type 1: text of 5-30 letters; type 2: a 2-byte status (0-3) and 8 random
//                    bytes; type 3: 4-40 random bytes
//  end-4 crc      4  CRC-32 of all the bytes before it, big-endian
Sample Synthetic(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Sample s;
  uint32_t sequence = 70000 + static_cast<uint32_t>(uniform(0, 1000));
  uint32_t time = 1700000000;
  for (size_t i = 0; i < n; ++i) {
    const int type = uniform(1, 3);
    std::string payload;
    std::set<uint32_t> inner;
    if (type == 1) {
      const int words = uniform(5, 30);
      for (int k = 0; k < words; ++k) payload.push_back(static_cast<char>('a' + uniform(0, 25)));
    } else if (type == 2) {
      PutBe(&payload, static_cast<uint64_t>(uniform(0, 3)), 2);
      for (int k = 0; k < 8; ++k) payload.push_back(static_cast<char>(uniform(0, 255)));
      inner.insert(17);
    } else {
      const int len = uniform(4, 40);
      for (int k = 0; k < len; ++k) payload.push_back(static_cast<char>(uniform(0, 255)));
    }
    std::string m = "\xfe\xed\xfa\xce";
    m.push_back(static_cast<char>(type));
    PutBe(&m, sequence++, 4);
    time += static_cast<uint32_t>(uniform(0, 9));
    PutBe(&m, time, 4);
    PutBe(&m, payload.size() + 4, 2);
    m += payload;
    PutBe(&m, crc32(0, reinterpret_cast<const Bytef*>(m.data()), static_cast<uInt>(m.size())), 4);
    for (uint32_t b : {4u, 5u, 9u, 13u, 15u}) inner.insert(b);
    inner.insert(static_cast<uint32_t>(m.size() - 4));
    s.messages.push_back(std::move(m));
    s.truth.push_back(std::move(inner));
  }
  return s;
}

struct Score {
  size_t tp = 0, fp = 0, fn = 0;
  double precision() const { return tp + fp == 0 ? 1.0 : double(tp) / double(tp + fp); }
  double recall() const { return tp + fn == 0 ? 1.0 : double(tp) / double(tp + fn); }
};

Score ScoreBoundaries(const InferredFormat& f, const std::vector<std::set<uint32_t>>& truth) {
  Score s;
  for (size_t i = 0; i < truth.size(); ++i) {
    const std::set<uint32_t> got(f.boundaries[i].begin(), f.boundaries[i].end());
    for (uint32_t b : got) (truth[i].count(b) ? s.tp : s.fp)++;
    for (uint32_t b : truth[i]) s.fn += got.count(b) ? 0 : 1;
  }
  return s;
}

const InferredField* FieldAt(const MessageType& t, int64_t offset) {
  for (const InferredField& f : t.fields) {
    if (f.offset == offset && !f.from_end) return &f;
  }
  return nullptr;
}

TEST(FormatInferenceTest, SyntheticProtocolBoundariesAndKinds) {
  const Sample s = Synthetic(600, 7);
  Result<InferredFormat> f = InferFormat(s.messages);
  ASSERT_TRUE(f.has_value()) << f.error().message();
  const Score score = ScoreBoundaries(*f, s.truth);
  EXPECT_GE(score.precision(), 0.95) << FormatInferenceSummary(*f);
  EXPECT_GE(score.recall(), 0.95) << FormatInferenceSummary(*f);

  // Three types, by the type byte at offset 4.
  ASSERT_EQ(f->types.size(), 3u) << FormatInferenceSummary(*f);
  for (const MessageType& t : f->types) {
    SCOPED_TRACE(t.name);
    ASSERT_FALSE(t.selector.empty());
    const InferredField* magic = FieldAt(t, 0);
    ASSERT_NE(magic, nullptr);
    EXPECT_EQ(magic->kind, FieldKind::kConstant);
    EXPECT_EQ(magic->length, 4u);
    ASSERT_FALSE(magic->values.empty());
    EXPECT_EQ(magic->values[0].first, "feedface");
    const InferredField* type = FieldAt(t, 4);
    ASSERT_NE(type, nullptr);
    EXPECT_EQ(type->kind, FieldKind::kEnumeration);
    EXPECT_EQ(t.selector[0].first, type->name);
    const InferredField* sequence = FieldAt(t, 5);
    ASSERT_NE(sequence, nullptr);
    EXPECT_EQ(sequence->kind, FieldKind::kCounter);
    EXPECT_EQ(sequence->length, 4u);
    EXPECT_EQ(sequence->encoding, FieldEncoding::kUintBe);
    const InferredField* time = FieldAt(t, 9);
    ASSERT_NE(time, nullptr);
    EXPECT_EQ(time->kind, FieldKind::kTimestamp);
    EXPECT_EQ(time->epoch, "unix");
    const InferredField* length = FieldAt(t, 13);
    ASSERT_NE(length, nullptr);
    EXPECT_EQ(length->kind, FieldKind::kLength);
    EXPECT_EQ(length->length, 2u);
    EXPECT_EQ(length->measures.from_offset, 15u);
    const InferredField& crc = t.fields.back();
    EXPECT_EQ(crc.kind, FieldKind::kChecksum);
    EXPECT_TRUE(crc.from_end);
    EXPECT_EQ(crc.algorithm, "crc32");
    EXPECT_EQ(crc.covers_from, 0u);
    EXPECT_EQ(t.mismatched, 0u);
    if (t.selector[0].second == "01") {
      const InferredField* text = FieldAt(t, 15);
      ASSERT_NE(text, nullptr);
      EXPECT_EQ(text->kind, FieldKind::kText);
    }
    if (t.selector[0].second == "02") {
      const InferredField* status = FieldAt(t, 15);
      ASSERT_NE(status, nullptr);
      EXPECT_EQ(status->length, 2u);
    }
  }
}

// A fixed-length little-endian protocol with a 16-bit counter, an NTP timestamp, text padded
// with NULs and an XOR check byte.
TEST(FormatInferenceTest, FixedLengthLittleEndianProtocol) {
  std::mt19937 rng(3);
  std::vector<std::string> messages;
  std::vector<std::set<uint32_t>> truth;
  uint16_t counter = 65500;  // wraps
  for (int i = 0; i < 300; ++i) {
    std::string m = "\x7e\x01";                                     // 0: constant
    PutLe(&m, counter++, 2);                                        // 2: counter
    PutBe(&m, (uint64_t{3900000000u + i * 13u} << 32) | rng(), 8);  // 4: NTP timestamp
    std::string name = i % 3 == 0 ? "pump" : i % 3 == 1 ? "valve-7" : "sensor";
    name.resize(12, '\0');
    m += name;  // 12: text
    uint8_t x = 0;
    for (char c : m) x ^= static_cast<uint8_t>(c);
    m.push_back(static_cast<char>(x));  // 24: xor8
    messages.push_back(m);
    truth.push_back({2, 4, 12, 24});
  }
  Result<InferredFormat> f = InferFormat(messages);
  ASSERT_TRUE(f.has_value());
  const Score score = ScoreBoundaries(*f, truth);
  EXPECT_GE(score.precision(), 0.9) << FormatInferenceSummary(*f);
  EXPECT_GE(score.recall(), 0.9) << FormatInferenceSummary(*f);
  ASSERT_EQ(f->types.size(), 1u);
  const MessageType& t = f->types[0];
  ASSERT_NE(FieldAt(t, 2), nullptr);
  EXPECT_EQ(FieldAt(t, 2)->kind, FieldKind::kCounter);
  EXPECT_EQ(FieldAt(t, 2)->encoding, FieldEncoding::kUintLe);
  ASSERT_NE(FieldAt(t, 4), nullptr);
  EXPECT_EQ(FieldAt(t, 4)->kind, FieldKind::kTimestamp);
  EXPECT_EQ(FieldAt(t, 4)->epoch, "ntp");
  ASSERT_NE(FieldAt(t, 12), nullptr);
  EXPECT_EQ(FieldAt(t, 12)->kind, FieldKind::kText);
  EXPECT_EQ(t.fields.back().kind, FieldKind::kChecksum);
  EXPECT_EQ(t.fields.back().algorithm, "xor8");
}

// Walks a message with a type's codec spec (the sequential layout of the ISO 8583-style codec)
// as that codec would: the field starts, or nullopt when the fields do not cover the message
// exactly.
std::optional<std::vector<uint32_t>> WalkCodecSpec(const nlohmann::ordered_json& spec,
                                                   std::string_view m) {
  const auto& fields = spec["fields"];
  size_t trailer = 0;
  bool after_rest = false;
  for (const auto& f : fields) {
    if (after_rest) trailer += f["length"].get<size_t>();
    if (f.contains("rest")) after_rest = true;
  }
  std::map<std::string, uint64_t> values;
  std::vector<uint32_t> starts;
  size_t at = 0;
  for (const auto& f : fields) {
    size_t length = 0;
    if (f.contains("length")) {
      length = f["length"].get<size_t>();
    } else if (f.contains("length_field")) {
      const auto it = values.find(f["length_field"].get<std::string>());
      if (it == values.end()) return std::nullopt;  // not an earlier uint field
      const int64_t n = static_cast<int64_t>(it->second) + f.value("length_adjust", int64_t{0});
      if (n < 0) return std::nullopt;
      length = static_cast<size_t>(n);
    } else if (f.value("rest", false)) {
      if (m.size() < at + trailer) return std::nullopt;
      length = m.size() - at - trailer;
    } else {
      return std::nullopt;  // no length rule
    }
    if (at + length > m.size()) return std::nullopt;
    if (f["type"] == "uint") {
      EXPECT_LE(length, 8u);
      uint64_t v = 0;
      for (size_t i = 0; i < length; ++i) {
        const size_t k = f["encoding"] == "uint-le" ? length - 1 - i : i;
        v = v << 8 | static_cast<uint8_t>(m[at + k]);
      }
      values[f["name"].get<std::string>()] = v;
    }
    if (at > 0) starts.push_back(static_cast<uint32_t>(at));
    at += length;
  }
  if (at != m.size()) return std::nullopt;
  return starts;
}

TEST(FormatInferenceTest, CodecSpecReadsEveryMessageAtTheInferredBoundaries) {
  const Sample s = Synthetic(300, 9);
  Result<InferredFormat> f = InferFormat(s.messages);
  ASSERT_TRUE(f.has_value());
  const nlohmann::ordered_json j = InferredFormatJson(*f, "synthetic");
  for (size_t i = 0; i < s.messages.size(); ++i) {
    const auto& spec = j["message_types"][f->type_of[i]]["codec_spec"];
    ASSERT_EQ(spec["layout"], "sequential");
    std::optional<std::vector<uint32_t>> starts = WalkCodecSpec(spec, s.messages[i]);
    ASSERT_TRUE(starts.has_value()) << "message " << i << ": " << spec.dump(1);
    // Every field start is an inferred boundary (items and records add more inside fields).
    for (uint32_t b : *starts) {
      EXPECT_TRUE(std::find(f->boundaries[i].begin(), f->boundaries[i].end(), b) !=
                  f->boundaries[i].end())
          << "message " << i << " boundary " << b;
    }
  }
}

// A register read like Modbus's response: a function code, an id, a byte count and 2-byte
// registers: an array of 2-byte items after a length of the rest.
TEST(FormatInferenceTest, ArrayOfItems) {
  std::mt19937 rng(5);
  std::vector<std::string> messages;
  std::vector<std::set<uint32_t>> truth;
  for (int i = 0; i < 200; ++i) {
    const int registers = 1 + static_cast<int>(rng() % 12);
    std::string m = "\x03";
    m.push_back(static_cast<char>(rng() % 4));
    m.push_back(static_cast<char>(registers * 2));
    for (int r = 0; r < registers; ++r) PutBe(&m, rng() % 3000, 2);
    std::set<uint32_t> b = {1, 2, 3};
    for (int r = 1; r < registers; ++r) b.insert(static_cast<uint32_t>(3 + 2 * r));
    messages.push_back(m);
    truth.push_back(b);
  }
  Result<InferredFormat> f = InferFormat(messages);
  ASSERT_TRUE(f.has_value());
  const Score score = ScoreBoundaries(*f, truth);
  EXPECT_GE(score.precision(), 0.95) << FormatInferenceSummary(*f);
  EXPECT_GE(score.recall(), 0.95) << FormatInferenceSummary(*f);
  ASSERT_EQ(f->types.size(), 1u);
  const InferredField& tail = f->types[0].fields.back();
  EXPECT_EQ(tail.item_length, 2u) << FormatInferenceSummary(*f);
  EXPECT_EQ(tail.layout, FieldLayout::kLengthFrom);
  EXPECT_EQ(tail.length_field, "length_2");
}

// Options like BOOTP's after a fixed header: tag, length, value; 00 pads, ff ends.
TEST(FormatInferenceTest, TagLengthValueRecords) {
  std::mt19937 rng(6);
  std::vector<std::string> messages;
  std::vector<std::set<uint32_t>> truth;
  for (int i = 0; i < 200; ++i) {
    std::string m = "\x35";
    m.push_back(static_cast<char>(rng() % 4));
    std::set<uint32_t> b = {1, 2};
    const int options = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < options; ++k) {
      const auto at = static_cast<uint32_t>(m.size());
      const int length = static_cast<int>(rng() % 6);
      m.push_back(static_cast<char>(10 + rng() % 40));
      m.push_back(static_cast<char>(length));
      for (int v = 0; v < length; ++v) m.push_back(static_cast<char>(rng()));
      b.insert({at, at + 1});
      if (length > 0) b.insert(at + 2);
    }
    if (rng() % 2) {
      b.insert(static_cast<uint32_t>(m.size()));
      m.push_back('\x00');
    }
    b.insert(static_cast<uint32_t>(m.size()));
    m.push_back('\xff');
    messages.push_back(m);
    truth.push_back(b);
  }
  Result<InferredFormat> f = InferFormat(messages);
  ASSERT_TRUE(f.has_value());
  const Score score = ScoreBoundaries(*f, truth);
  EXPECT_GE(score.precision(), 0.95) << FormatInferenceSummary(*f);
  EXPECT_GE(score.recall(), 0.95) << FormatInferenceSummary(*f);
  ASSERT_EQ(f->types.size(), 1u);
  const InferredField& tail = f->types[0].fields.back();
  ASSERT_EQ(tail.kind, FieldKind::kRecords) << FormatInferenceSummary(*f);
  EXPECT_EQ(tail.offset, 2);
  EXPECT_EQ(tail.records.tag_size, 1u);
  EXPECT_EQ(tail.records.length_size, 1u);
  EXPECT_EQ(tail.records.single_byte_tags, (std::vector<uint8_t>{0x00, 0xff}));
}

// NTP-like: four 1-byte fields drawn independently, a 4-byte reference id that one of eight
// servers sends (its bytes go together), then a unix timestamp. The id is one field, the four
// bytes before it four. (Random bytes after the id would join its low byte, as the low byte
// of one big-endian integer: docs/inference.md, limits.)
TEST(FormatInferenceTest, DependentBytesAtAWordAreOneIdentifier) {
  std::mt19937 rng(8);
  const uint32_t servers[] = {0x0a6400c8, 0xc0a80101, 0xac100a05, 0x4e13fe02,
                              0x8d0c2b11, 0x12d4c877, 0x59e03c40, 0xb2a1f00d};
  std::vector<std::string> messages;
  std::vector<std::set<uint32_t>> truth;
  for (int i = 0; i < 300; ++i) {
    std::string m;
    m.push_back(static_cast<char>(0x23 + rng() % 3));
    m.push_back(static_cast<char>(rng() % 4));
    m.push_back(static_cast<char>(6 + rng() % 5));
    m.push_back(static_cast<char>(0xe9 + rng() % 7));
    PutBe(&m, servers[rng() % 8], 4);
    PutBe(&m, 1700000000 + rng() % 100000, 4);
    messages.push_back(m);
    truth.push_back({1, 2, 3, 4, 8});
  }
  Result<InferredFormat> f = InferFormat(messages);
  ASSERT_TRUE(f.has_value());
  const Score score = ScoreBoundaries(*f, truth);
  EXPECT_GE(score.precision(), 0.95) << FormatInferenceSummary(*f);
  EXPECT_GE(score.recall(), 0.95) << FormatInferenceSummary(*f);
  ASSERT_EQ(f->types.size(), 1u);
  const InferredField* id = FieldAt(f->types[0], 4);
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->length, 4u);
  EXPECT_EQ(id->kind, FieldKind::kEnumeration);
  EXPECT_EQ(id->distinct, 8u);
}

// BOOTP-like: a type byte, 4 random bytes, 5 bytes of zero padding, a 10-byte name that only
// replies fill in, then a type-dependent tail. In requests the padding and the empty name are
// both zeros, yet the name starts where the columns of all messages start to vary.
TEST(FormatInferenceTest, ConstantRunsEndWhereAFieldVariesInAnotherType) {
  std::mt19937 rng(12);
  std::vector<std::string> messages;
  std::vector<std::set<uint32_t>> truth;
  for (int i = 0; i < 300; ++i) {
    const bool reply = i % 2 == 1;
    std::string m(1, reply ? '\x02' : '\x01');
    PutBe(&m, rng(), 4);
    m += std::string(5, '\0');
    std::string name = reply ? "srv-" + std::to_string(rng() % 1000) : "";
    name.resize(10, '\0');
    m += name;
    m += std::string(reply ? 8 + rng() % 8 : 2 + rng() % 4, '\x7f');
    messages.push_back(m);
    truth.push_back({1, 5, 10, 20});
  }
  Result<InferredFormat> f = InferFormat(messages);
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->types.size(), 2u) << FormatInferenceSummary(*f);
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::set<uint32_t> got(f->boundaries[i].begin(), f->boundaries[i].end());
    EXPECT_TRUE(got.count(10)) << "message " << i << "\n" << FormatInferenceSummary(*f);
    if (!got.count(10)) break;
  }
}

// BGP-UPDATE-like: a marker, a 2-byte length of the attributes, the attributes as records
// (flags, type, a length of 1 byte or of 2 when flag 0x10 is set, a value), then prefixes to the
// end. The length measures the records, not the rest.
TEST(FormatInferenceTest, RecordsWhoseLengthIsGivenFollowedByTheRest) {
  std::mt19937 rng(21);
  std::vector<std::string> messages;
  std::vector<std::set<uint32_t>> truth;
  for (int i = 0; i < 200; ++i) {
    std::string attributes;
    std::set<uint32_t> b = {2, 4};
    const int count = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < count; ++k) {
      const auto at = static_cast<uint32_t>(4 + attributes.size());
      const bool wide = rng() % 5 == 0;
      const int length = static_cast<int>(rng() % 7);
      attributes.push_back(static_cast<char>(wide ? 0x90 : 0x40));
      attributes.push_back(static_cast<char>(1 + rng() % 14));
      if (wide) attributes.push_back('\0');
      attributes.push_back(static_cast<char>(length));
      for (int v = 0; v < length; ++v) attributes.push_back(static_cast<char>(rng()));
      b.insert({at, at + 2});
      if (length > 0) b.insert(at + (wide ? 4 : 3));
    }
    std::string m = "\xa5\x5a";
    PutBe(&m, attributes.size(), 2);
    m += attributes;
    b.insert(static_cast<uint32_t>(m.size()));
    const int prefixes = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < prefixes; ++k) m.push_back(static_cast<char>(rng()));
    messages.push_back(m);
    truth.push_back(b);
  }
  Result<InferredFormat> f = InferFormat(messages);
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->types.size(), 1u) << FormatInferenceSummary(*f);
  const MessageType& t = f->types[0];
  const InferredField* length = FieldAt(t, 2);
  ASSERT_NE(length, nullptr) << FormatInferenceSummary(*f);
  EXPECT_EQ(length->kind, FieldKind::kLength);
  EXPECT_FALSE(length->measures.to_end);
  const InferredField* records = FieldAt(t, 4);
  ASSERT_NE(records, nullptr);
  EXPECT_EQ(records->kind, FieldKind::kRecords);
  EXPECT_EQ(records->layout, FieldLayout::kLengthFrom);
  EXPECT_EQ(records->records.tag_size, 2u);
  EXPECT_EQ(records->records.wide_length_flag, 0x10);
  EXPECT_EQ(length->measures.field, records->name);
  EXPECT_EQ(t.fields.back().layout, FieldLayout::kRest);
  EXPECT_EQ(t.mismatched, 0u);
  // Boundaries: each record's tag, length and value, and where the prefixes start; the 2-byte
  // tag (flags and type) counts as one field.
  Score score = ScoreBoundaries(*f, truth);
  EXPECT_GE(score.precision(), 0.95) << FormatInferenceSummary(*f);
  EXPECT_GE(score.recall(), 0.95) << FormatInferenceSummary(*f);
}

// A length of the whole message (BGP's) after a magic, then random bytes of random lengths:
// the length field is found and the payload starts after it.
TEST(FormatInferenceTest, WholeMessageLengthWithoutATypeByte) {
  std::mt19937 rng(31);
  std::vector<std::string> messages;
  std::vector<std::set<uint32_t>> truth;
  for (int i = 0; i < 200; ++i) {
    std::string m = "\xca\xfe\xba\xbe";
    const size_t payload = 3 + rng() % 40;
    PutBe(&m, 6 + payload, 2);
    for (size_t k = 0; k < payload; ++k) m.push_back(static_cast<char>(rng()));
    messages.push_back(m);
    truth.push_back({4, 6});
  }
  Result<InferredFormat> f = InferFormat(messages);
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->types.size(), 1u) << FormatInferenceSummary(*f);
  const InferredField* length = FieldAt(f->types[0], 4);
  ASSERT_NE(length, nullptr) << FormatInferenceSummary(*f);
  EXPECT_EQ(length->kind, FieldKind::kLength);
  EXPECT_EQ(length->measures.from_offset, 0u);
  EXPECT_EQ(f->types[0].mismatched, 0u);
  const Score score = ScoreBoundaries(*f, truth);
  EXPECT_GE(score.precision(), 0.95) << FormatInferenceSummary(*f);
  EXPECT_GE(score.recall(), 0.95) << FormatInferenceSummary(*f);
}

// Uniformly random messages of random lengths: no structure to find, so few boundaries.
TEST(FormatInferenceTest, RandomControlHasFewBoundaries) {
  std::mt19937 rng(11);
  std::vector<std::string> messages;
  size_t bytes = 0;
  for (int i = 0; i < 500; ++i) {
    std::string m(static_cast<size_t>(10 + rng() % 54), '\0');
    for (char& c : m) c = static_cast<char>(rng());
    bytes += m.size();
    messages.push_back(std::move(m));
  }
  Result<InferredFormat> f = InferFormat(messages);
  ASSERT_TRUE(f.has_value());
  size_t boundaries = 0;
  for (const auto& b : f->boundaries) boundaries += b.size();
  // At most one boundary in 10 byte gaps (every gap a boundary would be 1 in 1).
  EXPECT_LE(boundaries * 10, bytes) << FormatInferenceSummary(*f);
}

TEST(FormatInferenceTest, TextProtocolIsSplitAtDelimitersAndTypedByKeyword) {
  std::vector<std::string> messages;
  for (int i = 0; i < 40; ++i) {
    messages.push_back(i % 2 ? "GET /item/" + std::to_string(i) + " HTTP/1.0\r\n"
                             : "PUT /item/" + std::to_string(i) + " HTTP/1.0\r\n");
  }
  Result<InferredFormat> f = InferFormat(messages);
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->types.size(), 2u);
  EXPECT_EQ(f->types[0].fields[0].kind, FieldKind::kText);
  // "GET /item/1 HTTP/1.0\r\n": after GET, after the space, after each '/', ...
  EXPECT_EQ(f->boundaries[1], (std::vector<uint32_t>{3, 5, 9, 10, 11, 12, 16, 17, 20}));
}

TEST(FormatInferenceTest, JsonSpecListsTypesAndFields) {
  const Sample s = Synthetic(200, 5);
  Result<InferredFormat> f = InferFormat(s.messages);
  ASSERT_TRUE(f.has_value());
  const nlohmann::ordered_json j = InferredFormatJson(*f, "synthetic");
  EXPECT_EQ(j["format"], "ferry.inferred-spec");
  EXPECT_EQ(j["messages"], 200);
  ASSERT_TRUE(j["message_types"].is_array());
  ASSERT_FALSE(j["message_types"].empty());
  const auto& fields = j["message_types"][0]["fields"];
  EXPECT_EQ(fields[0]["offset"], 0);
  EXPECT_EQ(fields[0]["layout"], "fixed");
  EXPECT_EQ(fields[0]["type"], "constant");
  bool length_seen = false, crc_seen = false;
  for (const auto& field : fields) {
    if (field["type"] == "length") {
      length_seen = true;
      EXPECT_EQ(field["measures"]["target"], "rest");
    }
    if (field["type"] == "checksum") {
      crc_seen = true;
      EXPECT_EQ(field["offset_from_end"], 4);
      EXPECT_EQ(field["algorithm"], "crc32");
    }
  }
  EXPECT_TRUE(length_seen);
  EXPECT_TRUE(crc_seen);
  EXPECT_THAT(FormatInferenceSummary(*f), HasSubstr("crc32 from byte 0"));
}

TEST(FormatInferenceTest, EmptySampleOrMessageIsAnError) {
  Result<InferredFormat> none = InferFormat({});
  ASSERT_FALSE(none.has_value());
  EXPECT_THAT(none.error().message(), HasSubstr("no message"));
  Result<InferredFormat> empty = InferFormat({"ab", ""});
  ASSERT_FALSE(empty.has_value());
  EXPECT_THAT(empty.error().message(), HasSubstr("message 2 is empty"));
}

// Property: on samples of every shape (short, long, with repeated prefixes, lengths, zeros),
// every message gets a type, its boundaries are strictly inside it and increasing, and the
// spec's JSON is built.
TEST(FormatInferenceTest, BoundariesAreInsideEveryMessageOnAnySample) {
  std::mt19937 rng(99);
  for (int sample = 0; sample < 150; ++sample) {
    const size_t n = 1 + rng() % 60;
    const size_t max_length = 1 + rng() % 48;
    std::string prefix(rng() % 6, '\0');
    for (char& c : prefix) c = static_cast<char>(rng() % 3);
    std::vector<std::string> messages;
    for (size_t i = 0; i < n; ++i) {
      std::string m = prefix;
      const size_t extra = 1 + rng() % max_length;
      for (size_t k = 0; k < extra; ++k) {
        const uint32_t r = rng();
        m.push_back(static_cast<char>(r % 4 == 0 ? 0 : r % 4 == 1 ? (r >> 8) % 4 : r >> 16));
      }
      if (rng() % 2 && m.size() >= 2) m[1] = static_cast<char>(m.size());  // a length, often
      messages.push_back(std::move(m));
    }
    Result<InferredFormat> f = InferFormat(messages);
    ASSERT_TRUE(f.has_value()) << "sample " << sample;
    ASSERT_EQ(f->boundaries.size(), n);
    ASSERT_EQ(f->type_of.size(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_LT(f->type_of[i], f->types.size());
      uint32_t previous = 0;
      for (uint32_t b : f->boundaries[i]) {
        ASSERT_GT(b, previous) << "sample " << sample << " message " << i;
        ASSERT_LT(b, messages[i].size()) << "sample " << sample << " message " << i;
        previous = b;
      }
    }
    EXPECT_FALSE(InferredFormatJson(*f, "x").dump().empty());
    EXPECT_FALSE(FormatInferenceSummary(*f).empty());
  }
}

TEST(FormatInferenceTest, TinySamplesDoNotCrash) {
  for (const std::vector<std::string>& messages :
       std::vector<std::vector<std::string>>{{"a"}, {"\x01", "\x02\x03"}, {std::string(3, '\0')}}) {
    Result<InferredFormat> f = InferFormat(messages);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->boundaries.size(), messages.size());
  }
}

// The BinaryInferno samples beside the repository (GPL-3.0, read in place, never copied).
TEST(FormatInferenceTest, SharedProtocolSamplesRun) {
  const std::string dir = std::string(FERRY_SOURCE_DIR) + "/../shared/data/protocols/top-level/100";
  if (!Env::Default()->FileExists(dir + "/modbus.txt.input")) {
    GTEST_SKIP() << dir << " not found: the shared datasets are not beside this clone";
  }
  for (const char* name : {"modbus", "ntp48", "dhcp", "bgp", "random"}) {
    SCOPED_TRACE(name);
    const std::string path = dir + "/" + name + ".txt.input";
    Result<std::string> text = Env::Default()->ReadFile(path);
    ASSERT_TRUE(text.has_value());
    Result<MessageSamples> samples = ParseHexMessages(*text, path);
    ASSERT_TRUE(samples.has_value());
    EXPECT_EQ(samples->messages.size(), 100u);
    Result<InferredFormat> f = InferFormat(samples->messages);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->boundaries.size(), 100u);
    EXPECT_FALSE(f->types.empty());
  }
}

}  // namespace
}  // namespace ferry::legacy
