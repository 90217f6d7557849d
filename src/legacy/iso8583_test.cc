// The ISO 8583 codec on messages built here (no shared data): each encoding byte for byte,
// round trips through bytes and JSON, random field sets (a property test), masking, and every
// error with its field and offset; truncated and corrupted messages never crash.
#include "legacy/iso8583.h"

#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::legacy::iso8583 {
namespace {

using testing::HasSubstr;

std::shared_ptr<const Spec> BuiltIn(std::string_view name) {
  Result<std::shared_ptr<const Spec>> spec = Spec::BuiltIn(name);
  EXPECT_TRUE(spec.has_value()) << spec.error().ToString();
  return *spec;
}

std::shared_ptr<const Spec> Parsed(std::string_view json) {
  Result<std::shared_ptr<const Spec>> spec = Spec::Parse(json, "test spec");
  EXPECT_TRUE(spec.has_value()) << spec.error().ToString();
  return spec.has_value() ? *spec : nullptr;
}

std::string Bytes(std::string_view hex) {
  Result<std::string> bytes = FromHex(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return *bytes;
}

// A typical 0200 purchase authorization in the binary layout, with EMV data in field 55.
Message Authorization() {
  Message m;
  m.SetMti("0200");
  m.Set(2, "4761739001010119");
  m.Set(3, "000000");
  m.Set(4, "000000001500");
  m.Set(7, "1207113015");
  m.Set(11, "123456");
  m.Set(12, "113015");
  m.Set(13, "1207");
  m.Set(14, "2712");
  m.Set(18, "5411");
  m.Set(22, "051");
  m.Set(23, "001");
  m.Set(25, "00");
  m.Set(32, "12345678901");
  m.Set(35, "4761739001010119=27122011143804400000");
  m.Set(37, "734112345678");
  m.Set(41, "TERM0001");
  m.Set(42, "MERCHANT0000001");
  m.Set(43, fmt::format("{:<25}{:<13}GB", "FERRY STORE", "LONDON"));
  m.Set(49, "826");
  m.Set(52, Bytes("0123456789ABCDEF"));
  m.Set(55, Bytes("5F2A0208269F02060000000015009F1A0208269F2608A1B2C3D4E5F601029F2701809F3602"
                  "00159F370412345678950500000080009A032512079C01008202190084"
                  "07A00000000310105A0847617390010101195F340101"));
  return m;
}

// AppendMessageJson writes what MessageToJson's document dumps to, masked and not.
void ExpectSameJsonText(const Spec& spec, const Message& m) {
  for (const bool mask : {false, true}) {
    std::string line;
    ASSERT_TRUE(AppendMessageJson(spec, m, {.mask_pan = mask}, &line).ok());
    EXPECT_EQ(line, MessageToJson(spec, m, {.mask_pan = mask})->dump()) << "mask " << mask;
  }
}

TEST(Iso8583Test, BuiltInSpecsParse) {
  for (const std::string& name : Spec::BuiltInNames()) {
    Result<std::shared_ptr<const Spec>> spec = Spec::BuiltIn(name);
    ASSERT_TRUE(spec.has_value()) << name << ": " << spec.error().ToString();
    EXPECT_TRUE((*spec)->bitmapped());
  }
  EXPECT_GE(Spec::BuiltInNames().size(), 9u);
  const auto binary = BuiltIn("1987-binary");
  EXPECT_EQ(binary->field(2)->Describe(), "n..19");
  EXPECT_EQ(binary->field(2)->encoding, Encoding::kBcd);
  EXPECT_EQ(binary->field(52)->Describe(), "b 64");
  EXPECT_TRUE(binary->field(55)->tlv);
  EXPECT_EQ(binary->field(55)->name, "ICC data (EMV), BER-TLV");
  EXPECT_EQ(binary->field(35)->encoding, Encoding::kBcd);
  EXPECT_EQ(BuiltIn("legacy-1987-hex-length")->field(32)->prefix_digits, 1);   // ..11: "B"
  EXPECT_EQ(BuiltIn("legacy-1987-hex-length")->field(104)->prefix_digits, 2);  // ...100: "64"
  Result<std::shared_ptr<const Spec>> missing = Spec::Load("1993");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message(), HasSubstr("not a built-in spec (1987, 1987-binary"));
}

TEST(Iso8583Test, BinaryAuthorizationIsPackedByteForByte) {
  const auto spec = BuiltIn("1987-binary");
  std::string bytes;
  const Status packed = Pack(*spec, Authorization(), &bytes);
  ASSERT_TRUE(packed.ok()) << packed.ToString();
  // MTI 0200 in BCD, then the primary bitmap: fields 2 3 4 7 | 11 12 13 14 | 18 22 23 | 25 32 |
  // 35 37 | 41 42 43 | 49 52 55.
  EXPECT_EQ(ToHex(bytes.substr(0, 10)), "0200723C468128E09200");
  // Field 2: LL 16 in BCD, 16 digits in 8 bytes.
  EXPECT_EQ(ToHex(bytes.substr(10, 9)), "164761739001010119");
  // Field 22, n 3: an odd digit count padded with a leading 0 nibble.
  const size_t f22 = bytes.find(Bytes("0051"));
  EXPECT_NE(f22, std::string::npos);
  // Field 35: LL 37, track 2 in BCD with '=' as nibble D, padded at the front to 19 bytes.
  EXPECT_NE(bytes.find(Bytes("37"
                             "04761739001010119D27122011143804400000")),
            std::string::npos);
  Message decoded;
  ASSERT_TRUE(Unpack(*spec, bytes, &decoded).ok());
  const Message original = Authorization();
  original.ForEach([&](int number, std::string_view value) {
    EXPECT_EQ(decoded.Get(number), value) << "field " << number;
  });
  std::string again;
  ASSERT_TRUE(Pack(*spec, decoded, &again).ok());
  EXPECT_EQ(again, bytes);
}

TEST(Iso8583Test, JsonMasksPansAndRefusesToEncodeThem) {
  const auto spec = BuiltIn("1987-binary");
  const Message m = Authorization();
  Result<OrderedJson> masked = MessageToJson(*spec, m);
  ASSERT_TRUE(masked.has_value()) << masked.error().ToString();
  const OrderedJson& fields = (*masked)["fields"];
  EXPECT_EQ((*masked)["mti"], "0200");
  EXPECT_EQ((*masked)["bitmap"], "723C468128E09200");
  EXPECT_EQ(fields["2"], "476173******0119");
  EXPECT_EQ(fields["35"], "476173******0119=27122011143804400000");
  EXPECT_EQ(fields["52"], "0123456789ABCDEF");
  // Field 55 as its BER-TLV tags; the PAN in tag 5A masked too.
  EXPECT_EQ(fields["55"]["9F02"], "000000001500");
  EXPECT_EQ(fields["55"]["5A"], "476173******0119");
  EXPECT_EQ(fields["55"]["84"], "A0000000031010");
  EXPECT_EQ(masked->dump().find("4761739001010119"), std::string::npos);
  ExpectSameJsonText(*spec, m);

  Message parsed;
  Status status = MessageFromJson(*spec, *masked, &parsed);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("field 2"));
  EXPECT_THAT(status.message(), HasSubstr("masked PAN"));
  EXPECT_THAT(status.message(), HasSubstr("--no-mask"));
  OrderedJson only_55 = *masked;
  only_55["fields"]["2"] = "4761739001010119";
  only_55["fields"]["35"] = "4761739001010119=27122011143804400000";
  status = MessageFromJson(*spec, only_55, &parsed);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("field 55: TLV tag 5A holds a masked value"));

  Result<OrderedJson> clear = MessageToJson(*spec, m, {.mask_pan = false});
  ASSERT_TRUE(clear.has_value());
  ASSERT_TRUE(MessageFromJson(*spec, *clear, &parsed).ok());
  std::string a, b;
  ASSERT_TRUE(Pack(*spec, m, &a).ok());
  ASSERT_TRUE(Pack(*spec, parsed, &b).ok());
  EXPECT_EQ(ToHex(a), ToHex(b));
}

