#include "connect/copybook_connector.h"

#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/env.h"
#include "legacy/copybook.h"
#include "legacy/record_decoder.h"
#include "legacy/record_reader.h"

namespace ferry::connect_internal {
namespace {

namespace fs = std::filesystem;

struct CopybookUrl {
  std::string data;
  std::string copybook;
  std::string format = "F";
  std::string codepage = "cp037";
  std::string rdw = "big";
  int32_t rdw_adjustment = -4;
  std::string table;
  bool occurs_tables = false;  // occurs=tables: each OCCURS a child table
};

constexpr std::string_view kUsage =
    "copybook:///abs/data.bin?copybook=/abs/layout.cob[&format=F|V|VB|text][&codepage=cp037]"
    "[&rdw=big|little][&rdw_adjustment=-4][&table=NAME][&occurs=json|tables]";

Result<CopybookUrl> ParseUrl(std::string_view url, const std::string& location) {
  CopybookUrl parsed;
  std::string_view rest = url.substr(std::string_view("copybook://").size());
  const size_t query = rest.find('?');
  parsed.data = std::string(rest.substr(0, query));
  if (parsed.data.empty() || parsed.data[0] != '/') {
    return Err(InvalidArgument("{}: no absolute data file path; write {}", location, kUsage));
  }
  std::string_view params = query == std::string_view::npos ? "" : rest.substr(query + 1);
  while (!params.empty()) {
    const size_t amp = params.find('&');
    std::string_view param = params.substr(0, amp);
    params = amp == std::string_view::npos ? "" : params.substr(amp + 1);
    const size_t eq = param.find('=');
    const std::string_view key = param.substr(0, eq);
    const std::string value(eq == std::string_view::npos ? "" : param.substr(eq + 1));
    if (key == "copybook") {
      parsed.copybook = value;
    } else if (key == "format") {
      parsed.format = value;
    } else if (key == "codepage") {
      parsed.codepage = value;
    } else if (key == "rdw") {
      parsed.rdw = value;
    } else if (key == "rdw_adjustment") {
      try {
        parsed.rdw_adjustment = std::stoi(value);
      } catch (const std::exception&) {
        return Err(InvalidArgument("{}: rdw_adjustment={}: expected an integer such as -4 or 0",
                                   location, value));
      }
    } else if (key == "table") {
      parsed.table = value;
    } else if (key == "occurs") {
      if (value != "json" && value != "tables") {
        return Err(InvalidArgument(
            "{}: occurs={}: expected json (an OCCURS as a json column) or tables (a child "
            "table each, keyed by record_id and the index)",
            location, value));
      }
      parsed.occurs_tables = value == "tables";
    } else {
      return Err(
          InvalidArgument("{}: unknown parameter `{}`; the URL takes {}", location, key, kUsage));
    }
  }
  if (parsed.copybook.empty()) {
    return Err(InvalidArgument("{}: no copybook; write {}", location, kUsage));
  }
  if (parsed.rdw != "big" && parsed.rdw != "little") {
    return Err(InvalidArgument("{}: rdw={}: expected big or little", location, parsed.rdw));
  }
  return parsed;
}

// A name as a lower-case identifier, other characters as `_`: "HISTORY-2" -> history_2.
std::string Identifier(const std::string& name) {
  std::string out;
  for (char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out.push_back(alnum ? static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c) : '_');
  }
  return out.empty() ? "records" : out;
}

// The data file's name without its extension, as an identifier: "ACCT.MASTER.dat" -> acct_master.
std::string TableNameOf(const std::string& path) {
  return Identifier(fs::path(path).stem().string());
}

// One column of a table: where its value is in the decoder's JSON, from the record (the main
// table) or from an element of the table's innermost array (a child table).
struct ColumnSource {
  std::vector<std::string> path;  // keys down from there; empty: the element itself
  TypeKind kind = TypeKind::kText;
};

// A table of the file: the record flattened (arrays empty), or, with occurs=tables, the
// elements of one OCCURS. `arrays` are the paths to each array on the way down: the first
// from the record, each next one from an element of the one before.
struct TableSource {
  TableInfo info;
  std::vector<std::vector<std::string>> arrays;
  std::vector<std::string> index_names;  // the key columns after record_id, one per array
  std::vector<ColumnSource> columns;     // parallel to info.columns after the key columns
};

const legacy::OrderedJson* Find(const legacy::OrderedJson& from,
                                const std::vector<std::string>& path) {
  const legacy::OrderedJson* at = &from;
  for (const std::string& key : path) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

// The value at `column.path` of `from` as a Value of its kind; NULL when absent (the decoder
// leaves nulls out).
Result<Value> ValueOf(const legacy::OrderedJson& from, const ColumnSource& column) {
  const legacy::OrderedJson* at = Find(from, column.path);
  if (at == nullptr || at->is_null()) return Value::Null();
  std::string text;
  if (column.kind == TypeKind::kJson) {
    text = at->dump();
  } else if (at->is_string()) {
    text = at->get<std::string>();
  } else if (at->is_number_integer()) {
    text = at->is_number_unsigned() ? std::to_string(at->get<uint64_t>())
                                    : std::to_string(at->get<int64_t>());
  } else {
    text = at->dump();
  }
  if (column.kind == TypeKind::kText) return Value::Text(std::move(text));
  return ParseTextInputForm(column.kind, text);
}

class CopybookReader final : public RowReader {
 public:
  CopybookReader(std::unique_ptr<legacy::ByteSource> source, legacy::FramingOptions framing,
                 std::unique_ptr<legacy::RecordDecoder> decoder, TableSource table,
                 size_t batch_rows, std::string location)
      : source_(std::move(source)),
        reader_(source_.get(), std::move(framing)),
        decoder_(std::move(decoder)),
        table_(std::move(table)),
        batch_rows_(batch_rows == 0 ? 4096 : batch_rows),
        location_(std::move(location)) {}

  Result<bool> Next(std::vector<Row>* batch) override {
    batch->clear();
    // A record's child rows are all emitted together, so a batch can run over by one record's.
    while (batch->size() < batch_rows_) {
      legacy::RawRecord raw;
      std::string error;
      FERRY_ASSIGN_OR_RETURN(legacy::RecordReader::Outcome outcome, reader_.Next(&raw, &error));
      if (outcome == legacy::RecordReader::Outcome::kEnd) break;
      if (outcome == legacy::RecordReader::Outcome::kBad) {
        return Err(InvalidArgument(
            "{}: record {} at offset {}: {}; check format= and rdw=, or decode the file with "
            "`ferry copybook decode --rejects FILE`",
            location_, record_, raw.offset, error));
      }
      Result<legacy::OrderedJson> decoded = decoder_->ToJson(raw.data);
      if (!decoded) {
        return Err(InvalidArgument(
            "{}: record {} at offset {}: {}; `ferry copybook decode --rejects FILE` lists every "
            "record that does not decode",
            location_, record_, raw.offset, decoded.error().message()));
      }
      indexes_.clear();
      FERRY_RETURN_IF_ERROR(Emit(*decoded, 0, raw.offset, batch));
      ++record_;
    }
    return !batch->empty();
  }

 private:
  // The rows under `at` for arrays[level...]: one per element of the innermost array, with
  // the (1-based, as COBOL subscripts) index of each array on the way.
  Status Emit(const legacy::OrderedJson& at, size_t level, int64_t offset,
              std::vector<Row>* batch) {
    if (level < table_.arrays.size()) {
      const legacy::OrderedJson* array = Find(at, table_.arrays[level]);
      if (array == nullptr || !array->is_array()) return OkStatus();
      for (size_t i = 0; i < array->size(); ++i) {
        indexes_.push_back(static_cast<int64_t>(i) + 1);
        FERRY_RETURN_IF_ERROR(Emit((*array)[i], level + 1, offset, batch));
        indexes_.pop_back();
      }
      return OkStatus();
    }
    Row row;
    row.reserve(1 + indexes_.size() + table_.columns.size());
    row.push_back(Value::Int64(record_));
    for (int64_t index : indexes_) row.push_back(Value::Int64(index));
    for (const ColumnSource& column : table_.columns) {
      Result<Value> value = ValueOf(at, column);
      if (!value) {
        return InvalidArgument("{}: table {}: record {} at offset {}, field {}: {}", location_,
                               table_.info.name, record_, offset, fmt::join(column.path, "."),
                               value.error().message());
      }
      row.push_back(std::move(*value));
    }
    batch->push_back(std::move(row));
    return OkStatus();
  }

  std::unique_ptr<legacy::ByteSource> source_;
  legacy::RecordReader reader_;
  std::unique_ptr<legacy::RecordDecoder> decoder_;
  TableSource table_;
  size_t batch_rows_;
  std::string location_;
  int64_t record_ = 0;
  std::vector<int64_t> indexes_;
};

class CopybookConnector final : public Connector {
 public:
  CopybookConnector(CopybookUrl url, std::string location, legacy::Copybook copybook,
                    legacy::DecodeOptions options, legacy::FramingOptions framing)
      : url_(std::move(url)),
        location_(std::move(location)),
        copybook_(std::move(copybook)),
        options_(std::move(options)),
        framing_(std::move(framing)) {}

  Status Prepare() {
    FERRY_ASSIGN_OR_RETURN(std::unique_ptr<legacy::RecordDecoder> decoder,
                           legacy::RecordDecoder::Create(copybook_, options_));
    if (copybook_.records.empty()) {
      return InvalidArgument("{}: the copybook declares no record", location_);
    }
    TableSource main;
    main.info.name = url_.table.empty() ? TableNameOf(url_.data) : url_.table;
    tables_.push_back(std::move(main));
    AddKeyColumns(0, {});
    std::set<std::string> names = {"record_id"};
    Flatten(*decoder, copybook_.records.front(), {}, "", 0, &names);
    return OkStatus();
  }

  std::string_view engine() const override { return "copybook"; }
  const std::string& location() const override { return location_; }

  Result<std::vector<std::string>> ListTables() override {
    std::vector<std::string> names;
    for (const TableSource& table : tables_) names.push_back(table.info.name);
    return names;
  }

  Result<TableInfo> DescribeTable(std::string_view name) override {
    FERRY_ASSIGN_OR_RETURN(const TableSource* table, Find(name));
    return table->info;
  }

  Result<std::unique_ptr<RowReader>> Scan(const ScanSpec& spec) override {
    if (spec.table == nullptr) return Err(InvalidArgument("{}: a scan names no table", location_));
    FERRY_ASSIGN_OR_RETURN(const TableSource* table, Find(spec.table->name));
    if (spec.range.has_value() || spec.pages.has_value()) {
      return Err(Unimplemented("{}: table {}: a copybook file is read whole, not by ranges",
                               location_, table->info.name));
    }
    FERRY_ASSIGN_OR_RETURN(std::unique_ptr<legacy::ByteSource> source,
                           legacy::ByteSource::OpenFile(url_.data));
    FERRY_ASSIGN_OR_RETURN(std::unique_ptr<legacy::RecordDecoder> decoder,
                           legacy::RecordDecoder::Create(copybook_, options_));
    // The record length (and text line ends) as `ferry copybook decode` frames them; the
    // decoder, which measures variable-size records, lives as long as the reader.
    legacy::FramingOptions framing = framing_;
    FERRY_RETURN_IF_ERROR(
        legacy::CompleteFraming(copybook_, {.decode = options_}, decoder.get(), &framing));
    return std::unique_ptr<RowReader>(
        std::make_unique<CopybookReader>(std::move(source), std::move(framing), std::move(decoder),
                                         *table, spec.batch_rows, location_));
  }

  Result<std::unique_ptr<RowWriter>> OpenWriter(const TableInfo& table, LoadMode,
                                                const WriterOptions&) override {
    return Err(Unimplemented(
        "{}: table {}: a copybook file is a source only; copy to a database or to csv:// or "
        "jsonl://",
        location_, table.name));
  }

  Status DropTable(std::string_view table) override {
    return Unimplemented("{}: table {}: a copybook file is a source only", location_, table);
  }

 private:
  Result<const TableSource*> Find(std::string_view name) const {
    std::vector<std::string> names;
    for (const TableSource& table : tables_) names.push_back(table.info.name);
    FERRY_ASSIGN_OR_RETURN(std::string resolved, ResolveTable(names, name, location_));
    for (const TableSource& table : tables_) {
      if (table.info.name == resolved) return &table;
    }
    return Err(NotFound("{}: no table {}", location_, name));
  }

  // record_id, then one index column per array on the way down (ITEMS_INDEX): the key.
  void AddKeyColumns(size_t table, const std::vector<std::string>& index_names) {
    TableInfo& info = tables_[table].info;
    info.columns.push_back(
        {.name = "record_id", .native_type = "int64", .kind = TypeKind::kInt64, .nullable = false});
    info.primary_key = {"record_id"};
    for (const std::string& name : index_names) {
      info.columns.push_back(
          {.name = name, .native_type = "int64", .kind = TypeKind::kInt64, .nullable = false});
      info.primary_key.push_back(name);
    }
  }

  ColumnInfo ColumnOf(const legacy::Field& f, bool as_json) const {
    ColumnInfo column;
    if (as_json) {
      column.kind = TypeKind::kJson;
      column.native_type = "json";
      return column;
    }
    switch (f.type) {
      case legacy::ValueType::kInt32:
      case legacy::ValueType::kInt64:
        column.kind = f.precision <= 18 ? TypeKind::kInt64 : TypeKind::kDecimal;
        break;
      case legacy::ValueType::kDecimal: column.kind = TypeKind::kDecimal; break;
      case legacy::ValueType::kFloat:
      case legacy::ValueType::kDouble: column.kind = TypeKind::kFloat64; break;
      default: column.kind = TypeKind::kText; break;
    }
    if (column.kind == TypeKind::kDecimal) {
      // A trailing P scales up: the digits and the zeros it stands for, no fraction.
      column.scale = std::max(0, f.scale);
      column.precision = std::max(f.precision + std::max(0, -f.scale), column.scale + 1);
      column.native_type = fmt::format("decimal({},{})", column.precision, column.scale);
    } else {
      column.native_type = std::string(TypeKindName(column.kind));
    }
    return column;
  }

  void AddColumn(size_t table, ColumnInfo column, std::vector<std::string> path,
                 std::set<std::string>* names) {
    const std::string name = column.name;
    for (int n = 2; !names->insert(column.name).second; ++n) {
      column.name = fmt::format("{}_{}", name, n);
    }
    tables_[table].columns.push_back({std::move(path), column.kind});
    tables_[table].info.columns.push_back(std::move(column));
  }

  // The fields under `parent` as columns of `table`: groups flattened (GROUP_FIELD), fillers
  // the decoder leaves out left out, an OCCURS one json column or (occurs=tables) a child
  // table of its own. `path` leads from the table's row object (record or element) to
  // `parent`; `prefix` is the name that much of the path gives.
  void Flatten(const legacy::RecordDecoder& decoder, int32_t parent,
               const std::vector<std::string>& path, const std::string& prefix, size_t table,
               std::set<std::string>* names) {
    for (int32_t child : copybook_.fields[parent].children) {
      const legacy::Field& f = copybook_.fields[child];
      if (f.level == 66 || !decoder.Emits(child)) continue;
      const std::string& key = decoder.OutputName(child);
      std::vector<std::string> child_path = path;
      child_path.push_back(key);
      const std::string name = prefix.empty() ? key : prefix + "_" + key;
      if (f.is_group && !f.has_occurs) {
        Flatten(decoder, child, child_path, name, table, names);
        continue;
      }
      if (f.has_occurs && url_.occurs_tables) {
        AddChildTable(decoder, child, std::move(child_path), name, table);
        continue;
      }
      ColumnInfo column = ColumnOf(f, f.has_occurs);
      column.name = name;
      AddColumn(table, std::move(column), std::move(child_path), names);
    }
  }

  // An OCCURS of `parent_table`'s rows as a table of its own: `<parent>_<name>` in lower case,
  // keyed by record_id and the index of each array down to this one.
  void AddChildTable(const legacy::RecordDecoder& decoder, int32_t field,
                     std::vector<std::string> array_path, const std::string& name,
                     size_t parent_table) {
    TableSource child;
    child.info.name = fmt::format("{}_{}", tables_[parent_table].info.name, Identifier(name));
    child.arrays = tables_[parent_table].arrays;
    child.arrays.push_back(std::move(array_path));
    std::vector<std::string> index_names = tables_[parent_table].index_names;
    index_names.push_back(name + "_INDEX");
    child.index_names = index_names;
    tables_.push_back(std::move(child));
    const size_t table = tables_.size() - 1;
    AddKeyColumns(table, index_names);
    std::set<std::string> names(index_names.begin(), index_names.end());
    names.insert("record_id");
    const legacy::Field& f = copybook_.fields[field];
    if (f.is_group) {
      Flatten(decoder, field, {}, "", table, &names);
    } else {
      ColumnInfo column = ColumnOf(f, false);
      column.name = decoder.OutputName(field);
      AddColumn(table, std::move(column), {}, &names);
    }
  }

  CopybookUrl url_;
  std::string location_;
  legacy::Copybook copybook_;
  legacy::DecodeOptions options_;
  legacy::FramingOptions framing_;
  // The record's table first, then each child table after its parent (tables are named by
  // index while they are built: AddChildTable appends while Flatten walks the parent).
  std::vector<TableSource> tables_;
};

}  // namespace

Result<std::unique_ptr<Connector>> OpenCopybookConnector(std::string_view url,
                                                         std::string location) {
  FERRY_ASSIGN_OR_RETURN(CopybookUrl parsed, ParseUrl(url, location));
  Env* env = Env::Default();
  if (!env->FileExists(parsed.data)) {
    return Err(NotFound("{}: no data file {}; check the path", location, parsed.data));
  }
  auto text = env->ReadFile(parsed.copybook);
  if (!text) {
    return Err(text.error().WithContext(
        fmt::format("{}: copybook={}: cannot read the copybook", location, parsed.copybook)));
  }
  FERRY_ASSIGN_OR_RETURN(legacy::Copybook copybook, legacy::ParseCopybook(*text, parsed.copybook));
  legacy::DecodeOptions options;
  FERRY_RETURN_IF_ERROR(legacy::UseCodePage(parsed.codepage, &options.codec));
  legacy::FramingOptions framing;
  FERRY_ASSIGN_OR_RETURN(framing.format, legacy::ParseRecordFormat(parsed.format));
  framing.rdw_big_endian = parsed.rdw == "big";
  framing.rdw_adjustment = parsed.rdw_adjustment;
  auto connector = std::make_unique<CopybookConnector>(std::move(parsed), std::move(location),
                                                       std::move(copybook), std::move(options),
                                                       std::move(framing));
  FERRY_RETURN_IF_ERROR(connector->Prepare());
  return std::unique_ptr<Connector>(std::move(connector));
}

}  // namespace ferry::connect_internal
