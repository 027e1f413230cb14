#include <gtest/gtest.h>

#include <string>

#include "georank/core/error.hpp"
#include "georank/eval/experiment.hpp"

namespace georank {
namespace {

ExperimentConfig parse(const std::string& text) {
  return experiment_config_from_toml(parse_toml(text, "run.toml"));
}

std::string rejection(const std::string& text) {
  try {
    (void)parse(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    return e.what();
  }
  return "accepted";
}

const char* const kBase = "out = \"o\"\n[dataset]\ndataset = \"vigor:/v\"\n";

TEST(ExperimentConfig, StrategiesReadOverTheSharedRerankTableInFileOrder) {
  const auto cfg = parse(std::string(kBase) +
                         "[rerank]\nk = 7\nservers = [\"http://a:1\"]\ntimeout-s = 5\n"
                         "[strategies.b]\nstrategy = \"listwise\"\n"
                         "[strategies.a]\nk = 3\naggregate = \"knockout\"\n");
  ASSERT_EQ(cfg.strategies.size(), 2u);
  EXPECT_EQ(cfg.strategies[0].name, "b");
  EXPECT_EQ(cfg.strategies[0].step.rerank.strategy, RerankStrategy::listwise);
  EXPECT_EQ(cfg.strategies[0].step.rerank.k, 7);
  EXPECT_EQ(cfg.strategies[1].step.rerank.k, 3);
  EXPECT_EQ(cfg.strategies[1].step.rerank.aggregate, PairAggregator::knockout);
  EXPECT_EQ(cfg.strategies[1].step.judge.remote.servers, std::vector<std::string>{"http://a:1"});
  EXPECT_DOUBLE_EQ(cfg.strategies[1].step.judge.remote.timeout_s, 5.0);
  EXPECT_EQ(cfg.dataset.dataset, "vigor:/v");
}

TEST(ExperimentConfig, TheResolvedFileReadsBackAsTheSameConfig) {
  auto cfg = parse("candidates = \"c.csv\"\n" + std::string(kBase) +
                   "[metrics]\nks = [1, 2]\n[retrieve]\nindex = \"HNSW32\"\n"
                   "[rerank]\njudge = \"simulated\"\n[strategies.\"odd name\"]\nfusion_alpha = 0.25\n"
                   "[strategies.x]\norder_seed = 9223372036854775807\n");
  const ExperimentConfig back = experiment_config_from_toml(parse_toml(resolved_toml(cfg), "resolved.toml"));
  EXPECT_EQ(to_json(back), to_json(cfg));
  ASSERT_EQ(back.strategies.size(), 2u);
  EXPECT_EQ(back.strategies[0].name, "odd name");
}

TEST(ExperimentConfig, MistakesNameTheFileLineTableAndKey) {
  EXPECT_NE(rejection(std::string(kBase) + "[strategies.a]\nstrategy = \"pairwize\"\n")
                .find("run.toml:4: [strategies.a] strategy: unknown 'pairwize'"),
            std::string::npos);
  EXPECT_NE(
      rejection(std::string(kBase) + "[rerankk]\nk = 1\n[strategies.a]\n").find("[rerankk]: unknown table"),
      std::string::npos);
  EXPECT_NE(
      rejection(std::string(kBase) + "[rerank]\nkk = 1\n[strategies.a]\n").find("[rerank]: unknown key 'kk'"),
      std::string::npos);
  EXPECT_NE(rejection(std::string(kBase) + "[retrieve]\nquery_embeddings = \"q.npy\"\n[strategies.a]\n")
                .find("the run's own"),
            std::string::npos);
  EXPECT_NE(rejection(kBase).find("needs at least one [strategies.<name>] table"), std::string::npos);
  EXPECT_NE(rejection("out = \"o\"\n[strategies.a]\n").find("needs a [dataset] table"), std::string::npos);
  EXPECT_NE(rejection(std::string(kBase) + "strategies = 3\n").find("strategies"), std::string::npos);
}

}  // namespace
}  // namespace georank
