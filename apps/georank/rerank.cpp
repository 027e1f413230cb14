#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "checked_number.hpp"
#include "commands.hpp"
#include "common_flags.hpp"
#include "dataset_options.hpp"
#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/data/dataset.hpp"
#include "georank/data/ranking.hpp"
#include "georank/fixtures/simulation.hpp"
#include "georank/rerank/run.hpp"
#include "georank/retrieval/retrieval.hpp"
#include "georank/runtime/runtime.hpp"
#include "georank/vlm/llama_backend.hpp"
#include "georank/vlm/remote_backend.hpp"

namespace georank::cli {
namespace {

struct RerankOptions {
  DatasetOptions data;
  std::string candidates;
  std::string out;
  std::string cache;
  RerankConfig config;
  // In-process judge.
  std::string model;
  std::string mmproj;
  std::string chat_template;
  int threads = 0;
  int n_ctx = 8192;
  int gpu_layers = 0;
  // Remote judge (OpenAI-compatible servers).
  std::vector<std::string> servers;
  std::string server_model;
  std::string api_key_env = "GEORANK_API_KEY";
  // A server that accepts but never answers costs at most (retries + 1) * timeout, not hours.
  double timeout_s = 60.0;
  int retries = 2;
  // Simulated judge (tests and dry runs).
  std::string judge = "vlm";
  double judge_accuracy = 0.8;
  double position_bias = 0.0;
  int judge_delay_ms = 0;
  bool no_progress = false;
  bool check_only = false;
};

// Decoded images by path; the least recently loaded are dropped past a bound.
class ImageStore {
 public:
  std::shared_ptr<const Image> get(const std::string& path) {
    if (const auto it = images_.find(path); it != images_.end()) return it->second;
    if (images_.size() >= 256) images_.clear();
    auto img = std::make_shared<const Image>(load_image(path));
    images_.emplace(path, img);
    return img;
  }

