#include "connect/value.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <system_error>

#include <fmt/format.h>

namespace ferry {
namespace {

constexpr uint64_t kCanonicalNanBits = 0x7ff8'0000'0000'0000ULL;
// PostgreSQL numeric: up to 131072 digits before the decimal point, 16383 after.
constexpr size_t kMaxDecimalIntegerDigits = 131'072;
constexpr size_t kMaxDecimalFractionDigits = 16'383;
constexpr int kMaxJsonDepth = 512;

constexpr std::string_view kDecimalForm =
    "expected [+-]digits[.digits][e[+-]digits], NaN or [+-]Infinity";
constexpr std::string_view kDateForm = "expected YYYY-MM-DD[ BC] or [-]infinity";
constexpr std::string_view kTimeForm = "expected HH:MM:SS[.ffffff], 00:00:00 to 24:00:00";
constexpr std::string_view kTimestampForm =
    "expected YYYY-MM-DD HH:MM:SS[.ffffff][ BC] or [-]infinity";
constexpr std::string_view kTimestampTzForm =
    "expected YYYY-MM-DD HH:MM:SS[.ffffff](Z|+HH|+HH:MM|+HH:MM:SS)[ BC] or [-]infinity";

// The input as shown in an error: long values are cut so that a message stays one screen.
std::string Shown(std::string_view text) {
  constexpr size_t kMax = 64;
  if (text.size() <= kMax) return std::string(text);
  return fmt::format("{}...({} bytes)", text.substr(0, kMax), text.size());
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    return lower(x) == lower(y);
  });
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ---- decimals ----------------------------------------------------------------------------

// The canonical text of a decimal, or the reason it is not one.
Result<std::string> NormaliseDecimal(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  bool signed_input = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    negative = text[i] == '-';
    signed_input = true;
    ++i;
  }
  std::string_view rest = text.substr(i);
  if (EqualsIgnoreCase(rest, "nan")) {
    if (signed_input) return Err(InvalidArgument("NaN takes no sign"));
    return std::string("NaN");
  }
  if (EqualsIgnoreCase(rest, "infinity") || EqualsIgnoreCase(rest, "inf")) {
    return std::string(negative ? "-Infinity" : "Infinity");
  }

  std::string digits;  // significant digits, without leading zeros
  bool any_digit = false;
  bool seen_point = false;
  int64_t fraction_length = 0;
  int64_t exponent = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (IsDigit(c)) {
      any_digit = true;
      if (seen_point) ++fraction_length;
      if (!digits.empty() || c != '0') digits.push_back(c);
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else if ((c == 'e' || c == 'E') && any_digit) {
      ++i;
      bool negative_exponent = false;
      if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
        negative_exponent = text[i] == '-';
        ++i;
      }
      if (i == text.size()) return Err(InvalidArgument("the exponent has no digits"));
      for (; i < text.size(); ++i) {
        if (!IsDigit(text[i])) {
          return Err(InvalidArgument("unexpected `{}` at offset {} in the exponent", text[i], i));
        }
        // Saturate: anything this large fails the digit limits below anyway.
        exponent = std::min<int64_t>(exponent * 10 + (text[i] - '0'), int64_t{1} << 40);
      }
      if (negative_exponent) exponent = -exponent;
      break;
    } else {
      return Err(InvalidArgument("unexpected `{}` at offset {}", c, i));
    }
  }
  if (!any_digit) return Err(InvalidArgument("no digits"));

  // value = digits * 10^scale_exponent
  int64_t scale_exponent = exponent - fraction_length;
  while (scale_exponent < 0 && !digits.empty() && digits.back() == '0') {
    digits.pop_back();
    ++scale_exponent;
  }
  if (digits.empty()) return std::string("0");
  int64_t size = static_cast<int64_t>(digits.size());
  int64_t integer_digits = std::max<int64_t>(0, size + scale_exponent);
  int64_t fraction_digits = scale_exponent < 0 ? -scale_exponent : 0;
  if (integer_digits > static_cast<int64_t>(kMaxDecimalIntegerDigits) ||
      fraction_digits > static_cast<int64_t>(kMaxDecimalFractionDigits)) {
    return Err(InvalidArgument(
        "{} digits before and {} after the point exceed the largest decimal an engine stores "
        "({} and {}, PostgreSQL numeric)",
        integer_digits, fraction_digits, kMaxDecimalIntegerDigits, kMaxDecimalFractionDigits));
  }
  std::string out;
  out.reserve(static_cast<size_t>(integer_digits + fraction_digits + 3));
  if (negative) out.push_back('-');
  if (scale_exponent >= 0) {
    out += digits;
    out.append(static_cast<size_t>(scale_exponent), '0');
  } else if (integer_digits == 0) {
    out += "0.";
    out.append(static_cast<size_t>(fraction_digits - size), '0');
    out += digits;
  } else {
    out.append(digits, 0, static_cast<size_t>(integer_digits));
    out.push_back('.');
    out.append(digits, static_cast<size_t>(integer_digits));
  }
  return out;
}

