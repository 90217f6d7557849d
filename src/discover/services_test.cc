#include "discover/services.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "discover/fixture.h"

namespace ferry::discover_internal {
namespace {

using ::testing::HasSubstr;

Json ByName(const Json& list, const std::string& name) {
  for (const Json& item : list) {
    if (item["name"] == name) return item;
  }
  return nullptr;
}

TEST(ServicesTest, FindsTheUnitOfACgroup) {
  EXPECT_EQ(UnitOfCgroup("0::/system.slice/nginx.service\n"), "nginx.service");
  EXPECT_EQ(UnitOfCgroup("0::/system.slice/system-postgresql.slice/postgresql@15-main.service\n"),
            "postgresql@15-main.service");
  // cgroup v1: the name=systemd hierarchy.
  EXPECT_EQ(UnitOfCgroup("12:memory:/system.slice/redis.service\n"
                         "1:name=systemd:/system.slice/redis-server.service\n"),
            "redis-server.service");
  EXPECT_EQ(UnitOfCgroup("0::/user.slice/user-1000.slice/session-4.scope\n"), "");
  EXPECT_EQ(UnitOfCgroup("0::/init.scope\n"), "");
}

TEST(ServicesTest, ParsesUnitFiles) {
  UnitFileFacts facts = ParseUnitFile(
      "[Unit]\nDescription=PostgreSQL Cluster %i\n# ExecStart=/commented\n[Service]\n"
      "User=postgres\nExecStart=-/usr/bin/pg_ctlcluster %i start\nExecStart=/second\n"
      "[Install]\nWantedBy=multi-user.target\n");
  EXPECT_EQ(facts.description, "PostgreSQL Cluster %i");
  EXPECT_EQ(facts.exec_start, "/usr/bin/pg_ctlcluster %i start");
  EXPECT_EQ(facts.user, "postgres");
  EXPECT_TRUE(facts.has_install);
  EXPECT_FALSE(ParseUnitFile("[Service]\nExecStart=/x\n").has_install);
  EXPECT_TRUE(ParseUnitFile("[Install]\nAlso=foo.service\n").install_only_also);
}

TEST(ServicesTest, WorksOutEnablementAsSystemctlDoes) {
  discover_testing::FixtureRoot fixture;
  discover_testing::WriteSampleHost(fixture);
  UnseenLog unseen;
  std::map<std::string, std::set<int>> running = {{"nginx.service", {100, 101}},
                                                  {"postgresql@15-main.service", {200}}};
  Json units =
      CollectSystemdUnits(HostRoot(fixture.path()), running, /*systemd_pid1=*/true, &unseen);
  EXPECT_EQ(ByName(units, "nginx.service")["enablement"], "enabled");
  EXPECT_EQ(ByName(units, "nginx.service")["exec_start"], "/usr/sbin/nginx -g 'daemon on;'");
  EXPECT_EQ(ByName(units, "nginx.service")["running"], true);
  EXPECT_EQ(ByName(units, "nginx.service")["pids"], Json::array({100, 101}));
  EXPECT_EQ(ByName(units, "postgresql@.service")["enablement"], "disabled");
  EXPECT_EQ(ByName(units, "postgresql@.service")["running"], true);  // through an instance
  EXPECT_EQ(ByName(units, "postgresql@.service")["user"], "postgres");
  EXPECT_EQ(ByName(units, "systemd-journald.service")["enablement"], "static");
  EXPECT_EQ(ByName(units, "systemd-journald.service")["running"], false);
  EXPECT_EQ(ByName(units, "rsync.service")["enablement"], "masked");
  EXPECT_EQ(ByName(units, "rsync.service")["path"], "/etc/systemd/system/rsync.service");
  EXPECT_EQ(ByName(units, "sshd.service")["enablement"], "alias");
  EXPECT_EQ(ByName(units, "sshd.service")["alias_of"], "ssh.service");
  EXPECT_EQ(ByName(units, "ssh.service")["enablement"], "enabled");
  EXPECT_EQ(ByName(units, "backup.service")["enablement"], "generated");
  EXPECT_EQ(ByName(units, "foo.socket")["enablement"], "indirect");
  EXPECT_EQ(ByName(units, "foo.socket")["type"], "socket");
  EXPECT_EQ(ByName(units, "getty@.service")["enablement"], "enabled");
  EXPECT_EQ(ByName(units, "apt-daily.timer")["type"], "timer");
  EXPECT_EQ(units.size(), 10u) << units.dump(2);
  ASSERT_NE(unseen.Find("active state of systemd units"), nullptr);
  EXPECT_THAT(unseen.Find("active state of systemd units")->why, HasSubstr("D-Bus"));
}

TEST(ServicesTest, WithoutSystemdAsPid1RunningIsUnknown) {
  discover_testing::FixtureRoot fixture;
  discover_testing::WriteSampleHost(fixture);
  UnseenLog unseen;
  Json units = CollectSystemdUnits(HostRoot(fixture.path()), {}, /*systemd_pid1=*/false, &unseen);
  EXPECT_TRUE(ByName(units, "nginx.service")["running"].is_null());
  EXPECT_THAT(unseen.Find("active state of systemd units")->why, HasSubstr("not PID 1"));
}

TEST(ServicesTest, ParsesCrontabs) {
  Json system = ParseCrontab(
      "SHELL=/bin/sh\nPATH = /usr/bin:/bin\n# comment\n"
      "17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly\n"
      "@reboot root /usr/local/bin/warm-cache --fast\n"
      "0 4 * * mon-fri   backup   /usr/bin/backup \"a b\"   # keep\n",
      "/etc/crontab", /*system=*/true, "");
  ASSERT_EQ(system.size(), 3u) << system.dump(2);
  EXPECT_EQ(system[0]["schedule"], "17 * * * *");
  EXPECT_EQ(system[0]["user"], "root");
  EXPECT_EQ(system[0]["command"], "cd / && run-parts --report /etc/cron.hourly");
  EXPECT_EQ(system[0]["line"], 4);
  EXPECT_EQ(system[1]["schedule"], "@reboot");
  EXPECT_EQ(system[1]["command"], "/usr/local/bin/warm-cache --fast");
  EXPECT_EQ(system[2]["schedule"], "0 4 * * mon-fri");
  EXPECT_EQ(system[2]["user"], "backup");
  Json user = ParseCrontab("*/5 * * * * /home/alice/bin/sync.sh > /dev/null 2>&1\n",
                           "/var/spool/cron/crontabs/alice", /*system=*/false, "alice");
  ASSERT_EQ(user.size(), 1u);
  EXPECT_EQ(user[0]["user"], "alice");
  EXPECT_EQ(user[0]["command"], "/home/alice/bin/sync.sh > /dev/null 2>&1");
}

TEST(ServicesTest, CollectsEveryKindOfCronJob) {
  discover_testing::FixtureRoot fixture;
  discover_testing::WriteSampleHost(fixture);
  UnseenLog unseen;
  Json jobs = CollectCronJobs(HostRoot(fixture.path()), &unseen);
  // /etc/crontab 1, /etc/cron.d/backup 2 (backup.dpkg-old ignored), cron.daily/logrotate 1
  // (.placeholder ignored), alice 1.
  ASSERT_EQ(jobs.size(), 5u) << jobs.dump(2);
  EXPECT_EQ(jobs[0]["source"], "/etc/crontab");
  EXPECT_EQ(jobs[1]["user"], "postgres");
  EXPECT_EQ(jobs[1]["schedule"], "30 2 * * 1-5");
  EXPECT_EQ(jobs[2]["schedule"], "@reboot");
  EXPECT_EQ(jobs[3]["schedule"], "@daily");
  EXPECT_EQ(jobs[3]["command"], "/etc/cron.daily/logrotate");
  EXPECT_EQ(jobs[4]["user"], "alice");
  EXPECT_TRUE(unseen.empty()) << unseen.ToJson().dump(2);
}

}  // namespace
}  // namespace ferry::discover_internal
