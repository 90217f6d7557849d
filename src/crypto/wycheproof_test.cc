// Every vector in ../shared/data/vectors/wycheproof, against ferry's crypto module.
//
// A vector passes when ferry does what its `result` says: a valid one gives exactly the expected
// output (and its inverse gives the input back), an invalid one is refused, an acceptable one is
// either refused or gives the expected output. ML-DSA vectors with only a mu are signed from that
// mu (MlDsa::SignMuWith); those with a message and a mu are signed both ways. Any vector not run
// would be counted and named by reason; the test fails if any vector runs and does not pass.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/classical.h"
#include "crypto/pq.h"

namespace ferry::crypto {
namespace {

using nlohmann::json;

const std::filesystem::path kDir =
    std::filesystem::path(FERRY_SOURCE_DIR) / ".." / "shared" / "data" / "vectors" / "wycheproof";

Bytes H(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return {};
  return FromHex(j.at(key).get<std::string>()).value();
}

struct Tally {
  int passed = 0;
  std::map<std::string, int> skipped;  // reason -> count
  std::vector<std::string> failures;
};

// What the vector expects: "valid", "invalid" or "acceptable".
enum class Want { kValid, kInvalid, kAcceptable };
Want WantOf(const json& t) {
  const std::string r = t.at("result");
  return r == "valid" ? Want::kValid : r == "invalid" ? Want::kInvalid : Want::kAcceptable;
}

// Records a vector's outcome: `ok` whether ferry accepted, `matches` whether its output is the
// expected one (ignored when it refused).
void Judge(Tally* tally, const json& t, bool ok, bool matches, const std::string& error) {
  const Want want = WantOf(t);
  bool pass;
  if (want == Want::kValid) {
    pass = ok && matches;
  } else if (want == Want::kInvalid) {
    pass = !ok;
  } else {
    pass = !ok || matches;
  }
  if (pass) {
    ++tally->passed;
  } else {
    tally->failures.push_back(fmt::format(
        "tcId {} ({}, {}): {}", t.at("tcId").get<int>(), t.value("comment", ""),
        t.at("result").get<std::string>(),
        ok ? (matches ? "accepted" : "accepted with a different output") : "refused: " + error));
  }
}

template <typename T>
std::string ErrorOf(const Result<T>& r) {
  return r.has_value() ? "" : r.error().message();
}
bool Same(ByteView a, ByteView b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

using Runner = void (*)(const json& file, Tally* tally);

void AesGcm(const json& file, Tally* tally) {
  for (const json& g : file.at("testGroups")) {
    const size_t tag_size = g.at("tagSize").get<size_t>() / 8;
    for (const json& t : g.at("tests")) {
      const Bytes key = H(t, "key"), iv = H(t, "iv"), aad = H(t, "aad"), msg = H(t, "msg");
      const Bytes sealed = Concat({H(t, "ct"), H(t, "tag")});
      Result<Bytes> opened = AesGcmOpen(key, iv, aad, sealed, tag_size);
      bool matches = opened.has_value() && *opened == msg;
      if (WantOf(t) == Want::kValid) {
        Result<Bytes> sealed_again = AesGcmSeal(key, iv, aad, msg, tag_size);
        matches = matches && sealed_again.has_value() && *sealed_again == sealed;
      }
      Judge(tally, t, opened.has_value(), matches, ErrorOf(opened));
    }
  }
}

void AesWrap(const json& file, Tally* tally, bool pad) {
  for (const json& g : file.at("testGroups")) {
    for (const json& t : g.at("tests")) {
      const Bytes kek = H(t, "key"), msg = H(t, "msg"), ct = H(t, "ct");
      Result<SecretBytes> unwrapped = pad ? AesKeyUnwrapPad(kek, ct) : AesKeyUnwrap(kek, ct);
      bool matches = unwrapped.has_value() && Same(*unwrapped, msg);
      if (unwrapped.has_value()) {
        Result<Bytes> wrapped = pad ? AesKeyWrapPad(kek, msg) : AesKeyWrap(kek, msg);
        matches = matches && wrapped.has_value() && *wrapped == ct;
      }
      Judge(tally, t, unwrapped.has_value(), matches, ErrorOf(unwrapped));
    }
  }
}
void AesKw(const json& f, Tally* t) { AesWrap(f, t, false); }
void AesKwp(const json& f, Tally* t) { AesWrap(f, t, true); }

void Ed25519(const json& file, Tally* tally) {
  for (const json& g : file.at("testGroups")) {
    const Bytes pk = H(g.at("publicKey"), "pk");
    for (const json& t : g.at("tests")) {
      Status s = Ed25519Verify(pk, H(t, "msg"), H(t, "sig"));
      Judge(tally, t, s.ok(), true, s.message());
    }
  }
}

void HkdfSha256(const json& file, Tally* tally) {
  for (const json& g : file.at("testGroups")) {
    for (const json& t : g.at("tests")) {
      Result<SecretBytes> okm = Hkdf(Digest::kSha256, H(t, "ikm"), H(t, "salt"), H(t, "info"),
                                     t.at("size").get<size_t>());
      Judge(tally, t, okm.has_value(), okm.has_value() && Same(*okm, H(t, "okm")), ErrorOf(okm));
    }
  }
}

void X25519Vectors(const json& file, Tally* tally) {
  for (const json& g : file.at("testGroups")) {
    for (const json& t : g.at("tests")) {
      Result<SecretBytes> shared = X25519(H(t, "private"), H(t, "public"));
      Judge(tally, t, shared.has_value(), shared.has_value() && Same(*shared, H(t, "shared")),
            ErrorOf(shared));
    }
  }
}

MlKem KemOf(const json& g) {
  return MlKem(g.at("parameterSet") == "ML-KEM-1024" ? MlKemLevel::k1024 : MlKemLevel::k768);
}

// MLKEMTest: KeyGen from seed gives ek; Decaps(dk, c) gives K.
void MlKemTest(const json& file, Tally* tally) {
  for (const json& g : file.at("testGroups")) {
    const MlKem kem = KemOf(g);
    for (const json& t : g.at("tests")) {
      Result<KemKeyPair> kp = kem.KeyPairFromSeed(H(t, "seed"));
      if (!kp.has_value()) {
        Judge(tally, t, false, false, kp.error().message());
        continue;
      }
      Result<SecretBytes> k = kem.Decapsulate(kp->secret_key, H(t, "c"));
      Judge(tally, t, k.has_value(),
            kp->public_key == H(t, "ek") && k.has_value() && Same(*k, H(t, "K")), ErrorOf(k));
    }
  }
}

void MlKemEncaps(const json& file, Tally* tally) {
  for (const json& g : file.at("testGroups")) {
    const MlKem kem = KemOf(g);
    for (const json& t : g.at("tests")) {
      Result<Encapsulation> e = kem.EncapsulateWith(H(t, "ek"), H(t, "m"));
      Judge(tally, t, e.has_value(),
            e.has_value() && e->ciphertext == H(t, "c") && Same(e->shared_secret, H(t, "K")),
            ErrorOf(e));
    }
  }
}

void MlKemKeygen(const json& file, Tally* tally) {
  for (const json& g : file.at("testGroups")) {
    const MlKem kem = KemOf(g);
    for (const json& t : g.at("tests")) {
      Result<KemKeyPair> kp = kem.KeyPairFromSeed(H(t, "seed"));
      Judge(tally, t, kp.has_value(),
            kp.has_value() && kp->public_key == H(t, "ek") && Same(kp->secret_key, H(t, "dk")),
            ErrorOf(kp));
    }
  }
}

void MlKemDecaps(const json& file, Tally* tally) {
  for (const json& g : file.at("testGroups")) {
    const MlKem kem = KemOf(g);
    for (const json& t : g.at("tests")) {
      Result<SecretBytes> k = kem.Decapsulate(H(t, "dk"), H(t, "c"));
      Judge(tally, t, k.has_value(), k.has_value() && Same(*k, H(t, "K")), ErrorOf(k));
    }
  }
}

MlDsa DsaOf(const json& file) {
  return MlDsa(file.at("algorithm") == "ML-DSA-87" ? MlDsaLevel::k87 : MlDsaLevel::k65);
}

// MlDsaSign with a seed (sign_seed) or an expanded private key (sign_noseed).
void MlDsaSign(const json& file, Tally* tally) {
  const MlDsa dsa = DsaOf(file);
  for (const json& g : file.at("testGroups")) {
    Bytes sk;
    std::string key_error;
    const Bytes pk = H(g, "publicKey");
    if (g.contains("privateSeed")) {
      Result<SignatureKeyPair> kp = dsa.KeyPairFromSeed(H(g, "privateSeed"));
      if (kp.has_value()) {
        if (kp->public_key != pk) key_error = "the seed gives another public key";
        sk.assign(kp->secret_key.view().begin(), kp->secret_key.view().end());
      } else {
        key_error = kp.error().message();
      }
    } else {
      sk = H(g, "privateKey");
    }
    for (const json& t : g.at("tests")) {
      if (!key_error.empty()) {
        Judge(tally, t, false, false, key_error);
        continue;
      }
      Bytes rnd = t.contains("rnd") ? H(t, "rnd") : Bytes(32, 0);
      if (!t.contains("msg")) {  // signing from an externally computed mu
        Result<Bytes> from_mu = dsa.SignMuWith(sk, H(t, "mu"), rnd);
        Judge(tally, t, from_mu.has_value(), from_mu.has_value() && *from_mu == H(t, "sig"),
              ErrorOf(from_mu));
        continue;
      }
      if (t.contains("mu") && WantOf(t) == Want::kValid) {  // the same signature from its mu
        Result<Bytes> from_mu = dsa.SignMuWith(sk, H(t, "mu"), rnd);
        if (!from_mu.has_value() || *from_mu != H(t, "sig")) {
          tally->failures.push_back(fmt::format(
              "tcId {}: signing from its mu gives another signature", t.at("tcId").get<int>()));
          continue;
        }
      }
      Result<Bytes> sig = dsa.SignWith(sk, H(t, "msg"), H(t, "ctx"), rnd);
      bool matches = sig.has_value() && *sig == H(t, "sig");
      if (matches) matches = dsa.Verify(pk, H(t, "msg"), *sig, H(t, "ctx")).ok();
      Judge(tally, t, sig.has_value(), matches, ErrorOf(sig));
    }
  }
}

void MlDsaVerify(const json& file, Tally* tally) {
  const MlDsa dsa = DsaOf(file);
  for (const json& g : file.at("testGroups")) {
    const Bytes pk = H(g, "publicKey");
    for (const json& t : g.at("tests")) {
      Status s = dsa.Verify(pk, H(t, "msg"), H(t, "sig"), H(t, "ctx"));
      Judge(tally, t, s.ok(), true, s.message());
    }
  }
}

struct VectorFile {
  const char* name;
  Runner run;
};

const VectorFile kFiles[] = {
    {"aes_gcm_test.json", AesGcm},
    {"aes_wrap_test.json", AesKw},
    {"aes_kwp_test.json", AesKwp},
    {"ed25519_test.json", Ed25519},
    {"hkdf_sha256_test.json", HkdfSha256},
    {"x25519_test.json", X25519Vectors},
    {"mlkem_768_test.json", MlKemTest},
    {"mlkem_1024_test.json", MlKemTest},
    {"mlkem_768_encaps_test.json", MlKemEncaps},
    {"mlkem_1024_encaps_test.json", MlKemEncaps},
    {"mlkem_768_keygen_seed_test.json", MlKemKeygen},
    {"mlkem_1024_keygen_seed_test.json", MlKemKeygen},
    {"mlkem_768_semi_expanded_decaps_test.json", MlKemDecaps},
    {"mlkem_1024_semi_expanded_decaps_test.json", MlKemDecaps},
    {"mldsa_65_sign_seed_test.json", MlDsaSign},
    {"mldsa_87_sign_seed_test.json", MlDsaSign},
    {"mldsa_65_sign_noseed_test.json", MlDsaSign},
    {"mldsa_65_verify_test.json", MlDsaVerify},
    {"mldsa_87_verify_test.json", MlDsaVerify},
};

class WycheproofTest : public ::testing::TestWithParam<VectorFile> {};

TEST_P(WycheproofTest, EveryVectorPasses) {
  const std::filesystem::path path = kDir / GetParam().name;
  if (!std::filesystem::exists(kDir)) {
    GTEST_SKIP() << "the Wycheproof vectors are not here (" << kDir.string()
                 << "): they come with the shared data beside the repository";
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing from the shared vectors";
  std::ifstream in(path);
  const json file = json::parse(in);
  Tally tally;
  GetParam().run(file, &tally);
  int total = 0;
  for (const json& g : file.at("testGroups")) total += static_cast<int>(g.at("tests").size());
  int skipped = 0;
  for (const auto& [reason, n] : tally.skipped) {
    skipped += n;
    std::cout << "  " << GetParam().name << ": " << n << " not run: " << reason << "\n";
  }
  std::cout << "  " << GetParam().name << ": " << tally.passed << " of " << total << " passed\n";
  EXPECT_EQ(tally.passed + skipped + static_cast<int>(tally.failures.size()), total);
  EXPECT_GT(tally.passed, 0);
  EXPECT_EQ(file.at("numberOfTests").get<int>(), total);
  for (const std::string& f : tally.failures) ADD_FAILURE() << GetParam().name << " " << f;
}

INSTANTIATE_TEST_SUITE_P(Files, WycheproofTest, ::testing::ValuesIn(kFiles),
                         [](const auto& param_info) {
                           std::string name = param_info.param.name;
                           name = name.substr(0, name.find(".json"));
                           return name;
                         });

}  // namespace
}  // namespace ferry::crypto
