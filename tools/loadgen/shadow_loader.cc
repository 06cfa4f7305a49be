#include "tools/loadgen/shadow_loader.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include <unistd.h>

#include "tools/loadgen/mqtt_loop.h"

namespace loadgen {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStallNs = 30 * kSecond;

// One connection; replies arrive on $aws/things/+/shadow/update/{accepted,rejected}.
// With a single subscriber there is no fan-out, so the wildcard costs nothing.
class Loader : public Client {
 public:
  explicit Loader(const LoaderConfig& cfg) : cfg_(cfg), next_(cfg.first) {
    // {"state":{"reported":{"n":<index>,"fNN":"..."...}},"clientToken":"<index>"}
    int room = cfg.shadow_bytes - static_cast<int>(payload(1000000).size());
    for (int k = 0; room >= 10; ++k) {
      char name[16];
      std::snprintf(name, sizeof name, ",\"f%02d\":\"", k % 100);
      int len = std::min(40, room - 9);
      padding_ += name;
      for (int j = 0; j < len; ++j) padding_ += static_cast<char>('a' + (j * 7 + k) % 26);
      padding_ += '"';
      room -= 9 + len;
    }
  }

  int state = 0;  // 0 connecting, 1 subscribed, -1 failed
  int64_t accepted = 0, rejected = 0, last_reply_ns = 0;
  std::string first_rejection;

  bool done() const { return next_ >= cfg_.first + cfg_.shadows && pending_ == 0; }
  int64_t sent() const { return next_ - cfg_.first; }

  void on_connect(int rc) override {
    if (rc != 0) {
      fail(std::string("CONNACK refused: ") + mosquitto_connack_string(rc));
      state = -1;
      return;
    }
    std::string err = subscribe({"$aws/things/+/shadow/update/accepted",
                                 "$aws/things/+/shadow/update/rejected"}, cfg_.qos, &sub_mid_);
    if (!err.empty()) {
      fail(err);
      state = -1;
    }
  }
  void on_subscribe(int mid) override {
    if (mid == sub_mid_) state = 1;
  }
  void on_disconnect(int rc) override {
    Client::on_disconnect(rc);
    state = -1;
  }
  void on_message(const mosquitto_message& msg) override {
    std::string_view topic(msg.topic);
    if (topic.substr(0, 12) != "$aws/things/" || topic.find(cfg_.thing_prefix, 12) != 12) return;
    --pending_;
    last_reply_ns = now_ns();
    if (topic.size() >= 9 && topic.substr(topic.size() - 9) == "/accepted") {
      ++accepted;
    } else {
      ++rejected;
      if (first_rejection.empty())
        first_rejection = std::string(topic) + " " +
            std::string(static_cast<const char*>(msg.payload),
                        std::min<size_t>(300, static_cast<size_t>(msg.payloadlen)));
    }
    pump();
  }

  void pump() {
    if (state != 1) return;
    while (pending_ < cfg_.inflight && next_ < cfg_.first + cfg_.shadows) {
      std::string topic = "$aws/things/" + cfg_.thing_prefix + std::to_string(next_) + "/shadow/update";
      std::string body = payload(next_);
      int rc = mosquitto_publish(handle(), nullptr, topic.c_str(), static_cast<int>(body.size()),
                                 body.data(), cfg_.qos, false);
      if (rc != MOSQ_ERR_SUCCESS) {
        fail(std::string("publish failed: ") + mosquitto_strerror(rc));
        state = -1;
        return;
      }
      ++next_;
      ++pending_;
    }
  }

 private:
  std::string payload(int64_t n) const {
    std::string s = R"({"state":{"reported":{"n":)";
    s += std::to_string(n);
    s += padding_;
    s += R"(}},"clientToken":")";
    s += std::to_string(n);
    s += "\"}";
    return s;
  }

  const LoaderConfig& cfg_;
  std::string padding_;
  int64_t next_;
  int pending_ = 0;
  int sub_mid_ = -1;
};

void print_progress(int64_t done, int64_t total, double seconds) {
  constexpr int kWidth = 30;
  double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1;
  int fill = static_cast<int>(frac * kWidth);
  double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
  // A terminal gets a bar redrawn in place; a log file one line per 10 %.
  static const bool tty = ::isatty(STDERR_FILENO) == 1;
  static int logged_tenths = -1;
  if (!tty) {
    int tenths = static_cast<int>(frac * 10);
    if (tenths == logged_tenths) return;
    logged_tenths = tenths;
  }
  std::fprintf(stderr, "%s[%.*s%*s] %5.1f%% %lld/%lld shadows, %.0f/s, ETA %.0f s   %s", tty ? "\r" : "",
               fill, "##############################", kWidth - fill, "", frac * 100,
               static_cast<long long>(done), static_cast<long long>(total), rate, eta, tty ? "" : "\n");
}

}  // namespace

LoaderResult load_shadows(const LoaderConfig& cfg, const std::atomic<bool>* interrupted) {
  LoaderResult result;
  Loader loader(cfg);
  std::string err = loader.connect("shadow-loader-" + std::to_string(::getpid()), cfg.host, cfg.port);
  if (!err.empty()) {
    result.error = err;
    return result;
  }
  int64_t t0 = now_ns();
  int64_t last_print = 0;
  loader.last_reply_ns = t0;
  EventLoop loop({&loader});
  loop.run([&](int64_t now, int64_t* wake) {
    *wake = now + 100'000'000;
    if (interrupted && interrupted->load()) return false;
    if (loader.state < 0 || loader.done()) return false;
    if (loader.state == 1) loader.pump();
    if (now - loader.last_reply_ns > kStallNs) {
      result.error = "no reply for 30 s; giving up";
      return false;
    }
    if (cfg.progress && now - last_print > kSecond / 2) {
      print_progress(loader.accepted + loader.rejected, cfg.shadows,
                     static_cast<double>(now - t0) / kSecond);
      last_print = now;
    }
    return true;
  });
  result.seconds = static_cast<double>(now_ns() - t0) / kSecond;
  if (cfg.progress) {
    print_progress(loader.accepted + loader.rejected, cfg.shadows, result.seconds);
    std::fprintf(stderr, "\n");
  }
  if (result.error.empty() && !loader.failure().empty()) result.error = loader.failure();
  if (result.error.empty() && loader.state != 1) result.error = "not subscribed";
  result.accepted = loader.accepted;
  result.rejected = loader.rejected;
  result.first_rejection = loader.first_rejection;
  loader.disconnect();
  return result;
}

}  // namespace loadgen
