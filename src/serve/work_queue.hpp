#pragma once
// Bounded work for the service: a Gate lets `slots` callers run at once and `queue` more wait
// (the rest are refused at once, and waiting ends at the caller's deadline); a JudgeQueue runs
// jobs one at a time on its own thread (a VLM backend is not thread-safe) from a bounded queue.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace georank::serve {

using Clock = std::chrono::steady_clock;

class Gate {
 public:
  Gate(int slots, int queue) : slots_(slots), queue_(queue) {}
  /// Waits for a slot until `deadline`. Throws BusyError when `queue` callers already wait,
  /// Error(timeout) at the deadline.
  void enter(Clock::time_point deadline, const std::string& what);
  void leave();
  [[nodiscard]] int waiting() const;
  [[nodiscard]] int running() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable free_;
  int slots_, queue_;
  int running_ = 0, waiting_ = 0;
};

/// Holds a Gate's slot for a scope.
class GateSlot {
 public:
  GateSlot(Gate& gate, Clock::time_point deadline, const std::string& what) : gate_(gate) {
    gate_.enter(deadline, what);
  }
  ~GateSlot() { gate_.leave(); }
  GateSlot(const GateSlot&) = delete;
  GateSlot& operator=(const GateSlot&) = delete;

 private:
  Gate& gate_;
};

class JudgeQueue {
 public:
  explicit JudgeQueue(int capacity);
  ~JudgeQueue();
  JudgeQueue(const JudgeQueue&) = delete;
  JudgeQueue& operator=(const JudgeQueue&) = delete;

  using Job = std::function<void()>;
  /// Queues `job`, to start before `deadline` (a job still queued then is dropped and its
  /// `expired` called instead). Throws BusyError when `capacity` jobs are queued.
  void submit(Job job, Job expired, Clock::time_point deadline);
  [[nodiscard]] int waiting() const;
  [[nodiscard]] int running() const;

 private:
  struct Entry {
    Job job, expired;
    Clock::time_point deadline;
  };
  void loop();
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Entry> jobs_;
  int capacity_;
  int running_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace georank::serve
