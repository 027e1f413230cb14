#pragma once
/// Persistent cache of per-image embeddings, so re-running `georank embed` only encodes
/// images that are new or changed.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "georank/retrieval/encoder.hpp"

namespace georank {

/// What identifies an image file's content cheaply: absolute path, byte size and
/// modification time.
struct ImageFileKey {
  std::string path;           ///< absolute, normalised
  std::int64_t size = 0;      ///< bytes
  std::int64_t mtime_ns = 0;  ///< modification time, nanoseconds since the epoch
};

/// Stats `path`. Throws Error(not_found) naming it when it does not exist.
ImageFileKey image_file_key(const std::string& path);

/// An SQLite file of embeddings keyed by (encoder fingerprint, view, path, size, mtime). A
/// row whose size or mtime no longer matches the file is a miss and is replaced on `put`.
/// Each `put` is one transaction, so a run that is interrupted keeps every finished batch.
/// Not thread-safe; several processes may share the file (SQLite locking, WAL journal).
class EmbeddingCache {
 public:
  /// Opens or creates the cache file; lookups and stores are scoped to `fingerprint`
  /// (Encoder::fingerprint()). Throws Error(backend) naming the file.
  EmbeddingCache(const std::string& path, std::string fingerprint);
  ~EmbeddingCache();
  EmbeddingCache(EmbeddingCache&&) noexcept;
  EmbeddingCache& operator=(EmbeddingCache&&) noexcept;

  /// The stored row for this file as `view`, if present and still current.
  [[nodiscard]] std::optional<std::vector<float>> find(View view, const ImageFileKey& key) const;
  /// Stores keys.size() rows of `dim` floats (`rows` is row-major) in one transaction.
  void put(View view, std::span<const ImageFileKey> keys, std::span<const float> rows, std::size_t dim);
  /// Rows stored for this fingerprint and view.
  [[nodiscard]] std::size_t count(View view) const;
  [[nodiscard]] const std::string& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace georank
