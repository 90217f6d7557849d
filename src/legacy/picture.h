// COBOL PICTURE character strings: what a field holds, how many bytes it takes in DISPLAY form,
// and where its digits, sign and decimal point are.
//
// Categories follow the COBOL standard (ISO/IEC 1989:2014, 13.18.40 PICTURE clause) as IBM
// Enterprise COBOL implements it, with one extension Cobrix has: a `.` among `9`s and an
// optional leading `S` (`S9(3).99`, `9(8).9(2)`) is a numeric field with an explicit decimal
// point, read like any zoned number, rather than a numeric-edited one.
//
// Thread-safety: values; the function is thread-safe.
#ifndef FERRY_LEGACY_PICTURE_H_
#define FERRY_LEGACY_PICTURE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ferry::legacy {

enum class PictureCategory : uint8_t {
  kAlphabetic,          // A only
  kAlphanumeric,        // X, or a mix of A, X and 9 with at least one X or A
  kAlphanumericEdited,  // alphanumeric with insertion characters B, 0 or /
  kNumeric,             // 9, S, V, P (and Cobrix's explicit `.`)
  kNumericEdited,       // digits with Z, *, +, -, CR, DB, $, ., ,, B, 0 or /
};

std::string_view PictureCategoryName(PictureCategory category);

// What one character position of a numeric-edited picture holds.
enum class EditRole : uint8_t {
  kDigit,   // 9, Z, *, or a floating $ + - after the first one: a digit of the value
  kPoint,   // the decimal point `.`
  kInsert,  // , B 0 / and a fixed or leading floating $: shown, not part of the value
  kSign,    // a fixed + or -, or the first symbol of a floating + or - string
  kCredit,  // the first of the two positions of CR or DB
  kCreditTail,
};

struct EditPosition {
  char symbol;  // the picture symbol: '9', 'Z', '*', '+', '-', '$', '.', ',', 'B', '0', '/', 'C',
                // 'D'
  EditRole role;
  bool floating;  // part of a floating insertion string ($$$, +++, ---)
};

struct Picture {
  std::string text;  // upper case, as written: "S9(7)V99"
  PictureCategory category = PictureCategory::kAlphanumeric;
  // Character positions: the DISPLAY size in bytes, before a SIGN ... SEPARATE byte.
  int32_t size = 0;
  // Digit positions (9s, and the digit positions of an edited picture); P does not count.
  int32_t digits = 0;
  // The value is the digits read as an integer times 10^-scale. V or `.` contributes the digits
  // right of it, leading Ps one each; trailing Ps make scale negative (`9(5)PPP`: scale -3).
  int32_t scale = 0;
  // P scaling positions (leading or trailing): they count in the precision, not in the size.
  int32_t scaling_positions = 0;
  bool is_signed = false;       // S, or a sign symbol of an edited picture (+ - CR DB)
  bool explicit_point = false;  // a `.` in a kNumeric picture
  // kNumericEdited only: one entry per character position.
  std::vector<EditPosition> edit;

  bool is_numeric() const {
    return category == PictureCategory::kNumeric || category == PictureCategory::kNumericEdited;
  }
  // Digits of the value's precision: the digit positions and the P positions.
  int32_t precision() const { return digits + scaling_positions; }
};

// Parses a picture character string (without the PIC keyword). The error is InvalidArgument
// with a message naming the offending symbol, e.g. "PIC 9(3)V9V9: more than one V".
[[nodiscard]] Result<Picture> ParsePicture(std::string_view text);

}  // namespace ferry::legacy

#endif  // FERRY_LEGACY_PICTURE_H_
