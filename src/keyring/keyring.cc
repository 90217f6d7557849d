#include "keyring/keyring.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "base/log.h"
#include "crypto/classical.h"
#include "crypto/random.h"

namespace ferry::keyring {
namespace {

using crypto::Bytes;
using crypto::ByteView;
using crypto::SecretBytes;

constexpr int64_t kMicrosPerDay = 86'400'000'000;
constexpr size_t kDekSize = 32;
constexpr size_t kIvSize = 12;
constexpr size_t kMaxSecretBytes = 1 << 20;
constexpr size_t kResealBatch = 64;
constexpr std::string_view kSecretsPurpose = "secrets";

std::string DekKeyName(std::string_view purpose) { return fmt::format("dek:{}", purpose); }

std::string Date(int64_t micros) {
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

const KekRecord* FindKek(const KeyringRows& rows, int64_t version) {
  for (const KekRecord& kek : rows.keks) {
    if (kek.version == version) return &kek;
  }
  return nullptr;
}

const KekRecord* KekInState(const KeyringRows& rows, std::string_view state) {
  for (const KekRecord& kek : rows.keks) {
    if (kek.state == state) return &kek;
  }
  return nullptr;
}

const DekRecord* DekInState(const KeyringRows& rows, std::string_view purpose,
                            std::string_view state) {
  for (const DekRecord& dek : rows.deks) {
    if (dek.purpose == purpose && dek.state == state) return &dek;
  }
  return nullptr;
}

bool HasWrap(const KeyringRows& rows, const DekRecord& dek, int64_t kek_version) {
  return std::ranges::any_of(rows.wraps, [&](const DekWrapRecord& w) {
    return w.purpose == dek.purpose && w.dek_version == dek.version && w.kek_version == kek_version;
  });
}

std::string KekWhere(const KekRecord& kek) {
  const Json locator = Json::parse(kek.locator, nullptr, false);
  if (!locator.is_object()) return kek.backend;
  if (kek.backend == "file") return fmt::format("file {}", locator.value("path", "?"));
  return fmt::format("token {} key {}", locator.value("token", "?"), locator.value("label", "?"));
}

Status CheckSecretName(std::string_view name) {
  if (name.empty() || name.size() > 200) {
    return InvalidArgument("secret name `{}`: give 1 to 200 characters", name);
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) ||
          std::string_view("-_./:@").find(c) != std::string_view::npos)) {
      return InvalidArgument(
          "secret name `{}`: character '{}' is not allowed; use letters, digits and -_./:@", name,
          c);
    }
  }
  return OkStatus();
}

}  // namespace

std::string DekWrapAad(std::string_view purpose, int64_t dek_version, int64_t kek_version) {
  return fmt::format("ferry-keyring-v1 dek {} {} kek {}", purpose, dek_version, kek_version);
}

std::string SecretAad(std::string_view name, int64_t version, std::string_view purpose,
                      int64_t dek_version) {
  return fmt::format("ferry-keyring-v1 secret {} {} dek {} {}", name, version, purpose,
                     dek_version);
}

Result<std::unique_ptr<Keyring>> Keyring::Open(KeyringOptions options) {
  if (options.store == nullptr) return Err(InvalidArgument("keyring: no store"));
  if (options.providers.empty()) return Err(InvalidArgument("keyring: no KEK provider"));
  if (options.env == nullptr) options.env = Env::Default();
  return std::unique_ptr<Keyring>(new Keyring(std::move(options)));
}

Keyring::Keyring(KeyringOptions options) : options_(std::move(options)) {}

Status Keyring::Step(std::string_view step) {
  return options_.fault_point ? options_.fault_point(step) : OkStatus();
}

int64_t Keyring::Now() const { return options_.env->NowMicros(); }

EventSpec Keyring::MakeEvent(std::string kind, Json payload) const {
  return {.actor = options_.actor, .kind = std::move(kind), .payload = std::move(payload)};
}

Result<KekProvider*> Keyring::ProviderFor(const KekRecord& kek) {
  for (KekProvider* provider : options_.providers) {
    if (provider->Holds(kek)) return provider;
  }
  if (kek.backend == "pkcs11") {
    return Err(FailedPrecondition(
        "KEK v{} is on a PKCS#11 token ({}): give --kek-token with that token's label and its "
        "PIN in FERRY_PIN (or the variable named by --pin-env)",
        kek.version, KekWhere(kek)));
  }
  return Err(FailedPrecondition("KEK v{} ({}) is kept by backend `{}`, which no option reaches",
                                kek.version, KekWhere(kek), kek.backend));
}

KekProvider* Keyring::Creator(const KeyringRows& rows) {
  if (options_.create_in != nullptr) return options_.create_in;
  if (const KekRecord* active = KekInState(rows, "active")) {
    for (KekProvider* provider : options_.providers) {
      if (provider->Holds(*active)) return provider;
    }
  }
  return options_.providers.front();
}

