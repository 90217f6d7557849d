// MT103 <-> pacs.008 on hand-written messages (swift_test_messages.h): each mapped field lands
// at its XPath (docs/swift.md's table), every message comes back from pacs.008 with every mapped
// field, random messages too (a property over generated MT103s), and each error names the field
// or element and what is wrong.
#include "legacy/swift_mx.h"

#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pugixml.hpp>

#include "legacy/swift_test_messages.h"
#include "legacy/swift_test_xml.h"

namespace ferry::legacy {
namespace {

using testing::Crlf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kNoon = 1767268800;  // 2026-01-01T12:00:00Z

// The texts of the elements at `path` ("AppHdr/Fr/FIId/FinInstnId/BICFI"; local names from the
// Envelope down; "*" for "Document/<root>"), in document order.
std::vector<std::string> At(const std::string& xml, std::string_view path) {
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_buffer(xml.data(), xml.size()));
  std::vector<pugi::xml_node> nodes = {doc.document_element()};
  while (!path.empty()) {
    const size_t slash = path.find('/');
    const std::string_view step = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    std::vector<pugi::xml_node> next;
    for (pugi::xml_node n : nodes) {
      for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
        std::string_view name = c.name();
        if (name.find(':') != std::string_view::npos) name = name.substr(name.find(':') + 1);
        if (c.type() == pugi::node_element && (step == "*" || name == step)) next.push_back(c);
      }
    }
    nodes = std::move(next);
  }
  std::vector<std::string> out;
  for (pugi::xml_node n : nodes) out.emplace_back(n.child_value());
  return out;
}

std::string One(const std::string& xml, std::string_view path) {
  std::vector<std::string> v = At(xml, path);
  EXPECT_EQ(v.size(), 1u) << path;
  return v.empty() ? "(absent)" : v[0];
}

std::string Attr(const std::string& xml, std::string_view path, const char* attribute) {
  pugi::xml_document doc;
  doc.load_buffer(xml.data(), xml.size());
  std::string xpath;
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    xpath += fmt::format("/*[local-name()='{}']", path.substr(start, end - start));
    start = end + 1;
  }
  return doc.select_node(("/*" + xpath).c_str()).node().attribute(attribute).value();
}

MxDocument Translate(std::string_view mt, MtToMxOptions options = {.creation_time = kNoon}) {
  Result<MxDocument> mx = TranslateMtTextToMx(Crlf(mt), options);
  EXPECT_TRUE(mx.has_value()) << mx.error().ToString();
  return mx.value_or(MxDocument{});
}

constexpr std::string_view kTx = "Document/FIToFICstmrCdtTrf/CdtTrfTxInf/";
std::string Tx(std::string_view rest) { return std::string(kTx) + std::string(rest); }

