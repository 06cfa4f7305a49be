#include "tools/loadgen/load_run.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tools/loadgen/mqtt_loop.h"

namespace loadgen {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kDrainNs = 5 * kSecond;       // wait this long for late replies
constexpr int64_t kSetupNs = 30 * kSecond;      // connect, subscribe and seed
// Every thing gets a desired state its devices never report, so each accepted
// update also has a non-empty delta and /update/delta is published (the
// "accepted + delta + documents" configuration of docs/benchmarks/broker-load.md).
constexpr const char* kSeedDesired = R"({"state":{"desired":{"mode":"eco","setpoint":21}})";

// Written by the main thread before `go` is published; read by the loops.
struct Shared {
  const RunConfig* cfg = nullptr;
  std::atomic<int64_t> go_ns{0};
  std::atomic<int64_t> measure_start_ns{0};
  std::atomic<int64_t> send_end_ns{0};
  std::atomic<int64_t> budget{0};  // requests left when cfg->max_requests > 0
  std::atomic<bool> quit{false};   // leave the loops now
  std::atomic<int> settled{0};     // clients that are ready or failed
  std::atomic<int> failed{0};      // clients that failed during setup
};

// Counters of one loop thread; only that thread writes them.
struct ThreadStats {
  Histogram latency;
  uint64_t sent = 0, accepted = 0, accepted_updates = 0, accepted_gets = 0, rejected = 0,
           errors = 0, missing = 0, events = 0;
  double cpu_s = 0;
  std::string first_rejection;
};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The clientToken string of a reply, or "" (no JSON parser needed: we only
// look for the token the load generator itself wrote).
std::string_view client_token(const void* payload, int len) {
  static constexpr std::string_view key = "\"clientToken\"";
  std::string_view p(static_cast<const char*>(payload), static_cast<size_t>(len));
  size_t at = p.rfind(key);
  if (at == std::string_view::npos) return {};
  size_t i = at + key.size();
  while (i < p.size() && (p[i] == ' ' || p[i] == ':')) ++i;
  if (i >= p.size() || p[i] != '"') return {};
  size_t end = p.find('"', i + 1);
  if (end == std::string_view::npos) return {};
  return p.substr(i + 1, end - i - 1);
}

bool in_window(const Shared& sh, int64_t t) {
  return t >= sh.measure_start_ns.load(std::memory_order_relaxed) &&
         t <= sh.send_end_ns.load(std::memory_order_relaxed);
}

// One client that sends requests and matches their replies.
class LoadConnection : public Client {
 public:
  LoadConnection(int index, std::vector<std::string> things, Shared* sh, ThreadStats* stats)
      : index_(index), things_(std::move(things)), sh_(sh), stats_(stats) {
    const RunConfig& cfg = *sh->cfg;
    for (const auto& t : things_) {
      std::string base = "$aws/things/" + t + "/shadow/";
      update_topics_.push_back(base + "update");
      get_topics_.push_back(base + "get");
    }
    build_padding(cfg.payload_bytes);
    prefix_ = std::to_string(index_) + "-";
  }

  bool ready() const { return ready_; }
  size_t pending() const { return pending_.size(); }
  void set_stats(ThreadStats* stats) { stats_ = stats; }

  void on_connect(int rc) override {
    if (rc != 0) {
      fail(std::string("CONNACK refused: ") + mosquitto_connack_string(rc));
      settle();
      return;
    }
    std::vector<std::string> topics;
    for (size_t i = 0; i < things_.size(); ++i) {
      if (sh_->cfg->mix_update > 0 || sh_->cfg->seed) {
        topics.push_back(update_topics_[i] + "/accepted");
        topics.push_back(update_topics_[i] + "/rejected");
      }
      if (sh_->cfg->mix_get > 0) {
        topics.push_back(get_topics_[i] + "/accepted");
        topics.push_back(get_topics_[i] + "/rejected");
      }
    }
    std::string err = subscribe(topics, sh_->cfg->qos, &sub_mid_);
    if (!err.empty()) {
      fail(err);
      settle();
    }
  }

  void on_subscribe(int mid) override {
    if (mid != sub_mid_) return;
    if (sh_->cfg->seed) {
      send_seeds();
    } else {
      ready_ = true;
      settle();
    }
  }

  void on_disconnect(int rc) override {
    Client::on_disconnect(rc);
    if (!failure().empty()) ++stats_->errors;
    settle();
  }

  void on_message(const mosquitto_message& msg) override {
    int64_t now = now_ns();
    std::string_view topic(msg.topic);
    bool accepted = ends_with(topic, "/accepted");
    if (!accepted && !ends_with(topic, "/rejected")) return;
    std::string_view token = client_token(msg.payload, msg.payloadlen);
    // Another connection's request on a shared thing.
    if (token.substr(0, prefix_.size()) != prefix_) return;
    token.remove_prefix(prefix_.size());
    if (!token.empty() && token[0] == 's') {
      on_seed_reply(accepted, msg);
      return;
    }
    uint64_t seq = 0;
    for (char ch : token) seq = seq * 10 + static_cast<uint64_t>(ch - '0');
    auto it = pending_.find(seq);
    if (it == pending_.end()) return;
    Pending p = it->second;
    pending_.erase(it);
    if (in_window(*sh_, now)) {
      if (accepted) {
        ++stats_->accepted;
        ++(p.is_get ? stats_->accepted_gets : stats_->accepted_updates);
        stats_->latency.record(now - p.start_ns);
      } else {
        ++stats_->rejected;
        if (stats_->first_rejection.empty())
          stats_->first_rejection = std::string(topic) + " " +
              std::string(static_cast<const char*>(msg.payload),
                          std::min<size_t>(300, static_cast<size_t>(msg.payloadlen)));
      }
    }
    pump(now);
  }

  // Sends requests while the window and the schedule allow.
  void pump(int64_t now) {
    if (!ready_ || !alive()) return;
    int64_t go = sh_->go_ns.load(std::memory_order_acquire);
    if (go == 0 || now >= sh_->send_end_ns.load(std::memory_order_relaxed)) return;
    const RunConfig& cfg = *sh_->cfg;
    if (cfg.rate > 0 && next_due_ns_ == 0) {
      // Stagger the connections evenly over one request interval.
      interval_ns_ = static_cast<int64_t>(static_cast<double>(cfg.connections) * kSecond / cfg.rate);
      next_due_ns_ = go + interval_ns_ * index_ / cfg.connections;
    }
    while (pending_.size() < static_cast<size_t>(cfg.inflight)) {
      int64_t start = now;
      if (cfg.rate > 0) {
        if (now < next_due_ns_) break;
        // Latency counts from when the request was due, so a backlog shows
        // up in the figures instead of silently lowering the rate.
        start = next_due_ns_;
        next_due_ns_ += interval_ns_;
      }
      if (cfg.max_requests > 0 && sh_->budget.fetch_sub(1) <= 0) return;
      send_request(start);
    }
  }

  // When this connection next wants to send (open loop), or 0.
  int64_t next_due() const { return interval_ns_ > 0 ? next_due_ns_ : 0; }

  void count_missing() { stats_->missing += pending_.size(); }

 private:
  struct Pending {
    int64_t start_ns;
    bool is_get;
  };

  void settle() {
    if (settled_) return;
    settled_ = true;
    if (!failure().empty()) sh_->failed.fetch_add(1);
    sh_->settled.fetch_add(1);
  }

  void build_padding(int payload_bytes) {
    // {"state":{"reported":{"seq":N<padding>}},"clientToken":"C-N"} with
    // N of 7 digits is this long without padding.
    std::string probe = update_payload(1000000);
    int room = payload_bytes - static_cast<int>(probe.size());
    for (int k = 0; room >= 10; ++k) {
      char name[16];
      std::snprintf(name, sizeof name, ",\"f%02d\":\"", k % 100);
      int value_len = std::min(40, room - 9);
      padding_ += name;
      for (int j = 0; j < value_len; ++j) padding_ += static_cast<char>('a' + (j + k + index_) % 26);
      padding_ += '"';
      room -= 9 + value_len;
    }
  }

  std::string update_payload(uint64_t seq) const {
    std::string s = R"({"state":{"reported":{"seq":)";
    s += std::to_string(seq);
    s += padding_;
    s += R"(}},"clientToken":")";
    s += std::to_string(index_);
    s += '-';
    s += std::to_string(seq);
    s += "\"}";
    return s;
  }

  void send_request(int64_t start_ns) {
    const RunConfig& cfg = *sh_->cfg;
    uint64_t k = request_count_++;
    bool is_get = cfg.mix_get > 0 &&
        static_cast<int>(k % static_cast<uint64_t>(cfg.mix_update + cfg.mix_get)) >= cfg.mix_update;
    size_t t = static_cast<size_t>(k % things_.size());
    uint64_t seq = next_seq_++;
    std::string payload;
    const std::string* topic;
    if (is_get) {
      payload = "{\"clientToken\":\"" + prefix_ + std::to_string(seq) + "\"}";
      topic = &get_topics_[t];
    } else {
      payload = update_payload(seq);
      topic = &update_topics_[t];
    }
    int rc = mosquitto_publish(handle(), nullptr, topic->c_str(), static_cast<int>(payload.size()),
                               payload.data(), cfg.qos, false);
    if (rc != MOSQ_ERR_SUCCESS) {
      ++stats_->errors;
      return;
    }
    ++stats_->sent;
    pending_.emplace(seq, Pending{start_ns, is_get});
  }

  void send_seeds() {
    for (size_t i = 0; i < things_.size(); ++i) {
      std::string payload = std::string(kSeedDesired) + ",\"clientToken\":\"" + prefix_ + "s" +
                            std::to_string(i) + "\"}";
      int rc = mosquitto_publish(handle(), nullptr, update_topics_[i].c_str(),
                                 static_cast<int>(payload.size()), payload.data(), sh_->cfg->qos, false);
      if (rc != MOSQ_ERR_SUCCESS) {
        fail(std::string("publish failed: ") + mosquitto_strerror(rc));
        settle();
        return;
      }
    }
  }

  void on_seed_reply(bool accepted, const mosquitto_message& msg) {
    if (!accepted) {
      fail("the broker rejected the seed update on " + std::string(msg.topic) + ": " +
           std::string(static_cast<const char*>(msg.payload), static_cast<size_t>(msg.payloadlen)));
      settle();
      return;
    }
    if (++seeds_done_ == things_.size() && !ready_) {
      ready_ = true;
      settle();
    }
  }

  int index_;
  std::vector<std::string> things_;
  std::vector<std::string> update_topics_, get_topics_;
  Shared* sh_;
  ThreadStats* stats_;
  std::string padding_, prefix_;
  int sub_mid_ = -1;
  size_t seeds_done_ = 0;
  bool ready_ = false, settled_ = false;
  std::unordered_map<uint64_t, Pending> pending_;
  uint64_t next_seq_ = 0, request_count_ = 0;
  int64_t next_due_ns_ = 0, interval_ns_ = 0;
};

// A client subscribed to update/delta and update/documents of some things,
// so the broker delivers the events as it would in production.
class EventSubscriber : public Client {
 public:
  EventSubscriber(std::vector<std::string> things, Shared* sh, ThreadStats* stats)
      : sh_(sh), stats_(stats) {
    for (const auto& t : things) {
      topics_.push_back("$aws/things/" + t + "/shadow/update/delta");
      topics_.push_back("$aws/things/" + t + "/shadow/update/documents");
    }
  }
  void set_stats(ThreadStats* stats) { stats_ = stats; }

