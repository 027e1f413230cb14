#pragma once
/// The check every file reader makes first, so that its error names what is wrong.

#include <string>

namespace georank {

/// Throws Error(not_found) for a missing file, Error(invalid_argument) for a folder and
/// Error(io) for a loop of symbolic links (std::filesystem::exists calls a loop missing).
void require_readable_file(const std::string& path);

}  // namespace georank