TEST(Iso8583Test, MaskPanKeepsFirstSixAndLastFour) {
  EXPECT_EQ(MaskPan("4111111111111111"), "411111******1111");
  EXPECT_EQ(MaskPan("4111111111111"), "411111***1111");
  EXPECT_EQ(MaskPan("123456789"), "*****6789");
  EXPECT_EQ(MaskPan("1234"), "****");
  EXPECT_EQ(MaskPan(""), "");
  // Track 1 in the 1987 ASCII spec.
  const auto spec = BuiltIn("1987");
  Message m;
  m.SetMti("0100");
  m.Set(45, "B4111111111111111^DOE/JOHN^2712101");
  Result<OrderedJson> json = MessageToJson(*spec, m);
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ((*json)["fields"]["45"], "B411111******1111^DOE/JOHN^2712101");
}

TEST(Iso8583Test, EachEncodingOnTheWire) {
  const auto spec = Parsed(R"({
    "mti": {"encoding": "ebcdic"},
    "bitmap": {"encoding": "hex", "max": 3},
    "fields": {
      "2": {"format": "n.19", "encoding": "bcd-rpad", "prefix_encoding": "binary"},
      "3": {"format": "n 5", "encoding": "bcd"},
      "4": {"format": "n 5", "encoding": "bcd-rpad"},
      "5": {"format": "ans 3", "encoding": "ebcdic"},
      "6": {"format": "ans....2000", "prefix_encoding": "ebcdic"},
      "7": {"format": "b 16", "encoding": "hex"},
      "8": {"format": "z..37", "encoding": "bcd", "pad": "F", "prefix_encoding": "hex"},
      "9": {"format": "x+n 4"},
      "130": {"format": "n 2"}
    }})");
  ASSERT_NE(spec, nullptr);
  Message m;
  m.SetMti("0800");
  m.Set(2, "123");
  m.Set(3, "12345");
  m.Set(4, "12345");
  m.Set(5, "AB1");
  m.Set(6, "xyz");
  m.Set(7, Bytes("BEEF"));
  m.Set(8, "1=2");
  m.Set(9, "D0042");
  m.Set(130, "42");
  std::string bytes;
  ASSERT_TRUE(Pack(*spec, m, &bytes).ok());
  const std::string expected = "F0F8F0F0" +  // MTI in EBCDIC
                               ToHex(
                                   "FF80000000000000"
                                   "8000000000000000"
                                   "4000000000000000") +  // three hex bitmaps
                               "03"
                               "1230"    // 2: binary L, left-aligned BCD
                               "012345"  // 3: right-aligned BCD
                               "123450"  // 4: left-aligned BCD
                               "C1C2F1"  // 5: EBCDIC
                               "F0F0F0F3"
                               "78797A"    // 6: LLLL in EBCDIC, ASCII text
                               "42454546"  // 7: bytes as hex characters
                               "3033"
                               "F1D2"        // 8: LL as ASCII hex, track nibbles, F pad
                               "4430303432"  // 9: x+n
                               "3432";       // 130
  EXPECT_EQ(ToHex(bytes), expected);
  Message decoded;
  const Status status = Unpack(*spec, bytes, &decoded);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(decoded.bitmaps(), 3);
  m.ForEach([&](int number, std::string_view value) {
    EXPECT_EQ(decoded.Get(number), value) << "field " << number;
  });
}

