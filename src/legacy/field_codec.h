// One elementary field's bytes to a value, and a value back to bytes: zoned decimal (DISPLAY,
// with overpunched or separate signs), numeric-edited text, binary (COMP, COMP-4, BINARY,
// COMP-5), packed decimal (COMP-3), IBM hexadecimal and IEEE 754 floating point (COMP-1,
// COMP-2), and text in a code page.
//
// Numbers never pass through a double: a decoded number is its decimal digits, a sign and the
// picture's scale, printed exactly (30.50 stays 30.50; 37 digits stay 37 digits).
//
// Thread-safety: a FieldCodec is immutable after construction except for its scratch buffer
// and last error: use one per thread.
#ifndef FERRY_LEGACY_FIELD_CODEC_H_
#define FERRY_LEGACY_FIELD_CODEC_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "legacy/codepage.h"
#include "legacy/copybook.h"

namespace ferry::legacy {

// How text and DISPLAY numbers are encoded: EBCDIC (a code page) or ASCII.
enum class Encoding : uint8_t { kEbcdic, kAscii };

// COMP-1 and COMP-2: IBM System/360 hexadecimal floating point (as z/OS writes it) or IEEE 754
// binary32/binary64, each big- or little-endian (Cobrix's `floating_point_format`).
enum class FloatFormat : uint8_t { kIbm, kIbmLittleEndian, kIeee, kIeeeLittleEndian };

// Which blanks (characters up to U+0020) text values lose: Cobrix's `string_trimming_policy`.
// kKeepAll also keeps ASCII control bytes, which the others drop.
enum class Trimming : uint8_t { kNone, kLeft, kRight, kBoth, kKeepAll };

// What a value that does not decode (a letter in a numeric field, a bad packed nibble) becomes.
enum class InvalidValues : uint8_t {
  kReject,  // the record goes to the reject channel, naming the field and the reason
  kNull,    // the value is null, as in Cobrix (including its quirks: docs/legacy.md)
};

struct FieldCodecOptions {
  Encoding encoding = Encoding::kEbcdic;
  const CodePage* code_page = nullptr;  // text; null means cp037 (or ascii for kAscii)
  FloatFormat floating_point = FloatFormat::kIbm;
  // COMP-5 written by a little-endian machine (GnuCOBOL on x86 writes native byte order; z/OS
  // is big-endian). COMP, COMP-4 and BINARY are big-endian everywhere.
  bool comp5_little_endian = false;
  Trimming trimming = Trimming::kBoth;
  // A field whose bytes are all 0x00 is null (Cobrix's `improved_null_detection`): text,
  // DISPLAY and packed numbers. Binary and floating-point fields are never null.
  bool null_if_all_zero_bytes = true;
  InvalidValues invalid = InvalidValues::kReject;
};

// Reads data in code page `name` (CodePage::Get's names): sets the code page, and the ASCII
// encoding for a page that is not EBCDIC. An unknown name is InvalidArgument listing them.
[[nodiscard]] Status UseCodePage(std::string_view name, FieldCodecOptions* options);

// A decoded value. Views point into the decoded record or the codec's scratch buffer and stay
// valid until the next Decode call on the same codec.
struct Value {
  enum class Kind : uint8_t { kNull, kText, kNumber, kFloat, kDouble };
  Kind kind = Kind::kNull;
  bool negative = false;
  int32_t scale = 0;                    // kNumber: the value is digits x 10^-scale
  std::string_view digits;              // kNumber: no sign, no leading zeros ("0" for zero)
  std::span<const uint8_t> text;        // kText: the field's bytes after trimming
  const CodePage* code_page = nullptr;  // kText: how to read them
  double real = 0;                      // kFloat, kDouble
};

// Appends the value as JSON text (a string, or a number with its exact digits); kNull: null.
void AppendJsonValue(const Value& value, std::string* out);
// The value's text: UTF-8 for kText, the number as AppendJsonValue prints it otherwise.
std::string ValueText(const Value& value);

// A number to encode: decimal digits and a scale (value = digits x 10^-scale).
struct DecimalNumber {
  bool negative = false;
  std::string digits;  // no sign, no point; may have leading zeros
  int32_t scale = 0;
};
// Parses "-123.45", "+7", "1.5E3", "0.00030503"; InvalidArgument otherwise.
[[nodiscard]] Result<DecimalNumber> ParseDecimal(std::string_view text);

// What decoding needs of a field, in a few bytes: computed once per field (Of), so that the
// hot loop does not walk a Field's strings and vectors.
struct FieldShape {
  enum class Decoder : uint8_t { kText, kZoned, kEdited, kPacked, kBinary, kFloat };
  Decoder decoder = Decoder::kText;
  ValueType type = ValueType::kString;
  bool is_signed = false;
  bool explicit_point = false;
  bool sign_separate = false;
  bool sign_leading = false;
  bool blank_when_zero = false;
  bool native_binary = false;  // COMP-5
  bool float32 = false;        // COMP-1
  int16_t scale = 0;
  int16_t precision = 0;
  int32_t size = 0;
  const Field* field = nullptr;  // the rest: the picture, for edited items and messages

