// The type system every connector maps its columns onto, and the parsers that turn the text
// forms engines produce (PostgreSQL text output, MySQL/MariaDB, SQLite, CSV, JSON Lines) into
// one in-memory form per logical value.
//
// Why one form: verification hashes each row's canonical encoding (connect/canonical.h) on the
// source and on the target, so "1.50" from PostgreSQL numeric(10,2) and 1.5 from SQLite must
// become the same Value. Each kind below states its canonical form; two Values are equal exactly
// when their canonical encodings are equal.
//
// Kinds and their canonical forms:
//   kBool         false / true.
//   kInt64        a signed 64-bit integer. (MySQL BIGINT UNSIGNED beyond 2^63-1 maps to kDecimal.)
//   kDecimal      an exact decimal held as normalised text, never through a double: optional '-',
//                 no leading zeros, no trailing fractional zeros, no exponent, "-0" is "0":
//                 "-00012.3400" -> "-12.34", "1.5E+3" -> "1500". Scale is not kept, so
//                 numeric(10,2) 1.50 equals 1.5 (SQL compares them equal too). The specials
//                 PostgreSQL numeric allows are "NaN", "Infinity" and "-Infinity". At most
//                 131072 digits before the point and 16383 after (PostgreSQL numeric's limits,
//                 the widest of the engines).
//   kFloat64      an IEEE 754 binary64. One NaN (every payload and sign is the same NaN, as in
//                 PostgreSQL, where NaN = NaN), +Infinity, -Infinity, and -0.0 becomes +0.0:
//                 SQL compares them equal and MySQL and SQLite do not keep -0, so keeping the
//                 sign would report a difference no engine can see. Float64 is exact only when
//                 read in binary or as shortest round-trip text (PostgreSQL 12+, MySQL); 15
//                 significant digits (SQLite's text form) lose bits.
//   kText         UTF-8 text, compared byte for byte (no Unicode normalisation: no engine
//                 normalises either). NUL is valid UTF-8 and allowed here; PostgreSQL rejects it.
//   kBytes        any bytes.
//   kDate         days since 1970-01-01 in the proleptic Gregorian calendar (int32). Year 0 is
//                 1 BC (ISO 8601 astronomical numbering). PostgreSQL's 'infinity' and
//                 '-infinity' are INT32_MAX and INT32_MIN, as PostgreSQL stores them.
//   kTime         a time of day: microseconds since midnight, 0 to 86'400'000'000 inclusive
//                 (PostgreSQL allows 24:00:00). Not MySQL TIME intervals beyond a day.
//   kTimestamp    a wall-clock date and time with no zone (PostgreSQL timestamp, MySQL
//                 DATETIME): microseconds since 1970-01-01 00:00:00 of that wall clock.
//   kTimestampTz  an instant (PostgreSQL timestamptz, MySQL TIMESTAMP): microseconds since the
//                 Unix epoch in UTC. The zone rule is recorded by the kind itself: a wall-clock
//                 kTimestamp never equals an instant, even with the same number, because
//                 turning one into the other needs a zone, which is a transform, not a copy.
//                 'infinity' / '-infinity' are INT64_MAX / INT64_MIN for both timestamp kinds.
//   kUuid         16 bytes (RFC 4122 byte order, as the text form reads).
//   kJson         canonical JSON text (see ParseJsonValue).
// NULL is a state of its own with no kind: it is not empty text, not empty bytes, not zero.
// Columns carry their kind in the schema; a NULL needs none, so a NULL read from a SQLite column
// with no declared type equals a NULL read from PostgreSQL.
//
// Thread-safety: Values are plain values; the functions are thread-safe.
#ifndef FERRY_CONNECT_VALUE_H_
#define FERRY_CONNECT_VALUE_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/status.h"

namespace ferry {

enum class TypeKind : uint8_t {
  kBool,
  kInt64,
  kDecimal,
  kFloat64,
  kText,
  kBytes,
  kDate,
  kTime,
  kTimestamp,    // wall clock, no zone
  kTimestampTz,  // UTC instant
  kUuid,
  kJson,
};

// "bool", "int64", "decimal", "float64", "text", "bytes", "date", "time", "timestamp",
// "timestamptz", "uuid", "json".
std::string_view TypeKindName(TypeKind kind);

using UuidBytes = std::array<uint8_t, 16>;

inline constexpr int32_t kDateInfinity = INT32_MAX;
inline constexpr int32_t kDateMinusInfinity = INT32_MIN;
inline constexpr int64_t kTimestampInfinity = INT64_MAX;
inline constexpr int64_t kTimestampMinusInfinity = INT64_MIN;
inline constexpr int64_t kMicrosPerSecond = 1'000'000;
inline constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

class Value {
 public:
  // NULL.
  Value() = default;
  static Value Null() { return Value(); }