// Values of ASCII and binary fields are views into the input: nothing copied.
TEST(Iso8583Test, UnpackViewsIntoTheBuffer) {
  const auto spec = BuiltIn("1987");
  const std::string bytes =
      "0200"
      "3000000000000000"
      "123456"
      "000000001500";
  Message m;
  ASSERT_TRUE(Unpack(*spec, bytes, &m).ok());
  EXPECT_EQ(m.Get(3), "123456");
  EXPECT_EQ(m.Get(3).data(), bytes.data() + 20);
  EXPECT_EQ(m.Get(4).data(), bytes.data() + 26);
}

struct ErrorCase {
  std::string spec;
  std::string hex;
  std::string error;
};

TEST(Iso8583Test, MalformedMessagesNameTheFieldAndOffset) {
  const std::vector<ErrorCase> cases = {
      {"1987", ToHex("02"), "MTI at byte 0: the message has 2 bytes, the MTI alone needs 4"},
      {"1987", ToHex("02X0"), "MTI at byte 0: byte 2 is \"X\", not an ASCII digit"},
      {"1987", ToHex("02003000G00000000000"),
       "primary bitmap at byte 4: byte 8 is \"G\", not a hex digit"},
      {"1987", ToHex("0200300000"),
       "primary bitmap at byte 4: needs 16 hex characters but only 6 bytes remain"},
      {"1987", ToHex("0200B000000000000000123456"),
       "secondary bitmap at byte 20: needs 16 hex characters but only 6 bytes remain"},
      {"1987", ToHex("02003000000000000000123456"),
       "field 4 (n 12) at byte 26: the value needs 12 bytes (12 digits) but only 0 remain"},
      {"1987", ToHex("0200200000000000000012A456"),
       "field 3 (n 6) at byte 20: byte 22 is \"A\", not a digit"},
      {"1987", ToHex("020040000000000000002541111111111111111111111111"),
       "field 2 (n..19) at byte 20: the length prefix says 25 digits, over the maximum 19"},
      {"1987", ToHex("0200400000000000000016411111111111111199"),
       "byte 38: 2 bytes left after the last field"},
      {"1987-binary",
       "0200"
       "2000000000000000"
       "12345A",
       "field 3 (n 6) at byte 10: byte 12 (0x5A) has the nibble A, not a BCD digit 0-9"},
      {"1987-binary",
       "0200"
       "4000000000000000"
       "03"
       "5123",
       "field 2 (n..19) at byte 11: byte 11 (0x51) pads the odd digit count with nibble 5, "
       "expected 0"},
      {"1987-binary",
       "0200"
       "4000000000000000"
       "1A",
       "field 2 (n..19) at byte 10: the length prefix 0x1A is not 2 BCD digits"},
      {"1987-binary",
       "0200"
       "C000000000000000"
       "0000000000000000"
       "10"
       "1234",
       "field 2 (n..19) at byte 19: the value needs 5 bytes (10 digits) but only 2 remain"},
      {"1987-binary",
       "0200"
       "8000000000000000"
       "8000000000000000",
       "field 65 (b 8) at byte 18: the value needs 1 byte but only 0 remain"},
      {"1987-binary",
       "0200"
       "0000000000000200"
       "0011"
       "9F0203000001",
       "field 55 (b...255) at byte 12: the value needs 11 bytes but only 6 remain"},
      {R"({"bitmap": {"encoding": "hex"}, "fields": {"3": {"format": "n 6"}}})",
       ToHex("0200"
             "6000000000000000"
             "123456"),
       "bitmap: bit 2 is set but the spec \"test spec\" defines no field 2 (at byte 20, where it "
       "would start)"},
      {R"({"bitmap": {"encoding": "hex", "max": 1}, "fields": {"3": {"format": "n 6"}}})",
       ToHex("0200"
             "A000000000000000"
             "123456"),
       "primary bitmap at byte 4: bit 1 announces a secondary bitmap, but the spec \"test spec\" "
       "allows 1"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.hex);
    const auto spec = c.spec.starts_with("{") ? Parsed(c.spec) : BuiltIn(c.spec);
    Message m;
    const Status status = Unpack(*spec, Bytes(c.hex), &m);
    ASSERT_FALSE(status.ok());
    EXPECT_THAT(status.message(), HasSubstr(c.error));
  }
}

