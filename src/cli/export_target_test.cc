// Exports written straight into the archive by the copy engine (cli/export_target.h): the
// entries are what a JSON Lines directory holds, writers share the archive one entry at a time,
// a writer abandoned half way leaves no export, and the manifest's checksums are those of the
// rows; then through `ferry copy` from SQLite and PostgreSQL, and a copy that fails half way.
#include "cli/export_target.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "base/env.h"
#include "cli/cli_test_util.h"
#include "connect/file_connector.h"
#include "crypto/sealed_export.h"
#include "harness/shared_servers.h"

namespace ferry {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// Every entry of the export at `path`, opened with `id`, and its manifest.
struct Opened {
  std::map<std::string, std::string> entries;
  crypto::ExportManifest manifest;
};
Result<Opened> OpenAll(const std::string& path, const crypto::Identity& id) {
  std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!in) return Err(NotFound("{}", path));
  Opened out;
  std::string current;
  crypto::ExportCallbacks cb{[&](std::string_view name) {
                               current = name;
                               out.entries[current];
                               return OkStatus();
                             },
                             [&](crypto::ByteView data) {
                               out.entries[current].append(
                                   reinterpret_cast<const char*>(data.data()), data.size());
                               return OkStatus();
                             },
                             [] { return OkStatus(); }};
  FERRY_ASSIGN_OR_RETURN(out.manifest, crypto::ReadExport(
                                           [&](std::span<uint8_t> b) -> Result<size_t> {
                                             return std::fread(b.data(), 1, b.size(), in.get());
                                           },
                                           id, cb));
  return out;
}

std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TableInfo Table(const std::string& name) {
  TableInfo t;
  t.name = name;
  t.columns = {{.name = "id", .native_type = "int64", .kind = TypeKind::kInt64, .nullable = false},
               {.name = "note", .native_type = "text", .kind = TypeKind::kText},
               {.name = "amount", .native_type = "decimal", .kind = TypeKind::kDecimal}};
  t.primary_key = {"id"};
  return t;
}

std::vector<Row> Rows(int first, int n) {
  std::vector<Row> rows;
  for (int i = first; i < first + n; ++i) {
    rows.push_back({Value::Int64(i),
                    i % 7 == 0 ? Value::Null() : Value::Text(fmt::format("row \"{}\" é,\n", i)),
                    ParseDecimal(fmt::format("{}.{:02}", i, i % 100)).value()});
  }
  return rows;
}

class ExportTargetTest : public testing::CliFileTest {
 protected:
  void SetUp() override {
    CliFileTest::SetUp();
    signer_ = crypto::Identity::Generate().value();
    reader_ = crypto::Identity::Generate().value();
  }
  Result<std::unique_ptr<ExportTarget>> NewExport(const std::string& name,
                                                  const ExportTargetOptions& options) {
    return ExportTarget::Create(dir_ + "/" + name, {reader_.pub}, signer_, options);
  }

  crypto::Identity signer_, reader_;
};

