// Records to a data file: the inverse of RecordReader's framing, for `ferry copybook encode`
// and for tests that need V, VB and text files.
//
// F writes each record as it is; V puts a record descriptor word before each (the payload's
// length minus rdw_adjustment, in two bytes of the chosen byte order, then two zero bytes); VB
// gathers such records into blocks of at most `block_size` bytes, each after a block
// descriptor word (the block's length minus bdw_adjustment, big-endian); text ends each record
// with NL (0x15) in EBCDIC or LF in ASCII. The writer appends to a string the caller flushes.
//
// Thread-safety: a writer is used by one thread at a time.
#ifndef FERRY_LEGACY_RECORD_WRITER_H_
#define FERRY_LEGACY_RECORD_WRITER_H_

#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"
#include "legacy/record_reader.h"

namespace ferry::legacy {

class RecordWriter {
 public:
  // `options` as the reader takes them (format, rdw_big_endian, rdw_adjustment,
  // bdw_adjustment, ebcdic_text); `block_size` is VB's largest block, descriptor included.
  explicit RecordWriter(const FramingOptions& options, int64_t block_size = 32760);

  // Appends one record's framing and bytes to `out` (for VB, into the pending block, which
  // Finish or a block that fills writes). InvalidArgument when the record cannot be framed: too
  // long for a descriptor word or a block, or a text record holding its own line end.
  [[nodiscard]] Status Add(std::span<const uint8_t> record, std::string* out);
  // Writes VB's last block to `out`; a no-op for the other formats.
  void Finish(std::string* out);

 private:
  void FlushBlock(std::string* out);

  FramingOptions options_;
  int64_t block_size_;
  std::string block_;  // VB: the records of the block being filled, with their RDWs
};

}  // namespace ferry::legacy

#endif  // FERRY_LEGACY_RECORD_WRITER_H_