TEST(Iso8583Test, BadTlvAndSubFieldsAreNamedInJson) {
  const auto spec = BuiltIn("1987-binary");
  Message m;
  m.SetMti("0200");
  m.Set(55, Bytes("9F0206000000001500"
                  "9F1A05"
                  "0826"));
  Result<OrderedJson> json = MessageToJson(*spec, m);
  ASSERT_FALSE(json.has_value());
  EXPECT_THAT(json.error().message(),
              HasSubstr("field 55 BER-TLV at byte 9 of the field's value: tag 9F1A declares 5 "
                        "bytes but 2 remain"));
  // A long-form length where the short one would do cannot come back from tags: it stays hex.
  m.Set(55, Bytes("9F02810100"
                  "5A0841111111111111115A00"));
  json = MessageToJson(*spec, m, {.mask_pan = false});
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ((*json)["fields"]["55"], "9F028101005A0841111111111111115A00");
  // Masked, the tags show (the PAN masked) whatever their coding.
  json = MessageToJson(*spec, m);
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ((*json)["fields"]["55"].dump(), R"({"9F02":"00","5A":""})");
  ExpectSameJsonText(*spec, m);
  std::string line = "kept";
  m.Set(55, Bytes("9F0206000000001500"
                  "9F1A05"
                  "0826"));
  const Status bad = AppendMessageJson(*spec, m, {}, &line);
  EXPECT_THAT(bad.message(), HasSubstr("tag 9F1A declares 5 bytes but 2 remain"));
  EXPECT_EQ(line, "kept");
  m.Set(55, Bytes("9F02810100"
                  "5A084111111111111111"));
  json = MessageToJson(*spec, m);
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ((*json)["fields"]["55"].dump(), R"({"9F02":"00","5A":"411111******1111"})");
  ExpectSameJsonText(*spec, m);
  // Constructed tags nest.
  m.Set(55, Bytes("7007"
                  "9F02020015"
                  "8200"));
  json = MessageToJson(*spec, m);
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ((*json)["fields"]["55"].dump(), R"({"70":{"9F02":"0015","82":""}})");
  ExpectSameJsonText(*spec, m);

  const auto ascii = BuiltIn("1987");
  Message r;
  r.SetMti("0400");
  r.Set(90, "020000331609080645190000000020000000000000");
  json = MessageToJson(*ascii, r);
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ((*json)["fields"]["90"]["stan"], "003316");
  EXPECT_EQ((*json)["fields"]["90"]["acquirer_id"], "00000000200");
  r.Set(90, "0200003316090806451900000000200000000000AB");
  json = MessageToJson(*ascii, r);
  ASSERT_FALSE(json.has_value());
  EXPECT_THAT(json.error().message(),
              HasSubstr("field 90 sub-field `forwarder_id` (n 11) at byte 31 of its value: byte "
                        "40 is \"A\", not a digit"));
}

