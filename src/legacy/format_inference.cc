#include "legacy/format_inference.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

namespace ferry::legacy {
namespace {

using OrderedJson = nlohmann::ordered_json;

// A set of messages analysed together (a message type while it is being found), by index.
struct Group {
  const std::vector<std::string>* all = nullptr;
  std::vector<uint32_t> ids;
  size_t min_length = 0;
  size_t max_length = 0;

  size_t size() const { return ids.size(); }
  std::string_view at(size_t i) const { return (*all)[ids[i]]; }
  bool lengths_vary() const { return min_length != max_length; }
};

Group MakeGroup(const std::vector<std::string>* all, std::vector<uint32_t> ids) {
  Group g;
  g.all = all;
  g.ids = std::move(ids);
  g.min_length = SIZE_MAX;
  for (uint32_t id : g.ids) {
    g.min_length = std::min(g.min_length, (*all)[id].size());
    g.max_length = std::max(g.max_length, (*all)[id].size());
  }
  if (g.ids.empty()) g.min_length = 0;
  return g;
}

uint64_t ReadUint(std::string_view m, size_t offset, size_t width, bool big_endian) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) {
    const auto byte = static_cast<uint8_t>(m[offset + (big_endian ? i : width - 1 - i)]);
    v = v << 8 | byte;
  }
  return v;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto u = static_cast<uint8_t>(c);
    out.push_back(kDigits[u >> 4]);
    out.push_back(kDigits[u & 15]);
  }
  return out;
}

double Entropy(const std::vector<uint32_t>& counts, size_t total) {
  double h = 0;
  for (uint32_t c : counts) {
    if (c == 0) continue;
    const double p = static_cast<double>(c) / static_cast<double>(total);
    h -= p * std::log2(p);
  }
  return h;
}

template <typename Key>
double EntropyOf(const std::unordered_map<Key, uint32_t>& counts, size_t total) {
  double h = 0;
  for (const auto& [key, c] : counts) {
    const double p = static_cast<double>(c) / static_cast<double>(total);
    h -= p * std::log2(p);
  }
  return h;
}

// One byte column of a group: its value counts and their entropy.
struct Column {
  std::array<uint32_t, 256> counts{};
  size_t distinct = 0;
  double entropy = 0;
  uint8_t top = 0;
  bool constant() const { return distinct == 1; }
};

Column ColumnOf(const Group& g, size_t offset) {
  Column c;
  for (size_t i = 0; i < g.size(); ++i) ++c.counts[static_cast<uint8_t>(g.at(i)[offset])];
  std::vector<uint32_t> nonzero;
  uint32_t best = 0;
  for (int v = 0; v < 256; ++v) {
    if (c.counts[v] == 0) continue;
    ++c.distinct;
    nonzero.push_back(c.counts[v]);
    if (c.counts[v] > best) {
      best = c.counts[v];
      c.top = static_cast<uint8_t>(v);
    }
  }
  c.entropy = Entropy(nonzero, g.size());
  return c;
}

// The values a fixed-length field takes in a group, most frequent first.
std::vector<std::pair<std::string, uint32_t>> ValuesOf(const Group& g, size_t offset, size_t length,
                                                       size_t keep, size_t* distinct) {
  std::unordered_map<std::string_view, uint32_t> counts;
  for (size_t i = 0; i < g.size(); ++i) {
    std::string_view m = g.at(i);
    if (offset + length <= m.size()) ++counts[m.substr(offset, length)];
  }
  std::vector<std::pair<std::string_view, uint32_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (distinct != nullptr) *distinct = sorted.size();
  std::vector<std::pair<std::string, uint32_t>> out;
  for (size_t i = 0; i < sorted.size() && i < keep; ++i) {
    out.emplace_back(Hex(sorted[i].first), sorted[i].second);
  }
  return out;
}

struct Span {
  size_t begin;
  size_t end;
};

bool Overlaps(const std::vector<InferredField>& fields, size_t begin, size_t end) {
  for (const InferredField& f : fields) {
    if (f.offset < 0 || f.layout != FieldLayout::kFixed || f.from_end) continue;
    const auto fb = static_cast<size_t>(f.offset);
    if (begin < fb + f.length && fb < end) return true;
  }
  return false;
}

InferredField FixedField(FieldKind kind, size_t offset, size_t length, FieldEncoding encoding,
                         double confidence) {
  InferredField f;
  f.kind = kind;
  f.offset = static_cast<int64_t>(offset);
  f.length = length;
  f.encoding = encoding;
  f.confidence = confidence;
  return f;
}

// ---- Length fields -----------------------------------------------------------------------

// An integer at a fixed offset whose value plus a constant is the message's length:
// value + from == length, so it measures the message from offset `from` to its end.
struct LengthCandidate {
  size_t offset = 0;
  size_t width = 0;
  bool big_endian = true;
  size_t from = 0;
  std::vector<bool> holds;  // per message of the group
  size_t count = 0;
};

// Widths in order of preference: a 16-bit length is the commonest; a 32-bit one whose high
// bytes are zero would otherwise swallow the constant before a 16-bit one, and an 8-bit one
// the zero high byte of a 16-bit one.
constexpr std::array<std::pair<size_t, bool>, 5> kLengthShapes = {
    {{2, true}, {2, false}, {4, true}, {4, false}, {1, true}}};

// The best length relation at offsets [begin, end) of `g`. `rest_only`: the field measures
// exactly what follows it (from == its end). Candidates must hold for at least `min_count`
// messages whose lengths differ (else any constant would pass). `short_ok`: offsets past the
// shortest message are tried too, a message too short for the field counting as one it does
// not hold for (Modbus's write-multiple requests carry a byte count at offset 12 that their
// 12-byte responses lack).
std::optional<LengthCandidate> FindLengthField(const Group& g, size_t begin, size_t end,
                                               const std::vector<InferredField>& taken,
                                               bool rest_only, size_t min_count,
                                               bool short_ok = false) {
  const size_t reach = short_ok ? g.max_length : g.min_length;
  std::optional<LengthCandidate> best;
  int best_rank = 0;
  for (size_t offset = begin; offset < end; ++offset) {
    for (size_t shape = 0; shape < kLengthShapes.size(); ++shape) {
      const auto [width, be] = kLengthShapes[shape];
      if (offset + width > reach || Overlaps(taken, offset, offset + width)) continue;
      std::unordered_map<int64_t, uint32_t> froms;
      for (size_t i = 0; i < g.size(); ++i) {
        std::string_view m = g.at(i);
        if (offset + width > m.size()) continue;
        const auto v = static_cast<int64_t>(ReadUint(m, offset, width, be));
        ++froms[static_cast<int64_t>(m.size()) - v];
      }
      int64_t from = -1;
      uint32_t count = 0;
      for (const auto& [f, c] : froms) {
        if (rest_only && f != static_cast<int64_t>(offset + width)) continue;
        if (f < 0 || f > static_cast<int64_t>(reach)) continue;
        if (c > count || (c == count && f < from)) {
          from = f;
          count = c;
        }
      }
      if (count < min_count || count < 2) continue;
      LengthCandidate cand{offset, width, be, static_cast<size_t>(from), {}, count};
      cand.holds.resize(g.size());
      size_t first_length = SIZE_MAX;
      bool lengths_differ = false;
      for (size_t i = 0; i < g.size(); ++i) {
        std::string_view m = g.at(i);
        if (offset + width > m.size()) continue;
        const auto v = static_cast<int64_t>(ReadUint(m, offset, width, be));
        cand.holds[i] = static_cast<int64_t>(m.size()) - v == from;
        if (!cand.holds[i]) continue;
        if (first_length == SIZE_MAX) first_length = m.size();
        lengths_differ |= m.size() != first_length;
      }
      if (!lengths_differ) continue;
      // More messages first, then the preferred width, then the earlier offset.
      const int rank = static_cast<int>(count) * 8 - static_cast<int>(shape);
      if (!best || rank > best_rank) {
        best = std::move(cand);
        best_rank = rank;
      }
    }
  }
  return best;
}

InferredField LengthFieldOf(const LengthCandidate& c, size_t messages) {
  InferredField f =
      FixedField(FieldKind::kLength, c.offset, c.width,
                 c.width == 1 || c.big_endian ? FieldEncoding::kUintBe : FieldEncoding::kUintLe,
                 static_cast<double>(c.count) / static_cast<double>(messages));
  f.measures.from_offset = c.from;
  return f;
}

// ---- Message types -------------------------------------------------------------------------

// The byte whose value best explains the messages' lengths: the share of the length's entropy
// it removes, IG(L; X) / H(L). A type byte takes few values (at most `max_types`, H(X) <= 2
// bits) and explains at least `kTypeByteScore` of the length variation; bytes inside a length
// field are not candidates.
constexpr double kTypeByteScore = 0.15;

