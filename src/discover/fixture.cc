#include "discover/fixture.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/env.h"
#include "harness/process.h"

namespace ferry::discover_testing {
namespace {

namespace fs = std::filesystem;

void MakeParents(const std::string& path) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  ASSERT_FALSE(ec) << path << ": " << ec.message();
}

std::string Python() {
  // Debian's interpreter first: python3-jsonschema installs into it, whatever PATH holds.
  if (::access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return "python3";
}

}  // namespace

FixtureRoot::FixtureRoot() {
  std::string pattern = ::testing::TempDir() + "ferry_discover_XXXXXX";
  EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
  path_ = pattern;
  // Readable by everyone: the tests run ferry as `nobody` over it.
  ::chmod(path_.c_str(), 0755);
}

FixtureRoot::~FixtureRoot() {
  std::error_code ec;
  // chmod back what tests closed, so that the tree can be removed.
  for (auto it = fs::recursive_directory_iterator(
           path_, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_symlink(ec)) ::chmod(it->path().c_str(), 0755);
  }
  fs::remove_all(path_, ec);
}

std::string FixtureRoot::Real(std::string_view host_path) const {
  return path_ + std::string(host_path);
}

void FixtureRoot::Write(std::string_view host_path, std::string_view content, mode_t mode) {
  const std::string path = Real(host_path);
  MakeParents(path);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  ASSERT_TRUE(out.good()) << "cannot write " << path;
  ::chmod(path.c_str(), mode);
}

void FixtureRoot::Link(std::string_view host_path, std::string_view target) {
  const std::string path = Real(host_path);
  MakeParents(path);
  ::unlink(path.c_str());
  ASSERT_EQ(::symlink(std::string(target).c_str(), path.c_str()), 0) << path;
}

void FixtureRoot::Mkdir(std::string_view host_path, mode_t mode) {
  const std::string path = Real(host_path);
  std::error_code ec;
  fs::create_directories(path, ec);
  ASSERT_FALSE(ec) << path;
  ::chmod(path.c_str(), mode);
}

void FixtureRoot::Chmod(std::string_view host_path, mode_t mode) {
  ASSERT_EQ(::chmod(Real(host_path).c_str(), mode), 0) << host_path;
}

std::string StatLine(const FakeProcess& p) {
  // proc_pid_stat(5): pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
  // cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime vsize rss ...
  return fmt::format(
      "{} ({}) {} {} {} {} 0 -1 {} 100 0 0 0 {} {} 0 0 20 0 {} 0 {} 123456789 {} "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
      p.pid, p.comm, p.state, p.ppid, p.pid, p.pid, p.flags, p.utime, p.stime, p.threads,
      p.start_ticks, p.rss_pages);
}

void FixtureRoot::AddProcess(const FakeProcess& p) {
  const std::string dir = "/proc/" + std::to_string(p.pid);
  Write(dir + "/stat", StatLine(p));
  Write(dir + "/status", fmt::format("Name:\t{}\nState:\t{}\nUid:\t{}\t{}\t{}\t{}\n", p.comm,
                                     p.state, p.uid, p.uid, p.uid, p.uid));
  std::string cmdline;
  for (const std::string& argument : p.argv) {
    cmdline += argument;
    cmdline.push_back('\0');
  }
  Write(dir + "/cmdline", cmdline);
  if (!p.exe.empty()) Link(dir + "/exe", p.exe);
  Write(dir + "/cgroup", p.cgroup);
  Mkdir(dir + "/fd");
  Link(dir + "/fd/0", "/dev/null");
  int fd = 3;
  for (uint64_t inode : p.socket_inodes) {
    Link(dir + "/fd/" + std::to_string(fd++), "socket:[" + std::to_string(inode) + "]");
  }
}

void WriteSampleHost(FixtureRoot& root) {
  root.Write("/etc/os-release",
             "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
             "VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n"
             "HOME_URL=\"https://www.debian.org/\"\n");
  root.Write("/etc/machine-id", "4f1c0c2e9d8b4a6f8e7d6c5b4a392817\n");
  root.Write("/proc/sys/kernel/hostname", "db01\n");
  root.Write("/proc/sys/kernel/ostype", "Linux\n");
  root.Write("/proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");
  root.Write("/proc/sys/kernel/version", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)\n");
  root.Write("/proc/sys/kernel/arch", "x86_64\n");
  root.Write("/proc/sys/kernel/random/boot_id", "0b7ab2a3-5c1e-4d2f-9a8b-7c6d5e4f3a21\n");
  root.Write("/proc/uptime", "12345.67 20000.00\n");
  // 2 sockets x 2 cores x 2 threads: 8 logical CPUs, 4 physical cores.
  std::string cpuinfo;
  int processor = 0;
  for (int socket = 0; socket < 2; ++socket) {
    for (int core = 0; core < 2; ++core) {
      for (int thread = 0; thread < 2; ++thread) {
        cpuinfo += fmt::format(
            "processor\t: {}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n"
            "model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\ncpu MHz\t\t: 2100.000\n"
            "physical id\t: {}\nsiblings\t: 4\ncore id\t\t: {}\ncpu cores\t: 2\n\n",
            processor++, socket, core);
      }
    }
  }
  root.Write("/proc/cpuinfo", cpuinfo);
  root.Write("/sys/devices/system/cpu/online", "0-7\n");
  // 16 GiB total, 12 GiB available.
  root.Write(
      "/proc/meminfo",
      "MemTotal:       16777216 kB\nMemFree:         4194304 kB\nMemAvailable:   12582912 kB\n"
      "Buffers:          102400 kB\nCached:          8388608 kB\nSwapCached:            0 kB\n"
      "SwapTotal:       2097152 kB\nSwapFree:        2097152 kB\n");
  root.Write("/proc/stat", "cpu  1000 0 500 8000 100 0 0 0 0 0\nbtime 1700000000\n");
  root.Write("/proc/mounts",
             "/dev/sda1 / ext4 rw,relatime,errors=remount-ro 0 0\n"
             "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
             "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
             "tmpfs /run tmpfs rw,nosuid,nodev,size=1638400k,mode=755 0 0\n"
             "10.0.0.5:/export /mnt/nfs nfs4 rw,relatime,vers=4.2 0 0\n"
             "/dev/sdb1 /srv/my\\040data xfs rw,relatime 0 0\n");
  // sda: 100 GiB = 209715200 sectors of 512 bytes; sda1 1 GiB; loop0 unused.
  root.Write("/sys/block/sda/size", "209715200\n");
  root.Write("/sys/block/sda/queue/rotational", "0\n");
  root.Write("/sys/block/sda/removable", "0\n");
  root.Write("/sys/block/sda/device/model", "Virtual disk    \n");
  root.Write("/sys/block/sda/device/vendor", "VMware  \n");
  root.Write("/sys/block/sda/sda1/partition", "1\n");
  root.Write("/sys/block/sda/sda1/size", "2097152\n");
  root.Write("/sys/block/loop0/size", "0\n");
  root.Write("/sys/class/net/eth0/address", "52:54:00:12:34:56\n");
  root.Write("/sys/class/net/eth0/mtu", "1500\n");
  root.Write("/sys/class/net/eth0/operstate", "up\n");
  root.Write("/sys/class/net/eth0/speed", "10000\n");
  root.Write("/sys/class/net/lo/address", "00:00:00:00:00:00\n");
  root.Write("/sys/class/net/lo/mtu", "65536\n");
  root.Write("/sys/class/net/lo/operstate", "unknown\n");
  root.Write("/proc/net/if_inet6",
             "fe80000000000000505400fffe123456 02 40 20 80     eth0\n"
             "00000000000000000000000000000001 01 80 10 80       lo\n");
  // default via 10.0.0.1 dev eth0 metric 100; 10.0.0.0/24 dev eth0.
  root.Write("/proc/net/route",
             "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
             "eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
             "eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
  root.Write("/proc/net/ipv6_route",
             "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 "
             "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
             "00000000000000000000000000000001 80 00000000000000000000000000000000 00 "
             "00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n");
  root.Write("/etc/resolv.conf",
             "# generated by NetworkManager\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n"
             "search corp.example.com example.com\noptions ndots:2 timeout:1\n");
  root.Write(
      "/etc/passwd",
      "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
      "postgres:x:105:111:PostgreSQL administrator:/var/lib/postgresql:/bin/bash\n"
      "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n"
      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
  root.Write(
      "/var/lib/dpkg/status",
      "Package: nginx\nStatus: install ok installed\nPriority: optional\nInstalled-Size: 1234\n"
      "Architecture: amd64\nVersion: 1.22.1-9\nDescription: small, powerful web server\n"
      " nginx is a web server.\n\n"
      "Package: libc6\nStatus: install ok installed\nInstalled-Size: 12000\n"
      "Architecture: amd64\nSource: glibc (2.36-9+deb12u4)\nVersion: 2.36-9+deb12u4\n\n"
      "Package: oldpkg\nStatus: deinstall ok config-files\nArchitecture: all\n"
      "Version: 0.1\n");

  // systemd: nginx enabled; postgresql disabled; journald static; rsync masked; sshd an alias of
  // ssh (enabled); backup generated; foo.socket indirect; getty@ enabled through an instance.
  root.Write("/usr/lib/systemd/system/nginx.service",
             "[Unit]\nDescription=A high performance web server\n[Service]\nType=forking\n"
             "ExecStartPre=/usr/sbin/nginx -t\nExecStart=/usr/sbin/nginx -g 'daemon on;'\n"
             "[Install]\nWantedBy=multi-user.target\n");
  root.Link("/etc/systemd/system/multi-user.target.wants/nginx.service",
            "/usr/lib/systemd/system/nginx.service");
  root.Write("/usr/lib/systemd/system/postgresql@.service",
             "[Unit]\nDescription=PostgreSQL Cluster %i\n[Service]\nUser=postgres\n"
             "ExecStart=-/usr/bin/pg_ctlcluster --skip-systemctl-redirect %i start\n"
             "[Install]\nWantedBy=multi-user.target\n");
  root.Write(
      "/usr/lib/systemd/system/systemd-journald.service",
      "[Unit]\nDescription=Journal Service\n[Service]\nExecStart=/lib/systemd/systemd-journald\n");
  root.Write("/usr/lib/systemd/system/rsync.service",
             "[Unit]\nDescription=rsync daemon\n[Install]\nWantedBy=multi-user.target\n");
  root.Link("/etc/systemd/system/rsync.service", "/dev/null");
  root.Write(
      "/usr/lib/systemd/system/ssh.service",
      "[Unit]\nDescription=OpenBSD Secure Shell server\n[Service]\nExecStart=/usr/sbin/sshd -D\n"
      "[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n");
  root.Link("/etc/systemd/system/sshd.service", "/usr/lib/systemd/system/ssh.service");
  root.Link("/etc/systemd/system/multi-user.target.wants/ssh.service",
            "/usr/lib/systemd/system/ssh.service");
  root.Write("/run/systemd/generator/backup.service",
             "[Unit]\nDescription=Generated backup\n[Service]\nExecStart=/usr/bin/true\n");
  root.Write("/usr/lib/systemd/system/foo.socket",
             "[Unit]\nDescription=Foo socket\n[Install]\nAlso=foo.service\n");
  root.Write("/usr/lib/systemd/system/getty@.service",
             "[Unit]\nDescription=Getty on %I\n[Service]\nExecStart=-/sbin/agetty %I\n"
             "[Install]\nWantedBy=getty.target\n");
  root.Link("/etc/systemd/system/getty.target.wants/getty@tty1.service",
            "/usr/lib/systemd/system/getty@.service");
  root.Write(
      "/usr/lib/systemd/system/apt-daily.timer",
      "[Unit]\nDescription=Daily apt download activities\n[Timer]\nOnCalendar=*-*-* 6,18:00\n"
      "[Install]\nWantedBy=timers.target\n");

  // cron: /etc/crontab (1 job), /etc/cron.d/backup (2 jobs; backup.dpkg-old ignored),
  // /etc/cron.daily/logrotate, alice's crontab (1 job).
  root.Write("/etc/crontab",
             "SHELL=/bin/sh\nPATH = /usr/local/sbin:/usr/local/bin:/sbin:/bin\n# m h dom mon dow "
             "user\tcommand\n"
             "17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly\n");
  root.Write("/etc/cron.d/backup",
             "MAILTO=ops@example.com\n30 2 * * 1-5 postgres /usr/local/bin/pg-backup --full\n"
             "@reboot root /usr/local/bin/warm-cache\n");
  root.Write("/etc/cron.d/backup.dpkg-old", "0 0 * * * root /bin/false\n");
  root.Write("/etc/cron.daily/logrotate", "#!/bin/sh\n", 0755);
  root.Write("/etc/cron.daily/.placeholder", "");
  root.Write("/var/spool/cron/crontabs/alice",
             "# DO NOT EDIT THIS FILE\n*/5 * * * * /home/alice/bin/sync.sh > /dev/null 2>&1\n",
             0600);

  // Processes and their sockets (inodes 1001.. listening, 2001.. connected).
  root.AddProcess({.pid = 1,
                   .ppid = 0,
                   .comm = "systemd",
                   .uid = 0,
                   .argv = {"/sbin/init"},
                   .exe = "/usr/lib/systemd/systemd",
                   .cgroup = "0::/init.scope\n"});
  root.AddProcess({.pid = 2, .ppid = 0, .comm = "kthreadd", .flags = 0x208040});
  root.AddProcess({.pid = 3, .ppid = 2, .comm = "kworker/0:0", .flags = 0x4208060});
  root.AddProcess({.pid = 100,
                   .comm = "nginx",
                   .uid = 0,
                   .argv = {"nginx: master process /usr/sbin/nginx -g daemon on;"},
                   .exe = "/usr/sbin/nginx",
                   .cgroup = "0::/system.slice/nginx.service\n",
                   .socket_inodes = {1001, 1002, 1003},
                   .start_ticks = 5000,
                   .rss_pages = 1024});
  root.AddProcess({.pid = 101,
                   .ppid = 100,
                   .comm = "nginx",
                   .uid = 33,
                   .argv = {"nginx: worker process"},
                   .exe = "/usr/sbin/nginx",
                   .cgroup = "0::/system.slice/nginx.service\n",
                   .socket_inodes = {1001, 1002, 1003, 2001, 2002}});
  root.AddProcess(
      {.pid = 200,
       .comm = "postgres",
       .uid = 105,
       .argv = {"/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/main"},
       .exe = "/usr/lib/postgresql/15/bin/postgres",
       .cgroup = "0::/system.slice/system-postgresql.slice/postgresql@15-main.service\n",
       .socket_inodes = {1004}});
  root.AddProcess({.pid = 300,
                   .ppid = 250,
                   .comm = "psql",
                   .uid = 1000,
                   .argv = {"psql", "postgresql://app:s3cret@db02.example.com/app"},
                   .exe = "/usr/bin/psql",
                   .cgroup = "0::/user.slice/user-1000.slice/session-4.scope\n",
                   .socket_inodes = {2003}});
  root.AddProcess({.pid = 400,
                   .comm = "dnsmasq",
                   .uid = 65534,
                   .argv = {"/usr/sbin/dnsmasq", "-k"},
                   .exe = "/usr/sbin/dnsmasq",
                   .socket_inodes = {1005}});
  root.AddProcess({.pid = 500,
                   .comm = "java",
                   .uid = 1001,
                   .argv = {"/usr/bin/java", "-Xmx1G", "-cp", "/opt/kafka/libs/*", "kafka.Kafka",
                            "/opt/kafka/config/server.properties"},
                   .exe = "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
                   .socket_inodes = {1006}});
  const char* tcp_header =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
      "inode\n";
  auto line = [](int n, const char* local, const char* remote, const char* state, int uid,
                 int inode) {
    return fmt::format(
        "{:4}: {} {} {} 00000000:00000000 00:00000000 00000000 {:5}        0 {} 1 "
        "0000000000000000 100 0 0 10 0\n",
        n, local, remote, state, uid, inode);
  };
  root.Write("/proc/net/tcp",
             std::string(tcp_header) +
                 line(0, "00000000:0050", "00000000:0000", "0A", 0, 1001) +     // :80
                 line(1, "00000000:01BB", "00000000:0000", "0A", 0, 1003) +     // :443
                 line(2, "0100007F:1539", "00000000:0000", "0A", 105, 1004) +   // 127.0.0.1:5433
                 line(3, "00000000:2384", "00000000:0000", "0A", 1001, 1006) +  // :9092
                 line(4, "00000000:0801", "00000000:0000", "0A", 0, 1007) +     // :2049, no owner
                 line(5, "0A00000A:01BB", "0900000A:D431", "01", 33, 2001) +    // 10.0.0.9 -> :443
                 line(6, "0A00000A:C350", "1400000A:1F90", "01", 33, 2002) +    // -> 10.0.0.20:8080
                 line(7, "0A00000A:C351", "1E00000A:1538", "01", 1000, 2003) +  // -> 10.0.0.30:5432
                 line(8, "0A00000A:C352", "1E00000A:1538", "06", 0, 0));        // time-wait
  root.Write("/proc/net/tcp6",
             std::string(tcp_header) + line(0, "00000000000000000000000000000000:0050",
                                            "00000000000000000000000000000000:0000", "0A", 0,
                                            1002));  // [::]:80
  root.Write("/proc/net/udp", std::string(tcp_header) +
                                  line(0, "00000000:0035", "00000000:0000", "07", 65534, 1005));
  root.Write("/proc/net/udp6", tcp_header);
}

Status ValidateInventoryFiles(const std::vector<std::string>& paths) {
  const std::string source = FERRY_SOURCE_DIR;
  testing::SubprocessOptions options;
  options.argv = {Python(), source + "/src/discover/testdata/validate_inventory.py",
                  source + "/docs/inventory.schema.json"};
  for (const std::string& path : paths) options.argv.push_back(path);
  const std::string output =
      ::testing::TempDir() + "ferry_schema_check_" + std::to_string(::getpid()) + ".txt";
  options.stdout_path = output;
  options.stderr_path = output;
  ::unlink(output.c_str());
  Result<testing::ExitStatus> status =
      testing::RunToCompletion(std::move(options), std::chrono::seconds(120));
  Result<std::string> text = Env::Default()->ReadFile(output);
  ::unlink(output.c_str());
  const std::string said = text.has_value() ? *text : "";
  if (!status.has_value()) {
    return Unavailable(
        "the schema was not checked: python3 cannot run ({}); install python3 and "
        "python3-jsonschema (scripts/debian-packages.txt)",
        status.error().message());
  }
  if (status->exit_code == 77) {
    return Unavailable("the schema was not checked: {}", said);
  }
  if (!status->success()) return InvalidArgument("inventory does not match the schema:\n{}", said);
  return OkStatus();
}

Status ValidateInventory(const Json& inventory) {
  static int counter = 0;
  const std::string path = ::testing::TempDir() + "ferry_inventory_" + std::to_string(::getpid()) +
                           "_" + std::to_string(counter++) + ".json";
  FERRY_RETURN_IF_ERROR(Env::Default()->WriteFileAtomic(path, inventory.dump(2)));
  Status status = ValidateInventoryFiles({path});
  ::unlink(path.c_str());
  return status;
}

}  // namespace ferry::discover_testing
