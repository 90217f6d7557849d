// Reading a host's files (procfs, sysfs, /etc, /var/lib) under a root directory, and the small
// text parsers every collector shares. Private to the discover module.
//
// A HostRoot is "/" for the running host, or a directory holding a copy of one (the fixture
// trees of the tests, or a mounted disk image): every path a collector reads is an absolute
// path of the host ("/proc/net/tcp") that HostRoot places under its root.
//
// The reads are plain open/read/close into a caller's buffer: procfs files report a size of 0,
// so nothing here trusts stat, and a collector reuses one buffer for thousands of small files.
// Errors are errno values, not Status, because the collectors sort them into "the process has
// gone" (ENOENT, ESRCH: normal, counted), "not allowed" (EACCES, EPERM: listed as unseen) and
// the rest.
//
// Thread-safety: a HostRoot is immutable; its methods may be called from any thread.
#ifndef FERRY_DISCOVER_HOST_FILES_H_
#define FERRY_DISCOVER_HOST_FILES_H_

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "discover/unseen.h"

namespace ferry::discover_internal {

class HostRoot {
 public:
  // `root`: "/" (or "") for the running host, else a directory. A trailing slash is dropped.
  explicit HostRoot(std::string_view root);

  // True for the running host: only then are live kernel interfaces (getifaddrs, uname,
  // statvfs of the mount points, sysconf) asked instead of files.
  bool live() const { return prefix_.empty(); }
  // "/" or the directory, for messages and the inventory.
  std::string display() const { return prefix_.empty() ? "/" : prefix_; }

  // The path to open for the host's absolute `path`.
  std::string Path(std::string_view path) const;

  // Reads the whole file into *out (cleared first). Returns 0 or the errno of open/read.
  int Read(std::string_view path, std::string* out) const;
  // The target of a symbolic link. Returns 0 or errno (EINVAL: not a link).
  int ReadLink(std::string_view path, std::string* out) const;
  // Names of a directory's entries without "." and "..", in directory order. 0 or errno.
  int List(std::string_view path, std::vector<std::string>* names) const;
  // Like List, with each entry's type (DT_DIR, DT_LNK, DT_REG...; DT_UNKNOWN on file systems
  // that do not say).
  struct Entry {
    std::string name;
    unsigned char type;
  };
  int ListEntries(std::string_view path, std::vector<Entry>* entries) const;
  bool Exists(std::string_view path) const;
  bool IsDirectory(std::string_view path) const;

 private:
  std::string prefix_;  // "" for "/", else the root without a trailing slash
};

// "No such file or directory (ENOENT)": strerror plus the symbolic name, for `unseen` reasons.
std::string ErrnoText(int error);
// True for the errors that mean "this /proc/PID entry belongs to a process that has exited".
inline bool IsVanished(int error) { return error == ENOENT || error == ESRCH; }
// True for "not allowed to read".
inline bool IsDenied(int error) { return error == EACCES || error == EPERM; }

// Records in `unseen` that the host file `path` could not be read (`what` defaults to the
// path), with the errno text and, for a permission error, the way out.
void NoteUnreadable(UnseenLog* unseen, std::string_view path, int error,
                    std::string_view what = {});

// "2026-11-23T09:30:00Z" (RFC 3339, UTC, whole seconds).
std::string IsoTimeUtc(int64_t unix_seconds);

// ---- Text.

std::string_view Trim(std::string_view text);
// Calls f(line) for each line of `text`, without the newline; a last line without one counts.
template <typename F>
void ForEachLine(std::string_view text, F&& f) {
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    f(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}
// Splits on runs of blanks (space, tab) into *fields (cleared first); no empty fields.
void SplitBlanks(std::string_view line, std::vector<std::string_view>* fields);
// Splits on every `separator` (empty fields kept).
std::vector<std::string_view> Split(std::string_view text, char separator);

// Whole-string numbers: nullopt for anything else (empty, sign where none fits, trailing text).
std::optional<int64_t> ParseInt(std::string_view text);
std::optional<uint64_t> ParseUint(std::string_view text);
std::optional<uint64_t> ParseHex(std::string_view text);
std::optional<double> ParseDouble(std::string_view text);

// "KEY=value" lines (os-release, /etc/default/*): values unquoted ('...' or "..." with \"
// escapes), comments and blank lines skipped.
std::unordered_map<std::string, std::string> ParseKeyValueLines(std::string_view text);

// "Key:   value" lines (/proc/meminfo, /proc/PID/status, /proc/cpuinfo blocks): calls
// f(key, value) with both trimmed.
template <typename F>
void ForEachColonField(std::string_view text, F&& f) {
  ForEachLine(text, [&](std::string_view line) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;
    f(Trim(line.substr(0, colon)), Trim(line.substr(colon + 1)));
  });
}

// uid -> user name from the host's /etc/passwd (not NSS: it is the host under the root that
// matters, and NSS may call out to a directory server). Users only a directory knows are
// written as their number.
class UserNames {
 public:
  explicit UserNames(const HostRoot& root);
  // Parses passwd-format text (tests).
  static UserNames FromPasswd(std::string_view passwd);
  // The name, or the uid in decimal when /etc/passwd does not list it.
  std::string Name(uint32_t uid) const;
  std::optional<uint32_t> Uid(std::string_view name) const;

 private:
  UserNames() = default;
  void Parse(std::string_view passwd);
  std::unordered_map<uint32_t, std::string> names_;
};

}  // namespace ferry::discover_internal

#endif  // FERRY_DISCOVER_HOST_FILES_H_
