// `ferry crypto info` and `ferry crypto selftest`: which implementations protect data, and
// whether they compute what the standards say (docs/crypto.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include "cli/commands.h"
#include "cli/sealed_files.h"
#include "crypto/key_migration.h"
#include "crypto/pq.h"
#include "crypto/sealed_export.h"
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

namespace fs = std::filesystem;

struct KeygenFlags {
  std::string out;
};
struct SealFlags {
  std::vector<std::string> to;
  std::string identity, out;
  std::vector<std::string> paths;
};
struct OpenFlags {
  std::string identity, in, out, signer;
};

Result<int> RunKeygen(CommandContext& context, const KeygenFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(crypto::Identity id, crypto::Identity::Generate());
  const std::string json = id.ToJson();
  // O_EXCL: never overwrite a key; 0600: only its owner reads it.
  const int fd = ::open(flags.out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Err(
        errno == EEXIST
            ? AlreadyExists(
                  "--out {} already exists; ferry never overwrites a key: choose another path",
                  flags.out)
            : InvalidArgument("--out {}: {}", flags.out, std::strerror(errno)));
  }
  const bool ok = ::write(fd, json.data(), json.size()) == static_cast<ssize_t>(json.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(flags.out.c_str());
    return Err(Internal("--out {}: could not write the key", flags.out));
  }
  if (context.json) {
    context.out << ordered_json{{"identity", flags.out},
                                {"fingerprint", id.pub.Fingerprint()},
                                {"recipient", id.pub.ToText()}}
                       .dump(2)
                << "\n";
  } else {
    context.err << "ferry: identity written to " << flags.out << " (mode 0600), fingerprint "
                << id.pub.Fingerprint() << "; its recipient, for --to, follows on stdout\n";
    context.out << id.pub.ToText() << "\n";
  }
  return kExitOk;
}

Result<int> RunSeal(CommandContext& context, const SealFlags& flags) {
  std::vector<crypto::PublicIdentity> recipients;
  for (const std::string& to : flags.to) {
    FERRY_ASSIGN_OR_RETURN(crypto::PublicIdentity r, LoadRecipient(context.env, to));
    recipients.push_back(std::move(r));
  }
  FERRY_ASSIGN_OR_RETURN(crypto::Identity signer, LoadIdentityFile(context.env, flags.identity));
  FERRY_ASSIGN_OR_RETURN(auto files, FilesToSeal(flags.paths));
  FERRY_ASSIGN_OR_RETURN(int64_t bytes, SealFiles(files, recipients, signer, flags.out));
  context.err << "ferry: sealed " << files.size() << " file(s) into " << flags.out << " (" << bytes
              << " bytes) for " << recipients.size() << " recipient(s), signed by "
              << signer.pub.Fingerprint() << "\n";
  return kExitOk;
}

Result<int> RunOpen(CommandContext& context, const OpenFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(crypto::Identity id, LoadIdentityFile(context.env, flags.identity));
  Result<crypto::ExportManifest> manifest = OpenExportInto(flags.in, id, flags.out, flags.signer);
  if (!manifest.has_value()) return Err(manifest.error());
  int64_t bytes = 0;
  for (const auto& e : manifest->entries) bytes += e.bytes;
  if (context.json) {
    ordered_json entries = ordered_json::array();
    for (const auto& e : manifest->entries)
      entries.push_back({{"name", e.name}, {"bytes", e.bytes}, {"sha256", e.sha256}});
    context.out << ordered_json{{"out", flags.out},
                                {"signer", manifest->signer_fingerprint},
                                {"entries", entries}}
                       .dump(2)
                << "\n";
  } else {
    context.out << "opened " << manifest->entries.size() << " file(s), " << bytes << " bytes, into "
                << flags.out << "; signed by " << manifest->signer_fingerprint
                << ", every chunk, checksum and signature verified\n";
  }
  return kExitOk;
}

struct KeysFlags {
  std::string module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string token, pin_env = "FERRY_PIN";
  std::string from_token, to_token, from_pin_env = "FERRY_FROM_PIN", to_pin_env = "FERRY_TO_PIN";
  std::vector<std::string> labels;
  std::string report, rollback;
};

