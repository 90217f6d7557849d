#include "crypto/identity.h"

#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

#include "crypto/classical.h"
#include "crypto/pq.h"
#include "crypto/random.h"
#include "crypto/xwing.h"

namespace ferry::crypto {

namespace {
constexpr std::string_view kRecipientPrefix = "ferry-recipient-v1:";
}

std::string PublicIdentity::Fingerprint() const {
  return Hex(ByteView(Hash(Digest::kSha256, Concat({xwing, ml_dsa_65, ed25519}))).first(16));
}

std::string PublicIdentity::ToText() const {
  return std::string(kRecipientPrefix) + Hex(Concat({xwing, ml_dsa_65, ed25519}));
}

Result<PublicIdentity> PublicIdentity::FromText(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (!text.starts_with(kRecipientPrefix)) {
    return Err(
        InvalidArgument("a recipient starts with \"{}\" (as `ferry crypto keygen` prints it); this "
                        "starts with \"{}\"",
                        kRecipientPrefix, text.substr(0, 24)));
  }
  FERRY_ASSIGN_OR_RETURN(Bytes all, FromHex(text.substr(kRecipientPrefix.size())));
  constexpr size_t kSize = XWing::kPublicKey + 1952 + 32;
  if (all.size() != kSize) {
    return Err(InvalidArgument(
        "a recipient holds {} bytes of keys; this one holds {}: it is cut short or not a recipient",
        kSize, all.size()));
  }
  PublicIdentity p;
  p.xwing.assign(all.begin(), all.begin() + XWing::kPublicKey);
  p.ml_dsa_65.assign(all.begin() + XWing::kPublicKey, all.begin() + XWing::kPublicKey + 1952);
  p.ed25519.assign(all.end() - 32, all.end());
  FERRY_RETURN_IF_ERROR(MlKem(MlKemLevel::k768).CheckPublicKey(ByteView(p.xwing).first(1184)));
  return p;
}

Result<Identity> Identity::Generate() {
  FERRY_ASSIGN_OR_RETURN(SecretBytes a, RandomSecret(32));
  FERRY_ASSIGN_OR_RETURN(SecretBytes b, RandomSecret(32));
  FERRY_ASSIGN_OR_RETURN(SecretBytes c, RandomSecret(32));
  return FromSeeds(a, b, c);
}

Result<Identity> Identity::FromSeeds(ByteView xwing, ByteView ml_dsa_65, ByteView ed25519) {
  Identity id;
  FERRY_ASSIGN_OR_RETURN(KemKeyPair x, XWing::KeyPairFromSeed(xwing));
  FERRY_ASSIGN_OR_RETURN(SignatureKeyPair d, MlDsa(MlDsaLevel::k65).KeyPairFromSeed(ml_dsa_65));
  FERRY_ASSIGN_OR_RETURN(Bytes e, Ed25519PublicFromPrivate(ed25519));
  id.xwing_seed = SecretBytes(xwing);
  id.ml_dsa_65_seed = SecretBytes(ml_dsa_65);
  id.ed25519_seed = SecretBytes(ed25519);
  id.pub = {std::move(x.public_key), std::move(d.public_key), std::move(e)};
  return id;
}

std::string Identity::ToJson() const {
  nlohmann::ordered_json j = {{"format", "ferry-identity"},
                              {"version", 1},
                              {"fingerprint", pub.Fingerprint()},
                              {"xwing_seed", Hex(xwing_seed)},
                              {"ml_dsa_65_seed", Hex(ml_dsa_65_seed)},
                              {"ed25519_seed", Hex(ed25519_seed)}};
  return j.dump(2) + "\n";
}

Result<Identity> Identity::FromJson(std::string_view text, std::string_view source) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("format", "") != "ferry-identity") {
    return Err(
        InvalidArgument("{}: not a ferry identity (a JSON object with \"format\": "
                        "\"ferry-identity\", as `ferry crypto keygen` writes)",
                        source));
  }
  auto seed = [&](const char* key) -> Result<Bytes> {
    if (!j.contains(key) || !j[key].is_string())
      return Err(InvalidArgument("{}: \"{}\" is missing", source, key));
    Result<Bytes> b = FromHex(j[key].get<std::string>());
    if (!b.has_value())
      return Err(InvalidArgument("{}: \"{}\": {}", source, key, b.error().message()));
    return b;
  };
  FERRY_ASSIGN_OR_RETURN(Bytes a, seed("xwing_seed"));
  FERRY_ASSIGN_OR_RETURN(Bytes b, seed("ml_dsa_65_seed"));
  FERRY_ASSIGN_OR_RETURN(Bytes c, seed("ed25519_seed"));
  Result<Identity> id = FromSeeds(a, b, c);
  Wipe(a);
  Wipe(b);
  Wipe(c);
  if (!id.has_value()) return Err(InvalidArgument("{}: {}", source, id.error().message()));
  if (j.contains("fingerprint") && j["fingerprint"] != id->pub.Fingerprint()) {
    return Err(InvalidArgument(
        "{}: its seeds give fingerprint {}, not the {} it records: the file was altered", source,
        id->pub.Fingerprint(), j["fingerprint"].get<std::string>()));
  }
  return id;
}

namespace {

// An identity's expanded ML-DSA-65 signing key, derived from its seed once per process: the
// derivation costs a third of a signature (on every relay handshake's critical path otherwise).
Result<SecretBytes> SigningKey(const Identity& id) {
  static std::mutex mu;
  static auto* cache = new std::map<std::string, SecretBytes>();
  const std::string fingerprint = id.pub.Fingerprint();
  std::lock_guard lock(mu);
  if (auto it = cache->find(fingerprint); it != cache->end()) return it->second;
  FERRY_ASSIGN_OR_RETURN(SignatureKeyPair kp,
                         MlDsa(MlDsaLevel::k65).KeyPairFromSeed(id.ml_dsa_65_seed));
  return cache->emplace(fingerprint, std::move(kp.secret_key)).first->second;
}

}  // namespace

Result<DualSignature> SignBoth(const Identity& signer, ByteView message, std::string_view context) {
  FERRY_ASSIGN_OR_RETURN(SecretBytes sk, SigningKey(signer));
  DualSignature out;
  FERRY_ASSIGN_OR_RETURN(out.ml_dsa_65, MlDsa(MlDsaLevel::k65).Sign(sk, message, AsBytes(context)));
  FERRY_ASSIGN_OR_RETURN(out.ed25519, Ed25519Sign(signer.ed25519_seed, message));
  return out;
}

std::string FailingSignatures(const PublicIdentity& signer, ByteView message,
                              const DualSignature& signature, std::string_view context) {
  const bool dsa = MlDsa(MlDsaLevel::k65)
                       .Verify(signer.ml_dsa_65, message, signature.ml_dsa_65, AsBytes(context))
                       .ok();
  const bool ed = Ed25519Verify(signer.ed25519, message, signature.ed25519).ok();
  if (dsa && ed) return "";
  if (!dsa && !ed) return "ML-DSA-65 and Ed25519";
  return dsa ? "Ed25519" : "ML-DSA-65";
}

}  // namespace ferry::crypto
