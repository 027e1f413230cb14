#include "georank/serve/localizer.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <future>
#include <map>

#include <fmt/format.h>

#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/core/sha256.hpp"
#include "georank/data/image.hpp"
#include "georank/rerank/judgment_cache.hpp"
#include "georank/rerank/run.hpp"
#include "georank/retrieval/embed_dataset.hpp"
#include "georank/retrieval/encoder.hpp"
#include "georank/retrieval/index.hpp"
#include "georank/retrieval/npy.hpp"
#include "georank/serve/data_roots.hpp"
#include "search_batcher.hpp"
#include "work_queue.hpp"

namespace georank {

using nlohmann::json;
using serve::Clock;
namespace fs = std::filesystem;

namespace {

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

json latlon(const std::optional<LatLon>& p) {
  if (!p) return nullptr;
  return {{"lat", p->lat}, {"lon", p->lon}};
}

// The panorama turned so that its centre column faces north: a column facing `heading`
// degrees moves to the centre's left by heading / 360 of the width.
Image north_up(const Image& in, double heading_deg) {
  const int w = in.width;
  const double turns = heading_deg / 360.0 - std::floor(heading_deg / 360.0);
  const int shift = static_cast<int>(std::lround(turns * w)) % std::max(w, 1);
  if (shift == 0) return in;
  Image out = in;
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < w; ++x) {
      const int from = ((x - shift) % w + w) % w;
      std::copy_n(&in.rgb[(static_cast<std::size_t>(y) * w + from) * 3], 3,
                  &out.rgb[(static_cast<std::size_t>(y) * w + x) * 3]);
    }
  out.finalize();
  return out;
}

}  // namespace

json tile_bounds(const Tile& t) {
  if (!t.center || t.m_per_px <= 0) return nullptr;
  const double half = 320.0 * t.m_per_px;  // the 640-px frame of the labels
  const LatLon sw = offset_m(*t.center, -half, -half);
  const LatLon ne = offset_m(*t.center, half, half);
  return json::array({json::array({sw.lat, sw.lon}), json::array({ne.lat, ne.lon})});
}

struct Judge {
  std::unique_ptr<DatasetImages> images;
  std::unique_ptr<VlmBackend> backend;
  std::unique_ptr<JudgmentCache> cache;
  std::unique_ptr<serve::JudgeQueue> queue;
  json record;
  std::atomic<std::int64_t> calls{0}, hits{0};
};

struct Strategy {
  std::string name;
  RerankStepConfig step;
  PromptTemplate prompt;
  Judge* judge = nullptr;
};

struct Localizer::Impl {
  ServiceConfig cfg;
  Dataset dataset;
  DataRoots roots;
  std::vector<std::size_t> row_tile;  // index row -> gallery position
  std::optional<VectorIndex> index;
  std::unique_ptr<serve::SearchBatcher> batcher;
  std::unique_ptr<Encoder> encoder;
  std::unique_ptr<serve::Gate> gate;
  std::vector<std::unique_ptr<Judge>> judges;
  std::vector<Strategy> strategies;
  json caveats = json::array();
  bool random_weights = false;

  void status(const LocalizerHooks& hooks, const std::string& line) const {
    if (hooks.on_status) hooks.on_status(line);
  }

  void load_gallery(const LocalizerHooks& hooks);
  void load_judges(const LocalizerHooks& hooks);
  const Strategy* strategy_named(const std::string& name) const;
  std::vector<float> embed_image(const Image& image) const;
  json candidate_json(std::size_t rank, std::size_t tile, double score) const;
};

