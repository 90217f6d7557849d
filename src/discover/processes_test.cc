#include "discover/processes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "discover/fixture.h"

namespace ferry::discover_internal {
namespace {

using ::testing::ElementsAre;

TEST(ProcessesTest, ParsesStatWithACommandNameFullOfParentheses) {
  discover_testing::FakeProcess fake{.pid = 77,
                                     .ppid = 1,
                                     .comm = "my (odd) name)",
                                     .utime = 300,
                                     .stime = 100,
                                     .start_ticks = 4200,
                                     .rss_pages = 10,
                                     .threads = 3};
  std::optional<ProcStat> stat = ParseProcStat(discover_testing::StatLine(fake));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->comm, "my (odd) name)");
  EXPECT_EQ(stat->state, 'S');
  EXPECT_EQ(stat->ppid, 1);
  EXPECT_EQ(stat->utime_ticks, 300u);
  EXPECT_EQ(stat->stime_ticks, 100u);
  EXPECT_EQ(stat->threads, 3);
  EXPECT_EQ(stat->start_ticks, 4200u);
  EXPECT_EQ(stat->rss_pages, 10u);
  EXPECT_FALSE(ParseProcStat("77 (truncated) S 1 2").has_value());
  EXPECT_FALSE(ParseProcStat("garbage").has_value());
}

TEST(ProcessesTest, ReadsSocketInodesFromFdLinks) {
  EXPECT_EQ(SocketInodeOfLink("socket:[12345]"), 12345u);
  EXPECT_EQ(SocketInodeOfLink("pipe:[12345]"), std::nullopt);
  EXPECT_EQ(SocketInodeOfLink("/dev/null"), std::nullopt);
}

TEST(ProcessesTest, RedactsSecretsInCommandLines) {
  std::vector<std::string> argv = {"psql", "postgresql://app:s3cret@db02.example.com:5432/app"};
  RedactSecrets(&argv);
  EXPECT_EQ(argv[1], "postgresql://app:***@db02.example.com:5432/app");
  argv = {"/usr/bin/mysql", "-uroot", "-ptopsecret", "--host=db", "shop"};
  RedactSecrets(&argv);
  EXPECT_THAT(argv, ElementsAre("/usr/bin/mysql", "-uroot", "-p***", "--host=db", "shop"));
  argv = {"app",         "--db-password=hunter2", "--token",   "abc",    "--password-file",
          "/run/secret", "API_TOKEN=xyz",         "MODE=fast", "--port", "80"};
  RedactSecrets(&argv);
  EXPECT_THAT(argv, ElementsAre("app", "--db-password=***", "--token", "***", "--password-file",
                                "/run/secret", "API_TOKEN=***", "MODE=fast", "--port", "80"));
  argv = {"redis-cli", "-u", "redis://:pass@cache:6379", "-p", "6379"};  // not a mysql -p
  RedactSecrets(&argv);
  EXPECT_THAT(argv, ElementsAre("redis-cli", "-u", "redis://:***@cache:6379", "-p", "6379"));
}

TEST(ProcessesTest, ScansTheSampleHost) {
  discover_testing::FixtureRoot fixture;
  discover_testing::WriteSampleHost(fixture);
  HostRoot root(fixture.path());
  UserNames users(root);
  UnseenLog unseen;
  ProcessScan scan = ScanProcesses(root, users, &unseen);
  EXPECT_TRUE(scan.systemd_pid1);
  EXPECT_EQ(scan.kernel_threads, 2);  // kthreadd and its worker
  EXPECT_EQ(scan.vanished, 0);
  std::vector<int> pids;
  for (const ProcessInfo& p : scan.processes) pids.push_back(p.pid);
  EXPECT_THAT(pids, ElementsAre(1, 100, 101, 200, 300, 400, 500));

  const ProcessInfo* worker = scan.Find(101);
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->ppid, 100);
  EXPECT_EQ(worker->uid, 33u);
  EXPECT_EQ(worker->user, "www-data");
  EXPECT_EQ(worker->ProgramName(), "nginx");
  EXPECT_EQ(worker->unit, "nginx.service");
  EXPECT_EQ(worker->cpu_seconds, 2.0);               // (150 + 50) ticks at 100 per second
  EXPECT_EQ(worker->started_unix, 1700000000 + 10);  // btime + 1000 ticks
  EXPECT_EQ(worker->rss_bytes, 256u * 4096);
  EXPECT_EQ(scan.Find(500)->user, "1001");  // not in /etc/passwd
  EXPECT_EQ(scan.Find(300)->cmdline[1], "postgresql://app:***@db02.example.com/app");

  // The listening socket 1001 is shared by the master and its worker.
  EXPECT_THAT(scan.socket_owners.at(1001), ElementsAre(100, 101));
  EXPECT_THAT(scan.socket_owners.at(2003), ElementsAre(300));
  EXPECT_THAT(scan.units.at("nginx.service"), ElementsAre(100, 101));
  EXPECT_THAT(scan.units.at("postgresql@15-main.service"), ElementsAre(200));

  Json json = ProcessesToJson(scan);
  EXPECT_EQ(json[1]["pid"], 100);
  EXPECT_EQ(json[1]["exe"], "/usr/sbin/nginx");
  EXPECT_EQ(json[1]["started_at"], "2023-11-14T22:14:10Z");
  EXPECT_EQ(json[1]["unit"], "nginx.service");
  EXPECT_TRUE(json[0]["unit"].is_null());
}

TEST(ProcessesTest, AProcessThatExitsMidScanIsSkippedAndCounted) {
  discover_testing::FixtureRoot fixture;
  fixture.AddProcess({.pid = 10, .comm = "alive", .argv = {"alive"}});
  // A /proc/PID directory whose files are gone: the process exited between the listing of
  // /proc and the reads.
  fixture.Mkdir("/proc/11");
  UnseenLog unseen;
  ProcessScan scan = ScanProcesses(HostRoot(fixture.path()), UserNames::FromPasswd(""), &unseen);
  ASSERT_EQ(scan.processes.size(), 1u);
  EXPECT_EQ(scan.processes[0].pid, 10);
  EXPECT_EQ(scan.vanished, 1);
  EXPECT_TRUE(unseen.empty()) << unseen.ToJson().dump(2);
}

TEST(ProcessesTest, FindsThisTestProcessOnTheLiveHost) {
  UnseenLog unseen;
  HostRoot root("/");
  ProcessScan scan = ScanProcesses(root, UserNames(root), &unseen);
  const ProcessInfo* self = scan.Find(::getpid());
  ASSERT_NE(self, nullptr);
  EXPECT_EQ(self->ppid, ::getppid());
  ASSERT_TRUE(self->exe.has_value());
  EXPECT_THAT(*self->exe, ::testing::EndsWith("discover_test"));
}

}  // namespace
}  // namespace ferry::discover_internal
