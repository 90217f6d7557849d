// Hand-written MT103 messages for the SWIFT tests, the CLI test and the benchmark. The banks,
// people and references are made up; together the messages use every field and letter option
// the pacs.008 mapping covers (docs/swift.md).
#ifndef FERRY_LEGACY_SWIFT_TEST_MESSAGES_H_
#define FERRY_LEGACY_SWIFT_TEST_MESSAGES_H_

#include <string>
#include <string_view>

namespace ferry::legacy::testing {

// LF line ends to CRLF, as FIN has them.
inline std::string Crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (char c : text) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

// An output MT103 with a gpi block 3, 23E in all three roles, 26T, 33B and 36, a structured
// 50F, agents 52A (with a /D/ account), 53A, 54A, 56A, 57D, a free-format 59, /ROC/ in 70,
// 71G, four kinds of 72 codes with a continuation, 77B and a block 5.
inline constexpr std::string_view kMt103Full =
    "{1:F01BANKDEFFXXXX0000000000}{2:O1031230260115FAKEGB2LAXXX00000000002601151230N}"
    "{3:{108:MUR12345}{111:001}{121:e2b8a9c4-1111-4a2b-9c3d-0123456789ab}}{4:\n"
    ":20:REF-2026-0001\n"
    ":23B:CRED\n"
    ":23E:SDVA\n"
    ":23E:INTC\n"
    ":23E:HOLD/CALL BEFORE PAYING\n"
    ":26T:K90\n"
    ":32A:260115EUR1234,56\n"
    ":33B:USD1350,\n"
    ":36:0,9145\n"
    ":50F:/DE44500105175407324931\n"
    "1/ADA LOVELACE\n"
    "2/12 ANALYTICAL ROW\n"
    "3/GB/LONDON\n"
    ":52A:/D/123456\n"
    "FAKEGB2L\n"
    ":53A:REIMGB2LXXX\n"
    ":54A:RCVRDEFF\n"
    ":56A:INTRFRPP\n"
    ":57D:/FR7630006000011234567890189\n"
    "BANQUE IMAGINAIRE\n"
    "1 RUE DU CODE\n"
    "PARIS\n"
    ":59:/DE89370400440532013000\n"
    "CHARLES BABBAGE\n"
    "7 DIFFERENCE ENGINE LANE\n"
    "BERLIN\n"
    ":70:/ROC/E2E-REF-77\n"
    "INVOICE 2026-001 FOR ENGINE PARTS\n"
    ":71A:OUR\n"
    ":71G:EUR12,5\n"
    ":72:/INS/FAKEGB2LXXX\n"
    "/SVCLVL/PRTY\n"
    "/ACC/PAY ON RECEIPT\n"
    "//OF DOCUMENTS\n"
    "/INT/CHECK NAME\n"
    ":77B:/ORDERRES/GB//12 ANALYTICAL ROW\n"
    "-}{5:{CHK:123456789ABC}}";

// An input MT103: 50K, 52D without account, 53B with only an account (a settlement account),
// 56C with a clearing code, 57A, 59A, BEN with two 71F.
inline constexpr std::string_view kMt103Input =
    "{1:F01FAKEUS33AXXX0000000000}{2:I103BANKJPJTXXXXN}"
    "{3:{121:0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9}}{4:\n"
    ":20:INPUT-0002\n"
    ":23B:CRED\n"
    ":32A:251231JPY1000000,\n"
    ":50K:/1234567890\n"
    "ACME WIDGETS INC\n"
    "1 MAIN STREET\n"
    "SPRINGFIELD US\n"
    ":52D:ORDERING BANK OF TESTING\n"
    "44 LEDGER ROAD\n"
    ":53B:/SETTLEMENT-ACCT-1\n"
    ":56C://FW021000021\n"
    ":57A:BANKJPJT\n"
    ":59A:/JP123456\n"
    "BENEJPJT\n"
    ":70:GOODS\n"
    ":71A:BEN\n"
    ":71F:JPY1500,\n"
    ":71F:USD2,\n"
    "-}";

// An output MT103: 50A, 53D, 54B, 55A, 57C, 59F without account, SHA, 72 with /LOCINS/,
// /CATPURP/, /REC/ and an empty /PHON/.
inline constexpr std::string_view kMt103Third =
    "{1:F01FAKEGB2LXXXX0000000000}{2:O1030905260301BANKDEFFXXXX00000000002603010905U}"
    "{3:{121:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d}}{4:\n"
    ":20:THIRD/REF\n"
    ":23B:CRED\n"
    ":32A:260301GBP0,5\n"
    ":50A:/GB29NWBK60161331926819\n"
    "ORDRGB2L\n"
    ":52A:FAKEGB2LXXX\n"
    ":53D:/111222\n"
    "CORRESPONDENT ONE\n"
    "LONDON\n"
    ":54B:FRANKFURT\n"
    ":55A:THRDUS33\n"
    ":57C://SC123456\n"
    ":59F:1/ZED CUSTOMER\n"
    "2/FLAT 3 HOUSE 4\n"
    "3/DE/MUNICH\n"
    ":71A:SHA\n"
    ":72:/LOCINS/CH03\n"
    "/CATPURP/SUPP\n"
    "/REC/PLEASE ADVISE\n"
    "/PHON/\n"
    "-}";

// A return of kMt103Third's payment: /RETN/ with its reason and the original references.
inline constexpr std::string_view kMt103Return =
    "{1:F01BANKDEFFXXXX0000000000}{2:O1031015260302FAKEGB2LXXXX00000000002603021015N}"
    "{3:{121:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d}}{4:\n"
    ":20:RTN-0001\n"
    ":23B:CRED\n"
    ":32A:260302GBP0,5\n"
    ":50A:ORDRGB2L\n"
    ":52A:FAKEGB2LXXX\n"
    ":57A:BANKDEFFXXX\n"
    ":59F:1/ZED CUSTOMER\n"
    "2/FLAT 3 HOUSE 4\n"
    "3/DE/MUNICH\n"
    ":71A:SHA\n"
    ":72:/RETN/59\n"
    "/AC01/\n"
    "/MREF/THIRD/REF\n"
    "/TREF/E2E-THIRD\n"
    "-}";

// An MT202 with every agent of sequence A: 52A, 53A and 54A (a cover advice), 56D, 57A, 58A
// with an account, and 72 /INS/, /UDLC/, /BNF/.
inline constexpr std::string_view kMt202 =
    "{1:F01BANKDEFFXXXX0000000000}{2:O2021545260210FAKEGB2LXXXX00000000002602101545N}"
    "{3:{121:31415926-5358-4979-8323-846264338327}}{4:\n"
    ":20:FI-0001\n"
    ":21:CUST-REF-9\n"
    ":32A:260210CHF250000,75\n"
    ":52A:ORDRGB2L\n"
    ":53A:REIMGB2LXXX\n"
    ":54A:RCVRDEFF\n"
    ":56D:INTERMEDIARY BANK\n"
    "ZURICH\n"
    ":57A:ACWICHZZ\n"
    ":58A:/CH9300762011623852957\n"
    "BENECHZZ\n"
    ":72:/INS/FAKEGB2L\n"
    "/UDLC/SPECIAL HANDLING\n"
    "/BNF/TREASURY DEAL 42\n"
    "-}";

// An input MT202COV: sequence A without 52a, sequence B with 50K, 52A, 57A, 59, 70 and 33B.
inline constexpr std::string_view kMt202Cov =
    "{1:F01FAKEUS33XXXX0000000000}{2:I202BANKDEFFXXXXN}"
    "{3:{119:COV}{121:27182818-2845-4904-8236-028747135266}}{4:\n"
    ":20:COVER-7\n"
    ":21:UNDERLYING-7\n"
    ":32A:260301USD1000,\n"
    ":57A:CORRDEFF\n"
    ":58A:BANKDEFF\n"
    ":50K:/998877\n"
    "GRACE HOPPER\n"
    "1 COMPILER WAY\n"
    ":52A:FAKEUS33\n"
    ":57A:BANKDEFF\n"
    ":59:/DE12345678\n"
    "ALAN TURING\n"
    ":70:INVOICE 1936\n"
    ":33B:USD1000,\n"
    "-}";

// A return of kMt202; 21 repeats the original's reference, as /TREF/ does.
inline constexpr std::string_view kMt202Return =
    "{1:F01FAKEGB2LXXXX0000000000}{2:O2020900260211BANKDEFFXXXX00000000002602110900N}"
    "{3:{121:31415926-5358-4979-8323-846264338327}}{4:\n"
    ":20:RTN-202\n"
    ":21:CUST-REF-9\n"
    ":32A:260211CHF250000,75\n"
    ":52A:BENECHZZ\n"
    ":57A:FAKEGB2L\n"
    ":58A:ORDRGB2L\n"
    ":72:/RETN/58\n"
    "/AC03/\n"
    "/MREF/FI-0001\n"
    "/TREF/CUST-REF-9\n"
    "-}";

}  // namespace ferry::legacy::testing

#endif  // FERRY_LEGACY_SWIFT_TEST_MESSAGES_H_
