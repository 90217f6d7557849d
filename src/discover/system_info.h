// The host itself: identity, operating system, kernel, CPU and memory. Private to discover.
//
// Sources (docs/discover.md): /proc/sys/kernel/{hostname,ostype,osrelease,version,arch},
// /proc/sys/kernel/random/boot_id, /etc/machine-id, /etc/os-release (or /usr/lib/os-release),
// /proc/cpuinfo, /sys/devices/system/cpu/online, /proc/meminfo, /proc/uptime. All are readable
// by any user.
#ifndef FERRY_DISCOVER_SYSTEM_INFO_H_
#define FERRY_DISCOVER_SYSTEM_INFO_H_

#include <string_view>

#include "base/json.h"
#include "discover/host_files.h"
#include "discover/unseen.h"

namespace ferry::discover_internal {

// {"id", "name", "version", "version_id", "pretty_name", "id_like": [...], "version_codename"}
// from os-release(5) text; absent keys are null.
Json ParseOsRelease(std::string_view text);

// {"model", "vendor", "sockets", "cores", "logical_cpus", "mhz"} from /proc/cpuinfo. `cores`
// counts distinct (physical id, core id) pairs: physical cores, not hyper-threads; when the
// file has no core ids (most ARM kernels) it is the logical count.
Json ParseCpuInfo(std::string_view text);

// {"total_bytes", "available_bytes", "free_bytes", "buffers_bytes", "cached_bytes",
//  "swap_total_bytes", "swap_free_bytes"} from /proc/meminfo (whose "kB" is KiB).
Json ParseMeminfo(std::string_view text);

// The cpu count in a CPU list such as /sys/devices/system/cpu/online: "0-3,8-11" -> 8.
int CountCpuList(std::string_view list);

Json CollectHost(const HostRoot& root, UnseenLog* unseen);  // hostname, machine_id, boot_id
Json CollectOs(const HostRoot& root, UnseenLog* unseen);
Json CollectKernel(const HostRoot& root, UnseenLog* unseen);  // sysname, release, version, machine
Json CollectCpu(const HostRoot& root, UnseenLog* unseen);
Json CollectMemory(const HostRoot& root, UnseenLog* unseen);

}  // namespace ferry::discover_internal

#endif  // FERRY_DISCOVER_SYSTEM_INFO_H_
