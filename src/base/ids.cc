#include "base/ids.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <tuple>

#include <fmt/format.h>
#include <openssl/rand.h>

#include "base/hash.h"

namespace ferry {
namespace {

void RandomBytes(unsigned char* out, int size) {
  if (::RAND_bytes(out, size) != 1) {
    fmt::print(stderr, "ferry: OpenSSL RAND_bytes failed; cannot make unguessable ids\n");
    std::abort();
  }
}

uint64_t LoadBigEndian(const unsigned char* bytes, int size) {
  uint64_t value = 0;
  for (int i = 0; i < size; ++i) value = value << 8 | bytes[i];
  return value;
}

// A 128-bit ULID as two halves: `high` is the 48-bit timestamp then 16 random bits.
struct Ulid {
  uint64_t high = 0;
  uint64_t low = 0;

  friend bool operator<=(const Ulid& a, const Ulid& b) {
    return std::tie(a.high, a.low) <= std::tie(b.high, b.low);
  }
  Ulid Next() const {
    return low == UINT64_MAX ? Ulid{.high = high + 1, .low = 0}
                             : Ulid{.high = high, .low = low + 1};
  }
};

// ULID text: 26 characters of 5 bits each, most significant first. 26 * 5 = 130, so the first
// character holds only the top 3 bits.
std::string Encode(const Ulid& id) {
  static constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  std::string text(26, '0');
  for (int i = 0; i < 26; ++i) {
    int shift = 125 - 5 * i;  // lowest bit of this character
    uint64_t bits;
    if (shift >= 64) {
      bits = id.high >> (shift - 64);
    } else if (shift == 0) {
      bits = id.low;
    } else {
      bits = id.low >> shift | id.high << (64 - shift);
    }
    text[static_cast<size_t>(i)] = kCrockford[bits & 31];
  }
  return text;
}

}  // namespace

std::string NewId(std::string_view prefix) {
  unsigned char random[10];
  RandomBytes(random, sizeof(random));
  auto now_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  Ulid id{.high = (now_ms & 0xFFFF'FFFF'FFFF) << 16 | LoadBigEndian(random, 2),
          .low = LoadBigEndian(random + 2, 8)};
  {
    static std::mutex mu;
    static Ulid last;  // GUARDED_BY(mu)
    std::lock_guard lock(mu);
    if (id <= last) id = last.Next();
    last = id;
  }
  if (prefix.empty()) return Encode(id);
  return fmt::format("{}_{}", prefix, Encode(id));
}

namespace {

std::string HostName() {
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "unknown-host");
  return host;
}

}  // namespace

std::string HostWorkerId() {
  const std::string host = HostName();
  unsigned char random[4];
  RandomBytes(random, sizeof(random));
  return fmt::format("{}:{}:{}", host, ::getpid(),
                     HexEncode(std::string_view(reinterpret_cast<const char*>(random), 4)));
}

bool WorkerProcessGone(std::string_view worker_id) {
  // "<host>:<pid>:<hex>"
  const size_t colon = worker_id.find(':');
  if (colon == std::string_view::npos || worker_id.substr(0, colon) != HostName()) return false;
  const std::string_view rest = worker_id.substr(colon + 1);
  const std::string_view pid_text = rest.substr(0, rest.find(':'));
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
  if (ec != std::errc() || end != pid_text.data() + pid_text.size()) return false;
  if (pid <= 0 || pid == ::getpid()) return false;
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  // A zombie (dead, its parent has not reaped it yet) does no more work either.
  std::ifstream stat_file(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');  // the state follows the command name, which may hold ')'
  return paren != std::string::npos && paren + 2 < stat.size() &&
         (stat[paren + 2] == 'Z' || stat[paren + 2] == 'X');
}

}  // namespace ferry