std::optional<size_t> ChooseTypeByte(const Group& g, const std::vector<InferredField>& taken,
                                     const InferOptions& options) {
  if (!g.lengths_vary() || g.size() < 10) return std::nullopt;
  std::unordered_map<size_t, uint32_t> lengths;
  for (size_t i = 0; i < g.size(); ++i) ++lengths[g.at(i).size()];
  const double h_length = EntropyOf(lengths, g.size());
  if (h_length <= 0) return std::nullopt;
  std::optional<size_t> best;
  double best_score = 0;
  const size_t limit = std::min<size_t>(g.min_length, 64);
  for (size_t offset = 0; offset < limit; ++offset) {
    if (Overlaps(taken, offset, offset + 1)) continue;
    const Column col = ColumnOf(g, offset);
    if (col.distinct < 2 || col.distinct > options.max_types || col.entropy > 2.0) continue;
    std::array<std::unordered_map<size_t, uint32_t>, 256> by_value;
    for (size_t i = 0; i < g.size(); ++i) {
      std::string_view m = g.at(i);
      ++by_value[static_cast<uint8_t>(m[offset])][m.size()];
    }
    double conditional = 0;
    for (int v = 0; v < 256; ++v) {
      if (col.counts[v] == 0) continue;
      conditional += static_cast<double>(col.counts[v]) / static_cast<double>(g.size()) *
                     EntropyOf(by_value[v], col.counts[v]);
    }
    const double score = (h_length - conditional) / h_length;
    if (score >= kTypeByteScore && score > best_score) {
      best = offset;
      best_score = score;
    }
  }
  return best;
}

// ---- Detectors on byte columns ---------------------------------------------------------------

constexpr uint64_t kUnixMin = 946684800;   // 2000-01-01
constexpr uint64_t kUnixMax = 2145916800;  // 2038-01-01
constexpr uint64_t kNtpMin = 2840140800;   // 1990-01-01 in NTP seconds (era 0)

// Clocks of one capture read within a year of one another (the 2nd to the 98th percentile:
// a stale reference time or a client's garbage may stand out); bytes that merely fall in the
// range of timestamps spread over decades.
bool WithinAYear(std::vector<uint64_t> seconds) {
  if (seconds.size() < 2) return false;
  std::sort(seconds.begin(), seconds.end());
  const size_t lo = seconds.size() / 50;
  const size_t hi = seconds.size() - 1 - seconds.size() / 50;
  return seconds[hi] - seconds[lo] <= 366ull * 86400;
}

bool Printable(uint8_t b) { return (b >= 0x20 && b < 0x7f) || b == '\t' || b == '\r' || b == '\n'; }

class ColumnAnalyzer {
 public:
  ColumnAnalyzer(const Group& g, size_t begin, size_t end, std::vector<InferredField> taken,
                 const InferOptions& options, const std::vector<bool>* varies_overall = nullptr)
      : g_(g),
        begin_(begin),
        end_(std::max(begin, end)),
        fields_(std::move(taken)),
        options_(options),
        varies_overall_(varies_overall) {
    columns_.reserve(end_ - begin_);
    for (size_t o = begin_; o < end_; ++o) columns_.push_back(ColumnOf(g, o));
  }

  std::vector<InferredField> Run() {
    // Counters first (a clock that ticks with the messages is a counter in the range of
    // timestamps, and is called a timestamp), then text (letters can fall in the range of
    // timestamps, random low bytes of a timestamp are not text), then timestamps by range.
    // 64-bit NTP timestamps go before counters: their seconds can tick like one.
    const bool ranges = g_.size() >= options_.min_messages_for_ranges;
    if (ranges) DetectNtpTimestamps();
    if (g_.size() >= 8) DetectCounters();
    DetectText();
    if (ranges) DetectUnixTimestamps();
    Segment();
    std::vector<InferredField> out;
    for (InferredField& f : fields_) {
      if (f.offset >= static_cast<int64_t>(begin_) && f.offset < static_cast<int64_t>(end_)) {
        out.push_back(std::move(f));
      }
    }
    std::sort(out.begin(), out.end(),
              [](const InferredField& a, const InferredField& b) { return a.offset < b.offset; });
    MergeZeroHighBytes(&out);
    MergeDependentWords(&out);
    return out;
  }

 private:
  const Column& col(size_t offset) const { return columns_[offset - begin_]; }
  bool Free(size_t b, size_t e) const { return e <= end_ && !Overlaps(fields_, b, e); }
  size_t Allowed() const {
    return static_cast<size_t>(std::floor(options_.tolerance * static_cast<double>(g_.size())));
  }
  // High-cardinality column: its entropy is near what the group's size allows.
  bool High(size_t offset) const {
    const double cap = std::log2(static_cast<double>(std::max<size_t>(g_.size(), 2)));
    return col(offset).entropy >= std::min(4.0, 0.8 * cap);
  }

  // Zero bytes before a varying group of at least as many bytes, 2 or 4 in all, are the high
  // bytes of one big-endian integer whose values are small in this sample (NTP's root delay
  // 0000_03b8), not a constant and a number.
  void MergeZeroHighBytes(std::vector<InferredField>* fields) const {
    std::vector<InferredField> out;
    for (size_t i = 0; i < fields->size(); ++i) {
      InferredField& f = (*fields)[i];
      if (i + 1 < fields->size() && f.kind == FieldKind::kConstant && !f.values.empty() &&
          f.values[0].first.find_first_not_of('0') == std::string::npos) {
        InferredField& next = (*fields)[i + 1];
        const size_t width = f.length + next.length;
        if ((next.kind == FieldKind::kInteger || next.kind == FieldKind::kEnumeration ||
             next.kind == FieldKind::kOpaque) &&
            next.confidence <= 0.7 && next.offset == f.offset + static_cast<int64_t>(f.length) &&
            f.length <= next.length && (width == 2 || width == 4)) {
          InferredField merged = FixedField(FieldKind::kInteger, static_cast<size_t>(f.offset),
                                            width, FieldEncoding::kUintBe, 0.5);
          merged.values = ValuesOf(g_, static_cast<size_t>(f.offset), width, 5, &merged.distinct);
          out.push_back(std::move(merged));
          ++i;
          continue;
        }
      }
      out.push_back(std::move(f));
    }
    *fields = std::move(out);
  }

  // Four busy columns at an offset that is a multiple of 4, cut by the generic segmenter, whose
  // values go together (no more distinct 4-byte values than a quarter over the busiest byte's)
  // are one identifier (NTP's reference ID, an address), not four enumerations. Correlated
  // separate fields (NTP's flags, stratum, poll and precision) combine into many more values.
  void MergeDependentWords(std::vector<InferredField>* fields) const {
    std::vector<InferredField> out;
    for (size_t i = 0; i < fields->size(); ++i) {
      InferredField& f = (*fields)[i];
      size_t j = i, covered = 0;
      while (f.offset >= 0 && f.offset % 4 == 0 && j < fields->size() && covered < 4 &&
             Generic((*fields)[j]) &&
             (*fields)[j].offset == f.offset + static_cast<int64_t>(covered)) {
        covered += (*fields)[j].length;
        ++j;
      }
      if (covered == 4 && j - i >= 2) {
        const auto o = static_cast<size_t>(f.offset);
        size_t busiest = 0;
        bool busy = true;
        for (size_t k = o; k < o + 4; ++k) {
          busy &= !col(k).constant();
          busiest = std::max(busiest, col(k).distinct);
        }
        size_t joint = 0;
        ValuesOf(g_, o, 4, 0, &joint);
        if (busy && joint <= std::max(busiest + 1, busiest * 5 / 4)) {
          InferredField merged = FixedField(
              joint <= options_.max_types ? FieldKind::kEnumeration : FieldKind::kInteger, o, 4,
              FieldEncoding::kUintBe, 0.5);
          merged.values =
              ValuesOf(g_, o, 4, joint <= options_.max_types ? 32 : 5, &merged.distinct);
          out.push_back(std::move(merged));
          i = j - 1;
          continue;
        }
      }
      out.push_back(std::move(f));
    }
    *fields = std::move(out);
  }

  // A field of the generic segmenter (detectors claim with higher confidence).
  static bool Generic(const InferredField& f) {
    return (f.kind == FieldKind::kInteger || f.kind == FieldKind::kEnumeration ||
            f.kind == FieldKind::kOpaque) &&
           f.confidence <= 0.7 && !f.from_end;
  }

  void Add(InferredField f) {
    f.values = ValuesOf(
        g_, static_cast<size_t>(f.offset), f.length,
        f.kind == FieldKind::kEnumeration || f.kind == FieldKind::kConstant ? 32 : 5, &f.distinct);
    fields_.push_back(std::move(f));
  }

