#include "discover/certificates.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <set>
#include <vector>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace ferry::discover_internal {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

struct Location {
  std::string_view path;
  int depth;  // directory levels below `path` to descend into
};

// Where servers keep their certificates. /etc/ssl itself at depth 0: its certs/ directory is the
// trust store (counted apart) and private/ holds keys.
constexpr std::array<Location, 25> kLocations = {{
    {"/etc/ssl", 0},
    {"/etc/pki/tls", 0},
    {"/etc/pki/tls/certs", 0},
    {"/etc/nginx", 4},
    {"/etc/apache2", 4},
    {"/etc/httpd", 4},
    {"/etc/letsencrypt/live", 2},
    {"/etc/postgresql", 4},
    {"/var/lib/postgresql", 2},
    {"/var/lib/pgsql", 2},
    {"/etc/mysql", 3},
    {"/var/lib/mysql", 0},
    {"/etc/haproxy", 3},
    {"/etc/dovecot", 3},
    {"/etc/postfix", 2},
    {"/etc/exim4", 2},
    {"/etc/openvpn", 3},
    {"/etc/ipsec.d/certs", 1},
    {"/etc/kubernetes/pki", 2},
    {"/etc/docker/certs.d", 2},
    {"/etc/grafana", 2},
    {"/etc/rabbitmq", 2},
    {"/etc/redis", 2},
    {"/etc/ldap", 2},
    {"/etc/openldap", 2},
}};

constexpr size_t kMaxCertificateFileBytes = 1 << 20;
// A file of this many CA certificates and nothing else is a trust bundle, not a server's chain.
constexpr size_t kTrustBundleMinCertificates = 10;

bool HasCertificateExtension(std::string_view name) {
  for (std::string_view ext : {".pem", ".crt", ".cer", ".cert", ".der"}) {
    if (name.size() > ext.size() && name.ends_with(ext)) return true;
  }
  return false;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const auto size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

std::string NameText(const X509_NAME* name) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return BioText(bio.get());
}

std::optional<int64_t> TimeOf(const ASN1_TIME* time) {
  tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) return std::nullopt;
  return static_cast<int64_t>(::timegm(&parts));
}

std::string ObjectText(const ASN1_OBJECT* object) {
  char text[128] = {};
  OBJ_obj2txt(text, sizeof(text), object, /*no_name=*/1);
  return text;
}

Json SubjectAltNames(X509* certificate) {
  Json sans = Json::array();
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return sans;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    auto text = [](const ASN1_STRING* s) {
      return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<size_t>(ASN1_STRING_length(s)));
    };
    switch (name->type) {
      case GEN_DNS: sans.push_back("DNS:" + text(name->d.dNSName)); break;
      case GEN_EMAIL: sans.push_back("email:" + text(name->d.rfc822Name)); break;
      case GEN_URI: sans.push_back("URI:" + text(name->d.uniformResourceIdentifier)); break;
      case GEN_IPADD: {
        const ASN1_OCTET_STRING* ip = name->d.iPAddress;
        char buffer[INET6_ADDRSTRLEN] = {};
        const int length = ASN1_STRING_length(ip);
        const int family = length == 4 ? AF_INET : length == 16 ? AF_INET6 : 0;
        if (family != 0 && ::inet_ntop(family, ASN1_STRING_get0_data(ip), buffer, sizeof(buffer))) {
          sans.push_back(std::string("IP:") + buffer);
        }
        break;
      }
      default: break;
    }
  }
  GENERAL_NAMES_free(names);
  return sans;
}

std::vector<X509Ptr> LoadCertificates(std::string_view content) {
  std::vector<X509Ptr> certificates;
  if (content.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos ||
      content.find("-----BEGIN TRUSTED CERTIFICATE-----") != std::string_view::npos) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(content.data(), static_cast<int>(content.size())), &BIO_free);
    // PEM_read_bio_X509 skips blocks of other kinds (a key in a combined file) on its way.
    while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      certificates.emplace_back(certificate);
    }
  } else if (!content.empty() && static_cast<unsigned char>(content.front()) == 0x30) {
    const auto* data = reinterpret_cast<const unsigned char*>(content.data());
    // NOLINTNEXTLINE(google-runtime-int): the type d2i_X509 takes
    if (X509* certificate = d2i_X509(nullptr, &data, static_cast<long>(content.size()))) {
      certificates.emplace_back(certificate);
    }
  }
  ERR_clear_error();  // the end of the PEM stream is reported as an error
  return certificates;
}

