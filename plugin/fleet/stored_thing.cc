#include "plugin/fleet/stored_thing.h"

#include "shadow_core/delta.h"
#include "shadow_core/json.h"

namespace shadow::fleet {
namespace {

void write_shadow(json::Writer& w, const ShadowDocument& doc, const ShadowFields& fields) {
  w.StartObject();
  if (fields.desired) {
    w.Key("desired");
    fields.desired->Accept(w);
  }
  if (fields.reported) {
    w.Key("reported");
    fields.reported->Accept(w);
  }
  if (fields.delta) {
    w.Key("delta");
    fields.delta->Accept(w);
  }
  w.Key("metadata");
  w.StartObject();
  if (doc.desired_metadata()) {
    w.Key("desired");
    doc.desired_metadata()->Accept(w);
  }
  if (doc.reported_metadata()) {
    w.Key("reported");
    doc.reported_metadata()->Accept(w);
  }
  w.EndObject();
  w.Key("hasDelta");
  w.Bool(fields.delta != nullptr);
  w.Key("version");
  w.Uint64(fields.version);
  w.EndObject();
}

}  // namespace

void StoredThing::reset(std::string_view thing) {
  thing_.assign(thing);
  used_ = 0;
  connectivity_read_ = false;
  connectivity_.reset();
}

StoredThing::Depth StoredThing::depth_for(bool needs_shadows, bool needs_delta, bool needs_metadata) {
  if (needs_metadata) return Depth::kFullWithMetadata;
  if (needs_delta) return Depth::kFull;
  return needs_shadows ? Depth::kState : Depth::kNone;
}

void StoredThing::add(const ShadowEntry& entry) {
  if (used_ == shadows_.size()) shadows_.push_back(std::make_unique<Stored>());
  Stored& s = *shadows_[used_++];
  s.name.assign(entry.shadow);
  s.version = entry.version;
  if (depth_ != Depth::kNone) s.document.assign(entry.document);
  s.state_loaded = s.loaded = false;
  s.state_valid = s.valid = false;
}

StoredThing::Stored* StoredThing::find(std::string_view shadow) {
  for (size_t i = 0; i < used_; ++i)
    if (shadows_[i]->name == shadow) return shadows_[i].get();
  return nullptr;
}

bool StoredThing::load_state(Stored& s) {
  if (s.state_loaded) return s.state_valid;
  s.state_loaded = true;
  // A stored snapshot is {"state":{...},"metadata":{...},"version":N}
  // (responses::snapshot): parse the state object alone, and stop there.
  constexpr std::string_view kHead = "{\"state\":";
  if (s.document.compare(0, kHead.size(), kHead) != 0) return false;
  s.scratch.assign(s.document, kHead.size());
  s.state.SetNull();
  s.pool.Clear();
  s.state.ParseInsitu<rapidjson::kParseStopWhenDoneFlag | rapidjson::kParseIterativeFlag>(s.scratch.data());
  if (s.state.HasParseError() || !s.state.IsObject()) return false;
  ShadowFields& f = s.state_fields;
  f = ShadowFields{};
  auto desired = s.state.FindMember("desired");
  if (desired != s.state.MemberEnd() && desired->value.IsObject()) f.desired = &desired->value;
  auto reported = s.state.FindMember("reported");
  if (reported != s.state.MemberEnd() && reported->value.IsObject()) f.reported = &reported->value;
  f.version = s.version;
  s.state_valid = true;
  return true;
}

bool StoredThing::load(Stored& s) {
  if (s.loaded) return s.valid;
  s.loaded = true;
  s.doc = std::make_unique<ShadowDocument>();
  s.valid = s.doc->load(s.document);
  if (!s.valid) return false;
  s.derived = std::make_unique<rapidjson::Document>();
  s.derived->SetObject();
  auto& alloc = s.derived->GetAllocator();
  ShadowFields& f = s.fields;
  f = ShadowFields{};
  f.desired = s.doc->desired();
  f.reported = s.doc->reported();
  f.version = s.version;
  Delta delta = compute_delta(*s.doc, alloc);
  if (!delta.empty()) {
    s.derived->AddMember("delta", delta.state, alloc);
    f.delta = &(*s.derived)["delta"];
  }
  if (depth_ == Depth::kFullWithMetadata) {
    rapidjson::Value meta(rapidjson::kObjectType);
    if (s.doc->desired_metadata()) meta.AddMember("desired", rapidjson::Value(*s.doc->desired_metadata(), alloc), alloc);
    if (s.doc->reported_metadata()) meta.AddMember("reported", rapidjson::Value(*s.doc->reported_metadata(), alloc), alloc);
    s.derived->AddMember("metadata", meta, alloc);
    f.metadata = &(*s.derived)["metadata"];
  }
  return true;
}

const ShadowFields* StoredThing::shadow(std::string_view shadow) {
  Stored* s = find(shadow);
  if (s == nullptr || depth_ == Depth::kNone) return nullptr;
  if (depth_ == Depth::kState) return load_state(*s) ? &s->state_fields : nullptr;
  return load(*s) ? &s->fields : nullptr;
}

std::vector<std::string> StoredThing::named_shadows() {
  std::vector<std::string> names;
  for (size_t i = 0; i < used_; ++i)
    if (!shadows_[i]->name.empty()) names.push_back(shadows_[i]->name);
  return names;
}

const Connectivity* StoredThing::connectivity() {
  if (connectivity_source_ == nullptr) return nullptr;
  if (!connectivity_read_) {
    connectivity_read_ = true;
    connectivity_ = connectivity_source_->connectivity(thing_);
  }
  return connectivity_ ? &*connectivity_ : nullptr;
}

std::string StoredThing::result_shadow(const std::vector<std::string>& named) {
  Stored* classic = find("");
  bool has_classic = classic != nullptr && load(*classic);
  std::vector<Stored*> present;
  for (const std::string& n : named) {
    Stored* s = find(n);
    if (s != nullptr && load(*s)) present.push_back(s);
  }
  if (!has_classic && present.empty()) return "";
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  if (has_classic) {
    write_shadow(w, *classic->doc, classic->fields);
  } else {
    w.StartObject();
    w.EndObject();
  }
  if (present.empty()) return std::string(buf.GetString(), buf.GetSize());
  // "name":{...} goes inside the classic shadow's object: reopen it.
  std::string out(buf.GetString(), buf.GetSize() - 1);
  rapidjson::StringBuffer names;
  json::Writer nw(names);
  nw.StartObject();
  for (Stored* s : present) {
    nw.Key(s->name.data(), static_cast<rapidjson::SizeType>(s->name.size()));
    write_shadow(nw, *s->doc, s->fields);
  }
  nw.EndObject();
  if (out.size() > 1) out += ',';
  out += "\"name\":";
  out.append(names.GetString(), names.GetSize());
  out += '}';
  return out;
}

}  // namespace shadow::fleet
