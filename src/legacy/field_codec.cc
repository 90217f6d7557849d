#include "legacy/field_codec.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "legacy/number_text.h"

namespace ferry::legacy {
namespace {

// Zoned byte classes (FieldCodec::zoned_): the class in the high nibble, a digit in the low.
constexpr uint8_t kDigit = 0x00;
constexpr uint8_t kPositive = 0x10;  // a digit with a + sign overpunched
constexpr uint8_t kNegative = 0x20;  // a digit with a - sign overpunched
constexpr uint8_t kPlus = 0x30;
constexpr uint8_t kMinus = 0x40;
constexpr uint8_t kPoint = 0x50;
constexpr uint8_t kBlank = 0x60;
constexpr uint8_t kBad = 0xF0;

// Packed bytes of two digits, as two characters (0: a nibble above 9).
constexpr std::array<uint16_t, 256> kPackedPairs = [] {
  std::array<uint16_t, 256> t{};
  for (int b = 0; b < 256; ++b) {
    const int high = b >> 4, low = b & 0x0F;
    if (high <= 9 && low <= 9) t[b] = static_cast<uint16_t>(('0' + high) | (('0' + low) << 8));
  }
  return t;
}();

bool AllZero(std::span<const uint8_t> bytes) {
  return std::ranges::all_of(bytes, [](uint8_t b) { return b == 0; });
}

uint64_t LoadBigEndian(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// The field's bytes as an unsigned integer (big- or little-endian), sign-extended to 128 bits
// when `is_signed` and its top bit is set.
Uint128 LoadInteger(std::span<const uint8_t> bytes, bool little_endian, bool is_signed,
                    bool* negative) {
  const size_t n = bytes.size();
  Uint128 u = 0;
  if (little_endian) {
    for (size_t i = n; i > 0; --i) u = (u << 8) | bytes[i - 1];
  } else if (n <= 8) {
    u = LoadBigEndian(bytes.data(), n);
  } else {
    for (size_t i = 0; i < n; ++i) u = (u << 8) | bytes[i];
  }
  const uint8_t top = little_endian ? bytes[n - 1] : bytes[0];
  *negative = is_signed && (top & 0x80) != 0;
  if (*negative) {
    if (n < 16) u |= ~((static_cast<Uint128>(1) << (8 * n)) - 1);
    u = ~u + 1;  // the magnitude
  }
  return u;
}

double IbmToDouble(uint64_t bits, int bytes) {
  const int fraction_bits = bytes == 4 ? 24 : 56;
  const uint64_t fraction = bits & ((uint64_t{1} << fraction_bits) - 1);
  const int exponent = static_cast<int>((bits >> fraction_bits) & 0x7F) - 64;
  const bool negative = (bits >> (fraction_bits + 7)) & 1;
  const double magnitude = std::ldexp(static_cast<double>(fraction), 4 * exponent - fraction_bits);
  return negative ? -magnitude : magnitude;
}

// IBM hexadecimal floating point (z/Architecture Principles of Operation, chapter 18, "Hex-
// adecimal-Floating-Point Instructions"): sign, 7-bit excess-64 exponent of 16, fraction.
Result<uint64_t> DoubleToIbm(double v, int bytes) {
  const int fraction_bits = bytes == 4 ? 24 : 56;
  if (v == 0 || std::isnan(v)) {
    if (std::isnan(v)) return Err(InvalidArgument("NaN has no IBM hexadecimal form"));
    return uint64_t{0};
  }
  if (std::isinf(v)) return Err(InvalidArgument("infinity has no IBM hexadecimal form"));
  const bool negative = v < 0;
  int e2 = 0;
  const double m = std::frexp(std::fabs(v), &e2);  // m in [0.5, 1)
  int e16 = (e2 + 3) >> 2;                         // ceil(e2 / 4), also for negative e2
  // fraction = m * 2^(e2 - 4*e16) in [1/16, 1), scaled to fraction_bits and rounded.
  double scaled = std::ldexp(m, e2 - 4 * e16 + fraction_bits);
  auto fraction = static_cast<uint64_t>(std::nearbyint(scaled));
  if (fraction >> fraction_bits) {  // rounding carried into a new hex digit
    fraction >>= 4;
    ++e16;
  }
  const int biased = e16 + 64;
  if (biased < 0 || biased > 127) {
    return Err(OutOfRange("{} is outside the IBM hexadecimal floating-point range", v));
  }
  return (uint64_t{negative} << (fraction_bits + 7)) |
         (static_cast<uint64_t>(biased) << fraction_bits) | fraction;
}

void StoreInteger(Uint128 value, size_t n, bool little_endian, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    const auto byte = static_cast<uint8_t>(value >> (8 * i));
    out[little_endian ? i : n - 1 - i] = byte;
  }
}

// Decodes UTF-8 into code points; false on malformed input.
bool DecodeUtf8(std::string_view s, std::vector<char32_t>* out) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + static_cast<size_t>(n) > s.size()) return false;
    char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    out->push_back(cp);
    i += static_cast<size_t>(n);
  }
  return true;
}

