#pragma once
// The CLI's exit statuses, one table (README.md, "Exit codes"). Library errors map through
// georank::exit_code(ErrorKind); everything the CLI itself decides uses these names.

#include <CLI/CLI.hpp>

namespace georank::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;  ///< a bug: an exception no code path expected
inline constexpr int kExitBadInput = 2;  ///< bad flags (CLI11 parse errors) or bad input data
inline constexpr int kExitNotFound = 3;
inline constexpr int kExitIo = 4;
inline constexpr int kExitBackend = 5;
inline constexpr int kExitTimeout = 6;
inline constexpr int kExitInterrupted = 130;  ///< SIGINT/SIGTERM, as a shell reports 128 + 2

/// Exit status of a CLI11 parse error: 0 for --help and --version, the status carried by a
/// CLI::RuntimeError a command threw itself, kExitNotFound / kExitIo when an existing-file
/// check failed (missing / a directory), and kExitBadInput for every other parse error
/// (CLI11's own codes 101..115 are not used).
int parse_error_status(const CLI::ParseError& e);

/// Prints a CLI11 parse error (or the help/version text) and returns parse_error_status(e).
int parse_error_exit(const CLI::App& app, const CLI::ParseError& e);

}  // namespace georank::cli