  void DetectNtpTimestamps() {
    for (size_t o = begin_; o + 8 <= end_; ++o) {
      if (!Free(o, o + 8)) continue;
      size_t zero = 0, bad = 0;
      std::unordered_map<uint64_t, uint32_t> distinct;
      std::unordered_map<uint64_t, uint32_t> seconds;
      std::vector<uint64_t> all_seconds;
      for (size_t i = 0; i < g_.size(); ++i) {
        std::string_view m = g_.at(i);
        const uint64_t v = ReadUint(m, o, 8, true);
        if (v == 0) {
          ++zero;
          continue;
        }
        if ((v >> 32) < kNtpMin) ++bad;
        ++distinct[v];
        ++seconds[v >> 32];
        all_seconds.push_back(v >> 32);
      }
      const size_t nonzero = g_.size() - zero;
      if (bad > Allowed() || nonzero * 10 < g_.size() * 3) continue;
      // Captures repeat messages (and reference times): a twentieth of the values distinct is
      // enough.
      if (distinct.size() < 2 || distinct.size() * 20 < nonzero || !WithinAYear(all_seconds)) {
        continue;
      }
      // Seconds that tick, and a fraction whose high byte is busy (a constant before a
      // counter is not a clock).
      if (seconds.size() < 2 || col(o + 3).constant() ||
          col(o + 4).distinct * 4 < std::min<size_t>(distinct.size(), 256)) {
        continue;
      }
      InferredField f = FixedField(FieldKind::kTimestamp, o, 8, FieldEncoding::kUintBe,
                                   1.0 - static_cast<double>(bad) / g_.size());
      f.epoch = "ntp";
      Add(std::move(f));
      o += 7;
    }
  }

  void DetectUnixTimestamps() {
    for (size_t o = begin_; o + 4 <= end_; ++o) {
      for (bool be : {true, false}) {
        if (!Free(o, o + 4)) break;
        size_t zero = 0, bad = 0;
        std::unordered_map<uint64_t, uint32_t> distinct;
        std::vector<uint64_t> seconds;
        for (size_t i = 0; i < g_.size(); ++i) {
          const uint64_t v = ReadUint(g_.at(i), o, 4, be);
          if (v == 0) {
            ++zero;
          } else if (v < kUnixMin || v > kUnixMax) {
            ++bad;
          } else {
            ++distinct[v];
            seconds.push_back(v);
          }
        }
        const size_t nonzero = g_.size() - zero;
        if (bad > Allowed() || nonzero * 10 < g_.size() * 8 || distinct.size() < 2) continue;
        // Seconds tick: the low byte varies and many values are distinct.
        if (col(be ? o + 3 : o).constant() || distinct.size() * 10 < nonzero ||
            !WithinAYear(std::move(seconds))) {
          continue;
        }
        InferredField f = FixedField(FieldKind::kTimestamp, o, 4,
                                     be ? FieldEncoding::kUintBe : FieldEncoding::kUintLe,
                                     1.0 - static_cast<double>(bad) / g_.size());
        f.epoch = "unix";
        Add(std::move(f));
        o += 3;
        break;
      }
    }
  }

  // A counter grows by a small step from one message of the group to the next (in input
  // order; the step can exceed 1 when other types' messages share it), wrapping at its width.
  void DetectCounters() {
    for (size_t width : {4, 2}) {
      for (size_t o = begin_; o + width <= end_; ++o) {
        for (bool be : {true, false}) {
          if (!Free(o, o + width)) break;
          const uint64_t modulus = width == 4 ? (uint64_t{1} << 32) : (uint64_t{1} << 16);
          size_t good = 0;
          // The low half wrapped and the high half stood still: two fields, not one counter.
          const size_t half = width * 4;
          const uint64_t half_mask = (uint64_t{1} << half) - 1;
          size_t carry_missing = 0;
          uint64_t previous = ReadUint(g_.at(0), o, width, be);
          for (size_t i = 1; i < g_.size(); ++i) {
            const uint64_t v = ReadUint(g_.at(i), o, width, be);
            const uint64_t step = (v + modulus - previous) % modulus;
            if (step >= 1 && step <= 64) {
              ++good;
            } else if ((v >> half) == (previous >> half)) {
              const uint64_t low_step = ((v & half_mask) - (previous & half_mask)) & half_mask;
              carry_missing += low_step >= 1 && low_step <= 64 ? 1 : 0;
            }
            previous = v;
          }
          // A counter beside a constant is no wider counter when it wraps alone.
          if (carry_missing > 0) continue;
          const size_t pairs = g_.size() - 1;
          if (good * 10 < pairs * 9) continue;
          bool clock = width == 4;
          for (size_t i = 0; i < g_.size() && clock; ++i) {
            const uint64_t v = ReadUint(g_.at(i), o, width, be);
            clock = v >= kUnixMin && v <= kUnixMax;
          }
          InferredField f = FixedField(clock ? FieldKind::kTimestamp : FieldKind::kCounter, o,
                                       width, be ? FieldEncoding::kUintBe : FieldEncoding::kUintLe,
                                       static_cast<double>(good) / static_cast<double>(pairs));
          if (clock) f.epoch = "unix";
          Add(std::move(f));
          o += width - 1;
          break;
        }
      }
    }
  }

  // Printable runs: columns where (nearly) every message holds a printable byte or a NUL,
  // checked as text by IsText.
  void DetectText() {
    const size_t n = g_.size();
    std::vector<size_t> texty(end_ - begin_, 0);
    for (size_t i = 0; i < n; ++i) {
      std::string_view m = g_.at(i);
      for (size_t o = begin_; o < end_; ++o) {
        const auto b = static_cast<uint8_t>(m[o]);
        texty[o - begin_] += Printable(b) || b == 0 ? 1 : 0;
      }
    }
    auto zero_column = [&](size_t k) { return col(k).constant() && col(k).top == 0; };
    size_t o = begin_;
    while (o < end_) {
      if (texty[o - begin_] + Allowed() < n || !Free(o, o + 1)) {
        ++o;
        continue;
      }
      size_t e = o;
      while (e < end_ && texty[e - begin_] + Allowed() >= n && Free(e, e + 1)) ++e;
      const size_t run_end = e;
      // Columns of NULs before the text are a field of their own (an empty one); constant
      // characters after it are the start of the next field (BOOTP's file name runs into the
      // 'c' of the magic cookie). NULs after it are its padding.
      size_t b = o;
      while (b < e && zero_column(b)) ++b;
      while (e > b && col(e - 1).constant() && col(e - 1).top != 0) --e;
      if (e - b >= 3 && IsText(b, e)) {
        Add(FixedField(FieldKind::kText, b, e - b, FieldEncoding::kAscii, 0.9));
      }
      o = run_end;
    }
  }

  // Text in [b, e): in (nearly) every message printable characters then NUL padding (or NULs
  // only, an empty string), some column varying, and a message with three characters or more
  // (BOOTP's file name is empty in most messages).
  bool IsText(size_t b, size_t e) const {
    size_t bad = 0, worded = 0;
    bool varies = false;
    for (size_t k = b; k < e; ++k) varies |= !col(k).constant();
    if (!varies) return false;
    for (size_t i = 0; i < g_.size(); ++i) {
      std::string_view m = g_.at(i);
      size_t k = b, letters = 0;
      while (k < e && m[k] != 0) {
        letters += static_cast<uint8_t>(m[k]) > 0x20 ? 1 : 0;
        ++k;
      }
      while (k < e && m[k] == 0) ++k;
      bad += k < e ? 1 : 0;
      worded += letters >= 3 ? 1 : 0;
      if (bad > Allowed()) return false;
    }
    return worded >= 1;
  }

  // What no detector claimed: runs of constant columns become one constant field (adjacent
  // constants merge, as in NetPlier's evaluation); runs of varying columns are cut where the
  // entropy profile says a new field starts: after a drop (a big-endian integer's high byte
  // follows the previous field's busy low byte), and between two low-entropy bytes that do
  // not rise into one another (two small enumerations side by side).
  void Segment() {
    size_t o = begin_;
    while (o < end_) {
      if (!Free(o, o + 1)) {
        ++o;
        continue;
      }
      size_t e = o + 1;
      const bool constant = col(o).constant();
      while (e < end_ && Free(e, e + 1) && col(e).constant() == constant) ++e;
      if (constant) {
        // A zero byte before a one-byte varying group is its high byte (a small 16-bit
        // number), not a constant of its own.
        // At a word boundary with two more busy bytes after, the zero is the high byte of a
        // 32-bit number instead (NTP's root dispersion 0000_0aa7; MergeZeroHighBytes).
        const bool word = o % 4 == 0 && o + 4 <= end_ && Free(o, o + 4) && !col(o + 2).constant() &&
                          !col(o + 3).constant();
        if (!word && e - o == 1 && col(o).top == 0 && e < end_ && Free(e, e + 1) &&
            !col(e).constant() &&
            (e + 1 == end_ || !Free(e + 1, e + 2) || col(e + 1).constant() ||
             col(e + 1).entropy + kDrop < col(e).entropy ||
             (col(e).distinct <= options_.max_types && !High(e) && High(e + 1)))) {
          Add(FixedField(FieldKind::kInteger, o, 2, FieldEncoding::kUintBe, 0.5));
          o = e + 1;
          continue;
        }
        // Constant in this type, but where the columns of all the messages turn from constant
        // to varying (or back) a field ends: BOOTP's server name, empty in one type, is not
        // the padding before it.
        size_t piece = o;
        for (size_t k = o + 1; k <= e; ++k) {
          if (k == e || (varies_overall_ != nullptr && k < varies_overall_->size() &&
                         (*varies_overall_)[k] != (*varies_overall_)[k - 1])) {
            Add(FixedField(FieldKind::kConstant, piece, k - piece, FieldEncoding::kBytes, 1.0));
            piece = k;
          }
        }
      } else {
        SegmentVarying(o, e);
      }
      o = e;
    }
  }