int CountOf(std::string_view text, std::string_view needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

}  // namespace

std::optional<KeyAlgorithm> PostQuantumAlgorithmOfOid(std::string_view oid) {
  // NIST CSOR "Computer Security Objects Register", sigAlgs arc 2.16.840.1.101.3.4.3.
  static constexpr std::string_view kSigAlgs = "2.16.840.1.101.3.4.3.";
  static constexpr std::array<std::string_view, 30> kNist = {"ML-DSA-44",
                                                             "ML-DSA-65",
                                                             "ML-DSA-87",
                                                             "SLH-DSA-SHA2-128s",
                                                             "SLH-DSA-SHA2-128f",
                                                             "SLH-DSA-SHA2-192s",
                                                             "SLH-DSA-SHA2-192f",
                                                             "SLH-DSA-SHA2-256s",
                                                             "SLH-DSA-SHA2-256f",
                                                             "SLH-DSA-SHAKE-128s",
                                                             "SLH-DSA-SHAKE-128f",
                                                             "SLH-DSA-SHAKE-192s",
                                                             "SLH-DSA-SHAKE-192f",
                                                             "SLH-DSA-SHAKE-256s",
                                                             "SLH-DSA-SHAKE-256f",
                                                             "HashML-DSA-44",
                                                             "HashML-DSA-65",
                                                             "HashML-DSA-87",
                                                             "HashSLH-DSA-SHA2-128s",
                                                             "HashSLH-DSA-SHA2-128f",
                                                             "HashSLH-DSA-SHA2-192s",
                                                             "HashSLH-DSA-SHA2-192f",
                                                             "HashSLH-DSA-SHA2-256s",
                                                             "HashSLH-DSA-SHA2-256f",
                                                             "HashSLH-DSA-SHAKE-128s",
                                                             "HashSLH-DSA-SHAKE-128f",
                                                             "HashSLH-DSA-SHAKE-192s",
                                                             "HashSLH-DSA-SHAKE-192f",
                                                             "HashSLH-DSA-SHAKE-256s",
                                                             "HashSLH-DSA-SHAKE-256f"};
  if (oid.starts_with(kSigAlgs)) {
    auto arc = ParseUint(oid.substr(kSigAlgs.size()));
    // id-ml-dsa-44 is arc 17; the list runs on without a gap to id-hash-slh-dsa-shake-256f (46).
    if (arc && *arc >= 17 && *arc < 17 + kNist.size()) {
      return KeyAlgorithm{std::string(kNist[*arc - 17]), true};
    }
    return std::nullopt;
  }
  if (oid == "1.2.840.113549.1.9.16.3.17") return KeyAlgorithm{"HSS-LMS", true};  // RFC 8708
  if (oid == "0.4.0.127.0.15.1.1.13.0") return KeyAlgorithm{"XMSS", true};        // RFC 9802
  if (oid == "0.4.0.127.0.15.1.1.14.0") return KeyAlgorithm{"XMSS^MT", true};
  return std::nullopt;
}

