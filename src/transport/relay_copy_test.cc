// `ferry copy` from one PostgreSQL database to another through two relays (the client near the
// source, the server near the target), and `ferry verify` clean afterwards: the copy's batches
// cross the post-quantum channel, and nothing else about the copy changes.
#include <chrono>
#include <map>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/env.h"
#include "cli/cli_test_util.h"
#include "harness/shared_servers.h"
#include "transport/relay.h"

namespace ferry::transport {
namespace {

using ::testing::HasSubstr;

class RelayCopyTest : public ferry::testing::PostgresTest {};

TEST_F(RelayCopyTest, CopiesThroughTwoRelaysAndVerifiesClean) {
  ASSERT_TRUE(
      Execute("CREATE TABLE account (id bigint PRIMARY KEY, owner text, balance numeric(12,2), "
              "opened date);"
              "INSERT INTO account SELECT g, 'owner ' || g, g * 1.25, date '2020-01-01' + g % 1000 "
              "FROM generate_series(1, 20000) g")
          .ok());
  Result<std::string> target_db = server()->CreateDatabase("relay_target");
  ASSERT_TRUE(target_db.has_value()) << target_db.error().ToString();

  const crypto::Identity source_node = crypto::Identity::Generate().value();
  const crypto::Identity target_node = crypto::Identity::Generate().value();
  RelayOptions so;
  so.identity = target_node;
  so.listen = {"127.0.0.1", 0};
  so.allowed_clients = {source_node.pub.Fingerprint()};
  so.forward = {server()->host(), server()->port()};
  auto relay_server = Relay::StartServer(so).value();
  RelayOptions co;
  co.identity = source_node;
  co.listen = {"127.0.0.1", 0};
  co.server = {"127.0.0.1", relay_server->port()};
  co.server_identity = target_node.pub;
  auto relay_client = Relay::StartClient(co).value();

  // The target as the source side sees it: through the relay client's port.
  const std::string via = fmt::format("postgresql://{}@127.0.0.1:{}/{}?sslmode=disable",
                                      server()->user(), relay_client->port(), *target_db);
  testing::CliOutcome copy = testing::RunCli({"copy", "--from", url(), "--to", via});
  ASSERT_EQ(copy.code, 0) << copy.out << copy.err;
  EXPECT_GT(relay_server->counters().connections.load(), 0);
  EXPECT_GT(relay_client->counters().bytes_up.load(), 20000 * 20);  // the rows went through it
  testing::CliOutcome verify =
      testing::RunCli({"verify", "--from", url(), "--to", server()->Url(*target_db)});
  ASSERT_EQ(verify.code, 0) << verify.out << verify.err;
  EXPECT_EQ(server()->QueryValue(*target_db, "SELECT count(*) FROM account").value(), "20000");
  EXPECT_TRUE(relay_server->errors().empty()) << relay_server->errors().front();
  relay_client->Stop();
  relay_server->Stop();
  ASSERT_TRUE(server()->DropDatabase(*target_db).ok());
}

// The same journey with the copy's own batches: `ferry relay serve --targets` near the target
// opens the target database itself, and `ferry copy --via` sends it the copy's calls and its rows
// (zstd) over the secure channel. Both ends run through the command line.
TEST_F(RelayCopyTest, CopiesViaARelayServingTheTargetAndVerifiesClean) {
  ASSERT_TRUE(
      Execute("CREATE TABLE ledger (id bigint PRIMARY KEY, memo text, amount numeric(14,2), "
              "booked timestamptz, tags jsonb);"
              "CREATE INDEX ledger_booked ON ledger (booked);"
              "INSERT INTO ledger SELECT g, repeat('memo ', g % 7) || g, g * 0.37, "
              "timestamptz '2024-01-01 00:00:00Z' + g * interval '1 minute', "
              "jsonb_build_object('n', g % 13) FROM generate_series(1, 12000) g")
          .ok());
  Result<std::string> target_db = server()->CreateDatabase("via_target");
  ASSERT_TRUE(target_db.has_value()) << target_db.error().ToString();
  char pattern[] = "/tmp/ferry-via-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  std::map<std::string, std::string> recipient;
  for (const char* name : {"target-node.key", "source-node.key"}) {
    testing::CliOutcome r = testing::RunCli({"crypto", "keygen", "--out", dir + "/" + name});
    ASSERT_EQ(r.code, 0) << r.err;
    recipient[name] = r.out.substr(0, r.out.size() - 1);
  }
  const std::string source_fp =
      crypto::Identity::FromJson(Env::Default()->ReadFile(dir + "/source-node.key").value(), "k")
          .value()
          .pub.Fingerprint();
  const uint16_t relay_port = Env::Default()->FreeLoopbackPort().value();
  const std::string target_url = server()->Url(*target_db);
  testing::CliOutcome served;
  std::thread relay([&] {
    served =
        testing::RunCli({"relay", "serve", "--listen", fmt::format("127.0.0.1:{}", relay_port),
                         "--identity", dir + "/target-node.key", "--allow", source_fp, "--targets",
                         target_url.substr(0, target_url.rfind('/') + 1), "--duration", "10"});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  testing::CliOutcome copy = testing::RunCli(
      {"copy", "--from", url(), "--to", target_url, "--via",
       fmt::format("ferry://127.0.0.1:{}", relay_port), "--identity", dir + "/source-node.key",
       "--peer", recipient["target-node.key"], "--jobs", "2", "--chunk-rows", "3000"});
  relay.join();
  ASSERT_EQ(copy.code, 0) << copy.out << copy.err;
  EXPECT_THAT(copy.out, HasSubstr("through ferry://127.0.0.1:"));
  EXPECT_THAT(copy.out, HasSubstr("12000 rows sent"));
  EXPECT_THAT(copy.out, HasSubstr("verified: every row arrived intact"));
  EXPECT_EQ(served.code, 0) << served.out << served.err;
  EXPECT_THAT(served.err, HasSubstr("serving copies into"));
  // Checked without the relay: the target database holds the rows and the index.
  testing::CliOutcome verify = testing::RunCli({"verify", "--from", url(), "--to", target_url});
  ASSERT_EQ(verify.code, 0) << verify.out << verify.err;
  EXPECT_EQ(server()->QueryValue(*target_db, "SELECT count(*) FROM ledger").value(), "12000");
  EXPECT_EQ(server()
                ->QueryValue(*target_db,
                             "SELECT count(*) FROM pg_indexes WHERE indexname = "
                             "'ledger_booked'")
                .value(),
            "1");
  ASSERT_TRUE(Env::Default()->RemoveAll(dir).ok());
  ASSERT_TRUE(server()->DropDatabase(*target_db).ok());
}

}  // namespace
}  // namespace ferry::transport
