#include "discover/inventory.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>

#include "base/log.h"
#include "discover/certificates.h"
#include "discover/host_files.h"
#include "discover/network.h"
#include "discover/packages.h"
#include "discover/processes.h"
#include "discover/services.h"
#include "discover/sockets.h"
#include "discover/storage.h"
#include "discover/system_info.h"
#include "discover/unseen.h"

namespace ferry {
namespace {

using namespace discover_internal;  // NOLINT(google-build-using-namespace): this file assembles
                                    // them

std::string CurrentUserName(uid_t uid) {
  passwd entry{};
  passwd* found = nullptr;
  char buffer[4096];
  if (::getpwuid_r(uid, &entry, buffer, sizeof(buffer), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return std::to_string(uid);
}

// Records where nlohmann's parser stopped, as base/json.cc does, to report a byte offset.
class PositionRecorder : public nlohmann::detail::json_sax_dom_parser<Json> {
 public:
  explicit PositionRecorder(Json& result)
      : json_sax_dom_parser(result, /*allow_exceptions_=*/false) {}
  template <typename Exception>
  bool parse_error(size_t position, const std::string& /*last_token*/, const Exception& error) {
    position_ = position;
    what_ = error.what();
    return false;
  }
  size_t position() const { return position_; }
  std::string what() const {
    std::string_view what = what_;
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..." ->
    // "syntax error ...".
    if (size_t colon = what.find(": "); colon != std::string_view::npos) {
      what.remove_prefix(colon + 2);
    }
    return std::string(what);
  }

 private:
  size_t position_ = 0;
  std::string what_;
};

}  // namespace

std::string InventorySchemaVersion() {
  return std::to_string(kInventorySchemaMajor) + "." + std::to_string(kInventorySchemaMinor);
}

Result<Json> DiscoverHost(const DiscoverOptions& options, Env* env) {
  const int64_t started = env->MonotonicMicros();
  HostRoot root(options.root);
  if (!root.IsDirectory("/proc")) {
    return Err(FailedPrecondition(
        "--root {}: {} does not exist; point --root at a directory holding a copy of a host's "
        "/proc, /sys, /etc and /var (or leave it out to inventory this host)",
        root.display(), root.Path("/proc")));
  }
  UnseenLog unseen;
  UserNames users(root);
  const int64_t now_unix = env->NowMicros() / 1'000'000;

  Json inventory;
  inventory["schema_version"] = InventorySchemaVersion();
  inventory["generator"] = {{"name", "ferry"}, {"version", FERRY_VERSION}};
  inventory["source"] = {{"kind", "agent"}, {"root", root.display()}};
  inventory["collected_at"] = IsoTimeUtc(now_unix);
  const uid_t uid = ::geteuid();
  inventory["run_as"] = {{"uid", uid}, {"user", CurrentUserName(uid)}, {"root", uid == 0}};

  // Each section's time goes to stats.section_ms: where a slow host spends it.
  Json section_ms = Json::object();
  int64_t mark = env->MonotonicMicros();
  auto timed = [&](const char* section) {
    const int64_t now = env->MonotonicMicros();
    section_ms[section] = static_cast<double>(now - mark) / 1000.0;
    mark = now;
  };
  inventory["host"] = CollectHost(root, &unseen);
  inventory["os"] = CollectOs(root, &unseen);
  inventory["kernel"] = CollectKernel(root, &unseen);
  inventory["cpu"] = CollectCpu(root, &unseen);
  inventory["memory"] = CollectMemory(root, &unseen);
  timed("system");
  inventory["disks"] = CollectDisks(root, &unseen);
  inventory["filesystems"] = CollectFileSystems(root, &unseen);
  timed("storage");
  inventory["network"] = CollectNetwork(root, &unseen);
  timed("network");
  inventory["packages"] = CollectPackages(root, &unseen);
  timed("packages");

  ProcessScan processes = ScanProcesses(root, users, &unseen);
  inventory["processes"] = ProcessesToJson(processes);
  timed("processes");
  Json sockets = CollectSockets(root, processes, users, &unseen);
  inventory["listening"] = std::move(sockets["listening"]);
  inventory["connections"] = std::move(sockets["connections"]);
  timed("sockets");
  inventory["services"] =
      CollectSystemdUnits(root, processes.units, processes.systemd_pid1, &unseen);
  inventory["cron_jobs"] = CollectCronJobs(root, &unseen);
  timed("services");

  Json certificates = CollectCertificates(root, now_unix, &unseen);
  inventory["certificates"] = std::move(certificates["certificates"]);
  inventory["trust_store"] = std::move(certificates["trust_store"]);
  timed("certificates");

  inventory["unseen"] = unseen.ToJson();
  const double elapsed_ms = static_cast<double>(env->MonotonicMicros() - started) / 1000.0;
  inventory["stats"] = {{"duration_ms", elapsed_ms},
                        {"section_ms", std::move(section_ms)},
                        {"processes", processes.processes.size()},
                        {"processes_vanished", processes.vanished},
                        {"kernel_threads", processes.kernel_threads},
                        {"processes_with_unreadable_fds", processes.fd_dirs_unreadable}};
  return inventory;
}

std::string InventoryHostName(const Json& inventory) {
  if (!inventory.is_object()) return "";
  auto host = inventory.find("host");
  if (host == inventory.end() || !host->is_object()) return "";
  for (const char* key : {"hostname", "external_id"}) {
    auto name = host->find(key);
    if (name != host->end() && name->is_string() && !name->get_ref<const std::string&>().empty()) {
      return name->get<std::string>();
    }
  }
  return "";
}

Result<LoadedInventory> ParseInventory(std::string_view text, const std::string& source) {
  if (discover_internal::Trim(text).empty()) {
    return Err(InvalidArgument(
        "inventory {} is empty ({} bytes): it was cut short or never written; write it again "
        "with `ferry discover --out {}`",
        source, text.size(), source));
  }
  Json document;
  PositionRecorder recorder(document);
  if (!Json::sax_parse(text.begin(), text.end(), &recorder)) {
    const size_t offset =
        std::min(recorder.position() == 0 ? 0 : recorder.position() - 1, text.size());
    std::string_view before = text.substr(0, offset);
    const size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
    const size_t line_start = before.rfind('\n');
    const size_t column = offset - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
    // The parser ran into the end of the text (it counts the end as a character read): the
    // file stops inside a value.
    if (recorder.position() > text.size() ||
        recorder.what().find("unexpected end of input") != std::string::npos) {
      return Err(InvalidArgument(
          "inventory {} is truncated: its JSON stops at byte {} (line {}, column {}) inside an "
          "unfinished value; the file was cut short (a full disk, an interrupted copy): copy it "
          "again or write it again with `ferry discover --out {}`",
          source, text.size(), line, column, source));
    }
    return Err(InvalidArgument(
        "inventory {} is not valid JSON at byte {} (line {}, column {}): {}; it was edited or "
        "damaged: write it again with `ferry discover --out {}`",
        source, offset, line, column, recorder.what(), source));
  }
  if (!document.is_object()) {
    return Err(
        InvalidArgument("inventory {}: the document is a JSON {}, not an object: not an "
                        "inventory written by `ferry discover`",
                        source, document.type_name()));
  }
  auto version = document.find("schema_version");
  if (version == document.end() || !version->is_string()) {
    return Err(InvalidArgument(
        "inventory {} has no `schema_version` string: not an inventory written by `ferry "
        "discover` (or `ferry discover import`); docs/inventory.schema.json describes the format",
        source));
  }
  const auto& text_version = version->get_ref<const std::string&>();
  std::vector<std::string_view> parts = discover_internal::Split(text_version, '.');
  std::optional<int64_t> major, minor;
  if (parts.size() == 2) {
    major = discover_internal::ParseInt(parts[0]);
    minor = discover_internal::ParseInt(parts[1]);
  }
  if (!major || !minor || *major < 0 || *minor < 0) {
    return Err(InvalidArgument(
        "inventory {}: schema_version `{}` is not MAJOR.MINOR (this ferry writes {})", source,
        text_version, InventorySchemaVersion()));
  }
  if (*major > kInventorySchemaMajor) {
    return Err(FailedPrecondition(
        "inventory {} has schema_version {}, newer than this ferry {} reads (schema {}.x): "
        "upgrade ferry to a version that reads schema {}, or write the inventory again with "
        "this ferry's `ferry discover`",
        source, text_version, FERRY_VERSION, kInventorySchemaMajor, *major));
  }
  if (*major < kInventorySchemaMajor) {
    return Err(FailedPrecondition(
        "inventory {} has schema_version {}, older than this ferry reads (schema {}.x): write it "
        "again with `ferry discover`",
        source, text_version, kInventorySchemaMajor));
  }
  LoadedInventory loaded;
  loaded.path = source;
  loaded.major = static_cast<int>(*major);
  loaded.minor = static_cast<int>(*minor);
  if (*minor > kInventorySchemaMinor) {
    loaded.warnings.push_back(fmt::format(
        "inventory {} has schema_version {}, newer than this ferry's {}: it is read, and the "
        "fields added after {} are ignored; upgrade ferry to use them",
        source, text_version, InventorySchemaVersion(), InventorySchemaVersion()));
    LogWarn(loaded.warnings.back());
  }
  loaded.document = std::move(document);
  return loaded;
}

Result<LoadedInventory> ReadInventory(const std::string& path, Env* env) {
  Result<std::string> text = env->ReadFile(path);
  if (!text.has_value()) {
    return Err(Status(text.error().code(),
                      fmt::format("inventory {}: {}; pass the path of a file written by `ferry "
                                  "discover --out FILE`",
                                  path, text.error().message())));
  }
  return ParseInventory(*text, path);
}

}  // namespace ferry
