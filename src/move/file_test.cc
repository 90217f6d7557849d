// CSV and JSON Lines directories as sources and targets: copies through them verify clean both
// ways, files ferry did not write are read with inferred columns, and malformed files are
// reported by file, line and column.
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/env.h"
#include "move/copy.h"
#include "move/test_tables.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;

class ScratchDir {
 public:
  ScratchDir() {
    char pattern[] = "/tmp/ferry-files-XXXXXX";
    if (mkdtemp(pattern) == nullptr) abort();
    path_ = pattern;
  }
  ~ScratchDir() { Env::Default()->RemoveAll(path_).IgnoreError(); }
  const std::string& path() const { return path_; }
  std::string url(std::string_view scheme) const { return fmt::format("{}://{}", scheme, path_); }
  void Write(std::string_view file, std::string_view text) const {
    std::ofstream out(fmt::format("{}/{}", path_, file), std::ios::binary);
    out << text;
  }
  std::string Read(std::string_view file) const {
    std::ifstream in(fmt::format("{}/{}", path_, file), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  bool Exists(std::string_view file) const {
    return Env::Default()->FileExists(fmt::format("{}/{}", path_, file));
  }

 private:
  std::string path_;
};

void ExpectIdentical(const VerifyReport& report) {
  for (const TableReport& t : report.tables) {
    for (const RowDifference& d : t.differences) {
      ADD_FAILURE() << t.table << " " << DifferenceKindName(d.kind) << " " << d.key << ": "
                    << d.detail;
    }
  }
  EXPECT_TRUE(report.identical());
}

// Every row of `table` at `url`, read in batches of 2 to cross batch boundaries.
Result<std::vector<Row>> ReadAll(const std::string& url, std::string_view table,
                                 TableInfo* info = nullptr) {
  FERRY_ASSIGN_OR_RETURN(auto connector, Connector::Open(url));
  FERRY_ASSIGN_OR_RETURN(TableInfo described, connector->DescribeTable(table));
  FERRY_ASSIGN_OR_RETURN(auto reader, connector->Scan({.table = &described, .batch_rows = 2}));
  std::vector<Row> rows, batch;
  for (;;) {
    FERRY_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
    if (!more) break;
    for (Row& row : batch) rows.push_back(std::move(row));
  }
  if (info != nullptr) *info = std::move(described);
  return rows;
}

class FileRoundTripTest : public ::testing::TestWithParam<std::string_view> {};

TEST_P(FileRoundTripTest, SqliteThroughFilesAndBackVerifiesClean) {
  SqliteFile source("source");
  source.Exec(kSqliteSchema);
  source.Exec(Inserts(false));
  source.Exec(Bulk(100, 500));
  ScratchDir dir;

  auto to_files = CopyUrls(source.url(), dir.url(GetParam()));
  ASSERT_TRUE(to_files.has_value()) << to_files.error().ToString();
  ASSERT_EQ(to_files->tables.size(), 1u);
  EXPECT_TRUE(to_files->tables[0].created);
  EXPECT_EQ(to_files->tables[0].rows, 504);
  ASSERT_TRUE(to_files->verification.has_value());
  ExpectIdentical(*to_files->verification);
  EXPECT_TRUE(dir.Exists(fmt::format("account.{}", GetParam())));
  EXPECT_TRUE(dir.Exists("account.schema.json"));
  EXPECT_FALSE(dir.Exists(fmt::format("account.{}.tmp", GetParam())));

  SqliteFile back("back");
  auto to_sqlite = CopyUrls(dir.url(GetParam()), back.url());
  ASSERT_TRUE(to_sqlite.has_value()) << to_sqlite.error().ToString();
  ExpectIdentical(*to_sqlite->verification);

  // End to end, and the files against the original.
  auto round_trip = VerifyUrls(source.url(), back.url());
  ASSERT_TRUE(round_trip.has_value()) << round_trip.error().ToString();
  ExpectIdentical(*round_trip);
  auto against_files = VerifyUrls(dir.url(GetParam()), source.url());
  ASSERT_TRUE(against_files.has_value()) << against_files.error().ToString();
  ExpectIdentical(*against_files);

  // The key and the declared types survive through the schema file.
  auto files = Connector::Open(dir.url(GetParam()));
  ASSERT_TRUE(files.has_value());
  auto table = (*files)->DescribeTable("ACCOUNT");
  ASSERT_TRUE(table.has_value()) << table.error().ToString();
  EXPECT_EQ(table->primary_key, std::vector<std::string>{"id"});
  EXPECT_EQ(table->columns.at(2).kind, TypeKind::kDecimal);
  EXPECT_EQ(table->columns.at(2).precision, 12);
  EXPECT_FALSE(table->columns.at(1).nullable);
}

TEST_P(FileRoundTripTest, CreateRefusesAnExistingFileAndAnAbandonedLoadLeavesNoTrace) {
  ScratchDir dir;
  auto files = Connector::Open(dir.url(GetParam()));
  ASSERT_TRUE(files.has_value()) << files.error().ToString();
  TableInfo table{.name = "t",
                  .columns = {{.name = "id", .native_type = "int64", .kind = TypeKind::kInt64}}};
  {
    auto writer = (*files)->OpenWriter(table, LoadMode::kCreate);
    ASSERT_TRUE(writer.has_value()) << writer.error().ToString();
    ASSERT_TRUE((*writer)->Write({{Value::Int64(1)}}).ok());
    // Destroyed without Commit.
  }
  auto listed = (*files)->ListTables();
  ASSERT_TRUE(listed.has_value());
  EXPECT_TRUE(listed->empty());
  EXPECT_FALSE(dir.Exists(fmt::format("t.{}.tmp", GetParam())));

  auto writer = (*files)->OpenWriter(table, LoadMode::kCreate);
  ASSERT_TRUE(writer.has_value());
  ASSERT_TRUE((*writer)->Write({{Value::Int64(1)}, {Value::Null()}}).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  auto again = (*files)->OpenWriter(table, LoadMode::kCreate);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), StatusCode::kAlreadyExists);

  // Append adds (no second CSV header), replace replaces.
  auto append = (*files)->OpenWriter(table, LoadMode::kAppend);
  ASSERT_TRUE(append.has_value());
  ASSERT_TRUE((*append)->Write({{Value::Int64(3)}}).ok());
  ASSERT_TRUE((*append)->Commit().ok());
  auto rows = ReadAll(dir.url(GetParam()), "t");
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  EXPECT_EQ(*rows, (std::vector<Row>{{Value::Int64(1)}, {Value::Null()}, {Value::Int64(3)}}));
  auto replace = (*files)->OpenWriter(table, LoadMode::kReplace);
  ASSERT_TRUE(replace.has_value());
  ASSERT_TRUE((*replace)->Write({{Value::Int64(7)}}).ok());
  ASSERT_TRUE((*replace)->Commit().ok());
  rows = ReadAll(dir.url(GetParam()), "t");
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  EXPECT_EQ(*rows, (std::vector<Row>{{Value::Int64(7)}}));
}

INSTANTIATE_TEST_SUITE_P(CsvAndJsonl, FileRoundTripTest, ::testing::Values("csv", "jsonl"),
                         [](const auto& test) { return std::string(test.param); });

TEST(CsvFileTest, FileWithoutSchemaReadsAsTextAndVerifiesAgainstItself) {
  ScratchDir dir;
  dir.Write("people.csv", "id,name,joined\r\n1,Ann,2024-01-02\r\n2,\"Lee, Bo\",\r\n007,,x\r\n");
  TableInfo info;
  auto rows = ReadAll(dir.url("csv"), "people", &info);
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(info.columns.size(), 3u);
  for (const ColumnInfo& c : info.columns) {
    EXPECT_EQ(c.kind, TypeKind::kText);
    EXPECT_EQ(c.native_type, "TEXT");
  }
  EXPECT_TRUE(info.primary_key.empty());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[1][1], Value::Text("Lee, Bo"));
  EXPECT_TRUE((*rows)[1][2].is_null());
  EXPECT_EQ((*rows)[2][0], Value::Text("007"));
  auto report = VerifyUrls(dir.url("csv"), dir.url("csv"));
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  ExpectIdentical(*report);
}

