#include "connect/postgres_connector.h"

#include <algorithm>
#include <charconv>
#include <mutex>

#include <fmt/format.h>
#include <libpq-fe.h>

#include "base/url.h"
#include "connect/pg_binary.h"

namespace ferry::connect_internal {
namespace {

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using ResultHandle = std::unique_ptr<PGresult, decltype(&PQclear)>;

// Output formats the parsers expect, whatever the server's or the role's defaults are:
// ISO dates, UTC for timestamptz, shortest round-trip floats, hex bytea.
constexpr std::string_view kSessionSettings =
    "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET extra_float_digits = 1; "
    "SET bytea_output = 'hex'; SET client_encoding = 'UTF8'; SET IntervalStyle = 'iso_8601'; "
    // A scan holds its transaction open for as long as the table takes to read: a role's
    // timeouts must not cut it off half-way.
    "SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0";

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// `ferry_session`: with kSessionSettings (every connection of a copy or a verification);
// without, the session keeps the server's and the role's settings but for UTF-8 (a person's
// SQL, Connector::Query).
Result<Connection> Connect(const std::string& url, const std::string& location,
                           bool ferry_session = true) {
  Connection conn(PQconnectdb(url.c_str()), &PQfinish);
  if (conn == nullptr) return Err(ResourceExhausted("{}: out of memory", location));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Err(Unavailable(
        "{}: cannot connect: {}; check that the server is running and the URL, user and "
        "password are right (PGPASSWORD and ~/.pgpass are read)",
        location, Trimmed(RedactSecretsOf(url, PQerrorMessage(conn.get())))));
  }
  PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
  const std::string settings =
      ferry_session ? std::string(kSessionSettings) : "SET client_encoding = 'UTF8'";
  ResultHandle res(PQexec(conn.get(), settings.c_str()), &PQclear);
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    return Err(Internal("{}: cannot set the session up: {}", location,
                        Trimmed(PQerrorMessage(conn.get()))));
  }
  return conn;
}

Result<ResultHandle> Exec(PGconn* conn, const std::string& sql,
                          const std::vector<std::string>& params, const std::string& location) {
  std::vector<const char*> values;
  for (const std::string& p : params) values.push_back(p.c_str());
  ResultHandle res(PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                values.data(), nullptr, nullptr, 0),
                   &PQclear);
  ExecStatusType status = PQresultStatus(res.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    if (PQstatus(conn) != CONNECTION_OK) {
      return Err(Unavailable("{}: lost the connection ({}); check the server and retry", location,
                             Trimmed(PQerrorMessage(conn))));
    }
    return Err(
        Internal("{}: query failed: {}", location, Trimmed(PQresultErrorMessage(res.get()))));
  }
  return res;
}

Result<Value> ParseAs(TypeKind kind, std::string_view text) {
  // The server guarantees UTF-8 (client_encoding): text needs no second check.
  if (kind == TypeKind::kText) return Value::Text(std::string(text));
  return ParseTextInputForm(kind, text);
}

// Reads through a cursor in a read-only repeatable-read transaction: the rows are one snapshot,
// and the client holds one batch at a time whatever the table's size. The text path, for tables
// with a column the binary reader (below) has no decoder for.
class PostgresReader final : public RowReader {
 public:
  PostgresReader(Connection conn, const TableInfo& table, size_t batch_rows, std::string location)
      : conn_(std::move(conn)),
        table_(table),
        fetch_(fmt::format("FETCH FORWARD {} FROM ferry_scan", std::max<size_t>(1, batch_rows))),
        location_(std::move(location)) {}

  Result<bool> Next(std::vector<Row>* batch) override {
    batch->clear();
    if (done_) return false;
    FERRY_ASSIGN_OR_RETURN(ResultHandle res, Exec(conn_.get(), fetch_, {}, location_));
    const int rows = PQntuples(res.get());
    const int columns = PQnfields(res.get());
    batch->reserve(static_cast<size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      Row row;
      row.reserve(static_cast<size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (PQgetisnull(res.get(), r, c)) {
          row.push_back(Value::Null());
          continue;
        }
        const ColumnInfo& column = table_.columns[static_cast<size_t>(c)];
        Result<Value> value = ParseAs(
            column.kind,
            {PQgetvalue(res.get(), r, c), static_cast<size_t>(PQgetlength(res.get(), r, c))});
        if (!value.has_value()) {
          return Err(value.error().WithContext(
              fmt::format("{}: table `{}`, column `{}` ({}), row {}", location_, table_.name,
                          column.name, column.native_type, rows_ + r + 1)));
        }
        row.push_back(std::move(value).value());
      }
      batch->push_back(std::move(row));
    }
    rows_ += rows;
    if (rows == 0) {
      done_ = true;
      FERRY_ASSIGN_OR_RETURN(ResultHandle end, Exec(conn_.get(), "COMMIT", {}, location_));
      return false;
    }
    return true;
  }

 private:
  Connection conn_;
  const TableInfo& table_;
  const std::string fetch_;
  const std::string location_;
  int64_t rows_ = 0;
  bool done_ = false;
};

// Reads `COPY (SELECT ...) TO STDOUT (FORMAT binary)` inside the scan's read-only
// repeatable-read transaction: one snapshot, as the cursor gives, without the server formatting
// and ferry parsing text. Memory stays bounded: libpq hands over one message (a tuple) at a time
// and the reader holds one batch plus at most one partial tuple.
class PostgresBinaryReader final : public RowReader {
 public:
  // `types`: the type OID of each column of `table`, each with a binary decoder of its kind.
  PostgresBinaryReader(Connection conn, const TableInfo& table, std::vector<uint32_t> types,
                       size_t batch_rows, std::string location)
      : conn_(std::move(conn)),
        table_(table),
        types_(std::move(types)),
        batch_rows_(std::max<size_t>(1, batch_rows)),
        location_(std::move(location)) {}

