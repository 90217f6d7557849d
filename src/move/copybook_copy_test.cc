// A mainframe data file described by a COBOL copybook (connect's copybook:// source) copied
// into PostgreSQL: the columns its layout gives, every record arriving exactly (decimals through
// no binary64), the copy's own verification clean, and a record that does not decode named.
#include "move/copy.h"

#include <stdlib.h>

#include <fstream>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/env.h"
#include "harness/shared_servers.h"
#include "legacy/copybook.h"
#include "legacy/record_encoder.h"
#include "move/test_tables.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kCopybook =
    "      * Accounts, as a branch system writes them.\n"
    "       01  ACCOUNT.\n"
    "           05  ACCT-ID        PIC 9(8).\n"
    "           05  NAME           PIC X(20).\n"
    "           05  BALANCE        PIC S9(9)V99 COMP-3.\n"
    "           05  OPENED.\n"
    "               10  YEAR       PIC 9(4).\n"
    "               10  MONTH      PIC 99.\n"
    "           05  FLAGS          PIC S9(4) COMP.\n"
    "           05  RATE           PIC S9(3)V9(4).\n"
    "           05  HISTORY OCCURS 3 TIMES.\n"
    "               10  AMOUNT     PIC S9(5)V99 COMP-3.\n"
    "           05  FILLER         PIC X(5).\n";

// "-1234.56" from a number of cents.
std::string Cents(int64_t cents, int scale) {
  const bool negative = cents < 0;
  std::string digits = std::to_string(negative ? -cents : cents);
  while (static_cast<int>(digits.size()) <= scale) digits.insert(0, "0");
  digits.insert(digits.size() - static_cast<size_t>(scale), ".");
  return (negative ? "-" : "") + digits;
}

