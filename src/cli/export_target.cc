#include "cli/export_target.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "connect/file_connector.h"
#include "crypto/bytes.h"
#include "crypto/sealed_export.h"

namespace ferry {
namespace {

using FilePtr = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

// Feeds an ExportWriter from a thread of its own: entries' beginnings, data and ends, in the
// order pushed. The first error stops it; later pushes return that error.
class SealingThread {
 public:
  // `spare_bytes`: buffers up to this capacity are kept for reuse (bigger ones, a whole small
  // table sent at once, are freed).
  SealingThread(crypto::ExportWriter& writer, size_t max_queued, size_t spare_bytes)
      : writer_(writer), max_queued_(std::max<size_t>(1, max_queued)), spare_bytes_(spare_bytes) {
    thread_ = std::thread([this] { Run(); });
  }
  ~SealingThread() { Stop().IgnoreError(); }

  // An empty buffer with room for a chunk: one the thread has sealed, or a new one.
  std::string TakeBuffer(size_t capacity) {
    {
      std::lock_guard lock(mu_);
      if (!spare_.empty()) {
        std::string b = std::move(spare_.back());
        spare_.pop_back();
        return b;
      }
    }
    std::string b;
    b.reserve(capacity);
    return b;
  }

  Status Begin(std::string name) { return Push({Op::kBegin, std::move(name)}); }
  Status Data(std::string bytes) { return Push({Op::kData, std::move(bytes)}); }
  Status End() { return Push({Op::kEnd, {}}); }

  // Waits until every pushed operation is applied, and stops the thread. Returns the first
  // error. The writer may be used by the caller afterwards.
  Status Stop() {
    {
      std::lock_guard lock(mu_);
      if (!stopped_) {
        closing_ = true;
        changed_.notify_all();
      }
    }
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    stopped_ = true;
    return error_;
  }

 private:
  struct Op {
    enum Kind { kBegin, kData, kEnd } kind;
    std::string bytes;  // the entry's name, or its data
  };

  Status Push(Op op) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return queue_.size() < max_queued_ || !error_.ok() || closing_; });
    if (!error_.ok()) {
      // Not the error's own code (a full disk is worth a retry elsewhere): this archive cannot
      // be completed whatever is retried.
      return FailedPrecondition("the export cannot be completed: {}", error_.message());
    }
    if (closing_) return FailedPrecondition("the export is being finished");
    queue_.push_back(std::move(op));
    changed_.notify_all();
    return OkStatus();
  }

  void Run() {
    for (;;) {
      Op op;
      {
        std::unique_lock lock(mu_);
        changed_.wait(lock, [&] { return !queue_.empty() || closing_; });
        if (queue_.empty()) return;
        op = std::move(queue_.front());
        queue_.pop_front();
        changed_.notify_all();
      }
      Status st;
      switch (op.kind) {
        case Op::kBegin: st = writer_.BeginEntry(op.bytes); break;
        case Op::kData:
          st = writer_.Write({reinterpret_cast<const uint8_t*>(op.bytes.data()), op.bytes.size()});
          break;
        case Op::kEnd: st = writer_.EndEntry(); break;
      }
      if (st.ok() && op.kind == Op::kData) {
        // Kept for the next buffer (a fresh megabyte each time is page faults): wiped first,
        // so that no plain row outlives its sealing in spare memory.
        crypto::Wipe({reinterpret_cast<uint8_t*>(op.bytes.data()), op.bytes.size()});
        op.bytes.clear();
        std::lock_guard lock(mu_);
        if (spare_.size() < max_queued_ + 2 && op.bytes.capacity() <= spare_bytes_) {
          spare_.push_back(std::move(op.bytes));
        }
      }
      if (!st.ok()) {
        std::lock_guard lock(mu_);
        error_ = st;
        queue_.clear();
        changed_.notify_all();
        return;
      }
    }
  }

  crypto::ExportWriter& writer_;
  const size_t max_queued_;
  const size_t spare_bytes_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Op> queue_;            // GUARDED_BY(mu_)
  std::vector<std::string> spare_;  // GUARDED_BY(mu_)
  Status error_;                    // GUARDED_BY(mu_)
  bool closing_ = false;            // GUARDED_BY(mu_)
  bool stopped_ = false;            // GUARDED_BY(mu_)
  std::thread thread_;
};

