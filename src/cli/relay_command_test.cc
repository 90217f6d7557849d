// `ferry relay serve` and `ferry relay connect` through the command line, in-process: the two
// ends carry a connection for a limited --duration, and bad flags are refused with the way out.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "cli/cli.h"
#include "cli/cli_test_util.h"
#include "crypto/identity.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;
using Outcome = ::ferry::testing::CliOutcome;
using ::ferry::testing::RunCli;

class RelayCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ferry-relay-cli-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    for (const char* name : {"server.key", "client.key"}) {
      Outcome r = RunCli({"crypto", "keygen", "--out", dir_ + "/" + name});
      ASSERT_EQ(r.code, 0) << r.err;
      recipient_[name] = r.out.substr(0, r.out.size() - 1);
    }
    client_fp_ =
        crypto::Identity::FromJson(Env::Default()->ReadFile(dir_ + "/client.key").value(), "k")
            .value()
            .pub.Fingerprint();
  }
  void TearDown() override { ASSERT_TRUE(Env::Default()->RemoveAll(dir_).ok()); }

  std::string dir_, client_fp_;
  std::map<std::string, std::string> recipient_;
};

uint16_t FreePort() { return Env::Default()->FreeLoopbackPort().value(); }

TEST_F(RelayCommandTest, ServeAndConnectCarryAConnection) {
  // A one-shot echo server as the "database".
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::listen(listener, 1);
  socklen_t len = sizeof a;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
  const uint16_t echo_port = ntohs(a.sin_port);
  std::thread echo([&] {
    int c = ::accept(listener, nullptr, nullptr);
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(c, buf, sizeof buf, 0)) > 0)
      ::send(c, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
    ::close(c);
  });
  const uint16_t relay_port = FreePort(), local_port = FreePort();
  Outcome served, connected;
  std::thread server([&] {
    served = RunCli({"relay", "serve", "--listen", fmt::format("127.0.0.1:{}", relay_port),
                     "--identity", dir_ + "/server.key", "--allow", client_fp_, "--forward",
                     fmt::format("127.0.0.1:{}", echo_port), "--duration", "4"});
  });
  std::thread client([&] {
    connected =
        RunCli({"relay", "connect", "--listen", fmt::format("127.0.0.1:{}", local_port),
                "--identity", dir_ + "/client.key", "--to", fmt::format("127.0.0.1:{}", relay_port),
                "--peer", recipient_["server.key"], "--duration", "4"});
  });
  std::string back;
  for (int attempt = 0; attempt < 40 && back.empty(); ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to = a;
    to.sin_port = htons(local_port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      ::close(fd);
      continue;
    }
    ::send(fd, "through the relay", 17, MSG_NOSIGNAL);
    char buf[64];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) back.assign(buf, static_cast<size_t>(n));
    ::close(fd);
  }
  server.join();
  client.join();
  echo.join();
  ::close(listener);
  EXPECT_EQ(back, "through the relay");
  EXPECT_EQ(served.code, 0) << served.err;
  EXPECT_THAT(served.out, HasSubstr("1 connection(s), 0 refused, 0 failed"));
  EXPECT_THAT(connected.err, HasSubstr("relay client listening"));
}

TEST_F(RelayCommandTest, BadFlagsAreRefusedWithTheWayOut) {
  Outcome no_peer = RunCli({"relay", "connect", "--identity", dir_ + "/client.key", "--to",
                            "127.0.0.1:1", "--peer", "junk"});
  EXPECT_EQ(no_peer.code, 2);
  EXPECT_THAT(no_peer.err, HasSubstr("--peer: a recipient starts with \"ferry-recipient-v1:\""));
  Outcome bad_to = RunCli({"relay", "connect", "--identity", dir_ + "/client.key", "--to",
                           "nowhere", "--peer", recipient_["server.key"]});
  EXPECT_EQ(bad_to.code, 2);
  EXPECT_THAT(bad_to.err, HasSubstr("--to nowhere: expected HOST:PORT"));
  Outcome no_key = RunCli({"relay", "serve", "--identity", dir_ + "/missing.key", "--allow",
                           client_fp_, "--forward", "127.0.0.1:1"});
  EXPECT_EQ(no_key.code, 2);
  EXPECT_THAT(no_key.err, HasSubstr("make one with `ferry crypto keygen"));
  // A relay server forwards or serves copies, not both, not neither.
  for (const std::vector<std::string>& how :
       {std::vector<std::string>{"--forward", "127.0.0.1:1", "--targets", "sqlite:///tmp/"},
        std::vector<std::string>{}}) {
    std::vector<std::string> args = {"relay",   "serve",   "--identity", dir_ + "/server.key",
                                     "--allow", client_fp_};
    args.insert(args.end(), how.begin(), how.end());
    Outcome both = RunCli(args);
    EXPECT_EQ(both.code, 2);
    EXPECT_THAT(both.err, HasSubstr("give --forward HOST:PORT (carry connections to one address) "
                                    "or --targets URL_PREFIX"));
  }
}

TEST_F(RelayCommandTest, CopyViaRefusesWhatItCannotDoWithTheWayOut) {
  const std::string from = "sqlite://" + dir_ + "/none.db";
  Outcome scheme =
      RunCli({"copy", "--from", from, "--to", "sqlite:///x.db", "--via", "https://127.0.0.1:1",
              "--identity", dir_ + "/client.key", "--peer", recipient_["server.key"]});
  EXPECT_EQ(scheme.code, 2);
  EXPECT_THAT(scheme.err, HasSubstr("--via https://127.0.0.1:1: expected ferry://HOST:PORT"));
  Outcome no_peer = RunCli({"copy", "--from", from, "--to", "sqlite:///x.db", "--via",
                            "ferry://127.0.0.1:1", "--identity", dir_ + "/client.key"});
  EXPECT_EQ(no_peer.code, 2);
  EXPECT_THAT(no_peer.err, HasSubstr("needs this node's --identity FILE and the relay's --peer"));
  Outcome rekey = RunCli({"copy", "--from", from, "--to", "sqlite:///x.db", "--via",
                          "ferry://127.0.0.1:1", "--identity", dir_ + "/client.key", "--peer",
                          recipient_["server.key"], "--rekey-mb", "0"});
  EXPECT_EQ(rekey.code, 2);
  EXPECT_THAT(rekey.err, HasSubstr("--rekey-mb must be positive"));
  Outcome to_export = RunCli({"copy", "--from", from, "--to", "file:///tmp/x.ferry", "--via",
                              "ferry://127.0.0.1:1", "--identity", dir_ + "/client.key"});
  EXPECT_EQ(to_export.code, 2);
  EXPECT_THAT(to_export.err, HasSubstr("drop --via, and move the file itself"));
  // Nobody listening: the copy says where it could not connect, and nothing is created.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/bank.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Outcome refused = RunCli({"copy", "--from", "sqlite://" + dir_ + "/bank.db", "--to",
                            "sqlite://" + dir_ + "/t.db", "--via",
                            fmt::format("ferry://127.0.0.1:{}", FreePort()), "--identity",
                            dir_ + "/client.key", "--peer", recipient_["server.key"]});
  EXPECT_NE(refused.code, 0);
  EXPECT_THAT(refused.err, HasSubstr("cannot connect"));
  EXPECT_FALSE(Env::Default()->FileExists(dir_ + "/t.db"));
}

}  // namespace
}  // namespace ferry
