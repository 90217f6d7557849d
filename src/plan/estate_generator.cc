#include "plan/estate_generator.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include <fmt/format.h>

namespace ferry::plan {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

std::string Address(int32_t block, int32_t i) {
  return fmt::format("10.{}.{}.{}", block, (i >> 8) & 255, (i & 255) + 1);
}

MetricPercentiles Spread(double p95, double cap) {
  MetricPercentiles m;
  m.p50 = p95 * 0.55;
  m.p95 = p95;
  m.p99 = std::min(cap, p95 * 1.2);
  m.max = std::min(cap, p95 * 1.5);
  return m;
}

PerformanceBaseline MakeBaseline(double coverage, double days, double cpu_p95,
                                 double memory_p95_gib, double memory_gib, double network_p95) {
  PerformanceBaseline b;
  b.coverage = coverage;
  b.duration_seconds = days * 86400;
  b.expected_samples = static_cast<int64_t>(days * 1440);
  const int64_t samples = static_cast<int64_t>(std::llround(coverage * b.expected_samples));
  b.cpu_percent = Spread(cpu_p95, 100);
  b.memory_used_bytes = Spread(memory_p95_gib * kGiB, memory_gib * kGiB);
  b.network_rx_bytes_per_second = Spread(network_p95, 1e12);
  b.network_tx_bytes_per_second = Spread(network_p95 * 0.8, 1e12);
  for (auto* m : {&b.cpu_percent, &b.memory_used_bytes, &b.network_rx_bytes_per_second,
                  &b.network_tx_bytes_per_second}) {
    (*m)->samples = samples;
  }
  return b;
}

// Builds a hand-made estate by name.
class EstateBuilder {
 public:
  struct Spec {
    uint32_t roles = 0;
    DatabaseEngine engine = DatabaseEngine::kNone;
    std::string os_id = "debian";
    std::string os_version = "12";
    int cpus = 2;
    double memory_gib = 4;
    double disk_gb = 40;
    // Baseline: coverage 0 means none.
    double coverage = 0.9;
    double days = 14;
    double cpu_p95 = 20;
    double memory_p95_gib = 2;
    double network_p95 = 50'000;
  };

  int32_t Add(const std::string& name, int32_t block, const Spec& spec) {
    Server s;
    s.name = name;
    s.source = "ThreeTierEstate";
    s.roles = spec.roles;
    s.database_engine = spec.engine;
    s.os_id = spec.os_id;
    s.os_version_id = spec.os_version;
    s.os_name = spec.os_id + " " + spec.os_version;
    s.logical_cpus = spec.cpus;
    s.memory_bytes = static_cast<uint64_t>(spec.memory_gib * kGiB);
    s.disk_bytes = static_cast<uint64_t>(spec.disk_gb * 1e9);
    s.disk_used_bytes = static_cast<uint64_t>(spec.disk_gb * 0.45 * 1e9);
    s.listening_services = spec.roles & (kRoleWorker) ? 0 : 1;
    s.processes = 80;
    const int32_t i = static_cast<int32_t>(estate_.servers.size());
    s.addresses.push_back(Address(block, i));
    if (spec.coverage > 0) {
      s.baseline = MakeBaseline(spec.coverage, spec.days, spec.cpu_p95, spec.memory_p95_gib,
                                spec.memory_gib, spec.network_p95);
    }
    s.environment = EnvironmentFromNames(s.name, s.tags, &s.environment_reason);
    index_[name] = i;
    estate_.servers.push_back(std::move(s));
    return i;
  }

  Server& Get(const std::string& name) { return estate_.servers[index_.at(name)]; }
  const Estate& estate() const { return estate_; }

  void Connect(const std::string& from, const std::string& to, uint16_t port, std::string service,
               Protocol protocol = Protocol::kTcp, uint32_t count = 3) {
    ObservedConnection c;
    c.client = index_.at(from);
    c.remote_address = estate_.servers[index_.at(to)].addresses.front();
    c.port = port;
    c.protocol = protocol;
    c.count = count;
    c.service = std::move(service);
    estate_.connections.push_back(std::move(c));
  }

  void ConnectExternal(const std::string& from, const std::string& address, uint16_t port,
                       std::string service) {
    ObservedConnection c;
    c.client = index_.at(from);
    c.remote_address = address;
    c.port = port;
    c.count = 2;
    c.service = std::move(service);
    estate_.connections.push_back(std::move(c));
  }

  Estate Take() {
    estate_.inputs_read = static_cast<int>(estate_.servers.size());
    return std::move(estate_);
  }

 private:
  Estate estate_;
  std::map<std::string, int32_t> index_;
};

std::string Numbered(std::string_view prefix, int k) { return fmt::format("{}-{:02}", prefix, k); }

}  // namespace

