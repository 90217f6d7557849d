#include "move/transform.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include <absl/time/civil_time.h>
#include <absl/time/time.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/config.h"
#include "base/hash.h"
#include "base/json.h"
#include "connect/schema_map.h"

namespace ferry {
namespace {

// ---------------------------------------------------------------------------------------------
// Small helpers

constexpr size_t kMaxShownChars = 60;
constexpr std::string_view kHiddenValue = "[hidden]";

std::string Shorten(std::string_view text, size_t max = kMaxShownChars) {
  if (text.size() <= max) return std::string(text);
  size_t cut = max;
  // Do not cut a UTF-8 sequence in two.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return fmt::format("{}...", text.substr(0, cut));
}

std::string ShownValue(const Value& value, bool hidden) {
  if (hidden) return std::string(kHiddenValue);
  return Shorten(value.ToDisplay());
}

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), ignoring ASCII
// case; the same measure base/config.cc uses for its suggestions.
size_t EditDistance(std::string_view a_in, std::string_view b_in) {
  const std::string a = AsciiLower(a_in), b = AsciiLower(b_in);
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// "; did you mean `x`?" for the candidate closest to `name` when it is close enough to be a
// typo (within a third of its length, at least one edit); "" otherwise.
template <typename Range>
std::string DidYouMean(std::string_view name, const Range& candidates) {
  std::optional<std::string> best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const auto& candidate_raw : candidates) {
    std::string_view candidate = candidate_raw;
    const size_t distance = EditDistance(name, candidate);
    if (distance <= std::max<size_t>(1, candidate.size() / 3) && distance < best_distance) {
      best = std::string(candidate);
      best_distance = distance;
    }
  }
  return best ? fmt::format("; did you mean `{}`?", *best) : std::string();
}

template <typename Range>
std::string BacktickList(const Range& names) {
  std::string out;
  for (const auto& name : names) {
    out += fmt::format("{}`{}`", out.empty() ? "" : ", ", std::string_view(name));
  }
  return out;
}

constexpr std::array<TypeKind, 12> kAllKinds = {
    TypeKind::kBool,      TypeKind::kInt64,       TypeKind::kDecimal, TypeKind::kFloat64,
    TypeKind::kText,      TypeKind::kBytes,       TypeKind::kDate,    TypeKind::kTime,
    TypeKind::kTimestamp, TypeKind::kTimestampTz, TypeKind::kUuid,    TypeKind::kJson};

// A kind by its value.h name, or an error listing the names and suggesting the one meant
// ("integer" -> int64).
Result<TypeKind> KindNamed(std::string_view name) {
  const std::string lower = AsciiLower(name);
  std::vector<std::string_view> names;
  for (TypeKind kind : kAllKinds) {
    if (TypeKindName(kind) == lower) return kind;
    names.push_back(TypeKindName(kind));
  }
  static const std::map<std::string, std::string, std::less<>> kAliases = {
      {"int", "int64"},      {"integer", "int64"},      {"bigint", "int64"},
      {"smallint", "int64"}, {"numeric", "decimal"},    {"number", "decimal"},
      {"float", "float64"},  {"double", "float64"},     {"real", "float64"},
      {"string", "text"},    {"varchar", "text"},       {"char", "text"},
      {"boolean", "bool"},   {"datetime", "timestamp"}, {"blob", "bytes"},
      {"bytea", "bytes"},    {"jsonb", "json"},
  };
  std::string hint;
  if (auto alias = kAliases.find(lower); alias != kAliases.end()) {
    hint = fmt::format("; did you mean `{}`?", alias->second);
  } else {
    hint = DidYouMean(name, names);
  }
  return Err(
      InvalidArgument("`{}` is not a kind; expected one of {}{}", name, BacktickList(names), hint));
}

bool IsNumericKind(TypeKind kind) {
  return kind == TypeKind::kInt64 || kind == TypeKind::kDecimal || kind == TypeKind::kFloat64;
}

// The text a value's hash, mask or map sees: its text input form (connector.h). Text, decimals
// and JSON are viewed in place; integers go through `buffer`; the rest through `scratch`.
std::string_view TextForm(const Value& value, std::array<char, 24>* buffer, std::string* scratch) {
  switch (value.kind()) {
    case TypeKind::kText:
    case TypeKind::kDecimal:
    case TypeKind::kJson: return value.str();
    case TypeKind::kInt64: {
      auto [end, ec] =
          std::to_chars(buffer->data(), buffer->data() + buffer->size(), value.int64_value());
      (void)ec;
      return std::string_view(buffer->data(), static_cast<size_t>(end - buffer->data()));
    }
    default: *scratch = TextInputForm(value); return *scratch;
  }
}

size_t CodePoints(std::string_view utf8) {
  size_t n = 0;
  for (char c : utf8) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Parses "(p)" or "(p,s)" at the end of a native type name.
void PrecisionScaleOf(std::string_view type, int* precision, int* scale) {
  *precision = -1;
  *scale = -1;
  const size_t open = type.find('(');
  const size_t close = type.find(')', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos) return;
  std::string_view inside = type.substr(open + 1, close - open - 1);
  const size_t comma = inside.find(',');
  auto number = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    int v = -1;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && end == s.data() + s.size() ? v : -1;
  };
  *precision = number(inside.substr(0, comma));
  if (comma != std::string_view::npos) *scale = number(inside.substr(comma + 1));
}

// The native type `engine` would declare for a column of this kind, precision and scale: the
// type MapTable chooses when moving such a column to that engine (docs/type-mapping.md).
std::string NativeTypeFor(const ColumnInfo& column, std::string_view engine) {
  ColumnInfo bare = column;
  bare.native_type.clear();
  TableInfo table{.name = "t", .columns = {bare}};
  const std::string_view target = engine.empty() ? std::string_view("sqlite") : engine;
  const std::string_view from = target == "postgresql" ? "sqlite" : "postgresql";
  Result<TableMapping> mapping = MapTable(table, from, target);
  if (!mapping.has_value() || mapping->target.columns.empty()) {
    return std::string(TypeKindName(column.kind));
  }
  return mapping->target.columns[0].native_type;
}

// ---------------------------------------------------------------------------------------------
// Hashing: SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104) through OpenSSL's EVP digests.
// The HMAC pads are derived once per key; each value costs two digests on a per-thread
// context, with no allocation and no algorithm fetch (which OpenSSL 3 serialises on a lock).

constexpr size_t kSha256Block = 64;
constexpr size_t kMinHmacKeyBytes = 32;

const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

EVP_MD_CTX* ThreadDigestContext() {
  struct Holder {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Holder() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Holder holder;
  return holder.ctx;
}

// Digest of the concatenation of `parts`.
Status DigestParts(std::initializer_list<std::string_view> parts, Sha256Digest* out) {
  EVP_MD_CTX* ctx = ThreadDigestContext();
  const EVP_MD* md = Sha256Md();
  if (ctx == nullptr || md == nullptr || EVP_DigestInit_ex2(ctx, md, nullptr) != 1) {
    return Internal("SHA-256 is not available from OpenSSL");
  }
  for (std::string_view part : parts) {
    if (EVP_DigestUpdate(ctx, part.data(), part.size()) != 1) return Internal("SHA-256 failed");
  }
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx, out->data(), &length) != 1 || length != out->size()) {
    return Internal("SHA-256 failed");
  }
  return OkStatus();
}

struct HmacKey {
  std::string name;
  std::array<char, kSha256Block> inner_pad{};  // key ^ 0x36
  std::array<char, kSha256Block> outer_pad{};  // key ^ 0x5c

  HmacKey() = default;
  HmacKey(const HmacKey&) = delete;
  HmacKey& operator=(const HmacKey&) = delete;
  ~HmacKey() {
    OPENSSL_cleanse(inner_pad.data(), inner_pad.size());
    OPENSSL_cleanse(outer_pad.data(), outer_pad.size());
  }
};

// RFC 2104 section 2: a key longer than the block is hashed first, then padded with zeros.
Result<std::shared_ptr<HmacKey>> MakeHmacKey(std::string name, std::string* key) {
  auto result = std::make_shared<HmacKey>();
  result->name = std::move(name);
  std::array<char, kSha256Block> block{};
  if (key->size() > kSha256Block) {
    Sha256Digest digest;
    FERRY_RETURN_IF_ERROR(DigestParts({*key}, &digest));
    std::memcpy(block.data(), digest.data(), digest.size());
    OPENSSL_cleanse(digest.data(), digest.size());
  } else {
    std::memcpy(block.data(), key->data(), key->size());
  }
  OPENSSL_cleanse(key->data(), key->size());
  for (size_t i = 0; i < kSha256Block; ++i) {
    result->inner_pad[i] = static_cast<char>(block[i] ^ 0x36);
    result->outer_pad[i] = static_cast<char>(block[i] ^ 0x5c);
  }
  OPENSSL_cleanse(block.data(), block.size());
  return result;
}

Status HmacSha256(const HmacKey& key, std::string_view message, Sha256Digest* out) {
  Sha256Digest inner;
  FERRY_RETURN_IF_ERROR(
      DigestParts({std::string_view(key.inner_pad.data(), key.inner_pad.size()), message}, &inner));
  return DigestParts({std::string_view(key.outer_pad.data(), key.outer_pad.size()),
                      std::string_view(reinterpret_cast<const char*>(inner.data()), inner.size())},
                     out);
}

// ---------------------------------------------------------------------------------------------
// Decimal and numeric comparison

// -1, 0, 1 for a canonical decimal's special values and finite values: -Infinity < finite <
// Infinity < NaN (PostgreSQL orders NaN above every number and equal to itself).
int DecimalRank(std::string_view d) {
  if (d == "NaN") return 2;
  if (d == "Infinity") return 1;
  if (d == "-Infinity") return -1;
  return 0;
}

int Sign(int c) { return (c > 0) - (c < 0); }

// Compares two canonical decimals (value.h: no leading zeros, no trailing fractional zeros, no
// exponent, "0" unsigned) by value, without converting them.
int CompareDecimalText(std::string_view a, std::string_view b) {
  const int ra = DecimalRank(a), rb = DecimalRank(b);
  if (ra != 0 || rb != 0) {
    // Finite values rank 0, between -Infinity (-1) and Infinity (1).
    return ra == rb ? 0 : (ra < rb ? -1 : 1);
  }
  const bool na = !a.empty() && a[0] == '-', nb = !b.empty() && b[0] == '-';
  if (na != nb) return na ? -1 : 1;
  if (na) {
    a.remove_prefix(1);
    b.remove_prefix(1);
  }
  const size_t pa = std::min(a.find('.'), a.size()), pb = std::min(b.find('.'), b.size());
  int magnitude = 0;
  if (pa != pb) {
    magnitude = pa < pb ? -1 : 1;
  } else {
    magnitude = Sign(a.substr(0, pa).compare(b.substr(0, pb)));
    if (magnitude == 0) {
      std::string_view fa = pa < a.size() ? a.substr(pa + 1) : std::string_view();
      std::string_view fb = pb < b.size() ? b.substr(pb + 1) : std::string_view();
      for (size_t i = 0; i < std::max(fa.size(), fb.size()) && magnitude == 0; ++i) {
        const char ca = i < fa.size() ? fa[i] : '0', cb = i < fb.size() ? fb[i] : '0';
        magnitude = ca == cb ? 0 : (ca < cb ? -1 : 1);
      }
    }
  }
  return na ? -magnitude : magnitude;
}

double DecimalToDouble(std::string_view d) {
  double v = 0;
  std::from_chars(d.data(), d.data() + d.size(), v);  // accepts NaN and [-]Infinity
  return v;
}

// Numeric values of any of int64, decimal, float64, compared by value. Integers and decimals
// compare exactly; a float64 compares with an integer exactly (both fit a long double's 64-bit
// significand) and with a decimal after rounding the decimal to float64, as PostgreSQL does
// for numeric = float8. NaN equals NaN and is above every number.
int CompareNumeric(const Value& a, const Value& b) {
  const TypeKind ka = a.kind(), kb = b.kind();
  if (ka == TypeKind::kInt64 && kb == TypeKind::kInt64) {
    return (a.int64_value() > b.int64_value()) - (a.int64_value() < b.int64_value());
  }
  if (ka == TypeKind::kFloat64 || kb == TypeKind::kFloat64) {
    auto as_long_double = [](const Value& v) -> long double {
      switch (v.kind()) {
        case TypeKind::kInt64: return static_cast<long double>(v.int64_value());
        case TypeKind::kFloat64: return v.float64_value();
        default: return DecimalToDouble(v.str());
      }
    };
    const long double x = as_long_double(a), y = as_long_double(b);
    const bool xn = std::isnan(x), yn = std::isnan(y);
    if (xn || yn) return xn == yn ? 0 : (xn ? 1 : -1);
    return (x > y) - (x < y);
  }
  std::array<char, 24> ba{}, bb{};
  auto text = [](const Value& v, std::array<char, 24>* buffer) -> std::string_view {
    if (v.kind() != TypeKind::kInt64) return v.str();
    auto [end, ec] =
        std::to_chars(buffer->data(), buffer->data() + buffer->size(), v.int64_value());
    (void)ec;
    return std::string_view(buffer->data(), static_cast<size_t>(end - buffer->data()));
  };
  return CompareDecimalText(text(a, &ba), text(b, &bb));
}

// ---------------------------------------------------------------------------------------------
// Casts between kinds

bool CanCast(TypeKind from, TypeKind to) {
  if (from == to || from == TypeKind::kText || to == TypeKind::kText) return true;
  auto numeric_or_bool = [](TypeKind k) { return IsNumericKind(k) || k == TypeKind::kBool; };
  if (numeric_or_bool(from) && numeric_or_bool(to)) return true;
  auto pair = [&](TypeKind x, TypeKind y) {
    return (from == x && to == y) || (from == y && to == x);
  };
  return pair(TypeKind::kDate, TypeKind::kTimestamp) || pair(TypeKind::kUuid, TypeKind::kBytes);
}

std::string_view CastHint(TypeKind from, TypeKind to) {
  if ((from == TypeKind::kTimestamp && to == TypeKind::kTimestampTz) ||
      (from == TypeKind::kTimestampTz && to == TypeKind::kTimestamp)) {
    return "; a wall-clock timestamp and an instant convert only through a time zone: use "
           "{timezone: Europe/Paris}";
  }
  return "; cast to text first if the text form is what you want";
}

Result<Value> Int64ToExact(int64_t v, TypeKind to) {
  switch (to) {
    case TypeKind::kBool:
      if (v == 0 || v == 1) return Value::Bool(v == 1);
      return Err(InvalidArgument("{} is not 0 or 1", v));
    case TypeKind::kDecimal: return ParseDecimal(fmt::format("{}", v));
    case TypeKind::kFloat64: return Value::Float64(static_cast<double>(v));  // rounds, as SQL
    default: return Value::Int64(v);
  }
}

