// End to end on the synthetic VIGOR-format dataset: embeddings from simple deterministic
// colour features -> georank retrieve -> georank eval, checked against an independent NumPy
// computation over the full similarity matrix.

#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "apps/independent_metrics.hpp"
#include "georank/core/sha256.hpp"
#include "georank/data/dataset.hpp"
#include "georank/data/image.hpp"
#include "georank/retrieval/index.hpp"
#include "georank/retrieval/npy.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  std::array<char, 4096> buf{};
  while (p && std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  const int status = p ? ::pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// 4x4x4 RGB histogram of the rows [y0, y1) of an image, L2-normalised.
std::vector<float> colour_histogram(const Image& im, int y0, int y1) {
  std::vector<float> h(64, 0.0f);
  for (int y = y0; y < y1; ++y)
    for (int x = 0; x < im.width; ++x) {
      const auto* p = &im.rgb[(static_cast<std::size_t>(y) * im.width + x) * 3];
      ++h[(p[0] / 64) * 16 + (p[1] / 64) * 4 + p[2] / 64];
    }
  return h;
}

struct Fixture {
  std::string dir, root, q_npy, g_npy;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    x.dir = (fs::path(test::scratch_root()) / ("retrieve_eval-" + std::to_string(getpid()))).string();
    fs::remove_all(x.dir);
    fs::create_directories(x.dir);
    x.root = x.dir + "/vigor";
    const auto [rc, out] =
        run(std::string(GEORANK_CLI_PATH) + " fixtures dataset --out " + x.root + " --queries 12 --seed 5");
    if (rc != 0) throw std::runtime_error("fixtures dataset failed: " + out);
    const Dataset ds = load_dataset(parse_dataset_spec("vigor:" + x.root));
    Embeddings q, g;
    q.matrix.cols = g.matrix.cols = 64;
    // Queries in reverse order and gallery rows shuffled plus one extra row: the retrieval must
    // match by id, not by position.
    for (auto it = ds.queries.rbegin(); it != ds.queries.rend(); ++it) {
      const Image im = load_image(it->path);
      const auto h = colour_histogram(im, im.height / 2, im.height);
      q.ids.push_back(it->id);
      q.matrix.values.insert(q.matrix.values.end(), h.begin(), h.end());
    }
    for (std::size_t k = 0; k < ds.gallery.size(); ++k) {
      const auto& t = ds.gallery[(k * 7) % ds.gallery.size()];
      const Image im = load_image(t.path);
      const auto h = colour_histogram(im, 0, im.height);
      g.ids.push_back(t.id);
      g.matrix.values.insert(g.matrix.values.end(), h.begin(), h.end());
    }
    g.ids.push_back("satellite_0.0000000_0.0000000.png");
    g.matrix.values.insert(g.matrix.values.end(), 64, 0.125f);
    q.matrix.rows = q.ids.size();
    g.matrix.rows = g.ids.size();
    l2_normalize(q.matrix);
    l2_normalize(g.matrix);
    x.q_npy = x.dir + "/Q.npy";
    x.g_npy = x.dir + "/G.npy";
    write_embeddings(x.q_npy, q);
    write_embeddings(x.g_npy, g, NpyDtype::float16);
    return x;
  }();
  return f;
}

TEST(RetrieveEval, MetricsOfRetrievedCandidatesMatchAnIndependentNumpyComputation) {
  const auto& f = fixture();
  const std::string cli = GEORANK_CLI_PATH;
  const std::string data = " --dataset vigor:" + f.root + " --protocol cross-area --split test";
  const std::string cand = f.dir + "/candidates.jsonl";
  auto [rc, out] = run(cli + " retrieve" + data + " --query-embeddings " + f.q_npy +
                       " --gallery-embeddings " + f.g_npy + " --k 10 --out " + cand);
  ASSERT_EQ(rc, 0) << out;
  auto [erc, eout] = run(cli + " eval" + data + " --rankings " + cand + " --json");
  ASSERT_EQ(erc, 0) << eout;
  const json mine = json::parse(eout);
  test::expect_json_near(mine, test::independent_vigor_metrics(f.dir, f.root, "Chicago", f.q_npy, f.g_npy));
  EXPECT_EQ(mine["n_queries"], 12);
  EXPECT_GT(mine["recall"]["10"].get<double>(), 0.0);

  // Candidates: 10 per query in descending score with the fields.
  std::ifstream in(cand);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    const auto j = json::parse(line);
    ASSERT_EQ(j["candidates"].size(), 10u);
    EXPECT_TRUE(j["lat"].is_number());
    for (std::size_t i = 1; i < 10; ++i)
      EXPECT_GE(j["candidates"][i - 1]["score"].get<double>(), j["candidates"][i]["score"].get<double>());
    EXPECT_TRUE(j["candidates"][0]["lat"].is_number());
    ++n;
  }
  EXPECT_EQ(n, 12);
  std::ifstream meta_in(f.dir + "/candidates.meta.json");
  const json meta = json::parse(meta_in);
  EXPECT_TRUE(meta["dataset"]["dataset"].get<std::string>().starts_with("vigor:"));
  EXPECT_EQ(meta["dataset"]["protocol"], "cross-area");
  EXPECT_EQ(meta["k"], 10);
  EXPECT_EQ(meta["index"]["factory"], "Flat");
  EXPECT_EQ(meta["gallery_embeddings"]["dtype"], "float16");
  EXPECT_EQ(meta["gallery_embeddings"]["sha256"], sha256_file(f.g_npy));
  EXPECT_EQ(meta["subset"]["n"], 0);
}

