#include "crypto/classical.h"

#include <memory>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/modes.h>

namespace ferry::crypto {
namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// OpenSSL's last error, for messages about failures that should not happen.
std::string OpensslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no OpenSSL error queued";
  char buffer[256];
  ERR_error_string_n(e, buffer, sizeof(buffer));
  return buffer;
}

const EVP_MD* Md(Digest d) {
  switch (d) {
    case Digest::kSha256: return EVP_sha256();
    case Digest::kSha384: return EVP_sha384();
    case Digest::kSha512: return EVP_sha512();
    case Digest::kSha3_256: return EVP_sha3_256();
    case Digest::kSha3_512: return EVP_sha3_512();
  }
  return EVP_sha256();
}

const EVP_CIPHER* AesGcm(size_t key_size) {
  switch (key_size) {
    case 16: return EVP_aes_128_gcm();
    case 24: return EVP_aes_192_gcm();
    case 32: return EVP_aes_256_gcm();
    default: return nullptr;
  }
}

int Len(size_t n) { return static_cast<int>(n); }

// OpenSSL's GCM provider takes IVs of at most 128 bytes. GCM itself allows any length (J0 is
// then GHASH of the IV), so longer ones go through OpenSSL's lower-level GCM128 mode, whose
// block function is an AES-ECB context: nothing hand-written but the glue.
constexpr size_t kProviderMaxIv = 128;

void EcbBlock(const unsigned char in[16], unsigned char out[16], const void* key) {
  int n = 0;
  EVP_EncryptUpdate(static_cast<EVP_CIPHER_CTX*>(const_cast<void*>(key)), out, &n, in, 16);
}

const EVP_CIPHER* AesEcb(size_t key_size) {
  return key_size == 16   ? EVP_aes_128_ecb()
         : key_size == 24 ? EVP_aes_192_ecb()
                          : EVP_aes_256_ecb();
}

// Seals (tag appended) or opens (tag checked) with an IV longer than the provider takes.
Result<Bytes> LongIvGcm(bool seal, ByteView key, ByteView iv, ByteView aad, ByteView in,
                        size_t tag_size) {
  CipherCtx ecb(EVP_CIPHER_CTX_new());
  if (!ecb ||
      EVP_EncryptInit_ex(ecb.get(), AesEcb(key.size()), nullptr, key.data(), nullptr) != 1) {
    return Err(Internal("AES-GCM: {}", OpensslError()));
  }
  EVP_CIPHER_CTX_set_padding(ecb.get(), 0);
  std::unique_ptr<GCM128_CONTEXT, decltype(&CRYPTO_gcm128_release)> gcm(
      CRYPTO_gcm128_new(ecb.get(), EcbBlock), CRYPTO_gcm128_release);
  if (!gcm) return Err(Internal("AES-GCM: out of memory"));
  CRYPTO_gcm128_setiv(gcm.get(), iv.data(), iv.size());
  if (!aad.empty() && CRYPTO_gcm128_aad(gcm.get(), aad.data(), aad.size()) != 0) {
    return Err(InvalidArgument("AES-GCM associated data too long"));
  }
  const size_t body = seal ? in.size() : in.size() - tag_size;
  Bytes out(seal ? body + tag_size : body);
  const int rc = seal ? CRYPTO_gcm128_encrypt(gcm.get(), in.data(), out.data(), body)
                      : CRYPTO_gcm128_decrypt(gcm.get(), in.data(), out.data(), body);
  if (rc != 0) return Err(InvalidArgument("AES-GCM message too long"));
  if (seal) {
    CRYPTO_gcm128_tag(gcm.get(), out.data() + body, tag_size);
    return out;
  }
  if (CRYPTO_gcm128_finish(gcm.get(), in.data() + body, tag_size) != 0) {
    Wipe(out);
    return Err(
        Unauthenticated("AES-GCM tag does not verify: the data, its associated data, the key "
                        "or the IV is not the one sealed"));
  }
  return out;
}

}  // namespace

const char* DigestName(Digest d) {
  switch (d) {
    case Digest::kSha256: return "SHA-256";
    case Digest::kSha384: return "SHA-384";
    case Digest::kSha512: return "SHA-512";
    case Digest::kSha3_256: return "SHA3-256";
    case Digest::kSha3_512: return "SHA3-512";
  }
  return "?";
}

size_t DigestSize(Digest d) { return static_cast<size_t>(EVP_MD_get_size(Md(d))); }

Bytes Hash(Digest d, ByteView data) {
  Bytes out(DigestSize(d));
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &n, Md(d), nullptr);
  return out;
}