TEST(SwiftMxTest, FullMessageFieldsLandAtTheirXPaths) {
  const MxDocument mx = Translate(testing::kMt103Full);
  const std::string& x = mx.xml;
  EXPECT_EQ(mx.message_definition, "pacs.008.001.08");
  EXPECT_EQ(mx.business_service, "swift.cbprplus.03");
  // Header: output message, sender from the MIR, receiver from block 1, time from the MIR.
  EXPECT_EQ(One(x, "AppHdr/Fr/FIId/FinInstnId/BICFI"), "FAKEGB2LXXX");
  EXPECT_EQ(One(x, "AppHdr/To/FIId/FinInstnId/BICFI"), "BANKDEFFXXX");
  EXPECT_EQ(One(x, "AppHdr/BizMsgIdr"), "REF-2026-0001");
  EXPECT_EQ(One(x, "AppHdr/MsgDefIdr"), "pacs.008.001.08");
  EXPECT_EQ(One(x, "AppHdr/CreDt"), "2026-01-15T12:30:00+00:00");
  const std::string grp = "Document/FIToFICstmrCdtTrf/GrpHdr/";
  EXPECT_EQ(One(x, grp + "MsgId"), "REF-2026-0001");
  EXPECT_EQ(One(x, grp + "CreDtTm"), "2026-01-15T12:30:00+00:00");
  EXPECT_EQ(One(x, grp + "NbOfTxs"), "1");
  // 53A/54A: a cover payment with reimbursement agents.
  EXPECT_EQ(One(x, grp + "SttlmInf/SttlmMtd"), "COVE");
  EXPECT_EQ(One(x, grp + "SttlmInf/InstgRmbrsmntAgt/FinInstnId/BICFI"), "REIMGB2LXXX");
  EXPECT_EQ(One(x, grp + "SttlmInf/InstdRmbrsmntAgt/FinInstnId/BICFI"), "RCVRDEFF");
  EXPECT_EQ(One(x, Tx("PmtId/InstrId")), "REF-2026-0001");
  EXPECT_EQ(One(x, Tx("PmtId/EndToEndId")), "E2E-REF-77");
  EXPECT_EQ(One(x, Tx("PmtId/UETR")), "e2b8a9c4-1111-4a2b-9c3d-0123456789ab");
  // {111:001} -> G001, 23E SDVA -> SvcLvl/Cd, 72 /SVCLVL/ -> SvcLvl/Prtry; 23E INTC ->
  // CtgyPurp; 23E HOLD -> InstrForCdtrAgt.
  EXPECT_THAT(At(x, Tx("PmtTpInf/SvcLvl/Cd")), ElementsAre("G001", "SDVA"));
  EXPECT_THAT(At(x, Tx("PmtTpInf/SvcLvl/Prtry")), ElementsAre("PRTY"));
  EXPECT_EQ(One(x, Tx("PmtTpInf/CtgyPurp/Prtry")), "INTC");
  EXPECT_EQ(One(x, Tx("IntrBkSttlmAmt")), "1234.56");
  EXPECT_EQ(Attr(x, Tx("IntrBkSttlmAmt"), "Ccy"), "EUR");
  EXPECT_EQ(One(x, Tx("IntrBkSttlmDt")), "2026-01-15");
  EXPECT_EQ(One(x, Tx("InstdAmt")), "1350");
  EXPECT_EQ(Attr(x, Tx("InstdAmt"), "Ccy"), "USD");
  EXPECT_EQ(One(x, Tx("XchgRate")), "0.9145");
  EXPECT_EQ(One(x, Tx("ChrgBr")), "DEBT");
  // 71G: the receiver's charges, owed to the instructed agent.
  EXPECT_EQ(One(x, Tx("ChrgsInf/Amt")), "12.5");
  EXPECT_EQ(One(x, Tx("ChrgsInf/Agt/FinInstnId/BICFI")), "BANKDEFFXXX");
  EXPECT_EQ(One(x, Tx("PrvsInstgAgt1/FinInstnId/BICFI")), "FAKEGB2LXXX");
  EXPECT_EQ(One(x, Tx("InstgAgt/FinInstnId/BICFI")), "FAKEGB2LXXX");
  EXPECT_EQ(One(x, Tx("InstdAgt/FinInstnId/BICFI")), "BANKDEFFXXX");
  EXPECT_EQ(One(x, Tx("IntrmyAgt1/FinInstnId/BICFI")), "INTRFRPP");
  // 50F: account, name, address line, country and town.
  EXPECT_EQ(One(x, Tx("Dbtr/Nm")), "ADA LOVELACE");
  EXPECT_EQ(One(x, Tx("Dbtr/PstlAdr/TwnNm")), "LONDON");
  EXPECT_EQ(One(x, Tx("Dbtr/PstlAdr/Ctry")), "GB");
  EXPECT_EQ(One(x, Tx("Dbtr/PstlAdr/AdrLine")), "12 ANALYTICAL ROW");
  EXPECT_EQ(One(x, Tx("DbtrAcct/Id/Othr/Id")), "DE44500105175407324931");
  EXPECT_EQ(One(x, Tx("DbtrAgt/FinInstnId/BICFI")), "FAKEGB2L");
  EXPECT_EQ(One(x, Tx("DbtrAgtAcct/Id/Othr/Id")), "D/123456");
  // 57D: name and address.
  EXPECT_EQ(One(x, Tx("CdtrAgt/FinInstnId/Nm")), "BANQUE IMAGINAIRE");
  EXPECT_THAT(At(x, Tx("CdtrAgt/FinInstnId/PstlAdr/AdrLine")),
              ElementsAre("1 RUE DU CODE", "PARIS"));
  EXPECT_EQ(One(x, Tx("CdtrAgtAcct/Id/Othr/Id")), "FR7630006000011234567890189");
  // 59: name and address lines.
  EXPECT_EQ(One(x, Tx("Cdtr/Nm")), "CHARLES BABBAGE");
  EXPECT_THAT(At(x, Tx("Cdtr/PstlAdr/AdrLine")), ElementsAre("7 DIFFERENCE ENGINE LANE", "BERLIN"));
  EXPECT_EQ(One(x, Tx("CdtrAcct/Id/Othr/Id")), "DE89370400440532013000");
  // 23E HOLD and 72 /ACC/ (with its continuation) for the creditor agent, /INT/ for the next.
  EXPECT_THAT(At(x, Tx("InstrForCdtrAgt/Cd")), ElementsAre("HOLD"));
  EXPECT_THAT(At(x, Tx("InstrForCdtrAgt/InstrInf")),
              ElementsAre("CALL BEFORE PAYING", "/ACC/PAY ON RECEIPT", "//OF DOCUMENTS"));
  EXPECT_THAT(At(x, Tx("InstrForNxtAgt/InstrInf")), ElementsAre("/INT/CHECK NAME"));
  EXPECT_EQ(One(x, Tx("Purp/Prtry")), "K90");
  EXPECT_EQ(One(x, Tx("RgltryRptg/Dtls/Inf")), "/ORDERRES/GB//12 ANALYTICAL ROW");
  EXPECT_EQ(One(x, Tx("RmtInf/Ustrd")), "/ROC/E2E-REF-77 INVOICE 2026-001 FOR ENGINE PARTS");
}

