#include "georank/retrieval/index_build.hpp"

#include <faiss/IVFlib.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/invlists/InvertedLists.h>
#include <faiss/invlists/OnDiskInvertedLists.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "core/random.hpp"
#include "georank/core/atomic_file.hpp"
#include "georank/core/config.hpp"
#include "georank/core/error.hpp"
#include "georank/core/recorded_time.hpp"
#include "georank/core/sha256.hpp"
#include "georank/retrieval/index.hpp"
#include "georank/retrieval/npy.hpp"
#include "retrieval/faiss_support.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using idx_t = faiss::Index::idx_t;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

[[noreturn]] void bad(const std::string& what) {
  throw Error(ErrorKind::invalid_argument, what);
}

// Selection sampling (Knuth's algorithm S): `n_pick` of the rows 0..n_total-1, ascending, every
// subset equally likely, in one pass and no memory beyond the result. The pick depends on the
// global row numbers only, so splitting the same rows into other shards picks the same rows.
std::vector<std::size_t> sample_rows(std::size_t n_total, std::size_t n_pick, std::uint64_t seed) {
  std::vector<std::size_t> rows;
  rows.reserve(std::min(n_pick, n_total));
  if (n_pick >= n_total) {
    for (std::size_t i = 0; i < n_total; ++i) rows.push_back(i);
    return rows;
  }
  Rng rng(seed);  // SplitMix64: the same sample on every platform
  std::size_t needed = n_pick;
  for (std::size_t i = 0; i < n_total && needed > 0; ++i) {
    // When needed == left this always picks: exactly n_pick rows come out.
    if (rng.uniform() * static_cast<double>(n_total - i) < static_cast<double>(needed)) {
      rows.push_back(i);
      --needed;
    }
  }
  return rows;
}

struct Shard {
  std::string path;
  std::string ids_path;
  NpyHeader header;
  std::size_t first_row = 0;  // global row of the shard's row 0
  std::uintmax_t bytes = 0;
  std::int64_t mtime_ns = 0;
  std::string ids_sha256;
};

std::vector<Shard> inspect_shards(const IndexBuildConfig& cfg, std::size_t& n_total) {
  std::vector<Shard> shards;
  n_total = 0;
  for (const auto& path : cfg.shards) {
    Shard s;
    s.path = path;
    s.header = read_npy_header(path);
    if (!shards.empty() && s.header.cols != shards.front().header.cols)
      bad(fmt::format("{} has dimension {} but {} has {}: every shard needs the same dimension", path,
                      s.header.cols, shards.front().path, shards.front().header.cols));
    s.ids_path = ids_path_for(path);
    if (!fs::exists(s.ids_path))
      throw Error(ErrorKind::not_found,
                  fmt::format("{}: no such ids file (every shard needs its ids beside it: "
                              "{} -> {})",
                              s.ids_path, path, s.ids_path));
    s.first_row = n_total;
    if (__builtin_add_overflow(n_total, s.header.rows, &n_total))
      bad("index build: the shards hold more rows than can be counted");
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      s.bytes = static_cast<std::uintmax_t>(st.st_size);
      s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    }
    shards.push_back(std::move(s));
  }
  return shards;
}

// Copies every shard's ids, in order, to `out`; records each shard's ids digest in `shards` and
// returns the digest of all of them. An id may name one row only: an id in two shards is refused
// (found through 64-bit hashes, so a gallery of millions costs 8 bytes per row, not a set of
// strings; equal hashes are confirmed on the strings).
std::string copy_ids(std::vector<Shard>& shards, std::size_t n_total, std::ostream& out) {
  std::vector<std::uint64_t> hashes;
  hashes.reserve(n_total);
  const std::hash<std::string> hash;
  Sha256 all;
  for (auto& s : shards) {
    const auto ids = read_ids(s.ids_path);
    if (ids.size() != s.header.rows)
      bad(fmt::format("{} has {} rows but {} has {} ids", s.path, s.header.rows, s.ids_path, ids.size()));
    Sha256 digest;
    for (const auto& id : ids) {
      out.write(id.data(), static_cast<std::streamsize>(id.size()));
      out.put('\n');
      for (Sha256* d : {&digest, &all}) {
        d->update(id.data(), id.size());
        d->update("\n", 1);
      }
      hashes.push_back(hash(id));
    }
    s.ids_sha256 = digest.hex();
  }
  std::sort(hashes.begin(), hashes.end());
  std::unordered_set<std::uint64_t> repeated;
  for (std::size_t i = 1; i < hashes.size(); ++i)
    if (hashes[i] == hashes[i - 1]) repeated.insert(hashes[i]);
  if (!repeated.empty() && shards.size() > 1) {  // read_ids already refuses a repeat within a file
    std::unordered_map<std::string, const Shard*> seen;
    for (const auto& s : shards)
      for (const auto& id : read_ids(s.ids_path)) {
        if (!repeated.contains(hash(id))) continue;
        const auto [it, fresh] = seen.emplace(id, &s);
        if (!fresh)
          bad(fmt::format("id '{}' is in both {} and {}: an id names one row", id, it->second->ids_path,
                          s.ids_path));
      }
  }
  return all.hex();
}

