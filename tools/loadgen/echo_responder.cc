#include "tools/loadgen/echo_responder.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <string>

#include "tools/loadgen/mqtt_loop.h"

namespace loadgen {

struct EchoResponder::Impl : Client {
  int qos = 1;
  bool events = false;
  int sub_mid = -1;
  std::atomic<int> state{0};  // 0 connecting, 1 subscribed, -1 failed
  std::atomic<uint64_t>* answered = nullptr;
  std::string reply_topic;

  void on_connect(int rc) override {
    if (rc != 0) {
      fail(std::string("CONNACK refused: ") + mosquitto_connack_string(rc));
      state = -1;
      return;
    }
    std::string err = subscribe({"$aws/things/+/shadow/update", "$aws/things/+/shadow/get"}, qos, &sub_mid);
    if (!err.empty()) {
      fail(err);
      state = -1;
    }
  }
  void on_subscribe(int mid) override {
    if (mid == sub_mid) state = 1;
  }
  void on_disconnect(int rc) override {
    Client::on_disconnect(rc);
    if (state == 0) state = -1;
  }
  void on_message(const mosquitto_message& msg) override {
    reply_topic.assign(msg.topic).append("/accepted");
    mosquitto_publish(handle(), nullptr, reply_topic.c_str(), msg.payloadlen, msg.payload, msg.qos,
                      false);
    if (events && reply_topic.ends_with("/update/accepted")) {
      for (const char* event : {"/delta", "/documents"}) {
        reply_topic.assign(msg.topic).append(event);
        mosquitto_publish(handle(), nullptr, reply_topic.c_str(), msg.payloadlen, msg.payload, msg.qos,
                          false);
      }
    }
    answered->fetch_add(1, std::memory_order_relaxed);
  }
};

EchoResponder::EchoResponder() = default;
EchoResponder::~EchoResponder() { stop(); }

std::string EchoResponder::start(const std::string& host, int port, int qos, bool events) {
  impl_ = std::make_unique<Impl>();
  impl_->qos = qos;
  impl_->events = events;
  impl_->answered = &answered_;
  std::string err = impl_->connect("shadow-loadgen-echo-" + std::to_string(::getpid()), host, port);
  if (!err.empty()) return "echo responder: " + err;
  thread_ = std::thread([this] {
    timespec t1{};
    EventLoop loop({impl_.get()});
    loop.run([this](int64_t now, int64_t* wake) {
      *wake = now + 50'000'000;  // only to notice stop()
      return !quit_.load(std::memory_order_relaxed);
    });
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    cpu_s_ = static_cast<double>(t1.tv_sec) + static_cast<double>(t1.tv_nsec) / 1e9;
  });
  // Wait (bounded) until the subscription is in place.
  for (int i = 0; i < 5000 && impl_->state == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (impl_->state != 1) {
    quit_ = true;
    thread_.join();  // the failure text is written on the responder thread
    std::string why = impl_->failure().empty() ? "no SUBACK within 5 s" : impl_->failure();
    stop();
    return "echo responder: " + why;
  }
  return "";
}

double EchoResponder::cpu_seconds() const {
  if (!thread_.joinable()) return cpu_s_.load();
  clockid_t clock;
  timespec ts{};
  if (pthread_getcpuclockid(const_cast<std::thread&>(thread_).native_handle(), &clock) != 0 ||
      clock_gettime(clock, &ts) != 0) {
    return -1;
  }
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void EchoResponder::stop() {
  quit_ = true;
  if (thread_.joinable()) thread_.join();
  if (impl_) {
    impl_->disconnect();
    impl_.reset();
  }
}

}  // namespace loadgen