  // Refills `batch` in place: its rows and their values keep their capacity from the last
  // call, so a scan allocates little beyond its first batch.
  Result<bool> Next(std::vector<Row>* batch) override {
    size_t filled = 0;
    while (!ended_ && filled < batch_rows_) {
      size_t consumed = 0;
      if (!header_read_) {
        FERRY_ASSIGN_OR_RETURN(bool complete, ParsePgCopyHeader(stream_.unparsed(), &consumed));
        if (complete) {
          header_read_ = true;
          stream_.Consume(consumed);
        } else {
          FERRY_RETURN_IF_ERROR(Receive());
        }
        continue;
      }
      FERRY_ASSIGN_OR_RETURN(PgCopyParse parsed, ParsePgCopyTuple(stream_.unparsed(), types_.size(),
                                                                  &fields_, &consumed));
      if (parsed == PgCopyParse::kNeedMore) {
        FERRY_RETURN_IF_ERROR(Receive());
        continue;
      }
      stream_.Consume(consumed);
      if (parsed == PgCopyParse::kEnd) {
        FERRY_RETURN_IF_ERROR(Finish());
        break;
      }
      if (filled == batch->size()) batch->emplace_back();
      size_t failed = 0;
      Status decoded = DecodePgBinaryRow(types_, fields_, &(*batch)[filled], &failed);
      if (!decoded.ok()) {
        const ColumnInfo& column = table_.columns[failed];
        batch->resize(filled);
        return Err(decoded.WithContext(fmt::format("{}: table `{}`, column `{}` ({}), row {}",
                                                   location_, table_.name, column.name,
                                                   column.native_type, rows_ + 1)));
      }
      ++filled;
      ++rows_;
    }
    batch->resize(filled);
    return filled > 0;
  }

 private:
  // Takes the next message of the stream.
  Status Receive() {
    char* message = nullptr;
    const int size = PQgetCopyData(conn_.get(), &message, /*async=*/0);
    if (size > 0) {
      stream_.Add(PgCopyBuffer::Message(message, &PQfreemem), static_cast<size_t>(size));
      return OkStatus();
    }
    if (size == -1) {
      // The COPY ended before its trailer: the server stopped it; its result says why.
      FERRY_RETURN_IF_ERROR(CopyResult());
      return DataLoss("{}: table `{}`: the COPY stream ended before its end marker, after {} rows",
                      location_, table_.name, rows_);
    }
    return Unavailable(
        "{}: table `{}`: reading the COPY stream failed: {}; check the server and "
        "retry",
        location_, table_.name, Trimmed(PQerrorMessage(conn_.get())));
  }

  // The COPY command's outcome, once its data has all been read.
  Status CopyResult() {
    ResultHandle res(PQgetResult(conn_.get()), &PQclear);
    const ExecStatusType status = PQresultStatus(res.get());
    std::string error = Trimmed(PQresultErrorMessage(res.get()));
    while (PGresult* extra = PQgetResult(conn_.get())) PQclear(extra);
    if (status == PGRES_COMMAND_OK) return OkStatus();
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      return Unavailable("{}: lost the connection ({}); check the server and retry", location_,
                         Trimmed(PQerrorMessage(conn_.get())));
    }
    return Internal("{}: table `{}`: the scan failed: {}", location_, table_.name, error);
  }

  // After the trailer: the end of the COPY, then of the transaction.
  Status Finish() {
    ended_ = true;
    char* message = nullptr;
    int size = 0;
    while ((size = PQgetCopyData(conn_.get(), &message, /*async=*/0)) > 0) PQfreemem(message);
    if (size == -2) {
      return Unavailable("{}: table `{}`: reading the COPY stream failed: {}", location_,
                         table_.name, Trimmed(PQerrorMessage(conn_.get())));
    }
    FERRY_RETURN_IF_ERROR(CopyResult());
    FERRY_ASSIGN_OR_RETURN(ResultHandle end, Exec(conn_.get(), "COMMIT", {}, location_));
    return OkStatus();
  }

  Connection conn_;
  const TableInfo& table_;
  const std::vector<uint32_t> types_;
  const size_t batch_rows_;
  const std::string location_;
  PgCopyBuffer stream_;
  std::vector<PgCopyField> fields_;
  bool header_read_ = false;
  bool ended_ = false;
  int64_t rows_ = 0;
};

// COPY text format (PostgreSQL documentation, "COPY", section "Text Format"): tab-separated
// columns, \N for NULL, backslash escapes for backslash, newline, carriage return and tab.
void AppendCopyText(const Value& v, std::string* out) {
  if (v.is_null()) {
    out->append("\\N");
    return;
  }
  // Bytes too: bytea's `\x...`, whose backslash the loop below escapes for COPY.
  const std::string text = TextInputForm(v);
  for (char c : text) {
    switch (c) {
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default: out->push_back(c);
    }
  }
}

// Loads through COPY FROM STDIN inside one transaction: PostgreSQL's bulk path, all or nothing.
// In binary when every column's type has an encoder (pg_binary.h), which spares the server
// parsing numbers, dates and timestamps and ferry formatting them; otherwise in text. A value
// with no binary form for its column (text into an integer column, which the text input
// parses) ends the binary COPY and the load goes on in text in the same transaction, so the
// binary path refuses nothing the text path takes.
class PostgresWriter final : public RowWriter {
 public:
  // `binary_types`: the type OID of each column, each with a binary encoder; empty for text.
  PostgresWriter(Connection conn, const TableInfo& table, std::string location,
                 const ChunkMarker* marker, std::vector<uint32_t> binary_types)
      : conn_(std::move(conn)),
        table_(table),
        location_(std::move(location)),
        marker_(marker),
        types_(std::move(binary_types)),
        binary_(!types_.empty()) {}
  // Closing the connection mid-COPY aborts the transaction: nothing is kept.
  ~PostgresWriter() override = default;

