#include "move/copy.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <limits>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "base/hash.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/thread_pool.h"

namespace ferry {
namespace {

// Key arithmetic without overflow: a key range may span the whole of int64.
__extension__ typedef __int128 Int128;

constexpr std::string_view kRunKind = "copy";
constexpr int kChunkAttempts = 6;
// Chunks per table at most, whatever --chunk-rows says: keeps the queue and the plan small.
constexpr int64_t kMaxChunksPerTable = 100'000;

// Whether `table` on `side` holds at least one row.
Result<bool> HasRows(Connector& side, const TableInfo& table) {
  FERRY_ASSIGN_OR_RETURN(auto reader, side.Scan({.table = &table, .batch_rows = 1}));
  std::vector<Row> batch;
  return reader->Next(&batch);
}

struct TablePlan {
  TableInfo source;
  TableMapping mapping;
  TableInfo destination;   // the target table as it is (after creation)
  std::vector<int> order;  // per destination column, its source column, or -1
  bool created = false;
  LoadMode whole_mode = LoadMode::kAppend;  // how a whole-table chunk loads (file targets)

  // Progress and results, guarded by CopyRun::mu_.
  int64_t rows = 0;
  int64_t bytes = 0;  // of the rows' canonical encoding (CanonicalRowSize)
  int64_t chunks = 0;
  int64_t chunks_done = 0;
  int64_t chunks_done_here = 0;  // by this process, whose digests are in `digest`
  int indexes = 0;
  int foreign_keys = 0;
  std::vector<std::string> not_copied;
  std::optional<SourceDigest> digest;
  std::chrono::steady_clock::time_point first_start{}, last_end{};
};

struct ChunkSpec {
  size_t table = 0;
  int64_t chunk = 0;
  std::optional<KeyRange> range;   // a key range, or
  std::optional<PageRange> pages;  // a page range; neither: the whole table
};

Json ChunkPayload(const TablePlan& plan, const ChunkSpec& c) {
  Json j = {{"table", plan.source.name}, {"t", c.table}, {"chunk", c.chunk}};
  if (c.range.has_value()) {
    j["key"] = c.range->column;
    j["low"] = c.range->low;
    j["high"] = c.range->high;
  }
  if (c.pages.has_value()) {
    j["first_page"] = c.pages->first;
    j["end_page"] = c.pages->end;
  }
  return j;
}

Result<ChunkSpec> ParseChunkPayload(std::string_view payload, size_t tables) {
  Result<Json> parsed = ParseJson(payload, "chunk task");
  if (!parsed.has_value() || !parsed->is_object() || !parsed->contains("t") ||
      !parsed->contains("chunk")) {
    return Err(DataLoss("copy: a chunk task's payload is not one ferry writes: {}", payload));
  }
  ChunkSpec c;
  c.table = (*parsed)["t"].get<size_t>();
  c.chunk = (*parsed)["chunk"].get<int64_t>();
  if (c.table >= tables) {
    return Err(DataLoss("copy: chunk {} names table {} of a plan of {}", c.chunk, c.table, tables));
  }
  if (parsed->contains("key")) {
    c.range = KeyRange{.column = (*parsed)["key"].get<std::string>(),
                       .low = (*parsed)["low"].get<int64_t>(),
                       .high = (*parsed)["high"].get<int64_t>()};
  }
  if (parsed->contains("first_page")) {
    c.pages = PageRange{.first = (*parsed)["first_page"].get<int64_t>(),
                        .end = (*parsed)["end_page"].get<int64_t>()};
  }
  return c;
}

// Splits [low, high] into `n` ranges of near-equal width; the first starts at INT64_MIN and the
// last ends at INT64_MAX, so every key the snapshot holds falls in exactly one chunk.
std::vector<std::pair<int64_t, int64_t>> SplitRange(int64_t low, int64_t high, int64_t n) {
  const Int128 width = static_cast<Int128>(high) - low + 1;
  n = std::max<int64_t>(
      1, std::min<int64_t>(n, static_cast<int64_t>(std::min<Int128>(width, kMaxChunksPerTable))));
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (int64_t i = 0; i < n; ++i) {
    const Int128 begin = low + width * i / n;
    const Int128 end = low + width * (i + 1) / n - 1;
    ranges.emplace_back(
        i == 0 ? std::numeric_limits<int64_t>::min() : static_cast<int64_t>(begin),
        i == n - 1 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(end));
  }
  return ranges;
}

// What makes two invocations the same command: a run is resumed only by the same one.
std::string Fingerprint(const Connector& source, const Connector& target,
                        const CopyOptions& options) {
  Json casts = Json::object();
  for (const auto& [column, type] : options.casts) casts[column] = type;
  const Json j = {{"from", source.location()},
                  {"to", target.location()},
                  {"tables", options.tables},
                  {"if_exists", static_cast<int>(options.if_exists)},
                  {"casts", casts},
                  {"extra", options.fingerprint_extra}};
  return Sha256Hex(CanonicalJson(j));
}

std::string NewRunId() {
  std::string id = NewId("");
  return "copy-" + AsciiLower(id);
}

// Errors worth another attempt: the connection dropped, the server was busy or out of
// connections, a transaction conflicted.
bool Transient(const Status& status) {
  return status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kAborted ||
         status.code() == StatusCode::kDeadlineExceeded ||
         status.code() == StatusCode::kResourceExhausted;
}

class CopyRun {
 public:
  CopyRun(Connector& source, Connector& target, const CopyOptions& options)
      : source_(source),
        target_(target),
        options_(options),
        store_(*options.store),
        env_(options.env != nullptr ? options.env : Env::Default()) {}

