#include "plugin/cluster/cluster_events.h"

#include <set>

#include "plugin/cluster/event_codec.h"
#include "store/redis/cluster_routing.h"

namespace shadow::cluster {

ClusterEvents::ClusterEvents(RedisStore& store, ClusterEventsOptions options, Sinks sinks)
    : store_(store),
      options_(std::move(options)),
      sinks_(std::move(sinks)),
      prefix_(store.options().key_prefix),
      interest_(options_.short_topics),
      subscriber_(store.client(), store.options().listener_id,
                  EventSubscriber::Handlers{
                      [this](std::string_view channel, std::string_view payload) { received(channel, payload); },
                      [this](const std::vector<std::string>& channels) { resubscribed(channels); },
                      [this](bool error, std::string line) {
                        if (sinks_.log) sinks_.log(error, std::move(line));
                      }}) {
  firehose_.reserve(redis::kSlotCount);
  for (int slot = 0; slot < redis::kSlotCount; slot++) {
    firehose_.push_back(redis_format::firehose_channel(prefix_, slot));
    firehose_slot_.emplace(firehose_.back(), slot);
  }
}

ClusterEvents::~ClusterEvents() = default;

Status ClusterEvents::start() { return subscriber_.start(); }

int ClusterEvents::slot_of(std::string_view thing) const {
  return redis::key_slot(redis_format::event_channel(prefix_, thing));
}

std::string ClusterEvents::encode_commit(const Service::Commit& commit) const {
  return encode_event(store_.options().listener_id, commit.id, commit.stamps, commit.messages);
}

bool ClusterEvents::listening(std::string_view thing) const {
  if (firehose_on_ && subscriber_.confirmed(firehose_[static_cast<size_t>(slot_of(thing))])) return true;
  return subscriber_.confirmed(redis_format::event_channel(prefix_, thing));
}

void ClusterEvents::share_replies(const ShadowId& id, const std::vector<OutMessage>& messages) {
  Status s = store_.publish_event(id.thing, encode_event(store_.options().listener_id, id, std::nullopt, messages));
  if (s.is_ok()) return;
  // Other brokers' subscribers miss this answer; the requester got it.
  if (share_failures_.fetch_add(1, std::memory_order_relaxed) % 1000 == 0 && sinks_.log) {
    sinks_.log(true, "cluster events: could not pass an answer on '" + id.thing +
                         "' to the other brokers: " + s.message());
  }
}

void ClusterEvents::received(std::string_view channel, std::string_view payload) {
  if (std::optional<std::string_view> origin = event_origin(payload); origin && *origin == store_.options().listener_id) {
    // Our own write or answer, already published here by the request. It
    // is published at all only because another broker listens to the
    // channel too (listener sets), and then reaches every subscriber.
    received_.fetch_add(1, std::memory_order_relaxed);
    own_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  bool on_firehose = false;
  if (auto fh = firehose_slot_.find(std::string(channel)); fh != firehose_slot_.end()) {
    if (!firehose_on_) return;  // being unsubscribed
    on_firehose = true;
  }
  StatusOr<ClusterEvent> decoded = decode_event(payload);
  if (!decoded.ok()) {
    malformed_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> g(log_mu_);
    auto now = std::chrono::steady_clock::now();
    if (sinks_.log && now - last_malformed_log_ > std::chrono::seconds(10)) {
      last_malformed_log_ = now;
      sinks_.log(true, "cluster events: dropped an event on " + std::string(channel) + ": " +
                           decoded.status().message());
    }
    return;
  }
  ClusterEvent& e = *decoded;
  if (!on_firehose && firehose_on_) {
    // The same event also arrives on the slot's firehose channel once that
    // is subscribed: take it from there only.
    if (subscriber_.confirmed(firehose_[static_cast<size_t>(slot_of(e.id.thing))])) {
      doubled_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  received_.fetch_add(1, std::memory_order_relaxed);
  if (sinks_.event) sinks_.event(runtime::RemoteEvent{std::move(e.id), e.written, std::move(e.messages)});
}

void ClusterEvents::resubscribed(const std::vector<std::string>& channels) {
  if (!sinks_.reset) return;
  // The events of these things (or of these slots' things) published while
  // the subscription was down are lost, and after a failover versions may
  // be reused: forget what was published last.
  std::set<std::string> things;
  std::set<int> slots;
  const std::string ev = prefix_ + "ev:{";
  for (const std::string& c : channels) {
    if (auto fh = firehose_slot_.find(c); fh != firehose_slot_.end()) {
      slots.insert(fh->second);
    } else if (c.starts_with(ev) && c.back() == '}') {
      things.insert(c.substr(ev.size(), c.size() - ev.size() - 1));
    }
  }
  sinks_.reset([&](std::string_view thing) {
    return things.count(std::string(thing)) > 0 || (!slots.empty() && slots.count(slot_of(thing)) > 0);
  });
}

void ClusterEvents::apply(const InterestTable::Change& change) {
  if (change.empty()) return;
  std::vector<std::string> on, off;
  for (const std::string& t : change.things_on) on.push_back(redis_format::event_channel(prefix_, t));
  for (const std::string& t : change.things_off) off.push_back(redis_format::event_channel(prefix_, t));
  if (change.all_on) {
    firehose_on_ = true;
    on.insert(on.end(), firehose_.begin(), firehose_.end());
  }
  if (change.all_off) {
    firehose_on_ = false;
    off.insert(off.end(), firehose_.begin(), firehose_.end());
  }
  if (!off.empty()) {
    subscriber_.unsubscribe(off);
    if (sinks_.reset) {
      std::set<std::string> gone(change.things_off.begin(), change.things_off.end());
      bool all = change.all_off;
      sinks_.reset([&](std::string_view thing) { return all || gone.count(std::string(thing)) > 0; });
    }
  }
  if (!on.empty()) subscriber_.subscribe(on, options_.subscribe_wait);
}

void ClusterEvents::subscribed(const std::string& client, std::string_view filter) {
  apply(interest_.subscribed(client, filter));
}

void ClusterEvents::unsubscribed(const std::string& client, std::string_view filter) {
  apply(interest_.unsubscribed(client, filter));
}

void ClusterEvents::disconnected(const std::string& client, bool clean_session) {
  if (clean_session) apply(interest_.client_gone(client));
}

std::string ClusterEvents::metrics_text(const runtime::ShadowOrder::Counters& order) const {
  EventSubscriber::Counters sub = subscriber_.counters();
  RedisStore::Counters redis = store_.counters();
  std::string s;
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    s += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " +
         std::to_string(value) + "\n";
  };
  auto gauge = [&](const char* name, const char* help, uint64_t value) {
    s += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " +
         std::to_string(value) + "\n";
  };
  counter("shadow_cluster_events_received_total", "Events received from the Redis Cluster (own echoes included).",
          received_.load());
  counter("shadow_cluster_events_own_total", "Echoes of this broker's own events, dropped.", own_.load());
  counter("shadow_cluster_events_published_total", "Other brokers' events published to local subscribers.",
          order.published);
  counter("shadow_cluster_events_duplicate_total", "Other brokers' events dropped as repeats of a published write.",
          order.duplicates);
  counter("shadow_cluster_events_gap_total", "Other brokers' events that skipped versions (events lost meanwhile).",
          order.gaps);
  counter("shadow_cluster_events_held_total", "Other brokers' events held behind a local request on the shadow.",
          order.held);
  counter("shadow_cluster_local_answers_waited_total",
          "Answers to this broker's writes that waited for the event of the write before (another broker's).",
          order.waited);
  counter("shadow_cluster_local_answers_wait_expired_total",
          "Of those, answers published when the wait ran out (the earlier event did not come).", order.wait_expired);
  counter("shadow_cluster_events_doubled_total",
          "Events taken from the firehose only, their copy on the thing's channel dropped.", doubled_.load());
  counter("shadow_cluster_events_malformed_total", "Events that could not be decoded.", malformed_.load());
  counter("shadow_cluster_share_failures_total", "Answers that could not be passed to the other brokers.",
          share_failures_.load());
  counter("shadow_cluster_resubscriptions_total", "Event channels subscribed again after a loss.",
          sub.resubscriptions);
  counter("shadow_cluster_subscriber_connection_losses_total", "Event subscription connections lost.",
          sub.connection_losses);
  gauge("shadow_cluster_event_channels_wanted", "Event channels this broker wants.", sub.wanted);
  gauge("shadow_cluster_event_channels_subscribed", "Event channels confirmed by Redis.", sub.subscribed);
  gauge("shadow_cluster_firehose", "1 while a client holds a wildcard subscription over thing names.",
        firehose_on_ ? 1 : 0);
  counter("shadow_redis_unconfirmed_writes_total",
          "Writes made on a master that WAIT did not confirm in time (answered 500).", redis.unconfirmed_writes);
  counter("shadow_redis_script_loads_total", "Scripts sent again after NOSCRIPT (new or promoted masters).",
          redis.script_loads);
  counter("shadow_redis_write_batches_total", "Pipelines of script writes sent to a master, each with one WAIT.",
          redis.batches.batches);
  counter("shadow_redis_batched_writes_total", "Script writes those pipelines carried.", redis.batches.writes);
  gauge("shadow_redis_largest_write_batch", "Most script writes in one pipeline since start.", redis.batches.largest);
  counter("shadow_redis_unbatched_writes_total",
          "Script writes sent alone instead (slot without a master, batch not sent, or refused in a batch).",
          redis.batches.fallbacks);
  counter("shadow_redis_moved_total", "MOVED redirects followed.", redis.cluster.moved);
  counter("shadow_redis_ask_total", "ASK redirects followed.", redis.cluster.ask);
  counter("shadow_redis_retries_total", "Commands retried (refused, failover, resharding).", redis.cluster.retries);
  counter("shadow_redis_topology_refreshes_total", "Slot map reloads.", redis.cluster.topology_refreshes);
  counter("shadow_redis_connections_opened_total", "Connections opened to Redis nodes.",
          redis.cluster.connections_opened);
  return s;
}

}  // namespace shadow::cluster
