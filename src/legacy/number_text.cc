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

std::string_view FormatUnsigned(Uint128 value, char* buffer, size_t size) {
  char* end = buffer + size;
  char* p = end;
  // Two 64-bit halves of at most 19 digits each: avoids a 128-bit division per digit.
  constexpr uint64_t kTen19 = 10000000000000000000ULL;
  while (value >= kTen19) {
    uint64_t low = static_cast<uint64_t>(value % kTen19);
    value /= kTen19;
    for (int i = 0; i < 19; ++i) {
      *--p = static_cast<char>('0' + low % 10);
      low /= 10;
    }
  }
  uint64_t v = static_cast<uint64_t>(value);
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  return {p, static_cast<size_t>(end - p)};
}

void AppendDecimal(bool negative, std::string_view digits, int32_t scale, std::string* out) {
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  const bool zero = digits.empty() || digits == "0";
  if (zero) {
    out->push_back('0');
    if (scale > 0) {
      out->push_back('.');
      out->append(static_cast<size_t>(scale), '0');
    }
    return;
  }
  if (negative) out->push_back('-');
  if (scale <= 0) {
    out->append(digits);
    out->append(static_cast<size_t>(-scale), '0');
    return;
  }
  const size_t s = static_cast<size_t>(scale);
  if (digits.size() > s) {
    out->append(digits.substr(0, digits.size() - s));
    out->push_back('.');
    out->append(digits.substr(digits.size() - s));
  } else {
    *out += "0.";
    out->append(s - digits.size(), '0');
    out->append(digits);
  }
}

void AppendJavaFloat(float value, std::string* out) { AppendJava(value, out); }
void AppendJavaDouble(double value, std::string* out) { AppendJava(value, out); }

}  // namespace ferry::legacy
