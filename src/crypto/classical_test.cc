// The classical primitives: published known answers, round trips, and every way a tampered or
// malformed input must be refused.
#include "crypto/classical.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/random.h"

namespace ferry::crypto {
namespace {

using ::testing::HasSubstr;

Bytes H(std::string_view hex) { return FromHex(hex).value(); }
Bytes B(ByteView v) { return {v.begin(), v.end()}; }

TEST(HexTest, RoundTripsAndNamesTheBadDigit) {
  const Bytes all = [] {
    Bytes b(256);
    for (int i = 0; i < 256; ++i) b[i] = static_cast<uint8_t>(i);
    return b;
  }();
  EXPECT_EQ(FromHex(Hex(all)).value(), all);
  EXPECT_EQ(FromHex("ABcd").value(), (Bytes{0xab, 0xcd}));
  EXPECT_THAT(FromHex("abc").error().message(), HasSubstr("odd number of digits (3)"));
  EXPECT_THAT(FromHex("ab0g").error().message(), HasSubstr("'g' at offset 3 is not a hex digit"));
}

TEST(AesGcmTest, SealsAndOpensAndRefusesEveryTamperedPart) {
  const Bytes key = B(RandomSecret(32).value());
  const Bytes iv(12, 9), aad = {'h', 'd', 'r'};
  const Bytes msg = {'r', 'o', 'w', 's'};
  const Bytes sealed = AesGcmSeal(key, iv, aad, msg).value();
  ASSERT_EQ(sealed.size(), msg.size() + 16);
  EXPECT_EQ(AesGcmOpen(key, iv, aad, sealed).value(), msg);

  for (size_t i = 0; i < sealed.size(); ++i) {  // every byte of ciphertext and tag
    Bytes bad = sealed;
    bad[i] ^= 0x01;
    Result<Bytes> r = AesGcmOpen(key, iv, aad, bad);
    ASSERT_FALSE(r.has_value()) << "byte " << i;
    EXPECT_EQ(r.error().code(), StatusCode::kUnauthenticated);
  }
  Bytes other_key = key;
  other_key[31] ^= 0x80;
  EXPECT_FALSE(AesGcmOpen(other_key, iv, aad, sealed).has_value());
  EXPECT_FALSE(AesGcmOpen(key, Bytes(12, 8), aad, sealed).has_value());
  EXPECT_FALSE(AesGcmOpen(key, iv, Bytes{'h', 'd'}, sealed).has_value());
  EXPECT_THAT(AesGcmOpen(key, iv, aad, ByteView(sealed).first(10)).error().message(),
              HasSubstr("shorter than its 16-byte tag: truncated"));
  EXPECT_THAT(AesGcmSeal(Bytes(20), iv, aad, msg).error().message(),
              HasSubstr("key is 20 bytes; it must be 16, 24 or 32"));
}

TEST(HkdfTest, MatchesRfc5869AndRefusesTooLongOutputs) {
  // RFC 5869 A.3: SHA-256, no salt, no info.
  EXPECT_EQ(
      B(Hkdf(Digest::kSha256, Bytes(22, 0x0b), {}, {}, 42).value()),
      H("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"));
  EXPECT_TRUE(Hkdf(Digest::kSha256, Bytes(1), {}, {}, 255 * 32).has_value());
  EXPECT_THAT(Hkdf(Digest::kSha256, Bytes(1), {}, {}, 255 * 32 + 1).error().message(),
              HasSubstr("the most is 255 x 32 = 8160"));
}

TEST(HashTest, KnownDigests) {
  EXPECT_EQ(Hex(Hash(Digest::kSha256, AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Hash(Digest::kSha3_256, AsBytes(""))),
            "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
}

TEST(X25519Test, BothSidesAgreeAndLowOrderKeysAreRefused) {
  X25519KeyPair a = X25519Generate().value(), b = X25519Generate().value();
  EXPECT_EQ(X25519PublicFromPrivate(a.private_key).value(), a.public_key);
  EXPECT_EQ(B(X25519(a.private_key, b.public_key).value()),
            B(X25519(b.private_key, a.public_key).value()));
  // u = 0 and u = 1 are points of small order: the result is all zeros.
  for (const Bytes& low :
       {Bytes(32, 0), H("0100000000000000000000000000000000000000000000000000000000000000")}) {
    Result<SecretBytes> r = X25519(a.private_key, low);
    ASSERT_FALSE(r.has_value());
    EXPECT_THAT(r.error().message(), HasSubstr("low-order point"));
  }
  EXPECT_THAT(X25519(a.private_key, Bytes(31)).error().message(),
              HasSubstr("public key is 31 bytes"));
}

TEST(Ed25519Test, SignsAndRefusesAnyChange) {
  Ed25519KeyPair k = Ed25519Generate().value();
  const Bytes msg = {'e', 'v', 'i', 'd', 'e', 'n', 'c', 'e'};
  const Bytes sig = Ed25519Sign(k.private_key, msg).value();
  EXPECT_TRUE(Ed25519Verify(k.public_key, msg, sig).ok());
  Bytes bad_sig = sig;
  bad_sig[10] ^= 4;
  EXPECT_EQ(Ed25519Verify(k.public_key, msg, bad_sig).code(), StatusCode::kUnauthenticated);
  Bytes bad_msg = msg;
  bad_msg.back() ^= 1;
  EXPECT_EQ(Ed25519Verify(k.public_key, bad_msg, sig).code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(Ed25519Verify(k.public_key, msg, ByteView(sig).first(63)).message(),
              HasSubstr("signature is 63 bytes; it must be 64"));
}

TEST(AesKeyWrapTest, RoundTripsAndDetectsTheWrongKey) {
  const Bytes kek(32, 0x42), key(32, 0x17), odd = {1, 2, 3, 4, 5};
  const Bytes wrapped = AesKeyWrap(kek, key).value();
  EXPECT_EQ(wrapped.size(), key.size() + 8);
  EXPECT_EQ(B(AesKeyUnwrap(kek, wrapped).value()), key);
  EXPECT_EQ(B(AesKeyUnwrapPad(kek, AesKeyWrapPad(kek, odd).value()).value()), odd);
  Bytes other = kek;
  other[0] ^= 1;
  Result<SecretBytes> r = AesKeyUnwrap(other, wrapped);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(AesKeyWrap(kek, odd).error().message(),
              HasSubstr("multiple of 8 bytes, at least 16"));
}

}  // namespace
}  // namespace ferry::crypto
