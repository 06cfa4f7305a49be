// libFuzzer target for the shadow service entry points: MQTT requests
// (Service::handle_mqtt), REST get/update/delete (Service::handle) and
// ListNamedShadowsForThing, run as a short sequence against a fresh
// MemoryStore so that state-dependent paths (merges over stored documents,
// tombstones, version conflicts, failing writes) are reached.
//
// After every request the invariants that must hold for ANY input are
// checked; a violation calls abort() so libFuzzer reports it with the input.
//
// Input encoding (text, so that seeds are readable and easy to write): the
// input is a list of records separated by "\n%%\n". A record is a header line
// of tab-separated fields, then "\n", then the payload (the rest of the
// record, any bytes). Header kinds:
//
//   C <flags>                        config variant (first record only)
//   M <now> <topic>                  MQTT publish of the payload to <topic>
//   G|U|D <now> <thing> [<shadow>]   REST get / update / delete (payload = body)
//   L <now> <thing> [<pageSize> [<nextToken>]]   ListNamedShadowsForThing;
//                                    a field "*" counts as absent
//   S <thing> <shadow> <version> [<deleted_at>]  seed the store: a live record
//                                    whose document is the payload, or with
//                                    deleted_at a tombstone. Only what the
//                                    engine could have stored: valid names,
//                                    UTF-8 text (JSON or not: a damaged record)
//   F <n>                            the next n store writes fail
//
// <now> is clamped to [0, kMaxNow]: the caller's clock is not network input.
// Unknown or malformed records are skipped. tests/fuzz/make_corpus.py writes
// seeds in this encoding from the test vectors (tests/vectors).
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shadow_core/config.h"
#include "shadow_core/service.h"
#include "shadow_core/topic.h"
#include "store/memory_store.h"

namespace {

using shadow::Channel;
using shadow::Operation;
using shadow::ServiceResponse;
using shadow::ShadowRecord;
using shadow::StoreKey;

constexpr int64_t kMaxNow = 4102444800;           // 2100-01-01: far beyond any real clock
constexpr uint64_t kMaxSeedVersion = 1ull << 40;  // more writes than any shadow will see
constexpr size_t kMaxRequests = 64;               // per input: keeps each run fast
constexpr std::string_view kRecordSeparator = "\n%%\n";

// ---------------------------------------------------------------- failures

[[noreturn]] void violated(const char* what, std::string_view detail) {
  std::fprintf(stderr, "fuzz_service: invariant violated: %s\n  detail: %.*s\n", what,
               static_cast<int>(detail.size() > 2000 ? 2000 : detail.size()), detail.data());
  std::abort();
}

void check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) violated(what, detail);
}

// ----------------------------------------------------------------- decoding

std::vector<std::string_view> split(std::string_view s, std::string_view sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    size_t at = s.find(sep);
    if (at == std::string_view::npos) {
      parts.push_back(s);
      return parts;
    }
    parts.push_back(s.substr(0, at));
    s.remove_prefix(at + sep.size());
  }
}

// Saturating decimal parse; nullopt when `s` is not [-]digits.
std::optional<int64_t> parse_int(std::string_view s) {
  bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty() || s.size() > 30) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v > (INT64_MAX - 9) / 10 ? INT64_MAX : v * 10 + (c - '0');
  }
  return negative ? -v : v;
}

int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

std::optional<std::string_view> optional_field(const std::vector<std::string_view>& f, size_t i) {
  if (i >= f.size() || f[i] == "*") return std::nullopt;
  return f[i];
}

