#include "georank/core/output_check.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "georank/core/error.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

ErrorKind kind_of(const std::vector<PathArgument>& outputs, const std::vector<PathArgument>& inputs,
                  std::string* message = nullptr) {
  try {
    check_outputs(outputs, inputs);
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "no error";
  return ErrorKind::backend;
}

TEST(OutputCheck, AWritableNewFileInAMissingFolderPassesAndTheFolderIsMade) {
  const std::string dir = test::fresh_work_dir("output-check-ok");
  check_outputs(std::vector<PathArgument>{{"--out", dir + "/new/sub/out.jsonl"}},
                std::vector<PathArgument>{{"--candidates", dir + "/in.jsonl"}});
  EXPECT_TRUE(fs::is_directory(dir + "/new/sub"));
  EXPECT_FALSE(fs::exists(dir + "/new/sub/out.jsonl"));  // nothing is left behind
  EXPECT_TRUE(fs::is_empty(dir + "/new/sub"));
}

TEST(OutputCheck, AFolderOrAPathBelowAFileIsRefusedNamingTheFlag) {
  const std::string dir = test::fresh_work_dir("output-check-bad");
  std::ofstream(dir + "/file") << "x";
  std::string message;
  EXPECT_EQ(kind_of({{"--out", dir}}, {}, &message), ErrorKind::invalid_argument);
  EXPECT_THAT(message, ::testing::HasSubstr("--out " + dir + " is a folder"));
  EXPECT_EQ(kind_of({{"--out", dir + "/file/out.jsonl"}}, {}, &message), ErrorKind::io);
  EXPECT_THAT(message, ::testing::HasSubstr("--out"));
  EXPECT_EQ(kind_of({{"--out", ""}}, {}), ErrorKind::invalid_argument);
}

TEST(OutputCheck, AnOutputThatIsAnInputThroughAnyPathIsRefused) {
  const std::string dir = test::fresh_work_dir("output-check-same");
  std::ofstream(dir + "/in.jsonl") << "x";
  fs::create_symlink(dir + "/in.jsonl", dir + "/link.jsonl");
  fs::create_directories(dir + "/sub");
  std::string message;
  for (const std::string& out : {dir + "/in.jsonl", dir + "/link.jsonl", dir + "/sub/../in.jsonl"}) {
    EXPECT_EQ(kind_of({{"--out", out}}, {{"--candidates", dir + "/in.jsonl"}}, &message),
              ErrorKind::invalid_argument)
        << out;
    EXPECT_THAT(message, ::testing::HasSubstr("--candidates"));
  }
  // Two outputs that are one file, neither existing yet.
  EXPECT_EQ(kind_of({{"--out", dir + "/a.jsonl"}, {"--report", dir + "/./a.jsonl"}}, {}),
            ErrorKind::invalid_argument);
}

}  // namespace
}  // namespace georank
