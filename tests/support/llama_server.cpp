#include "support/llama_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <link.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "georank/runtime/runtime.hpp"

extern char** environ;

namespace georank::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int unused_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string cpu_backend_library() {
  std::string found;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) -> int {
        if (info->dlpi_name &&
            std::string_view(info->dlpi_name).find("libggml-cpu") != std::string_view::npos) {
          *static_cast<std::string*>(data) = info->dlpi_name;
          return 1;
        }
        return 0;
      },
      &found);
  if (!found.empty()) return found;
  return runtime_prefix() + "/usr/lib/x86_64-linux-gnu/ggml/backends0/libggml-cpu-x64.so";
}

double llama_bench_prompt_rate(const std::string& model, int threads, int n_prompt, int n_ubatch,
                               int flash_attn, int repetitions, int depth) {
  const std::string bench = (fs::path(llama_server_path()).parent_path() / "llama-bench").string();
  if (!fs::exists(bench)) throw std::runtime_error("llama-bench not found at '" + bench + "'");
  const auto quote = [](const std::string& v) {
    std::string out = "'";
    for (char c : v) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  };
  const std::string cmd =
      "env -u GGML_BACKEND_PATH GGML_BACKEND_PATH=" + quote(cpu_backend_library()) + " " + quote(bench) +
      " -m " + quote(model) + " -p " + std::to_string(n_prompt) + " -n 0 -t " + std::to_string(threads) +
      " -ub " + std::to_string(n_ubatch) + " -fa " +
      (flash_attn < 0    ? "auto"
       : flash_attn == 0 ? "off"
                         : "on") +
      " -r " + std::to_string(repetitions) + " -d " + std::to_string(depth) + " -o json 2>&1";
  std::string out;
  if (FILE* pipe = popen(cmd.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    if (pclose(pipe) != 0) throw std::runtime_error("llama-bench failed: " + cmd + "\n" + out);
  } else {
    throw std::runtime_error("cannot run " + cmd);
  }
  // The JSON array follows any log lines; take the first '[' that parses.
  for (std::size_t at = out.find('['); at != std::string::npos; at = out.find('[', at + 1)) {
    const auto j = nlohmann::json::parse(out.substr(at), nullptr, false);
    if (j.is_array() && !j.empty() && j[0].contains("avg_ts")) return j[0]["avg_ts"].get<double>();
  }
  throw std::runtime_error("no llama-bench result in its output:\n" + out);
}

LlamaServer::LlamaServer(const LlamaServerOptions& options) {
  fs::create_directories(options.work_dir);
  log_path_ = (fs::path(options.work_dir) / "llama-server.log").string();
  // A free port can be taken between probing and binding: try a few.
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (start(options, unused_port())) return;
  }
  throw std::runtime_error("llama-server could not bind a loopback port; log " + log_path_ + ":\n" +
                           log_tail());
}

LlamaServer::~LlamaServer() {
  stop();
}

bool LlamaServer::start(const LlamaServerOptions& options, int port) {
  const std::string server = llama_server_path();
  if (server.empty() || !fs::exists(server))
    throw std::runtime_error("llama-server not found at '" + server + "'");
  port_ = port;
  std::vector<std::string> args = {server,
                                   "--model",
                                   options.model,
                                   "--host",
                                   "127.0.0.1",
                                   "--port",
                                   std::to_string(port),
                                   "--ctx-size",
                                   std::to_string(options.n_ctx),
                                   "--parallel",
                                   std::to_string(options.n_parallel),
                                   "--threads",
                                   std::to_string(options.threads),
                                   "--threads-batch",
                                   std::to_string(options.threads),
                                   "--no-webui"};
  if (!options.mmproj.empty()) {
    args.push_back("--mmproj");
    args.push_back(options.mmproj);
  }
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());

  // The caller's LLAMA_ARG_* variables would silently change the server's settings.
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view v(*e);
    if (v.rfind("LLAMA_ARG_", 0) == 0 || v.rfind("GGML_BACKEND_PATH=", 0) == 0) continue;
    env.emplace_back(v);
  }
  env.push_back("GGML_BACKEND_PATH=" + cpu_backend_library());

  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot write " + log_path_);
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    // The server must not outlive a test process that dies without running destructors.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execve(server.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  const int fork_errno = errno;
  close(log_fd);
  if (pid_ < 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start " + server + ": " + std::strerror(fork_errno));
  }

  httplib::Client client(url());
  client.set_connection_timeout(0, 200000);
  client.set_read_timeout(2, 0);
  const auto deadline = Clock::now() + std::chrono::duration<double>(options.start_timeout_s);
  while (Clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      const std::string log = read_file(log_path_);
      if (log.find("couldn't bind") != std::string::npos || log.find("already in use") != std::string::npos)
        return false;
      throw std::runtime_error("llama-server exited during start-up; log " + log_path_ + ":\n" + log_tail());
    }
    if (auto res = client.Get("/health"); res && res->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop();
  throw std::runtime_error("llama-server did not become healthy within " +
                           std::to_string(options.start_timeout_s) + " s; log " + log_path_ + ":\n" +
                           log_tail());
}

void LlamaServer::stop() noexcept {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (Clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string LlamaServer::log_tail(std::size_t n_bytes) const {
  const std::string log = read_file(log_path_);
  return log.size() <= n_bytes ? log : log.substr(log.size() - n_bytes);
}

}  // namespace georank::test
