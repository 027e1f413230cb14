// Exact top-10 inner-product search for 1,000 queries over a VIGOR-sized gallery (90,618 x
// 1024 random unit vectors): georank's FAISS path against its lower bound, one BLAS sgemm of
// the same shape (plus a naive top-k scan for a complete plain alternative).
//
//   bench_search [n_gallery=90618] [n_queries=1000] [dim=1024] [k=10] [repeats=3]
//
// Memory: peak resident set per phase from /proc/self/status VmHWM (reset between phases
// through /proc/self/clear_refs) and the process peak from getrusage(RUSAGE_SELF).

#include <cblas.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "georank/retrieval/index.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

long status_kib(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::strtol(line.c_str() + std::string(key).size() + 1, nullptr, 10);
  return -1;
}

bool reset_peak() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  return static_cast<bool>(f);
}

long maxrss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// Random unit vectors (Box-Muller normals, normalised), deterministic.
georank::FloatMatrix random_unit(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  georank::FloatMatrix m{rows, cols, std::vector<float>(rows * cols)};
  std::uint64_t s = seed;
  auto next = [&s] {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * (1.0 / 9007199254740992.0);
  };
  for (std::size_t i = 0; i + 1 < m.values.size(); i += 2) {
    const double r = std::sqrt(-2 * std::log(next() + 1e-300)), a = 2 * M_PI * next();
    m.values[i] = static_cast<float>(r * std::cos(a));
    m.values[i + 1] = static_cast<float>(r * std::sin(a));
  }
  georank::l2_normalize(m);
  return m;
}

// Top-k of each score row by a linear scan keeping a sorted k-array.
void naive_topk(const std::vector<float>& scores, std::size_t n_q, std::size_t n_g, std::size_t k,
                std::vector<std::int64_t>& labels) {
  labels.assign(n_q * k, -1);
#pragma omp parallel for
  for (std::size_t q = 0; q < n_q; ++q) {
    std::vector<std::pair<float, std::int64_t>> best(k, {-INFINITY, -1});
    const float* row = &scores[q * n_g];
    for (std::size_t j = 0; j < n_g; ++j) {
      if (row[j] <= best[k - 1].first) continue;
      std::size_t p = k - 1;
      while (p > 0 && best[p - 1].first < row[j]) {
        best[p] = best[p - 1];
        --p;
      }
      best[p] = {row[j], static_cast<std::int64_t>(j)};
    }
    for (std::size_t i = 0; i < k; ++i) labels[q * k + i] = best[i].second;
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n_g = argc > 1 ? std::stoul(argv[1]) : 90618;
  const std::size_t n_q = argc > 2 ? std::stoul(argv[2]) : 1000;
  const std::size_t dim = argc > 3 ? std::stoul(argv[3]) : 1024;
  const std::size_t k = argc > 4 ? std::stoul(argv[4]) : 10;
  const int repeats = argc > 5 ? std::stoi(argv[5]) : 3;

  std::printf(
      "exact top-%zu, %zu queries x %zu gallery x %zu dims (random unit vectors), %d repeats, median\n", k,
      n_q, n_g, dim, repeats);
  const auto gallery = random_unit(n_g, dim, 1);
  const auto queries = random_unit(n_q, dim, 2);
  const long base_kib = status_kib("VmRSS:");
  std::printf("data: %.1f MiB resident (gallery %.1f MiB)\n", static_cast<double>(base_kib) / 1024.0,
              static_cast<double>(n_g * dim) * 4.0 / (1 << 20));

  // georank / FAISS exact path.
  const bool can_reset = reset_peak();
  auto t = Clock::now();
  georank::SearchResult faiss_result;
  double build_s = 0;
  std::vector<double> faiss_times;
  {
    georank::IndexConfig config;
    // DB_BS=<rows> fixes the gallery rows per BLAS block (1024 = FAISS's own default).
    if (const char* bs = std::getenv("DB_BS")) config.blas_block_rows = std::strtoul(bs, nullptr, 10);
    const auto index = georank::VectorIndex::build(gallery, config);
    build_s = seconds_since(t);
    for (int r = 0; r < repeats; ++r) {
      t = Clock::now();
      faiss_result = index.search(queries, k);
      faiss_times.push_back(seconds_since(t));
    }
  }
  const long faiss_peak = status_kib("VmHWM:") - base_kib;

  // Lower bound: one sgemm producing all scores; then a naive top-k scan.
  reset_peak();
  std::vector<double> gemm_times, topk_times;
  std::vector<std::int64_t> labels;
  {
    std::vector<float> scores(n_q * n_g);
    for (int r = 0; r < repeats; ++r) {
      t = Clock::now();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n_q), static_cast<int>(n_g),
                  static_cast<int>(dim), 1.0f, queries.values.data(), static_cast<int>(dim),
                  gallery.values.data(), static_cast<int>(dim), 0.0f, scores.data(), static_cast<int>(n_g));
      gemm_times.push_back(seconds_since(t));
      t = Clock::now();
      naive_topk(scores, n_q, n_g, k, labels);
      topk_times.push_back(seconds_since(t));
    }
  }
  const long gemm_peak = status_kib("VmHWM:") - base_kib;

  std::size_t agree = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) agree += labels[i] == faiss_result.labels[i];
  const double f = median(faiss_times), g = median(gemm_times), tk = median(topk_times);
  const double gflop = 2.0 * static_cast<double>(n_q * n_g * dim) / 1e9;
  std::printf(
      "faiss IndexFlatIP (georank VectorIndex): build %.3f s, search %.3f s (%.1f GFLOP/s), extra peak %s\n",
      build_s, f, gflop / f, can_reset ? (std::to_string(faiss_peak / 1024) + " MiB").c_str() : "n/a");
  std::printf(
      "sgemm lower bound:                       %.3f s (%.1f GFLOP/s); + naive top-k %.3f s = %.3f s, extra "
      "peak %s\n",
      g, gflop / g, tk, g + tk, can_reset ? (std::to_string(gemm_peak / 1024) + " MiB").c_str() : "n/a");
  std::printf("FAISS gallery block: %s rows\n",
              std::getenv("DB_BS") ? std::getenv("DB_BS") : "8192 (georank default)");
  std::printf("ratio faiss / sgemm = %.2f;  faiss / (sgemm + naive top-k) = %.2f\n", f / g, f / (g + tk));
  std::printf("top-%zu labels identical: %zu of %zu\n", k, agree, labels.size());
  std::printf("process peak (getrusage ru_maxrss): %.1f MiB\n", static_cast<double>(maxrss_kib()) / 1024.0);
  return agree == labels.size() ? 0 : 1;
}
