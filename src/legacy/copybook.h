// COBOL copybooks: the parser, and the layout it produces.
//
// A copybook is the DATA DIVISION text that describes a record: level numbers, names and clauses
// (ISO/IEC 1989:2014, 13.18 "Data description entry", as IBM Enterprise COBOL 6 accepts it).
// ParseCopybook turns it into a Copybook: every item in declaration order with its level, path,
// type, byte offset and length, OCCURS bounds, REDEFINES and DEPENDING ON links and 88-level
// condition names, ready for the record decoder and encoder.
//
// Source formats. Fixed (reference) format, as a compiler reads it: columns 1-6 are the sequence
// area and 73 onwards the identification area, both ignored; column 7 is the indicator (`*` and
// `/` comment lines, `-` continues a literal, `D` debugging lines are skipped); code is in
// columns 8-72. Free format: code anywhere, `*>` starts a comment. kAuto (the default) reads
// fixed format unless some line cannot be: a level number starting in columns 1-6, a `*>` there,
// or code beyond column 80. `>>SOURCE FORMAT IS FREE|FIXED` switches between them. A tab moves
// to the next multiple of 8 columns (as GnuCOBOL reads tabs); columns in messages count that way.
//
// Layout. Offsets assume every OCCURS at its maximum (the record as a fixed-length layout); with
// variable-size OCCURS the decoder recomputes positions per record. A REDEFINES set (an item and
// the items that redefine it) occupies the size of its largest member. SYNC aligns binary and
// floating-point items to their natural boundary (2, 4 or 8 bytes) from the record's start and
// pads each occurrence of a group that holds such items to a multiple of its largest alignment.
// Several 01 records in one copybook describe the same bytes (each is an alternative view, as
// records under one FD are); a copybook that starts below level 01 is wrapped in a record named
// RECORD.
//
// Thread-safety: a Copybook is an immutable value once parsed; ParseCopybook is thread-safe.
#ifndef FERRY_LEGACY_COPYBOOK_H_
#define FERRY_LEGACY_COPYBOOK_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "legacy/picture.h"

namespace ferry::legacy {

enum class Usage : uint8_t {
  kDisplay,       // zoned decimal, text, edited
  kBinary,        // COMP, COMP-0, COMP-4, COMPUTATIONAL, BINARY: big-endian two's complement
  kNativeBinary,  // COMP-5: binary over the storage's full range
  kPacked,        // COMP-3, PACKED-DECIMAL
  kFloat,         // COMP-1: 4 bytes
  kDouble,        // COMP-2: 8 bytes
};

std::string_view UsageName(Usage usage);  // "DISPLAY", "COMP", "COMP-5", "COMP-3", ...

enum class SignPosition : uint8_t { kNone, kLeading, kTrailing };

// The type a value decodes to, as Cobrix types it for Spark: integers of up to 9 digits are
// kInt32, up to 18 kInt64, longer ones and every number with a scale kDecimal.
enum class ValueType : uint8_t { kGroup, kString, kInt32, kInt64, kDecimal, kFloat, kDouble };

std::string_view ValueTypeName(ValueType type);  // "group", "string", "int32", ...

// An 88-level condition name: the values (or THRU ranges) for which it is true, as written.
struct ConditionValue {
  std::string from;  // a literal's text without quotes, a number, or a figurative constant
  std::string thru;  // empty unless a THRU range
};
struct Condition {
  std::string name;
  std::vector<ConditionValue> values;
  int32_t line = 0;
};

struct Field {
  // ---- What the copybook says.
  std::string name;       // as written, upper case; "FILLER" for FILLER and unnamed items
  std::string json_name;  // name with `-` replaced by `_` (COMPANY-ID -> COMPANY_ID)
  int32_t level = 0;
  int32_t line = 0, column = 0;  // where the entry starts in the source
  int32_t parent = -1;           // index in Copybook::fields, -1 for a record
  std::vector<int32_t> children;
  int32_t depth = 0;  // 0 for a record
  bool is_group = false;
  bool is_filler = false;

