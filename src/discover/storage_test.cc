#include "discover/storage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "discover/fixture.h"

namespace ferry::discover_internal {
namespace {

using ::testing::HasSubstr;

TEST(StorageTest, UnescapesMountFields) {
  EXPECT_EQ(UnescapeMountField("/srv/my\\040data"), "/srv/my data");
  EXPECT_EQ(UnescapeMountField("a\\011b\\134c"), "a\tb\\c");
  EXPECT_EQ(UnescapeMountField("trailing\\04"), "trailing\\04");  // not three octal digits
}

TEST(StorageTest, ParsesMounts) {
  Json mounts = ParseMounts(
      "/dev/sda1 / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\n"
      "server:/export /mnt/nfs nfs4 rw,vers=4.2 0 0\n");
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(mounts[0]["device"], "/dev/sda1");
  EXPECT_EQ(mounts[0]["options"], Json::array({"rw", "relatime"}));
  EXPECT_FALSE(mounts[0]["virtual"].get<bool>());
  EXPECT_TRUE(mounts[1]["virtual"].get<bool>());
  EXPECT_TRUE(mounts[2]["network"].get<bool>());
}

TEST(StorageTest, FixtureFileSystemsDropKernelInterfacesAndAreNotMeasured) {
  discover_testing::FixtureRoot fixture;
  discover_testing::WriteSampleHost(fixture);
  UnseenLog unseen;
  Json file_systems = CollectFileSystems(HostRoot(fixture.path()), &unseen);
  // /, /run (tmpfs), /mnt/nfs, /srv/my data: proc and sysfs left out.
  ASSERT_EQ(file_systems.size(), 4u);
  EXPECT_EQ(file_systems[0]["mount_point"], "/");
  EXPECT_EQ(file_systems[1]["type"], "tmpfs");
  EXPECT_EQ(file_systems[3]["mount_point"], "/srv/my data");
  EXPECT_TRUE(file_systems[0]["size_bytes"].is_null());
  ASSERT_NE(unseen.Find("size and use of network file systems"), nullptr);
  EXPECT_EQ(unseen.Find("size and use of network file systems")->examples[0], "/mnt/nfs");
  ASSERT_NE(unseen.Find("size and use of file systems"), nullptr);
}

TEST(StorageTest, MeasuresTheRootFileSystemOfThisHost) {
  UnseenLog unseen;
  Json file_systems = CollectFileSystems(HostRoot("/"), &unseen);
  bool found = false;
  for (const Json& fs : file_systems) {
    if (fs["mount_point"] != "/") continue;
    found = true;
    ASSERT_TRUE(fs["size_bytes"].is_number());
    EXPECT_GT(fs["size_bytes"].get<uint64_t>(), 0u);
    EXPECT_LE(fs["used_bytes"].get<uint64_t>(), fs["size_bytes"].get<uint64_t>());
    EXPECT_LE(fs["available_bytes"].get<uint64_t>(), fs["size_bytes"].get<uint64_t>());
  }
  EXPECT_TRUE(found) << file_systems.dump(2);
}

TEST(StorageTest, ListsDisksWithPartitionsAndSkipsUnusedLoopDevices) {
  discover_testing::FixtureRoot fixture;
  discover_testing::WriteSampleHost(fixture);
  UnseenLog unseen;
  Json disks = CollectDisks(HostRoot(fixture.path()), &unseen);
  ASSERT_EQ(disks.size(), 1u) << disks.dump(2);
  EXPECT_EQ(disks[0]["name"], "sda");
  EXPECT_EQ(disks[0]["size_bytes"], 107374182400ull);  // 209715200 sectors x 512 = 100 GiB
  EXPECT_EQ(disks[0]["rotational"], false);
  EXPECT_EQ(disks[0]["model"], "Virtual disk");
  EXPECT_EQ(disks[0]["vendor"], "VMware");
  ASSERT_EQ(disks[0]["partitions"].size(), 1u);
  EXPECT_EQ(disks[0]["partitions"][0]["name"], "sda1");
  EXPECT_EQ(disks[0]["partitions"][0]["size_bytes"], 1073741824ull);
}

TEST(StorageTest, AMissingSysBlockIsUnseen) {
  discover_testing::FixtureRoot fixture;
  UnseenLog unseen;
  EXPECT_TRUE(CollectDisks(HostRoot(fixture.path()), &unseen).empty());
  ASSERT_NE(unseen.Find("/sys/block"), nullptr);
  EXPECT_THAT(unseen.Find("/sys/block")->why, HasSubstr("ENOENT"));
}

}  // namespace
}  // namespace ferry::discover_internal
