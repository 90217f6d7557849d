// ISO 8583 messages (and other length-delimited binary messages) to JSON and back, driven by a
// field specification in JSON (docs/iso8583.md describes the format, the JSON mapping and every
// error).
//
// A `Spec` has one of two layouts:
// - bitmap: an MTI, a primary bitmap, optional secondary and tertiary bitmaps (binary or hex),
//   then the fields whose bits are set, in ascending order (ISO 8583:1987, section 4);
// - sequential: fields one after the other, each of fixed length, length-prefixed, sized by an
//   earlier field's value, or the rest of the message (network headers; the sub-fields of a
//   composite are such a layout).
//
// Each field has a data type (`n`, `an`, `ans`, `z`, `x+n`, `b`, `uint`, ...), a value encoding
// (ASCII, EBCDIC, BCD left or right padded, raw bytes, ASCII hex, big- or little-endian
// unsigned), and a length rule (fixed, an L/LL/LLL/LLLL prefix in ASCII, EBCDIC, hex, BCD or
// binary, an earlier field, the rest). A field may be a composite of sub-fields (a nested
// sequential layout) or BER-TLV (EMV field 55).
//
// `Unpack` turns bytes into a `Message` (each field's value as text, or bytes for `b` fields);
// `Pack` turns a `Message` back into the same bytes. `MessageToJson` and `MessageFromJson` map a
// `Message` to the JSON document of docs/iso8583.md (sub-fields and TLV tags expanded, PANs
// masked unless asked otherwise). Errors are InvalidArgument and name the field, the byte
// offset and what was expected.
//
// Thread-safety: a Spec is immutable once built and may be shared by threads; a Message is a
// value (one per thread).
#ifndef FERRY_LEGACY_ISO8583_H_
#define FERRY_LEGACY_ISO8583_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace ferry::legacy {
class CodePage;
}

namespace ferry::legacy::iso8583 {

using OrderedJson = nlohmann::ordered_json;

// The most fields a message holds: three bitmaps of 64 bits (or 192 sequential fields).
inline constexpr int kMaxFields = 192;

enum class DataType : uint8_t {
  kNumeric,  // n: digits 0-9
  kText,     // a, an, ans, as, ns, anp, ...: any character of the encoding
  kTrack,    // z: track 2/3 data, digits, A-F and the separators = ; ? (nibbles in BCD)
  kSigned,   // x+n: C (credit) or D (debit), then digits
  kBinary,   // b: bytes (JSON: upper-case hex)
  kUnsigned  // uint: an unsigned integer (JSON: a number)
};

enum class Encoding : uint8_t {
  kAscii,
  kEbcdic,        // the spec's code page, IBM 037 unless it says otherwise
  kBcd,           // packed decimal, two digits a byte, an odd count padded with 0 at the front
  kBcdRightPad,   // packed decimal, an odd count padded with 0 at the end
  kBinary,        // raw bytes (b) or a big-endian binary length prefix
  kBinaryLittle,  // a little-endian binary length prefix
  kHex,           // each byte as two ASCII hex characters (b values, bitmaps, length prefixes)
  kUintBig,       // uint: big-endian, `length` bytes
  kUintLittle,    // uint: little-endian, `length` bytes
};

enum class LengthRule : uint8_t {
  kFixed,      // always `length` units
  kPrefixed,   // a prefix of `prefix_digits` L's, at most `length` units
  kFromField,  // an earlier sibling's unsigned value plus `length_adjust`
  kRest        // what remains of the message (or of the composite)
};

enum class Mask : uint8_t { kNone, kPan, kTrack2, kTrack1 };

struct Layout;

// One field (or sub-field). Units: digits for n, x+n (not counting the sign) and z; characters
// for text; bytes for b and uint.
struct FieldSpec {
  int number = 0;    // bitmap layouts: the data element, 2-192; sequential: position, 1-based
  std::string name;  // description (bitmap) or JSON key (sequential)
  std::string key;   // the JSON key: the number for bitmap layouts, the name otherwise
  std::string type_name = "ans";
  DataType type = DataType::kText;
  Encoding encoding = Encoding::kAscii;
  LengthRule rule = LengthRule::kFixed;
  int length = 0;  // fixed length, or the maximum (0: none, for kFromField and kRest)
  int prefix_digits = 0;
  Encoding prefix_encoding = Encoding::kAscii;
  int length_field = -1;  // index of the sibling giving the length (kFromField)
  int64_t length_adjust = 0;
  Mask mask = Mask::kNone;
  bool tlv = false;        // the value is BER-TLV (EMV Book 3, annex B)
  uint8_t pad_nibble = 0;  // BCD: the nibble that pads an odd digit count (0 or 0xF)
  std::string date;        // documents a date/time format ("MMDD"); checked by ValidateDates
  std::shared_ptr<const Layout> subfields;  // a composite: its value is a sequential layout

