#include "georank/core/base64.hpp"

#include <gtest/gtest.h>

#include "georank/core/error.hpp"

namespace georank {
namespace {

std::string decoded(std::string_view text) {
  const auto bytes = base64_decode(text);
  return {bytes.begin(), bytes.end()};
}

TEST(Base64, DecodesRfc4648VectorsPaddedOrNot) {
  // RFC 4648, section 10.
  EXPECT_EQ(decoded(""), "");
  EXPECT_EQ(decoded("Zg=="), "f");
  EXPECT_EQ(decoded("Zm8="), "fo");
  EXPECT_EQ(decoded("Zm9v"), "foo");
  EXPECT_EQ(decoded("Zm9vYg=="), "foob");
  EXPECT_EQ(decoded("Zm9vYmE="), "fooba");
  EXPECT_EQ(decoded("Zm9vYmFy"), "foobar");
  EXPECT_EQ(decoded("Zm9vYg"), "foob");
  EXPECT_EQ(decoded("Zm9v\r\nYmFy"), "foobar");
  const std::vector<std::uint8_t> all = [] {
    std::vector<std::uint8_t> v;
    for (int i = 0; i < 256; ++i) v.push_back(static_cast<std::uint8_t>(i));
    return v;
  }();
  EXPECT_EQ(base64_decode(base64_encode(all)), all);
}

TEST(Base64, RefusesWhatIsNotBase64) {
  for (const char* bad : {"Zm9v!", "Z", "Zm9vY", "Zg=a", "=Zg", "Zg===", "Zm9v Zg==", "Zg==Zg=="})
    EXPECT_THROW(base64_decode(bad), Error) << bad;
}

}  // namespace
}  // namespace georank
