#include "georank/core/output_check.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "georank/core/error.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

// The file a path names, links and ".." resolved, whether or not it exists yet.
fs::path resolved(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path), ec);
  return ec ? fs::absolute(path).lexically_normal() : p;
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) {
    const bool eq = fs::equivalent(a, b, ec);
    if (!ec) return eq;
  }
  return resolved(a) == resolved(b);
}

void check_writable(const PathArgument& out) {
  if (out.path.empty()) throw Error(ErrorKind::invalid_argument, out.flag + " is empty");
  std::error_code ec;
  if (fs::is_directory(out.path, ec))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("{} {} is a folder; give a file path", out.flag, out.path));
  fs::path folder = fs::path(out.path).parent_path();
  if (folder.empty()) folder = ".";
  fs::create_directories(folder, ec);
  if (ec)
    throw Error(ErrorKind::io, fmt::format("{} {}: cannot create the folder {}: {}", out.flag, out.path,
                                           folder.string(), ec.message()));
  // The outputs are written beside their final name and renamed: the folder must take a new file.
  const fs::path probe = folder / fmt::format(".georank-write-check.{}", ::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    throw Error(ErrorKind::io, fmt::format("{} {}: cannot write in {}: {}", out.flag, out.path,
                                           folder.string(), std::strerror(errno)));
  ::close(fd);
  fs::remove(probe, ec);
}

}  // namespace

void check_outputs(std::span<const PathArgument> outputs, std::span<const PathArgument> inputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const PathArgument& out = outputs[i];
    for (const PathArgument& in : inputs)
      if (!in.path.empty() && same_file(out.path, in.path))
        throw Error(ErrorKind::invalid_argument,
                    fmt::format("{} {} is the same file as {} {}: writing it would destroy an input",
                                out.flag, out.path, in.flag, in.path));
    for (std::size_t j = 0; j < i; ++j)
      if (same_file(out.path, outputs[j].path))
        throw Error(ErrorKind::invalid_argument,
                    fmt::format("{} {} and {} {} are the same file", outputs[j].flag, outputs[j].path,
                                out.flag, out.path));
    check_writable(out);
  }
}

}  // namespace georank
