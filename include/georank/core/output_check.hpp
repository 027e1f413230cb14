#pragma once
/// Output paths are checked before any work starts, so that no judgment or embedding is
/// computed only to be lost on an unwritable path, and no command overwrites its own input.

#include <span>
#include <string>

namespace georank {

/// A file argument of a command: the flag that named it (for messages) and its path.
struct PathArgument {
  std::string flag;  ///< e.g. "--out"
  std::string path;
};

/// Checks that each output can be written: it is not a folder, its folder exists or can be
/// created (it is created), and a new file can be made in it. Checks that no output is the
/// same file as an input (through any path or link), nor two outputs one file. Throws
/// Error(invalid_argument) for a folder given as a file and for an output that is an input,
/// Error(io) for a place that cannot be written, each naming the flag and the path.
void check_outputs(std::span<const PathArgument> outputs, std::span<const PathArgument> inputs);

}  // namespace georank