Result<KeyPolicy> Keyring::PolicyFor(std::string_view key) {
  FERRY_ASSIGN_OR_RETURN(KeyringRows rows, options_.store->ReadKeyring());
  return PolicyIn(rows, key);
}

Result<KeyPolicy> Keyring::PolicyIn(const KeyringRows& rows, std::string_view key) const {
  const KeyPolicyRecord* found = nullptr;
  for (const KeyPolicyRecord& record : rows.policies) {
    if (record.key == key) found = &record;
  }
  if (found == nullptr && key.starts_with("dek:")) {
    for (const KeyPolicyRecord& record : rows.policies) {
      if (record.key == "dek:*") found = &record;
    }
  }
  if (found == nullptr) return DefaultPolicy(key);
  const Json json = Json::parse(found->policy, nullptr, false);
  return PolicyFromJson(
      json, DefaultPolicy(key),
      fmt::format("store {}, policy of {}", options_.store->location(), found->key));
}

Status Keyring::SetPolicies(const std::map<std::string, KeyPolicy>& policies) {
  KeyringWrite write;
  for (const auto& [key, policy] : policies) {
    FERRY_RETURN_IF_ERROR(CheckKeyName(key));
    write.policies.push_back(
        {.key = key, .policy = CanonicalJson(PolicyToJson(policy)), .updated_micros = Now()});
    Json payload = PolicyToJson(policy);
    payload["key"] = key;
    write.events.push_back(MakeEvent("keyring.policy.set", std::move(payload)));
  }
  return options_.store->WriteKeyring(write);
}

// ---------------------------------------------------------------------------------------------
// KEKs

Result<KekRecord> Keyring::CreateKek(const KeyringRows& rows, const std::string& state) {
  int64_t version = 1;
  for (const KekRecord& kek : rows.keks) version = std::max(version, kek.version + 1);
  FERRY_RETURN_IF_ERROR(Step("kek.create"));
  KekProvider* creator = Creator(rows);
  FERRY_ASSIGN_OR_RETURN(std::string locator, creator->Create(version));
  KekRecord kek{.version = version,
                .state = state,
                .backend = creator->backend(),
                .locator = std::move(locator),
                .created_micros = Now()};
  KeyringWrite write;
  write.new_keks.push_back(kek);
  write.events.push_back(MakeEvent("keyring.kek.created", Json{{"version", version},
                                                               {"backend", kek.backend},
                                                               {"where", KekWhere(kek)},
                                                               {"state", state}}));
  FERRY_RETURN_IF_ERROR(options_.store->WriteKeyring(write));
  return kek;
}

Result<KekRecord> Keyring::ActiveKek(const KeyringRows& rows, bool for_new_wrapping) {
  const KekRecord* active = KekInState(rows, "active");
  if (active == nullptr) {
    if (std::ranges::any_of(rows.keks, [](const KekRecord& k) { return k.state != "destroyed"; })) {
      return Err(FailedPrecondition(
          "store {}: no active KEK, only a pending one: finish the rotation with `ferry keys "
          "rotate --kek`",
          options_.store->location()));
    }
    return CreateKek(rows, "active");
  }
  if (for_new_wrapping) {
    FERRY_ASSIGN_OR_RETURN(KeyPolicy policy, PolicyIn(rows, "kek"));
    if (policy.expire_after_days > 0 &&
        Now() - active->created_micros >= policy.expire_after_days * kMicrosPerDay) {
      return Err(FailedPrecondition(
          "KEK v{} expired on {} (policy kek: expire_after_days {}): it wraps no new data key; "
          "rotate it with `ferry keys rotate --kek` (or --due)",
          active->version, Date(active->created_micros + policy.expire_after_days * kMicrosPerDay),
          policy.expire_after_days));
    }
  }
  return *active;
}

Status Keyring::Init() {
  FERRY_ASSIGN_OR_RETURN(KeyringRows rows, options_.store->ReadKeyring());
  for (const KekRecord& kek : rows.keks) {
    if (kek.state != "destroyed") {
      return AlreadyExists(
          "store {} already has KEK v{} ({}, {}): rotate it with `ferry keys rotate --kek`",
          options_.store->location(), kek.version, kek.state, KekWhere(kek));
    }
  }
  return StatusOf(CreateKek(rows, "active"));
}

// ---------------------------------------------------------------------------------------------
// DEKs

