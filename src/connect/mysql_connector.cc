#include "connect/mysql_connector.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <mysql.h>

#include "base/url.h"

namespace ferry::connect_internal {
namespace {

using Connection = std::unique_ptr<MYSQL, decltype(&mysql_close)>;
using ResultHandle = std::unique_ptr<MYSQL_RES, decltype(&mysql_free_result)>;

// Every session: UTF-8 in and out whatever the server's defaults, UTC so that TIMESTAMP reads
// as the instant it stores, and strict mode so that a value that does not fit is an error
// instead of a silent truncation or a zero date. No NO_BACKSLASH_ESCAPES: the writer's string
// literals rely on mysql_real_escape_string's backslash escapes. net_write_timeout: a scan
// streams its rows (mysql_use_result) while the copy writes them elsewhere, so the server may
// wait long for the client to read on; the default 60 s would cut the scan off.
constexpr std::string_view kSessionSettings[] = {
    "SET NAMES utf8mb4",
    "SET time_zone = '+00:00'",
    "SET sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO'",
    "SET SESSION net_write_timeout = 86400, SESSION net_read_timeout = 86400, "
    "SESSION wait_timeout = 86400",
};

struct MysqlAddress {
  std::string user;
  std::optional<std::string> password;
  std::string host = "localhost";
  unsigned port = 3306;
  std::string database;
};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 section 2.1 percent-decoding, for user names and passwords with reserved characters.
std::string PercentDecoded(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 && HexDigit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Result<MysqlAddress> ParseMysqlUrl(std::string_view url, const std::string& location) {
  const std::string_view form = "; write mysql://user:password@host:port/database";
  const size_t scheme = url.find("://");
  std::string_view rest = url.substr(scheme + 3);
  if (const size_t query = rest.find('?'); query != std::string_view::npos) {
    return Err(InvalidArgument("{}: query parameters are not supported{}", location, form));
  }
  MysqlAddress address;
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 == rest.size()) {
    return Err(InvalidArgument("{}: no database name{}", location, form));
  }
  address.database = PercentDecoded(rest.substr(slash + 1));
  std::string_view authority = rest.substr(0, slash);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    if (const size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      address.password = PercentDecoded(userinfo.substr(colon + 1));
      userinfo = userinfo.substr(0, colon);
    }
    address.user = PercentDecoded(userinfo);
  }
  if (const size_t colon = authority.rfind(':');
      colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    std::string_view port = authority.substr(colon + 1);
    authority = authority.substr(0, colon);
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), address.port);
    if (ec != std::errc() || end != port.data() + port.size() || address.port == 0 ||
        address.port > 65535) {
      return Err(
          InvalidArgument("{}: port `{}` is not a number from 1 to 65535{}", location, port, form));
    }
  }
  if (authority.size() >= 2 && authority.front() == '[' && authority.back() == ']') {
    authority = authority.substr(1, authority.size() - 2);  // [::1]
  }
  if (!authority.empty()) address.host = std::string(authority);
  if (address.user.empty()) {
    if (const char* user = std::getenv("USER"); user != nullptr) address.user = user;
  }
  if (!address.password.has_value()) {
    if (const char* password = std::getenv("MYSQL_PWD"); password != nullptr) {
      address.password = password;
    }
  }
  return address;
}

// `name` as a MySQL identifier: backticks, embedded backticks doubled.
std::string QuoteName(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out.push_back('`');
    out.push_back(c);
  }
  out.push_back('`');
  return out;
}

// `text` as a string literal. Correct for utf8mb4 with backslash escapes on (kSessionSettings).
void AppendQuoted(MYSQL* conn, std::string_view text, std::string* out) {
  out->push_back('\'');
  const size_t start = out->size();
  out->resize(start + 2 * text.size() + 1);
  const unsigned long written =
      mysql_real_escape_string(conn, out->data() + start, text.data(), text.size());
  out->resize(start + written);
  out->push_back('\'');
}

std::string Quoted(MYSQL* conn, std::string_view text) {
  std::string out;
  AppendQuoted(conn, text, &out);
  return out;
}

std::string ErrorOf(MYSQL* conn, const std::string& url) {
  return RedactSecretsOf(url, fmt::format("{} (error {}, SQLSTATE {})", mysql_error(conn),
                                          mysql_errno(conn), mysql_sqlstate(conn)));
}

bool ConnectionLost(MYSQL* conn) {
  const unsigned e = mysql_errno(conn);
  return e == 2006 /* CR_SERVER_GONE_ERROR */ || e == 2013 /* CR_SERVER_LOST */ ||
         e == 2002 /* CR_CONNECTION_ERROR */ || e == 2003 /* CR_CONN_HOST_ERROR */;
}

// Runs one statement and discards any result.
Status Exec(MYSQL* conn, std::string_view sql, const std::string& url,
            const std::string& location) {
  if (mysql_real_query(conn, sql.data(), sql.size()) != 0) {
    if (ConnectionLost(conn)) {
      return Unavailable("{}: lost the connection ({}); check the server and retry", location,
                         ErrorOf(conn, url));
    }
    return Internal("{}: `{}` failed: {}", location, sql.substr(0, 200), ErrorOf(conn, url));
  }
  ResultHandle discarded(mysql_store_result(conn), &mysql_free_result);
  return OkStatus();
}

