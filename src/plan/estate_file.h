// The estate file: a compact text form of an estate, for estates too large to keep as one JSON
// inventory per host (the benchmark's 100,000 servers and 1,000,000 connections are 40 MB of
// it), and for writing a test estate by hand. `ferry plan --inventory FILE` reads it like a
// directory of inventories; plan_bench writes it (docs/plan.md, "Estate file").
//
//   ferry-estate 1
//   # a comment
//   server prd-web-01 env=production os=debian:12 arch=x86_64 cpus=4 mem_gib=16 disk_gb=100
//          used_gb=40 roles=web ip=10.0.1.5 baseline=0.93:14 cpu=12:35:52:80
//          mem_used_gib=6:9:10:11 net_rx=20000:90000:120000:200000 net_tx=... certs=RSA-2048:200
//   > 10.0.2.7 8080 tcp 12 http        (prd-web-01 connected to 10.0.2.7:8080, 12 sockets)
//   < 10.0.0.9 443 tcp 3 https         (10.0.0.9 connected to prd-web-01:443)
//
// A server is one line (wrapped above for reading); its connections follow it. Keys of a server
// line, all optional: env, os (ID:VERSION), arch, cpus, mem_gib, disk_gb, used_gb, roles
// (comma-separated role names of estate.h), db (engine), services, ip (comma-separated),
// tags (';'-separated), baseline (COVERAGE:DAYS, coverage 0..1), cpu (percent), mem_used_gib,
// net_rx and net_tx (bytes/s) as P50:P95:P99:MAX, certs (KEY:DAYS_TO_EXPIRY, comma-separated;
// a key type starting with ML-DSA or SLH-DSA is quantum-safe), nokeys (tables without keys).
//
// Thread-safety: pure functions.
#ifndef FERRY_PLAN_ESTATE_FILE_H_
#define FERRY_PLAN_ESTATE_FILE_H_

#include <string>
#include <string_view>

#include "base/status.h"
#include "plan/estate.h"

namespace ferry::plan {

inline constexpr std::string_view kEstateFileMagic = "ferry-estate";
inline constexpr int kEstateFileVersion = 1;

// Whether `text` starts like an estate file.
bool LooksLikeEstateFile(std::string_view text);

// Adds the servers and connections of an estate file to `estate`. A newer version, or text that
// is not an estate file, is an error; a malformed line skips that server (with its connection
// lines) or that connection, with a warning naming `source`, the line and the way out.
[[nodiscard]] Status ParseEstateFile(std::string_view text, const std::string& source,
                                     Estate* estate);

// The estate as an estate file (connections with a known client as `>`, others as `<`).
std::string FormatEstateFile(const Estate& estate);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_ESTATE_FILE_H_
