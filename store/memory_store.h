// An in-memory Store for tests, benchmarks and the engine demo. Thread-safe;
// nothing survives the process.
#pragma once

#include <map>
#include <mutex>
#include <utility>

#include "store/store.h"

namespace shadow {

class MemoryStore final : public Store {
 public:
  Status get(const StoreKey& key, ShadowRecord* out) override;
  Status compare_and_set(const StoreKey& key, const std::optional<RecordStamp>& expected,
                         const ShadowRecord& next, const std::vector<ItemChange>& items = {}) override;
  Status list_named(std::string_view thing, std::string_view after, size_t limit,
                    std::vector<std::string>* names, bool* more) override;
  Status list_shadows(const StoreKey& after, size_t limit, std::vector<StoreKey>* keys,
                      bool* more) override;
  // Holds the store's lock for the whole scan.
  Status scan_shadows(std::string_view after_thing, std::string_view thing_prefix,
                      const ShadowVisitor& visit) override;
  Status get_item(std::string_view space, std::string_view key, std::string* value) override;
  Status put_item(std::string_view space, std::string_view key, std::string_view value,
                  ItemWrite mode) override;
  Status delete_item(std::string_view space, std::string_view key) override;
  Status list_items(std::string_view space, std::string_view prefix, std::string_view after,
                    size_t limit, std::vector<Item>* items, bool* more) override;

  // Test hook: the next `n` writes fail with kIoError.
  void fail_next_writes(int n);
  size_t size();

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, ShadowRecord> records_;
  std::map<std::pair<std::string, std::string>, std::string, std::less<>> items_;
  int failing_writes_ = 0;
};

}  // namespace shadow
