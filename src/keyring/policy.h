// Key lifecycle policy: when a key version is due for rotation, when it expires, and how long a
// retired version is kept before it is destroyed.
//
// A policy applies to a key name: "kek" (the key-encryption key), "dek:<purpose>" (one data key,
// e.g. "dek:secrets") or "dek:*" (every data key without its own). The policy file is JSON:
//
//   {"kek":         {"rotate_after_days": 365, "expire_after_days": 730, "destroy_after_days": 30},
//    "dek:*":       {"rotate_after_days": 90},
//    "dek:secrets": {"rotate_after_days": 30, "expire_after_days": 60}}
//
// A field left out keeps the default; 0 means never (no rotation due, no expiry, destroyed at the
// first `ferry keys rotate --due` after retirement).
#ifndef FERRY_KEYRING_POLICY_H_
#define FERRY_KEYRING_POLICY_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/status.h"

namespace ferry::keyring {

struct KeyPolicy {
  // Age of the active version after which `ferry keys rotate --due` rotates it. Shorter limits
  // what one leaked version exposes; each KEK rotation re-wraps every data key, each data-key
  // rotation re-encrypts its values.
  int64_t rotate_after_days = 90;
  // Age after which the active version is no longer used to protect anything new (a put or a
  // new wrapping is refused until it is rotated). Reading stays possible.
  int64_t expire_after_days = 180;
  // Days a retired version is kept (still able to read what it protected, as a way back) before
  // `--due` destroys it.
  int64_t destroy_after_days = 30;

  bool operator==(const KeyPolicy&) const = default;
};

// Built-in defaults: the KEK rotates yearly and expires after two years; data keys rotate every
// 90 days and expire after 180; retired versions of either are kept 30 days.
KeyPolicy DefaultPolicy(std::string_view key);

// Whether `key` is a key name a policy may be set for: "kek", "dek:*" or "dek:<purpose>".
Status CheckKeyName(std::string_view key);

// Reads one policy from JSON, starting from `base` for fields left out. `where` names the source
// for messages ("policy file p.json, key dek:secrets").
Result<KeyPolicy> PolicyFromJson(const Json& json, const KeyPolicy& base, std::string_view where);
Json PolicyToJson(const KeyPolicy& policy);

// A whole policy file: key name -> policy (fields left out take the default of that key).
Result<std::map<std::string, KeyPolicy>> ParsePolicyFile(std::string_view text,
                                                         std::string_view path);

}  // namespace ferry::keyring

#endif  // FERRY_KEYRING_POLICY_H_
