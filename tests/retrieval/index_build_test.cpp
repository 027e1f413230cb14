#include "georank/retrieval/index_build.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "georank/core/error.hpp"
#include "georank/retrieval/index.hpp"
#include "georank/retrieval/npy.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

FloatMatrix random_rows(std::size_t rows, std::size_t cols, unsigned seed, bool unit = true) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n;
  FloatMatrix m{rows, cols, std::vector<float>(rows * cols)};
  for (auto& v : m.values) v = n(rng);
  if (unit) l2_normalize(m);
  return m;
}

std::vector<std::string> ids_for(std::size_t n, const std::string& prefix) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < n; ++i) ids.push_back(prefix + std::to_string(i));
  return ids;
}

// Rows [first, first + n) of `all` as their own embeddings, ids "<prefix><row>".
Embeddings slice(const FloatMatrix& all, std::size_t first, std::size_t n) {
  Embeddings e;
  e.matrix = {n, all.cols, {}};
  e.matrix.values.assign(all.values.begin() + static_cast<std::ptrdiff_t>(first * all.cols),
                         all.values.begin() + static_cast<std::ptrdiff_t>((first + n) * all.cols));
  for (std::size_t r = first; r < first + n; ++r) e.ids.push_back("tile-" + std::to_string(r));
  return e;
}

// `all` cut into shards of the given sizes, written as dir/<name>-<i>.npy + .ids (shard i in
// `dtypes[i]`, float32 when not given).
std::vector<std::string> write_shards(const std::string& dir, const std::string& name, const FloatMatrix& all,
                                      const std::vector<std::size_t>& sizes,
                                      const std::vector<NpyDtype>& dtypes = {}) {
  std::vector<std::string> paths;
  std::size_t first = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const auto path = dir + "/" + name + "-" + std::to_string(i) + ".npy";
    write_embeddings(path, slice(all, first, sizes[i]), i < dtypes.size() ? dtypes[i] : NpyDtype::float32);
    paths.push_back(path);
    first += sizes[i];
  }
  return paths;
}

SearchResult search(const std::string& index_path, const std::string& params, const FloatMatrix& q,
                    std::size_t k) {
  IndexConfig cfg;
  cfg.search_params = params;
  return VectorIndex::load(index_path, cfg).search(q, k);
}

// Row indices of the k largest inner products of q with every row of g (double precision).
std::vector<std::int64_t> exact_top(const FloatMatrix& g, std::span<const float> q, std::size_t k) {
  std::vector<std::pair<double, std::int64_t>> all;
  for (std::size_t j = 0; j < g.rows; ++j) {
    double s = 0;
    for (std::size_t d = 0; d < g.cols; ++d) s += static_cast<double>(q[d]) * g.row(j)[d];
    all.push_back({s, static_cast<std::int64_t>(j)});
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::int64_t> top;
  for (std::size_t i = 0; i < k; ++i) top.push_back(all[i].second);
  return top;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void expect_error(const std::function<void()>& f, ErrorKind kind, const std::vector<std::string>& mentions) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning " << mentions.front();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const auto& m : mentions) EXPECT_NE(std::string(e.what()).find(m), std::string::npos) << e.what();
  }
}

