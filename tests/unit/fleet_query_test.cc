// The fleet query language (plugin/fleet/query): parsing, every kind of
// clause on hand-written things, the planning hints, and errors that name
// the offending token and its position.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>

#include "plugin/fleet/query/query.h"

using namespace shadow;
using namespace shadow::fleet;

namespace {

// A thing made of JSON texts: {"desired":...,"reported":...,"delta":...,
// "metadata":...,"version":N} per shadow ("" = classic).
class JsonThing final : public ThingView {
 public:
  JsonThing(std::string name, std::map<std::string, std::string> shadows) : name_(std::move(name)) {
    for (auto& [shadow, text] : shadows) {
      auto& doc = docs_[shadow];
      doc = std::make_unique<rapidjson::Document>();
      doc->Parse(text.c_str());
      REQUIRE_FALSE(doc->HasParseError());
      ShadowFields f;
      auto get = [&](const char* k) -> const rapidjson::Value* {
        auto m = doc->FindMember(k);
        return m == doc->MemberEnd() ? nullptr : &m->value;
      };
      f.desired = get("desired");
      f.reported = get("reported");
      f.delta = get("delta");
      f.metadata = get("metadata");
      if (auto* v = get("version")) f.version = v->GetUint64();
      fields_[shadow] = f;
    }
  }
  std::string_view name() const override { return name_; }
  const ShadowFields* shadow(std::string_view s) override {
    auto it = fields_.find(std::string(s));
    return it == fields_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> named_shadows() override {
    std::vector<std::string> out;
    for (auto& [s, f] : fields_)
      if (!s.empty()) out.push_back(s);
    return out;
  }
  const Connectivity* connectivity() override { return connectivity_ ? &*connectivity_ : nullptr; }
  std::optional<Connectivity> connectivity_;

 private:
  std::string name_;
  std::map<std::string, std::unique_ptr<rapidjson::Document>> docs_;
  std::map<std::string, ShadowFields> fields_;
};

bool match(const std::string& query, ThingView& thing) {
  auto q = Query::parse(query);
  INFO(query << " -> " << q.status().message());
  REQUIRE(q.ok());
  return q->matches(thing);
}

std::string error_of(const std::string& query) {
  auto q = Query::parse(query);
  REQUIRE_FALSE(q.ok());
  CHECK(q.status().code() == Status::Code::kInvalidArgument);
  return q.status().message();
}

JsonThing boiler() {
  return JsonThing("line-7-boiler-42",
                   {{"", R"({"desired":{"temp":70,"mode":"Eco Plus","on":true},
                             "reported":{"temp":97.5,"mode":"eco","on":true,"myvalues":[1,2,3],
                                         "stats":{"battery":78},"colors":["RED","Green"],
                                         "palette":[{"name":"red"}],"gone":null,"fw":"v1.2.3"},
                             "delta":{"temp":70,"mode":"Eco Plus"},
                             "metadata":{"reported":{"temp":{"timestamp":1700000000}}},
                             "version":12})"},
                    {"config", R"({"reported":{"interval":30,"dotted.key":"yes"},"version":3})"}});
}

}  // namespace

TEST_CASE("fleet query: thingName terms, wildcards, case and ranges", "[fleet][query]") {
  JsonThing t = boiler();
  CHECK(match("thingName:line-7-boiler-42", t));
  CHECK(match("thingName:line-7*", t));
  CHECK(match("thingName:line-?-boiler-*", t));
  CHECK(match("thingName:*boiler*", t));
  CHECK_FALSE(match("thingName:line-8*", t));
  CHECK_FALSE(match("thingName:LINE-7*", t));  // thing names are case-sensitive
  CHECK_FALSE(match("thingName:line-7", t));   // a whole name, not a word of it
  CHECK(match("thingName:line-7\\*", t) == false);  // an escaped * is a literal star
  CHECK(match("thingName:[line-7 TO line-8]", t));
  CHECK_FALSE(match("thingName:{line-7-boiler-42 TO line-8]", t));
  CHECK(match("thingName:\"line-7-boiler-42\"", t));
  CHECK(match("thingName:*", t));
  CHECK(match("*", t));
}

