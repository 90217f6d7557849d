#include "discover/host_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "discover/fixture.h"

namespace ferry::discover_internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

TEST(HostRootTest, PlacesHostPathsUnderTheRoot) {
  EXPECT_EQ(HostRoot("/").Path("/proc/net/tcp"), "/proc/net/tcp");
  EXPECT_EQ(HostRoot("").Path("/etc/passwd"), "/etc/passwd");
  EXPECT_TRUE(HostRoot("/").live());
  HostRoot fixture("/tmp/host/");
  EXPECT_FALSE(fixture.live());
  EXPECT_EQ(fixture.Path("/proc/stat"), "/tmp/host/proc/stat");
  EXPECT_EQ(fixture.display(), "/tmp/host");
}

TEST(HostRootTest, ReadsListsAndFollowsLinksInAFixture) {
  discover_testing::FixtureRoot fixture;
  fixture.Write("/etc/hostname", "db01\n");
  fixture.Link("/proc/42/fd/3", "socket:[12345]");
  fixture.Write("/proc/42/stat", "42 (x) S 1");
  HostRoot root(fixture.path());
  std::string text;
  EXPECT_EQ(root.Read("/etc/hostname", &text), 0);
  EXPECT_EQ(text, "db01\n");
  EXPECT_EQ(root.Read("/etc/missing", &text), ENOENT);
  EXPECT_EQ(root.ReadLink("/proc/42/fd/3", &text), 0);
  EXPECT_EQ(text, "socket:[12345]");
  std::vector<std::string> names;
  EXPECT_EQ(root.List("/proc/42", &names), 0);
  EXPECT_THAT(names, UnorderedElementsAre("fd", "stat"));
  EXPECT_TRUE(root.IsDirectory("/proc/42/fd"));
  EXPECT_FALSE(root.IsDirectory("/proc/42/stat"));
}

TEST(HostRootTest, ReadsProcfsFilesWhoseSizeIsZero) {
  // /proc files report st_size 0: a reader that trusts stat reads nothing.
  HostRoot root("/");
  std::string text;
  ASSERT_EQ(root.Read("/proc/self/stat", &text), 0);
  EXPECT_THAT(text, HasSubstr(std::to_string(::getpid())));
}

TEST(TextTest, SplitsAndTrims) {
  std::vector<std::string_view> fields;
  SplitBlanks("  a\tbb   c ", &fields);
  EXPECT_THAT(fields, ElementsAre("a", "bb", "c"));
  SplitBlanks("   ", &fields);
  EXPECT_TRUE(fields.empty());
  EXPECT_THAT(Split("a::b", ':'), ElementsAre("a", "", "b"));
  EXPECT_EQ(Trim(" \t x y \r\n"), "x y");
}

TEST(TextTest, ParsesWholeNumbersOnly) {
  EXPECT_EQ(ParseInt("-42"), -42);
  EXPECT_EQ(ParseUint("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(ParseUint("12kB"), std::nullopt);
  EXPECT_EQ(ParseUint(""), std::nullopt);
  EXPECT_EQ(ParseHex("0A"), 10u);
  EXPECT_EQ(ParseHex("zz"), std::nullopt);
  EXPECT_EQ(ParseDouble("2100.500"), 2100.5);
}

TEST(TextTest, ParsesKeyValueLinesAsOsReleaseQuotesThem) {
  auto values = ParseKeyValueLines(
      "# comment\nNAME=\"Debian GNU/Linux\"\nID=debian\nQUOTED='single'\n"
      "ESCAPED=\"say \\\"hi\\\"\"\n\nBROKEN LINE\n");
  EXPECT_EQ(values["NAME"], "Debian GNU/Linux");
  EXPECT_EQ(values["ID"], "debian");
  EXPECT_EQ(values["QUOTED"], "single");
  EXPECT_EQ(values["ESCAPED"], "say \"hi\"");
  EXPECT_EQ(values.size(), 4u);
}

TEST(TextTest, FormatsUtcTimes) {
  EXPECT_EQ(IsoTimeUtc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(IsoTimeUtc(1700000000), "2023-11-14T22:13:20Z");
}

TEST(UserNamesTest, NamesUsersFromPasswdAndNumbersTheRest) {
  UserNames users = UserNames::FromPasswd(
      "root:x:0:0:root:/root:/bin/bash\npostgres:x:105:111::/var/lib/postgresql:/bin/bash\n"
      "toor:x:0:0:second root:/root:/bin/sh\nbroken line\n");
  EXPECT_EQ(users.Name(0), "root");  // the first entry of a uid wins, as getpwuid(3) does
  EXPECT_EQ(users.Name(105), "postgres");
  EXPECT_EQ(users.Name(1001), "1001");
  EXPECT_EQ(users.Uid("postgres"), 105u);
  EXPECT_EQ(users.Uid("nobody"), std::nullopt);
}

TEST(UnseenLogTest, MergesTheSameWhatAndWhyWithAFewExamples) {
  UnseenLog log;
  for (int pid = 1; pid <= 8; ++pid) log.Add("fds", "denied", "/proc/" + std::to_string(pid));
  log.Add("fds", "another reason");
  ASSERT_EQ(log.entries().size(), 2u);
  EXPECT_EQ(log.entries()[0].count, 8);
  EXPECT_EQ(log.entries()[0].examples.size(), UnseenLog::kMaxExamples);
  EXPECT_EQ(log.entries()[0].examples[0], "/proc/1");
  EXPECT_EQ(log.entries()[1].count, 1);
  Json json = log.ToJson();
  EXPECT_EQ(json[0]["what"], "fds");
  EXPECT_EQ(json[0]["count"], 8);
}

}  // namespace
}  // namespace ferry::discover_internal
