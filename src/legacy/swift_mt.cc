#include "legacy/swift_mt.h"

#include <algorithm>
#include <array>
#include <string>

#include <fmt/format.h>

namespace ferry::legacy {
namespace {

constexpr std::array<bool, 256> MakeXTable() {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (char c : std::string_view("/-?:().,'+ ")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kXTable = MakeXTable();

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsUpperAlnum(char c) { return IsUpper(c) || IsDigit(c); }
bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return !s.empty();
}

// The lines of a field's content (CRLF or LF between them) into `lines`, which is cleared.
void SplitLines(std::string_view value, std::vector<std::string_view>* lines) {
  lines->clear();
  size_t start = 0;
  while (start <= value.size()) {
    size_t nl = value.find('\n', start);
    if (nl == std::string_view::npos) nl = value.size();
    size_t end = nl;
    if (end > start && value[end - 1] == '\r') --end;
    lines->push_back(value.substr(start, end - start));
    start = nl + 1;
  }
}

std::string Printable(char c) {
  const auto b = static_cast<unsigned char>(c);
  if (b >= 0x20 && b < 0x7F) return fmt::format("'{}' (0x{:02X})", c, b);
  return fmt::format("byte 0x{:02X}", b);
}

// Walks the message text keeping line and column.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}
  bool done() const { return pos_ >= text_.size(); }
  size_t pos() const { return pos_; }
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  void advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      line_start_ = pos_ + 1;
    }
    ++pos_;
  }
  void advance(size_t n) {
    for (size_t i = 0; i < n && !done(); ++i) advance();
  }
  uint32_t line() const { return line_; }
  uint32_t column() const { return static_cast<uint32_t>(pos_ - line_start_ + 1); }
  std::string Where() const { return fmt::format("line {}, column {}", line_, column()); }
  std::string_view text() const { return text_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  uint32_t line_ = 1;
  size_t line_start_ = 0;
};

Status BlockError(std::string_view block, const Cursor& at, std::string_view what) {
  return InvalidArgument("block {} ({}): {}", block, at.Where(), what);
}

// Content of a block without nested blocks (1, 2): up to its '}'.
Result<std::string_view> FlatBlock(Cursor& c, std::string_view id) {
  const size_t start = c.pos();
  while (!c.done() && c.peek() != '}') {
    if (c.peek() == '{' || c.peek() == '\n' || c.peek() == '\r') {
      return Err(BlockError(id, c,
                            fmt::format("{} inside block {}: it is not closed with '}}'",
                                        c.peek() == '{' ? "'{'" : "a line end", id)));
    }
    c.advance();
  }
  if (c.done()) return Err(BlockError(id, c, "the message ends before the block's closing '}'"));
  std::string_view content = c.text().substr(start, c.pos() - start);
  c.advance();  // '}'
  return content;
}

// "{tag:value}{tag:value}...}" of blocks 3 and 5.
Result<std::vector<MtTagValue>> TagBlock(Cursor& c, std::string_view id) {
  std::vector<MtTagValue> out;
  while (true) {
    if (c.done()) return Err(BlockError(id, c, "the message ends before the block's closing '}'"));
    if (c.peek() == '}') {
      c.advance();
      return out;
    }
    if (c.peek() != '{') {
      return Err(BlockError(
          id, c, fmt::format("{} where a '{{tag:value}}' or '}}' belongs", Printable(c.peek()))));
    }
    c.advance();
    const size_t tag_start = c.pos();
    while (!c.done() && c.peek() != ':' && c.peek() != '}' && c.peek() != '{') c.advance();
    if (c.peek() != ':') {
      return Err(BlockError(id, c, "a tag without ':' and value; expected '{tag:value}'"));
    }
    std::string_view tag = c.text().substr(tag_start, c.pos() - tag_start);
    if (tag.empty()) return Err(BlockError(id, c, "an empty tag; expected '{tag:value}'"));
    c.advance();
    const size_t value_start = c.pos();
    while (!c.done() && c.peek() != '}' && c.peek() != '{') c.advance();
    if (c.peek() != '}') {
      return Err(BlockError(id, c, fmt::format("tag {} is not closed with '}}'", tag)));
    }
    out.push_back({tag, c.text().substr(value_start, c.pos() - value_start)});
    c.advance();
  }
}

Status ParseBlock1(std::string_view content, const Cursor& at, MtMessage* m) {
  m->block1 = content;
  // F01 + 12-character logical terminal at least; session and sequence may be cut short by a
  // sloppy sender, and a missing F01 shifts the fields (kept as the fixed positions give them).
  if (content.size() < 15) {
    return BlockError("1", at,
                      fmt::format("'{}' is {} characters; a basic header is 25 (F01, the "
                                  "12-character address, 4-digit session, 6-digit sequence)",
                                  content, content.size()));
  }
  m->application_id = content[0];
  m->service_id = content.substr(1, 2);
  m->logical_terminal = content.substr(3, 12);
  m->session = content.substr(15, 4);
  m->sequence = content.size() > 19 ? content.substr(19, 6) : std::string_view();
  return OkStatus();
}

Status ParseBlock2(std::string_view content, const Cursor& at, MtMessage* m) {
  m->block2 = content;
  if (content.empty() || (content[0] != 'I' && content[0] != 'O')) {
    return BlockError("2", at,
                      fmt::format("'{}' does not start with I (input) or O (output)", content));
  }
  m->direction = content[0];
  if (content.size() < 4 || !AllDigits(content.substr(1, 3))) {
    return BlockError("2", at,
                      fmt::format("'{}': the message type (3 digits) is missing", content));
  }
  m->message_type = content.substr(1, 3);
  if (m->direction == 'I') {
    if (content.size() < 16) {
      return BlockError("2", at,
                        fmt::format("input header '{}' is {} characters; it needs I, the type and "
                                    "the receiver's 12-character address (16)",
                                    content, content.size()));
    }
    m->receiver = content.substr(4, 12);
    if (content.size() > 16) m->priority = content[16];
    return OkStatus();
  }
  if (content.size() < 46) {
    return BlockError("2", at,
                      fmt::format("output header '{}' is {} characters; it needs 46 (O, type, "
                                  "input time, MIR, output date and time)",
                                  content, content.size()));
  }
  m->input_time = content.substr(4, 4);
  m->mir_date = content.substr(8, 6);
  m->mir_terminal = content.substr(14, 12);
  m->output_date = content.substr(36, 6);
  m->output_time = content.substr(42, 4);
  if (content.size() > 46) m->priority = content[46];
  if (!AllDigits(m->input_time) || !AllDigits(m->mir_date) || !AllDigits(m->output_date) ||
      !AllDigits(m->output_time)) {
    return BlockError("2", at,
                      fmt::format("output header '{}': input time, MIR date, output date and time "
                                  "must be digits",
                                  content));
  }
  return OkStatus();
}

// Block 4 from just after "{4:" to just after "-}".
Status ParseBlock4(Cursor& c, MtMessage* m) {
  // The text starts on the next line.
  if (c.peek() == '\r') c.advance();
  if (c.peek() != '\n') {
    return BlockError("4", c, "the text block must start a new line after '{4:'");
  }
  c.advance();
  MtField* current = nullptr;
  size_t value_start = 0;
  auto close = [&](size_t end) {
    if (current == nullptr) return;
    // The value ends before the line end that precedes the next field.
    if (end > value_start && c.text()[end - 1] == '\n') --end;
    if (end > value_start && c.text()[end - 1] == '\r') --end;
    current->value = c.text().substr(value_start, end - value_start);
    current = nullptr;
  };
  while (true) {
    if (c.done()) {
      return BlockError("4", c,
                        current == nullptr
                            ? std::string("the message ends before the closing '-}' line")
                            : fmt::format("the message ends inside field :{}: (truncated?); "
                                          "the block needs its closing '-}}' line",
                                          current->tag));
    }
    // At the start of a line.
    const char first = c.peek();
    if (first == '-') {
      if (c.peek(1) != '}') {
        return BlockError("4", c, "a line starts with '-' but is not the closing '-}'");
      }
      close(c.pos());
      c.advance(2);
      return OkStatus();
    }
    if (first == ':') {
      close(c.pos());
      const uint32_t line = c.line();
      c.advance();
      const size_t tag_start = c.pos();
      while (!c.done() && c.peek() != ':' && c.peek() != '\n' && c.peek() != '\r') c.advance();
      std::string_view tag = c.text().substr(tag_start, c.pos() - tag_start);
      const bool tag_ok = (tag.size() == 2 || tag.size() == 3) && IsDigit(tag[0]) &&
                          IsDigit(tag[1]) && (tag.size() == 2 || IsUpper(tag[2]));
      if (c.peek() != ':' || !tag_ok) {
        return InvalidArgument(
            "block 4 (line {}, column 1): ':{}' is not a field tag; expected ':NN:' or ':NNa:' "
            "(two digits and an optional letter option)",
            line, tag);
      }
      c.advance();
      m->fields.push_back({tag, {}, line, c.column()});
      current = &m->fields.back();
      value_start = c.pos();
    } else if (current == nullptr) {
      return BlockError("4", c,
                        fmt::format("text before the first field: a line must start "
                                    "with ':NN:'"));
    }
    // The rest of the line belongs to the current field: check its characters.
    while (!c.done() && c.peek() != '\n') {
      const char ch = c.peek();
      if (ch == '\r' && c.peek(1) == '\n') {
        c.advance();
        continue;
      }
      if (!kXTable[static_cast<unsigned char>(ch)]) {
        return InvalidArgument(
            "block 4, field :{}: (line {}, column {}): {} is not in the SWIFT X character set "
            "(a-z A-Z 0-9 / - ? : ( ) . , ' + space); replace or remove it",
            current->tag, c.line(), c.column(), Printable(ch));
      }
      c.advance();
    }
    if (!c.done()) c.advance();  // '\n'
  }
}

}  // namespace

