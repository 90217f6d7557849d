#include "base/hash.h"

#include <string>

#include <gtest/gtest.h>

namespace ferry {
namespace {

// Known answers from FIPS 180-4 (NIST CSRC "Example Algorithms", SHA-256).
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbcSha256[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kTwoBlockSha256[] =
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";

TEST(HashTest, KnownAnswers) {
  EXPECT_EQ(Sha256Hex(""), kEmptySha256);
  EXPECT_EQ(Sha256Hex("abc"), kAbcSha256);
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"), kTwoBlockSha256);
}

TEST(HashTest, IncrementalEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 10'000; ++i) data += static_cast<char>(i * 7 + i / 13);
  Sha256 hasher;
  // Uneven pieces so that updates straddle the 64-byte block boundary.
  for (size_t pos = 0, step = 1; pos < data.size(); pos += step, step = step * 3 % 97 + 1) {
    hasher.Update(std::string_view(data).substr(pos, step));
  }
  EXPECT_EQ(hasher.Finish(), Sha256Of(data));
}

TEST(HashTest, FinishResetsTheHasher) {
  Sha256 hasher;
  hasher.Update("ab");
  hasher.Update("c");
  EXPECT_EQ(HexEncode(hasher.Finish()), kAbcSha256);
  EXPECT_EQ(HexEncode(hasher.Finish()), kEmptySha256);
  hasher.Update("abc");
  EXPECT_EQ(HexEncode(hasher.Finish()), kAbcSha256);
}

TEST(HashTest, HexEncode) {
  EXPECT_EQ(HexEncode(std::string_view("\x00\x01\x7f\x80\xff", 5)), "00017f80ff");
  EXPECT_EQ(HexEncode(std::string_view()), "");
}

}  // namespace
}  // namespace ferry
