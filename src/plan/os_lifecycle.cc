#include "plan/os_lifecycle.h"

#include <cctype>
#include <charconv>
#include <cstdint>

#include <fmt/format.h>

namespace ferry::plan {
namespace {

struct Entry {
  std::string_view os_id;
  std::string_view version;  // matched against the version's leading part (see Matches)
  std::string_view product;
  std::string_view end_date;
};

// docs/plan.md, "Operating system end of life", lists the same rows with their sources.
constexpr Entry kTable[] = {
    {"debian", "6", "Debian 6 (squeeze)", "2016-02-29"},
    {"debian", "7", "Debian 7 (wheezy)", "2018-05-31"},
    {"debian", "8", "Debian 8 (jessie)", "2020-06-30"},
    {"debian", "9", "Debian 9 (stretch)", "2022-06-30"},
    {"debian", "10", "Debian 10 (buster)", "2024-06-30"},
    {"debian", "11", "Debian 11 (bullseye)", "2026-08-31"},
    {"debian", "12", "Debian 12 (bookworm)", "2028-06-30"},
    {"ubuntu", "14.04", "Ubuntu 14.04 LTS", "2019-04-30"},
    {"ubuntu", "16.04", "Ubuntu 16.04 LTS", "2021-04-30"},
    {"ubuntu", "18.04", "Ubuntu 18.04 LTS", "2023-05-31"},
    {"ubuntu", "20.04", "Ubuntu 20.04 LTS", "2025-05-31"},
    {"ubuntu", "22.04", "Ubuntu 22.04 LTS", "2027-04-30"},
    {"ubuntu", "24.04", "Ubuntu 24.04 LTS", "2029-04-30"},
    {"rhel", "5", "Red Hat Enterprise Linux 5", "2017-03-31"},
    {"rhel", "6", "Red Hat Enterprise Linux 6", "2020-11-30"},
    {"rhel", "7", "Red Hat Enterprise Linux 7", "2024-06-30"},
    {"rhel", "8", "Red Hat Enterprise Linux 8", "2029-05-31"},
    {"rhel", "9", "Red Hat Enterprise Linux 9", "2032-05-31"},
    {"centos", "5", "CentOS 5", "2017-03-31"},
    {"centos", "6", "CentOS 6", "2020-11-30"},
    {"centos", "7", "CentOS 7", "2024-06-30"},
    {"centos", "8", "CentOS Linux 8", "2021-12-31"},
    {"rocky", "8", "Rocky Linux 8", "2029-05-31"},
    {"rocky", "9", "Rocky Linux 9", "2032-05-31"},
    {"almalinux", "8", "AlmaLinux 8", "2029-05-31"},
    {"almalinux", "9", "AlmaLinux 9", "2032-05-31"},
    {"ol", "6", "Oracle Linux 6", "2021-03-01"},
    {"ol", "7", "Oracle Linux 7", "2024-12-31"},
    {"ol", "8", "Oracle Linux 8", "2029-07-31"},
    {"ol", "9", "Oracle Linux 9", "2032-06-30"},
    {"sles", "11", "SUSE Linux Enterprise Server 11", "2019-03-31"},
    {"sles", "12", "SUSE Linux Enterprise Server 12", "2024-10-31"},
    {"sles", "15", "SUSE Linux Enterprise Server 15", "2031-07-31"},
    {"amzn", "2018", "Amazon Linux AMI 2018.03", "2023-12-31"},
    {"amzn", "2023", "Amazon Linux 2023", "2028-03-15"},
    {"amzn", "2", "Amazon Linux 2", "2026-06-30"},
    {"windows", "2003", "Windows Server 2003", "2015-07-14"},
    {"windows", "2008", "Windows Server 2008 / 2008 R2", "2020-01-14"},
    {"windows", "2012", "Windows Server 2012 / 2012 R2", "2023-10-10"},
    {"windows", "2016", "Windows Server 2016", "2027-01-12"},
    {"windows", "2019", "Windows Server 2019", "2029-01-09"},
    {"windows", "2022", "Windows Server 2022", "2031-10-14"},
};

constexpr std::string_view kLegacyPlatforms[][2] = {
    {"aix", "IBM AIX"},   {"hpux", "HP-UX"},      {"hp-ux", "HP-UX"},      {"solaris", "Solaris"},
    {"sunos", "Solaris"}, {"zos", "IBM z/OS"},    {"z/os", "IBM z/OS"},    {"os400", "IBM i"},
    {"ibmi", "IBM i"},    {"openvms", "OpenVMS"}, {"tru64", "Tru64 UNIX"},
};

std::string Lower(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ' ') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

// "7.9" matches "7"; "20.04.6" matches "20.04"; "2012r2" matches "2012"; "2" does not match
// "2018" or "2023" (the next character must not be a digit).
bool Matches(std::string_view version, std::string_view prefix) {
  if (!version.starts_with(prefix)) return false;
  if (version.size() == prefix.size()) return true;
  return !std::isdigit(static_cast<unsigned char>(version[prefix.size()]));
}

// Days since 1970-01-01 of a civil date (H. Hinnant, "chrono-Compatible Low-Level Date
// Algorithms", days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<int64_t> ParseDate(std::string_view date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return std::nullopt;
  int y = 0;
  unsigned m = 0, d = 0;
  auto ok = [](std::from_chars_result r, const char* end) {
    return r.ec == std::errc() && r.ptr == end;
  };
  if (!ok(std::from_chars(date.data(), date.data() + 4, y), date.data() + 4) ||
      !ok(std::from_chars(date.data() + 5, date.data() + 7, m), date.data() + 7) ||
      !ok(std::from_chars(date.data() + 8, date.data() + 10, d), date.data() + 10) || m < 1 ||
      m > 12 || d < 1 || d > 31) {
    return std::nullopt;
  }
  return DaysFromCivil(y, m, d);
}

}  // namespace

