// The CLI's exit statuses, one row of README.md's "Exit codes" table per test.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/fake_openai_server.hpp"
#include "support/subprocess.hpp"

namespace georank {
namespace {

using test::shell_quote;
using ::testing::HasSubstr;

test::ProcessResult georank(const std::string& args) {
  return test::run_georank(args);
}

TEST(ExitCodes, HelpAndVersionExitZero) {
  EXPECT_EQ(georank("--version").exit_code, 0);
  EXPECT_EQ(georank("--help").exit_code, 0);
  const auto r = georank("score --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--choices"));
}

TEST(ExitCodes, FlagErrorsAreBadInputNotCli11sOwnCodes) {
  auto r = georank("score --no-such-flag");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--no-such-flag"));
  r = georank("simulate --queries many");  // CLI11 calls this a conversion error (106)
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--queries"));
  r = georank("fixtures vlm");  // a required option missing
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--out"));
}

TEST(ExitCodes, AnUnknownSubcommandIsNamedAsSuch) {
  auto r = georank("nosuchcmd");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown subcommand 'nosuchcmd'"));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("A subcommand is required")));
  r = georank("fixtures nosuchfixture --out x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown subcommand 'nosuchfixture' of 'georank fixtures'"));
  r = georank("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("subcommand is required"));
}

TEST(ExitCodes, ABadValueIsBadInputNamingIt) {
  // 20 digits: past every integer type, where an unchecked std::stol threw out_of_range (exit 1).
  const auto r = georank("score --server http://127.0.0.1:99999999999999999999 --prompt hi --choices A,B");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("bad port '99999999999999999999'"));
}

TEST(ExitCodes, A64BitFlagPastItsTypeIsBadInputNotSilentlyItsMaximum) {
  const auto dir = test::fresh_work_dir("exit-codes-seed");
  auto r = georank("fixtures vlm --seed 99999999999999999999 --out " + shell_quote(dir + "/vlm"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--seed"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/vlm"));
  r = georank("simulate --queries 2 --seed -1");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--seed"));
}

TEST(ExitCodes, AMissingFileIsNotFound) {
  // CLI11's existing-file check (exit 105 before) and the library's own not_found.
  auto r = georank("run --config /nonexistent/georank/run.toml");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--config"));
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/georank/run.toml"));
  r = georank("eval --dataset vigor:/nonexistent/georank/vigor --rankings /dev/null");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/georank/vigor"));
}

TEST(ExitCodes, AnUnwritableOutputOrADirectoryGivenAsAFileIsAnIoError) {
  const auto dir = test::fresh_work_dir("exit-codes-io");
  std::ofstream(dir + "/plain-file") << "not a folder\n";
  // create_directories under a regular file: a std::filesystem::filesystem_error (exit 1 before).
  auto r = georank("fixtures dataset --queries 2 --out " + shell_quote(dir + "/plain-file/vigor"));
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("plain-file"));
  r = georank("run --config " + shell_quote(dir));  // CLI11's existing-file check: 105 before
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("directory"));
}

TEST(ExitCodes, AnUnreachableServerIsABackendError) {
  const auto r = georank(
      "score --server http://127.0.0.1:1 --server-model m --dialect openai --timeout 2 --retries 0 "
      "--prompt hi --choices A,B");
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_THAT(r.err, HasSubstr("http://127.0.0.1:1"));
}

TEST(ExitCodes, AServerThatAcceptsButNeverAnswersIsATimeout) {
  using Clock = std::chrono::steady_clock;
  test::FakeOpenAiServer server([&](const httplib::Request&, httplib::Response& res, int) {
    const auto until = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < until && !server.stopping().load())
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    res.status = 500;
  });
  const auto start = Clock::now();
  const auto r = georank("score --server " + server.url() +
                         " --server-model fake-model --dialect openai --timeout 0.5 --retries 0 --prompt hi "
                         "--choices A,B");
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_THAT(r.err, HasSubstr("no answer within 0.5 s"));
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 4.0);
}

TEST(ExitCodes, ADatasetThatIsNotCleanIsBadInput) {
  const auto dir = test::fresh_work_dir("exit-codes-dataset");
  const auto root = dir + "/vigor";
  ASSERT_EQ(georank("fixtures dataset --queries 2 --out " + shell_quote(root)).exit_code, 0);
  std::size_t n_removed = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().extension() == ".png" &&
        entry.path().string().find("satellite") != std::string::npos) {
      std::filesystem::remove(entry.path());
      ++n_removed;
      break;
    }
  }
  ASSERT_EQ(n_removed, 1u);
  const auto r = georank("dataset check --dataset vigor:" + shell_quote(root));
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("NOT clean"));
}

}  // namespace
}  // namespace georank
