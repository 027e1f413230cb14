#include "embed_progress.hpp"

#include "georank/core/log.hpp"

namespace georank::cli {

EmbedStepHooks EmbedProgressPrinter::hooks(const std::atomic<bool>* stop) {
  EmbedStepHooks hooks;
  hooks.stop = stop;
  hooks.on_progress = [this](const char* view, const EmbedProgress& p) {
    if (view_ != view) {
      finish();
      const std::size_t n = p.n_cached + p.n_to_encode;
      if (p.n_cached > 0) log_info("{}: {} of {} images unchanged in the cache", view, p.n_cached, n);
      bar_ = std::make_unique<ProgressBar>(view, p.n_to_encode);
      view_ = view;
    }
    bar_->update(p.n_done);
  };
  return hooks;
}

void EmbedProgressPrinter::finish() {
  if (bar_) bar_->finish();
  bar_.reset();
}

}  // namespace georank::cli
