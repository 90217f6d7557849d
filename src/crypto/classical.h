// Classical primitives, all from OpenSSL 3: AES-GCM, HKDF, X25519, Ed25519, SHA-2/SHA-3, and
// AES key wrap (RFC 3394 and, with padding, RFC 5649).
//
// Every function takes and returns byte strings; failures are Results naming the algorithm and
// what was wrong (a length, a tag that does not verify). Thread-safe.
#ifndef FERRY_CRYPTO_CLASSICAL_H_
#define FERRY_CRYPTO_CLASSICAL_H_

#include <memory>

#include "crypto/bytes.h"

namespace ferry::crypto {

enum class Digest { kSha256, kSha384, kSha512, kSha3_256, kSha3_512 };
const char* DigestName(Digest digest);
size_t DigestSize(Digest digest);
Bytes Hash(Digest digest, ByteView data);
Bytes Hmac(Digest digest, ByteView key, ByteView data);

// RFC 5869. `length` at most 255 hash lengths.
[[nodiscard]] Result<SecretBytes> Hkdf(Digest digest, ByteView ikm, ByteView salt, ByteView info,
                                       size_t length);

// AES-GCM with a 128-, 192- or 256-bit key (ferry itself uses 256), any non-empty IV length
// (12 bytes is the only one ferry writes) and a tag of 16 bytes (or `tag_size` for reading
// others' data). Seal returns ciphertext || tag; Open takes the same and fails with
// Unauthenticated when the tag does not verify, returning nothing of the plaintext.
[[nodiscard]] Result<Bytes> AesGcmSeal(ByteView key, ByteView iv, ByteView aad, ByteView plaintext,
                                       size_t tag_size = 16);
[[nodiscard]] Result<Bytes> AesGcmOpen(ByteView key, ByteView iv, ByteView aad, ByteView sealed,
                                       size_t tag_size = 16);

// X25519 (RFC 7748). Keys are the raw 32-byte strings.
struct X25519KeyPair {
  Bytes public_key;
  SecretBytes private_key;
};
[[nodiscard]] Result<X25519KeyPair> X25519Generate();
[[nodiscard]] Result<Bytes> X25519PublicFromPrivate(ByteView private_key);
// The shared secret; an all-zero result (a low-order peer key) is refused, as RFC 7748 §6.1
// allows and as the TLS and X-Wing uses require.
[[nodiscard]] Result<SecretBytes> X25519(ByteView private_key, ByteView peer_public_key);

// A private key loaded once, for several operations: OpenSSL derives the public key when it loads
// a private one, so X25519PublicFromPrivate then X25519 on the same key costs three scalar
// multiplications where this costs two.
class X25519PrivateKey {
 public:
  [[nodiscard]] static Result<X25519PrivateKey> Load(ByteView private_key);
  X25519PrivateKey(X25519PrivateKey&&) noexcept;
  X25519PrivateKey& operator=(X25519PrivateKey&&) noexcept;
  ~X25519PrivateKey();
  const Bytes& public_key() const { return public_key_; }
  // As X25519() above.
  [[nodiscard]] Result<SecretBytes> Derive(ByteView peer_public_key) const;

 private:
  X25519PrivateKey() = default;
  struct Key;
  std::unique_ptr<Key> key_;
  Bytes public_key_;
};

// Ed25519 (RFC 8032, pure). Private keys are the 32-byte seeds.
struct Ed25519KeyPair {
  Bytes public_key;
  SecretBytes private_key;
};
[[nodiscard]] Result<Ed25519KeyPair> Ed25519Generate();
[[nodiscard]] Result<Bytes> Ed25519PublicFromPrivate(ByteView private_key);
[[nodiscard]] Result<Bytes> Ed25519Sign(ByteView private_key, ByteView message);
[[nodiscard]] Status Ed25519Verify(ByteView public_key, ByteView message, ByteView signature);

// AES key wrap: RFC 3394 (key data a multiple of 8 bytes, at least 16) and RFC 5649 (any
// length from 1 byte, padded). Unwrap fails with Unauthenticated when the integrity check fails.
[[nodiscard]] Result<Bytes> AesKeyWrap(ByteView kek, ByteView key_data);
[[nodiscard]] Result<SecretBytes> AesKeyUnwrap(ByteView kek, ByteView wrapped);
[[nodiscard]] Result<Bytes> AesKeyWrapPad(ByteView kek, ByteView key_data);
[[nodiscard]] Result<SecretBytes> AesKeyUnwrapPad(ByteView kek, ByteView wrapped);

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_CLASSICAL_H_