Result<SecretBytes> Keyring::UnwrapDek(const KeyringRows& rows, const std::string& purpose,
                                       int64_t version) {
  if (auto it = dek_cache_.find({purpose, version}); it != dek_cache_.end()) return it->second;
  // Try the active KEK first, then a pending one, then retired ones, newest first.
  auto rank = [&](const DekWrapRecord& w) {
    const KekRecord* kek = FindKek(rows, w.kek_version);
    const std::string state = kek != nullptr ? kek->state : "";
    const int order = state == "active" ? 0 : state == "pending" ? 1 : 2;
    return std::pair(order, -w.kek_version);
  };
  std::vector<DekWrapRecord> wraps;
  for (const DekWrapRecord& w : rows.wraps) {
    if (w.purpose == purpose && w.dek_version == version) wraps.push_back(w);
  }
  std::ranges::sort(wraps, {}, rank);
  if (wraps.empty()) {
    return Err(
        DataLoss("data key {} v{}: the store {} holds no wrapping of it, so it cannot be recovered",
                 purpose, version, options_.store->location()));
  }
  Status first_error;
  for (const DekWrapRecord& w : wraps) {
    const KekRecord* kek = FindKek(rows, w.kek_version);
    if (kek == nullptr || kek->state == "destroyed") continue;
    Result<SecretBytes> dek = UnwrapWith(*kek, w);
    if (dek.has_value()) {
      if (dek->size() != kDekSize) {
        return Err(DataLoss("data key {} v{} unwrapped to {} bytes, not {}", purpose, version,
                            dek->size(), kDekSize));
      }
      if (!first_error.ok()) {
        // Readable through an older KEK only: worth knowing before that one is destroyed.
        LogWarn("data key opened through a fallback KEK", {{"purpose", purpose},
                                                           {"version", version},
                                                           {"kek_version", kek->version},
                                                           {"first_error", first_error.message()}});
      }
      dek_cache_.emplace(std::pair(purpose, version), *dek);
      return dek;
    }
    if (first_error.ok()) first_error = dek.error();
  }
  if (first_error.ok()) {
    return Err(
        DataLoss("data key {} v{}: every KEK that wrapped it is destroyed", purpose, version));
  }
  return Err(Status(first_error.code(),
                    fmt::format("data key {} v{}: {}", purpose, version, first_error.message())));
}

Result<SecretBytes> Keyring::UnwrapWith(const KekRecord& kek, const DekWrapRecord& wrap) {
  FERRY_ASSIGN_OR_RETURN(KekProvider * provider, ProviderFor(kek));
  FERRY_ASSIGN_OR_RETURN(Bytes wrapped, crypto::FromHex(wrap.wrapped));
  return provider->Unwrap(
      kek, crypto::AsBytes(DekWrapAad(wrap.purpose, wrap.dek_version, kek.version)), wrapped);
}

Result<DekWrapRecord> Keyring::WrapDek(const KekRecord& kek, const std::string& purpose,
                                       int64_t version, ByteView dek) {
  FERRY_ASSIGN_OR_RETURN(KekProvider * provider, ProviderFor(kek));
  const std::string aad = DekWrapAad(purpose, version, kek.version);
  FERRY_ASSIGN_OR_RETURN(Bytes wrapped, provider->Wrap(kek, crypto::AsBytes(aad), dek));
  // Proof before anything relies on it: the new wrapping opens to the same key.
  FERRY_ASSIGN_OR_RETURN(SecretBytes back, provider->Unwrap(kek, crypto::AsBytes(aad), wrapped));
  if (!crypto::ConstantTimeEqual(back.view(), dek)) {
    return Err(Internal("KEK v{}: a fresh wrapping of data key {} v{} opened to another key",
                        kek.version, purpose, version));
  }
  return DekWrapRecord{.purpose = purpose,
                       .dek_version = version,
                       .kek_version = kek.version,
                       .wrapped = crypto::Hex(wrapped),
                       .created_micros = Now()};
}

Result<DekRecord> Keyring::CreateDek(const KeyringRows& rows, const std::string& purpose,
                                     const std::string& state) {
  FERRY_ASSIGN_OR_RETURN(KekRecord kek, ActiveKek(rows, /*for_new_wrapping=*/true));
  int64_t version = 1;
  for (const DekRecord& dek : rows.deks) {
    if (dek.purpose == purpose) version = std::max(version, dek.version + 1);
  }
  FERRY_RETURN_IF_ERROR(Step("dek.create"));
  FERRY_ASSIGN_OR_RETURN(SecretBytes key, crypto::RandomSecret(kDekSize));
  FERRY_ASSIGN_OR_RETURN(DekWrapRecord wrap, WrapDek(kek, purpose, version, key.view()));
  DekRecord dek{.purpose = purpose, .version = version, .state = state, .created_micros = Now()};
  KeyringWrite write;
  write.new_deks.push_back(dek);
  write.wraps.push_back(wrap);
  write.events.push_back(MakeEvent("keyring.dek.created", Json{{"purpose", purpose},
                                                               {"version", version},
                                                               {"kek_version", kek.version},
                                                               {"state", state}}));
  FERRY_RETURN_IF_ERROR(options_.store->WriteKeyring(write));
  dek_cache_.insert_or_assign(std::pair(purpose, version), std::move(key));
  return dek;
}

