// `ferry discover` on this machine, through the real binary: its listening TCP services and
// their processes against iproute2's `ss -ltnpH` (an independent implementation), the run as
// `nobody`, --watch, --save and `ferry plan --from-store`, the import command and the errors a
// user sees. Every inventory is checked against docs/inventory.schema.json.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/env.h"
#include "base/json.h"
#include "discover/fixture.h"
#include "discover/inventory.h"
#include "harness/process.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;

struct FerryRun {
  int code = -1;
  std::string out;
  std::string err;
};

class DiscoverLiveTest : public ::testing::Test {
 protected:
  FerryRun Ferry(std::vector<std::string> args, const std::string& user = "") {
    testing::SubprocessOptions options;
    options.argv = {FERRY_BINARY};
    for (std::string& arg : args) options.argv.push_back(std::move(arg));
    options.stdout_path = fixture_.Real("/out-" + std::to_string(runs_));
    options.stderr_path = fixture_.Real("/err-" + std::to_string(runs_++));
    options.user = user;
    options.env_unset = {"FERRY_STORE", "FERRY_CONFIG", "FERRY_LOG_LEVEL", "FERRY_LOG_FORMAT"};
    options.working_dir = fixture_.path();
    FerryRun run;
    auto status = testing::RunToCompletion(options, std::chrono::seconds(120));
    EXPECT_TRUE(status.has_value()) << status.error().ToString();
    if (status.has_value()) run.code = status->signal == 0 ? status->exit_code : -status->signal;
    run.out = Env::Default()->ReadFile(options.stdout_path).value_or("");
    run.err = Env::Default()->ReadFile(options.stderr_path).value_or("");
    return run;
  }

  // (port, pid) of every TCP listener `ss -ltnpH` shows; pid 0 when it names no process.
  static Result<std::set<std::pair<int, int>>> SsListeners() {
    char pattern[] = "/tmp/ferry-ss-XXXXXX";
    int fd = ::mkstemp(pattern);
    if (fd < 0) return Err(Internal("mkstemp failed"));
    ::close(fd);
    testing::SubprocessOptions options;
    options.argv = {"ss", "-ltnpH"};
    options.stdout_path = pattern;
    auto status = testing::RunToCompletion(options, std::chrono::seconds(30));
    std::string text = Env::Default()->ReadFile(pattern).value_or("");
    ::unlink(pattern);
    if (!status.has_value()) return Err(status.error());
    if (!status->success()) return Err(Internal("ss failed: {}", status->ToString()));
    std::set<std::pair<int, int>> listeners;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      // LISTEN 0 128 127.0.0.1:5432 0.0.0.0:* users:(("postgres",pid=28011,fd=5),...)
      std::istringstream fields(line);
      std::string state, recv, send, local;
      fields >> state >> recv >> send >> local;
      if (local.empty()) continue;
      const int port = std::stoi(local.substr(local.rfind(':') + 1));
      bool any = false;
      for (size_t at = line.find("pid="); at != std::string::npos; at = line.find("pid=", at + 4)) {
        listeners.emplace(port, std::stoi(line.substr(at + 4)));
        any = true;
      }
      if (!any) listeners.emplace(port, 0);
    }
    return listeners;
  }

  static std::set<std::pair<int, int>> InventoryListeners(const Json& inventory) {
    std::set<std::pair<int, int>> listeners;
    for (const Json& l : inventory["listening"]) {
      if (l["protocol"] != "tcp") continue;
      const int port = l["port"];
      if (l["pids"].empty()) listeners.emplace(port, 0);
      for (const Json& pid : l["pids"]) listeners.emplace(port, pid.get<int>());
    }
    return listeners;
  }

  // A TCP socket of this test process listening on a free port; returns the port.
  int Listen(int family) {
    int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    sockaddr_storage address{};
    socklen_t length;
    if (family == AF_INET) {
      auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
      v4->sin_family = AF_INET;
      v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      length = sizeof(sockaddr_in);
    } else {
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
      v6->sin6_family = AF_INET6;
      v6->sin6_addr = in6addr_any;
      length = sizeof(sockaddr_in6);
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd, 8) != 0) {
      ::close(fd);
      return -1;
    }
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    sockets_.push_back(fd);
    return ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&address)->sin_port
                                   : reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  }

  void TearDown() override {
    for (int fd : sockets_) ::close(fd);
  }

  Json ReadJson(const std::string& path) {
    Result<LoadedInventory> loaded = ReadInventory(path, Env::Default());
    EXPECT_TRUE(loaded.has_value()) << loaded.error().ToString();
    return loaded.has_value() ? loaded->document : Json();
  }

  discover_testing::FixtureRoot fixture_;
  std::vector<int> sockets_;
  int runs_ = 0;
};

