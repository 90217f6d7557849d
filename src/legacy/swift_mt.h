// SWIFT FIN (MT) messages: the five blocks, block 4's fields with their tags, letter options and
// lines, and the checks a translator needs before it trusts a field (docs/swift.md).
//
// The parser follows the FIN block structure of the SWIFT User Handbook ("FIN Service
// Description", "Message structure"): {1: basic header}{2: application header}{3: user header}
// {4: text}{5: trailer}. Block 4 is a sequence of fields, each starting on a new line with
// ":TAG:" (two digits and an optional letter option), ending with a line "-}". Field content uses
// the SWIFT X character set (Standards MT General Information, "Character sets"):
//   a-z A-Z 0-9 / - ? : ( ) . , ' + space, and CR LF between lines;
// no line of a field may start with ':' or '-'.
//
// Tolerated on purpose (real traffic and the reference cases have them): LF line ends instead of
// CRLF, a block 1 without its "F01" prefix (its fields are then cut at their fixed positions, as
// other translators do), and extra '}' or blanks after the last block.
//
// Lifetime: an MtMessage holds string_views into the text given to ParseMt; keep the text alive
// as long as the message. Thread-safety: values; ParseMt is thread-safe.
#ifndef FERRY_LEGACY_SWIFT_MT_H_
#define FERRY_LEGACY_SWIFT_MT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ferry::legacy {

// One field of block 4. `tag` is the number and option as written ("50K", "20", "59").
struct MtField {
  std::string_view tag;
  std::string_view value;  // the content, lines separated by CRLF (or LF) as in the message
  uint32_t line = 0;       // 1-based line of the ":TAG:" in the whole message
  uint32_t column = 0;     // 1-based byte column where the content starts

  std::string_view number() const { return tag.substr(0, 2); }
  char option() const { return tag.size() > 2 ? tag[2] : '\0'; }
};

// A tag and value of block 3 or block 5 ({121:...}, {CHK:...}).
struct MtTagValue {
  std::string_view tag;
  std::string_view value;
};

struct MtMessage {
  // Block 1: the whole content, and its parts at their fixed positions (empty when too short).
  std::string_view block1;
  char application_id = '\0';         // F (FIN), A (GPA), L (login)
  std::string_view service_id;        // "01"
  std::string_view logical_terminal;  // 12 characters: BIC8, terminal code, branch
  std::string_view session;           // 4 digits
  std::string_view sequence;          // 6 digits

  // Block 2.
  std::string_view block2;
  char direction = '\0';          // 'I' input (to SWIFT) or 'O' output (from SWIFT)
  std::string_view message_type;  // "103"
  std::string_view receiver;      // I: the receiver's 12-character address
  std::string_view input_time;    // O: HHMM the sender sent it
  std::string_view mir_date;      // O: YYMMDD of the message input reference
  std::string_view mir_terminal;  // O: the sender's 12-character address
  std::string_view output_date;   // O: YYMMDD
  std::string_view output_time;   // O: HHMM
  char priority = '\0';           // N, U or S; '\0' when absent

  std::vector<MtTagValue> block3;
  std::vector<MtField> fields;  // block 4 in order
  std::vector<MtTagValue> block5;

  // The first block 3 value of `tag`, or empty.
  std::string_view UserHeader(std::string_view tag) const;
  // "103", or "202COV"/"205COV" when block 3 has {119:COV}.
  std::string Kind() const;
};

// The X character set (FIN's "x" format): true for the bytes a field line may hold.
bool IsSwiftXChar(char c);

// Parses a FIN message. Errors are InvalidArgument naming where and what:
//   "block 4, field :32A: (line 5, column 6): ..."; "block 2 (line 1, column 32): ...".
[[nodiscard]] Result<MtMessage> ParseMt(std::string_view text);

// Checks block 4 against the message type's rules: mandatory fields present (by tag and
// option), letter options allowed, field formats (dates, currencies, amounts, BICs, codes, line
// counts and lengths). Known types: 103, 202, 205 and their COV variants; others only get the
// character-set checks ParseMt already made.
[[nodiscard]] Status ValidateMt(const MtMessage& message);

// The lines of a field's content, without line ends.
std::vector<std::string_view> FieldLines(std::string_view value);

// "136500," -> "136500", "7138,40" -> "7138.4", "0,5" -> "0.5": the ISO 20022 decimal of an MT
// amount (digits and one decimal comma). Empty when `amount` is not one.
std::string MtAmountToDecimal(std::string_view amount);
// The inverse: "7138.4" -> "7138,4", "100" -> "100,". Empty when `decimal` is not a plain
// non-negative decimal.
std::string DecimalToMtAmount(std::string_view decimal);

// A BIC of 8 or 11 characters: 4 letters (institution), 2 letters (country), 2 letters or
// digits (location), optionally 3 (branch). `strict` false also accepts digits in the
// institution code, as some test messages have.
bool IsBic(std::string_view text, bool strict = true);

}  // namespace ferry::legacy

#endif  // FERRY_LEGACY_SWIFT_MT_H_