// Runs one query and returns its rows, all in memory: for the catalogue's small answers and a
// person's smoke test (a statement without rows returns none).
Result<TextRows> QueryRows(MYSQL* conn, std::string_view sql, const std::string& url,
                           const std::string& location) {
  if (mysql_real_query(conn, sql.data(), sql.size()) != 0) {
    if (ConnectionLost(conn)) {
      return Err(Unavailable("{}: lost the connection ({}); check the server and retry", location,
                             ErrorOf(conn, url)));
    }
    return Err(Internal("{}: `{}` failed: {}", location, sql.substr(0, 200), ErrorOf(conn, url)));
  }
  ResultHandle res(mysql_store_result(conn), &mysql_free_result);
  TextRows rows;
  if (res == nullptr) {
    if (mysql_field_count(conn) == 0) return rows;
    return Err(Internal("{}: `{}` returned no result: {}", location, sql.substr(0, 200),
                        ErrorOf(conn, url)));
  }
  const unsigned columns = mysql_num_fields(res.get());
  while (MYSQL_ROW row = mysql_fetch_row(res.get())) {
    const unsigned long* lengths = mysql_fetch_lengths(res.get());
    std::vector<std::optional<std::string>>& out = rows.emplace_back();
    for (unsigned c = 0; c < columns; ++c) {
      if (row[c] == nullptr) {
        out.emplace_back();
      } else {
        out.emplace_back(std::string(row[c], lengths[c]));
      }
    }
  }
  return rows;
}

std::once_flag library_once;

