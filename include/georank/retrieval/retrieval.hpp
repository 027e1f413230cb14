#pragma once
/// Stage 1: top-K gallery tiles per query from precomputed embeddings (`.npy` + `.ids`), or
/// imported from an external system's CSV, as rankings with a reproducibility sidecar.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "georank/core/config.hpp"
#include "georank/data/dataset.hpp"
#include "georank/data/ranking.hpp"
#include "georank/retrieval/index.hpp"

namespace georank {

struct RetrieveConfig {
  std::string query_embeddings;    ///< Q.npy (float32/float16, one row per query) with Q.ids beside it
  std::string gallery_embeddings;  ///< G.npy with G.ids beside it
  std::size_t k = 10;              ///< candidates per query
  IndexConfig index;
  /// Scale every embedding to unit length first (for encoders whose outputs are not
  /// L2-normalised; inner product then equals cosine similarity).
  bool normalize = false;
  /// Persist a non-exact index next to the gallery embeddings and reuse it while the
  /// embeddings and the selected rows are unchanged. (An exact index is a copy of G.npy and
  /// is always rebuilt from it.)
  bool persist_index = true;
  /// An index written by `georank index build` (index_build.hpp), searched instead of one built
  /// from gallery_embeddings (which may then be empty): its `.ids` name the rows, and rows
  /// outside the dataset's gallery are skipped. Every gallery tile must be in it.
  std::string gallery_index;
  /// With gallery_index: re-score the index's best `rescore` rows per query exactly, from the
  /// float rows of the shards it was built from (its .meta.json names them), and keep the best
  /// k of those. 0: the index's own (approximate) scores.
  std::size_t rescore = 0;

  /// The index settings are flat keys here (`index` is IndexConfig::factory).
  template <class Self, class Visit>
  static void fields(Self& c, Visit&& v) {
    v("query_embeddings", c.query_embeddings, "Query embeddings Q.npy (Q.ids beside it)");
    v("gallery_embeddings", c.gallery_embeddings, "Gallery embeddings G.npy (G.ids beside it)");
    v("k", c.k, "Candidates per query (at most the gallery size)");
    v("index", c.index.factory, "FAISS factory string: Flat (exact), HNSW32, IVF1024,Flat, ...");
    v("search_params", c.index.search_params, "FAISS search parameters, e.g. nprobe=32");
    v("threads", c.index.n_threads, "Search threads (0: all cores)");
    v("blas_block_rows", c.index.blas_block_rows, "Exact search: gallery rows per BLAS block");
    v("normalize", c.normalize, "L2-normalise embeddings first (cosine similarity)");
    v("persist_index", c.persist_index, "Save/reuse a trained index next to G.npy");
    v("gallery_index", c.gallery_index,
      "A georank index build index to search instead (its .ids name the rows)");
    v("rescore", c.rescore,
      "With gallery_index: re-score its top N per query exactly from the shards (0: off)");
  }
};

struct RetrieveResult {
  std::vector<QueryRanking> rankings;  ///< in dataset query order, annotated with labels
  nlohmann::json meta;                 ///< the sidecar content (without run-specific extras)
};

/// Searches the dataset's queries (after its subset) against the dataset's gallery. Rows of
/// G.npy whose ids are not in the gallery are ignored; a gallery tile or a query without an
/// embedding is an Error(not_found) naming the first few ids.
RetrieveResult retrieve(const Dataset& dataset, const RetrieveConfig& config);

/// Where the persisted index of `gallery_npy` for `factory` lives:
/// "dir/G.npy" + "HNSW32" -> "dir/G.HNSW32.faiss" (characters other than [A-Za-z0-9_.-]
/// become '_').
std::string index_path_for(const std::string& gallery_npy, const std::string& factory);

/// Writes `rankings` to `rankings_path` and `meta` to `meta_path_for(rankings_path)`, each
/// atomically (temporary file + rename). Throws Error(io).
void write_retrieval_output(const std::vector<QueryRanking>& rankings, const nlohmann::json& meta,
                            const std::string& rankings_path);

}  // namespace georank
