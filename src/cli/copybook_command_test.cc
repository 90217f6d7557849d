// `ferry copybook layout`, `decode` and `encode` through the command line, in-process:
// outputs, the reject file, exit codes and bad input.
#include <cstdlib>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/cli_test_util.h"
#include "legacy/codepage.h"
#include "legacy/test_bytes.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using Outcome = ::ferry::testing::CliOutcome;

constexpr const char* kCopybook =
    "      * Accounts, one 12-byte record each.\n"
    "       01  ACCOUNT.\n"
    "           05  ID       PIC 9(3).\n"
    "           05  NAME     PIC X(5).\n"
    "           05  BALANCE  PIC S9(5)V99 COMP-3.\n";

using legacy::testing::Bytes;
using legacy::testing::E;

class CopybookCommandTest : public ::ferry::testing::CliFileTest {
 protected:
  void SetUp() override {
    CliFileTest::SetUp();
    copybook_ = Write("account.cob", kCopybook);
    good_ = E("001ALICE") + Bytes({0x00, 0x12, 0x34, 0x5C}) + E("002BOB  ") +
            Bytes({0x00, 0x00, 0x07, 0x5D});
    bad_ = Bytes({0x00, 0x1F, 0x34, 0x5C});  // an invalid packed nibble
  }

  std::string copybook_;
  std::string good_, bad_;
};

TEST_F(CopybookCommandTest, LayoutAsCobrixPrintsItAndAsJson) {
  Outcome r = Run({"copybook", "layout", copybook_});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "-------- FIELD LEVEL/NAME --------- --ATTRIBS--    FLD  START     END  LENGTH\n"
            "\n"
            "1 ACCOUNT                                             1      1     12     12\n"
            "  5 ID                                                2      1      3      3\n"
            "  5 NAME                                              3      4      8      5\n"
            "  5 BALANCE                                           4      9     12      4\n");
  Outcome json = Run({"copybook", "layout", copybook_, "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  Json layout = Json::parse(json.out);
  EXPECT_EQ(layout["record_size"], 12);
  EXPECT_EQ(layout["fields"][3]["path"], "ACCOUNT.BALANCE");
  EXPECT_EQ(layout["fields"][3]["usage"], "COMP-3");
  EXPECT_EQ(layout["fields"][3]["scale"], 2);
}

TEST_F(CopybookCommandTest, BadCopybookIsAUsageErrorWithLineAndColumn) {
  const std::string bad = Write("bad.cob", "       01  R.\n           05  A PIC 9(3)V9V9.\n");
  Outcome r = Run({"copybook", "layout", bad});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("bad.cob:2:22: PIC 9(3)V9V9: more than one V"));
  Outcome missing = Run({"copybook", "layout", dir_ + "/none.cob"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("none.cob"));
}

TEST_F(CopybookCommandTest, DecodesToJsonLines) {
  const std::string data = Write("accounts.dat", good_);
  const std::string out = dir_ + "/accounts.jsonl";
  Outcome r = Run({"copybook", "decode", "--copybook", copybook_, "--data", data, "--out", out});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Read(out),
            "{\"ID\":1,\"NAME\":\"ALICE\",\"BALANCE\":123.45}\n"
            "{\"ID\":2,\"NAME\":\"BOB\",\"BALANCE\":-0.75}\n");
  EXPECT_THAT(r.out, HasSubstr("2 record(s) decoded from " + data + " (24 bytes)"));
  // Without --out, the records go to stdout and the summary to stderr.
  Outcome stdout_run = Run({"copybook", "decode", "--copybook", copybook_, "--data", data});
  ASSERT_EQ(stdout_run.code, 0) << stdout_run.err;
  EXPECT_EQ(stdout_run.out, Read(out));
  EXPECT_THAT(stdout_run.err, HasSubstr("2 record(s) decoded"));
}

