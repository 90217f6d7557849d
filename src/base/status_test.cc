#include "base/status.h"

#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

namespace ferry {
namespace {

struct CodeMapping {
  StatusCode code;
  std::string_view name;
  int exit_code;
  int http_status;
};

// The contract of every CLI command and API endpoint: one row per canonical code.
constexpr CodeMapping kMappings[] = {
    {StatusCode::kOk, "OK", kExitOk, 200},
    {StatusCode::kCancelled, "CANCELLED", kExitRuntime, 499},
    {StatusCode::kUnknown, "UNKNOWN", kExitRuntime, 500},
    {StatusCode::kInvalidArgument, "INVALID_ARGUMENT", kExitUsage, 400},
    {StatusCode::kDeadlineExceeded, "DEADLINE_EXCEEDED", kExitRuntime, 504},
    {StatusCode::kNotFound, "NOT_FOUND", kExitUsage, 404},
    {StatusCode::kAlreadyExists, "ALREADY_EXISTS", kExitUsage, 409},
    {StatusCode::kPermissionDenied, "PERMISSION_DENIED", kExitUsage, 403},
    {StatusCode::kResourceExhausted, "RESOURCE_EXHAUSTED", kExitRuntime, 429},
    {StatusCode::kFailedPrecondition, "FAILED_PRECONDITION", kExitUsage, 400},
    {StatusCode::kAborted, "ABORTED", kExitRuntime, 409},
    {StatusCode::kOutOfRange, "OUT_OF_RANGE", kExitUsage, 400},
    {StatusCode::kUnimplemented, "UNIMPLEMENTED", kExitUsage, 501},
    {StatusCode::kInternal, "INTERNAL", kExitRuntime, 500},
    {StatusCode::kUnavailable, "UNAVAILABLE", kExitRuntime, 503},
    {StatusCode::kDataLoss, "DATA_LOSS", kExitCheckFailed, 500},
    {StatusCode::kUnauthenticated, "UNAUTHENTICATED", kExitUsage, 401},
};

TEST(StatusTest, EveryCodeMapsToNameExitCodeAndHttpStatus) {
  ASSERT_EQ(std::size(kMappings), 17u);
  for (const CodeMapping& m : kMappings) {
    Status status(m.code, "x");
    SCOPED_TRACE(m.name);
    EXPECT_EQ(StatusCodeName(m.code), m.name);
    EXPECT_EQ(status.ExitCode(), m.exit_code);
    EXPECT_EQ(status.HttpStatus(), m.http_status);
  }
}

TEST(StatusTest, DefaultIsOk) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status, OkStatus());
  EXPECT_EQ(status.ToString(), "OK");
}

TEST(StatusTest, NamedConstructorsFormat) {
  Status status = NotFound("config file {} does not exist", "/etc/ferry.yaml");
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "config file /etc/ferry.yaml does not exist");
  EXPECT_EQ(status.ToString(), "NOT_FOUND: config file /etc/ferry.yaml does not exist");
  EXPECT_EQ(InvalidArgument("{}:{}", "f", 3).ToString(), "INVALID_ARGUMENT: f:3");
}

TEST(StatusTest, WithContextPrefixesAndKeepsCode) {
  Status status = Unavailable("connection refused").WithContext("store postgres://db");
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "store postgres://db: connection refused");
  EXPECT_TRUE(OkStatus().WithContext("ignored").ok());
  EXPECT_EQ(OkStatus().WithContext("ignored").message(), "");
}

Status FailIf(bool fail) {
  if (fail) return Aborted("step failed");
  return OkStatus();
}

Result<int> Half(int value) {
  if (value % 2 != 0) return Err(InvalidArgument("{} is odd", value));
  return value / 2;
}

Status RunSteps(bool fail_first, std::vector<int>* trace) {
  FERRY_RETURN_IF_ERROR(FailIf(fail_first));
  trace->push_back(1);
  FERRY_RETURN_IF_ERROR(FailIf(false));
  trace->push_back(2);
  return OkStatus();
}

Result<int> Quarter(int value) {
  FERRY_ASSIGN_OR_RETURN(int half, Half(value));
  FERRY_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status QuarterInto(int value, int* out) {
  FERRY_RETURN_IF_ERROR(StatusOf(Half(value)));
  FERRY_ASSIGN_OR_RETURN(*out, Quarter(value));
  return OkStatus();
}

Result<std::string> Describe(bool fail) {
  FERRY_RETURN_IF_ERROR(FailIf(fail));
  return std::string("fine");
}

TEST(StatusTest, ReturnIfErrorInFunctionReturningStatus) {
  std::vector<int> trace;
  EXPECT_TRUE(RunSteps(false, &trace).ok());
  EXPECT_EQ(trace, (std::vector<int>{1, 2}));
  trace.clear();
  EXPECT_EQ(RunSteps(true, &trace), Aborted("step failed"));
  EXPECT_TRUE(trace.empty());
}

TEST(StatusTest, ReturnIfErrorInFunctionReturningResult) {
  EXPECT_EQ(Describe(false).value(), "fine");
  EXPECT_EQ(Describe(true).error(), Aborted("step failed"));
}

TEST(StatusTest, AssignOrReturnInFunctionReturningResult) {
  EXPECT_EQ(Quarter(12).value(), 3);
  EXPECT_EQ(Quarter(6).error(), InvalidArgument("3 is odd"));
  EXPECT_EQ(Quarter(7).error(), InvalidArgument("7 is odd"));
}

TEST(StatusTest, AssignOrReturnInFunctionReturningStatus) {
  int out = 0;
  EXPECT_TRUE(QuarterInto(20, &out).ok());
  EXPECT_EQ(out, 5);
  out = 0;
  EXPECT_EQ(QuarterInto(10, &out), InvalidArgument("5 is odd"));
  EXPECT_EQ(out, 0);
}

TEST(StatusTest, StatusOfResult) {
  EXPECT_TRUE(StatusOf(Half(2)).ok());
  EXPECT_EQ(StatusOf(Half(3)).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ferry
