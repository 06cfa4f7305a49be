// Property tests of the shadow engine: random request sequences are replayed
// against the service and against the independent reference model in
// model.h, and every response, event and GET is compared with the model.
//
// Generation is deterministic: sequence i uses seed kBaseSeed + i (override
// the base with the environment variable SHADOW_PROPS_SEED to explore other
// seeds). A failure prints the seed, the step and the request.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>
#include <set>
#include <sstream>

#include "shadow_core/errors.h"
#include "shadow_core/service.h"
#include "store/memory_store.h"
#include "model.h"

namespace {

using shadow_model::J;
using shadow_model::same;

constexpr uint64_t kBaseSeed = 0x5eed2024;
const char* const kPrefix = "$aws/things/dev1/shadow";
const char* const kShortPrefix = "dev1/shadow";

uint64_t base_seed() {
  if (const char* s = std::getenv("SHADOW_PROPS_SEED")) return std::strtoull(s, nullptr, 0);
  return kBaseSeed;
}

std::string topic(const char* suffix) { return std::string(kPrefix) + suffix; }

// One service over one memory store, with a clock the test advances.
struct Harness {
  explicit Harness(shadow::Config c = {}) : config(std::move(c)), service(config, store) {}

  shadow::ServiceResponse mqtt(const std::string& t, std::string_view payload) {
    auto r = service.handle_mqtt(t, payload, now);
    REQUIRE(r.has_value());
    return *r;
  }
  shadow::ServiceResponse update(std::string_view payload) { return mqtt(topic("/update"), payload); }
  shadow::ServiceResponse get() { return mqtt(topic("/get"), ""); }
  shadow::ServiceResponse remove() { return mqtt(topic("/delete"), ""); }

  std::optional<shadow::ShadowRecord> record() {
    shadow::ShadowRecord r;
    auto st = store.get({"dev1", ""}, &r);
    if (st.code() == shadow::Status::Code::kNotFound) return std::nullopt;
    REQUIRE(st.is_ok());
    return r;
  }

  shadow::Config config;
  shadow::MemoryStore store;
  shadow::Service service;
  int64_t now = 1700000000;
};

J parse_or_fail(std::string_view text) {
  auto j = shadow_model::parse(text);
  INFO("engine output: " << text);
  REQUIRE(j.has_value());
  return *j;
}

// Messages of `r` published on exactly `t`.
std::vector<const shadow::OutMessage*> on_topic(const shadow::ServiceResponse& r, const std::string& t) {
  std::vector<const shadow::OutMessage*> out;
  for (auto& m : r.messages)
    if (m.topic == t) out.push_back(&m);
  return out;
}

bool same_record(const std::optional<shadow::ShadowRecord>& a, const std::optional<shadow::ShadowRecord>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->version == b->version && a->deleted == b->deleted && a->deleted_at == b->deleted_at &&
         a->document == b->document;
}

std::string show(const J& j) { return shadow_model::dump(j); }

#define REQUIRE_SAME(actual, expected)                                                   \
  do {                                                                                   \
    INFO("expected: " << show(expected) << "\n  actual: " << show(actual));              \
    REQUIRE(same(actual, expected));                                                     \
  } while (0)

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

struct Gen {
  explicit Gen(uint64_t seed, bool big = false) : rng(seed), big_strings(big) {}
  std::mt19937_64 rng;
  bool big_strings;  // sometimes long strings, so documents reach the size limit

  int below(int n) { return int(rng() % uint64_t(n)); }
  bool chance(int percent) { return below(100) < percent; }

  J scalar() {
    switch (below(4)) {
      case 0: return J::integer(below(7) - 2);  // small, so values often collide
      case 1: {
        // Doubles written in their shortest round-trip form; 1.0 and 2.0 meet
        // the integers 1 and 2 (numeric equality in the delta).
        static const std::pair<double, const char*> kDoubles[] = {
            {1.0, "1.0"}, {2.0, "2.0"}, {0.5, "0.5"}, {-1.5, "-1.5"}, {2.25, "2.25"}};
        auto& d = kDoubles[below(5)];
        return J::number(d.first, d.second);
      }
      case 2: return J::boolean(chance(50));
      default: {
        if (big_strings && chance(50)) return J::string(long_string());
        static const char* kStrings[] = {"", "on", "off", "x", "\xc3\xa9t\xc3\xa9", "\xe6\x97\xa5", "a b"};
        return J::string(kStrings[below(7)]);
      }
    }
  }

