// The `ferry` command line: exit codes, help, --json output, configuration precedence and the
// errors a user sees for bad input. Most tests run the CLI in-process; a few run the real binary.
#include "cli/cli.h"

#include <stdlib.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "base/log.h"
#include "cli/progress.h"
#include "connect/connector.h"
#include "harness/process.h"
#include "store/store.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ferry-cli-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    store_url_ = SqliteStoreUrl(dir_ + "/ferry.db");
    // The real environment's FERRY_* variables must not leak into the tests.
    for (const char* name :
         {"FERRY_STORE", "FERRY_CONFIG", "FERRY_LOG_LEVEL", "FERRY_LOG_FORMAT"}) {
      env_.SetEnvVar(name, std::nullopt);
    }
  }
  void TearDown() override {
    SetLogSink(nullptr);
    ConfigureLogging({});
    ASSERT_TRUE(Env::Default()->RemoveAll(dir_).ok());
  }

  Outcome Run(std::vector<std::string> args) {
    std::vector<const char*> argv = {"ferry"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    std::ostringstream out, err;
    int code = RunFerry(static_cast<int>(argv.size()), argv.data(), out, err, &env_);
    return {code, out.str(), err.str()};
  }

  std::string WriteConfig(std::string_view text) {
    std::string path = dir_ + "/ferry.yaml";
    EXPECT_TRUE(Env::Default()->WriteFileAtomic(path, text).ok());
    return path;
  }

  FaultInjectionEnv env_{Env::Default()};
  std::string dir_;
  std::string store_url_;
};

