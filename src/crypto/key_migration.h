// Moves keys from one PKCS#11 token to another without their material ever being in clear
// outside a token, and proves each one moved intact.
//
// The tokens agree on a transport key first: the target generates an RSA-3072 key pair (session
// objects, the private half never extractable); its public key is copied to the source; the
// source generates an AES-256 transport key and wraps it under that public key (RSA-OAEP,
// SHA-256); the target unwraps it. Each selected key is then wrapped in the source under the
// transport key (AES key wrap with padding, RFC 5649) and unwrapped in the target with the same
// label, id, usage flags and sensitivity. Proof: an AES key encrypts a random challenge in the
// source and the target's copy decrypts it; an RSA or EC private key signs a challenge in the
// target and the source's public key verifies it. A key whose proof fails is destroyed in the
// target and reported. A key that is not extractable, or of a type ferry cannot prove, is
// reported as not moved with the reason, never forced. Running the same migration again resumes:
// a key already on the target (same class, label and id) is proved rather than copied again.
#ifndef FERRY_CRYPTO_KEY_MIGRATION_H_
#define FERRY_CRYPTO_KEY_MIGRATION_H_

#include <optional>
#include <string>
#include <vector>

#include "crypto/pkcs11.h"

namespace ferry::crypto {

struct KeyMigrationOutcome {
  TokenKey before;                // in the source
  std::optional<TokenKey> after;  // in the target, when it is there
  std::string status;             // "moved", "already there", "not moved"
  std::string proof;              // how it was proved, when it was
  std::string reason;             // why it was not moved
};

struct KeyMigrationReport {
  std::string source_token, target_token;
  std::vector<KeyMigrationOutcome> keys;
  int moved = 0, already = 0, not_moved = 0;
  std::string ToJson() const;
};

// Migrates the secret and private keys of `source` whose label is in `labels` (all of them when
// `labels` is empty); public keys of moved pairs go with them.
[[nodiscard]] Result<KeyMigrationReport> MigrateKeys(Pkcs11Session& source, Pkcs11Session& target,
                                                     const std::vector<std::string>& labels = {});

// Destroys in the target every key `report` says was moved (not those already there before).
[[nodiscard]] Status RollBackKeyMigration(Pkcs11Session& target, const KeyMigrationReport& report);

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_KEY_MIGRATION_H_
