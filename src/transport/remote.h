// The remote copy target: `ferry copy --from URL --to URL --via ferry://HOST:PORT`.
//
// The copy runs near the source; a relay server near the target (`ferry relay serve --targets
// PREFIX`) opens the target itself. Between them, every call the copy engine makes on its target
// (describe, create, load, build indexes, verify) crosses a secure channel (channel.h), and rows
// cross as batches in the canonical encoding (connect/canonical.h) compressed with zstd. To the
// copy engine the target is an ordinary Connector (OpenRemoteConnector), so chunking, exactly-once
// markers, resumption and verification work through the relay as they do locally.
//
// Protocol (docs/security.md, "Copy batches through the relay"). Frames, each way:
//   u32 length (big-endian, of what follows) | u8 type | payload
//   'O' open      {"url", "create_if_missing"}          -> 'K' {engine, location, supports_chunks,
//                                                             adds_primary_key_after_load}
//   'C' call      {"method", arguments...}               -> 'K' result | 'E' error
//   'W' writer    {"table", "mode", "marker"}            -> 'K' | 'E'
//   'R' rows      zstd(u32 rows | u32 columns | rows in the canonical encoding), no reply
//   'M' commit    {"rows", "checksum"} (the chunk marker) -> 'K' | 'E' (a failed Write is reported
//                                                             here, with the batch it failed in)
//   'S' scan      {"table", "batch_rows", "range", "pages", "snapshot"}
//                                                         -> 'R'... then 'K' | 'E'
//   'E' error     {"code", "message"}
// A channel serves one open target; each writer and each scan takes a channel of its own from a
// pool (channels are reused after a committed writer or a finished scan, and closed after an
// error, which makes the server drop what was not committed).
#ifndef FERRY_TRANSPORT_REMOTE_H_
#define FERRY_TRANSPORT_REMOTE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connect/connector.h"
#include "crypto/identity.h"
#include "transport/channel.h"

typedef struct ZSTD_CCtx_s ZSTD_CCtx;
typedef struct ZSTD_DCtx_s ZSTD_DCtx;

namespace ferry::transport {

struct RemoteStats {
  std::atomic<int64_t> channels{0};       // secure channels opened (each a handshake)
  std::atomic<int64_t> rows_sent{0};      // rows written to the target
  std::atomic<int64_t> rows_received{0};  // rows read back (verification)
  std::atomic<int64_t> batch_bytes{0};    // row batches, canonical encoding, both ways
  std::atomic<int64_t> wire_bytes{0};     // the same after zstd
  std::atomic<int64_t> key_updates{0};
};

struct RemoteOptions {
  HostPort server;
  crypto::Identity identity;               // this node
  crypto::PublicIdentity server_identity;  // pinned by its fingerprint
  RekeyPolicy rekey;
  int zstd_level = 1;
  std::shared_ptr<RemoteStats> stats;  // optional
};

// Row batches on the wire: `u32 rows | u32 columns | the rows' values in the canonical encoding
// (connect/canonical.h)`, compressed with zstd. Decoding fills a batch in place (its strings keep
// their capacity from batch to batch) and is strict: text must be UTF-8, decimals and JSON in
// their canonical forms, the column count the table's. Reuses its buffers; one per thread.
class RowBatchCodec {
 public:
  explicit RowBatchCodec(int zstd_level = 1);
  ~RowBatchCodec();
  RowBatchCodec(const RowBatchCodec&) = delete;
  RowBatchCodec& operator=(const RowBatchCodec&) = delete;

  // The compressed batch of `rows`, valid until the next call.
  [[nodiscard]] Result<std::string_view> Encode(const std::vector<Row>& rows, size_t columns,
                                                RemoteStats* stats = nullptr);
  // Replaces *rows with the rows of a compressed batch of a `columns`-wide table.
  [[nodiscard]] Status Decode(std::string_view payload, size_t columns, std::vector<Row>* rows,
                              RemoteStats* stats = nullptr);

 private:
  static bool CanonicalDecimalText(std::string_view text);
  static Status DecodeInto(std::string_view* in, Value* v);
  int level_;
  ZSTD_CCtx* cctx_ = nullptr;
  ZSTD_DCtx* dctx_ = nullptr;
  std::string plain_;
  std::string packed_;
};

// `ferry://HOST:PORT` (as given to --via).
[[nodiscard]] Result<HostPort> ParseViaUrl(std::string_view url);

// The target `url` as the relay server at options.server opens it. Errors of the server (a URL it
// does not serve, a database it cannot reach) come back with their codes and messages.
[[nodiscard]] Result<std::unique_ptr<Connector>> OpenRemoteConnector(
    std::string_view url, const ConnectOptions& connect_options, RemoteOptions options);

// The server's side of one channel: opens the target the client names if it starts with one of
// `allowed_prefixes`, then answers calls until the client closes the channel.
[[nodiscard]] Status ServeCopyTarget(SecureChannel& channel,
                                     const std::vector<std::string>& allowed_prefixes);

// The JSON forms of a table's description, for the protocol.
Json TableInfoToJson(const TableInfo& table);
[[nodiscard]] Result<TableInfo> TableInfoFromJson(const Json& json);

}  // namespace ferry::transport

#endif  // FERRY_TRANSPORT_REMOTE_H_
