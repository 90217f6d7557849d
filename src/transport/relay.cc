#include "transport/relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "base/log.h"
#include "crypto/classical.h"
#include "crypto/pq.h"
#include "crypto/random.h"
#include "crypto/xwing.h"

namespace ferry::transport {

using crypto::Bytes;
using crypto::ByteView;

Result<HostPort> HostPort::Parse(std::string_view text, std::string_view flag) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return Err(InvalidArgument("{} {}: expected HOST:PORT, such as 127.0.0.1:7300", flag, text));
  }
  int port = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9' || (port = port * 10 + (c - '0')) > 65535) {
      return Err(InvalidArgument("{} {}: the port must be a number from 0 to 65535", flag, text));
    }
  }
  return HostPort{std::string(text.substr(0, colon)), static_cast<uint16_t>(port)};
}

std::string HostPort::ToString() const { return fmt::format("{}:{}", host, port); }

namespace {

constexpr std::string_view kMagic = "FERRYRL1";
constexpr std::string_view kPskIdentity = "ferry-relay-v1";
constexpr std::string_view kSignatureContext = "ferry-relay-v1";
constexpr size_t kPublicIdentitySize = crypto::XWing::kPublicKey + 1952 + 32;
constexpr size_t kSignaturesSize = 3309 + 64;
constexpr int kHandshakeTimeoutMs = 10000;

std::string OpensslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(e, buffer, sizeof buffer);
    if (!out.empty()) out += "; ";
    out += buffer;
  }
  return out.empty() ? "no OpenSSL error queued" : out;
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    Reset();
    fd_ = std::exchange(o.fd_, -1);
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Result<Fd> Connect(const HostPort& to) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(to.host.c_str(), std::to_string(to.port).c_str(), &hints, &res);
      rc != 0) {
    return Err(Unavailable("{}: cannot resolve: {}", to.ToString(), ::gai_strerror(rc)));
  }
  std::string last = "no address";
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    Fd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (fd.get() < 0) continue;
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      int one = 1;
      ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return fd;
    }
    last = std::strerror(errno);
  }
  ::freeaddrinfo(res);
  return Err(Unavailable("{}: cannot connect: {}", to.ToString(), last));
}

Result<Fd> Listen(const HostPort& at, uint16_t* bound) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(at.host.c_str(), std::to_string(at.port).c_str(), &hints, &res);
      rc != 0) {
    return Err(InvalidArgument("--listen {}: {}", at.ToString(), ::gai_strerror(rc)));
  }
  Fd fd(::socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const bool ok = fd.get() >= 0 && ::bind(fd.get(), res->ai_addr, res->ai_addrlen) == 0 &&
                  ::listen(fd.get(), 64) == 0;
  ::freeaddrinfo(res);
  if (!ok) return Err(Unavailable("--listen {}: {}", at.ToString(), std::strerror(errno)));
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  *bound = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return fd;
}

Status WriteAll(int fd, ByteView data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Unavailable("send: {}", std::strerror(errno));
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return OkStatus();
}

Status ReadAll(int fd, std::span<uint8_t> out, std::string_view what) {
  size_t got = 0;
  while (got < out.size()) {
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, kHandshakeTimeoutMs);
    if (r == 0)
      return DeadlineExceeded("the peer sent no {} within {} s", what, kHandshakeTimeoutMs / 1000);
    const ssize_t n = ::recv(fd, out.data() + got, out.size() - got, 0);
    if (n == 0) return Unavailable("the peer closed the connection during the {}", what);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Unavailable("recv: {}", std::strerror(errno));
    }
    got += static_cast<size_t>(n);
  }
  return OkStatus();
}

Bytes IdentityBytes(const crypto::PublicIdentity& p) {
  return crypto::Concat({p.xwing, p.ml_dsa_65, p.ed25519});
}

crypto::PublicIdentity IdentityFrom(ByteView b) {
  crypto::PublicIdentity p;
  p.xwing.assign(b.begin(), b.begin() + crypto::XWing::kPublicKey);
  p.ml_dsa_65.assign(b.begin() + crypto::XWing::kPublicKey,
                     b.begin() + crypto::XWing::kPublicKey + 1952);
  p.ed25519.assign(b.end() - 32, b.end());
  return p;
}

