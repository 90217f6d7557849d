#include "crypto/key_migration.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "crypto/random.h"

namespace ferry::crypto {
namespace {

nlohmann::ordered_json KeyJson(const TokenKey& k) {
  return {{"class", k.object_class},  {"type", k.key_type},
          {"label", k.label},         {"id", k.id},
          {"bits", k.bits},           {"token", k.token},
          {"sensitive", k.sensitive}, {"extractable", k.extractable},
          {"encrypt", k.encrypt},     {"decrypt", k.decrypt},
          {"sign", k.sign},           {"verify", k.verify},
          {"wrap", k.wrap},           {"unwrap", k.unwrap}};
}

bool Movable(const TokenKey& k) {
  return (k.object_class == "secret" && k.key_type == "AES") ||
         (k.object_class == "private" && (k.key_type == "RSA" || k.key_type == "EC"));
}

// The public half of a private key: same label and id, class public.
std::optional<TokenKey> PublicOf(Pkcs11Session& s, const TokenKey& k) {
  Result<std::vector<TokenKey>> found = s.Find(k.label, k.id);
  if (!found.has_value()) return std::nullopt;
  for (const TokenKey& f : *found) {
    if (f.object_class == "public" && f.key_type == k.key_type) return f;
  }
  return std::nullopt;
}

// Proves that `copy` in the target is the same key as `original` in the source.
Result<std::string> Prove(Pkcs11Session& source, const TokenKey& original, Pkcs11Session& target,
                          const TokenKey& copy) {
  FERRY_ASSIGN_OR_RETURN(SecretBytes challenge, RandomSecret(32));
  if (original.object_class == "secret") {
    Bytes iv(16);
    FERRY_RETURN_IF_ERROR(FillRandom(iv));
    FERRY_ASSIGN_OR_RETURN(Bytes ct, source.Encrypt(original.handle, iv, challenge));
    FERRY_ASSIGN_OR_RETURN(Bytes pt, target.Decrypt(copy.handle, iv, ct));
    if (!ConstantTimeEqual(pt, challenge))
      return Err(Unauthenticated("the target's copy decrypts the challenge to other bytes"));
    return std::string(
        "a random challenge encrypted in the source (AES-CBC-PAD) decrypts in the target");
  }
  std::optional<TokenKey> pub = PublicOf(source, original);
  if (!pub)
    return Err(FailedPrecondition(
        "the source has no public key with the label and id of this private key to verify with"));
  FERRY_ASSIGN_OR_RETURN(Bytes sig, target.Sign(copy.handle, copy.key_type, challenge));
  FERRY_RETURN_IF_ERROR(source.Verify(pub->handle, original.key_type, challenge, sig));
  return fmt::format(
      "a random challenge signed in the target ({}) verifies with the source's public key",
      original.key_type == "EC" ? "ECDSA over SHA-256" : "RSA PKCS#1 v1.5 with SHA-256");
}

}  // namespace

std::string KeyMigrationReport::ToJson() const {
  nlohmann::ordered_json keys_json = nlohmann::ordered_json::array();
  for (const KeyMigrationOutcome& o : keys) {
    nlohmann::ordered_json j = {{"label", o.before.label},
                                {"id", o.before.id},
                                {"status", o.status},
                                {"before", KeyJson(o.before)}};
    j["after"] = o.after ? KeyJson(*o.after) : nlohmann::ordered_json(nullptr);
    if (!o.proof.empty()) j["proof"] = o.proof;
    if (!o.reason.empty()) j["reason"] = o.reason;
    keys_json.push_back(std::move(j));
  }
  return nlohmann::ordered_json{
      {"source_token", source_token}, {"target_token", target_token}, {"moved", moved},
      {"already_there", already},     {"not_moved", not_moved},       {"keys", keys_json}}
      .dump(2);
}

Result<KeyMigrationReport> MigrateKeys(Pkcs11Session& source, Pkcs11Session& target,
                                       const std::vector<std::string>& labels) {
  KeyMigrationReport report{source.token_label(), target.token_label(), {}, 0, 0, 0};
  FERRY_ASSIGN_OR_RETURN(std::vector<TokenKey> all, source.Keys());
  std::vector<TokenKey> selected;
  for (const TokenKey& k : all) {
    if (k.object_class == "public" || !k.token) continue;
    if (!labels.empty() && std::find(labels.begin(), labels.end(), k.label) == labels.end())
      continue;
    selected.push_back(k);
  }
  std::sort(selected.begin(), selected.end(),
            [](const TokenKey& a, const TokenKey& b) { return a.label < b.label; });

  // The transport key, agreed once (session objects: gone when the sessions close).
  Bytes transport_id(8);
  FERRY_RETURN_IF_ERROR(FillRandom(transport_id));
  FERRY_ASSIGN_OR_RETURN(auto target_rsa,
                         target.GenerateRsa("ferry-transport", transport_id, 3072, false, false));
  FERRY_ASSIGN_OR_RETURN(uint64_t source_rsa_pub,
                         source.CopyPublicKey(target, target_rsa.first, false, true));
  FERRY_ASSIGN_OR_RETURN(uint64_t source_aes,
                         source.GenerateAes("ferry-transport", transport_id, 256, true, false));
  FERRY_ASSIGN_OR_RETURN(Bytes wrapped_transport, source.Wrap(source_rsa_pub, source_aes));
  TokenKey transport_like;
  transport_like.object_class = "secret";
  transport_like.key_type = "AES";
  transport_like.label = "ferry-transport";
  transport_like.id = Hex(transport_id);
  transport_like.wrap = transport_like.unwrap = true;
  FERRY_ASSIGN_OR_RETURN(uint64_t target_aes, target.Unwrap(target_rsa.second, wrapped_transport,
                                                            transport_like, false));

  for (const TokenKey& k : selected) {
    KeyMigrationOutcome o{k, std::nullopt, "not moved", "", ""};
    auto done = [&]() {
      if (o.status == "moved")
        ++report.moved;
      else if (o.status == "already there")
        ++report.already;
      else
        ++report.not_moved;
      report.keys.push_back(std::move(o));
    };
    // Resume: the same key may already be on the target.
    FERRY_ASSIGN_OR_RETURN(std::vector<TokenKey> existing, target.Find(k.label, k.id));
    auto there = std::find_if(existing.begin(), existing.end(), [&](const TokenKey& e) {
      return e.object_class == k.object_class && e.key_type == k.key_type;
    });
    if (there != existing.end()) {
      Result<std::string> proof = Prove(source, k, target, *there);
      if (proof.has_value()) {
        o.status = "already there";
        o.after = *there;
        o.proof = *proof;
      } else {
        o.reason = "the target already holds a different key with this label and id (" +
                   proof.error().message() + "); remove or relabel it and run again";
      }
      done();
      continue;
    }
    if (!Movable(k)) {
      o.reason = fmt::format(
          "a {} {} key: ferry moves and proves AES secret keys and RSA and EC private keys",
          k.key_type, k.object_class);
      done();
      continue;
    }
    if (!k.extractable) {
      o.reason =
          "CKA_EXTRACTABLE is false: the token will not let this key leave it, even wrapped; "
          "re-create it on the "
          "target, or export it by the HSM vendor's own key-ceremony procedure";
      done();
      continue;
    }
    Result<Bytes> wrapped = source.Wrap(source_aes, k.handle);
    if (!wrapped.has_value()) {
      o.reason = "the source token refused to wrap it: " + wrapped.error().message();
      done();
      continue;
    }
    Result<uint64_t> copy = target.Unwrap(target_aes, *wrapped, k, true);
    Wipe(*wrapped);
    if (!copy.has_value()) {
      o.reason = "the target token refused to unwrap it: " + copy.error().message();
      done();
      continue;
    }
    FERRY_ASSIGN_OR_RETURN(TokenKey after, target.Describe(*copy));
    Result<std::string> proof = Prove(source, k, target, after);
    if (!proof.has_value()) {
      target.Destroy(*copy).IgnoreError();
      o.reason =
          "moved, but the proof failed, so the copy was destroyed: " + proof.error().message();
      done();
      continue;
    }
    // The public half of a pair goes too (public keys move in clear).
    if (k.object_class == "private") {
      if (std::optional<TokenKey> pub = PublicOf(source, k)) {
        FERRY_ASSIGN_OR_RETURN(std::vector<TokenKey> target_pubs, target.Find(k.label, k.id));
        const bool has_pub =
            std::any_of(target_pubs.begin(), target_pubs.end(),
                        [](const TokenKey& e) { return e.object_class == "public"; });
        if (!has_pub) {
          Result<uint64_t> copied = target.CopyPublicKey(source, pub->handle, true, false);
          if (!copied.has_value()) return Err(copied.error());
        }
      }
    }
    o.status = "moved";
    o.after = after;
    o.proof = *proof;
    done();
  }
  target.Destroy(target_aes).IgnoreError();
  target.Destroy(target_rsa.first).IgnoreError();
  target.Destroy(target_rsa.second).IgnoreError();
  source.Destroy(source_aes).IgnoreError();
  source.Destroy(source_rsa_pub).IgnoreError();
  return report;
}

Status RollBackKeyMigration(Pkcs11Session& target, const KeyMigrationReport& report) {
  for (const KeyMigrationOutcome& o : report.keys) {
    if (o.status != "moved") continue;
    FERRY_ASSIGN_OR_RETURN(std::vector<TokenKey> found, target.Find(o.before.label, o.before.id));
    for (const TokenKey& k : found) FERRY_RETURN_IF_ERROR(target.Destroy(k.handle));
  }
  return OkStatus();
}

}  // namespace ferry::crypto
