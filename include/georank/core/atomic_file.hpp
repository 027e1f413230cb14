#pragma once
/// Output files are written to a temporary sibling and renamed into place, so a reader never
/// sees a half-written file and an interrupted run leaves the previous version intact. The
/// temporary name is `<path>.tmp.<pid>.<n>` (n counts within the process), the one rule for
/// every writer.

#include <fstream>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace georank {

/// A temporary sibling of `path` for writers that need a file name (FAISS, gguf): write to
/// `tmp()`, then `commit()` renames it to `path`. Destroying it without `commit()` removes the
/// temporary file. The parent folder is created. Throws Error(io) naming `path`.
class AtomicPath {
 public:
  explicit AtomicPath(std::string path);
  AtomicPath(const AtomicPath&) = delete;
  AtomicPath& operator=(const AtomicPath&) = delete;
  ~AtomicPath();

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const std::string& tmp() const { return tmp_; }
  void commit();

 private:
  std::string path_;
  std::string tmp_;
  bool committed_ = false;
};

/// An output stream to a temporary sibling that `commit()` renames to `path`.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path, bool binary = false);

  std::ofstream& stream() { return out_; }
  void commit();

 private:
  AtomicPath target_;
  std::ofstream out_;
};

/// Writes `content` to `path` atomically.
void write_file_atomic(const std::string& path, std::string_view content);

/// Writes `j` to `path` atomically, indented by 2, with a final newline.
void write_json_atomic(const std::string& path, const nlohmann::json& j);

/// The whole content of a file. Throws Error(not_found) naming it when it cannot be opened.
std::string read_file_text(const std::string& path);

}  // namespace georank
