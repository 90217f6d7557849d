#include "crypto/sealed_export.h"

#include <zstd.h>

#include <nlohmann/json.hpp>

#include "base/hash.h"
#include "crypto/classical.h"
#include "crypto/pq.h"
#include "crypto/random.h"
#include "crypto/xwing.h"

namespace ferry::crypto {
namespace {

using nlohmann::ordered_json;

constexpr std::string_view kMagic = "FERRYEX1";
constexpr size_t kMaxHeader = 1 << 20;
constexpr size_t kMaxChunk = 64 << 20;
constexpr std::string_view kRecipientInfo = "ferry export v1 recipient";
constexpr std::string_view kFileKeyAad = "ferry export v1 file key";
constexpr std::string_view kHeaderInfo = "ferry export v1 header";
constexpr std::string_view kPayloadInfo = "ferry export v1 payload";
constexpr std::string_view kSignatureContext = "ferry-export-v1";
constexpr std::string_view kSignedPrefix = "ferry export v1 manifest\n";

enum Frame : uint8_t { kBegin = 1, kData = 2, kEnd = 3, kManifest = 4, kSignatures = 5 };

void PutU32(Bytes* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(v >> shift));
}
uint32_t GetU32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// Chunk i's nonce: 11-byte big-endian counter, then 1 for the last chunk, 0 before it.
Bytes ChunkNonce(uint64_t index, bool last) {
  Bytes nonce(12, 0);
  for (int i = 10; i >= 3 && index > 0; --i, index >>= 8)
    nonce[static_cast<size_t>(i)] = static_cast<uint8_t>(index);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

Result<SecretBytes> DeriveKey(ByteView file_key, ByteView nonce, std::string_view info) {
  return Hkdf(Digest::kSha256, file_key, nonce, AsBytes(info), 32);
}

Bytes Signed(std::string_view manifest) {
  return Concat({AsBytes(kSignedPrefix), AsBytes(manifest)});
}

}  // namespace

struct ExportWriter::State {
  ExportSink sink;
  Identity signer;
  SecretBytes payload_key;
  std::string header_sha256;
  size_t chunk_bytes = 0;
  Bytes plain;  // the chunk being filled
  uint64_t chunk_index = 0;
  int64_t written = 0;
  bool in_entry = false, finished = false;
  Sha256 entry_hash;
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> zstd{ZSTD_createCCtx(), ZSTD_freeCCtx};
  Bytes compressed;  // reused between chunks
  ExportEntrySummary entry;
  std::vector<ExportEntrySummary> entries;

  Status Emit(ByteView bytes) {
    written += static_cast<int64_t>(bytes.size());
    return sink(bytes);
  }

  // Compresses and seals `plain` as chunk `chunk_index`.
  Status Seal(bool last) {
    compressed.resize(ZSTD_compressBound(plain.size()));
    const size_t n = ZSTD_compressCCtx(zstd.get(), compressed.data(), compressed.size(),
                                       plain.data(), plain.size(), 1);
    if (ZSTD_isError(n)) return Internal("zstd: {}", ZSTD_getErrorName(n));
    FERRY_ASSIGN_OR_RETURN(Bytes sealed, AesGcmSeal(payload_key, ChunkNonce(chunk_index, last), {},
                                                    ByteView(compressed).first(n)));
    Bytes framed;
    PutU32(&framed, static_cast<uint32_t>(sealed.size()));
    framed.insert(framed.end(), sealed.begin(), sealed.end());
    ++chunk_index;
    Wipe(plain);
    plain.clear();
    return Emit(framed);
  }

