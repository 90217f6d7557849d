#include "iac/terraform.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "iac/terraform_internal.h"

namespace ferry::iac {
namespace internal {

std::string FileHeader(const IacModel& model, std::string_view holds) {
  return fmt::format(
      "{} from {} (plan of {}, {}) for {} {}.\n{}\nEdit the plan and generate again rather "
      "than this file: `ferry iac` replaces it.",
      kGeneratedMarker, model.plan_source, model.plan_date,
      model.generator.empty() ? "ferry" : model.generator, plan::CloudName(model.cloud),
      model.region, holds);
}

std::string PlainText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == ' ' || c == '.' || c == '_' || c == '-' || c == ':' || c == '/' ||
                    c == '(' || c == ')' || c == ',';
    out.push_back(ok ? c : '_');
  }
  return out;
}

std::string PrefixedLiteral(std::string_view literal) {
  return fmt::format("\"${{var.name_prefix}}-{}\"", literal);
}

std::string PrefixedName(std::string_view expression, std::string_view suffix) {
  return fmt::format("\"${{var.name_prefix}}-${{{}}}{}\"", expression, suffix);
}

void WriteTerraformBlock(HclWriter& w, const std::vector<Provider>& providers) {
  w.Open("terraform");
  w.Attr("required_version", HclString(kTerraformVersion));
  w.Open("required_providers");
  for (const Provider& p : providers) {
    w.Attr(p.name, HclObject({{"source", HclString(p.source)}, {"version", HclString(p.version)}}));
  }
  w.Close();
  w.Close();
}

void WriteDatabasePasswords(HclWriter& w, std::string_view for_each) {
  w.Open("resource \"random_password\" \"database\"");
  w.Attr("for_each", for_each);
  w.Attr("length", "32");
  w.Attr("special", "true");
  w.Attr("override_special", HclString("!#%*-_=+"));
  w.Close();
}

std::vector<int> WebTierPorts(const IacModel& model) {
  std::set<int> ports;
  for (const Flow& flow : model.flows) {
    if (flow.protocol != "tcp") continue;
    for (const Subnet& subnet : model.subnets) {
      if (subnet.key == flow.to && subnet.public_facing) ports.insert(flow.port);
    }
  }
  return {ports.begin(), ports.end()};
}

void Variable(HclWriter& w, std::string_view name, std::string_view type,
              std::string_view description, std::string_view default_value, bool sensitive) {
  w.Open(fmt::format("variable {}", HclString(name)));
  w.Attr("description", HclString(description));
  w.Attr("type", type);
  if (!default_value.empty()) w.Attr("default", default_value);
  if (sensitive) w.Attr("sensitive", "true");
  w.Close();
}

void WriteCommonVariables(const IacModel& model, HclWriter& w) {
  Variable(w, "name_prefix", "string",
           "Prefix of every resource name (lowercase letters, digits and hyphens)",
           HclString("ferry"));
  Variable(w, "network_cidr", "string",
           "Address range of the network; each subnet is cidrsubnet(network_cidr, 8, netnum) "
           "(locals.tf), so a /16 gives /24 subnets",
           HclString("10.64.0.0/16"));
  std::vector<std::string> waves;
  for (int wave : model.waves) waves.push_back(std::to_string(wave));
  Variable(w, "waves", "list(number)",
           "The plan's waves to provision: e.g. [1] for the pilot, then [1, 2], and so on. "
           "Resources of other waves are not created (or are destroyed when a wave is taken "
           "out again)",
           HclList(waves));
  Variable(w, "public_ingress_cidrs", "list(string)",
           "Addresses allowed to reach the web tier on var.public_ingress_ports (e.g. "
           "[\"0.0.0.0/0\"]); empty: the web tier is reached from inside the network only",
           "[]");
  std::vector<std::string> ports;
  for (int port : WebTierPorts(model)) ports.push_back(std::to_string(port));
  Variable(w, "public_ingress_ports", "list(number)",
           ports.empty() ? "TCP ports of the web tier open to var.public_ingress_cidrs; the plan "
                           "observed no connection to the web tier, so none by default"
                         : "TCP ports of the web tier open to var.public_ingress_cidrs: by "
                           "default the ports the plan observed connections to",
           HclList(ports));
  Variable(w, "nat_gateway", "bool",
           "Give the private subnets outbound internet access through a NAT gateway (package "
           "mirrors, the external endpoints the plan observed)",
           "true");
}

