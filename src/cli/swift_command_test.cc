// `ferry swift translate` through the command line, in-process: one file to stdout or a file,
// a directory with good and bad messages (each bad one named with its reason, the rest written,
// exit code 1), the way back to MT103 over the directory it wrote, and bad flags.
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/cli_test_util.h"
#include "legacy/swift_mt.h"
#include "legacy/swift_mx.h"
#include "legacy/swift_test_messages.h"
#include "legacy/swift_test_xml.h"

namespace ferry {
namespace {

using legacy::testing::Crlf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

using Outcome = ::ferry::testing::CliOutcome;

class SwiftCommandTest : public ::ferry::testing::CliFileTest {};

TEST_F(SwiftCommandTest, OneMessageToStdout) {
  const std::string mt = Crlf(legacy::testing::kMt103Full);
  const std::string in = Write("full.mt", mt);
  Outcome o = Run({"swift", "translate", "--in", in, "--to", "pacs.008"});
  ASSERT_EQ(o.code, 0) << o.err;
  Result<legacy::MxDocument> expected = legacy::TranslateMtTextToMx(mt);
  ASSERT_TRUE(expected.has_value());
  EXPECT_EQ(legacy::testing::XmlDiff(expected->xml, o.out), "");
  EXPECT_THAT(o.out, HasSubstr("<head:MsgDefIdr>pacs.008.001.08</head:MsgDefIdr>"));
  EXPECT_EQ(o.err, "");
}

TEST_F(SwiftCommandTest, OneMessageToAFileAndBack) {
  const std::string in = Write("third.mt", Crlf(legacy::testing::kMt103Third));
  const std::string xml = dir_ + "/third.xml";
  Outcome o =
      Run({"swift", "translate", "--in", in, "--to", "pacs.008", "--out", xml, "--compact"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "1 translated, 0 failed\n");
  const std::string compact = Read(xml);
  EXPECT_EQ(std::count(compact.begin(), compact.end(), '\n'), 0) << compact;
  const std::string back = dir_ + "/third.back.mt";
  o = Run({"swift", "translate", "--in", xml, "--to", "mt103", "--out", back});
  ASSERT_EQ(o.code, 0) << o.err;
  const std::string original = Crlf(legacy::testing::kMt103Third);
  const std::string again = Read(back);
  Result<legacy::MtMessage> a = legacy::ParseMt(original);
  Result<legacy::MtMessage> b = legacy::ParseMt(again);
  ASSERT_TRUE(a.has_value() && b.has_value()) << again;
  EXPECT_EQ(legacy::testing::RoundTripDiff(*a, *b), "") << again;
}

TEST_F(SwiftCommandTest, DirectoryWithBadFilesTranslatesTheRest) {
  Write("in/a_full.mt", Crlf(legacy::testing::kMt103Full));
  Write("in/b_input.mt", Crlf(legacy::testing::kMt103Input));
  Write("in/c_third.txt", Crlf(legacy::testing::kMt103Third));
  std::string bad_char(legacy::testing::kMt103Input);
  bad_char.replace(bad_char.find("GOODS"), 5, "GOODS_1");
  Write("in/d_bad_char.mt", Crlf(bad_char));
  std::string no_59(legacy::testing::kMt103Input);
  const std::string_view f59 = ":59A:/JP123456\nBENEJPJT\n";
  no_59.replace(no_59.find(f59), f59.size(), "");
  Write("in/e_no_59.mt", Crlf(no_59));
  Write("in/f_return.mt", Crlf(legacy::testing::kMt103Return));
  Write("in/.hidden", "not a message");
  const std::string out = dir_ + "/out";
  Outcome o = Run({"swift", "translate", "--in", dir_ + "/in", "--to", "pacs.008", "--out", out});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.out, "4 translated, 2 failed\n");
  EXPECT_THAT(o.err, HasSubstr(dir_ + "/in/d_bad_char.mt: INVALID_ARGUMENT: block 4, field :70: "
                                      "(line 16, column 10): '_' (0x5F) is not in the SWIFT X "
                                      "character set"));
  EXPECT_THAT(o.err, HasSubstr(dir_ + "/in/e_no_59.mt: INVALID_ARGUMENT: block 4: MT103: "
                                      "mandatory field 59 (beneficiary customer) is missing"));
  EXPECT_THAT(o.err, Not(HasSubstr("hidden")));
  Result<std::vector<std::string>> written = Env::Default()->ListDir(out);
  ASSERT_TRUE(written.has_value());
  EXPECT_THAT(*written, ElementsAre("a_full.xml", "b_input.xml", "c_third.xml", "f_return.xml"));
  EXPECT_THAT(Read(out + "/f_return.xml"), HasSubstr("pacs.004.001.09"));

  // And back: the pacs.008 files become MT103s with every mapped field; the pacs.004 fails.
  o = Run({"swift", "translate", "--in", out, "--to", "mt103", "--out", dir_ + "/back", "--json"});
  EXPECT_EQ(o.code, 1);
  Result<Json> summary = ParseJson(o.out, "stdout");
  ASSERT_TRUE(summary.has_value()) << o.out;
  EXPECT_EQ((*summary)["translated"], 3);
  ASSERT_EQ((*summary)["failed"].size(), 1u);
  EXPECT_EQ((*summary)["failed"][0]["file"], out + "/f_return.xml");
  EXPECT_THAT((*summary)["failed"][0]["error"].get<std::string>(),
              HasSubstr("no FIToFICstmrCdtTrf: the document is not a pacs.008"));
  for (const auto& [name, text] : {std::pair{"a_full", legacy::testing::kMt103Full},
                                   std::pair{"c_third", legacy::testing::kMt103Third}}) {
    const std::string original = Crlf(text);  // the message's fields are views into it
    Result<legacy::MtMessage> a = legacy::ParseMt(original);
    const std::string again = Read(fmt::format("{}/back/{}.mt", dir_, name));
    Result<legacy::MtMessage> b = legacy::ParseMt(again);
    ASSERT_TRUE(a.has_value() && b.has_value()) << again;
    EXPECT_EQ(legacy::testing::RoundTripDiff(*a, *b), "") << name;
  }
  // --to mt takes the pacs.004 too: the return comes back as an MT103 with /RETN/.
  o = Run({"swift", "translate", "--in", out, "--to", "mt", "--out", dir_ + "/all"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "4 translated, 0 failed\n");
  {
    const std::string original = Crlf(legacy::testing::kMt103Return);
    const std::string again = Read(dir_ + "/all/f_return.mt");
    Result<legacy::MtMessage> a = legacy::ParseMt(original);
    Result<legacy::MtMessage> b = legacy::ParseMt(again);
    ASSERT_TRUE(a.has_value() && b.has_value()) << again;
    EXPECT_EQ(legacy::testing::RoundTripDiff(*a, *b), "") << again;
  }
  // b_input.mt had an input header; --header input gives it back.
  o = Run(
      {"swift", "translate", "--in", out + "/b_input.xml", "--to", "mt103", "--header", "input"});
  ASSERT_EQ(o.code, 0) << o.err;
  const std::string original = Crlf(legacy::testing::kMt103Input);
  const std::string again = o.out.substr(0, o.out.size() - 1);
  Result<legacy::MtMessage> a = legacy::ParseMt(original);
  Result<legacy::MtMessage> b = legacy::ParseMt(again);
  ASSERT_TRUE(a.has_value() && b.has_value()) << o.out;
  EXPECT_EQ(legacy::testing::RoundTripDiff(*a, *b), "");
}

TEST_F(SwiftCommandTest, OneBadFileExitsOneWithItsReason) {
  const std::string in = Write("bad.xml", "<Envelope><oops></Envelope>");
  Outcome o = Run({"swift", "translate", "--in", in, "--to", "mt103"});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.out, "");
  EXPECT_THAT(o.err, HasSubstr(in + ": INVALID_ARGUMENT: XML (line 1, byte 18): Start-end tags "
                                    "mismatch"));
}

TEST_F(SwiftCommandTest, BadFlags) {
  const std::string in = Write("full.mt", Crlf(legacy::testing::kMt103Full));
  Outcome o = Run({"swift", "translate", "--in", in, "--to", "pacs.009"});
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr("--to pacs.009: expected pacs.008"));
  o = Run({"swift", "translate", "--in", in, "--to", "mt103", "--header", "sideways"});
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr("--header sideways: expected output or input"));
  o = Run({"swift", "translate", "--in", dir_, "--to", "pacs.008"});
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr("is a directory: give --out DIR"));
  o = Run({"swift", "translate", "--in", dir_ + "/missing.mt", "--to", "pacs.008"});
  EXPECT_NE(o.code, 0);
  EXPECT_THAT(o.err, HasSubstr("missing.mt: no such file or directory"));
}

TEST_F(SwiftCommandTest, ExtraField72Code) {
  std::string mt(legacy::testing::kMt103Third);
  mt.replace(mt.find("/PHON/"), 6, "/XYZ/ABC");
  const std::string in = Write("xyz.mt", Crlf(mt));
  Outcome o = Run({"swift", "translate", "--in", in, "--to", "pacs.008"});
  EXPECT_EQ(o.code, 1);
  EXPECT_THAT(o.err, HasSubstr("has code /XYZ/, which the mapping does not know"));
  o = Run({"swift", "translate", "--in", in, "--to", "pacs.008", "--72-code", "XYZ"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("<pacs:InstrInf>/XYZ/ABC</pacs:InstrInf>"));
}

}  // namespace
}  // namespace ferry