  static constexpr double kDrop = 1.5;
  static constexpr double kRise = 1.0;

  void SegmentVarying(size_t b, size_t e) {
    size_t start = b;
    for (size_t j = b + 1; j <= e; ++j) {
      bool cut = j == e;
      if (!cut) {
        const double h0 = col(j - 1).entropy, h1 = col(j).entropy;
        if (h1 + kDrop < h0) {
          cut = true;
        } else if (!High(j - 1) && !High(j) && h1 <= h0 + kRise) {
          cut = true;
        } else if (j - start >= 4 && !(High(j - 1) && High(j))) {
          cut = true;
        }
      }
      if (!cut) continue;
      EmitGroup(start, j);
      start = j;
    }
  }

  void EmitGroup(size_t b, size_t e) {
    const size_t width = e - b;
    bool all_high = true;
    for (size_t k = b; k < e; ++k) all_high &= High(k);
    if (width == 1) {
      const bool enumeration = col(b).distinct <= options_.max_types && !High(b);
      Add(FixedField(enumeration ? FieldKind::kEnumeration : FieldKind::kInteger, b, 1,
                     FieldEncoding::kUintBe, enumeration ? 0.7 : 0.5));
    } else if (all_high || width > 8) {
      Add(FixedField(FieldKind::kOpaque, b, width, FieldEncoding::kBytes, 0.4));
    } else {
      Add(FixedField(FieldKind::kInteger, b, width, FieldEncoding::kUintBe, 0.5));
    }
  }

  const Group& g_;
  size_t begin_, end_;
  std::vector<InferredField> fields_;
  const InferOptions& options_;
  const std::vector<bool>* varies_overall_;  // per offset, over all messages of all types
  std::vector<Column> columns_;
};

// ---- Checksums ------------------------------------------------------------------------------

uint64_t Checksum(std::string_view bytes, std::string_view algorithm) {
  if (algorithm == "crc32") {
    return crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size()));
  }
  if (algorithm == "internet") {  // RFC 1071: ones' complement of the ones' complement sum
    uint32_t sum = 0;
    for (size_t i = 0; i < bytes.size(); i += 2) {
      uint32_t word = static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << 8;
      if (i + 1 < bytes.size()) word |= static_cast<uint8_t>(bytes[i + 1]);
      sum += word;
    }
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return ~sum & 0xffff;
  }
  uint8_t acc = 0;
  for (char c : bytes) {
    acc = algorithm == "sum8" ? static_cast<uint8_t>(acc + static_cast<uint8_t>(c))
                              : static_cast<uint8_t>(acc ^ static_cast<uint8_t>(c));
  }
  return acc;
}

struct ChecksumShape {
  size_t width;
  bool big_endian;
  std::string_view algorithm;
};
constexpr std::array<ChecksumShape, 5> kChecksumShapes = {{{4, true, "crc32"},
                                                           {4, false, "crc32"},
                                                           {2, true, "internet"},
                                                           {1, true, "sum8"},
                                                           {1, true, "xor8"}}};

// A check value in the last bytes of every message, over the bytes from some offset to it.
std::optional<InferredField> FindTrailerChecksum(const Group& g, const InferOptions& options) {
  if (g.size() < options.min_messages_for_ranges) return std::nullopt;
  const size_t allowed =
      static_cast<size_t>(std::floor(options.tolerance * static_cast<double>(g.size())));
  for (const ChecksumShape& shape : kChecksumShapes) {
    if (g.min_length < shape.width + 2) continue;
    const size_t last_start = std::min<size_t>(16, g.min_length - shape.width - 1);
    for (size_t from = 0; from <= last_start; ++from) {
      size_t bad = 0;
      for (size_t i = 0; i < g.size() && bad <= allowed; ++i) {
        std::string_view m = g.at(i);
        const size_t at = m.size() - shape.width;
        if (Checksum(m.substr(from, at - from), shape.algorithm) !=
            ReadUint(m, at, shape.width, shape.big_endian)) {
          ++bad;
        }
      }
      if (bad > allowed) continue;
      // Check values that vary: over identical messages (BGP's KEEPALIVEs) any sum holds.
      std::unordered_map<uint64_t, uint32_t> values;
      for (size_t i = 0; i < g.size(); ++i) {
        std::string_view m = g.at(i);
        ++values[ReadUint(m, m.size() - shape.width, shape.width, shape.big_endian)];
      }
      if (values.size() < std::max<size_t>(2, std::min<size_t>(8, g.size() / 10))) continue;
      InferredField f;
      f.kind = FieldKind::kChecksum;
      f.length = shape.width;
      f.from_end = true;
      f.encoding =
          shape.big_endian || shape.width == 1 ? FieldEncoding::kUintBe : FieldEncoding::kUintLe;
      f.algorithm = std::string(shape.algorithm);
      f.covers_from = from;
      f.confidence = 1.0 - static_cast<double>(bad) / static_cast<double>(g.size());
      return f;
    }
  }
  return std::nullopt;
}

// ---- Tag-length-value records --------------------------------------------------------------

struct RecordsShape {
  size_t tag_size;
  size_t length_size;
  bool big_endian;
  bool pad_and_end;       // 0x00 and 0xff stand alone (BOOTP's pad and end options)
  uint8_t wide_flag = 0;  // this bit of the tag's first byte adds a byte to the length (BGP)
};
constexpr std::array<RecordsShape, 7> kRecordsShapes = {{{1, 1, true, false},
                                                         {1, 1, true, true},
                                                         {1, 2, true, false},
                                                         {2, 1, true, false, 0x10},
                                                         {2, 1, true, false},
                                                         {2, 2, true, false},
                                                         {2, 2, false, false}}};

// Reads records from `begin` to `end` of `m`; returns false unless they end exactly at `end`.
// `boundaries` (when given) receives each record part's start.
bool ParseRecords(std::string_view m, size_t begin, size_t end, const RecordsShape& shape,
                  size_t* records, std::vector<uint32_t>* boundaries,
                  std::map<uint64_t, uint32_t>* tags) {
  size_t at = begin;
  *records = 0;
  while (at < end) {
    if (boundaries) boundaries->push_back(static_cast<uint32_t>(at));
    if (shape.pad_and_end && shape.tag_size == 1) {
      const auto b = static_cast<uint8_t>(m[at]);
      if (b == 0x00 || b == 0xff) {
        if (tags) ++(*tags)[b];
        ++at;
        continue;
      }
    }
    const size_t length_size =
        shape.length_size + ((static_cast<uint8_t>(m[at]) & shape.wide_flag) != 0 ? 1 : 0);
    if (at + shape.tag_size + length_size > end) return false;
    const uint64_t tag = ReadUint(m, at, shape.tag_size, shape.big_endian);
    const uint64_t length = ReadUint(m, at + shape.tag_size, length_size, shape.big_endian);
    if (boundaries) boundaries->push_back(static_cast<uint32_t>(at + shape.tag_size));
    const size_t value = at + shape.tag_size + length_size;
    if (length > end - value) return false;
    if (boundaries && length > 0) boundaries->push_back(static_cast<uint32_t>(value));
    if (tags) ++(*tags)[tag];
    at = value + length;
    ++*records;
  }
  return at == end;
}

struct MiddleRecords {
  size_t offset;  // of the length field
  size_t width;
  RecordsShape shape;
  size_t parsed;
  std::map<uint64_t, uint32_t> tags;
};

