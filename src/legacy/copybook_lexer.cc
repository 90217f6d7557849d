#include "legacy/copybook_lexer.h"

#include <cctype>
#include <cstring>

namespace ferry::legacy {
namespace {

constexpr int32_t kTabWidth = 8;
constexpr size_t kSequenceEnd = 6;  // columns 1-6
constexpr size_t kAreaStart = 7;    // column 8
constexpr size_t kAreaEnd = 72;     // column 72, inclusive

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
bool IsQuote(char c) { return c == '\'' || c == '"'; }

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// One source line with tabs expanded; `number` is 1-based.
struct Line {
  std::string text;
  int32_t number;
};

std::vector<Line> SplitLines(std::string_view text) {
  std::vector<Line> lines;
  int32_t number = 1;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = start;
    while (end < text.size() && text[end] != '\n' && text[end] != '\r') ++end;
    std::string expanded;
    for (size_t i = start; i < end; ++i) {
      if (text[i] == '\t') {
        do {
          expanded.push_back(' ');
        } while (expanded.size() % kTabWidth != 0);
      } else {
        expanded.push_back(text[i]);
      }
    }
    lines.push_back({std::move(expanded), number++});
    if (end >= text.size()) break;
    start = end + (text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n' ? 2 : 1);
  }
  return lines;
}

// Comment lines (`*`, `/`) and debugging lines (`D` then a blank) of fixed format.
bool IsFixedComment(const std::string& line) {
  if (line.size() <= kSequenceEnd) return false;
  const char indicator = line[kSequenceEnd];
  if (indicator == '*' || indicator == '/') return true;
  return (indicator == 'D' || indicator == 'd') &&
         (line.size() == kSequenceEnd + 1 || line[kSequenceEnd + 1] == ' ');
}

// kAuto: fixed format unless a line cannot be fixed format (copybook.h).
SourceFormat DetectFormat(const std::vector<Line>& lines) {
  for (const Line& line : lines) {
    const std::string& t = line.text;
    size_t first = 0;
    while (first < t.size() && t[first] == ' ') ++first;
    if (first >= t.size()) continue;
    if (first < kSequenceEnd) {
      if (t.compare(first, 2, "*>") == 0) return SourceFormat::kFree;
      size_t end = first;
      while (end < t.size() && std::isdigit(static_cast<unsigned char>(t[end]))) ++end;
      const size_t digits = end - first;
      if (digits >= 1 && digits <= 2 && (end == t.size() || t[end] == ' ' || t[end] == '.')) {
        return SourceFormat::kFree;
      }
    }
    if (!IsFixedComment(t)) {
      size_t last = t.size();
      while (last > 0 && t[last - 1] == ' ') --last;
      if (last > 80) return SourceFormat::kFree;
    }
  }
  return SourceFormat::kFixed;
}

// `>>SOURCE [FORMAT] [IS] FREE|FIXED` switches the format; other directives are skipped.
void ApplyDirective(std::string_view directive, SourceFormat* format) {
  std::string upper = Upper(directive);
  if (!upper.starts_with(">>SOURCE")) return;
  if (upper.find("FREE") != std::string::npos) *format = SourceFormat::kFree;
  if (upper.find("FIXED") != std::string::npos) *format = SourceFormat::kFixed;
}

// The code of every line, joined, with the source position of each character.
class CodeBuilder {
 public:
  void Append(char c, int32_t line, int32_t column) {
    code_.push_back(c);
    lines_.push_back(line);
    columns_.push_back(column);
    if (IsQuote(c)) {
      if (quote_ == 0) {
        quote_ = c;
        literal_line_ = line;
        literal_column_ = column;
      } else if (quote_ == c) {
        quote_ = 0;
      }
    }
  }
  void EndLine(int32_t line, int32_t column) { Append('\n', line, column); }
  // A continuation line continues a word: drop the line break and the blanks before it.
  void JoinWord() {
    while (!code_.empty() && IsSpace(code_.back())) Pop();
  }
  bool in_literal() const { return quote_ != 0; }
  char quote() const { return quote_; }
  int32_t literal_line() const { return literal_line_; }
  int32_t literal_column() const { return literal_column_; }
  std::string& code() { return code_; }
  const std::vector<int32_t>& lines() const { return lines_; }
  const std::vector<int32_t>& columns() const { return columns_; }

 private:
  void Pop() {
    code_.pop_back();
    lines_.pop_back();
    columns_.pop_back();
  }
  std::string code_;
  std::vector<int32_t> lines_, columns_;
  char quote_ = 0;
  int32_t literal_line_ = 0, literal_column_ = 0;
};

// Appends `text` (columns from `first_column`), cutting a `*>` comment outside literals.
void AppendCode(std::string_view text, int32_t line, int32_t first_column, CodeBuilder* out) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (!out->in_literal() && text[i] == '*' && i + 1 < text.size() && text[i + 1] == '>') break;
    out->Append(text[i], line, first_column + static_cast<int32_t>(i));
  }
}

Status Located(std::string_view source, int32_t line, int32_t column, std::string_view message) {
  return InvalidArgument("{}:{}:{}: {}", source, line, column, message);
}

}  // namespace

