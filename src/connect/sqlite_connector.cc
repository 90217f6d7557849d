#include "connect/sqlite_connector.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <sqlite3.h>

namespace ferry::connect_internal {
namespace {

// "(10,2)" -> precision 10, scale 2; "(70)" -> precision 70.
void ParseTypeModifiers(std::string_view declared, ColumnInfo* column) {
  size_t open = declared.find('(');
  if (open == std::string_view::npos) return;
  std::string_view rest = declared.substr(open + 1);
  int value = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
  if (ec != std::errc()) return;
  column->precision = value;
  if (p < rest.data() + rest.size() && *p == ',') {
    auto [p2, ec2] = std::from_chars(p + 1, rest.data() + rest.size(), value);
    if (ec2 == std::errc()) column->scale = value;
  }
}

using Handle = std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)>;
using Statement = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

Result<Handle> OpenDatabase(const std::string& path, const std::string& location, int flags) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Handle handle(db, &sqlite3_close_v2);
  if (rc != SQLITE_OK) {
    return Err(Unavailable("{}: cannot open ({}); check the path and its permissions", location,
                           db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db, 30000);
  return handle;
}

Result<Handle> OpenReadOnly(const std::string& path, const std::string& location) {
  return OpenDatabase(path, location, SQLITE_OPEN_READONLY);
}

Status ExecSql(sqlite3* db, const std::string& sql, const std::string& location) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string detail = error != nullptr ? error : sqlite3_errstr(rc);
  sqlite3_free(error);
  if (rc == SQLITE_OK) return OkStatus();
  if ((rc & 0xff) == SQLITE_FULL) {
    return ResourceExhausted(
        "{}: disk full ({}); free space and run the copy again: what was already committed is "
        "kept",
        location, detail);
  }
  if ((rc & 0xff) == SQLITE_IOERR) {
    // A write the file system refused: a full disk or quota, a file-size limit, a failing disk.
    const int system_errno = sqlite3_system_errno(db);
    return Unavailable(
        "{}: `{}` failed: {}{}; is the disk full? free space and run the same command again: "
        "what was already committed is kept",
        location, sql.substr(0, 120), detail,
        system_errno != 0 ? fmt::format(" ({})", std::strerror(system_errno)) : "");
  }
  return Internal("{}: `{}` failed: {}", location, sql.substr(0, 120), detail);
}

Result<Statement> Prepare(sqlite3* db, const std::string& sql, const std::string& location) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr);
  Statement statement(stmt, &sqlite3_finalize);
  if (rc != SQLITE_OK) {
    if ((rc & 0xff) == SQLITE_NOTADB) {
      return Err(
          InvalidArgument("{}: not an SQLite database; check the --from/--to URL", location));
    }
    return Err(
        Internal("{}: SQLite could not prepare `{}`: {}", location, sql, sqlite3_errmsg(db)));
  }
  return statement;
}

std::string_view ColumnText(sqlite3_stmt* stmt, int c) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
  return {text, static_cast<size_t>(sqlite3_column_bytes(stmt, c))};
}

// Reads column `c` of the current row as `column` says. SQLite stores any value in any column
// (type affinity is a preference), so each kind accepts the storage classes that can hold it
// without loss and refuses the rest with a message naming the value.
Result<Value> ReadValue(sqlite3_stmt* stmt, int c, const ColumnInfo& column) {
  const int storage = sqlite3_column_type(stmt, c);
  if (storage == SQLITE_NULL) return Value::Null();
  switch (column.kind) {
    case TypeKind::kInt64:
      if (storage == SQLITE_INTEGER) return Value::Int64(sqlite3_column_int64(stmt, c));
      return ParseInt64(ColumnText(stmt, c));
    case TypeKind::kFloat64:
      if (storage == SQLITE_FLOAT || storage == SQLITE_INTEGER) {
        return Value::Float64(sqlite3_column_double(stmt, c));
      }
      return ParseFloat64(ColumnText(stmt, c));
    case TypeKind::kDecimal:
      // NUMERIC affinity stores a decimal of up to 15 significant digits as a REAL. The
      // shortest text that reads back as the same double gives those digits back ("1.98"),
      // and shows a double that is not a short decimal for what it is (0.1 + 0.2 is
      // 0.30000000000000004, not SQLite's 15-digit "0.3").
      if (storage == SQLITE_FLOAT)
        return ParseDecimal(FormatFloat64(sqlite3_column_double(stmt, c)));
      return ParseDecimal(ColumnText(stmt, c));
    case TypeKind::kBool:
      if (storage == SQLITE_INTEGER) {
        const int64_t v = sqlite3_column_int64(stmt, c);
        if (v == 0 || v == 1) return Value::Bool(v == 1);
      }
      return ParseBool(ColumnText(stmt, c));
    case TypeKind::kText:
      if (storage == SQLITE_BLOB) {
        return ParseText({static_cast<const char*>(sqlite3_column_blob(stmt, c)),
                          static_cast<size_t>(sqlite3_column_bytes(stmt, c))});
      }
      return ParseText(ColumnText(stmt, c));
    case TypeKind::kBytes: {
      const void* blob = sqlite3_column_blob(stmt, c);
      return Value::Bytes(std::string(static_cast<const char*>(blob),
                                      static_cast<size_t>(sqlite3_column_bytes(stmt, c))));
    }
    case TypeKind::kDate: return ParseDate(ColumnText(stmt, c));
    case TypeKind::kTime: return ParseTime(ColumnText(stmt, c));
    case TypeKind::kTimestamp: return ParseTimestamp(ColumnText(stmt, c));
    case TypeKind::kTimestampTz: return ParseTimestampTz(ColumnText(stmt, c));
    case TypeKind::kUuid:
      if (storage == SQLITE_BLOB && sqlite3_column_bytes(stmt, c) == 16) {
        UuidBytes bytes;
        std::memcpy(bytes.data(), sqlite3_column_blob(stmt, c), bytes.size());
        return Value::Uuid(bytes);
      }
      return ParseUuid(ColumnText(stmt, c));
    case TypeKind::kJson: return ParseJsonValue(ColumnText(stmt, c));
  }
  return Err(Internal("unhandled kind"));
}