Bytes Hmac(Digest d, ByteView key, ByteView data) {
  Bytes out(DigestSize(d));
  unsigned int n = 0;
  HMAC(Md(d), key.data(), Len(key.size()), data.data(), data.size(), out.data(), &n);
  return out;
}

Result<SecretBytes> Hkdf(Digest d, ByteView ikm, ByteView salt, ByteView info, size_t length) {
  if (length == 0 || length > 255 * DigestSize(d)) {
    return Err(InvalidArgument("HKDF-{} cannot give {} bytes: the most is 255 x {} = {}",
                               DigestName(d), length, DigestSize(d), 255 * DigestSize(d)));
  }
  PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  SecretBytes out(size_t{length});
  size_t n = length;
  // An empty salt is the RFC's "not provided" (HashLen zero bytes); OpenSSL treats it so.
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_hkdf_md(ctx.get(), Md(d)) <= 0 ||
      (!salt.empty() &&
       EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), salt.data(), Len(salt.size())) <= 0) ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), ikm.data(), Len(ikm.size())) <= 0 ||
      (!info.empty() &&
       EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), info.data(), Len(info.size())) <= 0) ||
      EVP_PKEY_derive(ctx.get(), out.data(), &n) <= 0 || n != length) {
    return Err(Internal("HKDF-{} failed: {}", DigestName(d), OpensslError()));
  }
  return out;
}

Result<Bytes> AesGcmSeal(ByteView key, ByteView iv, ByteView aad, ByteView plaintext,
                         size_t tag_size) {
  const EVP_CIPHER* cipher = AesGcm(key.size());
  if (cipher == nullptr)
    return Err(InvalidArgument("AES-GCM key is {} bytes; it must be 16, 24 or 32", key.size()));
  if (iv.empty()) return Err(InvalidArgument("AES-GCM needs a non-empty IV"));
  if (tag_size < 12 || tag_size > 16)
    return Err(InvalidArgument("AES-GCM tag of {} bytes; ferry allows 12 to 16", tag_size));
  if (iv.size() > kProviderMaxIv) return LongIvGcm(true, key, iv, aad, plaintext, tag_size);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  Bytes out(plaintext.size() + tag_size);
  int n = 0, m = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, Len(iv.size()), nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv.data()) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx.get(), nullptr, &n, aad.data(), Len(aad.size())) != 1) ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &n, plaintext.data(), Len(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + n, &m) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, Len(tag_size),
                          out.data() + plaintext.size()) != 1) {
    return Err(Internal("AES-GCM encryption failed: {}", OpensslError()));
  }
  return out;
}

Result<Bytes> AesGcmOpen(ByteView key, ByteView iv, ByteView aad, ByteView sealed,
                         size_t tag_size) {
  const EVP_CIPHER* cipher = AesGcm(key.size());
  if (cipher == nullptr)
    return Err(InvalidArgument("AES-GCM key is {} bytes; it must be 16, 24 or 32", key.size()));
  if (iv.empty()) return Err(InvalidArgument("AES-GCM needs a non-empty IV"));
  if (tag_size < 12 || tag_size > 16)
    return Err(InvalidArgument("AES-GCM tag of {} bytes; ferry allows 12 to 16", tag_size));
  if (sealed.size() < tag_size) {
    return Err(Unauthenticated("AES-GCM input is {} bytes, shorter than its {}-byte tag: truncated",
                               sealed.size(), tag_size));
  }
  if (iv.size() > kProviderMaxIv) return LongIvGcm(false, key, iv, aad, sealed, tag_size);
  const size_t body = sealed.size() - tag_size;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  Bytes out(body);
  Bytes tag(sealed.begin() + static_cast<ptrdiff_t>(body), sealed.end());
  int n = 0, m = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, Len(iv.size()), nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv.data()) != 1 ||
      (!aad.empty() &&
       EVP_DecryptUpdate(ctx.get(), nullptr, &n, aad.data(), Len(aad.size())) != 1) ||
      EVP_DecryptUpdate(ctx.get(), out.data(), &n, sealed.data(), Len(body)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, Len(tag_size), tag.data()) != 1) {
    return Err(Internal("AES-GCM decryption failed: {}", OpensslError()));
  }
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + n, &m) != 1) {
    ERR_clear_error();
    Wipe(out);
    return Err(
        Unauthenticated("AES-GCM tag does not verify: the data, its associated data, the key "
                        "or the IV is not the one sealed"));
  }
  return out;
}

