#include "work_queue.hpp"

#include "georank/core/error.hpp"
#include "georank/serve/localizer.hpp"

namespace georank::serve {

void Gate::enter(Clock::time_point deadline, const std::string& what) {
  std::unique_lock lock(mutex_);
  if (running_ < slots_) {
    ++running_;
    return;
  }
  if (waiting_ >= queue_)
    throw BusyError(what + ": " + std::to_string(waiting_) + " requests are already waiting", 1);
  ++waiting_;
  const bool got = free_.wait_until(lock, deadline, [this] { return running_ < slots_; });
  --waiting_;
  if (!got) throw Error(ErrorKind::timeout, what + ": no worker became free before the request's deadline");
  ++running_;
}

void Gate::leave() {
  {
    std::lock_guard lock(mutex_);
    --running_;
  }
  free_.notify_one();
}

int Gate::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_;
}

int Gate::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

JudgeQueue::JudgeQueue(int capacity) : capacity_(capacity), thread_([this] { loop(); }) {}

JudgeQueue::~JudgeQueue() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void JudgeQueue::submit(Job job, Job expired, Clock::time_point deadline) {
  {
    std::lock_guard lock(mutex_);
    if (static_cast<int>(jobs_.size()) >= capacity_)
      throw BusyError("the judge queue is full (" + std::to_string(jobs_.size()) + " rerank jobs waiting)",
                      2);
    jobs_.push_back({std::move(job), std::move(expired), deadline});
  }
  wake_.notify_one();
}

int JudgeQueue::waiting() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(jobs_.size());
}

int JudgeQueue::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

void JudgeQueue::loop() {
  for (;;) {
    Entry e;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, nothing left
      e = std::move(jobs_.front());
      jobs_.pop_front();
      ++running_;
    }
    if (Clock::now() > e.deadline)
      e.expired();
    else
      e.job();
    std::lock_guard lock(mutex_);
    --running_;
  }
}

}  // namespace georank::serve
