// Fleet search (plugin/fleet/search.h) over shadows written by the engine:
// result shape, paging, prefixes, statistics, and a property test that
// compares every answer with an independent model of the query semantics
// over random fleets and random queries.
//
// The property test is deterministic: round i uses seed kBaseSeed + i
// (SHADOW_PROPS_SEED overrides the base). A failure prints the seed, the
// query and the things on which the search and the model disagree.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <variant>

#include "plugin/fleet/search.h"
#include "shadow_core/json.h"
#include "shadow_core/service.h"
#include "store/memory_store.h"

using namespace shadow;
using namespace shadow::fleet;

namespace {

void update(Service& service, const std::string& thing, const std::string& doc, const std::string& shadow = "") {
  std::string topic = "$aws/things/" + thing + "/shadow/" + (shadow.empty() ? "" : "name/" + shadow + "/") + "update";
  auto r = service.handle_mqtt(topic, doc, 1700000000);
  REQUIRE(r.has_value());
  INFO(r->body);
  REQUIRE(r->ok());
}

std::vector<std::string> names(const SearchPage& page) {
  std::vector<std::string> out;
  for (const SearchHit& h : page.things) out.push_back(h.thing);
  return out;
}

SearchPage search(FleetSearch& s, const std::string& query, const std::string& after = "", size_t max = 100) {
  auto q = Query::parse(query);
  INFO(query << ": " << q.status().message());
  REQUIRE(q.ok());
  SearchPage page;
  Status st = s.search(*q, after, max, &page);
  REQUIRE(st.is_ok());
  return page;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("fleet search: results, the shadow member, named shadows, paging", "[fleet][search]") {
  MemoryStore store;
  Service service(Config{}, store);
  update(service, "boiler-1", R"({"state":{"desired":{"temp":70},"reported":{"temp":97}}})");
  update(service, "boiler-2", R"({"state":{"reported":{"temp":50}}})");
  update(service, "boiler-2", R"({"state":{"reported":{"interval":5}}})", "cfg");
  update(service, "heater-1", R"({"state":{"reported":{"temp":99}}})");
  update(service, "only-named", R"({"state":{"reported":{"interval":7}}})", "cfg");
  FleetSearch s(store, nullptr);

  SearchPage all = search(s, "*");
  CHECK(names(all) == Names{"boiler-1", "boiler-2", "heater-1", "only-named"});
  CHECK_FALSE(all.next_after);
  // The classic shadow as AWS shows it: desired, reported, delta, metadata, hasDelta, version.
  json::Document doc;
  REQUIRE(json::parse(all.things[0].shadow, &doc));
  CHECK(doc["desired"]["temp"].GetDouble() == 70);
  CHECK(doc["reported"]["temp"].GetDouble() == 97);
  CHECK(doc["delta"]["temp"].GetDouble() == 70);
  CHECK(doc["hasDelta"].IsTrue());
  CHECK(doc["version"].GetDouble() == 1);
  CHECK(doc["metadata"]["reported"]["temp"]["timestamp"].GetDouble() == 1700000000);
  CHECK_FALSE(doc.HasMember("name"));
  // A thing without a classic shadow (and no named shadow in the query) has no shadow member.
  CHECK(all.things[3].shadow.empty());

  // Named shadows appear where the query names them.
  SearchPage named = search(s, "shadow.name.cfg.reported.interval:[1 TO 10]");
  CHECK(names(named) == Names{"boiler-2", "only-named"});
  REQUIRE(json::parse(named.things[0].shadow, &doc));
  CHECK(doc["reported"]["temp"].GetDouble() == 50);
  CHECK(doc["name"]["cfg"]["reported"]["interval"].GetDouble() == 5);
  CHECK(doc["name"]["cfg"]["hasDelta"].IsFalse());
  REQUIRE(json::parse(named.things[1].shadow, &doc));
  CHECK_FALSE(doc.HasMember("reported"));
  CHECK(doc["name"]["cfg"]["version"].GetDouble() == 1);

  // Pages: the token is the last thing; the last page has none.
  SearchPage p1 = search(s, "*", "", 2);
  CHECK(names(p1) == Names{"boiler-1", "boiler-2"});
  REQUIRE(p1.next_after);
  SearchPage p2 = search(s, "*", *p1.next_after, 2);
  CHECK(names(p2) == Names{"heater-1", "only-named"});
  CHECK_FALSE(p2.next_after);  // the look-ahead found no further match
  SearchPage exact = search(s, "shadow.reported.temp > 60", "", 2);
  CHECK(names(exact) == Names{"boiler-1", "heater-1"});
  CHECK_FALSE(exact.next_after);

  // A thingName prefix reads only its range.
  SearchPage boilers = search(s, "thingName:boiler* AND shadow.reported.temp > 0");
  CHECK(names(boilers) == Names{"boiler-1", "boiler-2"});
  CHECK(boilers.things_read == 2);
}

namespace {

class FakeConnectivity final : public ConnectivitySource {
 public:
  std::optional<Connectivity> connectivity(std::string_view thing) override {
    if (thing == "online") return Connectivity{true, 1700000000123, ""};
    if (thing == "offline") return Connectivity{false, 1700000000456, "CONNECTION_LOST"};
    return std::nullopt;
  }
};

}  // namespace

TEST_CASE("fleet search: connectivity from a ConnectivitySource", "[fleet][search]") {
  MemoryStore store;
  Service service(Config{}, store);
  for (const char* t : {"online", "offline", "never-seen"}) update(service, t, R"({"state":{"reported":{"x":1}}})");
  FakeConnectivity presence;
  FleetSearch s(store, &presence);
  CHECK(names(search(s, "connectivity.connected:true")) == Names{"online"});
  CHECK(names(search(s, "connectivity.connected:false")) == Names{"offline"});
  CHECK(names(search(s, "NOT connectivity.connected:*")) == Names{"never-seen"});
  CHECK(names(search(s, "connectivity.disconnectReason:connection_lost")) == Names{"offline"});
  SearchPage all = search(s, "*");
  REQUIRE(all.things.size() == 3);
  REQUIRE(all.things[2].connectivity);  // "online" (never-seen, offline, online)
  CHECK(all.things[2].connectivity->timestamp_ms == 1700000000123);
  CHECK_FALSE(all.things[0].connectivity);  // "never-seen"
  // Without a source the fields are absent everywhere.
  FleetSearch bare(store, nullptr);
  CHECK(names(search(bare, "connectivity.connected:true")).empty());
  CHECK(names(search(bare, "connectivity.connected:false")).empty());
  CHECK(names(search(bare, "NOT connectivity.connected:true")).size() == 3);
}

TEST_CASE("fleet search: statistics", "[fleet][search]") {
  MemoryStore store;
  Service service(Config{}, store);
  update(service, "a", R"({"state":{"reported":{"temp":10,"mode":"eco"}}})");
  update(service, "b", R"({"state":{"reported":{"temp":20,"mode":"boost"}}})");
  update(service, "c", R"({"state":{"reported":{"temp":30.5}}})");
  update(service, "d", R"({"state":{"reported":{"other":1}}})");
  FleetSearch s(store, nullptr);
  auto stats = [&](const std::string& q, std::optional<std::string> field) {
    auto query = Query::parse(q);
    REQUIRE(query.ok());
    std::optional<Field> f;
    std::string why;
    if (field) f = parse_field(*field, &why);
    Statistics out;
    REQUIRE(s.statistics(*query, f ? &*f : nullptr, &out).is_ok());
    return out;
  };
  Statistics all = stats("*", std::nullopt);
  CHECK(all.count == 4);
  CHECK(all.numbers == 0);
  Statistics temp = stats("*", "shadow.reported.temp");
  CHECK(temp.count == 3);
  CHECK(temp.numbers == 3);
  CHECK(temp.sum == Approx(60.5));
  CHECK(temp.minimum == 10);
  CHECK(temp.maximum == 30.5);
  CHECK(temp.sum_of_squares == Approx(100 + 400 + 930.25));
  Statistics strings = stats("*", "shadow.reported.mode");
  CHECK(strings.count == 2);
  CHECK(strings.numbers == 0);
  CHECK(stats("shadow.reported.temp >= 20", "shadow.version").numbers == 2);
}

// --- property test ---------------------------------------------------------

namespace {

constexpr uint64_t kBaseSeed = 0xf1ee7;

uint64_t base_seed() {
  if (const char* s = std::getenv("SHADOW_PROPS_SEED")) return std::strtoull(s, nullptr, 0);
  return kBaseSeed;
}

// The model's view of a value: what the generator wrote, not what was parsed.
using Value = std::variant<long, std::string, bool, std::vector<std::string>>;
using Section = std::map<std::string, Value>;

struct ModelThing {
  std::string name;
  bool classic = false;
  Section desired, reported;
  std::optional<long> cfg_interval;  // the named shadow "cfg", when present
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> words_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool has_delta(const ModelThing& t) {
  for (const auto& [k, v] : t.desired) {
    auto r = t.reported.find(k);
    if (r == t.reported.end() || r->second != v) return true;
  }
  return false;
}

std::string json_of(const Value& v) {
  if (auto* n = std::get_if<long>(&v)) return std::to_string(*n);
  if (auto* s = std::get_if<std::string>(&v)) return "\"" + *s + "\"";
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  std::string out = "[";
  for (const std::string& s : std::get<std::vector<std::string>>(v)) out += (out.size() > 1 ? ",\"" : "\"") + s + "\"";
  return out + "]";
}

std::string json_of(const Section& s) {
  std::string out = "{";
  for (const auto& [k, v] : s) out += (out.size() > 1 ? ",\"" : "\"") + k + "\":" + json_of(v);
  return out + "}";
}

struct Generated {
  std::string text;
  std::function<bool(const ModelThing&)> holds;
};

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  long num() { return std::uniform_int_distribution<long>(0, 20)(rng_); }
  std::string mode() {
    static const char* kModes[] = {"eco", "boost", "eco plus", "off"};
    return kModes[pick(4)];
  }
  std::string tag() {
    static const char* kTags[] = {"red", "green", "blue"};
    return kTags[pick(3)];
  }
  std::string cased(std::string s) {
    for (char& c : s)
      if (pick(3) == 0) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }

  Section section() {
    Section s;
    if (pick(3)) s["temp"] = num();
    if (pick(2)) s["mode"] = mode();
    if (pick(2)) s["on"] = pick(2) == 0;
    if (pick(3) == 0) {
      std::vector<std::string> tags;
      for (int i = pick(3); i >= 0; --i) tags.push_back(tag());
      s["tags"] = tags;
    }
    return s;
  }

  ModelThing thing(int i) {
    ModelThing t;
    static const char* kLines[] = {"line-1-", "line-12-", "line-2-", "pump-"};
    t.name = std::string(kLines[pick(4)]) + std::to_string(i);
    t.classic = pick(6) != 0;
    if (t.classic) {
      t.reported = section();
      t.desired = pick(2) ? section() : Section{};
      if (t.reported.empty() && t.desired.empty()) t.reported["temp"] = num();
    }
    if (pick(3) == 0 || !t.classic) t.cfg_interval = num();
    return t;
  }

  Generated atom() {
    long n = num(), m = num();
    switch (pick(13)) {
      case 0: {
        static const char* kPrefixes[] = {"line-1", "line-12", "line-", "pump", "l"};
        std::string p = kPrefixes[pick(5)];
        return {"thingName:" + p + "*", [p](const ModelThing& t) { return t.name.starts_with(p); }};
      }
      case 1: {
        std::string name = "line-1-" + std::to_string(pick(40));
        return {"thingName:" + name, [name](const ModelThing& t) { return t.name == name; }};
      }
      case 2:
        return {"shadow.reported.temp:" + std::to_string(n), [n](const ModelThing& t) {
                  auto it = t.reported.find("temp");
                  return it != t.reported.end() && std::get<long>(it->second) == n;
                }};
      case 3: {
        static const char* kOps[] = {"<", "<=", ">", ">="};
        int op = pick(4);
        return {std::string("shadow.reported.temp ") + kOps[op] + " " + std::to_string(n), [n, op](const ModelThing& t) {
                  auto it = t.reported.find("temp");
                  if (it == t.reported.end()) return false;
                  long v = std::get<long>(it->second);
                  return op == 0 ? v < n : op == 1 ? v <= n : op == 2 ? v > n : v >= n;
                }};
      }
      case 4: {
        long lo = std::min(n, m), hi = std::max(n, m);
        bool lo_in = pick(2), hi_in = pick(2), open_hi = pick(4) == 0;
        std::string text = std::string("shadow.desired.temp:") + (lo_in ? "[" : "{") + std::to_string(lo) + " TO " +
                           (open_hi ? "*" : std::to_string(hi)) + (hi_in ? "]" : "}");
        return {text, [=](const ModelThing& t) {
                  auto it = t.desired.find("temp");
                  if (it == t.desired.end()) return false;
                  long v = std::get<long>(it->second);
                  bool above = lo_in ? v >= lo : v > lo;
                  bool below = open_hi || (hi_in ? v <= hi : v < hi);
                  return above && below;
                }};
      }
      case 5: {
        static const char* kWords[] = {"eco", "boost", "plus", "off"};
        std::string w = kWords[pick(4)];
        return {"shadow.reported.mode:" + cased(w), [w](const ModelThing& t) {
                  auto it = t.reported.find("mode");
                  if (it == t.reported.end()) return false;
                  std::string v = lower(std::get<std::string>(it->second));
                  if (v == w) return true;
                  for (const std::string& x : words_of(v))
                    if (x == w) return true;
                  return false;
                }};
      }
      case 6:
        return {"shadow.desired.mode:*", [](const ModelThing& t) { return t.desired.count("mode") > 0; }};
      case 7: {
        bool b = pick(2);
        return {std::string("shadow.reported.on:") + (b ? "true" : "false"), [b](const ModelThing& t) {
                  auto it = t.reported.find("on");
                  return it != t.reported.end() && std::get<bool>(it->second) == b;
                }};
      }
      case 8: {
        std::string g = tag();
        return {"shadow.reported.tags:" + cased(g), [g](const ModelThing& t) {
                  auto it = t.reported.find("tags");
                  if (it == t.reported.end()) return false;
                  const auto& v = std::get<std::vector<std::string>>(it->second);
                  return std::find(v.begin(), v.end(), g) != v.end();
                }};
      }
      case 9: {
        bool b = pick(2);
        return {std::string("shadow.hasDelta:") + (b ? "true" : "false"),
                [b](const ModelThing& t) { return t.classic && has_delta(t) == b; }};
      }
      case 10:
        return {"shadow.name.cfg.reported.interval > " + std::to_string(n),
                [n](const ModelThing& t) { return t.cfg_interval && *t.cfg_interval > n; }};
      case 11:
        return {"shadow.reported.mode:eco*",
                [](const ModelThing& t) {
                  auto it = t.reported.find("mode");
                  return it != t.reported.end() && lower(std::get<std::string>(it->second)).starts_with("eco");
                }};
      default:
        return {"shadow.delta.temp:*", [](const ModelThing& t) {
                  auto d = t.desired.find("temp");
                  if (d == t.desired.end()) return false;
                  auto r = t.reported.find("temp");
                  return r == t.reported.end() || r->second != d->second;
                }};
    }
  }

  Generated query(int depth) {
    if (depth >= 3 || pick(3) == 0) {
      Generated a = atom();
      if (pick(6) == 0) return {"NOT " + a.text, [h = a.holds](const ModelThing& t) { return !h(t); }};
      if (pick(8) == 0) return {"-" + a.text, [h = a.holds](const ModelThing& t) { return !h(t); }};
      return a;
    }
    Generated l = query(depth + 1), r = query(depth + 1);
    switch (pick(3)) {
      case 0:
        return {"(" + l.text + " AND " + r.text + ")",
                [a = l.holds, b = r.holds](const ModelThing& t) { return a(t) && b(t); }};
      case 1:
        return {"(" + l.text + " " + r.text + ")",  // the default operator
                [a = l.holds, b = r.holds](const ModelThing& t) { return a(t) && b(t); }};
      default:
        return {"(" + l.text + " OR " + r.text + ")",
                [a = l.holds, b = r.holds](const ModelThing& t) { return a(t) || b(t); }};
    }
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace

TEST_CASE("fleet search: same answers as an independent model (property test)", "[fleet][search][property]") {
  constexpr int kRounds = 12;
  constexpr int kThings = 120;
  constexpr int kQueries = 60;
  for (int round = 0; round < kRounds; ++round) {
    const uint64_t seed = base_seed() + round;
    Gen gen(seed);
    MemoryStore store;
    Service service(Config{}, store);
    std::vector<ModelThing> fleet;
    std::set<std::string> seen;
    for (int i = 0; i < kThings; ++i) {
      ModelThing t = gen.thing(i);
      if (!seen.insert(t.name).second) continue;
      if (t.classic) {
        std::string state = "{";
        if (!t.desired.empty()) state += "\"desired\":" + json_of(t.desired);
        if (!t.reported.empty()) state += std::string(state.size() > 1 ? "," : "") + "\"reported\":" + json_of(t.reported);
        update(service, t.name, "{\"state\":" + state + "}}");
      }
      if (t.cfg_interval)
        update(service, t.name, "{\"state\":{\"reported\":{\"interval\":" + std::to_string(*t.cfg_interval) + "}}}", "cfg");
      fleet.push_back(std::move(t));
    }
    std::sort(fleet.begin(), fleet.end(), [](const ModelThing& a, const ModelThing& b) { return a.name < b.name; });
    FleetSearch fleet_search(store, nullptr);
    int non_empty = 0;
    for (int qi = 0; qi < kQueries; ++qi) {
      Generated g = gen.query(0);
      std::vector<std::string> expected;
      for (const ModelThing& t : fleet)
        if (g.holds(t)) expected.push_back(t.name);
      // Read every page of a random size.
      size_t page_size = static_cast<size_t>(1 + gen.pick(40));
      std::vector<std::string> got;
      std::string after;
      for (int pages = 0; pages < 200; ++pages) {
        SearchPage page = search(fleet_search, g.text, after, page_size);
        for (const SearchHit& h : page.things) got.push_back(h.thing);
        if (!page.next_after) break;
        after = *page.next_after;
      }
      INFO("seed " << seed << ", query: " << g.text << ", page size " << page_size);
      CHECK(got == expected);
      non_empty += !expected.empty();
    }
    // The generator must produce queries that select something.
    INFO("seed " << seed);
    CHECK(non_empty > kQueries / 4);
  }
}