// ---- temporal ----------------------------------------------------------------------------

bool IsLeapYear(int64_t year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

unsigned DaysInMonth(int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Reads between min and max decimal digits at *pos.
std::optional<int64_t> ReadNumber(std::string_view s, size_t* pos, size_t min, size_t max) {
  size_t start = *pos;
  int64_t value = 0;
  while (*pos < s.size() && *pos - start < max && IsDigit(s[*pos])) {
    value = value * 10 + (s[*pos] - '0');
    ++*pos;
  }
  if (*pos - start < min) return std::nullopt;
  return value;
}

bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos < s.size() && s[*pos] == c) {
    ++*pos;
    return true;
  }
  return false;
}

// Strips a trailing " BC" (PostgreSQL prints it after the time and offset).
bool StripBc(std::string_view* s) {
  if (s->size() >= 3 && EqualsIgnoreCase(s->substr(s->size() - 3), " bc")) {
    s->remove_suffix(3);
    return true;
  }
  return false;
}

// YYYY-MM-DD at *pos; the year as written (BC applied by the caller).
Result<CivilDate> ReadDate(std::string_view s, size_t* pos) {
  std::optional<int64_t> year = ReadNumber(s, pos, 4, 7);
  if (!year) return Err(InvalidArgument("the year needs 4 to 7 digits"));
  if (!Expect(s, pos, '-')) return Err(InvalidArgument("expected `-` after the year"));
  std::optional<int64_t> month = ReadNumber(s, pos, 2, 2);
  if (!month) return Err(InvalidArgument("the month needs 2 digits"));
  if (!Expect(s, pos, '-')) return Err(InvalidArgument("expected `-` after the month"));
  std::optional<int64_t> day = ReadNumber(s, pos, 2, 2);
  if (!day) return Err(InvalidArgument("the day needs 2 digits"));
  if (*month < 1 || *month > 12) return Err(InvalidArgument("month {} is out of range", *month));
  return CivilDate{*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day)};
}

// Applies BC and checks the day against the calendar; returns days since the epoch.
Result<int64_t> DateToDays(CivilDate date, bool bc) {
  if (bc) {
    if (date.year == 0) return Err(InvalidArgument("there is no year 0 BC"));
    date.year = 1 - date.year;
  }
  unsigned last = DaysInMonth(date.year, date.month);
  if (date.day < 1 || date.day > last) {
    return Err(
        InvalidArgument("day {} is out of range for {:04}-{:02}", date.day, date.year, date.month));
  }
  return DaysFromCivil(date.year, date.month, date.day);
}

// HH:MM:SS[.fraction] at *pos; microseconds since midnight.
Result<int64_t> ReadTime(std::string_view s, size_t* pos) {
  std::optional<int64_t> hour = ReadNumber(s, pos, 2, 2);
  if (!hour) return Err(InvalidArgument("the hour needs 2 digits"));
  if (!Expect(s, pos, ':')) return Err(InvalidArgument("expected `:` after the hour"));
  std::optional<int64_t> minute = ReadNumber(s, pos, 2, 2);
  if (!minute) return Err(InvalidArgument("the minute needs 2 digits"));
  if (!Expect(s, pos, ':')) return Err(InvalidArgument("expected `:` after the minute"));
  std::optional<int64_t> second = ReadNumber(s, pos, 2, 2);
  if (!second) return Err(InvalidArgument("the second needs 2 digits"));
  int64_t fraction = 0;
  if (Expect(s, pos, '.')) {
    size_t start = *pos;
    while (*pos < s.size() && IsDigit(s[*pos])) {
      size_t index = *pos - start;
      if (index < 6) {
        fraction = fraction * 10 + (s[*pos] - '0');
      } else if (s[*pos] != '0') {
        return Err(InvalidArgument(
            "more than 6 fractional digits: sub-microsecond precision would need rounding"));
      }
      ++*pos;
    }
    size_t count = *pos - start;
    if (count == 0) return Err(InvalidArgument("expected digits after `.`"));
    for (size_t k = count; k < 6; ++k) fraction *= 10;
  }
  if (*hour > 24 || *minute > 59 || *second > 59) {
    return Err(InvalidArgument("{:02}:{:02}:{:02} is not a time of day", *hour, *minute, *second));
  }
  if (*hour == 24 && (*minute != 0 || *second != 0 || fraction != 0)) {
    return Err(InvalidArgument("only 24:00:00 is allowed past 23:59:59"));
  }
  return ((*hour * 60 + *minute) * 60 + *second) * kMicrosPerSecond + fraction;
}

