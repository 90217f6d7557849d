// The price catalogue: the shipped snapshot, the importers of the providers' own formats (small
// fixture files in those formats, testdata/), unknown families, bad files and merging.
#include "plan/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "plan/catalog_import.h"

namespace ferry::plan {
namespace {

using ::testing::HasSubstr;

std::string Fixture(const std::string& name) {
  Result<std::string> text =
      Env::Default()->ReadFile(std::string(FERRY_PLAN_TESTDATA) + "/" + name);
  EXPECT_TRUE(text.has_value()) << text.error().ToString();
  return text.value_or("");
}

const InstanceType* FindType(const std::vector<InstanceType>& types, std::string_view name) {
  for (const InstanceType& t : types) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

TEST(CatalogTest, TheSnapshotCoversThreeCloudsWithDatesAndSources) {
  const Catalog& catalog = BuiltinCatalog();
  ASSERT_EQ(catalog.clouds.size(), 3u);
  for (const CloudCatalog& cloud : catalog.clouds) {
    SCOPED_TRACE(std::string(CloudName(cloud.cloud)));
    EXPECT_EQ(cloud.snapshot_date.size(), 10u);
    EXPECT_FALSE(cloud.source.empty());
    EXPECT_GE(cloud.regions.size(), 3u);
    EXPECT_TRUE(cloud.regions.contains(cloud.default_region));
    std::set<std::string> families;
    bool arm = false, burstable = false;
    for (const InstanceType& type : cloud.instances) {
      families.insert(type.family);
      arm |= type.architecture == "aarch64";
      burstable |= type.burstable;
      EXPECT_GE(type.vcpus, 1) << type.name;
      EXPECT_GT(type.memory_gib, 0) << type.name;
      EXPECT_TRUE(type.prices.contains(cloud.default_region)) << type.name;
      for (const auto& [region, price] : type.prices) {
        EXPECT_TRUE(cloud.regions.contains(region)) << type.name << " " << region;
        EXPECT_GT(price.on_demand, 0) << type.name;
        if (price.commit_1y) {
          EXPECT_LT(*price.commit_1y, price.on_demand) << type.name;
        }
        if (price.commit_3y && price.commit_1y) {
          EXPECT_LE(*price.commit_3y, *price.commit_1y) << type.name;
        }
      }
    }
    EXPECT_GE(families.size(), 6u);
    EXPECT_TRUE(arm);
    EXPECT_TRUE(burstable);
    for (const auto& [region, rates] : cloud.regions) {
      EXPECT_GT(rates.storage_usd_per_gb_month, 0) << region;
      EXPECT_GT(rates.egress_usd_per_gb, 0) << region;
    }
  }
}

TEST(CatalogTest, WritesAndReadsBackTheSameCatalogue) {
  const Json first = CatalogToJson(BuiltinCatalog());
  Result<Catalog> again = ParseCatalog(first.dump(), "round-trip");
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(CatalogToJson(*again), first);
}

TEST(CatalogTest, ParseErrorsNameThePathAndTheWayOut) {
  auto parse = [](std::string_view text) { return ParseCatalog(text, "cat.json"); };
  Result<Catalog> newer = parse(R"({"catalog_version": 9, "clouds": []})");
  ASSERT_FALSE(newer.has_value());
  EXPECT_EQ(newer.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(newer.error().message(), HasSubstr("upgrade ferry"));
  Result<Catalog> missing = parse(R"({"catalog_version": 1, "clouds": [{"cloud": "aws",
      "snapshot_date": "2024-09-01", "default_region": "r", "regions": {"r": {"storage":
      {"name": "gp3", "usd_per_gb_month": 0.08}, "egress": {"usd_per_gb": 0.09}}},
      "instances": [{"type": "m6i.large", "family": "m6i", "vcpus": 2, "prices": {}}]}]})");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message(), HasSubstr("clouds[0].instances[0].memory_gib"));
  EXPECT_THAT(missing.error().message(), HasSubstr("cat.json"));
  Result<Catalog> truncated = parse(R"({"catalog_version": 1, "clouds": [)");
  ASSERT_FALSE(truncated.has_value());
  EXPECT_THAT(truncated.error().message(), HasSubstr("cat.json"));
  Result<Catalog> cloud = parse(R"({"catalog_version": 1, "clouds": [{"cloud": "oracle"}]})");
  ASSERT_FALSE(cloud.has_value());
  EXPECT_THAT(cloud.error().message(), HasSubstr("aws, azure or gcp"));
}

TEST(CatalogImportTest, AwsBulkOfferKeepsLinuxSharedOnDemandAndNoUpfrontReservations) {
  Result<ImportedPrices> r =
      ImportAwsOffer(Fixture("aws_offer_ec2.json"), "aws_offer_ec2.json", {});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->snapshot_date, "2024-09-12");
  const InstanceType* m6i = FindType(r->instances, "m6i.large");
  ASSERT_NE(m6i, nullptr);
  EXPECT_EQ(m6i->vcpus, 2);
  EXPECT_DOUBLE_EQ(m6i->memory_gib, 8);
  EXPECT_EQ(m6i->architecture, "x86_64");
  // Linux, shared tenancy, no SQL Server: not the Windows, dedicated or SQL prices.
  EXPECT_DOUBLE_EQ(m6i->prices.at("us-east-1").on_demand, 0.096);
  // Standard, no upfront: not the partial-upfront nor the convertible reservation.
  EXPECT_DOUBLE_EQ(*m6i->prices.at("us-east-1").commit_1y, 0.0605);
  EXPECT_DOUBLE_EQ(*m6i->prices.at("us-east-1").commit_3y, 0.0418);
  EXPECT_DOUBLE_EQ(m6i->prices.at("eu-west-1").on_demand, 0.107);
  const InstanceType* t4g = FindType(r->instances, "t4g.micro");
  ASSERT_NE(t4g, nullptr);
  EXPECT_EQ(t4g->architecture, "aarch64");
  EXPECT_TRUE(t4g->burstable);
  const InstanceType* r6i = FindType(r->instances, "r6i.32xlarge");
  ASSERT_NE(r6i, nullptr);
  EXPECT_DOUBLE_EQ(r6i->memory_gib, 1024);  // "1,024 GiB"
  EXPECT_EQ(r->prices, 4);
  // The unknown family: one warning naming it and the file; the rest imported.
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_THAT(r->warnings[0], HasSubstr("`m7i-flex`"));
  EXPECT_THAT(r->warnings[0], HasSubstr("aws_offer_ec2.json"));
  EXPECT_THAT(r->warnings[0], HasSubstr("the rest imported"));
  EXPECT_EQ(FindType(r->instances, "m7i-flex.large"), nullptr);
}

