#include "discover/packages.h"

#include <algorithm>
#include <optional>

#include <sqlite3.h>

namespace ferry::discover_internal {
namespace {

// rpm's rpmTag and rpmTagType values (rpm's include/rpm/rpmtag.h).
constexpr uint32_t kTagName = 1000;
constexpr uint32_t kTagVersion = 1001;
constexpr uint32_t kTagRelease = 1002;
constexpr uint32_t kTagEpoch = 1003;
constexpr uint32_t kTagSize = 1009;
constexpr uint32_t kTagArch = 1022;
constexpr uint32_t kTagSourceRpm = 1044;
constexpr uint32_t kTagLongSize = 5009;
constexpr uint32_t kTypeInt32 = 4;
constexpr uint32_t kTypeInt64 = 5;
constexpr uint32_t kTypeString = 6;
constexpr uint32_t kTypeI18nString = 9;

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

bool SortByName(const Json& a, const Json& b) {
  const std::string& name_a = a["name"].get_ref<const std::string&>();
  const std::string& name_b = b["name"].get_ref<const std::string&>();
  if (name_a != name_b) return name_a < name_b;
  return a["architecture"].dump() < b["architecture"].dump();
}

void CollectRpmSqlite(const HostRoot& root, const std::string& path, Json* packages,
                      UnseenLog* unseen) {
  const std::string file = root.Path(path);
  sqlite3* db = nullptr;
  // Read-only, and no lock waits: rpm may be installing something right now.
  int rc = sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* statement = nullptr;
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(db, "SELECT hnum, blob FROM Packages ORDER BY hnum", -1, &statement,
                            nullptr);
  }
  if (rc != SQLITE_OK) {
    unseen->Add("rpm packages (" + path + ")",
                std::string("SQLite cannot read it: ") +
                    (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) +
                    "; run ferry discover as root, or list them with `rpm -qa`",
                path);
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return;
  }
  int bad = 0;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(statement, 1));
    const int size = sqlite3_column_bytes(statement, 1);
    Result<Json> package =
        ParseRpmHeader(std::span<const uint8_t>(data, static_cast<size_t>(std::max(size, 0))));
    if (package.has_value()) {
      packages->push_back(std::move(*package));
    } else {
      ++bad;
      unseen->Add("rpm packages with a damaged header", package.error().message(),
                  path + " hnum " + std::to_string(sqlite3_column_int64(statement, 0)));
    }
  }
  if (rc != SQLITE_DONE) {
    unseen->Add("rpm packages (" + path + ")",
                std::string("SQLite stopped reading: ") + sqlite3_errmsg(db), path);
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
}

}  // namespace

Json ParseDpkgStatus(std::string_view text) {
  Json packages = Json::array();
  std::string name, version, architecture, source, status;
  std::optional<uint64_t> size_kib;
  auto flush = [&] {
    // Status: want flag state; the third word says whether it is on disk.
    std::vector<std::string_view> words;
    SplitBlanks(status, &words);
    const std::string_view state = words.size() == 3 ? words[2] : std::string_view();
    if (!name.empty() && !state.empty() && state != "not-installed" && state != "config-files") {
      // Source may carry the source package's version: "glibc (2.36-9)".
      std::string_view source_name = Trim(std::string_view(source).substr(0, source.find(' ')));
      packages.push_back(
          {{"manager", "dpkg"},
           {"name", name},
           {"version", version},
           {"architecture", architecture.empty() ? Json(nullptr) : Json(architecture)},
           {"source", source_name.empty() ? Json(name) : Json(source_name)},
           {"state", state},
           {"installed_size_bytes", size_kib ? Json(*size_kib * 1024) : Json(nullptr)}});
    }
    name.clear();
    version.clear();
    architecture.clear();
    source.clear();
    status.clear();
    size_kib.reset();
  };
  ForEachLine(text, [&](std::string_view line) {
    if (Trim(line).empty()) {
      flush();
      return;
    }
    if (line.front() == ' ' || line.front() == '\t') return;  // a continuation line
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;
    std::string_view key = line.substr(0, colon);
    std::string_view value = Trim(line.substr(colon + 1));
    if (key == "Package") {
      name = value;
    } else if (key == "Version") {
      version = value;
    } else if (key == "Architecture") {
      architecture = value;
    } else if (key == "Source") {
      source = value;
    } else if (key == "Status") {
      status = value;
    } else if (key == "Installed-Size") {
      size_kib = ParseUint(value);
    }
  });
  flush();
  std::sort(packages.begin(), packages.end(), SortByName);
  return packages;
}