// Tables written by several threads at once through small buffers (so that writers stream,
// wait and buffer in turn) give the entries a `jsonl://` directory holds for the same rows, the
// manifest lists each table's rows and checksum, and an abandoned buffered writer leaves nothing.
TEST_F(ExportTargetTest, EntriesAreWhatAJsonLinesDirectoryHolds) {
  const ExportTargetOptions small{.stream_after_bytes = 4096,
                                  .max_buffer_bytes = 64 * 1024,
                                  .chunk_bytes = 1024,
                                  .queued_buffers = 2};
  auto exported = NewExport("t.ferry", small);
  ASSERT_TRUE(exported.has_value()) << exported.error().ToString();
  auto files = Connector::Open("jsonl://" + dir_ + "/plain", {.create_if_missing = true}).value();
  {
    // Abandoned before Commit, below the streaming threshold: nothing of it is written.
    auto abandoned = (*exported)->OpenWriter(Table("gone"), LoadMode::kReplace).value();
    ASSERT_TRUE(abandoned->Write(Rows(1, 10)).ok());
  }
  std::vector<TableInfo> tables;
  for (int t = 0; t < 6; ++t) tables.push_back(Table(fmt::format("t{}", t)));
  std::vector<std::thread> threads;
  std::vector<Status> results(tables.size());
  for (size_t t = 0; t < tables.size(); ++t) {
    threads.emplace_back([&, t] {
      results[t] = [&]() -> Status {
        FERRY_ASSIGN_OR_RETURN(auto writer, (*exported)->OpenWriter(tables[t], LoadMode::kReplace));
        // Tables of 0 to 3,000 rows: some fit the buffer, some stream.
        for (int b = 0; b < static_cast<int>(t) * 3; ++b) {
          FERRY_RETURN_IF_ERROR(writer->Write(Rows(b * 200 + 1, 200)));
        }
        return writer->Commit();
      }();
    });
  }
  for (std::thread& th : threads) th.join();
  for (const Status& s : results) ASSERT_TRUE(s.ok()) << s.ToString();
  for (size_t t = 0; t < tables.size(); ++t) {
    auto writer = files->OpenWriter(tables[t], LoadMode::kCreate).value();
    for (int b = 0; b < static_cast<int>(t) * 3; ++b)
      ASSERT_TRUE(writer->Write(Rows(b * 200 + 1, 200)).ok());
    ASSERT_TRUE(writer->Commit().ok());
  }
  auto bytes = (*exported)->Finish(Json{{"note", "test"}});
  ASSERT_TRUE(bytes.has_value()) << bytes.error().ToString();
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/t.ferry.partial"));

  auto opened = OpenAll(dir_ + "/t.ferry", reader_);
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  std::set<std::string> names;
  for (const auto& [name, data] : opened->entries) {
    names.insert(name);
    EXPECT_EQ(data, Read(dir_ + "/plain/" + name)) << name;
  }
  std::set<std::string> expected;
  for (const std::string& f : FilesUnder(dir_ + "/plain")) expected.insert(f);
  EXPECT_EQ(names, expected);

  // The manifest's checksums: recomputed from the rows each table was given.
  auto listed = ManifestTables(opened->manifest.extra_json).value();
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), tables.size());
  EXPECT_EQ(ParseJson(opened->manifest.extra_json, "x").value()["note"], "test");
  for (const ManifestTable& m : *listed) {
    const int t = std::stoi(m.table.substr(1));
    RowHasher hasher;
    for (int b = 0; b < t * 3; ++b) {
      for (const Row& r : Rows(b * 200 + 1, 200)) hasher.AddRow(r);
    }
    EXPECT_EQ(m.rows, t * 600) << m.table;
    EXPECT_EQ(m.checksum, hasher.checksum()) << m.table;
  }
}

// A writer that streamed part of its table and was then abandoned breaks the export: later
// writers and Finish are refused with the table named, and no file is left.
TEST_F(ExportTargetTest, AWriterAbandonedHalfWayLeavesNoExport) {
  auto exported = NewExport("x.ferry", {.stream_after_bytes = 1024, .chunk_bytes = 1024}).value();
  {
    auto writer = exported->OpenWriter(Table("half"), LoadMode::kReplace).value();
    ASSERT_TRUE(writer->Write(Rows(1, 500)).ok());
  }
  auto next = exported->OpenWriter(Table("next"), LoadMode::kReplace);
  ASSERT_FALSE(next.has_value());
  EXPECT_THAT(next.error().message(), HasSubstr("table `half`: its writer stopped half way"));
  auto finished = exported->Finish(Json::object());
  ASSERT_FALSE(finished.has_value());
  EXPECT_THAT(finished.error().message(), HasSubstr("half"));
  EXPECT_TRUE(Env::Default()->FileExists(dir_ + "/x.ferry.partial"));
  exported.reset();
  EXPECT_EQ(FilesUnder(dir_), std::vector<std::string>{});
}

