#include "legacy/record_decoder.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "legacy/number_text.h"

namespace ferry::legacy {

struct RecordDecoder::Plan {
  std::string name;  // output name
  std::string key;   // "\"NAME\":"
  bool emit = false;
  bool visit = false;         // decoded even when not emitted: it holds a counter
  int32_t segment_rule = -1;  // index into options_.segment_redefines
  const std::map<std::string, int32_t>* mapping = nullptr;  // occurs_mappings of this array
  bool non_terminal = false;
  std::string nt_name, nt_key;
  Field nt_field;  // the group's bytes as one text field
};

// What the walk reads of each field, packed (the Field and Plan hold the rest).
struct RecordDecoder::Node {
  FieldShape shape;
  int32_t rel_offset = 0;  // from the first byte of the parent group
  int32_t size = 0;        // one occurrence
  int32_t occurs_max = 1;
  int32_t depending_on = -1;
  int32_t first_child = 0;  // the children: child_index_[first_child, + child_count)
  int32_t child_count = 0;
  int32_t segment_rule = -1;
  bool emit = false;
  bool visit = false;
  bool is_group = false;
  bool has_occurs = false;
  bool is_counter = false;
  bool redefines = false;
  bool non_terminal = false;
  bool fast = false;   // TextOut may decode it straight into the output (TextOut::Fast)
  int16_t digits = 0;  // the picture's digit positions
  const std::string* key = nullptr;
  const std::string* name = nullptr;
  const char* padded_key = nullptr;  // the key in key_arena_, 32 readable bytes after it
  uint32_t key_size = 0;
};

// One step of a flat program: a fixed layout (no DEPENDING ON, segments or variable sizes)
// walked once, with every position computed, so that records decode in one loop.
struct RecordDecoder::FlatOp {
  enum Kind : uint8_t {
    kValue,              // key and value of an elementary item
    kArrayValue,         // separator and value of an element
    kOpenObject,         // key and {
    kOpenElementObject,  // separator and {
    kCloseObject,
    kOpenArray,  // key and [
    kCloseArray,
  };
  Kind kind;
  int32_t node;
  int64_t offset;
  const Node* n;
};

namespace {

std::string QuotedKey(const std::string& name) {
  std::string key = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') key.push_back('\\');
    key.push_back(c);
  }
  key += "\":";
  return key;
}

// Output to compact JSON text, into a buffer the caller sized with MaxJsonBytes: no bounds
// checks on the hot path.
class TextOut {
 public:
  explicit TextOut(char* p) : p_(p) {}
  char* end() const { return p_; }
  void Key(const std::string&, const std::string& quoted) {
    Separate();
    Put(quoted);
  }
  // The key of a field, copied with fixed-size moves when it is short.
  void KeyOf(const RecordDecoder::Node& n) {
    Separate();
    if (n.key_size <= 32) {
      p_ = Copy32(p_, n.padded_key, n.key_size);
    } else {
      Put(*n.key);
    }
  }
  void Element() { Separate(); }
  void BeginObject() {
    *p_++ = '{';
    first_ = true;
  }
  void EndObject() {
    *p_++ = '}';
    first_ = false;
  }
  void BeginArray() {
    *p_++ = '[';
    first_ = true;
  }
  void EndArray() {
    *p_++ = ']';
    first_ = false;
  }
  void Scalar(const Value& value) {
    switch (value.kind) {
      case Value::Kind::kText: {
        *p_++ = '"';
        const CodePage* page = value.code_page;
        char* p = p_;  // a local: writes through char* could alias a member
        for (uint8_t b : value.text) {
          const char c = page->JsonChar(b);
          if (c != 0) {
            *p++ = c;
          } else {
            for (char e : page->JsonEscaped(b)) *p++ = e;
          }
        }
        p_ = p;
        *p_++ = '"';
        break;
      }
      case Value::Kind::kNumber:
        p_ = WriteDecimal(p_, value.negative, value.digits, value.scale);
        break;
      default: {
        std::string text;
        AppendJsonValue(value, &text);
        Put(text);
      }
    }
    first_ = false;
  }
  void Integer(int64_t v) {
    p_ = std::to_chars(p_, p_ + 24, v).ptr;
    first_ = false;
  }
  void String(std::string_view s) {
    *p_++ = '"';
    Put(s);
    *p_++ = '"';
    first_ = false;
  }
  void Null() {
    Put("null");
    first_ = false;
  }

  // Decodes the common cases of a field straight into the output, without a Value: EBCDIC
  // zoned digits with an optional trailing sign zone, packed decimals, binary of up to 8 bytes,
  // text. False (nothing written) for anything else, which the general path then decodes,
  // with its checks and messages.
  bool Fast(const RecordDecoder::Node& n, const uint8_t* b, const uint8_t* record_end,
            bool in_array, const FieldCodecOptions& options, const CodePage* page) {
    const FieldShape& s = n.shape;
    const auto size = static_cast<size_t>(n.size);
    switch (s.decoder) {
      case FieldShape::Decoder::kZoned: return FastZoned(n, b, record_end, in_array);
      case FieldShape::Decoder::kText: return FastText(n, b, in_array, options, page);
      default: break;
    }
    // Packed and binary: digits staged in `digits`, with 32 readable bytes after any of them
    // for the fixed-size copies of WriteNumber.
    char digits[96];
    const char* first = digits;
    size_t count = 0;
    bool negative = false;
    if (s.decoder == FieldShape::Decoder::kPacked) {
      // Zero bytes first (leading zeros), then two digits a byte.
      size_t start = 0;
      while (start + 8 < size) {
        uint64_t w;
        std::memcpy(&w, b + start, 8);
        if (w != 0) {
          start += static_cast<size_t>(__builtin_ctzll(w)) >> 3;
          break;
        }
        start += 8;
      }
      while (start + 1 < size && b[start] == 0) ++start;
      bool ok = true;
      char* d = digits;
      for (size_t i = start; i + 1 < size; ++i) {
        const uint8_t high = b[i] >> 4, low = b[i] & 0x0F;
        ok &= high <= 9 && low <= 9;
        d[0] = static_cast<char>('0' | high);
        d[1] = static_cast<char>('0' | low);
        d += 2;
      }
      const uint8_t last = b[size - 1], high = last >> 4, low = last & 0x0F;
      negative = low == 0xB || low == 0xD;
      // A spare first nibble (an even number of digits) must be zero.
      const bool spare = 2 * size - 1 > static_cast<size_t>(n.digits) && (b[0] >> 4) != 0;
      if (!ok || high > 9 || low < 0xA || (negative && !s.is_signed) || spare) return false;
      *d++ = static_cast<char>('0' | high);
      count = static_cast<size_t>(d - digits);
    } else if (s.decoder == FieldShape::Decoder::kBinary) {
      if (size > 8 || (s.native_binary && options.comp5_little_endian) ||
          options.invalid != InvalidValues::kReject) {
        return false;
      }
      uint64_t u = 0;
      for (size_t i = 0; i < size; ++i) u = (u << 8) | b[i];
      negative = s.is_signed && (b[0] & 0x80) != 0;
      if (negative) {
        if (size < 8) u |= ~uint64_t{0} << (8 * size);
        u = ~u + 1;
      }
      std::string_view formatted = FormatUnsigned64(u, digits + 32);
      first = formatted.data();
      count = formatted.size();
    } else {
      return false;
    }
    if (!in_array) KeyOf(n);
    p_ = WriteNumber(p_, negative, first, count, s.scale);
    first_ = false;
    return true;
  }

