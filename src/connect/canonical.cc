#include "connect/canonical.h"

#include <xxhash.h>

#include <bit>

#include <fmt/format.h>

namespace ferry {
namespace {

// Tags of format version 1 (canonical.h). Never renumber.
enum Tag : uint8_t {
  kTagNull = 0x00,
  kTagBool = 0x01,
  kTagInt64 = 0x02,
  kTagDecimal = 0x03,
  kTagFloat64 = 0x04,
  kTagText = 0x05,
  kTagBytes = 0x06,
  kTagDate = 0x07,
  kTagTime = 0x08,
  kTagTimestamp = 0x09,
  kTagTimestampTz = 0x0a,
  kTagUuid = 0x0b,
  kTagJson = 0x0c,
};

Tag TagOf(TypeKind kind) {
  switch (kind) {
    case TypeKind::kBool: return kTagBool;
    case TypeKind::kInt64: return kTagInt64;
    case TypeKind::kDecimal: return kTagDecimal;
    case TypeKind::kFloat64: return kTagFloat64;
    case TypeKind::kText: return kTagText;
    case TypeKind::kBytes: return kTagBytes;
    case TypeKind::kDate: return kTagDate;
    case TypeKind::kTime: return kTagTime;
    case TypeKind::kTimestamp: return kTagTimestamp;
    case TypeKind::kTimestampTz: return kTagTimestampTz;
    case TypeKind::kUuid: return kTagUuid;
    case TypeKind::kJson: return kTagJson;
  }
  return kTagNull;  // unreachable: every kind is listed
}

template <typename T>
void AppendBigEndian(T value, std::string* out) {
  auto bits = static_cast<std::make_unsigned_t<T>>(value);
  char bytes[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) {
    bytes[sizeof(T) - 1 - i] = static_cast<char>(bits & 0xff);
    bits = static_cast<decltype(bits)>(bits >> 8);
  }
  out->append(bytes, sizeof(T));
}

void AppendLengthPrefixed(std::string_view data, std::string* out) {
  AppendBigEndian<uint64_t>(data.size(), out);
  out->append(data);
}

// Reading, for DecodeCanonical.
class Reader {
 public:
  Reader(std::string_view in, size_t base_offset) : in_(in), base_(base_offset) {}

  template <typename T>
  Result<T> BigEndian(std::string_view what) {
    FERRY_ASSIGN_OR_RETURN(std::string_view bytes, Take(sizeof(T), what));
    std::make_unsigned_t<T> bits = 0;
    for (char c : bytes) {
      bits = static_cast<decltype(bits)>((bits << 8) | static_cast<unsigned char>(c));
    }
    return static_cast<T>(bits);
  }

  Result<std::string_view> Take(uint64_t n, std::string_view what) {
    if (n > in_.size() - pos_) {
      return Err(DataLoss("canonical value at byte {}: {} needs {} bytes, {} remain", base_, what,
                          n, in_.size() - pos_));
    }
    std::string_view bytes = in_.substr(pos_, n);
    pos_ += n;
    return bytes;
  }

  Result<std::string_view> LengthPrefixed(std::string_view what) {
    FERRY_ASSIGN_OR_RETURN(uint64_t length, BigEndian<uint64_t>("a length"));
    return Take(length, what);
  }

  size_t consumed() const { return pos_; }

