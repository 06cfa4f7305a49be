// Runs the behaviour test vectors against the engine: worked cases of the
// MQTT and REST interface (docs/mqtt-api.md, docs/rest-api.md), each with
// its exact messages. Each vector is one fixture, tests/vectors/TV-NN.json; the runner seeds a MemoryStore with the
// fixture's records, feeds its steps to shadow::Service with the default
// Config, and compares every published message byte by byte.
//
// Fixture format
// --------------
// {
//   "id": "TV-01", "title": "...", "note": "why an expectation was chosen",
//   "times": {"T0": 1600000000, "TA": 1700000100},   // named timestamps
//   "initial": [ {"thing": "dev1", "shadow": "", "version": 1,
//                 "deleted": false, "deleted_at": 0, "document": {...}} ],
//   "steps": [ step, ... ]
// }
// A step has an optional "name", an optional "now" (integer, or the name of
// an entry of "times"; default 1700000000 + 1000 * step number) and exactly
// one action:
//   "mqtt":  {"topic": "...", payload}             + "expect": {"ignored"?, "status"?, "messages": [...]}
//   "rest":  {"op": "get|update|delete|list", "thing": "dev1", "shadow"?: "cfg",
//             payload?, "page_size"?: "..", "next_token"?: ".."}
//                                                  + "expect": {"status", "error_type"?, body, "messages": [...]}
//   "get":   {"thing": "dev1", "shadow"?: "cfg", "accepted" | "rejected": <JSON>}
//            (an MQTT get on the AWS topic form, empty payload, expecting that one reply)
//   "store": {"thing": "dev1", "shadow"?: "", "absent": true | "version": N, "deleted"?: bool, document?}
// An expected message is {"topic": "...", payload} or {"topics": [...], payload}
// (the same payload on each topic, in that order). A REST expectation may say
// "body_unchecked": true instead of giving a body, for error texts AWS
// leaves UNVERIFIED (status and error type are still checked).
//
// Contents (payload / body / document) are written as
//   "payload": <JSON value>   serialized compactly, keys in the order written;
//   "payload_raw": "text"     the exact bytes of the text;
//   "payload_hex": "7b22..."  raw bytes (e.g. invalid UTF-8).
// (likewise "body", "body_raw", "document", "document_raw".)
//
// Placeholders, substituted after serialization: "@T@" (the step's now),
// "@T0@" etc. (entries of "times") become the bare integer (the surrounding
// quotes are dropped); "@REP:text:N@" becomes text repeated N times. The same
// placeholders work inside raw texts. Every timestamp a request produces is
// therefore compared exactly against that request's now, and older ones
// against the stored values they must be copied from. "@NEXT@" is the
// opaque nextToken of the last list response (captured before the expected
// body is expanded, so "nextToken":"@NEXT@" checks its presence and position).

#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "shadow_core/errors.h"
#include "shadow_core/service.h"
#include "store/memory_store.h"

