// Network interfaces and addresses, routes and DNS configuration. Private to discover.
//
// Interfaces from /sys/class/net (MAC, MTU, state, speed); addresses from getifaddrs(3) on the
// running host, or from /proc/net/if_inet6 under --root (IPv4 addresses have no procfs file
// that names their interface, so a --root inventory says it did not see them); routes from
// /proc/net/route and /proc/net/ipv6_route; DNS from /etc/resolv.conf, and from
// /run/systemd/resolve/resolv.conf when the first points at systemd-resolved's stub.
#ifndef FERRY_DISCOVER_NETWORK_H_
#define FERRY_DISCOVER_NETWORK_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/json.h"
#include "discover/host_files.h"
#include "discover/unseen.h"

namespace ferry::discover_internal {

// Addresses as procfs writes them. IPv4: 8 hex digits, the network-order address read as a
// native integer (so "0100007F" is 127.0.0.1 on a little-endian host). IPv6: 32 hex digits,
// four such words (/proc/net/tcp6) or the bytes in order (/proc/net/if_inet6, ipv6_route:
// `words` false). Empty string for malformed input.
std::string ProcHexToIpv4(std::string_view hex);
std::string ProcHexToIpv6(std::string_view hex, bool words);

// [{"family": "ipv4", "destination", "prefix_length", "gateway", "interface", "metric",
//   "flags"}] from /proc/net/route text.
Json ParseIpv4Routes(std::string_view text);
// The same for /proc/net/ipv6_route text; routes through the loopback interface (the kernel's
// local table) are left out.
Json ParseIpv6Routes(std::string_view text);
// {"nameservers": [...], "search": [...], "options": [...]} from resolv.conf(5) text.
Json ParseResolvConf(std::string_view text);
// if_inet6 lines -> {interface name: [{"family", "address", "prefix_length", "scope"}]}.
Json ParseIfInet6(std::string_view text);

// {"interfaces": [...], "routes": [...], "dns": {...}}
Json CollectNetwork(const HostRoot& root, UnseenLog* unseen);

}  // namespace ferry::discover_internal

#endif  // FERRY_DISCOVER_NETWORK_H_