 private:
  void Put(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }

  // Copies up to 32 bytes with two fixed 16-byte moves: `s` must have 32 readable bytes and
  // the output 32 writable ones (the buffer's slack).
  static char* Copy32(char* p, const char* s, size_t n) {
    std::memcpy(p, s, 16);
    std::memcpy(p + 16, s + 16, 16);
    return p + n;
  }

  // WriteDecimal for at most 32 digits in a padded buffer.
  // ASCII digits of `k` zoned bytes (zone and digit nibbles, digits at most 9). With `wide`,
  // whole 8-byte words are read and written, past the k bytes too: the caller checked that
  // both buffers have the room.
  static char* ZonedDigits(char* p, const uint8_t* src, size_t k, bool wide) {
    if (wide) {
      for (size_t i = 0; i < k; i += 8) {
        uint64_t x;
        std::memcpy(&x, src + i, 8);
        x = (x & 0x0F0F0F0F0F0F0F0FULL) | 0x3030303030303030ULL;
        std::memcpy(p + i, &x, 8);
      }
    } else {
      for (size_t i = 0; i < k; ++i) p[i] = static_cast<char>('0' | (src[i] & 0x0F));
    }
    return p + k;
  }

  // EBCDIC zoned digits with an optional sign zone on the last one, from the record straight
  // into the output: checked and converted eight bytes at a time (SWAR).
  bool FastZoned(const RecordDecoder::Node& n, const uint8_t* b, const uint8_t* record_end,
                 bool in_array) {
    static constexpr char kZeros[] = "00000000000000000000000000000000";
    const FieldShape& s = n.shape;
    const auto size = static_cast<size_t>(n.size);
    size_t i = 0;
    for (; i + 8 < size; i += 8) {
      uint64_t x;
      std::memcpy(&x, b + i, 8);
      const uint64_t low = x & 0x0F0F0F0F0F0F0F0FULL;
      if ((x & 0xF0F0F0F0F0F0F0F0ULL) != 0xF0F0F0F0F0F0F0F0ULL ||
          ((low + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) != 0) {
        return false;
      }
    }
    for (; i + 1 < size; ++i) {
      if ((b[i] & 0xF0) != 0xF0 || (b[i] & 0x0F) > 9) return false;
    }
    const uint8_t last = b[size - 1], zone = last >> 4, digit = last & 0x0F;
    if (digit > 9 || !(zone == 0xF || (s.is_signed && (zone == 0xC || zone == 0xD)))) {
      return false;
    }
    // Leading zeros (0xF0 bytes), eight at a time.
    size_t z = 0;
    while (z + 8 < size) {
      uint64_t w;
      std::memcpy(&w, b + z, 8);
      w ^= 0xF0F0F0F0F0F0F0F0ULL;
      if (w != 0) {
        z += static_cast<size_t>(__builtin_ctzll(w)) >> 3;
        break;
      }
      z += 8;
    }
    const bool wide = b + size + 8 <= record_end;
    if (wide && z + 1 < size && size - 1 - z <= 8) {
      // The last (fewer than 9) candidates in one word; bytes past them are masked out.
      uint64_t w;
      std::memcpy(&w, b + z, 8);
      const size_t left = size - 1 - z;
      const uint64_t mask = left == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * left)) - 1;
      const uint64_t x = (w ^ 0xF0F0F0F0F0F0F0F0ULL) & mask;
      z += x == 0 ? left : static_cast<size_t>(__builtin_ctzll(x)) >> 3;
    } else {
      while (z + 1 < size && b[z] == 0xF0) ++z;
    }
    const size_t count = size - z;
    if (!in_array) KeyOf(n);
    char* p = p_;
    const int32_t scale = s.scale;
    if (count == 1 && digit == 0) {
      *p++ = '0';
      if (scale > 0) {
        *p++ = '.';
        p = Copy32(p, kZeros, static_cast<size_t>(scale));
      }
    } else {
      *p = '-';
      p += zone == 0xD;
      if (scale <= 0) {
        p = ZonedDigits(p, b + z, count, wide);
        p = Copy32(p, kZeros, static_cast<size_t>(-scale));
      } else if (count > static_cast<size_t>(scale)) {
        p = ZonedDigits(p, b + z, count - static_cast<size_t>(scale), wide);
        *p++ = '.';
        p = ZonedDigits(p, b + size - static_cast<size_t>(scale), static_cast<size_t>(scale), wide);
      } else {
        *p++ = '0';
        *p++ = '.';
        p = Copy32(p, kZeros, static_cast<size_t>(scale) - count);
        p = ZonedDigits(p, b + z, count, wide);
      }
    }
    p_ = p;
    first_ = false;
    return true;
  }

