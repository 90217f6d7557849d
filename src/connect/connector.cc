#include "connect/connector.h"

#include <algorithm>

#include "base/url.h"
#include "connect/postgres_connector.h"
#include "connect/sqlite_connector.h"

namespace ferry {

bool SameIdentifier(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

int TableInfo::ColumnIndex(std::string_view column) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (SameIdentifier(columns[i].name, column)) return static_cast<int>(i);
  }
  return -1;
}

Result<std::unique_ptr<Connector>> Connector::Open(std::string_view url,
                                                   const ConnectOptions& /*options*/) {
  const std::string location = RedactUrl(url);
  if (url.starts_with("sqlite://")) {
    std::string path(url.substr(9));
    if (path.empty()) {
      return Err(InvalidArgument("{}: no file path; write sqlite:///abs/path/data.db", location));
    }
    return connect_internal::OpenSqliteConnector(path, location);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return connect_internal::OpenPostgresConnector(std::string(url), location);
  }
  const size_t scheme = url.find("://");
  return Err(
      InvalidArgument("{}: unknown kind of database `{}`; use sqlite:///path/data.db or "
                      "postgresql://user@host:port/db",
                      location, scheme == std::string_view::npos ? url : url.substr(0, scheme)));
}

}  // namespace ferry
