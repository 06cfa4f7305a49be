#include "plugin/runtime/durable_queue.h"

namespace shadow::runtime {

uint64_t DurableQueue::push(uint64_t seq, std::vector<OutMessage> messages,
                            std::optional<ReplyAddress> reply_to) {
  std::lock_guard<std::mutex> g(mu_);
  if (seq < last_tag_) seq = last_tag_;  // see the header: tags never decrease
  last_tag_ = seq;
  entries_.push_back(DurableEntry{seq, std::move(messages), std::move(reply_to)});
  size_.store(entries_.size(), std::memory_order_release);
  return seq;
}

std::optional<DurableEntry> DurableQueue::pop_if(uint64_t limit) {
  std::lock_guard<std::mutex> g(mu_);
  if (entries_.empty() || entries_.front().seq > limit) return std::nullopt;
  std::optional<DurableEntry> e(std::move(entries_.front()));
  entries_.pop_front();
  size_.store(entries_.size(), std::memory_order_release);
  return e;
}

}  // namespace shadow::runtime
