// Encoding back, as properties: random values of every type are encoded, decoded, and must come
// back equal (for each of EBCDIC and ASCII, big- and little-endian, IBM and IEEE floats).
#include "legacy/record_encoder.h"

#include <charconv>
#include <cmath>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "legacy/number_text.h"

namespace ferry::legacy {
namespace {

using ::testing::HasSubstr;

Copybook Parse(std::string_view text) {
  Result<Copybook> cb = ParseCopybook(text, "t.cob");
  EXPECT_TRUE(cb.has_value()) << cb.error().ToString();
  return cb.value_or(Copybook{});
}

// One field of every type the encoder writes.
constexpr const char* kEveryType =
    "       01  R.\n"
    "           05  D-U     PIC 9(7).\n"
    "           05  D-S     PIC S9(9)V99.\n"
    "           05  D-SL    PIC S9(5) SIGN LEADING.\n"
    "           05  D-SLS   PIC S9(5)V9 SIGN LEADING SEPARATE.\n"
    "           05  D-STS   PIC S9(4) SIGN TRAILING SEPARATE.\n"
    "           05  D-PT    PIC 9(5).99.\n"
    "           05  D-P     PIC SPP9(3).\n"
    "           05  D-TP    PIC S9(3)PP.\n"
    "           05  D-ED    PIC $$,$$9.99CR.\n"
    "           05  D-ED2   PIC -ZZZ9.\n"
    "           05  D-ED3   PIC ***,**9.99+.\n"
    "           05  B-S2    PIC S9(4) COMP.\n"
    "           05  B-U4    PIC 9(9) BINARY.\n"
    "           05  B-S9    PIC S9(18)V99 COMP-4.\n"
    "           05  B-U8    PIC 9(18) COMP.\n"
    "           05  B-S16   PIC S9(37) COMP.\n"
    "           05  N-S     PIC S9(9) COMP-5.\n"
    "           05  N-U2    PIC 9(4) COMP-5.\n"
    "           05  P-S     PIC S9(13)V99 COMP-3.\n"
    "           05  P-U     PIC 9(6) COMP-3.\n"
    "           05  P-BIG   PIC S9(31) COMP-3.\n"
    "           05  F-1     COMP-1.\n"
    "           05  F-2     COMP-2.\n"
    "           05  T-X     PIC X(12).\n"
    "           05  T-A     PIC A(6).\n"
    "           05  G.\n"
    "               10  ARR OCCURS 3 PIC S9(3) COMP-3.\n";

class RandomRecord {
 public:
  RandomRecord(const Copybook& cb, uint32_t seed, bool ascii)
      : cb_(cb), rng_(seed), ascii_(ascii) {}

  OrderedJson Make(int32_t group) {
    OrderedJson object = OrderedJson::object();
    for (int32_t child : cb_.fields[group].children) {
      const Field& f = cb_.fields[child];
      if (f.is_group) {
        object[f.json_name] = Make(child);
      } else if (f.has_occurs) {
        OrderedJson array = OrderedJson::array();
        for (int32_t k = 0; k < f.occurs_max; ++k) array.push_back(Scalar(f));
        object[f.json_name] = std::move(array);
      } else {
        OrderedJson v = Scalar(f);
        if (!v.is_null()) object[f.json_name] = std::move(v);
      }
    }
    return object;
  }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  OrderedJson Scalar(const Field& f) {
    switch (f.type) {
      case ValueType::kString: return Text(f);
      case ValueType::kFloat: {
        // 21 significant bits: exact in IBM's single precision whatever its normalization.
        const float v =
            std::ldexp(static_cast<float>(Uniform(1 << 20, (1 << 21) - 1)), Uniform(-60, 40)) *
            (Uniform(0, 1) ? -1.0f : 1.0f);
        return static_cast<double>(v);
      }
      case ValueType::kDouble: {
        const uint64_t mantissa = (uint64_t{1} << 52) | (rng_() & ((uint64_t{1} << 52) - 1));
        return std::ldexp(static_cast<double>(mantissa), Uniform(-200, 150)) *
               (Uniform(0, 1) ? -1.0 : 1.0);
      }
      default: return Number(f);
    }
  }