// `ferry_session`: with kSessionSettings (every connection of a copy or a verification);
// without, the session is the server's and the user's own (a person's SQL, Connector::Query).
Result<Connection> Connect(const std::string& url, const std::string& location,
                           bool ferry_session = true) {
  // mysql_init initialises the library on first use, which is not thread-safe; do it once.
  std::call_once(library_once, [] { mysql_library_init(0, nullptr, nullptr); });
  FERRY_ASSIGN_OR_RETURN(MysqlAddress address, ParseMysqlUrl(url, location));
  Connection conn(mysql_init(nullptr), &mysql_close);
  if (conn == nullptr) return Err(ResourceExhausted("{}: out of memory", location));
  const unsigned timeout = 30;
  mysql_options(conn.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(conn.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
  const bool tcp = address.host != "localhost";
  if (mysql_real_connect(conn.get(), address.host.c_str(), address.user.c_str(),
                         address.password.has_value() ? address.password->c_str() : nullptr,
                         address.database.c_str(), tcp ? address.port : 0, nullptr, 0) == nullptr) {
    return Err(Unavailable(
        "{}: cannot connect: {}; check that the server is running and the URL, user, password "
        "and database are right (MYSQL_PWD is read when the URL has no password)",
        location, ErrorOf(conn.get(), url)));
  }
  for (std::string_view setting : kSessionSettings) {
    if (!ferry_session) break;
    if (mysql_real_query(conn.get(), setting.data(), setting.size()) != 0) {
      return Err(Internal("{}: cannot set the session up (`{}`): {}", location, setting,
                          ErrorOf(conn.get(), url)));
    }
  }
  return conn;
}

Result<Value> ParseAs(TypeKind kind, std::string_view text) {
  switch (kind) {
    case TypeKind::kBool: return ParseBool(text);
    case TypeKind::kInt64: return ParseInt64(text);
    case TypeKind::kDecimal: return ParseDecimal(text);
    case TypeKind::kFloat64: return ParseFloat64(text);
    // The session's character set is utf8mb4: the server converts every text column to it.
    case TypeKind::kText: return Value::Text(std::string(text));
    case TypeKind::kBytes: return Value::Bytes(std::string(text));
    case TypeKind::kDate: return ParseDate(text);
    case TypeKind::kTime: return ParseTime(text);
    case TypeKind::kTimestamp: return ParseTimestamp(text);
    // TIMESTAMP in a '+00:00' session: UTC wall clock, i.e. the instant.
    case TypeKind::kTimestampTz: {
      FERRY_ASSIGN_OR_RETURN(Value wall, ParseTimestamp(text));
      return Value::TimestampTz(wall.timestamp_micros());
    }
    case TypeKind::kUuid: return ParseUuid(text);
    case TypeKind::kJson: return ParseJsonValue(text);
  }
  return Err(Internal("unhandled kind"));
}

// Streams one SELECT (mysql_use_result: rows come off the socket as they are read, so the
// client holds one batch whatever the table's size) inside a consistent-snapshot, read-only
// transaction: the rows are one snapshot of InnoDB tables.
class MysqlReader final : public RowReader {
 public:
  MysqlReader(Connection conn, ResultHandle res, const TableInfo& table, size_t batch_rows,
              std::string url, std::string location)
      : conn_(std::move(conn)),
        res_(std::move(res)),
        table_(table),
        batch_rows_(std::max<size_t>(1, batch_rows)),
        url_(std::move(url)),
        location_(std::move(location)) {}

  // Freeing an unfinished unbuffered result reads every remaining row off the socket; a reader
  // abandoned early (a "has rows?" probe of a large table) cancels the connection instead.
  ~MysqlReader() override {
    if (!done_ && res_ != nullptr) mariadb_cancel(conn_.get());
  }

  // Refills `batch` in place: its rows and their values keep their capacity from the last
  // call, so a scan allocates little beyond its first batch.
  Result<bool> Next(std::vector<Row>* batch) override {
    if (done_) {
      batch->clear();
      return false;
    }
    const unsigned columns = mysql_num_fields(res_.get());
    if (columns != table_.columns.size()) {
      return Err(Internal("{}: table `{}`: the scan returned {} columns, expected {}", location_,
                          table_.name, columns, table_.columns.size()));
    }
    size_t filled = 0;
    while (filled < batch_rows_) {
      MYSQL_ROW row = mysql_fetch_row(res_.get());
      if (row == nullptr) {
        if (mysql_errno(conn_.get()) != 0) {
          batch->resize(filled);
          return Err(Unavailable("{}: table `{}`: the scan failed after {} rows: {}", location_,
                                 table_.name, rows_, ErrorOf(conn_.get(), url_)));
        }
        done_ = true;
        res_.reset();
        FERRY_RETURN_IF_ERROR(Exec(conn_.get(), "COMMIT", url_, location_));
        break;
      }
      const unsigned long* lengths = mysql_fetch_lengths(res_.get());
      ++rows_;
      if (filled == batch->size()) batch->emplace_back();
      Row& out = (*batch)[filled];
      out.resize(columns);
      for (unsigned c = 0; c < columns; ++c) {
        if (row[c] == nullptr) {
          out[c].SetNull();
          continue;
        }
        const ColumnInfo& column = table_.columns[c];
        const std::string_view text(row[c], lengths[c]);
        // The session's character set is utf8mb4: the server converts every text column to it.
        if (column.kind == TypeKind::kText) {
          out[c].AssignText(text);
          continue;
        }
        if (column.kind == TypeKind::kBytes) {
          out[c].AssignBytes(text);
          continue;
        }
        Result<Value> value = ParseAs(column.kind, text);
        if (!value.has_value()) {
          batch->resize(filled);
          return Err(value.error().WithContext(
              fmt::format("{}: table `{}`, column `{}` ({}), row {}", location_, table_.name,
                          column.name, column.native_type, rows_)));
        }
        out[c] = std::move(value).value();
      }
      ++filled;
    }
    batch->resize(filled);
    return filled > 0;
  }

 private:
  Connection conn_;
  ResultHandle res_;  // destroyed before conn_
  const TableInfo& table_;
  const size_t batch_rows_;
  const std::string url_;
  const std::string location_;
  int64_t rows_ = 0;
  bool done_ = false;
};

// One value as a MySQL literal, in the form the server reads back exactly in a '+00:00',
// strict session.
Status AppendLiteral(MYSQL* conn, const Value& v, std::string* out) {
  if (v.is_null()) {
    out->append("NULL");
    return OkStatus();
  }
  switch (v.kind()) {
    case TypeKind::kBool: out->push_back(v.bool_value() ? '1' : '0'); break;
    case TypeKind::kInt64: fmt::format_to(std::back_inserter(*out), "{}", v.int64_value()); break;
    case TypeKind::kFloat64:
      if (!std::isfinite(v.float64_value())) {
        return InvalidArgument("{}: MySQL DOUBLE has no NaN or infinity",
                               FormatFloat64(v.float64_value()));
      }
      // A literal with an exponent is read as a DOUBLE; without one, as an exact decimal that
      // is then rounded once to the nearest double: both give the double back.
      out->append(FormatFloat64(v.float64_value()));
      break;
    case TypeKind::kBytes: {
      static constexpr char kHex[] = "0123456789abcdef";
      out->append("X'");
      for (unsigned char c : v.str()) {
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xf]);
      }
      out->push_back('\'');
      break;
    }
    // Decimals quoted: an unquoted literal of more than 65 digits would be read as a DOUBLE;
    // a string is converted to DECIMAL exactly (or refused in strict mode).
    case TypeKind::kDecimal:
    case TypeKind::kText:
    case TypeKind::kJson: AppendQuoted(conn, v.str(), out); break;
    // A timestamptz is written as its UTC wall clock (the session is '+00:00'), so DATETIME
    // holds UTC and TIMESTAMP the instant.
    case TypeKind::kTimestampTz:
      AppendQuoted(conn, FormatTimestamp(v.timestamp_micros()), out);
      break;
    case TypeKind::kDate:
    case TypeKind::kTime:
    case TypeKind::kTimestamp:
    case TypeKind::kUuid: AppendQuoted(conn, TextInputForm(v), out); break;
  }
  return OkStatus();
}

// Loads with multi-row INSERTs of about 1 MB of SQL each, in one transaction. Why not a
// prepared statement: MYSQL_BIND would need per-kind binary plumbing (MYSQL_TIME, decimals as
// strings anyway) and a fixed row count per statement; a multi-row INSERT of literals costs one
// round trip per megabyte, and its literals are the server's own text forms, which the strict
// session checks. After each INSERT the warning count is checked: strict mode still only warns
// (Note 1265) when it rounds a decimal to the column's scale, and ferry does not round silently.
class MysqlWriter final : public RowWriter {
 public:
  MysqlWriter(Connection conn, const TableInfo& table, bool created, std::string url,
              std::string location, const ChunkMarker* marker)
      : conn_(std::move(conn)),
        table_(table),
        created_(created),
        url_(std::move(url)),
        location_(std::move(location)),
        marker_(marker) {
    std::vector<std::string> columns;
    for (const ColumnInfo& c : table_.columns) columns.push_back(QuoteName(c.name));
    insert_ = fmt::format("INSERT INTO {} ({}) VALUES ", QuoteName(table_.name),
                          fmt::join(columns, ", "));
  }