TEST(SwiftMxTest, InputMessageUsesTheCreationTimeAndBlock1Sender) {
  const std::string x = Translate(testing::kMt103Input).xml;
  EXPECT_EQ(One(x, "AppHdr/Fr/FIId/FinInstnId/BICFI"), "FAKEUS33XXX");
  EXPECT_EQ(One(x, "AppHdr/To/FIId/FinInstnId/BICFI"), "BANKJPJTXXX");
  EXPECT_EQ(One(x, "AppHdr/CreDt"), "2026-01-01T12:00:00+00:00");
  EXPECT_EQ(One(x, "Document/FIToFICstmrCdtTrf/GrpHdr/CreDtTm"), "2026-01-01T12:00:00+00:00");
  // 53B with only an account: a settlement account, no reimbursement agent.
  EXPECT_EQ(One(x, "Document/FIToFICstmrCdtTrf/GrpHdr/SttlmInf/SttlmMtd"), "INDA");
  EXPECT_EQ(One(x, "Document/FIToFICstmrCdtTrf/GrpHdr/SttlmInf/SttlmAcct/Id/Othr/Id"),
            "SETTLEMENT-ACCT-1");
  EXPECT_EQ(One(x, Tx("PmtId/EndToEndId")), "NOTPROVIDED");
  EXPECT_EQ(At(x, Tx("PmtTpInf")).size(), 0u);
  EXPECT_EQ(At(x, Tx("InstdAmt")).size(), 0u);
  EXPECT_EQ(One(x, Tx("ChrgBr")), "CRED");
  EXPECT_THAT(At(x, Tx("ChrgsInf/Amt")), ElementsAre("1500", "2"));
  EXPECT_THAT(At(x, Tx("ChrgsInf/Agt/FinInstnId/Nm")), ElementsAre("NOTPROVIDED", "NOTPROVIDED"));
  EXPECT_EQ(One(x, Tx("Dbtr/Nm")), "ACME WIDGETS INC");
  EXPECT_THAT(At(x, Tx("Dbtr/PstlAdr/AdrLine")), ElementsAre("1 MAIN STREET", "SPRINGFIELD US"));
  EXPECT_EQ(One(x, Tx("DbtrAcct/Id/Othr/Id")), "1234567890");
  EXPECT_EQ(One(x, Tx("DbtrAgt/FinInstnId/Nm")), "ORDERING BANK OF TESTING");
  EXPECT_EQ(At(x, Tx("DbtrAgtAcct")).size(), 0u);
  EXPECT_EQ(One(x, Tx("IntrmyAgt1/FinInstnId/ClrSysMmbId/MmbId")), "/FW021000021");
  EXPECT_EQ(One(x, Tx("CdtrAgt/FinInstnId/BICFI")), "BANKJPJT");
  EXPECT_EQ(One(x, Tx("Cdtr/Id/OrgId/AnyBIC")), "BENEJPJT");
  EXPECT_EQ(One(x, Tx("CdtrAcct/Id/Othr/Id")), "JP123456");
  EXPECT_EQ(One(x, Tx("RmtInf/Ustrd")), "GOODS");
}

TEST(SwiftMxTest, BenWithoutChargesStatesAZeroCharge) {
  std::string mt(testing::kMt103Input);
  const std::string_view charges = ":71F:JPY1500,\n:71F:USD2,\n";
  mt.replace(mt.find(charges), charges.size(), "");
  const std::string x = Translate(mt).xml;
  EXPECT_EQ(One(x, Tx("ChrgsInf/Amt")), "0");
  EXPECT_EQ(Attr(x, Tx("ChrgsInf/Amt"), "Ccy"), "USD");
  EXPECT_EQ(One(x, Tx("ChrgsInf/Agt/FinInstnId/PstlAdr/AdrLine")), "NOTPROVIDED");
}

TEST(SwiftMxTest, ThirdMessageOptionsBAndCAndStructuredCreditor) {
  const std::string x = Translate(testing::kMt103Third).xml;
  const std::string sttlm = "Document/FIToFICstmrCdtTrf/GrpHdr/SttlmInf/";
  EXPECT_EQ(One(x, sttlm + "SttlmMtd"), "COVE");
  EXPECT_EQ(One(x, sttlm + "InstgRmbrsmntAgt/FinInstnId/Nm"), "CORRESPONDENT ONE");
  EXPECT_EQ(One(x, sttlm + "InstgRmbrsmntAgt/FinInstnId/PstlAdr/AdrLine"), "LONDON");
  EXPECT_EQ(One(x, sttlm + "InstgRmbrsmntAgtAcct/Id/Othr/Id"), "111222");
  EXPECT_EQ(One(x, sttlm + "InstdRmbrsmntAgt/FinInstnId/PstlAdr/AdrLine"), "FRANKFURT");
  EXPECT_EQ(One(x, sttlm + "ThrdRmbrsmntAgt/FinInstnId/BICFI"), "THRDUS33");
  EXPECT_EQ(One(x, Tx("IntrBkSttlmAmt")), "0.5");
  EXPECT_EQ(One(x, Tx("ChrgBr")), "SHAR");
  EXPECT_EQ(At(x, Tx("ChrgsInf")).size(), 0u);
  EXPECT_EQ(One(x, Tx("Dbtr/Id/OrgId/AnyBIC")), "ORDRGB2L");
  EXPECT_EQ(One(x, Tx("DbtrAcct/Id/Othr/Id")), "GB29NWBK60161331926819");
  EXPECT_EQ(One(x, Tx("CdtrAgt/FinInstnId/ClrSysMmbId/MmbId")), "/SC123456");
  EXPECT_EQ(One(x, Tx("Cdtr/Nm")), "ZED CUSTOMER");
  EXPECT_EQ(One(x, Tx("Cdtr/PstlAdr/TwnNm")), "MUNICH");
  EXPECT_EQ(One(x, Tx("Cdtr/PstlAdr/Ctry")), "DE");
  EXPECT_EQ(At(x, Tx("CdtrAcct")).size(), 0u);
  EXPECT_EQ(One(x, Tx("PmtTpInf/LclInstrm/Cd")), "CH03");
  EXPECT_EQ(One(x, Tx("PmtTpInf/CtgyPurp/Cd")), "SUPP");
  EXPECT_THAT(At(x, Tx("InstrForNxtAgt/InstrInf")), ElementsAre("/REC/PLEASE ADVISE", "/PHON/"));
}