  OrderedJson Number(const Field& f) {
    const bool nullable = f.usage == Usage::kDisplay || f.usage == Usage::kPacked;
    if (nullable && Uniform(0, 9) == 0) return nullptr;  // blank, which decodes to null
    int32_t capacity = f.picture.digits;
    if (f.usage == Usage::kBinary && !f.picture.is_signed && capacity == 18) capacity = 18;
    std::string digits;
    const int length = Uniform(0, capacity);
    for (int i = 0; i < length; ++i) digits.push_back(static_cast<char>('0' + Uniform(0, 9)));
    if (digits.empty()) digits = "0";
    const bool negative = f.picture.is_signed && Uniform(0, 1) == 1;
    std::string text;
    AppendDecimal(negative, digits, f.scale, &text);
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (f.scale <= 0 && ec == std::errc() && ptr == text.data() + text.size()) return v;
    return text;
  }

  OrderedJson Text(const Field& f) {
    static const char32_t kLetters[] = {U'a', U'Z', U'q', U'M', U'é', U'ü', U'Ñ', U'ß'};
    static const char32_t kOthers[] = {U'0', U'7', U'-', U'.', U'/', U'&', U'#', U' '};
    const bool alphabetic = f.picture.category == PictureCategory::kAlphabetic;
    const int length = Uniform(0, f.size);
    std::u32string chars;
    for (int i = 0; i < length; ++i) {
      const bool letter = alphabetic || Uniform(0, 1) == 0;
      chars.push_back(letter ? kLetters[Uniform(0, 7)] : kOthers[Uniform(0, 7)]);
    }
    while (!chars.empty() && chars.back() == U' ') chars.pop_back();  // trimmed on decode
    while (!chars.empty() && chars.front() == U' ') chars.erase(chars.begin());
    std::string utf8;
    for (char32_t c : chars) AppendUtf8(ascii_ && c > 0xFF ? U'x' : c, &utf8);
    return utf8;
  }

