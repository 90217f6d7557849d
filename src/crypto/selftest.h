// Known-answer tests of every primitive ferry uses, run by `ferry crypto selftest` (and at the
// start of anything that encrypts, so a broken build never protects data).
#ifndef FERRY_CRYPTO_SELFTEST_H_
#define FERRY_CRYPTO_SELFTEST_H_

#include <string>
#include <vector>

namespace ferry::crypto {

struct SelfTestResult {
  std::string name;  // "AES-256-GCM (NIST GCM test case 14)"
  bool passed = false;
  std::string detail;  // why it failed; empty when it passed
};

std::vector<SelfTestResult> RunSelfTests();

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_SELFTEST_H_
