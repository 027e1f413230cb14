#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/random.hpp"
#include "georank/core/error.hpp"
#include "georank/rerank/rerank.hpp"

namespace georank {
namespace {

// JSON has no NaN: unparsed values are written as null.
nlohmann::json number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

nlohmann::json numbers(const std::vector<double>& v) {
  nlohmann::json out = nlohmann::json::array();
  for (double x : v) out.push_back(number(x));
  return out;
}

QueryRanking assemble(const QueryRanking& input, int k, const AggregateResult& result,
                      std::vector<nlohmann::json> evidence) {
  QueryRanking out;
  out.query_id = input.query_id;
  out.gps = input.gps;
  for (int pos = 0; pos < k; ++pos) {
    const int c = result.order[static_cast<std::size_t>(pos)];
    RankedCandidate rc = input.candidates[static_cast<std::size_t>(c)];
    rc.baseline_rank = c;
    evidence[static_cast<std::size_t>(c)]["rerank_score"] = number(result.score[static_cast<std::size_t>(c)]);
    evidence[static_cast<std::size_t>(c)]["score_name"] = result.score_name;
    rc.evidence = std::move(evidence[static_cast<std::size_t>(c)]);
    out.candidates.push_back(std::move(rc));
  }
  for (std::size_t i = static_cast<std::size_t>(k); i < input.candidates.size(); ++i) {
    RankedCandidate rc = input.candidates[i];
    rc.baseline_rank = static_cast<int>(i);
    rc.evidence = nullptr;
    out.candidates.push_back(std::move(rc));
  }
  return out;
}

}  // namespace

void validate(const RerankConfig& c) {
  if (c.k < 1) throw Error(ErrorKind::invalid_argument, fmt::format("k must be >= 1 (got {})", c.k));
  if (c.answer_mode == AnswerMode::generate_json && c.strategy == RerankStrategy::listwise)
    throw Error(ErrorKind::invalid_argument,
                "answer_mode generate-json is for pairwise and pointwise strategies");
  if (c.top < 1) throw Error(ErrorKind::invalid_argument, fmt::format("top must be >= 1 (got {})", c.top));
  if (!(c.fusion_alpha >= 0 && c.fusion_alpha <= 1))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("fusion_alpha must be in [0, 1] (got {})", c.fusion_alpha));
  if (c.listwise_window < 0 || c.listwise_window == 1)
    throw Error(ErrorKind::invalid_argument, "listwise_window must be 0 (all k) or >= 2");
  if (c.listwise_stride < 0) throw Error(ErrorKind::invalid_argument, "listwise_stride must be >= 0");
  if (!(c.bt_regularization > 0)) throw Error(ErrorKind::invalid_argument, "bt_regularization must be > 0");
  if (!(c.adaptive_confidence > 0 && c.adaptive_confidence < 1))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("adaptive_confidence must be in (0, 1) (got {})", c.adaptive_confidence));
  if (c.adaptive_budget < 0)
    throw Error(ErrorKind::invalid_argument, "adaptive_budget must be >= 0 (0: k(k-1))");
  if (c.tournament_group < 2) throw Error(ErrorKind::invalid_argument, "tournament_group must be >= 2");
  if (c.setwise_size < 2) throw Error(ErrorKind::invalid_argument, "setwise_size must be >= 2");
  if (c.setwise_rotations < 0)
    throw Error(ErrorKind::invalid_argument, "setwise_rotations must be >= 0 (0: setwise_size)");
  if (c.query_batch < 1 || c.query_batch > 1024)
    throw Error(ErrorKind::invalid_argument, "query_batch must be in 1..1024");
  if (c.answer_mode == AnswerMode::generate_json && c.strategy == RerankStrategy::setwise)
    throw Error(ErrorKind::invalid_argument,
                "answer_mode generate-json is for pairwise and pointwise strategies");
  validate(c.images);
}

RerankConfig rerank_config_from_json(const nlohmann::json& j) {
  RerankConfig c = config_from_json<RerankConfig>(j, "rerank config");
  validate(c);
  return c;
}

namespace {

// Set-wise prompts are listwise ones: labelled candidates, "which one matches".
std::string_view prompt_strategy(RerankStrategy strategy) {
  return strategy == RerankStrategy::setwise ? "listwise" : enum_name(strategy);
}

}  // namespace

