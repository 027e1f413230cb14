#include "support/subprocess.hpp"

#include <sys/wait.h>

#include <unistd.h>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace georank::test {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

ProcessResult run_command(const std::string& command) {
  static std::atomic<int> counter{0};
  const fs::path dir = fs::path(test::scratch_root()) / "subprocess";
  fs::create_directories(dir);
  const std::string stem = std::to_string(getpid()) + "-" + std::to_string(counter++);
  const fs::path out = dir / (stem + ".out"), err = dir / (stem + ".err");
  const std::string full =
      "( " + command + " ) >" + shell_quote(out.string()) + " 2>" + shell_quote(err.string());
  const int status = std::system(full.c_str());
  ProcessResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

ProcessResult run_own_tests(const std::string& filter) {
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  return run_command(shell_quote(self) +
                     " --gtest_also_run_disabled_tests --gtest_filter=" + shell_quote(filter));
}

}  // namespace georank::test
