#include "move/transform.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/hash.h"
#include "base/json.h"
#include "harness/shared_servers.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A 40-byte key, as an operator would export it.
constexpr std::string_view kPiiKey = "0123456789abcdef0123456789abcdef01234567";

Value Text(std::string_view s) { return Value::Text(std::string(s)); }
Value Decimal(std::string_view s) { return *ParseDecimal(s); }
Value Date(std::string_view s) { return *ParseDate(s); }
Value Timestamp(std::string_view s) { return *ParseTimestamp(s); }
Value TimestampTz(std::string_view s) { return *ParseTimestampTz(s); }

// The customers table of docs/transforms.md, as PostgreSQL describes it.
TableInfo Customers() {
  auto text = [](std::string name) {
    return ColumnInfo{.name = std::move(name), .native_type = "text", .kind = TypeKind::kText};
  };
  return TableInfo{
      .name = "customers",
      .columns =
          {{.name = "id", .native_type = "bigint", .kind = TypeKind::kInt64, .nullable = false},
           {.name = "full_name",
            .native_type = "varchar(40)",
            .kind = TypeKind::kText,
            .precision = 40},
           text("ssn"),
           text("email"),
           text("card_number"),
           text("notes"),
           text("amount"),
           {.name = "status", .native_type = "char(1)", .kind = TypeKind::kText, .precision = 1},
           text("opened"),
           {.name = "booked_at", .native_type = "timestamp", .kind = TypeKind::kTimestamp},
           text("region"),
           text("phone"),
           {.name = "balance",
            .native_type = "numeric(12,2)",
            .kind = TypeKind::kDecimal,
            .precision = 12,
            .scale = 2},
           text("country")},
      .primary_key = {"id"}};
}

Row CustomerRow(int64_t id) {
  return Row{Value::Int64(id),
             Text("Ada Lovelace"),
             Text("123-45-6789"),
             Text("ada@example.com"),
             Text("4111111111111234"),
             Text("likes tea"),
             Text("12.50"),
             Text("A"),
             Text("31/12/2023"),
             Timestamp("2024-01-15 12:00:00"),
             Text("somewhere"),
             Value::Null(),
             Decimal("100.25"),
             Text("FR")};
}

// The example of docs/transforms.md, verbatim.
constexpr std::string_view kDocExample = R"yaml(
version: 1
hmac_keys:
  pii: {env: FERRY_PII_KEY}
tables:
  customers:
    rename: clients
    filter: "country <> 'US' AND (balance >= 0 OR balance IS NULL)"
    columns:
      ssn: {hmac: pii}
      email: {sha256: true}
      card_number: {mask: last4}
      notes: drop
      full_name: {rename: name}
      amount: {cast: decimal}
      status: {map: {A: active, I: inactive}, else: unknown}
      opened: {date_format: "%d/%m/%Y"}
      booked_at: {timezone: Europe/Paris}
      region: {constant: EU}
      phone: [{default: unknown}, {rename: phone_number}]
    add:
      migrated_by: {constant: ferry, type: text}
)yaml";

class TransformTest : public ::testing::Test {
 protected:
  TransformTest() { env_.SetEnvVar("FERRY_PII_KEY", std::string(kPiiKey)); }

  Result<TransformSpec> Parse(std::string_view yaml) {
    return TransformSpec::Parse(yaml, "migration.yaml", &env_);
  }

  // Parses `yaml` and compiles it for `table`; the error of either stage.
  Result<TableTransform> Compile(std::string_view yaml, const TableInfo& table,
                                 std::string_view engine = "postgresql") {
    FERRY_ASSIGN_OR_RETURN(TransformSpec spec, Parse(yaml));
    return spec.ForTable(table, engine);
  }

  // A table `t` (id int64 key, v of `kind`) whose column v gets `steps` (YAML flow syntax).
  static TableInfo SingleTable(TypeKind kind, std::string native = "") {
    return TableInfo{.name = "t",
                     .columns = {{.name = "id",
                                  .native_type = "bigint",
                                  .kind = TypeKind::kInt64,
                                  .nullable = false},
                                 {.name = "v", .native_type = std::move(native), .kind = kind}},
                     .primary_key = {"id"}};
  }
  Result<TableTransform> CompileSingle(TypeKind kind, std::string_view steps,
                                       std::string_view engine = "postgresql") {
    return Compile(fmt::format("version: 1\nhmac_keys:\n  pii: {{env: FERRY_PII_KEY}}\n"
                               "tables:\n  t:\n    columns:\n      v: {}\n",
                               steps),
                   SingleTable(kind), engine);
  }
  // The output value of v for input `v`, or the row's error.
  static Result<Value> RunSingle(const TableTransform& t, const Value& v) {
    Row out;
    FERRY_ASSIGN_OR_RETURN(bool kept, t.Apply(Row{Value::Int64(1), v}, &out));
    if (!kept) return Err(NotFound("filtered out"));
    return out.at(
        static_cast<size_t>(t.output().ColumnIndex("v") >= 0 ? t.output().ColumnIndex("v") : 1));
  }
  // Runs `v` through `steps` on a column of `kind`; a compile error fails the test.
  Result<Value> Through(TypeKind kind, std::string_view steps, const Value& v) {
    Result<TableTransform> t = CompileSingle(kind, steps);
    EXPECT_TRUE(t.has_value()) << steps << ": " << t.error().ToString();
    if (!t.has_value()) return Err(t.error());
    return RunSingle(*t, v);
  }
  std::string CompileError(TypeKind kind, std::string_view steps) {
    Result<TableTransform> t = CompileSingle(kind, steps);
    EXPECT_FALSE(t.has_value()) << steps;
    return t.has_value() ? std::string() : t.error().message();
  }
  std::string ParseError(std::string_view yaml) {
    Result<TransformSpec> spec = Parse(yaml);
    EXPECT_FALSE(spec.has_value()) << yaml;
    return spec.has_value() ? std::string() : spec.error().message();
  }

  FaultInjectionEnv env_{Env::Default()};
};

std::string Sha256HexOf(std::string_view s) { return Sha256Hex(s); }

// ---- The whole example

TEST_F(TransformTest, TransformDocExampleCompilesToTheDocumentedTable) {
  Result<TableTransform> t = Compile(kDocExample, Customers(), "postgresql");
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  EXPECT_FALSE(t->identity());
  const TableInfo& out = t->output();
  EXPECT_EQ(out.name, "clients");
  std::vector<std::string> names;
  for (const ColumnInfo& c : out.columns) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"id", "name", "ssn", "email", "card_number", "amount",
                                             "status", "opened", "booked_at", "region",
                                             "phone_number", "balance", "country", "migrated_by"}));
  EXPECT_EQ(out.primary_key, std::vector<std::string>{"id"});
  auto column = [&](std::string_view name) {
    return out.columns.at(static_cast<size_t>(out.ColumnIndex(name)));
  };
  // Untouched and renamed-only columns keep the source's native type.
  EXPECT_EQ(column("name").native_type, "varchar(40)");
  EXPECT_EQ(column("balance").native_type, "numeric(12,2)");
  // Hashes are 64 hex characters: varchar(64), indexable on every engine.
  EXPECT_EQ(column("ssn").kind, TypeKind::kText);
  EXPECT_EQ(column("ssn").native_type, "varchar(64)");
  EXPECT_EQ(column("ssn").precision, 64);
  EXPECT_EQ(column("amount").kind, TypeKind::kDecimal);
  EXPECT_EQ(column("amount").native_type, "numeric");
  // The map's values do not fit char(1): the column widens to the longest.
  EXPECT_EQ(column("status").kind, TypeKind::kText);
  EXPECT_EQ(column("status").precision, 8);
  EXPECT_EQ(column("opened").kind, TypeKind::kDate);
  EXPECT_EQ(column("opened").native_type, "date");
  EXPECT_EQ(column("booked_at").kind, TypeKind::kTimestampTz);
  EXPECT_EQ(column("booked_at").native_type, "timestamptz");
  EXPECT_FALSE(column("region").nullable);
  EXPECT_FALSE(column("phone_number").nullable);
  EXPECT_EQ(column("migrated_by").kind, TypeKind::kText);
  EXPECT_FALSE(column("migrated_by").nullable);

  Row out_row;
  Result<bool> kept = t->Apply(CustomerRow(7), &out_row);
  ASSERT_TRUE(kept.has_value()) << kept.error().ToString();
  ASSERT_TRUE(*kept);
  ASSERT_EQ(out_row.size(), out.columns.size());
  auto value = [&](std::string_view name) {
    return out_row.at(static_cast<size_t>(out.ColumnIndex(name)));
  };
  EXPECT_EQ(value("id"), Value::Int64(7));
  EXPECT_EQ(value("name"), Text("Ada Lovelace"));
  EXPECT_EQ(value("email"), Text(Sha256HexOf("ada@example.com")));
  EXPECT_EQ(value("card_number"), Text("************1234"));
  EXPECT_EQ(value("amount"), Decimal("12.5"));
  EXPECT_EQ(value("status"), Text("active"));
  EXPECT_EQ(value("opened"), Date("2023-12-31"));
  EXPECT_EQ(value("booked_at"), TimestampTz("2024-01-15 11:00:00Z"));
  EXPECT_EQ(value("region"), Text("EU"));
  EXPECT_EQ(value("phone_number"), Text("unknown"));
  EXPECT_EQ(value("balance"), Decimal("100.25"));
  EXPECT_EQ(value("migrated_by"), Text("ferry"));
  EXPECT_EQ(value("ssn").kind(), TypeKind::kText);
  EXPECT_EQ(value("ssn").str().size(), 64u);
  EXPECT_NE(value("ssn"), Text(Sha256HexOf("123-45-6789")));  // keyed, not a plain hash

  // The filter: US rows and negative balances stay behind; a NULL balance passes.
  Row us = CustomerRow(8);
  us[13] = Text("US");
  EXPECT_FALSE(*t->Apply(us, &out_row));
  Row negative = CustomerRow(9);
  negative[12] = Decimal("-1");
  EXPECT_FALSE(*t->Apply(negative, &out_row));
  Row unknown_balance = CustomerRow(10);
  unknown_balance[12] = Value::Null();
  EXPECT_TRUE(*t->Apply(unknown_balance, &out_row));
}

