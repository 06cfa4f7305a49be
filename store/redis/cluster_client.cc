#include "store/redis/cluster_client.h"

#include <algorithm>
#include <thread>

namespace shadow::redis {

namespace {

// After a successful reload, further reloads within this window are skipped:
// many threads hitting the same MOVED need one CLUSTER SLOTS, not one each.
constexpr auto kMinRefreshInterval = std::chrono::milliseconds(50);
// Consecutive redirects followed without waiting; more means the cluster is
// mid-change (or two nodes disagree), so back off.
constexpr int kMaxFreeRedirects = 8;

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

}  // namespace

Status outcome_unknown(const Status& cause) {
  return Status::unavailable("outcome unknown: the write was sent but no reply came (" + cause.message() +
                             "); it may or may not have been applied");
}

StatusOr<std::unique_ptr<ClusterClient>> ClusterClient::create(ClusterOptions options) {
  if (options.seeds.empty())
    return Status::invalid_argument("no Redis node given: list at least one host:port of the cluster");
  if (options.request_timeout.count() <= 0)
    return Status::invalid_argument("the Redis request timeout must be positive");
  if (options.connection.connect_timeout.count() <= 0 || options.connection.command_timeout.count() <= 0)
    return Status::invalid_argument("the Redis connect and command timeouts must be positive");
  if (options.tls.enabled && !options.connection.tls) {
    StatusOr<std::shared_ptr<TlsContext>> tls = TlsContext::create(options.tls);
    if (!tls.ok()) return tls.status();
    options.connection.tls = tls.value();
  }
  return std::unique_ptr<ClusterClient>(new ClusterClient(std::move(options)));
}

ClusterClient::ClusterClient(ClusterOptions options)
    : options_(std::move(options)), rng_(std::random_device{}()) {}

ClusterClient::~ClusterClient() = default;

ClusterClient::NodePool& ClusterClient::pool_for(const NodeAddress& node) {
  std::lock_guard<std::mutex> lock(pools_mu_);
  std::unique_ptr<NodePool>& p = pools_[node];
  if (!p) p = std::make_unique<NodePool>();
  return *p;
}

StatusOr<std::unique_ptr<Connection>> ClusterClient::acquire(const NodeAddress& node, Clock::time_point deadline) {
  NodePool& pool = pool_for(node);
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    while (!pool.idle.empty()) {
      std::unique_ptr<Connection> c = std::move(pool.idle.back());
      pool.idle.pop_back();
      if (!c->looks_closed()) return c;
    }
  }
  StatusOr<std::unique_ptr<Connection>> c = Connection::open(node, options_.connection, deadline);
  if (c.ok()) {
    std::lock_guard<std::mutex> lock(map_mu_);
    ++counters_.connections_opened;
  }
  return c;
}

void ClusterClient::release(std::unique_ptr<Connection> c) {
  if (c->broken()) return;
  NodePool& pool = pool_for(c->node());
  std::lock_guard<std::mutex> lock(pool.mu);
  if (pool.idle.size() < options_.max_idle_per_node) pool.idle.push_back(std::move(c));
}

std::shared_ptr<const SlotMap> ClusterClient::current_map() {
  std::lock_guard<std::mutex> lock(map_mu_);
  return map_;
}

void ClusterClient::note_moved(int slot, const NodeAddress& node) {
  std::lock_guard<std::mutex> lock(map_mu_);
  ++counters_.moved;
  auto next = std::make_shared<SlotMap>(map_ ? *map_ : SlotMap());
  next->move_slot(slot, node);
  map_ = std::move(next);
}

void ClusterClient::sleep_backoff(int attempt, Clock::time_point deadline) {
  uint64_t r;
  {
    std::lock_guard<std::mutex> lock(rng_mu_);
    r = rng_();
  }
  auto delay = backoff_delay(attempt, options_.backoff_base, options_.backoff_cap, r);
  auto until = std::min(deadline, Clock::now() + delay);
  std::this_thread::sleep_until(until);
}

Status ClusterClient::refresh_topology() {
  return refresh_topology(Clock::now() + options_.request_timeout);
}

