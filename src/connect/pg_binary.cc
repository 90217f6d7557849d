#include "connect/pg_binary.h"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "connect/connector.h"

namespace ferry::connect_internal {
namespace {

// PostgreSQL counts dates and timestamps from 2000-01-01 (POSTGRES_EPOCH_JDATE); ferry from 1970.
constexpr int64_t kPgEpochDays = 10'957;
constexpr int64_t kPgEpochMicros = kPgEpochDays * kMicrosPerDay;
// The finite values PostgreSQL accepts, relative to its epoch (src/include/datatype/timestamp.h:
// IS_VALID_DATE, IS_VALID_TIMESTAMP): 4713-11-24 BC up to, not including, 5874898-01-01 for
// dates and 294277-01-01 for timestamps.
constexpr int64_t kPgMinDate = -2'451'545;
constexpr int64_t kPgEndDate = 2'147'483'494 - 2'451'545;
constexpr int64_t kPgMinTimestamp = -211'813'488'000'000'000;
constexpr int64_t kPgEndTimestamp = 9'223'371'331'200'000'000;

// numeric's sign word (src/backend/utils/adt/numeric.c); infinities since PostgreSQL 14.
constexpr uint16_t kNumericPositive = 0x0000;
constexpr uint16_t kNumericNegative = 0x4000;
constexpr uint16_t kNumericNaN = 0xC000;
constexpr uint16_t kNumericPlusInfinity = 0xD000;
constexpr uint16_t kNumericMinusInfinity = 0xF000;

constexpr char kSignature[] = "PGCOPY\n\377\r\n";  // plus its terminating NUL: 11 bytes
constexpr size_t kSignatureSize = 11;

uint16_t Read16(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}

uint32_t Read32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

uint64_t Read64(const char* p) { return (uint64_t{Read32(p)} << 32) | Read32(p + 4); }

void Append16(uint16_t v, std::string* out) {
  const char bytes[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(bytes, 2);
}

void Append32(uint32_t v, std::string* out) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(bytes, 4);
}

void Append64(uint64_t v, std::string* out) {
  Append32(static_cast<uint32_t>(v >> 32), out);
  Append32(static_cast<uint32_t>(v), out);
}

std::string_view TypeName(uint32_t oid) {
  switch (oid) {
    case pg_type::kBool: return "boolean";
    case pg_type::kBytea: return "bytea";
    case pg_type::kName: return "name";
    case pg_type::kInt8: return "bigint";
    case pg_type::kInt2: return "smallint";
    case pg_type::kInt4: return "integer";
    case pg_type::kText: return "text";
    case pg_type::kOid: return "oid";
    case pg_type::kJson: return "json";
    case pg_type::kFloat4: return "real";
    case pg_type::kFloat8: return "double precision";
    case pg_type::kBpchar: return "character";
    case pg_type::kVarchar: return "character varying";
    case pg_type::kDate: return "date";
    case pg_type::kTime: return "time";
    case pg_type::kTimestamp: return "timestamp";
    case pg_type::kTimestampTz: return "timestamptz";
    case pg_type::kNumeric: return "numeric";
    case pg_type::kUuid: return "uuid";
    case pg_type::kJsonb: return "jsonb";
    default: break;
  }
  return "unknown type";
}

// ---- Decoding

Status ExpectSize(uint32_t oid, std::string_view bytes, size_t size) {
  if (bytes.size() == size) return OkStatus();
  return InvalidArgument("{} in binary: {} bytes, expected {}", TypeName(oid), bytes.size(), size);
}

// Whether the decimal `mantissa` * 10^`exponent` lies strictly between `low` and `high`, two
// doubles (midpoints between floats, which doubles hold exactly). Parsing it as a double decides
// unless it parses to a bound itself; then the exact digits of the bound decide.
bool StrictlyBetween(uint64_t mantissa, int exponent, double low, double high) {
  char text[48];
  const auto written = fmt::format_to_n(text, sizeof text, "{}e{}", mantissa, exponent);
  const std::string_view decimal(text, written.out);
  double d = 0;
  std::from_chars(decimal.data(), decimal.data() + decimal.size(), d);
  if (d > low && d < high) return true;
  if (d != low && d != high) return false;
  // Compare the decimal with the bound digit by digit: both as (significant digits without
  // trailing zeros, exponent of the first). A float midpoint has at most about 110 of them.
  auto normalise = [](std::string digits, int first_exponent) {
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    return std::pair<int, std::string>(first_exponent, std::move(digits));
  };
  const std::string m = fmt::format("{}", mantissa);
  const auto ours = normalise(m, exponent + static_cast<int>(m.size()) - 1);
  char exact[256];
  const auto [end, ec] = std::to_chars(exact, exact + sizeof exact, d == low ? low : high,
                                       std::chars_format::scientific, 200);
  const std::string_view bound_text(exact, end);
  const size_t e = bound_text.find('e');
  std::string bound_digits(bound_text.substr(0, e));
  std::erase(bound_digits, '.');
  int bound_exponent = 0;
  std::from_chars(bound_text.data() + e + 1 + (bound_text[e + 1] == '+'), end, bound_exponent);
  const auto bound = normalise(std::move(bound_digits), bound_exponent);
  return d == low ? ours > bound : ours < bound;
}

// The double that PostgreSQL's text output of real `f` reads as, which the text path makes of
// it. float4out (extra_float_digits >= 1) prints the shortest decimal strictly inside f's
// rounding interval, the nearest to f among those (Ryu with the bounds excluded,
// src/common/f2s.c). std::to_chars may instead pick a shorter decimal lying on a bound (which
// round-half-even parsing maps back to f): the same real, but a different double when widened.
double Float4AsText(float f) {
  if (!std::isfinite(f) || f == 0) return f;
  const float a = std::fabs(f);
  const double below = std::nextafter(a, 0.0f);
  const double low = (below + a) / 2;
  const double high =
      a == FLT_MAX ? a + (a - below) / 2 : (double{a} + std::nextafter(a, INFINITY)) / 2;
  for (int digits = 1;; ++digits) {
    // The nearest decimal of `digits` significant digits, then its neighbour on f's side.
    char text[32];
    const auto [end, ec] =
        std::to_chars(text, text + sizeof text, a, std::chars_format::scientific, digits - 1);
    const std::string_view rounded(text, end);
    const size_t e = rounded.find('e');
    uint64_t mantissa = 0;
    for (char c : rounded.substr(0, e)) {
      if (c != '.') mantissa = mantissa * 10 + static_cast<uint64_t>(c - '0');
    }
    int exponent = 0;
    std::from_chars(text + e + 1 + (text[e + 1] == '+'), end, exponent);
    exponent -= digits - 1;
    double value = 0;
    const auto candidate = [&](uint64_t m) {
      if (!StrictlyBetween(m, exponent, low, high)) return false;
      const std::string decimal = fmt::format("{}e{}", m, exponent);
      std::from_chars(decimal.data(), decimal.data() + decimal.size(), value);
      return true;
    };
    // Nine digits always fall strictly inside: a real's interval is wider than their step.
    if (candidate(mantissa) ||
        candidate(static_cast<double>(mantissa) * std::pow(10.0, exponent) > a ? mantissa - 1
                                                                               : mantissa + 1)) {
      return std::signbit(f) ? -value : value;
    }
  }
}

void AppendGroup(unsigned group, bool pad, std::string* out) {
  char digits[4] = {static_cast<char>('0' + group / 1000),
                    static_cast<char>('0' + group / 100 % 10),
                    static_cast<char>('0' + group / 10 % 10), static_cast<char>('0' + group % 10)};
  size_t skip = 0;
  if (!pad) {
    while (skip < 3 && digits[skip] == '0') ++skip;
  }
  out->append(digits + skip, 4 - skip);
}

// numeric_send: int16 ndigits, int16 weight (of the first digit, in powers of 10000), uint16
// sign, uint16 dscale (digits shown after the point), then ndigits base-10000 digits. Writes the
// canonical decimal (value.h) directly, digit group by digit group: what ParseDecimal makes of
// the text numeric_out prints, without printing and parsing it.
Status DecodeNumeric(std::string_view bytes, Value* out) {
  if (bytes.size() < 8) return InvalidArgument("numeric in binary: {} bytes", bytes.size());
  const size_t ndigits = Read16(bytes.data());
  const auto weight = static_cast<int16_t>(Read16(bytes.data() + 2));
  const uint16_t sign = Read16(bytes.data() + 4);
  const size_t dscale = Read16(bytes.data() + 6);
  if (bytes.size() != 8 + 2 * ndigits) {
    return InvalidArgument("numeric in binary: {} bytes for {} digits", bytes.size(), ndigits);
  }
  switch (sign) {
    case kNumericNaN: out->AssignCanonicalDecimal("NaN"); return OkStatus();
    case kNumericPlusInfinity: out->AssignCanonicalDecimal("Infinity"); return OkStatus();
    case kNumericMinusInfinity: out->AssignCanonicalDecimal("-Infinity"); return OkStatus();
    case kNumericPositive:
    case kNumericNegative: break;
    default: return InvalidArgument("numeric in binary: sign word {:#06x}", sign);
  }
  auto digit = [&](int64_t k) -> unsigned {
    return k >= 0 && static_cast<size_t>(k) < ndigits ? Read16(bytes.data() + 8 + 2 * k) : 0;
  };
  for (size_t k = 0; k < ndigits; ++k) {
    if (digit(static_cast<int64_t>(k)) > 9999) {
      return InvalidArgument("numeric in binary: digit {} is not base 10000",
                             digit(static_cast<int64_t>(k)));
    }
  }
  // One buffer per thread: a numeric may have up to 147,455 digits.
  thread_local std::string text;
  text.clear();
  if (sign == kNumericNegative) text.push_back('-');
  const size_t integer_start = text.size();
  for (int64_t k = 0; k <= weight; ++k) {
    const bool leading = text.size() == integer_start;
    if (leading && digit(k) == 0) continue;
    AppendGroup(digit(k), /*pad=*/!leading, &text);
  }
  const bool integer_zero = text.size() == integer_start;
  if (integer_zero) text.push_back('0');
  if (dscale > 0) {
    const size_t point = text.size();
    text.push_back('.');
    for (size_t j = 0; j * 4 < dscale; ++j) {
      AppendGroup(digit(int64_t{weight} + 1 + static_cast<int64_t>(j)), true, &text);
    }
    text.resize(point + 1 + dscale);
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  // -0 and -0.000 are 0.
  if (integer_zero && sign == kNumericNegative && text.size() == integer_start + 1) {
    text.erase(0, 1);
  }
  out->AssignCanonicalDecimal(text);
  return OkStatus();
}

// ---- Encoding

Status OutOfRange(std::string_view what, uint32_t oid, std::string_view range) {
  return InvalidArgument("{} is out of range for {} ({})", what, TypeName(oid), range);
}

// The float PostgreSQL's float4in makes of decimal `text` (correctly rounded, as strtof);
// subnormal results are kept, overflow and underflow to zero are errors, as there.
Result<float> Float4FromText(std::string_view text) {
  float f = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), f);
  if (ec == std::errc::result_out_of_range) {
    return Err(OutOfRange(text, pg_type::kFloat4, "about 1.4e-45 to 3.4e+38 in magnitude"));
  }
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Err(InvalidArgument("real: `{}` is not a number", text));
  }
  return f;
}

