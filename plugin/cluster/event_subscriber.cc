#include "plugin/cluster/event_subscriber.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

#include "store/redis/redis_store.h"

namespace shadow::cluster {

using Clock = std::chrono::steady_clock;
using redis::Reply;

namespace {

// How often the slot map is reloaded to find channels whose slot moved.
constexpr auto kTopologyInterval = std::chrono::seconds(2);
// Channels sent in one write.
constexpr size_t kBatch = 512;

std::chrono::milliseconds placement_backoff(int failures) {
  int shift = std::min(failures, 5);
  return std::chrono::milliseconds(50 << shift);  // 50 ms .. 1.6 s
}

}  // namespace

struct EventSubscriber::Node {
  redis::NodeAddress address;
  std::unique_ptr<redis::Connection> conn;     // subscribed: takes no other commands
  std::unique_ptr<redis::Connection> control;  // listener sets
  std::deque<Sent> inflight;                  // commands sent, replies not yet read
  std::unordered_set<std::string> channels;  // placed on this node
};

EventSubscriber::EventSubscriber(redis::ClusterClient& client, std::string listener_id, Handlers handlers)
    : client_(client), listener_id_(std::move(listener_id)), handlers_(std::move(handlers)) {}

EventSubscriber::~EventSubscriber() {
  stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void EventSubscriber::stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  confirmed_cv_.notify_all();
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof one);
    (void)ignored;
  }
  if (thread_.joinable()) thread_.join();
}

Status EventSubscriber::start() {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status::internal(std::string("eventfd: ") + std::strerror(errno));
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

bool EventSubscriber::subscribe(const std::vector<std::string>& channels, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  for (const std::string& c : channels) {
    if (wanted_.insert(c).second) requests_.emplace_back(Op::kSubscribe, c);
  }
  counters_.wanted = wanted_.size();
  uint64_t one = 1;
  ssize_t ignored = write(wake_fd_, &one, sizeof one);
  (void)ignored;
  auto all_confirmed = [&] {
    for (const std::string& c : channels)
      if (!confirmed_.count(c)) return false;
    return true;
  };
  if (all_confirmed()) return true;
  if (unreachable_) return false;
  return confirmed_cv_.wait_for(lock, wait, [&] { return stop_ || all_confirmed(); }) && !stop_;
}

void EventSubscriber::unsubscribe(const std::vector<std::string>& channels) {
  std::lock_guard<std::mutex> g(mu_);
  for (const std::string& c : channels) {
    if (wanted_.erase(c) == 0) continue;
    confirmed_.erase(c);
    requests_.emplace_back(Op::kUnsubscribe, c);
  }
  counters_.wanted = wanted_.size();
  counters_.subscribed = confirmed_.size();
  uint64_t one = 1;
  ssize_t ignored = write(wake_fd_, &one, sizeof one);
  (void)ignored;
}

bool EventSubscriber::confirmed(const std::string& channel) const {
  std::lock_guard<std::mutex> g(mu_);
  return confirmed_.count(channel) > 0;
}

Status EventSubscriber::health() const {
  std::lock_guard<std::mutex> g(mu_);
  if (confirmed_.size() >= wanted_.size()) return Status::ok();
  return Status::unavailable(std::to_string(wanted_.size() - confirmed_.size()) + " of " +
                             std::to_string(wanted_.size()) +
                             " event channels are not subscribed, so events of other brokers may be missed" +
                             (last_error_.empty() ? std::string() : " (last error: " + last_error_ + ")"));
}

EventSubscriber::Counters EventSubscriber::counters() const {
  std::lock_guard<std::mutex> g(mu_);
  return counters_;
}

void EventSubscriber::note_error(const Status& s) {
  std::lock_guard<std::mutex> g(mu_);
  last_error_ = s.message();
}

void EventSubscriber::unconfirm(const std::string& channel) {
  std::lock_guard<std::mutex> g(mu_);
  confirmed_.erase(channel);
  counters_.subscribed = confirmed_.size();
}

void EventSubscriber::confirm(const std::vector<std::string>& channels) {
  if (channels.empty()) return;
  std::lock_guard<std::mutex> g(mu_);
  for (const std::string& c : channels)
    if (wanted_.count(c)) confirmed_.insert(c);
  counters_.subscribed = confirmed_.size();
  confirmed_cv_.notify_all();
}

// --- the subscriber thread -----------------------------------------------------------

void EventSubscriber::run() {
  for (;;) {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (stop_) break;
    }
    take_requests();
    Clock::time_point now = Clock::now();
    if (now >= next_topology_check_) {
      check_topology();
      next_topology_check_ = Clock::now() + kTopologyInterval;
    }
    if (!unplaced_.empty() && Clock::now() >= next_placement_) place_unplaced();
    if (!to_unregister_.empty()) unregister_some(2048, Clock::now() + std::chrono::seconds(1));

    std::vector<pollfd> fds{{wake_fd_, POLLIN, 0}};
    std::vector<redis::NodeAddress> polled;
    for (auto& [address, node] : nodes_) {
      if (!node->conn) continue;
      fds.push_back({node->conn->fd(), POLLIN, 0});
      polled.push_back(address);
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_topology_check_ - Clock::now());
    if (!unplaced_.empty()) {
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(next_placement_ - Clock::now()));
    }
    int timeout = to_unregister_.empty() ? static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 1000)) : 0;
    int n = poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) {
      note_error(Status::internal(std::string("poll: ") + std::strerror(errno)));
      continue;
    }
    if (n <= 0) continue;
    if (fds[0].revents != 0) {
      uint64_t v;
      ssize_t ignored = read(wake_fd_, &v, sizeof v);
      (void)ignored;
    }
    for (size_t i = 1; i < fds.size(); i++) {
      if (fds[i].revents == 0) continue;
      auto it = nodes_.find(polled[i - 1]);
      if (it != nodes_.end()) read_node(*it->second);
    }
  }
  unregister_all();
}

