#include "plan/plan_render.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include <fmt/format.h>

namespace ferry::plan {
namespace {

// Writes JSON into a string. Containers up to kPrettyDepth deep put each element on its own
// line; deeper ones are compact, so that a server or a dependency is one line.
class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject() { Open('{', true); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('[', false); }
  void EndArray() { Close(']'); }
  void Key(std::string_view key) {
    Separate();
    Quote(key);
    out_->append(Pretty() ? ": " : ":");
    after_key_ = true;
  }
  void String(std::string_view value) {
    Separate();
    Quote(value);
  }
  void Int(int64_t value) {
    Separate();
    fmt::format_to(std::back_inserter(*out_), "{}", value);
  }
  void Double(double value) {
    Separate();
    if (!std::isfinite(value)) {
      out_->append("null");
    } else {
      fmt::format_to(std::back_inserter(*out_), "{}", value);
    }
  }
  // Rounded to cents (money) or to `digits` decimals.
  void Rounded(double value, int digits = 2) {
    static constexpr double kScale[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    const double scale = kScale[std::clamp(digits, 0, 9)];
    Double(std::round(value * scale) / scale);
  }
  void Bool(bool value) {
    Separate();
    out_->append(value ? "true" : "false");
  }
  void Null() {
    Separate();
    out_->append("null");
  }
  // A value already serialised as JSON.
  void Raw(std::string_view json) {
    Separate();
    out_->append(json);
  }

  // Shorthands for members.
  void Member(std::string_view key, std::string_view value) {
    Key(key);
    String(value);
  }
  void Member(std::string_view key, const char* value) { Member(key, std::string_view(value)); }
  void Member(std::string_view key, const std::string& value) {
    Member(key, std::string_view(value));
  }
  void Member(std::string_view key, int64_t value) {
    Key(key);
    Int(value);
  }
  void Member(std::string_view key, int value) { Member(key, static_cast<int64_t>(value)); }
  void Member(std::string_view key, bool value) {
    Key(key);
    Bool(value);
  }
  void MemberDouble(std::string_view key, double value) {
    Key(key);
    Double(value);
  }
  void MemberRounded(std::string_view key, double value, int digits = 2) {
    Key(key);
    Rounded(value, digits);
  }

 private:
  static constexpr size_t kPrettyDepth = 2;

  bool Pretty() const { return stack_.size() <= kPrettyDepth; }

  void Separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (stack_.empty()) return;
    Level& level = stack_.back();
    if (!level.first) out_->push_back(',');
    level.first = false;
    if (Pretty()) NewLine(stack_.size());
  }
  void NewLine(size_t depth) {
    out_->push_back('\n');
    out_->append(depth * 2, ' ');
  }
  void Open(char bracket, bool object) {
    Separate();
    out_->push_back(bracket);
    stack_.push_back({object, true});
  }
  void Close(char bracket) {
    const bool had_elements = !stack_.back().first;
    stack_.pop_back();
    if (had_elements && stack_.size() < kPrettyDepth) NewLine(stack_.size());
    out_->push_back(bracket);
  }
  // Whether any byte of `word` is a control character, `"` or `\` (bit tricks of S. E.
  // Anderson, "Bit Twiddling Hacks": "Determine if a word has a byte less than n" and "...equal
  // to n").
  static bool NeedsEscape(uint64_t word) {
    constexpr uint64_t kOnes = 0x0101010101010101ULL;
    constexpr uint64_t kHighs = 0x8080808080808080ULL;
    auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
    const uint64_t below_space = (word - kOnes * 0x20) & ~word & kHighs;
    return below_space != 0 || has_zero(word ^ (kOnes * '"')) != 0 ||
           has_zero(word ^ (kOnes * '\\')) != 0;
  }

