// `ferry secrets put|get|list|delete` and `ferry keys init|status|rotate|policy`: ferry's own
// envelope encryption (src/keyring; docs/crypto.md "Keys and secrets").
#include <iostream>
#include <iterator>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/json.h"
#include "cli/commands.h"
#include "keyring/keyring.h"
#include "store/store.h"

namespace ferry {
namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000;

struct KeyringFlags {
  std::string kek_dir;    // --kek-dir, else $FERRY_KEK_DIR
  std::string kek_token;  // --kek-token: new KEK versions go on this token
  std::string module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string pin_env = "FERRY_PIN";
  // secrets
  std::string name, from_file;
  // keys rotate
  bool kek = false, due = false;
  std::string dek;
  // keys policy set
  std::string key, policy_file;
  int64_t rotate_after = -1, expire_after = -1, destroy_after = -1;
};

void AddKekOptions(CLI::App& app, KeyringFlags& f) {
  app.add_option("--kek-dir", f.kek_dir,
                 "Directory of the KEK files (kek-vN.key, mode 0600) [env FERRY_KEK_DIR]");
  app.add_option("--kek-token", f.kek_token,
                 "Label of a PKCS#11 token to make new KEK versions on (AES-256, never leaves it)");
  app.add_option("--module", f.module, "The PKCS#11 module (default SoftHSM2's)");
  app.add_option("--pin-env", f.pin_env,
                 "Environment variable holding the token's user PIN (default FERRY_PIN)");
}

std::string Actor(Env* env) {
  std::optional<std::string> user = env->GetEnvVar("USER");
  return fmt::format("cli:{}", user && !user->empty() ? *user : "unknown");
}

// A store and a keyring over it with the KEK providers the flags and the store's KEK rows call
// for: the key directory always; a token given by --kek-token; and the token of every KEK
// version in the store on one (PIN from --pin-env).
struct OpenKeyring {
  std::unique_ptr<Store> store;
  std::vector<std::unique_ptr<keyring::KekProvider>> providers;
  std::unique_ptr<keyring::Keyring> keyring;
};

Result<OpenKeyring> Open(CommandContext& context, KeyringFlags& f) {
  OpenKeyring open;
  FERRY_ASSIGN_OR_RETURN(open.store, Store::Open(context.store_url, {.env = context.env}));
  const bool dir_given = !f.kek_dir.empty();
  if (f.kek_dir.empty()) f.kek_dir = context.env->GetEnvVar("FERRY_KEK_DIR").value_or("");
  FERRY_ASSIGN_OR_RETURN(KeyringRows rows, open.store->ReadKeyring());
  if (f.kek_dir.empty()) {
    // The store remembers where its newest key file is: new versions go beside it.
    for (const KekRecord& kek : rows.keks) {
      const Json locator = Json::parse(kek.locator, nullptr, false);
      if (kek.backend != "file" || kek.state == "destroyed" || !locator.is_object()) continue;
      const std::string path = locator.value("path", "");
      if (path.rfind('/') != std::string::npos) f.kek_dir = path.substr(0, path.rfind('/'));
    }
  }
  const std::string pin = context.env->GetEnvVar(f.pin_env).value_or("");
  keyring::KekProvider* create_in = nullptr;
  if (!f.kek_token.empty()) {
    open.providers.push_back(keyring::NewPkcs11KekProvider(f.module, f.kek_token, pin));
    create_in = open.providers.back().get();
  }
  open.providers.push_back(keyring::NewFileKekProvider(context.env, f.kek_dir));
  if (dir_given) create_in = open.providers.back().get();
  for (const KekRecord& kek : rows.keks) {
    if (kek.backend != "pkcs11" || kek.state == "destroyed") continue;
    const bool reached = std::ranges::any_of(
        open.providers, [&](const auto& provider) { return provider->Holds(kek); });
    if (reached) continue;
    const Json locator = Json::parse(kek.locator, nullptr, false);
    if (!locator.is_object()) continue;
    open.providers.push_back(keyring::NewPkcs11KekProvider(locator.value("module", f.module),
                                                           locator.value("token", ""), pin));
  }
  std::vector<keyring::KekProvider*> raw;
  for (const auto& provider : open.providers) raw.push_back(provider.get());
  FERRY_ASSIGN_OR_RETURN(open.keyring, keyring::Keyring::Open({.store = open.store.get(),
                                                               .providers = raw,
                                                               .create_in = create_in,
                                                               .env = context.env,
                                                               .actor = Actor(context.env)}));
  return open;
}

std::string Date(int64_t micros) {
  if (micros == 0) return "-";
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min);
}