// A table can be written once; a created table is described; the export is not read back.
TEST_F(ExportTargetTest, OneEntryPerTableAndNoReadingBack) {
  auto exported = NewExport("o.ferry", {}).value();
  ASSERT_FALSE(exported->DescribeTable("t").has_value());
  EXPECT_EQ(exported->DescribeTable("t").error().code(), StatusCode::kNotFound);
  auto created = exported->OpenWriter(Table("t"), LoadMode::kCreate).value();
  ASSERT_TRUE(created->Commit().ok());
  EXPECT_EQ(exported->DescribeTable("T").value().columns.size(), 3u);
  auto writer = exported->OpenWriter(Table("t"), LoadMode::kReplace).value();
  ASSERT_TRUE(writer->Write(Rows(1, 3)).ok());
  ASSERT_TRUE(writer->Commit().ok());
  auto again = exported->OpenWriter(Table("t"), LoadMode::kReplace);
  ASSERT_FALSE(again.has_value());
  EXPECT_THAT(again.error().message(), HasSubstr("an export cannot replace an entry"));
  const TableInfo t = Table("t");
  auto scan = exported->Scan({.table = &t});
  ASSERT_FALSE(scan.has_value());
  EXPECT_THAT(scan.error().message(), HasSubstr("only with a recipient's identity"));
  EXPECT_FALSE(ExportTarget::Create(dir_ + "/o.ferry", {reader_.pub}, signer_).has_value());
}

// The source scanned again against what was written: equal, then a changed row is found.
TEST_F(ExportTargetTest, VerifyAgainstSourceFindsAChangedRow) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/s.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT, amount NUMERIC);"
                         "INSERT INTO t VALUES (1, 'a', 1.5), (2, NULL, 2.25), (3, 'c', 3);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  auto source = Connector::Open("sqlite://" + dir_ + "/s.db").value();
  TableInfo table = source->DescribeTable("t").value();
  auto exported = NewExport("v.ferry", {}).value();
  {
    auto reader = source->Scan({.table = &table}).value();
    auto writer = exported->OpenWriter(table, LoadMode::kReplace).value();
    std::vector<Row> batch;
    while (reader->Next(&batch).value()) ASSERT_TRUE(writer->Write(batch).ok());
    ASSERT_TRUE(writer->Commit().ok());
  }
  auto same = exported->VerifyAgainstSource(*source, 2);
  ASSERT_TRUE(same.has_value()) << same.error().ToString();
  EXPECT_TRUE(same->identical()) << same->ToJson().dump();
  ASSERT_EQ(
      sqlite3_exec(db, "UPDATE t SET note = 'changed' WHERE id = 2", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  auto changed = exported->VerifyAgainstSource(*source, 2);
  ASSERT_TRUE(changed.has_value());
  EXPECT_FALSE(changed->identical());
  EXPECT_EQ(changed->tables[0].source_rows, 3);
  EXPECT_NE(changed->tables[0].source_checksum, changed->tables[0].target_checksum);
}

// ---- Through `ferry copy`.

class ExportCommandTest : public testing::CliFileTest {
 protected:
  void SetUp() override {
    CliFileTest::SetUp();
    ASSERT_EQ(Run({"crypto", "keygen", "--out", dir_ + "/ops.key"}).code, 0);
    ASSERT_EQ(Run({"crypto", "keygen", "--out", dir_ + "/bob.key"}).code, 0);
  }
  testing::CliOutcome Export(const std::string& from, const std::string& name,
                             std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"--store",
                                     "sqlite://" + dir_ + "/ferry.db",
                                     "copy",
                                     "--from",
                                     from,
                                     "--to",
                                     "file://" + dir_ + "/" + name,
                                     "--encrypt-to",
                                     dir_ + "/bob.key",
                                     "--identity",
                                     dir_ + "/ops.key"};
    args.insert(args.end(), more.begin(), more.end());
    return Run(args);
  }
  testing::CliOutcome Restore(const std::string& name, const std::string& to) {
    return Run({"--store", "sqlite://" + dir_ + "/ferry.db", "copy", "--from",
                "file://" + dir_ + "/" + name, "--identity", dir_ + "/bob.key", "--to", to});
  }
  // The manifest's checksums against those of the source's rows, computed here.
  void ExpectManifestMatches(const std::string& name, Connector& source) {
    auto id = crypto::Identity::FromJson(Read(dir_ + "/bob.key"), "bob.key").value();
    auto opened = OpenAll(dir_ + "/" + name, id);
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    auto listed = ManifestTables(opened->manifest.extra_json).value();
    ASSERT_TRUE(listed.has_value());
    EXPECT_EQ(listed->size(), source.ListTables().value().size());
    for (const ManifestTable& m : *listed) {
      TableInfo table = source.DescribeTable(m.table).value();
      auto reader = source.Scan({.table = &table}).value();
      RowHasher hasher;
      std::vector<Row> batch;
      while (reader->Next(&batch).value()) {
        for (const Row& r : batch) hasher.AddRow(r);
      }
      EXPECT_EQ(m.rows, hasher.checksum().rows) << m.table;
      EXPECT_EQ(m.checksum, hasher.checksum()) << m.table;
      EXPECT_TRUE(opened->entries.contains(m.table + ".jsonl"));
      EXPECT_TRUE(opened->entries.contains(m.table + ".schema.json"));
    }
  }
};

