#include "discover/services.h"

#include <dirent.h>

#include <algorithm>
#include <array>
#include <vector>

namespace ferry::discover_internal {
namespace {

// systemd.unit(5), "System Unit Search Path", highest precedence first (the .control and
// .attached directories hold drop-ins and portable services, which are left out).
struct UnitDir {
  std::string_view path;
  bool generated;
};
constexpr std::array<UnitDir, 9> kUnitDirs = {{
    {"/etc/systemd/system", false},
    {"/run/systemd/transient", false},
    {"/run/systemd/generator.early", true},
    {"/run/systemd/system", false},
    {"/run/systemd/generator", true},
    {"/usr/local/lib/systemd/system", false},
    {"/usr/lib/systemd/system", false},
    {"/lib/systemd/system", false},
    {"/run/systemd/generator.late", true},
}};

bool IsListedUnitType(std::string_view name) {
  return name.ends_with(".service") || name.ends_with(".socket") || name.ends_with(".timer");
}

std::string_view UnitType(std::string_view name) { return name.substr(name.rfind('.') + 1); }

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// "getty@tty1.service" -> "getty@.service"; other names unchanged.
std::string TemplateOf(std::string_view name) {
  size_t at = name.find('@');
  size_t dot = name.rfind('.');
  if (at == std::string_view::npos || dot == std::string_view::npos || dot < at) {
    return std::string(name);
  }
  return std::string(name.substr(0, at + 1)) + std::string(name.substr(dot));
}

// Cron ignores files in /etc/cron.d whose names are not [A-Za-z0-9_-]+ (Debian's cron(8)),
// which keeps editor backups and dpkg's .dpkg-old files out.
bool CronRunsFile(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// Splits off `count` blank-separated tokens; returns the rest of the line (trimmed), or nullopt
// when the line has fewer tokens.
std::optional<std::string_view> TakeTokens(std::string_view line, int count,
                                           std::vector<std::string_view>* tokens) {
  tokens->clear();
  size_t i = 0;
  for (int n = 0; n < count; ++n) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == line.size()) return std::nullopt;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    tokens->push_back(line.substr(start, i - start));
  }
  return Trim(line.substr(i));
}

}  // namespace

std::string UnitOfCgroup(std::string_view cgroup_text) {
  std::string unit;
  ForEachLine(cgroup_text, [&](std::string_view line) {
    // "0::/system.slice/nginx.service" (v2) or "1:name=systemd:/system.slice/nginx.service".
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;
    colon = line.find(':', colon + 1);
    if (colon == std::string_view::npos) return;
    std::string_view controllers = line.substr(line.find(':') + 1, colon - line.find(':') - 1);
    if (!controllers.empty() && controllers != "name=systemd") return;
    std::string_view path = line.substr(colon + 1);
    if (!path.starts_with("/system.slice/")) return;
    for (std::string_view part : Split(path, '/')) {
      if (part.ends_with(".service") || part.ends_with(".socket") || part.ends_with(".scope")) {
        unit = std::string(part);
      }
    }
  });
  return unit;
}

UnitFileFacts ParseUnitFile(std::string_view text) {
  UnitFileFacts facts;
  std::string_view section;
  bool install_links = false;
  bool install_also = false;
  ForEachLine(text, [&](std::string_view line) {
    line = Trim(line);
    if (line.empty() || line.front() == '#' || line.front() == ';') return;
    if (line.front() == '[') {
      section = line;
      return;
    }
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) return;
    std::string_view key = Trim(line.substr(0, equals));
    std::string_view value = Trim(line.substr(equals + 1));
    if (section == "[Unit]" && key == "Description") {
      facts.description = value;
    } else if (section == "[Service]" && key == "ExecStart" && facts.exec_start.empty()) {
      // Prefixes such as "-" or "@" change how systemd runs it, not what runs.
      while (!value.empty() &&
             (value.front() == '-' || value.front() == '@' || value.front() == '+' ||
              value.front() == '!' || value.front() == ':')) {
        value.remove_prefix(1);
      }
      facts.exec_start = value;
    } else if (section == "[Service]" && key == "User") {
      facts.user = value;
    } else if (section == "[Install]" && !value.empty()) {
      if (key == "WantedBy" || key == "RequiredBy" || key == "Alias" || key == "UpheldBy") {
        install_links = true;
      } else if (key == "Also") {
        install_also = true;
      }
    }
  });
  facts.has_install = install_links;
  facts.install_only_also = !install_links && install_also;
  return facts;
}

