#include "georank/serve/data_roots.hpp"

#include <filesystem>
#include <system_error>

namespace georank {
namespace {

namespace fs = std::filesystem;

bool inside(const fs::path& root, const fs::path& path) {
  auto r = root.begin();
  auto p = path.begin();
  for (; r != root.end(); ++r, ++p)
    if (p == path.end() || *p != *r) return false;
  return true;
}

}  // namespace

DataRoots::DataRoots(const std::vector<std::string>& roots) {
  for (const auto& r : roots) add(r);
}

void DataRoots::add(const std::string& root) {
  if (root.empty()) return;
  std::error_code ec;
  const fs::path canonical = fs::canonical(root, ec);
  if (ec || !fs::is_directory(canonical, ec)) return;
  for (const auto& r : roots_)
    if (r == canonical.string()) return;
  roots_.push_back(canonical.string());
}

std::optional<std::string> DataRoots::contain(const std::string& path) const {
  std::error_code ec;
  const fs::path canonical = fs::canonical(path, ec);
  if (ec || !fs::is_regular_file(canonical, ec)) return std::nullopt;
  for (const auto& r : roots_)
    if (inside(fs::path(r), canonical)) return canonical.string();
  return std::nullopt;
}

std::optional<std::string> DataRoots::resolve_under(const std::string& root,
                                                    std::string_view relative) const {
  if (relative.empty() || relative.front() == '/') return std::nullopt;
  if (relative.find('\0') != std::string_view::npos || relative.find('\\') != std::string_view::npos)
    return std::nullopt;
  const fs::path rel{std::string(relative)};
  for (const auto& part : rel) {
    const std::string s = part.string();
    if (s.empty() || s == ".." || s == ".") return std::nullopt;
  }
  std::error_code ec;
  const fs::path base = fs::canonical(root, ec);
  if (ec) return std::nullopt;
  const fs::path canonical = fs::canonical(base / rel, ec);
  if (ec || !fs::is_regular_file(canonical, ec) || !inside(base, canonical)) return std::nullopt;
  for (const auto& r : roots_)
    if (inside(fs::path(r), canonical)) return canonical.string();
  return std::nullopt;
}

}  // namespace georank
