#include "transport/remote.h"

#include <zstd.h>

#include <array>
#include <bit>
#include <cstring>
#include <mutex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/log.h"
#include "connect/canonical.h"
#include "move/verify.h"

namespace ferry::transport {

namespace {

constexpr uint8_t kOpen = 'O', kCall = 'C', kWriter = 'W', kRows = 'R', kCommit = 'M', kScan = 'S',
                  kOk = 'K', kError = 'E';
// A frame larger than this is refused: a batch of 4,096 wide rows is far below it, and a length
// read from a confused stream must not allocate gigabytes.
constexpr uint32_t kMaxFrame = 256u << 20;

struct Frame {
  uint8_t type = 0;
  std::string payload;
};

Status SendFrame(SecureChannel& ch, uint8_t type, std::string_view payload) {
  if (payload.size() + 1 > kMaxFrame) {
    return ResourceExhausted("a message of {} bytes is over the protocol's limit of {} bytes",
                             payload.size(), kMaxFrame);
  }
  const uint32_t n = static_cast<uint32_t>(payload.size() + 1);
  std::string frame(5 + payload.size(), '\0');
  frame[0] = static_cast<char>(n >> 24);
  frame[1] = static_cast<char>(n >> 16);
  frame[2] = static_cast<char>(n >> 8);
  frame[3] = static_cast<char>(n);
  frame[4] = static_cast<char>(type);
  std::memcpy(frame.data() + 5, payload.data(), payload.size());
  return ch.Write(crypto::AsBytes(frame));
}

Status SendJson(SecureChannel& ch, uint8_t type, const Json& body) {
  return SendFrame(ch, type, body.dump());
}

// The next frame; `eof_ok`: a clean close before its first byte is returned as type 0.
Result<Frame> ReadFrame(SecureChannel& ch, std::string_view what, bool eof_ok = false) {
  std::array<uint8_t, 5> head{};
  if (eof_ok) {
    FERRY_ASSIGN_OR_RETURN(size_t n, ch.ReadSome(std::span(head).first(1)));
    if (n == 0) return Frame{};
    FERRY_RETURN_IF_ERROR(ch.ReadExact(std::span(head).subspan(1), what));
  } else {
    FERRY_RETURN_IF_ERROR(ch.ReadExact(head, what));
  }
  const uint32_t n = (uint32_t{head[0]} << 24) | (uint32_t{head[1]} << 16) |
                     (uint32_t{head[2]} << 8) | uint32_t{head[3]};
  if (n == 0 || n > kMaxFrame) {
    return Err(DataLoss("{}: a frame of {} bytes from {} is not a ferry copy message", what, n,
                        ch.peer()));
  }
  Frame f{head[4], std::string(n - 1, '\0')};
  FERRY_RETURN_IF_ERROR(ch.ReadExact(
      std::span(reinterpret_cast<uint8_t*>(f.payload.data()), f.payload.size()), what));
  return f;
}

Json ErrorJson(const Status& s) {
  return Json{{"code", static_cast<int>(s.code())}, {"message", s.message()}};
}

Status ErrorFrom(const Frame& f) {
  Result<Json> j = ParseJson(f.payload, "error");
  if (!j.has_value() || !j->contains("code") || !j->contains("message")) {
    return DataLoss("the relay server's error message is malformed");
  }
  const int code = j->at("code").get<int>();
  return Status(code > 0 && code <= 16 ? static_cast<StatusCode>(code) : StatusCode::kUnknown,
                j->at("message").get<std::string>());
}

// The reply to a request: 'K' (its JSON) or 'E' (its error).
Result<Json> ReadReply(SecureChannel& ch, std::string_view what) {
  FERRY_ASSIGN_OR_RETURN(Frame f, ReadFrame(ch, what));
  if (f.type == kError) return Err(ErrorFrom(f));
  if (f.type != kOk) {
    return Err(DataLoss("{}: the relay server answered with message type {:#x}", what, f.type));
  }
  return ParseJson(f.payload, what);
}

// ---- Rows on the wire.

Result<TypeKind> KindFromName(std::string_view name) {
  for (int k = 0; k <= static_cast<int>(TypeKind::kJson); ++k) {
    if (TypeKindName(static_cast<TypeKind>(k)) == name) return static_cast<TypeKind>(k);
  }
  return Err(DataLoss("unknown kind `{}`", name));
}

// A verification's projection as the client sends it, checked against `table` (the selector
// relies on it).
Result<BucketProjection> ProjectionFromJson(const Json& j, const TableInfo& table) {
  BucketProjection p{.columns = j.at("columns").get<std::vector<int>>(),
                     .kinds = {},
                     .key = j.at("key").get<std::vector<int>>(),
                     .buckets = j.at("buckets").get<int>()};
  for (const Json& k : j.at("kinds")) {
    FERRY_ASSIGN_OR_RETURN(TypeKind kind, KindFromName(k.get<std::string>()));
    p.kinds.push_back(kind);
  }
  FERRY_RETURN_IF_ERROR(CheckBucketProjection(table, p));
  return p;
}

std::string_view LoadModeName(LoadMode mode) {
  switch (mode) {
    case LoadMode::kCreate: return "create";
    case LoadMode::kReplace: return "replace";
    case LoadMode::kAppend: return "append";
  }
  return "append";
}

Json MarkerToJson(const ChunkMarker& m) {
  return Json{{"run_id", m.run_id}, {"chunk", m.chunk}, {"rows", m.rows}, {"checksum", m.checksum}};
}

ChunkMarker MarkerFromJson(const Json& j) {
  return ChunkMarker{j.at("run_id").get<std::string>(), j.at("chunk").get<int64_t>(),
                     j.at("rows").get<int64_t>(), j.at("checksum").get<std::string>()};
}

Json IndexToJson(const IndexInfo& i) {
  return Json{{"name", i.name}, {"columns", i.columns}, {"unique", i.unique}};
}

IndexInfo IndexFromJson(const Json& j) {
  return IndexInfo{j.at("name").get<std::string>(), j.at("columns").get<std::vector<std::string>>(),
                   j.at("unique").get<bool>()};
}

Json ForeignKeyToJson(const ForeignKeyInfo& f) {
  return Json{{"name", f.name},           {"columns", f.columns},
              {"ref_table", f.ref_table}, {"ref_columns", f.ref_columns},
              {"on_delete", f.on_delete}, {"on_update", f.on_update}};
}

ForeignKeyInfo ForeignKeyFromJson(const Json& j) {
  return ForeignKeyInfo{
      j.at("name").get<std::string>(),      j.at("columns").get<std::vector<std::string>>(),
      j.at("ref_table").get<std::string>(), j.at("ref_columns").get<std::vector<std::string>>(),
      j.at("on_delete").get<std::string>(), j.at("on_update").get<std::string>()};
}

}  // namespace

RowBatchCodec::RowBatchCodec(int zstd_level) : level_(zstd_level) {}

RowBatchCodec::~RowBatchCodec() {
  ZSTD_freeCCtx(cctx_);
  ZSTD_freeDCtx(dctx_);
}

Result<std::string_view> RowBatchCodec::Encode(const std::vector<Row>& rows, size_t columns,
                                               RemoteStats* stats) {
  plain_.assign(8, '\0');
  const uint32_t n = static_cast<uint32_t>(rows.size()), c = static_cast<uint32_t>(columns);
  for (int i = 0; i < 4; ++i) {
    plain_[i] = static_cast<char>(n >> (24 - 8 * i));
    plain_[4 + i] = static_cast<char>(c >> (24 - 8 * i));
  }
  for (const Row& row : rows) {
    for (const Value& v : row) AppendCanonical(v, &plain_);
  }
  if (cctx_ == nullptr) cctx_ = ZSTD_createCCtx();
  packed_.resize(ZSTD_compressBound(plain_.size()));
  const size_t z = ZSTD_compressCCtx(cctx_, packed_.data(), packed_.size(), plain_.data(),
                                     plain_.size(), level_);
  if (ZSTD_isError(z)) return Err(Internal("zstd: {}", ZSTD_getErrorName(z)));
  if (stats != nullptr) {
    stats->batch_bytes += static_cast<int64_t>(plain_.size());
    stats->wire_bytes += static_cast<int64_t>(z);
  }
  return std::string_view(packed_.data(), z);
}

Status RowBatchCodec::Decode(std::string_view payload, size_t columns, std::vector<Row>* rows,
                             RemoteStats* stats) {
  const unsigned long long size = ZSTD_getFrameContentSize(payload.data(), payload.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size < 8 ||
      size > kMaxFrame * 8ull) {
    return DataLoss("a row batch is not a zstd frame of known size");
  }
  plain_.resize(size);
  if (dctx_ == nullptr) dctx_ = ZSTD_createDCtx();
  const size_t got =
      ZSTD_decompressDCtx(dctx_, plain_.data(), plain_.size(), payload.data(), payload.size());
  if (ZSTD_isError(got) || got != size) {
    return DataLoss("a row batch does not decompress: {}",
                    ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short");
  }
  if (stats != nullptr) {
    stats->batch_bytes += static_cast<int64_t>(size);
    stats->wire_bytes += static_cast<int64_t>(payload.size());
  }
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(plain_[at + i]);
    return v;
  };
  const uint32_t n = u32(0), c = u32(4);
  if (c != columns) {
    return DataLoss("a row batch has {} columns, the table has {}", c, columns);
  }
  rows->resize(n);
  std::string_view in(plain_.data() + 8, plain_.size() - 8);
  for (uint32_t r = 0; r < n; ++r) {
    Row& row = (*rows)[r];
    row.resize(columns);
    for (size_t i = 0; i < columns; ++i) {
      if (Status st = DecodeInto(&in, &row[i]); !st.ok()) {
        return DataLoss("row {} of a batch, column {}: {}", r + 1, i + 1, st.message());
      }
    }
  }
  if (!in.empty()) return DataLoss("a row batch has {} bytes after its last row", in.size());
  return OkStatus();
}

// The canonical decimal forms (value.h): NaN, Infinity, -Infinity, or -?(0|[1-9][0-9]*) with an
// optional fraction that does not end in 0, and no -0.
bool RowBatchCodec::CanonicalDecimalText(std::string_view t) {
  if (t == "NaN" || t == "Infinity" || t == "-Infinity") return true;
  const bool negative = t.starts_with('-');
  if (negative) t.remove_prefix(1);
  const size_t point = t.find('.');
  const std::string_view whole = t.substr(0, point);
  const std::string_view fraction = point == std::string_view::npos ? "" : t.substr(point + 1);
  auto digits = [](std::string_view d) {
    return !d.empty() && d.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (!digits(whole) || (whole.size() > 1 && whole[0] == '0')) return false;
  if (point != std::string_view::npos && (!digits(fraction) || fraction.back() == '0')) {
    return false;
  }
  return !(negative && whole == "0" && fraction.empty());
}

// One value of the canonical encoding (connect/canonical.h) from the front of *in, into *v in
// place: a batch's rows are refilled batch after batch, and their strings keep their capacity,
// so decoding allocates nothing once warm (DecodeCanonical builds a new Value each time). Text
// is checked to be UTF-8; JSON goes through DecodeCanonical, which checks its canonical form.
Status RowBatchCodec::DecodeInto(std::string_view* in, Value* v) {
  if (in->empty()) return DataLoss("the batch ends inside a row");
  const uint8_t tag = static_cast<uint8_t>((*in)[0]);
  auto fixed = [&](size_t n) -> Result<uint64_t> {
    if (in->size() < 1 + n) return Err(DataLoss("the batch ends inside a value"));
    uint64_t x = 0;
    for (size_t i = 1; i <= n; ++i) x = (x << 8) | static_cast<uint8_t>((*in)[i]);
    in->remove_prefix(1 + n);
    return x;
  };
  auto counted = [&]() -> Result<std::string_view> {
    FERRY_ASSIGN_OR_RETURN(uint64_t n, fixed(8));
    if (n > in->size()) return Err(DataLoss("the batch ends inside a value"));
    std::string_view bytes = in->substr(0, n);
    in->remove_prefix(n);
    return bytes;
  };
  switch (tag) {
    case 0x00:
      in->remove_prefix(1);
      v->SetNull();
      return OkStatus();
    case 0x01: {
      FERRY_ASSIGN_OR_RETURN(uint64_t x, fixed(1));
      *v = Value::Bool(x != 0);
      return OkStatus();
    }
    case 0x02: {
      FERRY_ASSIGN_OR_RETURN(uint64_t x, fixed(8));
      *v = Value::Int64(static_cast<int64_t>(x));
      return OkStatus();
    }
    case 0x03: {
      FERRY_ASSIGN_OR_RETURN(std::string_view text, counted());
      if (!CanonicalDecimalText(text)) {
        return DataLoss("decimal `{}` is not in canonical form", text);
      }
      v->AssignCanonicalDecimal(text);
      return OkStatus();
    }
    case 0x04: {
      FERRY_ASSIGN_OR_RETURN(uint64_t x, fixed(8));
      *v = Value::Float64(std::bit_cast<double>(x));
      return OkStatus();
    }
    case 0x05: {
      FERRY_ASSIGN_OR_RETURN(std::string_view text, counted());
      FERRY_RETURN_IF_ERROR(ValidateUtf8(text));
      v->AssignText(text);
      return OkStatus();
    }
    case 0x06: {
      FERRY_ASSIGN_OR_RETURN(std::string_view bytes, counted());
      v->AssignBytes(bytes);
      return OkStatus();
    }
    case 0x07: {
      FERRY_ASSIGN_OR_RETURN(uint64_t x, fixed(4));
      *v = Value::Date(static_cast<int32_t>(static_cast<uint32_t>(x)));
      return OkStatus();
    }
    case 0x08: {
      FERRY_ASSIGN_OR_RETURN(uint64_t x, fixed(8));
      const int64_t micros = static_cast<int64_t>(x);
      if (micros < 0 || micros > kMicrosPerDay) return DataLoss("a time past 24:00");
      *v = Value::Time(micros);
      return OkStatus();
    }
    case 0x09:
    case 0x0a: {
      FERRY_ASSIGN_OR_RETURN(uint64_t x, fixed(8));
      *v = tag == 0x09 ? Value::Timestamp(static_cast<int64_t>(x))
                       : Value::TimestampTz(static_cast<int64_t>(x));
      return OkStatus();
    }
    case 0x0b: {
      if (in->size() < 17) return DataLoss("the batch ends inside a value");
      UuidBytes u;
      std::memcpy(u.data(), in->data() + 1, 16);
      in->remove_prefix(17);
      *v = Value::Uuid(u);
      return OkStatus();
    }
    default: {
      FERRY_ASSIGN_OR_RETURN(*v, DecodeCanonical(in));  // JSON, and the unknown tags' error
      return OkStatus();
    }
  }
}

Json TableInfoToJson(const TableInfo& t) {
  Json columns = Json::array();
  for (const ColumnInfo& c : t.columns) {
    columns.push_back({{"name", c.name},
                       {"native_type", c.native_type},
                       {"kind", TypeKindName(c.kind)},
                       {"precision", c.precision},
                       {"scale", c.scale},
                       {"nullable", c.nullable},
                       {"auto_increment", c.auto_increment}});
  }
  Json indexes = Json::array(), fks = Json::array();
  for (const IndexInfo& i : t.indexes) indexes.push_back(IndexToJson(i));
  for (const ForeignKeyInfo& f : t.foreign_keys) fks.push_back(ForeignKeyToJson(f));
  return Json{{"name", t.name},
              {"columns", columns},
              {"primary_key", t.primary_key},
              {"estimated_rows", t.estimated_rows},
              {"indexes", indexes},
              {"foreign_keys", fks},
              {"not_copied", t.not_copied}};
}

Result<TableInfo> TableInfoFromJson(const Json& j) {
  try {
    TableInfo t;
    t.name = j.at("name").get<std::string>();
    for (const Json& c : j.at("columns")) {
      ColumnInfo col;
      col.name = c.at("name").get<std::string>();
      col.native_type = c.at("native_type").get<std::string>();
      Result<TypeKind> kind = KindFromName(c.at("kind").get<std::string>());
      if (!kind.has_value()) {
        return Err(DataLoss("column {}: {}", col.name, kind.error().message()));
      }
      col.kind = *kind;
      col.precision = c.at("precision").get<int>();
      col.scale = c.at("scale").get<int>();
      col.nullable = c.at("nullable").get<bool>();
      col.auto_increment = c.at("auto_increment").get<bool>();
      t.columns.push_back(std::move(col));
    }
    t.primary_key = j.at("primary_key").get<std::vector<std::string>>();
    t.estimated_rows = j.at("estimated_rows").get<int64_t>();
    for (const Json& i : j.at("indexes")) t.indexes.push_back(IndexFromJson(i));
    for (const Json& f : j.at("foreign_keys")) t.foreign_keys.push_back(ForeignKeyFromJson(f));
    t.not_copied = j.at("not_copied").get<std::vector<std::string>>();
    return t;
  } catch (const Json::exception& e) {
    return Err(DataLoss("a table description is malformed: {}", e.what()));
  }
}

Result<HostPort> ParseViaUrl(std::string_view url) {
  constexpr std::string_view kScheme = "ferry://";
  if (!url.starts_with(kScheme)) {
    return Err(
        InvalidArgument("--via {}: expected ferry://HOST:PORT, the address of a `ferry relay "
                        "serve --targets ...`",
                        url));
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  return HostPort::Parse(rest, "--via");
}

// ---- Client.

namespace {

struct Shared {
  std::string url;
  ConnectOptions connect_options;
  RemoteOptions options;
  std::mutex mu;
  std::vector<std::unique_ptr<SecureChannel>> idle;

  // An open channel: an idle one, or a new one with the target opened on it.
  Result<std::unique_ptr<SecureChannel>> Take(Json* info = nullptr) {
    {
      std::lock_guard lock(mu);
      if (!idle.empty() && info == nullptr) {
        std::unique_ptr<SecureChannel> ch = std::move(idle.back());
        idle.pop_back();
        return ch;
      }
    }
    FERRY_ASSIGN_OR_RETURN(std::unique_ptr<SecureChannel> ch,
                           SecureChannel::Connect(options.server, options.identity,
                                                  options.server_identity, options.rekey));
    if (options.stats) ++options.stats->channels;
    FERRY_RETURN_IF_ERROR(SendJson(
        *ch, kOpen, Json{{"url", url}, {"create_if_missing", connect_options.create_if_missing}}));
    FERRY_ASSIGN_OR_RETURN(Json opened, ReadReply(*ch, "the reply to opening the target"));
    if (info != nullptr) *info = std::move(opened);
    return ch;
  }

  // Back to the pool after a complete exchange.
  void Give(std::unique_ptr<SecureChannel> ch) {
    if (options.stats) options.stats->key_updates += ch->TakeNewKeyUpdates();
    std::lock_guard lock(mu);
    idle.push_back(std::move(ch));
  }
  // After an error: closed, so the server drops what was not committed.
  void Drop(std::unique_ptr<SecureChannel> ch) {
    if (ch && options.stats) options.stats->key_updates += ch->TakeNewKeyUpdates();
  }
};

class RemoteWriter : public RowWriter {
 public:
  RemoteWriter(std::shared_ptr<Shared> shared, std::unique_ptr<SecureChannel> ch, size_t columns,
               const ChunkMarker* marker)
      : shared_(std::move(shared)),
        ch_(std::move(ch)),
        columns_(columns),
        marker_(marker),
        codec_(shared_->options.zstd_level) {}
  ~RemoteWriter() override { shared_->Drop(std::move(ch_)); }

  Status Write(const std::vector<Row>& rows) override {
    if (!ch_) return FailedPrecondition("the remote writer is closed after an error");
    if (rows.empty()) return OkStatus();
    RemoteStats* stats = shared_->options.stats.get();
    FERRY_ASSIGN_OR_RETURN(std::string_view packed, codec_.Encode(rows, columns_, stats));
    Status st = SendFrame(*ch_, kRows, packed);
    if (!st.ok()) return Fail(st);
    if (stats != nullptr) stats->rows_sent += static_cast<int64_t>(rows.size());
    return OkStatus();
  }

  Status Commit() override {
    if (!ch_) return FailedPrecondition("the remote writer is closed after an error");
    Json body = Json::object();
    if (marker_ != nullptr) body["marker"] = MarkerToJson(*marker_);
    Status st = SendJson(*ch_, kCommit, body);
    if (!st.ok()) return Fail(st);
    Result<Json> reply = ReadReply(*ch_, "the reply to a commit");
    if (!reply.has_value()) return Fail(reply.error());
    shared_->Give(std::move(ch_));
    return OkStatus();
  }

 private:
  Status Fail(Status st) {
    shared_->Drop(std::move(ch_));
    return st;
  }
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<SecureChannel> ch_;
  size_t columns_;
  const ChunkMarker* marker_;
  RowBatchCodec codec_;
};

class RemoteReader : public RowReader {
 public:
  RemoteReader(std::shared_ptr<Shared> shared, std::unique_ptr<SecureChannel> ch, size_t columns)
      : shared_(std::move(shared)),
        ch_(std::move(ch)),
        columns_(columns),
        codec_(shared_->options.zstd_level) {}
  ~RemoteReader() override { shared_->Drop(std::move(ch_)); }

  Result<bool> Next(std::vector<Row>* batch) override {
    if (!ch_) {
      batch->clear();
      return false;
    }
    Result<Frame> f = ReadFrame(*ch_, "the next rows of a scan");
    if (!f.has_value()) return Fail(f.error());
    if (f->type == kRows) {
      Status st = codec_.Decode(f->payload, columns_, batch, shared_->options.stats.get());
      if (!st.ok()) return Fail(st);
      if (shared_->options.stats)
        shared_->options.stats->rows_received += static_cast<int64_t>(batch->size());
      return true;
    }
    if (f->type == kOk) {  // the end of the scan
      shared_->Give(std::move(ch_));
      batch->clear();
      return false;
    }
    return Fail(f->type == kError ? ErrorFrom(*f)
                                  : DataLoss("a scan's reply has message type {:#x}", f->type));
  }

 private:
  Result<bool> Fail(Status st) {
    shared_->Drop(std::move(ch_));
    return Err(std::move(st));
  }
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<SecureChannel> ch_;
  size_t columns_;
  RowBatchCodec codec_;
};

class RemoteConnector : public Connector {
 public:
  RemoteConnector(std::shared_ptr<Shared> shared, std::unique_ptr<SecureChannel> control,
                  const Json& info)
      : shared_(std::move(shared)),
        control_(std::move(control)),
        engine_(info.value("engine", "")),
        location_(fmt::format("{} via ferry://{}", info.value("location", ""),
                              shared_->options.server.ToString())),
        supports_chunks_(info.value("supports_chunks", false)),
        pk_after_load_(info.value("adds_primary_key_after_load", false)) {}
  ~RemoteConnector() override {
    if (control_) shared_->Drop(std::move(control_));
  }

  std::string_view engine() const override { return engine_; }
  const std::string& location() const override { return location_; }

  Result<std::vector<std::string>> ListTables() override {
    FERRY_ASSIGN_OR_RETURN(Json r, Call({{"method", "list_tables"}}));
    return Decode<std::vector<std::string>>(r);
  }
  Result<TableInfo> DescribeTable(std::string_view name) override {
    FERRY_ASSIGN_OR_RETURN(Json r, Call({{"method", "describe_table"}, {"name", name}}));
    return TableInfoFromJson(r);
  }
  Result<std::unique_ptr<RowReader>> Scan(const ScanSpec& spec) override {
    Json body{{"table", TableInfoToJson(*spec.table)}, {"batch_rows", spec.batch_rows}};
    if (spec.range) {
      body["range"] = {
          {"column", spec.range->column}, {"low", spec.range->low}, {"high", spec.range->high}};
    }
    if (spec.pages) body["pages"] = {{"first", spec.pages->first}, {"end", spec.pages->end}};
    if (!spec.snapshot.empty()) body["snapshot"] = spec.snapshot;
    if (spec.bucket_projection != nullptr && spec.only_buckets != nullptr) {
      Json kinds = Json::array();
      for (TypeKind k : spec.bucket_projection->kinds) kinds.push_back(TypeKindName(k));
      body["only_buckets"] = {{"columns", spec.bucket_projection->columns},
                              {"kinds", kinds},
                              {"key", spec.bucket_projection->key},
                              {"buckets", spec.bucket_projection->buckets},
                              {"only", *spec.only_buckets}};
    }
    FERRY_ASSIGN_OR_RETURN(std::unique_ptr<SecureChannel> ch, shared_->Take());
    if (Status st = SendJson(*ch, kScan, body); !st.ok()) {
      shared_->Drop(std::move(ch));
      return Err(st);
    }
    return std::unique_ptr<RowReader>(
        new RemoteReader(shared_, std::move(ch), spec.table->columns.size()));
  }
  Result<std::unique_ptr<RowWriter>> OpenWriter(const TableInfo& table, LoadMode mode,
                                                const WriterOptions& options) override {
    Json body{{"table", TableInfoToJson(table)},
              {"mode", LoadModeName(mode)},
              {"chunked", options.marker != nullptr}};
    FERRY_ASSIGN_OR_RETURN(std::unique_ptr<SecureChannel> ch, shared_->Take());
    Status st = SendJson(*ch, kWriter, body);
    Result<Json> reply = st.ok() ? ReadReply(*ch, "the reply to opening a writer") : Err(st);
    if (!reply.has_value()) {
      // A refusal ('E') leaves the channel in step; anything else does not.
      if (st.ok() && reply.error().code() != StatusCode::kDataLoss &&
          reply.error().code() != StatusCode::kUnavailable) {
        shared_->Give(std::move(ch));
      } else {
        shared_->Drop(std::move(ch));
      }
      return Err(reply.error());
    }
    return std::unique_ptr<RowWriter>(
        new RemoteWriter(shared_, std::move(ch), table.columns.size(), options.marker));
  }
  Status DropTable(std::string_view table) override {
    return Act({{"method", "drop_table"}, {"table", table}});
  }
  Status CreateIndex(const TableInfo& table, const IndexInfo& index) override {
    return Act({{"method", "create_index"},
                {"table", TableInfoToJson(table)},
                {"index", IndexToJson(index)}});
  }
  bool adds_primary_key_after_load() const override { return pk_after_load_; }
  Status AddPrimaryKey(const TableInfo& table) override {
    return Act({{"method", "add_primary_key"}, {"table", TableInfoToJson(table)}});
  }
  Status AddForeignKey(const TableInfo& table, const ForeignKeyInfo& fk) override {
    return Act({{"method", "add_foreign_key"},
                {"table", TableInfoToJson(table)},
                {"foreign_key", ForeignKeyToJson(fk)}});
  }
  Status SyncAutoIncrement(const TableInfo& table, std::string_view column) override {
    return Act(
        {{"method", "sync_auto_increment"}, {"table", TableInfoToJson(table)}, {"column", column}});
  }
  bool supports_chunks() const override { return supports_chunks_; }
  Result<std::optional<KeyBounds>> GetKeyBounds(const TableInfo& table,
                                                std::string_view column) override {
    FERRY_ASSIGN_OR_RETURN(Json r, Call({{"method", "get_key_bounds"},
                                         {"table", TableInfoToJson(table)},
                                         {"column", column}}));
    if (r.is_null()) return std::optional<KeyBounds>();
    return std::optional<KeyBounds>(
        KeyBounds{r.at("low").get<int64_t>(), r.at("high").get<int64_t>()});
  }
  Result<std::optional<int64_t>> GetPageCount(const TableInfo& table) override {
    FERRY_ASSIGN_OR_RETURN(Json r,
                           Call({{"method", "get_page_count"}, {"table", TableInfoToJson(table)}}));
    if (r.is_null()) return std::optional<int64_t>();
    return std::optional<int64_t>(r.get<int64_t>());
  }
  Status PrepareChunkMarkers() override { return Act({{"method", "prepare_chunk_markers"}}); }
  Result<std::vector<ChunkMarker>> CommittedChunks(std::string_view run_id) override {
    FERRY_ASSIGN_OR_RETURN(Json r, Call({{"method", "committed_chunks"}, {"run_id", run_id}}));
    std::vector<ChunkMarker> out;
    try {
      for (const Json& m : r) out.push_back(MarkerFromJson(m));
    } catch (const Json::exception& e) {
      return Err(DataLoss("the relay server's chunk markers are malformed: {}", e.what()));
    }
    return out;
  }
  Status ForgetChunks(std::string_view run_id) override {
    return Act({{"method", "forget_chunks"}, {"run_id", run_id}});
  }
  // The verification's first pass runs on the relay node, next to the target's rows; only the
  // bucket checksums cross. On a channel of its own, so the control channel stays free.
  Result<std::optional<BucketChecksums>> ScanBucketChecksums(const TableInfo& table,
                                                             const BucketProjection& projection,
                                                             size_t batch_rows) override {
    Json kinds = Json::array();
    for (TypeKind k : projection.kinds) kinds.push_back(TypeKindName(k));
    const Json request{{"method", "bucket_checksums"},  {"table", TableInfoToJson(table)},
                       {"columns", projection.columns}, {"kinds", kinds},
                       {"key", projection.key},         {"buckets", projection.buckets},
                       {"batch_rows", batch_rows}};
    FERRY_ASSIGN_OR_RETURN(std::unique_ptr<SecureChannel> ch, shared_->Take());
    Status st = SendJson(*ch, kCall, request);
    Result<Json> reply = st.ok() ? ReadReply(*ch, "the target's bucket checksums") : Err(st);
    if (!reply.has_value()) {
      shared_->Drop(std::move(ch));
      return Err(reply.error());
    }
    shared_->Give(std::move(ch));
    try {
      BucketChecksums out;
      out.buckets.resize(static_cast<size_t>(projection.buckets));
      const Json& total = reply->at("total");
      FERRY_ASSIGN_OR_RETURN(out.total, ChunkChecksum::FromHex(total.at(0).get<int64_t>(),
                                                               total.at(1).get<std::string>()));
      for (const Json& b : reply->at("buckets")) {  // [index, rows, sum]: the non-empty ones
        const size_t i = b.at(0).get<size_t>();
        if (i >= out.buckets.size()) return Err(DataLoss("bucket {} out of range", i));
        FERRY_ASSIGN_OR_RETURN(out.buckets[i], ChunkChecksum::FromHex(b.at(1).get<int64_t>(),
                                                                      b.at(2).get<std::string>()));
      }
      return std::optional<BucketChecksums>(std::move(out));
    } catch (const Json::exception& e) {
      return Err(DataLoss("the relay server's bucket checksums are malformed: {}", e.what()));
    }
  }
  Result<SnapshotInfo> ExportSnapshot() override {
    FERRY_ASSIGN_OR_RETURN(Json r, Call({{"method", "export_snapshot"}}));
    return SnapshotInfo{r.value("id", ""), r.value("position", ""), r.value("shared", false),
                        r.value("note", "")};
  }

 private:
  template <typename T>
  Result<T> Decode(const Json& j) {
    try {
      return j.get<T>();
    } catch (const Json::exception& e) {
      return Err(DataLoss("the relay server's reply is malformed: {}", e.what()));
    }
  }

  Status Act(const Json& request) {
    Result<Json> r = Call(request);
    return r.has_value() ? OkStatus() : r.error();
  }

  // One request and its reply on the control channel. A channel that broke while idle (the
  // relay restarted between two calls) is replaced and the call sent once more; a channel that
  // breaks during a call it carried for the first time is an error, since the call may have run.
  Result<Json> Call(const Json& request) {
    std::lock_guard lock(mu_);
    const std::string what = "the reply to " + request.at("method").get<std::string>();
    for (int attempt = 0;; ++attempt) {
      const bool fresh = !control_;
      if (fresh) {
        FERRY_ASSIGN_OR_RETURN(control_, shared_->Take());
      }
      Status st = SendJson(*control_, kCall, request);
      Result<Json> reply = st.ok() ? ReadReply(*control_, what) : Err(st);
      if (reply.has_value() || (st.ok() && reply.error().code() != StatusCode::kUnavailable &&
                                reply.error().code() != StatusCode::kDataLoss)) {
        return reply;  // an answer, or the target's error in step with the channel
      }
      shared_->Drop(std::move(control_));
      if (fresh || attempt > 0 || reply.error().code() != StatusCode::kUnavailable) return reply;
    }
  }

  std::shared_ptr<Shared> shared_;
  std::mutex mu_;
  std::unique_ptr<SecureChannel> control_;
  std::string engine_;
  std::string location_;
  bool supports_chunks_;
  bool pk_after_load_;
};

}  // namespace

Result<std::unique_ptr<Connector>> OpenRemoteConnector(std::string_view url,
                                                       const ConnectOptions& connect_options,
                                                       RemoteOptions options) {
  auto shared = std::make_shared<Shared>();
  shared->url = std::string(url);
  shared->connect_options = connect_options;
  shared->options = std::move(options);
  Json info;
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<SecureChannel> control, shared->Take(&info));
  return std::unique_ptr<Connector>(new RemoteConnector(shared, std::move(control), info));
}

// ---- Server.

namespace {

Result<LoadMode> LoadModeFrom(std::string_view name) {
  if (name == "create") return LoadMode::kCreate;
  if (name == "replace") return LoadMode::kReplace;
  if (name == "append") return LoadMode::kAppend;
  return Err(InvalidArgument("unknown load mode `{}`", name));
}

class TargetSession {
 public:
  TargetSession(SecureChannel& ch, const std::vector<std::string>& allowed)
      : ch_(ch), allowed_(allowed), codec_(1) {}

  Status Run() {
    while (true) {
      FERRY_ASSIGN_OR_RETURN(Frame f, ReadFrame(ch_, "the next request", /*eof_ok=*/true));
      if (f.type == 0) return OkStatus();  // the client closed the channel
      Status st;
      try {
        st = Handle(f);
      } catch (const Json::exception& e) {
        st = SendJson(ch_, kError, ErrorJson(InvalidArgument("a malformed request: {}", e.what())));
      }
      FERRY_RETURN_IF_ERROR(st);
    }
  }

 private:
  // Answers one request. Errors of the target go back as 'E'; only a broken channel (or a
  // protocol violation) ends the session.
  Status Handle(const Frame& f) {
    if (f.type == kOpen) return Reply(Open(f));
    if (!target_) {
      return SendJson(ch_, kError,
                      ErrorJson(FailedPrecondition("no target is open on this channel")));
    }
    if (f.type == kCall) {
      Result<Json> request = ParseJson(f.payload, "a call");
      return Reply(request.has_value() ? Call(*request) : Err(request.error()));
    }
    if (f.type == kWriter) return LoadTable(f);
    if (f.type == kScan) return ScanTable(f);
    return DataLoss("a message of type {:#x} where a request was expected", f.type);
  }

  Status Reply(const Result<Json>& r) {
    return r.has_value() ? SendJson(ch_, kOk, *r) : SendJson(ch_, kError, ErrorJson(r.error()));
  }

  Result<Json> Open(const Frame& f) {
    FERRY_ASSIGN_OR_RETURN(Json request, ParseJson(f.payload, "the open request"));
    const std::string url = request.at("url").get<std::string>();
    bool allowed = false;
    for (const std::string& prefix : allowed_) allowed = allowed || url.starts_with(prefix);
    if (!allowed) {
      return Err(PermissionDenied(
          "this relay does not serve the target asked for (not under any of its --targets "
          "prefixes: {}); ask its operator to add one",
          fmt::join(allowed_, ", ")));
    }
    FERRY_ASSIGN_OR_RETURN(
        target_,
        Connector::Open(url, {.create_if_missing = request.value("create_if_missing", false)}));
    LogInfo(fmt::format("relay: {} opened {}", ch_.peer(), target_->location()));
    return Json{{"engine", target_->engine()},
                {"location", target_->location()},
                {"supports_chunks", target_->supports_chunks()},
                {"adds_primary_key_after_load", target_->adds_primary_key_after_load()}};
  }

  Result<Json> Call(const Json& r) {
    const std::string method = r.at("method").get<std::string>();
    Connector& t = *target_;
    auto table = [&]() { return TableInfoFromJson(r.at("table")); };
    auto done = [](Status st) -> Result<Json> {
      if (!st.ok()) return Err(st);
      return Json::object();
    };
    if (method == "list_tables") {
      FERRY_ASSIGN_OR_RETURN(std::vector<std::string> names, t.ListTables());
      return Json(names);
    }
    if (method == "describe_table") {
      FERRY_ASSIGN_OR_RETURN(TableInfo info, t.DescribeTable(r.at("name").get<std::string>()));
      return TableInfoToJson(info);
    }
    if (method == "drop_table") return done(t.DropTable(r.at("table").get<std::string>()));
    if (method == "create_index") {
      FERRY_ASSIGN_OR_RETURN(TableInfo info, table());
      return done(t.CreateIndex(info, IndexFromJson(r.at("index"))));
    }
    if (method == "add_primary_key") {
      FERRY_ASSIGN_OR_RETURN(TableInfo info, table());
      return done(t.AddPrimaryKey(info));
    }
    if (method == "add_foreign_key") {
      FERRY_ASSIGN_OR_RETURN(TableInfo info, table());
      return done(t.AddForeignKey(info, ForeignKeyFromJson(r.at("foreign_key"))));
    }
    if (method == "sync_auto_increment") {
      FERRY_ASSIGN_OR_RETURN(TableInfo info, table());
      return done(t.SyncAutoIncrement(info, r.at("column").get<std::string>()));
    }
    if (method == "get_key_bounds") {
      FERRY_ASSIGN_OR_RETURN(TableInfo info, table());
      FERRY_ASSIGN_OR_RETURN(std::optional<KeyBounds> b,
                             t.GetKeyBounds(info, r.at("column").get<std::string>()));
      if (!b) return Json(nullptr);
      return Json{{"low", b->low}, {"high", b->high}};
    }
    if (method == "get_page_count") {
      FERRY_ASSIGN_OR_RETURN(TableInfo info, table());
      FERRY_ASSIGN_OR_RETURN(std::optional<int64_t> n, t.GetPageCount(info));
      return n ? Json(*n) : Json(nullptr);
    }
    if (method == "prepare_chunk_markers") return done(t.PrepareChunkMarkers());
    if (method == "committed_chunks") {
      FERRY_ASSIGN_OR_RETURN(std::vector<ChunkMarker> markers,
                             t.CommittedChunks(r.at("run_id").get<std::string>()));
      Json out = Json::array();
      for (const ChunkMarker& m : markers) out.push_back(MarkerToJson(m));
      return out;
    }
    if (method == "forget_chunks") return done(t.ForgetChunks(r.at("run_id").get<std::string>()));
    if (method == "bucket_checksums") {
      FERRY_ASSIGN_OR_RETURN(TableInfo info, table());
      FERRY_ASSIGN_OR_RETURN(BucketProjection projection, ProjectionFromJson(r, info));
      FERRY_ASSIGN_OR_RETURN(
          BucketChecksums sums,
          ScanBucketChecksumsHere(t, info, projection, r.value("batch_rows", size_t{4096})));
      Json buckets = Json::array();
      for (size_t i = 0; i < sums.buckets.size(); ++i) {
        if (sums.buckets[i].rows == 0) continue;
        buckets.push_back({i, sums.buckets[i].rows, sums.buckets[i].ToHex()});
      }
      return Json{{"total", {sums.total.rows, sums.total.ToHex()}}, {"buckets", buckets}};
    }
    if (method == "export_snapshot") {
      FERRY_ASSIGN_OR_RETURN(SnapshotInfo s, t.ExportSnapshot());
      return Json{{"id", s.id}, {"position", s.position}, {"shared", s.shared}, {"note", s.note}};
    }
    return Err(
        Unimplemented("the relay server does not know the call `{}` (an older ferry?)", method));
  }

  // 'W', then 'R'... until 'M'. A failed open is answered at once; a failed Write is kept and
  // answered at the commit (the client streams without waiting), the rest of its rows dropped.
  Status LoadTable(const Frame& f) {
    Result<Json> parsed = ParseJson(f.payload, "the writer request");
    if (!parsed.has_value()) return SendJson(ch_, kError, ErrorJson(parsed.error()));
    const Json& request = *parsed;
    Result<TableInfo> table = TableInfoFromJson(request.at("table"));
    Result<LoadMode> mode = LoadModeFrom(request.at("mode").get<std::string>());
    ChunkMarker marker;
    const bool chunked = request.value("chunked", false);
    Result<std::unique_ptr<RowWriter>> writer = Err(Internal("not opened"));
    if (!table.has_value()) {
      writer = Err(table.error());
    } else if (!mode.has_value()) {
      writer = Err(mode.error());
    } else {
      writer = target_->OpenWriter(*table, *mode, {.marker = chunked ? &marker : nullptr});
    }
    if (!writer.has_value()) return SendJson(ch_, kError, ErrorJson(writer.error()));
    FERRY_RETURN_IF_ERROR(SendJson(ch_, kOk, Json::object()));
    Status failed;
    int64_t batches = 0;
    std::vector<Row> rows;
    while (true) {
      FERRY_ASSIGN_OR_RETURN(Frame next, ReadFrame(ch_, "the rows of a load"));
      if (next.type == kRows) {
        ++batches;
        if (!failed.ok()) continue;
        failed = codec_.Decode(next.payload, table->columns.size(), &rows, nullptr);
        if (failed.ok()) failed = (*writer)->Write(rows);
        if (!failed.ok()) {
          failed = Status(failed.code(), fmt::format("table {}, batch {}: {}", table->name, batches,
                                                     failed.message()));
        }
        continue;
      }
      if (next.type != kCommit) {
        return DataLoss("a message of type {:#x} in the middle of a load", next.type);
      }
      FERRY_ASSIGN_OR_RETURN(Json commit, ParseJson(next.payload, "the commit"));
      if (failed.ok() && chunked) {
        if (!commit.contains("marker")) {
          failed = InvalidArgument("a chunked load committed without its marker");
        } else {
          marker = MarkerFromJson(commit.at("marker"));
        }
      }
      if (failed.ok()) failed = (*writer)->Commit();
      writer->reset();
      return failed.ok() ? SendJson(ch_, kOk, Json::object())
                         : SendJson(ch_, kError, ErrorJson(failed));
    }
  }

  // 'S': the rows in 'R' frames, then 'K' (or 'E' at the first error).
  Status ScanTable(const Frame& f) {
    Result<Json> parsed = ParseJson(f.payload, "the scan request");
    if (!parsed.has_value()) return SendJson(ch_, kError, ErrorJson(parsed.error()));
    const Json& request = *parsed;
    Result<TableInfo> table = TableInfoFromJson(request.at("table"));
    if (!table.has_value()) return SendJson(ch_, kError, ErrorJson(table.error()));
    ScanSpec spec{.table = &*table, .batch_rows = request.value("batch_rows", size_t{4096})};
    if (request.contains("range")) {
      const Json& r = request.at("range");
      spec.range = KeyRange{r.at("column").get<std::string>(), r.at("low").get<int64_t>(),
                            r.at("high").get<int64_t>()};
    }
    if (request.contains("pages")) {
      spec.pages = PageRange{request["pages"].at("first").get<int64_t>(),
                             request["pages"].at("end").get<int64_t>()};
    }
    spec.snapshot = request.value("snapshot", "");
    // A verification's second pass: only the rows of the differing buckets leave this node.
    std::optional<BucketSelector> selector;
    if (request.contains("only_buckets")) {
      Result<BucketProjection> projection = ProjectionFromJson(request.at("only_buckets"), *table);
      if (!projection.has_value()) return SendJson(ch_, kError, ErrorJson(projection.error()));
      selector.emplace(*projection,
                       request.at("only_buckets").at("only").get<std::vector<size_t>>());
    }
    Result<std::unique_ptr<RowReader>> reader = target_->Scan(spec);
    if (!reader.has_value()) return SendJson(ch_, kError, ErrorJson(reader.error()));
    std::vector<Row> batch;
    while (true) {
      Result<bool> more = (*reader)->Next(&batch);
      if (!more.has_value()) return SendJson(ch_, kError, ErrorJson(more.error()));
      if (!*more) return SendJson(ch_, kOk, Json::object());
      if (selector) {
        std::erase_if(batch, [&](const Row& row) { return !selector->Selects(row); });
      }
      if (batch.empty()) continue;
      FERRY_ASSIGN_OR_RETURN(std::string_view packed,
                             codec_.Encode(batch, table->columns.size(), nullptr));
      FERRY_RETURN_IF_ERROR(SendFrame(ch_, kRows, packed));
    }
  }

  SecureChannel& ch_;
  const std::vector<std::string>& allowed_;
  std::unique_ptr<Connector> target_;
  RowBatchCodec codec_;
};

}  // namespace

Status ServeCopyTarget(SecureChannel& channel, const std::vector<std::string>& allowed_prefixes) {
  return TargetSession(channel, allowed_prefixes).Run();
}

}  // namespace ferry::transport