Json ParseCrontab(std::string_view text, const std::string& source, bool system,
                  const std::string& owner) {
  Json jobs = Json::array();
  std::vector<std::string_view> tokens;
  int number = 0;
  ForEachLine(text, [&](std::string_view raw) {
    ++number;
    std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') return;
    // An environment setting, "NAME=value" or "NAME = value" (crontab(5)); schedule fields
    // never hold '='.
    if (size_t equals = line.find('='); equals != std::string_view::npos) {
      std::string_view name = Trim(line.substr(0, equals));
      if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
            return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '_';
          })) {
        return;
      }
    }
    const int schedule_tokens = line.front() == '@' ? 1 : 5;
    auto rest = TakeTokens(line, schedule_tokens + (system ? 1 : 0), &tokens);
    if (!rest.has_value() || rest->empty()) return;
    std::string schedule;
    for (int i = 0; i < schedule_tokens; ++i) {
      if (i > 0) schedule += ' ';
      schedule += tokens[static_cast<size_t>(i)];
    }
    jobs.push_back({{"source", source},
                    {"line", number},
                    {"schedule", schedule},
                    {"user", system ? std::string(tokens.back()) : owner},
                    {"command", std::string(*rest)}});
  });
  return jobs;
}

Json CollectSystemdUnits(const HostRoot& root,
                         const std::map<std::string, std::set<int>>& running_units,
                         bool systemd_pid1, UnseenLog* unseen) {
  // Enablement links: /etc/systemd/system/<target>.wants/<unit> (persistent) and the same under
  // /run (runtime).
  std::set<std::string> enabled, enabled_runtime;
  std::vector<HostRoot::Entry> entries, links;
  for (auto [dir, set] : {std::pair{"/etc/systemd/system", &enabled},
                          std::pair{"/run/systemd/system", &enabled_runtime}}) {
    if (root.ListEntries(dir, &entries) != 0) continue;
    for (const HostRoot::Entry& entry : entries) {
      if (!entry.name.ends_with(".wants") && !entry.name.ends_with(".requires")) continue;
      if (root.ListEntries(std::string(dir) + "/" + entry.name, &links) != 0) continue;
      for (const HostRoot::Entry& link : links) {
        set->insert(link.name);
        set->insert(TemplateOf(link.name));
      }
    }
  }

  std::map<std::string, Json> units;
  std::string buffer, target;
  int files_found = 0;
  for (const UnitDir& dir : kUnitDirs) {
    int error = root.ListEntries(dir.path, &entries);
    if (error != 0) {
      if (!IsVanished(error) && error != ENOTDIR) NoteUnreadable(unseen, dir.path, error);
      continue;
    }
    for (const HostRoot::Entry& entry : entries) {
      if (!IsListedUnitType(entry.name) || units.contains(entry.name)) continue;
      ++files_found;
      const std::string path = std::string(dir.path) + "/" + entry.name;
      std::string enablement;
      std::string alias_of;
      std::string file = path;
      if (root.ReadLink(path, &target) == 0) {
        if (target == "/dev/null") {
          enablement = "masked";
        } else if (BaseName(target) != entry.name) {
          enablement = "alias";
          alias_of = BaseName(target);
        }
        // A link whose target is absolute is a path of the host: read it under the root.
        if (!target.empty() && target.front() == '/') file = target;
      }
      UnitFileFacts facts;
      if (enablement != "masked") {
        int read_error = root.Read(file, &buffer);
        if (read_error == 0) {
          facts = ParseUnitFile(buffer);
        } else if (!IsVanished(read_error)) {
          NoteUnreadable(unseen, file, read_error, "systemd unit files");
        }
      }
      if (enablement.empty()) {
        if (dir.generated) {
          enablement = "generated";
        } else if (dir.path == "/run/systemd/transient") {
          enablement = "transient";
        } else if (enabled.contains(entry.name)) {
          enablement = "enabled";
        } else if (enabled_runtime.contains(entry.name)) {
          enablement = "enabled-runtime";
        } else if (facts.install_only_also) {
          enablement = "indirect";
        } else if (!facts.has_install) {
          enablement = "static";
        } else {
          enablement = "disabled";
        }
      }
      Json running = nullptr;
      Json pids = Json::array();
      if (systemd_pid1) {
        // A template ("postgresql@.service") runs through its instances.
        std::set<int> unit_pids;
        const bool is_template = entry.name.find("@.") != std::string::npos;
        for (const auto& [unit, unit_pid_set] : running_units) {
          if (unit == entry.name || (is_template && TemplateOf(unit) == entry.name)) {
            unit_pids.insert(unit_pid_set.begin(), unit_pid_set.end());
          }
        }
        running = !unit_pids.empty();
        for (int pid : unit_pids) pids.push_back(pid);
      }
      auto text_or_null = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
      units.emplace(entry.name, Json{{"name", entry.name},
                                     {"type", UnitType(entry.name)},
                                     {"path", path},
                                     {"enablement", enablement},
                                     {"alias_of", text_or_null(alias_of)},
                                     {"description", text_or_null(facts.description)},
                                     {"exec_start", text_or_null(facts.exec_start)},
                                     {"user", text_or_null(facts.user)},
                                     {"running", std::move(running)},
                                     {"pids", std::move(pids)}});
    }
  }
  if (files_found > 0) {
    unseen->Add(
        "active state of systemd units",
        systemd_pid1
            ? "only whether a unit has processes (from /proc/PID/cgroup) is known; ActiveState "
              "and SubState (exited, failed, a timer's next run) need systemd's D-Bus API, "
              "which discover does not call; `systemctl list-units` shows them"
            : "systemd is not PID 1 here (a container, or another init): the unit files are "
              "listed, but none runs under systemd");
  }
  Json list = Json::array();
  for (auto& [name, unit] : units) list.push_back(std::move(unit));
  return list;
}

