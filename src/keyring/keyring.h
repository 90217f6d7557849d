// ferry's own envelope encryption (docs/crypto.md "Keys and secrets").
//
// A key-encryption key (KEK), kept outside the store by a KekProvider (a 0600 key file, or an
// AES key that never leaves a PKCS#11 token), wraps data-encryption keys (DEKs), one per purpose
// ("secrets"), which the store keeps only wrapped: AES-256-GCM under the KEK version with
// associated data naming the DEK's purpose and version and the KEK's version. Each secret is
// AES-256-GCM under its purpose's DEK with associated data naming the secret, its version and the
// DEK. A stolen store alone therefore reveals names, versions and dates, never a value; a stolen
// KEK without the store reveals nothing.
//
// Lifecycle. Every key version goes pending -> active -> retired -> destroyed. Rotating the KEK
// makes a new version, wraps every live DEK under it too (values untouched), then makes it active
// and retires the old one; rotating a DEK makes a new one, re-encrypts its purpose's secrets under
// it, then makes it active and retires the old one. A retired version keeps what it protected
// readable for its policy's grace period; `RotateDue` destroys it after that (its wrappings
// removed first, then the key: the file overwritten and removed, the token object destroyed).
// Every step writes the new wrapping or ciphertext before anything old is removed, so a rotation
// stopped at any point leaves every secret readable, and running it again finishes it (a pending
// version is resumed, not duplicated). Every operation is an event in the store's log, with its
// actor, committed in the same transaction as the change.
//
// Thread-safety: a Keyring is used by one thread at a time. Several processes may share a store;
// a secret changed by two at once fails one of them with kAborted instead of losing a value.
#ifndef FERRY_KEYRING_KEYRING_H_
#define FERRY_KEYRING_KEYRING_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/status.h"
#include "crypto/bytes.h"
#include "keyring/kek.h"
#include "keyring/policy.h"
#include "store/store.h"

namespace ferry::keyring {

struct KeyringOptions {
  Store* store = nullptr;  // not owned; must outlive the keyring
  // Where the KEK versions are. The first provider that Holds() a version reads it; new KEK
  // versions are made by `create_in` (default: the provider holding the active KEK, else the
  // first). Not owned.
  std::vector<KekProvider*> providers;
  KekProvider* create_in = nullptr;
  Env* env = nullptr;             // clock for ages and policy; nullptr: Env::Default()
  std::string actor = "keyring";  // recorded with every event ("cli:alice")
  // Test seam for interrupted rotations: called before each step with the step's name
  // ("kek.create", "kek.rewrap", "kek.activate", "dek.create", "dek.reseal", "dek.activate",
  // "kek.destroy", "dek.destroy"); an error stops the operation there, as a crash would.
  std::function<Status(std::string_view step)> fault_point;
};

// One key version as `ferry keys status` shows it.
struct KeyVersionStatus {
  std::string key;  // "kek" or "dek:<purpose>"
  int64_t version = 0;
  std::string state;  // pending, active, retired, destroyed
  std::string where;  // KEK: "file /path" or "token T key L"; DEK: "wrapped under KEK v2, v3"
  int64_t created_micros = 0;
  int64_t age_days = 0;
  KeyPolicy policy;
  bool rotation_due = false;      // active and older than rotate_after_days
  bool expired = false;           // active and older than expire_after_days
  int64_t destroy_at_micros = 0;  // retired: when it becomes due for destruction
  bool destruction_due = false;   // retired and past its grace period
  int64_t secrets = 0;            // DEK: secrets sealed under this version
};

// What a rotation or `RotateDue` did.
struct RotationReport {
  std::vector<std::string> actions;  // one line each: "kek v1 -> v2 (3 data keys re-wrapped)"
};

class Keyring {
 public:
  // kInvalidArgument without a store or a provider.
  [[nodiscard]] static Result<std::unique_ptr<Keyring>> Open(KeyringOptions options);

