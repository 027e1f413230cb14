#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "georank/data/dataset.hpp"
#include "georank/data/ranking.hpp"
#include "georank/fixtures/synthetic_vigor.hpp"
#include "georank/rerank/judgment_cache.hpp"
#include "georank/rerank/rerank.hpp"
#include "support/subprocess.hpp"
#include "support/work_dir.hpp"

// `georank rerank` end to end on the synthetic VIGOR-format dataset with the SIMULATED judge
// (no model needed): output shape, sidecar, and kill-and-resume through the real CLI.

namespace georank {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class RerankCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::scratch_root() + "/rerank_cli-" + std::to_string(getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    SyntheticVigorConfig cfg;
    cfg.out_dir = dir_ + "/vigor";
    cfg.n_queries = 16;
    cfg.seed = 4;
    write_synthetic_vigor(cfg);
    DatasetSpec spec = parse_dataset_spec("vigor:" + cfg.out_dir);
    spec.cities = {"Chicago"};
    const Dataset ds = load_dataset(spec);
    // Candidates: the positive placed at rank (query index mod 7) among 8 gallery tiles.
    std::vector<QueryRanking> lists;
    for (std::size_t qi = 0; qi < ds.queries.size(); ++qi) {
      const Query& q = ds.queries[qi];
      QueryRanking r;
      r.query_id = q.id;
      r.gps = q.gps;
      for (std::size_t t = 0; r.candidates.size() < 7 && t < ds.gallery.size(); ++t) {
        const Tile& tile = ds.gallery[(t + qi * 3) % ds.gallery.size()];
        if (tile.id == q.positive.tile_id) continue;
        RankedCandidate c;
        c.tile_id = tile.id;
        c.center = tile.center;
        r.candidates.push_back(c);
      }
      RankedCandidate pos;
      pos.tile_id = q.positive.tile_id;
      pos.positive = true;
      r.candidates.insert(r.candidates.begin() + static_cast<std::ptrdiff_t>(qi % 7), pos);
      for (std::size_t i = 0; i < r.candidates.size(); ++i)
        r.candidates[i].score = 1.0 - 0.1 * static_cast<double>(i);
      lists.push_back(r);
    }
    write_rankings(lists, dir_ + "/candidates.jsonl");
  }

  static std::string args(const std::string& cache, const std::string& out, int delay_ms) {
    return "rerank --dataset vigor:" + dir_ + "/vigor --cities Chicago --candidates " + dir_ +
           "/candidates.jsonl --judge simulated --judge-accuracy 0.8 --position-bias 0.2 --strategy pairwise "
           "--aggregate sort --orders random --k 6 --no-progress --cache " +
           cache + " --out " + out + " --judge-delay-ms " + std::to_string(delay_ms);
  }