namespace {

Result<Pkey> RawPrivate(int type, const char* name, ByteView key) {
  if (key.size() != 32)
    return Err(InvalidArgument("{} private key is {} bytes; it must be 32", name, key.size()));
  Pkey pkey(EVP_PKEY_new_raw_private_key(type, nullptr, key.data(), key.size()));
  if (!pkey) return Err(Internal("{} private key rejected by OpenSSL: {}", name, OpensslError()));
  return pkey;
}

Result<Bytes> RawPublic(EVP_PKEY* pkey, const char* name) {
  Bytes out(32);
  size_t n = out.size();
  if (EVP_PKEY_get_raw_public_key(pkey, out.data(), &n) != 1 || n != 32) {
    return Err(Internal("{} public key: {}", name, OpensslError()));
  }
  return out;
}

Result<SecretBytes> RawPrivateOf(EVP_PKEY* pkey, const char* name) {
  SecretBytes out(size_t{32});
  size_t n = out.size();
  if (EVP_PKEY_get_raw_private_key(pkey, out.data(), &n) != 1 || n != 32) {
    return Err(Internal("{} private key: {}", name, OpensslError()));
  }
  return out;
}

Result<Pkey> Generate(int type, const char* name) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_id(type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 || EVP_PKEY_keygen(ctx.get(), &raw) <= 0) {
    return Err(Internal("{} key generation failed: {}", name, OpensslError()));
  }
  return Pkey(raw);
}

}  // namespace

Result<X25519KeyPair> X25519Generate() {
  FERRY_ASSIGN_OR_RETURN(Pkey pkey, Generate(EVP_PKEY_X25519, "X25519"));
  FERRY_ASSIGN_OR_RETURN(Bytes pub, RawPublic(pkey.get(), "X25519"));
  FERRY_ASSIGN_OR_RETURN(SecretBytes priv, RawPrivateOf(pkey.get(), "X25519"));
  return X25519KeyPair{std::move(pub), std::move(priv)};
}

Result<Bytes> X25519PublicFromPrivate(ByteView private_key) {
  FERRY_ASSIGN_OR_RETURN(Pkey pkey, RawPrivate(EVP_PKEY_X25519, "X25519", private_key));
  return RawPublic(pkey.get(), "X25519");
}

struct X25519PrivateKey::Key {
  Pkey pkey;
};

X25519PrivateKey::X25519PrivateKey(X25519PrivateKey&&) noexcept = default;
X25519PrivateKey& X25519PrivateKey::operator=(X25519PrivateKey&&) noexcept = default;
X25519PrivateKey::~X25519PrivateKey() = default;

Result<X25519PrivateKey> X25519PrivateKey::Load(ByteView private_key) {
  X25519PrivateKey k;
  k.key_ = std::make_unique<Key>();
  FERRY_ASSIGN_OR_RETURN(k.key_->pkey, RawPrivate(EVP_PKEY_X25519, "X25519", private_key));
  FERRY_ASSIGN_OR_RETURN(k.public_key_, RawPublic(k.key_->pkey.get(), "X25519"));
  return k;
}

Result<SecretBytes> X25519PrivateKey::Derive(ByteView peer) const {
  if (peer.size() != 32)
    return Err(InvalidArgument("X25519 public key is {} bytes; it must be 32", peer.size()));
  Pkey theirs(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer.data(), peer.size()));
  if (!theirs) return Err(InvalidArgument("X25519 public key rejected: {}", OpensslError()));
  PkeyCtx ctx(EVP_PKEY_CTX_new(key_->pkey.get(), nullptr));
  SecretBytes out(size_t{32});
  size_t n = out.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 ||
      EVP_PKEY_derive_set_peer(ctx.get(), theirs.get()) <= 0) {
    return Err(Internal("X25519 failed: {}", OpensslError()));
  }
  if (EVP_PKEY_derive(ctx.get(), out.data(), &n) <= 0 || n != 32) {
    ERR_clear_error();
    // OpenSSL refuses exactly the all-zero result (RFC 7748 6.1).
    return Err(
        InvalidArgument("X25519 with this peer key gives the all-zero secret: the peer key is "
                        "a low-order point, which no honest peer sends"));
  }
  return out;
}

Result<SecretBytes> X25519(ByteView private_key, ByteView peer) {
  FERRY_ASSIGN_OR_RETURN(X25519PrivateKey mine, X25519PrivateKey::Load(private_key));
  return mine.Derive(peer);
}

Result<Ed25519KeyPair> Ed25519Generate() {
  FERRY_ASSIGN_OR_RETURN(Pkey pkey, Generate(EVP_PKEY_ED25519, "Ed25519"));
  FERRY_ASSIGN_OR_RETURN(Bytes pub, RawPublic(pkey.get(), "Ed25519"));
  FERRY_ASSIGN_OR_RETURN(SecretBytes priv, RawPrivateOf(pkey.get(), "Ed25519"));
  return Ed25519KeyPair{std::move(pub), std::move(priv)};
}