// ReadValue into *out, reusing its string's capacity for text and blobs (the reader refills one
// batch); the other kinds hold no heap memory.
Status ReadValueInto(sqlite3_stmt* stmt, int c, const ColumnInfo& column, Value* out) {
  const int storage = sqlite3_column_type(stmt, c);
  if (storage == SQLITE_NULL) {
    out->SetNull();
    return OkStatus();
  }
  if (column.kind == TypeKind::kBytes ||
      (column.kind == TypeKind::kText && storage == SQLITE_BLOB)) {
    const std::string_view bytes(static_cast<const char*>(sqlite3_column_blob(stmt, c)),
                                 static_cast<size_t>(sqlite3_column_bytes(stmt, c)));
    if (column.kind == TypeKind::kBytes) {
      out->AssignBytes(bytes);
      return OkStatus();
    }
    if (ValidateUtf8(bytes).ok()) {
      out->AssignText(bytes);
      return OkStatus();
    }
  } else if (column.kind == TypeKind::kText) {
    const std::string_view text = ColumnText(stmt, c);
    if (ValidateUtf8(text).ok()) {
      out->AssignText(text);
      return OkStatus();
    }
  }
  // Every other kind, and text that is not UTF-8 (ReadValue's error names it).
  FERRY_ASSIGN_OR_RETURN(*out, ReadValue(stmt, c, column));
  return OkStatus();
}

class SqliteReader final : public RowReader {
 public:
  SqliteReader(Handle db, Statement stmt, const TableInfo& table, size_t batch_rows,
               std::string location)
      : db_(std::move(db)),
        stmt_(std::move(stmt)),
        table_(table),
        batch_rows_(std::max<size_t>(1, batch_rows)),
        location_(std::move(location)) {}

  // Refills `batch` in place: its rows and their values keep their capacity from the last
  // call, so a scan allocates little beyond its first batch.
  Result<bool> Next(std::vector<Row>* batch) override {
    if (done_) {
      batch->clear();
      return false;
    }
    const size_t columns = table_.columns.size();
    size_t filled = 0;
    while (filled < batch_rows_) {
      int rc = sqlite3_step(stmt_.get());
      if (rc == SQLITE_DONE) {
        done_ = true;
        break;
      }
      if (rc != SQLITE_ROW) {
        batch->resize(filled);
        return Err(Unavailable("{}: reading table `{}` failed: {}", location_, table_.name,
                               sqlite3_errmsg(db_.get())));
      }
      if (filled == batch->size()) batch->emplace_back();
      Row& row = (*batch)[filled];
      row.resize(columns);
      for (size_t c = 0; c < columns; ++c) {
        Status read = ReadValueInto(stmt_.get(), static_cast<int>(c), table_.columns[c], &row[c]);
        if (!read.ok()) {
          batch->resize(filled);
          return Err(read.WithContext(fmt::format("{}: table `{}`, column `{}` ({}), row {}",
                                                  location_, table_.name, table_.columns[c].name,
                                                  table_.columns[c].native_type, rows_ + 1)));
        }
      }
      ++filled;
      ++rows_;
    }
    batch->resize(filled);
    return filled > 0;
  }

