// Who is calling the API (docs/api.md "Authentication"): API keys and console sessions.
//
// An API key is shown once, as `fry_<id>_<secret>`: 16 hex digits of public id, then 64 hex
// digits (256 bits) of secret. A console session token, from POST /api/v1/session, has the same
// shape with the prefix `frs_`. The store keeps the id and HMAC-SHA256(salt, secret) with a
// random 16-byte salt per key: a stolen store gives no usable token, and the secrets carry
// 256 bits of entropy, so a slow password hash would add cost and no safety. Checks compare
// hashes in constant time.
//
// A key has a role (viewer < operator < admin) and may expire; a revoked or expired key, and
// every session opened with it, is refused from the next request on (sessions are checked
// against their key at each use).
//
// Thread-safety: Authenticator may be used from any thread.
#ifndef FERRY_SERVER_AUTH_H_
#define FERRY_SERVER_AUTH_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/env.h"
#include "base/status.h"
#include "store/store.h"
#include "workflow/engine.h"

namespace ferry::server {

using workflow::Role;

inline constexpr std::string_view kApiKeyPrefix = "fry_";
inline constexpr std::string_view kSessionPrefix = "frs_";
inline constexpr int64_t kSessionMicros = int64_t{12} * 3600 * 1'000'000;  // 12 h

using workflow::ParseRole;
using workflow::RoleName;

// A token split into its parts. kUnauthenticated for anything that is not one (the message
// says what shape is expected, never echoing the token).
struct TokenParts {
  bool session = false;
  std::string id;
  std::string secret;
};
Result<TokenParts> ParseToken(std::string_view token);

// Lower-case hex of HMAC-SHA256(key = salt bytes, message = secret).
std::string HashSecret(std::string_view salt_hex, std::string_view secret);

// A key as made: the token (shown once) and its row.
struct NewApiKey {
  std::string token;
  ApiKeyRecord record;
};

// Makes a key with a random id and secret and saves it (an `api-key.created` event by
// `actor`). `expires_micros` 0: never. kInvalidArgument for an empty or over-long name.
Result<NewApiKey> CreateApiKey(Store* store, std::string_view name, Role role,
                               int64_t expires_micros, std::string_view actor);

// Who a request is from.
struct Principal {
  std::string actor;  // "key:<name>" for an API key, "console:<name>" for a session
  std::string name;   // the key's name
  Role role = Role::kViewer;
  std::string key_id;
  bool session = false;
  int64_t expires_micros = 0;  // of the key, or of the session (0: never)
};

struct NewSession {
  std::string token;
  Principal principal;
};

class Authenticator {
 public:
  // `store` and `env` are not owned and must outlive the authenticator.
  Authenticator(Store* store, Env* env);

  // The principal of a bearer token. kUnauthenticated, saying why (malformed, unknown, wrong
  // secret, expired, revoked), for any token that does not stand for a key in force.
  Result<Principal> Authenticate(std::string_view token);

  // Opens a console session for an API key (not a session token): valid `ttl_micros`, never
  // beyond the key's expiry. kUnauthenticated as Authenticate.
  Result<NewSession> OpenSession(std::string_view api_key, int64_t ttl_micros = kSessionMicros);

  // Forgets what was cached about `key_id`: call after revoking it.
  void Forget(std::string_view key_id);

 private:
  Result<ApiKeyRecord> KeyInForce(std::string_view id, std::string_view what);

  Store* const store_;
  Env* const env_;
  // Verified tokens, by SHA-256 of the token, for kCacheMicros: a burst of requests with one
  // token costs one store read and one HMAC. Revocation through this server clears the entry at
  // once (Forget); revocation by another process takes effect within kCacheMicros.
  static constexpr int64_t kCacheMicros = 1'000'000;
  struct Cached {
    Principal principal;
    int64_t checked_micros = 0;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;  // GUARDED_BY(mu_)
};

}  // namespace ferry::server

#endif  // FERRY_SERVER_AUTH_H_
