#include "plan/inventory_adapter.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "base/log.h"
#include "discover/inventory.h"

namespace ferry::plan {
namespace {

std::string Str(const Json& object, std::string_view key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<double> Num(const Json& object, std::string_view key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

const Json& Member(const Json& object, std::string_view key) {
  static const Json* const kNull = new Json();
  if (!object.is_object()) return *kNull;
  auto it = object.find(key);
  return it == object.end() ? *kNull : *it;
}

// The array at `key`, or an empty one.
const Json& Array(const Json& object, std::string_view key) {
  static const Json* const kEmpty = new Json(Json::array());
  const Json& value = Member(object, key);
  return value.is_array() ? value : *kEmpty;
}

bool IsLoopbackOrLinkLocal(std::string_view address) {
  if (address.starts_with("::ffff:")) address.remove_prefix(7);
  return address.starts_with("127.") || address == "::1" || address.starts_with("169.254.") ||
         address.starts_with("fe80:") || address.starts_with("fe80::") || address.empty() ||
         address == "0.0.0.0" || address == "::";
}

// What a listening service or a process says about the server's roles.
struct RoleHint {
  std::string_view name;
  uint32_t role;
  DatabaseEngine engine;
};
constexpr RoleHint kServiceRoles[] = {
    {"postgresql", kRoleDatabase, DatabaseEngine::kPostgreSQL},
    {"mysql", kRoleDatabase, DatabaseEngine::kMySQL},
    {"mssql", kRoleDatabase, DatabaseEngine::kSqlServer},
    {"oracle", kRoleDatabase, DatabaseEngine::kOracle},
    {"mongodb", kRoleDatabase, DatabaseEngine::kMongoDB},
    {"cassandra", kRoleDatabase, DatabaseEngine::kCassandra},
    {"couchdb", kRoleDatabase, DatabaseEngine::kOther},
    {"influxdb", kRoleDatabase, DatabaseEngine::kOther},
    {"elasticsearch", kRoleDatabase, DatabaseEngine::kOther},
    {"redis", kRoleCache, DatabaseEngine::kNone},
    {"memcached", kRoleCache, DatabaseEngine::kNone},
    {"dns", kRoleDns, DatabaseEngine::kNone},
    {"ldap", kRoleDirectory, DatabaseEngine::kNone},
    {"ldaps", kRoleDirectory, DatabaseEngine::kNone},
    {"kerberos", kRoleDirectory, DatabaseEngine::kNone},
    {"prometheus", kRoleMonitoring, DatabaseEngine::kNone},
    {"kibana", kRoleMonitoring, DatabaseEngine::kNone},
    {"kafka", kRoleQueue, DatabaseEngine::kNone},
    {"amqp", kRoleQueue, DatabaseEngine::kNone},
    {"mqtt", kRoleQueue, DatabaseEngine::kNone},
    {"mqtts", kRoleQueue, DatabaseEngine::kNone},
    {"nats", kRoleQueue, DatabaseEngine::kNone},
    {"activemq", kRoleQueue, DatabaseEngine::kNone},
    {"haproxy", kRoleLoadBalancer, DatabaseEngine::kNone},
    {"docker", kRoleContainerHost, DatabaseEngine::kNone},
    {"kubelet", kRoleContainerHost, DatabaseEngine::kNone},
    {"kubernetes-api", kRoleContainerHost, DatabaseEngine::kNone},
    {"nfs", kRoleFileServer, DatabaseEngine::kNone},
    {"smb", kRoleFileServer, DatabaseEngine::kNone},
};
constexpr RoleHint kProcessRoles[] = {
    {"haproxy", kRoleLoadBalancer, DatabaseEngine::kNone},
    {"keepalived", kRoleLoadBalancer, DatabaseEngine::kNone},
    {"envoy", kRoleLoadBalancer, DatabaseEngine::kNone},
    {"traefik", kRoleLoadBalancer, DatabaseEngine::kNone},
    {"dockerd", kRoleContainerHost, DatabaseEngine::kNone},
    {"containerd", kRoleContainerHost, DatabaseEngine::kNone},
    {"kubelet", kRoleContainerHost, DatabaseEngine::kNone},
    {"zabbix_server", kRoleMonitoring, DatabaseEngine::kNone},
    {"nagios", kRoleMonitoring, DatabaseEngine::kNone},
    {"icinga2", kRoleMonitoring, DatabaseEngine::kNone},
    {"grafana-server", kRoleMonitoring, DatabaseEngine::kNone},
    {"grafana", kRoleMonitoring, DatabaseEngine::kNone},
    {"prometheus", kRoleMonitoring, DatabaseEngine::kNone},
    {"named", kRoleDns, DatabaseEngine::kNone},
    {"unbound", kRoleDns, DatabaseEngine::kNone},
    {"pdns_server", kRoleDns, DatabaseEngine::kNone},
    {"slapd", kRoleDirectory, DatabaseEngine::kNone},
    {"krb5kdc", kRoleDirectory, DatabaseEngine::kNone},
    {"samba", kRoleDirectory, DatabaseEngine::kNone},
    {"cicsts", kRoleMainframe, DatabaseEngine::kNone},
    {"dfhsip", kRoleMainframe, DatabaseEngine::kNone},
};
// Web servers: an http(s) listener owned by one of these is a web server; by anything else, an
// application (API) server.
constexpr std::string_view kWebServers[] = {"nginx", "apache2",  "httpd", "lighttpd",
                                            "caddy", "varnishd", "squid"};
// Services every host runs, which say nothing about its role.
constexpr std::string_view kHousekeeping[] = {
    "ssh",     "ntp",  "snmp", "syslog",  "prometheus-exporter",
    "rpcbind", "dhcp", "mdns", "netbios", "ipp",
    "beats",   "tftp", "ike",  "vxlan"};

bool In(std::string_view value, std::span<const std::string_view> list) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::optional<MetricPercentiles> Percentiles(const Json& metric) {
  if (!metric.is_object()) return std::nullopt;
  auto p95 = Num(metric, "p95");
  if (!p95) return std::nullopt;
  MetricPercentiles m;
  m.p50 = Num(metric, "p50").value_or(*p95);
  m.p95 = *p95;
  m.p99 = Num(metric, "p99").value_or(*p95);
  m.max = Num(metric, "max").value_or(m.p99);
  m.samples = static_cast<int64_t>(Num(metric, "samples").value_or(0));
  return m;
}

// Another tool's utilisation (an average, a maximum or one value): the maximum when there is
// one, for every percentile, since it is all that is known of the distribution.
std::optional<MetricPercentiles> Utilisation(const Json& metric) {
  if (!metric.is_object()) return std::nullopt;
  std::optional<double> value = Num(metric, "max");
  if (!value) value = Num(metric, "value");
  if (!value) value = Num(metric, "avg");
  if (!value) return std::nullopt;
  MetricPercentiles m;
  m.p50 = Num(metric, "avg").value_or(*value);
  m.p95 = m.p99 = m.max = *value;
  return m;
}

std::string BaseName(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  if (size_t colon = name.find(':'); colon != std::string::npos) name.resize(colon);
  if (name.ends_with(".json")) name.resize(name.size() - 5);
  return name;
}

}  // namespace

Result<InventoryDocument> ParseInventoryDocument(std::string_view text, const std::string& source) {
  FERRY_ASSIGN_OR_RETURN(LoadedInventory loaded, ParseInventory(text, source));
  return InventoryDocument{std::move(loaded.document), std::move(loaded.warnings)};
}

Status AddInventory(const Json& inv, const std::string& source, Estate* estate,
                    const std::string& fallback_name) {
  const Json& host = Member(inv, "host");
  if (!host.is_object()) {
    return InvalidArgument(
        "inventory {} has no `host` object: not an inventory written by `ferry discover`; "
        "docs/inventory.schema.json describes the format",
        source);
  }
  const int32_t index = static_cast<int32_t>(estate->servers.size());
  Server server;
  server.source = source;
  server.name = InventoryHostName(inv);
  if (server.name.empty()) server.name = fallback_name.empty() ? BaseName(source) : fallback_name;

  const Json& os = Member(inv, "os");
  server.os_id = Str(os, "id");
  server.os_version_id = Str(os, "version_id");
  server.os_name = Str(os, "pretty_name");
  if (server.os_name.empty()) server.os_name = Str(os, "name");
  const Json& kernel = Member(inv, "kernel");
  const std::string machine = Str(kernel, "machine");
  if (!machine.empty()) server.architecture = machine;
  const std::string sysname = Str(kernel, "sysname");
  if (server.os_id.empty()) {
    if (sysname == "AIX") server.os_id = "aix";
    if (sysname == "SunOS") server.os_id = "solaris";
    if (sysname == "HP-UX") server.os_id = "hpux";
    if (sysname == "OS/390" || sysname == "z/OS") server.os_id = "zos";
  }
  if (server.architecture == "s390x" || server.os_id == "zos") server.roles |= kRoleMainframe;

  const Json& cpu = Member(inv, "cpu");
  server.logical_cpus =
      static_cast<int>(Num(cpu, "logical_cpus").value_or(Num(cpu, "cores").value_or(0)));
  server.memory_bytes =
      static_cast<uint64_t>(Num(Member(inv, "memory"), "total_bytes").value_or(0));

  for (const Json& disk : Array(inv, "disks")) {
    const Json& removable = Member(disk, "removable");
    if (Str(disk, "kind") != "block" || (removable.is_boolean() && removable.get<bool>())) continue;
    server.disk_bytes += static_cast<uint64_t>(Num(disk, "size_bytes").value_or(0));
  }
  for (const Json& fs : Array(inv, "filesystems")) {
    const Json& is_virtual = Member(fs, "virtual");
    const Json& network = Member(fs, "network");
    if ((is_virtual.is_boolean() && is_virtual.get<bool>()) ||
        (network.is_boolean() && network.get<bool>())) {
      continue;
    }
    server.disk_used_bytes += static_cast<uint64_t>(Num(fs, "used_bytes").value_or(0));
  }
  if (const Json& summary = Member(inv, "storage_summary"); summary.is_object()) {
    if (server.disk_bytes == 0) {
      server.disk_bytes = static_cast<uint64_t>(Num(summary, "total_bytes").value_or(0));
    }
    if (server.disk_used_bytes == 0) {
      server.disk_used_bytes = static_cast<uint64_t>(Num(summary, "used_bytes").value_or(0));
    }
  }

  const Json& interfaces = Member(Member(inv, "network"), "interfaces");
  if (interfaces.is_array()) {
    for (const Json& interface : interfaces) {
      const Json& addresses = Member(interface, "addresses");
      if (!addresses.is_array()) continue;
      for (const Json& address : addresses) {
        std::string text = Str(address, "address");
        if (!IsLoopbackOrLinkLocal(text)) server.addresses.push_back(std::move(text));
      }
    }
  }

  // Roles: listening services (with the owning process), then processes.
  std::set<std::pair<std::string, int>> services;
  const Json& listening = Member(inv, "listening");
  if (listening.is_array()) {
    for (const Json& socket : listening) {
      const Json& loopback = Member(socket, "loopback_only");
      if (loopback.is_boolean() && loopback.get<bool>()) continue;
      const std::string guess = Str(Member(socket, "service_guess"), "name");
      const std::string process = Str(socket, "process");
      if (In(guess, kHousekeeping)) continue;
      services.insert({Str(socket, "protocol"), static_cast<int>(Num(socket, "port").value_or(0))});
      bool matched = false;
      for (const RoleHint& hint : kServiceRoles) {
        if (guess == hint.name) {
          server.roles |= hint.role;
          if (hint.engine != DatabaseEngine::kNone &&
              server.database_engine == DatabaseEngine::kNone) {
            server.database_engine = hint.engine;
          }
          matched = true;
        }
      }
      if (!matched && (guess == "http" || guess == "https")) {
        matched = true;
        if (In(process, kWebServers)) {
          server.roles |= kRoleWeb;
        } else if (process == "haproxy" || process == "envoy" || process == "traefik") {
          server.roles |= kRoleLoadBalancer;
        } else {
          server.roles |= kRoleApi;
        }
      }
      if (!matched) server.roles |= kRoleApi;  // an application's own port
    }
  }
  server.listening_services = static_cast<int>(services.size());
  const Json& processes = Member(inv, "processes");
  if (processes.is_array()) {
    server.processes = static_cast<int>(processes.size());
    for (const Json& process : processes) {
      const std::string name = Str(process, "name");
      for (const RoleHint& hint : kProcessRoles) {
        if (name == hint.name) server.roles |= hint.role;
      }
    }
  }

  // Connections.
  const Json& connections = Member(inv, "connections");
  bool outbound_seen = false;
  if (connections.is_array()) {
    for (const Json& c : connections) {
      const Json& loopback = Member(c, "loopback");
      if (loopback.is_boolean() && loopback.get<bool>()) continue;
      const std::string remote = Str(c, "remote_address");
      if (IsLoopbackOrLinkLocal(remote)) continue;
      ObservedConnection observed;
      observed.protocol = Str(c, "protocol") == "udp" ? Protocol::kUdp : Protocol::kTcp;
      observed.service = Str(Member(c, "service_guess"), "name");
      if (Str(c, "direction") == "inbound") {
        observed.server = index;
        observed.client_address = remote;
        observed.port = static_cast<uint16_t>(Num(c, "local_port").value_or(0));
      } else {
        observed.client = index;
        observed.remote_address = remote;
        observed.port = static_cast<uint16_t>(Num(c, "remote_port").value_or(0));
        outbound_seen = true;
      }
      estate->connections.push_back(std::move(observed));
    }
  }
  if (server.roles == 0 && outbound_seen) server.roles |= kRoleWorker;

  const Json& certificates = Member(inv, "certificates");
  if (certificates.is_array()) {
    for (const Json& cert : certificates) {
      CertificateNote note;
      note.path = Str(cert, "path");
      std::string key = Str(cert, "key_type");
      if (auto bits = Num(cert, "key_bits")) key += fmt::format(" {}", static_cast<int>(*bits));
      if (std::string curve = Str(cert, "curve"); !curve.empty()) key += " " + curve;
      note.key_type = key;
      const Json& safe = Member(cert, "quantum_safe");
      note.quantum_safe = safe.is_boolean() && safe.get<bool>();
      if (auto days = Num(cert, "days_to_expiry"))
        note.days_to_expiry = static_cast<int64_t>(*days);
      server.certificates.push_back(std::move(note));
    }
  }

  if (const Json& baseline = Member(inv, "baseline"); baseline.is_object()) {
    PerformanceBaseline b;
    b.sampled = true;
    b.coverage = Num(baseline, "coverage").value_or(0);
    b.duration_seconds = Num(baseline, "duration_seconds").value_or(0);
    b.expected_samples = static_cast<int64_t>(Num(baseline, "expected_samples").value_or(0));
    const Json& metrics = Member(baseline, "metrics");
    b.cpu_percent = Percentiles(Member(metrics, "cpu_percent"));
    b.memory_used_bytes = Percentiles(Member(metrics, "memory_used_bytes"));
    b.memory_used_percent = Percentiles(Member(metrics, "memory_used_percent"));
    b.network_rx_bytes_per_second = Percentiles(Member(metrics, "network_rx_bytes_per_second"));
    b.network_tx_bytes_per_second = Percentiles(Member(metrics, "network_tx_bytes_per_second"));
    b.disk_iops = Percentiles(Member(metrics, "disk_iops"));
    server.baseline = b;
  } else if (const Json& utilization = Member(inv, "utilization"); utilization.is_object()) {
    PerformanceBaseline b;
    b.sampled = false;
    b.cpu_percent = Utilisation(Member(utilization, "cpu_percent"));
    b.memory_used_bytes = Utilisation(Member(utilization, "memory_used_bytes"));
    b.memory_used_percent = Utilisation(Member(utilization, "memory_used_percent"));
    b.network_rx_bytes_per_second = Utilisation(Member(utilization, "network_rx_bytes_per_second"));
    b.network_tx_bytes_per_second = Utilisation(Member(utilization, "network_tx_bytes_per_second"));
    if (b.cpu_percent || b.memory_used_bytes || b.memory_used_percent) server.baseline = b;
  }

  if (const Json& attributes = Member(inv, "import_attributes"); attributes.is_object()) {
    for (const auto& [key, value] : attributes.items()) {
      if (!value.is_string()) continue;
      std::string lower;
      for (char ch : key)
        lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
      if (lower.find("tag") != std::string::npos) {
        server.tags.push_back(value.get<std::string>());
      } else if (lower == "environment" || lower == "env" || lower == "stage") {
        server.tags.push_back("environment=" + value.get<std::string>());
      }
    }
  }
  if (const Json& databases = Member(inv, "databases"); databases.is_array()) {
    int64_t without_keys = 0;
    bool known = false;
    for (const Json& db : databases) {
      if (auto count = Num(db, "tables_without_primary_key")) {
        without_keys += static_cast<int64_t>(*count);
        known = true;
      }
    }
    if (known) server.tables_without_keys = without_keys;
  }

  server.environment = EnvironmentFromNames(server.name, server.tags, &server.environment_reason);
  estate->servers.push_back(std::move(server));
  return OkStatus();
}

}  // namespace ferry::plan
