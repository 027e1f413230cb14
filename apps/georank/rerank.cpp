#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "checked_number.hpp"
#include "commands.hpp"
#include "common_flags.hpp"
#include "config_flags.hpp"
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

// The command's files and switches around the library's configs.
struct RerankCommand {
  DatasetSpec data;
  std::string candidates;
  std::string out;
  std::string cache;
  RerankConfig config;
  LlamaConfig llama;
  RemoteConfig remote;
  JudgeChoiceConfig judge;
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

void run(const RerankCommand& o) {
  validate(o.config);
  {
    std::vector<PathArgument> inputs = with_sidecar("--candidates", o.candidates);
    inputs.insert(inputs.end(),
                  {{"--model", o.llama.model}, {"--mmproj", o.llama.mmproj}, {"--cache", o.cache}});
    check_outputs(with_sidecar("--out", o.out), inputs);
  }
  const PromptTemplate prompt = prompt_for(o.config);
  if (o.check_only) return;
  const Dataset ds = load_dataset(o.data);
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
  if (o.judge.judge == JudgeKind::simulated) {
    if (!o.llama.model.empty())
      throw Error(ErrorKind::invalid_argument, "--judge simulated takes no --model");
    SimulatedJudgeParams p;
    p.judge_accuracy = o.judge.judge_accuracy;
    p.position_bias = o.judge.position_bias;
    p.seed = o.config.order_seed;
    backend = std::make_unique<SimulatedBackend>(
        [&](const std::string& query_image, const std::string& tile_image) {
          const auto q = query_of_image.find(query_image);
          const auto t = tile_of_image.find(tile_image);
          if (q == query_of_image.end() || t == tile_of_image.end()) return 0.0;
          return label_quality(ds.query(q->second), t->second);
        },
        p, o.judge.judge_delay_ms);
    log_warn("SIMULATED judge: the reranked lists say nothing about any real model");
  } else if (!o.remote.servers.empty()) {
    if (!o.llama.model.empty() || !o.llama.mmproj.empty())
      throw Error(ErrorKind::invalid_argument, "use either --server or --model/--mmproj, not both");
    backend = make_remote_backend(o.remote);
  } else {
    if (o.llama.model.empty() || o.llama.mmproj.empty())
      throw Error(ErrorKind::invalid_argument,
                  "rerank needs --model and --mmproj, or --server URL (or --judge simulated)");
    init_runtime();
    backend = make_llama_backend(o.llama);
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
  const bool pairwise = o.config.strategy == RerankStrategy::pairwise;
  log_info("reranking {} queries: {} {} {} top-{} with {} ({})", input.size(), enum_name(o.config.strategy),
           pairwise ? enum_name(o.config.aggregate) : "", pairwise ? enum_name(o.config.orders) : "",
           o.config.k, backend->name(), prompt.name);
  const RerankRunResult result = rerank_all(input, images, o.config, prompt, *backend, cache.get(), progress);

  write_rankings(result.rankings, o.out);
  nlohmann::json extra = {{"dataset", to_json(ds.spec)},
                          {"candidates", o.candidates},
                          {"out", o.out},
                          {"cache", o.cache.empty() ? nlohmann::json() : nlohmann::json(o.cache)},
                          {"image_decoding", {{"exif_orientation", "applied"}}}};
  if (o.judge.judge == JudgeKind::simulated) {
    extra["simulated_judge"] = config_to_json(o.judge);
  } else if (!o.remote.servers.empty()) {
    extra["server"] = config_to_json(o.remote);
  } else {
    extra["model"] = config_to_json(o.llama);
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
  auto o = std::make_shared<RerankCommand>();
  add_dataset_options(*cmd, o->data);
  cmd->add_option("--candidates", o->candidates, "Candidates: rankings JSONL (georank retrieve) or CSV")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out, "Reranked JSONL (same shape; sidecar <out>.meta.json)")->required();
  cmd->add_option("--cache", o->cache,
                  "Judgment cache (SQLite); a rerun or resumed run reuses its judgments");
  auto rerank = bind_flags(*cmd, o->config);
  rerank.at("k")->check(CLI::PositiveNumber);
  rerank.at("composite_panel_px")->check(CLI::Range(16, 4096));
  // llama.cpp's own spellings stay accepted.
  auto llama = bind_flags(*cmd, o->llama,
                          {{"model", "-m"}, {"n_ctx", "--ctx-size"}, {"n_gpu_layers", "--gpu-layers"}});
  llama.at("model")->check(CLI::ExistingFile);
  llama.at("mmproj")->check(CLI::ExistingFile);
  llama.at("threads")->check(CLI::Range(0, kMaxThreads));
  auto remote = bind_flags(
      *cmd, o->remote, {{"servers", "--server"}, {"timeout_s", "--timeout"}, {"max_retries", "--retries"}});
  remote.at("timeout_s")->check(CLI::PositiveNumber);
  remote.at("max_retries")->check(CLI::Range(0, 20));
  bind_flags(*cmd, o->judge);
  cmd->add_flag("--no-progress", o->no_progress, "No progress bar");
  add_check_only_flag(*cmd, o->check_only);
  cmd->callback([o] { run(*o); });
}

}  // namespace georank::cli
