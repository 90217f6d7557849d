#include "discover/sockets.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <set>
#include <span>
#include <tuple>

#include "discover/network.h"

namespace ferry::discover_internal {
namespace {

struct PortName {
  uint16_t port;
  bool tcp;
  bool udp;
  std::string_view name;
};

// Well-known ports (IANA "Service Name and Transport Protocol Port Number Registry"), and the
// de-facto ports of common servers that IANA lists under another name or not at all.
constexpr std::array<PortName, 70> kPorts = {{
    {21, true, false, "ftp"},
    {22, true, false, "ssh"},
    {23, true, false, "telnet"},
    {25, true, false, "smtp"},
    {53, true, true, "dns"},
    {67, false, true, "dhcp"},
    {69, false, true, "tftp"},
    {80, true, false, "http"},
    {88, true, true, "kerberos"},
    {110, true, false, "pop3"},
    {111, true, true, "rpcbind"},
    {123, false, true, "ntp"},
    {135, true, false, "msrpc"},
    {137, false, true, "netbios"},
    {139, true, false, "netbios"},
    {143, true, false, "imap"},
    {161, false, true, "snmp"},
    {389, true, false, "ldap"},
    {443, true, true, "https"},
    {445, true, false, "smb"},
    {465, true, false, "smtps"},
    {500, false, true, "ike"},
    {514, false, true, "syslog"},
    {587, true, false, "smtp"},
    {631, true, false, "ipp"},
    {636, true, false, "ldaps"},
    {873, true, false, "rsync"},
    {993, true, false, "imaps"},
    {995, true, false, "pop3s"},
    {1194, true, true, "openvpn"},
    {1433, true, false, "mssql"},
    {1521, true, false, "oracle"},
    {1883, true, false, "mqtt"},
    {2049, true, true, "nfs"},
    {2181, true, false, "zookeeper"},
    {2375, true, false, "docker"},
    {2376, true, false, "docker"},
    {2379, true, false, "etcd"},
    {2380, true, false, "etcd"},
    {3260, true, false, "iscsi"},
    {3268, true, false, "ldap"},
    {3306, true, false, "mysql"},
    {3389, true, false, "rdp"},
    {4222, true, false, "nats"},
    {4789, false, true, "vxlan"},
    {5044, true, false, "beats"},
    {5353, false, true, "mdns"},
    {5432, true, false, "postgresql"},
    {5601, true, false, "kibana"},
    {5672, true, false, "amqp"},
    {5984, true, false, "couchdb"},
    {6379, true, false, "redis"},
    {6432, true, false, "postgresql"},
    {6443, true, false, "kubernetes-api"},
    {8000, true, false, "http"},
    {8080, true, false, "http"},
    {8200, true, false, "vault"},
    {8443, true, false, "https"},
    {8500, true, false, "consul"},
    {8883, true, false, "mqtts"},
    {9042, true, false, "cassandra"},
    {9090, true, false, "prometheus"},
    {9092, true, false, "kafka"},
    {9100, true, false, "prometheus-exporter"},
    {9200, true, false, "elasticsearch"},
    {9300, true, false, "elasticsearch"},
    {10250, true, false, "kubelet"},
    {11211, true, true, "memcached"},
    {15672, true, false, "amqp"},
    {27017, true, false, "mongodb"},
}};

struct ProgramName {
  std::string_view program;
  std::string_view name;
};

// Server programs, by executable name (comm is cut at 15 bytes, so both forms are listed where
// they differ).
constexpr std::array<ProgramName, 62> kServerPrograms = {{
    {"postgres", "postgresql"},
    {"postmaster", "postgresql"},
    {"pgbouncer", "postgresql"},
    {"pgpool", "postgresql"},
    {"mysqld", "mysql"},
    {"mariadbd", "mysql"},
    {"mysqld_safe", "mysql"},
    {"mysqlrouter", "mysql"},
    {"proxysql", "mysql"},
    {"redis-server", "redis"},
    {"valkey-server", "redis"},
    {"redis-sentinel", "redis"},
    {"mongod", "mongodb"},
    {"mongos", "mongodb"},
    {"memcached", "memcached"},
    {"nginx", "http"},
    {"httpd", "http"},
    {"apache2", "http"},
    {"lighttpd", "http"},
    {"caddy", "http"},
    {"traefik", "http"},
    {"envoy", "http"},
    {"varnishd", "http"},
    {"squid", "http"},
    {"sshd", "ssh"},
    {"named", "dns"},
    {"unbound", "dns"},
    {"dnsmasq", "dns"},
    {"systemd-resolved", "dns"},
    {"systemd-resolve", "dns"},
    {"coredns", "dns"},
    {"pdns_server", "dns"},
    {"slapd", "ldap"},
    {"exim4", "smtp"},
    {"exim", "smtp"},
    {"sendmail", "smtp"},
    {"dovecot", "imap"},
    {"sqlservr", "mssql"},
    {"tnslsnr", "oracle"},
    {"etcd", "etcd"},
    {"kube-apiserver", "kubernetes-api"},
    {"kubelet", "kubelet"},
    {"dockerd", "docker"},
    {"vsftpd", "ftp"},
    {"proftpd", "ftp"},
    {"pure-ftpd", "ftp"},
    {"smbd", "smb"},
    {"nmbd", "netbios"},
    {"rpcbind", "rpcbind"},
    {"chronyd", "ntp"},
    {"ntpd", "ntp"},
    {"snmpd", "snmp"},
    {"rsyslogd", "syslog"},
    {"syslog-ng", "syslog"},
    {"cupsd", "ipp"},
    {"influxd", "influxdb"},
    {"prometheus", "prometheus"},
    {"node_exporter", "prometheus-exporter"},
    {"consul", "consul"},
    {"vault", "vault"},
    {"openvpn", "openvpn"},
    {"haproxy", "haproxy"},
}};

// Programs that speak a protocol as clients (outbound connections). Database servers are here
// too: a replica connects to its primary.
constexpr std::array<ProgramName, 22> kClientPrograms = {{
    {"psql", "postgresql"},
    {"pg_dump", "postgresql"},
    {"pg_basebackup", "postgresql"},
    {"pg_receivewal", "postgresql"},
    {"postgres", "postgresql"},
    {"mysql", "mysql"},
    {"mariadb", "mysql"},
    {"mysqldump", "mysql"},
    {"mariadb-dump", "mysql"},
    {"mysqld", "mysql"},
    {"mariadbd", "mysql"},
    {"redis-cli", "redis"},
    {"redis-server", "redis"},
    {"mongosh", "mongodb"},
    {"mongo", "mongodb"},
    {"mongod", "mongodb"},
    {"ssh", "ssh"},
    {"scp", "ssh"},
    {"sftp", "ssh"},
    {"ldapsearch", "ldap"},
    {"sqlcmd", "mssql"},
    {"sqlplus", "oracle"},
}};

// JVM programs by a prefix of their main class or of a jar on their command line.
constexpr std::array<ProgramName, 12> kJavaMains = {{
    {"kafka.Kafka", "kafka"},
    {"org.apache.kafka", "kafka"},
    {"org.elasticsearch", "elasticsearch"},
    {"org.opensearch", "elasticsearch"},
    {"org.apache.zookeeper", "zookeeper"},
    {"org.apache.catalina", "http"},
    {"org.eclipse.jetty", "http"},
    {"org.jboss", "http"},
    {"org.apache.cassandra", "cassandra"},
    {"org.apache.activemq", "activemq"},
    {"org.apache.solr", "http"},
    {"org.logstash", "logstash"},
}};

bool IsWebName(std::string_view name) { return name == "http" || name == "https"; }

std::optional<std::string_view> Lookup(std::span<const ProgramName> table,
                                       std::string_view program) {
  for (const ProgramName& entry : table) {
    if (entry.program == program) return entry.name;
  }
  return std::nullopt;
}

std::optional<std::string_view> ServerProgram(std::string_view program,
                                              const std::vector<std::string>& cmdline) {
  if (program == "java") {
    for (const std::string& argument : cmdline) {
      for (const ProgramName& main : kJavaMains) {
        if (argument.find(main.program) != std::string::npos) return main.name;
      }
    }
    return std::nullopt;
  }
  // Postfix's daemon is called "master": only with postfix in its path.
  if (program == "master" && !cmdline.empty() && cmdline[0].find("postfix") != std::string::npos) {
    return "smtp";
  }
  if (program == "beam.smp") {
    for (const std::string& argument : cmdline) {
      if (argument.find("rabbit") != std::string::npos) return "amqp";
      if (argument.find("couchdb") != std::string::npos) return "couchdb";
    }
    return std::nullopt;
  }
  return Lookup(kServerPrograms, program);
}

std::string_view StateName(int state, bool tcp) {
  if (!tcp) return state == kTcpEstablished ? "connected" : "unconnected";
  switch (state) {
    case 1: return "established";
    case 2: return "syn-sent";
    case 3: return "syn-received";
    case 4: return "fin-wait-1";
    case 5: return "fin-wait-2";
    case 6: return "time-wait";
    case 7: return "close";
    case 8: return "close-wait";
    case 9: return "last-ack";
    case 10: return "listen";
    case 11: return "closing";
    default: return "unknown";
  }
}

bool IsLoopback(std::string_view address) {
  return address.starts_with("127.") || address == "::1" || address.starts_with("::ffff:127.");
}

bool IsUnspecified(std::string_view address) { return address == "0.0.0.0" || address == "::"; }

}  // namespace

std::vector<SocketLine> ParseProcNetSockets(std::string_view text, bool tcp, bool ipv6,
                                            bool inventory_only) {
  std::vector<SocketLine> lines;
  std::vector<std::string_view> fields;
  ForEachLine(text, [&](std::string_view line) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    SplitBlanks(line, &fields);
    if (fields.size() < 10 || !fields[0].ends_with(":")) return;  // the header, or garbage
    auto endpoint = [&](std::string_view field, std::string* address, uint16_t* port) {
      size_t colon = field.find(':');
      if (colon == std::string_view::npos) return false;
      auto value = ParseHex(field.substr(colon + 1));
      *address = ipv6 ? ProcHexToIpv6(field.substr(0, colon), /*words=*/true)
                      : ProcHexToIpv4(field.substr(0, colon));
      if (!value || *value > 0xFFFF || address->empty()) return false;
      *port = static_cast<uint16_t>(*value);
      return true;
    };
    auto state = ParseHex(fields[3]);
    const auto wanted = static_cast<uint64_t>(tcp ? kTcpListen : kUdpUnconnected);
    if (inventory_only && state.has_value() && *state != uint64_t{kTcpEstablished} &&
        *state != wanted) {
      return;
    }
    SocketLine socket;
    socket.tcp = tcp;
    socket.ipv6 = ipv6;
    auto uid = ParseUint(fields[7]);
    auto inode = ParseUint(fields[9]);
    if (!endpoint(fields[1], &socket.local_address, &socket.local_port) ||
        !endpoint(fields[2], &socket.remote_address, &socket.remote_port) || !state || !uid ||
        !inode) {
      return;
    }
    socket.state = static_cast<int>(*state);
    socket.uid = static_cast<uint32_t>(*uid);
    socket.inode = *inode;
    lines.push_back(std::move(socket));
  });
  return lines;
}

