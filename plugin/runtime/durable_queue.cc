#include "plugin/runtime/durable_queue.h"

#include <string_view>

#include "shadow_core/errors.h"
#include "shadow_core/json.h"
#include "shadow_core/responses.h"

namespace shadow::plugin {

uint64_t DurableQueue::push(uint64_t seq, std::vector<QueuedMessage> messages, bool has_reply) {
  std::lock_guard<std::mutex> g(mu_);
  if (seq < last_tag_) seq = last_tag_;  // see the header: tags never decrease
  last_tag_ = seq;
  entries_.push_back(DurableEntry{seq, std::move(messages), has_reply});
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

std::optional<QueuedMessage> internal_failure_reply(const QueuedMessage& reply,
                                                    const std::optional<int64_t>& timestamp) {
  std::string_view topic(reply.topic);
  size_t slash = topic.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view suffix = topic.substr(slash + 1);
  if (suffix != "accepted" && suffix != "rejected") return std::nullopt;

  // The reply carries the request's clientToken when it had one; the engine
  // only echoes a valid (string) token.
  responses::Token token;
  json::Document doc;
  if (json::parse(reply.payload, &doc) && doc.IsObject()) {
    const json::Value* t = json::find_last(doc, "clientToken");
    if (t != nullptr && t->IsString()) token = std::string(t->GetString(), t->GetStringLength());
  }
  QueuedMessage out;
  out.topic = std::string(topic.substr(0, slash)) + "/rejected";
  out.payload = responses::error(Error{500, messages::kInternal}, timestamp, token);
  out.qos = reply.qos;
  out.retain = false;
  return out;
}

}  // namespace shadow::plugin