  // Starts the COPY.
  Status Start() { return StartCopy(); }

  Status Write(const std::vector<Row>& rows) override {
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& row = rows[i];
      if (binary_) {
        FERRY_ASSIGN_OR_RETURN(bool sent, AppendBinaryRow(row, rows_ + static_cast<int64_t>(i)));
        if (sent) continue;
        FERRY_RETURN_IF_ERROR(SwitchToText());
      }
      for (size_t c = 0; c < row.size(); ++c) {
        if (c > 0) buffer_.push_back('\t');
        AppendCopyText(row[c], &buffer_);
      }
      buffer_.push_back('\n');
    }
    rows_ += static_cast<int64_t>(rows.size());
    return buffer_.size() >= kFlushBytes ? Flush() : OkStatus();
  }

  Status Commit() override {
    FERRY_RETURN_IF_ERROR(EndCopy());
    if (marker_ != nullptr) {
      const std::string insert = InsertChunkMarkerSql(*marker_);
      ResultHandle marked(PQexec(conn_.get(), insert.c_str()), &PQclear);
      if (PQresultStatus(marked.get()) != PGRES_COMMAND_OK) {
        const char* state = PQresultErrorField(marked.get(), PG_DIAG_SQLSTATE);
        if (state != nullptr && std::string_view(state) == "23505") {
          return Aborted(
              "{}: table `{}`: chunk {} of run {} is already committed; this load was "
              "rolled back",
              location_, table_.name, marker_->chunk, marker_->run_id);
        }
        return Internal("{}: table `{}`: recording chunk {} failed: {}", location_, table_.name,
                        marker_->chunk, Trimmed(PQresultErrorMessage(marked.get())));
      }
    }
    FERRY_ASSIGN_OR_RETURN(ResultHandle commit, Exec(conn_.get(), "COMMIT", {}, location_));
    return OkStatus();
  }

 private:
  static constexpr size_t kFlushBytes = 1 << 20;

  Status StartCopy() {
    std::vector<std::string> columns;
    columns.reserve(table_.columns.size());
    for (const ColumnInfo& c : table_.columns) columns.push_back(QuoteIdentifier(c.name));
    const std::string copy =
        fmt::format("COPY {} ({}) FROM STDIN{}", QuoteIdentifier(table_.name),
                    fmt::join(columns, ", "), binary_ ? " (FORMAT binary)" : "");
    ResultHandle res(PQexec(conn_.get(), copy.c_str()), &PQclear);
    if (PQresultStatus(res.get()) != PGRES_COPY_IN) {
      return Internal("{}: `{}` failed: {}", location_, copy,
                      Trimmed(PQresultErrorMessage(res.get())));
    }
    if (binary_) AppendPgCopyHeader(&buffer_);
    return OkStatus();
  }

  // Sends what is buffered and ends the COPY; the server's verdict on the rows comes here.
  Status EndCopy() {
    if (binary_) AppendPgCopyTrailer(&buffer_);
    FERRY_RETURN_IF_ERROR(Flush());
    if (PQputCopyEnd(conn_.get(), nullptr) != 1) return Failure("ending COPY");
    ResultHandle res(PQgetResult(conn_.get()), &PQclear);
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      return LoadRefused(PQresultErrorMessage(res.get()),
                         PQresultErrorField(res.get(), PG_DIAG_SQLSTATE));
    }
    while (PGresult* extra = PQgetResult(conn_.get())) PQclear(extra);
    return OkStatus();
  }

  Status SwitchToText() {
    FERRY_RETURN_IF_ERROR(EndCopy());
    binary_ = false;
    return StartCopy();
  }

  // Appends `row` (the load's `index`th, from 0) in binary: true, or false with nothing
  // appended when one of its values needs text.
  Result<bool> AppendBinaryRow(const Row& row, int64_t index) {
    const size_t start = buffer_.size();
    AppendPgCopyTupleStart(row.size(), &buffer_);
    for (size_t c = 0; c < row.size(); ++c) {
      if (row[c].is_null()) {
        AppendPgBinaryNull(&buffer_);
        continue;
      }
      Result<PgEncode> encoded = AppendPgBinaryField(types_[c], row[c], &buffer_);
      if (!encoded.has_value() || *encoded == PgEncode::kNeedsText) {
        buffer_.resize(start);
        if (encoded.has_value()) return false;
        const ColumnInfo& column = table_.columns[c];
        const std::string_view wider = PgWiderType(types_[c]);
        return Err(FailedPrecondition(
            "{}: table `{}`: column `{}` ({}), row {} of this load: {}; nothing of this load "
            "was committed; {}, then run the copy again",
            location_, table_.name, column.name, column.native_type, index + 1,
            encoded.error().message(),
            wider.empty() ? std::string("fix the row")
                          : fmt::format("widen the column with --cast '{}:{}' or fix the row",
                                        column.name, wider)));
      }
    }
    return true;
  }

  Status Flush() {
    if (buffer_.empty()) return OkStatus();
    if (PQputCopyData(conn_.get(), buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
      return Failure("sending rows");
    }
    buffer_.clear();
    return OkStatus();
  }

  Status Failure(std::string_view step) {
    return Unavailable("{}: table `{}`: {} failed: {}; nothing of this load was committed",
                       location_, table_.name, step, Trimmed(PQerrorMessage(conn_.get())));
  }

  Status LoadRefused(std::string_view message, const char* sqlstate) {
    std::string_view state = sqlstate != nullptr ? sqlstate : "";
    std::string detail = Trimmed(std::string(message));
    if (state.starts_with("53")) {
      return ResourceExhausted(
          "{}: table `{}`: the server is out of resources ({}); free them "
          "and run the copy again: tables already committed are kept",
          location_, table_.name, detail);
    }
    // 22xxx: data exceptions (a value too long, out of range, invalid text); 23xxx: constraints.
    return FailedPrecondition(
        "{}: table `{}`: the target refused a row ({}); nothing of this "
        "load was committed; widen the column with --cast or fix the "
        "row, then run the copy again",
        location_, table_.name, detail);
  }

  Connection conn_;
  const TableInfo& table_;
  const std::string location_;
  const ChunkMarker* const marker_;  // may be null
  const std::vector<uint32_t> types_;
  bool binary_;  // the current COPY's format
  std::string buffer_;
  int64_t rows_ = 0;
};