class CopybookCopyTest : public testing::PostgresTest {
 protected:
  void SetUp() override {
    testing::PostgresTest::SetUp();
    char pattern[] = "/tmp/ferry-copybook-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ASSERT_TRUE(Env::Default()->WriteFileAtomic(dir_ + "/accounts.cob", kCopybook).ok());
    Result<legacy::Copybook> copybook = legacy::ParseCopybook(kCopybook, "accounts.cob");
    ASSERT_TRUE(copybook.has_value()) << copybook.error().ToString();
    auto encoder = legacy::RecordEncoder::Create(*copybook, {});
    ASSERT_TRUE(encoder.has_value()) << encoder.error().ToString();
    std::mt19937_64 random(2024);
    for (int i = 0; i < kRecords; ++i) {
      legacy::OrderedJson record;
      record["ACCT_ID"] = 10'000'000 + i;
      record["NAME"] = fmt::format("CUSTOMER {:05}", i);
      const int64_t cents = static_cast<int64_t>(random() % 199'999'999'999ULL) - 99'999'999'999;
      balance_cents_ += cents;
      record["BALANCE"] = Cents(cents, 2);
      record["OPENED"] = {{"YEAR", 1990 + static_cast<int>(random() % 35)},
                          {"MONTH", 1 + static_cast<int>(random() % 12)}};
      record["FLAGS"] = static_cast<int>(random() % 19'999) - 9'999;
      record["RATE"] = Cents(static_cast<int64_t>(random() % 19'999'999) - 9'999'999, 4);
      legacy::OrderedJson history = legacy::OrderedJson::array();
      for (int k = 0; k < 3; ++k) {
        const int64_t amount = static_cast<int64_t>(random() % 2'000'000) - 1'000'000;
        history_cents_ += amount;
        history.push_back({{"AMOUNT", Cents(amount, 2)}});
      }
      record["HISTORY"] = history;
      if (i == 7) record7_ = record;
      auto bytes = (*encoder)->Encode(record);
      ASSERT_TRUE(bytes.has_value()) << bytes.error().ToString();
      record_size_ = bytes->size();
      data_.append(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    }
    ASSERT_TRUE(Env::Default()->WriteFileAtomic(dir_ + "/accounts.dat", data_).ok());
  }
  void TearDown() override {
    Env::Default()->RemoveAll(dir_).IgnoreError();
    testing::PostgresTest::TearDown();
  }
  std::string SourceUrl(std::string_view data = "accounts.dat") const {
    return fmt::format("copybook://{}/{}?copybook={}/accounts.cob&format=F&codepage=cp037", dir_,
                       data, dir_);
  }

  static constexpr int kRecords = 2500;
  std::string dir_;
  std::string data_;
  size_t record_size_ = 0;
  int64_t balance_cents_ = 0;
  int64_t history_cents_ = 0;
  legacy::OrderedJson record7_;
};

TEST_F(CopybookCopyTest, TheLayoutGivesTheColumnsAndTheirTypes) {
  auto source = Connector::Open(SourceUrl());
  ASSERT_TRUE(source.has_value()) << source.error().ToString();
  EXPECT_EQ((*source)->engine(), "copybook");
  EXPECT_EQ((*source)->ListTables().value(), std::vector<std::string>{"accounts"});
  auto table = (*source)->DescribeTable("accounts");
  ASSERT_TRUE(table.has_value()) << table.error().ToString();
  std::vector<std::string> names;
  for (const ColumnInfo& c : table->columns) names.push_back(c.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"record_id", "ACCT_ID", "NAME", "BALANCE", "OPENED_YEAR",
                                      "OPENED_MONTH", "FLAGS", "RATE", "HISTORY"}));
  EXPECT_EQ(table->primary_key, std::vector<std::string>{"record_id"});
  EXPECT_EQ(table->columns[1].kind, TypeKind::kInt64);
  EXPECT_EQ(table->columns[2].kind, TypeKind::kText);
  EXPECT_EQ(table->columns[3].kind, TypeKind::kDecimal);
  EXPECT_EQ(table->columns[3].precision, 11);
  EXPECT_EQ(table->columns[3].scale, 2);
  EXPECT_EQ(table->columns[7].kind, TypeKind::kDecimal);
  EXPECT_EQ(table->columns[7].scale, 4);
  EXPECT_EQ(table->columns[8].kind, TypeKind::kJson);
}

TEST_F(CopybookCopyTest, CopiedIntoPostgresEveryRecordArrivesAndVerifiesClean) {
  auto copied = CopyUrls(SourceUrl(), url());
  ASSERT_TRUE(copied.has_value()) << copied.error().ToString();
  ASSERT_EQ(copied->tables.size(), 1u);
  EXPECT_EQ(copied->tables[0].rows, kRecords);
  ASSERT_TRUE(copied->verification.has_value());
  for (const RowDifference& d : copied->verification->tables.at(0).differences) {
    ADD_FAILURE() << d.key << ": " << d.detail;
  }
  EXPECT_TRUE(copied->verification->identical());
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM accounts").value_or(""), std::to_string(kRecords));
  // Exact decimals: the sum in PostgreSQL is the sum of the cents written.
  EXPECT_EQ(QueryValue("SELECT SUM(\"BALANCE\") FROM accounts").value_or(""),
            Cents(balance_cents_, 2));
  EXPECT_EQ(QueryValue("SELECT \"NAME\" || '|' || \"RATE\" || '|' || \"OPENED_MONTH\" FROM "
                       "accounts WHERE record_id = 7")
                .value_or(""),
            fmt::format("CUSTOMER 00007|{}|{}", record7_["RATE"].get<std::string>(),
                        record7_["OPENED"]["MONTH"].get<int>()));
  EXPECT_EQ(QueryValue("SELECT jsonb_array_length(\"HISTORY\"::jsonb) FROM accounts WHERE "
                       "record_id = 7")
                .value_or(""),
            "3");
  // And verified again on its own, the file against the database.
  auto again = VerifyUrls(SourceUrl(), url());
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_TRUE(again->identical());
}

TEST_F(CopybookCopyTest, OccursAsAChildTableKeyedByRecordAndIndex) {
  const std::string source_url = SourceUrl() + "&occurs=tables";
  auto source = Connector::Open(source_url);
  ASSERT_TRUE(source.has_value()) << source.error().ToString();
  EXPECT_EQ((*source)->ListTables().value(),
            (std::vector<std::string>{"accounts", "accounts_history"}));
  auto parent = (*source)->DescribeTable("accounts");
  ASSERT_TRUE(parent.has_value());
  EXPECT_EQ(parent->columns.back().name, "RATE") << "the OCCURS is not a column any more";
  auto child = (*source)->DescribeTable("accounts_history");
  ASSERT_TRUE(child.has_value()) << child.error().ToString();
  std::vector<std::string> names;
  for (const ColumnInfo& c : child->columns) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"record_id", "HISTORY_INDEX", "AMOUNT"}));
  EXPECT_EQ(child->primary_key, (std::vector<std::string>{"record_id", "HISTORY_INDEX"}));
  EXPECT_EQ(child->columns[2].kind, TypeKind::kDecimal);

  auto copied = CopyUrls(source_url, url());
  ASSERT_TRUE(copied.has_value()) << copied.error().ToString();
  ASSERT_EQ(copied->tables.size(), 2u);
  ASSERT_TRUE(copied->verification.has_value());
  EXPECT_TRUE(copied->verification->identical());
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM accounts_history").value_or(""),
            std::to_string(3 * kRecords));
  EXPECT_EQ(QueryValue("SELECT SUM(\"AMOUNT\") FROM accounts_history").value_or(""),
            Cents(history_cents_, 2));
  EXPECT_EQ(QueryValue("SELECT \"AMOUNT\"::text FROM accounts_history WHERE record_id = 7 AND "
                       "\"HISTORY_INDEX\" = 2")
                .value_or(""),
            record7_["HISTORY"][1]["AMOUNT"].get<std::string>());
  // Every child row has its parent.
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM accounts_history h LEFT JOIN accounts a USING "
                       "(record_id) WHERE a.record_id IS NULL")
                .value_or(""),
            "0");
  auto unknown = Connector::Open(SourceUrl() + "&occurs=rows");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_THAT(unknown.error().message(), HasSubstr("occurs=rows: expected json"));
}

