// End-of-life dates of operating systems, for the risk register (end-of-life OS) and the
// strategy (encapsulate what is far past its end). The table and its sources are in
// docs/plan.md, "Operating system end of life"; the date is the end of the vendor's standard
// or LTS support, without paid extensions (ESM, ELS, ESU).
//
// Thread-safety: pure functions over a constant table.
#ifndef FERRY_PLAN_OS_LIFECYCLE_H_
#define FERRY_PLAN_OS_LIFECYCLE_H_

#include <optional>
#include <string>
#include <string_view>

namespace ferry::plan {

struct OsLifecycle {
  std::string product;   // "Debian 10 (buster)"
  std::string end_date;  // "2024-06-30"; empty for a legacy platform without a date
  // A platform no public cloud runs as a virtual machine (AIX, HP-UX, Solaris SPARC, z/OS,
  // IBM i): it cannot be rehosted, whatever its support status.
  bool legacy_platform = false;
};

// The lifecycle of os-release ID `os_id` ("debian", "rhel", "windows", ...) at version
// `version_id` ("10", "7.9", "2012r2"); nullopt when the table does not know it.
std::optional<OsLifecycle> FindOsLifecycle(std::string_view os_id, std::string_view version_id);

// Whole days from `today` to `date` (both "YYYY-MM-DD"), negative when `date` is past.
// nullopt when either is not a date.
std::optional<int64_t> DaysUntil(std::string_view today, std::string_view date);

// "YYYY-MM-DD" of a Unix time in microseconds (UTC).
std::string DateOfMicros(int64_t micros);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_OS_LIFECYCLE_H_
