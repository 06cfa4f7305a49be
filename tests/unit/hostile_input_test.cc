// Hostile inputs: malformed, huge, deep or odd requests must end in an error
// document on the /rejected topic (or, for get/delete, a normal answer),
// never in a crash, a hang or a stack overflow, and a rejected update must
// leave the stored record byte-identical.
//
// Run these also under a small stack to prove no recursion follows the input:
//   (ulimit -s 1024; ./unit_tests '[hostile]')
#include <catch2/catch.hpp>

#include <string>

#include "shadow_core/errors.h"
#include "shadow_core/service.h"
#include "store/memory_store.h"
#include "model.h"

namespace {

using shadow_model::J;

const std::string kPrefix = "$aws/things/dev1/shadow";
const std::string kInvalidJson = "Payload contains invalid json";
const std::string kTooDeep = "JSON contains too many levels of nesting; maximum is 6";

struct Harness {
  explicit Harness(shadow::Config c = {}) : config(std::move(c)), service(config, store) {}

  std::optional<shadow::ServiceResponse> mqtt(std::string_view topic, std::string_view payload) {
    return service.handle_mqtt(topic, payload, ++now);
  }
  shadow::ServiceResponse must(std::string_view topic, std::string_view payload) {
    auto r = mqtt(topic, payload);
    REQUIRE(r.has_value());
    return *r;
  }
  shadow::ServiceResponse update(std::string_view payload) { return must(kPrefix + "/update", payload); }
  shadow::ServiceResponse get(std::string_view payload = "") { return must(kPrefix + "/get", payload); }
  shadow::ServiceResponse remove(std::string_view payload = "") { return must(kPrefix + "/delete", payload); }

  // The stored record of dev1's classic shadow, or nullopt.
  std::optional<shadow::ShadowRecord> record(const std::string& thing = "dev1", const std::string& name = "") {
    shadow::ShadowRecord r;
    auto st = store.get({thing, name}, &r);
    if (st.code() == shadow::Status::Code::kNotFound) return std::nullopt;
    REQUIRE(st.is_ok());
    return r;
  }

  // Gives the shadow some content so that "unchanged" means something.
  void seed() {
    REQUIRE(update(R"({"state":{"desired":{"a":1,"n":{"x":"y"}},"reported":{"a":2}}})").status == 200);
  }

  J get_state() {
    auto r = get();
    REQUIRE(r.status == 200);
    auto j = shadow_model::parse(r.body);
    REQUIRE(j.has_value());
    return *j->get("state");
  }

