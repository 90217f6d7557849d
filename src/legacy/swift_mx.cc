#include "legacy/swift_mx.h"

#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

#include <fmt/format.h>
#include <pugixml.hpp>

namespace ferry::legacy {
namespace {

constexpr std::string_view kNotProvided = "NOTPROVIDED";
constexpr const char* kEnvelopeNs = "urn:swift:xsd:envelope";
constexpr const char* kXsiNs = "http://www.w3.org/2001/XMLSchema-instance";
constexpr const char* kHeadNs = "urn:iso:std:iso:20022:tech:xsd:head.001.001.02";

// ---------------------------------------------------------------------------------------------
// Writing: elements carry a prefix ("pacs:", "head:") as the reference envelope has them.

class Writer {
 public:
  explicit Writer(std::string_view prefix) : prefix_(prefix) {}

  pugi::xml_node Add(pugi::xml_node parent, std::string_view local) {
    name_.assign(prefix_);
    name_.append(local);
    return parent.append_child(name_.c_str());
  }
  pugi::xml_node Leaf(pugi::xml_node parent, std::string_view local, std::string_view text) {
    pugi::xml_node n = Add(parent, local);
    n.text().set(text.data(), text.size());
    return n;
  }
  // <Amt Ccy="USD">12.5</Amt>
  void Amount(pugi::xml_node parent, std::string_view local, std::string_view ccy,
              std::string_view decimal) {
    pugi::xml_node n = Leaf(parent, local, decimal);
    n.append_attribute("Ccy").set_value(ccy.data(), ccy.size());
  }
  // <X><FinInstnId><BICFI>bic</BICFI></FinInstnId></X>
  void BicAgent(pugi::xml_node parent, std::string_view local, std::string_view bic) {
    Leaf(Add(Add(parent, local), "FinInstnId"), "BICFI", bic);
  }
  // <X><Id><Othr><Id>id</Id></Othr></Id></X>
  void Account(pugi::xml_node parent, std::string_view local, std::string_view id) {
    Leaf(Add(Add(Add(parent, local), "Id"), "Othr"), "Id", id);
  }

