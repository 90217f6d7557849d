#include "discover/csv_import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "discover/fixture.h"
#include "discover/inventory.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;

// The shape of Azure Migrate's CSV (its import template and servers export): a byte order mark,
// `*` on required columns, quoted lists.
constexpr std::string_view kAzure =
    "\xEF\xBB\xBF*Server name,IP addresses,*Cores,*Memory (In MB),*OS name,OS version,"
    "OS architecture,CPU utilization percentage,Memory utilization percentage,Network adapters,"
    "Network In throughput,Network Out throughput,Boot type,Number of disks,"
    "Disk 1 size (In GB),Disk 1 read throughput (MB per second),Disk 2 size (In GB)\r\n"
    "web01.corp.local,\"10.0.1.11, 10.0.1.12\",4,16384,Ubuntu,22.04,x64,35.5,60,2,1.5,0.75,UEFI,2,"
    "128,20,512\r\n"
    "db01,10.0.2.21,16,\"65,536\",Windows Server 2019 Datacenter,,x64,,,1,,,BIOS,1,1024,,\r\n";

constexpr std::string_view kAws =
    "ExternalId,HostName,VMware.VMName,IPAddress,MACAddress,OS.Name,OS.Version,"
    "CPU.NumberOfProcessors,CPU.NumberOfCores,CPU.NumberOfLogicalCores,RAM.TotalSizeInMB,"
    "CPU.UsagePct.Avg,CPU.UsagePct.Max,RAM.UsedSizeInMB.Avg,RAM.UsedSizeInMB.Max,"
    "Disk.ReadsPerSecondInKB.Avg,NetworkCard.WritesPerSecondInKB.Max,Applications,Tags\n"
    "INV-4711,payments-db-01.corp.local,VM-PAY-01,10.12.31.233,00:1B:44:11:3A:B7,Linux,16.04.3,"
    "2,8,16,64128,23.9,55.3,41022,58110,120,2048,\"Payments\",\"zone:1, critical:yes\"\n"
    ",,,10.12.31.234,,,,,,,,,,,,,,,\n";

class CsvImportTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, std::string_view content) {
    fixture_.Write("/" + name, content);
    return fixture_.Real("/" + name);
  }
  discover_testing::FixtureRoot fixture_;
};

TEST_F(CsvImportTest, AzureMigrateRowsBecomeInventories) {
  const std::string path = Write("azure.csv", kAzure);
  Result<std::vector<ImportedServer>> servers =
      ImportCsvInventories(ImportFormat::kAzureMigrate, path, Env::Default());
  ASSERT_TRUE(servers.has_value()) << servers.error().ToString();
  ASSERT_EQ(servers->size(), 2u);
  const Json& web = (*servers)[0].inventory;
  EXPECT_EQ((*servers)[0].name, "web01.corp.local");
  EXPECT_EQ(web["schema_version"], InventorySchemaVersion());
  EXPECT_EQ(web["source"]["kind"], "azure-migrate");
  EXPECT_EQ(web["source"]["file"], path);
  EXPECT_EQ(web["source"]["line"], 2);
  EXPECT_EQ(web["host"]["hostname"], "web01.corp.local");
  EXPECT_EQ(web["cpu"]["cores"], 4);
  EXPECT_EQ(web["memory"]["total_bytes"], 16384ll << 20);
  EXPECT_EQ(web["os"]["pretty_name"], "Ubuntu 22.04");
  EXPECT_EQ(web["kernel"]["machine"], "x64");
  ASSERT_EQ(web["network"]["interfaces"][0]["addresses"].size(), 2u);
  EXPECT_EQ(web["network"]["interfaces"][0]["addresses"][1]["address"], "10.0.1.12");
  ASSERT_EQ(web["disks"].size(), 2u);
  EXPECT_EQ(web["disks"][0]["size_bytes"], 128ll << 30);
  EXPECT_EQ(web["disks"][1]["size_bytes"], 512ll << 30);
  EXPECT_EQ(web["utilization"]["cpu_percent"]["value"], 35.5);
  EXPECT_EQ(web["utilization"]["network_rx_bytes_per_second"]["value"], 1.5 * (1 << 20));
  EXPECT_EQ(web["import_attributes"]["Boot type"], "UEFI");
  EXPECT_THAT(web["unseen"][0]["why"].get<std::string>(), HasSubstr("ferry discover"));

  const Json& db = (*servers)[1].inventory;
  EXPECT_EQ(db["memory"]["total_bytes"], 65536ll << 20);  // "65,536": a thousands separator
  EXPECT_EQ(db["source"]["line"], 3);
  EXPECT_FALSE(db["utilization"].contains("cpu_percent"));
  for (const ImportedServer& server : *servers) {
    FERRY_EXPECT_VALID_INVENTORY(discover_testing::ValidateInventory(server.inventory));
  }
}

