// X.509 certificates on disk, parsed with OpenSSL: subject, issuer, SANs, key type and size,
// validity, days to expiry, and whether the key resists a quantum computer. Private to
// discover.
//
// Where (docs/discover.md): the server certificates of the usual places (/etc/ssl/*.pem,
// /etc/pki/tls/certs, /etc/nginx, /etc/apache2, /etc/httpd, /etc/letsencrypt/live,
// /etc/postgresql, /var/lib/postgresql, /etc/mysql, /var/lib/mysql, /etc/haproxy, mail servers,
// /etc/kubernetes/pki, ...), files named *.pem, *.crt, *.cer, *.cert or *.der. The system trust
// store (/etc/ssl/certs, ca-bundle files) is counted, not listed: it is the same on every host
// of a distribution and says nothing about the host. Private keys are never read.
//
// quantum_safe: RSA, DSA, elliptic-curve and Edwards keys are broken by Shor's algorithm, so they
// are `false`; only the NIST post-quantum signatures (ML-DSA, FIPS 204; SLH-DSA, FIPS 205;
// their pre-hash forms) and the stateful hash-based LMS/HSS (RFC 8554) and XMSS (RFC 8391) are
// `true`. They are recognised by the OID of the key, which OpenSSL 3.0 cannot decode yet.
#ifndef FERRY_DISCOVER_CERTIFICATES_H_
#define FERRY_DISCOVER_CERTIFICATES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/status.h"
#include "discover/host_files.h"
#include "discover/unseen.h"

namespace ferry::discover_internal {

struct KeyAlgorithm {
  std::string name;  // "ML-DSA-65", "SLH-DSA-SHA2-128s", "LMS"...
  bool quantum_safe = false;
};
// The post-quantum signature algorithms, by the dotted OID of a certificate's public key.
std::optional<KeyAlgorithm> PostQuantumAlgorithmOfOid(std::string_view oid);

// The certificates of one file (PEM, one or more; or one DER) as an inventory entry for the
// first: {"path", "subject", "issuer", "serial", "sans", "key_type", "key_bits", "curve",
// "signature_algorithm", "not_before", "not_after", "days_to_expiry", "expired", "is_ca",
// "self_signed", "quantum_safe", "fingerprint_sha256", "certificates_in_file"}. nullopt when
// the file holds no certificate (a key, a CSR, anything else); InvalidArgument when it claims
// one that does not parse.
[[nodiscard]] Result<std::optional<Json>> ParseCertificateFile(std::string_view content,
                                                               const std::string& path,
                                                               int64_t now_unix);

// {"certificates": [...], "trust_store": {"paths": [...], "certificates": N}}
Json CollectCertificates(const HostRoot& root, int64_t now_unix, UnseenLog* unseen);

}  // namespace ferry::discover_internal

#endif  // FERRY_DISCOVER_CERTIFICATES_H_
