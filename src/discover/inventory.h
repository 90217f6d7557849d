// The host inventory: what `ferry discover` writes and `ferry plan` reads. One JSON document
// per host, described by docs/inventory.schema.json and docs/discover.md.
//
//   Result<Json> inventory = DiscoverHost({.root = "/"}, Env::Default());
//   Result<LoadedInventory> loaded = ReadInventory("web01.json", Env::Default());
//
// Versioning: `schema_version` is "MAJOR.MINOR". A minor version only adds optional fields, so
// a reader accepts any minor of its major (warning when it is newer than it knows: the new
// fields are ignored); a new major changes or removes fields, and a reader refuses a newer major
// with a message that says to upgrade ferry.
//
// Thread-safety: the functions are thread-safe; they share no state.
#ifndef FERRY_DISCOVER_INVENTORY_H_
#define FERRY_DISCOVER_INVENTORY_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/json.h"
#include "base/status.h"

namespace ferry {

inline constexpr int kInventorySchemaMajor = 1;
inline constexpr int kInventorySchemaMinor = 0;
// "1.0"
std::string InventorySchemaVersion();

struct DiscoverOptions {
  // The host to inventory: "/" for this one, or a directory holding a copy of a host's /proc,
  // /sys, /etc, /run and /var (tests; a mounted image). Live interfaces (getifaddrs, statvfs of
  // mount points, uname) are asked only for "/".
  std::string root = "/";
};

// Takes the inventory of a host. Never fails for what it cannot read (it is listed in
// `unseen`); FailedPrecondition when `root` holds no /proc at all.
[[nodiscard]] Result<Json> DiscoverHost(const DiscoverOptions& options, Env* env);

// The name of the host an inventory describes, as `ferry plan` names its server and the state
// store keys it: `host.hostname`, else `host.external_id` (imports); "" when it has neither.
std::string InventoryHostName(const Json& inventory);

struct LoadedInventory {
  std::string path;
  Json document;
  int major = 0;
  int minor = 0;
  std::vector<std::string> warnings;  // e.g. a newer minor version; also logged
};

// Reads an inventory written by `ferry discover` (or `ferry discover import`). Errors name the
// file and the way out: NotFound, an empty or truncated file (with the byte offset where it
// ends), invalid JSON (with line, column and byte offset), no schema_version, or a newer major
// version (FailedPrecondition).
[[nodiscard]] Result<LoadedInventory> ReadInventory(const std::string& path, Env* env);
// The same for text already in memory; `source` names it in messages.
[[nodiscard]] Result<LoadedInventory> ParseInventory(std::string_view text,
                                                     const std::string& source);

}  // namespace ferry

#endif  // FERRY_DISCOVER_INVENTORY_H_
