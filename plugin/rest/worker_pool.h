// The threads that run complete HTTP requests (RestApi::handle). A request
// may wait there: for a shadow lock, or in durable mode for the fsync that
// covers its write. Connections never hold a worker while they are idle or
// still sending: the HTTP server hands over only complete requests.
//
// Threads start on demand, when a job arrives and none is free, up to
// `max_threads` (plugin_opt_http_threads); they then stay until stop().
// Jobs wait in a FIFO queue, which the server bounds by its connection
// limit (a connection has at most one request in a worker). Pure C++.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace shadow::rest {

class WorkerPool {
 public:
  explicit WorkerPool(size_t max_threads);
  // stop().
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job`; false (and the job is dropped) once stop() has begun.
  // Threads are started with the caller's signal mask.
  bool submit(std::function<void()> job);

  // Drops the queued jobs, lets the running ones finish and joins every
  // thread. Idempotent.
  void stop();

  size_t threads() const;

 private:
  void run();

  const size_t max_threads_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;  // grows under mutex_ until stop()
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace shadow::rest