// A big-endian length (2 bytes, or 1) at a fixed offset in [begin, end) followed by exactly
// that many bytes of records in (nearly) every message, with more bytes after them in some
// (else the length measures the rest, found elsewhere), and 1.5 records a message on average.
std::optional<MiddleRecords> FindLengthOfRecords(const Group& g, size_t begin, size_t end,
                                                 const std::vector<InferredField>& taken,
                                                 size_t trailer, const InferOptions& options) {
  if (g.size() < 4) return std::nullopt;
  const size_t allowed =
      static_cast<size_t>(std::floor(options.tolerance * static_cast<double>(g.size())));
  end = std::min(end, begin + 64);
  for (size_t offset = begin; offset < end; ++offset) {
    for (size_t width : {2, 1}) {
      if (offset + width > g.min_length || Overlaps(taken, offset, offset + width)) continue;
      const size_t start = offset + width;
      for (const RecordsShape& shape : kRecordsShapes) {
        size_t bad = 0, total = 0, followed = 0;
        for (size_t i = 0; i < g.size() && bad <= allowed; ++i) {
          std::string_view m = g.at(i);
          const uint64_t v = ReadUint(m, offset, width, true);
          size_t records = 0;
          if (start + v + trailer > m.size() ||
              !ParseRecords(m, start, start + v, shape, &records, nullptr, nullptr)) {
            ++bad;
            continue;
          }
          total += records;
          followed += start + v + trailer < m.size() ? 1 : 0;
        }
        if (bad > allowed || total * 2 < g.size() * 3 || followed == 0) continue;
        MiddleRecords found{offset, width, shape, g.size() - bad, {}};
        for (size_t i = 0; i < g.size(); ++i) {
          std::string_view m = g.at(i);
          const uint64_t v = ReadUint(m, offset, width, true);
          size_t records = 0;
          if (start + v + trailer <= m.size()) {
            ParseRecords(m, start, start + v, shape, &records, nullptr, &found.tags);
          }
        }
        return found;
      }
    }
  }
  return std::nullopt;
}

struct RecordsFound {
  size_t begin;
  RecordsShape shape;
  size_t parsed;
};

// The earliest offset in [first, last] from which (nearly) every message of the group reads as
// records to its end (less `trailer` bytes), with at least 1.5 records a message on average.
std::optional<RecordsFound> FindRecords(const Group& g, size_t first, size_t last, size_t trailer,
                                        const InferOptions& options) {
  if (g.size() < 4) return std::nullopt;
  const size_t allowed =
      static_cast<size_t>(std::floor(options.tolerance * static_cast<double>(g.size())));
  for (size_t begin = first; begin <= last; ++begin) {
    for (const RecordsShape& shape : kRecordsShapes) {
      size_t bad = 0, total = 0;
      for (size_t i = 0; i < g.size() && bad <= allowed; ++i) {
        std::string_view m = g.at(i);
        size_t records = 0;
        if (m.size() < begin + trailer ||
            !ParseRecords(m, begin, m.size() - trailer, shape, &records, nullptr, nullptr)) {
          ++bad;
        }
        total += records;
      }
      if (bad > allowed || total * 2 < g.size() * 3) continue;
      return RecordsFound{begin, shape, g.size() - bad};
    }
  }
  return std::nullopt;
}

// ---- Text protocols ------------------------------------------------------------------------

bool LooksLikeText(const std::vector<std::string>& messages) {
  size_t printable = 0, total = 0;
  for (const std::string& m : messages) {
    for (char c : m) printable += Printable(static_cast<uint8_t>(c)) ? 1 : 0;
    total += m.size();
  }
  return total > 0 && printable * 100 >= total * 97;
}

bool Delimiter(char c) {
  return c == ' ' || c == '\r' || c == '\n' || c == '\t' || c == ':' || c == '=' || c == '&' ||
         c == ';' || c == ',' || c == '/' || c == '?';
}

// A selector's value for a length field that measures the rest of the message (or, negated,
// does not).
constexpr std::string_view kMeasuresRest = "(measures the rest)";

// ---- Building the types ----------------------------------------------------------------------

class Inferrer {
 public:
  Inferrer(const std::vector<std::string>& messages, const InferOptions& options)
      : messages_(messages), options_(options) {
    format_.messages = messages.size();
    format_.type_of.assign(messages.size(), 0);
    format_.boundaries.assign(messages.size(), {});
  }

  InferredFormat Run() {
    std::vector<uint32_t> ids(messages_.size());
    for (uint32_t i = 0; i < ids.size(); ++i) ids[i] = i;
    Group all = MakeGroup(&messages_, std::move(ids));
    if (LooksLikeText(messages_)) {
      RunText(all);
      return std::move(format_);
    }
    varies_overall_.assign(all.max_length, false);
    {
      std::vector<int> first(all.max_length, -1);
      for (const std::string& m : messages_) {
        for (size_t o = 0; o < m.size(); ++o) {
          const auto b = static_cast<uint8_t>(m[o]);
          if (first[o] < 0) {
            first[o] = b;
          } else if (first[o] != b) {
            varies_overall_[o] = true;
          }
        }
      }
    }
    // Length fields of the whole message hold for every message whatever its type.
    std::vector<InferredField> global;
    const size_t need = all.size() - Allowed(all.size());
    for (int round = 0; round < 2; ++round) {
      std::optional<LengthCandidate> c =
          FindLengthField(all, 0, all.min_length, global, false, need);
      if (!c) break;
      global.push_back(LengthFieldOf(*c, all.size()));
    }
    std::optional<size_t> type_byte = ChooseTypeByte(all, global, options_);
    if (!type_byte) {
      AnalyzeType(all, 0, {}, global, {}, "", 0);
    } else {
      std::vector<InferredField> taken = global;
      InferredField type =
          FixedField(FieldKind::kEnumeration, *type_byte, 1, FieldEncoding::kUintBe, 0.8);
      type.values = ValuesOf(all, *type_byte, 1, 256, &type.distinct);
      taken.push_back(type);
      std::vector<InferredField> prefix =
          ColumnAnalyzer(all, 0, *type_byte + 1, taken, options_).Run();
      std::vector<InferredField> rest;
      for (const InferredField& f : global) {
        if (f.offset > static_cast<int64_t>(*type_byte)) rest.push_back(f);
      }
      NameFields(&prefix, 0);
      std::string type_name;
      for (const InferredField& f : prefix) {
        if (f.offset == static_cast<int64_t>(*type_byte)) type_name = f.name;
      }
      for (const auto& [value, count] : type.values) {
        std::vector<uint32_t> members;
        for (uint32_t id : all.ids) {
          if (Hex(std::string_view(messages_[id]).substr(*type_byte, 1)) == value) {
            members.push_back(id);
          }
        }
        AnalyzeType(MakeGroup(&messages_, std::move(members)), *type_byte + 1, prefix, rest,
                    {{type_name, value}}, "", 0);
      }
    }
    return std::move(format_);
  }

 private:
  size_t Allowed(size_t n) const {
    return static_cast<size_t>(std::floor(options_.tolerance * static_cast<double>(n)));
  }

  static void NameFields(std::vector<InferredField>* fields, size_t first_index) {
    size_t index = first_index;
    for (InferredField& f : *fields) {
      if (!f.name.empty()) continue;
      // By offset; a trailer of a type whose length varies by its place at the end.
      f.name = f.offset >= 0 ? fmt::format("{}_{}", FieldKindName(f.kind), f.offset)
               : f.from_end  ? fmt::format("{}_end", FieldKindName(f.kind))
                             : fmt::format("{}_{}", FieldKindName(f.kind), index);
      ++index;
    }
  }