EventSubscriber::Node* EventSubscriber::open_node(const redis::NodeAddress& address, Status* failure,
                                                  Clock::time_point deadline) {
  std::unique_ptr<Node>& node = nodes_[address];
  if (!node) {
    node = std::make_unique<Node>();
    node->address = address;
  }
  for (std::unique_ptr<redis::Connection>* c : {&node->conn, &node->control}) {
    if (*c) continue;
    StatusOr<std::unique_ptr<redis::Connection>> opened =
        redis::Connection::open(address, client_.options().connection, deadline);
    if (!opened.ok()) {
      *failure = opened.status();
      if (!node->conn) nodes_.erase(address);
      return nullptr;
    }
    *c = std::move(opened).value();
  }
  return node.get();
}

std::map<redis::NodeAddress, std::vector<std::string>> EventSubscriber::register_all(
    const std::map<redis::NodeAddress, std::vector<std::string>>& by_node, Status* failure) {
  auto deadline = Clock::now() + client_.options().connection.command_timeout;
  std::map<redis::NodeAddress, std::vector<std::string>> listed;
  // Send every node its SADDs first, so that the nodes work at the same
  // time, then read the answers node by node.
  std::vector<const redis::NodeAddress*> sent;
  for (const auto& [address, channels] : by_node) {
    auto found = nodes_.find(address);
    if (found == nodes_.end() || !found->second->control) continue;
    Node* node = found->second.get();
    std::vector<redis::Command> commands;
    commands.reserve(channels.size());
    for (const std::string& c : channels) commands.push_back({"SADD", redis_format::listeners_key(c), listener_id_});
    Status s = node->control->send(commands, deadline);
    if (!s.is_ok()) {
      *failure = s;
      node->control.reset();
      continue;
    }
    sent.push_back(&address);
  }
  for (const redis::NodeAddress* address : sent) {
    Node& node = *nodes_[*address];
    for (const std::string& channel : by_node.at(*address)) {
      Reply r;
      Status s = node.control->read(&r, deadline);
      if (!s.is_ok()) {
        *failure = s;
        node.control.reset();
        break;
      }
      if (r.type == Reply::Type::kInteger) {
        listed[*address].push_back(channel);
      } else {
        // MOVED (the slot left this node), CLUSTERDOWN, ...: placed again later.
        *failure = Status::unavailable("Redis node " + address->to_string() +
                                       " refused to register a listener of " + channel + ": " + r.str);
      }
    }
  }
  return listed;
}