// Z, ±HH, ±HH:MM, ±HHMM, ±HH:MM:SS at *pos; seconds east of UTC.
Result<int64_t> ReadOffset(std::string_view s, size_t* pos) {
  if (Expect(s, pos, 'Z') || Expect(s, pos, 'z')) return 0;
  if (*pos == s.size() || (s[*pos] != '+' && s[*pos] != '-')) {
    return Err(InvalidArgument("a UTC offset (Z, +HH, +HH:MM) is required"));
  }
  int sign = s[(*pos)++] == '+' ? 1 : -1;
  std::optional<int64_t> hours = ReadNumber(s, pos, 2, 2);
  if (!hours) return Err(InvalidArgument("the offset hours need 2 digits"));
  int64_t minutes = 0;
  int64_t seconds = 0;
  bool colon = Expect(s, pos, ':');
  if (colon || (*pos < s.size() && IsDigit(s[*pos]))) {
    std::optional<int64_t> m = ReadNumber(s, pos, 2, 2);
    if (!m) return Err(InvalidArgument("the offset minutes need 2 digits"));
    minutes = *m;
    if (colon && Expect(s, pos, ':')) {
      std::optional<int64_t> sec = ReadNumber(s, pos, 2, 2);
      if (!sec) return Err(InvalidArgument("the offset seconds need 2 digits"));
      seconds = *sec;
    }
  }
  if (*hours > 15 || minutes > 59 || seconds > 59) {
    return Err(InvalidArgument("offset {:02}:{:02}:{:02} is out of range (at most 15:59:59)",
                               *hours, minutes, seconds));
  }
  return sign * ((*hours * 60 + minutes) * 60 + seconds);
}

// Parses a timestamp with or without an offset; the micros are wall-clock when !with_offset.
Result<int64_t> TimestampMicros(std::string_view text, bool with_offset) {
  if (EqualsIgnoreCase(text, "infinity")) return kTimestampInfinity;
  if (EqualsIgnoreCase(text, "-infinity")) return kTimestampMinusInfinity;
  bool bc = StripBc(&text);
  size_t pos = 0;
  FERRY_ASSIGN_OR_RETURN(CivilDate date, ReadDate(text, &pos));
  if (!Expect(text, &pos, ' ') && !Expect(text, &pos, 'T')) {
    return Err(InvalidArgument("expected ` ` or `T` between the date and the time"));
  }
  FERRY_ASSIGN_OR_RETURN(int64_t time, ReadTime(text, &pos));
  int64_t offset_seconds = 0;
  if (with_offset) {
    FERRY_ASSIGN_OR_RETURN(offset_seconds, ReadOffset(text, &pos));
  } else if (pos < text.size() &&
             (text[pos] == 'Z' || text[pos] == 'z' || text[pos] == '+' || text[pos] == '-')) {
    return Err(
        InvalidArgument("a timestamp without time zone has no UTC offset; parse it as "
                        "timestamptz"));
  }
  if (pos != text.size()) {
    return Err(InvalidArgument("unexpected `{}` at offset {}", text.substr(pos), pos));
  }
  FERRY_ASSIGN_OR_RETURN(int64_t days, DateToDays(date, bc));
  int64_t micros = 0;
  if (__builtin_mul_overflow(days, kMicrosPerDay, &micros) ||
      __builtin_add_overflow(micros, time, &micros) ||
      __builtin_sub_overflow(micros, offset_seconds * kMicrosPerSecond, &micros) ||
      micros == kTimestampInfinity || micros == kTimestampMinusInfinity) {
    return Err(
        InvalidArgument("out of range: 64-bit microseconds since 1970 reach the years "
                        "290308 BC to 294247 AD"));
  }
  return micros;
}