  static int run_cli(const std::string& a) {
    const std::string cmd = std::string("GEORANK_QUIET=1 ") + GEORANK_CLI_PATH + " " + a;
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  static std::string dir_;
};

std::string RerankCli::dir_;

TEST(RerankCliFlags, EveryRerankConfigKeyIsTheFlagOfTheSameName) {
  // rerank.hpp promises it: the JSON keys echoed into outputs are the flags, '_' as '-'.
  const auto help = test::run_command(std::string(GEORANK_CLI_PATH) + " rerank --help");
  ASSERT_EQ(help.exit_code, 0) << help.err;
  const nlohmann::json keys = to_json(RerankConfig{});
  for (const auto& [key, value] : keys.items()) {
    std::string flag = "--" + key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    EXPECT_NE(help.out.find(flag + " "), std::string::npos) << key << " has no flag " << flag;
  }
}

TEST_F(RerankCli, WritesTheCandidatesShapeWithBaselineRanksEvidenceAndASidecar) {
  const std::string out = dir_ + "/shape.jsonl";
  ASSERT_EQ(run_cli(args(dir_ + "/shape.sqlite", out, 0)), 0);
  const auto in = read_rankings(dir_ + "/candidates.jsonl");
  const auto got = read_rankings(out);
  ASSERT_EQ(got.size(), in.size());
  for (std::size_t q = 0; q < in.size(); ++q) {
    ASSERT_EQ(got[q].query_id, in[q].query_id);
    ASSERT_EQ(got[q].candidates.size(), in[q].candidates.size());
    for (std::size_t i = 0; i < got[q].candidates.size(); ++i) {
      const auto& c = got[q].candidates[i];
      EXPECT_EQ(in[q].candidates[static_cast<std::size_t>(c.baseline_rank)].tile_id, c.tile_id);
      EXPECT_EQ(c.evidence.is_null(), c.baseline_rank >= 6);
      if (i >= 6) {
        EXPECT_EQ(c.baseline_rank, static_cast<int>(i));  // below k: retrieval order
      }
    }
  }
  const auto meta = nlohmann::json::parse(slurp(dir_ + "/shape.meta.json"));
  EXPECT_EQ(meta.at("judge"), "simulated");
  EXPECT_EQ(meta.at("config").at("aggregate"), "sort");
  EXPECT_EQ(meta.at("prompt").at("name"), "pairwise");
  EXPECT_EQ(meta.at("prompt").at("sha256").get<std::string>().size(), 64u);
  EXPECT_FALSE(meta.at("prompt").at("text").get<std::string>().empty());
  // The judge's identity: what the cache keys on, recorded with the output.
  EXPECT_EQ(meta.at("backend").at("identity").at("backend"), "simulated");
  EXPECT_EQ(meta.at("backend").at("identity").at("settings").at("judge_accuracy"), 0.8);
  EXPECT_EQ(meta.at("backend").at("identity_sha256").get<std::string>().size(), 64u);
}

TEST_F(RerankCli, FourProcessesSharingOneCacheAllFinishWithIdenticalOutputs) {
  const std::string ref = dir_ + "/shared-ref.jsonl";
  ASSERT_EQ(run_cli(args(dir_ + "/shared-ref.sqlite", ref, 0)), 0);
  const auto ref_meta = nlohmann::json::parse(slurp(dir_ + "/shared-ref.meta.json"));
  const std::int64_t distinct = ref_meta.at("counts").at("backend_calls").get<std::int64_t>();
  ASSERT_GT(distinct, 60);

  // Same queries, same judge, one cache; a small per-judgment delay makes them overlap.
  const std::string db = dir_ + "/shared.sqlite";
  std::string all;
  for (int i = 0; i < 4; ++i)
    all += "(GEORANK_QUIET=1 " + std::string(GEORANK_CLI_PATH) + " " +
           args(db, dir_ + "/shared-" + std::to_string(i) + ".jsonl", 2) + " || echo process " +
           std::to_string(i) + " failed) & ";
  const int status = std::system((all + "wait").c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::int64_t computed = 0;
  for (int i = 0; i < 4; ++i) {
    const std::string out = dir_ + "/shared-" + std::to_string(i) + ".jsonl";
    ASSERT_TRUE(fs::exists(out)) << "process " << i << " failed";
    EXPECT_EQ(slurp(out), slurp(ref)) << "process " << i;
    computed += nlohmann::json::parse(slurp(dir_ + "/shared-" + std::to_string(i) + ".meta.json"))
                    .at("counts")
                    .at("backend_calls")
                    .get<std::int64_t>();
  }
  EXPECT_GE(computed, distinct);
  EXPECT_EQ(JudgmentCache(db).size(), distinct);  // each judgment stored once
}

TEST_F(RerankCli, AKilledRerankRestartsWithoutRepeatingAJudgmentAndWritesIdenticalOutput) {
  const std::string ref = dir_ + "/ref.jsonl";
  ASSERT_EQ(run_cli(args(dir_ + "/ref.sqlite", ref, 0)), 0);
  const auto ref_meta = nlohmann::json::parse(slurp(dir_ + "/ref.meta.json"));
  const std::int64_t total = ref_meta.at("counts").at("backend_calls").get<std::int64_t>();
  ASSERT_GT(total, 60);

  const std::string db = dir_ + "/killed.sqlite", out = dir_ + "/killed.jsonl";
  const std::string cmd = std::string(GEORANK_CLI_PATH) + " " + args(db, out, 15);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setenv("GEORANK_QUIET", "1", 1);
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!fs::exists(db)) continue;
    try {
      if (JudgmentCache(db).size() >= total / 3) break;
    } catch (const std::exception&) {
    }
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it was killed";
  EXPECT_FALSE(fs::exists(out));
  const std::int64_t stored = JudgmentCache(db).size();
  EXPECT_GT(stored, 0);
  EXPECT_LT(stored, total);

  ASSERT_EQ(run_cli(args(db, out, 0)), 0);
  const auto meta = nlohmann::json::parse(slurp(dir_ + "/killed.meta.json"));
  EXPECT_EQ(meta.at("counts").at("cache_hits").get<std::int64_t>(), stored);
  EXPECT_EQ(stored + meta.at("counts").at("backend_calls").get<std::int64_t>(), total);
  EXPECT_EQ(JudgmentCache(db).size(), total);
  EXPECT_EQ(slurp(out), slurp(ref));
}

}  // namespace
}  // namespace georank