// A NaN, an infinity or a zero vector has no direction: FAISS would index it silently and
// return it (or drop NaN scores) at random. Refused as retrieve refuses it, naming the row.
void check_rows(std::span<const float> values, std::size_t d, const Shard& s, std::size_t first_local) {
  for (std::size_t r = 0; r * d < values.size(); ++r) {
    double norm2 = 0;
    for (std::size_t c = 0; c < d; ++c) {
      const float v = values[r * d + c];
      if (!std::isfinite(v))
        bad(fmt::format("{}: row {} holds a {} value", s.path, first_local + r,
                        std::isnan(v) ? "NaN" : "infinite"));
      norm2 += static_cast<double>(v) * v;
    }
    if (norm2 == 0) bad(fmt::format("{}: row {} is a zero vector", s.path, first_local + r));
  }
}

NpyRowReader open_shard(const Shard& s) {
  NpyRowReader reader(s.path);
  const NpyHeader& h = reader.header();
  if (h.rows != s.header.rows || h.cols != s.header.cols || h.dtype != s.header.dtype)
    throw Error(ErrorKind::io, s.path + ": the file changed during the index build");
  return reader;
}

void require_space(const std::string& path, std::uintmax_t bytes) {
  std::error_code ec;
  const auto info = fs::space(fs::absolute(path).parent_path(), ec);
  // A memory-mapped file that cannot get its blocks kills the process (SIGBUS): refuse first.
  if (!ec && info.available < bytes)
    throw Error(ErrorKind::io, fmt::format("{}: needs {} MiB but its file system has {} MiB free", path,
                                           bytes >> 20, info.available >> 20));
}

bool stopped(const IndexBuildHooks& hooks) {
  return hooks.stop != nullptr && hooks.stop->load();
}

void report(const IndexBuildHooks& hooks, const char* phase, std::size_t done, std::size_t total) {
  if (hooks.on_progress) hooks.on_progress(IndexBuildProgress{phase, done, total});
}

// The training sample: rows `rows` (global, ascending) read run by run straight into the
// matrix. Returns false when stopped.
bool read_sample(const std::vector<Shard>& shards, const std::vector<std::size_t>& rows, std::size_t d,
                 std::size_t chunk_rows, const IndexBuildHooks& hooks, FloatMatrix& sample) {
  sample.rows = rows.size();
  sample.cols = d;
  sample.values.resize(rows.size() * d);
  std::size_t at = 0;  // next entry of `rows`
  std::size_t reported = 0;
  for (const auto& s : shards) {
    const std::size_t end = s.first_row + s.header.rows;
    if (at == rows.size() || rows[at] >= end) continue;
    NpyRowReader reader = open_shard(s);
    while (at < rows.size() && rows[at] < end) {
      if (stopped(hooks)) return false;
      std::size_t run = 1;  // consecutive rows are read at once
      while (at + run < rows.size() && rows[at + run] == rows[at] + run && rows[at + run] < end &&
             run < chunk_rows)
        ++run;
      const std::span<float> dst(sample.values.data() + at * d, run * d);
      reader.read_rows(rows[at] - s.first_row, run, dst);
      check_rows(dst, d, s, rows[at] - s.first_row);
      at += run;
      if (at - reported >= chunk_rows || at == rows.size()) {
        report(hooks, "sample", at, rows.size());
        reported = at;
      }
    }
  }
  return true;
}

