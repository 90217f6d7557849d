// Test support for the discover tests: fixture trees that look like a host's /proc, /sys, /etc
// and /var (read through --root), and validation of inventories against the JSON Schema with an
// independent validator (python3-jsonschema).
#ifndef FERRY_DISCOVER_FIXTURE_H_
#define FERRY_DISCOVER_FIXTURE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace ferry::discover_testing {

// A process as the fixture writes it under /proc/PID.
struct FakeProcess {
  int pid = 0;
  int ppid = 1;
  std::string comm;
  uint32_t uid = 0;
  std::vector<std::string> argv;
  std::string exe;                      // the /proc/PID/exe link target; empty: no link
  std::string cgroup;                   // /proc/PID/cgroup text
  std::vector<uint64_t> socket_inodes;  // fds 3, 4, ... link to socket:[inode]
  uint64_t flags = 0x400100;            // PF_KTHREAD is 0x00200000
  char state = 'S';
  uint64_t utime = 150, stime = 50;  // clock ticks
  uint64_t start_ticks = 1000;       // since boot
  int64_t rss_pages = 256;
  int threads = 1;
};

// A temporary directory laid out like a host's root. Removed (made writable first) on
// destruction.
class FixtureRoot {
 public:
  FixtureRoot();
  ~FixtureRoot();
  FixtureRoot(const FixtureRoot&) = delete;
  FixtureRoot& operator=(const FixtureRoot&) = delete;

  const std::string& path() const { return path_; }
  // The real path of the host path `host_path` ("/etc/passwd").
  std::string Real(std::string_view host_path) const;

  // Writes a file (parents created, 0755); `mode` applies to the file.
  void Write(std::string_view host_path, std::string_view content, mode_t mode = 0644);
  void Link(std::string_view host_path, std::string_view target);
  void Mkdir(std::string_view host_path, mode_t mode = 0755);
  void Chmod(std::string_view host_path, mode_t mode);
  void AddProcess(const FakeProcess& process);

 private:
  std::string path_;
};

// /proc/PID/stat text for a process.
std::string StatLine(const FakeProcess& process);

// A full small host: os-release, cpuinfo, meminfo, mounts, /sys/block, /sys/class/net, routes,
// resolv.conf, dpkg status, systemd units, crontabs and processes with sockets. The values the
// tests expect are in the comments of fixture.cc.
void WriteSampleHost(FixtureRoot& root);

// Validates inventory files with docs/inventory.schema.json through
// src/discover/testdata/validate_inventory.py and python3-jsonschema. OK when valid;
// Unavailable when python3 or jsonschema is missing (callers GTEST_SKIP with the message);
// InvalidArgument listing the schema errors otherwise.
Status ValidateInventoryFiles(const std::vector<std::string>& paths);
// The same for a document in memory (written to a temporary file).
Status ValidateInventory(const Json& inventory);

}  // namespace ferry::discover_testing

// Skips the current test when the validator is missing, fails it when the document is invalid.
#define FERRY_EXPECT_VALID_INVENTORY(status_expr)                   \
  do {                                                              \
    ::ferry::Status ferry_valid_ = (status_expr);                   \
    if (ferry_valid_.code() == ::ferry::StatusCode::kUnavailable) { \
      GTEST_SKIP() << ferry_valid_.message();                       \
    }                                                               \
    EXPECT_TRUE(ferry_valid_.ok()) << ferry_valid_.message();       \
  } while (0)

#endif  // FERRY_DISCOVER_FIXTURE_H_