  void on_connect(int rc) override {
    if (rc != 0) {
      fail(std::string("CONNACK refused: ") + mosquitto_connack_string(rc));
    } else if (topics_.empty()) {
      // More subscribers than things: nothing to watch.
    } else if (std::string err = subscribe(topics_, sh_->cfg->qos, &sub_mid_); !err.empty()) {
      fail(err);
    } else {
      return;
    }
    settle();
  }
  void on_subscribe(int mid) override {
    if (mid == sub_mid_) settle();
  }
  void on_disconnect(int rc) override {
    Client::on_disconnect(rc);
    if (!failure().empty()) ++stats_->errors;
    settle();
  }
  void on_message(const mosquitto_message&) override {
    if (in_window(*sh_, now_ns())) ++stats_->events;
  }

 private:
  void settle() {
    if (settled_) return;
    settled_ = true;
    if (!failure().empty()) sh_->failed.fetch_add(1);
    sh_->settled.fetch_add(1);
  }
  Shared* sh_;
  ThreadStats* stats_;
  std::vector<std::string> topics_;
  int sub_mid_ = -1;
  bool settled_ = false;
};

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The loop of one thread: setup, traffic, drain.
void run_thread(Shared* sh, std::vector<LoadConnection*> loads, std::vector<Client*> clients,
                ThreadStats* stats) {
  double cpu0 = thread_cpu_seconds();
  EventLoop loop(std::move(clients));
  loop.run([&](int64_t now, int64_t* wake) {
    if (sh->quit.load(std::memory_order_relaxed)) return false;
    if (sh->go_ns.load(std::memory_order_acquire) == 0) return true;  // setup
    int64_t send_end = sh->send_end_ns.load(std::memory_order_relaxed);
    if (now < send_end) {
      int64_t next = 0;
      for (LoadConnection* c : loads) {
        c->pump(now);
        int64_t due = c->next_due();
        if (due > 0 && (next == 0 || due < next)) next = due;
      }
      *wake = next > 0 ? std::min(next, send_end) : now + 1'000'000;
      return true;
    }
    // Drain: wait for the replies still in flight, bounded.
    bool waiting = false;
    for (LoadConnection* c : loads) waiting = waiting || (c->alive() && c->pending() > 0);
    return waiting && now < send_end + kDrainNs;
  });
  for (LoadConnection* c : loads) c->count_missing();
  stats->cpu_s = thread_cpu_seconds() - cpu0;
}

void sleep_until_ns(int64_t t, const std::atomic<bool>* interrupted) {
  while (now_ns() < t && !(interrupted && interrupted->load())) {
    int64_t left = t - now_ns();
    std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<int64_t>(left, 50'000'000)));
  }
}

}  // namespace