  shadow::Config config;
  shadow::MemoryStore store;
  shadow::Service service;
  int64_t now = 1700000000;
};

bool same_record(const std::optional<shadow::ShadowRecord>& a, const std::optional<shadow::ShadowRecord>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->version == b->version && a->deleted == b->deleted && a->deleted_at == b->deleted_at &&
         a->document == b->document;
}

J parse_body(const std::string& body) {
  auto j = shadow_model::parse(body);
  INFO("body: " << body.substr(0, 300));
  REQUIRE(j.has_value());
  return *j;
}

// Sends `payload` as an update and requires a rejection on the /update/rejected
// topic with `code` (and `message` unless empty), leaving the store untouched.
// Returns the parsed error document.
J expect_rejected(Harness& h, std::string_view payload, int code, const std::string& message = "") {
  INFO("payload (" << payload.size() << " bytes): " << std::string(payload.substr(0, 120)));
  auto before = h.record();
  const size_t records = h.store.size();
  auto r = h.update(payload);
  INFO("response: " << r.body.substr(0, 300));
  REQUIRE(r.status == code);
  REQUIRE(r.messages.size() == 1);
  REQUIRE(r.messages[0].topic == kPrefix + "/update/rejected");
  REQUIRE(r.messages[0].payload == r.body);
  J err = parse_body(r.body);
  REQUIRE(err.is_obj());
  REQUIRE(err.get("code"));
  REQUIRE(err.get("code")->d == code);
  REQUIRE(err.get("message"));
  if (!message.empty()) REQUIRE(err.get("message")->s == message);
  REQUIRE(same_record(before, h.record()));
  REQUIRE(h.store.size() == records);
  return err;
}

// Like expect_rejected, but any 400 message from `allowed` is fine.
void expect_400_one_of(Harness& h, std::string_view payload, std::initializer_list<std::string> allowed) {
  J err = expect_rejected(h, payload, 400);
  const std::string& m = err.get("message")->s;
  INFO("message: " << m);
  bool ok = false;
  for (auto& a : allowed) ok = ok || m == a;
  REQUIRE(ok);
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string deep_objects(size_t levels) { return repeat("{\"a\":", levels) + "1" + std::string(levels, '}'); }
std::string deep_arrays(size_t levels) { return std::string(levels, '[') + "1" + std::string(levels, ']'); }

}  // namespace

TEST_CASE("deep nesting is rejected without recursion", "[hostile]") {
  Harness h;
  h.seed();
  // Inside desired: the depth check (or the parser) rejects it.
  for (const std::string& deep : {deep_objects(1000), deep_arrays(1000), deep_objects(20000), deep_arrays(65000)}) {
    const std::string payload = R"({"state":{"desired":{"a":)" + deep + "}}}";
    REQUIRE(payload.size() <= h.config.max_payload_bytes);
    expect_400_one_of(h, payload, {kTooDeep, kInvalidJson});
  }
  // Unclosed: 100000 '[' inside a payload under the 128 KiB cap.
  const std::string unclosed = R"({"state":{"desired":{"a":)" + std::string(100000, '[');
  REQUIRE(unclosed.size() <= h.config.max_payload_bytes);
  expect_rejected(h, unclosed, 400, kInvalidJson);
  expect_rejected(h, std::string(120000, '['), 400, kInvalidJson);
  expect_rejected(h, repeat("{\"a\":", 26000), 400, kInvalidJson);

  // Deep values in other places of the request.
  const std::string deep = deep_arrays(60000);
  expect_rejected(h, R"({"state":{"desired":{"a":1}},"clientToken":)" + deep + "}", 400,
                  shadow::messages::kInvalidClientToken);
  expect_rejected(h, R"({"state":{"desired":{"a":1}},"version":)" + deep + "}", 400,
                  shadow::messages::kInvalidVersion);
  expect_rejected(h, R"({"state":{"foo":)" + deep + "}}", 400, "State contains an invalid node: 'foo'");
  expect_rejected(h, R"({"state":)" + deep + "}", 400, shadow::messages::kStateNotObject);
  expect_rejected(h, R"({"state":{"reported":)" + deep + "}}", 400, shadow::messages::kReportedNotObject);
  expect_rejected(h, deep, 400, shadow::messages::kMissingState);
}

TEST_CASE("deep nesting inside an ignored top-level key", "[hostile]") {
  Harness h;
  h.seed();
  const std::string payload = R"({"foo":)" + deep_arrays(60000) + R"(,"state":{"desired":{"b":5}}})";
  REQUIRE(payload.size() <= h.config.max_payload_bytes);
  auto before = h.record();
  auto r = h.update(payload);
  INFO(r.body.substr(0, 200));
  // Unknown top-level keys are ignored and the depth limit applies to
  // desired/reported only (docs/mqtt-api.md#update-request, #limits):
  // accepted is the expected outcome; a parser-level 400 is tolerated but
  // must change nothing.
  if (r.status == 200) {
    REQUIRE(r.messages[0].topic == kPrefix + "/update/accepted");
    J state = h.get_state();
    REQUIRE(state.get("desired")->get("b")->d == 5);
  } else {
    REQUIRE(r.status == 400);
    REQUIRE(same_record(before, h.record()));
  }
  // Deep objects, too.
  const std::string objects = R"({"state":{"desired":{"c":6}},"foo":)" + deep_objects(20000) + "}";
  r = h.update(objects);
  REQUIRE((r.status == 200 || r.status == 400));
}

TEST_CASE("get and delete ignore deep or garbage payloads", "[hostile]") {
  Harness h;
  h.seed();
  const std::string payloads[] = {
      deep_arrays(60000),
      std::string(100000, '['),
      R"({"clientToken":"g1","foo":)" + deep_arrays(60000) + "}",
      std::string("\xff\xfe\x00garbage", 10),
      std::string(1 << 20, 'x'),
      "",
      "null",
  };
  for (const std::string& p : payloads) {
    INFO("payload starts " << p.substr(0, 40) << " (" << p.size() << " bytes)");
    auto r = h.get(p);
    REQUIRE(r.status == 200);
    REQUIRE(r.messages.size() == 1);
    REQUIRE(r.messages[0].topic == kPrefix + "/get/accepted");
    J body = parse_body(r.body);
    const J* token = body.get("clientToken");
    if (p.rfind(R"({"clientToken":"g1")", 0) == 0) {
      REQUIRE(token);
      REQUIRE(token->s == "g1");
    } else {
      REQUIRE(!token);
    }
  }
  // Delete with a hostile payload still deletes.
  auto r = h.remove(deep_arrays(60000));
  REQUIRE(r.status == 200);
  REQUIRE(r.messages[0].topic == kPrefix + "/delete/accepted");
  REQUIRE(h.record()->deleted);
}

TEST_CASE("invalid UTF-8 is rejected with 415", "[hostile]") {
  Harness h;
  h.seed();
  const std::string encoding = shadow::messages::kUnsupportedEncoding;
  const std::string bad[] = {
      "\xff",              // never valid
      "\xc0\xaf",          // overlong '/'
      "\xe0\x80\xaf",      // overlong, 3 bytes
      "\xed\xa0\x80",      // UTF-16 surrogate D800
      "\xed\xbf\xbf",      // surrogate DFFF
      "\xf4\x90\x80\x80",  // above U+10FFFF
      "\xe2\x82",          // truncated 3-byte sequence
      "\x80",              // lone continuation byte
      "\xf8\x88\x80\x80\x80",  // 5-byte form
  };
  for (const std::string& b : bad) {
    INFO("bytes " << b.size());
    expect_rejected(h, R"({"state":{"reported":{"s":")" + b + R"("}}})", 415, encoding);
    expect_rejected(h, R"({"state":{"reported":{")" + b + R"(":1}}})", 415, encoding);
    // Even outside the state and outside any string.
    expect_rejected(h, R"({"foo":")" + b + R"(","state":{}})", 415, encoding);
    expect_rejected(h, R"({"state":{}})" + b, 415, encoding);
  }
  // Truncated at the very end of the payload.
  expect_rejected(h, "{\"state\":{}}\xe2\x82", 415, encoding);
  expect_rejected(h, "{\"state\":{}}\xf0\x9f\x98", 415, encoding);
  // Valid multi-byte characters (incl. 4-byte) are accepted.
  auto r = h.update("{\"state\":{\"reported\":{\"s\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"}}}");
  REQUIRE(r.status == 200);
  REQUIRE(h.get_state().get("reported")->get("s")->s == "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
  // Escaped surrogates are JSON, not raw bytes: a valid pair is fine.
  r = h.update(R"({"state":{"reported":{"e":"\ud83d\ude00"}}})");
  REQUIRE(r.status == 200);
  REQUIRE(h.get_state().get("reported")->get("e")->s == "\xf0\x9f\x98\x80");
  // A lone escaped surrogate cannot become UTF-8: an error, not a crash.
  auto before = h.record();
  r = h.update(R"({"state":{"reported":{"e":"\ud800"}}})");
  REQUIRE(r.status == 400);
  REQUIRE(same_record(before, h.record()));
}

