// Hostile input to the commands: every case ends in a clear error naming the flag, file or
// row, before any work is done, and nothing already computed is lost.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "georank/data/dataset.hpp"
#include "georank/data/ranking.hpp"
#include "georank/retrieval/index.hpp"
#include "georank/retrieval/npy.hpp"
#include "georank/retrieval/retrieval.hpp"
#include "support/fake_openai_server.hpp"
#include "support/subprocess.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A synthetic city, random unit embeddings for its queries and tiles, and candidates.
struct World {
  std::string dir, root, data, q_npy, g_npy, candidates;
  std::size_t n_tiles = 0;
};

const World& world() {
  static const World w = [] {
    World x;
    x.dir = test::fresh_work_dir("hostile-input");
    x.root = x.dir + "/vigor";
    const auto made = test::run_command(std::string(GEORANK_CLI_PATH) + " fixtures dataset --out " + x.root +
                                        " --queries 6 --seed 3");
    if (made.exit_code != 0) throw std::runtime_error("fixtures dataset failed: " + made.err);
    x.data = " --dataset vigor:" + x.root;
    const Dataset ds = load_dataset(parse_dataset_spec("vigor:" + x.root));
    x.n_tiles = ds.gallery.size();
    std::uint32_t state = 12345;
    const auto random_rows = [&](const std::vector<std::string>& ids) {
      Embeddings e;
      e.ids = ids;
      e.matrix.rows = ids.size();
      e.matrix.cols = 8;
      for (std::size_t i = 0; i < ids.size() * 8; ++i) {
        state = state * 1664525u + 1013904223u;
        e.matrix.values.push_back(static_cast<float>(state >> 8) / 16777216.0f - 0.5f);
      }
      l2_normalize(e.matrix);
      return e;
    };
    std::vector<std::string> qids, tids;
    for (const auto& q : ds.queries) qids.push_back(q.id);
    for (const auto& t : ds.gallery) tids.push_back(t.id);
    x.q_npy = x.dir + "/Q.npy";
    x.g_npy = x.dir + "/G.npy";
    write_embeddings(x.q_npy, random_rows(qids));
    write_embeddings(x.g_npy, random_rows(tids));
    x.candidates = x.dir + "/candidates.jsonl";
    const auto r =
        test::run_command(std::string(GEORANK_CLI_PATH) + " retrieve" + x.data + " --query-embeddings " +
                          x.q_npy + " --gallery-embeddings " + x.g_npy + " --k 5 --out " + x.candidates);
    if (r.exit_code != 0) throw std::runtime_error("retrieve failed: " + r.err);
    return x;
  }();
  return w;
}

test::ProcessResult georank(const std::string& args) {
  return test::run_command("GEORANK_QUIET=0 " + std::string(GEORANK_CLI_PATH) + " " + args);
}

std::string retrieve_args(const World& w, const std::string& q, const std::string& g) {
  return "retrieve" + w.data + " --query-embeddings " + q + " --gallery-embeddings " + g;
}

std::string rerank_args(const World& w) {
  return "rerank" + w.data + " --candidates " + w.candidates + " --judge simulated --strategy pairwise --k 3";
}

TEST(HostileInput, ANanOrZeroEmbeddingIsRefusedNamingTheRowAndTheId) {
  const World& w = world();
  Embeddings g = read_embeddings(w.g_npy);
  for (const auto& [what, value] :
       {std::pair{"NaN", std::nanf("")}, {"infinite", INFINITY}, {"zero", 0.0f}}) {
    Embeddings bad = g;
    if (std::string(what) == "zero") {
      std::fill(bad.matrix.row(2).begin(), bad.matrix.row(2).end(), 0.0f);
    } else {
      bad.matrix.row(2)[1] = value;
    }
    const std::string path = w.dir + "/bad-" + what + ".npy";
    write_embeddings(path, bad);
    const auto r = georank(retrieve_args(w, w.q_npy, path) + " --out " + w.dir + "/bad.jsonl");
    EXPECT_EQ(r.exit_code, 2) << what << r.err;
    EXPECT_THAT(r.err, HasSubstr(path));
    EXPECT_THAT(r.err, HasSubstr("row 2 (id '" + g.ids[2] + "')")) << what;
    EXPECT_THAT(r.err, HasSubstr(what));
    EXPECT_FALSE(fs::exists(w.dir + "/bad.jsonl"));
  }
}