Result<Bytes> SignTranscript(const crypto::Identity& id, std::string_view role,
                             ByteView transcript_hash) {
  const Bytes message = crypto::Concat({crypto::AsBytes(role), transcript_hash});
  FERRY_ASSIGN_OR_RETURN(crypto::DualSignature sig,
                         crypto::SignBoth(id, message, kSignatureContext));
  return crypto::Concat({sig.ml_dsa_65, sig.ed25519});
}

Status VerifyTranscript(const crypto::PublicIdentity& peer, std::string_view role,
                        ByteView transcript_hash, ByteView sigs) {
  const Bytes message = crypto::Concat({crypto::AsBytes(role), transcript_hash});
  const crypto::DualSignature sig{Bytes(sigs.begin(), sigs.begin() + 3309),
                                  Bytes(sigs.begin() + 3309, sigs.end())};
  if (const std::string failing = crypto::FailingSignatures(peer, message, sig, kSignatureContext);
      !failing.empty()) {
    return Unauthenticated(
        "the {}'s transcript signature does not verify ({}): it does not hold the keys of "
        "fingerprint {}",
        role, failing, peer.Fingerprint());
  }
  return OkStatus();
}

// The post-quantum handshake; returns the 48-byte PSK for TLS and the peer's fingerprint.
struct Handshake {
  crypto::SecretBytes psk;
  std::string peer;
};

Result<Handshake> ClientHandshake(int fd, const crypto::Identity& me,
                                  const crypto::PublicIdentity& server) {
  FERRY_ASSIGN_OR_RETURN(crypto::Encapsulation to_server, crypto::XWing::Encapsulate(server.xwing));
  Bytes nonce(32);
  FERRY_RETURN_IF_ERROR(crypto::FillRandom(nonce));
  const Bytes msg1 =
      crypto::Concat({crypto::AsBytes(kMagic), IdentityBytes(me.pub), to_server.ciphertext, nonce});
  FERRY_RETURN_IF_ERROR(WriteAll(fd, msg1));
  Bytes msg2(kMagic.size() + kPublicIdentitySize + crypto::XWing::kCiphertext + 32);
  FERRY_RETURN_IF_ERROR(ReadAll(fd, msg2, "handshake reply"));
  if (crypto::AsText(ByteView(msg2).first(kMagic.size())) != kMagic) {
    return Err(Unauthenticated(
        "the server did not answer as a ferry relay (wrong magic): is the address right?"));
  }
  const crypto::PublicIdentity got =
      IdentityFrom(ByteView(msg2).subspan(kMagic.size(), kPublicIdentitySize));
  if (got.Fingerprint() != server.Fingerprint()) {
    return Err(
        Unauthenticated("the relay server presents fingerprint {}, not the pinned {}: refusing (a "
                        "different node, or "
                        "someone in between)",
                        got.Fingerprint(), server.Fingerprint()));
  }
  Bytes sigs(kSignaturesSize);
  FERRY_RETURN_IF_ERROR(ReadAll(fd, sigs, "server signature"));
  const Bytes transcript = crypto::Hash(crypto::Digest::kSha256, crypto::Concat({msg1, msg2}));
  FERRY_RETURN_IF_ERROR(VerifyTranscript(server, "server", transcript, sigs));
  FERRY_ASSIGN_OR_RETURN(
      crypto::SecretBytes from_server,
      crypto::XWing::Decapsulate(
          me.xwing_seed,
          ByteView(msg2).subspan(kMagic.size() + kPublicIdentitySize, crypto::XWing::kCiphertext)));
  FERRY_ASSIGN_OR_RETURN(Bytes my_sigs, SignTranscript(me, "client", transcript));
  FERRY_RETURN_IF_ERROR(WriteAll(fd, my_sigs));
  FERRY_ASSIGN_OR_RETURN(
      crypto::SecretBytes psk,
      crypto::Hkdf(crypto::Digest::kSha384, crypto::Concat({to_server.shared_secret, from_server}),
                   transcript, crypto::AsBytes("ferry relay v1 tls psk"), 48));
  return Handshake{std::move(psk), got.Fingerprint()};
}