// ---- secrets

Result<int> RunPut(CommandContext& context, KeyringFlags& f) {
  std::string value;
  if (!f.from_file.empty()) {
    FERRY_ASSIGN_OR_RETURN(value, context.env->ReadFile(f.from_file));
  } else {
    value.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (std::cin.bad()) {
      return Err(Unavailable("secret `{}`: reading the value from standard input failed", f.name));
    }
  }
  FERRY_ASSIGN_OR_RETURN(OpenKeyring open, Open(context, f));
  Result<int64_t> version = open.keyring->PutSecret(f.name, crypto::AsBytes(value));
  crypto::Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(value.data()), value.size()));
  if (!version.has_value()) return Err(version.error());
  if (context.json) {
    context.out << Json{{"name", f.name}, {"version", *version}}.dump() << "\n";
  } else {
    context.err << "ferry: secret " << f.name << " version " << *version << " stored in "
                << open.store->location() << "\n";
  }
  return kExitOk;
}

Result<int> RunGet(CommandContext& context, KeyringFlags& f) {
  FERRY_ASSIGN_OR_RETURN(OpenKeyring open, Open(context, f));
  FERRY_ASSIGN_OR_RETURN(crypto::SecretBytes value, open.keyring->GetSecret(f.name));
  // The value exactly as put, without a newline, so that `$(ferry secrets get X)` and pipes
  // get it unchanged.
  context.out << crypto::AsText(value.view());
  context.out.flush();
  return kExitOk;
}

Result<int> RunList(CommandContext& context, KeyringFlags& f) {
  FERRY_ASSIGN_OR_RETURN(OpenKeyring open, Open(context, f));
  FERRY_ASSIGN_OR_RETURN(std::vector<SecretRecord> secrets, open.keyring->ListSecrets());
  if (context.json) {
    Json list = Json::array();
    for (const SecretRecord& s : secrets) {
      list.push_back({{"name", s.name},
                      {"version", s.version},
                      {"data_key", fmt::format("{} v{}", s.purpose, s.dek_version)},
                      {"created_micros", s.created_micros},
                      {"updated_micros", s.updated_micros}});
    }
    context.out << Json{{"secrets", list}}.dump(2) << "\n";
    return kExitOk;
  }
  context.out << fmt::format("{:<32} {:>7}  {:<16}  {:<16}  {}\n", "NAME", "VERSION", "CREATED",
                             "UPDATED", "DATA KEY");
  for (const SecretRecord& s : secrets) {
    context.out << fmt::format("{:<32} {:>7}  {:<16}  {:<16}  {} v{}\n", s.name, s.version,
                               Date(s.created_micros), Date(s.updated_micros), s.purpose,
                               s.dek_version);
  }
  return kExitOk;
}

Result<int> RunDelete(CommandContext& context, KeyringFlags& f) {
  FERRY_ASSIGN_OR_RETURN(OpenKeyring open, Open(context, f));
  FERRY_RETURN_IF_ERROR(open.keyring->DeleteSecret(f.name));
  context.err << "ferry: secret " << f.name << " deleted from " << open.store->location() << "\n";
  return kExitOk;
}

// ---- keys

