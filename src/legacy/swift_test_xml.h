// Test helper: compares two ISO 20022 XML documents as the reference test of the SWIFT cases
// does (../shared/data/swift/README.md): element names, attributes and the text of leaf
// elements, in document order; comments, the declaration and whitespace-only text are ignored.
// The literal text CURRENT_TIME in `expected` stands for a time stamp YYYY-MM-DDTHH:MM:SS+00:00.
#ifndef FERRY_LEGACY_SWIFT_TEST_XML_H_
#define FERRY_LEGACY_SWIFT_TEST_XML_H_

#include <algorithm>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <pugixml.hpp>

#include "legacy/swift_mt.h"

namespace ferry::legacy::testing {

inline std::vector<pugi::xml_node> XmlElements(pugi::xml_node n) {
  std::vector<pugi::xml_node> out;
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element) out.push_back(c);
  }
  return out;
}

inline std::string XmlLeafText(pugi::xml_node n) {
  std::string text;
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) text += c.value();
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return {};
  return text;
}

// The first difference as "path: what", or empty when the documents are equal.
inline std::string XmlDiff(pugi::xml_node expected, pugi::xml_node actual,
                           const std::string& path) {
  const std::string here = fmt::format("{}/{}", path, expected.name());
  if (std::string_view(expected.name()) != actual.name()) {
    return fmt::format("{}: element <{}> expected, <{}> found", here, expected.name(),
                       actual.name());
  }
  for (pugi::xml_attribute a : expected.attributes()) {
    const std::string_view name = a.name();
    if (name.starts_with("xmlns")) continue;
    pugi::xml_attribute b = actual.attribute(a.name());
    if (!b || std::string_view(b.value()) != a.value()) {
      return fmt::format("{}/@{}: '{}' expected, '{}' found", here, name, a.value(),
                         b ? b.value() : "(absent)");
    }
  }
  const std::vector<pugi::xml_node> e = XmlElements(expected);
  const std::vector<pugi::xml_node> g = XmlElements(actual);
  if (e.empty() && g.empty()) {
    const std::string et = XmlLeafText(expected);
    const std::string gt = XmlLeafText(actual);
    if (et == "CURRENT_TIME") {
      static const std::regex kStamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00)");
      if (!std::regex_match(gt, kStamp)) {
        return fmt::format("{}: a time stamp YYYY-MM-DDTHH:MM:SS+00:00 expected, '{}' found", here,
                           gt);
      }
    } else if (et != gt) {
      return fmt::format("{}: '{}' expected, '{}' found", here, et, gt);
    }
    return {};
  }
  for (size_t i = 0; i < e.size(); ++i) {
    if (i >= g.size())
      return fmt::format("{}: <{}> expected, nothing more found", here, e[i].name());
    std::string d = XmlDiff(e[i], g[i], here);
    if (!d.empty()) return d;
  }
  if (g.size() > e.size()) {
    return fmt::format("{}: unexpected <{}> after the expected children", here, g[e.size()].name());
  }
  return {};
}

// Parses both and compares; a parse failure is reported as the difference.
inline std::string XmlDiff(std::string_view expected, std::string_view actual) {
  pugi::xml_document a;
  pugi::xml_document b;
  if (!a.load_buffer(expected.data(), expected.size())) return "expected: not well-formed XML";
  if (pugi::xml_parse_result r = b.load_buffer(actual.data(), actual.size()); !r) {
    return fmt::format("actual: not well-formed XML ({} at byte {})", r.description(), r.offset);
  }
  return XmlDiff(a.document_element(), b.document_element(), "");
}

// "CHASGB2LXXXX" -> "CHASGB2LXXX"
inline std::string TerminalBic(std::string_view lt) {
  return fmt::format("{}{}", lt.substr(0, 8), lt.size() >= 12 ? lt.substr(9, 3) : "");
}

