// City-scale galleries: FAISS IVF-PQ / OPQ indexes built through `georank index build`'s code
// path (build_index, index_build.hpp) from .npy shards of clustered synthetic embeddings, then
// searched through VectorIndex like `georank retrieve` searches. Per factory and storage: build
// time (train + add), peak resident memory of the build, index size on disk, and per nprobe the
// recall of the exact top-10 and top-100, queries/s, and resident memory while searching. With
// on-disk inverted lists (<index>.ivfdata, memory-mapped) each nprobe is searched cold (the
// files' pages dropped from the page cache with posix_fadvise(POSIX_FADV_DONTNEED) after
// fdatasync, no root needed; the fraction still cached is measured with mincore and reported)
// and then warm.
//
// Data: unit vectors near a low-dimensional subspace (a mixture of Gaussians in `latent`
// dimensions, embedded by a random orthonormal map, plus ambient noise) — embeddings have low
// intrinsic dimension and clusters, and uniform random vectors in 1024-d would make every
// neighbour equally far and IVF recall meaningless. Queries are perturbed gallery vectors.
// Exact neighbours by BLAS (sgemm block by block) over the same stored values. Each row is
// generated from its own seed, so the data do not depend on the thread count; the shards,
// queries and exact neighbours are kept in OUT/data and reused by a run with the same data
// flags.
//
// Default run: 1,000,000 x 1024 float32 (4 GiB of shards in OUT/data), 1,000 queries,
// factories IVF1024,PQ64 and OPQ64_256,IVF4096,PQ64 with on-disk lists, training on 163,840
// rows. Estimated at 10-15 minutes on 2 cores (not yet timed on an idle machine):
//   bench_gallery_scale --out-dir /tmp/gallery-scale
// The 1024-d IVF4096 index (k-means over 1024-d rows: estimated 8 minutes more on 2 cores) and
// the in-memory storage beside the on-disk one:
//   bench_gallery_scale --out-dir /tmp/gallery-scale --storage both --train-size 262144
//       --factories "IVF4096,PQ64;IVF1024,PQ64;OPQ64_256,IVF4096,PQ64"     (one command line)
// The check (a CTest, seconds): 12,000 x 64 float16 shards, IVF64,Flat / IVF64,PQ8 /
// OPQ8,IVF64,PQ8 trained on 6,000 rows, both storages; exits 1 unless IVF-Flat over all its lists finds the
// exact top-10 and top-100 (recall >= 0.999: the search is then exhaustive), every factory's recall@10 at its
// largest nprobe is >= 0.3 (chance: 10 / 12,000), and on-disk and in-memory lists, cold and warm, return the
// same labels:
//   bench_gallery_scale --check --out-dir build/test-work/gallery-scale
//
// Options: --n N --dim D --queries Q --clusters C --shard-rows R --dtype f32|f16 --seed S
//          --factories "F1;F2" --nprobe 1,4,16 --storage disk|memory|both --train-size N
//          --chunk-rows N --threads T --out-dir DIR --json --check
// Output: the markdown table on stdout (--json: the JSON instead), both also written to
// OUT/gallery_scale.md and OUT/gallery_scale.json. Numbers are taken as they come: the load
// average at the start is reported, and a busy machine is flagged in the output.

#include <fcntl.h>
#include <omp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/core/progress.hpp"
#include "georank/retrieval/index.hpp"
#include "georank/retrieval/index_build.hpp"
#include "georank/retrieval/npy.hpp"
#include "synthetic_gallery.hpp"

