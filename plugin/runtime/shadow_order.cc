#include "plugin/runtime/shadow_order.h"

#include <utility>

#include "plugin/runtime/pipeline.h"

namespace shadow::runtime {

ShadowOrder::ShadowOrder(PublishQueue& queue, Wakeup* wakeup, std::chrono::milliseconds local_wait)
    : queue_(queue), wakeup_(wakeup), local_wait_(local_wait) {}

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
    // This broker's answers to writes older than this one go first: the
    // events they were waiting for are not coming before it.
    release_waiting(st, e.written->after);
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
  if (e.written) release_waiting(st, std::nullopt);
}

void ShadowOrder::release_waiting(State& st, const std::optional<RecordStamp>& older_than) {
  while (!st.waiting.empty()) {
    Waiting& w = st.waiting.front();
    // Every waiting answer has a before-stamp (see local_answer).
    bool caught_up = st.last && !stamp_before(*st.last, *w.written.before);
    bool older = older_than && stamp_before(w.written.after, *older_than);
    if (!caught_up && !older) return;
    publish_first_waiting(st, !caught_up);
  }
}

void ShadowOrder::publish_first_waiting(State& st, bool gap) {
  Waiting& w = st.waiting.front();
  if (gap) gaps_.fetch_add(1, std::memory_order_relaxed);
  if (!st.last || stamp_before(*st.last, w.written.after)) st.last = w.written.after;
  push(std::move(w.messages));
  st.waiting.erase(st.waiting.begin());
  waiting_count_.fetch_sub(1, std::memory_order_relaxed);
}

void ShadowOrder::local_answer(State& st, const ShadowId& id, const WrittenStamps& written,
                               std::vector<OutMessage> messages) {
  // The event of the write this one followed has not been published here
  // yet, and will come: this broker listens to the shadow.
  bool behind = written.before && (!st.last || stamp_before(*st.last, *written.before));
  if (!st.waiting.empty() || (behind && listening_ && listening_(id.thing))) {
    waited_.fetch_add(1, std::memory_order_relaxed);
    waiting_count_.fetch_add(1, std::memory_order_relaxed);
    // Without a write of this shadow published here yet (the first one
    // since the subscription began), the awaited write may predate the
    // subscription and its event never come: a tenth of the wait then.
    auto wait = st.last ? local_wait_ : local_wait_ / 10;
    st.waiting.push_back(Waiting{written, std::move(messages), std::chrono::steady_clock::now() + wait});
    // An answer queued behind others keeps their order; it may already be
    // caught up with.
    release_waiting(st, std::nullopt);
    return;
  }
  if (!st.last || stamp_before(*st.last, written.after)) st.last = written.after;
  push(std::move(messages));
}

void ShadowOrder::expire(std::chrono::steady_clock::time_point now) {
  if (waiting_count_.load(std::memory_order_relaxed) == 0) return;
  for (Stripe& s : stripes_) {
    std::lock_guard<std::mutex> g(s.mu);
    for (auto& [thing, shadows] : s.things) {
      for (auto& [name, st] : shadows) {
        while (!st.waiting.empty() && st.waiting.front().deadline <= now) {
          wait_expired_.fetch_add(1, std::memory_order_relaxed);
          publish_first_waiting(st, true);
          release_waiting(st, std::nullopt);
        }
      }
    }
  }
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
  if (written) {
    local_answer(st, id, *written, std::move(messages));
  } else {
    push(std::move(messages));
  }
  if (st.local == 0) {
    std::vector<RemoteEvent> rest = std::move(st.held);
    st.held.clear();
    for (RemoteEvent& e : rest) deliver(st, e);
    if (idle(st) && !st.remote_seen && !(listening_ && listening_(id.thing))) {
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
      if (idle(it->second)) {
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
      for (auto& [name, st] : shadows) {
        // Answers waiting for events that may never come go now.
        while (!st.waiting.empty()) publish_first_waiting(st, false);
        st.last.reset();
      }
    }
  }
}

ShadowOrder::Counters ShadowOrder::counters() const {
  Counters c;
  c.published = published_.load(std::memory_order_relaxed);
  c.duplicates = duplicates_.load(std::memory_order_relaxed);
  c.gaps = gaps_.load(std::memory_order_relaxed);
  c.held = held_.load(std::memory_order_relaxed);
  c.waited = waited_.load(std::memory_order_relaxed);
  c.wait_expired = wait_expired_.load(std::memory_order_relaxed);
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