Result<std::string> Pin(Env* env, const std::string& var, const std::string& token) {
  std::optional<std::string> pin = env->GetEnvVar(var);
  if (!pin || pin->empty()) {
    return Err(InvalidArgument(
        "token \"{}\": its user PIN is read from ${} (never from the command line, where "
        "other users see it); set it, or name another variable",
        token, var));
  }
  return *pin;
}

Result<int> RunKeysList(CommandContext& context, const KeysFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(std::shared_ptr<crypto::Pkcs11Module> module,
                         crypto::Pkcs11Module::Load(flags.module));
  FERRY_ASSIGN_OR_RETURN(std::string pin, Pin(context.env, flags.pin_env, flags.token));
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<crypto::Pkcs11Session> session,
                         module->Open(flags.token, pin));
  FERRY_ASSIGN_OR_RETURN(std::vector<crypto::TokenKey> keys, session->Keys());
  if (context.json) {
    ordered_json list = ordered_json::array();
    for (const auto& k : keys) {
      list.push_back({{"class", k.object_class},
                      {"type", k.key_type},
                      {"label", k.label},
                      {"id", k.id},
                      {"bits", k.bits},
                      {"extractable", k.extractable},
                      {"sensitive", k.sensitive}});
    }
    context.out << list.dump(2) << "\n";
    return kExitOk;
  }
  context.out << fmt::format("{:<8} {:<6} {:>5}  {:<11} {:<10} {}\n", "class", "type", "bits",
                             "extractable", "id", "label");
  for (const auto& k : keys) {
    context.out << fmt::format("{:<8} {:<6} {:>5}  {:<11} {:<10} {}\n", k.object_class, k.key_type,
                               k.bits, k.extractable ? "yes" : "no", k.id, k.label);
  }
  return kExitOk;
}

Result<int> RunKeysMigrate(CommandContext& context, const KeysFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(std::shared_ptr<crypto::Pkcs11Module> module,
                         crypto::Pkcs11Module::Load(flags.module));
  FERRY_ASSIGN_OR_RETURN(std::string to_pin, Pin(context.env, flags.to_pin_env, flags.to_token));
  if (!flags.rollback.empty()) {
    // A rollback reads the report of an earlier run and removes from the target what it moved.
    FERRY_ASSIGN_OR_RETURN(std::string text, context.env->ReadFile(flags.rollback));
    const nlohmann::json r = nlohmann::json::parse(text, nullptr, false);
    if (!r.is_object() || !r.contains("keys"))
      return Err(InvalidArgument("--rollback {}: not a key migration report", flags.rollback));
    crypto::KeyMigrationReport report;
    for (const auto& k : r["keys"]) {
      crypto::KeyMigrationOutcome o;
      o.before.label = k.value("label", "");
      o.before.id = k.value("id", "");
      o.status = k.value("status", "");
      report.keys.push_back(o);
    }
    FERRY_ASSIGN_OR_RETURN(std::unique_ptr<crypto::Pkcs11Session> target,
                           module->Open(flags.to_token, to_pin));
    FERRY_RETURN_IF_ERROR(crypto::RollBackKeyMigration(*target, report));
    context.err << "ferry: rolled back the keys " << flags.rollback
                << " lists as moved, from token \"" << flags.to_token << "\"\n";
    return kExitOk;
  }
  FERRY_ASSIGN_OR_RETURN(std::string from_pin,
                         Pin(context.env, flags.from_pin_env, flags.from_token));
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<crypto::Pkcs11Session> source,
                         module->Open(flags.from_token, from_pin));
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<crypto::Pkcs11Session> target,
                         module->Open(flags.to_token, to_pin));
  FERRY_ASSIGN_OR_RETURN(crypto::KeyMigrationReport report,
                         crypto::MigrateKeys(*source, *target, flags.labels));
  const std::string json = report.ToJson() + "\n";
  if (!flags.report.empty())
    FERRY_RETURN_IF_ERROR(context.env->WriteFileAtomic(flags.report, json));
  if (context.json) {
    context.out << json;
  } else {
    for (const auto& o : report.keys) {
      context.out << fmt::format("{:<14} {:<7} {:<4} {:<20} {}\n", o.status, o.before.object_class,
                                 o.before.key_type, o.before.label,
                                 o.status == "not moved" ? o.reason : o.proof);
    }
    context.out << fmt::format("{} moved, {} already there, {} not moved{}\n", report.moved,
                               report.already, report.not_moved,
                               flags.report.empty() ? "" : "; report: " + flags.report);
  }
  return report.not_moved > 0 ? kExitCheckFailed : kExitOk;
}
}  // namespace

