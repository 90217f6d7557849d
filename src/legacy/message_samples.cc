#include "legacy/message_samples.h"

#include <cstdint>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <pcap/pcap.h>

namespace ferry::legacy {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", u);
}

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// The transport payload of an IP packet at `p` (IPv4 or IPv6, told by its version nibble).
// Returns false with `why` set for a packet to reject; true with an empty `payload` for one
// that carries nothing (another protocol, a bare TCP acknowledgement).
bool IpPayload(const uint8_t* p, size_t n, std::string_view* payload, std::string* why) {
  *payload = {};
  if (n < 1) return true;
  uint8_t protocol = 0;
  size_t header = 0;
  size_t end = n;
  if ((p[0] >> 4) == 4) {
    if (n < 20) {
      *why = "IPv4 header cut short";
      return false;
    }
    header = static_cast<size_t>(p[0] & 0x0f) * 4;
    const size_t total = Be16(p + 2);
    if (header < 20 || total < header) {
      *why = fmt::format("IPv4 header length {} or total length {} is wrong", header, total);
      return false;
    }
    if (total > n) {
      *why = fmt::format("IPv4 packet of {} bytes, {} captured (snapshot length too small?)", total,
                         n);
      return false;
    }
    end = total;  // Ethernet pads short frames: the IP length is the truth
    if ((Be16(p + 6) & 0x1fff) != 0) {
      *why = "an IPv4 fragment after the first: fragments are not reassembled";
      return false;
    }
    protocol = p[9];
  } else if ((p[0] >> 4) == 6) {
    if (n < 40) {
      *why = "IPv6 header cut short";
      return false;
    }
    const size_t total = 40 + static_cast<size_t>(Be16(p + 4));
    if (total > n) {
      *why = fmt::format("IPv6 packet of {} bytes, {} captured (snapshot length too small?)", total,
                         n);
      return false;
    }
    end = total;
    protocol = p[6];
    header = 40;
    // Hop-by-hop, routing and destination options headers: skip them to the transport.
    while ((protocol == 0 || protocol == 43 || protocol == 60) && header + 8 <= end) {
      protocol = p[header];
      header += (static_cast<size_t>(p[header + 1]) + 1) * 8;
    }
    if (protocol == 44) {
      *why = "an IPv6 fragment: fragments are not reassembled";
      return false;
    }
  } else {
    return true;
  }
  if (header > end) {
    *why = "IP header longer than the packet";
    return false;
  }
  const uint8_t* t = p + header;
  const size_t tn = end - header;
  if (protocol == 17) {
    if (tn < 8) {
      *why = "UDP header cut short";
      return false;
    }
    size_t udp_length = Be16(t + 4);
    if (udp_length < 8 || udp_length > tn) udp_length = tn;
    *payload = std::string_view(reinterpret_cast<const char*>(t + 8), udp_length - 8);
  } else if (protocol == 6) {
    if (tn < 20) {
      *why = "TCP header cut short";
      return false;
    }
    const size_t offset = static_cast<size_t>(t[12] >> 4) * 4;
    if (offset < 20 || offset > tn) {
      *why = fmt::format("TCP data offset {} is wrong", offset);
      return false;
    }
    *payload = std::string_view(reinterpret_cast<const char*>(t + offset), tn - offset);
  }
  return true;
}

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};

}  // namespace

Result<MessageSamples> ParseHexMessages(std::string_view text, std::string_view source_name) {
  MessageSamples samples;
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    size_t first = 0;
    while (first < line.size() && (line[first] == ' ' || line[first] == '\t')) ++first;
    if (first == line.size() || line[first] == '#') continue;
    std::string message;
    message.reserve((line.size() - first) / 2);
    std::string error;
    int high = -1;
    size_t digits = 0;
    for (size_t i = first; i < line.size(); ++i) {
      if (line[i] == ' ' || line[i] == '\t') continue;
      const int v = HexValue(line[i]);
      if (v < 0) {
        error = fmt::format(
            "{}:{}:{}: {} is not a hex digit; a message is written as two hex "
            "digits a byte",
            source_name, line_number, i + 1, Printable(line[i]));
        break;
      }
      ++digits;
      if (high < 0) {
        high = v;
      } else {
        message.push_back(static_cast<char>(high << 4 | v));
        high = -1;
      }
    }
    if (error.empty() && high >= 0) {
      error = fmt::format(
          "{}:{}:{}: {} hex digits, an odd count: a byte is two digits (a digit "
          "missing or one too many)",
          source_name, line_number, line.size(), digits);
    }
    if (!error.empty()) {
      samples.rejected.push_back(std::move(error));
      continue;
    }
    samples.messages.push_back(std::move(message));
  }
  if (samples.messages.empty()) {
    if (!samples.rejected.empty()) {
      return Err(InvalidArgument("{}: no line holds a message ({} rejected; the first: {})",
                                 source_name, samples.rejected.size(), samples.rejected[0]));
    }
    return Err(
        InvalidArgument("{}: no message: the file is empty (one message a line in hex "
                        "expected)",
                        source_name));
  }
  return samples;
}

