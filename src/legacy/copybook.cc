#include "legacy/copybook.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <ranges>
#include <set>

#include <fmt/format.h>

#include "legacy/copybook_lexer.h"

namespace ferry::legacy {
namespace {

// One data description entry as written, before the tree is built.
struct Entry {
  int32_t level = 0;
  std::string name;
  bool named = false;
  int32_t line = 0, column = 0;
  std::optional<Picture> picture;
  int32_t picture_line = 0, picture_column = 0;
  std::optional<Usage> usage;
  std::optional<SignPosition> sign;
  bool sign_separate = false;
  bool sync = false, blank_when_zero = false, justified = false;
  bool has_occurs = false;
  int32_t occurs_min = 1, occurs_max = 1;
  std::vector<std::string> depending_on;  // name, then its qualifiers (OF/IN)
  int32_t depending_line = 0, depending_column = 0;
  std::vector<std::string> redefines;
  int32_t redefines_line = 0, redefines_column = 0;
  std::vector<std::string> renames_first, renames_last;
  std::vector<ConditionValue> values;  // level 88
};

// Words that start a clause: after a level number, one of these means the entry has no name.
const std::set<std::string, std::less<>>& ClauseWords() {
  static const auto* words = new std::set<std::string, std::less<>>{"PIC",
                                                                    "PICTURE",
                                                                    "USAGE",
                                                                    "REDEFINES",
                                                                    "OCCURS",
                                                                    "VALUE",
                                                                    "VALUES",
                                                                    "SIGN",
                                                                    "LEADING",
                                                                    "TRAILING",
                                                                    "SYNC",
                                                                    "SYNCHRONIZED",
                                                                    "JUST",
                                                                    "JUSTIFIED",
                                                                    "BLANK",
                                                                    "EXTERNAL",
                                                                    "GLOBAL",
                                                                    "RENAMES",
                                                                    "DISPLAY",
                                                                    "BINARY",
                                                                    "COMP",
                                                                    "COMPUTATIONAL",
                                                                    "COMP-0",
                                                                    "COMP-1",
                                                                    "COMP-2",
                                                                    "COMP-3",
                                                                    "COMP-4",
                                                                    "COMP-5",
                                                                    "COMPUTATIONAL-0",
                                                                    "COMPUTATIONAL-1",
                                                                    "COMPUTATIONAL-2",
                                                                    "COMPUTATIONAL-3",
                                                                    "COMPUTATIONAL-4",
                                                                    "COMPUTATIONAL-5",
                                                                    "PACKED-DECIMAL",
                                                                    "INDEX",
                                                                    "POINTER",
                                                                    "NATIONAL",
                                                                    "IS",
                                                                    "ASCENDING",
                                                                    "DESCENDING",
                                                                    "INDEXED",
                                                                    "DEPENDING",
                                                                    "TIMES",
                                                                    "TO",
                                                                    "KEY",
                                                                    "BY",
                                                                    "ON",
                                                                    "THRU",
                                                                    "THROUGH",
                                                                    "WHEN",
                                                                    "ZERO",
                                                                    "ZEROS",
                                                                    "ZEROES",
                                                                    "SEPARATE",
                                                                    "CHARACTER",
                                                                    "ARE"};
  return *words;
}

std::optional<Usage> UsageOf(std::string_view word) {
  if (word == "DISPLAY") return Usage::kDisplay;
  if (word == "COMP" || word == "COMPUTATIONAL" || word == "COMP-0" || word == "COMPUTATIONAL-0" ||
      word == "COMP-4" || word == "COMPUTATIONAL-4" || word == "BINARY") {
    return Usage::kBinary;
  }
  if (word == "COMP-5" || word == "COMPUTATIONAL-5") return Usage::kNativeBinary;
  if (word == "COMP-3" || word == "COMPUTATIONAL-3" || word == "PACKED-DECIMAL") {
    return Usage::kPacked;
  }
  if (word == "COMP-1" || word == "COMPUTATIONAL-1") return Usage::kFloat;
  if (word == "COMP-2" || word == "COMPUTATIONAL-2") return Usage::kDouble;
  return std::nullopt;
}

bool IsUnsupportedUsage(std::string_view word) {
  return word == "INDEX" || word == "POINTER" || word == "PROCEDURE-POINTER" ||
         word == "FUNCTION-POINTER" || word == "NATIONAL" || word == "DISPLAY-1" ||
         word == "COMP-6" || word == "COMPUTATIONAL-6" || word == "COMP-X" || word == "COMP-N" ||
         word == "UTF-8" || word == "OBJECT";
}

bool IsFigurative(std::string_view word, std::string* canonical) {
  static const std::pair<std::string_view, std::string_view> kFigurative[] = {
      {"ZERO", "ZERO"},
      {"ZEROS", "ZERO"},
      {"ZEROES", "ZERO"},
      {"SPACE", "SPACE"},
      {"SPACES", "SPACE"},
      {"HIGH-VALUE", "HIGH-VALUE"},
      {"HIGH-VALUES", "HIGH-VALUE"},
      {"LOW-VALUE", "LOW-VALUE"},
      {"LOW-VALUES", "LOW-VALUE"},
      {"QUOTE", "QUOTE"},
      {"QUOTES", "QUOTE"},
      {"NULL", "NULL"},
      {"NULLS", "NULL"}};
  for (const auto& [name, value] : kFigurative) {
    if (word == name) {
      *canonical = std::string(value);
      return true;
    }
  }
  return false;
}

bool IsNumericLiteral(std::string_view word) {
  if (word.empty()) return false;
  size_t i = (word[0] == '+' || word[0] == '-') ? 1 : 0;
  bool digit = false;
  for (; i < word.size(); ++i) {
    if (word[i] >= '0' && word[i] <= '9') {
      digit = true;
    } else if (word[i] != '.' && word[i] != ',') {
      return false;
    }
  }
  return digit;
}

bool ParseInt(std::string_view text, int32_t* value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// Bytes of a binary item of `digits` digits: IBM's 2, 4 and 8 bytes up to 18 digits, and
// beyond that as Cobrix sizes them: the bytes that hold 10^digits (with a sign bit), rounded up.
int32_t BinarySize(int32_t digits) {
  if (digits <= 4) return 2;
  if (digits <= 9) return 4;
  if (digits <= 18) return 8;
  // ceil((log2(10) * digits + 1) / 8), in integers: log2(10) ~ 3.321928094887362.
  const double bits = 3.321928094887362 * digits + 1.0;
  return static_cast<int32_t>((bits + 7.999999) / 8.0);
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, std::string_view source)
      : tokens_(std::move(tokens)), source_(source) {}

  Result<std::vector<Entry>> ParseEntries() {
    std::vector<Entry> entries;
    while (!AtEnd()) {
      const Token& t = Peek();
      if (t.kind == TokenKind::kPeriod) {
        Next();  // a stray period
        continue;
      }
      if (t.kind == TokenKind::kWord &&
          (t.upper == "EJECT" || t.upper == "SKIP1" || t.upper == "SKIP2" || t.upper == "SKIP3")) {
        Next();
        continue;
      }
      if (t.kind == TokenKind::kWord && (t.upper == "COPY" || t.upper == "REPLACE")) {
        return Err(
            Unimplemented("{}: {} statements are not expanded; expand the copybook first "
                          "(e.g. cobc -E), then parse the result",
                          Where(t), t.upper));
      }
      FERRY_ASSIGN_OR_RETURN(Entry entry, ParseEntry());
      entries.push_back(std::move(entry));
    }
    if (entries.empty()) {
      return Err(
          InvalidArgument("{}: no data description entry (a level number such as 01 "
                          "followed by a name)",
                          source_));
    }
    return entries;
  }

 private:
  bool AtEnd() const { return pos_ >= tokens_.size(); }
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_++]; }
  bool PeekWord(std::string_view word) const {
    return !AtEnd() && Peek().kind == TokenKind::kWord && Peek().upper == word;
  }
  bool Accept(std::string_view word) {
    if (!PeekWord(word)) return false;
    ++pos_;
    return true;
  }
  std::string Where(const Token& t) const {
    return fmt::format("{}:{}:{}", source_, t.line, t.column);
  }
  std::string WhereEnd() const {
    if (tokens_.empty()) return std::string(source_);
    return Where(tokens_.back());
  }
  template <typename... Args>
  Status ErrorAt(const Token& t, fmt::format_string<Args...> format, Args&&... args) const {
    return InvalidArgument("{}: {}", Where(t), fmt::format(format, std::forward<Args>(args)...));
  }
  Status ErrorAtEnd(std::string_view what) const {
    return InvalidArgument("{}: the copybook ends {}", WhereEnd(), what);
  }

