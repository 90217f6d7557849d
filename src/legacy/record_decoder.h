// Records to JSON: a copybook's layout applied to each record's bytes.
//
// Output conventions are Cobrix's (docs/legacy.md, "JSON"): names with `-` replaced by `_`,
// groups as objects, OCCURS as arrays (DEPENDING ON: exactly the counter's number of elements),
// every REDEFINES alternative decoded from the same bytes as a sibling, null values left out,
// text trimmed, numbers printed exactly with their picture's scale (30.50, -0.0030503), keys in
// copybook order. The text form (AppendJson) is the fast path; ToJson builds a value.
//
// A record whose bytes do not decode (a letter in a numeric field, a bad packed nibble, a
// DEPENDING ON count out of its bounds) is rejected as a whole, with the field's path, its
// offset and the reason; with InvalidValues::kNull the value becomes null instead (Cobrix's
// behaviour), but an out-of-bounds count still rejects its record.
//
// Multi-segment files: `segment_field` names the field holding each record's segment id,
// `segment_redefines` says which REDEFINES alternative belongs to which ids (the others are
// left out of such a record), `segment_filter` keeps only some ids, `segment_id_levels`
// generates Cobrix's Seg_Id columns (DecodeStream keeps the hierarchy's state).
//
// Thread-safety: a RecordDecoder decodes one record at a time (it reuses buffers); use one per
// thread. Create is thread-safe.
#ifndef FERRY_LEGACY_RECORD_DECODER_H_
#define FERRY_LEGACY_RECORD_DECODER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "legacy/copybook.h"
#include "legacy/field_codec.h"
#include "legacy/layout.h"
#include "legacy/record_reader.h"

namespace ferry::legacy {

struct DecodeOptions {
  FieldCodecOptions codec;
  // Keep the 01 record as the single top-level key ({"RECORD": {...}}: Cobrix's
  // `schema_retention_policy=keep_original`) instead of its fields (`collapse_root`). A copybook
  // with several records always keeps them.
  bool keep_root = false;
  FillerPolicy fillers;
  // An OCCURS DEPENDING ON takes only count x element size bytes, so later fields move (Cobrix's
  // `variable_size_occurs`); by default every OCCURS takes its maximum.
  bool variable_size_occurs = false;
  // Counts for OCCURS DEPENDING ON a text field: array name -> (counter value -> count).
  std::map<std::string, std::map<std::string, int32_t>> occurs_mappings;
  // Groups that also get a `<NAME>_NT` text field holding all their bytes (Cobrix's
  // `non_terminals`).
  std::vector<std::string> non_terminals;
  // Multi-segment records.
  std::string segment_field;
  std::vector<std::string> segment_filter;
  std::vector<std::pair<std::string, std::vector<std::string>>> segment_redefines;
  std::vector<std::string> segment_id_levels;  // the root's id, then level 1's, ...
  std::string segment_id_prefix;
  // Generated columns first: File_Id, Record_Id, Record_Byte_Length.
  bool generate_record_id = false;
  int32_t file_id = 0;
};

// What a record was read with, for the generated columns.
struct RecordInfo {
  int64_t record_id = 0;
  int64_t byte_length = 0;
  std::vector<std::string> segment_ids;  // Seg_Id0, Seg_Id1, ... ("" : null)
};

// Why a record was rejected.
struct RecordError {
  std::string field;   // the path, RECORD.COMPANY.ID (empty for the record as a whole)
  int64_t offset = 0;  // of the field in the record
  std::string reason;
};

class RecordDecoder {
 public:
  // Resolves the options' names against the copybook: InvalidArgument names what is missing.
  [[nodiscard]] static Result<std::unique_ptr<RecordDecoder>> Create(const Copybook& copybook,
                                                                     const DecodeOptions& options);
  ~RecordDecoder();

  const Copybook& copybook() const { return copybook_; }
  const DecodeOptions& options() const { return options_; }

  // Appends the record as one compact JSON object (no newline). False: the record is rejected,
  // *error says why, and `out` is as it was.
  bool AppendJson(std::span<const uint8_t> record, const RecordInfo& info, std::string* out,
                  RecordError* error);
  // The record as a value. Numbers with a scale, or beyond 64 bits, are strings holding their
  // exact decimal text (a JSON library's number is a double); the others are JSON numbers.
  [[nodiscard]] Result<OrderedJson> ToJson(std::span<const uint8_t> record,
                                           const RecordInfo& info = {});
  // Decodes every field and discards the values: what decoding costs without any output.
  bool Validate(std::span<const uint8_t> record, RecordError* error);

