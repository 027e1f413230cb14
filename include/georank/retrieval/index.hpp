#pragma once
/// Inner-product vector search over a gallery of embeddings (FAISS underneath; no FAISS types
/// here). Exact search by default; any FAISS factory string for large galleries.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "georank/retrieval/npy.hpp"

namespace georank {

struct IndexConfig {
  /// FAISS `index_factory` description: "Flat" (exact, default), "HNSW32", "IVF1024,Flat", ...
  /// The metric is always inner product (cosine for L2-normalised embeddings).
  std::string factory = "Flat";
  /// Search-time parameters in FAISS ParameterSpace syntax, e.g. "nprobe=32" or "efSearch=128".
  std::string search_params;
  /// Threads for building and searching (0: the OpenMP default).
  int n_threads = 0;
  /// Exact search computes scores block by block with BLAS: gallery rows per block. FAISS's
  /// own default, 1,024, leaves a 100-query batch 3x and a 1,000-query batch 1.3x slower than
  /// 8,192 on a VIGOR-sized gallery (bench/search.cpp); larger blocks gained nothing more.
  /// Scores of one block take rows x min(queries, 4096) x 4 bytes. This sets a process-wide
  /// FAISS setting for the duration of each search.
  std::size_t blas_block_rows = 8192;
};

/// Top-k results of a batch search: row q holds query q's k best gallery rows in descending
/// score order; label -1 (score -inf) pads when the gallery has fewer than k rows.
struct SearchResult {
  std::size_t n_queries = 0;
  std::size_t k = 0;
  std::vector<float> scores;         ///< n_queries x k, row-major
  std::vector<std::int64_t> labels;  ///< n_queries x k, gallery row indices
};

/// A searchable gallery. Move-only; `search` may be called from one thread at a time
/// (FAISS parallelises each call internally).
class VectorIndex {
 public:
  /// Builds (and for IVF-type factories trains) an index over `vectors` (rows = gallery).
  /// Throws Error(invalid_argument) for a bad factory string, too few training vectors or
  /// `values.size() != rows * cols`.
  static VectorIndex build(const FloatMatrix& vectors, const IndexConfig& config);
  /// Reads an index written by `save` or by `build_index` (index_build.hpp). An index built with
  /// on-disk inverted lists memory-maps them, read-only, from the file the index names (by
  /// default `<path>.ivfdata`), looked up in `path`'s folder: move the two together. Throws
  /// Error(not_found / backend); a missing `.ivfdata` is Error(backend) naming it.
  static VectorIndex load(const std::string& path, const IndexConfig& config);

  VectorIndex(VectorIndex&&) noexcept;
  VectorIndex& operator=(VectorIndex&&) noexcept;
  ~VectorIndex();

  /// Writes the index (temporary file + rename). Throws Error(io).
  void save(const std::string& path) const;
  /// Searches `queries` (cols == dim()) for the top `k`. Throws Error(invalid_argument) on a
  /// dimension mismatch or `values.size() != rows * cols`.
  [[nodiscard]] SearchResult search(const FloatMatrix& queries, std::size_t k) const;
  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::size_t dim() const;
  /// Whether the search is exhaustive (exact).
  [[nodiscard]] bool exact() const;

 private:
  struct Impl;
  explicit VectorIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Scales each row to unit L2 norm (rows of norm 0 stay 0). Throws Error(invalid_argument)
/// when `values.size() != rows * cols`.
void l2_normalize(FloatMatrix& m);

}  // namespace georank
