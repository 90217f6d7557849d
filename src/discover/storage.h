// Disks and file systems. Private to discover.
//
// Disks come from /sys/block (size in 512-byte sectors whatever the device's block size,
// rotational, removable, model), file systems from /proc/mounts, and their size and use from
// statvfs(3) of each mount point, on the running host only. Network file systems are listed but
// not measured: statvfs blocks for minutes on an NFS server that does not answer.
#ifndef FERRY_DISCOVER_STORAGE_H_
#define FERRY_DISCOVER_STORAGE_H_

#include <string>
#include <string_view>

#include "base/json.h"
#include "discover/host_files.h"
#include "discover/unseen.h"

namespace ferry::discover_internal {

// /proc/mounts escapes blanks, tabs, newlines and backslashes as \040, \011, \012, \134.
std::string UnescapeMountField(std::string_view field);

// [{"device", "mount_point", "type", "options": [...], "virtual", "network"}] from /proc/mounts
// text, sizes not yet filled.
Json ParseMounts(std::string_view text);

// True for kernel pseudo file systems (proc, sysfs, cgroup2...): no disk behind them.
bool IsVirtualFileSystem(std::string_view type);
bool IsNetworkFileSystem(std::string_view type);

// File systems with size_bytes, used_bytes, available_bytes, inodes_total, inodes_used (null
// when not measured).
Json CollectFileSystems(const HostRoot& root, UnseenLog* unseen);

// [{"name", "size_bytes", "rotational", "removable", "model", "vendor", "partitions": [...]}];
// loop and RAM devices without a backing file are left out.
Json CollectDisks(const HostRoot& root, UnseenLog* unseen);

}  // namespace ferry::discover_internal

#endif  // FERRY_DISCOVER_STORAGE_H_