  // Without Commit: the rows are rolled back. A table this writer created was committed by its
  // CREATE TABLE (DDL commits implicitly in MySQL), so it is dropped again: a failed load
  // leaves the target as it was, apart from the moment the empty table was visible.
  ~MysqlWriter() override {
    if (committed_) return;
    const std::string rollback = "ROLLBACK";
    mysql_real_query(conn_.get(), rollback.data(), rollback.size());
    if (created_) {
      const std::string drop = fmt::format("DROP TABLE IF EXISTS {}", QuoteName(table_.name));
      mysql_real_query(conn_.get(), drop.data(), drop.size());
    }
  }

  MYSQL* session() { return conn_.get(); }

  Status Write(const std::vector<Row>& rows) override {
    for (const Row& row : rows) {
      buffer_.append(buffered_rows_ == 0 ? insert_ : ", ");
      buffer_.push_back('(');
      for (size_t c = 0; c < row.size(); ++c) {
        if (c > 0) buffer_.push_back(',');
        Status literal = AppendLiteral(conn_.get(), row[c], &buffer_);
        if (!literal.ok()) {
          return FailedPrecondition(
              "{}: table `{}`, column `{}` ({}): {}; nothing of this load was committed; "
              "fix the row or cast the column, then run the copy again",
              location_, table_.name, c < table_.columns.size() ? table_.columns[c].name : "?",
              c < table_.columns.size() ? table_.columns[c].native_type : "?", literal.message());
        }
      }
      buffer_.push_back(')');
      ++buffered_rows_;
      if (buffer_.size() >= kFlushBytes) FERRY_RETURN_IF_ERROR(Flush());
    }
    return OkStatus();
  }

  Status Commit() override {
    FERRY_RETURN_IF_ERROR(Flush());
    if (marker_ != nullptr) {
      const std::string insert = InsertChunkMarkerSql(*marker_);
      if (mysql_real_query(conn_.get(), insert.data(), insert.size()) != 0) {
        if (mysql_errno(conn_.get()) == 1062 /* ER_DUP_ENTRY */) {
          return Aborted(
              "{}: table `{}`: chunk {} of run {} is already committed; this load was "
              "rolled back",
              location_, table_.name, marker_->chunk, marker_->run_id);
        }
        return Internal("{}: table `{}`: recording chunk {} failed: {}", location_, table_.name,
                        marker_->chunk, ErrorOf(conn_.get(), url_));
      }
    }
    FERRY_RETURN_IF_ERROR(Exec(conn_.get(), "COMMIT", url_, location_));
    committed_ = true;
    return OkStatus();
  }

 private:
  static constexpr size_t kFlushBytes = 1 << 20;

  Status Flush() {
    if (buffered_rows_ == 0) return OkStatus();
    const int64_t first = rows_ + 1;
    rows_ += buffered_rows_;
    buffered_rows_ = 0;
    const int rc = mysql_real_query(conn_.get(), buffer_.data(), buffer_.size());
    buffer_.clear();
    if (rc != 0) {
      if (ConnectionLost(conn_.get())) {
        return Unavailable(
            "{}: table `{}`: lost the connection ({}); nothing of this load was "
            "committed",
            location_, table_.name, ErrorOf(conn_.get(), url_));
      }
      return Refused(first, ErrorOf(conn_.get(), url_));
    }
    if (mysql_warning_count(conn_.get()) > 0) {
      std::string warnings;
      Result<std::vector<std::vector<std::optional<std::string>>>> shown =
          QueryRows(conn_.get(), "SHOW WARNINGS LIMIT 3", url_, location_);
      if (shown.has_value()) {
        for (const auto& w : *shown) {
          if (w.size() >= 3 && w[2].has_value()) {
            warnings += (warnings.empty() ? "" : "; ") + *w[2];
          }
        }
      }
      return Refused(
          first, warnings.empty() ? std::string("a value was changed on the way in") : warnings);
    }
    return OkStatus();
  }

  // `detail` is the server's message, which counts rows from `first`, the first row of the
  // failed INSERT ("... at row 2"): the row is named by its place in the whole load instead.
  Status Refused(int64_t first, std::string detail) {
    int64_t row = -1;
    constexpr std::string_view kAtRow = " at row ";
    if (const size_t at = detail.find(kAtRow); at != std::string::npos) {
      const char* begin = detail.data() + at + kAtRow.size();
      auto [end, ec] = std::from_chars(begin, detail.data() + detail.size(), row);
      if (ec == std::errc()) {
        detail.erase(at, static_cast<size_t>(end - (detail.data() + at)));
        row += first - 1;
      } else {
        row = -1;
      }
    }
    return FailedPrecondition(
        "{}: table `{}`: the target refused {} ({}); nothing of this load was committed; widen "
        "the column with --cast or fix the row, then run the copy again",
        location_, table_.name,
        row > 0 ? fmt::format("row {} of the load", row)
                : fmt::format("a row among rows {} to {} of the load", first, rows_),
        detail);
  }

  Connection conn_;
  const TableInfo& table_;
  const bool created_;
  const std::string url_;
  const std::string location_;
  const ChunkMarker* const marker_;  // may be null
  std::string insert_;
  std::string buffer_;
  int64_t buffered_rows_ = 0;
  int64_t rows_ = 0;
  bool committed_ = false;
};

