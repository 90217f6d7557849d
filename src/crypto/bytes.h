// Byte strings for the crypto module: owned (Bytes), borrowed (ByteView), hex, and wiping.
#ifndef FERRY_CRYPTO_BYTES_H_
#define FERRY_CRYPTO_BYTES_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ferry::crypto {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}
inline std::string_view AsText(ByteView bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}
inline Bytes Concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Lower-case hex of `bytes`.
std::string Hex(ByteView bytes);
// Bytes from hex (either case); an odd length or a non-hex digit is an error naming its offset.
[[nodiscard]] Result<Bytes> FromHex(std::string_view hex);

// Overwrites `bytes` with zeros in a way the compiler does not remove (OPENSSL_cleanse).
void Wipe(std::span<uint8_t> bytes);

// Constant-time equality of two byte strings of the same length (CRYPTO_memcmp); different
// lengths compare unequal.
bool ConstantTimeEqual(ByteView a, ByteView b);

// Bytes that are wiped when they go: for secret keys and shared secrets.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t n) : bytes_(n) {}  // n zero bytes, to be filled
  explicit SecretBytes(Bytes bytes) : bytes_(std::move(bytes)) {}
  explicit SecretBytes(ByteView bytes) : bytes_(bytes.begin(), bytes.end()) {}
  SecretBytes(const SecretBytes&) = default;
  SecretBytes& operator=(const SecretBytes&) = default;
  SecretBytes(SecretBytes&&) noexcept = default;
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    Wipe(bytes_);
    bytes_ = std::move(other.bytes_);
    return *this;
  }
  ~SecretBytes() { Wipe(bytes_); }

  ByteView view() const { return bytes_; }
  uint8_t* data() { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  void resize(size_t n) { bytes_.resize(n); }
  operator ByteView() const { return bytes_; }  // NOLINT(google-explicit-constructor)

 private:
  Bytes bytes_;
};

}  // namespace ferry::crypto

#endif  // FERRY_CRYPTO_BYTES_H_