// numeric_recv's form of canonical decimal `text` (value.h: optional '-', digits, optional '.'
// and fraction digits without trailing zeros; or NaN, Infinity, -Infinity).
void AppendNumeric(std::string_view text, std::string* out) {
  auto header = [&](size_t ndigits, int64_t weight, uint16_t sign, size_t dscale) {
    Append32(static_cast<uint32_t>(8 + 2 * ndigits), out);
    Append16(static_cast<uint16_t>(ndigits), out);
    Append16(static_cast<uint16_t>(static_cast<int16_t>(weight)), out);
    Append16(sign, out);
    Append16(static_cast<uint16_t>(dscale), out);
  };
  if (text == "NaN") return header(0, 0, kNumericNaN, 0);
  if (text == "Infinity") return header(0, 0, kNumericPlusInfinity, 0);
  if (text == "-Infinity") return header(0, 0, kNumericMinusInfinity, 0);
  const bool negative = text.starts_with('-');
  if (negative) text.remove_prefix(1);
  const size_t point = text.find('.');
  const std::string_view integer = text.substr(0, point);
  const std::string_view fraction =
      point == std::string_view::npos ? std::string_view() : text.substr(point + 1);
  // The digits padded with zeros to whole base-10000 groups on both sides of the point.
  const size_t lead = (4 - integer.size() % 4) % 4;
  const size_t total = lead + integer.size() + fraction.size() + (4 - fraction.size() % 4) % 4;
  auto decimal_digit = [&](size_t p) -> unsigned {
    if (p < lead) return 0;
    p -= lead;
    if (p < integer.size()) return static_cast<unsigned>(integer[p] - '0');
    p -= integer.size();
    return p < fraction.size() ? static_cast<unsigned>(fraction[p] - '0') : 0;
  };
  auto group = [&](size_t g) -> uint16_t {
    return static_cast<uint16_t>(decimal_digit(4 * g) * 1000 + decimal_digit(4 * g + 1) * 100 +
                                 decimal_digit(4 * g + 2) * 10 + decimal_digit(4 * g + 3));
  };
  const size_t groups = total / 4;
  size_t first = 0, last = groups;  // the nonzero groups are [first, last)
  while (first < groups && group(first) == 0) ++first;
  while (last > first && group(last - 1) == 0) --last;
  if (first == last) return header(0, 0, kNumericPositive, fraction.size());
  const int64_t weight =
      static_cast<int64_t>((lead + integer.size()) / 4) - 1 - static_cast<int64_t>(first);
  header(last - first, weight, negative ? kNumericNegative : kNumericPositive, fraction.size());
  for (size_t g = first; g < last; ++g) Append16(group(g), out);
}