void EventSubscriber::unregister_on(const redis::NodeAddress& node, const std::vector<std::string>& channels,
                                    Clock::time_point deadline) {
  if (listener_id_.empty() || channels.empty()) return;
  std::vector<redis::Command> commands;
  commands.reserve(channels.size());
  for (const std::string& c : channels) commands.push_back({"SREM", redis_format::listeners_key(c), listener_id_});
  // Twice: the plain connection may have been idle long enough to be closed.
  for (int attempt = 0; attempt < 2; attempt++) {
    Status ignored;
    Node* n = open_node(node, &ignored, deadline);
    if (n == nullptr) return;
    std::vector<Reply> replies;
    bool maybe_executed = false;
    if (n->control->run(commands, &replies, deadline, &maybe_executed).is_ok()) return;
    n->control.reset();
    if (Clock::now() >= deadline) return;
  }
}

void EventSubscriber::unregister_all() {
  for (const auto& [channel, address] : placed_) to_unregister_[address].insert(channel);
  unregister_some(SIZE_MAX, Clock::now() + std::chrono::seconds(1));
}

void EventSubscriber::take_requests() {
  std::vector<std::pair<Op, std::string>> requests;
  {
    std::lock_guard<std::mutex> g(mu_);
    requests.swap(requests_);
  }
  std::map<redis::NodeAddress, std::vector<redis::Command>> unsubscribes;
  for (auto& [op, channel] : requests) {
    if (op == Op::kSubscribe) {
      if (!placed_.count(channel)) unplaced_.insert(channel);
      continue;
    }
    unplaced_.erase(channel);
    ever_confirmed_.erase(channel);
    auto it = placed_.find(channel);
    if (it == placed_.end()) continue;
    auto node = nodes_.find(it->second);
    placed_.erase(it);
    if (node == nodes_.end()) continue;
    node->second->channels.erase(channel);
    if (node->second->conn) {
      unsubscribes[node->first].push_back({"SUNSUBSCRIBE", channel});
      node->second->inflight.push_back({Op::kUnsubscribe, channel});
      to_unregister_[node->first].insert(channel);
    }
  }
  for (auto& [address, commands] : unsubscribes) {
    auto node = nodes_.find(address);
    if (node == nodes_.end() || !node->second->conn) continue;
    Status s = node->second->conn->send(commands, Clock::now() + client_.options().connection.command_timeout);
    if (!s.is_ok()) drop_node(address, s);
  }
}

void EventSubscriber::unregister_some(size_t max, Clock::time_point deadline) {
  for (auto it = to_unregister_.begin(); it != to_unregister_.end() && max > 0;) {
    auto node = nodes_.find(it->first);
    if (node == nodes_.end() || !node->second->conn) {  // its connection broke: likely down
      it = to_unregister_.erase(it);
      continue;
    }
    std::vector<std::string> chunk;
    while (!it->second.empty() && chunk.size() < max) {
      chunk.push_back(std::move(it->second.extract(it->second.begin()).value()));
    }
    max -= chunk.size();
    // Best effort, bounded: a stalled node costs a name left behind, not a
    // subscriber held up.
    unregister_on(it->first, chunk, deadline);
    it = it->second.empty() ? to_unregister_.erase(it) : std::next(it);
  }
}