  // One message type (or a candidate that may split further): its fields after `begin`, given
  // the fields before it (`prefix`) and fields already known inside it (`known`).
  void AnalyzeType(const Group& g, size_t begin, const std::vector<InferredField>& prefix,
                   const std::vector<InferredField>& known,
                   std::vector<std::pair<std::string, std::string>> selector,
                   const std::string& note, int depth) {
    // A length field that holds for part of the type only: the part is a type of its own
    // (Modbus responses carry a byte count where the requests of the same function carry an
    // address).
    if (depth < 3 && g.lengths_vary() && g.size() >= 10) {
      const size_t min_part = std::max<size_t>(5, g.size() / 10);
      std::optional<LengthCandidate> part =
          FindLengthField(g, begin, g.max_length, known, true, min_part, /*short_ok=*/true);
      if (part && part->count + Allowed(g.size()) < g.size() &&
          g.size() - part->count >= min_part) {
        std::vector<uint32_t> in, out;
        for (size_t i = 0; i < g.size(); ++i) (part->holds[i] ? in : out).push_back(g.ids[i]);
        const std::string field = fmt::format("length_{}", part->offset);
        auto with = selector;
        with.emplace_back(field, kMeasuresRest);
        auto without = selector;
        without.emplace_back("!" + field, kMeasuresRest);
        AnalyzeType(MakeGroup(&messages_, std::move(in)), begin, prefix, known, with,
                    fmt::format("split: bytes {}-{} give the length of the rest here only",
                                part->offset, part->offset + part->width - 1),
                    depth + 1);
        AnalyzeType(MakeGroup(&messages_, std::move(out)), begin, prefix, known, without,
                    fmt::format("split: bytes {}-{} are not a length here", part->offset,
                                part->offset + part->width - 1),
                    depth + 1);
        return;
      }
    }

    std::vector<InferredField> taken = known;
    std::optional<InferredField> trailer = FindTrailerChecksum(g, options_);
    const size_t trailer_size = trailer ? trailer->length : 0;
    size_t fixed_end = g.min_length - (g.lengths_vary() ? 0 : trailer_size);
    InferredField tail;
    bool has_tail = false;
    std::optional<InferredField> after_tail;  // the rest after a tail of records in the middle
    if (g.lengths_vary()) {
      // A length field found over all the messages that measures a part after `begin`.
      const InferredField* known_length = nullptr;
      for (const InferredField& f : known) {
        // It must measure what follows it: a length of the whole message (BGP's) says nothing
        // about where the variable part starts.
        if (f.kind == FieldKind::kLength && f.measures.from_offset >= begin && f.offset >= 0 &&
            f.measures.from_offset >= static_cast<size_t>(f.offset) + f.length &&
            f.measures.from_offset <= g.min_length) {
          known_length = &f;
        }
      }
      std::optional<LengthCandidate> rest;
      if (known_length == nullptr) {
        rest = FindLengthField(g, begin, g.min_length, taken, true, g.size() - Allowed(g.size()));
      }
      if (known_length != nullptr) {
        fixed_end = known_length->measures.from_offset;
        tail.layout = FieldLayout::kLengthFrom;
        tail.length_field = fmt::format("length_{}", known_length->offset);
        tail.length_adjust = -static_cast<int64_t>(trailer_size);
      } else if (rest && rest->from >= begin) {
        InferredField length = LengthFieldOf(*rest, g.size());
        taken.push_back(length);
        fixed_end = rest->from;
        tail.layout = FieldLayout::kLengthFrom;
        tail.length_field = fmt::format("length_{}", rest->offset);
        tail.length_adjust = -static_cast<int64_t>(trailer_size);
      } else {
        tail.layout = FieldLayout::kRest;
      }
      has_tail = true;
      const size_t last = tail.layout == FieldLayout::kLengthFrom ? fixed_end : g.min_length;
      std::optional<RecordsFound> records =
          FindRecords(g, tail.layout == FieldLayout::kLengthFrom ? fixed_end : begin, last,
                      trailer_size, options_);
      if (records) {
        fixed_end = records->begin;
        tail.kind = FieldKind::kRecords;
        tail.records.tag_size = records->shape.tag_size;
        tail.records.length_size = records->shape.length_size;
        tail.records.big_endian = records->shape.big_endian;
        if (records->shape.pad_and_end) tail.records.single_byte_tags = {0x00, 0xff};
        tail.records.wide_length_flag = records->shape.wide_flag;
        std::map<uint64_t, uint32_t> tags;
        for (size_t i = 0; i < g.size(); ++i) {
          std::string_view m = g.at(i);
          size_t n = 0;
          if (m.size() >= fixed_end + trailer_size) {
            ParseRecords(m, fixed_end, m.size() - trailer_size, records->shape, &n, nullptr, &tags);
          }
        }
        for (const auto& [tag, count] : tags) tail.records.tags.emplace_back(tag, count);
        tail.confidence = static_cast<double>(records->parsed) / static_cast<double>(g.size());
        if (tail.layout != FieldLayout::kLengthFrom) tail.layout = FieldLayout::kRest;
      } else if (std::optional<MiddleRecords> middle;
                 tail.layout == FieldLayout::kRest &&
                 (middle =
                      FindLengthOfRecords(g, begin, g.min_length, taken, trailer_size, options_))) {
        // Records whose length an earlier field gives, then the rest (BGP UPDATE: the path
        // attributes, then the NLRI).
        InferredField length =
            FixedField(FieldKind::kLength, middle->offset, middle->width, FieldEncoding::kUintBe,
                       static_cast<double>(middle->parsed) / static_cast<double>(g.size()));
        fixed_end = middle->offset + middle->width;
        length.measures.from_offset = fixed_end;
        length.measures.to_end = false;
        taken.push_back(length);
        tail.kind = FieldKind::kRecords;
        tail.layout = FieldLayout::kLengthFrom;
        tail.length_field = fmt::format("length_{}", middle->offset);
        tail.records.tag_size = middle->shape.tag_size;
        tail.records.length_size = middle->shape.length_size;
        tail.records.big_endian = middle->shape.big_endian;
        if (middle->shape.pad_and_end) tail.records.single_byte_tags = {0x00, 0xff};
        tail.records.wide_length_flag = middle->shape.wide_flag;
        for (const auto& [tag, count] : middle->tags) tail.records.tags.emplace_back(tag, count);
        tail.confidence = length.confidence;
        after_tail.emplace();
        after_tail->kind = FieldKind::kOpaque;
        after_tail->layout = FieldLayout::kRest;
        after_tail->confidence = 0.5;
      } else {
        tail.kind = TailIsText(g, fixed_end, trailer_size) ? FieldKind::kText : FieldKind::kOpaque;
        tail.encoding =
            tail.kind == FieldKind::kText ? FieldEncoding::kAscii : FieldEncoding::kBytes;
        if (tail.kind == FieldKind::kOpaque)
          tail.item_length = ItemLength(g, fixed_end, trailer_size);
        tail.confidence = 0.5;
      }
    }
    std::vector<InferredField> fields =
        ColumnAnalyzer(g, begin, fixed_end, taken, options_, &varies_overall_).Run();
    if (has_tail) {
      tail.offset = static_cast<int64_t>(fixed_end);
      // Opaque bytes before an opaque rest are one run: where the shortest message ends is no
      // boundary (random data would get one in every message).
      if (tail.kind == FieldKind::kOpaque && tail.layout == FieldLayout::kRest &&
          tail.item_length == 0 && !fields.empty() && fields.back().kind == FieldKind::kOpaque &&
          fields.back().offset + static_cast<int64_t>(fields.back().length) == tail.offset) {
        tail.offset = fields.back().offset;
        fields.pop_back();
      }
      fields.push_back(std::move(tail));
      if (after_tail) fields.push_back(std::move(*after_tail));
    }
    if (trailer) {
      if (!g.lengths_vary()) trailer->offset = static_cast<int64_t>(g.min_length - trailer_size);
      fields.push_back(*trailer);
    }
    std::vector<InferredField> all = prefix;
    all.insert(all.end(), fields.begin(), fields.end());
    NameFields(&all, 0);
    // The type's own value of a selecting field, not every type's.
    for (InferredField& f : all) {
      for (const auto& [field, value] : selector) {
        if (field == f.name && value != kMeasuresRest) {
          f.values = {{value, static_cast<uint32_t>(g.size())}};
          f.distinct = 1;
        }
      }
    }
    // The tail's length field is named after its offset: find it by that.
    for (InferredField& f : all) {
      if (f.kind == FieldKind::kLength && f.measures.from_offset > 0) {
        for (const InferredField& t : all) {
          if (t.offset == static_cast<int64_t>(f.measures.from_offset) &&
              t.layout == FieldLayout::kLengthFrom) {
            f.measures.field = t.name;
          }
        }
      }
    }
    MessageType type;
    type.name = fmt::format("type_{}", format_.types.size() + 1);
    type.selector = std::move(selector);
    type.note = note;
    type.count = g.size();
    type.min_length = g.min_length;
    type.max_length = g.max_length;
    type.fields = std::move(all);
    const auto index = static_cast<uint32_t>(format_.types.size());
    for (size_t i = 0; i < g.size(); ++i) {
      format_.type_of[g.ids[i]] = index;
      if (!Segment(type, g.at(i), &format_.boundaries[g.ids[i]])) ++type.mismatched;
    }
    format_.types.push_back(std::move(type));
  }

  // An opaque tail whose length is a multiple of 2, 4 or 8 bytes in (nearly: 95%, for the
  // odd message that joined the type by chance) every message, and not always one item, is an
  // array of items of that size: Modbus's registers, lists of 32-bit addresses.
  static size_t ItemLength(const Group& g, size_t begin, size_t trailer) {
    for (size_t k : {8, 4, 2}) {
      size_t multiple = 0, longest = 0;
      for (size_t i = 0; i < g.size(); ++i) {
        std::string_view m = g.at(i);
        const size_t n = m.size() >= begin + trailer ? m.size() - begin - trailer : 0;
        multiple += n % k == 0 ? 1 : 0;
        longest = std::max(longest, n);
      }
      if (multiple * 100 >= g.size() * 95 && longest >= 2 * k) return k;
    }
    return 0;
  }

