#include "discover/system_info.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "discover/fixture.h"

namespace ferry::discover_internal {
namespace {

using ::testing::HasSubstr;

TEST(SystemInfoTest, ParsesOsRelease) {
  Json os = ParseOsRelease(
      "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.3 (Plow)\"\nID=\"rhel\"\n"
      "ID_LIKE=\"fedora centos\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.3 "
      "(Plow)\"\n");
  EXPECT_EQ(os["id"], "rhel");
  EXPECT_EQ(os["version_id"], "9.3");
  EXPECT_EQ(os["pretty_name"], "Red Hat Enterprise Linux 9.3 (Plow)");
  EXPECT_EQ(os["id_like"], Json::array({"fedora", "centos"}));
  EXPECT_TRUE(os["version_codename"].is_null());
}

TEST(SystemInfoTest, CountsSocketsCoresAndThreads) {
  discover_testing::FixtureRoot fixture;
  discover_testing::WriteSampleHost(fixture);
  std::string cpuinfo;
  ASSERT_EQ(HostRoot(fixture.path()).Read("/proc/cpuinfo", &cpuinfo), 0);
  // The sample host: 2 sockets x 2 cores x 2 hyper-threads.
  Json cpu = ParseCpuInfo(cpuinfo);
  EXPECT_EQ(cpu["sockets"], 2);
  EXPECT_EQ(cpu["cores"], 4);
  EXPECT_EQ(cpu["logical_cpus"], 8);
  EXPECT_EQ(cpu["model"], "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz");
  EXPECT_EQ(cpu["vendor"], "GenuineIntel");
  EXPECT_EQ(cpu["mhz"], 2100.0);
}

TEST(SystemInfoTest, CpuInfoWithoutCoreIdsCountsLogicalCpus) {
  // An arm64 kernel: no model name, no physical or core ids.
  Json cpu = ParseCpuInfo(
      "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n\n"
      "processor\t: 1\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n");
  EXPECT_EQ(cpu["logical_cpus"], 2);
  EXPECT_EQ(cpu["cores"], 2);
  EXPECT_EQ(cpu["sockets"], 1);
  EXPECT_EQ(cpu["vendor"], "0x41");
  EXPECT_TRUE(cpu["model"].is_null());
}

TEST(SystemInfoTest, ParsesMeminfoInBytes) {
  Json memory = ParseMeminfo(
      "MemTotal:       16777216 kB\nMemAvailable:   12582912 kB\n"
      "SwapTotal:             0 kB\nHugePages_Total:       0\n");
  EXPECT_EQ(memory["total_bytes"], 16777216ull * 1024);  // 16 GiB
  EXPECT_EQ(memory["available_bytes"], 12582912ull * 1024);
  EXPECT_EQ(memory["swap_total_bytes"], 0);
  EXPECT_TRUE(memory["free_bytes"].is_null());
}

TEST(SystemInfoTest, CountsCpuLists) {
  EXPECT_EQ(CountCpuList("0-3,8-11\n"), 8);
  EXPECT_EQ(CountCpuList("0"), 1);
  EXPECT_EQ(CountCpuList("0,2,4-5"), 4);
  EXPECT_EQ(CountCpuList(""), 0);
}

TEST(SystemInfoTest, CollectsTheSampleHost) {
  discover_testing::FixtureRoot fixture;
  discover_testing::WriteSampleHost(fixture);
  HostRoot root(fixture.path());
  UnseenLog unseen;
  Json host = CollectHost(root, &unseen);
  EXPECT_EQ(host["hostname"], "db01");
  EXPECT_EQ(host["machine_id"], "4f1c0c2e9d8b4a6f8e7d6c5b4a392817");
  EXPECT_EQ(host["boot_id"], "0b7ab2a3-5c1e-4d2f-9a8b-7c6d5e4f3a21");
  EXPECT_EQ(host["uptime_seconds"], 12345.67);
  Json kernel = CollectKernel(root, &unseen);
  EXPECT_EQ(kernel["sysname"], "Linux");
  EXPECT_EQ(kernel["release"], "6.1.0-18-amd64");
  EXPECT_EQ(kernel["machine"], "x86_64");
  EXPECT_EQ(CollectOs(root, &unseen)["version_codename"], "bookworm");
  EXPECT_EQ(CollectCpu(root, &unseen)["logical_cpus"], 8);
  EXPECT_EQ(CollectMemory(root, &unseen)["total_bytes"], 17179869184ull);
  EXPECT_TRUE(unseen.empty()) << unseen.ToJson().dump();
}

TEST(SystemInfoTest, AMissingMachineIdIsUnseenNotAFailure) {
  discover_testing::FixtureRoot fixture;
  fixture.Write("/proc/sys/kernel/hostname", "box\n");
  UnseenLog unseen;
  Json host = CollectHost(HostRoot(fixture.path()), &unseen);
  EXPECT_EQ(host["hostname"], "box");
  EXPECT_TRUE(host["machine_id"].is_null());
  ASSERT_NE(unseen.Find("machine id"), nullptr);
  EXPECT_THAT(unseen.Find("machine id")->why, HasSubstr("/etc/machine-id"));
  ASSERT_NE(unseen.Find("/proc/sys/kernel/random/boot_id"), nullptr);
  EXPECT_THAT(unseen.Find("/proc/sys/kernel/random/boot_id")->why, HasSubstr("ENOENT"));
}

}  // namespace
}  // namespace ferry::discover_internal
