#include "discover/csv.h"

namespace ferry {

Result<std::vector<CsvRecord>> ParseCsv(std::string_view text, std::string_view source) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<CsvRecord> records;
  CsvRecord record;
  std::string field;
  int line = 1;
  size_t line_start = 0;       // offset of the current line, for columns in errors
  bool at_field_start = true;  // nothing of the current field read yet
  bool has_content = false;    // the current record holds a character, a comma or quotes
  auto newline_length = [&](size_t at) -> size_t {
    if (text[at] == '\n') return 1;
    if (text[at] == '\r') return at + 1 < text.size() && text[at + 1] == '\n' ? 2 : 1;
    return 0;
  };
  auto end_field = [&] {
    record.fields.push_back(std::move(field));
    field.clear();
    at_field_start = true;
  };
  auto end_record = [&] {
    end_field();
    // A line with nothing on it is no record (files end with one; people leave them between).
    if (has_content) records.push_back(std::move(record));
    record = CsvRecord();
    has_content = false;
  };

  size_t i = 0;
  while (i < text.size()) {
    if (!has_content) record.line = line;
    const char c = text[i];
    if (c == '"' && at_field_start) {
      // A quoted field: up to the quote that is not doubled.
      const int open_line = line;
      const size_t open_column = i - line_start + 1;
      has_content = true;
      at_field_start = false;
      ++i;
      while (true) {
        if (i >= text.size()) {
          return Err(InvalidArgument(
              "{}:{}:{}: the quoted field opened here is never closed; a quote inside a quoted "
              "field must be doubled (\"\")",
              source, open_line, open_column));
        }
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (size_t n = newline_length(i); n > 0) {
          field.append(text.substr(i, n));
          i += n;
          ++line;
          line_start = i;
          continue;
        }
        field.push_back(text[i++]);
      }
      if (i < text.size() && text[i] != ',' && newline_length(i) == 0) {
        return Err(InvalidArgument(
            "{}:{}:{}: `{}` after the closing quote of a field; quote a field whole or not at "
            "all, and double the quotes inside it",
            source, line, i - line_start + 1, text[i]));
      }
      continue;
    }
    if (c == ',') {
      has_content = true;
      end_field();
      ++i;
      continue;
    }
    if (size_t n = newline_length(i); n > 0) {
      end_record();
      i += n;
      ++line;
      line_start = i;
      continue;
    }
    has_content = true;
    at_field_start = false;
    field.push_back(c);
    ++i;
  }
  if (has_content) end_record();
  return records;
}

}  // namespace ferry
