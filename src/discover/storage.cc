#include "discover/storage.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <array>

namespace ferry::discover_internal {
namespace {

// Reads a small sysfs attribute; nullopt when absent or unreadable.
std::optional<std::string> Attribute(const HostRoot& root, const std::string& path,
                                     std::string* buffer) {
  if (root.Read(path, buffer) != 0) return std::nullopt;
  std::string_view value = Trim(*buffer);
  return std::string(value);
}

Json UintAttribute(const HostRoot& root, const std::string& path, std::string* buffer,
                   uint64_t multiplier = 1) {
  auto text = Attribute(root, path, buffer);
  if (!text) return nullptr;
  auto value = ParseUint(*text);
  if (!value) return nullptr;
  return *value * multiplier;
}

Json TextAttribute(const HostRoot& root, const std::string& path, std::string* buffer) {
  auto text = Attribute(root, path, buffer);
  if (!text || text->empty()) return nullptr;
  return *text;
}

}  // namespace

std::string UnescapeMountField(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      std::string_view digits = field.substr(i + 1, 3);
      if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out.push_back(
            static_cast<char>((digits[0] - '0') * 64 + (digits[1] - '0') * 8 + (digits[2] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

bool IsVirtualFileSystem(std::string_view type) {
  static constexpr std::array<std::string_view, 28> kVirtual = {
      "proc",      "sysfs",  "devtmpfs",    "devpts",     "cgroup",     "cgroup2",  "securityfs",
      "pstore",    "bpf",    "debugfs",     "tracefs",    "configfs",   "fusectl",  "mqueue",
      "hugetlbfs", "autofs", "binfmt_misc", "rpc_pipefs", "nsfs",       "efivarfs", "selinuxfs",
      "ramfs",     "tmpfs",  "overlay",     "squashfs",   "fuse.lxcfs", "nfsd",     "rootfs"};
  // tmpfs, overlay and squashfs hold data but no disk of their own: they are listed (a tmpfs
  // size says how much memory it may take) and measured, and marked virtual.
  return std::find(kVirtual.begin(), kVirtual.end(), type) != kVirtual.end();
}

bool IsNetworkFileSystem(std::string_view type) {
  static constexpr std::array<std::string_view, 11> kNetwork = {
      "nfs",       "nfs4",           "cifs", "smb3", "smbfs", "fuse.sshfs",
      "glusterfs", "fuse.glusterfs", "ceph", "9p",   "afs"};
  return std::find(kNetwork.begin(), kNetwork.end(), type) != kNetwork.end();
}

Json ParseMounts(std::string_view text) {
  Json mounts = Json::array();
  std::vector<std::string_view> fields;
  ForEachLine(text, [&](std::string_view line) {
    SplitBlanks(line, &fields);
    if (fields.size() < 4) return;
    Json options = Json::array();
    for (std::string_view option : Split(fields[3], ',')) options.push_back(std::string(option));
    std::string type = UnescapeMountField(fields[2]);
    mounts.push_back({{"device", UnescapeMountField(fields[0])},
                      {"mount_point", UnescapeMountField(fields[1])},
                      {"type", type},
                      {"options", std::move(options)},
                      {"virtual", IsVirtualFileSystem(type)},
                      {"network", IsNetworkFileSystem(type)}});
  });
  return mounts;
}

Json CollectFileSystems(const HostRoot& root, UnseenLog* unseen) {
  std::string text;
  int error = root.Read("/proc/mounts", &text);
  if (error != 0) {
    NoteUnreadable(unseen, "/proc/mounts", error);
    return Json::array();
  }
  Json all = ParseMounts(text);
  Json file_systems = Json::array();
  for (Json& mount : all) {
    const std::string type = mount["type"];
    // Kernel interfaces (proc, sysfs, cgroup...) are not storage; tmpfs and overlays are kept.
    if (mount["virtual"].get<bool>() && type != "tmpfs" && type != "overlay" &&
        type != "squashfs") {
      continue;
    }
    for (const char* key :
         {"size_bytes", "used_bytes", "available_bytes", "inodes_total", "inodes_used"}) {
      mount[key] = nullptr;
    }
    if (mount["network"].get<bool>()) {
      unseen->Add("size and use of network file systems",
                  "not measured: statvfs on a network file system blocks while its server does "
                  "not answer; see the server's own inventory",
                  mount["mount_point"]);
    } else if (root.live()) {
      struct statvfs st{};
      const std::string point = mount["mount_point"];
      if (::statvfs(point.c_str(), &st) == 0) {
        const uint64_t unit = st.f_frsize != 0 ? st.f_frsize : st.f_bsize;
        mount["size_bytes"] = static_cast<uint64_t>(st.f_blocks) * unit;
        mount["used_bytes"] = static_cast<uint64_t>(st.f_blocks - st.f_bfree) * unit;
        mount["available_bytes"] = static_cast<uint64_t>(st.f_bavail) * unit;
        mount["inodes_total"] = static_cast<uint64_t>(st.f_files);
        mount["inodes_used"] = static_cast<uint64_t>(st.f_files - st.f_ffree);
      } else {
        NoteUnreadable(unseen, point, errno, "size and use of some file systems (statvfs)");
      }
    }
    file_systems.push_back(std::move(mount));
  }
  if (!root.live() && !file_systems.empty()) {
    unseen->Add("size and use of file systems",
                "measured with statvfs on the running host only; the inventory was taken from "
                "the files under --root " +
                    root.display());
  }
  return file_systems;
}

Json CollectDisks(const HostRoot& root, UnseenLog* unseen) {
  std::vector<HostRoot::Entry> devices;
  int error = root.ListEntries("/sys/block", &devices);
  if (error != 0) {
    NoteUnreadable(unseen, "/sys/block", error);
    return Json::array();
  }
  std::sort(devices.begin(), devices.end(),
            [](const HostRoot::Entry& a, const HostRoot::Entry& b) { return a.name < b.name; });
  std::string buffer;
  Json disks = Json::array();
  std::vector<HostRoot::Entry> children;
  for (const HostRoot::Entry& device : devices) {
    const std::string base = "/sys/block/" + device.name;
    Json size = UintAttribute(root, base + "/size", &buffer, 512);
    const bool pseudo = device.name.starts_with("loop") || device.name.starts_with("ram") ||
                        device.name.starts_with("zram");
    // An unused loop device reports size 0; so does an empty zram or a card reader.
    if (pseudo && (size.is_null() || size.get<uint64_t>() == 0)) continue;
    Json rotational = UintAttribute(root, base + "/queue/rotational", &buffer);
    Json removable = UintAttribute(root, base + "/removable", &buffer);
    Json partitions = Json::array();
    if (root.ListEntries(base, &children) == 0) {
      std::sort(children.begin(), children.end(),
                [](const HostRoot::Entry& a, const HostRoot::Entry& b) { return a.name < b.name; });
      for (const HostRoot::Entry& child : children) {
        if (!child.name.starts_with(device.name)) continue;
        const std::string part = base + "/" + child.name;
        if (!root.Exists(part + "/partition")) continue;
        partitions.push_back({{"name", child.name},
                              {"size_bytes", UintAttribute(root, part + "/size", &buffer, 512)}});
      }
    }
    disks.push_back(
        {{"name", device.name},
         {"size_bytes", std::move(size)},
         {"rotational",
          rotational.is_null() ? Json(nullptr) : Json(rotational.get<uint64_t>() != 0)},
         {"removable", removable.is_null() ? Json(nullptr) : Json(removable.get<uint64_t>() != 0)},
         {"model", TextAttribute(root, base + "/device/model", &buffer)},
         {"vendor", TextAttribute(root, base + "/device/vendor", &buffer)},
         {"kind", pseudo ? "virtual" : "block"},
         {"partitions", std::move(partitions)}});
  }
  return disks;
}

}  // namespace ferry::discover_internal
