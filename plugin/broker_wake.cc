#include "plugin/broker_wake.h"

#include <cerrno>
#include <chrono>
#include <cstring>

namespace shadow::plugin {
namespace {

void ignore_wake(int) {}  // its only effect is to interrupt epoll_wait

sigset_t blocked_set() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, wake_signal()}) sigaddset(&set, s);
  return set;
}

}  // namespace

int wake_signal() { return SIGRTMIN + 3; }

ScopedSignalBlock::ScopedSignalBlock() {
  sigset_t set = blocked_set();
  pthread_sigmask(SIG_BLOCK, &set, &previous_);
}

ScopedSignalBlock::~ScopedSignalBlock() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

Status BrokerWaker::start() {
  struct sigaction old {};
  if (sigaction(wake_signal(), nullptr, &old) != 0) return Status::internal(std::strerror(errno));
  if (old.sa_handler != SIG_DFL && old.sa_handler != ignore_wake) {
    return Status::unavailable("signal SIGRTMIN+3 already has a handler in this process");
  }
  struct sigaction sa {};
  sa.sa_handler = ignore_wake;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(wake_signal(), &sa, nullptr) != 0) return Status::internal(std::strerror(errno));
  // The calling (main) thread must be able to receive it.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, wake_signal());
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  target_ = pthread_self();
  target_set_ = true;

  // The waker thread must not receive the broker's signals itself.
  sigset_t blocked = blocked_set(), previous;
  pthread_sigmask(SIG_BLOCK, &blocked, &previous);
  thread_ = std::thread([this] { run(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return Status::ok();
}

BrokerWaker::~BrokerWaker() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BrokerWaker::request() {
  bool was_idle;
  {
    std::lock_guard<std::mutex> g(mu_);
    was_idle = requested_ == acknowledged_;
    requested_++;
    // The first signal goes out from the calling thread: on a busy machine,
    // waking the waker thread first can add a scheduling delay of several
    // milliseconds. The waker thread still repeats it until acknowledged.
    if (was_idle && target_set_) {
      pthread_kill(target_, wake_signal());
      signals_sent_++;
    }
  }
  if (was_idle) cv_.notify_one();
}

void BrokerWaker::acknowledge() {
  std::lock_guard<std::mutex> g(mu_);
  acknowledged_ = requested_;
}

uint64_t BrokerWaker::signals_sent() const {
  std::lock_guard<std::mutex> g(mu_);
  return signals_sent_;
}

void BrokerWaker::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait(lock, [this] { return stop_ || requested_ != acknowledged_; });
    // Signal until acknowledged: quickly at first, then slowly in case the
    // broker never drains (no TICK).
    for (int attempt = 0; !stop_ && requested_ != acknowledged_; attempt++) {
      pthread_kill(target_, wake_signal());
      signals_sent_++;
      auto pause = attempt < 100 ? std::chrono::milliseconds(1) : std::chrono::milliseconds(100);
      cv_.wait_for(lock, pause, [this] { return stop_ || requested_ == acknowledged_; });
    }
  }
}

}  // namespace shadow::plugin