void WriteLocals(const IacModel& model, HclWriter& w) {
  w.Open("locals");
  w.Comment(
      "Subnets: one per environment and tier (web: load balancers and web servers; app: APIs, "
      "workers\nand the rest; data: databases, caches, queues, file servers; mgmt: DNS, "
      "directory, monitoring).\nAddress range: cidrsubnet(var.network_cidr, 8, netnum).");
  w.OpenMap("subnets");
  for (const Subnet& s : model.subnets) {
    w.MapEntry(s.key, HclObject({{"environment", HclString(s.environment)},
                                 {"tier", HclString(TierName(s.tier))},
                                 {"netnum", std::to_string(s.netnum)},
                                 {"zone", std::to_string(s.zone)},
                                 {"public", s.public_facing ? "true" : "false"}}));
  }
  w.CloseMap();
  w.Blank();
  w.Comment(fmt::format(
      "Flows: the only traffic the security rules allow between subnets, one per source subnet, "
      "destination\nsubnet, protocol and port that the plan's dependencies used ({} of {} "
      "dependencies; the others\nhave an end that is not provisioned here: README.md lists "
      "them).",
      model.dependencies_used,
      model.dependencies_used + static_cast<int64_t>(model.open_dependencies.size())));
  w.OpenMap("flows");
  for (const Flow& f : model.flows) {
    std::string services;
    for (const std::string& s : f.services) services += (services.empty() ? "" : ", ") + s;
    std::string example = f.example;
    if (size_t arrow = example.find(" -> "); arrow != std::string::npos) {
      example.replace(arrow, 4, " to ");
    }
    // Azure holds 140 characters of a rule's description, AWS 255.
    std::string description = PlainText(fmt::format(
        "{}from {}: {} pair(s), {} connection(s), e.g. {}", services.empty() ? "" : services + " ",
        f.from, f.pairs, f.connections, example));
    w.MapEntry(f.key, HclObject({{"name", HclString(CloudSafeName(f.key, 50))},
                                 {"from", HclString(f.from)},
                                 {"to", HclString(f.to)},
                                 {"protocol", HclString(f.protocol)},
                                 {"port", std::to_string(f.port)},
                                 {"priority", std::to_string(f.priority)},
                                 {"description", HclString(description)}}));
  }
  w.CloseMap();
  w.Blank();
  w.Comment(
      "Virtual machines: the plan's balanced (recommended) size. `stand_in_for` names what the "
      "plan suggests\ninstead of a plain VM (a managed cache, a cloud load balancer...): the VM "
      "keeps its place until then.");
  w.OpenMap("machines");
  for (const Resource& r : model.machines) {
    std::vector<std::pair<std::string, std::string>> members = {
        {"name", HclString(r.resource_name)},          {"wave", std::to_string(r.wave)},
        {"environment", HclString(r.environment)},     {"subnet", HclString(r.subnet)},
        {"instance_type", HclString(r.instance_type)}, {"architecture", HclString(r.architecture)},
        {"storage_gb", std::to_string(r.storage_gb)},  {"strategy", HclString(r.strategy)}};
    if (!r.stand_in_for.empty()) members.emplace_back("stand_in_for", HclString(r.stand_in_for));
    w.MapEntry(r.name, HclObject(members));
  }
  w.CloseMap();
  w.Blank();
  w.Comment(
      "Managed databases: database servers the plan replatforms, sized from their balanced type "
      "(docs/iac.md).");
  w.OpenMap("databases");
  for (const Resource& r : model.databases) {
    std::vector<std::pair<std::string, std::string>> members = {
        {"name", HclString(r.resource_name)},
        {"wave", std::to_string(r.wave)},
        {"environment", HclString(r.environment)},
        {"subnet", HclString(r.subnet)},
        {"engine", HclString(r.engine)},
        {"class", HclString(r.database_class)},
        {"storage_gb", std::to_string(r.storage_gb)},
        {"from_type", HclString(r.instance_type)}};
    if (model.cloud == Cloud::kAzure && r.engine != "sqlserver") {
      members.emplace_back(
          "database_subnet",
          HclString(fmt::format("{}-{}", EnvironmentShortName(r.environment), r.engine)));
    }
    w.MapEntry(r.name, HclObject(members));
  }
  w.CloseMap();
  w.Blank();
  w.Comment("What var.waves selects.");
  w.Attr("selected_machines",
         "{ for key, m in local.machines : key => m if contains(var.waves, m.wave) }");
  w.Attr("selected_databases",
         "{ for key, d in local.databases : key => d if contains(var.waves, d.wave) }");
  w.Close();
}

