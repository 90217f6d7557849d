// Installed packages: the dpkg status database, and the rpm database when there is one.
// Private to discover.
//
// dpkg: /var/lib/dpkg/status, deb822 paragraphs (deb-status(5)); a package counts when its
// Status says it is installed (or half-configured, unpacked...: present on disk).
//
// rpm: since rpm 4.16 (Fedora 33, RHEL 9, openSUSE 15.3+ use it) the database is SQLite,
// /var/lib/rpm/rpmdb.sqlite, whose Packages table holds one header blob per package. The blob
// is rpm's header structure without its 8-byte magic (rpm's lib/header.c, headerImport; the
// format is in rpm's docs/manual/format.md "Header"): a big-endian count of index entries, the
// size of the data store, the 16-byte index entries (tag, type, offset, count), then the data.
// SQLite reads the file; the header is parsed here, it is 60 lines. The older BerkeleyDB
// (/var/lib/rpm/Packages) and SUSE's ndb (Packages.db) formats are not read: the inventory says
// so in `unseen`.
#ifndef FERRY_DISCOVER_PACKAGES_H_
#define FERRY_DISCOVER_PACKAGES_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/status.h"
#include "discover/host_files.h"
#include "discover/unseen.h"

namespace ferry::discover_internal {

// [{"manager": "dpkg", "name", "version", "architecture", "source", "state",
//   "installed_size_bytes"}] from status-file text, sorted by name.
Json ParseDpkgStatus(std::string_view text);

// One rpm header blob -> {"manager": "rpm", "name", "version" ("[epoch:]version-release"),
// "architecture", "source", "state": "installed", "installed_size_bytes"}. InvalidArgument when
// the blob is not a well-formed header (an offset past the data, a count that overflows).
[[nodiscard]] Result<Json> ParseRpmHeader(std::span<const uint8_t> blob);

// The packages of every database found under the root. A database that cannot be read is an
// `unseen` entry; no database at all is an empty list.
Json CollectPackages(const HostRoot& root, UnseenLog* unseen);

}  // namespace ferry::discover_internal

#endif  // FERRY_DISCOVER_PACKAGES_H_
