#include "rerank/round_merger.hpp"

#include <algorithm>

#include "georank/core/error.hpp"

namespace georank {

std::vector<VlmResponse> RoundMerger::submit(std::size_t query, std::span<const VlmRequest> requests) {
  std::unique_lock lock(mutex_);
  Pending mine;
  mine.query = query;
  mine.requests = requests;
  waiting_.push_back(&mine);
  if (all_waiting()) ready_.notify_one();
  answered_.wait(lock, [&mine] { return mine.done; });
  if (mine.error) std::rethrow_exception(mine.error);
  return std::move(mine.responses);
}

void RoundMerger::leave() {
  std::lock_guard lock(mutex_);
  --active_;
  ready_.notify_one();
}

void RoundMerger::serve() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ready_.wait(lock, [this] { return active_ == 0 || all_waiting(); });
    if (active_ == 0) return;
    flush(lock);
  }
}

std::int64_t RoundMerger::n_calls() const {
  std::lock_guard lock(mutex_);
  return n_calls_;
}

void RoundMerger::flush(std::unique_lock<std::mutex>& lock) {
  std::vector<Pending*> batch;
  batch.swap(waiting_);
  // Query order, whichever thread came first: the same call for the same run.
  std::sort(batch.begin(), batch.end(),
            [](const Pending* a, const Pending* b) { return a->query < b->query; });
  std::vector<VlmRequest> all;
  for (const Pending* p : batch) all.insert(all.end(), p->requests.begin(), p->requests.end());
  ++n_calls_;
  // Every active worker waits in this batch: nothing else touches the state meanwhile.
  lock.unlock();
  std::vector<VlmResponse> out;
  std::exception_ptr error;
  try {
    out = inner_.run(all);
    if (out.size() != all.size())
      throw Error(ErrorKind::backend, "the judge answered a merged round only in part");
  } catch (...) {
    error = std::current_exception();
  }
  lock.lock();
  std::size_t at = 0;
  for (Pending* p : batch) {
    if (error) {
      p->error = error;
    } else {
      p->responses.assign(std::make_move_iterator(out.begin() + static_cast<long>(at)),
                          std::make_move_iterator(out.begin() + static_cast<long>(at + p->requests.size())));
    }
    at += p->requests.size();
    p->done = true;
  }
  answered_.notify_all();
}

}  // namespace georank