Result<Handshake> ServerHandshake(int fd, const crypto::Identity& me,
                                  const std::vector<std::string>& allowed) {
  Bytes msg1(kMagic.size() + kPublicIdentitySize + crypto::XWing::kCiphertext + 32);
  FERRY_RETURN_IF_ERROR(ReadAll(fd, msg1, "handshake"));
  if (crypto::AsText(ByteView(msg1).first(kMagic.size())) != kMagic) {
    return Err(Unauthenticated("the peer did not speak the ferry relay handshake (wrong magic)"));
  }
  const crypto::PublicIdentity client =
      IdentityFrom(ByteView(msg1).subspan(kMagic.size(), kPublicIdentitySize));
  if (std::find(allowed.begin(), allowed.end(), client.Fingerprint()) == allowed.end()) {
    return Err(PermissionDenied("client fingerprint {} is not allowed (--allow): refused",
                                client.Fingerprint()));
  }
  FERRY_RETURN_IF_ERROR(
      crypto::MlKem(crypto::MlKemLevel::k768).CheckPublicKey(ByteView(client.xwing).first(1184)));
  FERRY_ASSIGN_OR_RETURN(
      crypto::SecretBytes from_client,
      crypto::XWing::Decapsulate(
          me.xwing_seed,
          ByteView(msg1).subspan(kMagic.size() + kPublicIdentitySize, crypto::XWing::kCiphertext)));
  FERRY_ASSIGN_OR_RETURN(crypto::Encapsulation to_client, crypto::XWing::Encapsulate(client.xwing));
  Bytes nonce(32);
  FERRY_RETURN_IF_ERROR(crypto::FillRandom(nonce));
  const Bytes msg2 =
      crypto::Concat({crypto::AsBytes(kMagic), IdentityBytes(me.pub), to_client.ciphertext, nonce});
  const Bytes transcript = crypto::Hash(crypto::Digest::kSha256, crypto::Concat({msg1, msg2}));
  FERRY_ASSIGN_OR_RETURN(Bytes sigs, SignTranscript(me, "server", transcript));
  FERRY_RETURN_IF_ERROR(WriteAll(fd, crypto::Concat({msg2, sigs})));
  Bytes client_sigs(kSignaturesSize);
  FERRY_RETURN_IF_ERROR(ReadAll(fd, client_sigs, "client signature"));
  FERRY_RETURN_IF_ERROR(VerifyTranscript(client, "client", transcript, client_sigs));
  FERRY_ASSIGN_OR_RETURN(
      crypto::SecretBytes psk,
      crypto::Hkdf(crypto::Digest::kSha384, crypto::Concat({from_client, to_client.shared_secret}),
                   transcript, crypto::AsBytes("ferry relay v1 tls psk"), 48));
  return Handshake{std::move(psk), client.Fingerprint()};
}

// TLS 1.3 with the handshake's PSK as external PSK (psk_dhe_ke: OpenSSL offers no psk_ke unless
// told to), TLS_AES_256_GCM_SHA384 only.
SSL_SESSION* PskSession(SSL* ssl, const crypto::SecretBytes& psk) {
  SSL_SESSION* session = SSL_SESSION_new();
  const SSL_CIPHER* cipher =
      SSL_CIPHER_find(ssl, reinterpret_cast<const unsigned char*>("\x13\x02"));
  if (session == nullptr || cipher == nullptr ||
      !SSL_SESSION_set1_master_key(session, psk.view().data(), psk.size()) ||
      !SSL_SESSION_set_cipher(session, cipher) ||
      !SSL_SESSION_set_protocol_version(session, TLS1_3_VERSION)) {
    SSL_SESSION_free(session);
    return nullptr;
  }
  return session;
}

int ClientPskCallback(SSL* ssl, const EVP_MD*, const unsigned char** id, size_t* idlen,
                      SSL_SESSION** sess) {
  const auto* psk = static_cast<const crypto::SecretBytes*>(SSL_get_app_data(ssl));
  *sess = PskSession(ssl, *psk);
  *id = reinterpret_cast<const unsigned char*>(kPskIdentity.data());
  *idlen = kPskIdentity.size();
  return *sess != nullptr ? 1 : 0;
}

