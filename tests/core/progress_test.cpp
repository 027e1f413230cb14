#include "georank/core/progress.hpp"

#include <gtest/gtest.h>

namespace georank {
namespace {

TEST(Progress, LineShowsPercentBarCountRateAndEta) {
  // 450 of 1000 at 10/s: 55 s left.
  EXPECT_EQ(format_progress("gallery", 450, 1000, 10.0, "img", 20),
            "gallery  45% |#########           | 450/1000  10.0 img/s  ETA 0:55");
  EXPECT_EQ(format_progress("q", 3, 4, 0.5, "img", 4), "q  75% |### | 3/4  0.50 img/s  ETA 0:02");
}

TEST(Progress, FinishedOrUnknownRateHasNoEta) {
  EXPECT_EQ(format_progress("q", 4, 4, 2.0, "img", 4), "q 100% |####| 4/4  2.00 img/s");
  EXPECT_EQ(format_progress("q", 0, 4, 0.0, "img", 4), "q   0% |    | 0/4");
  EXPECT_EQ(format_progress("q", 0, 0, 0.0, "img", 4), "q 100% |####| 0/0");
}

TEST(Progress, DurationsReadAsClockTimes) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(59.6), "1:00");
  EXPECT_EQ(format_duration(3725), "1:02:05");
  EXPECT_EQ(format_duration(-1), "?");
}

}  // namespace
}  // namespace georank