PromptTemplate prompt_for(const RerankConfig& config) {
  validate(config);
  PromptTemplate t = resolve_prompt_template(
      config.prompt.empty() ? std::string(prompt_strategy(config.strategy)) : config.prompt);
  if (t.strategy != prompt_strategy(config.strategy))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("prompt template '{}' ({}) is written for {}, not {}", t.name, t.source,
                            t.strategy, prompt_strategy(config.strategy)));
  return t;
}

QueryRanking rerank_with(const QueryRanking& input, const RerankConfig& config, const Judges& judges,
                         RerankStats* stats) {
  validate(config);
  const int k = std::min(config.k, static_cast<int>(input.candidates.size()));
  const auto tile = [&](int c) { return input.candidates[static_cast<std::size_t>(c)].tile_id; };
  std::vector<nlohmann::json> evidence(static_cast<std::size_t>(k), nlohmann::json::object());
  for (auto& e : evidence) e["strategy"] = enum_name(config.strategy);
  RerankStats local;
  AggregateResult result;

  if (config.strategy == RerankStrategy::pairwise) {
    if (!judges.pair) throw Error(ErrorKind::invalid_argument, "pairwise reranking needs a pair judge");
    const std::uint64_t seed = mix_seed(config.order_seed, hash_text(input.query_id));
    ComparisonOracle oracle(*judges.pair, config.orders, seed);
    result = aggregate_pairwise(config.aggregate, k, oracle,
                                PairwiseOptions{.selection_top = config.top,
                                                .selection_batched = config.selection_batched,
                                                .adaptive_confidence = config.adaptive_confidence,
                                                .adaptive_budget = config.adaptive_budget,
                                                .tournament_group = config.tournament_group,
                                                .bt = {.regularization = config.bt_regularization}});
    for (auto& e : evidence) {
      e["aggregate"] = enum_name(config.aggregate);
      e["orders"] = enum_name(config.orders);
      e["comparisons"] = nlohmann::json::array();
    }
    for (const PairJudgment& j : oracle.judgments()) {
      nlohmann::json row = {{"first", tile(j.first)},
                            {"second", tile(j.second)},
                            {"first_baseline_rank", j.first},
                            {"second_baseline_rank", j.second},
                            {"p_first", j.p_first},
                            {"covered_mass", number(j.covered_mass)},
                            {"parsed", j.parsed}};
      if (!j.text.empty()) row["text"] = j.text;
      evidence[static_cast<std::size_t>(j.first)]["comparisons"].push_back(row);
      evidence[static_cast<std::size_t>(j.second)]["comparisons"].push_back(row);
      local.n_unparsed += j.parsed ? 0 : 1;
    }
    local.n_judgments = static_cast<std::int64_t>(oracle.judgments().size());
    local.n_rounds = oracle.n_rounds();
  } else if (is_pointwise(config.strategy)) {
    if (!judges.point) throw Error(ErrorKind::invalid_argument, "pointwise reranking needs a point judge");
    std::vector<int> ids(static_cast<std::size_t>(k));
    for (int i = 0; i < k; ++i) ids[static_cast<std::size_t>(i)] = i;
    const auto got = k > 0 ? judges.point->judge(ids) : std::vector<PointJudgment>{};
    if (got.size() != ids.size())
      throw Error(ErrorKind::backend,
                  fmt::format("point judge returned {} judgments for {}", got.size(), ids.size()));
    std::vector<double> vlm(ids.size()), retrieval(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      vlm[i] = got[i].normalized;
      retrieval[i] = input.candidates[i].score;
    }
    result = rank_pointwise(vlm, retrieval, config.fusion_alpha);
    for (std::size_t i = 0; i < got.size(); ++i) {
      const PointJudgment& j = got[i];
      auto& e = evidence[i];
      e["score"] = number(j.score);
      e["normalized"] = number(j.normalized);
      e["fusion_alpha"] = config.fusion_alpha;
      e["probs"] = numbers(j.probs);
      e["covered_mass"] = number(j.covered_mass);
      e["parsed"] = j.parsed;
      if (!j.text.empty()) e["text"] = j.text;
      local.n_unparsed += j.parsed ? 0 : 1;
    }
    local.n_judgments = static_cast<std::int64_t>(got.size());
    local.n_rounds = k > 0 ? 1 : 0;
  } else if (config.strategy == RerankStrategy::setwise) {
    if (!judges.list) throw Error(ErrorKind::invalid_argument, "set-wise reranking needs a list judge");
    const int rotations = config.setwise_rotations == 0 ? config.setwise_size : config.setwise_rotations;
    std::vector<SetJudgment> sets;
    result = rank_setwise(k, *judges.list, config.setwise_size, rotations, &sets);
    for (auto& e : evidence) {
      e["setwise_size"] = config.setwise_size;
      e["rotations"] = rotations;
      e["sets"] = nlohmann::json::array();
    }
    for (const SetJudgment& s : sets) {
      nlohmann::json labels = nlohmann::json::array();
      for (int c : s.judgment.window) labels.push_back(tile(c));
      const nlohmann::json row = {{"stage", s.stage},
                                  {"labels", labels},
                                  {"probs", numbers(s.judgment.probs)},
                                  {"covered_mass", number(s.judgment.covered_mass)},
                                  {"parsed", s.judgment.parsed}};
      for (int c : s.judgment.window) evidence[static_cast<std::size_t>(c)]["sets"].push_back(row);
      local.n_unparsed += s.judgment.parsed ? 0 : 1;
    }
    local.n_judgments = static_cast<std::int64_t>(sets.size());
    int stages = 0;
    for (const SetJudgment& s : sets) stages = std::max(stages, s.stage);
    local.n_rounds = stages;
  } else {
    if (!judges.list) throw Error(ErrorKind::invalid_argument, "listwise reranking needs a list judge");
    const int window = config.listwise_window == 0 ? std::max(k, 2) : config.listwise_window;
    const int stride = config.listwise_stride == 0 ? std::max(1, window / 2) : config.listwise_stride;
    std::vector<ListWindow> windows;
    result = rank_listwise(k, *judges.list, window, stride, &windows);
    for (auto& e : evidence) e["windows"] = nlohmann::json::array();
    for (const ListWindow& w : windows) {
      nlohmann::json labels = nlohmann::json::array();
      for (int c : w.judgment.window) labels.push_back(tile(c));
      const nlohmann::json row = {{"start", w.start},
                                  {"labels", labels},
                                  {"probs", numbers(w.judgment.probs)},
                                  {"covered_mass", number(w.judgment.covered_mass)},
                                  {"parsed", w.judgment.parsed}};
      for (int c : w.judgment.window) evidence[static_cast<std::size_t>(c)]["windows"].push_back(row);
      local.n_unparsed += w.judgment.parsed ? 0 : 1;
    }
    local.n_judgments = static_cast<std::int64_t>(windows.size());
    local.n_rounds = static_cast<std::int64_t>(windows.size());
  }

  if (stats) {
    local.n_queries = 1;
    *stats += local;
  }
  return assemble(input, k, result, std::move(evidence));
}