void AppendText(std::string_view text, std::string* out) {
  Append32(static_cast<uint32_t>(text.size()), out);
  out->append(text);
}

Result<PgEncode> AppendInteger(uint32_t oid, const Value& value, std::string* out) {
  if (value.kind() != TypeKind::kInt64) return PgEncode::kNeedsText;
  const int64_t v = value.int64_value();
  if (oid == pg_type::kInt8) {
    Append32(8, out);
    Append64(static_cast<uint64_t>(v), out);
  } else if (oid == pg_type::kInt4) {
    if (v < INT32_MIN || v > INT32_MAX) {
      return Err(OutOfRange(fmt::format("{}", v), oid, "-2147483648 to 2147483647"));
    }
    Append32(4, out);
    Append32(static_cast<uint32_t>(v), out);
  } else {
    if (v < INT16_MIN || v > INT16_MAX) {
      return Err(OutOfRange(fmt::format("{}", v), oid, "-32768 to 32767"));
    }
    Append32(2, out);
    Append16(static_cast<uint16_t>(v), out);
  }
  return PgEncode::kDone;
}

Result<PgEncode> AppendFloat(uint32_t oid, const Value& value, std::string* out) {
  if (value.kind() != TypeKind::kInt64 && value.kind() != TypeKind::kFloat64) {
    return PgEncode::kNeedsText;
  }
  if (oid == pg_type::kFloat8) {
    // An int64 converts as float8in reads its digits: to the nearest double.
    const double d = value.kind() == TypeKind::kInt64 ? static_cast<double>(value.int64_value())
                                                      : value.float64_value();
    Append32(8, out);
    Append64(std::bit_cast<uint64_t>(d), out);
    return PgEncode::kDone;
  }
  float f = 0;
  if (value.kind() == TypeKind::kFloat64 && !std::isfinite(value.float64_value())) {
    f = static_cast<float>(value.float64_value());
  } else {
    // From the text the text path sends, so that the rounding is float4in's own (rounding the
    // double would round twice).
    FERRY_ASSIGN_OR_RETURN(f, Float4FromText(TextInputForm(value)));
  }
  Append32(4, out);
  Append32(std::bit_cast<uint32_t>(f), out);
  return PgEncode::kDone;
}