// A cast that loses nothing, or an error saying what would be lost. Casts to float64 round to
// the nearest binary64, as every engine's do; every other cast is exact or fails.
Result<Value> CastValue(const Value& v, TypeKind to) {
  const TypeKind from = v.kind();
  if (from == to) return v;
  if (to == TypeKind::kText) return Value::Text(TextInputForm(v));
  if (from == TypeKind::kText) return ParseTextInputForm(to, v.str());
  switch (from) {
    case TypeKind::kBool: return Int64ToExact(v.bool_value() ? 1 : 0, to);
    case TypeKind::kInt64: return Int64ToExact(v.int64_value(), to);
    case TypeKind::kDecimal:
      if (to == TypeKind::kFloat64) return ParseFloat64(v.str());
      if (to == TypeKind::kInt64) return ParseInt64(v.str());
      if (to == TypeKind::kBool) {
        if (v.str() == "0" || v.str() == "1") return Value::Bool(v.str() == "1");
        return Err(InvalidArgument("{} is not 0 or 1", v.str()));
      }
      break;
    case TypeKind::kFloat64: {
      const double d = v.float64_value();
      if (to == TypeKind::kDecimal) return ParseDecimal(FormatFloat64(d));
      // 2^63 is exactly representable; every double below it in magnitude with no fraction
      // converts exactly.
      constexpr double kTwo63 = 9223372036854775808.0;
      if (!std::isfinite(d) || d != std::trunc(d) || d >= kTwo63 || d < -kTwo63) {
        return Err(InvalidArgument("{} is not an integer within 64 bits", FormatFloat64(d)));
      }
      return Int64ToExact(static_cast<int64_t>(d), to);
    }
    case TypeKind::kDate:
      if (to == TypeKind::kTimestamp) {
        const int32_t days = v.date_days();
        if (days == kDateInfinity) return Value::Timestamp(kTimestampInfinity);
        if (days == kDateMinusInfinity) return Value::Timestamp(kTimestampMinusInfinity);
        return Value::Timestamp(static_cast<int64_t>(days) * kMicrosPerDay);
      }
      break;
    case TypeKind::kTimestamp:
      if (to == TypeKind::kDate) {
        const int64_t micros = v.timestamp_micros();
        if (micros == kTimestampInfinity) return Value::Date(kDateInfinity);
        if (micros == kTimestampMinusInfinity) return Value::Date(kDateMinusInfinity);
        if (micros % kMicrosPerDay != 0) {
          return Err(InvalidArgument(
              "{} has a time of day, which a cast to date would drop; the row is rejected "
              "rather than truncated",
              FormatTimestamp(micros)));
        }
        return Value::Date(static_cast<int32_t>(micros / kMicrosPerDay));
      }
      break;
    case TypeKind::kUuid:
      if (to == TypeKind::kBytes) {
        return Value::Bytes(std::string(reinterpret_cast<const char*>(v.uuid().data()), 16));
      }
      break;
    case TypeKind::kBytes:
      if (to == TypeKind::kUuid) {
        if (v.str().size() != 16) {
          return Err(InvalidArgument("{} bytes, not the 16 of a UUID", v.str().size()));
        }
        UuidBytes bytes;
        std::memcpy(bytes.data(), v.str().data(), 16);
        return Value::Uuid(bytes);
      }
      break;
    default: break;
  }
  return Err(InvalidArgument("no cast from {} to {}", TypeKindName(from), TypeKindName(to)));
}

// ---------------------------------------------------------------------------------------------
// Date and time formats (strptime-like, strict: every character of the value must match)

enum class FormatField : uint8_t {
  kLiteral,
  kYear,       // %Y: 1 to 4 digits
  kYear2,      // %y: 2 digits, 69-99 -> 1969-1999, 00-68 -> 2000-2068 (POSIX)
  kMonth,      // %m
  kMonthName,  // %b %B %h: English, full or abbreviated, any case
  kDay,        // %d
  kHour,       // %H
  kHour12,     // %I
  kMinute,     // %M
  kSecond,     // %S
  kFraction,   // %f: 1 to 9 digits, beyond the sixth only zeros
  kAmPm,       // %p
  kOffset,     // %z: Z, +HH, +HHMM, +HH:MM
  kWeekday,    // %a %A: English, checked against the date
};

struct FormatPiece {
  FormatField field;
  char literal = 0;
};

struct TimeFormat {
  std::string text;
  std::vector<FormatPiece> pieces;
};

constexpr std::array<std::string_view, 12> kMonthNames = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

// Compiles `format` for values of `target` (kDate, kTime, kTimestamp, kTimestampTz). The error
// names the position in the format.
Result<TimeFormat> CompileTimeFormat(std::string_view format, TypeKind target) {
  TimeFormat compiled{.text = std::string(format), .pieces = {}};
  bool seen[16] = {};
  auto add = [&](FormatField field) {
    compiled.pieces.push_back({.field = field});
    seen[static_cast<int>(field)] = true;
  };
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      compiled.pieces.push_back({.field = FormatField::kLiteral, .literal = format[i]});
      continue;
    }
    if (i + 1 == format.size()) {
      return Err(
          InvalidArgument("position {}: expected a directive after `%`, got the end of "
                          "the format; write %% for a literal %",
                          i + 1));
    }
    const char d = format[++i];
    switch (d) {
      case 'Y': add(FormatField::kYear); break;
      case 'y': add(FormatField::kYear2); break;
      case 'm': add(FormatField::kMonth); break;
      case 'b':
      case 'B':
      case 'h': add(FormatField::kMonthName); break;
      case 'd': add(FormatField::kDay); break;
      case 'H': add(FormatField::kHour); break;
      case 'I': add(FormatField::kHour12); break;
      case 'M': add(FormatField::kMinute); break;
      case 'S': add(FormatField::kSecond); break;
      case 'f': add(FormatField::kFraction); break;
      case 'p': add(FormatField::kAmPm); break;
      case 'z': add(FormatField::kOffset); break;
      case 'a':
      case 'A': add(FormatField::kWeekday); break;
      case 'F':  // %Y-%m-%d
        add(FormatField::kYear);
        compiled.pieces.push_back({.field = FormatField::kLiteral, .literal = '-'});
        add(FormatField::kMonth);
        compiled.pieces.push_back({.field = FormatField::kLiteral, .literal = '-'});
        add(FormatField::kDay);
        break;
      case 'T':  // %H:%M:%S
        add(FormatField::kHour);
        compiled.pieces.push_back({.field = FormatField::kLiteral, .literal = ':'});
        add(FormatField::kMinute);
        compiled.pieces.push_back({.field = FormatField::kLiteral, .literal = ':'});
        add(FormatField::kSecond);
        break;
      case '%': compiled.pieces.push_back({.field = FormatField::kLiteral, .literal = '%'}); break;
      default:
        return Err(InvalidArgument(
            "position {}: `%{}` is not a directive ferry knows; use %Y %y %m %b %B %d %H %I %M "
            "%S %f %p %z %a %A %F %T or %%",
            i, d));
    }
  }
  auto has = [&](FormatField field) { return seen[static_cast<int>(field)]; };
  const bool any_date = has(FormatField::kYear) || has(FormatField::kYear2) ||
                        has(FormatField::kMonth) || has(FormatField::kMonthName) ||
                        has(FormatField::kDay) || has(FormatField::kWeekday);
  const bool full_date = (has(FormatField::kYear) || has(FormatField::kYear2)) &&
                         (has(FormatField::kMonth) || has(FormatField::kMonthName)) &&
                         has(FormatField::kDay);
  const bool any_time = has(FormatField::kHour) || has(FormatField::kHour12) ||
                        has(FormatField::kMinute) || has(FormatField::kSecond) ||
                        has(FormatField::kFraction) || has(FormatField::kAmPm);
  const bool hour = has(FormatField::kHour) || has(FormatField::kHour12);
  if (has(FormatField::kHour12) != has(FormatField::kAmPm)) {
    return Err(InvalidArgument("%I (12-hour clock) and %p (AM/PM) go together"));
  }
  const bool wants_date = target != TypeKind::kTime;
  const bool wants_time = target != TypeKind::kDate;
  if (wants_date && !full_date) {
    return Err(InvalidArgument("expected a year (%Y or %y), a month (%m or %b) and a day (%d)"));
  }
  if (!wants_date && any_date) {
    return Err(
        InvalidArgument("a time has no date; remove the date directives or use "
                        "timestamp_format"));
  }
  if (wants_time && !hour) return Err(InvalidArgument("expected an hour (%H, or %I with %p)"));
  if (!wants_time && any_time) {
    return Err(
        InvalidArgument("a date has no time of day, which this format reads; use "
                        "timestamp_format (and then a cast to date if the time is always "
                        "midnight)"));
  }
  const bool wants_offset = target == TypeKind::kTimestampTz;
  if (wants_offset != has(FormatField::kOffset)) {
    return Err(InvalidArgument(
        "{}", wants_offset
                  ? "expected an offset (%z): an instant needs one; for wall-clock text use "
                    "timestamp_format, then {timezone: ...}"
                  : "%z reads an offset, which only timestamptz_format keeps"));
  }
  return compiled;
}

// Reads `text` as `format` describes it into a value of `target`. Errors describe the first
// mismatch; the caller adds the column and the value.
Result<Value> ParseWithFormat(const TimeFormat& format, TypeKind target, std::string_view text) {
  int64_t year = 1970;
  int month = 1, day = 1, hour = 0, minute = 0, second = 0, weekday = -1;
  int64_t micros = 0, offset_seconds = 0;
  int pm = -1;
  size_t at = 0;
  auto fail = [&](std::string_view what) -> Result<Value> {
    return Err(InvalidArgument("does not match `{}`: {}", format.text, what));
  };
  auto digits = [&](size_t min, size_t max, int64_t* out) -> bool {
    size_t n = 0;
    int64_t v = 0;
    while (n < max && at + n < text.size() && text[at + n] >= '0' && text[at + n] <= '9') {
      v = v * 10 + (text[at + n] - '0');
      ++n;
    }
    if (n < min) return false;
    at += n;
    *out = v;
    return true;
  };
  auto word = [&]() {
    size_t n = 0;
    while (at + n < text.size() && std::isalpha(static_cast<unsigned char>(text[at + n]))) ++n;
    std::string w = AsciiLower(text.substr(at, n));
    at += n;
    return w;
  };
  auto got = [&]() -> std::string {
    if (at >= text.size()) return "the end of the value";
    return fmt::format("`{}` at character {}", Shorten(text.substr(at), 12), at + 1);
  };
  for (const FormatPiece& piece : format.pieces) {
    int64_t v = 0;
    switch (piece.field) {
      case FormatField::kLiteral:
        if (at >= text.size() || text[at] != piece.literal) {
          return fail(fmt::format("expected `{}`, got {}", piece.literal, got()));
        }
        ++at;
        break;
      case FormatField::kYear:
        if (!digits(1, 4, &v)) return fail(fmt::format("expected a year (%Y), got {}", got()));
        year = v;
        break;
      case FormatField::kYear2:
        if (!digits(2, 2, &v)) {
          return fail(fmt::format("expected a 2-digit year (%y), got {}", got()));
        }
        year = v < 69 ? 2000 + v : 1900 + v;
        break;
      case FormatField::kMonth:
        if (!digits(1, 2, &v)) return fail(fmt::format("expected a month (%m), got {}", got()));
        month = static_cast<int>(v);
        break;
      case FormatField::kMonthName: {
        const size_t start = at;
        const std::string w = word();
        month = 0;
        for (size_t m = 0; m < kMonthNames.size(); ++m) {
          if (w == kMonthNames[m] || (w.size() == 3 && kMonthNames[m].starts_with(w)) ||
              (m == 8 && w == "sept")) {
            month = static_cast<int>(m) + 1;
          }
        }
        if (month == 0) {
          at = start;
          return fail(fmt::format("expected an English month name (%b), got {}", got()));
        }
        break;
      }
      case FormatField::kDay:
        if (!digits(1, 2, &v)) return fail(fmt::format("expected a day (%d), got {}", got()));
        day = static_cast<int>(v);
        break;
      case FormatField::kHour:
      case FormatField::kHour12:
        if (!digits(1, 2, &v)) return fail(fmt::format("expected an hour, got {}", got()));
        hour = static_cast<int>(v);
        if (piece.field == FormatField::kHour12 && (hour < 1 || hour > 12)) {
          return fail(fmt::format("hour {} is not 1 to 12 (%I)", hour));
        }
        break;
      case FormatField::kMinute:
        if (!digits(1, 2, &v)) return fail(fmt::format("expected minutes (%M), got {}", got()));
        minute = static_cast<int>(v);
        break;
      case FormatField::kSecond:
        if (!digits(1, 2, &v)) return fail(fmt::format("expected seconds (%S), got {}", got()));
        second = static_cast<int>(v);
        break;
      case FormatField::kFraction: {
        const size_t start = at;
        if (!digits(1, 9, &v)) {
          return fail(fmt::format("expected a fraction of a second (%f), got {}", got()));
        }
        size_t n = at - start;
        while (n > 6) {
          if (v % 10 != 0) {
            return fail("more than 6 fractional digits that are not zeros (microseconds)");
          }
          v /= 10;
          --n;
        }
        while (n < 6) {
          v *= 10;
          ++n;
        }
        micros = v;
        break;
      }
      case FormatField::kAmPm: {
        const size_t start = at;
        const std::string w = word();
        if (w == "am" || w == "pm") {
          pm = w == "pm";
        } else {
          at = start;
          return fail(fmt::format("expected AM or PM (%p), got {}", got()));
        }
        break;
      }
      case FormatField::kOffset: {
        if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
          ++at;
          offset_seconds = 0;
          break;
        }
        if (at >= text.size() || (text[at] != '+' && text[at] != '-')) {
          return fail(fmt::format("expected an offset (Z, +HH, +HHMM or +HH:MM), got {}", got()));
        }
        const bool negative = text[at++] == '-';
        int64_t hh = 0, mm = 0;
        if (!digits(2, 2, &hh)) return fail(fmt::format("expected offset hours, got {}", got()));
        if (at < text.size() && text[at] == ':') ++at;
        if (at < text.size() && text[at] >= '0' && text[at] <= '9' && !digits(2, 2, &mm)) {
          return fail(fmt::format("expected offset minutes, got {}", got()));
        }
        if (hh > 15 || mm > 59) return fail("offset beyond +-15:59");
        offset_seconds = (negative ? -1 : 1) * (hh * 3600 + mm * 60);
        break;
      }
      case FormatField::kWeekday: {
        const size_t start = at;
        const std::string w = word();
        for (size_t d = 0; d < kWeekdayNames.size(); ++d) {
          if (w == kWeekdayNames[d] || (w.size() == 3 && kWeekdayNames[d].starts_with(w))) {
            weekday = static_cast<int>(d);
          }
        }
        if (weekday < 0) {
          at = start;
          return fail(fmt::format("expected an English weekday name (%a), got {}", got()));
        }
        break;
      }
    }
  }
  if (at != text.size()) {
    return fail(fmt::format("unexpected {} after the format's end", got()));
  }
  if (pm >= 0) hour = hour % 12 + (pm == 1 ? 12 : 0);
  const bool time_only = target == TypeKind::kTime;
  const bool end_of_day = time_only && hour == 24 && minute == 0 && second == 0 && micros == 0;
  if ((hour > 23 && !end_of_day) || minute > 59 || second > 59) {
    return fail(fmt::format("{:02}:{:02}:{:02} is not a time of day", hour, minute, second));
  }
  const int64_t time_micros =
      ((static_cast<int64_t>(hour) * 60 + minute) * 60 + second) * kMicrosPerSecond + micros;
  if (time_only) return Value::Time(time_micros);
  if (month < 1 || month > 12) return fail(fmt::format("month {} is not 1 to 12", month));
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(std::max(day, 0)));
  const CivilDate check = CivilFromDays(days);
  if (day < 1 || check.month != static_cast<unsigned>(month) ||
      check.day != static_cast<unsigned>(day)) {
    return fail(fmt::format("day {} is out of range for {:04}-{:02}", day, year, month));
  }
  if (weekday >= 0) {
    // 1970-01-01 was a Thursday (index 3 from Monday).
    const int64_t actual = ((days % 7) + 7 + 3) % 7;
    if (actual != weekday) {
      return fail(fmt::format("{:04}-{:02}-{:02} is a {}, not a {}", year, month, day,
                              kWeekdayNames[static_cast<size_t>(actual)],
                              kWeekdayNames[static_cast<size_t>(weekday)]));
    }
  }
  if (target == TypeKind::kDate) return Value::Date(static_cast<int32_t>(days));
  const int64_t wall = days * kMicrosPerDay + time_micros;
  if (target == TypeKind::kTimestamp) return Value::Timestamp(wall);
  return Value::TimestampTz(wall - offset_seconds * kMicrosPerSecond);
}