  // Appends a frame to the plaintext, sealing full chunks as they fill.
  Status Frame(uint8_t kind, ByteView payload) {
    Bytes head = {kind};
    PutU32(&head, static_cast<uint32_t>(payload.size()));
    for (ByteView part : {ByteView(head), payload}) {
      while (!part.empty()) {
        const size_t take = std::min(part.size(), chunk_bytes - plain.size());
        plain.insert(plain.end(), part.begin(), part.begin() + static_cast<ptrdiff_t>(take));
        part = part.subspan(take);
        if (plain.size() == chunk_bytes) FERRY_RETURN_IF_ERROR(Seal(false));
      }
    }
    return OkStatus();
  }
};

ExportWriter::ExportWriter(std::unique_ptr<State> state) : s_(std::move(state)) {}
ExportWriter::~ExportWriter() = default;
int64_t ExportWriter::bytes_written() const { return s_->written; }

Result<std::unique_ptr<ExportWriter>> ExportWriter::Create(
    ExportSink sink, const std::vector<PublicIdentity>& recipients, const Identity& signer,
    size_t chunk_bytes) {
  if (recipients.empty())
    return Err(InvalidArgument("an encrypted export needs at least one recipient"));
  if (chunk_bytes < 1024 || chunk_bytes > kMaxChunk / 2) {
    return Err(InvalidArgument("export chunk size {} is outside 1 KiB to 32 MiB", chunk_bytes));
  }
  auto s = std::make_unique<State>();
  s->sink = std::move(sink);
  s->signer = signer;
  s->chunk_bytes = chunk_bytes;
  FERRY_ASSIGN_OR_RETURN(SecretBytes file_key, RandomSecret(32));
  Bytes nonce(16);
  FERRY_RETURN_IF_ERROR(FillRandom(nonce));

  ordered_json stanzas = ordered_json::array();
  for (const PublicIdentity& r : recipients) {
    FERRY_ASSIGN_OR_RETURN(Encapsulation e, XWing::Encapsulate(r.xwing));
    FERRY_ASSIGN_OR_RETURN(SecretBytes wrap_key,
                           Hkdf(Digest::kSha256, e.shared_secret, e.ciphertext,
                                Concat({AsBytes(kRecipientInfo), AsBytes(r.Fingerprint())}), 32));
    FERRY_ASSIGN_OR_RETURN(Bytes wrapped,
                           AesGcmSeal(wrap_key, Bytes(12, 0), AsBytes(kFileKeyAad), file_key));
    stanzas.push_back({{"kem", "X-Wing"},
                       {"fingerprint", r.Fingerprint()},
                       {"enc", Hex(e.ciphertext)},
                       {"key", Hex(wrapped)}});
  }
  const ordered_json header = {
      {"format", "ferry-export"},
      {"version", 1},
      {"cipher", "AES-256-GCM"},
      {"compression", "zstd"},
      {"chunk_bytes", chunk_bytes},
      {"nonce", Hex(nonce)},
      {"recipients", stanzas},
      {"signer",
       {{"fingerprint", s->signer.pub.Fingerprint()},
        {"ml_dsa_65", Hex(s->signer.pub.ml_dsa_65)},
        {"ed25519", Hex(s->signer.pub.ed25519)},
        {"xwing", Hex(s->signer.pub.xwing)}}},
  };
  const std::string text = header.dump();
  Bytes prefix(kMagic.begin(), kMagic.end());
  PutU32(&prefix, static_cast<uint32_t>(text.size()));
  prefix.insert(prefix.end(), text.begin(), text.end());
  FERRY_ASSIGN_OR_RETURN(SecretBytes mac_key, DeriveKey(file_key, nonce, kHeaderInfo));
  const Bytes mac = Hmac(Digest::kSha256, mac_key, prefix);
  FERRY_ASSIGN_OR_RETURN(s->payload_key, DeriveKey(file_key, nonce, kPayloadInfo));
  s->header_sha256 = Hex(Hash(Digest::kSha256, prefix));
  FERRY_RETURN_IF_ERROR(s->Emit(prefix));
  FERRY_RETURN_IF_ERROR(s->Emit(mac));
  s->plain.reserve(chunk_bytes);
  return std::unique_ptr<ExportWriter>(new ExportWriter(std::move(s)));
}

Status ExportWriter::BeginEntry(std::string_view name) {
  if (s_->finished) return FailedPrecondition("the export is finished");
  if (s_->in_entry) return FailedPrecondition("entry \"{}\" is still open", s_->entry.name);
  if (name.empty()) return InvalidArgument("an export entry needs a name");
  s_->in_entry = true;
  s_->entry = {std::string(name), 0, ""};
  return s_->Frame(kBegin, AsBytes(name));
}

Status ExportWriter::Write(ByteView data) {
  if (!s_->in_entry) return FailedPrecondition("Write outside an entry");
  s_->entry.bytes += static_cast<int64_t>(data.size());
  s_->entry_hash.Update(AsText(data));
  // Data frames at most a chunk long, so that a reader never holds more than one.
  while (!data.empty()) {
    const size_t take = std::min(data.size(), s_->chunk_bytes);
    FERRY_RETURN_IF_ERROR(s_->Frame(kData, data.first(take)));
    data = data.subspan(take);
  }
  return OkStatus();
}

Status ExportWriter::EndEntry() {
  if (!s_->in_entry) return FailedPrecondition("EndEntry outside an entry");
  s_->in_entry = false;
  s_->entry.sha256 = HexEncode(s_->entry_hash.Finish());
  s_->entries.push_back(s_->entry);
  return s_->Frame(kEnd, {});
}

Status ExportWriter::Finish(std::string_view extra_json) {
  if (s_->in_entry) return FailedPrecondition("entry \"{}\" is still open", s_->entry.name);
  if (s_->finished) return FailedPrecondition("the export is already finished");
  ordered_json extra = ordered_json::object();
  if (!extra_json.empty()) {
    extra = ordered_json::parse(extra_json, nullptr, false);
    if (!extra.is_object())
      return InvalidArgument("the manifest's extra fields must be a JSON object");
  }
  ordered_json entries = ordered_json::array();
  for (const ExportEntrySummary& e : s_->entries)
    entries.push_back({{"name", e.name}, {"bytes", e.bytes}, {"sha256", e.sha256}});
  const std::string manifest = ordered_json{
      {"header_sha256", s_->header_sha256},
      {"entries", entries},
      {"extra", extra}}.dump();
  FERRY_RETURN_IF_ERROR(s_->Frame(kManifest, AsBytes(manifest)));
  const Bytes message = Signed(manifest);
  FERRY_ASSIGN_OR_RETURN(DualSignature sig, SignBoth(s_->signer, message, kSignatureContext));
  FERRY_RETURN_IF_ERROR(s_->Frame(kSignatures, Concat({sig.ml_dsa_65, sig.ed25519})));
  s_->finished = true;
  return s_->Seal(true);
}

namespace {

// Reads exactly `n` bytes; false at a clean end before the first byte.
Result<bool> ReadExactly(const ExportSource& source, std::span<uint8_t> out,
                         std::string_view what) {
  size_t got = 0;
  while (got < out.size()) {
    FERRY_ASSIGN_OR_RETURN(size_t n, source(out.subspan(got)));
    if (n == 0) {
      if (got == 0) return false;
      return Err(DataLoss("the export is truncated: it ends inside {} ({} of {} bytes)", what, got,
                          out.size()));
    }
    got += n;
  }
  return true;
}

Result<Bytes> FieldHex(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string())
    return Err(DataLoss("the export header has no \"{}\"", key));
  return FromHex(j[key].get<std::string>());
}

}  // namespace

