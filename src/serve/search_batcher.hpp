#pragma once
// Concurrent requests' searches become one FAISS call: a search thread takes every query
// waiting (up to max_batch) whenever the previous call returns. Exact search reads the whole
// gallery once per call, so a batch of 50 costs little more than one query.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "georank/retrieval/index.hpp"

namespace georank::serve {

struct SearchHit {
  std::vector<float> scores;
  std::vector<std::int64_t> rows;
};

class SearchBatcher {
 public:
  SearchBatcher(const VectorIndex& index, std::size_t max_batch);
  ~SearchBatcher();
  SearchBatcher(const SearchBatcher&) = delete;
  SearchBatcher& operator=(const SearchBatcher&) = delete;

  /// The top `k` of one query (dim() floats); blocks until its batch is searched. Throws what
  /// the search throws.
  SearchHit search(std::vector<float> query, std::size_t k);
  [[nodiscard]] std::int64_t n_calls() const;
  [[nodiscard]] std::int64_t n_queries() const;

 private:
  struct Job {
    std::vector<float> query;
    std::size_t k;
    std::promise<SearchHit> done;
  };
  void loop();

  const VectorIndex& index_;
  std::size_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stop_ = false;
  std::int64_t n_calls_ = 0, n_queries_ = 0;
  std::thread thread_;
};

}  // namespace georank::serve