// ---------------------------------------------------------------------------------------------
// Time zones (absl::TimeZone: the IANA database in /usr/share/zoneinfo, read through cctz)

enum class ZonePolicy : uint8_t { kReject, kEarlier, kLater, kShiftForward };

const absl::CivilSecond kCivilEpoch(1970, 1, 1, 0, 0, 0);

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string FormatOffset(int seconds) {
  const char sign = seconds < 0 ? '-' : '+';
  seconds = std::abs(seconds);
  return fmt::format("{}{:02}:{:02}", sign, seconds / 3600, seconds / 60 % 60);
}

// ---------------------------------------------------------------------------------------------
// Compiled steps

enum class StepOp : uint8_t {
  kCast,
  kSha256,
  kHmac,
  kMask,
  kMap,
  kParse,
  kZoneToUtc,
  kZoneToWall,
  kConstant,
  kDefault,
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct ValueMap {
  std::unordered_map<std::string, size_t, StringHash, std::equal_to<>> index;
  std::vector<Value> values;
  std::optional<Value> otherwise;  // `else:`
  std::vector<std::string> keys;   // for messages, in spec order
};

struct Step {
  StepOp op;
  std::string label;  // "cast to int64", "hmac pii", "date_format", ...: names it in rejects
  TypeKind to = TypeKind::kText;
  std::shared_ptr<const HmacKey> key;
  size_t keep_first = 0, keep_last = 0;
  std::string mask_char;
  std::shared_ptr<const ValueMap> map;
  std::vector<TimeFormat> formats;
  absl::TimeZone zone;
  std::string zone_name;
  ZonePolicy ambiguous = ZonePolicy::kReject, nonexistent = ZonePolicy::kReject;
  Value value;  // constant, default

  // Computes the step's output from `in` into `*out`. `in` may be `*out`; `*out` is only
  // written when the step succeeds, so `in` still holds the input when it fails.
  Status Run(const Value& in, Value* out) const;

 private:
  Status Hash(const Value& in, Value* out) const;
  Status Mask(const Value& in, Value* out) const;
  Status Map(const Value& in, Value* out) const;
  Status Parse(const Value& in, Value* out) const;
  Status ToUtc(const Value& in, Value* out) const;
  Status ToWall(const Value& in, Value* out) const;
};

Status Step::Run(const Value& in, Value* out) const {
  if (op == StepOp::kConstant) {
    *out = value;
    return OkStatus();
  }
  if (in.is_null()) {
    if (op == StepOp::kDefault) {
      *out = value;
    } else if (&in != out) {
      *out = Value();
    }
    return OkStatus();
  }
  switch (op) {
    case StepOp::kDefault:
      if (&in != out) *out = in;
      return OkStatus();
    case StepOp::kCast: {
      Result<Value> cast = CastValue(in, to);
      if (!cast.has_value()) return cast.error();
      *out = std::move(*cast);
      return OkStatus();
    }
    case StepOp::kSha256:
    case StepOp::kHmac: return Hash(in, out);
    case StepOp::kMask: return Mask(in, out);
    case StepOp::kMap: return Map(in, out);
    case StepOp::kParse: return Parse(in, out);
    case StepOp::kZoneToUtc: return ToUtc(in, out);
    case StepOp::kZoneToWall: return ToWall(in, out);
    case StepOp::kConstant: break;
  }
  return OkStatus();
}

Status Step::Hash(const Value& in, Value* out) const {
  std::array<char, 24> buffer;
  std::string scratch;
  const std::string_view text = TextForm(in, &buffer, &scratch);
  Sha256Digest digest;
  if (op == StepOp::kHmac) {
    FERRY_RETURN_IF_ERROR(HmacSha256(*key, text, &digest));
  } else {
    FERRY_RETURN_IF_ERROR(DigestParts({text}, &digest));
  }
  *out = Value::Text(HexEncode(digest));
  return OkStatus();
}

Status Step::Mask(const Value& in, Value* out) const {
  std::array<char, 24> buffer;
  std::string scratch;
  const std::string_view text = TextForm(in, &buffer, &scratch);
  const size_t n = CodePoints(text);
  // A value no longer than what is kept is masked whole: "last4" must not show all of "1234".
  const bool whole = n <= keep_first + keep_last;
  const size_t first = whole ? 0 : keep_first, last = whole ? 0 : keep_last;
  std::string masked;
  masked.reserve(text.size() + (n - first - last) * mask_char.size());
  size_t index = 0;
  for (size_t i = 0; i < text.size();) {
    size_t length = 1;
    while (i + length < text.size() &&
           (static_cast<unsigned char>(text[i + length]) & 0xC0) == 0x80) {
      ++length;
    }
    if (index < first || index >= n - last) {
      masked.append(text.substr(i, length));
    } else {
      masked.append(mask_char);
    }
    i += length;
    ++index;
  }
  *out = Value::Text(std::move(masked));
  return OkStatus();
}

Status Step::Map(const Value& in, Value* out) const {
  std::array<char, 24> buffer;
  std::string scratch;
  const std::string_view text = TextForm(in, &buffer, &scratch);
  auto found = map->index.find(text);
  if (found != map->index.end()) {
    *out = map->values[found->second];
    return OkStatus();
  }
  if (map->otherwise.has_value()) {
    *out = *map->otherwise;
    return OkStatus();
  }
  std::vector<std::string> shown;
  for (size_t i = 0; i < map->keys.size() && i < 10; ++i) shown.push_back(map->keys[i]);
  return InvalidArgument("not in the map (keys: {}{}); add it, or give `else:` for the rest",
                         BacktickList(shown), map->keys.size() > 10 ? ", ..." : "");
}

Status Step::Parse(const Value& in, Value* out) const {
  std::optional<Status> first_error;
  for (const TimeFormat& format : formats) {
    Result<Value> parsed = ParseWithFormat(format, to, in.str());
    if (parsed.has_value()) {
      *out = std::move(*parsed);
      return OkStatus();
    }
    if (!first_error) first_error = parsed.error();
  }
  if (formats.size() == 1) return *first_error;
  std::vector<std::string_view> texts;
  for (const TimeFormat& format : formats) texts.push_back(format.text);
  return InvalidArgument("matches none of the formats {} (the first: {})", BacktickList(texts),
                         first_error->message());
}

Status Step::ToUtc(const Value& in, Value* out) const {
  const int64_t wall = in.timestamp_micros();
  if (wall == kTimestampInfinity || wall == kTimestampMinusInfinity) {
    *out = Value::TimestampTz(wall);
    return OkStatus();
  }
  const int64_t seconds = FloorDiv(wall, kMicrosPerSecond);
  const int64_t sub = wall - seconds * kMicrosPerSecond;
  const absl::TimeZone::TimeInfo info = zone.At(kCivilEpoch + seconds);
  absl::Time instant = info.pre;
  if (info.kind == absl::TimeZone::TimeInfo::SKIPPED) {
    if (nonexistent == ZonePolicy::kReject) {
      return InvalidArgument(
          "{} does not exist in {} (the clocks skipped it); fix the value, or set "
          "`nonexistent: shift_forward` to read it as the same time after the change",
          FormatTimestamp(wall), zone_name);
    }
    instant = info.pre;  // the pre-transition offset: lands after the skipped interval
  } else if (info.kind == absl::TimeZone::TimeInfo::REPEATED) {
    if (ambiguous == ZonePolicy::kReject) {
      return InvalidArgument(
          "{} happened twice in {} (at {} and at {}); set `ambiguous: earlier` or `ambiguous: "
          "later` to choose",
          FormatTimestamp(wall), zone_name, FormatOffset(zone.At(info.pre).offset),
          FormatOffset(zone.At(info.post).offset));
    }
    instant = ambiguous == ZonePolicy::kEarlier ? info.pre : info.post;
  }
  const int64_t utc_seconds = absl::ToUnixSeconds(instant);
  int64_t utc = 0;
  if (__builtin_mul_overflow(utc_seconds, kMicrosPerSecond, &utc) ||
      __builtin_add_overflow(utc, sub, &utc) || utc == kTimestampInfinity ||
      utc == kTimestampMinusInfinity) {
    return InvalidArgument("{} in {} is beyond the range of a timestamptz", FormatTimestamp(wall),
                           zone_name);
  }
  *out = Value::TimestampTz(utc);
  return OkStatus();
}

Status Step::ToWall(const Value& in, Value* out) const {
  const int64_t utc = in.timestamp_micros();
  if (utc == kTimestampInfinity || utc == kTimestampMinusInfinity) {
    *out = Value::Timestamp(utc);
    return OkStatus();
  }
  const int64_t seconds = FloorDiv(utc, kMicrosPerSecond);
  const int64_t sub = utc - seconds * kMicrosPerSecond;
  const absl::TimeZone::CivilInfo info = zone.At(absl::FromUnixSeconds(seconds));
  const int64_t wall_seconds = info.cs - kCivilEpoch;
  int64_t wall = 0;
  if (__builtin_mul_overflow(wall_seconds, kMicrosPerSecond, &wall) ||
      __builtin_add_overflow(wall, sub, &wall) || wall == kTimestampInfinity ||
      wall == kTimestampMinusInfinity) {
    return InvalidArgument("{} in {} is beyond the range of a timestamp", FormatTimestampTz(utc),
                           zone_name);
  }
  *out = Value::Timestamp(wall);
  return OkStatus();
}

// Whether a step keeps the source value from arriving in clear.
bool Hides(StepOp op) {
  return op == StepOp::kSha256 || op == StepOp::kHmac || op == StepOp::kMask ||
         op == StepOp::kConstant;
}

// ---------------------------------------------------------------------------------------------
// Filter expressions: lexer, parser (to an unbound tree), binder (to a table), evaluator.

enum class TokenType : uint8_t {
  kEnd,
  kWord,        // identifier or keyword
  kQuotedWord,  // "identifier"
  kString,      // 'text'
  kNumber,
  kLeftParen,
  kRightParen,
  kComma,
  kMinus,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
};

struct Token {
  TokenType type;
  std::string text;  // words, strings (unescaped), numbers; the operator otherwise
  size_t position;   // 0-based byte offset in the expression
};

// Errors from the filter's parser and binder carry the 1-based position in the expression.
Status FilterError(size_t position, std::string_view what) {
  return InvalidArgument("position {}: {}", position + 1, what);
}

Result<std::vector<Token>> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    const size_t start = i;
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
        static_cast<unsigned char>(c) >= 0x80) {
      while (i < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_' ||
              text[i] == '$' || static_cast<unsigned char>(text[i]) >= 0x80)) {
        ++i;
      }
      tokens.push_back({TokenType::kWord, std::string(text.substr(start, i - start)), start});
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < text.size() &&
         std::isdigit(static_cast<unsigned char>(text[i + 1])))) {
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
      if (i < text.size() && text[i] == '.') {
        ++i;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
      }
      if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        size_t j = i + 1;
        if (j < text.size() && (text[j] == '+' || text[j] == '-')) ++j;
        if (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) {
          i = j;
          while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
        }
      }
      if (i < text.size() &&
          (std::isalpha(static_cast<unsigned char>(text[i])) || text[i] == '_')) {
        return Err(FilterError(i, fmt::format("expected an operator or a space after the number "
                                              "`{}`, got `{}`",
                                              text.substr(start, i - start), text[i])));
      }
      tokens.push_back({TokenType::kNumber, std::string(text.substr(start, i - start)), start});
      continue;
    }
    if (c == '\'' || c == '"') {
      std::string value;
      ++i;
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == c) {
          if (i + 1 < text.size() && text[i + 1] == c) {
            value.push_back(c);
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        value.push_back(text[i++]);
      }
      if (!closed) {
        return Err(FilterError(
            start, fmt::format("expected a closing {0} for the {1} that starts here, got the end "
                               "of the expression (write {0}{0} for a {0} inside it)",
                               c, c == '\'' ? "string" : "quoted column name")));
      }
      if (c == '"' && value.empty())
        return Err(FilterError(start, "expected a column name in \"\""));
      tokens.push_back(
          {c == '\'' ? TokenType::kString : TokenType::kQuotedWord, std::move(value), start});
      continue;
    }
    auto two = [&](std::string_view op) { return text.substr(i, 2) == op; };
    TokenType type;
    size_t length = 1;
    if (two("<>") || two("!=")) {
      type = TokenType::kNe;
      length = 2;
    } else if (two("<=")) {
      type = TokenType::kLe;
      length = 2;
    } else if (two(">=")) {
      type = TokenType::kGe;
      length = 2;
    } else if (c == '=') {
      type = TokenType::kEq;
      length = two("==") ? 2 : 1;
    } else if (c == '<') {
      type = TokenType::kLt;
    } else if (c == '>') {
      type = TokenType::kGt;
    } else if (c == '(') {
      type = TokenType::kLeftParen;
    } else if (c == ')') {
      type = TokenType::kRightParen;
    } else if (c == ',') {
      type = TokenType::kComma;
    } else if (c == '-') {
      type = TokenType::kMinus;
    } else {
      return Err(FilterError(
          i, fmt::format("unexpected character `{}`; filters use column names, 'strings', "
                         "numbers, = <> != < <= > >=, IS [NOT] NULL, [NOT] IN (...), AND, OR, "
                         "NOT and parentheses",
                         c)));
    }
    tokens.push_back({type, std::string(text.substr(i, length)), i});
    i += length;
  }
  tokens.push_back({TokenType::kEnd, "", text.size()});
  return tokens;
}

enum class FilterOp : uint8_t {
  kAnd,
  kOr,
  kNot,
  kCompare,
  kIsNull,
  kIsNotNull,
  kIn,
  kNotIn,
  kTruth
};
enum class CompareOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };

struct FilterOperand {
  enum class Type : uint8_t { kColumn, kNumber, kString, kBool, kNull, kTyped };
  Type type = Type::kNull;
  std::string text;  // column name, number, string, typed literal's text
  TypeKind typed_kind = TypeKind::kDate;
  bool bool_value = false;
  size_t position = 0;
};

struct FilterNode {
  FilterOp op;
  CompareOp compare = CompareOp::kEq;
  int left = -1, right = -1;  // children of AND, OR, NOT
  FilterOperand a, b;
  std::vector<FilterOperand> list;  // IN
  size_t position = 0;
};

struct FilterTree {
  std::string text;
  std::vector<FilterNode> nodes;
  int root = -1;
};

bool IsKeyword(const Token& token, std::string_view keyword) {
  return token.type == TokenType::kWord && token.text.size() == keyword.size() &&
         AsciiLower(token.text) == AsciiLower(keyword);
}

bool IsReserved(const Token& token) {
  for (std::string_view keyword : {"AND", "OR", "NOT", "IS", "NULL", "IN", "TRUE", "FALSE"}) {
    if (IsKeyword(token, keyword)) return true;
  }
  return false;
}

std::string Describe(const Token& token) {
  switch (token.type) {
    case TokenType::kEnd: return "the end of the expression";
    case TokenType::kString: return fmt::format("the string '{}'", Shorten(token.text, 30));
    case TokenType::kQuotedWord: return fmt::format("\"{}\"", token.text);
    default: return fmt::format("`{}`", token.text);
  }
}

class FilterParser {
 public:
  FilterParser(std::string_view text, std::vector<Token> tokens) : tokens_(std::move(tokens)) {
    tree_.text = std::string(text);
  }