  void Quote(std::string_view text) {
    out_->push_back('"');
    size_t start = 0;
    size_t i = 0;
    // Most text needs no escape: skip it eight bytes at a time.
    while (i + 8 <= text.size()) {
      uint64_t word;
      std::memcpy(&word, text.data() + i, 8);
      if (NeedsEscape(word)) break;
      i += 8;
    }
    for (; i < text.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(text[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_->append(text.data() + start, i - start);
      start = i + 1;
      switch (c) {
        case '"': out_->append("\\\""); break;
        case '\\': out_->append("\\\\"); break;
        case '\n': out_->append("\\n"); break;
        case '\t': out_->append("\\t"); break;
        case '\r': out_->append("\\r"); break;
        default: fmt::format_to(std::back_inserter(*out_), "\\u{:04x}", static_cast<int>(c));
      }
    }
    out_->append(text.data() + start, text.size() - start);
    out_->push_back('"');
  }

  struct Level {
    bool object;
    bool first;
  };
  std::string* out_;
  std::vector<Level> stack_;
  bool after_key_ = false;
};

std::string Money(double usd) {
  // 1234567.8 -> "1,234,568".
  const int64_t whole = static_cast<int64_t>(std::llround(usd));
  std::string digits = std::to_string(whole < 0 ? -whole : whole);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return (whole < 0 ? "-" : "") + out;
}

std::string Stars(int stars) {
  return std::string(static_cast<size_t>(stars), '*') +
         std::string(static_cast<size_t>(5 - stars), '.');
}

std::string JoinRoles(uint32_t roles) {
  std::string out;
  for (std::string_view role : RoleNames(roles)) {
    if (!out.empty()) out += ",";
    out += role;
  }
  return out.empty() ? "-" : out;
}

const InstanceChoice* Balanced(const ServerPlan& sp, size_t cloud) {
  const auto& choices = sp.sizing.choice[static_cast<size_t>(SizingOption::kBalanced)];
  return cloud < choices.size() ? &choices[cloud] : nullptr;
}

std::string ChoiceText(const InstanceChoice* choice) {
  if (choice == nullptr || choice->type == nullptr) return "none fits";
  return choice->type->name;
}

// Markdown table cells must not contain `|` or line breaks.
std::string Cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out.push_back(c);
    }
  }
  return out;
}

struct Summary {
  std::map<std::string, int> strategies;
  std::map<std::string, int> risk_levels;
  int coupled_groups = 0;
  int32_t largest_group = 0;
  int production_waves = 0;
};

Summary Summarise(const Plan& plan) {
  Summary s;
  for (const ServerPlan& sp : plan.servers)
    ++s.strategies[std::string(StrategyName(sp.strategy.strategy))];
  for (const Risk& risk : plan.risks) ++s.risk_levels[std::string(RiskLevel(risk.score()))];
  for (const auto& members : plan.components.members) {
    if (members.size() > 1) ++s.coupled_groups;
    s.largest_group = std::max<int32_t>(s.largest_group, static_cast<int32_t>(members.size()));
  }
  for (const Wave& wave : plan.waves.waves) {
    s.production_waves += wave.environment == Environment::kProduction;
  }
  return s;
}

void WriteInstanceType(JsonWriter& w, const InstanceType& type, const InstancePrice& price,
                       double hours_per_month) {
  w.BeginObject();
  w.Member("family", type.family);
  w.Member("vcpus", type.vcpus);
  w.MemberDouble("memory_gib", type.memory_gib);
  w.Member("architecture", type.architecture);
  if (type.burstable) w.Member("burstable", true);
  w.MemberDouble("usd_per_hour", price.on_demand);
  w.MemberRounded("usd_per_month", price.on_demand * hours_per_month);
  if (price.commit_1y) w.MemberDouble("usd_per_hour_1y", *price.commit_1y);
  if (price.commit_3y) w.MemberDouble("usd_per_hour_3y", *price.commit_3y);
  w.EndObject();
}

}  // namespace

Result<PlanFormat> ParsePlanFormat(std::string_view name) {
  if (name == "table") return PlanFormat::kTable;
  if (name == "json") return PlanFormat::kJson;
  if (name == "markdown" || name == "md") return PlanFormat::kMarkdown;
  return Err(InvalidArgument("--format {}: use table, json or markdown", name));
}