Result<DekRecord> Keyring::ActiveDek(const std::string& purpose, bool for_new_value) {
  FERRY_ASSIGN_OR_RETURN(KeyringRows rows, options_.store->ReadKeyring());
  const DekRecord* active = DekInState(rows, purpose, "active");
  if (active == nullptr) {
    if (DekInState(rows, purpose, "pending") != nullptr) {
      return Err(FailedPrecondition(
          "data key {}: only a pending version (a rotation was interrupted): finish it with "
          "`ferry keys rotate --dek {}`",
          purpose, purpose));
    }
    return CreateDek(rows, purpose, "active");
  }
  if (for_new_value) {
    FERRY_ASSIGN_OR_RETURN(KeyPolicy policy, PolicyIn(rows, DekKeyName(purpose)));
    if (policy.expire_after_days > 0 &&
        Now() - active->created_micros >= policy.expire_after_days * kMicrosPerDay) {
      return Err(FailedPrecondition(
          "data key {} v{} expired on {} (policy {}: expire_after_days {}): it seals no new "
          "value; rotate it with `ferry keys rotate --dek {}` (or --due)",
          purpose, active->version,
          Date(active->created_micros + policy.expire_after_days * kMicrosPerDay),
          DekKeyName(purpose), policy.expire_after_days, purpose));
    }
  }
  return *active;
}

Result<int64_t> Keyring::Reseal(const KeyringRows& rows, const std::string& purpose, int64_t to) {
  FERRY_ASSIGN_OR_RETURN(std::vector<SecretRecord> secrets, options_.store->ListSecrets(true));
  FERRY_ASSIGN_OR_RETURN(SecretBytes new_key, UnwrapDek(rows, purpose, to));
  int64_t resealed = 0;
  KeyringWrite batch;
  auto flush = [&]() -> Status {
    if (batch.secrets.empty()) return OkStatus();
    FERRY_RETURN_IF_ERROR(Step("dek.reseal"));
    batch.events.push_back(MakeEvent(
        "keyring.dek.resealed",
        Json{{"purpose", purpose}, {"dek_version", to}, {"secrets", batch.secrets.size()}}));
    FERRY_RETURN_IF_ERROR(options_.store->WriteKeyring(batch));
    resealed += static_cast<int64_t>(batch.secrets.size());
    batch = {};
    return OkStatus();
  };
  for (SecretRecord& secret : secrets) {
    if (secret.purpose != purpose || secret.dek_version == to) continue;
    FERRY_ASSIGN_OR_RETURN(SecretBytes old_key, UnwrapDek(rows, purpose, secret.dek_version));
    FERRY_ASSIGN_OR_RETURN(Bytes sealed, crypto::FromHex(secret.sealed));
    if (sealed.size() < kIvSize + 16) {
      return Err(DataLoss("secret `{}` v{}: {} bytes of ciphertext is too short", secret.name,
                          secret.version, sealed.size()));
    }
    Result<Bytes> value = crypto::AesGcmOpen(
        old_key.view(), ByteView(sealed).first(kIvSize),
        crypto::AsBytes(SecretAad(secret.name, secret.version, purpose, secret.dek_version)),
        ByteView(sealed).subspan(kIvSize));
    if (!value.has_value()) {
      return Err(Unauthenticated(
          "secret `{}` v{}: its ciphertext does not verify under data key {} v{}, so it cannot "
          "be re-encrypted: the store's row was altered; restore it from a backup or delete it",
          secret.name, secret.version, purpose, secret.dek_version));
    }
    SecretBytes plain(std::move(*value));
    Bytes iv(kIvSize);
    FERRY_RETURN_IF_ERROR(crypto::FillRandom(iv));
    FERRY_ASSIGN_OR_RETURN(
        Bytes resealed_bytes,
        crypto::AesGcmSeal(new_key.view(), iv,
                           crypto::AsBytes(SecretAad(secret.name, secret.version, purpose, to)),
                           plain.view()));
    SecretRecord updated = secret;
    updated.dek_version = to;
    updated.sealed = crypto::Hex(crypto::Concat({iv, resealed_bytes}));
    batch.secrets.push_back({.secret = std::move(updated), .expected_version = secret.version});
    if (batch.secrets.size() >= kResealBatch) FERRY_RETURN_IF_ERROR(flush());
  }
  FERRY_RETURN_IF_ERROR(flush());
  return resealed;
}

// ---------------------------------------------------------------------------------------------
// Secrets

