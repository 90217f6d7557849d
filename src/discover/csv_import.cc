#include "discover/csv_import.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "discover/csv.h"
#include "discover/host_files.h"
#include "discover/inventory.h"

namespace ferry {
namespace {

using discover_internal::Trim;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kGiB = 1024.0 * kMiB;

// A field of the inventory and the header names that carry it, the first the documented one.
struct Column {
  std::string_view key;
  std::vector<std::string_view> headers;
};

const std::vector<Column>& AzureColumns() {
  static const std::vector<Column> kColumns = {
      {"name", {"Server name", "Machine", "Name"}},
      {"cores", {"Cores", "Number of cores"}},
      {"memory_mb", {"Memory (In MB)", "Memory (MB)", "Memory(MB)"}},
      {"os_name", {"OS name", "Operating system"}},
      {"ip", {"IP addresses", "IP address"}},
      {"os_version", {"OS version"}},
      {"os_architecture", {"OS architecture"}},
      {"mac", {"MAC address", "MAC addresses"}},
      {"disk_count", {"Number of disks"}},
      {"storage_gb", {"Storage (GB)", "Storage(GB)"}},
      {"storage_used_gb", {"Storage in use (In GB)"}},
      {"cpu_percent", {"CPU utilization percentage"}},
      {"memory_percent", {"Memory utilization percentage"}},
      {"network_in", {"Network In throughput"}},
      {"network_out", {"Network Out throughput"}},
      {"boot_type", {"Boot type"}},
      {"server_type", {"Server type"}},
      {"hypervisor", {"Hypervisor"}},
  };
  return kColumns;
}

const std::vector<Column>& AwsColumns() {
  static const std::vector<Column> kColumns = {
      {"hostname", {"HostName", "Server.HostName"}},
      {"external_id", {"ExternalId", "Server.ExternalId"}},
      {"ip", {"IPAddress", "Server.IPAddress"}},
      {"vm_name", {"VMware.VMName", "Server.VMware.VMName"}},
      {"mac", {"MACAddress", "Server.MACAddress"}},
      {"os_name", {"OS.Name", "Server.OsName"}},
      {"os_version", {"OS.Version", "Server.OsVersion"}},
      {"processors", {"CPU.NumberOfProcessors", "Server.NumberOfProcessors"}},
      {"cores", {"CPU.NumberOfCores", "Server.NumberOfCores"}},
      {"logical_cores", {"CPU.NumberOfLogicalCores", "Server.NumberOfLogicalCores"}},
      {"cpu_type", {"Server.CPUType", "CPU.Type"}},
      {"ram_mb", {"RAM.TotalSizeInMB", "Server.TotalRamInMB"}},
      {"cpu_avg", {"CPU.UsagePct.Avg"}},
      {"cpu_max", {"CPU.UsagePct.Max"}},
      {"ram_used_avg", {"RAM.UsedSizeInMB.Avg"}},
      {"ram_used_max", {"RAM.UsedSizeInMB.Max"}},
      {"disk_read_kb_avg", {"Disk.ReadsPerSecondInKB.Avg"}},
      {"disk_read_kb_max", {"Disk.ReadsPerSecondInKB.Max"}},
      {"disk_write_kb_avg", {"Disk.WritesPerSecondInKB.Avg"}},
      {"disk_write_kb_max", {"Disk.WritesPerSecondInKB.Max"}},
      {"disk_read_ops_avg", {"Disk.ReadOpsPerSecond.Avg"}},
      {"disk_read_ops_max", {"Disk.ReadOpsPerSecond.Max"}},
      {"disk_write_ops_avg", {"Disk.WriteOpsPerSecond.Avg"}},
      {"disk_write_ops_max", {"Disk.WriteOpsPerSecond.Max"}},
      {"net_rx_kb_avg", {"NetworkCard.ReadsPerSecondInKB.Avg"}},
      {"net_rx_kb_max", {"NetworkCard.ReadsPerSecondInKB.Max"}},
      {"net_tx_kb_avg", {"NetworkCard.WritesPerSecondInKB.Avg"}},
      {"net_tx_kb_max", {"NetworkCard.WritesPerSecondInKB.Max"}},
      {"applications", {"Applications"}},
      {"tags", {"Tags"}},
  };
  return kColumns;
}

// "*Memory (In MB)" -> "memory(inmb)": case, blanks and Azure's required-marker do not count.
std::string NormalizeHeader(std::string_view header) {
  std::string out;
  for (char c : header) {
    if (c == '*' || c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  return out;
}

std::string JoinQuoted(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += "`" + name + "`";
  }
  return out;
}

// One data row, by inventory key.
class Row {
 public:
  Row(const CsvRecord& record, const std::map<std::string, size_t>& index, const std::string& path)
      : record_(record), index_(index), path_(path) {}

  std::string Text(std::string_view key) const {
    auto it = index_.find(std::string(key));
    if (it == index_.end() || it->second >= record_.fields.size()) return "";
    return std::string(Trim(record_.fields[it->second]));
  }

  // A number, or nullopt for an empty field. Thousands separators and blanks are dropped
  // ("16,384"); anything else that is not a number is an error naming the line and column.
  Result<std::optional<double>> Number(std::string_view key, std::string_view header) const {
    std::string text = Text(key);
    text.erase(
        std::remove_if(text.begin(), text.end(), [](char c) { return c == ',' || c == ' '; }),
        text.end());
    if (text.empty()) return std::optional<double>();
    auto value = discover_internal::ParseDouble(text);
    if (!value || !std::isfinite(*value) || *value < 0) {
      return Err(
          InvalidArgument("{}:{}: column `{}` holds `{}`, not a number; correct it in the "
                          "sheet (or empty it) and import again",
                          path_, record_.line, header, Text(key)));
    }
    return value;
  }

  int line() const { return record_.line; }

 private:
  const CsvRecord& record_;
  const std::map<std::string, size_t>& index_;
  const std::string& path_;
};

Json OrNull(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }
Json OrNull(const std::optional<double>& value, double multiplier = 1) {
  if (!value.has_value()) return nullptr;
  const double scaled = *value * multiplier;
  if (scaled == std::floor(scaled) && scaled < 9.0e15) return static_cast<int64_t>(scaled);
  return scaled;
}

Json Addresses(const std::string& list) {
  Json addresses = Json::array();
  std::string current;
  auto flush = [&] {
    if (!current.empty()) {
      addresses.push_back({{"family", current.find(':') != std::string::npos ? "ipv6" : "ipv4"},
                           {"address", current},
                           {"prefix_length", nullptr},
                           {"scope", nullptr}});
    }
    current.clear();
  };
  for (char c : list) {
    if (c == ',' || c == ';' || c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      flush();
    } else {
      current.push_back(c);
    }
  }
  flush();
  return addresses;
}

Json NetworkSection(const std::string& ips, const std::string& mac) {
  Json network = {
      {"interfaces", Json::array()},
      {"routes", Json::array()},
      {"dns",
       {{"nameservers", Json::array()}, {"search", Json::array()}, {"options", Json::array()}}}};
  if (!ips.empty() || !mac.empty()) {
    network["interfaces"].push_back({{"name", nullptr},
                                     {"mac", OrNull(mac)},
                                     {"mtu", nullptr},
                                     {"state", nullptr},
                                     {"speed_mbps", nullptr},
                                     {"addresses", Addresses(ips)}});
  }
  return network;
}

Json OsSection(const std::string& name, const std::string& version) {
  std::string pretty = name;
  if (!version.empty() && name.find(version) == std::string::npos) pretty += " " + version;
  return {{"id", nullptr},           {"name", OrNull(name)},        {"version", OrNull(version)},
          {"version_id", nullptr},   {"version_codename", nullptr}, {"pretty_name", OrNull(pretty)},
          {"id_like", Json::array()}};
}

Json MemorySection(const std::optional<double>& mb) {
  return {{"total_bytes", OrNull(mb, kMiB)}, {"available_bytes", nullptr},
          {"free_bytes", nullptr},           {"buffers_bytes", nullptr},
          {"cached_bytes", nullptr},         {"swap_total_bytes", nullptr},
          {"swap_free_bytes", nullptr}};
}

Json Utilization(std::initializer_list<std::pair<const char*, Json>> metrics) {
  Json out = Json::object();
  for (const auto& [name, value] : metrics) {
    bool any = false;
    for (const auto& [k, v] : value.items()) any = any || !v.is_null();
    if (any) out[name] = value;
  }
  return out;
}

Result<Json> AzureRow(const Row& row, const std::string& path,
                      const std::map<std::string, std::string>& headers,
                      const std::vector<std::pair<int, size_t>>& disk_columns,
                      const CsvRecord& record) {
  auto header = [&](const char* key) { return headers.at(key); };
  const std::string name = row.Text("name");
  for (const char* key : {"name", "cores", "memory_mb", "os_name"}) {
    if (row.Text(key).empty()) {
      return Err(InvalidArgument(
          "{}:{}: column `{}` is empty{}; Azure Migrate requires it for every server: fill it in "
          "or remove the row, then import again",
          path, row.line(), header(key), name.empty() ? "" : " for server `" + name + "`"));
    }
  }
  FERRY_ASSIGN_OR_RETURN(auto cores, row.Number("cores", header("cores")));
  FERRY_ASSIGN_OR_RETURN(auto memory, row.Number("memory_mb", header("memory_mb")));
  Json inventory;
  inventory["host"] = {{"hostname", name},
                       {"machine_id", nullptr},
                       {"boot_id", nullptr},
                       {"uptime_seconds", nullptr}};
  inventory["os"] = OsSection(row.Text("os_name"), row.Text("os_version"));
  const std::string architecture =
      headers.contains("os_architecture") ? row.Text("os_architecture") : "";
  if (!architecture.empty()) {
    inventory["kernel"] = {{"sysname", nullptr},
                           {"release", nullptr},
                           {"version", nullptr},
                           {"machine", architecture}};
  }
  inventory["cpu"] = {{"model", nullptr},
                      {"vendor", nullptr},
                      {"sockets", nullptr},
                      {"cores", OrNull(cores)},
                      {"logical_cpus", OrNull(cores)},
                      {"mhz", nullptr}};
  inventory["memory"] = MemorySection(memory);

  Json disks = Json::array();
  for (const auto& [number, column] : disk_columns) {
    std::string text =
        column < record.fields.size() ? std::string(Trim(record.fields[column])) : "";
    if (text.empty()) continue;
    auto gb = discover_internal::ParseDouble(text);
    if (!gb) {
      return Err(
          InvalidArgument("{}:{}: column `Disk {} size (In GB)` holds `{}`, not a number; "
                          "correct it in the sheet and import again",
                          path, row.line(), number, text));
    }
    disks.push_back({{"name", "disk" + std::to_string(number)},
                     {"size_bytes", OrNull(gb, kGiB)},
                     {"rotational", nullptr},
                     {"removable", nullptr},
                     {"model", nullptr},
                     {"vendor", nullptr},
                     {"kind", "block"},
                     {"partitions", Json::array()}});
  }
  inventory["disks"] = std::move(disks);
  FERRY_ASSIGN_OR_RETURN(auto storage, headers.contains("storage_gb")
                                           ? row.Number("storage_gb", header("storage_gb"))
                                           : Result<std::optional<double>>());
  FERRY_ASSIGN_OR_RETURN(auto storage_used,
                         headers.contains("storage_used_gb")
                             ? row.Number("storage_used_gb", header("storage_used_gb"))
                             : Result<std::optional<double>>());
  if (storage || storage_used) {
    inventory["storage_summary"] = {{"total_bytes", OrNull(storage, kGiB)},
                                    {"used_bytes", OrNull(storage_used, kGiB)}};
  }
  inventory["network"] = NetworkSection(row.Text("ip"), row.Text("mac"));

  auto optional_number = [&](const char* key) -> Result<std::optional<double>> {
    if (!headers.contains(key)) return std::optional<double>();
    return row.Number(key, header(key));
  };
  FERRY_ASSIGN_OR_RETURN(auto cpu_percent, optional_number("cpu_percent"));
  FERRY_ASSIGN_OR_RETURN(auto memory_percent, optional_number("memory_percent"));
  FERRY_ASSIGN_OR_RETURN(auto network_in, optional_number("network_in"));
  FERRY_ASSIGN_OR_RETURN(auto network_out, optional_number("network_out"));
  inventory["utilization"] = Utilization({
      {"cpu_percent", {{"value", OrNull(cpu_percent)}}},
      {"memory_used_percent", {{"value", OrNull(memory_percent)}}},
      {"network_rx_bytes_per_second", {{"value", OrNull(network_in, kMiB)}}},
      {"network_tx_bytes_per_second", {{"value", OrNull(network_out, kMiB)}}},
  });
  Json attributes = Json::object();
  for (const char* key : {"boot_type", "server_type", "hypervisor"}) {
    if (headers.contains(key) && !row.Text(key).empty()) attributes[header(key)] = row.Text(key);
  }
  inventory["import_attributes"] = std::move(attributes);
  return inventory;
}

Result<Json> AwsRow(const Row& row, const std::string& path,
                    const std::map<std::string, std::string>& headers) {
  auto header = [&](const char* key) { return headers.at(key); };
  auto text = [&](const char* key) {
    return headers.contains(key) ? row.Text(key) : std::string();
  };
  std::string name = text("hostname");
  for (const char* key : {"vm_name", "external_id", "ip"}) {
    if (name.empty()) name = text(key);
  }
  if (name.empty()) {
    return Err(InvalidArgument(
        "{}:{}: the row names no server: HostName, VMware.VMName, ExternalId and IPAddress are "
        "all empty; Migration Hub needs one of them: fill one in or remove the row",
        path, row.line()));
  }
  auto number = [&](const char* key) -> Result<std::optional<double>> {
    if (!headers.contains(key)) return std::optional<double>();
    return row.Number(key, header(key));
  };
  FERRY_ASSIGN_OR_RETURN(auto processors, number("processors"));
  FERRY_ASSIGN_OR_RETURN(auto cores, number("cores"));
  FERRY_ASSIGN_OR_RETURN(auto logical, number("logical_cores"));
  FERRY_ASSIGN_OR_RETURN(auto ram, number("ram_mb"));

  Json inventory;
  inventory["host"] = {
      {"hostname", text("hostname").empty() ? Json(nullptr) : Json(text("hostname"))},
      {"machine_id", nullptr},
      {"boot_id", nullptr},
      {"uptime_seconds", nullptr}};
  if (!text("external_id").empty()) inventory["host"]["external_id"] = text("external_id");
  inventory["os"] = OsSection(text("os_name"), text("os_version"));
  inventory["cpu"] = {{"model", OrNull(text("cpu_type"))},
                      {"vendor", nullptr},
                      {"sockets", OrNull(processors)},
                      {"cores", OrNull(cores)},
                      {"logical_cpus", logical ? OrNull(logical) : OrNull(cores)},
                      {"mhz", nullptr}};
  inventory["memory"] = MemorySection(ram);
  inventory["network"] = NetworkSection(text("ip"), text("mac"));

  std::map<std::string, std::optional<double>> values;
  for (const char* key :
       {"cpu_avg", "cpu_max", "ram_used_avg", "ram_used_max", "disk_read_kb_avg",
        "disk_read_kb_max", "disk_write_kb_avg", "disk_write_kb_max", "disk_read_ops_avg",
        "disk_read_ops_max", "disk_write_ops_avg", "disk_write_ops_max", "net_rx_kb_avg",
        "net_rx_kb_max", "net_tx_kb_avg", "net_tx_kb_max"}) {
    FERRY_ASSIGN_OR_RETURN(values[key], number(key));
  }
  auto pair = [&](const char* prefix, double multiplier) -> Json {
    return {{"avg", OrNull(values[std::string(prefix) + "_avg"], multiplier)},
            {"max", OrNull(values[std::string(prefix) + "_max"], multiplier)}};
  };
  inventory["utilization"] = Utilization({
      {"cpu_percent", pair("cpu", 1)},
      {"memory_used_bytes", pair("ram_used", kMiB)},
      {"disk_read_bytes_per_second", pair("disk_read_kb", 1024)},
      {"disk_write_bytes_per_second", pair("disk_write_kb", 1024)},
      {"disk_read_iops", pair("disk_read_ops", 1)},
      {"disk_write_iops", pair("disk_write_ops", 1)},
      {"network_rx_bytes_per_second", pair("net_rx_kb", 1024)},
      {"network_tx_bytes_per_second", pair("net_tx_kb", 1024)},
  });
  Json attributes = Json::object();
  for (const char* key : {"applications", "tags", "vm_name"}) {
    if (!text(key).empty()) attributes[header(key)] = text(key);
  }
  inventory["import_attributes"] = std::move(attributes);
  return inventory;
}

}  // namespace

Result<ImportFormat> ParseImportFormat(std::string_view text) {
  if (text == "azure-migrate") return ImportFormat::kAzureMigrate;
  if (text == "aws-migration-hub") return ImportFormat::kAwsMigrationHub;
  return Err(InvalidArgument(
      "--from `{}`: expected `azure-migrate` (an Azure Migrate servers export) or "
      "`aws-migration-hub` (an AWS Migration Hub / Application Discovery Service export)",
      text));
}

std::string_view ImportFormatName(ImportFormat format) {
  return format == ImportFormat::kAzureMigrate ? "azure-migrate" : "aws-migration-hub";
}

std::string InventoryFileName(std::string_view server_name) {
  std::string name;
  for (char c : server_name) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == '_';
    name.push_back(keep ? c : '_');
  }
  if (name.empty() || name == "." || name == "..") name = "server";
  return name;
}

Result<std::vector<ImportedServer>> ImportCsvInventories(ImportFormat format,
                                                         const std::string& path, Env* env) {
  const std::string_view tool =
      format == ImportFormat::kAzureMigrate ? "Azure Migrate" : "AWS Migration Hub";
  Result<std::string> text = env->ReadFile(path);
  if (!text.has_value()) {
    return Err(Status(text.error().code(),
                      fmt::format("{} export {}: {}", tool, path, text.error().message())));
  }
  if (text->starts_with("PK\x03\x04")) {
    return Err(InvalidArgument(
        "{} is an Excel workbook (.xlsx), not CSV: open it, save the sheet of servers as CSV "
        "(UTF-8), and import that file",
        path));
  }
  FERRY_ASSIGN_OR_RETURN(std::vector<CsvRecord> records, ParseCsv(*text, path));
  if (records.empty()) {
    return Err(InvalidArgument("{} is empty: expected a {} export with a header line", path, tool));
  }

  // Header name -> column; then each inventory key -> the column of its first header found.
  const CsvRecord& header_record = records.front();
  std::map<std::string, size_t> by_header;
  for (size_t i = 0; i < header_record.fields.size(); ++i) {
    by_header.try_emplace(NormalizeHeader(header_record.fields[i]), i);
  }
  const std::vector<Column>& columns =
      format == ImportFormat::kAzureMigrate ? AzureColumns() : AwsColumns();
  std::map<std::string, size_t> index;           // inventory key -> column
  std::map<std::string, std::string> header_of;  // inventory key -> the header as written
  std::vector<std::string> read;
  for (const Column& column : columns) {
    for (std::string_view header : column.headers) {
      auto it = by_header.find(NormalizeHeader(header));
      if (it == by_header.end()) continue;
      index[std::string(column.key)] = it->second;
      header_of[std::string(column.key)] = std::string(Trim(header_record.fields[it->second]));
      read.push_back(header_of[std::string(column.key)]);
      break;
    }
  }
  // Azure's "Disk N size (In GB)", any N.
  std::vector<std::pair<int, size_t>> disk_columns;
  if (format == ImportFormat::kAzureMigrate) {
    for (const auto& [normalized, column] : by_header) {
      if (!normalized.starts_with("disk") || !normalized.ends_with("size(ingb)")) continue;
      auto number = discover_internal::ParseInt(
          std::string_view(normalized).substr(4, normalized.size() - 4 - 10));
      if (!number) continue;
      disk_columns.emplace_back(static_cast<int>(*number), column);
      read.push_back(std::string(Trim(header_record.fields[column])));
    }
    std::sort(disk_columns.begin(), disk_columns.end());
  }

  std::vector<std::string> found;
  for (const std::string& field : header_record.fields) found.push_back(std::string(Trim(field)));
  if (format == ImportFormat::kAzureMigrate) {
    std::vector<std::string> missing;
    for (const Column& column : columns) {
      const bool required = column.key == "name" || column.key == "cores" ||
                            column.key == "memory_mb" || column.key == "os_name";
      if (required && !index.contains(std::string(column.key))) {
        missing.emplace_back(column.headers.front());
      }
    }
    if (!missing.empty()) {
      return Err(InvalidArgument(
          "{}: not an Azure Migrate export: the columns {} are missing (required: `Server name`, "
          "`Cores`, `Memory (In MB)`, `OS name`); the columns found are {}; export the servers "
          "again from Azure Migrate as CSV, or rename the columns, and import again",
          path, JoinQuoted(missing), JoinQuoted(found)));
    }
  } else if (!index.contains("hostname") && !index.contains("external_id") &&
             !index.contains("ip") && !index.contains("vm_name")) {
    return Err(InvalidArgument(
        "{}: not an AWS Migration Hub export: it needs at least one of the columns `HostName`, "
        "`ExternalId`, `IPAddress`, `VMware.VMName`, and none is there; the columns found are "
        "{}; export the servers again from Migration Hub, or rename the columns, and import again",
        path, JoinQuoted(found)));
  }
  if (records.size() == 1) {
    return Err(InvalidArgument("{}: the header is there but no server follows it", path));
  }

  const std::string imported_at = discover_internal::IsoTimeUtc(env->NowMicros() / 1'000'000);
  std::vector<ImportedServer> servers;
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    if (record.fields.size() > header_record.fields.size()) {
      return Err(InvalidArgument(
          "{}:{}: {} fields, but the header has {}: a value holds an unquoted comma; quote it "
          "(\"a, b\") and import again",
          path, record.line, record.fields.size(), header_record.fields.size()));
    }
    Row row(record, index, path);
    Result<Json> body = format == ImportFormat::kAzureMigrate
                            ? AzureRow(row, path, header_of, disk_columns, record)
                            : AwsRow(row, path, header_of);
    if (!body.has_value()) return Err(body.error());
    Json inventory = std::move(*body);
    inventory["schema_version"] = InventorySchemaVersion();
    inventory["generator"] = {{"name", "ferry"}, {"version", FERRY_VERSION}};
    inventory["source"] = {{"kind", ImportFormatName(format)},
                           {"file", path},
                           {"line", record.line},
                           {"columns", read}};
    inventory["collected_at"] = imported_at;
    inventory["unseen"] = Json::array(
        {{{"what",
           "processes, sockets, connections, packages, services, cron jobs, file "
           "systems, routes and certificates"},
          {"why", fmt::format("a {} export does not carry them; run `ferry discover` on the "
                              "server for a full inventory",
                              tool)},
          {"count", 1},
          {"examples", Json::array()}}});
    std::string name;
    if (inventory["host"]["hostname"].is_string()) {
      name = inventory["host"]["hostname"];
    } else {
      name = row.Text("vm_name");
      if (name.empty()) name = row.Text("external_id");
      if (name.empty()) name = row.Text("ip");
    }
    servers.push_back({std::move(name), std::move(inventory)});
  }
  return servers;
}

}  // namespace ferry
