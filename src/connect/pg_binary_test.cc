// PostgreSQL's binary COPY: the codec on its own (known bytes, stream framing), then the
// connector against a real PostgreSQL 15: random values of every type written in binary and read
// back in binary must equal both PostgreSQL's own text output of what it stored (an independent
// implementation of every type) and what the text path writes and reads; types without a codec
// fall back to text; values that do not fit are refused naming the table, column and row.
#include "connect/pg_binary.h"

#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "connect/connector.h"
#include "harness/shared_servers.h"

namespace ferry::connect_internal {
namespace {

using ::testing::HasSubstr;

Value Decimal(std::string_view text) {
  Result<Value> v = ParseDecimal(text);
  EXPECT_TRUE(v.has_value()) << text;
  return v.value_or(Value());
}

// The field AppendPgBinaryField writes, without its length prefix.
std::string Encoded(uint32_t type, const Value& v) {
  std::string out;
  Result<PgEncode> r = AppendPgBinaryField(type, v, &out);
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r.value_or(PgEncode::kNeedsText), PgEncode::kDone) << v.ToDisplay();
  if (out.size() < 4) return "";
  EXPECT_EQ(out.size() - 4, (uint32_t{static_cast<unsigned char>(out[0])} << 24 |
                             uint32_t{static_cast<unsigned char>(out[1])} << 16 |
                             uint32_t{static_cast<unsigned char>(out[2])} << 8 |
                             uint32_t{static_cast<unsigned char>(out[3])}));
  return out.substr(4);
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

Value Decoded(uint32_t type, std::string_view bytes) {
  Result<Value> v = DecodePgBinaryField(type, bytes);
  EXPECT_TRUE(v.has_value()) << v.error().ToString();
  return v.value_or(Value());
}

// ---- the codec, without a server -------------------------------------------------------------

TEST(PgBinaryTest, NumericKnownBytes) {
  // ndigits, weight, sign, dscale, then base-10000 digits.
  EXPECT_EQ(Encoded(pg_type::kNumeric, Decimal("-123.45")),
            Bytes({0, 2, 0, 0, 0x40, 0, 0, 2, 0, 123, 0x11, 0x94}));
  EXPECT_EQ(Encoded(pg_type::kNumeric, Decimal("0.0001")),
            Bytes({0, 1, 0xff, 0xff, 0, 0, 0, 4, 0, 1}));
  EXPECT_EQ(Encoded(pg_type::kNumeric, Decimal("10000")), Bytes({0, 1, 0, 1, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(Encoded(pg_type::kNumeric, Decimal("0.00001")),
            Bytes({0, 1, 0xff, 0xfe, 0, 0, 0, 5, 0x03, 0xe8}));
  EXPECT_EQ(Encoded(pg_type::kNumeric, Decimal("0")), Bytes({0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Encoded(pg_type::kNumeric, Decimal("NaN")), Bytes({0, 0, 0, 0, 0xc0, 0, 0, 0}));
  EXPECT_EQ(Encoded(pg_type::kNumeric, Decimal("Infinity")), Bytes({0, 0, 0, 0, 0xd0, 0, 0, 0}));
  EXPECT_EQ(Encoded(pg_type::kNumeric, Decimal("-Infinity")), Bytes({0, 0, 0, 0, 0xf0, 0, 0, 0}));
  // An int64 and a float64 go into numeric as their digits.
  EXPECT_EQ(Encoded(pg_type::kNumeric, Value::Int64(-20000)),
            Bytes({0, 1, 0, 1, 0x40, 0, 0, 0, 0, 2}));
  EXPECT_EQ(Encoded(pg_type::kNumeric, Value::Float64(0.5)),
            Bytes({0, 1, 0xff, 0xff, 0, 0, 0, 1, 0x13, 0x88}));

  // What numeric_send gives for 1.50 in a numeric(10,2): dscale 2, the digits 1 and 5000.
  EXPECT_EQ(Decoded(pg_type::kNumeric, Bytes({0, 2, 0, 0, 0, 0, 0, 2, 0, 1, 0x13, 0x88})),
            Decimal("1.5"));
  // 0.00 with no digits and -0 are 0; a weight past the digits gives zeros.
  EXPECT_EQ(Decoded(pg_type::kNumeric, Bytes({0, 0, 0, 0, 0x40, 0, 0, 2})), Decimal("0"));
  EXPECT_EQ(Decoded(pg_type::kNumeric, Bytes({0, 1, 0, 2, 0, 0, 0, 0, 0, 7})),
            Decimal("700000000"));
  EXPECT_EQ(Decoded(pg_type::kNumeric, Bytes({0, 0, 0, 0, 0xd0, 0, 0, 0})), Decimal("Infinity"));
  EXPECT_FALSE(DecodePgBinaryField(pg_type::kNumeric, Bytes({0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10})));
  EXPECT_FALSE(DecodePgBinaryField(pg_type::kNumeric, Bytes({0, 2, 0, 0, 0, 0, 0, 0, 0, 1})));
  // Forms numeric_send never produces but a decoder must still read canonically: a leading
  // zero group, zero digits after the point, a negative zero with a scale.
  EXPECT_EQ(Decoded(pg_type::kNumeric, Bytes({0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5})), Decimal("5"));
  EXPECT_EQ(Decoded(pg_type::kNumeric, Bytes({0, 2, 0, 0, 0, 0, 0, 4, 0, 3, 0, 0})), Decimal("3"));
  EXPECT_EQ(Decoded(pg_type::kNumeric, Bytes({0, 1, 0xff, 0xff, 0x40, 0, 0, 3, 0, 0})),
            Decimal("0"));
  EXPECT_EQ(Decoded(pg_type::kNumeric, Bytes({0, 1, 0xff, 0xff, 0x40, 0, 0, 2, 0x13, 0x88})),
            Decimal("-0.5"));
}

// The reader refills one batch: a slot that held text, then NULL, then a number, then shorter
// text, holds each in turn exactly, whatever it held before.
TEST(PgBinaryTest, RowDecodingReusesSlots) {
  const std::vector<uint32_t> types = {pg_type::kText, pg_type::kNumeric};
  std::vector<Value> row;
  size_t failed = 99;
  const std::string long_text(100, 'x');
  const std::string numeric = Bytes({0, 2, 0, 0, 0, 0, 0, 2, 0, 1, 0x13, 0x88});
  std::vector<PgCopyField> fields = {
      {.data = long_text.data(), .size = static_cast<int32_t>(long_text.size())},
      {.data = numeric.data(), .size = static_cast<int32_t>(numeric.size())}};
  ASSERT_TRUE(DecodePgBinaryRow(types, fields, &row, &failed).ok());
  EXPECT_EQ(row, (std::vector<Value>{Value::Text(long_text), Decimal("1.5")}));
  fields[0].size = -1;
  ASSERT_TRUE(DecodePgBinaryRow(types, fields, &row, &failed).ok());
  EXPECT_EQ(row, (std::vector<Value>{Value(), Decimal("1.5")}));
  fields[0] = {.data = "ab", .size = 2};
  ASSERT_TRUE(DecodePgBinaryRow(types, fields, &row, &failed).ok());
  EXPECT_EQ(row, (std::vector<Value>{Value::Text("ab"), Decimal("1.5")}));
  const std::string bad = Bytes({0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10});  // digit 10000
  fields[1] = {.data = bad.data(), .size = static_cast<int32_t>(bad.size())};
  EXPECT_FALSE(DecodePgBinaryRow(types, fields, &row, &failed).ok());
  EXPECT_EQ(failed, 1u);
}

TEST(PgBinaryTest, RandomNumericsRoundTrip) {
  std::mt19937_64 random(20240611);
  for (int i = 0; i < 20000; ++i) {
    std::string text = random() % 2 ? "-" : "";
    const size_t integer = random() % 30, fraction = random() % 30;
    for (size_t k = 0; k < integer; ++k) text.push_back(static_cast<char>('0' + random() % 10));
    if (integer == 0) text.push_back('0');
    if (fraction > 0) text.push_back('.');
    for (size_t k = 0; k < fraction; ++k) text.push_back(static_cast<char>('0' + random() % 10));
    if (random() % 4 == 0) text += fmt::format("e{}", static_cast<int>(random() % 200) - 100);
    const Value v = Decimal(text);
    EXPECT_EQ(Decoded(pg_type::kNumeric, Encoded(pg_type::kNumeric, v)), v) << text;
  }
}

TEST(PgBinaryTest, ScalarsKnownBytes) {
  EXPECT_EQ(Encoded(pg_type::kInt2, Value::Int64(-2)), Bytes({0xff, 0xfe}));
  EXPECT_EQ(Encoded(pg_type::kInt4, Value::Int64(258)), Bytes({0, 0, 1, 2}));
  EXPECT_EQ(Encoded(pg_type::kFloat8, Value::Float64(1.0)), Bytes({0x3f, 0xf0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Encoded(pg_type::kFloat4, Value::Float64(1.0)), Bytes({0x3f, 0x80, 0, 0}));
  EXPECT_EQ(Encoded(pg_type::kBool, Value::Bool(true)), Bytes({1}));
  // Dates count days from 2000-01-01, timestamps microseconds.
  EXPECT_EQ(Encoded(pg_type::kDate, Value::Date(10957)), Bytes({0, 0, 0, 0}));
  EXPECT_EQ(Encoded(pg_type::kDate, Value::Date(kDateInfinity)), Bytes({0x7f, 0xff, 0xff, 0xff}));
  EXPECT_EQ(Encoded(pg_type::kTimestamp, Value::Timestamp(946684800000001)),
            Bytes({0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(Encoded(pg_type::kTimestampTz, Value::TimestampTz(kTimestampMinusInfinity)),
            Bytes({0x80, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Encoded(pg_type::kJsonb, *ParseJsonValue("[1]")), Bytes({1, '[', '1', ']'}));
  EXPECT_EQ(Encoded(pg_type::kVarchar, Value::Int64(42)), "42");
  EXPECT_EQ(Encoded(pg_type::kText, Value::Bytes("\x01")), "\\x01");

  EXPECT_EQ(Decoded(pg_type::kDate, Bytes({0xff, 0xff, 0xff, 0xff})), Value::Date(10956));
  EXPECT_EQ(Decoded(pg_type::kDate, Bytes({0x80, 0, 0, 0})), Value::Date(kDateMinusInfinity));
  EXPECT_EQ(Decoded(pg_type::kTimestampTz, Bytes({0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})),
            Value::TimestampTz(kTimestampInfinity));
  EXPECT_EQ(Decoded(pg_type::kTimestamp, Bytes({0, 0, 0, 0, 0, 0, 0, 0})),
            Value::Timestamp(946684800000000));
  EXPECT_EQ(Decoded(pg_type::kTime, Bytes({0, 0, 0, 0x14, 0x1d, 0xd7, 0x60, 0})),
            Value::Time(kMicrosPerDay));
  EXPECT_EQ(Decoded(pg_type::kInt2, Bytes({0x80, 0})), Value::Int64(-32768));
  EXPECT_EQ(Decoded(pg_type::kOid, Bytes({0xff, 0xff, 0xff, 0xff})), Value::Int64(4294967295));
  // real reads as the double its shortest text is, as the text path reads it.
  EXPECT_EQ(Decoded(pg_type::kFloat4, Bytes({0x3d, 0xcc, 0xcc, 0xcd})), Value::Float64(0.1));
  EXPECT_EQ(Decoded(pg_type::kFloat8, Bytes({0x80, 0, 0, 0, 0, 0, 0, 0})), Value::Float64(0.0));
  EXPECT_EQ(Decoded(pg_type::kJsonb, Bytes({1, '{', '}'})), *ParseJsonValue("{}"));
  EXPECT_FALSE(DecodePgBinaryField(pg_type::kJsonb, Bytes({2, '{', '}'})));
  EXPECT_FALSE(DecodePgBinaryField(pg_type::kInt4, Bytes({0, 0, 0})));
  // Past 294247 AD: beyond a Value, an error as on the text path.
  Result<Value> far = DecodePgBinaryField(pg_type::kTimestamp,
                                          Bytes({0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}));
  ASSERT_FALSE(far.has_value());
  EXPECT_THAT(far.error().message(), HasSubstr("294247 AD"));
}

TEST(PgBinaryTest, ValuesThatDoNotFitAreErrors) {
  std::string out;
  Result<PgEncode> r = AppendPgBinaryField(pg_type::kInt2, Value::Int64(70000), &out);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("70000 is out of range for smallint"));
  EXPECT_FALSE(AppendPgBinaryField(pg_type::kInt4, Value::Int64(int64_t{1} << 31), &out));
  EXPECT_TRUE(AppendPgBinaryField(pg_type::kInt4, Value::Int64(INT32_MIN), &out));
  out.clear();
  // real: overflow and underflow to zero are errors (as float4in); subnormals are kept.
  EXPECT_FALSE(AppendPgBinaryField(pg_type::kFloat4, Value::Float64(1e39), &out));
  EXPECT_FALSE(AppendPgBinaryField(pg_type::kFloat4, Value::Float64(1e-46), &out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(AppendPgBinaryField(pg_type::kFloat4, Value::Float64(1e-40), &out));
  EXPECT_TRUE(AppendPgBinaryField(pg_type::kFloat4, Value::Float64(-INFINITY), &out));
  out.clear();
  EXPECT_FALSE(AppendPgBinaryField(pg_type::kDate, Value::Date(-2'500'000), &out));
  EXPECT_FALSE(AppendPgBinaryField(pg_type::kTimestamp, Value::Timestamp(INT64_MIN + 1), &out));
  Result<PgEncode> bc = AppendPgBinaryField(
      pg_type::kTimestampTz, Value::TimestampTz(DaysFromCivil(-4713, 1, 1) * kMicrosPerDay), &out);
  ASSERT_FALSE(bc.has_value());
  EXPECT_THAT(bc.error().message(), HasSubstr("4714-01-01 00:00:00 BC is out of range"));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(PgWiderType(pg_type::kInt2), "bigint");
}

TEST(PgBinaryTest, ValuesOfAnotherKindNeedText) {
  std::string out;
  EXPECT_EQ(AppendPgBinaryField(pg_type::kInt4, Value::Text("12"), &out), PgEncode::kNeedsText);
  EXPECT_EQ(AppendPgBinaryField(pg_type::kInt8, Decimal("12"), &out), PgEncode::kNeedsText);
  EXPECT_EQ(AppendPgBinaryField(pg_type::kDate, Value::Timestamp(0), &out), PgEncode::kNeedsText);
  EXPECT_EQ(AppendPgBinaryField(pg_type::kBytea, Value::Text("x"), &out), PgEncode::kNeedsText);
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(PgBinaryCanEncode(1186));  // interval
  EXPECT_FALSE(PgBinaryCanEncode(pg_type::kName));
  EXPECT_EQ(PgBinaryDecodedKind(pg_type::kName), TypeKind::kText);
  EXPECT_EQ(PgBinaryDecodedKind(1186), std::nullopt);
}

std::string Stream() {
  std::string s;
  AppendPgCopyHeader(&s);
  AppendPgCopyTupleStart(2, &s);
  EXPECT_TRUE(AppendPgBinaryField(pg_type::kInt8, Value::Int64(7), &s));
  AppendPgBinaryNull(&s);
  AppendPgCopyTupleStart(2, &s);
  EXPECT_TRUE(AppendPgBinaryField(pg_type::kText, Value::Text(""), &s));
  EXPECT_TRUE(AppendPgBinaryField(pg_type::kText, Value::Text("héllo"), &s));
  AppendPgCopyTrailer(&s);
  return s;
}

TEST(PgBinaryTest, CopyStreamParsesWhereverItIsCut) {
  const std::string stream = Stream();
  // Fed one byte at a time, parsing after each: the same two tuples and the end.
  std::string pending;
  size_t offset = 0;
  bool header = false, ended = false;
  std::vector<std::vector<std::optional<std::string>>> tuples;
  std::vector<PgCopyField> fields;
  for (char byte : stream) {
    pending.push_back(byte);
    for (;;) {
      const std::string_view data = std::string_view(pending).substr(offset);
      size_t consumed = 0;
      if (!header) {
        Result<bool> complete = ParsePgCopyHeader(data, &consumed);
        ASSERT_TRUE(complete.has_value());
        if (!*complete) break;
        header = true;
        offset += consumed;
        continue;
      }
      Result<PgCopyParse> parsed = ParsePgCopyTuple(data, 2, &fields, &consumed);
      ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
      if (*parsed == PgCopyParse::kNeedMore) break;
      offset += consumed;
      if (*parsed == PgCopyParse::kEnd) {
        ended = true;
        break;
      }
      auto& tuple = tuples.emplace_back();
      for (const PgCopyField& f : fields) {
        tuple.push_back(f.size < 0 ? std::nullopt
                                   : std::optional<std::string>(std::string(f.data, f.size)));
      }
    }
  }
  EXPECT_TRUE(ended);
  EXPECT_EQ(offset, stream.size());
  ASSERT_EQ(tuples.size(), 2u);
  EXPECT_EQ(tuples[0][0], Bytes({0, 0, 0, 0, 0, 0, 0, 7}));
  EXPECT_EQ(tuples[0][1], std::nullopt);
  EXPECT_EQ(tuples[1][0], "");
  EXPECT_EQ(tuples[1][1], "héllo");
}

// The stream cut into messages of random sizes, as PgCopyBuffer receives them: the same tuples.
TEST(PgBinaryTest, CopyBufferJoinsTuplesCutAcrossMessages) {
  std::string stream = Stream();
  for (int i = 0; i < 50; ++i) {
    stream.insert(stream.size() - 2, Stream().substr(37, 16));  // the second tuple
  }
  std::mt19937_64 random(3);
  for (int trial = 0; trial < 200; ++trial) {
    PgCopyBuffer buffer;
    size_t sent = 0, tuples = 0;
    bool header = false, ended = false;
    std::vector<PgCopyField> fields;
    std::vector<std::string> texts;
    while (!ended) {
      size_t consumed = 0;
      if (!header) {
        Result<bool> complete = ParsePgCopyHeader(buffer.unparsed(), &consumed);
        ASSERT_TRUE(complete.has_value());
        if (*complete) {
          header = true;
          buffer.Consume(consumed);
          continue;
        }
      } else {
        Result<PgCopyParse> parsed = ParsePgCopyTuple(buffer.unparsed(), 2, &fields, &consumed);
        ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
        if (*parsed != PgCopyParse::kNeedMore) {
          buffer.Consume(consumed);
          if (*parsed == PgCopyParse::kEnd) {
            ended = true;
          } else {
            ++tuples;
            if (fields[1].size >= 0) texts.emplace_back(fields[1].data, fields[1].size);
          }
          continue;
        }
      }
      ASSERT_LT(sent, stream.size());
      const size_t size = std::min<size_t>(1 + random() % 40, stream.size() - sent);
      char* message = static_cast<char*>(std::malloc(size));
      std::memcpy(message, stream.data() + sent, size);
      buffer.Add(PgCopyBuffer::Message(message, &std::free), size);
      sent += size;
    }
    EXPECT_EQ(sent, stream.size());
    EXPECT_EQ(tuples, 52u);
    ASSERT_EQ(texts.size(), 51u);
    for (const std::string& text : texts) EXPECT_EQ(text, "héllo");
  }
}

TEST(PgBinaryTest, RefusesWhatIsNotOurStream) {
  size_t consumed = 0;
  std::string stream = Stream();
  stream[0] = 'X';
  EXPECT_FALSE(ParsePgCopyHeader(stream, &consumed).has_value());
  stream = Stream();
  stream[12] = 1;  // flags bit 16: OIDs included
  EXPECT_FALSE(ParsePgCopyHeader(stream, &consumed).has_value());
  stream = Stream();
  std::vector<PgCopyField> fields;
  EXPECT_FALSE(ParsePgCopyTuple(std::string_view(stream).substr(19), 3, &fields, &consumed));
}

// ---- against PostgreSQL -----------------------------------------------------------------------

// The session settings the connector uses, so that the server's text output is what the text
// path parses.
constexpr std::string_view kTextSession =
    "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET extra_float_digits = 1; "
    "SET bytea_output = 'hex'; SET IntervalStyle = 'iso_8601'; ";

class PgBinaryCopyTest : public testing::PostgresTest {
 protected:
  void SetUp() override {
    testing::PostgresTest::SetUp();
    if (HasFatalFailure()) return;
    Result<std::unique_ptr<Connector>> connector = Connector::Open(url());
    ASSERT_TRUE(connector.has_value()) << connector.error().ToString();
    connector_ = std::move(connector).value();
  }

  TableInfo Describe(std::string_view table) {
    Result<TableInfo> info = connector_->DescribeTable(table);
    EXPECT_TRUE(info.has_value()) << info.error().ToString();
    return info.value_or(TableInfo());
  }

  Status Load(const TableInfo& table, const std::vector<Row>& rows,
              const ChunkMarker* marker = nullptr) {
    FERRY_ASSIGN_OR_RETURN(auto writer,
                           connector_->OpenWriter(table, LoadMode::kAppend, {.marker = marker}));
    for (size_t i = 0; i < rows.size(); i += 300) {
      std::vector<Row> batch(
          rows.begin() + static_cast<std::ptrdiff_t>(i),
          rows.begin() + static_cast<std::ptrdiff_t>(std::min(i + 300, rows.size())));
      FERRY_RETURN_IF_ERROR(writer->Write(batch));
    }
    return writer->Commit();
  }

  Result<std::vector<Row>> Read(const ScanSpec& spec) {
    FERRY_ASSIGN_OR_RETURN(auto reader, connector_->Scan(spec));
    std::vector<Row> rows, batch;
    for (;;) {
      FERRY_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
      if (!more) break;
      EXPECT_LE(batch.size(), spec.batch_rows);
      for (Row& r : batch) rows.push_back(std::move(r));
    }
    return rows;
  }

  // Rows by their first column, an int64 key.
  static std::map<int64_t, Row> ByKey(std::vector<Row> rows) {
    std::map<int64_t, Row> out;
    for (Row& r : rows) out[r[0].int64_value()] = std::move(r);
    return out;
  }

  // The statements other sessions on this database are running (or ran last).
  std::vector<std::string> OtherSessionsStatements() {
    Result<testing::Rows> rows = Query(
        "SELECT query FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
        "pg_backend_pid()");
    EXPECT_TRUE(rows.has_value()) << rows.error().ToString();
    std::vector<std::string> out;
    for (const auto& r : rows.value_or(testing::Rows())) out.push_back(r[0].value_or(""));
    return out;
  }

  std::unique_ptr<Connector> connector_;
};

// A random string of `max_chars` code points at most: ASCII (with COPY text's specials: tab,
// newline, backslash), two-, three- and four-byte UTF-8. No NUL, which PostgreSQL refuses.
std::string RandomText(std::mt19937_64& random, size_t max_chars) {
  static constexpr char32_t kPicks[] = {'a',   'Z',    '0',    ' ',    '\t',    '\n',     '\r',
                                        '\\',  '"',    '\'',   'N',    'x',     0x7f,     0xe9,
                                        0x3b1, 0x20ac, 0x4e2d, 0xfffd, 0x1f600, 0x10ffff, 1};
  std::string out;
  const size_t n = random() % (max_chars + 1);
  for (size_t i = 0; i < n; ++i) {
    char32_t c = kPicks[random() % std::size(kPicks)];
    if (random() % 3 == 0) c = static_cast<char32_t>(0x20 + random() % 0x5f);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    }
  }
  return out;
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

std::string RandomDigits(std::mt19937_64& random, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<char>('0' + random() % 10));
  return out;
}

Value RandomNumeric(std::mt19937_64& random) {
  const std::string sign = random() % 2 ? "-" : "";
  switch (random() % 12) {
    case 0: {
      static constexpr const char* kSpecials[] = {"NaN",
                                                  "Infinity",
                                                  "-Infinity",
                                                  "0",
                                                  "-0",
                                                  "0.5",
                                                  "-0.0001",
                                                  "9999",
                                                  "10000",
                                                  "0.9999",
                                                  "1e-16383",
                                                  "1e131071",
                                                  "-99999999999999999999.99"};
      return Decimal(kSpecials[random() % std::size(kSpecials)]);
    }
    case 1: return Decimal(sign + "1" + std::string(random() % 2000, '0'));         // large weight
    case 2: return Decimal(sign + "0." + std::string(random() % 2000, '0') + "1");  // small
    case 3:
      return Decimal(sign + RandomDigits(random, 1 + random() % 600) + ".0" +
                     RandomDigits(random, random() % 600));  // many digits
    default:
      return Decimal(sign + "0" + RandomDigits(random, random() % 25) + ".0" +
                     RandomDigits(random, random() % 25));
  }
}

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double RandomFloat64(std::mt19937_64& random) {
  static constexpr double kSpecials[] = {
      0.0,     -0.0,     kInfinity, -kInfinity,   kNaN,
      DBL_MAX, -DBL_MAX, DBL_MIN,   DBL_TRUE_MIN, -DBL_TRUE_MIN,
      0.1,     1.0 / 3,  1e300,     -1e-300,      4.9406564584124654e-320};
  if (random() % 5 == 0) return kSpecials[random() % std::size(kSpecials)];
  return std::bit_cast<double>(random());
}

// A double for a real column: exactly a float, or any double within real's range.
double RandomFloat4Input(std::mt19937_64& random) {
  static constexpr double kSpecials[] = {0.0,
                                         -0.0,
                                         kInfinity,
                                         -kInfinity,
                                         kNaN,
                                         double{FLT_MAX},
                                         -double{FLT_MAX},
                                         double{FLT_MIN},
                                         double{FLT_TRUE_MIN},
                                         0.1,
                                         1.0 / 3,
                                         16777217.0};
  switch (random() % 4) {
    case 0: return kSpecials[random() % std::size(kSpecials)];
    case 1: {
      auto f = std::bit_cast<float>(static_cast<uint32_t>(random()));
      return std::isnan(f) ? 1.5 : f;
    }
    default: {
      const double magnitude = std::pow(10.0, static_cast<double>(random() % 78) - 40);
      return (random() % 2 ? -1 : 1) * magnitude *
             (1 + static_cast<double>(random() % 1000000) / 1e6);
    }
  }
}

// The real the server keeps of `d`: float4in of the text the text path sends (the double the
// binary reader makes of it is checked against the server's own text output).
float AsReal(double d) {
  if (std::isnan(d) || std::isinf(d)) return static_cast<float>(d);
  return std::strtof(FormatFloat64(d).c_str(), nullptr);
}

Json RandomJson(std::mt19937_64& random, int depth) {
  switch (random() % (depth > 2 ? 4 : 6)) {
    case 0: return nullptr;
    case 1: return random() % 2 == 0;
    case 2:
      return random() % 2 ? Json(static_cast<int64_t>(random() % 2000001) - 1000000)
                          : Json(static_cast<double>(random() % 1000000) / 1024);
    case 3: {
      std::string s = RandomText(random, 12);
      // jsonb refuses \u0000 and the text generator never makes NUL; control characters stay.
      return s;
    }
    case 4: {
      Json array = Json::array();
      for (size_t i = random() % 4; i > 0; --i) array.push_back(RandomJson(random, depth + 1));
      return array;
    }
    default: {
      Json object = Json::object();
      for (size_t i = random() % 4; i > 0; --i) {
        object[RandomText(random, 6)] = RandomJson(random, depth + 1);
      }
      return object;
    }
  }
}

constexpr char kEveryType[] =
    "(id int8 PRIMARY KEY, i2 int2, i4 int4, i8 int8, n numeric, n2 numeric(12,2), f4 real, "
    "f8 double precision, b boolean, d date, t time, ts timestamp, tz timestamptz, u uuid, "
    "j json, jb jsonb, bin bytea, tx text, vc varchar(40), bc char(10)";

// Random rows for kEveryType, and what each should read back as.
struct RandomRows {
  std::vector<Row> written;
  std::vector<Row> expected;
};

RandomRows MakeRandomRows(uint64_t seed, int count) {
  std::mt19937_64 random(seed);
  const int64_t first_date = DaysFromCivil(-4712, 11, 24);  // 4713-11-24 BC, PostgreSQL's first
  const int64_t last_date = DaysFromCivil(5874897, 12, 31);
  auto pick = [&](int64_t low, int64_t high) {  // uniform in [low, high], in unsigned arithmetic
    const uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low) + 1;
    return static_cast<int64_t>(static_cast<uint64_t>(low) +
                                (span == 0 ? random() : random() % span));
  };
  auto one_of = [&](std::initializer_list<int64_t> specials, int64_t low, int64_t high) {
    if (random() % 4 == 0) return *(specials.begin() + random() % specials.size());
    return pick(low, high);
  };
  const int64_t first_micros = first_date * kMicrosPerDay;
  const std::initializer_list<int64_t> timestamp_specials = {
      kTimestampInfinity,
      kTimestampMinusInfinity,
      DaysFromCivil(1, 1, 1) * kMicrosPerDay,                           // year 1
      DaysFromCivil(9999, 12, 31) * kMicrosPerDay + kMicrosPerDay - 1,  // end of 9999
      DaysFromCivil(0, 12, 31) * kMicrosPerDay + 1,                     // 1 BC
      DaysFromCivil(2000, 1, 1) * kMicrosPerDay - 1,                    // PostgreSQL's epoch
      0,
      -1,
      first_micros,
      INT64_MAX - 1};
  RandomRows rows;
  for (int id = 0; id < count; ++id) {
    Row w;
    w.push_back(Value::Int64(id));
    w.push_back(Value::Int64(one_of({INT16_MIN, INT16_MAX, 0, -1}, INT16_MIN, INT16_MAX)));
    w.push_back(Value::Int64(one_of({INT32_MIN, INT32_MAX, 0}, INT32_MIN, INT32_MAX)));
    w.push_back(Value::Int64(one_of({INT64_MIN, INT64_MAX, 0}, INT64_MIN + 1, INT64_MAX - 1)));
    w.push_back(RandomNumeric(random));
    w.push_back(Decimal((random() % 2 ? "-0" : "0") + RandomDigits(random, random() % 10) + "." +
                        RandomDigits(random, random() % 3)));
    const double f4 = RandomFloat4Input(random);
    w.push_back(Value::Float64(f4));
    w.push_back(Value::Float64(RandomFloat64(random)));
    w.push_back(Value::Bool(random() % 2 == 0));
    w.push_back(Value::Date(static_cast<int32_t>(one_of(
        {kDateInfinity, kDateMinusInfinity, DaysFromCivil(1, 1, 1), DaysFromCivil(9999, 12, 31),
         DaysFromCivil(-43, 3, 15), first_date, last_date, 10957, 10956},
        first_date, last_date))));
    w.push_back(Value::Time(one_of({0, kMicrosPerDay, kMicrosPerDay - 1}, 0, kMicrosPerDay)));
    w.push_back(Value::Timestamp(one_of(timestamp_specials, first_micros, INT64_MAX - 1)));
    w.push_back(Value::TimestampTz(one_of(timestamp_specials, first_micros, INT64_MAX - 1)));
    UuidBytes uuid;
    for (uint8_t& b : uuid) b = static_cast<uint8_t>(random());
    w.push_back(Value::Uuid(uuid));
    w.push_back(*JsonValue(RandomJson(random, 0)));
    w.push_back(*JsonValue(RandomJson(random, 0)));
    std::string bytes;
    if (id == 1) {
      for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
    } else {
      for (size_t k = random() % 40; k > 0; --k) bytes.push_back(static_cast<char>(random()));
    }
    w.push_back(Value::Bytes(bytes));
    w.push_back(Value::Text(RandomText(random, 30)));
    w.push_back(Value::Text(RandomText(random, 40)));
    const std::string bc = RandomText(random, 10);
    w.push_back(Value::Text(bc));

    Row e = w;
    e[6] = Value::Float64(AsReal(f4));
    e[19] = Value::Text(bc + std::string(10 - CodePoints(bc), ' '));  // char(n) pads
    // NULLs, one value in twenty (never the key).
    for (size_t c = 1; c < w.size(); ++c) {
      if (random() % 20 == 0) w[c] = e[c] = Value::Null();
    }
    rows.written.push_back(std::move(w));
    rows.expected.push_back(std::move(e));
  }
  return rows;
}

TEST_F(PgBinaryCopyTest, RandomValuesOfEveryTypeRoundTripAndAgreeWithTheTextPath) {
  const uint64_t seed = 0x5eed0001;
  SCOPED_TRACE(fmt::format("seed {:#x}", seed));
  ASSERT_TRUE(Execute(fmt::format("CREATE TABLE t {})", kEveryType)).ok());
  // The same columns and an interval, which has no binary codec: that table goes through text.
  ASSERT_TRUE(Execute(fmt::format("CREATE TABLE t_text {}, iv interval)", kEveryType)).ok());
  const RandomRows rows = MakeRandomRows(seed, 3000);
  const TableInfo table = Describe("t");
  ASSERT_EQ(table.columns.size(), rows.written[0].size());
  Status loaded = Load(table, rows.written);
  ASSERT_TRUE(loaded.ok()) << loaded.ToString();

  // 1. Read back in binary: what was written (as the column keeps it).
  Result<std::vector<Row>> read = Read({.table = &table, .batch_rows = 97});
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  const std::map<int64_t, Row> binary = ByKey(std::move(read).value());
  ASSERT_EQ(binary.size(), rows.expected.size());
  int reported = 0;
  for (const Row& expected : rows.expected) {
    const Row& got = binary.at(expected[0].int64_value());
    for (size_t c = 0; c < expected.size(); ++c) {
      if (got[c] == expected[c] || ++reported > 20) continue;
      // A real reads as the double its text is (checked below): here, the same real.
      if (c == 6 && !got[c].is_null() && !expected[c].is_null() &&
          static_cast<float>(got[c].float64_value()) ==
              static_cast<float>(expected[c].float64_value())) {
        continue;
      }
      ADD_FAILURE() << "row " << expected[0].int64_value() << " column " << table.columns[c].name
                    << ": wrote " << expected[c].ToDisplay() << ", read " << got[c].ToDisplay();
    }
  }

  // 2. PostgreSQL's own text output of what it stored (each type's output function, in a text
  // result; not `::text`, which trims char(n)), parsed as the text path parses it.
  std::vector<std::string> columns;
  columns.reserve(table.columns.size());
  for (const ColumnInfo& c : table.columns) columns.push_back(QuoteIdentifier(c.name));
  Result<testing::Rows> text =
      Query(fmt::format("{}SELECT {} FROM t ORDER BY id", kTextSession, fmt::join(columns, ", ")));
  ASSERT_TRUE(text.has_value()) << text.error().ToString();
  ASSERT_EQ(text->size(), binary.size());
  for (const auto& server_row : *text) {
    const Row& got = binary.at(std::stoll(server_row[0].value_or("-1")));
    for (size_t c = 0; c < table.columns.size(); ++c) {
      const testing::Cell& cell = server_row[c];
      Value parsed;
      if (cell.has_value()) {
        Result<Value> v = ParseTextInputForm(table.columns[c].kind, *cell);
        ASSERT_TRUE(v.has_value()) << v.error().ToString();
        parsed = *v;
      }
      if (parsed == got[c] || ++reported > 20) continue;
      ADD_FAILURE() << "row " << server_row[0].value_or("") << " column " << table.columns[c].name
                    << ": the server prints " << cell.value_or("NULL") << ", binary read "
                    << got[c].ToDisplay();
    }
  }

  // 3. The text path: the same rows written and read through text give the same values.
  const TableInfo text_table = Describe("t_text");
  std::vector<Row> with_interval = rows.written;
  for (Row& r : with_interval) r.push_back(Value::Null());
  loaded = Load(text_table, with_interval);
  ASSERT_TRUE(loaded.ok()) << loaded.ToString();
  Result<std::vector<Row>> text_read = Read({.table = &text_table, .batch_rows = 500});
  ASSERT_TRUE(text_read.has_value()) << text_read.error().ToString();
  for (auto& [id, r] : ByKey(std::move(text_read).value())) {
    r.pop_back();
    const Row& got = binary.at(id);
    for (size_t c = 0; c < r.size(); ++c) {
      if (r[c] == got[c] || ++reported > 20) continue;
      ADD_FAILURE() << "row " << id << " column " << table.columns[c].name << ": text path "
                    << r[c].ToDisplay() << ", binary " << got[c].ToDisplay();
    }
  }
}

// float4out prints the shortest decimal strictly inside a real's rounding interval, which is not
// always the shortest std::to_chars finds; widened to double the two differ. Every real must
// read as its server text does.
TEST_F(PgBinaryCopyTest, RealsReadAsTheDoubleOfTheirServerText) {
  ASSERT_TRUE(Execute("CREATE TABLE reals (id int8 PRIMARY KEY, f real)").ok());
  const TableInfo table = Describe("reals");
  std::mt19937_64 random(99);
  std::vector<Row> rows;
  for (int64_t id = 0; id < 100000; ++id) {
    auto f = std::bit_cast<float>(static_cast<uint32_t>(random()));
    // Large integers and powers of two are where a shortest decimal lands on a bound.
    if (id % 3 == 0) f = static_cast<float>(random() % (uint64_t{1} << (25 + id % 39)));
    if (id % 7 == 0) f = std::ldexp(1.0f, static_cast<int>(random() % 270) - 149);
    if (std::isnan(f)) f = 0;
    rows.push_back({Value::Int64(id), Value::Float64(f)});
  }
  Status loaded = Load(table, rows);
  ASSERT_TRUE(loaded.ok()) << loaded.ToString();
  Result<std::vector<Row>> read = Read({.table = &table, .batch_rows = 4096});
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  const std::map<int64_t, Row> binary = ByKey(std::move(read).value());
  Result<testing::Rows> text = Query(fmt::format("{}SELECT id, f FROM reals", kTextSession));
  ASSERT_TRUE(text.has_value()) << text.error().ToString();
  ASSERT_EQ(text->size(), rows.size());
  int reported = 0;
  for (const auto& r : *text) {
    const int64_t id = std::stoll(r[0].value_or("-1"));
    const Value parsed = ParseFloat64(r[1].value_or("")).value_or(Value());
    const Value& got = binary.at(id)[1];
    EXPECT_EQ(static_cast<float>(got.float64_value()),
              static_cast<float>(rows[static_cast<size_t>(id)][1].float64_value()));
    if (got == parsed || ++reported > 20) continue;
    ADD_FAILURE() << "real " << r[1].value_or("") << " reads in binary as " << got.ToDisplay();
  }
}

TEST_F(PgBinaryCopyTest, ReadsAndWritesInBinaryOnlyWhenEveryColumnHasACodec) {
  ASSERT_TRUE(Execute("CREATE TABLE plain (id int8 PRIMARY KEY, v numeric)").ok());
  const TableInfo table = Describe("plain");
  auto writer = connector_->OpenWriter(table, LoadMode::kAppend);
  ASSERT_TRUE(writer.has_value()) << writer.error().ToString();
  EXPECT_THAT(OtherSessionsStatements(), ::testing::Contains(HasSubstr("(FORMAT binary)")));
  ASSERT_TRUE((*writer)->Write({{Value::Int64(1), Decimal("1.5")}}).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  writer->reset();

  auto reader = connector_->Scan({.table = &table});
  ASSERT_TRUE(reader.has_value()) << reader.error().ToString();
  EXPECT_THAT(OtherSessionsStatements(),
              ::testing::Contains(HasSubstr("TO STDOUT (FORMAT binary)")));
  std::vector<Row> batch;
  ASSERT_TRUE((*reader)->Next(&batch).value_or(false));
  EXPECT_EQ(batch, (std::vector<Row>{{Value::Int64(1), Decimal("1.5")}}));
  EXPECT_FALSE((*reader)->Next(&batch).value_or(true));
  EXPECT_TRUE(batch.empty());
}

TEST_F(PgBinaryCopyTest, ATableWithAnIntervalOrAnEnumFallsBackToTextAndRoundTrips) {
  ASSERT_TRUE(Execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); "
                      "CREATE TABLE odd (id int8 PRIMARY KEY, m mood, iv interval, n numeric, "
                      "ts timestamptz)")
                  .ok());
  const TableInfo table = Describe("odd");
  const std::vector<Row> rows = {
      {Value::Int64(1), Value::Text("happy"), Value::Text("P1Y2M3DT4H5M6.5S"), Decimal("-1.25"),
       Value::TimestampTz(1'700'000'000'123'456)},
      {Value::Int64(2), Value::Null(), Value::Text("PT0S"), Decimal("NaN"),
       Value::TimestampTz(kTimestampInfinity)},
  };
  auto writer = connector_->OpenWriter(table, LoadMode::kAppend);
  ASSERT_TRUE(writer.has_value()) << writer.error().ToString();
  for (const std::string& statement : OtherSessionsStatements()) {
    EXPECT_THAT(statement, ::testing::Not(HasSubstr("binary")));
  }
  ASSERT_TRUE((*writer)->Write(rows).ok());
  Status committed = (*writer)->Commit();
  ASSERT_TRUE(committed.ok()) << committed.ToString();
  EXPECT_EQ(QueryValue("SELECT iv::text FROM odd WHERE id = 1").value_or(""),
            "1 year 2 mons 3 days 04:05:06.5");
  Result<std::vector<Row>> read = Read({.table = &table, .batch_rows = 1});
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  const std::map<int64_t, Row> got = ByKey(std::move(read).value());
  EXPECT_EQ(got.at(1), rows[0]);
  EXPECT_EQ(got.at(2), rows[1]);
}

TEST_F(PgBinaryCopyTest, AnInt64BeyondSmallintNamesTheTableColumnAndRow) {
  ASSERT_TRUE(Execute("CREATE TABLE small (id int8 PRIMARY KEY, qty int2)").ok());
  const TableInfo table = Describe("small");
  std::vector<Row> rows;
  for (int64_t i = 1; i <= 5; ++i) rows.push_back({Value::Int64(i), Value::Int64(i * 100)});
  rows.push_back({Value::Int64(6), Value::Int64(70000)});
  Status loaded = Load(table, rows);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(loaded.message(), HasSubstr("table `small`"));
  EXPECT_THAT(loaded.message(), HasSubstr("column `qty` (smallint), row 6"));
  EXPECT_THAT(loaded.message(), HasSubstr("70000 is out of range for smallint"));
  EXPECT_THAT(loaded.message(), HasSubstr("--cast 'qty:bigint'"));
  EXPECT_EQ(QueryValue("SELECT count(*) FROM small").value_or(""), "0");
}

TEST_F(PgBinaryCopyTest, TooLongVarcharAndCharAreRefusedAsInText) {
  ASSERT_TRUE(Execute("CREATE TABLE short (id int8 PRIMARY KEY, v varchar(3), c char(3))").ok());
  const TableInfo table = Describe("short");
  Status fits = Load(table, {{Value::Int64(1), Value::Text("abc"), Value::Text("é")},
                             // char(n) drops trailing spaces past n, as its text input does.
                             {Value::Int64(2), Value::Text("ab"), Value::Text("xyz   ")}});
  ASSERT_TRUE(fits.ok()) << fits.ToString();
  EXPECT_EQ(Query("SELECT v, c, octet_length(c) FROM short ORDER BY id").value_or(testing::Rows()),
            (testing::Rows{{"abc", "é  ", "4"}, {"ab", "xyz", "3"}}));

  for (const Row& row : {Row{Value::Int64(3), Value::Text("abcd"), Value::Null()},
                         Row{Value::Int64(3), Value::Null(), Value::Text("abcd")}}) {
    Status refused = Load(table, {row});
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(refused.message(), HasSubstr("value too long for type character"));
    EXPECT_THAT(refused.message(), HasSubstr("--cast"));
  }
  EXPECT_EQ(QueryValue("SELECT count(*) FROM short").value_or(""), "2");
}

TEST_F(PgBinaryCopyTest, AValueWithNoBinaryFormTurnsTheRestOfTheLoadToText) {
  ASSERT_TRUE(Execute("CREATE TABLE mixed (id int8 PRIMARY KEY, n int4, d date)").ok());
  ASSERT_TRUE(connector_->PrepareChunkMarkers().ok());
  const TableInfo table = Describe("mixed");
  // Text into an integer and a date column: PostgreSQL's text input reads them.
  const std::vector<Row> rows = {
      {Value::Int64(1), Value::Int64(10), Value::Date(0)},
      {Value::Int64(2), Value::Text("20"), Value::Text("2024-02-29")},
      {Value::Int64(3), Value::Int64(30), Value::Null()},
  };
  const ChunkMarker marker{.run_id = "run-1", .chunk = 4, .rows = 3, .checksum = "abc"};
  Status loaded = Load(table, rows, &marker);
  ASSERT_TRUE(loaded.ok()) << loaded.ToString();
  EXPECT_EQ(Query("SELECT id, n, d FROM mixed ORDER BY id").value_or(testing::Rows()),
            (testing::Rows{
                {"1", "10", "1970-01-01"}, {"2", "20", "2024-02-29"}, {"3", "30", std::nullopt}}));
  Result<std::vector<ChunkMarker>> markers = connector_->CommittedChunks("run-1");
  ASSERT_TRUE(markers.has_value()) << markers.error().ToString();
  ASSERT_EQ(markers->size(), 1u);
  EXPECT_EQ((*markers)[0].chunk, 4);
  // The same chunk again: the marker refuses it, and nothing of it is kept.
  Status again = Load(table, {{Value::Int64(9), Value::Int64(1), Value::Null()}}, &marker);
  EXPECT_EQ(again.code(), StatusCode::kAborted) << again.ToString();
  EXPECT_EQ(QueryValue("SELECT count(*) FROM mixed").value_or(""), "3");
}

TEST_F(PgBinaryCopyTest, WidestNumericsRoundTrip) {
  ASSERT_TRUE(Execute("CREATE TABLE wide (id int8 PRIMARY KEY, n numeric)").ok());
  const TableInfo table = Describe("wide");
  std::mt19937_64 random(7);
  const std::vector<Row> rows = {
      {Value::Int64(1),
       Decimal("9" + RandomDigits(random, 131071) + "." + RandomDigits(random, 16382) + "7")},
      {Value::Int64(2), Decimal("-0." + std::string(16382, '0') + "1")},
      {Value::Int64(3), Decimal("1" + std::string(131071, '0'))},
  };
  Status loaded = Load(table, rows);
  ASSERT_TRUE(loaded.ok()) << loaded.ToString();
  Result<std::vector<Row>> read = Read({.table = &table});
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  const std::map<int64_t, Row> got = ByKey(std::move(read).value());
  for (const Row& r : rows) EXPECT_TRUE(got.at(r[0].int64_value()) == r) << r[0].int64_value();
  EXPECT_EQ(QueryValue("SELECT length(n::text) FROM wide WHERE id = 1").value_or(""), "147456");
}

TEST_F(PgBinaryCopyTest, ScansAKeyRangeAndAnExportedSnapshot) {
  ASSERT_TRUE(Execute("CREATE TABLE r (id int8 PRIMARY KEY, v text); INSERT INTO r SELECT g, "
                      "'v' || g FROM generate_series(1, 1000) g")
                  .ok());
  const TableInfo table = Describe("r");
  Result<SnapshotInfo> snapshot = connector_->ExportSnapshot();
  ASSERT_TRUE(snapshot.has_value()) << snapshot.error().ToString();
  ASSERT_TRUE(Execute("DELETE FROM r WHERE id % 2 = 0; INSERT INTO r VALUES (5000, 'late')").ok());

  Result<std::vector<Row>> then = Read({.table = &table,
                                        .batch_rows = 64,
                                        .range = KeyRange{.column = "id", .low = 101, .high = 300},
                                        .snapshot = snapshot->id});
  ASSERT_TRUE(then.has_value()) << then.error().ToString();
  const std::map<int64_t, Row> got = ByKey(std::move(then).value());
  ASSERT_EQ(got.size(), 200u);
  EXPECT_EQ(got.begin()->first, 101);
  EXPECT_EQ(got.rbegin()->first, 300);
  EXPECT_EQ(got.at(102)[1], Value::Text("v102"));

  Result<std::vector<Row>> now = Read({.table = &table});
  ASSERT_TRUE(now.has_value()) << now.error().ToString();
  EXPECT_EQ(now->size(), 501u);
}

}  // namespace
}  // namespace ferry::connect_internal
