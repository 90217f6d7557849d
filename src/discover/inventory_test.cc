#include "discover/inventory.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/log.h"
#include "discover/fixture.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;

class ReadInventoryTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, std::string_view content) {
    fixture_.Write("/" + name, content);
    return fixture_.Real("/" + name);
  }
  discover_testing::FixtureRoot fixture_;
};

TEST_F(ReadInventoryTest, ReadsTheCurrentVersion) {
  const std::string path =
      Write("ok.json", R"({"schema_version": "1.0", "host": {"hostname": "a"}})");
  Result<LoadedInventory> loaded = ReadInventory(path, Env::Default());
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  EXPECT_EQ(loaded->major, 1);
  EXPECT_EQ(loaded->minor, 0);
  EXPECT_TRUE(loaded->warnings.empty());
  EXPECT_EQ(loaded->document["host"]["hostname"], "a");
}

TEST_F(ReadInventoryTest, RefusesANewerMajorVersionAndSaysToUpgrade) {
  const std::string path = Write("v2.json", R"({"schema_version": "2.0", "hosts": []})");
  Result<LoadedInventory> loaded = ReadInventory(path, Env::Default());
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(loaded.error().message(), HasSubstr(path));
  EXPECT_THAT(loaded.error().message(), HasSubstr("schema_version 2.0, newer than this ferry"));
  EXPECT_THAT(loaded.error().message(), HasSubstr("upgrade ferry"));
}

TEST_F(ReadInventoryTest, AcceptsANewerMinorVersionWithAWarning) {
  std::vector<std::string> logged;
  SetLogSink([&](std::string_view line) { logged.emplace_back(line); });
  const std::string path =
      Write("v1.7.json", R"({"schema_version": "1.7", "host": {}, "field_from_1_7": true})");
  Result<LoadedInventory> loaded = ReadInventory(path, Env::Default());
  SetLogSink(nullptr);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  EXPECT_EQ(loaded->minor, 7);
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_THAT(loaded->warnings[0], HasSubstr("schema_version 1.7, newer than this ferry's 1.0"));
  EXPECT_THAT(loaded->warnings[0], HasSubstr("ignored"));
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_THAT(logged[0], HasSubstr("1.7"));
}

TEST_F(ReadInventoryTest, ATruncatedFileNamesTheFileAndTheByteOffset) {
  const std::string whole =
      R"({"schema_version": "1.0", "host": {"hostname": "db01"}, "processes": [1, 2, 3]})";
  const std::string cut = whole.substr(0, 60);
  const std::string path = Write("cut.json", cut);
  Result<LoadedInventory> loaded = ReadInventory(path, Env::Default());
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.error().message(),
              HasSubstr("inventory " + path + " is truncated: its JSON stops at byte 60"));
  EXPECT_THAT(loaded.error().message(), HasSubstr("ferry discover --out " + path));
}

TEST_F(ReadInventoryTest, InvalidJsonNamesTheByteLineAndColumn) {
  const std::string path =
      Write("bad.json", "{\n  \"schema_version\": \"1.0\",\n  \"host\": {,}\n}\n");
  Result<LoadedInventory> loaded = ReadInventory(path, Env::Default());
  ASSERT_FALSE(loaded.has_value());
  // The `,` at line 3, column 12 is byte 40 (0-based).
  EXPECT_THAT(loaded.error().message(),
              HasSubstr("inventory " + path + " is not valid JSON at byte 40 (line 3, column 12)"));
}

TEST_F(ReadInventoryTest, OtherBadInput) {
  auto message = [&](const std::string& name, std::string_view content) {
    Result<LoadedInventory> loaded = ReadInventory(Write(name, content), Env::Default());
    EXPECT_FALSE(loaded.has_value()) << name;
    return loaded.has_value() ? std::string() : loaded.error().message();
  };
  EXPECT_THAT(message("empty.json", ""), HasSubstr("is empty (0 bytes)"));
  EXPECT_THAT(message("array.json", "[1]"),
              HasSubstr("the document is a JSON array, not an object"));
  EXPECT_THAT(message("noversion.json", R"({"host": {}})"), HasSubstr("no `schema_version`"));
  EXPECT_THAT(message("badversion.json", R"({"schema_version": "one"})"),
              HasSubstr("schema_version `one` is not MAJOR.MINOR"));
  EXPECT_THAT(message("old.json", R"({"schema_version": "0.9"})"), HasSubstr("older than"));
  Result<LoadedInventory> missing = ReadInventory(fixture_.Real("/nope.json"), Env::Default());
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.error().message(), HasSubstr("ferry discover --out FILE"));
}

