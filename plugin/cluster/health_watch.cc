#include "plugin/cluster/health_watch.h"

namespace shadow::cluster {

HealthWatch::HealthWatch(std::function<Status()> check, std::function<void(const Status&, bool)> changed,
                         std::chrono::milliseconds interval)
    : check_(std::move(check)), changed_(std::move(changed)), interval_(interval) {}

HealthWatch::~HealthWatch() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HealthWatch::start() {
  thread_ = std::thread([this] { run(); });
}

Status HealthWatch::current() const {
  std::lock_guard<std::mutex> g(mu_);
  if (!checked_) return Status::unavailable("the shadow store has not been checked yet");
  return current_;
}

void HealthWatch::run() {
  bool first = true;
  std::string last;
  for (;;) {
    Status now = check_();
    std::string text = now.is_ok() ? std::string() : now.message();
    bool changed = first || text != last;
    {
      std::lock_guard<std::mutex> g(mu_);
      current_ = now;
      checked_ = true;
    }
    if (changed && changed_) changed_(now, first);
    first = false;
    last = text;
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, interval_, [&] { return stop_; })) return;
  }
}

}  // namespace shadow::cluster