Result<int64_t> Keyring::PutSecret(std::string_view name, ByteView value) {
  FERRY_RETURN_IF_ERROR(CheckSecretName(name));
  if (value.size() > kMaxSecretBytes) {
    return Err(InvalidArgument("secret `{}`: {} bytes is more than the {} a secret may hold", name,
                               value.size(), kMaxSecretBytes));
  }
  const std::string purpose(kSecretsPurpose);
  FERRY_ASSIGN_OR_RETURN(DekRecord dek, ActiveDek(purpose, /*for_new_value=*/true));
  SecretBytes key;
  if (auto it = dek_cache_.find({purpose, dek.version}); it != dek_cache_.end()) {
    key = it->second;
  } else {
    FERRY_ASSIGN_OR_RETURN(KeyringRows rows, options_.store->ReadKeyring());
    FERRY_ASSIGN_OR_RETURN(key, UnwrapDek(rows, purpose, dek.version));
  }
  FERRY_ASSIGN_OR_RETURN(std::optional<SecretRecord> existing, options_.store->GetSecret(name));
  const int64_t version = existing ? existing->version + 1 : 1;
  Bytes iv(kIvSize);
  FERRY_RETURN_IF_ERROR(crypto::FillRandom(iv));
  FERRY_ASSIGN_OR_RETURN(
      Bytes sealed,
      crypto::AesGcmSeal(key.view(), iv,
                         crypto::AsBytes(SecretAad(name, version, purpose, dek.version)), value));
  const int64_t now = Now();
  KeyringWrite write;
  write.secrets.push_back({.secret = {.name = std::string(name),
                                      .version = version,
                                      .purpose = purpose,
                                      .dek_version = dek.version,
                                      .sealed = crypto::Hex(crypto::Concat({iv, sealed})),
                                      .created_micros = existing ? existing->created_micros : now,
                                      .updated_micros = now},
                           .expected_version = existing ? existing->version : 0});
  write.events.push_back(MakeEvent("secret.put", Json{{"name", name},
                                                      {"version", version},
                                                      {"purpose", purpose},
                                                      {"dek_version", dek.version}}));
  FERRY_RETURN_IF_ERROR(options_.store->WriteKeyring(write));
  return version;
}

Result<SecretBytes> Keyring::GetSecret(std::string_view name) {
  FERRY_ASSIGN_OR_RETURN(std::optional<SecretRecord> secret, options_.store->GetSecret(name));
  if (!secret) {
    return Err(NotFound("secret `{}` does not exist in store {}; `ferry secrets list` lists them",
                        name, options_.store->location()));
  }
  SecretBytes key;
  if (auto it = dek_cache_.find({secret->purpose, secret->dek_version}); it != dek_cache_.end()) {
    key = it->second;
  } else {
    FERRY_ASSIGN_OR_RETURN(KeyringRows rows, options_.store->ReadKeyring());
    FERRY_ASSIGN_OR_RETURN(key, UnwrapDek(rows, secret->purpose, secret->dek_version));
  }
  Result<Bytes> sealed = crypto::FromHex(secret->sealed);
  if (!sealed.has_value() || sealed->size() < kIvSize + 16) {
    return Err(DataLoss("secret `{}` v{}: the store's ciphertext is not well formed", name,
                        secret->version));
  }
  Result<Bytes> value = crypto::AesGcmOpen(
      key.view(), ByteView(*sealed).first(kIvSize),
      crypto::AsBytes(SecretAad(name, secret->version, secret->purpose, secret->dek_version)),
      ByteView(*sealed).subspan(kIvSize));
  if (!value.has_value()) {
    return Err(Unauthenticated(
        "secret `{}` v{}: its ciphertext does not verify under data key {} v{}: the store's row "
        "was altered (or copied from another secret); nothing of it is returned. Put the value "
        "again with `ferry secrets put {}`",
        name, secret->version, secret->purpose, secret->dek_version, name));
  }
  return SecretBytes(std::move(*value));
}

Result<std::vector<SecretRecord>> Keyring::ListSecrets() {
  return options_.store->ListSecrets(/*with_values=*/false);
}

Status Keyring::DeleteSecret(std::string_view name) {
  FERRY_ASSIGN_OR_RETURN(std::optional<SecretRecord> secret, options_.store->GetSecret(name));
  if (!secret) {
    return NotFound("secret `{}` does not exist in store {}; `ferry secrets list` lists them", name,
                    options_.store->location());
  }
  KeyringWrite write;
  write.removed_secrets.emplace_back(std::string(name), secret->version);
  write.events.push_back(
      MakeEvent("secret.deleted", Json{{"name", name}, {"version", secret->version}}));
  return options_.store->WriteKeyring(write);
}

// ---------------------------------------------------------------------------------------------
// Rotation