Result<Json> ParseRpmHeader(std::span<const uint8_t> blob) {
  if (blob.size() < 8)
    return Err(InvalidArgument("rpm header of {} bytes is too short", blob.size()));
  const uint64_t entries = BigEndian32(blob.data());
  const uint64_t data_size = BigEndian32(blob.data() + 4);
  const uint64_t index_end = 8 + entries * 16;
  if (index_end + data_size > blob.size()) {
    return Err(InvalidArgument("rpm header claims {} entries and {} data bytes, but has {} bytes",
                               entries, data_size, blob.size()));
  }
  const uint8_t* data = blob.data() + index_end;
  std::string name, version, release, architecture, source;
  std::optional<uint32_t> epoch;
  std::optional<uint64_t> size;
  for (uint64_t i = 0; i < entries; ++i) {
    const uint8_t* entry = blob.data() + 8 + i * 16;
    const uint32_t tag = BigEndian32(entry);
    const uint32_t type = BigEndian32(entry + 4);
    const uint64_t offset = BigEndian32(entry + 8);
    const uint64_t count = BigEndian32(entry + 12);
    if (offset >= data_size) continue;  // region trailers point at the end; nothing we read
    auto string_at = [&]() -> std::optional<std::string> {
      const auto* start = reinterpret_cast<const char*>(data + offset);
      std::string_view rest(start, data_size - offset);
      size_t end = rest.find('\0');
      if (end == std::string_view::npos) return std::nullopt;
      return std::string(rest.substr(0, end));
    };
    auto int32_at = [&]() -> std::optional<uint32_t> {
      if (count < 1 || offset + 4 > data_size) return std::nullopt;
      return BigEndian32(data + offset);
    };
    const bool is_string = type == kTypeString || type == kTypeI18nString;
    std::optional<std::string> text;
    if (is_string) {
      text = string_at();
      if (!text) return Err(InvalidArgument("rpm header tag {}: string without its end", tag));
    }
    switch (tag) {
      case kTagName:
        if (text) name = *text;
        break;
      case kTagVersion:
        if (text) version = *text;
        break;
      case kTagRelease:
        if (text) release = *text;
        break;
      case kTagArch:
        if (text) architecture = *text;
        break;
      case kTagSourceRpm:
        if (text) source = *text;
        break;
      case kTagEpoch:
        if (type == kTypeInt32) epoch = int32_at();
        break;
      case kTagSize:
        if (type == kTypeInt32 && !size) size = int32_at();
        break;
      case kTagLongSize:
        if (type == kTypeInt64 && count >= 1 && offset + 8 <= data_size) {
          size = (uint64_t{BigEndian32(data + offset)} << 32) | BigEndian32(data + offset + 4);
        }
        break;
      default: break;
    }
  }
  if (name.empty()) return Err(InvalidArgument("rpm header without a package name (tag 1000)"));
  std::string full_version = version;
  if (!release.empty()) full_version += "-" + release;
  if (epoch.has_value() && *epoch != 0) full_version = std::to_string(*epoch) + ":" + full_version;
  // SOURCERPM is "name-version-release.src.rpm"; the source package's name is what plan groups
  // by, so drop the version and release (the last two dash-separated parts).
  std::string source_name = source;
  if (source_name.ends_with(".src.rpm")) {
    source_name.resize(source_name.size() - 8);
    for (int i = 0; i < 2; ++i) {
      size_t dash = source_name.rfind('-');
      if (dash != std::string::npos) source_name.resize(dash);
    }
  }
  return Json{{"manager", "rpm"},
              {"name", name},
              {"version", full_version},
              {"architecture", architecture.empty() ? Json(nullptr) : Json(architecture)},
              {"source", source_name.empty() ? Json(name) : Json(source_name)},
              {"state", "installed"},
              {"installed_size_bytes", size ? Json(*size) : Json(nullptr)}};
}

Json CollectPackages(const HostRoot& root, UnseenLog* unseen) {
  Json packages = Json::array();
  std::string text;
  int error = root.Read("/var/lib/dpkg/status", &text);
  if (error == 0) {
    packages = ParseDpkgStatus(text);
  } else if (error != ENOENT) {
    NoteUnreadable(unseen, "/var/lib/dpkg/status", error, "dpkg packages (/var/lib/dpkg/status)");
  }

  Json rpm = Json::array();
  // rpm keeps its database in /var/lib/rpm (Fedora moved it to /usr/lib/sysimage/rpm, with
  // /var/lib/rpm a symbolic link to it).
  bool found = false;
  for (std::string_view dir : {"/var/lib/rpm", "/usr/lib/sysimage/rpm"}) {
    const std::string sqlite = std::string(dir) + "/rpmdb.sqlite";
    if (root.Exists(sqlite)) {
      CollectRpmSqlite(root, sqlite, &rpm, unseen);
      found = true;
      break;
    }
    for (std::string_view legacy : {"/Packages", "/Packages.db"}) {
      const std::string path = std::string(dir) + std::string(legacy);
      if (root.Exists(path)) {
        unseen->Add("rpm packages (" + path + ")",
                    legacy == "/Packages"
                        ? "a BerkeleyDB rpm database (rpm before 4.16: RHEL/CentOS 8 and older), "
                          "which ferry does not read; list them there with `rpm -qa`"
                        : "an ndb rpm database (SUSE), which ferry does not read; list them there "
                          "with `rpm -qa`",
                    path);
        found = true;
      }
    }
    if (found) break;
  }
  std::sort(rpm.begin(), rpm.end(), SortByName);
  for (Json& package : rpm) packages.push_back(std::move(package));
  return packages;
}

}  // namespace ferry::discover_internal