Result<Bytes> Ed25519PublicFromPrivate(ByteView private_key) {
  FERRY_ASSIGN_OR_RETURN(Pkey pkey, RawPrivate(EVP_PKEY_ED25519, "Ed25519", private_key));
  return RawPublic(pkey.get(), "Ed25519");
}

Result<Bytes> Ed25519Sign(ByteView private_key, ByteView message) {
  FERRY_ASSIGN_OR_RETURN(Pkey pkey, RawPrivate(EVP_PKEY_ED25519, "Ed25519", private_key));
  MdCtx ctx(EVP_MD_CTX_new());
  Bytes sig(64);
  size_t n = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &n, message.data(), message.size()) != 1 || n != 64) {
    return Err(Internal("Ed25519 signing failed: {}", OpensslError()));
  }
  return sig;
}

Status Ed25519Verify(ByteView public_key, ByteView message, ByteView signature) {
  if (public_key.size() != 32)
    return InvalidArgument("Ed25519 public key is {} bytes; it must be 32", public_key.size());
  if (signature.size() != 64)
    return InvalidArgument("Ed25519 signature is {} bytes; it must be 64", signature.size());
  Pkey pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  if (!pkey) {
    ERR_clear_error();
    return InvalidArgument("Ed25519 public key is not a valid point encoding");
  }
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    return Internal("Ed25519 verification failed to start: {}", OpensslError());
  }
  if (EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                       message.size()) != 1) {
    ERR_clear_error();
    return Unauthenticated("Ed25519 signature does not verify under this public key");
  }
  return OkStatus();
}

namespace {

const EVP_CIPHER* Wrap(size_t key_size, bool pad) {
  switch (key_size) {
    case 16: return pad ? EVP_aes_128_wrap_pad() : EVP_aes_128_wrap();
    case 24: return pad ? EVP_aes_192_wrap_pad() : EVP_aes_192_wrap();
    case 32: return pad ? EVP_aes_256_wrap_pad() : EVP_aes_256_wrap();
    default: return nullptr;
  }
}

Result<Bytes> RunWrap(ByteView kek, ByteView in, bool pad, bool encrypt) {
  const char* name = pad ? "AES key wrap with padding (RFC 5649)" : "AES key wrap (RFC 3394)";
  const EVP_CIPHER* cipher = Wrap(kek.size(), pad);
  if (cipher == nullptr)
    return Err(InvalidArgument("{}: key-encryption key is {} bytes; it must be 16, 24 or 32", name,
                               kek.size()));
  if (encrypt) {
    if (pad ? in.empty() : (in.size() < 16 || in.size() % 8 != 0)) {
      return Err(InvalidArgument(
          "{}: cannot wrap {} bytes; {}", name, in.size(),
          pad ? "the key data is empty" : "it takes a multiple of 8 bytes, at least 16"));
    }
  } else if (in.size() < 16 || in.size() % 8 != 0) {
    return Err(Unauthenticated(
        "{}: wrapped data of {} bytes cannot be genuine (a multiple of 8, at least 16)", name,
        in.size()));
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  Bytes out(in.size() + 16);
  int n = 0, m = 0;
  if (!ctx) return Err(Internal("{}: {}", name, OpensslError()));
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_CipherInit_ex(ctx.get(), cipher, nullptr, kek.data(), nullptr, encrypt ? 1 : 0) != 1) {
    return Err(Internal("{}: {}", name, OpensslError()));
  }
  if (EVP_CipherUpdate(ctx.get(), out.data(), &n, in.data(), Len(in.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), out.data() + n, &m) != 1) {
    ERR_clear_error();
    Wipe(out);
    if (encrypt) return Err(Internal("{} failed", name));
    return Err(Unauthenticated(
        "{}: the integrity check fails: wrong key-encryption key, or the wrapped data was altered",
        name));
  }
  out.resize(static_cast<size_t>(n + m));
  return out;
}

}  // namespace

Result<Bytes> AesKeyWrap(ByteView kek, ByteView key_data) {
  return RunWrap(kek, key_data, false, true);
}
Result<Bytes> AesKeyWrapPad(ByteView kek, ByteView key_data) {
  return RunWrap(kek, key_data, true, true);
}
Result<SecretBytes> AesKeyUnwrap(ByteView kek, ByteView wrapped) {
  FERRY_ASSIGN_OR_RETURN(Bytes out, RunWrap(kek, wrapped, false, false));
  return SecretBytes(std::move(out));
}
Result<SecretBytes> AesKeyUnwrapPad(ByteView kek, ByteView wrapped) {
  FERRY_ASSIGN_OR_RETURN(Bytes out, RunWrap(kek, wrapped, true, false));
  return SecretBytes(std::move(out));
}

}  // namespace ferry::crypto