TEST_F(ExportCommandTest, SqliteExportRestoresIdenticalRows) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/src.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db,
                   "CREATE TABLE account (id INTEGER PRIMARY KEY, owner TEXT, balance NUMERIC,"
                   "  opened TEXT, photo BLOB);"
                   "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000)"
                   " INSERT INTO account SELECT i, 'owner \"' || i || '\" é', i * 1.25,"
                   "  CASE WHEN i % 5 = 0 THEN NULL ELSE '2024-01-02' END, x'00ff' FROM n;"
                   "CREATE TABLE empty_one (id INTEGER PRIMARY KEY, x TEXT);"
                   "CREATE TABLE tags (name TEXT, weight REAL);"
                   "INSERT INTO tags VALUES ('a', 0.5), ('b', NULL), ('a', 0.5);",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  testing::CliOutcome exported =
      Export("sqlite://" + dir_ + "/src.db", "bank.ferry", {"--jobs", "2"});
  ASSERT_EQ(exported.code, 0) << exported.out << exported.err;
  EXPECT_THAT(exported.out, HasSubstr("verified: every row arrived intact"));
  EXPECT_THAT(exported.out, HasSubstr("sealed into " + dir_ + "/bank.ferry"));
  for (const std::string& f : FilesUnder(dir_)) {
    EXPECT_THAT(f, Not(HasSubstr("staging"))) << "plain files left";
    EXPECT_THAT(f, Not(HasSubstr(".partial")));
  }
  auto source = Connector::Open("sqlite://" + dir_ + "/src.db").value();
  ExpectManifestMatches("bank.ferry", *source);

  testing::CliOutcome restored = Restore("bank.ferry", "sqlite://" + dir_ + "/restored.db");
  ASSERT_EQ(restored.code, 0) << restored.out << restored.err;
  EXPECT_THAT(restored.out, HasSubstr("table checksum verified before loading"));
  testing::CliOutcome same = Run({"verify", "--from", "sqlite://" + dir_ + "/src.db", "--to",
                                  "sqlite://" + dir_ + "/restored.db"});
  EXPECT_EQ(same.code, 0) << same.out;

  // --json reports the verification against the source; --resume does not apply to an export.
  testing::CliOutcome json =
      Run({"--json", "--store", "sqlite://" + dir_ + "/ferry.db", "copy", "--from",
           "sqlite://" + dir_ + "/src.db", "--to", "file://" + dir_ + "/j.ferry", "--encrypt-to",
           dir_ + "/bob.key", "--identity", dir_ + "/ops.key"});
  ASSERT_EQ(json.code, 0) << json.err;
  Json doc = ParseJson(json.out, "copy").value();
  EXPECT_TRUE(doc["verification"]["identical"].get<bool>());
  EXPECT_EQ(doc["verification"]["tables"].size(), 3u);
  testing::CliOutcome resumed =
      Export("sqlite://" + dir_ + "/src.db", "r.ferry", {"--resume", "x"});
  EXPECT_EQ(resumed.code, 2);
  EXPECT_THAT(resumed.err, HasSubstr("cannot be continued"));
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/r.ferry.partial"));
}