QueryRanking rerank_query(const QueryRanking& input, const JudgeImages& images, const RerankConfig& config,
                          const PromptTemplate& prompt, VlmBackend& backend, RerankStats* stats) {
  validate(config);
  const std::size_t k = std::min(static_cast<std::size_t>(config.k), input.candidates.size());
  if (images.candidates.size() < k || !images.query)
    throw Error(ErrorKind::invalid_argument, fmt::format("query {}: {} candidate images for a top-{} rerank",
                                                         input.query_id, images.candidates.size(), k));
  if (prompt.strategy != prompt_strategy(config.strategy))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("prompt template '{}' is written for {}, not {}", prompt.name, prompt.strategy,
                            prompt_strategy(config.strategy)));
  Judges judges;
  std::unique_ptr<PairJudge> pair;
  std::unique_ptr<PointJudge> point;
  std::unique_ptr<ListJudge> list;
  if (config.strategy == RerankStrategy::pairwise)
    judges.pair = (pair = make_vlm_pair_judge(backend, prompt, images, config.answer_mode)).get();
  else if (is_pointwise(config.strategy))
    judges.point =
        (point = make_vlm_point_judge(backend, prompt, images, config.score_mode, config.answer_mode)).get();
  else
    judges.list = (list = make_vlm_list_judge(backend, prompt, images)).get();
  QueryRanking out = rerank_with(input, config, judges, stats);
  // Label every judged candidate with the judge's kind ("simulated" judges say so everywhere).
  for (auto& c : out.candidates)
    if (c.evidence.is_object()) c.evidence["judge"] = backend.name();
  return out;
}

}  // namespace georank
