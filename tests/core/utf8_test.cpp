#include "georank/core/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

#include "georank/core/error.hpp"

namespace georank {
namespace {

TEST(Utf8, AcceptsAsciiAndEveryEncodingLength) {
  EXPECT_FALSE(first_invalid_utf8(""));
  EXPECT_FALSE(first_invalid_utf8("satellite_40.7_-74.0.png"));
  EXPECT_FALSE(first_invalid_utf8("Z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x97\xba"));  // ü € 🗺
  EXPECT_FALSE(first_invalid_utf8("\xf4\x8f\xbf\xbf"));                             // U+10FFFF
  EXPECT_FALSE(first_invalid_utf8("\xed\x9f\xbf"));                                 // U+D7FF
}

TEST(Utf8, NamesTheOffsetOfTheFirstInvalidByte) {
  EXPECT_EQ(first_invalid_utf8("ab\x80"), 2u);              // lone continuation byte
  EXPECT_EQ(first_invalid_utf8("a\xc0\x80"), 1u);           // overlong NUL
  EXPECT_EQ(first_invalid_utf8("\xe0\x80\x80"), 0u);        // overlong 3-byte form
  EXPECT_EQ(first_invalid_utf8("x\xed\xa0\x80"), 1u);       // a surrogate
  EXPECT_EQ(first_invalid_utf8("\xf4\x90\x80\x80"), 0u);    // above U+10FFFF
  EXPECT_EQ(first_invalid_utf8("ok\xf5\x80\x80\x80"), 2u);  // no such lead byte
  EXPECT_EQ(first_invalid_utf8("\xe2\x82"), 0u);            // cut short at the end
  EXPECT_EQ(first_invalid_utf8("\xe2\x82z"), 0u);           // cut short by ASCII
  EXPECT_EQ(first_invalid_utf8("\xc3\xbc\xff"), 2u);        // after a valid character
}

TEST(Utf8, RepairReplacesEachInvalidByteAndKeepsTheRest) {
  EXPECT_EQ(to_valid_utf8("Yes \xe2\x82"), "Yes \xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(to_valid_utf8("\xc3\xbc"), "\xc3\xbc");
  EXPECT_FALSE(first_invalid_utf8(to_valid_utf8("\xff\xfe\xc0\x80 a \xed\xa0\x80")));
}

TEST(Utf8, RequireNamesTheSourceLineAndColumn) {
  try {
    require_utf8("name = \"a\"\nuser = \"b\xff\"\n", "p.toml");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("p.toml:2: not valid UTF-8 (byte 0xff at column 10)"),
              std::string::npos)
        << e.what();
  }
  try {
    require_utf8("\x80", "q.ids", 7);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q.ids:7:"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(require_utf8("fine\n", "f.txt"));
}

}  // namespace
}  // namespace georank