namespace {

using namespace georank;
using namespace georank::bench;
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Options {
  std::size_t n = 1'000'000;
  std::size_t dim = 1024;
  std::size_t queries = 1000;
  std::size_t clusters = 300;  // deliberately unrelated to the lists' counts
  std::size_t shard_rows = 262144;
  NpyDtype dtype = NpyDtype::float32;
  std::uint64_t seed = 1;
  std::vector<std::string> factories = {"IVF1024,PQ64", "OPQ64_256,IVF4096,PQ64"};
  std::vector<std::size_t> nprobe = {1, 4, 16, 64, 256};
  std::string storage = "disk";
  std::size_t train_size = 163840;  // 40 rows per list of IVF4096 (FAISS asks for >= 39)
  std::size_t chunk_rows = 65536;
  int threads = 0;
  std::string out_dir = "out/bench-gallery-scale";
  bool json = false;
  bool check = false;
};

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

bool quiet() {
  const char* q = std::getenv("GEORANK_QUIET");
  return q != nullptr && std::string(q) == "1";
}

template <typename... Args>
void note(fmt::format_string<Args...> f, Args&&... args) {
  if (!quiet())
    std::fprintf(stderr, "gallery_scale: %s\n", fmt::format(f, std::forward<Args>(args)...).c_str());
}

// ---- memory and page cache ------------------------------------------------------------------

long status_kib(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string k = std::string(key) + ":";
  while (std::getline(in, line))
    if (line.rfind(k, 0) == 0) return std::strtol(line.c_str() + k.size(), nullptr, 10);
  return -1;
}

double status_mib(const char* key) {
  const long kib = status_kib(key);
  return kib < 0 ? -1.0 : static_cast<double>(kib) / 1024.0;
}

// Resets VmHWM to the current resident set (Linux >= 4.0).
bool reset_peak() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

// The fraction of `path`'s pages in the page cache (mincore over a mapping that touches none).
double cached_fraction(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  const auto size = static_cast<std::size_t>(fs::file_size(path));
  double fraction = -1;
  if (size == 0) {
    fraction = 0;
  } else if (void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0); p != MAP_FAILED) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> in_core((size + page - 1) / page);
    if (::mincore(p, size, in_core.data()) == 0) {
      std::size_t n = 0;
      for (const unsigned char c : in_core) n += c & 1u;
      fraction = static_cast<double>(n) / static_cast<double>(in_core.size());
    }
    ::munmap(p, size);
  }
  ::close(fd);
  return fraction;
}

// Drops `path`'s pages from the page cache: written back first (dirty pages cannot be dropped),
// then POSIX_FADV_DONTNEED. Pages another process maps stay; the returned fraction says.
double drop_page_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  return cached_fraction(path);
}

// ---- the data set on disk (reused when its description matches) --------------------------------

struct Data {
  std::vector<std::string> shards;
  FloatMatrix queries;
  std::vector<std::int64_t> exact;  // queries x k_exact
  std::size_t k_exact = 0;
  std::size_t latent = 0;
  double generate_seconds = 0;  // 0: reused
  bool reused = false;
};

Data prepare_data(const Options& o) {
  const fs::path dir = fs::path(o.out_dir) / "data";
  Data data;
  data.k_exact = std::min<std::size_t>(100, o.n);
  const ClusteredGallery gen(o.dim, o.clusters, o.seed);
  data.latent = gen.latent();
  const std::size_t n_shards = (o.n + o.shard_rows - 1) / o.shard_rows;
  for (std::size_t s = 0; s < n_shards; ++s)
    data.shards.push_back((dir / fmt::format("shard-{:03}.npy", s)).string());
  const json stamp = {{"generator", kSyntheticGalleryVersion},
                      {"n", o.n},
                      {"dim", o.dim},
                      {"queries", o.queries},
                      {"clusters", o.clusters},
                      {"shard_rows", o.shard_rows},
                      {"dtype", o.dtype == NpyDtype::float32 ? "f32" : "f16"},
                      {"seed", o.seed},
                      {"k_exact", data.k_exact}};
  const fs::path stamp_path = dir / "dataset.json", exact_path = dir / "exact.bin",
                 queries_path = dir / "queries.npy";
  bool complete = fs::exists(stamp_path) && fs::exists(exact_path) && fs::exists(queries_path);
  for (const auto& s : data.shards) complete = complete && fs::exists(s) && fs::exists(ids_path_for(s));
  if (complete) {
    try {
      complete = json::parse(read_file_text(stamp_path.string())) == stamp &&
                 fs::file_size(exact_path) == o.queries * data.k_exact * sizeof(std::int64_t);
    } catch (const std::exception&) {
      complete = false;
    }
  }
  if (complete) {
    data.reused = true;
    data.queries = read_npy(queries_path.string());
    data.exact.resize(o.queries * data.k_exact);
    std::ifstream(exact_path, std::ios::binary)
        .read(reinterpret_cast<char*>(data.exact.data()),
              static_cast<std::streamsize>(data.exact.size() * 8));
    note("reusing the data in {}", dir.string());
    return data;
  }

  const auto t = Clock::now();
  fs::remove(stamp_path);
  fs::create_directories(dir);
  data.queries = {o.queries, o.dim, std::vector<float>(o.queries * o.dim)};
  gen.queries(o.queries, o.n, data.queries.values.data());
  ExactTopK exact(data.queries, data.k_exact);
  ProgressBar bar("data", o.n, "rows", ProgressBar::default_enabled() && !quiet());
  for (std::size_t s = 0; s < n_shards; ++s) {
    const std::size_t first = s * o.shard_rows, rows = std::min(o.shard_rows, o.n - first);
    Embeddings e;
    e.matrix = {rows, o.dim, std::vector<float>(rows * o.dim)};
    gen.rows(first, rows, e.matrix.values.data());
    // The exact neighbours are those of the values as stored.
    if (o.dtype == NpyDtype::float16)
      for (float& v : e.matrix.values) v = half_to_float(float_to_half(v));
    exact.add(e.matrix.values.data(), rows, first);
    for (std::size_t r = first; r < first + rows; ++r) e.ids.push_back(fmt::format("tile-{:09}", r));
    write_embeddings(data.shards[s], e, o.dtype);
    bar.update(first + rows);
  }
  bar.finish();
  data.exact = exact.labels();
  write_npy(queries_path.string(), data.queries);
  {
    AtomicFile f(exact_path.string(), true);
    f.stream().write(reinterpret_cast<const char*>(data.exact.data()),
                     static_cast<std::streamsize>(data.exact.size() * sizeof(std::int64_t)));
    f.commit();
  }
  write_json_atomic(stamp_path.string(), stamp);
  data.generate_seconds = seconds_since(t);
  note("generated {} x {} in {} shard(s) and the exact top-{} of {} queries in {:.1f} s", o.n, o.dim,
       n_shards, data.k_exact, o.queries, data.generate_seconds);
  return data;
}