TEST_F(CopybookCommandTest, RejectedRecordsGoToTheRejectFileAndExitOne) {
  const std::string data =
      Write("accounts.dat", E("001ALICE") + Bytes({0x00, 0x12, 0x34, 0x5C}) + E("002BOB  ") + bad_ +
                                E("003CAROL") + Bytes({0x00, 0x00, 0x00, 0x0C}) + E("00"));
  const std::string out = dir_ + "/accounts.jsonl";
  const std::string rejects = dir_ + "/rejects.jsonl";
  Outcome r = Run({"copybook", "decode", "--copybook", copybook_, "--data", data, "--out", out,
                   "--rejects", rejects, "--json"});
  EXPECT_EQ(r.code, 1) << r.err;
  Json summary = Json::parse(r.out);
  EXPECT_EQ(summary["records"], 2);
  EXPECT_EQ(summary["rejected"], 2);
  EXPECT_EQ(summary["ok"], false);
  std::istringstream lines(Read(rejects));
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  Json packed = Json::parse(first);
  EXPECT_EQ(packed["record"], 1);
  EXPECT_EQ(packed["offset"], 12);
  EXPECT_EQ(packed["field"], "ACCOUNT.BALANCE");
  EXPECT_THAT(packed["reason"].get<std::string>(), HasSubstr("invalid packed digit nibble 0xF"));
  Json partial = Json::parse(second);
  EXPECT_EQ(partial["offset"], 36);
  EXPECT_THAT(partial["reason"].get<std::string>(), HasSubstr("partial record"));
  // Without --rejects, they are told on stderr.
  Outcome told = Run({"copybook", "decode", "--copybook", copybook_, "--data", data, "--out", out});
  EXPECT_EQ(told.code, 1);
  EXPECT_THAT(told.err, HasSubstr("record 1 at offset 12, ACCOUNT.BALANCE: invalid packed digit"));
  // --invalid null keeps the record, without the value.
  Outcome lenient = Run({"copybook", "decode", "--copybook", copybook_, "--data", data, "--out",
                         out, "--invalid", "null"});
  EXPECT_EQ(lenient.code, 1);  // the partial record at the end is still rejected
  EXPECT_THAT(Read(out), HasSubstr("{\"ID\":2,\"NAME\":\"BOB\"}\n"));
  // --max-rejects stops the run.
  Outcome stopped = Run({"copybook", "decode", "--copybook", copybook_, "--data", data, "--out",
                         out, "--max-rejects", "0"});
  EXPECT_EQ(stopped.code, 1);
  EXPECT_THAT(stopped.err, HasSubstr("more than 0 records rejected"));
}

TEST_F(CopybookCommandTest, VariableLengthRecordsAndOptions) {
  const std::string rdw = Bytes({0, 16, 0, 0}) + E("001ALICE") + Bytes({0x00, 0x12, 0x34, 0x5C}) +
                          Bytes({0, 9, 0, 0}) + E("002BO");
  const std::string data = Write("accounts.v", rdw);
  Outcome r = Run({"copybook", "decode", "--copybook", copybook_, "--data", data, "--record-format",
                   "V", "--record-id", "--keep-root"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"File_Id\":0,\"Record_Id\":0,\"Record_Byte_Length\":12,\"ACCOUNT\":{\"ID\":1,"
            "\"NAME\":\"ALICE\",\"BALANCE\":123.45}}\n"
            "{\"File_Id\":0,\"Record_Id\":1,\"Record_Byte_Length\":5,\"ACCOUNT\":{\"ID\":2,"
            "\"NAME\":\"BO\"}}\n");
  // The same file read with the wrong RDW convention does not frame.
  Outcome wrong = Run({"copybook", "decode", "--copybook", copybook_, "--data", data,
                       "--record-format", "V", "--rdw", "little"});
  EXPECT_EQ(wrong.code, 1);
  EXPECT_THAT(wrong.err, HasSubstr("is the RDW's byte order or adjustment right?"));
}

TEST_F(CopybookCommandTest, UsageErrors) {
  const std::string data = Write("accounts.dat", good_);
  auto decode = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"copybook", "decode", "--copybook", copybook_, "--data", data};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  };
  Outcome codepage = decode({"--codepage", "cp999"});
  EXPECT_EQ(codepage.code, 2);
  EXPECT_THAT(codepage.err, HasSubstr("code page `cp999` is not supported"));
  EXPECT_THAT(decode({"--record-format", "U"}).err, HasSubstr("expected F, V, VB or text"));
  EXPECT_EQ(decode({"--trim", "sides"}).code, 2);
  EXPECT_EQ(decode({"--json"}).code, 2);
  Outcome segment = decode({"--segment-field", "KIND"});
  EXPECT_EQ(segment.code, 2);
  EXPECT_THAT(segment.err, HasSubstr("segment field `KIND`: no such field"));
  Outcome missing = Run({"copybook", "decode", "--copybook", copybook_, "--data", dir_ + "/none"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("none: no such file"));
  EXPECT_EQ(Run({"copybook", "decode", "--data", data}).code, 2);
}

TEST_F(CopybookCommandTest, AnOutputThatCannotBeWrittenIsARuntimeError) {
  const std::string data = Write("accounts.dat", good_);
  env_.FailNextWrites(1, Unavailable("disk full"));
  Outcome r = Run({"copybook", "decode", "--copybook", copybook_, "--data", data, "--out",
                   dir_ + "/out.jsonl"});
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(r.err, HasSubstr("disk full"));
}

