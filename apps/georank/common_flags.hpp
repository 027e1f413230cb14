#pragma once
// Flags several commands share, bound with the same checks everywhere: thread counts,
// remote-judge limits, and the output paths checked before any work.

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "georank/core/output_check.hpp"

namespace georank::cli {

/// Most threads a --threads flag takes (ggml's own bound; more only adds contention).
inline constexpr int kMaxThreads = 512;

/// Binds --threads to `threads` (0: the library's default), refusing negative values and more
/// than kMaxThreads.
CLI::Option* add_threads_option(CLI::App& cmd, int& threads, const std::string& help);

/// The hidden flag `georank run` passes to check a step's settings before any step runs: the
/// command validates its flags and returns without doing any work.
inline constexpr const char* kCheckOnlyFlag = "--check-only";
void add_check_only_flag(CLI::App& cmd, bool& check_only);

/// Binds --shard I/N (docs/scale-out.md), checked as it is parsed; `what` says what the shard
/// holds ("the queries", "the queries and the gallery").
CLI::Option* add_shard_option(CLI::App& cmd, std::string& shard, const std::string& what);

/// A file argument and its meta sidecar (<path>.meta.json), as output check arguments.
std::vector<PathArgument> with_sidecar(const std::string& flag, const std::string& path);

}  // namespace georank::cli