TEST_CASE("escaped lone surrogates are invalid JSON (400), never stored", "[hostile]") {
  Harness h;
  h.seed();
  auto before = h.record();
  // Every escape sequence that names a surrogate outside a high-low pair.
  for (const char* text : {R"(x\udc00y)", R"(\udfff)", R"(\ud800)", R"(\udbff!)", R"(\ud800\ud800)",
                           R"(\udc00\ud800)", R"(\ud83d)", R"(a\ude00)", R"(\ud800\u0041)"}) {
    INFO(text);
    expect_rejected(h, std::string(R"({"state":{"reported":{"s":")") + text + R"("}}})", 400, kInvalidJson);
    expect_rejected(h, std::string(R"({"state":{"desired":{")") + text + R"(":1}}})", 400, kInvalidJson);
    // Anywhere in the request, as for raw invalid UTF-8.
    expect_rejected(h, std::string(R"({"clientToken":")") + text + R"(","state":{}})", 400, kInvalidJson);
    REQUIRE(same_record(before, h.record()));
  }
  // Pairs, also several in a row and among other text, are characters.
  auto r = h.update(R"({"state":{"reported":{"s":"a\ud83d\ude00\udbff\udfffb"}}})");
  REQUIRE(r.status == 200);
  REQUIRE(h.get_state().get("reported")->get("s")->s == "a\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf" "b");
  // Characters that UTF-8 encodes with a leading 0xED but are no surrogates.
  r = h.update(R"({"state":{"reported":{"k":"\ud7ff\ued00"}}})");
  REQUIRE(r.status == 200);
  REQUIRE(h.get_state().get("reported")->get("k")->s == "\xed\x9f\xbf\xee\xb4\x80");
}

TEST_CASE("NUL bytes: raw ones are invalid JSON, escaped ones round-trip", "[hostile]") {
  Harness h;
  h.seed();
  using namespace std::string_literals;
  expect_rejected(h, "{\"state\":{\"reported\":{\"s\":\"a\0b\"}}}"s, 400, kInvalidJson);
  expect_rejected(h, "\0{\"state\":{}}"s, 400, kInvalidJson);
  expect_rejected(h, "\0"s, 400, kInvalidJson);

  auto r = h.update(R"({"state":{"reported":{"k\u0000ey":"v\u0000al"}},"clientToken":"t\u0000k"})");
  REQUIRE(r.status == 200);
  J acc = parse_body(r.body);
  REQUIRE(acc.get("clientToken")->s == "t\0k"s);
  J state = h.get_state();
  const J* rep = state.get("reported");
  REQUIRE(rep->get("k\0ey"s));
  REQUIRE(rep->get("k\0ey"s)->s == "v\0al"s);
  REQUIRE(!rep->get("k"));  // not truncated at the NUL
  // A key that differs only after the NUL is a different key.
  REQUIRE(h.update(R"({"state":{"reported":{"k\u0000ex":1}}})").status == 200);
  rep = nullptr;
  state = h.get_state();
  REQUIRE(state.get("reported")->get("k\0ey"s)->s == "v\0al"s);
  REQUIRE(state.get("reported")->get("k\0ex"s)->d == 1);
  // Deleting it by the escaped name works.
  REQUIRE(h.update(R"({"state":{"reported":{"k\u0000ey":null}}})").status == 200);
  REQUIRE(!h.get_state().get("reported")->get("k\0ey"s));
}

// A raw NUL is never valid JSON, also after a complete document: a parser
// that stops at the first NUL would accept '{"state":...}\0<anything>'.
TEST_CASE("raw NUL after a complete document is invalid JSON", "[hostile]") {
  Harness h;
  h.seed();
  using namespace std::string_literals;
  expect_rejected(h, "{\"state\":{\"reported\":{\"s\":1}}}\0"s, 400, kInvalidJson);
  expect_rejected(h, "{\"state\":{}}\0{\"state\":null}"s, 400, kInvalidJson);
}

TEST_CASE("numbers out of range", "[hostile]") {
  Harness h;
  h.seed();
  expect_rejected(h, R"({"state":{"reported":{"n":1e400}}})", 400, kInvalidJson);
  expect_rejected(h, R"({"state":{"reported":{"n":-1e400}}})", 400, kInvalidJson);
  expect_rejected(h, R"({"foo":1e400,"state":{}})", 400, kInvalidJson);
  expect_rejected(h, R"({"state":{"reported":{"n":[1,2,1e999]}}})", 400, kInvalidJson);
  for (const char* n : {"123456789012345678901234567890", "-123456789012345678901234567890",
                        "18446744073709551616", "-9223372036854775809", "1e308", "4.9e-324", "-0"}) {
    INFO(n);
    const std::string payload = std::string(R"({"state":{"reported":{"n":)") + n + "}}}";
    auto before = h.record();
    auto r = h.update(payload);
    if (r.status == 200) {
      const J state = h.get_state();  // kept alive: v points into it
      const J* v = state.get("reported")->get("n");
      REQUIRE(v);
      REQUIRE(v->t == J::T::Num);
      REQUIRE(v->d == Approx(std::strtod(n, nullptr)));
    } else {
      REQUIRE(r.status == 400);
      REQUIRE(same_record(before, h.record()));
    }
  }
}

TEST_CASE("duplicate keys: the last one wins", "[hostile]") {
  Harness h;
  REQUIRE(h.update(R"({"state":{"desired":{"a":1,"a":2}}})").status == 200);
  J d = *h.get_state().get("desired");
  REQUIRE(d.obj.size() == 1);
  REQUIRE(d.get("a")->d == 2);

  REQUIRE(h.update(R"({"state":{"desired":{"x":1}},"state":{"desired":{"y":2}}})").status == 200);
  d = *h.get_state().get("desired");
  REQUIRE(!d.get("x"));
  REQUIRE(d.get("y")->d == 2);

  REQUIRE(h.update(R"({"state":{"desired":{"o":{"p":1},"o":{"q":2}}}})").status == 200);
  d = *h.get_state().get("desired");
  REQUIRE(d.get("o")->obj.size() == 1);
  REQUIRE(d.get("o")->get("q")->d == 2);

  REQUIRE(h.update(R"({"state":{"desired":{"m":1},"desired":{"n":2}}})").status == 200);
  d = *h.get_state().get("desired");
  REQUIRE(!d.get("m"));
  REQUIRE(d.get("n")->d == 2);

  // The stored document holds no duplicate members either.
  auto rec = h.record();
  auto snap = shadow_model::parse(rec->document);
  REQUIRE(snap.has_value());
  const J* desired = snap->get("state")->get("desired");
  for (size_t i = 0; i < desired->obj.size(); ++i)
    for (size_t j = i + 1; j < desired->obj.size(); ++j) REQUIRE(desired->obj[i].first != desired->obj[j].first);

  // A duplicate whose last value is null deletes; whose last value is valid passes validation.
  REQUIRE(h.update(R"({"state":{"desired":{"y":5,"y":null}}})").status == 200);
  REQUIRE(!h.get_state().get("desired")->get("y"));
  auto r = h.update(R"({"state":{"desired":{"z":1}},"clientToken":"a","clientToken":"b"})");
  REQUIRE(r.status == 200);
  REQUIRE(parse_body(r.body).get("clientToken")->s == "b");
  expect_rejected(h, R"({"state":{"desired":{"z":1}},"version":1,"version":-1})", 400,
                  shadow::messages::kInvalidVersion);
}

TEST_CASE("payload size cap is checked before parsing", "[hostile]") {
  Harness h;
  h.seed();
  const size_t cap = h.config.max_payload_bytes;
  REQUIRE(cap == 131072);
  // 1 MB of garbage: 413, not "invalid json".
  expect_rejected(h, std::string(1 << 20, 'x'), 413, shadow::messages::kTooLarge);
  // A valid request padded with whitespace to exactly the cap is accepted.
  std::string body = R"({"state":{"desired":{"w":1}}})";
  std::string at_cap = body + std::string(cap - body.size(), ' ');
  REQUIRE(at_cap.size() == cap);
  REQUIRE(h.update(at_cap).status == 200);
  std::string over = at_cap + " ";
  expect_rejected(h, over, 413, shadow::messages::kTooLarge);
  // A 1 MB payload that would fail the UTF-8 check is still just too large.
  std::string big_bad(1 << 20, '\xff');
  auto r = h.update(big_bad);
  REQUIRE((r.status == 413 || r.status == 415));
}

TEST_CASE("payloads that are not a request object", "[hostile]") {
  Harness h;
  h.seed();
  const std::string missing = shadow::messages::kMissingState;
  expect_rejected(h, "", 400, kInvalidJson);
  expect_rejected(h, "   \t\r\n ", 400, kInvalidJson);
  expect_rejected(h, "{", 400, kInvalidJson);
  expect_rejected(h, R"({"state":{}}})", 400, kInvalidJson);
  expect_rejected(h, R"({"state":{}} {"state":{}})", 400, kInvalidJson);
  expect_rejected(h, R"({'state':{}})", 400, kInvalidJson);
  expect_rejected(h, R"({"state":{},})", 400, kInvalidJson);
  expect_rejected(h, R"({"state":{"reported":{"a":NaN}}})", 400, kInvalidJson);
  expect_rejected(h, R"({"state":{"reported":{"a":Infinity}}})", 400, kInvalidJson);
  expect_rejected(h, "/*c*/{\"state\":{}}", 400, kInvalidJson);
  for (const char* p : {"null", "[]", "\"str\"", "66", "true", "{}", "[{\"state\":{}}]"}) expect_rejected(h, p, 400, missing);
  expect_rejected(h, R"({"State":{}})", 400, missing);
  // Whitespace around a valid request is fine.
  REQUIRE(h.update(" \n{\"state\":{}}\n\t ").status == 200);
  // A UTF-8 BOM before the JSON: either skipped or invalid JSON, never a crash.
  auto before = h.record();
  auto r = h.update("\xef\xbb\xbf{\"state\":{\"reported\":{\"bom\":1}}}");
  if (r.status != 200) {
    REQUIRE(r.status == 400);
    REQUIRE(parse_body(r.body).get("message")->s == kInvalidJson);
    REQUIRE(same_record(before, h.record()));
  } else {
    REQUIRE(h.get_state().get("reported")->get("bom")->d == 1);
  }
  // Null inside an array, at any position, is rejected.
  expect_rejected(h, R"({"state":{"desired":{"colors":[null,"RED"]}}})", 400, h.config.null_in_array_message);
  expect_rejected(h, R"({"state":{"desired":{"colors":[[1,[null]]]}}})", 400, h.config.null_in_array_message);
}

TEST_CASE("very long keys and values", "[hostile]") {
  Harness h;
  h.seed();
  // A 10 KB key cannot fit into an 8 KB document.
  expect_rejected(h, R"({"state":{"desired":{")" + std::string(10240, 'k') + R"(":1}}})", 413,
                  shadow::messages::kTooLarge);
  // An 8000-byte key fits next to the seed content.
  const std::string key(8000, 'k');
  REQUIRE(h.update(R"({"state":{"desired":{")" + key + R"(":1}}})").status == 200);
  REQUIRE(h.get_state().get("desired")->get(key)->d == 1);
  // Deleting it with a null works and frees the room again.
  REQUIRE(h.update(R"({"state":{"desired":{")" + key + R"(":null}}})").status == 200);
  REQUIRE(!h.get_state().get("desired")->get(key));
  // A 100 KB key in an ignored top-level key is ignored.
  auto r = h.update(R"({")" + std::string(100000, 'q') + R"(":1,"state":{"reported":{"z":1}}})");
  REQUIRE(r.status == 200);
}

namespace {

// {"state":{"desired":{<n members>}}}: distinct short keys, or n times "a".
std::string many_members(size_t n, bool distinct, const char* value = nullptr) {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s = R"({"state":{"desired":{)";
  for (size_t i = 0; i < n; ++i) {
    if (i) s += ',';
    s += '"';
    if (distinct) {
      for (size_t k = i; ; k /= 62) { s += kAlphabet[k % 62]; if (k < 62) break; }
    } else {
      s += 'a';
    }
    s += "\":";
    s += value ? std::string(value) : std::to_string(i % 10);
  }
  return s + "}}}";
}

shadow::Config big_limits() {
  shadow::Config big;
  big.max_payload_bytes = 8u << 20;
  big.max_document_bytes = 8u << 20;
  return big;
}

}  // namespace

TEST_CASE("objects with very many members complete", "[hostile]") {
  {
    Harness h;  // default caps: 100k members do not pass the payload cap
    h.seed();
    expect_rejected(h, many_members(100000, true), 413, shadow::messages::kTooLarge);
  }
  {
    // The most distinct members that fit under the default payload cap: the
    // merge runs, then the document is too large.
    Harness h;
    h.seed();
    size_t n = 16000;
    while (many_members(n + 500, true).size() <= h.config.max_payload_bytes) n += 500;
    INFO(n << " members");
    expect_rejected(h, many_members(n, true), 413, shadow::messages::kTooLarge);
    // The same count of deletions of keys that do not exist: a small result.
    auto r = h.update(many_members(n / 2, true, "null"));
    REQUIRE((r.status == 200 || r.status == 413));
  }
  {
    Harness h(big_limits());  // 100k duplicates of one key
    REQUIRE(h.update(many_members(100000, false)).status == 200);
    J d = *h.get_state().get("desired");
    REQUIRE(d.obj.size() == 1);
    REQUIRE(d.get("a")->d == 99999 % 10);
  }
}

// With raised limits: merging must stay linear in the member count (this
// took minutes when member lookups were scans).
TEST_CASE("an object with 100k distinct members completes", "[hostile]") {
  Harness h(big_limits());
  REQUIRE(h.update(many_members(100000, true)).status == 200);
  J d = *h.get_state().get("desired");
  REQUIRE(d.obj.size() == 100000);
  // Merging another 100k members into them.
  REQUIRE(h.update(many_members(100000, true)).status == 200);
}

TEST_CASE("clientToken length counts UTF-8 bytes", "[hostile]") {
  auto repeat_str = [](const std::string& s, int n) { std::string o; for (int i = 0; i < n; ++i) o += s; return o; };
  const std::string e_acute = "\xc3\xa9";         // 2 bytes
  const std::string euro = "\xe2\x82\xac";        // 3 bytes
  const std::string grin = "\xf0\x9f\x98\x80";    // 4 bytes
  struct Case { std::string token; bool ok; };
  const Case cases[] = {
      {std::string(64, 't'), true},
      {std::string(65, 't'), false},
      {repeat_str(e_acute, 32), true},        // 32 characters, 64 bytes
      {repeat_str(e_acute, 32) + "x", false}, // 33 characters, 65 bytes
      {repeat_str(euro, 21) + "a", true},     // 64 bytes
      {repeat_str(euro, 22), false},          // 22 characters, 66 bytes
      {repeat_str(grin, 16), true},           // 16 characters, 64 bytes
      {repeat_str(grin, 16) + "a", false},
      {"", true},
  };
  for (const Case& c : cases) {
    INFO("token bytes " << c.token.size() << " expect ok " << c.ok);
    Harness h;
    h.seed();
    const std::string payload = R"({"state":{"reported":{"t":1}},"clientToken":")" + c.token + "\"}";
    if (c.ok) {
      auto r = h.update(payload);
      REQUIRE(r.status == 200);
      REQUIRE(parse_body(r.body).get("clientToken")->s == c.token);
      for (auto& m : r.messages) REQUIRE(parse_body(m.payload).get("clientToken")->s == c.token);
    } else {
      J err = expect_rejected(h, payload, 400, shadow::messages::kInvalidClientToken);
      REQUIRE(!err.get("clientToken"));  // an invalid token is not echoed
    }
    // get/delete: an over-long token is ignored, the request still answered.
    auto g = h.get(R"({"clientToken":")" + c.token + "\"}");
    REQUIRE(g.status == 200);
    const J* echoed = parse_body(g.body).get("clientToken");
    REQUIRE(bool(echoed) == c.ok);
    auto d = h.remove(R"({"clientToken":")" + c.token + "\"}");
    REQUIRE(d.status == 200);
    REQUIRE(bool(parse_body(d.body).get("clientToken")) == c.ok);
  }
  Harness h;
  h.seed();
  for (const char* bad : {"5", "{}", "[\"x\"]", "true"}) {
    expect_rejected(h, std::string(R"({"state":{"reported":{"t":1}},"clientToken":)") + bad + "}", 400,
                    shadow::messages::kInvalidClientToken);
  }
}

