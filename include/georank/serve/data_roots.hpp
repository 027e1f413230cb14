#pragma once
/// The folders the service may read files from. A path is served only when, with every
/// symlink resolved, it lies inside one of them: `..`, absolute paths and symlinks that lead
/// out are refused.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace georank {

class DataRoots {
 public:
  /// Folders that do not exist are kept out (nothing can lie inside them).
  explicit DataRoots(const std::vector<std::string>& roots = {});
  void add(const std::string& root);

  /// The resolved path of an existing regular file inside a root, or nullopt.
  [[nodiscard]] std::optional<std::string> contain(const std::string& path) const;
  /// `relative` (a URL path, already percent-decoded) under `root` (which must be one of the
  /// roots): nullopt for an absolute path, a `..` or empty component, a NUL or backslash, or a
  /// file that resolves outside the root.
  [[nodiscard]] std::optional<std::string> resolve_under(const std::string& root,
                                                         std::string_view relative) const;
  [[nodiscard]] const std::vector<std::string>& roots() const { return roots_; }

 private:
  std::vector<std::string> roots_;  // canonical
};

}  // namespace georank
