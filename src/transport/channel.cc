#include "transport/channel.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

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

constexpr std::string_view kMagic = "FERRYRL2";
constexpr std::string_view kPskIdentity = "ferry-relay-v2";
constexpr std::string_view kSignatureContext = "ferry-relay-v2";
constexpr size_t kPublicIdentitySize = crypto::XWing::kPublicKey + 1952 + 32;
constexpr size_t kSignaturesSize = 3309 + 64;
constexpr int kHandshakeTimeoutMs = 10000;

}  // namespace

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

void Fd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<Fd> ConnectTcp(const HostPort& to) {
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

Result<Fd> ListenTcp(const HostPort& at, uint16_t* bound) {
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

namespace {

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

// ---- Signed ephemeral keys. Each node signs a fresh X-Wing key pair with its identity (ML-DSA-65
// and Ed25519, both) and offers it in its handshake message; the peer encapsulates to it. Signing
// is the slow step (about 1.1 ms for ML-DSA-65), so a key pair serves the handshakes of up to
// kEphemeralUses connections or kEphemeralSeconds, whichever comes first, and a verified peer key
// is remembered: the signatures leave the connection's critical path, and a recording of a
// connection stays safe once both ephemeral private keys are gone (forward secrecy per key
// lifetime, not per connection).
using ByteSpan = std::span<uint8_t>;
constexpr int64_t kEphemeralSeconds = 120;
constexpr int kEphemeralUses = 1000;
// An offered key is accepted until its not-after time (its creation plus this), with this much
// clock difference between the nodes tolerated.
constexpr int64_t kEphemeralValiditySeconds = 600;
constexpr int64_t kClockSkewSeconds = 300;
constexpr size_t kOfferSize = crypto::XWing::kPublicKey + 8 + kSignaturesSize;

int64_t UnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void PutU64(Bytes* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint64_t GetU64(ByteView b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | b[static_cast<size_t>(i)];
  return v;
}

// What an identity signs to vouch for an ephemeral key: its role, the key, its not-after time.
Bytes OfferMessage(std::string_view role, ByteView public_key, uint64_t not_after) {
  Bytes m = crypto::Concat({crypto::AsBytes(role), public_key});
  PutU64(&m, not_after);
  return m;
}

struct Ephemeral {
  crypto::XWing::ExpandedKey secret;  // the X-Wing private key, expanded once
  Bytes offer;                        // public key || not-after || ML-DSA-65 || Ed25519 signatures
  int64_t created = 0;
  int uses = 0;
};

// This process's current ephemeral key per (identity, role), renewed as above.
Result<std::shared_ptr<const Ephemeral>> CurrentEphemeral(const crypto::Identity& me,
                                                          std::string_view role) {
  static std::mutex mu;
  static auto* keys = new std::map<std::string, std::shared_ptr<Ephemeral>>();
  const std::string slot = me.pub.Fingerprint() + "/" + std::string(role);
  const int64_t now = UnixSeconds();
  std::lock_guard lock(mu);
  std::shared_ptr<Ephemeral>& e = (*keys)[slot];
  if (!e || e->uses >= kEphemeralUses || now - e->created >= kEphemeralSeconds) {
    FERRY_ASSIGN_OR_RETURN(crypto::KemKeyPair pair, crypto::XWing::GenerateKeyPair());
    const uint64_t not_after = static_cast<uint64_t>(now + kEphemeralValiditySeconds);
    FERRY_ASSIGN_OR_RETURN(
        crypto::DualSignature sig,
        crypto::SignBoth(me, OfferMessage(role, pair.public_key, not_after), kSignatureContext));
    FERRY_ASSIGN_OR_RETURN(crypto::XWing::ExpandedKey expanded,
                           crypto::XWing::Expand(pair.secret_key));
    Bytes offer = pair.public_key;
    PutU64(&offer, not_after);
    offer.insert(offer.end(), sig.ml_dsa_65.begin(), sig.ml_dsa_65.end());
    offer.insert(offer.end(), sig.ed25519.begin(), sig.ed25519.end());
    e = std::make_shared<Ephemeral>(
        Ephemeral{.secret = std::move(expanded), .offer = std::move(offer), .created = now});
  }
  ++e->uses;
  return std::shared_ptr<const Ephemeral>(e);
}

// Checks the peer's offered ephemeral key: signed by `peer` for `role`, not expired, a valid
// ML-KEM key. Offers already checked are remembered (the same offer serves many connections).
Status CheckOffer(const crypto::PublicIdentity& peer, std::string_view role, ByteView offer) {
  const ByteView public_key = offer.first(crypto::XWing::kPublicKey);
  const uint64_t not_after = GetU64(offer.subspan(crypto::XWing::kPublicKey, 8));
  const int64_t now = UnixSeconds();
  if (static_cast<int64_t>(not_after) + kClockSkewSeconds < now) {
    return Unauthenticated(
        "the {}'s ephemeral key expired {} s ago (fingerprint {}): a replayed handshake, or the "
        "two nodes' clocks differ by more than {} s (check NTP on both)",
        role, now - static_cast<int64_t>(not_after), peer.Fingerprint(), kClockSkewSeconds);
  }
  static std::mutex mu;
  static auto* verified = new std::set<std::string>();
  const Bytes digest = crypto::Hash(
      crypto::Digest::kSha256, crypto::Concat({IdentityBytes(peer), crypto::AsBytes(role), offer}));
  const std::string id(crypto::AsText(digest));
  {
    std::lock_guard lock(mu);
    if (verified->contains(id)) return OkStatus();
  }
  const ByteView sigs = offer.subspan(crypto::XWing::kPublicKey + 8);
  const crypto::DualSignature sig{Bytes(sigs.begin(), sigs.begin() + 3309),
                                  Bytes(sigs.begin() + 3309, sigs.end())};
  if (const std::string failing = crypto::FailingSignatures(
          peer, OfferMessage(role, public_key, not_after), sig, kSignatureContext);
      !failing.empty()) {
    return Unauthenticated(
        "the {}'s ephemeral key is not signed by fingerprint {} ({} does not verify): it does not "
        "hold that identity's keys",
        role, peer.Fingerprint(), failing);
  }
  FERRY_RETURN_IF_ERROR(
      crypto::MlKem(crypto::MlKemLevel::k768).CheckPublicKey(public_key.first(1184)));
  std::lock_guard lock(mu);
  if (verified->size() > 4096) verified->clear();
  verified->insert(id);
  return OkStatus();
}

// The post-quantum handshake; returns the 48-byte PSK for TLS and the peer's fingerprint.
struct Handshake {
  crypto::SecretBytes psk;
  std::string peer;
};

// msg1 = magic | client identity | client offer | nonce;  msg2 = magic | server identity | server
// offer | ct1 (to the client's ephemeral key) | nonce;  msg3 = ct2 (to the server's ephemeral
// key). PSK = HKDF-SHA-384(k1 || k2, salt SHA-256(msg1 || msg2 || msg3)).
constexpr size_t kMsg1Size = kMagic.size() + kPublicIdentitySize + kOfferSize + 32;
constexpr size_t kMsg2Size = kMsg1Size + crypto::XWing::kCiphertext;

Result<crypto::SecretBytes> DerivePsk(ByteView k1, ByteView k2, ByteView msg1, ByteView msg2,
                                      ByteView msg3) {
  const Bytes transcript =
      crypto::Hash(crypto::Digest::kSha256, crypto::Concat({msg1, msg2, msg3}));
  return crypto::Hkdf(crypto::Digest::kSha384, crypto::Concat({k1, k2}), transcript,
                      crypto::AsBytes("ferry relay v2 tls psk"), 48);
}

Result<Handshake> ClientHandshake(int fd, const crypto::Identity& me,
                                  const crypto::PublicIdentity& server) {
  FERRY_ASSIGN_OR_RETURN(std::shared_ptr<const Ephemeral> mine, CurrentEphemeral(me, "client"));
  Bytes nonce(32);
  FERRY_RETURN_IF_ERROR(crypto::FillRandom(nonce));
  const Bytes msg1 =
      crypto::Concat({crypto::AsBytes(kMagic), IdentityBytes(me.pub), mine->offer, nonce});
  FERRY_RETURN_IF_ERROR(WriteAll(fd, msg1));
  Bytes msg2(kMsg2Size);
  FERRY_RETURN_IF_ERROR(ReadAll(fd, ByteSpan(msg2).first(kMagic.size()), "handshake reply"));
  if (crypto::AsText(ByteView(msg2).first(kMagic.size())) != kMagic) {
    return Err(Unauthenticated(
        "the server did not answer as a ferry relay of this version (its first bytes are not {}): "
        "is the address right, and do both nodes run the same ferry?",
        kMagic));
  }
  FERRY_RETURN_IF_ERROR(ReadAll(fd, ByteSpan(msg2).subspan(kMagic.size()), "handshake reply"));
  const crypto::PublicIdentity got =
      IdentityFrom(ByteView(msg2).subspan(kMagic.size(), kPublicIdentitySize));
  if (got.Fingerprint() != server.Fingerprint()) {
    return Err(
        Unauthenticated("the relay server presents fingerprint {}, not the pinned {}: refusing (a "
                        "different node, or someone in between)",
                        got.Fingerprint(), server.Fingerprint()));
  }
  const ByteView offer = ByteView(msg2).subspan(kMagic.size() + kPublicIdentitySize, kOfferSize);
  FERRY_RETURN_IF_ERROR(CheckOffer(server, "server", offer));
  FERRY_ASSIGN_OR_RETURN(
      crypto::SecretBytes k1,
      crypto::XWing::Decapsulate(mine->secret,
                                 ByteView(msg2).subspan(kMsg1Size, crypto::XWing::kCiphertext)));
  FERRY_ASSIGN_OR_RETURN(crypto::Encapsulation to_server,
                         crypto::XWing::Encapsulate(offer.first(crypto::XWing::kPublicKey)));
  FERRY_RETURN_IF_ERROR(WriteAll(fd, to_server.ciphertext));
  FERRY_ASSIGN_OR_RETURN(crypto::SecretBytes psk,
                         DerivePsk(k1, to_server.shared_secret, msg1, msg2, to_server.ciphertext));
  return Handshake{std::move(psk), got.Fingerprint()};
}

Result<Handshake> ServerHandshake(int fd, const crypto::Identity& me,
                                  const std::vector<std::string>& allowed) {
  Bytes msg1(kMsg1Size);
  FERRY_RETURN_IF_ERROR(ReadAll(fd, ByteSpan(msg1).first(kMagic.size()), "handshake"));
  if (crypto::AsText(ByteView(msg1).first(kMagic.size())) != kMagic) {
    return Err(Unauthenticated(
        "the peer did not speak this version of the ferry relay handshake (its first bytes are "
        "not {}): an older ferry, or not a ferry relay client",
        kMagic));
  }
  FERRY_RETURN_IF_ERROR(ReadAll(fd, ByteSpan(msg1).subspan(kMagic.size()), "handshake"));
  const crypto::PublicIdentity client =
      IdentityFrom(ByteView(msg1).subspan(kMagic.size(), kPublicIdentitySize));
  if (std::find(allowed.begin(), allowed.end(), client.Fingerprint()) == allowed.end()) {
    return Err(PermissionDenied("client fingerprint {} is not allowed (--allow): refused",
                                client.Fingerprint()));
  }
  const ByteView offer = ByteView(msg1).subspan(kMagic.size() + kPublicIdentitySize, kOfferSize);
  FERRY_RETURN_IF_ERROR(CheckOffer(client, "client", offer));
  FERRY_ASSIGN_OR_RETURN(std::shared_ptr<const Ephemeral> mine, CurrentEphemeral(me, "server"));
  FERRY_ASSIGN_OR_RETURN(crypto::Encapsulation to_client,
                         crypto::XWing::Encapsulate(offer.first(crypto::XWing::kPublicKey)));
  Bytes nonce(32);
  FERRY_RETURN_IF_ERROR(crypto::FillRandom(nonce));
  const Bytes msg2 = crypto::Concat(
      {crypto::AsBytes(kMagic), IdentityBytes(me.pub), mine->offer, nonce, to_client.ciphertext});
  FERRY_RETURN_IF_ERROR(WriteAll(fd, msg2));
  Bytes msg3(crypto::XWing::kCiphertext);
  FERRY_RETURN_IF_ERROR(ReadAll(fd, msg3, "handshake's last message"));
  FERRY_ASSIGN_OR_RETURN(crypto::SecretBytes k2, crypto::XWing::Decapsulate(mine->secret, msg3));
  FERRY_ASSIGN_OR_RETURN(crypto::SecretBytes psk,
                         DerivePsk(to_client.shared_secret, k2, msg1, msg2, msg3));
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

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using Ssl = std::unique_ptr<SSL, SslFree>;

}  // namespace
namespace {

// One TLS context per role for the process: TLS 1.3 only, TLS_AES_256_GCM_SHA384, no tickets,
// the PSK callbacks. Created on first use (thread-safe static initialisation).
SSL_CTX* Context(bool server) {
  static SSL_CTX* const client = [] {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == nullptr) return ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_256_GCM_SHA384");
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_psk_use_session_callback(ctx, ClientPskCallback);
    return ctx;
  }();
  static SSL_CTX* const server_ctx = [] {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) return ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_256_GCM_SHA384");
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_psk_find_session_callback(ctx, ServerPskCallback);
    return ctx;
  }();
  return server ? server_ctx : client;
}

// OpenSSL writes to its socket with write(), which raises SIGPIPE when the peer has gone and
// would end the process; a channel reports a gone peer as an error instead. Ignored once, the
// first time a channel starts (the disposition is process-wide; ferry handles no SIGPIPE).
void IgnoreSigpipe() {
  static const bool once = [] {
    ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)once;
}

// TLS on `fd` keyed by the handshake's PSK. The PSK is only read during SSL_connect/accept.
Result<Ssl> StartTls(int fd, const Handshake& hs, bool server) {
  IgnoreSigpipe();
  SSL_CTX* ctx = Context(server);
  if (ctx == nullptr) return Err(Internal("SSL_CTX_new: {}", OpensslErrors()));
  Ssl ssl(SSL_new(ctx));
  if (!ssl) return Err(Internal("SSL_new: {}", OpensslErrors()));
  SSL_set_app_data(ssl.get(), const_cast<crypto::SecretBytes*>(&hs.psk));
  SSL_set_fd(ssl.get(), fd);
  const int rc = server ? SSL_accept(ssl.get()) : SSL_connect(ssl.get());
  SSL_set_app_data(ssl.get(), nullptr);
  if (rc != 1) {
    return Err(Unauthenticated("TLS 1.3 with the handshake's key failed: {}", OpensslErrors()));
  }
  return ssl;
}

}  // namespace

SecureChannel::SecureChannel(Fd owned, int fd, SSL* ssl, std::string peer, RekeyPolicy rekey)
    : owned_(std::move(owned)),
      fd_(fd),
      ssl_(ssl),
      peer_(std::move(peer)),
      rekey_(rekey),
      last_update_(std::chrono::steady_clock::now()) {}

SecureChannel::~SecureChannel() {
  if (!broken_) SSL_shutdown(ssl_);
  SSL_free(ssl_);
}

Result<std::unique_ptr<SecureChannel>> SecureChannel::Connect(
    const HostPort& server, const crypto::Identity& me,
    const crypto::PublicIdentity& server_identity, RekeyPolicy rekey) {
  FERRY_ASSIGN_OR_RETURN(Fd fd, ConnectTcp(server));
  Result<Handshake> hs = ClientHandshake(fd.get(), me, server_identity);
  if (!hs.has_value()) {
    return Err(Status(hs.error().code(),
                      "handshake with " + server.ToString() + " refused: " + hs.error().message()));
  }
  FERRY_ASSIGN_OR_RETURN(Ssl ssl, StartTls(fd.get(), *hs, /*server=*/false));
  const int raw = fd.get();
  return std::unique_ptr<SecureChannel>(
      new SecureChannel(std::move(fd), raw, ssl.release(), std::move(hs->peer), rekey));
}

Result<std::unique_ptr<SecureChannel>> SecureChannel::Accept(
    int fd, const crypto::Identity& me, const std::vector<std::string>& allowed,
    RekeyPolicy rekey) {
  Result<Handshake> hs = ServerHandshake(fd, me, allowed);
  if (!hs.has_value()) {
    return Err(
        Status(hs.error().code(), "handshake from a client refused: " + hs.error().message()));
  }
  FERRY_ASSIGN_OR_RETURN(Ssl ssl, StartTls(fd, *hs, /*server=*/true));
  return std::unique_ptr<SecureChannel>(
      new SecureChannel(Fd(), fd, ssl.release(), std::move(hs->peer), rekey));
}

Status SecureChannel::SslError(int rc) {
  broken_ = true;
  const int e = SSL_get_error(ssl_, rc);
  const std::string why = OpensslErrors();
  if (why.find("bad record mac") != std::string::npos ||
      why.find("decryption failed") != std::string::npos) {
    return DataLoss(
        "a record from the peer did not authenticate ({}): the data was altered in transit, so "
        "the connection was closed and nothing after it was delivered",
        why);
  }
  return Unavailable(
      "the secure channel broke: {}",
      e == SSL_ERROR_SYSCALL && why.starts_with("no OpenSSL") ? "the peer went away" : why);
}

bool SecureChannel::NoteSent(int64_t n) {
  bytes_sent_ += n;
  since_update_ += n;
  const auto now = std::chrono::steady_clock::now();
  if (since_update_ < rekey_.bytes && now - last_update_ < std::chrono::seconds(rekey_.seconds)) {
    return false;
  }
  since_update_ = 0;
  last_update_ = now;
  if (SSL_key_update(ssl_, SSL_KEY_UPDATE_REQUESTED) != 1) return false;
  ++key_updates_;
  return true;
}

Status SecureChannel::Write(ByteView data) {
  while (!data.empty()) {
    const int chunk = static_cast<int>(std::min<size_t>(data.size(), 1 << 20));
    const int n = SSL_write(ssl_, data.data(), chunk);
    if (n <= 0) return SslError(n);
    data = data.subspan(static_cast<size_t>(n));
    NoteSent(n);
  }
  return OkStatus();
}

Result<size_t> SecureChannel::ReadSome(std::span<uint8_t> out) {
  const int n = SSL_read(ssl_, out.data(), static_cast<int>(std::min<size_t>(out.size(), 1 << 30)));
  if (n > 0) {
    bytes_received_ += n;
    return static_cast<size_t>(n);
  }
  if (SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN) return size_t{0};
  return Err(SslError(n));
}

Status SecureChannel::ReadExact(std::span<uint8_t> out, std::string_view what) {
  size_t got = 0;
  while (got < out.size()) {
    FERRY_ASSIGN_OR_RETURN(size_t n, ReadSome(out.subspan(got)));
    if (n == 0) {
      broken_ = true;
      return Unavailable("the peer {} closed the channel before {}", peer_, what);
    }
    got += n;
  }
  return OkStatus();
}

}  // namespace ferry::transport