TEST_F(TransformTest, TransformTablesTheSpecDoesNotNameAreIdentity) {
  Result<TransformSpec> spec = Parse(kDocExample);
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  TableInfo other = SingleTable(TypeKind::kText);
  Result<TableTransform> t = spec->ForTable(other, "sqlite");
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(t->identity());
  EXPECT_EQ(t->output().name, "t");
  EXPECT_EQ(spec->TargetTableName("customers"), "clients");
  EXPECT_EQ(spec->TargetTableName("Customers"), "clients");
  EXPECT_EQ(spec->TargetTableName("t"), "t");
  EXPECT_EQ(spec->tables(), std::vector<std::string>{"customers"});
  EXPECT_EQ(spec->source_name(), "migration.yaml");
  Row out;
  ASSERT_TRUE(*t->Apply(Row{Value::Int64(1), Text("x")}, &out));
  EXPECT_EQ(out, (Row{Value::Int64(1), Text("x")}));
}

// ---- Renames, drops and the primary key

TEST_F(TransformTest, TransformRenamesAndDropsFollowThePrimaryKey) {
  TableInfo table{.name = "orders",
                  .columns = {{.name = "region", .kind = TypeKind::kText, .nullable = false},
                              {.name = "no", .kind = TypeKind::kInt64, .nullable = false},
                              {.name = "memo", .kind = TypeKind::kText}},
                  .primary_key = {"region", "no"}};
  Result<TableTransform> t = Compile(R"(
version: 1
tables:
  orders:
    columns:
      no: {rename: order_no}
      memo: drop
)",
                                     table);
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  EXPECT_EQ(t->output().primary_key, (std::vector<std::string>{"region", "order_no"}));
  ASSERT_EQ(t->output().columns.size(), 2u);
  EXPECT_FALSE(t->output().columns[1].nullable);
  Row out;
  ASSERT_TRUE(*t->Apply(Row{Text("eu"), Value::Int64(3), Text("x")}, &out));
  EXPECT_EQ(out, (Row{Text("eu"), Value::Int64(3)}));
  EXPECT_EQ(t->KeyDisplay(Row{Text("eu"), Value::Int64(3), Text("x")}), "region='eu', no=3");
  // The dropped column is hidden; the others are not.
  EXPECT_FALSE(t->hidden(0));
  EXPECT_TRUE(t->hidden(2));
}

TEST_F(TransformTest, TransformDroppingAKeyColumnNeedsAnExplicitKey) {
  const std::string drop_key = "version: 1\ntables:\n  t:\n    columns:\n      id: drop\n";
  Result<TableTransform> refused = Compile(drop_key, SingleTable(TypeKind::kText));
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().message(), HasSubstr("migration.yaml:4:"));
  EXPECT_THAT(refused.error().message(), HasSubstr("`id` is part of the primary key"));
  EXPECT_THAT(refused.error().message(), HasSubstr("primary_key"));

  Result<TableTransform> keyed =
      Compile(drop_key + "    primary_key: [v]\n", SingleTable(TypeKind::kText));
  ASSERT_TRUE(keyed.has_value()) << keyed.error().ToString();
  EXPECT_EQ(keyed->output().primary_key, std::vector<std::string>{"v"});
  Result<TableTransform> keyless =
      Compile(drop_key + "    primary_key: none\n", SingleTable(TypeKind::kText));
  ASSERT_TRUE(keyless.has_value()) << keyless.error().ToString();
  EXPECT_TRUE(keyless->output().primary_key.empty());
  Result<TableTransform> typo =
      Compile(drop_key + "    primary_key: [w]\n", SingleTable(TypeKind::kText));
  ASSERT_FALSE(typo.has_value());
  EXPECT_THAT(typo.error().message(), HasSubstr("no column `w`"));
}

TEST_F(TransformTest, TransformRenameCollisionsAreErrors) {
  std::string message = CompileError(TypeKind::kText, "{rename: ID}");
  EXPECT_THAT(message, HasSubstr("two columns would arrive on the target as `ID` (and `id`)"));
  Result<TransformSpec> spec = Parse("version: 1\ntables:\n  a: {rename: b}\n");
  ASSERT_TRUE(spec.has_value());
  Status collision = spec->CheckTables({"a", "b"});
  EXPECT_THAT(collision.message(), HasSubstr("tables `a` and `b` would both arrive as `b`"));
  EXPECT_TRUE(spec->CheckTables({"a", "c"}).ok());
}

TEST_F(TransformTest, TransformCheckTablesNamesEveryMissingTable) {
  Result<TransformSpec> spec =
      Parse("version: 1\ntables:\n  custmers: {rename: c}\n  invoices: {}\n  zz: {}\n");
  ASSERT_TRUE(spec.has_value());
  Status missing = spec->CheckTables({"customers", "invoices"});
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.message(), HasSubstr("migration.yaml:3:"));
  EXPECT_THAT(missing.message(), HasSubstr("no table `custmers` (nor `zz`)"));
  EXPECT_THAT(missing.message(), HasSubstr("did you mean `customers`?"));
  EXPECT_TRUE(spec->CheckTables({"customers", "CUSTMERS", "invoices", "zz"}).ok());
}

TEST_F(TransformTest, TransformColumnsTheTableLacksAreNamed) {
  Result<TableTransform> t =
      Compile("version: 1\ntables:\n  customers:\n    columns:\n      emial: {sha256: true}\n",
              Customers());
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().message(),
            "migration.yaml:5:14: key `tables.customers.columns.emial`: table `customers` has "
            "no column `emial`; did you mean `email`?");
}

// Property: a spec of renames only moves every value unchanged (a bijection on rows), whatever
// the kinds and NULLs, and renaming back gives the source table again.
TEST_F(TransformTest, TransformRenamesOnlyIsABijection) {
  std::mt19937_64 random(20240229);
  for (int round = 0; round < 20; ++round) {
    const size_t n = 1 + random() % 8;
    TableInfo table{.name = fmt::format("t{}", round)};
    std::string forward = fmt::format("version: 1\ntables:\n  {}:\n    rename: u{}\n    columns:\n",
                                      table.name, round);
    std::string backward = fmt::format(
        "version: 1\ntables:\n  u{}:\n    rename: {}\n    "
        "columns:\n",
        round, table.name);
    for (size_t i = 0; i < n; ++i) {
      const TypeKind kind =
          std::array{TypeKind::kInt64, TypeKind::kText,    TypeKind::kDecimal,
                     TypeKind::kDate,  TypeKind::kFloat64, TypeKind::kBytes}[random() % 6];
      table.columns.push_back({.name = fmt::format("c{}", i), .kind = kind});
      forward += fmt::format("      c{0}: {{rename: r{0}}}\n", i);
      backward += fmt::format("      r{0}: {{rename: c{0}}}\n", i);
    }
    Result<TableTransform> there = Compile(forward, table);
    ASSERT_TRUE(there.has_value()) << there.error().ToString();
    Result<TableTransform> back = Compile(backward, there->output());
    ASSERT_TRUE(back.has_value()) << back.error().ToString();
    EXPECT_EQ(back->output().name, table.name);
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(there->output().columns[i].name, fmt::format("r{}", i));
      EXPECT_EQ(back->output().columns[i].name, table.columns[i].name);
      EXPECT_EQ(back->output().columns[i].kind, table.columns[i].kind);
    }
    for (int r = 0; r < 50; ++r) {
      Row row;
      for (const ColumnInfo& c : table.columns) {
        if (random() % 5 == 0) {
          row.push_back(Value::Null());
          continue;
        }
        const int64_t x = static_cast<int64_t>(random());
        switch (c.kind) {
          case TypeKind::kInt64: row.push_back(Value::Int64(x)); break;
          case TypeKind::kText: row.push_back(Text(fmt::format("s{}é", x))); break;
          case TypeKind::kDecimal: row.push_back(Decimal(fmt::format("{}.{}", x % 1000, r))); break;
          case TypeKind::kDate: row.push_back(Value::Date(static_cast<int32_t>(x % 100000))); break;
          case TypeKind::kFloat64: row.push_back(Value::Float64(static_cast<double>(x) / 7)); break;
          default: row.push_back(Value::Bytes(fmt::format("\x01{}", x))); break;
        }
      }
      Row middle, again;
      ASSERT_TRUE(*there->Apply(row, &middle));
      EXPECT_EQ(middle, row);
      ASSERT_TRUE(*back->ApplyConsuming(&middle, &again));
      EXPECT_EQ(again, row);
    }
  }
}

// ---- Casts