std::string FormatYearAndDate(int64_t days, bool* bc) {
  CivilDate date = CivilFromDays(days);
  *bc = date.year <= 0;
  int64_t year = *bc ? 1 - date.year : date.year;
  return fmt::format("{:04}-{:02}-{:02}", year, date.month, date.day);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// ---- UTF-8 ---------------------------------------------------------------------------------

// Length of the well-formed sequence at s[i], or 0 with *why set (RFC 3629 section 4).
size_t Utf8SequenceLength(std::string_view s, size_t i, const char** why) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char lead = byte(i);
  size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    *why = lead >= 0x80 && lead <= 0xBF   ? "a continuation byte with no lead byte"
           : lead == 0xC0 || lead == 0xC1 ? "an overlong encoding"
                                          : "a byte that never appears in UTF-8";
    return 0;
  }
  if (i + length > s.size()) {
    *why = "a sequence cut short by the end of the text";
    return 0;
  }
  for (size_t k = 1; k < length; ++k) {
    unsigned char c = byte(i + k);
    unsigned char lo = k == 1 ? low : 0x80;
    unsigned char hi = k == 1 ? high : 0xBF;
    if (c < lo || c > hi) {
      *why = k == 1 && (c >= 0x80 && c <= 0xBF)
                 ? "an overlong encoding, a surrogate or a code point above U+10FFFF"
                 : "a sequence cut short by a byte that is not a continuation byte";
      return 0;
    }
  }
  return length;
}

// ---- JSON ----------------------------------------------------------------------------------

Status AppendCanonicalJson(const Json& json, int depth, std::string* out) {
  if (depth > kMaxJsonDepth) {
    return InvalidArgument("nested deeper than {} levels", kMaxJsonDepth);
  }
  switch (json.type()) {
    case Json::value_t::null: out->append("null"); return OkStatus();
    case Json::value_t::boolean:
      out->append(json.get<bool>() ? "true" : "false");
      return OkStatus();
    case Json::value_t::number_integer:
      fmt::format_to(std::back_inserter(*out), "{}", json.get<int64_t>());
      return OkStatus();
    case Json::value_t::number_unsigned:
      fmt::format_to(std::back_inserter(*out), "{}", json.get<uint64_t>());
      return OkStatus();
    case Json::value_t::number_float: {
      double d = json.get<double>();
      if (!std::isfinite(d)) return InvalidArgument("JSON has no NaN or Infinity");
      char buffer[64];
      std::to_chars_result r = std::to_chars(buffer, buffer + sizeof buffer, d);
      FERRY_ASSIGN_OR_RETURN(std::string decimal,
                             NormaliseDecimal(std::string_view(buffer, r.ptr)));
      out->append(decimal);
      return OkStatus();
    }
    case Json::value_t::string:
      out->append(json.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace));
      return OkStatus();
    case Json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const Json& element : json) {
        if (!first) out->push_back(',');
        first = false;
        FERRY_RETURN_IF_ERROR(AppendCanonicalJson(element, depth + 1, out));
      }
      out->push_back(']');
      return OkStatus();
    }
    case Json::value_t::object: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, element] : json.get_ref<const Json::object_t&>()) {
        if (!first) out->push_back(',');
        first = false;
        out->append(Json(key).dump(-1, ' ', false, Json::error_handler_t::replace));
        out->push_back(':');
        FERRY_RETURN_IF_ERROR(AppendCanonicalJson(element, depth + 1, out));
      }
      out->push_back('}');
      return OkStatus();
    }
    case Json::value_t::binary:
    case Json::value_t::discarded: break;
  }
  return InvalidArgument("a {} value has no JSON text", json.type_name());
}

}  // namespace

std::string_view TypeKindName(TypeKind kind) {
  switch (kind) {
    case TypeKind::kBool: return "bool";
    case TypeKind::kInt64: return "int64";
    case TypeKind::kDecimal: return "decimal";
    case TypeKind::kFloat64: return "float64";
    case TypeKind::kText: return "text";
    case TypeKind::kBytes: return "bytes";
    case TypeKind::kDate: return "date";
    case TypeKind::kTime: return "time";
    case TypeKind::kTimestamp: return "timestamp";
    case TypeKind::kTimestampTz: return "timestamptz";
    case TypeKind::kUuid: return "uuid";
    case TypeKind::kJson: return "json";
  }
  return "unknown";
}