class ExportTargetImpl;

// One table's rows into the export (see the header for when it buffers and when it streams).
class ExportRowWriter final : public RowWriter {
 public:
  ExportRowWriter(ExportTargetImpl& target, TableInfo table, LoadMode mode)
      : target_(target), table_(std::move(table)), mode_(mode), encoder_(table_) {}
  ~ExportRowWriter() override;

  Status Write(const std::vector<Row>& rows) override;
  Status Commit() override;

 private:
  // Takes the export's entry (waiting for it when `wait`) and opens this table's data entry;
  // false when another writer holds it and `wait` is false.
  Result<bool> TakeEntry(bool wait);
  Status SendBuffer();

  ExportTargetImpl& target_;
  const TableInfo table_;
  const LoadMode mode_;
  const JsonLinesRowEncoder encoder_;
  std::string buffer_;
  Row converted_;
  RowHasher hasher_;
  std::unique_lock<std::mutex> entry_;  // the export's entry lock, while streaming or committing
  bool streaming_ = false;              // this table's data entry is open in the archive
  bool committed_ = false;
};

class ExportTargetImpl final : public ExportTarget {
 public:
  ExportTargetImpl(std::string path, FilePtr file, const ExportTargetOptions& options)
      : path_(std::move(path)),
        partial_(path_ + ".partial"),
        location_("file://" + path_),
        file_(std::move(file)),
        options_(options) {}

  ~ExportTargetImpl() override {
    sealing_.reset();
    writer_.reset();
    if (!finished_) {
      file_.reset();
      std::remove(partial_.c_str());
    }
  }

  Status Start(const std::vector<crypto::PublicIdentity>& recipients,
               const crypto::Identity& signer) {
    std::setvbuf(file_.get(), nullptr, _IOFBF, size_t{1} << 20);
    FERRY_ASSIGN_OR_RETURN(
        writer_, crypto::ExportWriter::Create(
                     [this](crypto::ByteView b) -> Status {
                       if (std::fwrite(b.data(), 1, b.size(), file_.get()) == b.size()) {
                         return OkStatus();
                       }
                       return errno == ENOSPC
                                  ? ResourceExhausted("{}: disk full; free space and export again",
                                                      partial_)
                                  : Unavailable("writing {}: {}", partial_, std::strerror(errno));
                     },
                     recipients, signer, options_.chunk_bytes));
    sealing_ = std::make_unique<SealingThread>(*writer_, options_.queued_buffers,
                                               2 * options_.chunk_bytes + (size_t{64} << 10));
    return OkStatus();
  }

  std::string_view engine() const override { return "jsonl"; }
  const std::string& location() const override { return location_; }

  Result<std::vector<std::string>> ListTables() override {
    std::lock_guard lock(mu_);
    std::vector<std::string> names;
    for (const auto& [name, state] : declared_) names.push_back(name);
    return names;
  }

  Result<TableInfo> DescribeTable(std::string_view name) override {
    std::lock_guard lock(mu_);
    std::vector<std::string> names;
    for (const auto& [n, state] : declared_) names.push_back(n);
    FERRY_ASSIGN_OR_RETURN(std::string table, ResolveTable(names, name, location_));
    return declared_.at(table).table;
  }

  Result<std::unique_ptr<RowReader>> Scan(const ScanSpec& spec) override {
    return Err(Unimplemented(
        "{}: table `{}`: an encrypted export is written, not read back here; its rows are "
        "readable only with a recipient's identity (`ferry copy --from {} --identity KEY`)",
        location_, spec.table != nullptr ? spec.table->name : "", location_));
  }

  Result<std::unique_ptr<RowWriter>> OpenWriter(const TableInfo& table, LoadMode mode,
                                                const WriterOptions& options) override {
    if (options.marker != nullptr) {
      return Err(
          Unimplemented("{}: an export loads whole tables, without chunk markers", location_));
    }
    std::lock_guard lock(mu_);
    FERRY_RETURN_IF_ERROR(broken_);
    if (auto it = declared_.find(table.name); it != declared_.end() && it->second.written) {
      return Err(FailedPrecondition(
          "{}: table `{}` is in the export already, and an export cannot replace an entry; "
          "export again into a new file",
          location_, table.name));
    }
    return std::unique_ptr<RowWriter>(std::make_unique<ExportRowWriter>(*this, table, mode));
  }