TEST_F(TransformTest, TransformCastConvertsExactlyOrRejects) {
  EXPECT_EQ(*Through(TypeKind::kText, "{cast: int64}", Text("42")), Value::Int64(42));
  EXPECT_EQ(*Through(TypeKind::kText, "{cast: decimal}", Text("-00012.3400")), Decimal("-12.34"));
  EXPECT_EQ(*Through(TypeKind::kInt64, "{cast: text}", Value::Int64(-5)), Text("-5"));
  EXPECT_EQ(*Through(TypeKind::kInt64, "{cast: decimal}", Value::Int64(5)), Decimal("5"));
  EXPECT_EQ(*Through(TypeKind::kDecimal, "{cast: int64}", Decimal("12")), Value::Int64(12));
  EXPECT_EQ(*Through(TypeKind::kFloat64, "{cast: int64}", Value::Float64(3.0)), Value::Int64(3));
  EXPECT_EQ(*Through(TypeKind::kFloat64, "{cast: decimal}", Value::Float64(0.1)), Decimal("0.1"));
  EXPECT_EQ(*Through(TypeKind::kBool, "{cast: int64}", Value::Bool(true)), Value::Int64(1));
  EXPECT_EQ(*Through(TypeKind::kInt64, "{cast: bool}", Value::Int64(0)), Value::Bool(false));
  EXPECT_EQ(*Through(TypeKind::kDate, "{cast: timestamp}", Date("2024-02-29")),
            Timestamp("2024-02-29 00:00:00"));
  EXPECT_EQ(*Through(TypeKind::kTimestamp, "{cast: date}", Timestamp("2024-02-29 00:00:00")),
            Date("2024-02-29"));
  EXPECT_TRUE(Through(TypeKind::kText, "{cast: int64}", Value::Null())->is_null());

  Result<Value> fraction = Through(TypeKind::kDecimal, "{cast: int64}", Decimal("1.5"));
  ASSERT_FALSE(fraction.has_value());
  EXPECT_THAT(fraction.error().message(), HasSubstr("column `v` value 1.5: cast to int64: "));
  EXPECT_FALSE(Through(TypeKind::kFloat64, "{cast: int64}", Value::Float64(2.5)).has_value());
  EXPECT_FALSE(Through(TypeKind::kFloat64, "{cast: int64}", Value::Float64(1e19)).has_value());
  EXPECT_FALSE(Through(TypeKind::kInt64, "{cast: bool}", Value::Int64(2)).has_value());
  EXPECT_FALSE(Through(TypeKind::kText, "{cast: int64}", Text("12x")).has_value());
  Result<Value> time_of_day =
      Through(TypeKind::kTimestamp, "{cast: date}", Timestamp("2024-02-29 10:00:00"));
  ASSERT_FALSE(time_of_day.has_value());
  EXPECT_THAT(time_of_day.error().message(), HasSubstr("has a time of day"));
}

TEST_F(TransformTest, TransformImpossibleCastsFailBeforeAnyRow) {
  EXPECT_THAT(CompileError(TypeKind::kUuid, "{cast: int64}"),
              HasSubstr("column `v` is uuid, which does not convert to int64"));
  EXPECT_THAT(CompileError(TypeKind::kTimestamp, "{cast: timestamptz}"),
              HasSubstr("use {timezone: Europe/Paris}"));
  EXPECT_THAT(CompileError(TypeKind::kText, "{cast: integer}"),
              HasSubstr("`integer` is not a kind; expected one of `bool`, `int64`"));
  EXPECT_THAT(CompileError(TypeKind::kText, "{cast: integer}"), HasSubstr("did you mean `int64`?"));
  // A native type must hold the kind on the source's engine.
  EXPECT_THAT(CompileError(TypeKind::kText, "{cast: decimal, type: \"date\"}"),
              HasSubstr("`date` is date on postgresql, not decimal"));
  Result<TableTransform> typed =
      CompileSingle(TypeKind::kText, "{cast: decimal, type: \"numeric(14,2)\"}");
  ASSERT_TRUE(typed.has_value()) << typed.error().ToString();
  EXPECT_EQ(typed->output().columns[1].native_type, "numeric(14,2)");
  EXPECT_EQ(typed->output().columns[1].precision, 14);
  EXPECT_EQ(typed->output().columns[1].scale, 2);
}

// ---- Hashes

