#include "crypto/random.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/hash.h"

namespace ferry::crypto {
namespace {

struct FixedSource {
  const uint8_t* next = nullptr;
  size_t left = 0;
  bool active = false;
};
thread_local FixedSource fixed;

}  // namespace

Status FillRandom(std::span<uint8_t> out) {
  if (out.empty()) return OkStatus();
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return Internal("OpenSSL's random generator failed (RAND_bytes); is /dev/urandom readable?");
  }
  return OkStatus();
}

Result<SecretBytes> RandomSecret(size_t n) {
  SecretBytes secret(size_t{n});
  FERRY_RETURN_IF_ERROR(FillRandom({secret.data(), n}));
  return secret;
}

ScopedRandomBytes::ScopedRandomBytes(ByteView bytes) {
  if (fixed.active) {
    std::fputs("ferry: ScopedRandomBytes nested on one thread\n", stderr);
    std::abort();
  }
  fixed = {bytes.data(), bytes.size(), true};
}

ScopedRandomBytes::~ScopedRandomBytes() { fixed = {}; }

size_t ScopedRandomBytes::remaining() const { return fixed.left; }

std::string Hex(ByteView bytes) { return HexEncode(AsText(bytes)); }

Result<Bytes> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return Err(InvalidArgument("hex text has an odd number of digits ({})", hex.size()));
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      const size_t at = hi < 0 ? 2 * i : 2 * i + 1;
      return Err(InvalidArgument("'{}' at offset {} is not a hex digit", hex[at], at));
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

void Wipe(std::span<uint8_t> bytes) {
  if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
}

bool ConstantTimeEqual(ByteView a, ByteView b) {
  return a.size() == b.size() && (a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0);
}

}  // namespace ferry::crypto

// PQClean's source of randomness (common/randombytes.h: randombytes() is this name), ours.
extern "C" int PQCLEAN_randombytes(uint8_t* output, size_t n) {
  using ferry::crypto::fixed;
  if (fixed.active) {
    if (n > fixed.left) {
      std::fputs("ferry: a seeded PQClean call drew more random bytes than its seed holds\n",
                 stderr);
      std::abort();
    }
    std::memcpy(output, fixed.next, n);
    fixed.next += n;
    fixed.left -= n;
    return 0;
  }
  if (n == 0) return 0;
  if (RAND_bytes(output, static_cast<int>(n)) != 1) {
    std::fputs("ferry: OpenSSL's random generator failed inside PQClean\n", stderr);
    std::abort();
  }
  return 0;
}
