#pragma once
// Output files are written to a temporary sibling and renamed into place, so a reader never
// sees a half-written file and an interrupted run leaves the previous version intact.

#include <fstream>
#include <string>
#include <string_view>

namespace georank {

/// An output stream to `<path>.tmp.<pid>` that `commit()` renames to `path`. Destroying it
/// without `commit()` removes the temporary file. Throws Error(io) naming `path`.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path, bool binary = false);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  std::ofstream& stream() { return out_; }
  void commit();

 private:
  std::string path_;
  std::string tmp_path_;
  std::ofstream out_;
  bool committed_ = false;
};

/// Writes `content` to `path` atomically.
void write_file_atomic(const std::string& path, std::string_view content);

}  // namespace georank
