#include "plan/estate_file.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace ferry::plan {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr size_t kWarningsListed = 20;

// Splits on blanks; `text` outlives the views.
size_t SplitFields(std::string_view line, std::string_view* fields, size_t max_fields) {
  size_t count = 0, i = 0;
  while (i < line.size() && count < max_fields) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    fields[count++] = line.substr(start, i - start);
  }
  return count;
}

template <typename T>
bool ParseNumber(std::string_view text, T* value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool ParsePercentiles(std::string_view text, MetricPercentiles* m) {
  double v[4];
  for (int k = 0; k < 4; ++k) {
    size_t colon = text.find(':');
    std::string_view part = k < 3 ? text.substr(0, colon) : text;
    if ((k < 3 && colon == std::string_view::npos) || !ParseNumber(part, &v[k]) || v[k] < 0) {
      return false;
    }
    if (k < 3) text.remove_prefix(colon + 1);
  }
  m->p50 = v[0];
  m->p95 = v[1];
  m->p99 = v[2];
  m->max = v[3];
  return true;
}

template <typename F>
void ForEachPart(std::string_view text, char separator, F&& f) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) f(text.substr(start, end - start));
    start = end + 1;
  }
}

// Parses a server line's key=value fields into `server`; returns what was wrong, or "".
std::string ParseServerFields(const std::string_view* fields, size_t count, Server* server) {
  std::optional<MetricPercentiles> cpu, memory, rx, tx;
  std::optional<std::pair<double, double>> baseline;  // coverage, days
  std::string environment_tag;
  for (size_t k = 2; k < count; ++k) {
    std::string_view field = fields[k];
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos) return fmt::format("`{}` is not key=value", field);
    const std::string_view key = field.substr(0, eq);
    const std::string_view value = field.substr(eq + 1);
    auto bad = [&](std::string_view expected) {
      return fmt::format("`{}`: expected {}", field, expected);
    };
    if (key == "env") {
      environment_tag = fmt::format("env={}", value);
    } else if (key == "os") {
      const size_t colon = value.find(':');
      server->os_id = std::string(value.substr(0, colon));
      if (colon != std::string_view::npos)
        server->os_version_id = std::string(value.substr(colon + 1));
      server->os_name = server->os_id + " " + server->os_version_id;
    } else if (key == "arch") {
      server->architecture = std::string(value);
    } else if (key == "cpus") {
      if (!ParseNumber(value, &server->logical_cpus) || server->logical_cpus < 0) {
        return bad("a count of CPUs");
      }
    } else if (key == "mem_gib" || key == "disk_gb" || key == "used_gb") {
      double number = 0;
      if (!ParseNumber(value, &number) || number < 0) return bad("a size");
      if (key == "mem_gib") server->memory_bytes = static_cast<uint64_t>(number * kGiB);
      if (key == "disk_gb") server->disk_bytes = static_cast<uint64_t>(number * 1e9);
      if (key == "used_gb") server->disk_used_bytes = static_cast<uint64_t>(number * 1e9);
    } else if (key == "roles") {
      std::string unknown;
      ForEachPart(value, ',', [&](std::string_view role) {
        const uint32_t bit = RoleFromName(role);
        if (bit == 0) unknown = std::string(role);
        server->roles |= bit;
      });
      if (!unknown.empty()) return fmt::format("unknown role `{}` in `{}`", unknown, field);
    } else if (key == "db") {
      server->database_engine = DatabaseEngineFromName(value);
      server->roles |= kRoleDatabase;
    } else if (key == "services") {
      if (!ParseNumber(value, &server->listening_services)) return bad("a count");
    } else if (key == "ip") {
      ForEachPart(value, ',', [&](std::string_view ip) { server->addresses.emplace_back(ip); });
    } else if (key == "tags") {
      ForEachPart(value, ';', [&](std::string_view tag) { server->tags.emplace_back(tag); });
    } else if (key == "baseline") {
      const size_t colon = value.find(':');
      double coverage = 0, days = 0;
      if (colon == std::string_view::npos || !ParseNumber(value.substr(0, colon), &coverage) ||
          !ParseNumber(value.substr(colon + 1), &days) || coverage < 0 || coverage > 1 ||
          days <= 0) {
        return bad("COVERAGE:DAYS, coverage from 0 to 1");
      }
      baseline = {coverage, days};
    } else if (key == "cpu" || key == "mem_used_gib" || key == "net_rx" || key == "net_tx") {
      MetricPercentiles m;
      if (!ParsePercentiles(value, &m)) return bad("P50:P95:P99:MAX");
      if (key == "cpu") cpu = m;
      if (key == "mem_used_gib") {
        m.p50 *= kGiB;
        m.p95 *= kGiB;
        m.p99 *= kGiB;
        m.max *= kGiB;
        memory = m;
      }
      if (key == "net_rx") rx = m;
      if (key == "net_tx") tx = m;
    } else if (key == "certs") {
      std::string error;
      ForEachPart(value, ',', [&](std::string_view cert) {
        CertificateNote note;
        const size_t colon = cert.find(':');
        note.key_type = std::string(cert.substr(0, colon));
        note.path = fmt::format("certificate {}", server->certificates.size() + 1);
        note.quantum_safe =
            note.key_type.starts_with("ML-DSA") || note.key_type.starts_with("SLH-DSA");
        if (colon != std::string_view::npos) {
          int64_t days = 0;
          if (!ParseNumber(cert.substr(colon + 1), &days)) error = std::string(cert);
          note.days_to_expiry = days;
        }
        server->certificates.push_back(std::move(note));
      });
      if (!error.empty()) return bad("KEY:DAYS_TO_EXPIRY");
    } else if (key == "nokeys") {
      int64_t tables = 0;
      if (!ParseNumber(value, &tables) || tables < 0) return bad("a count of tables");
      server->tables_without_keys = tables;
    } else {
      return fmt::format("unknown key `{}`", key);
    }
  }
  if (baseline) {
    PerformanceBaseline b;
    b.coverage = baseline->first;
    b.duration_seconds = baseline->second * 86400;
    b.expected_samples = static_cast<int64_t>(std::llround(baseline->second * 1440));  // 1/min
    const int64_t samples = static_cast<int64_t>(std::llround(b.coverage * b.expected_samples));
    for (auto* metric : {&cpu, &memory, &rx, &tx}) {
      if (*metric) (*metric)->samples = samples;
    }
    b.cpu_percent = cpu;
    b.memory_used_bytes = memory;
    b.network_rx_bytes_per_second = rx;
    b.network_tx_bytes_per_second = tx;
    server->baseline = b;
  } else if (cpu || memory || rx || tx) {
    return "metrics without `baseline=COVERAGE:DAYS`";
  }
  std::vector<std::string> tags = server->tags;
  if (!environment_tag.empty()) tags.insert(tags.begin(), environment_tag);
  server->environment = EnvironmentFromNames(server->name, tags, &server->environment_reason);
  return "";
}

}  // namespace

