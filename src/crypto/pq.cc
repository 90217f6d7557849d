#include "crypto/pq.h"

#include <openssl/evp.h>

#include "crypto/classical.h"
#include "crypto/random.h"

// PQClean's entry points (crypto_kem/*/clean/kem.h, crypto_sign/*/clean/api.h). Declared here
// rather than included: each scheme's headers include its own params.h under the same name.
extern "C" {
#define FERRY_PQCLEAN_KEM(NS)                                                                 \
  int PQCLEAN_##NS##_CLEAN_crypto_kem_keypair_derand(uint8_t* pk, uint8_t* sk,                \
                                                     const uint8_t* coins);                   \
  int PQCLEAN_##NS##_CLEAN_crypto_kem_enc_derand(uint8_t* ct, uint8_t* ss, const uint8_t* pk, \
                                                 const uint8_t* coins);                       \
  int PQCLEAN_##NS##_CLEAN_crypto_kem_dec(uint8_t* ss, const uint8_t* ct, const uint8_t* sk);
FERRY_PQCLEAN_KEM(MLKEM768)
FERRY_PQCLEAN_KEM(MLKEM1024)
#undef FERRY_PQCLEAN_KEM
#define FERRY_PQCLEAN_SIGN(NS)                                                              \
  int PQCLEAN_##NS##_CLEAN_crypto_sign_keypair(uint8_t* pk, uint8_t* sk);                   \
  int PQCLEAN_##NS##_CLEAN_crypto_sign_signature_ctx(                                       \
      uint8_t* sig, size_t* siglen, const uint8_t* m, size_t mlen, const uint8_t* ctx,      \
      size_t ctxlen, const uint8_t* sk);                                                    \
  int PQCLEAN_##NS##_CLEAN_crypto_sign_verify_ctx(                                          \
      const uint8_t* sig, size_t siglen, const uint8_t* m, size_t mlen, const uint8_t* ctx, \
      size_t ctxlen, const uint8_t* pk);
#define FERRY_PQCLEAN_SIGN_MU(NS)                                                        \
  int PQCLEAN_##NS##_CLEAN_crypto_sign_signature_mu(                                     \
      uint8_t* sig, size_t* siglen, const uint8_t* mu, size_t mulen, const uint8_t* ctx, \
      size_t ctxlen, const uint8_t* sk);
FERRY_PQCLEAN_SIGN_MU(MLDSA65)
FERRY_PQCLEAN_SIGN_MU(MLDSA87)
#undef FERRY_PQCLEAN_SIGN_MU
FERRY_PQCLEAN_SIGN(MLDSA65)
FERRY_PQCLEAN_SIGN(MLDSA87)
#undef FERRY_PQCLEAN_SIGN
}

