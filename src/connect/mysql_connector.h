// Private to the connect module: the MySQL / MariaDB connector (libmariadb, the MariaDB
// Connector/C, which speaks to both servers).
#ifndef FERRY_CONNECT_MYSQL_CONNECTOR_H_
#define FERRY_CONNECT_MYSQL_CONNECTOR_H_

#include <memory>
#include <string>
#include <string_view>

#include "connect/connector.h"

namespace ferry::connect_internal {

// Connects to `url`, mysql://user[:password]@host[:port]/database (mariadb:// is the same);
// without a password in the URL, MYSQL_PWD is read. `location` is the redacted URL used in
// every message. Tables are the base tables of that database. Each session runs in UTC
// (time_zone '+00:00'), utf8mb4, and strict SQL mode: a value that does not fit fails.
Result<std::unique_ptr<Connector>> OpenMysqlConnector(const std::string& url,
                                                      const std::string& location);

// The kind a column of MySQL type `column_type` is read as: information_schema.columns
// .column_type ("tinyint(1)", "bigint(20) unsigned", "decimal(12,2)") or a DDL type name
// ("BOOLEAN", "DATETIME(6)"). tinyint(1) and bool are kBool; BIGINT UNSIGNED is kDecimal (it
// exceeds int64); other integers and YEAR kInt64; TIMESTAMP is kTimestampTz (an instant, read in
// UTC); DATETIME kTimestamp; the blob and binary family, BIT and GEOMETRY kBytes; MariaDB UUID
// kUuid; types without a kind of their own (enum, set, inet6) compare by their text.
// MariaDB's JSON is LONGTEXT with a json_valid CHECK: DescribeTable recognises it by the check.
TypeKind MysqlKind(std::string_view column_type);

}  // namespace ferry::connect_internal

#endif  // FERRY_CONNECT_MYSQL_CONNECTOR_H_
