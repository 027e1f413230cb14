#pragma once
// The rerank progress line on stderr: redrawn in place on a terminal; without one (a log
// file, CI), a line every few seconds and the last one, not one per query.

#include <functional>

#include "georank/rerank/run.hpp"

namespace georank::cli {

/// A progress callback for rerank_all / rerank_step; silent with `quiet` or below info level.
std::function<void(const RerankProgress&)> rerank_progress_printer(bool quiet);

}  // namespace georank::cli