  static bool TailIsText(const Group& g, size_t begin, size_t trailer) {
    size_t printable = 0, total = 0;
    for (size_t i = 0; i < g.size(); ++i) {
      std::string_view m = g.at(i);
      for (size_t o = begin; o + trailer < m.size(); ++o) {
        const auto b = static_cast<uint8_t>(m[o]);
        printable += Printable(b) || b == 0 ? 1 : 0;
        ++total;
      }
    }
    return total > 0 && printable * 100 >= total * 95;
  }

  // Reads one message with the type's fields, as a decoder would: the boundaries between
  // fields (and inside records). False when a length runs past the end.
  static bool Segment(const MessageType& type, std::string_view m, std::vector<uint32_t>* out) {
    out->clear();
    size_t trailer = 0;
    for (const InferredField& f : type.fields) {
      if (f.from_end) trailer += f.length;
    }
    const size_t body_end = m.size() >= trailer ? m.size() - trailer : 0;
    size_t at = 0;
    bool exact = true;
    std::unordered_map<std::string_view, uint64_t> values;
    for (const InferredField& f : type.fields) {
      if (f.from_end) continue;
      if (at > 0 && at < m.size()) out->push_back(static_cast<uint32_t>(at));
      size_t length = 0;
      if (f.layout == FieldLayout::kFixed) {
        length = f.length;
      } else if (f.layout == FieldLayout::kLengthFrom) {
        auto it = values.find(f.length_field);
        const int64_t v =
            it == values.end() ? 0 : static_cast<int64_t>(it->second) + f.length_adjust;
        length = v < 0 ? 0 : static_cast<size_t>(v);
      } else {
        length = body_end > at ? body_end - at : 0;
      }
      if (at + length > body_end) {
        exact = false;
        length = body_end > at ? body_end - at : 0;
      }
      if (f.kind == FieldKind::kLength || f.kind == FieldKind::kEnumeration ||
          f.kind == FieldKind::kInteger) {
        values[f.name] = f.length <= 8 && f.layout == FieldLayout::kFixed
                             ? ReadUint(m, at, f.length, f.encoding != FieldEncoding::kUintLe)
                             : 0;
      }
      if (f.item_length > 0) {
        for (size_t k = f.item_length; k < length; k += f.item_length) {
          out->push_back(static_cast<uint32_t>(at + k));
        }
      }
      if (f.kind == FieldKind::kRecords) {
        const RecordsShape shape{f.records.tag_size, f.records.length_size, f.records.big_endian,
                                 !f.records.single_byte_tags.empty(), f.records.wide_length_flag};
        size_t n = 0;
        std::vector<uint32_t> inner;
        exact &= ParseRecords(m, at, at + length, shape, &n, &inner, nullptr);
        for (uint32_t b : inner) {
          if (b > at && b < m.size()) out->push_back(b);
        }
      }
      at += length;
    }
    if (at != body_end) exact = false;
    if (trailer > 0 && body_end > 0 && body_end < m.size()) {
      out->push_back(static_cast<uint32_t>(body_end));
    }
    std::sort(out->begin(), out->end());
    out->erase(std::unique(out->begin(), out->end()), out->end());
    return exact;
  }

  // Text protocols: the first token is the keyword that names the type; fields are the tokens
  // between delimiters, and each delimiter.
  void RunText(const Group& all) {
    std::map<std::string, std::vector<uint32_t>> by_keyword;
    for (uint32_t id : all.ids) {
      std::string_view m = messages_[id];
      size_t e = 0;
      while (e < m.size() && !Delimiter(m[e])) ++e;
      by_keyword[std::string(m.substr(0, e))].push_back(id);
    }
    if (by_keyword.size() > options_.max_types) {
      by_keyword.clear();
      by_keyword[""] = all.ids;
    }
    for (auto& [keyword, ids] : by_keyword) {
      Group g = MakeGroup(&messages_, ids);
      MessageType type;
      type.name = fmt::format("type_{}", format_.types.size() + 1);
      if (!keyword.empty()) type.selector.emplace_back("keyword", Hex(keyword));
      type.note = keyword.empty() ? "text" : fmt::format("text, keyword \"{}\"", keyword);
      type.count = g.size();
      type.min_length = g.min_length;
      type.max_length = g.max_length;
      InferredField body;
      body.name = "text_0";
      body.kind = FieldKind::kText;
      body.encoding = FieldEncoding::kAscii;
      body.layout = FieldLayout::kRest;
      body.offset = 0;
      body.confidence = 0.5;
      type.fields.push_back(body);
      const auto index = static_cast<uint32_t>(format_.types.size());
      for (uint32_t id : ids) {
        format_.type_of[id] = index;
        std::string_view m = messages_[id];
        std::vector<uint32_t>& b = format_.boundaries[id];
        for (size_t o = 0; o < m.size(); ++o) {
          if (!Delimiter(m[o])) continue;
          if (o > 0 && !Delimiter(m[o - 1])) b.push_back(static_cast<uint32_t>(o));
          if (o + 1 < m.size() && !Delimiter(m[o + 1])) b.push_back(static_cast<uint32_t>(o + 1));
        }
      }
      format_.types.push_back(std::move(type));
    }
  }

  const std::vector<std::string>& messages_;
  const InferOptions& options_;
  InferredFormat format_;
  std::vector<bool> varies_overall_;  // per offset: two values or more over all messages
};

// "enumeration_7 = 04, length_8 measures the rest".
std::string SelectorText(const MessageType& t) {
  std::string out;
  for (const auto& [field, value] : t.selector) {
    const bool negated = !field.empty() && field[0] == '!';
    const std::string_view name = negated ? std::string_view(field).substr(1) : field;
    if (value == kMeasuresRest) {
      out += fmt::format("{}{} {} the rest", out.empty() ? "" : ", ", name,
                         negated ? "does not measure" : "measures");
    } else {
      out += fmt::format("{}{} {} {}", out.empty() ? "" : ", ", name, negated ? "!=" : "=", value);
    }
  }
  return out;
}

// What a field is, in words, for the codec spec's "description".
std::string Describe(const InferredField& f) {
  std::string d(FieldKindName(f.kind));
  switch (f.kind) {
    case FieldKind::kLength:
      d += !f.measures.to_end ? fmt::format(": the length of {}", f.measures.field)
           : f.measures.from_offset == 0
               ? ": the length of the message"
               : fmt::format(": the length of the message from byte {}", f.measures.from_offset);
      break;
    case FieldKind::kTimestamp:
      d += f.epoch == "ntp" ? ": NTP seconds and fraction" : ": seconds since 1970 (unix)";
      break;
    case FieldKind::kChecksum:
      d += fmt::format(": {} of the bytes from {} to this field", f.algorithm, f.covers_from);
      break;
    case FieldKind::kRecords:
      d += fmt::format(": tag ({} byte(s)), length ({} byte(s)), value, to the end",
                       f.records.tag_size, f.records.length_size);
      break;
    case FieldKind::kConstant:
    case FieldKind::kEnumeration:
      if (!f.values.empty()) {
        d += ":";
        for (size_t i = 0; i < f.values.size() && i < 16; ++i) d += " " + f.values[i].first;
        if (f.distinct > 16) d += " ...";
      }
      break;
    default: break;
  }
  if (f.item_length > 0) d += fmt::format(", items of {} bytes", f.item_length);
  return d;
}

// One message type as a sequential spec of the ISO 8583-style codec: fields in order, each
// with one length rule (fixed "length", "length_field" and "length_adjust", or "rest"), a
// type (uint, ans or b) and an encoding.
OrderedJson CodecSpecJson(const MessageType& t) {
  OrderedJson fields = OrderedJson::array();
  std::vector<const InferredField*> order;
  for (const InferredField& f : t.fields) {
    if (!f.from_end) order.push_back(&f);
  }
  for (const InferredField& f : t.fields) {
    if (f.from_end) order.push_back(&f);
  }
  for (const InferredField* f : order) {
    OrderedJson j;
    j["name"] = f->name;
    const bool number =
        (f->encoding == FieldEncoding::kUintBe || f->encoding == FieldEncoding::kUintLe) &&
        f->layout == FieldLayout::kFixed && f->length >= 1 && f->length <= 8;
    if (number) {
      j["type"] = "uint";
      j["encoding"] = f->encoding == FieldEncoding::kUintLe ? "uint-le" : "uint-be";
    } else if (f->kind == FieldKind::kText) {
      j["type"] = "ans";
      j["encoding"] = "ascii";
    } else {
      j["type"] = "b";
      j["encoding"] = "binary";
    }
    switch (f->layout) {
      case FieldLayout::kFixed: j["length"] = f->length; break;
      case FieldLayout::kLengthFrom:
        j["length_field"] = f->length_field;
        if (f->length_adjust != 0) j["length_adjust"] = f->length_adjust;
        break;
      case FieldLayout::kRest: j["rest"] = true; break;
    }
    j["description"] = Describe(*f);
    fields.push_back(std::move(j));
  }
  OrderedJson spec;
  spec["name"] = t.name;
  const std::string where = SelectorText(t);
  spec["description"] =
      fmt::format("Inferred from {} message(s) of {}-{} bytes{}", t.count, t.min_length,
                  t.max_length, where.empty() ? "" : "; selected where " + where);
  spec["layout"] = "sequential";
  spec["fields"] = std::move(fields);
  return spec;
}