bool IsSwiftXChar(char c) { return kXTable[static_cast<unsigned char>(c)]; }

std::string_view MtMessage::UserHeader(std::string_view tag) const {
  for (const MtTagValue& tv : block3) {
    if (tv.tag == tag) return tv.value;
  }
  return {};
}

std::string MtMessage::Kind() const {
  std::string kind(message_type);
  if ((message_type == "202" || message_type == "205") && UserHeader("119") == "COV") {
    kind += "COV";
  }
  return kind;
}

Result<MtMessage> ParseMt(std::string_view text) {
  MtMessage m;
  Cursor c(text);
  auto skip_blank = [&] {
    while (!c.done() &&
           (c.peek() == ' ' || c.peek() == '\r' || c.peek() == '\n' || c.peek() == '\t')) {
      c.advance();
    }
  };
  skip_blank();
  bool seen[6] = {};
  int last = 0;
  while (!c.done()) {
    if (c.peek() != '{') {
      // Stray closing braces and blanks after the last block are tolerated.
      if (seen[4] && (c.peek() == '}' || c.peek() == ' ' || c.peek() == '\r' || c.peek() == '\n' ||
                      c.peek() == '\t')) {
        c.advance();
        continue;
      }
      return Err(
          InvalidArgument("{}: {} where a block '{{N:' belongs", c.Where(), Printable(c.peek())));
    }
    const Cursor block_at = c;
    c.advance();
    const char id = c.peek();
    if (c.peek(1) != ':') {
      return Err(InvalidArgument("{}: a block must start '{{N:' with N one of 1-5 or S",
                                 block_at.Where()));
    }
    int n = id == 'S' ? 5 : id - '0';
    if (id != 'S' && (n < 1 || n > 5)) {
      return Err(InvalidArgument("{}: block '{}' is not one of 1-5 or S", block_at.Where(), id));
    }
    if (id != 'S' && (seen[n] || n < last)) {
      return Err(InvalidArgument("{}: block {} is repeated or out of order (1, 2, 3, 4, 5)",
                                 block_at.Where(), id));
    }
    c.advance(2);
    if (id == 'S') {
      FERRY_RETURN_IF_ERROR(StatusOf(TagBlock(c, "S")));
      continue;
    }
    seen[n] = true;
    last = n;
    switch (n) {
      case 1: {
        FERRY_ASSIGN_OR_RETURN(std::string_view content, FlatBlock(c, "1"));
        FERRY_RETURN_IF_ERROR(ParseBlock1(content, block_at, &m));
        break;
      }
      case 2: {
        FERRY_ASSIGN_OR_RETURN(std::string_view content, FlatBlock(c, "2"));
        FERRY_RETURN_IF_ERROR(ParseBlock2(content, block_at, &m));
        break;
      }
      case 3: {
        FERRY_ASSIGN_OR_RETURN(m.block3, TagBlock(c, "3"));
        break;
      }
      case 4: FERRY_RETURN_IF_ERROR(ParseBlock4(c, &m)); break;
      case 5: {
        FERRY_ASSIGN_OR_RETURN(m.block5, TagBlock(c, "5"));
        break;
      }
    }
  }
  if (!seen[1]) return Err(InvalidArgument("block 1 (basic header) is missing"));
  if (!seen[2]) return Err(InvalidArgument("block 2 (application header) is missing"));
  if (!seen[4]) {
    return Err(InvalidArgument("block 4 (text) is missing: the message has no '{{4:' block"));
  }
  return m;
}

