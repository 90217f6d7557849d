// One secure channel between two ferry nodes (docs/security.md): the post-quantum handshake on a
// TCP connection, then TLS 1.3 keyed by it. The relay forwards a byte stream through it
// (relay.h); the remote copy target sends framed messages through it (remote.h).
//
//   auto ch = SecureChannel::Connect({"10.0.0.7", 7300}, me, pinned_server, {});
//   (*ch)->Write(bytes);
//   (*ch)->ReadExact(buffer, "reply");
//
// A SecureChannel is blocking and belongs to one thread at a time.
#ifndef FERRY_TRANSPORT_CHANNEL_H_
#define FERRY_TRANSPORT_CHANNEL_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/identity.h"

typedef struct ssl_st SSL;

namespace ferry::transport {

struct HostPort {
  std::string host;
  uint16_t port = 0;
  [[nodiscard]] static Result<HostPort> Parse(std::string_view text, std::string_view flag);
  std::string ToString() const;
};

// An owned file descriptor.
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
  void Reset();

 private:
  int fd_ = -1;
};

// A TCP connection to `to` (TCP_NODELAY); errors name the address.
[[nodiscard]] Result<Fd> ConnectTcp(const HostPort& to);
// A listening socket on `at`; `*bound` receives the port (useful with port 0).
[[nodiscard]] Result<Fd> ListenTcp(const HostPort& at, uint16_t* bound);

// The OpenSSL error queue as one line (and emptied).
std::string OpensslErrors();

struct RekeyPolicy {
  // A TLS key update after this many bytes sent, or this many seconds since the last one.
  int64_t bytes = int64_t{1} << 30;
  int64_t seconds = 3600;
};

class SecureChannel {
 public:
  // Client: connects to `server`, pins its fingerprint (that of `server_identity`).
  [[nodiscard]] static Result<std::unique_ptr<SecureChannel>> Connect(
      const HostPort& server, const crypto::Identity& me,
      const crypto::PublicIdentity& server_identity, RekeyPolicy rekey = {});
  // Server: the handshake on an accepted connection `fd` (not owned; it must outlive the
  // channel). Admits only the client fingerprints in `allowed`.
  [[nodiscard]] static Result<std::unique_ptr<SecureChannel>> Accept(
      int fd, const crypto::Identity& me, const std::vector<std::string>& allowed,
      RekeyPolicy rekey = {});
  ~SecureChannel();  // sends close_notify when the channel is still healthy

  // All of `data`, updating the keys per the rekey policy.
  [[nodiscard]] Status Write(crypto::ByteView data);
  // Exactly `out.size()` bytes; `what` names them in errors ("the end of the stream before the
  // reply"). A record that fails authentication is DataLoss, naming tampering in transit.
  [[nodiscard]] Status ReadExact(std::span<uint8_t> out, std::string_view what);
  // Up to `out.size()` bytes; 0 when the peer closed the channel.
  [[nodiscard]] Result<size_t> ReadSome(std::span<uint8_t> out);

  const std::string& peer() const { return peer_; }  // the peer's fingerprint
  int64_t key_updates() const { return key_updates_; }
  // The key updates since the last call (for counters summed over reused channels).
  int64_t TakeNewKeyUpdates() {
    return key_updates_ - std::exchange(key_updates_reported_, key_updates_);
  }
  int64_t bytes_sent() const { return bytes_sent_; }
  int64_t bytes_received() const { return bytes_received_; }
  int fd() const { return fd_; }
  SSL* ssl() const { return ssl_; }
  // For callers that write through ssl() themselves (the relay's non-blocking pump): counts
  // `n` bytes sent and updates the keys when the policy says so.
  // Returns whether it updated them.
  bool NoteSent(int64_t n);
  // Why the last read or write failed, from OpenSSL's answer to it.
  Status SslError(int rc);

 private:
  SecureChannel(Fd owned, int fd, SSL* ssl, std::string peer, RekeyPolicy rekey);
  Fd owned_;
  int fd_;
  SSL* ssl_;
  std::string peer_;
  RekeyPolicy rekey_;
  bool broken_ = false;
  int64_t since_update_ = 0;
  std::chrono::steady_clock::time_point last_update_;
  int64_t key_updates_ = 0;
  int64_t key_updates_reported_ = 0;
  int64_t bytes_sent_ = 0;
  int64_t bytes_received_ = 0;
};

}  // namespace ferry::transport

#endif  // FERRY_TRANSPORT_CHANNEL_H_
