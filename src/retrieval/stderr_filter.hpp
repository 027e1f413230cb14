#pragma once
// Filters lines written to a file descriptor (stderr) by code we do not control.

#include <functional>
#include <memory>
#include <string_view>

namespace georank {

/// While alive, file descriptor `fd` (default 2) points to a pipe drained by a reader thread;
/// every complete line for which `drop` returns false is forwarded unchanged to the original
/// descriptor, the others are discarded together with one empty line directly following a
/// dropped line (ONNX's schema messages end in a blank line). The destructor flushes stdio,
/// restores the descriptor, forwards whatever the pipe still holds (a final unterminated line
/// included) and joins the reader: it never waits on writers, so a child process that
/// inherited the pipe cannot hang it. Only one filter is active per process at a time
/// (construction waits for the previous one). If the pipe cannot be set up, nothing is
/// filtered.
class StderrLineFilter {
 public:
  explicit StderrLineFilter(std::function<bool(std::string_view line)> drop, int fd = 2);
  ~StderrLineFilter();
  StderrLineFilter(const StderrLineFilter&) = delete;
  StderrLineFilter& operator=(const StderrLineFilter&) = delete;

  /// Lines dropped so far.
  [[nodiscard]] long n_dropped() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// True for the "Schema error: Trying to register schema ... already registered" lines
/// that Debian's ONNX Runtime (built against a shared libonnx) prints at the first session.
bool is_onnx_schema_noise(std::string_view line);

}  // namespace georank
