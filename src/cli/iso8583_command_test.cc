// `ferry iso8583 decode` and `encode` through the command line, in-process: JSON Lines out,
// masking, round trips in hex and framed binary, a bad message in the middle of a batch, bad
// flags, and a shared test message when ../shared is there.
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/cli_test_util.h"
#include "legacy/iso8583.h"

namespace ferry {
namespace {

using legacy::iso8583::ToHex;
using ::testing::HasSubstr;

using Outcome = ::ferry::testing::CliOutcome;

// 0200 with fields 2, 3, 4 in the ASCII 1987 layout.
const std::string kPurchase =
    "0200"
    "7000000000000000"
    "16"
    "4111111111111111"
    "000000"
    "000000001500";
// 0800 with fields 7 and 11 and a secondary bitmap announcing field 70.
const std::string kEcho =
    "0800"
    "8220000000000000"
    "0400000000000000"
    "1207113015"
    "123456"
    "301";

class Iso8583CommandTest : public ::ferry::testing::CliFileTest {};

TEST_F(Iso8583CommandTest, DecodesHexLinesToMaskedJsonLines) {
  const std::string in = Write("messages.hex", ToHex(kPurchase) + "\n" + ToHex(kEcho) + "\n");
  Outcome r = Run({"iso8583", "decode", "--in", in});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      R"({"mti":"0200","bitmap":"7000000000000000","fields":{"2":"411111******1111","3":"000000","4":"000000001500"}})"
      "\n"
      R"({"mti":"0800","bitmap":"82200000000000000400000000000000","fields":{"7":"1207113015","11":"123456","70":"301"}})"
      "\n");
  EXPECT_THAT(r.err, HasSubstr("2 message(s) decoded with spec \"ISO 8583:1987, ASCII\""));
  EXPECT_THAT(r.err, HasSubstr("PANs masked"));

  Outcome clear = Run({"iso8583", "decode", "--in", in, "--no-mask", "--spec", "1987"});
  ASSERT_EQ(clear.code, 0) << clear.err;
  EXPECT_THAT(clear.out, HasSubstr(R"("2":"4111111111111111")"));
}

TEST_F(Iso8583CommandTest, EncodeGivesTheSameBytesBackAndRefusesMaskedPans) {
  const std::string hex = ToHex(kPurchase) + "\n" + ToHex(kEcho) + "\n";
  const std::string in = Write("messages.hex", hex);
  const std::string jsonl = dir_ + "/messages.jsonl";
  ASSERT_EQ(Run({"iso8583", "decode", "--in", in, "--no-mask", "--out", jsonl}).code, 0);
  const std::string again = dir_ + "/again.hex";
  Outcome r = Run({"iso8583", "encode", "--in", jsonl, "--out", again});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Read(again), hex);
  EXPECT_THAT(r.err, HasSubstr("2 message(s) encoded"));

  // Framed binary, and back.
  const std::string bin = dir_ + "/messages.bin";
  ASSERT_EQ(Run({"iso8583", "encode", "--in", jsonl, "--out", bin, "--format", "binary"}).code, 0);
  const std::string bytes = Read(bin);
  ASSERT_EQ(bytes.size(), 2 + kPurchase.size() + 2 + kEcho.size());
  EXPECT_EQ(ToHex(bytes.substr(0, 2)), "0038");  // 56 bytes
  Outcome binary = Run({"iso8583", "decode", "--in", bin, "--format", "binary", "--no-mask"});
  ASSERT_EQ(binary.code, 0) << binary.err;
  EXPECT_EQ(binary.out, Read(jsonl));
  const std::string ascii4 = dir_ + "/messages.a4";
  ASSERT_EQ(Run({"iso8583", "encode", "--in", jsonl, "--out", ascii4, "--format", "binary",
                 "--framing", "ascii4"})
                .code,
            0);
  EXPECT_EQ(Read(ascii4).substr(0, 4), "0056");

  // The masked output does not encode: the PAN is gone.
  const std::string masked = dir_ + "/masked.jsonl";
  ASSERT_EQ(Run({"iso8583", "decode", "--in", in, "--out", masked}).code, 0);
  Outcome refused = Run({"iso8583", "encode", "--in", masked, "--out", dir_ + "/x.hex"});
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.err, HasSubstr("line 1: field 2: the value \"411111******1111\" is a masked "
                                     "PAN; encoding needs the full number: decode with --no-mask"));
  EXPECT_THAT(refused.err, HasSubstr("1 message(s) encoded"));
  EXPECT_EQ(Read(dir_ + "/x.hex"), ToHex(kEcho) + "\n");
}

