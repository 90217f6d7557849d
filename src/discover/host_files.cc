#include "discover/host_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

namespace ferry::discover_internal {
namespace {

std::string_view ErrnoName(int error) {
  switch (error) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case ELOOP: return "ELOOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    default: return "";
  }
}

}  // namespace

HostRoot::HostRoot(std::string_view root) {
  while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
  if (root != "/" && !root.empty()) prefix_ = std::string(root);
}

std::string HostRoot::Path(std::string_view path) const {
  std::string full;
  full.reserve(prefix_.size() + path.size());
  full.append(prefix_);
  full.append(path);
  return full;
}

int HostRoot::Read(std::string_view path, std::string* out) const {
  out->clear();
  std::string full = Path(path);
  int fd = ::open(full.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buffer[16 * 1024];
  int error = 0;
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      error = errno;
      break;
    }
    if (n == 0) break;
    out->append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return error;
}

int HostRoot::ReadLink(std::string_view path, std::string* out) const {
  std::string full = Path(path);
  char buffer[4096];
  ssize_t n = ::readlink(full.c_str(), buffer, sizeof(buffer));
  if (n < 0) return errno;
  out->assign(buffer, static_cast<size_t>(n));
  return 0;
}

int HostRoot::ListEntries(std::string_view path, std::vector<Entry>* entries) const {
  entries->clear();
  std::string full = Path(path);
  DIR* dir = ::opendir(full.c_str());
  if (dir == nullptr) return errno;
  while (true) {
    errno = 0;
    dirent* entry = ::readdir(dir);
    if (entry == nullptr) break;
    const char* name = entry->d_name;
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
    entries->push_back({name, entry->d_type});
  }
  int error = errno;
  ::closedir(dir);
  return error;
}

int HostRoot::List(std::string_view path, std::vector<std::string>* names) const {
  std::vector<Entry> entries;
  int error = ListEntries(path, &entries);
  names->clear();
  names->reserve(entries.size());
  for (Entry& entry : entries) names->push_back(std::move(entry.name));
  return error;
}

bool HostRoot::Exists(std::string_view path) const {
  struct stat st{};
  return ::lstat(Path(path).c_str(), &st) == 0;
}

bool HostRoot::IsDirectory(std::string_view path) const {
  struct stat st{};
  return ::stat(Path(path).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string ErrnoText(int error) {
  std::string_view name = ErrnoName(error);
  if (name.empty()) return fmt::format("{} (errno {})", std::strerror(error), error);
  return fmt::format("{} ({})", std::strerror(error), name);
}

void NoteUnreadable(UnseenLog* unseen, std::string_view path, int error, std::string_view what) {
  std::string why = ErrnoText(error);
  if (IsDenied(error)) why += "; run ferry discover as root (or as the file's owner) to read it";
  unseen->Add(std::string(what.empty() ? path : what), why, what.empty() ? "" : std::string(path));
}

std::string IsoTimeUtc(int64_t unix_seconds) {
  const auto t = static_cast<time_t>(unix_seconds);
  tm parts{};
  ::gmtime_r(&t, &parts);
  char text[32];
  size_t n = ::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return std::string(text, n);
}

std::string_view Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

void SplitBlanks(std::string_view line, std::vector<std::string_view>* fields) {
  fields->clear();
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == line.size()) break;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    fields->push_back(line.substr(start, i - start));
  }
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return parts;
}

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<uint64_t> ParseUint(std::string_view text) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<uint64_t> ParseHex(std::string_view text) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> ParseDouble(std::string_view text) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::unordered_map<std::string, std::string> ParseKeyValueLines(std::string_view text) {
  std::unordered_map<std::string, std::string> values;
  ForEachLine(text, [&](std::string_view line) {
    line = Trim(line);
    if (line.empty() || line.front() == '#') return;
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) return;
    std::string_view key = Trim(line.substr(0, equals));
    std::string_view raw = Trim(line.substr(equals + 1));
    std::string value;
    if (raw.size() >= 2 && (raw.front() == '"' || raw.front() == '\'') &&
        raw.back() == raw.front()) {
      const char quote = raw.front();
      raw = raw.substr(1, raw.size() - 2);
      for (size_t i = 0; i < raw.size(); ++i) {
        // os-release(5): in double quotes, a backslash escapes $ " \ and `.
        if (quote == '"' && raw[i] == '\\' && i + 1 < raw.size()) ++i;
        value.push_back(raw[i]);
      }
    } else {
      value = std::string(raw);
    }
    values[std::string(key)] = std::move(value);
  });
  return values;
}

UserNames::UserNames(const HostRoot& root) {
  std::string passwd;
  if (root.Read("/etc/passwd", &passwd) == 0) Parse(passwd);
}

UserNames UserNames::FromPasswd(std::string_view passwd) {
  UserNames names;
  names.Parse(passwd);
  return names;
}

void UserNames::Parse(std::string_view passwd) {
  ForEachLine(passwd, [&](std::string_view line) {
    // name:password:uid:gid:gecos:home:shell
    std::vector<std::string_view> fields = Split(line, ':');
    if (fields.size() < 3 || fields[0].empty()) return;
    auto uid = ParseUint(fields[2]);
    if (!uid.has_value() || *uid > UINT32_MAX) return;
    names_.try_emplace(static_cast<uint32_t>(*uid), fields[0]);  // the first line wins, as getpwuid
  });
}

std::string UserNames::Name(uint32_t uid) const {
  auto it = names_.find(uid);
  return it == names_.end() ? std::to_string(uid) : it->second;
}

std::optional<uint32_t> UserNames::Uid(std::string_view name) const {
  for (const auto& [uid, user] : names_) {
    if (user == name) return uid;
  }
  return std::nullopt;
}

}  // namespace ferry::discover_internal
