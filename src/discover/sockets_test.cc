#include "discover/sockets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "discover/fixture.h"

namespace ferry::discover_internal {
namespace {

using ::testing::HasSubstr;

TEST(SocketsTest, ParsesProcNetTcpLines) {
  std::vector<SocketLine> lines = ParseProcNetSockets(
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n"
      "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        "
      "0 34567 1 0000000000000000 100 0 0 10 0\n"
      "   1: 0A00000A:C351 1E00000A:1538 01 00000000:00000000 02:000A7D8A 00000000  1000        "
      "0 45678 2 0000000000000000 20 4 30 10 -1\n",
      /*tcp=*/true, /*ipv6=*/false);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].local_address, "127.0.0.1");
  EXPECT_EQ(lines[0].local_port, 5432);
  EXPECT_EQ(lines[0].state, kTcpListen);
  EXPECT_EQ(lines[0].uid, 105u);
  EXPECT_EQ(lines[0].inode, 34567u);
  EXPECT_EQ(lines[1].remote_address, "10.0.0.30");
  EXPECT_EQ(lines[1].remote_port, 5432);
  EXPECT_EQ(lines[1].local_port, 50001);
  EXPECT_EQ(lines[1].state, kTcpEstablished);

  // TIME_WAIT and the like are left out when only the inventory's sockets are wanted.
  EXPECT_EQ(ParseProcNetSockets("   0: 0A00000A:C352 1E00000A:1538 06 00000000:00000000 "
                                "00:00000000 00000000     0        0 0 1 0 100 0 0 10 0\n",
                                true, false, /*inventory_only=*/true)
                .size(),
            0u);
  std::vector<SocketLine> v6 = ParseProcNetSockets(
      "   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 00:00000000 00000000     0        0 999 1 0000000000000000 100 0 0 10 0\n",
      true, true);
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_EQ(v6[0].local_address, "::1");
  EXPECT_EQ(v6[0].local_port, 22);
}

TEST(SocketsTest, GuessesTheProtocolFromPortAndProgram) {
  auto guess = [](uint16_t port, std::string_view program, std::vector<std::string> argv = {},
                  bool server = true, bool tcp = true) -> std::string {
    auto g = GuessService(port, tcp, program, argv, server);
    return g ? g->name + "/" + g->basis : "none";
  };
  EXPECT_EQ(guess(5432, "postgres"), "postgresql/port+process");
  EXPECT_EQ(guess(5433, "postgres"), "postgresql/process");  // the program wins over the port
  EXPECT_EQ(guess(5432, ""), "postgresql/port");
  EXPECT_EQ(guess(3306, "mariadbd"), "mysql/port+process");
  EXPECT_EQ(guess(6380, "redis-server"), "redis/process");
  EXPECT_EQ(guess(443, "nginx"), "https/port+process");
  EXPECT_EQ(guess(80, "httpd"), "http/port+process");
  EXPECT_EQ(guess(8081, "apache2"), "http/process");
  EXPECT_EQ(guess(22, "sshd"), "ssh/port+process");
  EXPECT_EQ(guess(9092, "java", {"java", "-cp", "libs/*", "kafka.Kafka", "server.properties"}),
            "kafka/port+process");
  EXPECT_EQ(guess(8080, "java", {"java", "org.apache.catalina.startup.Bootstrap", "start"}),
            "http/port+process");
  EXPECT_EQ(guess(4567, "java", {"java", "-jar", "app.jar"}), "none");
  EXPECT_EQ(guess(5432, "haproxy"), "postgresql/port");  // a proxy speaks what it forwards
  EXPECT_EQ(guess(53, "dnsmasq", {}, true, /*tcp=*/false), "dns/port+process");
  EXPECT_EQ(guess(123, "", {}, true, /*tcp=*/false), "ntp/port");
  EXPECT_EQ(guess(123, ""), "none");  // NTP is UDP only
  // Outbound: the client program and the remote port.
  EXPECT_EQ(guess(5432, "psql", {}, /*server=*/false), "postgresql/port+process");
  EXPECT_EQ(guess(6432, "psql", {}, false), "postgresql/port+process");
  EXPECT_EQ(guess(443, "curl", {}, false), "https/port");
  EXPECT_EQ(guess(5432, "postgres", {}, false), "postgresql/port+process");  // a replica
}

