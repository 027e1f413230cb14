#include "retrieval/stderr_filter.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "retrieval/encoder_fixture.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

const std::string kNoise =
    "Schema error: Trying to register schema with name Abs (domain:  version: 1) from file "
    "./onnx/defs/math/old.cc line 2747, but it is already registered from file ./onnx/defs/math/old.cc line "
    "2747";

// Points fd 2 at a file for the lifetime of the object and returns what was written.
class CaptureStderr {
 public:
  explicit CaptureStderr(const std::string& name) {
    const std::string dir = test::scratch_root() + "/stderr-filter";
    fs::create_directories(dir);
    path_ = dir + "/" + name + "-" + std::to_string(::getpid());
    std::fflush(stderr);
    saved_ = ::dup(2);
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~CaptureStderr() { restore(); }
  std::string peek() const { return test::read_text(path_); }
  std::string finish() {
    restore();
    return test::read_text(path_);
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  std::string path_;
  int saved_ = -1;
};

void write_fd2(const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(2, text.data() + done, text.size() - done);
    ASSERT_GT(n, 0);
    done += static_cast<std::size_t>(n);
  }
}

TEST(StderrLineFilter, DropsSchemaNoiseWithItsBlankLineAndForwardsEverythingElse) {
  CaptureStderr capture("basic");
  {
    StderrLineFilter filter(is_onnx_schema_noise);
    write_fd2("first genuine line\n");
    write_fd2(kNoise + "\n\n" + kNoise + "\n\n");
    std::fprintf(stderr, "[E:onnxruntime] a real error\n");
    write_fd2("\nblank line above is kept\n");
    write_fd2("unterminated tail");
  }
  EXPECT_EQ(
      capture.finish(),
      "first genuine line\n[E:onnxruntime] a real error\n\nblank line above is kept\nunterminated tail");
}

TEST(StderrLineFilter, CountsDroppedLines) {
  CaptureStderr capture("count");
  StderrLineFilter filter(is_onnx_schema_noise);
  for (int i = 0; i < 5; ++i) write_fd2(kNoise + "\n\n");
  write_fd2("sentinel\n");
  // Lines are handled in order: once the sentinel is through, the five are counted.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (capture.peek().find("sentinel") == std::string::npos && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(filter.n_dropped(), 5);
}

TEST(StderrLineFilter, SurvivesMegabytesOfOutputFromSeveralThreadsWithoutDeadlock) {
  // Far more than a pipe holds (64 KiB): the writers only finish if the reader keeps draining.
  CaptureStderr capture("bulk");
  {
    StderrLineFilter filter(is_onnx_schema_noise);
    auto writer = [](int id) {
      for (int i = 0; i < 2000; ++i) {
        write_fd2(kNoise + "\n\n");
        if (i % 500 == 0) write_fd2("keep " + std::to_string(id) + " " + std::to_string(i) + "\n");
      }
    };
    std::thread a(writer, 1), b(writer, 2);
    a.join();
    b.join();
  }
  const std::string out = capture.finish();
  for (int id : {1, 2})
    for (int i = 0; i < 2000; i += 500)
      EXPECT_THAT(out, ::testing::HasSubstr("keep " + std::to_string(id) + " " + std::to_string(i) + "\n"));
  EXPECT_THAT(out, ::testing::Not(::testing::HasSubstr("Schema error")));
}

TEST(StderrLineFilter, RestoresTheDescriptor) {
  CaptureStderr capture("restore");
  { StderrLineFilter filter(is_onnx_schema_noise); }
  write_fd2(kNoise + "\n");  // after the filter: passes untouched
  EXPECT_EQ(capture.finish(), kNoise + "\n");
}

}  // namespace
}  // namespace georank