// A copy that fails half way (a malformed line deep in the second table, after its entry began
// to stream) leaves no export, no partial file and no plain file: the directory holds what it
// held before, and no file in it holds a row of the source.
TEST_F(ExportCommandTest, ACopyThatFailsHalfWayLeavesNothing) {
  std::string small = "id,name\n";
  for (int i = 0; i < 100; ++i) small += fmt::format("{},first-table-secret-{}\n", i, i);
  std::string big = "id,name\n";
  for (int i = 0; i < 300000; ++i) big += fmt::format("{},second-table-secret-{}\n", i, i);
  big += "300000,\"never closed\n";
  Write("src/a.csv", small);
  Write("src/b.csv", big);
  const std::vector<std::string> before = FilesUnder(dir_);
  testing::CliOutcome failed = Export("csv://" + dir_ + "/src", "half.ferry");
  EXPECT_NE(failed.code, 0);
  EXPECT_THAT(failed.err, HasSubstr("b.csv line 300002"));
  std::vector<std::string> after = FilesUnder(dir_);
  std::erase(after, "ferry.db");  // the state store: the run, its chunks and their checksums
  std::erase_if(after, [](const std::string& f) { return f.starts_with("ferry.db-"); });
  EXPECT_EQ(after, before);
  for (const std::string& f : FilesUnder(dir_)) {
    if (f.starts_with("src/")) continue;
    EXPECT_THAT(Read(dir_ + "/" + f), Not(HasSubstr("table-secret"))) << f;
  }
}

// Two tables bigger than a writer's buffer, loaded by two workers at once: one streams, the
// other buffers and waits; opened, the export is the directory a plain copy writes.
TEST_F(ExportCommandTest, TwoBigTablesWithTwoJobsGiveTheJsonLinesDirectory) {
  for (const char* name : {"a", "b"}) {
    std::string csv = "id,name,amount\n";
    for (int i = 0; i < 220000; ++i) csv += fmt::format("{},{} row {},{}.5\n", i, name, i, i);
    Write(fmt::format("src/{}.csv", name), csv);
  }
  testing::CliOutcome exported = Export("csv://" + dir_ + "/src", "big.ferry", {"--jobs", "2"});
  ASSERT_EQ(exported.code, 0) << exported.out << exported.err;
  testing::CliOutcome plain = Run({"--store", "sqlite://" + dir_ + "/ferry.db", "copy", "--from",
                                   "csv://" + dir_ + "/src", "--to", "jsonl://" + dir_ + "/plain"});
  ASSERT_EQ(plain.code, 0) << plain.err;
  testing::CliOutcome opened = Run({"crypto", "open", "--identity", dir_ + "/bob.key", "--in",
                                    dir_ + "/big.ferry", "--out", dir_ + "/opened"});
  ASSERT_EQ(opened.code, 0) << opened.err;
  ASSERT_EQ(FilesUnder(dir_ + "/opened"), FilesUnder(dir_ + "/plain"));
  for (const std::string& f : FilesUnder(dir_ + "/plain")) {
    EXPECT_GT(Read(dir_ + "/plain/" + f).size(), 0u);
    EXPECT_TRUE(Read(dir_ + "/plain/" + f) == Read(dir_ + "/opened/" + f)) << f;
  }
  EXPECT_GT(Read(dir_ + "/plain/a.jsonl").size(), size_t{8} << 20);
}