TEST(SwiftMxTest, ReturnBecomesPacs004) {
  const MxDocument mx = Translate(testing::kMt103Return);
  EXPECT_EQ(mx.message_definition, "pacs.004.001.09");
  const std::string& x = mx.xml;
  EXPECT_EQ(One(x, "AppHdr/MsgDefIdr"), "pacs.004.001.09");
  const std::string tx = "Document/PmtRtr/TxInf/";
  EXPECT_EQ(One(x, tx + "RtrId"), "RTN-0001");
  EXPECT_EQ(One(x, tx + "OrgnlInstrId"), "THIRD/REF");
  EXPECT_EQ(One(x, tx + "OrgnlEndToEndId"), "E2E-THIRD");
  EXPECT_EQ(One(x, tx + "OrgnlUETR"), "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d");
  EXPECT_EQ(One(x, tx + "RtrdIntrBkSttlmAmt"), "0.5");
  EXPECT_EQ(One(x, tx + "RtrRsnInf/Rsn/Cd"), "AC01");
  EXPECT_EQ(One(x, tx + "RtrChain/Dbtr/Pty/Id/OrgId/AnyBIC"), "ORDRGB2L");
  EXPECT_EQ(One(x, tx + "RtrChain/Cdtr/Pty/PstlAdr/TwnNm"), "MUNICH");
}

TEST(SwiftMxTest, Mt202BecomesPacs009) {
  const MxDocument mx = Translate(testing::kMt202);
  const std::string& x = mx.xml;
  EXPECT_EQ(mx.message_definition, "pacs.009.001.08");
  EXPECT_EQ(mx.business_service, "swift.cbprplus.adv.03");  // 53A/54A: a cover advice
  EXPECT_EQ(One(x, "AppHdr/BizSvc"), "swift.cbprplus.adv.03");
  EXPECT_EQ(One(x, "AppHdr/Fr/FIId/FinInstnId/BICFI"), "FAKEGB2LXXX");
  EXPECT_EQ(One(x, "AppHdr/CreDt"), "2026-02-10T15:45:00+00:00");
  const std::string grp = "Document/FICdtTrf/GrpHdr/";
  EXPECT_EQ(One(x, grp + "SttlmInf/SttlmMtd"), "COVE");
  EXPECT_EQ(One(x, grp + "SttlmInf/InstgRmbrsmntAgt/FinInstnId/BICFI"), "REIMGB2LXXX");
  EXPECT_EQ(One(x, grp + "SttlmInf/InstdRmbrsmntAgt/FinInstnId/BICFI"), "RCVRDEFF");
  const std::string tx = "Document/FICdtTrf/CdtTrfTxInf/";
  EXPECT_EQ(One(x, tx + "PmtId/InstrId"), "FI-0001");
  EXPECT_EQ(One(x, tx + "PmtId/EndToEndId"), "CUST-REF-9");
  EXPECT_EQ(One(x, tx + "PmtId/UETR"), "31415926-5358-4979-8323-846264338327");
  EXPECT_EQ(One(x, tx + "IntrBkSttlmAmt"), "250000.75");
  EXPECT_EQ(Attr(x, tx + "IntrBkSttlmAmt", "Ccy"), "CHF");
  EXPECT_EQ(One(x, tx + "PrvsInstgAgt1/FinInstnId/BICFI"), "FAKEGB2L");
  EXPECT_EQ(One(x, tx + "IntrmyAgt1/FinInstnId/Nm"), "INTERMEDIARY BANK");
  EXPECT_EQ(One(x, tx + "IntrmyAgt1/FinInstnId/PstlAdr/AdrLine"), "ZURICH");
  EXPECT_EQ(One(x, tx + "Dbtr/FinInstnId/BICFI"), "ORDRGB2L");
  EXPECT_EQ(One(x, tx + "CdtrAgt/FinInstnId/BICFI"), "ACWICHZZ");
  EXPECT_EQ(One(x, tx + "Cdtr/FinInstnId/BICFI"), "BENECHZZ");
  EXPECT_EQ(One(x, tx + "CdtrAcct/Id/Othr/Id"), "CH9300762011623852957");
  EXPECT_EQ(One(x, tx + "InstrForCdtrAgt/InstrInf"), "/UDLC/SPECIAL HANDLING");
  EXPECT_EQ(One(x, tx + "RmtInf/Ustrd"), "/BNF/TREASURY DEAL 42");
  EXPECT_EQ(At(x, tx + "UndrlygCstmrCdtTrf").size(), 0u);
}