std::vector<std::string_view> FieldLines(std::string_view value) {
  std::vector<std::string_view> lines;
  SplitLines(value, &lines);
  return lines;
}

std::string MtAmountToDecimal(std::string_view amount) {
  const size_t comma = amount.find(',');
  if (comma == std::string_view::npos || comma == 0 ||
      amount.find(',', comma + 1) != std::string_view::npos) {
    return {};
  }
  std::string_view whole = amount.substr(0, comma);
  std::string_view frac = amount.substr(comma + 1);
  if (!AllDigits(whole) || (!frac.empty() && !AllDigits(frac))) return {};
  while (whole.size() > 1 && whole[0] == '0') whole.remove_prefix(1);
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  std::string out(whole);
  if (!frac.empty()) {
    out.push_back('.');
    out.append(frac);
  }
  return out;
}

std::string DecimalToMtAmount(std::string_view decimal) {
  const size_t point = decimal.find('.');
  std::string_view whole = decimal.substr(0, point);
  std::string_view frac =
      point == std::string_view::npos ? std::string_view() : decimal.substr(point + 1);
  if (!AllDigits(whole) || (point != std::string_view::npos && !AllDigits(frac))) return {};
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  std::string out(whole);
  out.push_back(',');
  out.append(frac);
  return out;
}