TEST(Iso8583Test, PackNamesWhatAValueLacks) {
  const auto spec = BuiltIn("1987");
  Message m;
  m.SetMti("0200");
  m.Set(3, "12345");
  std::string out;
  Status status = Pack(*spec, m, &out);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(
      status.message(),
      HasSubstr("field 3 (n 6): the value \"12345\" has 5 digits; the field takes exactly 6"));
  m.Set(3, "12345X");
  out.clear();
  status = Pack(*spec, m, &out);
  EXPECT_THAT(status.message(), HasSubstr("has \"X\" at character 5, not a digit"));
  m.Set(3, "123456");
  m.Set(2, "41111111111111111111");
  out.clear();
  status = Pack(*spec, m, &out);
  EXPECT_THAT(status.message(),
              HasSubstr("field 2 (n..19): the value has 20 digits, over the maximum 19"));
  m.Remove(2);
  m.Set(67, "12");
  m.Remove(67);
  m.SetMti("02A0");
  out.clear();
  EXPECT_THAT(Pack(*spec, m, &out).message(), HasSubstr("MTI: \"02A0\" is not 4 digits"));
}

TEST(Iso8583Test, SpecErrorsSayWhatIsExpected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"fields": {"2": {"format": "n..19", "colour": "red"}}})",
       "test spec: fields.2: unknown key \"colour\""},
      {R"({"fields": {"1": {"format": "b 64"}}})", "fields.1: a field number is 2 to 128"},
      {R"({"fields": {"2": {"format": "n:19"}}})", "format \"n:19\" is not"},
      {R"({"fields": {"2": {"format": "q 4"}}})", "unknown type \"q\""},
      {R"({"fields": {"2": {"format": "n..199", "prefix_encoding": "binary"}}})", ""},
      {R"({"fields": {"2": {"format": "n.9999", "prefix_encoding": "bcd"}}})",
       "a L prefix in bcd counts up to 9, less than the maximum 9999; use a longer prefix"},
      {R"({"fields": {"2": {"format": "ans 4", "encoding": "bcd"}}})",
       "encoding bcd does not suit type ans"},
      {R"({"fields": {"55": {"format": "ans...999", "tlv": "ber"}}})",
       "a BER-TLV field has type b"},
      {R"({"base": "1986", "fields": {}})", "no built-in ISO 8583 spec \"1986\""},
      {R"({"defaults": {"prefix_width": "wide"}, "fields": {}})",
       "\"notation\" (one digit per dot)"},
  };
  for (const auto& [json, error] : cases) {
    SCOPED_TRACE(json);
    Result<std::shared_ptr<const Spec>> spec = Spec::Parse(json, "test spec");
    if (error.empty()) {
      EXPECT_TRUE(spec.has_value()) << spec.error().ToString();
      continue;
    }
    ASSERT_FALSE(spec.has_value());
    EXPECT_THAT(spec.error().message(), HasSubstr(error));
  }
}