TEST_F(CliTest, VersionPrintsTheVersion) {
  Outcome r = Run({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, std::string("ferry ") + FERRY_VERSION + "\n");
}

TEST_F(CliTest, HelpListsCommandsAndExplainsOne) {
  Outcome top = Run({"help"});
  EXPECT_EQ(top.code, 0);
  EXPECT_THAT(top.out, HasSubstr("store"));
  EXPECT_THAT(top.out, HasSubstr("demo"));
  EXPECT_THAT(top.out, HasSubstr("--log-format"));
  Outcome store = Run({"help", "store"});
  EXPECT_EQ(store.code, 0);
  EXPECT_THAT(store.out, HasSubstr("verify-log"));
  EXPECT_THAT(store.out, HasSubstr("migrate"));
  Outcome flag = Run({"store", "--help"});
  EXPECT_EQ(flag.code, 0);
  EXPECT_THAT(flag.out, HasSubstr("status"));
}

TEST_F(CliTest, UnknownCommandsAndFlagsAreUsageErrors) {
  Outcome help = Run({"help", "teleport"});
  EXPECT_EQ(help.code, 2);
  EXPECT_THAT(help.err, HasSubstr("no command named `teleport`"));
  Outcome command = Run({"teleport"});
  EXPECT_EQ(command.code, 2);
  EXPECT_THAT(command.err, HasSubstr("no command named `teleport`"));
  EXPECT_THAT(command.err, HasSubstr("ferry help"));
  Outcome flag = Run({"store", "status", "--colour"});
  EXPECT_EQ(flag.code, 2);
  EXPECT_THAT(flag.err, HasSubstr("--colour"));
  Outcome none = Run({});
  EXPECT_EQ(none.code, 2);
}

TEST_F(CliTest, MigrateThenStatusAsJson) {
  Outcome migrate = Run({"--store", store_url_, "store", "migrate", "--json"});
  ASSERT_EQ(migrate.code, 0) << migrate.err;
  Json applied = Json::parse(migrate.out);
  EXPECT_EQ(applied["applied"], applied["latest_version"]);  // every migration, from nothing
  EXPECT_EQ(applied["schema_version"], applied["latest_version"]);
  Outcome again = Run({"--store", store_url_, "store", "migrate", "--json"});
  EXPECT_EQ(Json::parse(again.out)["applied"], 0);

  Outcome status = Run({"store", "status", "--json", "--store", store_url_});
  ASSERT_EQ(status.code, 0) << status.err;
  Json doc = Json::parse(status.out);
  EXPECT_EQ(doc["backend"], "sqlite");
  EXPECT_EQ(doc["location"], store_url_);
  EXPECT_EQ(doc["up_to_date"], true);
  EXPECT_TRUE(doc["pending_migrations"].empty());
}

TEST_F(CliTest, StatusOfAMissingStoreSaysHowToCreateIt) {
  Outcome r = Run({"--store", store_url_, "store", "status"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr(store_url_));
  EXPECT_THAT(r.err, HasSubstr("ferry store migrate"));
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/ferry.db"));
  Outcome json = Run({"--store", store_url_, "--json", "store", "status"});
  EXPECT_EQ(json.code, 2);
  Json error = Json::parse(json.out);
  EXPECT_EQ(error["ok"], false);
  EXPECT_EQ(error["error"]["code"], "NOT_FOUND");
}

TEST_F(CliTest, VerifyLogExitsOneWhenTheChainIsBroken) {
  ASSERT_EQ(Run({"--store", store_url_, "demo", "--rows", "10", "--dir", dir_ + "/demo"}).code, 0);
  Outcome intact = Run({"--store", store_url_, "store", "verify-log", "--json"});
  ASSERT_EQ(intact.code, 0) << intact.out << intact.err;
  Json report = Json::parse(intact.out);
  // The demo's started, 4 tables copied, verified; its copy's copy.started and copy.succeeded.
  EXPECT_EQ(report["events_checked"], 8);
  const std::string head = report["head_hash"];
  EXPECT_EQ(Run({"--store", store_url_, "store", "verify-log", "--expect-head", head}).code, 0);

  // Delete the first event behind ferry's back.
  auto store = Store::Open(store_url_);
  ASSERT_TRUE(store.has_value());
  store->reset();
  std::string db = dir_ + "/ferry.db";
  std::string sql = "DROP TRIGGER ferry_events_no_delete; DELETE FROM ferry_events WHERE seq = 1;";
  auto sqlite = testing::RunToCompletion({.argv = {"sqlite3", db, sql}}, std::chrono::seconds(30));
  ASSERT_TRUE(sqlite.has_value() && sqlite->success());

  Outcome broken = Run({"--store", store_url_, "store", "verify-log"});
  EXPECT_EQ(broken.code, 1);
  EXPECT_THAT(broken.out, HasSubstr("event log BROKEN"));
  EXPECT_THAT(broken.out, HasSubstr("events 1..1 are missing"));
}

TEST_F(CliTest, ConfigFileSetsTheStoreWithEnvironmentInterpolation) {
  env_.SetEnvVar("FERRY_TEST_DIR", dir_);
  std::string config = WriteConfig(
      "store: sqlite://${FERRY_TEST_DIR}/from-config.db\n"
      "log:\n  level: warn\n");
  Outcome r = Run({"--config", config, "store", "migrate", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["location"], SqliteStoreUrl(dir_ + "/from-config.db"));
}

TEST_F(CliTest, FlagBeatsEnvironmentBeatsConfigFile) {
  std::string config = WriteConfig(fmt::format("store: sqlite://{}/config.db\n", dir_));
  env_.SetEnvVar("FERRY_CONFIG", config);
  auto location = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"store", "migrate", "--json"});
    Outcome r = Run(args);
    EXPECT_EQ(r.code, 0) << r.err;
    return Json::parse(r.out).value("location", "");
  };
  EXPECT_EQ(location({}), SqliteStoreUrl(dir_ + "/config.db"));
  env_.SetEnvVar("FERRY_STORE", SqliteStoreUrl(dir_ + "/env.db"));
  EXPECT_EQ(location({}), SqliteStoreUrl(dir_ + "/env.db"));
  EXPECT_EQ(location({"--store", SqliteStoreUrl(dir_ + "/flag.db")}),
            SqliteStoreUrl(dir_ + "/flag.db"));
}

TEST_F(CliTest, MalformedConfigNamesFileAndLine) {
  std::string config = WriteConfig("store: sqlite:///x.db\nlog:\n  level: [unclosed\n");
  Outcome r = Run({"--config", config, "store", "status"});
  EXPECT_EQ(r.code, 2);
  // yaml-cpp reports where it noticed the problem: the unclosed sequence, at the end.
  EXPECT_THAT(r.err, ::testing::ContainsRegex(config + ":[0-9]+:[0-9]+: invalid YAML"));
}