  Result<Entry> ParseEntry() {
    const Token& level_token = Next();
    Entry e;
    e.line = level_token.line;
    e.column = level_token.column;
    if (level_token.kind != TokenKind::kWord || !ParseInt(level_token.text, &e.level) ||
        !((e.level >= 1 && e.level <= 49) || e.level == 66 || e.level == 77 || e.level == 88)) {
      return Err(ErrorAt(level_token,
                         "expected a level number (01 to 49, 66, 77 or 88) to start an entry, "
                         "got `{}`{}",
                         level_token.text,
                         pos_ >= 2 && tokens_[pos_ - 2].kind != TokenKind::kPeriod
                             ? "; is the period missing at the end of the previous entry?"
                             : ""));
    }
    if (!AtEnd() && Peek().kind == TokenKind::kWord && !ClauseWords().contains(Peek().upper)) {
      const Token& name = Next();
      if (IsNumericLiteral(name.text)) {
        return Err(ErrorAt(name,
                           "`{}` is not a data name (a name needs a letter); is the period "
                           "missing at the end of the previous entry?",
                           name.text));
      }
      e.name = name.upper;
      e.named = true;
    } else if (e.level == 88 || e.level == 66) {
      return Err(AtEnd() ? ErrorAtEnd("where a level-88 or 66 name was expected")
                         : ErrorAt(Peek(), "a level-{} entry needs a name", e.level));
    } else {
      e.name = "FILLER";
    }
    const std::string& name = e.name;
    while (true) {
      if (AtEnd()) {
        // Lenient: the last entry of a copybook often lacks its period.
        return e;
      }
      const Token& t = Peek();
      if (t.kind == TokenKind::kPeriod) {
        Next();
        return e;
      }
      if (t.kind != TokenKind::kWord) {
        return Err(ErrorAt(t, "unexpected literal `{}` in the entry of `{}`", t.text, name));
      }
      FERRY_RETURN_IF_ERROR(ParseClause(&e));
    }
  }

