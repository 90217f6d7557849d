#include "transport/relay.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <openssl/ssl.h>

#include "base/log.h"

namespace ferry::transport {

namespace {

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

}  // namespace

struct Relay::State {
  bool server = false;
  RelayOptions options;
  Fd listener;
  uint16_t port = 0;
  RelayCounters counters;
  std::atomic<bool> stopping{false};
  std::thread acceptor;
  mutable std::mutex mu;
  // One thread per connection; a finished one is joined at the next accept, so a long-running
  // relay does not keep a stack per connection it ever served (and glibc reuses the stacks).
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Worker> workers;
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
  Status Pump(int plain, SecureChannel& channel) {
    constexpr size_t kLimit = 256 * 1024;
    SSL* ssl = channel.ssl();
    const int secure_fd = channel.fd();
    for (int fd : {plain, secure_fd}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    Pending to_plain, to_secure;
    std::vector<uint8_t> chunk(64 * 1024);
    bool plain_eof = false, secure_eof = false, ssl_wants_write = false;
    auto ssl_error = [&](int rc) -> Status { return channel.SslError(rc); };
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
          if (channel.NoteSent(n)) ++counters.key_updates;
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
    const RekeyPolicy rekey{options.rekey_bytes, options.rekey_seconds};
    Result<std::unique_ptr<SecureChannel>> channel =
        server ? SecureChannel::Accept(fd, options.identity, options.allowed_clients, rekey)
               : SecureChannel::Connect(options.server, options.identity, options.server_identity,
                                        rekey);
    if (!channel.has_value()) {
      ++counters.refused;
      return channel.error();
    }
    SecureChannel& ch = **channel;
    if (!server) Track(ch.fd(), true);
    ++counters.connections;
    Status st;
    Fd target;
    if (server && options.serve) {
      st = options.serve(ch);
    } else {
      int plain_fd = fd;
      if (server) {
        Result<Fd> connected = ConnectTcp(options.forward);
        if (!connected.has_value()) {
          return Status(connected.error().code(), "forward to " + options.forward.ToString() +
                                                      ": " + connected.error().message());
        }
        target = std::move(*connected);
        plain_fd = target.get();
      }
      if (server) Track(plain_fd, true);
      st = Pump(plain_fd, ch);
      if (server) Track(plain_fd, false);
    }
    if (!server) Track(ch.fd(), false);
    if (!st.ok()) {
      ++counters.failed;
      return Status(st.code(), fmt::format("channel with {} ended: {}", ch.peer(), st.message()));
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
      std::erase_if(workers, [](Worker& w) {
        if (!w.done->load()) return false;
        w.thread.join();
        return true;
      });
      auto done = std::make_shared<std::atomic<bool>>(false);
      workers.push_back({std::thread([this, done, c = std::move(conn)]() mutable {
                           Serve(std::move(c));
                           done->store(true);
                         }),
                         done});
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
  s_->listener.Reset();  // new connections are refused at once, and the port is free again
  {
    std::lock_guard lock(s_->mu);
    for (int fd : s_->open_fds) ::shutdown(fd, SHUT_RDWR);
  }
  std::vector<State::Worker> workers;
  {
    std::lock_guard lock(s_->mu);
    workers.swap(s_->workers);
  }
  for (State::Worker& w : workers) w.thread.join();
}

namespace {

Result<std::unique_ptr<Relay::State>> Prepare(RelayOptions options, bool server) {
  auto s = std::make_unique<Relay::State>();
  s->server = server;
  s->options = std::move(options);
  FERRY_ASSIGN_OR_RETURN(s->listener, ListenTcp(s->options.listen, &s->port));
  return s;
}

}  // namespace

Result<std::unique_ptr<Relay>> Relay::StartServer(RelayOptions options) {
  if (options.allowed_clients.empty()) {
    return Err(InvalidArgument(
        "a relay server needs at least one --allow FINGERPRINT: it admits no one else"));
  }
  if (options.forward.host.empty() == !options.serve) {
    return Err(InvalidArgument(
        "a relay server either forwards to an address (--forward) or serves copies (--targets), "
        "one of the two"));
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