// A restore checks the rows it reads against the manifest's checksums: an export whose entries
// are signed but do not hold the rows its manifest lists (a writer's bug, or a signer's key in
// the wrong hands) loads nothing and creates no target.
TEST_F(ExportCommandTest, ARestoreRefusesRowsThatAreNotTheManifests) {
  auto signer = crypto::Identity::FromJson(Read(dir_ + "/ops.key"), "ops.key").value();
  auto bob = crypto::Identity::FromJson(Read(dir_ + "/bob.key"), "bob.key").value();
  const TableInfo t = Table("t");
  std::string rows;
  JsonLinesRowEncoder encoder(t);
  RowHasher listed;
  for (const Row& r : Rows(1, 50)) {
    encoder.AppendRow(r, &rows);
    listed.AddRow(r);
  }
  for (const Row& r : Rows(51, 1)) encoder.AppendRow(r, &rows);  // one row more than listed
  {
    const ChunkChecksum checksum = listed.checksum();
    const std::string name = "bad.ferry";
    std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen((dir_ + "/" + name).c_str(), "wb"),
                                              std::fclose);
    auto writer = crypto::ExportWriter::Create(
                      [&](crypto::ByteView b) {
                        std::fwrite(b.data(), 1, b.size(), out.get());
                        return OkStatus();
                      },
                      {bob.pub}, signer)
                      .value();
    const std::string schema = FileSchemaJson(t);
    for (const auto& [entry, data] : std::vector<std::pair<std::string, std::string>>{
             {"t.jsonl", rows}, {"t.schema.json", schema}}) {
      ASSERT_TRUE(writer->BeginEntry(entry).ok());
      ASSERT_TRUE(writer->Write({reinterpret_cast<const uint8_t*>(data.data()), data.size()}).ok());
      ASSERT_TRUE(writer->EndEntry().ok());
    }
    const ExportedTable table{.table = t,
                              .rows = checksum.rows,
                              .checksum = checksum,
                              .data_entry = "t.jsonl",
                              .schema_entry = "t.schema.json"};
    ASSERT_TRUE(writer->Finish(Json{{"tables", ExportedTablesJson({table})}}.dump()).ok());
  }
  testing::CliOutcome refused = Restore("bad.ferry", "sqlite://" + dir_ + "/never.db");
  EXPECT_NE(refused.code, 0);
  EXPECT_THAT(refused.err, HasSubstr("table `t`: the rows read from the export (51 rows"));
  EXPECT_THAT(refused.err, HasSubstr("are not those its signed manifest lists (50 rows"));
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/never.db"));
  for (const std::string& f : FilesUnder(dir_)) EXPECT_THAT(f, Not(HasSubstr("staging")));
}

class PostgresExportTest : public testing::PostgresTest {
 protected:
  void SetUp() override {
    testing::PostgresTest::SetUp();
    char pattern[] = "/tmp/ferry-export-pg-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    ASSERT_TRUE(Env::Default()->RemoveAll(dir_).ok());
    testing::PostgresTest::TearDown();
  }
  std::string dir_;
};

