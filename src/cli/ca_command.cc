// `ferry ca init|issue|renew|report`: the local certificate authority (docs/crypto.md,
// "Certificates").
#include <time.h>

#include <cctype>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "crypto/ca.h"
#include "store/store.h"

namespace ferry {
namespace {

struct CaFlags {
  std::string dir, name = "ferry migration CA", out_dir;
  std::vector<std::string> allow, names, scan, inventories;
  bool from_store = false;
  int validity_days = 90, renew_before_days = 30, ca_validity_days = 3650, within_days = 30;
  std::string key_type = "ec-p256";
  bool due = false;
};

nlohmann::ordered_json CertJson(const crypto::CertInfo& c, int64_t now) {
  return {{"path", c.path},
          {"subject", c.subject},
          {"names", c.names},
          {"serial", c.serial},
          {"not_after", c.not_after},
          {"days_left", c.days_left(now)},
          {"key", c.key_type},
          {"signature", c.signature},
          {"quantum_vulnerable", c.quantum_vulnerable},
          {"weakness", c.weakness}};
}

void Print(CommandContext& context, const std::vector<crypto::CertInfo>& certs, int64_t now) {
  if (context.json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& c : certs) list.push_back(CertJson(c, now));
    context.out << list.dump(2) << "\n";
    return;
  }
  for (const auto& c : certs) {
    context.out << fmt::format(
        "{:<40} {:>5} days  {:<9} {}{}\n",
        c.names.empty() ? c.subject : fmt::format("{}", fmt::join(c.names, ",")), c.days_left(now),
        c.key_type, c.path, c.weakness.empty() ? "" : "  WEAK: " + c.weakness);
  }
}

Result<int> RunInit(CommandContext& context, const CaFlags& f) {
  crypto::CaPolicy p{f.validity_days, f.renew_before_days, f.key_type, f.allow};
  FERRY_ASSIGN_OR_RETURN(
      crypto::CertificateAuthority ca,
      crypto::CertificateAuthority::Init(context.env, f.dir, f.name, p, f.ca_validity_days));
  context.err << "ferry: CA \"" << f.name << "\" created in " << f.dir
              << " (ca.key 0600, ca.crt, policy.json): issues "
              << fmt::format("{}", fmt::join(f.allow, ", ")) << " for " << f.validity_days
              << " days, renews " << f.renew_before_days << " days before expiry\n";
  return kExitOk;
}

Result<int> RunIssue(CommandContext& context, const CaFlags& f) {
  FERRY_ASSIGN_OR_RETURN(crypto::CertificateAuthority ca,
                         crypto::CertificateAuthority::Open(context.env, f.dir));
  FERRY_ASSIGN_OR_RETURN(crypto::CertInfo c, ca.Issue(f.names, f.out_dir));
  Print(context, {c}, context.env->NowMicros() / 1000000);
  return kExitOk;
}

Result<int> RunRenew(CommandContext& context, const CaFlags& f) {
  if (!f.due)
    return Err(InvalidArgument("ferry ca renew renews what its policy says is due: pass --due"));
  FERRY_ASSIGN_OR_RETURN(crypto::CertificateAuthority ca,
                         crypto::CertificateAuthority::Open(context.env, f.dir));
  FERRY_ASSIGN_OR_RETURN(std::vector<crypto::CertInfo> renewed, ca.RenewDue());
  Print(context, renewed, context.env->NowMicros() / 1000000);
  if (!context.json) context.err << "ferry: " << renewed.size() << " certificate(s) renewed\n";
  return kExitOk;
}

// "2027-01-31T12:00:00Z" to unix seconds; 0 when absent or malformed.
int64_t Rfc3339(const nlohmann::json& j) {
  if (!j.is_string()) return 0;
  struct tm tm{};
  if (strptime(j.get<std::string>().c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

// The certificates `ferry discover` found on a host (docs/inventory.schema.json, "certificates"),
// as the report sees them; `where` names the inventory.
void CertificatesOfInventory(const std::string& text, const std::string& where,
                             std::vector<crypto::CertInfo>* out) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object() || !doc.contains("certificates") || !doc["certificates"].is_array()) return;
  const std::string host = doc.contains("host") && doc["host"].is_object()
                               ? doc["host"].value("hostname", where)
                               : where;
  for (const nlohmann::json& c : doc["certificates"]) {
    crypto::CertInfo info;
    info.path = host + ":" + c.value("path", "");
    info.subject = c.value("subject", "");
    info.issuer = c.value("issuer", "");
    if (c.contains("sans") && c["sans"].is_array()) {
      for (const auto& san : c["sans"]) {
        const std::string v = san.is_string() ? san.get<std::string>() : "";
        if (v.starts_with("DNS:")) info.names.push_back(v.substr(4));
      }
    }
    info.not_after = Rfc3339(c.value("not_after", nlohmann::json()));
    const std::string type =
        c.value("key_type", nlohmann::json()).is_string() ? c["key_type"].get<std::string>() : "?";
    const int bits =
        c.value("key_bits", nlohmann::json()).is_number_integer() ? c["key_bits"].get<int>() : 0;
    info.key_type = bits > 0 ? fmt::format("{} {}", type, bits) : type;
    info.signature = c.value("signature_algorithm", nlohmann::json()).is_string()
                         ? c["signature_algorithm"].get<std::string>()
                         : "";
    info.quantum_vulnerable = !c.value("quantum_safe", false);
    if ((type == "RSA" || type == "rsa") && bits > 0 && bits < 2048)
      info.weakness = fmt::format("RSA key of {} bits (under 2048)", bits);
    std::string lower = info.signature;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower.find("sha1") != std::string::npos || lower.find("md5") != std::string::npos) {
      info.weakness +=
          (info.weakness.empty() ? "" : "; ") + std::string("signed with ") + info.signature;
    }
    out->push_back(std::move(info));
  }
}

Result<int> RunReport(CommandContext& context, const CaFlags& f) {
  std::vector<crypto::CertInfo> certs;
  if (!f.dir.empty()) {
    FERRY_ASSIGN_OR_RETURN(crypto::CertificateAuthority ca,
                           crypto::CertificateAuthority::Open(context.env, f.dir));
    FERRY_ASSIGN_OR_RETURN(certs, ca.Inventory());
  }
  FERRY_ASSIGN_OR_RETURN(std::vector<crypto::CertInfo> found,
                         crypto::ScanCertificates(context.env, f.scan));
  certs.insert(certs.end(), found.begin(), found.end());
  for (const std::string& path : f.inventories) {
    FERRY_ASSIGN_OR_RETURN(std::string text, context.env->ReadFile(path));
    CertificatesOfInventory(text, path, &certs);
  }
  if (f.from_store) {
    FERRY_ASSIGN_OR_RETURN(auto store, Store::Open(context.store_url, {.env = context.env}));
    FERRY_ASSIGN_OR_RETURN(std::vector<InventoryRecord> saved, store->ListInventories());
    for (const InventoryRecord& r : saved) CertificatesOfInventory(r.document, r.name, &certs);
  }
  const int64_t now = context.env->NowMicros() / 1000000;
  std::vector<crypto::CertInfo> flagged;
  int expiring = 0, weak = 0, quantum = 0;
  for (const auto& c : certs) {
    const bool soon = c.days_left(now) <= f.within_days;
    expiring += soon;
    weak += !c.weakness.empty();
    quantum += c.quantum_vulnerable;
    if (soon || !c.weakness.empty() || c.quantum_vulnerable) flagged.push_back(c);
  }
  Print(context, flagged, now);
  if (!context.json) {
    context.out << fmt::format(
        "{} certificate(s): {} expire within {} days, {} weak, {} with quantum-vulnerable keys "
        "(RSA, ECDSA, EdDSA: to be replaced when post-quantum certificates are accepted)\n",
        certs.size(), expiring, f.within_days, weak, quantum);
  }
  return expiring + weak > 0 ? kExitCheckFailed : kExitOk;
}

}  // namespace

