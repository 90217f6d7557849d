// X-Wing: the hybrid KEM of X25519 and ML-KEM-768 (draft-connolly-cfrg-xwing-kem-10).
//
// Secure if either X25519 or ML-KEM-768 is: the shared secret is SHA3-256 over both components'
// secrets, the X25519 ciphertext and public key, and the label "\.//^\". The decapsulation key
// is a 32-byte seed, expanded with SHAKE-256 into the ML-KEM-768 seed (d || z) and the X25519
// private key. ferry uses it for recipient stanzas of encrypted exports and the relay's
// post-quantum handshake (docs/crypto.md).
#ifndef FERRY_CRYPTO_XWING_H_
#define FERRY_CRYPTO_XWING_H_

#include "crypto/classical.h"
#include "crypto/pq.h"

namespace ferry::crypto {

class XWing {
 public:
  static constexpr size_t kSecretKey = 32;
  static constexpr size_t kPublicKey = 1216;   // ML-KEM-768 ek || X25519 public
  static constexpr size_t kCiphertext = 1120;  // ML-KEM-768 c || X25519 ephemeral public
  static constexpr size_t kSharedSecret = 32;
  static constexpr size_t kEncapsulationSeed = 64;  // m (32) || X25519 ephemeral private (32)

  [[nodiscard]] static Result<KemKeyPair> GenerateKeyPair();
  [[nodiscard]] static Result<KemKeyPair> KeyPairFromSeed(ByteView seed);
  [[nodiscard]] static Result<Bytes> PublicKeyOf(ByteView secret_key);
  [[nodiscard]] static Result<Encapsulation> Encapsulate(ByteView public_key);
  [[nodiscard]] static Result<Encapsulation> EncapsulateWith(ByteView public_key, ByteView eseed);
  [[nodiscard]] static Result<SecretBytes> Decapsulate(ByteView secret_key, ByteView ciphertext);

  // A private key expanded once (ML-KEM key generation and the X25519 public key), for a key that
  // decapsulates many times (the relay's ephemeral keys): Decapsulate expands on every call.
  struct ExpandedKey {
    KemKeyPair ml_kem;
    X25519PrivateKey x25519;
  };
  [[nodiscard]] static Result<ExpandedKey> Expand(ByteView secret_key);
  [[nodiscard]] static Result<SecretBytes> Decapsulate(const ExpandedKey& key, ByteView ciphertext);
};

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_XWING_H_