TEST_F(DiscoverLiveTest, ListsTheListeningServicesThatSsSeesWithTheirProcesses) {
  if (::access("/usr/bin/ss", X_OK) != 0 && ::access("/bin/ss", X_OK) != 0) {
    GTEST_SKIP() << "ss is not installed (apt-get install iproute2): nothing independent to "
                    "compare the listening sockets with";
  }
  const int v4 = Listen(AF_INET);
  const int v6 = Listen(AF_INET6);  // -1 on a host without IPv6
  ASSERT_GT(v4, 0);
  // Other tests run beside this one (ctest -j) and start and stop servers: a listener can live
  // only between the two ss snapshots. What ss saw both before and after must be in the
  // inventory, and the inventory may hold only what ss saw at one of the times; a listener seen
  // by neither is another process's passing socket, so the run is repeated (at most 3 times)
  // until one run has none.
  const std::string path = fixture_.Real("/inventory.json");
  Json inventory;
  std::set<std::pair<int, int>> ours;
  for (int attempt = 1;; ++attempt) {
    Result<std::set<std::pair<int, int>>> before = SsListeners();
    ASSERT_TRUE(before.has_value()) << before.error().ToString();
    FerryRun run = Ferry({"discover", "--out", path});
    ASSERT_EQ(run.code, 0) << run.err;
    EXPECT_THAT(run.out, HasSubstr("written to " + path));
    Result<std::set<std::pair<int, int>>> after = SsListeners();
    ASSERT_TRUE(after.has_value());
    inventory = ReadJson(path);
    ours = InventoryListeners(inventory);
    for (const auto& listener : *before) {
      if (!after->contains(listener)) continue;
      EXPECT_TRUE(ours.contains(listener)) << "ss lists port " << listener.first << " pid "
                                           << listener.second << "; the inventory does not";
    }
    std::vector<std::pair<int, int>> unseen;
    for (const auto& listener : ours) {
      if (!before->contains(listener) && !after->contains(listener)) unseen.push_back(listener);
    }
    if (unseen.empty()) break;
    for (const auto& [port, pid] : unseen) {
      ASSERT_NE(pid, ::getpid()) << "the inventory lists port " << port
                                 << " of this test, which never listened there";
      if (attempt == 3) {
        ADD_FAILURE() << "the inventory lists port " << port << " pid " << pid
                      << "; ss does not, in 3 runs out of 3";
      } else {
        std::cerr << "attempt " << attempt << ": port " << port << " pid " << pid
                  << " came and went between the ss snapshots; again\n";
      }
    }
    if (attempt == 3) break;
  }
  EXPECT_TRUE(ours.contains({v4, ::getpid()}));
  if (v6 > 0) {
    EXPECT_TRUE(ours.contains({v6, ::getpid()}));
  }
  for (const Json& l : inventory["listening"]) {
    if (l["port"] == v4) {
      EXPECT_EQ(l["address"], "127.0.0.1");
      EXPECT_EQ(l["loopback_only"], true);
      EXPECT_THAT(l["process"].get<std::string>(), HasSubstr("discover_live"));
    }
  }
  std::cerr << "ferry discover took " << inventory["stats"]["duration_ms"] << " ms for "
            << inventory["processes"].size() << " processes (this build)\n";
  FERRY_EXPECT_VALID_INVENTORY(discover_testing::ValidateInventoryFiles({path}));
}

