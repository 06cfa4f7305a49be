// Waking the broker's main loop from another thread, so that messages queued
// by REST requests are published within milliseconds instead of at the next
// idle TICK (Mosquitto 2.0.11 runs its loop at least every 100 ms when idle).
//
// Mosquitto 2.0.11 sleeps in epoll_wait(..., 100) and ignores EINTR. A signal
// sent to the main thread with pthread_kill interrupts that wait; the loop
// then runs and fires TICK, whose callback drains the queue. The handler is a
// no-op installed with SA_RESTART, so other interrupted system calls resume.
//
// A signal that arrives while the loop is busy, just before it goes back to
// sleep, does not shorten the next wait. So the waker repeats the signal
// every millisecond until the broker thread acknowledges (it calls
// acknowledge() when it drains), then every 100 ms if the broker never
// drains (TICK does not fire with per_listener_settings true).
//
// Pure POSIX: no broker headers.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "common/status.h"
#include "plugin/runtime/pipeline.h"

namespace shadow::plugin {

// The wake-up signal: a real-time signal nothing else in the broker uses.
int wake_signal();

// Blocks, in the calling thread, the signals Mosquitto handles (INT, TERM,
// HUP, USR1, USR2) and the wake signal, restoring the previous mask when
// destroyed. Threads created meanwhile inherit the blocked mask, so signals
// meant for the broker reach its main thread only.
class ScopedSignalBlock {
 public:
  ScopedSignalBlock();
  ~ScopedSignalBlock();
  ScopedSignalBlock(const ScopedSignalBlock&) = delete;
  ScopedSignalBlock& operator=(const ScopedSignalBlock&) = delete;

 private:
  sigset_t previous_;
};

class BrokerWaker final : public runtime::Wakeup {
 public:
  // Installs the no-op handler for wake_signal(). Call on the thread to wake
  // (the broker's main thread); an error says why it failed (the handler
  // slot is already taken, ...). The waker thread starts on success.
  Status start();
  ~BrokerWaker() override;

  // Any thread: the broker should drain soon. Cheap when a wake is pending.
  // The first signal is sent right here; the waker thread repeats it.
  void request() override;
  // Broker thread, before it takes the queue: every request made so far is
  // being served.
  void acknowledge() override;

  uint64_t signals_sent() const;

 private:
  void run();

  pthread_t target_{};
  bool target_set_ = false;  // start() succeeded
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t requested_ = 0;
  uint64_t acknowledged_ = 0;
  uint64_t signals_sent_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace shadow::plugin
