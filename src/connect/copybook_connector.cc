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
};

constexpr std::string_view kUsage =
    "copybook:///abs/data.bin?copybook=/abs/layout.cob[&format=F|V|VB|text][&codepage=cp037]"
    "[&rdw=big|little][&rdw_adjustment=-4][&table=NAME]";

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

// The data file's name without its extension, as an identifier: "ACCT.MASTER.dat" -> acct_master.
std::string TableNameOf(const std::string& path) {
  std::string stem = fs::path(path).stem().string();
  std::string out;
  for (char c : stem) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out.push_back(alnum ? static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c) : '_');
  }
  return out.empty() ? "records" : out;
}

// One column of the flattened record: where its value is in the decoder's JSON.
struct ColumnSource {
  std::vector<std::string> path;  // keys from the record down
  TypeKind kind = TypeKind::kText;
};

// The value at `path` of a decoded record as a Value of `kind`; NULL when absent (the decoder
// leaves nulls out).
Result<Value> ValueOf(const legacy::OrderedJson& record, const ColumnSource& column) {
  const legacy::OrderedJson* at = &record;
  for (const std::string& key : column.path) {
    if (!at->is_object()) return Value::Null();
    auto it = at->find(key);
    if (it == at->end()) return Value::Null();
    at = &*it;
  }
  if (at->is_null()) return Value::Null();
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
                 std::unique_ptr<legacy::RecordDecoder> decoder, std::vector<ColumnSource> columns,
                 size_t batch_rows, std::string location)
      : source_(std::move(source)),
        reader_(source_.get(), std::move(framing)),
        decoder_(std::move(decoder)),
        columns_(std::move(columns)),
        batch_rows_(batch_rows == 0 ? 4096 : batch_rows),
        location_(std::move(location)) {}

  Result<bool> Next(std::vector<Row>* batch) override {
    batch->clear();
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
      Row row;
      row.reserve(columns_.size() + 1);
      row.push_back(Value::Int64(record_));
      for (const ColumnSource& column : columns_) {
        Result<Value> value = ValueOf(*decoded, column);
        if (!value) {
          return Err(InvalidArgument("{}: record {} at offset {}, field {}: {}", location_, record_,
                                     raw.offset, fmt::join(column.path, "."),
                                     value.error().message()));
        }
        row.push_back(std::move(*value));
      }
      batch->push_back(std::move(row));
      ++record_;
    }
    return !batch->empty();
  }

 private:
  std::unique_ptr<legacy::ByteSource> source_;
  legacy::RecordReader reader_;
  std::unique_ptr<legacy::RecordDecoder> decoder_;
  std::vector<ColumnSource> columns_;
  size_t batch_rows_;
  std::string location_;
  int64_t record_ = 0;
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
    info_.name = url_.table.empty() ? TableNameOf(url_.data) : url_.table;
    info_.columns.push_back(
        {.name = "record_id", .native_type = "int64", .kind = TypeKind::kInt64, .nullable = false});
    info_.primary_key = {"record_id"};
    std::set<std::string> names = {"record_id"};
    Flatten(*decoder, copybook_.records.front(), {}, "", &names);
    return OkStatus();
  }

  std::string_view engine() const override { return "copybook"; }
  const std::string& location() const override { return location_; }

  Result<std::vector<std::string>> ListTables() override {
    return std::vector<std::string>{info_.name};
  }

  Result<TableInfo> DescribeTable(std::string_view name) override {
    FERRY_RETURN_IF_ERROR(StatusOf(ResolveTable({info_.name}, name, location_)));
    return info_;
  }

  Result<std::unique_ptr<RowReader>> Scan(const ScanSpec& spec) override {
    if (spec.range.has_value() || spec.pages.has_value()) {
      return Err(Unimplemented("{}: table {}: a copybook file is read whole, not by ranges",
                               location_, info_.name));
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
                                         sources_, spec.batch_rows, location_));
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
  // The record's fields as columns: groups flattened (GROUP_FIELD), an OCCURS as one json
  // column, fillers the decoder leaves out left out.
  void Flatten(const legacy::RecordDecoder& decoder, int32_t parent,
               const std::vector<std::string>& path, const std::string& prefix,
               std::set<std::string>* names) {
    for (int32_t child : copybook_.fields[parent].children) {
      const legacy::Field& f = copybook_.fields[child];
      if (f.level == 66 || !decoder.Emits(child)) continue;
      const std::string& key = decoder.OutputName(child);
      std::vector<std::string> child_path = path;
      child_path.push_back(key);
      const std::string name = prefix.empty() ? key : prefix + "_" + key;
      if (f.is_group && !f.has_occurs) {
        Flatten(decoder, child, child_path, name, names);
        continue;
      }
      ColumnInfo column;
      column.name = name;
      for (int n = 2; !names->insert(column.name).second; ++n) {
        column.name = fmt::format("{}_{}", name, n);
      }
      if (f.has_occurs) {
        column.kind = TypeKind::kJson;
        column.native_type = "json";
      } else {
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
      }
      sources_.push_back({child_path, column.kind});
      info_.columns.push_back(std::move(column));
    }
  }

  CopybookUrl url_;
  std::string location_;
  legacy::Copybook copybook_;
  legacy::DecodeOptions options_;
  legacy::FramingOptions framing_;
  TableInfo info_;
  std::vector<ColumnSource> sources_;  // parallel to info_.columns[1:]
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