// A config variant from a flag word: every behaviour choice of Config that
// changes which code runs, plus small limits so the size checks are reachable
// with short inputs.
shadow::Config config_from(uint64_t flags) {
  shadow::Config c;
  c.tombstone_bumps_version = !(flags & 1);
  c.tombstone_retention_s = (flags & 2) ? 0 : ((flags & 4) ? 10 : c.tombstone_retention_s);
  c.delta_on_unchanged = !(flags & 8);
  c.documents_previous_null = !(flags & 16);
  c.error_timestamp = flags & 32;
  c.reserved_shadow_names = flags & 64;
  c.short_topics = !(flags & 128);
  c.event_topics = (flags & 256) ? shadow::EventTopics::kAws
                                 : ((flags & 512) ? shadow::EventTopics::kShort : shadow::EventTopics::kBoth);
  c.rest_not_found_thing_tilde_shadow = !(flags & 1024);
  c.rest_update_publishes_accepted = !(flags & 2048);
  c.rest_delete_publishes_accepted = !(flags & 4096);
  if (flags & 8192) {
    c.max_document_bytes = 64;
    c.max_payload_bytes = 256;
    c.max_depth = 3;
    c.max_client_token_bytes = 4;
    c.max_thing_name_bytes = 8;
    c.max_shadow_name_bytes = 4;
    c.list_default_page_size = 2;
    c.list_max_page_size = 3;
  }
  return c;
}

// Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF),
// written here independently of the engine's own check.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
    else return false;
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

// Thing and shadow names as docs/mqtt-api.md#names allows them ([a-zA-Z0-9:_-]+, shadow
// names also '$'), with the default length limits.
bool storable_name(std::string_view name, bool shadow_name) {
  if (name.empty() || name.size() > (shadow_name ? 64u : 128u)) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '_' ||
              c == '-' || (shadow_name && c == '$');
    if (!ok) return false;
  }
  return true;
}

// --------------------------------------------------------------- invariants

bool same_record(const std::optional<ShadowRecord>& a, const std::optional<ShadowRecord>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->version == b->version && a->deleted == b->deleted && a->deleted_at == b->deleted_at &&
         a->document == b->document;
}

std::string describe(const std::optional<ShadowRecord>& r) {
  if (!r) return "<absent>";
  return "v" + std::to_string(r->version) + (r->deleted ? " tombstone@" + std::to_string(r->deleted_at) : "") +
         " " + r->document;
}

// Any JSON the service produces must parse as strict UTF-8 JSON. Iterative
// parsing: the harness itself must not overflow the stack on deep output.
bool parse_json(std::string_view text, rapidjson::Document* doc) {
  constexpr unsigned kFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag |
                              rapidjson::kParseFullPrecisionFlag;
  doc->Parse<kFlags>(text.data(), text.size());
  return !doc->HasParseError();
}

bool allowed_status(int s) {
  switch (s) {
    case 200: case 400: case 404: case 409: case 413: case 415: case 429: case 500: return true;
    default: return false;
  }
}

class Session {
 public:
  explicit Session(shadow::Config config) : service_(std::move(config), store_) {}

  void run_record(std::string_view record) {
    size_t eol = record.find('\n');
    std::string_view header = record.substr(0, eol);
    std::string_view payload = eol == std::string_view::npos ? std::string_view{} : record.substr(eol + 1);
    std::vector<std::string_view> f = split(header, "\t");
    if (f[0].size() != 1) return;
    switch (f[0][0]) {
      case 'M': if (f.size() >= 3) mqtt(now_of(f[1]), f[2], payload); break;
      case 'G': rest(f, payload, Operation::kGet); break;
      case 'U': rest(f, payload, Operation::kUpdate); break;
      case 'D': rest(f, payload, Operation::kDelete); break;
      case 'L': if (f.size() >= 3) list(now_of(f[1]), f[2], optional_field(f, 3), optional_field(f, 4)); break;
      case 'S': seed(f, payload); break;
      case 'F': if (f.size() >= 2) store_.fail_next_writes(static_cast<int>(clamp(parse_int(f[1]).value_or(0), 0, 20))); break;
      default: break;
    }
  }

 private:
  int64_t now_of(std::string_view field) {
    auto v = parse_int(field);
    now_ = v ? clamp(*v, 0, kMaxNow) : clamp(now_ + 1000, 0, kMaxNow);
    return now_;
  }

  std::optional<ShadowRecord> read(const StoreKey& key) {
    ShadowRecord r;
    shadow::Status st = store_.get(key, &r);
    check(st.is_ok() || st.code() == shadow::Status::Code::kNotFound, "MemoryStore::get failed");
    if (!st.is_ok()) return std::nullopt;
    return r;
  }

