#include "keyring/policy.h"

#include <fmt/format.h>

namespace ferry::keyring {

KeyPolicy DefaultPolicy(std::string_view key) {
  if (key == "kek") {
    return {.rotate_after_days = 365, .expire_after_days = 730, .destroy_after_days = 30};
  }
  return {.rotate_after_days = 90, .expire_after_days = 180, .destroy_after_days = 30};
}

Status CheckKeyName(std::string_view key) {
  if (key == "kek" || key == "dek:*") return OkStatus();
  if (key.starts_with("dek:") && key.size() > 4) {
    for (char c : key.substr(4)) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
        return InvalidArgument(
            "key `{}`: a purpose is letters, digits, '-', '_' and '.' (e.g. dek:secrets)", key);
      }
    }
    return OkStatus();
  }
  return InvalidArgument(
      "key `{}` is not a key name: use kek, dek:* or dek:PURPOSE (e.g. "
      "dek:secrets)",
      key);
}

Result<KeyPolicy> PolicyFromJson(const Json& json, const KeyPolicy& base, std::string_view where) {
  if (!json.is_object()) {
    return Err(
        InvalidArgument("{}: a policy is an object such as {{\"rotate_after_days\": 90}}", where));
  }
  KeyPolicy policy = base;
  for (const auto& [field, value] : json.items()) {
    int64_t* target = field == "rotate_after_days"    ? &policy.rotate_after_days
                      : field == "expire_after_days"  ? &policy.expire_after_days
                      : field == "destroy_after_days" ? &policy.destroy_after_days
                                                      : nullptr;
    if (target == nullptr) {
      return Err(InvalidArgument(
          "{}: unknown field `{}`; a policy has rotate_after_days, expire_after_days and "
          "destroy_after_days",
          where, field));
    }
    if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 36500) {
      return Err(InvalidArgument("{}: `{}` is {}; give whole days from 0 (never) to 36500", where,
                                 field, value.dump()));
    }
    *target = value.get<int64_t>();
  }
  if (policy.expire_after_days != 0 && policy.rotate_after_days != 0 &&
      policy.expire_after_days < policy.rotate_after_days) {
    return Err(InvalidArgument(
        "{}: expire_after_days ({}) is shorter than rotate_after_days ({}): a key would expire "
        "before it is due for rotation; make expiry at least the rotation period",
        where, policy.expire_after_days, policy.rotate_after_days));
  }
  return policy;
}

Json PolicyToJson(const KeyPolicy& policy) {
  return Json{{"rotate_after_days", policy.rotate_after_days},
              {"expire_after_days", policy.expire_after_days},
              {"destroy_after_days", policy.destroy_after_days}};
}

Result<std::map<std::string, KeyPolicy>> ParsePolicyFile(std::string_view text,
                                                         std::string_view path) {
  const Json json = Json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return Err(InvalidArgument(
        "policy file {}: not a JSON object of key names to policies, e.g. {{\"kek\": "
        "{{\"rotate_after_days\": 365}}}}",
        path));
  }
  std::map<std::string, KeyPolicy> policies;
  for (const auto& [key, value] : json.items()) {
    FERRY_RETURN_IF_ERROR(CheckKeyName(key).WithContext(fmt::format("policy file {}", path)));
    FERRY_ASSIGN_OR_RETURN(KeyPolicy policy,
                           PolicyFromJson(value, DefaultPolicy(key),
                                          fmt::format("policy file {}, key {}", path, key)));
    policies[key] = policy;
  }
  return policies;
}

}  // namespace ferry::keyring
