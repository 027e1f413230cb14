#include "georank/core/readable_file.hpp"

#include <filesystem>
#include <system_error>

#include "georank/core/error.hpp"

namespace georank {

void require_readable_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec == std::errc::too_many_symbolic_link_levels)
    throw Error(ErrorKind::io, path + ": a loop of symbolic links");
  if (!fs::exists(status)) throw Error(ErrorKind::not_found, path + ": no such file");
  if (fs::is_directory(status)) throw Error(ErrorKind::invalid_argument, path + ": is a folder, not a file");
}

}  // namespace georank
