#include "legacy/codepage.h"

#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include <fmt/format.h>

namespace ferry::legacy {
namespace {

using Table = std::array<char32_t, 256>;

constexpr int kIbmPages[] = {37,   273,  500,  875,  1047, 1140, 1141,
                             1142, 1143, 1144, 1145, 1146, 1147, 1148};

// Decodes one UTF-8 sequence (iconv's output for one byte).
char32_t DecodeUtf8(const unsigned char* s, size_t n) {
  if (n == 1) return s[0];
  if (n == 2) return ((s[0] & 0x1F) << 6) | (s[1] & 0x3F);
  if (n == 3) return ((s[0] & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
  if (n == 4) {
    return ((s[0] & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
  }
  return CodePage::kUnmapped;
}

// The page's table through glibc's iconv: each byte converted alone to UTF-8.
Result<Table> IconvTable(const std::string& iconv_name) {
  iconv_t cd = iconv_open("UTF-8", iconv_name.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) {  // NOLINT(performance-no-int-to-ptr): iconv's error
    return Err(
        Unavailable("glibc's iconv has no converter from {} (`iconv -l` lists them; the "
                    "gconv modules come with libc6)",
                    iconv_name));
  }
  Table table;
  for (int b = 0; b < 256; ++b) {
    char in[1] = {static_cast<char>(b)};
    char out[8];
    char* inp = in;
    char* outp = out;
    size_t in_left = 1, out_left = sizeof(out);
    iconv(cd, nullptr, nullptr, nullptr, nullptr);  // reset the shift state
    const size_t done = iconv(cd, &inp, &in_left, &outp, &out_left);
    const size_t produced = sizeof(out) - out_left;
    table[b] = done == static_cast<size_t>(-1) || in_left != 0 || produced == 0
                   ? CodePage::kUnmapped
                   : DecodeUtf8(reinterpret_cast<unsigned char*>(out), produced);
  }
  iconv_close(cd);
  return table;
}

bool IsC1(char32_t c) { return c >= 0x80 && c <= 0x9F; }
bool IsC0OrDel(char32_t c) { return c < 0x20 || c == 0x7F; }

// Cobrix's conventions over an IBM table (codepage.h).
Table CobrixExtended(const Table& ibm) {
  Table t = ibm;
  for (int b = 0; b < 256; ++b) {
    if (t[b] == CodePage::kUnmapped || (IsC1(t[b]) && b != 0x15)) t[b] = ' ';
  }
  t[0x0D] = '\n';
  t[0x25] = '\r';
  return t;
}

Table CobrixCp037(const Table& ibm) {
  Table t = CobrixExtended(ibm);
  for (int b = 0; b < 256; ++b) {
    if (IsC0OrDel(t[b]) && b != 0x0D && b != 0x25) t[b] = ' ';
  }
  return t;
}

bool IsInvariant(char32_t c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' ') {
    return true;
  }
  if (c == 0xA6) return true;  // broken bar
  return c != 0 && c < 0x80 &&
         std::strchr(".<(+|&!$*);-/,%_>?`:#@'=\"~^[]{}\\", static_cast<int>(c)) != nullptr;
}

// Cobrix's `common`: the characters every EBCDIC page agrees on, from CCSID 37. Its extended
// form keeps the C0 controls of bytes 0x00-0x3F and shows the C1 ones of 0x00-0x1F as SUB,
// which is what Cobrix's table (after pacsys.com's ASCII table) amounts to.
Table CobrixCommon(const Table& cp037, bool extended) {
  Table t;
  for (int b = 0; b < 256; ++b) {
    const char32_t c = cp037[b];
    // The invariant characters, and (extended) the C0 controls of the EBCDIC control area.
    if (IsInvariant(c) || (extended && b < 0x40 && c < 0x20 && c != 0x1A)) {
      t[b] = c;
    } else if (extended && b < 0x20 && IsC1(c)) {
      t[b] = 0x1A;  // a control without an ASCII equivalent: SUB
    } else {
      t[b] = ' ';
    }
  }
  t[0xCA] = '-';  // the soft hyphen
  t[0x0D] = '\n';
  t[0x25] = '\r';
  return t;
}

Table AsciiTable(bool latin1) {
  Table t;
  for (int b = 0; b < 256; ++b) {
    t[b] = b < 0x20 ? CodePage::kDropped : b < 0x80 || latin1 ? static_cast<char32_t>(b) : 0xFFFD;
  }
  return t;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The canonical name, or "" when unknown.
std::string Canonical(std::string_view name) {
  std::string n = Lower(name);
  if (n == "ascii" || n == "us-ascii") return "ascii";
  if (n == "latin1" || n == "iso-8859-1" || n == "iso8859-1" || n == "latin-1") return "latin1";
  if (n == "common" || n == "common_extended" || n == "cp037_extended") return n;
  std::string prefix = "cp";
  std::string digits = n;
  if (n.starts_with("ibm-")) {
    prefix = "ibm-";
    digits = n.substr(4);
  } else if (n.starts_with("ibm")) {
    prefix = "ibm-";
    digits = n.substr(3);
  } else if (n.starts_with("cp")) {
    digits = n.substr(2);
  }
  if (digits.empty() || !std::ranges::all_of(digits, ::isdigit)) return "";
  const int number = std::stoi(digits.substr(0, 6));
  if (std::ranges::find(kIbmPages, number) == std::end(kIbmPages)) {
    return "";
  }
  return fmt::format("{}{:03}", prefix, number);
}

struct Registry {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<CodePage>> pages;  // GUARDED_BY(mu)
};

Registry& GetRegistry() {
  static auto* registry = new Registry();
  return *registry;
}

Result<std::unique_ptr<CodePage>> Build(const std::string& name) {
  if (name == "ascii" || name == "latin1") {
    return std::make_unique<CodePage>(name, "", false, AsciiTable(name == "latin1"));
  }
  const int number =
      name.starts_with("common") ? 37 : std::stoi(name.substr(name.find_first_of("0123456789")));
  const std::string iconv_name = fmt::format("IBM{:03}", number);
  FERRY_ASSIGN_OR_RETURN(Table ibm, IconvTable(iconv_name));
  Table table;
  if (name.starts_with("ibm-")) {
    table = ibm;
  } else if (name == "common" || name == "common_extended") {
    table = CobrixCommon(ibm, name == "common_extended");
  } else if (name == "cp037") {
    table = CobrixCp037(ibm);
  } else {
    table = CobrixExtended(ibm);
  }
  return std::make_unique<CodePage>(name, iconv_name, true, table);
}

void AppendJsonEscaped(char32_t c, std::string* out) {
  switch (c) {
    case '"': *out += "\\\""; return;
    case '\\': *out += "\\\\"; return;
    case '\b': *out += "\\b"; return;
    case '\t': *out += "\\t"; return;
    case '\n': *out += "\\n"; return;
    case '\f': *out += "\\f"; return;
    case '\r': *out += "\\r"; return;
    default: break;
  }
  if (c < 0x20) {
    *out += fmt::format("\\u{:04X}", static_cast<uint32_t>(c));
  } else {
    AppendUtf8(c, out);
  }
}

}  // namespace

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

CodePage::CodePage(std::string name, std::string iconv_name, bool ebcdic,
                   const std::array<char32_t, 256>& code_points)
    : name_(std::move(name)), iconv_name_(std::move(iconv_name)), ebcdic_(ebcdic) {
  for (int b = 0; b < 256; ++b) {
    Entry& e = entries_[b];
    const char32_t c = code_points[b];
    e.code_point = c;
    e.valid = c != kUnmapped;
    all_valid_ = all_valid_ && e.valid;
    if (c == kDropped) {
      e.trimmable = true;
      continue;
    }
    if (c == kUnmapped) {
      // Shown as U+FFFD where invalid bytes are tolerated (InvalidValues::kNull).
      std::string replacement;
      AppendUtf8(0xFFFD, &replacement);
      e.utf8_size = e.json_size = static_cast<uint8_t>(replacement.size());
      std::ranges::copy(replacement, e.utf8);
      std::ranges::copy(replacement, e.json);
      continue;
    }
    e.trimmable = c <= 0x20;
    std::string utf8, json;
    AppendUtf8(c, &utf8);
    AppendJsonEscaped(c, &json);
    e.utf8_size = static_cast<uint8_t>(utf8.size());
    std::ranges::copy(utf8, e.utf8);
    e.json_size = static_cast<uint8_t>(json.size());
    std::ranges::copy(json, e.json);
    if (json.size() == 1) json_char_[b] = json[0];
  }
  // Encoding picks, for a character several bytes decode to, the byte that means it in EBCDIC
  // or ASCII: the space for ' ' (not a control byte Cobrix also shows as a space), and
  // otherwise the lowest byte.
  const uint8_t space = ebcdic ? 0x40 : 0x20;
  if (entries_[space].code_point == ' ') reverse_[' '] = space;
  for (int b = 0; b < 256; ++b) {
    const char32_t c = entries_[b].code_point;
    if (c != kUnmapped && c != kDropped) reverse_.emplace(c, static_cast<uint8_t>(b));
  }
}

bool CodePage::Encode(char32_t code_point, uint8_t* byte) const {
  auto it = reverse_.find(code_point);
  if (it == reverse_.end()) return false;
  *byte = it->second;
  return true;
}

Result<const CodePage*> CodePage::Get(std::string_view name) {
  const std::string canonical = Canonical(name);
  if (canonical.empty()) {
    std::string names;
    for (const std::string& n : Names()) names += (names.empty() ? "" : ", ") + n;
    return Err(NotFound("code page `{}` is not supported; use one of {}", name, names));
  }
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  auto it = registry.pages.find(canonical);
  if (it == registry.pages.end()) {
    FERRY_ASSIGN_OR_RETURN(std::unique_ptr<CodePage> page, Build(canonical));
    it = registry.pages.emplace(canonical, std::move(page)).first;
  }
  return it->second.get();
}

std::vector<std::string> CodePage::Names() {
  std::vector<std::string> names = {"common", "common_extended", "cp037_extended"};
  for (int n : kIbmPages) names.push_back(fmt::format("cp{:03}", n));
  for (int n : kIbmPages) names.push_back(fmt::format("ibm-{:03}", n));
  names.emplace_back("ascii");
  names.emplace_back("latin1");
  return names;
}

}  // namespace ferry::legacy
