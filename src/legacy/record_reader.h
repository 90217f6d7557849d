// Splits a data file into records: fixed length (F), variable length with a record descriptor
// word before each record (V), blocks of such records behind a block descriptor word (VB), and
// text lines. It streams: memory holds one read buffer (and the largest record), whatever the
// file's size.
//
// Descriptor words (z/OS DFSMS "Using Data Sets", "Format-V records"): a 4-byte RDW whose first
// two bytes are the record's length, z/OS counting the RDW itself; a 4-byte BDW likewise before
// each block. `rdw_adjustment` turns the value into the payload length: -4 for z/OS's files
// (the default), 0 for files whose RDW holds the payload length (Cobrix's test files). As
// Cobrix does, when the first two bytes are zero and the last two are not, the length is read
// from the last two (so `00 00 40 00` is 64 little-endian).
//
// A file that does not frame (a fixed-length file whose size is not a multiple of the record
// length, an RDW of zero or running past the end of the file) yields the records before the
// fault, then one bad "record" with the offset and the reason, then the end: the bytes after a
// broken descriptor cannot be found again.
//
// Thread-safety: a RecordReader is used by one thread at a time.
#ifndef FERRY_LEGACY_RECORD_READER_H_
#define FERRY_LEGACY_RECORD_READER_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ferry::legacy {

enum class RecordFormat : uint8_t {
  kFixed,            // F: records of the copybook's size (or as the decoder measures them)
  kVariable,         // V: an RDW before each record
  kVariableBlocked,  // VB: blocks, each a BDW then RDW-prefixed records
  kText,             // lines ending in LF (ASCII) or NL/LF (EBCDIC: 0x15, 0x25); CR LF too
};

// "F", "V", "VB", "text" (also "FB" and "D" for text, as Cobrix names it).
[[nodiscard]] Result<RecordFormat> ParseRecordFormat(std::string_view name);
std::string_view RecordFormatName(RecordFormat format);

// The bytes of a data file, read in order.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `size` bytes; 0 at the end. Errors name the file.
  virtual Result<size_t> Read(uint8_t* buffer, size_t size) = 0;
  // The total size in bytes, when known (-1 otherwise).
  virtual int64_t size() const = 0;

  // A file opened for reading (NotFound, PermissionDenied name the path).
  [[nodiscard]] static Result<std::unique_ptr<ByteSource>> OpenFile(const std::string& path);
  // Bytes in memory, which must outlive the source.
  static std::unique_ptr<ByteSource> FromMemory(std::string_view bytes);
};

struct FramingOptions {
  RecordFormat format = RecordFormat::kFixed;
  // F: bytes per record. 0 with no `record_length` callback is an error.
  int64_t record_length = 0;
  // F with records whose length depends on their content (variable-size OCCURS, a length
  // field): given the bytes from the record's start (at least `max_record_length` of them, or
  // all that remain), returns the record's length, or -1 with *error set.
  std::function<int64_t(std::span<const uint8_t>, std::string*)> record_length_of;
  int64_t max_record_length = 0;
  bool rdw_big_endian = true;
  int32_t rdw_adjustment = -4;      // added to each RDW's value: the payload length
  int32_t bdw_adjustment = -4;      // added to each BDW's value: the bytes of records that follow
  bool ebcdic_text = true;          // kText: EBCDIC line ends (0x15, 0x25) rather than ASCII's
  int64_t file_start_offset = 0;    // bytes to skip at the file's start (a header)
  int64_t file_end_offset = 0;      // bytes to leave at its end (a trailer); needs a known size
  int32_t record_start_offset = 0;  // bytes each record loses at its start
  int32_t record_end_offset = 0;    // and at its end
};

struct RawRecord {
  int64_t offset = 0;             // file offset of the record (of its RDW for V and VB)
  std::span<const uint8_t> data;  // the payload, valid until the next Next call
  int64_t payload_offset = 0;     // file offset of data[0]
};

class RecordReader {
 public:
  RecordReader(ByteSource* source, FramingOptions options);

  enum class Outcome : uint8_t { kRecord, kEnd, kBad };
  // The next record; kBad: the file does not frame at *record's offset, *error says why, and
  // the next call returns kEnd.
  [[nodiscard]] Result<Outcome> Next(RawRecord* record, std::string* error);

  int64_t bytes_read() const { return consumed_; }

 private:
  // Makes at least `n` bytes available from buffer_[pos_] (fewer at the end of the data).
  Status Fill(size_t n);
  size_t available() const { return end_ - pos_; }
  const uint8_t* data() const { return buffer_.data() + pos_; }
  Outcome Bad(RawRecord* record, std::string* error, std::string reason);
  Result<Outcome> Emit(RawRecord* record, std::string* error, int64_t header, int64_t length);
  int64_t DescriptorLength(const uint8_t* p, bool big_endian) const;

  ByteSource* source_;
  FramingOptions options_;
  std::vector<uint8_t> buffer_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  bool started_ = false;
  bool done_ = false;
  int64_t consumed_ = 0;    // file offset of buffer_[pos_]
  int64_t limit_ = -1;      // file offset where the data ends (file_end_offset), -1: EOF
  int64_t block_left_ = 0;  // VB: bytes of records left in the current block
};

}  // namespace ferry::legacy

#endif  // FERRY_LEGACY_RECORD_READER_H_
