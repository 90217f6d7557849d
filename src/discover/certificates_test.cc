#include "discover/certificates.h"

#include <time.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/env.h"
#include "discover/fixture.h"
#include "harness/process.h"

namespace ferry::discover_internal {
namespace {

using ::testing::HasSubstr;

// Certificates are made by the openssl command line tool, an independent writer of the files the
// parser reads.
class CertificatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fixture_.Mkdir("/tmp");
    if (::access("/usr/bin/openssl", X_OK) != 0) {
      GTEST_SKIP() << "the openssl command is not installed (apt-get install openssl): no "
                      "certificates to parse";
    }
  }

  // Writes a self-signed certificate (and its key) to the fixture's host path `cert`.
  void MakeCertificate(const std::string& cert, const std::string& key_spec,
                       const std::string& subject, int days, const std::string& extension = "") {
    fixture_.Write(cert, "");
    std::vector<std::string> argv = {
        "openssl", "req",
        "-x509",   "-nodes",
        "-newkey", key_spec,
        "-keyout", fixture_.Real("/tmp/key-" + std::to_string(keys_++)),
        "-out",    fixture_.Real(cert),
        "-days",   std::to_string(days),
        "-subj",   subject};
    if (key_spec == "ec") {
      argv.insert(argv.begin() + 6, {"-pkeyopt", "ec_paramgen_curve:prime256v1"});
    }
    if (!extension.empty()) {
      argv.push_back("-addext");
      argv.push_back(extension);
    }
    argv.push_back("-addext");
    argv.push_back("basicConstraints=critical,CA:FALSE");
    testing::SubprocessOptions options;
    options.argv = argv;
    options.stdout_path = fixture_.Real("/tmp/openssl.log");
    options.stderr_path = fixture_.Real("/tmp/openssl.log");
    auto status = testing::RunToCompletion(std::move(options), std::chrono::seconds(60));
    ASSERT_TRUE(status.has_value() && status->success())
        << testing::ReadFileTail(fixture_.Real("/tmp/openssl.log"));
  }

  std::string Read(const std::string& host_path) {
    Result<std::string> text = Env::Default()->ReadFile(fixture_.Real(host_path));
    EXPECT_TRUE(text.has_value());
    return text.value_or("");
  }

  static int64_t UnixOf(const std::string& iso) {
    tm parts{};
    ::strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &parts);
    return static_cast<int64_t>(::timegm(&parts));
  }

  discover_testing::FixtureRoot fixture_;
  int keys_ = 0;
};

