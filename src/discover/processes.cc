#include "discover/processes.h"

#include <unistd.h>

#include <algorithm>

#include "discover/services.h"

namespace ferry::discover_internal {
namespace {

constexpr uint64_t kPfKthread = 0x00200000;  // PF_KTHREAD, include/linux/sched.h

bool IsPid(std::string_view name) {
  return !name.empty() &&
         std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Seconds since the epoch at which the host booted: /proc/stat's btime.
std::optional<int64_t> BootTime(const HostRoot& root) {
  std::string text;
  if (root.Read("/proc/stat", &text) != 0) return std::nullopt;
  std::optional<int64_t> boot;
  ForEachLine(text, [&](std::string_view line) {
    if (line.starts_with("btime ")) boot = ParseInt(Trim(line.substr(6)));
  });
  return boot;
}

// hidepid=1/2 (or invisible/noaccess) on /proc hides other users' processes entirely.
bool ProcHidesOtherUsers(const HostRoot& root) {
  std::string text;
  if (root.Read("/proc/mounts", &text) != 0) return false;
  bool hidden = false;
  std::vector<std::string_view> fields;
  ForEachLine(text, [&](std::string_view line) {
    SplitBlanks(line, &fields);
    if (fields.size() < 4 || fields[1] != "/proc" || fields[2] != "proc") return;
    for (std::string_view option : Split(fields[3], ',')) {
      if (option.starts_with("hidepid=") && option != "hidepid=0" && option != "hidepid=off") {
        hidden = true;
      }
    }
  });
  return hidden;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// A flag or variable name that holds a secret: "password", "db_passwd", "api-key", "TOKEN"; not
// one that names where a secret is ("password-file", "token_path").
bool NamesSecret(std::string_view name) {
  const std::string lower = Lower(name);
  if (lower.ends_with("file") || lower.ends_with("path") || lower.ends_with("dir")) return false;
  for (std::string_view word :
       {"password", "passwd", "secret", "token", "apikey", "api-key", "api_key", "access-key",
        "access_key", "private-key", "private_key"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

// scheme://user:secret@host -> scheme://user:***@host.
void RedactUrlPassword(std::string* argument) {
  size_t scheme = argument->find("://");
  while (scheme != std::string::npos) {
    const size_t start = scheme + 3;
    const size_t end = argument->find_first_of("/?# ", start);
    const size_t at = argument->rfind('@', end == std::string::npos ? argument->size() : end);
    if (at != std::string::npos && at > start) {
      const size_t colon = argument->find(':', start);
      if (colon != std::string::npos && colon < at && colon + 1 < at) {
        argument->replace(colon + 1, at - colon - 1, "***");
      }
    }
    scheme = argument->find("://", start);
  }
}

}  // namespace

void RedactSecrets(std::vector<std::string>* argv) {
  if (argv->empty()) return;
  std::string_view program = (*argv)[0];
  if (size_t slash = program.rfind('/'); slash != std::string_view::npos) {
    program.remove_prefix(slash + 1);
  }
  const bool mysql_client = program == "mysql" || program == "mariadb" || program == "mysqldump" ||
                            program == "mariadb-dump" || program == "mysqladmin";
  bool next_is_secret = false;
  for (size_t i = 1; i < argv->size(); ++i) {
    std::string& argument = (*argv)[i];
    if (next_is_secret) {
      argument = "***";
      next_is_secret = false;
      continue;
    }
    RedactUrlPassword(&argument);
    const size_t equals = argument.find('=');
    if (mysql_client && argument.starts_with("-p") && argument.size() > 2) {
      argument = "-p***";
    } else if (argument.starts_with("-")) {
      std::string_view name = std::string_view(argument).substr(0, equals);
      while (name.starts_with("-")) name.remove_prefix(1);
      if (NamesSecret(name)) {
        if (equals != std::string::npos) {
          argument.replace(equals + 1, std::string::npos, "***");
        } else {
          next_is_secret = true;
        }
      }
    } else if (equals != std::string::npos && equals > 0 &&
               NamesSecret(std::string_view(argument).substr(0, equals))) {
      argument.replace(equals + 1, std::string::npos, "***");
    }
  }
}

std::string ProcessInfo::ProgramName() const {
  if (exe.has_value() && !exe->empty()) {
    std::string_view path = *exe;
    if (path.ends_with(" (deleted)")) path.remove_suffix(10);
    size_t slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
  }
  return name;
}

std::optional<ProcStat> ParseProcStat(std::string_view text) {
  // "pid (comm) state ppid ...": comm may hold blanks and parentheses, so it ends at the
  // LAST ')'.
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  ProcStat stat;
  stat.comm = text.substr(open + 1, close - open - 1);
  std::vector<std::string_view> fields;
  SplitBlanks(Trim(text.substr(close + 1)), &fields);
  // fields[i] is proc_pid_stat(5)'s field i + 3.
  if (fields.size() < 22 || fields[0].size() != 1) return std::nullopt;
  stat.state = fields[0][0];
  auto ppid = ParseInt(fields[1]);
  auto flags = ParseUint(fields[6]);
  auto utime = ParseUint(fields[11]);
  auto stime = ParseUint(fields[12]);
  auto threads = ParseInt(fields[17]);
  auto start = ParseUint(fields[19]);
  auto rss = ParseInt(fields[21]);
  if (!ppid || !flags || !utime || !stime || !threads || !start || !rss) return std::nullopt;
  stat.ppid = static_cast<int>(*ppid);
  stat.flags = *flags;
  stat.utime_ticks = *utime;
  stat.stime_ticks = *stime;
  stat.threads = *threads;
  stat.start_ticks = *start;
  stat.rss_pages = *rss > 0 ? static_cast<uint64_t>(*rss) : 0;
  return stat;
}

std::optional<uint64_t> SocketInodeOfLink(std::string_view link) {
  if (!link.starts_with("socket:[") || !link.ends_with("]")) return std::nullopt;
  return ParseUint(link.substr(8, link.size() - 9));
}

const ProcessInfo* ProcessScan::Find(int pid) const {
  auto it = std::lower_bound(processes.begin(), processes.end(), pid,
                             [](const ProcessInfo& p, int value) { return p.pid < value; });
  return it != processes.end() && it->pid == pid ? &*it : nullptr;
}

ProcessScan ScanProcesses(const HostRoot& root, const UserNames& users, UnseenLog* unseen) {
  ProcessScan scan;
  std::vector<std::string> entries;
  int error = root.List("/proc", &entries);
  if (error != 0) {
    NoteUnreadable(unseen, "/proc", error, "processes");
    return scan;
  }
  std::vector<int> pids;
  for (const std::string& entry : entries) {
    if (IsPid(entry)) pids.push_back(static_cast<int>(*ParseInt(entry)));
  }
  std::sort(pids.begin(), pids.end());

  const bool as_root = ::geteuid() == 0;
  if (!as_root && root.live() && ProcHidesOtherUsers(root)) {
    unseen->Add("processes of other users",
                "/proc is mounted with hidepid: other users' processes are invisible; run ferry "
                "discover as root");
  }
  const std::optional<int64_t> boot = BootTime(root);
  const long ticks = root.live() ? ::sysconf(_SC_CLK_TCK) : 100;
  const long page = root.live() ? ::sysconf(_SC_PAGESIZE) : 4096;

  std::string buffer, link;
  std::vector<HostRoot::Entry> fds;
  scan.processes.reserve(pids.size());
  for (int pid : pids) {
    const std::string dir = "/proc/" + std::to_string(pid);
    error = root.Read(dir + "/stat", &buffer);
    if (error != 0) {
      if (IsVanished(error)) {
        ++scan.vanished;
      } else {
        NoteUnreadable(unseen, dir + "/stat", error, "some processes (/proc/PID/stat)");
      }
      continue;
    }
    std::optional<ProcStat> stat = ParseProcStat(buffer);
    if (!stat.has_value()) {
      unseen->Add("some processes (/proc/PID/stat)", "unexpected format", dir + "/stat");
      continue;
    }
    if (pid == 1) scan.systemd_pid1 = stat->comm == "systemd";
    if ((stat->flags & kPfKthread) != 0 || pid == 2 || stat->ppid == 2) {
      ++scan.kernel_threads;
      continue;
    }
    ProcessInfo process;
    process.pid = pid;
    process.ppid = stat->ppid;
    process.name = stat->comm;
    process.state = stat->state;
    process.threads = stat->threads;
    process.rss_bytes = stat->rss_pages * static_cast<uint64_t>(page);
    process.cpu_seconds =
        static_cast<double>(stat->utime_ticks + stat->stime_ticks) / static_cast<double>(ticks);
    if (boot.has_value()) {
      process.started_unix =
          *boot + static_cast<int64_t>(stat->start_ticks / static_cast<uint64_t>(ticks));
    }

    // The real uid: status's "Uid:\treal\teffective\tsaved\tfs".
    bool gone = false;
    error = root.Read(dir + "/status", &buffer);
    if (error == 0) {
      ForEachColonField(buffer, [&](std::string_view key, std::string_view value) {
        if (key != "Uid") return;
        std::vector<std::string_view> ids;
        SplitBlanks(value, &ids);
        if (!ids.empty()) process.uid = static_cast<uint32_t>(ParseUint(ids[0]).value_or(0));
      });
    } else {
      gone = IsVanished(error);
    }
    process.user = users.Name(process.uid);

    if (!gone) {
      error = root.Read(dir + "/cmdline", &buffer);
      if (error == 0) {
        std::string_view rest = buffer;
        while (!rest.empty() && rest.back() == '\0') rest.remove_suffix(1);
        if (!rest.empty()) {
          for (std::string_view argument : Split(rest, '\0')) {
            process.cmdline.emplace_back(argument);
          }
          RedactSecrets(&process.cmdline);
        }
      } else {
        gone = IsVanished(error);
      }
    }
    if (!gone) {
      error = root.ReadLink(dir + "/exe", &link);
      if (error == 0) {
        process.exe = link;
      } else if (IsDenied(error)) {
        unseen->Add(as_root ? "executables of some processes (/proc/PID/exe)"
                            : "executables of other users' processes (/proc/PID/exe)",
                    ErrnoText(error) +
                        (as_root ? ": denied even to root: the process is beyond this one's "
                                   "reach (another user namespace, or ptrace restricted by Yama or "
                                   "a security module); its command line is listed"
                                 : ": only root (or CAP_SYS_PTRACE) may read another user's "
                                   "/proc/PID/exe; their command lines are listed; run ferry "
                                   "discover as root for the rest"),
                    dir + "/exe");
      } else if (IsVanished(error) && !root.Exists(dir)) {
        gone = true;  // (a zombie keeps its directory but has no exe: not gone)
      }
    }
    if (!gone && root.Read(dir + "/cgroup", &buffer) == 0) {
      process.unit = UnitOfCgroup(buffer);
      if (!process.unit.empty()) scan.units[process.unit].insert(pid);
    }
    if (!gone) {
      error = root.ListEntries(dir + "/fd", &fds);
      if (error == 0) {
        for (const HostRoot::Entry& fd : fds) {
          if (root.ReadLink(dir + "/fd/" + fd.name, &link) != 0) continue;  // closed meanwhile
          if (auto inode = SocketInodeOfLink(link)) scan.socket_owners[*inode].push_back(pid);
        }
      } else if (IsDenied(error)) {
        ++scan.fd_dirs_unreadable;
        unseen->Add(
            as_root ? "socket owners of some processes (/proc/PID/fd)"
                    : "socket owners of other users' processes (/proc/PID/fd)",
            ErrnoText(error) +
                (as_root ? ": denied even to root (another user namespace, or ptrace restricted "
                           "by Yama or a security module), so their sockets show the owning "
                           "user but no pid"
                         : ": only root (or CAP_SYS_PTRACE) may read another user's /proc/PID/fd, "
                           "so their listening sockets and connections show the owning user but "
                           "no pid; run ferry discover as root to map every socket to its "
                           "process"),
            dir + "/fd");
      } else {
        gone = IsVanished(error);
      }
    }
    if (gone) {
      ++scan.vanished;
      continue;
    }
    scan.processes.push_back(std::move(process));
  }
  for (auto& [inode, owners] : scan.socket_owners) {
    std::sort(owners.begin(), owners.end());
    owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
  }
  return scan;
}

Json ProcessesToJson(const ProcessScan& scan) {
  Json list = Json::array();
  for (const ProcessInfo& p : scan.processes) {
    list.push_back(
        {{"pid", p.pid},
         {"ppid", p.ppid},
         {"uid", p.uid},
         {"user", p.user},
         {"name", p.name},
         {"exe", p.exe.has_value() ? Json(*p.exe) : Json(nullptr)},
         {"cmdline", p.cmdline},
         {"state", std::string(1, p.state)},
         {"threads", p.threads},
         {"rss_bytes", p.rss_bytes},
         {"cpu_seconds", p.cpu_seconds},
         {"started_at", p.started_unix ? Json(IsoTimeUtc(*p.started_unix)) : Json(nullptr)},
         {"unit", p.unit.empty() ? Json(nullptr) : Json(p.unit)}});
  }
  return list;
}

}  // namespace ferry::discover_internal
