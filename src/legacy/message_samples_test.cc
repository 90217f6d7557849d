// The sample readers of format inference: hex lines (and their errors by line and column) and
// packet captures written here with libpcap (Ethernet, 802.1Q, IPv6, Linux cooked; fragments,
// short snapshots and a truncated file).
#include "legacy/message_samples.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include "base/env.h"

namespace ferry::legacy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::string Raw(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

TEST(ParseHexMessagesTest, ReadsOneMessageALine) {
  Result<MessageSamples> s =
      ParseHexMessages("00ff10\n# a comment\n\n  AbCd \r\n0a 0b 0c\n", "in.txt");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_THAT(s->messages,
              ElementsAre(Raw({0x00, 0xff, 0x10}), Raw({0xab, 0xcd}), Raw({0x0a, 0x0b, 0x0c})));
  EXPECT_TRUE(s->rejected.empty());
}

TEST(ParseHexMessagesTest, LastLineWithoutNewline) {
  Result<MessageSamples> s = ParseHexMessages("01\n0203", "in.txt");
  ASSERT_TRUE(s.has_value());
  EXPECT_THAT(s->messages, ElementsAre(Raw({0x01}), Raw({0x02, 0x03})));
}

TEST(ParseHexMessagesTest, BadLinesAreRejectedByLineAndColumnAndTheRestIsKept) {
  Result<MessageSamples> s = ParseHexMessages("0102\n01zz\n010\n0304\n", "in.txt");
  ASSERT_TRUE(s.has_value());
  EXPECT_THAT(s->messages, ElementsAre(Raw({0x01, 0x02}), Raw({0x03, 0x04})));
  ASSERT_THAT(s->rejected, SizeIs(2));
  EXPECT_THAT(s->rejected[0], HasSubstr("in.txt:2:3: 'z' is not a hex digit"));
  EXPECT_THAT(s->rejected[1], HasSubstr("in.txt:3:3: 3 hex digits, an odd count"));
}

TEST(ParseHexMessagesTest, NoMessageIsAnError) {
  Result<MessageSamples> empty = ParseHexMessages("", "in.txt");
  ASSERT_FALSE(empty.has_value());
  EXPECT_THAT(empty.error().message(), HasSubstr("in.txt: no message: the file is empty"));
  Result<MessageSamples> bad = ParseHexMessages("# only\nxyz\n", "in.txt");
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error().message(), HasSubstr("no line holds a message (1 rejected"));
  EXPECT_THAT(bad.error().message(), HasSubstr("in.txt:2:1"));
}

TEST(LooksLikePcapTest, Magics) {
  EXPECT_TRUE(LooksLikePcap(Raw({0xd4, 0xc3, 0xb2, 0xa1, 0})));
  EXPECT_TRUE(LooksLikePcap(Raw({0x0a, 0x0d, 0x0d, 0x0a})));
  EXPECT_FALSE(LooksLikePcap("0102"));
  EXPECT_FALSE(LooksLikePcap(""));
}

// Frames for the captures: Ethernet (optionally 802.1Q-tagged) around IPv4 or IPv6 around UDP
// or TCP.
std::string Ipv4(uint8_t protocol, const std::string& transport, uint16_t fragment = 0) {
  const size_t total = 20 + transport.size();
  std::string ip = Raw({0x45,
                        0,
                        static_cast<int>(total >> 8),
                        static_cast<int>(total & 0xff),
                        0,
                        1,
                        fragment >> 8,
                        fragment & 0xff,
                        64,
                        protocol,
                        0,
                        0,
                        10,
                        0,
                        0,
                        1,
                        10,
                        0,
                        0,
                        2});
  return ip + transport;
}
std::string Ipv6(uint8_t next, const std::string& transport) {
  std::string ip = Raw({0x60, 0, 0, 0, static_cast<int>(transport.size() >> 8),
                        static_cast<int>(transport.size() & 0xff), next, 64});
  ip += std::string(32, '\x01');
  return ip + transport;
}
std::string Udp(const std::string& payload) {
  const size_t n = 8 + payload.size();
  return Raw({0x30, 0x39, 0, 123, static_cast<int>(n >> 8), static_cast<int>(n & 0xff), 0, 0}) +
         payload;
}
std::string Tcp(const std::string& payload) {
  std::string h =
      Raw({0x30, 0x39, 0x01, 0xf6, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0});
  return h + payload;
}
std::string Ethernet(uint16_t type, const std::string& body, bool vlan = false) {
  std::string e(12, '\x02');
  if (vlan) e += Raw({0x81, 0x00, 0x00, 0x05});
  e += Raw({type >> 8, type & 0xff});
  return e + body;
}

struct Frame {
  std::string bytes;
  uint32_t caplen = 0;  // 0: all of it
};

// Writes the frames with libpcap's own writer.
std::string WritePcap(const std::string& path, int link, const std::vector<Frame>& frames) {
  pcap_t* dead = pcap_open_dead(link, 65535);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  EXPECT_NE(dumper, nullptr) << pcap_geterr(dead);
  uint32_t second = 1700000000;
  for (const Frame& f : frames) {
    pcap_pkthdr h{};
    h.ts.tv_sec = second++;
    h.len = static_cast<uint32_t>(f.bytes.size());
    h.caplen = f.caplen == 0 ? h.len : f.caplen;
    pcap_dump(reinterpret_cast<u_char*>(dumper), &h,
              reinterpret_cast<const u_char*>(f.bytes.data()));
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
  return path;
}

class ReadPcapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ferry-samples-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { ASSERT_TRUE(Env::Default()->RemoveAll(dir_).ok()); }
  std::string dir_;
};

