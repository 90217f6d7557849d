// The encrypted export format: round trips through several recipients and many chunks, and each
// kind of tampering refused by its own test, with its own message.
#include "crypto/sealed_export.h"

#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::crypto {
namespace {

using ::testing::HasSubstr;

struct Written {
  Bytes archive;
  std::vector<std::pair<std::string, Bytes>> entries;
};

const Identity& Alice() {
  static const Identity* id = new Identity(Identity::Generate().value());
  return *id;
}
const Identity& Bob() {
  static const Identity* id = new Identity(Identity::Generate().value());
  return *id;
}
const Identity& Mallory() {
  static const Identity* id = new Identity(Identity::Generate().value());
  return *id;
}

// Three entries (one empty, one of 40 KB of compressible rows, one of 20 KB of random bytes),
// in 1 KiB chunks: about 40 chunks.
Written Write(const Identity& signer = Alice()) {
  Written w;
  std::mt19937 rng(7);
  std::string rows;
  for (int i = 0; i < 1000; ++i) rows += "row " + std::to_string(i) + ",Alice,30.50,2026-12-07\n";
  Bytes random(20000);
  for (uint8_t& b : random) b = static_cast<uint8_t>(rng());
  w.entries = {{"public.empty", {}},
               {"public.accounts", Bytes(rows.begin(), rows.end())},
               {"blobs", random}};
  std::unique_ptr<ExportWriter> writer =
      ExportWriter::Create(
          [&](ByteView b) {
            w.archive.insert(w.archive.end(), b.begin(), b.end());
            return OkStatus();
          },
          {Alice().pub, Bob().pub}, signer, 1024)
          .value();
  for (const auto& [name, data] : w.entries) {
    EXPECT_TRUE(writer->BeginEntry(name).ok());
    for (size_t at = 0; at < data.size(); at += 777) {
      EXPECT_TRUE(
          writer->Write(ByteView(data).subspan(at, std::min<size_t>(777, data.size() - at))).ok());
    }
    EXPECT_TRUE(writer->EndEntry().ok());
  }
  EXPECT_TRUE(writer->Finish(R"({"tables": 3})").ok());
  EXPECT_EQ(writer->bytes_written(), static_cast<int64_t>(w.archive.size()));
  return w;
}

struct ReadBack {
  Result<ExportManifest> manifest;
  std::vector<std::pair<std::string, Bytes>> entries;
};

ReadBack Read(ByteView archive, const Identity& id, std::string_view signer = {}) {
  ReadBack r;
  size_t at = 0;
  ExportSource source = [&](std::span<uint8_t> out) -> Result<size_t> {
    const size_t n = std::min(out.size(), archive.size() - at);
    std::copy_n(archive.begin() + static_cast<ptrdiff_t>(at), n, out.begin());
    at += n;
    return n;
  };
  ExportCallbacks cb{[&](std::string_view name) {
                       r.entries.emplace_back(std::string(name), Bytes{});
                       return OkStatus();
                     },
                     [&](ByteView data) {
                       r.entries.back().second.insert(r.entries.back().second.end(), data.begin(),
                                                      data.end());
                       return OkStatus();
                     },
                     [] { return OkStatus(); }};
  r.manifest = ReadExport(source, id, cb, signer);
  return r;
}

// Where each chunk starts (its 4-byte length).
std::vector<size_t> ChunkOffsets(const Bytes& a) {
  const size_t header = 12 + (size_t{a[8]} << 24 | size_t{a[9]} << 16 | size_t{a[10]} << 8 | a[11]);
  std::vector<size_t> offsets;
  for (size_t at = header + 32; at < a.size();) {
    offsets.push_back(at);
    at += 4 + (size_t{a[at]} << 24 | size_t{a[at + 1]} << 16 | size_t{a[at + 2]} << 8 | a[at + 3]);
  }
  return offsets;
}

TEST(SealedExportTest, EveryRecipientReadsBackEveryByteAndTheManifest) {
  Written w = Write();
  EXPECT_GT(ChunkOffsets(w.archive).size(), 5u);
  for (const Identity* id : {&Alice(), &Bob()}) {
    ReadBack r = Read(w.archive, *id, Alice().pub.Fingerprint());
    ASSERT_TRUE(r.manifest.has_value()) << r.manifest.error().ToString();
    EXPECT_EQ(r.entries, w.entries);
    ASSERT_EQ(r.manifest->entries.size(), 3u);
    EXPECT_EQ(r.manifest->entries[1].name, "public.accounts");
    EXPECT_EQ(r.manifest->entries[1].bytes, static_cast<int64_t>(w.entries[1].second.size()));
    EXPECT_EQ(r.manifest->signer_fingerprint, Alice().pub.Fingerprint());
    EXPECT_EQ(r.manifest->extra_json, R"({"tables":3})");
    EXPECT_EQ(r.manifest->recipients.size(), 2u);
  }
  // Compressible rows are stored smaller than they are.
  EXPECT_LT(w.archive.size(), w.entries[1].second.size() + w.entries[2].second.size());
}

TEST(SealedExportTest, AnotherIdentityIsToldWhoTheExportIsFor) {
  ReadBack r = Read(Write().archive, Mallory());
  ASSERT_FALSE(r.manifest.has_value());
  EXPECT_EQ(r.manifest.error().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(r.manifest.error().message(),
              HasSubstr("not encrypted to this identity (" + Mallory().pub.Fingerprint()));
  EXPECT_THAT(r.manifest.error().message(), HasSubstr(Bob().pub.Fingerprint()));
  EXPECT_TRUE(r.entries.empty());
}

TEST(SealedExportTest, AFlippedBitInAChunkIsNamed) {
  Written w = Write();
  const std::vector<size_t> chunks = ChunkOffsets(w.archive);
  Bytes bad = w.archive;
  bad[chunks[3] + 20] ^= 0x01;
  ReadBack r = Read(bad, Bob());
  ASSERT_FALSE(r.manifest.has_value());
  EXPECT_THAT(r.manifest.error().message(),
              HasSubstr("chunk 3 of the export fails authentication"));
}

TEST(SealedExportTest, ReorderedChunksAreRefused) {
  Written w = Write();
  const std::vector<size_t> c = ChunkOffsets(w.archive);
  // Chunks 1 and 2 are both full 1 KiB chunks; swap them.
  Bytes bad(w.archive.begin(), w.archive.begin() + static_cast<ptrdiff_t>(c[1]));
  bad.insert(bad.end(), w.archive.begin() + static_cast<ptrdiff_t>(c[2]),
             w.archive.begin() + static_cast<ptrdiff_t>(c[3]));
  bad.insert(bad.end(), w.archive.begin() + static_cast<ptrdiff_t>(c[1]),
             w.archive.begin() + static_cast<ptrdiff_t>(c[2]));
  bad.insert(bad.end(), w.archive.begin() + static_cast<ptrdiff_t>(c[3]), w.archive.end());
  ASSERT_EQ(bad.size(), w.archive.size());
  ReadBack r = Read(bad, Bob());
  ASSERT_FALSE(r.manifest.has_value());
  EXPECT_THAT(r.manifest.error().message(),
              HasSubstr("chunk 1 of the export fails authentication: it was altered, reordered"));
}

TEST(SealedExportTest, TruncationIsDetectedAtAChunkBoundaryAndInsideAChunk) {
  Written w = Write();
  const std::vector<size_t> c = ChunkOffsets(w.archive);
  ReadBack at_boundary =
      Read(ByteView(w.archive).first(c.back()), Bob());  // the last chunk dropped
  ASSERT_FALSE(at_boundary.manifest.has_value());
  EXPECT_THAT(at_boundary.manifest.error().message(), HasSubstr("truncated: it ends after chunk"));
  ReadBack inside = Read(ByteView(w.archive).first(c[5] + 100), Bob());
  ASSERT_FALSE(inside.manifest.has_value());
  EXPECT_THAT(inside.manifest.error().message(), HasSubstr("truncated: it ends inside chunk 5"));
}

TEST(SealedExportTest, DataAppendedAfterTheLastChunkIsRefused) {
  Written w = Write();
  Bytes bad = w.archive;
  const std::vector<size_t> c = ChunkOffsets(w.archive);
  bad.insert(bad.end(), w.archive.begin() + static_cast<ptrdiff_t>(c[1]),
             w.archive.begin() + static_cast<ptrdiff_t>(c[2]));
  ReadBack r = Read(bad, Bob());
  ASSERT_FALSE(r.manifest.has_value());
  EXPECT_THAT(r.manifest.error().message(), HasSubstr("data after its last chunk"));
}

TEST(SealedExportTest, AnAlteredHeaderIsRefused) {
  Written w = Write();
  // Change one hex digit of the nonce inside the header JSON.
  std::string text(w.archive.begin(), w.archive.end());
  const size_t at = text.find("\"nonce\":\"") + 9;
  Bytes bad = w.archive;
  bad[at] = bad[at] == '0' ? '1' : '0';
  ReadBack r = Read(bad, Bob());
  ASSERT_FALSE(r.manifest.has_value());
  EXPECT_THAT(r.manifest.error().message(), HasSubstr("header was altered"));
}

TEST(SealedExportTest, AnUnexpectedSignerIsRefused) {
  Written w = Write(Mallory());  // encrypted to Alice and Bob, signed by Mallory
  ReadBack r = Read(w.archive, Bob(), Alice().pub.Fingerprint());
  ASSERT_FALSE(r.manifest.has_value());
  EXPECT_THAT(r.manifest.error().message(),
              HasSubstr("signed by " + Mallory().pub.Fingerprint() + ", not by the expected " +
                        Alice().pub.Fingerprint()));
  // Without a pinned signer it reads, and says who signed.
  ReadBack unpinned = Read(w.archive, Bob());
  ASSERT_TRUE(unpinned.manifest.has_value());
  EXPECT_EQ(unpinned.manifest->signer_fingerprint, Mallory().pub.Fingerprint());
}

TEST(SealedExportTest, NotAnExportAtAll) {
  ReadBack r = Read(AsBytes("PK\x03\x04 a zip file, not an export"), Bob());
  ASSERT_FALSE(r.manifest.has_value());
  EXPECT_THAT(r.manifest.error().message(), HasSubstr("not a ferry encrypted export"));
}

TEST(IdentityTest, RoundTripsAsJsonAndAsARecipient) {
  const Identity& a = Alice();
  Identity back = Identity::FromJson(a.ToJson(), "alice.key").value();
  EXPECT_EQ(back.pub.Fingerprint(), a.pub.Fingerprint());
  PublicIdentity pub = PublicIdentity::FromText(a.pub.ToText() + "\n").value();
  EXPECT_EQ(pub.Fingerprint(), a.pub.Fingerprint());
  EXPECT_EQ(a.pub.Fingerprint().size(), 32u);

  std::string altered = a.ToJson();
  const size_t at = altered.find("\"xwing_seed\": \"") + 15;
  altered[at] = altered[at] == 'a' ? 'b' : 'a';
  EXPECT_THAT(Identity::FromJson(altered, "alice.key").error().message(),
              HasSubstr("alice.key: its seeds give fingerprint"));
  EXPECT_THAT(Identity::FromJson("{}", "x.key").error().message(),
              HasSubstr("x.key: not a ferry identity"));
  EXPECT_THAT(PublicIdentity::FromText("age1xyz").error().message(),
              HasSubstr("starts with \"ferry-recipient-v1:\""));
  EXPECT_THAT(PublicIdentity::FromText(a.pub.ToText().substr(0, 519)).error().message(),
              HasSubstr("cut short"));
}

}  // namespace
}  // namespace ferry::crypto
