// An independent reference model of the shadow document, used only by the
// property tests. It is written from the documented rules (merge, delta,
// metadata and versions in docs/mqtt-api.md), not from the engine, so that a
// disagreement between the two points at a bug in one of them.
//
// The model has its own tiny JSON value (J) so that it shares no code with the
// engine's RapidJSON helpers; RapidJSON is used only to read engine output.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

namespace shadow_model {

// ---------------------------------------------------------------------------
// J: a JSON value with ordered object members.
// ---------------------------------------------------------------------------
struct J {
  enum class T { Null, Bool, Num, Str, Arr, Obj };
  T t = T::Null;
  bool b = false;
  bool is_int = false;  // a number written without fraction or exponent
  double d = 0;     // numeric value (compared by value: 1 == 1.0)
  std::string num;  // number text as written in requests ("1", "2.5", "3.0")
  std::string s;
  std::vector<J> arr;
  std::vector<std::pair<std::string, J>> obj;

  static J null() { return J{}; }
  static J boolean(bool v) { J j; j.t = T::Bool; j.b = v; return j; }
  static J integer(int64_t v) { J j; j.t = T::Num; j.is_int = true; j.d = double(v); j.num = std::to_string(v); return j; }
  // `text` must be a JSON number whose shortest round-trip form is `text`
  // (e.g. "2.5", "-3.0"), so that re-serialisation has the same length.
  static J number(double v, std::string text) { J j; j.t = T::Num; j.d = v; j.num = std::move(text); return j; }
  static J string(std::string v) { J j; j.t = T::Str; j.s = std::move(v); return j; }
  static J array() { J j; j.t = T::Arr; return j; }
  static J object() { J j; j.t = T::Obj; return j; }

  bool is_null() const { return t == T::Null; }
  bool is_obj() const { return t == T::Obj; }
  bool is_arr() const { return t == T::Arr; }

  const J* get(std::string_view k) const {
    for (auto& [key, v] : obj) if (key == k) return &v;
    return nullptr;
  }
  J* get(std::string_view k) {
    for (auto& [key, v] : obj) if (key == k) return &v;
    return nullptr;
  }
  // Replaces in place (keeping the key's position) or appends.
  void set(std::string_view k, J v) {
    if (J* old = get(k)) { *old = std::move(v); return; }
    obj.emplace_back(std::string(k), std::move(v));
  }
  void erase(std::string_view k) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (it->first == k) { obj.erase(it); return; }
  }
};

inline void dump_string(const std::string& s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\b') out += "\\b";
    else if (c == '\f') out += "\\f";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", c);
      out += buf;
    } else out += char(c);
  }
  out += '"';
}

inline void dump_to(const J& j, std::string& out) {
  switch (j.t) {
    case J::T::Null: out += "null"; break;
    case J::T::Bool: out += j.b ? "true" : "false"; break;
    case J::T::Num: out += j.num; break;
    case J::T::Str: dump_string(j.s, out); break;
    case J::T::Arr:
      out += '[';
      for (size_t i = 0; i < j.arr.size(); ++i) { if (i) out += ','; dump_to(j.arr[i], out); }
      out += ']';
      break;
    case J::T::Obj:
      out += '{';
      for (size_t i = 0; i < j.obj.size(); ++i) {
        if (i) out += ',';
        dump_string(j.obj[i].first, out);
        out += ':';
        dump_to(j.obj[i].second, out);
      }
      out += '}';
      break;
  }
}

// Compact JSON. Strings are escaped like RapidJSON's writer does (quote,
// backslash, short forms for \b\f\n\r\t, \u00XX for other control
// characters, everything else raw UTF-8), so byte lengths agree with the
// engine's compact output.
inline std::string dump(const J& j) { std::string out; dump_to(j, out); return out; }

// Structural equality: object key order is ignored, arrays are ordered,
// numbers compare by value, every other type must match exactly.
inline bool same(const J& a, const J& b) {
  if (a.t != b.t) return false;
  switch (a.t) {
    case J::T::Null: return true;
    case J::T::Bool: return a.b == b.b;
    case J::T::Num: return a.d == b.d;
    case J::T::Str: return a.s == b.s;
    case J::T::Arr:
      if (a.arr.size() != b.arr.size()) return false;
      for (size_t i = 0; i < a.arr.size(); ++i) if (!same(a.arr[i], b.arr[i])) return false;
      return true;
    case J::T::Obj:
      if (a.obj.size() != b.obj.size()) return false;
      for (auto& [k, v] : a.obj) {
        const J* w = b.get(k);
        if (!w || !same(v, *w)) return false;
      }
      return true;
  }
  return false;
}

