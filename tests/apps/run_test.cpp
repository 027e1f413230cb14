#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <tuple>
#include <vector>

#include "georank/data/dataset.hpp"
#include "georank/fixtures/synthetic_vigor.hpp"
#include "support/subprocess.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

// VIGOR panorama names contain commas: quote them as RFC 4180 says.
std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

// A synthetic city plus a candidates CSV in which every positive sits at rank 3 of 5.
struct RunFixture {
  std::string dir, root, candidates;
  std::size_t n_queries = 0;
};

RunFixture make_fixture(const std::string& name) {
  RunFixture f;
  f.dir = test::fresh_work_dir(name);
  f.root = f.dir + "/vigor";
  SyntheticVigorConfig cfg;
  cfg.out_dir = f.root;
  cfg.n_queries = 6;
  write_synthetic_vigor(cfg);
  DatasetSpec spec = parse_dataset_spec("vigor:" + f.root);
  spec.cities = {cfg.test_city};
  const Dataset ds = load_dataset(spec);
  f.n_queries = ds.queries.size();
  f.candidates = f.dir + "/cands.csv";
  std::ofstream csv(f.candidates);
  csv << "query_id,tile_id,score\n";
  for (const Query& q : ds.queries) {
    int placed = 0;
    double score = 1.0;
    for (const Tile& t : ds.gallery) {
      if (placed == 2) {
        csv << quoted(q.id) << "," << q.positive.tile_id << "," << (score -= 0.01) << "\n";
        ++placed;
      }
      if (placed >= 5) break;
      if (t.id == q.positive.tile_id) continue;
      csv << quoted(q.id) << "," << t.id << "," << (score -= 0.01) << "\n";
      ++placed;
    }
  }
  return f;
}

std::string write_config(const RunFixture& f, const std::string& body) {
  const std::string path = f.dir + "/run.toml";
  std::ofstream(path) << "out = \"" << f.dir << "/out\"\ncandidates = \"" << f.candidates
                      << "\"\n\n[dataset]\ndataset = \"vigor:" << f.root << "\"\ncities = \"Chicago\"\n\n"
                      << body;
  return path;
}

TEST(RunCommand, PerfectSimulatedJudgeLiftsR1ToTheTopKCeilingInTheSideBySideTable) {
  const RunFixture f = make_fixture("run_perfect");
  const std::string config =
      write_config(f,
                   "[rerank]\njudge = \"simulated\"\njudge-accuracy = 1.0\nk = 5\n"
                   "no-progress = true\n\n"
                   "[strategies.bt]\nstrategy = \"pairwise\"\naggregate = \"all-pairs-bt\"\n"
                   "orders = \"both\"\n\n[strategies.knockout]\nstrategy = \"pairwise\"\n"
                   "aggregate = \"knockout\"\n");
  const auto r =
      test::run_command(std::string(GEORANK_CLI_PATH) + " run --config " + test::shell_quote(config));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| bt"), std::string::npos) << r.out;
  std::ifstream in(f.dir + "/out/summary.json");
  const auto summary = nlohmann::json::parse(in);
  const auto& rows = summary.at("rows");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].at("name"), "baseline (retrieval)");
  EXPECT_DOUBLE_EQ(rows[0].at("metrics").at("recall").at("1").get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(rows[0].at("metrics").at("recall").at("3").get<double>(), 1.0);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    EXPECT_DOUBLE_EQ(rows[i].at("metrics").at("recall").at("1").get<double>(), 1.0) << rows[i].at("name");
    EXPECT_DOUBLE_EQ(rows[i].at("delta_r1").get<double>(), 1.0);
  }
  EXPECT_GT(rows[1].at("vlm_calls").get<int>(), 0);
  EXPECT_EQ(summary.at("config").at("strategies").at("bt").at("aggregate"), "all-pairs-bt");
  EXPECT_EQ(summary.at("steps").size(), 2u);
  EXPECT_TRUE(fs::exists(f.dir + "/out/summary.md"));
}