TEST(SwiftMxTest, Mt202CovCarriesTheUnderlyingCustomerTransfer) {
  const MxDocument mx = Translate(testing::kMt202Cov);
  const std::string& x = mx.xml;
  EXPECT_EQ(mx.business_service, "swift.cbprplus.cov.03");
  const std::string tx = "Document/FICdtTrf/CdtTrfTxInf/";
  EXPECT_EQ(One(x, "Document/FICdtTrf/GrpHdr/SttlmInf/SttlmMtd"), "INDA");
  EXPECT_EQ(One(x, "Document/FICdtTrf/GrpHdr/CreDtTm"), "2026-01-01T12:00:00+00:00");
  // No 52a in sequence A: the sender is the debtor.
  EXPECT_EQ(One(x, tx + "Dbtr/FinInstnId/BICFI"), "FAKEUS33XXX");
  EXPECT_EQ(One(x, tx + "CdtrAgt/FinInstnId/BICFI"), "CORRDEFF");
  EXPECT_EQ(One(x, tx + "Cdtr/FinInstnId/BICFI"), "BANKDEFF");
  const std::string u = tx + "UndrlygCstmrCdtTrf/";
  EXPECT_EQ(One(x, u + "Dbtr/Nm"), "GRACE HOPPER");
  EXPECT_EQ(One(x, u + "Dbtr/PstlAdr/AdrLine"), "1 COMPILER WAY");
  EXPECT_EQ(One(x, u + "DbtrAcct/Id/Othr/Id"), "998877");
  EXPECT_EQ(One(x, u + "DbtrAgt/FinInstnId/BICFI"), "FAKEUS33");
  EXPECT_EQ(One(x, u + "CdtrAgt/FinInstnId/BICFI"), "BANKDEFF");
  EXPECT_EQ(One(x, u + "Cdtr/Nm"), "ALAN TURING");
  EXPECT_EQ(One(x, u + "CdtrAcct/Id/Othr/Id"), "DE12345678");
  EXPECT_EQ(At(x, u + "Cdtr/Id").size(), 0u);  // it has an account
  EXPECT_EQ(One(x, u + "RmtInf/Ustrd"), "INVOICE 1936");
  EXPECT_EQ(One(x, u + "InstdAmt"), "1000");
  EXPECT_EQ(Attr(x, u + "InstdAmt", "Ccy"), "USD");
}

TEST(SwiftMxTest, Mt202ReturnBecomesPacs004) {
  const MxDocument mx = Translate(testing::kMt202Return);
  const std::string& x = mx.xml;
  EXPECT_EQ(mx.message_definition, "pacs.004.001.09");
  const std::string tx = "Document/PmtRtr/TxInf/";
  EXPECT_EQ(One(x, tx + "RtrId"), "RTN-202");
  EXPECT_EQ(One(x, tx + "OrgnlInstrId"), "FI-0001");
  EXPECT_EQ(One(x, tx + "OrgnlEndToEndId"), "CUST-REF-9");
  EXPECT_EQ(One(x, tx + "RtrdIntrBkSttlmAmt"), "250000.75");
  EXPECT_EQ(One(x, tx + "ChrgBr"), "SHAR");
  EXPECT_EQ(One(x, tx + "RtrChain/Dbtr/Agt/FinInstnId/BICFI"), "BENECHZZ");
  EXPECT_EQ(One(x, tx + "RtrChain/CdtrAgt/FinInstnId/BICFI"), "FAKEGB2L");
  EXPECT_EQ(One(x, tx + "RtrChain/Cdtr/Agt/FinInstnId/BICFI"), "ORDRGB2L");
  EXPECT_EQ(One(x, tx + "RtrRsnInf/Rsn/Cd"), "AC03");
}

TEST(SwiftMxTest, ReverseRefusesTextFinCannotCarry) {
  const std::string good = Translate(testing::kMt103Input).xml;
  std::string amp = good;
  amp.replace(amp.find("ACME WIDGETS INC"), 16, "ACME &amp; SONS");
  Result<std::string> mt = TranslatePacs008ToMt103(amp);
  ASSERT_FALSE(mt.has_value()) << mt.value_or("");
  EXPECT_THAT(mt.error().message(),
              HasSubstr("pacs.008: the MT it translates to would not be valid (block 4, field "
                        ":50K: (line 6, column 6): '&' (0x26) is not in the SWIFT X character "
                        "set"));
  std::string long_name = good;
  long_name.replace(long_name.find("ACME WIDGETS INC"), 16, std::string(40, 'N'));
  mt = TranslatePacs008ToMt103(long_name);
  ASSERT_FALSE(mt.has_value());
  EXPECT_THAT(mt.error().message(),
              HasSubstr("field :50K: (line 6, column 36): line of 40 characters"));
}

// Random damage to every hand-written message and to its XML: each result is a translation or
// an error, never a crash (the sanitizer run of legacy_test makes this a memory-safety check).
TEST(SwiftMxTest, DamagedInputsGiveErrorsNotCrashes) {
  std::mt19937 rng(7);
  static constexpr std::string_view kBytes = "{}:-/\n\r 0123ABCZaz,.?'+@_\x00\xff";
  auto damage = [&](std::string text) {
    for (int n = std::uniform_int_distribution<int>(1, 4)(rng); n > 0 && !text.empty(); --n) {
      const size_t at = std::uniform_int_distribution<size_t>(0, text.size() - 1)(rng);
      switch (std::uniform_int_distribution<int>(0, 3)(rng)) {
        case 0:
          text[at] = kBytes[std::uniform_int_distribution<size_t>(0, kBytes.size() - 1)(rng)];
          break;
        case 1: text.erase(at, std::uniform_int_distribution<size_t>(1, 8)(rng)); break;
        case 2:
          text.insert(at, 1,
                      kBytes[std::uniform_int_distribution<size_t>(0, kBytes.size() - 1)(rng)]);
          break;
        default: text.resize(at);
      }
    }
    return text;
  };
  int translated = 0;
  int refused = 0;
  for (std::string_view message :
       {testing::kMt103Full, testing::kMt103Input, testing::kMt103Third, testing::kMt103Return,
        testing::kMt202, testing::kMt202Cov, testing::kMt202Return}) {
    const std::string text = Crlf(message);
    const std::string xml = TranslateMtTextToMx(text, {.creation_time = kNoon}).value().xml;
    for (int i = 0; i < 400; ++i) {
      Result<MxDocument> mx = TranslateMtTextToMx(damage(text), {.creation_time = kNoon});
      if (mx.has_value()) {
        ++translated;
        pugi::xml_document doc;
        EXPECT_TRUE(doc.load_buffer(mx->xml.data(), mx->xml.size()));
      } else {
        ++refused;
        EXPECT_FALSE(mx.error().message().empty());
      }
      Result<std::string> mt = TranslatePacs008ToMt103(damage(xml));
      if (mt.has_value()) {
        EXPECT_TRUE(ParseMt(*mt).has_value()) << *mt;
      }
    }
  }
  EXPECT_GT(translated, 100);
  EXPECT_GT(refused, 100);
}

