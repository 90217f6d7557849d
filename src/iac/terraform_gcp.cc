// GCP: a custom-mode VPC network with a subnetwork per environment and tier, firewall rules
// between network tags (one tag per subnet; GCP denies other ingress by itself), Compute Engine
// instances, Cloud NAT, and Cloud SQL instances on private service access.
#include <set>

#include <fmt/format.h>

#include "iac/terraform_internal.h"

namespace ferry::iac::internal {
namespace {

void Versions(HclWriter& w, bool sql_server) {
  std::vector<Provider> providers = {{"google", "hashicorp/google", kGoogleProviderVersion}};
  if (sql_server) providers.push_back({"random", "hashicorp/random", kRandomProviderVersion});
  WriteTerraformBlock(w, providers);
  w.Open("provider \"google\"");
  w.Attr("project", "var.project");
  w.Attr("region", "var.region");
  w.Close();
}

void Variables(HclWriter& w, const IacModel& model) {
  Variable(w, "project", "string", "GCP project id (required)", "");
  Variable(w, "region", "string", "GCP region (the one the plan priced)", HclString(model.region));
  Variable(w, "zone", "string", "Zone of the instances (null: the region's first zone)", "null");
  WriteCommonVariables(model, w);
  Variable(w, "images", "map(string)", "Boot image of the instances per architecture",
           HclObject({{"x86_64", HclString("debian-cloud/debian-12")},
                      {"aarch64", HclString("debian-cloud/debian-12-arm64")}}));
  Variable(w, "deletion_protection", "bool",
           "Protect the Cloud SQL instances from `terraform destroy`", "true");
  Variable(w, "database_versions", "map(string)", "Cloud SQL database_version per engine",
           HclObject({{"postgresql", HclString("POSTGRES_16")},
                      {"mysql", HclString("MYSQL_8_0")},
                      {"sqlserver", HclString("SQLSERVER_2019_STANDARD")}}));
}

void Network(HclWriter& w, bool databases) {
  w.Open("resource \"google_compute_network\" \"main\"");
  w.Attr("name", PrefixedLiteral("network"));
  w.Attr("auto_create_subnetworks", "false");
  w.Close();
  w.Open("resource \"google_compute_subnetwork\" \"tier\"");
  w.Attr("for_each", "local.subnets");
  w.Attr("name", PrefixedName("each.key"));
  w.Attr("network", "google_compute_network.main.id");
  w.Attr("region", "var.region");
  w.Attr("ip_cidr_range", "cidrsubnet(var.network_cidr, 8, each.value.netnum)");
  w.Attr("private_ip_google_access", "true");
  w.Close();
  w.Open("data \"google_compute_zones\" \"available\"");
  w.Attr("region", "var.region");
  w.Close();
  w.Open("resource \"google_compute_router\" \"main\"");
  w.Attr("count", "var.nat_gateway ? 1 : 0");
  w.Attr("name", PrefixedLiteral("router"));
  w.Attr("network", "google_compute_network.main.id");
  w.Attr("region", "var.region");
  w.Close();
  w.Open("resource \"google_compute_router_nat\" \"main\"");
  w.Attr("count", "var.nat_gateway ? 1 : 0");
  w.Attr("name", PrefixedLiteral("nat"));
  w.Attr("router", "google_compute_router.main[0].name");
  w.Attr("region", "var.region");
  w.Attr("nat_ip_allocate_option", HclString("AUTO_ONLY"));
  w.Attr("source_subnetwork_ip_ranges_to_nat", HclString("ALL_SUBNETWORKS_ALL_IP_RANGES"));
  w.Close();
  if (databases) {
    w.Comment(
        "Cloud SQL reaches the network through private service access: a reserved range and a "
        "peering.");
    w.Open("resource \"google_compute_global_address\" \"private_services\"");
    w.Attr("name", PrefixedLiteral("private-services"));
    w.Attr("purpose", HclString("VPC_PEERING"));
    w.Attr("address_type", HclString("INTERNAL"));
    w.Attr("prefix_length", "16");
    w.Attr("network", "google_compute_network.main.id");
    w.Close();
    w.Open("resource \"google_service_networking_connection\" \"private_services\"");
    w.Attr("network", "google_compute_network.main.id");
    w.Attr("service", HclString("servicenetworking.googleapis.com"));
    w.Attr("reserved_peering_ranges", "[google_compute_global_address.private_services.name]");
    w.Close();
  }
}

void Security(HclWriter& w) {
  w.Comment(
      "One rule per flow, between the network tags of the tiers (an instance carries its "
      "subnet's tag).\nGCP denies every other ingress by itself.");
  w.Open("resource \"google_compute_firewall\" \"flow\"");
  w.Attr("for_each", "local.flows");
  w.Attr("name", PrefixedName("each.value.name"));
  w.Attr("network", "google_compute_network.main.id");
  w.Attr("description", "each.value.description");
  w.Attr("direction", HclString("INGRESS"));
  w.Open("allow");
  w.Attr("protocol", "each.value.protocol");
  w.Attr("ports", "[tostring(each.value.port)]");
  w.Close();
  w.Attr("source_tags", "[\"${var.name_prefix}-${each.value.from}\"]");
  w.Attr("target_tags", "[\"${var.name_prefix}-${each.value.to}\"]");
  w.Close();
  w.Open("resource \"google_compute_firewall\" \"public\"");
  w.Attr("for_each",
         "{ for key, s in local.subnets : key => s if s.public && "
         "length(var.public_ingress_cidrs) > 0 && length(var.public_ingress_ports) > 0 }");
  w.Attr("name", PrefixedName("each.key", "-public"));
  w.Attr("network", "google_compute_network.main.id");
  w.Attr("direction", HclString("INGRESS"));
  w.Open("allow");
  w.Attr("protocol", HclString("tcp"));
  w.Attr("ports", "[for port in var.public_ingress_ports : tostring(port)]");
  w.Close();
  w.Attr("source_ranges", "var.public_ingress_cidrs");
  w.Attr("target_tags", "[\"${var.name_prefix}-${each.key}\"]");
  w.Close();
}

void Compute(HclWriter& w) {
  w.Open("resource \"google_compute_instance\" \"server\"");
  w.Attr("for_each", "local.selected_machines");
  w.Attr("name", PrefixedName("each.value.name"));
  w.Attr("machine_type", "each.value.instance_type");
  w.Attr("zone", "coalesce(var.zone, data.google_compute_zones.available.names[0])");
  w.Attr("tags", "[\"${var.name_prefix}-${each.value.subnet}\"]");
  w.Open("boot_disk");
  w.Open("initialize_params");
  w.Attr("image", "var.images[each.value.architecture]");
  w.Attr("size", "each.value.storage_gb");
  w.Attr("type", HclString("pd-balanced"));
  w.Close();
  w.Close();
  w.Open("network_interface");
  w.Attr("subnetwork", "google_compute_subnetwork.tier[each.value.subnet].id");
  w.Close();
  w.Attr("labels", HclObject({{"ferry-wave", "tostring(each.value.wave)"},
                              {"ferry-strategy", "each.value.strategy"}}));
  w.Close();
}

void Databases(HclWriter& w, bool sql_server) {
  if (sql_server) {
    w.Comment(
        "Cloud SQL for SQL Server needs a root password from the start (one per database, so "
        "that both\nbranches of root_password below can be evaluated).");
    WriteDatabasePasswords(w, "local.selected_databases");
  }
  w.Open("resource \"google_sql_database_instance\" \"database\"");
  w.Attr("for_each", "local.selected_databases");
  w.Attr("name", PrefixedName("each.value.name"));
  w.Attr("region", "var.region");
  w.Attr("database_version", "var.database_versions[each.value.engine]");
  if (sql_server) {
    w.Attr("root_password",
           "each.value.engine == \"sqlserver\" ? random_password.database[each.key].result : "
           "null");
  }
  w.Attr("deletion_protection", "var.deletion_protection");
  w.Open("settings");
  w.Attr("tier", "each.value.class");
  w.Attr("disk_size", "each.value.storage_gb");
  w.Attr("disk_type", HclString("PD_SSD"));
  w.Attr("availability_type",
         "each.value.environment == \"production\" ? \"REGIONAL\" : \"ZONAL\"");
  w.Open("ip_configuration");
  w.Attr("ipv4_enabled", "false");
  w.Attr("private_network", "google_compute_network.main.id");
  w.Close();
  w.Open("backup_configuration");
  w.Attr("enabled", "true");
  w.Close();
  w.Attr("user_labels", HclObject({{"ferry-wave", "tostring(each.value.wave)"}}));
  w.Close();
  w.Attr("depends_on", "[google_service_networking_connection.private_services]");
  w.Close();
}

void Outputs(HclWriter& w, bool databases) {
  w.Open("output \"network_id\"");
  w.Attr("value", "google_compute_network.main.id");
  w.Close();
  w.Open("output \"subnet_ids\"");
  w.Attr("value", "{ for key, s in google_compute_subnetwork.tier : key => s.id }");
  w.Close();
  w.Open("output \"machines\"");
  w.Attr("description", HclString("Each provisioned server: instance id and private address"));
  w.Attr("value",
         "{ for key, m in google_compute_instance.server : key => { id = m.id, private_ip = "
         "m.network_interface[0].network_ip } }");
  w.Close();
  if (databases) {
    w.Open("output \"databases\"");
    w.Attr("description", HclString("Each Cloud SQL instance's private address"));
    w.Attr("value",
           "{ for key, d in google_sql_database_instance.database : key => d.private_ip_address }");
    w.Close();
  }
}

}  // namespace

void RenderGcp(const IacModel& model, Files& files) {
  bool sql_server = false;
  for (const Resource& r : model.databases) sql_server |= r.engine == "sqlserver";
  const bool databases = !model.databases.empty();
  Versions(files.versions, sql_server);
  Variables(files.variables, model);
  WriteLocals(model, files.locals);
  Network(files.network, databases);
  Security(files.security);
  Compute(files.compute);
  if (databases) Databases(files.databases, sql_server);
  Outputs(files.outputs, databases);
}

}  // namespace ferry::iac::internal
