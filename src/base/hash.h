// SHA-256 (FIPS 180-4) through OpenSSL's EVP interface, and hex helpers.
#ifndef FERRY_BASE_HASH_H_
#define FERRY_BASE_HASH_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry {

using Sha256Digest = std::array<uint8_t, 32>;

// Incremental SHA-256. Not thread-safe; one per stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view data);
  // Finishes the digest; the hasher is reset and may be reused.
  Sha256Digest Finish();

 private:
  void* ctx_;  // EVP_MD_CTX*, kept opaque so OpenSSL headers stay out of ours
};

Sha256Digest Sha256Of(std::string_view data);
std::string Sha256Hex(std::string_view data);

std::string HexEncode(std::string_view bytes);
template <size_t N>
std::string HexEncode(const std::array<uint8_t, N>& bytes) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(bytes.data()), N));
}

}  // namespace ferry

#endif  // FERRY_BASE_HASH_H_
