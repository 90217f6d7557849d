// Randomness for the crypto module: OpenSSL's DRBG, and PQClean's randombytes() on top of it.
//
// PQClean draws its key-generation and encapsulation randomness through one C function,
// randombytes(). random.cc defines it: by default it reads OpenSSL's RAND_bytes. A
// ScopedRandomBytes on the current thread makes it read given bytes instead, which is how the
// deterministic forms FIPS 203/204 define (KeyGen from a seed, Sign with a given rnd) are reached
// without changing PQClean.
#ifndef FERRY_CRYPTO_RANDOM_H_
#define FERRY_CRYPTO_RANDOM_H_

#include "crypto/bytes.h"

namespace ferry::crypto {

// Fills `out` from OpenSSL's DRBG. Fails only if the DRBG cannot be seeded.
[[nodiscard]] Status FillRandom(std::span<uint8_t> out);
[[nodiscard]] Result<SecretBytes> RandomSecret(size_t n);

// While alive, randombytes() calls on this thread are served from `bytes`, in order; asking for
// more than is left aborts (a programming error: the caller sized the seed wrongly). Not
// nestable. `bytes` must outlive the scope.
class ScopedRandomBytes {
 public:
  explicit ScopedRandomBytes(ByteView bytes);
  ~ScopedRandomBytes();
  ScopedRandomBytes(const ScopedRandomBytes&) = delete;
  ScopedRandomBytes& operator=(const ScopedRandomBytes&) = delete;

  // Bytes not yet drawn.
  size_t remaining() const;
};

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_RANDOM_H_
