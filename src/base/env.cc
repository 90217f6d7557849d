#include "base/env.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <system_error>
#include <thread>

namespace ferry {
namespace {

// errno -> canonical code, following Abseil's ErrnoToStatusCode for the values a file or socket
// call can return.
StatusCode CodeForErrno(int error) {
  switch (error) {
    case ENOENT: return StatusCode::kNotFound;
    case EEXIST: return StatusCode::kAlreadyExists;
    case EACCES:
    case EPERM:
    case EROFS: return StatusCode::kPermissionDenied;
    case ENOTDIR:
    case EISDIR:
    case ENOTEMPTY:
    case EBUSY: return StatusCode::kFailedPrecondition;
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM: return StatusCode::kResourceExhausted;
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP: return StatusCode::kInvalidArgument;
    case EIO:
    case ECONNREFUSED:
    case ECONNRESET:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EAGAIN:
    case EINTR: return StatusCode::kUnavailable;
    case ETIMEDOUT: return StatusCode::kDeadlineExceeded;
    default: return StatusCode::kUnknown;
  }
}

std::string ErrnoText(int error) { return std::generic_category().message(error); }

// "<operation> <path>: <strerror>", e.g. "open /etc/ferry.yaml: No such file or directory".
Status PosixError(std::string_view operation, const std::string& path, int error) {
  return Status(CodeForErrno(error), fmt::format("{} {}: {}", operation, path, ErrnoText(error)));
}

// Closes a descriptor on scope exit unless released.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;

  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

Status CloseChecked(ScopedFd& fd, const std::string& path) {
  // close(2) can report a deferred write error (NFS, quota); the descriptor is gone either way.
  if (::close(fd.release()) != 0 && errno != EINTR) return PosixError("close", path, errno);
  return OkStatus();
}

std::string ParentDir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// "host:port", with brackets around an IPv6 literal.
std::string HostPort(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

int64_t ClockMicros(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1'000;
}

class PosixEnv final : public Env {
 public:
  Result<std::string> ReadFile(const std::string& path) override {
    ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return Err(PosixError("open", path, errno));
    std::string data;
    char buffer[64 * 1024];
    while (true) {
      ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Err(PosixError("read", path, errno));
      }
      if (n == 0) break;
      data.append(buffer, static_cast<size_t>(n));
    }
    return data;
  }

  Status WriteFileAtomic(const std::string& path, std::string_view data) override {
    // The temporary name is unique per process and call; O_EXCL guards against a stale file
    // left by a crashed process that had the same pid.
    static std::atomic<uint64_t> sequence{0};
    std::string temp;
    int raw_fd = -1;
    for (int attempt = 0; raw_fd < 0; ++attempt) {
      temp = fmt::format("{}.tmp.{}.{}", path, ::getpid(), sequence.fetch_add(1));
      raw_fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (raw_fd < 0 && (errno != EEXIST || attempt == 100)) {
        return PosixError("create", temp, errno);
      }
    }
    ScopedFd fd(raw_fd);
    Status status = WriteAll(fd.get(), data, temp);
    if (status.ok() && ::fsync(fd.get()) != 0) status = PosixError("fsync", temp, errno);
    if (status.ok()) status = CloseChecked(fd, temp);
    if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
      int error = errno;
      status = Status(CodeForErrno(error),
                      fmt::format("rename {} to {}: {}", temp, path, ErrnoText(error)));
    }
    if (!status.ok()) {
      ::unlink(temp.c_str());
      return status;
    }
    // The rename is durable only once the directory entry is.
    std::string dir = ParentDir(path);
    ScopedFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.get() < 0) return PosixError("open directory", dir, errno);
    if (::fsync(dir_fd.get()) != 0) return PosixError("fsync directory", dir, errno);
    return OkStatus();
  }