TEST_F(DiscoverLiveTest, AsNobodyItSaysWhatItCouldNotSeeAndSucceeds) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run ferry as `nobody`";
  const int port = Listen(AF_INET);
  ASSERT_GT(port, 0);
  const std::string path = fixture_.Real("/nobody.json");
  ::chmod(fixture_.path().c_str(), 0777);  // nobody writes its inventory there
  FerryRun run = Ferry({"discover", "--out", path}, "nobody");
  ASSERT_EQ(run.code, 0) << run.err;
  Json inventory = ReadJson(path);
  EXPECT_EQ(inventory["run_as"]["user"], "nobody");
  bool fd_unseen = false;
  for (const Json& entry : inventory["unseen"]) {
    if (entry["what"] == "socket owners of other users' processes (/proc/PID/fd)") {
      fd_unseen = true;
      EXPECT_THAT(entry["why"].get<std::string>(), HasSubstr("EACCES"));
      EXPECT_GE(entry["count"].get<int>(), 1);
    }
  }
  EXPECT_TRUE(fd_unseen) << inventory["unseen"].dump(2);
  // This test's listener: its user is known from /proc/net/tcp, its process is not.
  bool found = false;
  for (const Json& l : inventory["listening"]) {
    if (l["port"] != port) continue;
    found = true;
    EXPECT_EQ(l["user"], "root");
    EXPECT_TRUE(l["pid"].is_null());
  }
  EXPECT_TRUE(found);
  // The test process itself is listed, command line and all.
  bool self = false;
  for (const Json& p : inventory["processes"]) self |= p["pid"] == ::getpid();
  EXPECT_TRUE(self);
  FERRY_EXPECT_VALID_INVENTORY(discover_testing::ValidateInventoryFiles({path}));
}

TEST_F(DiscoverLiveTest, WatchStoresABaseline) {
  FerryRun run = Ferry({"discover", "--watch", "2s", "--interval", "500ms"});
  ASSERT_EQ(run.code, 0) << run.err;
  Json inventory = Json::parse(run.out);
  const Json& baseline = inventory["baseline"];
  EXPECT_EQ(baseline["expected_samples"], 4);
  EXPECT_EQ(baseline["samples"], 4);
  EXPECT_EQ(baseline["coverage"], 1.0);
  EXPECT_GE(baseline["metrics"]["cpu_percent"]["max"].get<double>(), 0.0);
  EXPECT_LE(baseline["metrics"]["cpu_percent"]["max"].get<double>(), 100.0);
  EXPECT_GT(baseline["metrics"]["memory_used_bytes"]["p50"].get<double>(), 0.0);
  FERRY_EXPECT_VALID_INVENTORY(discover_testing::ValidateInventory(inventory));
}

TEST_F(DiscoverLiveTest, ReadsAFixtureRoot) {
  discover_testing::FixtureRoot host;
  discover_testing::WriteSampleHost(host);
  FerryRun run = Ferry({"discover", "--root", host.path()});
  ASSERT_EQ(run.code, 0) << run.err;
  Json inventory = Json::parse(run.out);
  EXPECT_EQ(inventory["host"]["hostname"], "db01");
  EXPECT_EQ(inventory["listening"].size(), 7u);
}

TEST_F(DiscoverLiveTest, BadFlagsSayWhatToDo) {
  FerryRun run = Ferry({"discover", "--interval", "5s"});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr("--interval 5s without --watch"));
  run = Ferry({"discover", "--watch", "1s", "--interval", "5s"});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr("no longer than the watch"));
  run = Ferry({"discover", "--watch", "ten minutes"});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr("duration `ten minutes`"));
  run = Ferry({"discover", "--root", "/nonexistent/host"});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr("/nonexistent/host/proc does not exist"));
  run = Ferry({"discover", "import", "--from", "vmware", "x.csv"});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr("azure-migrate"));
}