void Localizer::Impl::load_gallery(const LocalizerHooks& hooks) {
  const ExperimentConfig& ex = cfg.experiment;
  std::string npy = cfg.serve.gallery_embeddings;
  if (npy.empty()) npy = embed_step_paths(experiment_paths(ex).embeddings_dir).gallery_npy;
  if (!fs::exists(npy)) {
    if (ex.embed.model.empty())
      throw Error(ErrorKind::not_found,
                  cfg.source + ": no gallery embeddings at " + npy +
                      " and no [embed] model to compute them (run `georank run` or set [serve] "
                      "gallery_embeddings)");
    status(hooks, "embedding the gallery into " + fs::path(npy).parent_path().string());
    EmbedConfig ec = ex.embed;
    ec.only = EmbedViews::gallery;
    npy = embed_dataset(dataset, ec, fs::path(npy).parent_path().string()).gallery_npy;
  }
  Embeddings g = read_embeddings(npy);
  FloatMatrix m;
  m.cols = g.matrix.cols;
  std::size_t unknown = 0;
  for (std::size_t r = 0; r < g.ids.size(); ++r) {
    const auto it = dataset.tile_by_id.find(g.ids[r]);
    if (it == dataset.tile_by_id.end()) {
      ++unknown;
      continue;
    }
    row_tile.push_back(it->second);
    const auto row = g.matrix.row(r);
    m.values.insert(m.values.end(), row.begin(), row.end());
  }
  m.rows = row_tile.size();
  if (m.rows == 0)
    throw Error(ErrorKind::invalid_argument, npy + ": none of its ids is a tile of the dataset's gallery");
  if (unknown > 0) log_warn("{}: {} rows are not tiles of the gallery and are left out", npy, unknown);
  if (m.rows < dataset.gallery.size())
    log_warn("{}: {} gallery tiles have no embedding and cannot be found", npy,
             dataset.gallery.size() - m.rows);
  if (ex.retrieve.normalize) l2_normalize(m);
  status(hooks, fmt::format("indexing {} tiles x {} ({})", m.rows, m.cols, ex.retrieve.index.factory));
  index = VectorIndex::build(m, ex.retrieve.index);
  batcher = std::make_unique<serve::SearchBatcher>(*index, static_cast<std::size_t>(cfg.serve.max_batch));
}

void Localizer::Impl::load_judges(const LocalizerHooks& hooks) {
  std::map<std::string, Judge*> by_settings;
  for (const auto& s : cfg.experiment.strategies) {
    Strategy st{s.name, s.step, prompt_for(s.step.rerank), nullptr};
    const std::string key = judge_settings_json(s.step.judge).dump() + "\n" + s.step.cache;
    auto it = by_settings.find(key);
    if (it == by_settings.end()) {
      status(hooks, "loading the judge of strategy " + s.name);
      auto j = std::make_unique<Judge>();
      j->images = std::make_unique<DatasetImages>(dataset);
      j->backend = hooks.make_judge ? hooks.make_judge(s.step.judge, *j->images, s.step.rerank.order_seed)
                                    : make_vlm_backend(s.step.judge);
      if (!s.step.cache.empty()) j->cache = std::make_unique<JudgmentCache>(s.step.cache);
      j->queue = std::make_unique<serve::JudgeQueue>(cfg.serve.judge_queue);
      j->record = judge_record(*j->backend);
      if (j->backend->name() == "simulated")
        caveats.push_back("SIMULATED judge: its reranked orders say nothing about any real model.");
      if (j->record.value("random_weights", false)) random_weights = true;
      it = by_settings.emplace(key, j.get()).first;
      judges.push_back(std::move(j));
    }
    st.judge = it->second;
    strategies.push_back(std::move(st));
  }
}