TEST_CASE("version values of the wrong kind", "[hostile]") {
  Harness h;
  h.seed();  // version 1
  const std::string invalid = shadow::messages::kInvalidVersion;
  for (const char* v : {"-1", "1.5", "\"1\"", "true", "[1]", "{}", "-0.5"}) {
    INFO("version " << v);
    expect_rejected(h, std::string(R"({"state":{"desired":{"v":1}},"version":)") + v + "}", 400, invalid);
  }
  // Integral but out of range: a bad version or a conflict, never a match.
  for (const char* v : {"1e30", "18446744073709551615", "18446744073709551616", "9223372036854775808"}) {
    INFO("version " << v);
    auto before = h.record();
    auto r = h.update(std::string(R"({"state":{"desired":{"v":1}},"version":)") + v + "}");
    INFO(r.body);
    REQUIRE((r.status == 400 || r.status == 409));
    REQUIRE(r.messages[0].topic == kPrefix + "/update/rejected");
    REQUIRE(same_record(before, h.record()));
  }
  expect_rejected(h, R"({"state":{"desired":{"v":1}},"version":0})", 409, shadow::messages::kVersionConflict);
  expect_rejected(h, R"({"state":{"desired":{"v":1}},"version":2})", 409, shadow::messages::kVersionConflict);
  // null is treated as absent; an integral float equal to the version matches.
  REQUIRE(h.update(R"({"state":{"desired":{"v":1}},"version":null})").status == 200);
  REQUIRE(h.update(R"({"state":{"desired":{"v":2}},"version":2.0})").status == 200);
  REQUIRE(h.record()->version == 3);
}