bool LooksLikePcap(std::string_view bytes) {
  if (bytes.size() < 4) return false;
  uint32_t magic = 0;
  std::memcpy(&magic, bytes.data(), 4);
  return magic == 0xa1b2c3d4 || magic == 0xd4c3b2a1 || magic == 0xa1b23c4d || magic == 0x4d3cb2a1 ||
         magic == 0x0a0d0d0a;
}

Result<MessageSamples> ReadPcapMessages(const std::string& path) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, PcapCloser> pcap(pcap_open_offline(path.c_str(), errbuf));
  if (pcap == nullptr) {
    return Err(
        InvalidArgument("{}: not a readable capture ({}); give a classic pcap or pcapng "
                        "file, or --format hex for one message a line in hex",
                        path, errbuf));
  }
  const int link = pcap_datalink(pcap.get());
  MessageSamples samples;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  size_t number = 0;
  int rc = 0;
  while ((rc = pcap_next_ex(pcap.get(), &header, &data)) == 1) {
    ++number;
    const uint8_t* p = data;
    size_t n = header->caplen;
    std::string why;
    bool ip = true;
    switch (link) {
      case DLT_EN10MB: {
        if (n < 14) {
          why = "Ethernet header cut short";
          break;
        }
        size_t at = 12;
        uint16_t type = Be16(p + at);
        while ((type == 0x8100 || type == 0x88a8) && at + 6 <= n) {
          at += 4;
          type = Be16(p + at);
        }
        if (type != 0x0800 && type != 0x86dd) ip = false;
        p += at + 2;
        n -= at + 2;
        break;
      }
      case DLT_LINUX_SLL:
        if (n < 16) {
          why = "Linux cooked header cut short";
          break;
        }
        p += 16;
        n -= 16;
        break;
      case DLT_LINUX_SLL2:
        if (n < 20) {
          why = "Linux cooked v2 header cut short";
          break;
        }
        p += 20;
        n -= 20;
        break;
      case DLT_NULL:
      case DLT_LOOP:
        if (n < 4) {
          why = "loopback header cut short";
          break;
        }
        p += 4;
        n -= 4;
        break;
      case DLT_RAW:
      case DLT_IPV4:
      case DLT_IPV6: break;
      default:
        return Err(InvalidArgument(
            "{}: link type {} ({}) is not read; Ethernet, Linux cooked, loopback and raw IP are",
            path, link, pcap_datalink_val_to_name(link) ? pcap_datalink_val_to_name(link) : "?"));
    }
    std::string_view payload;
    if (why.empty() && ip) {
      if (header->caplen < header->len) {
        why = fmt::format("{} of {} bytes captured (snapshot length too small?)", header->caplen,
                          header->len);
      } else {
        IpPayload(p, n, &payload, &why);
      }
    }
    if (!why.empty()) {
      samples.rejected.push_back(fmt::format("{}: packet {}: {}", path, number, why));
    } else if (payload.empty()) {
      ++samples.skipped;
    } else {
      samples.messages.emplace_back(payload);
    }
  }
  if (rc == PCAP_ERROR) {
    samples.rejected.push_back(fmt::format("{}: after packet {}: {} (the file is cut short?)", path,
                                           number, pcap_geterr(pcap.get())));
  }
  if (samples.messages.empty()) {
    return Err(InvalidArgument("{}: no UDP or TCP payload in {} packet(s){}", path, number,
                               samples.rejected.empty() ? "" : "; " + samples.rejected[0]));
  }
  return samples;
}

}  // namespace ferry::legacy