  const Copybook& cb_;
  std::mt19937_64 rng_;
  bool ascii_;
};

struct Variant {
  const char* name;
  FieldCodecOptions codec;
};

std::vector<Variant> Variants() {
  return {{"ebcdic-cp037-ibm", {.code_page = CodePage::Get("cp037").value()}},
          {"ebcdic-cp500-ieee-le",
           {.code_page = CodePage::Get("ibm-500").value(),
            .floating_point = FloatFormat::kIeeeLittleEndian,
            .comp5_little_endian = true}},
          {"ascii-latin1-ieee",
           {.encoding = Encoding::kAscii,
            .code_page = CodePage::Get("latin1").value(),
            .floating_point = FloatFormat::kIeee}}};
}

TEST(RecordEncoderTest, RandomValuesOfEveryTypeRoundTrip) {
  Copybook cb = Parse(kEveryType);
  for (const Variant& variant : Variants()) {
    DecodeOptions options;
    options.codec = variant.codec;
    std::unique_ptr<RecordEncoder> encoder = RecordEncoder::Create(cb, options).value();
    std::unique_ptr<RecordDecoder> decoder = RecordDecoder::Create(cb, options).value();
    RandomRecord random(cb, 20250601, variant.codec.encoding == Encoding::kAscii);
    for (int i = 0; i < 3000; ++i) {
      const OrderedJson record = random.Make(cb.records.front());
      Result<std::vector<uint8_t>> bytes = encoder->Encode(record);
      ASSERT_TRUE(bytes.has_value())
          << variant.name << " " << record.dump() << ": " << bytes.error().ToString();
      ASSERT_EQ(bytes->size(), static_cast<size_t>(cb.record_size()));
      Result<OrderedJson> back = decoder->ToJson(*bytes);
      ASSERT_TRUE(back.has_value())
          << variant.name << " " << record.dump() << ": " << back.error().ToString();
      ASSERT_EQ(*back, record) << variant.name << "\n  in: " << record.dump()
                               << "\n out: " << back->dump();
    }
  }
}

// IBM single precision keeps 21 to 24 significant bits: its bit patterns themselves round-trip.
TEST(RecordEncoderTest, IbmHexadecimalFloatBitPatternsRoundTrip) {
  Copybook cb = Parse("       01  R.\n           05  F COMP-1.\n           05  D COMP-2.\n");
  FieldCodec codec({});
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    // Normalized (a non-zero first hex digit), exponents inside IEEE single's range.
    const uint32_t fraction = (1 + rng() % 15) << 20 | (rng() & 0xFFFFF);
    const uint32_t exponent = 64 - 30 + rng() % 60;
    const uint32_t bits = (rng() & 1) << 31 | exponent << 24 | fraction;
    const uint8_t in[4] = {static_cast<uint8_t>(bits >> 24), static_cast<uint8_t>(bits >> 16),
                           static_cast<uint8_t>(bits >> 8), static_cast<uint8_t>(bits)};
    Value value;
    ASSERT_EQ(codec.Decode(cb.fields[1], in, &value), FieldCodec::Outcome::kValue);
    uint8_t out[4];
    ASSERT_TRUE(codec.EncodeReal(cb.fields[1], value.real, out).ok());
    ASSERT_EQ(std::vector<uint8_t>(out, out + 4), std::vector<uint8_t>(in, in + 4))
        << std::hex << bits;
  }
}

TEST(RecordEncoderTest, VariableSizeOccursRoundTrip) {
  Copybook cb = Parse(
      "       01  R.\n"
      "           05  N       PIC 9.\n"
      "           05  ITEM    OCCURS 0 TO 4 DEPENDING ON N.\n"
      "               10  M   PIC 9.\n"
      "               10  SUB OCCURS 0 TO 3 DEPENDING ON M PIC S9(3) COMP-3.\n"
      "               10  TAG PIC X(2).\n"
      "           05  TAIL    PIC X(3).\n");
  std::mt19937 rng(11);
  for (bool variable : {false, true}) {
    DecodeOptions options;
    options.variable_size_occurs = variable;
    std::unique_ptr<RecordEncoder> encoder = RecordEncoder::Create(cb, options).value();
    std::unique_ptr<RecordDecoder> decoder = RecordDecoder::Create(cb, options).value();
    for (int i = 0; i < 500; ++i) {
      OrderedJson record = OrderedJson::object();
      const int n = static_cast<int>(rng() % 5);
      record["N"] = n;
      OrderedJson items = OrderedJson::array();
      int64_t size = 1 + 3;
      for (int k = 0; k < n; ++k) {
        const int m = static_cast<int>(rng() % 4);
        OrderedJson subs = OrderedJson::array();
        for (int s = 0; s < m; ++s) subs.push_back(static_cast<int>(rng() % 1999) - 999);
        items.push_back(
            {{"M", m}, {"SUB", subs}, {"TAG", std::string(1, static_cast<char>('A' + k))}});
        size += 1 + 2 * m + 2;
      }
      record["ITEM"] = items;
      record["TAIL"] = "END";
      Result<std::vector<uint8_t>> bytes = encoder->Encode(record);
      ASSERT_TRUE(bytes.has_value()) << bytes.error().ToString();
      EXPECT_EQ(static_cast<int64_t>(bytes->size()), variable ? size : cb.record_size());
      std::string why;
      EXPECT_EQ(decoder->RecordSize(*bytes, &why), static_cast<int64_t>(bytes->size())) << why;
      ASSERT_EQ(decoder->ToJson(*bytes).value(), record) << record.dump();
    }
  }
}

TEST(RecordEncoderTest, CountersComeFromTheArrayWhenLeftOut) {
  Copybook cb = Parse(
      "       01  R.\n"
      "           05  N     PIC 9.\n"
      "           05  V     OCCURS 0 TO 3 DEPENDING ON N PIC X.\n");
  std::unique_ptr<RecordEncoder> encoder = RecordEncoder::Create(cb, {}).value();
  std::vector<uint8_t> bytes = encoder->Encode({{"V", {"A", "B"}}}).value();
  EXPECT_EQ(bytes, (std::vector<uint8_t>{0xF2, 0xC1, 0xC2, 0x40}));
  EXPECT_THAT(encoder->Encode({{"N", 1}, {"V", {"A", "B"}}}).error().message(),
              HasSubstr("R.V: 2 elements, but N is 1"));
}

TEST(RecordEncoderTest, ErrorsNameTheField) {
  Copybook cb = Parse(
      "       01  R.\n"
      "           05  AMOUNT  PIC S9(3)V99 COMP-3.\n"
      "           05  CODE    PIC X(2).\n");
  std::unique_ptr<RecordEncoder> encoder = RecordEncoder::Create(cb, {}).value();
  EXPECT_THAT(encoder->Encode({{"AMOUNT", 1234.5}}).error().message(),
              HasSubstr("R.AMOUNT: 1234.5 has more digits than PIC S9(3)V99 holds"));
  EXPECT_THAT(encoder->Encode({{"AMOUNT", "1.234"}}).error().message(),
              HasSubstr("R.AMOUNT: 1.234 has more decimals than PIC S9(3)V99 holds"));
  EXPECT_THAT(encoder->Encode({{"CODE", "ABC"}}).error().message(),
              HasSubstr("R.CODE: 3 characters do not fit PIC X(2)"));
  EXPECT_THAT(encoder->Encode({{"CODE", {1, 2}}}).error().message(),
              HasSubstr("R.CODE: expected a text or a number, got array"));
}

TEST(RecordEncoderTest, ParseRecordJsonKeepsDecimalText) {
  OrderedJson j = ParseRecordJson(R"({"A":30.50,"B":7,"C":"x","D":1e3})", "line 1").value();
  EXPECT_EQ(j["A"], "30.50");
  EXPECT_EQ(j["B"], 7);
  EXPECT_EQ(j["D"], "1e3");
  EXPECT_THAT(ParseRecordJson("{\"A\":", "line 2").error().message(), HasSubstr("line 2"));
  // A key given twice is refused, in any object, rather than one of its values being dropped.
  EXPECT_THAT(ParseRecordJson(R"({"A":1,"B":{"C":2,"C":3}})", "line 3").error().message(),
              HasSubstr("line 3: not a JSON object: key \"C\" appears twice in one object"));
}

TEST(RecordEncoderTest, FieldsMayComeInAnyOrder) {
  Copybook cb = Parse(
      "       01  R.\n"
      "           05  A     PIC 9.\n"
      "           05  G.\n"
      "               10  B PIC X.\n"
      "               10  C PIC X.\n"
      "           05  D     PIC 9.\n");
  std::unique_ptr<RecordEncoder> encoder = RecordEncoder::Create(cb, {}).value();
  const std::vector<uint8_t> expected = {0xF1, 0xC2, 0xC3, 0xF4};
  for (std::string_view text :
       {R"({"A":1,"G":{"B":"B","C":"C"},"D":4})", R"({"D":4,"G":{"C":"C","B":"B"},"A":1})",
        R"({"G":{"C":"C","B":"B"},"D":4,"A":1})"}) {
    OrderedJson record = ParseRecordJson(text, "t").value();
    EXPECT_EQ(encoder->Encode(record).value(), expected) << text;
  }
  // A field left out is written blank (spaces), which decodes back as null.
  OrderedJson partial = ParseRecordJson(R"({"D":4})", "t").value();
  EXPECT_EQ(encoder->Encode(partial).value(), (std::vector<uint8_t>{0x40, 0x40, 0x40, 0xF4}));
}

}  // namespace
}  // namespace ferry::legacy
