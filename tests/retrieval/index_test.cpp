#include "georank/retrieval/index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <numeric>
#include <random>

#include "georank/core/error.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

FloatMatrix random_unit(std::size_t rows, std::size_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n;
  FloatMatrix m{rows, cols, std::vector<float>(rows * cols)};
  for (auto& v : m.values) v = n(rng);
  l2_normalize(m);
  return m;
}

TEST(VectorIndex, ExactSearchEqualsABruteForceTopK) {
  const auto g = random_unit(500, 32, 1), q = random_unit(40, 32, 2);
  const auto index = VectorIndex::build(g, {});
  EXPECT_TRUE(index.exact());
  EXPECT_EQ(index.size(), 500u);
  const auto r = index.search(q, 7);
  for (std::size_t i = 0; i < q.rows; ++i) {
    std::vector<std::pair<double, std::int64_t>> all;
    for (std::size_t j = 0; j < g.rows; ++j) {
      double s = 0;
      for (std::size_t d = 0; d < 32; ++d) s += static_cast<double>(q.row(i)[d]) * g.row(j)[d];
      all.push_back({s, static_cast<std::int64_t>(j)});
    }
    std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (std::size_t k = 0; k < 7; ++k) {
      EXPECT_EQ(r.labels[i * 7 + k], all[k].second) << "query " << i << " rank " << k;
      EXPECT_NEAR(r.scores[i * 7 + k], all[k].first, 1e-5);
    }
  }
}

TEST(VectorIndex, PadsWithMinusOneWhenTheGalleryIsSmallerThanK) {
  const auto index = VectorIndex::build(random_unit(3, 8, 3), {});
  const auto r = index.search(random_unit(1, 8, 4), 5);
  EXPECT_GE(r.labels[2], 0);
  EXPECT_EQ(r.labels[3], -1);
  EXPECT_EQ(r.labels[4], -1);
}

TEST(VectorIndex, FactoryIndexesFindTheNearestNeighbourAndSurviveSaveAndLoad) {
  const auto g = random_unit(1000, 16, 5);
  FloatMatrix q{5, 16, {}};
  for (std::size_t i = 0; i < 5; ++i)  // queries that are gallery rows 0, 100, ...
    for (float v : g.row(i * 100)) q.values.push_back(v);
  const auto dir = std::filesystem::path(test::scratch_root()) / "index";
  std::filesystem::create_directories(dir);
  for (const std::string factory : {"HNSW32", "IVF16,Flat"}) {
    IndexConfig cfg;
    cfg.factory = factory;
    cfg.search_params = factory == "HNSW32" ? "efSearch=64" : "nprobe=16";
    const auto index = VectorIndex::build(g, cfg);
    EXPECT_FALSE(index.exact());
    const auto path = (dir / (factory.substr(0, 4) + ".faiss")).string();
    index.save(path);
    const auto loaded = VectorIndex::load(path, cfg);
    for (const auto* ix : {&index, &loaded}) {
      const auto r = ix->search(q, 3);
      for (std::size_t i = 0; i < 5; ++i)
        EXPECT_EQ(r.labels[i * 3], static_cast<std::int64_t>(i * 100)) << factory;
    }
  }
}

TEST(VectorIndex, BadFactoriesAndDimensionsAreErrors) {
  const auto g = random_unit(10, 8, 6);
  IndexConfig bad;
  bad.factory = "NoSuchIndex99";
  EXPECT_THROW(VectorIndex::build(g, bad), Error);
  IndexConfig ivf;
  ivf.factory = "IVF1024,Flat";  // 10 training vectors for 1024 lists
  EXPECT_THROW(VectorIndex::build(g, ivf), Error);
  EXPECT_THROW((void)VectorIndex::build(g, {}).search(random_unit(1, 4, 7), 1), Error);
}

void expect_invalid_argument(const std::function<void()>& f, const std::string& what) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning " << what;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

TEST(VectorIndex, MatricesWhoseValuesDisagreeWithTheirShapeAreRejectedBeforeFaissReadsThem) {
  // FAISS would read 1000 x 8 floats from a buffer of 8.
  const FloatMatrix short_gallery{1000, 8, std::vector<float>(8, 0.5f)};
  expect_invalid_argument([&] { (void)VectorIndex::build(short_gallery, {}); }, "8 values for a 1000 x 8");
  const auto index = VectorIndex::build(random_unit(10, 8, 8), {});
  const FloatMatrix short_queries{500, 8, std::vector<float>(8, 0.5f)};
  expect_invalid_argument([&] { (void)index.search(short_queries, 3); }, "8 values for a 500 x 8");
  // rows * cols wraps to 0: an empty buffer must not pass as a 2^62 x 4 matrix.
  const FloatMatrix wrapping{std::size_t{1} << 62, 4, {}};
  expect_invalid_argument([&] { (void)VectorIndex::build(wrapping, {}); }, "overflows");
  FloatMatrix to_normalise{4, 8, std::vector<float>(3, 1.0f)};
  expect_invalid_argument([&] { l2_normalize(to_normalise); }, "3 values for a 4 x 8");
}

TEST(VectorIndex, AKWhoseResultCountOverflowsIsRejected) {
  const auto index = VectorIndex::build(random_unit(10, 8, 9), {});
  expect_invalid_argument([&] { (void)index.search(random_unit(4, 8, 10), std::size_t{1} << 62); },
                          "too large");
}

}  // namespace
}  // namespace georank
