// `ferry infer` through the command line, in-process: the summary, the spec file, the
// boundaries file, --json, rejected lines (exit 1) and input with no message (exit 2).
#include <algorithm>
#include <cstdint>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pcap/pcap.h>

#include "base/env.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/cli_test_util.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;

using Outcome = ::ferry::testing::CliOutcome;

// A small binary protocol in hex: a 2-byte constant, a 1-byte type (1 or 2), a 16-bit
// sequence counter, a 1-byte length of the rest and 1-4 payload bytes (type 1) or 6-9 (type 2).
std::string ProtocolHex(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    const int type = 1 + i % 2;
    const int payload = type == 1 ? 1 + (i / 2) % 4 : 6 + (i / 2) % 4;
    std::string line = fmt::format("abcd{:02x}{:04x}{:02x}", type, 300 + i, payload);
    for (int k = 0; k < payload; ++k) line += fmt::format("{:02x}", (i * 31 + k * 17) & 0xff);
    text += line + "\n";
  }
  return text;
}

class InferCommandTest : public ::ferry::testing::CliFileTest {};

TEST_F(InferCommandTest, SummarySpecAndBoundaries) {
  const std::string in = Write("p.txt", ProtocolHex(200));
  const std::string spec = dir_ + "/spec.json";
  const std::string bounds = dir_ + "/bounds.txt";
  Outcome o = Run({"infer", "--in", in, "--out", spec, "--boundaries", bounds});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("200 message(s), 2 type(s)"));
  EXPECT_THAT(o.out, HasSubstr("constant"));
  EXPECT_THAT(o.out, HasSubstr("counter"));
  EXPECT_THAT(o.out, HasSubstr("length"));
  EXPECT_THAT(o.out, HasSubstr("spec written to " + spec));
  const nlohmann::json j = nlohmann::json::parse(Read(spec));
  EXPECT_EQ(j["format"], "ferry.inferred-spec");
  EXPECT_EQ(j["messages"], 200);
  EXPECT_EQ(j["message_types"].size(), 2u);
  const auto& fields = j["message_types"][0]["fields"];
  EXPECT_EQ(fields[0]["type"], "constant");
  EXPECT_EQ(fields[0]["length"], 2);
  // One line per message; the first message: 2|3|5|6 then its payload.
  const std::string lines = Read(bounds);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 200);
  EXPECT_EQ(lines.substr(0, lines.find('\n')), "2 3 5 6");
}

// The same messages as UDP payloads of an Ethernet capture written with libpcap: told from hex
// by its magic number.
TEST_F(InferCommandTest, CaptureIsReadByItsMagicNumber) {
  const std::string path = dir_ + "/p.pcap";
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(dumper, nullptr);
  std::istringstream lines(ProtocolHex(100));
  std::string line;
  while (std::getline(lines, line)) {
    std::string payload;
    for (size_t i = 0; i + 1 < line.size(); i += 2) {
      payload.push_back(static_cast<char>(std::stoi(line.substr(i, 2), nullptr, 16)));
    }
    const size_t udp = 8 + payload.size(), ip = 20 + udp;
    std::string frame(12, '\x02');
    frame += std::string("\x08\x00\x45\x00", 4);
    frame.push_back(static_cast<char>(ip >> 8));
    frame.push_back(static_cast<char>(ip & 0xff));
    frame += std::string("\x00\x01\x00\x00\x40\x11\x00\x00\x0a\x00\x00\x01\x0a\x00\x00\x02", 16);
    frame += std::string("\x30\x39\x13\x88", 4);
    frame.push_back(static_cast<char>(udp >> 8));
    frame.push_back(static_cast<char>(udp & 0xff));
    frame += std::string(2, '\0');
    frame += payload;
    pcap_pkthdr h{};
    h.caplen = h.len = static_cast<uint32_t>(frame.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &h, reinterpret_cast<const u_char*>(frame.data()));
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
  Outcome o = Run({"infer", "--in", path});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("100 message(s), 2 type(s)"));
  EXPECT_THAT(o.out, HasSubstr("counter"));
  Outcome hex = Run({"infer", "--in", path, "--format", "hex"});
  EXPECT_EQ(hex.code, 2);
  EXPECT_THAT(hex.err, HasSubstr("is not a hex digit"));
}

TEST_F(InferCommandTest, JsonOutput) {
  const std::string in = Write("p.txt", ProtocolHex(50));
  Outcome o = Run({"--json", "infer", "--in", in});
  ASSERT_EQ(o.code, 0) << o.err;
  const nlohmann::json j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["messages"], 50);
  EXPECT_EQ(j["rejected"], 0);
  EXPECT_TRUE(j["seconds"].is_number());
}

TEST_F(InferCommandTest, BadLinesAreRejectedByLineAndTheRestInferred) {
  const std::string in = Write("p.txt", ProtocolHex(30) + "abcd0g\n" + ProtocolHex(30));
  Outcome o = Run({"infer", "--in", in});
  EXPECT_EQ(o.code, 1);
  EXPECT_THAT(o.err, HasSubstr("p.txt:31:6: 'g' is not a hex digit"));
  EXPECT_THAT(o.out, HasSubstr("60 message(s)"));
  EXPECT_THAT(o.out, HasSubstr("1 rejected"));
}

TEST_F(InferCommandTest, NoMessageOrBadFlagsExitTwo) {
  Outcome empty = Run({"infer", "--in", Write("e.txt", "# nothing\n")});
  EXPECT_EQ(empty.code, 2);
  EXPECT_THAT(empty.err, HasSubstr("no message"));
  Outcome format = Run({"infer", "--in", Write("p.txt", ProtocolHex(5)), "--format", "csv"});
  EXPECT_EQ(format.code, 2);
  EXPECT_THAT(format.err, HasSubstr("--format csv: expected auto, hex or pcap"));
  Outcome pcap = Run({"infer", "--in", Write("q.txt", ProtocolHex(5)), "--format", "pcap"});
  EXPECT_EQ(pcap.code, 2);
  EXPECT_THAT(pcap.err, HasSubstr("not a readable capture"));
  Outcome missing = Run({"infer", "--in", dir_ + "/missing.txt"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("missing.txt"));
}

}  // namespace
}  // namespace ferry