  Status DropTable(std::string_view table) override {
    std::lock_guard lock(mu_);
    auto it = declared_.find(std::string(table));
    if (it == declared_.end()) return OkStatus();
    if (it->second.written) {
      return FailedPrecondition("{}: table `{}` is in the export already; it cannot be removed",
                                location_, table);
    }
    declared_.erase(it);
    return OkStatus();
  }

  std::vector<ExportedTable> tables() const override {
    std::lock_guard lock(mu_);
    return written_;
  }

  Result<VerifyReport> VerifyAgainstSource(Connector& source, int jobs) override {
    const std::vector<ExportedTable> written = tables();
    std::vector<Result<TableReport>> reports(written.size(), Err(Internal("not verified")));
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i = next++; i < written.size(); i = next++) {
        reports[i] = VerifyTable(source, written[i]);
      }
    };
    std::vector<std::thread> threads;
    const size_t n = std::min<size_t>(static_cast<size_t>(std::max(1, jobs)), written.size());
    for (size_t w = 0; w < n; ++w) threads.emplace_back(work);
    for (std::thread& t : threads) t.join();
    VerifyReport report{.source = source.location(), .target = location_};
    for (Result<TableReport>& r : reports) {
      FERRY_ASSIGN_OR_RETURN(TableReport table, std::move(r));
      report.tables.push_back(std::move(table));
    }
    return report;
  }

  Result<int64_t> Finish(Json extra) override {
    {
      std::lock_guard lock(mu_);
      FERRY_RETURN_IF_ERROR(broken_);
      for (const auto& [name, state] : declared_) {
        if (!state.written) {
          return Err(Internal("{}: table `{}` was created but its rows were never written",
                              location_, name));
        }
      }
    }
    FERRY_RETURN_IF_ERROR(sealing_->Stop());
    if (!extra.is_object()) extra = Json::object();
    extra["tables"] = ExportedTablesJson(tables());
    FERRY_RETURN_IF_ERROR(writer_->Finish(extra.dump()));
    if (std::fflush(file_.get()) != 0 || ::fsync(::fileno(file_.get())) != 0) {
      return Err(Unavailable("writing {}: {}", partial_, std::strerror(errno)));
    }
    std::FILE* f = file_.release();
    if (std::fclose(f) != 0) {
      return Err(Unavailable("writing {}: {}", partial_, std::strerror(errno)));
    }
    if (std::rename(partial_.c_str(), path_.c_str()) != 0) {
      return Err(Unavailable("renaming {} to {}: {}", partial_, path_, std::strerror(errno)));
    }
    finished_ = true;
    return writer_->bytes_written();
  }

  // One written table against a fresh scan of its source.
  static Result<TableReport> VerifyTable(Connector& source, const ExportedTable& t) {
    TableReport r{.table = t.table.name};
    r.target_rows = t.rows;
    r.target_checksum = t.checksum;
    FERRY_ASSIGN_OR_RETURN(TableInfo s, source.DescribeTable(t.table.name));
    // Per written column, its source column (by name), as the copy matched them.
    std::vector<int> from;
    for (const ColumnInfo& c : t.table.columns) {
      from.push_back(s.ColumnIndex(c.name));
      if (from.back() < 0) r.missing_columns.push_back(c.name);
    }
    r.schema_notes.push_back(
        "the export's rows are not read back: compared by row count and checksum with what "
        "was written");
    FERRY_ASSIGN_OR_RETURN(auto reader, source.Scan({.table = &s}));
    RowHasher hasher;
    std::vector<Row> batch;
    Row row(t.table.columns.size());
    for (;;) {
      FERRY_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
      if (!more) break;
      for (Row& in : batch) {
        for (size_t c = 0; c < from.size(); ++c) {
          if (from[c] < 0) {
            row[c].SetNull();
          } else {
            std::swap(row[c], in[static_cast<size_t>(from[c])]);
          }
        }
        ToColumnKinds(t.table, &row);
        hasher.AddRow(row);
      }
    }
    r.source_rows = hasher.checksum().rows;
    r.source_checksum = hasher.checksum();
    return r;
  }

  // ---- For the writers.
  const ExportTargetOptions& options() const { return options_; }
  std::mutex& entry_mu() { return entry_mu_; }
  SealingThread& sealing() { return *sealing_; }

  Status broken() {
    std::lock_guard lock(mu_);
    return broken_;
  }
  void Break(Status why) {
    std::lock_guard lock(mu_);
    if (broken_.ok()) broken_ = std::move(why);
  }
  // A table created (kCreate, nothing written yet): DescribeTable finds it.
  void Declare(const TableInfo& table) {
    std::lock_guard lock(mu_);
    declared_[table.name].table = table;
  }
  void Written(ExportedTable t) {
    std::lock_guard lock(mu_);
    Declared& d = declared_[t.table.name];
    d.table = t.table;
    d.written = true;
    written_.push_back(std::move(t));
  }

 private:
  struct Declared {
    TableInfo table;
    bool written = false;
  };

  const std::string path_;
  const std::string partial_;
  const std::string location_;
  FilePtr file_;
  const ExportTargetOptions options_;
  std::unique_ptr<crypto::ExportWriter> writer_;
  std::unique_ptr<SealingThread> sealing_;
  std::mutex entry_mu_;  // held by the writer whose entry is open in the archive
  mutable std::mutex mu_;
  std::map<std::string, Declared> declared_;  // GUARDED_BY(mu_)
  std::vector<ExportedTable> written_;        // GUARDED_BY(mu_)
  Status broken_;                             // GUARDED_BY(mu_)
  bool finished_ = false;
};