  // "n..19", "b 8", "uint-be 2": the field in ISO notation, for error messages.
  std::string Describe() const;
  // "field 35" (bitmap layout) or "field `length`" (sequential).
  std::string Label() const;
};

struct Layout {
  std::vector<FieldSpec> fields;
};

class Spec {
 public:
  // Parses a spec document (docs/iso8583.md). `source_name` prefixes errors. A document with
  // "base": "<built-in name>" is applied as an RFC 7396 merge patch to that built-in spec.
  [[nodiscard]] static Result<std::shared_ptr<const Spec>> Parse(std::string_view json_text,
                                                                 std::string_view source_name);
  [[nodiscard]] static Result<std::shared_ptr<const Spec>> FromJson(const nlohmann::json& document,
                                                                    std::string_view source_name);
  // A built-in name ("1987", "1987-binary", "legacy-1987", ...) or the path of a spec file.
  [[nodiscard]] static Result<std::shared_ptr<const Spec>> Load(std::string_view name_or_path);
  // A spec compiled into the binary: "1987" (ASCII), "1987-binary" (BCD and binary, EMV
  // field 55 as TLV), and the legacy-1987 layouts of moov-io/iso8583's test messages
  // (docs/iso8583.md lists them). NotFound lists the names.
  [[nodiscard]] static Result<std::shared_ptr<const Spec>> BuiltIn(std::string_view name);
  static std::vector<std::string> BuiltInNames();
  // The JSON text of a built-in spec, as shipped in src/legacy/specs/.
  static Result<std::string_view> BuiltInText(std::string_view name);

  const std::string& name() const { return name_; }
  bool bitmapped() const { return bitmapped_; }
  Encoding mti_encoding() const { return mti_encoding_; }
  Encoding bitmap_encoding() const { return bitmap_encoding_; }
  int max_bitmaps() const { return max_bitmaps_; }
  const CodePage* codepage() const { return codepage_; }
  const std::vector<FieldSpec>& fields() const { return layout_.fields; }
  // The field of that number (bitmap) or position (sequential), nullptr when undefined.
  const FieldSpec* field(int number) const {
    if (number < 1 || number > kMaxFields) return nullptr;
    const int index = index_[number];
    return index < 0 ? nullptr : &layout_.fields[index];
  }
  // The field whose JSON key is `key` ("35", or a sequential field's name).
  const FieldSpec* FindKey(std::string_view key) const;

 private:
  friend class SpecParser;
  std::string name_;
  bool bitmapped_ = true;
  Encoding mti_encoding_ = Encoding::kAscii;
  Encoding bitmap_encoding_ = Encoding::kBinary;
  int max_bitmaps_ = 2;
  const CodePage* codepage_ = nullptr;
  Layout layout_;
  std::array<int16_t, kMaxFields + 1> index_{};
};

// A decoded message: the MTI and each present field's value. Values are text (digits for n,
// the characters for text, z and x+n as UTF-8, the decimal digits of a uint), or the raw bytes
// of a b field. A value that needs no conversion (ASCII text and digits, binary bytes) is a view
// into the buffer given to Unpack, which must outlive the Message's use of it; the others are
// converted into storage the Message owns and reuses: decoding many messages into one Message
// allocates nothing once it has grown.
class Message {
 public:
  Message() { Clear(); }

  void Clear();

  std::string_view mti() const { return {mti_.data(), mti_size_}; }
  void SetMti(std::string_view mti);

  bool Has(int number) const {
    return number >= 1 && number <= kMaxFields &&
           (present_[(number - 1) >> 6] >> (63 - ((number - 1) & 63)) & 1) != 0;
  }
  std::string_view Get(int number) const {
    if (!Has(number)) return {};
    const Span& s = spans_[number];
    return {(s.in_input ? input_.data() : data_.data()) + s.offset, s.size};
  }
  // Sets (or replaces) a field's value. number: 1-192.
  void Set(int number, std::string_view value);
  void Remove(int number);

  // The presence bits of the data fields: word 0 = fields 1-64 (field 1 = most significant
  // bit), 1 = 65-128, 2 = 129-192. The bitmap-continuation bits (1, and 65 with a tertiary
  // bitmap) are not fields: bitmaps() says how many bitmaps there are.
  const std::array<uint64_t, 3>& present() const { return present_; }
  // The bitmaps the message had on the wire (1-3); Pack writes at least that many, so a
  // secondary bitmap with no field set survives a round trip.
  int bitmaps() const { return bitmaps_; }
  void set_bitmaps(int count) { bitmaps_ = count; }