TEST(CsvFileTest, NullAndEmptyStringStayDistinct) {
  ScratchDir dir;
  auto files = Connector::Open(dir.url("csv"));
  ASSERT_TRUE(files.has_value());
  TableInfo table{.name = "t",
                  .columns = {{.name = "id", .native_type = "int64", .kind = TypeKind::kInt64},
                              {.name = "s", .native_type = "text", .kind = TypeKind::kText}}};
  auto writer = (*files)->OpenWriter(table, LoadMode::kCreate);
  ASSERT_TRUE(writer.has_value());
  ASSERT_TRUE((*writer)
                  ->Write({{Value::Int64(1), Value::Null()},
                           {Value::Int64(2), Value::Text("")},
                           {Value::Int64(3), Value::Text("a,\"b\"\nc\r\nd")}})
                  .ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_EQ(dir.Read("t.csv"), "id,s\n1,\n2,\"\"\n3,\"a,\"\"b\"\"\nc\r\nd\"\n");
  auto rows = ReadAll(dir.url("csv"), "t");
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_TRUE((*rows)[0][1].is_null());
  EXPECT_EQ((*rows)[1][1], Value::Text(""));
  EXPECT_EQ((*rows)[2][1], Value::Text("a,\"b\"\nc\r\nd"));
}

TEST(CsvFileTest, WrongFieldCountNamesFileAndLine) {
  ScratchDir dir;
  // The quoted field spans lines 3 and 4, so the bad record starts on line 5.
  dir.Write("orders.csv", "a,b,c\n1,2,3\n4,\"x\ny\",6\n7,8\n");
  auto rows = ReadAll(dir.url("csv"), "orders");
  ASSERT_FALSE(rows.has_value());
  EXPECT_EQ(rows.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(rows.error().message(), HasSubstr("orders.csv line 5: 2 fields, the header has 3"));
}

TEST(CsvFileTest, UnterminatedQuoteNamesFileAndLine) {
  ScratchDir dir;
  dir.Write("orders.csv", "a,b\n1,2\n3,\"never closed\n4,5\n");
  auto rows = ReadAll(dir.url("csv"), "orders");
  ASSERT_FALSE(rows.has_value());
  EXPECT_THAT(rows.error().message(), HasSubstr("orders.csv line 3: field 2 opens a quote"));
}

TEST(CsvFileTest, BadValueNamesLineAndColumn) {
  ScratchDir dir;
  dir.Write("t.csv", "id\n1\nx\n");
  dir.Write("t.schema.json",
            R"({"columns": [{"name": "id", "kind": "int64", "native_type": "int64"}]})");
  auto rows = ReadAll(dir.url("csv"), "t");
  ASSERT_FALSE(rows.has_value());
  EXPECT_THAT(rows.error().message(), HasSubstr("t.csv line 3, column `id` (int64)"));
}

TEST(JsonlFileTest, BadJsonNamesFileAndLine) {
  ScratchDir dir;
  dir.Write("events.jsonl", "{\"id\": 1}\n{\"id\": 2}\n{\"id\": 3,}\n");
  auto files = Connector::Open(dir.url("jsonl"));
  ASSERT_TRUE(files.has_value());
  // Inference reads the first lines, so the error comes from DescribeTable already.
  auto table = (*files)->DescribeTable("events");
  ASSERT_FALSE(table.has_value());
  EXPECT_THAT(table.error().message(), HasSubstr("events.jsonl line 3: not valid JSON"));
  // With a schema file, from the scan.
  dir.Write("events.schema.json",
            R"({"columns": [{"name": "id", "kind": "int64", "native_type": "int64"}]})");
  auto rows = ReadAll(dir.url("jsonl"), "events");
  ASSERT_FALSE(rows.has_value());
  EXPECT_THAT(rows.error().message(), HasSubstr("events.jsonl line 3: not valid JSON"));
}

TEST(JsonlFileTest, InfersColumnsFromKeysInFirstSeenOrder) {
  ScratchDir dir;
  dir.Write("e.jsonl",
            "{\"z\": 1, \"a\": \"x\", \"n\": null}\n\n"
            "{\"a\": \"y\", \"price\": 1.25, \"ok\": true, \"tags\": [1], \"n\": null}\n");
  TableInfo info;
  auto rows = ReadAll(dir.url("jsonl"), "e", &info);
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  std::vector<std::pair<std::string, TypeKind>> columns;
  for (const ColumnInfo& c : info.columns) columns.emplace_back(c.name, c.kind);
  EXPECT_EQ(columns, (std::vector<std::pair<std::string, TypeKind>>{{"z", TypeKind::kInt64},
                                                                    {"a", TypeKind::kText},
                                                                    {"n", TypeKind::kText},
                                                                    {"price", TypeKind::kDecimal},
                                                                    {"ok", TypeKind::kBool},
                                                                    {"tags", TypeKind::kJson}}));
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_TRUE((*rows)[1][0].is_null());
  EXPECT_EQ((*rows)[1][3].ToDisplay(), "1.25");
  auto report = VerifyUrls(dir.url("jsonl"), dir.url("jsonl"));
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  ExpectIdentical(*report);
}

TEST(JsonlFileTest, WritesDecimalsAsStringsAndSpecialFloatsAsNames) {
  ScratchDir dir;
  auto files = Connector::Open(dir.url("jsonl"));
  ASSERT_TRUE(files.has_value());
  TableInfo table{.name = "t",
                  .columns = {{.name = "d", .native_type = "decimal", .kind = TypeKind::kDecimal},
                              {.name = "f", .native_type = "float64", .kind = TypeKind::kFloat64},
                              {.name = "b", .native_type = "bytes", .kind = TypeKind::kBytes}}};
  auto writer = (*files)->OpenWriter(table, LoadMode::kCreate);
  ASSERT_TRUE(writer.has_value());
  auto decimal = ParseDecimal("12345678901234567890.123456789");
  ASSERT_TRUE(decimal.has_value());
  ASSERT_TRUE((*writer)->Write({{*decimal, Value::Float64(NAN), Value::Bytes("\x01\xff")}}).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_EQ(dir.Read("t.jsonl"),
            "{\"d\":\"12345678901234567890.123456789\",\"f\":\"NaN\",\"b\":\"\\\\x01ff\"}\n");
  auto rows = ReadAll(dir.url("jsonl"), "t");
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0], (Row{*decimal, Value::Float64(NAN), Value::Bytes("\x01\xff")}));
}

}  // namespace
}  // namespace ferry
