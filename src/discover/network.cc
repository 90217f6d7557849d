#include "discover/network.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>

namespace ferry::discover_internal {
namespace {

constexpr uint32_t kRtfGateway = 0x2;
constexpr uint32_t kRtfLocal = 0x80000000;  // RTF_LOCAL: the kernel's table of own addresses

Json FlagNames(uint32_t flags) {
  Json names = Json::array();
  if (flags & 0x1) names.push_back("up");
  if (flags & kRtfGateway) names.push_back("gateway");
  if (flags & 0x4) names.push_back("host");
  if (flags & 0x200) names.push_back("reject");
  return names;
}

int PrefixFromNetmask(const sockaddr* netmask) {
  if (netmask == nullptr) return -1;
  int bits = 0;
  if (netmask->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(netmask);
    bits = std::popcount(v4->sin_addr.s_addr);
  } else if (netmask->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(netmask);
    for (uint8_t byte : v6->sin6_addr.s6_addr) bits += std::popcount(byte);
  } else {
    return -1;
  }
  return bits;
}

std::string ScopeName(unsigned scope) {
  switch (scope) {
    case 0x00: return "global";
    case 0x10: return "host";
    case 0x20: return "link";
    case 0x40: return "site";
    default: return "other";
  }
}

// Addresses of the running host, by interface, from getifaddrs(3).
std::map<std::string, Json> LiveAddresses() {
  std::map<std::string, Json> by_interface;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return by_interface;
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr) continue;
    const int family = it->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    char text[INET6_ADDRSTRLEN] = {};
    const void* address =
        family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(it->ifa_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(it->ifa_addr)->sin6_addr);
    if (::inet_ntop(family, address, text, sizeof(text)) == nullptr) continue;
    Json entry = {{"family", family == AF_INET ? "ipv4" : "ipv6"},
                  {"address", text},
                  {"prefix_length", PrefixFromNetmask(it->ifa_netmask)}};
    if (family == AF_INET6) {
      const auto& v6 = reinterpret_cast<sockaddr_in6*>(it->ifa_addr)->sin6_addr;
      entry["scope"] = IN6_IS_ADDR_LINKLOCAL(&v6)  ? "link"
                       : IN6_IS_ADDR_LOOPBACK(&v6) ? "host"
                                                   : "global";
    } else {
      entry["scope"] = std::string_view(text).starts_with("127.") ? "host" : "global";
    }
    auto [slot, inserted] = by_interface.try_emplace(it->ifa_name, Json::array());
    slot->second.push_back(std::move(entry));
  }
  ::freeifaddrs(list);
  return by_interface;
}

}  // namespace

std::string ProcHexToIpv4(std::string_view hex) {
  auto value = ParseHex(hex);
  if (hex.size() != 8 || !value) return "";
  in_addr address{};
  const auto word = static_cast<uint32_t>(*value);
  std::memcpy(&address, &word, sizeof(word));
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &address, text, sizeof(text));
  return text;
}

std::string ProcHexToIpv6(std::string_view hex, bool words) {
  if (hex.size() != 32) return "";
  in6_addr address{};
  for (int i = 0; i < 4; ++i) {
    auto value = ParseHex(hex.substr(static_cast<size_t>(i) * 8, 8));
    if (!value) return "";
    auto word = static_cast<uint32_t>(*value);
    // if_inet6 and ipv6_route print the bytes in order; tcp6/udp6 print each 32-bit word of
    // the address as a native integer.
    if (!words) word = htonl(word);
    std::memcpy(&address.s6_addr[static_cast<size_t>(i) * 4], &word, sizeof(word));
  }
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET6, &address, text, sizeof(text));
  return text;
}