OrderedJson FieldJson(const InferredField& f) {
  OrderedJson j;
  j["name"] = f.name;
  if (f.from_end) {
    j["offset_from_end"] = f.length;
  } else if (f.offset >= 0) {
    j["offset"] = f.offset;
  } else {
    j["offset"] = nullptr;
  }
  switch (f.layout) {
    case FieldLayout::kFixed:
      j["layout"] = "fixed";
      j["length"] = f.length;
      break;
    case FieldLayout::kLengthFrom:
      j["layout"] = "length_from";
      j["length_from"] = f.length_field;
      j["adjust"] = f.length_adjust;
      break;
    case FieldLayout::kRest: j["layout"] = "rest"; break;
  }
  j["type"] = FieldKindName(f.kind);
  j["encoding"] = FieldEncodingName(f.encoding);
  if (f.kind == FieldKind::kLength) {
    OrderedJson m;
    if (!f.measures.to_end) {
      m["target"] = "field";
    } else if (f.measures.from_offset == 0) {
      m["target"] = "message";
    } else if (f.offset >= 0 &&
               f.measures.from_offset == static_cast<size_t>(f.offset) + f.length) {
      m["target"] = "rest";
    } else {
      m["target"] = "from_offset";
    }
    m["from_offset"] = f.measures.from_offset;
    if (!f.measures.field.empty()) m["field"] = f.measures.field;
    j["measures"] = m;
  }
  if (f.kind == FieldKind::kTimestamp) j["epoch"] = f.epoch;
  if (f.item_length > 0) j["item_length"] = f.item_length;
  if (f.kind == FieldKind::kChecksum) {
    j["algorithm"] = f.algorithm;
    j["covers_from"] = f.covers_from;
  }
  if (f.kind == FieldKind::kRecords) {
    OrderedJson r;
    r["tag_size"] = f.records.tag_size;
    r["length_size"] = f.records.length_size;
    r["byte_order"] = f.records.big_endian ? "big" : "little";
    if (f.records.wide_length_flag != 0) r["wide_length_flag"] = f.records.wide_length_flag;
    r["single_byte_tags"] = OrderedJson::array();
    for (uint8_t t : f.records.single_byte_tags) r["single_byte_tags"].push_back(t);
    OrderedJson tags = OrderedJson::array();
    for (const auto& [tag, count] : f.records.tags)
      tags.push_back({{"tag", tag}, {"count", count}});
    r["tags"] = tags;
    j["records"] = r;
  }
  if (!f.values.empty()) {
    j["distinct"] = f.distinct;
    OrderedJson values = OrderedJson::array();
    for (const auto& [value, count] : f.values)
      values.push_back({{"hex", value}, {"count", count}});
    j[f.kind == FieldKind::kEnumeration || f.kind == FieldKind::kConstant ? "values" : "examples"] =
        values;
  }
  j["confidence"] = std::round(f.confidence * 100) / 100;
  return j;
}

}  // namespace

std::string_view FieldKindName(FieldKind kind) {
  switch (kind) {
    case FieldKind::kConstant: return "constant";
    case FieldKind::kEnumeration: return "enumeration";
    case FieldKind::kCounter: return "counter";
    case FieldKind::kLength: return "length";
    case FieldKind::kTimestamp: return "timestamp";
    case FieldKind::kText: return "text";
    case FieldKind::kChecksum: return "checksum";
    case FieldKind::kInteger: return "integer";
    case FieldKind::kOpaque: return "opaque";
    case FieldKind::kRecords: return "records";
  }
  return "?";
}

std::string_view FieldEncodingName(FieldEncoding encoding) {
  switch (encoding) {
    case FieldEncoding::kUintBe: return "uint_be";
    case FieldEncoding::kUintLe: return "uint_le";
    case FieldEncoding::kAscii: return "ascii";
    case FieldEncoding::kBytes: return "hex";
  }
  return "?";
}

Result<InferredFormat> InferFormat(const std::vector<std::string>& messages,
                                   const InferOptions& options) {
  if (messages.empty()) {
    return Err(InvalidArgument("no message to infer a format from; give at least one"));
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].empty()) {
      return Err(
          InvalidArgument("message {} is empty; every message needs at least one byte", i + 1));
    }
  }
  return Inferrer(messages, options).Run();
}

OrderedJson InferredFormatJson(const InferredFormat& format, std::string_view source) {
  OrderedJson j;
  j["format"] = "ferry.inferred-spec";
  j["version"] = 1;
  j["source"] = source;
  j["messages"] = format.messages;
  OrderedJson types = OrderedJson::array();
  for (const MessageType& t : format.types) {
    OrderedJson tj;
    tj["name"] = t.name;
    OrderedJson selector = OrderedJson::array();
    for (const auto& [field, value] : t.selector) {
      const bool negated = !field.empty() && field[0] == '!';
      const std::string name = negated ? field.substr(1) : field;
      if (value == kMeasuresRest) {
        selector.push_back({{"field", name}, {"measures_rest", !negated}});
      } else {
        selector.push_back({{"field", name}, {negated ? "not" : "equals", value}});
      }
    }
    tj["selector"] = selector;
    if (!t.note.empty()) tj["note"] = t.note;
    tj["count"] = t.count;
    tj["min_length"] = t.min_length;
    tj["max_length"] = t.max_length;
    tj["mismatched"] = t.mismatched;
    OrderedJson fields = OrderedJson::array();
    for (const InferredField& f : t.fields) fields.push_back(FieldJson(f));
    tj["fields"] = fields;
    tj["codec_spec"] = CodecSpecJson(t);
    types.push_back(tj);
  }
  j["message_types"] = types;
  return j;
}

std::string FormatInferenceSummary(const InferredFormat& format) {
  std::string out =
      fmt::format("{} message(s), {} type(s)\n", format.messages, format.types.size());
  for (const MessageType& t : format.types) {
    const std::string selector = SelectorText(t);
    out += fmt::format("\n{}: {} message(s), {}-{} bytes{}{}\n", t.name, t.count, t.min_length,
                       t.max_length, selector.empty() ? "" : ", where " + selector,
                       t.mismatched > 0 ? fmt::format(" ({} not read exactly)", t.mismatched) : "");
    for (const InferredField& f : t.fields) {
      std::string where = f.from_end      ? fmt::format("end-{}", f.length)
                          : f.offset >= 0 ? fmt::format("{}", f.offset)
                                          : "+";
      std::string length;
      switch (f.layout) {
        case FieldLayout::kFixed: length = fmt::format("{}", f.length); break;
        case FieldLayout::kLengthFrom: length = "=" + f.length_field; break;
        case FieldLayout::kRest: length = "rest"; break;
      }
      std::string detail;
      if (f.kind == FieldKind::kLength) {
        detail = !f.measures.to_end ? "of " + f.measures.field
                 : f.measures.from_offset == 0
                     ? "of the message"
                     : fmt::format("of the bytes from {}", f.measures.from_offset);
      } else if (f.kind == FieldKind::kTimestamp) {
        detail = f.epoch + " seconds";
      } else if (f.kind == FieldKind::kChecksum) {
        detail = fmt::format("{} from byte {}", f.algorithm, f.covers_from);
      } else if (f.item_length > 0) {
        detail = fmt::format("items of {} bytes", f.item_length);
      } else if (f.kind == FieldKind::kRecords) {
        detail =
            fmt::format("tag {} length {}{}, {} tag(s)", f.records.tag_size, f.records.length_size,
                        f.records.wide_length_flag != 0
                            ? fmt::format(" (+1 if tag bit 0x{:02x})", f.records.wide_length_flag)
                            : "",
                        f.records.tags.size());
      } else if (!f.values.empty()) {
        for (size_t i = 0; i < f.values.size() && i < 6; ++i) {
          detail += (i ? " " : "") + f.values[i].first;
        }
        if (f.distinct > 6) detail += fmt::format(" ... ({} values)", f.distinct);
      }
      out += fmt::format("  {:>6} {:>12}  {:<12} {:<8} {}\n", where, length, FieldKindName(f.kind),
                         FieldEncodingName(f.encoding), detail);
    }
  }
  return out;
}

}  // namespace ferry::legacy
