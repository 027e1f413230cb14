#include "interrupt_guard.hpp"

#include <csignal>

namespace georank::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_interrupt(int signal) {
  // First signal: finish the running batch, keep the cache, exit. Second: default action.
  if (g_stop.exchange(true)) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
  }
}

}  // namespace

InterruptGuard::InterruptGuard() {
  g_stop = false;
  old_int_ = std::signal(SIGINT, on_interrupt);
  // A shell starts background jobs with SIGINT ignored; keep it that way.
  if (old_int_ == SIG_IGN) std::signal(SIGINT, SIG_IGN);
  old_term_ = std::signal(SIGTERM, on_interrupt);
}

InterruptGuard::~InterruptGuard() {
  std::signal(SIGINT, old_int_);
  std::signal(SIGTERM, old_term_);
}

const std::atomic<bool>* InterruptGuard::stop() const {
  return &g_stop;
}

}  // namespace georank::cli