// The type OID of each column of `table` when every one has a binary encoder; otherwise empty
// (text). Read in the load's transaction, so a table it just created is seen.
Result<std::vector<uint32_t>> BinaryColumnTypes(PGconn* conn, const TableInfo& table,
                                                const std::string& location) {
  FERRY_ASSIGN_OR_RETURN(
      ResultHandle res,
      Exec(conn,
           "SELECT a.attname, a.atttypid FROM pg_attribute a WHERE a.attrelid = to_regclass($1) "
           "AND a.attnum > 0 AND NOT a.attisdropped",
           {QuoteIdentifier(table.name)}, location));
  std::vector<uint32_t> types(table.columns.size(), 0);
  for (int r = 0; r < PQntuples(res.get()); ++r) {
    const std::string_view name = PQgetvalue(res.get(), r, 0);
    for (size_t c = 0; c < table.columns.size(); ++c) {
      if (table.columns[c].name != name) continue;
      const std::string_view oid = PQgetvalue(res.get(), r, 1);
      std::from_chars(oid.data(), oid.data() + oid.size(), types[c]);
    }
  }
  for (uint32_t type : types) {
    if (!PgBinaryCanEncode(type)) return std::vector<uint32_t>();
  }
  return types;
}

// The type OID of each column `select` returns when every one has a binary decoder making the
// kind `table` reads it as; otherwise empty (the text cursor). A domain reports its base type.
Result<std::vector<uint32_t>> BinaryResultTypes(PGconn* conn, const std::string& select,
                                                const TableInfo& table,
                                                const std::string& location) {
  FERRY_ASSIGN_OR_RETURN(ResultHandle res, Exec(conn, select + " LIMIT 0", {}, location));
  if (PQnfields(res.get()) != static_cast<int>(table.columns.size())) {
    return std::vector<uint32_t>();
  }
  std::vector<uint32_t> types;
  types.reserve(table.columns.size());
  for (size_t c = 0; c < table.columns.size(); ++c) {
    const uint32_t type = PQftype(res.get(), static_cast<int>(c));
    if (PgBinaryDecodedKind(type) != table.columns[c].kind) return std::vector<uint32_t>();
    types.push_back(type);
  }
  return types;
}

class PostgresConnector final : public Connector {
 public:
  PostgresConnector(std::string url, std::string location, Connection catalogue)
      : url_(std::move(url)), location_(std::move(location)), catalogue_(std::move(catalogue)) {}

  std::string_view engine() const override { return "postgresql"; }
  const std::string& location() const override { return location_; }

