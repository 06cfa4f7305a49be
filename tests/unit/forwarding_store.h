// A Store that forwards every call to an inner MemoryStore: tests derive from
// it and override only the call they want to observe or disturb.
#pragma once

#include <string>
#include <vector>

#include "store/memory_store.h"

class ForwardingStore : public shadow::Store {
 public:
  shadow::Status get(const shadow::StoreKey& k, shadow::ShadowRecord* out) override {
    return inner_.get(k, out);
  }
  shadow::Status compare_and_set(const shadow::StoreKey& k, const std::optional<shadow::RecordStamp>& expected,
                                 const shadow::ShadowRecord& next,
                                 const std::vector<shadow::ItemChange>& items = {}) override {
    return inner_.compare_and_set(k, expected, next, items);
  }
  shadow::Status list_named(std::string_view thing, std::string_view after, size_t limit,
                            std::vector<std::string>* names, bool* more) override {
    return inner_.list_named(thing, after, limit, names, more);
  }
  shadow::Status list_shadows(const shadow::StoreKey& after, size_t limit, std::vector<shadow::StoreKey>* keys,
                              bool* more) override {
    return inner_.list_shadows(after, limit, keys, more);
  }
  shadow::Status scan_shadows(std::string_view after_thing, std::string_view thing_prefix,
                              const shadow::ShadowVisitor& visit) override {
    return inner_.scan_shadows(after_thing, thing_prefix, visit);
  }
  shadow::Status get_item(std::string_view space, std::string_view key, std::string* value) override {
    return inner_.get_item(space, key, value);
  }
  shadow::Status put_item(std::string_view space, std::string_view key, std::string_view value,
                          shadow::ItemWrite mode) override {
    return inner_.put_item(space, key, value, mode);
  }
  shadow::Status delete_item(std::string_view space, std::string_view key) override {
    return inner_.delete_item(space, key);
  }
  shadow::Status list_items(std::string_view space, std::string_view prefix, std::string_view after, size_t limit,
                            std::vector<shadow::Item>* items, bool* more) override {
    return inner_.list_items(space, prefix, after, limit, items, more);
  }

 protected:
  shadow::MemoryStore inner_;
};