Result<RotationReport> Keyring::FinishKekRotation(KeyringRows rows, const KekRecord& pending) {
  int64_t rewrapped = 0;
  for (const DekRecord& dek : rows.deks) {
    if (dek.state == "destroyed" || HasWrap(rows, dek, pending.version)) continue;
    FERRY_RETURN_IF_ERROR(Step("kek.rewrap"));
    FERRY_ASSIGN_OR_RETURN(SecretBytes key, UnwrapDek(rows, dek.purpose, dek.version));
    FERRY_ASSIGN_OR_RETURN(DekWrapRecord wrap,
                           WrapDek(pending, dek.purpose, dek.version, key.view()));
    KeyringWrite write;
    write.wraps.push_back(wrap);
    write.events.push_back(MakeEvent(
        "keyring.dek.rewrapped",
        Json{
            {"purpose", dek.purpose}, {"version", dek.version}, {"kek_version", pending.version}}));
    FERRY_RETURN_IF_ERROR(options_.store->WriteKeyring(write));
    ++rewrapped;
  }
  FERRY_RETURN_IF_ERROR(Step("kek.activate"));
  const int64_t now = Now();
  KeyringWrite write;
  KekRecord activated = pending;
  activated.state = "active";
  write.keks.push_back(activated);
  int64_t from = 0;
  if (const KekRecord* active = KekInState(rows, "active")) {
    KekRecord retired = *active;
    retired.state = "retired";
    retired.retired_micros = now;
    from = retired.version;
    write.keks.push_back(retired);
  }
  write.events.push_back(
      MakeEvent("keyring.kek.rotated",
                Json{{"from", from}, {"to", pending.version}, {"rewrapped", rewrapped}}));
  if (from != 0) write.events.push_back(MakeEvent("keyring.kek.retired", Json{{"version", from}}));
  FERRY_RETURN_IF_ERROR(options_.store->WriteKeyring(write));
  size_t live = 0;
  for (const DekRecord& dek : rows.deks) live += dek.state != "destroyed";
  RotationReport report;
  report.actions.push_back(fmt::format(
      "kek v{} -> v{} ({} of {} data keys re-wrapped{})", from, pending.version, rewrapped, live,
      rewrapped < static_cast<int64_t>(live) ? ", the others were before an interruption" : ""));
  return report;
}

Result<RotationReport> Keyring::RotateKek() {
  FERRY_ASSIGN_OR_RETURN(KeyringRows rows, options_.store->ReadKeyring());
  if (const KekRecord* pending = KekInState(rows, "pending")) {
    return FinishKekRotation(rows, *pending);
  }
  if (KekInState(rows, "active") == nullptr) {
    return Err(FailedPrecondition(
        "store {} has no KEK to rotate: make one with `ferry keys init` (or the first `ferry "
        "secrets put`)",
        options_.store->location()));
  }
  FERRY_ASSIGN_OR_RETURN(KekRecord pending, CreateKek(rows, "pending"));
  FERRY_ASSIGN_OR_RETURN(rows, options_.store->ReadKeyring());
  return FinishKekRotation(rows, pending);
}

Result<RotationReport> Keyring::FinishDekRotation(KeyringRows rows, const DekRecord& pending) {
  FERRY_ASSIGN_OR_RETURN(int64_t resealed, Reseal(rows, pending.purpose, pending.version));
  FERRY_RETURN_IF_ERROR(Step("dek.activate"));
  const int64_t now = Now();
  KeyringWrite write;
  DekRecord activated = pending;
  activated.state = "active";
  write.deks.push_back(activated);
  int64_t from = 0;
  if (const DekRecord* active = DekInState(rows, pending.purpose, "active")) {
    DekRecord retired = *active;
    retired.state = "retired";
    retired.retired_micros = now;
    from = retired.version;
    write.deks.push_back(retired);
  }
  write.events.push_back(MakeEvent("keyring.dek.rotated", Json{{"purpose", pending.purpose},
                                                               {"from", from},
                                                               {"to", pending.version},
                                                               {"resealed", resealed}}));
  if (from != 0) {
    write.events.push_back(
        MakeEvent("keyring.dek.retired", Json{{"purpose", pending.purpose}, {"version", from}}));
  }
  FERRY_RETURN_IF_ERROR(options_.store->WriteKeyring(write));
  RotationReport report;
  report.actions.push_back(fmt::format("dek:{} v{} -> v{} ({} secrets re-encrypted)",
                                       pending.purpose, from, pending.version, resealed));
  return report;
}

Result<RotationReport> Keyring::RotateDek(std::string_view purpose_view) {
  const std::string purpose(purpose_view);
  FERRY_RETURN_IF_ERROR(CheckKeyName(DekKeyName(purpose)));
  FERRY_ASSIGN_OR_RETURN(KeyringRows rows, options_.store->ReadKeyring());
  if (const DekRecord* pending = DekInState(rows, purpose, "pending")) {
    return FinishDekRotation(rows, *pending);
  }
  if (DekInState(rows, purpose, "active") == nullptr) {
    return Err(FailedPrecondition(
        "store {} has no data key `{}` to rotate (it is made by the first value stored under "
        "it, e.g. `ferry secrets put`)",
        options_.store->location(), purpose));
  }
  FERRY_ASSIGN_OR_RETURN(DekRecord pending, CreateDek(rows, purpose, "pending"));
  FERRY_ASSIGN_OR_RETURN(rows, options_.store->ReadKeyring());
  return FinishDekRotation(rows, pending);
}

