#include "connect/file_connector.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

namespace ferry::connect_internal {
namespace {

namespace fs = std::filesystem;

constexpr size_t kIoBufferBytes = 1 << 20;
constexpr int kInferenceLines = 1000;

std::string_view Extension(FileFormat format) {
  return format == FileFormat::kCsv ? ".csv" : ".jsonl";
}

std::string ErrnoText() { return std::strerror(errno); }

// ---- Values as text ------------------------------------------------------------------------

std::string TextForm(const Value& v) { return TextInputForm(v); }

std::string JsonString(std::string_view s) {
  return Json(std::string(s)).dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

std::string_view JsonTypeName(const Json& j) { return j.type_name(); }

// A value of `kind` from its JSON Lines form (see the header), or the other natural spelling.
Result<Value> ValueFromJson(TypeKind kind, const Json& j) {
  if (j.is_null()) return Value::Null();
  if (kind == TypeKind::kJson) return JsonValue(j);
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (kind == TypeKind::kText) return Value::Text(s);  // the JSON parser validated UTF-8
    return ParseTextInputForm(kind, s);
  }
  switch (kind) {
    case TypeKind::kBool:
      if (j.is_boolean()) return Value::Bool(j.get<bool>());
      break;
    case TypeKind::kInt64:
      if (j.is_number_integer()) {
        if (j.is_number_unsigned() &&
            j.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return Err(InvalidArgument("{} does not fit a 64-bit integer", j.dump()));
        }
        return Value::Int64(j.get<int64_t>());
      }
      break;
    case TypeKind::kDecimal:
      if (j.is_number_integer()) return ParseDecimal(j.dump());
      if (j.is_number_float()) return ParseDecimal(FormatFloat64(j.get<double>()));
      break;
    case TypeKind::kFloat64:
      if (j.is_number()) return Value::Float64(j.get<double>());
      break;
    default: break;
  }
  return Err(InvalidArgument(
      "expected {} (a string in its text form{}), found a JSON {}", TypeKindName(kind),
      kind == TypeKind::kInt64 || kind == TypeKind::kFloat64 || kind == TypeKind::kDecimal
          ? ", or a number"
          : "",
      JsonTypeName(j)));
}

void AppendJsonLinesValue(const Value& v, std::string* out) {
  if (v.is_null()) {
    *out += "null";
    return;
  }
  switch (v.kind()) {
    case TypeKind::kBool: *out += v.bool_value() ? "true" : "false"; return;
    case TypeKind::kInt64: fmt::format_to(std::back_inserter(*out), "{}", v.int64_value()); return;
    case TypeKind::kFloat64: {
      const double d = v.float64_value();
      std::string text = FormatFloat64(d);
      *out += std::isfinite(d) ? text : JsonString(text);
      return;
    }
    case TypeKind::kJson: *out += v.str(); return;  // canonical JSON text
    default: *out += JsonString(TextForm(v)); return;
  }
}

// ---- Buffered files ------------------------------------------------------------------------

using FilePtr = std::unique_ptr<std::FILE, decltype(&std::fclose)>;

Result<FilePtr> OpenFile(const std::string& path, const char* mode) {
  std::FILE* f = std::fopen(path.c_str(), mode);
  if (f == nullptr) {
    return Err(
        Unavailable("{}: cannot open: {}; check the path and its permissions", path, ErrnoText()));
  }
  return FilePtr(f, &std::fclose);
}

// Reads a file in large blocks; never holds more than one block.
class BufferedInput {
 public:
  BufferedInput(FilePtr file, std::string path)
      : file_(std::move(file)), path_(std::move(path)), buffer_(kIoBufferBytes) {}

  // The next byte, or -1 at the end. Read errors are kept in status().
  int Get() {
    if (pos_ == end_ && !Fill()) return -1;
    return static_cast<unsigned char>(buffer_[pos_++]);
  }
  int Peek() {
    if (pos_ == end_ && !Fill()) return -1;
    return static_cast<unsigned char>(buffer_[pos_]);
  }
  // Skips a UTF-8 byte order mark at the start.
  void SkipBom() {
    if (Peek() == 0xEF && end_ - pos_ >= 3 && buffer_[pos_ + 1] == '\xBB' &&
        buffer_[pos_ + 2] == '\xBF') {
      pos_ += 3;
    }
  }
  // One line without its LF (and CR before it); false at the end of the file.
  bool ReadLine(std::string* line) {
    line->clear();
    int c = Get();
    if (c < 0) return false;
    while (c >= 0 && c != '\n') {
      line->push_back(static_cast<char>(c));
      c = Get();
    }
    if (!line->empty() && line->back() == '\r') line->pop_back();
    return true;
  }
  const Status& status() const { return status_; }

