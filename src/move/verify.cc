#include "move/verify.h"

#include <algorithm>
#include <cmath>
#include <future>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

namespace ferry {
namespace {

// `v` as a value of kind `want`, or an error when there is no conversion.
Result<Value> Convert(const Value& v, TypeKind want) {
  Result<Value> converted = Err(InvalidArgument("no conversion"));
  // Bytes compare with text by their raw content, not their \x form.
  const std::string text = v.kind() == TypeKind::kBytes ? std::string(v.str()) : TextInputForm(v);
  switch (want) {
    case TypeKind::kDecimal: converted = ParseDecimal(text); break;
    case TypeKind::kInt64:
      if (v.kind() == TypeKind::kBool) {
        converted = Value::Int64(v.bool_value());
      } else if (v.kind() == TypeKind::kFloat64) {
        // An integral double in int64's range; the round-trip check in Comparable rejects the
        // doubles that are not exactly that integer.
        const double d = v.float64_value();
        if (std::trunc(d) == d && std::abs(d) < 9.2e18)
          converted = Value::Int64(static_cast<int64_t>(d));
      } else {
        converted = ParseInt64(text);
      }
      break;
    case TypeKind::kFloat64: converted = ParseFloat64(text); break;
    case TypeKind::kBool:
      converted = v.kind() == TypeKind::kInt64 && (v.int64_value() == 0 || v.int64_value() == 1)
                      ? Value::Bool(v.int64_value() == 1)
                      : ParseBool(text);
      break;
    case TypeKind::kText: converted = ParseText(text); break;
    case TypeKind::kBytes: converted = Value::Bytes(text); break;
    case TypeKind::kDate: converted = ParseDate(text); break;
    case TypeKind::kTime: converted = ParseTime(text); break;
    case TypeKind::kTimestamp:
      converted = v.kind() == TypeKind::kTimestampTz ? Value::Timestamp(v.timestamp_micros())
                                                     : ParseTimestamp(text);
      break;
    case TypeKind::kTimestampTz:
      converted = v.kind() == TypeKind::kTimestamp ? Value::TimestampTz(v.timestamp_micros())
                                                   : ParseTimestampTz(text);
      break;
    case TypeKind::kUuid: converted = ParseUuid(text); break;
    case TypeKind::kJson: converted = ParseJsonValue(text); break;
  }
  return converted;
}

// `v` as a value of kind `want` when the conversion loses nothing: converting back gives `v`
// again (so 2^53+1 is not "equal" to a double, nor '007' to 7). Otherwise `v` itself, which then
// compares unequal and is reported with both forms.
Value Comparable(const Value& v, TypeKind want) {
  if (v.is_null() || v.kind() == want) return v;
  Result<Value> converted = Convert(v, want);
  if (!converted.has_value()) return v;
  Result<Value> back = Convert(*converted, v.kind());
  return back.has_value() && *back == v ? std::move(converted).value() : v;
}

// Values in a report are shown whole up to this many characters; a longer text, blob or JSON
// shows its start, its size, and (for a changed value) where the two sides first differ.
constexpr size_t kMaxShownChars = 80;

std::string Shown(const Value& v) {
  std::string display = v.ToDisplay();
  if (display.size() <= kMaxShownChars) return display;
  size_t cut = kMaxShownChars;
  // Do not cut a UTF-8 sequence in two.
  while (cut > 0 && (static_cast<unsigned char>(display[cut]) & 0xC0) == 0x80) --cut;
  display.resize(cut);
  display += "...";
  if (!v.is_null() && !v.str().empty()) display += fmt::format(" ({} bytes)", v.str().size());
  return display;
}

// "a -> b" for a changed value, with the offset of the first differing byte when the values are
// too long to show whole.
std::string ShownChange(const Value& a, const Value& b) {
  std::string shown = fmt::format("{} -> {}", Shown(a), Shown(b));
  const bool long_values =
      a.ToDisplay().size() > kMaxShownChars || b.ToDisplay().size() > kMaxShownChars;
  if (long_values && !a.is_null() && !b.is_null() && a.kind() == b.kind() &&
      (a.kind() == TypeKind::kText || a.kind() == TypeKind::kBytes ||
       a.kind() == TypeKind::kJson)) {
    const std::string_view x = a.str(), y = b.str();
    const size_t common = std::min(x.size(), y.size());
    size_t at = 0;
    while (at < common && x[at] == y[at]) ++at;
    shown += fmt::format(" (first difference at byte {})", at);
  }
  return shown;
}

// How one side's rows are brought to the compared form: which of its columns, in which order,
// as which kinds, and which of them form the key.
struct Projection {
  std::vector<int> columns;     // indexes into the side's TableInfo::columns
  std::vector<TypeKind> kinds;  // the compared kind of each projected column
  std::vector<int> key;         // positions within the projection; empty: the whole row
  std::vector<std::string> names;

