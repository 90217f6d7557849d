#include "server/auth.h"

#include <array>

#include "base/hash.h"
#include "crypto/bytes.h"
#include "crypto/classical.h"
#include "crypto/random.h"

namespace ferry::server {
namespace {

constexpr size_t kIdHexDigits = 16;
constexpr size_t kSecretHexDigits = 64;
constexpr size_t kMaxNameLength = 64;

bool IsLowerHex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<std::string> RandomHex(size_t bytes) {
  std::vector<uint8_t> buffer(bytes);
  FERRY_RETURN_IF_ERROR(crypto::FillRandom(buffer));
  return crypto::Hex(buffer);
}

Status Refused(std::string_view why) {
  return Unauthenticated(
      "{}; send `Authorization: Bearer fry_...` with an API key in force "
      "(`ferry api-key create`), or a session token from POST /api/v1/session",
      why);
}

bool HashMatches(const std::string& salt, const std::string& expected, std::string_view secret) {
  const std::string actual = HashSecret(salt, secret);
  return crypto::ConstantTimeEqual(crypto::AsBytes(actual), crypto::AsBytes(expected));
}

Status CheckName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return InvalidArgument("API key name `{}`: expected 1 to {} characters", name, kMaxNameLength);
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '@';
    if (!ok) {
      return InvalidArgument(
          "API key name `{}`: use letters, digits and - _ . @ only (it names the actor "
          "`key:{}` in the event log)",
          name, name);
    }
  }
  return OkStatus();
}

}  // namespace

Result<TokenParts> ParseToken(std::string_view token) {
  TokenParts parts;
  if (token.starts_with(kApiKeyPrefix)) {
    parts.session = false;
  } else if (token.starts_with(kSessionPrefix)) {
    parts.session = true;
  } else {
    return Err(
        Refused("the bearer token is neither an API key (fry_...) nor a session token "
                "(frs_...)"));
  }
  std::string_view rest = token.substr(4);
  if (rest.size() != kIdHexDigits + 1 + kSecretHexDigits || rest[kIdHexDigits] != '_' ||
      !IsLowerHex(rest.substr(0, kIdHexDigits)) || !IsLowerHex(rest.substr(kIdHexDigits + 1))) {
    return Err(Refused(fmt::format(
        "the bearer token is malformed: expected {}<16 hex digits>_<64 hex digits>, as printed "
        "when it was made",
        parts.session ? kSessionPrefix : kApiKeyPrefix)));
  }
  parts.id = std::string(rest.substr(0, kIdHexDigits));
  parts.secret = std::string(rest.substr(kIdHexDigits + 1));
  return parts;
}

std::string HashSecret(std::string_view salt_hex, std::string_view secret) {
  Result<crypto::Bytes> salt = crypto::FromHex(salt_hex);
  const crypto::Bytes key =
      salt.has_value() ? *salt : crypto::Bytes(salt_hex.begin(), salt_hex.end());
  return crypto::Hex(crypto::Hmac(crypto::Digest::kSha256, key, crypto::AsBytes(secret)));
}

Result<NewApiKey> CreateApiKey(Store* store, std::string_view name, Role role,
                               int64_t expires_micros, std::string_view actor) {
  FERRY_RETURN_IF_ERROR(CheckName(name));
  FERRY_ASSIGN_OR_RETURN(std::string id, RandomHex(kIdHexDigits / 2));
  FERRY_ASSIGN_OR_RETURN(std::string secret, RandomHex(kSecretHexDigits / 2));
  FERRY_ASSIGN_OR_RETURN(std::string salt, RandomHex(16));
  NewApiKey made;
  made.record = {.id = id,
                 .name = std::string(name),
                 .role = std::string(RoleName(role)),
                 .salt = salt,
                 .secret_hash = HashSecret(salt, secret),
                 .created_by = std::string(actor),
                 .expires_micros = expires_micros};
  FERRY_RETURN_IF_ERROR(store->CreateApiKey(made.record, actor));
  FERRY_ASSIGN_OR_RETURN(std::optional<ApiKeyRecord> saved, store->GetApiKey(id));
  if (saved.has_value()) made.record = *saved;
  made.token = fmt::format("{}{}_{}", kApiKeyPrefix, id, secret);
  return made;
}

Authenticator::Authenticator(Store* store, Env* env) : store_(store), env_(env) {}