// A primary key column needs a bounded type in MySQL (a TEXT or BLOB key needs a prefix
// length, which would make the key compare prefixes only): unbounded text and bytes become
// VARCHAR(255) / VARBINARY(255) when they are part of the key.
std::string KeyColumnType(const ColumnInfo& c) {
  const std::string t = AsciiLower(c.native_type);
  const bool unbounded_text =
      t == "text" || t == "longtext" || t == "mediumtext" || t == "tinytext" || t == "json";
  const bool unbounded_bytes =
      t == "blob" || t == "longblob" || t == "mediumblob" || t == "tinyblob";
  if (unbounded_text) return "VARCHAR(255)";
  if (unbounded_bytes) return "VARBINARY(255)";
  return c.native_type;
}

std::string MysqlCreateTableSql(const TableInfo& table) {
  std::vector<std::string> parts;
  for (const ColumnInfo& c : table.columns) {
    const bool key = std::any_of(table.primary_key.begin(), table.primary_key.end(),
                                 [&](const std::string& k) { return SameIdentifier(k, c.name); });
    parts.push_back(fmt::format(
        "{} {}{}{}", QuoteName(c.name), key ? KeyColumnType(c) : c.native_type,
        c.nullable && !key ? "" : " NOT NULL",
        key && c.auto_increment && c.kind == TypeKind::kInt64 ? " AUTO_INCREMENT" : ""));
  }
  if (!table.primary_key.empty()) {
    std::vector<std::string> key;
    for (const std::string& k : table.primary_key) key.push_back(QuoteName(k));
    parts.push_back(fmt::format("PRIMARY KEY ({})", fmt::join(key, ", ")));
  }
  return fmt::format("CREATE TABLE {} ({}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
                     QuoteName(table.name), fmt::join(parts, ", "));
}

int NumberOr(const std::optional<std::string>& text, int fallback) {
  if (!text.has_value()) return fallback;
  int value = fallback;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  return ec == std::errc() ? value : fallback;
}

class MysqlConnector final : public Connector {
 public:
  MysqlConnector(std::string url, std::string location, Connection catalogue)
      : url_(std::move(url)), location_(std::move(location)), catalogue_(std::move(catalogue)) {}

  std::string_view engine() const override { return "mysql"; }
  const std::string& location() const override { return location_; }

