// Message-format inference: from samples of an undocumented binary protocol, a draft
// specification of its messages: the message types, each type's fields in order with their
// offsets and lengths, and what each field is (a constant, an enumeration, a counter, a length
// and what it measures, a timestamp, text, a checksum, an integer, opaque bytes, or a run of
// tag-length-value records). docs/inference.md describes the method, the JSON and its limits.
//
// The method is an ensemble in the spirit of BinaryInferno (Chandler et al., NDSS 2023):
// specialised detectors, each of which either proves its claim on (nearly) every message or
// stays silent, run before a generic segmenter; the generic part splits what is left by the
// entropy profile of the byte columns (the value-change idea of NEMESYS, Kleber et al., WOOT
// 2018, reduced to offset-aligned columns). Message types are the values of one byte that
// best explains the messages' lengths (a keyword, as Netzob and NetPlier cluster on), split
// again where a length field holds for some of a type's messages and not for the others.
// Each type is also written as a sequential spec of the ISO 8583-style codec (`codec_spec`).
//
// Thread-safety: the functions are thread-safe; the results are values.
#ifndef FERRY_LEGACY_FORMAT_INFERENCE_H_
#define FERRY_LEGACY_FORMAT_INFERENCE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace ferry::legacy {

enum class FieldKind : uint8_t {
  kConstant,     // the same bytes in every message of the type
  kEnumeration,  // a few distinct values (`values`)
  kCounter,      // an integer that grows by small steps from one message to the next
  kLength,       // an integer that gives the length of the message, of its rest, or of a field
  kTimestamp,    // seconds since an epoch (`epoch`: unix, or ntp for 64-bit NTP timestamps)
  kText,         // printable ASCII (NUL padding allowed)
  kChecksum,     // a check value over other bytes (`algorithm`, `covers_from`)
  kInteger,      // a number that is none of the above (an address, a quantity)
  kOpaque,       // bytes without a recognised structure
  kRecords,      // tag-length-value records to the end of the message (`records`)
};
std::string_view FieldKindName(FieldKind kind);

enum class FieldEncoding : uint8_t { kUintBe, kUintLe, kAscii, kBytes };
std::string_view FieldEncodingName(FieldEncoding encoding);

// How a field's length is known, in the order an ISO 8583-style sequential layout reads
// fields: a fixed length, the value of an earlier field plus an adjustment, or all that is left
// of the message (less the fixed-length fields after it, such as a trailing checksum).
enum class FieldLayout : uint8_t { kFixed, kLengthFrom, kRest };

// What a kLength field measures: its value == the length of the message from `from_offset` to
// its end (from_offset 0: the whole message; the end of the length field: the rest after it);
// with `to_end` false, only of the field that starts at `from_offset` (records followed by
// more). `field` names the field it gives the length of when that is one field.
struct LengthMeaning {
  size_t from_offset = 0;
  bool to_end = true;
  std::string field;
};

// A run of records: a tag, a length, then that many value bytes, to the end of the message
// (less a trailer). Tags in `single_byte_tags` stand alone with no length (padding and end
// markers, as in BOOTP options).
struct RecordsLayout {
  size_t tag_size = 1;
  size_t length_size = 1;
  bool big_endian = true;
  std::vector<uint8_t> single_byte_tags;
  // When this bit of a record's first tag byte is set, its length has one byte more (BGP's
  // extended-length attribute flag); 0: never.
  uint8_t wide_length_flag = 0;
  std::vector<std::pair<uint64_t, uint32_t>> tags;  // tag values seen, with their counts
};

struct InferredField {
  std::string name;
  FieldKind kind = FieldKind::kOpaque;
  FieldEncoding encoding = FieldEncoding::kBytes;
  FieldLayout layout = FieldLayout::kFixed;
  int64_t offset = -1;       // from the message start; -1 when an earlier field's length varies
  size_t length = 0;         // kFixed
  std::string length_field;  // kLengthFrom: the field whose value (plus length_adjust) it is
  int64_t length_adjust = 0;
  bool from_end = false;   // a trailer: `length` bytes before the message end
  LengthMeaning measures;  // kLength
  std::string epoch;       // kTimestamp: "unix" or "ntp"
  std::string algorithm;   // kChecksum: "crc32", "internet", "sum8", "xor8"
  size_t covers_from = 0;  // kChecksum: the check covers the bytes from here to the field
  RecordsLayout records;   // kRecords
  size_t item_length = 0;  // kOpaque of a varying length: an array of items of this size
  // Distinct values (hex) with their counts, most frequent first: every value of a constant or
  // enumeration, at most a few of other fields.
  std::vector<std::pair<std::string, uint32_t>> values;
  size_t distinct = 0;      // distinct values seen (fixed-length fields)
  double confidence = 0.0;  // 0..1: the share of messages the detector's claim holds for,
                            // lowered for the generic segmenter's guesses
};

struct MessageType {
  std::string name;
  // The field values that select this type, as (field name, hex value); a field name that
  // starts with `!` negates the condition. For a split on a length field the value is
  // "(measures the rest)": the field measures the rest of the message (or, negated, not).
  std::vector<std::pair<std::string, std::string>> selector;
  std::string note;  // why the type was split off, in words
  size_t count = 0;
  size_t min_length = 0;
  size_t max_length = 0;
  std::vector<InferredField> fields;
  // Messages of the type that the fields do not read exactly (a length running past the end).
  size_t mismatched = 0;
};

struct InferredFormat {
  size_t messages = 0;
  std::vector<MessageType> types;
  std::vector<uint32_t> type_of;                  // per input message, its index in `types`
  std::vector<std::vector<uint32_t>> boundaries;  // per input message, its field boundaries
                                                  // (byte offsets, neither 0 nor its length)
};

struct InferOptions {
  // A byte can be the type field when it has between 2 and this many values. More types make
  // finer specs but fewer messages per type to learn each from.
  size_t max_types = 16;
  // Detectors that hold "for every message" accept this share of exceptions (noise, a
  // truncated message). Higher accepts more false claims on small samples.
  double tolerance = 0.02;
  // Detectors that recognise values by their range (timestamps) need this many messages;
  // below it, chance alone makes such claims.
  size_t min_messages_for_ranges = 8;
};

// Infers the format of `messages` (in capture order: counters are told by it). InvalidArgument
// for an empty sample or an empty message (named by its 1-based number).
[[nodiscard]] Result<InferredFormat> InferFormat(const std::vector<std::string>& messages,
                                                 const InferOptions& options = {});

// The spec as JSON (docs/inference.md, "Output"); `source` is named in it.
nlohmann::ordered_json InferredFormatJson(const InferredFormat& format, std::string_view source);

// A human summary: the types with their selectors and counts, and each field's offset, length
// and kind, one a line.
std::string FormatInferenceSummary(const InferredFormat& format);

}  // namespace ferry::legacy

#endif  // FERRY_LEGACY_FORMAT_INFERENCE_H_