  // Calls f(number, value) for each present field in ascending order.
  template <typename F>
  void ForEach(F&& f) const {
    for (int word = 0; word < 3; ++word) {
      uint64_t bits = present_[word];
      while (bits != 0) {
        const int bit = __builtin_clzll(bits);
        bits &= ~(uint64_t{1} << (63 - bit));
        const int number = word * 64 + bit + 1;
        f(number, Get(number));
      }
    }
  }

 private:
  friend Status Unpack(const Spec& spec, std::string_view bytes, Message* message);
  friend class Unpacker;
  struct Span {
    uint32_t offset = 0;
    uint32_t size : 31 = 0;
    uint32_t in_input : 1 = 0;  // a view into input_, else into data_
  };
  void MarkPresent(int number) {
    present_[(number - 1) >> 6] |= uint64_t{1} << (63 - ((number - 1) & 63));
  }
  std::array<char, 8> mti_{};
  uint8_t mti_size_ = 0;
  uint8_t bitmaps_ = 1;
  std::array<uint64_t, 3> present_{};
  std::array<Span, kMaxFields + 1> spans_{};
  std::string_view input_;
  std::string data_;
};

// Decodes one message. Values that need no conversion are views into `bytes`, which must
// outlive the message's use of them. On error, `message` holds what was decoded before it.
[[nodiscard]] Status Unpack(const Spec& spec, std::string_view bytes, Message* message);
// Appends the message's bytes to `out`. Errors name the field and what its value lacks; `out`
// then holds a partial message.
[[nodiscard]] Status Pack(const Spec& spec, const Message& message, std::string* out);

struct JsonOptions {
  // PANs shown as first 6 + last 4 digits (field 2, the PAN in track 1 and 2 data, EMV tags 5A
  // and 57): the default, as PCI DSS 3.4 asks of anything displayed or logged. false for a
  // document that must encode back.
  bool mask_pan = true;
};

// The message as JSON: {"mti": "0200", "bitmap": "<hex>", "fields": {"2": "...", ...}} for a
// bitmap layout, {"fields": {"name": value, ...}} for a sequential one. Fails only where a
// composite or TLV value does not parse (the error names the field, sub-field and offset).
[[nodiscard]] Result<OrderedJson> MessageToJson(const Spec& spec, const Message& message,
                                                const JsonOptions& options = {});
// The same document appended to `out` as compact JSON text (one line, no newline), exactly as
// MessageToJson(...).dump() would write it, without building the document: the fast path of
// `ferry iso8583 decode` (composites, and TLV values with a repeated tag, still go through a
// document). On error `out` is left as it was.
[[nodiscard]] Status AppendMessageJson(const Spec& spec, const Message& message,
                                       const JsonOptions& options, std::string* out);
// The inverse: fills `message` (cleared first) from such a document. "bitmap" is optional; when
// given it must agree with "fields". A sequential field that gives a later field's length may
// be left out: it is computed.
[[nodiscard]] Status MessageFromJson(const Spec& spec, const OrderedJson& document,
                                     Message* message);

// Checks what Unpack leaves alone so that any message that frames well decodes (and re-encodes):
// the date/time formats fields declare ("date": "MMDD", "hhmmss", "YYMM", "YYMMDD",
// "MMDDhhmmss"), the C/D sign of x+n fields, and the characters of z (track) fields (digits,
// the nibble letters A-F, the separators = ^ and the sentinels ; ? %). Reports every problem, one
// per line, each naming the field; OK when there are none. Message-type rules (which fields a 0420
// needs) are not checked.
[[nodiscard]] Status Validate(const Spec& spec, const Message& message);

// Decodes one value of `units` units (digits, characters or bytes, as FieldSpec says) from the
// front of `bytes` with the field's encoding, appending its text (or bytes) to `out`: the single
// value decoder under Unpack, exposed for tests. Negative or too large unit counts are errors.
[[nodiscard]] Status DecodeValue(const Spec& spec, const FieldSpec& field, std::string_view bytes,
                                 int64_t units, std::string* out);

// Masks a PAN: the first 6 and last 4 digits kept when it has 13 or more, the last 4 when it
// has 5 to 12, none otherwise.
std::string MaskPan(std::string_view pan);

// Lower-level helpers, exposed for tests and for the CLI's hex input.
std::string ToHex(std::string_view bytes);
// Hex text (upper or lower case, spaces and tabs ignored) to bytes; the error names the
// character offset.
[[nodiscard]] Result<std::string> FromHex(std::string_view hex);

}  // namespace ferry::legacy::iso8583

#endif  // FERRY_LEGACY_ISO8583_H_