// ---- building and searching -----------------------------------------------------------------------

std::string slug(const std::string& factory) {
  std::string s;
  for (const char c : factory) s.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return s;
}

std::uintmax_t file_bytes(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

struct SearchRun {
  std::vector<std::int64_t> labels;
  double seconds = 0;
};

SearchRun timed_search(const VectorIndex& index, const FloatMatrix& q, std::size_t k) {
  const auto t = Clock::now();
  SearchRun r;
  r.labels = index.search(q, k).labels;
  r.seconds = seconds_since(t);
  return r;
}

// One factory in one storage: the build, then a row per nprobe.
std::vector<json> measure(const Options& o, const Data& data, const std::string& factory, bool on_disk,
                          std::map<std::string, std::vector<std::int64_t>>& labels_by_run) {
  const std::string storage = on_disk ? "disk" : "memory";
  IndexBuildConfig cfg;
  cfg.shards = data.shards;
  cfg.out = (fs::path(o.out_dir) / "index" / (slug(factory) + "." + storage + ".faiss")).string();
  cfg.factory = factory;
  cfg.train_size = o.train_size;
  cfg.seed = o.seed;
  cfg.chunk_rows = o.chunk_rows;
  cfg.on_disk = on_disk;
  cfg.n_threads = o.threads;
  note("building {} ({} lists)", factory, storage);
  const bool peak_ok = reset_peak();
  std::unique_ptr<ProgressBar> bar;
  IndexBuildHooks hooks;
  hooks.on_progress = [&](const IndexBuildProgress& p) {
    if (!bar)
      bar = std::make_unique<ProgressBar>(p.phase, p.n_total, "rows",
                                          ProgressBar::default_enabled() && !quiet());
    bar->update(p.n_done);
    if (p.n_done == p.n_total) bar.reset();
  };
  const auto t_build = Clock::now();
  const IndexBuildResult built = build_index(cfg, hooks);
  const double build_seconds = seconds_since(t_build);
  bar.reset();
  const double build_peak = peak_ok ? status_mib("VmHWM") : -1;
  const std::uintmax_t index_bytes =
      file_bytes(built.index_path) + (on_disk ? file_bytes(built.data_path) : 0);
  const json& ivf = built.meta.at("ivf");
  const std::size_t nlist = ivf.is_null() ? 0 : ivf.at("nlist").get<std::size_t>();

  std::vector<std::size_t> probes;
  for (const std::size_t p : o.nprobe)
    if (nlist > 0 && p <= nlist) probes.push_back(p);
  if (probes.empty()) probes.push_back(nlist > 0 ? nlist : 0);  // 0: not an IVF index

  const std::size_t k = data.k_exact;
  std::vector<json> rows;
  for (const std::size_t nprobe : probes) {
    IndexConfig search_cfg;
    search_cfg.n_threads = o.threads;
    if (nprobe > 0) search_cfg.search_params = fmt::format("nprobe={}", nprobe);
    json row = {{"factory", factory},
                {"storage", storage},
                {"nlist", nlist > 0 ? json(nlist) : json()},
                {"nprobe", nprobe > 0 ? json(nprobe) : json()},
                {"train_s", built.train_seconds},
                {"add_s", built.add_seconds},
                {"build_s", build_seconds},
                {"build_peak_rss_mib", build_peak},
                {"index_mib", static_cast<double>(index_bytes) / (1 << 20)},
                {"n_train", built.n_train}};
    SearchRun cold, warm;
    double cached = -1;
    double load_s = 0;
    {
      if (on_disk) {
        drop_page_cache(built.index_path);
        cached = drop_page_cache(built.data_path);
      }
      const auto t_load = Clock::now();
      const VectorIndex index = VectorIndex::load(built.index_path, search_cfg);
      load_s = seconds_since(t_load);
      cold = timed_search(index, data.queries, k);
      warm = timed_search(index, data.queries, k);
      row["rss_mib"] = status_mib("VmRSS");
      row["rss_anon_mib"] = status_mib("RssAnon");
      row["rss_file_mib"] = status_mib("RssFile");
    }
    const auto nq = static_cast<double>(data.queries.rows);
    row["load_s"] = load_s;
    row["qps_warm"] = nq / warm.seconds;
    row["qps_cold"] = on_disk ? json(nq / cold.seconds) : json();
    row["cold_cached_fraction"] = on_disk ? json(cached) : json();
    row["cold_equals_warm"] = cold.labels == warm.labels;
    row["recall_at_10"] =
        recall(warm.labels, k, data.exact, data.k_exact, data.queries.rows, std::min<std::size_t>(10, k));
    row["recall_at_100"] = recall(warm.labels, k, data.exact, data.k_exact, data.queries.rows, k);
    note("{} {} nprobe {}: recall@10 {:.3f}, recall@100 {:.3f}, {:.0f} q/s warm", factory, storage, nprobe,
         row["recall_at_10"].get<double>(), row["recall_at_100"].get<double>(),
         row["qps_warm"].get<double>());
    labels_by_run[fmt::format("{}|{}|{}", factory, storage, nprobe)] = std::move(warm.labels);
    rows.push_back(std::move(row));
  }
  return rows;
}

// ---- output and the check -------------------------------------------------------------------------

std::string num(const json& v, const char* spec) {
  if (v.is_null() || (v.is_number() && v.get<double>() < 0)) return "-";
  return fmt::format(fmt::runtime(spec), v.get<double>());
}

std::string markdown(const json& j) {
  std::string out = fmt::format(
      "{} x {} {} synthetic unit vectors ({} clusters in {} latent dimensions), {} queries; exact top-{} by "
      "BLAS. Load average {:.2f} on {} CPUs at the start{}.\n\n",
      j["data"]["n"].get<std::size_t>(), j["data"]["dim"].get<std::size_t>(),
      j["data"]["dtype"].get<std::string>(), j["data"]["clusters"].get<std::size_t>(),
      j["data"]["latent"].get<std::size_t>(), j["data"]["queries"].get<std::size_t>(),
      j["data"]["k_exact"].get<std::size_t>(), j["machine"]["loadavg_at_start"].get<double>(),
      j["machine"]["cpus"].get<unsigned>(),
      j["machine"]["busy"].get<bool>() ? " (not idle: the numbers were taken while other work ran)" : "");
  out +=
      "| factory | storage | train s | add s | build peak RSS MiB | index MiB | nprobe | recall@10 "
      "| recall@100 | q/s warm | q/s cold | cold: cached | RSS anon MiB | RSS file MiB |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& r : j["rows"])
    out += fmt::format(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        r["factory"].get<std::string>(), r["storage"].get<std::string>(), num(r["train_s"], "{:.1f}"),
        num(r["add_s"], "{:.1f}"), num(r["build_peak_rss_mib"], "{:.0f}"), num(r["index_mib"], "{:.1f}"),
        r["nprobe"].is_null() ? "-" : std::to_string(r["nprobe"].get<std::size_t>()),
        num(r["recall_at_10"], "{:.3f}"), num(r["recall_at_100"], "{:.3f}"), num(r["qps_warm"], "{:.0f}"),
        num(r["qps_cold"], "{:.0f}"),
        r["cold_cached_fraction"].is_null() ? "-"
                                            : num(r["cold_cached_fraction"].get<double>() * 100, "{:.0f}%"),
        num(r["rss_anon_mib"], "{:.0f}"), num(r["rss_file_mib"], "{:.0f}"));
  return out;
}

std::vector<std::string> check_failures(const json& j,
                                        const std::map<std::string, std::vector<std::int64_t>>& labels) {
  std::vector<std::string> failures;
  std::map<std::string, json> largest;  // factory|storage -> its row with the largest nprobe
  for (const auto& r : j["rows"]) {
    const std::string factory = r["factory"].get<std::string>(), storage = r["storage"].get<std::string>();
    const std::string run = factory + "|" + storage;
    const bool ivf_flat = factory.find("IVF") != std::string::npos && factory.ends_with(",Flat");
    if (ivf_flat && !r["nprobe"].is_null() && r["nprobe"] == r["nlist"])
      for (const char* key : {"recall_at_10", "recall_at_100"})
        if (r[key].get<double>() < 0.999)
          failures.push_back(
              fmt::format("{} ({}) over all {} lists: {} = {:.4f}, expected >= 0.999 (exhaustive)", factory,
                          storage, r["nlist"].dump(), key, r[key].get<double>()));
    if (!r["cold_equals_warm"].get<bool>())
      failures.push_back(fmt::format("{} ({}) nprobe {}: the cold and the warm search differ", factory,
                                     storage, r["nprobe"].dump()));
    if (!largest.contains(run) || r["nprobe"] > largest[run]["nprobe"]) largest[run] = r;
    if (storage == "disk") {
      const std::string key = fmt::format("{}|{}|{}", factory, "memory",
                                          r["nprobe"].is_null() ? 0 : r["nprobe"].get<std::size_t>());
      const std::string own = fmt::format("{}|{}|{}", factory, "disk",
                                          r["nprobe"].is_null() ? 0 : r["nprobe"].get<std::size_t>());
      if (labels.contains(key) && labels.at(key) != labels.at(own))
        failures.push_back(fmt::format("{} nprobe {}: on-disk and in-memory lists return different labels",
                                       factory, r["nprobe"].dump()));
    }
  }
  for (const auto& [run, r] : largest)
    if (r["recall_at_10"].get<double>() < 0.3)
      failures.push_back(fmt::format("{} at nprobe {}: recall@10 = {:.3f}, expected >= 0.3", run,
                                     r["nprobe"].dump(), r["recall_at_10"].get<double>()));
  return failures;
}

// ---- options ------------------------------------------------------------------------------------

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t end = std::min(text.find(sep, at), text.size());
    if (end > at) parts.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return parts;
}

