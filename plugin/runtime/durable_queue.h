// The ordered hold-back list of durable mode (plugin_opt_sync_writes true).
//
// In durable mode nothing that reveals a write may leave the broker before
// that write is fsynced: not its /accepted reply, not its delta or documents
// events, not a later get that reads it. So every publication is first
// appended here, tagged with a write sequence number, and the broker thread
// publishes the head of the list while the head's sequence is <= the durable
// sequence (everything up to it has been fsynced; group_commit.h).
//
// Tags. A write's sequence number is the store's sequence after that write
// (RocksDB numbers writes in the order it applies them). A reply is tagged
// with the store's latest sequence read right after the engine call, under
// the shadow's lock: that is >= its own write's number, and >= the number of
// every write a get or a rejection could have read. A larger tag than needed
// only makes an entry wait a little longer; it is never wrong.
//
// Order. The list is FIFO and push() raises a tag that is smaller than the
// previous entry's to that entry's tag, so tags never decrease along the
// list and releasing "every head entry whose tag is durable" keeps push
// order. Push order is apply order per shadow, because both the broker
// thread (MQTT) and the HTTP workers (REST) push while holding the shadow's
// lock (shadow_core/service.h). So per-shadow order, and indeed the global
// push order, survive the hold-back.
//
// Thread-safe; release/fail run on the broker thread. Pure code: no broker
// headers, no threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "shadow_core/service.h"

namespace shadow::runtime {

struct DurableEntry {
  uint64_t seq = 0;
  std::vector<OutMessage> messages;  // in publication order
  // Set when the entry answers an MQTT request: if its write cannot be made
  // durable, the requester gets a 500 rejection there instead.
  std::optional<ReplyAddress> reply_to;
};

class DurableQueue {
 public:
  // Appends an entry; returns the tag it got (seq, or the previous entry's
  // tag when that is larger).
  uint64_t push(uint64_t seq, std::vector<OutMessage> messages, std::optional<ReplyAddress> reply_to);

  // Removes, in order, every head entry whose tag <= durable_seq and passes
  // it to publish(const DurableEntry&). Stops at the first entry that must
  // still wait. Returns how many entries were released.
  template <typename Publish>
  size_t release(uint64_t durable_seq, Publish&& publish);

  // Removes every entry, in order, passing each to on_entry: for shutdown
  // and for a failed sync (see group_commit.h).
  template <typename OnEntry>
  size_t take_all(OnEntry&& on_entry);

  // Cheap checks for the broker thread's hot path (no lock).
  bool empty() const { return size_.load(std::memory_order_acquire) == 0; }
  size_t size() const { return size_.load(std::memory_order_acquire); }

 private:
  // Pops the head if its tag <= limit.
  std::optional<DurableEntry> pop_if(uint64_t limit);

  std::mutex mu_;
  std::deque<DurableEntry> entries_;
  uint64_t last_tag_ = 0;
  std::atomic<size_t> size_{0};
};

template <typename Publish>
size_t DurableQueue::release(uint64_t durable_seq, Publish&& publish) {
  size_t n = 0;
  // One entry per lock: HTTP workers pushing meanwhile never wait for a
  // whole batch of broker publications.
  while (!empty()) {
    std::optional<DurableEntry> e = pop_if(durable_seq);
    if (!e) break;
    publish(*e);
    n++;
  }
  return n;
}

template <typename OnEntry>
size_t DurableQueue::take_all(OnEntry&& on_entry) {
  size_t n = 0;
  while (!empty()) {
    std::optional<DurableEntry> e = pop_if(UINT64_MAX);
    if (!e) break;
    on_entry(*e);
    n++;
  }
  return n;
}

}  // namespace shadow::runtime