TEST_F(CopybookCommandTest, EncodesJsonLinesBackToTheSameBytes) {
  const std::string data = Write("accounts.dat", good_);
  const std::string jsonl = dir_ + "/accounts.jsonl";
  ASSERT_EQ(
      Run({"copybook", "decode", "--copybook", copybook_, "--data", data, "--out", jsonl}).code, 0);
  // F, V (both byte orders) and VB: encoded from the JSON, then decoded again to the same JSON;
  // F gives back the very bytes.
  for (const std::vector<std::string>& framing :
       {std::vector<std::string>{"--record-format", "F"},
        {"--record-format", "V"},
        {"--record-format", "V", "--rdw", "little", "--rdw-adjustment", "0"},
        {"--record-format", "VB", "--block-size", "40"}}) {
    const std::string encoded = dir_ + "/encoded.dat";
    std::vector<std::string> args = {"copybook", "encode", "--copybook", copybook_,
                                     "--in",     jsonl,    "--out",      encoded};
    args.insert(args.end(), framing.begin(), framing.end());
    Outcome r = Run(args);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("2 record(s) encoded to " + encoded));
    if (framing[1] == "F") {
      EXPECT_EQ(Read(encoded), good_);
    }
    const std::string again = dir_ + "/again.jsonl";
    args = {"copybook", "decode", "--copybook", copybook_, "--data", encoded, "--out", again};
    args.insert(args.end(), framing.begin(), framing.end() - (framing[1] == "VB" ? 2 : 0));
    ASSERT_EQ(Run(args).code, 0) << framing[1];
    EXPECT_EQ(Read(again), Read(jsonl)) << framing[1];
  }
}

TEST_F(CopybookCommandTest, EncodeRejectsLinesThatDoNotFitAndKeepsTheOthers) {
  const std::string jsonl = Write("in.jsonl",
                                  "{\"ID\":1,\"NAME\":\"ALICE\",\"BALANCE\":123.45}\n"
                                  "{\"ID\":1000,\"NAME\":\"BOB\"}\n"
                                  "not json\n"
                                  "\n"
                                  "{\"ID\":3,\"NAME\":\"CAROL\",\"BALANCE\":0.001}\n"
                                  "{\"ID\":4,\"NAME\":\"DAN\",\"BALANCE\":-7}");
  const std::string encoded = dir_ + "/out.dat";
  const std::string rejects = dir_ + "/rejects.jsonl";
  Outcome r = Run({"copybook", "encode", "--copybook", copybook_, "--in", jsonl, "--out", encoded,
                   "--rejects", rejects});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("2 record(s) encoded"));
  EXPECT_THAT(r.out, HasSubstr("3 line(s) rejected to " + rejects));
  // The good lines are written; each bad one is named by its line, field and reason.
  EXPECT_EQ(Read(encoded), E("001ALICE") + Bytes({0x00, 0x12, 0x34, 0x5C}) + E("004DAN  ") +
                               Bytes({0x00, 0x00, 0x70, 0x0D}));
  const std::string listed = Read(rejects);
  EXPECT_THAT(listed, HasSubstr("{\"line\":2,\"reason\":"));
  EXPECT_THAT(listed, HasSubstr("ID"));
  EXPECT_THAT(listed, HasSubstr("{\"line\":3,\"reason\":\"line 3"));
  EXPECT_THAT(listed, HasSubstr("{\"line\":5,\"reason\":"));
  EXPECT_THAT(listed, HasSubstr("BALANCE"));
  // Without --rejects they are told on stderr; --max-rejects stops early.
  Outcome told = Run({"copybook", "encode", "--copybook", copybook_, "--in", jsonl, "--out",
                      encoded, "--max-rejects", "0"});
  EXPECT_EQ(told.code, 1);
  EXPECT_THAT(told.err, HasSubstr(jsonl + ": line 2:"));
  EXPECT_THAT(told.err, HasSubstr("more than 0 lines rejected"));
  // Usage errors: the block size and a missing input.
  EXPECT_EQ(Run({"copybook", "encode", "--copybook", copybook_, "--in", jsonl, "--out", encoded,
                 "--record-format", "VB", "--block-size", "8"})
                .code,
            2);
  Outcome missing = Run(
      {"copybook", "encode", "--copybook", copybook_, "--in", dir_ + "/none", "--out", encoded});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("none: no such file"));
}

// Cobrix's test 1 end to end, when the shared data is beside the clone.
TEST_F(CopybookCommandTest, CobrixTest1) {
  const std::string cobrix = std::string(FERRY_SOURCE_DIR) + "/../shared/data/cobol/cobrix";
  if (!Env::Default()->FileExists(cobrix + "/TESTS.md")) {
    GTEST_SKIP() << cobrix << " not found: the shared datasets are not beside this clone";
  }
  Outcome r =
      Run({"copybook", "decode", "--copybook", cobrix + "/test1_copybook.cob", "--data",
           cobrix + "/test1_data/example.bin", "--codepage", "common", "--invalid", "null"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, Read(cobrix + "/test1_expected/test1.txt"));
  EXPECT_THAT(r.out, Not(HasSubstr("null")));
}

}  // namespace
}  // namespace ferry
