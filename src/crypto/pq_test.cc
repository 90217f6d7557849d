// ML-KEM and ML-DSA through ferry's interface: round trips, determinism from seeds, the FIPS
// 203 input checks, and refusals. (Conformance is wycheproof_test.cc's and the independent
// cross-check's; this file tests ferry's own code around PQClean.)
#include "crypto/pq.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/selftest.h"

namespace ferry::crypto {
namespace {

using ::testing::HasSubstr;

Bytes B(ByteView v) { return {v.begin(), v.end()}; }

class MlKemTest : public ::testing::TestWithParam<MlKemLevel> {};

TEST_P(MlKemTest, RoundTripsAndRejectsImplicitly) {
  const MlKem kem(GetParam());
  for (int i = 0; i < 20; ++i) {
    KemKeyPair kp = kem.GenerateKeyPair().value();
    ASSERT_EQ(kp.public_key.size(), kem.sizes().public_key);
    ASSERT_EQ(kp.secret_key.size(), kem.sizes().secret_key);
    Encapsulation e = kem.Encapsulate(kp.public_key).value();
    EXPECT_EQ(B(kem.Decapsulate(kp.secret_key, e.ciphertext).value()), B(e.shared_secret));
    Bytes bad = e.ciphertext;
    bad[static_cast<size_t>(i) * 37 % bad.size()] ^= 0x04;
    Result<SecretBytes> other = kem.Decapsulate(kp.secret_key, bad);
    ASSERT_TRUE(other.has_value()) << "implicit rejection returns a secret, not an error";
    EXPECT_NE(B(*other), B(e.shared_secret));
  }
}

TEST_P(MlKemTest, SeedsDetermineKeysAndMessagesDetermineCiphertexts) {
  const MlKem kem(GetParam());
  Bytes seed(64, 1);
  KemKeyPair a = kem.KeyPairFromSeed(seed).value(), b = kem.KeyPairFromSeed(seed).value();
  EXPECT_EQ(a.public_key, b.public_key);
  seed[63] ^= 1;  // z only: same public key, different secret key
  KemKeyPair c = kem.KeyPairFromSeed(seed).value();
  EXPECT_EQ(a.public_key, c.public_key);
  EXPECT_NE(B(a.secret_key), B(c.secret_key));
  seed[0] ^= 1;  // d: a different key altogether
  EXPECT_NE(kem.KeyPairFromSeed(seed).value().public_key, a.public_key);

  const Bytes m(32, 7);
  Encapsulation e1 = kem.EncapsulateWith(a.public_key, m).value();
  Encapsulation e2 = kem.EncapsulateWith(a.public_key, m).value();
  EXPECT_EQ(e1.ciphertext, e2.ciphertext);
  EXPECT_THAT(kem.KeyPairFromSeed(Bytes(32)).error().message(),
              HasSubstr("seed is 32 bytes; it must be 64"));
}

TEST_P(MlKemTest, ChecksKeysAsFips203Requires) {
  const MlKem kem(GetParam());
  KemKeyPair kp = kem.GenerateKeyPair().value();
  // A coefficient of 4095 (>= q) in the encapsulation key fails the modulus check.
  Bytes pk = kp.public_key;
  pk[3] = 0xFF;
  pk[4] |= 0x0F;
  Result<Encapsulation> e = kem.Encapsulate(pk);
  ASSERT_FALSE(e.has_value());
  EXPECT_THAT(e.error().message(),
              HasSubstr("fails the modulus check (FIPS 203 7.2): coefficient 2 is 4095"));
  // A decapsulation key whose embedded ek no longer hashes to its H(ek).
  Bytes sk = B(kp.secret_key);
  sk[kem.sizes().public_key - 32 + 5] ^= 1;
  Encapsulation good = kem.Encapsulate(kp.public_key).value();
  EXPECT_THAT(kem.Decapsulate(sk, good.ciphertext).error().message(),
              HasSubstr("fails the hash check"));
  EXPECT_THAT(
      kem.Decapsulate(kp.secret_key, ByteView(good.ciphertext).first(100)).error().message(),
      HasSubstr("ciphertext is 100 bytes"));
}

INSTANTIATE_TEST_SUITE_P(Levels, MlKemTest, ::testing::Values(MlKemLevel::k768, MlKemLevel::k1024),
                         [](const auto& param_info) {
                           return param_info.param == MlKemLevel::k768 ? "ML_KEM_768"
                                                                       : "ML_KEM_1024";
                         });

class MlDsaTest : public ::testing::TestWithParam<MlDsaLevel> {};

TEST_P(MlDsaTest, SignsVerifiesAndRefusesChanges) {
  const MlDsa dsa(GetParam());
  SignatureKeyPair kp = dsa.GenerateKeyPair().value();
  const Bytes msg = {'m', 'a', 'n', 'i', 'f', 'e', 's', 't'}, ctx = {'f', 'e', 'r', 'r', 'y'};
  const Bytes sig = dsa.Sign(kp.secret_key, msg, ctx).value();
  ASSERT_EQ(sig.size(), dsa.sizes().signature);
  EXPECT_TRUE(dsa.Verify(kp.public_key, msg, sig, ctx).ok());
  EXPECT_EQ(dsa.Verify(kp.public_key, msg, sig).code(), StatusCode::kUnauthenticated);  // context
  Bytes bad = sig;
  bad[100] ^= 1;
  EXPECT_EQ(dsa.Verify(kp.public_key, msg, bad, ctx).code(), StatusCode::kUnauthenticated);
  SignatureKeyPair other = dsa.GenerateKeyPair().value();
  EXPECT_EQ(dsa.Verify(other.public_key, msg, sig, ctx).code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(dsa.Sign(kp.secret_key, msg, Bytes(256)).error().message(),
              HasSubstr("context is 256 bytes"));
  EXPECT_THAT(dsa.Verify(kp.public_key, msg, ByteView(sig).first(10)).message(),
              HasSubstr("signature is 10 bytes"));
}

TEST_P(MlDsaTest, DeterministicSigningRepeatsAndHedgedSigningDoesNot) {
  const MlDsa dsa(GetParam());
  SignatureKeyPair a = dsa.KeyPairFromSeed(Bytes(32, 5)).value();
  EXPECT_EQ(dsa.KeyPairFromSeed(Bytes(32, 5)).value().public_key, a.public_key);
  const Bytes msg = {1, 2, 3}, zero(32, 0);
  EXPECT_EQ(dsa.SignWith(a.secret_key, msg, {}, zero).value(),
            dsa.SignWith(a.secret_key, msg, {}, zero).value());
  const Bytes s1 = dsa.Sign(a.secret_key, msg).value(), s2 = dsa.Sign(a.secret_key, msg).value();
  EXPECT_NE(s1, s2);
  EXPECT_TRUE(dsa.Verify(a.public_key, msg, s1).ok());
  EXPECT_TRUE(dsa.Verify(a.public_key, msg, s2).ok());
}

INSTANTIATE_TEST_SUITE_P(Levels, MlDsaTest, ::testing::Values(MlDsaLevel::k65, MlDsaLevel::k87),
                         [](const auto& param_info) {
                           return param_info.param == MlDsaLevel::k65 ? "ML_DSA_65" : "ML_DSA_87";
                         });

TEST(SelfTest, EveryKnownAnswerPasses) {
  std::vector<SelfTestResult> results = RunSelfTests();
  EXPECT_GE(results.size(), 10u);
  for (const SelfTestResult& r : results) EXPECT_TRUE(r.passed) << r.name << ": " << r.detail;
}

}  // namespace
}  // namespace ferry::crypto