  Result<FilterTree> Parse() {
    if (Peek().type == TokenType::kEnd) {
      return Err(FilterError(0, "expected a condition, got an empty expression"));
    }
    FERRY_ASSIGN_OR_RETURN(tree_.root, ParseOr(0));
    if (Peek().type != TokenType::kEnd) {
      return Err(FilterError(Peek().position, fmt::format("expected AND, OR or the end of the "
                                                          "expression, got {}",
                                                          Describe(Peek()))));
    }
    return std::move(tree_);
  }

 private:
  static constexpr int kMaxDepth = 200;

  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(next_ + ahead, tokens_.size() - 1)];
  }
  const Token& Take() { return tokens_[std::min(next_++, tokens_.size() - 1)]; }

  int Add(FilterNode node) {
    tree_.nodes.push_back(std::move(node));
    return static_cast<int>(tree_.nodes.size()) - 1;
  }

  Result<int> ParseOr(int depth) {
    if (depth > kMaxDepth) {
      return Err(FilterError(Peek().position, "expression nested too deeply"));
    }
    FERRY_ASSIGN_OR_RETURN(int left, ParseAnd(depth));
    while (IsKeyword(Peek(), "OR")) {
      const size_t position = Take().position;
      FERRY_ASSIGN_OR_RETURN(int right, ParseAnd(depth));
      left = Add({.op = FilterOp::kOr, .left = left, .right = right, .position = position});
    }
    return left;
  }

  Result<int> ParseAnd(int depth) {
    FERRY_ASSIGN_OR_RETURN(int left, ParseNot(depth));
    while (IsKeyword(Peek(), "AND")) {
      const size_t position = Take().position;
      FERRY_ASSIGN_OR_RETURN(int right, ParseNot(depth));
      left = Add({.op = FilterOp::kAnd, .left = left, .right = right, .position = position});
    }
    return left;
  }

  Result<int> ParseNot(int depth) {
    if (IsKeyword(Peek(), "NOT")) {
      const size_t position = Take().position;
      if (depth > kMaxDepth) return Err(FilterError(position, "expression nested too deeply"));
      FERRY_ASSIGN_OR_RETURN(int operand, ParseNot(depth + 1));
      return Add({.op = FilterOp::kNot, .left = operand, .position = position});
    }
    return ParsePredicate(depth);
  }

  Result<int> ParsePredicate(int depth) {
    if (Peek().type == TokenType::kLeftParen) {
      const size_t open = Take().position;
      FERRY_ASSIGN_OR_RETURN(int inner, ParseOr(depth + 1));
      if (Peek().type != TokenType::kRightParen) {
        return Err(FilterError(Peek().position,
                               fmt::format("expected `)` to close the `(` at position {}, got {}",
                                           open + 1, Describe(Peek()))));
      }
      Take();
      return inner;
    }
    FERRY_ASSIGN_OR_RETURN(FilterOperand a, ParseOperand("a column or a value"));
    const Token& next = Peek();
    std::optional<CompareOp> compare;
    switch (next.type) {
      case TokenType::kEq: compare = CompareOp::kEq; break;
      case TokenType::kNe: compare = CompareOp::kNe; break;
      case TokenType::kLt: compare = CompareOp::kLt; break;
      case TokenType::kLe: compare = CompareOp::kLe; break;
      case TokenType::kGt: compare = CompareOp::kGt; break;
      case TokenType::kGe: compare = CompareOp::kGe; break;
      default: break;
    }
    if (compare) {
      const Token op = Take();
      FERRY_ASSIGN_OR_RETURN(FilterOperand b,
                             ParseOperand(fmt::format("a column or a value after `{}`", op.text)));
      for (const FilterOperand* side : {&a, &b}) {
        if (side->type == FilterOperand::Type::kNull) {
          return Err(FilterError(side->position,
                                 "a comparison with NULL is never true in SQL; write `column IS "
                                 "NULL` or `column IS NOT NULL`"));
        }
      }
      return Add({.op = FilterOp::kCompare,
                  .compare = *compare,
                  .a = std::move(a),
                  .b = std::move(b),
                  .position = op.position});
    }
    if (IsKeyword(next, "IS")) {
      const size_t position = Take().position;
      const bool negated = IsKeyword(Peek(), "NOT");
      if (negated) Take();
      if (!IsKeyword(Peek(), "NULL")) {
        return Err(
            FilterError(Peek().position, fmt::format("expected NULL after IS{}, got {}",
                                                     negated ? " NOT" : "", Describe(Peek()))));
      }
      Take();
      return Add({.op = negated ? FilterOp::kIsNotNull : FilterOp::kIsNull,
                  .a = std::move(a),
                  .position = position});
    }
    const bool not_in = IsKeyword(next, "NOT") && IsKeyword(Peek(1), "IN");
    if (IsKeyword(next, "IN") || not_in) {
      const size_t position = next.position;
      if (not_in) Take();
      Take();
      if (Peek().type != TokenType::kLeftParen) {
        return Err(FilterError(Peek().position,
                               fmt::format("expected `(` after IN, got {}", Describe(Peek()))));
      }
      Take();
      FilterNode node{
          .op = not_in ? FilterOp::kNotIn : FilterOp::kIn, .a = std::move(a), .position = position};
      while (true) {
        FERRY_ASSIGN_OR_RETURN(FilterOperand item, ParseOperand("a value in the IN list"));
        if (item.type == FilterOperand::Type::kNull) {
          return Err(FilterError(item.position,
                                 "NULL in an IN list never matches (and makes NOT IN never "
                                 "true); add `OR column IS NULL` instead"));
        }
        node.list.push_back(std::move(item));
        if (Peek().type == TokenType::kComma) {
          Take();
          continue;
        }
        if (Peek().type == TokenType::kRightParen) {
          Take();
          break;
        }
        return Err(FilterError(Peek().position, fmt::format("expected `,` or `)` in the IN list, "
                                                            "got {}",
                                                            Describe(Peek()))));
      }
      return Add(std::move(node));
    }
    if (a.type != FilterOperand::Type::kColumn && a.type != FilterOperand::Type::kBool) {
      return Err(FilterError(next.position,
                             fmt::format("expected a comparison (= <> != < <= > >=, IS [NOT] "
                                         "NULL, [NOT] IN) after the value, got {}",
                                         Describe(next))));
    }
    const size_t position = a.position;
    return Add({.op = FilterOp::kTruth, .a = std::move(a), .position = position});
  }

  Result<FilterOperand> ParseOperand(std::string_view expected) {
    const Token& token = Peek();
    FilterOperand operand{.position = token.position};
    switch (token.type) {
      case TokenType::kQuotedWord:
        operand.type = FilterOperand::Type::kColumn;
        operand.text = Take().text;
        return operand;
      case TokenType::kString:
        operand.type = FilterOperand::Type::kString;
        operand.text = Take().text;
        return operand;
      case TokenType::kNumber:
        operand.type = FilterOperand::Type::kNumber;
        operand.text = Take().text;
        return operand;
      case TokenType::kMinus:
        if (Peek(1).type == TokenType::kNumber) {
          Take();
          operand.type = FilterOperand::Type::kNumber;
          operand.text = "-" + Take().text;
          return operand;
        }
        break;
      case TokenType::kWord: {
        if (IsKeyword(token, "TRUE") || IsKeyword(token, "FALSE")) {
          operand.type = FilterOperand::Type::kBool;
          operand.bool_value = IsKeyword(Take(), "TRUE");
          return operand;
        }
        if (IsKeyword(token, "NULL")) {
          Take();
          operand.type = FilterOperand::Type::kNull;
          return operand;
        }
        if (IsReserved(token)) break;
        if (Peek(1).type == TokenType::kString) {
          static constexpr std::pair<std::string_view, TypeKind> kTyped[] = {
              {"DATE", TypeKind::kDate},
              {"TIME", TypeKind::kTime},
              {"TIMESTAMP", TypeKind::kTimestamp},
              {"TIMESTAMPTZ", TypeKind::kTimestampTz}};
          for (const auto& [keyword, kind] : kTyped) {
            if (IsKeyword(token, keyword)) {
              Take();
              operand.type = FilterOperand::Type::kTyped;
              operand.typed_kind = kind;
              operand.text = Take().text;
              return operand;
            }
          }
        }
        operand.type = FilterOperand::Type::kColumn;
        operand.text = Take().text;
        return operand;
      }
      default: break;
    }
    return Err(
        FilterError(token.position, fmt::format("expected {}, got {}", expected, Describe(token))));
  }

  std::vector<Token> tokens_;
  size_t next_ = 0;
  FilterTree tree_;
};

Result<FilterTree> ParseFilter(std::string_view text) {
  FERRY_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text));
  return FilterParser(text, std::move(tokens)).Parse();
}

// How two non-NULL values of a comparison compare, decided when the filter is bound.
enum class CompareClass : uint8_t {
  kNumeric,     // int64, decimal, float64 in any mix
  kInteger,     // the int64 payload: bool, date, time, timestamps of one kind
  kBytes,       // text, bytes, json: byte for byte
  kUuid,        // the 16 bytes
  kDateVsTime,  // a date (left) against a timestamp (right): the date's midnight
  kTimeVsDate,  // a timestamp (left) against a date (right)
};

struct BoundOperand {
  int column = -1;  // source column index, or -1 for `literal`
  Value literal;
};

struct BoundNode {
  FilterOp op;
  CompareOp compare = CompareOp::kEq;
  CompareClass klass = CompareClass::kBytes;
  int left = -1, right = -1;
  BoundOperand a, b;
  std::vector<BoundOperand> list;
  std::vector<CompareClass> list_classes;
};

enum class Truth : uint8_t { kFalse, kTrue, kUnknown };

int64_t TemporalMicros(const Value& v) {
  if (v.kind() != TypeKind::kDate) return v.timestamp_micros();
  const int32_t days = v.date_days();
  if (days == kDateInfinity) return kTimestampInfinity;
  if (days == kDateMinusInfinity) return kTimestampMinusInfinity;
  return static_cast<int64_t>(days) * kMicrosPerDay;
}

int CompareBound(const Value& a, const Value& b, CompareClass klass) {
  switch (klass) {
    case CompareClass::kNumeric: return CompareNumeric(a, b);
    case CompareClass::kInteger: {
      // The payload of every int64-backed kind is read through int64_value's storage.
      const int64_t x = a.kind() == TypeKind::kBool ? a.bool_value() : a.timestamp_micros();
      const int64_t y = b.kind() == TypeKind::kBool ? b.bool_value() : b.timestamp_micros();
      return (x > y) - (x < y);
    }
    case CompareClass::kBytes: return Sign(a.str().compare(b.str()));
    case CompareClass::kUuid: return Sign(std::memcmp(a.uuid().data(), b.uuid().data(), 16));
    case CompareClass::kDateVsTime:
    case CompareClass::kTimeVsDate: {
      const int64_t x = TemporalMicros(a), y = TemporalMicros(b);
      return (x > y) - (x < y);
    }
  }
  return 0;
}

bool Satisfies(int c, CompareOp op) {
  switch (op) {
    case CompareOp::kEq: return c == 0;
    case CompareOp::kNe: return c != 0;
    case CompareOp::kLt: return c < 0;
    case CompareOp::kLe: return c <= 0;
    case CompareOp::kGt: return c > 0;
    case CompareOp::kGe: return c >= 0;
  }
  return false;
}

struct BoundFilter {
  std::vector<BoundNode> nodes;
  int root = -1;

  const Value& Operand(const BoundOperand& operand, const Row& row) const {
    return operand.column >= 0 ? row[static_cast<size_t>(operand.column)] : operand.literal;
  }

  // SQL's three-valued logic (ISO/IEC 9075-2, 8.2 and 6.39): a comparison with NULL is unknown,
  // NOT unknown is unknown, false AND unknown is false, true OR unknown is true.
  Truth Eval(int index, const Row& row) const {
    const BoundNode& node = nodes[static_cast<size_t>(index)];
    switch (node.op) {
      case FilterOp::kAnd: {
        const Truth x = Eval(node.left, row);
        if (x == Truth::kFalse) return Truth::kFalse;
        const Truth y = Eval(node.right, row);
        if (y == Truth::kFalse) return Truth::kFalse;
        return x == Truth::kTrue && y == Truth::kTrue ? Truth::kTrue : Truth::kUnknown;
      }
      case FilterOp::kOr: {
        const Truth x = Eval(node.left, row);
        if (x == Truth::kTrue) return Truth::kTrue;
        const Truth y = Eval(node.right, row);
        if (y == Truth::kTrue) return Truth::kTrue;
        return x == Truth::kFalse && y == Truth::kFalse ? Truth::kFalse : Truth::kUnknown;
      }
      case FilterOp::kNot: {
        const Truth x = Eval(node.left, row);
        return x == Truth::kUnknown ? x : (x == Truth::kTrue ? Truth::kFalse : Truth::kTrue);
      }
      case FilterOp::kCompare: {
        const Value& a = Operand(node.a, row);
        const Value& b = Operand(node.b, row);
        if (a.is_null() || b.is_null()) return Truth::kUnknown;
        return Satisfies(CompareBound(a, b, node.klass), node.compare) ? Truth::kTrue
                                                                       : Truth::kFalse;
      }
      case FilterOp::kIsNull: return Operand(node.a, row).is_null() ? Truth::kTrue : Truth::kFalse;
      case FilterOp::kIsNotNull:
        return Operand(node.a, row).is_null() ? Truth::kFalse : Truth::kTrue;
      case FilterOp::kIn:
      case FilterOp::kNotIn: {
        const Value& a = Operand(node.a, row);
        Truth found = Truth::kFalse;
        if (a.is_null()) {
          found = Truth::kUnknown;
        } else {
          for (size_t i = 0; i < node.list.size(); ++i) {
            const Value& item = Operand(node.list[i], row);
            if (item.is_null()) {
              found = Truth::kUnknown;
            } else if (CompareBound(a, item, node.list_classes[i]) == 0) {
              found = Truth::kTrue;
              break;
            }
          }
        }
        if (node.op == FilterOp::kIn || found == Truth::kUnknown) return found;
        return found == Truth::kTrue ? Truth::kFalse : Truth::kTrue;
      }
      case FilterOp::kTruth: {
        const Value& a = Operand(node.a, row);
        if (a.is_null()) return Truth::kUnknown;
        return a.bool_value() ? Truth::kTrue : Truth::kFalse;
      }
    }
    return Truth::kUnknown;
  }
};

// Binds a parsed filter to `table`: resolves the columns, gives every literal a kind (a string
// takes the kind of the column it is compared with, as an SQL literal of unknown type does),
// and chooses how each comparison compares.
class FilterBinder {
 public:
  explicit FilterBinder(const TableInfo& table) : table_(table) {}