  Result<std::vector<std::string>> ListTables() override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        auto rows,
        QueryRows(catalogue_.get(),
                  "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                  "DATABASE() AND table_type = 'BASE TABLE'",
                  url_, location_));
    std::vector<std::string> names;
    for (const auto& row : rows) {
      if (row[0].has_value() && !row[0]->starts_with("ferry_")) names.push_back(*row[0]);
    }
    // By bytes, as the other connectors sort, not by the catalogue's collation.
    std::sort(names.begin(), names.end());
    return names;
  }

  Result<TableInfo> DescribeTable(std::string_view name) override {
    FERRY_ASSIGN_OR_RETURN(std::vector<std::string> tables, ListTables());
    TableInfo table;
    FERRY_ASSIGN_OR_RETURN(table.name, ResolveTable(tables, name, location_));
    std::lock_guard lock(mu_);
    const std::string relation = Quoted(catalogue_.get(), table.name);
    // MariaDB's JSON is an alias of LONGTEXT with CHECK (json_valid(`column`)), named after the
    // column; the check is the only trace of the declared type.
    FERRY_ASSIGN_OR_RETURN(
        auto checks,
        QueryRows(catalogue_.get(),
                  fmt::format("SELECT constraint_name, check_clause FROM "
                              "information_schema.check_constraints WHERE constraint_schema = "
                              "DATABASE() AND table_name = {}",
                              relation),
                  url_, location_));
    std::map<std::string, bool> json_columns;
    for (const auto& check : checks) {
      if (check[0].has_value() && check[1].has_value() &&
          *check[1] == fmt::format("json_valid({})", QuoteName(*check[0]))) {
        json_columns[*check[0]] = true;
      } else if (check[0].has_value()) {
        table.not_copied.push_back(fmt::format("check constraint `{}`", *check[0]));
      }
    }
    FERRY_ASSIGN_OR_RETURN(
        auto columns,
        QueryRows(
            catalogue_.get(),
            fmt::format("SELECT column_name, column_type, data_type, is_nullable, "
                        "numeric_precision, numeric_scale, character_maximum_length, extra FROM "
                        "information_schema.columns WHERE table_schema = DATABASE() AND "
                        "table_name = {} ORDER BY ordinal_position",
                        relation),
            url_, location_));
    for (const auto& row : columns) {
      ColumnInfo column;
      column.name = row[0].value_or("");
      column.native_type = row[1].value_or("");
      column.kind = MysqlKind(column.native_type);
      const std::string data_type = AsciiLower(row[2].value_or(""));
      if (column.kind == TypeKind::kText && json_columns.contains(column.name)) {
        column.kind = TypeKind::kJson;
        column.native_type = "json";
      }
      column.nullable = row[3].value_or("YES") == "YES";
      column.auto_increment =
          AsciiLower(row[7].value_or("")).find("auto_increment") != std::string::npos;
      if (column.kind == TypeKind::kDecimal && data_type == "decimal") {
        column.precision = NumberOr(row[4], -1);
        column.scale = NumberOr(row[5], -1);
      } else if (data_type == "varchar" || data_type == "char") {
        column.precision = NumberOr(row[6], -1);
      }
      table.columns.push_back(std::move(column));
    }
    FERRY_ASSIGN_OR_RETURN(
        auto key,
        QueryRows(catalogue_.get(),
                  fmt::format("SELECT column_name FROM information_schema.key_column_usage WHERE "
                              "table_schema = DATABASE() AND table_name = {} AND constraint_name = "
                              "'PRIMARY' ORDER BY ordinal_position",
                              relation),
                  url_, location_));
    for (const auto& row : key) table.primary_key.push_back(row[0].value_or(""));
    FERRY_ASSIGN_OR_RETURN(
        auto indexes,
        QueryRows(catalogue_.get(),
                  fmt::format("SELECT index_name, non_unique, column_name, sub_part FROM "
                              "information_schema.statistics WHERE table_schema = DATABASE() AND "
                              "table_name = {} AND index_name <> 'PRIMARY' ORDER BY index_name, "
                              "seq_in_index",
                              relation),
                  url_, location_));
    std::map<std::string, IndexInfo> by_name;
    std::map<std::string, bool> partial;
    for (const auto& row : indexes) {
      const std::string index_name = row[0].value_or("");
      IndexInfo& index = by_name[index_name];
      index.name = index_name;
      index.unique = row[1].value_or("1") == "0";
      if (!row[2].has_value()) partial[index_name] = true;  // a functional index part
      index.columns.push_back(row[2].value_or(""));
      if (row[3].has_value()) partial[index_name] = true;  // a prefix of the column
    }
    for (auto& [index_name, index] : by_name) {
      if (partial.contains(index_name)) {
        table.not_copied.push_back(fmt::format("prefix or functional index `{}`", index_name));
      } else {
        table.indexes.push_back(std::move(index));
      }
    }
    FERRY_ASSIGN_OR_RETURN(
        auto fks,
        QueryRows(catalogue_.get(),
                  fmt::format("SELECT k.constraint_name, k.column_name, k.referenced_table_name, "
                              "k.referenced_column_name, r.delete_rule, r.update_rule FROM "
                              "information_schema.key_column_usage k JOIN "
                              "information_schema.referential_constraints r ON "
                              "r.constraint_schema = k.constraint_schema AND r.constraint_name = "
                              "k.constraint_name AND r.table_name = k.table_name WHERE "
                              "k.table_schema = DATABASE() AND k.table_name = {} AND "
                              "k.referenced_table_name IS NOT NULL ORDER BY k.constraint_name, "
                              "k.ordinal_position",
                              relation),
                  url_, location_));
    auto rule = [](const std::optional<std::string>& r) {
      return r.value_or("") == "NO ACTION" ? std::string() : r.value_or("");
    };
    for (const auto& row : fks) {
      const std::string fk_name = row[0].value_or("");
      if (table.foreign_keys.empty() || table.foreign_keys.back().name != fk_name) {
        table.foreign_keys.push_back({.name = fk_name,
                                      .ref_table = row[2].value_or(""),
                                      .on_delete = rule(row[4]),
                                      .on_update = rule(row[5])});
      }
      table.foreign_keys.back().columns.push_back(row[1].value_or(""));
      table.foreign_keys.back().ref_columns.push_back(row[3].value_or(""));
    }
    FERRY_ASSIGN_OR_RETURN(
        auto estimate,
        QueryRows(
            catalogue_.get(),
            fmt::format("SELECT table_rows FROM information_schema.tables WHERE table_schema = "
                        "DATABASE() AND table_name = {}",
                        relation),
            url_, location_));
    if (estimate.size() == 1 && estimate[0][0].has_value()) {
      const std::string& text = *estimate[0][0];
      std::from_chars(text.data(), text.data() + text.size(), table.estimated_rows);
    }
    return table;
  }

  Result<std::unique_ptr<RowReader>> Scan(const ScanSpec& spec) override {
    if (spec.pages.has_value()) {
      return Err(Unimplemented("{}: table `{}`: MySQL tables are not read by page range", location_,
                               spec.table->name));
    }
    FERRY_ASSIGN_OR_RETURN(Connection conn, Connect(url_, location_));
    FERRY_RETURN_IF_ERROR(Exec(
        conn.get(), "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", url_, location_));
    FERRY_RETURN_IF_ERROR(
        Exec(conn.get(), "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", url_, location_));
    std::vector<std::string> columns;
    for (const ColumnInfo& c : spec.table->columns) columns.push_back(QuoteName(c.name));
    const std::string select = fmt::format(
        "SELECT {} FROM {}{}", fmt::join(columns, ", "), QuoteName(spec.table->name),
        spec.range.has_value() ? KeyRangeWhere(QuoteName(spec.range->column), *spec.range) : "");
    if (mysql_real_query(conn.get(), select.data(), select.size()) != 0) {
      return Err(Internal("{}: table `{}`: cannot scan: {}", location_, spec.table->name,
                          ErrorOf(conn.get(), url_)));
    }
    ResultHandle res(mysql_use_result(conn.get()), &mysql_free_result);
    if (res == nullptr) {
      return Err(Internal("{}: table `{}`: cannot scan: {}", location_, spec.table->name,
                          ErrorOf(conn.get(), url_)));
    }
    return std::unique_ptr<RowReader>(std::make_unique<MysqlReader>(
        std::move(conn), std::move(res), *spec.table, spec.batch_rows, url_, location_));
  }

  Result<std::unique_ptr<RowWriter>> OpenWriter(const TableInfo& table, LoadMode mode,
                                                const WriterOptions& options) override {
    FERRY_ASSIGN_OR_RETURN(Connection conn, Connect(url_, location_));
    if (mode == LoadMode::kCreate) {
      // Commits implicitly (MySQL has no transactional DDL); the writer drops the table again
      // if the load is not committed.
      Status created = Exec(conn.get(), MysqlCreateTableSql(table), url_, location_);
      if (!created.ok()) {
        return Err(created.WithContext(fmt::format("table `{}`", table.name)));
      }
    }
    auto writer = std::make_unique<MysqlWriter>(std::move(conn), table, mode == LoadMode::kCreate,
                                                url_, location_, options.marker);
    MYSQL* session = writer->session();
    FERRY_RETURN_IF_ERROR(Exec(session, "START TRANSACTION", url_, location_));
    if (mode == LoadMode::kReplace) {
      // Not TRUNCATE: it commits implicitly, and a failed load must keep the old rows.
      FERRY_RETURN_IF_ERROR(
          Exec(session, fmt::format("DELETE FROM {}", QuoteName(table.name)), url_, location_));
    }
    return std::unique_ptr<RowWriter>(std::move(writer));
  }

  // On a connection of its own, so that the copy's workers build several indexes at once.
  Status CreateIndex(const TableInfo& table, const IndexInfo& index) override {
    FERRY_ASSIGN_OR_RETURN(Connection conn, Connect(url_, location_));
    return Exec(conn.get(), CreateIndexSql(table, index, &QuoteName), url_, location_);
  }

  Status AddForeignKey(const TableInfo& table, const ForeignKeyInfo& fk) override {
    std::lock_guard lock(mu_);
    return Exec(catalogue_.get(), AddForeignKeySql(table, fk, &QuoteName), url_, location_);
  }

  // InnoDB moves AUTO_INCREMENT past the largest value inserted.
  Status SyncAutoIncrement(const TableInfo&, std::string_view) override { return OkStatus(); }

  Status DropTable(std::string_view table) override {
    std::lock_guard lock(mu_);
    return Exec(catalogue_.get(), fmt::format("DROP TABLE IF EXISTS {}", QuoteName(table)), url_,
                location_);
  }

  bool supports_chunks() const override { return true; }

  Result<std::optional<KeyBounds>> GetKeyBounds(const TableInfo& table,
                                                std::string_view column) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        auto rows, QueryRows(catalogue_.get(),
                             fmt::format("SELECT MIN({0}), MAX({0}) FROM {1}", QuoteName(column),
                                         QuoteName(table.name)),
                             url_, location_));
    if (rows.size() != 1 || !rows[0][0].has_value() || !rows[0][1].has_value()) {
      return std::optional<KeyBounds>();
    }
    KeyBounds bounds;
    const std::string& low = *rows[0][0];
    const std::string& high = *rows[0][1];
    if (std::from_chars(low.data(), low.data() + low.size(), bounds.low).ec != std::errc() ||
        std::from_chars(high.data(), high.data() + high.size(), bounds.high).ec != std::errc()) {
      return Err(
          FailedPrecondition("{}: table `{}`: key `{}` spans {} to {}, beyond 64-bit integers",
                             location_, table.name, column, low, high));
    }
    return std::optional<KeyBounds>(bounds);
  }

  Status PrepareChunkMarkers() override {
    std::lock_guard lock(mu_);
    return Exec(catalogue_.get(), ChunkMarkerTableSql() + " ENGINE=InnoDB", url_, location_);
  }

  Result<std::vector<ChunkMarker>> CommittedChunks(std::string_view run_id) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        auto rows, QueryRows(catalogue_.get(), SelectChunkMarkersSql(run_id), url_, location_));
    std::vector<ChunkMarker> markers;
    for (const auto& row : rows) {
      ChunkMarker marker{.run_id = std::string(run_id), .checksum = row[2].value_or("")};
      const std::string& chunk = row[0].value_or("");
      const std::string& loaded = row[1].value_or("");
      std::from_chars(chunk.data(), chunk.data() + chunk.size(), marker.chunk);
      std::from_chars(loaded.data(), loaded.data() + loaded.size(), marker.rows);
      markers.push_back(std::move(marker));
    }
    return markers;
  }

  Status ForgetChunks(std::string_view run_id) override {
    std::lock_guard lock(mu_);
    FERRY_RETURN_IF_ERROR(Exec(catalogue_.get(), DeleteChunkMarkersSql(run_id), url_, location_));
    FERRY_ASSIGN_OR_RETURN(
        auto left,
        QueryRows(catalogue_.get(), "SELECT COUNT(*) FROM ferry_chunks", url_, location_));
    if (left.size() == 1 && left[0][0] == "0") {
      return Exec(catalogue_.get(), "DROP TABLE ferry_chunks", url_, location_);
    }
    return OkStatus();
  }

  Result<std::string> ServerVersion() override {
    std::lock_guard lock(mu_);
    return std::string(mysql_get_server_info(catalogue_.get()));
  }

  // On a session of its own with the server's and the user's settings (not the UTC, strict,
  // day-long-timeout session of a copy): the statement runs as the person who wrote it expects.
  // The time limit is MariaDB's max_statement_time, or MySQL's max_execution_time (which
  // bounds SELECTs only).
  Result<TextRows> Query(std::string_view sql, int64_t timeout_millis) override {
    FERRY_ASSIGN_OR_RETURN(Connection conn, Connect(url_, location_, /*ferry_session=*/false));
    if (timeout_millis > 0) {
      const bool mariadb = std::string_view(mysql_get_server_info(conn.get())).find("MariaDB") !=
                           std::string_view::npos;
      const std::string limit =
          mariadb ? fmt::format("SET SESSION max_statement_time = {:.3f}",
                                static_cast<double>(timeout_millis) / 1000)
                  : fmt::format("SET SESSION max_execution_time = {}", timeout_millis);
      FERRY_RETURN_IF_ERROR(Exec(conn.get(), limit, url_, location_));
    }
    Result<TextRows> rows = QueryRows(conn.get(), sql, url_, location_);
    if (!rows.has_value() && rows.error().code() == StatusCode::kInternal) {
      // ER_STATEMENT_TIMEOUT (MariaDB), ER_QUERY_TIMEOUT (MySQL).
      const unsigned error = mysql_errno(conn.get());
      if (timeout_millis > 0 && (error == 1969 || error == 3024)) {
        return Err(
            DeadlineExceeded("{}: `{}` was stopped after {} ms", location_, sql, timeout_millis));
      }
      return Err(FailedPrecondition("{}", rows.error().message()));
    }
    return rows;
  }

  // Records the binary log position of a consistent snapshot (MariaDB reports the position
  // that matches the snapshot exactly; MySQL the position at that moment). Readers cannot share
  // one snapshot between sessions without FLUSH TABLES WITH READ LOCK, which ferry does not
  // take on a production source: each chunk reads its own consistent snapshot.
  Result<SnapshotInfo> ExportSnapshot() override {
    std::lock_guard lock(mu_);
    SnapshotInfo info{.note =
                          "MySQL/MariaDB: each chunk reads its own consistent snapshot; the "
                          "position is where the copy started"};
    FERRY_RETURN_IF_ERROR(
        Exec(catalogue_.get(), "START TRANSACTION WITH CONSISTENT SNAPSHOT", url_, location_));
    auto status =
        QueryRows(catalogue_.get(), "SHOW STATUS LIKE 'binlog_snapshot_%'", url_, location_);
    auto gtid = QueryRows(catalogue_.get(), "SELECT @@GLOBAL.gtid_binlog_pos", url_, location_);
    FERRY_RETURN_IF_ERROR(Exec(catalogue_.get(), "COMMIT", url_, location_));
    std::string file, position;
    if (status.has_value()) {
      for (const auto& row : *status) {
        if (row[0] == "Binlog_snapshot_file") file = row[1].value_or("");
        if (row[0] == "Binlog_snapshot_position") position = row[1].value_or("");
      }
    }
    if (!file.empty()) {
      info.position = fmt::format("binlog:{}:{}", file, position);
    } else if (gtid.has_value() && gtid->size() == 1 && gtid->front()[0].has_value() &&
               !gtid->front()[0]->empty()) {
      info.position = "gtid:" + *gtid->front()[0];
    } else {
      info.note += "; the binary log is off, so there is no position to continue from";
    }
    return info;
  }

 private:
  const std::string url_;
  const std::string location_;
  std::mutex mu_;
  Connection catalogue_;  // GUARDED_BY(mu_); scans and writers open their own connections
};

}  // namespace

