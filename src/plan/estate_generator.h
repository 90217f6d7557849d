// Generated estates, for the tests, the benchmark and trying `ferry plan` without an estate of
// one's own (docs/plan.md, "Generated estates").
//
// ThreeTierEstate: 50 servers, fixed: production (2 DNS, 2 directory, monitoring, 2 load
// balancers, 6 web, 6 API, 4 workers, 3 caches, 3 PostgreSQL: a primary and two replicas) and
// non-production (a development stack that uses the production DNS and directory, and a test
// stack with its own DNS and monitoring, and an idle server). Baselines of varied coverage,
// two servers without one, RSA certificates on the web tier, end-of-life operating systems, a
// database with keyless tables and an external payment endpoint.
//
// LargeEstate: N servers in applications of about 20 (load balancer, web, API, workers, cache,
// database), 30% of applications non-production, shared DNS, directory and monitoring servers,
// API calls between applications (from a later application to an earlier one, so they form no
// cycle) and, in 1% of applications, a database that calls back its API (a strongly coupled
// group). Exactly `connections` connection records; deterministic for a seed.
//
// Thread-safety: pure functions.
#ifndef FERRY_PLAN_ESTATE_GENERATOR_H_
#define FERRY_PLAN_ESTATE_GENERATOR_H_

#include <cstdint>
#include <string>

#include "base/env.h"
#include "base/json.h"
#include "base/status.h"
#include "plan/estate.h"

namespace ferry::plan {

Estate ThreeTierEstate();

struct LargeEstateOptions {
  int32_t servers = 100'000;
  int64_t connections = 1'000'000;
  uint64_t seed = 42;
};
Estate LargeEstate(const LargeEstateOptions& options);

// Server `i` of `estate` as an inventory document of schema 1.0 (source kind "agent"), with
// its outbound connections (each server's inbound side is implied by the others').
Json InventoryOf(const Estate& estate, int32_t i);

// Writes one inventory per server into `dir` (created), named <hostname>.json.
[[nodiscard]] Status WriteInventories(const Estate& estate, const std::string& dir, Env* env);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_ESTATE_GENERATOR_H_
