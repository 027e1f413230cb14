#pragma once
// Ctrl-C and SIGTERM during a long step: the first signal asks the step to stop after its
// running batch (what is finished is kept), the second one ends the process at once.

#include <atomic>

namespace georank::cli {

/// Installs the handlers for its lifetime (one guard at a time).
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  /// Becomes true at the first signal.
  [[nodiscard]] const std::atomic<bool>* stop() const;

 private:
  void (*old_int_)(int);
  void (*old_term_)(int);
};

}  // namespace georank::cli
