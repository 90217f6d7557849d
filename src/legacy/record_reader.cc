#include "legacy/record_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace ferry::legacy {
namespace {

constexpr size_t kReadChunk = size_t{1} << 20;

class FileSource : public ByteSource {
 public:
  FileSource(std::FILE* file, std::string path, int64_t size)
      : file_(file), path_(std::move(path)), size_(size) {}
  ~FileSource() override { std::fclose(file_); }
  Result<size_t> Read(uint8_t* buffer, size_t size) override {
    const size_t n = std::fread(buffer, 1, size, file_);
    if (n < size && std::ferror(file_)) {
      return Err(Unavailable("{}: read failed: {}", path_, std::strerror(errno)));
    }
    return n;
  }
  int64_t size() const override { return size_; }

 private:
  std::FILE* file_;
  std::string path_;
  int64_t size_;
};

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  Result<size_t> Read(uint8_t* buffer, size_t size) override {
    const size_t n = std::min(size, bytes_.size() - pos_);
    std::memcpy(buffer, bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  int64_t size() const override { return static_cast<int64_t>(bytes_.size()); }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

std::string Hex(const uint8_t* p, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += fmt::format("{}{:02X}", i == 0 ? "" : " ", p[i]);
  return out;
}

}  // namespace

Result<RecordFormat> ParseRecordFormat(std::string_view name) {
  std::string n(name);
  for (char& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (n == "F" || n == "FB" || n == "FIXED") return RecordFormat::kFixed;
  if (n == "V" || n == "VARIABLE") return RecordFormat::kVariable;
  if (n == "VB") return RecordFormat::kVariableBlocked;
  if (n == "TEXT" || n == "D" || n == "LINES") return RecordFormat::kText;
  return Err(InvalidArgument("record format `{}`: expected F, V, VB or text", name));
}

std::string_view RecordFormatName(RecordFormat format) {
  switch (format) {
    case RecordFormat::kFixed: return "F";
    case RecordFormat::kVariable: return "V";
    case RecordFormat::kVariableBlocked: return "VB";
    case RecordFormat::kText: return "text";
  }
  return "?";
}

Result<std::unique_ptr<ByteSource>> ByteSource::OpenFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int err = errno;
    if (err == ENOENT) return Err(NotFound("{}: no such file", path));
    if (err == EACCES) return Err(PermissionDenied("{}: permission denied", path));
    return Err(Unavailable("{}: cannot open: {}", path, std::strerror(err)));
  }
  struct stat st{};
  int64_t size = -1;
  if (::fstat(::fileno(file), &st) == 0 && S_ISREG(st.st_mode)) size = st.st_size;
  return std::unique_ptr<ByteSource>(new FileSource(file, path, size));
}

std::unique_ptr<ByteSource> ByteSource::FromMemory(std::string_view bytes) {
  return std::make_unique<MemorySource>(bytes);
}

RecordReader::RecordReader(ByteSource* source, FramingOptions options)
    : source_(source), options_(std::move(options)) {}

Status RecordReader::Fill(size_t n) {
  if (available() >= n || eof_) return OkStatus();
  if (pos_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (buffer_.size() < std::max(n, kReadChunk)) {
    buffer_.resize(std::max(n, kReadChunk) + kReadChunk);
  }
  while (end_ < n && !eof_) {
    FERRY_ASSIGN_OR_RETURN(size_t got, source_->Read(buffer_.data() + end_, buffer_.size() - end_));
    if (got == 0) eof_ = true;
    end_ += got;
  }
  if (limit_ >= 0) {
    const int64_t allowed = std::max<int64_t>(0, limit_ - consumed_);
    if (static_cast<int64_t>(end_ - pos_) > allowed) {
      end_ = pos_ + static_cast<size_t>(allowed);
      eof_ = true;
    }
  }
  return OkStatus();
}

RecordReader::Outcome RecordReader::Bad(RawRecord* record, std::string* error, std::string reason) {
  record->offset = consumed_;
  record->payload_offset = consumed_;
  record->data = std::span<const uint8_t>(data(), available());
  *error = std::move(reason);
  done_ = true;
  return Outcome::kBad;
}

Result<RecordReader::Outcome> RecordReader::Emit(RawRecord* record, std::string*, int64_t header,
                                                 int64_t length) {
  const int64_t cut_start = options_.record_start_offset;
  const int64_t cut_end = options_.record_end_offset;
  const int64_t payload = std::max<int64_t>(0, length - cut_start - cut_end);
  record->offset = consumed_;
  record->payload_offset = consumed_ + header + std::min(cut_start, length);
  record->data = std::span<const uint8_t>(data() + header + std::min(cut_start, length),
                                          static_cast<size_t>(payload));
  pos_ += static_cast<size_t>(header + length);
  consumed_ += header + length;
  return Outcome::kRecord;
}

int64_t RecordReader::DescriptorLength(const uint8_t* p, bool big_endian) const {
  const bool low_pair = p[0] == 0 && p[1] == 0 && (p[2] != 0 || p[3] != 0);
  const uint8_t a = low_pair ? p[2] : p[0];
  const uint8_t b = low_pair ? p[3] : p[1];
  return big_endian ? (a << 8) | b : (b << 8) | a;
}

Result<RecordReader::Outcome> RecordReader::Next(RawRecord* record, std::string* error) {
  if (done_) return Outcome::kEnd;
  if (!started_) {
    started_ = true;
    if (options_.file_end_offset > 0) {
      if (source_->size() < 0) {
        return Err(InvalidArgument("a file end offset needs a file of known size"));
      }
      limit_ = std::max<int64_t>(0, source_->size() - options_.file_end_offset);
    }
    int64_t skip = options_.file_start_offset;
    while (skip > 0) {
      FERRY_RETURN_IF_ERROR(Fill(static_cast<size_t>(std::min<int64_t>(skip, kReadChunk))));
      if (available() == 0) break;
      const auto step = static_cast<size_t>(std::min(skip, static_cast<int64_t>(available())));
      pos_ += step;
      consumed_ += static_cast<int64_t>(step);
      skip -= static_cast<int64_t>(step);
    }
  }
  switch (options_.format) {
    case RecordFormat::kFixed: {
      FERRY_RETURN_IF_ERROR(Fill(1));
      if (available() == 0) return Outcome::kEnd;
      int64_t length = options_.record_length;
      if (options_.record_length_of) {
        FERRY_RETURN_IF_ERROR(Fill(static_cast<size_t>(options_.max_record_length)));
        std::string why;
        length = options_.record_length_of(
            std::span<const uint8_t>(
                data(),
                std::min<size_t>(available(), static_cast<size_t>(options_.max_record_length))),
            &why);
        if (length <= 0) {
          return Bad(record, error,
                     why.empty() ? fmt::format("a record length of {}", length) : why);
        }
      }
      if (length <= 0) return Err(InvalidArgument("fixed-length records need a record length"));
      FERRY_RETURN_IF_ERROR(Fill(static_cast<size_t>(length)));
      if (available() < static_cast<size_t>(length)) {
        return Bad(
            record, error,
            fmt::format("the last {} bytes are a partial record: the data ({} bytes) is not "
                        "a multiple of the record length {}; check the copybook, or the "
                        "record format (--record-format V for RDW-prefixed records)",
                        available(),
                        consumed_ + static_cast<int64_t>(available()) - options_.file_start_offset,
                        length));
      }
      return Emit(record, error, 0, length);
    }
    case RecordFormat::kVariable:
    case RecordFormat::kVariableBlocked: {
      const bool blocked = options_.format == RecordFormat::kVariableBlocked;
      if (blocked && block_left_ == 0) {
        FERRY_RETURN_IF_ERROR(Fill(4));
        if (available() == 0) return Outcome::kEnd;
        if (available() < 4) {
          return Bad(record, error,
                     fmt::format("a truncated block descriptor word ({} bytes)", available()));
        }
        const uint8_t* p = data();
        // An extended BDW (high bit set) holds a 31-bit length in all four bytes.
        const int64_t value =
            (p[0] & 0x80) != 0 ? ((int64_t{p[0] & 0x7F} << 24) | (p[1] << 16) | (p[2] << 8) | p[3])
                               : DescriptorLength(p, true);
        const int64_t block = value + options_.bdw_adjustment;
        if (block <= 0) {
          return Bad(record, error,
                     fmt::format("block descriptor word {} gives a block of {} bytes (BDW "
                                 "adjustment {})",
                                 Hex(p, 4), block, options_.bdw_adjustment));
        }
        pos_ += 4;
        consumed_ += 4;
        block_left_ = block;
      }
      FERRY_RETURN_IF_ERROR(Fill(4));
      if (available() == 0) {
        if (blocked) return Bad(record, error, "the file ends inside a block");
        return Outcome::kEnd;
      }
      if (available() < 4) {
        return Bad(record, error,
                   fmt::format("a truncated record descriptor word ({} bytes)", available()));
      }
      const int64_t length =
          DescriptorLength(data(), options_.rdw_big_endian) + options_.rdw_adjustment;
      if (length <= 0) {
        return Bad(record, error,
                   fmt::format("record descriptor word {} gives a record of {} bytes (RDW {} "
                               "endian, adjustment {}); is the RDW's byte order or adjustment "
                               "right?",
                               Hex(data(), 4), length, options_.rdw_big_endian ? "big" : "little",
                               options_.rdw_adjustment));
      }
      if (blocked && 4 + length > block_left_) {
        return Bad(record, error,
                   fmt::format("a record of {} bytes crosses the end of its block ({} bytes left)",
                               length, block_left_ - 4));
      }
      FERRY_RETURN_IF_ERROR(Fill(static_cast<size_t>(4 + length)));
      if (available() < static_cast<size_t>(4 + length)) {
        return Bad(record, error,
                   fmt::format("record descriptor word {} announces {} bytes, but only {} "
                               "remain; is the RDW's byte order or adjustment right?",
                               Hex(data(), 4), length, available() - 4));
      }
      if (blocked) block_left_ -= 4 + length;
      return Emit(record, error, 4, length);
    }
    case RecordFormat::kText: {
      while (true) {
        size_t want = std::max<size_t>(available() * 2, 4096);
        size_t line_end = 0;
        bool found = false;
        const uint8_t* p = data();
        for (; line_end < available(); ++line_end) {
          const uint8_t b = p[line_end];
          if (options_.ebcdic_text ? (b == 0x15 || b == 0x25) : b == '\n') {
            found = true;
            break;
          }
        }
        if (!found && !eof_) {
          FERRY_RETURN_IF_ERROR(Fill(want));
          continue;
        }
        if (!found && available() == 0) return Outcome::kEnd;
        size_t length = line_end;
        const uint8_t cr = options_.ebcdic_text ? 0x0D : '\r';
        if (length > 0 && p[length - 1] == cr) --length;
        const size_t advance = found ? line_end + 1 : line_end;
        if (length == 0) {  // an empty line is no record
          pos_ += advance;
          consumed_ += static_cast<int64_t>(advance);
          if (!found) return Outcome::kEnd;
          continue;
        }
        FERRY_ASSIGN_OR_RETURN(Outcome outcome,
                               Emit(record, error, 0, static_cast<int64_t>(length)));
        pos_ += advance - length;
        consumed_ += static_cast<int64_t>(advance - length);
        return outcome;
      }
    }
  }
  return Outcome::kEnd;
}

}  // namespace ferry::legacy