TEST(HostileInput, AKLargerThanTheGalleryIsClampedWithANotice) {
  const World& w = world();
  const std::string out = w.dir + "/all.jsonl";
  const auto r = georank(retrieve_args(w, w.q_npy, w.g_npy) + " --k 100000000 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("more than the gallery's"));
  const auto rankings = read_rankings(out);
  ASSERT_FALSE(rankings.empty());
  EXPECT_EQ(rankings[0].candidates.size(), w.n_tiles);
  const auto meta = nlohmann::json::parse(slurp(w.dir + "/all.meta.json"));
  EXPECT_EQ(meta.at("k"), w.n_tiles);
  EXPECT_EQ(meta.at("k_requested"), 100000000);
}

TEST(HostileInput, NegativeOrAbsurdCountsAreFlagErrors) {
  const World& w = world();
  for (const std::string flags : {" --k -5", " --k 0", " --threads -5", " --threads 100000"}) {
    const auto r = georank(retrieve_args(w, w.q_npy, w.g_npy) + flags + " --out " + w.dir + "/x.jsonl");
    EXPECT_NE(r.exit_code, 0) << flags;
    EXPECT_THAT(r.err, HasSubstr(flags.substr(1, flags.find(' ', 1) - 1))) << flags;
    EXPECT_THAT(r.err, Not(HasSubstr("std::"))) << flags;
  }
  for (const std::string flags : {" --threads -5", " --threads 100000", " --k -1"}) {
    const auto r = georank(rerank_args(w) + flags + " --out " + w.dir + "/y.jsonl");
    EXPECT_NE(r.exit_code, 0) << flags;
    EXPECT_THAT(r.err, HasSubstr(flags.substr(1, flags.find(' ', 1) - 1))) << flags;
  }
}

TEST(HostileInput, AnOutputThatIsAnInputIsRefusedAndTheInputSurvives) {
  const World& w = world();
  const std::string before = slurp(w.candidates), meta_before = slurp(meta_path_for(w.candidates));
  const auto r = georank(rerank_args(w) + " --out " + w.candidates);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--out"));
  EXPECT_THAT(r.err, HasSubstr("--candidates"));
  EXPECT_EQ(slurp(w.candidates), before);
  EXPECT_EQ(slurp(meta_path_for(w.candidates)), meta_before);
  // Through another spelling of the same path too.
  const auto r2 = georank(rerank_args(w) + " --out " + w.dir + "/./vigor/../candidates.jsonl");
  EXPECT_EQ(r2.exit_code, 2) << r2.err;
  const auto r3 = georank(retrieve_args(w, w.q_npy, w.g_npy) + " --out " + w.q_npy);
  EXPECT_EQ(r3.exit_code, 2) << r3.err;
  EXPECT_THAT(r3.err, HasSubstr("--query-embeddings"));
}

TEST(HostileInput, AnUnwritableOutputIsFoundBeforeTheFirstJudgment) {
  const World& w = world();
  const std::string cache = w.dir + "/unwritable.sqlite";
  // A folder given as the output file.
  fs::create_directories(w.dir + "/a-folder");
  const auto r = georank(rerank_args(w) + " --cache " + cache + " --out " + w.dir + "/a-folder");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("is a folder"));
  // A path below a file: its folder cannot be made.
  const auto r2 = georank(rerank_args(w) + " --cache " + cache + " --out " + w.candidates + "/out.jsonl");
  EXPECT_EQ(r2.exit_code, 4) << r2.err;
  EXPECT_THAT(r2.err, HasSubstr("--out"));
  // No judgment was asked for: the cache was never opened.
  EXPECT_FALSE(fs::exists(cache));
}

