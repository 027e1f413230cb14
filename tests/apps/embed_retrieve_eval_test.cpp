// The end-to-end path on the synthetic VIGOR-format dataset with the tiny ONNX
// encoder: georank embed -> georank retrieve -> georank eval, checked against NumPy.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "apps/independent_metrics.hpp"
#include "retrieval/encoder_fixture.hpp"
#include "support/subprocess.hpp"

namespace georank {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(EmbedRetrieveEval, RunsEndToEndOnTheSyntheticDatasetWithTheTinyEncoder) {
  const std::string fixture = test::encoder_fixture_dir();
  const std::string dir = test::fresh_work_dir("embed-retrieve-eval");
  const std::string cli = test::shell_quote(GEORANK_CLI_PATH);
  const std::string root = dir + "/vigor";
  const std::string data = " --dataset vigor:" + root;
  ASSERT_EQ(test::run_command(cli + " fixtures dataset --out " + root + " --queries 8 --seed 3").exit_code,
            0);

  const auto embed = test::run_command(cli + " embed" + data + " --model " + fixture +
                                       "/encoder.onnx --out-dir " + dir + "/emb --threads 1 --batch 4");
  ASSERT_EQ(embed.exit_code, 0) << embed.err;
  const auto retrieve = test::run_command(cli + " retrieve" + data + " --query-embeddings " + dir +
                                          "/emb/queries.npy --gallery-embeddings " + dir +
                                          "/emb/gallery.npy --k 10 --out " + dir + "/candidates.jsonl");
  ASSERT_EQ(retrieve.exit_code, 0) << retrieve.err;
  const auto eval =
      test::run_command(cli + " eval" + data + " --rankings " + dir + "/candidates.jsonl --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_THAT(eval.err, HasSubstr("random-weight encoder"));
  EXPECT_THAT(eval.err, HasSubstr("synthetic dataset"));

  const json mine = json::parse(eval.out);
  EXPECT_EQ(mine["n_queries"], 8);
  test::expect_json_near(mine, test::independent_vigor_metrics(dir, root, "Chicago", dir + "/emb/queries.npy",
                                                               dir + "/emb/gallery.npy"));

  // The sidecar carries the encoder's fingerprint and its random-weights warning.
  const json meta = json::parse(test::read_text(dir + "/candidates.meta.json"));
  const json emb_meta = json::parse(test::read_text(dir + "/emb/embeddings.meta.json"));
  EXPECT_EQ(meta["model_fingerprint"], emb_meta["model"]["fingerprint"]);
  EXPECT_TRUE(meta["random_weights"].get<bool>());
  EXPECT_THAT(meta["note"].get<std::string>(), HasSubstr("mean nothing"));
}

}  // namespace
}  // namespace georank