TEST(RunCommand, UnknownSectionIsRejectedNamingTheFileAndKey) {
  const RunFixture f = make_fixture("run_bad");
  const std::string config = write_config(f, "[rerankk]\njudge = \"simulated\"\n");
  const auto r =
      test::run_command(std::string(GEORANK_CLI_PATH) + " run --config " + test::shell_quote(config));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("run.toml"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("rerankk"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(f.dir + "/out/summary.json"));
}

TEST(RunCommand, ATopLevelKeyTakesExactlyOneValue) {
  const RunFixture f = make_fixture("run_top_level");
  for (const std::string value : {"[]", "[\"a\", \"b\"]"}) {
    const std::string config = f.dir + "/top.toml";
    std::ofstream(config) << "out = " << value << "\n[dataset]\ndataset = \"vigor:" << f.root
                          << "\"\n[strategies.a]\nstrategy = \"pairwise\"\n";
    const auto r =
        test::run_command(std::string(GEORANK_CLI_PATH) + " run --config " + test::shell_quote(config));
    EXPECT_EQ(r.exit_code, 2) << value << r.err;
    EXPECT_NE(r.err.find("top.toml:1: out: "), std::string::npos) << value << r.err;
  }
}

TEST(RunCommand, EveryStepIsCheckedBeforeTheFirstOneRuns) {
  const RunFixture f = make_fixture("run_checked");
  const std::string good =
      "[rerank]\njudge = \"simulated\"\nk = 5\nno-progress = true\n\n"
      "[strategies.good]\nstrategy = \"pairwise\"\n\n";
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"a strategy typo in the last section", "[strategies.bad]\nstrategy = \"pairwize\"\n", "pairwize"},
      {"an unknown key", "[strategies.bad]\nstrategy = \"pairwise\"\naggregat = \"sort\"\n", "aggregat"},
      {"a value of the wrong type", "[strategies.bad]\nstrategy = \"pairwise\"\nk = \"ten\"\n",
       "k: expected an integer"},
      // A boolean is not dropped: for a number it is an error.
      {"a boolean for a number", "[strategies.bad]\nstrategy = \"pairwise\"\nk = false\n",
       "k: expected an integer"},
      // Found by fuzzing: an empty list was an uncaught std::out_of_range (exit 1).
      {"an empty list", "[strategies.bad]\nstrategy = \"pairwise\"\norders = []\n",
       "orders: expected single"},
      {"a check beyond the types", "[strategies.bad]\nstrategy = \"pairwise\"\nk = 0\n", "k must be >= 1"},
      {"a judge key", "[strategies.bad]\nstrategy = \"pairwise\"\nmodel = \"/no/such.gguf\"\n", "model"},
  };
  for (const auto& [what, bad, named] : cases) {
    const std::string config = write_config(f, good + bad);
    for (const std::string mode : {"", " --dry-run"}) {
      const auto r = test::run_command(std::string(GEORANK_CLI_PATH) + " run --config " +
                                       test::shell_quote(config) + mode);
      EXPECT_EQ(r.exit_code, 2) << what << mode << r.err;
      EXPECT_NE(r.err.find("run.toml"), std::string::npos) << what << r.err;
      EXPECT_NE(r.err.find(named), std::string::npos) << what << r.err;
      EXPECT_NE(r.err.find("[strategies.bad]"), std::string::npos) << what << r.err;
      // The good strategy before it did not run.
      EXPECT_FALSE(fs::exists(f.dir + "/out/reranked-good.jsonl")) << what << mode;
    }
  }
}

// The resolved config beside the outputs holds every setting: running it again writes the
// same rankings, byte for byte, and it reads back as the same config.
TEST(RunCommand, TheResolvedConfigReproducesTheRunByteForByte) {
  const RunFixture f = make_fixture("run_resolved");
  const std::string config = write_config(
      f,
      "[rerank]\njudge = \"simulated\"\njudge_accuracy = 0.7\nposition_bias = 0.2\nk = 4\n"
      "no_progress = true\n\n[strategies.zz-bt]\nstrategy = \"pairwise\"\norders = \"random\"\n"
      "order_seed = 11\n\n[strategies.aa-yesno]\nstrategy = \"pointwise-yesno\"\nfusion_alpha = 0.5\n");
  const std::string cli = std::string(GEORANK_CLI_PATH) + " run --config ";
  auto r = test::run_command(cli + test::shell_quote(config));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string resolved = f.dir + "/out/run.resolved.toml";
  ASSERT_TRUE(fs::exists(resolved));
  const auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  // Strategies keep the file's order, not the alphabet's.
  const auto summary = nlohmann::json::parse(read(f.dir + "/out/summary.json"));
  EXPECT_EQ(summary.at("rows").at(1).at("name"), "zz-bt");
  EXPECT_EQ(summary.at("config").at("strategies").at("zz-bt").at("order_seed"), 11);
  EXPECT_EQ(summary.at("config").at("strategies").at("aa-yesno").at("judge_accuracy"), 0.7);

  r = test::run_command(cli + test::shell_quote(resolved) + " --out " + test::shell_quote(f.dir + "/again"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"reranked-zz-bt.jsonl", "reranked-aa-yesno.jsonl"}) {
    const std::string first = read(f.dir + "/out/" + name);
    EXPECT_FALSE(first.empty()) << name;
    EXPECT_EQ(read(f.dir + "/again/" + name), first) << name;
  }
  // The rerun's resolved config differs only in `out`.
  std::string again = read(f.dir + "/again/run.resolved.toml");
  const std::string first = read(resolved);
  EXPECT_NE(again.find("out = '" + f.dir + "/again'"), std::string::npos) << again;
  again.replace(again.find(f.dir + "/again"), (f.dir + "/again").size(), f.dir + "/out");
  EXPECT_EQ(again, first);
}

// A change the resolved config records changes the rankings: the test above can fail.
TEST(RunCommand, AnotherSeedInTheResolvedConfigGivesOtherRankings) {
  const RunFixture f = make_fixture("run_resolved_seed");
  const std::string config =
      write_config(f,
                   "[rerank]\njudge = \"simulated\"\njudge_accuracy = 0.6\nk = 5\nno_progress = true\n\n"
                   "[strategies.bt]\nstrategy = \"pairwise\"\norders = \"random\"\norder_seed = 1\n");
  const std::string cli = std::string(GEORANK_CLI_PATH) + " run --config ";
  ASSERT_EQ(test::run_command(cli + test::shell_quote(config)).exit_code, 0);
  std::ifstream in(f.dir + "/out/run.resolved.toml");
  std::string text(std::istreambuf_iterator<char>(in), {});
  const auto at = text.find("order_seed = 1\n");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, std::string("order_seed = 1").size(), "order_seed = 2");
  std::ofstream(f.dir + "/other.toml") << text;
  ASSERT_EQ(test::run_command(cli + test::shell_quote(f.dir + "/other.toml") + " --out " +
                              test::shell_quote(f.dir + "/other"))
                .exit_code,
            0);
  const auto read = [](const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), {});
  };
  EXPECT_NE(read(f.dir + "/other/reranked-bt.jsonl"), read(f.dir + "/out/reranked-bt.jsonl"));
}

}  // namespace
}  // namespace georank