  Result<BoundFilter> Bind(const FilterTree& tree) {
    BoundFilter bound;
    for (const FilterNode& node : tree.nodes) {
      BoundNode b{.op = node.op, .compare = node.compare, .left = node.left, .right = node.right};
      switch (node.op) {
        case FilterOp::kAnd:
        case FilterOp::kOr:
        case FilterOp::kNot: break;
        case FilterOp::kIsNull:
        case FilterOp::kIsNotNull: {
          FERRY_ASSIGN_OR_RETURN(Typed a, Resolve(node.a));
          b.a = std::move(a.operand);
          if (node.a.type == FilterOperand::Type::kString) {
            b.a.literal = Value::Text(node.a.text);
          }
          break;
        }
        case FilterOp::kTruth: {
          FERRY_ASSIGN_OR_RETURN(Typed a, Resolve(node.a));
          if (!a.kind || *a.kind != TypeKind::kBool) {
            return Err(
                FilterError(node.a.position,
                            fmt::format("`{}` is {}, not a condition; compare it with "
                                        "something (= <> < > IS NULL ...)",
                                        node.a.text, a.kind ? TypeKindName(*a.kind) : "a value")));
          }
          b.a = std::move(a.operand);
          break;
        }
        case FilterOp::kCompare: {
          FERRY_ASSIGN_OR_RETURN(auto pair, BindPair(node.a, node.b, node.position));
          b.a = std::move(std::get<0>(pair));
          b.b = std::move(std::get<1>(pair));
          b.klass = std::get<2>(pair);
          if (b.klass == CompareClass::kBytes && node.compare != CompareOp::kEq &&
              node.compare != CompareOp::kNe && IsJson(node.a, node.b)) {
            return Err(FilterError(node.position, "JSON values compare only with = and <>"));
          }
          break;
        }
        case FilterOp::kIn:
        case FilterOp::kNotIn: {
          for (const FilterOperand& item : node.list) {
            FERRY_ASSIGN_OR_RETURN(auto pair, BindPair(node.a, item, item.position));
            b.a = std::move(std::get<0>(pair));
            b.list.push_back(std::move(std::get<1>(pair)));
            b.list_classes.push_back(std::get<2>(pair));
          }
          break;
        }
      }
      bound.nodes.push_back(std::move(b));
    }
    bound.root = tree.root;
    return bound;
  }

 private:
  struct Typed {
    BoundOperand operand;
    std::optional<TypeKind> kind;  // nullopt: a string literal not yet given a kind
  };

  bool IsJson(const FilterOperand& a, const FilterOperand& b) const {
    for (const FilterOperand* side : {&a, &b}) {
      if (side->type != FilterOperand::Type::kColumn) continue;
      const int index = table_.ColumnIndex(side->text);
      if (index >= 0 && table_.columns[static_cast<size_t>(index)].kind == TypeKind::kJson) {
        return true;
      }
    }
    return false;
  }

  Result<Typed> Resolve(const FilterOperand& operand) const {
    Typed typed;
    switch (operand.type) {
      case FilterOperand::Type::kColumn: {
        const int index = table_.ColumnIndex(operand.text);
        if (index < 0) {
          std::vector<std::string_view> names;
          for (const ColumnInfo& c : table_.columns) names.push_back(c.name);
          return Err(
              FilterError(operand.position,
                          fmt::format("table `{}` has no column `{}`{} (a filter names "
                                      "the source's columns)",
                                      table_.name, operand.text, DidYouMean(operand.text, names))));
        }
        typed.operand.column = index;
        typed.kind = table_.columns[static_cast<size_t>(index)].kind;
        return typed;
      }
      case FilterOperand::Type::kNumber: {
        Result<Value> number = ParseInt64(operand.text);
        if (!number.has_value()) number = ParseDecimal(operand.text);
        if (!number.has_value()) {
          return Err(
              FilterError(operand.position, fmt::format("`{}` is not a number", operand.text)));
        }
        typed.kind = number->kind();
        typed.operand.literal = std::move(*number);
        return typed;
      }
      case FilterOperand::Type::kBool:
        typed.kind = TypeKind::kBool;
        typed.operand.literal = Value::Bool(operand.bool_value);
        return typed;
      case FilterOperand::Type::kTyped: {
        Result<Value> value = ParseTextInputForm(operand.typed_kind, operand.text);
        if (!value.has_value()) {
          return Err(FilterError(operand.position, value.error().message()));
        }
        typed.kind = operand.typed_kind;
        typed.operand.literal = std::move(*value);
        return typed;
      }
      case FilterOperand::Type::kString:
      case FilterOperand::Type::kNull: return typed;
    }
    return typed;
  }

  // A string literal as a value of `kind`.
  Result<Value> Coerce(const FilterOperand& literal, TypeKind kind) const {
    Result<Value> value = ParseTextInputForm(kind, literal.text);
    if (!value.has_value()) {
      return Err(FilterError(
          literal.position,
          fmt::format("'{}' is compared with a {} but does not read as one: "
                      "{}",
                      Shorten(literal.text, 40), TypeKindName(kind), value.error().message())));
    }
    return value;
  }

  Result<std::tuple<BoundOperand, BoundOperand, CompareClass>> BindPair(const FilterOperand& a,
                                                                        const FilterOperand& b,
                                                                        size_t position) const {
    FERRY_ASSIGN_OR_RETURN(Typed x, Resolve(a));
    FERRY_ASSIGN_OR_RETURN(Typed y, Resolve(b));
    if (!x.kind && !y.kind) {  // two strings
      x.kind = y.kind = TypeKind::kText;
      x.operand.literal = Value::Text(a.text);
      y.operand.literal = Value::Text(b.text);
    } else if (!x.kind) {
      FERRY_ASSIGN_OR_RETURN(x.operand.literal, Coerce(a, *y.kind));
      x.kind = y.kind;
    } else if (!y.kind) {
      FERRY_ASSIGN_OR_RETURN(y.operand.literal, Coerce(b, *x.kind));
      y.kind = x.kind;
    }
    const TypeKind kx = *x.kind, ky = *y.kind;
    std::optional<CompareClass> klass;
    if (IsNumericKind(kx) && IsNumericKind(ky)) {
      klass = CompareClass::kNumeric;
    } else if (kx == ky) {
      switch (kx) {
        case TypeKind::kText:
        case TypeKind::kBytes:
        case TypeKind::kJson: klass = CompareClass::kBytes; break;
        case TypeKind::kUuid: klass = CompareClass::kUuid; break;
        default: klass = CompareClass::kInteger; break;
      }
    } else if (kx == TypeKind::kDate && ky == TypeKind::kTimestamp) {
      klass = CompareClass::kDateVsTime;
    } else if (kx == TypeKind::kTimestamp && ky == TypeKind::kDate) {
      klass = CompareClass::kTimeVsDate;
    }
    if (!klass) {
      auto name = [](const FilterOperand& o, TypeKind k) {
        return o.type == FilterOperand::Type::kColumn
                   ? fmt::format("`{}` ({})", o.text, TypeKindName(k))
                   : fmt::format("a {} value", TypeKindName(k));
      };
      std::string hint;
      if ((kx == TypeKind::kTimestamp && ky == TypeKind::kTimestampTz) ||
          (kx == TypeKind::kTimestampTz && ky == TypeKind::kTimestamp)) {
        hint = "; a wall-clock timestamp and an instant compare only through a time zone";
      } else if (kx == TypeKind::kText || ky == TypeKind::kText) {
        hint = "; write the value as a 'string' to compare as the column's kind";
      }
      return Err(FilterError(
          position, fmt::format("cannot compare {} with {}{}", name(a, kx), name(b, ky), hint)));
    }
    return std::make_tuple(std::move(x.operand), std::move(y.operand), *klass);
  }

  const TableInfo& table_;
};

// ---------------------------------------------------------------------------------------------
// The spec as parsed, before it meets a table

constexpr std::string_view kStepNames[] = {"rename",
                                           "drop",
                                           "cast",
                                           "sha256",
                                           "hmac",
                                           "mask",
                                           "map",
                                           "date_format",
                                           "time_format",
                                           "timestamp_format",
                                           "timestamptz_format",
                                           "timezone",
                                           "constant",
                                           "default"};

std::vector<std::string_view> StepOptions(std::string_view step) {
  if (step == "cast" || step == "constant") return {"type"};
  if (step == "map") return {"else", "type"};
  if (step == "timezone") return {"ambiguous", "nonexistent"};
  return {};
}

bool IsStepName(std::string_view name) {
  return std::ranges::find(kStepNames, name) != std::end(kStepNames);
}

// Where in the spec something was written, for errors found after parsing.
struct SpecPlace {
  ConfigNode node;  // the mapping holding the key
  std::string key;  // "" for the node itself

  Status Error(std::string_view what) const { return node.Invalid(key, what); }
};

struct StepSpec {
  std::string op;  // the step key
  SpecPlace place;
  std::string arg;  // rename target, kind, key name, zone, constant or default text
  bool arg_null = false;
  std::optional<std::string> type;  // cast, map, constant
  std::vector<std::string> formats;
  size_t keep_first = 0, keep_last = 0;
  std::string mask_char = "*";
  std::vector<std::pair<std::string, std::optional<std::string>>> map;
  std::optional<std::optional<std::string>> map_else;
  ZonePolicy ambiguous = ZonePolicy::kReject, nonexistent = ZonePolicy::kReject;
  std::shared_ptr<const HmacKey> key;
};

struct ColumnSpec {
  std::string name;
  SpecPlace place;
  bool drop = false;
  std::optional<std::string> rename;
  std::vector<StepSpec> steps;  // without the rename
};

struct AddSpec {
  std::string name;
  SpecPlace place;
  std::optional<std::string> from;
  std::vector<StepSpec> steps;
};

struct TableSpec {
  std::string name;
  SpecPlace place;  // tables.<name>
  ConfigNode node;  // the table's mapping
  std::optional<std::string> rename;
  std::optional<FilterTree> filter;
  std::vector<ColumnSpec> columns;
  std::vector<AddSpec> adds;
  bool primary_key_given = false;
  std::vector<std::string> primary_key;  // empty with primary_key_given: `none`
};

enum class Shape { kNull, kScalar, kList, kMapping };

Shape ShapeAt(const ConfigNode& parent, std::string_view key) {
  if (!parent.Has(key)) return Shape::kNull;
  if (parent.GetString(key).has_value()) return Shape::kScalar;
  if (parent.GetList(key).has_value()) return Shape::kList;
  return Shape::kMapping;
}

// True when `name` looks like an identifier we may repeat in an error: a long or odd string
// where a key name was expected may be a key pasted in by mistake.
bool SafeToEcho(std::string_view name) {
  if (name.empty() || name.size() > 40) return false;
  return std::ranges::all_of(name, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

class SpecParser {
 public:
  SpecParser(std::string base_dir, Env* env) : base_dir_(std::move(base_dir)), env_(env) {}

  Status ParseRoot(const ConfigNode& root);

  std::map<std::string, std::shared_ptr<const HmacKey>> keys;
  std::vector<TableSpec> tables;

 private:
  Status ParseKeys(const ConfigNode& keys_node);
  Result<std::shared_ptr<const HmacKey>> ParseKey(const ConfigNode& keys_node,
                                                  const std::string& name);
  Status ParseTable(const ConfigNode& tables_node, const std::string& name);
  Result<ColumnSpec> ParseColumn(const ConfigNode& columns, const std::string& name);
  Result<AddSpec> ParseAdd(const ConfigNode& adds, const std::string& name);
  // The steps at `parent.key`: one mapping, or a list of mappings.
  Result<std::vector<StepSpec>> ParseStepList(const ConfigNode& parent, const std::string& key);
  Result<StepSpec> ParseStep(const ConfigNode& node);
  Status ParseStepArgument(const ConfigNode& node, StepSpec* step);

  std::string base_dir_;
  Env* env_;
};

Status SpecParser::ParseRoot(const ConfigNode& root) {
  FERRY_RETURN_IF_ERROR(root.CheckKnownKeys({"version", "hmac_keys", "tables"}));
  FERRY_ASSIGN_OR_RETURN(std::optional<int64_t> version, root.GetInt("version"));
  if (!version) {
    return root.Invalid("version", "expected `version: 1` at the top of the spec, got nothing");
  }
  if (*version != 1) {
    return root.Invalid("version", fmt::format("expected 1 (the only spec version this ferry "
                                               "reads), got {}",
                                               *version));
  }
  FERRY_RETURN_IF_ERROR(ParseKeys(root.Child("hmac_keys")));
  const ConfigNode tables_node = root.Child("tables");
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> names, tables_node.Keys());
  for (const std::string& name : names) FERRY_RETURN_IF_ERROR(ParseTable(tables_node, name));
  return OkStatus();
}

Status SpecParser::ParseKeys(const ConfigNode& keys_node) {
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> names, keys_node.Keys());
  for (const std::string& name : names) {
    FERRY_ASSIGN_OR_RETURN(keys[name], ParseKey(keys_node, name));
  }
  return OkStatus();
}

constexpr std::string_view kInlineKeyRefusal =
    "a key is never written in the spec: specs are shared, reviewed and committed, and anyone "
    "holding the key can reverse the hashes of guessable values such as SSNs by trying them "
    "all; write {env: VARIABLE} or {file: /path/readable/only/by/ferry}";

Result<std::shared_ptr<const HmacKey>> SpecParser::ParseKey(const ConfigNode& keys_node,
                                                            const std::string& name) {
  const Shape shape = ShapeAt(keys_node, name);
  if (shape == Shape::kScalar || shape == Shape::kList) {
    return Err(keys_node.Invalid(name, kInlineKeyRefusal));
  }
  const ConfigNode node = keys_node.Child(name);
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> fields, node.Keys());
  for (const std::string& field : fields) {
    if (field == "key" || field == "value" || field == "secret" || field == "hex" ||
        field == "base64" || field == "text") {
      return Err(node.Invalid(field, kInlineKeyRefusal));
    }
  }
  FERRY_RETURN_IF_ERROR(node.CheckKnownKeys({"env", "file", "encoding"}));
  FERRY_ASSIGN_OR_RETURN(std::optional<std::string> variable, node.GetString("env"));
  FERRY_ASSIGN_OR_RETURN(std::optional<std::string> file, node.GetString("file"));
  FERRY_ASSIGN_OR_RETURN(std::optional<std::string> encoding, node.GetString("encoding"));
  if (variable.has_value() == file.has_value()) {
    return Err(node.Invalid("", "expected exactly one of `env: VARIABLE` or `file: PATH`"));
  }
  if (encoding && *encoding != "text" && *encoding != "hex") {
    return Err(node.Invalid("encoding", fmt::format("expected `text` (the bytes as they are) or "
                                                    "`hex`, got `{}`",
                                                    *encoding)));
  }
  std::string key;
  std::string origin;
  if (variable) {
    std::optional<std::string> value = env_->GetEnvVar(*variable);
    if (!value || value->empty()) {
      return Err(node.Invalid(
          "env", fmt::format("environment variable {} {}; export it before running ferry (for "
                             "example from your secret store); the key itself never goes in "
                             "the spec",
                             *variable, value ? "is empty" : "is not set")));
    }
    key = std::move(*value);
    origin = fmt::format("environment variable {}", *variable);
  } else {
    std::string path = *file;
    if (!path.starts_with('/') && !base_dir_.empty()) {
      path = base_dir_.ends_with('/') ? base_dir_ + path : base_dir_ + "/" + path;
    }
    Result<std::string> contents = env_->ReadFile(path);
    if (!contents.has_value()) {
      return Err(node.Invalid("file", fmt::format("cannot read the key file {}: {}", path,
                                                  contents.error().message())));
    }
    key = std::move(*contents);
    // One trailing newline is the editor's or echo's, not the key's.
    if (key.ends_with("\r\n")) {
      key.resize(key.size() - 2);
    } else if (key.ends_with('\n')) {
      key.pop_back();
    }
    origin = fmt::format("key file {}", path);
  }
  if (encoding == "hex") {
    std::string bytes;
    bool ok = key.size() % 2 == 0;
    for (size_t i = 0; ok && i < key.size(); i += 2) {
      unsigned int byte = 0;
      auto [end, ec] = std::from_chars(key.data() + i, key.data() + i + 2, byte, 16);
      ok = ec == std::errc() && end == key.data() + i + 2;
      bytes.push_back(static_cast<char>(byte));
    }
    OPENSSL_cleanse(key.data(), key.size());
    if (!ok) {
      OPENSSL_cleanse(bytes.data(), bytes.size());
      return Err(node.Invalid("", fmt::format("the {} is not hex (pairs of 0-9a-f) as "
                                              "`encoding: hex` says",
                                              origin)));
    }
    key = std::move(bytes);
  }
  if (key.size() < kMinHmacKeyBytes) {
    const size_t size = key.size();
    OPENSSL_cleanse(key.data(), key.size());
    return Err(node.Invalid(
        "", fmt::format("the {} holds a key of {} bytes; HMAC-SHA-256 needs at least {} (RFC 2104 "
                        "section 3: a key shorter than the hash output weakens it); generate "
                        "one with `openssl rand -hex 32`",
                        origin, size, kMinHmacKeyBytes)));
  }
  FERRY_ASSIGN_OR_RETURN(std::shared_ptr<HmacKey> made, MakeHmacKey(name, &key));
  return std::shared_ptr<const HmacKey>(std::move(made));
}