Result<PgEncode> AppendDate(const Value& value, std::string* out) {
  if (value.kind() != TypeKind::kDate) return PgEncode::kNeedsText;
  const int32_t days = value.date_days();
  int64_t pg = days;
  if (days != kDateInfinity && days != kDateMinusInfinity) {
    pg = int64_t{days} - kPgEpochDays;
    if (pg < kPgMinDate || pg >= kPgEndDate) {
      return Err(OutOfRange(FormatDate(days), pg_type::kDate, "4713-11-24 BC to 5874897-12-31"));
    }
  }
  Append32(4, out);
  Append32(static_cast<uint32_t>(static_cast<int32_t>(pg)), out);
  return PgEncode::kDone;
}

Result<PgEncode> AppendTimestamp(uint32_t oid, const Value& value, std::string* out) {
  // A wall clock into timestamptz is read in the session's zone, UTC; an instant into timestamp
  // loses its zone, which its text form gives as Z: the same microseconds either way.
  if (value.kind() != TypeKind::kTimestamp && value.kind() != TypeKind::kTimestampTz) {
    return PgEncode::kNeedsText;
  }
  const int64_t micros = value.timestamp_micros();
  int64_t pg = micros;
  if (micros != kTimestampInfinity && micros != kTimestampMinusInfinity) {
    if (__builtin_sub_overflow(micros, kPgEpochMicros, &pg) || pg < kPgMinTimestamp ||
        pg >= kPgEndTimestamp) {
      // FormatTimestamp overflows within a day of INT64_MIN: name those by their number.
      const std::string shown = micros < kTimestampMinusInfinity + kMicrosPerDay
                                    ? fmt::format("{} microseconds since 1970", micros)
                                    : FormatTimestamp(micros);
      return Err(OutOfRange(shown, oid, "4713-11-24 BC to 294276-12-31"));
    }
  }
  Append32(8, out);
  Append64(static_cast<uint64_t>(pg), out);
  return PgEncode::kDone;
}

}  // namespace

