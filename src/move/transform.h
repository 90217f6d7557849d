// Declarative row transforms: what happens to each row between a source and a target, declared
// in a YAML spec (`ferry copy --spec migration.yaml`, `ferry verify --spec migration.yaml`):
// rename tables and columns, drop columns, filter rows, cast, replace NULLs, constants, value
// maps, SHA-256 and keyed HMAC-SHA-256 hashing, masking, parsing dates and times from text, and
// time-zone conversion. The format, every key, and how to reproduce a hash in SQL are in
// docs/transforms.md.
//
//   FERRY_ASSIGN_OR_RETURN(TransformSpec spec, TransformSpec::LoadFile("migration.yaml"));
//   FERRY_RETURN_IF_ERROR(spec.CheckTables(*source->ListTables()));
//   FERRY_ASSIGN_OR_RETURN(TableTransform t, spec.ForTable(table, source->engine()));
//   // t.output() is the table as the target receives it: map and create it, not `table`.
//   FERRY_ASSIGN_OR_RETURN(auto rejects, RejectSink::Open("rejects.jsonl", max_rejects));
//   auto rows = TransformRows(std::move(reader), std::make_shared<TableTransform>(t),
//                             rejects.get());
//
// Three stages, so that every mistake in a spec is found before a row moves and nothing is
// decided per row: Parse reads the YAML, checks every key, parses every filter expression and
// loads the HMAC keys; ForTable binds the spec to one source table (columns exist, kinds fit,
// output names are unique) and compiles it; Apply runs the compiled form on each row.
//
// A row a transform cannot handle (text that does not parse as a date, a decimal cast to an
// integer that has a fraction, a value missing from a map) is rejected, not guessed at: Apply
// returns an error naming the column, the value and the reason, and the caller sends the row to
// a RejectSink, which bounds how many may be rejected.
//
// Thread-safety: TransformSpec and TableTransform are immutable after construction, cheap to
// copy (they share their state), and may be used from any number of threads at once. RejectSink
// is thread-safe. A RowReader returned by TransformRows belongs to one thread, like any reader.
#ifndef FERRY_MOVE_TRANSFORM_H_
#define FERRY_MOVE_TRANSFORM_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/status.h"
#include "connect/connector.h"

namespace ferry {

class TableTransform;

// A parsed transform spec. Every error is InvalidArgument in base/config.h's form,
// "<file>:<line>:<column>: key `tables.customers.columns.ssn`: <what>", and suggests the
// closest name for a misspelt key, transform, table or column.
class TransformSpec {
 public:
  // Reads `path` through `env` (nullptr: Env::Default()). HMAC keys are read here, from the
  // environment variables or files the spec names, through the same `env`; a missing key fails
  // the load, before anything is copied.
  [[nodiscard]] static Result<TransformSpec> LoadFile(const std::string& path, Env* env = nullptr);
  // Parses a spec held in memory; `source_name` names it in errors.
  [[nodiscard]] static Result<TransformSpec> Parse(std::string_view yaml,
                                                   std::string_view source_name,
                                                   Env* env = nullptr);

  // Fails when the spec names tables that `source_tables` lack (naming them all, with the
  // closest existing name), or when renames would give two tables the same target name. Call it
  // with the source's tables before copying. Names match as ResolveTable matches them: exactly,
  // else ignoring ASCII case.
  [[nodiscard]] Status CheckTables(const std::vector<std::string>& source_tables) const;

  // The compiled transform of one source table, as `source_engine` ("sqlite", "postgresql",
  // "mysql", "csv", "jsonl") describes it; the identity when the spec does not mention the
  // table. The engine chooses the native types of the columns whose kind a transform changes
  // (a hash is `varchar(64)` on PostgreSQL, `VARCHAR(64)` on MySQL, `TEXT` on SQLite), so that
  // MapTable(output, source_engine, target_engine) maps them as it maps any source column.
  // Errors: a column the table lacks, a cast between kinds that cannot convert, a step on a
  // column of the wrong kind (date_format on a date), two output columns with one name, a
  // dropped primary-key column without a `primary_key:` for the target, a filter naming a
  // missing column or comparing kinds that do not compare.
  [[nodiscard]] Result<TableTransform> ForTable(const TableInfo& source,
                                                std::string_view source_engine) const;

  // The name a source table has on the target: its `rename`, or its own name.
  std::string TargetTableName(std::string_view source_table) const;
  // The tables the spec names, as written, in document order.
  std::vector<std::string> tables() const;
  // The file name (or `source_name`) errors name.
  std::string_view source_name() const;

 private:
  struct Rep;
  explicit TransformSpec(std::shared_ptr<const Rep> rep) : rep_(std::move(rep)) {}
  std::shared_ptr<const Rep> rep_;
};

// One source table's compiled transform.
class TableTransform {
 public:
  // The transform that changes nothing: output() is `source`, Apply copies rows.
  static TableTransform Identity(const TableInfo& source);

