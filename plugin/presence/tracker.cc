#include "plugin/presence/tracker.h"

#include <cstdio>

#include "shadow_core/names.h"

namespace shadow::presence {

PresenceTracker::PresenceTracker(Store& store, TrackerOptions options)
    : store_(store), options_(options), rng_(std::random_device{}()) {}

std::string PresenceTracker::new_session_id() {
  // A random (version 4) UUID: unique per connection, across restarts too.
  uint64_t hi = rng_(), lo = rng_();
  hi = (hi & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return text;
}

uint64_t PresenceTracker::next_version(const std::string& client_id, std::vector<std::string>& errors) {
  auto it = versions_.find(client_id);
  if (it != versions_.end()) return ++it->second;
  uint64_t version = 0;
  auto stored = read_client(store_, client_id);
  if (!stored.ok()) {
    errors.push_back("cannot read the presence record of client '" + client_id + "': " + stored.status().message());
  } else if (stored.value()) {
    version = stored.value()->version + 1;
  }
  versions_[client_id] = version;
  return version;
}

Status PresenceTracker::recover(int64_t now_ms) {
  std::string after;
  for (;;) {
    std::vector<Item> items;
    bool more = false;
    Status st = store_.list_items(kSpace, kLivePrefix, after, 1000, &items, &more);
    if (!st.is_ok()) return st;
    for (const Item& item : items) {
      std::string client_id = item.key.substr(kLivePrefix.size());
      auto record = read_client(store_, client_id);
      Entry e;
      e.kind = Entry::kDisconnected;
      e.recovered = true;
      e.reason = DisconnectReason::kServerInitiated;
      e.at_ms = now_ms;
      e.conn.facts.client_id = client_id;
      e.conn.session.client_id = client_id;
      if (record.ok() && record.value()) {
        const ClientRecord& r = *record.value();
        e.conn.facts.thing = r.thing;
        e.conn.facts.principal_id = r.principal_id;
        e.conn.session.session_id = r.session_id;
        e.conn.session.principal_id = r.principal_id;
        e.conn.session.version = r.version;
        e.conn.since_ms = r.timestamp_ms;
      }
      journal_.push_back(std::move(e));
    }
    if (!more || items.empty()) return Status::ok();
    after = items.back().key;
  }
}

void PresenceTracker::connecting(ConnKey key, ClientFacts facts, int64_t now_ms) {
  if (facts.client_id.empty()) return;
  Connection conn;
  conn.facts = std::move(facts);
  conn.since_ms = now_ms;
  pending_by_client_[conn.facts.client_id] = key;
  conns_[key] = std::move(conn);
  pending_order_.push_back(key);
}

void PresenceTracker::active(ConnKey key, const std::function<ClientFacts()>& facts, int64_t now_ms) {
  if (ended_.count(key) > 0) return;
  auto it = conns_.find(key);
  if (it == conns_.end()) {
    Connection conn;
    conn.facts = facts();
    if (conn.facts.client_id.empty()) return;
    conn.since_ms = now_ms;
    it = conns_.emplace(key, std::move(conn)).first;
  }
  if (it->second.pending) confirm(key, it->second, now_ms);
}

void PresenceTracker::confirm(ConnKey key, Connection& conn, int64_t /*now_ms*/) {
  conn.pending = false;
  auto p = pending_by_client_.find(conn.facts.client_id);
  if (p != pending_by_client_.end() && p->second == key) pending_by_client_.erase(p);
  conn.session.client_id = conn.facts.client_id;
  conn.session.session_id = new_session_id();
  conn.session.principal_id = conn.facts.principal_id;
  conn.session.ip_address = conn.facts.ip_address;
  conn.session.version = next_version(conn.facts.client_id, version_errors_);
  Entry e;
  e.kind = Entry::kConnected;
  e.conn = conn;
  e.at_ms = conn.since_ms;
  e.key = key;
  journal_.push_back(std::move(e));
}

void PresenceTracker::subscription(ConnKey key, std::string_view filter, bool subscribe) {
  auto it = conns_.find(key);
  if (it == conns_.end() || it->second.pending) return;
  if (!options_.lifecycle_events) return;
  const Entry::Kind kind = subscribe ? Entry::kSubscribed : Entry::kUnsubscribed;
  if (!journal_.empty() && journal_.back().kind == kind && journal_.back().key == key) {
    journal_.back().topics.emplace_back(filter);
    return;
  }
  Entry e;
  e.kind = kind;
  e.conn = it->second;
  e.key = key;
  e.topics.emplace_back(filter);
  journal_.push_back(std::move(e));
}

void PresenceTracker::subscribed(ConnKey key, std::string_view filter) { subscription(key, filter, true); }
void PresenceTracker::unsubscribed(ConnKey key, std::string_view filter) { subscription(key, filter, false); }

void PresenceTracker::will_published(ConnKey key) {
  auto it = ended_entry_.find(key);
  if (it == ended_entry_.end()) return;
  Entry& e = journal_[it->second];
  if (!e.reason) e.reason = DisconnectReason::kConnectionLost;
}

void PresenceTracker::disconnected(ConnKey key, bool had_client_id, int64_t now_ms) {
  ended_.insert(key);
  auto it = conns_.find(key);
  if (it == conns_.end()) return;
  Connection conn = std::move(it->second);
  conns_.erase(it);
  if (conn.pending) {
    auto p = pending_by_client_.find(conn.facts.client_id);
    if (p != pending_by_client_.end() && p->second == key) pending_by_client_.erase(p);
    if (!had_client_id) return;  // refused at CONNECT: it never was connected
    confirm(key, conn, now_ms);  // accepted, then gone within the same pass
  }
  Entry e;
  e.kind = Entry::kDisconnected;
  e.at_ms = now_ms;
  e.key = key;
  auto newer = pending_by_client_.find(conn.facts.client_id);
  if (newer != pending_by_client_.end() && newer->second != key) e.reason = DisconnectReason::kDuplicateClientId;
  e.conn = std::move(conn);
  ended_entry_[key] = journal_.size();
  journal_.push_back(std::move(e));
}

void PresenceTracker::persist(const Entry& e, std::vector<ItemChange>& batch) {
  const Connection& c = e.conn;
  ClientRecord record;
  record.version = c.session.version;
  record.connected = e.kind == Entry::kConnected;
  record.timestamp_ms = e.at_ms;
  record.session_id = c.session.session_id;
  record.principal_id = c.session.principal_id;
  record.thing = c.facts.thing;
  const std::string& id = c.facts.client_id;
  batch.push_back({std::string(kSpace), client_key(id), encode(record)});
  batch.push_back({std::string(kSpace), live_key(id),
                   record.connected ? std::optional<std::string>("") : std::nullopt});
}

void PresenceTracker::process(Entry& e, TickResult& out, std::unordered_map<std::string, ThingChange>& things,
                              std::vector<std::string>& thing_order, std::vector<ItemChange>& batch) {
  const Connection& c = e.conn;
  const bool events = options_.lifecycle_events && has_lifecycle_events(c.facts.client_id);
  auto thing_now = [&](bool connected) {
    const std::string& t = *c.facts.thing;
    auto [it, inserted] = things.try_emplace(t, ThingChange{t, connected, e.at_ms});
    if (inserted) thing_order.push_back(t);
    it->second.connected = connected;
    it->second.timestamp_ms = e.at_ms;
  };
  switch (e.kind) {
    case Entry::kConnected: {
      live_++;
      live_per_client_[c.facts.client_id]++;
      if (c.facts.thing && ++live_per_thing_[*c.facts.thing] == 1) thing_now(true);
      persist(e, batch);
      out.connected++;
      if (events) {
        out.events.push_back({connected_topic(c.facts.client_id), connected_event(c.session, e.at_ms)});
      }
      break;
    }
    case Entry::kDisconnected: {
      if (!e.recovered) {
        live_--;
        auto pc = live_per_client_.find(c.facts.client_id);
        if (pc != live_per_client_.end() && --pc->second <= 0) live_per_client_.erase(pc);
      }
      if (c.facts.thing) {
        auto pt = live_per_thing_.find(*c.facts.thing);
        if (e.recovered) {
          if (pt == live_per_thing_.end()) thing_now(false);
        } else if (pt != live_per_thing_.end() && --pt->second <= 0) {
          live_per_thing_.erase(pt);
          thing_now(false);
        }
      }
      // A takeover's newer connection may already be recorded (it is
      // journaled after this end, so its record is written after this one).
      persist(e, batch);
      out.disconnected++;
      if (events) {
        out.events.push_back({disconnected_topic(c.facts.client_id), disconnected_event(c.session, e.at_ms, e.reason)});
      }
      break;
    }
    case Entry::kSubscribed:
    case Entry::kUnsubscribed: {
      if (events) {
        const bool sub = e.kind == Entry::kSubscribed;
        out.events.push_back({subscription_topic(sub, c.facts.client_id),
                              subscription_event(c.session, sub, e.at_ms, e.topics)});
      }
      break;
    }
  }
}

TickResult PresenceTracker::tick(int64_t now_ms) {
  TickResult out;
  for (ConnKey key : pending_order_) {
    auto it = conns_.find(key);
    if (it != conns_.end() && it->second.pending) confirm(key, it->second, now_ms);
  }
  pending_order_.clear();
  pending_by_client_.clear();
  out.errors = std::move(version_errors_);
  version_errors_.clear();

  std::unordered_map<std::string, ThingChange> things;
  std::vector<std::string> thing_order;
  std::vector<ItemChange> batch;  // every record of this pass, written at once
  for (Entry& e : journal_) {
    if (e.at_ms == 0) e.at_ms = now_ms;
    process(e, out, things, thing_order, batch);
  }

  // Coalesced per thing, and only what differs from the state last written.
  for (const std::string& t : thing_order) {
    const ThingChange& change = things.at(t);
    auto known = thing_state_.find(t);
    if (known == thing_state_.end()) {
      // A thing never seen counts as disconnected: one that connects and
      // drops within its first pass has nothing written.
      auto stored = read_connectivity(store_, t);
      bool previous = stored.ok() && stored.value() && stored.value()->connected;
      known = thing_state_.emplace(t, previous).first;
      if (previous == change.connected) continue;
    } else if (known->second == change.connected) {
      continue;
    }
    known->second = change.connected;
    batch.push_back({std::string(kSpace), thing_key(t), encode(Connectivity{change.connected, change.timestamp_ms})});
    out.things.push_back(change);
  }
  Status st = store_.write_items(batch);
  if (!st.is_ok()) out.errors.push_back("cannot store " + std::to_string(batch.size()) + " presence records: " + st.message());

  // Forget the versions of clients with no connection left here; the store has them.
  for (const Entry& e : journal_) {
    const std::string& id = e.conn.facts.client_id;
    if (live_per_client_.count(id) == 0 && pending_by_client_.count(id) == 0) versions_.erase(id);
  }
  journal_.clear();
  ended_.clear();
  ended_entry_.clear();
  return out;
}

std::optional<ShadowId> delta_subscription(std::string_view filter, const Config& engine) {
  constexpr std::string_view kSuffix = "/update/delta";
  if (!filter.ends_with(kSuffix) || filter.find_first_of("+#") != std::string_view::npos) return std::nullopt;
  std::string_view request = filter.substr(0, filter.size() - 6);  // ".../update"
  std::optional<RequestTopic> parsed = parse_request_topic(request, engine.short_topics);
  if (!parsed || parsed->op != Operation::kUpdate) return std::nullopt;
  if (validate_thing_name(parsed->id.thing, engine)) return std::nullopt;
  if (parsed->id.named() && validate_shadow_name(parsed->id.shadow, engine)) return std::nullopt;
  return std::move(parsed->id);
}

}  // namespace shadow::presence
