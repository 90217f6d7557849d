// The risk register of a plan: each risk with its probability and impact (1 to 5), its level
// and its mitigation. The level follows the score probability x impact on a 5x5 matrix:
// 1-4 low, 5-9 medium, 10-14 high, 15-25 critical. docs/plan.md ("Risks") lists what raises
// each risk and the figures it gets:
//
//   data-loss      a database server with tables without a primary or unique key (when the
//                  inventory says), which a copy cannot verify or resume row by row
//   downtime       a strongly coupled group of 5 servers or more (one cutover for all of them;
//                  more servers, more probable; its most critical member sets the impact)
//   quantum        RSA and ECC certificates (harvest now, decrypt later)
//   end-of-life    an OS past its end of life, or within a year of it (table in os_lifecycle.h)
//   certificate    a certificate expired or expiring within 30 days
//   sizing         no performance baseline (sized as on premises), or a baseline covering 40%
//                  or less of its expected samples; no instance type big enough
//   dependency     connections to addresses outside the inventory; non-production servers
//                  depending on production ones; a mixed-environment group
//
// Thread-safety: pure function.
#ifndef FERRY_PLAN_RISK_H_
#define FERRY_PLAN_RISK_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::plan {

// A risk concerns one server or several: per-server risks of the same kind, figures and
// mitigation are one entry listing all the servers concerned.
struct Risk {
  std::string id;        // "R0001", in register order
  std::string category;  // "data-loss", "downtime", "quantum", "end-of-life", ...
  std::string title;     // one line, naming the server(s) (the first five, and how many more)
  std::vector<int32_t> servers;
  int probability = 1;  // 1 rare .. 5 almost certain
  int impact = 1;       // 1 negligible .. 5 severe
  std::string mitigation;

  int score() const { return probability * impact; }
};

// "low", "medium", "high" or "critical" for a score of 1..25.
std::string_view RiskLevel(int score);

struct Estate;
struct Plan;
// The register, most severe first (score descending, then category and first server).
std::vector<Risk> BuildRiskRegister(const Estate& estate, const Plan& plan);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_RISK_H_
