// Connectors: one interface over every engine ferry reads from (and, as the copy engine lands,
// writes to). A connector knows its engine's catalogue and its engine's text forms; everything
// above it sees tables, columns and canonical Values.
//
//   auto source = Connector::Open("sqlite:///data/shop.db");
//   auto table = (*source)->DescribeTable("invoice");
//   auto reader = (*source)->Scan({.table = &*table});
//   std::vector<Row> batch;
//   while (*reader->Next(&batch)) { ... }
//
// Thread-safety: a Connector may be used from several threads; each RowReader belongs to one
// thread. Readers of one connector may run at the same time (each has its own session).
#ifndef FERRY_CONNECT_CONNECTOR_H_
#define FERRY_CONNECT_CONNECTOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "connect/value.h"

namespace ferry {

struct ColumnInfo {
  std::string name;
  std::string native_type;  // as the engine declares it: "NUMERIC(10,2)", "character varying(40)"
  TypeKind kind = TypeKind::kText;  // how its values are read and compared
  int precision = -1;               // decimals and character lengths; -1 when not declared
  int scale = -1;
  bool nullable = true;
};

struct TableInfo {
  std::string name;
  std::vector<ColumnInfo> columns;
  std::vector<std::string> primary_key;  // column names in key order; empty when none
  int64_t estimated_rows = -1;           // from the catalogue; -1 when unknown

  // Index of the column named `name`: exact match first, else ASCII case-insensitive; -1 if none.
  int ColumnIndex(std::string_view name) const;
};

using Row = std::vector<Value>;

// Whether two identifiers name the same table or column: ASCII case-insensitive, as a user
// expects when `Invoice` on one engine is `invoice` on another.
bool SameIdentifier(std::string_view a, std::string_view b);

// `s` with ASCII letters in lower case (type names, identifiers; not user text).
std::string AsciiLower(std::string_view s);

// The table `wanted` names among `tables`: the exact name when there is one, otherwise the one
// name equal to it ignoring case. kNotFound lists the tables there are; kInvalidArgument when
// several differ only in case (`Invoice` and `invoice`), asking for the exact name.
Result<std::string> ResolveTable(const std::vector<std::string>& tables, std::string_view wanted,
                                 std::string_view location);

// "name" with embedded quotes doubled: an identifier in both engines' SQL.
std::string QuoteIdentifier(std::string_view name);

// CREATE TABLE for `table`: quoted names, native types, NOT NULL, the primary key. Both engines
// accept this form.
std::string CreateTableSql(const TableInfo& table);

// A value's text form as the engines' text input reads it back (COPY text, SQLite text
// affinity, CSV): numbers, ISO dates and times, timestamptz with `Z`, lower-case UUIDs,
// canonical JSON, decimals by their digits, bytes as `\x` and lower-case hex (PostgreSQL's
// bytea form). Precondition: not NULL.
std::string TextInputForm(const Value& value);

// The inverse: a non-NULL value of `kind` from its text form. Text is checked to be UTF-8.
Result<Value> ParseTextInputForm(TypeKind kind, std::string_view text);

// The rows of one chunk: those whose single integer key column lies in [low, high].
struct KeyRange {
  std::string column;
  int64_t low = 0;
  int64_t high = 0;
};

struct ScanSpec {
  const TableInfo* table = nullptr;
  // Rows per batch handed out by RowReader::Next. Bounds the reader's memory.
  size_t batch_rows = 4096;
  // Only the rows of this key range (engines with SQL only; see Connector::GetKeyBounds).
  std::optional<KeyRange> range;
  // A snapshot from Connector::ExportSnapshot: the reader sees the source as it was then.
  std::string snapshot;
};

// Streams a scan's rows in batches. Rows come in no particular order.
class RowReader {
 public:
  virtual ~RowReader() = default;
  // Replaces `batch` with the next rows (at most ScanSpec::batch_rows, each with one Value per
  // column of the table, in table order). Returns false once the scan is exhausted.
  virtual Result<bool> Next(std::vector<Row>* batch) = 0;
};

// Appends rows to one table. Rows are buffered and sent in batches; nothing is visible to other
// sessions, and nothing is kept, until Commit returns OK: a writer destroyed without Commit
// (an error, a crash) leaves the table as it was. Belongs to one thread.
class RowWriter {
 public:
  virtual ~RowWriter() = default;
  // Each row has one Value per column of the table the writer was opened on, in table order,
  // each NULL or of the column's kind.
  virtual Status Write(const std::vector<Row>& rows) = 0;
  virtual Status Commit() = 0;
};

enum class LoadMode { kCreate, kReplace, kAppend };

// Exactly-once loading of chunks. A copy commits each chunk's rows together with a marker row
// in the target's `ferry_chunks` table, in the same transaction; the marker's primary key
// (run, chunk) makes a second commit of the same chunk fail, and after a crash the markers say
// which chunks are in the target whatever the state store managed to record.
struct ChunkMarker {
  std::string run_id;
  int64_t chunk = 0;
  int64_t rows = 0;
  std::string checksum;  // of the chunk's source rows, as the copy computed it
};

struct WriterOptions {
  // Committed with the rows (Connector::supports_chunks). Read at Commit, so the caller fills
  // in the rows and checksum as the load goes; must outlive the writer.
  const ChunkMarker* marker = nullptr;
};

// The smallest and largest key of a table.
struct KeyBounds {
  int64_t low = 0;
  int64_t high = 0;
};

// A consistent view of a source shared by several readers, and where the source's change
// stream stood at that moment, so that change data capture can continue from it with no gap
// and no overlap.
struct SnapshotInfo {
  std::string id;        // for ScanSpec::snapshot; empty when readers cannot share one
  std::string position;  // "pg_lsn:0/16B3748", "binlog:mysql-bin.000003:1234", "gtid:0-1-42"
  bool shared = false;   // every reader sees exactly this snapshot
  std::string note;      // how consistency is obtained, or why it is not, for the run's record
};

struct ConnectOptions {
  // SQLite: create the database file when it does not exist (a copy's target). Otherwise a
  // missing file is an error, so a mistyped source path is reported, not created.
  bool create_if_missing = false;
};

class Connector {
 public:
  // `url`: sqlite:///abs/path.db, postgresql://user[:password]@host[:port]/db,
  // mysql://user[:password]@host[:port]/db (or mariadb://), csv:///abs/dir, jsonl:///abs/dir.
  // Errors name the URL with its password redacted, and the way out.
  static Result<std::unique_ptr<Connector>> Open(std::string_view url,
                                                 const ConnectOptions& options = {});