Estate ThreeTierEstate() {
  EstateBuilder b;
  // ---- production (29)
  for (int k = 1; k <= 2; ++k) {
    b.Add(Numbered("prd-dns", k), 1,
          {.roles = kRoleDns,
           .cpus = 2,
           .memory_gib = 4,
           .coverage = 0.95,
           .cpu_p95 = 10,
           .memory_p95_gib = 1.2});
  }
  for (int k = 1; k <= 2; ++k) {
    b.Add(Numbered("prd-ldap", k), 1,
          {.roles = kRoleDirectory,
           .os_id = "rhel",
           .os_version = "8.9",
           .cpus = 2,
           .memory_gib = 8,
           .disk_gb = 60,
           .coverage = 0.9,
           .cpu_p95 = 15,
           .memory_p95_gib = 3});
  }
  b.Add("prd-mon-01", 1,
        {.roles = kRoleMonitoring,
         .os_id = "ubuntu",
         .os_version = "22.04",
         .cpus = 4,
         .memory_gib = 16,
         .disk_gb = 500,
         .coverage = 0.85,
         .cpu_p95 = 35,
         .memory_p95_gib = 9});
  for (int k = 1; k <= 2; ++k) {
    b.Add(Numbered("prd-lb", k), 1,
          {.roles = kRoleLoadBalancer,
           .cpus = 2,
           .memory_gib = 4,
           .disk_gb = 20,
           .coverage = 0.95,
           .cpu_p95 = 20,
           .memory_p95_gib = 1,
           .network_p95 = 5e6});
    b.Get(Numbered("prd-lb", k))
        .certificates.push_back({.path = "/etc/haproxy/certs/shop.pem",
                                 .key_type = "RSA 2048",
                                 .quantum_safe = false,
                                 .days_to_expiry = 200});
  }
  const double web_coverage[] = {0.95, 0.9, 0.75, 0.6, 0.45, 0.3};
  for (int k = 1; k <= 6; ++k) {
    b.Add(Numbered("prd-web", k), 1,
          {.roles = kRoleWeb,
           .cpus = 4,
           .memory_gib = 8,
           .disk_gb = 50,
           .coverage = web_coverage[k - 1],
           .cpu_p95 = 30,
           .memory_p95_gib = 3,
           .network_p95 = 2e6});
    b.Get(Numbered("prd-web", k))
        .certificates.push_back({.path = "/etc/nginx/tls/web.pem",
                                 .key_type = "RSA 2048",
                                 .quantum_safe = false,
                                 .days_to_expiry = k == 6 ? 12 : 200});
  }
  for (int k = 1; k <= 6; ++k) {
    b.Add(Numbered("prd-api", k), 1,
          {.roles = kRoleApi,
           .os_id = "ubuntu",
           .os_version = "22.04",
           .cpus = 8,
           .memory_gib = 32,
           .disk_gb = 100,
           .coverage = 0.9,
           .cpu_p95 = 45,
           .memory_p95_gib = 18,
           .network_p95 = 1e6});
  }
  for (int k = 1; k <= 3; ++k) {
    b.Add(Numbered("prd-wrk", k), 1,
          {.roles = kRoleWorker,
           .os_id = "ubuntu",
           .os_version = "22.04",
           .cpus = 4,
           .memory_gib = 16,
           .disk_gb = 100,
           .coverage = 0.5,
           .cpu_p95 = 60,
           .memory_p95_gib = 9});
  }
  b.Add("prd-wrk-04", 1,
        {.roles = kRoleWorker,
         .os_id = "centos",
         .os_version = "6.10",
         .cpus = 4,
         .memory_gib = 8,
         .disk_gb = 100,
         .coverage = 0.35,
         .cpu_p95 = 25,
         .memory_p95_gib = 5});
  for (int k = 1; k <= 3; ++k) {
    b.Add(Numbered("prd-cache", k), 1,
          {.roles = kRoleCache,
           .os_id = "ubuntu",
           .os_version = "20.04",
           .cpus = 2,
           .memory_gib = 16,
           .coverage = 0.95,
           .cpu_p95 = 15,
           .memory_p95_gib = 11});
  }
  for (int k = 1; k <= 3; ++k) {
    b.Add(Numbered("prd-db", k), 1,
          {.roles = kRoleDatabase,
           .engine = DatabaseEngine::kPostgreSQL,
           .os_id = "debian",
           .os_version = "11",
           .cpus = 16,
           .memory_gib = 128,
           .disk_gb = 2000,
           .coverage = k == 1 ? 0.98 : 0.9,
           .cpu_p95 = k == 1 ? 55.0 : 25.0,
           .memory_p95_gib = k == 1 ? 100.0 : 90.0,
           .network_p95 = 3e6});
  }
  b.Get("prd-db-01").tables_without_keys = 3;

  // ---- development (8): uses the production DNS and directory.
  b.Add("dev-lb-01", 2, {.roles = kRoleLoadBalancer, .coverage = 0.7, .cpu_p95 = 5});
  for (int k = 1; k <= 2; ++k) {
    b.Add(Numbered("dev-web", k), 2, {.roles = kRoleWeb, .coverage = 0.7, .cpu_p95 = 8});
  }
  for (int k = 1; k <= 2; ++k) {
    b.Add(
        Numbered("dev-api", k), 2,
        {.roles = kRoleApi, .memory_gib = 8, .coverage = 0.65, .cpu_p95 = 12, .memory_p95_gib = 4});
  }
  b.Add("dev-wrk-01", 2, {.roles = kRoleWorker, .coverage = 0});
  b.Add("dev-cache-01", 2, {.roles = kRoleCache, .coverage = 0.7, .cpu_p95 = 4});
  b.Add("dev-db-01", 2,
        {.roles = kRoleDatabase,
         .engine = DatabaseEngine::kPostgreSQL,
         .cpus = 4,
         .memory_gib = 16,
         .disk_gb = 200,
         .coverage = 0.7,
         .cpu_p95 = 15,
         .memory_p95_gib = 8});

  // ---- test (13): its own DNS and monitoring.
  b.Add("tst-dns-01", 3, {.roles = kRoleDns, .coverage = 0.9, .cpu_p95 = 5});
  b.Add("tst-mon-01", 3, {.roles = kRoleMonitoring, .memory_gib = 8, .coverage = 0.9});
  b.Add("tst-lb-01", 3, {.roles = kRoleLoadBalancer, .coverage = 0.8, .cpu_p95 = 6});
  b.Add("tst-web-01", 3, {.roles = kRoleWeb, .coverage = 0.8, .cpu_p95 = 10});
  b.Add("tst-web-02", 3, {.roles = kRoleWeb, .coverage = 0});
  for (int k = 1; k <= 3; ++k) {
    b.Add(Numbered("tst-api", k), 3,
          {.roles = kRoleApi,
           .memory_gib = 8,
           .coverage = 0.15 + 0.2 * k,
           .cpu_p95 = 20,
           .memory_p95_gib = 5});
  }
  b.Add("tst-wrk-01", 3, {.roles = kRoleWorker, .coverage = 0.6, .cpu_p95 = 30});
  b.Add("tst-cache-01", 3, {.roles = kRoleCache, .memory_gib = 8, .coverage = 0.8});
  b.Add("tst-db-01", 3,
        {.roles = kRoleDatabase,
         .engine = DatabaseEngine::kPostgreSQL,
         .cpus = 4,
         .memory_gib = 16,
         .disk_gb = 200,
         .coverage = 0.85,
         .cpu_p95 = 20,
         .memory_p95_gib = 10});
  b.Add("tst-db-02", 3,
        {.roles = kRoleDatabase,
         .engine = DatabaseEngine::kPostgreSQL,
         .os_id = "centos",
         .os_version = "7.9",
         .cpus = 4,
         .memory_gib = 16,
         .disk_gb = 200,
         .coverage = 0.85,
         .cpu_p95 = 10,
         .memory_p95_gib = 9});
  b.Add("tst-old-01", 3,
        {.roles = kRoleWorker,
         .os_id = "debian",
         .os_version = "10",
         .coverage = 0.97,
         .days = 35,
         .cpu_p95 = 1,
         .memory_p95_gib = 0.5,
         .network_p95 = 300});

  // ---- production dependencies.
  const uint16_t kDns = 53, kHttp = 8080, kPg = 5432, kRedis = 6379, kLdap = 389, kExporter = 9100;
  for (int k = 1; k <= 2; ++k) {
    b.Connect(Numbered("prd-ldap", k), "prd-dns-01", kDns, "dns", Protocol::kUdp, 20);
  }
  b.Connect("prd-dns-02", "prd-dns-01", kDns, "dns", Protocol::kTcp, 1);  // zone transfers
  b.Connect("prd-ldap-02", "prd-ldap-01", kLdap, "ldap");                 // replication
  for (int k = 1; k <= 2; ++k) {
    for (int w = 1; w <= 6; ++w)
      b.Connect(Numbered("prd-lb", k), Numbered("prd-web", w), kHttp, "http", Protocol::kTcp, 10);
    b.Connect(Numbered("prd-lb", k), Numbered("prd-dns", k), kDns, "dns", Protocol::kUdp, 20);
  }
  for (int k = 1; k <= 6; ++k) {
    const std::string web = Numbered("prd-web", k);
    b.Connect(web, Numbered("prd-api", k), kHttp, "http", Protocol::kTcp, 8);
    b.Connect(web, Numbered("prd-api", k % 6 + 1), kHttp, "http", Protocol::kTcp, 8);
    b.Connect(web, Numbered("prd-dns", k % 2 + 1), kDns, "dns", Protocol::kUdp, 20);
  }
  for (int k = 1; k <= 6; ++k) {
    const std::string api = Numbered("prd-api", k);
    b.Connect(api, "prd-db-01", kPg, "postgresql", Protocol::kTcp, 5);
    b.Connect(api, Numbered("prd-cache", k % 3 + 1), kRedis, "redis");
    b.Connect(api, "prd-ldap-01", kLdap, "ldap");
    b.Connect(api, Numbered("prd-dns", k % 2 + 1), kDns, "dns", Protocol::kUdp, 20);
  }
  b.ConnectExternal("prd-api-01", "203.0.113.10", 443, "https");
  b.ConnectExternal("prd-api-02", "203.0.113.10", 443, "https");
  for (int k = 1; k <= 4; ++k) {
    const std::string worker = Numbered("prd-wrk", k);
    b.Connect(worker, "prd-db-01", kPg, "postgresql");
    b.Connect(worker, "prd-cache-01", kRedis, "redis");
    b.Connect(worker, "prd-dns-01", kDns, "dns", Protocol::kUdp, 20);
  }
  for (int k = 1; k <= 3; ++k) {
    b.Connect(Numbered("prd-cache", k), "prd-dns-01", kDns, "dns", Protocol::kUdp, 5);
  }
  b.Connect("prd-db-01", "prd-dns-01", kDns, "dns", Protocol::kUdp, 5);
  for (int k = 2; k <= 3; ++k) {
    b.Connect(Numbered("prd-db", k), "prd-db-01", kPg, "postgresql", Protocol::kTcp, 1);
    b.Connect(Numbered("prd-db", k), "prd-dns-02", kDns, "dns", Protocol::kUdp, 5);
  }
  b.Connect("prd-mon-01", "prd-dns-01", kDns, "dns", Protocol::kUdp, 20);
  // The monitoring servers scrape the servers of their environment.
  std::vector<std::string> names;
  for (const Server& s : b.estate().servers) names.push_back(s.name);
  for (const std::string& name : names) {
    if (name.starts_with("prd-") && name != "prd-mon-01") {
      b.Connect("prd-mon-01", name, kExporter, "prometheus-exporter", Protocol::kTcp, 1);
    }
  }

  // ---- development and test dependencies.
  for (const char* web : {"dev-web-01", "dev-web-02"}) {
    b.Connect("dev-lb-01", web, kHttp, "http", Protocol::kTcp, 4);
  }
  b.Connect("dev-web-01", "dev-api-01", kHttp, "http", Protocol::kTcp, 4);
  b.Connect("dev-web-02", "dev-api-02", kHttp, "http", Protocol::kTcp, 4);
  for (const char* api : {"dev-api-01", "dev-api-02"}) {
    b.Connect(api, "dev-db-01", kPg, "postgresql", Protocol::kTcp, 2);
    b.Connect(api, "dev-cache-01", kRedis, "redis", Protocol::kTcp, 2);
    b.Connect(api, "prd-ldap-01", kLdap, "ldap", Protocol::kTcp, 1);
  }
  b.Connect("dev-wrk-01", "dev-db-01", kPg, "postgresql", Protocol::kTcp, 1);
  for (const std::string& name : names) {
    if (name.starts_with("dev-")) b.Connect(name, "prd-dns-01", kDns, "dns", Protocol::kUdp, 5);
  }
  for (const char* web : {"tst-web-01", "tst-web-02"}) {
    b.Connect("tst-lb-01", web, kHttp, "http", Protocol::kTcp, 4);
  }
  for (int k = 1; k <= 3; ++k) {
    b.Connect(k == 3 ? "tst-web-02" : "tst-web-01", Numbered("tst-api", k), kHttp, "http",
              Protocol::kTcp, 4);
    b.Connect(Numbered("tst-api", k), "tst-db-01", kPg, "postgresql", Protocol::kTcp, 2);
    b.Connect(Numbered("tst-api", k), "tst-cache-01", kRedis, "redis", Protocol::kTcp, 2);
  }
  b.Connect("tst-wrk-01", "tst-db-01", kPg, "postgresql", Protocol::kTcp, 1);
  b.Connect("tst-db-02", "tst-db-01", kPg, "postgresql", Protocol::kTcp, 1);
  for (const std::string& name : names) {
    if (!name.starts_with("tst-") || name == "tst-dns-01") continue;
    b.Connect(name, "tst-dns-01", kDns, "dns", Protocol::kUdp, 5);
    // The idle server is not monitored: nothing depends on it.
    if (name != "tst-mon-01" && name != "tst-old-01") {
      b.Connect("tst-mon-01", name, kExporter, "prometheus-exporter", Protocol::kTcp, 1);
    }
  }
  return b.Take();
}

