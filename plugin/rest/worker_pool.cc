#include "plugin/rest/worker_pool.h"

#include <utility>

namespace shadow::rest {

WorkerPool::WorkerPool(size_t max_threads) : max_threads_(max_threads < 1 ? 1 : max_threads) {}

WorkerPool::~WorkerPool() { stop(); }

bool WorkerPool::submit(std::function<void()> job) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return false;
  jobs_.push_back(std::move(job));
  if (idle_ < jobs_.size() && threads_.size() < max_threads_) threads_.emplace_back([this] { run(); });
  wake_.notify_one();
  return true;
}

void WorkerPool::stop() {
  std::vector<std::thread> threads;
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    dropped.swap(jobs_);
    threads.swap(threads_);
  }
  wake_.notify_all();
  for (std::thread& t : threads) t.join();
  // `dropped` is destroyed here, outside the lock: a job may own objects
  // whose destructors take time (a connection's socket).
}

size_t WorkerPool::threads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return threads_.size();
}

void WorkerPool::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    idle_++;
    wake_.wait(lock, [this] { return !jobs_.empty() || stopping_; });
    idle_--;
    if (stopping_) return;
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // its captures are released before the lock is taken
    lock.lock();
  }
}

}  // namespace shadow::rest