// MT -> MX -> MT keeps every mapped field (swift_test_xml.h, RoundTripDiff).
void ExpectRoundTrip(std::string_view mt_text) {
  Result<MtMessage> m = ParseMt(mt_text);
  ASSERT_TRUE(m.has_value()) << m.error().ToString() << "\n" << mt_text;
  ASSERT_TRUE(ValidateMt(*m).ok()) << ValidateMt(*m).ToString() << "\n" << mt_text;
  Result<MxDocument> mx = TranslateMtToMx(*m, {.creation_time = kNoon});
  ASSERT_TRUE(mx.has_value()) << mx.error().ToString() << "\n" << mt_text;
  Result<std::string> back = TranslateMxToMt(mx->xml, {.output_header = m->direction == 'O'});
  ASSERT_TRUE(back.has_value()) << back.error().ToString() << "\n" << mx->xml;
  Result<MtMessage> again = ParseMt(*back);
  ASSERT_TRUE(again.has_value()) << again.error().ToString() << "\n" << *back;
  EXPECT_TRUE(ValidateMt(*again).ok()) << ValidateMt(*again).ToString() << "\n" << *back;
  EXPECT_EQ(testing::RoundTripDiff(*m, *again), "") << mt_text << "\n---\n" << *back;
}

TEST(SwiftMxTest, RoundTripOfTheHandWrittenMessages) {
  for (std::string_view mt :
       {testing::kMt103Full, testing::kMt103Input, testing::kMt103Third, testing::kMt103Return,
        testing::kMt202, testing::kMt202Cov, testing::kMt202Return}) {
    ExpectRoundTrip(Crlf(mt));
  }
}

TEST(SwiftMxTest, BackToMt103WritesFinFormat) {
  const std::string x = Translate(testing::kMt103Input).xml;
  Result<std::string> mt = TranslatePacs008ToMt103(x, {.output_header = false});
  ASSERT_TRUE(mt.has_value()) << mt.error().ToString();
  EXPECT_TRUE(
      mt->starts_with("{1:F01FAKEUS33XXXX0000000000}{2:I103BANKJPJTXXXXN}"
                      "{3:{121:0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9}}{4:\r\n:20:INPUT-0002"
                      "\r\n:23B:CRED\r\n:32A:251231JPY1000000,\r\n"))
      << *mt;
  EXPECT_TRUE(mt->ends_with(":71F:JPY1500,\r\n:71F:USD2,\r\n-}")) << *mt;
  // An output header takes its MIR date and time from the creation time.
  Result<std::string> out = TranslatePacs008ToMt103(x);
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(
      out->starts_with("{1:F01BANKJPJTXXXX0000000000}{2:O1031200260101FAKEUS33XXXX"
                       "00000000002601011200N}"))
      << *out;
}

// Random MT103s of every supported shape: a property over the whole mapping.
class RandomMt103 {
 public:
  explicit RandomMt103(uint32_t seed) : rng_(seed) {}

