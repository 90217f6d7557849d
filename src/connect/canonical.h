// The canonical encoding of values and rows, and the chunk checksums computed on it.
//
// This is a format, not an implementation detail: checksums are stored with each chunk and in
// evidence reports, and an auditor may recompute them with another implementation. Changing a
// single byte below changes every checksum; do it only with a new kCanonicalFormatVersion.
//
// VALUE ENCODING (version 1). Every value is one tag byte followed by a payload whose length
// the tag determines, so the encoding is prefix-free and a row is simply the concatenation of
// its values' encodings, in column order, with nothing between or around them. All integers are
// big-endian; signed ones are two's complement.
//
//   tag   kind          payload
//   0x00  NULL          (none)
//   0x01  bool          1 byte: 0x00 false, 0x01 true
//   0x02  int64         8 bytes
//   0x03  decimal       u64 length, then the canonical decimal text in ASCII (value.h):
//                       "-12.34", "0", "1500", "NaN", "Infinity", "-Infinity"
//   0x04  float64       8 bytes: the IEEE 754 binary64 bits; NaN is always 7ff8000000000000,
//                       -0.0 is written as +0.0 (0000000000000000)
//   0x05  text          u64 length, then the UTF-8 bytes
//   0x06  bytes         u64 length, then the bytes
//   0x07  date          4 bytes: int32 days since 1970-01-01 (proleptic Gregorian);
//                       7fffffff infinity, 80000000 -infinity
//   0x08  time          8 bytes: int64 microseconds since midnight, 0 to 86400000000
//   0x09  timestamp     8 bytes: int64 wall-clock microseconds since 1970-01-01 00:00:00
//   0x0a  timestamptz   8 bytes: int64 microseconds since 1970-01-01 00:00:00 UTC
//                       (both timestamps: 7fff...ff infinity, 8000...00 -infinity)
//   0x0b  uuid          16 bytes, in the order the text form reads
//   0x0c  json          u64 length, then the canonical JSON text in UTF-8 (value.h)
//
// Example: the row (42, 'hé', NULL) is
//   02 00 00 00 00 00 00 00 2a  05 00 00 00 00 00 00 00 03 68 c3 a9  00
//
// ROW HASH: XXH3-128 (xxHash 0.8 specification, seed 0) of the row's encoding, read as the
// unsigned 128-bit integer high:low (XXH128_hash_t's high64 and low64).
// CHUNK CHECKSUM: the number of rows and the sum of their row hashes modulo 2^128. A sum does
// not depend on row order (parallel scans return rows in any order) and, unlike XOR, a row
// present twice does not cancel out. Two chunks combine by adding both parts.
//
// What the checksum does and does not promise: it detects accidental differences (a lost,
// duplicated or altered row, a conversion bug) with probability 1 - 2^-128 per comparison. It
// is not a defence against someone who can choose rows to forge a match: no sum of 128-bit
// hashes is (Wagner's generalised birthday attack finds colliding sums quickly even for a
// cryptographic hash). That threat needs a keyed hash or a lattice hash and is not this one's.
//
// Thread-safety: the functions are thread-safe; a RowHasher is used by one thread at a time
// (one per worker; combine their ChunkChecksums).
#ifndef FERRY_CONNECT_CANONICAL_H_
#define FERRY_CONNECT_CANONICAL_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "connect/value.h"

namespace ferry {

inline constexpr int kCanonicalFormatVersion = 1;

// Appends v's encoding to *out.
void AppendCanonical(const Value& v, std::string* out);
// The encoding of a row: its values' encodings, concatenated.
std::string CanonicalRow(std::span<const Value> row);
// The size of v's encoding, and of a row's, without encoding it: the "bytes" a copy moves
// (progress, --max-rate), cheap enough for every row.
size_t CanonicalSize(const Value& v);
size_t CanonicalRowSize(std::span<const Value> row);

// Reads one value from the front of *in and advances *in past it. Strict: only canonical
// encodings decode (a decimal with a trailing zero, a NaN with another payload, -0.0, invalid
// UTF-8 in text, a time past 24:00, JSON not in canonical form are DataLoss errors), so
// decode(bytes) succeeds exactly when encode(decode(bytes)) == bytes. The error names the
// offset of the value within the input. For bisection reports and audits, not the hot path.
[[nodiscard]] Result<Value> DecodeCanonical(std::string_view* in);
// Every value of a row encoding.
[[nodiscard]] Result<std::vector<Value>> DecodeCanonicalRow(std::string_view encoded);

// An unsigned 128-bit integer (a row hash, or a sum of them).
struct Hash128 {
  uint64_t high = 0;
  uint64_t low = 0;
  friend bool operator==(const Hash128&, const Hash128&) = default;
};

// XXH3-128 of an encoded row.
Hash128 RowHash(std::string_view canonical_row);

struct ChunkChecksum {
  int64_t rows = 0;
  Hash128 sum;  // sum of the row hashes modulo 2^128

  void AddRowHash(const Hash128& hash);
  // Combining the checksums of two disjoint sets of rows.
  ChunkChecksum& operator+=(const ChunkChecksum& other);
  friend ChunkChecksum operator+(ChunkChecksum a, const ChunkChecksum& b) { return a += b; }
  friend bool operator==(const ChunkChecksum&, const ChunkChecksum&) = default;

  // The sum as 32 lower-case hex digits, most significant first (the row count is separate).
  std::string ToHex() const;
  // Reverses ToHex: for checksums read back from the state store.
  [[nodiscard]] static Result<ChunkChecksum> FromHex(int64_t rows, std::string_view hex);
};

// Accumulates the checksum of a stream of rows. Reuses one encoding buffer, so hashing a row
// does not allocate once the buffer has grown to the widest row.
class RowHasher {
 public:
  void AddRow(std::span<const Value> row);
  void AddCanonicalRow(std::string_view canonical_row);
  const ChunkChecksum& checksum() const { return checksum_; }
  void Reset() { checksum_ = ChunkChecksum(); }

 private:
  std::string buffer_;
  ChunkChecksum checksum_;
};

}  // namespace ferry

#endif  // FERRY_CONNECT_CANONICAL_H_