TEST_F(CsvImportTest, AwsMigrationHubRowsBecomeInventories) {
  const std::string path = Write("aws.csv", kAws);
  Result<std::vector<ImportedServer>> servers =
      ImportCsvInventories(ImportFormat::kAwsMigrationHub, path, Env::Default());
  ASSERT_TRUE(servers.has_value()) << servers.error().ToString();
  ASSERT_EQ(servers->size(), 2u);
  const Json& pay = (*servers)[0].inventory;
  EXPECT_EQ(pay["source"]["kind"], "aws-migration-hub");
  EXPECT_EQ(pay["host"]["hostname"], "payments-db-01.corp.local");
  EXPECT_EQ(pay["host"]["external_id"], "INV-4711");
  EXPECT_EQ(pay["cpu"]["sockets"], 2);
  EXPECT_EQ(pay["cpu"]["cores"], 8);
  EXPECT_EQ(pay["cpu"]["logical_cpus"], 16);
  EXPECT_EQ(pay["memory"]["total_bytes"], 64128ll << 20);
  EXPECT_EQ(pay["network"]["interfaces"][0]["mac"], "00:1B:44:11:3A:B7");
  EXPECT_EQ(pay["utilization"]["cpu_percent"]["avg"], 23.9);
  EXPECT_EQ(pay["utilization"]["cpu_percent"]["max"], 55.3);
  EXPECT_EQ(pay["utilization"]["memory_used_bytes"]["max"], 58110ll << 20);
  EXPECT_EQ(pay["utilization"]["disk_read_bytes_per_second"]["avg"], 120 * 1024);
  EXPECT_TRUE(pay["utilization"]["disk_read_bytes_per_second"]["max"].is_null());
  EXPECT_EQ(pay["utilization"]["network_tx_bytes_per_second"]["max"], 2048 * 1024);
  EXPECT_EQ(pay["import_attributes"]["Tags"], "zone:1, critical:yes");
  // A row with only an address is named by it.
  EXPECT_EQ((*servers)[1].name, "10.12.31.234");
  EXPECT_TRUE((*servers)[1].inventory["host"]["hostname"].is_null());
  for (const ImportedServer& server : *servers) {
    FERRY_EXPECT_VALID_INVENTORY(discover_testing::ValidateInventory(server.inventory));
  }
}

TEST_F(CsvImportTest, MissingColumnsAreNamedWithTheColumnsFound) {
  const std::string path =
      Write("partial.csv", "Server name,IP address,Memory (MB)\nweb01,10.0.0.1,4096\n");
  Result<std::vector<ImportedServer>> servers =
      ImportCsvInventories(ImportFormat::kAzureMigrate, path, Env::Default());
  ASSERT_FALSE(servers.has_value());
  EXPECT_EQ(servers.error().code(), StatusCode::kInvalidArgument);
  const std::string& message = servers.error().message();
  EXPECT_THAT(message, HasSubstr(path));
  EXPECT_THAT(message, HasSubstr("the columns `Cores`, `OS name` are missing"));
  EXPECT_THAT(message,
              HasSubstr("the columns found are `Server name`, `IP address`, `Memory (MB)`"));

  const std::string aws = Write("aws-partial.csv", "OS.Name,RAM.TotalSizeInMB\nLinux,1024\n");
  servers = ImportCsvInventories(ImportFormat::kAwsMigrationHub, aws, Env::Default());
  ASSERT_FALSE(servers.has_value());
  EXPECT_THAT(servers.error().message(), HasSubstr("at least one of the columns `HostName`"));
  EXPECT_THAT(servers.error().message(), HasSubstr("`OS.Name`, `RAM.TotalSizeInMB`"));
}

TEST_F(CsvImportTest, BadValuesNameTheLineAndColumn) {
  const std::string empty =
      Write("empty-cores.csv", "*Server name,*Cores,*Memory (In MB),*OS name\nweb01,,4096,Linux\n");
  auto servers = ImportCsvInventories(ImportFormat::kAzureMigrate, empty, Env::Default());
  ASSERT_FALSE(servers.has_value());
  EXPECT_THAT(servers.error().message(),
              HasSubstr(empty + ":2: column `*Cores` is empty for server `web01`"));
  const std::string words =
      Write("words.csv", "*Server name,*Cores,*Memory (In MB),*OS name\nweb01,four,4096,Linux\n");
  servers = ImportCsvInventories(ImportFormat::kAzureMigrate, words, Env::Default());
  ASSERT_FALSE(servers.has_value());
  EXPECT_THAT(servers.error().message(),
              HasSubstr(":2: column `*Cores` holds `four`, not a number"));
}

TEST_F(CsvImportTest, AnExcelWorkbookIsRecognised) {
  const std::string path = Write("servers.xlsx", std::string("PK\x03\x04", 4) + "rest of a zip");
  auto servers = ImportCsvInventories(ImportFormat::kAzureMigrate, path, Env::Default());
  ASSERT_FALSE(servers.has_value());
  EXPECT_THAT(servers.error().message(), HasSubstr("Excel workbook"));
  EXPECT_THAT(servers.error().message(), HasSubstr("save the sheet of servers as CSV"));
}

TEST(CsvImportFormatTest, NamesFormatsAndFiles) {
  EXPECT_EQ(*ParseImportFormat("azure-migrate"), ImportFormat::kAzureMigrate);
  EXPECT_THAT(ParseImportFormat("azure").error().message(), HasSubstr("aws-migration-hub"));
  EXPECT_EQ(InventoryFileName("web01.corp.local"), "web01.corp.local");
  EXPECT_EQ(InventoryFileName("SRV 01/a"), "SRV_01_a");
  EXPECT_EQ(InventoryFileName(".."), "server");
  EXPECT_EQ(InventoryFileName(""), "server");
}

}  // namespace
}  // namespace ferry
