// ISO 8583 messages to bytes and back (Unpack, Pack), to JSON and back, PAN masking, checks.
// The wire rules are those of ISO 8583:1987 section 4 (MTI, bitmaps, data elements in bit
// order) and, for field 55, the BER-TLV coding of EMV 4.3 Book 3, annex B.
#include "legacy/iso8583.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iterator>

#include <fmt/format.h>

#include "legacy/codepage.h"

namespace ferry::legacy::iso8583 {
namespace {

constexpr char kHexDigits[] = "0123456789ABCDEF";

int HexNibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool IsBcd(Encoding e) { return e == Encoding::kBcd || e == Encoding::kBcdRightPad; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The bytes a value of `units` units takes on the wire.
int64_t WireSize(const FieldSpec& f, int64_t units) {
  switch (f.encoding) {
    case Encoding::kBcd:
    case Encoding::kBcdRightPad: return (units + 1) / 2;
    case Encoding::kHex: return units * 2;
    case Encoding::kAscii:
    case Encoding::kEbcdic: return units + (f.type == DataType::kSigned ? 1 : 0);
    default: return units;
  }
}

int PrefixBytes(const FieldSpec& f) {
  return IsBcd(f.prefix_encoding) ? (f.prefix_digits + 1) / 2 : f.prefix_digits;
}

// What a unit is, for messages.
std::string_view UnitName(const FieldSpec& f) {
  switch (f.type) {
    case DataType::kNumeric:
    case DataType::kSigned: return "digits";
    case DataType::kTrack:
    case DataType::kText: return "characters";
    default: return "bytes";
  }
}

// Bytes for an error message: as text when printable ASCII, else as hex.
std::string Shown(std::string_view bytes) {
  const bool printable = std::all_of(bytes.begin(), bytes.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F;
  });
  if (printable) return fmt::format("\"{}\"", bytes);
  return fmt::format("0x{}", ToHex(bytes));
}

// Names a field (or a sub-field of a composite) and a byte offset, for errors.
struct Place {
  const FieldSpec* parent = nullptr;  // the composite, for a sub-field
  size_t base = 0;                    // added to offsets within `in`

  std::string At(const FieldSpec& f, size_t offset) const {
    if (parent == nullptr)
      return fmt::format("{} ({}) at byte {}", f.Label(), f.Describe(), base + offset);
    return fmt::format("{} sub-field `{}` ({}) at byte {} of its value", parent->Label(), f.key,
                       f.Describe(), base + offset);
  }
  std::string Name(const FieldSpec& f) const {
    if (parent == nullptr) return fmt::format("{} ({})", f.Label(), f.Describe());
    return fmt::format("{} sub-field `{}` ({})", parent->Label(), f.key, f.Describe());
  }
};

void AppendLatin1AsUtf8(std::string_view bytes, std::string* out) {
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x80) {
      out->push_back(c);
    } else {
      out->push_back(static_cast<char>(0xC0 | (b >> 6)));
      out->push_back(static_cast<char>(0x80 | (b & 0x3F)));
    }
  }
}

// The next code point of UTF-8 text, or -1 when the bytes are not UTF-8.
int64_t NextCodePoint(std::string_view s, size_t* i) {
  const auto b0 = static_cast<unsigned char>(s[*i]);
  int extra = 0;
  int64_t cp = 0;
  if (b0 < 0x80) {
    ++*i;
    return b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    extra = 1, cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2, cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3, cp = b0 & 0x07;
  } else {
    return -1;
  }
  if (*i + extra >= s.size()) return -1;
  for (int k = 1; k <= extra; ++k) {
    const auto b = static_cast<unsigned char>(s[*i + k]);
    if ((b & 0xC0) != 0x80) return -1;
    cp = cp << 6 | (b & 0x3F);
  }
  *i += extra + 1;
  return cp;
}

// The characters of UTF-8 text (its units as a text field), or -1 when it is not UTF-8.
int64_t CountCodePoints(std::string_view s) {
  int64_t count = 0;
  for (size_t i = 0; i < s.size(); ++count) {
    if (NextCodePoint(s, &i) < 0) return -1;
  }
  return count;
}

// Decodes `wire`, exactly one value of `units` units, appending its text to `out`; sets *view
// instead when the value is the wire bytes unchanged and `view` is given.
Status DecodeWire(const Spec& spec, const FieldSpec& f, std::string_view wire, int64_t units,
                  const Place& place, size_t at, std::string* out, bool* view) {
  switch (f.encoding) {
    case Encoding::kAscii: {
      bool high = false;
      for (size_t i = 0; i < wire.size(); ++i) {
        const auto b = static_cast<unsigned char>(wire[i]);
        if (f.type == DataType::kNumeric && !IsDigit(wire[i])) {
          return InvalidArgument("{}: byte {} is {}, not a digit", place.At(f, at),
                                 place.base + at + i, Shown(wire.substr(i, 1)));
        }
        high |= b >= 0x80;
      }
      if (view != nullptr && !high) {
        *view = true;
        return OkStatus();
      }
      AppendLatin1AsUtf8(wire, out);
      return OkStatus();
    }
    case Encoding::kEbcdic: {
      const CodePage* page = spec.codepage();
      for (size_t i = 0; i < wire.size(); ++i) {
        const auto b = static_cast<uint8_t>(wire[i]);
        if (f.type == DataType::kNumeric && (b < 0xF0 || b > 0xF9)) {
          return InvalidArgument("{}: byte {} is 0x{:02X}, not an EBCDIC digit (0xF0-0xF9)",
                                 place.At(f, at), place.base + at + i, b);
        }
        if (!page->valid(b)) {
          return InvalidArgument("{}: byte {} is 0x{:02X}, which code page {} does not assign",
                                 place.At(f, at), place.base + at + i, b, page->name());
        }
        out->append(page->Utf8(b));
      }
      return OkStatus();
    }
    case Encoding::kBcd:
    case Encoding::kBcdRightPad: {
      const bool odd = (units & 1) != 0;
      const int64_t nibbles = static_cast<int64_t>(wire.size()) * 2;
      const int64_t pad_at = !odd ? -1 : (f.encoding == Encoding::kBcd ? 0 : nibbles - 1);
      for (int64_t k = 0; k < nibbles; ++k) {
        const auto b = static_cast<uint8_t>(wire[k / 2]);
        const int nibble = (k & 1) == 0 ? b >> 4 : b & 0x0F;
        if (k == pad_at) {
          if (nibble != f.pad_nibble) {
            return InvalidArgument(
                "{}: byte {} (0x{:02X}) pads the odd digit count with nibble {:X}, expected {:X}",
                place.At(f, at), place.base + at + k / 2, b, nibble, f.pad_nibble);
          }
          continue;
        }
        if (f.type == DataType::kTrack) {
          out->push_back(static_cast<char>('0' + nibble));
        } else if (nibble > 9) {
          return InvalidArgument("{}: byte {} (0x{:02X}) has the nibble {:X}, not a BCD digit 0-9",
                                 place.At(f, at), place.base + at + k / 2, b, nibble);
        } else {
          out->push_back(static_cast<char>('0' + nibble));
        }
      }
      return OkStatus();
    }
    case Encoding::kBinary:
    case Encoding::kBinaryLittle:
      if (view != nullptr) {
        *view = true;
        return OkStatus();
      }
      out->append(wire);
      return OkStatus();
    case Encoding::kHex:
      for (size_t i = 0; i < wire.size(); i += 2) {
        const int hi = HexNibble(wire[i]);
        const int lo = HexNibble(wire[i + 1]);
        if (hi < 0 || lo < 0) {
          return InvalidArgument("{}: bytes {}-{} are {}, not two hex digits", place.At(f, at),
                                 place.base + at + i, place.base + at + i + 1,
                                 Shown(wire.substr(i, 2)));
        }
        out->push_back(static_cast<char>(hi << 4 | lo));
      }
      return OkStatus();
    case Encoding::kUintBig:
    case Encoding::kUintLittle: {
      uint64_t v = 0;
      for (size_t i = 0; i < wire.size(); ++i) {
        const size_t k = f.encoding == Encoding::kUintBig ? i : wire.size() - 1 - i;
        v = v << 8 | static_cast<uint8_t>(wire[k]);
      }
      char buffer[24];
      auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
      out->append(buffer, end);
      return OkStatus();
    }
  }
  return OkStatus();
}