Estate LargeEstate(const LargeEstateOptions& options) {
  Estate estate;
  const int32_t n = std::max<int32_t>(options.servers, 30);
  std::mt19937_64 rng(options.seed);
  auto uniform = [&](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  auto pick = [&](int32_t count) {
    return static_cast<int32_t>(std::uniform_int_distribution<int32_t>(0, count - 1)(rng));
  };

  const int32_t dns_count = std::max<int32_t>(2, n / 5000);
  const int32_t ldap_count = std::max<int32_t>(2, n / 5000);
  const int32_t mon_count = std::max<int32_t>(1, n / 2000);
  const int32_t shared = dns_count + ldap_count + mon_count;
  // Positions in an application of 20: the role of each.
  enum Slot { kLb, kWeb, kApi, kWrk, kCache, kDb, kMisc };
  static constexpr Slot kLayout[20] = {kLb,    kWeb,   kWeb, kWeb, kWeb, kApi, kApi,
                                       kApi,   kApi,   kApi, kApi, kWrk, kWrk, kWrk,
                                       kCache, kCache, kDb,  kDb,  kDb,  kMisc};
  static constexpr const char* kSlotName[] = {"lb", "web", "api", "wrk", "cache", "db", "svc"};
  static constexpr uint32_t kSlotRole[] = {kRoleLoadBalancer, kRoleWeb,      kRoleApi, kRoleWorker,
                                           kRoleCache,        kRoleDatabase, kRoleApi};
  struct OsChoice {
    const char* id;
    const char* version;
    double share;
  };
  static constexpr OsChoice kOs[] = {{"debian", "12", 0.35},     {"ubuntu", "22.04", 0.25},
                                     {"ubuntu", "20.04", 0.1},   {"rhel", "8.9", 0.12},
                                     {"centos", "7.9", 0.1},     {"debian", "10", 0.05},
                                     {"windows", "2012r2", 0.03}};

  estate.servers.reserve(static_cast<size_t>(n));
  std::vector<int32_t> app_of(static_cast<size_t>(n), -1);
  std::vector<Slot> slot_of(static_cast<size_t>(n), kMisc);
  auto add_server = [&](std::string name, uint32_t roles, Environment environment) {
    const int32_t i = static_cast<int32_t>(estate.servers.size());
    Server s;
    s.name = std::move(name);
    s.source = "LargeEstate";
    s.roles = roles;
    if (roles & kRoleDatabase)
      s.database_engine = i % 3 == 0 ? DatabaseEngine::kMySQL : DatabaseEngine::kPostgreSQL;
    double r = uniform(0, 1);
    const OsChoice* os = &kOs[0];
    for (const OsChoice& choice : kOs) {
      if (r < choice.share) {
        os = &choice;
        break;
      }
      r -= choice.share;
    }
    s.os_id = os->id;
    s.os_version_id = os->version;
    s.os_name = std::string(os->id) + " " + os->version;
    static constexpr int kCpus[] = {2, 2, 4, 4, 4, 8, 8, 16};
    s.logical_cpus = kCpus[pick(8)] * ((roles & kRoleDatabase) ? 2 : 1);
    s.memory_bytes = static_cast<uint64_t>(s.logical_cpus * (roles & kRoleDatabase ? 8 : 4) * kGiB);
    s.disk_bytes = static_cast<uint64_t>((roles & kRoleDatabase ? 500 : 60) * 1e9);
    s.disk_used_bytes =
        static_cast<uint64_t>(static_cast<double>(s.disk_bytes) * uniform(0.2, 0.8));
    s.listening_services = roles & kRoleWorker ? 0 : 1;
    s.processes = 60 + pick(120);
    s.addresses.push_back(fmt::format("10.{}.{}.{}", 1 + (i >> 16), (i >> 8) & 255, i & 255));
    if (uniform(0, 1) < 0.92) {
      const double memory_gib = static_cast<double>(s.memory_bytes) / kGiB;
      s.baseline = MakeBaseline(uniform(0.05, 1.0), 14, uniform(5, 85),
                                memory_gib * uniform(0.2, 0.9), memory_gib, uniform(1e3, 5e6));
    }
    if (roles & (kRoleWeb | kRoleLoadBalancer)) {
      s.certificates.push_back({.path = "/etc/ssl/private/site.pem",
                                .key_type = "RSA 2048",
                                .quantum_safe = false,
                                .days_to_expiry = pick(400) - 20});
    }
    s.environment = environment;
    s.environment_reason = "generated";
    estate.servers.push_back(std::move(s));
    return i;
  };
  for (int32_t k = 0; k < dns_count; ++k) {
    add_server(fmt::format("prd-dns-{:04}", k), kRoleDns, Environment::kProduction);
  }
  for (int32_t k = 0; k < ldap_count; ++k) {
    add_server(fmt::format("prd-ldap-{:04}", k), kRoleDirectory, Environment::kProduction);
  }
  for (int32_t k = 0; k < mon_count; ++k) {
    add_server(fmt::format("prd-mon-{:04}", k), kRoleMonitoring, Environment::kProduction);
  }
  const int32_t apps = (n - shared + 19) / 20;
  std::vector<int32_t> app_start(static_cast<size_t>(apps) + 1, 0);
  for (int32_t a = 0; a < apps; ++a) {
    app_start[a] = static_cast<int32_t>(estate.servers.size());
    const bool production = a % 10 >= 3;
    const char* prefix = production ? "prd" : (a % 10 == 0 ? "dev" : "tst");
    for (int32_t p = 0; p < 20 && static_cast<int32_t>(estate.servers.size()) < n; ++p) {
      const int32_t i = add_server(
          fmt::format("{}-a{:05}-{}{}", prefix, a, kSlotName[kLayout[p]], p), kSlotRole[kLayout[p]],
          production ? Environment::kProduction : Environment::kNonProduction);
      app_of[i] = a;
      slot_of[i] = kLayout[p];
    }
  }
  app_start[apps] = static_cast<int32_t>(estate.servers.size());

  // Structural dependencies.
  struct Link {
    int32_t from, to;
    uint16_t port;
    Protocol protocol;
    const char* service;
  };
  std::vector<Link> links;
  links.reserve(static_cast<size_t>(n) * 8);
  auto members = [&](int32_t a, Slot slot) {
    std::vector<int32_t> out;
    for (int32_t i = app_start[a]; i < app_start[a + 1]; ++i) {
      if (slot_of[i] == slot) out.push_back(i);
    }
    return out;
  };
  for (int32_t i = 0; i < n; ++i) {
    // Everyone resolves names (two DNS servers), except the first DNS server.
    if (i != 0) {
      links.push_back({i, i % dns_count == 0 && i < dns_count ? 0 : (i % dns_count), 53,
                       Protocol::kUdp, "dns"});
      if (links.back().to == i) links.back().to = 0;
    }
    if (i >= dns_count && i < dns_count + ldap_count) {
      links.push_back({i, (i + 1) % dns_count, 53, Protocol::kUdp, "dns"});
    }
    // Scraped by one monitoring server (which depends on it).
    const int32_t mon = dns_count + ldap_count + i % mon_count;
    if (mon != i) links.push_back({mon, i, 9100, Protocol::kTcp, "prometheus-exporter"});
  }
  for (int32_t a = 0; a < apps; ++a) {
    const auto lbs = members(a, kLb), webs = members(a, kWeb), apis = members(a, kApi),
               wrks = members(a, kWrk), caches = members(a, kCache), dbs = members(a, kDb),
               misc = members(a, kMisc);
    for (int32_t lb : lbs) {
      for (int32_t web : webs) links.push_back({lb, web, 8080, Protocol::kTcp, "http"});
    }
    for (int32_t web : webs) {
      for (int32_t api : apis) links.push_back({web, api, 8080, Protocol::kTcp, "http"});
    }
    for (int32_t api : apis) {
      for (int32_t db : dbs) links.push_back({api, db, 5432, Protocol::kTcp, "postgresql"});
      for (int32_t cache : caches) links.push_back({api, cache, 6379, Protocol::kTcp, "redis"});
      links.push_back({api, dns_count + api % ldap_count, 389, Protocol::kTcp, "ldap"});
      // A call to an earlier application's API of the same environment.
      if (a >= 10 && uniform(0, 1) < 0.5) {
        const int32_t other = a - 10 * (1 + pick(std::min(a / 10, 50)));
        const auto other_apis = members(other, kApi);
        if (!other_apis.empty()) {
          links.push_back(
              {api, other_apis[static_cast<size_t>(pick(static_cast<int32_t>(other_apis.size())))],
               8080, Protocol::kTcp, "http"});
        }
      }
    }
    for (int32_t m : misc) {
      for (int32_t api : apis) links.push_back({m, api, 8080, Protocol::kTcp, "http"});
    }
    for (int32_t w : wrks) {
      for (int32_t db : dbs) links.push_back({w, db, 5432, Protocol::kTcp, "postgresql"});
      for (int32_t cache : caches) links.push_back({w, cache, 6379, Protocol::kTcp, "redis"});
    }
    for (size_t k = 1; k < dbs.size(); ++k) {
      links.push_back({dbs[k], dbs[0], 5432, Protocol::kTcp, "postgresql"});
    }
    // 1% of applications: the primary database calls back an API (a cycle).
    if (a % 100 == 37 && !dbs.empty() && !apis.empty()) {
      links.push_back({dbs[0], apis[0], 8080, Protocol::kTcp, "http"});
    }
  }

  // Exactly `connections` records: the structural links first (as many as fit), then repeats
  // of random links (several sockets of one dependency), 1% of them to external addresses.
  const int64_t total = std::max<int64_t>(0, options.connections);
  estate.connections.reserve(static_cast<size_t>(total));
  auto emit = [&](const Link& link) {
    ObservedConnection c;
    c.client = link.from;
    c.remote_address = estate.servers[link.to].addresses.front();
    c.port = link.port;
    c.protocol = link.protocol;
    c.service = link.service;
    estate.connections.push_back(std::move(c));
  };
  for (size_t k = 0; k < links.size() && static_cast<int64_t>(estate.connections.size()) < total;
       ++k) {
    emit(links[k]);
  }
  while (static_cast<int64_t>(estate.connections.size()) < total && !links.empty()) {
    if (uniform(0, 1) < 0.01) {
      ObservedConnection c;
      c.client = pick(n);
      c.remote_address = fmt::format("198.51.100.{}", 1 + pick(200));
      c.port = 443;
      c.service = "https";
      estate.connections.push_back(std::move(c));
    } else {
      emit(links[static_cast<size_t>(pick(static_cast<int32_t>(links.size())))]);
    }
  }
  estate.inputs_read = 1;
  return estate;
}

Json InventoryOf(const Estate& estate, int32_t i) {
  const Server& s = estate.servers[i];
  Json addresses = Json::array();
  for (const std::string& address : s.addresses) {
    addresses.push_back({{"family", address.find(':') == std::string::npos ? "ipv4" : "ipv6"},
                         {"address", address},
                         {"prefix_length", 24},
                         {"scope", "global"}});
  }
  Json listening = Json::array();
  auto listen = [&](int port, const char* service, const char* process) {
    listening.push_back({{"protocol", "tcp"},
                         {"family", "ipv4"},
                         {"address", "0.0.0.0"},
                         {"port", port},
                         {"loopback_only", false},
                         {"uid", 0},
                         {"user", "root"},
                         {"pid", 100 + listening.size()},
                         {"process", process},
                         {"pids", Json::array({100 + listening.size()})},
                         {"service_guess", {{"name", service}, {"basis", "port+process"}}},
                         {"inode", 1000 + listening.size()}});
  };
  if (s.roles & kRoleDatabase) {
    switch (s.database_engine) {
      case DatabaseEngine::kMySQL: listen(3306, "mysql", "mariadbd"); break;
      case DatabaseEngine::kSqlServer: listen(1433, "mssql", "sqlservr"); break;
      case DatabaseEngine::kOracle: listen(1521, "oracle", "tnslsnr"); break;
      case DatabaseEngine::kMongoDB: listen(27017, "mongodb", "mongod"); break;
      default: listen(5432, "postgresql", "postgres"); break;
    }
  }
  if (s.roles & kRoleCache) listen(6379, "redis", "redis-server");
  if (s.roles & kRoleWeb) listen(443, "https", "nginx");
  if (s.roles & kRoleApi) listen(8080, "http", "java");
  if (s.roles & kRoleLoadBalancer) listen(443, "https", "haproxy");
  if (s.roles & kRoleDns) listen(53, "dns", "named");
  if (s.roles & kRoleDirectory) listen(389, "ldap", "slapd");
  if (s.roles & kRoleMonitoring) listen(9090, "prometheus", "prometheus");
  listen(22, "ssh", "sshd");

  Json connections = Json::array();
  for (const ObservedConnection& c : estate.connections) {
    if (c.client != i) continue;
    std::string remote = c.remote_address;
    if (remote.empty() && c.server >= 0) remote = estate.servers[c.server].addresses.front();
    for (uint32_t k = 0; k < c.count; ++k) {
      connections.push_back(
          {{"protocol", ProtocolName(c.protocol)},
           {"family", "ipv4"},
           {"local_address", s.addresses.empty() ? "10.0.0.1" : s.addresses.front()},
           {"local_port", 40000 + (connections.size() % 20000)},
           {"remote_address", remote},
           {"remote_port", c.port},
           {"state", c.protocol == Protocol::kUdp ? "connected" : "established"},
           {"direction", "outbound"},
           {"loopback", false},
           {"uid", 1000},
           {"user", "app"},
           {"pid", 4242},
           {"process", "app"},
           {"pids", Json::array({4242})},
           {"service_guess",
            c.service.empty() ? Json(nullptr) : Json{{"name", c.service}, {"basis", "port"}}},
           {"inode", 50000 + connections.size()}});
    }
  }
  Json certificates = Json::array();
  for (const CertificateNote& cert : s.certificates) {
    const bool rsa = cert.key_type.starts_with("RSA");
    certificates.push_back(
        {{"path", cert.path},
         {"subject", "CN=" + s.name},
         {"issuer", "CN=Example CA"},
         {"serial", "01"},
         {"sans", Json::array({"DNS:" + s.name})},
         {"key_type", rsa ? "RSA" : cert.key_type},
         {"key_bits", rsa ? Json(2048) : Json(nullptr)},
         {"curve", nullptr},
         {"quantum_safe", cert.quantum_safe},
         {"signature_algorithm", "sha256WithRSAEncryption"},
         {"not_before", "2024-01-01T00:00:00Z"},
         {"not_after", "2026-01-01T00:00:00Z"},
         {"days_to_expiry", cert.days_to_expiry ? Json(*cert.days_to_expiry) : Json(nullptr)},
         {"expired", cert.days_to_expiry ? Json(*cert.days_to_expiry < 0) : Json(nullptr)},
         {"is_ca", false},
         {"self_signed", false},
         {"fingerprint_sha256", std::string(64, 'a')},
         {"certificates_in_file", 1}});
  }
  Json inventory = {
      {"schema_version", "1.0"},
      {"generator", {{"name", "ferry"}, {"version", FERRY_VERSION}}},
      {"source", {{"kind", "agent"}, {"root", "/"}}},
      {"collected_at", "2025-06-01T00:00:00Z"},
      {"run_as", {{"uid", 0}, {"user", "root"}, {"root", true}}},
      {"host",
       {{"hostname", s.name},
        {"machine_id", nullptr},
        {"boot_id", nullptr},
        {"uptime_seconds", 86400}}},
      {"os",
       {{"id", s.os_id},
        {"name", s.os_id},
        {"version", s.os_version_id},
        {"version_id", s.os_version_id},
        {"version_codename", nullptr},
        {"pretty_name", s.os_name},
        {"id_like", Json::array()}}},
      {"kernel",
       {{"sysname", "Linux"},
        {"release", "6.1.0"},
        {"version", "#1 SMP"},
        {"machine", s.architecture}}},
      {"cpu",
       {{"model", "Generated CPU"},
        {"vendor", "GenuineIntel"},
        {"sockets", 1},
        {"cores", s.logical_cpus},
        {"logical_cpus", s.logical_cpus},
        {"mhz", 2400.0}}},
      {"memory",
       {{"total_bytes", s.memory_bytes},
        {"available_bytes", s.memory_bytes / 2},
        {"free_bytes", s.memory_bytes / 4},
        {"buffers_bytes", 0},
        {"cached_bytes", 0},
        {"swap_total_bytes", 0},
        {"swap_free_bytes", 0}}},
      {"disks", Json::array({{{"name", "sda"},
                              {"size_bytes", s.disk_bytes},
                              {"rotational", false},
                              {"removable", false},
                              {"model", nullptr},
                              {"vendor", nullptr},
                              {"kind", "block"},
                              {"partitions", Json::array()}}})},
      {"filesystems", Json::array({{{"device", "/dev/sda1"},
                                    {"mount_point", "/"},
                                    {"type", "ext4"},
                                    {"options", Json::array({"rw"})},
                                    {"virtual", false},
                                    {"network", false},
                                    {"size_bytes", s.disk_bytes},
                                    {"used_bytes", s.disk_used_bytes},
                                    {"available_bytes", s.disk_bytes - s.disk_used_bytes},
                                    {"inodes_total", 1000000},
                                    {"inodes_used", 1000}}})},
      {"network",
       {{"interfaces", Json::array({{{"name", "eth0"},
                                     {"mac", "02:00:00:00:00:01"},
                                     {"mtu", 1500},
                                     {"state", "up"},
                                     {"speed_mbps", 10000},
                                     {"addresses", addresses}},
                                    {{"name", "lo"},
                                     {"mac", nullptr},
                                     {"mtu", 65536},
                                     {"state", "unknown"},
                                     {"speed_mbps", nullptr},
                                     {"addresses", Json::array({{{"family", "ipv4"},
                                                                 {"address", "127.0.0.1"},
                                                                 {"prefix_length", 8},
                                                                 {"scope", "host"}}})}}})},
        {"routes", Json::array()},
        {"dns",
         {{"nameservers", Json::array()}, {"search", Json::array()}, {"options", Json::array()}}}}},
      {"packages", Json::array()},
      {"services", Json::array()},
      {"cron_jobs", Json::array()},
      {"processes", Json::array()},
      {"listening", listening},
      {"connections", connections},
      {"certificates", certificates},
      {"trust_store", {{"paths", Json::array()}, {"certificates", 0}}},
      {"unseen", Json::array()},
      {"stats",
       {{"duration_ms", 10.0},
        {"section_ms", Json::object()},
        {"processes", 0},
        {"processes_vanished", 0},
        {"kernel_threads", 0},
        {"processes_with_unreadable_fds", 0}}}};
  if (s.baseline) {
    const PerformanceBaseline& b = *s.baseline;
    Json metrics = Json::object();
    auto metric = [&](const char* name, const std::optional<MetricPercentiles>& m) {
      if (!m) return;
      metrics[name] = {{"samples", m->samples},
                       {"p50", m->p50},
                       {"p95", m->p95},
                       {"p99", m->p99},
                       {"max", m->max}};
    };
    metric("cpu_percent", b.cpu_percent);
    metric("memory_used_bytes", b.memory_used_bytes);
    metric("network_rx_bytes_per_second", b.network_rx_bytes_per_second);
    metric("network_tx_bytes_per_second", b.network_tx_bytes_per_second);
    inventory["baseline"] = {{"duration_seconds", b.duration_seconds},
                             {"interval_seconds", 60},
                             {"expected_samples", std::max<int64_t>(1, b.expected_samples)},
                             {"samples", std::llround(b.coverage * b.expected_samples)},
                             {"coverage", b.coverage},
                             {"started_at", "2025-05-01T00:00:00Z"},
                             {"ended_at", "2025-05-15T00:00:00Z"},
                             {"percentile_method", "nearest-rank"},
                             {"metrics", metrics}};
  }
  return inventory;
}

Status WriteInventories(const Estate& estate, const std::string& dir, Env* env) {
  FERRY_RETURN_IF_ERROR(env->CreateDirs(dir));
  for (int32_t i = 0; i < static_cast<int32_t>(estate.servers.size()); ++i) {
    Status status = env->WriteFileAtomic(dir + "/" + estate.servers[i].name + ".json",
                                         InventoryOf(estate, i).dump(2) + "\n");
    if (!status.ok()) return status.WithContext("writing the generated inventories");
  }
  return OkStatus();
}

}  // namespace ferry::plan
