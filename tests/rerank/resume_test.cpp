#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "georank/fixtures/simulation.hpp"
#include "georank/rerank/judgment_cache.hpp"
#include "georank/rerank/rerank.hpp"
#include "support/tiny_image.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

constexpr int kQueries = 16;
constexpr int kListLength = 8;

std::shared_ptr<const Image> solid(int a, int b) {
  return test::image_of(2, 1, {static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b), 0, 0, 0, 0});
}

struct Workload {
  std::vector<QueryRanking> lists;
  std::vector<JudgeImages> images;
  std::unordered_map<std::string, double> quality;
};

Workload workload() {
  Workload w;
  for (int q = 0; q < kQueries; ++q) {
    QueryRanking list;
    list.query_id = fmt::format("query{:02}", q);
    JudgeImages im;
    im.query = solid(q, 255);
    for (int i = 0; i < kListLength; ++i) {
      RankedCandidate c;
      c.tile_id = fmt::format("tile_{}_{}", q, i);
      c.score = 1.0 - 0.05 * i;
      c.positive = i == (q % 5);
      list.candidates.push_back(c);
      im.candidates.push_back(solid(q, i));
      w.quality[im.candidates.back()->id] = c.positive ? 1.0 : 0.1 * ((q * 7 + i * 3) % 9);
    }
    w.lists.push_back(list);
    w.images.push_back(im);
  }
  return w;
}

// Everything a ranking output holds, in a canonical text form.
std::string canonical(const QueryRanking& r) {
  std::string s = r.query_id + "\n";
  for (const auto& c : r.candidates)
    s += fmt::format("{} {} {} {}\n", c.tile_id, c.baseline_rank, c.score, c.evidence.dump());
  return s;
}

// Reranks the workload with two configurations through a judgment cache and writes the
// rankings to `out` (temporary file + rename). Returns the judgments the backend computed.
std::int64_t run_rerank(const std::string& db, const std::string& out, int delay_ms) {
  const Workload w = workload();
  SimulatedJudgeParams params;
  params.judge_accuracy = 0.8;
  params.position_bias = 0.3;
  params.seed = 11;
  SimulatedBackend simulated(w.quality, params, delay_ms);
  JudgmentCache cache(db);
  CachingBackend backend(simulated, cache);
  RerankConfig a;
  a.strategy = RerankStrategy::pairwise;
  a.aggregate = PairAggregator::all_pairs_bt;
  a.orders = PairOrders::both;
  RerankConfig b = a;
  b.aggregate = PairAggregator::sort;
  b.orders = PairOrders::random;
  b.k = 6;
  b.order_seed = 5;
  std::string text;
  for (const RerankConfig& cfg : {a, b}) {
    const PromptTemplate prompt = prompt_for(cfg);
    backend.set_prompt_sha256(prompt.sha256);
    for (int q = 0; q < kQueries; ++q)
      text += canonical(rerank_query(w.lists[q], w.images[q], cfg, prompt, backend));
  }
  {
    std::ofstream f(out + ".tmp", std::ios::binary);
    f << text;
  }
  std::filesystem::rename(out + ".tmp", out);
  return simulated.n_requests();
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(KillAndResume, ARunKilledMidRerankResumesWithoutRepeatingAJudgmentAndGivesIdenticalRankings) {
  const std::string dir = test::scratch_root() + "/kill_and_resume";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  // Reference: one uninterrupted run.
  const std::int64_t total = run_rerank(dir + "/ref.sqlite", dir + "/ref.txt", 0);
  ASSERT_GT(total, 300);

  // A child process runs the same work slowly and is SIGKILLed part-way.
  const std::string db = dir + "/judgments.sqlite", out = dir + "/out.txt";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    try {
      run_rerank(db, out, 2);
    } catch (...) {
      _exit(3);
    }
    _exit(0);
  }
  std::int64_t stored_at_kill = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!std::filesystem::exists(db)) continue;
    try {
      if (JudgmentCache(db).size() >= total / 3) break;
    } catch (const std::exception&) {
      // the child may still be creating the schema
    }
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child finished before it was killed";
  EXPECT_FALSE(std::filesystem::exists(out)) << "no output is written by an interrupted run";
  stored_at_kill = JudgmentCache(db).size();
  EXPECT_GE(stored_at_kill, total / 3);
  EXPECT_LT(stored_at_kill, total);

  // Restart: only the missing judgments are computed (a repeated one would violate the
  // database's primary key and throw), and the output is byte-identical.
  const std::int64_t computed = run_rerank(db, out, 0);
  EXPECT_EQ(stored_at_kill + computed, total);
  EXPECT_EQ(JudgmentCache(db).size(), total);
  EXPECT_EQ(slurp(out), slurp(dir + "/ref.txt"));

  // A third run is answered entirely from the cache.
  EXPECT_EQ(run_rerank(db, out, 0), 0);
  EXPECT_EQ(slurp(out), slurp(dir + "/ref.txt"));
}

}  // namespace
}  // namespace georank