 private:
  bool Fill() {
    if (eof_) return false;
    pos_ = 0;
    end_ = std::fread(buffer_.data(), 1, buffer_.size(), file_.get());
    if (end_ < buffer_.size()) {
      if (std::ferror(file_.get()))
        status_ = Unavailable("{}: read failed: {}", path_, ErrnoText());
      eof_ = true;
    }
    return end_ > 0;
  }

  FilePtr file_;
  std::string path_;
  std::vector<char> buffer_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  Status status_;
};

// ---- The sidecar schema --------------------------------------------------------------------

std::string SchemaPath(const std::string& dir, std::string_view table) {
  return fmt::format("{}/{}.schema.json", dir, table);
}

Result<TypeKind> KindNamed(std::string_view name) {
  for (int k = 0; k <= static_cast<int>(TypeKind::kJson); ++k) {
    if (TypeKindName(static_cast<TypeKind>(k)) == name) return static_cast<TypeKind>(k);
  }
  return Err(InvalidArgument("unknown kind `{}`", name));
}

}  // namespace

std::string FileSchemaJson(const TableInfo& table) {
  Json columns = Json::array();
  for (const ColumnInfo& c : table.columns) {
    columns.push_back({{"name", c.name},
                       {"native_type", c.native_type},
                       {"kind", TypeKindName(c.kind)},
                       {"precision", c.precision},
                       {"scale", c.scale},
                       {"nullable", c.nullable}});
  }
  Json schema = {{"table", table.name}, {"columns", columns}, {"primary_key", table.primary_key}};
  return schema.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

JsonLinesRowEncoder::JsonLinesRowEncoder(const TableInfo& table) {
  keys_.reserve(table.columns.size());
  for (const ColumnInfo& c : table.columns) keys_.push_back(JsonString(c.name) + ":");
}

void JsonLinesRowEncoder::AppendRow(const Row& row, std::string* out) const {
  out->push_back('{');
  for (size_t c = 0; c < row.size(); ++c) {
    if (c > 0) out->push_back(',');
    *out += keys_[c];
    AppendJsonLinesValue(row[c], out);
  }
  out->append("}\n");
}

namespace {

Result<TableInfo> ReadSchema(const std::string& path, const std::string& table_name) {
  FERRY_ASSIGN_OR_RETURN(FilePtr file, OpenFile(path, "rb"));
  std::string text;
  char block[65536];
  size_t n;
  while ((n = std::fread(block, 1, sizeof block, file.get())) > 0) text.append(block, n);
  FERRY_ASSIGN_OR_RETURN(Json schema, ParseJson(text, path));
  TableInfo table;
  table.name = table_name;
  try {
    for (const Json& c : schema.at("columns")) {
      ColumnInfo column;
      column.name = c.at("name").get<std::string>();
      column.native_type = c.value("native_type", "");
      FERRY_ASSIGN_OR_RETURN(column.kind, KindNamed(c.at("kind").get<std::string>()));
      column.precision = c.value("precision", -1);
      column.scale = c.value("scale", -1);
      column.nullable = c.value("nullable", true);
      table.columns.push_back(std::move(column));
    }
    if (schema.contains("primary_key")) {
      table.primary_key = schema.at("primary_key").get<std::vector<std::string>>();
    }
  } catch (const Json::exception& e) {
    return Err(InvalidArgument(
        "{}: not a ferry schema file ({}); fix it, or delete it to have the columns inferred "
        "from the data",
        path, e.what()));
  }
  return table;
}

// ---- CSV -----------------------------------------------------------------------------------

struct CsvField {
  std::string text;
  bool quoted = false;
};

// RFC 4180 records from a buffered file, with the line each one starts on.
class CsvParser {
 public:
  CsvParser(BufferedInput input, std::string path)
      : input_(std::move(input)), path_(std::move(path)) {
    input_.SkipBom();
  }

  // Replaces `fields` with the next record; false at the end of the file.
  Result<bool> Next(std::vector<CsvField>* fields) {
    record_line_ = line_;
    int c = input_.Get();
    if (c < 0) {
      FERRY_RETURN_IF_ERROR(input_.status());
      return false;
    }
    size_t count = 0;
    for (;;) {
      if (fields->size() <= count) fields->emplace_back();
      CsvField& f = (*fields)[count++];
      f.text.clear();
      f.quoted = false;
      if (c == '"') {
        f.quoted = true;
        for (;;) {
          c = input_.Get();
          if (c < 0) {
            FERRY_RETURN_IF_ERROR(input_.status());
            return Err(InvalidArgument(
                "{} line {}: field {} opens a quote that is never closed; close it, or double "
                "the quotes inside it (\"\")",
                path_, record_line_, count));
          }
          if (c == '"') {
            if (input_.Peek() != '"') break;
            input_.Get();
          } else if (c == '\n') {
            ++line_;
          }
          f.text.push_back(static_cast<char>(c));
        }
        c = input_.Get();
        if (c == '\r' && input_.Peek() == '\n') c = input_.Get();
        if (c != ',' && c != '\n' && c >= 0) {
          return Err(InvalidArgument(
              "{} line {}: field {} has text after its closing quote; quote the whole field and "
              "double the quotes inside it (\"\")",
              path_, line_, count));
        }
      } else {
        while (c >= 0 && c != ',' && c != '\n') {
          if (c == '\r' && input_.Peek() == '\n') {
            c = input_.Get();
            break;
          }
          f.text.push_back(static_cast<char>(c));
          c = input_.Get();
        }
      }
      if (c == ',') {
        c = input_.Get();
        continue;
      }
      if (c == '\n') ++line_;
      break;
    }
    fields->resize(count);
    FERRY_RETURN_IF_ERROR(input_.status());
    return true;
  }

  int64_t record_line() const { return record_line_; }
  const std::string& path() const { return path_; }

 private:
  BufferedInput input_;
  std::string path_;
  int64_t line_ = 1;
  int64_t record_line_ = 1;
};

Result<CsvParser> OpenCsv(const std::string& path) {
  FERRY_ASSIGN_OR_RETURN(FilePtr file, OpenFile(path, "rb"));
  return CsvParser(BufferedInput(std::move(file), path), path);
}

Result<std::vector<std::string>> ReadCsvHeader(CsvParser& parser) {
  std::vector<CsvField> fields;
  FERRY_ASSIGN_OR_RETURN(bool any, parser.Next(&fields));
  if (!any) {
    return Err(InvalidArgument("{}: empty file; a CSV table needs a header row of column names",
                               parser.path()));
  }
  std::vector<std::string> names;
  for (CsvField& f : fields) {
    FERRY_RETURN_IF_ERROR(
        ValidateUtf8(f.text).WithContext(fmt::format("{} line 1: header", parser.path())));
    names.push_back(std::move(f.text));
  }
  return names;
}

void AppendCsvField(std::string_view text, bool null, std::string* out) {
  if (null) return;
  const bool quote = text.empty() || text.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) {
    *out += text;
    return;
  }
  out->push_back('"');
  for (char c : text) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

// Which position of a file's columns (`names`) holds each column of `table`.
Result<std::vector<int>> MapColumns(const TableInfo& table, const std::vector<std::string>& names,
                                    const std::string& path) {
  std::vector<int> positions;
  for (const ColumnInfo& c : table.columns) {
    int found = -1;
    for (size_t i = 0; i < names.size() && found < 0; ++i) {
      if (names[i] == c.name) found = static_cast<int>(i);
    }
    for (size_t i = 0; i < names.size() && found < 0; ++i) {
      if (SameIdentifier(names[i], c.name)) found = static_cast<int>(i);
    }
    if (found < 0) {
      return Err(FailedPrecondition(
          "{}: the header has no column `{}` that the table declares; fix the header or the "
          "schema file",
          path, c.name));
    }
    positions.push_back(found);
  }
  return positions;
}

class CsvReader final : public RowReader {
 public:
  CsvReader(CsvParser parser, const TableInfo& table, std::vector<int> positions,
            size_t header_fields, size_t batch_rows)
      : parser_(std::move(parser)),
        table_(table),
        positions_(std::move(positions)),
        header_fields_(header_fields),
        batch_rows_(std::max<size_t>(1, batch_rows)) {}

  Result<bool> Next(std::vector<Row>* batch) override {
    batch->clear();
    while (batch->size() < batch_rows_) {
      FERRY_ASSIGN_OR_RETURN(bool any, parser_.Next(&fields_));
      if (!any) break;
      if (fields_.size() != header_fields_) {
        return Err(InvalidArgument(
            "{} line {}: {} fields, the header has {}; quote fields that contain commas, quotes "
            "or line breaks (\"a,b\")",
            parser_.path(), parser_.record_line(), fields_.size(), header_fields_));
      }
      Row row;
      row.reserve(positions_.size());
      for (size_t c = 0; c < positions_.size(); ++c) {
        const CsvField& f = fields_[positions_[c]];
        if (f.text.empty() && !f.quoted) {
          row.push_back(Value::Null());
          continue;
        }
        Result<Value> v = ParseTextInputForm(table_.columns[c].kind, f.text);
        if (!v.has_value()) {
          return Err(v.error().WithContext(
              fmt::format("{} line {}, column `{}` ({})", parser_.path(), parser_.record_line(),
                          table_.columns[c].name, TypeKindName(table_.columns[c].kind))));
        }
        row.push_back(std::move(v).value());
      }
      batch->push_back(std::move(row));
    }
    return !batch->empty();
  }

 private:
  CsvParser parser_;
  const TableInfo& table_;
  std::vector<int> positions_;
  size_t header_fields_;
  size_t batch_rows_;
  std::vector<CsvField> fields_;
};

// ---- JSON Lines ----------------------------------------------------------------------------

bool Blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

class JsonLinesReader final : public RowReader {
 public:
  JsonLinesReader(BufferedInput input, std::string path, const TableInfo& table, size_t batch_rows)
      : input_(std::move(input)),
        path_(std::move(path)),
        table_(table),
        batch_rows_(std::max<size_t>(1, batch_rows)) {
    for (size_t i = 0; i < table.columns.size(); ++i) columns_[table.columns[i].name] = i;
  }

  Result<bool> Next(std::vector<Row>* batch) override {
    batch->clear();
    while (batch->size() < batch_rows_ && input_.ReadLine(&line_)) {
      ++line_number_;
      if (Blank(line_)) continue;
      Result<Json> parsed = ParseJson(line_, "json");
      if (!parsed.has_value()) {
        return Err(InvalidArgument("{} line {}: not valid JSON ({}); fix or remove the line", path_,
                                   line_number_, parsed.error().message()));
      }
      if (!parsed->is_object()) {
        return Err(
            InvalidArgument("{} line {}: a JSON {}, not an object; each line holds one "
                            "row as {{\"column\": value, ...}}",
                            path_, line_number_, parsed->type_name()));
      }
      Row row(table_.columns.size());
      for (const auto& [key, value] : parsed->items()) {
        FERRY_ASSIGN_OR_RETURN(size_t c, Column(key));
        Result<Value> v = ValueFromJson(table_.columns[c].kind, value);
        if (!v.has_value()) {
          return Err(
              v.error().WithContext(fmt::format("{} line {}, column `{}` ({})", path_, line_number_,
                                                key, TypeKindName(table_.columns[c].kind))));
        }
        row[c] = std::move(v).value();
      }
      batch->push_back(std::move(row));
    }
    FERRY_RETURN_IF_ERROR(input_.status());
    return !batch->empty();
  }

 private:
  Result<size_t> Column(const std::string& key) {
    if (auto it = columns_.find(key); it != columns_.end()) return it->second;
    const int i = table_.ColumnIndex(key);
    if (i >= 0) return static_cast<size_t>(i);
    return Err(InvalidArgument(
        "{} line {}: key `{}` is not a column of table `{}` (columns come from {}.schema.json, "
        "or from the keys of the first {} lines); declare it in the schema file",
        path_, line_number_, key, table_.name, table_.name, kInferenceLines));
  }

  BufferedInput input_;
  std::string path_;
  const TableInfo& table_;
  size_t batch_rows_;
  std::unordered_map<std::string, size_t> columns_;
  std::string line_;
  int64_t line_number_ = 0;
};

// Columns and kinds of a JSON Lines file without a schema file (see the header).
Result<TableInfo> InferJsonLines(const std::string& path, const std::string& table_name) {
  FERRY_ASSIGN_OR_RETURN(FilePtr file, OpenFile(path, "rb"));
  BufferedInput input(std::move(file), path);
  TableInfo table;
  table.name = table_name;
  std::vector<bool> typed;
  std::string line;
  int64_t line_number = 0;
  for (int seen = 0; seen < kInferenceLines && input.ReadLine(&line);) {
    ++line_number;
    if (Blank(line)) continue;
    ++seen;
    nlohmann::ordered_json object = nlohmann::ordered_json::parse(line, nullptr, false);
    if (object.is_discarded() || !object.is_object()) {
      Result<Json> parsed = ParseJson(line, "json");
      return Err(InvalidArgument(
          "{} line {}: {}; each line holds one row as {{\"column\": "
          "value, ...}}",
          path, line_number,
          parsed.has_value() ? "not a JSON object"
                             : "not valid JSON (" + parsed.error().message() + ")"));
    }
    for (const auto& [key, value] : object.items()) {
      int c = -1;
      for (size_t i = 0; i < table.columns.size() && c < 0; ++i) {
        if (table.columns[i].name == key) c = static_cast<int>(i);
      }
      if (c < 0) {
        table.columns.push_back({.name = key, .native_type = "text", .kind = TypeKind::kText});
        typed.push_back(false);
        c = static_cast<int>(table.columns.size()) - 1;
      }
      if (typed[c] || value.is_null()) continue;
      TypeKind kind = TypeKind::kText;
      if (value.is_boolean()) {
        kind = TypeKind::kBool;
      } else if (value.is_number_unsigned()) {
        kind = value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                   ? TypeKind::kDecimal
                   : TypeKind::kInt64;
      } else if (value.is_number_integer()) {
        kind = TypeKind::kInt64;
      } else if (value.is_number()) {
        kind = TypeKind::kDecimal;
      } else if (value.is_object() || value.is_array()) {
        kind = TypeKind::kJson;
      }
      table.columns[c].kind = kind;
      table.columns[c].native_type = std::string(TypeKindName(kind));
      typed[c] = true;
    }
  }
  FERRY_RETURN_IF_ERROR(input.status());
  return table;
}

// ---- Writers -------------------------------------------------------------------------------

class FileWriter final : public RowWriter {
 public:
  FileWriter(FileFormat format, FilePtr file, std::string path, std::string schema_path,
             const TableInfo& table)
      : format_(format),
        file_(std::move(file)),
        path_(std::move(path)),
        schema_path_(std::move(schema_path)),
        table_(table),
        json_(table) {}

  ~FileWriter() override {
    if (committed_) return;
    file_.reset();
    std::remove((path_ + ".tmp").c_str());
    std::remove((schema_path_ + ".tmp").c_str());
  }

  // Text already in the file (an append's copy) or a CSV header.
  Status Put(std::string_view text) {
    buffer_ += text;
    return buffer_.size() >= kIoBufferBytes ? Flush() : OkStatus();
  }

  Status Write(const std::vector<Row>& rows) override {
    for (const Row& row : rows) {
      if (format_ == FileFormat::kCsv) {
        for (size_t c = 0; c < row.size(); ++c) {
          if (c > 0) buffer_.push_back(',');
          if (row[c].is_null()) continue;
          AppendCsvField(TextForm(row[c]), false, &buffer_);
        }
        buffer_.push_back('\n');
      } else {
        json_.AppendRow(row, &buffer_);
      }
      ++rows_;
      if (buffer_.size() >= kIoBufferBytes) FERRY_RETURN_IF_ERROR(Flush());
    }
    return OkStatus();
  }

  Status Commit() override {
    FERRY_RETURN_IF_ERROR(Flush());
    if (std::fflush(file_.get()) != 0 || ::fsync(fileno(file_.get())) != 0) return WriteError();
    std::FILE* f = file_.release();
    if (std::fclose(f) != 0) return WriteError();
    const std::string schema_tmp = schema_path_ + ".tmp";
    {
      FERRY_ASSIGN_OR_RETURN(FilePtr schema, OpenFile(schema_tmp, "wb"));
      const std::string text = FileSchemaJson(table_);
      if (std::fwrite(text.data(), 1, text.size(), schema.get()) != text.size() ||
          std::fflush(schema.get()) != 0) {
        return WriteError();
      }
    }
    // The schema first: a crash between the renames leaves the new schema beside the old data,
    // whose values still read (a reader reports any that do not fit a changed kind).
    if (std::rename(schema_tmp.c_str(), schema_path_.c_str()) != 0 ||
        std::rename((path_ + ".tmp").c_str(), path_.c_str()) != 0) {
      return Unavailable("{}: rename failed: {}; the table was not committed", path_, ErrnoText());
    }
    committed_ = true;
    return OkStatus();
  }

 private:
  Status Flush() {
    if (buffer_.empty()) return OkStatus();
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_.get()) != buffer_.size()) {
      return WriteError();
    }
    buffer_.clear();
    return OkStatus();
  }

  Status WriteError() {
    const std::string where =
        fmt::format("{}.tmp: table `{}`, after row {} of this load", path_, table_.name, rows_);
    if (errno == ENOSPC) {
      return ResourceExhausted(
          "{}: disk full; free space and run the copy again (this table was not committed)", where);
    }
    return Unavailable("{}: write failed: {}; the table was not committed", where, ErrnoText());
  }

  FileFormat format_;
  FilePtr file_;
  std::string path_;
  std::string schema_path_;
  const TableInfo& table_;
  const JsonLinesRowEncoder json_;
  std::string buffer_;
  int64_t rows_ = 0;
  bool committed_ = false;
};

// ---- The connector -------------------------------------------------------------------------

class FileConnector final : public Connector {
 public:
  FileConnector(FileFormat format, std::string dir, std::string location)
      : format_(format), dir_(std::move(dir)), location_(std::move(location)) {}

