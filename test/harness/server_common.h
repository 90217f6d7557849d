// What PostgresServer and MariaDbServer share: a private scratch directory per server, a free
// loopback port, the user a server runs as, and database naming. Internal to the harness: tests
// use the servers instead.
#ifndef FERRY_TEST_HARNESS_SERVER_COMMON_H_
#define FERRY_TEST_HARNESS_SERVER_COMMON_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ferry::testing::internal {

// A fresh directory `<$TMPDIR or /tmp>/ferry-harness-<kind>-XXXXXX` (mkdtemp) holding one
// server's data directory, unix socket and logs. It records the creating process's pid in
// `owner.pid`, so that a later run can remove directories left behind by a test process that was
// SIGKILLed (see RemoveAbandonedScratchDirs). Move-only; removed on destruction by the creating
// process only (never by a forked gtest death-test child).
class ScratchDir {
 public:
  // `kind` names the server ("pg", "mariadb"). `user`: when non-empty, the directory is chowned
  // to that user (the server runs as it) and every ancestor must be searchable by others, or
  // FailedPrecondition says which one is not.
  [[nodiscard]] static Result<ScratchDir> Create(std::string_view kind, const std::string& user);

  ScratchDir(ScratchDir&& other) noexcept;
  ScratchDir& operator=(ScratchDir&& other) noexcept;
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();

  const std::string& path() const { return path_; }
  // "<path>/<name>".
  std::string File(std::string_view name) const;
  // Removes the tree now; idempotent.
  [[nodiscard]] Status Remove();

 private:
  ScratchDir(std::string path, pid_t owner) : path_(std::move(path)), owner_pid_(owner) {}

  std::string path_;  // empty once removed or moved from
  pid_t owner_pid_ = 0;
};

// Removes `<tmp>/ferry-harness-*` directories whose owner.pid names a process that no longer
// exists (a test binary that crashed or was killed), whatever server they were for. Best effort:
// errors are ignored. Directories of live processes are never touched. Every server start calls it.
void RemoveAbandonedScratchDirs();

// The user a server should run as: `configured` (normally "nobody") when the test runs as root,
// and "" (the current user) otherwise.
std::string ServerUser(const std::string& configured);

// A database name built from a free-form hint (a test name): lower-cased, every run of characters
// outside [a-z0-9] turned into one '_', "t_" prepended when it would start with a digit or be
// empty, cut to 48 characters, then "_<sequence>". At most 59 characters (PostgreSQL allows 63,
// MariaDB 64); safe unquoted in both and in URLs.
std::string DatabaseNameFromHint(std::string_view hint, int sequence);

// A unix socket path must fit sockaddr_un::sun_path (108 bytes with the terminating NUL).
[[nodiscard]] Status CheckUnixSocketPath(const std::string& path);

}  // namespace ferry::testing::internal

#endif  // FERRY_TEST_HARNESS_SERVER_COMMON_H_
