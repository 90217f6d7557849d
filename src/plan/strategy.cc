#include "plan/strategy.h"

#include <cctype>

#include <fmt/format.h>

#include "plan/sizing.h"

namespace ferry::plan {
namespace {

constexpr double kRetireTrafficBytesPerSecond = 1024;
constexpr double kRetireMinimumDays = 30;
constexpr int64_t kEncapsulateDaysPastEndOfLife = 3 * 365;

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view ManagedDatabase(DatabaseEngine engine) {
  switch (engine) {
    case DatabaseEngine::kPostgreSQL:
      return "managed PostgreSQL (Amazon RDS/Aurora PostgreSQL, Azure Database for PostgreSQL "
             "flexible server, Cloud SQL for PostgreSQL)";
    case DatabaseEngine::kMySQL:
      return "managed MySQL (Amazon RDS/Aurora MySQL, Azure Database for MySQL flexible server, "
             "Cloud SQL for MySQL)";
    case DatabaseEngine::kSqlServer:
      return "managed SQL Server (Amazon RDS for SQL Server, Azure SQL Managed Instance, Cloud "
             "SQL for SQL Server)";
    case DatabaseEngine::kOracle:
      return "managed Oracle (Amazon RDS for Oracle, Oracle Database@Azure, Bare Metal "
             "Solution / Oracle Database@Google Cloud)";
    case DatabaseEngine::kMongoDB:
      return "managed document database (Amazon DocumentDB, Azure Cosmos DB for MongoDB, "
             "MongoDB Atlas on Google Cloud)";
    case DatabaseEngine::kCassandra:
      return "managed wide-column store (Amazon Keyspaces, Azure Managed Instance for Apache "
             "Cassandra, Bigtable with its Cassandra interface)";
    case DatabaseEngine::kOther:
    case DatabaseEngine::kNone: break;
  }
  return "the cloud's managed database service for its engine";
}

}  // namespace

std::string_view StrategyName(Strategy strategy) {
  switch (strategy) {
    case Strategy::kRehost: return "rehost";
    case Strategy::kReplatform: return "replatform";
    case Strategy::kRefactor: return "refactor";
    case Strategy::kRepurchase: return "repurchase";
    case Strategy::kRetire: return "retire";
    case Strategy::kRetain: return "retain";
    case Strategy::kEncapsulate: return "encapsulate";
  }
  return "";
}

bool MovesToCloud(Strategy strategy) {
  return strategy == Strategy::kRehost || strategy == Strategy::kReplatform ||
         strategy == Strategy::kRefactor || strategy == Strategy::kRepurchase;
}

StrategyChoice SuggestStrategy(const Server& server, const StrategyFacts& facts) {
  StrategyChoice choice;
  const PerformanceBaseline* baseline = server.baseline ? &*server.baseline : nullptr;

  // Retire: nobody uses it, and a month of measurements says it is idle.
  if (facts.dependents == 0 && baseline != nullptr && baseline->sampled &&
      baseline->duration_seconds >= kRetireMinimumDays * 86400 &&
      baseline->network_rx_bytes_per_second && baseline->network_tx_bytes_per_second) {
    const double traffic =
        baseline->network_rx_bytes_per_second->p95 + baseline->network_tx_bytes_per_second->p95;
    if (traffic < kRetireTrafficBytesPerSecond) {
      choice.strategy = Strategy::kRetire;
      choice.target = "decommission";
      choice.reasons.push_back(fmt::format(
          "no server of the estate depends on it, and over {:.0f} days its network traffic "
          "stayed under {:.0f} B/s at p95 ({:.0f} B/s): no traffic for {} days or more",
          baseline->duration_seconds / 86400, kRetireTrafficBytesPerSecond, traffic,
          kRetireMinimumDays));
      choice.reasons.push_back("confirm with its owner, archive its data, then switch it off");
      return choice;
    }
  }

  // Retain: asked for by a tag.
  for (const std::string& tag : server.tags) {
    const std::string lower = Lower(tag);
    for (std::string_view word :
         {"retain", "keep-on-prem", "on-premises", "onprem", "do-not-migrate"}) {
      if (lower.find(word) != std::string::npos) {
        choice.strategy = Strategy::kRetain;
        choice.target = "stay on premises";
        choice.reasons.push_back(fmt::format("tagged `{}`", tag));
        return choice;
      }
    }
  }

  // Encapsulate: legacy platforms and mainframes stay, behind an API.
  const bool legacy_platform = facts.lifecycle && facts.lifecycle->legacy_platform;
  if (legacy_platform || (server.roles & kRoleMainframe) || server.architecture == "s390x") {
    choice.strategy = Strategy::kEncapsulate;
    choice.target = "keep it running, expose its functions through an API gateway, replace later";
    choice.reasons.push_back(
        legacy_platform
            ? fmt::format("{} is a platform no public cloud runs as a virtual machine",
                          facts.lifecycle->product)
            : std::string("mainframe workload (s390x, z/OS, CICS/IMS): it cannot be rehosted"));
    return choice;
  }
  if (facts.days_to_end_of_life && *facts.days_to_end_of_life < -kEncapsulateDaysPastEndOfLife) {
    choice.strategy = Strategy::kEncapsulate;
    choice.target = "keep it running, expose its functions through an API gateway, replace later";
    choice.reasons.push_back(fmt::format(
        "{} reached its end of life on {}, more than 3 years ago: moving it as it is carries its "
        "risks to the cloud, and upgrading it is a project of its own",
        facts.lifecycle->product, facts.lifecycle->end_date));
    return choice;
  }

  // Retain: an architecture no cloud offers.
  const std::string architecture = NormalizeArchitecture(server.architecture);
  if (architecture != "x86_64" && architecture != "aarch64") {
    choice.strategy = Strategy::kRetain;
    choice.target = "stay on premises until it is replaced";
    choice.reasons.push_back(fmt::format(
        "architecture `{}`: no public cloud offers virtual machines of it", server.architecture));
    return choice;
  }

  if (server.roles & kRoleDatabase) {
    choice.strategy = Strategy::kReplatform;
    choice.target = ManagedDatabase(server.database_engine);
    choice.reasons.push_back(fmt::format(
        "database server ({}): a managed database takes over backups, patching, replication and "
        "failover",
        server.database_engine == DatabaseEngine::kNone
            ? std::string("engine unknown")
            : std::string(DatabaseEngineName(server.database_engine))));
    choice.reasons.push_back("copy and verify the data with `ferry copy` and `ferry verify`");
    return choice;
  }
  if (server.roles & kRoleCache) {
    choice.strategy = Strategy::kReplatform;
    choice.target = "managed cache (Amazon ElastiCache, Azure Cache for Redis, Memorystore)";
    choice.reasons.push_back(
        "cache server (Redis/Memcached): a managed cache is the same "
        "protocol without the servers to run");
    return choice;
  }
  if (server.roles & kRoleQueue) {
    choice.strategy = Strategy::kReplatform;
    choice.target =
        "managed message broker (Amazon MQ/MSK, Azure Service Bus/Event Hubs, "
        "Pub/Sub or Managed Kafka)";
    choice.reasons.push_back("message broker: a managed broker keeps the protocol");
    return choice;
  }
  if (server.roles & kRoleLoadBalancer) {
    choice.strategy = Strategy::kReplatform;
    choice.target =
        "the cloud's load balancer (Elastic Load Balancing, Azure Load Balancer / "
        "Application Gateway, Cloud Load Balancing)";
    choice.reasons.push_back(
        "load balancer (HAProxy, keepalived...): the cloud's load balancer "
        "replaces the servers");
    return choice;
  }
  if (server.roles & kRoleDns) {
    choice.strategy = Strategy::kRepurchase;
    choice.target = "managed DNS (Route 53, Azure DNS, Cloud DNS)";
    choice.reasons.push_back("DNS server: zones move to the cloud's managed DNS service");
    return choice;
  }
  if (server.roles & kRoleDirectory) {
    choice.strategy = Strategy::kRepurchase;
    choice.target =
        "managed directory (AWS Managed Microsoft AD, Microsoft Entra Domain "
        "Services, Managed Service for Microsoft AD)";
    choice.reasons.push_back(
        "directory server (LDAP/Kerberos): a managed directory service "
        "replaces it");
    return choice;
  }
  if (server.roles & kRoleMonitoring) {
    choice.strategy = Strategy::kRepurchase;
    choice.target =
        "the cloud's monitoring service (CloudWatch / Managed Prometheus, Azure "
        "Monitor, Cloud Monitoring)";
    choice.reasons.push_back("monitoring server: the cloud's monitoring service replaces it");
    return choice;
  }
  if (server.roles & kRoleContainerHost) {
    choice.strategy = Strategy::kRefactor;
    choice.target = "managed Kubernetes (EKS, AKS, GKE)";
    choice.reasons.push_back(
        "container host (dockerd/kubelet): its workloads already run in "
        "containers; re-architect them onto managed Kubernetes");
    return choice;
  }
  choice.strategy = Strategy::kRehost;
  choice.target = "virtual machine of the recommended size";
  choice.reasons.push_back(
      "no rule for a managed service matched: lift and shift keeps it as it "
      "is, the quickest path");
  if (facts.days_to_end_of_life && *facts.days_to_end_of_life < 0) {
    choice.reasons.push_back(fmt::format("upgrade {} (end of life {}) on the way",
                                         facts.lifecycle->product, facts.lifecycle->end_date));
  }
  return choice;
}

}  // namespace ferry::plan