TEST(Iso8583Test, SequentialLayoutWithALengthField) {
  const auto spec = Parsed(R"({
    "layout": "sequential",
    "fields": [
      {"name": "kind", "type": "uint", "length": 1},
      {"name": "size", "type": "uint", "length": 2, "encoding": "uint-le"},
      {"name": "body", "type": "ans", "length_field": "size", "length_adjust": -1},
      {"name": "tail", "type": "b", "rest": true}
    ]})");
  ASSERT_NE(spec, nullptr);
  const std::string bytes = Bytes(
      "07"
      "0400"
      "414243"
      "FFEE");
  Message m;
  ASSERT_TRUE(Unpack(*spec, bytes, &m).ok());
  EXPECT_EQ(m.Get(1), "7");
  EXPECT_EQ(m.Get(2), "4");
  EXPECT_EQ(m.Get(3), "ABC");
  EXPECT_EQ(ToHex(m.Get(4)), "FFEE");
  Result<OrderedJson> json = MessageToJson(*spec, m);
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ(json->dump(), R"({"fields":{"kind":7,"size":4,"body":"ABC","tail":"FFEE"}})");
  Message back;
  ASSERT_TRUE(MessageFromJson(*spec, *json, &back).ok());
  std::string out;
  ASSERT_TRUE(Pack(*spec, back, &out).ok());
  EXPECT_EQ(ToHex(out), ToHex(bytes));
  const Status status = Unpack(*spec,
                               Bytes("07"
                                     "0900"
                                     "41"),
                               &m);
  EXPECT_THAT(status.message(), HasSubstr("field `body` (ans, length from another field -1) at "
                                          "byte 3: the value needs 8 bytes (8 characters) but "
                                          "only 1 remain"));
}

// Random values that fit a field.
class ValueMaker {
 public:
  explicit ValueMaker(uint32_t seed) : rng_(seed) {}