std::string DecimalText(const DecimalNumber& n) {
  std::string digits = n.digits.empty() ? "0" : n.digits;
  std::string out;
  AppendDecimal(n.negative, digits, n.scale, &out);
  return out;
}

std::string CharName(char32_t c) {
  std::string utf8;
  AppendUtf8(c, &utf8);
  return c >= 0x20 ? fmt::format("U+{:04X} `{}`", static_cast<uint32_t>(c), utf8)
                   : fmt::format("U+{:04X}", static_cast<uint32_t>(c));
}

}  // namespace

void AppendJsonValue(const Value& value, std::string* out) {
  switch (value.kind) {
    case Value::Kind::kNull: *out += "null"; return;
    case Value::Kind::kText:
      out->push_back('"');
      for (uint8_t b : value.text) out->append(value.code_page->JsonEscaped(b));
      out->push_back('"');
      return;
    case Value::Kind::kNumber:
      AppendDecimal(value.negative, value.digits, value.scale, out);
      return;
    case Value::Kind::kFloat: AppendJavaFloat(static_cast<float>(value.real), out); return;
    case Value::Kind::kDouble: AppendJavaDouble(value.real, out); return;
  }
}

std::string ValueText(const Value& value) {
  std::string out;
  if (value.kind == Value::Kind::kText) {
    for (uint8_t b : value.text) out.append(value.code_page->Utf8(b));
  } else {
    AppendJsonValue(value, &out);
  }
  return out;
}

Result<DecimalNumber> ParseDecimal(std::string_view text) {
  DecimalNumber n;
  size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) n.negative = text[i++] == '-';
  bool point = false, digit = false;
  int32_t fraction = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      n.digits.push_back(c);
      digit = true;
      if (point) ++fraction;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      break;
    }
  }
  int32_t exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    const char* begin = text.data() + i + (i < text.size() && text[i] == '+' ? 1 : 0);
    auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), exponent);
    if (ec != std::errc() || ptr == begin) {
      i = std::string_view::npos;
    } else {
      i = static_cast<size_t>(ptr - text.data());
    }
  }
  if (!digit || i != text.size() || exponent > 1000 || exponent < -1000) {
    return Err(InvalidArgument("`{}` is not a decimal number", text));
  }
  n.scale = fraction - exponent;
  return n;
}

Status UseCodePage(std::string_view name, FieldCodecOptions* options) {
  FERRY_ASSIGN_OR_RETURN(options->code_page, CodePage::Get(name));
  if (!options->code_page->is_ebcdic()) options->encoding = Encoding::kAscii;
  return OkStatus();
}

FieldCodec::FieldCodec(const FieldCodecOptions& options) : options_(options) {
  page_ = options.code_page;
  if (page_ == nullptr) {
    page_ = CodePage::Get(options.encoding == Encoding::kAscii ? "ascii" : "cp037").value();
  }
  ascii_chars_ = options.encoding == Encoding::kEbcdic ? CodePage::Get("common").value()
                                                       : CodePage::Get("ascii").value();
  std::ranges::fill(zoned_, kBad);
  if (options.encoding == Encoding::kEbcdic) {
    for (int d = 0; d <= 9; ++d) {
      zoned_[0xF0 + d] = kDigit | d;
      zoned_[0xC0 + d] = kPositive | d;
      zoned_[0xD0 + d] = kNegative | d;
    }
    zoned_[0x4E] = kPlus;
    zoned_[0x60] = kMinus;
    zoned_[0x4B] = zoned_[0x6B] = kPoint;
    zoned_[0x40] = zoned_[0x00] = kBlank;
  } else {
    for (int d = 0; d <= 9; ++d) {
      zoned_['0' + d] = kDigit | d;
      zoned_['p' + d] = kNegative | d;  // GnuCOBOL's (and Micro Focus's) negative digits
    }
    zoned_['{'] = kPositive;
    zoned_['}'] = kNegative;
    for (int d = 1; d <= 9; ++d) {
      zoned_['A' + d - 1] = kPositive | d;
      zoned_['J' + d - 1] = kNegative | d;
    }
    zoned_['+'] = kPlus;
    zoned_['-'] = kMinus;
    zoned_['.'] = zoned_[','] = kPoint;
    zoned_[' '] = zoned_[0x00] = kBlank;
  }
}

FieldCodec::Outcome FieldCodec::Invalid(std::string reason) {
  error_ = std::move(reason);
  return options_.invalid == InvalidValues::kNull ? Outcome::kNull : Outcome::kInvalid;
}