TEST_F(Iso8583CommandTest, BadMessagesAreReportedAndTheRestOfTheBatchDecodes) {
  const std::string in =
      Write("mixed.hex", ToHex(kPurchase) + "\n" + ToHex(kPurchase.substr(0, 30)) + "\n" +
                             ToHex("0200"
                                   "2000000000000000"
                                   "12A456") +
                             "\nzz\n" + ToHex(kEcho) + "\n");
  Outcome r = Run({"iso8583", "decode", "--in", in});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("line 2: field 2 (n..19) at byte 22: the value needs 16 bytes (16 "
                               "digits) but only 8 remain"));
  EXPECT_THAT(r.err, HasSubstr("line 3: field 3 (n 6) at byte 20: byte 22 is \"A\", not a digit"));
  EXPECT_THAT(r.err, HasSubstr("line 4: character 0 is \"z\", not a hex digit"));
  EXPECT_THAT(r.err,
              HasSubstr("2 message(s) decoded with spec \"ISO 8583:1987, ASCII\", 3 rejected"));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);

  const std::string bad_json = Write("bad.jsonl",
                                     "{\"mti\": \"0200\", \"fields\": {\"3\": \"12\"}}\n"
                                     "not json\n");
  Outcome e = Run({"iso8583", "encode", "--in", bad_json, "--out", dir_ + "/y.hex"});
  EXPECT_EQ(e.code, 1);
  EXPECT_THAT(e.err, HasSubstr("line 1: field 3 (n 6): the value \"12\" has 2 digits; the field "
                               "takes exactly 6"));
  EXPECT_THAT(e.err, HasSubstr("line 2: not a JSON document"));

  // A binary file whose last frame is cut off.
  const std::string cut = Write(
      "cut.bin", std::string("\x00\x38", 2) + kPurchase + std::string("\x00\x30", 2) + "0800");
  Outcome b = Run({"iso8583", "decode", "--in", cut, "--format", "binary"});
  EXPECT_EQ(b.code, 1);
  EXPECT_THAT(b.err, HasSubstr("message 2 at byte 58: the length header says 48 bytes but 4 "
                               "remain in the file; check --framing"));
}

TEST_F(Iso8583CommandTest, ValidateRejectsBadDatesAndSpecFilesPatchBuiltIns) {
  // Field 13 (MMDD) is 1399.
  const std::string bad_date =
      "0800"
      "0008000000000000"
      "1399";
  const std::string in = Write("dates.hex", ToHex(bad_date) + "\n" + ToHex(kEcho) + "\n");
  Outcome plain = Run({"iso8583", "decode", "--in", in});
  EXPECT_EQ(plain.code, 0) << plain.err;
  Outcome checked = Run({"iso8583", "decode", "--in", in, "--validate"});
  EXPECT_EQ(checked.code, 1);
  EXPECT_THAT(checked.err, HasSubstr("line 1: field 13 (n 4): \"1399\" is not a valid MMDD"));
  EXPECT_EQ(std::count(checked.out.begin(), checked.out.end(), '\n'), 1);

  // A spec file over a built-in one: field 48 in EBCDIC.
  const std::string spec =
      Write("host.json", R"({"base": "1987-binary", "fields": {"48": {"encoding": "ebcdic"}}})");
  const std::string jsonl = Write("m.jsonl", R"({"mti":"0200","fields":{"48":"HELLO"}})"
                                             "\n");
  const std::string out = dir_ + "/m.hex";
  Outcome r = Run({"iso8583", "encode", "--spec", spec, "--in", jsonl, "--out", out});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Read(out),
            "0200"
            "0000000000010000"
            "0005"
            "C8C5D3D3D6\n");
}

TEST_F(Iso8583CommandTest, BadFlagsAreUsageErrors) {
  const std::string in = Write("m.hex", ToHex(kPurchase) + "\n");
  Outcome format = Run({"iso8583", "decode", "--in", in, "--format", "xml"});
  EXPECT_EQ(format.code, 2);
  EXPECT_THAT(format.err, HasSubstr("--format xml: expected hex"));
  Outcome spec = Run({"iso8583", "decode", "--in", in, "--spec", dir_ + "/none.json"});
  EXPECT_EQ(spec.code, 2);
  EXPECT_THAT(spec.err, HasSubstr("none.json: no such file, and not a built-in spec"));
  const std::string bad_spec =
      Write("bad.json", R"({"fields": {"2": {"format": "n..19", "x": 1}}})");
  Outcome parse = Run({"iso8583", "decode", "--in", in, "--spec", bad_spec});
  EXPECT_EQ(parse.code, 2);
  EXPECT_THAT(parse.err, HasSubstr("fields.2: unknown key \"x\""));
  Outcome missing = Run({"iso8583", "decode", "--in", dir_ + "/none.hex"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("none.hex"));
  Outcome framing = Run({"iso8583", "decode", "--in", in, "--format", "binary", "--framing", "3"});
  EXPECT_EQ(framing.code, 2);
  EXPECT_THAT(framing.err, HasSubstr("--framing 3: expected 2"));
}

TEST_F(Iso8583CommandTest, DecodesASharedTestMessage) {
  const std::string file =
      std::string(FERRY_SOURCE_DIR) +
      "/../shared/data/iso8583/testdata/network_management_message_with_track.dat";
  if (!std::filesystem::exists(file)) {
    GTEST_SKIP() << file << " not found: the shared datasets are not beside this clone";
  }
  Outcome r = Run({"iso8583", "decode", "--in", file, "--format", "binary", "--framing", "none",
                   "--spec", "legacy-1987", "--no-mask"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json json = Json::parse(r.out);
  EXPECT_EQ(json["mti"], "0800");
  EXPECT_EQ(json["fields"]["35"], "FFF");
  EXPECT_EQ(json["fields"]["70"], "001");
  const std::string jsonl = Write("m.jsonl", r.out);
  const std::string again = dir_ + "/again.bin";
  ASSERT_EQ(Run({"iso8583", "encode", "--in", jsonl, "--out", again, "--format", "binary",
                 "--framing", "none", "--spec", "legacy-1987"})
                .code,
            0);
  EXPECT_EQ(ToHex(Read(again)), ToHex(Read(file)));
}

}  // namespace
}  // namespace ferry
