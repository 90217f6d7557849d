// A ferry node's or a person's key set: an X-Wing key pair to receive encrypted exports and
// relay secrets, and ML-DSA-65 and Ed25519 key pairs to sign (both always: the signature holds if
// either algorithm does). Stored as JSON with the private seeds in hex (file mode 0600); shared as
// a "recipient" text that holds only the public keys. A fingerprint is the first 16 bytes of the
// SHA-256 of a public key set, in hex; pinning a peer means pinning its fingerprint.
#ifndef FERRY_CRYPTO_IDENTITY_H_
#define FERRY_CRYPTO_IDENTITY_H_

#include <string>

#include "crypto/bytes.h"

namespace ferry::crypto {

struct PublicIdentity {
  Bytes xwing;      // 1,216 bytes
  Bytes ml_dsa_65;  // 1,952 bytes
  Bytes ed25519;    // 32 bytes

  // 32 hex digits over all three keys.
  std::string Fingerprint() const;
  // "ferry-recipient-v1:<hex of the three keys>", what --encrypt-to takes.
  std::string ToText() const;
  [[nodiscard]] static Result<PublicIdentity> FromText(std::string_view text);
};

struct Identity {
  SecretBytes xwing_seed;      // 32 bytes (X-Wing's private key)
  SecretBytes ml_dsa_65_seed;  // 32 bytes
  SecretBytes ed25519_seed;    // 32 bytes
  PublicIdentity pub;

  [[nodiscard]] static Result<Identity> Generate();
  // From the three seeds; the public keys are derived.
  [[nodiscard]] static Result<Identity> FromSeeds(ByteView xwing, ByteView ml_dsa_65,
                                                  ByteView ed25519);
  // The JSON form: {"format": "ferry-identity", "version": 1, "xwing_seed": ..., ...}.
  std::string ToJson() const;
  [[nodiscard]] static Result<Identity> FromJson(std::string_view text, std::string_view source);
};

// An identity's two signatures over one message: ML-DSA-65 (with FIPS 204 context `context`) and
// Ed25519. Everything ferry signs (exports, relay ephemeral keys, evidence, log checkpoints) carries
// both, and is accepted only when both verify, so it holds while either algorithm does.
struct DualSignature {
  Bytes ml_dsa_65;  // 3,309 bytes
  Bytes ed25519;    // 64 bytes
};
// The expanded ML-DSA key is derived from the seed once per process and identity.
[[nodiscard]] Result<DualSignature> SignBoth(const Identity& signer, ByteView message,
                                             std::string_view context);
// Which of the two signatures fail: "" when both verify, else "ML-DSA-65", "Ed25519" or
// "ML-DSA-65 and Ed25519", for the caller's message.
std::string FailingSignatures(const PublicIdentity& signer, ByteView message,
                              const DualSignature& signature, std::string_view context);

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_IDENTITY_H_