  Result<std::vector<std::string>> ListTables() override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        ResultHandle res,
        Exec(catalogue_.get(),
             "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
             "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() AND NOT "
             "c.relispartition AND c.relname NOT LIKE 'ferry\\_%' ORDER BY c.relname",
             {}, location_));
    std::vector<std::string> names;
    for (int r = 0; r < PQntuples(res.get()); ++r) names.emplace_back(PQgetvalue(res.get(), r, 0));
    return names;
  }

  Result<TableInfo> DescribeTable(std::string_view name) override {
    FERRY_ASSIGN_OR_RETURN(std::vector<std::string> tables, ListTables());
    TableInfo table;
    FERRY_ASSIGN_OR_RETURN(table.name, ResolveTable(tables, name, location_));
    std::lock_guard lock(mu_);
    const std::string relation = QuoteIdentifier(table.name);
    FERRY_ASSIGN_OR_RETURN(
        ResultHandle columns,
        Exec(catalogue_.get(),
             "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typname, a.attnotnull, "
             "information_schema._pg_char_max_length(a.atttypid, a.atttypmod), "
             "information_schema._pg_numeric_precision(a.atttypid, a.atttypmod), "
             "information_schema._pg_numeric_scale(a.atttypid, a.atttypmod), "
             // Numbered by the engine: an identity column, or a serial one (a nextval default
             // on a sequence the column owns; a default on a shared sequence is not numbering
             // the copy could keep going).
             "a.attidentity IN ('a', 'd') OR (pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%' "
             "AND pg_get_serial_sequence(a.attrelid::regclass::text, a.attname) IS NOT NULL) "
             "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
             "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
             "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped "
             "ORDER BY a.attnum",
             {relation}, location_));
    for (int r = 0; r < PQntuples(columns.get()); ++r) {
      ColumnInfo column;
      column.name = PQgetvalue(columns.get(), r, 0);
      column.native_type = PQgetvalue(columns.get(), r, 1);
      column.kind = PostgresKind(PQgetvalue(columns.get(), r, 2));
      column.nullable = std::string_view(PQgetvalue(columns.get(), r, 3)) != "t";
      auto number = [&](int c) {
        int value = -1;
        if (!PQgetisnull(columns.get(), r, c)) {
          std::string_view text = PQgetvalue(columns.get(), r, c);
          std::from_chars(text.data(), text.data() + text.size(), value);
        }
        return value;
      };
      column.precision = column.kind == TypeKind::kText ? number(4) : number(5);
      column.scale = column.kind == TypeKind::kDecimal ? number(6) : -1;
      column.auto_increment = std::string_view(PQgetvalue(columns.get(), r, 7)) == "t";
      table.columns.push_back(std::move(column));
    }
    FERRY_ASSIGN_OR_RETURN(
        ResultHandle key,
        Exec(catalogue_.get(),
             "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
             "a.attnum = ANY (i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary "
             "ORDER BY array_position(i.indkey::int2[], a.attnum)",
             {relation}, location_));
    for (int r = 0; r < PQntuples(key.get()); ++r)
      table.primary_key.emplace_back(PQgetvalue(key.get(), r, 0));
    FERRY_ASSIGN_OR_RETURN(
        ResultHandle estimate,
        Exec(catalogue_.get(), "SELECT reltuples::bigint FROM pg_class WHERE oid = $1::regclass",
             {relation}, location_));
    if (PQntuples(estimate.get()) == 1) {
      std::string_view text = PQgetvalue(estimate.get(), 0, 0);
      std::from_chars(text.data(), text.data() + text.size(), table.estimated_rows);
    }
    FERRY_RETURN_IF_ERROR(DescribeIndexesLocked(relation, &table));
    FERRY_RETURN_IF_ERROR(DescribeConstraintsLocked(relation, &table));
    return table;
  }

  Result<std::unique_ptr<RowReader>> Scan(const ScanSpec& spec) override {
    FERRY_ASSIGN_OR_RETURN(Connection conn, Connect(url_, location_));
    std::vector<std::string> columns;
    for (const ColumnInfo& c : spec.table->columns) columns.push_back(QuoteIdentifier(c.name));
    FERRY_ASSIGN_OR_RETURN(
        ResultHandle begin,
        Exec(conn.get(), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}, location_));
    if (!spec.snapshot.empty()) {
      // The exporting transaction must still be open: it is, for as long as this connector.
      FERRY_ASSIGN_OR_RETURN(
          ResultHandle imported,
          Exec(conn.get(), fmt::format("SET TRANSACTION SNAPSHOT '{}'", spec.snapshot), {},
               location_));
    }
    std::string where;
    if (spec.range.has_value()) {
      where = KeyRangeWhere(QuoteIdentifier(spec.range->column), *spec.range);
    } else if (spec.pages.has_value()) {
      // A TID range scan (PostgreSQL 14+) reads only these pages.
      where = fmt::format(" WHERE ctid >= '({},0)'::tid", spec.pages->first);
      if (spec.pages->end >= 0) where += fmt::format(" AND ctid < '({},0)'::tid", spec.pages->end);
    }
    const std::string select = fmt::format("SELECT {} FROM {}{}", fmt::join(columns, ", "),
                                           QuoteIdentifier(spec.table->name), where);
    FERRY_ASSIGN_OR_RETURN(std::vector<uint32_t> types,
                           BinaryResultTypes(conn.get(), select, *spec.table, location_));
    if (!types.empty()) {
      const std::string copy = fmt::format("COPY ({}) TO STDOUT (FORMAT binary)", select);
      ResultHandle res(PQexec(conn.get(), copy.c_str()), &PQclear);
      if (PQresultStatus(res.get()) != PGRES_COPY_OUT) {
        return Err(Internal("{}: `{}` failed: {}", location_, copy,
                            Trimmed(PQresultErrorMessage(res.get()))));
      }
      return std::unique_ptr<RowReader>(std::make_unique<PostgresBinaryReader>(
          std::move(conn), *spec.table, std::move(types), spec.batch_rows, location_));
    }
    FERRY_ASSIGN_OR_RETURN(
        ResultHandle declare,
        Exec(conn.get(), fmt::format("DECLARE ferry_scan NO SCROLL CURSOR FOR {}", select), {},
             location_));
    return std::unique_ptr<RowReader>(
        std::make_unique<PostgresReader>(std::move(conn), *spec.table, spec.batch_rows, location_));
  }

  Result<std::unique_ptr<RowWriter>> OpenWriter(const TableInfo& table, LoadMode mode,
                                                const WriterOptions& options) override {
    FERRY_ASSIGN_OR_RETURN(Connection conn, Connect(url_, location_));
    FERRY_ASSIGN_OR_RETURN(ResultHandle begin, Exec(conn.get(), "BEGIN", {}, location_));
    if (mode == LoadMode::kCreate) {
      FERRY_ASSIGN_OR_RETURN(ResultHandle created,
                             Exec(conn.get(), CreateTableSql(table), {}, location_));
    } else if (mode == LoadMode::kReplace) {
      FERRY_ASSIGN_OR_RETURN(
          ResultHandle truncated,
          Exec(conn.get(), fmt::format("TRUNCATE {}", QuoteIdentifier(table.name)), {}, location_));
    }
    FERRY_ASSIGN_OR_RETURN(std::vector<uint32_t> types,
                           BinaryColumnTypes(conn.get(), table, location_));
    auto writer = std::make_unique<PostgresWriter>(std::move(conn), table, location_,
                                                   options.marker, std::move(types));
    FERRY_RETURN_IF_ERROR(writer->Start());
    return std::unique_ptr<RowWriter>(std::move(writer));
  }

  bool adds_primary_key_after_load() const override { return true; }

  // On a connection of its own, like CreateIndex: the keys of several tables build at once.
  Status AddPrimaryKey(const TableInfo& table) override {
    std::vector<std::string> key;
    for (const std::string& k : table.primary_key) key.push_back(QuoteIdentifier(k));
    FERRY_ASSIGN_OR_RETURN(Connection conn, Connect(url_, location_));
    return ExecDdl(conn.get(),
                   fmt::format("ALTER TABLE {} ADD PRIMARY KEY ({})", QuoteIdentifier(table.name),
                               fmt::join(key, ", ")),
                   fmt::format("table `{}`: primary key ({})", table.name, fmt::join(key, ", ")));
  }

  // On a connection of its own, so that the copy's workers build several indexes at once.
  Status CreateIndex(const TableInfo& table, const IndexInfo& index) override {
    FERRY_ASSIGN_OR_RETURN(Connection conn, Connect(url_, location_));
    return ExecDdl(conn.get(), CreateIndexSql(table, index, &QuoteIdentifier),
                   fmt::format("table `{}`: index `{}`", table.name, index.name));
  }

  Status AddForeignKey(const TableInfo& table, const ForeignKeyInfo& fk) override {
    std::lock_guard lock(mu_);
    return ExecDdl(catalogue_.get(), AddForeignKeySql(table, fk, &QuoteIdentifier),
                   fmt::format("table `{}`: foreign key `{}` ({}) -> `{}`", table.name, fk.name,
                               fmt::join(fk.columns, ", "), fk.ref_table));
  }

  // Rows copied with their keys do not move the column's sequence (an identity column's or a
  // serial's): set it so that the next row gets the number after the largest copied (before
  // the smallest, for a descending sequence), and never one before the sequence's start
  // (GREATEST and LEAST ignore the NULL of an empty table). A column without a sequence has
  // nothing to set.
  Status SyncAutoIncrement(const TableInfo& table, std::string_view column) override {
    std::lock_guard lock(mu_);
    const std::string sql = fmt::format(
        "SELECT setval(s.seqrelid, CASE WHEN s.seqincrement > 0 "
        "THEN GREATEST((SELECT max({0})::bigint + 1 FROM {1}), s.seqstart) "
        "ELSE LEAST((SELECT min({0})::bigint - 1 FROM {1}), s.seqstart) END, false) "
        "FROM pg_sequence s WHERE s.seqrelid = pg_get_serial_sequence($1, $2)::regclass",
        QuoteIdentifier(column), QuoteIdentifier(table.name));
    // pg_get_serial_sequence parses the table as SQL (a quoted identifier) and takes the
    // column as it is.
    Result<ResultHandle> res =
        Exec(catalogue_.get(), sql, {QuoteIdentifier(table.name), std::string(column)}, location_);
    if (!res.has_value()) {
      return res.error().WithContext(
          fmt::format("table `{}`: setting the sequence of `{}` after the largest value copied",
                      table.name, column));
    }
    return OkStatus();
  }

  Status DropTable(std::string_view table) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        ResultHandle res,
        Exec(catalogue_.get(), fmt::format("DROP TABLE IF EXISTS {}", QuoteIdentifier(table)), {},
             location_));
    return OkStatus();
  }

  bool supports_chunks() const override { return true; }

  Result<std::optional<KeyBounds>> GetKeyBounds(const TableInfo& table,
                                                std::string_view column) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(ResultHandle res,
                           Exec(catalogue_.get(),
                                fmt::format("SELECT MIN({0})::bigint, MAX({0})::bigint FROM {1}",
                                            QuoteIdentifier(column), QuoteIdentifier(table.name)),
                                {}, location_));
    if (PQntuples(res.get()) != 1 || PQgetisnull(res.get(), 0, 0)) {
      return std::optional<KeyBounds>();
    }
    KeyBounds bounds;
    std::string_view low = PQgetvalue(res.get(), 0, 0), high = PQgetvalue(res.get(), 0, 1);
    std::from_chars(low.data(), low.data() + low.size(), bounds.low);
    std::from_chars(high.data(), high.data() + high.size(), bounds.high);
    return std::optional<KeyBounds>(bounds);
  }

  Result<std::optional<int64_t>> GetPageCount(const TableInfo& table) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        ResultHandle res,
        Exec(catalogue_.get(),
             "SELECT pg_relation_size($1::regclass) / current_setting('block_size')::bigint",
             {QuoteIdentifier(table.name)}, location_));
    int64_t pages = 0;
    const std::string_view text = PQgetvalue(res.get(), 0, 0);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pages);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return Err(
          Internal("{}: table `{}`: page count `{}` is not a number", location_, table.name, text));
    }
    return std::optional<int64_t>(pages);
  }

  Status PrepareChunkMarkers() override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(ResultHandle res,
                           Exec(catalogue_.get(), ChunkMarkerTableSql(), {}, location_));
    return OkStatus();
  }

  Result<std::vector<ChunkMarker>> CommittedChunks(std::string_view run_id) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(ResultHandle res,
                           Exec(catalogue_.get(), SelectChunkMarkersSql(run_id), {}, location_));
    std::vector<ChunkMarker> markers;
    for (int r = 0; r < PQntuples(res.get()); ++r) {
      ChunkMarker marker{.run_id = std::string(run_id), .checksum = PQgetvalue(res.get(), r, 2)};
      std::string_view chunk = PQgetvalue(res.get(), r, 0), loaded = PQgetvalue(res.get(), r, 1);
      std::from_chars(chunk.data(), chunk.data() + chunk.size(), marker.chunk);
      std::from_chars(loaded.data(), loaded.data() + loaded.size(), marker.rows);
      markers.push_back(std::move(marker));
    }
    return markers;
  }

  Status ForgetChunks(std::string_view run_id) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(ResultHandle deleted,
                           Exec(catalogue_.get(), DeleteChunkMarkersSql(run_id), {}, location_));
    FERRY_ASSIGN_OR_RETURN(
        ResultHandle dropped,
        Exec(catalogue_.get(),
             "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM ferry_chunks) THEN DROP TABLE ferry_chunks; "
             "END IF; END $$",
             {}, location_));
    return OkStatus();
  }

  Result<std::string> ServerVersion() override {
    std::lock_guard lock(mu_);
    const char* version = PQparameterStatus(catalogue_.get(), "server_version");
    if (version == nullptr)
      return Err(Internal("{}: the server did not say its version", location_));
    return std::string(version);
  }

  // On a session of its own with the server's and the role's settings (its time zone, interval
  // style), not the UTC session of a copy: the statement runs as the person who wrote it
  // expects. The time limit is the session's statement_timeout.
  Result<TextRows> Query(std::string_view sql, int64_t timeout_millis) override {
    FERRY_ASSIGN_OR_RETURN(Connection conn, Connect(url_, location_, /*ferry_session=*/false));
    if (timeout_millis > 0) {
      ResultHandle set(
          PQexec(conn.get(), fmt::format("SET statement_timeout = {}", timeout_millis).c_str()),
          &PQclear);
      if (PQresultStatus(set.get()) != PGRES_COMMAND_OK) {
        return Err(Internal("{}: cannot set statement_timeout: {}", location_,
                            Trimmed(PQresultErrorMessage(set.get()))));
      }
    }
    ResultHandle res(PQexec(conn.get(), std::string(sql).c_str()), &PQclear);
    const ExecStatusType status = PQresultStatus(res.get());
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      if (PQstatus(conn.get()) != CONNECTION_OK) {
        return Err(Unavailable("{}: lost the connection ({}); check the server and retry",
                               location_, Trimmed(PQerrorMessage(conn.get()))));
      }
      const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
      if (timeout_millis > 0 && state != nullptr && std::string_view(state) == "57014") {
        return Err(
            DeadlineExceeded("{}: `{}` was stopped after {} ms", location_, sql, timeout_millis));
      }
      return Err(FailedPrecondition("{}: `{}` failed: {}", location_, sql,
                                    Trimmed(PQresultErrorMessage(res.get()))));
    }
    TextRows rows;
    for (int r = 0; r < PQntuples(res.get()); ++r) {
      std::vector<std::optional<std::string>>& row = rows.emplace_back();
      for (int c = 0; c < PQnfields(res.get()); ++c) {
        if (PQgetisnull(res.get(), r, c)) {
          row.emplace_back();
        } else {
          row.emplace_back(std::string(PQgetvalue(res.get(), r, c),
                                       static_cast<size_t>(PQgetlength(res.get(), r, c))));
        }
      }
    }
    return rows;
  }

  // pg_export_snapshot in a repeatable-read transaction kept open on a connection of its own:
  // every chunk's reader imports it, so all of them see the source as of one instant. The
  // position is the WAL insert location at that instant (on a standby, the last replayed).
  Result<SnapshotInfo> ExportSnapshot() override {
    FERRY_ASSIGN_OR_RETURN(Connection conn, Connect(url_, location_));
    FERRY_ASSIGN_OR_RETURN(
        ResultHandle begin,
        Exec(conn.get(), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}, location_));
    FERRY_ASSIGN_OR_RETURN(ResultHandle res,
                           Exec(conn.get(),
                                "SELECT pg_export_snapshot(), CASE WHEN pg_is_in_recovery() THEN "
                                "pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END",
                                {}, location_));
    SnapshotInfo info{.id = PQgetvalue(res.get(), 0, 0),
                      .position = fmt::format("pg_lsn:{}", PQgetvalue(res.get(), 0, 1)),
                      .shared = true,
                      .note = "PostgreSQL: every chunk reads one exported snapshot"};
    std::lock_guard lock(mu_);
    snapshot_ = std::move(conn);
    return info;
  }

 private:
  // Runs `sql` (DDL after the load) on the catalogue connection. A failure names `what`, the
  // server's reason and the statement, to run again once the rows allow it.
  Status ExecDdl(PGconn* conn, const std::string& sql, const std::string& what) {
    ResultHandle res(PQexec(conn, sql.c_str()), &PQclear);
    if (PQresultStatus(res.get()) == PGRES_COMMAND_OK) return OkStatus();
    if (PQstatus(conn) != CONNECTION_OK) {
      return Unavailable("{}: {}: lost the connection ({}); check the server and run `{}`",
                         location_, what, Trimmed(PQerrorMessage(conn)), sql);
    }
    const std::string error = Trimmed(PQresultErrorMessage(res.get()));
    // Class 23, integrity constraint violation: the rows break the index or key.
    const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
    if (state != nullptr && std::string_view(state).starts_with("23")) {
      return FailedPrecondition("{}: {}: the rows do not satisfy it ({}); fix them and run `{}`",
                                location_, what, error, sql);
    }
    return Internal("{}: {}: `{}` failed: {}", location_, what, sql, error);
  }

  // Secondary indexes (not the primary key's; those of UNIQUE constraints included) on plain
  // columns, btree, over the whole table, by name. The others are listed as not copied:
  // IndexInfo has no expression, predicate or access method, and another engine has no gin or
  // gist. Exclusion constraints' indexes are left to DescribeConstraintsLocked.
  Status DescribeIndexesLocked(const std::string& relation, TableInfo* table) {
    FERRY_ASSIGN_OR_RETURN(
        ResultHandle res,
        Exec(catalogue_.get(),
             "SELECT c.relname, i.indisunique, am.amname, i.indpred IS NOT NULL, "
             "i.indexprs IS NOT NULL, NOT i.indisvalid, k.n > i.indnkeyatts, a.attname "
             "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
             "JOIN pg_am am ON am.oid = c.relam "
             "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) "
             "LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
             "WHERE i.indrelid = $1::regclass AND NOT i.indisprimary AND NOT EXISTS (SELECT 1 "
             "FROM pg_constraint x WHERE x.conindid = i.indexrelid AND x.contype = 'x') "
             "ORDER BY c.relname, k.n",
             {relation}, location_));
    auto flag = [&](int r, int c) { return std::string_view(PQgetvalue(res.get(), r, c)) == "t"; };
    const int rows = PQntuples(res.get());
    for (int r = 0; r < rows;) {
      const std::string name = PQgetvalue(res.get(), r, 0);
      IndexInfo index{.name = name, .unique = flag(r, 1)};
      const std::string method = PQgetvalue(res.get(), r, 2);
      const bool partial = flag(r, 3), expression = flag(r, 4), invalid = flag(r, 5);
      bool included = false;
      for (; r < rows && name == PQgetvalue(res.get(), r, 0); ++r) {
        if (flag(r, 6)) {
          included = true;
        } else if (!PQgetisnull(res.get(), r, 7)) {
          index.columns.emplace_back(PQgetvalue(res.get(), r, 7));
        }
      }
      if (invalid) {
        table->not_copied.push_back(fmt::format("invalid index `{}`", name));
      } else if (partial) {
        table->not_copied.push_back(fmt::format("partial index `{}`", name));
      } else if (expression) {
        table->not_copied.push_back(fmt::format("expression index `{}`", name));
      } else if (method != "btree") {
        table->not_copied.push_back(fmt::format("{} index `{}`", method, name));
      } else {
        // The key columns carry the lookups and the uniqueness; INCLUDE columns only spare
        // reading the table.
        if (included) {
          table->not_copied.push_back(fmt::format("INCLUDE columns of index `{}`", name));
        }
        table->indexes.push_back(std::move(index));
      }
    }
    return OkStatus();
  }

  // Foreign keys (columns in key order), and the check and exclusion constraints a copy does not
  // carry, by name.
  Status DescribeConstraintsLocked(const std::string& relation, TableInfo* table) {
    FERRY_ASSIGN_OR_RETURN(
        ResultHandle res,
        Exec(catalogue_.get(),
             "SELECT c.conname, c.contype, c.confdeltype, c.confupdtype, r.relname, "
             "r.relnamespace = t.relnamespace, rn.nspname, a.attname, ra.attname "
             "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
             "LEFT JOIN pg_class r ON r.oid = c.confrelid "
             "LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace "
             "LEFT JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(attnum, "
             "refnum, n) ON true "
             "LEFT JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
             "LEFT JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.refnum "
             "WHERE c.conrelid = $1::regclass AND c.contype IN ('f', 'c', 'x') "
             "ORDER BY c.conname, k.n",
             {relation}, location_));
    auto rule = [](std::string_view action) -> std::string {
      if (action == "r") return "RESTRICT";
      if (action == "c") return "CASCADE";
      if (action == "n") return "SET NULL";
      if (action == "d") return "SET DEFAULT";
      return "";  // 'a': NO ACTION
    };
    const int rows = PQntuples(res.get());
    for (int r = 0; r < rows;) {
      const std::string name = PQgetvalue(res.get(), r, 0);
      const std::string_view type = PQgetvalue(res.get(), r, 1);
      ForeignKeyInfo fk{.name = name,
                        .ref_table = PQgetvalue(res.get(), r, 4),
                        .on_delete = rule(PQgetvalue(res.get(), r, 2)),
                        .on_update = rule(PQgetvalue(res.get(), r, 3))};
      const bool same_schema = std::string_view(PQgetvalue(res.get(), r, 5)) == "t";
      const std::string ref_schema = PQgetvalue(res.get(), r, 6);
      for (; r < rows && name == PQgetvalue(res.get(), r, 0); ++r) {
        fk.columns.emplace_back(PQgetvalue(res.get(), r, 7));
        fk.ref_columns.emplace_back(PQgetvalue(res.get(), r, 8));
      }
      if (type == "c") {
        table->not_copied.push_back(fmt::format("check constraint `{}`", name));
      } else if (type == "x") {
        table->not_copied.push_back(fmt::format("exclusion constraint `{}`", name));
      } else if (!same_schema) {
        // The copy names tables without a schema: the key would point at whatever table of
        // that name the target's schema holds.
        table->not_copied.push_back(fmt::format("foreign key `{}` to `{}.{}` in another schema",
                                                name, ref_schema, fk.ref_table));
      } else {
        table->foreign_keys.push_back(std::move(fk));
      }
    }
    return OkStatus();
  }

  const std::string url_;
  const std::string location_;
  std::mutex mu_;
  Connection catalogue_;                     // GUARDED_BY(mu_); scans open their own connections
  Connection snapshot_{nullptr, &PQfinish};  // GUARDED_BY(mu_); holds ExportSnapshot's transaction
};

}  // namespace

