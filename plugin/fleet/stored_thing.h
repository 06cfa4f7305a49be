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
  // How much of each document queries read; set before the first add().
  // kNone keeps no document at all (queries on thing names only, counted
  // without results); kState parses only the desired and reported state
  // (a stored document is about half metadata); kFull parses the whole
  // document and computes its delta (shadow.delta.*, shadow.hasDelta);
  // kFullWithMetadata also builds the metadata view (shadow.metadata.*).
  // result_shadow() always reads the whole document.
  enum class Depth { kNone, kState, kFull, kFullWithMetadata };
  void set_depth(Depth depth) { depth_ = depth; }
  // The depth a query needs.
  static Depth depth_for(bool needs_shadows, bool needs_delta, bool needs_metadata);

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
    // The state-only view: `scratch` is a copy of the document parsed in
    // place, into a pool that starts in `arena`, so that most documents are
    // parsed without a single allocation.
    bool state_loaded = false, state_valid = false;
    std::string scratch;
    alignas(8) char arena[16384];
    rapidjson::MemoryPoolAllocator<> pool{arena, sizeof arena};
    rapidjson::Document state{&pool};
    ShadowFields state_fields;
    // The whole document.
    bool loaded = false, valid = false;
    std::unique_ptr<ShadowDocument> doc;
    std::unique_ptr<rapidjson::Document> derived;  // owns the delta and the metadata view
    ShadowFields fields;
  };
  Stored* find(std::string_view shadow);
  bool load(Stored& s);
  bool load_state(Stored& s);

  ConnectivitySource* connectivity_source_;
  std::string thing_;
  std::vector<std::unique_ptr<Stored>> shadows_;  // [0, used_) are this thing's
  size_t used_ = 0;
  Depth depth_ = Depth::kFull;
  bool connectivity_read_ = false;
  std::optional<Connectivity> connectivity_;
};

}  // namespace shadow::fleet
