#include "plugin/runtime/group_commit.h"

#include <cerrno>
#include <cstring>
#include <ctime>

namespace shadow::runtime {

// --- SyncTrace --------------------------------------------------------------

StatusOr<std::unique_ptr<SyncTrace>> SyncTrace::open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) return Status::io_error("cannot open " + path + ": " + std::strerror(errno));
  // Line-buffered: a test reads the file while, or right after, the broker runs.
  std::setvbuf(f, nullptr, _IOLBF, 0);
  return std::unique_ptr<SyncTrace>(new SyncTrace(f));
}

SyncTrace::~SyncTrace() { std::fclose(f_); }

int64_t SyncTrace::monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void SyncTrace::line(const char* kind, uint64_t seq, std::string_view topic) {
  std::lock_guard<std::mutex> g(mu_);
  // The clock is read under the lock, so file order is time order.
  std::fprintf(f_, "%s %llu %lld", kind, static_cast<unsigned long long>(seq),
               static_cast<long long>(monotonic_ns()));
  if (!topic.empty()) std::fprintf(f_, " %.*s", static_cast<int>(topic.size()), topic.data());
  std::fputc('\n', f_);
}

void SyncTrace::sync(uint64_t durable_seq) { line("sync", durable_seq, {}); }
void SyncTrace::ack(uint64_t tag, std::string_view topic) { line("ack", tag, topic); }
void SyncTrace::fail(uint64_t tag, std::string_view topic) { line("fail", tag, topic); }

// --- GroupCommitter ---------------------------------------------------------

GroupCommitter::GroupCommitter(GroupCommitHooks hooks, SyncTrace* trace)
    : hooks_(std::move(hooks)), trace_(trace) {
  thread_ = std::thread([this] { run(); });
}

GroupCommitter::~GroupCommitter() { stop(); }

void GroupCommitter::request(uint64_t seq) {
  uint64_t prev = requested_.load();
  while (prev < seq && !requested_.compare_exchange_weak(prev, seq)) {
  }
  if (prev >= seq) return;  // an earlier request already covers it
  // The syncer sets idle_ before it re-checks requested_ and sleeps; both
  // sides use sequentially consistent atomics, so either it sees the new
  // request, or this sees idle_ and wakes it (no lost wake-up).
  if (idle_.load()) {
    std::lock_guard<std::mutex> g(mu_);
    work_cv_.notify_one();
  }
}

std::string GroupCommitter::failure() const {
  std::lock_guard<std::mutex> g(mu_);
  return failure_;
}

GroupCommitter::Wait GroupCommitter::wait_durable(uint64_t seq,
                                                  std::chrono::milliseconds timeout) {
  if (durable() >= seq) return Wait::kDurable;
  request(seq);
  std::unique_lock<std::mutex> lock(mu_);
  waiters_.fetch_add(1, std::memory_order_acq_rel);
  durable_cv_.wait_for(lock, timeout, [&] { return durable() >= seq || failed() || stopped_; });
  waiters_.fetch_sub(1, std::memory_order_acq_rel);
  if (durable() >= seq) return Wait::kDurable;
  if (failed() || stopped_) return Wait::kFailed;
  return Wait::kTimeout;
}

void GroupCommitter::stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (stopped_) return;
    stop_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard<std::mutex> g(mu_);
    stopped_ = true;
  }
  durable_cv_.notify_all();
}

void GroupCommitter::sync_once(std::unique_lock<std::mutex>& lock) {
  // Read before the fsync: every write numbered up to `target` is already in
  // the log file, so the fsync covers it. Later writes wait for the next round.
  uint64_t target = hooks_.latest_seq();
  if (target <= durable()) return;
  lock.unlock();
  Status synced = hooks_.sync();
  if (synced.is_ok()) {
    // Traced before durable_ is raised: any ack it allows is logged later.
    if (trace_ != nullptr) trace_->sync(target);
    durable_.store(target, std::memory_order_release);
    syncs_.fetch_add(1, std::memory_order_relaxed);
  }
  lock.lock();
  if (!synced.is_ok()) {
    failure_ = synced.message();
    failed_.store(true, std::memory_order_release);
  }
  // Under the lock, so a waiter between its check and its sleep cannot miss it.
  durable_cv_.notify_all();
  lock.unlock();
  if (hooks_.on_progress) hooks_.on_progress();
  lock.lock();
}

void GroupCommitter::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    idle_.store(true);
    // The timeout is only a safety net: request() wakes the thread.
    work_cv_.wait_for(lock, std::chrono::milliseconds(100), [this] {
      return stop_ || (!failed() && requested_.load() > durable());
    });
    idle_.store(false);
    if (stop_) break;
    if (failed()) continue;  // sticky: nothing can become durable any more
    sync_once(lock);
  }
  // Shutdown: everything applied so far becomes durable.
  if (!failed()) sync_once(lock);
}

// --- DurableMode ------------------------------------------------------------

DurableMode::DurableMode(std::function<uint64_t()> latest_seq, std::function<Status()> sync,
                         std::function<void()> wake, std::unique_ptr<SyncTrace> trace)
    : latest_seq_(std::move(latest_seq)),
      trace_(std::move(trace)),
      committer_(
          GroupCommitHooks{latest_seq_, std::move(sync),
                           [this, wake = std::move(wake)] {
                             if (!queue_.empty() && wake) wake();
                           }},
          trace_.get()) {}

uint64_t DurableMode::hold(std::vector<OutMessage> messages, std::optional<ReplyAddress> reply_to) {
  uint64_t tag = queue_.push(current_seq(), std::move(messages), std::move(reply_to));
  committer_.request(tag);
  return tag;
}

}  // namespace shadow::runtime
