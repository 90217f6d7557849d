// Signed checkpoints of the event log: the node's identity signs (ML-DSA-65 and Ed25519) the
// log's head (sequence number and hash) and the signature is itself appended to the log as a
// `log.checkpoint` event. Every event up to a checkpoint is then bound to the signer: rewriting
// history means recomputing every hash after the change *and* forging the signatures.
#ifndef FERRY_REPORT_CHECKPOINT_H_
#define FERRY_REPORT_CHECKPOINT_H_

#include <string>
#include <vector>

#include "crypto/identity.h"
#include "store/store.h"

namespace ferry::report {

// Signs the current head and appends the checkpoint event; returns it.
[[nodiscard]] Result<Event> SignCheckpoint(Store& store, const crypto::Identity& signer,
                                           std::string_view actor);

struct CheckpointReport {
  int64_t checkpoints = 0;
  int64_t last_checkpointed_seq = 0;
  std::vector<std::string> problems;  // one line each; empty when every checkpoint holds
};

// Checks every checkpoint in the log: its signatures (by `expected_signer` when given), and that
// the event it names still has the hash it signed.
[[nodiscard]] Result<CheckpointReport> VerifyCheckpoints(Store& store,
                                                         std::string_view expected_signer = {});

}  // namespace ferry::report

#endif  // FERRY_REPORT_CHECKPOINT_H_