TEST_CASE("topics that are not shadow requests are ignored", "[hostile]") {
  Harness h;
  const std::string payload = R"({"state":{"reported":{"a":1}}})";
  const std::string ignored[] = {
      "$aws/things/dev1/shadow/update/foo",
      "$aws/things/dev1/shadow/update/",
      "$aws/things/dev1/shadow/update/accepted",
      "$aws/things/dev1/shadow/update/delta",
      "$aws/things/dev1/shadow/get/accepted",
      "$aws/things/dev1/shadow",
      "$aws/things/dev1/shadow/",
      "$aws/things/dev1/shadow/name/x/update/accepted",
      "$aws/things/dev1/shadow/name/x",
      "$aws/things/dev1/shadow/Update",
      "$aws/things/dev1/shadows/update",
      "$aws/thingz/dev1/shadow/update",
      "$AWS/things/dev1/shadow/update",
      "$aws/things/dev1",
      "$aws",
      "$foo/shadow/update",
      "$SYS/shadow/update",
      "",
      "/",
      "//////",
      "dev1/shadow/update/foo",
      "a/b/c/d/e/f/g/h/i/j",
  };
  for (const std::string& t : ignored) {
    INFO("topic '" << t << "'");
    REQUIRE(!h.mqtt(t, payload).has_value());
  }
  // A 1 MB topic of slashes or of one level: ignored or rejected, no crash.
  for (const std::string& t : {std::string(1 << 20, '/'), "$aws/things/" + std::string(1 << 20, 'x') + "/shadow/update"}) {
    auto r = h.mqtt(t, payload);
    if (r) REQUIRE(r->status == 400);
  }
  REQUIRE(h.store.size() == 0);
}