Value Value::Float64(double v) {
  if (std::isnan(v)) v = std::bit_cast<double>(kCanonicalNanBits);
  if (v == 0.0) v = 0.0;  // -0.0 == 0.0, so this drops the sign
  return Value(TypeKind::kFloat64, Scalar{.d = v});
}

bool operator==(const Value& a, const Value& b) {
  if (a.null_ || b.null_) return a.null_ == b.null_;
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case TypeKind::kFloat64:
      return std::bit_cast<uint64_t>(a.scalar_.d) == std::bit_cast<uint64_t>(b.scalar_.d);
    case TypeKind::kUuid: return a.scalar_.uuid == b.scalar_.uuid;
    case TypeKind::kText:
    case TypeKind::kBytes:
    case TypeKind::kDecimal:
    case TypeKind::kJson: return a.str_ == b.str_;
    case TypeKind::kBool:
    case TypeKind::kInt64:
    case TypeKind::kDate:
    case TypeKind::kTime:
    case TypeKind::kTimestamp:
    case TypeKind::kTimestampTz: return a.scalar_.i == b.scalar_.i;
  }
  return false;
}

std::string Value::ToDisplay() const {
  if (null_) return "NULL";
  switch (kind_) {
    case TypeKind::kBool: return bool_value() ? "true" : "false";
    case TypeKind::kInt64: return fmt::format("{}", int64_value());
    case TypeKind::kDecimal: return str_;
    case TypeKind::kFloat64: return FormatFloat64(float64_value());
    case TypeKind::kText: {
      std::string out = "'";
      for (char c : str_) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '\'')
          out += "''";
        else if (c == '\\')
          out += "\\\\";
        else if (byte < 0x20 || byte == 0x7f)
          out += fmt::format("\\x{:02x}", byte);
        else
          out.push_back(c);
      }
      out.push_back('\'');
      return out;
    }
    case TypeKind::kBytes: {
      std::string out = "x'";
      for (char c : str_) out += fmt::format("{:02x}", static_cast<unsigned char>(c));
      out.push_back('\'');
      return out;
    }
    case TypeKind::kDate: return fmt::format("DATE '{}'", FormatDate(date_days()));
    case TypeKind::kTime: return fmt::format("TIME '{}'", FormatTime(time_micros()));
    case TypeKind::kTimestamp:
      return fmt::format("TIMESTAMP '{}'", FormatTimestamp(timestamp_micros()));
    case TypeKind::kTimestampTz:
      return fmt::format("TIMESTAMPTZ '{}'", FormatTimestampTz(timestamp_micros()));
    case TypeKind::kUuid: return fmt::format("UUID '{}'", FormatUuid(uuid()));
    case TypeKind::kJson: {
      std::string out = "JSON '";
      for (char c : str_) {
        if (c == '\'') out.push_back('\'');
        out.push_back(c);
      }
      out.push_back('\'');
      return out;
    }
  }
  return "?";
}

// ---- parsers -------------------------------------------------------------------------------

Result<Value> ParseInt64(std::string_view text) {
  std::string_view digits = text;
  if (digits.size() > 1 && digits[0] == '+' && IsDigit(digits[1])) digits.remove_prefix(1);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range) {
    return Err(InvalidArgument("int64 `{}`: out of the 64-bit range; map the column to decimal",
                               Shown(text)));
  }
  if (ec != std::errc() || ptr != digits.data() + digits.size()) {
    return Err(InvalidArgument("int64 `{}`: not an integer (expected [+-]digits)", Shown(text)));
  }
  return Value::Int64(value);
}

void Value::AssignCanonicalDecimal(std::string_view canonical) {
  AssignString(TypeKind::kDecimal, canonical);
#ifndef NDEBUG
  Result<Value> parsed = ParseDecimal(canonical);
  if (!parsed.has_value() || parsed->str() != canonical) {
    std::fprintf(stderr, "AssignCanonicalDecimal: `%.*s` is not canonical\n",
                 static_cast<int>(canonical.size()), canonical.data());
    std::abort();
  }
#endif
}

