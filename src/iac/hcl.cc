#include "iac/hcl.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace ferry::iac {

std::string HclString(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool template_start = (c == '$' || c == '%') && i + 1 < text.size() && text[i + 1] == '{';
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else if (template_start) {
          // `${` and `%{` start an interpolation or directive; doubling the sign escapes it.
          out.push_back(c);
          out.push_back(c);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string HclList(const std::vector<std::string>& expressions) {
  std::string out = "[";
  for (size_t i = 0; i < expressions.size(); ++i) {
    if (i) out += ", ";
    out += expressions[i];
  }
  return out + "]";
}

bool IsHclIdentifier(std::string_view name) {
  if (name.empty()) return false;
  const char first = name[0];
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '_')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string HclObject(const std::vector<std::pair<std::string, std::string>>& members) {
  if (members.empty()) return "{}";
  std::string out = "{ ";
  for (size_t i = 0; i < members.size(); ++i) {
    if (i) out += ", ";
    out += IsHclIdentifier(members[i].first) ? members[i].first : HclString(members[i].first);
    out += " = ";
    out += members[i].second;
  }
  return out + " }";
}

std::string HclNumber(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15) {
    return fmt::format("{}", static_cast<int64_t>(value));
  }
  return fmt::format("{}", value);
}

void HclWriter::Indent() { out_.append(static_cast<size_t>(depth_) * 2, ' '); }

void HclWriter::Flush() {
  if (pending_.empty()) return;
  size_t width = 0;
  for (const auto& [name, expression] : pending_) width = std::max(width, name.size());
  for (const auto& [name, expression] : pending_) {
    Indent();
    out_ += name;
    out_.append(width - name.size(), ' ');
    out_ += " = ";
    out_ += expression;
    out_.push_back('\n');
  }
  pending_.clear();
}

void HclWriter::Open(std::string_view header) {
  Flush();
  Indent();
  out_ += header;
  out_ += " {\n";
  ++depth_;
}

void HclWriter::Close() {
  Flush();
  --depth_;
  Indent();
  out_ += "}\n";
  if (depth_ == 0) out_.push_back('\n');
}

void HclWriter::Attr(std::string_view name, std::string_view expression) {
  pending_.emplace_back(IsHclIdentifier(name) ? std::string(name) : HclString(name),
                        std::string(expression));
}

void HclWriter::Comment(std::string_view text) {
  Flush();
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    Indent();
    std::string_view line = text.substr(start, end - start);
    out_ += line.empty() ? "#" : "# ";
    out_ += line;
    out_.push_back('\n');
    start = end + 1;
  }
}

void HclWriter::OpenMap(std::string_view name) {
  Flush();
  Indent();
  out_ += IsHclIdentifier(name) ? std::string(name) : HclString(name);
  out_ += " = {\n";
  ++depth_;
}

void HclWriter::MapEntry(std::string_view key, std::string_view expression) {
  pending_.emplace_back(HclString(key), std::string(expression));
}

void HclWriter::CloseMap() {
  Flush();
  --depth_;
  Indent();
  out_ += "}\n";
}

void HclWriter::Blank() {
  Flush();
  out_.push_back('\n');
}

std::string HclWriter::Take() {
  Flush();
  while (out_.size() >= 2 && out_[out_.size() - 1] == '\n' && out_[out_.size() - 2] == '\n') {
    out_.pop_back();
  }
  return std::move(out_);
}

}  // namespace ferry::iac