  static Value Bool(bool v) { return Value(TypeKind::kBool, Scalar{.i = v ? 1 : 0}); }
  static Value Int64(int64_t v) { return Value(TypeKind::kInt64, Scalar{.i = v}); }
  // Canonicalises: every NaN becomes the one quiet NaN, -0.0 becomes +0.0.
  static Value Float64(double v);
  // Precondition: `utf8` is valid UTF-8 (connectors whose engine guarantees it skip the check;
  // the others call ParseText). Not checked here because this is the hot path.
  static Value Text(std::string utf8) { return Value(TypeKind::kText, std::move(utf8)); }
  static Value Bytes(std::string bytes) { return Value(TypeKind::kBytes, std::move(bytes)); }
  static Value Date(int32_t days_since_epoch) {
    return Value(TypeKind::kDate, Scalar{.i = days_since_epoch});
  }
  // Precondition: 0 <= micros_since_midnight <= kMicrosPerDay.
  static Value Time(int64_t micros_since_midnight) {
    return Value(TypeKind::kTime, Scalar{.i = micros_since_midnight});
  }
  static Value Timestamp(int64_t wall_micros) {
    return Value(TypeKind::kTimestamp, Scalar{.i = wall_micros});
  }
  static Value TimestampTz(int64_t utc_micros) {
    return Value(TypeKind::kTimestampTz, Scalar{.i = utc_micros});
  }
  static Value Uuid(const UuidBytes& bytes) { return Value(bytes); }
  // Decimals and JSON come only from ParseDecimal and ParseJsonValue/JsonValue, which
  // normalise, so a Value of those kinds always holds its canonical text.

  // In-place forms for readers that refill one batch of rows: a value's string keeps its
  // capacity from row to row, so reading text columns does not allocate per value once the
  // batch has warmed up. Same preconditions as the factories above.
  void SetNull() {
    null_ = true;
    str_.clear();
  }
  void AssignText(std::string_view utf8) { AssignString(TypeKind::kText, utf8); }
  void AssignBytes(std::string_view bytes) { AssignString(TypeKind::kBytes, bytes); }
  // Precondition: `canonical` is already in ParseDecimal's canonical form (a decoder that
  // builds it digit by digit, like PostgreSQL's binary numeric); checked in debug builds.
  void AssignCanonicalDecimal(std::string_view canonical);

  bool is_null() const { return null_; }
  // Precondition for kind() and every accessor: !is_null(); the accessor matches kind().
  TypeKind kind() const { return kind_; }
  bool bool_value() const { return scalar_.i != 0; }
  int64_t int64_value() const { return scalar_.i; }
  double float64_value() const { return scalar_.d; }
  int32_t date_days() const { return static_cast<int32_t>(scalar_.i); }
  int64_t time_micros() const { return scalar_.i; }
  int64_t timestamp_micros() const { return scalar_.i; }  // kTimestamp and kTimestampTz
  const UuidBytes& uuid() const { return scalar_.uuid; }
  // kText (UTF-8), kBytes, kDecimal (canonical text) and kJson (canonical text).
  std::string_view str() const { return str_; }

  // Equal canonical encodings: same kind and same canonical form (so NaN == NaN here, unlike
  // SQL; NULL == NULL too). This is the equality verification uses.
  friend bool operator==(const Value& a, const Value& b);

  // For reports and logs, one line, the canonical form in SQL-literal style: NULL, true, 42,
  // -12.34, 1.5e+20, 'it''s' (control characters and backslash escaped as \xNN, \\),
  // x'00ff', DATE '2024-02-29', TIME '13:45:01.25', TIMESTAMP '2024-01-02 03:04:05.123456',
  // TIMESTAMPTZ '2024-01-01 21:34:05.5Z', UUID '…', JSON '{"a":1}'. Not injective across kinds
  // (int64 1 and decimal 1 both show "1"); name the kind beside it when that matters.
  std::string ToDisplay() const;

 private:
  friend Result<Value> ParseDecimal(std::string_view text);
  friend Result<Value> JsonValue(const Json& json);

  union Scalar {
    int64_t i;  // bool, int64, date, time, timestamps
    double d;
    UuidBytes uuid;
  };
  Value(TypeKind kind, Scalar scalar) : kind_(kind), null_(false), scalar_(scalar) {}
  Value(TypeKind kind, std::string str) : kind_(kind), null_(false), str_(std::move(str)) {}
  void AssignString(TypeKind kind, std::string_view s) {
    kind_ = kind;
    null_ = false;
    str_.assign(s.data(), s.size());
  }
  explicit Value(const UuidBytes& uuid)
      : kind_(TypeKind::kUuid), null_(false), scalar_{.uuid = uuid} {}