TEST(DiscoverHostTest, InventoriesTheSampleHostAndMatchesTheSchema) {
  discover_testing::FixtureRoot fixture;
  discover_testing::WriteSampleHost(fixture);
  Result<Json> inventory = DiscoverHost({.root = fixture.path()}, Env::Default());
  ASSERT_TRUE(inventory.has_value()) << inventory.error().ToString();
  const Json& i = *inventory;
  EXPECT_EQ(i["schema_version"], "1.0");
  EXPECT_EQ(i["source"], Json({{"kind", "agent"}, {"root", fixture.path()}}));
  EXPECT_EQ(i["host"]["hostname"], "db01");
  EXPECT_EQ(i["cpu"]["cores"], 4);
  EXPECT_EQ(i["packages"].size(), 2u);
  EXPECT_EQ(i["services"].size(), 10u);
  EXPECT_EQ(i["cron_jobs"].size(), 5u);
  EXPECT_EQ(i["processes"].size(), 7u);
  EXPECT_EQ(i["listening"].size(), 7u);
  EXPECT_EQ(i["connections"].size(), 3u);
  EXPECT_EQ(i["stats"]["kernel_threads"], 2);
  // The unit of postgres is known through its instance, and nginx's listener has its pids.
  for (const Json& unit : i["services"]) {
    if (unit["name"] == "nginx.service") {
      EXPECT_EQ(unit["pids"], Json::array({100, 101}));
    }
  }
  // Round trip through the reader plan will use.
  const std::string path = fixture.Real("/inventory.json");
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(path, i.dump(2)).ok());
  Result<LoadedInventory> loaded = ReadInventory(path, Env::Default());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->document, i);
  FERRY_EXPECT_VALID_INVENTORY(discover_testing::ValidateInventoryFiles({path}));
}

TEST(DiscoverHostTest, ARootWithoutProcIsRefusedWithTheWayOut) {
  discover_testing::FixtureRoot fixture;
  Result<Json> inventory = DiscoverHost({.root = fixture.path()}, Env::Default());
  ASSERT_FALSE(inventory.has_value());
  EXPECT_EQ(inventory.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(inventory.error().message(), HasSubstr(fixture.path() + "/proc does not exist"));
  EXPECT_THAT(inventory.error().message(), HasSubstr("point --root at"));
}

TEST(DiscoverHostTest, WithoutRootWhatCannotBeReadIsUnseenNotAFailure) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop to `nobody` (65534)";
  discover_testing::FixtureRoot fixture;
  discover_testing::WriteSampleHost(fixture);
  // As a real host has them: the crontabs directory root-only, a process's fd directory and
  // exe link closed to other users.
  fixture.Chmod("/var/spool/cron/crontabs", 0700);
  fixture.Chmod("/proc/200/fd", 0700);
  fixture.Write("/etc/nginx/ssl/site.pem", "-----BEGIN CERTIFICATE-----\n", 0600);
  fixture.Chmod("/etc/nginx/ssl", 0700);
  // In a child that drops to nobody: the unseen entries come back through a pipe.
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    Result<Json> inventory = DiscoverHost({.root = fixture.path()}, Env::Default());
    std::string out =
        inventory.has_value() ? inventory->dump() : "FAILED " + inventory.error().ToString();
    for (size_t done = 0; done < out.size();) {
      ssize_t n = ::write(pipe_fds[1], out.data() + done, out.size() - done);
      if (n <= 0) ::_exit(3);
      done += static_cast<size_t>(n);
    }
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string text;
  char buffer[65536];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0;) text.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_FALSE(text.starts_with("FAILED")) << text;
  Json inventory = Json::parse(text);
  EXPECT_EQ(inventory["run_as"]["uid"], 65534);
  EXPECT_EQ(inventory["run_as"]["root"], false);
  std::map<std::string, Json> unseen;
  for (const Json& entry : inventory["unseen"]) unseen[entry["what"]] = entry;
  ASSERT_TRUE(unseen.contains("users' crontabs (/var/spool/cron/crontabs: only root may list it)"))
      << inventory["unseen"].dump(2);
  EXPECT_THAT(unseen["users' crontabs (/var/spool/cron/crontabs: only root may list it)"]["why"]
                  .get<std::string>(),
              HasSubstr("EACCES"));
  ASSERT_TRUE(unseen.contains("socket owners of other users' processes (/proc/PID/fd)"));
  EXPECT_EQ(unseen["socket owners of other users' processes (/proc/PID/fd)"]["examples"],
            Json::array({"/proc/200/fd"}));
  ASSERT_TRUE(unseen.contains("certificates in directories only their owner may read"));
  // The process is still listed, and its listener keeps its owning user, without a pid.
  bool postgres_listed = false;
  for (const Json& p : inventory["processes"]) postgres_listed |= p["pid"] == 200;
  EXPECT_TRUE(postgres_listed);
  for (const Json& l : inventory["listening"]) {
    if (l["port"] == 5433) {
      EXPECT_TRUE(l["pid"].is_null());
      EXPECT_EQ(l["user"], "postgres");
    }
  }
  // Alice's job is unseen; the system crontabs are still there.
  EXPECT_EQ(inventory["cron_jobs"].size(), 4u);
  FERRY_EXPECT_VALID_INVENTORY(discover_testing::ValidateInventory(inventory));
}

}  // namespace
}  // namespace ferry
