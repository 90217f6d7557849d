#include "connect/connector.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/url.h"
#include "connect/file_connector.h"
#include "connect/mysql_connector.h"
#include "connect/postgres_connector.h"
#include "connect/sqlite_connector.h"

namespace ferry {

bool SameIdentifier(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

namespace {

// 'text' with embedded quotes doubled: a string literal in every engine's SQL. Run ids are
// ferry's own ([a-z0-9-]), so nothing else needs escaping.
std::string QuoteLiteral(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace

std::string ChunkMarkerTableSql() {
  return "CREATE TABLE IF NOT EXISTS ferry_chunks (run_id VARCHAR(100) NOT NULL, chunk BIGINT "
         "NOT NULL, rows_loaded BIGINT NOT NULL, checksum VARCHAR(64) NOT NULL, PRIMARY KEY "
         "(run_id, chunk))";
}

std::string InsertChunkMarkerSql(const ChunkMarker& marker) {
  return fmt::format(
      "INSERT INTO ferry_chunks (run_id, chunk, rows_loaded, checksum) VALUES ({}, {}, {}, {})",
      QuoteLiteral(marker.run_id), marker.chunk, marker.rows, QuoteLiteral(marker.checksum));
}

std::string SelectChunkMarkersSql(std::string_view run_id) {
  return fmt::format(
      "SELECT chunk, rows_loaded, checksum FROM ferry_chunks WHERE run_id = {} ORDER BY chunk",
      QuoteLiteral(run_id));
}

std::string DeleteChunkMarkersSql(std::string_view run_id) {
  return fmt::format("DELETE FROM ferry_chunks WHERE run_id = {}", QuoteLiteral(run_id));
}

std::string KeyRangeWhere(std::string_view quoted_column, const KeyRange& range) {
  return fmt::format(" WHERE {} BETWEEN {} AND {}", quoted_column, range.low, range.high);
}

Result<std::optional<KeyBounds>> Connector::GetKeyBounds(const TableInfo& table, std::string_view) {
  return Err(Unimplemented("{}: table `{}`: {} tables are read whole, not by key range", location(),
                           table.name, engine()));
}

Status Connector::PrepareChunkMarkers() {
  return Unimplemented("{}: {} targets load whole tables, without chunk markers", location(),
                       engine());
}

Result<std::vector<ChunkMarker>> Connector::CommittedChunks(std::string_view) {
  return Err(Unimplemented("{}: {} targets keep no chunk markers", location(), engine()));
}

Status Connector::ForgetChunks(std::string_view) {
  return Unimplemented("{}: {} targets keep no chunk markers", location(), engine());
}

Result<SnapshotInfo> Connector::ExportSnapshot() {
  return SnapshotInfo{.note = fmt::format("{} sources are read as they are; keep them unchanged "
                                          "during the copy",
                                          engine())};
}

std::string CreateTableSql(const TableInfo& table) {
  std::vector<std::string> parts;
  for (const ColumnInfo& c : table.columns) {
    parts.push_back(fmt::format("{} {}{}", QuoteIdentifier(c.name), c.native_type,
                                c.nullable ? "" : " NOT NULL"));
  }
  if (!table.primary_key.empty()) {
    std::vector<std::string> key;
    for (const std::string& k : table.primary_key) key.push_back(QuoteIdentifier(k));
    parts.push_back(fmt::format("PRIMARY KEY ({})", fmt::join(key, ", ")));
  }
  return fmt::format("CREATE TABLE {} ({})", QuoteIdentifier(table.name), fmt::join(parts, ", "));
}

std::string TextInputForm(const Value& v) {
  switch (v.kind()) {
    case TypeKind::kBool: return v.bool_value() ? "true" : "false";
    case TypeKind::kInt64: return fmt::format("{}", v.int64_value());
    case TypeKind::kFloat64: return FormatFloat64(v.float64_value());
    case TypeKind::kDate: return FormatDate(v.date_days());
    case TypeKind::kTime: return FormatTime(v.time_micros());
    case TypeKind::kTimestamp: return FormatTimestamp(v.timestamp_micros());
    case TypeKind::kTimestampTz: return FormatTimestampTz(v.timestamp_micros());
    case TypeKind::kUuid: return FormatUuid(v.uuid());
    case TypeKind::kBytes: {
      static constexpr char kDigits[] = "0123456789abcdef";
      std::string out = "\\x";
      out.reserve(2 + 2 * v.str().size());
      for (unsigned char b : v.str()) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 15]);
      }
      return out;
    }
    case TypeKind::kDecimal:
    case TypeKind::kText:
    case TypeKind::kJson: return std::string(v.str());
  }
  return {};
}

namespace {

Result<Value> ParseHexBytes(std::string_view text) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (!text.starts_with("\\x") || text.size() % 2 != 0) {
    return Err(InvalidArgument("bytes `{}`: expected \\x followed by pairs of hex digits",
                               text.substr(0, 40)));
  }
  std::string out;
  out.reserve(text.size() / 2 - 1);
  for (size_t i = 2; i < text.size(); i += 2) {
    const int hi = digit(text[i]), lo = digit(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return Err(InvalidArgument("bytes: `{}` at offset {} is not a hex digit pair",
                                 text.substr(i, 2), i));
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return Value::Bytes(std::move(out));
}

}  // namespace

Result<Value> ParseTextInputForm(TypeKind kind, std::string_view text) {
  switch (kind) {
    case TypeKind::kBool: return ParseBool(text);
    case TypeKind::kInt64: return ParseInt64(text);
    case TypeKind::kDecimal: return ParseDecimal(text);
    case TypeKind::kFloat64: return ParseFloat64(text);
    case TypeKind::kText: return ParseText(text);
    case TypeKind::kBytes: return ParseHexBytes(text);
    case TypeKind::kDate: return ParseDate(text);
    case TypeKind::kTime: return ParseTime(text);
    case TypeKind::kTimestamp: return ParseTimestamp(text);
    case TypeKind::kTimestampTz: return ParseTimestampTz(text);
    case TypeKind::kUuid: return ParseUuid(text);
    case TypeKind::kJson: return ParseJsonValue(text);
  }
  return Err(Internal("unknown kind"));
}

Result<std::string> ResolveTable(const std::vector<std::string>& tables, std::string_view wanted,
                                 std::string_view location) {
  std::vector<std::string> matches;
  for (const std::string& t : tables) {
    if (t == wanted) return t;
    if (SameIdentifier(t, wanted)) matches.push_back(t);
  }
  if (matches.size() == 1) return matches.front();
  if (matches.empty()) {
    return Err(NotFound("{}: no table `{}`; it has: {}", location, wanted,
                        tables.empty() ? "no tables" : fmt::format("{}", fmt::join(tables, ", "))));
  }
  return Err(InvalidArgument("{}: `{}` could mean any of {}; name the table exactly", location,
                             wanted, fmt::join(matches, ", ")));
}

int TableInfo::ColumnIndex(std::string_view column) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == column) return static_cast<int>(i);
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    if (SameIdentifier(columns[i].name, column)) return static_cast<int>(i);
  }
  return -1;
}