 private:
  Handle db_;
  Statement stmt_;
  const TableInfo& table_;
  const size_t batch_rows_;
  const std::string location_;
  int64_t rows_ = 0;
  bool done_ = false;
};

// Loads through one prepared INSERT in one IMMEDIATE transaction: SQLite's fastest path, and
// all or nothing.
class SqliteWriter final : public RowWriter {
 public:
  // `begun`: the transaction is open already (it created or emptied the table). Otherwise it
  // begins at the first row, so that parallel chunk loads read their sources while another
  // holds SQLite's one write lock.
  SqliteWriter(Handle db, Statement insert, const TableInfo& table, std::string location,
               bool begun, const ChunkMarker* marker)
      : db_(std::move(db)),
        insert_(std::move(insert)),
        table_(table),
        location_(std::move(location)),
        begun_(begun),
        marker_(marker) {}
  // Closing a connection with an open transaction rolls it back.
  ~SqliteWriter() override = default;

  Status Write(const std::vector<Row>& rows) override {
    FERRY_RETURN_IF_ERROR(Begin());
    sqlite3_stmt* stmt = insert_.get();
    for (const Row& row : rows) {
      ++rows_;
      for (size_t c = 0; c < row.size(); ++c) {
        const Value& v = row[c];
        const int index = static_cast<int>(c) + 1;
        int rc = SQLITE_OK;
        if (v.is_null()) {
          rc = sqlite3_bind_null(stmt, index);
        } else {
          switch (v.kind()) {
            case TypeKind::kBool: rc = sqlite3_bind_int(stmt, index, v.bool_value() ? 1 : 0); break;
            case TypeKind::kInt64: rc = sqlite3_bind_int64(stmt, index, v.int64_value()); break;
            case TypeKind::kFloat64:
              rc = sqlite3_bind_double(stmt, index, v.float64_value());
              break;
            case TypeKind::kBytes:
              rc = sqlite3_bind_blob64(stmt, index, v.str().data(), v.str().size(),
                                       SQLITE_TRANSIENT);
              break;
            default: {
              const std::string text = TextInputForm(v);
              rc = sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                       SQLITE_UTF8);
            }
          }
        }
        if (rc != SQLITE_OK) return RowError("bind", c);
      }
      const int rc = sqlite3_step(stmt);
      sqlite3_reset(stmt);
      if (rc != SQLITE_DONE) return RowError("insert", std::string::npos);
    }
    return OkStatus();
  }

  Status Commit() override {
    FERRY_RETURN_IF_ERROR(Begin());
    if (marker_ != nullptr) {
      Status marked = ExecSql(db_.get(), InsertChunkMarkerSql(*marker_), location_);
      if (!marked.ok()) {
        if ((sqlite3_extended_errcode(db_.get()) & 0xff) == SQLITE_CONSTRAINT) {
          return Aborted(
              "{}: table `{}`: chunk {} of run {} is already committed; this load was "
              "rolled back",
              location_, table_.name, marker_->chunk, marker_->run_id);
        }
        return marked;
      }
    }
    return ExecSql(db_.get(), "COMMIT", location_);
  }

 private:
  Status RowError(std::string_view step, size_t column) {
    const int code = sqlite3_extended_errcode(db_.get()) & 0xff;
    std::string where =
        fmt::format("{}: table `{}`, row {} of this load", location_, table_.name, rows_);
    if (column != std::string::npos)
      where += fmt::format(", column `{}`", table_.columns[column].name);
    if (code == SQLITE_FULL) {
      return ResourceExhausted(
          "{}: disk full; free space and run the copy again (this table "
          "was not committed; tables before it were)",
          where);
    }
    if (code == SQLITE_CONSTRAINT) {
      return FailedPrecondition(
          "{}: {} refused: {}; the row breaks a constraint of the target "
          "(a duplicate key when appending?)",
          where, step, sqlite3_errmsg(db_.get()));
    }
    return Internal("{}: {} failed: {}", where, step, sqlite3_errmsg(db_.get()));
  }

  Status Begin() {
    if (begun_) return OkStatus();
    begun_ = true;
    return ExecSql(db_.get(), "BEGIN IMMEDIATE", location_);
  }

  Handle db_;
  Statement insert_;
  const TableInfo& table_;
  const std::string location_;
  bool begun_;
  const ChunkMarker* const marker_;  // may be null
  int64_t rows_ = 0;
};

class SqliteConnector final : public Connector {
 public:
  SqliteConnector(std::string path, std::string location, Handle catalogue)
      : path_(std::move(path)), location_(std::move(location)), catalogue_(std::move(catalogue)) {}