FieldShape FieldShape::Of(const Field& f) {
  FieldShape s;
  s.field = &f;
  s.type = f.type;
  s.size = f.size;
  s.scale = static_cast<int16_t>(f.scale);
  s.precision = static_cast<int16_t>(f.precision);
  s.is_signed = f.picture.is_signed;
  s.explicit_point = f.picture.explicit_point;
  s.sign_separate = f.sign_separate;
  s.sign_leading = f.sign == SignPosition::kLeading;
  s.blank_when_zero = f.blank_when_zero;
  s.native_binary = f.usage == Usage::kNativeBinary;
  s.float32 = f.usage == Usage::kFloat;
  if (f.type == ValueType::kString) {
    s.decoder = Decoder::kText;
  } else if (f.type == ValueType::kFloat || f.type == ValueType::kDouble) {
    s.decoder = Decoder::kFloat;
  } else if (f.usage == Usage::kPacked) {
    s.decoder = Decoder::kPacked;
  } else if (f.usage == Usage::kBinary || f.usage == Usage::kNativeBinary) {
    s.decoder = Decoder::kBinary;
  } else {
    s.decoder =
        f.picture.category == PictureCategory::kNumericEdited ? Decoder::kEdited : Decoder::kZoned;
  }
  return s;
}

FieldCodec::Outcome FieldCodec::Decode(const Field& f, std::span<const uint8_t> bytes,
                                       Value* value) {
  return Decode(FieldShape::Of(f), bytes, value);
}

FieldCodec::Outcome FieldCodec::Decode(const FieldShape& f, std::span<const uint8_t> bytes,
                                       Value* value) {
  switch (f.decoder) {
    case FieldShape::Decoder::kText: return DecodeText(f, bytes, value);
    case FieldShape::Decoder::kZoned: return DecodeZoned(f, bytes, value);
    case FieldShape::Decoder::kEdited: return DecodeEdited(f, bytes, value);
    case FieldShape::Decoder::kPacked: return DecodePacked(f, bytes, value);
    case FieldShape::Decoder::kBinary: return DecodeBinary(f, bytes, value);
    case FieldShape::Decoder::kFloat: return DecodeFloat(f, bytes, value);
  }
  return Outcome::kNull;
}

FieldCodec::Outcome FieldCodec::DecodeText(const FieldShape&, std::span<const uint8_t> bytes,
                                           Value* value) {
  const Trimming trim = options_.trimming;
  if (options_.null_if_all_zero_bytes && trim != Trimming::kKeepAll && AllZero(bytes)) {
    return Outcome::kNull;
  }
  size_t begin = 0, end = bytes.size();
  if (trim == Trimming::kLeft || trim == Trimming::kBoth) {
    while (begin < end && page_->trimmable(bytes[begin])) ++begin;
  }
  if (trim == Trimming::kRight || trim == Trimming::kBoth) {
    while (end > begin && page_->trimmable(bytes[end - 1])) --end;
  }
  for (size_t i = begin; i < end && !page_->all_valid(); ++i) {
    if (!page_->valid(bytes[i])) {
      const Outcome outcome =
          Invalid(fmt::format("byte 0x{:02X} at offset {} has no character in code page {}",
                              bytes[i], i, page_->name()));
      if (outcome == Outcome::kInvalid) return outcome;
      break;  // kNull: tolerated, shown as U+FFFD
    }
  }
  value->kind = Value::Kind::kText;
  value->text = bytes.subspan(begin, end - begin);
  value->code_page = page_;
  return Outcome::kValue;
}

FieldCodec::Outcome FieldCodec::Number(const FieldShape& f, bool negative, size_t begin, size_t end,
                                       int32_t scale, Value* value) {
  while (end - begin > 8) {  // leading zeros, eight at a time
    uint64_t w;
    std::memcpy(&w, scratch_ + begin, 8);
    w ^= 0x3030303030303030ULL;
    if (w != 0) {
      begin += static_cast<size_t>(__builtin_ctzll(w)) >> 3;
      break;
    }
    begin += 8;
  }
  while (end - begin > 1 && scratch_[begin] == '0') ++begin;
  if (begin == end) scratch_[--begin] = '0';
  const size_t digits = end - begin;
  const bool zero = digits == 1 && scratch_[begin] == '0';
  const bool cobrix = options_.invalid == InvalidValues::kNull;
  // Strict: a value needs no more digits than the picture has. Cobrix nulls only what overflows
  // its Spark type: a decimal's precision (an integer type holds any packed or zoned value).
  if (!zero && (!cobrix || f.type == ValueType::kDecimal)) {
    const size_t integer_zeros = scale < 0 ? static_cast<size_t>(-scale) : 0;
    if (digits + integer_zeros > static_cast<size_t>(f.precision)) {
      return Invalid(fmt::format("{}{} has more digits than PIC {} holds", negative ? "-" : "",
                                 std::string_view(scratch_ + begin, digits),
                                 f.field->picture.text));
    }
  }
  value->kind = Value::Kind::kNumber;
  value->negative = negative && !zero;
  value->digits = std::string_view(scratch_ + begin, digits);
  value->scale = scale;
  return Outcome::kValue;
}

