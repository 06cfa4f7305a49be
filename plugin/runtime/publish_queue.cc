#include "plugin/runtime/publish_queue.h"

#include <string_view>

namespace shadow::runtime {

void PublishQueue::push(std::vector<OutMessage> messages) {
  if (messages.empty()) return;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (OutMessage& m : messages) messages_.push_back(std::move(m));
    depth_.store(messages_.size(), std::memory_order_relaxed);
    pending_.store(messages_.size() + logs_.size(), std::memory_order_relaxed);
  }
}

void PublishQueue::push_log(LogLevel level, std::string text) {
  {
    std::lock_guard<std::mutex> g(mu_);
    logs_.push_back({level, std::move(text)});
    pending_.store(messages_.size() + logs_.size(), std::memory_order_relaxed);
  }
}

PublishQueue::Batch PublishQueue::take_all() {
  Batch batch;
  std::lock_guard<std::mutex> g(mu_);
  batch.messages.assign(std::make_move_iterator(messages_.begin()),
                        std::make_move_iterator(messages_.end()));
  batch.logs.assign(std::make_move_iterator(logs_.begin()), std::make_move_iterator(logs_.end()));
  messages_.clear();
  logs_.clear();
  depth_.store(0, std::memory_order_relaxed);
  pending_.store(0, std::memory_order_relaxed);
  return batch;
}

}  // namespace shadow::runtime