Json CollectCronJobs(const HostRoot& root, UnseenLog* unseen) {
  Json jobs = Json::array();
  std::string text;
  auto add = [&](const Json& more) {
    for (const Json& job : more) jobs.push_back(job);
  };
  int error = root.Read("/etc/crontab", &text);
  if (error == 0) {
    add(ParseCrontab(text, "/etc/crontab", /*system=*/true, ""));
  } else if (!IsVanished(error)) {
    NoteUnreadable(unseen, "/etc/crontab", error);
  }

  std::vector<std::string> names;
  if (root.List("/etc/cron.d", &names) == 0) {
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      if (!CronRunsFile(name)) continue;
      const std::string path = "/etc/cron.d/" + name;
      error = root.Read(path, &text);
      if (error == 0) {
        add(ParseCrontab(text, path, /*system=*/true, ""));
      } else if (!IsVanished(error) && error != EISDIR) {
        NoteUnreadable(unseen, path, error, "system crontabs in /etc/cron.d");
      }
    }
  }

  // run-parts scripts: each one is a job of the schedule its directory is named after.
  for (auto [dir, schedule] :
       {std::pair{"/etc/cron.hourly", "@hourly"}, std::pair{"/etc/cron.daily", "@daily"},
        std::pair{"/etc/cron.weekly", "@weekly"}, std::pair{"/etc/cron.monthly", "@monthly"}}) {
    if (root.List(dir, &names) != 0) continue;
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      if (!CronRunsFile(name)) continue;  // run-parts(8) skips the same names, e.g. .placeholder
      const std::string path = std::string(dir) + "/" + name;
      jobs.push_back({{"source", dir},
                      {"line", nullptr},
                      {"schedule", schedule},
                      {"user", "root"},
                      {"command", path}});
    }
  }

  // Users' crontabs: named after their user, which runs them.
  for (std::string_view dir : {"/var/spool/cron/crontabs", "/var/spool/cron"}) {
    if (!root.Exists(dir)) continue;
    error = root.List(dir, &names);
    if (error != 0) {
      NoteUnreadable(unseen, dir, error,
                     "users' crontabs (" + std::string(dir) + ": only root may list it)");
      break;
    }
    std::sort(names.begin(), names.end());
    bool any_file = false;
    for (const std::string& name : names) {
      const std::string path = std::string(dir) + "/" + name;
      if (name == "crontabs" || root.IsDirectory(path)) continue;
      any_file = true;
      error = root.Read(path, &text);
      if (error == 0) {
        add(ParseCrontab(text, path, /*system=*/false, name));
      } else if (!IsVanished(error)) {
        NoteUnreadable(unseen, path, error, "users' crontabs");
      }
    }
    if (any_file || dir == "/var/spool/cron/crontabs") break;
  }
  return jobs;
}

}  // namespace ferry::discover_internal
