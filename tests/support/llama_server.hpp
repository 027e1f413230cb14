#pragma once
// Debian's llama-server from the runtime prefix, started by a test on a free loopback port:
// the real peer of the remote backend and of the in-process cross-checks.

#include <sys/types.h>

#include <string>
#include <vector>

namespace georank::test {

struct LlamaServerOptions {
  std::string model;   ///< text model GGUF
  std::string mmproj;  ///< projector GGUF (empty: text only)
  int n_ctx = 4096;    ///< total context (shared by the slots)
  int n_parallel = 1;  ///< server slots
  int threads = 1;     ///< -t and -tb
  std::vector<std::string> extra_args;
  /// Folder for the log file (llama-server.log); created if missing.
  std::string work_dir;
  double start_timeout_s = 60;
};

/// A loopback port nothing listens on (bound, then released; another process may take it).
int unused_port();

/// The ggml CPU backend library this process loaded (the variant ggml picked for this CPU),
/// falling back to the prefix's generic libggml-cpu-x64.so. The server is pointed at the same
/// one so that both sides compute with the same kernels.
std::string cpu_backend_library();

/// llama-bench (next to llama-server in the runtime prefix) on `model`: the prompt-processing
/// rate in tokens/s of `n_prompt` tokens (its pp test, `repetitions` runs averaged) with the
/// given threads, micro-batch and flash attention (-1 auto, 0 off, 1 on), on the same CPU kernels as
/// this process. Throws std::runtime_error with llama-bench's output when it fails.
/// `depth` > 0: the prompt is processed after that many tokens already in the KV cache
/// (llama-bench's -d), so its attention spans them.
double llama_bench_prompt_rate(const std::string& model, int threads, int n_prompt, int n_ubatch,
                               int flash_attn, int repetitions = 2, int depth = 0);

/// A running llama-server. The constructor starts it and waits until /health answers 200;
/// it throws std::runtime_error with the end of the server's log when the server exits or
/// does not become healthy in time. The destructor stops it (SIGTERM, then SIGKILL after 5 s).
class LlamaServer {
 public:
  explicit LlamaServer(const LlamaServerOptions& options);
  ~LlamaServer();
  LlamaServer(const LlamaServer&) = delete;
  LlamaServer& operator=(const LlamaServer&) = delete;

  /// Base URL, e.g. "http://127.0.0.1:40123".
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] const std::string& log_path() const { return log_path_; }
  /// The last `n_bytes` of the log (for failure messages).
  [[nodiscard]] std::string log_tail(std::size_t n_bytes = 4000) const;

 private:
  bool start(const LlamaServerOptions& options, int port);  // false: the port was taken
  void stop() noexcept;

  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
};

}  // namespace georank::test
