#pragma once
// Runs a command line through /bin/sh and captures its exit status, stdout and stderr.

#include <string>

#include "support/work_dir.hpp"  // fresh_work_dir, used with run_command throughout

namespace georank::test {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `command` (a shell command line) and waits for it. stdout and stderr are captured
/// through temporary files in the test work directory.
ProcessResult run_command(const std::string& command);

/// Runs the tests of this very test binary that match the gtest `filter` in a child process
/// (disabled tests included): for tests of what a whole process does.
ProcessResult run_own_tests(const std::string& filter);

/// Quotes a string for /bin/sh.
std::string shell_quote(const std::string& s);

#ifdef GEORANK_CLI_PATH
/// Runs the georank CLI with `args` (a shell-quoted argument string).
inline ProcessResult run_georank(const std::string& args) {
  return run_command(std::string(GEORANK_CLI_PATH) + " " + args);
}
#endif

}  // namespace georank::test