TEST(CatalogImportTest, AwsRegionFilter) {
  Result<ImportedPrices> r =
      ImportAwsOffer(Fixture("aws_offer_ec2.json"), "aws.json", {.regions = {"eu-west-1"}});
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->instances.size(), 1u);
  EXPECT_EQ(r->instances[0].prices.size(), 1u);
  EXPECT_TRUE(r->instances[0].prices.contains("eu-west-1"));
}

TEST(CatalogImportTest, AzureRetailPricesReadsSizesAndReservationTerms) {
  Result<ImportedPrices> r =
      ImportAzureRetail(Fixture("azure_retail_page.json"), "azure_retail_page.json", {});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  const InstanceType* d2 = FindType(r->instances, "Standard_D2s_v5");
  ASSERT_NE(d2, nullptr);
  EXPECT_EQ(d2->family, "Dsv5");
  EXPECT_EQ(d2->vcpus, 2);
  EXPECT_DOUBLE_EQ(d2->memory_gib, 8);
  const InstancePrice& eastus = d2->prices.at("eastus");
  EXPECT_DOUBLE_EQ(eastus.on_demand, 0.096);  // not Windows, Spot or Low Priority
  EXPECT_NEAR(*eastus.commit_1y, 510.0 / 8760, 1e-12);
  EXPECT_NEAR(*eastus.commit_3y, 1000.0 / (3 * 8760), 1e-12);
  EXPECT_DOUBLE_EQ(d2->prices.at("westeurope").on_demand, 0.115);
  EXPECT_DOUBLE_EQ(FindType(r->instances, "Standard_E96s_v5")->memory_gib, 672);
  const InstanceType* b2 = FindType(r->instances, "Standard_B2ms");
  ASSERT_NE(b2, nullptr);
  EXPECT_TRUE(b2->burstable);
  EXPECT_DOUBLE_EQ(b2->memory_gib, 8);
  EXPECT_EQ(FindType(r->instances, "Standard_D2ps_v5")->architecture, "aarch64");
  EXPECT_EQ(FindType(r->instances, "Standard_E16-8s_v5"), nullptr);  // constrained vCPUs
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_THAT(r->warnings[0], HasSubstr("`Lsv3`"));
  EXPECT_THAT(r->warnings[0], HasSubstr("azure_retail_page.json"));
  EXPECT_THAT(r->warnings[0], HasSubstr("2 item(s)"));
}

TEST(CatalogImportTest, AzureAcceptsAnArrayOfPages) {
  const std::string page = Fixture("azure_retail_page.json");
  Result<ImportedPrices> r = ImportAzureRetail("[" + page + "," + page + "]", "pages.json", {});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_NE(FindType(r->instances, "Standard_D2s_v5"), nullptr);
}

TEST(CatalogImportTest, GcpMachineTypes) {
  Result<ImportedPrices> r =
      ImportGcpMachineTypes(Fixture("gcp_machine_types.json"), "gcp_machine_types.json", {});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  const InstanceType* n2 = FindType(r->instances, "n2-standard-2");
  ASSERT_NE(n2, nullptr);
  EXPECT_EQ(n2->prices.size(), 2u);  // us-east5 has no price
  EXPECT_DOUBLE_EQ(*n2->prices.at("us-central1").commit_3y, 0.043703);
  const InstanceType* micro = FindType(r->instances, "e2-micro");
  ASSERT_NE(micro, nullptr);
  EXPECT_TRUE(micro->burstable);
  EXPECT_FALSE(micro->prices.at("us-central1").commit_1y.has_value());
  EXPECT_EQ(FindType(r->instances, "t2a-standard-1")->architecture, "aarch64");
  ASSERT_EQ(r->warnings.size(), 2u);  // a2 (GPU) and g1 (shared core), by name
  EXPECT_THAT(r->warnings[0], HasSubstr("`a2`"));
  EXPECT_THAT(r->warnings[1], HasSubstr("`g1`"));
}

