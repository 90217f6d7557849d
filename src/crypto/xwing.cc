#include "crypto/xwing.h"

#include <openssl/evp.h>

#include "crypto/classical.h"
#include "crypto/random.h"

namespace ferry::crypto {
namespace {

constexpr uint8_t kLabel[] = {0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c};  // "\.//^\"

// SHAKE-256(seed, 96 bytes): the ML-KEM-768 seed (64) then the X25519 private key (32).
SecretBytes Expand(ByteView seed) {
  SecretBytes out(size_t{96});
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_shake256(), nullptr);
  EVP_DigestUpdate(ctx, seed.data(), seed.size());
  EVP_DigestFinalXOF(ctx, out.data(), out.size());
  EVP_MD_CTX_free(ctx);
  return out;
}

using Expanded = XWing::ExpandedKey;

Result<Expanded> ExpandKey(ByteView seed) {
  if (seed.size() != XWing::kSecretKey) {
    return Err(InvalidArgument("X-Wing private key is {} bytes; it must be 32", seed.size()));
  }
  SecretBytes expanded = Expand(seed);
  FERRY_ASSIGN_OR_RETURN(KemKeyPair m,
                         MlKem(MlKemLevel::k768).KeyPairFromSeed(expanded.view().first(64)));
  FERRY_ASSIGN_OR_RETURN(X25519PrivateKey x,
                         X25519PrivateKey::Load(expanded.view().subspan(64, 32)));
  return Expanded{std::move(m), std::move(x)};
}

SecretBytes Combine(ByteView ss_m, ByteView ss_x, ByteView ct_x, ByteView pk_x) {
  SecretBytes input(Concat({ss_m, ss_x, ct_x, pk_x, kLabel}));
  return SecretBytes(Hash(Digest::kSha3_256, input));
}

}  // namespace

Result<KemKeyPair> XWing::GenerateKeyPair() {
  FERRY_ASSIGN_OR_RETURN(SecretBytes seed, RandomSecret(kSecretKey));
  return KeyPairFromSeed(seed);
}

Result<KemKeyPair> XWing::KeyPairFromSeed(ByteView seed) {
  FERRY_ASSIGN_OR_RETURN(Expanded e, ExpandKey(seed));
  return KemKeyPair{Concat({e.ml_kem.public_key, e.x25519.public_key()}), SecretBytes(seed)};
}

Result<Bytes> XWing::PublicKeyOf(ByteView secret_key) {
  FERRY_ASSIGN_OR_RETURN(KemKeyPair kp, KeyPairFromSeed(secret_key));
  return std::move(kp.public_key);
}

Result<Encapsulation> XWing::Encapsulate(ByteView public_key) {
  FERRY_ASSIGN_OR_RETURN(SecretBytes eseed, RandomSecret(kEncapsulationSeed));
  return EncapsulateWith(public_key, eseed);
}

Result<Encapsulation> XWing::EncapsulateWith(ByteView pk, ByteView eseed) {
  if (pk.size() != kPublicKey)
    return Err(
        InvalidArgument("X-Wing public key is {} bytes; it must be {}", pk.size(), kPublicKey));
  if (eseed.size() != kEncapsulationSeed) {
    return Err(InvalidArgument("X-Wing encapsulation seed is {} bytes; it must be {}", eseed.size(),
                               kEncapsulationSeed));
  }
  ByteView pk_m = pk.first(1184), pk_x = pk.subspan(1184);
  FERRY_ASSIGN_OR_RETURN(X25519PrivateKey ek_x, X25519PrivateKey::Load(eseed.subspan(32, 32)));
  const Bytes& ct_x = ek_x.public_key();
  FERRY_ASSIGN_OR_RETURN(SecretBytes ss_x, ek_x.Derive(pk_x));
  FERRY_ASSIGN_OR_RETURN(Encapsulation m,
                         MlKem(MlKemLevel::k768).EncapsulateWith(pk_m, eseed.first(32)));
  Encapsulation out{Concat({m.ciphertext, ct_x}), Combine(m.shared_secret, ss_x, ct_x, pk_x)};
  return out;
}

Result<XWing::ExpandedKey> XWing::Expand(ByteView secret_key) { return ExpandKey(secret_key); }

Result<SecretBytes> XWing::Decapsulate(ByteView sk, ByteView ct) {
  FERRY_ASSIGN_OR_RETURN(Expanded e, ExpandKey(sk));
  return Decapsulate(e, ct);
}

Result<SecretBytes> XWing::Decapsulate(const ExpandedKey& e, ByteView ct) {
  if (ct.size() != kCiphertext)
    return Err(
        InvalidArgument("X-Wing ciphertext is {} bytes; it must be {}", ct.size(), kCiphertext));
  ByteView ct_m = ct.first(1088), ct_x = ct.subspan(1088);
  FERRY_ASSIGN_OR_RETURN(SecretBytes ss_m,
                         MlKem(MlKemLevel::k768).Decapsulate(e.ml_kem.secret_key, ct_m));
  FERRY_ASSIGN_OR_RETURN(SecretBytes ss_x, e.x25519.Derive(ct_x));
  return Combine(ss_m, ss_x, ct_x, e.x25519.public_key());
}

}  // namespace ferry::crypto