Result<Value> ParseDecimal(std::string_view text) {
  Result<std::string> decimal = NormaliseDecimal(text);
  if (!decimal) {
    return Err(InvalidArgument("decimal `{}`: {} ({})", Shown(text), decimal.error().message(),
                               kDecimalForm));
  }
  return Value(TypeKind::kDecimal, std::move(*decimal));
}

Result<Value> ParseFloat64(std::string_view text) {
  std::string_view body = text;
  if (body.size() > 1 && body[0] == '+' && body[1] != '+' && body[1] != '-') body.remove_prefix(1);
  double value = 0;
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), value);
  if (ec == std::errc::result_out_of_range) {
    return Err(InvalidArgument("float64 `{}`: out of the binary64 range", Shown(text)));
  }
  if (ec != std::errc() || ptr != body.data() + body.size()) {
    return Err(InvalidArgument(
        "float64 `{}`: not a number (expected [+-]digits[.digits][e[+-]digits], NaN or "
        "[+-]Infinity)",
        Shown(text)));
  }
  return Value::Float64(value);
}

Result<Value> ParseBool(std::string_view text) {
  for (std::string_view yes : {"t", "true", "1"}) {
    if (EqualsIgnoreCase(text, yes)) return Value::Bool(true);
  }
  for (std::string_view no : {"f", "false", "0"}) {
    if (EqualsIgnoreCase(text, no)) return Value::Bool(false);
  }
  return Err(InvalidArgument("bool `{}`: expected t, true, 1, f, false or 0", Shown(text)));
}

Result<Value> ParseText(std::string_view text) {
  Status status = ValidateUtf8(text);
  if (!status.ok()) return Err(status.WithContext(fmt::format("text `{}`", Shown(text))));
  return Value::Text(std::string(text));
}

Result<Value> ParseDate(std::string_view text) {
  if (EqualsIgnoreCase(text, "infinity")) return Value::Date(kDateInfinity);
  if (EqualsIgnoreCase(text, "-infinity")) return Value::Date(kDateMinusInfinity);
  std::string_view body = text;
  bool bc = StripBc(&body);
  size_t pos = 0;
  auto fail = [&](const Status& why) {
    return Err(InvalidArgument("date `{}`: {} ({})", Shown(text), why.message(), kDateForm));
  };
  Result<CivilDate> date = ReadDate(body, &pos);
  if (!date) return fail(date.error());
  if (pos != body.size()) {
    return fail(InvalidArgument("unexpected `{}` after the date", body.substr(pos)));
  }
  Result<int64_t> days = DateToDays(*date, bc);
  if (!days) return fail(days.error());
  if (*days <= kDateMinusInfinity || *days >= kDateInfinity) {
    return fail(InvalidArgument("out of the 32-bit day range"));
  }
  return Value::Date(static_cast<int32_t>(*days));
}

Result<Value> ParseTime(std::string_view text) {
  size_t pos = 0;
  Result<int64_t> micros = ReadTime(text, &pos);
  if (micros && pos != text.size()) {
    micros = Err(InvalidArgument("unexpected `{}` after the time", text.substr(pos)));
  }
  if (!micros) {
    return Err(
        InvalidArgument("time `{}`: {} ({})", Shown(text), micros.error().message(), kTimeForm));
  }
  return Value::Time(*micros);
}

Result<Value> ParseTimestamp(std::string_view text) {
  Result<int64_t> micros = TimestampMicros(text, /*with_offset=*/false);
  if (!micros) {
    return Err(InvalidArgument("timestamp `{}`: {} ({})", Shown(text), micros.error().message(),
                               kTimestampForm));
  }
  return Value::Timestamp(*micros);
}

Result<Value> ParseTimestampTz(std::string_view text) {
  Result<int64_t> micros = TimestampMicros(text, /*with_offset=*/true);
  if (!micros) {
    return Err(InvalidArgument("timestamptz `{}`: {} ({})", Shown(text), micros.error().message(),
                               kTimestampTzForm));
  }
  return Value::TimestampTz(*micros);
}