Result<std::string> Keyring::DestroyKek(KeyringRows rows, const KekRecord& kek) {
  // Every live data key must stay wrapped under another KEK before this one's wrappings go.
  const KekRecord* active = KekInState(rows, "active");
  for (const DekRecord& dek : rows.deks) {
    if (dek.state == "destroyed") continue;
    const bool elsewhere = std::ranges::any_of(rows.wraps, [&](const DekWrapRecord& w) {
      const KekRecord* other = FindKek(rows, w.kek_version);
      return w.purpose == dek.purpose && w.dek_version == dek.version &&
             w.kek_version != kek.version && other != nullptr && other->state != "destroyed";
    });
    if (elsewhere) continue;
    if (active == nullptr) {
      return Err(FailedPrecondition(
          "KEK v{} is the only wrapping of data key {} v{} and there is no active KEK to move "
          "it to; it is not destroyed",
          kek.version, dek.purpose, dek.version));
    }
    FERRY_ASSIGN_OR_RETURN(SecretBytes key, UnwrapDek(rows, dek.purpose, dek.version));
    FERRY_ASSIGN_OR_RETURN(DekWrapRecord wrap,
                           WrapDek(*active, dek.purpose, dek.version, key.view()));
    KeyringWrite write;
    write.wraps.push_back(wrap);
    write.events.push_back(MakeEvent(
        "keyring.dek.rewrapped",
        Json{
            {"purpose", dek.purpose}, {"version", dek.version}, {"kek_version", active->version}}));
    FERRY_RETURN_IF_ERROR(options_.store->WriteKeyring(write));
  }
  FERRY_RETURN_IF_ERROR(Step("kek.destroy"));
  FERRY_ASSIGN_OR_RETURN(KekProvider * provider, ProviderFor(kek));
  // Wrappings first, then the key, then the record: stopped anywhere, running again finishes.
  KeyringWrite unwrap;
  for (const DekWrapRecord& w : rows.wraps) {
    if (w.kek_version == kek.version) unwrap.removed_wraps.push_back(w);
  }
  FERRY_RETURN_IF_ERROR(options_.store->WriteKeyring(unwrap));
  FERRY_RETURN_IF_ERROR(provider->Destroy(kek));
  KekRecord destroyed = kek;
  destroyed.state = "destroyed";
  destroyed.destroyed_micros = Now();
  KeyringWrite write;
  write.keks.push_back(destroyed);
  write.events.push_back(
      MakeEvent("keyring.kek.destroyed", Json{{"version", kek.version},
                                              {"backend", kek.backend},
                                              {"where", KekWhere(kek)},
                                              {"wrappings_removed", unwrap.removed_wraps.size()}}));
  FERRY_RETURN_IF_ERROR(options_.store->WriteKeyring(write));
  return fmt::format("kek v{} destroyed ({})", kek.version, KekWhere(kek));
}

Result<std::string> Keyring::DestroyDek(KeyringRows rows, const DekRecord& dek) {
  // Values still sealed under it (a put that raced the rotation) move to the active version.
  int64_t resealed = 0;
  if (const DekRecord* active = DekInState(rows, dek.purpose, "active")) {
    FERRY_ASSIGN_OR_RETURN(resealed, Reseal(rows, dek.purpose, active->version));
  }
  FERRY_ASSIGN_OR_RETURN(std::vector<SecretRecord> secrets, options_.store->ListSecrets(false));
  for (const SecretRecord& secret : secrets) {
    if (secret.purpose == dek.purpose && secret.dek_version == dek.version) {
      return Err(FailedPrecondition(
          "data key {} v{} still seals secret `{}` and there is no active version to move it "
          "to; it is not destroyed",
          dek.purpose, dek.version, secret.name));
    }
  }
  FERRY_RETURN_IF_ERROR(Step("dek.destroy"));
  KeyringWrite write;
  for (const DekWrapRecord& w : rows.wraps) {
    if (w.purpose == dek.purpose && w.dek_version == dek.version) write.removed_wraps.push_back(w);
  }
  DekRecord destroyed = dek;
  destroyed.state = "destroyed";
  destroyed.destroyed_micros = Now();
  write.deks.push_back(destroyed);
  write.events.push_back(MakeEvent(
      "keyring.dek.destroyed",
      Json{{"purpose", dek.purpose}, {"version", dek.version}, {"resealed_first", resealed}}));
  FERRY_RETURN_IF_ERROR(options_.store->WriteKeyring(write));
  dek_cache_.erase({dek.purpose, dek.version});
  return fmt::format("dek:{} v{} destroyed", dek.purpose, dek.version);
}

