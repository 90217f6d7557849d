#include "move/copy.h"

#include <chrono>

#include <fmt/format.h>

#include "base/log.h"
#include "base/metrics.h"

namespace ferry {
namespace {

// Whether `table` on `side` holds at least one row.
Result<bool> HasRows(Connector& side, const TableInfo& table) {
  FERRY_ASSIGN_OR_RETURN(auto reader, side.Scan({.table = &table, .batch_rows = 1}));
  std::vector<Row> batch;
  return reader->Next(&batch);
}

struct Plan {
  TableInfo source;
  TableMapping mapping;
  std::optional<TableInfo> existing;  // the target table, when it exists
};

Status CopyTable(Connector& source, Connector& target, Plan& plan, const CopyOptions& options,
                 TableCopy* out, std::optional<SourceDigest>* digest, Throttle* throttle) {
  const auto start = std::chrono::steady_clock::now();
  // A new table is created in the load's transaction: a failed load leaves no empty table.
  const TableInfo* destination = plan.existing.has_value() ? &*plan.existing : &plan.mapping.target;
  const LoadMode mode = !plan.existing.has_value()                 ? LoadMode::kCreate
                        : options.if_exists == IfExists::kTruncate ? LoadMode::kReplace
                                                                   : LoadMode::kAppend;
  // Source columns in the order of the target table (matched by name).
  std::vector<int> order;
  for (const ColumnInfo& c : destination->columns) {
    const int s = plan.source.ColumnIndex(c.name);
    if (s < 0) {
      if (!c.nullable) {
        return FailedPrecondition(
            "table `{}`: the target column `{}` is NOT NULL and the source has no such column; "
            "add it to the source, drop the constraint, or copy into a new table",
            plan.source.name, c.name);
      }
      order.push_back(-1);
    } else {
      order.push_back(s);
    }
  }
  FERRY_ASSIGN_OR_RETURN(auto writer, target.OpenWriter(*destination, mode));
  // The verification's source checksums are taken from the rows as they stream past.
  if (options.verify) digest->emplace(plan.source, *destination, VerifyOptions{});
  FERRY_ASSIGN_OR_RETURN(auto reader,
                         source.Scan({.table = &plan.source, .batch_rows = options.batch_rows}));
  Counter& rows_copied = MetricsRegistry::Default().GetCounter(
      "ferry_rows_copied_total", "Rows written to copy targets (committed or not).",
      {{"table", plan.source.name}});
  std::vector<Row> batch, projected;
  for (;;) {
    FERRY_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
    if (!more) break;
    projected.clear();
    for (Row& row : batch) {
      if (digest->has_value()) (*digest)->Add(row);
      Row out_row;
      out_row.reserve(order.size());
      for (int s : order) out_row.push_back(s < 0 ? Value::Null() : std::move(row[s]));
      projected.push_back(std::move(out_row));
    }
    FERRY_RETURN_IF_ERROR(writer->Write(projected));
    if (throttle != nullptr) {
      int64_t bytes = 0;
      if (options.max_rate.limits_bytes()) {
        for (const Row& r : projected) bytes += static_cast<int64_t>(CanonicalRow(r).size());
      }
      throttle->Consume(static_cast<int64_t>(projected.size()), bytes);
    }
    out->rows += static_cast<int64_t>(projected.size());
    rows_copied.Increment(static_cast<double>(projected.size()));
    if (options.on_progress) {
      options.on_progress(plan.source.name, out->rows, plan.source.estimated_rows);
    }
  }
  FERRY_RETURN_IF_ERROR(writer->Commit());
  out->created = mode == LoadMode::kCreate;
  out->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  LogInfo("copied table", {{"table", plan.source.name},
                           {"rows", out->rows},
                           {"seconds", out->seconds},
                           {"rows_per_second", out->seconds > 0 ? out->rows / out->seconds : 0.0}});
  return OkStatus();
}

}  // namespace

Result<IfExists> ParseIfExists(std::string_view text) {
  if (text == "fail") return IfExists::kFail;
  if (text == "truncate") return IfExists::kTruncate;
  if (text == "append") return IfExists::kAppend;
  return Err(InvalidArgument("--if-exists {}: expected fail, truncate or append", text));
}

Result<CopyReport> Copy(Connector& source, Connector& target, const CopyOptions& options) {
  std::vector<std::string> names = options.tables;
  if (names.empty()) {
    FERRY_ASSIGN_OR_RETURN(names, source.ListTables());
  }
  // Plan everything before moving anything: a refusal or a bad --cast stops the copy while the
  // target is untouched.
  std::vector<Plan> plans;
  for (const std::string& name : names) {
    Plan plan;
    FERRY_ASSIGN_OR_RETURN(plan.source, source.DescribeTable(name));
    FERRY_ASSIGN_OR_RETURN(plan.mapping,
                           MapTable(plan.source, source.engine(), target.engine(), options.casts));
    Result<TableInfo> existing = target.DescribeTable(plan.source.name);
    if (existing.has_value()) {
      if (options.if_exists == IfExists::kFail) {
        FERRY_ASSIGN_OR_RETURN(bool has_rows, HasRows(target, *existing));
        if (has_rows) {
          return Err(AlreadyExists(
              "{}: table `{}` already holds rows; nothing was copied; choose --if-exists "
              "truncate (replace them) or --if-exists append (add to them)",
              target.location(), existing->name));
        }
      }
      plan.existing = std::move(existing).value();
    } else if (existing.error().code() != StatusCode::kNotFound) {
      return Err(existing.error());
    }
    for (const ColumnMapping& c : plan.mapping.columns) {
      for (const std::string& risk : c.risks) {
        LogWarn("type mapping may lose information", {{"table", plan.source.name},
                                                      {"column", c.name},
                                                      {"from", c.source_type},
                                                      {"to", c.target_type},
                                                      {"risk", risk}});
      }
    }
    plans.push_back(std::move(plan));
  }

  CopyReport report;
  std::vector<SourceDigest> digests;
  std::optional<Throttle> throttle;
  if (!options.max_rate.unlimited()) {
    throttle.emplace(options.max_rate, options.env != nullptr ? options.env : Env::Default());
  }
  for (Plan& plan : plans) {
    TableCopy copied{.table = plan.source.name, .mapping = plan.mapping};
    std::optional<SourceDigest> digest;
    Status status = CopyTable(source, target, plan, options, &copied, &digest,
                              throttle.has_value() ? &*throttle : nullptr);
    if (!status.ok()) {
      return Err(status.WithContext(
          fmt::format("copying table `{}` ({} of {}; the tables before it are committed)",
                      plan.source.name, report.tables.size() + 1, plans.size())));
    }
    report.tables.push_back(std::move(copied));
  }
  if (options.verify) {
    std::vector<std::string> copied_tables;
    for (const TableCopy& t : report.tables) copied_tables.push_back(t.table);
    FERRY_ASSIGN_OR_RETURN(report.verification, Verify(source, target, {.tables = copied_tables}));
  }
  return report;
}

}  // namespace ferry
