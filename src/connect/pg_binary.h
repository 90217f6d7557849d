// Private to the connect module: PostgreSQL's binary forms, for COPY ... (FORMAT binary) in both
// directions. No libpq here: bytes in, Values out, and back, so the codec is tested without a
// server and the connector keeps the I/O.
//
// The stream (PostgreSQL 15 documentation, "COPY", section "Binary Format"): the 11-byte
// signature "PGCOPY\n\377\r\n\0", an int32 of flags (bit 16: OIDs included, refused here), an
// int32 header-extension length and that many bytes; then per tuple an int16 field count and per
// field an int32 length (-1 for NULL) and the bytes; then the trailer, an int16 -1. All integers
// big-endian. Nothing here relies on where the server cuts the stream into messages.
//
// A field holds the type's binary send/recv form (src/backend/utils/adt in the PostgreSQL
// sources: bool.c, int.c, int8.c, float.c, numeric.c, varlena.c, varchar.c, date.c,
// timestamp.c, uuid.c, json.c, jsonb.c). Only the built-in types below have a codec here; a
// table with a column of any other type (interval, money, arrays, enums, domains, network
// addresses, extension types) is read and written in text, as before.
//
// Thread-safety: functions only, all thread-safe.
#ifndef FERRY_CONNECT_PG_BINARY_H_
#define FERRY_CONNECT_PG_BINARY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "connect/value.h"

namespace ferry::connect_internal {

// Built-in type OIDs (src/include/catalog/pg_type.dat); fixed across PostgreSQL versions.
namespace pg_type {
inline constexpr uint32_t kBool = 16;
inline constexpr uint32_t kBytea = 17;
inline constexpr uint32_t kName = 19;
inline constexpr uint32_t kInt8 = 20;
inline constexpr uint32_t kInt2 = 21;
inline constexpr uint32_t kInt4 = 23;
inline constexpr uint32_t kText = 25;
inline constexpr uint32_t kOid = 26;
inline constexpr uint32_t kJson = 114;
inline constexpr uint32_t kFloat4 = 700;
inline constexpr uint32_t kFloat8 = 701;
inline constexpr uint32_t kBpchar = 1042;
inline constexpr uint32_t kVarchar = 1043;
inline constexpr uint32_t kDate = 1082;
inline constexpr uint32_t kTime = 1083;
inline constexpr uint32_t kTimestamp = 1114;
inline constexpr uint32_t kTimestampTz = 1184;
inline constexpr uint32_t kNumeric = 1700;
inline constexpr uint32_t kUuid = 2950;
inline constexpr uint32_t kJsonb = 3802;
}  // namespace pg_type

// ---- Reading: COPY ... TO STDOUT (FORMAT binary)

// The kind DecodePgBinaryField makes of a field of type `type_oid` (the kind PostgresKind gives
// the type's name), or nullopt when there is no decoder for that type.
std::optional<TypeKind> PgBinaryDecodedKind(uint32_t type_oid);

// The Value of one non-NULL field. It equals what the text path makes of the server's text
// output of the same datum (ParseTextInputForm of it, with the connector's session settings):
// numerics as normalised decimals, real as the double its shortest text reads as, timestamps in
// microseconds since 1970. Errors: malformed bytes, and values no Value holds (timestamps past
// 294247 AD), as InvalidArgument naming the type. Precondition: PgBinaryDecodedKind(type_oid).
[[nodiscard]] Result<Value> DecodePgBinaryField(uint32_t type_oid, std::string_view bytes);
// The same into *out, reusing its string's capacity (Value::AssignText): the reader's hot path.
[[nodiscard]] Status DecodePgBinaryField(uint32_t type_oid, std::string_view bytes, Value* out);

// One field of a tuple: `size` < 0 for NULL.
struct PgCopyField {
  const char* data = nullptr;
  int32_t size = -1;
};

enum class PgCopyParse {
  kNeedMore,  // `data` ends before the header or the tuple does: append more and call again
  kTuple,     // one tuple parsed
  kEnd,       // the trailer
};

// Parses the header at the front of `data`: true with `*consumed` its size, or false when `data`
// ends before it does. Errors (kDataLoss): a wrong signature, OIDs or other critical flags.
[[nodiscard]] Result<bool> ParsePgCopyHeader(std::string_view data, size_t* consumed);

// Parses the tuple (or the trailer) at the front of `data`: on kTuple, `fields` holds one entry
// per column pointing into `data`, and `*consumed` is the tuple's size; on kEnd, `*consumed` is
// the trailer's. Errors (kDataLoss): a field count other than `columns`, a length below -1.
[[nodiscard]] Result<PgCopyParse> ParsePgCopyTuple(std::string_view data, size_t columns,
                                                   std::vector<PgCopyField>* fields,
                                                   size_t* consumed);

// Decodes a parsed tuple's fields into *row (resized to `types.size()`), reusing its values'
// capacity. On an error, `*failed_column` is the column whose field did not decode.
[[nodiscard]] Status DecodePgBinaryRow(std::span<const uint32_t> types,
                                       std::span<const PgCopyField> fields, std::vector<Value>* row,
                                       size_t* failed_column);

// The unparsed bytes of a COPY stream received message by message. COPY TO sends a tuple per
// message, so a message is parsed where it lies; only bytes left over from one message (a tuple
// cut across messages) are copied together with the next.
class PgCopyBuffer {
 public:
  // A message and how to free it (libpq's PQfreemem).
  using Message = std::unique_ptr<char, void (*)(void*)>;

