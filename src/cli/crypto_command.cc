// `ferry crypto info` and `ferry crypto selftest`: which implementations protect data, and
// whether they compute what the standards say (docs/crypto.md).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include "cli/commands.h"
#include "crypto/pq.h"
#include "crypto/selftest.h"
#include "crypto/xwing.h"

namespace ferry {
namespace {

using nlohmann::ordered_json;

Result<int> RunInfo(CommandContext& context) {
  const crypto::MlKem k768(crypto::MlKemLevel::k768), k1024(crypto::MlKemLevel::k1024);
  const crypto::MlDsa d65(crypto::MlDsaLevel::k65), d87(crypto::MlDsaLevel::k87);
  ordered_json doc = {
      {"post_quantum_backend", crypto::PqBackend()},
      {"classical_backend", OpenSSL_version(OPENSSL_VERSION)},
      {"kem",
       {{{"name", k768.name()},
         {"standard", "FIPS 203"},
         {"public_key", k768.sizes().public_key},
         {"ciphertext", k768.sizes().ciphertext}},
        {{"name", k1024.name()},
         {"standard", "FIPS 203"},
         {"public_key", k1024.sizes().public_key},
         {"ciphertext", k1024.sizes().ciphertext}},
        {{"name", "X-Wing"},
         {"standard", "draft-connolly-cfrg-xwing-kem-10 (X25519 + ML-KEM-768)"},
         {"public_key", crypto::XWing::kPublicKey},
         {"ciphertext", crypto::XWing::kCiphertext}}}},
      {"signature",
       {{{"name", d65.name()},
         {"standard", "FIPS 204"},
         {"public_key", d65.sizes().public_key},
         {"signature", d65.sizes().signature}},
        {{"name", d87.name()},
         {"standard", "FIPS 204"},
         {"public_key", d87.sizes().public_key},
         {"signature", d87.sizes().signature}},
        {{"name", "Ed25519"}, {"standard", "RFC 8032"}, {"public_key", 32}, {"signature", 64}}}},
      {"symmetric",
       {"AES-256-GCM", "HKDF-SHA-256", "HKDF-SHA-512", "AES key wrap (RFC 3394, RFC 5649)",
        "SHA-256", "SHA-512", "SHA3-256"}},
  };
  if (context.json) {
    context.out << doc.dump(2) << "\n";
    return kExitOk;
  }
  context.out << "post-quantum: " << crypto::PqBackend() << "\n"
              << "classical:    " << OpenSSL_version(OPENSSL_VERSION) << "\n\n";
  context.out << fmt::format("{:<12} {:<10} {:>11} {:>21}\n", "algorithm", "standard", "public key",
                             "ciphertext/signature");
  for (const ordered_json& k : doc["kem"]) {
    const std::string standard = k["standard"].get<std::string>().substr(0, 9);
    context.out << fmt::format("{:<12} {:<10} {:>11} {:>21}\n", k["name"].get<std::string>(),
                               standard == "draft-con" ? "draft" : standard,
                               k["public_key"].get<int>(), k["ciphertext"].get<int>());
  }
  for (const ordered_json& s : doc["signature"]) {
    context.out << fmt::format("{:<12} {:<10} {:>11} {:>21}\n", s["name"].get<std::string>(),
                               s["standard"].get<std::string>(), s["public_key"].get<int>(),
                               s["signature"].get<int>());
  }
  context.out << "\nsymmetric: " << fmt::format("{}", fmt::join(doc["symmetric"], ", ")) << "\n";
  return kExitOk;
}

Result<int> RunSelfTest(CommandContext& context) {
  const std::vector<crypto::SelfTestResult> results = crypto::RunSelfTests();
  int failed = 0;
  ordered_json doc = ordered_json::array();
  for (const crypto::SelfTestResult& r : results) {
    if (!r.passed) ++failed;
    doc.push_back({{"test", r.name}, {"passed", r.passed}, {"detail", r.detail}});
    if (!context.json) {
      context.out << (r.passed ? "ok    " : "FAIL  ") << r.name << (r.passed ? "" : ": " + r.detail)
                  << "\n";
    }
  }
  if (context.json) {
    context.out << ordered_json{{"passed", static_cast<int>(results.size()) - failed},
                                {"failed", failed},
                                {"tests", doc}}
                       .dump(2)
                << "\n";
  } else {
    context.out << fmt::format("{} of {} known-answer tests passed ({})\n",
                               results.size() - static_cast<size_t>(failed), results.size(),
                               crypto::PqBackend());
  }
  if (failed > 0) {
    context.err << "ferry: crypto selftest: " << failed
                << " test(s) failed: this build must not protect data; rebuild with "
                   "./setup.sh build and report the failure\n";
    return kExitCheckFailed;
  }
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> CryptoCommands() {
  const std::string group = "Cryptography: the algorithms in use and their known-answer tests";
  return {
      {.path = {"crypto", "info"},
       .group_help = group,
       .help = "Show which implementations ferry uses (PQClean, OpenSSL) and the algorithms' sizes",
       .add_options = [](CLI::App&) {},
       .run = RunInfo},
      {.path = {"crypto", "selftest"},
       .group_help = group,
       .help = "Run the known-answer tests of every algorithm; exit 1 if any fails",
       .add_options = [](CLI::App&) {},
       .run = RunSelfTest},
  };
}

}  // namespace ferry