// Orders with a variable number of lines (OCCURS DEPENDING ON), each line with two tags: a
// child and a grandchild table, in PostgreSQL and as CSV files.
TEST_F(CopybookCopyTest, NestedAndDependingOnOccursBecomeGrandchildTables) {
  constexpr std::string_view kOrders =
      "       01  ORD.\n"
      "           05  ORDER-NO       PIC 9(6).\n"
      "           05  LINE-COUNT     PIC 9.\n"
      "           05  ORDER-LINE OCCURS 0 TO 4 TIMES DEPENDING ON LINE-COUNT.\n"
      "               10  SKU        PIC X(6).\n"
      "               10  QTY        PIC S9(5) COMP-3.\n"
      "               10  TAG        PIC X(3) OCCURS 2.\n";
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(dir_ + "/orders.cob", kOrders).ok());
  Result<legacy::Copybook> copybook = legacy::ParseCopybook(kOrders, "orders.cob");
  ASSERT_TRUE(copybook.has_value()) << copybook.error().ToString();
  auto encoder = legacy::RecordEncoder::Create(*copybook, {});
  ASSERT_TRUE(encoder.has_value());
  std::mt19937 random(7);
  std::string data;
  int64_t lines = 0, quantity = 0;
  constexpr int kOrderCount = 300;
  for (int i = 0; i < kOrderCount; ++i) {
    const int count = static_cast<int>(random() % 5);
    legacy::OrderedJson order = {{"ORDER_NO", 100000 + i}, {"LINE_COUNT", count}};
    legacy::OrderedJson order_lines = legacy::OrderedJson::array();
    for (int k = 0; k < count; ++k) {
      const int qty = static_cast<int>(random() % 20000) - 10000;
      quantity += qty;
      order_lines.push_back({{"SKU", fmt::format("S{:05}", k)},
                             {"QTY", qty},
                             {"TAG", {fmt::format("A{:02}", k), fmt::format("B{:02}", i % 100)}}});
    }
    lines += count;
    order["ORDER_LINE"] = order_lines;
    auto bytes = (*encoder)->Encode(order);
    ASSERT_TRUE(bytes.has_value()) << bytes.error().ToString();
    data.append(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  }
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(dir_ + "/orders.dat", data).ok());
  const std::string source_url =
      fmt::format("copybook://{}/orders.dat?copybook={}/orders.cob&occurs=tables", dir_, dir_);
  auto source = Connector::Open(source_url);
  ASSERT_TRUE(source.has_value()) << source.error().ToString();
  EXPECT_EQ((*source)->ListTables().value(),
            (std::vector<std::string>{"orders", "orders_order_line", "orders_order_line_tag"}));
  auto tags = (*source)->DescribeTable("orders_order_line_tag");
  ASSERT_TRUE(tags.has_value());
  EXPECT_EQ(tags->primary_key,
            (std::vector<std::string>{"record_id", "ORDER_LINE_INDEX", "TAG_INDEX"}));

  auto copied = CopyUrls(source_url, url());
  ASSERT_TRUE(copied.has_value()) << copied.error().ToString();
  ASSERT_TRUE(copied->verification.has_value());
  EXPECT_TRUE(copied->verification->identical());
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM orders").value_or(""), std::to_string(kOrderCount));
  EXPECT_EQ(
      QueryValue("SELECT COUNT(*) || '/' || SUM(\"QTY\") FROM orders_order_line").value_or(""),
      fmt::format("{}/{}", lines, quantity));
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM orders_order_line_tag").value_or(""),
            std::to_string(2 * lines));
  // The rows of each order's lines are as many as its LINE_COUNT said.
  EXPECT_EQ(QueryValue("SELECT COUNT(*) FROM orders o WHERE \"LINE_COUNT\" <> (SELECT COUNT(*) "
                       "FROM orders_order_line l WHERE l.record_id = o.record_id)")
                .value_or(""),
            "0");
  EXPECT_EQ(QueryValue("SELECT \"TAG\" FROM orders_order_line_tag WHERE record_id = 42 AND "
                       "\"TAG_INDEX\" = 2 ORDER BY \"ORDER_LINE_INDEX\" LIMIT 1")
                .value_or("(none)"),
            QueryValue("SELECT CASE WHEN \"LINE_COUNT\" > 0 THEN 'B42' ELSE '(none)' END FROM "
                       "orders WHERE record_id = 42")
                .value_or("?"));

  // The same tables as CSV files, one per table.
  const std::string csv_dir = dir_ + "/csv";
  auto as_csv = CopyUrls(source_url, "csv://" + csv_dir);
  ASSERT_TRUE(as_csv.has_value()) << as_csv.error().ToString();
  auto csv = Env::Default()->ReadFile(csv_dir + "/orders_order_line.csv");
  ASSERT_TRUE(csv.has_value()) << csv.error().ToString();
  EXPECT_EQ(csv->substr(0, csv->find('\n')), "record_id,ORDER_LINE_INDEX,SKU,QTY");
  EXPECT_EQ(std::count(csv->begin(), csv->end(), '\n'), lines + 1);
}

