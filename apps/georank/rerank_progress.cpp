#include "rerank_progress.hpp"

#include <unistd.h>

#include <cstdio>

#include "georank/core/log.hpp"

namespace georank::cli {

std::function<void(const RerankProgress&)> rerank_progress_printer(bool quiet) {
  if (quiet || log_level() > LogLevel::info) return {};
  const bool tty = isatty(STDERR_FILENO) != 0;
  constexpr double kLogEverySeconds = 5.0;
  return [tty, last_line_s = -kLogEverySeconds](const RerankProgress& p) mutable {
    if (tty) {
      std::fprintf(stderr, "\r%s", format_rerank_progress(p).c_str());
      if (p.done == p.total) std::fprintf(stderr, "\n");
    } else if (p.done == p.total || p.elapsed_s - last_line_s >= kLogEverySeconds) {
      std::fprintf(stderr, "%s\n", format_rerank_progress(p).c_str());
      last_line_s = p.elapsed_s;
    }
  };
}

}  // namespace georank::cli