TEST_F(CliTest, UnknownConfigKeySuggestsTheRightOne) {
  std::string config = WriteConfig("store: sqlite:///x.db\nlog:\n  levle: debug\n");
  Outcome r = Run({"--config", config, "store", "status"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr(config + ":3:"));
  EXPECT_THAT(r.err, HasSubstr("levle"));
  EXPECT_THAT(r.err, HasSubstr("did you mean `level`?"));
}

TEST_F(CliTest, UndefinedVariableInConfigIsNamed) {
  env_.SetEnvVar("FERRY_UNSET_VARIABLE", std::nullopt);
  std::string config = WriteConfig("store: postgresql://${FERRY_UNSET_VARIABLE}/ferry\n");
  Outcome r = Run({"--config", config, "store", "status"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("FERRY_UNSET_VARIABLE"));
  EXPECT_THAT(r.err, HasSubstr(config + ":1:"));
}

TEST_F(CliTest, MissingConfigFileIsAUsageError) {
  Outcome r = Run({"--config", dir_ + "/nope.yaml", "store", "status"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr(dir_ + "/nope.yaml"));
}

TEST_F(CliTest, BadLogFormatIsAUsageError) {
  Outcome r = Run({"--log-format", "xml", "--store", store_url_, "demo"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("xml"));
  EXPECT_THAT(r.err, HasSubstr("json"));
}

TEST_F(CliTest, JsonLogLinesAreJson) {
  std::vector<std::string> lines;
  SetLogSink([&](std::string_view line) { lines.emplace_back(line); });
  Outcome r = Run({"--log-format", "json", "--store", store_url_, "store", "migrate"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_FALSE(lines.empty());
  for (const std::string& line : lines) {
    Json entry = Json::parse(line);
    EXPECT_TRUE(entry.contains("msg"));
    EXPECT_TRUE(entry.contains("level"));
  }
}

TEST_F(CliTest, UnreachableStoreIsARuntimeErrorWithoutThePassword) {
  auto port = Env::Default()->FreeLoopbackPort();
  ASSERT_TRUE(port.has_value());
  Outcome r =
      Run({"--store",
           fmt::format("postgresql://ferry:topsecret@127.0.0.1:{}/ferry?connect_timeout=2", *port),
           "store", "status"});
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(r.err, HasSubstr(fmt::format("127.0.0.1:{}", *port)));
  EXPECT_THAT(r.err, Not(HasSubstr("topsecret")));
  // libpq quotes a URL it cannot parse, password and all.
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--store", "postgresql://ferry:topsecret@[::1/db", "store",
                                 "status"},
        std::vector<std::string>{"verify", "--from", "postgresql://ferry:topsecret@[::1/db", "--to",
                                 "sqlite:///x.db"}}) {
    Outcome malformed = Run(args);
    EXPECT_EQ(malformed.code, 3);
    EXPECT_THAT(malformed.err, HasSubstr("IPv6"));
    EXPECT_THAT(malformed.err, Not(HasSubstr("topsecret")));
  }
}

TEST_F(CliTest, DemoCreatesCopiesAndVerifiesABank) {
  Outcome r = Run({"--store", store_url_, "demo", "--rows", "2000", "--dir", dir_ + "/demo"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("100 customers, 200 accounts, 50 loans, 2000 transactions"));
  EXPECT_THAT(r.out, HasSubstr("2350 rows copied and verified"));
  EXPECT_THAT(r.out, HasSubstr("every row arrived intact"));
  EXPECT_THAT(r.out, HasSubstr("chain intact"));
  // The copy is a real, separate database that verifies against the bank.
  Outcome verify = Run({"verify", "--from", "sqlite://" + dir_ + "/demo/bank.db", "--to",
                        "sqlite://" + dir_ + "/demo/copy.db"});
  EXPECT_EQ(verify.code, 0) << verify.out;
  // Run again: the demo replaces its earlier copy instead of refusing it.
  EXPECT_EQ(Run({"--store", store_url_, "demo", "--rows", "100", "--dir", dir_ + "/demo"}).code, 0);
  EXPECT_EQ(Run({"--store", store_url_, "demo", "--rows", "0"}).code, 2);
}

TEST_F(CliTest, VerifyExitsZeroWhenIdenticalAndOneWithDifferences) {
  const std::string a = dir_ + "/a.db", b = dir_ + "/b.db";
  const std::string schema =
      "CREATE TABLE invoice (id INTEGER PRIMARY KEY, total NUMERIC(10,2)); "
      "INSERT INTO invoice VALUES (1, 1.98), (2, 3.96), (3, NULL);";
  for (const std::string& db : {a, b}) {
    auto made =
        testing::RunToCompletion({.argv = {"sqlite3", db, schema}}, std::chrono::seconds(30));
    ASSERT_TRUE(made.has_value() && made->success());
  }
  Outcome same = Run({"verify", "--from", "sqlite://" + a, "--to", "sqlite://" + b});
  EXPECT_EQ(same.code, 0) << same.err;
  EXPECT_THAT(same.out, HasSubstr("ok        invoice: 3 rows"));
  EXPECT_THAT(same.out, HasSubstr("identical"));

  auto changed = testing::RunToCompletion(
      {.argv = {"sqlite3", b,
                "UPDATE invoice SET total = 2 WHERE id = 1; DELETE FROM invoice WHERE id = 3;"}},
      std::chrono::seconds(30));
  ASSERT_TRUE(changed.has_value() && changed->success());
  Outcome differ = Run({"verify", "--from", "sqlite://" + a, "--to", "sqlite://" + b});
  EXPECT_EQ(differ.code, 1);
  EXPECT_THAT(differ.out, HasSubstr("changed  id=1  (total: 1.98 -> 2)"));
  EXPECT_THAT(differ.out, HasSubstr("missing  id=3"));
  EXPECT_THAT(differ.out, HasSubstr("DIFFERENCES FOUND"));

  Outcome json = Run({"verify", "--json", "--from", "sqlite://" + a, "--to", "sqlite://" + b,
                      "--tables", "invoice"});
  EXPECT_EQ(json.code, 1);
  Json doc = Json::parse(json.out);
  EXPECT_EQ(doc["identical"], false);
  EXPECT_EQ(doc["tables"][0]["missing"], 1);
  EXPECT_EQ(doc["tables"][0]["changed"], 1);
  EXPECT_EQ(doc["tables"][0]["differences"][0]["key"], "id=1");
}

TEST_F(CliTest, VerifyBadInputIsAUsageOrRuntimeError) {
  Outcome no_to = Run({"verify", "--from", "sqlite:///x.db"});
  EXPECT_EQ(no_to.code, 2);
  EXPECT_THAT(no_to.err, HasSubstr("--to"));
  Outcome scheme = Run({"verify", "--from", "oracle://u:pw@h/db", "--to", "sqlite:///x.db"});
  EXPECT_EQ(scheme.code, 2);
  EXPECT_THAT(scheme.err, HasSubstr("unknown kind of database `oracle`"));
  EXPECT_THAT(scheme.err, Not(HasSubstr("pw@")));
  Outcome missing = Run({"verify", "--from", "sqlite://" + dir_ + "/none.db", "--to",
                         "sqlite://" + dir_ + "/none.db"});
  EXPECT_EQ(missing.code, 3);
  EXPECT_THAT(missing.err, HasSubstr("none.db"));
  const std::string db = dir_ + "/one.db";
  auto made = testing::RunToCompletion(
      {.argv = {"sqlite3", db, "CREATE TABLE invoice (id INTEGER PRIMARY KEY);"}},
      std::chrono::seconds(30));
  ASSERT_TRUE(made.has_value() && made->success());
  Outcome no_table =
      Run({"verify", "--from", "sqlite://" + db, "--to", "sqlite://" + db, "--tables", "ghost"});
  EXPECT_EQ(no_table.code, 2);
  EXPECT_THAT(no_table.err, HasSubstr("no table `ghost`; it has: invoice"));
}

TEST_F(CliTest, CopyBadFlagsAreUsageErrorsAndMoveNothing) {
  const std::string from = "sqlite://" + dir_ + "/from.db";
  const std::string to = "sqlite://" + dir_ + "/to.db";
  auto made = testing::RunToCompletion(
      {.argv = {"sqlite3", dir_ + "/from.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"}},
      std::chrono::seconds(30));
  ASSERT_TRUE(made.has_value() && made->success());
  Outcome if_exists = Run({"copy", "--from", from, "--to", to, "--if-exists", "maybe"});
  EXPECT_EQ(if_exists.code, 2);
  EXPECT_THAT(if_exists.err, HasSubstr("--if-exists maybe: expected fail, truncate or append"));
  Outcome rate = Run({"copy", "--from", from, "--to", to, "--max-rate", "fast"});
  EXPECT_EQ(rate.code, 2);
  EXPECT_THAT(rate.err, HasSubstr("--max-rate fast: expected rows per second"));
  Outcome cast = Run({"copy", "--from", from, "--to", to, "--cast", "v"});
  EXPECT_EQ(cast.code, 2);
  EXPECT_THAT(cast.err, HasSubstr("--cast v: expected COLUMN:TYPE"));
  for (const char* lease : {"0", "86401"}) {
    Outcome bad = Run({"copy", "--from", from, "--to", to, "--lease", lease});
    EXPECT_EQ(bad.code, 2);
    EXPECT_THAT(bad.err, HasSubstr(std::string("--lease ") + lease + ": expected 1 to 86400"));
  }
  Outcome kind = Run({"copy", "--from", from, "--to", to, "--cast", "v:INTEGER"});
  EXPECT_EQ(kind.code, 2);
  EXPECT_THAT(kind.err, HasSubstr("`v` is read as text but INTEGER"));
  // Nothing moved: the target may exist (opening it creates the file) but holds no table.
  if (Env::Default()->FileExists(dir_ + "/to.db")) {
    auto target = Connector::Open(to);
    ASSERT_TRUE(target.has_value());
    EXPECT_TRUE((*target)->ListTables()->empty());
  }
  Outcome ok = Run({"copy", "--from", from, "--to", to, "--json"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(Json::parse(ok.out)["tables"][0]["table"], "t");
}

TEST(ProgressTest, DrawsABarOnATerminalAndLogsOtherwise) {
  std::ostringstream screen;
  ProgressReporter bar(screen, /*terminal=*/true);
  bar.Update("invoice", 0, 1000, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  bar.Update("invoice", 500, 1000, 40 << 20);
  EXPECT_THAT(screen.str(), HasSubstr("invoice"));
  EXPECT_THAT(screen.str(), HasSubstr("500 rows of ~1000"));
  EXPECT_THAT(screen.str(), HasSubstr("############"));  // half of the 24-wide bar
  EXPECT_THAT(screen.str(), HasSubstr("rows/s"));
  EXPECT_THAT(screen.str(), ::testing::ContainsRegex("[0-9.]+ MiB/s"));  // 40 MiB in < 1 s
  EXPECT_THAT(screen.str(), ::testing::ContainsRegex("ETA [0-9]+ s"));
  bar.Finish();
  EXPECT_THAT(screen.str(), ::testing::EndsWith("\r\033[K"));

  std::vector<std::string> lines;
  SetLogSink([&](std::string_view line) { lines.emplace_back(line); });
  std::ostringstream unused;
  ProgressReporter log(unused, /*terminal=*/false);
  log.Update("invoice", 10, -1, 700);
  log.Update("invoice", 20, -1, 1400);  // within 5 s of the last line: not logged
  SetLogSink(nullptr);
  EXPECT_TRUE(unused.str().empty());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("copying table=invoice rows=10"));
  EXPECT_THAT(lines[0], HasSubstr(" bytes=700 "));
  EXPECT_THAT(lines[0], HasSubstr("eta=?"));
  // Two workers on two tables take turns: each table's first report is logged, the rest
  // wait out the interval, and each table's rate counts from its own start.
  lines.clear();
  SetLogSink([&](std::string_view line) { lines.emplace_back(line); });
  ProgressReporter parallel(unused, /*terminal=*/false);
  parallel.Update("a", 10, 100);
  parallel.Update("b", 5, 100);
  parallel.Update("a", 20, 100);
  parallel.Update("b", 15, 100);
  SetLogSink(nullptr);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], HasSubstr("table=b rows=5"));
  std::ostringstream screen2;
  ProgressReporter bars(screen2, /*terminal=*/true);
  bars.Update("a", 0, 100000);
  bars.Update("b", 0, 100000);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  bars.Update("a", 3000, 100000);
  EXPECT_THAT(screen2.str(), ::testing::ContainsRegex(" [1-9][0-9]* rows/s"));
  bars.Finish();

  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(12.5 * (1 << 20)), "12.5 MiB");
  EXPECT_EQ(FormatBytes(3.0 * (1LL << 40) * 1024), "3072.0 TiB");
  EXPECT_EQ(FormatDuration(3725), "1 h 02 min");
  EXPECT_EQ(FormatDuration(184), "3 min 04 s");
}

// A transform spec end to end: the copy renames, hashes, masks and filters; `verify --spec`
// compares the target with the source as the spec makes it; a row a step rejects goes to the
// reject file, and --max-rejects decides whether the copy goes on.
TEST_F(CliTest, CopyWithASpecVerifiesAsTransformedAndRejectsWhatDoesNotFit) {
  const std::string db = dir_ + "/people.db";
  auto made = testing::RunToCompletion(
      {.argv = {"sqlite3", db,
                "CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT NOT NULL, ssn TEXT, "
                "card TEXT, country TEXT, joined TEXT);"
                "INSERT INTO person VALUES (1, 'Ada', '123-45-6789', '4111111111111234', 'FR', "
                "'31/12/2023'), (2, 'Bob', NULL, '5500005555555559', 'US', '01/02/2024'), "
                "(3, 'Cyd', '987-65-4321', NULL, 'DE', '15/06/2022');"}},
      std::chrono::seconds(30));
  ASSERT_TRUE(made.has_value() && made->success());
  const std::string spec = dir_ + "/spec.yaml";
  {
    std::ofstream out(spec);
    out << "version: 1\n"
           "tables:\n"
           "  person:\n"
           "    rename: customer\n"
           "    filter: \"country <> 'US'\"\n"
           "    columns:\n"
           "      ssn: {sha256: true}\n"
           "      card: {mask: last4}\n"
           "      joined: {date_format: \"%d/%m/%Y\"}\n";
  }
  const std::string to = "sqlite://" + dir_ + "/out.db";
  const std::string rejects = dir_ + "/rejects.jsonl";
  Outcome copied = Run({"--store", store_url_, "copy", "--from", "sqlite://" + db, "--to", to,
                        "--spec", spec, "--rejects", rejects});
  ASSERT_EQ(copied.code, 0) << copied.err;
  EXPECT_THAT(copied.out, HasSubstr("customer"));
  EXPECT_THAT(copied.out, HasSubstr("verified: every row arrived intact"));
  auto row = testing::RunToCompletion(
      {.argv = {"sqlite3", dir_ + "/out.db",
                "SELECT card || '|' || joined || '|' || length(ssn) FROM customer WHERE id = 1"},
       .stdout_path = dir_ + "/row.txt"},
      std::chrono::seconds(30));
  ASSERT_TRUE(row.has_value() && row->success());
  std::ifstream row_text(dir_ + "/row.txt");
  std::string line;
  std::getline(row_text, line);
  EXPECT_EQ(line, "************1234|2023-12-31|64");

  Outcome as_transformed = Run({"verify", "--from", "sqlite://" + db, "--to", to, "--spec", spec});
  EXPECT_EQ(as_transformed.code, 0) << as_transformed.out << as_transformed.err;
  Outcome plain = Run({"verify", "--from", "sqlite://" + db, "--to", to});
  EXPECT_EQ(plain.code, 1) << plain.out;

  // A date that does not parse: rejected. With the default --max-rejects 0 the copy stops.
  auto broken = testing::RunToCompletion(
      {.argv = {"sqlite3", db, "UPDATE person SET joined = '31-12-2023' WHERE id = 3"}},
      std::chrono::seconds(30));
  ASSERT_TRUE(broken.has_value() && broken->success());
  const std::string to2 = "sqlite://" + dir_ + "/out2.db";
  Outcome stopped = Run({"--store", store_url_, "copy", "--from", "sqlite://" + db, "--to", to2,
                         "--spec", spec, "--rejects", rejects});
  EXPECT_NE(stopped.code, 0);
  EXPECT_THAT(stopped.err, HasSubstr("joined"));
  std::ifstream reject_file(rejects);
  std::string reject;
  std::getline(reject_file, reject);
  EXPECT_THAT(reject, HasSubstr("\"key\":\"id=3\""));
  EXPECT_THAT(reject, HasSubstr("31-12-2023"));
  // Allowed one reject, the copy goes on without the row.
  const std::string to3 = "sqlite://" + dir_ + "/out3.db";
  Outcome tolerated = Run({"--store", store_url_, "copy", "--from", "sqlite://" + db, "--to", to3,
                           "--spec", spec, "--rejects", rejects, "--max-rejects", "1", "--json"});
  EXPECT_EQ(tolerated.code, 0) << tolerated.err;
  Json summary = Json::parse(tolerated.out);
  EXPECT_EQ(summary["rejected_rows"], 1);
  EXPECT_EQ(summary["tables"][0]["rows"], 1);
  EXPECT_EQ(summary["verification"]["identical"], true);
  ASSERT_TRUE(summary["verification_seconds"].is_number());
  EXPECT_GT(summary["verification_seconds"].get<double>(), 0.0);
}

// A text key cast to an integer by the spec: the output looks rangeable, but ranges select
// source rows by the source's key, so the table is copied as one chunk.
TEST_F(CliTest, CopyWithASpecCastingATextKeyCopiesTheTableWhole) {
  const std::string db = dir_ + "/codes.db";
  auto made = testing::RunToCompletion(
      {.argv = {"sqlite3", db,
                "CREATE TABLE code (id TEXT PRIMARY KEY, label TEXT);"
                "INSERT INTO code VALUES ('10', 'ten'), ('2', 'two'), ('33', 'thirty-three');"}},
      std::chrono::seconds(30));
  ASSERT_TRUE(made.has_value() && made->success());
  const std::string spec = dir_ + "/cast.yaml";
  {
    std::ofstream out(spec);
    out << "version: 1\ntables:\n  code:\n    columns:\n      id: {cast: int64}\n";
  }
  Outcome copied =
      Run({"--store", store_url_, "copy", "--from", "sqlite://" + db, "--to",
           "sqlite://" + dir_ + "/codes-out.db", "--spec", spec, "--chunk-rows", "1", "--json"});
  ASSERT_EQ(copied.code, 0) << copied.err;
  Json summary = Json::parse(copied.out);
  EXPECT_EQ(summary["tables"][0]["rows"], 3);
  EXPECT_EQ(summary["tables"][0]["chunks"], 1);
}

// The real binary: exit codes reach the shell.
TEST_F(CliTest, BinaryExitCodes) {
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), FERRY_BINARY);
    auto status = testing::RunToCompletion(
        {.argv = args, .stdout_path = dir_ + "/out", .stderr_path = dir_ + "/err"},
        std::chrono::seconds(60));
    EXPECT_TRUE(status.has_value());
    return status.has_value() ? status->exit_code : -1;
  };
  EXPECT_EQ(run({"--version"}), 0);
  EXPECT_EQ(run({"--store", store_url_, "store", "status"}), 2);
  EXPECT_EQ(run({"--store", store_url_, "store", "migrate"}), 0);
  EXPECT_EQ(run({"--store", store_url_, "store", "verify-log"}), 0);
  EXPECT_EQ(run({"--store", "sqlite:///nonexistent-dir/x/ferry.db", "store", "migrate"}), 3);
}

}  // namespace
}  // namespace ferry