Localizer::Localizer(const ServiceConfig& config, LocalizerHooks hooks) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.cfg = config;
  validate(config.serve);
  const ExperimentConfig& ex = config.experiment;
  s.status(hooks, "reading the dataset " + ex.dataset.dataset);
  s.dataset = load_dataset(ex.dataset);
  s.roots.add(ex.dataset.root());
  for (const auto& r : config.serve.data_roots) s.roots.add(r);
  if (!ex.embed.model.empty()) {
    s.status(hooks, "loading the encoder " + ex.embed.model);
    s.encoder = std::make_unique<Encoder>(resolve_model_card(ex.embed.model, ex.embed.card),
                                          EncoderOptions{ex.embed.threads, ex.embed.batch});
    if (s.encoder->card().random_weights) s.random_weights = true;
  }
  s.load_gallery(hooks);
  if (s.encoder && s.encoder->dim() != s.index->dim())
    throw Error(ErrorKind::invalid_argument,
                fmt::format("{}: the encoder's embeddings have {} values, the gallery's {}", config.source,
                            s.encoder->dim(), s.index->dim()));
  s.gate = std::make_unique<serve::Gate>(config.serve.workers, config.serve.retrieval_queue);
  s.load_judges(hooks);
  if (!config.serve.strategy.empty() && config.serve.strategy != "none" &&
      !s.strategy_named(config.serve.strategy))
    throw Error(ErrorKind::invalid_argument,
                config.source + ": [serve] strategy: no [strategies." + config.serve.strategy + "] table");
  if (ex.random_weights) s.random_weights = true;
  if (s.random_weights)
    s.caveats.insert(s.caveats.begin(),
                     "RANDOM-WEIGHT models: the locations say nothing about any real model.");
  if (fs::exists(fs::path(ex.dataset.root()) / "SYNTHETIC.json"))
    s.caveats.push_back("SYNTHETIC data: the gallery is generated, not real imagery.");
}

Localizer::~Localizer() = default;

