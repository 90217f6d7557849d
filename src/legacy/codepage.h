// Single-byte code pages: EBCDIC and ASCII text fields to Unicode, and back.
//
// Every table is built once, on first use, from glibc's iconv (`iconv_open("UTF-8", "IBM037")`
// and so on); none is written out by hand. Two families of names:
//
// - `ibm-037`, `ibm-273`, `ibm-500`, `ibm-875`, `ibm-1047`, `ibm-1140` ... `ibm-1148`: IBM's
//   tables exactly as iconv has them (CCSID 37, 273, ...; control characters included, 0x25 is
//   LF and 0x15 is NEL). Bytes a page leaves unassigned (six in 875) are invalid.
// - Cobrix's names, with Cobrix's conventions (docs/legacy.md, "Code pages"): `common` (the
//   invariant characters of EBCDIC, everything else a space), `common_extended` (plus the
//   control characters, C1 controls as U+001A), `cp037` (C0 controls as spaces),
//   `cp037_extended`, `cp273`, `cp500`, `cp875`, `cp1047`, `cp1140` ... `cp1148`: the IBM table
//   with C1 controls as spaces (but 0x15 stays U+0085), and 0x0D read as LF, 0x25 as CR.
// - `ascii` (bytes 0x80 and above are U+FFFD) and `latin1` (ISO-8859-1), for ASCII data. In
//   both, bytes below 0x20 are dropped from text, as Cobrix drops them.
//
// Thread-safety: Get is thread-safe; a CodePage is immutable.
#ifndef FERRY_LEGACY_CODEPAGE_H_
#define FERRY_LEGACY_CODEPAGE_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace ferry::legacy {

class CodePage {
 public:
  // The code page of that name (case-insensitive; `cp37`, `037`, `IBM037` and `ibm037` are
  // accepted too). NotFound names the supported ones.
  [[nodiscard]] static Result<const CodePage*> Get(std::string_view name);
  // Every name Get accepts in its canonical spelling, as listed in the header comment.
  static std::vector<std::string> Names();

  const std::string& name() const { return name_; }
  // The glibc converter the table was built from ("IBM037"), empty for `ascii`.
  const std::string& iconv_name() const { return iconv_name_; }
  bool is_ebcdic() const { return ebcdic_; }

  // Whether the byte stands for a character (or, for ASCII's control bytes, for nothing). An
  // invalid byte's text is U+FFFD.
  bool valid(uint8_t byte) const { return entries_[byte].valid; }
  // Whether every byte is valid (all but a few IBM tables): text needs no check.
  bool all_valid() const { return all_valid_; }
  // The byte's UTF-8 text: one character, or nothing (a dropped ASCII control byte).
  std::string_view Utf8(uint8_t byte) const {
    const Entry& e = entries_[byte];
    return {e.utf8, e.utf8_size};
  }
  // The same text escaped for a JSON string, as Jackson escapes it: `"` and `\`, \b \t \n \f
  // \r, other characters below U+0020 as \u00XX (upper-case hex); everything else raw UTF-8.
  std::string_view JsonEscaped(uint8_t byte) const {
    const Entry& e = entries_[byte];
    return {e.json, e.json_size};
  }
  // The byte's JSON text when it is one ASCII character, 0 otherwise (the hot path of text).
  char JsonChar(uint8_t byte) const { return json_char_[byte]; }
  // Whether trimming removes the byte's character (Java's String.trim: U+0000 to U+0020).
  bool trimmable(uint8_t byte) const { return entries_[byte].trimmable; }
  char32_t CodePoint(uint8_t byte) const { return entries_[byte].code_point; }

  // The byte for a character, for encoding text back: false when the page has none.
  bool Encode(char32_t code_point, uint8_t* byte) const;
  // The page's space (0x40 in EBCDIC) and digit zero (0xF0), for padding.
  uint8_t space() const { return ebcdic_ ? 0x40 : 0x20; }

  // Builds a page from a 256-entry table of code points (kUnmapped for invalid bytes); tests
  // use it for custom tables such as Cobrix's test9 one.
  static constexpr char32_t kUnmapped = 0xFFFFFFFF;
  static constexpr char32_t kDropped = 0xFFFFFFFE;  // an ASCII control byte: no character
  CodePage(std::string name, std::string iconv_name, bool ebcdic,
           const std::array<char32_t, 256>& code_points);

 private:
  struct Entry {
    char32_t code_point = kUnmapped;
    bool valid = false;
    bool trimmable = false;
    uint8_t utf8_size = 0;
    uint8_t json_size = 0;
    char utf8[4] = {};
    char json[6] = {};
  };

  std::string name_;
  std::string iconv_name_;
  bool ebcdic_ = true;
  bool all_valid_ = true;
  std::array<Entry, 256> entries_;
  std::array<char, 256> json_char_{};
  std::unordered_map<char32_t, uint8_t> reverse_;
};

// Appends the UTF-8 form of a code point.
void AppendUtf8(char32_t code_point, std::string* out);

}  // namespace ferry::legacy

#endif  // FERRY_LEGACY_CODEPAGE_H_