TEST_CASE("invalid thing and shadow names are rejected, not stored", "[hostile]") {
  const std::string payload = R"({"state":{"reported":{"a":1}}})";
  auto accepted = [&](const std::string& prefix) {
    Harness h;
    auto r = h.mqtt(prefix + "/update", payload);
    REQUIRE(r.has_value());
    INFO(r->body);
    REQUIRE(r->status == 200);
    REQUIRE(r->messages[0].topic == prefix + "/update/accepted");
    REQUIRE(h.store.size() == 1);
  };
  accepted("$aws/things/" + std::string(128, 't') + "/shadow");
  accepted("$aws/things/dev1/shadow/name/" + std::string(64, 's'));
  accepted("$aws/things/a:b_c-D9/shadow/name/$x:y_z-0");
  accepted("$aws/things/name/shadow");
  accepted("$aws/things/t/shadow/name/update");

  const std::string bad_prefixes[] = {
      "$aws/things/" + std::string(129, 't') + "/shadow",
      "$aws/things/dev1/shadow/name/" + std::string(65, 's'),
      "$aws/things/dev.1/shadow",
      "$aws/things/dev1/shadow/name/s.1",
      "$aws/things/d\xc3\xa9v/shadow",
      "$aws/things/dev1/shadow/name/\xe6\x97\xa5",
      "$aws/things/d\xffv/shadow",
      "$aws/things/dev 1/shadow",
      "$aws/things/dev+1/shadow",
      "$aws/things/dev#1/shadow",
      "$aws/things/de\x01v/shadow",
      std::string("$aws/things/de\0v/shadow", 23),
      "d.v/shadow",
      "$aws/things//shadow",
      "$aws/things/dev1/shadow/name/",
  };
  for (const std::string& prefix : bad_prefixes) {
    for (const char* op : {"update", "get", "delete"}) {
      INFO("prefix '" << prefix << "' op " << op);
      Harness h;
      auto r = h.mqtt(prefix + "/" + op, payload);
      if (r.has_value()) {  // answered: a 400 on the computed rejected topic
        INFO(r->body);
        REQUIRE(r->status == 400);
        REQUIRE(r->messages.size() == 1);
        REQUIRE(r->messages[0].topic == prefix + "/" + op + "/rejected");
        J err = parse_body(r->body);
        REQUIRE(err.get("code")->d == 400);
        REQUIRE(!err.get("message")->s.empty());
      }
      REQUIRE(h.store.size() == 0);
    }
  }
}