std::size_t positive(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || v == 0 || text.front() == '-')
    throw Error(ErrorKind::invalid_argument, flag + ": expected a positive integer, not '" + text + "'");
  return static_cast<std::size_t>(v);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--check") {
      o.check = true;
      o.n = 12000;
      o.dim = 64;
      o.queries = 200;
      o.shard_rows = 5000;  // three shards, the last one short
      o.dtype = NpyDtype::float16;
      o.factories = {"IVF64,Flat", "IVF64,PQ8", "OPQ8,IVF64,PQ8"};
      o.nprobe = {1, 4, 16, 64};
      o.storage = "both";
      o.train_size = 6000;
      o.chunk_rows = 2048;
    }
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(ErrorKind::invalid_argument, a + " needs a value");
      return argv[++i];
    };
    if (a == "--n")
      o.n = positive(a, value());
    else if (a == "--dim")
      o.dim = positive(a, value());
    else if (a == "--queries")
      o.queries = positive(a, value());
    else if (a == "--clusters")
      o.clusters = positive(a, value());
    else if (a == "--shard-rows")
      o.shard_rows = positive(a, value());
    else if (a == "--train-size")
      o.train_size = positive(a, value());
    else if (a == "--chunk-rows")
      o.chunk_rows = positive(a, value());
    else if (a == "--seed")
      o.seed = std::stoull(value());
    else if (a == "--threads")
      o.threads = static_cast<int>(positive(a, value()));
    else if (a == "--out-dir")
      o.out_dir = value();
    else if (a == "--json")
      o.json = true;
    else if (a == "--check")
      continue;
    else if (a == "--dtype") {
      const std::string d = value();
      if (d != "f32" && d != "f16") throw Error(ErrorKind::invalid_argument, "--dtype: f32 or f16, not " + d);
      o.dtype = d == "f32" ? NpyDtype::float32 : NpyDtype::float16;
    } else if (a == "--factories") {
      o.factories = split(value(), ';');
      if (o.factories.empty()) throw Error(ErrorKind::invalid_argument, "--factories: none given");
    } else if (a == "--nprobe") {
      o.nprobe.clear();
      for (const auto& p : split(value(), ',')) o.nprobe.push_back(positive(a, p));
    } else if (a == "--storage") {
      o.storage = value();
      if (o.storage != "disk" && o.storage != "memory" && o.storage != "both")
        throw Error(ErrorKind::invalid_argument, "--storage: disk, memory or both, not " + o.storage);
    } else {
      throw Error(ErrorKind::invalid_argument, "unknown option " + a + " (see the file's header)");
    }
  }
  if (o.dim > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      o.shard_rows > (std::size_t{1} << 30))
    throw Error(ErrorKind::invalid_argument, "--dim or --shard-rows too large");
  return o;
}