  std::string_view engine() const override { return format_ == FileFormat::kCsv ? "csv" : "jsonl"; }
  const std::string& location() const override { return location_; }

  Result<std::vector<std::string>> ListTables() override {
    std::vector<std::string> names;
    std::error_code error;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir_, error)) {
      const std::string file = entry.path().filename().string();
      if (!entry.is_regular_file() || !file.ends_with(Extension(format_)) ||
          file.size() == Extension(format_).size()) {
        continue;
      }
      names.push_back(file.substr(0, file.size() - Extension(format_).size()));
    }
    if (error) {
      return Err(
          Unavailable("{}: cannot list the directory: {}; check that it exists and can be "
                      "read",
                      location_, error.message()));
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  Result<TableInfo> DescribeTable(std::string_view name) override {
    FERRY_ASSIGN_OR_RETURN(std::vector<std::string> tables, ListTables());
    FERRY_ASSIGN_OR_RETURN(std::string table, ResolveTable(tables, name, location_));
    const std::string path = DataPath(table);
    if (fs::exists(SchemaPath(dir_, table))) return ReadSchema(SchemaPath(dir_, table), table);
    if (format_ == FileFormat::kJsonLines) return InferJsonLines(path, table);
    FERRY_ASSIGN_OR_RETURN(CsvParser parser, OpenCsv(path));
    FERRY_ASSIGN_OR_RETURN(std::vector<std::string> header, ReadCsvHeader(parser));
    TableInfo info;
    info.name = table;
    for (std::string& column : header) {
      info.columns.push_back({.name = std::move(column), .native_type = "TEXT"});
    }
    return info;
  }

  Result<std::unique_ptr<RowReader>> Scan(const ScanSpec& spec) override {
    if (spec.range.has_value() || spec.pages.has_value()) {
      return Err(Unimplemented("{}: table `{}`: {} tables are read whole, not by key or page range",
                               location_, spec.table->name, engine()));
    }
    const std::string path = DataPath(spec.table->name);
    if (format_ == FileFormat::kJsonLines) {
      FERRY_ASSIGN_OR_RETURN(FilePtr file, OpenFile(path, "rb"));
      return std::unique_ptr<RowReader>(std::make_unique<JsonLinesReader>(
          BufferedInput(std::move(file), path), path, *spec.table, spec.batch_rows));
    }
    FERRY_ASSIGN_OR_RETURN(CsvParser parser, OpenCsv(path));
    FERRY_ASSIGN_OR_RETURN(std::vector<std::string> header, ReadCsvHeader(parser));
    FERRY_ASSIGN_OR_RETURN(std::vector<int> positions, MapColumns(*spec.table, header, path));
    return std::unique_ptr<RowReader>(std::make_unique<CsvReader>(
        std::move(parser), *spec.table, std::move(positions), header.size(), spec.batch_rows));
  }

  Result<std::unique_ptr<RowWriter>> OpenWriter(const TableInfo& table, LoadMode mode,
                                                const WriterOptions& options) override {
    if (options.marker != nullptr) {
      return Err(Unimplemented("{}: {} targets load whole tables, without chunk markers", location_,
                               engine()));
    }
    const std::string path = DataPath(table.name);
    const bool exists = fs::exists(path);
    if (mode == LoadMode::kCreate && exists) {
      return Err(
          AlreadyExists("{}: table `{}` exists ({}); choose --if-exists truncate or "
                        "append",
                        location_, table.name, path));
    }
    FERRY_ASSIGN_OR_RETURN(FilePtr file, OpenFile(path + ".tmp", "wb"));
    auto writer = std::make_unique<FileWriter>(format_, std::move(file), path,
                                               SchemaPath(dir_, table.name), table);
    if (mode == LoadMode::kAppend && exists) {
      // The rows there are copied into the new file, which replaces the old one on Commit.
      FERRY_ASSIGN_OR_RETURN(FilePtr old, OpenFile(path, "rb"));
      std::vector<char> block(kIoBufferBytes);
      size_t n;
      char last = '\n';
      while ((n = std::fread(block.data(), 1, block.size(), old.get())) > 0) {
        FERRY_RETURN_IF_ERROR(writer->Put(std::string_view(block.data(), n)));
        last = block[n - 1];
      }
      if (std::ferror(old.get())) {
        return Err(Unavailable("{}: read failed: {}; nothing was appended", path, ErrnoText()));
      }
      if (last != '\n') FERRY_RETURN_IF_ERROR(writer->Put("\n"));
    } else if (format_ == FileFormat::kCsv) {
      std::string header;
      for (size_t c = 0; c < table.columns.size(); ++c) {
        if (c > 0) header.push_back(',');
        AppendCsvField(table.columns[c].name, false, &header);
      }
      header.push_back('\n');
      FERRY_RETURN_IF_ERROR(writer->Put(header));
    }
    return std::unique_ptr<RowWriter>(std::move(writer));
  }

  Status DropTable(std::string_view table) override {
    std::error_code error;
    fs::remove(DataPath(table), error);
    if (!error) fs::remove(SchemaPath(dir_, table), error);
    if (error) {
      return Unavailable("{}: cannot remove table `{}`: {}", location_, table, error.message());
    }
    return OkStatus();
  }

 private:
  std::string DataPath(std::string_view table) const {
    return fmt::format("{}/{}{}", dir_, table, Extension(format_));
  }

  const FileFormat format_;
  const std::string dir_;
  const std::string location_;
};

}  // namespace

