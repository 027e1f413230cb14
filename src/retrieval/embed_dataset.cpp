#include "georank/retrieval/embed_dataset.hpp"

#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/core/sha256.hpp"
#include "georank/retrieval/npy.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

// One view's embeddings, computed but not yet written.
struct ViewOutput {
  const char* key;  ///< "queries" or "gallery" in the sidecar
  std::string npy_path;
  Embeddings embeddings;
  nlohmann::json entry;
};

// The view's embeddings, or nothing when the step was stopped.
std::optional<ViewOutput> embed_view(const Encoder& encoder, View view, const std::vector<ImageRef>& items,
                                     EmbeddingCache* cache, const std::string& npy_path,
                                     const EmbedStepHooks& hooks, std::size_t& n_encoded) {
  const char* label = view == View::ground ? "queries" : "gallery";
  EmbedFilesOptions options;
  options.cache = cache;
  options.stop = hooks.stop;
  if (hooks.on_progress) options.on_progress = [&](const EmbedProgress& p) { hooks.on_progress(label, p); };
  const EmbedFilesResult result = embed_files(encoder, view, items, options);
  n_encoded += result.n_encoded;
  if (!result.complete) return std::nullopt;
  log_info("{}: {} images ({} from the cache, {} encoded)", label, items.size(), result.n_cached,
           result.n_encoded);
  return ViewOutput{label,
                    npy_path,
                    Embeddings{result.ids, result.matrix},
                    {{"npy", fs::path(npy_path).filename().string()},
                     {"ids", fs::path(ids_path_for(npy_path)).filename().string()},
                     {"n", items.size()},
                     {"n_cached", result.n_cached},
                     {"n_encoded", result.n_encoded}}};
}

nlohmann::json step_meta(const Dataset& ds, const EmbedConfig& c, const ModelCard& card,
                         const Encoder& encoder) {
  nlohmann::json meta{{"dataset", to_json(ds.spec)},
                      {"n_queries_total", ds.n_queries_total},
                      {"model",
                       {{"fingerprint", encoder.fingerprint()},
                        {"ground", card.model_path(View::ground)},
                        {"aerial", card.model_path(View::aerial)},
                        {"card", nlohmann::json::parse(model_card_json(card))}}},
                      {"config", config_to_json(c)},
                      {"random_weights", card.random_weights},
                      {"dim", encoder.dim()},
                      {"dtype", c.fp16 ? "float16" : "float32"},
                      {"threads", c.threads},
                      {"image_decoding", {{"exif_orientation", "applied"}}},
                      {"batch", c.batch}};
  if (card.random_weights) meta["note"] = "random-weight encoder: these embeddings mean nothing";
  record_shard(meta, ds);
  return meta;
}

// Keeps the entry of a view this step does not compute, when the encoder is the same.
void keep_other_views(nlohmann::json& meta, const std::string& meta_path, const std::string& fingerprint) {
  if (!fs::exists(meta_path)) return;
  try {
    const auto old = nlohmann::json::parse(std::ifstream(meta_path));
    for (const char* key : {"queries", "gallery"})
      if (old.contains(key) &&
          old.value("model", nlohmann::json::object()).value("fingerprint", "") == fingerprint)
        meta[key] = old[key];
  } catch (const nlohmann::json::exception&) {
    // an unreadable old sidecar is simply replaced
  }
}

}  // namespace

void validate(const EmbedConfig& c) {
  if (c.model.empty() && c.card.empty())
    throw Error(ErrorKind::invalid_argument, "embed: give a model (or a card naming one)");
  if (c.batch < 1) throw Error(ErrorKind::invalid_argument, "embed: batch must be >= 1");
  if (c.threads < 0) throw Error(ErrorKind::invalid_argument, "embed: threads must be >= 0");
}

EmbedStepResult embed_step_paths(const std::string& out_dir) {
  EmbedStepResult r;
  r.queries_npy = (fs::path(out_dir) / "queries.npy").string();
  r.gallery_npy = (fs::path(out_dir) / "gallery.npy").string();
  r.meta_path = (fs::path(out_dir) / "embeddings.meta.json").string();
  return r;
}

EmbedStepResult embed_dataset(const Dataset& ds, const EmbedConfig& c, const std::string& out_dir,
                              const EmbedStepHooks& hooks) {
  validate(c);
  EmbedStepResult result = embed_step_paths(out_dir);
  const ModelCard card = resolve_model_card(c.model, c.card);
  const Encoder encoder(card, {.n_threads = c.threads, .batch_size = c.batch});
  if (card.random_weights)
    log_warn("the model card says the encoder has random weights: these embeddings mean nothing");

  fs::create_directories(out_dir);
  std::unique_ptr<EmbeddingCache> cache;
  if (!c.no_cache)
    cache = std::make_unique<EmbeddingCache>(
        c.cache.empty() ? (fs::path(out_dir) / "embed-cache.sqlite").string() : c.cache,
        encoder.fingerprint());

  result.meta = step_meta(ds, c, card, encoder);
  keep_other_views(result.meta, result.meta_path, encoder.fingerprint());
  std::vector<ViewOutput> outputs;
  const auto add = [&](View view, std::vector<ImageRef> items, const std::string& npy) {
    if (!result.complete) return;
    auto out = embed_view(encoder, view, items, cache.get(), npy, hooks, result.n_encoded);
    if (out) {
      outputs.push_back(std::move(*out));
    } else {
      result.complete = false;
    }
  };
  if (c.only != EmbedViews::gallery) {
    std::vector<ImageRef> items;
    for (const auto& q : ds.queries) items.push_back({q.id, q.path});
    add(View::ground, std::move(items), result.queries_npy);
  }
  if (c.only != EmbedViews::queries) {
    std::vector<ImageRef> items;
    for (const auto& t : ds.gallery) items.push_back({t.id, t.path});
    add(View::aerial, std::move(items), result.gallery_npy);
  }
  if (!result.complete) return result;
  const NpyDtype dtype = c.fp16 ? NpyDtype::float16 : NpyDtype::float32;
  for (ViewOutput& v : outputs) {
    write_embeddings(v.npy_path, v.embeddings, dtype);
    v.entry["sha256"] = sha256_file(v.npy_path);
    result.meta[v.key] = v.entry;
    log_info("{}: wrote {}", v.key, v.npy_path);
  }
  write_json_atomic(result.meta_path, result.meta);
  return result;
}

}  // namespace georank