  // 200-3000 bytes mixing ASCII, characters JSON escapes, and 2-4 byte UTF-8.
  std::string long_string() {
    static const char* kPieces[] = {"abc", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                    "\"", "\\", "/", "\n", "\t", "\x01", " "};
    std::string s;
    const size_t target = 200 + size_t(below(2800));
    while (s.size() < target) s += kPieces[below(11)];
    return s;
  }

  std::string key() {
    // A small alphabet so that updates keep hitting the same paths;
    // "timestamp" checks that a state key is never mistaken for metadata.
    static const char* kKeys[] = {"a", "b", "c", "timestamp", "\xc3\xbc", "a"};
    return kKeys[below(6)];
  }

  // An array whose elements sit at `level` + 1; never contains null.
  J array(int level) {
    J a = J::array();
    int n = below(4);
    for (int i = 0; i < n; ++i) {
      int kind = below(10);
      if (kind < 2 && level + 1 <= 6) a.arr.push_back(object(level + 1, /*nulls=*/false));
      else if (kind < 3 && level + 1 <= 6) a.arr.push_back(array(level + 1));
      else a.arr.push_back(scalar());
    }
    return a;
  }

  // A value whose container (if it is one) sits at `level`.
  J value(int level, bool nulls) {
    int kind = below(100);
    if (nulls && kind < 15) return J::null();
    if (level <= 6 && kind < 45) return object(level, nulls);
    if (level <= 6 && kind < 58) return array(level);
    return scalar();
  }

  // An object at `level` (desired/reported are level 1).
  J object(int level, bool nulls) {
    J o = J::object();
    int n = below(10) == 0 ? 0 : 1 + below(3);
    for (int i = 0; i < n; ++i) {
      std::string k = key();
      if (o.get(k)) continue;  // keys unique within one request object
      o.set(k, value(level + 1, nulls));
    }
    return o;
  }
};

// {"k":{"k":...{"k":leaf}}} with `containers` nested objects, outermost first.
J nest(int containers, J leaf, const std::string& kinds = "") {
  J v = std::move(leaf);
  for (int i = containers - 1; i >= 0; --i) {
    bool arr = i < int(kinds.size()) && kinds[size_t(i)] == '[';
    J c = arr ? J::array() : J::object();
    if (arr) c.arr.push_back(std::move(v));
    else c.set("k", std::move(v));
    v = std::move(c);
  }
  return v;
}

// ---------------------------------------------------------------------------
// The sequence runner
// ---------------------------------------------------------------------------

enum Kind {
  kDesired, kReported, kBoth, kDesiredNull, kReportedNull, kStateNull, kStateEmpty,
  kDelete, kCatchUp, kConflict, kInvalidNode, kNullInArray, kTooDeep, kKinds
};

struct Mix {
  int weight[kKinds];
};

const Mix kFullMix = {{30, 30, 8, 3, 2, 2, 2, 3, 6, 3, 2, 2, 2}};
const Mix kDeltaMix = {{40, 30, 5, 0, 0, 0, 0, 0, 25, 0, 0, 0, 0}};
const Mix kVersionMix = {{20, 20, 5, 3, 3, 5, 5, 10, 5, 10, 5, 5, 5}};

Kind pick(Gen& g, const Mix& mix) {
  int total = 0;
  for (int w : mix.weight) total += w;
  int r = g.below(total);
  for (int k = 0; k < kKinds; ++k) {
    if (r < mix.weight[k]) return Kind(k);
    r -= mix.weight[k];
  }
  return kDesired;
}

// What a run exercised, so that a test can require that it was not vacuous.
struct Coverage {
  int accepted = 0, rejected = 0, too_large = 0, delta_messages = 0, caught_up = 0, recreated = 0;
};

struct Expectation {
  int code = 200;
  std::string message;
};

class Sequence {
 public:
  Sequence(uint64_t seed, const Mix& mix, Coverage* coverage, bool big = false)
      : gen_(seed, big), mix_(mix), cov_(*coverage) {}