Status SpecParser::ParseTable(const ConfigNode& tables_node, const std::string& name) {
  const ConfigNode node = tables_node.Child(name);
  TableSpec table{.name = name, .place = {tables_node, name}, .node = node};
  FERRY_RETURN_IF_ERROR(node.CheckKnownKeys({"rename", "filter", "columns", "add", "primary_key"}));
  FERRY_ASSIGN_OR_RETURN(table.rename, node.GetString("rename"));
  if (table.rename && table.rename->empty()) {
    return node.Invalid("rename", "expected the table's name on the target, got an empty name");
  }
  FERRY_ASSIGN_OR_RETURN(std::optional<std::string> filter, node.GetString("filter"));
  if (filter) {
    Result<FilterTree> tree = ParseFilter(*filter);
    if (!tree.has_value()) return node.Invalid("filter", tree.error().message());
    table.filter = std::move(*tree);
  }
  const ConfigNode columns = node.Child("columns");
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> column_names, columns.Keys());
  for (const std::string& column : column_names) {
    FERRY_ASSIGN_OR_RETURN(ColumnSpec spec, ParseColumn(columns, column));
    table.columns.push_back(std::move(spec));
  }
  const ConfigNode adds = node.Child("add");
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> add_names, adds.Keys());
  for (const std::string& column : add_names) {
    FERRY_ASSIGN_OR_RETURN(AddSpec spec, ParseAdd(adds, column));
    table.adds.push_back(std::move(spec));
  }
  switch (ShapeAt(node, "primary_key")) {
    case Shape::kNull: break;
    case Shape::kScalar: {
      FERRY_ASSIGN_OR_RETURN(std::optional<std::string> value, node.GetString("primary_key"));
      if (*value != "none") {
        return node.Invalid("primary_key", fmt::format("expected a list of the target's column "
                                                       "names, or `none`, got `{}`",
                                                       *value));
      }
      table.primary_key_given = true;
      break;
    }
    case Shape::kList: {
      FERRY_ASSIGN_OR_RETURN(table.primary_key, node.GetStringList("primary_key"));
      table.primary_key_given = true;
      break;
    }
    case Shape::kMapping:
      return node.Invalid("primary_key",
                          "expected a list of the target's column names, or "
                          "`none`, got a mapping");
  }
  tables.push_back(std::move(table));
  return OkStatus();
}

Result<ColumnSpec> SpecParser::ParseColumn(const ConfigNode& columns, const std::string& name) {
  ColumnSpec column{.name = name, .place = {columns, name}};
  const Shape shape = ShapeAt(columns, name);
  if (shape == Shape::kNull) {
    return Err(columns.Invalid(name,
                               "expected a step such as {cast: int64}, a list of steps, or "
                               "`drop`, got nothing"));
  }
  if (shape == Shape::kScalar) {
    FERRY_ASSIGN_OR_RETURN(std::optional<std::string> word, columns.GetString(name));
    if (*word == "drop") {
      column.drop = true;
      return column;
    }
    if (IsStepName(*word)) {
      return Err(columns.Invalid(name, fmt::format("`{0}` takes an argument: write {{{0}: ...}} "
                                                   "(see docs/transforms.md)",
                                                   *word)));
    }
    return Err(columns.Invalid(
        name,
        fmt::format("expected `drop`, a step such as {{cast: int64}}, or a list of steps, "
                    "got `{}`{}",
                    Shorten(*word, 40), DidYouMean(*word, std::vector<std::string>{"drop"}))));
  }
  FERRY_ASSIGN_OR_RETURN(std::vector<StepSpec> steps, ParseStepList(columns, name));
  for (StepSpec& step : steps) {
    if (step.op == "drop") {
      if (steps.size() > 1) {
        return Err(
            step.place.Error("`drop` removes the column; it cannot be combined with other "
                             "steps"));
      }
      column.drop = true;
      return column;
    }
    if (step.op == "rename") {
      if (column.rename) {
        return Err(
            step.place.Error(fmt::format("the column is already renamed to `{}`; rename "
                                         "it once",
                                         *column.rename)));
      }
      column.rename = step.arg;
      continue;
    }
    column.steps.push_back(std::move(step));
  }
  return column;
}

Result<AddSpec> SpecParser::ParseAdd(const ConfigNode& adds, const std::string& name) {
  AddSpec add{.name = name, .place = {adds, name}};
  if (ShapeAt(adds, name) != Shape::kMapping) {
    return Err(adds.Invalid(name,
                            "expected {constant: VALUE, type: KIND} or {from: COLUMN, "
                            "steps: [...]}"));
  }
  const ConfigNode node = adds.Child(name);
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> fields, node.Keys());
  if (std::ranges::find(fields, "from") != fields.end()) {
    FERRY_RETURN_IF_ERROR(node.CheckKnownKeys({"from", "steps"}));
    FERRY_ASSIGN_OR_RETURN(add.from, node.GetString("from"));
    FERRY_ASSIGN_OR_RETURN(add.steps, ParseStepList(node, "steps"));
  } else if (std::ranges::find(fields, "constant") != fields.end()) {
    FERRY_RETURN_IF_ERROR(node.CheckKnownKeys({"constant", "type"}));
    FERRY_ASSIGN_OR_RETURN(StepSpec step, ParseStep(node));
    if (!step.type) step.type = "text";
    add.steps.push_back(std::move(step));
  } else {
    FERRY_RETURN_IF_ERROR(node.CheckKnownKeys({"constant", "type", "from", "steps"}));
    return Err(adds.Invalid(name, "expected `constant:` (with `type:`) or `from: COLUMN`"));
  }
  for (const StepSpec& step : add.steps) {
    if (step.op == "rename" || step.op == "drop") {
      return Err(
          step.place.Error(fmt::format("`{}` does not apply to an added column (its name "
                                       "is its key under `add`)",
                                       step.op)));
    }
  }
  return add;
}

Result<std::vector<StepSpec>> SpecParser::ParseStepList(const ConfigNode& parent,
                                                        const std::string& key) {
  std::vector<StepSpec> steps;
  switch (ShapeAt(parent, key)) {
    case Shape::kNull: return steps;
    case Shape::kScalar: {
      return Err(parent.Invalid(key, "expected a step such as {cast: int64} or a list of steps"));
    }
    case Shape::kMapping: {
      FERRY_ASSIGN_OR_RETURN(StepSpec step, ParseStep(parent.Child(key)));
      steps.push_back(std::move(step));
      return steps;
    }
    case Shape::kList: break;
  }
  FERRY_ASSIGN_OR_RETURN(std::vector<ConfigNode> items, parent.GetList(key));
  for (const ConfigNode& item : items) {
    if (!item.Keys().has_value()) {
      return Err(item.Invalid("",
                              "expected a step such as {cast: int64} (a mapping); in a list "
                              "`drop` cannot be combined with other steps"));
    }
    FERRY_ASSIGN_OR_RETURN(StepSpec step, ParseStep(item));
    steps.push_back(std::move(step));
  }
  if (steps.empty()) {
    return Err(parent.Invalid(key, "expected at least one step, got an empty list"));
  }
  return steps;
}

Result<StepSpec> SpecParser::ParseStep(const ConfigNode& node) {
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> fields, node.Keys());
  std::vector<std::string> ops;
  for (const std::string& field : fields) {
    if (IsStepName(field)) ops.push_back(field);
  }
  if (ops.empty()) {
    std::vector<std::string_view> known(std::begin(kStepNames), std::end(kStepNames));
    const std::string& first = fields.empty() ? std::string() : fields.front();
    if (first.empty()) return Err(node.Invalid("", "expected a step, got an empty mapping"));
    return Err(
        node.Invalid(first, fmt::format("`{}` is not a transform; expected one of {}{}", first,
                                        BacktickList(known), DidYouMean(first, known))));
  }
  if (ops.size() > 1) {
    std::string what = fmt::format(
        "one step per mapping, got {}; to apply several in order, "
        "write a list: [{{{}: ...}}, {{{}: ...}}]",
        BacktickList(ops), ops[0], ops[1]);
    if (std::ranges::find(ops, "map") != ops.end() &&
        std::ranges::find(ops, "default") != ops.end()) {
      what =
          "`default` replaces NULLs and is a step of its own; for the values a map lacks "
          "write `else:` inside the map's step; to replace NULLs before mapping write a list: "
          "[{default: ...}, {map: ...}]";
    }
    return Err(node.Invalid(ops[1], what));
  }
  StepSpec step{.op = ops[0], .place = {node, ops[0]}};
  const std::vector<std::string_view> options = StepOptions(step.op);
  for (const std::string& field : fields) {
    if (field == step.op || std::ranges::find(options, field) != options.end()) continue;
    std::vector<std::string_view> allowed = options;
    return Err(node.Invalid(
        field, options.empty()
                   ? fmt::format("`{}` takes no options, got `{}`", step.op, field)
                   : fmt::format("`{}` is not an option of `{}`; its options are {}{}", field,
                                 step.op, BacktickList(options), DidYouMean(field, allowed))));
  }
  FERRY_RETURN_IF_ERROR(ParseStepArgument(node, &step));
  return step;
}

Result<ZonePolicy> ParsePolicy(
    const ConfigNode& node, std::string_view key,
    std::initializer_list<std::pair<std::string_view, ZonePolicy>> choices) {
  FERRY_ASSIGN_OR_RETURN(std::optional<std::string> value, node.GetString(key));
  if (!value) return ZonePolicy::kReject;
  std::vector<std::string_view> names;
  for (const auto& [name, policy] : choices) {
    if (*value == name) return policy;
    names.push_back(name);
  }
  return Err(node.Invalid(key, fmt::format("expected one of {}, got `{}`{}", BacktickList(names),
                                           *value, DidYouMean(*value, names))));
}

Status SpecParser::ParseStepArgument(const ConfigNode& node, StepSpec* step) {
  const std::string& op = step->op;
  if (node.Has("type")) {
    FERRY_ASSIGN_OR_RETURN(step->type, node.GetString("type"));
  }
  auto required_string = [&]() -> Status {
    FERRY_ASSIGN_OR_RETURN(std::optional<std::string> value, node.GetString(op));
    if (!value || value->empty()) {
      return node.Invalid(op, fmt::format("expected a value for `{}`, got nothing", op));
    }
    step->arg = std::move(*value);
    return OkStatus();
  };
  if (op == "rename" || op == "cast" || op == "default") return required_string();
  if (op == "drop" || op == "sha256") {
    FERRY_ASSIGN_OR_RETURN(std::optional<bool> on, node.GetBool(op));
    if (!on || !*on) {
      return node.Invalid(op, fmt::format("expected `{}: true` (remove the step to leave the "
                                          "column as it is)",
                                          op));
    }
    return OkStatus();
  }
  if (op == "hmac") {
    FERRY_ASSIGN_OR_RETURN(std::optional<std::string> name, node.GetString(op));
    if (!name || name->empty()) {
      return node.Invalid(op, "expected the name of a key declared under `hmac_keys`");
    }
    auto found = keys.find(*name);
    if (found == keys.end()) {
      std::vector<std::string> declared;
      for (const auto& [key_name, key] : keys) declared.push_back(key_name);
      if (!SafeToEcho(*name)) {
        return node.Invalid(op, fmt::format("expected the name of a key declared under "
                                            "`hmac_keys` ({}), got something else (not repeated "
                                            "here in case it is a key: {})",
                                            declared.empty() ? "none is" : BacktickList(declared),
                                            kInlineKeyRefusal));
      }
      return node.Invalid(op, fmt::format("no key `{}` under `hmac_keys` (declared: {}){}", *name,
                                          declared.empty() ? "none" : BacktickList(declared),
                                          DidYouMean(*name, declared)));
    }
    step->key = found->second;
    step->arg = *name;
    return OkStatus();
  }
  if (op == "timezone") {
    FERRY_RETURN_IF_ERROR(required_string());
    FERRY_ASSIGN_OR_RETURN(step->ambiguous, ParsePolicy(node, "ambiguous",
                                                        {{"reject", ZonePolicy::kReject},
                                                         {"earlier", ZonePolicy::kEarlier},
                                                         {"later", ZonePolicy::kLater}}));
    FERRY_ASSIGN_OR_RETURN(step->nonexistent,
                           ParsePolicy(node, "nonexistent",
                                       {{"reject", ZonePolicy::kReject},
                                        {"shift_forward", ZonePolicy::kShiftForward}}));
    return OkStatus();
  }
  if (op == "constant") {
    FERRY_ASSIGN_OR_RETURN(std::optional<std::string> value, node.GetString(op));
    step->arg_null = !value.has_value();
    if (value) step->arg = std::move(*value);
    return OkStatus();
  }
  if (op.ends_with("_format")) {
    if (ShapeAt(node, op) == Shape::kList) {
      FERRY_ASSIGN_OR_RETURN(step->formats, node.GetStringList(op));
    } else {
      FERRY_ASSIGN_OR_RETURN(std::optional<std::string> format, node.GetString(op));
      if (format) step->formats.push_back(std::move(*format));
    }
    if (step->formats.empty()) {
      return node.Invalid(op, "expected a format such as \"%d/%m/%Y\", or a list of them");
    }
    return OkStatus();
  }
  if (op == "mask") {
    const Shape shape = ShapeAt(node, op);
    if (shape == Shape::kScalar) {
      FERRY_ASSIGN_OR_RETURN(std::optional<std::string> word, node.GetString(op));
      size_t keep = 0;
      if (*word == "all") return OkStatus();
      if (word->starts_with("last")) {
        std::string_view digits = std::string_view(*word).substr(4);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), keep);
        if (ec == std::errc() && end == digits.data() + digits.size() && !digits.empty()) {
          step->keep_last = keep;
          return OkStatus();
        }
      }
      return node.Invalid(op, fmt::format("expected `last4` (or lastN), `all`, or {{keep_last: "
                                          "4, keep_first: 0, char: \"*\"}}, got `{}`",
                                          *word));
    }
    if (shape != Shape::kMapping) {
      return node.Invalid(op,
                          "expected `last4`, `all`, or {keep_last: 4, keep_first: 0, char: "
                          "\"*\"}");
    }
    const ConfigNode mask = node.Child(op);
    FERRY_RETURN_IF_ERROR(mask.CheckKnownKeys({"keep_last", "keep_first", "char"}));
    for (auto [field, target] :
         {std::pair{"keep_last", &step->keep_last}, std::pair{"keep_first", &step->keep_first}}) {
      FERRY_ASSIGN_OR_RETURN(std::optional<int64_t> count, mask.GetInt(field));
      if (count && (*count < 0 || *count > 1000)) {
        return mask.Invalid(field, "expected a count of characters from 0 to 1000");
      }
      *target = static_cast<size_t>(count.value_or(0));
    }
    FERRY_ASSIGN_OR_RETURN(std::optional<std::string> character, mask.GetString("char"));
    if (character) {
      if (CodePoints(*character) != 1 || !ValidateUtf8(*character).ok()) {
        return mask.Invalid("char", "expected one character");
      }
      step->mask_char = std::move(*character);
    }
    return OkStatus();
  }
  if (op == "map") {
    if (ShapeAt(node, op) != Shape::kMapping) {
      return node.Invalid(op, "expected a mapping of values, such as {A: active, I: inactive}");
    }
    const ConfigNode map = node.Child(op);
    FERRY_ASSIGN_OR_RETURN(std::vector<std::string> from, map.Keys());
    if (from.empty()) return node.Invalid(op, "expected at least one value to map");
    for (const std::string& key : from) {
      if (ShapeAt(map, key) == Shape::kList || ShapeAt(map, key) == Shape::kMapping) {
        return map.Invalid(key, "expected a value (or ~ for NULL)");
      }
      FERRY_ASSIGN_OR_RETURN(std::optional<std::string> to, map.GetString(key));
      step->map.emplace_back(key, std::move(to));
    }
    FERRY_ASSIGN_OR_RETURN(std::vector<std::string> fields, node.Keys());
    if (std::ranges::find(fields, "else") != fields.end()) {
      FERRY_ASSIGN_OR_RETURN(std::optional<std::string> otherwise, node.GetString("else"));
      step->map_else = std::move(otherwise);
    }
    return OkStatus();
  }
  return OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TransformSpec