std::string Readme(const IacModel& model, const std::vector<TerraformFile>& files) {
  std::string out = fmt::format(
      "<!-- {} -->\n# Terraform for {} ({})\n\nGenerated by `ferry iac` from `{}` (plan of {}). "
      "Regenerate it from the plan rather than editing it.\n\n",
      kGeneratedMarker, plan::CloudName(model.cloud), model.region, model.plan_source,
      model.plan_date);
  fmt::format_to(std::back_inserter(out),
                 "| | |\n|---|---|\n| virtual machines | {} |\n| managed databases | {} |\n"
                 "| subnets | {} |\n| flows (security rules) | {} |\n| waves | {} |\n"
                 "| servers not provisioned | {} |\n\n",
                 model.machines.size(), model.databases.size(), model.subnets.size(),
                 model.flows.size(), model.waves.size(), model.unprovisioned.size());
  out +=
      "Apply it wave by wave, as the plan orders them:\n\n```sh\nterraform init\n"
      "terraform apply -var 'waves=[1]'        # the pilot\nterraform apply -var 'waves=[1,2]'     "
      " "
      "# then the next wave, and so on\n```\n\n";
  out += "Files:\n\n";
  for (const TerraformFile& file : files) {
    if (file.name == "README.md") continue;
    out += "- `" + file.name + "`\n";
  }
  out += "\n";
  std::vector<const Resource*> stand_ins;
  for (const Resource& r : model.machines) {
    if (!r.stand_in_for.empty()) stand_ins.push_back(&r);
  }
  if (!stand_ins.empty()) {
    out +=
        "## Virtual machines standing in for a service\n\nThe plan suggests another target for "
        "these; each gets a VM of its recommended size for now, so that its dependencies keep "
        "working:\n\n| server | strategy | the plan suggests |\n|---|---|---|\n";
    for (const Resource* r : stand_ins) {
      fmt::format_to(std::back_inserter(out), "| {} | {} | {} |\n", r->name, r->strategy,
                     r->stand_in_for);
    }
    out += "\n";
  }
  if (!model.unprovisioned.empty()) {
    out += "## Not provisioned\n\n| server | strategy | why |\n|---|---|---|\n";
    for (const Unprovisioned& u : model.unprovisioned) {
      fmt::format_to(std::back_inserter(out), "| {} | {} | {} |\n", u.name, u.strategy, u.reason);
    }
    out += "\n";
  }
  if (!model.open_dependencies.empty()) {
    out +=
        "## Dependencies without a rule\n\nOne end of each stays outside this network: these "
        "need hybrid connectivity (VPN or interconnect) or the replacing service's own access "
        "rules.\n\n| from | to | port | why |\n|---|---|---|---|\n";
    constexpr size_t kListed = 200;
    for (size_t i = 0; i < model.open_dependencies.size() && i < kListed; ++i) {
      const OpenDependency& d = model.open_dependencies[i];
      fmt::format_to(std::back_inserter(out), "| {} | {} | {}/{} | {} |\n", d.from, d.to, d.port,
                     d.protocol, d.reason);
    }
    if (model.open_dependencies.size() > kListed) {
      fmt::format_to(std::back_inserter(out), "\nand {} more.\n",
                     model.open_dependencies.size() - kListed);
    }
  }
  return out;
}

}  // namespace internal