Result<std::optional<Json>> ParseCertificateFile(std::string_view content, const std::string& path,
                                                 int64_t now_unix) {
  std::vector<X509Ptr> certificates = LoadCertificates(content);
  if (certificates.empty()) {
    if (content.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
      return Err(
          InvalidArgument("{}: holds a PEM certificate block that OpenSSL cannot parse", path));
    }
    return std::optional<Json>();
  }
  X509* certificate = certificates.front().get();
  Json entry;
  entry["path"] = path;
  entry["subject"] = NameText(X509_get_subject_name(certificate));
  entry["issuer"] = NameText(X509_get_issuer_name(certificate));
  {
    BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr);
    char* hex = serial != nullptr ? BN_bn2hex(serial) : nullptr;
    entry["serial"] = hex != nullptr ? Json(std::string(hex)) : Json(nullptr);
    OPENSSL_free(hex);
    BN_free(serial);
  }
  entry["sans"] = SubjectAltNames(certificate);

  // The key: OpenSSL 3.0 decodes RSA, DSA, EC and Edwards keys; a post-quantum key it cannot
  // decode is still named by its algorithm's OID.
  ASN1_OBJECT* algorithm = nullptr;
  X509_PUBKEY_get0_param(&algorithm, nullptr, nullptr, nullptr, X509_get_X509_PUBKEY(certificate));
  const std::string key_oid = algorithm != nullptr ? ObjectText(algorithm) : "";
  Json key_type = nullptr, key_bits = nullptr, curve = nullptr;
  bool quantum_safe = false;
  if (auto pq = PostQuantumAlgorithmOfOid(key_oid)) {
    key_type = pq->name;
    quantum_safe = pq->quantum_safe;
  } else if (EVP_PKEY* key = X509_get0_pubkey(certificate)) {
    switch (EVP_PKEY_get_base_id(key)) {
      case EVP_PKEY_RSA: key_type = "RSA"; break;
      case EVP_PKEY_RSA_PSS: key_type = "RSA-PSS"; break;
      case EVP_PKEY_DSA: key_type = "DSA"; break;
      case EVP_PKEY_EC: key_type = "EC"; break;
      case EVP_PKEY_ED25519: key_type = "Ed25519"; break;
      case EVP_PKEY_ED448: key_type = "Ed448"; break;
      default: {
        const char* name = EVP_PKEY_get0_type_name(key);
        key_type = name != nullptr ? Json(name) : Json(key_oid);
      }
    }
    key_bits = EVP_PKEY_get_bits(key);
    char group[64] = {};
    size_t group_length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &group_length) == 1) {
      curve = std::string(group, group_length);
    }
  } else {
    key_type = key_oid.empty() ? Json(nullptr) : Json(key_oid);
  }
  ERR_clear_error();
  entry["key_type"] = std::move(key_type);
  entry["key_bits"] = std::move(key_bits);
  entry["curve"] = std::move(curve);
  entry["quantum_safe"] = quantum_safe;

  const int signature_nid = X509_get_signature_nid(certificate);
  if (signature_nid != NID_undef) {
    entry["signature_algorithm"] = OBJ_nid2ln(signature_nid);
  } else {
    const X509_ALGOR* signature = nullptr;
    X509_get0_signature(nullptr, &signature, certificate);
    const ASN1_OBJECT* object = nullptr;
    X509_ALGOR_get0(&object, nullptr, nullptr, signature);
    std::string oid = object != nullptr ? ObjectText(object) : "";
    if (auto pq = PostQuantumAlgorithmOfOid(oid)) oid = pq->name;
    entry["signature_algorithm"] = oid.empty() ? Json(nullptr) : Json(oid);
  }

  std::optional<int64_t> not_before = TimeOf(X509_get0_notBefore(certificate));
  std::optional<int64_t> not_after = TimeOf(X509_get0_notAfter(certificate));
  entry["not_before"] = not_before ? Json(IsoTimeUtc(*not_before)) : Json(nullptr);
  entry["not_after"] = not_after ? Json(IsoTimeUtc(*not_after)) : Json(nullptr);
  if (not_after.has_value()) {
    // Whole days left, rounded down: 0 on the last day, negative once expired.
    const auto days =
        static_cast<int64_t>(std::floor(static_cast<double>(*not_after - now_unix) / 86400.0));
    entry["days_to_expiry"] = days;
    entry["expired"] = *not_after < now_unix;
  } else {
    entry["days_to_expiry"] = nullptr;
    entry["expired"] = nullptr;
  }
  entry["is_ca"] = X509_check_ca(certificate) == 1;
  entry["self_signed"] = X509_self_signed(certificate, /*verify_signature=*/0) == 1;

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (X509_digest(certificate, EVP_sha256(), digest, &digest_length) == 1) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < digest_length; ++i) {
      hex.push_back(kHex[digest[i] >> 4]);
      hex.push_back(kHex[digest[i] & 15]);
    }
    entry["fingerprint_sha256"] = hex;
  } else {
    entry["fingerprint_sha256"] = nullptr;
  }
  entry["certificates_in_file"] = certificates.size();
  ERR_clear_error();

  if (certificates.size() >= kTrustBundleMinCertificates &&
      std::all_of(certificates.begin(), certificates.end(),
                  [](const X509Ptr& c) { return X509_check_ca(c.get()) == 1; })) {
    entry["trust_bundle"] = true;
  }
  return std::optional<Json>(std::move(entry));
}