Result<std::vector<Token>> TokenizeCopybook(std::string_view text, std::string_view source_name,
                                            SourceFormat format) {
  std::vector<Line> lines = SplitLines(text);
  if (format == SourceFormat::kAuto) format = DetectFormat(lines);

  CodeBuilder code;
  for (const Line& line : lines) {
    const std::string& t = line.text;
    size_t first = 0;
    while (first < t.size() && t[first] == ' ') ++first;
    if (format == SourceFormat::kFixed) {
      if (t.size() <= kSequenceEnd) {
        if (!code.in_literal()) code.EndLine(line.number, static_cast<int32_t>(t.size()) + 1);
        continue;
      }
      if (IsFixedComment(t)) continue;
      const size_t area_end = std::min(t.size(), kAreaEnd);
      std::string_view area = area_end > kAreaStart
                                  ? std::string_view(t).substr(kAreaStart, area_end - kAreaStart)
                                  : std::string_view();
      size_t area_first = 0;
      while (area_first < area.size() && area[area_first] == ' ') ++area_first;
      if (area.substr(area_first).starts_with(">>")) {
        ApplyDirective(area.substr(area_first), &format);
        continue;
      }
      const int32_t area_column = static_cast<int32_t>(kAreaStart) + 1;
      if (t[kSequenceEnd] == '-') {
        if (area_first >= area.size()) continue;  // a blank continuation line
        if (code.in_literal()) {
          // The literal runs to column 72; its continuation starts after a quote.
          if (area[area_first] != code.quote()) {
            return Err(Located(source_name, line.number,
                               area_column + static_cast<int32_t>(area_first),
                               "a continuation line of a literal must start with a quote"));
          }
          AppendCode(area.substr(area_first + 1), line.number,
                     area_column + static_cast<int32_t>(area_first) + 1, &code);
        } else {
          code.JoinWord();
          AppendCode(area.substr(area_first), line.number,
                     area_column + static_cast<int32_t>(area_first), &code);
        }
      } else {
        if (code.in_literal()) {
          return Err(Located(source_name, code.literal_line(), code.literal_column(),
                             "literal not closed at the end of its line; close it, or continue "
                             "it with `-` in column 7 of the next line"));
        }
        if (t[kSequenceEnd] != ' ') {
          // Code that starts in the indicator column: a compiler would refuse it; Cobrix reads
          // it as code, and so do we.
          const size_t from = kSequenceEnd;
          AppendCode(std::string_view(t).substr(from, area_end - from), line.number,
                     static_cast<int32_t>(from) + 1, &code);
          code.EndLine(line.number, static_cast<int32_t>(area_end) + 1);
          continue;
        }
        AppendCode(area, line.number, area_column, &code);
      }
      if (code.in_literal()) {
        // Pad to column 72: the literal's trailing blanks are part of it.
        for (size_t col = area_end; col < kAreaEnd; ++col) {
          code.Append(' ', line.number, static_cast<int32_t>(col) + 1);
        }
      } else {
        code.EndLine(line.number, static_cast<int32_t>(area_end) + 1);
      }
    } else {
      if (std::string_view(t).substr(first).starts_with(">>")) {
        ApplyDirective(std::string_view(t).substr(first), &format);
        continue;
      }
      AppendCode(t, line.number, 1, &code);
      if (code.in_literal()) {
        return Err(Located(source_name, code.literal_line(), code.literal_column(),
                           "literal not closed at the end of its line"));
      }
      code.EndLine(line.number, static_cast<int32_t>(t.size()) + 1);
    }
  }
  if (code.in_literal()) {
    return Err(Located(source_name, code.literal_line(), code.literal_column(),
                       "literal not closed at the end of the copybook"));
  }

  const std::string& s = code.code();
  auto at = [&](size_t i, std::string_view message) {
    return Located(source_name, code.lines()[i], code.columns()[i], message);
  };
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    const bool separator_follows = i + 1 >= s.size() || IsSpace(s[i + 1]);
    if (IsSpace(c) || ((c == ',' || c == ';') && separator_follows)) {
      ++i;
      continue;
    }
    Token token;
    token.line = code.lines()[i];
    token.column = code.columns()[i];
    if (c == '.' && separator_follows) {
      token.kind = TokenKind::kPeriod;
      token.text = token.upper = ".";
      tokens.push_back(std::move(token));
      ++i;
      continue;
    }
    size_t quote_at = i;
    if (std::strchr("XxNnHhZzGg", c) != nullptr && i + 1 < s.size() && IsQuote(s[i + 1])) {
      token.hex_prefix = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      quote_at = i + 1;
    }
    if (IsQuote(s[quote_at])) {
      const char quote = s[quote_at];
      size_t k = quote_at + 1;
      std::string value;
      while (true) {
        if (k >= s.size() || s[k] == '\n') {
          return Err(at(quote_at, "literal not closed"));
        }
        if (s[k] == quote) {
          if (k + 1 < s.size() && s[k + 1] == quote) {
            value.push_back(quote);
            k += 2;
            continue;
          }
          ++k;
          break;
        }
        value.push_back(s[k++]);
      }
      token.kind = TokenKind::kLiteral;
      token.text = std::move(value);
      token.upper = Upper(token.text);
      tokens.push_back(std::move(token));
      i = k;
      continue;
    }
    size_t k = i;
    while (k < s.size() && !IsSpace(s[k]) && !IsQuote(s[k])) ++k;
    std::string_view word(s.data() + i, k - i);
    // A trailing period ends the entry; a trailing comma or semicolon is a separator.
    bool period = false;
    if (word.back() == '.') {
      period = true;
      word.remove_suffix(1);
    }
    while (!word.empty() && (word.back() == ',' || word.back() == ';')) word.remove_suffix(1);
    if (!word.empty()) {
      token.kind = TokenKind::kWord;
      token.text = std::string(word);
      token.upper = Upper(word);
      tokens.push_back(token);
    }
    if (period) {
      Token p;
      p.kind = TokenKind::kPeriod;
      p.text = p.upper = ".";
      p.line = code.lines()[i + word.size()];
      p.column = code.columns()[i + word.size()];
      tokens.push_back(std::move(p));
    }
    i = k;
  }
  return tokens;
}

}  // namespace ferry::legacy