TEST_F(DiscoverLiveTest, SaveKeepsTheInventoryInTheStoreWherePlanReadsIt) {
  // Without --out, the inventory goes to the store (./ferry.db by default), not to stdout.
  FerryRun run = Ferry({"discover", "--save"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("saved in the store sqlite://"));
  EXPECT_THAT(run.out, HasSubstr("/ferry.db as `"));
  EXPECT_THAT(run.out, ::testing::Not(HasSubstr("schema_version")));
  EXPECT_TRUE(Env::Default()->FileExists(fixture_.Real("/ferry.db")));

  // With --out as well: the file is written, and the host's inventory in the store replaced.
  const std::string path = fixture_.Real("/inventory.json");
  run = Ferry({"--json", "discover", "--save", "--out", path});
  ASSERT_EQ(run.code, 0) << run.err;
  Json report = Json::parse(run.out);
  Json inventory = ReadJson(path);
  const std::string name = InventoryHostName(inventory);
  ASSERT_FALSE(name.empty());
  EXPECT_EQ(report["out"], path);
  EXPECT_EQ(report["saved"]["saved"], 1);
  EXPECT_EQ(report["saved"]["replaced"], 1);
  EXPECT_EQ(report["saved"]["name"], name);

  run = Ferry({"--json", "plan", "--from-store"});
  ASSERT_EQ(run.code, 0) << run.err;
  Json plan = Json::parse(run.out);
  ASSERT_EQ(plan["servers"].size(), 1u);
  EXPECT_EQ(plan["servers"][0]["name"], name);
  EXPECT_EQ(plan["servers"][0]["source"], "store:" + name);
  EXPECT_TRUE(plan["inputs"]["skipped"].empty());
}

TEST_F(DiscoverLiveTest, ImportsCsvExports) {
  fixture_.Write("/azure.csv",
                 "*Server name,IP addresses,*Cores,*Memory (In MB),*OS name\n"
                 "web01,10.0.0.1,4,8192,Ubuntu 22.04\nweb01,10.0.0.2,4,8192,Ubuntu 22.04\n"
                 "db01,10.0.0.3,8,32768,Windows Server 2019\n");
  const std::string dir = fixture_.Real("/imported");
  FerryRun run = Ferry(
      {"discover", "import", "--from", "azure-migrate", fixture_.Real("/azure.csv"), "--out", dir});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("imported 3 server(s)"));
  // Two rows named web01: the second does not overwrite the first.
  for (const char* name : {"web01.json", "web01-2.json", "db01.json"}) {
    Json inventory = ReadJson(dir + "/" + name);
    EXPECT_EQ(inventory["source"]["kind"], "azure-migrate") << name;
  }
  EXPECT_EQ(ReadJson(dir + "/web01-2.json")["network"]["interfaces"][0]["addresses"][0]["address"],
            "10.0.0.2");
  FERRY_EXPECT_VALID_INVENTORY(discover_testing::ValidateInventoryFiles(
      {dir + "/web01.json", dir + "/web01-2.json", dir + "/db01.json"}));

  // Without --out: JSON Lines on stdout.
  run = Ferry({"discover", "import", "--from", "azure-migrate", fixture_.Real("/azure.csv")});
  ASSERT_EQ(run.code, 0) << run.err;
  fixture_.Write("/imported.jsonl", run.out);
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 3);
  FERRY_EXPECT_VALID_INVENTORY(
      discover_testing::ValidateInventoryFiles({fixture_.Real("/imported.jsonl")}));

  fixture_.Write("/aws.csv", "OS.Name,RAM.TotalSizeInMB\nLinux,1024\n");
  run = Ferry({"discover", "import", "--from", "aws-migration-hub", fixture_.Real("/aws.csv")});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr(fixture_.Real("/aws.csv")));
  EXPECT_THAT(run.err, HasSubstr("the columns found are `OS.Name`, `RAM.TotalSizeInMB`"));
}

}  // namespace
}  // namespace ferry