  static FieldShape Of(const Field& field);
};

class FieldCodec {
 public:
  explicit FieldCodec(const FieldCodecOptions& options);

  const FieldCodecOptions& options() const { return options_; }
  const CodePage* code_page() const { return page_; }

  enum class Outcome : uint8_t { kValue, kNull, kInvalid };
  // Decodes an elementary field from exactly field.size bytes. kInvalid: the bytes are not a
  // value of the field's type (already turned into kNull when options.invalid is kNull);
  // last_error() says why, naming the byte.
  Outcome Decode(const Field& field, std::span<const uint8_t> bytes, Value* value);
  // The same with the field's shape computed beforehand: the fast path.
  Outcome Decode(const FieldShape& shape, std::span<const uint8_t> bytes, Value* value);
  const std::string& last_error() const { return error_; }

  // Encodes into exactly field.size bytes. Text is UTF-8 (padded with spaces, or cut: an
  // error when non-blank characters would be lost); numbers must fit the picture.
  [[nodiscard]] Status EncodeText(const Field& field, std::string_view utf8, uint8_t* out) const;
  [[nodiscard]] Status EncodeNumber(const Field& field, const DecimalNumber& number,
                                    uint8_t* out) const;
  [[nodiscard]] Status EncodeReal(const Field& field, double value, uint8_t* out) const;
  // The bytes of a null value: spaces for text and DISPLAY items, zero for the others.
  void EncodeNull(const Field& field, uint8_t* out) const;

 private:
  Outcome Invalid(std::string reason);
  Status EncodeEdited(const Field& f, bool negative, const std::string& digits, uint8_t* out) const;
  Outcome DecodeText(const FieldShape& f, std::span<const uint8_t> bytes, Value* value);
  Outcome DecodeZoned(const FieldShape& f, std::span<const uint8_t> bytes, Value* value);
  Outcome DecodeEdited(const FieldShape& f, std::span<const uint8_t> bytes, Value* value);
  Outcome DecodePacked(const FieldShape& f, std::span<const uint8_t> bytes, Value* value);
  Outcome DecodeBinary(const FieldShape& f, std::span<const uint8_t> bytes, Value* value);
  Outcome DecodeFloat(const FieldShape& f, std::span<const uint8_t> bytes, Value* value);
  // Sets a kNumber from digits in scratch_[begin, end), checking the field's range.
  Outcome Number(const FieldShape& f, bool negative, size_t begin, size_t end, int32_t scale,
                 Value* value);

  FieldCodecOptions options_;
  const CodePage* page_;
  const CodePage* ascii_chars_;  // EBCDIC bytes of edited numbers, read as characters
  // DISPLAY digit classes, per byte: what a zoned byte is.
  uint8_t zoned_[256];
  char scratch_[192];
  std::string error_;
};

}  // namespace ferry::legacy

#endif  // FERRY_LEGACY_FIELD_CODEC_H_