  std::string RowDisplay(const Row& projected) const {
    std::vector<std::string> parts;
    for (size_t i = 0; i < projected.size(); ++i) {
      parts.push_back(fmt::format("{}={}", names[i], Shown(projected[i])));
    }
    return fmt::format("({})", fmt::join(parts, ", "));
  }
  std::string KeyDisplay(const Row& projected) const {
    std::vector<std::string> parts;
    if (key.empty()) {
      for (size_t i = 0; i < projected.size(); ++i) {
        parts.push_back(fmt::format("{}={}", names[i], Shown(projected[i])));
      }
    } else {
      for (int k : key) parts.push_back(fmt::format("{}={}", names[k], Shown(projected[k])));
    }
    return fmt::format("{}", fmt::join(parts, ", "));
  }
};

// The hot path of both passes: a row's encoding in the compared form and its key's, without
// copying the values that are already of the compared kind (nearly all of them: a copy made by
// ferry has the same kinds on both sides). Only conversions are materialised, into slots that
// keep their capacity from row to row. One per scanning thread.
class RowEncoder {
 public:
  explicit RowEncoder(const Projection& p)
      : p_(p), view_(p.columns.size()), converted_(p.columns.size()) {}

  // Encodes `row`; encoding() and key() are valid until the next call.
  void Encode(const Row& row) {
    for (size_t i = 0; i < p_.columns.size(); ++i) {
      const Value& v = row[static_cast<size_t>(p_.columns[i])];
      if (v.is_null() || v.kind() == p_.kinds[i]) {
        view_[i] = &v;
      } else {
        converted_[i] = Comparable(v, p_.kinds[i]);
        view_[i] = &converted_[i];
      }
    }
    encoded_.clear();
    for (const Value* v : view_) AppendCanonical(*v, &encoded_);
    if (!p_.key.empty()) {
      key_.clear();
      for (int k : p_.key) AppendCanonical(*view_[static_cast<size_t>(k)], &key_);
    }
  }
  std::string_view encoding() const { return encoded_; }
  // The key's encoding; a keyless table's key is the whole row.
  std::string_view key() const { return p_.key.empty() ? encoded_ : key_; }
  // The row last encoded, in the compared form, as values of its own.
  Row Projected() const {
    Row out;
    out.reserve(view_.size());
    for (const Value* v : view_) out.push_back(*v);
    return out;
  }

