#include "plan/estate.h"

#include <array>
#include <cctype>
#include <unordered_map>

#include <fmt/format.h>

namespace ferry::plan {
namespace {

constexpr std::array<std::string_view, 13> kRoleNames = {
    "database",       "cache",     "web",        "api",        "worker",
    "load-balancer",  "dns",       "directory",  "monitoring", "queue",
    "container-host", "mainframe", "file-server"};

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The stage a word names, if any. Production words first: "preprod" is not production, and is
// caught by its own entry.
std::optional<Environment> StageOfWord(std::string_view word) {
  static constexpr std::string_view kProduction[] = {"prod", "prd",   "production",
                                                     "live", "prod1", "p"};
  static constexpr std::string_view kNonProduction[] = {
      "dev",     "development", "devel",       "test", "tst",   "qa",      "uat", "stg",  "stage",
      "staging", "sandbox",     "sbx",         "lab",  "demo",  "preprod", "pre", "perf", "nonprod",
      "np",      "int",         "integration", "ci",   "trial", "d",       "t"};
  for (std::string_view w : kNonProduction) {
    if (word == w) return Environment::kNonProduction;
  }
  for (std::string_view w : kProduction) {
    if (word == w) return Environment::kProduction;
  }
  return std::nullopt;
}

// Single letters ("p", "d", "t") only count as a hostname's first word ("d-web-01").
bool IsSingleLetterStage(std::string_view word) { return word.size() == 1; }

}  // namespace

std::string_view EnvironmentName(Environment environment) {
  return environment == Environment::kProduction ? "production" : "non-production";
}

std::string_view RoleName(Role role) {
  for (size_t i = 0; i < kRoleNames.size(); ++i) {
    if (role == (1u << i)) return kRoleNames[i];
  }
  return "unknown";
}

std::vector<std::string_view> RoleNames(uint32_t roles) {
  std::vector<std::string_view> names;
  for (size_t i = 0; i < kRoleNames.size(); ++i) {
    if (roles & (1u << i)) names.push_back(kRoleNames[i]);
  }
  return names;
}

uint32_t RoleFromName(std::string_view name) {
  for (size_t i = 0; i < kRoleNames.size(); ++i) {
    if (name == kRoleNames[i]) return 1u << i;
  }
  return 0;
}

std::string_view DatabaseEngineName(DatabaseEngine engine) {
  switch (engine) {
    case DatabaseEngine::kNone: return "";
    case DatabaseEngine::kPostgreSQL: return "postgresql";
    case DatabaseEngine::kMySQL: return "mysql";
    case DatabaseEngine::kSqlServer: return "sqlserver";
    case DatabaseEngine::kOracle: return "oracle";
    case DatabaseEngine::kMongoDB: return "mongodb";
    case DatabaseEngine::kCassandra: return "cassandra";
    case DatabaseEngine::kOther: return "other";
  }
  return "";
}

DatabaseEngine DatabaseEngineFromName(std::string_view name) {
  if (name == "postgresql" || name == "postgres") return DatabaseEngine::kPostgreSQL;
  if (name == "mysql" || name == "mariadb") return DatabaseEngine::kMySQL;
  if (name == "sqlserver" || name == "mssql") return DatabaseEngine::kSqlServer;
  if (name == "oracle") return DatabaseEngine::kOracle;
  if (name == "mongodb") return DatabaseEngine::kMongoDB;
  if (name == "cassandra") return DatabaseEngine::kCassandra;
  if (name.empty()) return DatabaseEngine::kNone;
  return DatabaseEngine::kOther;
}

std::string_view ProtocolName(Protocol protocol) {
  return protocol == Protocol::kTcp ? "tcp" : "udp";
}

double MetricPercentiles::At(int percentile) const {
  if (percentile <= 50) return p50;
  if (percentile <= 95) return p95;
  if (percentile <= 99) return p99;
  return max;
}

Environment EnvironmentFromNames(std::string_view hostname, const std::vector<std::string>& tags,
                                 std::string* reason) {
  // 1. Tags: key=value or key:value with an environment-like key.
  for (const std::string& tag : tags) {
    std::string lower = Lower(tag);
    // A tag list may hold several ("env=dev;owner=x"): look at each part.
    size_t start = 0;
    while (start <= lower.size()) {
      size_t end = lower.find_first_of(";,", start);
      if (end == std::string::npos) end = lower.size();
      std::string_view part = std::string_view(lower).substr(start, end - start);
      size_t sep = part.find_first_of("=:");
      if (sep != std::string_view::npos) {
        std::string_view key = part.substr(0, sep);
        std::string_view value = part.substr(sep + 1);
        while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
        while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
        if (key == "env" || key == "environment" || key == "stage" || key == "tier" ||
            key == "lifecycle") {
          if (auto stage = StageOfWord(value)) {
            if (reason) *reason = fmt::format("tag `{}`", part);
            return *stage;
          }
        }
      }
      start = end + 1;
    }
  }
  // 2. Words of the hostname. Only the host part of an FQDN counts for single letters; any
  // label counts for whole words ("web01.dev.example.com").
  std::string lower = Lower(hostname);
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < lower.size()) {
    while (i < lower.size() && !std::isalpha(static_cast<unsigned char>(lower[i]))) ++i;
    size_t start = i;
    while (i < lower.size() && std::isalpha(static_cast<unsigned char>(lower[i]))) ++i;
    if (i > start) words.push_back(std::string_view(lower).substr(start, i - start));
  }
  for (size_t w = 0; w < words.size(); ++w) {
    if (IsSingleLetterStage(words[w]) && w != 0) continue;
    // A single-letter first word only counts when the name has more words ("p-web").
    if (IsSingleLetterStage(words[w]) && words.size() < 2) continue;
    if (auto stage = StageOfWord(words[w])) {
      if (reason) *reason = fmt::format("hostname word `{}`", words[w]);
      return *stage;
    }
  }
  if (reason) *reason = "no tag or hostname word names a stage: production (the safe default)";
  return Environment::kProduction;
}

void MakeNamesUnique(Estate* estate) {
  std::unordered_map<std::string, int> seen;
  seen.reserve(estate->servers.size());
  for (Server& server : estate->servers) {
    int& n = seen[server.name];
    if (++n > 1) {
      std::string renamed = fmt::format("{}#{}", server.name, n);
      estate->warnings.push_back(
          {server.source,
           fmt::format("two inventories name the host `{}`; this one is planned as `{}`: give "
                       "each host its own hostname, or remove the duplicate inventory",
                       server.name, renamed)});
      server.name = std::move(renamed);
    }
  }
}

}  // namespace ferry::plan