 private:
  std::string_view prefix_;
  std::string name_;
};

// "CHASGB2LXXXX" (BIC8, terminal code, branch) -> "CHASGB2LXXX".
std::string TerminalToBic(std::string_view lt) {
  std::string bic(lt.substr(0, 8));
  if (lt.size() >= 12) bic.append(lt.substr(9, 3));
  return bic;
}

// "210511" -> "2021-05-11"
std::string IsoDate(std::string_view yymmdd) {
  return fmt::format("20{}-{}-{}", yymmdd.substr(0, 2), yymmdd.substr(2, 2), yymmdd.substr(4, 2));
}

std::string FormatUtc(int64_t seconds) {
  const time_t t = static_cast<time_t>(seconds);
  struct tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

Status FieldFault(const MtField& f, std::string_view what) {
  return InvalidArgument("block 4, field :{}: (line {}): {}", f.tag, f.line, what);
}
Status FieldUnsupported(const MtField& f, std::string_view what) {
  return Unimplemented("block 4, field :{}: (line {}): {} (docs/swift.md, \"Not supported\")",
                       f.tag, f.line, what);
}

// A party or agent field cut into its optional "/account" line and the rest.
struct PartyLines {
  std::string_view account;  // without the leading '/'; empty when absent
  std::vector<std::string_view> lines;
};

PartyLines SplitParty(std::string_view value) {
  PartyLines p;
  p.lines = FieldLines(value);
  if (!p.lines.empty() && !p.lines[0].empty() && p.lines[0][0] == '/') {
    p.account = p.lines[0].substr(1);
    p.lines.erase(p.lines.begin());
  }
  return p;
}

// The 72 codes (Standards MT, "Field 72 codes") and where each goes in pacs.008.
enum class Code72 { kIns, kAcc, kNextAgent, kSvcLvl, kLocIns, kCatPurp, kReturn, kUnknown };

Code72 ClassifyCode(std::string_view code, const MtToMxOptions& options) {
  if (code == "INS") return Code72::kIns;
  if (code == "ACC") return Code72::kAcc;
  if (code == "INT" || code == "REC" || code == "PHON" || code == "PHONBEN" || code == "PHONIBK" ||
      code == "TELE" || code == "TELEBEN" || code == "TELEIBK" || code == "TSU") {
    return Code72::kNextAgent;
  }
  if (code == "SVCLVL") return Code72::kSvcLvl;
  if (code == "LOCINS") return Code72::kLocIns;
  if (code == "CATPURP") return Code72::kCatPurp;
  if (code == "RETN" || code == "REJT" || code == "MREF" || code == "TREF" || code == "CHGS" ||
      code == "TEXT") {
    return Code72::kReturn;
  }
  for (const std::string& extra : options.extra_sender_to_receiver_codes) {
    if (code == extra) return Code72::kNextAgent;
  }
  return Code72::kUnknown;
}

// One "/CODE/text" line of field 72, or a "//continuation" of the previous one.
struct Line72 {
  std::string_view code;  // empty for a continuation
  std::string_view text;  // after "/CODE/" (or after "//")
  std::string_view whole;
  size_t index = 0;
};

Result<std::vector<Line72>> SplitField72(const MtField& f) {
  std::vector<Line72> out;
  const std::vector<std::string_view> lines = FieldLines(f.value);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view l = lines[i];
    Line72 line{.whole = l, .index = i};
    if (l.starts_with("//")) {
      if (out.empty()) {
        return Err(FieldFault(f,
                              "the first line starts with '//' (a continuation of nothing); "
                              "it must start with a /CODE/"));
      }
      line.text = l.substr(2);
    } else {
      const size_t end = l.size() > 1 && l[0] == '/' ? l.find('/', 1) : std::string_view::npos;
      if (end == std::string_view::npos || end < 2 || end > 9) {
        return Err(FieldFault(
            f, fmt::format("line {} '{}' is not '/CODE/text' (a code of 1 to 8 characters "
                           "between slashes) nor a '//' continuation",
                           i + 1, l)));
      }
      line.code = l.substr(1, end - 1);
      line.text = l.substr(end + 1);
    }
    out.push_back(line);
  }
  return out;
}

// What a message says, gathered once before writing (every field found, in the roles the
// mapping gives it).
struct Gathered {
  const MtField* f20 = nullptr;
  const MtField* f23b = nullptr;
  std::vector<const MtField*> f23e;
  const MtField* f26t = nullptr;
  const MtField* f32a = nullptr;
  const MtField* f33b = nullptr;
  const MtField* f36 = nullptr;
  const MtField* f50 = nullptr;
  const MtField* f52 = nullptr;
  const MtField* f53 = nullptr;
  const MtField* f54 = nullptr;
  const MtField* f55 = nullptr;
  const MtField* f56 = nullptr;
  const MtField* f57 = nullptr;
  const MtField* f59 = nullptr;
  const MtField* f70 = nullptr;
  const MtField* f71a = nullptr;
  std::vector<const MtField*> f71f;
  const MtField* f71g = nullptr;
  const MtField* f72 = nullptr;
  const MtField* f77b = nullptr;
  std::vector<Line72> lines72;
  bool is_return = false;
};

Result<Gathered> Gather103(const MtMessage& m, const MtToMxOptions& options) {
  Gathered g;
  for (const MtField& f : m.fields) {
    const std::string_view t = f.tag;
    const std::string_view n = f.number();
    if (t == "20") {
      g.f20 = &f;
    } else if (t == "23B") {
      g.f23b = &f;
    } else if (t == "23E") {
      g.f23e.push_back(&f);
    } else if (t == "26T") {
      g.f26t = &f;
    } else if (t == "32A") {
      g.f32a = &f;
    } else if (t == "33B") {
      g.f33b = &f;
    } else if (t == "36") {
      g.f36 = &f;
    } else if (n == "50") {
      g.f50 = &f;
    } else if (n == "52") {
      g.f52 = &f;
    } else if (n == "53") {
      g.f53 = &f;
    } else if (n == "54") {
      g.f54 = &f;
    } else if (n == "55") {
      g.f55 = &f;
    } else if (n == "56") {
      g.f56 = &f;
    } else if (n == "57") {
      g.f57 = &f;
    } else if (n == "59") {
      g.f59 = &f;
    } else if (t == "70") {
      g.f70 = &f;
    } else if (t == "71A") {
      g.f71a = &f;
    } else if (t == "71F") {
      g.f71f.push_back(&f);
    } else if (t == "71G") {
      g.f71g = &f;
    } else if (t == "72") {
      g.f72 = &f;
    } else if (t == "77B") {
      g.f77b = &f;
    } else {
      return Err(FieldUnsupported(f, "this field has no place in the pacs.008 mapping"));
    }
  }
  if (g.f20 == nullptr || g.f32a == nullptr || g.f50 == nullptr || g.f59 == nullptr ||
      g.f71a == nullptr) {
    return Err(InvalidArgument(
        "MT103: fields 20, 32A, 50a, 59a and 71A are needed for a translation; run the "
        "validation (ValidateMt) for which is missing"));
  }
  if (g.f23b != nullptr && g.f23b->value != "CRED") {
    return Err(FieldUnsupported(*g.f23b, fmt::format("bank operation code {} (only CRED has a "
                                                     "pacs.008 equivalent)",
                                                     g.f23b->value)));
  }
  if (g.f72 != nullptr) {
    FERRY_ASSIGN_OR_RETURN(g.lines72, SplitField72(*g.f72));
    // A return (/RETN/) gives every line of 72 its own meaning: the reason code, the
    // original references (/MREF/, /TREF/), the charges; ReadReturn reads them.
    for (const Line72& l : g.lines72) {
      if (l.code == "RETN") g.is_return = true;
    }
    if (g.is_return) return g;
    Code72 previous = Code72::kUnknown;
    for (const Line72& l : g.lines72) {
      const Code72 kind = l.code.empty() ? previous : ClassifyCode(l.code, options);
      if (kind == Code72::kUnknown) {
        return Err(FieldFault(
            *g.f72,
            fmt::format("its line {} has code /{}/, which the mapping does not know; known: ACC, "
                        "INS, INT, REC, PHON, TELE, SVCLVL, LOCINS, CATPURP, RETN (add others "
                        "with --72-code, they go to InstrForNxtAgt)",
                        l.index + 1, l.code)));
      }
      if (l.code.empty() && kind != Code72::kAcc && kind != Code72::kNextAgent) {
        return Err(FieldUnsupported(
            *g.f72, fmt::format("line {}: a '//' continuation of /{}/", l.index + 1,
                                previous == Code72::kIns ? "INS" : "SVCLVL, LOCINS or CATPURP")));
      }
      if (kind == Code72::kReturn) {
        return Err(FieldFault(*g.f72, fmt::format("line {}: /{}/ belongs to a return or a "
                                                  "rejection; only returns (/RETN/) are "
                                                  "translated",
                                                  l.index + 1, l.code)));
      }
      previous = kind;
    }
  }
  return g;
}

// The header values both MX documents share.
struct Header {
  std::string from;  // BIC of the sender
  std::string to;    // BIC of the receiver
  std::string created;
};

Result<Header> MakeHeader(const MtMessage& m, const MtToMxOptions& options) {
  Header h;
  if (m.direction == 'O') {
    h.from = TerminalToBic(m.mir_terminal);
    h.to = TerminalToBic(m.logical_terminal);
    h.created = fmt::format("{}T{}:{}:00+00:00", IsoDate(m.mir_date), m.input_time.substr(0, 2),
                            m.input_time.substr(2, 2));
  } else {
    h.from = TerminalToBic(m.logical_terminal);
    h.to = TerminalToBic(m.receiver);
    const int64_t now = options.creation_time.has_value()
                            ? *options.creation_time
                            : std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
    h.created = FormatUtc(now);
  }
  return h;
}

pugi::xml_node WriteEnvelope(pugi::xml_document& doc, const Header& h, std::string_view id,
                             std::string_view definition, std::string_view service) {
  pugi::xml_node env = doc.append_child("Envelope");
  env.append_attribute("xmlns").set_value(kEnvelopeNs);
  env.append_attribute("xmlns:xsi").set_value(kXsiNs);
  Writer w("head:");
  pugi::xml_node app = w.Add(env, "AppHdr");
  app.append_attribute("xmlns:head").set_value(kHeadNs);
  w.Leaf(w.Add(w.Add(w.Add(app, "Fr"), "FIId"), "FinInstnId"), "BICFI", h.from);
  w.Leaf(w.Add(w.Add(w.Add(app, "To"), "FIId"), "FinInstnId"), "BICFI", h.to);
  w.Leaf(app, "BizMsgIdr", id);
  w.Leaf(app, "MsgDefIdr", definition);
  w.Leaf(app, "BizSvc", service);
  w.Leaf(app, "CreDt", h.created);
  pugi::xml_node document = env.append_child("pacs:Document");
  const std::string ns = fmt::format("urn:iso:std:iso:20022:tech:xsd:{}", definition);
  document.append_attribute("xmlns:pacs").set_value(ns.c_str());
  return document;
}

// Agent options A (BIC), B (location), C (account only, a clearing code), D (name and address)
// into <local> and <local>Acct.
// The account goes to `acct_local` under `acct_parent` (default: <local>Acct beside the agent;
// in a pacs.004 return chain, Dbtr/Agt's account is DbtrAcct beside Dbtr).
Status WriteAgent(Writer& w, pugi::xml_node parent, std::string_view local, const MtField& f,
                  pugi::xml_node acct_parent = {}, std::string_view acct_local = {}) {
  const PartyLines p = SplitParty(f.value);
  pugi::xml_node agent = w.Add(parent, local);
  pugi::xml_node fin = w.Add(agent, "FinInstnId");
  switch (f.option()) {
    case 'A': w.Leaf(fin, "BICFI", p.lines.empty() ? std::string_view() : p.lines[0]); break;
    case 'B':
      if (p.lines.empty()) {
        return FieldUnsupported(f, "option B with an account and no location");
      }
      w.Leaf(w.Add(fin, "PstlAdr"), "AdrLine", p.lines[0]);
      break;
    case 'C': w.Leaf(w.Add(fin, "ClrSysMmbId"), "MmbId", p.account); return OkStatus();
    case 'D': {
      if (p.lines.empty()) return FieldFault(f, "option D without its name line");
      w.Leaf(fin, "Nm", p.lines[0]);
      if (p.lines.size() > 1) {
        pugi::xml_node adr = w.Add(fin, "PstlAdr");
        for (size_t i = 1; i < p.lines.size(); ++i) w.Leaf(adr, "AdrLine", p.lines[i]);
      }
      break;
    }
    default: return FieldUnsupported(f, fmt::format("letter option {}", f.option()));
  }
  if (!p.account.empty()) {
    std::string acct(acct_local.empty() ? local : acct_local);
    if (acct_local.empty()) acct += "Acct";
    w.Account(acct_parent ? acct_parent : parent, acct, p.account);
  }
  return OkStatus();
}

// Structured lines of 50F/59F: 1/ name, 2/ address line, 3/CC/town.
Status WriteStructuredParty(Writer& w, pugi::xml_node party, const MtField& f,
                            const std::vector<std::string_view>& lines, size_t first) {
  std::string name;
  std::vector<std::string_view> address;
  std::string_view country;
  std::string town;
  for (size_t i = first; i < lines.size(); ++i) {
    const std::string_view l = lines[i];
    const std::string_view rest = l.size() >= 2 ? l.substr(2) : std::string_view();
    switch (l.empty() ? '\0' : l[0]) {
      case '1':
        if (!name.empty()) name.push_back(' ');
        name.append(rest);
        break;
      case '2': address.push_back(rest); break;
      case '3':
        if (country.empty()) {
          country = rest.substr(0, 2);
          town.assign(rest.size() > 3 ? rest.substr(3) : std::string_view());
        } else {
          town.push_back(' ');
          town.append(rest);
        }
        break;
      default:
        return FieldUnsupported(
            f, fmt::format("line {} '{}': only the numbered lines 1/ (name), 2/ (address) and "
                           "3/ (country and town) are translated",
                           i + 1, l));
    }
  }
  w.Leaf(party, "Nm", name);
  if (!address.empty() || !country.empty()) {
    pugi::xml_node adr = w.Add(party, "PstlAdr");
    if (!town.empty()) w.Leaf(adr, "TwnNm", town);
    if (!country.empty()) w.Leaf(adr, "Ctry", country);
    for (std::string_view a : address) w.Leaf(adr, "AdrLine", a);
  }
  return OkStatus();
}

// 50A/F/K into Dbtr and DbtrAcct, 59/59A/59F into Cdtr and CdtrAcct.
Status WriteParty(Writer& w, pugi::xml_node parent, std::string_view local, const MtField& f,
                  pugi::xml_node acct_parent = {}, std::string_view acct_local = {}) {
  const std::vector<std::string_view> all = FieldLines(f.value);
  pugi::xml_node party = w.Add(parent, local);
  std::string_view account;
  switch (f.option()) {
    case 'A': {
      const PartyLines p = SplitParty(f.value);
      account = p.account;
      w.Leaf(w.Add(w.Add(party, "Id"), "OrgId"), "AnyBIC",
             p.lines.empty() ? std::string_view() : p.lines[0]);
      break;
    }
    case '\0':
    case 'K': {
      const PartyLines p = SplitParty(f.value);
      account = p.account;
      w.Leaf(party, "Nm", p.lines.empty() ? std::string_view() : p.lines[0]);
      if (p.lines.size() > 1) {
        pugi::xml_node adr = w.Add(party, "PstlAdr");
        for (size_t i = 1; i < p.lines.size(); ++i) w.Leaf(adr, "AdrLine", p.lines[i]);
      }
      break;
    }
    case 'F': {
      size_t first = 0;
      std::string_view identifier;
      if (!all.empty() && !all[0].empty() && all[0][0] == '/') {
        account = all[0].substr(1);
        first = 1;
      } else if (f.number() == "50" && !all.empty()) {
        identifier = all[0];  // CODE/CC/identifier
        first = 1;
      }
      FERRY_RETURN_IF_ERROR(WriteStructuredParty(w, party, f, all, first));
      if (!identifier.empty()) {
        const size_t slash = identifier.find('/');
        if (slash == std::string_view::npos || slash == 0) {
          return FieldFault(f, fmt::format("party identifier '{}' is neither /account nor "
                                           "CODE/country/identifier",
                                           identifier));
        }
        pugi::xml_node othr = w.Add(w.Add(w.Add(party, "Id"), "PrvtId"), "Othr");
        w.Leaf(othr, "Id", identifier.substr(slash + 1));
        w.Leaf(w.Add(othr, "SchmeNm"), "Cd", identifier.substr(0, slash));
      }
      break;
    }
    default: return FieldUnsupported(f, fmt::format("letter option {}", f.option()));
  }
  if (!account.empty()) {
    std::string acct(acct_local.empty() ? local : acct_local);
    if (acct_local.empty()) acct += "Acct";
    w.Account(acct_parent ? acct_parent : parent, acct, account);
  }
  return OkStatus();
}

std::string JoinLines(std::string_view value) {
  std::string out;
  for (std::string_view l : FieldLines(value)) {
    if (!out.empty()) out.push_back(' ');
    out.append(l);
  }
  return out;
}

// The /ROC/ reference of field 70, the end-to-end id of the payment.
std::string_view RocReference(const MtField* f70) {
  if (f70 == nullptr) return {};
  const size_t at = f70->value.find("/ROC/");
  if (at == std::string_view::npos) return {};
  std::string_view rest = f70->value.substr(at + 5);
  size_t end = 0;
  while (end < rest.size() && rest[end] != '/' && rest[end] != '\r' && rest[end] != '\n') ++end;
  return rest.substr(0, std::min<size_t>(end, 35));
}

std::string_view ChargeBearer(std::string_view code) {
  if (code == "SHA") return "SHAR";
  if (code == "OUR") return "DEBT";
  return "CRED";
}

// pugixml writes in chunks; appended straight to the result, without a stream.
class StringWriter : public pugi::xml_writer {
 public:
  explicit StringWriter(std::string* out) : out_(out) {}
  void write(const void* data, size_t size) override {
    out_->append(static_cast<const char*>(data), size);
  }

