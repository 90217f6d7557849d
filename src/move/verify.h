// Verification: proves that a target holds the same rows as a source, across engines, and when
// it does not, names every missing, extra and changed row by key.
//
// How (docs/verify.md): both sides are scanned at once. Every row is brought to a comparable
// form (the target column's kind when the two engines declare different kinds: an SQLite
// INTEGER against a PostgreSQL numeric compares as decimal), encoded canonically
// (connect/canonical.h) and hashed; its key picks one of `buckets` buckets, and each bucket
// keeps a checksum (row count, sum of row hashes). Equal bucket checksums on both sides mean
// equal rows, whatever order the engines returned them in. Only the buckets that differ are
// read again, and their rows are compared in memory by key, so finding 10 differences among 10
// million rows costs two scans, not a sort or a join.
//
// Works on any source and target, copied by ferry or not.
#ifndef FERRY_MOVE_VERIFY_H_
#define FERRY_MOVE_VERIFY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "connect/canonical.h"
#include "connect/connector.h"

namespace ferry {

struct VerifyOptions {
  // Tables to compare (names as in the source); empty: every table of the source.
  std::vector<std::string> tables;
  // Buckets per table. More buckets localise differences finer (less to read again) at 24
  // bytes each per side.
  int buckets = 4096;
  // Differences listed per table; the rest are counted.
  size_t max_listed_differences = 100;
  // Rows of differing buckets held in memory for the row-by-row comparison, per side. When a
  // table differs in more rows than this, the report lists what fit and says it stopped.
  size_t max_rows_in_memory = 2'000'000;
  size_t batch_rows = 4096;
};

enum class DifferenceKind { kMissing, kExtra, kChanged };
std::string_view DifferenceKindName(DifferenceKind kind);  // "missing", "extra", "changed"

struct RowDifference {
  DifferenceKind kind;
  std::string key;                   // "InvoiceId=5", or the whole row for tables without a key
  std::vector<std::string> columns;  // changed: the columns that differ
  std::string detail;                // changed: "Total: 1.98 -> 2.00; ..."; keyless: counts
};

struct TableReport {
  std::string table;
  bool in_source = true;
  bool in_target = true;
  int64_t source_rows = 0;
  int64_t target_rows = 0;
  ChunkChecksum source_checksum;
  ChunkChecksum target_checksum;
  std::vector<std::string> key;           // the key used; empty: whole rows compared
  std::vector<std::string> schema_notes;  // columns missing on one side, compared kinds
  // Source columns the target lacks: their data did not arrive, so the table is not identical.
  std::vector<std::string> missing_columns;
  int64_t differing_buckets = 0;
  int64_t missing = 0, extra = 0, changed = 0;  // counted
  std::vector<RowDifference> differences;       // listed (at most max_listed_differences)
  // More rows differ than max_rows_in_memory: no row is listed or counted (each side stopped at
  // different rows, so a comparison would invent differences); the checksums say they differ.
  bool incomplete = false;

  bool identical() const;
};

struct VerifyReport {
  std::string source;  // locations, passwords redacted
  std::string target;
  std::vector<TableReport> tables;
  bool identical() const;
  Json ToJson() const;
};

// The bucket checksums of a table's source rows, computed while a copy streams them, so that
// verifying the copy scans only the target (and reads the source again only for the buckets
// that differ). It also makes the verification about the rows the copy read, which on a live
// source is the question to ask. Not thread-safe: one per table, fed by the copying thread.
class SourceDigest {
 public:
  // `source` and `target` describe the tables as the copy reads and writes them.
  SourceDigest(const TableInfo& source, const TableInfo& target, const VerifyOptions& options);
  ~SourceDigest();
  SourceDigest(SourceDigest&&) noexcept;
  SourceDigest& operator=(SourceDigest&&) noexcept;

  // A row as read from the source: one value per column of the source table.
  void Add(const Row& source_row);
  // Adds the rows `other` saw (a digest of the same tables and bucket count): chunks of one
  // table digested on several threads make one digest.
  void Merge(const SourceDigest& other);
  // The checksum of every row added (in the compared form).
  const ChunkChecksum& total() const;

  struct State;

 private:
  friend Result<TableReport> VerifyCopiedTable(Connector&, Connector&, const SourceDigest&,
                                               const VerifyOptions&);
  std::unique_ptr<State> state_;
};

// Verifies the table `digest` describes: scans the target, compares with the digest's
// checksums, and reads the source again only for differing buckets.
Result<TableReport> VerifyCopiedTable(Connector& source, Connector& target,
                                      const SourceDigest& digest, const VerifyOptions& options);

// Whether `projection` fits `table`: its columns exist, a kind for each, its key positions within
// it, at least one bucket. InvalidArgument naming what does not.
[[nodiscard]] Status CheckBucketProjection(const TableInfo& table,
                                           const BucketProjection& projection);

// A verification's first pass on one side, scanning `side` from here (what
// Connector::ScanBucketChecksums describes; the relay node of `ferry copy --via` answers it with
// this).
Result<BucketChecksums> ScanBucketChecksumsHere(Connector& side, const TableInfo& table,
                                                const BucketProjection& projection,
                                                size_t batch_rows);

// Whether a row's key falls in one of `buckets` under `projection` (a verification's second
// pass, done where the rows are: ScanSpec::only_buckets). Precondition: CheckBucketProjection
// passes for the rows' table. Not thread-safe.
class BucketSelector {
 public:
  BucketSelector(const BucketProjection& projection, std::vector<size_t> buckets);
  ~BucketSelector();
  bool Selects(const Row& row);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Compares `tables` of `source` and `target`. Differences are results, not errors; errors are
// for what prevents the comparison (a table that cannot be read, a value that cannot be
// converted), and name the table and column.
Result<VerifyReport> Verify(Connector& source, Connector& target, const VerifyOptions& options);

}  // namespace ferry

#endif  // FERRY_MOVE_VERIFY_H_
