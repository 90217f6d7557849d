// The secure relay: two ferry nodes, one near the source and one near the target, connected by a
// channel that stays confidential against an adversary who records it now and has a quantum
// computer later. docs/security.md gives the construction and its argument; in short:
//
//   1. A post-quantum handshake on the raw TCP connection: each side offers an ephemeral X-Wing
//      key signed by its identity (ML-DSA-65 and Ed25519; renewed every 2 minutes, so signing is
//      off the connection's critical path) and encapsulates a secret to the other's. The client
//      pins the server's fingerprint; the server admits only the client fingerprints it allows.
//   2. TLS 1.3 from OpenSSL on the same connection, with the handshake's output as its external
//      pre-shared key in psk_dhe_ke mode (so TLS adds its own ephemeral X25519), AES-256-GCM
//      records, and key updates after a configurable volume or time.
//
// RelayServer accepts such connections and forwards each to a fixed TCP address (the target
// database), or hands it to a service (RelayOptions::serve: the remote copy target of
// `ferry copy --via`); RelayClient listens locally and carries each local connection to the
// server. A `ferry copy` pointed at the client's local port therefore moves its batches through
// the relay.
#ifndef FERRY_TRANSPORT_RELAY_H_
#define FERRY_TRANSPORT_RELAY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "transport/channel.h"

namespace ferry::transport {

struct RelayCounters {
  std::atomic<int64_t> connections{0};  // secure channels established
  std::atomic<int64_t> refused{0};      // handshakes that failed (each logged with its reason)
  std::atomic<int64_t> failed{0};       // channels that ended in an error after the handshake
  std::atomic<int64_t> bytes_up{0};     // client to server, plaintext
  std::atomic<int64_t> bytes_down{0};
  std::atomic<int64_t> key_updates{0};
};

struct RelayOptions {
  crypto::Identity identity;
  HostPort listen;  // port 0: any free port (see port())
  // TLS key update after this many bytes in one direction, or this many seconds.
  int64_t rekey_bytes = int64_t{1} << 30;
  int64_t rekey_seconds = 3600;
  // Server: the client fingerprints admitted (required, non-empty), and where to forward.
  std::vector<std::string> allowed_clients;
  HostPort forward;
  // Server: instead of forwarding, each channel is handed to this, on its own thread (the remote
  // copy target, remote.h). Its error is the channel's.
  std::function<Status(SecureChannel&)> serve;
  // Client: the relay server to reach, and its public keys (its fingerprint is what is pinned).
  HostPort server;
  crypto::PublicIdentity server_identity;
};

// Either side of the relay: listens, and serves each connection on its own thread.
class Relay {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Relay>> StartServer(RelayOptions options);
  [[nodiscard]] static Result<std::unique_ptr<Relay>> StartClient(RelayOptions options);
  ~Relay();  // Stop()

  uint16_t port() const;
  const RelayCounters& counters() const;
  // The reasons of the last refused or failed connections (at most 20), newest last.
  std::vector<std::string> errors() const;
  // Stops listening, closes every connection, joins the threads.
  void Stop();

  struct State;

 private:
  explicit Relay(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace ferry::transport

#endif  // FERRY_TRANSPORT_RELAY_H_
