// ML-KEM (FIPS 203) and ML-DSA (FIPS 204), over PQClean's clean implementations.
//
// Callers see byte strings in the FIPS encodings and Results; which implementation runs is
// Backend()'s business (one today: PQClean from the npm package `pqclean`, docs/crypto.md).
// Inputs that FIPS 203/204 require to be checked are checked here, before PQClean sees them:
// lengths, the encapsulation key's modulus check (FIPS 203 §7.2) and the decapsulation key's
// hash check (§7.3). Thread-safe: every call is independent.
#ifndef FERRY_CRYPTO_PQ_H_
#define FERRY_CRYPTO_PQ_H_

#include <optional>
#include <string>

#include "crypto/bytes.h"

namespace ferry::crypto {

// "PQClean 0.8.1 (npm pqclean, clean C implementations)".
std::string PqBackend();

enum class MlKemLevel { k768, k1024 };

struct MlKemSizes {
  size_t public_key, secret_key, ciphertext;
  static constexpr size_t kSharedSecret = 32;
  static constexpr size_t kSeed = 64;     // d || z (FIPS 203 ML-KEM.KeyGen_internal)
  static constexpr size_t kMessage = 32;  // m (ML-KEM.Encaps_internal)
};

struct KemKeyPair {
  Bytes public_key;
  SecretBytes secret_key;
};
struct Encapsulation {
  Bytes ciphertext;
  SecretBytes shared_secret;
};

class MlKem {
 public:
  explicit MlKem(MlKemLevel level) : level_(level) {}

  const char* name() const { return level_ == MlKemLevel::k768 ? "ML-KEM-768" : "ML-KEM-1024"; }
  MlKemSizes sizes() const;

  // A fresh key pair; or the one a 64-byte seed (d || z) determines.
  [[nodiscard]] Result<KemKeyPair> GenerateKeyPair() const;
  [[nodiscard]] Result<KemKeyPair> KeyPairFromSeed(ByteView seed) const;
  // Encapsulates to `public_key` (after its modulus check); with `message`, deterministically.
  [[nodiscard]] Result<Encapsulation> Encapsulate(ByteView public_key) const;
  [[nodiscard]] Result<Encapsulation> EncapsulateWith(ByteView public_key, ByteView message) const;
  // The shared secret (implicit rejection: a tampered ciphertext yields an unrelated secret).
  [[nodiscard]] Result<SecretBytes> Decapsulate(ByteView secret_key, ByteView ciphertext) const;

  // FIPS 203 §7.2 modulus check: every 12-bit coefficient of the key below q = 3329.
  [[nodiscard]] Status CheckPublicKey(ByteView public_key) const;
  // FIPS 203 §7.3: length, and the embedded hash H(ek) matches the embedded ek.
  [[nodiscard]] Status CheckSecretKey(ByteView secret_key) const;

 private:
  MlKemLevel level_;
};

enum class MlDsaLevel { k65, k87 };

struct MlDsaSizes {
  size_t public_key, secret_key, signature;
  static constexpr size_t kSeed = 32;  // ξ (ML-DSA.KeyGen_internal)
  static constexpr size_t kRnd = 32;   // rnd (ML-DSA.Sign_internal); all zero: deterministic
  static constexpr size_t kMaxContext = 255;
  static constexpr size_t kMu = 64;  // mu = H(tr || M'), FIPS 204 Algorithm 7 step 6
};

struct SignatureKeyPair {
  Bytes public_key;
  SecretBytes secret_key;
};

class MlDsa {
 public:
  explicit MlDsa(MlDsaLevel level) : level_(level) {}

  const char* name() const { return level_ == MlDsaLevel::k65 ? "ML-DSA-65" : "ML-DSA-87"; }
  MlDsaSizes sizes() const;

  [[nodiscard]] Result<SignatureKeyPair> GenerateKeyPair() const;
  [[nodiscard]] Result<SignatureKeyPair> KeyPairFromSeed(ByteView seed) const;
  // Hedged signing (fresh rnd), or with the given 32-byte rnd (32 zero bytes: deterministic).
  // `context` is FIPS 204's ctx, at most 255 bytes.
  [[nodiscard]] Result<Bytes> Sign(ByteView secret_key, ByteView message,
                                   ByteView context = {}) const;
  [[nodiscard]] Result<Bytes> SignWith(ByteView secret_key, ByteView message, ByteView context,
                                       ByteView rnd) const;
  // ML-DSA.Sign_internal from an externally computed mu (64 bytes) rather than a message: for
  // callers that hash the message themselves (an HSM front end, a streaming signer).
  [[nodiscard]] Result<Bytes> SignMuWith(ByteView secret_key, ByteView mu, ByteView rnd) const;
  // OK when `signature` is valid; otherwise an error saying why (length, context, or invalid).
  [[nodiscard]] Status Verify(ByteView public_key, ByteView message, ByteView signature,
                              ByteView context = {}) const;

  // Length, and every coefficient of s1 and s2 within [-eta, eta] (checked before signing: a
  // corrupt key would otherwise sign, and its signatures leak).
  [[nodiscard]] Status CheckSecretKey(ByteView secret_key) const;

 private:
  MlDsaLevel level_;
};

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_PQ_H_
