#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "georank/rerank/judgment_cache.hpp"
#include "georank/rerank/rerank.hpp"
#include "georank/vlm/llama_backend.hpp"
#include "support/counting_backend.hpp"
#include "support/work_dir.hpp"
#include "vlm/tiny_vlm.hpp"

// The rerank strategies on the real in-process backend with the tiny random-weight model:
// the numbers mean nothing, the plumbing (prompts -> requests -> log-probabilities ->
// evidence -> cache) is what is checked.

namespace georank {
namespace {

using testing::noise_image;
using testing::tiny_vlm;

using test::CountingBackend;

std::unique_ptr<VlmBackend> tiny_backend() {
  LlamaConfig cfg;
  cfg.model = tiny_vlm().text_model;
  cfg.mmproj = tiny_vlm().mmproj;
  cfg.n_ctx = 4096;
  cfg.n_seq_max = 32;
  cfg.threads = 1;
  return make_llama_backend(cfg);
}

QueryRanking list_of(int n) {
  QueryRanking q;
  q.query_id = "pano_0";
  for (int i = 0; i < n; ++i) {
    RankedCandidate c;
    c.tile_id = fmt::format("tile{}", i);
    c.score = 0.9 - 0.1 * i;
    q.candidates.push_back(c);
  }
  return q;
}

JudgeImages images_of(int k) {
  JudgeImages im;
  im.query = noise_image(64, 32, 100);
  for (int i = 0; i < k; ++i)
    im.candidates.push_back(noise_image(32, 32, 200 + static_cast<std::uint32_t>(i)));
  return im;
}

std::string canonical(const QueryRanking& r) {
  std::string s;
  for (const auto& c : r.candidates)
    s += fmt::format("{} {} {}\n", c.tile_id, c.baseline_rank, c.evidence.dump());
  return s;
}

TEST(RerankWithLlama, PairwiseEvidenceHoldsTheModelsAnswerProbabilitiesAndTheCacheReplaysThem) {
  auto llama = tiny_backend();
  const std::string dir = test::scratch_root() + "/rerank_llama-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  RerankConfig cfg;
  cfg.strategy = RerankStrategy::pairwise;
  cfg.aggregate = PairAggregator::all_pairs_bt;
  cfg.orders = PairOrders::both;
  cfg.k = 3;
  const PromptTemplate prompt = prompt_for(cfg);
  const QueryRanking input = list_of(4);
  const JudgeImages images = images_of(3);

  std::string first, second;
  {
    CountingBackend counted(*llama);
    JudgmentCache cache(dir + "/judgments.sqlite");
    CachingBackend cached(counted, cache, prompt.sha256);
    const QueryRanking out = rerank_query(input, images, cfg, prompt, cached);
    EXPECT_EQ(counted.n_requests, 6);  // 3 pairs x 2 orders
    first = canonical(out);
    for (const auto& c : out.candidates) {
      if (c.baseline_rank >= 3) {
        EXPECT_TRUE(c.evidence.is_null());
        continue;
      }
      ASSERT_EQ(c.evidence.at("comparisons").size(), 4u);
      for (const auto& cmp : c.evidence.at("comparisons")) {
        EXPECT_GT(cmp.at("p_first").get<double>(), 0.0);
        EXPECT_LT(cmp.at("p_first").get<double>(), 1.0);
        EXPECT_GT(cmp.at("covered_mass").get<double>(), 0.0);
        EXPECT_LE(cmp.at("covered_mass").get<double>(), 1.0 + 1e-9);
      }
    }
    // The evidence is the model's own answer distribution for that request.
    const std::vector<std::shared_ptr<const Image>> pair = {images.candidates[0], images.candidates[1]};
    const VlmRequest request = render_prompt(prompt, images.query, pair);
    const auto direct = llama->run(std::span(&request, 1));
    bool found = false;
    for (const auto& c : out.candidates)
      if (c.tile_id == "tile0")
        for (const auto& cmp : c.evidence.at("comparisons"))
          if (cmp.at("first") == "tile0" && cmp.at("second") == "tile1") {
            EXPECT_NEAR(cmp.at("p_first").get<double>(), direct[0].probs[0], 1e-6);
            found = true;
          }
    EXPECT_TRUE(found);
  }
  {
    CountingBackend counted(*llama);
    JudgmentCache cache(dir + "/judgments.sqlite");
    CachingBackend cached(counted, cache, prompt.sha256);
    second = canonical(rerank_query(input, images, cfg, prompt, cached));
    EXPECT_EQ(counted.n_requests, 0);
  }
  EXPECT_EQ(first, second);
}

TEST(RerankWithLlama, DirectScoreIsTheExpectedValueOfTheModelsDistributionOverZeroToHundred) {
  auto llama = tiny_backend();
  RerankConfig cfg;
  cfg.strategy = RerankStrategy::pointwise_score;
  cfg.k = 2;
  const QueryRanking out = rerank_query(list_of(2), images_of(2), cfg, prompt_for(cfg), *llama);
  for (const auto& c : out.candidates) {
    const auto probs = c.evidence.at("probs").get<std::vector<double>>();
    ASSERT_EQ(probs.size(), 101u);
    double ev = 0, sum = 0;
    for (std::size_t i = 0; i < probs.size(); ++i) {
      ev += static_cast<double>(i) * probs[i];
      sum += probs[i];
    }
    EXPECT_NEAR(sum, 1.0, 1e-9);
    EXPECT_NEAR(c.evidence.at("score").get<double>(), ev, 1e-9);
  }
}

TEST(RerankWithLlama, ListwiseGivesADistributionOverTheLabels) {
  auto llama = tiny_backend();
  RerankConfig cfg;
  cfg.strategy = RerankStrategy::listwise;
  cfg.k = 3;
  const QueryRanking out = rerank_query(list_of(3), images_of(3), cfg, prompt_for(cfg), *llama);
  const auto& w = out.candidates[0].evidence.at("windows").at(0);
  const auto probs = w.at("probs").get<std::vector<double>>();
  ASSERT_EQ(probs.size(), 3u);
  EXPECT_NEAR(probs[0] + probs[1] + probs[2], 1.0, 1e-9);
  EXPECT_DOUBLE_EQ(out.candidates[0].evidence.at("rerank_score").get<double>(),
                   *std::max_element(probs.begin(), probs.end()));
}

}  // namespace
}  // namespace georank
