// The relay on loopback: bytes through it both ways, a server that is not the pinned one, a client
// that is not allowed, and a byte flipped in transit, which must end the connection with a clear
// error rather than deliver altered data.
#include "transport/relay.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/random.h"
#include "crypto/xwing.h"
#include "transport/test_identities.h"

namespace ferry::transport {
namespace {

using ::testing::HasSubstr;

using testing::Id;

int ListenLoopback(uint16_t* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(fd, 16);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

int ConnectLoopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Accepts one connection at a time and echoes what it reads.
class EchoServer {
 public:
  EchoServer() {
    fd_ = ListenLoopback(&port_);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        int c = ::accept(fd_, nullptr, nullptr);
        char buf[65536];
        ssize_t n;
        while ((n = ::recv(c, buf, sizeof buf, 0)) > 0) {
          if (::send(c, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
        }
        ::close(c);
      }
    });
  }
  ~EchoServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A TCP proxy that flips one bit of the client-to-server stream at byte `flip_at` (-1: never).
class Tamperer {
 public:
  Tamperer(uint16_t to, int64_t flip_at) : to_(to), flip_at_(flip_at) {
    fd_ = ListenLoopback(&port_);
    thread_ = std::thread([this] {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) return;
      int a = ::accept(fd_, nullptr, nullptr);
      int b = ConnectLoopback(to_);
      int64_t seen = 0;
      char buf[65536];
      while (!stop_) {
        pollfd ps[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
        if (::poll(ps, 2, 100) <= 0) continue;
        if (ps[0].revents) {
          ssize_t n = ::recv(a, buf, sizeof buf, 0);
          if (n <= 0) break;
          if (flip_at_ >= seen && flip_at_ < seen + n) buf[flip_at_ - seen] ^= 0x01;
          seen += n;
          ::send(b, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
        }
        if (ps[1].revents) {
          ssize_t n = ::recv(b, buf, sizeof buf, 0);
          if (n <= 0) break;
          ::send(a, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
        }
      }
      ::close(a);
      ::close(b);
    });
  }
  ~Tamperer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  uint16_t to_;
  int64_t flip_at_;
  int fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct Pair {
  std::unique_ptr<Relay> server, client;
};

Pair StartPair(uint16_t forward_port, int server_id = 0, int client_id = 1, int pinned_id = 0,
               bool allow_client = true, uint16_t via_port = 0) {
  RelayOptions so;
  so.identity = Id(server_id);
  so.listen = {"127.0.0.1", 0};
  so.allowed_clients = {allow_client ? Id(client_id).pub.Fingerprint() : Id(2).pub.Fingerprint()};
  so.forward = {"127.0.0.1", forward_port};
  Pair p;
  p.server = Relay::StartServer(so).value();
  RelayOptions co;
  co.identity = Id(client_id);
  co.listen = {"127.0.0.1", 0};
  co.server = {"127.0.0.1", via_port != 0 ? via_port : p.server->port()};
  co.server_identity = Id(pinned_id).pub;
  p.client = Relay::StartClient(co).value();
  return p;
}

// Sends `data` through the client's port and reads back what comes (until `data.size()` bytes or
// the connection closes).
std::string RoundTrip(uint16_t port, const std::string& data) {
  int fd = ConnectLoopback(port);
  EXPECT_GE(fd, 0);
  std::thread writer([&] { ::send(fd, data.data(), data.size(), MSG_NOSIGNAL); });
  std::string back;
  char buf[65536];
  while (back.size() < data.size()) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 15000) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    back.append(buf, static_cast<size_t>(n));
  }
  writer.join();
  ::close(fd);
  return back;
}

std::string RandomText(size_t n) {
  std::mt19937 rng(5);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(RelayTest, CarriesBytesBothWaysThroughTheSecureChannel) {
  EchoServer echo;
  Pair p = StartPair(echo.port());
  const std::string data = RandomText(4 << 20);
  EXPECT_EQ(RoundTrip(p.client->port(), data), data);
  EXPECT_EQ(RoundTrip(p.client->port(), "second connection"), "second connection");
  EXPECT_EQ(p.server->counters().connections.load(), 2);
  EXPECT_EQ(p.client->counters().bytes_up.load(), static_cast<int64_t>(data.size()) + 17);
  EXPECT_TRUE(p.server->errors().empty()) << p.server->errors().front();
}

TEST(RelayTest, KeyUpdatesHappenAfterTheConfiguredVolume) {
  EchoServer echo;
  RelayOptions so;
  so.identity = Id(0);
  so.listen = {"127.0.0.1", 0};
  so.allowed_clients = {Id(1).pub.Fingerprint()};
  so.forward = {"127.0.0.1", echo.port()};
  so.rekey_bytes = 256 * 1024;
  auto server = Relay::StartServer(so).value();
  RelayOptions co;
  co.identity = Id(1);
  co.listen = {"127.0.0.1", 0};
  co.server = {"127.0.0.1", server->port()};
  co.server_identity = Id(0).pub;
  co.rekey_bytes = 256 * 1024;
  auto client = Relay::StartClient(co).value();
  const std::string data = RandomText(2 << 20);
  EXPECT_EQ(RoundTrip(client->port(), data), data);
  EXPECT_GE(client->counters().key_updates.load(), 4);
  EXPECT_GE(server->counters().key_updates.load(), 4);
}

TEST(RelayTest, AServerThatIsNotThePinnedOneIsRefused) {
  EchoServer echo;
  Pair p = StartPair(echo.port(), /*server_id=*/2, /*client_id=*/1, /*pinned_id=*/0);
  EXPECT_EQ(RoundTrip(p.client->port(), "hello"), "");
  ASSERT_FALSE(p.client->errors().empty());
  EXPECT_THAT(p.client->errors().back(), HasSubstr("not the pinned " + Id(0).pub.Fingerprint()));
  EXPECT_EQ(p.server->counters().connections.load(), 0);
}

TEST(RelayTest, AClientThatIsNotAllowedIsRefused) {
  EchoServer echo;
  Pair p = StartPair(echo.port(), 0, 1, 0, /*allow_client=*/false);
  EXPECT_EQ(RoundTrip(p.client->port(), "hello"), "");
  for (int i = 0; i < 50 && p.server->errors().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_FALSE(p.server->errors().empty());
  EXPECT_THAT(p.server->errors().back(),
              HasSubstr("client fingerprint " + Id(1).pub.Fingerprint() + " is not allowed"));
}

TEST(RelayTest, AByteFlippedInTransitEndsTheConnectionWithAClearError) {
  EchoServer echo;
  RelayOptions so;
  so.identity = Id(0);
  so.listen = {"127.0.0.1", 0};
  so.allowed_clients = {Id(1).pub.Fingerprint()};
  so.forward = {"127.0.0.1", echo.port()};
  auto server = Relay::StartServer(so).value();
  // After the post-quantum handshake (about 9 KB from the client) and the TLS handshake: inside
  // the application data.
  Tamperer tamperer(server->port(), 200000);
  RelayOptions co;
  co.identity = Id(1);
  co.listen = {"127.0.0.1", 0};
  co.server = {"127.0.0.1", tamperer.port()};
  co.server_identity = Id(0).pub;
  auto client = Relay::StartClient(co).value();
  const std::string data = RandomText(1 << 20);
  const std::string back = RoundTrip(client->port(), data);
  EXPECT_LT(back.size(), data.size());
  EXPECT_EQ(back, data.substr(0, back.size()));  // what arrived is exactly what was sent
  for (int i = 0; i < 100 && server->errors().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_FALSE(server->errors().empty());
  EXPECT_THAT(server->errors().back(), HasSubstr("altered in transit"));
  EXPECT_EQ(server->counters().failed.load(), 1);
}

// A hand-made first handshake message (docs/security.md has the layout): the client's identity
// and an ephemeral key offer signed by `signer` with the not-after time `not_after`.
std::string Msg1(const crypto::Identity& client, const crypto::Identity& signer,
                 uint64_t not_after) {
  const crypto::KemKeyPair eph = crypto::XWing::GenerateKeyPair().value();
  crypto::Bytes when;
  for (int i = 7; i >= 0; --i) when.push_back(static_cast<uint8_t>(not_after >> (8 * i)));
  const crypto::Bytes message = crypto::Concat({crypto::AsBytes("client"), eph.public_key, when});
  const crypto::DualSignature sig = crypto::SignBoth(signer, message, "ferry-relay-v2").value();
  crypto::Bytes nonce(32, 7);
  return std::string(crypto::AsText(crypto::Concat(
      {crypto::AsBytes("FERRYRL2"), client.pub.xwing, client.pub.ml_dsa_65, client.pub.ed25519,
       eph.public_key, when, sig.ml_dsa_65, sig.ed25519, nonce})));
}

// Sends `msg1` to a relay server; returns the first bytes of its reply (empty when it refused)
// and its first error.
std::pair<std::string, std::string> Exchange(const std::string& msg1) {
  RelayOptions so;
  so.identity = Id(0);
  so.listen = {"127.0.0.1", 0};
  so.allowed_clients = {Id(1).pub.Fingerprint()};
  so.forward = {"127.0.0.1", 1};
  auto server = Relay::StartServer(so).value();
  int fd = ConnectLoopback(server->port());
  EXPECT_EQ(::send(fd, msg1.data(), msg1.size(), MSG_NOSIGNAL), static_cast<ssize_t>(msg1.size()));
  char reply[8];
  const ssize_t n = ::recv(fd, reply, sizeof reply, MSG_WAITALL);
  ::close(fd);
  for (int i = 0; i < 100 && server->errors().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(server->counters().connections.load(), 0);
  return {std::string(reply, n > 0 ? static_cast<size_t>(n) : 0),
          server->errors().empty() ? "" : server->errors().front()};
}

TEST(RelayTest, AnEphemeralKeyNotSignedByTheClientOrExpiredIsRefused) {
  const uint64_t now = static_cast<uint64_t>(::time(nullptr));
  // Claims to be the allowed client, but its key offer is signed by another identity.
  auto [reply, error] = Exchange(Msg1(Id(1), Id(2), now + 600));
  EXPECT_EQ(reply, "");
  EXPECT_THAT(error,
              HasSubstr("ephemeral key is not signed by fingerprint " + Id(1).pub.Fingerprint()));
  // Properly signed, but long expired (a recorded handshake replayed, or a clock far off).
  std::tie(reply, error) = Exchange(Msg1(Id(1), Id(1), now - 3600));
  EXPECT_EQ(reply, "");
  EXPECT_THAT(error, HasSubstr("the client's ephemeral key expired"));
  // The same message with a fresh time gets the server's answer.
  std::tie(reply, error) = Exchange(Msg1(Id(1), Id(1), now + 600));
  EXPECT_EQ(reply, "FERRYRL2");
}

TEST(RelayTest, ParsesHostPortAndRefusesAServerWithoutAllowList) {
  EXPECT_EQ(HostPort::Parse("10.0.0.5:7300", "--to").value().port, 7300);
  EXPECT_THAT(HostPort::Parse("10.0.0.5", "--to").error().message(),
              HasSubstr("expected HOST:PORT"));
  EXPECT_THAT(HostPort::Parse("h:99999", "--to").error().message(), HasSubstr("0 to 65535"));
  RelayOptions so;
  so.identity = Id(0);
  so.listen = {"127.0.0.1", 0};
  EXPECT_THAT(Relay::StartServer(so).error().message(), HasSubstr("at least one --allow"));
}

}  // namespace
}  // namespace ferry::transport