TEST(IndexBuild, ShardsGiveTheIndexThatTheConcatenatedVectorsGiveWithTheSameSeed) {
  const auto dir = test::fresh_work_dir("index_build_shards");
  const auto all = random_rows(900, 32, 1);
  // Shard sizes are multiples of chunk_rows, so both builds add the same batches.
  const auto shards = write_shards(dir, "part", all, {300, 200, 400});
  const auto whole = write_shards(dir, "whole", all, {900});
  IndexBuildConfig cfg;
  cfg.factory = "IVF16,PQ8";
  cfg.train_size = 600;  // a sample, not every row
  cfg.seed = 7;
  cfg.chunk_rows = 100;
  cfg.shards = shards;
  cfg.out = dir + "/sharded.faiss";
  std::size_t last_added = 0, last_total = 0;
  const auto r = build_index(cfg, {[&](const IndexBuildProgress& p) {
                                     if (std::string(p.phase) != "add") return;
                                     last_added = p.n_done;
                                     last_total = p.n_total;
                                   },
                                   nullptr});
  cfg.shards = whole;
  cfg.out = dir + "/whole.faiss";
  build_index(cfg);

  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.n_vectors, 900u);
  EXPECT_EQ(r.dim, 32u);
  EXPECT_EQ(r.n_train, 600u);
  EXPECT_EQ(last_added, 900u);
  EXPECT_EQ(last_total, 900u);
  EXPECT_EQ(r.ids_path, dir + "/sharded.faiss.ids");
  EXPECT_EQ(read_ids(r.ids_path), ids_for(900, "tile-"));  // the shards' ids in shard order
  EXPECT_EQ(r.meta.at("n_vectors"), 900);
  EXPECT_EQ(r.meta.at("shards").size(), 3u);
  EXPECT_EQ(r.meta.at("shards")[1].at("rows"), 200);
  EXPECT_TRUE(fs::exists(dir + "/sharded.faiss.meta.json"));

  const auto index = VectorIndex::load(dir + "/sharded.faiss", {});
  EXPECT_EQ(index.size(), 900u);
  EXPECT_EQ(index.dim(), 32u);
  EXPECT_FALSE(index.exact());
  const auto q = random_rows(25, 32, 2);
  const auto a = search(dir + "/sharded.faiss", "nprobe=4", q, 10);
  const auto b = search(dir + "/whole.faiss", "nprobe=4", q, 10);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.scores, b.scores);
}

TEST(IndexBuild, AnIvfFlatIndexSearchedOverAllItsListsFindsTheExactTopK) {
  const auto dir = test::fresh_work_dir("index_build_exact");
  // Rows of all lengths, normalised by the build; the middle shard stored as float16.
  const auto raw = random_rows(600, 24, 3, false);
  const auto shards =
      write_shards(dir, "g", raw, {250, 150, 200}, {NpyDtype::float32, NpyDtype::float16, NpyDtype::float32});
  IndexBuildConfig cfg;
  cfg.shards = shards;
  cfg.out = dir + "/g.faiss";
  cfg.factory = "IVF8,Flat";
  cfg.chunk_rows = 64;
  cfg.normalize = true;
  build_index(cfg);

  // What the build should have indexed: the values as stored (float16 rounded), unit length.
  FloatMatrix expected{0, 24, {}};
  for (const auto& path : shards) {
    const auto part = read_npy(path);
    expected.values.insert(expected.values.end(), part.values.begin(), part.values.end());
    expected.rows += part.rows;
  }
  l2_normalize(expected);
  const auto q = random_rows(12, 24, 4);
  const auto r = search(cfg.out, "nprobe=8", q, 5);
  for (std::size_t i = 0; i < q.rows; ++i) {
    const auto top = exact_top(expected, q.row(i), 5);
    for (std::size_t k = 0; k < 5; ++k)
      EXPECT_EQ(r.labels[i * 5 + k], top[k]) << "query " << i << " rank " << k;
  }
}

TEST(IndexBuild, OnDiskInvertedListsSearchLikeInMemoryOnesAndMoveWithTheirIndex) {
  const auto dir = test::fresh_work_dir("index_build_on_disk");
  fs::create_directories(dir + "/in");
  // 20,000 IVF-Flat entries (24 x 4 bytes of code + an 8-byte id) are 1.98 MiB: with
  // spill_mib = 1 the on-disk build spills the first 11 chunks (10,082 entries fit in 1 MiB)
  // to a block file before its final merge.
  const auto all = random_rows(20000, 24, 5);
  const auto shards = write_shards(dir + "/in", "g", all, {12000, 8000});
  IndexBuildConfig cfg;
  cfg.shards = shards;
  cfg.factory = "IVF16,Flat";
  cfg.chunk_rows = 1000;
  cfg.out = dir + "/memory.faiss";
  build_index(cfg);
  cfg.on_disk = true;
  cfg.spill_mib = 1;
  cfg.out = dir + "/disk/city.faiss";
  const auto r = build_index(cfg);

  EXPECT_EQ(r.data_path, dir + "/disk/city.faiss.ivfdata");
  EXPECT_EQ(files_in(dir + "/disk"),
            (std::vector<std::string>{"city.faiss", "city.faiss.ids", "city.faiss.ivfdata",
                                      "city.faiss.meta.json"}));
  EXPECT_EQ(r.meta.at("on_disk"), true);
  EXPECT_EQ(r.meta.at("ivf").at("nlist"), 16);
  EXPECT_EQ(r.meta.at("ivfdata_spills"), 1);
  // The lists hold 20,000 entries of 96 + 8 bytes, packed.
  EXPECT_EQ(fs::file_size(r.data_path), 20000u * (24 * 4 + 8));

  const auto q = random_rows(30, 24, 6);
  const auto in_memory = search(dir + "/memory.faiss", "nprobe=3", q, 10);
  const auto on_disk = search(cfg.out, "nprobe=3", q, 10);
  EXPECT_EQ(on_disk.labels, in_memory.labels);
  EXPECT_EQ(on_disk.scores, in_memory.scores);

  // The index names its data file; it is looked up beside the index wherever the pair goes.
  fs::rename(dir + "/disk", dir + "/moved");
  const auto moved = search(dir + "/moved/city.faiss", "nprobe=3", q, 10);
  EXPECT_EQ(moved.labels, in_memory.labels);
  fs::remove(dir + "/moved/city.faiss.ivfdata");
  expect_error([&] { (void)VectorIndex::load(dir + "/moved/city.faiss", {}); }, ErrorKind::backend,
               {"city.faiss.ivfdata"});
}

