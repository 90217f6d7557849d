#include "legacy/number_text.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace ferry::legacy {
namespace {

// value = 0.d1d2...dn x 10^exponent10 in Java's notation, from to_chars' shortest scientific
// form "d.ddde+XX".
template <typename T>
void AppendJava(T value, std::string* out) {
  if (std::isnan(value)) {
    *out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    *out += value < 0 ? "-Infinity" : "Infinity";
    return;
  }
  if (std::signbit(value)) out->push_back('-');
  value = std::fabs(value);
  if (value == 0) {
    *out += "0.0";
    return;
  }
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  std::string_view text(buf, static_cast<size_t>(result.ptr - buf));
  const size_t e = text.find('e');
  std::string digits;
  for (char c : text.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exponent = 0;
  std::from_chars(text.data() + e + (text[e + 1] == '+' ? 2 : 1), text.data() + text.size(),
                  exponent);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (value >= static_cast<T>(1e-3) && value < static_cast<T>(1e7)) {
    if (exponent >= 0) {
      const size_t integer_digits = static_cast<size_t>(exponent) + 1;
      if (digits.size() <= integer_digits) {
        *out += digits;
        out->append(integer_digits - digits.size(), '0');
        *out += ".0";
      } else {
        out->append(digits, 0, integer_digits);
        out->push_back('.');
        out->append(digits, integer_digits, std::string::npos);
      }
    } else {
      *out += "0.";
      out->append(static_cast<size_t>(-exponent - 1), '0');
      *out += digits;
    }
    return;
  }
  out->push_back(digits[0]);
  out->push_back('.');
  if (digits.size() > 1) {
    out->append(digits, 1, std::string::npos);
  } else {
    out->push_back('0');
  }
  out->push_back('E');
  *out += std::to_string(exponent);
}

}  // namespace

std::string_view FormatUnsigned64(uint64_t value, char* end) {
  static constexpr char kPairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  char* p = end;
  while (value >= 100) {
    const size_t pair = static_cast<size_t>(value % 100) * 2;
    value /= 100;
    *--p = kPairs[pair + 1];
    *--p = kPairs[pair];
  }
  if (value >= 10) {
    const size_t pair = static_cast<size_t>(value) * 2;
    *--p = kPairs[pair + 1];
    *--p = kPairs[pair];
  } else {
    *--p = static_cast<char>('0' + value);
  }
  return {p, static_cast<size_t>(end - p)};
}

std::string_view FormatUnsigned(Uint128 value, char* buffer, size_t size) {
  if (value <= ~uint64_t{0}) return FormatUnsigned64(static_cast<uint64_t>(value), buffer + size);
  char* end = buffer + size;
  char* p = end;
  // Two 64-bit halves of at most 19 digits each: avoids a 128-bit division per digit.
  constexpr uint64_t kTen19 = 10000000000000000000ULL;
  while (value >= kTen19) {
    auto low = static_cast<uint64_t>(value % kTen19);
    value /= kTen19;
    for (int i = 0; i < 19; ++i) {
      *--p = static_cast<char>('0' + low % 10);
      low /= 10;
    }
  }
  auto v = static_cast<uint64_t>(value);
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  return {p, static_cast<size_t>(end - p)};
}

namespace {

// Short copies as loops the compiler keeps inline: a call to memcpy costs more than the copy.
inline char* Copy(char* p, std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) p[i] = s[i];
  return p + s.size();
}
inline char* Zeros(char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = '0';
  return p + n;
}

}  // namespace

char* WriteDecimal(char* p, bool negative, std::string_view digits, int32_t scale) {
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  if (digits.empty() || digits == "0") {
    *p++ = '0';
    if (scale > 0) {
      *p++ = '.';
      p = Zeros(p, static_cast<size_t>(scale));
    }
    return p;
  }
  if (negative) *p++ = '-';
  if (scale <= 0) {
    p = Copy(p, digits);
    return Zeros(p, static_cast<size_t>(-scale));
  }
  const auto s = static_cast<size_t>(scale);
  if (digits.size() > s) {
    const size_t integer = digits.size() - s;
    p = Copy(p, digits.substr(0, integer));
    *p++ = '.';
    return Copy(p, digits.substr(integer));
  }
  *p++ = '0';
  *p++ = '.';
  p = Zeros(p, s - digits.size());
  return Copy(p, digits);
}

void AppendDecimal(bool negative, std::string_view digits, int32_t scale, std::string* out) {
  const size_t start = out->size();
  const size_t room = digits.size() + static_cast<size_t>(scale < 0 ? -scale : scale) + 3;
  out->resize_and_overwrite(start + room, [&](char* buffer, size_t) {
    return static_cast<size_t>(WriteDecimal(buffer + start, negative, digits, scale) - buffer);
  });
}

void AppendJavaFloat(float value, std::string* out) { AppendJava(value, out); }
void AppendJavaDouble(double value, std::string* out) { AppendJava(value, out); }

}  // namespace ferry::legacy