Result<RotationReport> Keyring::RotateDue() {
  RotationReport report;
  auto append = [&](const RotationReport& more) {
    report.actions.insert(report.actions.end(), more.actions.begin(), more.actions.end());
  };
  FERRY_ASSIGN_OR_RETURN(KeyringRows rows, options_.store->ReadKeyring());
  const int64_t now = Now();
  auto due = [&](int64_t created, const KeyPolicy& policy) {
    const int64_t age = now - created;
    return (policy.rotate_after_days > 0 && age >= policy.rotate_after_days * kMicrosPerDay) ||
           (policy.expire_after_days > 0 && age >= policy.expire_after_days * kMicrosPerDay);
  };
  // The KEK first, so that new data keys are wrapped under the new KEK.
  FERRY_ASSIGN_OR_RETURN(KeyPolicy kek_policy, PolicyIn(rows, "kek"));
  const KekRecord* active_kek = KekInState(rows, "active");
  if (KekInState(rows, "pending") != nullptr ||
      (active_kek != nullptr && due(active_kek->created_micros, kek_policy))) {
    FERRY_ASSIGN_OR_RETURN(RotationReport kek, RotateKek());
    append(kek);
  }
  std::set<std::string> purposes;
  for (const DekRecord& dek : rows.deks) purposes.insert(dek.purpose);
  for (const std::string& purpose : purposes) {
    FERRY_ASSIGN_OR_RETURN(KeyPolicy policy, PolicyIn(rows, DekKeyName(purpose)));
    const DekRecord* active = DekInState(rows, purpose, "active");
    if (DekInState(rows, purpose, "pending") != nullptr ||
        (active != nullptr && due(active->created_micros, policy))) {
      FERRY_ASSIGN_OR_RETURN(RotationReport dek, RotateDek(purpose));
      append(dek);
    }
  }
  // Retired versions past their grace period.
  FERRY_ASSIGN_OR_RETURN(rows, options_.store->ReadKeyring());
  for (const DekRecord& dek : rows.deks) {
    if (dek.state != "retired") continue;
    FERRY_ASSIGN_OR_RETURN(KeyPolicy policy, PolicyIn(rows, DekKeyName(dek.purpose)));
    if (now < dek.retired_micros + policy.destroy_after_days * kMicrosPerDay) continue;
    FERRY_ASSIGN_OR_RETURN(KeyringRows fresh, options_.store->ReadKeyring());
    FERRY_ASSIGN_OR_RETURN(std::string line, DestroyDek(std::move(fresh), dek));
    report.actions.push_back(line);
  }
  for (const KekRecord& kek : rows.keks) {
    if (kek.state != "retired") continue;
    if (now < kek.retired_micros + kek_policy.destroy_after_days * kMicrosPerDay) continue;
    FERRY_ASSIGN_OR_RETURN(KeyringRows fresh, options_.store->ReadKeyring());
    FERRY_ASSIGN_OR_RETURN(std::string line, DestroyKek(std::move(fresh), kek));
    report.actions.push_back(line);
  }
  return report;
}

Result<std::vector<KeyVersionStatus>> Keyring::KeyStatus() {
  FERRY_ASSIGN_OR_RETURN(KeyringRows rows, options_.store->ReadKeyring());
  FERRY_ASSIGN_OR_RETURN(std::vector<SecretRecord> secrets, options_.store->ListSecrets(false));
  const int64_t now = Now();
  std::vector<KeyVersionStatus> out;
  auto fill = [&](KeyVersionStatus& s, int64_t created, int64_t retired) {
    s.created_micros = created;
    s.age_days = (now - created) / kMicrosPerDay;
    if (s.state == "active") {
      s.rotation_due = s.policy.rotate_after_days > 0 &&
                       now - created >= s.policy.rotate_after_days * kMicrosPerDay;
      s.expired = s.policy.expire_after_days > 0 &&
                  now - created >= s.policy.expire_after_days * kMicrosPerDay;
    }
    if (s.state == "retired") {
      s.destroy_at_micros = retired + s.policy.destroy_after_days * kMicrosPerDay;
      s.destruction_due = now >= s.destroy_at_micros;
    }
  };
  FERRY_ASSIGN_OR_RETURN(KeyPolicy kek_policy, PolicyIn(rows, "kek"));
  for (const KekRecord& kek : rows.keks) {
    KeyVersionStatus s{.key = "kek",
                       .version = kek.version,
                       .state = kek.state,
                       .where = KekWhere(kek),
                       .policy = kek_policy};
    fill(s, kek.created_micros, kek.retired_micros);
    out.push_back(std::move(s));
  }
  for (const DekRecord& dek : rows.deks) {
    FERRY_ASSIGN_OR_RETURN(KeyPolicy policy, PolicyIn(rows, DekKeyName(dek.purpose)));
    std::vector<std::string> under;
    for (const DekWrapRecord& w : rows.wraps) {
      if (w.purpose == dek.purpose && w.dek_version == dek.version) {
        under.push_back(fmt::format("v{}", w.kek_version));
      }
    }
    KeyVersionStatus s{.key = DekKeyName(dek.purpose),
                       .version = dek.version,
                       .state = dek.state,
                       .where = under.empty()
                                    ? std::string("no wrapping")
                                    : fmt::format("wrapped under KEK {}", fmt::join(under, ", ")),
                       .policy = policy};
    for (const SecretRecord& secret : secrets) {
      s.secrets += secret.purpose == dek.purpose && secret.dek_version == dek.version;
    }
    fill(s, dek.created_micros, dek.retired_micros);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ferry::keyring