  void run(int steps) {
    for (int i = 0; i < steps; ++i) {
      h_.now += 1 + gen_.below(3);
      INFO("step " << i);
      step();
      check_get();
    }
  }

 private:
  void step() {
    Kind kind = pick(gen_, mix_);
    if (kind == kDelete) return do_delete();

    // Build a request the model can predict (regenerate ambiguous ones).
    J request;
    Expectation expect;
    bool ambiguous = true;
    shadow_model::Shadow next;
    for (int attempt = 0; ambiguous && attempt < 20; ++attempt) {
      ambiguous = false;
      request = J::object();
      expect = Expectation{};
      J state = build_state(kind, &expect);
      request.set("state", state);
      if (gen_.chance(40)) request.set("clientToken", J::string("tok-" + std::to_string(gen_.below(1000))));
      if (kind == kConflict) {
        if (!model_.exists) { kind = kDesired; ambiguous = true; continue; }
        uint64_t wrong = model_.version + 1 + uint64_t(gen_.below(3));
        if (model_.version > 0 && gen_.chance(50)) wrong = model_.version - 1;
        request.set("version", J::integer(int64_t(wrong)));
        expect = {409, shadow::messages::kVersionConflict};
      } else if (model_.exists && expect.code == 200 && gen_.chance(15)) {
        request.set("version", J::integer(int64_t(model_.version)));
      }
      if (expect.code != 200) break;
      next = model_;
      shadow_model::apply_update(next, state, h_.now, &ambiguous);
    }
    if (ambiguous) return;
    if (expect.code == 200 && next.size() > h_.config.max_document_bytes)
      expect = {413, shadow::messages::kTooLarge};
    send_update(request, expect, next);
  }

  J build_state(Kind kind, Expectation* expect) {
    J state = J::object();
    switch (kind) {
      case kDesired: case kConflict: state.set("desired", gen_.object(1, true)); break;
      case kReported: state.set("reported", gen_.object(1, true)); break;
      case kBoth:
        state.set("desired", gen_.object(1, true));
        state.set("reported", gen_.object(1, true));
        break;
      case kDesiredNull: state.set("desired", J::null()); break;
      case kReportedNull:
        state.set("reported", J::null());
        if (gen_.chance(50)) state.set("desired", gen_.object(1, true));
        break;
      case kStateNull: return J::null();
      case kStateEmpty: break;
      case kCatchUp: {
        // Property 2: report exactly the current delta.
        auto d = model_.delta();
        state.set("reported", d ? *d : gen_.object(1, true));
        break;
      }
      case kInvalidNode:
        state.set("desired", gen_.object(1, true));
        state.set("foo", J::integer(1));
        *expect = {400, "State contains an invalid node: 'foo'"};
        break;
      case kNullInArray: {
        J o = gen_.object(1, true);
        J a = J::array();
        a.arr.push_back(gen_.scalar());
        a.arr.push_back(J::null());
        o.set("arr", a);
        state.set(gen_.chance(50) ? "desired" : "reported", o);
        *expect = {400, h_.config.null_in_array_message};
        break;
      }
      case kTooDeep: {
        J o = gen_.object(1, true);
        // 6 containers below the section: the innermost is at level 7.
        o.set("deep", nest(6, gen_.scalar(), gen_.chance(50) ? "{{[{[{" : ""));
        state.set(gen_.chance(50) ? "desired" : "reported", o);
        *expect = {400, "JSON contains too many levels of nesting; maximum is 6"};
        break;
      }
      default: break;
    }
    return state;
  }