TEST_F(CertificatesTest, ParsesAnRsaServerCertificate) {
  MakeCertificate("/etc/ssl/shop.pem", "rsa:2048", "/O=Example Ltd/CN=shop.example.com", 30,
                  "subjectAltName=DNS:shop.example.com,DNS:www.shop.example.com,IP:10.0.0.10");
  const int64_t now = ::time(nullptr);
  Result<std::optional<Json>> parsed =
      ParseCertificateFile(Read("/etc/ssl/shop.pem"), "/etc/ssl/shop.pem", now);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  ASSERT_TRUE(parsed->has_value());
  const Json& c = **parsed;
  EXPECT_EQ(c["subject"], "CN=shop.example.com,O=Example Ltd");  // RFC 2253: last RDN first
  EXPECT_EQ(c["issuer"], c["subject"]);
  EXPECT_EQ(c["sans"],
            Json::array({"DNS:shop.example.com", "DNS:www.shop.example.com", "IP:10.0.0.10"}));
  EXPECT_EQ(c["key_type"], "RSA");
  EXPECT_EQ(c["key_bits"], 2048);
  EXPECT_EQ(c["quantum_safe"], false);
  EXPECT_EQ(c["signature_algorithm"], "sha256WithRSAEncryption");
  EXPECT_EQ(c["self_signed"], true);
  EXPECT_EQ(c["is_ca"], false);
  EXPECT_EQ(c["expired"], false);
  // 30 days from issue: one second after it, 29 whole days and a bit are left.
  const int64_t issued = UnixOf(c["not_before"]);
  EXPECT_EQ((**ParseCertificateFile(Read("/etc/ssl/shop.pem"), "x", issued + 1))["days_to_expiry"],
            29);
  EXPECT_EQ((**ParseCertificateFile(Read("/etc/ssl/shop.pem"), "x", issued))["days_to_expiry"], 30);
  EXPECT_EQ(UnixOf(c["not_after"]) - UnixOf(c["not_before"]), 30 * 86400);
  EXPECT_EQ(c["fingerprint_sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(c["certificates_in_file"], 1);
}

TEST_F(CertificatesTest, CountsDaysToExpiryFromTheClockItIsGiven) {
  MakeCertificate("/etc/ssl/api.pem", "ec", "/CN=api.example.com", 90);
  const std::string pem = Read("/etc/ssl/api.pem");
  Json first = **ParseCertificateFile(pem, "api.pem", 0);
  const int64_t not_after = UnixOf(first["not_after"]);
  EXPECT_EQ(first["key_type"], "EC");
  EXPECT_EQ(first["key_bits"], 256);
  EXPECT_EQ(first["curve"], "prime256v1");
  EXPECT_EQ(first["quantum_safe"], false);
  // 10.5 days before the end: 10 whole days left.
  Json soon = **ParseCertificateFile(pem, "api.pem", not_after - 10 * 86400 - 43200);
  EXPECT_EQ(soon["days_to_expiry"], 10);
  EXPECT_EQ(soon["expired"], false);
  // The last day counts 0; one second after the end it is expired and -1.
  EXPECT_EQ((**ParseCertificateFile(pem, "api.pem", not_after - 60))["days_to_expiry"], 0);
  Json gone = **ParseCertificateFile(pem, "api.pem", not_after + 1);
  EXPECT_EQ(gone["days_to_expiry"], -1);
  EXPECT_EQ(gone["expired"], true);
}

TEST_F(CertificatesTest, EdwardsKeysAreNotQuantumSafeEither) {
  MakeCertificate("/etc/ssl/ed.pem", "ed25519", "/CN=ed.example.com", 365);
  Json c = **ParseCertificateFile(Read("/etc/ssl/ed.pem"), "ed.pem", ::time(nullptr));
  EXPECT_EQ(c["key_type"], "Ed25519");
  EXPECT_EQ(c["quantum_safe"], false);
  EXPECT_EQ(c["signature_algorithm"], "ED25519");
}

TEST(PostQuantumTest, KnowsTheNistSignatureOids) {
  EXPECT_EQ(PostQuantumAlgorithmOfOid("2.16.840.1.101.3.4.3.17")->name, "ML-DSA-44");
  EXPECT_EQ(PostQuantumAlgorithmOfOid("2.16.840.1.101.3.4.3.18")->name, "ML-DSA-65");
  EXPECT_EQ(PostQuantumAlgorithmOfOid("2.16.840.1.101.3.4.3.19")->name, "ML-DSA-87");
  EXPECT_EQ(PostQuantumAlgorithmOfOid("2.16.840.1.101.3.4.3.20")->name, "SLH-DSA-SHA2-128s");
  EXPECT_EQ(PostQuantumAlgorithmOfOid("2.16.840.1.101.3.4.3.31")->name, "SLH-DSA-SHAKE-256f");
  EXPECT_EQ(PostQuantumAlgorithmOfOid("2.16.840.1.101.3.4.3.32")->name, "HashML-DSA-44");
  EXPECT_EQ(PostQuantumAlgorithmOfOid("2.16.840.1.101.3.4.3.46")->name, "HashSLH-DSA-SHAKE-256f");
  EXPECT_TRUE(PostQuantumAlgorithmOfOid("2.16.840.1.101.3.4.3.17")->quantum_safe);
  EXPECT_EQ(PostQuantumAlgorithmOfOid("2.16.840.1.101.3.4.3.47"), std::nullopt);
  EXPECT_EQ(PostQuantumAlgorithmOfOid("2.16.840.1.101.3.4.3.2"), std::nullopt);  // DSA-SHA256
  EXPECT_EQ(PostQuantumAlgorithmOfOid("1.2.840.113549.1.1.1"), std::nullopt);    // RSA
  EXPECT_EQ(PostQuantumAlgorithmOfOid("1.2.840.113549.1.9.16.3.17")->name, "HSS-LMS");
}

TEST(PostQuantumTest, ACertificateWithAnMlDsaKeyIsQuantumSafe) {
  // OpenSSL 3.0 cannot make ML-DSA keys: the certificate is built with the key's OID and 1952
  // bytes of key (an ML-DSA-65 public key's size), signed by an EC key; only the key is read.
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> signer(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  ASSERT_NE(signer, nullptr);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), &X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 7);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("pq.example.com"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400L * 100);
  X509_set_pubkey(x.get(), signer.get());
  auto* key = static_cast<unsigned char*>(OPENSSL_zalloc(1952));
  ASSERT_EQ(X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x.get()),
                                   OBJ_txt2obj("2.16.840.1.101.3.4.3.18", 1), V_ASN1_UNDEF, nullptr,
                                   key, 1952),
            1);
  ASSERT_GT(X509_sign(x.get(), signer.get(), EVP_sha256()), 0);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_X509(bio.get(), x.get());
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  Result<std::optional<Json>> parsed =
      ParseCertificateFile(std::string_view(data, static_cast<size_t>(size)), "pq.pem", 0);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  ASSERT_TRUE(parsed->has_value());
  EXPECT_EQ((**parsed)["key_type"], "ML-DSA-65");
  EXPECT_EQ((**parsed)["quantum_safe"], true);
  EXPECT_EQ((**parsed)["subject"], "CN=pq.example.com");
}

