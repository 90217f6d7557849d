// Schema conversion: how a source table becomes a table on a target engine, and what the
// conversion could lose, reported before any row moves. The mapping per engine pair is the
// table in docs/type-mapping.md; this file is its implementation.
#ifndef FERRY_CONNECT_SCHEMA_MAP_H_
#define FERRY_CONNECT_SCHEMA_MAP_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "connect/connector.h"

namespace ferry {

struct ColumnMapping {
  std::string name;
  std::string source_type;  // native, as the source declares it
  std::string target_type;  // native DDL type on the target
  TypeKind kind;            // the kind values travel in
  // What the target may not keep, one line each: "precision: ...", "time zone: ...". Empty
  // when the mapping is exact.
  std::vector<std::string> risks;
};

struct TableMapping {
  TableInfo target;  // ready for Connector::CreateTable
  std::vector<ColumnMapping> columns;
  bool lossless() const;
};

// Maps `source` (read from an engine named `source_engine`) onto `target_engine` ("sqlite",
// "postgresql", "mysql", "csv", "jsonl"). `casts` overrides target types by column name (`--cast
// col:type`); a cast to a type of another kind is refused with the kinds named.
Result<TableMapping> MapTable(const TableInfo& source, std::string_view source_engine,
                              std::string_view target_engine,
                              const std::map<std::string, std::string>& casts = {});

// The kind a native type of `engine` is read as (the connectors' rule, usable before a table
// exists).
Result<TypeKind> KindOfNativeType(std::string_view engine, std::string_view native_type);

}  // namespace ferry

#endif  // FERRY_CONNECT_SCHEMA_MAP_H_