  // Text in a code page whose bytes are all valid, trimmed (padding skipped eight at a time).
  bool FastText(const RecordDecoder::Node& n, const uint8_t* b, bool in_array,
                const FieldCodecOptions& options, const CodePage* page) {
    const auto size = static_cast<size_t>(n.size);
    const Trimming trim = options.trimming;
    if (!page->all_valid() || trim == Trimming::kKeepAll) return false;
    if (options.null_if_all_zero_bytes && b[0] == 0 &&
        std::all_of(b, b + size, [](uint8_t c) { return c == 0; })) {
      return false;
    }
    size_t begin = 0, end = size;
    if (trim == Trimming::kLeft || trim == Trimming::kBoth) {
      while (begin < end && page->trimmable(b[begin])) ++begin;
    }
    if (trim == Trimming::kRight || trim == Trimming::kBoth) {
      // Trailing spaces eight at a time: the highest bytes of a little-endian word are the
      // last ones, so the count of leading zero bits of (word ^ spaces) counts them.
      const uint64_t spaces = page->space() * 0x0101010101010101ULL;
      while (end >= begin + 8) {
        uint64_t w;
        std::memcpy(&w, b + end - 8, 8);
        const uint64_t x = w ^ spaces;
        if (x != 0) {
          end -= static_cast<size_t>(__builtin_clzll(x)) >> 3;
          break;
        }
        end -= 8;
      }
      while (end > begin && page->trimmable(b[end - 1])) --end;
    }
    if (!in_array) KeyOf(n);
    char* p = p_;
    *p++ = '"';
    for (size_t i = begin; i < end; ++i) {
      const char c = page->JsonChar(b[i]);
      if (c != 0) {
        *p++ = c;
      } else {
        for (char e : page->JsonEscaped(b[i])) *p++ = e;
      }
    }
    *p++ = '"';
    p_ = p;
    first_ = false;
    return true;
  }

  static char* WriteNumber(char* p, bool negative, const char* d, size_t n, int32_t scale) {
    static constexpr char kZeros[] = "00000000000000000000000000000000";
    while (n > 1 && *d == '0') {
      ++d;
      --n;
    }
    if (n == 1 && *d == '0') {
      *p++ = '0';
      if (scale > 0) {
        *p++ = '.';
        p = Copy32(p, kZeros, static_cast<size_t>(scale));
      }
      return p;
    }
    *p = '-';
    p += negative;
    if (scale <= 0) {
      p = Copy32(p, d, n);
      return Copy32(p, kZeros, static_cast<size_t>(-scale));
    }
    const auto s = static_cast<size_t>(scale);
    if (n > s) {
      p = Copy32(p, d, n - s);
      *p++ = '.';
      return Copy32(p, d + n - s, s);
    }
    *p++ = '0';
    *p++ = '.';
    p = Copy32(p, kZeros, s - n);
    return Copy32(p, d, n);
  }
  void Separate() {
    *p_ = ',';
    p_ += !first_;
    first_ = false;
  }
  char* p_;
  bool first_ = true;
};

// Output to an OrderedJson value.
class TreeOut {
 public:
  void Key(const std::string& name, const std::string&) { key_ = &name; }
  void Element() {}
  void BeginObject() { Open(OrderedJson::object()); }
  void EndObject() { stack_.pop_back(); }
  void BeginArray() { Open(OrderedJson::array()); }
  void EndArray() { stack_.pop_back(); }
  void Scalar(const Value& value) {
    OrderedJson& slot = Slot();
    switch (value.kind) {
      case Value::Kind::kNull: slot = nullptr; return;
      case Value::Kind::kText: {
        std::string text;
        for (uint8_t b : value.text) text.append(value.code_page->Utf8(b));
        slot = std::move(text);
        return;
      }
      case Value::Kind::kNumber: {
        std::string text;
        AppendDecimal(value.negative, value.digits, value.scale, &text);
        int64_t v = 0;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (value.scale <= 0 && ec == std::errc() && ptr == text.data() + text.size()) {
          slot = v;
        } else {
          slot = std::move(text);
        }
        return;
      }
      case Value::Kind::kFloat:
      case Value::Kind::kDouble: slot = value.real; return;
    }
  }
  void Integer(int64_t v) { Slot() = v; }
  void String(std::string_view s) { Slot() = std::string(s); }
  void Null() { Slot() = nullptr; }
  OrderedJson Take() { return std::move(root_); }

 private:
  OrderedJson& Slot() {
    OrderedJson& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(nullptr);
      return top.back();
    }
    return top[*key_];
  }
  void Open(OrderedJson value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      stack_.push_back(&root_);
      return;
    }
    OrderedJson& slot = Slot();
    slot = std::move(value);
    stack_.push_back(&slot);
  }
  OrderedJson root_;
  std::vector<OrderedJson*> stack_;
  const std::string* key_ = nullptr;
};

// No output: decoding for its checks, counters and sizes only.
class NullOut {
 public:
  void Key(const std::string&, const std::string&) {}
  void Element() {}
  void BeginObject() {}
  void EndObject() {}
  void BeginArray() {}
  void EndArray() {}
  void Scalar(const Value&) {}
  void Integer(int64_t) {}
  void String(std::string_view) {}
  void Null() {}
};

template <typename Out>
constexpr bool Discards() {
  return std::is_same_v<Out, NullOut>;
}

bool ContainsCounter(const Copybook& cb, int32_t index) {
  const Field& f = cb.fields[index];
  if (f.is_counter) return true;
  return std::ranges::any_of(f.children, [&](int32_t c) { return ContainsCounter(cb, c); });
}

