#pragma once
/// Embedding image files with an Encoder: cache look-ups, image decoding overlapped with
/// inference, progress reporting and cancellation between batches.

#include <atomic>
#include <cstddef>
#include <functional>
#include <span>
#include <string>

#include "georank/data/image.hpp"
#include "georank/retrieval/embedding_cache.hpp"
#include "georank/retrieval/encoder.hpp"
#include "georank/retrieval/npy.hpp"

namespace georank {

/// An image file to embed and the id its row gets.
struct ImageRef {
  std::string id;
  std::string path;
};

struct EmbedProgress {
  std::size_t n_done = 0;       ///< images encoded so far (cache hits excluded)
  std::size_t n_to_encode = 0;  ///< images that were not in the cache
  std::size_t n_cached = 0;     ///< images taken from the cache
};

struct EmbedFilesOptions {
  ImageLimits limits;
  /// Read before encoding and written after every batch; null: no cache.
  EmbeddingCache* cache = nullptr;
  /// Called once after the cache look-ups and after every batch.
  std::function<void(const EmbedProgress&)> on_progress;
  /// When it becomes true the run stops before the next batch (finished batches are cached).
  const std::atomic<bool>* stop = nullptr;
};

struct EmbedFilesResult {
  /// items.size() x encoder.dim(), rows in item order; empty when the run was stopped.
  FloatMatrix matrix;
  std::vector<std::string> ids;
  std::size_t n_cached = 0;
  std::size_t n_encoded = 0;
  bool complete = true;  ///< false when `stop` ended the run early
};

/// Embeds `items` as `view`, taking unchanged files from the cache, decoding the next batch
/// while the current one runs. Throws Error(not_found) for a missing file and
/// Error(invalid_argument) naming a corrupt image; batches finished before the error stay
/// in the cache.
EmbedFilesResult embed_files(const Encoder& encoder, View view, std::span<const ImageRef> items,
                             const EmbedFilesOptions& options = {});

}  // namespace georank