void EventSubscriber::place_unplaced() {
  std::unordered_set<std::string> wanted;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (auto it = unplaced_.begin(); it != unplaced_.end();) {
      it = wanted_.count(*it) ? std::next(it) : unplaced_.erase(it);
    }
  }
  if (unplaced_.empty()) return;
  // After a failure the cached map may name a dead master.
  if (placement_failures_ > 0) (void)client_.refresh_topology();
  StatusOr<std::shared_ptr<const redis::SlotMap>> map = client_.slot_map();
  std::map<redis::NodeAddress, std::vector<std::string>> by_node;
  Status failure;
  if (!map.ok()) {
    failure = map.status();
  } else {
    for (const std::string& channel : unplaced_) {
      const redis::NodeAddress* master = (*map)->master_of(redis::key_slot(channel));
      if (master == nullptr) {
        failure = Status::unavailable("no Redis master serves the slot of " + channel + " (cluster down?)");
        continue;
      }
      by_node[*master].push_back(channel);
    }
  }
  // Wanted again: a queued removal of our name must not follow the SADD.
  for (const auto& [address, channels] : by_node) {
    auto pending = to_unregister_.find(address);
    if (pending == to_unregister_.end()) continue;
    for (const std::string& c : channels) pending->second.erase(c);
  }
  for (auto it = by_node.begin(); it != by_node.end();) {
    it = open_node(it->first, &failure, Clock::now() + client_.options().connection.connect_timeout) != nullptr
             ? std::next(it)
             : by_node.erase(it);
  }
  // Listed first, subscribed after, both on the slot's master: a write that
  // runs after the subscription sees our name and publishes.
  std::map<redis::NodeAddress, std::vector<std::string>> listed =
      listener_id_.empty() ? by_node : register_all(by_node, &failure);
  for (auto& [address, channels] : listed) {
    for (size_t start = 0; start < channels.size(); start += kBatch) {
      auto node = nodes_.find(address);
      if (node == nodes_.end()) break;  // dropped below
      auto first = channels.begin() + static_cast<std::ptrdiff_t>(start);
      std::vector<std::string> batch(first,
                                     first + static_cast<std::ptrdiff_t>(std::min(kBatch, channels.size() - start)));
      std::vector<redis::Command> commands;
      for (const std::string& c : batch) commands.push_back({"SSUBSCRIBE", c});
      Status s = node->second->conn->send(commands, Clock::now() + client_.options().connection.command_timeout);
      if (!s.is_ok()) {
        failure = s;
        drop_node(address, s);
        break;
      }
      for (const std::string& c : batch) {
        node->second->inflight.push_back({Op::kSubscribe, c});
        node->second->channels.insert(c);
        placed_[c] = address;
        unplaced_.erase(c);
      }
    }
  }
  if (unplaced_.empty()) {
    if (placement_failures_ > 0 && handlers_.log) handlers_.log(false, "cluster events: subscriptions restored");
    placement_failures_ = 0;
    std::lock_guard<std::mutex> g(mu_);
    unreachable_ = false;
    return;
  }
  if (placement_failures_ == 0 && handlers_.log) {
    handlers_.log(true, "cluster events: cannot subscribe to " + std::to_string(unplaced_.size()) +
                            " event channels (" + failure.message() +
                            "); retrying: events of other brokers are missed meanwhile");
  }
  placement_failures_++;
  next_placement_ = Clock::now() + placement_backoff(placement_failures_);
  note_error(failure);
  std::lock_guard<std::mutex> g(mu_);
  unreachable_ = placed_.empty() || nodes_.empty();
}

void EventSubscriber::check_topology() {
  if (placed_.empty()) return;
  if (!client_.refresh_topology().is_ok()) return;  // nodes unreachable: connections will tell
  StatusOr<std::shared_ptr<const redis::SlotMap>> map = client_.slot_map();
  if (!map.ok()) return;
  std::vector<std::string> moved;
  for (const auto& [channel, address] : placed_) {
    const redis::NodeAddress* master = (*map)->master_of(redis::key_slot(channel));
    if (master != nullptr && *master != address) moved.push_back(channel);
  }
  if (moved.empty()) return;
  std::map<redis::NodeAddress, std::vector<redis::Command>> unsubscribes;
  for (const std::string& channel : moved) {
    redis::NodeAddress address = placed_[channel];
    auto node = nodes_.find(address);
    if (node != nodes_.end() && node->second->conn) {
      unsubscribes[address].push_back({"SUNSUBSCRIBE", channel});
      node->second->inflight.push_back({Op::kUnsubscribe, channel});
    }
    unplace(channel);
  }
  for (auto& [address, commands] : unsubscribes) {
    auto node = nodes_.find(address);
    if (node == nodes_.end() || !node->second->conn) continue;
    Status s = node->second->conn->send(commands, Clock::now() + client_.options().connection.command_timeout);
    if (!s.is_ok()) drop_node(address, s);
  }
  next_placement_ = Clock::now();
}

void EventSubscriber::unplace(const std::string& channel) {
  auto it = placed_.find(channel);
  if (it != placed_.end()) {
    auto node = nodes_.find(it->second);
    if (node != nodes_.end()) node->second->channels.erase(channel);
    placed_.erase(it);
  }
  unconfirm(channel);
  unplaced_.insert(channel);
}