FieldCodec::Outcome FieldCodec::DecodeZoned(const FieldShape& f, std::span<const uint8_t> bytes,
                                            Value* value) {
  const Picture& pic = f.field->picture;
  const bool ascii = options_.encoding == Encoding::kAscii;
  const size_t n = bytes.size();
  if (!ascii && !f.explicit_point && !f.sign_separate && !f.sign_leading && n > 0) {
    // The common case first: EBCDIC digits, a sign zone on the last one.
    const uint8_t* p = bytes.data();
    char* out = scratch_ + 1;
    bool digits = true;
    size_t i = 0;
    for (; i + 8 < n; i += 8) {  // eight at a time (SWAR)
      uint64_t x;
      std::memcpy(&x, p + i, 8);
      const uint64_t low = x & 0x0F0F0F0F0F0F0F0FULL;
      digits &= (x & 0xF0F0F0F0F0F0F0F0ULL) == 0xF0F0F0F0F0F0F0F0ULL &&
                ((low + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) == 0;
      const uint64_t ascii_digits = low | 0x3030303030303030ULL;
      std::memcpy(out + i, &ascii_digits, 8);
    }
    for (; i + 1 < n; ++i) {
      const uint8_t b = p[i];
      digits &= (b & 0xF0) == 0xF0 && (b & 0x0F) <= 9;
      out[i] = static_cast<char>('0' + (b & 0x0F));
    }
    const uint8_t last = p[n - 1], zone = last >> 4, digit = last & 0x0F;
    if (digits && digit <= 9 && (zone == 0xF || (f.is_signed && (zone == 0xC || zone == 0xD)))) {
      out[n - 1] = static_cast<char>('0' + digit);
      return Number(f, zone == 0xD, 1, n + 1, f.scale, value);
    }
  }
  if (options_.null_if_all_zero_bytes && AllZero(bytes)) return Outcome::kNull;
  size_t d = 1;  // scratch_[0] is room for a zero
  int sign = 0;
  ptrdiff_t point = -1;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t b = bytes[i];
    const uint8_t c = zoned_[b];
    const uint8_t cls = c & 0xF0;
    // After a sign only digits, a point and blanks may follow (Cobrix's rule).
    if (sign != 0 && cls != kDigit && cls != kPoint && cls != kBlank) {
      return Invalid(fmt::format("byte 0x{:02X} at offset {} follows the sign", b, i));
    }
    switch (cls) {
      case kDigit: scratch_[d++] = static_cast<char>('0' + (c & 0x0F)); break;
      case kPositive:
      case kNegative:
        if (!pic.is_signed) {
          return Invalid(
              fmt::format("byte 0x{:02X} at offset {} is a signed digit in an unsigned "
                          "field (PIC {})",
                          b, i, pic.text));
        }
        if (ascii && i != 0 && i + 1 != n) {
          return Invalid(fmt::format("byte 0x{:02X} at offset {} is not a digit", b, i));
        }
        scratch_[d++] = static_cast<char>('0' + (c & 0x0F));
        sign = cls == kPositive ? 1 : -1;
        break;
      case kPlus: sign = 1; break;
      case kMinus: sign = -1; break;
      case kPoint:
        if (point >= 0) return Invalid(fmt::format("a second decimal point at offset {}", i));
        point = static_cast<ptrdiff_t>(d);
        break;
      case kBlank: break;
      default: return Invalid(fmt::format("byte 0x{:02X} at offset {} is not a digit", b, i));
    }
  }
  if (sign < 0 && !pic.is_signed) {
    return Invalid(fmt::format("a negative sign in an unsigned field (PIC {})", pic.text));
  }
  if (d == 1) {
    // No digit: a blank field. Cobrix reads it as zero when the picture has an implied point.
    const bool zero = f.blank_when_zero || (options_.invalid == InvalidValues::kNull &&
                                            pic.scale > 0 && !pic.explicit_point && point < 0);
    if (!zero) return Outcome::kNull;
    scratch_[d++] = '0';
  }
  if (point >= 0 && !pic.explicit_point) {
    return Invalid(
        fmt::format("a decimal point in a field whose point is implied (PIC {})", pic.text));
  }
  if (pic.explicit_point) {
    const int32_t fraction =
        point >= 0 ? static_cast<int32_t>(static_cast<ptrdiff_t>(d) - point) : 0;
    if (fraction > pic.scale) {
      return Invalid(fmt::format("{} decimals where PIC {} has {}", fraction, pic.text, pic.scale));
    }
    for (int32_t k = fraction; k < pic.scale; ++k) scratch_[d++] = '0';
  }
  return Number(f, sign < 0, 1, d, pic.scale, value);
}