std::optional<TypeKind> PgBinaryDecodedKind(uint32_t type_oid) {
  switch (type_oid) {
    case pg_type::kBool: return TypeKind::kBool;
    case pg_type::kInt2:
    case pg_type::kInt4:
    case pg_type::kInt8:
    case pg_type::kOid: return TypeKind::kInt64;
    case pg_type::kFloat4:
    case pg_type::kFloat8: return TypeKind::kFloat64;
    case pg_type::kNumeric: return TypeKind::kDecimal;
    case pg_type::kBytea: return TypeKind::kBytes;
    case pg_type::kText:
    case pg_type::kVarchar:
    case pg_type::kBpchar:
    case pg_type::kName: return TypeKind::kText;
    case pg_type::kDate: return TypeKind::kDate;
    case pg_type::kTime: return TypeKind::kTime;
    case pg_type::kTimestamp: return TypeKind::kTimestamp;
    case pg_type::kTimestampTz: return TypeKind::kTimestampTz;
    case pg_type::kUuid: return TypeKind::kUuid;
    case pg_type::kJson:
    case pg_type::kJsonb: return TypeKind::kJson;
    default: break;
  }
  return std::nullopt;
}

Status DecodePgBinaryField(uint32_t oid, std::string_view bytes, Value* out) {
  const char* p = bytes.data();
  switch (oid) {
    case pg_type::kBool:
      FERRY_RETURN_IF_ERROR(ExpectSize(oid, bytes, 1));
      *out = Value::Bool(p[0] != 0);
      return OkStatus();
    case pg_type::kInt2:
      FERRY_RETURN_IF_ERROR(ExpectSize(oid, bytes, 2));
      *out = Value::Int64(static_cast<int16_t>(Read16(p)));
      return OkStatus();
    case pg_type::kInt4:
      FERRY_RETURN_IF_ERROR(ExpectSize(oid, bytes, 4));
      *out = Value::Int64(static_cast<int32_t>(Read32(p)));
      return OkStatus();
    case pg_type::kOid:
      FERRY_RETURN_IF_ERROR(ExpectSize(oid, bytes, 4));
      *out = Value::Int64(Read32(p));
      return OkStatus();
    case pg_type::kInt8:
      FERRY_RETURN_IF_ERROR(ExpectSize(oid, bytes, 8));
      *out = Value::Int64(static_cast<int64_t>(Read64(p)));
      return OkStatus();
    case pg_type::kFloat4:
      FERRY_RETURN_IF_ERROR(ExpectSize(oid, bytes, 4));
      *out = Value::Float64(Float4AsText(std::bit_cast<float>(Read32(p))));
      return OkStatus();
    case pg_type::kFloat8:
      FERRY_RETURN_IF_ERROR(ExpectSize(oid, bytes, 8));
      *out = Value::Float64(std::bit_cast<double>(Read64(p)));
      return OkStatus();
    case pg_type::kNumeric: return DecodeNumeric(bytes, out);
    case pg_type::kBytea: out->AssignBytes(bytes); return OkStatus();
    // In the client encoding, UTF-8 (the session sets it): the server has checked it.
    case pg_type::kText:
    case pg_type::kVarchar:
    case pg_type::kBpchar:
    case pg_type::kName: out->AssignText(bytes); return OkStatus();
    case pg_type::kDate: {
      FERRY_RETURN_IF_ERROR(ExpectSize(oid, bytes, 4));
      const auto pg = static_cast<int32_t>(Read32(p));
      if (pg == kDateInfinity || pg == kDateMinusInfinity) {
        *out = Value::Date(pg);
        return OkStatus();
      }
      const int64_t days = int64_t{pg} + kPgEpochDays;
      if (days <= kDateMinusInfinity || days >= kDateInfinity) {
        return InvalidArgument("date in binary: day {} is out of the 32-bit day range", pg);
      }
      *out = Value::Date(static_cast<int32_t>(days));
      return OkStatus();
    }
    case pg_type::kTime: {
      FERRY_RETURN_IF_ERROR(ExpectSize(oid, bytes, 8));
      const auto micros = static_cast<int64_t>(Read64(p));
      if (micros < 0 || micros > kMicrosPerDay) {
        return InvalidArgument("time in binary: {} microseconds is not a time of day", micros);
      }
      *out = Value::Time(micros);
      return OkStatus();
    }
    case pg_type::kTimestamp:
    case pg_type::kTimestampTz: {
      FERRY_RETURN_IF_ERROR(ExpectSize(oid, bytes, 8));
      const auto pg = static_cast<int64_t>(Read64(p));
      int64_t micros = pg;
      if (pg != kTimestampInfinity && pg != kTimestampMinusInfinity &&
          (__builtin_add_overflow(pg, kPgEpochMicros, &micros) || micros == kTimestampInfinity ||
           micros == kTimestampMinusInfinity)) {
        // The text path's error for the same value (value.cc, TimestampMicros).
        return InvalidArgument(
            "{} in binary: out of range: 64-bit microseconds since 1970 reach the years "
            "290308 BC to 294247 AD",
            TypeName(oid));
      }
      *out = oid == pg_type::kTimestamp ? Value::Timestamp(micros) : Value::TimestampTz(micros);
      return OkStatus();
    }
    case pg_type::kUuid: {
      FERRY_RETURN_IF_ERROR(ExpectSize(oid, bytes, 16));
      UuidBytes uuid;
      std::memcpy(uuid.data(), p, uuid.size());
      *out = Value::Uuid(uuid);
      return OkStatus();
    }
    case pg_type::kJson: {
      FERRY_ASSIGN_OR_RETURN(*out, ParseJsonValue(bytes));
      return OkStatus();
    }
    case pg_type::kJsonb: {
      // jsonb_send: a version byte, 1, then the text jsonb_out prints.
      if (bytes.empty() || bytes[0] != 1) {
        return InvalidArgument("jsonb in binary: unknown format version {}",
                               bytes.empty() ? -1 : int{bytes[0]});
      }
      FERRY_ASSIGN_OR_RETURN(*out, ParseJsonValue(bytes.substr(1)));
      return OkStatus();
    }
    default: break;
  }
  return Internal("no binary decoder for type {}", oid);
}