Status ClusterClient::refresh_topology(Clock::time_point deadline) {
  std::lock_guard<std::mutex> refresh_lock(refresh_mu_);
  std::vector<NodeAddress> candidates;
  if (auto map = current_map()) {
    std::lock_guard<std::mutex> lock(map_mu_);
    if (Clock::now() - last_refresh_ < kMinRefreshInterval) return Status::ok();
    candidates = map->known_nodes();
  }
  {
    // In random order: a dead node (whose connects may take the whole
    // connect timeout) is then asked first only now and then.
    std::lock_guard<std::mutex> lock(rng_mu_);
    std::shuffle(candidates.begin(), candidates.end(), rng_);
  }
  for (const NodeAddress& s : options_.seeds)
    if (std::find(candidates.begin(), candidates.end(), s) == candidates.end()) candidates.push_back(s);

  std::string errors;
  for (const NodeAddress& node : candidates) {
    if (Clock::now() >= deadline) break;
    std::vector<Reply> replies;
    Status s = run_on_node(node, {{"CLUSTER", "SLOTS"}}, &replies, deadline);
    StatusOr<SlotMap> map = Status::unavailable("no reply");
    if (s.is_ok()) {
      StatusOr<std::vector<SlotRange>> ranges = parse_cluster_slots(replies[0], node.host);
      map = ranges.ok() ? SlotMap::from_ranges(ranges.value()) : StatusOr<SlotMap>(ranges.status());
      if (map.ok() && map.value().empty()) map = Status::unavailable("it serves no slots (cluster not set up yet?)");
      if (!map.ok()) s = map.status();
    }
    if (s.is_ok()) {
      std::lock_guard<std::mutex> lock(map_mu_);
      map_ = std::make_shared<const SlotMap>(std::move(map.value()));
      last_refresh_ = Clock::now();
      ++counters_.topology_refreshes;
      return Status::ok();
    }
    if (!errors.empty()) errors += "; ";
    errors += node.to_string() + ": " + s.message();
  }
  return Status::unavailable("cannot load the Redis Cluster slot map (CLUSTER SLOTS) from any node: " +
                             (errors.empty() ? std::string("request deadline passed") : errors));
}

StatusOr<std::shared_ptr<const SlotMap>> ClusterClient::slot_map() {
  if (auto map = current_map()) return map;
  Status s = refresh_topology();
  if (!s.is_ok()) return s;
  return current_map();
}

Status ClusterClient::run_on_node(const NodeAddress& node, const std::vector<Command>& pipeline,
                                  std::vector<Reply>* replies) {
  return run_on_node(node, pipeline, replies, Clock::now() + options_.request_timeout);
}

Status ClusterClient::run_once(const NodeAddress& node, const std::vector<Command>& pipeline,
                               std::vector<Reply>* replies, bool* maybe_executed) {
  return run_on_node(node, pipeline, replies, Clock::now() + options_.request_timeout, maybe_executed);
}

Status ClusterClient::run_on_node(const NodeAddress& node, const std::vector<Command>& pipeline,
                                  std::vector<Reply>* replies, Clock::time_point deadline, bool* maybe_executed) {
  bool sent = false;
  if (maybe_executed == nullptr) maybe_executed = &sent;
  *maybe_executed = false;
  StatusOr<std::unique_ptr<Connection>> c = acquire(node, deadline);
  if (!c.ok()) return c.status();
  Status s = c.value()->run(pipeline, replies, deadline, maybe_executed);
  release(std::move(c.value()));
  return s;
}

