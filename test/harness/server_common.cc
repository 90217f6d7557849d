#include "harness/server_common.h"

#include <pwd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <vector>

namespace ferry::testing::internal {
namespace {

constexpr std::string_view kScratchPrefix = "ferry-harness-";

std::string TempRoot() {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string root = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

// A server running as another user must be able to reach its directory.
Status CheckSearchableByOthers(const std::string& dir, const std::string& user) {
  std::filesystem::path path(dir);
  for (std::filesystem::path p = path.parent_path(); !p.empty(); p = p.parent_path()) {
    struct stat st;
    if (stat(p.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
      return FailedPrecondition(
          "directory {} (mode {:o}) is not searchable by user `{}`, which the test database "
          "servers run as (PostgreSQL refuses to run as root); set TMPDIR to a world-searchable "
          "directory such as /tmp",
          p.string(), st.st_mode & 07777, user);
    }
    if (p == p.root_path()) break;
  }
  return OkStatus();
}

}  // namespace

Result<ScratchDir> ScratchDir::Create(std::string_view kind, const std::string& user) {
  std::string templ = fmt::format("{}/{}{}-XXXXXX", TempRoot(), kScratchPrefix, kind);
  if (mkdtemp(templ.data()) == nullptr) {
    return Err(
        Unavailable("cannot create a scratch directory {}: {}; set TMPDIR to a writable "
                    "directory",
                    templ, std::strerror(errno)));
  }
  ScratchDir dir(templ, getpid());
  {
    std::ofstream owner(dir.File("owner.pid"));
    owner << getpid() << "\n";
    if (!owner) return Err(Unavailable("cannot write {}", dir.File("owner.pid")));
  }
  if (!user.empty()) {
    FERRY_RETURN_IF_ERROR(CheckSearchableByOthers(dir.path(), user));
    std::vector<char> buffer(16384);
    struct passwd record;
    struct passwd* entry = nullptr;
    getpwnam_r(user.c_str(), &record, buffer.data(), buffer.size(), &entry);
    if (entry == nullptr) {
      return Err(
          NotFound("user `{}` does not exist; the test database servers run as it when "
                   "the tests run as root",
                   user));
    }
    if (chown(dir.path().c_str(), entry->pw_uid, entry->pw_gid) != 0) {
      return Err(PermissionDenied("chown {} to {}: {}", dir.path(), user, std::strerror(errno)));
    }
  }
  return dir;
}

ScratchDir::ScratchDir(ScratchDir&& other) noexcept
    : path_(std::move(other.path_)), owner_pid_(other.owner_pid_) {
  other.path_.clear();
}

ScratchDir& ScratchDir::operator=(ScratchDir&& other) noexcept {
  if (this != &other) {
    Remove().IgnoreError();
    path_ = std::move(other.path_);
    owner_pid_ = other.owner_pid_;
    other.path_.clear();
  }
  return *this;
}

ScratchDir::~ScratchDir() { Remove().IgnoreError(); }

std::string ScratchDir::File(std::string_view name) const {
  return fmt::format("{}/{}", path_, name);
}

Status ScratchDir::Remove() {
  if (path_.empty() || getpid() != owner_pid_) return OkStatus();
  std::error_code error;
  std::filesystem::remove_all(path_, error);
  if (error) return Internal("removing scratch directory {}: {}", path_, error.message());
  path_.clear();
  return OkStatus();
}

void RemoveAbandonedScratchDirs() {
  std::error_code error;
  std::filesystem::directory_iterator it(TempRoot(), error);
  if (error) return;
  for (const std::filesystem::directory_entry& entry : it) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with(kScratchPrefix) || !entry.is_directory(error)) continue;
    std::ifstream owner_file(entry.path() / "owner.pid");
    int64_t owner = 0;
    if (!(owner_file >> owner) || owner <= 0) continue;
    if (kill(static_cast<pid_t>(owner), 0) == 0 || errno != ESRCH) continue;
    std::filesystem::remove_all(entry.path(), error);
  }
}

std::string ServerUser(const std::string& configured) { return geteuid() == 0 ? configured : ""; }

std::string DatabaseNameFromHint(std::string_view hint, int sequence) {
  std::string name;
  for (char c : hint) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (keep) {
      name += c;
    } else if (!name.empty() && name.back() != '_') {
      name += '_';
    }
    if (name.size() >= 48) break;
  }
  while (!name.empty() && name.back() == '_') name.pop_back();
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) name.insert(0, "t_");
  if (name.size() > 48) name.resize(48);
  return fmt::format("{}_{}", name, sequence);
}

Status CheckUnixSocketPath(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return FailedPrecondition(
        "unix socket path {} is {} bytes, longer than the {} the kernel allows; set TMPDIR to a "
        "shorter directory such as /tmp",
        path, path.size(), sizeof(sockaddr_un::sun_path) - 1);
  }
  return OkStatus();
}

}  // namespace ferry::testing::internal