TEST_F(ReadPcapTest, PayloadsOfUdpAndTcpInCaptureOrder) {
  const std::string path = WritePcap(
      dir_ + "/a.pcap", DLT_EN10MB,
      {{Ethernet(0x0800, Ipv4(17, Udp("one")))},
       {Ethernet(0x0800, Ipv4(6, Tcp("")))},  // a bare acknowledgement: skipped
       {Ethernet(0x0800, Ipv4(6, Tcp("two")), /*vlan=*/true)},
       {Ethernet(0x86dd, Ipv6(17, Udp("three")))},
       {Ethernet(0x0806, std::string(28, '\0'))},                           // ARP: skipped
       {Ethernet(0x0800, Ipv4(17, Udp("four")) + std::string(6, '\0'))}});  // padded frame
  Result<MessageSamples> s = ReadPcapMessages(path);
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_THAT(s->messages, ElementsAre("one", "two", "three", "four"));
  EXPECT_TRUE(s->rejected.empty());
  EXPECT_EQ(s->skipped, 2u);
}

TEST_F(ReadPcapTest, LinuxCookedAndRawIp) {
  std::string sll = Raw({0, 0, 0, 1, 0, 6}) + std::string(8, '\x03') + Raw({0x08, 0x00});
  Result<MessageSamples> cooked = ReadPcapMessages(
      WritePcap(dir_ + "/sll.pcap", DLT_LINUX_SLL, {{sll + Ipv4(17, Udp("cooked"))}}));
  ASSERT_TRUE(cooked.has_value()) << cooked.error().message();
  EXPECT_THAT(cooked->messages, ElementsAre("cooked"));
  Result<MessageSamples> raw =
      ReadPcapMessages(WritePcap(dir_ + "/raw.pcap", DLT_RAW, {{Ipv6(6, Tcp("raw6"))}}));
  ASSERT_TRUE(raw.has_value()) << raw.error().message();
  EXPECT_THAT(raw->messages, ElementsAre("raw6"));
}

TEST_F(ReadPcapTest, FragmentsAndShortSnapshotsAreRejectedByPacketNumber) {
  const std::string full = Ethernet(0x0800, Ipv4(17, Udp("whole")));
  const std::string path =
      WritePcap(dir_ + "/b.pcap", DLT_EN10MB,
                {{full},
                 {Ethernet(0x0800, Ipv4(17, Udp("later"), /*fragment=*/0x0010))},
                 {full, static_cast<uint32_t>(full.size() - 2)}});
  Result<MessageSamples> s = ReadPcapMessages(path);
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_THAT(s->messages, ElementsAre("whole"));
  ASSERT_THAT(s->rejected, SizeIs(2));
  EXPECT_THAT(s->rejected[0], HasSubstr("packet 2: an IPv4 fragment after the first"));
  EXPECT_THAT(s->rejected[1], HasSubstr("packet 3: "));
  EXPECT_THAT(s->rejected[1], HasSubstr("snapshot length too small"));
}

TEST_F(ReadPcapTest, TruncatedFileKeepsThePacketsBeforeTheCut) {
  const std::string path = WritePcap(dir_ + "/c.pcap", DLT_EN10MB,
                                     {{Ethernet(0x0800, Ipv4(17, Udp("first")))},
                                      {Ethernet(0x0800, Ipv4(17, Udp("second, cut off")))}});
  std::string bytes = Env::Default()->ReadFile(path).value();
  bytes.resize(bytes.size() - 5);
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(path, bytes).ok());
  Result<MessageSamples> s = ReadPcapMessages(path);
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_THAT(s->messages, ElementsAre("first"));
  ASSERT_THAT(s->rejected, SizeIs(1));
  EXPECT_THAT(s->rejected[0], HasSubstr("after packet 1"));
  EXPECT_THAT(s->rejected[0], HasSubstr("cut short"));
}

TEST_F(ReadPcapTest, NotACaptureOrNoPayloadIsAnError) {
  const std::string text = dir_ + "/text.pcap";
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(text, "0102\n").ok());
  Result<MessageSamples> s = ReadPcapMessages(text);
  ASSERT_FALSE(s.has_value());
  EXPECT_THAT(s.error().message(), HasSubstr("not a readable capture"));
  EXPECT_THAT(s.error().message(), HasSubstr("--format hex"));

  std::string header_only =
      Env::Default()->ReadFile(WritePcap(dir_ + "/d.pcap", DLT_EN10MB, {})).value();
  Result<MessageSamples> none = ReadPcapMessages(dir_ + "/d.pcap");
  ASSERT_FALSE(none.has_value());
  EXPECT_THAT(none.error().message(), HasSubstr("no UDP or TCP payload in 0 packet(s)"));
  EXPECT_EQ(header_only.size(), 24u);  // the classic pcap file header alone

  Result<MessageSamples> missing = ReadPcapMessages(dir_ + "/missing.pcap");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message(), HasSubstr("missing.pcap"));
}

}  // namespace
}  // namespace ferry::legacy
