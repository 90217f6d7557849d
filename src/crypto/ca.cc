#include "crypto/ca.h"

#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace ferry::crypto {
namespace {

using nlohmann::json;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string SslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  char b[256];
  ERR_error_string_n(e, b, sizeof b);
  return e == 0 ? "no OpenSSL error" : b;
}

Result<PkeyPtr> NewKey(const std::string& type) {
  EVP_PKEY* k = nullptr;
  if (type == "ec-p256")
    k = EVP_EC_gen("P-256");
  else if (type == "ec-p384")
    k = EVP_EC_gen("P-384");
  else if (type == "rsa-3072")
    k = EVP_RSA_gen(3072);
  else if (type == "ed25519")
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  else
    return Err(
        InvalidArgument("key type {} is not one of ec-p256, ec-p384, rsa-3072, ed25519", type));
  if (k == nullptr) return Err(Internal("key generation failed: {}", SslError()));
  return PkeyPtr(k);
}

std::string Pem(EVP_PKEY* key) {
  BioPtr b(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(b.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  const long n = BIO_get_mem_data(b.get(), &p);
  return std::string(p, static_cast<size_t>(n));
}
std::string Pem(X509* cert) {
  BioPtr b(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(b.get(), cert);
  char* p = nullptr;
  const long n = BIO_get_mem_data(b.get(), &p);
  return std::string(p, static_cast<size_t>(n));
}

Status WritePrivate(Env* env, const std::string& path, std::string_view data) {
  FERRY_RETURN_IF_ERROR(env->WriteFileAtomic(path, data));
  if (::chmod(path.c_str(), 0600) != 0)
    return Internal("chmod 0600 {}: {}", path, std::strerror(errno));
  return OkStatus();
}

int64_t AsnTime(const ASN1_TIME* t) {
  struct tm tm{};
  ASN1_TIME_to_tm(t, &tm);
  return static_cast<int64_t>(timegm(&tm));
}

std::string Name(const X509_NAME* n) {
  char b[512];
  X509_NAME_oneline(n, b, sizeof b);
  return b;
}

CertInfo Describe(X509* x, const std::string& path) {
  CertInfo c;
  c.path = path;
  c.subject = Name(X509_get_subject_name(x));
  c.issuer = Name(X509_get_issuer_name(x));
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(x), nullptr);
  char* hex = BN_bn2hex(bn);
  c.serial = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  c.not_before = AsnTime(X509_get0_notBefore(x));
  c.not_after = AsnTime(X509_get0_notAfter(x));
  if (auto* sans = static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
      if (g->type == GEN_DNS)
        c.names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)));
    }
    GENERAL_NAMES_free(sans);
  }
  EVP_PKEY* k = X509_get0_pubkey(x);
  const int id = k ? EVP_PKEY_get_base_id(k) : 0;
  const int bits = k ? EVP_PKEY_get_bits(k) : 0;
  if (id == EVP_PKEY_RSA) {
    c.key_type = fmt::format("RSA {}", bits);
    if (bits < 2048) c.weakness = fmt::format("RSA key of {} bits (under 2048)", bits);
  } else if (id == EVP_PKEY_EC) {
    c.key_type = fmt::format("EC {}", bits);
  } else if (id == EVP_PKEY_ED25519) {
    c.key_type = "Ed25519";
  } else {
    c.key_type = k ? OBJ_nid2sn(id) : "unknown";
    c.quantum_vulnerable = false;
  }
  const int sig_nid = X509_get_signature_nid(x);
  c.signature = OBJ_nid2ln(sig_nid);
  if (sig_nid == NID_sha1WithRSAEncryption || sig_nid == NID_ecdsa_with_SHA1 ||
      sig_nid == NID_md5WithRSAEncryption) {
    c.weakness += (c.weakness.empty() ? "" : "; ") + std::string("signed with ") + c.signature;
  }
  return c;
}

Result<X509Ptr> ParsePem(const std::string& text, const std::string& path) {
  BioPtr b(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  X509* x = PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr);
  if (x == nullptr) {
    ERR_clear_error();
    return Err(InvalidArgument("{}: not a PEM certificate", path));
  }
  return X509Ptr(x);
}

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext) {
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
}