  void send_update(const J& request, const Expectation& expect, const shadow_model::Shadow& next) {
    const std::string payload = shadow_model::dump(request);
    INFO("update " << payload);
    const J* token = request.get("clientToken");
    auto before = h_.record();
    auto r = h_.update(payload);
    REQUIRE(!r.messages.empty());

    if (expect.code != 200) {
      ++cov_.rejected;
      if (expect.code == 413) ++cov_.too_large;
      REQUIRE(r.status == expect.code);
      REQUIRE(r.messages.size() == 1);
      REQUIRE(r.messages[0].topic == topic("/update/rejected"));
      REQUIRE(r.messages[0].payload == r.body);
      J err = parse_or_fail(r.body);
      J want = J::object();
      want.set("code", J::integer(expect.code));
      want.set("message", J::string(expect.message));
      if (token) want.set("clientToken", *token);
      REQUIRE_SAME(err, want);
      // Property 5: a rejected update changes nothing at all.
      REQUIRE(same_record(before, h_.record()));
      return;
    }

    const bool existed = model_.exists;
    const shadow_model::Shadow prev = model_;
    ++cov_.accepted;
    if (!existed && prev.version > 0) ++cov_.recreated;
    if (prev.delta() && !next.delta() && !request.get("state")->is_null() &&
        request.get("state")->get("reported") && !request.get("state")->get("desired"))
      ++cov_.caught_up;
    model_ = next;
    const int64_t T = h_.now;
    REQUIRE(r.status == 200);
    // Property 5: +1 per accepted update (+2 over a bumped tombstone).
    if (existed) REQUIRE(model_.version == prev.version + 1);

    // update/accepted: the request's state echoed, request-shaped metadata.
    REQUIRE(r.messages[0].topic == topic("/update/accepted"));
    REQUIRE(r.messages[0].payload == r.body);
    J acc = parse_or_fail(r.body);
    J want = J::object();
    want.set("state", *request.get("state"));
    want.set("metadata", shadow_model::meta_of(*request.get("state"), T));
    want.set("version", J::integer(int64_t(model_.version)));
    want.set("timestamp", J::integer(T));
    if (token) want.set("clientToken", *token);
    REQUIRE_SAME(acc, want);

    // update/delta: exactly when the resulting delta is non-empty
    // (docs/mqtt-api.md#delta-event).
    auto delta = model_.delta();
    auto deltas = on_topic(r, topic("/update/delta"));
    auto short_deltas = on_topic(r, std::string(kShortPrefix) + "/update/delta");
    REQUIRE(deltas.size() == (delta ? 1u : 0u));
    REQUIRE(short_deltas.size() == deltas.size());
    if (delta) {
      ++cov_.delta_messages;
      J msg = parse_or_fail(deltas[0]->payload);
      J wd = J::object();
      wd.set("version", J::integer(int64_t(model_.version)));
      wd.set("timestamp", J::integer(T));
      wd.set("state", *delta);
      wd.set("metadata", shadow_model::delta_meta(*delta, *model_.desired.meta));
      if (token) wd.set("clientToken", *token);
      REQUIRE_SAME(msg, wd);
      REQUIRE(short_deltas[0]->payload == deltas[0]->payload);
    }
    // update/documents: previous (null on create) and current snapshots.
    auto docs = on_topic(r, topic("/update/documents"));
    REQUIRE(docs.size() == 1);
    J dm = parse_or_fail(docs[0]->payload);
    J wdoc = J::object();
    wdoc.set("previous", existed ? prev.snapshot() : J::null());
    wdoc.set("current", model_.snapshot());
    wdoc.set("timestamp", J::integer(T));
    if (token) wdoc.set("clientToken", *token);
    REQUIRE_SAME(dm, wdoc);
    check_mirror(*dm.get("current"));
    REQUIRE(on_topic(r, std::string(kShortPrefix) + "/update/documents").size() == 1);
    REQUIRE(r.messages.size() == 2 + 2 * deltas.size() + 1);  // accepted, 2x delta, 2x documents
  }

