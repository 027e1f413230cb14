#include <gtest/gtest.h>

#include <cstdio>

#include "georank/runtime/runtime.hpp"
#include "support/work_dir.hpp"

namespace {

// CTest marks a test Skipped when its output matches "georank-test: skipped" (see
// tests/CMakeLists.txt). Only a test that skipped itself prints it: gtest also reports the
// tests of a suite whose SetUpTestSuite failed as skipped, and those must fail, so CTest's
// default skip pattern ("[  SKIPPED ]") is not used.
class SkipReporter : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (!info.result()->Skipped()) return;
    const ::testing::TestSuite* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
    if (suite && suite->ad_hoc_test_result().Failed()) {
      std::printf("georank-test: %s.%s did not run: the set-up of its suite failed\n", info.test_suite_name(),
                  info.name());
      return;
    }
    std::printf("georank-test: skipped %s.%s\n", info.test_suite_name(), info.name());
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new SkipReporter);
  georank::init_runtime();
  const int rc = RUN_ALL_TESTS();
  if (rc == 0) georank::test::remove_scratch_root();
  return rc;
}
