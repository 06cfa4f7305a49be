#include "store/redis/write_batcher.h"

#include <algorithm>
#include <utility>

namespace shadow::redis {

WriteBatcher::WriteBatcher(ClusterClient& client, std::optional<Command> wait, size_t max_batch)
    : client_(client), wait_(std::move(wait)), max_batch_(std::max<size_t>(1, max_batch)) {}

Status WriteBatcher::run(int slot, const Command& command, std::vector<Reply>* replies) {
  StatusOr<std::shared_ptr<const SlotMap>> map = client_.slot_map();
  if (!map.ok()) return map.status();  // no node answers: ClusterClient::run would fail the same way
  const NodeAddress* master = map.value()->master_of(slot);
  if (master == nullptr) return run_alone(slot, command, replies);  // it waits for a master
  const NodeAddress node = *master;  // the map may be replaced meanwhile

  Entry me;
  me.command = &command;
  std::unique_lock<std::mutex> lock(mu_);
  Queue& q = queues_[node];
  q.waiting.push_back(&me);
  while (!me.done) {
    if (q.busy) {
      me.cv.wait(lock);
      continue;
    }
    // Lead: everything queued for this master goes, in arrival order (at
    // most max_batch_; then this writer may lead again for its own).
    q.busy = true;
    std::vector<Entry*> batch;
    while (!q.waiting.empty() && batch.size() < max_batch_) {
      batch.push_back(q.waiting.front());
      q.waiting.pop_front();
    }
    lock.unlock();
    send(node, batch);
    lock.lock();
    counters_.batches++;
    counters_.writes += batch.size();
    counters_.largest = std::max<uint64_t>(counters_.largest, batch.size());
    for (Entry* e : batch) {
      e->done = true;
      if (e != &me) e->cv.notify_one();
    }
    q.busy = false;
    if (!q.waiting.empty()) q.waiting.front()->cv.notify_one();  // the next leader
  }
  lock.unlock();
  if (me.fallback) return run_alone(slot, command, replies);
  *replies = std::move(me.replies);
  return me.status;
}

Status WriteBatcher::run_alone(int slot, const Command& command, std::vector<Reply>* replies) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    counters_.fallbacks++;
  }
  std::vector<Command> pipeline{command};
  if (wait_) pipeline.push_back(*wait_);
  return client_.run(slot, pipeline, replies, ClusterClient::Mode::kWrite);
}

void WriteBatcher::send(const NodeAddress& node, const std::vector<Entry*>& batch) {
  std::vector<Command> pipeline;
  pipeline.reserve(batch.size() + 1);
  for (const Entry* e : batch) pipeline.push_back(*e->command);
  if (wait_) pipeline.push_back(*wait_);
  std::vector<Reply> out;
  bool maybe_executed = false;
  Status s = client_.run_once(node, pipeline, &out, &maybe_executed);
  if (!s.is_ok()) {
    for (Entry* e : batch) {
      if (maybe_executed) {
        e->status = outcome_unknown(s);
      } else {
        e->fallback = true;  // nothing reached the node: the normal path retries it
      }
    }
    return;
  }
  for (size_t i = 0; i < batch.size(); i++) {
    Entry* e = batch[i];
    if (classify_error(out[i]) != ErrorAction::kNone) {
      e->fallback = true;  // refused before it ran (moved, failing over, ...)
      continue;
    }
    e->replies.push_back(std::move(out[i]));
    if (wait_) e->replies.push_back(out.back());
  }
}

WriteBatcher::Counters WriteBatcher::counters() {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

}  // namespace shadow::redis