struct TransformSpec::Rep {
  std::string source;
  std::vector<TableSpec> tables;
  std::map<std::string, std::shared_ptr<const HmacKey>> keys;

  // The spec entry for `table`: the exact name, else the one equal ignoring case.
  const TableSpec* Find(std::string_view table) const {
    for (const TableSpec& spec : tables) {
      if (spec.name == table) return &spec;
    }
    const TableSpec* found = nullptr;
    for (const TableSpec& spec : tables) {
      if (SameIdentifier(spec.name, table)) {
        if (found != nullptr) return nullptr;
        found = &spec;
      }
    }
    return found;
  }
};

struct TableTransform::Rep {
  TableInfo source;
  TableInfo output;
  bool identity = true;
  std::optional<BoundFilter> filter;

  struct Computed {
    size_t out;
    int source;  // -1: an added constant
    std::vector<Step> steps;
    std::string name;  // for rejects: the source column, or the added column
    bool hidden = false;
    std::optional<TypeKind> input_kind;  // the kind the first step expects
  };
  struct Passthrough {
    size_t out;
    size_t source;
    bool movable;  // no other output column reads this source column
  };
  std::vector<Computed> computed;
  std::vector<Passthrough> passthrough;
  std::vector<bool> hidden;         // per source column
  std::vector<size_t> key_columns;  // source indices of the source's primary key
};

Result<TransformSpec> TransformSpec::LoadFile(const std::string& path, Env* env) {
  if (env == nullptr) env = Env::Default();
  Result<std::string> text = env->ReadFile(path);
  if (!text.has_value()) {
    if (text.error().code() == StatusCode::kNotFound) {
      return Err(NotFound("transform spec {} does not exist; check the --spec path", path));
    }
    return Err(text.error().WithContext(fmt::format("cannot read transform spec {}", path)));
  }
  const size_t slash = path.rfind('/');
  std::string base_dir = slash == std::string::npos ? "" : path.substr(0, slash);
  if (slash == 0) base_dir = "/";
  FERRY_ASSIGN_OR_RETURN(ConfigDocument document, ParseConfig(*text, path, env));
  SpecParser parser(base_dir, env);
  FERRY_RETURN_IF_ERROR(parser.ParseRoot(document.root()));
  auto rep = std::make_shared<Rep>();
  rep->source = path;
  rep->tables = std::move(parser.tables);
  rep->keys = std::move(parser.keys);
  return TransformSpec(std::move(rep));
}

Result<TransformSpec> TransformSpec::Parse(std::string_view yaml, std::string_view source_name,
                                           Env* env) {
  if (env == nullptr) env = Env::Default();
  FERRY_ASSIGN_OR_RETURN(ConfigDocument document, ParseConfig(yaml, source_name, env));
  SpecParser parser("", env);
  FERRY_RETURN_IF_ERROR(parser.ParseRoot(document.root()));
  auto rep = std::make_shared<Rep>();
  rep->source = std::string(source_name);
  rep->tables = std::move(parser.tables);
  rep->keys = std::move(parser.keys);
  return TransformSpec(std::move(rep));
}

std::string_view TransformSpec::source_name() const { return rep_->source; }

std::vector<std::string> TransformSpec::tables() const {
  std::vector<std::string> names;
  for (const TableSpec& table : rep_->tables) names.push_back(table.name);
  return names;
}

std::string TransformSpec::TargetTableName(std::string_view source_table) const {
  const TableSpec* spec = rep_->Find(source_table);
  if (spec != nullptr && spec->rename) return *spec->rename;
  return std::string(source_table);
}

Status TransformSpec::CheckTables(const std::vector<std::string>& source_tables) const {
  std::vector<const TableSpec*> missing;
  for (const TableSpec& spec : rep_->tables) {
    Result<std::string> found = ResolveTable(source_tables, spec.name, rep_->source);
    if (!found.has_value()) {
      if (found.error().code() != StatusCode::kNotFound) {
        return spec.place.Error(found.error().message());
      }
      missing.push_back(&spec);
    }
  }
  if (!missing.empty()) {
    const TableSpec& first = *missing.front();
    std::string also;
    if (missing.size() > 1) {
      std::vector<std::string_view> rest;
      for (size_t i = 1; i < missing.size(); ++i) rest.push_back(missing[i]->name);
      also = fmt::format(" (nor {})", BacktickList(rest));
    }
    return first.place.Error(
        fmt::format("the source has no table `{}`{}; a spec may name only tables the source "
                    "has{}",
                    first.name, also, DidYouMean(first.name, source_tables)));
  }
  // Two source tables must not arrive under one name.
  std::map<std::string, std::string> arrivals;  // lower-case target name -> source table
  for (const std::string& table : source_tables) {
    const std::string target = TargetTableName(table);
    auto [it, inserted] = arrivals.emplace(AsciiLower(target), table);
    if (!inserted) {
      const TableSpec* spec = rep_->Find(table);
      if (spec == nullptr) spec = rep_->Find(it->second);
      const std::string what = fmt::format(
          "tables `{}` and `{}` would both arrive as `{}`; "
          "rename one of them",
          it->second, table, target);
      if (spec != nullptr) return spec->place.Error(what);
      return InvalidArgument("{}: {}", rep_->source, what);
    }
  }
  return OkStatus();
}

namespace {

// Compiles a spec step for a column currently described by `*column` (updated to what the
// step outputs).
Result<Step> CompileStep(const StepSpec& spec, ColumnInfo* column, std::string_view engine,
                         bool is_key) {
  Step step{.op = StepOp::kCast, .label = spec.op};
  const TypeKind in = column->kind;
  auto retype = [&](TypeKind kind, int precision) {
    column->kind = kind;
    column->precision = precision;
    column->scale = -1;
    column->native_type = NativeTypeFor(*column, engine);
  };
  auto wrong_kind = [&](std::string_view expected) {
    return Err(
        spec.place.Error(fmt::format("`{}` applies to {}; column `{}` is {} at this "
                                     "step",
                                     spec.op, expected, column->name, TypeKindName(in))));
  };
  auto kind_of = [&](const std::string& name, const std::string& key) -> Result<TypeKind> {
    Result<TypeKind> kind = KindNamed(name);
    if (!kind.has_value()) return Err(spec.place.node.Invalid(key, kind.error().message()));
    return kind;
  };
  if (spec.op == "cast") {
    FERRY_ASSIGN_OR_RETURN(TypeKind to, kind_of(spec.arg, "cast"));
    if (!CanCast(in, to)) {
      return Err(spec.place.Error(fmt::format("column `{}` is {}, which does not convert to {}{}",
                                              column->name, TypeKindName(in), TypeKindName(to),
                                              CastHint(in, to))));
    }
    step.op = StepOp::kCast;
    step.to = to;
    step.label = fmt::format("cast to {}", TypeKindName(to));
    if (spec.type) {
      if (!engine.empty()) {
        Result<TypeKind> declared = KindOfNativeType(engine, *spec.type);
        if (!declared.has_value() || *declared != to) {
          return Err(spec.place.node.Invalid(
              "type",
              fmt::format("`{}` is {} on {}, not {}; give a {} type of that engine", *spec.type,
                          declared.has_value() ? TypeKindName(*declared) : "unknown", engine,
                          TypeKindName(to), engine)));
        }
      }
      column->kind = to;
      column->native_type = *spec.type;
      PrecisionScaleOf(*spec.type, &column->precision, &column->scale);
    } else if (to != in) {
      retype(to, -1);
    }
    return step;
  }
  if (spec.op == "sha256" || spec.op == "hmac") {
    step.op = spec.op == "sha256" ? StepOp::kSha256 : StepOp::kHmac;
    step.key = spec.key;
    step.label = spec.op == "sha256" ? "sha256" : fmt::format("hmac {}", spec.arg);
    retype(TypeKind::kText, 64);
    return step;
  }
  if (spec.op == "mask") {
    if (is_key) {
      return Err(spec.place.Error(fmt::format(
          "column `{}` is part of the primary key, and masked values collide (\"****1234\" "
          "twice); hash it instead, or give the table a `primary_key:` for the target",
          column->name)));
    }
    if (in == TypeKind::kBytes || in == TypeKind::kJson) {
      return wrong_kind("text, numbers, dates and other values with a text form");
    }
    step.op = StepOp::kMask;
    step.keep_first = spec.keep_first;
    step.keep_last = spec.keep_last;
    step.mask_char = spec.mask_char;
    if (in != TypeKind::kText) retype(TypeKind::kText, -1);
    return step;
  }
  if (spec.op == "map") {
    TypeKind to = TypeKind::kText;
    if (spec.type) {
      FERRY_ASSIGN_OR_RETURN(to, kind_of(*spec.type, "type"));
    }
    auto map = std::make_shared<ValueMap>();
    auto target_value = [&](const std::optional<std::string>& text,
                            const std::string& key) -> Result<Value> {
      if (!text) return Value();
      Result<Value> value = ParseTextInputForm(to, *text);
      if (!value.has_value()) {
        return Err(spec.place.node.Child("map").Invalid(
            key, fmt::format("`{}` is not a {} value: {}", Shorten(*text, 40), TypeKindName(to),
                             value.error().message())));
      }
      return value;
    };
    size_t longest = 0;
    bool any_null = false;
    for (const auto& [from, text] : spec.map) {
      // Keys are matched against the value's text form; spell them canonically ("01" -> "1").
      std::string key = from;
      if (in != TypeKind::kText) {
        Result<Value> parsed = ParseTextInputForm(in, from);
        if (!parsed.has_value()) {
          return Err(spec.place.node.Child("map").Invalid(
              from, fmt::format("the key `{}` is not a {} value, the kind of column `{}`: {}",
                                Shorten(from, 40), TypeKindName(in), column->name,
                                parsed.error().message())));
        }
        key = TextInputForm(*parsed);
      }
      FERRY_ASSIGN_OR_RETURN(Value value, target_value(text, from));
      if (text) longest = std::max(longest, CodePoints(*text));
      any_null |= !text.has_value();
      if (!map->index.emplace(key, map->values.size()).second) {
        return Err(spec.place.node.Child("map").Invalid(
            from, fmt::format("the key `{}` is mapped twice (as the same {} value)", from,
                              TypeKindName(in))));
      }
      map->values.push_back(std::move(value));
      map->keys.push_back(from);
    }
    if (spec.map_else) {
      FERRY_ASSIGN_OR_RETURN(Value otherwise, target_value(*spec.map_else, "else"));
      if (*spec.map_else) longest = std::max(longest, CodePoints(**spec.map_else));
      any_null |= !spec.map_else->has_value();
      map->otherwise = std::move(otherwise);
    }
    step.op = StepOp::kMap;
    step.to = to;
    step.map = std::move(map);
    const bool fits = to != TypeKind::kText || column->precision <= 0 ||
                      longest <= static_cast<size_t>(column->precision);
    if (to != in || !fits) {
      retype(to, to == TypeKind::kText ? static_cast<int>(std::max<size_t>(longest, 1)) : -1);
    }
    if (any_null) column->nullable = true;
    return step;
  }
  if (spec.op.ends_with("_format")) {
    if (in != TypeKind::kText) {
      return wrong_kind(
          fmt::format("text (it parses text into a {})", spec.op.substr(0, spec.op.size() - 7)));
    }
    TypeKind to = TypeKind::kDate;
    if (spec.op == "time_format") to = TypeKind::kTime;
    if (spec.op == "timestamp_format") to = TypeKind::kTimestamp;
    if (spec.op == "timestamptz_format") to = TypeKind::kTimestampTz;
    for (size_t i = 0; i < spec.formats.size(); ++i) {
      Result<TimeFormat> format = CompileTimeFormat(spec.formats[i], to);
      if (!format.has_value()) {
        return Err(spec.place.Error(
            fmt::format("format `{}`: {}", spec.formats[i], format.error().message())));
      }
      step.formats.push_back(std::move(*format));
    }
    step.op = StepOp::kParse;
    step.to = to;
    retype(to, -1);
    return step;
  }
  if (spec.op == "timezone") {
    if (in != TypeKind::kTimestamp && in != TypeKind::kTimestampTz) {
      return wrong_kind(
          "a timestamp (wall clock to instant) or a timestamptz (instant to wall "
          "clock); parse text first with timestamp_format");
    }
    absl::TimeZone zone;
    if (!absl::LoadTimeZone(absl::string_view(spec.arg.data(), spec.arg.size()), &zone)) {
      return Err(spec.place.Error(fmt::format(
          "unknown time zone `{}`; use an IANA name such as Europe/Paris, America/New_York or "
          "UTC (the names under /usr/share/zoneinfo; install Debian's tzdata)",
          Shorten(spec.arg, 40))));
    }
    step.zone = zone;
    step.zone_name = spec.arg;
    step.ambiguous = spec.ambiguous;
    step.nonexistent = spec.nonexistent;
    step.label = fmt::format("timezone {}", spec.arg);
    step.op = in == TypeKind::kTimestamp ? StepOp::kZoneToUtc : StepOp::kZoneToWall;
    retype(in == TypeKind::kTimestamp ? TypeKind::kTimestampTz : TypeKind::kTimestamp, -1);
    return step;
  }
  if (spec.op == "constant" || spec.op == "default") {
    TypeKind to = in;
    if (spec.op == "constant" && spec.type) {
      FERRY_ASSIGN_OR_RETURN(to, kind_of(*spec.type, "type"));
    }
    if (spec.op == "constant" && is_key) {
      return Err(spec.place.Error(fmt::format(
          "column `{}` is part of the primary key, and a constant gives every row the same "
          "key; give the table a `primary_key:` for the target",
          column->name)));
    }
    if (!spec.arg_null) {
      Result<Value> value = ParseTextInputForm(to, spec.arg);
      if (!value.has_value()) {
        return Err(spec.place.Error(fmt::format("`{}` is not a {} value: {}", Shorten(spec.arg, 40),
                                                TypeKindName(to), value.error().message())));
      }
      step.value = std::move(*value);
    }
    step.op = spec.op == "constant" ? StepOp::kConstant : StepOp::kDefault;
    if (to != in) retype(to, -1);
    column->nullable = spec.op == "constant" ? spec.arg_null : false;
    return step;
  }
  return Err(Internal("transform step `{}` has no compiler", spec.op));
}

}  // namespace