  void do_delete() {
    INFO("delete");
    auto before = h_.record();
    auto r = h_.remove();
    REQUIRE(r.messages.size() == 1);
    J body = parse_or_fail(r.body);
    if (!model_.exists) {
      REQUIRE(r.status == 404);
      REQUIRE(r.messages[0].topic == topic("/delete/rejected"));
      REQUIRE(same_record(before, h_.record()));
      return;
    }
    REQUIRE(r.status == 200);
    REQUIRE(r.messages[0].topic == topic("/delete/accepted"));
    J want = J::object();
    want.set("version", J::integer(int64_t(model_.version)));
    want.set("timestamp", J::integer(h_.now));
    REQUIRE_SAME(body, want);
    shadow_model::apply_delete(model_);
    auto rec = h_.record();
    REQUIRE(rec.has_value());
    REQUIRE(rec->deleted);
    REQUIRE(rec->version == model_.version);
  }

  // Property 3: GET equals the model; property 4: metadata mirrors state.
  void check_get() {
    auto r = h_.get();
    REQUIRE(r.messages.size() == 1);
    REQUIRE(r.messages[0].payload == r.body);
    J body = parse_or_fail(r.body);
    if (!model_.exists) {
      REQUIRE(r.status == 404);
      REQUIRE(r.messages[0].topic == topic("/get/rejected"));
      J want = J::object();
      want.set("code", J::integer(404));
      want.set("message", J::string("No shadow exists with name: 'dev1'"));
      REQUIRE_SAME(body, want);
      return;
    }
    REQUIRE(r.status == 200);
    REQUIRE(r.messages[0].topic == topic("/get/accepted"));
    J want = J::object();
    J state = model_.state();
    if (auto d = model_.delta()) state.set("delta", *d);
    want.set("state", state);
    want.set("metadata", model_.metadata());
    want.set("version", J::integer(int64_t(model_.version)));
    want.set("timestamp", J::integer(h_.now));
    REQUIRE_SAME(body, want);
    check_mirror(body);

    // The stored record is the documented snapshot of the same document.
    auto rec = h_.record();
    REQUIRE(rec.has_value());
    REQUIRE(!rec->deleted);
    REQUIRE(rec->version == model_.version);
    REQUIRE_SAME(parse_or_fail(rec->document), model_.snapshot());
  }

  // `doc` has "state" and "metadata"; each section's metadata mirrors it.
  static void check_mirror(const J& doc) {
    const J* state = doc.get("state");
    const J* meta = doc.get("metadata");
    REQUIRE(state);
    REQUIRE(meta);
    for (const char* section : {"desired", "reported"}) {
      const J* s = state->get(section);
      const J* m = meta->get(section);
      INFO("section " << section << " state " << (s ? show(*s) : "-") << " metadata " << (m ? show(*m) : "-"));
      REQUIRE(bool(s) == bool(m));
      if (!s) continue;
      REQUIRE(s->is_obj());
      REQUIRE(!s->obj.empty());  // empty sections are dropped
      std::string why;
      const bool ok = shadow_model::mirrors(*s, *m, section, &why);
      INFO(why);
      REQUIRE(ok);
    }
    REQUIRE(!meta->get("delta"));
  }

  Gen gen_;
  Mix mix_;
  Coverage& cov_;
  Harness h_;
  shadow_model::Shadow model_;
};

Coverage run_sequences(const Mix& mix, int sequences, int steps, bool big = false) {
  Coverage coverage;
  const uint64_t base = base_seed();
  for (int i = 0; i < sequences; ++i) {
    const uint64_t seed = base + uint64_t(i);
    INFO("seed " << seed << " (rerun with SHADOW_PROPS_SEED=" << seed << ")");
    Sequence(seed, mix, &coverage, big).run(steps);
  }
  return coverage;
}

}  // namespace

TEST_CASE("generated update sequences agree with the reference model", "[property]") {
  // Properties 1, 3, 4, 5: GET, stored record, accepted, delta and documents
  // all equal the model after every step of every sequence.
  Coverage c = run_sequences(kFullMix, 200, 30);
  REQUIRE(c.accepted > 3000);
  REQUIRE(c.rejected > 300);
  REQUIRE(c.delta_messages > 1000);
  REQUIRE(c.recreated > 50);
}