// The on-disk inverted lists being assembled. Codes go to the index's in-memory lists; past the
// spill budget those move to a temporary block file (an OnDiskInvertedLists of their own) and
// the index gets fresh lists. At the end the blocks and the in-memory rest are merged, list by
// list in row order, into the data file, which the index then uses: FAISS's merge_ondisk recipe,
// without writing a whole index (quantizer included) per block. The merged lists hold the same
// entries in the same order as an in-memory build, so searches return the same results.
class OnDiskAssembly {
 public:
  OnDiskAssembly(faiss::IndexIVF* ivf, const std::string& data_path, std::size_t spill_mib)
      : ivf_(ivf), data_(data_path), entry_bytes_(ivf->code_size + sizeof(idx_t)) {
    std::size_t budget = 0;
    if (__builtin_mul_overflow(spill_mib, std::size_t{1} << 20, &budget))
      budget = std::numeric_limits<std::size_t>::max();
    spill_rows_ = std::max<std::size_t>(1, budget / entry_bytes_);
  }

  // After each addition: spills the in-memory lists once they hold spill_mib of codes.
  void after_add() {
    if (static_cast<std::size_t>(ivf_->ntotal) - rows_spilled_ >= spill_rows_) spill();
  }

  // Merges everything into the data file (at its temporary name) and gives it to the index.
  void finish() {
    const QuietFaissStdout quiet;
    std::vector<const faiss::InvertedLists*> parts;
    for (const auto& b : blocks_) parts.push_back(b.get());
    parts.push_back(ivf_->invlists);
    require_space(data_.tmp(), static_cast<std::uintmax_t>(ivf_->ntotal) * entry_bytes_);
    auto lists =
        std::make_unique<faiss::OnDiskInvertedLists>(ivf_->nlist, ivf_->code_size, data_.tmp().c_str());
    try {
      lists->merge_from(parts.data(), static_cast<int>(parts.size()));
    } catch (const faiss::FaissException& e) {
      throw Error(ErrorKind::io, data_.path() + ": cannot write the inverted lists: " + e.what());
    }
    // The index records the data file's name, and read_index with IO_FLAG_ONDISK_SAME_DIR (as
    // VectorIndex::load reads) uses only its last component: record the final name, not the
    // temporary one. Nothing maps the file by name again before the rename.
    lists->filename = fs::absolute(data_.path()).string();
    ivf_->replace_invlists(lists.release(), true);  // FAISS takes ownership
    blocks_.clear();
    block_paths_.clear();
  }

  AtomicPath& data() { return data_; }
  [[nodiscard]] std::size_t n_spills() const { return n_spills_; }

 private:
  void spill() {
    const QuietFaissStdout quiet;
    const std::size_t n_rows = static_cast<std::size_t>(ivf_->ntotal) - rows_spilled_;
    auto path = std::make_unique<AtomicPath>(fmt::format("{}.block{}", data_.path(), blocks_.size()));
    require_space(path->tmp(), static_cast<std::uintmax_t>(n_rows) * entry_bytes_);
    auto block =
        std::make_unique<faiss::OnDiskInvertedLists>(ivf_->nlist, ivf_->code_size, path->tmp().c_str());
    const faiss::InvertedLists* in_memory = ivf_->invlists;
    try {
      block->merge_from(&in_memory, 1);
    } catch (const faiss::FaissException& e) {
      throw Error(ErrorKind::io, path->tmp() + ": cannot write a block of inverted lists: " + e.what());
    }
    // Fresh lists rather than reset(): resizing the old ones to 0 would keep their capacity.
    // The ids keep counting from ntotal, which the lists do not hold.
    ivf_->replace_invlists(new faiss::ArrayInvertedLists(ivf_->nlist, ivf_->code_size), true);
    block_paths_.push_back(std::move(path));
    blocks_.push_back(std::move(block));
    rows_spilled_ += n_rows;
    ++n_spills_;
  }

  faiss::IndexIVF* ivf_;
  AtomicPath data_;
  std::size_t entry_bytes_;
  std::size_t spill_rows_ = 0;
  std::size_t rows_spilled_ = 0;
  std::size_t n_spills_ = 0;
  // Declared before blocks_: the blocks are unmapped first, then their files removed.
  std::vector<std::unique_ptr<AtomicPath>> block_paths_;
  std::vector<std::unique_ptr<faiss::OnDiskInvertedLists>> blocks_;
};