TEST_CASE("store write failures give 500 and store nothing", "[hostile]") {
  const std::string internal = shadow::messages::kInternal;
  {
    Harness h;  // creating a shadow
    h.store.fail_next_writes(1);
    J err = expect_rejected(h, R"({"state":{"reported":{"a":1}},"clientToken":"w1"})", 500, internal);
    REQUIRE(err.get("clientToken")->s == "w1");
    REQUIRE(h.store.size() == 0);
    REQUIRE(h.get().status == 404);
    // The next write succeeds and starts at version 1.
    REQUIRE(h.update(R"({"state":{"reported":{"a":1}}})").status == 200);
    REQUIRE(h.record()->version == 1);
  }
  {
    Harness h;  // updating an existing shadow
    h.seed();
    h.store.fail_next_writes(1);
    expect_rejected(h, R"({"state":{"desired":{"a":5}}})", 500, internal);
    J state = h.get_state();
    REQUIRE(state.get("desired")->get("a")->d == 1);
    auto r = h.update(R"({"state":{"desired":{"a":5}}})");
    REQUIRE(r.status == 200);
    REQUIRE(parse_body(r.body).get("version")->d == 2);
  }
  {
    Harness h;  // deleting
    h.seed();
    auto before = h.record();
    h.store.fail_next_writes(1);
    auto r = h.remove(R"({"clientToken":"d1"})");
    REQUIRE(r.status == 500);
    REQUIRE(r.messages.size() == 1);
    REQUIRE(r.messages[0].topic == kPrefix + "/delete/rejected");
    J err = parse_body(r.body);
    REQUIRE(err.get("message")->s == internal);
    REQUIRE(err.get("clientToken")->s == "d1");
    REQUIRE(same_record(before, h.record()));
    REQUIRE(h.get().status == 200);
  }
  {
    Harness h;  // several failures in a row: every one is a clean 500
    h.seed();
    auto before = h.record();
    h.store.fail_next_writes(3);
    for (int i = 0; i < 3; ++i) expect_rejected(h, R"({"state":{"desired":{"a":7}}})", 500, internal);
    REQUIRE(same_record(before, h.record()));
    REQUIRE(h.update(R"({"state":{"desired":{"a":7}}})").status == 200);
  }
}

