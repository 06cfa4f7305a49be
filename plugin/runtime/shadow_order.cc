#include "plugin/runtime/shadow_order.h"

#include <utility>

#include "plugin/runtime/pipeline.h"

namespace shadow::runtime {

ShadowOrder::ShadowOrder(PublishQueue& queue, Wakeup* wakeup) : queue_(queue), wakeup_(wakeup) {}

ShadowOrder::Stripe& ShadowOrder::stripe_for(std::string_view thing) {
  return stripes_[std::hash<std::string_view>{}(thing) % kStripes];
}

ShadowOrder::State& ShadowOrder::state(Stripe& s, const ShadowId& id) {
  ThingStates& shadows = s.things[id.thing];
  auto [it, added] = shadows.try_emplace(id.shadow);
  if (added) s.shadows++;
  return it->second;
}

void ShadowOrder::push(std::vector<OutMessage> messages) {
  if (messages.empty()) return;
  queue_.push(std::move(messages));
  if (wakeup_ != nullptr) wakeup_->request();
}

void ShadowOrder::deliver(State& st, RemoteEvent& e) {
  if (e.written) {
    const WrittenStamps& w = *e.written;
    // Contiguous with what was published last, the first one seen, or a
    // shadow created from nothing (its tombstone expired): published as is.
    bool follows = !st.last || !w.before || *w.before == *st.last;
    if (!follows) {
      if (!stamp_before(*st.last, w.after)) {
        duplicates_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      gaps_.fetch_add(1, std::memory_order_relaxed);
    }
    st.last = w.after;
  }
  published_.fetch_add(1, std::memory_order_relaxed);
  push(std::move(e.messages));
}

void ShadowOrder::begin_local(const ShadowId& id) {
  Stripe& s = stripe_for(id.thing);
  std::lock_guard<std::mutex> g(s.mu);
  state(s, id).local++;
}

void ShadowOrder::end_local(const ShadowId& id, const std::optional<WrittenStamps>& written,
                            std::vector<OutMessage> messages) {
  Stripe& s = stripe_for(id.thing);
  std::lock_guard<std::mutex> g(s.mu);
  State& st = state(s, id);
  if (st.local > 0) st.local--;
  if (written && !st.held.empty()) {
    // Held events of writes older than this one (and replies that wrote
    // nothing) go first, in arrival order; newer ones wait.
    std::vector<RemoteEvent> newer;
    for (RemoteEvent& e : st.held) {
      if (e.written && !stamp_before(e.written->after, written->after)) {
        newer.push_back(std::move(e));
      } else {
        deliver(st, e);
      }
    }
    st.held = std::move(newer);
  }
  if (written) st.last = written->after;
  push(std::move(messages));
  if (st.local == 0) {
    std::vector<RemoteEvent> rest = std::move(st.held);
    st.held.clear();
    for (RemoteEvent& e : rest) deliver(st, e);
    if (!st.remote_seen) {
      // Nobody here listens to this shadow's events: nothing to guard.
      ThingStates& shadows = s.things[id.thing];
      shadows.erase(id.shadow);
      s.shadows--;
      if (shadows.empty()) s.things.erase(id.thing);
    }
  }
}

void ShadowOrder::remote(RemoteEvent event) {
  Stripe& s = stripe_for(event.id.thing);
  std::lock_guard<std::mutex> g(s.mu);
  if (s.shadows >= kMaxShadowsPerStripe) trim(s);
  State& st = state(s, event.id);
  st.remote_seen = true;
  if (st.local > 0) {
    held_.fetch_add(1, std::memory_order_relaxed);
    st.held.push_back(std::move(event));
    return;
  }
  deliver(st, event);
}

void ShadowOrder::trim(Stripe& s) {
  for (auto thing = s.things.begin(); thing != s.things.end();) {
    for (auto it = thing->second.begin(); it != thing->second.end();) {
      if (it->second.local == 0 && it->second.held.empty()) {
        it = thing->second.erase(it);
        s.shadows--;
      } else {
        ++it;
      }
    }
    thing = thing->second.empty() ? s.things.erase(thing) : std::next(thing);
  }
}

void ShadowOrder::reset(const std::function<bool(std::string_view thing)>& pred) {
  for (Stripe& s : stripes_) {
    std::lock_guard<std::mutex> g(s.mu);
    for (auto& [thing, shadows] : s.things) {
      if (!pred(thing)) continue;
      for (auto& [name, st] : shadows) st.last.reset();
    }
  }
}

ShadowOrder::Counters ShadowOrder::counters() const {
  Counters c;
  c.published = published_.load(std::memory_order_relaxed);
  c.duplicates = duplicates_.load(std::memory_order_relaxed);
  c.gaps = gaps_.load(std::memory_order_relaxed);
  c.held = held_.load(std::memory_order_relaxed);
  return c;
}

size_t ShadowOrder::tracked() const {
  size_t n = 0;
  for (const Stripe& s : stripes_) {
    std::lock_guard<std::mutex> g(s.mu);
    n += s.shadows;
  }
  return n;
}

}  // namespace shadow::runtime
