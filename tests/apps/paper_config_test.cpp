// configs/paper-vigor-cross.toml, the reference paper's comparison: checked with --dry-run and
// run for real with its paths pointed at the fixture models and a synthetic city.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "georank/fixtures/synthetic_vigor.hpp"
#include "retrieval/encoder_fixture.hpp"
#include "support/subprocess.hpp"
#include "support/work_dir.hpp"
#include "vlm/tiny_vlm.hpp"

namespace georank {
namespace {

void replace_once(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
}

// The config with its paths (and only its paths) pointed at fixtures; the synthetic dataset
// has one test city.
std::string fixture_config(const std::string& dir) {
  SyntheticVigorConfig data;
  data.out_dir = dir + "/vigor";
  data.n_queries = 2;
  write_synthetic_vigor(data);
  std::string text = test::read_text(std::string(GEORANK_SOURCE_DIR) + "/configs/paper-vigor-cross.toml");
  std::string config = text;
  [&] {
    replace_once(config, "out = \"out/paper-vigor-cross\"", "out = \"" + dir + "/out\"");
    replace_once(config, "dataset = \"vigor:/data/VIGOR\"",
                 "dataset = \"vigor:" + data.out_dir + "\"\ncities = \"" + data.test_city + "\"");
    replace_once(config, "\"models/sample4geo-vigor-cross.onnx\"",
                 "\"" + test::encoder_fixture_dir() + "/encoder.onnx\"");
    replace_once(config, "\"models/llava-v1.5-7b-Q4_K_M.gguf\"",
                 "\"" + testing::tiny_vlm().text_model + "\"");
    replace_once(config, "\"models/llava-v1.5-7b-mmproj-f16.gguf\"",
                 "\"" + testing::tiny_vlm().mmproj + "\"");
    replace_once(config, "cache = \"out/paper-vigor-cross/judgments.sqlite\"",
                 "cache = \"" + dir + "/judgments.sqlite\"\nthreads = 1\nno_progress = true");
  }();
  const std::string path = dir + "/paper.toml";
  std::ofstream(path) << config;
  return path;
}

TEST(PaperConfig, TheShippedConfigNamesModelsAndDataAUserProvides) {
  const auto r = test::run_command(
      std::string(GEORANK_CLI_PATH) + " run --dry-run --config " +
      test::shell_quote(std::string(GEORANK_SOURCE_DIR) + "/configs/paper-vigor-cross.toml"));
  // Without VIGOR and the models here, the check names the first missing input.
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("paper-vigor-cross.toml"), std::string::npos) << r.err;
}

TEST(PaperConfig, DryRunResolvesEveryStrategyAndARealRunReportsThem) {
  const std::string dir = test::fresh_work_dir("paper_config");
  const std::string config = fixture_config(dir);
  const std::string cli = std::string(GEORANK_CLI_PATH) + " run --config " + test::shell_quote(config);
  auto r = test::run_command(cli + " --dry-run");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* expected : {"[strategies.pairwise-selection-top3]", "aggregate = 'selection'", "top = 3",
                               "answer_mode = 'generate-json'", "prompt = 'paper-pairwise-llava'",
                               "[strategies.pointwise-yesno-reasoning]", "protocol = 'cross-area'"})
    EXPECT_NE(r.out.find(expected), std::string::npos) << expected << "\n" << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir + "/out/summary.json"));

  r = test::run_command(cli);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rep = nlohmann::json::parse(test::read_text(dir + "/out/report/report.json"));
  ASSERT_EQ(rep.at("strategy_order").size(), 6u);
  const auto& selection = rep.at("strategies").at("pairwise-selection-top3");
  // K = min(10, the lists' length): 3K - 6 sequential comparisons per query in one order,
  // against K(K - 1) for all pairs in both orders.
  const int k = std::min(10, rep.at("oracle").at("list_size").get<int>());
  ASSERT_GE(k, 4);
  EXPECT_DOUBLE_EQ(selection.at("judgments_per_query").get<double>(), 3.0 * k - 6);
  EXPECT_EQ(selection.at("config").at("answer_mode"), "generate-json");
  EXPECT_DOUBLE_EQ(rep.at("strategies").at("pairwise-bt-both").at("judgments_per_query").get<double>(),
                   1.0 * k * (k - 1));
  EXPECT_EQ(rep.at("strategies").at("pointwise-score").at("prompt").at("name"),
            "paper-pointwise-score-llava");
  // The fixture models' random weights and the synthetic city are named on the report.
  EXPECT_TRUE(rep.at("random_weights").get<bool>());
  EXPECT_TRUE(rep.at("synthetic_data").get<bool>());
  EXPECT_LE(selection.at("unparsed").get<int>(), 48);
}

}  // namespace
}  // namespace georank