const Strategy* Localizer::Impl::strategy_named(const std::string& name) const {
  for (const auto& s : strategies)
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<float> Localizer::Impl::embed_image(const Image& image) const {
  return encoder->embed_ground(std::span<const Image>(&image, 1));
}

json Localizer::Impl::candidate_json(std::size_t rank, std::size_t tile, double score) const {
  const Tile& t = dataset.gallery[tile];
  return {{"rank", rank},
          {"tile", t.id},
          {"score", score},
          {"center", latlon(t.center)},
          {"bounds", tile_bounds(t)},
          {"image_url", "/v1/tiles/" + t.id},
          {"city", t.city}};
}

json Localizer::localize(const LocalizeRequest& req) const {
  const Impl& s = *impl_;
  const auto t0 = Clock::now();
  const auto deadline = req.deadline.value_or(
      t0 + std::chrono::milliseconds(static_cast<std::int64_t>(s.cfg.serve.request_timeout_s * 1000)));
  const bool has_image = !req.image.empty();
  if (has_image == !req.embedding.empty())
    throw Error(ErrorKind::invalid_argument, "give exactly one of `image` and `embedding`");
  const int k = req.k.value_or(static_cast<int>(s.cfg.experiment.retrieve.k));
  if (k < 1 || k > s.cfg.serve.max_k)
    throw Error(ErrorKind::invalid_argument, fmt::format("k: {} is not in 1..{}", k, s.cfg.serve.max_k));
  std::string strategy = req.strategy.value_or(s.cfg.serve.strategy);
  if (strategy == "none") strategy.clear();
  const Strategy* st = strategy.empty() ? nullptr : s.strategy_named(strategy);
  if (!strategy.empty() && st == nullptr) {
    std::string known;
    for (const auto& x : s.strategies) known += (known.empty() ? "" : ", ") + x.name;
    throw Error(ErrorKind::invalid_argument, "strategy: no strategy '" + strategy +
                                                 "' (configured: " + (known.empty() ? "none" : known) + ")");
  }
  if (st && !has_image)
    throw Error(ErrorKind::invalid_argument, "strategy: reranking needs the image, not an embedding");
  if (req.heading_deg && !std::isfinite(*req.heading_deg))
    throw Error(ErrorKind::invalid_argument, "heading_deg: not a finite number");

  json timings = json::object();
  std::vector<float> q;
  std::shared_ptr<Image> image;
  if (has_image) {
    if (!s.encoder)
      throw Error(ErrorKind::invalid_argument,
                  "image: this service has no encoder ([embed] model); send an embedding");
    if (!is_supported_image(req.image))
      throw UnsupportedMediaError(req.image_name + ": not a JPEG, PNG, BMP, GIF or PPM image");
    if (const auto dims = image_dimensions(req.image);
        dims && dims->first > 0 && dims->second > s.cfg.serve.max_pixels / dims->first)
      throw TooLargeError(fmt::format("{}: {}x{} pixels exceed the limit of {}", req.image_name, dims->first,
                                      dims->second, s.cfg.serve.max_pixels));
    const serve::GateSlot slot(*s.gate, deadline, "localize");
    auto t = Clock::now();
    ImageLimits limits;
    limits.max_pixels = s.cfg.serve.max_pixels;
    image = std::make_shared<Image>(decode_image(req.image, req.image_name, limits));
    if (req.heading_deg) *image = north_up(*image, *req.heading_deg);
    timings["decode"] = ms_since(t);
    t = Clock::now();
    q = s.embed_image(*image);
    timings["embed"] = ms_since(t);
  } else {
    if (req.embedding.size() != s.index->dim())
      throw Error(ErrorKind::invalid_argument, fmt::format("embedding: {} values, the gallery's have {}",
                                                           req.embedding.size(), s.index->dim()));
    for (float v : req.embedding)
      if (!std::isfinite(v)) throw Error(ErrorKind::invalid_argument, "embedding: not every value is finite");
    q = req.embedding;
    if (s.cfg.experiment.retrieve.normalize) {
      FloatMatrix m{1, q.size(), q};
      l2_normalize(m);
      q = m.values;
    }
  }
  auto t = Clock::now();
  const serve::SearchHit hit = s.batcher->search(std::move(q), static_cast<std::size_t>(k));
  timings["search"] = ms_since(t);

  json out = {{"k", k}, {"strategy", st ? json(st->name) : json()}};
  if (req.heading_deg)
    out["orientation"] = {{"heading_deg", *req.heading_deg},
                          {"known", true},
                          {"note", "the panorama was turned so that its centre column faces north"}};
  else
    out["orientation"] = {{"heading_deg", nullptr},
                          {"known", false},
                          {"note",
                           "orientation unknown: the image is used as it is (gallery encoders trained on "
                           "VIGOR expect a north-aligned panorama, north at the centre)"}};
  json cands = json::array();
  QueryRanking input;
  input.query_id = has_image ? "upload:" + image->id : "embedding";
  for (std::size_t i = 0; i < hit.rows.size(); ++i) {
    const std::size_t tile = s.row_tile[static_cast<std::size_t>(hit.rows[i])];
    cands.push_back(s.candidate_json(i, tile, hit.scores[i]));
    RankedCandidate c;
    c.tile_id = s.dataset.gallery[tile].id;
    c.score = hit.scores[i];
    c.center = s.dataset.gallery[tile].center;
    input.candidates.push_back(std::move(c));
  }
  out["candidates"] = cands;
  out["reranked"] = nullptr;
  out["judge"] = nullptr;
  std::string best = cands.empty() ? "" : cands[0]["tile"].get<std::string>();
  std::string source = "retrieval";

  if (st && !input.candidates.empty()) {
    t = Clock::now();
    struct Shared {
      std::promise<RerankRunResult> done;
    };
    auto shared = std::make_shared<Shared>();
    auto result = shared->done.get_future();
    Judge* judge = st->judge;
    const Strategy* strategy_ptr = st;
    std::shared_ptr<const Image> query_image = image;
    st->judge->queue->submit(
        [shared, judge, strategy_ptr, query_image, input]() {
          try {
            RerankImages images = judge->images->sources();
            images.query = [query_image](const QueryRanking&) { return query_image; };
            RerankRunResult r =
                rerank_all(std::span<const QueryRanking>(&input, 1), images, strategy_ptr->step.rerank,
                           strategy_ptr->prompt, *judge->backend, judge->cache.get());
            judge->calls += r.backend_calls;
            judge->hits += r.cache_hits;
            shared->done.set_value(std::move(r));
          } catch (...) {
            shared->done.set_exception(std::current_exception());
          }
        },
        [shared]() {
          shared->done.set_exception(std::make_exception_ptr(
              Error(ErrorKind::timeout, "the request's deadline passed while it waited for the judge")));
        },
        deadline);
    if (result.wait_until(deadline) != std::future_status::ready)
      throw Error(ErrorKind::timeout, "the judge did not answer before the request's deadline");
    const RerankRunResult r = result.get();
    json reranked = json::array();
    const QueryRanking& ranked = r.rankings.at(0);
    for (std::size_t i = 0; i < ranked.candidates.size(); ++i) {
      const auto& c = ranked.candidates[i];
      json row = s.candidate_json(i, s.dataset.tile_index(c.tile_id), c.score);
      row["baseline_rank"] = c.baseline_rank;
      row["evidence"] = c.evidence;
      reranked.push_back(std::move(row));
    }
    out["reranked"] = reranked;
    out["judge"] = st->judge->record;
    out["judge"]["judgments"] = r.stats.n_judgments;
    out["judge"]["computed"] = r.backend_calls;
    out["judge"]["cached"] = r.cache_hits;
    out["judge"]["unparsed"] = r.stats.n_unparsed;
    timings["rerank"] = ms_since(t);
    if (!ranked.candidates.empty()) {
      best = ranked.candidates[0].tile_id;
      source = "rerank";
    }
  }
  if (best.empty()) {
    out["estimate"] = nullptr;
  } else {
    const Tile& tile = s.dataset.gallery[s.dataset.tile_index(best)];
    out["estimate"] = {{"lat", tile.center ? json(tile.center->lat) : json()},
                       {"lon", tile.center ? json(tile.center->lon) : json()},
                       {"tile", best},
                       {"source", source}};
  }
  timings["total"] = ms_since(t0);
  out["timings_ms"] = timings;
  out["caveats"] = s.caveats;
  return out;
}

json Localizer::info() const {
  const Impl& s = *impl_;
  json names = json::array();
  json judges = json::object();
  for (const auto& st : s.strategies) {
    names.push_back(st.name);
    judges[st.name] = st.judge->record;
  }
  const std::string def = s.cfg.serve.strategy == "none" ? "" : s.cfg.serve.strategy;
  return {{"gallery_size", s.dataset.gallery.size()},
          {"indexed", s.row_tile.size()},
          {"dim", s.index->dim()},
          {"index", s.cfg.experiment.retrieve.index.factory},
          {"encoder", s.encoder != nullptr},
          {"k", s.cfg.experiment.retrieve.k},
          {"max_k", s.cfg.serve.max_k},
          {"strategies", names},
          {"default_strategy", def.empty() ? json() : json(def)},
          {"judges", judges},
          {"caveats", s.caveats}};
}

json Localizer::tile_meta(const std::string& tile_id) const {
  const Impl& s = *impl_;
  const auto it = s.dataset.tile_by_id.find(tile_id);
  if (it == s.dataset.tile_by_id.end())
    throw Error(ErrorKind::not_found, "no tile '" + tile_id + "' in the gallery");
  const Tile& t = s.dataset.gallery[it->second];
  return {{"id", t.id},
          {"center", latlon(t.center)},
          {"bounds", tile_bounds(t)},
          {"m_per_px", t.m_per_px > 0 ? json(t.m_per_px) : json()},
          {"city", t.city},
          {"image_url", "/v1/tiles/" + t.id}};
}

std::string Localizer::tile_image_path(const std::string& tile_id) const {
  const Impl& s = *impl_;
  const auto it = s.dataset.tile_by_id.find(tile_id);
  if (it == s.dataset.tile_by_id.end())
    throw Error(ErrorKind::not_found, "no tile '" + tile_id + "' in the gallery");
  const auto path = s.roots.contain(s.dataset.gallery[it->second].path);
  if (!path)
    throw Error(ErrorKind::not_found, "tile '" + tile_id + "': its image is not inside the data roots");
  return *path;
}

const Dataset& Localizer::dataset() const {
  return impl_->dataset;
}

bool Localizer::has_strategy(const std::string& name) const {
  return impl_->strategy_named(name) != nullptr;
}

LocalizerCounters Localizer::counters() const {
  const Impl& s = *impl_;
  LocalizerCounters c;
  for (const auto& j : s.judges) {
    c.judge_calls += j->calls;
    c.cache_hits += j->hits;
    c.judge_waiting += j->queue->waiting();
    c.judge_running += j->queue->running();
  }
  c.searches = s.batcher->n_calls();
  c.searched = s.batcher->n_queries();
  c.retrieval_waiting = s.gate->waiting();
  c.retrieval_running = s.gate->running();
  return c;
}

}  // namespace georank