Result<int> RunInit(CommandContext& context, KeyringFlags& f) {
  if (f.kek_token.empty() && f.kek_dir.empty() && !context.env->GetEnvVar("FERRY_KEK_DIR")) {
    return Err(InvalidArgument(
        "ferry keys init needs where the key-encryption key goes: --kek-dir DIR (a 0600 key "
        "file per version) or --kek-token LABEL (an AES key on a PKCS#11 token)"));
  }
  FERRY_ASSIGN_OR_RETURN(OpenKeyring open, Open(context, f));
  FERRY_RETURN_IF_ERROR(open.keyring->Init());
  FERRY_ASSIGN_OR_RETURN(KeyringRows rows, open.store->ReadKeyring());
  context.err << "ferry: KEK v1 made (" << rows.keks.back().backend << ") for "
              << open.store->location() << "\n";
  return kExitOk;
}

Result<int> RunStatus(CommandContext& context, KeyringFlags& f) {
  FERRY_ASSIGN_OR_RETURN(OpenKeyring open, Open(context, f));
  FERRY_ASSIGN_OR_RETURN(std::vector<keyring::KeyVersionStatus> keys, open.keyring->KeyStatus());
  const int64_t now = context.env->NowMicros();
  bool attention = false;
  Json list = Json::array();
  for (const keyring::KeyVersionStatus& k : keys) {
    attention |= k.rotation_due || k.expired || k.destruction_due;
    std::string note;
    if (k.expired) {
      note = "EXPIRED: rotate now (ferry keys rotate --due)";
    } else if (k.rotation_due) {
      note = "rotation due";
    } else if (k.state == "active" && k.policy.rotate_after_days > 0) {
      note = fmt::format("rotation in {} days", k.policy.rotate_after_days - k.age_days);
    } else if (k.destruction_due) {
      note = "destruction due";
    } else if (k.state == "retired") {
      note = fmt::format("awaiting destruction on {}", Date(k.destroy_at_micros).substr(0, 10));
    } else if (k.state == "pending") {
      note = "rotation interrupted: run ferry keys rotate again to finish it";
    }
    list.push_back({{"key", k.key},
                    {"version", k.version},
                    {"state", k.state},
                    {"where", k.where},
                    {"created_micros", k.created_micros},
                    {"age_days", k.age_days},
                    {"policy", keyring::PolicyToJson(k.policy)},
                    {"rotation_due", k.rotation_due},
                    {"expired", k.expired},
                    {"destroy_at_micros", k.destroy_at_micros},
                    {"destruction_due", k.destruction_due},
                    {"secrets", k.secrets},
                    {"note", note}});
    if (!context.json) {
      context.out << fmt::format("{:<14} v{:<3} {:<9} age {:>4}d  {}{}{}\n", k.key, k.version,
                                 k.state, k.age_days, k.where,
                                 k.key == "kek" ? "" : fmt::format(", {} secrets", k.secrets),
                                 note.empty() ? "" : "  [" + note + "]");
    }
  }
  if (context.json) {
    context.out << Json{{"store", open.store->location()},
                        {"now_micros", now},
                        {"keys", list},
                        {"attention", attention}}
                       .dump(2)
                << "\n";
  } else if (keys.empty()) {
    context.out << "no keys yet: `ferry keys init --kek-dir DIR` (or the first `ferry secrets "
                   "put`) makes them\n";
  }
  return kExitOk;
}

Result<int> RunRotate(CommandContext& context, KeyringFlags& f) {
  if (!f.kek && f.dek.empty() && !f.due) {
    return Err(InvalidArgument(
        "ferry keys rotate needs what to rotate: --kek, --dek PURPOSE (e.g. secrets), or --due "
        "(what the policy says is due, and destruction of retired versions past their grace)"));
  }
  FERRY_ASSIGN_OR_RETURN(OpenKeyring open, Open(context, f));
  std::vector<std::string> actions;
  auto run = [&](Result<keyring::RotationReport> report) -> Status {
    if (!report.has_value()) return report.error();
    actions.insert(actions.end(), report->actions.begin(), report->actions.end());
    return OkStatus();
  };
  if (f.kek) FERRY_RETURN_IF_ERROR(run(open.keyring->RotateKek()));
  if (!f.dek.empty()) FERRY_RETURN_IF_ERROR(run(open.keyring->RotateDek(f.dek)));
  if (f.due) FERRY_RETURN_IF_ERROR(run(open.keyring->RotateDue()));
  if (context.json) {
    context.out << Json{{"actions", actions}}.dump(2) << "\n";
  } else if (actions.empty()) {
    context.out << "nothing due\n";
  } else {
    for (const std::string& a : actions) context.out << a << "\n";
  }
  return kExitOk;
}

