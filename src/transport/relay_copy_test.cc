// `ferry copy` from one PostgreSQL database to another through two relays (the client near the
// source, the server near the target), and `ferry verify` clean afterwards: the copy's batches
// cross the post-quantum channel, and nothing else about the copy changes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ferry::transport
