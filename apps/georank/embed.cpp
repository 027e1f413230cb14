#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "common_flags.hpp"
#include "dataset_options.hpp"
#include "exit_status.hpp"
#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/core/progress.hpp"
#include "georank/core/sha256.hpp"
#include "georank/data/dataset.hpp"
#include "georank/data/image.hpp"
#include "georank/retrieval/embed.hpp"
#include "georank/retrieval/npy.hpp"

namespace georank::cli {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_stop{false};

extern "C" void on_interrupt(int signal) {
  // First signal: finish the running batch, keep the cache, exit. Second: default action.
  if (g_stop.exchange(true)) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
  }
}

// Installs the interrupt handlers for the lifetime of a run.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_stop = false;
    old_int_ = std::signal(SIGINT, on_interrupt);
    // A shell starts background jobs with SIGINT ignored; keep it that way.
    if (old_int_ == SIG_IGN) std::signal(SIGINT, SIG_IGN);
    old_term_ = std::signal(SIGTERM, on_interrupt);
  }
  ~InterruptGuard() {
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  void (*old_int_)(int) = SIG_DFL;
  void (*old_term_)(int) = SIG_DFL;
};

struct EmbedCommand {
  DatasetSpec dataset;
  std::string model;
  std::string card;
  std::string out_dir;
  std::string cache;
  bool no_cache = false;
  bool fp16 = false;
  int threads = 0;
  int batch = 8;
  std::string only = "both";
  bool check_only = false;
};

// One view's embeddings, computed but not yet written.
struct ViewOutput {
  const char* key;  ///< "queries" or "gallery" in the sidecar
  std::string npy_path;
  Embeddings embeddings;
  nlohmann::json entry;
};

ViewOutput embed_view(const Encoder& encoder, View view, const std::vector<ImageRef>& items,
                      EmbeddingCache* cache, const std::string& npy_path) {
  const char* label = view == View::ground ? "queries" : "gallery";
  std::unique_ptr<ProgressBar> bar;
  EmbedFilesOptions options;
  options.cache = cache;
  options.stop = &g_stop;
  options.on_progress = [&](const EmbedProgress& p) {
    if (!bar) {
      if (p.n_cached > 0)
        log_info("{}: {} of {} images unchanged in the cache", label, p.n_cached, items.size());
      bar = std::make_unique<ProgressBar>(label, p.n_to_encode);
    }
    bar->update(p.n_done);
  };
  const EmbedFilesResult result = embed_files(encoder, view, items, options);
  if (bar) bar->finish();
  if (!result.complete) {
    log_warn(
        "interrupted: {} {} images encoded and cached in this run; run the same command again to continue",
        result.n_encoded, label);
    throw CLI::RuntimeError(kExitInterrupted);
  }
  log_info("{}: {} images ({} from the cache, {} encoded)", label, items.size(), result.n_cached,
           result.n_encoded);
  return {label,
          npy_path,
          Embeddings{result.ids, result.matrix},
          {{"npy", fs::path(npy_path).filename().string()},
           {"ids", fs::path(ids_path_for(npy_path)).filename().string()},
           {"n", items.size()},
           {"n_cached", result.n_cached},
           {"n_encoded", result.n_encoded}}};
}