bool IsBic(std::string_view text, bool strict) {
  if (text.size() != 8 && text.size() != 11) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool ok = (strict && i < 6) ? IsUpper(c) : IsUpperAlnum(c);
    if (!ok) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Validation of block 4 by message type.

namespace {

enum class Format {
  kReference,         // 16x, no leading or trailing '/', no '//'
  kCode4,             // 4!c
  kBankOperation,     // 23B: CRED CRTS SPAY SPRI SSTD
  kInstruction,       // 23E: 4!c[/30x]
  kTransactionType,   // 26T: 3!c
  kDateCcyAmount,     // 32A: 6!n3!a15d
  kCcyAmount,         // 33B, 71F, 71G: 3!a15d
  kRate,              // 36: 12d
  kCharges,           // 71A: BEN OUR SHA
  kTimeIndication,    // 13C: /8c/4!n1!x4!n
  kNarrative4,        // 70: 4*35x
  kNarrative6,        // 72: 6*35x
  kNarrative3,        // 77B: 3*35x
  kNarrative9000,     // 77T: up to 9000 characters
  kPartyBic,          // 50A, 59A: [/34x] BIC
  kPartyNameAddress,  // 50K, 59: [/34x] 4*35x
  kPartyStructured,   // 50F, 59F: identifier line then numbered lines
  kAgentBic,          // option A of agents: [/1!a][/34x] BIC
  kAgentLocation,     // option B: [/1!a][/34x] [35x]
  kAgentAccount,      // option C: /34x
  kAgentNameAddress,  // option D: [/1!a][/34x] 4*35x
  kAny,
};

struct FieldRule {
  std::string_view tag;  // "50A"; "59" for no option
  Format format;
  bool sequence_b = false;
};

struct MessageRule {
  std::string_view kind;
  std::vector<FieldRule> fields;
  // Mandatory fields by number, with the options that satisfy them, and whether they belong to
  // sequence B (the underlying customer credit transfer of a COV message).
  std::vector<std::pair<std::string_view, bool>> mandatory;
  std::vector<std::string_view> repeatable;
};

const std::vector<MessageRule>& Rules() {
  static const std::vector<MessageRule> rules = [] {
    const std::vector<FieldRule> mt103 = {
        {"20", Format::kReference},         {"13C", Format::kTimeIndication},
        {"23B", Format::kBankOperation},    {"23E", Format::kInstruction},
        {"26T", Format::kTransactionType},  {"32A", Format::kDateCcyAmount},
        {"33B", Format::kCcyAmount},        {"36", Format::kRate},
        {"50A", Format::kPartyBic},         {"50F", Format::kPartyStructured},
        {"50K", Format::kPartyNameAddress}, {"51A", Format::kAgentBic},
        {"52A", Format::kAgentBic},         {"52D", Format::kAgentNameAddress},
        {"53A", Format::kAgentBic},         {"53B", Format::kAgentLocation},
        {"53D", Format::kAgentNameAddress}, {"54A", Format::kAgentBic},
        {"54B", Format::kAgentLocation},    {"54D", Format::kAgentNameAddress},
        {"55A", Format::kAgentBic},         {"55B", Format::kAgentLocation},
        {"55D", Format::kAgentNameAddress}, {"56A", Format::kAgentBic},
        {"56C", Format::kAgentAccount},     {"56D", Format::kAgentNameAddress},
        {"57A", Format::kAgentBic},         {"57B", Format::kAgentLocation},
        {"57C", Format::kAgentAccount},     {"57D", Format::kAgentNameAddress},
        {"59", Format::kPartyNameAddress},  {"59A", Format::kPartyBic},
        {"59F", Format::kPartyStructured},  {"70", Format::kNarrative4},
        {"71A", Format::kCharges},          {"71F", Format::kCcyAmount},
        {"71G", Format::kCcyAmount},        {"72", Format::kNarrative6},
        {"77B", Format::kNarrative3},       {"77T", Format::kNarrative9000},
    };
    const std::vector<FieldRule> mt202 = {
        {"20", Format::kReference},         {"21", Format::kReference},
        {"13C", Format::kTimeIndication},   {"32A", Format::kDateCcyAmount},
        {"52A", Format::kAgentBic},         {"52D", Format::kAgentNameAddress},
        {"53A", Format::kAgentBic},         {"53B", Format::kAgentLocation},
        {"53D", Format::kAgentNameAddress}, {"54A", Format::kAgentBic},
        {"54B", Format::kAgentLocation},    {"54D", Format::kAgentNameAddress},
        {"56A", Format::kAgentBic},         {"56D", Format::kAgentNameAddress},
        {"57A", Format::kAgentBic},         {"57B", Format::kAgentLocation},
        {"57D", Format::kAgentNameAddress}, {"58A", Format::kAgentBic},
        {"58D", Format::kAgentNameAddress}, {"72", Format::kNarrative6},
    };
    std::vector<FieldRule> mt205 = mt202;
    std::erase_if(mt205, [](const FieldRule& r) { return r.tag.substr(0, 2) == "54"; });
    const std::vector<FieldRule> cov_b = {
        {"50A", Format::kPartyBic, true},         {"50F", Format::kPartyStructured, true},
        {"50K", Format::kPartyNameAddress, true}, {"52A", Format::kAgentBic, true},
        {"52D", Format::kAgentNameAddress, true}, {"56A", Format::kAgentBic, true},
        {"56C", Format::kAgentAccount, true},     {"56D", Format::kAgentNameAddress, true},
        {"57A", Format::kAgentBic, true},         {"57B", Format::kAgentLocation, true},
        {"57C", Format::kAgentAccount, true},     {"57D", Format::kAgentNameAddress, true},
        {"59", Format::kPartyNameAddress, true},  {"59A", Format::kPartyBic, true},
        {"59F", Format::kPartyStructured, true},  {"70", Format::kNarrative4, true},
        {"72", Format::kNarrative6, true},        {"33B", Format::kCcyAmount, true},
    };
    auto with_b = [&](std::vector<FieldRule> a) {
      a.insert(a.end(), cov_b.begin(), cov_b.end());
      return a;
    };
    return std::vector<MessageRule>{
        {"103",
         mt103,
         {{"20", false},
          {"23B", false},
          {"32A", false},
          {"50", false},
          {"59", false},
          {"71A", false}},
         {"13C", "23E", "71F"}},
        {"202", mt202, {{"20", false}, {"21", false}, {"32A", false}, {"58", false}}, {"13C"}},
        {"205",
         mt205,
         {{"20", false}, {"21", false}, {"32A", false}, {"52", false}, {"58", false}},
         {"13C"}},
        {"202COV",
         with_b(mt202),
         {{"20", false}, {"21", false}, {"32A", false}, {"58", false}, {"50", true}, {"59", true}},
         {"13C"}},
        {"205COV",
         with_b(mt205),
         {{"20", false},
          {"21", false},
          {"32A", false},
          {"52", false},
          {"58", false},
          {"50", true},
          {"59", true}},
         {"13C"}},
    };
  }();
  return rules;
}

std::string_view FieldName(std::string_view number) {
  static const std::pair<std::string_view, std::string_view> kNames[] = {
      {"20", "sender's reference"},      {"21", "related reference"},
      {"23", "bank operation code"},     {"32", "value date, currency and amount"},
      {"50", "ordering customer"},       {"52", "ordering institution"},
      {"58", "beneficiary institution"}, {"59", "beneficiary customer"},
      {"71", "details of charges"},
  };
  for (const auto& [n, name] : kNames) {
    if (n == number) return name;
  }
  return "";
}

Status FieldError(const MtField& f, size_t line_index, size_t column_in_line,
                  std::string_view what) {
  return InvalidArgument("block 4, field :{}: (line {}, column {}): {}", f.tag, f.line + line_index,
                         (line_index == 0 ? f.column : 1) + column_in_line, what);
}

bool IsValidDate(std::string_view yymmdd) {
  if (yymmdd.size() != 6 || !AllDigits(yymmdd)) return false;
  const int month = (yymmdd[2] - '0') * 10 + (yymmdd[3] - '0');
  const int day = (yymmdd[4] - '0') * 10 + (yymmdd[5] - '0');
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month >= 1 && month <= 12 && day >= 1 && day <= kDays[month - 1];
}

Status CheckCurrency(const MtField& f, std::string_view ccy, size_t col) {
  if (ccy.size() != 3 || !IsUpper(ccy[0]) || !IsUpper(ccy[1]) || !IsUpper(ccy[2])) {
    return FieldError(f, 0, col, fmt::format("currency '{}' is not a 3-letter ISO 4217 code", ccy));
  }
  return OkStatus();
}

Status CheckAmount(const MtField& f, std::string_view amount, size_t col) {
  if (amount.empty() || amount.size() > 15 || MtAmountToDecimal(amount).empty()) {
    return FieldError(f, 0, col,
                      fmt::format("amount '{}' is not digits with one decimal comma, at most 15 "
                                  "characters (e.g. 1234,56 or 100,)",
                                  amount));
  }
  return OkStatus();
}

Status CheckLines(const MtField& f, const std::vector<std::string_view>& lines, size_t max_lines,
                  size_t max_length, size_t first = 0) {
  if (lines.size() - first > max_lines) {
    return FieldError(
        f, first + max_lines, 0,
        fmt::format("{} lines; at most {} are allowed here", lines.size() - first, max_lines));
  }
  for (size_t i = first; i < lines.size(); ++i) {
    if (lines[i].size() > max_length) {
      return FieldError(f, i, max_length,
                        fmt::format("line of {} characters; at most {} are allowed",
                                    lines[i].size(), max_length));
    }
  }
  return OkStatus();
}

// The optional "/account" line of parties and agents; returns the index of the next line.
Result<size_t> CheckAccountLine(const MtField& f, const std::vector<std::string_view>& lines,
                                bool required) {
  if (!lines.empty() && !lines[0].empty() && lines[0][0] == '/') {
    if (lines[0].size() > 37) {
      return Err(FieldError(f, 0, 0, "party identifier longer than /1!a/34x"));
    }
    return size_t{1};
  }
  if (required) return Err(FieldError(f, 0, 0, "expected a '/account' line"));
  return size_t{0};
}

Status CheckReference(const MtField& f) {
  const std::string_view v = f.value;
  if (v.empty() || v.size() > 16 || v.find('\n') != std::string_view::npos) {
    return FieldError(f, 0, 0, fmt::format("'{}' must be 1 to 16 characters on one line", v));
  }
  if (v.front() == '/' || v.back() == '/' || v.find("//") != std::string_view::npos) {
    return FieldError(f, 0, 0,
                      fmt::format("'{}' must not start or end with '/' nor contain '//'", v));
  }
  return OkStatus();
}

Status CheckField(const MtField& f, Format format) {
  // One vector per thread for the lines: validating a message allocates nothing per field.
  static thread_local std::vector<std::string_view> scratch;
  SplitLines(f.value, &scratch);
  const std::vector<std::string_view>& lines = scratch;
  const std::string_view v = f.value;
  switch (format) {
    case Format::kReference: return CheckReference(f);
    case Format::kCode4: return OkStatus();
    case Format::kBankOperation:
      if (v != "CRED" && v != "CRTS" && v != "SPAY" && v != "SPRI" && v != "SSTD") {
        return FieldError(f, 0, 0,
                          fmt::format("'{}' is not a bank operation code (CRED, CRTS, SPAY, "
                                      "SPRI, SSTD)",
                                      v));
      }
      return OkStatus();
    case Format::kInstruction: {
      const std::string_view code = v.substr(0, 4);
      if (code.size() != 4 || !IsUpperAlnum(code[0]) || !IsUpperAlnum(code[3]) ||
          (v.size() > 4 && (v[4] != '/' || v.size() > 35))) {
        return FieldError(f, 0, 0, fmt::format("'{}' is not an instruction code 4!c[/30x]", v));
      }
      return OkStatus();
    }
    case Format::kTransactionType:
      if (v.size() != 3) return FieldError(f, 0, 0, fmt::format("'{}' is not 3!c", v));
      return OkStatus();
    case Format::kDateCcyAmount: {
      if (v.size() < 10 || !IsValidDate(v.substr(0, 6))) {
        return FieldError(
            f, 0, 0, fmt::format("'{}' does not start with a valid date YYMMDD", v.substr(0, 6)));
      }
      FERRY_RETURN_IF_ERROR(CheckCurrency(f, v.substr(6, 3), 6));
      return CheckAmount(f, v.substr(9), 9);
    }
    case Format::kCcyAmount:
      if (v.size() < 4) return FieldError(f, 0, 0, fmt::format("'{}' is not 3!a15d", v));
      FERRY_RETURN_IF_ERROR(CheckCurrency(f, v.substr(0, 3), 0));
      return CheckAmount(f, v.substr(3), 3);
    case Format::kRate:
      if (v.size() > 12 || MtAmountToDecimal(v).empty()) {
        return FieldError(f, 0, 0, fmt::format("rate '{}' is not 12d (digits, one comma)", v));
      }
      return OkStatus();
    case Format::kCharges:
      if (v != "BEN" && v != "OUR" && v != "SHA") {
        return FieldError(f, 0, 0, fmt::format("'{}' is not BEN, OUR or SHA", v));
      }
      return OkStatus();
    case Format::kTimeIndication:
      if (v.size() < 15 || v[0] != '/') {
        return FieldError(f, 0, 0, fmt::format("'{}' is not /8c/4!n1!x4!n", v));
      }
      return OkStatus();
    case Format::kNarrative4: return CheckLines(f, lines, 4, 35);
    case Format::kNarrative6: return CheckLines(f, lines, 6, 35);
    case Format::kNarrative3: return CheckLines(f, lines, 3, 35);
    case Format::kNarrative9000:
      if (v.size() > 9000) return FieldError(f, 0, 0, "more than 9000 characters");
      return OkStatus();
    case Format::kPartyBic:
    case Format::kAgentBic: {
      FERRY_ASSIGN_OR_RETURN(size_t first, CheckAccountLine(f, lines, false));
      if (lines.size() != first + 1) {
        return FieldError(f, first, 0, "expected one BIC line after the optional '/account' line");
      }
      if (!IsBic(lines[first], false)) {
        return FieldError(
            f, first, 0,
            fmt::format("'{}' is not a BIC (8 or 11 letters and digits)", lines[first]));
      }
      return OkStatus();
    }
    case Format::kPartyNameAddress:
    case Format::kAgentNameAddress: {
      FERRY_ASSIGN_OR_RETURN(size_t first, CheckAccountLine(f, lines, false));
      if (lines.size() == first) return FieldError(f, first, 0, "the name line is missing");
      return CheckLines(f, lines, 4, 35, first);
    }
    case Format::kAgentLocation: {
      FERRY_ASSIGN_OR_RETURN(size_t first, CheckAccountLine(f, lines, false));
      return CheckLines(f, lines, 1, 35, first);
    }
    case Format::kAgentAccount: {
      FERRY_ASSIGN_OR_RETURN(size_t first, CheckAccountLine(f, lines, true));
      return CheckLines(f, lines, 0, 35, first);
    }
    case Format::kPartyStructured: {
      // 50F: the identifier line is mandatory; 59F: the account line is optional.
      size_t first = 0;
      if (f.number() == "50") {
        if (lines.empty() || lines[0].empty()) {
          return FieldError(f, 0, 0, "the party identifier line is missing");
        }
        first = 1;
      } else {
        FERRY_ASSIGN_OR_RETURN(first, CheckAccountLine(f, lines, false));
      }
      FERRY_RETURN_IF_ERROR(CheckLines(f, lines, 4, 35, first));
      for (size_t i = first; i < lines.size(); ++i) {
        const std::string_view l = lines[i];
        const char max_number = f.number() == "50" ? '8' : '3';
        if (l.size() < 3 || l[0] < '1' || l[0] > max_number || l[1] != '/') {
          return FieldError(
              f, i, 0,
              fmt::format("'{}' does not start with a line number 1/ to {}/", l, max_number));
        }
        if (l[0] == '3') {
          // 3/CC/town: a 2-letter country, then the town.
          if (l.size() < 5 || !IsUpper(l[2]) || !IsUpper(l[3]) || (l.size() > 4 && l[4] != '/')) {
            return FieldError(f, i, 2,
                              fmt::format("'{}' is not 3/ with a 2-letter country code", l));
          }
        }
      }
      if (f.number() == "59" && first == lines.size()) {
        return FieldError(f, first, 0, "the name line 1/ is missing");
      }
      return OkStatus();
    }
    case Format::kAny: return OkStatus();
  }
  return OkStatus();
}

}  // namespace

namespace {
// Tags are 2 or 3 characters: compared in place, without a call to memcmp (the validation
// compares each field with every rule of its message type).
bool SameTag(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// A field's identity for repetition and presence: the number for the parties and agents whose
// letter is an option (50a, 52a-59a), the whole tag otherwise (23B and 23E are two fields).
std::string_view Identity(std::string_view tag) {
  const std::string_view n = tag.substr(0, 2);
  return n[0] == '5' ? n : tag;
}
}  // namespace

// The network validated rules of MT103 between fields (Standards MT, MT103 "Network Validated
// Rules"): C1 (D75) 33B in another currency than 32A needs 36, and 36 needs it; C3 (E01, E02) the
// 23E codes 23B allows; C14 and C15 (E13, D50, E15) which of 71F and 71G 71A allows. Not
// checked: E15's "BEN needs at least one 71F", which the reference cases break and whose
// translation states a zero charge instead (docs/swift.md).
Status CheckMt103Rules(const MtMessage& m) {
  const MtField* f23b = nullptr;
  const MtField* f32a = nullptr;
  const MtField* f33b = nullptr;
  const MtField* f36 = nullptr;
  const MtField* f71a = nullptr;
  std::vector<const MtField*> f23e;
  std::vector<const MtField*> f71f;
  const MtField* f71g = nullptr;
  for (const MtField& f : m.fields) {
    if (SameTag(f.tag, "23B")) f23b = &f;
    if (SameTag(f.tag, "23E")) f23e.push_back(&f);
    if (SameTag(f.tag, "32A")) f32a = &f;
    if (SameTag(f.tag, "33B")) f33b = &f;
    if (SameTag(f.tag, "36")) f36 = &f;
    if (SameTag(f.tag, "71A")) f71a = &f;
    if (SameTag(f.tag, "71F")) f71f.push_back(&f);
    if (SameTag(f.tag, "71G")) f71g = &f;
  }
  if (f33b != nullptr && f32a != nullptr) {
    const std::string_view instructed = f33b->value.substr(0, 3);
    const std::string_view settled = f32a->value.substr(6, 3);
    if (instructed != settled && f36 == nullptr) {
      return InvalidArgument(
          "block 4, field :33B: (line {}): rule D75: the instructed amount is in {} and 32A in "
          "{}; add the exchange rate :36:",
          f33b->line, instructed, settled);
    }
    if (instructed == settled && f36 != nullptr) {
      return InvalidArgument(
          "block 4, field :36: (line {}): rule D75: 33B and 32A are both in {}; an exchange "
          "rate is not allowed, remove :36:",
          f36->line, settled);
    }
  } else if (f36 != nullptr) {
    return InvalidArgument(
        "block 4, field :36: (line {}): rule D75: an exchange rate needs the instructed amount "
        ":33B: in another currency than 32A",
        f36->line);
  }
  if (f23b != nullptr) {
    for (const MtField* e : f23e) {
      const std::string_view code = e->value.substr(0, 4);
      if ((f23b->value == "SSTD" || f23b->value == "SPAY") ||
          (f23b->value == "SPRI" && code != "SDVA" && code != "TELB" && code != "PHOB" &&
           code != "INTC")) {
        return InvalidArgument(
            "block 4, field :23E: (line {}): rule {}: 23B {} does not allow the instruction "
            "code {}",
            e->line, f23b->value == "SPRI" ? "E01" : "E02", f23b->value, code);
      }
    }
  }
  if (f71a != nullptr) {
    if (f71a->value == "OUR" && !f71f.empty()) {
      return InvalidArgument(
          "block 4, field :71F: (line {}): rule E13: with 71A OUR the sender bears the charges; "
          "no sender's charges :71F: are allowed",
          f71f.front()->line);
    }
    if (f71a->value != "OUR" && f71g != nullptr) {
      return InvalidArgument(
          "block 4, field :71G: (line {}): rule {}: receiver's charges :71G: are allowed only "
          "with 71A OUR, not {}",
          f71g->line, f71a->value == "SHA" ? "D50" : "E15", f71a->value);
    }
  }
  return OkStatus();
}

// The UETR of block 3's tag 121: a version 4 UUID in lower case (SWIFT gpi, "UETR").
bool IsUetr(std::string_view v) {
  if (v.size() != 36) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!IsDigit(c) && !(c >= 'a' && c <= 'f')) {
      return false;
    }
  }
  return v[14] == '4' && (v[19] == '8' || v[19] == '9' || v[19] == 'a' || v[19] == 'b');
}