TEST_F(PostgresExportTest, PostgresExportRestoresIdenticalRows) {
  ASSERT_TRUE(
      Execute("CREATE TABLE invoice (id bigint PRIMARY KEY, customer text NOT NULL,"
              " total numeric(12,2), issued timestamptz, due date, paid boolean,"
              " ref uuid, body jsonb, scan bytea, rate double precision);"
              "INSERT INTO invoice SELECT i, 'customer ' || i || ' ü', i * 10.05,"
              " '2024-03-01 10:00:00+00'::timestamptz + i * interval '1 minute',"
              " DATE '2024-01-01' + i, i % 2 = 0,"
              " md5(i::text)::uuid, jsonb_build_object('n', i, 'tags', jsonb_build_array('x')),"
              " CASE WHEN i % 3 = 0 THEN NULL ELSE '\\x00ff10'::bytea END, i / 3.0"
              " FROM generate_series(1, 5000) AS i;"
              "CREATE TABLE note (body text);"
              "INSERT INTO note VALUES ('a'), (NULL), ('a');")
          .ok());
  const std::string store = "sqlite://" + dir_ + "/ferry.db";
  ASSERT_EQ(testing::RunCli({"crypto", "keygen", "--out", dir_ + "/ops.key"}).code, 0);
  ASSERT_EQ(testing::RunCli({"crypto", "keygen", "--out", dir_ + "/bob.key"}).code, 0);
  testing::CliOutcome exported = testing::RunCli(
      {"--store", store, "copy", "--from", url(), "--to", "file://" + dir_ + "/pg.ferry",
       "--encrypt-to", dir_ + "/bob.key", "--identity", dir_ + "/ops.key"});
  ASSERT_EQ(exported.code, 0) << exported.out << exported.err;
  EXPECT_THAT(exported.out, HasSubstr("verified: every row arrived intact"));

  auto restored_db = server()->CreateDatabase("restored");
  ASSERT_TRUE(restored_db.has_value());
  const std::string restored_url = server()->Url(*restored_db);
  testing::CliOutcome restored =
      testing::RunCli({"--store", store, "copy", "--from", "file://" + dir_ + "/pg.ferry",
                       "--identity", dir_ + "/bob.key", "--to", restored_url});
  ASSERT_EQ(restored.code, 0) << restored.out << restored.err;
  testing::CliOutcome same = testing::RunCli({"verify", "--from", url(), "--to", restored_url});
  EXPECT_EQ(same.code, 0) << same.out << same.err;
  EXPECT_EQ(server()->QueryValue(*restored_db, "SELECT count(*) FROM invoice").value(), "5000");
  EXPECT_TRUE(server()->DropDatabase(*restored_db).ok());
}

// What the JSON Lines format does not keep (a jsonb document `null` reads back as SQL NULL) is
// a difference at export time, as it is for a plain copy to JSON Lines: no export is written.
TEST_F(PostgresExportTest, AJsonNullDocumentIsADifferenceAndNoExport) {
  ASSERT_TRUE(Execute("CREATE TABLE doc (id bigint PRIMARY KEY, body jsonb);"
                      "INSERT INTO doc VALUES (1, '{\"a\": 1}'), (2, 'null'), (3, NULL);")
                  .ok());
  const std::string store = "sqlite://" + dir_ + "/ferry.db";
  ASSERT_EQ(testing::RunCli({"crypto", "keygen", "--out", dir_ + "/ops.key"}).code, 0);
  ASSERT_EQ(testing::RunCli({"crypto", "keygen", "--out", dir_ + "/bob.key"}).code, 0);
  testing::CliOutcome exported = testing::RunCli(
      {"--json", "--store", store, "copy", "--from", url(), "--to", "file://" + dir_ + "/doc.ferry",
       "--encrypt-to", dir_ + "/bob.key", "--identity", dir_ + "/ops.key"});
  EXPECT_EQ(exported.code, 1) << exported.out << exported.err;
  EXPECT_THAT(exported.err, HasSubstr("not exported"));
  Json doc = ParseJson(exported.out, "copy").value();
  EXPECT_FALSE(doc["verification"]["identical"].get<bool>());
  EXPECT_EQ(doc["verification"]["tables"][0]["source_rows"], 3);
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/doc.ferry"));
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/doc.ferry.partial"));
}

}  // namespace
}  // namespace ferry
