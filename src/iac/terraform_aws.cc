// AWS: a VPC with a public edge subnet (NAT gateway) and a subnet per environment and tier, a
// security group per subnet with an ingress rule per flow, EC2 instances, RDS instances.
#include <set>

#include <fmt/format.h>

#include "iac/terraform_internal.h"

namespace ferry::iac::internal {
namespace {

// RDS engine names.
std::string_view RdsEngine(std::string_view engine) {
  if (engine == "postgresql") return "postgres";
  if (engine == "sqlserver") return "sqlserver-se";
  return "mysql";
}

void Versions(HclWriter& w, const IacModel& model) {
  WriteTerraformBlock(w, {{"aws", "hashicorp/aws", kAwsProviderVersion}});
  w.Open("provider \"aws\"");
  w.Attr("region", "var.region");
  w.Open("default_tags");
  w.Attr("tags", HclObject({{"managed-by", HclString("ferry")},
                            {"ferry-plan-date", HclString(model.plan_date)}}));
  w.Close();
  w.Close();
}

void Variables(HclWriter& w, const IacModel& model) {
  Variable(w, "region", "string", "AWS region (the one the plan priced)", HclString(model.region));
  WriteCommonVariables(model, w);
  Variable(w, "egress_cidrs", "list(string)",
           "Destinations every security group may send to (all protocols)", "[\"0.0.0.0/0\"]");
  Variable(w, "ssh_key_name", "string", "EC2 key pair for the instances (null: none)", "null");
  Variable(w, "deletion_protection", "bool",
           "Protect the databases from `terraform destroy` (turn off to tear down a trial)",
           "true");
  Variable(w, "database_admin_username", "string",
           "Master user of the databases; RDS keeps its password in Secrets Manager",
           HclString("ferry_admin"));
  Variable(w, "database_versions", "map(string)", "Engine version per engine",
           HclObject({{"postgresql", HclString("16")},
                      {"mysql", HclString("8.0")},
                      {"sqlserver", HclString("16.00")}}));
}

void Network(HclWriter& w, const std::set<std::string>& database_environments) {
  w.Open("data \"aws_availability_zones\" \"available\"");
  w.Attr("state", HclString("available"));
  w.Close();
  w.Open("resource \"aws_vpc\" \"main\"");
  w.Attr("cidr_block", "var.network_cidr");
  w.Attr("enable_dns_support", "true");
  w.Attr("enable_dns_hostnames", "true");
  w.Attr("tags", HclObject({{"Name", PrefixedLiteral("vpc")}}));
  w.Close();
  w.Comment("The edge subnet (netnum 0) holds the NAT gateway.");
  w.Open("resource \"aws_subnet\" \"edge\"");
  w.Attr("vpc_id", "aws_vpc.main.id");
  w.Attr("cidr_block", "cidrsubnet(var.network_cidr, 8, 0)");
  w.Attr("availability_zone", "data.aws_availability_zones.available.names[0]");
  w.Attr("tags", HclObject({{"Name", PrefixedLiteral("edge")}}));
  w.Close();
  w.Open("resource \"aws_subnet\" \"tier\"");
  w.Attr("for_each", "local.subnets");
  w.Attr("vpc_id", "aws_vpc.main.id");
  w.Attr("cidr_block", "cidrsubnet(var.network_cidr, 8, each.value.netnum)");
  w.Attr("availability_zone", "data.aws_availability_zones.available.names[each.value.zone]");
  w.Attr("tags", HclObject({{"Name", PrefixedName("each.key")},
                            {"ferry-environment", "each.value.environment"},
                            {"ferry-tier", "each.value.tier"}}));
  w.Close();
  if (!database_environments.empty()) {
    w.Comment(
        "RDS needs a subnet group in two availability zones: a second data subnet per "
        "environment with databases.");
    w.Open("resource \"aws_subnet\" \"data_standby\"");
    w.Attr("for_each", "local.database_subnet_groups");
    w.Attr("vpc_id", "aws_vpc.main.id");
    w.Attr("cidr_block", "cidrsubnet(var.network_cidr, 8, each.value.standby_netnum)");
    w.Attr("availability_zone", "data.aws_availability_zones.available.names[1]");
    w.Attr("tags", HclObject({{"Name", PrefixedName("each.key", "-standby")}}));
    w.Close();
  }
  w.Open("resource \"aws_internet_gateway\" \"main\"");
  w.Attr("vpc_id", "aws_vpc.main.id");
  w.Attr("tags", HclObject({{"Name", PrefixedLiteral("igw")}}));
  w.Close();
  w.Open("resource \"aws_route_table\" \"public\"");
  w.Attr("vpc_id", "aws_vpc.main.id");
  w.Open("route");
  w.Attr("cidr_block", HclString("0.0.0.0/0"));
  w.Attr("gateway_id", "aws_internet_gateway.main.id");
  w.Close();
  w.Attr("tags", HclObject({{"Name", PrefixedLiteral("public")}}));
  w.Close();
  w.Open("resource \"aws_route_table\" \"private\"");
  w.Attr("vpc_id", "aws_vpc.main.id");
  w.Attr("tags", HclObject({{"Name", PrefixedLiteral("private")}}));
  w.Close();
  w.Open("resource \"aws_route_table_association\" \"edge\"");
  w.Attr("subnet_id", "aws_subnet.edge.id");
  w.Attr("route_table_id", "aws_route_table.public.id");
  w.Close();
  w.Open("resource \"aws_route_table_association\" \"tier\"");
  w.Attr("for_each", "local.subnets");
  w.Attr("subnet_id", "aws_subnet.tier[each.key].id");
  w.Attr("route_table_id",
         "each.value.public ? aws_route_table.public.id : aws_route_table.private.id");
  w.Close();
  if (!database_environments.empty()) {
    w.Open("resource \"aws_route_table_association\" \"data_standby\"");
    w.Attr("for_each", "local.database_subnet_groups");
    w.Attr("subnet_id", "aws_subnet.data_standby[each.key].id");
    w.Attr("route_table_id", "aws_route_table.private.id");
    w.Close();
  }
  w.Open("resource \"aws_eip\" \"nat\"");
  w.Attr("count", "var.nat_gateway ? 1 : 0");
  w.Attr("domain", HclString("vpc"));
  w.Attr("tags", HclObject({{"Name", PrefixedLiteral("nat")}}));
  w.Close();
  w.Open("resource \"aws_nat_gateway\" \"main\"");
  w.Attr("count", "var.nat_gateway ? 1 : 0");
  w.Attr("allocation_id", "aws_eip.nat[0].id");
  w.Attr("subnet_id", "aws_subnet.edge.id");
  w.Attr("tags", HclObject({{"Name", PrefixedLiteral("nat")}}));
  w.Attr("depends_on", "[aws_internet_gateway.main]");
  w.Close();
  w.Open("resource \"aws_route\" \"private_nat\"");
  w.Attr("count", "var.nat_gateway ? 1 : 0");
  w.Attr("route_table_id", "aws_route_table.private.id");
  w.Attr("destination_cidr_block", HclString("0.0.0.0/0"));
  w.Attr("nat_gateway_id", "aws_nat_gateway.main[0].id");
  w.Close();
}

void Security(HclWriter& w) {
  w.Open("locals");
  w.Attr("public_ingress",
         "{ for t in setproduct([for key, s in local.subnets : key if s.public], "
         "var.public_ingress_ports, var.public_ingress_cidrs) : \"${t[0]}-${t[1]}-${t[2]}\" => "
         "{ subnet = t[0], port = t[1], cidr = t[2] } }");
  w.Attr("egress",
         "{ for t in setproduct(keys(local.subnets), var.egress_cidrs) : \"${t[0]}-${t[1]}\" => "
         "{ subnet = t[0], cidr = t[1] } }");
  w.Close();
  w.Open("resource \"aws_security_group\" \"tier\"");
  w.Attr("for_each", "local.subnets");
  w.Attr("name", PrefixedName("each.key"));
  w.Attr("description", "\"ferry: the ${each.value.environment} ${each.value.tier} tier\"");
  w.Attr("vpc_id", "aws_vpc.main.id");
  w.Attr("tags", HclObject({{"Name", PrefixedName("each.key")}}));
  w.Close();
  w.Comment("One rule per flow: the port the dependencies used, from the tier that used it.");
  w.Open("resource \"aws_vpc_security_group_ingress_rule\" \"flow\"");
  w.Attr("for_each", "local.flows");
  w.Attr("security_group_id", "aws_security_group.tier[each.value.to].id");
  w.Attr("referenced_security_group_id", "aws_security_group.tier[each.value.from].id");
  w.Attr("ip_protocol", "each.value.protocol");
  w.Attr("from_port", "each.value.port");
  w.Attr("to_port", "each.value.port");
  w.Attr("description", "each.value.description");
  w.Close();
  w.Open("resource \"aws_vpc_security_group_ingress_rule\" \"public\"");
  w.Attr("for_each", "local.public_ingress");
  w.Attr("security_group_id", "aws_security_group.tier[each.value.subnet].id");
  w.Attr("cidr_ipv4", "each.value.cidr");
  w.Attr("ip_protocol", HclString("tcp"));
  w.Attr("from_port", "each.value.port");
  w.Attr("to_port", "each.value.port");
  w.Attr("description", HclString("public ingress (var.public_ingress_cidrs)"));
  w.Close();
  w.Open("resource \"aws_vpc_security_group_egress_rule\" \"out\"");
  w.Attr("for_each", "local.egress");
  w.Attr("security_group_id", "aws_security_group.tier[each.value.subnet].id");
  w.Attr("cidr_ipv4", "each.value.cidr");
  w.Attr("ip_protocol", HclString("-1"));
  w.Close();
}

void Compute(HclWriter& w, const IacModel& model) {
  std::set<std::string> architectures;
  for (const Resource& r : model.machines) architectures.insert(r.architecture);
  std::vector<std::string> list;
  for (const std::string& a : architectures) list.push_back(HclString(a));
  w.Comment("Debian 12, the official images (owner 136693071363), for each architecture in use.");
  w.Open("data \"aws_ami\" \"debian\"");
  w.Attr("for_each", fmt::format("toset({})", HclList(list)));
  w.Attr("most_recent", "true");
  w.Attr("owners", "[\"136693071363\"]");
  w.Open("filter");
  w.Attr("name", HclString("name"));
  w.Attr("values", "[each.key == \"aarch64\" ? \"debian-12-arm64-*\" : \"debian-12-amd64-*\"]");
  w.Close();
  w.Open("filter");
  w.Attr("name", HclString("architecture"));
  w.Attr("values", "[each.key == \"aarch64\" ? \"arm64\" : \"x86_64\"]");
  w.Close();
  w.Close();
  w.Open("resource \"aws_instance\" \"server\"");
  w.Attr("for_each", "local.selected_machines");
  w.Attr("ami", "data.aws_ami.debian[each.value.architecture].id");
  w.Attr("instance_type", "each.value.instance_type");
  w.Attr("subnet_id", "aws_subnet.tier[each.value.subnet].id");
  w.Attr("vpc_security_group_ids", "[aws_security_group.tier[each.value.subnet].id]");
  w.Attr("key_name", "var.ssh_key_name");
  w.Open("metadata_options");
  w.Attr("http_tokens", HclString("required"));
  w.Close();
  w.Open("root_block_device");
  w.Attr("volume_type", HclString("gp3"));
  w.Attr("volume_size", "each.value.storage_gb");
  w.Attr("encrypted", "true");
  w.Close();
  w.Attr("tags", HclObject({{"Name", PrefixedName("each.value.name")},
                            {"ferry-server", "each.key"},
                            {"ferry-wave", "tostring(each.value.wave)"},
                            {"ferry-strategy", "each.value.strategy"}}));
  w.Close();
}

void Databases(HclWriter& w) {
  w.Open("resource \"aws_db_subnet_group\" \"data\"");
  w.Attr("for_each", "local.database_subnet_groups");
  w.Attr("name", PrefixedName("each.key"));
  w.Attr("subnet_ids", "[aws_subnet.tier[each.key].id, aws_subnet.data_standby[each.key].id]");
  w.Close();
  w.Open("resource \"aws_db_instance\" \"database\"");
  w.Attr("for_each", "local.selected_databases");
  w.Attr("identifier", PrefixedName("each.value.name"));
  w.Attr("engine", "local.rds_engines[each.value.engine]");
  w.Attr("engine_version", "var.database_versions[each.value.engine]");
  w.Attr("license_model", "each.value.engine == \"sqlserver\" ? \"license-included\" : null");
  w.Attr("instance_class", "each.value.class");
  w.Attr("allocated_storage", "each.value.storage_gb");
  w.Attr("storage_type", HclString("gp3"));
  w.Attr("storage_encrypted", "true");
  w.Attr("db_subnet_group_name", "aws_db_subnet_group.data[each.value.subnet].name");
  w.Attr("vpc_security_group_ids", "[aws_security_group.tier[each.value.subnet].id]");
  w.Attr("username", "var.database_admin_username");
  w.Attr("manage_master_user_password", "true");
  w.Attr("multi_az", "each.value.environment == \"production\"");
  w.Attr("backup_retention_period", "7");
  w.Attr("deletion_protection", "var.deletion_protection");
  w.Attr("skip_final_snapshot", "false");
  w.Attr("final_snapshot_identifier", PrefixedName("each.value.name", "-final"));
  w.Attr("tags", HclObject({{"ferry-server", "each.key"},
                            {"ferry-wave", "tostring(each.value.wave)"},
                            {"ferry-sized-from", "each.value.from_type"}}));
  w.Close();
}

void Outputs(HclWriter& w, bool databases) {
  w.Open("output \"vpc_id\"");
  w.Attr("value", "aws_vpc.main.id");
  w.Close();
  w.Open("output \"subnet_ids\"");
  w.Attr("value", "{ for key, s in aws_subnet.tier : key => s.id }");
  w.Close();
  w.Open("output \"security_group_ids\"");
  w.Attr("value", "{ for key, g in aws_security_group.tier : key => g.id }");
  w.Close();
  w.Open("output \"machines\"");
  w.Attr("description", HclString("Each provisioned server: instance id and private address"));
  w.Attr("value",
         "{ for key, m in aws_instance.server : key => { id = m.id, private_ip = m.private_ip } }");
  w.Close();
  if (databases) {
    w.Open("output \"databases\"");
    w.Attr("description",
           HclString("Each managed database: endpoint, and the Secrets Manager secret of its "
                     "master password"));
    w.Attr("value",
           "{ for key, d in aws_db_instance.database : key => { endpoint = d.endpoint, "
           "master_secret_arn = d.master_user_secret[0].secret_arn } }");
    w.Close();
  }
}

}  // namespace

void RenderAws(const IacModel& model, Files& files) {
  std::set<std::string> database_environments;
  for (const Resource& r : model.databases) {
    database_environments.insert(std::string(EnvironmentShortName(r.environment)));
  }
  Versions(files.versions, model);
  Variables(files.variables, model);
  WriteLocals(model, files.locals);
  // The subnet groups of RDS: the data subnet and a standby one in a second zone.
  HclWriter& l = files.locals;
  l.Open("locals");
  l.Comment("RDS engine names of the plan's engines.");
  l.Attr("rds_engines", HclObject({{"postgresql", HclString(RdsEngine("postgresql"))},
                                   {"mysql", HclString(RdsEngine("mysql"))},
                                   {"sqlserver", HclString(RdsEngine("sqlserver"))}}));
  l.Comment(
      "Per data subnet with databases: the netnum of its standby subnet in a second zone (RDS "
      "subnet groups\nspan two zones).");
  l.OpenMap("database_subnet_groups");
  int netnum = model.next_netnum;
  for (const std::string& environment : database_environments) {
    l.MapEntry(environment + "-data", HclObject({{"standby_netnum", std::to_string(netnum++)}}));
  }
  l.CloseMap();
  l.Close();
  Network(files.network, database_environments);
  Security(files.security);
  Compute(files.compute, model);
  if (!model.databases.empty()) Databases(files.databases);
  Outputs(files.outputs, !model.databases.empty());
}

}  // namespace ferry::iac::internal
