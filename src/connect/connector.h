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

  // Index of the column named `name` (ASCII case-insensitive), or -1.
  int ColumnIndex(std::string_view name) const;
};

using Row = std::vector<Value>;

// Whether two identifiers name the same table or column: ASCII case-insensitive, as a user
// expects when `Invoice` on one engine is `invoice` on another.
bool SameIdentifier(std::string_view a, std::string_view b);

struct ScanSpec {
  const TableInfo* table = nullptr;
  // Rows per batch handed out by RowReader::Next. Bounds the reader's memory.
  size_t batch_rows = 4096;
};

// Streams a scan's rows in batches. Rows come in no particular order.
class RowReader {
 public:
  virtual ~RowReader() = default;
  // Replaces `batch` with the next rows (at most ScanSpec::batch_rows, each with one Value per
  // column of the table, in table order). Returns false once the scan is exhausted.
  virtual Result<bool> Next(std::vector<Row>* batch) = 0;
};

struct ConnectOptions {
  // Statement timeout, lock timeout and the like are the engine's defaults for now.
};

class Connector {
 public:
  // `url`: sqlite:///abs/path.db or postgresql://user[:password]@host[:port]/db. Errors name the
  // URL with its password redacted, and the way out.
  static Result<std::unique_ptr<Connector>> Open(std::string_view url,
                                                 const ConnectOptions& options = {});

  virtual ~Connector() = default;
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  virtual std::string_view engine() const = 0;  // "sqlite", "postgresql"
  // The URL with any password replaced by ***; safe to log.
  virtual const std::string& location() const = 0;

  // User tables (no system or ferry_ tables), sorted by name.
  virtual Result<std::vector<std::string>> ListTables() = 0;
  // kNotFound, naming the tables that do exist, when there is no such table.
  virtual Result<TableInfo> DescribeTable(std::string_view name) = 0;
  virtual Result<std::unique_ptr<RowReader>> Scan(const ScanSpec& spec) = 0;

 protected:
  Connector() = default;
};

}  // namespace ferry

#endif  // FERRY_CONNECT_CONNECTOR_H_
