#include "base/url.h"

namespace ferry {

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  size_t scheme_end = out.find("://");
  if (scheme_end != std::string::npos) {
    size_t authority_start = scheme_end + 3;
    size_t authority_end = out.find_first_of("/?#", authority_start);
    if (authority_end == std::string::npos) authority_end = out.size();
    size_t at = out.rfind('@', authority_end);
    size_t colon = out.find(':', authority_start);
    if (at != std::string::npos && at >= authority_start && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  constexpr std::string_view kKey = "password=";
  for (size_t pos = out.find(kKey); pos != std::string::npos; pos = out.find(kKey, pos + 1)) {
    size_t value = pos + kKey.size();
    size_t end = out.find('&', value);
    out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
  }
  return out;
}

}  // namespace ferry
