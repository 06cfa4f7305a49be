#include "shadow_core/document.h"

namespace shadow {
namespace {

using json::Value;

Value timestamp_object(int64_t now, json::Allocator& alloc) {
  Value leaf(rapidjson::kObjectType);
  leaf.AddMember("timestamp", Value(now), alloc);
  return leaf;
}

// Copies object `u` without its null members, recursively. Returns false when
// the copy would be empty only because members were null: such an object is
// not stored, as in AWS's Greengrass shadow manager
// (docs/compatibility.md#request-details).
bool copy_without_nulls(const Value& u, Value* out, json::Allocator& alloc) {
  out->SetObject();
  for (auto it = u.MemberBegin(); it != u.MemberEnd(); ++it) {
    const Value& v = it->value;
    if (v.IsNull()) continue;
    Value copy;
    if (v.IsObject()) {
      if (!copy_without_nulls(v, &copy, alloc)) continue;
    } else {
      copy.CopyFrom(v, alloc);
    }
    out->AddMember(Value(it->name, alloc), copy, alloc);
  }
  return !(out->MemberCount() == 0 && u.MemberCount() > 0);
}

// Removes the members marked deleted (null values: stored state never holds
// null) keeping the order of the others.
void drop_marked(Value& object) {
  auto members = object.MemberBegin();
  rapidjson::SizeType kept = 0;
  for (rapidjson::SizeType i = 0; i < object.MemberCount(); ++i) {
    if (members[i].value.IsNull()) continue;
    if (kept != i) {
      members[kept].name.Swap(members[i].name);
      members[kept].value.Swap(members[i].value);
    }
    ++kept;
  }
  if (kept < object.MemberCount()) object.EraseMember(object.MemberBegin() + kept, object.MemberEnd());
}

void set_or_append(json::MemberFinder& index, std::string_view key, Value&& value, json::Allocator& alloc) {
  if (Value* existing = index.find(key)) {
    *existing = std::move(value);
  } else {
    index.append(key, std::move(value), alloc);
  }
}

// Merges update object `u` into `target`, keeping `meta` (the metadata tree
// of target) in step. Recursion follows the request, whose depth is bounded.
// Deleted keys are marked null first and removed at the end, so a request
// deleting many keys does not shift the members once per key.
void merge_object(Value& target, Value& meta, const Value& u, int64_t now, json::Allocator& alloc) {
  json::MemberFinder targets(target, u.MemberCount());
  json::MemberFinder metas(meta, u.MemberCount());
  bool marked = false;
  for (auto it = u.MemberBegin(); it != u.MemberEnd(); ++it) {
    std::string_view key = json::view(it->name);
    const Value& value = it->value;
    Value* existing = targets.find(key);
    if (value.IsNull()) {
      if (existing) {
        existing->SetNull();
        marked = true;
      }
      if (Value* m = metas.find(key)) m->SetNull();
      continue;
    }
    if (value.IsObject() && existing && existing->IsObject()) {
      Value* existing_meta = metas.find(key);
      if (!existing_meta || !existing_meta->IsObject()) {
        set_or_append(metas, key, Value(rapidjson::kObjectType), alloc);
        existing_meta = metas.find(key);
      }
      merge_object(*existing, *existing_meta, value, now, alloc);
      continue;
    }
    Value copy;
    if (value.IsObject()) {
      if (!copy_without_nulls(value, &copy, alloc)) continue;
    } else {
      copy.CopyFrom(value, alloc);
    }
    Value copy_meta = metadata_of(copy, now, alloc);
    set_or_append(targets, key, std::move(copy), alloc);
    set_or_append(metas, key, std::move(copy_meta), alloc);
  }
  if (marked) drop_marked(target);
  drop_marked(meta);
}

void apply_section(const SectionUpdate& update, Value& section, Value& meta, int64_t now,
                   json::Allocator& alloc) {
  switch (update.kind) {
    case SectionUpdate::kAbsent:
      return;
    case SectionUpdate::kNull:
      section.SetNull();
      meta.SetNull();
      return;
    case SectionUpdate::kObject:
      if (!section.IsObject()) {
        section.SetObject();
        meta.SetObject();
      }
      merge_object(section, meta, *update.object, now, alloc);
      if (section.MemberCount() == 0) {  // an empty section is dropped
        section.SetNull();
        meta.SetNull();
      }
      return;
  }
}

}  // namespace

Value metadata_of(const Value& value, int64_t now, json::Allocator& alloc) {
  if (value.IsObject()) {
    Value meta(rapidjson::kObjectType);
    for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it)
      meta.AddMember(Value(it->name, alloc), metadata_of(it->value, now, alloc), alloc);
    return meta;
  }
  if (value.IsArray()) {
    Value meta(rapidjson::kArrayType);
    meta.Reserve(value.Size(), alloc);
    for (const auto& element : value.GetArray()) meta.PushBack(metadata_of(element, now, alloc), alloc);
    return meta;
  }
  return timestamp_object(now, alloc);
}

// A stored document is a few KB; RapidJSON's default 64 KB first chunk would
// make every request allocate far more than it uses.
constexpr size_t kPoolChunkBytes = 8192;

ShadowDocument::ShadowDocument() : pool_(kPoolChunkBytes), doc_(&pool_) { doc_.SetObject(); }

bool ShadowDocument::load(std::string_view snapshot) {
  text_.assign(snapshot);
  if (!json::parse_in_place(text_, &doc_) || !doc_.IsObject()) return false;
  Value* state = json::find(doc_, "state");
  Value* metadata = json::find(doc_, "metadata");
  Value* version = json::find(doc_, "version");
  if (!state || !state->IsObject() || !metadata || !metadata->IsObject() || !version ||
      !version->IsUint64())
    return false;
  version_ = version->GetUint64();
  auto take = [](Value* container, const char* name, Value& into) {
    if (Value* v = json::find(*container, name); v && v->IsObject()) into = std::move(*v);
  };
  take(state, "desired", desired_);
  take(state, "reported", reported_);
  take(metadata, "desired", meta_desired_);
  take(metadata, "reported", meta_reported_);
  // A section without a metadata tree (never written by us) gets an empty one.
  if (desired_.IsObject() && !meta_desired_.IsObject()) meta_desired_.SetObject();
  if (reported_.IsObject() && !meta_reported_.IsObject()) meta_reported_.SetObject();
  return true;
}

void ShadowDocument::apply(const UpdateRequest& request, int64_t now) {
  json::Allocator& alloc = pool_;
  if (request.state_is_null) {
    desired_.SetNull();
    reported_.SetNull();
    meta_desired_.SetNull();
    meta_reported_.SetNull();
    return;
  }
  apply_section(request.desired, desired_, meta_desired_, now, alloc);
  apply_section(request.reported, reported_, meta_reported_, now, alloc);
}

size_t ShadowDocument::state_size() const {
  size_t n = 0;
  if (desired_.IsObject()) n += json::compact_size(desired_);
  if (reported_.IsObject()) n += json::compact_size(reported_);
  return n;
}

}  // namespace shadow