Result<X509Ptr> MakeCert(EVP_PKEY* subject_key, const std::string& cn,
                         const std::vector<std::string>& names, X509* issuer, EVP_PKEY* issuer_key,
                         int64_t now, int days, bool is_ca) {
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  uint8_t serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  X509_time_adj_ex(X509_getm_notBefore(x.get()), 0, -300, reinterpret_cast<time_t*>(&now));
  X509_time_adj_ex(X509_getm_notAfter(x.get()), days, 0, reinterpret_cast<time_t*>(&now));
  X509_NAME* n = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : n);
  X509_set_pubkey(x.get(), subject_key);
  X509* iss = issuer ? issuer : x.get();
  if (is_ca) {
    AddExt(x.get(), iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    AddExt(x.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExt(x.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
    AddExt(x.get(), iss, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    AddExt(x.get(), iss, NID_ext_key_usage, "serverAuth,clientAuth");
    std::string san;
    for (const std::string& name : names) san += (san.empty() ? "DNS:" : ",DNS:") + name;
    AddExt(x.get(), iss, NID_subject_alt_name, san.c_str());
  }
  AddExt(x.get(), iss, NID_subject_key_identifier, "hash");
  const EVP_MD* md = EVP_PKEY_get_base_id(issuer_key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  if (X509_sign(x.get(), issuer_key, md) <= 0)
    return Err(Internal("signing the certificate failed: {}", SslError()));
  return x;
}

Status Validate(const CaPolicy& p) {
  if (p.validity_days <= 0 || p.renew_before_days < 0 || p.renew_before_days >= p.validity_days) {
    return InvalidArgument(
        "policy: validity {} days and renew {} days before expiry: renewal must come after issue "
        "and "
        "before expiry",
        p.validity_days, p.renew_before_days);
  }
  if (p.allowed_names.empty())
    return InvalidArgument("policy: no allowed names (--allow-name): the CA would issue nothing");
  return OkStatus();
}

json PolicyJson(const CaPolicy& p) {
  return {{"validity_days", p.validity_days},
          {"renew_before_days", p.renew_before_days},
          {"key_type", p.key_type},
          {"allowed_names", p.allowed_names}};
}

}  // namespace

bool NameAllowed(const CaPolicy& policy, const std::string& name) {
  for (const std::string& pattern : policy.allowed_names) {
    if (pattern == name) return true;
    if (pattern.starts_with("*.")) {
      const std::string suffix = pattern.substr(1);
      if (name.size() > suffix.size() && name.ends_with(suffix) &&
          name.substr(0, name.size() - suffix.size()).find('.') == std::string::npos) {
        return true;
      }
    }
  }
  return false;
}

Result<CertInfo> ReadCertificate(Env* env, const std::string& path) {
  FERRY_ASSIGN_OR_RETURN(std::string text, env->ReadFile(path));
  FERRY_ASSIGN_OR_RETURN(X509Ptr x, ParsePem(text, path));
  return Describe(x.get(), path);
}

Result<std::vector<CertInfo>> ScanCertificates(Env* env, const std::vector<std::string>& paths) {
  std::vector<CertInfo> out;
  for (const std::string& p : paths) {
    std::error_code ec;
    std::vector<std::string> files;
    if (std::filesystem::is_directory(p, ec)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p, ec)) {
        const std::string ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".crt" || ext == ".pem" || ext == ".cer"))
          files.push_back(e.path().string());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(p);
    }
    for (const std::string& f : files) {
      Result<CertInfo> c = ReadCertificate(env, f);
      if (c.has_value()) {
        out.push_back(std::move(*c));
      } else if (!std::filesystem::is_directory(p, ec)) {
        return Err(c.error());  // a file named explicitly must be a certificate
      }
    }
  }
  return out;
}

Result<CertificateAuthority> CertificateAuthority::Init(Env* env, const std::string& dir,
                                                        const std::string& name,
                                                        const CaPolicy& policy,
                                                        int ca_validity_days) {
  FERRY_RETURN_IF_ERROR(Validate(policy));
  if (env->FileExists(dir + "/ca.key")) {
    return Err(AlreadyExists(
        "{}/ca.key exists: a CA is already there; ferry never overwrites a CA key", dir));
  }
  FERRY_ASSIGN_OR_RETURN(PkeyPtr key, NewKey(policy.key_type));
  const int64_t now = env->NowMicros() / 1000000;
  FERRY_ASSIGN_OR_RETURN(
      X509Ptr cert, MakeCert(key.get(), name, {}, nullptr, key.get(), now, ca_validity_days, true));
  FERRY_RETURN_IF_ERROR(env->CreateDirs(dir));
  FERRY_RETURN_IF_ERROR(WritePrivate(env, dir + "/ca.key", Pem(key.get())));
  FERRY_RETURN_IF_ERROR(env->WriteFileAtomic(dir + "/ca.crt", Pem(cert.get())));
  FERRY_RETURN_IF_ERROR(
      env->WriteFileAtomic(dir + "/policy.json", PolicyJson(policy).dump(2) + "\n"));
  FERRY_RETURN_IF_ERROR(env->WriteFileAtomic(dir + "/inventory.json", "[]\n"));
  return CertificateAuthority(env, dir, policy);
}