bool LooksLikeEstateFile(std::string_view text) {
  const size_t start = text.find_first_not_of(" \t\r\n");
  return start != std::string_view::npos && text.substr(start).starts_with(kEstateFileMagic);
}

Status ParseEstateFile(std::string_view text, const std::string& source, Estate* estate) {
  size_t pos = 0;
  size_t line_number = 0;
  bool header = false;
  int32_t current = -1;          // the server connection lines belong to
  bool skipping_server = false;  // its line was malformed
  std::vector<std::string> problems;
  size_t problem_count = 0;
  auto problem = [&](std::string message) {
    ++problem_count;
    if (problems.size() < kWarningsListed) problems.push_back(std::move(message));
  };
  std::string_view fields[64];
  {
    // One connection a line: reserve them all at once rather than grow a million times.
    size_t lines = 0;
    for (size_t at = text.find("\n>"); at != std::string_view::npos;
         at = text.find("\n>", at + 2)) {
      ++lines;
    }
    estate->connections.reserve(estate->connections.size() + lines);
  }
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    const size_t count = SplitFields(line, fields, 64);
    if (!header) {
      int version = 0;
      if (fields[0] != kEstateFileMagic || count < 2 || !ParseNumber(fields[1], &version)) {
        return InvalidArgument(
            "{}:{}: not an estate file: it must start with `{} {}`; pass inventories written "
            "by `ferry discover`, or an estate file written by plan_bench --write-estate",
            source, line_number, kEstateFileMagic, kEstateFileVersion);
      }
      if (version > kEstateFileVersion) {
        return FailedPrecondition(
            "{}: estate file version {} is newer than this ferry reads ({}): upgrade ferry, or "
            "write the file again with this ferry's plan_bench --write-estate",
            source, version, kEstateFileVersion);
      }
      header = true;
      continue;
    }
    if (fields[0] == ">" || fields[0] == "<") {
      if (skipping_server) continue;
      if (current < 0) {
        problem(
            fmt::format("{}:{}: a connection line before any `server` line: skipped; put "
                        "each server's connections after its line",
                        source, line_number));
        continue;
      }
      ObservedConnection c;
      uint32_t port = 0;
      if (count < 4 || !ParseNumber(fields[2], &port) || port > 65535 ||
          (fields[3] != "tcp" && fields[3] != "udp") ||
          (count >= 5 && !ParseNumber(fields[4], &c.count))) {
        problem(
            fmt::format("{}:{}: `{}` is not `{} ADDRESS PORT tcp|udp [COUNT [SERVICE]]`: "
                        "skipped; fix the line",
                        source, line_number, line, fields[0]));
        continue;
      }
      c.port = static_cast<uint16_t>(port);
      c.protocol = fields[3] == "udp" ? Protocol::kUdp : Protocol::kTcp;
      if (count >= 6) c.service = std::string(fields[5]);
      if (fields[0] == ">") {
        c.client = current;
        c.remote_address = std::string(fields[1]);
      } else {
        c.server = current;
        c.client_address = std::string(fields[1]);
      }
      estate->connections.push_back(std::move(c));
      continue;
    }
    if (fields[0] == "server") {
      if (count < 2) {
        problem(fmt::format("{}:{}: `server` without a name: skipped with its connections", source,
                            line_number));
        skipping_server = true;
        continue;
      }
      Server server;
      server.name = std::string(fields[1]);
      server.source = fmt::format("{}:{}", source, line_number);
      if (count == 64) {
        problem(
            fmt::format("{}:{}: more than 62 fields: the rest are ignored", source, line_number));
      }
      std::string error = ParseServerFields(fields, count, &server);
      if (!error.empty()) {
        problem(fmt::format("{}:{}: server {}: {}: skipped with its connections; fix the line",
                            source, line_number, server.name, error));
        skipping_server = true;
        continue;
      }
      skipping_server = false;
      current = static_cast<int32_t>(estate->servers.size());
      estate->servers.push_back(std::move(server));
      continue;
    }
    problem(fmt::format("{}:{}: `{}` starts no known line (server, >, <): skipped", source,
                        line_number, fields[0]));
  }
  if (!header) {
    return InvalidArgument("{}: empty estate file: it holds no `{} {}` line", source,
                           kEstateFileMagic, kEstateFileVersion);
  }
  for (std::string& p : problems) estate->warnings.push_back({source, std::move(p)});
  if (problem_count > problems.size()) {
    estate->warnings.push_back({source, fmt::format("{}: and {} more malformed lines", source,
                                                    problem_count - problems.size())});
  }
  return OkStatus();
}

