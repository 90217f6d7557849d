// Test helper shared by the transport tests: three node identities, generated once per test
// binary (each generation costs a few milliseconds of key derivation).
#ifndef FERRY_TRANSPORT_TEST_IDENTITIES_H_
#define FERRY_TRANSPORT_TEST_IDENTITIES_H_

#include <vector>

#include "crypto/identity.h"

namespace ferry::transport::testing {

inline const crypto::Identity& Id(int which) {
  static const std::vector<crypto::Identity>* ids = [] {
    auto* v = new std::vector<crypto::Identity>;
    for (int i = 0; i < 3; ++i) v->push_back(crypto::Identity::Generate().value());
    return v;
  }();
  return (*ids)[static_cast<size_t>(which)];
}

}  // namespace ferry::transport::testing

#endif  // FERRY_TRANSPORT_TEST_IDENTITIES_H_
