#include "georank/core/error.hpp"

#include <gtest/gtest.h>

namespace georank {

TEST(Error, KindsMapToDistinctNonZeroExitCodes) {
  EXPECT_EQ(exit_code(ErrorKind::invalid_argument), 2);
  EXPECT_EQ(exit_code(ErrorKind::not_found), 3);
  EXPECT_EQ(exit_code(ErrorKind::io), 4);
  EXPECT_EQ(exit_code(ErrorKind::backend), 5);
  EXPECT_EQ(exit_code(ErrorKind::timeout), 6);
}

TEST(Error, CarriesKindAndMessage) {
  const Error e(ErrorKind::not_found, "x.png: no such file");
  EXPECT_EQ(e.kind(), ErrorKind::not_found);
  EXPECT_STREQ(e.what(), "x.png: no such file");
  EXPECT_STREQ(to_string(e.kind()), "not_found");
}

}  // namespace georank
