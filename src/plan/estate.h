// The estate: what `ferry plan` knows about the servers it plans, whatever it was read from (the
// JSON inventories of `ferry discover`, or the compact estate file of estate_file.h). Everything
// downstream (graph, waves, strategy, risks, sizing, cost) reads only these structs, so a new
// input format is one adapter that fills them.
//
// Connections are kept as the hosts observed them (a remote address and port): matching them to
// servers is the dependency graph's job (graph.h), so that both inputs go through one matcher.
//
// Thread-safety: plain values.
#ifndef FERRY_PLAN_ESTATE_H_
#define FERRY_PLAN_ESTATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::plan {

enum class Environment : uint8_t { kProduction, kNonProduction };
// "production", "non-production".
std::string_view EnvironmentName(Environment environment);

// What a server does, from its listening services and processes. A server may have several.
enum Role : uint32_t {
  kRoleDatabase = 1u << 0,  // PostgreSQL, MySQL/MariaDB, SQL Server, Oracle, MongoDB, ...
  kRoleCache = 1u << 1,     // Redis, Memcached
  kRoleWeb = 1u << 2,       // HTTP(S) servers
  kRoleApi = 1u << 3,       // application servers (Java, Node, Python... on a port)
  kRoleWorker = 1u << 4,    // batch/queue consumers: no service of their own
  kRoleLoadBalancer = 1u << 5,
  kRoleDns = 1u << 6,
  kRoleDirectory = 1u << 7,       // LDAP, Kerberos, Active Directory
  kRoleMonitoring = 1u << 8,      // Prometheus, Zabbix, Nagios, Grafana
  kRoleQueue = 1u << 9,           // Kafka, RabbitMQ, ActiveMQ, NATS, MQTT brokers
  kRoleContainerHost = 1u << 10,  // dockerd, kubelet
  kRoleMainframe = 1u << 11,      // s390x, z/OS, CICS/IMS-like workloads
  kRoleFileServer = 1u << 12,     // NFS, SMB
};
inline constexpr uint32_t kAllRoles = (1u << 13) - 1;
// "database", "cache", ...: the names the estate file and the plan use.
std::string_view RoleName(Role role);
// The roles in `roles`, by name, in bit order.
std::vector<std::string_view> RoleNames(uint32_t roles);
// The role called `name`, or 0.
uint32_t RoleFromName(std::string_view name);

// The engine of a database server, for the managed-database target of its strategy.
enum class DatabaseEngine : uint8_t {
  kNone,
  kPostgreSQL,
  kMySQL,
  kSqlServer,
  kOracle,
  kMongoDB,
  kCassandra,
  kOther
};
std::string_view DatabaseEngineName(DatabaseEngine engine);
DatabaseEngine DatabaseEngineFromName(std::string_view name);

// Nearest-rank percentiles of one metric of the performance baseline (discover/baseline.h).
struct MetricPercentiles {
  double p50 = 0, p95 = 0, p99 = 0, max = 0;
  int64_t samples = 0;
  // The value at percentile 50, 95, 99 or 100 (max); the next one up for anything in between.
  double At(int percentile) const;
};

// What `ferry discover --watch` measured, or (imports) what another tool reported.
struct PerformanceBaseline {
  double coverage = 0;          // samples / expected samples, 0..1
  double duration_seconds = 0;  // how long it watched
  int64_t expected_samples = 0;
  // False when the figures are another tool's utilisation (an average or a maximum, not a
  // sampled distribution): sizing uses them, the confidence rating does not trust them.
  bool sampled = true;
  std::optional<MetricPercentiles> cpu_percent;
  std::optional<MetricPercentiles> memory_used_bytes;
  std::optional<MetricPercentiles> memory_used_percent;
  std::optional<MetricPercentiles> network_rx_bytes_per_second;
  std::optional<MetricPercentiles> network_tx_bytes_per_second;
  std::optional<MetricPercentiles> disk_iops;
};

// A certificate on disk that is not quantum-safe (RSA, ECC), or that expires soon.
struct CertificateNote {
  std::string path;
  std::string key_type;  // "RSA 2048", "EC prime256v1"
  bool quantum_safe = false;
  std::optional<int64_t> days_to_expiry;
};

struct Server {
  std::string name;    // hostname; unique in the estate (the reader makes it so)
  std::string source;  // the file (and line) it was read from, for messages

  Environment environment = Environment::kProduction;
  std::string environment_reason;  // which rule decided (docs/plan.md, "Environment")

  std::string os_id;                    // os-release ID: "debian", "rhel", "windows", "aix", ...
  std::string os_version_id;            // "12", "7.9", "2012r2"
  std::string os_name;                  // PRETTY_NAME, for people
  std::string architecture = "x86_64";  // kernel machine

  int logical_cpus = 0;          // 0: unknown
  uint64_t memory_bytes = 0;     // 0: unknown
  uint64_t disk_bytes = 0;       // provisioned
  uint64_t disk_used_bytes = 0;  // used (file systems)

  uint32_t roles = 0;  // Role bits
  DatabaseEngine database_engine = DatabaseEngine::kNone;
  int listening_services = 0;  // distinct non-loopback listening ports
  int processes = 0;

  std::vector<std::string> addresses;  // interface addresses (no loopback, no link-local)
  std::vector<CertificateNote> certificates;
  std::optional<PerformanceBaseline> baseline;
  // Tables without a primary or unique key across its databases, when the inventory says.
  std::optional<int64_t> tables_without_keys;
  // Import tags and attributes that matter to the rules ("retain", "on-premises"...).
  std::vector<std::string> tags;
};

enum class Protocol : uint8_t { kTcp, kUdp };
std::string_view ProtocolName(Protocol protocol);

// One connection a server observed: it (the client) reached remote_address:port. The reader
// turns inbound connections around, so `client` is always the side that depends on the other.
// `client` is an index into Estate::servers, or -1 when the client is not one of them (an
// inbound connection from outside: the reader keeps it as `client_address`).
struct ObservedConnection {
  int32_t client = -1;
  int32_t server = -1;         // an index when the observer was the server (inbound), else -1
  std::string remote_address;  // the address to match when `server` is -1
  std::string client_address;  // when `client` is -1
  uint16_t port = 0;
  Protocol protocol = Protocol::kTcp;
  uint32_t count = 1;   // how many sockets were seen (the observed frequency)
  std::string service;  // protocol guess: "postgresql", "dns", ... (may be empty)
};

// A warning about the input that did not stop the plan: the thing, the place and the way out.
struct InputNote {
  std::string source;
  std::string message;
  bool logged = false;  // already written to the log by the reader that found it
};

struct Estate {
  std::vector<Server> servers;
  std::vector<ObservedConnection> connections;
  // Inputs that could not be read (skipped), and readable ones with something odd in them.
  std::vector<InputNote> skipped;
  std::vector<InputNote> warnings;
  int inputs_read = 0;
};

// Environment from tags and the hostname (first rule that matches wins; docs/plan.md):
// 1. a tag `env=...`, `environment:...`, `stage=...` (any case) naming a production or
//    non-production stage; 2. a word of the hostname (split at `-`, `_`, `.` and digits) that
//    names one; 3. production. `reason` says which rule decided.
Environment EnvironmentFromNames(std::string_view hostname, const std::vector<std::string>& tags,
                                 std::string* reason);

// Makes server names unique ("web", "web" -> "web", "web#2"), noting each rename.
void MakeNamesUnique(Estate* estate);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_ESTATE_H_