ExportRowWriter::~ExportRowWriter() {
  crypto::Wipe({reinterpret_cast<uint8_t*>(buffer_.data()), buffer_.size()});
  if (streaming_ && !committed_) {
    // Not a transient code: a retry cannot mend the archive.
    target_.Break(FailedPrecondition(
        "{}: table `{}`: its writer stopped half way through the table's entry, which an "
        "export cannot take back; nothing was exported: run the export again into a new file",
        target_.location(), table_.name));
  }
}

Result<bool> ExportRowWriter::TakeEntry(bool wait) {
  std::unique_lock lock(target_.entry_mu(), std::defer_lock);
  if (wait) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return false;
  }
  FERRY_RETURN_IF_ERROR(target_.broken());
  entry_ = std::move(lock);
  FERRY_RETURN_IF_ERROR(target_.sealing().Begin(table_.name + ".jsonl"));
  streaming_ = true;
  return true;
}

Status ExportRowWriter::SendBuffer() {
  std::string full =
      target_.sealing().TakeBuffer(target_.options().chunk_bytes + (size_t{64} << 10));
  std::swap(full, buffer_);
  return target_.sealing().Data(std::move(full));
}

Status ExportRowWriter::Write(const std::vector<Row>& rows) {
  if (committed_) return FailedPrecondition("table `{}`: written after Commit", table_.name);
  for (const Row& row : rows) {
    encoder_.AppendRow(row, &buffer_);
    // Hashed as a reader of the entry will decode it: in the columns' kinds, and a JSON
    // document `null` as SQL NULL (connect/file_connector.h). So the manifest's checksum is
    // that of the rows a restore reads, and the verification against the source sees what the
    // format does not keep.
    bool as_read = true;
    for (size_t c = 0; c < row.size() && as_read; ++c) {
      as_read = row[c].is_null() || (row[c].kind() == table_.columns[c].kind &&
                                     (row[c].kind() != TypeKind::kJson || row[c].str() != "null"));
    }
    if (as_read) {
      hasher_.AddRow(row);
    } else {
      converted_ = row;
      ToColumnKinds(table_, &converted_);
      for (Value& v : converted_) {
        if (!v.is_null() && v.kind() == TypeKind::kJson && v.str() == "null") v.SetNull();
      }
      hasher_.AddRow(converted_);
    }
  }
  const ExportTargetOptions& o = target_.options();
  if (!streaming_ && buffer_.size() >= o.stream_after_bytes) {
    // Not taken (another table streams): keep buffering, up to max_buffer_bytes.
    FERRY_RETURN_IF_ERROR(StatusOf(TakeEntry(/*wait=*/buffer_.size() >= o.max_buffer_bytes)));
  }
  if (streaming_ && buffer_.size() >= o.chunk_bytes) FERRY_RETURN_IF_ERROR(SendBuffer());
  return OkStatus();
}