Result<Value> DecodePgBinaryField(uint32_t oid, std::string_view bytes) {
  Value value;
  FERRY_RETURN_IF_ERROR(DecodePgBinaryField(oid, bytes, &value));
  return value;
}

Status DecodePgBinaryRow(std::span<const uint32_t> types, std::span<const PgCopyField> fields,
                         std::vector<Value>* row, size_t* failed_column) {
  row->resize(types.size());
  for (size_t c = 0; c < types.size(); ++c) {
    const PgCopyField& field = fields[c];
    Value& value = (*row)[c];
    if (field.size < 0) {
      value.SetNull();
      continue;
    }
    Status status = DecodePgBinaryField(
        types[c], std::string_view(field.data, static_cast<size_t>(field.size)), &value);
    if (!status.ok()) {
      *failed_column = c;
      return status;
    }
  }
  return OkStatus();
}

Result<bool> ParsePgCopyHeader(std::string_view data, size_t* consumed) {
  constexpr size_t kFixed = kSignatureSize + 8;
  if (data.size() < kFixed) return false;
  if (std::memcmp(data.data(), kSignature, kSignatureSize) != 0) {
    return Err(DataLoss("COPY binary: the stream does not start with the PGCOPY signature"));
  }
  const uint32_t flags = Read32(data.data() + kSignatureSize);
  // Bits 16 to 31 are critical: a reader must stop at one it does not know (bit 16: OIDs).
  if ((flags & 0xFFFF0000u) != 0) {
    return Err(DataLoss("COPY binary: unsupported header flags {:#010x}", flags));
  }
  const uint32_t extension = Read32(data.data() + kSignatureSize + 4);
  if (data.size() - kFixed < extension) return false;
  *consumed = kFixed + extension;
  return true;
}