int thing_count(const RunConfig& cfg) { return cfg.things > 0 ? cfg.things : cfg.connections; }

int event_subscriber_count(const RunConfig& cfg) {
  return cfg.event_subscribers >= 0 ? cfg.event_subscribers
                                    : std::min(thing_count(cfg), kMaxAutoSubscribers);
}

std::string thing_name(const RunConfig& cfg, int i) {
  return cfg.thing_prefix + std::to_string(static_cast<int64_t>(i) * cfg.thing_step);
}

RunResult run_load(const RunConfig& cfg, const Probes& probes, const std::atomic<bool>* interrupted) {
  RunResult result;
  Shared sh;
  sh.cfg = &cfg;
  sh.budget = cfg.max_requests;
  const int nthings = thing_count(cfg);
  const int nsubs = event_subscriber_count(cfg);
  const int nthreads = std::max(1, std::min(cfg.threads, cfg.connections + nsubs));
  std::vector<ThreadStats> stats(static_cast<size_t>(nthreads));

  // Connection c owns things c, c+N, ...; with fewer things than connections,
  // connections share them (thing c mod things).
  std::vector<std::unique_ptr<LoadConnection>> loads;
  for (int c = 0; c < cfg.connections; ++c) {
    std::vector<std::string> mine;
    if (nthings >= cfg.connections) {
      for (int i = c; i < nthings; i += cfg.connections) mine.push_back(thing_name(cfg, i));
    } else {
      mine.push_back(thing_name(cfg, c % nthings));
    }
    loads.push_back(std::make_unique<LoadConnection>(c, std::move(mine), &sh, nullptr));
  }
  std::vector<std::unique_ptr<EventSubscriber>> subs;
  for (int s = 0; s < nsubs; ++s) {
    std::vector<std::string> mine;
    for (int i = s; i < nthings; i += nsubs) mine.push_back(thing_name(cfg, i));
    subs.push_back(std::make_unique<EventSubscriber>(std::move(mine), &sh, nullptr));
  }

  // Round-robin the clients over the threads, then connect them all.
  std::vector<std::vector<LoadConnection*>> thread_loads(static_cast<size_t>(nthreads));
  std::vector<std::vector<Client*>> thread_clients(static_cast<size_t>(nthreads));
  std::string run_id = std::to_string(::getpid());
  for (size_t i = 0; i < loads.size(); ++i) {
    size_t t = i % static_cast<size_t>(nthreads);
    loads[i]->set_stats(&stats[t]);
    thread_loads[t].push_back(loads[i].get());
    thread_clients[t].push_back(loads[i].get());
    std::string err = loads[i]->connect(
        cfg.client_prefix + "-" + run_id + "-c" + std::to_string(i), cfg.host, cfg.port);
    if (!err.empty()) {
      result.error = err;
      return result;
    }
  }
  for (size_t i = 0; i < subs.size(); ++i) {
    size_t t = (loads.size() + i) % static_cast<size_t>(nthreads);
    subs[i]->set_stats(&stats[t]);
    thread_clients[t].push_back(subs[i].get());
    std::string err = subs[i]->connect(
        cfg.client_prefix + "-" + run_id + "-e" + std::to_string(i), cfg.host, cfg.port);
    if (!err.empty()) {
      result.error = err;
      return result;
    }
  }

  std::vector<std::thread> threads;
  for (int t = 0; t < nthreads; ++t) {
    threads.emplace_back(run_thread, &sh, thread_loads[static_cast<size_t>(t)],
                         thread_clients[static_cast<size_t>(t)], &stats[static_cast<size_t>(t)]);
  }
  auto finish = [&] {
    sh.quit = true;
    for (auto& th : threads) th.join();
    threads.clear();
    for (auto& c : loads) c->disconnect();
    for (auto& s : subs) s->disconnect();
  };

  // Setup: every client connected, subscribed and (load connections) seeded.
  const int total = static_cast<int>(loads.size() + subs.size());
  int64_t setup_deadline = now_ns() + kSetupNs;
  while (sh.settled.load() < total && now_ns() < setup_deadline &&
         !(interrupted && interrupted->load())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (sh.settled.load() < total || sh.failed.load() > 0 || (interrupted && interrupted->load())) {
    // Stop the loops first: a client's failure text is written on its loop thread.
    finish();
    std::string failure;
    for (auto& c : loads)
      if (failure.empty() && !c->failure().empty()) failure = c->failure();
    for (auto& s : subs)
      if (failure.empty() && !s->failure().empty()) failure = s->failure();
    if (failure.empty() && sh.settled.load() < total && !(interrupted && interrupted->load()))
      failure = "clients were not connected, subscribed and seeded within 30 s";
    result.error = failure.empty() ? "interrupted" : "setup failed: " + failure;
    return result;
  }

  // Traffic: warm-up, then the measured window.
  int64_t go = now_ns();
  int64_t measure_start = go + static_cast<int64_t>(cfg.warmup_s * kSecond);
  sh.measure_start_ns = measure_start;
  sh.send_end_ns = measure_start + static_cast<int64_t>(cfg.duration_s * kSecond);
  sh.go_ns.store(go, std::memory_order_release);
  sleep_until_ns(measure_start, interrupted);
  auto sample = [](const std::function<double()>& f) { return f ? f() : -1.0; };
  double cpu0 = sample(probes.broker_cpu), wait0 = sample(probes.broker_wait),
         rcpu0 = sample(probes.responder_cpu);
  sleep_until_ns(sh.send_end_ns.load(), interrupted);
  int64_t end = std::min(now_ns(), sh.send_end_ns.load());
  if (interrupted && interrupted->load()) sh.send_end_ns = end;
  double cpu1 = sample(probes.broker_cpu), wait1 = sample(probes.broker_wait),
         rcpu1 = sample(probes.responder_cpu);
  // The threads drain outstanding replies on their own (bounded); wait for them.
  for (auto& th : threads) th.join();
  threads.clear();
  finish();

  result.measured_s = static_cast<double>(std::max<int64_t>(end - measure_start, 0)) / kSecond;
  if (cpu0 >= 0 && cpu1 >= 0) result.broker_cpu_s = cpu1 - cpu0;
  if (rcpu0 >= 0 && rcpu1 >= 0) result.responder_cpu_s = rcpu1 - rcpu0;
  if (wait0 >= 0 && wait1 >= 0) result.broker_wait_s = wait1 - wait0;
  for (const auto& s : stats) {
    result.sent += s.sent;
    result.accepted += s.accepted;
    result.accepted_updates += s.accepted_updates;
    result.accepted_gets += s.accepted_gets;
    result.rejected += s.rejected;
    result.errors += s.errors;
    result.missing += s.missing;
    result.events += s.events;
    result.loadgen_cpu_s += s.cpu_s;
    result.latency.merge(s.latency);
    if (result.first_failure.empty() && !s.first_rejection.empty())
      result.first_failure = "first rejection: " + s.first_rejection;
  }
  for (auto& c : loads)
    if (!c->failure().empty()) result.first_failure = c->failure();
  if (result.measured_s > 0) result.throughput = static_cast<double>(result.accepted) / result.measured_s;
  return result;
}

}  // namespace loadgen
