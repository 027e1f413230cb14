#pragma once
// Several queries reranked at once. Each query runs on a worker thread of its own and asks its
// judge through a Member; once every worker still running waits on a round, serve() (on the
// thread that owns the judge) sends the rounds to the inner backend as one call, in query
// order, and each worker gets its own answers back.
// A round of a query that is settled in a few judgments (knockout finals, adaptive
// strategies) then shares its call with other queries' rounds: fuller batches in-process, more
// requests in flight for a remote judge. The inner backend is only ever called from serve()'s
// thread: ggml's OpenMP team belongs to the thread that calls it, and a llama.cpp context to
// one thread at a time.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "georank/vlm/vlm.hpp"

namespace georank {

class RoundMerger {
 public:
  /// `workers`: the threads that will ask through members; each calls leave() when done.
  RoundMerger(VlmBackend& inner, int workers) : inner_(inner), active_(workers) {}

  /// One worker's view of the judge; set_query() before each query it reranks.
  class Member final : public VlmBackend {
   public:
    explicit Member(RoundMerger& merger) : merger_(merger) {}
    void set_query(std::size_t index) { query_ = index; }
    std::vector<VlmResponse> run(std::span<const VlmRequest> requests) override {
      return merger_.submit(query_, requests);
    }
    JudgeIdentity identity() const override { return merger_.inner_.identity(); }
    std::string name() const override { return merger_.inner_.name(); }
    BackendInfo info() const override { return merger_.inner_.info(); }

   private:
    RoundMerger& merger_;
    std::size_t query_ = 0;
  };

  /// The calling worker asks nothing more: the others no longer wait for it.
  void leave();
  /// Runs the merged calls until every worker has left. Call it on the judge's own thread.
  void serve();
  /// Inner backend calls made (each holds one round of every query waiting at that moment).
  [[nodiscard]] std::int64_t n_calls() const;

 private:
  struct Pending {
    std::size_t query = 0;
    std::span<const VlmRequest> requests;
    std::vector<VlmResponse> responses;
    std::exception_ptr error;
    bool done = false;
  };
  std::vector<VlmResponse> submit(std::size_t query, std::span<const VlmRequest> requests);
  // With the lock held and every active worker waiting: runs their rounds as one call.
  void flush(std::unique_lock<std::mutex>& lock);
  [[nodiscard]] bool all_waiting() const {
    return !waiting_.empty() && static_cast<int>(waiting_.size()) == active_;
  }

  VlmBackend& inner_;
  mutable std::mutex mutex_;
  std::condition_variable answered_;  // workers wait for their round's answers
  std::condition_variable ready_;     // serve() waits for every worker to wait or leave
  int active_;
  std::vector<Pending*> waiting_;
  std::int64_t n_calls_ = 0;
};

}  // namespace georank
