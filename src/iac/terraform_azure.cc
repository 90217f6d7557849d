// Azure: a resource group and a virtual network with a subnet per environment and tier, a
// network security group per subnet (a rule per flow, then a deny of the rest of the network),
// Linux VMs, flexible servers for PostgreSQL and MySQL (in delegated subnets, with private DNS),
// and Azure SQL Database behind a private endpoint for SQL Server.
#include <functional>
#include <set>

#include <fmt/format.h>

#include "iac/terraform_internal.h"

namespace ferry::iac::internal {
namespace {

constexpr std::string_view kGroup = "azurerm_resource_group.main.name";
constexpr std::string_view kLocation = "azurerm_resource_group.main.location";

void Placed(HclWriter& w) {
  w.Attr("resource_group_name", kGroup);
  w.Attr("location", kLocation);
}

void Versions(HclWriter& w, bool databases) {
  std::vector<Provider> providers = {{"azurerm", "hashicorp/azurerm", kAzureProviderVersion}};
  if (databases) providers.push_back({"random", "hashicorp/random", kRandomProviderVersion});
  WriteTerraformBlock(w, providers);
  w.Open("provider \"azurerm\"");
  w.Open("features");
  w.Close();
  w.Close();
}

void Variables(HclWriter& w, const IacModel& model) {
  Variable(w, "location", "string", "Azure region (the one the plan priced)",
           HclString(model.region));
  WriteCommonVariables(model, w);
  Variable(w, "admin_username", "string", "Administrator of the Linux VMs",
           HclString("ferryadmin"));
  Variable(w, "ssh_public_key", "string",
           "OpenSSH public key of the administrator (required: Azure Linux VMs take no password)",
           "");
  Variable(w, "images", "map(object({ publisher = string, offer = string, sku = string }))",
           "Image of the VMs per architecture (Debian 12 by default)",
           "{ x86_64 = { publisher = \"Debian\", offer = \"debian-12\", sku = \"12-gen2\" }, "
           "aarch64 = { publisher = \"Debian\", offer = \"debian-12\", sku = \"12-arm64\" } }");
  Variable(w, "database_admin_username", "string",
           "Administrator of the databases; its password is generated (random_password) and kept "
           "in the Terraform state: keep the state encrypted",
           HclString("ferryadmin"));
  Variable(w, "database_versions", "map(string)", "Engine version per engine",
           HclObject({{"postgresql", HclString("16")},
                      {"mysql", HclString("8.0.21")},
                      {"sqlserver", HclString("12.0")}}));
}

void Network(HclWriter& w, bool flexible_servers) {
  w.Open("resource \"azurerm_resource_group\" \"main\"");
  w.Attr("name", PrefixedLiteral("migration"));
  w.Attr("location", "var.location");
  w.Close();
  w.Open("resource \"azurerm_virtual_network\" \"main\"");
  w.Attr("name", PrefixedLiteral("vnet"));
  Placed(w);
  w.Attr("address_space", "[var.network_cidr]");
  w.Close();
  w.Open("resource \"azurerm_subnet\" \"tier\"");
  w.Attr("for_each", "local.subnets");
  w.Attr("name", PrefixedName("each.key"));
  w.Attr("resource_group_name", kGroup);
  w.Attr("virtual_network_name", "azurerm_virtual_network.main.name");
  w.Attr("address_prefixes", "[cidrsubnet(var.network_cidr, 8, each.value.netnum)]");
  w.Close();
  if (flexible_servers) {
    w.Comment(
        "Flexible servers live in subnets delegated to their service, one per environment and "
        "engine,\nresolved through a private DNS zone per engine.");
    w.Open("resource \"azurerm_subnet\" \"database\"");
    w.Attr("for_each", "local.database_subnets");
    w.Attr("name", PrefixedName("each.key"));
    w.Attr("resource_group_name", kGroup);
    w.Attr("virtual_network_name", "azurerm_virtual_network.main.name");
    w.Attr("address_prefixes", "[cidrsubnet(var.network_cidr, 8, each.value.netnum)]");
    w.Open("delegation");
    w.Attr("name", HclString("flexible-server"));
    w.Open("service_delegation");
    w.Attr("name", "each.value.delegation");
    w.Attr("actions", "[\"Microsoft.Network/virtualNetworks/subnets/join/action\"]");
    w.Close();
    w.Close();
    w.Close();
    w.Open("resource \"azurerm_private_dns_zone\" \"database\"");
    w.Attr("for_each", "local.database_dns_zones");
    w.Attr("name", "each.value");
    w.Attr("resource_group_name", kGroup);
    w.Close();
    w.Open("resource \"azurerm_private_dns_zone_virtual_network_link\" \"database\"");
    w.Attr("for_each", "local.database_dns_zones");
    w.Attr("name", PrefixedName("each.key", "-link"));
    w.Attr("resource_group_name", kGroup);
    w.Attr("private_dns_zone_name", "azurerm_private_dns_zone.database[each.key].name");
    w.Attr("virtual_network_id", "azurerm_virtual_network.main.id");
    w.Close();
  }
  w.Open("resource \"azurerm_public_ip\" \"nat\"");
  w.Attr("count", "var.nat_gateway ? 1 : 0");
  w.Attr("name", PrefixedLiteral("nat"));
  Placed(w);
  w.Attr("allocation_method", HclString("Static"));
  w.Attr("sku", HclString("Standard"));
  w.Close();
  w.Open("resource \"azurerm_nat_gateway\" \"main\"");
  w.Attr("count", "var.nat_gateway ? 1 : 0");
  w.Attr("name", PrefixedLiteral("nat"));
  Placed(w);
  w.Attr("sku_name", HclString("Standard"));
  w.Close();
  w.Open("resource \"azurerm_nat_gateway_public_ip_association\" \"main\"");
  w.Attr("count", "var.nat_gateway ? 1 : 0");
  w.Attr("nat_gateway_id", "azurerm_nat_gateway.main[0].id");
  w.Attr("public_ip_address_id", "azurerm_public_ip.nat[0].id");
  w.Close();
  w.Open("resource \"azurerm_subnet_nat_gateway_association\" \"tier\"");
  // A filter, not `var.nat_gateway ? local.subnets : {}`: the two sides of a conditional must
  // have one type, and an object of subnets and an empty object do not.
  w.Attr("for_each", "{ for key, s in local.subnets : key => s if var.nat_gateway }");
  w.Attr("subnet_id", "azurerm_subnet.tier[each.key].id");
  w.Attr("nat_gateway_id", "azurerm_nat_gateway.main[0].id");
  w.Close();
}

void Security(HclWriter& w, bool flexible_servers) {
  w.Open("locals");
  w.Comment("Public ingress rules take priorities from 3000, below every flow's.");
  w.Attr("public_ingress",
         "{ for i, t in setproduct([for key, s in local.subnets : key if s.public], "
         "var.public_ingress_ports, var.public_ingress_cidrs) : \"${t[0]}-${t[1]}-${t[2]}\" => "
         "{ subnet = t[0], port = t[1], cidr = t[2], priority = 3000 + i } }");
  w.Close();
  w.Open("resource \"azurerm_network_security_group\" \"tier\"");
  w.Attr("for_each", "local.subnets");
  w.Attr("name", PrefixedName("each.key"));
  Placed(w);
  w.Close();
  w.Open("resource \"azurerm_subnet_network_security_group_association\" \"tier\"");
  w.Attr("for_each", "local.subnets");
  w.Attr("subnet_id", "azurerm_subnet.tier[each.key].id");
  w.Attr("network_security_group_id", "azurerm_network_security_group.tier[each.key].id");
  w.Close();
  if (flexible_servers) {
    w.Open("resource \"azurerm_subnet_network_security_group_association\" \"database\"");
    w.Attr("for_each", "local.database_subnets");
    w.Attr("subnet_id", "azurerm_subnet.database[each.key].id");
    w.Attr("network_security_group_id",
           "azurerm_network_security_group.tier[each.value.tier_subnet].id");
    w.Close();
  }
  w.Comment(
      "One rule per flow: the port the dependencies used, from the address ranges of the tier "
      "that used it.");
  w.Open("resource \"azurerm_network_security_rule\" \"flow\"");
  w.Attr("for_each", "local.flows");
  w.Attr("name", "each.value.name");
  w.Attr("description", "each.value.description");
  w.Attr("priority", "each.value.priority");
  w.Attr("direction", HclString("Inbound"));
  w.Attr("access", HclString("Allow"));
  w.Attr("protocol", "each.value.protocol == \"udp\" ? \"Udp\" : \"Tcp\"");
  w.Attr("source_port_range", HclString("*"));
  w.Attr("destination_port_range", "tostring(each.value.port)");
  if (flexible_servers) {
    w.Attr("source_address_prefixes",
           "concat(azurerm_subnet.tier[each.value.from].address_prefixes, flatten([for key, s in "
           "azurerm_subnet.database : s.address_prefixes if local.database_subnets[key]."
           "tier_subnet == each.value.from]))");
  } else {
    w.Attr("source_address_prefixes", "azurerm_subnet.tier[each.value.from].address_prefixes");
  }
  w.Attr("destination_address_prefix", HclString("*"));
  w.Attr("resource_group_name", kGroup);
  w.Attr("network_security_group_name", "azurerm_network_security_group.tier[each.value.to].name");
  w.Close();
  w.Open("resource \"azurerm_network_security_rule\" \"public\"");
  w.Attr("for_each", "local.public_ingress");
  w.Attr("name", "\"public-${each.value.port}-${replace(each.value.cidr, \"/\", \"_\")}\"");
  w.Attr("priority", "each.value.priority");
  w.Attr("direction", HclString("Inbound"));
  w.Attr("access", HclString("Allow"));
  w.Attr("protocol", HclString("Tcp"));
  w.Attr("source_port_range", HclString("*"));
  w.Attr("destination_port_range", "tostring(each.value.port)");
  w.Attr("source_address_prefix", "each.value.cidr");
  w.Attr("destination_address_prefix", HclString("*"));
  w.Attr("resource_group_name", kGroup);
  w.Attr("network_security_group_name",
         "azurerm_network_security_group.tier[each.value.subnet].name");
  w.Close();
  w.Comment(
      "Azure allows all traffic inside a virtual network by default (AllowVnetInBound, priority "
      "65000):\nthis rule denies what no flow allowed.");
  w.Open("resource \"azurerm_network_security_rule\" \"deny_other_inbound\"");
  w.Attr("for_each", "local.subnets");
  w.Attr("name", HclString("deny-other-vnet-inbound"));
  w.Attr("priority", "4096");
  w.Attr("direction", HclString("Inbound"));
  w.Attr("access", HclString("Deny"));
  w.Attr("protocol", HclString("*"));
  w.Attr("source_port_range", HclString("*"));
  w.Attr("destination_port_range", HclString("*"));
  w.Attr("source_address_prefix", HclString("VirtualNetwork"));
  w.Attr("destination_address_prefix", HclString("*"));
  w.Attr("resource_group_name", kGroup);
  w.Attr("network_security_group_name", "azurerm_network_security_group.tier[each.key].name");
  w.Close();
}

void Compute(HclWriter& w) {
  w.Open("resource \"azurerm_network_interface\" \"server\"");
  w.Attr("for_each", "local.selected_machines");
  w.Attr("name", PrefixedName("each.value.name", "-nic"));
  Placed(w);
  w.Open("ip_configuration");
  w.Attr("name", HclString("primary"));
  w.Attr("subnet_id", "azurerm_subnet.tier[each.value.subnet].id");
  w.Attr("private_ip_address_allocation", HclString("Dynamic"));
  w.Close();
  w.Close();
  w.Open("resource \"azurerm_linux_virtual_machine\" \"server\"");
  w.Attr("for_each", "local.selected_machines");
  w.Attr("name", PrefixedName("each.value.name"));
  Placed(w);
  w.Attr("size", "each.value.instance_type");
  w.Attr("admin_username", "var.admin_username");
  w.Attr("network_interface_ids", "[azurerm_network_interface.server[each.key].id]");
  w.Open("admin_ssh_key");
  w.Attr("username", "var.admin_username");
  w.Attr("public_key", "var.ssh_public_key");
  w.Close();
  w.Open("os_disk");
  w.Attr("caching", HclString("ReadWrite"));
  w.Attr("storage_account_type", HclString("Premium_LRS"));
  w.Attr("disk_size_gb", "each.value.storage_gb");
  w.Close();
  w.Open("source_image_reference");
  w.Attr("publisher", "var.images[each.value.architecture].publisher");
  w.Attr("offer", "var.images[each.value.architecture].offer");
  w.Attr("sku", "var.images[each.value.architecture].sku");
  w.Attr("version", HclString("latest"));
  w.Close();
  w.Attr("tags", HclObject({{"ferry-server", "each.key"},
                            {"ferry-wave", "tostring(each.value.wave)"},
                            {"ferry-strategy", "each.value.strategy"}}));
  w.Close();
}

// A flexible server of `engine` (postgresql, mysql) in its delegated subnet and private DNS zone;
// `storage` writes the engine's own storage attribute.
void FlexibleServer(HclWriter& w, std::string_view engine,
                    const std::function<void(HclWriter&)>& storage) {
  w.Open(fmt::format("resource \"azurerm_{}_flexible_server\" \"database\"", engine));
  w.Attr("for_each", fmt::format("{{ for key, d in local.selected_databases : key => d if "
                                 "d.engine == \"{}\" }}",
                                 engine));
  w.Attr("name", PrefixedName("each.value.name"));
  Placed(w);
  w.Attr("version", fmt::format("var.database_versions[\"{}\"]", engine));
  w.Attr("sku_name", "each.value.class");
  w.Attr("delegated_subnet_id", "azurerm_subnet.database[each.value.database_subnet].id");
  w.Attr("private_dns_zone_id",
         fmt::format("azurerm_private_dns_zone.database[\"{}\"].id", engine));
  w.Attr("administrator_login", "var.database_admin_username");
  w.Attr("administrator_password", "random_password.database[each.key].result");
  w.Attr("backup_retention_days", "7");
  storage(w);
  w.Attr("tags",
         HclObject({{"ferry-server", "each.key"}, {"ferry-wave", "tostring(each.value.wave)"}}));
  w.Attr("depends_on", "[azurerm_private_dns_zone_virtual_network_link.database]");
  w.Close();
}

void Databases(HclWriter& w, const std::set<std::string>& engines) {
  WriteDatabasePasswords(w, "local.selected_databases");
  if (engines.contains("postgresql")) {
    FlexibleServer(w, "postgresql", [](HclWriter& h) {
      h.Attr("storage_mb", "local.postgresql_storage_mb[each.key]");
      h.Attr("public_network_access_enabled", "false");
    });
  }
  if (engines.contains("mysql")) {
    FlexibleServer(w, "mysql", [](HclWriter& h) {
      h.Open("storage");
      h.Attr("size_gb", "max(20, each.value.storage_gb)");  // MySQL flexible: 20 GB at least
      h.Close();
    });
  }
  if (engines.contains("sqlserver")) {
    w.Open("resource \"azurerm_mssql_server\" \"database\"");
    w.Attr("for_each",
           "{ for key, d in local.selected_databases : key => d if d.engine == \"sqlserver\" }");
    w.Attr("name", PrefixedName("each.value.name"));
    Placed(w);
    w.Attr("version", "var.database_versions[\"sqlserver\"]");
    w.Attr("administrator_login", "var.database_admin_username");
    w.Attr("administrator_login_password", "random_password.database[each.key].result");
    w.Attr("minimum_tls_version", HclString("1.2"));
    w.Attr("public_network_access_enabled", "false");
    w.Close();
    w.Open("resource \"azurerm_mssql_database\" \"database\"");
    w.Attr("for_each", "azurerm_mssql_server.database");
    w.Attr("name", "local.databases[each.key].name");
    w.Attr("server_id", "each.value.id");
    w.Attr("sku_name", "local.databases[each.key].class");
    w.Attr("max_size_gb", "local.databases[each.key].storage_gb");
    w.Close();
    w.Open("resource \"azurerm_private_endpoint\" \"database\"");
    w.Attr("for_each", "azurerm_mssql_server.database");
    w.Attr("name", PrefixedName("local.databases[each.key].name", "-endpoint"));
    Placed(w);
    w.Attr("subnet_id", "azurerm_subnet.tier[local.databases[each.key].subnet].id");
    w.Open("private_service_connection");
    w.Attr("name", HclString("sql"));
    w.Attr("private_connection_resource_id", "each.value.id");
    w.Attr("subresource_names", "[\"sqlServer\"]");
    w.Attr("is_manual_connection", "false");
    w.Close();
    w.Close();
  }
}

void Outputs(HclWriter& w, const std::set<std::string>& engines) {
  w.Open("output \"resource_group\"");
  w.Attr("value", "azurerm_resource_group.main.name");
  w.Close();
  w.Open("output \"virtual_network_id\"");
  w.Attr("value", "azurerm_virtual_network.main.id");
  w.Close();
  w.Open("output \"subnet_ids\"");
  w.Attr("value", "{ for key, s in azurerm_subnet.tier : key => s.id }");
  w.Close();
  w.Open("output \"machines\"");
  w.Attr("description", HclString("Each provisioned server: VM id and private address"));
  w.Attr("value",
         "{ for key, m in azurerm_linux_virtual_machine.server : key => { id = m.id, private_ip = "
         "azurerm_network_interface.server[key].private_ip_address } }");
  w.Close();
  std::vector<std::string> parts;
  if (engines.contains("postgresql")) {
    parts.push_back(
        "{ for key, d in azurerm_postgresql_flexible_server.database : key => d.fqdn }");
  }
  if (engines.contains("mysql")) {
    parts.push_back("{ for key, d in azurerm_mysql_flexible_server.database : key => d.fqdn }");
  }
  if (engines.contains("sqlserver")) {
    parts.push_back(
        "{ for key, d in azurerm_mssql_server.database : key => d.fully_qualified_domain_name }");
  }
  if (!parts.empty()) {
    w.Open("output \"databases\"");
    w.Attr("description", HclString("Each managed database's host name"));
    std::string merged = "merge(";
    for (size_t i = 0; i < parts.size(); ++i) merged += (i ? ", " : "") + parts[i];
    w.Attr("value", merged + ")");
    w.Close();
    w.Open("output \"database_passwords\"");
    w.Attr("description", HclString("The generated administrator passwords"));
    w.Attr("value", "{ for key, p in random_password.database : key => p.result }");
    w.Attr("sensitive", "true");
    w.Close();
  }
}

// Flexible server storage sizes (MiB) Azure accepts for PostgreSQL.
int64_t PostgresStorageMb(int storage_gb) {
  static constexpr int64_t kSizes[] = {32768,   65536,   131072,  262144,  524288,   1048576,
                                       2097152, 4193280, 4194304, 8388608, 16777216, 33553408};
  const int64_t want = int64_t{storage_gb} * 1024;
  for (int64_t size : kSizes) {
    if (size >= want) return size;
  }
  return kSizes[std::size(kSizes) - 1];
}

}  // namespace

void RenderAzure(const IacModel& model, Files& files) {
  std::set<std::string> engines;
  std::set<std::pair<std::string, std::string>> delegated;  // (environment short, engine)
  for (const Resource& r : model.databases) {
    engines.insert(r.engine);
    if (r.engine != "sqlserver") {
      delegated.insert({std::string(EnvironmentShortName(r.environment)), r.engine});
    }
  }
  const bool flexible_servers = !delegated.empty();
  Versions(files.versions, !model.databases.empty());
  Variables(files.variables, model);
  WriteLocals(model, files.locals);
  HclWriter& l = files.locals;
  if (flexible_servers) {
    l.Open("locals");
    l.Comment(
        "Delegated subnets of the flexible servers; they share the security group of their "
        "environment's data tier.");
    l.OpenMap("database_subnets");
    int netnum = model.next_netnum;
    for (const auto& [environment, engine] : delegated) {
      l.MapEntry(
          environment + "-" + engine,
          HclObject({{"netnum", std::to_string(netnum++)},
                     {"tier_subnet", HclString(environment + "-data")},
                     {"delegation", HclString(engine == "postgresql"
                                                  ? "Microsoft.DBforPostgreSQL/flexibleServers"
                                                  : "Microsoft.DBforMySQL/flexibleServers")}}));
    }
    l.CloseMap();
    l.OpenMap("database_dns_zones");
    for (const std::string& engine : engines) {
      if (engine == "postgresql")
        l.MapEntry(engine, HclString("privatelink.postgres.database.azure.com"));
      if (engine == "mysql") l.MapEntry(engine, HclString("privatelink.mysql.database.azure.com"));
    }
    l.CloseMap();
    l.Comment("PostgreSQL flexible server storage, in the sizes Azure accepts (MiB).");
    l.OpenMap("postgresql_storage_mb");
    for (const Resource& r : model.databases) {
      if (r.engine == "postgresql")
        l.MapEntry(r.name, std::to_string(PostgresStorageMb(r.storage_gb)));
    }
    l.CloseMap();
    l.Close();
  }
  Network(files.network, flexible_servers);
  Security(files.security, flexible_servers);
  Compute(files.compute);
  if (!model.databases.empty()) Databases(files.databases, engines);
  Outputs(files.outputs, engines);
}

}  // namespace ferry::iac::internal