  // ---- Elementary items.
  Picture picture;  // empty text for COMP-1 and COMP-2
  Usage usage = Usage::kDisplay;
  SignPosition sign = SignPosition::kNone;  // for a signed DISPLAY number: where the sign is
  bool sign_separate = false;
  bool sync = false;
  bool blank_when_zero = false;
  bool justified = false;
  ValueType type = ValueType::kGroup;
  int32_t precision = 0;  // kDecimal, kInt32, kInt64: digits
  int32_t scale = 0;      // the picture's scale (negative with trailing P)

  // ---- Where it is. Offsets count from the record's first byte, with every OCCURS at its
  // maximum; for an item inside an OCCURS, they are those of its first occurrence.
  int32_t offset = 0;
  int32_t size = 0;         // bytes of one occurrence
  int32_t layout_size = 0;  // bytes it spans: size x occurs_max, or its REDEFINES set's size

  // ---- OCCURS.
  bool has_occurs = false;
  int32_t occurs_min = 1;
  int32_t occurs_max = 1;
  int32_t depending_on = -1;  // OCCURS ... DEPENDING ON: the counter's index
  bool is_counter = false;    // some OCCURS depends on this item

  // ---- REDEFINES.
  int32_t redefines = -1;     // the item this one redefines
  bool is_redefined = false;  // a later sibling redefines this one (or the item it redefines)

  // ---- Level 66 (RENAMES): the first and last items renamed; not part of the record's tree.
  int32_t renames_first = -1;
  int32_t renames_last = -1;

  std::vector<Condition> conditions;  // level 88 under this item

  bool is_signed() const { return picture.is_signed; }
  bool is_elementary() const { return !is_group && level != 66; }
};

struct Copybook {
  std::string source_name;
  std::vector<Field> fields;     // every entry except 88s, in declaration order
  std::vector<int32_t> records;  // the 01 (and 77) items: the roots of the trees

  // The largest record, in bytes (OCCURS at their maximum).
  int32_t record_size() const;
  // "RECORD.COMPANY.SHORT-NAME": the names from the record down, as written.
  std::string Path(int32_t index) const;
  // The items named `name` (a copybook name such as COMPANY-ID, or its json_name, or a dotted
  // path's tail such as COMPANY.COMPANY-ID), in declaration order.
  std::vector<int32_t> Find(std::string_view name) const;
  // Whether any OCCURS has a DEPENDING ON.
  bool has_depending_on() const;
};

// How FILLER items are named when they are kept in decoded records (Cobrix's
// `filler_naming_policy`).
enum class FillerNaming : uint8_t {
  // Group fillers FILLER_1, FILLER_2, ..., elementary ones FILLER_P1, FILLER_P2, ..., numbered
  // through the whole copybook in declaration order.
  kSequenceNumbers,
  // FILLER_AFTER_<the output name of the item before it>, or of its parent for a first child.
  kPreviousFieldName,
};

// Which FILLER items decoded records keep, and their names.
struct FillerPolicy {
  bool drop_group_fillers = false;  // Cobrix's default: group fillers are kept
  bool drop_value_fillers = true;   // elementary fillers are dropped
  FillerNaming naming = FillerNaming::kSequenceNumbers;
};

// The output name of every field (parallel to Copybook::fields): json_name, with fillers named
// by `naming`.
std::vector<std::string> OutputNames(const Copybook& copybook, FillerNaming naming);

enum class SourceFormat : uint8_t { kAuto, kFixed, kFree };

struct ParseOptions {
  SourceFormat format = SourceFormat::kAuto;
};

// Parses copybook text. `source_name` (a path, usually) starts every error message, which names
// the line and column and what to change: "acct.cob:14:32: PIC 9(3)V9V9: more than one V".
[[nodiscard]] Result<Copybook> ParseCopybook(std::string_view text, std::string_view source_name,
                                             const ParseOptions& options = {});

// Copybooks of one file's records, merged: the records of all are alternatives over the same
// bytes (each later record redefines the first), as Cobrix's `copybooks` option merges them.
// Record names must differ.
[[nodiscard]] Result<Copybook> MergeCopybooks(std::vector<Copybook> copybooks);

}  // namespace ferry::legacy

#endif  // FERRY_LEGACY_COPYBOOK_H_