  Status ParseClause(Entry* e) {
    const Token& t = Next();
    const std::string& w = t.upper;
    if (w == "PIC" || w == "PICTURE") {
      Accept("IS");
      if (AtEnd() || Peek().kind != TokenKind::kWord) {
        return AtEnd() ? ErrorAtEnd("after PIC")
                       : ErrorAt(Peek(), "expected a picture string after PIC");
      }
      const Token& pic = Next();
      Result<Picture> picture = ParsePicture(pic.text);
      if (!picture.has_value()) {
        return Status(picture.error().code(),
                      fmt::format("{}: {} (in the entry of `{}`)", Where(pic),
                                  picture.error().message(), e->name));
      }
      if (e->picture.has_value()) return ErrorAt(t, "`{}` has two PICTURE clauses", e->name);
      e->picture = std::move(*picture);
      e->picture_line = pic.line;
      e->picture_column = pic.column;
      return OkStatus();
    }
    if (w == "USAGE") {
      Accept("IS");
      if (AtEnd()) return ErrorAtEnd("after USAGE");
      return ParseUsageWord(Next(), e);
    }
    if (UsageOf(w).has_value() || IsUnsupportedUsage(w)) return ParseUsageWord(t, e);
    if (w == "SIGN" || w == "LEADING" || w == "TRAILING") {
      std::string position = w;
      if (w == "SIGN") {
        Accept("IS");
        if (AtEnd()) return ErrorAtEnd("after SIGN");
        position = Next().upper;
      }
      if (position == "LEADING") {
        e->sign = SignPosition::kLeading;
      } else if (position == "TRAILING") {
        e->sign = SignPosition::kTrailing;
      } else {
        return ErrorAt(tokens_[pos_ - 1], "expected LEADING or TRAILING after SIGN, got `{}`",
                       tokens_[pos_ - 1].text);
      }
      if (Accept("SEPARATE")) {
        e->sign_separate = true;
        Accept("CHARACTER");
      }
      return OkStatus();
    }
    if (w == "OCCURS") return ParseOccurs(t, e);
    if (w == "REDEFINES") {
      if (AtEnd() || Peek().kind != TokenKind::kWord) {
        return AtEnd() ? ErrorAtEnd("after REDEFINES")
                       : ErrorAt(Peek(), "expected a name after REDEFINES");
      }
      e->redefines_line = Peek().line;
      e->redefines_column = Peek().column;
      e->redefines = ParseQualifiedName();
      return OkStatus();
    }
    if (w == "SYNC" || w == "SYNCHRONIZED") {
      e->sync = true;
      if (!Accept("LEFT")) Accept("RIGHT");
      return OkStatus();
    }
    if (w == "JUST" || w == "JUSTIFIED") {
      e->justified = true;
      Accept("RIGHT");
      return OkStatus();
    }
    if (w == "BLANK") {
      Accept("WHEN");
      if (!(Accept("ZERO") || Accept("ZEROS") || Accept("ZEROES"))) {
        return ErrorAt(t, "expected BLANK WHEN ZERO");
      }
      e->blank_when_zero = true;
      return OkStatus();
    }
    if (w == "VALUE" || w == "VALUES") {
      if (!Accept("IS")) Accept("ARE");
      return ParseValues(t, e);
    }
    if (w == "EXTERNAL" || w == "GLOBAL" || w == "IS") return OkStatus();
    if (w == "RENAMES") {
      if (e->level != 66) return ErrorAt(t, "RENAMES belongs to a level-66 entry");
      if (AtEnd() || Peek().kind != TokenKind::kWord) return ErrorAtEnd("after RENAMES");
      e->renames_first = ParseQualifiedName();
      if (Accept("THRU") || Accept("THROUGH")) {
        if (AtEnd() || Peek().kind != TokenKind::kWord) return ErrorAtEnd("after THRU");
        e->renames_last = ParseQualifiedName();
      }
      return OkStatus();
    }
    if (std::ranges::all_of(w, [](char c) { return c >= '0' && c <= '9'; })) {
      return ErrorAt(t,
                     "`{}` where a clause or the period ending `{}` was expected; is the "
                     "period missing at the end of line {}?",
                     t.text, e->name, tokens_[pos_ - 2].line);
    }
    return ErrorAt(t,
                   "`{}` is not a clause this parser knows in the entry of `{}` (expected PIC, "
                   "USAGE, OCCURS, REDEFINES, VALUE, SIGN, SYNC, JUSTIFIED, BLANK WHEN ZERO "
                   "or a period)",
                   t.text, e->name);
  }

  Status ParseUsageWord(const Token& t, Entry* e) {
    if (IsUnsupportedUsage(t.upper)) {
      return Unimplemented(
          "{}: USAGE {} (`{}`) is not supported yet; describe the field by its "
          "bytes (PIC X(n)) to read it as text",
          Where(t), t.upper, e->name);
    }
    std::optional<Usage> usage = UsageOf(t.upper);
    if (!usage.has_value()) {
      return ErrorAt(t,
                     "`{}` is not a USAGE (DISPLAY, COMP, COMP-1, COMP-2, COMP-3, COMP-4, "
                     "COMP-5, BINARY, PACKED-DECIMAL)",
                     t.text);
    }
    e->usage = usage;
    return OkStatus();
  }

  std::vector<std::string> ParseQualifiedName() {
    std::vector<std::string> names = {Next().upper};
    while ((PeekWord("OF") || PeekWord("IN")) && pos_ + 1 < tokens_.size() &&
           tokens_[pos_ + 1].kind == TokenKind::kWord) {
      Next();
      names.push_back(Next().upper);
    }
    return names;
  }

  // Names after KEY IS or INDEXED BY: up to the next clause word or the period.
  void SkipNames() {
    while (!AtEnd() && Peek().kind == TokenKind::kWord && !ClauseWords().contains(Peek().upper) &&
           UsageOf(Peek().upper) == std::nullopt && Peek().upper != "PIC" &&
           Peek().upper != "PICTURE") {
      Next();
    }
  }