TEST_CASE("REST requests take the same hostile-input paths", "[hostile]") {
  Harness h;
  h.seed();
  auto rest = [&](std::string_view body) {
    shadow::ServiceRequest req;
    req.channel = shadow::Channel::kRest;
    req.op = shadow::Operation::kUpdate;
    req.id = {"dev1", ""};
    req.payload = body;
    req.now = ++h.now;
    return h.service.handle(req);
  };
  struct Case { std::string body; int code; };
  const Case cases[] = {
      {R"({"state":{"desired":{"a":)" + deep_arrays(60000) + "}}}", 400},
      {std::string(100000, '['), 400},
      {"{\"state\":{\"reported\":{\"s\":\"\xff\"}}}", 415},
      {std::string(1 << 20, ' '), 413},
      {"", 400},
  };
  for (const Case& c : cases) {
    auto before = h.record();
    auto r = rest(c.body);
    INFO(r.body.substr(0, 200));
    REQUIRE(r.status == c.code);
    REQUIRE(r.messages.empty());  // REST errors publish nothing
    REQUIRE(parse_body(r.body).get("code")->d == c.code);
    REQUIRE(same_record(before, h.record()));
  }
}

TEST_CASE("ListNamedShadowsForThing with hostile parameters", "[hostile]") {
  Harness h;
  for (int i = 0; i < 5; ++i)
    REQUIRE(h.must("$aws/things/dev1/shadow/name/s" + std::to_string(i) + "/update", R"({"state":{}})").status == 200);
  auto list = [&](std::string_view thing, std::optional<std::string_view> page, std::optional<std::string_view> token) {
    auto r = h.service.list_named_shadows(thing, page, token, ++h.now);
    INFO("page " << (page ? std::string(page->substr(0, 40)) : "-") << " token "
                 << (token ? std::string(token->substr(0, 40)) : "-") << " -> " << r.body.substr(0, 200));
    REQUIRE(r.messages.empty());
    J body = parse_body(r.body);
    if (r.status == 200) REQUIRE(body.get("results"));
    else REQUIRE(body.get("code")->d == r.status);
    return r.status;
  };
  const std::string huge(1 << 20, '9');
  for (std::string_view p : std::initializer_list<std::string_view>{"0", "101", "-1", "abc", "", " 5", "5 ", "1e2", "0x10", "+5",
                             "99999999999999999999999", "18446744073709551617", "\xff", std::string_view(huge)}) {
    REQUIRE(list("dev1", p, std::nullopt) == 400);
  }
  REQUIRE(list("dev1", "1", std::nullopt) == 200);
  REQUIRE(list("dev1", "100", std::nullopt) == 200);
  REQUIRE(list("dev1", "007", std::nullopt) == 200);  // leading zeros: still 7
  const std::string huge_token(1 << 20, 'A');
  for (std::string_view t : std::initializer_list<std::string_view>{"!!!!", "\xff\xfe", "", "====", "%%", "a b", std::string_view(huge_token),
                             std::string_view("\0\0\0\0", 4)}) {
    REQUIRE(list("dev1", std::nullopt, t) == 400);
  }
  // Invalid thing names: 400, never a listing.
  for (std::string_view thing : std::initializer_list<std::string_view>{"", "dev.1", "d\xc3\xa9v", "a/b", std::string_view(huge)}) {
    REQUIRE(list(thing, std::nullopt, std::nullopt) == 400);
  }
  // A thing without shadows lists nothing.
  REQUIRE(list("nobody", std::nullopt, std::nullopt) == 200);
}
