#include "store/memory_store.h"

#include <algorithm>

namespace shadow {

Status MemoryStore::get(const StoreKey& key, ShadowRecord* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find({key.thing, key.shadow});
  if (it == records_.end()) return Status::not_found();
  *out = it->second;
  return Status::ok();
}

Status MemoryStore::compare_and_set(const StoreKey& key, const std::optional<RecordStamp>& expected,
                                    const ShadowRecord& next, const std::vector<ItemChange>& items) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failing_writes_ > 0) {
    --failing_writes_;
    return Status::io_error("injected write failure");
  }
  auto k = std::make_pair(key.thing, key.shadow);
  auto it = records_.find(k);
  std::optional<RecordStamp> actual;
  if (it != records_.end()) actual = stamp_of(it->second);
  if (actual != expected) return Status::conflict();
  records_[k] = next;
  for (const ItemChange& change : items) {
    auto item = std::make_pair(change.space, change.key);
    if (change.value) items_[item] = *change.value;
    else items_.erase(item);
  }
  return Status::ok();
}

Status MemoryStore::list_named(std::string_view thing, std::string_view after, size_t limit,
                                    std::vector<std::string>* names, bool* more) {
  std::lock_guard<std::mutex> lock(mu_);
  names->clear();
  *more = false;
  std::string t(thing);
  // Named shadows of `thing` sort after its classic shadow (empty name).
  auto it = records_.upper_bound({t, std::string(after)});
  for (; it != records_.end() && it->first.first == t; ++it) {
    if (it->first.second.empty() || it->second.deleted) continue;
    if (names->size() == limit) {
      *more = true;
      break;
    }
    names->push_back(it->first.second);
  }
  return Status::ok();
}

Status MemoryStore::list_shadows(const StoreKey& after, size_t limit,
                                      std::vector<StoreKey>* keys, bool* more) {
  std::lock_guard<std::mutex> lock(mu_);
  keys->clear();
  *more = false;
  // std::string compares bytes as unsigned char, the order RocksDB keys have.
  auto it = after.thing.empty() ? records_.begin()
                                : records_.upper_bound({after.thing, after.shadow});
  for (; it != records_.end(); ++it) {
    if (it->second.deleted) continue;
    if (keys->size() == limit) {
      *more = true;
      break;
    }
    keys->push_back(StoreKey{it->first.first, it->first.second});
  }
  return Status::ok();
}

Status MemoryStore::scan_shadows(std::string_view after_thing, std::string_view thing_prefix,
                                 const ShadowVisitor& visit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string from = std::max(std::string(after_thing), std::string(thing_prefix));
  auto it = records_.lower_bound({from, std::string()});
  for (; it != records_.end(); ++it) {
    const std::string& thing = it->first.first;
    if (!after_thing.empty() && thing == after_thing) continue;  // strictly after
    if (!thing.starts_with(thing_prefix)) break;
    if (it->second.deleted) continue;
    ShadowEntry entry{thing, it->first.second, it->second.version, it->second.document};
    if (!visit(entry)) break;
  }
  return Status::ok();
}

Status MemoryStore::get_item(std::string_view space, std::string_view key, std::string* value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = items_.find(std::make_pair(std::string(space), std::string(key)));
  if (it == items_.end()) return Status::not_found();
  *value = it->second;
  return Status::ok();
}

Status MemoryStore::put_item(std::string_view space, std::string_view key, std::string_view value,
                             ItemWrite mode) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failing_writes_ > 0) {
    --failing_writes_;
    return Status::io_error("injected write failure");
  }
  auto [it, added] = items_.try_emplace(std::make_pair(std::string(space), std::string(key)), value);
  if (!added) {
    if (mode == ItemWrite::kIfAbsent) return Status::conflict();
    it->second = std::string(value);
  }
  return Status::ok();
}

Status MemoryStore::delete_item(std::string_view space, std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  items_.erase(std::make_pair(std::string(space), std::string(key)));
  return Status::ok();
}

Status MemoryStore::list_items(std::string_view space, std::string_view prefix, std::string_view after,
                               size_t limit, std::vector<Item>* items, bool* more) {
  std::lock_guard<std::mutex> lock(mu_);
  items->clear();
  *more = false;
  std::string s(space);
  std::string from = std::max(std::string(prefix), std::string(after));
  auto it = items_.lower_bound(std::make_pair(s, from));
  for (; it != items_.end() && it->first.first == s && it->first.second.starts_with(prefix); ++it) {
    if (it->first.second == after) continue;
    if (items->size() == limit) {
      *more = true;
      break;
    }
    items->push_back(Item{it->first.second, it->second});
  }
  return Status::ok();
}

void MemoryStore::fail_next_writes(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  failing_writes_ = n;
}

size_t MemoryStore::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return records_.size();
}

}  // namespace shadow
