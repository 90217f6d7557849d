// ferry's ML-KEM, ML-DSA and X-Wing (PQClean underneath) against an independent
// implementation, @noble/post-quantum run by Node.js (test/node/pqc_crosscheck.mjs): random
// seeds, messages and contexts, the same inputs on both sides, every output compared byte for
// byte, and each side accepting the other's ciphertexts and signatures.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/pq.h"
#include "crypto/xwing.h"

namespace ferry::crypto {
namespace {

using nlohmann::json;

Bytes RandomBytes(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  for (uint8_t& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

std::string Hx(ByteView b) { return Hex(b); }

// Runs the script on `cases`; its JSON output, or why it could not run.
Result<json> RunNoble(const json& cases, std::string* skip_reason) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / fmt::format("ferry-pqc-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const std::string in = (dir / "cases.json").string(), out = (dir / "noble.json").string(),
                    err = (dir / "noble.err").string();
  std::ofstream(in) << cases.dump();
  const std::string script = std::string(FERRY_SOURCE_DIR) + "/test/node/pqc_crosscheck.mjs";
  const std::string command = fmt::format("node '{}' < '{}' > '{}' 2> '{}'", script, in, out, err);
  const int status = std::system(command.c_str());
  std::stringstream err_text;
  err_text << std::ifstream(err).rdbuf();
  std::stringstream out_text;
  out_text << std::ifstream(out).rdbuf();
  std::filesystem::remove_all(dir);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 127 || code == 3) {
    *skip_reason = code == 127 ? "node is not on PATH" : err_text.str();
    return json();
  }
  if (code != 0) return Err(Internal("pqc_crosscheck.mjs exit {}: {}", code, err_text.str()));
  return json::parse(out_text.str());
}

TEST(CrossCheckTest, FerryAndNobleAgreeByteForByte) {
  std::mt19937_64 rng(std::random_device{}());
  json cases = {{"mlkem", json::array()}, {"mldsa", json::array()}, {"xwing", json::array()}};
  struct Kem {
    int level;
    Bytes seed, m, pk, sk, ct, ss;
  };
  std::vector<Kem> kems;
  for (int i = 0; i < 16; ++i) {
    const MlKem kem(i % 2 == 0 ? MlKemLevel::k768 : MlKemLevel::k1024);
    Kem k{i % 2 == 0 ? 768 : 1024, RandomBytes(rng, 64), RandomBytes(rng, 32), {}, {}, {}, {}};
    KemKeyPair kp = kem.KeyPairFromSeed(k.seed).value();
    Encapsulation e = kem.EncapsulateWith(kp.public_key, k.m).value();
    k.pk = kp.public_key;
    k.sk.assign(kp.secret_key.view().begin(), kp.secret_key.view().end());
    // ferry decapsulates its own ciphertext; noble decapsulates a fresh, random one of ferry's.
    k.ct = kem.Encapsulate(kp.public_key).value().ciphertext;
    k.ss.assign(e.shared_secret.view().begin(), e.shared_secret.view().end());
    cases["mlkem"].push_back(
        {{"level", k.level}, {"seed", Hx(k.seed)}, {"m", Hx(k.m)}, {"ct", Hx(k.ct)}});
    kems.push_back(std::move(k));
  }
  struct Dsa {
    int level;
    Bytes seed, msg, ctx, rnd, pk, sig;
  };
  std::vector<Dsa> dsas;
  for (int i = 0; i < 8; ++i) {
    const MlDsa dsa(i % 2 == 0 ? MlDsaLevel::k65 : MlDsaLevel::k87);
    Dsa d{i % 2 == 0 ? 65 : 87,
          RandomBytes(rng, 32),
          RandomBytes(rng, rng() % 300),
          RandomBytes(rng, i < 4 ? 0 : rng() % 256),
          i % 3 == 0 ? Bytes(32, 0) : RandomBytes(rng, 32),
          {},
          {}};
    SignatureKeyPair kp = dsa.KeyPairFromSeed(d.seed).value();
    d.pk = kp.public_key;
    d.sig = dsa.SignWith(kp.secret_key, d.msg, d.ctx, d.rnd).value();
    cases["mldsa"].push_back({{"level", d.level},
                              {"seed", Hx(d.seed)},
                              {"msg", Hx(d.msg)},
                              {"ctx", Hx(d.ctx)},
                              {"rnd", Hx(d.rnd)},
                              {"sig", Hx(d.sig)}});
    dsas.push_back(std::move(d));
  }
  std::vector<std::pair<Bytes, Encapsulation>> xwings;
  std::vector<Bytes> xwing_pks;
  for (int i = 0; i < 6; ++i) {
    Bytes seed = RandomBytes(rng, 32), eseed = RandomBytes(rng, 64);
    KemKeyPair kp = XWing::KeyPairFromSeed(seed).value();
    xwing_pks.push_back(kp.public_key);
    xwings.emplace_back(seed, XWing::EncapsulateWith(kp.public_key, eseed).value());
    cases["xwing"].push_back({{"seed", Hx(seed)}, {"eseed", Hx(eseed)}});
  }

  std::string skip;
  Result<json> noble = RunNoble(cases, &skip);
  if (!skip.empty()) {
    GTEST_SKIP() << "the independent implementation cannot run (" << skip
                 << "): `./setup.sh test` installs Node.js and @noble/post-quantum (test/node)";
  }
  ASSERT_TRUE(noble.has_value()) << noble.error().ToString();

  ASSERT_EQ((*noble)["mlkem"].size(), kems.size());
  for (size_t i = 0; i < kems.size(); ++i) {
    const json& n = (*noble)["mlkem"][i];
    const Kem& k = kems[i];
    SCOPED_TRACE(fmt::format("ML-KEM-{} case {}", k.level, i));
    EXPECT_EQ(n["pk"], Hx(k.pk));
    EXPECT_EQ(n["sk"], Hx(k.sk));
    EXPECT_EQ(n["ss"], Hx(k.ss));
    const MlKem kem(k.level == 768 ? MlKemLevel::k768 : MlKemLevel::k1024);
    // noble's ciphertext decapsulated by ferry, ferry's by noble: the same secrets.
    EXPECT_EQ(Hx(kem.Decapsulate(k.sk, FromHex(n["ct"].get<std::string>()).value()).value()),
              n["ss"]);
    EXPECT_EQ(n["ss_of_ct"], Hx(kem.Decapsulate(k.sk, k.ct).value()));
  }
  ASSERT_EQ((*noble)["mldsa"].size(), dsas.size());
  for (size_t i = 0; i < dsas.size(); ++i) {
    const json& n = (*noble)["mldsa"][i];
    const Dsa& d = dsas[i];
    SCOPED_TRACE(fmt::format("ML-DSA-{} case {} ({}-byte message, {}-byte context)", d.level, i,
                             d.msg.size(), d.ctx.size()));
    EXPECT_EQ(n["pk"], Hx(d.pk));
    EXPECT_EQ(n["sig"], Hx(d.sig));
    EXPECT_EQ(n["verifies"], true);
    const MlDsa dsa(d.level == 65 ? MlDsaLevel::k65 : MlDsaLevel::k87);
    EXPECT_TRUE(dsa.Verify(d.pk, d.msg, FromHex(n["sig"].get<std::string>()).value(), d.ctx).ok());
  }
  ASSERT_EQ((*noble)["xwing"].size(), xwings.size());
  for (size_t i = 0; i < xwings.size(); ++i) {
    const json& n = (*noble)["xwing"][i];
    SCOPED_TRACE(fmt::format("X-Wing case {}", i));
    EXPECT_EQ(n["pk"], Hx(xwing_pks[i]));
    EXPECT_EQ(n["ct"], Hx(xwings[i].second.ciphertext));
    EXPECT_EQ(n["ss"], Hx(xwings[i].second.shared_secret));
  }
}

}  // namespace
}  // namespace ferry::crypto