  std::string_view engine() const override { return "sqlite"; }
  const std::string& location() const override { return location_; }

  Result<std::vector<std::string>> ListTables() override {
    std::lock_guard lock(mu_);
    return ListTablesLocked();
  }

  Result<TableInfo> DescribeTable(std::string_view name) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(std::vector<std::string> tables, ListTablesLocked());
    TableInfo table;
    FERRY_ASSIGN_OR_RETURN(table.name, ResolveTable(tables, name, location_));
    return DescribeLocked(std::move(table));
  }

 private:
  Result<std::vector<std::string>> ListTablesLocked() {
    FERRY_ASSIGN_OR_RETURN(
        Statement stmt,
        Prepare(
            catalogue_.get(),
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
            "ESCAPE '\\' AND name NOT LIKE 'ferry\\_%' ESCAPE '\\' ORDER BY name",
            location_));
    std::vector<std::string> names;
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW)
      names.emplace_back(ColumnText(stmt.get(), 0));
    FERRY_RETURN_IF_ERROR(CatalogueDone(rc));
    return names;
  }

  // Indexes created with CREATE INDEX or by a UNIQUE constraint (not the primary key's).
  Status DescribeIndexesLocked(TableInfo* table) {
    FERRY_ASSIGN_OR_RETURN(
        Statement list,
        Prepare(catalogue_.get(),
                fmt::format("PRAGMA index_list({})", QuoteIdentifier(table->name)), location_));
    std::vector<IndexInfo> found;
    int rc;
    while ((rc = sqlite3_step(list.get())) == SQLITE_ROW) {
      if (ColumnText(list.get(), 3) == "pk") continue;
      IndexInfo index{.name = std::string(ColumnText(list.get(), 1)),
                      .unique = sqlite3_column_int(list.get(), 2) != 0};
      if (sqlite3_column_int(list.get(), 4) != 0) {
        table->not_copied.push_back(fmt::format("partial index `{}`", index.name));
        continue;
      }
      found.push_back(std::move(index));
    }
    FERRY_RETURN_IF_ERROR(CatalogueDone(rc));
    for (IndexInfo& index : found) {
      FERRY_ASSIGN_OR_RETURN(
          Statement info,
          Prepare(catalogue_.get(),
                  fmt::format("PRAGMA index_info({})", QuoteIdentifier(index.name)), location_));
      bool expression = false;
      while ((rc = sqlite3_step(info.get())) == SQLITE_ROW) {
        if (sqlite3_column_int(info.get(), 1) < 0) expression = true;
        index.columns.emplace_back(ColumnText(info.get(), 2));
      }
      FERRY_RETURN_IF_ERROR(CatalogueDone(rc));
      if (expression) {
        table->not_copied.push_back(fmt::format("expression index `{}`", index.name));
        continue;
      }
      table->indexes.push_back(std::move(index));
    }
    std::sort(table->indexes.begin(), table->indexes.end(),
              [](const IndexInfo& a, const IndexInfo& b) { return a.name < b.name; });
    return OkStatus();
  }

  Status DescribeForeignKeysLocked(TableInfo* table) {
    FERRY_ASSIGN_OR_RETURN(Statement list, Prepare(catalogue_.get(),
                                                   fmt::format("PRAGMA foreign_key_list({})",
                                                               QuoteIdentifier(table->name)),
                                                   location_));
    std::map<int, ForeignKeyInfo> by_id;
    int rc;
    while ((rc = sqlite3_step(list.get())) == SQLITE_ROW) {
      ForeignKeyInfo& fk = by_id[sqlite3_column_int(list.get(), 0)];
      fk.ref_table = std::string(ColumnText(list.get(), 2));
      fk.columns.emplace_back(ColumnText(list.get(), 3));
      // A reference to the parent's primary key may leave its columns out.
      fk.ref_columns.emplace_back(ColumnText(list.get(), 4));
      auto action = [](std::string_view a) {
        return a == "NO ACTION" ? std::string() : std::string(a);
      };
      fk.on_update = action(ColumnText(list.get(), 5));
      fk.on_delete = action(ColumnText(list.get(), 6));
    }
    FERRY_RETURN_IF_ERROR(CatalogueDone(rc));
    for (auto& [id, fk] : by_id) {
      if (std::any_of(fk.ref_columns.begin(), fk.ref_columns.end(),
                      [](const std::string& c) { return c.empty(); })) {
        // REFERENCES parent without columns: the parent's primary key.
        FERRY_ASSIGN_OR_RETURN(Statement parent, Prepare(catalogue_.get(),
                                                         fmt::format("PRAGMA table_info({})",
                                                                     QuoteIdentifier(fk.ref_table)),
                                                         location_));
        std::vector<std::pair<int, std::string>> key;
        while ((rc = sqlite3_step(parent.get())) == SQLITE_ROW) {
          if (sqlite3_column_int(parent.get(), 5) > 0) {
            key.emplace_back(sqlite3_column_int(parent.get(), 5),
                             std::string(ColumnText(parent.get(), 1)));
          }
        }
        std::sort(key.begin(), key.end());
        fk.ref_columns.clear();
        for (auto& [position, column] : key) fk.ref_columns.push_back(column);
      }
      fk.name = fmt::format("{}_{}_fkey", table->name, fmt::join(fk.columns, "_"));
      table->foreign_keys.push_back(std::move(fk));
    }
    return OkStatus();
  }

  Result<TableInfo> DescribeLocked(TableInfo table) {
    FERRY_ASSIGN_OR_RETURN(
        Statement stmt,
        Prepare(catalogue_.get(), fmt::format("PRAGMA table_info({})", QuoteIdentifier(table.name)),
                location_));
    std::vector<std::pair<int, std::string>> key;  // (position in key, column)
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      std::string column(ColumnText(stmt.get(), 1));
      std::string declared(ColumnText(stmt.get(), 2));
      const bool not_null = sqlite3_column_int(stmt.get(), 3) != 0;
      const int pk = sqlite3_column_int(stmt.get(), 5);
      if (pk > 0) key.emplace_back(pk, column);
      table.columns.push_back(SqliteColumn(std::move(column), std::move(declared), not_null));
    }
    FERRY_RETURN_IF_ERROR(CatalogueDone(rc));
    std::sort(key.begin(), key.end());
    for (auto& [position, column] : key) table.primary_key.push_back(std::move(column));
    // INTEGER PRIMARY KEY is the rowid: SQLite numbers rows that leave it out.
    if (table.primary_key.size() == 1) {
      const int k = table.ColumnIndex(table.primary_key[0]);
      if (k >= 0 && AsciiLower(table.columns[static_cast<size_t>(k)].native_type) == "integer") {
        table.columns[static_cast<size_t>(k)].auto_increment = true;
      }
    }
    FERRY_RETURN_IF_ERROR(DescribeIndexesLocked(&table));
    FERRY_RETURN_IF_ERROR(DescribeForeignKeysLocked(&table));
    // The largest rowid is found in the b-tree's last page, whatever the table's size, and is
    // the row count unless rows were deleted: a good estimate for progress. WITHOUT ROWID
    // tables have none, and stay unknown.
    Result<Statement> estimate =
        Prepare(catalogue_.get(),
                fmt::format("SELECT MAX(rowid) FROM {}", QuoteIdentifier(table.name)), location_);
    if (estimate.has_value() && sqlite3_step(estimate->get()) == SQLITE_ROW &&
        sqlite3_column_type(estimate->get(), 0) == SQLITE_INTEGER) {
      table.estimated_rows = sqlite3_column_int64(estimate->get(), 0);
    }
    return table;
  }

 public:
  Result<std::unique_ptr<RowReader>> Scan(const ScanSpec& spec) override {
    if (spec.pages.has_value()) {
      return Err(Unimplemented("{}: table `{}`: SQLite tables are not read by page range",
                               location_, spec.table->name));
    }
    // Each reader has its own read-only connection, so readers run on their own threads.
    FERRY_ASSIGN_OR_RETURN(Handle db, OpenReadOnly(path_, location_));
    std::vector<std::string> columns;
    for (const ColumnInfo& c : spec.table->columns) columns.push_back(QuoteIdentifier(c.name));
    FERRY_ASSIGN_OR_RETURN(
        Statement stmt,
        Prepare(db.get(),
                fmt::format("SELECT {} FROM {}{}", fmt::join(columns, ", "),
                            QuoteIdentifier(spec.table->name),
                            spec.range.has_value()
                                ? KeyRangeWhere(QuoteIdentifier(spec.range->column), *spec.range)
                                : ""),
                location_));
    return std::unique_ptr<RowReader>(std::make_unique<SqliteReader>(
        std::move(db), std::move(stmt), *spec.table, spec.batch_rows, location_));
  }

  Result<std::unique_ptr<RowWriter>> OpenWriter(const TableInfo& table, LoadMode mode,
                                                const WriterOptions& options) override {
    FERRY_ASSIGN_OR_RETURN(Handle db, OpenDatabase(path_, location_, SQLITE_OPEN_READWRITE));
    // Parallel chunk loads take turns on SQLite's one write lock: wait for it.
    sqlite3_busy_timeout(db.get(), kWriterBusyTimeoutMs);
    // The load's own journal is enough: a crash rolls the transaction back on next open.
    FERRY_RETURN_IF_ERROR(
        ExecSql(db.get(), "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", location_));
    const bool begin_now = mode != LoadMode::kAppend;
    if (begin_now) FERRY_RETURN_IF_ERROR(ExecSql(db.get(), "BEGIN IMMEDIATE", location_));
    if (mode == LoadMode::kCreate) {
      FERRY_RETURN_IF_ERROR(
          ExecSql(db.get(), CreateTableSql(table, SqlFlavor::kSqlite), location_));
    } else if (mode == LoadMode::kReplace) {
      FERRY_RETURN_IF_ERROR(
          ExecSql(db.get(), fmt::format("DELETE FROM {}", QuoteIdentifier(table.name)), location_));
    }
    std::vector<std::string> columns, marks;
    for (const ColumnInfo& c : table.columns) {
      columns.push_back(QuoteIdentifier(c.name));
      marks.emplace_back("?");
    }
    FERRY_ASSIGN_OR_RETURN(
        Statement insert,
        Prepare(db.get(),
                fmt::format("INSERT INTO {} ({}) VALUES ({})", QuoteIdentifier(table.name),
                            fmt::join(columns, ", "), fmt::join(marks, ", ")),
                location_));
    return std::unique_ptr<RowWriter>(std::make_unique<SqliteWriter>(
        std::move(db), std::move(insert), table, location_, begin_now, options.marker));
  }

  Status CreateIndex(const TableInfo& table, const IndexInfo& index) override {
    FERRY_ASSIGN_OR_RETURN(Handle db, OpenDatabase(path_, location_, SQLITE_OPEN_READWRITE));
    sqlite3_busy_timeout(db.get(), kWriterBusyTimeoutMs);
    return ExecSql(db.get(), CreateIndexSql(table, index, &QuoteIdentifier), location_);
  }

  // SQLite declares foreign keys with the table (CreateTableSql does, for tables a copy
  // creates) and cannot add one to an existing table.
  Status AddForeignKey(const TableInfo& table, const ForeignKeyInfo& fk) override {
    std::lock_guard lock(mu_);
    TableInfo existing{.name = table.name};
    FERRY_RETURN_IF_ERROR(DescribeForeignKeysLocked(&existing));
    for (const ForeignKeyInfo& have : existing.foreign_keys) {
      if (have.ref_table == fk.ref_table && have.columns == fk.columns) return OkStatus();
    }
    return Unimplemented(
        "{}: table `{}`: SQLite cannot add a foreign key to an existing table; the key ({}) -> "
        "{} was not created (copy into a new table to get it)",
        location_, table.name, fmt::join(fk.columns, ", "), fk.ref_table);
  }

  // The rowid, and AUTOINCREMENT's sqlite_sequence, follow the largest key inserted.
  Status SyncAutoIncrement(const TableInfo&, std::string_view) override { return OkStatus(); }

  Status DropTable(std::string_view table) override {
    FERRY_ASSIGN_OR_RETURN(Handle db, OpenDatabase(path_, location_, SQLITE_OPEN_READWRITE));
    sqlite3_busy_timeout(db.get(), kWriterBusyTimeoutMs);
    return ExecSql(db.get(), fmt::format("DROP TABLE IF EXISTS {}", QuoteIdentifier(table)),
                   location_);
  }

  bool supports_chunks() const override { return true; }

  Result<std::optional<KeyBounds>> GetKeyBounds(const TableInfo& table,
                                                std::string_view column) override {
    std::lock_guard lock(mu_);
    FERRY_ASSIGN_OR_RETURN(
        Statement stmt, Prepare(catalogue_.get(),
                                fmt::format("SELECT MIN({0}), MAX({0}) FROM {1}",
                                            QuoteIdentifier(column), QuoteIdentifier(table.name)),
                                location_));
    if (sqlite3_step(stmt.get()) != SQLITE_ROW) {
      return Err(Unavailable("{}: table `{}`: reading the bounds of `{}` failed: {}", location_,
                             table.name, column, sqlite3_errmsg(catalogue_.get())));
    }
    if (sqlite3_column_type(stmt.get(), 0) == SQLITE_NULL) return std::optional<KeyBounds>();
    if (sqlite3_column_type(stmt.get(), 0) != SQLITE_INTEGER ||
        sqlite3_column_type(stmt.get(), 1) != SQLITE_INTEGER) {
      return Err(FailedPrecondition("{}: table `{}`: key `{}` holds values that are not integers",
                                    location_, table.name, column));
    }
    return std::optional<KeyBounds>(KeyBounds{.low = sqlite3_column_int64(stmt.get(), 0),
                                              .high = sqlite3_column_int64(stmt.get(), 1)});
  }

  Status PrepareChunkMarkers() override {
    FERRY_ASSIGN_OR_RETURN(Handle db, OpenDatabase(path_, location_, SQLITE_OPEN_READWRITE));
    sqlite3_busy_timeout(db.get(), kWriterBusyTimeoutMs);
    return ExecSql(db.get(), ChunkMarkerTableSql(), location_);
  }

  Result<std::vector<ChunkMarker>> CommittedChunks(std::string_view run_id) override {
    FERRY_ASSIGN_OR_RETURN(Handle db, OpenReadOnly(path_, location_));
    FERRY_ASSIGN_OR_RETURN(Statement stmt,
                           Prepare(db.get(), SelectChunkMarkersSql(run_id), location_));
    std::vector<ChunkMarker> markers;
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      markers.push_back({.run_id = std::string(run_id),
                         .chunk = sqlite3_column_int64(stmt.get(), 0),
                         .rows = sqlite3_column_int64(stmt.get(), 1),
                         .checksum = std::string(ColumnText(stmt.get(), 2))});
    }
    if (rc != SQLITE_DONE) {
      return Err(
          Unavailable("{}: reading chunk markers failed: {}", location_, sqlite3_errmsg(db.get())));
    }
    return markers;
  }

  Status ForgetChunks(std::string_view run_id) override {
    FERRY_ASSIGN_OR_RETURN(Handle db, OpenDatabase(path_, location_, SQLITE_OPEN_READWRITE));
    sqlite3_busy_timeout(db.get(), kWriterBusyTimeoutMs);
    FERRY_RETURN_IF_ERROR(ExecSql(db.get(), DeleteChunkMarkersSql(run_id), location_));
    // The user's database keeps no trace of ferry once no run needs its markers.
    FERRY_ASSIGN_OR_RETURN(Statement left,
                           Prepare(db.get(), "SELECT COUNT(*) FROM ferry_chunks", location_));
    const bool empty =
        sqlite3_step(left.get()) == SQLITE_ROW && sqlite3_column_int64(left.get(), 0) == 0;
    left.reset();
    return empty ? ExecSql(db.get(), "DROP TABLE ferry_chunks", location_) : OkStatus();
  }

  Result<std::string> ServerVersion() override { return std::string(sqlite3_libversion()); }

  // On the catalogue's connection, which is read-only: a smoke test cannot change the file.
  // The time limit is a progress handler that interrupts the statement past its deadline.
  Result<TextRows> Query(std::string_view sql, int64_t timeout_millis) override {
    std::lock_guard lock(mu_);
    std::chrono::steady_clock::time_point deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_millis);
    if (timeout_millis > 0) {
      sqlite3_progress_handler(
          catalogue_.get(), 1000,
          [](void* at) {
            return std::chrono::steady_clock::now() >
                           *static_cast<const std::chrono::steady_clock::time_point*>(at)
                       ? 1
                       : 0;
          },
          &deadline);
    }
    struct Unhook {
      sqlite3* db;
      ~Unhook() { sqlite3_progress_handler(db, 0, nullptr, nullptr); }
    } unhook{catalogue_.get()};
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(catalogue_.get(), sql.data(), static_cast<int>(sql.size()), &raw,
                           nullptr) != SQLITE_OK) {
      return Err(FailedPrecondition("{}: `{}` does not run: {}", location_, sql,
                                    sqlite3_errmsg(catalogue_.get())));
    }
    Statement stmt(raw, &sqlite3_finalize);
    TextRows rows;
    for (;;) {
      const int step = sqlite3_step(raw);
      if (step == SQLITE_DONE) break;
      if (step == SQLITE_INTERRUPT) {
        return Err(
            DeadlineExceeded("{}: `{}` was stopped after {} ms", location_, sql, timeout_millis));
      }
      if (step != SQLITE_ROW) {
        return Err(FailedPrecondition("{}: `{}` failed: {}", location_, sql,
                                      sqlite3_errmsg(catalogue_.get())));
      }
      std::vector<std::optional<std::string>>& row = rows.emplace_back();
      for (int c = 0; c < sqlite3_column_count(raw); ++c) {
        const unsigned char* text = sqlite3_column_text(raw, c);
        if (text == nullptr) {
          row.emplace_back();
        } else {
          row.emplace_back(std::string(reinterpret_cast<const char*>(text),
                                       static_cast<size_t>(sqlite3_column_bytes(raw, c))));
        }
      }
    }
    return rows;
  }

  // SQLite cannot share one snapshot between connections (this build lacks
  // sqlite3_snapshot_open), and a read lock held for the whole copy would stall writers and,
  // through SQLite's pending lock, the copy's own readers.
  Result<SnapshotInfo> ExportSnapshot() override {
    return SnapshotInfo{.note =
                            "SQLite: each chunk reads the latest commit; keep writers away "
                            "from the source during the copy"};
  }

 private:
  // A catalogue read that stopped before its end (a busy or damaged file) must not pass for a
  // shorter list of tables or columns.
  Status CatalogueDone(int rc) {
    if (rc == SQLITE_DONE) return OkStatus();
    return Unavailable(
        "{}: reading the catalogue failed: {}; retry, or check the file with "
        "`sqlite3 FILE 'PRAGMA integrity_check'`",
        location_, sqlite3_errmsg(catalogue_.get()));
  }

  static constexpr int kWriterBusyTimeoutMs = 600'000;

  const std::string path_;
  const std::string location_;
  std::mutex mu_;     // guards catalogue_
  Handle catalogue_;  // used for the catalogue only; scans and writers open their own
};

}  // namespace

