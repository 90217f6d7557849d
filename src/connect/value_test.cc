#include "connect/value.h"

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry {
namespace {

using ::testing::HasSubstr;

// The canonical text of a decimal, or the error message.
std::string Decimal(std::string_view text) {
  Result<Value> v = ParseDecimal(text);
  return v ? std::string(v->str()) : "error: " + v.error().message();
}

std::string ErrorOf(const Result<Value>& v) {
  return v ? "no error, got " + v->ToDisplay() : v.error().message();
}

// ---- decimals ------------------------------------------------------------------------------

TEST(DecimalTest, Normalises) {
  EXPECT_EQ(Decimal("-00012.3400"), "-12.34");
  EXPECT_EQ(Decimal("12.50"), "12.5");
  EXPECT_EQ(Decimal("+7"), "7");
  EXPECT_EQ(Decimal("1000"), "1000");
  EXPECT_EQ(Decimal("1000.000"), "1000");
  EXPECT_EQ(Decimal("0.000"), "0");
  EXPECT_EQ(Decimal("-0"), "0");
  EXPECT_EQ(Decimal("-0.00"), "0");
  EXPECT_EQ(Decimal(".5"), "0.5");
  EXPECT_EQ(Decimal("5."), "5");
  EXPECT_EQ(Decimal("-.050"), "-0.05");
  EXPECT_EQ(Decimal("0.0012"), "0.0012");
}

TEST(DecimalTest, ExponentForms) {
  EXPECT_EQ(Decimal("1.5E+3"), "1500");
  EXPECT_EQ(Decimal("1.5e3"), "1500");
  EXPECT_EQ(Decimal("15E-1"), "1.5");
  EXPECT_EQ(Decimal("-2.5e-3"), "-0.0025");
  EXPECT_EQ(Decimal("0e10"), "0");
  EXPECT_EQ(Decimal("1200e-2"), "12");
  EXPECT_EQ(Decimal("1e0"), "1");
}

TEST(DecimalTest, Specials) {
  EXPECT_EQ(Decimal("NaN"), "NaN");
  EXPECT_EQ(Decimal("nan"), "NaN");
  EXPECT_EQ(Decimal("Infinity"), "Infinity");
  EXPECT_EQ(Decimal("-Infinity"), "-Infinity");
  EXPECT_EQ(Decimal("+inf"), "Infinity");
}

TEST(DecimalTest, KeepsEveryDigit) {
  // Far more digits than a double holds: nothing may go through floating point.
  std::string digits = "123456789012345678901234567890.123456789012345678901234567891";
  EXPECT_EQ(Decimal(digits), digits);
  EXPECT_EQ(Decimal("0.1"), "0.1");
  EXPECT_EQ(Decimal("99999999999999999999999999999999999999"),
            "99999999999999999999999999999999999999");
}

TEST(DecimalTest, Errors) {
  EXPECT_EQ(Decimal(""),
            "error: decimal ``: no digits (expected [+-]digits[.digits][e[+-]digits], NaN or "
            "[+-]Infinity)");
  EXPECT_THAT(Decimal("12,5"), HasSubstr("decimal `12,5`: unexpected `,` at offset 2"));
  EXPECT_THAT(Decimal("1.2.3"), HasSubstr("unexpected `.` at offset 3"));
  EXPECT_THAT(Decimal("1e"), HasSubstr("decimal `1e`: the exponent has no digits"));
  EXPECT_THAT(Decimal("e5"), HasSubstr("unexpected `e` at offset 0"));
  EXPECT_THAT(Decimal("-"), HasSubstr("no digits"));
  EXPECT_THAT(Decimal(" 1"), HasSubstr("unexpected ` ` at offset 0"));
  EXPECT_THAT(Decimal("-NaN"), HasSubstr("NaN takes no sign"));
  EXPECT_THAT(Decimal("1e999999999999"),
              HasSubstr("exceed the largest decimal an engine stores (131072 and 16383"));
  EXPECT_THAT(Decimal("1e-16384"), HasSubstr("0 digits before and 16384 after"));
  EXPECT_EQ(Decimal("1e-16383").size(), 16385u);
}

TEST(DecimalTest, LongInputIsShortenedInErrors) {
  std::string text(1000, '1');
  text += "x";
  EXPECT_THAT(Decimal(text), HasSubstr("...(1001 bytes)`: unexpected `x` at offset 1000"));
}

// ---- integers, floats, booleans ------------------------------------------------------------

TEST(Int64Test, ParsesAndRejects) {
  EXPECT_EQ(ParseInt64("-42").value(), Value::Int64(-42));
  EXPECT_EQ(ParseInt64("+0042").value(), Value::Int64(42));
  EXPECT_EQ(ParseInt64("-9223372036854775808").value(),
            Value::Int64(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ(ErrorOf(ParseInt64("9223372036854775808")),
            "int64 `9223372036854775808`: out of the 64-bit range; map the column to decimal");
  EXPECT_EQ(ErrorOf(ParseInt64("1.0")), "int64 `1.0`: not an integer (expected [+-]digits)");
  EXPECT_EQ(ErrorOf(ParseInt64("")), "int64 ``: not an integer (expected [+-]digits)");
  EXPECT_EQ(ErrorOf(ParseInt64("+-1")), "int64 `+-1`: not an integer (expected [+-]digits)");
}

TEST(Float64Test, CanonicalNanInfinityAndZero) {
  Value nan = ParseFloat64("NaN").value();
  EXPECT_EQ(std::bit_cast<uint64_t>(nan.float64_value()), 0x7ff8000000000000ULL);
  // Every NaN payload and sign is the one NaN.
  double other_nan = std::bit_cast<double>(0xfff0000000000123ULL);
  ASSERT_TRUE(std::isnan(other_nan));
  EXPECT_EQ(Value::Float64(other_nan), nan);
  EXPECT_EQ(Value::Float64(-std::numeric_limits<double>::quiet_NaN()), nan);
  // -0 is +0.
  EXPECT_EQ(std::bit_cast<uint64_t>(Value::Float64(-0.0).float64_value()), 0u);
  EXPECT_EQ(ParseFloat64("-0").value(), Value::Float64(0.0));
  EXPECT_EQ(ParseFloat64("Infinity").value(),
            Value::Float64(std::numeric_limits<double>::infinity()));
  EXPECT_EQ(ParseFloat64("-Infinity").value(),
            Value::Float64(-std::numeric_limits<double>::infinity()));
  EXPECT_NE(ParseFloat64("Infinity").value(), ParseFloat64("-Infinity").value());
  EXPECT_EQ(ParseFloat64("inf").value(), ParseFloat64("+INFINITY").value());
}

TEST(Float64Test, ParsesTextForms) {
  EXPECT_EQ(ParseFloat64("0.1").value().float64_value(), 0.1);
  EXPECT_EQ(ParseFloat64("+1.5e3").value().float64_value(), 1500.0);
  EXPECT_EQ(ParseFloat64("1E-7").value(), ParseFloat64("0.0000001").value());
  EXPECT_EQ(ParseFloat64("4.9e-324").value().float64_value(),
            std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(ErrorOf(ParseFloat64("1e400")), "float64 `1e400`: out of the binary64 range");
  EXPECT_EQ(ErrorOf(ParseFloat64("1,5")),
            "float64 `1,5`: not a number (expected [+-]digits[.digits][e[+-]digits], NaN or "
            "[+-]Infinity)");
  EXPECT_THAT(ErrorOf(ParseFloat64("")), HasSubstr("float64 ``: not a number"));
  EXPECT_THAT(ErrorOf(ParseFloat64("0x10")), HasSubstr("not a number"));
}

TEST(Float64Test, FormatRoundTrips) {
  std::mt19937_64 random(7);
  for (int i = 0; i < 20'000; ++i) {
    double d = std::bit_cast<double>(random());
    Value v = Value::Float64(d);
    std::string text = FormatFloat64(v.float64_value());
    EXPECT_EQ(ParseFloat64(text).value(), v) << text;
  }
  EXPECT_EQ(FormatFloat64(1.0), "1.0");
  EXPECT_EQ(FormatFloat64(1e20), "1e+20");
  EXPECT_EQ(FormatFloat64(0.1), "0.1");
}

TEST(BoolTest, ParsesEngineForms) {
  for (std::string_view yes : {"t", "T", "true", "TRUE", "True", "1"}) {
    EXPECT_EQ(ParseBool(yes).value(), Value::Bool(true)) << yes;
  }
  for (std::string_view no : {"f", "F", "false", "FALSE", "0"}) {
    EXPECT_EQ(ParseBool(no).value(), Value::Bool(false)) << no;
  }
  EXPECT_EQ(ErrorOf(ParseBool("yes")), "bool `yes`: expected t, true, 1, f, false or 0");
  EXPECT_EQ(ErrorOf(ParseBool("")), "bool ``: expected t, true, 1, f, false or 0");
  EXPECT_THAT(ErrorOf(ParseBool("2")), HasSubstr("bool `2`"));
}

// ---- text ----------------------------------------------------------------------------------

TEST(Utf8Test, AcceptsWellFormed) {
  EXPECT_TRUE(ValidateUtf8("").ok());
  EXPECT_TRUE(ValidateUtf8("plain ascii").ok());
  EXPECT_TRUE(ValidateUtf8("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80").ok());  // é € 😀
  EXPECT_TRUE(ValidateUtf8(std::string_view("a\0b", 3)).ok());
  EXPECT_TRUE(ValidateUtf8("\xf4\x8f\xbf\xbf").ok());  // U+10FFFF
  EXPECT_TRUE(ValidateUtf8("\xed\x9f\xbf").ok());      // U+D7FF, just below the surrogates
}

TEST(Utf8Test, ReportsOffsetOfFirstInvalidSequence) {
  auto message = [](std::string_view s) { return ValidateUtf8(s).message(); };
  EXPECT_EQ(message("ab\xff"),
            "invalid UTF-8 at byte 2: a byte that never appears in UTF-8 (bytes ff); the source "
            "column holds bytes in another encoding, map it to bytes or convert it");
  EXPECT_THAT(message("abc\x80"), HasSubstr("at byte 3: a continuation byte with no lead byte"));
  EXPECT_THAT(message("\xc3\xa9x\xc0\xaf"), HasSubstr("at byte 3: an overlong encoding"));
  EXPECT_THAT(message("\xe0\x80\xaf"), HasSubstr("at byte 0: an overlong encoding, a surrogate"));
  EXPECT_THAT(message("ok\xed\xa0\x80"), HasSubstr("at byte 2: an overlong"));  // U+D800
  EXPECT_THAT(message("\xf4\x90\x80\x80"), HasSubstr("at byte 0:"));            // > U+10FFFF
  EXPECT_THAT(message("x\xe2\x82"), HasSubstr("at byte 1: a sequence cut short by the end"));
  EXPECT_THAT(message("\xe2\x82x"),
              HasSubstr("at byte 0: a sequence cut short by a byte that is not a continuation"));
  EXPECT_THAT(message("latin1 caf\xe9!"), HasSubstr("at byte 10:"));
  EXPECT_THAT(message("latin1 caf\xe9!"), HasSubstr("(bytes e9 21)"));
}

TEST(TextTest, ParseTextValidates) {
  EXPECT_EQ(ParseText("h\xc3\xa9").value(), Value::Text("h\xc3\xa9"));
  EXPECT_THAT(ErrorOf(ParseText("caf\xe9")), HasSubstr("text `caf\xe9`: invalid UTF-8 at byte 3"));
}

TEST(ValueTest, NullEmptyTextAndEmptyBytesDiffer) {
  EXPECT_TRUE(Value().is_null());
  EXPECT_EQ(Value(), Value::Null());
  EXPECT_NE(Value::Null(), Value::Text(""));
  EXPECT_NE(Value::Null(), Value::Bytes(""));
  EXPECT_NE(Value::Text(""), Value::Bytes(""));
  EXPECT_FALSE(Value::Text("").is_null());
}

TEST(ValueTest, KindsNeverCompareEqual) {
  EXPECT_NE(Value::Text("1"), Value::Int64(1));
  EXPECT_NE(Value::Int64(1), ParseDecimal("1").value());
  EXPECT_NE(ParseDecimal("1").value(), Value::Text("1"));
  EXPECT_NE(Value::Int64(1), Value::Float64(1.0));
  EXPECT_NE(Value::Int64(1), Value::Bool(true));
  EXPECT_NE(Value::Timestamp(5), Value::TimestampTz(5));
  EXPECT_NE(Value::Date(0), Value::Int64(0));
}

TEST(ValueTest, ToDisplay) {
  EXPECT_EQ(Value().ToDisplay(), "NULL");
  EXPECT_EQ(Value::Bool(true).ToDisplay(), "true");
  EXPECT_EQ(Value::Int64(-42).ToDisplay(), "-42");
  EXPECT_EQ(ParseDecimal("12.50").value().ToDisplay(), "12.5");
  EXPECT_EQ(Value::Float64(2.0).ToDisplay(), "2.0");
  EXPECT_EQ(Value::Float64(std::nan("")).ToDisplay(), "NaN");
  EXPECT_EQ(Value::Text("it's\n\\").ToDisplay(), "'it''s\\x0a\\\\'");
  EXPECT_EQ(Value::Text("").ToDisplay(), "''");
  EXPECT_EQ(Value::Bytes(std::string("\x00\xff", 2)).ToDisplay(), "x'00ff'");
  EXPECT_EQ(ParseDate("2024-02-29").value().ToDisplay(), "DATE '2024-02-29'");
  EXPECT_EQ(ParseTime("13:45:01.250").value().ToDisplay(), "TIME '13:45:01.25'");
  EXPECT_EQ(ParseTimestamp("2024-01-02 03:04:05.123456").value().ToDisplay(),
            "TIMESTAMP '2024-01-02 03:04:05.123456'");
  EXPECT_EQ(ParseTimestampTz("2024-01-02 03:04:05.5+05:30").value().ToDisplay(),
            "TIMESTAMPTZ '2024-01-01 21:34:05.5Z'");
  EXPECT_EQ(ParseUuid("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11").value().ToDisplay(),
            "UUID 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'");
  EXPECT_EQ(ParseJsonValue(R"({"b": "it's", "a": 1.0})").value().ToDisplay(),
            R"(JSON '{"a":1,"b":"it''s"}')");
}

// ---- dates and times -----------------------------------------------------------------------

TEST(DateTest, ParsesAndValidatesTheCalendar) {
  EXPECT_EQ(ParseDate("1970-01-01").value(), Value::Date(0));
  EXPECT_EQ(ParseDate("1969-12-31").value(), Value::Date(-1));
  EXPECT_EQ(ParseDate("2024-02-29").value(), Value::Date(19782));
  EXPECT_EQ(ParseDate("2000-02-29").value(), Value::Date(11016));
  EXPECT_EQ(ErrorOf(ParseDate("2023-02-29")),
            "date `2023-02-29`: day 29 is out of range for 2023-02 (expected YYYY-MM-DD[ BC] or "
            "[-]infinity)");
  EXPECT_THAT(ErrorOf(ParseDate("1900-02-29")), HasSubstr("day 29 is out of range for 1900-02"));
  EXPECT_THAT(ErrorOf(ParseDate("2024-04-31")), HasSubstr("day 31 is out of range"));
  EXPECT_THAT(ErrorOf(ParseDate("2024-13-01")), HasSubstr("month 13 is out of range"));
  EXPECT_THAT(ErrorOf(ParseDate("0000-00-00")), HasSubstr("date `0000-00-00`: month 0"));
  EXPECT_THAT(ErrorOf(ParseDate("2024-1-01")), HasSubstr("the month needs 2 digits"));
  EXPECT_THAT(ErrorOf(ParseDate("24-01-01")), HasSubstr("the year needs 4 to 7 digits"));
  EXPECT_THAT(ErrorOf(ParseDate("2024/01/01")), HasSubstr("expected `-` after the year"));
  EXPECT_THAT(ErrorOf(ParseDate("2024-01-01 00:00:00")),
              HasSubstr("unexpected ` 00:00:00` after the date"));
  EXPECT_THAT(ErrorOf(ParseDate("")), HasSubstr("date ``: the year needs"));
}

TEST(DateTest, PostgresqlForms) {
  EXPECT_EQ(ParseDate("infinity").value(), Value::Date(kDateInfinity));
  EXPECT_EQ(ParseDate("-infinity").value(), Value::Date(kDateMinusInfinity));
  EXPECT_EQ(ParseDate("10000-01-01").value(), Value::Date(2932897));
  // 1 BC is astronomical year 0.
  EXPECT_EQ(ParseDate("0001-01-01 BC").value(), ParseDate("0000-01-01").value());
  EXPECT_EQ(FormatDate(ParseDate("0044-03-15 BC").value().date_days()), "0044-03-15 BC");
  EXPECT_THAT(ErrorOf(ParseDate("0000-01-01 BC")), HasSubstr("there is no year 0 BC"));
  EXPECT_THAT(ErrorOf(ParseDate("9999999-01-01")), HasSubstr("out of the 32-bit day range"));
}

TEST(DateTest, FormatParseRoundTrip) {
  std::mt19937_64 random(11);
  std::uniform_int_distribution<int32_t> days(-2'000'000'000, 2'000'000'000);
  for (int i = 0; i < 20'000; ++i) {
    Value v = Value::Date(i < 1000 ? i * 37 - 18'000 : days(random));
    EXPECT_EQ(ParseDate(FormatDate(v.date_days())).value(), v) << FormatDate(v.date_days());
  }
  for (int32_t d : {kDateInfinity, kDateMinusInfinity}) {
    EXPECT_EQ(ParseDate(FormatDate(d)).value(), Value::Date(d));
  }
}

TEST(DateTest, CivilAlgorithmsAgreeDayByDay) {
  // Walk 800 years across the epoch, one day at a time, against a naive calendar.
  int64_t year = 1600;
  unsigned month = 1;
  unsigned day = 1;
  int64_t days = DaysFromCivil(1600, 1, 1);
  for (int i = 0; i < 800 * 366; ++i, ++days) {
    CivilDate c = CivilFromDays(days);
    ASSERT_EQ(c.year, year);
    ASSERT_EQ(c.month, month);
    ASSERT_EQ(c.day, day);
    ASSERT_EQ(DaysFromCivil(year, month, day), days);
    bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    bool short_month = month == 4 || month == 6 || month == 9 || month == 11;
    unsigned length = month == 2 ? (leap ? 29 : 28) : short_month ? 30 : 31;
    if (++day > length) {
      day = 1;
      if (++month > 12) {
        month = 1;
        ++year;
      }
    }
  }
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
}

TEST(TimeTest, Parses) {
  EXPECT_EQ(ParseTime("13:45:01.25").value(),
            Value::Time(((13 * 60 + 45) * 60 + 1) * 1'000'000LL + 250'000));
  EXPECT_EQ(ParseTime("00:00:00").value(), Value::Time(0));
  EXPECT_EQ(ParseTime("23:59:59.999999").value(), Value::Time(kMicrosPerDay - 1));
  EXPECT_EQ(ParseTime("24:00:00").value(), Value::Time(kMicrosPerDay));
  EXPECT_EQ(ParseTime("01:02:03.100000000").value(), ParseTime("01:02:03.1").value());
}

TEST(TimeTest, Errors) {
  EXPECT_EQ(ErrorOf(ParseTime("25:00:00")),
            "time `25:00:00`: 25:00:00 is not a time of day (expected HH:MM:SS[.ffffff], "
            "00:00:00 to 24:00:00)");
  EXPECT_THAT(ErrorOf(ParseTime("24:00:01")), HasSubstr("only 24:00:00 is allowed"));
  EXPECT_THAT(ErrorOf(ParseTime("12:60:00")), HasSubstr("12:60:00 is not a time of day"));
  EXPECT_THAT(ErrorOf(ParseTime("23:59:60")), HasSubstr("23:59:60 is not a time of day"));
  EXPECT_THAT(ErrorOf(ParseTime("1:02:03")), HasSubstr("the hour needs 2 digits"));
  EXPECT_THAT(ErrorOf(ParseTime("01:02")), HasSubstr("expected `:` after the minute"));
  EXPECT_THAT(ErrorOf(ParseTime("01:02:03.")), HasSubstr("expected digits after `.`"));
  EXPECT_THAT(ErrorOf(ParseTime("01:02:03.1234567")),
              HasSubstr("more than 6 fractional digits: sub-microsecond precision"));
  EXPECT_THAT(ErrorOf(ParseTime("01:02:03+00")), HasSubstr("unexpected `+00` after the time"));
  EXPECT_THAT(ErrorOf(ParseTime("-01:00:00")), HasSubstr("the hour needs 2 digits"));
}

TEST(TimeTest, FormatParseRoundTrip) {
  std::mt19937_64 random(13);
  std::uniform_int_distribution<int64_t> micros(0, kMicrosPerDay);
  for (int i = 0; i < 20'000; ++i) {
    int64_t t = i % 3 == 0 ? micros(random) / 1'000'000 * 1'000'000 : micros(random);
    EXPECT_EQ(ParseTime(FormatTime(t)).value(), Value::Time(t)) << FormatTime(t);
  }
  EXPECT_EQ(FormatTime(kMicrosPerDay), "24:00:00");
}

// ---- timestamps ----------------------------------------------------------------------------

constexpr int64_t kJan2 = 19724LL * kMicrosPerDay;  // 2024-01-02 00:00:00

TEST(TimestampTest, ParsesWallClock) {
  EXPECT_EQ(ParseTimestamp("2024-01-02 03:04:05.123456").value(),
            Value::Timestamp(kJan2 + (3 * 3600 + 4 * 60 + 5) * kMicrosPerSecond + 123'456));
  EXPECT_EQ(ParseTimestamp("2024-01-02T03:04:05.123456").value(),
            ParseTimestamp("2024-01-02 03:04:05.123456").value());
  EXPECT_EQ(ParseTimestamp("1970-01-01 00:00:00").value(), Value::Timestamp(0));
  EXPECT_EQ(ParseTimestamp("1969-12-31 23:59:59.999999").value(), Value::Timestamp(-1));
  EXPECT_EQ(ParseTimestamp("infinity").value(), Value::Timestamp(kTimestampInfinity));
  EXPECT_EQ(ParseTimestamp("-Infinity").value(), Value::Timestamp(kTimestampMinusInfinity));
  EXPECT_EQ(FormatTimestamp(ParseTimestamp("0044-03-15 12:00:00 BC").value().timestamp_micros()),
            "0044-03-15 12:00:00 BC");
}

TEST(TimestampTest, Errors) {
  EXPECT_EQ(ErrorOf(ParseTimestamp("2024-01-02 03:04:05+00")),
            "timestamp `2024-01-02 03:04:05+00`: a timestamp without time zone has no UTC "
            "offset; parse it as timestamptz (expected YYYY-MM-DD HH:MM:SS[.ffffff][ BC] or "
            "[-]infinity)");
  EXPECT_THAT(ErrorOf(ParseTimestamp("2023-02-29 00:00:00")),
              HasSubstr("timestamp `2023-02-29 00:00:00`: day 29 is out of range"));
  EXPECT_THAT(ErrorOf(ParseTimestamp("2024-01-02")),
              HasSubstr("expected ` ` or `T` between the date and the time"));
  EXPECT_THAT(ErrorOf(ParseTimestamp("2024-01-02 03:04")), HasSubstr("after the minute"));
  EXPECT_THAT(ErrorOf(ParseTimestamp("2024-01-02 03:04:05 x")), HasSubstr("unexpected ` x`"));
  EXPECT_THAT(ErrorOf(ParseTimestamp("294248-01-01 00:00:00")), HasSubstr("out of range"));
}

TEST(TimestampTzTest, OffsetsConvertToUtc) {
  Value utc = ParseTimestampTz("2024-01-02T03:04:05Z").value();
  EXPECT_EQ(utc, Value::TimestampTz(kJan2 + (3 * 3600 + 4 * 60 + 5) * kMicrosPerSecond));
  EXPECT_EQ(ParseTimestampTz("2024-01-02 08:34:05+05:30").value(), utc);
  EXPECT_EQ(ParseTimestampTz("2024-01-02 08:34:05+0530").value(), utc);
  EXPECT_EQ(ParseTimestampTz("2024-01-02 05:04:05+02").value(), utc);
  EXPECT_EQ(ParseTimestampTz("2024-01-01 22:04:05-05").value(), utc);
  EXPECT_EQ(ParseTimestampTz("2024-01-02 03:04:05+00").value(), utc);
  EXPECT_EQ(ParseTimestampTz("2024-01-02 03:04:05z").value(), utc);
  EXPECT_EQ(ParseTimestampTz("2024-01-02 03:13:26+00:09:21").value(), utc);  // Paris LMT
  EXPECT_EQ(ParseTimestampTz("2024-01-02 03:04:05.5+05:30").value(),
            Value::TimestampTz(utc.timestamp_micros() - 5 * 3600 * kMicrosPerSecond -
                               30 * 60 * kMicrosPerSecond + 500'000));
  // Across midnight and a year boundary.
  EXPECT_EQ(ParseTimestampTz("2024-01-01 01:00:00+02").value(),
            ParseTimestampTz("2023-12-31 23:00:00Z").value());
  EXPECT_EQ(ParseTimestampTz("0044-03-15 12:00:00+01 BC").value(),
            ParseTimestampTz("0044-03-15 11:00:00Z BC").value());
  EXPECT_EQ(ParseTimestampTz("infinity").value(), Value::TimestampTz(kTimestampInfinity));
}

TEST(TimestampTzTest, Errors) {
  EXPECT_EQ(ErrorOf(ParseTimestampTz("2024-01-02 03:04:05")),
            "timestamptz `2024-01-02 03:04:05`: a UTC offset (Z, +HH, +HH:MM) is required "
            "(expected YYYY-MM-DD HH:MM:SS[.ffffff](Z|+HH|+HH:MM|+HH:MM:SS)[ BC] or "
            "[-]infinity)");
  EXPECT_THAT(ErrorOf(ParseTimestampTz("2024-01-02 03:04:05+5")),
              HasSubstr("the offset hours need 2 digits"));
  EXPECT_THAT(ErrorOf(ParseTimestampTz("2024-01-02 03:04:05+16:00")),
              HasSubstr("offset 16:00:00 is out of range (at most 15:59:59)"));
  EXPECT_THAT(ErrorOf(ParseTimestampTz("2024-01-02 03:04:05+05:3")),
              HasSubstr("the offset minutes need 2 digits"));
  EXPECT_THAT(ErrorOf(ParseTimestampTz("2024-01-02 03:04:05 Europe/Paris")),
              HasSubstr("a UTC offset (Z, +HH, +HH:MM) is required"));
}

TEST(TimestampTest, FormatParseRoundTrip) {
  std::mt19937_64 random(17);
  // Years 4713 BC to 200000 AD, PostgreSQL's range and then some.
  std::uniform_int_distribution<int64_t> micros(-210'000'000'000'000'000LL,
                                                6'000'000'000'000'000'000LL);
  for (int i = 0; i < 20'000; ++i) {
    int64_t t = micros(random);
    if (i % 2 == 0) t = t / kMicrosPerSecond * kMicrosPerSecond;
    EXPECT_EQ(ParseTimestamp(FormatTimestamp(t)).value(), Value::Timestamp(t))
        << FormatTimestamp(t);
    EXPECT_EQ(ParseTimestampTz(FormatTimestampTz(t)).value(), Value::TimestampTz(t))
        << FormatTimestampTz(t);
  }
}

// ---- UUID ----------------------------------------------------------------------------------

TEST(UuidTest, FormsAndCase) {
  Value lower = ParseUuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").value();
  EXPECT_EQ(lower.uuid()[0], 0xa0);
  EXPECT_EQ(lower.uuid()[15], 0x11);
  EXPECT_EQ(ParseUuid("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11").value(), lower);
  EXPECT_EQ(ParseUuid("a0eebc999c0b4ef8bb6d6bb9bd380a11").value(), lower);
  EXPECT_EQ(ParseUuid("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}").value(), lower);
  EXPECT_EQ(FormatUuid(lower.uuid()), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
}

TEST(UuidTest, Errors) {
  EXPECT_EQ(ErrorOf(ParseUuid("a0eebc99")),
            "uuid `a0eebc99`: 8 characters (expected 32 hex digits, or 8-4-4-4-12 with hyphens)");
  EXPECT_EQ(ErrorOf(ParseUuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g")),
            "uuid `a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g`: `g` at offset 35 is not a hex digit");
  EXPECT_THAT(ErrorOf(ParseUuid("a0eebc999-c0b-4ef8-bb6d-6bb9bd380a11")),
              HasSubstr("expected `-` at offset 8"));
}

// ---- JSON ----------------------------------------------------------------------------------

std::string CanonicalJsonText(std::string_view text) {
  Result<Value> v = ParseJsonValue(text);
  return v ? std::string(v->str()) : "error: " + v.error().message();
}

TEST(JsonValueTest, SortsKeysAndDropsWhitespace) {
  EXPECT_EQ(CanonicalJsonText(R"( {"b": [1, "x", null], "a": {"t": true}} )"),
            R"({"a":{"t":true},"b":[1,"x",null]})");
  EXPECT_EQ(CanonicalJsonText(R"({"a": 1, "a": 2})"), R"({"a":2})");
  EXPECT_EQ(CanonicalJsonText("\"\\u00e9\\n\""), "\"\xc3\xa9\\n\"");
}

TEST(JsonValueTest, NumbersAreNormalisedByValue) {
  // 1, 1.0, 1e0, 10E-1 are one number: engines do not keep the spelling (value.h).
  for (std::string_view one : {"1", "1.0", "1.00", "1e0", "10E-1", "0.1e1"}) {
    EXPECT_EQ(CanonicalJsonText(one), "1") << one;
  }
  EXPECT_EQ(CanonicalJsonText("-0"), "0");
  EXPECT_EQ(CanonicalJsonText("-0.0"), "0");
  EXPECT_EQ(CanonicalJsonText("1.50"), "1.5");
  EXPECT_EQ(CanonicalJsonText("1e2"), "100");
  EXPECT_EQ(CanonicalJsonText("100.0"), "100");  // MySQL's spelling of 1e2
  EXPECT_EQ(CanonicalJsonText("1e20"), "100000000000000000000");
  EXPECT_EQ(CanonicalJsonText("100000000000000000000"), "100000000000000000000");
  EXPECT_EQ(CanonicalJsonText("1.5e-7"), "0.00000015");
  EXPECT_EQ(CanonicalJsonText("-12345678901234567"), "-12345678901234567");      // exact int64
  EXPECT_EQ(CanonicalJsonText("18446744073709551615"), "18446744073709551615");  // exact uint64
  // Beyond 64-bit integers, binary64 decides: these two are the same double.
  EXPECT_EQ(CanonicalJsonText("0.1"), CanonicalJsonText("0.1000000000000000000001"));
  EXPECT_EQ(CanonicalJsonText(R"({"price": 12.50, "qty": 3.0})"), R"({"price":12.5,"qty":3})");
}

TEST(JsonValueTest, ConstructedValues) {
  EXPECT_EQ(JsonValue(Json{{"x", 2.0}}).value(), ParseJsonValue(R"({"x":2})").value());
  EXPECT_THAT(JsonValue(Json(std::nan(""))).error().message(),
              HasSubstr("json: JSON has no NaN or Infinity"));
}

TEST(JsonValueTest, Errors) {
  EXPECT_THAT(CanonicalJsonText(R"({"a": })"),
              HasSubstr("json `{\"a\": }`:1:7: syntax error while parsing value"));
  EXPECT_THAT(CanonicalJsonText(""), HasSubstr("json ``:1:1:"));
  std::string deep(600, '[');
  deep += std::string(600, ']');
  EXPECT_THAT(CanonicalJsonText(deep), HasSubstr("nested deeper than 512 levels"));
  std::string ok(500, '[');
  ok += std::string(500, ']');
  EXPECT_EQ(CanonicalJsonText(ok), ok);
}

}  // namespace
}  // namespace ferry