Result<ExportManifest> ReadExport(ExportSource source, const Identity& identity,
                                  const ExportCallbacks& cb, std::string_view expected_signer) {
  Bytes prefix(kMagic.size() + 4);
  FERRY_ASSIGN_OR_RETURN(bool any, ReadExactly(source, prefix, "the header"));
  if (!any || AsText(ByteView(prefix).first(kMagic.size())) != kMagic) {
    return Err(
        InvalidArgument("not a ferry encrypted export (it does not start with \"{}\")", kMagic));
  }
  const uint32_t header_size = GetU32(prefix.data() + kMagic.size());
  if (header_size > kMaxHeader)
    return Err(DataLoss("the export header claims {} bytes: the file is corrupt", header_size));
  Bytes header_bytes(header_size);
  FERRY_ASSIGN_OR_RETURN(any, ReadExactly(source, header_bytes, "the header"));
  if (!any) return Err(DataLoss("the export is truncated: it ends after its first 12 bytes"));
  prefix.insert(prefix.end(), header_bytes.begin(), header_bytes.end());
  Bytes mac(32);
  FERRY_ASSIGN_OR_RETURN(any, ReadExactly(source, mac, "the header MAC"));
  if (!any) return Err(DataLoss("the export is truncated: it ends after its header"));

  const nlohmann::json header = nlohmann::json::parse(AsText(header_bytes), nullptr, false);
  if (!header.is_object() || header.value("format", "") != "ferry-export") {
    return Err(DataLoss("the export header is not ferry-export JSON: the file is corrupt"));
  }
  if (header.value("version", 0) != 1) {
    return Err(
        Unimplemented("export format version {} is newer than this ferry reads (1); upgrade ferry",
                      header.value("version", 0)));
  }
  ExportManifest result;
  const std::string mine = identity.pub.Fingerprint();
  const nlohmann::json* stanza = nullptr;
  static const nlohmann::json kNone = nlohmann::json::array();
  const nlohmann::json& recipients = header.contains("recipients") ? header["recipients"] : kNone;
  for (const nlohmann::json& r : recipients) {
    result.recipients.push_back(r.value("fingerprint", ""));
    if (r.value("fingerprint", "") == mine) stanza = &r;
  }
  if (stanza == nullptr) {
    return Err(PermissionDenied(
        "the export is not encrypted to this identity ({}); it is for {}: use one of "
        "those identities with --identity",
        mine, fmt::join(result.recipients, ", ")));
  }
  FERRY_ASSIGN_OR_RETURN(Bytes enc, FieldHex(*stanza, "enc"));
  FERRY_ASSIGN_OR_RETURN(Bytes wrapped, FieldHex(*stanza, "key"));
  FERRY_ASSIGN_OR_RETURN(Bytes nonce, FieldHex(header, "nonce"));
  Result<SecretBytes> ss = XWing::Decapsulate(identity.xwing_seed, enc);
  if (!ss.has_value())
    return Err(DataLoss("the export's recipient stanza is corrupt: {}", ss.error().message()));
  FERRY_ASSIGN_OR_RETURN(
      SecretBytes wrap_key,
      Hkdf(Digest::kSha256, *ss, enc, Concat({AsBytes(kRecipientInfo), AsBytes(mine)}), 32));
  Result<Bytes> file_key = AesGcmOpen(wrap_key, Bytes(12, 0), AsBytes(kFileKeyAad), wrapped);
  if (!file_key.has_value()) {
    return Err(Unauthenticated(
        "the export's file key does not open with this identity's key: the recipient stanza "
        "was altered, or the identity file is not the one the fingerprint belongs to"));
  }
  SecretBytes fk(std::move(*file_key));
  FERRY_ASSIGN_OR_RETURN(SecretBytes mac_key, DeriveKey(fk, nonce, kHeaderInfo));
  if (!ConstantTimeEqual(Hmac(Digest::kSha256, mac_key, prefix), mac)) {
    return Err(Unauthenticated(
        "the export header was altered after it was written (its MAC does not verify)"));
  }
  FERRY_ASSIGN_OR_RETURN(SecretBytes payload_key, DeriveKey(fk, nonce, kPayloadInfo));
  const std::string header_sha256 = Hex(Hash(Digest::kSha256, prefix));
  const nlohmann::json signer = header.value("signer", nlohmann::json::object());
  PublicIdentity signer_pub;
  FERRY_ASSIGN_OR_RETURN(signer_pub.ml_dsa_65, FieldHex(signer, "ml_dsa_65"));
  FERRY_ASSIGN_OR_RETURN(signer_pub.ed25519, FieldHex(signer, "ed25519"));
  FERRY_ASSIGN_OR_RETURN(signer_pub.xwing, FieldHex(signer, "xwing"));
  result.signer_fingerprint = signer_pub.Fingerprint();
  if (!expected_signer.empty() && expected_signer != result.signer_fingerprint) {
    return Err(Unauthenticated("the export is signed by {}, not by the expected {}",
                               result.signer_fingerprint, expected_signer));
  }
  const size_t chunk_limit = std::min<size_t>(header.value("chunk_bytes", size_t{0}), kMaxChunk);

  // The plaintext frames, parsed across chunk boundaries.
  Bytes pending;  // bytes of an incomplete frame
  std::string entry_name, manifest_text;
  Bytes signatures;
  bool in_entry = false, seen_manifest = false, seen_signatures = false;
  Sha256 entry_hash;
  int64_t entry_bytes = 0;
  std::vector<ExportEntrySummary> computed;
  auto consume = [&](ByteView plain) -> Status {
    pending.insert(pending.end(), plain.begin(), plain.end());
    size_t at = 0;
    while (pending.size() - at >= 5) {
      const uint8_t kind = pending[at];
      const uint32_t size = GetU32(pending.data() + at + 1);
      if (size > kMaxChunk)
        return DataLoss("the export's payload is corrupt (a frame of {} bytes)", size);
      if (pending.size() - at - 5 < size) break;
      ByteView body(pending.data() + at + 5, size);
      at += 5 + size;
      if (seen_signatures) return DataLoss("the export has data after its signatures");
      switch (kind) {
        case kBegin:
          if (in_entry || seen_manifest) return DataLoss("the export's entries are malformed");
          in_entry = true;
          entry_name.assign(AsText(body));
          entry_bytes = 0;
          if (cb.begin_entry) FERRY_RETURN_IF_ERROR(cb.begin_entry(entry_name));
          break;
        case kData:
          if (!in_entry) return DataLoss("the export has data outside an entry");
          entry_bytes += static_cast<int64_t>(body.size());
          entry_hash.Update(AsText(body));
          if (cb.data) FERRY_RETURN_IF_ERROR(cb.data(body));
          break;
        case kEnd:
          if (!in_entry) return DataLoss("the export's entries are malformed");
          in_entry = false;
          computed.push_back({entry_name, entry_bytes, HexEncode(entry_hash.Finish())});
          if (cb.end_entry) FERRY_RETURN_IF_ERROR(cb.end_entry());
          break;
        case kManifest:
          if (in_entry || seen_manifest) return DataLoss("the export's manifest is misplaced");
          seen_manifest = true;
          manifest_text.assign(AsText(body));
          break;
        case kSignatures:
          if (!seen_manifest) return DataLoss("the export's signatures come before its manifest");
          seen_signatures = true;
          signatures.assign(body.begin(), body.end());
          break;
        default: return DataLoss("the export's payload is corrupt (frame kind {})", kind);
      }
    }
    pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(at));
    return OkStatus();
  };

  uint64_t index = 0;
  bool last_seen = false;
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  while (true) {
    uint8_t size_bytes[4];
    FERRY_ASSIGN_OR_RETURN(any, ReadExactly(source, size_bytes, fmt::format("chunk {}", index)));
    if (!any) break;
    if (last_seen)
      return Err(DataLoss("the export has data after its last chunk: something was appended"));
    const uint32_t sealed_size = GetU32(size_bytes);
    if (sealed_size < 16 || sealed_size > ZSTD_compressBound(chunk_limit) + 16) {
      return Err(DataLoss("chunk {} claims {} bytes: the export is corrupt", index, sealed_size));
    }
    Bytes sealed(sealed_size);
    FERRY_ASSIGN_OR_RETURN(any, ReadExactly(source, sealed, fmt::format("chunk {}", index)));
    if (!any) return Err(DataLoss("the export is truncated: it ends before chunk {}", index));
    // Not the last chunk, or the last: one of the two nonces opens it.
    Result<Bytes> compressed = AesGcmOpen(payload_key, ChunkNonce(index, false), {}, sealed);
    if (!compressed.has_value()) {
      compressed = AesGcmOpen(payload_key, ChunkNonce(index, true), {}, sealed);
      if (!compressed.has_value()) {
        return Err(Unauthenticated(
            "chunk {} of the export fails authentication: it was altered, reordered, or "
            "taken from another export",
            index));
      }
      last_seen = true;
    }
    const unsigned long long plain_size =
        ZSTD_getFrameContentSize(compressed->data(), compressed->size());
    if (plain_size == ZSTD_CONTENTSIZE_ERROR || plain_size == ZSTD_CONTENTSIZE_UNKNOWN ||
        plain_size > chunk_limit) {
      return Err(DataLoss("chunk {} does not decompress", index));
    }
    Bytes plain(plain_size);
    const size_t n =
        ZSTD_decompress(plain.data(), plain.size(), compressed->data(), compressed->size());
    if (ZSTD_isError(n) || n != plain_size)
      return Err(DataLoss("chunk {} does not decompress", index));
    FERRY_RETURN_IF_ERROR(consume(plain));
    ++index;
  }
  if (!last_seen) {
    return Err(DataLoss("the export is truncated: it ends after chunk {} without its last chunk",
                        index == 0 ? 0 : index - 1));
  }
  if (!seen_signatures || !pending.empty())
    return Err(DataLoss("the export ends without its manifest and signatures"));

  const Bytes message = Signed(manifest_text);
  const size_t dsa_size = MlDsa(MlDsaLevel::k65).sizes().signature;
  if (signatures.size() != dsa_size + 64)
    return Err(Unauthenticated("the export's signatures are malformed"));
  const DualSignature sig{
      Bytes(signatures.begin(), signatures.begin() + static_cast<ptrdiff_t>(dsa_size)),
      Bytes(signatures.begin() + static_cast<ptrdiff_t>(dsa_size), signatures.end())};
  if (const std::string failing = FailingSignatures(signer_pub, message, sig, kSignatureContext);
      !failing.empty()) {
    return Err(Unauthenticated("the export's manifest signature does not verify ({})", failing));
  }
  const nlohmann::json manifest = nlohmann::json::parse(manifest_text, nullptr, false);
  if (!manifest.is_object() || manifest.value("header_sha256", "") != header_sha256) {
    return Err(Unauthenticated("the export's manifest belongs to another header"));
  }
  const nlohmann::json listed = manifest.value("entries", nlohmann::json::array());
  if (listed.size() != computed.size()) {
    return Err(DataLoss("the manifest lists {} entries; the export holds {}", listed.size(),
                        computed.size()));
  }
  for (size_t i = 0; i < computed.size(); ++i) {
    if (listed[i].value("name", "") != computed[i].name ||
        listed[i].value("bytes", int64_t{-1}) != computed[i].bytes ||
        listed[i].value("sha256", "") != computed[i].sha256) {
      return Err(DataLoss("entry \"{}\" does not match its manifest line (size or SHA-256)",
                          computed[i].name));
    }
  }
  result.entries = std::move(computed);
  result.extra_json = manifest.contains("extra") ? manifest["extra"].dump() : "{}";
  return result;
}

}  // namespace ferry::crypto
