// Inventories from the CSV exports of Azure Migrate and AWS Migration Hub, so that a team that
// already ran those tools keeps its data: one inventory per server (row), as far as the CSV
// carries it, with `source` naming the tool, the file and the line.
//
// Columns read (docs/discover.md lists them with their inventory fields). Headers match without
// regard to case, blanks or the leading `*` Azure puts on required columns.
//   Azure Migrate (the import template and the discovered-servers export):
//     required: "Server name" (or "Machine", "Name"), "Cores", "Memory (In MB)" (or "Memory
//     (MB)", "Memory(MB)"), "OS name" (or "Operating system");
//     optional: "IP addresses" (or "IP address"), "OS version", "OS architecture", "MAC
//     address", "Number of disks", "Disk N size (In GB)", "Storage (GB)", "Storage in use (In
//     GB)", "CPU utilization percentage", "Memory utilization percentage", "Network In
//     throughput", "Network Out throughput", "Boot type", "Server type", "Hypervisor".
//   AWS Migration Hub (Application Discovery Service import/export fields):
//     required: at least one of "HostName", "ExternalId", "IPAddress", "VMware.VMName" (or the
//     export's "Server.HostName");
//     optional: "OS.Name" ("Server.OsName"), "OS.Version" ("Server.OsVersion"),
//     "CPU.NumberOfProcessors", "CPU.NumberOfCores" ("Server.NumberOfCores"),
//     "CPU.NumberOfLogicalCores", "Server.CPUType", "RAM.TotalSizeInMB"
//     ("Server.TotalRamInMB"), "MACAddress", "CPU.UsagePct.Avg/.Max",
//     "RAM.UsedSizeInMB.Avg/.Max", "Disk.ReadsPerSecondInKB.Avg/.Max",
//     "Disk.WritesPerSecondInKB.Avg/.Max", "Disk.ReadOpsPerSecond.Avg/.Max",
//     "Disk.WriteOpsPerSecond.Avg/.Max", "NetworkCard.ReadsPerSecondInKB.Avg/.Max",
//     "NetworkCard.WritesPerSecondInKB.Avg/.Max", "Applications", "Tags".
// Other columns are ignored. Memory "MB" is read as MiB (both tools count in 2^20 bytes).
//
// Utilisation figures are NOT a baseline (the tools report an average and a maximum, or one
// percentile chosen in an assessment, over a window ferry does not know): they go to
// `utilization`, kept apart from `baseline`.
#ifndef FERRY_DISCOVER_CSV_IMPORT_H_
#define FERRY_DISCOVER_CSV_IMPORT_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/json.h"
#include "base/status.h"

namespace ferry {

enum class ImportFormat { kAzureMigrate, kAwsMigrationHub };

// "azure-migrate" or "aws-migration-hub"; the error lists both.
[[nodiscard]] Result<ImportFormat> ParseImportFormat(std::string_view text);
std::string_view ImportFormatName(ImportFormat format);

struct ImportedServer {
  std::string name;  // the server's name (host name, else id or address), for a file name
  Json inventory;
};

// One inventory per data row of the CSV file at `path`. Errors name the file and the way out:
// missing required columns (listing them and the columns found), an empty required value or a
// number that is not one (with the line), malformed CSV, an Excel workbook instead of a CSV.
[[nodiscard]] Result<std::vector<ImportedServer>> ImportCsvInventories(ImportFormat format,
                                                                       const std::string& path,
                                                                       Env* env);

// A file name for a server: its name with anything but letters, digits, '.', '-' and '_'
// replaced by '_' (never empty, never "." or "..").
std::string InventoryFileName(std::string_view server_name);

}  // namespace ferry

#endif  // FERRY_DISCOVER_CSV_IMPORT_H_
