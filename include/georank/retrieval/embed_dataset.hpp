#pragma once
/// The embed step: a dataset's queries (ground branch) and gallery (aerial branch) embedded
/// with an ONNX encoder into OUT/queries.npy + .ids, OUT/gallery.npy + .ids and
/// OUT/embeddings.meta.json, unchanged images taken from an embedding cache.

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "georank/core/config.hpp"
#include "georank/data/dataset.hpp"
#include "georank/retrieval/embed.hpp"

namespace georank {

/// Which views an embed step computes.
enum class EmbedViews { both, queries, gallery };
inline constexpr EnumName<EmbedViews> kEmbedViewsNames[] = {
    {EmbedViews::both, "both"}, {EmbedViews::queries, "queries"}, {EmbedViews::gallery, "gallery"}};
inline std::span<const EnumName<EmbedViews>> enum_names(EmbedViews) {
  return kEmbedViewsNames;
}

/// The embed component's config (`georank embed` flags, a run config's [embed] table).
struct EmbedConfig {
  std::string model;  ///< encoder ONNX file (its card <name>.card.json is read when present)
  std::string card;   ///< model card JSON; empty: beside the model, else Sample4Geo defaults
  std::string cache;  ///< embedding cache file; empty: OUT/embed-cache.sqlite
  bool no_cache = false;
  bool fp16 = false;  ///< store float16 instead of float32
  int threads = 0;    ///< ONNX Runtime intra-op threads (0: one per physical core)
  int batch = 8;      ///< images per inference call
  EmbedViews only = EmbedViews::both;

  template <class Self, class Visit>
  static void fields(Self& c, Visit&& v) {
    v("model", c.model, "Encoder ONNX file (its card <name>.card.json is read when present)");
    v("card", c.card, "Model card JSON (default: beside the model, else Sample4Geo defaults)");
    v("cache", c.cache, "Embedding cache file (default: OUT/embed-cache.sqlite)");
    v("no_cache", c.no_cache, "Neither read nor write the embedding cache");
    v("fp16", c.fp16, "Store float16 instead of float32");
    v("threads", c.threads, "ONNX Runtime intra-op threads (0: one per physical core)");
    v("batch", c.batch, "Images per inference call");
    v("only", c.only, "Embed only the queries or only the gallery");
  }
};

/// Checks the settings: a model or a card, a positive batch, threads in range. Throws
/// Error(invalid_argument) naming the field.
void validate(const EmbedConfig& config);

struct EmbedStepHooks {
  /// Called per view ("queries" / "gallery") after the cache look-ups and after each batch.
  std::function<void(const char* view, const EmbedProgress&)> on_progress;
  /// When it becomes true the step stops before the next batch (finished batches are cached).
  const std::atomic<bool>* stop = nullptr;
};

struct EmbedStepResult {
  bool complete = true;  ///< false: stopped; nothing was written (the cache keeps the batches)
  std::string queries_npy, gallery_npy, meta_path;
  nlohmann::json meta;
  std::size_t n_encoded = 0;  ///< images encoded by this step (stopped: so far)
};

/// OUT/queries.npy, OUT/gallery.npy and OUT/embeddings.meta.json for `out_dir`.
EmbedStepResult embed_step_paths(const std::string& out_dir);

/// Embeds the dataset's queries and gallery (as `config.only` says) into `out_dir`. Every
/// view is computed before any file is written (write, then rename), so a failure or a stop
/// leaves earlier outputs as they were; the sidecar keeps the entry of a view not computed
/// when the encoder is the same, and records each file's SHA-256.
EmbedStepResult embed_dataset(const Dataset& dataset, const EmbedConfig& config, const std::string& out_dir,
                              const EmbedStepHooks& hooks = {});

}  // namespace georank