TEST_CASE("fleet query: state values by type", "[fleet][query]") {
  JsonThing t = boiler();
  // Numbers: by value, comparisons, ranges with open and exclusive ends.
  CHECK(match("shadow.reported.temp:97.5", t));
  CHECK(match("shadow.reported.temp > 95", t));
  CHECK(match("shadow.reported.temp>=97.5", t));
  CHECK_FALSE(match("shadow.reported.temp < 97.5", t));
  CHECK(match("shadow.reported.temp:[95 TO 100]", t));
  CHECK(match("shadow.reported.temp:{97.5 TO *]", t) == false);
  CHECK(match("shadow.reported.temp:[97.5 TO *]", t));
  CHECK(match("shadow.reported.temp:[* TO 98}", t));
  CHECK(match("shadow.reported.temp:>90", t));
  CHECK_FALSE(match("shadow.reported.temp:97", t));
  // Strings: case-insensitive, whole value or one word, wildcards, phrases.
  CHECK(match("shadow.reported.mode:ECO", t));
  CHECK(match("shadow.desired.mode:plus", t));
  CHECK(match("shadow.desired.mode:\"eco plus\"", t));
  CHECK(match("shadow.desired.mode:pl*", t));
  CHECK_FALSE(match("shadow.desired.mode:\"plus eco\"", t));
  CHECK(match("shadow.reported.fw:v1.2.3", t));
  CHECK(match("shadow.reported.fw:[v1.0 TO v1.3]", t));
  CHECK(match("shadow.reported.fw > v1.2", t));
  // Booleans, arrays of scalars, nested objects; arrays of objects and nulls are not values.
  CHECK(match("shadow.reported.on:true", t));
  CHECK_FALSE(match("shadow.reported.on:false", t));
  CHECK(match("shadow.reported.myvalues:2", t));
  CHECK(match("shadow.reported.myvalues > 2", t));
  CHECK_FALSE(match("shadow.reported.myvalues:4", t));
  CHECK(match("shadow.reported.colors:green", t));
  CHECK(match("shadow.reported.stats.battery:[70 TO 100]", t));
  CHECK_FALSE(match("shadow.reported.palette.name:red", t));
  CHECK_FALSE(match("shadow.reported.palette:*", t) == false);  // exists, though not searchable by value
  CHECK_FALSE(match("shadow.reported.gone:*", t));
  CHECK(match("shadow.reported.stats:*", t));
  CHECK_FALSE(match("shadow.reported.nothing:*", t));
  CHECK(match("NOT shadow.reported.nothing:*", t));
  // Numbers never match strings and the other way round.
  CHECK_FALSE(match("shadow.reported.mode > 5", t));
  CHECK_FALSE(match("shadow.reported.temp:eco", t));
}

TEST_CASE("fleet query: delta, metadata, version, named shadows", "[fleet][query]") {
  JsonThing t = boiler();
  CHECK(match("shadow.hasDelta:true", t));
  CHECK_FALSE(match("shadow.hasDelta:false", t));
  CHECK(match("shadow.delta.temp:70", t));
  CHECK(match("shadow.metadata.reported.temp.timestamp >= 1700000000", t));
  CHECK(match("shadow.version:12", t));
  CHECK(match("shadow.version:[10 TO 20]", t));
  CHECK(match("shadow.name.config.reported.interval:30", t));
  CHECK(match("shadow.name.config.hasDelta:false", t));
  CHECK(match("shadow.name.config.version < 4", t));
  CHECK(match("shadow.name.config.reported.dotted.key:yes", t));  // a member named "dotted.key"
  CHECK_FALSE(match("shadow.name.other.reported.interval:*", t));
  CHECK(match("NOT shadow.name.other.hasDelta:true", t));
}

TEST_CASE("fleet query: terms without a field search the name and every state value", "[fleet][query]") {
  JsonThing t = boiler();
  CHECK(match("eco", t));
  CHECK(match("30", t));  // the named shadow's reported.interval
  CHECK(match("line-7-BOILER-42", t));
  CHECK_FALSE(match("kitchen", t));
}

TEST_CASE("fleet query: connectivity only when the presence feature provides it", "[fleet][query]") {
  JsonThing t = boiler();
  CHECK_FALSE(match("connectivity.connected:true", t));
  CHECK_FALSE(match("connectivity.connected:false", t));
  CHECK_FALSE(match("connectivity.connected:*", t));
  t.connectivity_ = Connectivity{false, 1557651600500, "CLIENT_INITIATED_DISCONNECT"};
  CHECK(match("connectivity.connected:false", t));
  CHECK(match("connectivity.timestamp:[1557651600000 TO 1557867600000]", t));
  CHECK(match("connectivity.disconnectReason:client_initiated_disconnect", t));
}

TEST_CASE("fleet query: boolean operators, precedence, grouping", "[fleet][query]") {
  JsonThing t = boiler();
  CHECK(match("shadow.reported.temp > 95 AND thingName:line-7*", t));
  CHECK(match("shadow.reported.temp > 95 thingName:line-7*", t));  // implicit AND
  CHECK_FALSE(match("shadow.reported.temp > 95 AND thingName:line-8*", t));
  CHECK(match("thingName:line-8* OR shadow.reported.mode:eco", t));
  CHECK(match("NOT thingName:line-8*", t));
  CHECK(match("-thingName:line-8*", t));
  CHECK_FALSE(match("-thingName:line-7*", t));
  // NOT binds tighter than AND, AND tighter than OR.
  CHECK(match("thingName:x* AND shadow.reported.on:false OR shadow.reported.on:true", t));
  CHECK_FALSE(match("thingName:x* AND (shadow.reported.on:false OR shadow.reported.on:true)", t));
  CHECK(match("NOT thingName:x* AND shadow.reported.on:true", t));
  CHECK(match("shadow.reported.on:true NOT shadow.reported.mode:gas", t));
  // A field group: its terms belong to the field.
  CHECK(match("thingName:(line-7* AND -*heater*)", t));
  CHECK_FALSE(match("thingName:(line-7* AND -*boiler*)", t));
  CHECK(match("shadow.reported.mode:(gas OR eco)", t));
  // A '-' inside a value is part of it.
  CHECK(match("shadow.reported.temp > -5", t));
}