  void seed(const std::vector<std::string_view>& f, std::string_view payload) {
    if (f.size() < 4) return;
    auto version = parse_int(f[3]);
    if (!version) return;
    ShadowRecord r;
    r.version = static_cast<uint64_t>(clamp(*version, 0, static_cast<int64_t>(kMaxSeedVersion)));
    if (auto at = optional_field(f, 4)) {
      r.deleted = true;
      r.deleted_at = clamp(parse_int(*at).value_or(0), 0, kMaxNow);
    } else {
      // Any text, JSON or not, but UTF-8: the engine validates the encoding of
      // every request, so a stored document in another encoding cannot come
      // from it (and the engine does not re-check what it reads back).
      if (!valid_utf8(payload)) return;
      r.document = std::string(payload);
    }
    // Only keys the engine could have written: it validates every name before
    // it touches the store, and list results come straight from the keys.
    if (!storable_name(f[1], false) || (!f[2].empty() && !storable_name(f[2], true))) return;
    StoreKey key{std::string(f[1]), std::string(f[2])};
    std::optional<shadow::RecordStamp> expected;
    if (auto old = read(key)) expected = shadow::stamp_of(*old);
    store_.fail_next_writes(0);
    check(store_.compare_and_set(key, expected, r).is_ok(), "seeding the store failed");
  }

  void mqtt(int64_t now, std::string_view topic, std::string_view payload) {
    auto parsed = shadow::parse_request_topic(topic, service_.config().short_topics);
    std::optional<StoreKey> key;
    if (parsed) key = StoreKey{parsed->id.thing, parsed->id.shadow};
    std::optional<ShadowRecord> before;
    if (key) before = read(*key);
    size_t size_before = store_.size();

    std::optional<ServiceResponse> r = service_.handle_mqtt(topic, payload, now);
    check(!r || parsed, "handle_mqtt answered a topic that is not a shadow request", topic);
    // Short-form topics with impossible names may be left alone (an
    // application's own topic); the $aws form is always answered.
    check(r || !parsed || parsed->form != shadow::TopicForm::kAws, "handle_mqtt ignored an $aws request topic",
          topic);
    if (!r) {
      check(store_.size() == size_before, "a non-shadow topic changed the store", topic);
      return;
    }
    check(!r->messages.empty(), "an MQTT request got no reply message", topic);
    check(r->messages[0].payload == r->body, "the MQTT reply payload is not the body", r->body);
    std::string reply = shadow::reply_topic(parsed->id, parsed->form, parsed->op, r->ok() ? "accepted" : "rejected");
    check(r->messages[0].topic == reply, "the MQTT reply went to the wrong topic", r->messages[0].topic);
    after_request(*r, parsed->op, parsed->id.thing, *key, before, size_before);
  }

  void rest(const std::vector<std::string_view>& f, std::string_view payload, Operation op) {
    if (f.size() < 3) return;
    shadow::ServiceRequest request;
    request.channel = Channel::kRest;
    request.op = op;
    request.now = now_of(f[1]);
    request.id.thing = std::string(f[2]);
    if (f.size() >= 4) request.id.shadow = std::string(f[3]);
    request.payload = payload;
    StoreKey key{request.id.thing, request.id.shadow};
    std::optional<ShadowRecord> before = read(key);
    size_t size_before = store_.size();

    ServiceResponse r = service_.handle(request);
    if (!r.ok()) check(r.messages.empty(), "a rejected REST request published", r.body);
    after_request(r, op, request.id.thing, key, before, size_before);
  }

  void list(int64_t now, std::string_view thing, std::optional<std::string_view> page_size,
            std::optional<std::string_view> next_token) {
    size_t size_before = store_.size();
    ServiceResponse r = service_.list_named_shadows(thing, page_size, next_token, now);
    check_common(r, thing);
    check(r.messages.empty(), "a list published messages", r.body);
    check(store_.size() == size_before, "a list changed the store");
    if (r.ok()) {
      rapidjson::Document doc;
      parse_json(r.body, &doc);
      check(doc.IsObject() && doc.HasMember("results") && doc["results"].IsArray(), "a list body has no results",
            r.body);
    }
  }