ColumnInfo SqliteColumn(std::string name, std::string declared, bool not_null) {
  ColumnInfo column;
  column.name = std::move(name);
  column.nullable = !not_null;
  const std::string t = AsciiLower(declared);
  auto has = [&](std::string_view part) { return t.find(part) != std::string::npos; };
  if (has("bool")) {
    column.kind = TypeKind::kBool;
  } else if (has("int")) {
    column.kind = TypeKind::kInt64;
  } else if (has("uuid") || has("guid")) {
    column.kind = TypeKind::kUuid;
  } else if (has("json")) {
    column.kind = TypeKind::kJson;
  } else if (has("char") || has("clob") || has("text")) {
    column.kind = TypeKind::kText;
  } else if (has("blob") || t.empty()) {
    column.kind = TypeKind::kBytes;
  } else if (has("real") || has("floa") || has("doub")) {
    column.kind = TypeKind::kFloat64;
  } else if (has("datetime") || has("timestamp")) {
    column.kind = has("tz") || has("time zone") ? TypeKind::kTimestampTz : TypeKind::kTimestamp;
  } else if (has("date")) {
    column.kind = TypeKind::kDate;
  } else if (has("time")) {
    column.kind = TypeKind::kTime;
  } else {
    column.kind = TypeKind::kDecimal;  // NUMERIC affinity: NUMERIC, DECIMAL, MONEY, anything else
  }
  ParseTypeModifiers(declared, &column);
  column.native_type = std::move(declared);
  return column;
}

