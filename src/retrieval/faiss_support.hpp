#pragma once
// What the FAISS users of this layer share (faiss_index.cpp, index_build.cpp): the OpenMP
// thread count for one call, and silence for the lines FAISS's on-disk inverted lists print.

#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexPQ.h>
#include <faiss/IndexPreTransform.h>
#include <omp.h>

#include <cstdio>
#include <string_view>

#include "retrieval/stderr_filter.hpp"

// OpenBLAS's thread control, when the BLAS is OpenBLAS (weak: absent from other BLAS builds).
extern "C" {
void openblas_set_num_threads(int num_threads) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));
}

namespace georank {

/// Sets the OpenMP thread count for the duration of one call (n <= 0: leaves it alone).
class OmpThreadScope {
 public:
  explicit OmpThreadScope(int n) : previous_(omp_get_max_threads()), active_(n > 0) {
    if (active_) omp_set_num_threads(n);
  }
  ~OmpThreadScope() {
    if (active_) omp_set_num_threads(previous_);
  }
  OmpThreadScope(const OmpThreadScope&) = delete;
  OmpThreadScope& operator=(const OmpThreadScope&) = delete;

 private:
  int previous_;
  bool active_;
};

/// FAISS's OnDiskInvertedLists printf()s "resizing FILE to N bytes" each time it sizes its file,
/// and read_index with IO_FLAG_ONDISK_SAME_DIR prints "IO_FLAG_ONDISK_SAME_DIR: updating ondisk
/// filename from A to B": stdout belongs to the commands' output. While alive, those two kinds
/// of lines are dropped from stdout (descriptor 1); every other line passes. stdio's buffer is
/// flushed on entry and on exit, so a fully buffered stdout is filtered too.
class QuietFaissStdout {
 public:
  QuietFaissStdout() = default;
  ~QuietFaissStdout() { std::fflush(stdout); }  // runs while filter_ is still in place
  QuietFaissStdout(const QuietFaissStdout&) = delete;
  QuietFaissStdout& operator=(const QuietFaissStdout&) = delete;

  static bool is_noise(std::string_view line) {
    return (line.starts_with("resizing ") && line.find(" bytes") != std::string_view::npos) ||
           line.starts_with("IO_FLAG_ONDISK_SAME_DIR: updating ondisk filename");
  }

 private:
  int flushed_ = std::fflush(stdout);  // before the redirection (declared first: initialised first)
  StderrLineFilter filter_{&QuietFaissStdout::is_noise, 1};
};

/// index_factory turns on polysemous training for PQ and IVF-PQ indexes: a reordering of the
/// PQ centroids for Hamming-distance filtering, which georank's searches never use, by simulated
/// annealing that takes minutes for a 64-byte code (and most of a small test's time). Turns it
/// off, through an OPQ/PCA pre-transform too.
inline void skip_polysemous_training(faiss::Index* index) {
  if (auto* pre = dynamic_cast<faiss::IndexPreTransform*>(index)) index = pre->index;
  if (auto* ivfpq = dynamic_cast<faiss::IndexIVFPQ*>(index)) ivfpq->do_polysemous_training = false;
  if (auto* pq = dynamic_cast<faiss::IndexPQ*>(index)) pq->do_polysemous_training = false;
}

/// One BLAS thread for the scope. Training and adding to IVF / PQ / OPQ indexes call BLAS
/// between FAISS's OpenMP regions, and OpenBLAS's own threads then compete with the OpenMP
/// threads waiting for the next region: on 2 cores the bench's check build took 2.6x as long
/// (4.5 min against 1.75) with OpenBLAS threaded. FAISS's OpenMP threads still use every core.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas() {
    if (openblas_get_num_threads != nullptr && openblas_set_num_threads != nullptr) {
      previous_ = openblas_get_num_threads();
      openblas_set_num_threads(1);
    }
  }
  ~SingleThreadedBlas() {
    if (previous_ > 0) openblas_set_num_threads(previous_);
  }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace georank