Json ParseIpv4Routes(std::string_view text) {
  Json routes = Json::array();
  std::vector<std::string_view> fields;
  bool header = true;
  ForEachLine(text, [&](std::string_view line) {
    if (header) {  // "Iface Destination Gateway Flags ..."
      header = false;
      return;
    }
    SplitBlanks(line, &fields);
    if (fields.size() < 8) return;
    auto flags = ParseHex(fields[3]);
    auto metric = ParseUint(fields[6]);
    auto mask = ParseHex(fields[7]);
    if (!flags || !metric || !mask) return;
    std::string gateway = ProcHexToIpv4(fields[2]);
    routes.push_back({{"family", "ipv4"},
                      {"destination", ProcHexToIpv4(fields[1])},
                      {"prefix_length", std::popcount(static_cast<uint32_t>(*mask))},
                      {"gateway", (*flags & kRtfGateway) ? Json(gateway) : Json(nullptr)},
                      {"interface", std::string(fields[0])},
                      {"metric", *metric},
                      {"flags", FlagNames(static_cast<uint32_t>(*flags))}});
  });
  return routes;
}

Json ParseIpv6Routes(std::string_view text) {
  Json routes = Json::array();
  std::vector<std::string_view> fields;
  ForEachLine(text, [&](std::string_view line) {
    // dest dest_prefix src src_prefix next_hop metric refcnt use flags interface
    SplitBlanks(line, &fields);
    if (fields.size() < 10) return;
    auto prefix = ParseHex(fields[1]);
    auto metric = ParseHex(fields[5]);
    auto flags = ParseHex(fields[8]);
    if (!prefix || !metric || !flags) return;
    if (fields[9] == "lo" || (*flags & kRtfLocal)) return;
    routes.push_back({{"family", "ipv6"},
                      {"destination", ProcHexToIpv6(fields[0], /*words=*/false)},
                      {"prefix_length", *prefix},
                      {"gateway", (*flags & kRtfGateway) ? Json(ProcHexToIpv6(fields[4], false))
                                                         : Json(nullptr)},
                      {"interface", std::string(fields[9])},
                      {"metric", *metric},
                      {"flags", FlagNames(static_cast<uint32_t>(*flags))}});
  });
  return routes;
}

Json ParseResolvConf(std::string_view text) {
  Json nameservers = Json::array();
  Json search = Json::array();
  Json options = Json::array();
  std::vector<std::string_view> fields;
  ForEachLine(text, [&](std::string_view line) {
    line = line.substr(0, line.find_first_of("#;"));
    SplitBlanks(line, &fields);
    if (fields.size() < 2) return;
    if (fields[0] == "nameserver") {
      nameservers.push_back(std::string(fields[1]));
    } else if (fields[0] == "search" || fields[0] == "domain") {
      // resolv.conf(5): the last of `search` and `domain` wins.
      search = Json::array();
      for (size_t i = 1; i < fields.size(); ++i) search.push_back(std::string(fields[i]));
    } else if (fields[0] == "options") {
      for (size_t i = 1; i < fields.size(); ++i) options.push_back(std::string(fields[i]));
    }
  });
  return {{"nameservers", std::move(nameservers)},
          {"search", std::move(search)},
          {"options", std::move(options)}};
}

Json ParseIfInet6(std::string_view text) {
  Json by_interface = Json::object();
  std::vector<std::string_view> fields;
  ForEachLine(text, [&](std::string_view line) {
    // address ifindex prefix_length scope flags name
    SplitBlanks(line, &fields);
    if (fields.size() < 6) return;
    auto prefix = ParseHex(fields[2]);
    auto scope = ParseHex(fields[3]);
    if (!prefix || !scope) return;
    by_interface[std::string(fields[5])].push_back(
        {{"family", "ipv6"},
         {"address", ProcHexToIpv6(fields[0], /*words=*/false)},
         {"prefix_length", *prefix},
         {"scope", ScopeName(static_cast<unsigned>(*scope))}});
  });
  return by_interface;
}