TypeKind MysqlKind(std::string_view column_type) {
  const std::string t = AsciiLower(column_type);
  std::string base = t.substr(0, t.find_first_of("( "));
  if (t == "tinyint(1)" || base == "bool" || base == "boolean") return TypeKind::kBool;
  if (base == "bigint" && t.find("unsigned") != std::string::npos) return TypeKind::kDecimal;
  if (base == "tinyint" || base == "smallint" || base == "mediumint" || base == "int" ||
      base == "integer" || base == "bigint" || base == "year") {
    return TypeKind::kInt64;
  }
  if (base == "decimal" || base == "numeric" || base == "dec" || base == "fixed") {
    return TypeKind::kDecimal;
  }
  if (base == "float" || base == "double" || base == "real") return TypeKind::kFloat64;
  if (base == "binary" || base == "varbinary" || base == "tinyblob" || base == "blob" ||
      base == "mediumblob" || base == "longblob" || base == "bit" || base == "geometry") {
    return TypeKind::kBytes;
  }
  if (base == "date") return TypeKind::kDate;
  if (base == "time") return TypeKind::kTime;
  if (base == "datetime") return TypeKind::kTimestamp;
  if (base == "timestamp") return TypeKind::kTimestampTz;
  if (base == "uuid") return TypeKind::kUuid;
  if (base == "json") return TypeKind::kJson;
  // char, varchar, the text family, enum, set, inet4/inet6: their text.
  return TypeKind::kText;
}

Result<std::unique_ptr<Connector>> OpenMysqlConnector(const std::string& url,
                                                      const std::string& location) {
  FERRY_ASSIGN_OR_RETURN(Connection catalogue, Connect(url, location));
  return std::unique_ptr<Connector>(
      std::make_unique<MysqlConnector>(url, location, std::move(catalogue)));
}

}  // namespace ferry::connect_internal
