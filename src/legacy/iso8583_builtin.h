// The JSON text of the built-in ISO 8583 specs (src/legacy/specs/), compiled into the binary by
// src/legacy/specs/embed.cmake. Internal to iso8583_spec.cc and the tests.
#ifndef FERRY_LEGACY_ISO8583_BUILTIN_H_
#define FERRY_LEGACY_ISO8583_BUILTIN_H_

#include <string_view>

namespace ferry::legacy::iso8583 {

struct BuiltInSpecText {
  std::string_view name;  // "1987", "1987-binary", ...
  std::string_view text;  // the spec document
};

extern const BuiltInSpecText kBuiltInSpecTexts[];
extern const int kBuiltInSpecCount;

}  // namespace ferry::legacy::iso8583

#endif  // FERRY_LEGACY_ISO8583_BUILTIN_H_