  std::string For(const FieldSpec& f) {
    if (f.subfields != nullptr) {
      std::string value;
      for (const FieldSpec& sub : f.subfields->fields) {
        std::string part = For(sub);
        if (sub.rule == LengthRule::kPrefixed) {
          part = fmt::format("{:0{}}", part.size(), sub.prefix_digits) + part;
        }
        value += part;
      }
      return value;
    }
    int64_t units = f.length;
    if (f.rule != LengthRule::kFixed) units = Uniform(0, std::min<int64_t>(f.length, 40));
    switch (f.type) {
      case DataType::kNumeric: return Chars(units, "0123456789");
      case DataType::kSigned: return Chars(1, "CD") + Chars(units, "0123456789");
      case DataType::kTrack: return Chars(units, "0123456789=");
      case DataType::kBinary: return f.tlv ? Tlv() : Chars(units, "");
      case DataType::kUnsigned: return std::to_string(Uniform(0, 255));
      case DataType::kText:
        return Chars(units,
                     f.encoding == Encoding::kEbcdic
                         ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ./-"
                         : " !\"#$%&'()+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~\t\n"
                           "\x01\x1F\x7F");
    }
    return {};
  }

  int64_t Uniform(int64_t low, int64_t high) {
    return std::uniform_int_distribution<int64_t>(low, high)(rng_);
  }

 private:
  // `alphabet` empty: any byte.
  std::string Chars(int64_t count, std::string_view alphabet) {
    std::string s;
    for (int64_t i = 0; i < count; ++i) {
      s.push_back(alphabet.empty()
                      ? static_cast<char>(Uniform(0, 255))
                      : alphabet[Uniform(0, static_cast<int64_t>(alphabet.size()) - 1)]);
    }
    return s;
  }

  // Canonical BER-TLV: distinct EMV tags, one constructed template.
  std::string Tlv() {
    static constexpr std::string_view kTags[] = {"9F02", "9F03", "82",   "95",   "9A",
                                                 "9C",   "5F2A", "9F1A", "9F26", "9F27",
                                                 "9F10", "9F37", "84"};
    std::string tlv;
    for (std::string_view tag : kTags) {
      if (Uniform(0, 2) == 0) continue;
      const std::string value = Chars(Uniform(0, 12), "");
      tlv += *FromHex(tag) + static_cast<char>(value.size()) + value;
    }
    if (Uniform(0, 1) == 0) {
      const std::string inner = *FromHex("9F3602") + Chars(2, "");
      tlv += *FromHex("70") + static_cast<char>(inner.size()) + inner;
    }
    return tlv;
  }

  std::mt19937 rng_;
};

TEST(Iso8583Test, RandomFieldSetsRoundTripThroughBytesAndJson) {
  ValueMaker maker(8583);
  for (const std::string& name : Spec::BuiltInNames()) {
    SCOPED_TRACE(name);
    const auto spec = BuiltIn(name);
    Message m, decoded, from_json;
    std::string bytes, again, via_json;
    for (int round = 0; round < 150; ++round) {
      m.Clear();
      m.SetMti(fmt::format("{:04}", maker.Uniform(0, 9999)));
      for (const FieldSpec& f : spec->fields()) {
        if (maker.Uniform(0, 3) == 0) m.Set(f.number, maker.For(f));
      }
      if (maker.Uniform(0, 4) == 0) m.set_bitmaps(2);
      bytes.clear();
      const Status packed = Pack(*spec, m, &bytes);
      ASSERT_TRUE(packed.ok()) << packed.ToString();
      const Status unpacked = Unpack(*spec, bytes, &decoded);
      ASSERT_TRUE(unpacked.ok()) << unpacked.ToString() << "\n" << ToHex(bytes);
      EXPECT_EQ(decoded.present(), m.present());
      EXPECT_EQ(decoded.mti(), m.mti());
      m.ForEach([&](int number, std::string_view value) {
        EXPECT_EQ(ToHex(decoded.Get(number)), ToHex(value)) << "field " << number;
      });
      again.clear();
      ASSERT_TRUE(Pack(*spec, decoded, &again).ok());
      ASSERT_EQ(ToHex(again), ToHex(bytes));

      Result<OrderedJson> json = MessageToJson(*spec, decoded, {.mask_pan = false});
      ASSERT_TRUE(json.has_value()) << json.error().ToString();
      // The direct writer writes what the document's dump does, masked or not.
      for (const bool mask : {false, true}) {
        std::string line = "prefix";
        ASSERT_TRUE(AppendMessageJson(*spec, decoded, {.mask_pan = mask}, &line).ok());
        ASSERT_EQ(line, "prefix" + MessageToJson(*spec, decoded, {.mask_pan = mask})->dump());
      }
      const Status parsed = MessageFromJson(*spec, *json, &from_json);
      ASSERT_TRUE(parsed.ok()) << parsed.ToString() << "\n" << json->dump();
      via_json.clear();
      const Status repacked = Pack(*spec, from_json, &via_json);
      ASSERT_TRUE(repacked.ok()) << repacked.ToString();
      ASSERT_EQ(ToHex(via_json), ToHex(bytes)) << json->dump();
    }
  }
}