std::unique_ptr<faiss::Index> make_index(std::size_t d, const std::string& factory) {
  if (factory.empty()) bad("index build: factory is empty");
  try {
    std::unique_ptr<faiss::Index> index(
        faiss::index_factory(static_cast<int>(d), factory.c_str(), faiss::METRIC_INNER_PRODUCT));
    skip_polysemous_training(index.get());
    return index;
  } catch (const faiss::FaissException& e) {
    bad(fmt::format("index build: factory '{}' (dimension {}): {}", factory, d, e.what()));
  }
}

void check_config(const IndexBuildConfig& cfg) {
  if (cfg.shards.empty()) bad("index build: no shards given");
  if (cfg.out.empty()) bad("index build: out (the index file) is empty");
  if (cfg.chunk_rows == 0) bad("index build: chunk_rows must be >= 1");
  if (cfg.train_size == 0) bad("index build: train_size must be >= 1");
  if (cfg.on_disk && cfg.spill_mib == 0) bad("index build: spill_mib must be >= 1");
}

std::uintmax_t file_bytes(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

}  // namespace

std::string index_ids_path(const std::string& index_path) {
  return index_path + ".ids";
}
std::string index_meta_path(const std::string& index_path) {
  return index_path + ".meta.json";
}
std::string index_data_path(const std::string& index_path) {
  return index_path + ".ivfdata";
}