TEST(RetrieveEval, ImportedCsvCandidatesEvaluateLikeTheSameJsonl) {
  const auto& f = fixture();
  const std::string cli = GEORANK_CLI_PATH;
  const std::string data = " --dataset vigor:" + f.root;
  const std::string cand = f.dir + "/for_csv.jsonl";
  ASSERT_EQ(run(cli + " retrieve" + data + " --query-embeddings " + f.q_npy + " --gallery-embeddings " +
                f.g_npy + " --k 10 --out " + cand)
                .first,
            0);
  // The same candidates as CSV, rows shuffled (scores define the order).
  std::ofstream csv(f.dir + "/cand.csv");
  csv << "query_id,tile_id,score\n";
  std::ifstream in(cand);
  std::vector<std::string> rows;
  for (std::string line; std::getline(in, line);) {
    const auto j = json::parse(line);
    for (const auto& c : j["candidates"]) {
      std::string row = "\"";
      row += j["query_id"].get<std::string>();
      row += "\",";
      row += c["tile_id"].get<std::string>();
      row += ",";
      row += nlohmann::json(c["score"].get<double>()).dump();
      rows.push_back(row);
    }
  }
  std::reverse(rows.begin(), rows.end());
  for (const auto& r : rows) csv << r << "\n";
  csv.close();
  ASSERT_EQ(run(cli + " retrieve" + data + " --import-csv " + f.dir + "/cand.csv --out " + f.dir +
                "/imported.jsonl")
                .first,
            0);
  const auto a = run(cli + " eval" + data + " --rankings " + cand + " --json");
  const auto b = run(cli + " eval" + data + " --rankings " + f.dir + "/imported.jsonl --json");
  const auto c = run(cli + " eval" + data + " --rankings " + f.dir + "/cand.csv --json");
  ASSERT_EQ(a.first, 0);
  EXPECT_EQ(json::parse(a.second), json::parse(b.second));
  EXPECT_EQ(json::parse(a.second), json::parse(c.second));
}

TEST(RetrieveEval, SubsetAndApproximateIndexAreRecordedAndTheIndexIsReused) {
  const auto& f = fixture();
  const std::string cli = GEORANK_CLI_PATH;
  const std::string args = " retrieve --dataset vigor:" + f.root +
                           " --subset 5 --seed 1 --query-embeddings " + f.q_npy + " --gallery-embeddings " +
                           f.g_npy + " --k 5 --index HNSW32 --search-params efSearch=64 --out ";
  ASSERT_EQ(run(cli + args + f.dir + "/sub1.jsonl").first, 0);
  ASSERT_EQ(run(cli + args + f.dir + "/sub2.jsonl").first, 0);
  EXPECT_TRUE(fs::exists(f.dir + "/G.HNSW32.faiss"));
  std::ifstream m1(f.dir + "/sub1.meta.json"), m2(f.dir + "/sub2.meta.json");
  const json a = json::parse(m1), b = json::parse(m2);
  EXPECT_EQ(a["subset"]["n"], 5);
  EXPECT_EQ(a["subset"]["seed"], 1);
  EXPECT_EQ(a["n_queries"], 5);
  EXPECT_EQ(a["n_queries_before_subset"], 12);
  EXPECT_FALSE(a["index"]["reused"].get<bool>());
  EXPECT_TRUE(b["index"]["reused"].get<bool>());
  std::ifstream r1(f.dir + "/sub1.jsonl"), r2(f.dir + "/sub2.jsonl");
  std::stringstream s1, s2;
  s1 << r1.rdbuf();
  s2 << r2.rdbuf();
  EXPECT_EQ(s1.str(), s2.str());
  // On 25 tiles HNSW is exhaustive in practice: the same top-5 as exact search.
  ASSERT_EQ(run(cli + " retrieve --dataset vigor:" + f.root + " --subset 5 --seed 1 --query-embeddings " +
                f.q_npy + " --gallery-embeddings " + f.g_npy + " --k 5 --out " + f.dir + "/sub_exact.jsonl")
                .first,
            0);
  std::ifstream r3(f.dir + "/sub_exact.jsonl");
  std::string l1, l3;
  std::istringstream i1(s1.str());
  while (std::getline(i1, l1) && std::getline(r3, l3)) {
    const auto x = json::parse(l1), y = json::parse(l3);
    for (std::size_t k = 0; k < 5; ++k)
      EXPECT_EQ(x["candidates"][k]["tile_id"], y["candidates"][k]["tile_id"]);
  }
}