std::vector<CommandSpec> CryptoCommands() {
  auto keygen = std::make_shared<KeygenFlags>();
  auto seal = std::make_shared<SealFlags>();
  auto open = std::make_shared<OpenFlags>();
  auto keys = std::make_shared<KeysFlags>();
  const std::string keys_group =
      "Keys in HSMs (PKCS#11): list them, and migrate them token to token";
  auto module_option = [keys](CLI::App& app) {
    app.add_option("--module", keys->module, "The PKCS#11 module (default SoftHSM2's)");
  };
  const std::string group = "Cryptography: algorithms, identities, and encrypted, signed exports";
  return {
      {.path = {"crypto", "keygen"},
       .group_help = group,
       .help = "Make an identity (X-Wing, ML-DSA-65 and Ed25519 keys) in a new file; print its "
               "recipient",
       .add_options =
           [keygen](CLI::App& app) {
             app.add_option("--out", keygen->out, "The identity file to create (mode 0600)")
                 ->required();
           },
       .run = [keygen](CommandContext& c) { return RunKeygen(c, *keygen); }},
      {.path = {"crypto", "seal"},
       .group_help = group,
       .help = "Encrypt files or directories to recipients in one signed export (X-Wing, "
               "AES-256-GCM, zstd)",
       .add_options =
           [seal](CLI::App& app) {
             app.add_option("--to", seal->to,
                            "A recipient (its text, or a file holding it); repeat for more")
                 ->required();
             app.add_option("--identity", seal->identity, "Your identity file: signs the export")
                 ->required();
             app.add_option("--out", seal->out, "The export to create")->required();
             app.add_option("paths", seal->paths, "Files and directories to seal")->required();
           },
       .run = [seal](CommandContext& c) { return RunSeal(c, *seal); }},
      {.path = {"crypto", "open"},
       .group_help = group,
       .help =
           "Verify and decrypt an export into a new directory; nothing is left if any check fails",
       .add_options =
           [open](CLI::App& app) {
             app.add_option("--identity", open->identity, "An identity the export is encrypted to")
                 ->required();
             app.add_option("--in", open->in, "The export")->required();
             app.add_option("--out", open->out, "The directory to create")->required();
             app.add_option("--signer", open->signer,
                            "Refuse exports not signed by this fingerprint");
           },
       .run = [open](CommandContext& c) { return RunOpen(c, *open); }},
      {.path = {"keys", "list"},
       .group_help = keys_group,
       .help = "List a token's keys with their attributes",
       .add_options =
           [keys, module_option](CLI::App& app) {
             module_option(app);
             app.add_option("--token", keys->token, "The token's label")->required();
             app.add_option("--pin-env", keys->pin_env,
                            "The variable holding its user PIN (FERRY_PIN)");
           },
       .run = [keys](CommandContext& c) { return RunKeysList(c, *keys); }},
      {.path = {"keys", "migrate"},
       .group_help = keys_group,
       .help = "Move keys from one token to another wrapped, never in clear, and prove each; exit "
               "1 if some "
               "could not move",
       .add_options =
           [keys, module_option](CLI::App& app) {
             module_option(app);
             app.add_option("--from-token", keys->from_token, "The source token's label");
             app.add_option("--to-token", keys->to_token, "The target token's label")->required();
             app.add_option("--from-pin-env", keys->from_pin_env,
                            "The variable holding the source PIN (FERRY_FROM_PIN)");
             app.add_option("--to-pin-env", keys->to_pin_env,
                            "The variable holding the target PIN (FERRY_TO_PIN)");
             app.add_option("--label", keys->labels,
                            "Only keys with this label (repeatable; default all)");
             app.add_option("--report", keys->report, "Write the migration report (JSON) here");
             app.add_option("--rollback", keys->rollback,
                            "Remove from the target what this earlier report moved");
           },
       .run = [keys](CommandContext& c) -> Result<int> {
         if (keys->rollback.empty() && keys->from_token.empty()) {
           return Err(
               InvalidArgument("ferry keys migrate needs --from-token (or --rollback REPORT)"));
         }
         return RunKeysMigrate(c, *keys);
       }},
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
