// A copybook's layout, printed: Cobrix's layout report (the table `ferry copybook layout`
// prints, which Cobrix's tests compare against) and a JSON document with every detail.
//
// Thread-safety: the functions are thread-safe.
#ifndef FERRY_LEGACY_LAYOUT_H_
#define FERRY_LEGACY_LAYOUT_H_

#include <string>

#include <nlohmann/json.hpp>

#include "legacy/copybook.h"

namespace ferry::legacy {

// JSON whose objects keep their keys in insertion order: records print their fields in
// copybook order, as COBOL programmers read them (base/json.h's Json sorts keys).
using OrderedJson = nlohmann::ordered_json;

// Cobrix's `generateRecordLayoutPositions` table: a header line, a blank line, then one line per
// item in declaration order (66 and 88 entries are left out):
//
//   -------- FIELD LEVEL/NAME --------- --ATTRIBS--    FLD  START     END  LENGTH
//
//   1 RECORD                                              1      1     60     60
//     5 COMPANY_NAME                       r              6      7     15      9
//
// Name column: two blanks per depth, level and name, padded to 39 characters (a longer name
// pushes the rest right). Attributes padded to 11: `D` a DEPENDING ON counter, `r` redefined
// by a later item, `R` redefines an earlier one, `[]` has OCCURS. Then the item's number, its
// 1-based first and last byte and its length (an OCCURS at its maximum, a REDEFINES set's
// members at the set's size). No newline after the last line. Fillers print as FILLER without
// a policy; with one, as Cobrix prints them: the fillers a record keeps by their output names
// (all of them when named after the previous field), the dropped ones as FILLER.
std::string FormatCobrixLayout(const Copybook& copybook, const FillerPolicy* fillers = nullptr);

// Every item with its path, level, offset (0-based), size, type, usage, picture, sign, OCCURS,
// REDEFINES, DEPENDING ON and 88-level conditions:
//   {"source": ..., "record_size": N, "fields": [{"path": "RECORD.ID", ...}, ...]}
OrderedJson LayoutJson(const Copybook& copybook);

}  // namespace ferry::legacy

#endif  // FERRY_LEGACY_LAYOUT_H_