FieldCodec::Outcome FieldCodec::DecodeEdited(const FieldShape& f, std::span<const uint8_t> bytes,
                                             Value* value) {
  if (options_.null_if_all_zero_bytes && AllZero(bytes)) return Outcome::kNull;
  const Picture& pic = f.field->picture;
  bool blank = true;
  for (uint8_t b : bytes) blank = blank && ascii_chars_->CodePoint(b) == ' ';
  if (blank) {
    // Zero suppressed to blanks, or nothing written.
    bool suppressible = f.blank_when_zero;
    if (!suppressible) {
      suppressible = std::ranges::none_of(pic.edit, [](const EditPosition& p) {
        return p.role == EditRole::kDigit && p.symbol == '9';
      });
    }
    if (options_.invalid == InvalidValues::kNull) suppressible = pic.scale > 0;
    if (!suppressible) return Outcome::kNull;
  }
  size_t d = 1;
  int sign = 0;
  for (size_t i = 0; i < pic.edit.size() && i < bytes.size(); ++i) {
    const EditPosition& pos = pic.edit[i];
    const char32_t cp = ascii_chars_->CodePoint(bytes[i]);
    const char c = cp < 0x80 ? static_cast<char>(cp) : '\x01';
    auto bad = [&]() {
      return Invalid(fmt::format("byte 0x{:02X} at offset {} does not fit `{}` of PIC {}", bytes[i],
                                 i,
                                 pos.symbol == 'C'   ? "CR"
                                 : pos.symbol == 'D' ? "DB"
                                                     : std::string(1, pos.symbol),
                                 pic.text));
    };
    switch (pos.role) {
      case EditRole::kDigit:
        if (c >= '0' && c <= '9') {
          scratch_[d++] = c;
        } else if (pos.floating && (c == '+' || c == '-') &&
                   (pos.symbol == '+' || pos.symbol == '-')) {
          sign = c == '-' ? -1 : 1;
          scratch_[d++] = '0';
        } else if (((c == ' ' || c == '*') && (pos.symbol != '9' || blank)) ||
                   (pos.floating && pos.symbol == '$' && c == '$')) {
          scratch_[d++] = '0';  // a suppressed digit, or the floating $ before the first one
        } else {
          return bad();
        }
        break;
      case EditRole::kPoint:
        if (c != '.' && c != ' ' && c != '*') return bad();
        break;
      case EditRole::kInsert: break;
      case EditRole::kSign:
        if (c == '-') {
          sign = -1;
        } else if (c == '+') {
          sign = 1;
        } else if (c != ' ') {
          return bad();
        }
        break;
      case EditRole::kCredit: {
        const char32_t next = i + 1 < bytes.size() ? ascii_chars_->CodePoint(bytes[i + 1]) : 0;
        const bool credit = (c == 'C' || c == 'c') && (next == 'R' || next == 'r');
        const bool debit = (c == 'D' || c == 'd') && (next == 'B' || next == 'b');
        if (credit || debit) {
          sign = -1;
        } else if (!(c == ' ' && next == ' ')) {
          return bad();
        }
        break;
      }
      case EditRole::kCreditTail: break;
    }
  }
  return Number(f, sign < 0, 1, d, pic.scale, value);
}

FieldCodec::Outcome FieldCodec::DecodePacked(const FieldShape& f, std::span<const uint8_t> bytes,
                                             Value* value) {
  const size_t n = bytes.size();
  {
    // Two digits a byte through a table; any invalid nibble goes the slow way, which says why.
    const uint8_t* p = bytes.data();
    char* out = scratch_ + 1;
    bool valid = n > 0;
    for (size_t i = 0; i + 1 < n; ++i) {
      const uint16_t pair = kPackedPairs[p[i]];
      valid &= pair != 0;
      std::memcpy(out + 2 * i, &pair, 2);
    }
    const uint8_t last = n > 0 ? p[n - 1] : 0, high = last >> 4, low = last & 0x0F;
    const bool negative = low == 0xB || low == 0xD;
    if (valid && high <= 9 && low >= 0xA && (!negative || f.is_signed) &&
        !(options_.null_if_all_zero_bytes && last == 0)) {
      out[2 * n - 2] = static_cast<char>('0' + high);
      return Number(f, negative, 1, 2 * n, f.scale, value);
    }
  }
  if (options_.null_if_all_zero_bytes && AllZero(bytes)) return Outcome::kNull;
  size_t d = 1;
  bool negative = false;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t b = bytes[i];
    const uint8_t high = b >> 4, low = b & 0x0F;
    if (high > 9) {
      return Invalid(
          fmt::format("invalid packed digit nibble 0x{:X} in byte {} (0x{:02X})", high, i, b));
    }
    scratch_[d++] = static_cast<char>('0' + high);
    if (i + 1 < n) {
      if (low > 9) {
        return Invalid(
            fmt::format("invalid packed digit nibble 0x{:X} in byte {} (0x{:02X})", low, i, b));
      }
      scratch_[d++] = static_cast<char>('0' + low);
    } else if (low == 0xB || low == 0xD) {
      negative = true;
    } else if (low < 0xA) {
      return Invalid(
          fmt::format("invalid packed sign nibble 0x{:X} in byte {} (0x{:02X}); a "
                      "packed field ends with C, D or F",
                      low, i, b));
    }
  }
  if (negative && !f.is_signed && options_.invalid == InvalidValues::kReject) {
    return Invalid(fmt::format("a negative value in an unsigned packed field (PIC {})",
                               f.field->picture.text));
  }
  return Number(f, negative, 1, d, f.scale, value);
}

