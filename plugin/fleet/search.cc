#include "plugin/fleet/search.h"

#include <algorithm>

namespace shadow::fleet {
namespace {

Status busy() {
  return Status::unavailable("too many fleet searches are running (at most " +
                             std::to_string(FleetSearch::kMaxConcurrentScans) + " at once); retry shortly");
}

// The value of `field` that statistics use for one thing: the first scalar
// (a number counts as a number; a string or boolean only as present).
std::optional<rapidjson::Value> field_value(const Field& field, StoredThing& thing) {
  switch (field.kind) {
    case FieldKind::kThingName: return rapidjson::Value(rapidjson::kStringType);
    case FieldKind::kState: {
      const ShadowFields* s = thing.shadow(field.shadow);
      if (s == nullptr) return std::nullopt;
      std::vector<const rapidjson::Value*> values;
      state_values(field, *s, &values);
      for (const rapidjson::Value* v : values) {
        if (v->IsNumber()) return rapidjson::Value(v->GetDouble());
        if (v->IsString() || v->IsBool()) return rapidjson::Value(rapidjson::kStringType);
      }
      return std::nullopt;
    }
    case FieldKind::kHasDelta: {
      const ShadowFields* s = thing.shadow(field.shadow);
      if (s == nullptr) return std::nullopt;
      return rapidjson::Value(rapidjson::kStringType);
    }
    case FieldKind::kShadowVersion: {
      const ShadowFields* s = thing.shadow(field.shadow);
      if (s == nullptr) return std::nullopt;
      return rapidjson::Value(static_cast<double>(s->version));
    }
    case FieldKind::kConnected:
    case FieldKind::kConnectedAt:
    case FieldKind::kDisconnectReason: {
      const Connectivity* c = thing.connectivity();
      if (c == nullptr) return std::nullopt;
      if (field.kind == FieldKind::kConnectedAt) return rapidjson::Value(static_cast<double>(c->timestamp_ms));
      if (field.kind == FieldKind::kDisconnectReason && c->disconnect_reason.empty()) return std::nullopt;
      return rapidjson::Value(rapidjson::kStringType);
    }
    case FieldKind::kAny: break;
  }
  return std::nullopt;
}

}  // namespace

Status scan_things(Store& store, std::string_view after_thing, std::string_view prefix, StoredThing& thing,
                   const std::function<bool(StoredThing&)>& on_thing, bool* finished) {
  bool stopped = false;
  thing.reset("");
  Status st = store.scan_shadows(after_thing, prefix, [&](const ShadowEntry& e) {
    if (thing.empty() || e.thing != thing.name()) {
      if (!thing.empty() && !on_thing(thing)) {
        stopped = true;
        return false;
      }
      thing.reset(e.thing);
    }
    thing.add(e);
    return true;
  });
  if (!st.is_ok()) return st;
  if (!stopped && !thing.empty() && !on_thing(thing)) stopped = true;
  *finished = !stopped;
  return Status::ok();
}

bool FleetSearch::enter() {
  int n = scans_.load();
  while (n < kMaxConcurrentScans) {
    if (scans_.compare_exchange_weak(n, n + 1)) return true;
  }
  return false;
}

void FleetSearch::leave() { scans_.fetch_sub(1); }

Status FleetSearch::search(const Query& query, std::string_view after_thing, size_t max_results, SearchPage* out) {
  *out = SearchPage{};
  if (!enter()) return busy();
  StoredThing thing(connectivity_);
  // Results show documents: keep them even for queries on names only.
  StoredThing::Depth depth = StoredThing::depth_for(true, query.needs_delta(), query.needs_metadata());
  thing.set_depth(depth);
  size_t since_full = 0;
  bool more = false;
  bool finished = false;
  Status st = scan_things(store_, after_thing, query.thing_prefix(), thing, [&](StoredThing& t) {
    ++out->things_read;
    bool full = out->things.size() >= max_results;
    if (full && ++since_full > kLookaheadThings) {
      more = true;  // no match seen yet: let the caller continue from here
      return false;
    }
    if (!query.matches(t)) return true;
    if (full) {
      more = true;  // a match beyond the page: there is a next page
      return false;
    }
    SearchHit hit;
    hit.thing = std::string(t.name());
    hit.shadow = t.result_shadow(query.named_shadows());
    if (const Connectivity* c = t.connectivity()) hit.connectivity = *c;
    out->things.push_back(std::move(hit));
    return true;
  }, &finished);
  leave();
  if (!st.is_ok()) return st;
  if (more && !out->things.empty()) out->next_after = out->things.back().thing;
  // A full look-ahead with an empty page cannot happen (the page fills
  // first), so an empty page always ends the search.
  return Status::ok();
}

Status FleetSearch::statistics(const Query& query, const Field* field, Statistics* out) {
  *out = Statistics{};
  if (!enter()) return busy();
  StoredThing thing(connectivity_);
  const bool field_reads_shadows = field != nullptr && (field->kind == FieldKind::kState ||
                                                        field->kind == FieldKind::kHasDelta ||
                                                        field->kind == FieldKind::kShadowVersion);
  thing.set_depth(StoredThing::depth_for(
      query.needs_shadows() || field_reads_shadows,
      query.needs_delta() || (field != nullptr && (field->kind == FieldKind::kHasDelta ||
                                                   (field->kind == FieldKind::kState && field->section == Section::kDelta))),
      query.needs_metadata() ||
          (field != nullptr && field->kind == FieldKind::kState && field->section == Section::kMetadata)));
  bool finished = false;
  Status st = scan_things(store_, "", query.thing_prefix(), thing, [&](StoredThing& t) {
    if (!query.matches(t)) return true;
    if (field == nullptr) {
      ++out->count;
      return true;
    }
    std::optional<rapidjson::Value> v = field_value(*field, t);
    if (!v) return true;
    ++out->count;
    if (v->IsNumber()) {
      double x = v->GetDouble();
      if (out->numbers == 0) out->minimum = out->maximum = x;
      out->minimum = std::min(out->minimum, x);
      out->maximum = std::max(out->maximum, x);
      out->sum += x;
      out->sum_of_squares += x * x;
      ++out->numbers;
    }
    return true;
  }, &finished);
  leave();
  return st;
}

}  // namespace shadow::fleet