 private:
  std::string* out_;
};

std::string Serialize(const pugi::xml_document& doc, bool indent) {
  std::string out;
  out.reserve(indent ? 6144 : 3072);
  StringWriter writer(&out);
  doc.save(writer, "  ",
           (indent ? pugi::format_indent : pugi::format_raw) | pugi::format_no_declaration,
           pugi::encoding_utf8);
  return out;
}

// The return reason and references of a /RETN/ 72.
struct ReturnInfo {
  std::string_view reason;
  std::string_view original_instruction;  // /MREF/
  std::string_view original_end_to_end;   // /TREF/
};

Result<ReturnInfo> ReadReturn(const Gathered& g) {
  ReturnInfo r;
  bool retn = false;
  for (size_t i = 0; i < g.lines72.size(); ++i) {
    const Line72& l = g.lines72[i];
    if (l.code == "RETN") {
      retn = true;
      // The reason code is on the next line: /AC04/ (or /XT99/ with text).
      if (i + 1 < g.lines72.size()) {
        const std::string_view next = g.lines72[i + 1].code;
        if (next.size() == 4 && next != "MREF" && next != "TREF") r.reason = next;
      }
    } else if (l.code == "MREF") {
      r.original_instruction = l.text;
    } else if (l.code == "TREF") {
      r.original_end_to_end = l.text;
    }
  }
  if (!retn || r.reason.empty()) {
    return Err(FieldFault(*g.f72,
                          "a return needs /RETN/ followed by a line with the reason code "
                          "(/AC04/ for example)"));
  }
  return r;
}

// What both returns (of an MT103 and of an MT202) write first in their pacs.004: the envelope, the
// group header, and the returned transaction's identification, amount and settlement date.
// Returns the transaction (TxInf) for the caller to complete.
pugi::xml_node WriteReturnHead(pugi::xml_document& doc, Writer& w, const MtMessage& m,
                               const Header& h, const ReturnInfo& r, const MxDocument& out,
                               const MtField& f20, const MtField* f53, const MtField& f32a) {
  pugi::xml_node document =
      WriteEnvelope(doc, h, f20.value, out.message_definition, out.business_service);
  pugi::xml_node root = w.Add(document, "PmtRtr");
  pugi::xml_node grp = w.Add(root, "GrpHdr");
  w.Leaf(grp, "MsgId", f20.value);
  w.Leaf(grp, "CreDtTm", h.created);
  w.Leaf(grp, "NbOfTxs", "1");
  w.Leaf(w.Add(grp, "SttlmInf"), "SttlmMtd", f53 != nullptr ? "COVE" : "INDA");
  pugi::xml_node tx = w.Add(root, "TxInf");
  w.Leaf(tx, "RtrId", f20.value);
  w.Leaf(tx, "OrgnlInstrId",
         r.original_instruction.empty() ? kNotProvided : r.original_instruction);
  w.Leaf(tx, "OrgnlEndToEndId",
         r.original_end_to_end.empty() ? kNotProvided : r.original_end_to_end);
  const std::string_view uetr = m.UserHeader("121");
  if (!uetr.empty()) w.Leaf(tx, "OrgnlUETR", uetr);
  const std::string_view v32 = f32a.value;
  w.Amount(tx, "RtrdIntrBkSttlmAmt", v32.substr(6, 3), MtAmountToDecimal(v32.substr(9)));
  w.Leaf(tx, "IntrBkSttlmDt", IsoDate(v32.substr(0, 6)));
  return tx;
}

Result<MxDocument> Translate103Return(const MtMessage& m, const Gathered& g,
                                      const MtToMxOptions& options) {
  FERRY_ASSIGN_OR_RETURN(ReturnInfo r, ReadReturn(g));
  FERRY_ASSIGN_OR_RETURN(Header h, MakeHeader(m, options));
  MxDocument out{.message_definition = "pacs.004.001.09", .business_service = "swift.cbprplus.03"};
  pugi::xml_document doc;
  Writer w("pacs:");
  pugi::xml_node tx = WriteReturnHead(doc, w, m, h, r, out, *g.f20, g.f53, *g.f32a);
  if (g.f33b != nullptr) {
    w.Amount(tx, "RtrdInstdAmt", g.f33b->value.substr(0, 3),
             MtAmountToDecimal(g.f33b->value.substr(3)));
  }
  w.Leaf(tx, "ChrgBr", ChargeBearer(g.f71a->value));
  w.BicAgent(tx, "InstgAgt", h.from);
  w.BicAgent(tx, "InstdAgt", h.to);
  pugi::xml_node chain = w.Add(tx, "RtrChain");
  // In a return the parties swap roles: the MT's ordering customer is the return's debtor.
  pugi::xml_node dbtr = w.Add(chain, "Dbtr");
  FERRY_RETURN_IF_ERROR(WriteParty(w, dbtr, "Pty", *g.f50, chain, "DbtrAcct"));
  if (pugi::xml_node id = dbtr.child("pacs:Pty").child("pacs:Id").child("pacs:OrgId")) {
    pugi::xml_node othr = w.Add(id, "Othr");
    w.Leaf(othr, "Id", kNotProvided);
    w.Leaf(w.Add(othr, "SchmeNm"), "Cd", "TXID");
  }
  if (g.f52 != nullptr) FERRY_RETURN_IF_ERROR(WriteAgent(w, chain, "DbtrAgt", *g.f52));
  if (g.f57 != nullptr) FERRY_RETURN_IF_ERROR(WriteAgent(w, chain, "CdtrAgt", *g.f57));
  pugi::xml_node cdtr = w.Add(chain, "Cdtr");
  FERRY_RETURN_IF_ERROR(WriteParty(w, cdtr, "Pty", *g.f59, chain, "CdtrAcct"));
  pugi::xml_node pty = cdtr.child("pacs:Pty");
  if (!pty.child("pacs:Id")) {
    w.Leaf(w.Add(w.Add(w.Add(pty, "Id"), "OrgId"), "Othr"), "Id", kNotProvided);
  }
  w.Leaf(w.Add(w.Add(tx, "RtrRsnInf"), "Rsn"), "Cd", r.reason);
  out.xml = Serialize(doc, options.indent);
  return out;
}

Result<MxDocument> Translate103(const MtMessage& m, const MtToMxOptions& options) {
  FERRY_ASSIGN_OR_RETURN(Gathered g, Gather103(m, options));
  if (g.is_return) return Translate103Return(m, g, options);
  FERRY_ASSIGN_OR_RETURN(Header h, MakeHeader(m, options));
  MxDocument out{.message_definition = "pacs.008.001.08", .business_service = "swift.cbprplus.03"};
  pugi::xml_document doc;
  pugi::xml_node document =
      WriteEnvelope(doc, h, g.f20->value, out.message_definition, out.business_service);
  Writer w("pacs:");
  pugi::xml_node root = w.Add(document, "FIToFICstmrCdtTrf");

  // Group header and settlement: 53a/54a/55a make it a cover payment (COVE).
  pugi::xml_node grp = w.Add(root, "GrpHdr");
  w.Leaf(grp, "MsgId", g.f20->value);
  w.Leaf(grp, "CreDtTm", h.created);
  w.Leaf(grp, "NbOfTxs", "1");
  pugi::xml_node sttlm = w.Add(grp, "SttlmInf");
  const bool account_only_53 =
      g.f53 != nullptr && g.f53->option() == 'B' && SplitParty(g.f53->value).lines.empty();
  const bool cover = (g.f53 != nullptr && !account_only_53) || g.f54 != nullptr;
  w.Leaf(sttlm, "SttlmMtd", cover ? "COVE" : "INDA");
  if (account_only_53) w.Account(sttlm, "SttlmAcct", SplitParty(g.f53->value).account);
  if (g.f53 != nullptr && !account_only_53) {
    FERRY_RETURN_IF_ERROR(WriteAgent(w, sttlm, "InstgRmbrsmntAgt", *g.f53));
  }
  if (g.f54 != nullptr) FERRY_RETURN_IF_ERROR(WriteAgent(w, sttlm, "InstdRmbrsmntAgt", *g.f54));
  if (g.f55 != nullptr) FERRY_RETURN_IF_ERROR(WriteAgent(w, sttlm, "ThrdRmbrsmntAgt", *g.f55));

  pugi::xml_node tx = w.Add(root, "CdtTrfTxInf");
  pugi::xml_node pmt_id = w.Add(tx, "PmtId");
  w.Leaf(pmt_id, "InstrId", g.f20->value);
  const std::string_view roc = RocReference(g.f70);
  w.Leaf(pmt_id, "EndToEndId", roc.empty() ? kNotProvided : roc);
  const std::string_view uetr = m.UserHeader("121");
  if (!uetr.empty()) w.Leaf(pmt_id, "UETR", uetr);

  // Payment type: gpi service {111:001} -> G001; 23E SDVA and 72 /SVCLVL/ -> SvcLvl; 72
  // /LOCINS/ -> LclInstrm; 23E INTC/CORT and 72 /CATPURP/ -> CtgyPurp.
  std::vector<std::string_view> svc_codes;
  std::vector<std::string_view> svc_prtry;
  std::string_view local_instrument;
  std::string_view category_code;
  std::string category_prtry;
  std::vector<const MtField*> cdtr_agent_instructions;  // 23E HOLD, CHQB, PHOB, TELB
  if (m.UserHeader("111") == "001") svc_codes.push_back("G001");
  for (const MtField* f : g.f23e) {
    const std::string_view code = f->value.substr(0, 4);
    if (code == "SDVA") {
      if (f->value.size() > 4) return Err(FieldUnsupported(*f, "SDVA with additional text"));
      svc_codes.push_back(code);
    } else if (code == "INTC" || code == "CORT") {
      if (f->value.size() > 4) {
        return Err(FieldUnsupported(*f, fmt::format("{} with additional text", code)));
      }
      if (!category_prtry.empty()) category_prtry.push_back(' ');
      category_prtry.append(code);
    } else if (code == "HOLD" || code == "CHQB" || code == "PHOB" || code == "TELB") {
      cdtr_agent_instructions.push_back(f);
    } else {
      return Err(FieldUnsupported(
          *f, fmt::format("instruction code {} (translated: SDVA, INTC, CORT, HOLD, CHQB, PHOB, "
                          "TELB)",
                          code)));
    }
  }
  for (const Line72& l : g.lines72) {
    if (l.code == "SVCLVL") svc_prtry.push_back(l.text);
    if (l.code == "LOCINS") local_instrument = l.text;
    if (l.code == "CATPURP") category_code = l.text;
  }
  if (!category_code.empty() && !category_prtry.empty()) {
    return Err(FieldUnsupported(*g.f72, "/CATPURP/ together with 23E INTC or CORT"));
  }
  if (!svc_codes.empty() || !svc_prtry.empty() || !local_instrument.empty() ||
      !category_code.empty() || !category_prtry.empty()) {
    pugi::xml_node pti = w.Add(tx, "PmtTpInf");
    for (std::string_view c : svc_codes) w.Leaf(w.Add(pti, "SvcLvl"), "Cd", c);
    for (std::string_view c : svc_prtry) w.Leaf(w.Add(pti, "SvcLvl"), "Prtry", c);
    if (!local_instrument.empty()) w.Leaf(w.Add(pti, "LclInstrm"), "Cd", local_instrument);
    if (!category_code.empty()) w.Leaf(w.Add(pti, "CtgyPurp"), "Cd", category_code);
    if (!category_prtry.empty()) w.Leaf(w.Add(pti, "CtgyPurp"), "Prtry", category_prtry);
  }

  const std::string_view v32 = g.f32a->value;
  const std::string_view currency = v32.substr(6, 3);
  w.Amount(tx, "IntrBkSttlmAmt", currency, MtAmountToDecimal(v32.substr(9)));
  w.Leaf(tx, "IntrBkSttlmDt", IsoDate(v32.substr(0, 6)));
  if (g.f33b != nullptr) {
    w.Amount(tx, "InstdAmt", g.f33b->value.substr(0, 3),
             MtAmountToDecimal(g.f33b->value.substr(3)));
  }
  if (g.f36 != nullptr) w.Leaf(tx, "XchgRate", MtAmountToDecimal(g.f36->value));
  w.Leaf(tx, "ChrgBr", ChargeBearer(g.f71a->value));
  // 71F: charges deducted by a previous bank (the agent is not known: NOTPROVIDED); 71G: the
  // receiver's charges, owed to the instructed agent. BEN without 71F still states a zero
  // charge, as CBPR+ wants ChrgsInf with CRED.
  auto write_charge = [&](std::string_view value, std::string_view agent_bic) {
    pugi::xml_node ci = w.Add(tx, "ChrgsInf");
    w.Amount(ci, "Amt", value.substr(0, 3), MtAmountToDecimal(value.substr(3)));
    pugi::xml_node fin = w.Add(w.Add(ci, "Agt"), "FinInstnId");
    if (!agent_bic.empty()) {
      w.Leaf(fin, "BICFI", agent_bic);
    } else {
      w.Leaf(fin, "Nm", kNotProvided);
      w.Leaf(w.Add(fin, "PstlAdr"), "AdrLine", kNotProvided);
    }
  };
  for (const MtField* f : g.f71f) write_charge(f->value, {});
  if (g.f71f.empty() && g.f71a->value == "BEN") write_charge("USD0,", {});
  if (g.f71g != nullptr) write_charge(g.f71g->value, h.to);

  // 72 /INS/: up to three previous instructing agents.
  int previous = 0;
  for (const Line72& l : g.lines72) {
    if (l.code != "INS") continue;
    if (++previous > 3) {
      return Err(FieldUnsupported(*g.f72, "more than three /INS/ lines"));
    }
    pugi::xml_node fin = w.Add(w.Add(tx, fmt::format("PrvsInstgAgt{}", previous)), "FinInstnId");
    if (IsBic(l.text)) {
      w.Leaf(fin, "BICFI", l.text);
    } else {
      w.Leaf(fin, "Nm", l.text);
      w.Leaf(w.Add(fin, "PstlAdr"), "AdrLine", kNotProvided);
    }
  }
  w.BicAgent(tx, "InstgAgt", h.from);
  w.BicAgent(tx, "InstdAgt", h.to);
  if (g.f56 != nullptr) FERRY_RETURN_IF_ERROR(WriteAgent(w, tx, "IntrmyAgt1", *g.f56));
  FERRY_RETURN_IF_ERROR(WriteParty(w, tx, "Dbtr", *g.f50));
  if (g.f52 != nullptr) {
    FERRY_RETURN_IF_ERROR(WriteAgent(w, tx, "DbtrAgt", *g.f52));
  } else {
    // Without 52a the sender is the ordering institution.
    w.BicAgent(tx, "DbtrAgt", h.from);
  }
  if (g.f57 != nullptr) {
    FERRY_RETURN_IF_ERROR(WriteAgent(w, tx, "CdtrAgt", *g.f57));
  } else {
    w.BicAgent(tx, "CdtrAgt", h.to);
  }
  FERRY_RETURN_IF_ERROR(WriteParty(w, tx, "Cdtr", *g.f59));
  for (const MtField* f : cdtr_agent_instructions) {
    pugi::xml_node ins = w.Add(tx, "InstrForCdtrAgt");
    w.Leaf(ins, "Cd", f->value.substr(0, 4));
    if (f->value.size() > 5) w.Leaf(ins, "InstrInf", f->value.substr(5));
  }
  // 72 /ACC/ -> InstrForCdtrAgt, /INT/ /REC/ /PHON/ ... -> InstrForNxtAgt, one per line so that
  // the lines come back as they were (continuations included).
  Code72 current = Code72::kUnknown;
  for (const Line72& l : g.lines72) {
    if (!l.code.empty()) current = ClassifyCode(l.code, options);
    if (current == Code72::kAcc) w.Leaf(w.Add(tx, "InstrForCdtrAgt"), "InstrInf", l.whole);
  }
  current = Code72::kUnknown;
  for (const Line72& l : g.lines72) {
    if (!l.code.empty()) current = ClassifyCode(l.code, options);
    if (current == Code72::kNextAgent) w.Leaf(w.Add(tx, "InstrForNxtAgt"), "InstrInf", l.whole);
  }
  if (g.f26t != nullptr) w.Leaf(w.Add(tx, "Purp"), "Prtry", g.f26t->value);
  if (g.f77b != nullptr) {
    pugi::xml_node details = w.Add(w.Add(tx, "RgltryRptg"), "Dtls");
    for (std::string_view l : FieldLines(g.f77b->value)) w.Leaf(details, "Inf", l);
  }
  if (g.f70 != nullptr) w.Leaf(w.Add(tx, "RmtInf"), "Ustrd", JoinLines(g.f70->value));
  out.xml = Serialize(doc, options.indent);
  return out;
}

// MT202/MT205 (and their COV variants) to pacs.009.001.08, or to pacs.004 when 72 has /RETN/.
// Sequence B of a COV message (from its 50a on) is the underlying customer credit transfer.
struct Gathered202 {
  const MtField* f20 = nullptr;
  const MtField* f21 = nullptr;
  const MtField* f32a = nullptr;
  const MtField* f52 = nullptr;
  const MtField* f53 = nullptr;
  const MtField* f54 = nullptr;
  const MtField* f56 = nullptr;
  const MtField* f57 = nullptr;
  const MtField* f58 = nullptr;
  const MtField* f72 = nullptr;
  std::vector<Line72> lines72;
  bool is_return = false;
  // Sequence B.
  const MtField* b50 = nullptr;
  const MtField* b52 = nullptr;
  const MtField* b56 = nullptr;
  const MtField* b57 = nullptr;
  const MtField* b59 = nullptr;
  const MtField* b70 = nullptr;
  const MtField* b72 = nullptr;
  const MtField* b33b = nullptr;
};

Result<Gathered202> Gather202(const MtMessage& m) {
  Gathered202 g;
  bool in_b = false;
  for (const MtField& f : m.fields) {
    const std::string_view t = f.tag;
    const std::string_view n = f.number();
    if (n == "50") in_b = true;
    const MtField** slot = nullptr;
    if (in_b) {
      if (n == "50") slot = &g.b50;
      if (n == "52") slot = &g.b52;
      if (n == "56") slot = &g.b56;
      if (n == "57") slot = &g.b57;
      if (n == "59") slot = &g.b59;
      if (t == "70") slot = &g.b70;
      if (t == "72") slot = &g.b72;
      if (t == "33B") slot = &g.b33b;
    } else {
      if (t == "20") slot = &g.f20;
      if (t == "21") slot = &g.f21;
      if (t == "32A") slot = &g.f32a;
      if (n == "52") slot = &g.f52;
      if (n == "53") slot = &g.f53;
      if (n == "54") slot = &g.f54;
      if (n == "56") slot = &g.f56;
      if (n == "57") slot = &g.f57;
      if (n == "58") slot = &g.f58;
      if (t == "72") slot = &g.f72;
    }
    if (slot == nullptr) {
      return Err(FieldUnsupported(f, "this field has no place in the pacs.009 mapping"));
    }
    *slot = &f;
  }
  if (g.f20 == nullptr || g.f21 == nullptr || g.f32a == nullptr || g.f58 == nullptr) {
    return Err(InvalidArgument(
        "MT{}: fields 20, 21, 32A and 58a are needed for a translation; run the validation "
        "(ValidateMt) for which is missing",
        m.Kind()));
  }
  if (g.f72 != nullptr) {
    FERRY_ASSIGN_OR_RETURN(g.lines72, SplitField72(*g.f72));
    for (const Line72& l : g.lines72) {
      if (l.code == "RETN") g.is_return = true;
    }
    if (!g.is_return) {
      for (const Line72& l : g.lines72) {
        if (l.code.empty()) {
          return Err(FieldUnsupported(*g.f72, fmt::format("line {}: a '//' continuation in an "
                                                          "MT202",
                                                          l.index + 1)));
        }
        if (l.code != "INS" && l.code != "UDLC" && l.code != "BNF" && l.code != "ACC" &&
            l.code != "INT" && l.code != "REC" && l.code != "PHON" && l.code != "TELE") {
          return Err(FieldFault(*g.f72, fmt::format("its line {} has code /{}/, which the "
                                                    "MT202 mapping does not know; known: INS, "
                                                    "UDLC, BNF, ACC, INT, REC, PHON, TELE",
                                                    l.index + 1, l.code)));
        }
      }
    }
  }
  if (m.Kind().ends_with("COV") && (g.b50 == nullptr || g.b59 == nullptr)) {
    return Err(InvalidArgument("MT{}: sequence B needs 50a and 59a", m.Kind()));
  }
  return g;
}

// The reference's underlying-customer convention: a party without an account line gets the
// identification NOTPROVIDED.
void MarkUnidentified(Writer& w, pugi::xml_node parent, std::string_view local, const MtField& f) {
  if (!SplitParty(f.value).account.empty()) return;
  pugi::xml_node party = parent.child(fmt::format("pacs:{}", local).c_str());
  if (!party || party.child("pacs:Id")) return;
  w.Leaf(w.Add(w.Add(w.Add(party, "Id"), "OrgId"), "Othr"), "Id", kNotProvided);
}

Result<MxDocument> Translate202Return(const MtMessage& m, const Gathered202& g,
                                      const MtToMxOptions& options) {
  Gathered as103;
  as103.f72 = g.f72;
  as103.lines72 = g.lines72;
  FERRY_ASSIGN_OR_RETURN(ReturnInfo r, ReadReturn(as103));
  FERRY_ASSIGN_OR_RETURN(Header h, MakeHeader(m, options));
  MxDocument out{.message_definition = "pacs.004.001.09", .business_service = "swift.cbprplus.03"};
  pugi::xml_document doc;
  Writer w("pacs:");
  pugi::xml_node tx = WriteReturnHead(doc, w, m, h, r, out, *g.f20, g.f53, *g.f32a);
  w.Leaf(tx, "ChrgBr", "SHAR");
  w.BicAgent(tx, "InstgAgt", h.from);
  w.BicAgent(tx, "InstdAgt", h.to);
  pugi::xml_node chain = w.Add(tx, "RtrChain");
  if (g.f52 != nullptr) {
    FERRY_RETURN_IF_ERROR(WriteAgent(w, w.Add(chain, "Dbtr"), "Agt", *g.f52, chain, "DbtrAcct"));
  } else {
    w.BicAgent(w.Add(chain, "Dbtr"), "Agt", h.from);
  }
  if (g.f57 != nullptr) FERRY_RETURN_IF_ERROR(WriteAgent(w, chain, "CdtrAgt", *g.f57));
  FERRY_RETURN_IF_ERROR(WriteAgent(w, w.Add(chain, "Cdtr"), "Agt", *g.f58, chain, "CdtrAcct"));
  w.Leaf(w.Add(w.Add(tx, "RtrRsnInf"), "Rsn"), "Cd", r.reason);
  out.xml = Serialize(doc, options.indent);
  return out;
}

Result<MxDocument> Translate202(const MtMessage& m, const MtToMxOptions& options) {
  FERRY_ASSIGN_OR_RETURN(Gathered202 g, Gather202(m));
  if (g.is_return) return Translate202Return(m, g, options);
  FERRY_ASSIGN_OR_RETURN(Header h, MakeHeader(m, options));
  const bool cov = m.Kind().ends_with("COV");
  const bool cover = g.f53 != nullptr || g.f54 != nullptr;
  MxDocument out{.message_definition = "pacs.009.001.08",
                 .business_service = cov     ? "swift.cbprplus.cov.03"
                                     : cover ? "swift.cbprplus.adv.03"
                                             : "swift.cbprplus.03"};
  pugi::xml_document doc;
  pugi::xml_node document =
      WriteEnvelope(doc, h, g.f20->value, out.message_definition, out.business_service);
  Writer w("pacs:");
  pugi::xml_node root = w.Add(document, "FICdtTrf");
  pugi::xml_node grp = w.Add(root, "GrpHdr");
  w.Leaf(grp, "MsgId", g.f20->value);
  w.Leaf(grp, "CreDtTm", h.created);
  w.Leaf(grp, "NbOfTxs", "1");
  pugi::xml_node sttlm = w.Add(grp, "SttlmInf");
  w.Leaf(sttlm, "SttlmMtd", cover ? "COVE" : "INDA");
  if (g.f53 != nullptr) FERRY_RETURN_IF_ERROR(WriteAgent(w, sttlm, "InstgRmbrsmntAgt", *g.f53));
  if (g.f54 != nullptr) FERRY_RETURN_IF_ERROR(WriteAgent(w, sttlm, "InstdRmbrsmntAgt", *g.f54));

  pugi::xml_node tx = w.Add(root, "CdtTrfTxInf");
  pugi::xml_node pmt_id = w.Add(tx, "PmtId");
  w.Leaf(pmt_id, "InstrId", g.f20->value);
  w.Leaf(pmt_id, "EndToEndId", g.f21->value);
  const std::string_view uetr = m.UserHeader("121");
  if (!uetr.empty()) w.Leaf(pmt_id, "UETR", uetr);
  const std::string_view v32 = g.f32a->value;
  w.Amount(tx, "IntrBkSttlmAmt", v32.substr(6, 3), MtAmountToDecimal(v32.substr(9)));
  w.Leaf(tx, "IntrBkSttlmDt", IsoDate(v32.substr(0, 6)));
  int previous = 0;
  for (const Line72& l : g.lines72) {
    if (l.code != "INS") continue;
    if (++previous > 3) return Err(FieldUnsupported(*g.f72, "more than three /INS/ lines"));
    pugi::xml_node fin = w.Add(w.Add(tx, fmt::format("PrvsInstgAgt{}", previous)), "FinInstnId");
    if (IsBic(l.text)) {
      w.Leaf(fin, "BICFI", l.text);
    } else {
      w.Leaf(fin, "Nm", l.text);
      w.Leaf(w.Add(fin, "PstlAdr"), "AdrLine", kNotProvided);
    }
  }
  w.BicAgent(tx, "InstgAgt", h.from);
  w.BicAgent(tx, "InstdAgt", h.to);
  if (g.f56 != nullptr) FERRY_RETURN_IF_ERROR(WriteAgent(w, tx, "IntrmyAgt1", *g.f56));
  if (g.f52 != nullptr) {
    FERRY_RETURN_IF_ERROR(WriteAgent(w, tx, "Dbtr", *g.f52));
  } else {
    w.BicAgent(tx, "Dbtr", h.from);
  }
  if (g.f57 != nullptr) FERRY_RETURN_IF_ERROR(WriteAgent(w, tx, "CdtrAgt", *g.f57));
  FERRY_RETURN_IF_ERROR(WriteAgent(w, tx, "Cdtr", *g.f58));
  for (const Line72& l : g.lines72) {
    if (l.code == "UDLC" || l.code == "ACC") {
      w.Leaf(w.Add(tx, "InstrForCdtrAgt"), "InstrInf", l.whole);
    }
  }
  for (const Line72& l : g.lines72) {
    if (l.code == "INT" || l.code == "REC" || l.code == "PHON" || l.code == "TELE") {
      w.Leaf(w.Add(tx, "InstrForNxtAgt"), "InstrInf", l.whole);
    }
  }
  for (const Line72& l : g.lines72) {
    if (l.code == "BNF") w.Leaf(w.Add(tx, "RmtInf"), "Ustrd", l.whole);
  }
  if (cov) {
    pugi::xml_node u = w.Add(tx, "UndrlygCstmrCdtTrf");
    FERRY_RETURN_IF_ERROR(WriteParty(w, u, "Dbtr", *g.b50));
    if (g.b52 != nullptr) FERRY_RETURN_IF_ERROR(WriteAgent(w, u, "DbtrAgt", *g.b52));
    if (g.b56 != nullptr) FERRY_RETURN_IF_ERROR(WriteAgent(w, u, "IntrmyAgt1", *g.b56));
    if (g.b57 != nullptr) FERRY_RETURN_IF_ERROR(WriteAgent(w, u, "CdtrAgt", *g.b57));
    FERRY_RETURN_IF_ERROR(WriteParty(w, u, "Cdtr", *g.b59));
    MarkUnidentified(w, u, "Cdtr", *g.b59);
    if (g.b72 != nullptr) {
      for (std::string_view l : FieldLines(g.b72->value)) {
        w.Leaf(w.Add(u, "InstrForNxtAgt"), "InstrInf", l);
      }
    }
    if (g.b70 != nullptr) w.Leaf(w.Add(u, "RmtInf"), "Ustrd", JoinLines(g.b70->value));
    if (g.b33b != nullptr) {
      w.Amount(u, "InstdAmt", g.b33b->value.substr(0, 3),
               MtAmountToDecimal(g.b33b->value.substr(3)));
    }
  }
  out.xml = Serialize(doc, options.indent);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading pacs.008: elements are matched by local name, whatever their prefix.

std::string_view LocalName(const char* name) {
  std::string_view n(name);
  const size_t colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

pugi::xml_node Child(pugi::xml_node n, std::string_view local) {
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && LocalName(c.name()) == local) return c;
  }
  return {};
}

// Follows a path "A/B/C" of local names.
pugi::xml_node Path(pugi::xml_node n, std::string_view path) {
  while (n && !path.empty()) {
    const size_t slash = path.find('/');
    n = Child(n, path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return n;
}

std::string_view Text(pugi::xml_node n) { return n ? n.child_value() : std::string_view(); }
std::string_view Text(pugi::xml_node n, std::string_view path) { return Text(Path(n, path)); }

template <typename F>
void ForEach(pugi::xml_node n, std::string_view local, F&& f) {
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && LocalName(c.name()) == local) f(c);
  }
}

class MtBuilder {
 public:
  void Field(std::string_view tag, std::string_view value) {
    text_ += "\r\n:";
    text_ += tag;
    text_ += ':';
    text_ += value;
  }
  // A field of several lines; empty lines are skipped.
  void Field(std::string_view tag, const std::vector<std::string>& lines) {
    std::string value;
    for (const std::string& l : lines) {
      if (!value.empty()) value += "\r\n";
      value += l;
    }
    Field(tag, value);
  }
  std::string& text() { return text_; }