Result<std::unique_ptr<Connector>> OpenSqliteConnector(const std::string& path,
                                                       const std::string& location,
                                                       bool create_if_missing) {
  if (create_if_missing) {
    FERRY_ASSIGN_OR_RETURN(
        Handle created, OpenDatabase(path, location, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  }
  FERRY_ASSIGN_OR_RETURN(Handle catalogue, OpenReadOnly(path, location));
  // A writer that died mid-transaction (a killed copy) leaves a WAL that the next connection must
  // recover, and a read-only connection cannot: it fails with "attempt to write a readonly
  // database". One read on a read-write connection recovers it; then the catalogue reopens.
  {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v2(catalogue.get(), "SELECT COUNT(*) FROM sqlite_master", -1,
                                      &raw, nullptr);
    int step = rc == SQLITE_OK ? sqlite3_step(raw) : rc;
    sqlite3_finalize(raw);
    if ((step & 0xff) == SQLITE_READONLY) {
      catalogue.reset();
      Result<Handle> writer = OpenDatabase(path, location, SQLITE_OPEN_READWRITE);
      if (writer.has_value()) {
        sqlite3_exec(writer->get(), "SELECT COUNT(*) FROM sqlite_master", nullptr, nullptr,
                     nullptr);
      }
      FERRY_ASSIGN_OR_RETURN(catalogue, OpenReadOnly(path, location));
    }
  }
  // A file that is not a database fails at the first read, here rather than mid-verify.
  FERRY_ASSIGN_OR_RETURN(Statement probe,
                         Prepare(catalogue.get(), "SELECT COUNT(*) FROM sqlite_master", location));
  if (sqlite3_step(probe.get()) != SQLITE_ROW) {
    return Err(InvalidArgument("{}: cannot read the catalogue ({}); is it an SQLite database?",
                               location, sqlite3_errmsg(catalogue.get())));
  }
  probe.reset();
  return std::unique_ptr<Connector>(
      std::make_unique<SqliteConnector>(path, location, std::move(catalogue)));
}

}  // namespace ferry::connect_internal
