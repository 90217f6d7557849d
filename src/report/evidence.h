// Signed evidence of a run: what was asked and what came of it (rows moved, verification), its
// events with their hash-chain links, the state of the whole event log (intact, head hash), any
// key migration report, signed with ML-DSA-65 and Ed25519 by a node's identity. An auditor checks
// it offline with `ferry evidence verify`: both signatures, the signer's fingerprint, and every
// event's hash recomputed from its content.
//
// File: {"format": "ferry-evidence", "version": 1, "evidence": {...}, "signatures": {...}}; the
// signed bytes are "ferry evidence v1\n" followed by the "evidence" object serialised with sorted
// keys and no spaces (nlohmann-json's dump()), which any JSON library can reproduce.
#ifndef FERRY_REPORT_EVIDENCE_H_
#define FERRY_REPORT_EVIDENCE_H_

#include <optional>
#include <string>

#include "crypto/identity.h"
#include "store/store.h"

namespace ferry::report {

[[nodiscard]] Result<std::string> ExportEvidence(Store& store, std::string_view run_id,
                                                 const crypto::Identity& signer, int64_t now_micros,
                                                 std::optional<std::string> keys_report_json = {});

struct EvidenceSummary {
  std::string run_id, run_kind, run_state;
  int64_t events = 0;
  bool log_intact = false;
  std::string log_head;
  std::string signer;  // fingerprint
  bool has_keys_report = false;
};

// Verifies `text` offline. With `expected_signer`, evidence signed by any other key set is refused.
[[nodiscard]] Result<EvidenceSummary> VerifyEvidence(std::string_view text,
                                                     std::string_view expected_signer = {});

}  // namespace ferry::report

#endif  // FERRY_REPORT_EVIDENCE_H_
