// The suggested migration strategy of each server: one of the "6 Rs" (rehost, replatform,
// refactor, repurchase, retire, retain; AWS Prescriptive Guidance, "Migration strategies"),
// plus encapsulate (keep a legacy system and wrap it behind an API). Rules, first match wins;
// docs/plan.md ("Strategy") lists them with their reasons:
//
//   retire       nothing depends on it and the baseline (30 days or more) shows less than
//                1 KiB/s of network traffic at p95
//   retain       a tag asks for it (retain, keep, on-premises), or an architecture no public
//                cloud offers (ppc64, sparc, ...)
//   encapsulate  a legacy platform (AIX, HP-UX, Solaris, z/OS, IBM i), a mainframe, or an OS
//                more than 3 years past its end of life
//   replatform   database -> managed database; cache -> managed cache; queue -> managed
//                broker; load balancer -> the cloud's load balancer
//   repurchase   DNS -> managed DNS; directory -> managed directory; monitoring -> the
//                cloud's monitoring service
//   refactor     a container host (dockerd, kubelet) -> managed Kubernetes
//   rehost       everything else: lift and shift to a virtual machine
//
// Thread-safety: pure function.
#ifndef FERRY_PLAN_STRATEGY_H_
#define FERRY_PLAN_STRATEGY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plan/estate.h"
#include "plan/os_lifecycle.h"

namespace ferry::plan {

enum class Strategy : uint8_t {
  kRehost,
  kReplatform,
  kRefactor,
  kRepurchase,
  kRetire,
  kRetain,
  kEncapsulate
};
std::string_view StrategyName(Strategy strategy);

// Whether the servers of a strategy move to the cloud (and are sized and priced there).
bool MovesToCloud(Strategy strategy);

struct StrategyChoice {
  Strategy strategy = Strategy::kRehost;
  // "managed PostgreSQL (Amazon RDS, ...)", "virtual machine of the recommended size": a
  // constant text (static storage), shared by every server with that target.
  std::string_view target;
  std::vector<std::string> reasons;
};

struct StrategyFacts {
  int dependents = 0;  // servers that depend on this one
  std::optional<OsLifecycle> lifecycle;
  std::optional<int64_t> days_to_end_of_life;  // negative once past
};

StrategyChoice SuggestStrategy(const Server& server, const StrategyFacts& facts);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_STRATEGY_H_