  Status AppendFile(const std::string& path, std::string_view data) override {
    ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666));
    if (fd.get() < 0) return PosixError("open", path, errno);
    FERRY_RETURN_IF_ERROR(WriteAll(fd.get(), data, path));
    return CloseChecked(fd, path);
  }

  bool FileExists(const std::string& path) override {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0;
  }

  Result<uint64_t> FileSize(const std::string& path) override {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return Err(PosixError("stat", path, errno));
    return static_cast<uint64_t>(st.st_size);
  }

  Status CreateDirs(const std::string& path) override {
    // Walks the path from the root so that every missing parent is created in turn.
    for (size_t end = path.find('/', 1);; end = path.find('/', end + 1)) {
      std::string prefix = path.substr(0, end);
      if (!prefix.empty() && ::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
        return PosixError("mkdir", prefix, errno);
      }
      if (end == std::string::npos) break;
    }
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return PosixError("stat", path, errno);
    if (!S_ISDIR(st.st_mode)) return PosixError("mkdir", path, ENOTDIR);
    return OkStatus();
  }

  Status RemoveAll(const std::string& path) override {
    // std::filesystem::remove_all does not follow symbolic links, which is what a recursive
    // delete must do to stay inside the tree.
    std::error_code error;
    std::filesystem::remove_all(path, error);
    if (error) return PosixError("remove", path, error.value());
    return OkStatus();
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return Err(PosixError("opendir", path, errno));
    std::vector<std::string> names;
    errno = 0;
    while (dirent* entry = ::readdir(dir)) {
      std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    int read_error = errno;
    ::closedir(dir);
    if (read_error != 0) return Err(PosixError("readdir", path, read_error));
    std::ranges::sort(names);
    return names;
  }

  int64_t NowMicros() override { return ClockMicros(CLOCK_REALTIME); }
  int64_t MonotonicMicros() override { return ClockMicros(CLOCK_MONOTONIC); }

  void SleepForMicros(int64_t micros) override {
    if (micros > 0) std::this_thread::sleep_for(std::chrono::microseconds(micros));
  }

  // The whole call, across every resolved address, is bounded by `timeout_ms` (none when
  // <= 0); name resolution itself is not, since getaddrinfo(3) takes no deadline. The socket
  // is returned in blocking mode.
  Result<int> ConnectTcp(const std::string& host, uint16_t port, int timeout_ms) override {
    const std::string target = HostPort(host, port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* addresses = nullptr;
    int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &addresses);
    if (rc != 0) {
      std::string reason = rc == EAI_SYSTEM ? ErrnoText(errno) : ::gai_strerror(rc);
      return Err(Unavailable("connect {}: cannot resolve host: {}", target, reason));
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(addresses, &::freeaddrinfo);

    const int64_t deadline = MonotonicMicros() + int64_t{timeout_ms} * 1000;
    std::string reason = "no address";
    for (addrinfo* address = addresses; address != nullptr; address = address->ai_next) {
      ScopedFd fd(::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                           address->ai_protocol));
      if (fd.get() < 0) {
        reason = ErrnoText(errno);
        continue;
      }
      int error = 0;
      if (::connect(fd.get(), address->ai_addr, address->ai_addrlen) != 0) error = errno;
      if (error == EINPROGRESS) {
        error = AwaitConnect(fd.get(), timeout_ms > 0 ? deadline : -1);
      }
      if (error == 0) {
        int flags = ::fcntl(fd.get(), F_GETFL);
        ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
        return fd.release();
      }
      reason =
          error == ETIMEDOUT ? fmt::format("timed out after {} ms", timeout_ms) : ErrnoText(error);
      if (error == ETIMEDOUT) break;
    }
    return Err(Unavailable("connect {}: {}", target, reason));
  }

  Result<uint16_t> FreeLoopbackPort() override {
    ScopedFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return Err(PosixError("socket", "127.0.0.1:0", errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      return Err(PosixError("bind", "127.0.0.1:0", errno));
    }
    socklen_t length = sizeof(address);
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return Err(PosixError("getsockname", "127.0.0.1:0", errno));
    }
    return ntohs(address.sin_port);
  }

  std::optional<std::string> GetEnvVar(const std::string& name) override {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  }

 private:
  // Waits for a non-blocking connect to finish; returns its errno (0 on success). A negative
  // deadline waits without limit.
  int AwaitConnect(int fd, int64_t deadline) {
    while (true) {
      int wait_ms = -1;
      if (deadline >= 0) {
        int64_t left = deadline - MonotonicMicros();
        if (left <= 0) return ETIMEDOUT;
        wait_ms = static_cast<int>((left + 999) / 1000);
      }
      pollfd poll_fd{.fd = fd, .events = POLLOUT, .revents = 0};
      int ready = ::poll(&poll_fd, 1, wait_ms);
      if (ready < 0 && errno != EINTR) return errno;
      if (ready > 0) break;
    }
    int error = 0;
    socklen_t length = sizeof(error);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
    return error;
  }
};

}  // namespace

