// Numbers as text: exact decimals from their digits and scale, and floating-point values the way
// Java prints them (Cobrix's expected output is what Spark printed through Jackson).
//
// Thread-safety: the functions are thread-safe.
#ifndef FERRY_LEGACY_NUMBER_TEXT_H_
#define FERRY_LEGACY_NUMBER_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::legacy {

// Unsigned 128-bit integers: binary fields of up to 16 bytes (38 digits).
__extension__ using Uint128 = unsigned __int128;
__extension__ using Int128 = __int128;

// Writes the decimal digits of `value` (no leading zeros; "0" for zero) at the end of `buffer`
// (at least 40 bytes) and returns them.
std::string_view FormatUnsigned(Uint128 value, char* buffer, size_t size);
// The same for 64 bits, ending at `end` (20 bytes of room before it).
std::string_view FormatUnsigned64(uint64_t value, char* end);

// Appends digits x 10^-scale exactly: `digits` has no sign and no leading zeros ("0" or "" for
// zero). A positive scale prints exactly that many fraction digits (30.50, 0.00, -0.0030503); a
// negative one appends zeros (30503000); zero is never negative (a negative zero prints as 0).
void AppendDecimal(bool negative, std::string_view digits, int32_t scale, std::string* out);
// The same into a buffer with room for digits.size() + |scale| + 3 bytes; returns the end.
char* WriteDecimal(char* p, bool negative, std::string_view digits, int32_t scale);

// Java's Float.toString and Double.toString: the shortest digits that read back as the same
// value, plain from 10^-3 up to 10^7 ("70057.6", "100.0"), else computerized scientific notation
// ("-3.0503932576762E9", "1.0E-4"); "NaN", "Infinity", "-Infinity".
void AppendJavaFloat(float value, std::string* out);
void AppendJavaDouble(double value, std::string* out);

}  // namespace ferry::legacy

#endif  // FERRY_LEGACY_NUMBER_TEXT_H_