void run(const EmbedCommand& c) {
  const InterruptGuard interrupts;  // an interrupt while loading stops before the first batch
  {
    const std::vector<PathArgument> outputs = {{"--out-dir", c.out_dir + "/queries.npy"},
                                               {"--out-dir", c.out_dir + "/gallery.npy"},
                                               {"--out-dir", c.out_dir + "/embeddings.meta.json"}};
    const std::vector<PathArgument> inputs = {{"--model", c.model}, {"--card", c.card}};
    check_outputs(outputs, inputs);
  }
  const DatasetSpec spec = c.dataset;
  const Dataset ds = load_dataset(spec);
  const ModelCard card = resolve_model_card(c.model, c.card);
  const Encoder encoder(card, {.n_threads = c.threads, .batch_size = c.batch});
  if (card.random_weights)
    log_warn("the model card says the encoder has random weights: these embeddings mean nothing");

  fs::create_directories(c.out_dir);
  std::unique_ptr<EmbeddingCache> cache;
  if (!c.no_cache)
    cache = std::make_unique<EmbeddingCache>(c.cache.empty() ? c.out_dir + "/embed-cache.sqlite" : c.cache,
                                             encoder.fingerprint());
  const NpyDtype dtype = c.fp16 ? NpyDtype::float16 : NpyDtype::float32;

  nlohmann::json meta{{"dataset", to_json(spec)},
                      {"n_queries_total", ds.n_queries_total},
                      {"model",
                       {{"fingerprint", encoder.fingerprint()},
                        {"ground", card.model_path(View::ground)},
                        {"aerial", card.model_path(View::aerial)},
                        {"card", nlohmann::json::parse(model_card_json(card))}}},
                      {"random_weights", card.random_weights},
                      {"dim", encoder.dim()},
                      {"dtype", c.fp16 ? "float16" : "float32"},
                      {"threads", c.threads},
                      {"image_decoding", {{"exif_orientation", "applied"}}},
                      {"batch", c.batch}};
  if (card.random_weights) meta["note"] = "random-weight encoder: these embeddings mean nothing";

  const std::string meta_path = c.out_dir + "/embeddings.meta.json";
  if (fs::exists(meta_path)) {
    // Keep the entry of a view this run does not touch (--only).
    try {
      const auto old = nlohmann::json::parse(std::ifstream(meta_path));
      for (const char* key : {"queries", "gallery"})
        if (old.contains(key) &&
            old.value("model", nlohmann::json::object()).value("fingerprint", "") == encoder.fingerprint())
          meta[key] = old[key];
    } catch (const nlohmann::json::exception&) {
      // an unreadable old sidecar is simply replaced
    }
  }
  // Every view is computed before any file is written, so a failure leaves the old outputs as
  // they were; the sidecar names each file's SHA-256, so a reader can tell files of different
  // runs apart even if a write fails half-way.
  std::vector<ViewOutput> outputs;
  if (c.only != "gallery") {
    std::vector<ImageRef> items;
    for (const auto& q : ds.queries) items.push_back({q.id, q.path});
    outputs.push_back(embed_view(encoder, View::ground, items, cache.get(), c.out_dir + "/queries.npy"));
  }
  if (c.only != "queries") {
    std::vector<ImageRef> items;
    for (const auto& t : ds.gallery) items.push_back({t.id, t.path});
    outputs.push_back(embed_view(encoder, View::aerial, items, cache.get(), c.out_dir + "/gallery.npy"));
  }
  for (ViewOutput& v : outputs) {
    write_embeddings(v.npy_path, v.embeddings, dtype);
    v.entry["sha256"] = sha256_file(v.npy_path);
    meta[v.key] = v.entry;
    log_info("{}: wrote {}", v.key, v.npy_path);
  }
  write_json_atomic(meta_path, meta);
}

}  // namespace

void add_embed(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "embed",
      "Embed the queries (ground branch) and the gallery (aerial branch) of a dataset with an ONNX encoder:\n"
      "OUT/queries.npy + queries.ids, OUT/gallery.npy + gallery.ids, OUT/embeddings.meta.json.\n"
      "Unchanged images are taken from a cache; Ctrl-C stops after the running batch and keeps it.");
  auto c = std::make_shared<EmbedCommand>();
  add_dataset_options(*cmd, c->dataset);
  cmd->add_option("--model", c->model, "Encoder ONNX file (its card <name>.card.json is read when present)");
  cmd->add_option("--card", c->card, "Model card JSON (default: beside the model, else Sample4Geo defaults)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out-dir", c->out_dir, "Output folder")->required();
  cmd->add_flag("--fp16", c->fp16, "Store float16 instead of float32");
  add_threads_option(*cmd, c->threads, "ONNX Runtime intra-op threads (0: one per physical core)");
  cmd->add_option("--batch", c->batch, "Images per inference call")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--cache", c->cache, "Embedding cache file (default: OUT/embed-cache.sqlite)");
  cmd->add_flag("--no-cache", c->no_cache, "Neither read nor write the embedding cache");
  cmd->add_option("--only", c->only, "Embed only the queries or only the gallery")
      ->check(CLI::IsMember({"both", "queries", "gallery"}))
      ->capture_default_str();
  add_check_only_flag(*cmd, c->check_only);
  cmd->callback([c] {
    if (c->model.empty() && c->card.empty()) throw CLI::RequiredError("--model or --card");
    if (!c->check_only) run(*c);
  });
}

}  // namespace georank::cli