TypeKind PostgresKind(std::string_view t) {
  if (t == "bool") return TypeKind::kBool;
  if (t == "int2" || t == "int4" || t == "int8" || t == "oid") return TypeKind::kInt64;
  if (t == "numeric") return TypeKind::kDecimal;
  if (t == "float4" || t == "float8") return TypeKind::kFloat64;
  if (t == "bytea") return TypeKind::kBytes;
  if (t == "date") return TypeKind::kDate;
  if (t == "time") return TypeKind::kTime;
  if (t == "timestamp") return TypeKind::kTimestamp;
  if (t == "timestamptz") return TypeKind::kTimestampTz;
  if (t == "uuid") return TypeKind::kUuid;
  if (t == "json" || t == "jsonb") return TypeKind::kJson;
  // text, varchar, bpchar, name, citext, and types without a kind of their own (interval,
  // money, arrays, enums, ranges, network addresses) compare by their text output.
  return TypeKind::kText;
}

Result<std::unique_ptr<Connector>> OpenPostgresConnector(const std::string& url,
                                                         const std::string& location) {
  FERRY_ASSIGN_OR_RETURN(Connection catalogue, Connect(url, location));
  return std::unique_ptr<Connector>(
      std::make_unique<PostgresConnector>(url, location, std::move(catalogue)));
}

}  // namespace ferry::connect_internal