TEST(RetrieveEval, MissingEmbeddingsAreNamedErrors) {
  const auto& f = fixture();
  const auto dir = f.dir + "/missing";
  fs::create_directories(dir);
  auto q = read_embeddings(f.q_npy);
  q.ids.pop_back();
  q.matrix.rows -= 1;
  q.matrix.values.resize(q.matrix.rows * q.matrix.cols);
  write_embeddings(dir + "/Q.npy", q);
  const auto [rc, out] =
      run(std::string(GEORANK_CLI_PATH) + " retrieve --dataset vigor:" + f.root + " --query-embeddings " +
          dir + "/Q.npy --gallery-embeddings " + f.g_npy + " --out " + dir + "/c.jsonl 2>&1");
  EXPECT_EQ(rc, 3) << out;  // not found
  EXPECT_FALSE(fs::exists(dir + "/c.jsonl"));
}

TEST(RetrieveEval, APrebuiltIndexRescoredGivesTheExactTopKAndSkipsRowsOutsideTheGallery) {
  const auto& f = fixture();
  const std::string cli = GEORANK_CLI_PATH;
  const auto dir = f.dir + "/prebuilt";
  fs::create_directories(dir);
  // 4-bit scalar codes: approximate scores; every list probed, so only the codes approximate
  ASSERT_EQ(run(cli + " index build --shards " + f.g_npy + " --out " + dir + "/city.faiss --factory IVF4,SQ4")
                .first,
            0);
  const std::string data =
      " retrieve --dataset vigor:" + f.root + " --query-embeddings " + f.q_npy + " --k 5";
  ASSERT_EQ(run(cli + data + " --gallery-embeddings " + f.g_npy + " --out " + dir + "/exact.jsonl").first, 0);
  const std::string prebuilt = data + " --gallery-index " + dir + "/city.faiss --search-params nprobe=4";
  ASSERT_EQ(run(cli + prebuilt + " --rescore 30 --out " + dir + "/rescored.jsonl").first, 0);
  ASSERT_EQ(run(cli + prebuilt + " --out " + dir + "/approx.jsonl").first, 0);
  const auto lines = [](const std::string& path) {
    std::vector<json> out;
    std::ifstream in(path);
    for (std::string l; std::getline(in, l);) out.push_back(json::parse(l));
    return out;
  };
  const auto exact = lines(dir + "/exact.jsonl"), rescored = lines(dir + "/rescored.jsonl"),
             approx = lines(dir + "/approx.jsonl");
  ASSERT_EQ(rescored.size(), exact.size());
  ASSERT_EQ(approx.size(), exact.size());
  double approx_error = 0;
  for (std::size_t q = 0; q < exact.size(); ++q) {
    ASSERT_EQ(rescored[q]["candidates"].size(), 5u);
    ASSERT_EQ(approx[q]["candidates"].size(), 5u);
    for (std::size_t j = 0; j < 5; ++j) {
      EXPECT_EQ(rescored[q]["candidates"][j]["tile_id"], exact[q]["candidates"][j]["tile_id"]);
      EXPECT_NEAR(rescored[q]["candidates"][j]["score"].get<double>(),
                  exact[q]["candidates"][j]["score"].get<double>(), 1e-5);
      EXPECT_NE(approx[q]["candidates"][j]["tile_id"],
                "satellite_0.0000000_0.0000000.png");  // not in the gallery
      approx_error = std::max(approx_error, std::abs(approx[q]["candidates"][j]["score"].get<double>() -
                                                     exact[q]["candidates"][j]["score"].get<double>()));
    }
  }
  EXPECT_GT(approx_error, 1e-4);  // the codes' own scores: what the re-scoring repairs
  std::ifstream m(dir + "/rescored.meta.json");
  const json meta = json::parse(m);
  EXPECT_TRUE(meta["index"]["prebuilt"].get<bool>());
  EXPECT_EQ(meta["index"]["rows_outside_gallery"], 1);
  EXPECT_EQ(meta["index"]["rescore"], 30);
  EXPECT_EQ(meta["index"]["factory"], "IVF4,SQ4");

  // --rescore needs an index; an index without some gallery tile is not found
  EXPECT_EQ(
      run(cli + data + " --gallery-embeddings " + f.g_npy + " --rescore 10 --out " + dir + "/x.jsonl").first,
      2);
  auto g = read_embeddings(f.g_npy);
  g.ids.erase(g.ids.begin());
  g.matrix.rows -= 1;
  g.matrix.values.erase(g.matrix.values.begin(), g.matrix.values.begin() + static_cast<long>(g.matrix.cols));
  write_embeddings(dir + "/G-1.npy", g);
  ASSERT_EQ(
      run(cli + " index build --shards " + dir + "/G-1.npy --out " + dir + "/short.faiss --factory IVF4,SQ4")
          .first,
      0);
  EXPECT_EQ(run(cli + data + " --gallery-index " + dir + "/short.faiss --out " + dir + "/y.jsonl").first, 3);
  EXPECT_FALSE(fs::exists(dir + "/x.jsonl"));
  EXPECT_FALSE(fs::exists(dir + "/y.jsonl"));
}

}  // namespace
}  // namespace georank