  Status ParseOccurs(const Token& occurs, Entry* e) {
    if (e->has_occurs) return ErrorAt(occurs, "`{}` has two OCCURS clauses", e->name);
    e->has_occurs = true;
    int32_t first = 0;
    if (AtEnd() || Peek().kind != TokenKind::kWord || !ParseInt(Peek().text, &first) || first < 0) {
      return AtEnd() ? ErrorAtEnd("after OCCURS")
                     : ErrorAt(Peek(), "expected a number of occurrences after OCCURS, got `{}`",
                               Peek().text);
    }
    Next();
    e->occurs_min = e->occurs_max = first;
    if (Accept("TO")) {
      int32_t last = 0;
      if (AtEnd() || !ParseInt(Peek().text, &last) || last < first) {
        return AtEnd() ? ErrorAtEnd("after OCCURS ... TO")
                       : ErrorAt(Peek(), "OCCURS {} TO `{}`: expected a number of at least {}",
                                 first, Peek().text, first);
      }
      Next();
      e->occurs_max = last;
    }
    Accept("TIMES");
    while (!AtEnd()) {
      if (Accept("DEPENDING")) {
        Accept("ON");
        if (AtEnd() || Peek().kind != TokenKind::kWord) return ErrorAtEnd("after DEPENDING ON");
        e->depending_line = Peek().line;
        e->depending_column = Peek().column;
        e->depending_on = ParseQualifiedName();
        // IBM's OCCURS n DEPENDING ON (without "m TO"): any count from 0 to n.
        if (e->occurs_min == e->occurs_max) e->occurs_min = 0;
      } else if (Accept("ASCENDING") || Accept("DESCENDING")) {
        Accept("KEY");
        Accept("IS");
        SkipNames();
      } else if (Accept("INDEXED")) {
        Accept("BY");
        SkipNames();
      } else {
        break;
      }
    }
    if (e->occurs_max < 1 && e->depending_on.empty()) {
      return ErrorAt(occurs, "`{}` OCCURS 0 TIMES", e->name);
    }
    return OkStatus();
  }

  Result<ConditionValue> ParseLiteral(const Token& clause) {
    if (AtEnd()) return Err(ErrorAtEnd("after VALUE"));
    const Token& t = Next();
    if (t.kind == TokenKind::kLiteral) {
      return ConditionValue{
          t.hex_prefix != 0 ? fmt::format("{}'{}'", t.hex_prefix, t.text) : t.text, ""};
    }
    std::string canonical;
    if (t.kind == TokenKind::kWord && IsFigurative(t.upper, &canonical)) {
      return ConditionValue{canonical, ""};
    }
    if (t.kind == TokenKind::kWord && t.upper == "ALL") {
      FERRY_ASSIGN_OR_RETURN(ConditionValue inner, ParseLiteral(clause));
      return ConditionValue{"ALL " + inner.from, ""};
    }
    if (t.kind == TokenKind::kWord && IsNumericLiteral(t.text)) return ConditionValue{t.text, ""};
    return Err(ErrorAt(t, "expected a literal after {}, got `{}`", clause.upper, t.text));
  }

  Status ParseValues(const Token& clause, Entry* e) {
    if (e->level != 88) {
      // VALUE of a data item is its initial value in a program: it says nothing of the data.
      return StatusOf(ParseLiteral(clause));
    }
    while (true) {
      FERRY_ASSIGN_OR_RETURN(ConditionValue value, ParseLiteral(clause));
      if (Accept("THRU") || Accept("THROUGH")) {
        FERRY_ASSIGN_OR_RETURN(ConditionValue thru, ParseLiteral(clause));
        value.thru = thru.from;
      }
      e->values.push_back(std::move(value));
      if (AtEnd() || Peek().kind == TokenKind::kPeriod) break;
      std::string figurative;
      if (Peek().kind == TokenKind::kWord && !IsNumericLiteral(Peek().text) &&
          !IsFigurative(Peek().upper, &figurative) && Peek().upper != "ALL") {
        if (Accept("WHEN")) {  // WHEN SET TO FALSE IS literal
          Accept("SET");
          Accept("TO");
          Accept("FALSE");
          Accept("IS");
          FERRY_RETURN_IF_ERROR(StatusOf(ParseLiteral(clause)));
        }
        break;
      }
    }
    return OkStatus();
  }

  std::vector<Token> tokens_;
  std::string_view source_;
  size_t pos_ = 0;
};

std::string JsonName(std::string_view name) {
  std::string out(name);
  std::ranges::replace(out, '-', '_');
  return out;
}

// Builds the Copybook from the entries: the tree, inherited clauses, types, links and layout.
class Builder {
 public:
  explicit Builder(std::string_view source) { cb_.source_name = std::string(source); }

  Result<Copybook> Build(std::vector<Entry> entries) {
    entries_ = std::move(entries);
    FERRY_RETURN_IF_ERROR(BuildTree());
    for (int32_t record : cb_.records) {
      FERRY_RETURN_IF_ERROR(Resolve(record, std::nullopt, std::nullopt));
    }
    FERRY_RETURN_IF_ERROR(LinkRedefines());
    FERRY_RETURN_IF_ERROR(LinkDependingOn());
    for (int32_t record : cb_.records) Layout(record, 0);
    MarkRedefineSets();
    FERRY_RETURN_IF_ERROR(LinkRenames());
    return std::move(cb_);
  }

 private:
  template <typename... Args>
  Status ErrorAt(int32_t line, int32_t column, fmt::format_string<Args...> format,
                 Args&&... args) const {
    return InvalidArgument("{}:{}:{}: {}", cb_.source_name, line, column,
                           fmt::format(format, std::forward<Args>(args)...));
  }

  int32_t AddField(const Entry& e, int32_t parent) {
    Field f;
    f.name = e.name;
    f.json_name = JsonName(e.name);
    f.level = e.level;
    f.line = e.line;
    f.column = e.column;
    f.parent = parent;
    f.depth = parent < 0 ? 0 : cb_.fields[parent].depth + 1;
    f.is_filler = e.name == "FILLER";
    const auto index = static_cast<int32_t>(cb_.fields.size());
    cb_.fields.push_back(std::move(f));
    entry_of_.push_back(static_cast<int32_t>(&e - entries_.data()));
    if (parent >= 0) cb_.fields[parent].children.push_back(index);
    return index;
  }

