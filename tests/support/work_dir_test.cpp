// The test harness itself: shared fixtures are made once however many processes ask at once,
// and a suite whose set-up fails fails its tests (CTest would count a skip as harmless).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "support/subprocess.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// Child process: asks for the fixture named by GEORANK_TEST_FIXTURE_NAME; the maker logs its
// pid and takes a while, so concurrent children overlap.
TEST(SharedFixtureChild, DISABLED_AskForTheFixture) {
  const char* name = std::getenv("GEORANK_TEST_FIXTURE_NAME");
  ASSERT_NE(name, nullptr);
  const std::string dir = test::shared_fixture(name, [&](const std::string& tmp) {
    std::ofstream(fs::path(tmp).parent_path() / (std::string(name) + ".makers"), std::ios::app)
        << ::getpid() << "\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::ofstream(fs::path(tmp) / "payload.txt") << "made by " << ::getpid();
  });
  std::ifstream in(fs::path(dir) / "payload.txt");
  std::string payload;
  std::getline(in, payload);
  EXPECT_THAT(payload, HasSubstr("made by "));
}

TEST(SharedFixture, FourProcessesAskingAtOnceGetOneFixtureMadeOnce) {
  const std::string name = "shared-fixture-test-" + std::to_string(::getpid());
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  const std::string child = "GEORANK_TEST_FIXTURE_NAME=" + name + " " + test::shell_quote(self) +
                            " --gtest_also_run_disabled_tests --gtest_filter=SharedFixtureChild.*";
  std::string all;
  for (int i = 0; i < 4; ++i) all += "(" + child + " >/dev/null 2>&1 || echo child-failed) & ";
  const auto r = test::run_command(all + "wait");
  EXPECT_THAT(r.out, Not(HasSubstr("child-failed"))) << r.err;
  const fs::path root = fs::path(GEORANK_TEST_WORK_DIR) / "fixtures";
  std::ifstream makers(root / (name + ".makers"));
  int n_lines = 0;
  for (std::string line; std::getline(makers, line);) ++n_lines;
  EXPECT_EQ(n_lines, 1);
  EXPECT_TRUE(fs::exists(root / name / "payload.txt"));
  for (const auto& entry : fs::directory_iterator(root))  // no temporary left behind
    EXPECT_THAT(entry.path().filename().string(), Not(HasSubstr(name + ".tmp-")));
  fs::remove_all(root / name);
  fs::remove(root / (name + ".makers"));
  fs::remove(root / (name + ".lock"));
}

TEST(SharedFixture, AFailedMakeLeavesNothingAndTheNextCallerMakesIt) {
  const std::string name = "shared-fixture-failing-" + std::to_string(::getpid());
  EXPECT_THROW(test::shared_fixture(name, [](const std::string&) { throw std::runtime_error("broken"); }),
               std::runtime_error);
  const fs::path root = fs::path(GEORANK_TEST_WORK_DIR) / "fixtures";
  EXPECT_FALSE(fs::exists(root / name));
  const std::string dir =
      test::shared_fixture(name, [](const std::string& tmp) { std::ofstream(fs::path(tmp) / "ok") << 1; });
  EXPECT_TRUE(fs::exists(fs::path(dir) / "ok"));
  fs::remove_all(dir);
  fs::remove(root / (name + ".lock"));
}

class DISABLED_BrokenSuiteSetUp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { FAIL() << "deliberately broken suite set-up"; }
};

TEST_F(DISABLED_BrokenSuiteSetUp, WouldPass) {
  SUCCEED();
}

TEST(TestHarness, ASuiteWhoseSetUpFailsFailsItsTestsRatherThanSkippingThem) {
  const auto r = test::run_own_tests("DISABLED_BrokenSuiteSetUp.*");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("did not run: the set-up of its suite failed"));
  // The marker CTest reads as Skipped (tests/CMakeLists.txt) is not printed.
  EXPECT_THAT(r.out, Not(HasSubstr("georank-test: skipped ")));
}

TEST(DISABLED_SkippingTest, SkipsItself) {
  GTEST_SKIP() << "on purpose";
}

TEST(TestHarness, ATestThatSkipsItselfIsMarkedForCTest) {
  const auto r = test::run_own_tests("DISABLED_SkippingTest.*");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("georank-test: skipped DISABLED_SkippingTest.SkipsItself"));
}

}  // namespace
}  // namespace georank
