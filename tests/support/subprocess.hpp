#pragma once
// Runs a command line through /bin/sh and captures its exit status, stdout and stderr.

#include <string>

namespace georank::test {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `command` (a shell command line) and waits for it. stdout and stderr are captured
/// through temporary files in the test work directory.
ProcessResult run_command(const std::string& command);

/// Quotes a string for /bin/sh.
std::string shell_quote(const std::string& s);

/// Scratch directory for a test (created, emptied): GEORANK_TEST_WORK_DIR/<name>.
std::string fresh_work_dir(const std::string& name);

}  // namespace georank::test