  // The bytes the record takes: the copybook's size, or with variable-size OCCURS what its
  // counters make it; -1 with *error when a counter is bad.
  int64_t RecordSize(std::span<const uint8_t> record, std::string* error);
  bool has_variable_size() const;
  // The record's segment id (trimmed text of segment_field); "" without a segment field.
  std::string SegmentId(std::span<const uint8_t> record);
  // Whether segment_filter keeps this id.
  bool Keeps(const std::string& segment_id) const;
  // The value of an integer field at its static offset (record_length_field).
  [[nodiscard]] Result<int64_t> IntegerField(int32_t field, std::span<const uint8_t> record);
  // The same from the field's own bytes.
  [[nodiscard]] Result<int64_t> IntegerFieldAt(int32_t field, std::span<const uint8_t> bytes);
  // Whether the field is in the output (fillers the policy drops, and what is inside them, are
  // not), and its output name.
  bool Emits(int32_t field) const;
  const std::string& OutputName(int32_t field) const;

  // Internal (record_decoder.cc): the packed per-field plan the walk reads, and the flat
  // program of a fixed layout.
  struct Node;
  struct FlatOp;

 private:
  struct Plan;
  template <typename Out>
  friend class Walker;
  RecordDecoder(Copybook copybook, const DecodeOptions& options);
  Status Prepare();
  bool SegmentMatches(int32_t rule) const;
  // The most JSON text a field prints, key and all occurrences included.
  int64_t MaxJsonBytes(int32_t field) const;
  void BuildFlat();

  Copybook copybook_;
  DecodeOptions options_;
  FieldCodec codec_;
  std::vector<Plan> plan_;
  std::vector<Node> nodes_;
  std::vector<int32_t> child_index_;
  std::vector<FlatOp> flat_;  // empty: the layout needs the tree walk
  std::string key_arena_;     // every key, each followed by 32 bytes of padding
  int32_t segment_field_ = -1;
  std::vector<std::string> record_keys_;  // generated column keys
  std::vector<uint8_t> padded_;           // a field running past the record's end
  std::vector<int64_t> counters_;         // last value of each DEPENDING ON counter
  std::vector<std::string> counter_text_;
  std::string segment_id_;  // the current record's, for segment_redefines
  int64_t max_json_ = 0;    // the most text a record prints
};

// ---- Whole files.

struct StreamOptions {
  DecodeOptions decode;
  // The record length from a field (Cobrix's `record_length_field`) plus an adjustment.
  std::string record_length_field;
  int32_t record_length_adjustment = 0;
};

struct Reject {
  int64_t record = 0;  // 0-based, counting every record read (kept, filtered or rejected)
  int64_t offset = 0;  // file offset of the record (its RDW for V and VB)
  int64_t length = 0;  // payload bytes
  std::string field;   // path, or empty for the record as a whole
  int64_t field_offset = 0;
  std::string reason;
  std::string hex;  // the record's first bytes (at most 64), in hex
};

// Reject as one JSON Lines object: {"record":..,"offset":..,"length":..,"field":..,...}.
std::string RejectJson(const Reject& reject);

struct StreamStats {
  int64_t records = 0;  // decoded and written
  int64_t rejected = 0;
  int64_t filtered = 0;  // left out by segment_filter
  int64_t bytes = 0;     // of the data read
};

using JsonSink = std::function<Status(std::string_view json)>;
using RejectSink = std::function<Status(const Reject&)>;

// Fills in what `framing` leaves to the copybook: for F without a record length, the copybook's
// size, a length field's value (options.record_length_field) or what each record's variable-size
// OCCURS make it; for text, EBCDIC or ASCII line ends as the data's encoding. `decoder` (of the
// same copybook and options) measures the records and must outlive the framing's use.
[[nodiscard]] Status CompleteFraming(const Copybook& copybook, const StreamOptions& options,
                                     RecordDecoder* decoder, FramingOptions* framing);

// Reads every record of `source` (framed by `framing`; for F, the record length defaults to
// the copybook's size) and writes each as one JSON object to `records`, each rejected one to
// `rejects`. Errors: bad options (InvalidArgument), a failing source or sink.
[[nodiscard]] Result<StreamStats> DecodeStream(ByteSource* source, const Copybook& copybook,
                                               FramingOptions framing, const StreamOptions& options,
                                               const JsonSink& records, const RejectSink& rejects);

}  // namespace ferry::legacy

#endif  // FERRY_LEGACY_RECORD_DECODER_H_
