// Listening sockets and established connections, each with its owning process, and a guess
// of the protocol spoken. Private to discover.
//
// Sockets come from /proc/net/{tcp,tcp6,udp,udp6} (proc_net_tcp(5)); the owner is the process
// holding the socket's inode (processes.h), and the owning uid comes with every line even when
// the process cannot be seen. Listening: TCP in state LISTEN, UDP sockets bound to a port and
// not connected. Connections: TCP ESTABLISHED and connected UDP; each is "inbound" when its
// local port is one this host listens on (TCP), "outbound" otherwise.
//
// The protocol guess combines two independent hints: the well-known port (IANA's service
// registry for the common ones) and the program (postgres, mysqld, redis-server, nginx, java
// with a known main class...). The basis is recorded: "port+process" when both agree,
// "process" or "port" when only one speaks; a server's program wins over its port (PostgreSQL
// on 5433 is still PostgreSQL), except that a generic web server on 443 is "https".
#ifndef FERRY_DISCOVER_SOCKETS_H_
#define FERRY_DISCOVER_SOCKETS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "discover/host_files.h"
#include "discover/processes.h"
#include "discover/unseen.h"

namespace ferry::discover_internal {

struct SocketLine {
  bool tcp = true;
  bool ipv6 = false;
  std::string local_address;
  uint16_t local_port = 0;
  std::string remote_address;
  uint16_t remote_port = 0;
  int state = 0;  // TCP_ESTABLISHED = 1 ... TCP_LISTEN = 10 (include/net/tcp_states.h)
  uint32_t uid = 0;
  uint64_t inode = 0;
};
inline constexpr int kTcpEstablished = 1;
inline constexpr int kTcpListen = 10;
inline constexpr int kUdpUnconnected = 7;  // TCP_CLOSE, which UDP uses for "not connected"

// The lines of one /proc/net/{tcp,tcp6,udp,udp6} file (the header skipped). `inventory_only`
// keeps only the sockets an inventory lists (listening, established, bound UDP) and skips the
// others before decoding their addresses: a busy web server has tens of thousands in TIME_WAIT.
std::vector<SocketLine> ParseProcNetSockets(std::string_view text, bool tcp, bool ipv6,
                                            bool inventory_only = false);

struct ServiceGuess {
  std::string name;   // "postgresql", "https", "ssh"...
  std::string basis;  // "port+process", "process" or "port"
};
// `server`: the process accepts on `port` (listening, inbound); otherwise it connected to it.
std::optional<ServiceGuess> GuessService(uint16_t port, bool tcp, std::string_view program,
                                         const std::vector<std::string>& cmdline, bool server);
// The protocol IANA registers for a well-known port, for the ones a migration meets.
std::optional<std::string_view> ServiceOfPort(uint16_t port, bool tcp);

// {"listening": [...], "connections": [...]}
Json CollectSockets(const HostRoot& root, const ProcessScan& processes, const UserNames& users,
                    UnseenLog* unseen);

}  // namespace ferry::discover_internal

#endif  // FERRY_DISCOVER_SOCKETS_H_
