#include "discover/packages.h"

#include <unistd.h>

#include <chrono>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/env.h"
#include "discover/fixture.h"
#include "harness/process.h"

namespace ferry::discover_internal {
namespace {

using ::testing::HasSubstr;

// An rpm header blob as rpm writes it (big-endian index entries, then the data store), built
// field by field: tag, type, and the value.
class RpmHeaderBuilder {
 public:
  void String(uint32_t tag, const std::string& value) {
    Entry(tag, 6, data_.size(), 1);
    data_.insert(data_.end(), value.begin(), value.end());
    data_.push_back(0);
  }
  void Int32(uint32_t tag, uint32_t value) {
    while (data_.size() % 4 != 0) data_.push_back(0);  // rpm aligns integers
    Entry(tag, 4, data_.size(), 1);
    Put32(&data_, value);
  }
  std::vector<uint8_t> Build() const {
    std::vector<uint8_t> blob;
    Put32(&blob, static_cast<uint32_t>(index_.size() / 16));
    Put32(&blob, static_cast<uint32_t>(data_.size()));
    blob.insert(blob.end(), index_.begin(), index_.end());
    blob.insert(blob.end(), data_.begin(), data_.end());
    return blob;
  }

 private:
  static void Put32(std::vector<uint8_t>* out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(v >> shift));
  }
  void Entry(uint32_t tag, uint32_t type, size_t offset, uint32_t count) {
    Put32(&index_, tag);
    Put32(&index_, type);
    Put32(&index_, static_cast<uint32_t>(offset));
    Put32(&index_, count);
  }
  std::vector<uint8_t> index_;
  std::vector<uint8_t> data_;
};

TEST(PackagesTest, ParsesTheDpkgStatusDatabase) {
  discover_testing::FixtureRoot fixture;
  discover_testing::WriteSampleHost(fixture);
  std::string status;
  ASSERT_EQ(HostRoot(fixture.path()).Read("/var/lib/dpkg/status", &status), 0);
  Json packages = ParseDpkgStatus(status);
  // oldpkg has only its configuration files left: not installed.
  ASSERT_EQ(packages.size(), 2u) << packages.dump(2);
  EXPECT_EQ(packages[0]["name"], "libc6");
  EXPECT_EQ(packages[0]["version"], "2.36-9+deb12u4");
  EXPECT_EQ(packages[0]["source"], "glibc");
  EXPECT_EQ(packages[0]["installed_size_bytes"], 12000 * 1024);
  EXPECT_EQ(packages[1]["name"], "nginx");
  EXPECT_EQ(packages[1]["source"], "nginx");
  EXPECT_EQ(packages[1]["architecture"], "amd64");
  EXPECT_EQ(packages[1]["state"], "installed");
  EXPECT_EQ(packages[1]["manager"], "dpkg");
}

TEST(PackagesTest, ParsesAnRpmHeader) {
  RpmHeaderBuilder header;
  header.String(1000, "openssl-libs");
  header.String(1001, "3.0.7");
  header.String(1002, "25.el9_3");
  header.Int32(1003, 1);
  header.String(1022, "x86_64");
  header.Int32(1009, 6543210);
  header.String(1044, "openssl-3.0.7-25.el9_3.src.rpm");
  std::vector<uint8_t> blob = header.Build();
  Result<Json> package = ParseRpmHeader(blob);
  ASSERT_TRUE(package.has_value()) << package.error().ToString();
  EXPECT_EQ((*package)["name"], "openssl-libs");
  EXPECT_EQ((*package)["version"], "1:3.0.7-25.el9_3");
  EXPECT_EQ((*package)["architecture"], "x86_64");
  EXPECT_EQ((*package)["source"], "openssl");
  EXPECT_EQ((*package)["installed_size_bytes"], 6543210);
  EXPECT_EQ((*package)["manager"], "rpm");
}

TEST(PackagesTest, RefusesDamagedRpmHeaders) {
  std::vector<uint8_t> blob = {0, 0, 0, 9, 0, 0, 1, 0};  // claims 9 entries and 256 bytes
  Result<Json> package = ParseRpmHeader(blob);
  ASSERT_FALSE(package.has_value());
  EXPECT_THAT(package.error().message(), HasSubstr("claims 9 entries"));
  RpmHeaderBuilder no_name;
  no_name.String(1001, "1.0");
  EXPECT_FALSE(ParseRpmHeader(no_name.Build()).has_value());
}

TEST(PackagesTest, ReadsARealRpmDatabaseWrittenByRpm) {
  // rpm (Debian's rpm package) builds a package and records it in a fresh rpmdb.sqlite: an
  // independent writer of the format the reader parses.
  if (::access("/usr/bin/rpmbuild", X_OK) != 0 || ::access("/usr/bin/rpm", X_OK) != 0) {
    GTEST_SKIP() << "rpm and rpmbuild are not installed (apt-get install rpm; "
                    "scripts/debian-packages.txt): the rpm database reader was not checked "
                    "against a database rpm wrote";
  }
  discover_testing::FixtureRoot fixture;
  const std::string top = fixture.Real("/build");
  fixture.Write("/build/SPECS/demo.spec",
                "Name: ferry-demo\nVersion: 1.2.3\nRelease: 4\nEpoch: 2\nSummary: demo\n"
                "License: MIT\nBuildArch: noarch\n%description\ndemo\n%files\n");
  auto run = [&](std::vector<std::string> argv) {
    testing::SubprocessOptions options;
    options.argv = std::move(argv);
    options.stdout_path = fixture.Real("/build/log");
    options.stderr_path = fixture.Real("/build/log");
    options.env_set = {{"HOME", top}};
    auto status = testing::RunToCompletion(std::move(options), std::chrono::seconds(120));
    ASSERT_TRUE(status.has_value()) << status.error().ToString();
    ASSERT_TRUE(status->success()) << testing::ReadFileTail(fixture.Real("/build/log"));
  };
  run({"rpmbuild", "-bb", "--quiet", "--define", "_topdir " + top, top + "/SPECS/demo.spec"});
  run({"rpm", "--root", fixture.path(), "--dbpath", "/var/lib/rpm", "--initdb"});
  run({"rpm", "--root", fixture.path(), "--dbpath", "/var/lib/rpm", "-i", "--justdb", "--nodeps",
       "--noscripts", top + "/RPMS/noarch/ferry-demo-1.2.3-4.noarch.rpm"});
  UnseenLog unseen;
  Json packages = CollectPackages(HostRoot(fixture.path()), &unseen);
  ASSERT_EQ(packages.size(), 1u) << packages.dump(2) << unseen.ToJson().dump(2);
  EXPECT_EQ(packages[0]["manager"], "rpm");
  EXPECT_EQ(packages[0]["name"], "ferry-demo");
  EXPECT_EQ(packages[0]["version"], "2:1.2.3-4");
  EXPECT_EQ(packages[0]["architecture"], "noarch");
  EXPECT_EQ(packages[0]["source"], "ferry-demo");
  EXPECT_TRUE(unseen.empty()) << unseen.ToJson().dump(2);
}

TEST(PackagesTest, ABerkeleyDbRpmDatabaseIsUnseenWithTheWayOut) {
  discover_testing::FixtureRoot fixture;
  fixture.Write("/var/lib/rpm/Packages", std::string(4096, '\0'));
  UnseenLog unseen;
  Json packages = CollectPackages(HostRoot(fixture.path()), &unseen);
  EXPECT_TRUE(packages.empty());
  const Unseen* entry = unseen.Find("rpm packages (/var/lib/rpm/Packages)");
  ASSERT_NE(entry, nullptr) << unseen.ToJson().dump(2);
  EXPECT_THAT(entry->why, HasSubstr("BerkeleyDB"));
  EXPECT_THAT(entry->why, HasSubstr("rpm -qa"));
}

TEST(PackagesTest, AnRpmDatabaseThatIsNotSqliteIsUnseen) {
  discover_testing::FixtureRoot fixture;
  fixture.Write("/var/lib/rpm/rpmdb.sqlite", "this is not a database");
  UnseenLog unseen;
  EXPECT_TRUE(CollectPackages(HostRoot(fixture.path()), &unseen).empty());
  ASSERT_FALSE(unseen.empty());
  EXPECT_THAT(unseen.entries()[0].what, HasSubstr("rpmdb.sqlite"));
}

TEST(PackagesTest, ThisHostListsItsDpkgPackages) {
  UnseenLog unseen;
  Json packages = CollectPackages(HostRoot("/"), &unseen);
  bool libc = false;
  for (const Json& package : packages) libc = libc || package["name"] == "libc6";
  EXPECT_TRUE(libc) << "libc6 missing among " << packages.size() << " packages";
}

}  // namespace
}  // namespace ferry::discover_internal