TEST_CASE("documents near the size limit: the model predicts every 413", "[property]") {
  // Long strings (with escaped and multi-byte characters) push the merged
  // document over 8192 bytes now and then; the model's byte count of
  // compact(desired) + compact(reported) decides accept or 413.
  Coverage c = run_sequences(kFullMix, 60, 40, /*big=*/true);
  REQUIRE(c.too_large > 10);
}

TEST_CASE("reporting the delta leaves no delta", "[property]") {
  // Property 2: a kCatchUp step reports exactly state.delta; the model then
  // has no delta, so the runner requires that no /update/delta is published
  // and that GET carries no state.delta.
  Coverage c = run_sequences(kDeltaMix, 150, 25);
  REQUIRE(c.caught_up > 300);
}

TEST_CASE("version steps by one per accepted update, rejected ones change nothing", "[property]") {
  Coverage c = run_sequences(kVersionMix, 150, 30);
  REQUIRE(c.rejected > 500);
  REQUIRE(c.recreated > 100);
}

TEST_CASE("reporting the delta leaves no delta (explicit check)", "[property]") {
  const uint64_t base = base_seed() ^ 0xde17a;
  int caught_up = 0;
  for (int i = 0; i < 200; ++i) {
    const uint64_t seed = base + uint64_t(i);
    INFO("seed " << seed);
    Gen g(seed);
    Harness h;
    for (int k = 0; k < 4; ++k) {
      J state = J::object();
      state.set(g.chance(50) ? "desired" : "reported", g.object(1, true));
      J req = J::object();
      req.set("state", state);
      h.now++;
      auto r = h.update(shadow_model::dump(req));
      // Random bodies may become too large; anything else must be accepted.
      REQUIRE((r.status == 200 || r.status == 413));
    }
    auto got = h.get();
    if (got.status != 200) continue;  // only nulls were ever written
    J body = parse_or_fail(got.body);
    const J* delta = body.get("state")->get("delta");
    if (!delta) continue;
    J req = J::object();
    J state = J::object();
    state.set("reported", *delta);
    req.set("state", state);
    const std::string payload = shadow_model::dump(req);
    INFO("catch-up " << payload << " after " << got.body);
    h.now++;
    auto r = h.update(payload);
    if (r.status == 413) continue;  // merged document over the limit
    REQUIRE(r.status == 200);
    REQUIRE(on_topic(r, topic("/update/delta")).empty());
    REQUIRE(on_topic(r, std::string(kShortPrefix) + "/update/delta").empty());
    J after = parse_or_fail(h.get().body);
    INFO("GET after catch-up " << show(after));
    REQUIRE(!after.get("state")->get("delta"));
    ++caught_up;
  }
  // Guard against a vacuous run: most sequences must end with a delta.
  REQUIRE(caught_up > 100);
}

// ---------------------------------------------------------------------------
// Property 6: exact boundaries, built programmatically.
// ---------------------------------------------------------------------------

namespace {

std::string update_payload(const char* section, const J& value) {
  J state = J::object();
  state.set(section, value);
  J req = J::object();
  req.set("state", state);
  return shadow_model::dump(req);
}

// {"p":"xxx..."} whose compact form is exactly `bytes` long.
J padded_object(size_t bytes) {
  const size_t overhead = std::string(R"({"p":""})").size();
  REQUIRE(bytes >= overhead);
  J o = J::object();
  o.set("p", J::string(std::string(bytes - overhead, 'x')));
  REQUIRE(shadow_model::dump(o).size() == bytes);
  return o;
}

int64_t version_of(Harness& h) {
  auto r = h.get();
  if (r.status != 200) return 0;
  const J body = parse_or_fail(r.body);
  const J* v = body.get("version");
  REQUIRE((v && v->is_int));
  return int64_t(v->d);
}

}  // namespace