Status ClusterClient::run(int slot, const std::vector<Command>& pipeline, std::vector<Reply>* replies, Mode mode) {
  const auto start = Clock::now();
  const auto deadline = start + options_.request_timeout;
  std::optional<NodeAddress> ask;
  int waits = 0, free_redirects = 0;
  std::string last_error = "no attempt made";
  auto give_up = [&] {
    return Status::unavailable("Redis request for slot " + std::to_string(slot) + " gave up after " +
                               std::to_string(ms_since(start)) + " ms: " + last_error);
  };
  auto count_retry = [&] {
    std::lock_guard<std::mutex> lock(map_mu_);
    ++counters_.retries;
  };

  for (;;) {
    if (Clock::now() >= deadline) return give_up();
    NodeAddress node;
    if (ask) {
      node = *ask;
    } else {
      std::shared_ptr<const SlotMap> map = current_map();
      if (!map) {
        Status s = refresh_topology(deadline);
        if (!s.is_ok()) last_error = s.message();
        map = current_map();
      }
      const NodeAddress* master = map ? map->master_of(slot) : nullptr;
      if (!master) {
        if (map) {
          last_error = "slot " + std::to_string(slot) + " has no master (cluster down or being resharded)";
          (void)refresh_topology(deadline);
        }
        count_retry();
        sleep_backoff(waits++, deadline);
        continue;
      }
      node = *master;
    }

    StatusOr<std::unique_ptr<Connection>> conn = acquire(node, deadline);
    if (!conn.ok()) {
      last_error = conn.status().message();
      ask.reset();
      (void)refresh_topology(deadline);
      count_retry();
      sleep_backoff(waits++, deadline);
      continue;
    }

    std::vector<Command> commands;
    commands.reserve(pipeline.size() + 1);
    if (ask) commands.push_back({"ASKING"});
    commands.insert(commands.end(), pipeline.begin(), pipeline.end());
    std::vector<Reply> out;
    bool maybe_executed = false;
    Status s = conn.value()->run(commands, &out, deadline, &maybe_executed);
    if (!s.is_ok()) {
      // The connection is broken; it is not returned to the pool.
      if (mode == Mode::kWrite && maybe_executed) return outcome_unknown(s);
      last_error = s.message();
      ask.reset();
      (void)refresh_topology(deadline);
      count_retry();
      sleep_backoff(waits++, deadline);
      continue;
    }
    release(std::move(conn.value()));
    if (ask) out.erase(out.begin());  // ASKING's +OK
    ask.reset();

    const Reply& first = out.front();
    switch (classify_error(first)) {
      case ErrorAction::kNone:
        *replies = std::move(out);
        return Status::ok();
      case ErrorAction::kRedirect: {
        std::optional<Redirect> r = parse_redirect(first.str, node.host);
        if (!r) return Status::io_error(node.to_string() + " sent a redirect we cannot parse: " + first.str);
        last_error = node.to_string() + " answered " + first.str;
        if (r->kind == Redirect::Kind::kMoved) {
          note_moved(r->slot, r->node);
          (void)refresh_topology(deadline);
        } else {
          std::lock_guard<std::mutex> lock(map_mu_);
          ++counters_.ask;
          ask = r->node;
        }
        if (++free_redirects > kMaxFreeRedirects) {
          free_redirects = 0;
          count_retry();
          sleep_backoff(waits++, deadline);
        }
        continue;
      }
      case ErrorAction::kRetryLater:
        last_error = node.to_string() + " answered " + first.str;
        count_retry();
        sleep_backoff(waits++, deadline);
        continue;
      case ErrorAction::kRefreshTopology:
        last_error = node.to_string() + " answered " + first.str;
        (void)refresh_topology(deadline);
        count_retry();
        sleep_backoff(waits++, deadline);
        continue;
    }
  }
}

Status ClusterClient::health() {
  auto deadline = Clock::now() + options_.request_timeout;
  {
    // A health check must see the cluster as it is now, not a map from a
    // moment ago.
    std::lock_guard<std::mutex> lock(map_mu_);
    last_refresh_ = {};
  }
  Status s = refresh_topology(deadline);
  if (!s.is_ok()) return s;
  std::shared_ptr<const SlotMap> map = current_map();
  std::string unserved = map->unserved_slots();
  if (!unserved.empty())
    return Status::unavailable("Redis Cluster slots " + unserved +
                               " have no master: the cluster is down or not fully set up (see CLUSTER INFO)");
  std::string errors;
  for (const NodeAddress& m : map->masters()) {
    std::vector<Reply> replies;
    Status p = run_on_node(m, {{"PING"}}, &replies, deadline);
    if (p.is_ok() && replies[0].is_error()) p = Status::unavailable(replies[0].str);
    if (!p.is_ok()) errors += (errors.empty() ? "" : "; ") + m.to_string() + ": " + p.message();
  }
  if (!errors.empty()) return Status::unavailable("Redis masters not answering: " + errors);
  return Status::ok();
}

ClusterClient::Counters ClusterClient::counters() {
  std::lock_guard<std::mutex> lock(map_mu_);
  return counters_;
}

}  // namespace shadow::redis