Result<TypeKind> FileColumnKind(std::string_view native_type) {
  std::string name = AsciiLower(native_type.substr(0, native_type.find('(')));
  while (!name.empty() && name.back() == ' ') name.pop_back();
  Result<TypeKind> kind = KindNamed(name);
  if (!kind.has_value()) {
    return Err(
        InvalidArgument("`{}` is not a file column type; use one of bool, int64, decimal, "
                        "float64, text, bytes, date, time, timestamp, timestamptz, uuid, "
                        "json",
                        native_type));
  }
  return kind;
}

Result<std::unique_ptr<Connector>> OpenFileConnector(FileFormat format, const std::string& dir,
                                                     const std::string& location,
                                                     bool create_if_missing) {
  std::error_code error;
  if (create_if_missing) fs::create_directories(dir, error);
  if (error) {
    return Err(Unavailable("{}: cannot create the directory: {}; check its parent's permissions",
                           location, error.message()));
  }
  if (!fs::is_directory(dir, error)) {
    return Err(
        NotFound("{}: no directory {}; check the path (a {} URL names a directory of "
                 "`<table>{}` files)",
                 location, dir, format == FileFormat::kCsv ? "csv" : "jsonl", Extension(format)));
  }
  return std::unique_ptr<Connector>(std::make_unique<FileConnector>(format, dir, location));
}

}  // namespace ferry::connect_internal
