// `ferry catalog import`: the providers' own price files into the catalogue (catalog.h).
//
//   aws    the EC2 bulk offer file (AmazonEC2 offer index.json, best the per-region file
//          .../offers/v1.0/aws/AmazonEC2/current/<region>/index.json): Linux, shared tenancy,
//          no pre-installed software; on demand, and standard reserved "No Upfront" 1yr/3yr.
//          The file is read with a filtering parser: only the kept products stay in memory.
//   azure  pages of the Azure Retail Prices API (https://prices.azure.com/api/retail/prices),
//          as saved JSON: {"Items": [...], "NextPageLink": ...}, or an array of such pages.
//          Linux Virtual Machines: Consumption items (not Spot, not Low Priority) and
//          Reservation items of 1 and 3 years, whose price is for the whole term.
//   gcp    the machine-type file of the shared snapshot (family -> type -> regions -> ondemand,
//          cud-1y, cud-3y; specs: cores, memory).
//
// Instance families: each importer knows the families of its cloud (architecture, burst, and
// for Azure the memory per vCPU, which the Azure file does not carry). A family it does not
// know is skipped with a warning naming it and the file; everything else is imported.
//
// Thread-safety: pure functions.
#ifndef FERRY_PLAN_CATALOG_IMPORT_H_
#define FERRY_PLAN_CATALOG_IMPORT_H_

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/status.h"
#include "plan/catalog.h"

namespace ferry::plan {

struct ImportOptions {
  // Only these regions ("us-east-1", "eastus", "us-central1"); empty: every region in the file.
  std::set<std::string> regions;
  // Only these families ("m6i", "Dsv5", "n2"); empty: every family the importer knows.
  std::set<std::string> families;
};

struct ImportedPrices {
  Cloud cloud = Cloud::kAws;
  std::string source;         // the file(s)
  std::string snapshot_date;  // the file's publication date when it carries one ("" if not)
  std::vector<InstanceType> instances;  // with prices for the imported regions only
  std::vector<std::string> warnings;    // unknown families, odd items; also logged
  int64_t prices = 0;                   // (type, region) on-demand prices imported
  int64_t skipped_items = 0;            // items of the file not imported (other OS, Spot...)
};

// Parses one price file's text; `source` names it in messages.
[[nodiscard]] Result<ImportedPrices> ImportAwsOffer(std::string_view text,
                                                    const std::string& source,
                                                    const ImportOptions& options);
[[nodiscard]] Result<ImportedPrices> ImportAzureRetail(std::string_view text,
                                                       const std::string& source,
                                                       const ImportOptions& options);
[[nodiscard]] Result<ImportedPrices> ImportGcpMachineTypes(std::string_view text,
                                                           const std::string& source,
                                                           const ImportOptions& options);
// Reads `paths` (several pages of one provider) through `env` and imports them as one.
[[nodiscard]] Result<ImportedPrices> ImportPriceFiles(Cloud cloud,
                                                      const std::vector<std::string>& paths,
                                                      const ImportOptions& options, Env* env);

// Merges `imported` into `catalog`'s section for its cloud (created from `fallback` when the
// catalogue has none): the price of each imported (type, region) replaces the old one, new
// types and regions are added, the rest is kept. A new region gets the storage and egress
// rates of the default region, with a warning (appended to `warnings`) to set its own.
void MergeImportedPrices(const ImportedPrices& imported, const CloudCatalog& fallback,
                         const std::string& today, Catalog* catalog,
                         std::vector<std::string>* warnings);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_CATALOG_IMPORT_H_