  // No rename, filter, column step or added column: rows and table arrive as they are read.
  bool identity() const;
  // The table as read from the source.
  const TableInfo& source() const;
  // The table as the target receives it: its name, columns (name, kind, native type, precision
  // and scale, nullability) in source order without the dropped ones, then the added ones, and
  // the primary key with its columns renamed. Untouched columns keep the source's native type.
  const TableInfo& output() const;

  // Transforms one source row (one Value per source column, in source order). Returns true with
  // `*out` holding one Value per output column; false when the filter drops the row (`*out` is
  // then unspecified); or an InvalidArgument naming the column, the value (shortened, and left
  // out for columns the spec hides) and the reason when the row must be rejected. Then
  // `*rejected_column`, when given, receives the source column's name (or the added column's).
  // Any other error is not the row's fault (a reader that gave a row of the wrong width or a
  // value of the wrong kind, a failure inside OpenSSL) and must not be treated as a reject.
  // Reuses the Values in `*out`, so a caller passing the same row each time allocates only for
  // the values a step produces (a hash, a masked string).
  [[nodiscard]] Result<bool> Apply(const Row& in, Row* out,
                                   std::string* rejected_column = nullptr) const;
  // As Apply, but moves the values that pass unchanged out of `*in` instead of copying them.
  // `*in` is left intact when the row is rejected or filtered out (a RejectSink needs it).
  [[nodiscard]] Result<bool> ApplyConsuming(Row* in, Row* out,
                                            std::string* rejected_column = nullptr) const;

  // Whether the values of source column `index` must not be written anywhere in clear (a reject
  // file, an error message): true when no output column receives them unchanged by a hash,
  // mask, constant or drop.
  bool hidden(size_t index) const;
  // The primary key of a source row for messages: "id=5", "a=1, b='x'"; hidden columns show
  // as `[hidden]`. Empty for a table without a key.
  std::string KeyDisplay(const Row& source_row) const;

  struct Rep;

 private:
  explicit TableTransform(std::shared_ptr<const Rep> rep) : rep_(std::move(rep)) {}
  friend class TransformSpec;
  std::shared_ptr<const Rep> rep_;
};

// Where rejected rows go: a JSON Lines file, one object per rejected row, written as the row is
// rejected (so that a copy stopped by the bound still shows the row that stopped it):
//   {"table":"customers","key":"id=5","column":"opened","reason":"...","row":{"id":"5",
//    "opened":"31/02/2023","notes":null},"hidden":["ssn"]}
// `row` holds the source row, each value in its text input form (connector.h TextInputForm) or
// null, except the hidden columns (TableTransform::hidden), which are left out and listed in
// `hidden`: a reject file must not hold what the spec keeps from the target.
// Thread-safe: several tables' readers may share one sink.
class RejectSink {
 public:
  // Creates `path`, or empties it if it is a regular file (an empty file after a run means no
  // row was rejected); anything else that exists there (/dev/null, a FIFO) is appended to and
  // never replaced. An empty `path` writes nowhere: rows are only counted and bounded (verify's
  // use). `max_rejects`: how many rows may be rejected before Reject fails; -1 for no bound, 0
  // when the first rejected row must stop the copy. `env` nullptr: Env::Default().
  [[nodiscard]] static Result<std::unique_ptr<RejectSink>> Open(const std::string& path,
                                                                int64_t max_rejects,
                                                                Env* env = nullptr);

  // Appends one line for `row` (a source row of `transform`'s table), rejected by `column`
  // because of `why`. Returns FailedPrecondition once more than `max_rejects` rows have been
  // rejected (the line is written first), or the I/O error when the line cannot be written.
  [[nodiscard]] Status Reject(const TableTransform& transform, const Row& row,
                              std::string_view column, const Status& why);
  // Rows rejected so far.
  int64_t count() const;
  const std::string& path() const { return path_; }

 private:
  RejectSink(std::string path, int64_t max_rejects, Env* env)
      : path_(std::move(path)), max_rejects_(max_rejects), env_(env) {}

  const std::string path_;
  const int64_t max_rejects_;
  Env* const env_;
  mutable std::mutex mu_;
  int64_t count_ = 0;  // GUARDED_BY(mu_)
};

// A reader of `transform`'s output table over a reader of its source table: each batch is
// transformed, filtered rows are dropped, rejected rows go to `rejects` (not owned; it must
// outlive the reader), and when `rejects` is null the first rejected row fails Next with its
// reason, the table and the row's key. Batches are never empty until the end (a batch whose
// rows are all filtered out is skipped). Verification reads a source through it to compare
// "the source as transformed" with the target. For an identity transform `in` is returned.
std::unique_ptr<RowReader> TransformRows(std::unique_ptr<RowReader> in,
                                         std::shared_ptr<const TableTransform> transform,
                                         RejectSink* rejects);

}  // namespace ferry

#endif  // FERRY_MOVE_TRANSFORM_H_