TEST_CASE("fleet query: planning hints", "[fleet][query]") {
  auto q = Query::parse("shadow.reported.temp > 95 AND thingName:line-7*");
  REQUIRE(q.ok());
  CHECK(q->thing_prefix() == "line-7");
  CHECK(q->needs_shadows());
  CHECK_FALSE(q->needs_delta());
  CHECK(Query::parse("thingName:line-7*")->thing_prefix() == "line-7");
  CHECK(Query::parse("thingName:abc")->thing_prefix() == "abc");
  CHECK_FALSE(Query::parse("thingName:abc")->needs_shadows());
  CHECK(Query::parse("thingName:a* OR thingName:b*")->thing_prefix().empty());
  CHECK(Query::parse("NOT thingName:a*")->thing_prefix().empty());
  CHECK(Query::parse("thingName:*x")->thing_prefix().empty());
  CHECK(Query::parse("shadow.hasDelta:true")->needs_delta());
  CHECK(Query::parse("shadow.metadata.reported.x.timestamp > 5")->needs_metadata());
  CHECK(Query::parse("hello")->needs_all_shadows());
  auto named = Query::parse("shadow.name.b.reported.x:1 OR shadow.name.a.desired.y:2 OR shadow.name.b.hasDelta:true");
  REQUIRE(named.ok());
  CHECK(named->named_shadows() == std::vector<std::string>{"b", "a"});
}

TEST_CASE("fleet query: syntax errors name the token and its position", "[fleet][query]") {
  CHECK(error_of("thingName:a AND") == "syntax error at position 16 near the end of the query: a term must follow 'AND'");
  CHECK(error_of("(thingName:a") == "syntax error at position 13 near the end of the query: expected ')' to close the '(' at position 1");
  CHECK(error_of("thingName:a)") == "syntax error at position 12 near ')': this ')' closes no '('");
  CHECK(error_of("shadow.reported.temp:[1 TO]") == "syntax error at position 27 near ']': expected a number or a string");
  CHECK(error_of("shadow.reported.temp:[1 2]") == "syntax error at position 25 near '2': expected 'TO' in the range at position 22");
  CHECK(error_of("shadow.reported.temp:[1 TO b]") == "syntax error at position 22 near '[': a range compares numbers or strings, not both");
  CHECK(error_of("thingName:") == "syntax error at position 11 near the end of the query: expected a value after 'thingName:'");
  CHECK(error_of("thingName:\"abc") == "unterminated phrase: the double quote at position 11 has no closing quote");
  CHECK(error_of("thingName:a@b") == "the character '@' at position 12 is not allowed in a query; put the value in double quotes");
  CHECK(error_of("thingName:a\\") == "the backslash at position 12 escapes nothing (end of the query)");
  CHECK(error_of("OR thingName:a") == "syntax error at position 1 near 'OR': expected a term, a field or '('");
  CHECK(error_of("") == "the query is empty; use * to match every thing");
  CHECK(error_of("   ") == "the query is empty; use * to match every thing");
  CHECK(error_of("shadow.reported.t*mp:1") == "syntax error at position 1 near 'shadow.reported.t*mp': a field name cannot contain wildcards");
  CHECK(error_of(std::string(Query::kMaxLength + 1, 'a')).find("at most 4096") != std::string::npos);
  CHECK(error_of(std::string(40, '(') + "a" + std::string(40, ')')).find("nests deeper than 32") != std::string::npos);
  CHECK(error_of(std::string(40 * 4, ' ').replace(0, 160, [] {
          std::string s;
          for (int i = 0; i < 40; ++i) s += "NOT ";
          return s;
        }()) + "a").find("nests deeper") != std::string::npos);
}

TEST_CASE("fleet query: fields without a registry are clear errors", "[fleet][query]") {
  CHECK(error_of("attributes.model:legacy") ==
        "field 'attributes.model' is not available: mosquitto-shadow has no thing registry (attributes, thing types, "
        "thing groups, thing ids); search thingName, shadow.* and connectivity.* fields (position 1)");
  CHECK(error_of("thingName:a AND thingTypeName:bulb").find("(position 17)") != std::string::npos);
  CHECK(error_of("thingGroupNames:a*").find("no thing registry") != std::string::npos);
  CHECK(error_of("thingId:abc").find("no thing registry") != std::string::npos);
  CHECK(error_of("deviceDefender.x:1").find("Device Defender") != std::string::npos);
  CHECK(error_of("shadow.foo:1").find("not a shadow field") != std::string::npos);
  CHECK(error_of("shadow.name.cfg:1").find("names a shadow but no part of it") != std::string::npos);
  CHECK(error_of("shadow.hasDelta.x:1").find("has no members") != std::string::npos);
  CHECK(error_of("connectivity.version:1").find("connectivity.connected") != std::string::npos);
  CHECK(error_of("temp > 5").find("unknown field 'temp'") != std::string::npos);
}