Json CollectCertificates(const HostRoot& root, int64_t now_unix, UnseenLog* unseen) {
  Json certificates = Json::array();
  std::set<std::string> seen_files;  // real paths: letsencrypt's live/ links into archive/
  std::set<std::string> seen_dirs;
  std::string content;
  std::vector<HostRoot::Entry> entries;

  auto real_path = [&](const std::string& path) {
    char* resolved = ::realpath(root.Path(path).c_str(), nullptr);
    std::string result = resolved != nullptr ? resolved : root.Path(path);
    ::free(resolved);
    return result;
  };

  // Depth-first, files in name order.
  auto scan = [&](auto& self, const std::string& dir, int depth_left) -> void {
    if (!seen_dirs.insert(real_path(dir)).second) return;
    int error = root.ListEntries(dir, &entries);
    if (error != 0) {
      if (!IsVanished(error) && error != ENOTDIR) {
        NoteUnreadable(unseen, dir, error, "certificates in directories only their owner may read");
      }
      return;
    }
    std::vector<HostRoot::Entry> sorted = entries;
    std::sort(sorted.begin(), sorted.end(),
              [](const HostRoot::Entry& a, const HostRoot::Entry& b) { return a.name < b.name; });
    std::vector<std::string> subdirs;
    for (const HostRoot::Entry& entry : sorted) {
      const std::string path = dir + "/" + entry.name;
      const bool maybe_dir =
          entry.type == DT_DIR || entry.type == DT_LNK || entry.type == DT_UNKNOWN;
      if (maybe_dir && root.IsDirectory(path)) {
        if (depth_left > 0) subdirs.push_back(path);
        continue;
      }
      if (!HasCertificateExtension(entry.name)) continue;
      struct stat st{};
      if (::stat(root.Path(path).c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
          static_cast<size_t>(st.st_size) > kMaxCertificateFileBytes) {
        continue;
      }
      if (!seen_files.insert(real_path(path)).second) continue;
      error = root.Read(path, &content);
      if (error != 0) {
        if (!IsVanished(error)) {
          NoteUnreadable(unseen, path, error, "certificate files only their owner may read");
        }
        continue;
      }
      Result<std::optional<Json>> parsed = ParseCertificateFile(content, path, now_unix);
      if (!parsed.has_value()) {
        unseen->Add("certificate files OpenSSL cannot parse", parsed.error().message(), path);
        continue;
      }
      if (!parsed->has_value()) continue;                 // a key, a request, a parameter file
      if ((**parsed).contains("trust_bundle")) continue;  // counted in the trust store
      certificates.push_back(std::move(**parsed));
    }
    for (const std::string& subdir : subdirs) self(self, subdir, depth_left - 1);
  };
  for (const Location& location : kLocations) {
    if (root.IsDirectory(location.path)) scan(scan, std::string(location.path), location.depth);
  }

  // The trust store: counted, not listed.
  Json trust_paths = Json::array();
  int64_t trust_count = 0;
  if (root.ListEntries("/etc/ssl/certs", &entries) == 0) {
    for (const HostRoot::Entry& entry : entries) {
      if (entry.name.ends_with(".pem") || entry.name.ends_with(".crt")) {
        if (entry.name != "ca-certificates.crt") ++trust_count;
      }
    }
    trust_paths.push_back("/etc/ssl/certs");
  }
  for (std::string_view bundle :
       {"/etc/pki/tls/certs/ca-bundle.crt", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"}) {
    if (trust_count == 0 && root.Read(bundle, &content) == 0) {
      trust_count = CountOf(content, "-----BEGIN CERTIFICATE-----");
      trust_paths.push_back(bundle);
    }
  }
  return {{"certificates", std::move(certificates)},
          {"trust_store", {{"paths", std::move(trust_paths)}, {"certificates", trust_count}}}};
}

}  // namespace ferry::discover_internal
