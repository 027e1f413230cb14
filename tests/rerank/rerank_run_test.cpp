#include <gtest/gtest.h>

#include <filesystem>

#include <fmt/format.h>

#include "georank/fixtures/simulation.hpp"
#include "georank/rerank/run.hpp"
#include "support/tiny_image.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

std::shared_ptr<const Image> solid(int a, int b) {
  return test::image_of(1, 1, {static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b), 7});
}

TEST(RerankRun, RerankAllReportsProgressCountsAndASimulatedLabelAndResumesFromTheCache) {
  std::vector<QueryRanking> input;
  std::unordered_map<std::string, double> quality;
  for (int q = 0; q < 4; ++q) {
    QueryRanking r;
    r.query_id = fmt::format("q{}", q);
    for (int i = 0; i < 6; ++i) {
      RankedCandidate c;
      c.tile_id = fmt::format("{}-{}", q, i);
      r.candidates.push_back(c);
      quality[solid(q, i)->id] = i == 2 ? 1.0 : 0.2;
    }
    input.push_back(r);
  }
  RerankImages images;
  images.query = [](const QueryRanking& r) { return solid(std::stoi(r.query_id.substr(1)), 200); };
  images.tile = [](const RankedCandidate& c) { return solid(c.tile_id[0] - '0', c.tile_id[2] - '0'); };
  SimulatedJudgeParams params;
  params.judge_accuracy = 1.0;
  SimulatedBackend backend(quality, params);
  RerankConfig cfg;
  cfg.aggregate = PairAggregator::knockout;
  cfg.orders = PairOrders::both;
  const PromptTemplate prompt = prompt_for(cfg);
  const std::string db = test::scratch_root() + "/rerank_run.sqlite";
  std::filesystem::create_directories(test::scratch_root());
  std::filesystem::remove(db);
  JudgmentCache cache(db);

  std::vector<RerankProgress> seen;
  const auto first = rerank_all(input, images, cfg, prompt, backend, &cache,
                                [&](const RerankProgress& p) { seen.push_back(p); });
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen.back().done, 4);
  EXPECT_EQ(seen.back().total, 4);
  EXPECT_EQ(first.backend_calls, 4 * 2 * 4);  // 4 queries x (k-1) matches x 2 orders
  for (const auto& r : first.rankings) EXPECT_EQ(r.candidates[0].baseline_rank, 2);
  EXPECT_NE(format_rerank_progress(seen[1]).find("| 2/4"), std::string::npos)
      << format_rerank_progress(seen[1]);
  EXPECT_NE(format_rerank_progress(seen[1]).find("cached"), std::string::npos);

  const auto second = rerank_all(input, images, cfg, prompt, backend, &cache);
  EXPECT_EQ(second.backend_calls, 0);
  EXPECT_EQ(second.cache_hits, first.backend_calls);

  const auto meta = rerank_meta(cfg, prompt, backend, first, {{"out", "reranked.jsonl"}});
  EXPECT_EQ(meta.at("judge"), "simulated");
  EXPECT_EQ(meta.at("prompt").at("sha256"), prompt.sha256);
  EXPECT_EQ(meta.at("prompt").at("text"), prompt.text);
  EXPECT_EQ(meta.at("config").at("aggregate"), "knockout");
  EXPECT_EQ(meta.at("counts").at("judgments"), 32);
  EXPECT_EQ(meta.at("out"), "reranked.jsonl");
  EXPECT_EQ(rerank_config_from_json(meta.at("config")).aggregate, PairAggregator::knockout);
}

}  // namespace
}  // namespace georank
