// X-Wing against the test vectors of draft-connolly-cfrg-xwing-kem-10 (appendix C: each
// vector's seed and encapsulation seed, the first bytes of its public key and ciphertext, and
// its shared secret), round trips, and tampering.
#include "crypto/xwing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::crypto {
namespace {

using ::testing::HasSubstr;

Bytes H(std::string_view hex) { return FromHex(hex).value(); }
Bytes B(ByteView v) { return {v.begin(), v.end()}; }

struct Vector {
  const char* seed;
  const char* eseed;
  const char* pk_start;
  const char* ct_start;
  const char* ss;
};

const Vector kVectors[] = {
    {"7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26",
     "3cb1eea988004b93103cfb0aeefd2a686e01fa4a58e8a3639ca8a1e3f9ae57e235b8cc873c23dc62b8d260169afa2"
     "f75ab916a58d974918835d25e6a435085b2",
     "e2236b35a8c24b39", "b83aa828d4d62b9a",
     "d2df0522128f09dd8e2c92b1e905c793d8f57a54c3da25861f10bf4ca613e384"},
    {"badfd6dfaac359a5efbb7bcc4b59d538df9a04302e10c8bc1cbf1a0b3a5120ea",
     "17cda7cfad765f5623474d368ccca8af0007cd9f5e4c849f167a580b14aabdefaee7eef47cb0fca9767be1fda6941"
     "9dfb927e9df07348b196691abaeb580b32d",
     "0333285fa2536615", "c93beb2232670569",
     "f2e86241c64d60f6649fbc6c5b7d17180b780a3f34355e64a85749949c45f150"},
    {"ef58538b8d23f87732ea63b02b4fa0f4873360e2841928cd60dd4cee8cc0d4c9",
     "22a96188d032675c8ac850933c7aff1533b94c834adbb69c6115bad4692d8619f90b0cdf8a7b9c264029ac185b70b"
     "83f2801f2f4b3f70c593ea3aeeb613a7f1b",
     "36244278824f77c6", "0d2e38cbf17a2e2e",
     "953f7f4e8c5b5049bdc771d1dffada0dd961477d1a2ae0988baa7ea6898d893f"},
};

TEST(XWingTest, DraftVectors) {
  for (const Vector& v : kVectors) {
    SCOPED_TRACE(v.seed);
    KemKeyPair kp = XWing::KeyPairFromSeed(H(v.seed)).value();
    ASSERT_EQ(kp.public_key.size(), XWing::kPublicKey);
    EXPECT_EQ(Hex(ByteView(kp.public_key).first(8)), v.pk_start);
    Encapsulation e = XWing::EncapsulateWith(kp.public_key, H(v.eseed)).value();
    ASSERT_EQ(e.ciphertext.size(), XWing::kCiphertext);
    EXPECT_EQ(Hex(ByteView(e.ciphertext).first(8)), v.ct_start);
    EXPECT_EQ(Hex(e.shared_secret), v.ss);
    EXPECT_EQ(Hex(XWing::Decapsulate(kp.secret_key, e.ciphertext).value()), v.ss);
  }
}

TEST(XWingTest, RoundTripsAndTamperingChangesTheSecret) {
  KemKeyPair kp = XWing::GenerateKeyPair().value();
  EXPECT_EQ(XWing::PublicKeyOf(kp.secret_key).value(), kp.public_key);
  Encapsulation e = XWing::Encapsulate(kp.public_key).value();
  EXPECT_EQ(B(XWing::Decapsulate(kp.secret_key, e.ciphertext).value()), B(e.shared_secret));
  for (size_t at : {size_t{0}, size_t{1087}, size_t{1100}}) {  // ML-KEM part, its end, X25519 part
    Bytes bad = e.ciphertext;
    bad[at] ^= 0x20;
    Result<SecretBytes> other = XWing::Decapsulate(kp.secret_key, bad);
    ASSERT_TRUE(other.has_value()) << at;
    EXPECT_NE(B(*other), B(e.shared_secret)) << at;
  }
  // Another recipient's key decapsulates to an unrelated secret.
  KemKeyPair other = XWing::GenerateKeyPair().value();
  EXPECT_NE(B(XWing::Decapsulate(other.secret_key, e.ciphertext).value()), B(e.shared_secret));
}

TEST(XWingTest, RefusesMalformedInputs) {
  KemKeyPair kp = XWing::GenerateKeyPair().value();
  EXPECT_THAT(XWing::Encapsulate(ByteView(kp.public_key).first(1200)).error().message(),
              HasSubstr("public key is 1200 bytes; it must be 1216"));
  EXPECT_THAT(XWing::Decapsulate(kp.secret_key, Bytes(1119)).error().message(),
              HasSubstr("ciphertext is 1119 bytes; it must be 1120"));
  EXPECT_THAT(XWing::KeyPairFromSeed(Bytes(31)).error().message(),
              HasSubstr("private key is 31 bytes"));
  // An X25519 part that is a low-order point is refused rather than giving a weak secret.
  Encapsulation e = XWing::Encapsulate(kp.public_key).value();
  Bytes low = e.ciphertext;
  std::fill(low.begin() + 1088, low.end(), 0);
  EXPECT_THAT(XWing::Decapsulate(kp.secret_key, low).error().message(),
              HasSubstr("low-order point"));
}

}  // namespace
}  // namespace ferry::crypto