  Status BuildTree() {
    std::vector<int32_t> stack;
    int32_t last_item = -1;
    int32_t wrapper = -1;
    for (const Entry& e : entries_) {
      if (e.level == 88) {
        if (last_item < 0) {
          return ErrorAt(e.line, e.column, "level-88 condition `{}` before any data item", e.name);
        }
        cb_.fields[last_item].conditions.push_back({e.name, e.values, e.line});
        continue;
      }
      if (e.level == 66) {
        if (cb_.records.empty()) {
          return ErrorAt(e.line, e.column, "level-66 `{}` before any record", e.name);
        }
        const int32_t index = AddField(e, -1);
        cb_.fields[index].parent = cb_.records.back();
        cb_.fields[index].depth = 1;
        renames_.push_back(index);
        continue;
      }
      if (e.level == 1 || e.level == 77) {
        stack.clear();
        last_item = AddField(e, -1);
        cb_.records.push_back(last_item);
        stack.push_back(last_item);
        wrapper = -1;
        continue;
      }
      while (!stack.empty() && cb_.fields[stack.back()].level >= e.level) stack.pop_back();
      if (stack.empty()) {
        if (wrapper < 0) {
          // A copybook fragment (it starts below 01): its items are one record's fields.
          static const Entry kRecord = [] {
            Entry r;
            r.level = 1;
            r.name = "RECORD";
            r.named = true;
            return r;
          }();
          Field f;
          f.name = kRecord.name;
          f.json_name = kRecord.name;
          f.level = 1;
          f.line = e.line;
          f.column = e.column;
          wrapper = static_cast<int32_t>(cb_.fields.size());
          cb_.fields.push_back(std::move(f));
          entry_of_.push_back(-1);
          cb_.records.push_back(wrapper);
        }
        stack.push_back(wrapper);
      }
      last_item = AddField(e, stack.back());
      stack.push_back(last_item);
    }
    if (cb_.records.empty()) return InvalidArgument("{}: no record", cb_.source_name);
    return OkStatus();
  }

  const Entry* EntryOf(int32_t index) const {
    const int32_t e = entry_of_[index];
    return e < 0 ? nullptr : &entries_[e];
  }

  // Groups, inherited USAGE and SIGN, elementary types and sizes.
  Status Resolve(int32_t index, std::optional<Usage> usage, std::optional<SignPosition> sign) {
    Field& f = cb_.fields[index];
    const Entry* e = EntryOf(index);
    if (e != nullptr) {
      if (e->usage.has_value()) usage = e->usage;
      if (e->sign.has_value()) sign = e->sign;
      f.sync = e->sync;
      f.blank_when_zero = e->blank_when_zero;
      f.justified = e->justified;
      f.has_occurs = e->has_occurs;
      f.occurs_min = e->occurs_min;
      f.occurs_max = e->occurs_max;
    }
    f.is_group = !f.children.empty();
    if (f.is_group) {
      if (e != nullptr && e->picture.has_value()) {
        return ErrorAt(e->picture_line, e->picture_column,
                       "`{}` has items under it, so it is a group and cannot have a PICTURE; "
                       "remove the PIC, or the level numbers below it are too high",
                       f.name);
      }
      f.type = ValueType::kGroup;
      for (int i : cb_.fields[index].children) {
        FERRY_RETURN_IF_ERROR(Resolve(i, usage, sign));
      }
      return OkStatus();
    }
    f.usage = usage.value_or(Usage::kDisplay);
    const bool floating = f.usage == Usage::kFloat || f.usage == Usage::kDouble;
    if (e == nullptr || !e->picture.has_value()) {
      if (!floating) {
        return ErrorAt(f.line, f.column,
                       "`{}` has no PICTURE clause and no items under it; give it a PIC "
                       "(e.g. PIC X(10)) or the items it is made of",
                       f.name);
      }
      f.type = f.usage == Usage::kFloat ? ValueType::kFloat : ValueType::kDouble;
      f.size = f.usage == Usage::kFloat ? 4 : 8;
      return OkStatus();
    }
    if (floating) {
      return ErrorAt(e->picture_line, e->picture_column,
                     "`{}` is {} and cannot have a PICTURE (COMP-1 is 4 bytes, COMP-2 8); "
                     "remove the PIC",
                     f.name, UsageName(f.usage));
    }
    f.picture = *e->picture;
    const Picture& pic = f.picture;
    if (!pic.is_numeric()) {
      if (f.usage != Usage::kDisplay) {
        return ErrorAt(e->picture_line, e->picture_column,
                       "`{}` PIC {} is {} and cannot be {}; only numeric items can", f.name,
                       pic.text, PictureCategoryName(pic.category), UsageName(f.usage));
      }
      f.type = ValueType::kString;
      f.size = pic.size;
      return OkStatus();
    }
    if (pic.precision() > 38 || pic.size > 64) {
      return ErrorAt(e->picture_line, e->picture_column,
                     "`{}` PIC {}: numbers of more than 38 digits (or edited pictures of more than "
                     "64 characters) are not supported; describe the field as PIC X to read its "
                     "text",
                     f.name, pic.text);
    }
    if (pic.category == PictureCategory::kNumericEdited && f.usage != Usage::kDisplay) {
      return ErrorAt(e->picture_line, e->picture_column,
                     "`{}` PIC {} is numeric-edited and must be DISPLAY, not {}", f.name, pic.text,
                     UsageName(f.usage));
    }
    if (sign.has_value() && pic.category == PictureCategory::kNumeric) {
      // Cobrix reads a SIGN clause on an unsigned picture as making it signed; so do we.
      f.sign = *sign;
      f.sign_separate = e->sign_separate;
      if (!e->sign.has_value()) {
        // An inherited SIGN clause: find whether the group said SEPARATE.
        for (int32_t p = f.parent; p >= 0; p = cb_.fields[p].parent) {
          const Entry* pe = EntryOf(p);
          if (pe != nullptr && pe->sign.has_value()) {
            f.sign_separate = pe->sign_separate;
            break;
          }
        }
      }
      f.picture.is_signed = true;
    } else if (pic.is_signed && pic.category == PictureCategory::kNumeric) {
      f.sign = SignPosition::kTrailing;
    }
    if (f.sign_separate && f.usage != Usage::kDisplay) {
      return ErrorAt(f.line, f.column, "`{}`: SIGN SEPARATE needs USAGE DISPLAY, not {}", f.name,
                     UsageName(f.usage));
    }
    switch (f.usage) {
      case Usage::kDisplay: f.size = pic.size + (f.sign_separate ? 1 : 0); break;
      case Usage::kBinary:
      case Usage::kNativeBinary: f.size = BinarySize(pic.digits); break;
      case Usage::kPacked: f.size = pic.digits / 2 + 1; break;
      case Usage::kFloat:
      case Usage::kDouble: break;
    }
    f.precision = pic.precision();
    f.scale = pic.scale;
    if (pic.scale != 0 || pic.scaling_positions != 0) {
      f.type = ValueType::kDecimal;
    } else if (f.usage == Usage::kBinary && !pic.is_signed) {
      // Cobrix: the unsigned range of the storage decides (9 digits need more than an int32).
      f.type = pic.digits <= 8    ? ValueType::kInt32
               : pic.digits <= 17 ? ValueType::kInt64
                                  : ValueType::kDecimal;
      if (pic.digits == 18) f.precision = 20;
    } else if (f.usage == Usage::kNativeBinary) {
      // COMP-5 holds the storage's whole range.
      if (pic.is_signed) {
        f.type = f.size <= 4   ? ValueType::kInt32
                 : f.size <= 8 ? ValueType::kInt64
                               : ValueType::kDecimal;
      } else {
        f.type = f.size <= 2   ? ValueType::kInt32
                 : f.size <= 4 ? ValueType::kInt64
                               : ValueType::kDecimal;
      }
      if (f.type == ValueType::kDecimal) f.precision = std::max(pic.digits, 20);
    } else {
      f.type = pic.digits <= 9    ? ValueType::kInt32
               : pic.digits <= 18 ? ValueType::kInt64
                                  : ValueType::kDecimal;
    }
    return OkStatus();
  }