IndexBuildResult build_index(const IndexBuildConfig& cfg, const IndexBuildHooks& hooks) {
  const auto t_start = Clock::now();
  check_config(cfg);
  const OmpThreadScope threads(cfg.n_threads);
  const SingleThreadedBlas blas;
  IndexBuildResult result;
  result.index_path = cfg.out;
  result.ids_path = index_ids_path(cfg.out);
  result.meta_path = index_meta_path(cfg.out);
  if (cfg.on_disk) result.data_path = index_data_path(cfg.out);

  std::size_t n_total = 0;
  std::vector<Shard> shards = inspect_shards(cfg, n_total);
  const std::size_t d = shards.front().header.cols;
  if (n_total == 0) bad("index build: the shards hold no rows");
  if (d == 0) bad(fmt::format("index build: {} has dimension 0", shards.front().path));
  if (d > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      n_total > static_cast<std::size_t>(std::numeric_limits<idx_t>::max()))
    bad(fmt::format("index build: {} rows of dimension {} are too many for FAISS", n_total, d));

  AtomicFile ids_file(result.ids_path, true);
  const std::string ids_sha256 = copy_ids(shards, n_total, ids_file.stream());

  std::unique_ptr<faiss::Index> index = make_index(d, cfg.factory);
  faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(index.get());
  if (cfg.on_disk && ivf == nullptr)
    bad(fmt::format("index build: on_disk needs an IVF factory (such as 'IVF4096,PQ64'), not '{}'",
                    cfg.factory));

  // Training on a sample.
  const auto t_train = Clock::now();
  if (!index->is_trained) {
    const std::size_t n_train = std::min(cfg.train_size, n_total);
    if (ivf != nullptr && n_train < ivf->nlist)
      bad(
          fmt::format("index build: factory '{}' needs at least {} training rows (one per inverted list), "
                      "but {}",
                      cfg.factory, ivf->nlist,
                      n_train < cfg.train_size ? fmt::format("the shards hold only {} rows", n_total)
                                               : fmt::format("train_size is {}", cfg.train_size)));
    FloatMatrix sample;
    if (!read_sample(shards, sample_rows(n_total, n_train, cfg.seed), d, cfg.chunk_rows, hooks, sample)) {
      result.complete = false;
      return result;
    }
    if (cfg.normalize) l2_normalize(sample);
    try {
      index->train(static_cast<idx_t>(sample.rows), sample.values.data());
    } catch (const faiss::FaissException& e) {
      bad(
          fmt::format("index build: training factory '{}' on {} rows of dimension {} failed "
                      "(too few training rows? see train_size): {}",
                      cfg.factory, sample.rows, d, e.what()));
    }
    result.n_train = sample.rows;
  }
  result.train_seconds = seconds_since(t_train);

  // Adding, chunk by chunk.
  const auto t_add = Clock::now();
  std::unique_ptr<OnDiskAssembly> disk;
  if (cfg.on_disk) disk = std::make_unique<OnDiskAssembly>(ivf, result.data_path, cfg.spill_mib);
  FloatMatrix chunk;
  chunk.cols = d;
  std::size_t n_added = 0;
  for (const auto& s : shards) {
    if (s.header.rows == 0) continue;
    NpyRowReader reader = open_shard(s);
    for (std::size_t local = 0; local < s.header.rows; local += cfg.chunk_rows) {
      if (stopped(hooks)) {
        result.complete = false;
        return result;
      }
      const std::size_t n = std::min(cfg.chunk_rows, s.header.rows - local);
      chunk.rows = n;
      chunk.values.resize(n * d);
      reader.read_rows(local, n, chunk.values);
      check_rows(chunk.values, d, s, local);
      if (cfg.normalize) l2_normalize(chunk);
      try {
        index->add(static_cast<idx_t>(n), chunk.values.data());
      } catch (const faiss::FaissException& e) {
        throw Error(ErrorKind::backend, fmt::format("index build: adding rows {}..{} of {} failed: {}", local,
                                                    local + n, s.path, e.what()));
      }
      if (disk) disk->after_add();
      n_added += n;
      report(hooks, "add", n_added, n_total);
    }
  }
  chunk = {};
  if (disk) disk->finish();
  result.add_seconds = seconds_since(t_add);

  // Writing: everything to temporaries first, then renamed with the index last.
  AtomicPath index_file(cfg.out);
  try {
    faiss::write_index(index.get(), index_file.tmp().c_str());
  } catch (const faiss::FaissException& e) {
    throw Error(ErrorKind::io, cfg.out + ": cannot write the FAISS index: " + e.what());
  }
  result.n_vectors = static_cast<std::size_t>(index->ntotal);
  result.dim = d;
  result.total_seconds = seconds_since(t_start);

  json shard_list = json::array();
  for (const auto& s : shards)
    shard_list.push_back({{"path", fs::absolute(s.path).string()},
                          {"ids", fs::absolute(s.ids_path).string()},
                          {"rows", s.header.rows},
                          {"dim", s.header.cols},
                          {"dtype", s.header.dtype == NpyDtype::float32 ? "float32" : "float16"},
                          {"bytes", s.bytes},
                          {"mtime_ns", s.mtime_ns},
                          {"ids_sha256", s.ids_sha256}});
  result.meta = {
      {"kind", "faiss_index"},
      {"factory", cfg.factory},
      {"metric", "inner_product"},
      {"dim", d},
      {"n_vectors", result.n_vectors},
      {"normalize", cfg.normalize},
      {"on_disk", cfg.on_disk},
      {"index_file", fs::absolute(cfg.out).string()},
      {"index_bytes", file_bytes(index_file.tmp())},
      {"ids_file", fs::absolute(result.ids_path).string()},
      {"ids_sha256", ids_sha256},
      {"ivfdata_file", cfg.on_disk ? json(fs::absolute(result.data_path).string()) : json()},
      {"ivfdata_bytes", cfg.on_disk ? json(file_bytes(disk->data().tmp())) : json()},
      {"ivfdata_spills", cfg.on_disk ? json(disk->n_spills()) : json()},
      {"ivf", ivf != nullptr ? json{{"nlist", ivf->nlist}, {"code_size", ivf->code_size}} : json()},
      {"train", {{"train_size", cfg.train_size}, {"n_rows", result.n_train}, {"seed", cfg.seed}}},
      {"shards", std::move(shard_list)},
      {"config", config_to_json(cfg)},
      {"timing_s",
       {{"train", recorded_seconds(result.train_seconds)},
        {"add", recorded_seconds(result.add_seconds)},
        {"total", recorded_seconds(result.total_seconds)}}}};
  AtomicFile meta_file(result.meta_path, true);
  meta_file.stream() << result.meta.dump(2) << '\n';
  for (AtomicFile* f : {&ids_file, &meta_file}) {
    f->stream().flush();
    if (!f->stream())
      throw Error(ErrorKind::io, (f == &ids_file ? result.ids_path : result.meta_path) + ": write failed");
  }
  if (disk) disk->data().commit();
  ids_file.commit();
  meta_file.commit();
  index_file.commit();
  // A previous on-disk build's lists would otherwise lie beside an index that does not use them.
  if (!cfg.on_disk) {
    std::error_code ec;
    fs::remove(index_data_path(cfg.out), ec);
  }
  return result;
}

}  // namespace georank
