#pragma once
/// `georank merge`: the outputs of a sharded job (`--shard I/N`) joined into what one machine
/// writes for the whole dataset. Shards are contiguous blocks of the queries in dataset
/// order, so rankings and query embeddings are concatenated in shard order; sidecars are
/// joined field by field (counts and durations summed, file digests recomputed, paths inside
/// a shard's folder moved to the output's), and every other field must agree across shards.
/// With GEORANK_REPRODUCIBLE=1 (core/recorded_time.hpp) every file but the SQLite caches is
/// byte-identical to the unsharded run's; caches hold the same rows.

#include <cstddef>
#include <string>
#include <vector>

namespace georank {

enum class MergeKind {
  rankings,    ///< a rankings JSONL (retrieve, rerank) and its .meta.json sidecar
  embeddings,  ///< an embed --out-dir: queries.npy/.ids, gallery.npy/.ids, embeddings.meta.json
  cache,       ///< an SQLite cache (judgments, embeddings): the union of the rows
  run,         ///< a georank run folder: all of the above, then summary.{json,md}
};
const char* to_string(MergeKind kind);

struct MergeResult {
  MergeKind kind = MergeKind::rankings;
  std::size_t n_shards = 0;
  std::vector<std::string> written;  ///< the files written, in order
};

/// The kind of a shard output, from what `path` is: a folder with run.resolved.toml (run) or
/// embeddings.meta.json (embeddings), a file starting with SQLite's header (cache), else a
/// rankings file. Throws Error(not_found) for a missing path, Error(invalid_argument) for a
/// folder of neither kind.
MergeKind merge_kind(const std::string& path);

/// Joins `inputs` (all of one kind, any order) into `out`. Shard outputs must be the complete
/// set 0..N-1 of one N: a missing or repeated shard, an unsharded input, or two shards whose
/// settings differ is an Error(invalid_argument) naming the files and the field; caches,
/// which record no shard, are joined as given. Nothing is written until every input is read
/// and checked; each file is written atomically. `out` must not be one of the inputs.
MergeResult merge_shards(const std::vector<std::string>& inputs, const std::string& out);

}  // namespace georank