  // The sibling before `index` that a REDEFINES names: the nearest earlier sibling that is not
  // itself a redefinition.
  Status LinkRedefines() {
    for (size_t i = 0; i < cb_.fields.size(); ++i) {
      const Entry* e = EntryOf(static_cast<int32_t>(i));
      if (e == nullptr || e->redefines.empty()) continue;
      Field& f = cb_.fields[i];
      const std::vector<int32_t>& siblings =
          f.parent >= 0 && f.level != 1 ? cb_.fields[f.parent].children : cb_.records;
      auto self = std::ranges::find(siblings, static_cast<int32_t>(i));
      int32_t target = -1;
      for (auto it = self; it != siblings.begin();) {
        --it;
        const Entry* se = EntryOf(*it);
        if (se == nullptr || se->redefines.empty()) {
          target = *it;
          break;
        }
      }
      const std::string& wanted = e->redefines.front();
      if (target < 0 || cb_.fields[target].name != wanted) {
        return ErrorAt(e->redefines_line, e->redefines_column,
                       "`{}` REDEFINES `{}`, but {}; REDEFINES must name the item just before it "
                       "at the same level (or the item that the REDEFINES entries before it name)",
                       f.name, wanted,
                       target < 0 ? std::string("no item precedes it at its level")
                                  : fmt::format("the item before it at level {:02} is `{}`",
                                                cb_.fields[target].level, cb_.fields[target].name));
      }
      f.redefines = target;
    }
    return OkStatus();
  }

  // Items of `record` named `names[0]` whose ancestors include names[1], names[2], ... in order.
  std::vector<int32_t> FindQualified(int32_t record, const std::vector<std::string>& names) const {
    std::vector<int32_t> found;
    for (size_t i = 0; i < cb_.fields.size(); ++i) {
      const Field& f = cb_.fields[i];
      if (f.name != names.front() || f.level == 66) continue;
      auto root = static_cast<int32_t>(i);
      while (cb_.fields[root].parent >= 0) root = cb_.fields[root].parent;
      if (root != record) continue;
      size_t q = 1;
      for (int32_t p = f.parent; p >= 0 && q < names.size(); p = cb_.fields[p].parent) {
        if (cb_.fields[p].name == names[q]) ++q;
      }
      if (q == names.size()) found.push_back(static_cast<int32_t>(i));
    }
    return found;
  }

  int32_t RecordOf(int32_t index) const {
    while (cb_.fields[index].parent >= 0) index = cb_.fields[index].parent;
    return index;
  }