 private:
  std::string text_;
};

Status MxFault(std::string_view doc, std::string_view path, std::string_view what) {
  return InvalidArgument("{} {}: {}", doc, path, what);
}

// "2021-05-11" -> "210511"
Result<std::string> MtDate(std::string_view doc, std::string_view iso, std::string_view path) {
  if (iso.size() < 10 || iso[4] != '-' || iso[7] != '-' || !iso.starts_with("20")) {
    return Err(
        MxFault(doc, path, fmt::format("'{}' is not a date YYYY-MM-DD of this century", iso)));
  }
  return fmt::format("{}{}{}", iso.substr(2, 2), iso.substr(5, 2), iso.substr(8, 2));
}

Result<std::string> MtAmount(std::string_view doc, pugi::xml_node amt, std::string_view path) {
  const std::string_view ccy = amt.attribute("Ccy").value();
  const std::string amount = DecimalToMtAmount(Text(amt));
  if (ccy.size() != 3 || amount.empty()) {
    return Err(
        MxFault(doc, path,
                fmt::format("'{}' with Ccy '{}' is not an amount and currency", Text(amt), ccy)));
  }
  return fmt::format("{}{}", ccy, amount);
}

// BIC11 -> the 12-character logical terminal "BIC8 X branch".
std::string BicToTerminal(std::string_view bic) {
  std::string lt(bic.substr(0, 8));
  lt.push_back('X');
  lt.append(bic.size() >= 11 ? bic.substr(8, 3) : std::string_view("XXX"));
  return lt;
}

// An agent (<X> with <XAcct> beside it) back to option A, B, C or D.
void ReadAgent(MtBuilder& b, std::string_view number, pugi::xml_node parent, std::string_view local,
               pugi::xml_node acct_parent = {}, std::string_view acct_local = {}) {
  pugi::xml_node agent = Child(parent, local);
  if (!agent) return;
  std::string acct_name(acct_local.empty() ? local : acct_local);
  if (acct_local.empty()) acct_name += "Acct";
  const std::string_view account =
      Text(Child(acct_parent ? acct_parent : parent, acct_name), "Id/Othr/Id");
  pugi::xml_node fin = Child(agent, "FinInstnId");
  std::vector<std::string> lines;
  if (!account.empty()) lines.push_back(fmt::format("/{}", account));
  char option = 'D';
  if (const std::string_view bic = Text(fin, "BICFI"); !bic.empty()) {
    option = 'A';
    lines.emplace_back(bic);
  } else if (const std::string_view member = Text(fin, "ClrSysMmbId/MmbId"); !member.empty()) {
    option = 'C';
    lines.assign(1, fmt::format("/{}", member));
  } else if (const std::string_view name = Text(fin, "Nm"); !name.empty()) {
    lines.emplace_back(name);
    ForEach(Child(fin, "PstlAdr"), "AdrLine",
            [&](pugi::xml_node a) { lines.emplace_back(Text(a)); });
  } else {
    option = 'B';
    const std::string_view location = Text(fin, "PstlAdr/AdrLine");
    if (!location.empty()) lines.emplace_back(location);
  }
  b.Field(fmt::format("{}{}", number, option), lines);
}

// Dbtr/Cdtr back to 50A/F/K or 59/59A/59F.
void ReadParty(MtBuilder& b, std::string_view number, pugi::xml_node parent, std::string_view local,
               pugi::xml_node acct_parent = {}, std::string_view acct_local = {}) {
  pugi::xml_node party = Child(parent, local);
  std::string acct_name(acct_local.empty() ? local : acct_local);
  if (acct_local.empty()) acct_name += "Acct";
  const std::string_view account =
      Text(Child(acct_parent ? acct_parent : parent, acct_name), "Id/Othr/Id");
  std::vector<std::string> lines;
  if (!account.empty()) lines.push_back(fmt::format("/{}", account));
  if (const std::string_view bic = Text(party, "Id/OrgId/AnyBIC"); !bic.empty()) {
    lines.emplace_back(bic);
    b.Field(fmt::format("{}A", number), lines);
    return;
  }
  pugi::xml_node adr = Child(party, "PstlAdr");
  pugi::xml_node prvt = Path(party, "Id/PrvtId/Othr");
  const std::string_view country = Text(adr, "Ctry");
  const std::string_view town = Text(adr, "TwnNm");
  if (!country.empty() || !town.empty() || prvt) {
    if (prvt && account.empty()) {
      lines.push_back(fmt::format("{}/{}", Text(prvt, "SchmeNm/Cd"), Text(prvt, "Id")));
    }
    std::string_view name = Text(party, "Nm");
    // A name longer than a line continues on further 1/ lines.
    while (!name.empty()) {
      const size_t take = std::min<size_t>(name.size(), 33);
      lines.push_back(fmt::format("1/{}", name.substr(0, take)));
      name.remove_prefix(take);
    }
    ForEach(adr, "AdrLine",
            [&](pugi::xml_node a) { lines.push_back(fmt::format("2/{}", Text(a))); });
    if (!country.empty()) {
      lines.push_back(town.empty() ? fmt::format("3/{}", country)
                                   : fmt::format("3/{}/{}", country, town));
    }
    b.Field(fmt::format("{}F", number), lines);
    return;
  }
  lines.emplace_back(Text(party, "Nm"));
  ForEach(adr, "AdrLine", [&](pugi::xml_node a) { lines.emplace_back(Text(a)); });
  b.Field(number == "50" ? "50K" : "59", lines);
}

// Ustrd back to 70: lines of at most 35, broken at the blank the forward mapping joined on. No
// line may start with '-' or ':' (FIN reads those as the end of the block or a new field), so
// such a break moves to an earlier blank, or the line is cut short before that character.
std::vector<std::string> WrapNarrative(std::string_view text) {
  std::vector<std::string> lines;
  auto may_start = [](char c) { return c != '-' && c != ':'; };
  while (!text.empty()) {
    if (text.size() <= 35) {
      lines.emplace_back(text);
      break;
    }
    size_t cut = 35;
    while (cut > 0 && !(text[cut] == ' ' && cut + 1 < text.size() && may_start(text[cut + 1]))) {
      --cut;
    }
    if (cut > 0) {
      lines.emplace_back(text.substr(0, cut));
      text.remove_prefix(cut + 1);
      continue;
    }
    cut = 35;
    while (cut > 1 && !may_start(text[cut])) --cut;
    lines.emplace_back(text.substr(0, cut));
    text.remove_prefix(cut);
  }
  return lines;
}

// Who sends, who receives and when, from the application header (or the agents and the group
// header): blocks 1 and 2 of the MT.
struct MtAddress {
  std::string_view from;
  std::string_view to;
  std::string date;  // YYMMDD
  std::string time;  // HHMM
};

Result<MtAddress> AddressOf(std::string_view doc, pugi::xml_node app, pugi::xml_node grp,
                            pugi::xml_node tx) {
  MtAddress a;
  a.from = Text(app, "Fr/FIId/FinInstnId/BICFI");
  a.to = Text(app, "To/FIId/FinInstnId/BICFI");
  if (a.from.empty()) a.from = Text(tx, "InstgAgt/FinInstnId/BICFI");
  if (a.to.empty()) a.to = Text(tx, "InstdAgt/FinInstnId/BICFI");
  if (!IsBic(a.from, false) || !IsBic(a.to, false)) {
    return Err(
        MxFault(doc, "AppHdr/Fr and To (or InstgAgt and InstdAgt)",
                fmt::format("'{}' and '{}' must be BICs: they address the MT", a.from, a.to)));
  }
  std::string_view created = Text(grp, "CreDtTm");
  if (created.empty()) created = Text(app, "CreDt");
  if (created.size() < 16 || created[10] != 'T') {
    return Err(MxFault(doc, "GrpHdr/CreDtTm",
                       fmt::format("'{}' is not a date and time YYYY-MM-DDTHH:MM", created)));
  }
  FERRY_ASSIGN_OR_RETURN(a.date, MtDate(doc, created, "GrpHdr/CreDtTm"));
  a.time = fmt::format("{}{}", created.substr(11, 2), created.substr(14, 2));
  return a;
}

std::string HeaderBlocks(const MtAddress& a, std::string_view type, const MxToMtOptions& options) {
  std::string out;
  out.reserve(1024);
  if (options.output_header) {
    out += fmt::format("{{1:F01{}0000000000}}{{2:O{}{}{}{}0000000000{}{}N}}", BicToTerminal(a.to),
                       type, a.time, a.date, BicToTerminal(a.from), a.date, a.time);
  } else {
    out += fmt::format("{{1:F01{}0000000000}}{{2:I{}{}N}}", BicToTerminal(a.from), type,
                       BicToTerminal(a.to));
  }
  return out;
}

// The MT as written, once ParseMt and ValidateMt accept it: text FIN cannot carry (a name with
// '&' or an accented letter, a line of 36 characters) is an error here rather than a message
// the network would refuse.
Result<std::string> CheckedMt(std::string out, std::string_view doc) {
  Result<MtMessage> check = ParseMt(out);
  Status valid = check.has_value() ? ValidateMt(*check) : check.error();
  if (!valid.ok()) {
    return Err(
        InvalidArgument("{}: the MT it translates to would not be valid ({}); the element "
                        "behind that field has text FIN cannot carry",
                        doc, valid.message()));
  }
  return out;
}

Result<std::string> Pacs008ToMt103(pugi::xml_node envelope, const MxToMtOptions& options) {
  pugi::xml_node app = Child(envelope, "AppHdr");
  pugi::xml_node document = Child(envelope, "Document");
  if (LocalName(envelope.name()) == "Document") document = envelope;
  pugi::xml_node root = Child(document, "FIToFICstmrCdtTrf");
  if (!root) {
    return Err(
        MxFault("pacs.008", "Document", "no FIToFICstmrCdtTrf: the document is not a pacs.008"));
  }
  pugi::xml_node grp = Child(root, "GrpHdr");
  pugi::xml_node tx = Child(root, "CdtTrfTxInf");
  if (!tx) return Err(MxFault("pacs.008", "FIToFICstmrCdtTrf", "CdtTrfTxInf is missing"));
  if (tx.next_sibling(tx.name())) {
    return Err(MxFault("pacs.008", "FIToFICstmrCdtTrf",
                       "more than one CdtTrfTxInf; an MT103 carries one transaction"));
  }
  FERRY_ASSIGN_OR_RETURN(MtAddress address, AddressOf("pacs.008", app, grp, tx));
  const std::string_view to = address.to;
  std::string out = HeaderBlocks(address, "103", options);
  // Block 3: {111:001} for the gpi service level G001, {121:} the UETR.
  pugi::xml_node pti = Child(tx, "PmtTpInf");
  bool gpi = false;
  std::vector<std::string_view> svc_codes;
  std::vector<std::string_view> svc_prtry;
  ForEach(pti, "SvcLvl", [&](pugi::xml_node s) {
    if (const std::string_view cd = Text(s, "Cd"); !cd.empty()) {
      if (cd == "G001") {
        gpi = true;
      } else {
        svc_codes.push_back(cd);
      }
    } else {
      svc_prtry.push_back(Text(s, "Prtry"));
    }
  });
  const std::string_view uetr = Text(tx, "PmtId/UETR");
  if (gpi || !uetr.empty()) {
    out += "{3:";
    if (gpi) out += "{111:001}";
    if (!uetr.empty()) out += fmt::format("{{121:{}}}", uetr);
    out += "}";
  }
  out += "{4:";
  MtBuilder b;
  const std::string_view instr_id = Text(tx, "PmtId/InstrId");
  const std::string_view msg_id = Text(grp, "MsgId");
  const std::string_view ref = !instr_id.empty() ? instr_id : msg_id;
  if (ref.empty() || ref.size() > 16) {
    return Err(MxFault("pacs.008", "CdtTrfTxInf/PmtId/InstrId",
                       fmt::format("'{}' must be 1 to 16 characters to become field 20", ref)));
  }
  b.Field("20", ref);
  b.Field("23B", "CRED");
  for (std::string_view c : svc_codes) b.Field("23E", c);
  const std::string_view ctgy_prtry = Text(pti, "CtgyPurp/Prtry");
  for (size_t start = 0; start < ctgy_prtry.size();) {
    size_t end = ctgy_prtry.find(' ', start);
    if (end == std::string_view::npos) end = ctgy_prtry.size();
    if (end > start) b.Field("23E", ctgy_prtry.substr(start, end - start));
    start = end + 1;
  }
  ForEach(tx, "InstrForCdtrAgt", [&](pugi::xml_node i) {
    const std::string_view cd = Text(i, "Cd");
    if (cd.empty()) return;
    const std::string_view inf = Text(i, "InstrInf");
    b.Field("23E", inf.empty() ? std::string(cd) : fmt::format("{}/{}", cd, inf));
  });
  if (const std::string_view purp = Text(tx, "Purp/Prtry"); !purp.empty()) b.Field("26T", purp);

  pugi::xml_node sttl_amt = Child(tx, "IntrBkSttlmAmt");
  if (!sttl_amt) return Err(MxFault("pacs.008", "CdtTrfTxInf/IntrBkSttlmAmt", "missing"));
  std::string_view sttl_date = Text(tx, "IntrBkSttlmDt");
  if (sttl_date.empty()) sttl_date = Text(grp, "IntrBkSttlmDt");
  FERRY_ASSIGN_OR_RETURN(std::string date,
                         MtDate("pacs.008", sttl_date, "CdtTrfTxInf/IntrBkSttlmDt"));
  FERRY_ASSIGN_OR_RETURN(std::string amount,
                         MtAmount("pacs.008", sttl_amt, "CdtTrfTxInf/IntrBkSttlmAmt"));
  b.Field("32A", date + amount);
  if (pugi::xml_node instd = Child(tx, "InstdAmt")) {
    FERRY_ASSIGN_OR_RETURN(std::string a, MtAmount("pacs.008", instd, "CdtTrfTxInf/InstdAmt"));
    b.Field("33B", a);
  }
  if (const std::string_view rate = Text(tx, "XchgRate"); !rate.empty()) {
    const std::string r = DecimalToMtAmount(rate);
    if (r.empty()) return Err(MxFault("pacs.008", "CdtTrfTxInf/XchgRate", "not a decimal"));
    b.Field("36", r);
  }
  if (!Child(tx, "Dbtr")) return Err(MxFault("pacs.008", "CdtTrfTxInf/Dbtr", "missing"));
  if (!Child(tx, "Cdtr")) return Err(MxFault("pacs.008", "CdtTrfTxInf/Cdtr", "missing"));
  ReadParty(b, "50", tx, "Dbtr");
  ReadAgent(b, "52", tx, "DbtrAgt");
  pugi::xml_node sttlm = Child(grp, "SttlmInf");
  if (const std::string_view acct = Text(sttlm, "SttlmAcct/Id/Othr/Id"); !acct.empty()) {
    b.Field("53B", fmt::format("/{}", acct));
  }
  ReadAgent(b, "53", sttlm, "InstgRmbrsmntAgt");
  ReadAgent(b, "54", sttlm, "InstdRmbrsmntAgt");
  ReadAgent(b, "55", sttlm, "ThrdRmbrsmntAgt");
  ReadAgent(b, "56", tx, "IntrmyAgt1");
  ReadAgent(b, "57", tx, "CdtrAgt");
  ReadParty(b, "59", tx, "Cdtr");

  // 70: the unstructured remittance, with the end-to-end id as /ROC/ when it is not there yet.
  std::string remittance(Text(tx, "RmtInf/Ustrd"));
  const std::string_view e2e = Text(tx, "PmtId/EndToEndId");
  if (!e2e.empty() && e2e != kNotProvided &&
      remittance.find(fmt::format("/ROC/{}", e2e)) == std::string::npos) {
    remittance = remittance.empty() ? fmt::format("/ROC/{}", e2e)
                                    : fmt::format("/ROC/{} {}", e2e, remittance);
  }
  if (!remittance.empty()) {
    std::vector<std::string> lines = WrapNarrative(remittance);
    if (lines.size() > 4) {
      return Err(MxFault("pacs.008", "CdtTrfTxInf/RmtInf/Ustrd",
                         fmt::format("{} characters (with the /ROC/ end-to-end id) do not fit "
                                     "field 70's 4 lines of 35",
                                     remittance.size())));
    }
    b.Field("70", lines);
  }

  const std::string_view bearer = Text(tx, "ChrgBr");
  b.Field("71A", bearer == "SHAR" ? "SHA" : bearer == "DEBT" ? "OUR" : "BEN");
  // ChrgsInf: 71G when the agent is the instructed agent, else 71F; the zero charge the
  // forward mapping states for BEN without 71F is not a field.
  std::vector<std::string> charges_f;
  std::string charge_g;
  Status charge_error;
  ForEach(tx, "ChrgsInf", [&](pugi::xml_node ci) {
    pugi::xml_node amt = Child(ci, "Amt");
    Result<std::string> a = MtAmount("pacs.008", amt, "CdtTrfTxInf/ChrgsInf/Amt");
    if (!a.has_value()) {
      charge_error = a.error();
      return;
    }
    const std::string_view agent_bic = Text(ci, "Agt/FinInstnId/BICFI");
    if (!agent_bic.empty() && agent_bic == to) {
      charge_g = *a;
    } else if (!(bearer == "CRED" && Text(amt) == "0" &&
                 Text(ci, "Agt/FinInstnId/Nm") == kNotProvided)) {
      charges_f.push_back(*a);
    }
  });
  FERRY_RETURN_IF_ERROR(charge_error);
  for (const std::string& c : charges_f) b.Field("71F", c);
  if (!charge_g.empty()) b.Field("71G", charge_g);

  // 72, in the order INS, SVCLVL, LOCINS, CATPURP, ACC, then the next agent's lines.
  std::vector<std::string> lines72;
  for (int i = 1; i <= 3; ++i) {
    pugi::xml_node fin = Path(tx, fmt::format("PrvsInstgAgt{}/FinInstnId", i));
    if (!fin) continue;
    const std::string_view bic = Text(fin, "BICFI");
    lines72.push_back(fmt::format("/INS/{}", bic.empty() ? Text(fin, "Nm") : bic));
  }
  for (std::string_view p : svc_prtry) lines72.push_back(fmt::format("/SVCLVL/{}", p));
  if (const std::string_view l = Text(pti, "LclInstrm/Cd"); !l.empty()) {
    lines72.push_back(fmt::format("/LOCINS/{}", l));
  }
  if (const std::string_view c = Text(pti, "CtgyPurp/Cd"); !c.empty()) {
    lines72.push_back(fmt::format("/CATPURP/{}", c));
  }
  ForEach(tx, "InstrForCdtrAgt", [&](pugi::xml_node i) {
    if (Text(i, "Cd").empty()) lines72.emplace_back(Text(i, "InstrInf"));
  });
  ForEach(tx, "InstrForNxtAgt",
          [&](pugi::xml_node i) { lines72.emplace_back(Text(i, "InstrInf")); });
  if (!lines72.empty()) b.Field("72", lines72);
  std::vector<std::string> lines77;
  ForEach(Path(tx, "RgltryRptg/Dtls"), "Inf",
          [&](pugi::xml_node i) { lines77.emplace_back(Text(i)); });
  if (!lines77.empty()) b.Field("77B", lines77);
  out += b.text();
  out += "\r\n-}";
  return CheckedMt(std::move(out), "pacs.008");
}

// The lines of field 72 that a pacs.009 or pacs.004 keeps elsewhere: /INS/ from the previous
// instructing agents, the creditor agent's and next agent's instructions as written.
void Lines72Of(pugi::xml_node tx, std::vector<std::string>* lines) {
  for (int i = 1; i <= 3; ++i) {
    pugi::xml_node fin = Path(tx, fmt::format("PrvsInstgAgt{}/FinInstnId", i));
    if (!fin) continue;
    const std::string_view bic = Text(fin, "BICFI");
    lines->push_back(fmt::format("/INS/{}", bic.empty() ? Text(fin, "Nm") : bic));
  }
  ForEach(tx, "InstrForCdtrAgt", [&](pugi::xml_node i) {
    if (Text(i, "Cd").empty()) lines->emplace_back(Text(i, "InstrInf"));
  });
  ForEach(tx, "InstrForNxtAgt",
          [&](pugi::xml_node i) { lines->emplace_back(Text(i, "InstrInf")); });
}

// pacs.009 back to MT202, or MT202COV when it has an underlying customer credit transfer.
Result<std::string> Pacs009ToMt202(pugi::xml_node app, pugi::xml_node root,
                                   const MxToMtOptions& options) {
  constexpr std::string_view kDoc = "pacs.009";
  pugi::xml_node grp = Child(root, "GrpHdr");
  pugi::xml_node tx = Child(root, "CdtTrfTxInf");
  if (!tx) return Err(MxFault(kDoc, "FICdtTrf", "CdtTrfTxInf is missing"));
  if (tx.next_sibling(tx.name())) {
    return Err(MxFault(kDoc, "FICdtTrf", "more than one CdtTrfTxInf; an MT202 carries one"));
  }
  FERRY_ASSIGN_OR_RETURN(MtAddress address, AddressOf(kDoc, app, grp, tx));
  std::string out = HeaderBlocks(address, "202", options);
  pugi::xml_node u = Child(tx, "UndrlygCstmrCdtTrf");
  const std::string_view uetr = Text(tx, "PmtId/UETR");
  if (u || !uetr.empty()) {
    out += "{3:";
    if (u) out += "{119:COV}";
    if (!uetr.empty()) out += fmt::format("{{121:{}}}", uetr);
    out += "}";
  }
  out += "{4:";
  MtBuilder b;
  const std::string_view ref = Text(tx, "PmtId/InstrId");
  const std::string_view related = Text(tx, "PmtId/EndToEndId");
  if (ref.empty() || ref.size() > 16 || related.empty() || related.size() > 16) {
    return Err(MxFault(kDoc, "CdtTrfTxInf/PmtId",
                       fmt::format("InstrId '{}' and EndToEndId '{}' must be 1 to 16 characters "
                                   "to become fields 20 and 21",
                                   ref, related)));
  }
  b.Field("20", ref);
  b.Field("21", related);
  pugi::xml_node amt = Child(tx, "IntrBkSttlmAmt");
  if (!amt) return Err(MxFault(kDoc, "CdtTrfTxInf/IntrBkSttlmAmt", "missing"));
  FERRY_ASSIGN_OR_RETURN(std::string date,
                         MtDate(kDoc, Text(tx, "IntrBkSttlmDt"), "CdtTrfTxInf/IntrBkSttlmDt"));
  FERRY_ASSIGN_OR_RETURN(std::string amount, MtAmount(kDoc, amt, "CdtTrfTxInf/IntrBkSttlmAmt"));
  b.Field("32A", date + amount);
  ReadAgent(b, "52", tx, "Dbtr");
  pugi::xml_node sttlm = Child(grp, "SttlmInf");
  ReadAgent(b, "53", sttlm, "InstgRmbrsmntAgt");
  ReadAgent(b, "54", sttlm, "InstdRmbrsmntAgt");
  ReadAgent(b, "56", tx, "IntrmyAgt1");
  ReadAgent(b, "57", tx, "CdtrAgt");
  if (!Child(tx, "Cdtr")) return Err(MxFault(kDoc, "CdtTrfTxInf/Cdtr", "missing"));
  ReadAgent(b, "58", tx, "Cdtr");
  std::vector<std::string> lines72;
  Lines72Of(tx, &lines72);
  ForEach(Child(tx, "RmtInf"), "Ustrd", [&](pugi::xml_node i) { lines72.emplace_back(Text(i)); });
  if (!lines72.empty()) b.Field("72", lines72);
  if (u) {
    if (!Child(u, "Dbtr") || !Child(u, "Cdtr")) {
      return Err(MxFault(kDoc, "CdtTrfTxInf/UndrlygCstmrCdtTrf", "Dbtr and Cdtr are needed"));
    }
    ReadParty(b, "50", u, "Dbtr");
    ReadAgent(b, "52", u, "DbtrAgt");
    ReadAgent(b, "56", u, "IntrmyAgt1");
    ReadAgent(b, "57", u, "CdtrAgt");
    ReadParty(b, "59", u, "Cdtr");
    if (const std::string_view ustrd = Text(u, "RmtInf/Ustrd"); !ustrd.empty()) {
      b.Field("70", WrapNarrative(ustrd));
    }
    std::vector<std::string> b72;
    ForEach(u, "InstrForNxtAgt", [&](pugi::xml_node i) { b72.emplace_back(Text(i, "InstrInf")); });
    if (!b72.empty()) b.Field("72", b72);
    if (pugi::xml_node instd = Child(u, "InstdAmt")) {
      FERRY_ASSIGN_OR_RETURN(std::string a, MtAmount(kDoc, instd, "UndrlygCstmrCdtTrf/InstdAmt"));
      b.Field("33B", a);
    }
  }
  out += b.text();
  out += "\r\n-}";
  return CheckedMt(std::move(out), kDoc);
}

// pacs.004 back to an MT103 (the return chain's debtor is a party) or MT202 (an agent) with
// /RETN/ in 72. The field number after /RETN/ is not in the pacs.004: it comes back as 99.
Result<std::string> Pacs004ToMt(pugi::xml_node app, pugi::xml_node root,
                                const MxToMtOptions& options) {
  constexpr std::string_view kDoc = "pacs.004";
  pugi::xml_node grp = Child(root, "GrpHdr");
  pugi::xml_node tx = Child(root, "TxInf");
  if (!tx) return Err(MxFault(kDoc, "PmtRtr", "TxInf is missing"));
  if (tx.next_sibling(tx.name())) {
    return Err(MxFault(kDoc, "PmtRtr", "more than one TxInf; an MT carries one return"));
  }
  pugi::xml_node chain = Child(tx, "RtrChain");
  const bool customer = static_cast<bool>(Path(chain, "Dbtr/Pty"));
  FERRY_ASSIGN_OR_RETURN(MtAddress address, AddressOf(kDoc, app, grp, tx));
  std::string out = HeaderBlocks(address, customer ? "103" : "202", options);
  if (const std::string_view uetr = Text(tx, "OrgnlUETR"); !uetr.empty()) {
    out += fmt::format("{{3:{{121:{}}}}}", uetr);
  }
  out += "{4:";
  MtBuilder b;
  const std::string_view ref = Text(tx, "RtrId");
  if (ref.empty() || ref.size() > 16) {
    return Err(MxFault(kDoc, "TxInf/RtrId",
                       fmt::format("'{}' must be 1 to 16 characters to become field 20", ref)));
  }
  b.Field("20", ref);
  const std::string_view original_instruction = Text(tx, "OrgnlInstrId");
  const std::string_view original_e2e = Text(tx, "OrgnlEndToEndId");
  if (customer) {
    b.Field("23B", "CRED");
  } else {
    b.Field("21",
            original_e2e.empty() || original_e2e == kNotProvided ? kNotProvided : original_e2e);
  }
  pugi::xml_node amt = Child(tx, "RtrdIntrBkSttlmAmt");
  if (!amt) return Err(MxFault(kDoc, "TxInf/RtrdIntrBkSttlmAmt", "missing"));
  FERRY_ASSIGN_OR_RETURN(std::string date,
                         MtDate(kDoc, Text(tx, "IntrBkSttlmDt"), "TxInf/IntrBkSttlmDt"));
  FERRY_ASSIGN_OR_RETURN(std::string amount, MtAmount(kDoc, amt, "TxInf/RtrdIntrBkSttlmAmt"));
  b.Field("32A", date + amount);
  if (customer) {
    if (pugi::xml_node instd = Child(tx, "RtrdInstdAmt")) {
      FERRY_ASSIGN_OR_RETURN(std::string a, MtAmount(kDoc, instd, "TxInf/RtrdInstdAmt"));
      b.Field("33B", a);
    }
    if (!Path(chain, "Cdtr/Pty")) return Err(MxFault(kDoc, "TxInf/RtrChain/Cdtr/Pty", "missing"));
    ReadParty(b, "50", Child(chain, "Dbtr"), "Pty", chain, "DbtrAcct");
    ReadAgent(b, "52", chain, "DbtrAgt");
    ReadAgent(b, "57", chain, "CdtrAgt");
    ReadParty(b, "59", Child(chain, "Cdtr"), "Pty", chain, "CdtrAcct");
    const std::string_view bearer = Text(tx, "ChrgBr");
    b.Field("71A", bearer == "SHAR" ? "SHA" : bearer == "DEBT" ? "OUR" : "BEN");
  } else {
    if (!Path(chain, "Cdtr/Agt")) return Err(MxFault(kDoc, "TxInf/RtrChain/Cdtr/Agt", "missing"));
    ReadAgent(b, "52", Child(chain, "Dbtr"), "Agt", chain, "DbtrAcct");
    ReadAgent(b, "57", chain, "CdtrAgt");
    ReadAgent(b, "58", Child(chain, "Cdtr"), "Agt", chain, "CdtrAcct");
  }
  const std::string_view reason = Text(tx, "RtrRsnInf/Rsn/Cd");
  if (reason.empty()) return Err(MxFault(kDoc, "TxInf/RtrRsnInf/Rsn/Cd", "the reason is missing"));
  std::vector<std::string> lines72 = {"/RETN/99", fmt::format("/{}/", reason)};
  if (!original_instruction.empty() && original_instruction != kNotProvided) {
    lines72.push_back(fmt::format("/MREF/{}", original_instruction));
  }
  if (!original_e2e.empty() && original_e2e != kNotProvided) {
    lines72.push_back(fmt::format("/TREF/{}", original_e2e));
  }
  b.Field("72", lines72);
  out += b.text();
  out += "\r\n-}";
  return CheckedMt(std::move(out), kDoc);
}

}  // namespace

Result<MxDocument> TranslateMtToMx(const MtMessage& message, const MtToMxOptions& options) {
  const std::string kind = message.Kind();
  const bool is103 = kind == "103";
  if (is103 || kind == "202" || kind == "205" || kind == "202COV" || kind == "205COV") {
    // The mapping reads fields at their fixed positions: only a valid message gets there.
    FERRY_RETURN_IF_ERROR(ValidateMt(message));
    return is103 ? Translate103(message, options) : Translate202(message, options);
  }
  return Err(
      Unimplemented("MT{} is not translated yet (docs/swift.md, \"Not supported\"): "
                    "MT103 goes to pacs.008, MT202/205 (COV) to pacs.009, returns to pacs.004",
                    kind));
}

Result<MxDocument> TranslateMtTextToMx(std::string_view text, const MtToMxOptions& options) {
  FERRY_ASSIGN_OR_RETURN(MtMessage m, ParseMt(text));
  return TranslateMtToMx(m, options);
}

Result<std::string> TranslatePacs008ToMt103(std::string_view xml, const MxToMtOptions& options) {
  pugi::xml_document doc;
  const pugi::xml_parse_result parsed =
      doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    // The line of the offset, for the message.
    size_t line = 1;
    const size_t offset = std::min<size_t>(static_cast<size_t>(parsed.offset), xml.size());
    for (size_t i = 0; i < offset; ++i) line += xml[i] == '\n';
    return Err(
        InvalidArgument("XML (line {}, byte {}): {}", line, parsed.offset, parsed.description()));
  }
  pugi::xml_node root = doc.document_element();
  const std::string_view name = LocalName(root.name());
  if (name != "Envelope" && name != "Document" && name != "BusMsgEnvlp") {
    return Err(
        InvalidArgument("XML: the root element is <{}>; expected <Envelope> (AppHdr and "
                        "Document) or <Document>",
                        root.name()));
  }
  return Pacs008ToMt103(root, options);
}