Json CollectNetwork(const HostRoot& root, UnseenLog* unseen) {
  std::string buffer;
  // Addresses first, so that each interface can take its own.
  std::map<std::string, Json> addresses;
  if (root.live()) {
    addresses = LiveAddresses();
  } else {
    if (root.Read("/proc/net/if_inet6", &buffer) == 0) {
      const Json by_interface = ParseIfInet6(buffer);
      for (const auto& [name, list] : by_interface.items()) addresses[name] = list;
    }
    unseen->Add("IPv4 addresses of interfaces",
                "procfs has no file naming the interface of each IPv4 address; they are read "
                "with getifaddrs on the running host only, not under --root " +
                    root.display());
  }

  Json interfaces = Json::array();
  std::vector<std::string> names;
  int error = root.List("/sys/class/net", &names);
  if (error != 0) NoteUnreadable(unseen, "/sys/class/net", error);
  for (const auto& [name, list] : addresses) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string base = "/sys/class/net/" + name;
    auto attribute = [&](const char* file) -> std::optional<std::string> {
      if (root.Read(base + "/" + file, &buffer) != 0) return std::nullopt;
      return std::string(Trim(buffer));
    };
    auto mac = attribute("address");
    auto mtu = attribute("mtu");
    auto state = attribute("operstate");
    // `speed` fails with EINVAL on interfaces without a link speed (virtual ones, a link down).
    auto speed = attribute("speed");
    // Plain numbers (-1: unknown or none), not optionals: GCC 12 at -O2 warns that an optional
    // built by a conditional may be read uninitialised.
    int64_t mtu_value = -1;
    if (mtu) {
      if (std::optional<uint64_t> parsed = ParseUint(*mtu))
        mtu_value = static_cast<int64_t>(*parsed);
    }
    int64_t mbps = -1;
    if (speed) {
      if (std::optional<int64_t> parsed = ParseInt(*speed)) mbps = *parsed;
    }
    Json entry = {{"name", name},
                  {"mac", mac && !mac->empty() ? Json(*mac) : Json(nullptr)},
                  {"mtu", mtu_value >= 0 ? Json(mtu_value) : Json(nullptr)},
                  {"state", state && !state->empty() ? Json(*state) : Json(nullptr)},
                  {"speed_mbps", mbps > 0 ? Json(mbps) : Json(nullptr)},
                  {"addresses", Json::array()}};
    if (auto it = addresses.find(name); it != addresses.end()) entry["addresses"] = it->second;
    interfaces.push_back(std::move(entry));
  }

  Json routes = Json::array();
  for (auto [path, parse] : {std::pair{"/proc/net/route", &ParseIpv4Routes},
                             std::pair{"/proc/net/ipv6_route", &ParseIpv6Routes}}) {
    error = root.Read(path, &buffer);
    if (error != 0) {
      // A kernel built without IPv6 has no ipv6_route: nothing to see, not something unseen.
      if (error != ENOENT || std::string_view(path) == "/proc/net/route") {
        NoteUnreadable(unseen, path, error);
      }
      continue;
    }
    for (Json& route : parse(buffer)) routes.push_back(std::move(route));
  }

  Json dns = ParseResolvConf("");
  error = root.Read("/etc/resolv.conf", &buffer);
  if (error == 0) {
    dns = ParseResolvConf(buffer);
    // systemd-resolved's stub listens on 127.0.0.53 and keeps the real servers elsewhere.
    const Json& servers = dns["nameservers"];
    if (servers.size() == 1 && servers[0] == "127.0.0.53" &&
        root.Read("/run/systemd/resolve/resolv.conf", &buffer) == 0) {
      Json upstream = ParseResolvConf(buffer);
      dns["upstream_nameservers"] = upstream["nameservers"];
    }
  } else {
    NoteUnreadable(unseen, "/etc/resolv.conf", error);
  }
  return {{"interfaces", std::move(interfaces)},
          {"routes", std::move(routes)},
          {"dns", std::move(dns)}};
}

}  // namespace ferry::discover_internal
