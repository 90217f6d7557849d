// The relay on loopback: handshake latency (connect through a relay pair until the first byte
// comes back) and throughput (bytes pushed through client relay -> server relay -> a sink), beside
// the anchor: a plain OpenSSL TLS 1.3 connection with AES-256-GCM (certificate, ECDHE) moving the
// same bytes between two threads on loopback. BENCHMARKS.md, "The secure relay".
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "crypto/identity.h"
#include "transport/relay.h"

namespace ferry::transport {
namespace {

int Listen(uint16_t* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(fd, 64);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}
int Connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Accepts connections; answers one byte per connection ("echo" mode) or drains everything.
class Sink {
 public:
  explicit Sink(bool echo_first_byte) {
    fd_ = Listen(&port_);
    thread_ = std::thread([this, echo_first_byte] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int c = ::accept(fd_, nullptr, nullptr);
        std::vector<char> buf(1 << 16);
        ssize_t n;
        bool answered = false;
        while ((n = ::recv(c, buf.data(), buf.size(), 0)) > 0) {
          if (echo_first_byte && !answered) {
            ::send(c, buf.data(), 1, MSG_NOSIGNAL);
            answered = true;
          }
        }
        ::close(c);
      }
    });
  }
  ~Sink() {
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

struct RelayPair {
  std::unique_ptr<Relay> server, client;
};
RelayPair Start(uint16_t forward) {
  static const crypto::Identity a = crypto::Identity::Generate().value(),
                                b = crypto::Identity::Generate().value();
  RelayOptions so;
  so.identity = a;
  so.listen = {"127.0.0.1", 0};
  so.allowed_clients = {b.pub.Fingerprint()};
  so.forward = {"127.0.0.1", forward};
  RelayPair p;
  p.server = Relay::StartServer(so).value();
  RelayOptions co;
  co.identity = b;
  co.listen = {"127.0.0.1", 0};
  co.server = {"127.0.0.1", p.server->port()};
  co.server_identity = a.pub;
  p.client = Relay::StartClient(co).value();
  return p;
}

void BM_RelayHandshake(benchmark::State& state) {
  Sink sink(true);
  RelayPair p = Start(sink.port());
  for (auto _ : state) {
    int fd = Connect(p.client->port());
    char c = 'x';
    ::send(fd, &c, 1, MSG_NOSIGNAL);
    ::recv(fd, &c, 1, 0);
    ::close(fd);
  }
}
BENCHMARK(BM_RelayHandshake)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

constexpr size_t kBytes = size_t{256} << 20;

void BM_RelayThroughput(benchmark::State& state) {
  Sink sink(false);
  RelayPair p = Start(sink.port());
  std::vector<char> block(1 << 16, 'r');
  for (auto _ : state) {
    int fd = Connect(p.client->port());
    for (size_t sent = 0; sent < kBytes; sent += block.size())
      ::send(fd, block.data(), block.size(), MSG_NOSIGNAL);
    ::shutdown(fd, SHUT_WR);
    char c;
    ::recv(fd, &c, 1, 0);  // returns at the end of the stream: everything went through
    ::close(fd);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBytes));
}
BENCHMARK(BM_RelayThroughput)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

// The anchor: one TLS 1.3 connection (AES-256-GCM, ECDHE, a self-signed P-256 certificate),
// client thread writing, server thread reading, the same bytes.
void BM_PlainTls13Throughput(benchmark::State& state) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_sign(cert, key, EVP_sha256());
  SSL_CTX* sctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  for (SSL_CTX* c : {sctx, cctx}) {
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(c, "TLS_AES_256_GCM_SHA384");
  }
  SSL_CTX_use_certificate(sctx, cert);
  SSL_CTX_use_PrivateKey(sctx, key);
  std::vector<char> block(1 << 16, 'r');
  for (auto _ : state) {
    uint16_t port;
    int lfd = Listen(&port);
    std::thread server([&] {
      int c = ::accept(lfd, nullptr, nullptr);
      SSL* s = SSL_new(sctx);
      SSL_set_fd(s, c);
      SSL_accept(s);
      std::vector<char> buf(1 << 16);
      while (SSL_read(s, buf.data(), static_cast<int>(buf.size())) > 0) {
      }
      SSL_free(s);
      ::close(c);
    });
    int fd = Connect(port);
    SSL* s = SSL_new(cctx);
    SSL_set_fd(s, fd);
    SSL_connect(s);
    for (size_t sent = 0; sent < kBytes; sent += block.size())
      SSL_write(s, block.data(), static_cast<int>(block.size()));
    SSL_shutdown(s);
    ::shutdown(fd, SHUT_WR);
    server.join();
    SSL_free(s);
    ::close(fd);
    ::close(lfd);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBytes));
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
  X509_free(cert);
  EVP_PKEY_free(key);
}
BENCHMARK(BM_PlainTls13Throughput)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
}  // namespace ferry::transport

BENCHMARK_MAIN();