TEST(IndexBuild, ShardsOfDifferentDimensionsAreRefusedNamingBoth) {
  const auto dir = test::fresh_work_dir("index_build_dims");
  write_embeddings(dir + "/a.npy", slice(random_rows(40, 8, 7), 0, 40));
  write_embeddings(dir + "/b.npy", slice(random_rows(40, 16, 8), 0, 40));
  IndexBuildConfig cfg;
  cfg.shards = {dir + "/a.npy", dir + "/b.npy"};
  cfg.out = dir + "/x.faiss";
  cfg.factory = "Flat";
  expect_error([&] { build_index(cfg); }, ErrorKind::invalid_argument,
               {dir + "/a.npy", dir + "/b.npy", "dimension 16"});
  EXPECT_EQ(files_in(dir),
            (std::vector<std::string>{"a.ids", "a.npy", "b.ids", "b.npy"}));  // nothing written
}

TEST(IndexBuild, AShardWithoutItsIdsFileIsNotFoundNamingTheIdsFile) {
  const auto dir = test::fresh_work_dir("index_build_no_ids");
  write_embeddings(dir + "/a.npy", slice(random_rows(40, 8, 9), 0, 40));
  write_npy(dir + "/b.npy", random_rows(40, 8, 10));
  IndexBuildConfig cfg;
  cfg.shards = {dir + "/a.npy", dir + "/b.npy"};
  cfg.out = dir + "/x.faiss";
  cfg.factory = "Flat";
  expect_error([&] { build_index(cfg); }, ErrorKind::not_found, {dir + "/b.ids"});
}

TEST(IndexBuild, IdsThatDisagreeWithTheirShardOrRepeatAcrossShardsAreRefused) {
  const auto dir = test::fresh_work_dir("index_build_ids");
  const auto m = random_rows(40, 8, 11);
  write_embeddings(dir + "/a.npy", slice(m, 0, 40));
  write_embeddings(dir + "/b.npy", slice(m, 0, 40));  // the same ids again
  IndexBuildConfig cfg;
  cfg.shards = {dir + "/a.npy", dir + "/b.npy"};
  cfg.out = dir + "/x.faiss";
  cfg.factory = "Flat";
  expect_error([&] { build_index(cfg); }, ErrorKind::invalid_argument,
               {"'tile-0'", dir + "/a.ids", dir + "/b.ids"});
  write_ids(dir + "/b.ids", ids_for(39, "other-"));
  expect_error([&] { build_index(cfg); }, ErrorKind::invalid_argument, {dir + "/b.npy", "40 rows", "39 ids"});
}