Result<int> RunPolicySet(CommandContext& context, KeyringFlags& f) {
  std::map<std::string, keyring::KeyPolicy> policies;
  if (!f.policy_file.empty()) {
    if (!f.key.empty()) {
      return Err(
          InvalidArgument("give either a KEY with --rotate-after/--expire-after/"
                          "--destroy-after, or --file POLICY.json, not both"));
    }
    FERRY_ASSIGN_OR_RETURN(std::string text, context.env->ReadFile(f.policy_file));
    FERRY_ASSIGN_OR_RETURN(policies, keyring::ParsePolicyFile(text, f.policy_file));
  } else {
    if (f.key.empty()) {
      return Err(InvalidArgument(
          "ferry keys policy set needs a KEY (kek, dek:secrets, dek:*) or --file POLICY.json"));
    }
    FERRY_RETURN_IF_ERROR(keyring::CheckKeyName(f.key));
    FERRY_ASSIGN_OR_RETURN(OpenKeyring open, Open(context, f));
    FERRY_ASSIGN_OR_RETURN(keyring::KeyPolicy current, open.keyring->PolicyFor(f.key));
    Json fields = Json::object();
    if (f.rotate_after >= 0) fields["rotate_after_days"] = f.rotate_after;
    if (f.expire_after >= 0) fields["expire_after_days"] = f.expire_after;
    if (f.destroy_after >= 0) fields["destroy_after_days"] = f.destroy_after;
    if (fields.empty()) {
      return Err(InvalidArgument(
          "key {}: nothing to set: give --rotate-after, --expire-after or --destroy-after (days)",
          f.key));
    }
    FERRY_ASSIGN_OR_RETURN(policies[f.key],
                           keyring::PolicyFromJson(fields, current, fmt::format("key {}", f.key)));
  }
  FERRY_ASSIGN_OR_RETURN(OpenKeyring open, Open(context, f));
  FERRY_RETURN_IF_ERROR(open.keyring->SetPolicies(policies));
  for (const auto& [key, policy] : policies) {
    context.err << fmt::format(
        "ferry: policy of {}: rotate after {} days, expire after {}, "
        "destroy {} days after retirement\n",
        key, policy.rotate_after_days, policy.expire_after_days, policy.destroy_after_days);
  }
  return kExitOk;
}

