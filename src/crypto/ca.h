// A local certificate authority: issues and renews X.509 certificates by policy (names allowed,
// validity, renew-before window, key type), keeps an inventory of what it issued, and reports
// certificates (its own and any found in files) that expire soon or use keys a quantum computer
// will break. Time comes from the Env, so tests move a fake clock instead of sleeping.
//
// On disk, in the CA's directory: ca.key (PEM, mode 0600), ca.crt, policy.json, inventory.json.
#ifndef FERRY_CRYPTO_CA_H_
#define FERRY_CRYPTO_CA_H_

#include <string>
#include <vector>

#include "base/env.h"
#include "base/status.h"

namespace ferry::crypto {

struct CaPolicy {
  int validity_days = 90;
  int renew_before_days = 30;
  std::string key_type = "ec-p256";        // ec-p256, ec-p384, rsa-3072, ed25519
  std::vector<std::string> allowed_names;  // "db1.bank.internal" or "*.bank.internal"
};

struct CertInfo {
  std::string path;
  std::string subject, issuer, serial;
  std::vector<std::string> names;         // subject alternative names (DNS)
  int64_t not_before = 0, not_after = 0;  // unix seconds
  std::string key_type;                   // "EC P-256", "RSA 2048", "Ed25519", ...
  std::string signature;                  // "ecdsa-with-SHA256", ...
  bool quantum_vulnerable = true;         // RSA, ECDSA and EdDSA all are
  std::string weakness;                   // classical weakness (RSA < 2048, SHA-1), or empty
  int64_t days_left(int64_t now) const { return (not_after - now) / 86400; }
};

[[nodiscard]] Result<CertInfo> ReadCertificate(Env* env, const std::string& path);
// Every certificate in these files and directories (*.crt, *.pem, *.cer; recursively).
[[nodiscard]] Result<std::vector<CertInfo>> ScanCertificates(Env* env,
                                                             const std::vector<std::string>& paths);

class CertificateAuthority {
 public:
  [[nodiscard]] static Result<CertificateAuthority> Init(Env* env, const std::string& dir,
                                                         const std::string& name,
                                                         const CaPolicy& policy,
                                                         int ca_validity_days = 3650);
  [[nodiscard]] static Result<CertificateAuthority> Open(Env* env, const std::string& dir);

  const CaPolicy& policy() const { return policy_; }

  // A key and certificate for `names` (the first is the subject's CN) in out_dir/<first name>.key
  // and .crt; refused, with the policy's patterns, for a name the policy does not allow.
  [[nodiscard]] Result<CertInfo> Issue(const std::vector<std::string>& names,
                                       const std::string& out_dir);
  // The inventory's certificates inside their renew-before window (or already expired).
  [[nodiscard]] Result<std::vector<CertInfo>> Due();
  // Re-issues each due certificate in place (a new key, the same names and paths).
  [[nodiscard]] Result<std::vector<CertInfo>> RenewDue();
  [[nodiscard]] Result<std::vector<CertInfo>> Inventory();

 private:
  CertificateAuthority(Env* env, std::string dir, CaPolicy policy)
      : env_(env), dir_(std::move(dir)), policy_(std::move(policy)) {}
  Env* env_;
  std::string dir_;
  CaPolicy policy_;
};

// Whether `name` matches a policy pattern ("*.a.b" matches one label before ".a.b").
bool NameAllowed(const CaPolicy& policy, const std::string& name);

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_CA_H_