TEST_F(CopybookCopyTest, ARecordThatDoesNotDecodeIsNamedWithItsOffset) {
  std::string bad = data_;
  // BALANCE (packed) of record 3 starts after ACCT-ID (8) and NAME (20): a nibble of 0xF
  // in the middle of the digits is not a digit.
  bad[3 * record_size_ + 28] = static_cast<char>(0xFF);
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(dir_ + "/bad.dat", bad).ok());
  auto copied = CopyUrls(SourceUrl("bad.dat"), url());
  ASSERT_FALSE(copied.has_value());
  EXPECT_THAT(copied.error().message(),
              HasSubstr(fmt::format("record 3 at offset {}", 3 * record_size_)));
  EXPECT_THAT(copied.error().message(), HasSubstr("ferry copybook decode --rejects"));
}

TEST_F(CopybookCopyTest, BadUrlsSayWhatToWrite) {
  auto no_copybook = Connector::Open(fmt::format("copybook://{}/accounts.dat", dir_));
  ASSERT_FALSE(no_copybook.has_value());
  EXPECT_THAT(no_copybook.error().message(), HasSubstr("no copybook; write copybook:///"));
  auto unknown = Connector::Open(SourceUrl() + "&colour=blue");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_THAT(unknown.error().message(), HasSubstr("unknown parameter `colour`"));
  auto missing = Connector::Open(SourceUrl("nowhere.dat"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message(), HasSubstr("no data file"));
  auto page = Connector::Open(SourceUrl() + "&codepage=cp9999");
  ASSERT_FALSE(page.has_value());
  EXPECT_THAT(page.error().message(), HasSubstr("cp9999"));
  auto rdw = Connector::Open(SourceUrl() + "&rdw=middle");
  ASSERT_FALSE(rdw.has_value());
  EXPECT_THAT(rdw.error().message(), HasSubstr("rdw=middle: expected big or little"));
  auto adjustment = Connector::Open(SourceUrl() + "&rdw_adjustment=four");
  ASSERT_FALSE(adjustment.has_value());
  EXPECT_THAT(adjustment.error().message(), HasSubstr("rdw_adjustment=four: expected an integer"));
  ASSERT_TRUE(
      Env::Default()
          ->WriteFileAtomic(dir_ + "/broken.cob", "       01  R.\n           05  A PIC 9(.\n")
          .ok());
  auto broken =
      Connector::Open(fmt::format("copybook://{}/accounts.dat?copybook={}/broken.cob", dir_, dir_));
  ASSERT_FALSE(broken.has_value());
  EXPECT_THAT(broken.error().message(), HasSubstr("broken.cob:2:"));
  auto source = Connector::Open(SourceUrl());
  ASSERT_TRUE(source.has_value());
  auto table = (*source)->DescribeTable("accounts");
  ASSERT_TRUE(table.has_value());
  auto writer = (*source)->OpenWriter(*table, LoadMode::kCreate);
  ASSERT_FALSE(writer.has_value());
  EXPECT_THAT(writer.error().message(), HasSubstr("source only"));
}

}  // namespace
}  // namespace ferry
