// A PKCS#11 client: loads any module by path (SoftHSM2, a network HSM's client library, a cloud
// HSM's), opens a token by label with its user PIN, lists keys with their attributes, and does the
// few operations key migration needs (generate, wrap, unwrap, encrypt, decrypt, sign, verify,
// create, destroy). Errors carry the PKCS#11 return value's name (CKR_PIN_INCORRECT) and what the
// call was for. Not thread-safe: one session per thread.
#ifndef FERRY_CRYPTO_PKCS11_H_
#define FERRY_CRYPTO_PKCS11_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/bytes.h"

namespace ferry::crypto {

// A key object on a token, with the attributes a migration report lists.
struct TokenKey {
  uint64_t handle = 0;
  std::string object_class;  // "secret", "private", "public"
  std::string key_type;      // "AES", "RSA", "EC", "GENERIC_SECRET", ...
  std::string label;
  std::string id;    // hex of CKA_ID
  int64_t bits = 0;  // AES: value length x 8; RSA: modulus bits; EC: from the curve
  bool token = false, sensitive = false, extractable = false;
  bool encrypt = false, decrypt = false, sign = false, verify = false, wrap = false, unwrap = false;
};

class Pkcs11Session;

class Pkcs11Module : public std::enable_shared_from_this<Pkcs11Module> {
 public:
  // dlopen()s `path` and calls C_Initialize.
  [[nodiscard]] static Result<std::shared_ptr<Pkcs11Module>> Load(const std::string& path);
  ~Pkcs11Module();

  struct Token {
    uint64_t slot;
    std::string label, manufacturer, model, serial;
  };
  [[nodiscard]] Result<std::vector<Token>> Tokens();
  // A read-write session on the token labelled `label`, logged in as the user.
  [[nodiscard]] Result<std::unique_ptr<Pkcs11Session>> Open(const std::string& label,
                                                            const std::string& pin);

  const std::string& path() const { return path_; }
  void* functions() const { return functions_; }

 private:
  Pkcs11Module() = default;
  std::string path_;
  void* library_ = nullptr;
  void* functions_ = nullptr;  // CK_FUNCTION_LIST*
};

class Pkcs11Session {
 public:
  ~Pkcs11Session();

  const std::string& token_label() const { return label_; }

  [[nodiscard]] Result<std::vector<TokenKey>> Keys();
  [[nodiscard]] Result<TokenKey> Describe(uint64_t handle);

  // Keys for tests and for transport. `token`: stored on the token, else a session object.
  [[nodiscard]] Result<uint64_t> GenerateAes(const std::string& label, ByteView id, int bits,
                                             bool extractable, bool token);
  [[nodiscard]] Result<std::pair<uint64_t, uint64_t>> GenerateRsa(const std::string& label,
                                                                  ByteView id, int bits,
                                                                  bool extractable, bool token);
  [[nodiscard]] Result<std::pair<uint64_t, uint64_t>> GenerateEc(const std::string& label,
                                                                 ByteView id, bool extractable,
                                                                 bool token);  // P-256

  // A public key object copied from its public attributes (RSA modulus and exponent, or EC
  // parameters and point) read from another session: public keys move in clear.
  [[nodiscard]] Result<uint64_t> CopyPublicKey(Pkcs11Session& from, uint64_t handle, bool token,
                                               bool for_wrapping);

  // CKM_AES_KEY_WRAP_PAD under an AES key, or CKM_RSA_PKCS_OAEP (SHA-256) under an RSA key.
  [[nodiscard]] Result<Bytes> Wrap(uint64_t wrapping_key, uint64_t key);
  // Unwraps into a new object with the attributes of `like` (class, type, label, id, usage,
  // sensitivity, extractability), on the token.
  [[nodiscard]] Result<uint64_t> Unwrap(uint64_t unwrapping_key, ByteView wrapped,
                                        const TokenKey& like, bool token);

  [[nodiscard]] Result<Bytes> Encrypt(uint64_t key, ByteView iv, ByteView data);  // AES-CBC-PAD
  [[nodiscard]] Result<Bytes> Decrypt(uint64_t key, ByteView iv, ByteView data);
  // AES-GCM (CKM_AES_GCM, 128-bit tag) inside the token: the key never leaves it. Seal returns
  // ciphertext || tag; Open fails with kUnauthenticated when the tag (over `aad` too) does not
  // verify. For wrapping data keys under a token-held key-encryption key (src/keyring).
  [[nodiscard]] Result<Bytes> SealGcm(uint64_t key, ByteView iv, ByteView aad, ByteView data);
  [[nodiscard]] Result<Bytes> OpenGcm(uint64_t key, ByteView iv, ByteView aad, ByteView sealed);
  [[nodiscard]] Result<Bytes> Sign(uint64_t key, const std::string& key_type,
                                   ByteView data);  // SHA-256 RSA / ECDSA
  [[nodiscard]] Status Verify(uint64_t key, const std::string& key_type, ByteView data,
                              ByteView signature);
  [[nodiscard]] Status Destroy(uint64_t handle);
  // Keys whose CKA_LABEL and CKA_ID are these (of any class).
  [[nodiscard]] Result<std::vector<TokenKey>> Find(const std::string& label,
                                                   const std::string& id_hex);

 private:
  friend class Pkcs11Module;
  Pkcs11Session(std::shared_ptr<Pkcs11Module> module, unsigned long session, std::string label);
  std::shared_ptr<Pkcs11Module> module_;
  unsigned long session_;
  std::string label_;
  bool logged_in_ = false;  // this session's C_Login did the login (not an earlier session's)
};

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_PKCS11_H_
