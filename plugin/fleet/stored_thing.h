// One thing as a store scan delivers it (store.h, scan_shadows): the stored
// documents of its shadows, parsed only when a query or a result needs
// them. The ThingView that fleet search and fleet updates evaluate queries
// against, and the "shadow" member of a search result.
//
// Reused from thing to thing (reset) so that a scan over a million things
// does not allocate its buffers a million times. Not thread-safe: one per
// scan.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/fleet/connectivity.h"
#include "plugin/fleet/query/thing_view.h"
#include "shadow_core/document.h"
#include "store/store.h"

namespace shadow::fleet {

class StoredThing final : public ThingView {
 public:
  // `connectivity` may be null (no presence feature); it must outlive this.
  explicit StoredThing(ConnectivitySource* connectivity) : connectivity_source_(connectivity) {}

  // Starts over with thing `thing` and no shadows.
  void reset(std::string_view thing);
  // Adds a shadow of the current thing (copies the document).
  void add(const ShadowEntry& entry);
  bool empty() const { return used_ == 0; }
  size_t size() const { return used_; }  // shadows of the current thing
  // Whether queries may read shadow.metadata.* (building that view costs a copy).
  void set_needs_metadata(bool needs) { needs_metadata_ = needs; }

  // ThingView. A stored document that does not parse counts as an absent
  // shadow (it cannot happen unless the database was damaged).
  std::string_view name() const override { return thing_; }
  const ShadowFields* shadow(std::string_view shadow) override;
  std::vector<std::string> named_shadows() override;
  const Connectivity* connectivity() override;

  // The "shadow" member of a search result, a JSON text: the classic
  // shadow's desired, reported, delta (when not empty), metadata, hasDelta
  // and version, and "name":{<shadow>:{the same}} for those of `named` the
  // thing has. Empty when the thing has none of these shadows.
  std::string result_shadow(const std::vector<std::string>& named);

 private:
  struct Stored {
    std::string name;
    uint64_t version = 0;
    std::string document;
    bool loaded = false;
    bool valid = false;
    std::unique_ptr<ShadowDocument> doc;
    std::unique_ptr<rapidjson::Document> derived;  // owns the delta and the metadata view
    ShadowFields fields;
  };
  Stored* find(std::string_view shadow);
  bool load(Stored& s);

  ConnectivitySource* connectivity_source_;
  std::string thing_;
  std::vector<Stored> shadows_;  // [0, used_) are this thing's
  size_t used_ = 0;
  bool needs_metadata_ = false;
  bool connectivity_read_ = false;
  std::optional<Connectivity> connectivity_;
};

}  // namespace shadow::fleet