int ServerPskCallback(SSL* ssl, const unsigned char* id, size_t idlen, SSL_SESSION** sess) {
  if (std::string_view(reinterpret_cast<const char*>(id), idlen) != kPskIdentity) return 0;
  const auto* psk = static_cast<const crypto::SecretBytes*>(SSL_get_app_data(ssl));
  *sess = PskSession(ssl, *psk);
  return *sess != nullptr ? 1 : 0;
}

// Bytes waiting to be sent: consumed from the front without moving the rest each time (a
// vector erased from the front copies its whole tail per write).
class Pending {
 public:
  size_t size() const { return data_.size() - head_; }
  bool empty() const { return size() == 0; }
  const uint8_t* data() const { return data_.data() + head_; }
  void Consume(size_t n) {
    head_ += n;
    if (head_ == data_.size()) clear();
  }
  void Append(const uint8_t* p, size_t n) {
    if (head_ > 0 && head_ >= data_.size() / 2) {
      data_.erase(data_.begin(), data_.begin() + static_cast<ptrdiff_t>(head_));
      head_ = 0;
    }
    data_.insert(data_.end(), p, p + n);
  }
  void clear() {
    data_.clear();
    head_ = 0;
  }

 private:
  std::vector<uint8_t> data_;
  size_t head_ = 0;
};

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using Ssl = std::unique_ptr<SSL, SslFree>;

}  // namespace

struct Relay::State {
  bool server = false;
  RelayOptions options;
  Fd listener;
  uint16_t port = 0;
  SSL_CTX* ctx = nullptr;
  RelayCounters counters;
  std::atomic<bool> stopping{false};
  std::thread acceptor;
  mutable std::mutex mu;
  std::vector<std::thread> workers;
  std::set<int> open_fds;
  std::deque<std::string> errors;

  void Note(std::string error) {
    ::ferry::LogWarn("relay: " + error);
    std::lock_guard lock(mu);
    errors.push_back(std::move(error));
    while (errors.size() > 20) errors.pop_front();
  }
  void Track(int fd, bool add) {
    std::lock_guard lock(mu);
    if (add) {
      open_fds.insert(fd);
    } else {
      open_fds.erase(fd);
    }
  }