  std::string Make() {
    std::string t;
    const bool output = Coin();
    const std::string sender = Bic(false) + "X" + Pick({"XXX", "ABC"});
    const std::string receiver = Bic(false) + "X" + "XXX";
    if (output) {
      t = fmt::format(
          "{{1:F01{}0000000000}}{{2:O103{:02}{:02}26{:02}{:02}{}0000000000260101"
          "0000N}}",
          receiver, Int(0, 23), Int(0, 59), Int(1, 12), Int(1, 28), sender);
    } else {
      t = fmt::format("{{1:F01{}0000000000}}{{2:I103{}N}}", sender, receiver);
    }
    t += "{3:";
    if (Coin()) t += "{111:001}";
    t += fmt::format("{{121:{:08x}-0000-4000-8000-{:012x}}}}}{{4:\r\n", Int(0, 1 << 30),
                     Int(0, 1 << 30));
    Field(t, "20", Word(1, 16));
    Field(t, "23B", "CRED");
    if (Coin()) Field(t, "23E", "SDVA");
    if (Coin()) Field(t, "23E", "INTC");
    if (Coin()) Field(t, "23E", Pick({"HOLD", "CHQB/SEND BY POST", "PHOB/" + Words(20)}));
    if (Coin()) Field(t, "26T", Pick({"K90", "ABC", "001"}));
    const std::string ccy = Pick({"EUR", "USD", "JPY", "GBP"});
    Field(t, "32A", fmt::format("26{:02}{:02}{}{}", Int(1, 12), Int(1, 28), ccy, Amount()));
    if (Coin()) {
      // Rule D75: an exchange rate exactly when the currencies differ.
      const std::string instructed = Coin() ? ccy : Pick({"USD", "CHF"});
      Field(t, "33B", instructed + Amount());
      if (instructed != ccy) Field(t, "36", fmt::format("{},{}", Int(0, 9), Int(0, 9999)));
    }
    switch (Int(0, 2)) {
      case 0: Field(t, "50A", Account(true) + Bic(true)); break;
      case 1:
        Field(t, "50F",
              Pick({"/" + Word(5, 30), "ARNU/DE/" + Word(3, 20)}) + "\r\n1/" + Words(33) +
                  (Coin() ? "\r\n2/" + Words(33) : "") + "\r\n3/" + Pick({"DE", "GB", "FR"}) + "/" +
                  Words(30));
        break;
      default: Field(t, "50K", Account(true) + NameLines());
    }
    Field(t, "52" + Agent("AD"));
    if (Coin()) Field(t, "53" + Agent("ABD"));
    if (Coin()) Field(t, "54" + Agent("ABD"));
    if (Coin()) Field(t, "55" + Agent("ABD"));
    if (Coin()) Field(t, "56" + Agent("ACD"));
    Field(t, "57" + Agent("ABCD"));
    switch (Int(0, 2)) {
      case 0: Field(t, "59A", Account(true) + Bic(true)); break;
      case 1:
        Field(t, "59F",
              Account(true) + "1/" + Words(33) + "\r\n2/" + Words(33) + "\r\n3/" +
                  Pick({"DE", "GB", "FR"}) + "/" + Words(30));
        break;
      default: Field(t, "59", Account(true) + NameLines());
    }
    if (Coin()) {
      std::string v = Coin() ? "/ROC/" + Word(1, 16) : Words(35);
      for (int i = Int(0, 3); i > 0; --i) v += "\r\n" + Words(35);
      Field(t, "70", v);
    }
    const std::string charges = Pick({"SHA", "OUR", "BEN"});
    Field(t, "71A", charges);
    if (charges != "OUR") {
      for (int i = charges == "BEN" ? Int(1, 2) : Int(0, 1); i > 0; --i) {
        Field(t, "71F", ccy + Amount());
      }
    }
    if (charges == "OUR" && Coin()) Field(t, "71G", ccy + Amount());
    std::vector<std::string> lines72;
    for (int i = Int(0, 2); i > 0; --i) {
      lines72.push_back("/INS/" + (Coin() ? Bic(true) : Words(20)));
    }
    if (Coin()) lines72.push_back("/SVCLVL/" + Word(4, 4));
    if (Coin()) lines72.push_back("/LOCINS/" + Word(4, 4));
    if (Coin()) {
      lines72.push_back("/ACC/" + Words(25));
      if (Coin()) lines72.push_back("//" + Words(25));
    }
    if (Coin()) lines72.push_back(Pick({"/INT/", "/REC/", "/PHON/"}) + Words(25));
    if (lines72.size() > 6) lines72.resize(6);
    if (!lines72.empty()) Field(t, "72", fmt::format("{}", fmt::join(lines72, "\r\n")));
    if (Coin()) Field(t, "77B", "/" + Word(4, 8) + "/" + Words(25) + "\r\n//" + Words(30));
    t += "-}";
    return t;
  }

 private:
  bool Coin() { return Int(0, 1) == 1; }
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::string Pick(std::initializer_list<std::string> options) {
    return *(options.begin() + Int(0, static_cast<int>(options.size()) - 1));
  }
  std::string Word(int min, int max) {
    static constexpr std::string_view kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcxyz.-";
    std::string w;
    for (int n = Int(min, max); n > 0; --n) w.push_back(kChars[Int(0, kChars.size() - 1)]);
    // A reference may not start or end with '/'; none of these letters is one.
    return w;
  }
  // Words joined by single blanks, at most `max` characters, starting with a letter.
  std::string Words(int max) {
    std::string s = "W";
    while (true) {
      const std::string w = Word(1, 8);
      if (static_cast<int>(s.size() + 1 + w.size()) > max) break;
      s += " " + w;
      if (Int(0, 4) == 0) break;
    }
    return s;
  }
  std::string Bic(bool branch) {
    std::string b;
    for (int i = 0; i < 6; ++i) b.push_back(static_cast<char>('A' + Int(0, 25)));
    b += Pick({"2L", "33", "FF", "PP"});
    if (branch && Coin()) b += Pick({"XXX", "A01"});
    return b;
  }
  std::string Account(bool optional) {
    if (optional && Coin()) return "";
    return "/" + Pick({"", "D/", "C/"}) + Word(4, 20) + "\r\n";
  }
  std::string Amount() { return fmt::format("{},{}", Int(0, 999999), Pick({"", "5", "25", "01"})); }
  std::string NameLines() {
    std::string s = Words(35);
    for (int i = Int(0, 3); i > 0; --i) s += "\r\n" + Words(35);
    return s;
  }
  std::string Agent(std::string_view options) {
    const char option = options[Int(0, static_cast<int>(options.size()) - 1)];
    switch (option) {
      case 'A': return "A:" + Account(true) + Bic(true);
      case 'B': return "B:" + Account(true) + Words(35);
      case 'C': return "C:/" + Pick({"/FW", "/SC", ""}) + Word(6, 12);
      default: return "D:" + Account(true) + NameLines();
    }
  }
  void Field(std::string& t, std::string_view tag, std::string_view value) {
    t += fmt::format(":{}:{}\r\n", tag, value);
  }
  // "57A:value" (the tag and value in one, as Agent makes them).
  void Field(std::string& t, std::string_view tag_and_value) {
    t += fmt::format(":{}\r\n", tag_and_value);
  }
  std::mt19937 rng_;
};

