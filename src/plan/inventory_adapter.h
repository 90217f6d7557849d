// The one place `plan` reads the inventory JSON of `ferry discover` (docs/inventory.schema.json,
// schema 1.x): a document becomes a Server and its ObservedConnections (estate.h).
//
// What each field becomes (docs/plan.md, "Input"): the hostname names the server; interface
// addresses (no loopback, no link-local) are what other servers' connections match; listening
// services and process names give the roles (database engine included); established
// connections that are not loopback become observed connections (an outbound one: this host is
// the client; an inbound one: the remote address is the client); certificates, the baseline
// (or, for imports, the utilisation another tool reported) and import tags are kept for the
// rules. A `databases` array (a later minor version) gives tables without keys when present.
//
// Thread-safety: pure functions.
#ifndef FERRY_PLAN_INVENTORY_ADAPTER_H_
#define FERRY_PLAN_INVENTORY_ADAPTER_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "plan/estate.h"

namespace ferry::plan {

struct InventoryDocument {
  Json document;
  std::vector<std::string> warnings;  // e.g. a newer minor version (already logged)
};

// Parses one inventory's text and checks its schema version, through discover's reader
// (discover/inventory.h, ParseInventory): errors name `source` and the way out (an empty or
// truncated file, invalid JSON, no schema_version, a newer major version: FailedPrecondition,
// upgrade ferry); a newer minor version is read, with a warning.
[[nodiscard]] Result<InventoryDocument> ParseInventoryDocument(std::string_view text,
                                                               const std::string& source);

// Adds the server of `inventory` to `estate`, with its connections. Fields that are absent or
// null are left unknown; a document that is not an inventory at all (no `host`) is an error.
// The server is named by the inventory (InventoryHostName), else `fallback_name`, else the file
// name in `source`.
[[nodiscard]] Status AddInventory(const Json& inventory, const std::string& source, Estate* estate,
                                  const std::string& fallback_name = {});

}  // namespace ferry::plan

#endif  // FERRY_PLAN_INVENTORY_ADAPTER_H_