  // ---- Secrets (purpose "secrets"). Names are 1-200 characters of letters, digits and
  // "-_./:@"; values up to 1 MiB.
  // Seals `value` under the current DEK (making the KEK and DEK on first use); returns the new
  // version.
  [[nodiscard]] Result<int64_t> PutSecret(std::string_view name, crypto::ByteView value);
  [[nodiscard]] Result<crypto::SecretBytes> GetSecret(std::string_view name);
  // Names, versions and dates, never values.
  [[nodiscard]] Result<std::vector<SecretRecord>> ListSecrets();
  [[nodiscard]] Status DeleteSecret(std::string_view name);

  // ---- Lifecycle
  // Makes KEK v1 when there is no KEK yet; kAlreadyExists otherwise.
  [[nodiscard]] Status Init();
  [[nodiscard]] Result<RotationReport> RotateKek();
  [[nodiscard]] Result<RotationReport> RotateDek(std::string_view purpose);
  // Rotates every key the policy says is due or expired (the KEK first), finishes rotations
  // left pending, and destroys retired versions past their grace period.
  [[nodiscard]] Result<RotationReport> RotateDue();
  [[nodiscard]] Result<std::vector<KeyVersionStatus>> KeyStatus();

  // Policies: the stored one for `key`, else "dek:*" for a DEK, else the default.
  [[nodiscard]] Result<KeyPolicy> PolicyFor(std::string_view key);
  [[nodiscard]] Status SetPolicies(const std::map<std::string, KeyPolicy>& policies);

 private:
  explicit Keyring(KeyringOptions options);

  Status Step(std::string_view step);
  Result<KeyPolicy> PolicyIn(const KeyringRows& rows, std::string_view key) const;
  Result<KekProvider*> ProviderFor(const KekRecord& kek);
  KekProvider* Creator(const KeyringRows& rows);
  EventSpec MakeEvent(std::string kind, Json payload) const;
  int64_t Now() const;

  Result<KekRecord> ActiveKek(const KeyringRows& rows, bool for_new_wrapping);
  Result<KekRecord> CreateKek(const KeyringRows& rows, const std::string& state);
  // The DEK of (purpose, version) in clear, from the first wrapping whose KEK can open it.
  Result<crypto::SecretBytes> UnwrapDek(const KeyringRows& rows, const std::string& purpose,
                                        int64_t version);
  Result<crypto::SecretBytes> UnwrapWith(const KekRecord& kek, const DekWrapRecord& wrap);
  Result<DekWrapRecord> WrapDek(const KekRecord& kek, const std::string& purpose, int64_t version,
                                crypto::ByteView dek);
  // The active DEK of `purpose`, made (with the KEK if needed) when there is none.
  Result<DekRecord> ActiveDek(const std::string& purpose, bool for_new_value);
  Result<DekRecord> CreateDek(const KeyringRows& rows, const std::string& purpose,
                              const std::string& state);
  // Re-encrypts every secret of `purpose` not under DEK `to` under it; returns how many.
  Result<int64_t> Reseal(const KeyringRows& rows, const std::string& purpose, int64_t to);
  Result<RotationReport> FinishKekRotation(KeyringRows rows, const KekRecord& pending);
  Result<RotationReport> FinishDekRotation(KeyringRows rows, const DekRecord& pending);
  Result<std::string> DestroyKek(KeyringRows rows, const KekRecord& kek);
  Result<std::string> DestroyDek(KeyringRows rows, const DekRecord& dek);

  KeyringOptions options_;
  // DEKs already unwrapped in this process, by (purpose, version).
  std::map<std::pair<std::string, int64_t>, crypto::SecretBytes> dek_cache_;
};

// Associated data of a DEK wrapping and of a secret's ciphertext (docs/crypto.md).
std::string DekWrapAad(std::string_view purpose, int64_t dek_version, int64_t kek_version);
std::string SecretAad(std::string_view name, int64_t version, std::string_view purpose,
                      int64_t dek_version);

}  // namespace ferry::keyring

#endif  // FERRY_KEYRING_KEYRING_H_