std::optional<std::string_view> ServiceOfPort(uint16_t port, bool tcp) {
  for (const PortName& entry : kPorts) {
    if (entry.port == port && (tcp ? entry.tcp : entry.udp)) return entry.name;
  }
  return std::nullopt;
}

std::optional<ServiceGuess> GuessService(uint16_t port, bool tcp, std::string_view program,
                                         const std::vector<std::string>& cmdline, bool server) {
  std::optional<std::string_view> by_port = ServiceOfPort(port, tcp);
  std::optional<std::string_view> by_process =
      server ? ServerProgram(program, cmdline) : Lookup(kClientPrograms, program);
  if (by_process.has_value() && by_port.has_value()) {
    if (*by_process == *by_port) return ServiceGuess{std::string(*by_port), "port+process"};
    // A web server on 443 speaks https; its program alone says only "http".
    if (IsWebName(*by_process) && IsWebName(*by_port)) {
      return ServiceGuess{std::string(*by_port), "port+process"};
    }
    // A proxy speaks whatever it forwards.
    if (*by_process == "haproxy") return ServiceGuess{std::string(*by_port), "port"};
  }
  if (by_process.has_value()) return ServiceGuess{std::string(*by_process), "process"};
  if (by_port.has_value()) return ServiceGuess{std::string(*by_port), "port"};
  return std::nullopt;
}