Result<std::unique_ptr<Connector>> Connector::Open(std::string_view url,
                                                   const ConnectOptions& options) {
  const std::string location = RedactUrl(url);
  if (url.starts_with("sqlite://")) {
    std::string path(url.substr(9));
    if (path.empty()) {
      return Err(InvalidArgument("{}: no file path; write sqlite:///abs/path/data.db", location));
    }
    return connect_internal::OpenSqliteConnector(path, location, options.create_if_missing);
  }
  if (url.starts_with("csv://") || url.starts_with("jsonl://")) {
    const bool csv = url.starts_with("csv://");
    std::string dir(url.substr(csv ? 6 : 8));
    if (dir.empty()) {
      return Err(InvalidArgument("{}: no directory; write {}:///abs/dir", location,
                                 csv ? "csv" : "jsonl"));
    }
    return connect_internal::OpenFileConnector(
        csv ? connect_internal::FileFormat::kCsv : connect_internal::FileFormat::kJsonLines, dir,
        location, options.create_if_missing);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return connect_internal::OpenPostgresConnector(std::string(url), location);
  }
  if (url.starts_with("mysql://") || url.starts_with("mariadb://")) {
    return connect_internal::OpenMysqlConnector(std::string(url), location);
  }
  const size_t scheme = url.find("://");
  return Err(
      InvalidArgument("{}: unknown kind of database `{}`; use sqlite:///path/data.db, "
                      "postgresql://user@host:port/db, mysql://user@host:port/db, csv:///dir or "
                      "jsonl:///dir",
                      location, scheme == std::string_view::npos ? url : url.substr(0, scheme)));
}

}  // namespace ferry