  Result<CopyReport> Run() {
    FERRY_RETURN_IF_ERROR(FindOrCreateRun());
    if (options_.on_run) options_.on_run(report_.run_id, report_.resumed);
    FERRY_RETURN_IF_ERROR(Plan());
    FERRY_RETURN_IF_ERROR(Load());
    FERRY_RETURN_IF_ERROR(BuildAfterLoad());
    return Finish();
  }

 private:
  std::string queue() const { return "copy:" + report_.run_id; }

  Status FindOrCreateRun() {
    const std::string fingerprint = Fingerprint(source_, target_, options_);
    if (!options_.resume.empty()) {
      FERRY_ASSIGN_OR_RETURN(run_, store_.GetRun(options_.resume));
      if (run_.kind != kRunKind) {
        return InvalidArgument("--resume {}: that run is a {}, not a copy", run_.id, run_.kind);
      }
      if (run_.fingerprint != fingerprint) {
        return InvalidArgument(
            "--resume {}: that run was started with other arguments ({}); run it again with "
            "the --from, --to, --tables, --if-exists and --cast it was started with",
            run_.id, run_.spec);
      }
      if (run_.state == "succeeded") {
        return FailedPrecondition(
            "--resume {}: that run completed already; nothing to resume (drop --resume to "
            "copy again)",
            run_.id);
      }
      report_.resumed = true;
    } else {
      FERRY_ASSIGN_OR_RETURN(std::vector<RunRecord> runs, store_.FindRuns(kRunKind, fingerprint));
      for (RunRecord& r : runs) {
        // A run that finished (with or without differences), or whose rows a migration run's
        // rollback removed from the target (workflow/executors.cc), is not continued: a new
        // one starts.
        if (r.state != "succeeded" && r.state != "differences" && r.state != "rolled-back") {
          run_ = std::move(r);
          report_.resumed = true;
          break;
        }
      }
    }
    if (report_.resumed) {
      report_.run_id = run_.id;
      LogInfo("resuming copy run", {{"run", run_.id}, {"state", run_.state}});
      if (!run_.result.empty()) {
        Result<Json> result = ParseJson(run_.result, "run record");
        if (result.has_value() && result->is_object()) saved_ = *result;
      }
      return OkStatus();
    }
    Json tables = options_.tables;
    run_ = RunRecord{
        .id = NewRunId(),
        .kind = std::string(kRunKind),
        .state = "planning",
        .fingerprint = fingerprint,
        .spec = CanonicalJson(
            Json{{"from", source_.location()}, {"to", target_.location()}, {"tables", tables}})};
    FERRY_RETURN_IF_ERROR(store_.CreateRun(run_));
    FERRY_RETURN_IF_ERROR(RunEvent("copy.started", Json::parse(run_.spec)));
    report_.run_id = run_.id;
    LogInfo("copy run started", {{"run", run_.id}});
    return OkStatus();
  }