std::optional<OsLifecycle> FindOsLifecycle(std::string_view os_id, std::string_view version_id) {
  const std::string id = Lower(os_id);
  const std::string version = Lower(version_id);
  for (const auto& legacy : kLegacyPlatforms) {
    if (id == legacy[0]) {
      return OsLifecycle{.product = std::string(legacy[1]) +
                                    (version.empty() ? "" : " " + std::string(version_id)),
                         .end_date = "",
                         .legacy_platform = true};
    }
  }
  // "windows" may come as "windows server 2012 r2" in the name and "2012r2" as version, or
  // with the year only in the id ("windows2012").
  std::string_view key_id = id;
  std::string windows_version;
  if (id.starts_with("windows")) {
    key_id = "windows";
    windows_version = version;
    if (windows_version.empty() || !std::isdigit(static_cast<unsigned char>(windows_version[0]))) {
      size_t digit = id.find_first_of("0123456789");
      if (digit != std::string::npos) windows_version = id.substr(digit);
    }
  }
  const std::string_view key_version = key_id == "windows" ? windows_version : version;
  for (const Entry& entry : kTable) {
    if (entry.os_id == key_id && Matches(key_version, entry.version)) {
      return OsLifecycle{.product = std::string(entry.product),
                         .end_date = std::string(entry.end_date),
                         .legacy_platform = false};
    }
  }
  return std::nullopt;
}

std::optional<int64_t> DaysUntil(std::string_view today, std::string_view date) {
  auto from = ParseDate(today);
  auto to = ParseDate(date);
  if (!from || !to) return std::nullopt;
  return *to - *from;
}

std::string DateOfMicros(int64_t micros) {
  int64_t z = micros / 1'000'000 / 86400;
  if (micros < 0 && (micros / 1'000'000) % 86400 != 0) --z;
  // civil_from_days (Hinnant).
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return fmt::format("{:04}-{:02}-{:02}", y + (m <= 2), m, d);
}

}  // namespace ferry::plan
