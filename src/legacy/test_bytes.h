// Record bytes for the tests of legacy and of the copybook CLI: text in EBCDIC, raw bytes.
#ifndef FERRY_LEGACY_TEST_BYTES_H_
#define FERRY_LEGACY_TEST_BYTES_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "legacy/codepage.h"

namespace ferry::legacy::testing {

// EBCDIC (CCSID 37) bytes of ASCII text.
inline std::string E(std::string_view text) {
  const CodePage* page = CodePage::Get("ibm-037").value();
  std::string out;
  for (char c : text) {
    uint8_t b = 0;
    EXPECT_TRUE(page->Encode(static_cast<unsigned char>(c), &b));
    out.push_back(static_cast<char>(b));
  }
  return out;
}

inline std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

}  // namespace ferry::legacy::testing

#endif  // FERRY_LEGACY_TEST_BYTES_H_
