#include "report/evidence.h"

#include <nlohmann/json.hpp>

#include "crypto/classical.h"
#include "crypto/pq.h"
#include "store/event_chain.h"

namespace ferry::report {
namespace {

using nlohmann::json;

constexpr std::string_view kSignedPrefix = "ferry evidence v1\n";
constexpr std::string_view kContext = "ferry-evidence-v1";

json ParseOrText(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json(text) : j;
}

crypto::Bytes SignedBytes(const json& evidence) {
  const std::string body = evidence.dump();
  return crypto::Concat({crypto::AsBytes(kSignedPrefix), crypto::AsBytes(body)});
}

}  // namespace

Result<std::string> ExportEvidence(Store& store, std::string_view run_id,
                                   const crypto::Identity& signer, int64_t now_micros,
                                   std::optional<std::string> keys_report_json) {
  FERRY_ASSIGN_OR_RETURN(RunRecord run, store.GetRun(run_id));
  json events = json::array();
  int64_t after = 0;
  while (true) {
    FERRY_ASSIGN_OR_RETURN(std::vector<Event> page, store.ReadEvents(after, 1000, run_id));
    if (page.empty()) break;
    for (const Event& e : page) {
      events.push_back({{"seq", e.seq},
                        {"at_micros", e.at_micros},
                        {"run_id", e.run_id},
                        {"actor", e.actor},
                        {"kind", e.kind},
                        {"payload", e.payload},
                        {"prev_hash", e.prev_hash},
                        {"hash", e.hash}});
      after = e.seq;
    }
  }
  FERRY_ASSIGN_OR_RETURN(EventLogReport log, store.VerifyEventLog());
  json keys = nullptr;
  if (keys_report_json) {
    keys = json::parse(*keys_report_json, nullptr, false);
    if (keys.is_discarded())
      return Err(InvalidArgument("--keys-report: not JSON (a `ferry keys migrate --report` file)"));
  }
  const json evidence = {
      {"generated_at_micros", now_micros},
      {"run",
       {{"id", run.id},
        {"kind", run.kind},
        {"state", run.state},
        {"created_micros", run.created_micros},
        {"updated_micros", run.updated_micros},
        {"spec", ParseOrText(run.spec)},
        {"result", ParseOrText(run.result)}}},
      {"events", events},
      {"event_log",
       {{"intact", log.intact},
        {"events_checked", log.events_checked},
        {"head_hash", log.head_hash},
        {"problems", log.problems}}},
      {"keys", keys},
      {"approvals", json::array()},
      {"signer",
       {{"fingerprint", signer.pub.Fingerprint()},
        {"ml_dsa_65", crypto::Hex(signer.pub.ml_dsa_65)},
        {"ed25519", crypto::Hex(signer.pub.ed25519)},
        {"xwing", crypto::Hex(signer.pub.xwing)}}},
  };
  const crypto::Bytes message = SignedBytes(evidence);
  FERRY_ASSIGN_OR_RETURN(crypto::DualSignature sig, crypto::SignBoth(signer, message, kContext));
  const json file = {
      {"format", "ferry-evidence"},
      {"version", 1},
      {"evidence", evidence},
      {"signatures",
       {{"ml_dsa_65", crypto::Hex(sig.ml_dsa_65)}, {"ed25519", crypto::Hex(sig.ed25519)}}}};
  return file.dump(2) + "\n";
}

Result<EvidenceSummary> VerifyEvidence(std::string_view text, std::string_view expected_signer) {
  const json file = json::parse(text, nullptr, false);
  if (!file.is_object() || file.value("format", "") != "ferry-evidence") {
    return Err(InvalidArgument(
        "not a ferry evidence file (a JSON object with \"format\": \"ferry-evidence\")"));
  }
  if (file.value("version", 0) != 1)
    return Err(Unimplemented("evidence version {} is newer than this ferry reads (1)",
                             file.value("version", 0)));
  if (!file.contains("evidence") || !file["evidence"].is_object() || !file.contains("signatures")) {
    return Err(
        DataLoss("the evidence file has no evidence or no signatures: it was cut or edited"));
  }
  const json& evidence = file["evidence"];
  const json& signer = evidence.value("signer", json::object());
  auto hex = [](const json& j, const char* key) -> Result<crypto::Bytes> {
    if (!j.contains(key) || !j[key].is_string())
      return Err(DataLoss("the evidence has no \"{}\"", key));
    return crypto::FromHex(j[key].get<std::string>());
  };
  crypto::PublicIdentity pub;
  FERRY_ASSIGN_OR_RETURN(pub.ml_dsa_65, hex(signer, "ml_dsa_65"));
  FERRY_ASSIGN_OR_RETURN(pub.ed25519, hex(signer, "ed25519"));
  FERRY_ASSIGN_OR_RETURN(pub.xwing, hex(signer, "xwing"));
  EvidenceSummary summary;
  summary.signer = pub.Fingerprint();
  if (signer.value("fingerprint", "") != summary.signer) {
    return Err(Unauthenticated("the evidence names signer {} but carries the keys of {}",
                               signer.value("fingerprint", ""), summary.signer));
  }
  if (!expected_signer.empty() && expected_signer != summary.signer) {
    return Err(Unauthenticated("the evidence is signed by {}, not by the expected {}",
                               summary.signer, expected_signer));
  }
  crypto::DualSignature sig;
  FERRY_ASSIGN_OR_RETURN(sig.ml_dsa_65, hex(file["signatures"], "ml_dsa_65"));
  FERRY_ASSIGN_OR_RETURN(sig.ed25519, hex(file["signatures"], "ed25519"));
  const std::string failing = crypto::FailingSignatures(pub, SignedBytes(evidence), sig, kContext);
  if (!failing.empty()) {
    return Err(Unauthenticated(
        "the evidence signature does not verify ({}): the file was changed after it was signed",
        failing));
  }
  // Every event's hash, recomputed from its content; links between consecutive events.
  int64_t previous_seq = 0;
  std::string previous_hash;
  for (const json& e : evidence.value("events", json::array())) {
    Event ev;
    ev.seq = e.value("seq", int64_t{0});
    ev.at_micros = e.value("at_micros", int64_t{0});
    ev.run_id = e.value("run_id", "");
    ev.actor = e.value("actor", "");
    ev.kind = e.value("kind", "");
    ev.payload = e.value("payload", "");
    ev.prev_hash = e.value("prev_hash", "");
    const std::string listed = e.value("hash", "");
    if (EventHash(ev) != listed) {
      return Err(DataLoss("event {} ({}): its hash does not match its content", ev.seq, ev.kind));
    }
    if (previous_seq != 0 && ev.seq == previous_seq + 1 && ev.prev_hash != previous_hash) {
      return Err(DataLoss("event {} does not link to event {}", ev.seq, previous_seq));
    }
    if (ev.seq <= previous_seq)
      return Err(DataLoss("event {} comes after event {}: out of order", ev.seq, previous_seq));
    previous_seq = ev.seq;
    previous_hash = listed;
    ++summary.events;
  }
  const json& run = evidence.value("run", json::object());
  summary.run_id = run.value("id", "");
  summary.run_kind = run.value("kind", "");
  summary.run_state = run.value("state", "");
  const json& log = evidence.value("event_log", json::object());
  summary.log_intact = log.value("intact", false);
  summary.log_head = log.value("head_hash", "");
  summary.has_keys_report = evidence.contains("keys") && !evidence["keys"].is_null();
  return summary;
}

}  // namespace ferry::report