Result<int> RunPolicyShow(CommandContext& context, KeyringFlags& f) {
  FERRY_ASSIGN_OR_RETURN(OpenKeyring open, Open(context, f));
  FERRY_ASSIGN_OR_RETURN(KeyringRows rows, open.store->ReadKeyring());
  std::vector<std::string> keys = {"kek", "dek:*"};
  for (const DekRecord& dek : rows.deks) {
    const std::string key = "dek:" + dek.purpose;
    if (std::ranges::find(keys, key) == keys.end()) keys.push_back(key);
  }
  for (const KeyPolicyRecord& p : rows.policies) {
    if (std::ranges::find(keys, p.key) == keys.end()) keys.push_back(p.key);
  }
  Json all = Json::object();
  for (const std::string& key : keys) {
    FERRY_ASSIGN_OR_RETURN(keyring::KeyPolicy policy, open.keyring->PolicyFor(key));
    all[key] = keyring::PolicyToJson(policy);
  }
  context.out << all.dump(2) << "\n";
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> KeyringCommands() {
  auto f = std::make_shared<KeyringFlags>();
  const std::string secrets_group =
      "Secrets kept in the state store, encrypted under ferry's own keys (docs/crypto.md)";
  const std::string keys_group =
      "Keys on PKCS#11 tokens, and ferry's own key-encryption and data keys";
  auto with_kek = [f](std::function<void(CLI::App&)> more) {
    return [f, more](CLI::App& app) {
      AddKekOptions(app, *f);
      if (more) more(app);
    };
  };
  return {
      {.path = {"secrets", "put"},
       .group_help = secrets_group,
       .help = "Store a secret (value from standard input, or --from-file); each put is a new "
               "version",
       .add_options = with_kek([f](CLI::App& app) {
         app.add_option("name", f->name, "The secret's name (letters, digits, -_./:@)")->required();
         app.add_option("--from-file", f->from_file, "Read the value from this file");
       }),
       .run = [f](CommandContext& c) { return RunPut(c, *f); }},
      {.path = {"secrets", "get"},
       .group_help = secrets_group,
       .help = "Print a secret's value, exactly as stored (no newline added)",
       .add_options = with_kek([f](CLI::App& app) {
         app.add_option("name", f->name, "The secret's name")->required();
       }),
       .run = [f](CommandContext& c) { return RunGet(c, *f); }},
      {.path = {"secrets", "list"},
       .group_help = secrets_group,
       .help = "List secrets: names, versions, dates and data keys, never values",
       .add_options = with_kek(nullptr),
       .run = [f](CommandContext& c) { return RunList(c, *f); }},
      {.path = {"secrets", "delete"},
       .group_help = secrets_group,
       .help = "Delete a secret",
       .add_options = with_kek([f](CLI::App& app) {
         app.add_option("name", f->name, "The secret's name")->required();
       }),
       .run = [f](CommandContext& c) { return RunDelete(c, *f); }},
      {.path = {"keys", "init"},
       .group_help = keys_group,
       .help = "Make ferry's key-encryption key (v1) in a key directory or on a token",
       .add_options = with_kek(nullptr),
       .run = [f](CommandContext& c) { return RunInit(c, *f); }},
      {.path = {"keys", "status"},
       .group_help = keys_group,
       .help = "Each key version: age, state, where it is, and whether rotation, expiry or "
               "destruction is due",
       .add_options = with_kek(nullptr),
       .run = [f](CommandContext& c) { return RunStatus(c, *f); }},
      {.path = {"keys", "rotate"},
       .group_help = keys_group,
       .help = "Rotate the KEK (re-wrap every data key) or a data key (re-encrypt its values), "
               "or what the policy says is due; a run that stopped is finished by running it again",
       .add_options = with_kek([f](CLI::App& app) {
         app.add_flag("--kek", f->kek, "Rotate the key-encryption key");
         app.add_option("--dek", f->dek, "Rotate the data key of this purpose (e.g. secrets)");
         app.add_flag("--due", f->due,
                      "Rotate what is due or expired and destroy retired versions past their "
                      "grace period");
       }),
       .run = [f](CommandContext& c) { return RunRotate(c, *f); }},
      {.path = {"keys", "policy", "set"},
       .group_help = "Key lifecycle policy: rotation period, expiry, destruction grace",
       .help = "Set the policy of a key (kek, dek:PURPOSE, dek:*) or of several from a JSON file",
       .add_options = with_kek([f](CLI::App& app) {
         app.add_option("key", f->key, "kek, dek:PURPOSE or dek:* (every data key)");
         app.add_option("--rotate-after", f->rotate_after,
                        "Days after which the active version is due for rotation (0: never)");
         app.add_option("--expire-after", f->expire_after,
                        "Days after which it protects nothing new (0: never)");
         app.add_option("--destroy-after", f->destroy_after,
                        "Days a retired version is kept before --due destroys it");
         app.add_option("--file", f->policy_file,
                        "A JSON policy file: {\"kek\": {\"rotate_after_days\": 365}, ...}");
       }),
       .run = [f](CommandContext& c) { return RunPolicySet(c, *f); }},
      {.path = {"keys", "policy", "show"},
       .group_help = "Key lifecycle policy: rotation period, expiry, destruction grace",
       .help = "Print the policy in force for each key (stored, else the default)",
       .add_options = with_kek(nullptr),
       .run = [f](CommandContext& c) { return RunPolicyShow(c, *f); }},
  };
}

}  // namespace ferry