FieldCodec::Outcome FieldCodec::DecodeBinary(const FieldShape& f, std::span<const uint8_t> bytes,
                                             Value* value) {
  const bool little = f.native_binary && options_.comp5_little_endian;
  const size_t n = bytes.size();
  if (!little && n <= 8 && options_.invalid == InvalidValues::kReject) {
    // Up to 64 bits, big-endian: no 128-bit arithmetic.
    uint64_t u = LoadBigEndian(bytes.data(), n);
    const bool negative = f.is_signed && (bytes[0] & 0x80) != 0;
    if (negative) {
      if (n < 8) u |= ~uint64_t{0} << (8 * n);
      u = ~u + 1;
    }
    value->kind = Value::Kind::kNumber;
    value->negative = negative && u != 0;
    value->digits = FormatUnsigned64(u, scratch_ + sizeof(scratch_));
    value->scale = f.scale;
    return Outcome::kValue;
  }
  bool negative = false;
  const Uint128 magnitude = LoadInteger(bytes, little, f.is_signed, &negative);
  if (options_.invalid == InvalidValues::kNull) {
    // Cobrix: a value that does not fit the Spark type is null.
    bool fits = true;
    if (f.type == ValueType::kInt32) {
      fits = magnitude <=
             (negative ? static_cast<Uint128>(1) << 31 : (static_cast<Uint128>(1) << 31) - 1);
    } else if (f.type == ValueType::kInt64) {
      fits = magnitude <=
             (negative ? static_cast<Uint128>(1) << 63 : (static_cast<Uint128>(1) << 63) - 1);
    }
    if (!fits) return Outcome::kNull;
  }
  std::string_view digits = FormatUnsigned(magnitude, scratch_, sizeof(scratch_));
  if (options_.invalid == InvalidValues::kNull && f.type == ValueType::kDecimal) {
    const auto begin = static_cast<size_t>(digits.data() - scratch_);
    return Number(f, negative, begin, begin + digits.size(), f.scale, value);
  }
  // Strict: binary items hold what the program stored, beyond the picture's digits too (as
  // TRUNC(BIN) and COMP-5 programs store them).
  value->kind = Value::Kind::kNumber;
  value->negative = negative && magnitude != 0;
  value->digits = digits;
  value->scale = f.scale;
  return Outcome::kValue;
}

FieldCodec::Outcome FieldCodec::DecodeFloat(const FieldShape& f, std::span<const uint8_t> bytes,
                                            Value* value) {
  const size_t n = bytes.size();
  const FloatFormat format = options_.floating_point;
  const bool little =
      format == FloatFormat::kIbmLittleEndian || format == FloatFormat::kIeeeLittleEndian;
  uint64_t bits = 0;
  for (size_t i = 0; i < n; ++i) bits = (bits << 8) | bytes[little ? n - 1 - i : i];
  double v = 0;
  if (format == FloatFormat::kIbm || format == FloatFormat::kIbmLittleEndian) {
    v = IbmToDouble(bits, static_cast<int>(n));
  } else if (n == 4) {
    v = std::bit_cast<float>(static_cast<uint32_t>(bits));
  } else {
    v = std::bit_cast<double>(bits);
  }
  if (!std::isfinite(v)) {
    return Invalid(fmt::format("{} is not a finite number", n == 4 ? "COMP-1" : "COMP-2"));
  }
  value->kind = f.float32 ? Value::Kind::kFloat : Value::Kind::kDouble;
  value->real = f.float32 ? static_cast<double>(static_cast<float>(v)) : v;
  return Outcome::kValue;
}

// ---- Encoding.

Status FieldCodec::EncodeText(const Field& f, std::string_view utf8, uint8_t* out) const {
  if (f.type != ValueType::kString) {
    FERRY_ASSIGN_OR_RETURN(DecimalNumber number, ParseDecimal(utf8));
    return EncodeNumber(f, number, out);
  }
  std::vector<char32_t> chars;
  if (!DecodeUtf8(utf8, &chars)) return InvalidArgument("the text is not valid UTF-8");
  const auto size = static_cast<size_t>(f.size);
  if (chars.size() > size) {
    // Blanks beyond the field are dropped; anything else would be lost.
    if (!std::all_of(chars.begin() + static_cast<ptrdiff_t>(size), chars.end(),
                     [](char32_t c) { return c == ' '; })) {
      return OutOfRange("{} characters do not fit PIC {} ({} bytes)", chars.size(), f.picture.text,
                        size);
    }
    chars.resize(size);
  }
  const size_t pad = size - chars.size();
  std::fill(out, out + size, page_->space());
  uint8_t* p = f.justified ? out + pad : out;
  for (char32_t c : chars) {
    if (!page_->Encode(c, p)) {
      return InvalidArgument("character {} has no byte in code page {}", CharName(c),
                             page_->name());
    }
    ++p;
  }
  return OkStatus();
}

