#include "legacy/record_writer.h"

#include <algorithm>

#include <fmt/format.h>

namespace ferry::legacy {
namespace {

// A descriptor word's four bytes for `value`: two bytes of length, then two zero bytes.
void AppendDescriptor(int64_t value, bool big_endian, std::string* out) {
  const auto high = static_cast<char>((value >> 8) & 0xFF);
  const auto low = static_cast<char>(value & 0xFF);
  out->push_back(big_endian ? high : low);
  out->push_back(big_endian ? low : high);
  out->push_back('\0');
  out->push_back('\0');
}

}  // namespace

RecordWriter::RecordWriter(const FramingOptions& options, int64_t block_size)
    : options_(options), block_size_(block_size) {}

Status RecordWriter::Add(std::span<const uint8_t> record, std::string* out) {
  const auto size = static_cast<int64_t>(record.size());
  const char* bytes = reinterpret_cast<const char*>(record.data());
  switch (options_.format) {
    case RecordFormat::kFixed: out->append(bytes, record.size()); return OkStatus();
    case RecordFormat::kText: {
      const char end = options_.ebcdic_text ? '\x15' : '\n';
      const bool holds_end = std::ranges::any_of(record, [&](uint8_t b) {
        return b == static_cast<uint8_t>(end) || (options_.ebcdic_text ? b == 0x25 : b == '\r');
      });
      if (holds_end) {
        return InvalidArgument(
            "a record of {} bytes holds a line-end byte, so it cannot be a text line; use "
            "--record-format F, V or VB",
            size);
      }
      out->append(bytes, record.size());
      out->push_back(end);
      return OkStatus();
    }
    case RecordFormat::kVariable:
    case RecordFormat::kVariableBlocked: {
      const int64_t rdw = size - options_.rdw_adjustment;
      if (size == 0 || rdw > 0xFFFF) {
        return InvalidArgument(
            "a record of {} bytes does not fit a record descriptor word (1 to {} bytes with "
            "adjustment {})",
            size, 0xFFFF + options_.rdw_adjustment, options_.rdw_adjustment);
      }
      std::string* to = out;
      if (options_.format == RecordFormat::kVariableBlocked) {
        const int64_t with_rdw = 4 + size;
        if (4 + with_rdw > block_size_) {
          return InvalidArgument(
              "a record of {} bytes does not fit a block of {} bytes; raise --block-size", size,
              block_size_);
        }
        if (4 + static_cast<int64_t>(block_.size()) + with_rdw > block_size_) FlushBlock(out);
        to = &block_;
      }
      AppendDescriptor(rdw, options_.rdw_big_endian, to);
      to->append(bytes, record.size());
      return OkStatus();
    }
  }
  return InvalidArgument("unknown record format");
}

void RecordWriter::FlushBlock(std::string* out) {
  if (block_.empty()) return;
  AppendDescriptor(static_cast<int64_t>(block_.size()) - options_.bdw_adjustment, true, out);
  out->append(block_);
  block_.clear();
}

void RecordWriter::Finish(std::string* out) {
  if (options_.format == RecordFormat::kVariableBlocked) FlushBlock(out);
}

}  // namespace ferry::legacy
