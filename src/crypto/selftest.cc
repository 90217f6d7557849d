#include "crypto/selftest.h"

#include <functional>

#include "crypto/classical.h"
#include "crypto/pq.h"
#include "crypto/xwing.h"

namespace ferry::crypto {
namespace {

Bytes H(std::string_view hex) { return FromHex(hex).value_or(Bytes{}); }

Bytes Sequence(int start, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(start + static_cast<int>(i));
  return b;
}

// A check: empty when it passed, otherwise what differed.
using Check = std::function<std::string()>;

std::string Expect(const Result<Bytes>& got, ByteView want) {
  if (!got.has_value()) return got.error().message();
  if (*got != Bytes(want.begin(), want.end())) return "got " + Hex(*got) + ", want " + Hex(want);
  return "";
}
std::string Expect(const Result<SecretBytes>& got, ByteView want) {
  if (!got.has_value()) return got.error().message();
  return Expect(Bytes(got->view().begin(), got->view().end()), want);
}

std::vector<std::pair<std::string, Check>> Checks() {
  std::vector<std::pair<std::string, Check>> checks;
  checks.emplace_back("AES-256-GCM (GCM specification test case 14)", [] {
    Bytes key(32, 0), iv(12, 0), pt(16, 0);
    return Expect(AesGcmSeal(key, iv, {}, pt),
                  H("cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"));
  });
  checks.emplace_back("AES-256-GCM rejects a flipped bit", [] {
    Bytes key(32, 7), iv(12, 1), pt = {1, 2, 3};
    Bytes sealed = AesGcmSeal(key, iv, {}, pt).value_or(Bytes{});
    if (sealed.empty()) return std::string("sealing failed");
    sealed[0] ^= 1;
    return AesGcmOpen(key, iv, {}, sealed).has_value() ? std::string("a tampered ciphertext opened")
                                                       : std::string();
  });
  checks.emplace_back("HKDF-SHA-256 (RFC 5869 test case 1)", [] {
    return Expect(Hkdf(Digest::kSha256, Bytes(22, 0x0b), H("000102030405060708090a0b0c"),
                       H("f0f1f2f3f4f5f6f7f8f9"), 42),
                  H("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b8"
                    "87185865"));
  });
  checks.emplace_back("X25519 (RFC 7748 5.2)", [] {
    return Expect(X25519(H("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                         H("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")),
                  H("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"));
  });
  checks.emplace_back("Ed25519 (RFC 8032 7.1 test 1)", [] {
    Bytes sk = H("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    std::string e = Expect(Ed25519PublicFromPrivate(sk),
                           H("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
    if (!e.empty()) return e;
    return Expect(Ed25519Sign(sk, {}),
                  H("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a3"
                    "3bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"));
  });
  checks.emplace_back("AES key wrap (RFC 3394 4.6)", [] {
    return Expect(
        AesKeyWrap(H("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
                   H("00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f")),
        H("28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21"));
  });
  // draft-connolly-cfrg-xwing-kem-10, appendix C: the first vector's shared secret, from its
  // seed and encapsulation seed (it covers ML-KEM-768 KeyGen and Encaps, X25519 and SHA3/SHAKE).
  checks.emplace_back("X-Wing (draft-connolly-cfrg-xwing-kem-10 appendix C, vector 1)", [] {
    Result<KemKeyPair> kp = XWing::KeyPairFromSeed(
        H("7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26"));
    if (!kp.has_value()) return kp.error().message();
    Result<Encapsulation> e = XWing::EncapsulateWith(
        kp->public_key, H("3cb1eea988004b93103cfb0aeefd2a686e01fa4a58e8a3639ca8a1e3f9ae57e235b8cc87"
                          "3c23dc62b8d260169afa2f75ab916a58d974918835d25e6a435085b2"));
    if (!e.has_value()) return e.error().message();
    const Bytes want = H("d2df0522128f09dd8e2c92b1e905c793d8f57a54c3da25861f10bf4ca613e384");
    std::string d =
        Expect(Bytes(e->shared_secret.view().begin(), e->shared_secret.view().end()), want);
    if (!d.empty()) return "encapsulation: " + d;
    d = Expect(XWing::Decapsulate(kp->secret_key, e->ciphertext), want);
    return d.empty() ? d : "decapsulation: " + d;
  });
  // Known answers for ML-KEM and ML-DSA from @noble/post-quantum 0.4.1, an implementation
  // independent of PQClean: seeds 00 01 02 ..., m = 40 41 ..., message "ferry", no context, rnd
  // all zero (deterministic signing); the SHA3-256 of each long output, the shared secret itself.
  struct KemAnswer {
    MlKemLevel level;
    const char *pk_hash, *ct_hash, *ss;
  };
  for (const KemAnswer& a :
       {KemAnswer{MlKemLevel::k768,
                  "a24e16d8f8f9383a95b77050f4d9fd2f5733eec1d63ef3c23ebf9918173669a7",
                  "b4cfbd24cef67afd3764276c6980e0f88f8e9ca57f59b7f12fe1a9c1e72f4710",
                  "9cddd089ffe70e3996e76f7c8d06746df34d07e8657bc0fcf2bb0e1c3084aea1"},
        KemAnswer{MlKemLevel::k1024,
                  "61349e5c131a7e116a0463861d7d18663c5627c38c7147ddaadfd48acd7a4535",
                  "c1579fa02c614f3762b2a799b51e41cebb8f820f34fa736af02c56de2460ce3c",
                  "0ad8d1ea1b8dd788979b4379581218df9321bdce5567eca42ae6be7d395f1a54"}}) {
    MlKem kem(a.level);
    checks.emplace_back(std::string(kem.name()) + " (known answer, KeyGen and Encaps)", [kem, a] {
      Result<KemKeyPair> kp = kem.KeyPairFromSeed(Sequence(0, 64));
      if (!kp.has_value()) return kp.error().message();
      std::string d = Expect(Hash(Digest::kSha3_256, kp->public_key), H(a.pk_hash));
      if (!d.empty()) return "public key: " + d;
      Result<Encapsulation> e = kem.EncapsulateWith(kp->public_key, Sequence(64, 32));
      if (!e.has_value()) return e.error().message();
      d = Expect(Hash(Digest::kSha3_256, e->ciphertext), H(a.ct_hash));
      if (!d.empty()) return "ciphertext: " + d;
      return Expect(kem.Decapsulate(kp->secret_key, e->ciphertext), H(a.ss));
    });
  }
  struct DsaAnswer {
    MlDsaLevel level;
    const char *pk_hash, *sig_hash;
  };
  for (const DsaAnswer& a :
       {DsaAnswer{MlDsaLevel::k65,
                  "1800725067e388d837d911fe4f66101cc1961b1bb755030dc574272cfb00013f",
                  "aca293fb3a356ebecc83bf46ea65a202feb91351409bbe13c8bda0ee18e8a4c0"},
        DsaAnswer{MlDsaLevel::k87,
                  "e6cf50a9c2fa5234f59949ff61f8161db4d629532127f4aefa8bb10811ecfb1e",
                  "85e066d6f42686bee1c325fda827a01697c63447996578e79b6c7fee0196fa76"}}) {
    MlDsa dsa(a.level);
    checks.emplace_back(
        std::string(dsa.name()) + " (known answer, KeyGen and deterministic Sign)", [dsa, a] {
          Result<SignatureKeyPair> kp = dsa.KeyPairFromSeed(Sequence(0, 32));
          if (!kp.has_value()) return kp.error().message();
          std::string d = Expect(Hash(Digest::kSha3_256, kp->public_key), H(a.pk_hash));
          if (!d.empty()) return "public key: " + d;
          Result<Bytes> sig = dsa.SignWith(kp->secret_key, AsBytes("ferry"), {}, Bytes(32, 0));
          if (!sig.has_value()) return sig.error().message();
          return Expect(Hash(Digest::kSha3_256, *sig), H(a.sig_hash));
        });
  }
  for (MlKemLevel level : {MlKemLevel::k768, MlKemLevel::k1024}) {
    MlKem kem(level);
    checks.emplace_back(std::string(kem.name()) + " round trip and implicit rejection", [kem] {
      Result<KemKeyPair> kp = kem.GenerateKeyPair();
      if (!kp.has_value()) return kp.error().message();
      Result<Encapsulation> e = kem.Encapsulate(kp->public_key);
      if (!e.has_value()) return e.error().message();
      Result<SecretBytes> ss = kem.Decapsulate(kp->secret_key, e->ciphertext);
      if (!ss.has_value()) return ss.error().message();
      if (!ConstantTimeEqual(*ss, e->shared_secret))
        return std::string("decapsulated secret differs");
      e->ciphertext[5] ^= 0x10;
      Result<SecretBytes> wrong = kem.Decapsulate(kp->secret_key, e->ciphertext);
      if (!wrong.has_value() || ConstantTimeEqual(*wrong, e->shared_secret)) {
        return std::string("a tampered ciphertext gave the same secret");
      }
      return std::string();
    });
  }
  for (MlDsaLevel level : {MlDsaLevel::k65, MlDsaLevel::k87}) {
    MlDsa dsa(level);
    checks.emplace_back(
        std::string(dsa.name()) + " sign, verify, and reject a changed message", [dsa] {
          Result<SignatureKeyPair> kp = dsa.GenerateKeyPair();
          if (!kp.has_value()) return kp.error().message();
          const Bytes message = {'f', 'e', 'r', 'r', 'y'}, context = {'c'};
          Result<Bytes> sig = dsa.Sign(kp->secret_key, message, context);
          if (!sig.has_value()) return sig.error().message();
          Status ok = dsa.Verify(kp->public_key, message, *sig, context);
          if (!ok.ok()) return ok.message();
          if (dsa.Verify(kp->public_key, Bytes{'f', 'e', 'r', 'r', 'Y'}, *sig, context).ok()) {
            return std::string("a signature verified for another message");
          }
          if (dsa.Verify(kp->public_key, message, *sig, {}).ok()) {
            return std::string("a signature verified under another context");
          }
          return std::string();
        });
  }
  return checks;
}

}  // namespace

std::vector<SelfTestResult> RunSelfTests() {
  std::vector<SelfTestResult> results;
  for (auto& [name, check] : Checks()) {
    std::string detail = check();
    results.push_back({name, detail.empty(), std::move(detail)});
  }
  return results;
}

}  // namespace ferry::crypto
