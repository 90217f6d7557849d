#include "discover/system_info.h"

#include <sys/utsname.h>

#include <set>
#include <utility>

namespace ferry::discover_internal {
namespace {

Json StringOrNull(const std::unordered_map<std::string, std::string>& values, const char* key) {
  auto it = values.find(key);
  if (it == values.end() || it->second.empty()) return nullptr;
  return it->second;
}

// The first line of a one-line file, trimmed; null when it cannot be read.
Json ReadOneLine(const HostRoot& root, std::string_view path, UnseenLog* unseen,
                 std::string* buffer) {
  int error = root.Read(path, buffer);
  if (error != 0) {
    NoteUnreadable(unseen, path, error);
    return nullptr;
  }
  std::string_view text = *buffer;
  text = Trim(text.substr(0, text.find('\n')));
  if (text.empty()) return nullptr;
  return std::string(text);
}

}  // namespace

Json ParseOsRelease(std::string_view text) {
  auto values = ParseKeyValueLines(text);
  Json id_like = Json::array();
  if (auto it = values.find("ID_LIKE"); it != values.end()) {
    std::vector<std::string_view> words;
    SplitBlanks(it->second, &words);
    for (std::string_view word : words) id_like.push_back(std::string(word));
  }
  return {{"id", StringOrNull(values, "ID")},
          {"name", StringOrNull(values, "NAME")},
          {"version", StringOrNull(values, "VERSION")},
          {"version_id", StringOrNull(values, "VERSION_ID")},
          {"version_codename", StringOrNull(values, "VERSION_CODENAME")},
          {"pretty_name", StringOrNull(values, "PRETTY_NAME")},
          {"id_like", std::move(id_like)}};
}

Json ParseCpuInfo(std::string_view text) {
  int logical = 0;
  std::string model;
  std::string vendor;
  double mhz = 0;
  std::set<std::string> sockets;
  std::set<std::pair<std::string, std::string>> cores;
  std::string physical_id;
  bool has_core_ids = false;
  ForEachColonField(text, [&](std::string_view key, std::string_view value) {
    if (key == "processor") {
      ++logical;
      physical_id = "0";
    } else if (key == "model name" || (key == "Processor" && model.empty()) ||
               (key == "Hardware" && model.empty())) {
      if (model.empty()) model = value;
    } else if (key == "vendor_id" || key == "CPU implementer") {
      if (vendor.empty()) vendor = value;
    } else if (key == "cpu MHz") {
      if (mhz == 0) mhz = ParseDouble(value).value_or(0);
    } else if (key == "physical id") {
      physical_id = value;
      sockets.insert(physical_id);
    } else if (key == "core id") {
      has_core_ids = true;
      cores.emplace(physical_id, value);
    }
  });
  Json cpu;
  cpu["model"] = model.empty() ? Json(nullptr) : Json(model);
  cpu["vendor"] = vendor.empty() ? Json(nullptr) : Json(vendor);
  cpu["logical_cpus"] = logical;
  cpu["sockets"] = sockets.empty() ? 1 : static_cast<int>(sockets.size());
  cpu["cores"] = has_core_ids ? static_cast<int>(cores.size()) : logical;
  cpu["mhz"] = mhz > 0 ? Json(mhz) : Json(nullptr);
  return cpu;
}

Json ParseMeminfo(std::string_view text) {
  static constexpr std::pair<std::string_view, const char*> kFields[] = {
      {"MemTotal", "total_bytes"},     {"MemAvailable", "available_bytes"},
      {"MemFree", "free_bytes"},       {"Buffers", "buffers_bytes"},
      {"Cached", "cached_bytes"},      {"SwapTotal", "swap_total_bytes"},
      {"SwapFree", "swap_free_bytes"},
  };
  Json memory;
  for (const auto& [key, name] : kFields) memory[name] = nullptr;
  ForEachColonField(text, [&](std::string_view key, std::string_view value) {
    for (const auto& [field, name] : kFields) {
      if (key != field) continue;
      if (value.ends_with(" kB")) value.remove_suffix(3);
      if (auto kib = ParseUint(Trim(value))) memory[name] = *kib * 1024;
    }
  });
  return memory;
}

int CountCpuList(std::string_view list) {
  int count = 0;
  for (std::string_view range : Split(Trim(list), ',')) {
    if (range.empty()) continue;
    size_t dash = range.find('-');
    auto first = ParseUint(range.substr(0, dash));
    auto last = dash == std::string_view::npos ? first : ParseUint(range.substr(dash + 1));
    if (first && last && *last >= *first) count += static_cast<int>(*last - *first + 1);
  }
  return count;
}

Json CollectHost(const HostRoot& root, UnseenLog* unseen) {
  std::string buffer;
  Json host;
  host["hostname"] = ReadOneLine(root, "/proc/sys/kernel/hostname", unseen, &buffer);
  // machine-id(5): /etc/machine-id, or D-Bus's copy on systems that predate it.
  Json machine_id = nullptr;
  for (std::string_view path : {"/etc/machine-id", "/var/lib/dbus/machine-id"}) {
    if (root.Read(path, &buffer) == 0 && !Trim(buffer).empty()) {
      machine_id = std::string(Trim(buffer));
      break;
    }
  }
  if (machine_id.is_null()) {
    unseen->Add("machine id",
                "neither /etc/machine-id nor /var/lib/dbus/machine-id holds one "
                "(usual in containers); the host is identified by its hostname");
  }
  host["machine_id"] = std::move(machine_id);
  host["boot_id"] = ReadOneLine(root, "/proc/sys/kernel/random/boot_id", unseen, &buffer);
  Json uptime = nullptr;
  if (root.Read("/proc/uptime", &buffer) == 0) {
    std::vector<std::string_view> fields;
    SplitBlanks(Trim(buffer), &fields);
    if (!fields.empty()) {
      if (auto seconds = ParseDouble(fields[0])) uptime = *seconds;
    }
  }
  host["uptime_seconds"] = std::move(uptime);
  return host;
}

Json CollectOs(const HostRoot& root, UnseenLog* unseen) {
  std::string text;
  int error = root.Read("/etc/os-release", &text);
  if (error != 0) error = root.Read("/usr/lib/os-release", &text);
  if (error != 0) {
    NoteUnreadable(unseen, "/etc/os-release", error);
    text.clear();
  }
  return ParseOsRelease(text);
}

Json CollectKernel(const HostRoot& root, UnseenLog* unseen) {
  std::string buffer;
  Json kernel;
  kernel["sysname"] = ReadOneLine(root, "/proc/sys/kernel/ostype", unseen, &buffer);
  kernel["release"] = ReadOneLine(root, "/proc/sys/kernel/osrelease", unseen, &buffer);
  kernel["version"] = ReadOneLine(root, "/proc/sys/kernel/version", unseen, &buffer);
  // /proc/sys/kernel/arch exists since Linux 6.1; older kernels only say it through uname(2).
  Json machine = nullptr;
  if (root.Read("/proc/sys/kernel/arch", &buffer) == 0 && !Trim(buffer).empty()) {
    machine = std::string(Trim(buffer));
  } else if (utsname names{}; root.live() && ::uname(&names) == 0) {
    machine = names.machine;
  }
  kernel["machine"] = std::move(machine);
  return kernel;
}

Json CollectCpu(const HostRoot& root, UnseenLog* unseen) {
  std::string text;
  int error = root.Read("/proc/cpuinfo", &text);
  if (error != 0) NoteUnreadable(unseen, "/proc/cpuinfo", error);
  Json cpu = ParseCpuInfo(text);
  // A container may see fewer CPUs online than cpuinfo lists; the online list is the truth.
  if (root.Read("/sys/devices/system/cpu/online", &text) == 0) {
    if (int online = CountCpuList(text); online > 0) cpu["logical_cpus"] = online;
  }
  return cpu;
}

Json CollectMemory(const HostRoot& root, UnseenLog* unseen) {
  std::string text;
  int error = root.Read("/proc/meminfo", &text);
  if (error != 0) NoteUnreadable(unseen, "/proc/meminfo", error);
  return ParseMeminfo(text);
}

}  // namespace ferry::discover_internal