TEST(SwiftMxTest, RoundTripOfRandomMessages) {
  RandomMt103 random(20260115);
  for (int i = 0; i < 300; ++i) {
    SCOPED_TRACE(i);
    ExpectRoundTrip(random.Make());
    if (HasFailure()) break;
  }
}

TEST(SwiftMxTest, TranslationErrorsNameTheField) {
  auto error = [](std::string_view mt, MtToMxOptions options = {}) {
    Result<MxDocument> mx = TranslateMtTextToMx(Crlf(mt), options);
    return mx.has_value() ? std::string("(translated)") : mx.error().ToString();
  };
  std::string unknown(testing::kMt103Third);
  unknown.replace(unknown.find("/PHON/"), 6, "/XYZ/ABC");
  EXPECT_THAT(
      error(unknown),
      HasSubstr("INVALID_ARGUMENT: block 4, field :72: (line 18): its line 4 has code /XYZ/, "
                "which the mapping does not know"));
  EXPECT_EQ(error(unknown, {.extra_sender_to_receiver_codes = {"XYZ"}}), "(translated)");
  std::string phon(testing::kMt103Input);
  phon.replace(phon.find(":32A:"), 0, ":23E:PHON\n");
  EXPECT_THAT(error(phon), HasSubstr("UNIMPLEMENTED: block 4, field :23E: (line 4): instruction "
                                     "code PHON"));
  std::string spri(testing::kMt103Input);
  spri.replace(spri.find(":23B:CRED"), 9, ":23B:SPRI");
  EXPECT_THAT(error(spri), HasSubstr("field :23B: (line 3): bank operation code SPRI"));
  std::string no_reason(testing::kMt103Return);
  no_reason.replace(no_reason.find("/AC01/\n"), 7, "");
  EXPECT_THAT(error(no_reason), HasSubstr("field :72: (line 12): a return needs /RETN/ followed "
                                          "by a line with the reason code"));
  std::string continuation(testing::kMt103Third);
  continuation.replace(continuation.find("/LOCINS/CH03\n"), 13, "/LOCINS/CH03\n//MORE\n");
  EXPECT_THAT(error(continuation), HasSubstr("line 2: a '//' continuation"));
  const std::string mt910 =
      "{1:F01BANKDEFFXXXX0000000000}{2:I910FAKEGB2LXXXXN}{4:\n:20:A\n:21:B\n"
      ":32A:260101EUR1,\n-}";
  EXPECT_THAT(error(mt910), HasSubstr("UNIMPLEMENTED: MT910 is not translated"));
}

TEST(SwiftMxTest, ReverseErrorsNameTheElement) {
  auto error = [](std::string_view xml) {
    Result<std::string> mt = TranslatePacs008ToMt103(xml);
    return mt.has_value() ? std::string("(translated)") : mt.error().message();
  };
  EXPECT_EQ(error("<Envelope>\n<AppHdr>\n</Envelope>"),
            "XML (line 3, byte 22): Start-end tags mismatch");
  EXPECT_THAT(error("<Foo/>"), HasSubstr("the root element is <Foo>"));
  EXPECT_THAT(error("<Document><FICdtTrf/></Document>"),
              HasSubstr("no FIToFICstmrCdtTrf: the document is not a pacs.008"));
  const std::string good = Translate(testing::kMt103Input).xml;
  auto edit = [&](std::string_view from, std::string_view to) {
    std::string x = good;
    const size_t at = x.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) x.replace(at, from.size(), to);
    return x;
  };
  EXPECT_EQ(error(edit(">1000000<", ">1,000,000<")),
            "pacs.008 CdtTrfTxInf/IntrBkSttlmAmt: '1,000,000' with Ccy 'JPY' is not an amount "
            "and currency");
  EXPECT_EQ(error(edit(">2025-12-31<", ">31.12.2025<")),
            "pacs.008 CdtTrfTxInf/IntrBkSttlmDt: '31.12.2025' is not a date YYYY-MM-DD of this "
            "century");
  EXPECT_THAT(error(edit("<pacs:InstrId>INPUT-0002<", "<pacs:InstrId>A-REFERENCE-OF-20-CHARS<")),
              HasSubstr("InstrId: 'A-REFERENCE-OF-20-CHARS' must be 1 to 16 characters"));
  const size_t tx = good.find("<pacs:CdtTrfTxInf>");
  const size_t tx_end = good.find("</pacs:CdtTrfTxInf>") + 19;
  std::string twice = good;
  twice.insert(tx_end, good.substr(tx, tx_end - tx));
  EXPECT_THAT(error(twice), HasSubstr("more than one CdtTrfTxInf"));
}

}  // namespace
}  // namespace ferry::legacy
