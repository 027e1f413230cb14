#include "search_batcher.hpp"

#include <algorithm>
#include <exception>

namespace georank::serve {

SearchBatcher::SearchBatcher(const VectorIndex& index, std::size_t max_batch)
    : index_(index), max_batch_(std::max<std::size_t>(1, max_batch)), thread_([this] { loop(); }) {}

SearchBatcher::~SearchBatcher() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

SearchHit SearchBatcher::search(std::vector<float> query, std::size_t k) {
  std::future<SearchHit> result;
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back({std::move(query), k, {}});
    result = jobs_.back().done.get_future();
  }
  wake_.notify_one();
  return result.get();
}

std::int64_t SearchBatcher::n_calls() const {
  std::lock_guard lock(mutex_);
  return n_calls_;
}

std::int64_t SearchBatcher::n_queries() const {
  std::lock_guard lock(mutex_);
  return n_queries_;
}

void SearchBatcher::loop() {
  for (;;) {
    std::vector<Job> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (stop_ && jobs_.empty()) return;
      while (!jobs_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(jobs_.front()));
        jobs_.pop_front();
      }
      ++n_calls_;
      n_queries_ += static_cast<std::int64_t>(batch.size());
    }
    std::size_t k = 0;
    for (const auto& j : batch) k = std::max(k, j.k);
    FloatMatrix queries;
    queries.rows = batch.size();
    queries.cols = index_.dim();
    queries.values.reserve(queries.rows * queries.cols);
    for (const auto& j : batch) queries.values.insert(queries.values.end(), j.query.begin(), j.query.end());
    try {
      const SearchResult r = index_.search(queries, k);
      for (std::size_t q = 0; q < batch.size(); ++q) {
        SearchHit hit;
        for (std::size_t i = 0; i < batch[q].k && i < r.k; ++i) {
          const std::int64_t row = r.labels[q * r.k + i];
          if (row < 0) break;
          hit.rows.push_back(row);
          hit.scores.push_back(r.scores[q * r.k + i]);
        }
        batch[q].done.set_value(std::move(hit));
      }
    } catch (...) {
      for (auto& j : batch) j.done.set_exception(std::current_exception());
    }
  }
}

}  // namespace georank::serve