Result<PgCopyParse> ParsePgCopyTuple(std::string_view data, size_t columns,
                                     std::vector<PgCopyField>* fields, size_t* consumed) {
  if (data.size() < 2) return PgCopyParse::kNeedMore;
  const auto count = static_cast<int16_t>(Read16(data.data()));
  if (count == -1) {
    *consumed = 2;
    return PgCopyParse::kEnd;
  }
  if (count < 0 || static_cast<size_t>(count) != columns) {
    return Err(DataLoss("COPY binary: a tuple of {} fields, expected {}", count, columns));
  }
  fields->resize(columns);
  size_t at = 2;
  for (PgCopyField& field : *fields) {
    if (data.size() - at < 4) return PgCopyParse::kNeedMore;
    const auto size = static_cast<int32_t>(Read32(data.data() + at));
    at += 4;
    if (size < -1) return Err(DataLoss("COPY binary: field length {}", size));
    field.size = size;
    field.data = data.data() + at;
    if (size > 0) {
      if (data.size() - at < static_cast<size_t>(size)) return PgCopyParse::kNeedMore;
      at += static_cast<size_t>(size);
    }
  }
  *consumed = at;
  return PgCopyParse::kTuple;
}

void PgCopyBuffer::Add(Message message, size_t size) {
  const std::string_view received(message.get(), size);
  if (unparsed_.empty()) {
    message_ = std::move(message);
    unparsed_ = received;
    return;
  }
  if (message_ != nullptr) {
    pending_.assign(unparsed_);
    message_.reset();
  } else {
    pending_.erase(0, static_cast<size_t>(unparsed_.data() - pending_.data()));
  }
  pending_.append(received);
  unparsed_ = pending_;
}

bool PgBinaryCanEncode(uint32_t type_oid) {
  // name and oid read fine but are written in text: namein truncates what namerecv refuses, and
  // oidin takes negative numbers.
  return type_oid != pg_type::kName && type_oid != pg_type::kOid &&
         PgBinaryDecodedKind(type_oid).has_value();
}

void AppendPgCopyHeader(std::string* out) {
  out->append(kSignature, kSignatureSize);
  Append32(0, out);  // flags
  Append32(0, out);  // header extension length
}