  Status LinkDependingOn() {
    for (size_t i = 0; i < cb_.fields.size(); ++i) {
      const Entry* e = EntryOf(static_cast<int32_t>(i));
      if (e == nullptr || e->depending_on.empty()) continue;
      std::vector<int32_t> found =
          FindQualified(RecordOf(static_cast<int32_t>(i)), e->depending_on);
      std::erase_if(found, [&](int32_t c) { return c >= static_cast<int32_t>(i); });
      const std::string& name = e->depending_on.front();
      if (found.empty()) {
        return ErrorAt(e->depending_line, e->depending_column,
                       "`{}` OCCURS DEPENDING ON `{}`, but no item of that name comes before it "
                       "in the record",
                       cb_.fields[i].name, name);
      }
      if (found.size() > 1) {
        return ErrorAt(e->depending_line, e->depending_column,
                       "DEPENDING ON `{}` is ambiguous ({} items of that name); qualify it: `{} "
                       "OF <group>`",
                       name, found.size(), name);
      }
      Field& counter = cb_.fields[found.front()];
      if (counter.is_group) {
        return ErrorAt(e->depending_line, e->depending_column,
                       "DEPENDING ON `{}`: it is a group, not an elementary counter", name);
      }
      counter.is_counter = true;
      cb_.fields[i].depending_on = found.front();
    }
    return OkStatus();
  }

  // The alignment SYNC asks for: the item's natural boundary, or the largest one inside a group.
  int32_t Alignment(int32_t index) const {
    const Field& f = cb_.fields[index];
    if (!f.is_group) {
      if (!f.sync || f.usage == Usage::kDisplay || f.usage == Usage::kPacked) return 1;
      return f.size <= 2 ? 2 : f.size <= 4 ? 4 : 8;
    }
    int32_t align = 1;
    for (int32_t child : f.children) align = std::max(align, Alignment(child));
    return align;
  }

  static int32_t AlignUp(int32_t offset, int32_t align) {
    return align <= 1 ? offset : (offset + align - 1) / align * align;
  }

  void Layout(int32_t index, int32_t offset) {
    Field& f = cb_.fields[index];
    f.offset = offset;
    if (f.is_group) {
      int32_t set_end = offset;
      for (int32_t child : f.children) {
        Field& c = cb_.fields[child];
        const int32_t start =
            c.redefines >= 0 ? cb_.fields[c.redefines].offset : AlignUp(set_end, Alignment(child));
        Layout(child, start);
        const int32_t end = start + c.size * c.occurs_max;
        set_end = c.redefines >= 0 ? std::max(set_end, end) : end;
      }
      cb_.fields[index].size = set_end - offset;
      if (f.has_occurs) {
        Field& g = cb_.fields[index];
        g.size = AlignUp(g.size, Alignment(index));
      }
    }
    Field& g = cb_.fields[index];
    g.layout_size = g.size * g.occurs_max;
  }

  // Members of a REDEFINES set span the set's size; all but the last are "redefined".
  void MarkRedefineSets() {
    auto mark = [&](const std::vector<int32_t>& siblings) {
      for (size_t i = 0; i < siblings.size(); ++i) {
        if (cb_.fields[siblings[i]].redefines >= 0) continue;
        size_t last = i;
        int32_t span = cb_.fields[siblings[i]].layout_size;
        const int32_t start = cb_.fields[siblings[i]].offset;
        while (last + 1 < siblings.size() && cb_.fields[siblings[last + 1]].redefines >= 0) {
          ++last;
          const Field& m = cb_.fields[siblings[last]];
          span = std::max(span, m.offset + m.layout_size - start);
        }
        if (last == i) continue;
        for (size_t k = i; k <= last; ++k) {
          cb_.fields[siblings[k]].layout_size = span;
          cb_.fields[siblings[k]].is_redefined = k < last;
        }
      }
    };
    mark(cb_.records);
    for (const Field& f : cb_.fields) {
      if (f.is_group) mark(f.children);
    }
  }

  Status LinkRenames() {
    for (int32_t index : renames_) {
      const Entry* e = EntryOf(index);
      Field& f = cb_.fields[index];
      if (e->renames_first.empty()) {
        return ErrorAt(f.line, f.column, "level-66 `{}` needs RENAMES <item> [THRU <item>]",
                       f.name);
      }
      auto find = [&](const std::vector<std::string>& names) -> Result<int32_t> {
        std::vector<int32_t> found = FindQualified(f.parent, names);
        if (found.size() != 1) {
          return Err(
              ErrorAt(f.line, f.column, "`{}` RENAMES `{}`: {}", f.name, names.front(),
                      found.empty() ? "no such item in the record" : "ambiguous; qualify it"));
        }
        return found.front();
      };
      FERRY_ASSIGN_OR_RETURN(f.renames_first, find(e->renames_first));
      f.renames_last = f.renames_first;
      if (!e->renames_last.empty()) {
        FERRY_ASSIGN_OR_RETURN(f.renames_last, find(e->renames_last));
      }
      const Field& first = cb_.fields[f.renames_first];
      const Field& last = cb_.fields[f.renames_last];
      if (last.offset + last.layout_size <= first.offset) {
        return ErrorAt(f.line, f.column,
                       "`{}` RENAMES `{}` THRU `{}`: the second item ends before "
                       "the first starts",
                       f.name, first.name, last.name);
      }
      f.offset = first.offset;
      f.size = f.layout_size = last.offset + last.layout_size - first.offset;
      if (f.renames_first == f.renames_last && !first.is_group) {
        f.picture = first.picture;
        f.usage = first.usage;
        f.sign = first.sign;
        f.sign_separate = first.sign_separate;
        f.type = first.type;
        f.precision = first.precision;
        f.scale = first.scale;
      } else {
        f.type = ValueType::kString;
      }
    }
    return OkStatus();
  }

  Copybook cb_;
  std::vector<Entry> entries_;
  std::vector<int32_t> entry_of_;  // field index -> entry index (-1: a generated record)
  std::vector<int32_t> renames_;
};

}  // namespace