std::vector<TerraformFile> RenderTerraform(const IacModel& model) {
  internal::Files files;
  switch (model.cloud) {
    case Cloud::kAws: internal::RenderAws(model, files); break;
    case Cloud::kAzure: internal::RenderAzure(model, files); break;
    case Cloud::kGcp: internal::RenderGcp(model, files); break;
  }
  std::vector<TerraformFile> out;
  auto add = [&](std::string name, HclWriter& w, std::string_view holds) {
    std::string body = w.Take();
    if (body.empty()) return;
    HclWriter header;
    header.Comment(internal::FileHeader(model, holds));
    out.push_back({std::move(name), header.Take() + "\n" + body});
  };
  add("versions.tf", files.versions, "Terraform and provider versions, and the provider.");
  add("variables.tf", files.variables, "The inputs: set them with -var or a .tfvars file.");
  add("locals.tf", files.locals,
      "The plan's data: subnets, flows, machines and databases. The resources iterate over it.");
  add("network.tf", files.network, "The network, its subnets, routes and NAT.");
  add("security.tf", files.security,
      "Security rules: only the ports the plan's dependencies used, only from the tiers that "
      "used them.");
  add("compute.tf", files.compute, "Virtual machines of the plan's recommended sizes.");
  add("databases.tf", files.databases, "Managed databases for the database servers replatformed.");
  add("outputs.tf", files.outputs, "What the run created, for the next steps of the migration.");
  out.push_back({"README.md", internal::Readme(model, out)});
  return out;
}

Status WriteTerraform(const std::vector<TerraformFile>& files, const std::string& dir, bool force,
                      Env* env) {
  Status created = env->CreateDirs(dir);
  if (!created.ok()) {
    return created.WithContext(
        fmt::format("--out {}: cannot create the directory; choose a writable path", dir));
  }
  auto is_ours = [&](const std::string& path) -> Result<bool> {
    FERRY_ASSIGN_OR_RETURN(std::string text, env->ReadFile(path));
    return text.substr(0, 300).find(kGeneratedMarker) != std::string::npos;
  };
  // Check every file before writing any, so that a refusal leaves the directory as it was.
  std::set<std::string> names;
  for (const TerraformFile& file : files) {
    names.insert(file.name);
    const std::string path = dir + "/" + file.name;
    if (force || !env->FileExists(path)) continue;
    FERRY_ASSIGN_OR_RETURN(bool ours, is_ours(path));
    if (!ours) {
      return FailedPrecondition(
          "{}: exists and was not generated by ferry iac; move it away, choose another --out, or "
          "pass --force to overwrite it",
          path);
    }
  }
  for (const TerraformFile& file : files) {
    const std::string path = dir + "/" + file.name;
    Status written = env->WriteFileAtomic(path, file.text);
    if (!written.ok()) return written.WithContext(fmt::format("cannot write {}", path));
  }
  // Files an earlier generation wrote that this one does not (databases.tf after the last
  // database was retired): removed, so that `terraform apply` does not keep them.
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> present, env->ListDir(dir));
  for (const std::string& name : present) {
    if (names.contains(name) || !(name.ends_with(".tf") || name == "README.md")) continue;
    const std::string path = dir + "/" + name;
    auto ours = is_ours(path);
    if (ours && *ours) FERRY_RETURN_IF_ERROR(env->RemoveAll(path));
  }
  return OkStatus();
}

}  // namespace ferry::iac