  // Copies bytes both ways between `plain` and the TLS channel until either side closes. Both
  // sockets are non-blocking and each direction has its own buffer, so a slow reader on one side
  // never stops the other direction (a blocking proxy deadlocks when both directions fill).
  Status Pump(int plain, SSL* ssl, int secure_fd) {
    constexpr size_t kLimit = 256 * 1024;
    for (int fd : {plain, secure_fd}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    Pending to_plain, to_secure;
    std::vector<uint8_t> chunk(64 * 1024);
    bool plain_eof = false, secure_eof = false, ssl_wants_write = false;
    int64_t since_update = 0;
    auto last_update = std::chrono::steady_clock::now();
    auto ssl_error = [&](int rc) -> Status {
      const int e = SSL_get_error(ssl, rc);
      const std::string why = OpensslErrors();
      if (why.find("bad record mac") != std::string::npos ||
          why.find("decryption failed") != std::string::npos) {
        return DataLoss(
            "a record from the peer did not authenticate ({}): the data was altered in transit, so "
            "the "
            "connection was closed and nothing after it was delivered",
            why);
      }
      return Unavailable(
          "the secure channel broke: {}",
          e == SSL_ERROR_SYSCALL && why.starts_with("no OpenSSL") ? "the peer went away" : why);
    };
    // An orderly close: the side whose plain peer closed sends close_notify and waits (a little)
    // for the other's, so that neither sees a TCP reset where it expects the end of the stream.
    bool shutdown_sent = false;
    std::chrono::steady_clock::time_point shutdown_deadline;
    while (!stopping) {
      if (secure_eof && to_plain.empty()) {
        if (!shutdown_sent) SSL_shutdown(ssl);
        return OkStatus();
      }
      if (plain_eof && to_secure.empty() && !shutdown_sent) {
        SSL_shutdown(ssl);
        shutdown_sent = true;
        shutdown_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      }
      if (shutdown_sent && std::chrono::steady_clock::now() > shutdown_deadline) return OkStatus();
      pollfd p[2] = {{plain, 0, 0}, {secure_fd, 0, 0}};
      if (!plain_eof && to_secure.size() < kLimit) p[0].events |= POLLIN;
      if (!to_plain.empty()) p[0].events |= POLLOUT;
      if (!secure_eof && to_plain.size() < kLimit) p[1].events |= POLLIN;
      if (!to_secure.empty() || ssl_wants_write) p[1].events |= POLLOUT;
      if (SSL_pending(ssl) == 0 && ::poll(p, 2, 500) < 0 && errno != EINTR)
        return Unavailable("poll: {}", std::strerror(errno));
      // Secure to plain.
      while (!secure_eof && to_plain.size() < kLimit) {
        const int n = SSL_read(ssl, chunk.data(), static_cast<int>(chunk.size()));
        if (n > 0) {
          to_plain.Append(chunk.data(), static_cast<size_t>(n));
          (server ? counters.bytes_up : counters.bytes_down) += n;
          continue;
        }
        const int e = SSL_get_error(ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
        if (e == SSL_ERROR_ZERO_RETURN) {
          secure_eof = true;
          break;
        }
        return ssl_error(n);
      }
      while (!to_plain.empty()) {
        const ssize_t n = ::send(plain, to_plain.data(), to_plain.size(), MSG_NOSIGNAL);
        if (n > 0) {
          to_plain.Consume(static_cast<size_t>(n));
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        if (plain_eof) {  // the local side is gone: what was still coming for it has nowhere to go
          to_plain.clear();
          break;
        }
        return Unavailable("send: {}", std::strerror(errno));
      }
      // Plain to secure.
      while (!plain_eof && to_secure.size() < kLimit) {
        const ssize_t n = ::recv(plain, chunk.data(), chunk.size(), 0);
        if (n > 0) {
          to_secure.Append(chunk.data(), static_cast<size_t>(n));
          continue;
        }
        if (n == 0) {
          plain_eof = true;
          break;
        }
        if (errno == EAGAIN || errno == EINTR) break;
        return Unavailable("recv: {}", std::strerror(errno));
      }
      ssl_wants_write = false;
      while (!to_secure.empty()) {
        const int n = SSL_write(ssl, to_secure.data(),
                                static_cast<int>(std::min(to_secure.size(), chunk.size())));
        if (n > 0) {
          to_secure.Consume(static_cast<size_t>(n));
          (server ? counters.bytes_down : counters.bytes_up) += n;
          since_update += n;
          const auto now = std::chrono::steady_clock::now();
          if (since_update >= options.rekey_bytes ||
              now - last_update >= std::chrono::seconds(options.rekey_seconds)) {
            if (SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) == 1) ++counters.key_updates;
            since_update = 0;
            last_update = now;
          }
          continue;
        }
        const int e = SSL_get_error(ssl, n);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
          ssl_wants_write = true;
          break;
        }
        return ssl_error(n);
      }
    }
    return OkStatus();
  }

  void Serve(Fd accepted) {
    Track(accepted.get(), true);
    Status st = ServeOne(accepted.get());
    Track(accepted.get(), false);
    if (!st.ok() && !stopping) Note(st.message());
  }

  Status ServeOne(int fd) {
    // The client side: `fd` is the local plain connection; the server side: the peer relay.
    Fd remote;
    Result<Handshake> hs = Err(Internal("no handshake"));
    int secure_fd = fd, plain_fd = -1;
    if (server) {
      hs = ServerHandshake(fd, options.identity, options.allowed_clients);
    } else {
      FERRY_ASSIGN_OR_RETURN(remote, Connect(options.server));
      Track(remote.get(), true);
      secure_fd = remote.get();
      plain_fd = fd;
      hs = ClientHandshake(secure_fd, options.identity, options.server_identity);
    }
    if (!hs.has_value()) {
      ++counters.refused;
      if (remote.get() >= 0) Track(remote.get(), false);
      return Status(
          hs.error().code(),
          "handshake " +
              std::string(server ? "from a client" : "with " + options.server.ToString()) +
              " refused: " + hs.error().message());
    }
    Ssl ssl(SSL_new(ctx));
    SSL_set_app_data(ssl.get(), &hs->psk);
    SSL_set_fd(ssl.get(), secure_fd);
    const int rc = server ? SSL_accept(ssl.get()) : SSL_connect(ssl.get());
    if (rc != 1) {
      ++counters.refused;
      if (remote.get() >= 0) Track(remote.get(), false);
      return Unauthenticated("TLS 1.3 with the handshake's key failed: {}", OpensslErrors());
    }
    ++counters.connections;
    if (server) {
      Result<Fd> target = Connect(options.forward);
      if (!target.has_value()) {
        SSL_shutdown(ssl.get());
        return Status(target.error().code(),
                      "forward to " + options.forward.ToString() + ": " + target.error().message());
      }
      remote = std::move(*target);
      Track(remote.get(), true);
      plain_fd = remote.get();
    }
    Status st = Pump(plain_fd, ssl.get(), secure_fd);
    if (remote.get() >= 0) Track(remote.get(), false);
    if (!st.ok()) {
      ++counters.failed;
      return Status(st.code(), fmt::format("channel with {} ended: {}", hs->peer, st.message()));
    }
    return OkStatus();
  }

  void AcceptLoop() {
    while (!stopping) {
      pollfd p{listener.get(), POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (conn.get() < 0) continue;
      int one = 1;
      ::setsockopt(conn.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::lock_guard lock(mu);
      workers.emplace_back([this, c = std::move(conn)]() mutable { Serve(std::move(c)); });
    }
  }
};

Relay::Relay(std::unique_ptr<State> state) : s_(std::move(state)) {}
Relay::~Relay() { Stop(); }
uint16_t Relay::port() const { return s_->port; }
const RelayCounters& Relay::counters() const { return s_->counters; }
std::vector<std::string> Relay::errors() const {
  std::lock_guard lock(s_->mu);
  return {s_->errors.begin(), s_->errors.end()};
}

void Relay::Stop() {
  if (!s_ || s_->stopping.exchange(true)) return;
  if (s_->acceptor.joinable()) s_->acceptor.join();
  {
    std::lock_guard lock(s_->mu);
    for (int fd : s_->open_fds) ::shutdown(fd, SHUT_RDWR);
  }
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(s_->mu);
    workers.swap(s_->workers);
  }
  for (std::thread& t : workers) t.join();
  SSL_CTX_free(s_->ctx);
  s_->ctx = nullptr;
}

namespace {

Result<std::unique_ptr<Relay::State>> Prepare(RelayOptions options, bool server) {
  auto s = std::make_unique<Relay::State>();
  s->server = server;
  s->options = std::move(options);
  s->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (s->ctx == nullptr) return Err(Internal("SSL_CTX_new: {}", OpensslErrors()));
  SSL_CTX_set_min_proto_version(s->ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(s->ctx, TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(s->ctx, "TLS_AES_256_GCM_SHA384");
  SSL_CTX_set_options(s->ctx, SSL_OP_NO_TICKET);
  if (server) {
    SSL_CTX_set_psk_find_session_callback(s->ctx, ServerPskCallback);
  } else {
    SSL_CTX_set_psk_use_session_callback(s->ctx, ClientPskCallback);
  }
  FERRY_ASSIGN_OR_RETURN(s->listener, Listen(s->options.listen, &s->port));
  return s;
}

}  // namespace

Result<std::unique_ptr<Relay>> Relay::StartServer(RelayOptions options) {
  if (options.allowed_clients.empty()) {
    return Err(InvalidArgument(
        "a relay server needs at least one --allow FINGERPRINT: it admits no one else"));
  }
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<State> s, Prepare(std::move(options), true));
  State* raw = s.get();
  std::unique_ptr<Relay> relay(new Relay(std::move(s)));
  raw->acceptor = std::thread([raw] { raw->AcceptLoop(); });
  return relay;
}

Result<std::unique_ptr<Relay>> Relay::StartClient(RelayOptions options) {
  if (options.server_identity.xwing.empty())
    return Err(InvalidArgument("a relay client needs the server's recipient (--peer)"));
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<State> s, Prepare(std::move(options), false));
  State* raw = s.get();
  std::unique_ptr<Relay> relay(new Relay(std::move(s)));
  raw->acceptor = std::thread([raw] { raw->AcceptLoop(); });
  return relay;
}

}  // namespace ferry::transport
