#include "shadow_core/delta.h"

#include <optional>

namespace shadow {
namespace {

using json::Value;

const Value& empty_object() {
  static const Value kEmpty(rapidjson::kObjectType);
  return kEmpty;
}

// Fills `out`/`out_meta` with the members of `desired` that `reported` lacks
// or holds differently. `reported` may be nullptr (absent). Returns whether
// anything differs. Recursion follows stored documents, whose depth is bounded.
bool diff(const Value& desired, const Value* reported, const Value& meta, Value& out, Value& out_meta,
          json::Allocator& alloc) {
  out.SetObject();
  out_meta.SetObject();
  // Read-only lookups; the finders need mutable references only to append.
  std::optional<json::MemberFinder> in_reported, in_meta;
  if (reported) in_reported.emplace(const_cast<Value&>(*reported), desired.MemberCount());
  if (meta.IsObject()) in_meta.emplace(const_cast<Value&>(meta), desired.MemberCount());
  for (auto it = desired.MemberBegin(); it != desired.MemberEnd(); ++it) {
    std::string_view key = json::view(it->name);
    const Value& d = it->value;
    const Value* r = in_reported ? in_reported->find(key) : nullptr;
    const Value* m = in_meta ? in_meta->find(key) : nullptr;
    if (!m) m = &empty_object();
    if (r && d.IsObject() && r->IsObject()) {
      Value sub, sub_meta;
      if (diff(d, r, *m, sub, sub_meta, alloc)) {
        out.AddMember(Value(it->name, alloc), sub, alloc);
        out_meta.AddMember(Value(it->name, alloc), sub_meta, alloc);
      }
      continue;
    }
    if (r && json::equal(d, *r)) continue;
    out.AddMember(Value(it->name, alloc), Value(d, alloc), alloc);
    out_meta.AddMember(Value(it->name, alloc), Value(*m, alloc), alloc);
  }
  return out.MemberCount() > 0;
}

}  // namespace

Delta compute_delta(const ShadowDocument& doc, json::Allocator& alloc) {
  Delta delta;
  const Value* desired = doc.desired();
  if (!desired) return delta;
  if (!diff(*desired, doc.reported(), *doc.desired_metadata(), delta.state, delta.metadata, alloc)) {
    delta.state.SetNull();
    delta.metadata.SetNull();
  }
  return delta;
}

}  // namespace shadow