Status ValidateMt(const MtMessage& message) {
  if (const std::string_view uetr = message.UserHeader("121"); !uetr.empty() && !IsUetr(uetr)) {
    return InvalidArgument(
        "block 3, {{121:{}}}: the UETR must be a version 4 UUID in lower case "
        "(xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx)",
        uetr);
  }
  const std::string kind = message.Kind();
  const MessageRule* rule = nullptr;
  for (const MessageRule& r : Rules()) {
    if (r.kind == kind) rule = &r;
  }
  if (rule == nullptr) return OkStatus();
  const bool cov = kind.ends_with("COV");
  bool in_b = false;
  std::vector<std::pair<std::string_view, bool>> seen;
  seen.reserve(message.fields.size());
  for (const MtField& f : message.fields) {
    if (cov && !in_b && f.number() == "50") in_b = true;
    const FieldRule* fr = nullptr;
    for (const FieldRule& r : rule->fields) {
      if (r.sequence_b == in_b && SameTag(r.tag, f.tag)) {
        fr = &r;
        break;
      }
    }
    if (fr == nullptr) {
      return InvalidArgument(
          "block 4, field :{}: (line {}): not a field of MT{}{}; remove it or check the tag and "
          "letter option",
          f.tag, f.line, kind, cov ? (in_b ? " sequence B" : " sequence A") : "");
    }
    const bool repeatable = std::any_of(rule->repeatable.begin(), rule->repeatable.end(),
                                        [&](std::string_view r) { return SameTag(r, f.tag); });
    const std::string_view id = Identity(f.tag);
    for (const auto& [other, b] : seen) {
      if (SameTag(other, id) && b == in_b && !repeatable) {
        return InvalidArgument("block 4, field :{}: (line {}): field {} appears twice{}", f.tag,
                               f.line, id, cov ? (in_b ? " in sequence B" : " in sequence A") : "");
      }
    }
    seen.emplace_back(id, in_b);
    FERRY_RETURN_IF_ERROR(CheckField(f, fr->format));
  }
  for (const auto& [id, b] : rule->mandatory) {
    bool found = false;
    for (const auto& [other, sb] : seen) found = found || (SameTag(other, id) && sb == b);
    if (found) continue;
    std::string options;
    for (const FieldRule& r : rule->fields) {
      if (Identity(r.tag) == id && r.sequence_b == b) {
        options += (options.empty() ? ":" : ", :") + std::string(r.tag) + ":";
      }
    }
    const std::string_view name = FieldName(id.substr(0, 2));
    return InvalidArgument("MT{}: mandatory field {}{} is missing; add {}", kind, id,
                           name.empty() ? "" : fmt::format(" ({})", name), options)
        .WithContext(cov ? (b ? "block 4, sequence B" : "block 4, sequence A") : "block 4");
  }
  if (kind == "103") return CheckMt103Rules(message);
  return OkStatus();
}

}  // namespace ferry::legacy