std::string FormatEstateFile(const Estate& estate) {
  fmt::memory_buffer out;
  fmt::format_to(std::back_inserter(out), "{} {}\n", kEstateFileMagic, kEstateFileVersion);
  // Connections grouped by the server they belong to.
  std::vector<std::vector<size_t>> by_server(estate.servers.size());
  for (size_t k = 0; k < estate.connections.size(); ++k) {
    const ObservedConnection& c = estate.connections[k];
    const int32_t owner = c.client >= 0 ? c.client : c.server;
    if (owner >= 0) by_server[owner].push_back(k);
  }
  auto percentiles = [&](std::string_view key, const std::optional<MetricPercentiles>& m,
                         double scale) {
    if (!m) return;
    fmt::format_to(std::back_inserter(out), " {}={:g}:{:g}:{:g}:{:g}", key, m->p50 / scale,
                   m->p95 / scale, m->p99 / scale, m->max / scale);
  };
  for (size_t i = 0; i < estate.servers.size(); ++i) {
    const Server& s = estate.servers[i];
    auto it = std::back_inserter(out);
    fmt::format_to(it, "server {} env={}", s.name,
                   s.environment == Environment::kProduction ? "production" : "nonprod");
    if (!s.os_id.empty()) fmt::format_to(it, " os={}:{}", s.os_id, s.os_version_id);
    fmt::format_to(it, " arch={} cpus={} mem_gib={:g} disk_gb={:g} used_gb={:g}", s.architecture,
                   s.logical_cpus, static_cast<double>(s.memory_bytes) / kGiB,
                   static_cast<double>(s.disk_bytes) / 1e9,
                   static_cast<double>(s.disk_used_bytes) / 1e9);
    std::vector<std::string_view> roles = RoleNames(s.roles & ~kRoleDatabase);
    if (!roles.empty()) fmt::format_to(it, " roles={}", fmt::join(roles, ","));
    if (s.roles & kRoleDatabase) {
      fmt::format_to(it, " db={}",
                     s.database_engine == DatabaseEngine::kNone
                         ? std::string_view("other")
                         : DatabaseEngineName(s.database_engine));
    }
    if (s.listening_services > 0) fmt::format_to(it, " services={}", s.listening_services);
    if (!s.addresses.empty()) fmt::format_to(it, " ip={}", fmt::join(s.addresses, ","));
    if (!s.tags.empty()) fmt::format_to(it, " tags={}", fmt::join(s.tags, ";"));
    if (s.baseline) {
      const PerformanceBaseline& b = *s.baseline;
      fmt::format_to(it, " baseline={:g}:{:g}", b.coverage, b.duration_seconds / 86400);
      percentiles("cpu", b.cpu_percent, 1);
      percentiles("mem_used_gib", b.memory_used_bytes, kGiB);
      percentiles("net_rx", b.network_rx_bytes_per_second, 1);
      percentiles("net_tx", b.network_tx_bytes_per_second, 1);
    }
    if (!s.certificates.empty()) {
      fmt::format_to(it, " certs=");
      for (size_t k = 0; k < s.certificates.size(); ++k) {
        std::string key = s.certificates[k].key_type;
        for (char& ch : key) {
          if (ch == ' ' || ch == ':' || ch == ',') ch = '-';
        }
        fmt::format_to(it, "{}{}:{}", k ? "," : "", key.empty() ? "unknown" : key,
                       s.certificates[k].days_to_expiry.value_or(365));
      }
    }
    if (s.tables_without_keys) fmt::format_to(it, " nokeys={}", *s.tables_without_keys);
    out.push_back('\n');
    for (size_t k : by_server[i]) {
      const ObservedConnection& c = estate.connections[k];
      const bool outbound = c.client >= 0;
      std::string address = outbound ? c.remote_address : c.client_address;
      if (outbound && c.server >= 0 && address.empty() &&
          !estate.servers[c.server].addresses.empty()) {
        address = estate.servers[c.server].addresses.front();
      }
      fmt::format_to(std::back_inserter(out), "{} {} {} {} {}{}{}\n", outbound ? ">" : "<", address,
                     c.port, ProtocolName(c.protocol), c.count, c.service.empty() ? "" : " ",
                     c.service);
    }
  }
  return fmt::to_string(out);
}

}  // namespace ferry::plan