Status FieldCodec::EncodeNumber(const Field& f, const DecimalNumber& number, uint8_t* out) const {
  if (f.type == ValueType::kString) return InvalidArgument("a number for a text field");
  if (f.type == ValueType::kFloat || f.type == ValueType::kDouble) {
    std::string text =
        (number.negative ? "-" : "") + number.digits + "E" + std::to_string(-number.scale);
    return EncodeReal(f, std::strtod(text.c_str(), nullptr), out);
  }
  const Picture& pic = f.picture;
  // The digits at the field's scale: extra fraction digits must be zeros.
  std::string digits = number.digits;
  int32_t scale = number.scale;
  if (digits.find_first_not_of('0') == std::string::npos) {
    digits.clear();  // zero, at any scale
    scale = pic.scale;
  }
  while (scale > pic.scale) {
    if (digits.empty() || digits.back() != '0') {
      return OutOfRange("{} has more decimals than PIC {} holds", DecimalText(number), pic.text);
    }
    digits.pop_back();
    --scale;
  }
  digits.append(static_cast<size_t>(pic.scale - scale), '0');
  const size_t first = digits.find_first_not_of('0');
  digits = first == std::string::npos ? "" : digits.substr(first);
  const bool negative = number.negative && !digits.empty();
  if (negative && !pic.is_signed) {
    return OutOfRange("{} is negative and PIC {} is unsigned", DecimalText(number), pic.text);
  }
  const auto capacity = static_cast<size_t>(pic.digits);
  const bool full_range = f.usage == Usage::kNativeBinary;
  if (digits.size() > capacity && !full_range) {
    return OutOfRange("{} has more digits than PIC {} holds", DecimalText(number), pic.text);
  }
  const auto size = static_cast<size_t>(f.size);
  const bool ebcdic = options_.encoding == Encoding::kEbcdic;
  switch (f.usage) {
    case Usage::kDisplay: {
      if (pic.category == PictureCategory::kNumericEdited) {
        return EncodeEdited(f, negative, std::string(capacity - digits.size(), '0') + digits, out);
      }
      std::string padded = std::string(capacity - digits.size(), '0') + digits;
      uint8_t* p = out;
      const uint8_t plus = ebcdic ? 0x4E : '+', minus = ebcdic ? 0x60 : '-';
      const bool separate = f.sign_separate && pic.is_signed;
      if (separate && f.sign == SignPosition::kLeading) *p++ = negative ? minus : plus;
      uint8_t* first_digit = p;
      for (size_t i = 0; i < padded.size(); ++i) {
        if (pic.explicit_point && i == padded.size() - static_cast<size_t>(pic.scale)) {
          *p++ = ebcdic ? 0x4B : '.';
        }
        const int d = padded[i] - '0';
        *p++ = static_cast<uint8_t>(ebcdic ? 0xF0 + d : '0' + d);
      }
      uint8_t* last_digit = p - 1;
      if (separate && f.sign == SignPosition::kTrailing) *p++ = negative ? minus : plus;
      if (pic.is_signed && !separate) {
        uint8_t* s = f.sign == SignPosition::kLeading ? first_digit : last_digit;
        const int d = ebcdic ? (*s & 0x0F) : (*s - '0');
        if (ebcdic) {
          *s = static_cast<uint8_t>((negative ? 0xD0 : 0xC0) | d);
        } else if (negative) {
          *s = static_cast<uint8_t>(d == 0 ? '}' : 'J' + d - 1);
        }
      }
      return OkStatus();
    }
    case Usage::kPacked: {
      std::string padded = std::string(2 * size - 1 - digits.size(), '0') + digits;
      for (size_t i = 0; i < size; ++i) {
        const auto high = static_cast<uint8_t>(padded[2 * i] - '0');
        const uint8_t low = i + 1 < size     ? static_cast<uint8_t>(padded[2 * i + 1] - '0')
                            : !pic.is_signed ? 0x0F
                            : negative       ? 0x0D
                                             : 0x0C;
        out[i] = static_cast<uint8_t>((high << 4) | low);
      }
      return OkStatus();
    }
    case Usage::kBinary:
    case Usage::kNativeBinary: {
      Uint128 magnitude = 0;
      for (char c : digits) {
        if (magnitude > (~static_cast<Uint128>(0) - 9) / 10) {
          return OutOfRange("{} does not fit {} bytes", DecimalText(number), size);
        }
        magnitude = magnitude * 10 + static_cast<unsigned>(c - '0');
      }
      const auto bits = static_cast<unsigned>(8 * size);
      const Uint128 limit = pic.is_signed
                                ? (static_cast<Uint128>(1) << (bits - 1)) - (negative ? 0 : 1)
                            : bits >= 128 ? ~static_cast<Uint128>(0)
                                          : (static_cast<Uint128>(1) << bits) - 1;
      if (magnitude > limit) {
        return OutOfRange("{} does not fit {} bytes of {}", DecimalText(number), size,
                          UsageName(f.usage));
      }
      const Uint128 twos = negative ? ~magnitude + 1 : magnitude;
      StoreInteger(twos, size, f.usage == Usage::kNativeBinary && options_.comp5_little_endian,
                   out);
      return OkStatus();
    }
    case Usage::kFloat:
    case Usage::kDouble: break;
  }
  return Internal("unexpected usage");
}