void EventSubscriber::read_node(Node& node) {
  std::vector<Reply> replies;
  Status s = node.conn->read_available(&replies);
  redis::NodeAddress address = node.address;
  std::vector<std::string> confirmed, resubscribed;
  for (Reply& r : replies) {
    if (r.type == Reply::Type::kArray && r.elements.size() >= 3 && r.elements[0].type == Reply::Type::kString) {
      const std::string& kind = r.elements[0].str;
      const std::string& channel = r.elements[1].str;
      if (kind == "smessage") {
        {
          std::lock_guard<std::mutex> g(mu_);
          counters_.messages++;
        }
        if (handlers_.message) handlers_.message(channel, r.elements[2].str);
        continue;
      }
      if (kind == "ssubscribe") {
        if (!node.inflight.empty() && node.inflight.front().op == Op::kSubscribe &&
            node.inflight.front().channel == channel)
          node.inflight.pop_front();
        auto it = placed_.find(channel);
        if (it == placed_.end() || it->second != address) continue;  // unsubscribed or moved meanwhile
        confirmed.push_back(channel);
        if (!ever_confirmed_.insert(channel).second) resubscribed.push_back(channel);
        continue;
      }
      if (kind == "sunsubscribe") {
        if (!node.inflight.empty() && node.inflight.front().op == Op::kUnsubscribe &&
            node.inflight.front().channel == channel) {
          node.inflight.pop_front();
          continue;
        }
        // Pushed by the node: the channel's slot left it (resharding or a
        // failover). Subscribe again where the slot is now.
        auto it = placed_.find(channel);
        if (it != placed_.end() && it->second == address) {
          unplace(channel);
          next_topology_check_ = Clock::now();
          next_placement_ = Clock::now();
        }
        continue;
      }
      continue;
    }
    if (r.is_error()) {
      if (node.inflight.empty()) continue;
      Sent sent = node.inflight.front();
      node.inflight.pop_front();
      note_error(Status::unavailable("Redis node " + address.to_string() + " refused " +
                                     (sent.op == Op::kSubscribe ? "SSUBSCRIBE " : "SUNSUBSCRIBE ") + sent.channel +
                                     ": " + r.str));
      auto it = placed_.find(sent.channel);
      if (sent.op == Op::kSubscribe && it != placed_.end() && it->second == address) {
        unplace(sent.channel);
        // MOVED: the map is stale; anything else (CLUSTERDOWN, TRYAGAIN):
        // wait a little.
        if (r.error_code() == "MOVED") {
          (void)client_.refresh_topology();
          next_placement_ = Clock::now();
        } else {
          next_placement_ = Clock::now() + placement_backoff(1);
        }
      }
    }
  }
  // Only what is still placed here: a later reply of the same read may
  // have taken a channel away again (a pushed SUNSUBSCRIBE, an error).
  std::erase_if(confirmed, [&](const std::string& c) {
    auto it = placed_.find(c);
    return it == placed_.end() || it->second != address;
  });
  confirm(confirmed);
  if (!resubscribed.empty()) {
    {
      std::lock_guard<std::mutex> g(mu_);
      counters_.resubscriptions += resubscribed.size();
    }
    if (handlers_.resubscribed) handlers_.resubscribed(resubscribed);
  }
  if (!s.is_ok()) drop_node(address, s);
}

void EventSubscriber::drop_node(const redis::NodeAddress& address, const Status& why) {
  auto it = nodes_.find(address);
  if (it == nodes_.end()) return;
  std::vector<std::string> channels(it->second->channels.begin(), it->second->channels.end());
  nodes_.erase(it);
  {
    std::lock_guard<std::mutex> g(mu_);
    counters_.connection_losses++;
    last_error_ = why.message();
  }
  for (const std::string& channel : channels) {
    placed_.erase(channel);
    unconfirm(channel);
    unplaced_.insert(channel);
  }
  if (handlers_.log) {
    handlers_.log(true, "cluster events: lost the subscription connection to Redis node " + address.to_string() +
                            " (" + why.message() + "); subscribing its " + std::to_string(channels.size()) +
                            " channels again where their slots are served now");
  }
  next_placement_ = Clock::now() + placement_backoff(0);
  placement_failures_ = std::max(placement_failures_, 1);  // reload the map before placing
}

}  // namespace shadow::cluster