 private:
  const Projection& p_;
  std::vector<const Value*> view_;
  Row converted_;
  std::string encoded_;
  std::string key_;
};

size_t BucketOf(std::string_view key_bytes, int buckets) {
  return static_cast<size_t>(RowHash(key_bytes).low % static_cast<uint64_t>(buckets));
}

using BucketScan = BucketChecksums;

// Pass 1: every row of one side, hashed into its key's bucket; by the connector itself when it
// offers to (a remote target: only the checksums cross).
Result<BucketScan> ScanBuckets(Connector& side, const TableInfo& table, const Projection& p,
                               const VerifyOptions& options) {
  const BucketProjection pushed{
      .columns = p.columns, .kinds = p.kinds, .key = p.key, .buckets = options.buckets};
  FERRY_ASSIGN_OR_RETURN(std::optional<BucketChecksums> there,
                         side.ScanBucketChecksums(table, pushed, options.batch_rows));
  if (there.has_value()) {
    if (there->buckets.size() != static_cast<size_t>(options.buckets)) {
      return Err(DataLoss("{}: table {}: {} bucket checksums where {} were asked for",
                          side.location(), table.name, there->buckets.size(), options.buckets));
    }
    return std::move(*there);
  }
  return ScanBucketChecksumsHere(side, table, pushed, options.batch_rows);
}

struct Collected {
  // key bytes -> every row with that key (more than one: a keyless table's duplicate rows, or
  // a key the engine did not enforce, such as NULLs in an SQLite primary key)
  std::unordered_map<std::string, std::vector<Row>> rows;
  size_t held = 0;
  bool incomplete = false;
};

// Pass 2: the rows of one side whose key falls in one of the differing buckets.
Result<Collected> CollectRows(Connector& side, const TableInfo& table, const Projection& p,
                              const std::unordered_set<size_t>& differing,
                              const VerifyOptions& options) {
  Collected collected;
  const BucketProjection hint{
      .columns = p.columns, .kinds = p.kinds, .key = p.key, .buckets = options.buckets};
  std::vector<size_t> only(differing.begin(), differing.end());
  std::sort(only.begin(), only.end());
  FERRY_ASSIGN_OR_RETURN(auto reader, side.Scan({.table = &table,
                                                 .batch_rows = options.batch_rows,
                                                 .bucket_projection = &hint,
                                                 .only_buckets = &only}));
  std::vector<Row> batch;
  RowEncoder encoder(p);
  for (;;) {
    FERRY_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
    if (!more) break;
    for (const Row& row : batch) {
      encoder.Encode(row);
      if (!differing.contains(BucketOf(encoder.key(), options.buckets))) continue;
      if (++collected.held > options.max_rows_in_memory) {
        collected.incomplete = true;
        return collected;
      }
      collected.rows[std::string(encoder.key())].push_back(encoder.Projected());
    }
  }
  return collected;
}

// Counts `rows` differing rows of one kind and lists the difference once.
void Record(TableReport* report, const VerifyOptions& options, RowDifference difference,
            int64_t rows) {
  switch (difference.kind) {
    case DifferenceKind::kMissing: report->missing += rows; break;
    case DifferenceKind::kExtra: report->extra += rows; break;
    case DifferenceKind::kChanged: report->changed += rows; break;
  }
  if (report->differences.size() < options.max_listed_differences) {
    report->differences.push_back(std::move(difference));
  }
}

}  // namespace

// What one table's comparison needs before any row is read: the columns compared, in which
// kinds, and the key; the notes about the schema go into `report`.
struct TableComparison {
  TableReport report;
  Projection from_source;
  Projection from_target;
};

namespace {

TableComparison Prepare(const TableInfo& source_table, const TableInfo& target_table_value) {
  TableComparison comparison;
  TableReport& report = comparison.report;
  report.table = source_table.name;
  Projection& from_source = comparison.from_source;
  Projection& from_target = comparison.from_target;
  const TableInfo* target_table = &target_table_value;
  // Columns compared: those of the source that the target has too, in source order, as the
  // target's kind.
  for (size_t s = 0; s < source_table.columns.size(); ++s) {
    const ColumnInfo& column = source_table.columns[s];
    const int t = target_table->ColumnIndex(column.name);
    if (t < 0) {
      report.missing_columns.push_back(column.name);
      report.schema_notes.push_back(
          fmt::format("column `{}` is missing in the target", column.name));
      continue;
    }
    const ColumnInfo& target_column = target_table->columns[static_cast<size_t>(t)];
    if (column.kind != target_column.kind) {
      report.schema_notes.push_back(fmt::format(
          "column `{}`: {} {} in the source, {} {} in the target; compared as {}", column.name,
          TypeKindName(column.kind), column.native_type, TypeKindName(target_column.kind),
          target_column.native_type, TypeKindName(target_column.kind)));
    }
    from_source.columns.push_back(static_cast<int>(s));
    from_target.columns.push_back(t);
    from_source.kinds.push_back(target_column.kind);
    from_target.kinds.push_back(target_column.kind);
    from_source.names.push_back(column.name);
    from_target.names.push_back(column.name);
  }
  for (const ColumnInfo& column : target_table->columns) {
    if (source_table.ColumnIndex(column.name) < 0) {
      report.schema_notes.push_back(
          fmt::format("column `{}` is in the target only (not compared)", column.name));
    }
  }
  for (const std::string& key_column : source_table.primary_key) {
    auto it = std::find(from_source.names.begin(), from_source.names.end(), key_column);
    if (it == from_source.names.end()) {  // the key is not comparable: compare whole rows
      from_source.key.clear();
      break;
    }
    from_source.key.push_back(static_cast<int>(it - from_source.names.begin()));
  }
  from_target.key = from_source.key;
  for (int k : from_source.key) report.key.push_back(from_source.names[static_cast<size_t>(k)]);
  if (report.key.empty()) {
    report.schema_notes.push_back(
        "no primary key: whole rows are compared; a changed row shows as one missing and one "
        "extra");
  }

  return comparison;
}

// Pass 2 and the report, once both sides' bucket checksums are known.
Result<TableReport> Finish(Connector& source, Connector& target, const TableInfo& source_table,
                           const TableInfo& target_table, TableComparison& comparison,
                           const BucketScan& source_scan, const BucketScan& target_scan,
                           const VerifyOptions& options) {
  TableReport& report = comparison.report;
  const Projection& from_source = comparison.from_source;
  const Projection& from_target = comparison.from_target;
  report.source_rows = source_scan.total.rows;
  report.target_rows = target_scan.total.rows;
  report.source_checksum = source_scan.total;
  report.target_checksum = target_scan.total;

  std::unordered_set<size_t> differing;
  for (size_t b = 0; b < source_scan.buckets.size(); ++b) {
    if (!(source_scan.buckets[b] == target_scan.buckets[b])) differing.insert(b);
  }
  report.differing_buckets = static_cast<int64_t>(differing.size());
  if (differing.empty()) return report;

  // Pass 2: the rows of the differing buckets, compared by key.
  auto source_rows = std::async(std::launch::async, [&] {
    return CollectRows(source, source_table, from_source, differing, options);
  });
  Result<Collected> target_rows =
      CollectRows(target, target_table, from_target, differing, options);
  Result<Collected> source_collected = source_rows.get();
  FERRY_RETURN_IF_ERROR(StatusOf(source_collected));
  FERRY_RETURN_IF_ERROR(StatusOf(target_rows));
  report.incomplete = source_collected->incomplete || target_rows->incomplete;
  if (report.incomplete) {
    // Each side stopped at different rows: comparing what they hold would invent differences.
    // The bucket counts and checksums above still say that, and roughly where, they differ.
    return report;
  }

  // Deterministic report order: by key display text.
  std::multimap<std::string, std::pair<RowDifference, int64_t>> ordered;
  auto add = [&](RowDifference d, int64_t count) {
    std::string order = d.key;
    ordered.emplace(std::move(order), std::make_pair(std::move(d), count));
  };
  const std::vector<Row> none;
  for (const auto& [key, rows] : source_collected->rows) {
    auto other = target_rows->rows.find(key);
    const std::vector<Row>& target_side = other == target_rows->rows.end() ? none : other->second;
    const std::string display = from_source.KeyDisplay(rows.front());
    if (rows.size() == 1 && target_side.size() == 1) {
      const Row& row = rows.front();
      const Row& target_row = target_side.front();
      RowDifference changed{.kind = DifferenceKind::kChanged, .key = display};
      std::vector<std::string> details;
      for (size_t c = 0; c < row.size(); ++c) {
        if (row[c] == target_row[c]) continue;
        changed.columns.push_back(from_source.names[c]);
        details.push_back(
            fmt::format("{}: {}", from_source.names[c], ShownChange(row[c], target_row[c])));
      }
      if (changed.columns.empty()) continue;  // same row; its bucket differs for other rows
      changed.detail = fmt::format("{}", fmt::join(details, "; "));
      add(std::move(changed), 1);
      continue;
    }
    if (rows.size() == 1 && target_side.empty()) {
      add(RowDifference{.kind = DifferenceKind::kMissing, .key = display}, 1);
      continue;
    }
    // Several rows share this key (a keyless table's duplicates, or a key the engine did not
    // enforce): compare them as multisets of whole rows.
    std::map<std::string, std::pair<int64_t, int64_t>> counts;  // row encoding -> (source, target)
    std::map<std::string, const Row*> sample;
    for (const Row& row : rows) {
      std::string encoded = CanonicalRow(row);
      sample.emplace(encoded, &row);
      ++counts[std::move(encoded)].first;
    }
    for (const Row& row : target_side) {
      std::string encoded = CanonicalRow(row);
      sample.emplace(encoded, &row);
      ++counts[std::move(encoded)].second;
    }
    for (const auto& [encoded, count] : counts) {
      const auto [in_source, in_target] = count;
      if (in_source == in_target) continue;
      add(RowDifference{.kind = in_source > in_target ? DifferenceKind::kMissing
                                                      : DifferenceKind::kExtra,
                        .key = display,
                        .detail = fmt::format("{}: {} in the source, {} in the target",
                                              from_source.RowDisplay(*sample[encoded]), in_source,
                                              in_target)},
          in_source > in_target ? in_source - in_target : in_target - in_source);
    }
  }
  for (const auto& [key, rows] : target_rows->rows) {
    if (source_collected->rows.contains(key)) continue;
    const std::string display = from_target.KeyDisplay(rows.front());
    add(RowDifference{.kind = DifferenceKind::kExtra,
                      .key = display,
                      .detail = rows.size() > 1 ? fmt::format("{} rows", rows.size()) : ""},
        static_cast<int64_t>(rows.size()));
  }
  for (auto& [order, entry] : ordered)
    Record(&report, options, std::move(entry.first), entry.second);
  return report;
}

Result<TableReport> VerifyTable(Connector& source, Connector& target, const std::string& name,
                                const VerifyOptions& options) {
  FERRY_ASSIGN_OR_RETURN(TableInfo source_table, source.DescribeTable(name));
  Result<TableInfo> target_table = target.DescribeTable(name);
  if (!target_table.has_value()) {
    if (target_table.error().code() != StatusCode::kNotFound) return Err(target_table.error());
    return TableReport{.table = source_table.name, .in_target = false};
  }
  TableComparison comparison = Prepare(source_table, *target_table);
  // Pass 1, both sides at once.
  auto source_scan = std::async(std::launch::async, [&] {
    return ScanBuckets(source, source_table, comparison.from_source, options);
  });
  Result<BucketScan> target_scan =
      ScanBuckets(target, *target_table, comparison.from_target, options);
  Result<BucketScan> source_result = source_scan.get();
  FERRY_RETURN_IF_ERROR(StatusOf(source_result));
  FERRY_RETURN_IF_ERROR(StatusOf(target_scan));
  return Finish(source, target, source_table, *target_table, comparison, *source_result,
                *target_scan, options);
}

}  // namespace

struct SourceDigest::State {
  TableInfo source;
  TableInfo target;
  TableComparison comparison;
  BucketScan scan;
  int buckets;
  std::optional<RowEncoder> encoder;  // refers to comparison.from_source
};

SourceDigest::SourceDigest(const TableInfo& source, const TableInfo& target,
                           const VerifyOptions& options)
    : state_(std::make_unique<State>(State{.source = source,
                                           .target = target,
                                           .comparison = Prepare(source, target),
                                           .scan = {},
                                           .buckets = options.buckets,
                                           .encoder = std::nullopt})) {
  state_->scan.buckets.resize(static_cast<size_t>(std::max(1, options.buckets)));
  state_->encoder.emplace(state_->comparison.from_source);
}

SourceDigest::~SourceDigest() = default;
SourceDigest::SourceDigest(SourceDigest&&) noexcept = default;
SourceDigest& SourceDigest::operator=(SourceDigest&&) noexcept = default;

void SourceDigest::Add(const Row& source_row) {
  State& s = *state_;
  s.encoder->Encode(source_row);
  const Hash128 hash = RowHash(s.encoder->encoding());
  s.scan.buckets[BucketOf(s.encoder->key(), std::max(1, s.buckets))].AddRowHash(hash);
  s.scan.total.AddRowHash(hash);
}

const ChunkChecksum& SourceDigest::total() const { return state_->scan.total; }

void SourceDigest::Merge(const SourceDigest& other) {
  std::vector<ChunkChecksum>& mine = state_->scan.buckets;
  const std::vector<ChunkChecksum>& theirs = other.state_->scan.buckets;
  for (size_t b = 0; b < mine.size() && b < theirs.size(); ++b) mine[b] += theirs[b];
  state_->scan.total += other.state_->scan.total;
}

Result<TableReport> VerifyCopiedTable(Connector& source, Connector& target,
                                      const SourceDigest& digest, const VerifyOptions& options) {
  const SourceDigest::State& s = *digest.state_;
  if (options.buckets != s.buckets) {
    return Err(InvalidArgument("verify: the digest has {} buckets, the options {}", s.buckets,
                               options.buckets));
  }
  TableComparison comparison = s.comparison;
  FERRY_ASSIGN_OR_RETURN(BucketScan target_scan,
                         ScanBuckets(target, s.target, comparison.from_target, options));
  return Finish(source, target, s.source, s.target, comparison, s.scan, target_scan, options);
}

struct BucketSelector::State {
  Projection projection;
  std::vector<size_t> buckets;
  int count;
  std::optional<RowEncoder> encoder;  // refers to projection
};

BucketSelector::BucketSelector(const BucketProjection& projection, std::vector<size_t> buckets)
    : s_(std::make_unique<State>(State{.projection = {.columns = projection.columns,
                                                      .kinds = projection.kinds,
                                                      .key = projection.key,
                                                      .names = {}},
                                       .buckets = std::move(buckets),
                                       .count = projection.buckets,
                                       .encoder = std::nullopt})) {
  std::sort(s_->buckets.begin(), s_->buckets.end());
  s_->encoder.emplace(s_->projection);
}

BucketSelector::~BucketSelector() = default;

bool BucketSelector::Selects(const Row& row) {
  s_->encoder->Encode(row);
  return std::binary_search(s_->buckets.begin(), s_->buckets.end(),
                            BucketOf(s_->encoder->key(), s_->count));
}

Status CheckBucketProjection(const TableInfo& table, const BucketProjection& projection) {
  if (projection.buckets < 1) {
    return InvalidArgument("verify: {} buckets; at least 1", projection.buckets);
  }
  for (int c : projection.columns) {
    if (c < 0 || static_cast<size_t>(c) >= table.columns.size()) {
      return InvalidArgument("verify: table {} has no column {}", table.name, c);
    }
  }
  for (int k : projection.key) {
    if (k < 0 || static_cast<size_t>(k) >= projection.columns.size()) {
      return InvalidArgument("verify: key position {} is outside the projection", k);
    }
  }
  if (projection.kinds.size() != projection.columns.size()) {
    return InvalidArgument("verify: {} kinds for {} columns", projection.kinds.size(),
                           projection.columns.size());
  }
  return OkStatus();
}

Result<BucketChecksums> ScanBucketChecksumsHere(Connector& side, const TableInfo& table,
                                                const BucketProjection& projection,
                                                size_t batch_rows) {
  FERRY_RETURN_IF_ERROR(CheckBucketProjection(table, projection));
  const Projection p{
      .columns = projection.columns, .kinds = projection.kinds, .key = projection.key, .names = {}};
  BucketScan scan;
  scan.buckets.resize(static_cast<size_t>(projection.buckets));
  FERRY_ASSIGN_OR_RETURN(auto reader, side.Scan({.table = &table, .batch_rows = batch_rows}));
  std::vector<Row> batch;
  RowEncoder encoder(p);
  for (;;) {
    FERRY_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
    if (!more) break;
    for (const Row& row : batch) {
      encoder.Encode(row);
      const Hash128 hash = RowHash(encoder.encoding());
      scan.buckets[BucketOf(encoder.key(), projection.buckets)].AddRowHash(hash);
      scan.total.AddRowHash(hash);
    }
  }
  return scan;
}

std::string_view DifferenceKindName(DifferenceKind kind) {
  switch (kind) {
    case DifferenceKind::kMissing: return "missing";
    case DifferenceKind::kExtra: return "extra";
    case DifferenceKind::kChanged: return "changed";
  }
  return "unknown";
}

bool TableReport::identical() const {
  return in_source && in_target && missing_columns.empty() && source_rows == target_rows &&
         source_checksum == target_checksum && missing == 0 && extra == 0 && changed == 0 &&
         !incomplete;
}

bool VerifyReport::identical() const {
  return std::all_of(tables.begin(), tables.end(),
                     [](const TableReport& t) { return t.identical(); });
}

Json VerifyReport::ToJson() const {
  Json tables_json = Json::array();
  for (const TableReport& t : tables) {
    Json differences = Json::array();
    for (const RowDifference& d : t.differences) {
      differences.push_back({{"kind", std::string(DifferenceKindName(d.kind))},
                             {"key", d.key},
                             {"columns", d.columns},
                             {"detail", d.detail}});
    }
    tables_json.push_back({{"table", t.table},
                           {"identical", t.identical()},
                           {"in_source", t.in_source},
                           {"in_target", t.in_target},
                           {"source_rows", t.source_rows},
                           {"target_rows", t.target_rows},
                           {"source_checksum", t.source_checksum.ToHex()},
                           {"target_checksum", t.target_checksum.ToHex()},
                           {"key", t.key},
                           {"schema_notes", t.schema_notes},
                           {"missing_columns", t.missing_columns},
                           {"differing_buckets", t.differing_buckets},
                           {"missing", t.missing},
                           {"extra", t.extra},
                           {"changed", t.changed},
                           {"incomplete", t.incomplete},
                           {"differences", differences}});
  }
  return {
      {"source", source}, {"target", target}, {"identical", identical()}, {"tables", tables_json}};
}

Result<VerifyReport> Verify(Connector& source, Connector& target, const VerifyOptions& options) {
  if (options.buckets < 1) {
    return Err(InvalidArgument("verify: buckets must be at least 1, got {}", options.buckets));
  }
  VerifyReport report{.source = source.location(), .target = target.location()};
  std::vector<std::string> names = options.tables;
  if (names.empty()) {
    FERRY_ASSIGN_OR_RETURN(names, source.ListTables());
    // Tables only the target has are differences too.
    FERRY_ASSIGN_OR_RETURN(std::vector<std::string> target_names, target.ListTables());
    for (const std::string& t : target_names) {
      const bool known = std::any_of(names.begin(), names.end(),
                                     [&](const std::string& s) { return SameIdentifier(s, t); });
      if (!known) report.tables.push_back(TableReport{.table = t, .in_source = false});
    }
  }
  for (const std::string& name : names) {
    FERRY_ASSIGN_OR_RETURN(TableReport table, VerifyTable(source, target, name, options));
    report.tables.push_back(std::move(table));
  }
  std::sort(report.tables.begin(), report.tables.end(),
            [](const TableReport& a, const TableReport& b) { return a.table < b.table; });
  return report;
}

}  // namespace ferry
