// Where ferry's key-encryption keys (KEKs) live: outside the state store, one key per version.
//
//   FileKekProvider    a directory of key files, `kek-v<N>.key`, each 32 random bytes written
//                      with mode 0600; destroying a version overwrites its file and removes it.
//   Pkcs11KekProvider  an AES-256 secret key on a PKCS#11 token, labelled `ferry-kek-v<N>`,
//                      sensitive and not extractable: wrapping and unwrapping run inside the
//                      token (CKM_AES_GCM); destroying a version is C_DestroyObject.
//
// Both wrap with AES-256-GCM and the caller's associated data, so a wrapping made by one opens
// only under the same key and the same associated data. A KEK version's KekRecord (in the store)
// carries its locator, JSON naming where the key is, never the key.
//
// Not thread-safe: one provider per thread (a PKCS#11 session is per thread).
#ifndef FERRY_KEYRING_KEK_H_
#define FERRY_KEYRING_KEK_H_

#include <cstdint>
#include <memory>
#include <string>

#include "base/env.h"
#include "base/status.h"
#include "crypto/bytes.h"
#include "store/store.h"

namespace ferry::crypto {
class Pkcs11Module;
class Pkcs11Session;
}  // namespace ferry::crypto

namespace ferry::keyring {

class KekProvider {
 public:
  virtual ~KekProvider() = default;

  // "file" or "pkcs11", as KekRecord::backend.
  virtual std::string backend() const = 0;
  // Where new versions go, for messages ("directory /etc/ferry/kek", "token ferry-hsm").
  virtual std::string where() const = 0;
  // Whether the KEK of `kek` is one this provider can reach (its backend; for a token, the same
  // token).
  virtual bool Holds(const KekRecord& kek) const = 0;

  // Makes the key of version `version` and returns its locator. A key left by an earlier attempt
  // that no store row names yet is replaced.
  [[nodiscard]] virtual Result<std::string> Create(int64_t version) = 0;
  // AES-256-GCM under the KEK of `kek`: iv || ciphertext || tag.
  [[nodiscard]] virtual Result<crypto::Bytes> Wrap(const KekRecord& kek, crypto::ByteView aad,
                                                   crypto::ByteView plaintext) = 0;
  // The inverse of Wrap. kUnauthenticated when the tag does not verify (another key, altered
  // bytes or associated data); kNotFound when the key is gone.
  [[nodiscard]] virtual Result<crypto::SecretBytes> Unwrap(const KekRecord& kek,
                                                           crypto::ByteView aad,
                                                           crypto::ByteView wrapped) = 0;
  // Destroys the key of `kek`. OK when it is already gone, so that an interrupted destruction
  // can be run again.
  [[nodiscard]] virtual Status Destroy(const KekRecord& kek) = 0;
};

// KEK files in `directory` (created 0700 when missing). `env` for reading; not owned.
std::unique_ptr<KekProvider> NewFileKekProvider(Env* env, std::string directory);

// KEKs on the token labelled `token` of the PKCS#11 module at `module_path`, logged in with
// `pin`. The module is loaded and the session opened on first use, so that a command that needs
// no KEK of this token asks for no PIN.
std::unique_ptr<KekProvider> NewPkcs11KekProvider(std::string module_path, std::string token,
                                                  std::string pin);

// The loaded PKCS#11 module at `module_path`, shared by everything in this process that uses it
// while any holder keeps it: a module is initialised once per process (C_Finalize in one holder's
// destructor would end every other holder's sessions).
Result<std::shared_ptr<crypto::Pkcs11Module>> SharedPkcs11Module(const std::string& module_path);

// The file name of KEK version `version` in a key directory: "kek-v3.key".
std::string KekFileName(int64_t version);

}  // namespace ferry::keyring

#endif  // FERRY_KEYRING_KEK_H_