  // Appends `size` bytes at `message`, which the buffer frees when done with them.
  void Add(Message message, size_t size);
  std::string_view unparsed() const { return unparsed_; }
  // Drops the first `n` unparsed bytes (n <= unparsed().size()).
  void Consume(size_t n) { unparsed_.remove_prefix(n); }

 private:
  Message message_{nullptr, nullptr};  // the last message when unparsed_ lies in it
  std::string pending_;                // otherwise the bytes unparsed_ lies in
  std::string_view unparsed_;
};

// ---- Writing: COPY ... FROM STDIN (FORMAT binary)

// Whether values can be sent to a column of type `type_oid` in binary. The server still applies
// the column's type modifier (varchar(n), char(n), numeric(p,s), timestamp(p)) through the
// type's recv function, as it does for text.
bool PgBinaryCanEncode(uint32_t type_oid);

// The header, with no flags and no extension, and the trailer.
void AppendPgCopyHeader(std::string* out);
void AppendPgCopyTrailer(std::string* out);
// Starts a tuple of `fields` fields; then one AppendPgBinaryField or AppendPgBinaryNull each.
void AppendPgCopyTupleStart(size_t fields, std::string* out);
void AppendPgBinaryNull(std::string* out);

// How a value went into the binary stream.
enum class PgEncode {
  kDone,      // appended
  kNeedsText  // nothing appended: this value has no binary form for this column (its kind is
              // not one this type takes in binary, e.g. text into an integer column, which
              // PostgreSQL's text input parses); the caller sends it, and the rest, as text
};

// Appends the length-prefixed field of non-NULL `value` for a column of type `type_oid`
// (PgBinaryCanEncode). A value of the column's own kind is sent as is; a few other kinds convert
// exactly as PostgreSQL's text input would read their text form: an int64 or float64 into
// numeric, an int64 into a float, a timestamp into timestamptz and back (the session is UTC), any
// kind into text, varchar and char as TextInputForm. Errors (InvalidArgument, nothing appended):
// the value does not fit the type, e.g. "70000 is out of range for smallint (-32768 to 32767)";
// the message says what would fit.
[[nodiscard]] Result<PgEncode> AppendPgBinaryField(uint32_t type_oid, const Value& value,
                                                   std::string* out);

// A wider type for `--cast` when a value does not fit a column of `type_oid` ("bigint" for
// smallint and integer, "double precision" for real); empty when there is none (dates and
// timestamps beyond PostgreSQL's range fit no type).
std::string_view PgWiderType(uint32_t type_oid);

}  // namespace ferry::connect_internal

#endif  // FERRY_CONNECT_PG_BINARY_H_