Result<ApiKeyRecord> Authenticator::KeyInForce(std::string_view id, std::string_view what) {
  FERRY_ASSIGN_OR_RETURN(std::optional<ApiKeyRecord> key, store_->GetApiKey(id));
  if (!key.has_value()) {
    return Err(Refused(fmt::format("{}: no API key has id {}", what, id)));
  }
  if (key->revoked_micros != 0) {
    return Err(Refused(fmt::format("{}: API key `{}` (id {}) was revoked", what, key->name, id)));
  }
  if (key->expires_micros != 0 && key->expires_micros <= env_->NowMicros()) {
    return Err(Refused(fmt::format("{}: API key `{}` (id {}) has expired", what, key->name, id)));
  }
  return *key;
}

Result<Principal> Authenticator::Authenticate(std::string_view token) {
  const std::string fingerprint = Sha256Hex(token);
  const int64_t now = env_->NowMicros();
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(fingerprint);
    if (it != cache_.end()) {
      const Cached& cached = it->second;
      const bool fresh = env_->MonotonicMicros() - cached.checked_micros < kCacheMicros;
      const bool valid =
          cached.principal.expires_micros == 0 || cached.principal.expires_micros > now;
      if (fresh && valid) return cached.principal;
      cache_.erase(it);
    }
  }
  FERRY_ASSIGN_OR_RETURN(TokenParts parts, ParseToken(token));
  Principal principal;
  if (parts.session) {
    FERRY_ASSIGN_OR_RETURN(std::optional<ApiSessionRecord> session,
                           store_->GetApiSession(parts.id));
    if (!session.has_value() || !HashMatches(session->salt, session->secret_hash, parts.secret)) {
      return Err(
          Refused("the session token is not known (it may have ended when its key was "
                  "revoked); sign in again"));
    }
    if (session->expires_micros <= now) {
      return Err(Refused("the session has expired; sign in again"));
    }
    FERRY_ASSIGN_OR_RETURN(ApiKeyRecord key, KeyInForce(session->key_id, "the session's key"));
    FERRY_ASSIGN_OR_RETURN(principal.role, ParseRole(key.role));
    principal.actor = "console:" + key.name;
    principal.name = key.name;
    principal.key_id = key.id;
    principal.session = true;
    principal.expires_micros = session->expires_micros;
    if (key.expires_micros != 0 && key.expires_micros < principal.expires_micros) {
      principal.expires_micros = key.expires_micros;
    }
  } else {
    FERRY_ASSIGN_OR_RETURN(ApiKeyRecord key, KeyInForce(parts.id, "the bearer token"));
    if (!HashMatches(key.salt, key.secret_hash, parts.secret)) {
      return Err(Refused(fmt::format("the secret of API key id {} does not match", parts.id)));
    }
    FERRY_ASSIGN_OR_RETURN(principal.role, ParseRole(key.role));
    principal.actor = "key:" + key.name;
    principal.name = key.name;
    principal.key_id = key.id;
    principal.expires_micros = key.expires_micros;
  }
  std::lock_guard lock(mu_);
  if (cache_.size() > 10'000) cache_.clear();  // bounded: tokens are few, garbage is not kept
  cache_[fingerprint] = {principal, env_->MonotonicMicros()};
  return principal;
}

Result<NewSession> Authenticator::OpenSession(std::string_view api_key, int64_t ttl_micros) {
  FERRY_ASSIGN_OR_RETURN(TokenParts parts, ParseToken(api_key));
  if (parts.session) {
    return Err(Refused("a session is opened with an API key (fry_...), not with a session token"));
  }
  FERRY_ASSIGN_OR_RETURN(Principal key, Authenticate(api_key));
  FERRY_ASSIGN_OR_RETURN(std::string id, RandomHex(kIdHexDigits / 2));
  FERRY_ASSIGN_OR_RETURN(std::string secret, RandomHex(kSecretHexDigits / 2));
  FERRY_ASSIGN_OR_RETURN(std::string salt, RandomHex(16));
  int64_t expires = env_->NowMicros() + ttl_micros;
  if (key.expires_micros != 0 && key.expires_micros < expires) expires = key.expires_micros;
  ApiSessionRecord session{.id = id,
                           .key_id = key.key_id,
                           .salt = salt,
                           .secret_hash = HashSecret(salt, secret),
                           .expires_micros = expires};
  FERRY_RETURN_IF_ERROR(store_->CreateApiSession(session, key.actor));
  NewSession made;
  made.token = fmt::format("{}{}_{}", kSessionPrefix, id, secret);
  made.principal = key;
  made.principal.actor = "console:" + key.name;
  made.principal.session = true;
  made.principal.expires_micros = expires;
  return made;
}

void Authenticator::Forget(std::string_view key_id) {
  std::lock_guard lock(mu_);
  std::erase_if(cache_, [&](const auto& entry) { return entry.second.principal.key_id == key_id; });
}

}  // namespace ferry::server