std::string_view UsageName(Usage usage) {
  switch (usage) {
    case Usage::kDisplay: return "DISPLAY";
    case Usage::kBinary: return "COMP";
    case Usage::kNativeBinary: return "COMP-5";
    case Usage::kPacked: return "COMP-3";
    case Usage::kFloat: return "COMP-1";
    case Usage::kDouble: return "COMP-2";
  }
  return "?";
}

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kGroup: return "group";
    case ValueType::kString: return "string";
    case ValueType::kInt32: return "int32";
    case ValueType::kInt64: return "int64";
    case ValueType::kDecimal: return "decimal";
    case ValueType::kFloat: return "float";
    case ValueType::kDouble: return "double";
  }
  return "?";
}

int32_t Copybook::record_size() const {
  int32_t size = 0;
  for (int32_t r : records) size = std::max(size, fields[r].layout_size);
  return size;
}

std::string Copybook::Path(int32_t index) const {
  std::vector<std::string_view> names;
  for (int32_t i = index; i >= 0; i = fields[i].level == 66 ? -1 : fields[i].parent) {
    names.push_back(fields[i].name);
    if (fields[i].level == 66) names.push_back(fields[fields[i].parent].name);
  }
  std::string path;
  for (auto& name : std::ranges::reverse_view(names)) {
    if (!path.empty()) path += '.';
    path += name;
  }
  return path;
}

std::vector<int32_t> Copybook::Find(std::string_view name) const {
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::vector<int32_t> found;
  const bool dotted = upper.find('.') != std::string::npos;
  for (size_t i = 0; i < fields.size(); ++i) {
    const Field& f = fields[i];
    if (dotted) {
      std::string path = Path(static_cast<int32_t>(i));
      std::string json_path = path;
      std::ranges::replace(json_path, '-', '_');
      for (const std::string& p : {path, json_path}) {
        if (p == upper || (p.size() > upper.size() && p.ends_with(upper) &&
                           p[p.size() - upper.size() - 1] == '.')) {
          found.push_back(static_cast<int32_t>(i));
          break;
        }
      }
    } else if (f.name == upper || f.json_name == upper) {
      found.push_back(static_cast<int32_t>(i));
    }
  }
  return found;
}

bool Copybook::has_depending_on() const {
  return std::ranges::any_of(fields, [](const Field& f) { return f.depending_on >= 0; });
}

std::vector<std::string> OutputNames(const Copybook& copybook, FillerNaming naming) {
  std::vector<std::string> names(copybook.fields.size());
  int32_t groups = 0, values = 0;
  for (size_t i = 0; i < copybook.fields.size(); ++i) {
    const Field& f = copybook.fields[i];
    if (!f.is_filler) {
      names[i] = f.json_name;
    } else if (naming == FillerNaming::kSequenceNumbers) {
      names[i] =
          f.is_group ? fmt::format("FILLER_{}", ++groups) : fmt::format("FILLER_P{}", ++values);
    } else {
      // Declaration order puts the item before (or the parent) earlier: its name is known.
      int32_t before = f.parent;
      if (f.parent >= 0) {
        const std::vector<int32_t>& siblings = copybook.fields[f.parent].children;
        auto it = std::ranges::find(siblings, static_cast<int32_t>(i));
        if (it != siblings.begin() && it != siblings.end()) before = *(it - 1);
      }
      names[i] = before >= 0 ? "FILLER_AFTER_" + names[before] : "FILLER";
    }
  }
  return names;
}

Result<Copybook> ParseCopybook(std::string_view text, std::string_view source_name,
                               const ParseOptions& options) {
  FERRY_ASSIGN_OR_RETURN(std::vector<Token> tokens,
                         TokenizeCopybook(text, source_name, options.format));
  Parser parser(std::move(tokens), source_name);
  FERRY_ASSIGN_OR_RETURN(std::vector<Entry> entries, parser.ParseEntries());
  return Builder(source_name).Build(std::move(entries));
}

Result<Copybook> MergeCopybooks(std::vector<Copybook> copybooks) {
  if (copybooks.empty()) return Err(InvalidArgument("no copybook to merge"));
  if (copybooks.size() == 1) return std::move(copybooks.front());
  Copybook merged;
  std::set<std::string> names;
  for (Copybook& cb : copybooks) {
    if (!merged.source_name.empty()) merged.source_name += ",";
    merged.source_name += cb.source_name;
    const auto base = static_cast<int32_t>(merged.fields.size());
    for (Field& f : cb.fields) {
      if (f.parent >= 0) f.parent += base;
      for (int32_t& c : f.children) c += base;
      if (f.depending_on >= 0) f.depending_on += base;
      if (f.redefines >= 0) f.redefines += base;
      if (f.renames_first >= 0) f.renames_first += base;
      if (f.renames_last >= 0) f.renames_last += base;
      merged.fields.push_back(std::move(f));
    }
    for (int32_t r : cb.records) {
      if (!names.insert(merged.fields[r + base].name).second) {
        return Err(
            InvalidArgument("{}: record `{}` is also in an earlier copybook; records of "
                            "merged copybooks need distinct names",
                            cb.source_name, merged.fields[r + base].name));
      }
      merged.records.push_back(r + base);
    }
  }
  // Every record is an alternative view of the first one's bytes.
  const int32_t first = merged.records.front();
  for (size_t i = 0; i < merged.records.size(); ++i) {
    Field& r = merged.fields[merged.records[i]];
    r.redefines = i == 0 ? -1 : first;
    r.is_redefined = i + 1 < merged.records.size();
  }
  int32_t span = 0;
  for (int32_t r : merged.records) span = std::max(span, merged.fields[r].size);
  for (int32_t r : merged.records) merged.fields[r].layout_size = span;
  return merged;
}

}  // namespace ferry::legacy