TEST(HostileInput, EmbeddingsThatDoNotMatchTheirSidecarAreRefused) {
  const World& w = world();
  const std::string dir = test::fresh_work_dir("hostile-input-sidecar");
  // A sidecar written by `georank embed` for 7 queries, beside a file of another run.
  Embeddings q = read_embeddings(w.q_npy);
  write_embeddings(dir + "/queries.npy", q);
  fs::copy_file(w.g_npy, dir + "/gallery.npy");
  fs::copy_file(ids_path_for(w.g_npy), ids_path_for(dir + "/gallery.npy"));
  const nlohmann::json meta = {{"queries", {{"npy", "queries.npy"}, {"n", q.ids.size() + 1}}},
                               {"gallery", {{"npy", "gallery.npy"}, {"n", w.n_tiles}}}};
  std::ofstream(dir + "/embeddings.meta.json") << meta.dump();
  const auto r =
      georank(retrieve_args(w, dir + "/queries.npy", dir + "/gallery.npy") + " --out " + dir + "/c.jsonl");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("different embed runs"));
  EXPECT_THAT(r.err, HasSubstr(dir + "/queries.npy"));
}

TEST(HostileInput, RerankAgainstAServerThatNeverAnswersEndsWithinItsTimeout) {
  const World& w = world();
  test::FakeOpenAiServer server([&](const httplib::Request&, httplib::Response& res, int) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < until && !server.stopping().load())
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    res.status = 500;
  });
  const auto start = std::chrono::steady_clock::now();
  const auto r = georank("rerank" + w.data + " --candidates " + w.candidates + " --server " + server.url() +
                         " --server-model m --strategy pairwise --k 3 --timeout 0.5 --retries 0 --out " +
                         w.dir + "/never.jsonl");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 6) << r.err;  // timeout
  EXPECT_THAT(r.err, HasSubstr("no answer within 0.5 s"));
  EXPECT_LT(seconds, 45.0);  // not the 60 s the server would take
}

TEST(HostileInput, WithoutATerminalRerankProgressIsALineEveryFewSecondsNotOnePerQuery) {
  const World& w = world();
  const auto r = georank(rerank_args(w) + " --out " + w.dir + "/progress-reranked.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.err);
  int progress_lines = 0;
  std::string last;
  for (std::string line; std::getline(lines, line);)
    if (line.find("VLM calls/s") != std::string::npos) {
      ++progress_lines;
      last = line;
    }
  const auto n = read_rankings(w.candidates).size();
  ASSERT_GT(n, 2u);
  // A run of well under five seconds: its first and its last line, not one per query.
  EXPECT_GE(progress_lines, 1) << r.err;
  EXPECT_LE(progress_lines, 2) << r.err;
  EXPECT_THAT(last, HasSubstr(std::to_string(n) + "/" + std::to_string(n)));
}

TEST(HostileInput, CandidatesOutOfScoreOrderOrWithoutScoresAreUsedInFileOrderWithAWarning) {
  const World& w = world();
  auto rankings = read_rankings(w.candidates);
  ASSERT_GE(rankings.size(), 3u);
  std::swap(rankings[0].candidates[0].score, rankings[0].candidates[2].score);  // out of order
  rankings[1].candidates[1].score = std::nan("");                               // "score": null
  const std::string edited = w.dir + "/edited-candidates.jsonl";
  write_rankings(rankings, edited);
  EXPECT_THAT(slurp(edited), HasSubstr("\"score\":null"));
  const std::string out = w.dir + "/edited-reranked.jsonl";
  auto r = georank("rerank" + w.data + " --candidates " + edited +
                   " --judge simulated --strategy pairwise --k 3 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr(edited + ": 1 of " + std::to_string(rankings.size()) +
                               " queries list candidates out of descending score order"));
  EXPECT_THAT(r.err, HasSubstr(edited + ": 1 candidates have no score (null or absent)"));
  // The file's order is the retrieval rank.
  const auto reranked = read_rankings(out);
  for (const auto& c : reranked[0].candidates) {
    if (c.tile_id == rankings[0].candidates[0].tile_id) {
      EXPECT_EQ(c.baseline_rank, 0);
    }
  }
  r = georank("rerank" + w.data + " --candidates " + w.candidates +
              " --judge simulated --strategy pairwise --k 3 --out " + w.dir + "/plain-reranked.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("score order")));
  EXPECT_THAT(r.err, Not(HasSubstr("have no score")));
}

}  // namespace
}  // namespace georank
