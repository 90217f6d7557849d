// JSON values (nlohmann::json), parsed with errors that point at the offending character, and
// a canonical serialization for hashing.
//
// Thread-safety: the functions are thread-safe; a Json value is not (like any std container,
// concurrent reads are fine, a write needs exclusive access).
#ifndef FERRY_BASE_JSON_H_
#define FERRY_BASE_JSON_H_

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace ferry {

// Objects keep their keys in a std::map, so they are always sorted (by UTF-8 bytes).
using Json = nlohmann::json;

// Parses one JSON document (RFC 8259; surrounding whitespace allowed, nothing else after it).
// The error is InvalidArgument "<source_name>:<line>:<column>: <what>", lines and columns
// 1-based, columns counted in bytes.
[[nodiscard]] Result<Json> ParseJson(std::string_view text, std::string_view source_name);

// ParseJson for documents too large to hold whole: `filter` sees each parse event as nlohmann's
// parser callbacks do, (depth, event, value), and returns false to leave the value out of the
// result (a key: its value is skipped; an object or array end: it is dropped once the filter
// has read it). The errors are ParseJson's.
using JsonFilter = Json::parser_callback_t;
[[nodiscard]] Result<Json> ParseJsonFiltered(std::string_view text, std::string_view source_name,
                                             const JsonFilter& filter);

// The canonical text of a value, stable across runs and builds so that it can be hashed: keys
// sorted, no whitespace, numbers in their shortest round-trip form, strings as UTF-8 with only
// `"`, `\` and control characters escaped. Invalid UTF-8 in a string is replaced by U+FFFD.
// Equal values give equal text; it is not RFC 8785 (JCS), which sorts keys by UTF-16 units.
std::string CanonicalJson(const Json& value);

}  // namespace ferry

#endif  // FERRY_BASE_JSON_H_