// Reads a length prefix (exactly PrefixBytes(f) bytes).
Result<int64_t> ReadPrefix(const FieldSpec& f, std::string_view wire, const Place& place,
                           size_t at) {
  int64_t v = 0;
  auto bad = [&](std::string_view expected) {
    return Err(InvalidArgument("{}: the length prefix {} is not {}", place.At(f, at), Shown(wire),
                               expected));
  };
  switch (f.prefix_encoding) {
    case Encoding::kAscii:
      for (char c : wire) {
        if (!IsDigit(c)) return bad(fmt::format("{} ASCII digits", wire.size()));
        v = v * 10 + (c - '0');
      }
      return v;
    case Encoding::kEbcdic:
      for (char c : wire) {
        const auto b = static_cast<uint8_t>(c);
        if (b < 0xF0 || b > 0xF9) return bad(fmt::format("{} EBCDIC digits", wire.size()));
        v = v * 10 + (b - 0xF0);
      }
      return v;
    case Encoding::kHex:
      for (char c : wire) {
        const int n = HexNibble(c);
        if (n < 0) return bad(fmt::format("{} ASCII hex digits", wire.size()));
        v = v * 16 + n;
      }
      return v;
    case Encoding::kBcd:
    case Encoding::kBcdRightPad: {
      const bool odd = (f.prefix_digits & 1) != 0;
      const int nibbles = static_cast<int>(wire.size()) * 2;
      const int pad_at = !odd ? -1 : (f.prefix_encoding == Encoding::kBcd ? 0 : nibbles - 1);
      for (int k = 0; k < nibbles; ++k) {
        const auto b = static_cast<uint8_t>(wire[k / 2]);
        const int nibble = (k & 1) == 0 ? b >> 4 : b & 0x0F;
        if (k == pad_at) {
          if (nibble != 0) return bad("BCD digits padded with a 0 nibble");
          continue;
        }
        if (nibble > 9) return bad(fmt::format("{} BCD digits", f.prefix_digits));
        v = v * 10 + nibble;
      }
      return v;
    }
    case Encoding::kBinary:
      for (char c : wire) v = v << 8 | static_cast<uint8_t>(c);
      return v;
    case Encoding::kBinaryLittle:
      for (size_t i = wire.size(); i-- > 0;) v = v << 8 | static_cast<uint8_t>(wire[i]);
      return v;
    default: return bad("a length");
  }
}

// Where a read value lies: `size` bytes at `offset` of the input (view) or of `out`.
struct ReadValue {
  bool view = false;
  size_t offset = 0;
  size_t size = 0;
  int64_t units = 0;
};

// Reads one field at *pos of `in`. `from_units`: the units of a kFromField field.
Status ReadField(const Spec& spec, const FieldSpec& f, std::string_view in, size_t* pos,
                 int64_t from_units, const Place& place, std::string* out, ReadValue* value) {
  const size_t start = *pos;
  const size_t remain = in.size() - start;
  int64_t units = 0;
  size_t value_at = start;
  switch (f.rule) {
    case LengthRule::kFixed: units = f.length; break;
    case LengthRule::kPrefixed: {
      const size_t prefix = PrefixBytes(f);
      if (remain < prefix) {
        return InvalidArgument(
            "{}: the message ends before the field's {}-byte length prefix ({} byte{} left); the "
            "message is truncated, or an earlier length or the bitmap is wrong",
            place.At(f, start), prefix, remain, remain == 1 ? "" : "s");
      }
      FERRY_ASSIGN_OR_RETURN(units, ReadPrefix(f, in.substr(start, prefix), place, start));
      if (units > f.length) {
        return InvalidArgument("{}: the length prefix says {} {}, over the maximum {}",
                               place.At(f, start), units, UnitName(f), f.length);
      }
      value_at = start + prefix;
      break;
    }
    case LengthRule::kFromField:
      units = from_units + f.length_adjust;
      if (units < 0 || (f.length > 0 && units > f.length)) {
        return InvalidArgument("{}: its length field gives {} {}, outside 0 to {}",
                               place.At(f, start), units, UnitName(f),
                               f.length > 0 ? f.length : int64_t{1} << 31);
      }
      break;
    case LengthRule::kRest:
      switch (f.encoding) {
        case Encoding::kBcd:
        case Encoding::kBcdRightPad: units = static_cast<int64_t>(remain) * 2; break;
        case Encoding::kHex:
          if (remain % 2 != 0) {
            return InvalidArgument(
                "{}: the rest of the message is {} bytes, not an even count of "
                "hex digits",
                place.At(f, start), remain);
          }
          units = static_cast<int64_t>(remain / 2);
          break;
        default:
          units = static_cast<int64_t>(remain) - (f.type == DataType::kSigned ? 1 : 0);
          if (units < 0) units = 0;
      }
      if (f.length > 0 && units > f.length) {
        return InvalidArgument("{}: the rest of the message is {} {}, over the maximum {}",
                               place.At(f, start), units, UnitName(f), f.length);
      }
      break;
  }
  const auto size = static_cast<size_t>(WireSize(f, units));
  if (in.size() - value_at < size) {
    const std::string counted =
        UnitName(f) == "bytes" ? "" : fmt::format(" ({} {})", units, UnitName(f));
    return InvalidArgument(
        "{}: the value needs {} byte{}{} but only {} remain; the message is truncated, or an "
        "earlier length or the bitmap is wrong",
        place.At(f, value_at), size, size == 1 ? "" : "s", counted, in.size() - value_at);
  }
  const std::string_view wire = in.substr(value_at, size);
  const size_t out_start = out->size();
  bool view = false;
  FERRY_RETURN_IF_ERROR(DecodeWire(spec, f, wire, units, place, value_at, out, &view));
  *pos = value_at + size;
  value->view = view;
  value->offset = view ? value_at : out_start;
  value->size = view ? size : out->size() - out_start;
  value->units = units;
  return OkStatus();
}

// The units of a value that Pack would write, or an error saying what is wrong with it.
Result<int64_t> ValueUnits(const Spec& spec, const FieldSpec& f, std::string_view value,
                           const Place& place) {
  switch (f.type) {
    case DataType::kNumeric:
      for (size_t i = 0; i < value.size(); ++i) {
        if (!IsDigit(value[i])) {
          return Err(InvalidArgument("{}: the value {} has {} at character {}, not a digit",
                                     place.Name(f), Shown(value), Shown(value.substr(i, 1)), i));
        }
      }
      return static_cast<int64_t>(value.size());
    case DataType::kSigned:
      if (value.empty()) {
        return Err(
            InvalidArgument("{}: the value is empty; x+n starts with C or D", place.Name(f)));
      }
      return static_cast<int64_t>(value.size()) - 1;
    case DataType::kTrack:
      if (IsBcd(f.encoding)) {
        for (size_t i = 0; i < value.size(); ++i) {
          const char c = value[i];
          if (!(c >= '0' && c <= '?') && HexNibble(c) < 0) {
            return Err(InvalidArgument(
                "{}: the value has {} at character {}; packed track data holds 0-9 and : ; < = > "
                "? (or their nibbles A-F)",
                place.Name(f), Shown(value.substr(i, 1)), i));
          }
        }
        return static_cast<int64_t>(value.size());
      }
      [[fallthrough]];
    case DataType::kText: {
      const int64_t count = CountCodePoints(value);
      if (count < 0) return Err(InvalidArgument("{}: the value is not UTF-8", place.Name(f)));
      return count;
    }
    case DataType::kBinary: return static_cast<int64_t>(value.size());
    case DataType::kUnsigned: {
      uint64_t v = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
        return Err(InvalidArgument("{}: the value {} is not an unsigned integer", place.Name(f),
                                   Shown(value)));
      }
      if (f.length < 8 && v >> (8 * f.length) != 0) {
        return Err(InvalidArgument("{}: {} does not fit in {} bytes", place.Name(f), v, f.length));
      }
      return static_cast<int64_t>(f.length);
    }
  }
  (void)spec;
  return int64_t{0};
}