double loadavg() {
  std::ifstream in("/proc/loadavg");
  double v = -1;
  in >> v;
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gallery_scale: %s\n", e.what());
    return 2;
  }
  try {
    if (o.threads > 0) omp_set_num_threads(o.threads);
    const double load = loadavg();
    const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
    const Data data = prepare_data(o);
    json j;
    j["data"] = {{"n", o.n},
                 {"dim", o.dim},
                 {"dtype", o.dtype == NpyDtype::float32 ? "float32" : "float16"},
                 {"queries", o.queries},
                 {"clusters", o.clusters},
                 {"latent", data.latent},
                 {"shards", data.shards.size()},
                 {"k_exact", data.k_exact},
                 {"reused", data.reused},
                 {"generate_and_exact_s", data.generate_seconds}};
    j["machine"] = {{"cpus", cpus}, {"loadavg_at_start", load}, {"busy", load > 0.5}};
    j["settings"] = {{"train_size", o.train_size},
                     {"chunk_rows", o.chunk_rows},
                     {"threads", o.threads},
                     {"seed", o.seed},
                     {"storage", o.storage}};
    j["rows"] = json::array();
    std::map<std::string, std::vector<std::int64_t>> labels;
    for (const auto& factory : o.factories) {
      const bool ivf = factory.find("IVF") != std::string::npos;
      std::vector<bool> storages;
      if (o.storage != "disk" || !ivf) storages.push_back(false);
      if (o.storage != "memory" && ivf) storages.push_back(true);
      for (const bool on_disk : storages)
        for (auto& row : measure(o, data, factory, on_disk, labels)) j["rows"].push_back(std::move(row));
    }
    const std::string table = markdown(j);
    if (o.check) {
      const auto failures = check_failures(j, labels);
      j["check"] = {{"passed", failures.empty()}, {"failures", failures}};
    }
    write_file_atomic((fs::path(o.out_dir) / "gallery_scale.md").string(), table);
    write_json_atomic((fs::path(o.out_dir) / "gallery_scale.json").string(), j);
    if (o.json)
      std::cout << j.dump(2) << "\n";
    else
      std::cout << table;
    if (o.check && !j["check"]["passed"].get<bool>()) {
      for (const auto& f : j["check"]["failures"])
        std::fprintf(stderr, "bench_gallery_scale: --check: %s\n", f.get<std::string>().c_str());
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gallery_scale: %s\n", e.what());
    return 1;
  }
}