// The fields of an MT as the round trip must keep them: amounts as decimals (7138,40 and 7138,4
// are one amount), field 70 as its text (MX keeps the words, not where the lines broke), 72 as
// its set of codes (each with its continuation lines; /RETN/ without the field number, which
// pacs.004 does not carry), and a 52A that names the sender (or an MT103's 57A that names the
// receiver) as the same as no such field, which is what it means.
inline std::vector<std::string> CanonicalFields(const MtMessage& m) {
  const std::string sender = TerminalBic(m.direction == 'O' ? m.mir_terminal : m.logical_terminal);
  const std::string receiver = TerminalBic(m.direction == 'O' ? m.logical_terminal : m.receiver);
  std::vector<std::string> out;
  bool seen52 = false;
  for (const MtField& f : m.fields) {
    std::string value(f.value);
    if (f.number() == "52" && !seen52) {
      seen52 = true;
      if (f.tag == "52A" && f.value == sender) continue;
    }
    if (f.tag == "57A" && m.message_type == "103" && f.value == receiver) continue;
    if (f.tag == "32A") {
      value = fmt::format("{}{}", f.value.substr(0, 9), MtAmountToDecimal(f.value.substr(9)));
    } else if (f.tag == "33B" || f.tag == "71F" || f.tag == "71G") {
      value = fmt::format("{}{}", f.value.substr(0, 3), MtAmountToDecimal(f.value.substr(3)));
    } else if (f.tag == "36") {
      value = MtAmountToDecimal(f.value);
    } else if (f.tag == "70") {
      value.clear();
      for (std::string_view l : FieldLines(f.value)) {
        value += fmt::format("{}{}", value.empty() ? "" : " ", l);
      }
    } else if (f.tag == "72") {
      std::vector<std::string> groups;
      for (std::string_view l : FieldLines(f.value)) {
        if (l.starts_with("//") && !groups.empty()) {
          groups.back() += fmt::format("|{}", l);
        } else {
          groups.emplace_back(l.starts_with("/RETN/") ? std::string_view("/RETN/") : l);
        }
      }
      std::sort(groups.begin(), groups.end());
      value = fmt::format("{}", fmt::join(groups, "|"));
    } else {
      value.clear();
      for (std::string_view l : FieldLines(f.value)) {
        value += fmt::format("{}{}", value.empty() ? "" : "|", l);
      }
    }
    out.push_back(fmt::format(":{}:{}", f.tag, value));
  }
  return out;
}

// What differs between an MT and the same MT after MT -> MX -> MT, or empty: the fields
// (CanonicalFields), the direction, sender and receiver (as BICs), the MIR date and time of an
// output header, and block 3's 111 and 121.
inline std::string RoundTripDiff(const MtMessage& a, const MtMessage& b) {
  const auto bic = TerminalBic;
  // An MT205 comes back as an MT202: pacs.009 does not tell them apart.
  auto type = [](const MtMessage& m) {
    return m.message_type == "205" ? std::string("202") : std::string(m.message_type);
  };
  std::vector<std::string> ha = {std::string(1, a.direction), type(a),
                                 std::string(a.UserHeader("111")), std::string(a.UserHeader("119")),
                                 std::string(a.UserHeader("121"))};
  std::vector<std::string> hb = {std::string(1, b.direction), type(b),
                                 std::string(b.UserHeader("111")), std::string(b.UserHeader("119")),
                                 std::string(b.UserHeader("121"))};
  if (a.direction == 'O') {
    for (auto [m, h] : {std::pair{&a, &ha}, std::pair{&b, &hb}}) {
      h->push_back(bic(m->mir_terminal));
      h->push_back(bic(m->logical_terminal));
      h->push_back(std::string(m->mir_date));
      h->push_back(std::string(m->input_time));
    }
  } else {
    for (auto [m, h] : {std::pair{&a, &ha}, std::pair{&b, &hb}}) {
      h->push_back(bic(m->logical_terminal));
      h->push_back(bic(m->receiver));
    }
  }
  if (ha != hb) return fmt::format("header {} became {}", fmt::join(ha, ","), fmt::join(hb, ","));
  const std::vector<std::string> fa = CanonicalFields(a);
  const std::vector<std::string> fb = CanonicalFields(b);
  for (size_t i = 0; i < std::max(fa.size(), fb.size()); ++i) {
    const std::string x = i < fa.size() ? fa[i] : "(none)";
    const std::string y = i < fb.size() ? fb[i] : "(none)";
    if (x != y) return fmt::format("field {}: {} became {}", i + 1, x, y);
  }
  return {};
}

}  // namespace ferry::legacy::testing

#endif  // FERRY_LEGACY_SWIFT_TEST_XML_H_