Result<std::string> TranslateMxToMt(std::string_view xml, const MxToMtOptions& options) {
  pugi::xml_document doc;
  const pugi::xml_parse_result parsed =
      doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    size_t line = 1;
    const size_t offset = std::min<size_t>(static_cast<size_t>(parsed.offset), xml.size());
    for (size_t i = 0; i < offset; ++i) line += xml[i] == '\n';
    return Err(
        InvalidArgument("XML (line {}, byte {}): {}", line, parsed.offset, parsed.description()));
  }
  pugi::xml_node root = doc.document_element();
  pugi::xml_node app = Child(root, "AppHdr");
  pugi::xml_node document = LocalName(root.name()) == "Document" ? root : Child(root, "Document");
  if (Child(document, "FIToFICstmrCdtTrf")) return Pacs008ToMt103(root, options);
  if (pugi::xml_node r = Child(document, "FICdtTrf")) return Pacs009ToMt202(app, r, options);
  if (pugi::xml_node r = Child(document, "PmtRtr")) return Pacs004ToMt(app, r, options);
  return Err(InvalidArgument(
      "XML: <{}> holds no FIToFICstmrCdtTrf (pacs.008), FICdtTrf (pacs.009) nor PmtRtr "
      "(pacs.004) document",
      root.name()));
}

}  // namespace ferry::legacy