void AppendPgCopyTrailer(std::string* out) { Append16(0xFFFF, out); }

void AppendPgCopyTupleStart(size_t fields, std::string* out) {
  Append16(static_cast<uint16_t>(fields), out);
}

void AppendPgBinaryNull(std::string* out) { Append32(0xFFFFFFFFu, out); }

Result<PgEncode> AppendPgBinaryField(uint32_t oid, const Value& value, std::string* out) {
  const TypeKind kind = value.kind();
  switch (oid) {
    case pg_type::kBool:
      if (kind != TypeKind::kBool) return PgEncode::kNeedsText;
      Append32(1, out);
      out->push_back(value.bool_value() ? 1 : 0);
      return PgEncode::kDone;
    case pg_type::kInt2:
    case pg_type::kInt4:
    case pg_type::kInt8: return AppendInteger(oid, value, out);
    case pg_type::kFloat4:
    case pg_type::kFloat8: return AppendFloat(oid, value, out);
    case pg_type::kNumeric:
      if (kind == TypeKind::kDecimal) {
        AppendNumeric(value.str(), out);
      } else if (kind == TypeKind::kInt64) {
        AppendNumeric(fmt::format_int(value.int64_value()).str(), out);
      } else if (kind == TypeKind::kFloat64) {
        // As numeric_in reads the shortest text the text path sends: exactly those digits.
        FERRY_ASSIGN_OR_RETURN(Value decimal, ParseDecimal(FormatFloat64(value.float64_value())));
        AppendNumeric(decimal.str(), out);
      } else {
        return PgEncode::kNeedsText;
      }
      return PgEncode::kDone;
    case pg_type::kText:
    case pg_type::kVarchar:
    case pg_type::kBpchar:
      // Whatever the kind, the text the text path sends; the server checks UTF-8 (and refuses
      // NUL) and applies the length limit, as for text.
      if (kind == TypeKind::kText || kind == TypeKind::kDecimal || kind == TypeKind::kJson) {
        if (value.str().size() > INT32_MAX) return PgEncode::kNeedsText;
        AppendText(value.str(), out);
      } else {
        AppendText(TextInputForm(value), out);
      }
      return PgEncode::kDone;
    case pg_type::kBytea:
      if (kind != TypeKind::kBytes || value.str().size() > INT32_MAX) return PgEncode::kNeedsText;
      AppendText(value.str(), out);
      return PgEncode::kDone;
    case pg_type::kDate: return AppendDate(value, out);
    case pg_type::kTime:
      if (kind != TypeKind::kTime) return PgEncode::kNeedsText;
      Append32(8, out);
      Append64(static_cast<uint64_t>(value.time_micros()), out);
      return PgEncode::kDone;
    case pg_type::kTimestamp:
    case pg_type::kTimestampTz: return AppendTimestamp(oid, value, out);
    case pg_type::kUuid:
      if (kind != TypeKind::kUuid) return PgEncode::kNeedsText;
      Append32(16, out);
      out->append(reinterpret_cast<const char*>(value.uuid().data()), value.uuid().size());
      return PgEncode::kDone;
    case pg_type::kJson:
    case pg_type::kJsonb:
      // Text too, as the server parses it: json keeps text as written.
      if ((kind != TypeKind::kJson && kind != TypeKind::kText) || value.str().size() >= INT32_MAX) {
        return PgEncode::kNeedsText;
      }
      if (oid == pg_type::kJson) {
        AppendText(value.str(), out);
      } else {
        Append32(static_cast<uint32_t>(value.str().size() + 1), out);
        out->push_back(1);  // jsonb_recv's format version
        out->append(value.str());
      }
      return PgEncode::kDone;
    default: break;
  }
  return PgEncode::kNeedsText;
}

std::string_view PgWiderType(uint32_t type_oid) {
  switch (type_oid) {
    case pg_type::kInt2:
    case pg_type::kInt4: return "bigint";
    case pg_type::kFloat4: return "double precision";
    default: break;
  }
  return {};
}

}  // namespace ferry::connect_internal