bool ParseCount(std::string_view digits, bool negative, int32_t scale, int64_t* count) {
  if (negative && digits != "0") return false;
  std::string text(digits);
  if (scale < 0) text.append(static_cast<size_t>(-scale), '0');
  if (scale > 0) {
    // A count with decimals is a count when they are zeros.
    const auto s = static_cast<size_t>(scale);
    if (text.size() <= s) text.insert(0, s - text.size() + 1, '0');
    if (text.find_first_not_of('0', text.size() - s) != std::string::npos) return false;
    text.resize(text.size() - s);
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *count);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

template <typename Out>
class Walker {
 public:
  Walker(RecordDecoder* decoder, std::span<const uint8_t> record, Out* out, RecordError* error)
      : d_(*decoder), cb_(decoder->copybook_), record_(record), out_(*out), error_(error) {}

  // One item (all its occurrences) at `pos`; *size: the bytes it took.
  bool Item(int32_t index, int64_t pos, int64_t* size) {
    const RecordDecoder::Node& n = d_.nodes_[index];
    const bool emit = n.emit && !Discards<Out>();
    if (!n.emit && !n.visit) {
      *size = int64_t{n.size} * n.occurs_max;
      return true;
    }
    if (!n.has_occurs) {
      if (n.is_group) {
        if (emit) {
          out_.Key(*n.name, *n.key);
          out_.BeginObject();
        }
        if (!Children(index, pos, size)) return false;
        if (emit) out_.EndObject();
        if (emit && n.non_terminal) NonTerminal(index, pos, *size);
        return true;
      }
      *size = n.size;
      return Elementary(index, pos, /*in_array=*/false, emit);
    }
    int64_t count = n.occurs_max;
    if (n.depending_on >= 0 && !Count(index, pos, &count)) return false;
    if (emit) {
      out_.Key(*n.name, *n.key);
      out_.BeginArray();
    }
    const bool variable = d_.options_.variable_size_occurs;
    int64_t cursor = pos;
    for (int64_t k = 0; k < count; ++k) {
      const int64_t at = variable ? cursor : pos + k * n.size;
      int64_t element = n.size;
      if (emit) out_.Element();
      if (n.is_group) {
        if (emit) out_.BeginObject();
        if (!Children(index, at, &element)) return false;
        if (emit) out_.EndObject();
      } else if (!Elementary(index, at, /*in_array=*/true, emit)) {
        return false;
      }
      cursor = at + element;
    }
    if (emit) out_.EndArray();
    *size = variable ? cursor - pos : int64_t{n.size} * n.occurs_max;
    return true;
  }

  // A whole record: its records' fields (or the records, with keep_root); *size: the bytes the
  // largest took.
  bool Record(bool keep_root, int64_t* size) {
    *size = 0;
    if (!d_.flat_.empty()) {
      *size = cb_.record_size();
      return RunFlat(d_.flat_);
    }
    if (cb_.records.size() == 1 && !keep_root) return Children(cb_.records.front(), 0, size);
    for (int32_t root : cb_.records) {
      int64_t taken = 0;
      if (!Item(root, 0, &taken)) return false;
      *size = std::max(*size, taken);
    }
    return true;
  }

  // A whole record through the flat program.
  bool RunFlat(const std::vector<RecordDecoder::FlatOp>& ops) {
    using Op = RecordDecoder::FlatOp;
    // A whole record: every field's bytes are there, so the fast path needs no bounds check.
    [[maybe_unused]] const bool whole = record_.size() >= static_cast<size_t>(cb_.record_size());
    [[maybe_unused]] const uint8_t* begin = record_.data();
    [[maybe_unused]] const uint8_t* end = begin + record_.size();
    for (const Op& op : ops) {
      const RecordDecoder::Node& n = *op.n;
      switch (op.kind) {
        case Op::kValue:
          if constexpr (std::is_same_v<Out, TextOut>) {
            if (whole && n.fast &&
                out_.Fast(n, begin + op.offset, end, /*in_array=*/false, d_.options_.codec,
                          d_.codec_.code_page())) {
              break;
            }
          }
          if (!Elementary(n, op.node, op.offset, /*in_array=*/false, /*emit=*/true)) return false;
          break;
        case Op::kArrayValue:
          out_.Element();
          if (!Elementary(n, op.node, op.offset, /*in_array=*/true, /*emit=*/true)) return false;
          break;
        case Op::kOpenObject:
          out_.Key(*n.name, *n.key);
          out_.BeginObject();
          break;
        case Op::kOpenElementObject:
          out_.Element();
          out_.BeginObject();
          break;
        case Op::kCloseObject: out_.EndObject(); break;
        case Op::kOpenArray:
          out_.Key(*n.name, *n.key);
          out_.BeginArray();
          break;
        case Op::kCloseArray: out_.EndArray(); break;
      }
    }
    return true;
  }

  // The children of a group whose first byte is at `start`.
  bool Children(int32_t index, int64_t start, int64_t* size) {
    const RecordDecoder::Node* nodes = d_.nodes_.data();
    const RecordDecoder::Node& g = nodes[index];
    const int32_t* children = d_.child_index_.data() + g.first_child;
    const bool variable = d_.options_.variable_size_occurs;
    int64_t set_start = start, set_end = start;
    for (int32_t i = 0; i < g.child_count; ++i) {
      const int32_t child = children[i];
      const RecordDecoder::Node& c = nodes[child];
      int64_t at;
      if (!variable) {
        at = start + c.rel_offset;
      } else if (c.redefines) {
        at = set_start;
      } else {
        set_start = set_end;
        at = set_start;
      }
      int64_t taken = int64_t{c.size} * c.occurs_max;
      if (c.segment_rule < 0 || d_.SegmentMatches(c.segment_rule)) {
        if (!Item(child, at, &taken)) return false;
      }
      set_end = c.redefines ? std::max(set_end, at + taken) : at + taken;
    }
    *size = variable ? set_end - start : g.size;
    return true;
  }

 private:
  std::span<const uint8_t> Bytes(int64_t pos, int64_t size) {
    if (pos + size <= static_cast<int64_t>(record_.size())) {
      return record_.subspan(static_cast<size_t>(pos), static_cast<size_t>(size));
    }
    // Past the end of a short record: what there is, then zeros (as Cobrix reads it).
    d_.padded_.assign(static_cast<size_t>(size), 0);
    if (pos < static_cast<int64_t>(record_.size())) {
      std::copy(record_.begin() + pos, record_.end(), d_.padded_.begin());
    }
    return d_.padded_;
  }

  bool Fail(int32_t index, int64_t pos, std::string reason) {
    error_->field = cb_.Path(index);
    error_->offset = pos;
    error_->reason = std::move(reason);
    return false;
  }

  bool Elementary(int32_t index, int64_t pos, bool in_array, bool emit) {
    return Elementary(d_.nodes_[index], index, pos, in_array, emit);
  }

  bool Elementary(const RecordDecoder::Node& n, int32_t index, int64_t pos, bool in_array,
                  bool emit) {
    if constexpr (std::is_same_v<Out, TextOut>) {
      if (n.fast && emit && pos + n.size <= static_cast<int64_t>(record_.size()) &&
          out_.Fast(n, record_.data() + pos, record_.data() + record_.size(), in_array,
                    d_.options_.codec, d_.codec_.code_page())) {
        return true;
      }
    }
    Value value;
    FieldCodec::Outcome outcome = FieldCodec::Outcome::kNull;
    if (pos < static_cast<int64_t>(record_.size())) {
      outcome = d_.codec_.Decode(n.shape, Bytes(pos, n.size), &value);
    }
    if (outcome == FieldCodec::Outcome::kInvalid) return Fail(index, pos, d_.codec_.last_error());
    if (n.is_counter) Remember(index, outcome, value);
    if (!emit) return true;
    if (outcome != FieldCodec::Outcome::kValue) {
      if (in_array) out_.Null();
      return true;
    }
    if (!in_array) out_.Key(*n.name, *n.key);
    out_.Scalar(value);
    return true;
  }

  void Remember(int32_t index, FieldCodec::Outcome outcome, const Value& value) {
    d_.counters_[index] = -1;
    d_.counter_text_[index].clear();
    if (outcome != FieldCodec::Outcome::kValue) return;
    if (value.kind == Value::Kind::kNumber) {
      int64_t count = 0;
      if (ParseCount(value.digits, value.negative, value.scale, &count)) {
        d_.counters_[index] = count;
      }
    }
    d_.counter_text_[index] = ValueText(value);
  }

  bool Count(int32_t index, int64_t pos, int64_t* count) {
    const Field& f = cb_.fields[index];
    const Field& counter = cb_.fields[f.depending_on];
    const RecordDecoder::Plan& p = d_.plan_[index];
    if (p.mapping != nullptr) {
      const std::string& text = d_.counter_text_[f.depending_on];
      auto it = p.mapping->find(text);
      if (it == p.mapping->end()) {
        return Fail(index, pos,
                    fmt::format("DEPENDING ON {} is `{}`, which the occurs mapping of {} does not "
                                "list",
                                counter.name, text, f.name));
      }
      *count = it->second;
    } else {
      *count = d_.counters_[f.depending_on];
      if (*count < 0) {
        return Fail(index, pos,
                    fmt::format("DEPENDING ON {} is not a count (`{}`)", counter.name,
                                d_.counter_text_[f.depending_on]));
      }
    }
    if (*count < f.occurs_min || *count > f.occurs_max) {
      return Fail(index, pos,
                  fmt::format("DEPENDING ON {} = {} is outside OCCURS {} TO {}", counter.name,
                              *count, f.occurs_min, f.occurs_max));
    }
    return true;
  }

  void NonTerminal(int32_t index, int64_t pos, int64_t size) {
    const RecordDecoder::Plan& p = d_.plan_[index];
    Field text = p.nt_field;
    text.size = static_cast<int32_t>(size);
    Value value;
    if (pos >= static_cast<int64_t>(record_.size())) return;
    if (d_.codec_.Decode(text, Bytes(pos, size), &value) != FieldCodec::Outcome::kValue) return;
    out_.Key(p.nt_name, p.nt_key);
    out_.Scalar(value);
  }

  RecordDecoder& d_;
  const Copybook& cb_;
  std::span<const uint8_t> record_;
  Out& out_;
  RecordError* error_;
};

RecordDecoder::RecordDecoder(Copybook copybook, const DecodeOptions& options)
    : copybook_(std::move(copybook)), options_(options), codec_(options.codec) {}

RecordDecoder::~RecordDecoder() = default;

Result<std::unique_ptr<RecordDecoder>> RecordDecoder::Create(const Copybook& copybook,
                                                             const DecodeOptions& options) {
  std::unique_ptr<RecordDecoder> decoder(new RecordDecoder(copybook, options));
  FERRY_RETURN_IF_ERROR(decoder->Prepare());
  return decoder;
}

Status RecordDecoder::Prepare() {
  const std::vector<Field>& fields = copybook_.fields;
  std::vector<std::string> names = OutputNames(copybook_, options_.fillers.naming);
  plan_.resize(fields.size());
  counters_.assign(fields.size(), -1);
  counter_text_.assign(fields.size(), "");
  auto find_one = [&](const std::string& name, std::string_view what) -> Result<int32_t> {
    std::vector<int32_t> found = copybook_.Find(name);
    if (found.empty()) {
      return Err(
          InvalidArgument("{} `{}`: no such field in {}", what, name, copybook_.source_name));
    }
    if (found.size() > 1) {
      return Err(InvalidArgument("{} `{}` is ambiguous in {}: name it by its path ({})", what, name,
                                 copybook_.source_name, copybook_.Path(found[0])));
    }
    return found.front();
  };
  // Emit: not a dropped filler, not inside one, and (a group) something inside it is emitted.
  // Children come after their parent in declaration order: backwards for what a group holds,
  // forwards for what encloses an item.
  for (size_t i = fields.size(); i-- > 0;) {
    const Field& f = fields[i];
    Plan& p = plan_[i];
    p.name = names[i];
    p.key = QuotedKey(p.name);
    if (f.level == 66) continue;
    const bool dropped = f.is_filler && (f.is_group ? options_.fillers.drop_group_fillers
                                                    : options_.fillers.drop_value_fillers);
    bool any = !f.is_group;
    for (int32_t c : f.children) any = any || plan_[c].emit;
    p.emit = !dropped && any;
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    const Field& f = fields[i];
    if (f.level != 66 && f.parent >= 0 && !plan_[f.parent].emit) plan_[i].emit = false;
  }
  // Visit: not emitted, but it is (or holds) a DEPENDING ON counter, which must be decoded.
  for (size_t i = 0; i < fields.size(); ++i) {
    plan_[i].visit = !plan_[i].emit && ContainsCounter(copybook_, static_cast<int32_t>(i));
  }
  for (const auto& [name, mapping] : options_.occurs_mappings) {
    FERRY_ASSIGN_OR_RETURN(int32_t index, find_one(name, "occurs mapping for"));
    if (fields[index].depending_on < 0) {
      return InvalidArgument("occurs mapping for `{}`: it has no OCCURS DEPENDING ON", name);
    }
    plan_[index].mapping = &mapping;
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    const Field& f = fields[i];
    if (f.depending_on < 0 || plan_[i].mapping != nullptr) continue;
    const Field& counter = fields[f.depending_on];
    if (counter.type != ValueType::kInt32 && counter.type != ValueType::kInt64) {
      return InvalidArgument(
          "{}:{}: `{}` is the DEPENDING ON field of `{}` and is not an integer (PIC {}); give "
          "an occurs mapping from its values to counts",
          copybook_.source_name, counter.line, counter.name, f.name, counter.picture.text);
    }
  }
  for (const std::string& name : options_.non_terminals) {
    FERRY_ASSIGN_OR_RETURN(int32_t index, find_one(name, "non-terminal"));
    const Field& f = fields[index];
    if (!f.is_group) return InvalidArgument("non-terminal `{}` is not a group", name);
    Plan& p = plan_[index];
    p.non_terminal = true;
    p.nt_name = p.name + "_NT";
    p.nt_key = QuotedKey(p.nt_name);
    p.nt_field = f;
    p.nt_field.is_group = false;
    p.nt_field.type = ValueType::kString;
    p.nt_field.usage = Usage::kDisplay;
  }
  // The most text a record can print (generated columns: 128 bytes more).
  max_json_ = 128 + 2;
  for (int32_t record : copybook_.records) {
    if (copybook_.records.size() == 1 && !options_.keep_root) {
      for (int32_t child : copybook_.fields[record].children) max_json_ += MaxJsonBytes(child) + 1;
    } else {
      max_json_ += MaxJsonBytes(record) + 1;
    }
  }
  if (!options_.segment_field.empty()) {
    FERRY_ASSIGN_OR_RETURN(segment_field_, find_one(options_.segment_field, "segment field"));
    const Field& f = fields[segment_field_];
    if (f.is_group) return InvalidArgument("segment field `{}` is a group", f.name);
    for (int32_t p = segment_field_; p >= 0; p = fields[p].parent) {
      if (fields[p].has_occurs) {
        return InvalidArgument("segment field `{}` is inside an OCCURS", f.name);
      }
    }
  } else if (!options_.segment_redefines.empty() || !options_.segment_filter.empty() ||
             !options_.segment_id_levels.empty()) {
    return InvalidArgument("segment ids, filters and redefine maps need a segment field");
  }
  for (size_t r = 0; r < options_.segment_redefines.size(); ++r) {
    const std::string& name = options_.segment_redefines[r].first;
    FERRY_ASSIGN_OR_RETURN(int32_t index, find_one(name, "segment redefine"));
    if (fields[index].redefines < 0 && !fields[index].is_redefined) {
      return InvalidArgument("segment redefine `{}` is not part of a REDEFINES", name);
    }
    plan_[index].segment_rule = static_cast<int32_t>(r);
  }
  nodes_.resize(fields.size());
  child_index_.clear();
  for (size_t i = 0; i < fields.size(); ++i) {
    const Field& f = fields[i];
    const Plan& p = plan_[i];
    Node& n = nodes_[i];
    if (f.is_elementary()) n.shape = FieldShape::Of(f);
    n.rel_offset = f.parent >= 0 && f.level != 66 ? f.offset - fields[f.parent].offset : 0;
    n.size = f.size;
    n.occurs_max = f.occurs_max;
    n.depending_on = f.depending_on;
    n.first_child = static_cast<int32_t>(child_index_.size());
    n.child_count = static_cast<int32_t>(f.children.size());
    child_index_.insert(child_index_.end(), f.children.begin(), f.children.end());
    n.segment_rule = p.segment_rule;
    n.emit = p.emit;
    n.visit = p.visit;
    n.is_group = f.is_group;
    n.has_occurs = f.has_occurs;
    n.is_counter = f.is_counter;
    n.redefines = f.redefines >= 0;
    n.non_terminal = p.non_terminal;
    n.digits = static_cast<int16_t>(f.picture.digits);
    const FieldShape::Decoder kind = n.shape.decoder;
    const bool ebcdic = options_.codec.encoding == Encoding::kEbcdic;
    // TextOut::Fast's limits: 32 digits staged for packed items, 8 bytes of binary, 32 zeros
    // of scale; zoned digits are converted in place, any number of them.
    const bool zoned = kind == FieldShape::Decoder::kZoned && ebcdic && !n.shape.explicit_point &&
                       !n.shape.sign_separate && !n.shape.sign_leading;
    const bool packed = kind == FieldShape::Decoder::kPacked && n.size <= 16;
    const bool binary = kind == FieldShape::Decoder::kBinary && n.size <= 8;
    n.fast = f.is_elementary() && !f.is_counter && n.size > 0 &&
             (kind == FieldShape::Decoder::kText ||
              (std::abs(f.scale) <= 32 && (zoned || packed || binary)));
    n.key = &p.key;
    n.key_size = static_cast<uint32_t>(p.key.size());
    n.name = &p.name;
  }
  key_arena_.clear();
  std::vector<size_t> key_at(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    key_at[i] = key_arena_.size();
    key_arena_ += plan_[i].key;
    key_arena_.append(32, '\0');
  }
  for (size_t i = 0; i < nodes_.size(); ++i) nodes_[i].padded_key = key_arena_.data() + key_at[i];
  BuildFlat();
  return OkStatus();
}

void RecordDecoder::BuildFlat() {
  flat_.clear();
  if (options_.variable_size_occurs || !options_.segment_redefines.empty() ||
      !options_.non_terminals.empty() || copybook_.has_depending_on()) {
    return;
  }
  constexpr size_t kMaxOps = 1 << 20;  // a larger expansion keeps the tree walk
  bool fits = true;
  auto add = [&](auto&& self, int32_t index, int64_t pos) -> void {
    const Node& n = nodes_[index];
    if (!n.emit || !fits) return;
    if (flat_.size() > kMaxOps) {
      fits = false;
      return;
    }
    auto children = [&](int64_t at) {
      for (int32_t i = 0; i < n.child_count; ++i) {
        const int32_t child = child_index_[n.first_child + i];
        self(self, child, at + nodes_[child].rel_offset);
      }
    };
    if (!n.has_occurs) {
      if (n.is_group) {
        flat_.push_back({FlatOp::kOpenObject, index, pos});
        children(pos);
        flat_.push_back({FlatOp::kCloseObject, index, pos});
      } else {
        flat_.push_back({FlatOp::kValue, index, pos});
      }
      return;
    }
    flat_.push_back({FlatOp::kOpenArray, index, pos});
    for (int32_t k = 0; k < n.occurs_max; ++k) {
      const int64_t at = pos + int64_t{k} * n.size;
      if (n.is_group) {
        flat_.push_back({FlatOp::kOpenElementObject, index, at});
        children(at);
        flat_.push_back({FlatOp::kCloseObject, index, at});
      } else {
        flat_.push_back({FlatOp::kArrayValue, index, at});
      }
    }
    flat_.push_back({FlatOp::kCloseArray, index, pos});
  };
  for (int32_t record : copybook_.records) {
    if (copybook_.records.size() == 1 && !options_.keep_root) {
      const Node& root = nodes_[record];
      for (int32_t i = 0; i < root.child_count; ++i) {
        const int32_t child = child_index_[root.first_child + i];
        add(add, child, nodes_[child].rel_offset);
      }
    } else {
      add(add, record, 0);
    }
  }
  if (!fits) flat_.clear();
  for (FlatOp& op : flat_) op.n = &nodes_[op.node];
}

int64_t RecordDecoder::MaxJsonBytes(int32_t index) const {
  const Field& f = copybook_.fields[index];
  const Plan& p = plan_[index];
  if (!p.emit) return 0;
  int64_t one = 0;
  if (f.is_group) {
    one = 2;
    for (int32_t child : f.children) one += MaxJsonBytes(child) + 1;
  } else if (f.type == ValueType::kString) {
    one = 2 + 6 * int64_t{f.size};
  } else {
    // Digits (a binary value may have more than its picture), sign, point, zeros of the scale.
    one = std::max<int64_t>(48, 2 * int64_t{f.size}) + std::abs(f.scale) + 4;
  }
  int64_t total = static_cast<int64_t>(p.key.size()) + 1 +
                  (f.has_occurs ? 2 + int64_t{f.occurs_max} * (one + 1) : one);
  if (p.non_terminal) total += static_cast<int64_t>(p.nt_key.size()) + 3 + 6 * int64_t{f.size};
  return total;
}

bool RecordDecoder::SegmentMatches(int32_t rule) const {
  const std::vector<std::string>& ids = options_.segment_redefines[rule].second;
  return std::ranges::find(ids, segment_id_) != ids.end();
}

bool RecordDecoder::has_variable_size() const {
  return options_.variable_size_occurs && copybook_.has_depending_on();
}

std::string RecordDecoder::SegmentId(std::span<const uint8_t> record) {
  if (segment_field_ < 0) return "";
  const Field& f = copybook_.fields[segment_field_];
  if (f.offset + f.size > static_cast<int64_t>(record.size())) return "";
  Value value;
  if (codec_.Decode(f, record.subspan(f.offset, f.size), &value) != FieldCodec::Outcome::kValue) {
    return "";
  }
  std::string id = ValueText(value);
  const size_t first = id.find_first_not_of(' ');
  const size_t last = id.find_last_not_of(' ');
  return first == std::string::npos ? "" : id.substr(first, last - first + 1);
}

bool RecordDecoder::Keeps(const std::string& segment_id) const {
  return options_.segment_filter.empty() ||
         std::ranges::find(options_.segment_filter, segment_id) != options_.segment_filter.end();
}

Result<int64_t> RecordDecoder::IntegerField(int32_t index, std::span<const uint8_t> record) {
  const Field& f = copybook_.fields[index];
  if (f.offset + f.size > static_cast<int64_t>(record.size())) {
    return Err(OutOfRange("the record ends before {} ({} bytes left)", f.name, record.size()));
  }
  return IntegerFieldAt(index, record.subspan(f.offset, f.size));
}

Result<int64_t> RecordDecoder::IntegerFieldAt(int32_t index, std::span<const uint8_t> bytes) {
  const Field& f = copybook_.fields[index];
  Value value;
  if (codec_.Decode(f, bytes, &value) != FieldCodec::Outcome::kValue ||
      value.kind != Value::Kind::kNumber) {
    return Err(InvalidArgument("{} is not a number: {}", f.name, codec_.last_error()));
  }
  int64_t n = 0;
  if (!ParseCount(value.digits, value.negative, value.scale, &n)) {
    return Err(InvalidArgument("{} is not a positive integer", f.name));
  }
  return n;
}

bool RecordDecoder::Emits(int32_t field) const { return plan_[field].emit; }

const std::string& RecordDecoder::OutputName(int32_t field) const { return plan_[field].name; }

bool RecordDecoder::AppendJson(std::span<const uint8_t> record, const RecordInfo& info,
                               std::string* out, RecordError* error) {
  const size_t mark = out->size();
  if (!options_.segment_redefines.empty()) segment_id_ = SegmentId(record);
  size_t room = static_cast<size_t>(max_json_) + 64;  // the fixed-size copies' slack
  for (const std::string& id : info.segment_ids) room += id.size() + 32;
  bool ok = true;
  out->resize_and_overwrite(mark + room, [&](char* buffer, size_t) {
    TextOut text(buffer + mark);
    text.BeginObject();
    if (options_.generate_record_id) {
      static const std::string kFileId = "File_Id", kRecordId = "Record_Id",
                               kLength = "Record_Byte_Length";
      text.Key(kFileId, "\"File_Id\":");
      text.Integer(options_.file_id);
      text.Key(kRecordId, "\"Record_Id\":");
      text.Integer(info.record_id);
      text.Key(kLength, "\"Record_Byte_Length\":");
      text.Integer(info.byte_length);
    }
    for (size_t k = 0; k < info.segment_ids.size(); ++k) {
      if (info.segment_ids[k].empty()) continue;
      const std::string name = fmt::format("Seg_Id{}", k);
      text.Key(name, QuotedKey(name));
      text.String(info.segment_ids[k]);
    }
    Walker<TextOut> walker(this, record, &text, error);
    int64_t size = 0;
    if (!walker.Record(options_.keep_root, &size)) {
      ok = false;
      return mark;
    }
    text.EndObject();
    return static_cast<size_t>(text.end() - buffer);
  });
  return ok;
}

Result<OrderedJson> RecordDecoder::ToJson(std::span<const uint8_t> record, const RecordInfo& info) {
  if (!options_.segment_redefines.empty()) segment_id_ = SegmentId(record);
  TreeOut tree;
  tree.BeginObject();
  if (options_.generate_record_id) {
    static const std::string kFileId = "File_Id", kRecordId = "Record_Id",
                             kLength = "Record_Byte_Length";
    tree.Key(kFileId, "");
    tree.Integer(options_.file_id);
    tree.Key(kRecordId, "");
    tree.Integer(info.record_id);
    tree.Key(kLength, "");
    tree.Integer(info.byte_length);
  }
  std::vector<std::string> names;
  names.reserve(info.segment_ids.size());
  for (size_t k = 0; k < info.segment_ids.size(); ++k) names.push_back(fmt::format("Seg_Id{}", k));
  for (size_t k = 0; k < info.segment_ids.size(); ++k) {
    if (info.segment_ids[k].empty()) continue;
    tree.Key(names[k], "");
    tree.String(info.segment_ids[k]);
  }
  RecordError error;
  Walker<TreeOut> walker(this, record, &tree, &error);
  int64_t size = 0;
  if (!walker.Record(options_.keep_root, &size)) {
    return Err(InvalidArgument(
        "{}{}{}: {}", error.field,
        error.field.empty() ? "" : fmt::format(" at offset {}", error.offset), "", error.reason));
  }
  tree.EndObject();
  return tree.Take();
}

bool RecordDecoder::Validate(std::span<const uint8_t> record, RecordError* error) {
  if (!options_.segment_redefines.empty()) segment_id_ = SegmentId(record);
  NullOut none;
  // Every field, emitted or not, is decoded: NullOut walks what an output would.
  Walker<NullOut> walker(this, record, &none, error);
  int64_t size = 0;
  return walker.Record(options_.keep_root, &size);
}

int64_t RecordDecoder::RecordSize(std::span<const uint8_t> record, std::string* why) {
  if (!has_variable_size()) return copybook_.record_size();
  NullOut none;
  RecordError error;
  Walker<NullOut> walker(this, record, &none, &error);
  int64_t size = 0;
  if (!walker.Record(true, &size)) {
    *why = fmt::format("{}: {}", error.field, error.reason);
    return -1;
  }
  return size;
}

// ---- Whole files.

std::string RejectJson(const Reject& r) {
  OrderedJson j = {{"record", r.record}, {"offset", r.offset}, {"length", r.length}};
  if (!r.field.empty()) {
    j["field"] = r.field;
    j["field_offset"] = r.field_offset;
  }
  j["reason"] = r.reason;
  j["bytes"] = r.hex;
  return j.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

namespace {

std::string HexPrefix(std::span<const uint8_t> data) {
  std::string hex;
  const size_t n = std::min<size_t>(data.size(), 64);
  for (size_t i = 0; i < n; ++i) hex += fmt::format("{:02X}", data[i]);
  if (data.size() > n) hex += "...";
  return hex;
}

// Cobrix's Seg_Id columns: the root's id is <prefix>_<file>_<record id of the latest root>;
// level k's appends _L<k>_<its count since the level above>.
class SegmentIds {
 public:
  SegmentIds(const std::vector<std::string>& levels, std::string prefix, int32_t file_id)
      : levels_(levels),
        prefix_(std::move(prefix)),
        file_id_(file_id),
        ids_(levels.size()),
        counts_(levels.size(), 0) {}

  const std::vector<std::string>& Next(const std::string& segment, int64_t record_id) {
    auto it = std::ranges::find(levels_, segment);
    if (it != levels_.end()) {
      const size_t level = static_cast<size_t>(it - levels_.begin());
      if (level == 0) {
        ids_[0] = fmt::format("{}_{}_{}", prefix_, file_id_, record_id);
      } else if (!ids_[level - 1].empty()) {
        ++counts_[level];
        ids_[level] = fmt::format("{}_L{}_{}", ids_[level - 1], level, counts_[level]);
      }
      for (size_t k = level + 1; k < levels_.size(); ++k) {
        ids_[k].clear();
        counts_[k] = 0;
      }
      current_ = ids_;
      for (size_t k = level + 1; k < current_.size(); ++k) current_[k].clear();
    } else {
      // Another segment: it carries the root's id only.
      current_.assign(levels_.size(), "");
      if (!ids_.empty()) current_[0] = ids_[0];
    }
    return current_;
  }

 private:
  std::vector<std::string> levels_;
  std::string prefix_;
  int32_t file_id_;
  std::vector<std::string> ids_;
  std::vector<int64_t> counts_;
  std::vector<std::string> current_;
};

}  // namespace

Status CompleteFraming(const Copybook& copybook, const StreamOptions& options, RecordDecoder* d,
                       FramingOptions* framing) {
  if (framing->format == RecordFormat::kFixed && framing->record_length == 0 &&
      !framing->record_length_of) {
    if (!options.record_length_field.empty()) {
      std::vector<int32_t> found = copybook.Find(options.record_length_field);
      if (found.size() != 1) {
        return InvalidArgument("record length field `{}`: {}", options.record_length_field,
                               found.empty() ? "no such field" : "ambiguous; give its path");
      }
      const int32_t field = found.front();
      const int32_t adjustment = options.record_length_adjustment;
      framing->record_length_of = [d, field, adjustment](std::span<const uint8_t> bytes,
                                                         std::string* why) -> int64_t {
        Result<int64_t> n = d->IntegerField(field, bytes);
        if (!n.has_value()) {
          *why = n.error().message();
          return -1;
        }
        return *n + adjustment;
      };
      framing->max_record_length = copybook.record_size();
    } else if (d->has_variable_size()) {
      framing->record_length_of = [d](std::span<const uint8_t> bytes, std::string* why) {
        return d->RecordSize(bytes, why);
      };
      framing->max_record_length = copybook.record_size();
    } else {
      framing->record_length =
          copybook.record_size() + framing->record_start_offset + framing->record_end_offset;
    }
  }
  if (framing->format == RecordFormat::kText) {
    framing->ebcdic_text = options.decode.codec.encoding == Encoding::kEbcdic;
  }
  return OkStatus();
}

Result<StreamStats> DecodeStream(ByteSource* source, const Copybook& copybook,
                                 FramingOptions framing, const StreamOptions& options,
                                 const JsonSink& records, const RejectSink& rejects) {
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<RecordDecoder> decoder,
                         RecordDecoder::Create(copybook, options.decode));
  RecordDecoder* d = decoder.get();
  FERRY_RETURN_IF_ERROR(CompleteFraming(copybook, options, d, &framing));
  RecordReader reader(source, framing);
  const DecodeOptions& decode = options.decode;
  const bool segments = !decode.segment_field.empty();
  SegmentIds segment_ids(decode.segment_id_levels, decode.segment_id_prefix, decode.file_id);
  StreamStats stats;
  RawRecord raw;
  RecordInfo info;
  std::string why, line;
  for (int64_t n = 0;; ++n) {
    FERRY_ASSIGN_OR_RETURN(RecordReader::Outcome outcome, reader.Next(&raw, &why));
    if (outcome == RecordReader::Outcome::kEnd) break;
    if (outcome == RecordReader::Outcome::kBad) {
      Reject reject{.record = n,
                    .offset = raw.offset,
                    .length = static_cast<int64_t>(raw.data.size()),
                    .reason = why,
                    .hex = HexPrefix(raw.data)};
      ++stats.rejected;
      FERRY_RETURN_IF_ERROR(rejects(reject));
      continue;
    }
    info.record_id = n;
    info.byte_length = static_cast<int64_t>(raw.data.size());
    info.segment_ids.clear();
    if (segments) {
      const std::string id = d->SegmentId(raw.data);
      if (!decode.segment_id_levels.empty()) info.segment_ids = segment_ids.Next(id, n);
      if (!d->Keeps(id)) {
        ++stats.filtered;
        continue;
      }
    }
    line.clear();
    RecordError error;
    if (!d->AppendJson(raw.data, info, &line, &error)) {
      Reject reject{.record = n,
                    .offset = raw.offset,
                    .length = static_cast<int64_t>(raw.data.size()),
                    .field = error.field,
                    .field_offset = error.offset,
                    .reason = error.reason,
                    .hex = HexPrefix(raw.data)};
      ++stats.rejected;
      FERRY_RETURN_IF_ERROR(rejects(reject));
      continue;
    }
    ++stats.records;
    FERRY_RETURN_IF_ERROR(records(line));
  }
  stats.bytes = reader.bytes_read();
  return stats;
}

}  // namespace ferry::legacy