Status FieldCodec::EncodeEdited(const Field& f, bool negative, const std::string& digits,
                                uint8_t* out) const {
  const Picture& pic = f.picture;
  const bool zero = digits.find_first_not_of('0') == std::string::npos;
  std::string text(pic.edit.size(), ' ');
  const bool all_suppressible = std::ranges::none_of(pic.edit, [](const EditPosition& p) {
    return p.role == EditRole::kDigit && p.symbol == '9';
  });
  if (zero && (f.blank_when_zero || (all_suppressible && pic.edit.front().symbol != '*'))) {
    std::fill(out, out + pic.edit.size(), options_.encoding == Encoding::kEbcdic ? 0x40 : 0x20);
    return OkStatus();
  }
  bool suppressing = true;
  size_t d = 0;
  int32_t last_suppressed_float = -1;
  const bool star_fill =
      std::ranges::any_of(pic.edit, [](const EditPosition& p) { return p.symbol == '*'; });
  for (size_t i = 0; i < pic.edit.size(); ++i) {
    const EditPosition& pos = pic.edit[i];
    switch (pos.role) {
      case EditRole::kDigit: {
        const char digit = digits[d++];
        const bool suppressible = pos.symbol != '9';
        if (suppressing && suppressible && digit == '0') {
          text[i] = pos.symbol == '*' ? '*' : ' ';
          if (pos.floating) last_suppressed_float = static_cast<int32_t>(i);
        } else {
          text[i] = digit;
          suppressing = false;
        }
        break;
      }
      case EditRole::kPoint:
        text[i] = '.';
        suppressing = false;
        break;
      case EditRole::kInsert:
        if (pos.floating || pos.symbol == '$') {
          text[i] = pos.floating ? ' ' : '$';
          if (pos.floating) last_suppressed_float = static_cast<int32_t>(i);
        } else if (suppressing) {
          text[i] = star_fill ? '*' : ' ';
        } else {
          text[i] = pos.symbol == 'B' ? ' ' : pos.symbol;
        }
        break;
      case EditRole::kSign:
        if (pos.floating) {
          last_suppressed_float = static_cast<int32_t>(i);
        } else {
          text[i] = pos.symbol == '+' ? (negative ? '-' : '+') : (negative ? '-' : ' ');
        }
        break;
      case EditRole::kCredit:
        text[i] = negative ? pos.symbol : ' ';
        text[i + 1] = negative ? (pos.symbol == 'C' ? 'R' : 'B') : ' ';
        break;
      case EditRole::kCreditTail: break;
    }
  }
  if (last_suppressed_float >= 0) {
    const char symbol = pic.edit[static_cast<size_t>(last_suppressed_float)].symbol;
    text[static_cast<size_t>(last_suppressed_float)] = symbol == '$'   ? '$'
                                                       : symbol == '+' ? (negative ? '-' : '+')
                                                                       : (negative ? '-' : ' ');
  }
  // Characters of the edited picture: each has its byte in any EBCDIC page and in ASCII.
  for (size_t i = 0; i < text.size(); ++i) {
    if (!ascii_chars_->Encode(static_cast<unsigned char>(text[i]), &out[i])) {
      return Internal("no byte for `{}`", text[i]);
    }
  }
  return OkStatus();
}

Status FieldCodec::EncodeReal(const Field& f, double v, uint8_t* out) const {
  if (f.type != ValueType::kFloat && f.type != ValueType::kDouble) {
    if (!std::isfinite(v)) return InvalidArgument("{} is not a finite number", v);
    char buf[64];
    auto result = std::to_chars(buf, buf + sizeof(buf), v);
    FERRY_ASSIGN_OR_RETURN(DecimalNumber number, ParseDecimal(std::string_view(
                                                     buf, static_cast<size_t>(result.ptr - buf))));
    return EncodeNumber(f, number, out);
  }
  const auto n = static_cast<size_t>(f.size);
  const FloatFormat format = options_.floating_point;
  const bool little =
      format == FloatFormat::kIbmLittleEndian || format == FloatFormat::kIeeeLittleEndian;
  uint64_t bits = 0;
  if (format == FloatFormat::kIbm || format == FloatFormat::kIbmLittleEndian) {
    FERRY_ASSIGN_OR_RETURN(bits, DoubleToIbm(v, static_cast<int>(n)));
  } else if (n == 4) {
    bits = std::bit_cast<uint32_t>(static_cast<float>(v));
  } else {
    bits = std::bit_cast<uint64_t>(v);
  }
  StoreInteger(bits, n, little, out);
  return OkStatus();
}

void FieldCodec::EncodeNull(const Field& f, uint8_t* out) const {
  const auto n = static_cast<size_t>(f.size);
  if (f.usage == Usage::kDisplay) {
    std::fill(out, out + n, page_->space());
  } else {
    std::fill(out, out + n, uint8_t{0});
  }
}

}  // namespace ferry::legacy