// Every prefix of a message and random corruptions decode or fail with a message naming a place;
// none crashes (the sanitizer run checks the reads).
TEST(Iso8583Test, TruncatedAndCorruptedMessagesNeverCrash) {
  std::mt19937 rng(55);
  for (const std::string_view name : {"1987", "1987-binary"}) {
    const auto spec = BuiltIn(name);
    std::string bytes;
    Message m = Authorization();
    if (name == "1987") {
      m.Set(52, "01234567");
      m.Set(55, ToHex(m.Get(55)));  // ans...999 there: text
    }
    const Status packed = Pack(*spec, m, &bytes);
    ASSERT_TRUE(packed.ok()) << packed.ToString();
    Message decoded;
    for (size_t n = 0; n < bytes.size(); ++n) {
      // A heap copy of exactly n bytes, so that a read past the end is caught.
      const std::string cut = bytes.substr(0, n);
      const Status status = Unpack(*spec, cut, &decoded);
      ASSERT_FALSE(status.ok()) << n;
      EXPECT_THAT(status.message(), testing::ContainsRegex("byte [0-9]+")) << status.message();
    }
    for (int round = 0; round < 3000; ++round) {
      std::string corrupt = bytes;
      for (int k = 0; k < 3; ++k) {
        corrupt[rng() % corrupt.size()] = static_cast<char>(rng());
      }
      const Status status = Unpack(*spec, corrupt, &decoded);
      if (status.ok()) {
        std::string again;
        (void)Pack(*spec, decoded, &again);
        (void)MessageToJson(*spec, decoded);
      }
    }
  }
}

// Random bytes, and random bytes behind a valid MTI and bitmap, under every built-in spec.
TEST(Iso8583Test, RandomBytesNeverCrash) {
  std::mt19937 rng(1987);
  Message m;
  for (const std::string& name : Spec::BuiltInNames()) {
    const auto spec = BuiltIn(name);
    for (int round = 0; round < 2000; ++round) {
      std::string bytes(rng() % 120, '\0');
      for (char& c : bytes) c = static_cast<char>(rng());
      if (round % 2 == 0) {
        std::string head;
        Message header;
        header.SetMti("0200");
        header.set_bitmaps(2);
        ASSERT_TRUE(Pack(*spec, header, &head).ok());
        bytes = head + bytes;
        // Random presence bits in the primary bitmap (its first digit or byte, with the
        // secondary bitmap's bit, kept).
        const bool hex = spec->bitmap_encoding() == Encoding::kHex;
        const size_t width = hex ? 16 : 8;
        const size_t primary = head.size() - 2 * width;
        for (size_t i = 1; i < width; ++i) {
          bytes[primary + i] = hex ? "0123456789ABCDEF"[rng() % 16] : static_cast<char>(rng());
        }
      }
      if (Unpack(*spec, bytes, &m).ok()) {
        (void)MessageToJson(*spec, m);
        (void)Validate(*spec, m);
      }
    }
  }
}

TEST(Iso8583Test, FromHexNamesTheBadCharacter) {
  EXPECT_EQ(*FromHex("0a 1B"), std::string("\x0a\x1b", 2));
  EXPECT_EQ(FromHex("0a1G").error().message(), "character 3 is \"G\", not a hex digit");
  EXPECT_THAT(FromHex("0a1").error().message(), HasSubstr("odd count"));
}

}  // namespace
}  // namespace ferry::legacy::iso8583