Result<Value> ParseUuid(std::string_view text) {
  std::string_view body = text;
  if (body.size() >= 2 && body.front() == '{' && body.back() == '}') {
    body = body.substr(1, body.size() - 2);
  }
  bool hyphenated = body.size() == 36;
  if (!hyphenated && body.size() != 32) {
    return Err(InvalidArgument(
        "uuid `{}`: {} characters (expected 32 hex digits, or 8-4-4-4-12 with hyphens)",
        Shown(text), body.size()));
  }
  UuidBytes bytes{};
  size_t nibble = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    if (hyphenated && (i == 8 || i == 13 || i == 18 || i == 23)) {
      if (body[i] != '-') {
        return Err(InvalidArgument("uuid `{}`: expected `-` at offset {} (expected 8-4-4-4-12)",
                                   Shown(text), i));
      }
      continue;
    }
    int digit = HexDigit(body[i]);
    if (digit < 0) {
      return Err(InvalidArgument("uuid `{}`: `{}` at offset {} is not a hex digit", Shown(text),
                                 body[i], i));
    }
    bytes[nibble / 2] = static_cast<uint8_t>(bytes[nibble / 2] | (digit << (nibble % 2 ? 0 : 4)));
    ++nibble;
  }
  return Value::Uuid(bytes);
}

Result<Value> JsonValue(const Json& json) {
  std::string text;
  Status status = AppendCanonicalJson(json, 0, &text);
  if (!status.ok()) return Err(status.WithContext("json"));
  return Value(TypeKind::kJson, std::move(text));
}

Result<Value> ParseJsonValue(std::string_view text) {
  FERRY_ASSIGN_OR_RETURN(Json json, ParseJson(text, fmt::format("json `{}`", Shown(text))));
  Result<Value> value = JsonValue(json);
  if (!value) return Err(InvalidArgument("json `{}`: {}", Shown(text), value.error().message()));
  return value;
}

Status ValidateUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const char* why = "";
    size_t length = Utf8SequenceLength(text, i, &why);
    if (length == 0) {
      std::string bytes;
      for (size_t k = i; k < std::min(text.size(), i + 4); ++k) {
        bytes += fmt::format("{}{:02x}", k == i ? "" : " ", static_cast<unsigned char>(text[k]));
      }
      return InvalidArgument(
          "invalid UTF-8 at byte {}: {} (bytes {}); the source column holds "
          "bytes in another encoding, map it to bytes or convert it",
          i, why, bytes);
    }
    i += length;
  }
  return OkStatus();
}

// ---- formatting ----------------------------------------------------------------------------

std::string FormatDate(int32_t days) {
  if (days == kDateInfinity) return "infinity";
  if (days == kDateMinusInfinity) return "-infinity";
  bool bc = false;
  std::string out = FormatYearAndDate(days, &bc);
  if (bc) out += " BC";
  return out;
}

std::string FormatTime(int64_t micros) {
  int64_t seconds = micros / kMicrosPerSecond;
  int64_t fraction = micros % kMicrosPerSecond;
  std::string out =
      fmt::format("{:02}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60);
  if (fraction != 0) {
    std::string digits = fmt::format("{:06}", fraction);
    while (digits.back() == '0') digits.pop_back();
    out += '.';
    out += digits;
  }
  return out;
}

std::string FormatTimestamp(int64_t micros) {
  if (micros == kTimestampInfinity) return "infinity";
  if (micros == kTimestampMinusInfinity) return "-infinity";
  int64_t days = FloorDiv(micros, kMicrosPerDay);
  bool bc = false;
  std::string out = FormatYearAndDate(days, &bc);
  out += ' ';
  out += FormatTime(micros - days * kMicrosPerDay);
  if (bc) out += " BC";
  return out;
}

std::string FormatTimestampTz(int64_t micros) {
  if (micros == kTimestampInfinity) return "infinity";
  if (micros == kTimestampMinusInfinity) return "-infinity";
  std::string out = FormatTimestamp(micros);
  // "Z" goes before " BC", where PostgreSQL puts the offset.
  if (out.ends_with(" BC")) return out.insert(out.size() - 3, "Z");
  return out + "Z";
}

std::string FormatUuid(const UuidBytes& uuid) {
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out += fmt::format("{:02x}", uuid[i]);
  }
  return out;
}

std::string FormatFloat64(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buffer[64];
  std::to_chars_result r = std::to_chars(buffer, buffer + sizeof buffer, v);
  std::string out(buffer, r.ptr);
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);                            // [0, 399]
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;  // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  // [0, 146096]
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

CivilDate CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);                 // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t year = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  // [0, 365]
  const unsigned mp = (5 * doy + 2) / 153;                       // [0, 11]
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;             // [1, 31]
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;              // [1, 12]
  return CivilDate{year + (month <= 2), month, day};
}

}  // namespace ferry