TEST_CASE("size limit: merged desired+reported of exactly 8192 bytes is accepted, 8193 rejected",
          "[property]") {
  for (size_t total : {size_t(8192), size_t(8193)}) {
    INFO("merged size " << total);
    Harness h;
    REQUIRE(h.config.max_document_bytes == 8192);
    // reported {"r":1} is 7 bytes; desired makes up the rest.
    J reported = J::object();
    reported.set("r", J::integer(1));
    REQUIRE(shadow_model::dump(reported).size() == 7);
    REQUIRE(h.update(update_payload("reported", reported)).status == 200);
    J desired = padded_object(total - 7);
    auto before = h.record();
    h.now++;
    auto r = h.update(update_payload("desired", desired));
    if (total == 8192) {
      REQUIRE(r.status == 200);
      REQUIRE(version_of(h) == 2);
    } else {
      REQUIRE(r.status == 413);
      REQUIRE(r.body == R"({"code":413,"message":"The payload exceeds the maximum size allowed"})");
      REQUIRE(r.messages.size() == 1);
      REQUIRE(r.messages[0].topic == topic("/update/rejected"));
      REQUIRE(same_record(before, h.record()));
    }
  }
}

TEST_CASE("size limit applies to one section alone and to the merge result", "[property]") {
  for (size_t total : {size_t(8192), size_t(8193)}) {
    INFO("desired size " << total);
    Harness h;
    auto r = h.update(update_payload("desired", padded_object(total)));
    REQUIRE(r.status == (total == 8192 ? 200 : 413));
    if (total == 8193) REQUIRE(!h.record().has_value());
  }
  // A tiny request over a big stored document (TV-27): the merged size counts.
  Harness h;
  J big = J::object();
  big.set("a", J::string(std::string(8150, 'y')));
  REQUIRE(h.update(update_payload("reported", big)).status == 200);
  // Grows desired to the exact remaining room, then one byte over it.
  const size_t room = 8192 - shadow_model::dump(big).size();
  J fits = padded_object(room);
  auto before = h.record();
  J over = padded_object(room + 1);
  h.now++;
  REQUIRE(h.update(update_payload("desired", over)).status == 413);
  REQUIRE(same_record(before, h.record()));
  REQUIRE(h.update(update_payload("desired", fits)).status == 200);
  REQUIRE(version_of(h) == 2);
  // Replacing a value with a longer one is measured after the merge too.
  J longer = J::object();
  longer.set("p", J::string(fits.get("p")->s + "z"));
  before = h.record();
  REQUIRE(h.update(update_payload("desired", longer)).status == 413);
  REQUIRE(same_record(before, h.record()));
  // Whitespace in the request does not count (compact size is measured).
  J same_len = J::object();
  same_len.set("p", J::string(std::string(fits.get("p")->s.size(), 'q')));
  std::string spaced = "{ \"state\" : { \"desired\" :  " + shadow_model::dump(same_len) + "   } }";
  REQUIRE(h.update(spaced).status == 200);
  REQUIRE(version_of(h) == 3);
}

TEST_CASE("depth limit: 6 levels accepted, 7 rejected; arrays count, empty containers do not",
          "[property]") {
  const std::string too_deep = "JSON contains too many levels of nesting; maximum is 6";
  struct Case {
    int containers;    // nested containers below the section (section = level 1)
    std::string kinds; // '[' marks an array at that position
    bool empty_leaf;   // innermost container empty instead of holding a scalar
    bool accepted;
  };
  const Case cases[] = {
      {5, "", false, true},        // innermost object at level 6
      {6, "", false, false},       // level 7
      {5, "[[[[[", false, true},   // arrays count as levels
      {6, "[[[[[[", false, false},
      {6, "{[{[{[", false, false},
      {5, "{[{[{", false, true},
      {6, "", true, true},         // an empty {} at level 7 does not trigger
      {6, "{{{{{[", true, true},   // nor an empty []
      {7, "", true, false},        // ...but its non-empty parent at level 7 does
  };
  for (const char* section : {"desired", "reported"}) {
    for (const Case& c : cases) {
      J v;
      if (c.empty_leaf) {
        // containers-1 non-empty containers around one empty one.
        bool arr = int(c.kinds.size()) >= c.containers && c.kinds[size_t(c.containers - 1)] == '[';
        v = nest(c.containers - 1, arr ? J::array() : J::object(), c.kinds);
      } else {
        v = nest(c.containers, J::string("x"), c.kinds);
      }
      J sec = J::object();
      sec.set("top", v);
      const std::string payload = update_payload(section, sec);
      INFO(payload);
      Harness h;
      auto r = h.update(payload);
      if (c.accepted) {
        REQUIRE(r.status == 200);
        J got = parse_or_fail(h.get().body);
        REQUIRE_SAME(*got.get("state")->get(section), sec);
      } else {
        REQUIRE(r.status == 400);
        J err = parse_or_fail(r.body);
        REQUIRE(err.get("message")->s == too_deep);
        REQUIRE(!h.record().has_value());
      }
    }
  }
  // The depth examples of tests/vectors/TV-25.json, checked byte for byte.
  Harness h;
  REQUIRE(h.update(R"({"state":{"reported":{"1":{"2":{"3":{"4":{"5":{"6":"x"}}}}}}}})").status == 200);
  auto r = h.update(R"({"state":{"reported":{"1":{"2":{"3":{"4":{"5":{"6":{"7":"x"}}}}}}}}})");
  REQUIRE(r.body == R"({"code":400,"message":"JSON contains too many levels of nesting; maximum is 6"})");
}