  TypeKind kind_ = TypeKind::kBool;
  bool null_ = true;
  Scalar scalar_{.i = 0};
  std::string str_;
};

// Parsers from engine text forms. Each error is InvalidArgument naming the input and the form
// expected, e.g. "date `2023-02-29`: day 29 is out of range for 2023-02 (expected YYYY-MM-DD)".
// None of them trims whitespace: engines never emit it, and a CSV reader decides its own policy.

// [+-]digits, leading zeros allowed.
[[nodiscard]] Result<Value> ParseInt64(std::string_view text);
// [+-](digits[.digits]|.digits)([eE][+-]digits), or NaN / [+-]Infinity / [+-]inf (any case).
[[nodiscard]] Result<Value> ParseDecimal(std::string_view text);
// Decimal or exponent notation, shortest round-trip text reads back exactly; NaN, Infinity,
// -Infinity, inf (any case). Out of binary64 range is an error, not infinity.
[[nodiscard]] Result<Value> ParseFloat64(std::string_view text);
// t, true, 1, f, false, 0 in any case.
[[nodiscard]] Result<Value> ParseBool(std::string_view text);
// Validates UTF-8 (ValidateUtf8), then Value::Text.
[[nodiscard]] Result<Value> ParseText(std::string_view text);
// YYYY-MM-DD (4 or more year digits, as PostgreSQL prints years after 9999), optional " BC"
// suffix (PostgreSQL), or infinity / -infinity. Validated against the calendar.
[[nodiscard]] Result<Value> ParseDate(std::string_view text);
// HH:MM:SS[.fraction], 00:00:00 to 24:00:00. Digits past the sixth fractional one must be
// zeros: rounding them would be engine-specific.
[[nodiscard]] Result<Value> ParseTime(std::string_view text);
// <date>( |T)<time>[ BC], or infinity / -infinity. An offset is an error: a wall-clock value
// has none.
[[nodiscard]] Result<Value> ParseTimestamp(std::string_view text);
// <date>( |T)<time><offset>[ BC], offset Z, ±HH, ±HH:MM, ±HHMM or ±HH:MM:SS (PostgreSQL prints
// seconds for historic local mean time), converted to UTC. The offset is required: without one
// the instant is ambiguous. (Read MySQL TIMESTAMP with time_zone='+00:00' and append Z, or use
// ParseTimestamp and Value::TimestampTz.)
[[nodiscard]] Result<Value> ParseTimestampTz(std::string_view text);
// 8-4-4-4-12 hex digits with hyphens, or 32 without, any case, optionally in braces.
[[nodiscard]] Result<Value> ParseUuid(std::string_view text);

// JSON. The canonical text is CanonicalJson's rule (keys sorted by UTF-8 bytes, no whitespace,
// minimal string escapes) with one change: numbers are normalised by value, so 1, 1.0, 1e0 and
// 10E-1 are the same JSON. Why: engines do not keep number spelling. PostgreSQL jsonb compares
// 1.0 = 1 (and prints "1.0"), MySQL stores non-integers as doubles and prints 1.50 as 1.5 and
// 1e2 as 100.0, SQLite keeps the text. Keeping the spelling would report differences between
// equal documents. A number's canonical form is the ParseDecimal form of its value: exact for
// integers that fit 64 bits; otherwise the shortest round-trip decimal of the nearest binary64
// (RFC 8259 section 6 and I-JSON, RFC 7493 section 2.2, make binary64 the interoperable
// range), so 0.1 and 0.1000000000000000000001 are the same JSON. Duplicate keys: the last wins
// (as jsonb and MySQL do). Nesting deeper than 512 levels is an error.
[[nodiscard]] Result<Value> ParseJsonValue(std::string_view text);
[[nodiscard]] Result<Value> JsonValue(const Json& json);

// OK for well-formed UTF-8 (RFC 3629 section 4: no overlong forms, no surrogates, nothing above
// U+10FFFF); otherwise InvalidArgument "invalid UTF-8 at byte <offset>: ..." where offset is
// that of the first byte of the first ill-formed sequence.
[[nodiscard]] Status ValidateUtf8(std::string_view text);

// Canonical text forms of the temporal kinds, which the parsers read back: "2024-02-29",
// "0044-03-15 BC", "13:45:01.25" (fraction without trailing zeros, none when zero),
// "2024-01-02 03:04:05.123456", "infinity". FormatTimestampTz is FormatTimestamp + "Z".
std::string FormatDate(int32_t days);
std::string FormatTime(int64_t micros);
std::string FormatTimestamp(int64_t micros);
std::string FormatTimestampTz(int64_t micros);
// Lower case, hyphenated.
std::string FormatUuid(const UuidBytes& uuid);
// Shortest round-trip text; NaN, Infinity, -Infinity; always with '.' or an exponent so that it
// reads as a float ("1.0", "1e+20").
std::string FormatFloat64(double v);

// Calendar arithmetic (proleptic Gregorian), from H. Hinnant, "chrono-Compatible Low-Level Date
// Algorithms", days_from_civil / civil_from_days. Years are astronomical (0 = 1 BC).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
struct CivilDate {
  int64_t year;
  unsigned month;
  unsigned day;
};
CivilDate CivilFromDays(int64_t days);

}  // namespace ferry

#endif  // FERRY_CONNECT_VALUE_H_