std::string RenderPlanJson(const Estate& estate, const Plan& plan) {
  std::string out;
  // Generous: reserved pages that are never written cost address space, not memory, and a
  // string that has to grow copies itself (twice the memory for a moment).
  out.reserve(estate.servers.size() * 4096 + plan.graph.edges().size() * 192 + (1 << 20));
  JsonWriter w(&out);
  const int32_t n = static_cast<int32_t>(estate.servers.size());
  const PlanOptions& o = plan.options;
  const Summary summary = Summarise(plan);
  w.BeginObject();
  w.Member("plan_version", kPlanJsonVersion);
  w.Key("generator");
  w.BeginObject();
  w.Member("name", "ferry");
  w.Member("version", FERRY_VERSION);
  w.EndObject();
  w.Member("date", o.today);

  w.Key("options");
  w.BeginObject();
  w.Member("percentile", o.sizing.percentile);
  w.MemberDouble("comfort", o.sizing.comfort);
  w.Member("max_wave_size", o.waves.max_wave_size);
  w.Member("protected_first_waves", o.waves.protected_first_waves);
  w.MemberDouble("high_criticality", o.high_criticality);
  w.Member("high_complexity", o.high_complexity);
  w.Key("regions");
  w.BeginObject();
  for (const PricedCloud& cloud : plan.clouds) w.Member(CloudName(cloud.cloud), cloud.region);
  w.EndObject();
  w.EndObject();

  w.Key("inputs");
  w.BeginObject();
  w.Member("read", estate.inputs_read);
  w.Member("servers", static_cast<int64_t>(n));
  w.Member("connections", plan.connection_records);
  for (const auto& [key, notes] :
       {std::pair{"skipped", &estate.skipped}, std::pair{"warnings", &estate.warnings}}) {
    w.Key(key);
    w.BeginArray();
    for (const InputNote& note : *notes) {
      w.BeginObject();
      w.Member("source", note.source);
      w.Member("message", note.message);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();

  w.Key("summary");
  w.BeginObject();
  w.Member("servers", static_cast<int64_t>(n));
  w.Member("waves", static_cast<int64_t>(plan.waves.waves.size()));
  w.Member("production_waves", summary.production_waves);
  w.Member("coupled_groups", summary.coupled_groups);
  w.Member("largest_group", static_cast<int64_t>(summary.largest_group));
  w.Key("strategies");
  w.BeginObject();
  for (const auto& [name, count] : summary.strategies) w.Member(name, count);
  w.EndObject();
  w.Key("risks");
  w.BeginObject();
  for (const auto& [name, count] : summary.risk_levels) w.Member(name, count);
  w.EndObject();
  w.EndObject();

  w.Key("notes");
  w.BeginArray();
  for (const std::string& note : plan.notes) w.String(note);
  w.EndArray();

  w.Key("waves");
  w.BeginArray();
  for (const Wave& wave : plan.waves.waves) {
    w.BeginObject();
    w.Member("number", wave.number);
    w.Member("environment", EnvironmentName(wave.environment));
    w.Member("size", static_cast<int64_t>(wave.servers.size()));
    w.Member("oversized", wave.oversized);
    w.Member("mixed", wave.mixed);
    w.Key("servers");
    w.BeginArray();
    for (int32_t u : wave.servers) w.String(estate.servers[u].name);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();

  const double hours_per_month = o.costs.hours_per_month;
  // The instance types the sizes name, listed once each after the servers.
  std::vector<std::set<const InstanceType*>> used_types(plan.clouds.size());
  w.Key("servers");
  w.BeginArray();
  for (int32_t i = 0; i < n; ++i) {
    const Server& s = estate.servers[i];
    const ServerPlan& sp = plan.servers[i];
    const int32_t component = plan.components.component[i];
    w.BeginObject();
    w.Member("name", s.name);
    w.Member("source", s.source);
    w.Member("environment", EnvironmentName(s.environment));
    w.Member("environment_reason", s.environment_reason);
    w.Key("roles");
    w.BeginArray();
    for (std::string_view role : RoleNames(s.roles)) w.String(role);
    w.EndArray();
    if (s.database_engine != DatabaseEngine::kNone) {
      w.Member("database_engine", DatabaseEngineName(s.database_engine));
    }
    w.Member("os", s.os_name.empty() ? s.os_id + " " + s.os_version_id : s.os_name);
    w.Member("architecture", s.architecture);
    w.Member("vcpus", s.logical_cpus);
    w.MemberRounded("memory_gib", static_cast<double>(s.memory_bytes) / (1024.0 * 1024 * 1024));
    w.Member("wave", plan.waves.wave_of[i] + 1);
    w.Member("placement", plan.waves.reason[i]);
    w.Member("component", static_cast<int64_t>(component));
    w.Member("coupled_with", static_cast<int64_t>(plan.components.members[component].size()) - 1);
    w.Member("dependencies", sp.dependencies);
    w.Member("dependents", sp.dependents);
    w.Key("criticality");
    w.BeginObject();
    w.MemberRounded("pagerank", sp.criticality.pagerank, 8);
    w.MemberRounded("relative", sp.criticality.relative, 3);
    w.Member("rank", sp.criticality.rank);
    w.Member("level", sp.criticality.level);
    w.EndObject();
    w.Key("complexity");
    w.BeginObject();
    w.Member("score", sp.complexity.score);
    w.Member("level", sp.complexity.level);
    w.Key("factors");
    w.BeginArray();
    for (const std::string& f : sp.complexity.factors) w.String(f);
    w.EndArray();
    w.EndObject();
    w.Key("end_of_life");
    if (sp.lifecycle) {
      w.BeginObject();
      w.Member("product", sp.lifecycle->product);
      w.Member("legacy_platform", sp.lifecycle->legacy_platform);
      if (!sp.lifecycle->end_date.empty()) w.Member("date", sp.lifecycle->end_date);
      if (sp.days_to_end_of_life) w.Member("days", *sp.days_to_end_of_life);
      w.EndObject();
    } else {
      w.Null();
    }
    w.Key("strategy");
    w.BeginObject();
    w.Member("name", StrategyName(sp.strategy.strategy));
    w.Member("target", sp.strategy.target);
    w.Key("reasons");
    w.BeginArray();
    for (const std::string& r : sp.strategy.reasons) w.String(r);
    w.EndArray();
    w.EndObject();
    const ServerSizing& z = sp.sizing;
    w.Key("sizing");
    w.BeginObject();
    w.Member("basis", z.basis);
    w.Member("basis_reason", z.basis_reason);
    w.Member("confidence_stars", z.confidence_stars);
    w.Member("confidence_reason", z.confidence_reason);
    w.MemberRounded("storage_gb", z.storage_gb, 1);
    w.MemberRounded("egress_gb_per_month", z.egress_gb_per_month, 2);
    w.Member("recommended", "balanced");
    w.Key("options");
    w.BeginObject();
    for (SizingOption option : kAllSizingOptions) {
      const size_t k = static_cast<size_t>(option);
      w.Key(SizingOptionName(option));
      w.BeginObject();
      w.MemberRounded("vcpus", z.need[k].vcpus, 2);
      w.MemberRounded("memory_gib", z.need[k].memory_gib, 2);
      for (size_t c = 0; c < plan.clouds.size(); ++c) {
        w.Key(CloudName(plan.clouds[c].cloud));
        const InstanceChoice& choice = z.choice[k][c];
        if (choice.type == nullptr) {
          w.Null();
        } else {
          w.String(choice.type->name);
          used_types[c].insert(choice.type);
        }
      }
      w.EndObject();
    }
    w.EndObject();
    w.Key("balanced_usd_per_month");
    w.BeginObject();
    for (size_t c = 0; c < plan.clouds.size(); ++c) {
      const InstanceChoice& choice = z.choice[static_cast<size_t>(SizingOption::kBalanced)][c];
      w.Key(CloudName(plan.clouds[c].cloud));
      if (choice.price == nullptr) {
        w.Null();
      } else {
        w.Rounded(choice.price->on_demand * hours_per_month);
      }
    }
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();

  w.Key("instance_types");
  w.BeginObject();
  for (size_t c = 0; c < plan.clouds.size(); ++c) {
    w.Key(CloudName(plan.clouds[c].cloud));
    std::vector<const InstanceType*> types(used_types[c].begin(), used_types[c].end());
    std::sort(types.begin(), types.end(),
              [](const InstanceType* a, const InstanceType* b) { return a->name < b->name; });
    w.BeginObject();
    for (const InstanceType* type : types) {
      w.Key(type->name);
      WriteInstanceType(w, *type, type->prices.at(plan.clouds[c].region), hours_per_month);
    }
    w.EndObject();
  }
  w.EndObject();

  w.Key("components");
  w.BeginArray();
  for (int32_t c = 0; c < plan.components.count(); ++c) {
    const auto& members = plan.components.members[c];
    if (members.size() < 2) continue;
    w.BeginObject();
    w.Member("id", static_cast<int64_t>(c));
    w.Member("size", static_cast<int64_t>(members.size()));
    w.Member("oversized", static_cast<int64_t>(members.size()) > o.waves.max_wave_size);
    w.Member("wave", plan.waves.wave_of[members.front()] + 1);
    w.Key("servers");
    w.BeginArray();
    for (int32_t u : members) w.String(estate.servers[u].name);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();

  const DependencyGraph& g = plan.graph;
  w.Key("dependencies");
  w.BeginObject();
  w.Member("edges", static_cast<int64_t>(g.edges().size()));
  w.Member("matched_connections", static_cast<int64_t>(g.matched_connections()));
  w.Member("external_connections", static_cast<int64_t>(g.external_connections()));
  w.Member("external_endpoints", static_cast<int64_t>(g.external_endpoint_count()));
  w.Key("external");
  w.BeginArray();
  for (const ExternalEndpoint& e : g.top_external()) {
    w.BeginObject();
    w.Member("address", e.address);
    w.Member("connections", static_cast<int64_t>(e.connections));
    if (e.example_server >= 0) w.Member("example", estate.servers[e.example_server].name);
    w.EndObject();
  }
  w.EndArray();
  w.Key("ambiguous_addresses");
  w.BeginArray();
  for (const std::string& a : g.ambiguous_addresses()) w.String(a);
  w.EndArray();
  w.Key("list");
  w.BeginArray();
  for (const Edge& e : g.edges()) {
    w.BeginObject();
    w.Member("from", estate.servers[e.from].name);
    w.Member("to", estate.servers[e.to].name);
    w.Member("port", static_cast<int64_t>(e.port));
    w.Member("protocol", ProtocolName(e.protocol));
    if (e.service >= 0) w.Member("service", g.services()[e.service]);
    w.Member("frequency", static_cast<int64_t>(e.frequency));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();

  w.Key("cross_environment");
  w.BeginArray();
  for (const CrossEnvironmentDependency& d : plan.waves.cross_environment) {
    w.BeginObject();
    w.Member("dependent", estate.servers[d.dependent].name);
    w.Member("dependency", estate.servers[d.dependency].name);
    w.Member("dependent_wave", plan.waves.wave_of[d.dependent] + 1);
    w.Member("dependency_wave", plan.waves.wave_of[d.dependency] + 1);
    w.EndObject();
  }
  w.EndArray();

  w.Key("risks");
  w.BeginArray();
  for (const Risk& risk : plan.risks) {
    w.BeginObject();
    w.Member("id", risk.id);
    w.Member("category", risk.category);
    w.Member("title", risk.title);
    w.Member("probability", risk.probability);
    w.Member("impact", risk.impact);
    w.Member("score", risk.score());
    w.Member("level", RiskLevel(risk.score()));
    w.Member("mitigation", risk.mitigation);
    w.Key("servers");
    w.BeginArray();
    for (int32_t u : risk.servers) w.String(estate.servers[u].name);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();

  const Tco& t = plan.tco;
  w.Key("tco");
  w.BeginObject();
  w.Member("years", t.years);
  w.Member("currency", "USD");
  w.Key("on_premises");
  w.BeginObject();
  w.MemberRounded("hardware", t.on_premises.hardware);
  w.MemberRounded("power", t.on_premises.power);
  w.MemberRounded("facilities", t.on_premises.facilities);
  w.MemberRounded("licences", t.on_premises.licences);
  w.MemberRounded("operations", t.on_premises.operations);
  w.MemberRounded("total", t.on_premises.total());
  w.EndObject();
  w.Key("clouds");
  w.BeginArray();
  for (const CloudTco& c : t.clouds) {
    w.BeginObject();
    w.Member("cloud", c.cloud);
    w.Member("region", c.region);
    w.Member("prices_of", c.snapshot_date);
    w.Key("compute");
    w.BeginObject();
    w.MemberRounded("on_demand", c.compute_on_demand);
    w.MemberRounded("commit_1y", c.compute_1y);
    w.MemberRounded("commit_3y", c.compute_3y);
    w.EndObject();
    w.MemberRounded("storage", c.storage);
    w.MemberRounded("egress", c.egress);
    w.MemberRounded("licences", c.licences);
    w.MemberRounded("operations", c.operations);
    w.MemberRounded("kept_on_premises", c.kept_on_premises);
    w.Key("total");
    w.BeginObject();
    w.MemberRounded("on_demand", c.total_on_demand);
    w.MemberRounded("commit_1y", c.total_1y);
    w.MemberRounded("commit_3y", c.total_3y);
    w.EndObject();
    w.Member("servers_priced", c.servers_priced);
    w.Member("servers_unpriced", c.servers_unpriced);
    w.EndObject();
  }
  w.EndArray();
  w.Key("cost_model");
  w.Raw(CostModelToJson(o.costs).dump());
  w.EndObject();

  w.Key("catalog");
  w.BeginArray();
  for (const PricedCloud& cloud : plan.clouds) {
    w.BeginObject();
    w.Member("cloud", CloudName(cloud.cloud));
    w.Member("region", cloud.region);
    w.Member("snapshot_date", cloud.catalog->snapshot_date);
    w.Member("source", cloud.catalog->source);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  out.push_back('\n');
  return out;
}

std::string RenderPlanMarkdown(const Estate& estate, const Plan& plan) {
  fmt::memory_buffer b;
  auto out = std::back_inserter(b);
  const int32_t n = static_cast<int32_t>(estate.servers.size());
  const Summary summary = Summarise(plan);
  fmt::format_to(out, "# Migration plan\n\n");
  fmt::format_to(out,
                 "Planned by ferry {} on {} from {} server(s) ({} input(s) read, {} skipped), "
                 "{} connection(s).\n\n",
                 FERRY_VERSION, plan.options.today, n, estate.inputs_read, estate.skipped.size(),
                 plan.connection_records);
  fmt::format_to(out, "## Summary\n\n| | |\n|---|---|\n");
  fmt::format_to(out, "| servers | {} |\n| waves | {} ({} production) |\n", n,
                 plan.waves.waves.size(), summary.production_waves);
  fmt::format_to(out, "| strongly coupled groups | {} (largest: {} servers) |\n",
                 summary.coupled_groups, summary.largest_group);
  std::string strategies;
  for (const auto& [name, count] : summary.strategies) {
    strategies += fmt::format("{}{} {}", strategies.empty() ? "" : ", ", count, name);
  }
  fmt::format_to(out, "| strategies | {} |\n", strategies);
  std::string risks;
  for (const char* level : {"critical", "high", "medium", "low"}) {
    auto it = summary.risk_levels.find(level);
    if (it != summary.risk_levels.end()) {
      risks += fmt::format("{}{} {}", risks.empty() ? "" : ", ", it->second, level);
    }
  }
  fmt::format_to(out, "| risks | {} |\n", risks.empty() ? "none" : risks);
  fmt::format_to(out, "| {}-year cost on premises | ${} |\n", plan.tco.years,
                 Money(plan.tco.on_premises.total()));
  for (const CloudTco& c : plan.tco.clouds) {
    fmt::format_to(out,
                   "| {}-year cost in {} {} | ${} on demand, ${} 1-year, ${} 3-year commitment |\n",
                   plan.tco.years, c.cloud, c.region, Money(c.total_on_demand), Money(c.total_1y),
                   Money(c.total_3y));
  }
  if (!plan.notes.empty()) {
    fmt::format_to(out, "\n## Notes\n\n");
    for (const std::string& note : plan.notes) fmt::format_to(out, "- {}\n", note);
  }
  if (!estate.skipped.empty()) {
    fmt::format_to(out, "\n## Inputs left out\n\n");
    for (const InputNote& note : estate.skipped) fmt::format_to(out, "- {}\n", note.message);
  }

  fmt::format_to(out, "\n## Waves\n");
  for (const Wave& wave : plan.waves.waves) {
    fmt::format_to(out, "\n### Wave {}: {}, {} server(s){}{}\n\n", wave.number,
                   EnvironmentName(wave.environment), wave.servers.size(),
                   wave.oversized ? " (OVERSIZED: one strongly coupled group)" : "",
                   wave.mixed ? " (MIXED environments: one strongly coupled group)" : "");
    fmt::format_to(out, "| server | roles | strategy | criticality | why this wave |\n");
    fmt::format_to(out, "|---|---|---|---|---|\n");
    for (int32_t u : wave.servers) {
      const ServerPlan& sp = plan.servers[u];
      fmt::format_to(out, "| {} | {} | {} | {} (#{}) | {} |\n", Cell(estate.servers[u].name),
                     JoinRoles(estate.servers[u].roles), StrategyName(sp.strategy.strategy),
                     sp.criticality.level, sp.criticality.rank, Cell(plan.waves.reason[u]));
    }
  }

  fmt::format_to(out, "\n## Strategy and sizing\n\n");
  fmt::format_to(out, "| server | strategy | target | why | sizing | confidence |");
  for (const PricedCloud& c : plan.clouds)
    fmt::format_to(out, " {} ({}) |", CloudName(c.cloud), c.region);
  fmt::format_to(out, "\n|---|---|---|---|---|---|");
  for (size_t c = 0; c < plan.clouds.size(); ++c) fmt::format_to(out, "---|");
  fmt::format_to(out, "\n");
  for (int32_t i = 0; i < n; ++i) {
    const ServerPlan& sp = plan.servers[i];
    std::string reasons;
    for (const std::string& r : sp.strategy.reasons) reasons += (reasons.empty() ? "" : "; ") + r;
    const Requirement& need = sp.sizing.need[static_cast<size_t>(SizingOption::kBalanced)];
    fmt::format_to(out, "| {} | {} | {} | {} | {}: {:.1f} vCPU, {:.1f} GiB | {} |",
                   Cell(estate.servers[i].name), StrategyName(sp.strategy.strategy),
                   Cell(sp.strategy.target), Cell(reasons), sp.sizing.basis, need.vcpus,
                   need.memory_gib, Stars(sp.sizing.confidence_stars));
    for (size_t c = 0; c < plan.clouds.size(); ++c) {
      const InstanceChoice* choice = Balanced(sp, c);
      if (choice && choice->type) {
        fmt::format_to(out, " {} (${:.0f}/month) |", choice->type->name,
                       choice->price->on_demand * plan.options.costs.hours_per_month);
      } else {
        fmt::format_to(out, " none fits |");
      }
    }
    fmt::format_to(out, "\n");
  }

  fmt::format_to(out, "\n## Risks\n\n| id | level | p x i | category | risk | mitigation |\n");
  fmt::format_to(out, "|---|---|---|---|---|---|\n");
  for (const Risk& risk : plan.risks) {
    fmt::format_to(out, "| {} | {} | {}x{} | {} | {} | {} |\n", risk.id, RiskLevel(risk.score()),
                   risk.probability, risk.impact, risk.category, Cell(risk.title),
                   Cell(risk.mitigation));
  }

  const Tco& t = plan.tco;
  fmt::format_to(out, "\n## {}-year TCO (USD)\n\n", t.years);
  fmt::format_to(out,
                 "On premises: ${} (hardware ${}, power ${}, facilities ${}, licences ${}, "
                 "operations ${}).\n\n",
                 Money(t.on_premises.total()), Money(t.on_premises.hardware),
                 Money(t.on_premises.power), Money(t.on_premises.facilities),
                 Money(t.on_premises.licences), Money(t.on_premises.operations));
  fmt::format_to(out,
                 "| cloud | region | compute on demand | 1-year | 3-year | storage | egress "
                 "| licences | operations | kept on premises | total on demand | total "
                 "1-year | total 3-year |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
                 "---|\n");
  for (const CloudTco& c : t.clouds) {
    fmt::format_to(out, "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                   c.cloud, c.region, Money(c.compute_on_demand), Money(c.compute_1y),
                   Money(c.compute_3y), Money(c.storage), Money(c.egress), Money(c.licences),
                   Money(c.operations), Money(c.kept_on_premises), Money(c.total_on_demand),
                   Money(c.total_1y), Money(c.total_3y));
  }
  fmt::format_to(out, "\nPrices: ");
  for (size_t c = 0; c < plan.clouds.size(); ++c) {
    fmt::format_to(out, "{}{} of {} ({})", c ? "; " : "", CloudName(plan.clouds[c].cloud),
                   plan.clouds[c].catalog->snapshot_date, plan.clouds[c].catalog->source);
  }
  fmt::format_to(out, ".\n");
  return fmt::to_string(b);
}

std::string RenderPlanTable(const Estate& estate, const Plan& plan, size_t max_rows) {
  fmt::memory_buffer b;
  auto out = std::back_inserter(b);
  const int32_t n = static_cast<int32_t>(estate.servers.size());
  const Summary summary = Summarise(plan);
  fmt::format_to(out,
                 "plan of {} server(s), {} connection(s): {} wave(s) ({} production), {} "
                 "strongly coupled group(s), {} risk(s)\n",
                 n, plan.connection_records, plan.waves.waves.size(), summary.production_waves,
                 summary.coupled_groups, plan.risks.size());
  for (const std::string& note : plan.notes) fmt::format_to(out, "  note: {}\n", note);

  fmt::format_to(out, "\nWAVE  ENVIRONMENT     SIZE  FLAGS      SERVERS\n");
  for (const Wave& wave : plan.waves.waves) {
    std::string names;
    for (size_t k = 0; k < wave.servers.size() && k < 6; ++k) {
      names += (k ? ", " : "") + estate.servers[wave.servers[k]].name;
    }
    if (wave.servers.size() > 6) names += fmt::format(" and {} more", wave.servers.size() - 6);
    fmt::format_to(out, "{:<5} {:<15} {:>4}  {:<9}  {}\n", wave.number,
                   EnvironmentName(wave.environment), wave.servers.size(),
                   wave.oversized ? "oversized"
                   : wave.mixed   ? "mixed"
                                  : "",
                   names);
  }

  size_t name_width = 6;
  for (int32_t i = 0; i < n && static_cast<size_t>(i) < max_rows; ++i) {
    name_width = std::max(name_width, estate.servers[i].name.size());
  }
  fmt::format_to(out, "\n{:<{}}  {:<4} {:<4} {:<11} {:<6} {:<5}", "SERVER", name_width, "ENV",
                 "WAVE", "STRATEGY", "CRIT", "CONF");
  for (const PricedCloud& c : plan.clouds) fmt::format_to(out, "  {:<18}", CloudName(c.cloud));
  fmt::format_to(out, "\n");
  for (int32_t i = 0; i < n && static_cast<size_t>(i) < max_rows; ++i) {
    const ServerPlan& sp = plan.servers[i];
    fmt::format_to(out, "{:<{}}  {:<4} {:<4} {:<11} {:<6} {:<5}", estate.servers[i].name,
                   name_width,
                   estate.servers[i].environment == Environment::kProduction ? "prod" : "np",
                   plan.waves.wave_of[i] + 1, StrategyName(sp.strategy.strategy),
                   sp.criticality.level, Stars(sp.sizing.confidence_stars));
    for (size_t c = 0; c < plan.clouds.size(); ++c) {
      fmt::format_to(out, "  {:<18}", ChoiceText(Balanced(sp, c)));
    }
    fmt::format_to(out, "\n");
  }
  if (static_cast<size_t>(n) > max_rows) {
    fmt::format_to(out, "... and {} more server(s): --format json or markdown lists them all\n",
                   static_cast<size_t>(n) - max_rows);
  }

  fmt::format_to(out, "\nRISK    LEVEL     CATEGORY     TITLE\n");
  for (size_t k = 0; k < plan.risks.size() && k < 20; ++k) {
    const Risk& risk = plan.risks[k];
    fmt::format_to(out, "{:<7} {:<9} {:<12} {}\n", risk.id, RiskLevel(risk.score()), risk.category,
                   risk.title.size() > 110 ? risk.title.substr(0, 107) + "..." : risk.title);
  }
  if (plan.risks.size() > 20) {
    fmt::format_to(out, "... and {} more risk(s): see --format json or markdown\n",
                   plan.risks.size() - 20);
  }

  const Tco& t = plan.tco;
  fmt::format_to(out, "\n{}-YEAR TCO (USD)  on premises {}\n", t.years,
                 Money(t.on_premises.total()));
  for (const CloudTco& c : t.clouds) {
    fmt::format_to(out, "  {:<6} {:<15} on demand {:>14}  1-year {:>14}  3-year {:>14}\n", c.cloud,
                   c.region, Money(c.total_on_demand), Money(c.total_1y), Money(c.total_3y));
  }
  return fmt::to_string(b);
}

}  // namespace ferry::plan