void WritePrefix(const FieldSpec& f, int64_t units, std::string* out) {
  const int digits = f.prefix_digits;
  switch (f.prefix_encoding) {
    case Encoding::kAscii:
    case Encoding::kEbcdic:
    case Encoding::kHex: {
      const int base = f.prefix_encoding == Encoding::kHex ? 16 : 10;
      const size_t at = out->size();
      out->append(digits, '0');
      int64_t v = units;
      for (int i = digits - 1; i >= 0; --i, v /= base) {
        char c = kHexDigits[v % base];
        if (f.prefix_encoding == Encoding::kEbcdic) c = static_cast<char>(0xF0 + v % base);
        (*out)[at + i] = c;
      }
      return;
    }
    case Encoding::kBcd:
    case Encoding::kBcdRightPad: {
      const int nibbles = (digits + 1) / 2 * 2;
      std::array<uint8_t, 16> n{};
      int64_t v = units;
      // Digits right-aligned for kBcd (pad first), left-aligned for kBcdRightPad (pad last).
      const int last = f.prefix_encoding == Encoding::kBcd ? nibbles - 1 : digits - 1;
      for (int i = 0; i < digits; ++i, v /= 10) n[last - i] = static_cast<uint8_t>(v % 10);
      for (int i = 0; i < nibbles; i += 2) out->push_back(static_cast<char>(n[i] << 4 | n[i + 1]));
      return;
    }
    case Encoding::kBinary:
      for (int i = digits - 1; i >= 0; --i) out->push_back(static_cast<char>(units >> (8 * i)));
      return;
    case Encoding::kBinaryLittle:
      for (int i = 0; i < digits; ++i) out->push_back(static_cast<char>(units >> (8 * i)));
      return;
    default: return;
  }
}

