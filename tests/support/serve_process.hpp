#pragma once
// A `georank serve` child process on a free loopback port, for the HTTP and browser tests:
// started with --port 0 --port-file, ready when /health answers, stopped with SIGTERM.

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace georank::test {

/// The demo's outputs (`georank demo --queries 8`), made once per test run: DIR/run holds the
/// run, DIR/vigor the synthetic city, DIR/models the fixture models.
std::string serve_demo_dir();

class ServeProcess {
 public:
  /// Starts `georank serve --config CONFIG --port 0 ARGS...` with `env` added to the
  /// environment; waits up to 60 s until it answers /health. Throws std::runtime_error with the
  /// server's log when it does not.
  ServeProcess(const std::string& config, const std::vector<std::string>& args = {},
               const std::map<std::string, std::string>& env = {});
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string log() const;
  /// Sends SIGTERM and waits; returns the exit status (128 + signal when killed by one).
  int terminate(int timeout_s = 60);
  /// Waits for the process to end by itself; -1 when it is still running after `timeout_s`.
  int wait(int timeout_s);

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int status_ = -1;
  std::string log_path_;
};

}  // namespace georank::test
