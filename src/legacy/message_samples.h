// Samples of a protocol's messages, the input of format inference (format_inference.h): a text
// file with one message a line in hex, or a packet capture whose UDP and TCP payloads are the
// messages.
//
// Both readers keep going past a bad line or packet: what they could read is returned with a
// list of what they left out and why, so that one corrupt line does not cost the whole sample.
// A sample with no message at all is an error.
//
// Thread-safety: the functions are thread-safe.
#ifndef FERRY_LEGACY_MESSAGE_SAMPLES_H_
#define FERRY_LEGACY_MESSAGE_SAMPLES_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ferry::legacy {

struct MessageSamples {
  std::vector<std::string> messages;  // the bytes of each message, in input order
  // One line per line or packet left out: "<source>:<line>:<column>: <what>" for hex, "<source>:
  // packet <n>: <what>" for captures. Packets that carry no UDP or TCP payload (a TCP
  // acknowledgement, ARP, ICMP) are counted in `skipped`, not listed.
  std::vector<std::string> rejected;
  size_t skipped = 0;
};

// One message a line, two hex digits a byte (either case), no separators. Blank lines and lines
// starting with `#` are skipped; spaces and a CR at the end of a line are ignored. A line with
// an odd number of digits or a character that is not a hex digit is rejected with its line and
// (1-based) column. InvalidArgument when no line holds a message.
[[nodiscard]] Result<MessageSamples> ParseHexMessages(std::string_view text,
                                                      std::string_view source_name);

// The UDP and TCP payloads of a capture, classic pcap or pcapng (read by libpcap), one message
// per packet in capture order. Link types: Ethernet (with 802.1Q tags), Linux cooked (v1, v2),
// BSD loopback and raw IPv4/IPv6. IP fragments after the first and packets cut short by the
// snapshot length are rejected with their number (1-based). TCP streams are not reassembled:
// each segment's payload is one message. InvalidArgument when the file cannot be read as a
// capture or holds no payload.
[[nodiscard]] Result<MessageSamples> ReadPcapMessages(const std::string& path);

// Is `bytes` a capture (a pcap or pcapng magic number at its start)?
bool LooksLikePcap(std::string_view bytes);

}  // namespace ferry::legacy

#endif  // FERRY_LEGACY_MESSAGE_SAMPLES_H_