// Writes a value of `units` units (checked by ValueUnits) in the field's encoding.
Status WriteValue(const Spec& spec, const FieldSpec& f, std::string_view value, int64_t units,
                  const Place& place, std::string* out) {
  switch (f.encoding) {
    case Encoding::kAscii: {
      if (std::all_of(value.begin(), value.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
        out->append(value);
        return OkStatus();
      }
      for (size_t i = 0; i < value.size();) {
        const int64_t cp = NextCodePoint(value, &i);
        if (cp < 0 || cp > 0xFF) {
          return InvalidArgument("{}: the character U+{:04X} has no single-byte (Latin-1) form",
                                 place.Name(f), cp);
        }
        out->push_back(static_cast<char>(cp));
      }
      return OkStatus();
    }
    case Encoding::kEbcdic:
      for (size_t i = 0; i < value.size();) {
        const int64_t cp = NextCodePoint(value, &i);
        uint8_t b = 0;
        if (cp < 0 || !spec.codepage()->Encode(static_cast<char32_t>(cp), &b)) {
          return InvalidArgument("{}: the character U+{:04X} is not in code page {}", place.Name(f),
                                 cp, spec.codepage()->name());
        }
        out->push_back(static_cast<char>(b));
      }
      return OkStatus();
    case Encoding::kBcd:
    case Encoding::kBcdRightPad: {
      auto nibble_of = [&](char c) {
        if (f.type == DataType::kTrack && (c < '0' || c > '?')) return HexNibble(c);
        return c - '0';
      };
      const bool odd = (units & 1) != 0;
      size_t i = 0;
      if (odd && f.encoding == Encoding::kBcd) {
        out->push_back(static_cast<char>(f.pad_nibble << 4 | nibble_of(value[0])));
        i = 1;
      }
      for (; i + 1 < value.size(); i += 2) {
        out->push_back(static_cast<char>(nibble_of(value[i]) << 4 | nibble_of(value[i + 1])));
      }
      if (i < value.size())
        out->push_back(static_cast<char>(nibble_of(value[i]) << 4 | f.pad_nibble));
      return OkStatus();
    }
    case Encoding::kBinary:
    case Encoding::kBinaryLittle: out->append(value); return OkStatus();
    case Encoding::kHex:
      for (char c : value) {
        const auto b = static_cast<uint8_t>(c);
        out->push_back(kHexDigits[b >> 4]);
        out->push_back(kHexDigits[b & 0xF]);
      }
      return OkStatus();
    case Encoding::kUintBig:
    case Encoding::kUintLittle: {
      uint64_t v = 0;
      std::from_chars(value.data(), value.data() + value.size(), v);
      for (int i = 0; i < f.length; ++i) {
        const int shift = f.encoding == Encoding::kUintBig ? 8 * (f.length - 1 - i) : 8 * i;
        out->push_back(static_cast<char>(v >> shift));
      }
      return OkStatus();
    }
  }
  return OkStatus();
}

bool LooksMasked(const FieldSpec& f, std::string_view value) {
  return f.mask != Mask::kNone && value.find('*') != std::string_view::npos;
}

// Writes one field: its prefix, then its value. `from_units`: a kFromField field's expected
// units (-1: not checked).
Status WriteField(const Spec& spec, const FieldSpec& f, std::string_view value, int64_t from_units,
                  const Place& place, std::string* out) {
  if (LooksMasked(f, value)) {
    return InvalidArgument(
        "{}: the value {} is a masked PAN; encoding needs the full number: decode with --no-mask "
        "(JsonOptions::mask_pan = false) to get a document that encodes back",
        place.Name(f), Shown(value));
  }
  FERRY_ASSIGN_OR_RETURN(const int64_t units, ValueUnits(spec, f, value, place));
  switch (f.rule) {
    case LengthRule::kFixed:
      if (units != f.length) {
        return InvalidArgument("{}: the value {} has {} {}; the field takes exactly {}",
                               place.Name(f), Shown(value.substr(0, 64)), units, UnitName(f),
                               f.length);
      }
      break;
    case LengthRule::kPrefixed:
      if (units > f.length) {
        return InvalidArgument("{}: the value has {} {}, over the maximum {}", place.Name(f), units,
                               UnitName(f), f.length);
      }
      WritePrefix(f, units, out);
      break;
    case LengthRule::kFromField:
      if (from_units >= 0 && units != from_units + f.length_adjust) {
        return InvalidArgument("{}: the value has {} {} but its length field says {}",
                               place.Name(f), units, UnitName(f), from_units + f.length_adjust);
      }
      break;
    case LengthRule::kRest:
      if (f.length > 0 && units > f.length) {
        return InvalidArgument("{}: the value has {} {}, over the maximum {}", place.Name(f), units,
                               UnitName(f), f.length);
      }
      break;
  }
  return WriteValue(spec, f, value, units, place, out);
}

// The units a length field's value stands for (a uint, or n digits).
int64_t LengthOf(std::string_view value) {
  int64_t v = 0;
  std::from_chars(value.data(), value.data() + value.size(), v);
  return v;
}

// The MTI's wire size.
size_t MtiSize(Encoding e) { return IsBcd(e) ? 2 : 4; }

uint64_t BitOf(int number) { return uint64_t{1} << (63 - ((number - 1) & 63)); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Message

void Message::Clear() {
  mti_size_ = 0;
  bitmaps_ = 1;
  present_ = {};
  input_ = {};
  data_.clear();
}

void Message::SetMti(std::string_view mti) {
  mti_size_ = static_cast<uint8_t>(std::min(mti.size(), mti_.size()));
  std::memcpy(mti_.data(), mti.data(), mti_size_);
}

void Message::Set(int number, std::string_view value) {
  if (number < 1 || number > kMaxFields) return;
  Span& s = spans_[number];
  s.offset = static_cast<uint32_t>(data_.size());
  s.size = static_cast<uint32_t>(value.size());
  s.in_input = 0;
  data_.append(value);
  MarkPresent(number);
}

void Message::Remove(int number) {
  if (number < 1 || number > kMaxFields) return;
  present_[(number - 1) >> 6] &= ~BitOf(number);
}

// Unpack's access to a Message's storage.
class Unpacker {
 public:
  static Status Run(const Spec& spec, std::string_view in, Message* m) {
    m->Clear();
    m->input_ = in;
    size_t pos = 0;
    if (spec.bitmapped()) {
      FERRY_RETURN_IF_ERROR(ReadMti(spec, in, &pos, m));
      FERRY_RETURN_IF_ERROR(ReadBitmaps(spec, in, &pos, m));
      for (int word = 0; word < 3; ++word) {
        uint64_t bits = m->present_[word];
        while (bits != 0) {
          const int bit = __builtin_clzll(bits);
          bits &= ~(uint64_t{1} << (63 - bit));
          const int number = word * 64 + bit + 1;
          const FieldSpec* f = spec.field(number);
          if (f == nullptr) {
            return InvalidArgument(
                "bitmap: bit {} is set but the spec \"{}\" defines no field {} (at byte {}, where "
                "it would start); add the field to the spec, or the bitmap is wrong",
                number, spec.name(), number, pos);
          }
          FERRY_RETURN_IF_ERROR(ReadInto(spec, *f, number, in, &pos, -1, m));
        }
      }
    } else {
      const std::vector<FieldSpec>& fields = spec.fields();
      for (size_t i = 0; i < fields.size(); ++i) {
        const FieldSpec& f = fields[i];
        int64_t from = -1;
        if (f.rule == LengthRule::kFromField) from = LengthOf(m->Get(f.length_field + 1));
        if (f.rule == LengthRule::kRest && pos == in.size()) break;
        FERRY_RETURN_IF_ERROR(ReadInto(spec, f, static_cast<int>(i + 1), in, &pos, from, m));
      }
    }
    if (pos != in.size()) {
      return InvalidArgument(
          "byte {}: {} byte{} left after the last field; the bitmap announces too few fields, a "
          "length prefix is too short, or the spec does not match the message",
          pos, in.size() - pos, in.size() - pos == 1 ? "" : "s");
    }
    return OkStatus();
  }

 private:
  static Status ReadInto(const Spec& spec, const FieldSpec& f, int number, std::string_view in,
                         size_t* pos, int64_t from, Message* m) {
    ReadValue value;
    FERRY_RETURN_IF_ERROR(ReadField(spec, f, in, pos, from, Place{}, &m->data_, &value));
    Message::Span& s = m->spans_[number];
    s.offset = static_cast<uint32_t>(value.offset);
    s.size = static_cast<uint32_t>(value.size);
    s.in_input = value.view ? 1 : 0;
    m->MarkPresent(number);
    return OkStatus();
  }

  static Status ReadMti(const Spec& spec, std::string_view in, size_t* pos, Message* m) {
    const Encoding e = spec.mti_encoding();
    const size_t size = MtiSize(e);
    if (in.size() < size) {
      return InvalidArgument("MTI at byte 0: the message has {} byte{}, the MTI alone needs {}",
                             in.size(), in.size() == 1 ? "" : "s", size);
    }
    char mti[4];
    for (size_t i = 0; i < 4; ++i) {
      if (IsBcd(e)) {
        const auto b = static_cast<uint8_t>(in[i / 2]);
        const int nibble = i % 2 == 0 ? b >> 4 : b & 0xF;
        if (nibble > 9) {
          return InvalidArgument(
              "MTI at byte 0: byte {} (0x{:02X}) has the nibble {:X}, not a BCD "
              "digit",
              i / 2, b, nibble);
        }
        mti[i] = static_cast<char>('0' + nibble);
      } else {
        const auto b = static_cast<uint8_t>(in[i]);
        const int digit = e == Encoding::kEbcdic ? b - 0xF0 : b - '0';
        if (digit < 0 || digit > 9) {
          return InvalidArgument("MTI at byte 0: byte {} is {}, not {} digit", i,
                                 Shown(in.substr(i, 1)),
                                 e == Encoding::kEbcdic ? "an EBCDIC" : "an ASCII");
        }
        mti[i] = static_cast<char>('0' + digit);
      }
    }
    m->SetMti({mti, 4});
    *pos = size;
    return OkStatus();
  }

  static Status ReadBitmaps(const Spec& spec, std::string_view in, size_t* pos, Message* m) {
    const bool hex = spec.bitmap_encoding() == Encoding::kHex;
    const size_t size = hex ? 16 : 8;
    static constexpr std::string_view kNames[] = {"primary", "secondary", "tertiary"};
    for (int i = 0; i < 3; ++i) {
      const size_t at = *pos;
      if (in.size() - at < size) {
        return InvalidArgument(
            "{} bitmap at byte {}: needs {} {} but only {} byte{} remain; the message is truncated",
            kNames[i], at, size, hex ? "hex characters" : "bytes", in.size() - at,
            in.size() - at == 1 ? "" : "s");
      }
      uint64_t word = 0;
      for (size_t k = 0; k < size; ++k) {
        if (hex) {
          const int n = HexNibble(in[at + k]);
          if (n < 0) {
            return InvalidArgument("{} bitmap at byte {}: byte {} is {}, not a hex digit",
                                   kNames[i], at, at + k, Shown(in.substr(at + k, 1)));
          }
          word = word << 4 | static_cast<uint64_t>(n);
        } else {
          word = word << 8 | static_cast<uint8_t>(in[at + k]);
        }
      }
      *pos = at + size;
      m->bitmaps_ = static_cast<uint8_t>(i + 1);
      const bool next = (word >> 63) != 0;
      // Bit 1 of the primary bitmap (and of the secondary, with a tertiary one) announces the next
      // bitmap; everywhere else the top bit is a field (65 with two bitmaps at most).
      const bool continuation = i == 0 || (i == 1 && spec.max_bitmaps() == 3);
      if (continuation) word &= ~(uint64_t{1} << 63);
      m->present_[i] = word;
      if (!continuation || !next) break;
      if (i + 1 >= spec.max_bitmaps()) {
        return InvalidArgument(
            "{} bitmap at byte {}: bit {} announces a {} bitmap, but the spec \"{}\" allows {}",
            kNames[i], at, i * 64 + 1, kNames[i + 1], spec.name(), spec.max_bitmaps());
      }
    }
    return OkStatus();
  }
};

Status Unpack(const Spec& spec, std::string_view bytes, Message* message) {
  return Unpacker::Run(spec, bytes, message);
}

Status Pack(const Spec& spec, const Message& message, std::string* out) {
  if (spec.bitmapped()) {
    const std::string_view mti = message.mti();
    if (mti.size() != 4 || !std::all_of(mti.begin(), mti.end(), IsDigit)) {
      return InvalidArgument("MTI: {} is not 4 digits", Shown(mti));
    }
    if (IsBcd(spec.mti_encoding())) {
      out->push_back(static_cast<char>((mti[0] - '0') << 4 | (mti[1] - '0')));
      out->push_back(static_cast<char>((mti[2] - '0') << 4 | (mti[3] - '0')));
    } else if (spec.mti_encoding() == Encoding::kEbcdic) {
      for (char c : mti) out->push_back(static_cast<char>(0xF0 + (c - '0')));
    } else {
      out->append(mti);
    }
    const auto& present = message.present();
    if ((present[0] >> 63) != 0) {
      return InvalidArgument(
          "field 1: bit 1 announces the secondary bitmap and is not a field; "
          "remove field 1");
    }
    int bitmaps = std::max(message.bitmaps(), present[2] != 0 ? 3 : present[1] != 0 ? 2 : 1);
    if (spec.max_bitmaps() == 3 && (present[1] >> 63) != 0) {
      return InvalidArgument(
          "field 65: with a tertiary bitmap bit 65 announces it and is not a "
          "field; remove field 65");
    }
    if (bitmaps > spec.max_bitmaps()) {
      return InvalidArgument(
          "bitmap: the message has fields above {} but the spec \"{}\" allows {} "
          "bitmap{}",
          spec.max_bitmaps() * 64, spec.name(), spec.max_bitmaps(),
          spec.max_bitmaps() == 1 ? "" : "s");
    }
    for (int i = 0; i < bitmaps; ++i) {
      uint64_t word = present[i];
      if (i + 1 < bitmaps) word |= uint64_t{1} << 63;
      if (spec.bitmap_encoding() == Encoding::kHex) {
        for (int shift = 60; shift >= 0; shift -= 4)
          out->push_back(kHexDigits[(word >> shift) & 0xF]);
      } else {
        for (int shift = 56; shift >= 0; shift -= 8)
          out->push_back(static_cast<char>(word >> shift));
      }
    }
    Status status;
    message.ForEach([&](int number, std::string_view value) {
      if (!status.ok()) return;
      const FieldSpec* f = spec.field(number);
      if (f == nullptr) {
        status = InvalidArgument(
            "field {}: the spec \"{}\" defines no field {}; remove it or add "
            "it to the spec",
            number, spec.name(), number);
        return;
      }
      status = WriteField(spec, *f, value, -1, Place{}, out);
    });
    return status;
  }
  const std::vector<FieldSpec>& fields = spec.fields();
  for (size_t i = 0; i < fields.size(); ++i) {
    const FieldSpec& f = fields[i];
    const int number = static_cast<int>(i + 1);
    if (!message.Has(number)) {
      if (f.rule == LengthRule::kRest) break;
      return InvalidArgument("{}: missing; a sequential layout needs every field", f.Label());
    }
    int64_t from = -1;
    if (f.rule == LengthRule::kFromField) from = LengthOf(message.Get(f.length_field + 1));
    FERRY_RETURN_IF_ERROR(WriteField(spec, f, message.Get(number), from, Place{}, out));
  }
  return OkStatus();
}

Status DecodeValue(const Spec& spec, const FieldSpec& field, std::string_view bytes, int64_t units,
                   std::string* out) {
  if (units < 0) {
    return InvalidArgument("{}: the length {} is negative", field.Label(), units);
  }
  if (units > (int64_t{1} << 30)) {
    return InvalidArgument("{}: the length {} is too large", field.Label(), units);
  }
  const auto size = static_cast<size_t>(WireSize(field, units));
  if (bytes.size() < size) {
    return InvalidArgument("{} at byte 0: {} {} need {} bytes but only {} are given", field.Label(),
                           units, UnitName(field), size, bytes.size());
  }
  return DecodeWire(spec, field, bytes.substr(0, size), units, Place{}, 0, out, nullptr);
}

// ---------------------------------------------------------------------------------------------
// Masking

std::string MaskPan(std::string_view pan) {
  std::string masked(pan);
  const size_t n = pan.size();
  const size_t keep_front = n >= 13 ? 6 : 0;
  const size_t keep_back = n >= 5 ? 4 : 0;
  for (size_t i = keep_front; i + keep_back < n; ++i) masked[i] = '*';
  return masked;
}

namespace {

// Track 2 (ISO/IEC 7813): [;]PAN=YYMM...; the separator is '=' or, in hex renderings, 'D'.
std::string MaskTrack2(std::string_view track) {
  size_t begin = !track.empty() && track[0] == ';' ? 1 : 0;
  size_t end = track.find_first_of("=D", begin);
  if (end == std::string_view::npos) end = track.size();
  std::string out(track);
  const std::string pan = MaskPan(track.substr(begin, end - begin));
  out.replace(begin, end - begin, pan);
  return out;
}

// Track 1 (ISO/IEC 7813): [%]B PAN ^ NAME ^ ...
std::string MaskTrack1(std::string_view track) {
  size_t begin = !track.empty() && track[0] == '%' ? 1 : 0;
  if (begin < track.size() && !IsDigit(track[begin])) ++begin;  // the format code
  size_t end = track.find('^', begin);
  if (end == std::string_view::npos) end = track.size();
  std::string out(track);
  out.replace(begin, end - begin, MaskPan(track.substr(begin, end - begin)));
  return out;
}

std::string Masked(Mask mask, std::string_view value) {
  switch (mask) {
    case Mask::kPan: return MaskPan(value);
    case Mask::kTrack2: return MaskTrack2(value);
    case Mask::kTrack1: return MaskTrack1(value);
    case Mask::kNone: break;
  }
  return std::string(value);
}

// ---------------------------------------------------------------------------------------------
// BER-TLV (EMV 4.3 Book 3, annex B): tags of one or more bytes (low five bits all set: more
// follow while bit 8 is set), definite lengths (short form, or 0x81-0x84 and that many bytes),
// bit 6 of the first tag byte marks a constructed value holding more TLVs.

Status ParseTlv(std::string_view bytes, size_t base, const FieldSpec& f, int depth,
                OrderedJson* out) {
  *out = OrderedJson::object();
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t tag_at = pos;
    auto fail = [&](std::string_view what) {
      return InvalidArgument("{} BER-TLV at byte {} of the field's value: {}", f.Label(),
                             base + tag_at, what);
    };
    const auto first = static_cast<uint8_t>(bytes[pos++]);
    if ((first & 0x1F) == 0x1F) {
      while (true) {
        if (pos >= bytes.size()) return fail("the value ends inside a multi-byte tag");
        if (pos - tag_at > 4) return fail("a tag longer than 4 bytes");
        if ((static_cast<uint8_t>(bytes[pos++]) & 0x80) == 0) break;
      }
    }
    const std::string tag = ToHex(bytes.substr(tag_at, pos - tag_at));
    if (pos >= bytes.size()) return fail(fmt::format("tag {} has no length", tag));
    size_t length = static_cast<uint8_t>(bytes[pos++]);
    if (length == 0x80) return fail(fmt::format("tag {} has an indefinite length (0x80)", tag));
    if (length > 0x80) {
      const size_t n = length & 0x7F;
      if (n > 4) return fail(fmt::format("tag {} has a {}-byte length", tag, n));
      if (bytes.size() - pos < n) return fail(fmt::format("tag {}'s length is cut off", tag));
      length = 0;
      for (size_t k = 0; k < n; ++k) length = length << 8 | static_cast<uint8_t>(bytes[pos++]);
    }
    if (bytes.size() - pos < length) {
      return fail(
          fmt::format("tag {} declares {} bytes but {} remain", tag, length, bytes.size() - pos));
    }
    const std::string_view value = bytes.substr(pos, length);
    if ((first & 0x20) != 0 && depth < 8) {
      OrderedJson inner;
      FERRY_RETURN_IF_ERROR(ParseTlv(value, base + pos, f, depth + 1, &inner));
      (*out)[tag] = std::move(inner);
    } else {
      (*out)[tag] = ToHex(value);
    }
    pos += length;
  }
  return OkStatus();
}

Status EncodeTlv(const OrderedJson& object, const FieldSpec& f, std::string* out) {
  for (const auto& [tag, value] : object.items()) {
    Result<std::string> tag_bytes = FromHex(tag);
    if (!tag_bytes.has_value() || tag_bytes->empty()) {
      return InvalidArgument("{}: the TLV tag \"{}\" is not hex", f.Label(), tag);
    }
    std::string body;
    const bool constructed = (static_cast<uint8_t>((*tag_bytes)[0]) & 0x20) != 0;
    if (value.is_object()) {
      FERRY_RETURN_IF_ERROR(EncodeTlv(value, f, &body));
    } else if (value.is_string()) {
      const std::string& text = value.get_ref<const std::string&>();
      if (text.find('*') != std::string::npos) {
        return InvalidArgument(
            "{}: TLV tag {} holds a masked value {}; encoding needs the full data: decode with "
            "--no-mask",
            f.Label(), tag, text);
      }
      Result<std::string> bytes = FromHex(text);
      if (!bytes.has_value()) {
        return InvalidArgument("{}: TLV tag {}: {}", f.Label(), tag, bytes.error().message());
      }
      body = std::move(*bytes);
    } else {
      return InvalidArgument("{}: TLV tag {} is a hex string{}", f.Label(), tag,
                             constructed ? " or an object of tags" : "");
    }
    out->append(*tag_bytes);
    const size_t n = body.size();
    if (n < 0x80) {
      out->push_back(static_cast<char>(n));
    } else {
      int bytes = n <= 0xFF ? 1 : n <= 0xFFFF ? 2 : n <= 0xFFFFFF ? 3 : 4;
      out->push_back(static_cast<char>(0x80 | bytes));
      for (int k = bytes - 1; k >= 0; --k) out->push_back(static_cast<char>(n >> (8 * k)));
    }
    out->append(body);
  }
  return OkStatus();
}

// The masked form of a TLV value's hex: the PAN of tag 5A (packed, padded with F to whole
// bytes) and the track 2 equivalent data of tag 57.
std::string MaskTlvValue(std::string_view tag, std::string_view hex) {
  if (tag == "5A") {
    const size_t digits = std::min(hex.find('F'), hex.size());
    return MaskPan(hex.substr(0, digits)) + std::string(hex.substr(digits));
  }
  if (tag == "57") return MaskTrack2(hex);
  return std::string(hex);
}

void MaskTlv(OrderedJson* object) {
  for (auto& [tag, value] : object->items()) {
    if (value.is_object()) {
      MaskTlv(&value);
    } else if (tag == "5A" || tag == "57") {
      value = MaskTlvValue(tag, value.get<std::string>());
    }
  }
}

// One BER-TLV item as ParseTlv reads it.
struct TlvItem {
  std::string_view tag;
  std::string_view value;
  bool canonical_length = true;  // the length as EncodeTlv writes it
};

// Reads the item at *pos; false where ParseTlv would fail.
bool NextTlv(std::string_view bytes, size_t* pos, TlvItem* item) {
  const size_t tag_at = *pos;
  const auto first = static_cast<uint8_t>(bytes[(*pos)++]);
  if ((first & 0x1F) == 0x1F) {
    while (true) {
      if (*pos >= bytes.size() || *pos - tag_at > 4) return false;
      if ((static_cast<uint8_t>(bytes[(*pos)++]) & 0x80) == 0) break;
    }
  }
  item->tag = bytes.substr(tag_at, *pos - tag_at);
  if (*pos >= bytes.size()) return false;
  size_t length = static_cast<uint8_t>(bytes[(*pos)++]);
  item->canonical_length = true;
  if (length == 0x80) return false;
  if (length > 0x80) {
    const size_t n = length & 0x7F;
    if (n > 4 || bytes.size() - *pos < n) return false;
    length = 0;
    for (size_t k = 0; k < n; ++k) length = length << 8 | static_cast<uint8_t>(bytes[(*pos)++]);
    const size_t minimal = length <= 0xFF ? 1 : length <= 0xFFFF ? 2 : length <= 0xFFFFFF ? 3 : 4;
    item->canonical_length = length >= 0x80 && n == minimal;
  }
  if (bytes.size() - *pos < length) return false;
  item->value = bytes.substr(*pos, length);
  *pos += length;
  return true;
}

bool Constructed(std::string_view tag, int depth) {
  return (static_cast<uint8_t>(tag[0]) & 0x20) != 0 && depth < 8;
}

// Whether the TLV parses with no tag repeated within one level (the shape a JSON object keeps),
// and whether its lengths are all canonical.
bool ScanTlv(std::string_view bytes, int depth, bool* canonical) {
  std::array<std::string_view, 64> seen;
  size_t count = 0;
  TlvItem item;
  for (size_t pos = 0; pos < bytes.size();) {
    if (!NextTlv(bytes, &pos, &item) || count == seen.size()) return false;
    for (size_t i = 0; i < count; ++i) {
      if (seen[i] == item.tag) return false;
    }
    seen[count++] = item.tag;
    *canonical &= item.canonical_length;
    if (Constructed(item.tag, depth) && !ScanTlv(item.value, depth + 1, canonical)) return false;
  }
  return true;
}

void AppendHex(std::string_view bytes, std::string* out) {
  for (char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    out->push_back(kHexDigits[b >> 4]);
    out->push_back(kHexDigits[b & 0xF]);
  }
}

// Writes TLV (checked by ScanTlv) as the JSON ValueJson gives.
void AppendTlvJson(std::string_view bytes, bool mask, int depth, std::string* out) {
  out->push_back('{');
  TlvItem item;
  bool first = true;
  for (size_t pos = 0; pos < bytes.size();) {
    NextTlv(bytes, &pos, &item);
    if (!first) out->push_back(',');
    first = false;
    out->push_back('"');
    AppendHex(item.tag, out);
    out->append("\":");
    if (Constructed(item.tag, depth)) {
      AppendTlvJson(item.value, mask, depth + 1, out);
      continue;
    }
    out->push_back('"');
    const uint8_t t = static_cast<uint8_t>(item.tag[0]);
    if (mask && item.tag.size() == 1 && (t == 0x5A || t == 0x57)) {
      std::string hex;
      AppendHex(item.value, &hex);
      out->append(MaskTlvValue(t == 0x5A ? "5A" : "57", hex));
    } else {
      AppendHex(item.value, out);
    }
    out->push_back('"');
  }
  out->push_back('}');
}

// A field's value as JSON.
Result<OrderedJson> ValueJson(const Spec& spec, const FieldSpec& f, std::string_view value,
                              const JsonOptions& options);

Result<OrderedJson> CompositeJson(const Spec& spec, const FieldSpec& parent, std::string_view value,
                                  const JsonOptions& options) {
  OrderedJson object = OrderedJson::object();
  std::string scratch;
  std::vector<std::pair<size_t, size_t>> spans;  // into scratch
  const Place place{&parent, 0};
  size_t pos = 0;
  const std::vector<FieldSpec>& fields = parent.subfields->fields;
  for (size_t i = 0; i < fields.size(); ++i) {
    const FieldSpec& f = fields[i];
    if (f.rule == LengthRule::kRest && pos == value.size()) break;
    int64_t from = -1;
    if (f.rule == LengthRule::kFromField) {
      const auto [o, s] = spans[f.length_field];
      from = LengthOf(std::string_view(scratch).substr(o, s));
    }
    ReadValue read;
    FERRY_RETURN_IF_ERROR(ReadField(spec, f, value, &pos, from, place, &scratch, &read));
    if (read.view) {
      const size_t at = scratch.size();
      scratch.append(value.substr(read.offset, read.size));
      read.offset = at;
    }
    spans.emplace_back(read.offset, read.size);
  }
  if (pos != value.size()) {
    return Err(InvalidArgument(
        "{}: {} byte{} of the value left after its last sub-field (at byte "
        "{} of the value); the sub-fields do not cover the value",
        parent.Label(), value.size() - pos, value.size() - pos == 1 ? "" : "s", pos));
  }
  for (size_t i = 0; i < spans.size(); ++i) {
    FERRY_ASSIGN_OR_RETURN(
        object[fields[i].key],
        ValueJson(spec, fields[i],
                  std::string_view(scratch).substr(spans[i].first, spans[i].second), options));
  }
  return object;
}

Result<OrderedJson> ValueJson(const Spec& spec, const FieldSpec& f, std::string_view value,
                              const JsonOptions& options) {
  if (f.subfields != nullptr) return CompositeJson(spec, f, value, options);
  switch (f.type) {
    case DataType::kUnsigned: return OrderedJson(static_cast<uint64_t>(LengthOf(value)));
    case DataType::kBinary: {
      if (!f.tlv) return OrderedJson(ToHex(value));
      OrderedJson tlv;
      FERRY_RETURN_IF_ERROR(ParseTlv(value, 0, f, 0, &tlv));
      // A non-canonical coding (long-form lengths, repeated tags) would not encode back from
      // the object: unmasked, such a value stays hex. Masked output never encodes back, so it
      // shows the tags whatever their coding, and no PAN in tag 5A or 57 escapes as hex.
      if (options.mask_pan) {
        MaskTlv(&tlv);
        return tlv;
      }
      std::string again;
      if (!EncodeTlv(tlv, f, &again).ok() || again != value) return OrderedJson(ToHex(value));
      return tlv;
    }
    default:
      if (options.mask_pan && f.mask != Mask::kNone) return OrderedJson(Masked(f.mask, value));
      return OrderedJson(std::string(value));
  }
}

// A field's value from JSON: the bytes Message::Set takes.
Status ValueFromJson(const Spec& spec, const FieldSpec& f, const OrderedJson& json,
                     std::string* out) {
  if (f.subfields != nullptr && json.is_object()) {
    const std::vector<FieldSpec>& fields = f.subfields->fields;
    const Place place{&f, 0};
    std::vector<std::string> values(fields.size());
    std::vector<bool> given(fields.size(), false);
    for (const auto& [key, value] : json.items()) {
      auto it = std::find_if(fields.begin(), fields.end(),
                             [&](const FieldSpec& s) { return s.key == key; });
      if (it == fields.end()) {
        return InvalidArgument("{}: no sub-field `{}`", f.Label(), key);
      }
      const size_t i = static_cast<size_t>(it - fields.begin());
      FERRY_RETURN_IF_ERROR(ValueFromJson(spec, *it, value, &values[i]));
      given[i] = true;
    }
    // A length field left out is computed from the field it measures.
    for (size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].rule != LengthRule::kFromField || !given[i]) continue;
      const size_t lf = static_cast<size_t>(fields[i].length_field);
      if (given[lf]) continue;
      FERRY_ASSIGN_OR_RETURN(const int64_t units, ValueUnits(spec, fields[i], values[i], place));
      values[lf] = std::to_string(units - fields[i].length_adjust);
      if (fields[lf].type == DataType::kNumeric && fields[lf].rule == LengthRule::kFixed) {
        values[lf].insert(
            0, std::max<int64_t>(0, fields[lf].length - static_cast<int64_t>(values[lf].size())),
            '0');
      }
      given[lf] = true;
    }
    for (size_t i = 0; i < fields.size(); ++i) {
      if (!given[i]) {
        if (fields[i].rule == LengthRule::kRest) break;
        return InvalidArgument("{}: sub-field `{}` is missing", f.Label(), fields[i].key);
      }
      int64_t from = -1;
      if (fields[i].rule == LengthRule::kFromField) from = LengthOf(values[fields[i].length_field]);
      FERRY_RETURN_IF_ERROR(WriteField(spec, fields[i], values[i], from, place, out));
    }
    return OkStatus();
  }
  if (f.tlv && json.is_object()) return EncodeTlv(json, f, out);
  if (f.type == DataType::kUnsigned) {
    if (json.is_number_unsigned() || json.is_number_integer()) {
      if (json.is_number_integer() && json.get<int64_t>() < 0) {
        return InvalidArgument("{}: {} is negative", f.Label(), json.dump());
      }
      *out = std::to_string(json.get<uint64_t>());
      return OkStatus();
    }
    if (json.is_string()) {
      *out = json.get<std::string>();
      return OkStatus();
    }
    return InvalidArgument("{}: a uint field is a JSON number, not {}", f.Label(), json.dump());
  }
  if (!json.is_string()) {
    return InvalidArgument("{}: expected a JSON string{}, not {}", f.Label(),
                           f.subfields != nullptr ? " or an object of sub-fields"
                           : f.tlv                ? " of hex or an object of TLV tags"
                                                  : "",
                           json.dump().substr(0, 80));
  }
  const std::string& text = json.get_ref<const std::string&>();
  if (f.type == DataType::kBinary) {
    if (f.tlv && text.find('*') != std::string::npos) {
      return InvalidArgument("{}: the value holds masked data; decode with --no-mask", f.Label());
    }
    Result<std::string> bytes = FromHex(text);
    if (!bytes.has_value()) return bytes.error().WithContext(f.Label());
    *out = std::move(*bytes);
    return OkStatus();
  }
  *out = text;
  return OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// JSON

Result<OrderedJson> MessageToJson(const Spec& spec, const Message& message,
                                  const JsonOptions& options) {
  OrderedJson doc = OrderedJson::object();
  if (spec.bitmapped()) {
    doc["mti"] = std::string(message.mti());
    const auto& present = message.present();
    const int bitmaps = std::max(message.bitmaps(), present[2] != 0 ? 3 : present[1] != 0 ? 2 : 1);
    std::string hex;
    for (int i = 0; i < bitmaps; ++i) {
      uint64_t word = present[i];
      if (i + 1 < bitmaps) word |= uint64_t{1} << 63;
      for (int shift = 60; shift >= 0; shift -= 4) hex.push_back(kHexDigits[(word >> shift) & 0xF]);
    }
    doc["bitmap"] = hex;
  }
  OrderedJson& fields = doc["fields"] = OrderedJson::object();
  Status status;
  message.ForEach([&](int number, std::string_view value) {
    if (!status.ok()) return;
    const FieldSpec* f = spec.field(number);
    if (f == nullptr) {
      status = InvalidArgument("field {}: the spec \"{}\" defines no field {}", number, spec.name(),
                               number);
      return;
    }
    Result<OrderedJson> json = ValueJson(spec, *f, value, options);
    if (!json.has_value()) {
      status = json.error();
      return;
    }
    fields[f->key] = std::move(*json);
  });
  if (!status.ok()) return Err(status);
  return doc;
}

namespace {

// A JSON string as nlohmann's dump writes it (UTF-8 kept, controls as \b \t \n \f \r or
// \u00xx).
void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\t': out->append("\\t"); break;
      case '\n': out->append("\\n"); break;
      case '\f': out->append("\\f"); break;
      case '\r': out->append("\\r"); break;
      default: fmt::format_to(std::back_inserter(*out), "\\u{:04x}", c);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

}  // namespace

Status AppendMessageJson(const Spec& spec, const Message& message, const JsonOptions& options,
                         std::string* out) {
  const size_t start = out->size();
  out->push_back('{');
  if (spec.bitmapped()) {
    out->append("\"mti\":");
    AppendJsonString(message.mti(), out);
    out->append(",\"bitmap\":\"");
    const auto& present = message.present();
    const int bitmaps = std::max(message.bitmaps(), present[2] != 0 ? 3 : present[1] != 0 ? 2 : 1);
    for (int i = 0; i < bitmaps; ++i) {
      uint64_t word = present[i];
      if (i + 1 < bitmaps) word |= uint64_t{1} << 63;
      for (int shift = 60; shift >= 0; shift -= 4)
        out->push_back(kHexDigits[(word >> shift) & 0xF]);
    }
    out->append("\",");
  }
  out->append("\"fields\":{");
  Status status;
  bool first = true;
  message.ForEach([&](int number, std::string_view value) {
    if (!status.ok()) return;
    const FieldSpec* f = spec.field(number);
    if (f == nullptr) {
      status = InvalidArgument("field {}: the spec \"{}\" defines no field {}", number, spec.name(),
                               number);
      return;
    }
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(f->key, out);
    out->push_back(':');
    bool canonical = true;
    if (f->tlv && f->subfields == nullptr && ScanTlv(value, 0, &canonical) &&
        (canonical || options.mask_pan)) {
      AppendTlvJson(value, options.mask_pan, 0, out);
    } else if (f->subfields != nullptr || f->tlv) {
      Result<OrderedJson> json = ValueJson(spec, *f, value, options);
      if (!json.has_value()) {
        status = json.error();
        return;
      }
      out->append(json->dump());
    } else if (f->type == DataType::kUnsigned) {
      fmt::format_to(std::back_inserter(*out), "{}", static_cast<uint64_t>(LengthOf(value)));
    } else if (f->type == DataType::kBinary) {
      out->push_back('"');
      for (char c : value) {
        const auto b = static_cast<uint8_t>(c);
        out->push_back(kHexDigits[b >> 4]);
        out->push_back(kHexDigits[b & 0xF]);
      }
      out->push_back('"');
    } else if (options.mask_pan && f->mask != Mask::kNone) {
      AppendJsonString(Masked(f->mask, value), out);
    } else {
      AppendJsonString(value, out);
    }
  });
  if (!status.ok()) {
    out->resize(start);
    return status;
  }
  out->append("}}");
  return OkStatus();
}

Status MessageFromJson(const Spec& spec, const OrderedJson& document, Message* message) {
  message->Clear();
  if (!document.is_object()) return InvalidArgument("a message is a JSON object");
  for (const auto& [key, value] : document.items()) {
    if (key != "mti" && key != "bitmap" && key != "fields") {
      return InvalidArgument("unknown key \"{}\"; a message has mti, bitmap and fields", key);
    }
  }
  if (spec.bitmapped()) {
    if (!document.contains("mti") || !document["mti"].is_string()) {
      return InvalidArgument("\"mti\" is missing (a string of 4 digits, \"0200\")");
    }
    const std::string& mti = document["mti"].get_ref<const std::string&>();
    if (mti.size() != 4 || !std::all_of(mti.begin(), mti.end(), IsDigit)) {
      return InvalidArgument("mti: \"{}\" is not 4 digits", mti.substr(0, 16));
    }
    message->SetMti(mti);
  }
  if (!document.contains("fields") || !document["fields"].is_object()) {
    return InvalidArgument("\"fields\" is missing (an object of field values)");
  }
  std::string bytes;
  for (const auto& [key, value] : document["fields"].items()) {
    const FieldSpec* f = spec.FindKey(key);
    if (f == nullptr) {
      return InvalidArgument(
          "fields.{}: the spec \"{}\" defines no such field{}", key, spec.name(),
          key == "1" ? " (field 1 is the secondary bitmap: give \"bitmap\")" : "");
    }
    bytes.clear();
    FERRY_RETURN_IF_ERROR(ValueFromJson(spec, *f, value, &bytes));
    if (LooksMasked(*f, bytes)) {
      return InvalidArgument(
          "{}: the value {} is a masked PAN; encoding needs the full number: decode with "
          "--no-mask to get a document that encodes back",
          f->Label(), Shown(bytes));
    }
    message->Set(f->number, bytes);
  }
  if (spec.bitmapped() && document.contains("bitmap")) {
    if (!document["bitmap"].is_string()) return InvalidArgument("\"bitmap\" is a hex string");
    const std::string& hex = document["bitmap"].get_ref<const std::string&>();
    Result<std::string> raw = FromHex(hex);
    if (!raw.has_value() || (raw->size() != 8 && raw->size() != 16 && raw->size() != 24)) {
      return InvalidArgument("bitmap: \"{}\" is not 16, 32 or 48 hex digits", hex.substr(0, 64));
    }
    const int bitmaps = static_cast<int>(raw->size() / 8);
    for (int i = 0; i < bitmaps; ++i) {
      uint64_t word = 0;
      for (int k = 0; k < 8; ++k) word = word << 8 | static_cast<uint8_t>((*raw)[i * 8 + k]);
      const bool continuation = i == 0 || (i == 1 && spec.max_bitmaps() == 3);
      const bool next = (word >> 63) != 0;
      if (continuation && next != (i + 1 < bitmaps)) {
        return InvalidArgument("bitmap: bit {} says {} bitmap follows, but \"bitmap\" has {}",
                               i * 64 + 1, next ? "another" : "no", bitmaps);
      }
      if (continuation) word &= ~(uint64_t{1} << 63);
      if (word != message->present()[i]) {
        return InvalidArgument(
            "bitmap: bitmap {} is {:016X} but the fields present make it {:016X}; fix \"bitmap\" "
            "or leave it out",
            i + 1, word, message->present()[i]);
      }
    }
    for (int i = bitmaps; i < 3; ++i) {
      if (message->present()[i] != 0) {
        return InvalidArgument("bitmap: it has {} bitmap(s) but fields above {} are present",
                               bitmaps, bitmaps * 64);
      }
    }
    message->set_bitmaps(bitmaps);
  }
  return OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Checks

namespace {

bool InRange(std::string_view digits, int low, int high) {
  int v = 0;
  for (char c : digits) {
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  return v >= low && v <= high;
}

// Whether `value` fits the date/time format: MM, DD, hh, mm, ss, YY in any order.
bool DateFits(std::string_view format, std::string_view value) {
  if (format.size() != value.size()) return false;
  for (size_t i = 0; i + 1 < format.size() + 1; i += 2) {
    const std::string_view part = format.substr(i, 2);
    const std::string_view v = value.substr(i, 2);
    bool ok = true;
    if (part == "MM") ok = InRange(v, 1, 12);
    if (part == "DD") ok = InRange(v, 1, 31);
    if (part == "hh") ok = InRange(v, 0, 23);
    if (part == "mm" || part == "ss") ok = InRange(v, 0, 59);
    if (part == "YY") ok = InRange(v, 0, 99);
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Status Validate(const Spec& spec, const Message& message) {
  std::string problems;
  message.ForEach([&](int number, std::string_view value) {
    const FieldSpec* f = spec.field(number);
    if (f == nullptr) return;
    std::string problem;
    if (!f->date.empty() && !DateFits(f->date, value)) {
      problem = fmt::format("\"{}\" is not a valid {}", value, f->date);
    } else if (f->type == DataType::kSigned &&
               (value.empty() || (value[0] != 'C' && value[0] != 'D') ||
                !std::all_of(value.begin() + 1, value.end(), IsDigit))) {
      problem = fmt::format("{} is not C or D followed by digits", Shown(value));
    } else if (f->type == DataType::kTrack) {
      for (char c : value) {
        if (!(c >= '0' && c <= '?') && HexNibble(c) < 0 && c != '^' && c != '%') {
          problem = fmt::format(
              "{} holds {}; track data is digits, separators (= D ^) and "
              "sentinels (; ? %)",
              Shown(value), Shown(std::string_view(&c, 1)));
          break;
        }
      }
    }
    if (!problem.empty()) {
      if (!problems.empty()) problems += "\n";
      problems += fmt::format("{} ({}): {}", f->Label(), f->Describe(), problem);
    }
  });
  if (problems.empty()) return OkStatus();
  return InvalidArgument("{}", problems);
}

std::string ToHex(std::string_view bytes) {
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    hex.push_back(kHexDigits[b >> 4]);
    hex.push_back(kHexDigits[b & 0xF]);
  }
  return hex;
}

Result<std::string> FromHex(std::string_view hex) {
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  int high = -1;
  size_t high_at = 0;
  for (size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    if (c == ' ' || c == '\t') continue;
    const int n = HexNibble(c);
    if (n < 0) {
      return Err(
          InvalidArgument("character {} is {}, not a hex digit", i, Shown(hex.substr(i, 1))));
    }
    if (high < 0) {
      high = n;
      high_at = i;
    } else {
      bytes.push_back(static_cast<char>(high << 4 | n));
      high = -1;
    }
  }
  if (high >= 0) {
    return Err(
        InvalidArgument("an odd count of hex digits (the last one at character {})", high_at));
  }
  return bytes;
}

}  // namespace ferry::legacy::iso8583