TEST_F(TransformTest, TransformSha256OfTheTextForm) {
  // FIPS 180-2, appendix B.1.
  EXPECT_EQ(*Through(TypeKind::kText, "{sha256: true}", Text("abc")),
            Text("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  // Non-text values hash their text input form: 42 as "42", a date as "2024-01-02".
  EXPECT_EQ(*Through(TypeKind::kInt64, "{sha256: true}", Value::Int64(42)),
            Text(Sha256HexOf("42")));
  EXPECT_EQ(*Through(TypeKind::kDate, "{sha256: true}", Date("2024-01-02")),
            Text(Sha256HexOf("2024-01-02")));
  EXPECT_TRUE(Through(TypeKind::kText, "{sha256: true}", Value::Null())->is_null());
  EXPECT_THAT(CompileError(TypeKind::kText, "{sha256: false}"),
              HasSubstr("expected `sha256: true`"));
}

// RFC 4231 section 4.7 and 4.8 (test cases 6 and 7): a 131-byte key, hashed first.
TEST_F(TransformTest, TransformHmacMatchesRfc4231) {
  env_.SetEnvVar("RFC4231_KEY", std::string(262, 'a'));
  constexpr std::string_view kSpec =
      "version: 1\nhmac_keys:\n  rfc: {env: RFC4231_KEY, encoding: hex}\n"
      "tables:\n  t:\n    columns:\n      v: {hmac: rfc}\n";
  Result<TableTransform> t = Compile(kSpec, SingleTable(TypeKind::kText));
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  EXPECT_EQ(*RunSingle(*t, Text("Test Using Larger Than Block-Size Key - Hash Key First")),
            Text("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
  EXPECT_EQ(*RunSingle(*t, Text("This is a test using a larger than block-size key and a larger "
                                "than block-size data. The key needs to be hashed before being "
                                "used by the HMAC algorithm.")),
            Text("9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"));
}

std::string OpenSslHmac(std::string_view key, std::string_view message) {
  const std::string command =
      fmt::format("printf '%s' '{}' | openssl dgst -sha256 -hmac '{}' 2>/dev/null", message, key);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  char buffer[256] = {};
  const size_t n = fread(buffer, 1, sizeof(buffer) - 1, pipe);
  pclose(pipe);
  std::string out(buffer, n);
  const size_t eq = out.rfind("= ");
  if (eq == std::string::npos) return "";
  out = out.substr(eq + 2);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// The documented recipe: HMAC-SHA-256 keyed with the variable's bytes over the value's text, as
// `openssl dgst -hmac` (or PostgreSQL's pgcrypto hmac(ssn::text, key, 'sha256')) computes it.
TEST_F(TransformTest, TransformHmacMatchesOpenSslCommandLine) {
  const std::string expected = OpenSslHmac(kPiiKey, "123-45-6789");
  if (expected.empty()) GTEST_SKIP() << "no openssl command";
  EXPECT_EQ(*Through(TypeKind::kText, "{hmac: pii}", Text("123-45-6789")), Text(expected));
  EXPECT_EQ(*Through(TypeKind::kInt64, "{hmac: pii}", Value::Int64(123456789)),
            Text(OpenSslHmac(kPiiKey, "123456789")));
}

TEST_F(TransformTest, TransformHmacKeyFromAFileBesideTheSpec) {
  char dir_template[] = "/tmp/ferry-transform-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(dir + "/pii.key", std::string(kPiiKey) + "\n").ok());
  ASSERT_TRUE(Env::Default()
                  ->WriteFileAtomic(dir + "/spec.yaml",
                                    "version: 1\nhmac_keys:\n  pii: {file: pii.key}\ntables:\n"
                                    "  t:\n    columns:\n      v: {hmac: pii}\n")
                  .ok());
  Result<TransformSpec> spec = TransformSpec::LoadFile(dir + "/spec.yaml", &env_);
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  Result<TableTransform> from_file = spec->ForTable(SingleTable(TypeKind::kText), "sqlite");
  ASSERT_TRUE(from_file.has_value());
  Result<TableTransform> from_env = CompileSingle(TypeKind::kText, "{hmac: pii}");
  ASSERT_TRUE(from_env.has_value());
  // The trailing newline is not part of the key.
  EXPECT_EQ(*RunSingle(*from_file, Text("x")), *RunSingle(*from_env, Text("x")));
  EXPECT_EQ(from_file->output().columns[1].native_type, "TEXT");  // SQLite

  Result<TransformSpec> missing = TransformSpec::LoadFile(dir + "/nope.yaml", &env_);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.error().message(), HasSubstr("transform spec"));
  ASSERT_TRUE(Env::Default()->RemoveAll(dir).ok());
}

TEST_F(TransformTest, TransformInlineKeysAreRefused) {
  for (std::string_view key_yaml :
       {"  pii: 0123456789abcdef0123456789abcdef\n", "  pii: {key: 0123456789abcdef}\n",
        "  pii: {env: FERRY_PII_KEY, secret: abc}\n"}) {
    const std::string message =
        ParseError(fmt::format("version: 1\nhmac_keys:\n{}tables: {{}}\n", key_yaml));
    EXPECT_THAT(message, HasSubstr("migration.yaml:3:"));
    EXPECT_THAT(message, HasSubstr("a key is never written in the spec"));
    EXPECT_THAT(message, HasSubstr("{env: VARIABLE}"));
    EXPECT_THAT(message, Not(HasSubstr("0123456789abcdef")));
  }
}

TEST_F(TransformTest, TransformMissingOrWeakKeysFailTheLoad) {
  env_.SetEnvVar("FERRY_PII_KEY", std::nullopt);
  EXPECT_THAT(ParseError("version: 1\nhmac_keys:\n  pii: {env: FERRY_PII_KEY}\n"),
              HasSubstr("migration.yaml:3:14: key `hmac_keys.pii.env`: environment variable "
                        "FERRY_PII_KEY is not set"));
  env_.SetEnvVar("FERRY_PII_KEY", "");
  EXPECT_THAT(ParseError("version: 1\nhmac_keys:\n  pii: {env: FERRY_PII_KEY}\n"),
              HasSubstr("FERRY_PII_KEY is empty"));
  // RFC 4231 test case 2's key, "Jefe": far too short for a key that guards SSNs.
  env_.SetEnvVar("FERRY_PII_KEY", "Jefe");
  EXPECT_THAT(ParseError("version: 1\nhmac_keys:\n  pii: {env: FERRY_PII_KEY}\n"),
              HasSubstr("a key of 4 bytes; HMAC-SHA-256 needs at least 32"));
  env_.SetEnvVar("FERRY_PII_KEY", std::string(64, 'g'));
  EXPECT_THAT(ParseError("version: 1\nhmac_keys:\n  pii: {env: FERRY_PII_KEY, encoding: hex}\n"),
              HasSubstr("is not hex"));
  EXPECT_THAT(ParseError("version: 1\nhmac_keys:\n  pii: {env: A, file: b}\n"),
              HasSubstr("exactly one of"));
}

TEST_F(TransformTest, TransformUnknownKeyNamesAreSuggestedButSecretsNotEchoed) {
  EXPECT_THAT(CompileError(TypeKind::kText, "{hmac: pi}"),
              HasSubstr("no key `pi` under `hmac_keys` (declared: `pii`); did you mean `pii`?"));
  const std::string pasted = CompileError(TypeKind::kText, "{hmac: \"s3cr3t/key+with=symbols\"}");
  EXPECT_THAT(pasted, Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(pasted, HasSubstr("not repeated here"));
}

// ---- Masks, maps, constants, defaults

TEST_F(TransformTest, TransformMaskKeepsTheEndsAndTheLength) {
  EXPECT_EQ(*Through(TypeKind::kText, "{mask: last4}", Text("4111111111111234")),
            Text("************1234"));
  EXPECT_EQ(
      *Through(TypeKind::kText, "{mask: {keep_last: 2, keep_first: 1, char: X}}", Text("abcdef")),
      Text("aXXXef"));
  EXPECT_EQ(*Through(TypeKind::kText, "{mask: all}", Text("secret")), Text("******"));
  // Characters, not bytes: é is one character, and the mask may be one too.
  EXPECT_EQ(*Through(TypeKind::kText, "{mask: {keep_last: 1, char: \"•\"}}", Text("éte")),
            Text("••e"));
  // A value no longer than what is kept is masked whole.
  EXPECT_EQ(*Through(TypeKind::kText, "{mask: last4}", Text("1234")), Text("****"));
  EXPECT_EQ(*Through(TypeKind::kInt64, "{mask: last4}", Value::Int64(123456)), Text("**3456"));
  EXPECT_TRUE(Through(TypeKind::kText, "{mask: last4}", Value::Null())->is_null());
  EXPECT_THAT(CompileError(TypeKind::kText, "{mask: first4}"), HasSubstr("expected `last4`"));
  EXPECT_THAT(CompileError(TypeKind::kText, "{mask: {keep_last: 2, char: ab}}"),
              HasSubstr("expected one character"));
  // Masking a key would make rows collide.
  Result<TableTransform> key_mask =
      Compile("version: 1\ntables:\n  t:\n    columns:\n      id: {mask: last4}\n",
              SingleTable(TypeKind::kText));
  ASSERT_FALSE(key_mask.has_value());
  EXPECT_THAT(key_mask.error().message(), HasSubstr("part of the primary key"));
}

TEST_F(TransformTest, TransformMapWithElseAndTypes) {
  constexpr std::string_view kMap = "{map: {A: active, I: inactive}, else: unknown}";
  EXPECT_EQ(*Through(TypeKind::kText, kMap, Text("A")), Text("active"));
  EXPECT_EQ(*Through(TypeKind::kText, kMap, Text("Z")), Text("unknown"));
  EXPECT_TRUE(Through(TypeKind::kText, kMap, Value::Null())->is_null());
  Result<Value> unmapped = Through(TypeKind::kText, "{map: {A: active}}", Text("Z"));
  ASSERT_FALSE(unmapped.has_value());
  EXPECT_THAT(unmapped.error().message(),
              HasSubstr("column `v` value 'Z': map: not in the map (keys: `A`)"));
  // Keys are read as the column's kind: "01" is the integer 1.
  EXPECT_EQ(*Through(TypeKind::kInt64, "{map: {\"01\": one, \"2\": two}}", Value::Int64(1)),
            Text("one"));
  EXPECT_EQ(*Through(TypeKind::kText, "{map: {Y: true, N: false}, type: bool}", Text("N")),
            Value::Bool(false));
  EXPECT_TRUE(Through(TypeKind::kText, "{map: {X: ~}, else: kept}", Text("X"))->is_null());
  EXPECT_THAT(CompileError(TypeKind::kText, "{map: {Y: maybe}, type: bool}"),
              HasSubstr("`maybe` is not a bool value"));
  EXPECT_THAT(CompileError(TypeKind::kInt64, "{map: {x: one}}"),
              HasSubstr("the key `x` is not a int64 value"));
  EXPECT_THAT(CompileError(TypeKind::kText, "{map: {A: active}, default: unknown}"),
              HasSubstr("write `else:` inside the map's step"));
}

TEST_F(TransformTest, TransformConstantsAndDefaults) {
  EXPECT_EQ(*Through(TypeKind::kText, "{constant: EU}", Text("US")), Text("EU"));
  EXPECT_EQ(*Through(TypeKind::kText, "{constant: EU}", Value::Null()), Text("EU"));
  EXPECT_TRUE(Through(TypeKind::kText, "{constant: ~}", Text("x"))->is_null());
  EXPECT_EQ(*Through(TypeKind::kText, "{constant: 7, type: int64}", Text("x")), Value::Int64(7));
  EXPECT_EQ(*Through(TypeKind::kInt64, "{default: 0}", Value::Null()), Value::Int64(0));
  EXPECT_EQ(*Through(TypeKind::kInt64, "{default: 0}", Value::Int64(5)), Value::Int64(5));
  EXPECT_THAT(CompileError(TypeKind::kInt64, "{default: none}"),
              HasSubstr("`none` is not a int64 value"));
  Result<TableTransform> t = CompileSingle(TypeKind::kInt64, "{default: 0}");
  ASSERT_TRUE(t.has_value());
  EXPECT_FALSE(t->output().columns[1].nullable);
  EXPECT_EQ(t->output().columns[1].native_type, "");  // the source declared none; kept
}

TEST_F(TransformTest, TransformAddedColumns) {
  Result<TableTransform> t = Compile(R"(
version: 1
tables:
  t:
    columns:
      v: {sha256: true}
    add:
      source_system: {constant: legacy}
      loaded: {constant: "2024-06-01", type: date}
      v_last2: {from: v, steps: [{mask: last2}]}
      v_copy: {from: V}
)",
                                     SingleTable(TypeKind::kText, "text"));
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  const TableInfo& out = t->output();
  ASSERT_EQ(out.columns.size(), 6u);
  EXPECT_EQ(out.columns[2].name, "source_system");
  EXPECT_EQ(out.columns[2].native_type, "varchar");
  EXPECT_EQ(out.columns[3].kind, TypeKind::kDate);
  EXPECT_EQ(out.columns[3].native_type, "date");
  EXPECT_EQ(out.columns[5].native_type, "text");
  Row row{Value::Int64(1), Text("abcdef")}, result;
  ASSERT_TRUE(*t->ApplyConsuming(&row, &result));
  EXPECT_EQ(result, (Row{Value::Int64(1), Text(Sha256HexOf("abcdef")), Text("legacy"),
                         Date("2024-06-01"), Text("****ef"), Text("abcdef")}));
  // v reaches the target in clear through v_copy, so it is not hidden.
  EXPECT_FALSE(t->hidden(1));

  EXPECT_THAT(ParseError("version: 1\ntables:\n  t:\n    add:\n      x: {from: v, steps: "
                         "[{rename: y}]}\n"),
              HasSubstr("does not apply to an added column"));
  EXPECT_THAT(ParseError("version: 1\ntables:\n  t:\n    add:\n      x: {typ: text}\n"),
              HasSubstr("did you mean `type`?"));
}

// ---- Dates, times and zones

TEST_F(TransformTest, TransformDateAndTimeFormats) {
  EXPECT_EQ(*Through(TypeKind::kText, "{date_format: \"%d/%m/%Y\"}", Text("31/12/2023")),
            Date("2023-12-31"));
  EXPECT_EQ(*Through(TypeKind::kText, "{date_format: \"%d/%m/%Y\"}", Text("1/2/2023")),
            Date("2023-02-01"));
  EXPECT_EQ(*Through(TypeKind::kText, "{date_format: \"%Y%m%d\"}", Text("20240229")),
            Date("2024-02-29"));
  EXPECT_EQ(*Through(TypeKind::kText, "{date_format: \"%d %b %y\"}", Text("05 SEP 69")),
            Date("1969-09-05"));
  EXPECT_EQ(*Through(TypeKind::kText, "{date_format: \"%a, %d %B %Y\"}",
                     Text("Thursday, 29 February 2024")),
            Date("2024-02-29"));
  EXPECT_EQ(*Through(TypeKind::kText, "{date_format: [\"%d/%m/%Y\", \"%F\"]}", Text("2024-03-01")),
            Date("2024-03-01"));
  EXPECT_EQ(*Through(TypeKind::kText, "{time_format: \"%I:%M %p\"}", Text("12:05 AM")),
            *ParseTime("00:05:00"));
  EXPECT_EQ(*Through(TypeKind::kText, "{timestamp_format: \"%d.%m.%Y %H:%M:%S.%f\"}",
                     Text("02.01.2024 03:04:05.123")),
            Timestamp("2024-01-02 03:04:05.123"));
  EXPECT_EQ(*Through(TypeKind::kText, "{timestamptz_format: \"%Y-%m-%d %H:%M%z\"}",
                     Text("2024-01-02 08:34+05:30")),
            TimestampTz("2024-01-02 03:04:00Z"));

  Result<Value> february =
      Through(TypeKind::kText, "{date_format: \"%d/%m/%Y\"}", Text("31/02/2023"));
  ASSERT_FALSE(february.has_value());
  EXPECT_THAT(february.error().message(),
              HasSubstr("column `v` value '31/02/2023': date_format: does not match `%d/%m/%Y`: "
                        "day 31 is out of range for 2023-02"));
  EXPECT_FALSE(
      Through(TypeKind::kText, "{date_format: \"%d/%m/%Y\"}", Text("31/12/2023 ")).has_value());
  EXPECT_FALSE(Through(TypeKind::kText, "{date_format: \"%a %d/%m/%Y\"}", Text("Mon 29/02/2024"))
                   .has_value());
  Result<Value> neither =
      Through(TypeKind::kText, "{date_format: [\"%d/%m/%Y\", \"%F\"]}", Text("March 1"));
  ASSERT_FALSE(neither.has_value());
  EXPECT_THAT(neither.error().message(), HasSubstr("matches none of the formats"));
}

TEST_F(TransformTest, TransformFormatErrorsNameTheFormat) {
  EXPECT_THAT(CompileError(TypeKind::kText, "{date_format: \"%d/%m\"}"),
              HasSubstr("format `%d/%m`: expected a year"));
  EXPECT_THAT(CompileError(TypeKind::kText, "{date_format: \"%d/%m/%Q\"}"),
              HasSubstr("position 7: `%Q` is not a directive"));
  EXPECT_THAT(CompileError(TypeKind::kText, "{timestamp_format: \"%F %H:%M%z\"}"),
              HasSubstr("only timestamptz_format keeps"));
  EXPECT_THAT(CompileError(TypeKind::kText, "{date_format: \"%F %H\"}"),
              HasSubstr("use timestamp_format"));
  EXPECT_THAT(CompileError(TypeKind::kDate, "{date_format: \"%F\"}"),
              HasSubstr("`date_format` applies to text (it parses text into a date); column `v` "
                        "is date"));
}

TEST_F(TransformTest, TransformTimeZoneToUtcAndBack) {
  constexpr std::string_view kParis = "{timezone: Europe/Paris}";
  EXPECT_EQ(*Through(TypeKind::kTimestamp, kParis, Timestamp("2024-01-15 12:00:00.5")),
            TimestampTz("2024-01-15 11:00:00.5Z"));
  EXPECT_EQ(*Through(TypeKind::kTimestamp, kParis, Timestamp("2024-07-15 12:00:00")),
            TimestampTz("2024-07-15 10:00:00Z"));
  EXPECT_EQ(*Through(TypeKind::kTimestamp, kParis, Timestamp("1900-01-01 00:00:00")),
            TimestampTz("1899-12-31 23:50:39Z"));  // Paris mean time, +00:09:21
  EXPECT_EQ(*Through(TypeKind::kTimestamp, kParis, Value::Timestamp(kTimestampInfinity)),
            Value::TimestampTz(kTimestampInfinity));
  EXPECT_EQ(*Through(TypeKind::kTimestampTz, kParis, TimestampTz("2024-07-15 10:00:00Z")),
            Timestamp("2024-07-15 12:00:00"));
  EXPECT_EQ(*Through(TypeKind::kTimestampTz, "{timezone: America/New_York}",
                     TimestampTz("2024-01-01 03:00:00Z")),
            Timestamp("2023-12-31 22:00:00"));

  // 2023-03-26 02:30 never happened in Paris; 2023-10-29 02:30 happened twice.
  Result<Value> skipped = Through(TypeKind::kTimestamp, kParis, Timestamp("2023-03-26 02:30:00"));
  ASSERT_FALSE(skipped.has_value());
  EXPECT_THAT(skipped.error().message(), HasSubstr("does not exist in Europe/Paris"));
  EXPECT_EQ(*Through(TypeKind::kTimestamp, "{timezone: Europe/Paris, nonexistent: shift_forward}",
                     Timestamp("2023-03-26 02:30:00")),
            TimestampTz("2023-03-26 01:30:00Z"));  // 03:30 CEST
  Result<Value> repeated = Through(TypeKind::kTimestamp, kParis, Timestamp("2023-10-29 02:30:00"));
  ASSERT_FALSE(repeated.has_value());
  EXPECT_THAT(repeated.error().message(),
              HasSubstr("happened twice in Europe/Paris (at +02:00 and at +01:00)"));
  EXPECT_EQ(*Through(TypeKind::kTimestamp, "{timezone: Europe/Paris, ambiguous: earlier}",
                     Timestamp("2023-10-29 02:30:00")),
            TimestampTz("2023-10-29 00:30:00Z"));
  EXPECT_EQ(*Through(TypeKind::kTimestamp, "{timezone: Europe/Paris, ambiguous: later}",
                     Timestamp("2023-10-29 02:30:00")),
            TimestampTz("2023-10-29 01:30:00Z"));

  EXPECT_THAT(CompileError(TypeKind::kTimestamp, "{timezone: Europe/Pariss}"),
              HasSubstr("unknown time zone `Europe/Pariss`"));
  EXPECT_THAT(CompileError(TypeKind::kText, "{timezone: UTC}"),
              HasSubstr("parse text first with timestamp_format"));
  EXPECT_THAT(CompileError(TypeKind::kTimestamp, "{timezone: UTC, ambigous: earlier}"),
              HasSubstr("`ambigous` is not an option of `timezone`; its options are `ambiguous`, "
                        "`nonexistent`; did you mean `ambiguous`?"));
  EXPECT_THAT(CompileError(TypeKind::kTimestamp, "{timezone: UTC, ambiguous: first}"),
              HasSubstr("expected one of `reject`, `earlier`, `later`, got `first`"));
}

// ---- Chains

TEST_F(TransformTest, TransformStepsApplyInListOrder) {
  // NULL -> "0" -> 0 -> "0" hashed; the other order would leave NULL to the cast and then
  // replace it after.
  EXPECT_EQ(
      *Through(TypeKind::kText, "[{default: \"0\"}, {cast: int64}, {sha256: true}]", Value::Null()),
      Text(Sha256HexOf("0")));
  EXPECT_FALSE(
      Through(TypeKind::kText, "[{cast: int64}, {default: \"0\"}]", Text(" 7")).has_value());
  Result<TableTransform> t =
      CompileSingle(TypeKind::kText, "[{rename: amount}, {cast: decimal}, {cast: text}]");
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  EXPECT_EQ(t->output().columns[1].name, "amount");
  EXPECT_EQ(t->output().columns[1].kind, TypeKind::kText);
  Row out;
  ASSERT_TRUE(*t->Apply(Row{Value::Int64(1), Text("001.50")}, &out));
  EXPECT_EQ(out[1], Text("1.5"));
  EXPECT_THAT(CompileError(TypeKind::kText, "[{rename: a}, {rename: b}]"),
              HasSubstr("already renamed to `a`"));
  EXPECT_THAT(CompileError(TypeKind::kText, "[{drop: true}, {sha256: true}]"),
              HasSubstr("cannot be combined"));
  EXPECT_THAT(CompileError(TypeKind::kText, "{cast: int64, sha256: true}"),
              HasSubstr("one step per mapping"));
  // A step sees the kind the previous one produced.
  EXPECT_THAT(CompileError(TypeKind::kText, "[{cast: date}, {date_format: \"%F\"}]"),
              HasSubstr("column `v` is date at this step"));
}

// ---- Spec errors

TEST_F(TransformTest, TransformUnknownTransformsSuggestTheClosest) {
  EXPECT_EQ(CompileError(TypeKind::kText, "{sha265: true}"),
            "migration.yaml:7:19: key `tables.t.columns.v.sha265`: `sha265` is not a transform; "
            "expected one of `rename`, `drop`, `cast`, `sha256`, `hmac`, `mask`, `map`, "
            "`date_format`, `time_format`, `timestamp_format`, `timestamptz_format`, `timezone`, "
            "`constant`, `default`; did you mean `sha256`?");
  EXPECT_THAT(CompileError(TypeKind::kText, "dorp"), HasSubstr("got `dorp`; did you mean `drop`?"));
  EXPECT_THAT(CompileError(TypeKind::kText, "sha256"),
              HasSubstr("`sha256` takes an argument: write {sha256: ...}"));
  EXPECT_THAT(CompileError(TypeKind::kText, "{date_fromat: \"%F\"}"),
              HasSubstr("did you mean `date_format`?"));
  EXPECT_THAT(ParseError("version: 1\ntables:\n  t:\n    colums: {}\n"),
              HasSubstr("did you mean `columns`?"));
  EXPECT_THAT(ParseError("version: 1\ntables:\n  t:\n    columns:\n      v: [drop]\n"),
              HasSubstr("migration.yaml:5:11: key `tables.t.columns.v[0]`"));
}

TEST_F(TransformTest, TransformVersionIsRequired) {
  EXPECT_THAT(ParseError("tables: {}\n"), HasSubstr("expected `version: 1`"));
  EXPECT_THAT(ParseError("version: 2\n"), HasSubstr("expected 1"));
  EXPECT_THAT(ParseError("version: 1\nversoin: 1\n"), HasSubstr("did you mean `version`?"));
  EXPECT_TRUE(Parse("version: 1\n").has_value());
}

// ---- Filters

// Compiles a filter on a table of every comparable kind and returns, for each row, whether it
// is kept.
class TransformFilterTest : public TransformTest {
 protected:
  static TableInfo Table() {
    return TableInfo{.name = "t",
                     .columns = {{.name = "id", .kind = TypeKind::kInt64},
                                 {.name = "name", .kind = TypeKind::kText},
                                 {.name = "balance", .kind = TypeKind::kDecimal},
                                 {.name = "rate", .kind = TypeKind::kFloat64},
                                 {.name = "opened", .kind = TypeKind::kDate},
                                 {.name = "at", .kind = TypeKind::kTimestamp},
                                 {.name = "active", .kind = TypeKind::kBool},
                                 {.name = "Order Id", .kind = TypeKind::kInt64}},
                     .primary_key = {"id"}};
  }
  static Row RowOf(int64_t id, std::optional<std::string> name, std::optional<std::string> balance,
                   std::optional<double> rate = std::nullopt,
                   std::optional<std::string> opened = std::nullopt,
                   std::optional<std::string> at = std::nullopt,
                   std::optional<bool> active = std::nullopt) {
    return Row{Value::Int64(id),
               name ? Text(*name) : Value::Null(),
               balance ? Decimal(*balance) : Value::Null(),
               rate ? Value::Float64(*rate) : Value::Null(),
               opened ? Date(*opened) : Value::Null(),
               at ? Timestamp(*at) : Value::Null(),
               active ? Value::Bool(*active) : Value::Null(),
               Value::Int64(id * 10)};
  }
  Result<TableTransform> Filter(std::string_view expression) {
    std::string quoted;
    for (char c : expression) {
      if (c == '"' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    return Compile(fmt::format("version: 1\ntables:\n  t:\n    filter: \"{}\"\n", quoted), Table());
  }
  // The ids of `rows` the filter keeps.
  std::vector<int64_t> Kept(std::string_view expression, const std::vector<Row>& rows) {
    Result<TableTransform> t = Filter(expression);
    EXPECT_TRUE(t.has_value()) << expression << ": " << t.error().ToString();
    std::vector<int64_t> ids;
    if (!t.has_value()) return ids;
    for (const Row& row : rows) {
      Row out;
      Result<bool> kept = t->Apply(row, &out);
      EXPECT_TRUE(kept.has_value());
      if (kept.has_value() && *kept) ids.push_back(row[0].int64_value());
    }
    return ids;
  }
  std::string FilterError(std::string_view expression) {
    Result<TableTransform> t = Filter(expression);
    EXPECT_FALSE(t.has_value()) << expression;
    return t.has_value() ? std::string() : t.error().message();
  }
};

using Ids = std::vector<int64_t>;

TEST_F(TransformFilterTest, TransformFilterComparesByKind) {
  const std::vector<Row> rows = {
      RowOf(1, "alice", "10.50", 1.5, "2024-01-01", "2024-01-01 10:00:00", true),
      RowOf(2, "bob", "-3", 0.1, "2023-06-30", "2023-06-30 00:00:00", false),
      RowOf(3, "Carol", "10.5", 2.0, "2025-02-28", "2025-02-28 23:59:59", true),
      RowOf(4, std::nullopt, std::nullopt)};
  EXPECT_EQ(Kept("balance = 10.5", rows), (Ids{1, 3}));  // 10.50 = 10.5
  EXPECT_EQ(Kept("balance > 10", rows), (Ids{1, 3}));
  EXPECT_EQ(Kept("balance >= -3.0", rows), (Ids{1, 2, 3}));
  EXPECT_EQ(Kept("balance < 10.55", rows), (Ids{1, 2, 3}));  // 10.5 is 10.50 < 10.55
  EXPECT_EQ(Kept("balance > 10.499", rows), (Ids{1, 3}));
  EXPECT_EQ(Kept("balance < '0'", rows), (Ids{2}));
  EXPECT_EQ(Kept("rate = 0.1", rows), (Ids{2}));  // the literal rounds like the column did
  EXPECT_EQ(Kept("rate < balance", rows), (Ids{1, 3}));
  EXPECT_EQ(Kept("id <= 2", rows), (Ids{1, 2}));
  EXPECT_EQ(Kept("id != 2", rows), (Ids{1, 3, 4}));
  EXPECT_EQ(Kept("name < 'a'", rows), (Ids{3}));  // bytewise: 'C' < 'a'
  EXPECT_EQ(Kept("name = 'bob'", rows), (Ids{2}));
  EXPECT_EQ(Kept("opened >= DATE '2024-01-01'", rows), (Ids{1, 3}));
  EXPECT_EQ(Kept("opened < '2024-01-01'", rows), (Ids{2}));
  EXPECT_EQ(Kept("at >= DATE '2025-02-28'", rows), (Ids{3}));
  EXPECT_EQ(Kept("at = opened", rows), (Ids{2}));  // midnight
  EXPECT_EQ(Kept("at < TIMESTAMP '2024-01-01 10:00:00.000001'", rows), (Ids{1, 2}));
  EXPECT_EQ(Kept("active", rows), (Ids{1, 3}));
  EXPECT_EQ(Kept("active = FALSE", rows), (Ids{2}));
  EXPECT_EQ(Kept("\"Order Id\" = 20", rows), (Ids{2}));
  EXPECT_EQ(Kept("name IN ('alice', 'Carol')", rows), (Ids{1, 3}));
  EXPECT_EQ(Kept("id NOT IN (1, 3)", rows), (Ids{2, 4}));
  EXPECT_EQ(Kept("name = 'it''s'", {RowOf(9, "it's", std::nullopt)}), (Ids{9}));
}

TEST_F(TransformFilterTest, TransformFilterNullIsUnknownAndUnknownIsDropped) {
  const std::vector<Row> rows = {RowOf(1, "a", "5"), RowOf(2, "b", std::nullopt),
                                 RowOf(3, std::nullopt, "-1"),
                                 RowOf(4, std::nullopt, std::nullopt)};
  EXPECT_EQ(Kept("balance >= 0", rows), (Ids{1}));
  EXPECT_EQ(Kept("NOT balance >= 0", rows), (Ids{3}));  // NOT unknown is unknown
  EXPECT_EQ(Kept("balance >= 0 OR balance IS NULL", rows), (Ids{1, 2, 4}));
  EXPECT_EQ(Kept("balance IS NOT NULL", rows), (Ids{1, 3}));
  EXPECT_EQ(Kept("name <> 'a'", rows), (Ids{2}));
  // unknown OR true is true; unknown AND false is false, so NOT of it is true.
  EXPECT_EQ(Kept("name = 'a' OR balance < 0", rows), (Ids{1, 3}));
  EXPECT_EQ(Kept("NOT (name = 'zz' AND balance > 0)", rows), (Ids{1, 2, 3}));
  EXPECT_EQ(Kept("name IN ('a', 'b')", rows), (Ids{1, 2}));
  EXPECT_EQ(Kept("name NOT IN ('a')", rows), (Ids{2}));
}

TEST_F(TransformFilterTest, TransformFilterPrecedenceIsNotAndOr) {
  const std::vector<Row> rows = {RowOf(1, "a", "1"), RowOf(2, "b", "2"), RowOf(3, "c", "3")};
  // AND binds tighter than OR: id = 1 OR (id = 2 AND name = 'x').
  EXPECT_EQ(Kept("id = 1 OR id = 2 AND name = 'x'", rows), (Ids{1}));
  EXPECT_EQ(Kept("(id = 1 OR id = 2) AND name = 'b'", rows), (Ids{2}));
  // NOT binds tighter than AND: (NOT id = 1) AND id < 3.
  EXPECT_EQ(Kept("NOT id = 1 AND id < 3", rows), (Ids{2}));
  EXPECT_EQ(Kept("NOT (id = 1 OR id = 3)", rows), (Ids{2}));
  EXPECT_EQ(Kept("not not id = 3", rows), (Ids{3}));
}

TEST_F(TransformFilterTest, TransformFilterErrorsPointIntoTheExpression) {
  EXPECT_EQ(FilterError("country <> 'US' AND"),
            "migration.yaml:4:13: key `tables.t.filter`: position 20: expected a column or a "
            "value, got the end of the expression");
  EXPECT_THAT(FilterError("balance >= "), HasSubstr("position 12: expected a column or a value "
                                                    "after `>=`"));
  EXPECT_THAT(FilterError("name = 'abc"), HasSubstr("position 8: expected a closing '"));
  EXPECT_THAT(FilterError("(id = 1"), HasSubstr("position 8: expected `)` to close the `(` at "
                                                "position 1"));
  EXPECT_THAT(FilterError("id = 1 name = 'x'"), HasSubstr("position 8: expected AND, OR or the "
                                                          "end of the expression, got `name`"));
  EXPECT_THAT(FilterError("balance = NULL"), HasSubstr("position 11: a comparison with NULL is "
                                                       "never true"));
  EXPECT_THAT(FilterError("id IN (1, NULL)"), HasSubstr("position 11: NULL in an IN list"));
  EXPECT_THAT(FilterError("id ; 1"), HasSubstr("position 4: unexpected character `;`"));
  EXPECT_THAT(FilterError("id IS 1"), HasSubstr("position 7: expected NULL after IS"));
  EXPECT_THAT(FilterError("5"), HasSubstr("expected a comparison"));
  EXPECT_THAT(FilterError(""), HasSubstr("empty expression"));
  // Binding errors: columns and kinds.
  EXPECT_THAT(FilterError("balanse > 0"), HasSubstr("position 1: table `t` has no column "
                                                    "`balanse`; did you mean `balance`?"));
  EXPECT_THAT(FilterError("name > 5"),
              HasSubstr("position 6: cannot compare `name` (text) with a int64 value"));
  EXPECT_THAT(FilterError("opened = 'soon'"),
              HasSubstr("position 10: 'soon' is compared with a date but does not read as one"));
  EXPECT_THAT(FilterError("name"), HasSubstr("`name` is text, not a condition"));
  EXPECT_THAT(FilterError("opened > DATE '2024-02-30'"), HasSubstr("position 10:"));
}

// ---- Rejects

class TransformRejectTest : public TransformTest {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/ferry-rejects-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    path_ = dir_ + "/rejects.jsonl";
  }
  void TearDown() override { Env::Default()->RemoveAll(dir_).IgnoreError(); }

  std::vector<Json> Lines() const {
    std::vector<Json> lines;
    Result<std::string> text = Env::Default()->ReadFile(path_);
    EXPECT_TRUE(text.has_value());
    if (!text.has_value()) return lines;
    size_t start = 0;
    while (start < text->size()) {
      const size_t end = text->find('\n', start);
      EXPECT_NE(end, std::string::npos) << "the last line is not terminated";
      if (end == std::string::npos) break;
      Result<Json> line = ParseJson(std::string_view(*text).substr(start, end - start), path_);
      EXPECT_TRUE(line.has_value());
      if (line.has_value()) lines.push_back(*line);
      start = end + 1;
    }
    return lines;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(TransformRejectTest, TransformRejectLinesNameTheRowAndHidePii) {
  Result<TableTransform> t = Compile(kDocExample, Customers());
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  Result<std::unique_ptr<RejectSink>> sink = RejectSink::Open(path_, -1);
  ASSERT_TRUE(sink.has_value()) << sink.error().ToString();
  Row bad = CustomerRow(5);
  bad[8] = Text("31/02/2023");
  Row out;
  std::string column;
  Result<bool> result = t->Apply(bad, &out, &column);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(column, "opened");
  ASSERT_TRUE((*sink)->Reject(*t, bad, column, result.error()).ok());
  EXPECT_EQ((*sink)->count(), 1);

  std::vector<Json> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  const Json& line = lines[0];
  EXPECT_EQ(line["table"], "customers");
  EXPECT_EQ(line["key"], "id=5");
  EXPECT_EQ(line["column"], "opened");
  EXPECT_THAT(line["reason"].get<std::string>(), HasSubstr("day 31 is out of range for 2023-02"));
  EXPECT_EQ(line["row"]["opened"], "31/02/2023");
  EXPECT_EQ(line["row"]["amount"], "12.50");
  EXPECT_EQ(line["row"]["booked_at"], "2024-01-15 12:00:00");
  EXPECT_TRUE(line["row"]["phone"].is_null());
  // What the spec keeps from the target stays out of the reject file.
  for (std::string_view hidden : {"ssn", "email", "card_number", "notes", "region"}) {
    EXPECT_FALSE(line["row"].contains(hidden)) << hidden;
  }
  EXPECT_EQ(line["hidden"], (Json{"ssn", "email", "card_number", "notes", "region"}));
  const std::string file = *Env::Default()->ReadFile(path_);
  EXPECT_THAT(file, Not(HasSubstr("123-45-6789")));
  EXPECT_THAT(file, Not(HasSubstr("4111111111111234")));
}

TEST_F(TransformRejectTest, TransformHiddenColumnsKeepTheirValuesOutOfMessages) {
  Result<TableTransform> t = CompileSingle(TypeKind::kText, "[{cast: int64}, {hmac: pii}]");
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  EXPECT_TRUE(t->hidden(1));
  Row out;
  Result<bool> result = t->Apply(Row{Value::Int64(1), Text("123-45-6789")}, &out);
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message(), HasSubstr("column `v` value [hidden]: cast to int64 "
                                                  "failed"));
  EXPECT_THAT(result.error().message(), Not(HasSubstr("123")));
}

TEST_F(TransformRejectTest, TransformMaxRejectsBoundsTheCopy) {
  Result<TableTransform> t = CompileSingle(TypeKind::kText, "{cast: int64}");
  ASSERT_TRUE(t.has_value());
  const Status why = InvalidArgument("column `v` value 'x': cast to int64: nope");
  {
    Result<std::unique_ptr<RejectSink>> sink = RejectSink::Open(path_, 2);
    ASSERT_TRUE(sink.has_value());
    EXPECT_TRUE((*sink)->Reject(*t, Row{Value::Int64(1), Text("x")}, "v", why).ok());
    EXPECT_TRUE((*sink)->Reject(*t, Row{Value::Int64(2), Text("x")}, "v", why).ok());
    Status third = (*sink)->Reject(*t, Row{Value::Int64(3), Text("x")}, "v", why);
    EXPECT_EQ(third.code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(third.message(), HasSubstr("3 rows rejected, more than the 2 allowed "
                                           "(--max-rejects); the last: table `t` key id=3"));
    EXPECT_THAT(third.message(), HasSubstr(path_));
    EXPECT_EQ((*sink)->count(), 3);
    EXPECT_EQ(Lines().size(), 3u);  // the row that broke the bound is in the file too
  }
  {
    // Opening again starts an empty file; 0 stops at the first reject.
    Result<std::unique_ptr<RejectSink>> sink = RejectSink::Open(path_, 0);
    ASSERT_TRUE(sink.has_value());
    EXPECT_EQ(Lines().size(), 0u);
    EXPECT_FALSE((*sink)->Reject(*t, Row{Value::Int64(1), Text("x")}, "v", why).ok());
  }
  EXPECT_FALSE(RejectSink::Open(path_, -2).has_value());
  EXPECT_FALSE(RejectSink::Open(dir_ + "/no/such/dir/rejects.jsonl", -1).has_value());
}

// /dev/null and other special files are written to, never replaced by a regular file (as
// root, replacing /dev/null would break the machine); a FIFO stands in for /dev/null here.
TEST_F(TransformRejectTest, TransformRejectSinkNeverReplacesSpecialFiles) {
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Result<std::unique_ptr<RejectSink>> sink = RejectSink::Open(fifo, -1);
  ASSERT_TRUE(sink.has_value()) << sink.error().ToString();
  struct stat st{};
  ASSERT_EQ(stat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));

  // An empty path counts and bounds, and writes nothing.
  Result<TableTransform> t = CompileSingle(TypeKind::kText, "{cast: int64}");
  ASSERT_TRUE(t.has_value());
  Result<std::unique_ptr<RejectSink>> counter = RejectSink::Open("", 1);
  ASSERT_TRUE(counter.has_value()) << counter.error().ToString();
  EXPECT_TRUE(
      (*counter)->Reject(*t, Row{Value::Int64(1), Text("x")}, "v", InvalidArgument("x")).ok());
  Status second =
      (*counter)->Reject(*t, Row{Value::Int64(2), Text("x")}, "v", InvalidArgument("x"));
  EXPECT_EQ(second.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.message(), Not(HasSubstr("every rejected row is in")));
  EXPECT_EQ((*counter)->count(), 2);
}

TEST_F(TransformRejectTest, TransformRejectWriteFailuresAreReported) {
  Result<TableTransform> t = CompileSingle(TypeKind::kText, "{cast: int64}");
  ASSERT_TRUE(t.has_value());
  Result<std::unique_ptr<RejectSink>> sink = RejectSink::Open(path_, -1, &env_);
  ASSERT_TRUE(sink.has_value());
  env_.FailNextWrites(1, Unavailable("disk full"));
  Status failed = (*sink)->Reject(*t, Row{Value::Int64(1), Text("x")}, "v", InvalidArgument("x"));
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable);
  EXPECT_THAT(failed.message(), HasSubstr("cannot write the reject file"));
  EXPECT_EQ((*sink)->count(), 0);
}

TEST_F(TransformRejectTest, TransformRejectSinkIsThreadSafe) {
  Result<TableTransform> t = CompileSingle(TypeKind::kText, "{cast: int64}");
  ASSERT_TRUE(t.has_value());
  Result<std::unique_ptr<RejectSink>> sink = RejectSink::Open(path_, -1);
  ASSERT_TRUE(sink.has_value());
  std::vector<std::thread> threads;
  for (int thread = 0; thread < 4; ++thread) {
    threads.emplace_back([&, thread] {
      for (int i = 0; i < 50; ++i) {
        Row row{Value::Int64(thread * 1000 + i), Text(std::string(100, 'x'))};
        EXPECT_TRUE((*sink)->Reject(*t, row, "v", InvalidArgument("bad")).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ((*sink)->count(), 200);
  std::vector<Json> lines = Lines();
  ASSERT_EQ(lines.size(), 200u);
  std::set<std::string> keys;
  for (const Json& line : lines) keys.insert(line["key"].get<std::string>());
  EXPECT_EQ(keys.size(), 200u);
}

// ---- TransformRows

class VectorReader : public RowReader {
 public:
  explicit VectorReader(std::vector<std::vector<Row>> batches) : batches_(std::move(batches)) {}
  Result<bool> Next(std::vector<Row>* batch) override {
    if (next_ == batches_.size()) return false;
    *batch = batches_[next_++];
    return true;
  }

 private:
  std::vector<std::vector<Row>> batches_;
  size_t next_ = 0;
};

TEST_F(TransformRejectTest, TransformRowsFiltersRejectsAndSkipsEmptyBatches) {
  Result<TableTransform> compiled = Compile(R"(
version: 1
tables:
  t:
    rename: u
    filter: "id <> 3 AND id < 100"
    columns:
      v: [{cast: int64}, {rename: n}]
)",
                                            SingleTable(TypeKind::kText));
  ASSERT_TRUE(compiled.has_value()) << compiled.error().ToString();
  auto t = std::make_shared<TableTransform>(*compiled);
  auto batches = [] {
    return std::vector<std::vector<Row>>{
        {Row{Value::Int64(1), Text("10")}, Row{Value::Int64(2), Text("x")},
         Row{Value::Int64(3), Text("30")}},
        {Row{Value::Int64(100), Text("1")}, Row{Value::Int64(101), Text("1")}},  // all filtered
        {Row{Value::Int64(4), Text("40")}, Row{Value::Int64(5), Value::Null()}}};
  };
  Result<std::unique_ptr<RejectSink>> sink = RejectSink::Open(path_, -1);
  ASSERT_TRUE(sink.has_value());
  std::unique_ptr<RowReader> reader =
      TransformRows(std::make_unique<VectorReader>(batches()), t, sink->get());
  std::vector<Row> batch;
  std::vector<std::vector<Row>> seen;
  while (true) {
    Result<bool> more = reader->Next(&batch);
    ASSERT_TRUE(more.has_value()) << more.error().ToString();
    if (!*more) break;
    EXPECT_FALSE(batch.empty());
    seen.push_back(batch);
  }
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], (std::vector<Row>{Row{Value::Int64(1), Value::Int64(10)}}));
  EXPECT_EQ(seen[1], (std::vector<Row>{Row{Value::Int64(4), Value::Int64(40)},
                                       Row{Value::Int64(5), Value::Null()}}));
  EXPECT_EQ((*sink)->count(), 1);
  std::vector<Json> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["key"], "id=2");
  EXPECT_EQ(lines[0]["row"]["v"], "x");  // the source row, intact

  // Without a sink the first rejected row fails the read, naming it.
  std::unique_ptr<RowReader> strict =
      TransformRows(std::make_unique<VectorReader>(batches()), t, nullptr);
  Result<bool> first = strict->Next(&batch);
  ASSERT_FALSE(first.has_value());
  EXPECT_THAT(first.error().message(),
              HasSubstr("table `t` row id=2: column `v` value 'x': cast to int64:"));
}

TEST_F(TransformRejectTest, TransformRowsPassesIdentityThrough) {
  auto t = std::make_shared<TableTransform>(TableTransform::Identity(SingleTable(TypeKind::kText)));
  EXPECT_TRUE(t->identity());
  auto reader = std::make_unique<VectorReader>(std::vector<std::vector<Row>>{});
  RowReader* raw = reader.get();
  EXPECT_EQ(TransformRows(std::move(reader), t, nullptr).get(), raw);
}

TEST_F(TransformRejectTest, TransformApplyConsumingLeavesRejectedRowsIntact) {
  Result<TableTransform> t = Compile(R"(
version: 1
tables:
  t:
    columns:
      v: {cast: int64}
    add:
      w: {from: id}
)",
                                     SingleTable(TypeKind::kText));
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  Row row{Value::Int64(7), Text("nope")}, out;
  EXPECT_FALSE(t->ApplyConsuming(&row, &out).has_value());
  EXPECT_EQ(row, (Row{Value::Int64(7), Text("nope")}));
  Row good{Value::Int64(8), Text("9")};
  ASSERT_TRUE(*t->ApplyConsuming(&good, &out));
  // id feeds two output columns, so it was copied, not moved.
  EXPECT_EQ(out, (Row{Value::Int64(8), Value::Int64(9), Value::Int64(8)}));
}

// ---- The documented SQL recipes, checked against the engines themselves

class TransformPostgresTest : public testing::PostgresTest {};

TEST_F(TransformPostgresTest, TransformHashesReproduceWithPgcrypto) {
  ASSERT_TRUE(Execute("CREATE EXTENSION IF NOT EXISTS pgcrypto").ok());
  FaultInjectionEnv env(Env::Default());
  env.SetEnvVar("FERRY_PII_KEY", std::string(kPiiKey));
  TableInfo table{.name = "people",
                  .columns = {{.name = "ssn", .kind = TypeKind::kText},
                              {.name = "email", .kind = TypeKind::kText},
                              {.name = "n", .kind = TypeKind::kInt64}}};
  Result<TransformSpec> spec = TransformSpec::Parse(R"yaml(
version: 1
hmac_keys:
  pii: {env: FERRY_PII_KEY}
tables:
  people:
    columns:
      ssn: {hmac: pii}
      email: {sha256: true}
      n: {hmac: pii}
)yaml",
                                                    "spec.yaml", &env);
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  Result<TableTransform> t = spec->ForTable(table, "postgresql");
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  Row out;
  ASSERT_TRUE(
      *t->Apply(Row{Text("123-45-6789"), Text("zoë@example.com"), Value::Int64(-42)}, &out));
  Result<testing::Rows> rows =
      Query(fmt::format("SELECT encode(hmac('123-45-6789'::text, '{0}', 'sha256'), 'hex'), "
                        "encode(sha256(convert_to('zoë@example.com', 'UTF8')), 'hex'), "
                        "encode(hmac((-42)::bigint::text, '{0}', 'sha256'), 'hex')",
                        kPiiKey));
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(out[0], Text(*(*rows)[0][0]));
  EXPECT_EQ(out[1], Text(*(*rows)[0][1]));
  EXPECT_EQ(out[2], Text(*(*rows)[0][2]));
}

// The filter language is a subset of SQL with SQL's semantics: the same expressions select the
// same rows in PostgreSQL.
TEST_F(TransformPostgresTest, TransformFiltersSelectWhatPostgresSelects) {
  ASSERT_TRUE(Execute("CREATE TABLE t (id bigint, name text, balance numeric(12,2), opened date, "
                      "active boolean);"
                      "INSERT INTO t VALUES (1, 'a', 1.50, '2024-01-01', true), "
                      "(2, 'b', NULL, '2023-06-30', false), (3, NULL, -2, NULL, NULL), "
                      "(4, NULL, NULL, '2025-02-28', true), (5, 'B', 0, '2024-01-02', NULL), "
                      "(6, 'it''s', 100.25, '2024-01-01', false)")
                  .ok());
  const TableInfo table{.name = "t",
                        .columns = {{.name = "id", .kind = TypeKind::kInt64},
                                    {.name = "name", .kind = TypeKind::kText},
                                    {.name = "balance", .kind = TypeKind::kDecimal},
                                    {.name = "opened", .kind = TypeKind::kDate},
                                    {.name = "active", .kind = TypeKind::kBool}}};
  auto text = [](const char* s) { return s == nullptr ? Value::Null() : Text(s); };
  auto decimal = [](const char* s) { return s == nullptr ? Value::Null() : Decimal(s); };
  auto date = [](const char* s) { return s == nullptr ? Value::Null() : Date(s); };
  auto boolean = [](int b) { return b < 0 ? Value::Null() : Value::Bool(b == 1); };
  const std::vector<Row> rows = {
      {Value::Int64(1), text("a"), decimal("1.5"), date("2024-01-01"), boolean(1)},
      {Value::Int64(2), text("b"), decimal(nullptr), date("2023-06-30"), boolean(0)},
      {Value::Int64(3), text(nullptr), decimal("-2"), date(nullptr), boolean(-1)},
      {Value::Int64(4), text(nullptr), decimal(nullptr), date("2025-02-28"), boolean(1)},
      {Value::Int64(5), text("B"), decimal("0"), date("2024-01-02"), boolean(-1)},
      {Value::Int64(6), text("it's"), decimal("100.25"), date("2024-01-01"), boolean(0)}};
  FaultInjectionEnv env(Env::Default());
  for (std::string_view filter :
       {"balance >= 0 OR balance IS NULL", "NOT (name = 'a' AND balance > 0)",
        "name NOT IN ('a', 'b')", "name IN ('a', 'B') OR NOT active", "balance <> 1.50",
        "NOT balance < 1 AND opened >= DATE '2024-01-01'", "opened < '2024-01-02' AND active",
        "name < 'a' OR name = 'it''s'", "id = 1 OR id = 2 AND balance IS NULL",
        "NOT NOT (active = FALSE)", "balance > -2.5 AND balance != 100.25",
        "active IS NULL OR opened IS NULL"}) {
    Result<testing::Rows> expected =
        Query(fmt::format("SELECT id FROM t WHERE {} ORDER BY id", filter));
    ASSERT_TRUE(expected.has_value()) << filter << ": " << expected.error().ToString();
    std::vector<std::string> want;
    for (const auto& row : *expected) want.push_back(*row[0]);
    std::string quoted;
    for (char c : filter) quoted += c == '"' ? std::string("\\\"") : std::string(1, c);
    Result<TransformSpec> spec = TransformSpec::Parse(
        fmt::format("version: 1\ntables:\n  t: {{filter: \"{}\"}}\n", quoted), "spec.yaml", &env);
    ASSERT_TRUE(spec.has_value()) << filter << ": " << spec.error().ToString();
    Result<TableTransform> t = spec->ForTable(table, "postgresql");
    ASSERT_TRUE(t.has_value()) << filter << ": " << t.error().ToString();
    std::vector<std::string> got;
    for (const Row& row : rows) {
      Row out;
      if (*t->Apply(row, &out)) got.push_back(fmt::format("{}", row[0].int64_value()));
    }
    EXPECT_EQ(got, want) << filter;
  }
}

class TransformMariaDbTest : public testing::MariaDbTest {};

TEST_F(TransformMariaDbTest, TransformSha256ReproducesWithSha2) {
  Result<TableTransform> t =
      TransformSpec::Parse("version: 1\ntables:\n  t:\n    columns:\n      v: {sha256: true}\n",
                           "spec.yaml")
          ->ForTable(TableInfo{.name = "t", .columns = {{.name = "v", .kind = TypeKind::kText}}},
                     "mysql");
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  EXPECT_EQ(t->output().columns[0].native_type, "VARCHAR(64)");
  Row out;
  ASSERT_TRUE(*t->Apply(Row{Text("zoë@example.com")}, &out));
  Result<std::string> expected = QueryValue("SELECT SHA2(_utf8mb4'zoë@example.com', 256)");
  ASSERT_TRUE(expected.has_value()) << expected.error().ToString();
  EXPECT_EQ(out[0], Text(*expected));
}

}  // namespace
}  // namespace ferry
