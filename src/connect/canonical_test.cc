#include "connect/canonical.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/hash.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;

std::string Hex(const Value& v) {
  std::string out;
  AppendCanonical(v, &out);
  return HexEncode(out);
}

std::string Encode(const Value& v) {
  std::string out;
  AppendCanonical(v, &out);
  return out;
}

// Known answers: the exact bytes of version 1 (canonical.h). If one of these changes, every
// stored checksum changes: bump kCanonicalFormatVersion instead of editing the expectation.
TEST(CanonicalTest, KnownAnswerBytes) {
  EXPECT_EQ(Hex(Value()), "00");
  EXPECT_EQ(Hex(Value::Bool(false)), "0100");
  EXPECT_EQ(Hex(Value::Bool(true)), "0101");
  EXPECT_EQ(Hex(Value::Int64(42)), "02000000000000002a");
  EXPECT_EQ(Hex(Value::Int64(-1)), "02ffffffffffffffff");
  EXPECT_EQ(Hex(ParseDecimal("-12.340").value()),
            "030000000000000006"
            "2d31322e3334");
  EXPECT_EQ(Hex(Value::Float64(1.5)), "043ff8000000000000");
  EXPECT_EQ(Hex(Value::Float64(-0.0)), "040000000000000000");
  EXPECT_EQ(Hex(Value::Float64(std::numeric_limits<double>::quiet_NaN())), "047ff8000000000000");
  EXPECT_EQ(Hex(Value::Float64(-std::numeric_limits<double>::infinity())), "04fff0000000000000");
  EXPECT_EQ(Hex(Value::Text("h\xc3\xa9")),
            "050000000000000003"
            "68c3a9");
  EXPECT_EQ(Hex(Value::Text("")), "050000000000000000");
  EXPECT_EQ(Hex(Value::Bytes("")), "060000000000000000");
  EXPECT_EQ(Hex(Value::Bytes(std::string("\x00\xff", 2))),
            "060000000000000002"
            "00ff");
  EXPECT_EQ(Hex(ParseDate("2024-02-29").value()), "0700004d46");  // 19782 days
  EXPECT_EQ(Hex(ParseDate("1969-12-31").value()), "07ffffffff");
  EXPECT_EQ(Hex(ParseDate("infinity").value()), "077fffffff");
  EXPECT_EQ(Hex(ParseTime("00:00:01").value()), "0800000000000f4240");
  EXPECT_EQ(Hex(ParseTimestamp("1970-01-01 00:00:00.000001").value()), "090000000000000001");
  EXPECT_EQ(Hex(ParseTimestampTz("1970-01-01 01:00:00+01").value()), "0a0000000000000000");
  EXPECT_EQ(Hex(ParseUuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").value()),
            "0b"
            "a0eebc999c0b4ef8bb6d6bb9bd380a11");
  EXPECT_EQ(Hex(ParseJsonValue(R"({"b": 1.0, "a": [true]})").value()),
            "0c0000000000000012" + HexEncode(R"({"a":[true],"b":1})"));
}

TEST(CanonicalTest, KnownAnswerRow) {
  std::vector<Value> row = {Value::Int64(42), Value::Text("h\xc3\xa9"), Value()};
  EXPECT_EQ(HexEncode(CanonicalRow(row)),
            "02000000000000002a"
            "05000000000000000368c3a9"
            "00");  // the example in canonical.h
}

// The row hash is XXH3-128 of the encoding; this pins both the function and the byte order.
TEST(CanonicalTest, KnownAnswerRowHashAndChecksum) {
  std::vector<Value> row = {Value::Int64(42), Value::Text("h\xc3\xa9"), Value()};
  Hash128 empty = RowHash("");
  // XXH3-128 of the empty input (xxHash 0.8 reference test vector).
  EXPECT_EQ(fmt::format("{:016x}{:016x}", empty.high, empty.low),
            "99aa06d3014798d86001c324468d497f");
  // Computed independently with the xxhsum 0.8.1 CLI: `xxhsum -H2` of the row's bytes.
  Hash128 hash = RowHash(CanonicalRow(row));
  EXPECT_EQ(fmt::format("{:016x}{:016x}", hash.high, hash.low), "cf1e36c7e3ced2a355337090187cc321");
  RowHasher hasher;
  hasher.AddRow(row);
  hasher.AddRow(row);
  EXPECT_EQ(hasher.checksum().rows, 2);
  EXPECT_EQ(hasher.checksum().ToHex(), "9e3c6d8fc79da546aa66e12030f98642");  // 2 * hash
}

TEST(CanonicalTest, EqualValuesFromDifferentTextFormsEncodeIdentically) {
  auto same = [](const Result<Value>& a, const Result<Value>& b) {
    ASSERT_TRUE(a.has_value()) << a.error().ToString();
    ASSERT_TRUE(b.has_value()) << b.error().ToString();
    EXPECT_EQ(Encode(*a), Encode(*b)) << a->ToDisplay() << " vs " << b->ToDisplay();
  };
  same(ParseDecimal("1.50"), ParseDecimal("1.5"));
  same(ParseDecimal("1.5"), ParseDecimal("15E-1"));
  same(ParseDecimal("-0.00"), ParseDecimal("0"));
  same(ParseDecimal("0001500"), ParseDecimal("1.5e3"));
  same(ParseTimestampTz("2024-01-02 08:34:05+05:30"), ParseTimestampTz("2024-01-02T03:04:05Z"));
  same(ParseTimestampTz("2024-01-01 22:04:05-05"), ParseTimestampTz("2024-01-02T03:04:05Z"));
  same(ParseTimestamp("2024-01-02T03:04:05.500000"), ParseTimestamp("2024-01-02 03:04:05.5"));
  same(ParseUuid("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
       ParseUuid("a0eebc999c0b4ef8bb6d6bb9bd380a11"));
  same(ParseBool("t"), ParseBool("TRUE"));
  same(ParseBool("1"), ParseBool("true"));
  same(ParseFloat64("1e-7"), ParseFloat64("0.0000001"));
  same(ParseFloat64("-0"), ParseFloat64("0.0"));
  same(ParseFloat64("NaN"), Value::Float64(std::bit_cast<double>(0x7ff0000000000001ULL)));
  same(ParseJsonValue(R"({"a": 1.0, "b": [1e2]})"), ParseJsonValue(R"({"b":[100],"a":1})"));
  same(ParseTime("01:02:03.100"), ParseTime("01:02:03.1"));
  same(ParseDate("0001-01-01 BC"), ParseDate("0000-01-01"));
}

TEST(CanonicalTest, NullEmptyTextAndEmptyBytesEncodeDifferently) {
  std::string null = Encode(Value());
  std::string text = Encode(Value::Text(""));
  std::string bytes = Encode(Value::Bytes(""));
  EXPECT_NE(null, text);
  EXPECT_NE(null, bytes);
  EXPECT_NE(text, bytes);
}

TEST(CanonicalTest, TextIntAndDecimalOneDiffer) {
  std::string text = Encode(Value::Text("1"));
  std::string integer = Encode(Value::Int64(1));
  std::string decimal = Encode(ParseDecimal("1").value());
  EXPECT_NE(text, integer);
  EXPECT_NE(integer, decimal);
  EXPECT_NE(text, decimal);
  EXPECT_NE(Encode(Value::Timestamp(0)), Encode(Value::TimestampTz(0)));
}

TEST(CanonicalTest, RowsAreUnambiguous) {
  // The classic concatenation trap: ("ab", "c") vs ("a", "bc"), and a NULL shifting columns.
  std::vector<Value> a = {Value::Text("ab"), Value::Text("c")};
  std::vector<Value> b = {Value::Text("a"), Value::Text("bc")};
  EXPECT_NE(CanonicalRow(a), CanonicalRow(b));
  std::vector<Value> c = {Value(), Value::Text("x")};
  std::vector<Value> d = {Value::Text("x"), Value()};
  EXPECT_NE(CanonicalRow(c), CanonicalRow(d));
  // A text value whose bytes look like an encoded value is still one text value.
  std::string looks_encoded = Encode(Value::Int64(7));
  std::vector<Value> e = {Value::Text(looks_encoded)};
  std::vector<Value> f = {Value::Int64(7)};
  EXPECT_NE(CanonicalRow(e), CanonicalRow(f));
}

// ---- decoding ------------------------------------------------------------------------------

// A random value of a random kind (or NULL), always canonical.
Value RandomValue(std::mt19937_64& random) {
  auto pick = [&](uint64_t n) { return random() % n; };
  auto random_string = [&](size_t max_length, bool utf8) {
    std::string s;
    size_t length = pick(max_length + 1);
    static constexpr std::string_view kPieces[] = {"a",
                                                   "Z",
                                                   "0",
                                                   "'",
                                                   "\n",
                                                   "\xc3\xa9",
                                                   "\xe2\x82\xac",
                                                   "\xf0\x9f\x98\x80",
                                                   std::string_view("\0", 1)};
    while (s.size() < length) {
      if (utf8)
        s += kPieces[pick(std::size(kPieces))];
      else
        s.push_back(static_cast<char>(pick(256)));
    }
    return s;
  };
  switch (pick(13)) {
    case 0: return Value();
    case 1: return Value::Bool(pick(2) == 1);
    case 2: return Value::Int64(static_cast<int64_t>(random()));
    case 3: {
      std::string text = pick(2) ? "-" : "";
      text += std::to_string(random() % 1'000'000'000);
      if (pick(2)) text += "." + std::to_string(random() % 1'000'000);
      if (pick(3) == 0) text += "e" + std::to_string(static_cast<int>(pick(41)) - 20);
      return ParseDecimal(text).value();
    }
    case 4: return Value::Float64(std::bit_cast<double>(random()));
    case 5: return Value::Text(random_string(40, true));
    case 6: return Value::Bytes(random_string(40, false));
    case 7: return Value::Date(static_cast<int32_t>(random()));
    case 8: return Value::Time(static_cast<int64_t>(random() % (kMicrosPerDay + 1)));
    case 9: return Value::Timestamp(static_cast<int64_t>(random()));
    case 10: return Value::TimestampTz(static_cast<int64_t>(random()));
    case 11: {
      UuidBytes uuid;
      for (uint8_t& b : uuid) b = static_cast<uint8_t>(random());
      return Value::Uuid(uuid);
    }
    default: {
      Json json = {{"k" + std::to_string(pick(5)), static_cast<double>(random() % 1000) / 8},
                   {"s", random_string(10, true)},
                   {"list", {pick(2) == 1, nullptr, static_cast<int64_t>(random())}}};
      return JsonValue(json).value();
    }
  }
}

// 0 to 11 random values.
std::vector<Value> RandomRow(std::mt19937_64& random) {
  std::vector<Value> row;
  size_t columns = random() % 12;
  for (size_t c = 0; c < columns; ++c) row.push_back(RandomValue(random));
  return row;
}

TEST(CanonicalDecodeTest, RandomRowsRoundTrip) {
  std::mt19937_64 random(23);
  for (int i = 0; i < 5'000; ++i) {
    const std::vector<Value> row = RandomRow(random);
    std::string encoded = CanonicalRow(row);
    Result<std::vector<Value>> decoded = DecodeCanonicalRow(encoded);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
    ASSERT_EQ(*decoded, row);
    EXPECT_EQ(CanonicalRow(*decoded), encoded);
  }
}

TEST(CanonicalDecodeTest, SizesAreThoseOfTheEncodings) {
  std::mt19937_64 random(31);
  for (int i = 0; i < 5'000; ++i) {
    const std::vector<Value> row = RandomRow(random);
    ASSERT_EQ(CanonicalRowSize(row), CanonicalRow(row).size());
    for (const Value& v : row) ASSERT_EQ(CanonicalSize(v), Encode(v).size()) << v.ToDisplay();
  }
  EXPECT_EQ(CanonicalRowSize({}), 0u);
}

TEST(CanonicalDecodeTest, ValueByValue) {
  std::vector<Value> row = {Value::Int64(1), Value(), Value::Text("x")};
  std::string encoded = CanonicalRow(row);
  std::string_view in = encoded;
  EXPECT_EQ(DecodeCanonical(&in).value(), Value::Int64(1));
  EXPECT_EQ(DecodeCanonical(&in).value(), Value());
  EXPECT_EQ(DecodeCanonical(&in).value(), Value::Text("x"));
  EXPECT_TRUE(in.empty());
}

TEST(CanonicalDecodeTest, EveryTruncationIsAnError) {
  std::mt19937_64 random(29);
  for (int i = 0; i < 300; ++i) {
    Value v = RandomValue(random);
    std::string encoded = Encode(v);
    for (size_t cut = 0; cut < encoded.size(); ++cut) {
      std::string_view in = std::string_view(encoded).substr(0, cut);
      Result<Value> decoded = DecodeCanonical(&in);
      ASSERT_FALSE(decoded.has_value()) << v.ToDisplay() << " cut at " << cut;
      EXPECT_EQ(decoded.error().code(), StatusCode::kDataLoss);
    }
  }
}

TEST(CanonicalDecodeTest, RejectsNonCanonicalBytes) {
  auto error = [](std::string bytes) {
    Result<std::vector<Value>> row = DecodeCanonicalRow(bytes);
    return row ? std::string("decoded") : row.error().message();
  };
  using std::string_literals::operator""s;
  EXPECT_EQ(error("\x0d"s), "canonical value at byte 0: unknown tag 0d (format version 1)");
  EXPECT_EQ(error("\x00\x01\x02"s), "canonical value at byte 1: bool byte is 02");
  EXPECT_THAT(error("\x04\x80\x00\x00\x00\x00\x00\x00\x00"s),
              HasSubstr("float64 bits 8000000000000000 are a non-canonical NaN or -0"));
  EXPECT_THAT(error("\x04\x7f\xf0\x00\x00\x00\x00\x00\x01"s), HasSubstr("non-canonical NaN"));
  EXPECT_THAT(error("\x03\x00\x00\x00\x00\x00\x00\x00\x03"s
                    "1.0"),
              HasSubstr("decimal text is not in canonical form (canonical: 1)"));
  EXPECT_THAT(error("\x03\x00\x00\x00\x00\x00\x00\x00\x01"s
                    "x"),
              HasSubstr("canonical value at byte 0: decimal decimal `x`: unexpected"));
  EXPECT_THAT(error("\x05\x00\x00\x00\x00\x00\x00\x00\x01\xff"s),
              HasSubstr("text invalid UTF-8 at byte 0"));
  EXPECT_THAT(error("\x08\x00\x00\x00\x14\x1d\xd7\x60\x01"s),
              HasSubstr("time 86400000001 us is not a time of day"));
  EXPECT_THAT(error("\x0c\x00\x00\x00\x00\x00\x00\x00\x08{\"a\": 1}"s),
              HasSubstr("json text is not in canonical form"));
  EXPECT_THAT(error("\x05\xff\xff\xff\xff\xff\xff\xff\xff"s),
              HasSubstr("a text needs 18446744073709551615 bytes, 0 remain"));
  EXPECT_THAT(error("\x00\x00\x02\x00"s), HasSubstr("canonical value at byte 2: an int64 needs 8"));
}

// ---- checksums -----------------------------------------------------------------------------

std::vector<std::vector<Value>> RandomRows(std::mt19937_64& random, size_t count) {
  std::vector<std::vector<Value>> rows(count);
  for (auto& row : rows) {
    for (int c = 0; c < 4; ++c) row.push_back(RandomValue(random));
  }
  return rows;
}

ChunkChecksum ChecksumOf(const std::vector<std::vector<Value>>& rows) {
  RowHasher hasher;
  for (const auto& row : rows) hasher.AddRow(row);
  return hasher.checksum();
}

TEST(ChunkChecksumTest, OrderIndependent) {
  std::mt19937_64 random(31);
  for (int trial = 0; trial < 20; ++trial) {
    auto rows = RandomRows(random, 200);
    ChunkChecksum before = ChecksumOf(rows);
    std::shuffle(rows.begin(), rows.end(), random);
    EXPECT_EQ(ChecksumOf(rows), before);
  }
}

TEST(ChunkChecksumTest, DetectsDuplicatesLossAndChange) {
  std::mt19937_64 random(37);
  auto rows = RandomRows(random, 100);
  ChunkChecksum original = ChecksumOf(rows);

  auto duplicated = rows;
  duplicated.push_back(rows[10]);
  ChunkChecksum with_duplicate = ChecksumOf(duplicated);
  EXPECT_NE(with_duplicate, original);
  EXPECT_NE(with_duplicate.sum, original.sum);  // even with the row count set aside

  // A row twice instead of two different rows: same count, different sum. XOR would cancel a
  // pair of duplicates; a sum does not.
  auto swapped = rows;
  swapped[11] = rows[10];
  EXPECT_EQ(ChecksumOf(swapped).rows, original.rows);
  EXPECT_NE(ChecksumOf(swapped).sum, original.sum);
  auto doubled = rows;
  doubled.push_back(rows[5]);
  doubled.push_back(rows[5]);
  EXPECT_NE(ChecksumOf(doubled).sum, original.sum);

  auto lost = rows;
  lost.pop_back();
  EXPECT_NE(ChecksumOf(lost), original);

  auto changed = rows;
  changed[50][0] = Value::Text("changed");
  EXPECT_NE(ChecksumOf(changed).sum, original.sum);
}

TEST(ChunkChecksumTest, CombiningIsAddition) {
  std::mt19937_64 random(41);
  auto rows = RandomRows(random, 300);
  ChunkChecksum whole = ChecksumOf(rows);
  // Split into three parts hashed separately, as parallel workers would.
  std::vector<std::vector<Value>> a(rows.begin(), rows.begin() + 100);
  std::vector<std::vector<Value>> b(rows.begin() + 100, rows.begin() + 170);
  std::vector<std::vector<Value>> c(rows.begin() + 170, rows.end());
  EXPECT_EQ(ChecksumOf(a) + ChecksumOf(b) + ChecksumOf(c), whole);
  EXPECT_EQ(ChecksumOf(c) + ChecksumOf(a) + ChecksumOf(b), whole);
  EXPECT_EQ(ChecksumOf(a) + ChunkChecksum(), ChecksumOf(a));
}

TEST(ChunkChecksumTest, SumCarriesAcrossThe64BitHalves) {
  ChunkChecksum checksum;
  checksum.AddRowHash({.high = 0, .low = ~uint64_t{0}});
  checksum.AddRowHash({.high = 0, .low = 1});
  EXPECT_EQ(checksum.ToHex(), "00000000000000010000000000000000");
  checksum.AddRowHash({.high = ~uint64_t{0}, .low = 0});  // wraps modulo 2^128
  EXPECT_EQ(checksum.ToHex(), "00000000000000000000000000000000");
  EXPECT_EQ(checksum.rows, 3);
}

TEST(ChunkChecksumTest, HexRoundTrip) {
  std::mt19937_64 random(43);
  ChunkChecksum checksum = ChecksumOf(RandomRows(random, 10));
  std::string hex = checksum.ToHex();
  EXPECT_EQ(hex.size(), 32u);
  EXPECT_EQ(ChunkChecksum::FromHex(10, hex).value(), checksum);
  std::string upper = hex;
  std::ranges::transform(upper, upper.begin(), [](char c) { return std::toupper(c); });
  EXPECT_EQ(ChunkChecksum::FromHex(10, upper).value(), checksum);
  EXPECT_EQ(ChunkChecksum::FromHex(1, "12").error().message(),
            "chunk checksum `12`: expected 32 hex digits");
  EXPECT_FALSE(ChunkChecksum::FromHex(1, std::string(31, '0') + "g").has_value());
}

TEST(ChunkChecksumTest, AddCanonicalRowEqualsAddRow) {
  std::mt19937_64 random(47);
  auto rows = RandomRows(random, 50);
  RowHasher by_value;
  RowHasher by_bytes;
  for (const auto& row : rows) {
    by_value.AddRow(row);
    by_bytes.AddCanonicalRow(CanonicalRow(row));
  }
  EXPECT_EQ(by_value.checksum(), by_bytes.checksum());
  by_value.Reset();
  EXPECT_EQ(by_value.checksum(), ChunkChecksum());
}

}  // namespace
}  // namespace ferry
