#include "connect/schema_map.h"

#include <algorithm>

#include <fmt/format.h>

#include "connect/file_connector.h"
#include "connect/mysql_connector.h"
#include "connect/postgres_connector.h"
#include "connect/sqlite_connector.h"

namespace ferry {
namespace {

// A PostgreSQL type as written in DDL ("character varying(40)", "timestamp with time zone")
// reduced to its pg_type name ("varchar", "timestamptz").
std::string PostgresTypeName(std::string_view ddl) {
  std::string t = AsciiLower(ddl);
  if (size_t paren = t.find('('); paren != std::string::npos) {
    size_t close = t.find(')', paren);
    t.erase(paren, close == std::string::npos ? std::string::npos : close - paren + 1);
  }
  while (!t.empty() && t.back() == ' ') t.pop_back();
  static const std::map<std::string, std::string, std::less<>> kAliases = {
      {"smallint", "int2"},
      {"integer", "int4"},
      {"int", "int4"},
      {"bigint", "int8"},
      {"decimal", "numeric"},
      {"real", "float4"},
      {"double precision", "float8"},
      {"float", "float8"},
      {"boolean", "bool"},
      {"character varying", "varchar"},
      {"character", "bpchar"},
      {"char", "bpchar"},
      {"timestamp without time zone", "timestamp"},
      {"timestamp with time zone", "timestamptz"},
      {"time without time zone", "time"},
      {"serial", "int4"},
      {"bigserial", "int8"},
  };
  auto alias = kAliases.find(t);
  return alias != kAliases.end() ? alias->second : t;
}

std::string WithModifiers(std::string_view base, int precision, int scale) {
  if (precision <= 0) return std::string(base);
  if (scale >= 0) return fmt::format("{}({},{})", base, precision, scale);
  return fmt::format("{}({})", base, precision);
}

// MySQL's DECIMAL holds at most 65 digits, 30 after the point.
constexpr int kMysqlMaxDecimalDigits = 65;
constexpr int kMysqlMaxDecimalScale = 30;
// VARCHAR(n) of utf8mb4 beyond this does not fit MySQL's 65,535-byte row: LONGTEXT instead.
constexpr int kMysqlMaxVarchar = 16383;

std::string MysqlTargetType(const ColumnInfo& c) {
  switch (c.kind) {
    case TypeKind::kBool: return "TINYINT(1)";
    case TypeKind::kInt64: return "BIGINT";
    case TypeKind::kDecimal:
      // Not a bare DECIMAL: MySQL reads that as DECIMAL(10,0).
      if (c.precision <= 0) return "DECIMAL(65,30)";
      return WithModifiers("DECIMAL", std::min(c.precision, kMysqlMaxDecimalDigits),
                           std::clamp(c.scale, 0, kMysqlMaxDecimalScale));
    case TypeKind::kFloat64: return "DOUBLE";
    case TypeKind::kText:
      return c.precision > 0 && c.precision <= kMysqlMaxVarchar
                 ? WithModifiers("VARCHAR", c.precision, -1)
                 : "LONGTEXT";
    case TypeKind::kBytes: return "LONGBLOB";
    case TypeKind::kDate: return "DATE";
    case TypeKind::kTime: return "TIME(6)";
    case TypeKind::kTimestamp: return "DATETIME(6)";
    case TypeKind::kTimestampTz: return "DATETIME(6)";  // the UTC wall clock
    case TypeKind::kUuid: return "CHAR(36)";
    case TypeKind::kJson: return "JSON";
  }
  return "LONGTEXT";
}

// The target type for a column of `kind` when the engines differ.
std::string TargetType(std::string_view engine, const ColumnInfo& c) {
  if (engine == "mysql") return MysqlTargetType(c);
  // Files declare no types: their sidecar schema records the kind by name (file_connector.h).
  if (engine == "csv" || engine == "jsonl") {
    return c.kind == TypeKind::kDecimal ? WithModifiers("decimal", c.precision, c.scale)
                                        : std::string(TypeKindName(c.kind));
  }
  const bool pg = engine == "postgresql";
  switch (c.kind) {
    case TypeKind::kBool: return pg ? "boolean" : "BOOLEAN";
    case TypeKind::kInt64: return pg ? "bigint" : "INTEGER";
    case TypeKind::kDecimal: return WithModifiers(pg ? "numeric" : "NUMERIC", c.precision, c.scale);
    case TypeKind::kFloat64: return pg ? "double precision" : "REAL";
    case TypeKind::kText: return pg ? WithModifiers("varchar", c.precision, -1) : "TEXT";
    case TypeKind::kBytes: return pg ? "bytea" : "BLOB";
    case TypeKind::kDate: return pg ? "date" : "DATE";
    case TypeKind::kTime: return pg ? "time" : "TIME";
    case TypeKind::kTimestamp: return pg ? "timestamp" : "DATETIME";
    case TypeKind::kTimestampTz: return pg ? "timestamptz" : "TIMESTAMPTZ";
    case TypeKind::kUuid: return pg ? "uuid" : "UUID";
    case TypeKind::kJson: return pg ? "jsonb" : "JSON";
  }
  return "TEXT";
}

// What moving a column of `kind` from `from` to `to` may lose.
std::vector<std::string> Risks(std::string_view from, std::string_view to, const ColumnInfo& c,
                               std::string_view target_type) {
  std::vector<std::string> risks;
  if (from == to) return risks;
  // Files hold every value of a kind exactly (file_connector.h) and enforce no lengths or
  // precisions, so the database rules below do not apply to them.
  if (to == "csv" || to == "jsonl") {
    if (c.kind == TypeKind::kJson && c.nullable && to == "jsonl") {
      risks.push_back(
          "null: a value that is the JSON document `null` is written like SQL NULL and reads "
          "back as NULL");
    }
    if (from == "sqlite" && c.native_type.empty()) {
      risks.push_back("untyped: the SQLite column declares no type; its values are moved as bytes");
    }
    return risks;
  }
  const bool to_sqlite = to == "sqlite";
  if (c.kind == TypeKind::kText && from == "postgresql" && to_sqlite) {
    risks.push_back(
        "collation: SQLite orders and compares text by bytes (BINARY), PostgreSQL by "
        "its locale; ORDER BY and unique keys on this column may behave differently");
    if (c.precision > 0) {
      risks.push_back(
          fmt::format("length: SQLite does not enforce the limit of {} characters", c.precision));
    }
  }
  if (c.kind == TypeKind::kText && from == "sqlite" && !to_sqlite) {
    if (to == "postgresql") {
      risks.push_back(
          "encoding: PostgreSQL text cannot hold the NUL character; a value with one "
          "is rejected at load time, naming the row");
    }
    if (c.precision > 0) {
      risks.push_back(
          fmt::format("length: SQLite never enforced {}; longer values fail to load "
                      "into {} (widen it with --cast {}:text)",
                      c.native_type, target_type, c.name));
    }
  }
  if (c.kind == TypeKind::kTimestampTz && to_sqlite) {
    risks.push_back("time zone: stored as UTC text ('...Z'); SQLite has no time-zone type");
  }
  if (c.kind == TypeKind::kDecimal && from == "sqlite" && c.precision > 0 && !to_sqlite) {
    risks.push_back(
        fmt::format("precision: SQLite never enforced {}; values with more digits "
                    "fail to load into {}",
                    c.native_type, target_type));
  }
  if (c.kind == TypeKind::kDecimal && to_sqlite) {
    risks.push_back(
        "precision: SQLite keeps a decimal of up to 15 significant digits as a binary "
        "float (exactly, for those digits) and longer ones as text; arithmetic in "
        "SQLite is floating point");
  }
  if (to == "mysql") {
    if (c.kind == TypeKind::kText) {
      risks.push_back(
          "collation: utf8mb4 text compares case-insensitively (and ignoring trailing spaces) "
          "by default in MySQL/MariaDB; unique keys on this column may collide ('a' and 'A')");
    }
    if (c.kind == TypeKind::kDecimal && (c.precision <= 0 || c.precision > kMysqlMaxDecimalDigits ||
                                         c.scale > kMysqlMaxDecimalScale)) {
      risks.push_back(fmt::format(
          "precision: MySQL DECIMAL holds at most {} digits, {} after the point; as {}, values "
          "with more digits fail to load",
          kMysqlMaxDecimalDigits, kMysqlMaxDecimalScale, target_type));
    }
    if (c.kind == TypeKind::kTimestampTz) {
      risks.push_back(
          "time zone: stored as UTC in a DATETIME(6), which has no zone; it reads back as a "
          "wall-clock timestamp");
    }
    if (c.kind == TypeKind::kFloat64) {
      risks.push_back("special values: MySQL DOUBLE has no NaN or infinity; they fail to load");
    }
  }
  if (from == "sqlite" && c.native_type.empty()) {
    risks.push_back("untyped: the SQLite column declares no type; its values are moved as bytes");
  }
  return risks;
}

}  // namespace

bool TableMapping::lossless() const {
  return std::all_of(columns.begin(), columns.end(),
                     [](const ColumnMapping& c) { return c.risks.empty(); });
}

Result<TypeKind> KindOfNativeType(std::string_view engine, std::string_view native_type) {
  if (engine == "sqlite") {
    return connect_internal::SqliteColumn("", std::string(native_type), false).kind;
  }
  if (engine == "postgresql") return connect_internal::PostgresKind(PostgresTypeName(native_type));
  if (engine == "mysql") return connect_internal::MysqlKind(native_type);
  if (engine == "csv" || engine == "jsonl") return connect_internal::FileColumnKind(native_type);
  return Err(InvalidArgument("unknown engine `{}`", engine));
}

Result<TableMapping> MapTable(const TableInfo& source, std::string_view source_engine,
                              std::string_view target_engine,
                              const std::map<std::string, std::string>& casts) {
  TableMapping mapping;
  mapping.target.name = source.name;
  mapping.target.primary_key = source.primary_key;
  mapping.target.indexes = source.indexes;
  mapping.target.foreign_keys = source.foreign_keys;
  mapping.target.not_copied = source.not_copied;
  for (const auto& [column, type] : casts) {
    if (source.ColumnIndex(column) < 0) {
      return Err(InvalidArgument("--cast {}:{}: table `{}` has no column `{}`", column, type,
                                 source.name, column));
    }
  }
  for (const ColumnInfo& c : source.columns) {
    ColumnMapping m{.name = c.name, .source_type = c.native_type, .kind = c.kind};
    ColumnInfo target = c;
    auto cast = std::find_if(casts.begin(), casts.end(), [&](const auto& entry) {
      return SameIdentifier(entry.first, c.name);
    });
    if (cast != casts.end()) {
      FERRY_ASSIGN_OR_RETURN(TypeKind kind, KindOfNativeType(target_engine, cast->second));
      if (kind != c.kind) {
        return Err(InvalidArgument(
            "--cast {}:{}: `{}` is read as {} but {} on {} holds {}; cast to a type of the same "
            "kind",
            c.name, cast->second, c.name, TypeKindName(c.kind), cast->second, target_engine,
            TypeKindName(kind)));
      }
      target.native_type = cast->second;
    } else if (source_engine == target_engine && !c.native_type.empty()) {
      target.native_type = c.native_type;  // same engine: keep the declared type as it is
    } else {
      target.native_type = TargetType(target_engine, c);
    }
    m.target_type = target.native_type;
    m.risks = Risks(source_engine, target_engine, c, m.target_type);
    mapping.columns.push_back(std::move(m));
    mapping.target.columns.push_back(std::move(target));
  }
  return mapping;
}

}  // namespace ferry