TEST_CASE("update/accepted key order for a known request (TV-01)", "[property]") {
  Harness h;
  h.now = 1700000123;
  auto r = h.update(R"({"state":{"reported":{"color":"green","on":true}},"clientToken":"c1"})");
  REQUIRE(r.body ==
          R"({"state":{"reported":{"color":"green","on":true}},"metadata":{"reported":{"color":{"timestamp":1700000123},"on":{"timestamp":1700000123}}},"version":1,"timestamp":1700000123,"clientToken":"c1"})");
}

TEST_CASE("ListNamedShadowsForThing pages through exactly the live named shadows", "[property]") {
  const uint64_t base = base_seed() ^ 0x11575;
  for (int i = 0; i < 40; ++i) {
    const uint64_t seed = base + uint64_t(i);
    INFO("seed " << seed);
    Gen g(seed);
    Harness h;
    // Random named shadows of dev1 (some deleted), plus noise on other things.
    std::set<std::string> live;
    const int n = g.below(60);
    for (int k = 0; k < n; ++k) {
      std::string name = "s" + std::to_string(g.below(80));
      if (g.chance(30)) name = "$" + name;  // '$' sorts before letters
      const std::string prefix = "$aws/things/dev1/shadow/name/" + name;
      h.now++;
      if (g.chance(20) && live.count(name)) {
        REQUIRE(h.mqtt(prefix + "/delete", "").status == 200);
        live.erase(name);
      } else {
        REQUIRE(h.mqtt(prefix + "/update", R"({"state":{"reported":{"k":1}}})").status == 200);
        live.insert(name);
      }
      if (g.chance(20)) h.mqtt("$aws/things/dev10/shadow/name/" + name + "/update", R"({"state":{}})");
      if (g.chance(10)) h.mqtt(topic("/update"), R"({"state":{}})");  // the classic shadow is never listed
    }
    const int page = 1 + g.below(g.chance(50) ? 10 : 100);
    INFO("page size " << page << ", live " << live.size());
    std::vector<std::string> seen;
    std::optional<std::string> token;
    for (int pages = 0; pages < 200; ++pages) {
      const std::string page_text = std::to_string(page);
      auto r = h.service.list_named_shadows("dev1", page_text, token, h.now);
      INFO(r.body);
      REQUIRE(r.status == 200);
      REQUIRE(r.messages.empty());
      J body = parse_or_fail(r.body);
      const J* results = body.get("results");
      REQUIRE((results && results->is_arr()));
      REQUIRE(results->arr.size() <= size_t(page));
      for (auto& e : results->arr) seen.push_back(e.s);
      REQUIRE(body.get("timestamp")->d == h.now);
      const J* next = body.get("nextToken");
      if (!next) break;
      REQUIRE(results->arr.size() == size_t(page));  // only full pages announce more
      token = next->s;
    }
    REQUIRE(seen == std::vector<std::string>(live.begin(), live.end()));  // byte order, no repeats
  }
}
