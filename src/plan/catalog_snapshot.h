// The price catalogue snapshot compiled into ferry: the files of data/catalog/, embedded by
// embed_catalog.cmake at build time into catalog_snapshot.cc (in the build directory).
#ifndef FERRY_PLAN_CATALOG_SNAPSHOT_H_
#define FERRY_PLAN_CATALOG_SNAPSHOT_H_

#include <string_view>
#include <vector>

namespace ferry::plan::catalog_internal {

struct SnapshotFile {
  std::string_view name;  // "data/catalog/aws.json"
  std::string_view text;
};

// The embedded files, in the order data/catalog lists them (aws, azure, gcp).
std::vector<SnapshotFile> SnapshotFiles();

}  // namespace ferry::plan::catalog_internal

#endif  // FERRY_PLAN_CATALOG_SNAPSHOT_H_
