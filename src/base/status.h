// Status and Result<T>: how every fallible ferry call reports failure.
//
// A Status is a canonical code plus a message written for the person who must act on it: it
// names the thing, the place and the way out ("store sqlite:///x.db: schema version 9 is newer
// than this ferry (knows 3); upgrade ferry or use another --store"). Codes follow the canonical
// set of gRPC/Abseil so they map one-to-one onto HTTP status codes and CLI exit codes.
//
// Result<T> is std::expected<T, Status>. Both are [[nodiscard]]: ignoring an error is a bug.
// Thread-safety: values; safe to copy between threads.
#ifndef FERRY_BASE_STATUS_H_
#define FERRY_BASE_STATUS_H_

#include <expected>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace ferry {

enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "INVALID_ARGUMENT", ...
std::string_view StatusCodeName(StatusCode code);

// CLI exit codes, the contract of every `ferry` command.
enum ExitCode : int {
  kExitOk = 0,
  kExitCheckFailed = 1,  // a check ran and found differences or corruption
  kExitUsage = 2,        // bad flag, bad configuration, wrong version: the user must change input
  kExitRuntime = 3,      // the environment failed: unreachable server, I/O error, internal bug
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  // Lets FERRY_RETURN_IF_ERROR and Err() serve functions returning Status as well as Result<T>.
  Status(std::unexpected<Status> error)  // NOLINT(google-explicit-constructor)
      : Status(std::move(error.error())) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "NOT_FOUND: config file /etc/ferry.yaml does not exist".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>"; the code is kept.
  Status WithContext(std::string_view context) const;

  // Exit code for a CLI command that ends with this status.
  int ExitCode() const;
  // HTTP status for an API response that carries this status.
  int HttpStatus() const;

  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }

// Constructors named after the code, taking fmt-style arguments:
//   return InvalidArgument("{}:{}: key `{}` expects an integer", file, line, key);
#define FERRY_STATUS_CTOR(Name, Code)                                                  \
  template <typename... Args>                                                          \
  Status Name(fmt::format_string<Args...> format, Args&&... args) {                    \
    return Status(StatusCode::Code, fmt::format(format, std::forward<Args>(args)...)); \
  }
FERRY_STATUS_CTOR(Cancelled, kCancelled)
FERRY_STATUS_CTOR(UnknownError, kUnknown)
FERRY_STATUS_CTOR(InvalidArgument, kInvalidArgument)
FERRY_STATUS_CTOR(DeadlineExceeded, kDeadlineExceeded)
FERRY_STATUS_CTOR(NotFound, kNotFound)
FERRY_STATUS_CTOR(AlreadyExists, kAlreadyExists)
FERRY_STATUS_CTOR(PermissionDenied, kPermissionDenied)
FERRY_STATUS_CTOR(ResourceExhausted, kResourceExhausted)
FERRY_STATUS_CTOR(FailedPrecondition, kFailedPrecondition)
FERRY_STATUS_CTOR(Aborted, kAborted)
FERRY_STATUS_CTOR(OutOfRange, kOutOfRange)
FERRY_STATUS_CTOR(Unimplemented, kUnimplemented)
FERRY_STATUS_CTOR(Internal, kInternal)
FERRY_STATUS_CTOR(Unavailable, kUnavailable)
FERRY_STATUS_CTOR(DataLoss, kDataLoss)
FERRY_STATUS_CTOR(Unauthenticated, kUnauthenticated)
#undef FERRY_STATUS_CTOR

template <typename T>
using Result = std::expected<T, Status>;

// Wraps a Status as the error alternative of a Result: `return Err(NotFound("..."));`
inline std::unexpected<Status> Err(Status status) { return std::unexpected<Status>(std::move(status)); }

// Status of a Result<T> (OK when it holds a value).
template <typename T>
Status StatusOf(const Result<T>& result) {
  return result.has_value() ? OkStatus() : result.error();
}

}  // namespace ferry

// Propagation helpers. FERRY_RETURN_IF_ERROR works in functions returning Status or Result<T>.
#define FERRY_CONCAT_INNER_(a, b) a##b
#define FERRY_CONCAT_(a, b) FERRY_CONCAT_INNER_(a, b)

#define FERRY_RETURN_IF_ERROR(expr)                                           \
  do {                                                                        \
    ::ferry::Status ferry_status_ = (expr);                                   \
    if (!ferry_status_.ok()) return ::ferry::Err(std::move(ferry_status_));   \
  } while (0)

// FERRY_ASSIGN_OR_RETURN(auto x, MaybeX()); declares x from a Result or returns its error.
#define FERRY_ASSIGN_OR_RETURN(lhs, expr) \
  FERRY_ASSIGN_OR_RETURN_IMPL_(FERRY_CONCAT_(ferry_result_, __LINE__), lhs, expr)
#define FERRY_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)       \
  auto tmp = (expr);                                       \
  if (!tmp.has_value()) return ::ferry::Err(std::move(tmp).error()); \
  lhs = std::move(tmp).value()

#endif  // FERRY_BASE_STATUS_H_