Status ExportRowWriter::Commit() {
  if (committed_) return FailedPrecondition("table `{}`: committed twice", table_.name);
  if (mode_ == LoadMode::kCreate && !streaming_ && hasher_.checksum().rows == 0) {
    // The copy creates its tables before loading them: declared, written by the load.
    target_.Declare(table_);
    committed_ = true;
    return OkStatus();
  }
  if (!streaming_) FERRY_RETURN_IF_ERROR(StatusOf(TakeEntry(/*wait=*/true)));
  if (!buffer_.empty()) FERRY_RETURN_IF_ERROR(SendBuffer());
  SealingThread& sealing = target_.sealing();
  FERRY_RETURN_IF_ERROR(sealing.End());
  const std::string schema_entry = table_.name + ".schema.json";
  FERRY_RETURN_IF_ERROR(sealing.Begin(schema_entry));
  FERRY_RETURN_IF_ERROR(sealing.Data(FileSchemaJson(table_)));
  FERRY_RETURN_IF_ERROR(sealing.End());
  target_.Written({.table = table_,
                   .rows = hasher_.checksum().rows,
                   .checksum = hasher_.checksum(),
                   .data_entry = table_.name + ".jsonl",
                   .schema_entry = schema_entry});
  committed_ = true;
  entry_.unlock();
  return OkStatus();
}

}  // namespace

void ToColumnKinds(const TableInfo& table, Row* row) {
  for (size_t c = 0; c < row->size() && c < table.columns.size(); ++c) {
    Value& v = (*row)[c];
    if (v.is_null() || v.kind() == table.columns[c].kind) continue;
    Result<Value> converted = ParseTextInputForm(table.columns[c].kind, TextInputForm(v));
    if (converted.has_value()) v = std::move(converted).value();
  }
}

Json ExportedTablesJson(const std::vector<ExportedTable>& tables) {
  Json out = Json::array();
  for (const ExportedTable& t : tables) {
    out.push_back({{"table", t.table.name},
                   {"rows", t.rows},
                   {"checksum", t.checksum.ToHex()},
                   {"canonical_format", kCanonicalFormatVersion},
                   {"data", t.data_entry},
                   {"schema", t.schema_entry}});
  }
  return out;
}

Result<std::optional<std::vector<ManifestTable>>> ManifestTables(std::string_view extra_json) {
  FERRY_ASSIGN_OR_RETURN(Json extra, ParseJson(extra_json, "the export's manifest"));
  if (!extra.is_object() || !extra.contains("tables")) return std::nullopt;
  std::vector<ManifestTable> out;
  try {
    for (const Json& t : extra.at("tables")) {
      if (t.value("canonical_format", 0) != kCanonicalFormatVersion) {
        return Err(FailedPrecondition(
            "the export's checksums use canonical format {}, this ferry reads {}; restore it "
            "with the ferry that wrote it",
            t.value("canonical_format", 0), kCanonicalFormatVersion));
      }
      const int64_t rows = t.at("rows").get<int64_t>();
      FERRY_ASSIGN_OR_RETURN(ChunkChecksum sum,
                             ChunkChecksum::FromHex(rows, t.at("checksum").get<std::string>()));
      out.push_back({.table = t.at("table").get<std::string>(), .rows = rows, .checksum = sum});
    }
  } catch (const Json::exception& e) {
    return Err(DataLoss("the export's manifest lists its tables in a form ferry does not write: {}",
                        e.what()));
  }
  return out;
}

Result<std::unique_ptr<ExportTarget>> ExportTarget::Create(
    const std::string& path, const std::vector<crypto::PublicIdentity>& recipients,
    const crypto::Identity& signer, const ExportTargetOptions& options) {
  if (::access(path.c_str(), F_OK) == 0) {
    return Err(AlreadyExists("{} exists; ferry never overwrites an export", path));
  }
  const std::string partial = path + ".partial";
  FilePtr file(std::fopen(partial.c_str(), "wbx"), std::fclose);
  if (!file) {
    return Err(InvalidArgument(
        "{}: cannot create {}: {}{}", path, partial, std::strerror(errno),
        errno == EEXIST ? " (left by an export that was stopped? remove it and export again)"
                        : ""));
  }
  auto target = std::make_unique<ExportTargetImpl>(path, std::move(file), options);
  FERRY_RETURN_IF_ERROR(target->Start(recipients, signer));
  return std::unique_ptr<ExportTarget>(std::move(target));
}

}  // namespace ferry
