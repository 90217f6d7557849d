// systemd units and cron jobs. Private to discover.
//
// systemd: the unit files on disk (service, socket and timer units, in systemd.unit(5)'s
// search path order, the first of a name wins) and their enablement, worked out as
// `systemctl is-enabled` does from the files: a link to /dev/null in /etc is "masked", a link
// in an /etc/systemd/system/*.wants or *.requires directory is "enabled" (in /run:
// "enabled-runtime"), a unit without an [Install] section is "static", one whose [Install]
// only names other units (Also=) is "indirect", a unit found under /run/systemd/generator* is
// "generated", a link named differently from its target is an "alias", the rest "disabled".
//
// Whether a unit is running is NOT asked of systemd (that needs its D-Bus API): a unit is
// `running` when a process lives in its control group (/proc/PID/cgroup), which covers
// services with processes and not oneshots that have exited, failed units or timers' next
// elapse. The inventory says so in `unseen`.
//
// cron: /etc/crontab and /etc/cron.d/* (with a user field), the users' crontabs in
// /var/spool/cron/crontabs (Debian) or /var/spool/cron (Red Hat) when readable (the directory
// is root-only: without root they are an `unseen` entry), and the scripts of
// /etc/cron.{hourly,daily,weekly,monthly}.
#ifndef FERRY_DISCOVER_SERVICES_H_
#define FERRY_DISCOVER_SERVICES_H_

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "base/json.h"
#include "discover/host_files.h"
#include "discover/unseen.h"

namespace ferry::discover_internal {

// The systemd unit a process belongs to from its /proc/PID/cgroup text: the last
// "*.service" (or .socket, .scope) component under /system.slice, "" for none.
std::string UnitOfCgroup(std::string_view cgroup_text);

// What a unit file says: {"description", "exec_start", "user", "has_install", "install_only_also"}.
struct UnitFileFacts {
  std::string description;
  std::string exec_start;
  std::string user;
  bool has_install = false;        // an [Install] section with WantedBy/RequiredBy/Alias/UpheldBy
  bool install_only_also = false;  // an [Install] section with Also= only
};
UnitFileFacts ParseUnitFile(std::string_view text);

// One crontab's jobs: [{"source", "line", "schedule", "user", "command"}]. `system` crontabs
// (/etc/crontab, /etc/cron.d) have a user field; a user's crontab runs as `owner`.
Json ParseCrontab(std::string_view text, const std::string& source, bool system,
                  const std::string& owner);

// `running_units`: unit name -> pids, from the process scan. `systemd_pid1`: whether PID 1 is
// systemd (otherwise nothing runs under it and `running` is null).
Json CollectSystemdUnits(const HostRoot& root,
                         const std::map<std::string, std::set<int>>& running_units,
                         bool systemd_pid1, UnseenLog* unseen);
Json CollectCronJobs(const HostRoot& root, UnseenLog* unseen);

}  // namespace ferry::discover_internal

#endif  // FERRY_DISCOVER_SERVICES_H_