std::vector<CommandSpec> CaCommands() {
  auto init = std::make_shared<CaFlags>();
  auto issue = std::make_shared<CaFlags>();
  auto renew = std::make_shared<CaFlags>();
  auto report = std::make_shared<CaFlags>();
  const std::string group = "A local certificate authority: issue, renew by policy, report";
  return {
      {.path = {"ca", "init"},
       .group_help = group,
       .help = "Create a CA (key, self-signed certificate, policy) in a new directory",
       .add_options =
           [init](CLI::App& app) {
             app.add_option("--dir", init->dir, "The CA's directory")->required();
             app.add_option("--name", init->name, "The CA's common name");
             app.add_option("--allow-name", init->allow,
                            "A name or *.domain pattern it may issue (repeatable)")
                 ->required();
             app.add_option("--validity-days", init->validity_days,
                            "Validity of issued certificates (90)");
             app.add_option("--renew-before-days", init->renew_before_days,
                            "Renew this many days before expiry (30)");
             app.add_option("--key-type", init->key_type,
                            "ec-p256 (default), ec-p384, rsa-3072, ed25519");
             app.add_option("--ca-validity-days", init->ca_validity_days,
                            "Validity of the CA certificate (3650)");
           },
       .run = [init](CommandContext& c) { return RunInit(c, *init); }},
      {.path = {"ca", "issue"},
       .group_help = group,
       .help = "Issue a key and certificate for names the policy allows",
       .add_options =
           [issue](CLI::App& app) {
             app.add_option("--dir", issue->dir, "The CA's directory")->required();
             app.add_option("--name", issue->names, "A DNS name (repeatable; the first is the CN)")
                 ->required();
             app.add_option("--out-dir", issue->out_dir, "Where NAME.key and NAME.crt go")
                 ->required();
           },
       .run = [issue](CommandContext& c) { return RunIssue(c, *issue); }},
      {.path = {"ca", "renew"},
       .group_help = group,
       .help = "Renew every certificate the CA issued that is within its renew window",
       .add_options =
           [renew](CLI::App& app) {
             app.add_option("--dir", renew->dir, "The CA's directory")->required();
             app.add_flag("--due", renew->due, "Renew what is due (required)");
           },
       .run = [renew](CommandContext& c) { return RunRenew(c, *renew); }},
      {.path = {"ca", "report"},
       .group_help = group,
       .help = "Certificates expiring soon, weak or quantum-vulnerable: the CA's and any found in "
               "files; exit 1 if any "
               "expire soon or are weak",
       .add_options =
           [report](CLI::App& app) {
             app.add_option("--dir", report->dir, "A CA's directory (its inventory)");
             app.add_option("--scan", report->scan,
                            "Files or directories of certificates (repeatable)");
             app.add_option("--within-days", report->within_days,
                            "Expiring within this many days (30)");
             app.add_option("--inventory", report->inventories,
                            "A `ferry discover` inventory (JSON): the certificates found on its "
                            "host (repeatable)");
             app.add_flag("--from-store", report->from_store,
                          "Also every inventory saved in the store (`ferry discover --save`)");
           },
       .run = [report](CommandContext& c) { return RunReport(c, *report); }},
  };
}

}  // namespace ferry