Json Find(const Json& list, const std::string& protocol, int port, const std::string& family) {
  for (const Json& entry : list) {
    if (entry["protocol"] == protocol && entry["port"] == port && entry["family"] == family) {
      return entry;
    }
  }
  return nullptr;
}

TEST(SocketsTest, MapsEverySocketOfTheSampleHostToItsOwner) {
  discover_testing::FixtureRoot fixture;
  discover_testing::WriteSampleHost(fixture);
  HostRoot root(fixture.path());
  UserNames users(root);
  UnseenLog unseen;
  ProcessScan processes = ScanProcesses(root, users, &unseen);
  Json sockets = CollectSockets(root, processes, users, &unseen);
  const Json& listening = sockets["listening"];
  // TCP 80 (v4, v6), 443, 2049, 5433, 9092; UDP 53.
  ASSERT_EQ(listening.size(), 7u) << listening.dump(2);
  Json http = Find(listening, "tcp", 80, "ipv4");
  EXPECT_EQ(http["address"], "0.0.0.0");
  EXPECT_EQ(http["pid"], 100);
  EXPECT_EQ(http["pids"], Json::array({100, 101}));
  EXPECT_EQ(http["process"], "nginx");
  EXPECT_EQ(http["user"], "root");
  EXPECT_EQ(http["service_guess"]["name"], "http");
  EXPECT_EQ(Find(listening, "tcp", 80, "ipv6")["address"], "::");
  EXPECT_EQ(Find(listening, "tcp", 443, "ipv4")["service_guess"]["name"], "https");
  Json postgres = Find(listening, "tcp", 5433, "ipv4");
  EXPECT_EQ(postgres["pid"], 200);
  EXPECT_EQ(postgres["user"], "postgres");
  EXPECT_EQ(postgres["loopback_only"], true);
  EXPECT_EQ(postgres["service_guess"], Json({{"name", "postgresql"}, {"basis", "process"}}));
  Json kafka = Find(listening, "tcp", 9092, "ipv4");
  EXPECT_EQ(kafka["process"], "java");
  EXPECT_EQ(kafka["service_guess"]["name"], "kafka");
  Json nfs = Find(listening, "tcp", 2049, "ipv4");
  EXPECT_TRUE(nfs["pid"].is_null());
  EXPECT_EQ(nfs["pids"], Json::array());
  EXPECT_EQ(nfs["service_guess"]["basis"], "port");
  Json dns = Find(listening, "udp", 53, "ipv4");
  EXPECT_EQ(dns["process"], "dnsmasq");
  EXPECT_EQ(dns["user"], "nobody");
  EXPECT_EQ(listening.back()["protocol"], "udp");  // TCP first, then UDP

  const Json& connections = sockets["connections"];
  ASSERT_EQ(connections.size(), 3u) << connections.dump(2);  // the TIME_WAIT one is left out
  EXPECT_EQ(connections[0]["direction"], "inbound");
  EXPECT_EQ(connections[0]["local_port"], 443);
  EXPECT_EQ(connections[0]["remote_address"], "10.0.0.9");
  EXPECT_EQ(connections[0]["remote_port"], 54321);
  EXPECT_EQ(connections[0]["pid"], 101);
  EXPECT_EQ(connections[0]["service_guess"]["name"], "https");
  EXPECT_EQ(connections[1]["direction"], "outbound");
  EXPECT_EQ(connections[1]["remote_address"], "10.0.0.20");
  EXPECT_EQ(connections[1]["remote_port"], 8080);
  EXPECT_EQ(connections[1]["service_guess"], Json({{"name", "http"}, {"basis", "port"}}));
  EXPECT_EQ(connections[2]["process"], "psql");
  EXPECT_EQ(connections[2]["user"], "alice");
  EXPECT_EQ(connections[2]["service_guess"],
            Json({{"name", "postgresql"}, {"basis", "port+process"}}));
  EXPECT_EQ(connections[2]["loopback"], false);

  const Unseen* unowned = unseen.Find("owners of some listening sockets");
  ASSERT_NE(unowned, nullptr);
  EXPECT_THAT(unowned->examples[0], HasSubstr("1 TCP"));
}

}  // namespace
}  // namespace ferry::discover_internal