  // Describes and maps every table. For a new run (or one that crashed while planning) also
  // prepares the target and enqueues the chunks; a resumed run finds both done.
  Status Plan() {
    const bool planned = run_.state != "planning";
    std::vector<std::string> names = options_.tables;
    if (planned && saved_.contains("tables")) {
      names.clear();
      for (const Json& t : saved_["tables"]) names.push_back(t["name"].get<std::string>());
    } else if (names.empty()) {
      FERRY_ASSIGN_OR_RETURN(names, source_.ListTables());
    }
    for (const std::string& name : names) {
      TablePlan plan;
      FERRY_ASSIGN_OR_RETURN(plan.source, source_.DescribeTable(name));
      FERRY_ASSIGN_OR_RETURN(
          plan.mapping, MapTable(plan.source, source_.engine(), target_.engine(), options_.casts));
      if (!planned) {
        Result<TableInfo> existing = target_.DescribeTable(plan.source.name);
        if (existing.has_value()) {
          if (options_.if_exists == IfExists::kFail) {
            FERRY_ASSIGN_OR_RETURN(bool has_rows, HasRows(target_, *existing));
            if (has_rows) {
              return AlreadyExists(
                  "{}: table `{}` already holds rows; nothing was copied; choose --if-exists "
                  "truncate (replace them) or --if-exists append (add to them)",
                  target_.location(), existing->name);
            }
          }
        } else if (existing.error().code() != StatusCode::kNotFound) {
          return existing.error();
        } else {
          plan.created = true;
        }
        for (const std::string& what : plan.source.not_copied) {
          LogWarn("will not be carried to the target",
                  {{"table", plan.source.name}, {"what", what}});
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
      }
      plans_.push_back(std::move(plan));
    }
    if (planned) {
      const Json& tables = saved_["tables"];
      for (size_t t = 0; t < plans_.size(); ++t) {
        plans_[t].created = tables[t].value("created", false);
        plans_[t].chunks = tables[t].value("chunks", int64_t{0});
      }
      if (saved_.contains("snapshot")) {
        const Json& s = saved_["snapshot"];
        report_.snapshot.position = s.value("position", "");
        report_.snapshot.note = s.value("note", "");
        report_.snapshot.shared = false;  // chunks after a resume read a later snapshot
      }
      // A resumed run's chunks read the source as it is now.
      FERRY_ASSIGN_OR_RETURN(snapshot_, source_.ExportSnapshot());
      for (TablePlan& plan : plans_) {
        // A table this run created and then dropped when it stopped before any of its rows
        // were committed: created again.
        Result<TableInfo> existing = target_.DescribeTable(plan.source.name);
        if (!existing.has_value() && existing.error().code() == StatusCode::kNotFound &&
            plan.created) {
          // The writer refers to the table until it commits.
          const TableInfo created = CreatedTable(plan);
          FERRY_ASSIGN_OR_RETURN(auto writer, target_.OpenWriter(created, LoadMode::kCreate));
          FERRY_RETURN_IF_ERROR(writer->Commit());
        }
        FERRY_RETURN_IF_ERROR(Describe(plan));
      }
      return OkStatus();
    }

    // The source's snapshot first, so that the key bounds read next include every row it holds.
    FERRY_ASSIGN_OR_RETURN(snapshot_, source_.ExportSnapshot());
    report_.snapshot = snapshot_;
    if (target_.supports_chunks()) FERRY_RETURN_IF_ERROR(target_.PrepareChunkMarkers());
    for (TablePlan& plan : plans_) {
      if (plan.created) {
        // The writer refers to the table until it commits.
        const TableInfo created = CreatedTable(plan);
        FERRY_ASSIGN_OR_RETURN(auto writer, target_.OpenWriter(created, LoadMode::kCreate));
        FERRY_RETURN_IF_ERROR(writer->Commit());
      } else if (options_.if_exists == IfExists::kTruncate) {
        FERRY_ASSIGN_OR_RETURN(TableInfo existing, target_.DescribeTable(plan.source.name));
        FERRY_ASSIGN_OR_RETURN(auto writer, target_.OpenWriter(existing, LoadMode::kReplace));
        FERRY_RETURN_IF_ERROR(writer->Commit());
      }
      FERRY_RETURN_IF_ERROR(Describe(plan));
    }

    // Biggest tables first: their chunks get the highest priority.
    std::vector<size_t> by_size(plans_.size());
    for (size_t t = 0; t < by_size.size(); ++t) by_size[t] = t;
    std::stable_sort(by_size.begin(), by_size.end(), [&](size_t a, size_t b) {
      return plans_[a].source.estimated_rows > plans_[b].source.estimated_rows;
    });
    std::vector<TaskSpec> tasks;
    int64_t chunk_number = 0;
    for (size_t rank = 0; rank < by_size.size(); ++rank) {
      const size_t t = by_size[rank];
      TablePlan& plan = plans_[t];
      FERRY_ASSIGN_OR_RETURN(std::vector<ChunkSpec> chunks, PlanChunks(t));
      for (ChunkSpec& c : chunks) {
        c.chunk = ++chunk_number;
        tasks.push_back({.queue = queue(),
                         .kind = "copy-chunk",
                         .payload = ChunkPayload(plan, c).dump(),
                         .max_attempts = kChunkAttempts,
                         .priority = static_cast<int>(by_size.size() - rank),
                         .dedupe_key = fmt::format("chunk-{}", c.chunk)});
      }
      plan.chunks = static_cast<int64_t>(chunks.size());
      LogInfo("planned table", {{"table", plan.source.name},
                                {"chunks", plan.chunks},
                                {"estimated_rows", plan.source.estimated_rows}});
    }
    FERRY_ASSIGN_OR_RETURN(auto ids, store_.EnqueueBatch(tasks));
    saved_ = Json::object();
    Json tables = Json::array();
    for (const TablePlan& plan : plans_) {
      tables.push_back(
          {{"name", plan.source.name}, {"created", plan.created}, {"chunks", plan.chunks}});
    }
    saved_["tables"] = tables;
    saved_["snapshot"] = {
        {"position", snapshot_.position}, {"shared", snapshot_.shared}, {"note", snapshot_.note}};
    run_.state = "copying";
    FERRY_RETURN_IF_ERROR(store_.UpdateRun(run_.id, run_.state, CanonicalJson(saved_)));
    LogInfo("copy planned", {{"run", run_.id},
                             {"tables", plans_.size()},
                             {"chunks", ids.size()},
                             {"source_position", snapshot_.position},
                             {"consistency", snapshot_.note}});
    return OkStatus();
  }

  // The target table as it is, and the source columns in its order (matched by name).
  Status Describe(TablePlan& plan) {
    Result<TableInfo> destination = target_.DescribeTable(plan.source.name);
    if (!destination.has_value()) {
      if (destination.error().code() != StatusCode::kNotFound) return destination.error();
      // A file target created nothing at planning: its one chunk creates the table.
      plan.destination = plan.mapping.target;
    } else {
      plan.destination = std::move(destination).value();
    }
    plan.whole_mode = !destination.has_value() ? LoadMode::kCreate
                      : options_.if_exists == IfExists::kAppend && !plan.created
                          ? LoadMode::kAppend
                          : LoadMode::kReplace;
    plan.order.clear();
    for (const ColumnInfo& c : plan.destination.columns) {
      const int s = plan.source.ColumnIndex(c.name);
      if (s < 0 && !c.nullable) {
        return FailedPrecondition(
            "table `{}`: the target column `{}` is NOT NULL and the source has no such column; "
            "add it to the source, drop the constraint, or copy into a new table",
            plan.source.name, c.name);
      }
      plan.order.push_back(s);
    }
    return OkStatus();
  }

  Result<std::vector<ChunkSpec>> PlanChunks(size_t t) {
    const TablePlan& plan = plans_[t];
    std::vector<ChunkSpec> chunks;
    const bool keyed =
        plan.source.primary_key.size() == 1 &&
        plan.source.columns[plan.source.ColumnIndex(plan.source.primary_key[0])].kind ==
            TypeKind::kInt64;
    if (keyed && target_.supports_chunks()) {
      const std::string& key = plan.source.primary_key[0];
      Result<std::optional<KeyBounds>> bounds = source_.GetKeyBounds(plan.source, key);
      if (bounds.has_value() && bounds->has_value()) {
        const KeyBounds b = **bounds;
        const int64_t estimate =
            plan.source.estimated_rows > 0
                ? plan.source.estimated_rows
                : static_cast<int64_t>(std::min<Int128>(static_cast<Int128>(b.high) - b.low + 1,
                                                        kMaxChunksPerTable));
        const int64_t n =
            (estimate + options_.chunk_rows - 1) / std::max<int64_t>(1, options_.chunk_rows);
        for (auto [low, high] : SplitRange(b.low, b.high, n)) {
          chunks.push_back(
              {.table = t, .range = KeyRange{.column = key, .low = low, .high = high}});
        }
        return chunks;
      }
      if (!bounds.has_value() && bounds.error().code() != StatusCode::kUnimplemented) {
        return Err(bounds.error());
      }
    }
    // No integer key: physical ranges where the source has them (PostgreSQL's ctid pages). Every
    // chunk reads the run's snapshot, so a row is in exactly one page of it.
    if (!keyed && target_.supports_chunks() && plan.source.estimated_rows > options_.chunk_rows) {
      FERRY_ASSIGN_OR_RETURN(std::optional<int64_t> pages, source_.GetPageCount(plan.source));
      if (pages.has_value() && *pages > 1) {
        const int64_t wanted =
            (plan.source.estimated_rows + options_.chunk_rows - 1) / options_.chunk_rows;
        const int64_t n = std::min({wanted, *pages, kMaxChunksPerTable});
        const int64_t per = (*pages + n - 1) / n;
        for (int64_t first = 0; first < *pages; first += per) {
          const bool last = first + per >= *pages;
          chunks.push_back(
              {.table = t, .pages = PageRange{.first = first, .end = last ? -1 : first + per}});
        }
        return chunks;
      }
    }
    chunks.push_back({.table = t});
    return chunks;
  }

  Status Load() {
    if (run_.state == "loaded" || run_.state == "built") return OkStatus();  // loaded already
    FERRY_RETURN_IF_ERROR(ReleaseChunksOfDeadWorkers());
    if (report_.resumed) {
      FERRY_ASSIGN_OR_RETURN(int64_t retried, store_.RetryFailed(queue()));
      if (retried > 0) LogInfo("retrying failed chunks", {{"chunks", retried}});
    }
    // What earlier attempts committed: rows for progress, and the markers the target holds.
    FERRY_ASSIGN_OR_RETURN(std::vector<Task> tasks, store_.ListTasks(queue()));
    for (const Task& task : tasks) {
      if (task.state != TaskState::kDone) continue;
      FERRY_ASSIGN_OR_RETURN(ChunkSpec c, ParseChunkPayload(task.payload, plans_.size()));
      Result<Json> result = ParseJson(task.result, "chunk result");
      plans_[c.table].rows += result.has_value() ? result->value("rows", int64_t{0}) : 0;
      plans_[c.table].bytes += result.has_value() ? result->value("bytes", int64_t{0}) : 0;
      ++plans_[c.table].chunks_done;
    }
    if (target_.supports_chunks()) {
      FERRY_ASSIGN_OR_RETURN(std::vector<ChunkMarker> markers,
                             target_.CommittedChunks(report_.run_id));
      for (ChunkMarker& m : markers) markers_[m.chunk] = std::move(m);
    }
    if (!options_.max_rate.unlimited()) throttle_.emplace(options_.max_rate, env_);

    const int jobs = std::max(1, options_.jobs);
    std::vector<std::thread> workers;
    for (int w = 0; w < jobs; ++w) workers.emplace_back([this] { Work(HostWorkerId()); });
    for (std::thread& w : workers) w.join();
    if (!stop_error_.ok()) {
      DropUntouchedTables();
      FERRY_RETURN_IF_ERROR(
          store_.UpdateRun(run_.id, "failed", CanonicalJson(WithError(stop_error_.ToString()))));
      FERRY_RETURN_IF_ERROR(RunEvent("copy.failed", Json{{"error", stop_error_.ToString()}}));
      return stop_error_.WithContext(fmt::format(
          "copy run {} stopped (chunks already committed are kept; run the same command again, "
          "or `ferry copy --resume {}`, to continue)",
          run_.id, run_.id));
    }
    FERRY_ASSIGN_OR_RETURN(tasks, store_.ListTasks(queue()));
    std::vector<std::string> failed;
    for (const Task& task : tasks) {
      if (task.state == TaskState::kFailed) {
        failed.push_back(fmt::format("{} ({})", task.payload, task.last_error));
      }
    }
    if (!failed.empty()) {
      DropUntouchedTables();
      const std::string message = fmt::format(
          "copy run {}: {} chunk(s) failed after {} attempts: {}; fix the cause and run the "
          "same command again (or `ferry copy --resume {}`): committed chunks are kept",
          run_.id, failed.size(), kChunkAttempts, fmt::join(failed, "; "), run_.id);
      FERRY_RETURN_IF_ERROR(store_.UpdateRun(run_.id, "failed", CanonicalJson(WithError(message))));
      FERRY_RETURN_IF_ERROR(RunEvent("copy.failed", Json{{"error", message}}));
      return Unavailable("{}", message);
    }
    run_.state = "loaded";
    return store_.UpdateRun(run_.id, run_.state, CanonicalJson(saved_));
  }

  // The table to create for `plan`: its mapped definition, without the primary key when the
  // target builds it faster after the load (BuildAfterLoad adds it then).
  TableInfo CreatedTable(const TablePlan& plan) const {
    TableInfo table = plan.mapping.target;
    if (target_.adds_primary_key_after_load()) table.primary_key.clear();
    return table;
  }

  // Tables this run created that hold no committed chunk are dropped when the run stops, so
  // a failed copy leaves no empty tables behind, and a new run with, say, a --cast creates
  // them with the new types. A resumed run creates them again.
  void DropUntouchedTables() {
    for (const TablePlan& plan : plans_) {
      if (!plan.created || plan.chunks_done > 0) continue;
      Status dropped = target_.DropTable(plan.destination.name);
      if (!dropped.ok()) {
        LogWarn("could not drop a table this copy created",
                {{"table", plan.destination.name}, {"error", dropped.ToString()}});
      }
    }
  }

  // Indexes first (in parallel, `jobs` at a time), then foreign keys (their parents' keys are
  // all there by then), then identity positions, for the tables this run created. What the
  // target refuses is reported, not fatal: the rows are in and verified either way.
  Status BuildAfterLoad() {
    if (run_.state != "loaded") return OkStatus();
    std::set<std::string> copied, index_names, repeated;
    for (const TablePlan& plan : plans_) {
      copied.insert(AsciiLower(plan.source.name));
      for (const IndexInfo& index : plan.mapping.target.indexes) {
        if (!index_names.insert(AsciiLower(index.name)).second)
          repeated.insert(AsciiLower(index.name));
      }
    }
    struct Step {
      size_t table;
      IndexInfo index;
      bool primary_key = false;  // the table's primary key, deferred to now
    };
    std::vector<Step> steps;
    // Primary keys first: foreign keys need them, and they are the biggest builds.
    for (size_t t = 0; t < plans_.size(); ++t) {
      const TablePlan& plan = plans_[t];
      if (plan.created && target_.adds_primary_key_after_load() &&
          !plan.mapping.target.primary_key.empty() && plan.destination.primary_key.empty()) {
        steps.push_back({.table = t, .index = {}, .primary_key = true});
      }
    }
    for (size_t t = 0; t < plans_.size(); ++t) {
      TablePlan& plan = plans_[t];
      for (const std::string& what : plan.mapping.target.not_copied)
        plan.not_copied.push_back(what);
      if (!plan.created) continue;
      for (IndexInfo index : plan.mapping.target.indexes) {
        // Index names are per schema on PostgreSQL and SQLite, per table on MySQL.
        if (repeated.contains(AsciiLower(index.name)) || copied.contains(AsciiLower(index.name))) {
          index.name = plan.destination.name + "_" + index.name;
        }
        steps.push_back({.table = t, .index = std::move(index)});
      }
    }
    std::atomic<size_t> next{0};
    std::vector<Status> key_errors;
    auto build = [&] {
      for (size_t i = next++; i < steps.size(); i = next++) {
        TablePlan& plan = plans_[steps[i].table];
        if (steps[i].primary_key) {
          TableInfo keyed = plan.destination;
          keyed.primary_key = plan.mapping.target.primary_key;
          Status added = target_.AddPrimaryKey(keyed);
          std::lock_guard lock(mu_);
          if (added.ok()) {
            plan.destination.primary_key = keyed.primary_key;
          } else {
            key_errors.push_back(added);
          }
          continue;
        }
        Status built = target_.CreateIndex(plan.destination, steps[i].index);
        std::lock_guard lock(mu_);
        if (built.ok()) {
          ++plan.indexes;
        } else if (built.code() != StatusCode::kUnimplemented) {
          plan.not_copied.push_back(
              fmt::format("index `{}`: {}", steps[i].index.name, built.message()));
        }
      }
    };
    std::vector<std::thread> builders;
    const size_t threads = std::min<size_t>(std::max(1, options_.jobs), steps.size());
    for (size_t w = 0; w < threads; ++w) builders.emplace_back(build);
    for (std::thread& b : builders) b.join();
    if (!key_errors.empty()) {
      // Unlike an index, a primary key the rows break is not left out: the run stops at
      // "loaded", with every row kept, and the same command builds what is missing.
      return key_errors.front().WithContext(fmt::format(
          "copy run {}: every row is loaded, but the primary key could not be built ({} "
          "table{}); remove the duplicate or NULL keys from the target (or fix the source and "
          "copy again with --if-exists truncate), then run the same command to finish",
          run_.id, key_errors.size(), key_errors.size() == 1 ? "" : "s"));
    }
    for (TablePlan& plan : plans_) {
      if (!plan.created) continue;
      for (const ForeignKeyInfo& fk : plan.mapping.target.foreign_keys) {
        if (!copied.contains(AsciiLower(fk.ref_table))) {
          plan.not_copied.push_back(
              fmt::format("foreign key ({}) -> `{}`: that table was not copied",
                          fmt::join(fk.columns, ", "), fk.ref_table));
          continue;
        }
        Status added = target_.AddForeignKey(plan.destination, fk);
        if (added.ok()) {
          ++plan.foreign_keys;
        } else if (added.code() != StatusCode::kUnimplemented || target_.supports_chunks()) {
          plan.not_copied.push_back(fmt::format("foreign key ({}) -> `{}`: {}",
                                                fmt::join(fk.columns, ", "), fk.ref_table,
                                                added.message()));
        }
      }
      for (const ColumnInfo& c : plan.destination.columns) {
        const int s = plan.source.ColumnIndex(c.name);
        if (s < 0 || !plan.source.columns[static_cast<size_t>(s)].auto_increment) continue;
        Status synced = target_.SyncAutoIncrement(plan.destination, c.name);
        if (!synced.ok() && synced.code() != StatusCode::kUnimplemented) {
          plan.not_copied.push_back(fmt::format("numbering of `{}`: {}", c.name, synced.message()));
        }
      }
    }
    for (const TablePlan& plan : plans_) {
      for (const std::string& what : plan.not_copied) {
        LogWarn("not carried to the target", {{"table", plan.source.name}, {"what", what}});
      }
    }
    run_.state = "built";
    return store_.UpdateRun(run_.id, run_.state, CanonicalJson(saved_));
  }

  Json WithError(const std::string& error) const {
    Json j = saved_;
    j["error"] = error;
    return j;
  }

  void Stop(Status status) {
    std::lock_guard lock(mu_);
    if (stop_error_.ok()) stop_error_ = std::move(status);
    stopping_ = true;
  }

  bool stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  // Leases of workers of this host whose process is gone (killed, crashed) are given back now
  // rather than when they expire: at the start, and again while only leased chunks are left
  // (a killed copy may still have been exiting when this one started).
  Status ReleaseChunksOfDeadWorkers() {
    FERRY_ASSIGN_OR_RETURN(auto released, store_.ReleaseLeasesOfGoneWorkers(queue()));
    for (const auto& [owner, chunks] : released) {
      LogInfo("released the chunks of a stopped worker", {{"worker", owner}, {"chunks", chunks}});
    }
    return OkStatus();
  }

  void Work(const std::string& worker) {
    std::minstd_rand jitter(static_cast<unsigned>(std::hash<std::string>()(worker)));
    while (!stopping()) {
      Result<std::vector<Task>> claimed =
          store_.Claim(queue(), {.worker = worker, .lease_micros = options_.lease_micros});
      if (!claimed.has_value()) {
        Stop(claimed.error().WithContext("claiming a chunk"));
        return;
      }
      if (claimed->empty()) {
        Result<QueueStats> stats = store_.GetQueueStats(queue());
        if (!stats.has_value()) {
          Stop(stats.error());
          return;
        }
        // Done, unless chunks are leased elsewhere (another process, or one being retried).
        if (stats->pending == 0 && stats->leased == 0) return;
        if (stats->pending == 0) {
          // Once a second (for all this copy's workers): are their holders still alive?
          const int64_t now = env_->MonotonicMicros();
          int64_t last = last_dead_check_micros_.load();
          if (now - last >= 1'000'000 &&
              last_dead_check_micros_.compare_exchange_strong(last, now)) {
            Status released = ReleaseChunksOfDeadWorkers();
            if (!released.ok()) {
              Stop(released.WithContext("giving back the chunks of a stopped worker"));
              return;
            }
          }
        }
        env_->SleepForMicros(200'000);
        continue;
      }
      Task& task = claimed->front();
      Status status = RunChunk(task);
      if (status.ok()) continue;
      if (status.code() == StatusCode::kCancelled) return;  // as if the process died here
      if (status.code() == StatusCode::kAborted &&
          status.message().find("lease") != std::string::npos) {
        LogWarn("lost a chunk's lease; another worker has it", {{"task", task.id}});
        continue;
      }
      LogWarn("chunk failed",
              {{"task", task.id}, {"attempt", task.attempts}, {"error", status.ToString()}});
      if (Transient(status) && task.attempts < task.max_attempts) {
        // Exponential backoff with jitter, so retries do not hammer a struggling server.
        const int64_t cap = std::min<int64_t>(30'000'000, int64_t{500'000} << (task.attempts - 1));
        const int64_t delay =
            cap / 2 + static_cast<int64_t>(jitter() % static_cast<uint64_t>(cap / 2 + 1));
        Status failed = store_.Fail(task, status.ToString(), delay);
        if (!failed.ok() && failed.code() != StatusCode::kAborted) Stop(failed);
        continue;
      }
      // A permanent error (or the last attempt): stop the run, keeping the chunk for a resume.
      Stop(status);
      store_.Fail(task, status.ToString(), 0).IgnoreError();
      return;
    }
  }

  Status RunChunk(const Task& task) {
    FERRY_ASSIGN_OR_RETURN(ChunkSpec c, ParseChunkPayload(task.payload, plans_.size()));
    TablePlan& plan = plans_[c.table];
    const auto start = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mu_);
      if (plan.first_start == std::chrono::steady_clock::time_point{}) plan.first_start = start;
      if (auto m = markers_.find(c.chunk); m != markers_.end()) {
        // Committed to the target by an earlier attempt that died before telling the store.
        const Json result = {{"rows", m->second.rows}, {"checksum", m->second.checksum}};
        plan.rows += m->second.rows;
        ++plan.chunks_done;
        return store_.Complete(task, result.dump());
      }
    }
    const bool chunked = target_.supports_chunks();
    ChunkMarker marker{.run_id = report_.run_id, .chunk = c.chunk};
    const LoadMode mode = chunked ? LoadMode::kAppend : plan.whole_mode;
    FERRY_ASSIGN_OR_RETURN(
        auto writer,
        target_.OpenWriter(plan.destination, mode, {.marker = chunked ? &marker : nullptr}));
    FERRY_ASSIGN_OR_RETURN(auto reader, source_.Scan({.table = &plan.source,
                                                      .batch_rows = options_.batch_rows,
                                                      .range = c.range,
                                                      .pages = c.pages,
                                                      .snapshot = snapshot_.id}));
    std::optional<SourceDigest> digest;
    if (options_.verify) digest.emplace(plan.source, plan.destination, VerifyOptions{});
    RowHasher hasher;
    Counter& rows_copied = MetricsRegistry::Default().GetCounter(
        "ferry_rows_copied_total", "Rows written to copy targets (committed or not).",
        {{"table", plan.source.name}});
    Counter& bytes_copied = MetricsRegistry::Default().GetCounter(
        "ferry_bytes_copied_total",
        "Bytes (of the rows' canonical encoding) written to copy targets (committed or not).",
        {{"table", plan.source.name}});
    // The target's columns in the source's order, all of them: the batch goes as it is read.
    bool same_order = plan.order.size() == plan.source.columns.size();
    for (size_t i = 0; same_order && i < plan.order.size(); ++i) {
      same_order = plan.order[i] == static_cast<int>(i);
    }
    // Both vectors keep their rows from batch to batch, and values move between them by swap,
    // so neither the reader nor this loop allocates per row once they have warmed up.
    std::vector<Row> batch, reordered;
    int64_t rows = 0;
    int64_t bytes = 0;
    int64_t last_heartbeat = env_->MonotonicMicros();
    for (;;) {
      FERRY_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
      if (!more) break;
      if (!same_order) reordered.resize(batch.size());
      for (size_t r = 0; r < batch.size(); ++r) {
        Row& row = batch[r];
        // One hash per row: the verification's digest when verifying, else the chunk's own.
        if (digest.has_value()) {
          digest->Add(row);
        } else {
          hasher.AddRow(row);
        }
        if (same_order) continue;
        Row& out = reordered[r];
        out.resize(plan.order.size());
        for (size_t i = 0; i < plan.order.size(); ++i) {
          const int s = plan.order[i];
          if (s < 0) {
            out[i].SetNull();
          } else {
            std::swap(out[i], row[static_cast<size_t>(s)]);
          }
        }
      }
      const std::vector<Row>& projected = same_order ? batch : reordered;
      FERRY_RETURN_IF_ERROR(writer->Write(projected).WithContext(
          fmt::format("table `{}`, chunk {}", plan.source.name, c.chunk)));
      const auto n = static_cast<int64_t>(projected.size());
      int64_t batch_bytes = 0;
      for (const Row& r : projected) batch_bytes += static_cast<int64_t>(CanonicalRowSize(r));
      rows += n;
      bytes += batch_bytes;
      rows_copied.Increment(static_cast<double>(n));
      bytes_copied.Increment(static_cast<double>(batch_bytes));
      if (throttle_.has_value()) {
        std::lock_guard lock(throttle_mu_);
        throttle_->Consume(n, batch_bytes);
      }
      Progress(plan, n, batch_bytes);
      if (env_->MonotonicMicros() - last_heartbeat > options_.lease_micros / 3) {
        FERRY_RETURN_IF_ERROR(store_.Heartbeat(task, options_.lease_micros));
        last_heartbeat = env_->MonotonicMicros();
      }
    }
    marker.rows = rows;
    marker.checksum = (digest.has_value() ? digest->total() : hasher.checksum()).ToHex();
    Status committed = writer->Commit();
    if (!committed.ok() && committed.code() == StatusCode::kAborted && chunked) {
      // Another worker committed this chunk while this one loaded it (this one's lease had
      // expired): the marker kept the rows from arriving twice. Record what is in the target.
      FERRY_ASSIGN_OR_RETURN(std::vector<ChunkMarker> markers,
                             target_.CommittedChunks(report_.run_id));
      for (const ChunkMarker& m : markers) {
        if (m.chunk != c.chunk) continue;
        Progress(plan, m.rows - rows, 0);
        const Json result = {{"rows", m.rows}, {"bytes", bytes}, {"checksum", m.checksum}};
        Status completed = store_.Complete(task, result.dump());
        std::lock_guard lock(mu_);
        ++plan.chunks_done;
        return completed;
      }
    }
    if (!committed.ok()) {
      Progress(plan, -rows, -bytes);
      return committed.WithContext(
          fmt::format("table `{}`, chunk {} ({} rows; nothing of this chunk was committed)",
                      plan.source.name, c.chunk, rows));
    }
    if (options_.after_chunk_commit) {
      Status crashed = options_.after_chunk_commit(c.chunk);
      if (!crashed.ok()) {
        Stop(crashed);
        return Cancelled("chunk {}: the worker stopped after committing it", c.chunk);
      }
    }
    const auto end = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(end - start).count();
    const Json result = {
        {"rows", rows}, {"bytes", bytes}, {"checksum", marker.checksum}, {"seconds", seconds}};
    FERRY_RETURN_IF_ERROR(store_.Complete(task, result.dump()));
    std::lock_guard lock(mu_);
    ++plan.chunks_done;
    ++plan.chunks_done_here;
    plan.last_end = end;
    if (digest.has_value()) {
      if (plan.digest.has_value()) {
        plan.digest->Merge(*digest);
      } else {
        plan.digest = std::move(digest);
      }
    }
    return OkStatus();
  }

  void Progress(TablePlan& plan, int64_t rows, int64_t bytes) {
    std::lock_guard lock(mu_);
    plan.rows += rows;
    plan.bytes += bytes;
    if (options_.on_progress) {
      options_.on_progress(plan.source.name, plan.rows, plan.source.estimated_rows, plan.bytes);
    }
  }

  Result<CopyReport> Finish() {
    for (TablePlan& plan : plans_) {
      TableCopy copied{.table = plan.source.name,
                       .mapping = plan.mapping,
                       .created = plan.created,
                       .rows = plan.rows,
                       .bytes = plan.bytes,
                       .chunks = plan.chunks,
                       .indexes = plan.indexes,
                       .foreign_keys = plan.foreign_keys,
                       .not_copied = plan.not_copied};
      if (plan.last_end > plan.first_start) {
        copied.seconds = std::chrono::duration<double>(plan.last_end - plan.first_start).count();
      }
      LogInfo("copied table", {{"table", copied.table},
                               {"rows", copied.rows},
                               {"bytes", copied.bytes},
                               {"chunks", copied.chunks},
                               {"seconds", copied.seconds}});
      report_.tables.push_back(std::move(copied));
    }
    if (options_.verify) {
      const auto verify_start = std::chrono::steady_clock::now();
      VerifyReport verification{.source = source_.location(), .target = target_.location()};
      // Tables loaded wholly by this process were digested on the way: only the target is
      // scanned. Others (a resumed run) are compared by scanning both sides. `--jobs` tables
      // at a time, in plan order (biggest first).
      std::vector<std::future<Result<std::vector<TableReport>>>> verified;
      {
        ThreadPool pool(static_cast<size_t>(std::max(1, options_.jobs)));
        for (TablePlan& plan : plans_) {
          verified.push_back(pool.Submit([this, &plan]() -> Result<std::vector<TableReport>> {
            if (plan.digest.has_value() && plan.chunks_done_here == plan.chunks) {
              FERRY_ASSIGN_OR_RETURN(TableReport t,
                                     VerifyCopiedTable(source_, target_, *plan.digest, {}));
              return std::vector<TableReport>{std::move(t)};
            }
            FERRY_ASSIGN_OR_RETURN(VerifyReport v,
                                   Verify(source_, target_, {.tables = {plan.source.name}}));
            return std::move(v.tables);
          }));
        }
      }
      for (auto& f : verified) {
        FERRY_ASSIGN_OR_RETURN(std::vector<TableReport> tables, f.get());
        for (TableReport& t : tables) verification.tables.push_back(std::move(t));
      }
      report_.verification = std::move(verification);
      report_.verification_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - verify_start).count();
    }
    if (target_.supports_chunks()) {
      Status forgotten = target_.ForgetChunks(report_.run_id);
      if (!forgotten.ok()) {
        LogWarn("could not delete the run's chunk markers from the target",
                {{"error", forgotten.ToString()}});
      }
    }
    Json result = saved_;
    Json tables = Json::array();
    for (const TableCopy& t : report_.tables) {
      tables.push_back({{"name", t.table},
                        {"created", t.created},
                        {"chunks", t.chunks},
                        {"rows", t.rows},
                        {"bytes", t.bytes}});
    }
    result["tables"] = tables;
    const bool identical = !report_.verification.has_value() || report_.verification->identical();
    if (report_.verification.has_value()) result["identical"] = identical;
    FERRY_RETURN_IF_ERROR(
        store_.UpdateRun(run_.id, identical ? "succeeded" : "differences", CanonicalJson(result)));
    FERRY_RETURN_IF_ERROR(RunEvent(identical ? "copy.succeeded" : "copy.differences", result));
    return report_;
  }

  // An event of this run in the store's hash-chained log (the evidence of `ferry evidence export`).
  Status RunEvent(std::string_view kind, Json payload) {
    return StatusOf(store_.AppendEvent({.run_id = run_.id,
                                        .actor = "ferry copy",
                                        .kind = std::string(kind),
                                        .payload = std::move(payload)}));
  }

  Connector& source_;
  Connector& target_;
  const CopyOptions& options_;
  Store& store_;
  Env* const env_;

  RunRecord run_;
  Json saved_ = Json::object();  // the plan as recorded in the run's result
  CopyReport report_;
  SnapshotInfo snapshot_;
  std::vector<TablePlan> plans_;
  std::map<int64_t, ChunkMarker> markers_;  // committed to the target by earlier attempts

  std::mutex mu_;  // guards the plans' progress, markers_, stop_error_, stopping_
  Status stop_error_;
  bool stopping_ = false;
  std::atomic<int64_t> last_dead_check_micros_{0};
  std::mutex throttle_mu_;
  std::optional<Throttle> throttle_;
};

}  // namespace

Result<IfExists> ParseIfExists(std::string_view text) {
  if (text == "fail") return IfExists::kFail;
  if (text == "truncate") return IfExists::kTruncate;
  if (text == "append") return IfExists::kAppend;
  return Err(InvalidArgument("--if-exists {}: expected fail, truncate or append", text));
}

Result<CopyReport> Copy(Connector& source, Connector& target, const CopyOptions& options) {
  if (options.store == nullptr) {
    return Err(InvalidArgument("copy: a state store is needed to record the run"));
  }
  if (options.jobs < 1 || options.chunk_rows < 1) {
    return Err(InvalidArgument("copy: --jobs and --chunk-rows must be at least 1 (got {} and {})",
                               options.jobs, options.chunk_rows));
  }
  CopyRun run(source, target, options);
  return run.Run();
}

}  // namespace ferry