 private:
  std::string_view in_;
  size_t base_;
  size_t pos_ = 0;
};

// A payload that reads but is not the canonical form of its kind.
Status NotCanonical(size_t offset, std::string_view kind, std::string_view why) {
  return DataLoss("canonical value at byte {}: {} {}", offset, kind, why);
}

// Re-parses text-bodied kinds and checks that parsing returns the same text.
Result<Value> CheckCanonicalText(Result<Value> parsed, std::string_view text, size_t offset,
                                 std::string_view kind) {
  if (!parsed) return Err(NotCanonical(offset, kind, parsed.error().message()));
  if (parsed->str() != text) {
    return Err(NotCanonical(
        offset, kind,
        fmt::format("text is not in canonical form (canonical: {})", parsed->ToDisplay())));
  }
  return parsed;
}

Result<Value> DecodeOne(std::string_view in, size_t offset, size_t* consumed) {
  Reader reader(in, offset);
  FERRY_ASSIGN_OR_RETURN(uint8_t tag, reader.BigEndian<uint8_t>("the tag"));
  Value value;
  switch (tag) {
    case kTagNull: break;
    case kTagBool: {
      FERRY_ASSIGN_OR_RETURN(uint8_t b, reader.BigEndian<uint8_t>("a bool"));
      if (b > 1) return Err(NotCanonical(offset, "bool", fmt::format("byte is {:02x}", b)));
      value = Value::Bool(b == 1);
      break;
    }
    case kTagInt64: {
      FERRY_ASSIGN_OR_RETURN(int64_t i, reader.BigEndian<int64_t>("an int64"));
      value = Value::Int64(i);
      break;
    }
    case kTagDecimal: {
      FERRY_ASSIGN_OR_RETURN(std::string_view text, reader.LengthPrefixed("a decimal"));
      FERRY_ASSIGN_OR_RETURN(value,
                             CheckCanonicalText(ParseDecimal(text), text, offset, "decimal"));
      break;
    }
    case kTagFloat64: {
      FERRY_ASSIGN_OR_RETURN(uint64_t bits, reader.BigEndian<uint64_t>("a float64"));
      value = Value::Float64(std::bit_cast<double>(bits));
      if (std::bit_cast<uint64_t>(value.float64_value()) != bits) {
        return Err(NotCanonical(offset, "float64",
                                fmt::format("bits {:016x} are a non-canonical NaN or -0", bits)));
      }
      break;
    }
    case kTagText: {
      FERRY_ASSIGN_OR_RETURN(std::string_view text, reader.LengthPrefixed("a text"));
      Status valid = ValidateUtf8(text);
      if (!valid.ok()) return Err(NotCanonical(offset, "text", valid.message()));
      value = Value::Text(std::string(text));
      break;
    }
    case kTagBytes: {
      FERRY_ASSIGN_OR_RETURN(std::string_view bytes, reader.LengthPrefixed("a bytes value"));
      value = Value::Bytes(std::string(bytes));
      break;
    }
    case kTagDate: {
      FERRY_ASSIGN_OR_RETURN(int32_t days, reader.BigEndian<int32_t>("a date"));
      value = Value::Date(days);
      break;
    }
    case kTagTime: {
      FERRY_ASSIGN_OR_RETURN(int64_t micros, reader.BigEndian<int64_t>("a time"));
      if (micros < 0 || micros > kMicrosPerDay) {
        return Err(NotCanonical(offset, "time", fmt::format("{} us is not a time of day", micros)));
      }
      value = Value::Time(micros);
      break;
    }
    case kTagTimestamp: {
      FERRY_ASSIGN_OR_RETURN(int64_t micros, reader.BigEndian<int64_t>("a timestamp"));
      value = Value::Timestamp(micros);
      break;
    }
    case kTagTimestampTz: {
      FERRY_ASSIGN_OR_RETURN(int64_t micros, reader.BigEndian<int64_t>("a timestamptz"));
      value = Value::TimestampTz(micros);
      break;
    }
    case kTagUuid: {
      FERRY_ASSIGN_OR_RETURN(std::string_view bytes, reader.Take(16, "a uuid"));
      UuidBytes uuid{};
      for (size_t i = 0; i < uuid.size(); ++i) uuid[i] = static_cast<uint8_t>(bytes[i]);
      value = Value::Uuid(uuid);
      break;
    }
    case kTagJson: {
      FERRY_ASSIGN_OR_RETURN(std::string_view text, reader.LengthPrefixed("a json value"));
      FERRY_ASSIGN_OR_RETURN(value, CheckCanonicalText(ParseJsonValue(text), text, offset, "json"));
      break;
    }
    default:
      return Err(DataLoss("canonical value at byte {}: unknown tag {:02x} (format version {})",
                          offset, tag, kCanonicalFormatVersion));
  }
  *consumed = reader.consumed();
  return value;
}

// *sum += addend modulo 2^128, carrying from the low half into the high half.
void AddModulo128(const Hash128& addend, Hash128* sum) {
  uint64_t low = sum->low + addend.low;
  sum->high += addend.high + (low < sum->low ? 1 : 0);
  sum->low = low;
}

}  // namespace

void AppendCanonical(const Value& v, std::string* out) {
  if (v.is_null()) {
    out->push_back(static_cast<char>(kTagNull));
    return;
  }
  out->push_back(static_cast<char>(TagOf(v.kind())));
  switch (v.kind()) {
    case TypeKind::kBool: out->push_back(v.bool_value() ? '\x01' : '\x00'); return;
    case TypeKind::kFloat64:
      // Value::Float64 already made NaN and -0 canonical.
      AppendBigEndian(std::bit_cast<uint64_t>(v.float64_value()), out);
      return;
    case TypeKind::kDate: AppendBigEndian(v.date_days(), out); return;
    case TypeKind::kInt64:
    case TypeKind::kTime:
    case TypeKind::kTimestamp:
    case TypeKind::kTimestampTz: AppendBigEndian(v.int64_value(), out); return;
    case TypeKind::kUuid:
      out->append(reinterpret_cast<const char*>(v.uuid().data()), v.uuid().size());
      return;
    case TypeKind::kDecimal:
    case TypeKind::kText:
    case TypeKind::kBytes:
    case TypeKind::kJson: AppendLengthPrefixed(v.str(), out); return;
  }
}

std::string CanonicalRow(std::span<const Value> row) {
  std::string out;
  for (const Value& v : row) AppendCanonical(v, &out);
  return out;
}

size_t CanonicalSize(const Value& v) {
  if (v.is_null()) return 1;
  switch (v.kind()) {
    case TypeKind::kBool: return 1 + 1;
    case TypeKind::kDate: return 1 + sizeof(int32_t);
    case TypeKind::kFloat64:
    case TypeKind::kInt64:
    case TypeKind::kTime:
    case TypeKind::kTimestamp:
    case TypeKind::kTimestampTz: return 1 + sizeof(int64_t);
    case TypeKind::kUuid: return 1 + sizeof(UuidBytes);
    case TypeKind::kDecimal:
    case TypeKind::kText:
    case TypeKind::kBytes:
    case TypeKind::kJson: return 1 + sizeof(uint64_t) + v.str().size();
  }
  return 1;
}

size_t CanonicalRowSize(std::span<const Value> row) {
  size_t size = 0;
  for (const Value& v : row) size += CanonicalSize(v);
  return size;
}

Result<Value> DecodeCanonical(std::string_view* in) {
  size_t consumed = 0;
  FERRY_ASSIGN_OR_RETURN(Value value, DecodeOne(*in, 0, &consumed));
  in->remove_prefix(consumed);
  return value;
}

Result<std::vector<Value>> DecodeCanonicalRow(std::string_view encoded) {
  std::vector<Value> row;
  size_t offset = 0;
  while (offset < encoded.size()) {
    size_t consumed = 0;
    FERRY_ASSIGN_OR_RETURN(Value value, DecodeOne(encoded.substr(offset), offset, &consumed));
    row.push_back(std::move(value));
    offset += consumed;
  }
  return row;
}

Hash128 RowHash(std::string_view canonical_row) {
  XXH128_hash_t h = XXH3_128bits(canonical_row.data(), canonical_row.size());
  return Hash128{.high = h.high64, .low = h.low64};
}

void ChunkChecksum::AddRowHash(const Hash128& hash) {
  ++rows;
  AddModulo128(hash, &sum);
}

ChunkChecksum& ChunkChecksum::operator+=(const ChunkChecksum& other) {
  rows += other.rows;
  AddModulo128(other.sum, &sum);
  return *this;
}

std::string ChunkChecksum::ToHex() const {
  return fmt::format("{:016x}{:016x}", sum.high, sum.low);
}

Result<ChunkChecksum> ChunkChecksum::FromHex(int64_t rows, std::string_view hex) {
  auto bad = [&] {
    return Err(InvalidArgument("chunk checksum `{}`: expected 32 hex digits", hex));
  };
  if (hex.size() != 32) return bad();
  ChunkChecksum checksum;
  checksum.rows = rows;
  for (size_t i = 0; i < 32; ++i) {
    char c = hex[i];
    int digit = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
    if (digit < 0) return bad();
    uint64_t& half = i < 16 ? checksum.sum.high : checksum.sum.low;
    half = (half << 4) | static_cast<uint64_t>(digit);
  }
  return checksum;
}

void RowHasher::AddRow(std::span<const Value> row) {
  buffer_.clear();
  for (const Value& v : row) AppendCanonical(v, &buffer_);
  checksum_.AddRowHash(RowHash(buffer_));
}

void RowHasher::AddCanonicalRow(std::string_view canonical_row) {
  checksum_.AddRowHash(RowHash(canonical_row));
}

}  // namespace ferry
