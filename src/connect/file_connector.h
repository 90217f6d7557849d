// Directories of CSV or JSON Lines files as databases. Private to the connect module, except
// the JSON Lines encoders at the end, which an encrypted export (cli/export_target.h) shares so
// that its entries are byte for byte what a `jsonl://` directory holds.
//
//   csv:///abs/dir    one table per `<table>.csv`
//   jsonl:///abs/dir  one table per `<table>.jsonl`
// Each is a source and a target. ListTables lists the files with the extension, sorted (so a
// table's name is its file name without the extension).
//
// Types. The files declare none. A writer also writes a sidecar `<table>.schema.json`:
//   {"table": "account", "primary_key": ["id"], "columns": [{"name": "id",
//    "native_type": "int64", "kind": "int64", "precision": -1, "scale": -1,
//    "nullable": false}, ...]}
// and when it exists DescribeTable takes the columns, kinds and key from it, so a copy through
// the files round-trips exactly. Without one (a file ferry did not write):
//   - CSV: every column of the header is kind text (native_type "TEXT"), nullable, no key.
//     Nothing is guessed from the values ("007" stays text, so no leading zero is lost).
//   - JSONL: the columns are the union of the keys of the first 1,000 lines, in first-seen
//     order; each kind is that of the first non-null value: integer -> int64, other number ->
//     decimal, bool -> bool, string -> text, object or array -> json (all null: text). No key.
//     Strings are not inspected for dates, UUIDs or numbers; a key first seen after line 1,000
//     is an error naming it (write a schema file to declare it); a column whose values mix
//     JSON types is an error at the first line that differs. Non-integer numbers are read
//     through binary64, as JSON parsers do, so inferred decimals keep about 17 digits.
//
// CSV (RFC 4180): a header row of column names, then one record per row; comma separated;
// a field is quoted with `"` when it contains a comma, a quote, CR or LF, or is empty text
// (quotes inside are doubled); records end with LF on write, LF or CRLF on read; UTF-8, a
// leading BOM is skipped. NULL and the empty string stay distinct: NULL is an empty unquoted
// field, the empty string is `""`. Values are written in TextInputForm (connector.h); bytes as
// `\x` followed by lower-case hex. A quoted field may span lines.
//
// JSON Lines: one JSON object per line, keys = column names, in column order. NULL -> null (a
// missing key reads as NULL too); bool -> true/false; int64 -> integer; decimal -> string of
// its exact digits ("1234.5"), because most JSON readers turn numbers into binary64 and would
// lose digits; float64 -> number in shortest round-trip form, NaN/Infinity/-Infinity as those
// strings; text -> string; bytes -> "\\x..." hex string; date, time, timestamps (with `Z` for
// timestamptz) and uuid -> strings in their canonical form; json -> the nested value. Not
// kept: a json column holding the JSON document `null` is written as null and reads back as
// SQL NULL. The reader parses each value by its column's kind and also accepts the other
// natural spellings (an int64 given as a string, a decimal as a number).
//
// Writers write `<table>.<ext>.tmp` (and `<table>.schema.json.tmp`) and rename them over the
// table's files on Commit, so a load that fails or is abandoned leaves the directory as it
// was. kCreate fails when the file exists; kReplace replaces it; kAppend copies the existing
// file into the temporary one, then appends (the CSV header is not repeated). Rows are
// streamed through a buffer; memory does not grow with the table. Two renames are not one
// atomic step: a crash between them leaves the new schema file beside the old data.
//
// Readers stream the file through a buffer, batch_rows rows at a time. Errors name the file,
// the line and the column, and the way out: "orders.csv line 17: 5 fields, the header has 6".
//
// Thread-safety: as Connector; each reader and writer has its own file.
#ifndef FERRY_CONNECT_FILE_CONNECTOR_H_
#define FERRY_CONNECT_FILE_CONNECTOR_H_

#include <memory>
#include <string>
#include <vector>

#include "connect/connector.h"

namespace ferry::connect_internal {

enum class FileFormat { kCsv, kJsonLines };

// One row as a JSON Lines line (see above), with its LF: the keys of `table` (precomputed once,
// so that encoding a row does not allocate beyond the output's growth).
class JsonLinesRowEncoder {
 public:
  explicit JsonLinesRowEncoder(const TableInfo& table);
  // `row`: one value per column of the table, in table order.
  void AppendRow(const Row& row, std::string* out) const;

 private:
  std::vector<std::string> keys_;  // `"name":` per column
};

// The sidecar `<table>.schema.json` text a writer writes for `table`.
std::string FileSchemaJson(const TableInfo& table);

// Opens the directory `dir` (creating it when `create_if_missing`); `location` is the URL used
// in messages.
Result<std::unique_ptr<Connector>> OpenFileConnector(FileFormat format, const std::string& dir,
                                                     const std::string& location,
                                                     bool create_if_missing);

// The kind a file engine's native type names: the TypeKind names ("int64", "decimal(12,2)",
// "timestamptz"), any case, with optional modifiers. kInvalidArgument for anything else.
Result<TypeKind> FileColumnKind(std::string_view native_type);

}  // namespace ferry::connect_internal

namespace ferry {
using connect_internal::FileSchemaJson;
using connect_internal::JsonLinesRowEncoder;
}  // namespace ferry

#endif  // FERRY_CONNECT_FILE_CONNECTOR_H_