TEST(IndexBuild, FactoriesThatCannotBeBuiltAreRefusedNamingTheFactory) {
  const auto dir = test::fresh_work_dir("index_build_factory");
  write_embeddings(dir + "/a.npy", slice(random_rows(50, 8, 12), 0, 50));
  IndexBuildConfig cfg;
  cfg.shards = {dir + "/a.npy"};
  cfg.out = dir + "/x.faiss";
  cfg.factory = "IVF16,NoSuchCode";
  expect_error([&] { build_index(cfg); }, ErrorKind::invalid_argument, {"factory 'IVF16,NoSuchCode'"});
  cfg.factory = "IVF64,Flat";  // 50 rows for 64 lists
  expect_error([&] { build_index(cfg); }, ErrorKind::invalid_argument,
               {"'IVF64,Flat'", "at least 64 training rows", "only 50 rows"});
  cfg.factory = "IVF4,Flat";
  cfg.train_size = 3;
  expect_error([&] { build_index(cfg); }, ErrorKind::invalid_argument, {"train_size is 3"});
  cfg.factory = "HNSW8";
  cfg.on_disk = true;
  expect_error([&] { build_index(cfg); }, ErrorKind::invalid_argument, {"on_disk", "'HNSW8'"});
  EXPECT_FALSE(fs::exists(cfg.out));
}

TEST(IndexBuild, ARowWithoutADirectionIsRefusedNamingItsShardAndRow) {
  const auto dir = test::fresh_work_dir("index_build_nan");
  auto e = slice(random_rows(30, 8, 13), 0, 30);
  e.matrix.row(3)[5] = NAN;
  write_embeddings(dir + "/a.npy", e);
  IndexBuildConfig cfg;
  cfg.shards = {dir + "/a.npy"};
  cfg.out = dir + "/x.faiss";
  cfg.factory = "Flat";
  expect_error([&] { build_index(cfg); }, ErrorKind::invalid_argument, {dir + "/a.npy", "row 3", "NaN"});
  e.matrix.row(3)[5] = 0.5f;
  std::fill(e.matrix.row(7).begin(), e.matrix.row(7).end(), 0.0f);
  write_embeddings(dir + "/a.npy", e);
  expect_error([&] { build_index(cfg); }, ErrorKind::invalid_argument, {"row 7", "zero vector"});
}

TEST(IndexBuild, AStoppedBuildWritesNothing) {
  const auto dir = test::fresh_work_dir("index_build_stop");
  const auto shards = write_shards(dir, "g", random_rows(200, 8, 14), {200});
  IndexBuildConfig cfg;
  cfg.shards = shards;
  cfg.out = dir + "/x.faiss";
  cfg.factory = "IVF4,Flat";
  cfg.on_disk = true;
  const std::atomic<bool> stop{true};
  const auto r = build_index(cfg, {nullptr, &stop});
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(files_in(dir), (std::vector<std::string>{"g-0.ids", "g-0.npy"}));
}

// Belongs with the npy tests; kept here beside its one user until it has more.
TEST(NpyRowReader, ReadsRowRangesOfFloat32AndFloat16FilesAndRefusesRangesPastTheEnd) {
  const auto dir = test::fresh_work_dir("npy_row_reader");
  FloatMatrix m{5, 3, {}};
  for (int i = 0; i < 15; ++i) m.values.push_back(static_cast<float>(i) * 0.25f);  // exact in float16
  for (const auto dtype : {NpyDtype::float32, NpyDtype::float16}) {
    const auto path = dir + (dtype == NpyDtype::float32 ? "/f32.npy" : "/f16.npy");
    write_npy(path, m, dtype);
    NpyRowReader reader(path);
    EXPECT_EQ(reader.rows(), 5u);
    EXPECT_EQ(reader.cols(), 3u);
    const auto rows = reader.read_rows(1, 3);
    EXPECT_EQ(rows.rows, 3u);
    EXPECT_EQ(rows.values, std::vector<float>(m.values.begin() + 3, m.values.begin() + 12));
    EXPECT_EQ(reader.read_rows(4, 1).values, std::vector<float>({3.0f, 3.25f, 3.5f}));
    EXPECT_EQ(reader.read_rows(5, 0).values.size(), 0u);
    expect_error([&] { (void)reader.read_rows(3, 3); }, ErrorKind::invalid_argument,
                 {path, "the file has 5"});
    std::vector<float> small(2);
    expect_error([&] { reader.read_rows(0, 1, small); }, ErrorKind::invalid_argument, {path});
  }
}

}  // namespace
}  // namespace georank
