#pragma once
// The embed step's progress on stderr: a bar per view, and a line saying how many images the
// cache already had.

#include <atomic>
#include <memory>
#include <string>

#include "georank/core/progress.hpp"
#include "georank/retrieval/embed_dataset.hpp"

namespace georank::cli {

class EmbedProgressPrinter {
 public:
  /// Hooks that draw into this printer (which must outlive the step) and stop on `stop`.
  EmbedStepHooks hooks(const std::atomic<bool>* stop);
  /// Ends the last bar's line.
  void finish();

 private:
  std::unique_ptr<ProgressBar> bar_;
  std::string view_;
};

}  // namespace georank::cli
