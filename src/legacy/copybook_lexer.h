// The copybook parser's first stage (internal to the legacy module): source lines to tokens,
// in fixed or free format (copybook.h describes both), with the line and column of each.
#ifndef FERRY_LEGACY_COPYBOOK_LEXER_H_
#define FERRY_LEGACY_COPYBOOK_LEXER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "legacy/copybook.h"

namespace ferry::legacy {

enum class TokenKind : uint8_t {
  kWord,     // a COBOL word, a number or a picture string: anything between separators
  kLiteral,  // a quoted literal (text without the quotes), or X'..' with text as written
  kPeriod,   // the separator period that ends an entry
};

struct Token {
  TokenKind kind = TokenKind::kWord;
  std::string text;   // as written (a kLiteral: its content, quotes removed)
  std::string upper;  // text in upper case, for keywords and names
  int32_t line = 0;
  int32_t column = 0;
  char hex_prefix = 0;  // 'X' for X'..' literals
};

// Splits `text` into tokens. Errors (an unterminated literal) are InvalidArgument
// "<source>:<line>:<column>: ...".
[[nodiscard]] Result<std::vector<Token>> TokenizeCopybook(std::string_view text,
                                                          std::string_view source_name,
                                                          SourceFormat format);

}  // namespace ferry::legacy

#endif  // FERRY_LEGACY_COPYBOOK_LEXER_H_
