#include "report/checkpoint.h"

#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crypto/classical.h"
#include "crypto/pq.h"

namespace ferry::report {
namespace {

constexpr std::string_view kContext = "ferry-log-checkpoint-v1";

crypto::Bytes Message(int64_t seq, std::string_view hash) {
  const std::string text = fmt::format("ferry log checkpoint v1\n{}\n{}", seq, hash);
  return crypto::Bytes(text.begin(), text.end());
}

}  // namespace

Result<Event> SignCheckpoint(Store& store, const crypto::Identity& signer, std::string_view actor) {
  FERRY_ASSIGN_OR_RETURN(EventLogReport log, store.VerifyEventLog());
  if (!log.intact) {
    return Err(FailedPrecondition(
        "the event log is broken ({}): a checkpoint would sign a tampered history; run "
        "`ferry store verify-log` and investigate first",
        log.problems.empty() ? "" : log.problems.front()));
  }
  if (log.events_checked == 0)
    return Err(FailedPrecondition("the event log is empty: nothing to checkpoint"));
  const int64_t seq = log.events_checked;  // seq runs 1, 2, 3, ... without gaps
  const crypto::Bytes message = Message(seq, log.head_hash);
  FERRY_ASSIGN_OR_RETURN(crypto::DualSignature sig, crypto::SignBoth(signer, message, kContext));
  return store.AppendEvent({.run_id = "",
                            .actor = std::string(actor),
                            .kind = "log.checkpoint",
                            .payload = {{"seq", seq},
                                        {"hash", log.head_hash},
                                        {"signer", signer.pub.Fingerprint()},
                                        {"ml_dsa_65_public", crypto::Hex(signer.pub.ml_dsa_65)},
                                        {"ed25519_public", crypto::Hex(signer.pub.ed25519)},
                                        {"xwing_public", crypto::Hex(signer.pub.xwing)},
                                        {"ml_dsa_65", crypto::Hex(sig.ml_dsa_65)},
                                        {"ed25519", crypto::Hex(sig.ed25519)}}});
}

Result<CheckpointReport> VerifyCheckpoints(Store& store, std::string_view expected_signer) {
  CheckpointReport report;
  std::map<int64_t, std::string> hashes;
  std::vector<Event> checkpoints;
  int64_t after = 0;
  while (true) {
    FERRY_ASSIGN_OR_RETURN(std::vector<Event> page, store.ReadEvents(after, 1000));
    if (page.empty()) break;
    for (Event& e : page) {
      hashes[e.seq] = e.hash;
      after = e.seq;
      if (e.kind == "log.checkpoint") checkpoints.push_back(std::move(e));
    }
  }
  for (const Event& c : checkpoints) {
    ++report.checkpoints;
    const nlohmann::json p = nlohmann::json::parse(c.payload, nullptr, false);
    auto problem = [&](std::string text) {
      report.problems.push_back(fmt::format("checkpoint at event {}: {}", c.seq, text));
    };
    if (!p.is_object()) {
      problem("its payload is not JSON");
      continue;
    }
    crypto::PublicIdentity pub;
    auto hex = [&](const char* key) {
      return crypto::FromHex(p.value(key, "")).value_or(crypto::Bytes{});
    };
    pub.ml_dsa_65 = hex("ml_dsa_65_public");
    pub.ed25519 = hex("ed25519_public");
    pub.xwing = hex("xwing_public");
    const int64_t seq = p.value("seq", int64_t{0});
    const std::string hash = p.value("hash", "");
    if (pub.Fingerprint() != p.value("signer", "")) {
      problem("its keys are not those of the signer it names");
      continue;
    }
    if (!expected_signer.empty() && pub.Fingerprint() != expected_signer) {
      problem(
          fmt::format("signed by {}, not by the expected {}", pub.Fingerprint(), expected_signer));
      continue;
    }
    const crypto::Bytes message = Message(seq, hash);
    if (!crypto::FailingSignatures(pub, message, {hex("ml_dsa_65"), hex("ed25519")}, kContext)
             .empty()) {
      problem("its signature does not verify: the checkpoint was edited");
      continue;
    }
    auto it = hashes.find(seq);
    if (it == hashes.end()) {
      problem(fmt::format("event {}, which it signed, is gone", seq));
    } else if (it->second != hash) {
      problem(fmt::format(
          "event {} no longer has the hash it signed: history before the checkpoint was rewritten",
          seq));
    } else {
      report.last_checkpointed_seq = std::max(report.last_checkpointed_seq, seq);
    }
  }
  return report;
}

}  // namespace ferry::report