Env* Env::Default() {
  static auto* const kEnv = new PosixEnv();
  return kEnv;
}

// ---- FaultInjectionEnv

void FaultInjectionEnv::SetNowMicros(int64_t micros) {
  std::lock_guard lock(mu_);
  now_micros_ = micros;
}

void FaultInjectionEnv::AdvanceMicros(int64_t micros) {
  // Advancing a clock that is not frozen yet freezes it at the target's time first.
  int64_t base = target()->NowMicros();
  std::lock_guard lock(mu_);
  now_micros_ = now_micros_.value_or(base) + micros;
}

void FaultInjectionEnv::SetEnvVar(const std::string& name, std::optional<std::string> value) {
  std::lock_guard lock(mu_);
  for (auto& [existing, existing_value] : env_vars_) {
    if (existing == name) {
      existing_value = std::move(value);
      return;
    }
  }
  env_vars_.emplace_back(name, std::move(value));
}

void FaultInjectionEnv::FailNextWrites(int count, Status status) {
  std::lock_guard lock(mu_);
  write_faults_ = count;
  write_fault_status_ = std::move(status);
}

void FaultInjectionEnv::FailNextConnects(int count, Status status) {
  std::lock_guard lock(mu_);
  connect_faults_ = count;
  connect_fault_status_ = std::move(status);
}

Status FaultInjectionEnv::TakeWriteFault() {
  std::lock_guard lock(mu_);
  if (write_faults_ <= 0) return OkStatus();
  --write_faults_;
  return write_fault_status_;
}

Status FaultInjectionEnv::WriteFileAtomic(const std::string& path, std::string_view data) {
  FERRY_RETURN_IF_ERROR(TakeWriteFault());
  return EnvWrapper::WriteFileAtomic(path, data);
}

Status FaultInjectionEnv::AppendFile(const std::string& path, std::string_view data) {
  FERRY_RETURN_IF_ERROR(TakeWriteFault());
  return EnvWrapper::AppendFile(path, data);
}

Status FaultInjectionEnv::CreateDirs(const std::string& path) {
  FERRY_RETURN_IF_ERROR(TakeWriteFault());
  return EnvWrapper::CreateDirs(path);
}

int64_t FaultInjectionEnv::NowMicros() {
  {
    std::lock_guard lock(mu_);
    if (now_micros_) return *now_micros_;
  }
  return EnvWrapper::NowMicros();
}

int64_t FaultInjectionEnv::MonotonicMicros() {
  {
    std::lock_guard lock(mu_);
    if (now_micros_) return *now_micros_;
  }
  return EnvWrapper::MonotonicMicros();
}

void FaultInjectionEnv::SleepForMicros(int64_t micros) {
  {
    std::lock_guard lock(mu_);
    if (now_micros_) {
      *now_micros_ += std::max<int64_t>(micros, 0);
      return;
    }
  }
  EnvWrapper::SleepForMicros(micros);
}

Result<int> FaultInjectionEnv::ConnectTcp(const std::string& host, uint16_t port, int timeout_ms) {
  {
    std::lock_guard lock(mu_);
    if (connect_faults_ > 0) {
      --connect_faults_;
      return Err(connect_fault_status_);
    }
  }
  return EnvWrapper::ConnectTcp(host, port, timeout_ms);
}

std::optional<std::string> FaultInjectionEnv::GetEnvVar(const std::string& name) {
  {
    std::lock_guard lock(mu_);
    for (const auto& [existing, value] : env_vars_) {
      if (existing == name) return value;
    }
  }
  return EnvWrapper::GetEnvVar(name);
}

}  // namespace ferry
