#include <faiss/AutoTune.h>
#include <faiss/IndexFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/utils/distances.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/retrieval/index.hpp"
#include "retrieval/faiss_support.hpp"

namespace georank {

struct VectorIndex::Impl {
  std::unique_ptr<faiss::Index> index;
  IndexConfig config;
  bool exact = false;
};

namespace {

using idx_t = faiss::Index::idx_t;

using ThreadScope = OmpThreadScope;

void apply_search_params(faiss::Index* index, const std::string& params) {
  if (params.empty()) return;
  try {
    faiss::ParameterSpace().set_index_parameters(index, params.c_str());
  } catch (const faiss::FaissException& e) {
    throw Error(ErrorKind::invalid_argument, "search parameters '" + params + "': " + e.what());
  }
}

// FAISS reads rows * cols floats from values.data() and takes the dimension as an int and the
// count as an idx_t: a matrix whose shape disagrees with its storage is rejected first.
void check_shape(const FloatMatrix& m, const char* what) {
  std::size_t n_values = 0;
  if (__builtin_mul_overflow(m.rows, m.cols, &n_values))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("{}: shape {} x {} overflows", what, m.rows, m.cols));
  if (m.values.size() != n_values)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("{}: {} values for a {} x {} matrix (rows * cols = {})", what, m.values.size(),
                            m.rows, m.cols, n_values));
  if (m.cols > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      m.rows > static_cast<std::size_t>(std::numeric_limits<idx_t>::max()))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("{}: shape {} x {} is too large for FAISS", what, m.rows, m.cols));
}

}  // namespace

VectorIndex::VectorIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VectorIndex::VectorIndex(VectorIndex&&) noexcept = default;
VectorIndex& VectorIndex::operator=(VectorIndex&&) noexcept = default;
VectorIndex::~VectorIndex() = default;

VectorIndex VectorIndex::build(const FloatMatrix& vectors, const IndexConfig& config) {
  if (vectors.cols == 0) throw Error(ErrorKind::invalid_argument, "cannot index vectors of dimension 0");
  check_shape(vectors, "gallery vectors");
  const ThreadScope threads(config.n_threads);
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  const auto d = static_cast<int>(vectors.cols);
  const auto n = static_cast<idx_t>(vectors.rows);
  try {
    if (config.factory == "Flat") {
      impl->index = std::make_unique<faiss::IndexFlatIP>(d);
    } else {
      impl->index.reset(faiss::index_factory(d, config.factory.c_str(), faiss::METRIC_INNER_PRODUCT));
      skip_polysemous_training(impl->index.get());
    }
    if (!impl->index->is_trained) impl->index->train(n, vectors.values.data());
    impl->index->add(n, vectors.values.data());
  } catch (const faiss::FaissException& e) {
    throw Error(ErrorKind::invalid_argument, "FAISS index '" + config.factory + "' over " +
                                                 std::to_string(n) + " x " + std::to_string(d) +
                                                 " vectors: " + e.what());
  }
  impl->exact = dynamic_cast<faiss::IndexFlat*>(impl->index.get()) != nullptr;
  apply_search_params(impl->index.get(), config.search_params);
  return VectorIndex(std::move(impl));
}

VectorIndex VectorIndex::load(const std::string& path, const IndexConfig& config) {
  if (!std::filesystem::exists(path)) throw Error(ErrorKind::not_found, path + ": no such index file");
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  try {
    // An index from build_index with on_disk keeps its inverted lists in a file it names
    // (<path>.ivfdata): ONDISK_SAME_DIR looks for that name in the index's own folder, so the pair
    // can be moved together, and READ_ONLY maps it read-only (searches never write). Both flags
    // concern only on-disk lists. (IO_FLAG_MMAP, which maps lists stored inside the index file,
    // cannot be combined: it skips mapping on-disk lists.)
    const QuietFaissStdout quiet;
    impl->index.reset(
        faiss::read_index(path.c_str(), faiss::IO_FLAG_ONDISK_SAME_DIR | faiss::IO_FLAG_READ_ONLY));
  } catch (const faiss::FaissException& e) {
    throw Error(ErrorKind::backend, path + ": cannot read FAISS index: " + e.what());
  }
  if (impl->index->metric_type != faiss::METRIC_INNER_PRODUCT)
    throw Error(ErrorKind::invalid_argument, path + ": index does not use the inner-product metric");
  impl->exact = dynamic_cast<faiss::IndexFlat*>(impl->index.get()) != nullptr;
  apply_search_params(impl->index.get(), config.search_params);
  return VectorIndex(std::move(impl));
}

void VectorIndex::save(const std::string& path) const {
  AtomicPath out(path);
  try {
    faiss::write_index(impl_->index.get(), out.tmp().c_str());
  } catch (const faiss::FaissException& e) {
    throw Error(ErrorKind::io, path + ": cannot write FAISS index: " + e.what());
  }
  out.commit();
}

SearchResult VectorIndex::search(const FloatMatrix& queries, std::size_t k) const {
  if (queries.cols != dim())
    throw Error(ErrorKind::invalid_argument, "query dimension " + std::to_string(queries.cols) +
                                                 " differs from the gallery's " + std::to_string(dim()));
  if (k == 0) throw Error(ErrorKind::invalid_argument, "k must be >= 1");
  check_shape(queries, "query vectors");
  std::size_t n_results = 0;
  if (__builtin_mul_overflow(queries.rows, k, &n_results) ||
      k > static_cast<std::size_t>(std::numeric_limits<idx_t>::max()))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("k = {} is too large for {} queries", k, queries.rows));
  const ThreadScope threads(impl_->config.n_threads);
  SearchResult r;
  r.n_queries = queries.rows;
  r.k = k;
  r.scores.assign(n_results, -INFINITY);
  r.labels.assign(n_results, -1);
  if (queries.rows == 0) return r;
  const int saved_block = faiss::distance_compute_blas_database_bs;
  faiss::distance_compute_blas_database_bs =
      static_cast<int>(std::max<std::size_t>(impl_->config.blas_block_rows, 1));
  struct RestoreBlock {
    int value;
    ~RestoreBlock() { faiss::distance_compute_blas_database_bs = value; }
  } restore{saved_block};
  try {
    impl_->index->search(static_cast<idx_t>(queries.rows), queries.values.data(), static_cast<idx_t>(k),
                         r.scores.data(), r.labels.data());
  } catch (const faiss::FaissException& e) {
    throw Error(ErrorKind::backend, std::string("FAISS search failed: ") + e.what());
  }
  return r;
}

std::size_t VectorIndex::size() const {
  return static_cast<std::size_t>(impl_->index->ntotal);
}
std::size_t VectorIndex::dim() const {
  return static_cast<std::size_t>(impl_->index->d);
}
bool VectorIndex::exact() const {
  return impl_->exact;
}

void l2_normalize(FloatMatrix& m) {
  check_shape(m, "vectors to normalise");
  for (std::size_t r = 0; r < m.rows; ++r) {
    auto row = m.row(r);
    double s = 0;
    for (float v : row) s += static_cast<double>(v) * v;
    if (s <= 0) continue;
    const auto inv = static_cast<float>(1.0 / std::sqrt(s));
    for (float& v : row) v *= inv;
  }
}

}  // namespace georank
