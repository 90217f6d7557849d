// Running processes and the sockets each one holds. Private to discover.
//
// One pass over /proc/PID: stat (ppid, state, threads, CPU time, start, RSS), status (real
// uid), cmdline, exe, cgroup (the systemd unit), and the fd directory, whose links name the
// inodes of the process's sockets ("socket:[12345]"). That map from socket inode to pids is
// how sockets.h finds the owner of each socket in /proc/net/{tcp,udp}{,6}: the same join
// `ss -p` and `netstat -p` make, without forking either.
//
// Without root, another user's /proc/PID/fd and /proc/PID/exe are closed (EACCES): the process
// is listed all the same, and the UnseenLog says which parts were not seen. A process that
// exits during the scan (ENOENT, ESRCH on its files) is normal: it is skipped and counted.
// Kernel threads are counted, not listed.
#ifndef FERRY_DISCOVER_PROCESSES_H_
#define FERRY_DISCOVER_PROCESSES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/json.h"
#include "discover/host_files.h"
#include "discover/unseen.h"

namespace ferry::discover_internal {

struct ProcessInfo {
  int pid = 0;
  int ppid = 0;
  uint32_t uid = 0;
  std::string user;
  std::string name;                // comm: the kernel's name, at most 15 bytes
  std::optional<std::string> exe;  // nullopt when not readable
  std::vector<std::string> cmdline;
  char state = '?';
  int64_t threads = 0;
  uint64_t rss_bytes = 0;
  double cpu_seconds = 0;
  std::optional<int64_t> started_unix;  // seconds since the epoch
  std::string unit;                     // systemd unit, "" for none
  bool kernel_thread = false;

  // exe's base name when known (comm is cut at 15 bytes), else comm.
  std::string ProgramName() const;
};

// Fields of /proc/PID/stat. nullopt when the text is not a stat line.
struct ProcStat {
  std::string comm;
  char state = '?';
  int ppid = 0;
  uint64_t flags = 0;
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
  int64_t threads = 0;
  uint64_t start_ticks = 0;  // since boot
  uint64_t rss_pages = 0;
};
std::optional<ProcStat> ParseProcStat(std::string_view text);

// Replaces secrets in a command line by "***": passwords in URLs (scheme://user:secret@host),
// the values of flags named like a secret (--password=x, --token x, --api-key=x...), NAME=value
// words whose NAME says PASSWORD, SECRET or TOKEN, and the MySQL clients' -pSECRET. An inventory
// travels (to plan, to a store, to a report); the secrets of the processes it lists must not.
void RedactSecrets(std::vector<std::string>* argv);

// "socket:[12345]" -> 12345.
std::optional<uint64_t> SocketInodeOfLink(std::string_view link);

struct ProcessScan {
  std::vector<ProcessInfo> processes;  // by pid
  // socket inode -> pids holding it (a socket shared by a master and its workers has several).
  std::unordered_map<uint64_t, std::vector<int>> socket_owners;
  // systemd unit -> pids in its control group.
  std::map<std::string, std::set<int>> units;
  int vanished = 0;  // processes that exited during the scan
  int kernel_threads = 0;
  int fd_dirs_unreadable = 0;  // processes whose sockets could not be mapped
  bool systemd_pid1 = false;

  const ProcessInfo* Find(int pid) const;
};

ProcessScan ScanProcesses(const HostRoot& root, const UserNames& users, UnseenLog* unseen);

// [{"pid", "ppid", "uid", "user", "name", "exe", "cmdline", "state", "threads", "rss_bytes",
//   "cpu_seconds", "started_at", "unit"}]
Json ProcessesToJson(const ProcessScan& scan);

}  // namespace ferry::discover_internal

#endif  // FERRY_DISCOVER_PROCESSES_H_