Result<TableTransform> TransformSpec::ForTable(const TableInfo& source,
                                               std::string_view source_engine) const {
  const TableSpec* spec = rep_->Find(source.name);
  if (spec == nullptr) return TableTransform::Identity(source);
  auto rep = std::make_shared<TableTransform::Rep>();
  rep->source = source;
  rep->output.name = spec->rename.value_or(source.name);
  rep->output.estimated_rows = source.estimated_rows;
  const size_t n = source.columns.size();
  std::vector<const ColumnSpec*> by_column(n, nullptr);
  std::vector<std::string_view> column_names;
  for (const ColumnInfo& c : source.columns) column_names.push_back(c.name);
  for (const ColumnSpec& column : spec->columns) {
    const int index = source.ColumnIndex(column.name);
    if (index < 0) {
      return Err(
          column.place.Error(fmt::format("table `{}` has no column `{}`{}", source.name,
                                         column.name, DidYouMean(column.name, column_names))));
    }
    if (by_column[static_cast<size_t>(index)] != nullptr) {
      return Err(
          column.place.Error(fmt::format("`{}` and `{}` both name column `{}`; give its steps once",
                                         by_column[static_cast<size_t>(index)]->name, column.name,
                                         source.columns[static_cast<size_t>(index)].name)));
    }
    by_column[static_cast<size_t>(index)] = &column;
  }
  auto is_key = [&](std::string_view name) {
    return std::ranges::any_of(source.primary_key,
                               [&](const std::string& k) { return SameIdentifier(k, name); });
  };
  std::vector<int> uses(n, 0);
  std::vector<bool> visible(n, false);
  std::vector<std::string> output_of(n);  // the output name of each kept source column
  for (size_t i = 0; i < n; ++i) {
    const ColumnSpec* column = by_column[i];
    if (column != nullptr && column->drop) continue;
    ColumnInfo info = source.columns[i];
    if (column != nullptr && column->rename) info.name = *column->rename;
    output_of[i] = info.name;
    const size_t out = rep->output.columns.size();
    if (column == nullptr || column->steps.empty()) {
      rep->passthrough.push_back({.out = out, .source = i, .movable = true});
      visible[i] = true;
    } else {
      TableTransform::Rep::Computed computed{.out = out,
                                             .source = static_cast<int>(i),
                                             .steps = {},
                                             .name = source.columns[i].name,
                                             .input_kind = source.columns[i].kind};
      bool hides = false;
      for (const StepSpec& step_spec : column->steps) {
        FERRY_ASSIGN_OR_RETURN(
            Step step, CompileStep(step_spec, &info, source_engine,
                                   is_key(source.columns[i].name) && !spec->primary_key_given));
        hides |= Hides(step.op);
        computed.steps.push_back(std::move(step));
      }
      visible[i] = visible[i] || !hides;
      rep->computed.push_back(std::move(computed));
    }
    if (column == nullptr || column->steps.empty()) ++uses[i];
    rep->output.columns.push_back(std::move(info));
  }
  for (const AddSpec& add : spec->adds) {
    ColumnInfo info{.name = add.name, .native_type = "", .kind = TypeKind::kText};
    TableTransform::Rep::Computed computed{
        .out = rep->output.columns.size(), .source = -1, .steps = {}, .name = add.name};
    if (add.from) {
      const int index = source.ColumnIndex(*add.from);
      if (index < 0) {
        return Err(add.place.node.Child(add.name).Invalid(
            "from", fmt::format("table `{}` has no column `{}`{}", source.name, *add.from,
                                DidYouMean(*add.from, column_names))));
      }
      computed.source = index;
      computed.input_kind = source.columns[static_cast<size_t>(index)].kind;
      info = source.columns[static_cast<size_t>(index)];
      info.name = add.name;
      if (add.steps.empty()) ++uses[static_cast<size_t>(index)];
    }
    bool hides = false;
    for (const StepSpec& step_spec : add.steps) {
      FERRY_ASSIGN_OR_RETURN(Step step, CompileStep(step_spec, &info, source_engine, false));
      hides |= Hides(step.op);
      computed.steps.push_back(std::move(step));
    }
    if (computed.source >= 0) {
      if (!hides) visible[static_cast<size_t>(computed.source)] = true;
      if (computed.steps.empty()) {
        rep->passthrough.push_back(
            {.out = computed.out, .source = static_cast<size_t>(computed.source), .movable = true});
      }
    }
    if (computed.source < 0 || !computed.steps.empty())
      rep->computed.push_back(std::move(computed));
    if (info.native_type.empty() && !add.from) {
      info.native_type = NativeTypeFor(info, source_engine);
    }
    rep->output.columns.push_back(std::move(info));
  }
  for (TableTransform::Rep::Passthrough& p : rep->passthrough) p.movable = uses[p.source] == 1;
  for (TableTransform::Rep::Computed& c : rep->computed) {
    c.hidden = c.source >= 0 && !visible[static_cast<size_t>(c.source)];
  }
  rep->hidden.resize(n);
  for (size_t i = 0; i < n; ++i) rep->hidden[i] = !visible[i];

  // Output names are unique (as identifiers: the engines fold case).
  for (size_t i = 0; i < rep->output.columns.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const std::string& a = rep->output.columns[j].name;
      const std::string& b = rep->output.columns[i].name;
      if (!SameIdentifier(a, b)) continue;
      return Err(spec->place.Error(
          fmt::format("two columns would arrive on the target as `{}`{}; rename one of them", b,
                      a == b ? "" : fmt::format(" (and `{}`)", a))));
    }
  }

  // The primary key: the source's, renamed, unless the spec gives the target's.
  if (spec->primary_key_given) {
    for (const std::string& name : spec->primary_key) {
      const int index = rep->output.ColumnIndex(name);
      if (index < 0) {
        std::vector<std::string_view> names;
        for (const ColumnInfo& c : rep->output.columns) names.push_back(c.name);
        return Err(spec->node.Invalid(
            "primary_key", fmt::format("the target table has no column `{}` (the key names "
                                       "columns as they arrive, after renames){}",
                                       name, DidYouMean(name, names))));
      }
      rep->output.primary_key.push_back(rep->output.columns[static_cast<size_t>(index)].name);
    }
  } else {
    for (const std::string& key : source.primary_key) {
      const int index = source.ColumnIndex(key);
      if (index < 0 || output_of[static_cast<size_t>(index)].empty()) {
        return Err(spec->place.Error(fmt::format(
            "column `{}` is part of the primary key and is dropped; the target needs a key for "
            "verification to match rows: keep the column (hash it to hide it), or give "
            "`primary_key: [...]` (or `primary_key: none`) for the target",
            key)));
      }
      rep->output.primary_key.push_back(output_of[static_cast<size_t>(index)]);
    }
  }
  for (const std::string& key : source.primary_key) {
    const int index = source.ColumnIndex(key);
    if (index >= 0) rep->key_columns.push_back(static_cast<size_t>(index));
  }

  if (spec->filter) {
    Result<BoundFilter> bound = FilterBinder(source).Bind(*spec->filter);
    if (!bound.has_value()) return Err(spec->node.Invalid("filter", bound.error().message()));
    rep->filter = std::move(*bound);
  }

  bool same_shape = rep->output.name == source.name && rep->computed.empty() &&
                    rep->output.columns.size() == n && !rep->filter;
  for (size_t i = 0; same_shape && i < n; ++i) {
    same_shape = rep->output.columns[i].name == source.columns[i].name;
  }
  rep->identity = same_shape && rep->output.primary_key == source.primary_key;
  return TableTransform(std::move(rep));
}

// ---------------------------------------------------------------------------------------------
// TableTransform

TableTransform TableTransform::Identity(const TableInfo& source) {
  auto rep = std::make_shared<Rep>();
  rep->source = source;
  rep->output = source;
  rep->identity = true;
  for (size_t i = 0; i < source.columns.size(); ++i) {
    rep->passthrough.push_back({.out = i, .source = i, .movable = true});
  }
  rep->hidden.assign(source.columns.size(), false);
  for (const std::string& key : source.primary_key) {
    const int index = source.ColumnIndex(key);
    if (index >= 0) rep->key_columns.push_back(static_cast<size_t>(index));
  }
  return TableTransform(std::move(rep));
}

bool TableTransform::identity() const { return rep_->identity; }
const TableInfo& TableTransform::source() const { return rep_->source; }
const TableInfo& TableTransform::output() const { return rep_->output; }
bool TableTransform::hidden(size_t index) const {
  return index < rep_->hidden.size() && rep_->hidden[index];
}

std::string TableTransform::KeyDisplay(const Row& row) const {
  std::string out;
  for (size_t index : rep_->key_columns) {
    if (!out.empty()) out += ", ";
    out += rep_->source.columns[index].name;
    out += '=';
    out += index < row.size() ? ShownValue(row[index], rep_->hidden[index]) : "?";
  }
  return out;
}

namespace {

const Value kNullValue;

Result<bool> ApplyRows(const TableTransform::Rep& rep, const Row& in, Row* consumable, Row* out,
                       std::string* rejected_column) {
  if (in.size() != rep.source.columns.size()) {
    return Err(Internal("table `{}`: the reader gave a row of {} values for {} columns",
                        rep.source.name, in.size(), rep.source.columns.size()));
  }
  if (rep.filter && rep.filter->Eval(rep.filter->root, in) != Truth::kTrue) return false;
  out->resize(rep.output.columns.size());
  for (const TableTransform::Rep::Computed& c : rep.computed) {
    Value& target = (*out)[c.out];
    const Value* current = c.source >= 0 ? &in[static_cast<size_t>(c.source)] : &kNullValue;
    if (c.input_kind && !current->is_null() && current->kind() != *c.input_kind) {
      return Err(Internal("table `{}` column `{}`: the reader gave a {} value for a {} column",
                          rep.source.name, c.name, TypeKindName(current->kind()),
                          TypeKindName(*c.input_kind)));
    }
    for (const Step& step : c.steps) {
      Status status = step.Run(*current, &target);
      if (!status.ok()) {
        // An Internal error is ferry's (OpenSSL failed), not the row's: it is not a reject.
        if (status.code() == StatusCode::kInternal) {
          return Err(
              status.WithContext(fmt::format("table `{}` column `{}`", rep.source.name, c.name)));
        }
        if (rejected_column != nullptr) *rejected_column = c.name;
        if (c.hidden) {
          return Err(InvalidArgument(
              "column `{}` value {}: {} failed (the details are left out because the spec "
              "hides this column)",
              c.name, kHiddenValue, step.label));
        }
        return Err(InvalidArgument("column `{}` value {}: {}: {}", c.name,
                                   ShownValue(*current, false), step.label, status.message()));
      }
      current = &target;
    }
  }
  for (const TableTransform::Rep::Passthrough& p : rep.passthrough) {
    if (consumable != nullptr && p.movable) {
      (*out)[p.out] = std::move((*consumable)[p.source]);
    } else {
      (*out)[p.out] = in[p.source];
    }
  }
  return true;
}

}  // namespace

Result<bool> TableTransform::Apply(const Row& in, Row* out, std::string* rejected_column) const {
  return ApplyRows(*rep_, in, nullptr, out, rejected_column);
}

Result<bool> TableTransform::ApplyConsuming(Row* in, Row* out, std::string* rejected_column) const {
  return ApplyRows(*rep_, *in, in, out, rejected_column);
}

// ---------------------------------------------------------------------------------------------
// RejectSink

Result<std::unique_ptr<RejectSink>> RejectSink::Open(const std::string& path, int64_t max_rejects,
                                                     Env* env) {
  if (env == nullptr) env = Env::Default();
  if (max_rejects < -1) {
    return Err(
        InvalidArgument("--max-rejects {}: expected -1 (no bound) or a count from 0", max_rejects));
  }
  // Only a regular file (or none) is emptied, by writing an empty one in its place. Anything
  // else that exists (/dev/null, a FIFO, a terminal) is appended to as it is: replacing it would
  // turn /dev/null into a regular file for the whole machine when ferry runs as root.
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  const bool special =
      !error && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status);
  if (!path.empty() && !special) {
    Status created = env->WriteFileAtomic(path, "");
    if (!created.ok()) return Err(created.WithContext("cannot create the reject file"));
  }
  return std::unique_ptr<RejectSink>(new RejectSink(path, max_rejects, env));
}

Status RejectSink::Reject(const TableTransform& transform, const Row& row, std::string_view column,
                          const Status& why) {
  const TableInfo& table = transform.source();
  Json line = Json::object();
  line["table"] = table.name;
  line["key"] = transform.KeyDisplay(row);
  line["column"] = std::string(column);
  line["reason"] = why.message();
  Json values = Json::object();
  Json hidden = Json::array();
  for (size_t i = 0; i < table.columns.size() && i < row.size(); ++i) {
    if (transform.hidden(i)) {
      hidden.push_back(table.columns[i].name);
    } else if (row[i].is_null()) {
      values[table.columns[i].name] = nullptr;
    } else {
      values[table.columns[i].name] = TextInputForm(row[i]);
    }
  }
  line["row"] = std::move(values);
  if (!hidden.empty()) line["hidden"] = std::move(hidden);
  const std::string text = line.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";

  std::lock_guard<std::mutex> lock(mu_);
  if (!path_.empty()) {
    Status written = env_->AppendFile(path_, text);
    if (!written.ok()) {
      return written.WithContext(fmt::format("cannot write the reject file {}", path_));
    }
  }
  ++count_;
  if (max_rejects_ >= 0 && count_ > max_rejects_) {
    const std::string key = line["key"].get<std::string>();
    return FailedPrecondition(
        "{} rows rejected, more than the {} allowed (--max-rejects); the last: table `{}`{}: {}{}",
        count_, max_rejects_, table.name, key.empty() ? std::string() : " key " + key,
        why.message(),
        path_.empty() ? std::string() : fmt::format("; every rejected row is in {}", path_));
  }
  return OkStatus();
}

int64_t RejectSink::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return count_;
}

// ---------------------------------------------------------------------------------------------
// TransformRows

namespace {

class TransformingReader : public RowReader {
 public:
  TransformingReader(std::unique_ptr<RowReader> in, std::shared_ptr<const TableTransform> transform,
                     RejectSink* rejects)
      : in_(std::move(in)), transform_(std::move(transform)), rejects_(rejects) {}

  Result<bool> Next(std::vector<Row>* batch) override {
    while (true) {
      FERRY_ASSIGN_OR_RETURN(bool more, in_->Next(&input_));
      if (!more) {
        batch->clear();
        return false;
      }
      size_t kept = 0;
      for (Row& row : input_) {
        if (kept == batch->size()) batch->emplace_back();
        Result<bool> result = transform_->ApplyConsuming(&row, &(*batch)[kept], &column_);
        if (!result.has_value()) {
          if (result.error().code() != StatusCode::kInvalidArgument) return Err(result.error());
          if (rejects_ == nullptr) {
            const std::string key = transform_->KeyDisplay(row);
            return Err(result.error().WithContext(
                key.empty() ? fmt::format("table `{}`", transform_->source().name)
                            : fmt::format("table `{}` row {}", transform_->source().name, key)));
          }
          FERRY_RETURN_IF_ERROR(rejects_->Reject(*transform_, row, column_, result.error()));
          continue;
        }
        if (*result) ++kept;
      }
      batch->resize(kept);
      if (kept > 0) return true;
    }
  }

 private:
  std::unique_ptr<RowReader> in_;
  std::shared_ptr<const TableTransform> transform_;
  RejectSink* rejects_;
  std::vector<Row> input_;
  std::string column_;
};

}  // namespace

std::unique_ptr<RowReader> TransformRows(std::unique_ptr<RowReader> in,
                                         std::shared_ptr<const TableTransform> transform,
                                         RejectSink* rejects) {
  if (transform->identity()) return in;
  return std::make_unique<TransformingReader>(std::move(in), std::move(transform), rejects);
}

}  // namespace ferry
