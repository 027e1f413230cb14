#pragma once
// Helpers shared by the fuzz harnesses: per-process scratch files and splitting one input
// into several files.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace georank::fuzz {

/// A folder private to this process, made on first use.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("georank-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

/// Writes `bytes` to `path` (truncating), creating its parent folders.
inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Writes the input to `scratch_dir()/name` and returns the path.
inline std::string input_file(const std::uint8_t* data, std::size_t size, const std::string& name) {
  const auto path = scratch_dir() / name;
  write_file(path, std::string_view(reinterpret_cast<const char*>(data), size));
  return path.string();
}

/// Splits the input at each line "====" into at most `n` parts (the last takes the rest).
inline std::vector<std::string> split_parts(const std::uint8_t* data, std::size_t size, std::size_t n) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  constexpr std::string_view kSep = "\n====\n";
  while (parts.size() + 1 < n) {
    const auto at = rest.find(kSep);
    if (at == std::string_view::npos) break;
    parts.emplace_back(rest.substr(0, at + 1));
    rest.remove_prefix(at + kSep.size());
  }
  parts.emplace_back(rest);
  parts.resize(n);
  return parts;
}

}  // namespace georank::fuzz
