#include "legacy/picture.h"

#include <cctype>

namespace ferry::legacy {
namespace {

// Symbols after expansion: one char each, CR as 'C' and DB as 'D'.
constexpr int32_t kMaxRepeat = 1 << 20;

bool IsNumericEditSymbol(char c) {
  switch (c) {
    case 'Z':
    case '*':
    case '+':
    case '-':
    case 'C':
    case 'D':
    case '$':
    case ',':
    case 'B':
    case '0':
    case '/': return true;
    default: return false;
  }
}

std::string SymbolName(char c) {
  if (c == 'C') return "CR";
  if (c == 'D') return "DB";
  return std::string(1, c);
}

Result<std::vector<char>> ExpandSymbols(std::string_view pic) {
  std::vector<char> symbols;
  size_t i = 0;
  while (i < pic.size()) {
    const char c = pic[i];
    if (c == '(') {
      if (symbols.empty()) {
        return Err(InvalidArgument("PIC {}: a repeat count with no symbol", pic));
      }
      size_t close = pic.find(')', i);
      if (close == std::string_view::npos) {
        return Err(InvalidArgument("PIC {}: `(` without `)`", pic));
      }
      int64_t count = 0;
      for (size_t k = i + 1; k < close; ++k) {
        if (!std::isdigit(static_cast<unsigned char>(pic[k]))) {
          return Err(InvalidArgument("PIC {}: the repeat count `{}` is not a number", pic,
                                     pic.substr(i + 1, close - i - 1)));
        }
        count = count * 10 + (pic[k] - '0');
        if (count > kMaxRepeat) break;
      }
      if (close == i + 1 || count < 1 || count > kMaxRepeat) {
        return Err(InvalidArgument("PIC {}: repeat count `{}` out of range (1 to {})", pic,
                                   pic.substr(i + 1, close - i - 1), kMaxRepeat));
      }
      const char repeated = symbols.back();
      if (repeated == 'C' || repeated == 'D') {
        return Err(InvalidArgument("PIC {}: {} cannot be repeated", pic, SymbolName(repeated)));
      }
      symbols.insert(symbols.end(), static_cast<size_t>(count - 1), repeated);
      i = close + 1;
      continue;
    }
    if (c == 'C' || c == 'D') {
      const char second = c == 'C' ? 'R' : 'B';
      if (i + 1 >= pic.size() || pic[i + 1] != second) {
        return Err(InvalidArgument("PIC {}: `{}` is not a picture symbol (CR and DB are)", pic, c));
      }
      symbols.push_back(c);
      i += 2;
      continue;
    }
    switch (c) {
      case 'A':
      case 'X':
      case '9':
      case 'S':
      case 'V':
      case 'P':
      case 'Z':
      case '*':
      case '+':
      case '-':
      case '$':
      case '.':
      case ',':
      case 'B':
      case '0':
      case '/': symbols.push_back(c); break;
      case 'N':
      case 'G':
      case 'U':
        return Err(Unimplemented(
            "PIC {}: national and DBCS items (N, G, U) are not supported yet; describe the field "
            "as PIC X of twice the length to read its bytes",
            pic));
      case 'E':
        return Err(
            Unimplemented("PIC {}: floating-point edited pictures (E) are not supported", pic));
      case '1': return Err(Unimplemented("PIC {}: boolean items (1) are not supported", pic));
      default: return Err(InvalidArgument("PIC {}: `{}` is not a picture symbol", pic, c));
    }
    ++i;
  }
  if (symbols.empty()) return Err(InvalidArgument("PIC is empty"));
  return symbols;
}

Status ParseAlphanumeric(const std::vector<char>& symbols, Picture* pic) {
  bool only_a = true, edited = false;
  for (char c : symbols) {
    switch (c) {
      case 'A': break;
      case 'X':
      case '9': only_a = false; break;
      case 'B':
      case '0':
      case '/': edited = true; break;
      default:
        return InvalidArgument("PIC {}: `{}` cannot be mixed with A or X", pic->text,
                               SymbolName(c));
    }
  }
  pic->category = edited   ? PictureCategory::kAlphanumericEdited
                  : only_a ? PictureCategory::kAlphabetic
                           : PictureCategory::kAlphanumeric;
  pic->size = static_cast<int32_t>(symbols.size());
  return OkStatus();
}

Status ParseNumeric(const std::vector<char>& symbols, Picture* pic) {
  pic->category = PictureCategory::kNumeric;
  bool seen_point = false, seen_digit = false, trailing_p = false;
  int32_t leading_p = 0, trailing_p_count = 0, fraction_digits = 0;
  for (size_t i = 0; i < symbols.size(); ++i) {
    const char c = symbols[i];
    switch (c) {
      case 'S':
        if (i != 0) return InvalidArgument("PIC {}: S must be the first symbol", pic->text);
        pic->is_signed = true;
        break;
      case 'V':
      case '.':
        if (seen_point) return InvalidArgument("PIC {}: more than one V or `.`", pic->text);
        if (trailing_p) {
          return InvalidArgument("PIC {}: V after trailing P positions", pic->text);
        }
        seen_point = true;
        if (c == '.') pic->explicit_point = true;
        break;
      case 'P':
        if (seen_digit) {
          trailing_p = true;
          ++trailing_p_count;
        } else {
          ++leading_p;
        }
        break;
      case '9':
        if (trailing_p) {
          return InvalidArgument("PIC {}: P positions must be at one end of the digits", pic->text);
        }
        seen_digit = true;
        ++pic->digits;
        if (seen_point) ++fraction_digits;
        break;
      default: return InvalidArgument("PIC {}: unexpected `{}`", pic->text, SymbolName(c));
    }
  }
  if (pic->digits == 0) return InvalidArgument("PIC {}: no digit position (9)", pic->text);
  if (trailing_p && seen_point) {
    return InvalidArgument("PIC {}: trailing P positions with a decimal point", pic->text);
  }
  if (leading_p > 0 && pic->explicit_point) {
    return InvalidArgument("PIC {}: P positions with an explicit `.`", pic->text);
  }
  pic->scaling_positions = leading_p + trailing_p_count;
  // Leading Ps put the point left of them: every digit is a fraction digit.
  if (leading_p > 0 && !seen_point) fraction_digits = pic->digits;
  pic->scale = trailing_p ? -trailing_p_count : fraction_digits + leading_p;
  pic->size = pic->digits + (pic->explicit_point ? 1 : 0);
  return OkStatus();
}

Status ParseNumericEdited(const std::vector<char>& symbols, Picture* pic) {
  pic->category = PictureCategory::kNumericEdited;
  bool seen_point = false;
  int32_t fraction_digits = 0;
  // A floating insertion string is a $, + or - followed by more of the same, possibly with
  // insertion characters (, B 0 /) in between: `$$$,$$9.99`, `+++9`, `----.99`.
  std::vector<bool> floating(symbols.size(), false);
  std::vector<bool> float_head(symbols.size(), false);
  for (char f : {'$', '+', '-'}) {
    size_t first = 0;
    while (first < symbols.size() && symbols[first] != f) ++first;
    if (first == symbols.size()) continue;
    size_t end = first + 1, last = first;
    while (end < symbols.size() &&
           (symbols[end] == f || symbols[end] == ',' || symbols[end] == 'B' ||
            symbols[end] == '0' || symbols[end] == '/')) {
      if (symbols[end] == f) last = end;
      ++end;
    }
    if (last == first) continue;
    float_head[first] = true;
    for (size_t k = first; k <= last; ++k) floating[k] = symbols[k] == f;
  }
  for (size_t i = 0; i < symbols.size(); ++i) {
    const char c = symbols[i];
    const bool first_of_run = float_head[i];
    auto add = [&](EditRole role) {
      pic->edit.push_back({c, role, floating[i]});
      if (role == EditRole::kDigit && seen_point) ++fraction_digits;
      if (role == EditRole::kDigit) ++pic->digits;
    };
    switch (c) {
      case '9':
      case 'Z':
      case '*': add(EditRole::kDigit); break;
      case '$': add(floating[i] && !first_of_run ? EditRole::kDigit : EditRole::kInsert); break;
      case '+':
      case '-':
        pic->is_signed = true;
        add(floating[i] && !first_of_run ? EditRole::kDigit : EditRole::kSign);
        break;
      case 'C':
      case 'D':
        if (i + 1 != symbols.size()) {
          return InvalidArgument("PIC {}: {} must be the last symbol", pic->text, SymbolName(c));
        }
        pic->is_signed = true;
        add(EditRole::kCredit);
        pic->edit.push_back({c, EditRole::kCreditTail, false});
        break;
      case '.':
      case 'V':
        if (seen_point) return InvalidArgument("PIC {}: more than one V or `.`", pic->text);
        seen_point = true;
        if (c == '.') add(EditRole::kPoint);
        break;
      case ',':
      case 'B':
      case '0':
      case '/': add(EditRole::kInsert); break;
      case 'S':
        return InvalidArgument("PIC {}: S cannot be used in an edited picture; use + or -",
                               pic->text);
      case 'P': return InvalidArgument("PIC {}: P cannot be used in an edited picture", pic->text);
      default: return InvalidArgument("PIC {}: unexpected `{}`", pic->text, SymbolName(c));
    }
  }
  if (pic->digits == 0) return InvalidArgument("PIC {}: no digit position", pic->text);
  pic->scale = fraction_digits;
  pic->size = static_cast<int32_t>(pic->edit.size());
  return OkStatus();
}

}  // namespace

std::string_view PictureCategoryName(PictureCategory category) {
  switch (category) {
    case PictureCategory::kAlphabetic: return "alphabetic";
    case PictureCategory::kAlphanumeric: return "alphanumeric";
    case PictureCategory::kAlphanumericEdited: return "alphanumeric-edited";
    case PictureCategory::kNumeric: return "numeric";
    case PictureCategory::kNumericEdited: return "numeric-edited";
  }
  return "?";
}

Result<Picture> ParsePicture(std::string_view text) {
  Picture pic;
  pic.text.reserve(text.size());
  for (char c : text) {
    pic.text.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  FERRY_ASSIGN_OR_RETURN(std::vector<char> symbols, ExpandSymbols(pic.text));
  bool has_alpha = false, has_edit = false;
  for (char c : symbols) {
    if (c == 'A' || c == 'X') has_alpha = true;
    if (IsNumericEditSymbol(c)) has_edit = true;
  }
  Status status = has_alpha  ? ParseAlphanumeric(symbols, &pic)
                  : has_edit ? ParseNumericEdited(symbols, &pic)
                             : ParseNumeric(symbols, &pic);
  if (!status.ok()) return Err(status);
  return pic;
}

}  // namespace ferry::legacy