 private:
  std::unordered_map<std::string, std::shared_ptr<const Image>> images_;
};

// The simulated judge's ground truth from the dataset labels: the positive tile 1, a
// semi-positive 0.7, any other tile a fixed pseudo-random quality below 0.9.
double label_quality(const Query& q, const std::string& tile_id) {
  if (tile_id == q.positive.tile_id) return 1.0;
  for (const auto& s : q.semi_positives)
    if (s.tile_id == tile_id) return 0.7;
  const std::size_t h = std::hash<std::string>{}(q.id + "\n" + tile_id);
  return 0.9 * static_cast<double>(h % 10007) / 10007.0;
}

// The file's order is the retrieval rank; say so when the scores disagree with it or are missing.
void warn_about_scores(const std::vector<QueryRanking>& input, const std::string& path) {
  std::size_t unordered = 0, missing = 0;
  for (const auto& r : input) {
    bool ordered = true;
    for (std::size_t i = 0; i < r.candidates.size(); ++i) {
      if (std::isnan(r.candidates[i].score)) ++missing;
      if (i > 0 && r.candidates[i].score > r.candidates[i - 1].score) ordered = false;
    }
    unordered += ordered ? 0 : 1;
  }
  if (unordered > 0)
    log_warn(
        "{}: {} of {} queries list candidates out of descending score order; their order in the file is "
        "taken as the retrieval rank",
        path, unordered, input.size());
  if (missing > 0)
    log_warn("{}: {} candidates have no score (null or absent); fusion and ties use the file's order", path,
             missing);
}

void run(const RerankOptions& o) {
  validate(o.config);
  {
    std::vector<PathArgument> inputs = with_sidecar("--candidates", o.candidates);
    inputs.insert(inputs.end(), {{"--model", o.model}, {"--mmproj", o.mmproj}, {"--cache", o.cache}});
    check_outputs(with_sidecar("--out", o.out), inputs);
  }
  const PromptTemplate prompt = prompt_for(o.config);
  if (o.check_only) return;
  const Dataset ds = load_dataset(o.data.spec());
  const bool csv = o.candidates.ends_with(".csv");
  std::vector<QueryRanking> input = csv ? read_candidates_csv(o.candidates) : read_rankings(o.candidates);
  if (ds.spec.subset > 0)
    std::erase_if(input, [&](const QueryRanking& r) { return !ds.query_by_id.contains(r.query_id); });
  warn_about_scores(input, o.candidates);

  ImageStore store;
  std::unordered_map<std::string, std::string> query_of_image, tile_of_image;  // image id -> name
  RerankImages images;
  images.query = [&](const QueryRanking& r) {
    auto img = store.get(ds.query(r.query_id).path);
    query_of_image[img->id] = r.query_id;
    return img;
  };
  images.tile = [&](const RankedCandidate& c) {
    auto img = store.get(ds.gallery[ds.tile_index(c.tile_id)].path);
    tile_of_image[img->id] = c.tile_id;
    return img;
  };

  std::unique_ptr<VlmBackend> backend;
  if (o.judge == "simulated") {
    if (!o.model.empty()) throw Error(ErrorKind::invalid_argument, "--judge simulated takes no --model");
    SimulatedJudgeParams p;
    p.judge_accuracy = o.judge_accuracy;
    p.position_bias = o.position_bias;
    p.seed = o.config.order_seed;
    backend = std::make_unique<SimulatedBackend>(
        [&](const std::string& query_image, const std::string& tile_image) {
          const auto q = query_of_image.find(query_image);
          const auto t = tile_of_image.find(tile_image);
          if (q == query_of_image.end() || t == tile_of_image.end()) return 0.0;
          return label_quality(ds.query(q->second), t->second);
        },
        p, o.judge_delay_ms);
    log_warn("SIMULATED judge: the reranked lists say nothing about any real model");
  } else if (!o.servers.empty()) {
    if (!o.model.empty() || !o.mmproj.empty())
      throw Error(ErrorKind::invalid_argument, "use either --server or --model/--mmproj, not both");
    RemoteConfig rc;
    rc.servers = o.servers;
    rc.model = o.server_model;
    rc.timeout_s = o.timeout_s;
    rc.max_retries = o.retries;
    if (const char* key = std::getenv(o.api_key_env.c_str())) rc.api_key = key;
    backend = make_remote_backend(rc);
  } else {
    if (o.model.empty() || o.mmproj.empty())
      throw Error(ErrorKind::invalid_argument,
                  "rerank needs --model and --mmproj, or --server URL (or --judge simulated)");
    init_runtime();
    LlamaConfig lc;
    lc.model = o.model;
    lc.mmproj = o.mmproj;
    lc.chat_template = o.chat_template;
    lc.threads = o.threads;
    lc.n_ctx = o.n_ctx;
    lc.n_gpu_layers = o.gpu_layers;
    backend = make_llama_backend(lc);
  }

  std::unique_ptr<JudgmentCache> cache;
  if (!o.cache.empty()) cache = std::make_unique<JudgmentCache>(o.cache);
  const bool show = !o.no_progress && log_level() <= LogLevel::info;
  const bool tty = isatty(STDERR_FILENO) != 0;
  // Without a terminal (a log file, CI), a line every few seconds and the last one, not one
  // per query.
  constexpr double kLogEverySeconds = 5.0;
  double last_line_s = -kLogEverySeconds;
  const auto progress = [&](const RerankProgress& p) {
    if (!show) return;
    if (tty) {
      std::fprintf(stderr, "\r%s", format_rerank_progress(p).c_str());
      if (p.done == p.total) std::fprintf(stderr, "\n");
    } else if (p.done == p.total || p.elapsed_s - last_line_s >= kLogEverySeconds) {
      std::fprintf(stderr, "%s\n", format_rerank_progress(p).c_str());
      last_line_s = p.elapsed_s;
    }
  };
  log_info("reranking {} queries: {} {} {} top-{} with {} ({})", input.size(), o.config.strategy,
           o.config.strategy == "pairwise" ? o.config.aggregate : "",
           o.config.strategy == "pairwise" ? o.config.orders : "", o.config.k, backend->name(), prompt.name);
  const RerankRunResult result = rerank_all(input, images, o.config, prompt, *backend, cache.get(), progress);

  write_rankings(result.rankings, o.out);
  nlohmann::json extra = {{"dataset", to_json(ds.spec)},
                          {"candidates", o.candidates},
                          {"out", o.out},
                          {"cache", o.cache.empty() ? nlohmann::json() : nlohmann::json(o.cache)},
                          {"image_decoding", {{"exif_orientation", "applied"}}}};
  if (o.judge == "simulated") {
    extra["simulated_judge"] = {{"judge_accuracy", o.judge_accuracy}, {"position_bias", o.position_bias}};
  } else if (!o.servers.empty()) {
    extra["server"] = {{"servers", o.servers}, {"model", o.server_model}};
  } else {
    extra["model"] = {{"model", o.model}, {"mmproj", o.mmproj}, {"chat_template", o.chat_template}};
  }
  const std::string meta_path = meta_path_for(o.out);
  write_json_atomic(meta_path, rerank_meta(o.config, prompt, *backend, result, extra));
  log_info("wrote {} and {} ({} judgments, {} computed, {} from the cache, {} unparsed, {:.1f} s)", o.out,
           meta_path, result.stats.n_judgments, result.backend_calls, result.cache_hits,
           result.stats.n_unparsed, result.seconds);
}

}  // namespace

void add_rerank(CLI::App& app) {
  auto* cmd = app.add_subcommand("rerank", "Rerank the top-k candidates of each query with a VLM judge");
  auto o = std::make_shared<RerankOptions>();
  add_dataset_options(*cmd, o->data);
  cmd->add_option("--candidates", o->candidates, "Candidates: rankings JSONL (georank retrieve) or CSV")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out, "Reranked JSONL (same shape; sidecar <out>.meta.json)")->required();
  cmd->add_option("--cache", o->cache,
                  "Judgment cache (SQLite); a rerun or resumed run reuses its judgments");
  auto& c = o->config;
  cmd->add_option("--strategy", c.strategy,
                  "pointwise-score | pointwise-likert | pointwise-yesno | "
                  "pointwise-yesno-reasoning | pairwise | listwise")
      ->capture_default_str();
  cmd->add_option("--aggregate", c.aggregate,
                  "Pairwise: all-pairs-copeland | all-pairs-bt | knockout | bubble | sort")
      ->capture_default_str();
  cmd->add_option("--orders", c.orders, "Pairwise presentation orders: single | both | random")
      ->capture_default_str();
  cmd->add_option("--k", c.k, "Rerank the top-k (the rest keep retrieval order)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--order-seed", c.order_seed, "Seed of random presentation orders")
      ->check(fits_64_bits(false))
      ->capture_default_str();
  cmd->add_option("--prompt", c.prompt,
                  "Prompt template: a built-in name or a .toml file (default: the strategy's)");
  cmd->add_option("--score-mode", c.score_mode, "Direct score: expected (over \"0\"..\"100\") or text")
      ->capture_default_str();
  cmd->add_option("--fusion-alpha", c.fusion_alpha, "Pointwise: alpha * vlm + (1 - alpha) * retrieval")
      ->capture_default_str();
  cmd->add_option("--listwise-window", c.listwise_window, "Listwise: candidates per prompt (0: all k)")
      ->capture_default_str();
  cmd->add_option("--listwise-stride", c.listwise_stride, "Listwise: window step (0: half the window)")
      ->capture_default_str();
  cmd->add_option("--bt-regularization", c.bt_regularization, "Bradley-Terry pseudo-wins per candidate")
      ->capture_default_str();
  cmd->add_option("--layout", c.layout, "Images as separate images or one composite canvas (any judge)")
      ->check(CLI::IsMember({"separate", "composite"}))
      ->capture_default_str();
  cmd->add_option("--composite-panel-px", c.composite_panel_px, "Composite: side of each square panel")
      ->check(CLI::Range(16, 4096))
      ->capture_default_str();
  cmd->add_option("--model,-m", o->model, "Text model GGUF")->check(CLI::ExistingFile);
  cmd->add_option("--mmproj", o->mmproj, "Multimodal projector GGUF")->check(CLI::ExistingFile);
  cmd->add_option("--chat-template", o->chat_template,
                  "llama.cpp built-in chat template (default: the model's)");
  add_threads_option(*cmd, o->threads, "CPU threads (0: all)");
  cmd->add_option("--ctx-size", o->n_ctx, "KV cells shared by a batch")->capture_default_str();
  cmd->add_option("--gpu-layers", o->gpu_layers, "Layers offloaded to a GPU (-1: all)")
      ->capture_default_str();
  cmd->add_option("--server", o->servers,
                  "OpenAI-compatible server URL(s) (llama-server, vLLM, SGLang, Ollama)")
      ->delimiter(',');
  cmd->add_option("--server-model", o->server_model, "Model name for the server (default: its first model)");
  cmd->add_option("--timeout", o->timeout_s, "Server: seconds to wait for each answer")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--retries", o->retries, "Server: retries after a timeout, connection error, 429 or 5xx")
      ->check(CLI::Range(0, 20))
      ->capture_default_str();
  cmd->add_option("--api-key-env", o->api_key_env, "Environment variable holding the server's API key")
      ->capture_default_str();
  cmd->add_option("--judge", o->judge,
                  "vlm, or simulated (a SIMULATED judge from the dataset labels, for tests)")
      ->check(CLI::IsMember({"vlm", "simulated"}))
      ->capture_default_str();
  cmd->add_option("--judge-accuracy", o->judge_accuracy, "Simulated judge: pairwise accuracy")
      ->capture_default_str();
  cmd->add_option("--position-bias", o->position_bias, "Simulated judge: pull toward the first image (0..1)")
      ->capture_default_str();
  cmd->add_option("--judge-delay-ms", o->judge_delay_ms, "Simulated judge: sleep per judgment (tests)")
      ->capture_default_str();
  cmd->add_flag("--no-progress", o->no_progress, "No progress bar");
  add_check_only_flag(*cmd, o->check_only);
  cmd->callback([o] { run(*o); });
}

}  // namespace georank::cli