Json CollectSockets(const HostRoot& root, const ProcessScan& processes, const UserNames& users,
                    UnseenLog* unseen) {
  std::vector<SocketLine> sockets;
  std::string text;
  for (auto [path, tcp, ipv6] :
       {std::tuple{"/proc/net/tcp", true, false}, std::tuple{"/proc/net/tcp6", true, true},
        std::tuple{"/proc/net/udp", false, false}, std::tuple{"/proc/net/udp6", false, true}}) {
    int error = root.Read(path, &text);
    if (error != 0) {
      if (!(ipv6 && error == ENOENT)) NoteUnreadable(unseen, path, error);  // no IPv6: fine
      continue;
    }
    for (SocketLine& socket : ParseProcNetSockets(text, tcp, ipv6, /*inventory_only=*/true)) {
      sockets.push_back(std::move(socket));
    }
  }
  // TCP before UDP, then by port, family and addresses: a stable order for diffs of inventories.
  auto order = [](const SocketLine& s) {
    return std::tuple<bool, uint16_t, bool, const std::string&, const std::string&, uint16_t>(
        !s.tcp, s.local_port, s.ipv6, s.local_address, s.remote_address, s.remote_port);
  };
  std::sort(sockets.begin(), sockets.end(),
            [&](const SocketLine& a, const SocketLine& b) { return order(a) < order(b); });

  std::set<uint16_t> tcp_listening_ports;
  for (const SocketLine& socket : sockets) {
    if (socket.tcp && socket.state == kTcpListen) tcp_listening_ports.insert(socket.local_port);
  }

  // The owner fields every socket entry shares.
  int unowned_listening = 0;
  auto owner = [&](const SocketLine& socket, Json* entry) -> const ProcessInfo* {
    (*entry)["uid"] = socket.uid;
    (*entry)["user"] = users.Name(socket.uid);
    Json pids = Json::array();
    const ProcessInfo* first = nullptr;
    if (auto it = processes.socket_owners.find(socket.inode);
        socket.inode != 0 && it != processes.socket_owners.end()) {
      for (int pid : it->second) {
        pids.push_back(pid);
        if (first == nullptr) first = processes.Find(pid);
      }
    }
    (*entry)["pid"] = first != nullptr ? Json(first->pid) : Json(nullptr);
    (*entry)["process"] = first != nullptr ? Json(first->ProgramName()) : Json(nullptr);
    (*entry)["pids"] = std::move(pids);
    return first;
  };
  auto guess_json = [](const std::optional<ServiceGuess>& guess) -> Json {
    if (!guess.has_value()) return nullptr;
    return {{"name", guess->name}, {"basis", guess->basis}};
  };
  static const std::vector<std::string> kNoArguments;

  Json listening = Json::array();
  Json connections = Json::array();
  for (const SocketLine& socket : sockets) {
    const bool listens = socket.tcp ? socket.state == kTcpListen
                                    : socket.state == kUdpUnconnected && socket.local_port != 0;
    const bool connected = socket.state == kTcpEstablished;
    if (!listens && !connected) continue;
    Json entry = {{"protocol", socket.tcp ? "tcp" : "udp"},
                  {"family", socket.ipv6 ? "ipv6" : "ipv4"}};
    if (listens) {
      entry["address"] = socket.local_address;
      entry["port"] = socket.local_port;
      entry["loopback_only"] = IsLoopback(socket.local_address);
      const ProcessInfo* process = owner(socket, &entry);
      if (process == nullptr && socket.tcp) ++unowned_listening;
      entry["service_guess"] = guess_json(GuessService(
          socket.local_port, socket.tcp, process != nullptr ? process->ProgramName() : "",
          process != nullptr ? process->cmdline : kNoArguments, /*server=*/true));
      entry["inode"] = socket.inode;
      listening.push_back(std::move(entry));
      continue;
    }
    const bool inbound = socket.tcp && tcp_listening_ports.contains(socket.local_port);
    entry["local_address"] = socket.local_address;
    entry["local_port"] = socket.local_port;
    entry["remote_address"] = socket.remote_address;
    entry["remote_port"] = socket.remote_port;
    entry["state"] = StateName(socket.state, socket.tcp);
    entry["direction"] = inbound ? "inbound" : "outbound";
    entry["loopback"] = IsLoopback(socket.remote_address) || IsUnspecified(socket.remote_address);
    const ProcessInfo* process = owner(socket, &entry);
    entry["service_guess"] = guess_json(
        GuessService(inbound ? socket.local_port : socket.remote_port, socket.tcp,
                     process != nullptr ? process->ProgramName() : "",
                     process != nullptr ? process->cmdline : kNoArguments, /*server=*/inbound));
    entry["inode"] = socket.inode;
    connections.push_back(std::move(entry));
  }
  if (unowned_listening > 0 && processes.fd_dirs_unreadable == 0) {
    unseen->Add("owners of some listening sockets",
                "no visible process holds them: processes in another PID namespace (a container "
                "sharing this network namespace) or the kernel itself (NFS, WireGuard); their "
                "owning uid is listed",
                std::to_string(unowned_listening) + " TCP listening sockets");
  }
  return {{"listening", std::move(listening)}, {"connections", std::move(connections)}};
}

}  // namespace ferry::discover_internal