TEST_F(CertificatesTest, FindsServerCertificatesWhereServersKeepThem) {
  MakeCertificate("/etc/ssl/site.pem", "ec", "/CN=site.example.com", 200);
  // The same file reached through nginx's directory: listed once.
  fixture_.Link("/etc/nginx/ssl/site.crt", "../../ssl/site.pem");
  fixture_.Write("/etc/nginx/ssl/site.key",
                 "-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n");
  // Let's Encrypt: live/ links into archive/.
  MakeCertificate("/etc/letsencrypt/archive/shop/cert1.pem", "ec", "/CN=shop.example.com", 90);
  fixture_.Link("/etc/letsencrypt/live/shop/cert.pem", "../../archive/shop/cert1.pem");
  // PostgreSQL's data directory, two levels down.
  MakeCertificate("/var/lib/postgresql/15/main/server.crt", "rsa:2048", "/CN=db01", 3650);
  // HAProxy's combined file: the key, then the certificate.
  MakeCertificate("/tmp/lb.pem", "ec", "/CN=lb.example.com", 60);
  fixture_.Write("/etc/haproxy/certs/lb.pem",
                 Read("/tmp/key-" + std::to_string(keys_ - 1)) + Read("/tmp/lb.pem"));
  // A damaged file, and a trust bundle of ten CA certificates.
  fixture_.Write(
      "/etc/nginx/broken.crt",
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
  std::string bundle;
  for (int i = 0; i < 10; ++i) {
    fixture_.Write("/tmp/ca.pem", "");
    testing::SubprocessOptions options;
    options.argv = {"openssl",  "req",
                    "-x509",    "-nodes",
                    "-newkey",  "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-keyout",  fixture_.Real("/tmp/ca.key"),
                    "-out",     fixture_.Real("/tmp/ca.pem"),
                    "-days",    "10",
                    "-subj",    "/CN=CA " + std::to_string(i)};
    options.stdout_path = fixture_.Real("/tmp/openssl.log");
    options.stderr_path = fixture_.Real("/tmp/openssl.log");
    ASSERT_TRUE(testing::RunToCompletion(std::move(options), std::chrono::seconds(60)).has_value());
    bundle += Read("/tmp/ca.pem");
  }
  fixture_.Write("/etc/pki/tls/certs/ca-bundle.crt", bundle);
  fixture_.Write("/etc/ssl/certs/ca-certificates.crt", bundle);
  for (int i = 0; i < 3; ++i) fixture_.Write("/etc/ssl/certs/ca" + std::to_string(i) + ".pem", "");

  UnseenLog unseen;
  Json found = CollectCertificates(HostRoot(fixture_.path()), ::time(nullptr), &unseen);
  std::vector<std::string> paths;
  for (const Json& c : found["certificates"]) paths.push_back(c["path"]);
  EXPECT_THAT(paths, ::testing::ElementsAre(
                         "/etc/ssl/site.pem", "/etc/letsencrypt/live/shop/cert.pem",
                         "/var/lib/postgresql/15/main/server.crt", "/etc/haproxy/certs/lb.pem"));
  EXPECT_EQ(found["certificates"][3]["subject"], "CN=lb.example.com");
  EXPECT_GE(found["certificates"][2]["days_to_expiry"], 3649);  // issued this second or the last
  EXPECT_LE(found["certificates"][2]["days_to_expiry"], 3650);
  const Unseen* broken = unseen.Find("certificate files OpenSSL cannot parse");
  ASSERT_NE(broken, nullptr) << unseen.ToJson().dump(2);
  EXPECT_EQ(broken->examples[0], "/etc/nginx/broken.crt");
  // The trust store: three CA files in /etc/ssl/certs (the bundle file is not counted twice).
  EXPECT_EQ(found["trust_store"]["certificates"], 3);
  EXPECT_EQ(found["trust_store"]["paths"], Json::array({"/etc/ssl/certs"}));
}

}  // namespace
}  // namespace ferry::discover_internal