// Engine output (RapidJSON) -> J. Recursive: only used on engine documents,
// which are bounded by the depth limit.
inline J from_rapid(const rapidjson::Value& v) {
  if (v.IsNull()) return J::null();
  if (v.IsBool()) return J::boolean(v.GetBool());
  if (v.IsNumber()) {
    if (v.IsInt64()) return J::integer(v.GetInt64());
    return J::number(v.GetDouble(), std::to_string(v.GetDouble()));
  }
  if (v.IsString()) return J::string(std::string(v.GetString(), v.GetStringLength()));
  if (v.IsArray()) {
    J a = J::array();
    for (auto& e : v.GetArray()) a.arr.push_back(from_rapid(e));
    return a;
  }
  J o = J::object();
  // push_back, not set: duplicate keys in engine output must stay visible.
  for (auto& m : v.GetObject())
    o.obj.emplace_back(std::string(m.name.GetString(), m.name.GetStringLength()), from_rapid(m.value));
  return o;
}

// Parses engine output; nullopt when it is not valid JSON.
inline std::optional<J> parse(std::string_view text) {
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError()) return std::nullopt;
  return from_rapid(d);
}

// ---------------------------------------------------------------------------
// Document semantics: merge, delta, metadata (docs/mqtt-api.md).
// ---------------------------------------------------------------------------

inline J ts(int64_t t) { J o = J::object(); o.set("timestamp", J::integer(t)); return o; }

// Metadata of a written value: {"timestamp":T} per scalar (and per null,
// which only happens in the update/accepted echo), objects and arrays mirrored.
inline J meta_of(const J& v, int64_t t) {
  if (v.is_obj()) {
    J o = J::object();
    for (auto& [k, c] : v.obj) o.set(k, meta_of(c, t));
    return o;
  }
  if (v.is_arr()) {
    J a = J::array();
    for (auto& e : v.arr) a.arr.push_back(meta_of(e, t));
    return a;
  }
  return ts(t);
}

// strip_nulls: nullopt means "omitted" - the object became empty only
// because its members were null (directly or through nested objects that
// were themselves omitted). An object that was already empty is kept.
inline std::optional<J> strip_nulls(const J& o) {
  if (o.obj.empty()) return o;
  J out = J::object();
  for (auto& [k, v] : o.obj) {
    if (v.is_null()) continue;
    if (v.is_obj()) {
      if (auto s = strip_nulls(v)) out.set(k, *s);
      continue;
    }
    out.set(k, v);
  }
  if (out.obj.empty()) return std::nullopt;
  return out;
}

// merge of request object `u` into stored object `s` and its metadata
// `m`. Sets *ambiguous when the request writes an all-null object over an
// existing non-object value: AWS's behaviour is unknown (the engine keeps the
// old value, docs/compatibility.md#request-details), so generators avoid that case.
inline void merge(J& s, J& m, const J& u, int64_t t, bool* ambiguous) {
  for (auto& [k, v] : u.obj) {
    J* cur = s.get(k);
    if (v.is_null()) {
      s.erase(k);
      m.erase(k);
    } else if (v.is_obj()) {
      if (cur && cur->is_obj()) {
        if (!m.get(k)) m.set(k, meta_of(*cur, t));  // unreachable while metadata mirrors state
        merge(*cur, *m.get(k), v, t, ambiguous);
      } else if (auto stripped = strip_nulls(v)) {
        s.set(k, *stripped);
        m.set(k, meta_of(*stripped, t));
      } else if (cur) {
        *ambiguous = true;
      }
    } else {
      s.set(k, v);
      m.set(k, meta_of(v, t));
    }
  }
}

struct Section {
  std::optional<J> value;  // absent, or a non-empty object
  std::optional<J> meta;

  // Applies one section of a request. `u` is nullptr when the request has no such key.
  void apply(const J* u, int64_t t, bool* ambiguous) {
    if (!u) return;
    if (u->is_null()) { value.reset(); meta.reset(); return; }
    J v = value ? *value : J::object();
    J m = meta ? *meta : J::object();
    merge(v, m, *u, t, ambiguous);
    if (v.obj.empty()) { value.reset(); meta.reset(); return; }
    value = std::move(v);
    meta = std::move(m);
  }
  size_t size() const { return value ? dump(*value).size() : 0; }
};

