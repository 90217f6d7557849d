#include "base/url.h"

#include <algorithm>
#include <vector>

namespace ferry {
namespace {

// Where the password of `scheme://user:password@host...` lies in `url`, as [begin, end); empty
// when there is none. The userinfo ends at the last '@' before the query, so a password with an
// unescaped '/' or '#' is still found.
std::pair<size_t, size_t> PasswordSpan(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {0, 0};
  const size_t start = scheme_end + 3;
  const size_t query = url.find('?', start);
  const size_t at = url.rfind('@', query == std::string_view::npos ? url.size() : query);
  if (at == std::string_view::npos || at < start) return {0, 0};
  const size_t colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at) return {0, 0};
  return {colon + 1, at};
}

// The values of every `password=` parameter, as spans of `url`.
std::vector<std::pair<size_t, size_t>> PasswordParameters(std::string_view url) {
  constexpr std::string_view kKey = "password=";
  std::vector<std::pair<size_t, size_t>> spans;
  for (size_t pos = url.find(kKey); pos != std::string_view::npos; pos = url.find(kKey, pos + 1)) {
    const size_t value = pos + kKey.size();
    const size_t end = url.find('&', value);
    spans.emplace_back(value, end == std::string_view::npos ? url.size() : end);
  }
  return spans;
}

}  // namespace

std::string RedactUrl(std::string_view url) {
  std::vector<std::pair<size_t, size_t>> spans = PasswordParameters(url);
  if (auto span = PasswordSpan(url); span.second > span.first) spans.push_back(span);
  std::sort(spans.begin(), spans.end());
  std::string out;
  size_t copied = 0;
  for (const auto& [begin, end] : spans) {
    if (begin < copied) continue;
    out.append(url.substr(copied, begin - copied));
    out.append("***");
    copied = end;
  }
  out.append(url.substr(copied));
  return out;
}

std::string RedactSecretsOf(std::string_view url, std::string_view text) {
  std::vector<std::string> secrets;
  if (auto [begin, end] = PasswordSpan(url); end > begin) {
    secrets.emplace_back(url.substr(begin, end - begin));
  }
  for (const auto& [begin, end] : PasswordParameters(url)) {
    if (end > begin) secrets.emplace_back(url.substr(begin, end - begin));
  }
  std::string out(text);
  for (const std::string& secret : secrets) {
    for (size_t pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos + 3)) {
      out.replace(pos, secret.size(), "***");
    }
  }
  return out;
}

}  // namespace ferry
