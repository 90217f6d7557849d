// Env: the seam between ferry and the operating system: files, time, network, environment
// variables. Everything that touches the outside world goes through an Env so that tests can
// inject faults (a write that fails, a clock that jumps, a connection that is refused) without
// touching the real system (the idea of LevelDB's Env and fault_injection_test).
//
// Thread-safety: every method of every Env in this file may be called from any thread.
#ifndef FERRY_BASE_ENV_H_
#define FERRY_BASE_ENV_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ferry {

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide real environment (POSIX). Never deleted; never null.
  static Env* Default();

  // ---- Files. Errors name the path and the errno text.
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // Writes to a temporary file beside `path`, fsyncs it, and renames it over `path`: readers
  // see either the old or the new content, never a torn one.
  virtual Status WriteFileAtomic(const std::string& path, std::string_view data) = 0;
  virtual Status AppendFile(const std::string& path, std::string_view data) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  // Creates the directory and its missing parents (mode 0755). OK if it exists.
  virtual Status CreateDirs(const std::string& path) = 0;
  // Removes a file or a directory tree. OK if it does not exist.
  virtual Status RemoveAll(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, sorted, without "." and "..".
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;

  // ---- Time.
  // Wall-clock time, microseconds since the Unix epoch (UTC).
  virtual int64_t NowMicros() = 0;
  // A clock that never goes backwards, for durations; its epoch is unspecified.
  virtual int64_t MonotonicMicros() = 0;
  virtual void SleepForMicros(int64_t micros) = 0;

  // ---- Network.
  // Opens a TCP connection; returns the connected socket descriptor, owned by the caller.
  virtual Result<int> ConnectTcp(const std::string& host, uint16_t port, int timeout_ms) = 0;
  // A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
  virtual Result<uint16_t> FreeLoopbackPort() = 0;

  // ---- Process environment.
  virtual std::optional<std::string> GetEnvVar(const std::string& name) = 0;
};

// Forwards every call to a target Env; subclass it to override a few calls.
class EnvWrapper : public Env {
 public:
  // `target` must outlive this wrapper.
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  Result<std::string> ReadFile(const std::string& path) override { return target_->ReadFile(path); }
  Status WriteFileAtomic(const std::string& path, std::string_view data) override {
    return target_->WriteFileAtomic(path, data);
  }
  Status AppendFile(const std::string& path, std::string_view data) override {
    return target_->AppendFile(path, data);
  }
  bool FileExists(const std::string& path) override { return target_->FileExists(path); }
  Result<uint64_t> FileSize(const std::string& path) override { return target_->FileSize(path); }
  Status CreateDirs(const std::string& path) override { return target_->CreateDirs(path); }
  Status RemoveAll(const std::string& path) override { return target_->RemoveAll(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return target_->ListDir(path);
  }
  int64_t NowMicros() override { return target_->NowMicros(); }
  int64_t MonotonicMicros() override { return target_->MonotonicMicros(); }
  void SleepForMicros(int64_t micros) override { target_->SleepForMicros(micros); }
  Result<int> ConnectTcp(const std::string& host, uint16_t port, int timeout_ms) override {
    return target_->ConnectTcp(host, port, timeout_ms);
  }
  Result<uint16_t> FreeLoopbackPort() override { return target_->FreeLoopbackPort(); }
  std::optional<std::string> GetEnvVar(const std::string& name) override {
    return target_->GetEnvVar(name);
  }

 private:
  Env* target_;
};

// An Env for tests: a settable clock, fake environment variables, and injected failures.
// Everything not overridden goes to the target.
class FaultInjectionEnv : public EnvWrapper {
 public:
  explicit FaultInjectionEnv(Env* target) : EnvWrapper(target) {}

  // Freezes the wall and monotonic clocks at `micros`; SleepForMicros then advances them
  // instead of sleeping.
  void SetNowMicros(int64_t micros);
  void AdvanceMicros(int64_t micros);
  // Environment variables seen by GetEnvVar; a set variable hides the real one, an unset one
  // (nullopt) hides it too.
  void SetEnvVar(const std::string& name, std::optional<std::string> value);
  // The next `count` file writes (WriteFileAtomic, AppendFile, CreateDirs) fail with `status`.
  void FailNextWrites(int count, Status status);
  // The next `count` ConnectTcp calls fail with `status`.
  void FailNextConnects(int count, Status status);

  Status WriteFileAtomic(const std::string& path, std::string_view data) override;
  Status AppendFile(const std::string& path, std::string_view data) override;
  Status CreateDirs(const std::string& path) override;
  int64_t NowMicros() override;
  int64_t MonotonicMicros() override;
  void SleepForMicros(int64_t micros) override;
  Result<int> ConnectTcp(const std::string& host, uint16_t port, int timeout_ms) override;
  std::optional<std::string> GetEnvVar(const std::string& name) override;

 private:
  Status TakeWriteFault();

  std::mutex mu_;
  std::optional<int64_t> now_micros_;  // GUARDED_BY(mu_)
  std::vector<std::pair<std::string, std::optional<std::string>>> env_vars_;  // GUARDED_BY(mu_)
  int write_faults_ = 0;                // GUARDED_BY(mu_)
  Status write_fault_status_;           // GUARDED_BY(mu_)
  int connect_faults_ = 0;              // GUARDED_BY(mu_)
  Status connect_fault_status_;         // GUARDED_BY(mu_)
};

}  // namespace ferry

#endif  // FERRY_BASE_ENV_H_