  // Status, JSON and topics: true of every response.
  void check_common(const ServiceResponse& r, std::string_view thing) {
    check(allowed_status(r.status), "status outside 200/400/404/409/413/415/429/500", std::to_string(r.status));
    rapidjson::Document body;
    check(parse_json(r.body, &body), "the body is not valid UTF-8 JSON", r.body);
    check(body.IsObject(), "the body is not a JSON object", r.body);
    if (!r.ok()) {
      check(body.HasMember("code") && body["code"].IsInt() && body["code"].GetInt() == r.status,
            "an error body's code differs from the status", r.body);
    }
    for (const shadow::OutMessage& m : r.messages) {
      std::string_view t = m.topic;
      bool aws = t.substr(0, 12) == "$aws/things/";
      bool short_form = t.substr(0, thing.size()) == thing && t.size() > thing.size() && t[thing.size()] == '/';
      check(aws || short_form, "a message topic starts with neither $aws/things/ nor the thing name", t);
      rapidjson::Document payload;
      check(parse_json(m.payload, &payload), "a message payload is not valid UTF-8 JSON", m.payload);
    }
  }

  void after_request(const ServiceResponse& r, Operation op, std::string_view thing, const StoreKey& key,
                     const std::optional<ShadowRecord>& before, size_t size_before) {
    check_common(r, thing);
    std::optional<ShadowRecord> after = read(key);
    if (!r.ok() || op == Operation::kGet) {
      check(same_record(before, after), "a rejected request or a get changed the stored record",
            describe(before) + "  ->  " + describe(after));
      check(store_.size() == size_before, "a rejected request or a get changed the store size");
      return;
    }
    check(after.has_value(), "a successful write left no record");
    if (op == Operation::kDelete) {
      check(after->deleted && after->document.empty(), "a successful delete left no tombstone", describe(after));
      return;
    }
    // Successful update: the stored snapshot parses and agrees on the version.
    check(!after->deleted, "a successful update left a tombstone", describe(after));
    rapidjson::Document stored;
    check(parse_json(after->document, &stored) && stored.IsObject(), "the stored document is not a JSON object",
          after->document);
    check(stored.HasMember("version") && stored["version"].IsUint64() &&
              stored["version"].GetUint64() == after->version,
          "the stored document's version differs from the record's", describe(after));
    rapidjson::Document body;
    parse_json(r.body, &body);
    check(body.HasMember("version") && body["version"].IsUint64() && body["version"].GetUint64() == after->version,
          "the update response's version differs from the stored one", r.body + "  vs  " + describe(after));
    if (before && !before->deleted)
      check(after->version == before->version + 1, "an update did not advance the version by one",
            describe(before) + "  ->  " + describe(after));
  }

  shadow::MemoryStore store_;
  shadow::Service service_;
  int64_t now_ = 1700000000;
};

}  // namespace

#ifdef SHADOW_UBSAN_SUPPRESSIONS
// Defaults for UBSAN_OPTIONS (the environment still overrides them): stop at
// the first report, so libFuzzer sees it as a crash, and skip the known
// third-party report listed in ubsan.supp.
extern "C" const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1:suppressions=" SHADOW_UBSAN_SUPPRESSIONS;
}
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> records = split(input, kRecordSeparator);
  uint64_t flags = 0;
  size_t first = 0;
  if (records[0].size() >= 2 && records[0][0] == 'C' && records[0][1] == '\t') {
    std::string_view header = records[0].substr(2, records[0].find('\n') - 2);
    flags = static_cast<uint64_t>(parse_int(header).value_or(0));
    first = 1;
  }
  Session session(config_from(flags));
  for (size_t i = first; i < records.size() && i < first + kMaxRequests; ++i) session.run_record(records[i]);
  return 0;
}