// delta. nullopt when empty.
inline std::optional<J> delta_of(const J& d, const J* r) {
  if (!r) return d;
  J out = J::object();
  for (auto& [k, dv] : d.obj) {
    const J* rv = r->get(k);
    if (!rv) {
      out.set(k, dv);
    } else if (dv.is_obj() && rv->is_obj()) {
      if (auto sub = delta_of(dv, rv); sub && !sub->obj.empty()) out.set(k, *sub);
    } else if (!same(dv, *rv)) {
      out.set(k, dv);
    }
  }
  if (out.obj.empty()) return std::nullopt;
  return out;
}

// The metadata a delta message carries: the stored desired metadata of
// every path in the delta.
inline J delta_meta(const J& delta, const J& desired_meta) {
  if (!delta.is_obj()) return desired_meta;
  J out = J::object();
  for (auto& [k, v] : delta.obj) {
    const J* m = desired_meta.get(k);
    out.set(k, m ? delta_meta(v, *m) : J::null());
  }
  return out;
}

struct Shadow {
  bool exists = false;
  uint64_t version = 0;  // current version, or the tombstone's version
  Section desired, reported;

  std::optional<J> delta() const {
    if (!desired.value) return std::nullopt;
    return delta_of(*desired.value, reported.value ? &*reported.value : nullptr);
  }
  size_t size() const { return desired.size() + reported.size(); }

  // {"desired"?,"reported"?} - the state of a snapshot or GET (without delta).
  J state() const {
    J s = J::object();
    if (desired.value) s.set("desired", *desired.value);
    if (reported.value) s.set("reported", *reported.value);
    return s;
  }
  J metadata() const {
    J s = J::object();
    if (desired.meta) s.set("desired", *desired.meta);
    if (reported.meta) s.set("reported", *reported.meta);
    return s;
  }
  // The /update/documents snapshot {state, metadata, version}.
  J snapshot() const {
    J s = J::object();
    s.set("state", state());
    s.set("metadata", metadata());
    s.set("version", J::integer(int64_t(version)));
    return s;
  }
};

// Applies an accepted update request's "state" value (object or null) to the
// shadow, as the service would, including the version step (+1, or +2
// over a tombstone when the delete bumped it).
inline void apply_update(Shadow& sh, const J& state, int64_t t, bool* ambiguous) {
  if (state.is_null()) {
    sh.desired = {};
    sh.reported = {};
  } else {
    sh.desired.apply(state.get("desired"), t, ambiguous);
    sh.reported.apply(state.get("reported"), t, ambiguous);
  }
  sh.exists = true;
  sh.version += 1;
}

// Delete: the tombstone keeps version + 1 (tombstone_bumps_version).
inline void apply_delete(Shadow& sh) {
  sh.exists = false;
  sh.desired = {};
  sh.reported = {};
  sh.version += 1;
}

// ---------------------------------------------------------------------------
// Shape checks independent of the model.
// ---------------------------------------------------------------------------

// True when `meta` mirrors `state`: same object keys, same array
// lengths, {"timestamp":<integer>} at every scalar leaf. *why names the first
// mismatch.
inline bool mirrors(const J& state, const J& meta, std::string path, std::string* why) {
  auto fail = [&](const std::string& what) { *why = path + ": " + what; return false; };
  if (state.is_obj()) {
    if (!meta.is_obj()) return fail("metadata is not an object");
    if (meta.obj.size() != state.obj.size()) return fail("different member count");
    for (auto& [k, v] : state.obj) {
      const J* m = meta.get(k);
      if (!m) return fail("metadata lacks key '" + k + "'");
      if (!mirrors(v, *m, path + "/" + k, why)) return false;
    }
    return true;
  }
  if (state.is_arr()) {
    if (!meta.is_arr()) return fail("metadata is not an array");
    if (meta.arr.size() != state.arr.size()) return fail("different array length");
    for (size_t i = 0; i < state.arr.size(); ++i)
      if (!mirrors(state.arr[i], meta.arr[i], path + "/" + std::to_string(i), why)) return false;
    return true;
  }
  if (state.is_null()) return fail("null stored in state");
  if (!meta.is_obj() || meta.obj.size() != 1) return fail("leaf metadata is not {\"timestamp\":N}");
  const J* t = meta.get("timestamp");
  if (!t || t->t != J::T::Num || !t->is_int) return fail("leaf timestamp is not an integer");
  return true;
}

}  // namespace shadow_model
