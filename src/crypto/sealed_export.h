// The encrypted export format ("ferry-export v1"): a self-describing, streaming, chunked archive
// in the spirit of age. docs/crypto.md ("Encrypted exports") has the byte layout.
//
//   "FERRYEX1" | u32 header length | header (JSON) | header MAC (32) | sealed chunks
//
// A random file key is encapsulated to each recipient with X-Wing (a recipient stanza in the
// header); the header is authenticated with a key derived from the file key, so recipients cannot
// be added, removed or altered. The payload (entries, then a manifest, then its signatures) is cut
// into chunks, each compressed with zstd and sealed with AES-256-GCM under a nonce that is the
// chunk's counter and a last-chunk flag: a chunk altered, reordered, dropped, duplicated or taken
// from another archive fails authentication, and a stream that stops before its last chunk is
// truncated. The manifest lists each entry's size and SHA-256 and the header's hash, and is signed
// with the writer's ML-DSA-65 and Ed25519 keys (both must verify).
//
// Writing and reading stream: memory is one chunk (1 MiB by default), whatever the entry sizes.
// A reader delivers an entry's bytes as they are authenticated, but a caller must not trust the
// whole until Read returns OK: only then are the manifest, its signatures and every checksum
// verified.
#ifndef FERRY_CRYPTO_SEALED_EXPORT_H_
#define FERRY_CRYPTO_SEALED_EXPORT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crypto/identity.h"

namespace ferry::crypto {

// Where the archive's bytes go, and where they come from (returns 0 at the end).
using ExportSink = std::function<Status(ByteView)>;
using ExportSource = std::function<Result<size_t>(std::span<uint8_t>)>;

struct ExportEntrySummary {
  std::string name;
  int64_t bytes = 0;
  std::string sha256;  // hex
};

class ExportWriter {
 public:
  // Writes the header at once. `signer` signs the manifest; `recipients` (at least one) can open.
  [[nodiscard]] static Result<std::unique_ptr<ExportWriter>> Create(
      ExportSink sink, const std::vector<PublicIdentity>& recipients, const Identity& signer,
      size_t chunk_bytes = size_t{1} << 20);
  ~ExportWriter();

  // One entry at a time: Begin, any number of Write, End.
  [[nodiscard]] Status BeginEntry(std::string_view name);
  [[nodiscard]] Status Write(ByteView data);
  [[nodiscard]] Status EndEntry();
  // Writes the manifest (with `extra`, a JSON object text or empty, under "extra") and its
  // signatures, and the last chunk. Nothing may be written after.
  [[nodiscard]] Status Finish(std::string_view extra_json = {});

  int64_t bytes_written() const;  // of the archive so far

 private:
  struct State;
  explicit ExportWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

struct ExportManifest {
  std::vector<ExportEntrySummary> entries;
  std::string extra_json;               // what the writer passed to Finish, or "{}"
  std::string signer_fingerprint;       // of the key set that signed
  std::vector<std::string> recipients;  // fingerprints the archive is encrypted to
};

struct ExportCallbacks {
  std::function<Status(std::string_view name)> begin_entry;
  std::function<Status(ByteView data)> data;
  std::function<Status()> end_entry;
};

// Reads and verifies a whole archive with `identity` (one of its recipients). With
// `expected_signer` (a fingerprint), an archive signed by any other key set is refused. Errors
// name what failed: not an export, not encrypted to this identity, the header altered, chunk N
// altered or out of order, truncated, data after the end, a signature or a checksum.
[[nodiscard]] Result<ExportManifest> ReadExport(ExportSource source, const Identity& identity,
                                                const ExportCallbacks& callbacks,
                                                std::string_view expected_signer = {});

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_SEALED_EXPORT_H_
