#include "support/serve_process.hpp"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/subprocess.hpp"
#include "support/work_dir.hpp"

extern char** environ;

namespace georank::test {

namespace fs = std::filesystem;

std::string serve_demo_dir() {
  // The demo records absolute paths, so it is made in place (not renamed into place), under a
  // lock that other test processes wait on.
  const fs::path dir = fs::path(GEORANK_TEST_WORK_DIR) / "fixtures" / "serve-demo";
  fs::create_directories(dir.parent_path());
  const int lock = open((dir.string() + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
  if (lock < 0 || flock(lock, LOCK_EX) != 0)
    throw std::runtime_error("cannot lock " + dir.string() + ".lock");
  const fs::path done = dir / ".complete";
  if (!fs::exists(done)) {
    fs::remove_all(dir);
    const auto r =
        run_command(std::string(GEORANK_CLI_PATH) + " demo --queries 8 --out " + shell_quote(dir.string()));
    if (r.exit_code != 0) {
      close(lock);
      throw std::runtime_error("georank demo failed: " + r.err);
    }
    std::ofstream(done) << "ok\n";
  }
  close(lock);
  return dir.string();
}

ServeProcess::ServeProcess(const std::string& config, const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env) {
  static int n = 0;
  const std::string dir = fresh_work_dir("serve-" + std::to_string(getpid()) + "-" + std::to_string(n++));
  log_path_ = dir + "/serve.log";
  const std::string port_file = dir + "/port";
  std::string cmd = "exec " + shell_quote(GEORANK_CLI_PATH) + " serve --config " + shell_quote(config) +
                    " --port 0 --port-file " + shell_quote(port_file);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " >" + shell_quote(log_path_) + " 2>&1";
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq != std::string::npos && env.contains(kv.substr(0, eq))) continue;
    envs.push_back(kv);
  }
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c";
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  if (posix_spawn(&pid_, "/bin/sh", nullptr, nullptr, argv, envp.data()) != 0)
    throw std::runtime_error("cannot start georank serve");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (wait(0) != -1) throw std::runtime_error("georank serve exited early:\n" + log());
    std::ifstream f(port_file);
    if (f >> port_) {
      httplib::Client cli("127.0.0.1", port_);
      if (auto res = cli.Get("/health"); res && res->status == 200) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  terminate(5);
  throw std::runtime_error("georank serve did not become ready:\n" + log());
}

ServeProcess::~ServeProcess() {
  if (status_ == -1 && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string ServeProcess::log() const {
  std::ifstream f(log_path_);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

int ServeProcess::wait(int timeout_s) {
  if (status_ != -1) return status_;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    int st = 0;
    const pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int ServeProcess::terminate(int timeout_s) {
  if (status_ != -1) return status_;
  ::kill(pid_, SIGTERM);
  const int st = wait(timeout_s);
  if (st != -1) return st;
  ::kill(pid_, SIGKILL);
  return wait(10);
}

}  // namespace georank::test
