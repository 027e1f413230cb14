#pragma once
/// Builds a FAISS index over `.npy` shards too large to hold in memory at once (city-scale
/// galleries): trains on a deterministic sample of rows, then adds the rows chunk by chunk.
/// Optionally the inverted lists go to a file of their own that searches memory-map (FAISS's
/// OnDiskInvertedLists), so an index larger than RAM can be searched. `VectorIndex::load`
/// reads the result; no FAISS type appears here.
///
/// For `out` = "city.faiss" the build writes, each through a temporary file and a rename:
///   city.faiss            the index (FAISS format; label r = row r of the shards in order)
///   city.faiss.ivfdata    on_disk only: the inverted lists, found beside the index by name
///   city.faiss.ids        the id of every row, one per line (the `.ids` format of npy.hpp),
///                         the shards' ids in the order the shards are given
///   city.faiss.meta.json  factory, dimension, row count, the shards (rows, dtype, size,
///                         mtime, SHA-256 of their ids), the settings and the timings
/// The index file is renamed into place last, so a fresh build's companions are complete once
/// it exists (a rebuild in place renames them a moment before the index: do not search an index
/// while it is being rebuilt).
///
/// Memory: one chunk of vectors (chunk_rows x dim floats), the training sample (train_size x
/// dim floats, freed before adding), the codes of the rows added so far (in memory; with
/// on_disk at most spill_mib of them, the rest in temporary block files beside `out`), and a
/// 64-bit hash per row (the duplicate-id check).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace georank {

struct IndexBuildConfig {
  /// Embedding shards S.npy (2-D float32 or float16, the same dimension), each with S.ids
  /// beside it; their rows are indexed in the order given.
  std::vector<std::string> shards;
  /// The index file to write (companions: <out>.ids, <out>.meta.json, <out>.ivfdata).
  std::string out;
  /// FAISS `index_factory` description, inner-product metric ("IVF4096,PQ64",
  /// "OPQ64_256,IVF4096,PQ64", "IVF1024,Flat", "HNSW32", ...). The default suits about a million
  /// 1024-d rows: 4096 lists (4 sqrt(N)) of 64-byte codes; bench/gallery_scale.cpp measures the
  /// alternatives (recall of the exact top-k, queries/s, memory) on clustered synthetic data.
  std::string factory = "IVF4096,PQ64";
  /// Rows sampled for training (all rows when the shards hold fewer). An IVF factory needs at
  /// least one row per list; FAISS's k-means itself uses at most 256 rows per list.
  std::size_t train_size = 262144;
  /// Seed of the training sample: the same seed and shards (in any split into files) give the
  /// same sample, hence the same index.
  std::uint64_t seed = 1;
  /// Rows read and added per step (chunk_rows x dim floats in memory).
  std::size_t chunk_rows = 65536;
  /// Keep the inverted lists in <out>.ivfdata, memory-mapped when searched (IVF factories only).
  bool on_disk = false;
  /// on_disk: MiB of codes held in memory while adding before they are spilled to a temporary
  /// block file beside `out` (checked after each chunk, so a block may pass it by one chunk's
  /// codes); the blocks are merged into <out>.ivfdata at the end.
  std::size_t spill_mib = 1024;
  /// Scale every row to unit length first (cosine similarity; as RetrieveConfig::normalize).
  bool normalize = false;
  /// Threads for training and adding (0: the OpenMP default).
  int n_threads = 0;

  template <class Self, class Visit>
  static void fields(Self& c, Visit&& v) {
    v("shards", c.shards, "Embedding shards S.npy (S.ids beside each), indexed in this order");
    v("out", c.out, "Index file to write (+ .ids, .meta.json, and .ivfdata with --on-disk)");
    v("factory", c.factory, "FAISS factory string: IVF4096,PQ64, OPQ64_256,IVF4096,PQ64, IVF1024,Flat, ...");
    v("train_size", c.train_size, "Rows sampled for training (all rows if fewer)");
    v("seed", c.seed, "Seed of the training sample");
    v("chunk_rows", c.chunk_rows, "Rows read and added per step");
    v("on_disk", c.on_disk, "Inverted lists in <out>.ivfdata, memory-mapped for search (IVF only)");
    v("spill_mib", c.spill_mib, "--on-disk: MiB of codes kept in memory before a spill to a block file");
    v("normalize", c.normalize, "L2-normalise rows first (cosine similarity)");
    v("threads", c.n_threads, "Threads (0: all cores)");
  }
};

/// Where a build stands: `phase` is "sample" (reading the training rows) or "add".
struct IndexBuildProgress {
  const char* phase = "";
  std::size_t n_done = 0;   ///< rows so far
  std::size_t n_total = 0;  ///< rows of the phase
};

struct IndexBuildHooks {
  /// Called after each chunk of the sample and of the additions, from the calling thread.
  std::function<void(const IndexBuildProgress&)> on_progress;
  /// When it becomes true the build stops before its next chunk and writes nothing.
  const std::atomic<bool>* stop = nullptr;
};

struct IndexBuildResult {
  bool complete = true;  ///< false: stopped; nothing was written
  std::string index_path, ids_path, meta_path;
  std::string data_path;  ///< <out>.ivfdata with on_disk, else empty
  std::size_t n_vectors = 0;
  std::size_t dim = 0;
  std::size_t n_train = 0;   ///< rows trained on (0: the factory needs no training)
  double train_seconds = 0;  ///< reading the sample + training
  double add_seconds = 0;    ///< reading, encoding and adding every row (+ merging on disk)
  double total_seconds = 0;  ///< the whole build, checks and writing included
  nlohmann::json meta;       ///< what <out>.meta.json holds
};

/// Builds the index `config` describes and writes its files. Throws Error(invalid_argument)
/// naming the field or the file: no shards or no out, chunk_rows / train_size / spill_mib 0, a
/// bad factory string, shards of different dimensions, an `.ids` file whose count differs from
/// its shard's rows or an id in two shards, a row holding NaN / infinity or a zero vector,
/// fewer rows than the factory needs to train, on_disk with a factory that is not IVF;
/// Error(not_found) for a missing shard or `.ids` file; Error(io) when writing fails;
/// Error(backend) when FAISS fails otherwise.
IndexBuildResult build_index(const IndexBuildConfig& config, const IndexBuildHooks& hooks = {});

/// The companions of an index file: "<index>.ids", "<index>.meta.json", "<index>.ivfdata".
std::string index_ids_path(const std::string& index_path);
std::string index_meta_path(const std::string& index_path);
std::string index_data_path(const std::string& index_path);

}  // namespace georank
