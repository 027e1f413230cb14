#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>

#include "georank/core/error.hpp"
#include "georank/rerank/rerank.hpp"
#include "support/tiny_image.hpp"

namespace georank {
namespace {

using test::solid;

// A backend answering from a function of (request, candidate values shown): the candidate
// images are solid colours whose value is the candidate index + 1; the query is 0.
class ScriptedBackend : public VlmBackend {
 public:
  using Answer = std::function<VlmResponse(const VlmRequest&, const std::vector<int>&)>;
  explicit ScriptedBackend(Answer answer) : answer_(std::move(answer)) {}
  std::vector<VlmResponse> run(std::span<const VlmRequest> requests) override {
    ++n_runs;
    std::vector<VlmResponse> out;
    for (const auto& r : requests) {
      std::vector<int> shown;
      for (std::size_t i = 1; i < r.images.size(); ++i) shown.push_back(r.images[i]->rgb[0] - 1);
      seen.push_back(shown);
      out.push_back(answer_(r, shown));
    }
    return out;
  }
  JudgeIdentity identity() const override {
    JudgeIdentity id;
    id.backend = "scripted";
    return id;
  }
  std::string name() const override { return "scripted"; }
  int n_runs = 0;
  std::vector<std::vector<int>> seen;

 private:
  Answer answer_;
};

QueryRanking make_list(int n) {
  QueryRanking q;
  q.query_id = "q1";
  for (int i = 0; i < n; ++i) {
    RankedCandidate c;
    c.tile_id = "tile" + std::to_string(i);
    c.score = 1.0 - 0.1 * i;
    q.candidates.push_back(c);
  }
  return q;
}

JudgeImages images(int k) {
  JudgeImages im;
  im.query = solid(0);
  for (int i = 0; i < k; ++i) im.candidates.push_back(solid(static_cast<std::uint8_t>(i + 1)));
  return im;
}

std::vector<std::string> tiles(const QueryRanking& q) {
  std::vector<std::string> out;
  for (const auto& c : q.candidates) out.push_back(c.tile_id);
  return out;
}

TEST(Reranker, DirectScoreIsTheExpectedValueOverTheNumberAnswers) {
  // Candidate c puts half its mass on "10*c" and half on "100": EV = (10c + 100) / 2.
  ScriptedBackend backend([](const VlmRequest& r, const std::vector<int>& shown) {
    VlmResponse resp;
    resp.probs.assign(r.choices.size(), 0.0);
    resp.probs[static_cast<std::size_t>(10 * shown[0])] += 0.5;
    resp.probs[100] += 0.5;
    resp.covered_mass = 0.9;
    return resp;
  });
  RerankConfig cfg;
  cfg.strategy = RerankStrategy::pointwise_score;
  cfg.k = 3;
  const auto prompt = prompt_for(cfg);
  RerankStats stats;
  const QueryRanking out = rerank_query(make_list(6), images(3), cfg, prompt, backend, &stats);
  EXPECT_EQ(tiles(out), (std::vector<std::string>{"tile2", "tile1", "tile0", "tile3", "tile4", "tile5"}));
  EXPECT_DOUBLE_EQ(out.candidates[0].evidence.at("score").get<double>(), (20.0 + 100.0) / 2);
  EXPECT_DOUBLE_EQ(out.candidates[2].evidence.at("normalized").get<double>(), 0.5);
  EXPECT_EQ(out.candidates[0].baseline_rank, 2);
  EXPECT_EQ(out.candidates[4].baseline_rank, 4);
  EXPECT_TRUE(out.candidates[4].evidence.is_null());
  EXPECT_EQ(backend.n_runs, 1);  // all k candidates in one batch
  EXPECT_EQ(stats.n_judgments, 3);
}

TEST(Reranker, DirectScoreFallsBackToAGeneratedNumberWhenTheAnswerSetCannotBeScored) {
  // Like a model whose vocabulary cannot represent "0".."100": the closed set is rejected.
  ScriptedBackend backend([](const VlmRequest& r, const std::vector<int>& shown) -> VlmResponse {
    if (!r.choices.empty()) throw Error(ErrorKind::invalid_argument, "choice '57' cannot be represented");
    EXPECT_GT(r.generation.max_tokens, 0);
    VlmResponse resp;
    resp.text = shown[0] == 1 ? " I would say 80." : "30";
    return resp;
  });
  RerankConfig cfg;
  cfg.strategy = RerankStrategy::pointwise_score;
  cfg.k = 3;
  const QueryRanking out = rerank_query(make_list(3), images(3), cfg, prompt_for(cfg), backend);
  EXPECT_EQ(tiles(out), (std::vector<std::string>{"tile1", "tile0", "tile2"}));
  EXPECT_DOUBLE_EQ(out.candidates[0].evidence.at("score").get<double>(), 80.0);
  EXPECT_EQ(out.candidates[0].evidence.at("text"), " I would say 80.");
  EXPECT_TRUE(out.candidates[0].evidence.at("probs").empty());
}

TEST(Reranker, YesNoScoresPYesAndTiesKeepRetrievalOrder) {
  ScriptedBackend backend([](const VlmRequest&, const std::vector<int>& shown) {
    VlmResponse resp;
    resp.probs = shown[0] == 2 ? std::vector<double>{0.9, 0.1} : std::vector<double>{0.3, 0.7};
    return resp;
  });
  RerankConfig cfg;
  cfg.strategy = RerankStrategy::pointwise_yesno;
  cfg.k = 4;
  const QueryRanking out = rerank_query(make_list(4), images(4), cfg, prompt_for(cfg), backend);
  EXPECT_EQ(tiles(out), (std::vector<std::string>{"tile2", "tile0", "tile1", "tile3"}));
  EXPECT_DOUBLE_EQ(out.candidates[1].evidence.at("score").get<double>(), 0.3);
}

TEST(Reranker, FusionMixesTheNormalisedRetrievalScoreWithWeightAlpha) {
  // The VLM prefers the last candidate a little; with alpha = 0.2 retrieval dominates.
  ScriptedBackend backend([](const VlmRequest&, const std::vector<int>& shown) {
    VlmResponse resp;
    resp.probs = shown[0] == 2 ? std::vector<double>{0.6, 0.4} : std::vector<double>{0.5, 0.5};
    return resp;
  });
  RerankConfig cfg;
  cfg.strategy = RerankStrategy::pointwise_yesno;
  cfg.k = 3;
  cfg.fusion_alpha = 0.2;
  const QueryRanking out = rerank_query(make_list(3), images(3), cfg, prompt_for(cfg), backend);
  EXPECT_EQ(out.candidates[0].tile_id, "tile0");
  // tile2: retrieval min-max 0 -> 0.2 * 0.6; tile0: 0.2 * 0.5 + 0.8 * 1.
  const auto& e2 = out.candidates[2].evidence;
  EXPECT_DOUBLE_EQ(e2.at("rerank_score").get<double>(), 0.2 * 0.6);
  EXPECT_DOUBLE_EQ(e2.at("fusion_alpha").get<double>(), 0.2);
  cfg.fusion_alpha = 1.0;
  EXPECT_EQ(rerank_query(make_list(3), images(3), cfg, prompt_for(cfg), backend).candidates[0].tile_id,
            "tile2");
}

TEST(Reranker, ReasoningTextIsKeptAndAnUnreadableAnswerIsCountedNotThrown) {
  ScriptedBackend backend([](const VlmRequest& r, const std::vector<int>& shown) {
    VlmResponse resp;
    EXPECT_GT(r.generation.max_tokens, 0);
    resp.text = "roads agree for " + std::to_string(shown[0]);
    if (shown[0] == 0) resp.probs = {0.8, 0.2};  // the others return no usable answer
    return resp;
  });
  RerankConfig cfg;
  cfg.strategy = RerankStrategy::pointwise_yesno_reasoning;
  cfg.k = 3;
  RerankStats stats;
  const QueryRanking out = rerank_query(make_list(3), images(3), cfg, prompt_for(cfg), backend, &stats);
  EXPECT_EQ(out.candidates[0].evidence.at("text"), "roads agree for 0");
  EXPECT_FALSE(out.candidates[1].evidence.at("parsed").get<bool>());
  EXPECT_TRUE(out.candidates[1].evidence.at("score").is_null());
  EXPECT_EQ(stats.n_unparsed, 2);
}

TEST(Reranker, PairwiseBothOrdersSendsEveryComparisonTwiceInOneBatchAndKeepsThemAsEvidence) {
  // The judge prefers higher candidate indices: P(A) = 0.8 when A's index is larger.
  ScriptedBackend backend([](const VlmRequest&, const std::vector<int>& shown) {
    VlmResponse resp;
    resp.probs = shown[0] > shown[1] ? std::vector<double>{0.8, 0.2} : std::vector<double>{0.2, 0.8};
    resp.covered_mass = 0.7;
    return resp;
  });
  RerankConfig cfg;
  cfg.strategy = RerankStrategy::pairwise;
  cfg.aggregate = PairAggregator::all_pairs_bt;
  cfg.orders = PairOrders::both;
  cfg.k = 4;
  const QueryRanking out = rerank_query(make_list(6), images(4), cfg, prompt_for(cfg), backend);
  EXPECT_EQ(tiles(out), (std::vector<std::string>{"tile3", "tile2", "tile1", "tile0", "tile4", "tile5"}));
  EXPECT_EQ(backend.n_runs, 1);
  EXPECT_EQ(backend.seen.size(), 12u);
  const auto& comps = out.candidates[0].evidence.at("comparisons");
  ASSERT_EQ(comps.size(), 6u);  // 3 opponents x 2 orders
  int shown_first = 0;
  for (const auto& c : comps) shown_first += c.at("first") == "tile3";
  EXPECT_EQ(shown_first, 3);
  EXPECT_DOUBLE_EQ(comps[0].at("covered_mass").get<double>(), 0.7);
}

TEST(Reranker, KnockoutSendsOneBatchPerRound) {
  ScriptedBackend backend([](const VlmRequest&, const std::vector<int>& shown) {
    VlmResponse resp;
    resp.probs = shown[0] > shown[1] ? std::vector<double>{0.9, 0.1} : std::vector<double>{0.1, 0.9};
    return resp;
  });
  RerankConfig cfg;
  cfg.strategy = RerankStrategy::pairwise;
  cfg.aggregate = PairAggregator::knockout;
  cfg.orders = PairOrders::single;
  cfg.k = 5;
  const QueryRanking out = rerank_query(make_list(5), images(5), cfg, prompt_for(cfg), backend);
  EXPECT_EQ(out.candidates[0].tile_id, "tile4");
  EXPECT_EQ(backend.seen.size(), 4u);
  EXPECT_EQ(backend.n_runs, 3);  // 5 entrants: 1 match, then 2, then the final
}

TEST(Reranker, ListwiseSlidesAWindowFromTheBottomUp) {
  // The judge puts most mass on the candidate with the largest index in the window.
  ScriptedBackend backend([](const VlmRequest& r, const std::vector<int>& shown) {
    VlmResponse resp;
    EXPECT_EQ(r.choices.size(), shown.size());
    const auto best = std::max_element(shown.begin(), shown.end()) - shown.begin();
    resp.probs.assign(shown.size(), 0.1 / static_cast<double>(shown.size() - 1));
    resp.probs[static_cast<std::size_t>(best)] = 0.9;
    return resp;
  });
  RerankConfig cfg;
  cfg.strategy = RerankStrategy::listwise;
  cfg.k = 7;
  cfg.listwise_window = 4;
  cfg.listwise_stride = 2;
  const QueryRanking out = rerank_query(make_list(7), images(7), cfg, prompt_for(cfg), backend);
  EXPECT_EQ(backend.n_runs, 3);  // windows start at 3, 1, 0
  EXPECT_EQ(backend.seen[0], (std::vector<int>{3, 4, 5, 6}));
  EXPECT_EQ(out.candidates[0].tile_id, "tile6");  // carried up through every window
  EXPECT_FALSE(out.candidates[0].evidence.at("windows").empty());
}

TEST(Reranker, PromptMustMatchTheStrategy) {
  RerankConfig cfg;
  cfg.strategy = RerankStrategy::pairwise;
  cfg.prompt = "pointwise-yesno";
  EXPECT_THROW(prompt_for(cfg), Error);
  EXPECT_THROW(rerank_config_from_json({{"aggregate", "round-robin-elo"}}), Error);
  RerankConfig bad;
  bad.k = 0;
  EXPECT_THROW(validate(bad), Error);
}

}  // namespace
}  // namespace georank