namespace ferry::crypto {
namespace {

Status WrongLength(const char* algorithm, const char* what, size_t got, size_t want) {
  return InvalidArgument("{} {} is {} bytes; it must be {}", algorithm, what, got, want);
}

}  // namespace

std::string PqBackend() {
  return "PQClean " FERRY_PQCLEAN_VERSION " (npm package pqclean, clean C implementations)";
}

MlKemSizes MlKem::sizes() const {
  return level_ == MlKemLevel::k768 ? MlKemSizes{1184, 2400, 1088} : MlKemSizes{1568, 3168, 1568};
}

Status MlKem::CheckPublicKey(ByteView pk) const {
  const MlKemSizes s = sizes();
  if (pk.size() != s.public_key)
    return WrongLength(name(), "encapsulation key", pk.size(), s.public_key);
  // ByteDecode12 of the 384k bytes before rho: two coefficients per three bytes.
  const size_t n = pk.size() - 32;
  for (size_t i = 0; i < n; i += 3) {
    const unsigned a = pk[i] | (pk[i + 1] & 0x0F) << 8;
    const unsigned b = pk[i + 1] >> 4 | pk[i + 2] << 4;
    if (a >= 3329 || b >= 3329) {
      return InvalidArgument(
          "{} encapsulation key fails the modulus check (FIPS 203 7.2): coefficient {} is {}, "
          "not below 3329; the key is corrupt or not an {} key",
          name(), a >= 3329 ? 2 * (i / 3) : 2 * (i / 3) + 1, a >= 3329 ? a : b, name());
    }
  }
  return OkStatus();
}

Status MlKem::CheckSecretKey(ByteView sk) const {
  const MlKemSizes s = sizes();
  if (sk.size() != s.secret_key)
    return WrongLength(name(), "decapsulation key", sk.size(), s.secret_key);
  // dk = dk_pke (384k) || ek (384k + 32) || H(ek) (32) || z (32)
  const size_t pke = s.public_key - 32;
  ByteView ek = sk.subspan(pke, s.public_key);
  ByteView h = sk.subspan(pke + s.public_key, 32);
  if (!ConstantTimeEqual(Hash(Digest::kSha3_256, ek), h)) {
    return InvalidArgument(
        "{} decapsulation key fails the hash check (FIPS 203 7.3): its H(ek) does not match its "
        "ek; the key is corrupt",
        name());
  }
  return OkStatus();
}

Result<KemKeyPair> MlKem::GenerateKeyPair() const {
  FERRY_ASSIGN_OR_RETURN(SecretBytes seed, RandomSecret(MlKemSizes::kSeed));
  return KeyPairFromSeed(seed);
}

Result<KemKeyPair> MlKem::KeyPairFromSeed(ByteView seed) const {
  if (seed.size() != MlKemSizes::kSeed)
    return Err(WrongLength(name(), "seed", seed.size(), MlKemSizes::kSeed));
  const MlKemSizes s = sizes();
  KemKeyPair kp{Bytes(s.public_key), SecretBytes(size_t{s.secret_key})};
  if (level_ == MlKemLevel::k768) {
    PQCLEAN_MLKEM768_CLEAN_crypto_kem_keypair_derand(kp.public_key.data(), kp.secret_key.data(),
                                                     seed.data());
  } else {
    PQCLEAN_MLKEM1024_CLEAN_crypto_kem_keypair_derand(kp.public_key.data(), kp.secret_key.data(),
                                                      seed.data());
  }
  return kp;
}

Result<Encapsulation> MlKem::Encapsulate(ByteView pk) const {
  FERRY_ASSIGN_OR_RETURN(SecretBytes m, RandomSecret(MlKemSizes::kMessage));
  return EncapsulateWith(pk, m);
}

Result<Encapsulation> MlKem::EncapsulateWith(ByteView pk, ByteView m) const {
  FERRY_RETURN_IF_ERROR(CheckPublicKey(pk));
  if (m.size() != MlKemSizes::kMessage)
    return Err(WrongLength(name(), "message m", m.size(), MlKemSizes::kMessage));
  Encapsulation e{Bytes(sizes().ciphertext), SecretBytes(size_t{MlKemSizes::kSharedSecret})};
  if (level_ == MlKemLevel::k768) {
    PQCLEAN_MLKEM768_CLEAN_crypto_kem_enc_derand(e.ciphertext.data(), e.shared_secret.data(),
                                                 pk.data(), m.data());
  } else {
    PQCLEAN_MLKEM1024_CLEAN_crypto_kem_enc_derand(e.ciphertext.data(), e.shared_secret.data(),
                                                  pk.data(), m.data());
  }
  return e;
}

Result<SecretBytes> MlKem::Decapsulate(ByteView sk, ByteView ct) const {
  FERRY_RETURN_IF_ERROR(CheckSecretKey(sk));
  if (ct.size() != sizes().ciphertext)
    return Err(WrongLength(name(), "ciphertext", ct.size(), sizes().ciphertext));
  SecretBytes ss(size_t{MlKemSizes::kSharedSecret});
  if (level_ == MlKemLevel::k768) {
    PQCLEAN_MLKEM768_CLEAN_crypto_kem_dec(ss.data(), ct.data(), sk.data());
  } else {
    PQCLEAN_MLKEM1024_CLEAN_crypto_kem_dec(ss.data(), ct.data(), sk.data());
  }
  return ss;
}

MlDsaSizes MlDsa::sizes() const {
  return level_ == MlDsaLevel::k65 ? MlDsaSizes{1952, 4032, 3309} : MlDsaSizes{2592, 4896, 4627};
}

Result<SignatureKeyPair> MlDsa::GenerateKeyPair() const {
  FERRY_ASSIGN_OR_RETURN(SecretBytes seed, RandomSecret(MlDsaSizes::kSeed));
  return KeyPairFromSeed(seed);
}

Result<SignatureKeyPair> MlDsa::KeyPairFromSeed(ByteView seed) const {
  if (seed.size() != MlDsaSizes::kSeed)
    return Err(WrongLength(name(), "seed", seed.size(), MlDsaSizes::kSeed));
  const MlDsaSizes s = sizes();
  SignatureKeyPair kp{Bytes(s.public_key), SecretBytes(size_t{s.secret_key})};
  ScopedRandomBytes source(seed);  // KeyGen draws its seed ξ through randombytes()
  if (level_ == MlDsaLevel::k65) {
    PQCLEAN_MLDSA65_CLEAN_crypto_sign_keypair(kp.public_key.data(), kp.secret_key.data());
  } else {
    PQCLEAN_MLDSA87_CLEAN_crypto_sign_keypair(kp.public_key.data(), kp.secret_key.data());
  }
  return kp;
}

Result<Bytes> MlDsa::Sign(ByteView sk, ByteView message, ByteView context) const {
  FERRY_ASSIGN_OR_RETURN(SecretBytes rnd, RandomSecret(MlDsaSizes::kRnd));
  return SignWith(sk, message, context, rnd);
}

Status MlDsa::CheckSecretKey(ByteView sk) const {
  const MlDsaSizes s = sizes();
  if (sk.size() != s.secret_key) return WrongLength(name(), "private key", sk.size(), s.secret_key);
  // sk = rho (32) || K (32) || tr (64) || s1 (l polynomials) || s2 (k polynomials) || t0, each
  // coefficient of s1 and s2 packed as eta - c in `bits` bits: a packed value above 2 eta is a
  // coefficient outside [-eta, eta] that no key generation produces.
  const bool k65 = level_ == MlDsaLevel::k65;
  const unsigned eta = k65 ? 4 : 2, bits = k65 ? 4 : 3;
  const size_t l = k65 ? 5 : 7, k = k65 ? 6 : 8;
  const size_t coefficients = (l + k) * 256;
  ByteView packed = sk.subspan(128, coefficients * bits / 8);
  for (size_t i = 0; i < coefficients; ++i) {
    const size_t bit = i * bits, at = bit / 8;
    const unsigned word = packed[at] | (at + 1 < packed.size() ? packed[at + 1] << 8 : 0);
    const unsigned value = (word >> (bit % 8)) & ((1u << bits) - 1);
    if (value > 2 * eta) {
      return InvalidArgument("{} private key is corrupt: {} coefficient {} is outside [-{}, {}]",
                             name(), i < l * 256 ? "s1" : "s2", i < l * 256 ? i : i - l * 256, eta,
                             eta);
    }
  }
  return OkStatus();
}

Result<Bytes> MlDsa::SignWith(ByteView sk, ByteView message, ByteView context, ByteView rnd) const {
  const MlDsaSizes s = sizes();
  FERRY_RETURN_IF_ERROR(CheckSecretKey(sk));
  if (rnd.size() != MlDsaSizes::kRnd)
    return Err(WrongLength(name(), "rnd", rnd.size(), MlDsaSizes::kRnd));
  if (context.size() > MlDsaSizes::kMaxContext) {
    return Err(InvalidArgument("{} context is {} bytes; FIPS 204 allows at most 255", name(),
                               context.size()));
  }
  Bytes sig(s.signature);
  size_t length = 0;
  ScopedRandomBytes source(rnd);  // Sign draws rnd through randombytes()
  const int rc = level_ == MlDsaLevel::k65
                     ? PQCLEAN_MLDSA65_CLEAN_crypto_sign_signature_ctx(
                           sig.data(), &length, message.data(), message.size(), context.data(),
                           context.size(), sk.data())
                     : PQCLEAN_MLDSA87_CLEAN_crypto_sign_signature_ctx(
                           sig.data(), &length, message.data(), message.size(), context.data(),
                           context.size(), sk.data());
  if (rc != 0 || length != s.signature) return Err(Internal("{} signing failed", name()));
  return sig;
}

Result<Bytes> MlDsa::SignMuWith(ByteView sk, ByteView mu, ByteView rnd) const {
  const MlDsaSizes s = sizes();
  FERRY_RETURN_IF_ERROR(CheckSecretKey(sk));
  if (mu.size() != MlDsaSizes::kMu)
    return Err(WrongLength(name(), "mu", mu.size(), MlDsaSizes::kMu));
  if (rnd.size() != MlDsaSizes::kRnd)
    return Err(WrongLength(name(), "rnd", rnd.size(), MlDsaSizes::kRnd));
  Bytes sig(s.signature);
  size_t length = 0;
  ScopedRandomBytes source(rnd);
  const int rc = level_ == MlDsaLevel::k65
                     ? PQCLEAN_MLDSA65_CLEAN_crypto_sign_signature_mu(
                           sig.data(), &length, mu.data(), mu.size(), nullptr, 0, sk.data())
                     : PQCLEAN_MLDSA87_CLEAN_crypto_sign_signature_mu(
                           sig.data(), &length, mu.data(), mu.size(), nullptr, 0, sk.data());
  if (rc != 0 || length != s.signature) return Err(Internal("{} signing failed", name()));
  return sig;
}

Status MlDsa::Verify(ByteView pk, ByteView message, ByteView signature, ByteView context) const {
  const MlDsaSizes s = sizes();
  if (pk.size() != s.public_key) return WrongLength(name(), "public key", pk.size(), s.public_key);
  if (signature.size() != s.signature)
    return WrongLength(name(), "signature", signature.size(), s.signature);
  if (context.size() > MlDsaSizes::kMaxContext) {
    return InvalidArgument("{} context is {} bytes; FIPS 204 allows at most 255", name(),
                           context.size());
  }
  const int rc = level_ == MlDsaLevel::k65
                     ? PQCLEAN_MLDSA65_CLEAN_crypto_sign_verify_ctx(
                           signature.data(), signature.size(), message.data(), message.size(),
                           context.data(), context.size(), pk.data())
                     : PQCLEAN_MLDSA87_CLEAN_crypto_sign_verify_ctx(
                           signature.data(), signature.size(), message.data(), message.size(),
                           context.data(), context.size(), pk.data());
  if (rc != 0) return Unauthenticated("{} signature does not verify under this public key", name());
  return OkStatus();
}

}  // namespace ferry::crypto
