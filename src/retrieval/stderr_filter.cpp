#include "retrieval/stderr_filter.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

namespace georank {
namespace {

// One redirection at a time: two filters on the same descriptor would restore each other's
// pipe.
std::mutex& redirect_mutex() {
  static std::mutex m;
  return m;
}

void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere left to report to
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// A line longer than this without a newline is forwarded as it is (it is not the noise, and
// the buffer must stay bounded).
constexpr std::size_t kMaxLine = 64 * 1024;

}  // namespace

bool is_onnx_schema_noise(std::string_view line) {
  return line.find("Schema error: Trying to register schema") != std::string_view::npos;
}

struct StderrLineFilter::State {
  std::unique_lock<std::mutex> lock{redirect_mutex()};
  std::function<bool(std::string_view)> drop;
  int fd = 2;
  int saved_fd = -1;  // the original descriptor, where kept lines go
  int pipe_read = -1;
  int stop_read = -1;
  int stop_write = -1;
  std::thread reader;
  std::atomic<long> n_dropped{0};
  std::string partial;
  bool skip_blank = false;

  void on_line(std::string_view line, bool terminated) {
    std::string_view content = line;
    if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
    if (drop(content)) {
      n_dropped.fetch_add(1, std::memory_order_relaxed);
      skip_blank = true;
      return;
    }
    if (skip_blank && content.empty() && terminated) {
      skip_blank = false;
      return;
    }
    skip_blank = false;
    write_all(saved_fd, line.data(), line.size());
    if (terminated) write_all(saved_fd, "\n", 1);
  }

  void consume(const char* data, std::size_t size) {
    partial.append(data, size);
    std::size_t begin = 0;
    for (std::size_t nl; (nl = partial.find('\n', begin)) != std::string::npos; begin = nl + 1)
      on_line(std::string_view(partial).substr(begin, nl - begin), true);
    partial.erase(0, begin);
    if (partial.size() > kMaxLine) {
      write_all(saved_fd, partial.data(), partial.size());
      partial.clear();
      skip_blank = false;
    }
  }

  void run() {
    char buf[16384];
    pollfd fds[2] = {{pipe_read, POLLIN, 0}, {stop_read, POLLIN, 0}};
    bool stopping = false;
    for (;;) {
      if (!stopping) {
        const int r = ::poll(fds, 2, -1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) break;
        if (fds[1].revents != 0 && (fds[0].revents & POLLIN) == 0) {
          // Stop requested and nothing readable right now: drain without blocking, then end.
          stopping = true;
          ::fcntl(pipe_read, F_SETFL, ::fcntl(pipe_read, F_GETFL) | O_NONBLOCK);
          continue;
        }
      }
      const ssize_t n = ::read(pipe_read, buf, sizeof buf);
      if (n > 0) {
        consume(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN && !stopping) continue;
      break;  // end of file, drained after stop, or an error
    }
    if (!partial.empty()) on_line(partial, false);
    partial.clear();
  }
};

StderrLineFilter::StderrLineFilter(std::function<bool(std::string_view)> drop, int fd)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.drop = std::move(drop);
  s.fd = fd;
  std::fflush(stderr);
  int data_pipe[2] = {-1, -1}, stop_pipe[2] = {-1, -1};
  s.saved_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (s.saved_fd < 0 || ::pipe2(data_pipe, O_CLOEXEC) != 0) {
    close_fd(s.saved_fd);
    return;
  }
  if (::pipe2(stop_pipe, O_CLOEXEC) != 0 || ::dup2(data_pipe[1], fd) < 0) {
    for (int* p : {&data_pipe[0], &data_pipe[1], &stop_pipe[0], &stop_pipe[1], &s.saved_fd}) close_fd(*p);
    return;
  }
  close_fd(data_pipe[1]);  // fd now holds the only write end
  s.pipe_read = data_pipe[0];
  s.stop_read = stop_pipe[0];
  s.stop_write = stop_pipe[1];
  try {
    s.reader = std::thread([&s] { s.run(); });
  } catch (...) {
    ::dup2(s.saved_fd, fd);
    for (int* p : {&s.pipe_read, &s.stop_read, &s.stop_write, &s.saved_fd}) close_fd(*p);
  }
}

StderrLineFilter::~StderrLineFilter() {
  State& s = *state_;
  if (!s.reader.joinable()) return;
  std::fflush(stderr);
  // Restoring the descriptor closes our write end; everything written before is in the pipe.
  ::dup2(s.saved_fd, s.fd);
  write_all(s.stop_write, "x", 1);
  s.reader.join();
  for (int* p : {&s.pipe_read, &s.stop_read, &s.stop_write, &s.saved_fd}) close_fd(*p);
}

long StderrLineFilter::n_dropped() const {
  return state_->n_dropped.load(std::memory_order_relaxed);
}

}  // namespace georank