TEST(CatalogImportTest, BadFilesAreErrorsNamingTheFileAndTheWayOut) {
  const std::string aws = Fixture("aws_offer_ec2.json");
  Result<ImportedPrices> truncated =
      ImportAwsOffer(std::string_view(aws).substr(0, aws.size() / 2), "cut.json", {});
  ASSERT_FALSE(truncated.has_value());
  EXPECT_THAT(truncated.error().message(), HasSubstr("cut.json"));
  EXPECT_THAT(truncated.error().message(), HasSubstr("cut short"));
  Result<ImportedPrices> wrong = ImportAwsOffer(Fixture("azure_retail_page.json"), "az.json", {});
  ASSERT_FALSE(wrong.has_value());
  EXPECT_THAT(wrong.error().message(), HasSubstr("not an AWS EC2 bulk offer file"));
  Result<ImportedPrices> not_azure =
      ImportAzureRetail(Fixture("gcp_machine_types.json"), "gcp.json", {});
  ASSERT_FALSE(not_azure.has_value());
  EXPECT_THAT(not_azure.error().message(), HasSubstr("no `Items` array"));
  Result<ImportedPrices> missing =
      ImportPriceFiles(Cloud::kGcp, {"/nonexistent/prices.json"}, {}, Env::Default());
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message(), HasSubstr("/nonexistent/prices.json"));
}

TEST(CatalogImportTest, MergeReplacesImportedPricesAndKeepsTheRest) {
  Catalog catalog = BuiltinCatalog();
  const CloudCatalog before = *catalog.Find(Cloud::kGcp);
  Result<ImportedPrices> r =
      ImportGcpMachineTypes(Fixture("gcp_machine_types.json"), "gcp.json", {});
  ASSERT_TRUE(r.has_value());
  r->snapshot_date = "2024-09-30";
  std::vector<std::string> warnings;
  MergeImportedPrices(*r, before, "2025-01-01", &catalog, &warnings);
  const CloudCatalog& after = *catalog.Find(Cloud::kGcp);
  EXPECT_EQ(after.snapshot_date, "2024-09-30");
  EXPECT_THAT(after.source, HasSubstr("gcp.json"));
  const InstanceType* n2 = FindType(after.instances, "n2-standard-2");
  EXPECT_DOUBLE_EQ(n2->prices.at("us-central1").on_demand, 0.097118);
  EXPECT_TRUE(n2->prices.contains("asia-southeast1"));  // not in the file: kept
  EXPECT_EQ(after.instances.size(), before.instances.size());
  // A region the catalogue did not have gets the default region's rates, with a warning.
  ImportedPrices extra = *r;
  extra.instances = {*FindType(r->instances, "n2-standard-2")};
  extra.instances[0].prices = {{"me-central2", {.on_demand = 0.12}}};
  warnings.clear();
  MergeImportedPrices(extra, before, "2025-01-01", &catalog, &warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("me-central2"));
  EXPECT_TRUE(catalog.Find(Cloud::kGcp)->regions.contains("me-central2"));
}

// The GCP part of the snapshot is the shared September 2024 file through this importer; when
// the file is at hand, importing it again gives the same prices.
TEST(CatalogImportTest, GcpSnapshotMatchesTheSharedFile) {
  const std::string shared =
      std::string(FERRY_SOURCE_DIR) + "/../shared/data/pricing/gcp_instances_2024-09.json";
  if (!Env::Default()->FileExists(shared)) {
    GTEST_SKIP() << shared << " is absent (a clone without ../shared)";
  }
  const CloudCatalog& snapshot = *BuiltinCatalog().Find(Cloud::kGcp);
  ImportOptions options;
  for (const auto& [region, rates] : snapshot.regions) options.regions.insert(region);
  for (const InstanceType& t : snapshot.instances) options.families.insert(t.family);
  Result<ImportedPrices> r = ImportPriceFiles(Cloud::kGcp, {shared}, options, Env::Default());
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->instances.size(), snapshot.instances.size());
  for (const InstanceType& imported : r->instances) {
    const InstanceType* t = FindType(snapshot.instances, imported.name);
    ASSERT_NE(t, nullptr) << imported.name;
    EXPECT_EQ(t->vcpus, imported.vcpus);
    EXPECT_EQ(t->memory_gib, imported.memory_gib);
    for (const auto& [region, price] : imported.prices) {
      EXPECT_EQ(t->prices.at(region).on_demand, price.on_demand) << imported.name << region;
      EXPECT_EQ(t->prices.at(region).commit_1y, price.commit_1y) << imported.name << region;
      EXPECT_EQ(t->prices.at(region).commit_3y, price.commit_3y) << imported.name << region;
    }
  }
}

}  // namespace
}  // namespace ferry::plan