namespace {

using rapidjson::Value;
constexpr int kVectorCount = 40;
constexpr int64_t kDefaultNowBase = 1700000000;

std::string vectors_dir() { return std::string(SHADOW_TEST_DATA_DIR) + "/vectors"; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string compact(const Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::string get_string(const Value& obj, const char* key, const std::string& fallback = "") {
  if (!obj.IsObject() || !obj.HasMember(key)) return fallback;
  REQUIRE(obj[key].IsString());
  return obj[key].GetString();
}

// Placeholder substitution (see the header comment).
class Expander {
 public:
  explicit Expander(std::map<std::string, int64_t> times) : times_(std::move(times)) {}

  void set_now(int64_t now) { times_["T"] = now; }
  void set_capture(const std::string& name, std::string value) { captures_[name] = std::move(value); }
  int64_t time(const std::string& name) const {
    auto it = times_.find(name);
    INFO("unknown time name '" << name << "'");
    REQUIRE(it != times_.end());
    return it->second;
  }

  std::string expand(const std::string& in) const {
    std::string out;
    size_t i = 0;
    while (i < in.size()) {
      size_t at = in.find('@', i);
      if (at == std::string::npos) {
        out.append(in, i, std::string::npos);
        break;
      }
      size_t end = in.find('@', at + 1);
      INFO("unterminated placeholder in: " << in.substr(at, 40));
      REQUIRE(end != std::string::npos);
      out.append(in, i, at - i);
      const std::string token = in.substr(at + 1, end - at - 1);
      i = end + 1;
      if (token.rfind("REP:", 0) == 0) {
        const size_t colon = token.rfind(':');
        REQUIRE(colon > 3);
        const std::string text = token.substr(4, colon - 4);
        const int count = std::stoi(token.substr(colon + 1));
        for (int k = 0; k < count; ++k) out += text;
        continue;
      }
      if (auto c = captures_.find(token); c != captures_.end()) {
        out += c->second;
        continue;
      }
      const std::string number = std::to_string(time(token));
      // "@T@" written as a JSON string stands for the bare integer.
      if (!out.empty() && out.back() == '"' && i < in.size() && in[i] == '"') {
        out.pop_back();
        ++i;
      }
      out += number;
    }
    return out;
  }

 private:
  std::map<std::string, int64_t> times_;
  std::map<std::string, std::string> captures_;
};

// Reads a content written as `key` (JSON), `key_raw` (text) or `key_hex`.
std::optional<std::string> content(const Value& obj, const std::string& key, const Expander& ex) {
  if (!obj.IsObject()) return std::nullopt;
  const std::string raw = key + "_raw";
  const std::string hex = key + "_hex";
  if (obj.HasMember(key.c_str())) return ex.expand(compact(obj[key.c_str()]));
  if (obj.HasMember(raw.c_str())) {
    REQUIRE(obj[raw.c_str()].IsString());
    return ex.expand(obj[raw.c_str()].GetString());
  }
  if (obj.HasMember(hex.c_str())) {
    REQUIRE(obj[hex.c_str()].IsString());
    return from_hex(obj[hex.c_str()].GetString());
  }
  return std::nullopt;
}

std::string prefix_of(const std::string& thing, const std::string& shadow) {
  std::string p = "$aws/things/" + thing + "/shadow";
  if (!shadow.empty()) p += "/name/" + shadow;
  return p;
}

// Messages rendered as text so a mismatch prints both lists in full. Every
// response and event goes out at QoS 1 (docs/mqtt-api.md#delivery-and-order),
// so the QoS is part of it.
std::string render(const std::vector<shadow::OutMessage>& messages) {
  std::string out;
  for (const auto& m : messages) {
    out += m.topic + " qos=" + std::to_string(m.qos) + "\n    " + m.payload + "\n";
  }
  return out;
}

std::vector<shadow::OutMessage> expected_messages(const Value& expect, const Expander& ex) {
  std::vector<shadow::OutMessage> out;
  if (!expect.IsObject() || !expect.HasMember("messages")) return out;
  const Value& list = expect["messages"];
  REQUIRE(list.IsArray());
  for (const Value& m : list.GetArray()) {
    const std::string payload = content(m, "payload", ex).value_or("");
    if (m.HasMember("topics")) {
      for (const Value& t : m["topics"].GetArray()) out.push_back({t.GetString(), payload, 1});
    } else {
      out.push_back({get_string(m, "topic"), payload, 1});
    }
  }
  return out;
}

class VectorRunner {
 public:
  VectorRunner(const Value& fixture, Expander expander)
      : fixture_(fixture), ex_(std::move(expander)), service_(shadow::Config{}, store_) {}

  void run() {
    seed();
    const Value& steps = fixture_["steps"];
    REQUIRE(steps.IsArray());
    REQUIRE(steps.Size() > 0);
    int number = 0;
    for (const Value& step : steps.GetArray()) {
      ++number;
      INFO("step " << number << ": " << get_string(step, "name", "(unnamed)"));
      run_step(step, number);
    }
  }

 private:
  void seed() {
    if (!fixture_.HasMember("initial")) return;
    for (const Value& r : fixture_["initial"].GetArray()) {
      shadow::ShadowRecord record;
      record.version = r["version"].GetUint64();
      record.deleted = r.HasMember("deleted") && r["deleted"].GetBool();
      if (r.HasMember("deleted_at")) {
        const Value& at = r["deleted_at"];
        record.deleted_at = at.IsString() ? ex_.time(at.GetString()) : at.GetInt64();
      }
      record.document = content(r, "document", ex_).value_or("");
      const shadow::StoreKey key{get_string(r, "thing", "dev1"), get_string(r, "shadow")};
      REQUIRE(store_.compare_and_set(key, std::nullopt, record).is_ok());
    }
  }

  int64_t now_of(const Value& step, int number) const {
    if (!step.HasMember("now")) return kDefaultNowBase + 1000 * number;
    if (step["now"].IsString()) return ex_.time(step["now"].GetString());
    return step["now"].GetInt64();
  }

  void run_step(const Value& step, int number) {
    ex_.set_now(now_of(step, number));
    const int64_t now = now_of(step, number);
    const Value empty(rapidjson::kObjectType);
    const Value& expect = step.HasMember("expect") ? step["expect"] : empty;
    if (step.HasMember("mqtt")) {
      run_mqtt(step["mqtt"], expect, now);
    } else if (step.HasMember("rest")) {
      run_rest(step["rest"], expect, now);
    } else if (step.HasMember("get")) {
      run_get(step["get"], now);
    } else if (step.HasMember("store")) {
      check_store(step["store"]);
    } else {
      FAIL("step has no action (mqtt, rest, get or store)");
    }
  }

  void run_mqtt(const Value& req, const Value& expect, int64_t now) {
    const std::string topic = get_string(req, "topic");
    const std::string payload = content(req, "payload", ex_).value_or("");
    INFO("MQTT " << topic << "  " << payload.substr(0, 200));
    auto response = service_.handle_mqtt(topic, payload, now);
    if (expect.HasMember("ignored") && expect["ignored"].GetBool()) {
      CHECK_FALSE(response.has_value());
      return;
    }
    REQUIRE(response.has_value());
    if (expect.HasMember("status")) CHECK(response->status == expect["status"].GetInt());
    CHECK(render(response->messages) == render(expected_messages(expect, ex_)));
    // The service contract: the reply is messages[0] and its payload is the body.
    REQUIRE_FALSE(response->messages.empty());
    CHECK(response->body == response->messages[0].payload);
  }

  void run_rest(const Value& req, const Value& expect, int64_t now) {
    const std::string op = get_string(req, "op");
    const std::string thing = get_string(req, "thing", "dev1");
    const std::string body = content(req, "payload", ex_).value_or("");
    INFO("REST " << op << " " << thing << " " << get_string(req, "shadow") << "  "
                 << body.substr(0, 200));
    shadow::ServiceResponse response;
    if (op == "list") {
      std::optional<std::string> page_size, next_token;
      if (req.HasMember("page_size")) page_size = get_string(req, "page_size");
      if (req.HasMember("next_token")) next_token = ex_.expand(get_string(req, "next_token"));
      response = service_.list_named_shadows(thing, page_size, next_token, now);
      capture_next_token(response.body);
    } else {
      shadow::ServiceRequest request;
      request.channel = shadow::Channel::kRest;
      request.id = {thing, get_string(req, "shadow")};
      request.payload = body;
      request.now = now;
      if (op == "get") {
        request.op = shadow::Operation::kGet;
      } else if (op == "update") {
        request.op = shadow::Operation::kUpdate;
      } else if (op == "delete") {
        request.op = shadow::Operation::kDelete;
      } else {
        FAIL("unknown REST op " << op);
      }
      response = service_.handle(request);
    }
    REQUIRE(expect.HasMember("status"));
    CHECK(response.status == expect["status"].GetInt());
    if (expect.HasMember("error_type")) {
      CHECK(std::string(shadow::rest_error_type(response.status)) ==
            get_string(expect, "error_type"));
    }
    if (!(expect.HasMember("body_unchecked") && expect["body_unchecked"].GetBool())) {
      const auto expected_body = content(expect, "body", ex_);
      REQUIRE(expected_body.has_value());
      CHECK(response.body == *expected_body);
    }
    CHECK(render(response.messages) == render(expected_messages(expect, ex_)));
  }

  // Remembers the nextToken of a list response as @NEXT@ (empty when absent).
  void capture_next_token(const std::string& body) {
    rapidjson::Document doc;
    doc.Parse(body.c_str(), body.size());
    std::string token;
    if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("nextToken") &&
        doc["nextToken"].IsString()) {
      token = doc["nextToken"].GetString();
    }
    ex_.set_capture("NEXT", token);
  }

  void run_get(const Value& spec, int64_t now) {
    const std::string prefix = prefix_of(get_string(spec, "thing", "dev1"), get_string(spec, "shadow"));
    const bool accepted = spec.HasMember("accepted");
    const auto expected = content(spec, accepted ? "accepted" : "rejected", ex_);
    REQUIRE(expected.has_value());
    INFO("MQTT get on " << prefix);
    auto response = service_.handle_mqtt(prefix + "/get", "", now);
    REQUIRE(response.has_value());
    const std::vector<shadow::OutMessage> want{
        {prefix + (accepted ? "/get/accepted" : "/get/rejected"), *expected, 1}};
    CHECK(render(response->messages) == render(want));
  }

  void check_store(const Value& spec) {
    const shadow::StoreKey key{get_string(spec, "thing", "dev1"), get_string(spec, "shadow")};
    shadow::ShadowRecord record;
    const auto status = store_.get(key, &record);
    if (spec.HasMember("absent") && spec["absent"].GetBool()) {
      CHECK(status.code() == shadow::Status::Code::kNotFound);
      return;
    }
    REQUIRE(status.is_ok());
    if (spec.HasMember("version")) CHECK(record.version == spec["version"].GetUint64());
    CHECK(record.deleted == (spec.HasMember("deleted") && spec["deleted"].GetBool()));
    if (const auto doc = content(spec, "document", ex_)) CHECK(record.document == *doc);
  }

  const Value& fixture_;
  Expander ex_;
  shadow::MemoryStore store_;
  shadow::Service service_;
};

void run_vector(const std::string& path, const std::string& id) {
  INFO("fixture " << path);
  REQUIRE(std::filesystem::exists(path));
  const std::string text = read_file(path);
  rapidjson::Document fixture;
  fixture.Parse(text.c_str(), text.size());
  if (fixture.HasParseError()) {
    FAIL("JSON parse error code " << fixture.GetParseError() << " at offset "
                                  << fixture.GetErrorOffset());
  }
  REQUIRE(fixture.IsObject());
  REQUIRE(get_string(fixture, "id") == id);
  std::map<std::string, int64_t> times;
  if (fixture.HasMember("times")) {
    for (const auto& t : fixture["times"].GetObject()) {
      REQUIRE(std::string(t.name.GetString()) != "T");
      times[t.name.GetString()] = t.value.GetInt64();
    }
  }
  VectorRunner(fixture, Expander(std::move(times))).run();
}

}  // namespace

TEST_CASE("every behaviour test vector has a fixture", "[vectors]") {
  int fixtures = 0;
  for (const auto& entry : std::filesystem::directory_iterator(vectors_dir())) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("TV-", 0) == 0 && entry.path().extension() == ".json") ++fixtures;
  }
  CHECK(fixtures == kVectorCount);
}

TEST_CASE("behaviour test vectors (tests/vectors)", "[vectors]") {
  for (int n = 1; n <= kVectorCount; ++n) {
    char id[8];
    std::snprintf(id, sizeof id, "TV-%02d", n);
    DYNAMIC_SECTION(id) { run_vector(vectors_dir() + "/" + id + ".json", id); }
  }
}