  virtual ~Connector() = default;
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  virtual std::string_view engine() const = 0;  // "sqlite", "postgresql", "mysql", "csv", "jsonl"
  // The URL with any password replaced by ***; safe to log.
  virtual const std::string& location() const = 0;

  // User tables (no system or ferry_ tables), sorted by name.
  virtual Result<std::vector<std::string>> ListTables() = 0;
  // kNotFound, naming the tables that do exist, when there is no such table.
  virtual Result<TableInfo> DescribeTable(std::string_view name) = 0;
  virtual Result<std::unique_ptr<RowReader>> Scan(const ScanSpec& spec) = 0;

  // Opens a writer on `table`. kCreate creates it (native types, NOT NULL, primary key) in the
  // load's own transaction, kReplace empties it in that transaction, kAppend adds to it: in
  // every mode a load that fails or is abandoned leaves the target exactly as it was.
  virtual Result<std::unique_ptr<RowWriter>> OpenWriter(const TableInfo& table, LoadMode mode,
                                                        const WriterOptions& options = {}) = 0;

  // Drops `table` if it exists: a copy that created it and then failed before any of its
  // rows were committed leaves the target as it found it.
  virtual Status DropTable(std::string_view table) = 0;

  // ---- Chunked copies. Engines with SQL (SQLite, PostgreSQL, MySQL) support all of these;
  // the file engines read and write whole tables, and answer kUnimplemented.

  // Whether OpenWriter takes a ChunkMarker and CommittedChunks answers.
  virtual bool supports_chunks() const { return false; }
  // Bounds of the integer column `column` of `table`; nullopt when the table is empty.
  virtual Result<std::optional<KeyBounds>> GetKeyBounds(const TableInfo& table,
                                                        std::string_view column);
  // Creates the `ferry_chunks` table when it does not exist (before any chunk loads: on MySQL
  // DDL would commit a load's transaction).
  virtual Status PrepareChunkMarkers();
  // The chunks of run `run_id` committed to this target, by chunk number.
  virtual Result<std::vector<ChunkMarker>> CommittedChunks(std::string_view run_id);
  // Deletes run `run_id`'s markers once the run is complete (and the table once empty).
  virtual Status ForgetChunks(std::string_view run_id);
  // Opens a view of the source for readers to share (ScanSpec::snapshot) and records the
  // source's position. It stays open until the connector is destroyed.
  virtual Result<SnapshotInfo> ExportSnapshot();

 protected:
  Connector() = default;
};

// SQL shared by the engines for chunk markers: CREATE TABLE IF NOT EXISTS ferry_chunks, the
// INSERT of one marker, the SELECT of a run's markers (chunk, rows_loaded, checksum), and the
// WHERE clause of a key range.
std::string ChunkMarkerTableSql();
std::string InsertChunkMarkerSql(const ChunkMarker& marker);
std::string SelectChunkMarkersSql(std::string_view run_id);
std::string DeleteChunkMarkersSql(std::string_view run_id);
// `quoted_column`: the key column quoted for the engine.
std::string KeyRangeWhere(std::string_view quoted_column, const KeyRange& range);

}  // namespace ferry

#endif  // FERRY_CONNECT_CONNECTOR_H_