Result<CertificateAuthority> CertificateAuthority::Open(Env* env, const std::string& dir) {
  Result<std::string> text = env->ReadFile(dir + "/policy.json");
  if (!text.has_value())
    return Err(
        NotFound("{} is not a ferry CA (no policy.json): create one with `ferry ca init --dir {}`",
                 dir, dir));
  const json j = json::parse(*text, nullptr, false);
  if (!j.is_object()) return Err(InvalidArgument("{}/policy.json is not JSON", dir));
  CaPolicy p;
  p.validity_days = j.value("validity_days", 90);
  p.renew_before_days = j.value("renew_before_days", 30);
  p.key_type = j.value("key_type", "ec-p256");
  p.allowed_names = j.value("allowed_names", std::vector<std::string>{});
  FERRY_RETURN_IF_ERROR(Validate(p));
  return CertificateAuthority(env, dir, p);
}

Result<std::vector<CertInfo>> CertificateAuthority::Inventory() {
  FERRY_ASSIGN_OR_RETURN(std::string text, env_->ReadFile(dir_ + "/inventory.json"));
  const json j = json::parse(text, nullptr, false);
  if (!j.is_array()) return Err(InvalidArgument("{}/inventory.json is not a JSON array", dir_));
  std::vector<CertInfo> out;
  for (const json& e : j) {
    Result<CertInfo> c = ReadCertificate(env_, e.value("cert", ""));
    if (!c.has_value())
      return Err(NotFound("the inventory lists {}, which cannot be read: {}", e.value("cert", ""),
                          c.error().message()));
    out.push_back(std::move(*c));
  }
  return out;
}

Result<CertInfo> CertificateAuthority::Issue(const std::vector<std::string>& names,
                                             const std::string& out_dir) {
  if (names.empty()) return Err(InvalidArgument("a certificate needs at least one name"));
  for (const std::string& n : names) {
    if (!NameAllowed(policy_, n)) {
      return Err(
          PermissionDenied("{} is outside the CA's policy (allowed: {}); add a pattern to "
                           "{}/policy.json if it should be",
                           n, fmt::join(policy_.allowed_names, ", "), dir_));
    }
  }
  FERRY_ASSIGN_OR_RETURN(std::string ca_key_pem, env_->ReadFile(dir_ + "/ca.key"));
  FERRY_ASSIGN_OR_RETURN(std::string ca_crt_pem, env_->ReadFile(dir_ + "/ca.crt"));
  BioPtr kb(BIO_new_mem_buf(ca_key_pem.data(), static_cast<int>(ca_key_pem.size())));
  PkeyPtr ca_key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (!ca_key) return Err(InvalidArgument("{}/ca.key is not a PEM private key", dir_));
  FERRY_ASSIGN_OR_RETURN(X509Ptr ca_cert, ParsePem(ca_crt_pem, dir_ + "/ca.crt"));
  FERRY_ASSIGN_OR_RETURN(PkeyPtr key, NewKey(policy_.key_type));
  const int64_t now = env_->NowMicros() / 1000000;
  FERRY_ASSIGN_OR_RETURN(X509Ptr cert, MakeCert(key.get(), names.front(), names, ca_cert.get(),
                                                ca_key.get(), now, policy_.validity_days, false));
  FERRY_RETURN_IF_ERROR(env_->CreateDirs(out_dir));
  const std::string base = out_dir + "/" + names.front();
  FERRY_RETURN_IF_ERROR(WritePrivate(env_, base + ".key", Pem(key.get())));
  FERRY_RETURN_IF_ERROR(env_->WriteFileAtomic(base + ".crt", Pem(cert.get())));
  FERRY_ASSIGN_OR_RETURN(std::string inv_text, env_->ReadFile(dir_ + "/inventory.json"));
  json inv = json::parse(inv_text, nullptr, false);
  if (!inv.is_array()) inv = json::array();
  json kept = json::array();
  for (const json& e : inv) {
    if (e.value("cert", "") != base + ".crt") kept.push_back(e);
  }
  kept.push_back({{"names", names}, {"cert", base + ".crt"}, {"key", base + ".key"}});
  FERRY_RETURN_IF_ERROR(env_->WriteFileAtomic(dir_ + "/inventory.json", kept.dump(2) + "\n"));
  return Describe(cert.get(), base + ".crt");
}

Result<std::vector<CertInfo>> CertificateAuthority::Due() {
  FERRY_ASSIGN_OR_RETURN(std::vector<CertInfo> all, Inventory());
  const int64_t now = env_->NowMicros() / 1000000;
  std::vector<CertInfo> due;
  for (CertInfo& c : all) {
    if (c.not_after - now <= int64_t{policy_.renew_before_days} * 86400)
      due.push_back(std::move(c));
  }
  return due;
}

Result<std::vector<CertInfo>> CertificateAuthority::RenewDue() {
  FERRY_ASSIGN_OR_RETURN(std::vector<CertInfo> due, Due());
  std::vector<CertInfo> renewed;
  for (const CertInfo& c : due) {
    const std::string dir = std::filesystem::path(c.path).parent_path().string();
    FERRY_ASSIGN_OR_RETURN(CertInfo fresh, Issue(c.names, dir));
    renewed.push_back(std::move(fresh));
  }
  return renewed;
}

}  // namespace ferry::crypto
