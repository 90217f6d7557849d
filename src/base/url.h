// URLs as ferry's users write them: store and database locations.
#ifndef FERRY_BASE_URL_H_
#define FERRY_BASE_URL_H_

#include <string>
#include <string_view>

namespace ferry {

// The URL with every password replaced by ***: the one in `scheme://user:password@host` and
// any `password=` query parameter (libpq takes both). Safe to log and to put in messages.
std::string RedactUrl(std::string_view url);

// `text` (a driver's error message, say) with every occurrence of `url`'s password replaced by
// ***: drivers sometimes quote the URL they were given.
std::string RedactSecretsOf(std::string_view url, std::string_view text);

}  // namespace ferry

#endif  // FERRY_BASE_URL_H_
