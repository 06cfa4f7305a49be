#include <catch2/catch.hpp>

#include <string>

#include "shadow_core/json.h"

using namespace shadow;

TEST_CASE("UTF-8 validation rejects every malformed form", "[json]") {
  CHECK(json::is_valid_utf8("plain"));
  CHECK(json::is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK(json::is_valid_utf8(std::string("a\0b", 3)));
  for (std::string bad : {std::string("\xff"), std::string("\xc0\xaf"), std::string("\xe0\x80\xaf"),
                          std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"), std::string("\xc3"),
                          std::string("\xe2\x82"), std::string("\x80")}) {
    CHECK_FALSE(json::is_valid_utf8(bad));
  }
}

TEST_CASE("parsing is safe for deep input and strict about numbers", "[json]") {
  json::Document d;
  std::string deep(200000, '[');
  CHECK_FALSE(json::parse(deep, &d));
  std::string balanced = std::string(50000, '[') + std::string(50000, ']');
  CHECK(json::parse(balanced, &d));
  CHECK_FALSE(json::parse("1e400", &d));
  CHECK_FALSE(json::parse("{\"a\":1} x", &d));
  // A raw NUL must not end the input early.
  CHECK_FALSE(json::parse(std::string("{\"a\":1}\0garbage", 16), &d));
  CHECK_FALSE(json::parse(std::string("{\"a\":1}\0", 8), &d));
  CHECK(json::parse(std::string("{\"a\\u0000b\":\"x\\u0000y\"}"), &d));
  CHECK(json::write(d) == "{\"a\\u0000b\":\"x\\u0000y\"}");
}

TEST_CASE("parse refuses escapes that decode to lone surrogates", "[json]") {
  json::Document d;
  for (const char* text : {R"(["\udc00"])", R"(["x\udc00y"])", R"({"\udfff":1})", R"(["\ud800"])",
                           R"(["\ud800\ud800"])", R"(["\udc00\ud800"])"}) {
    INFO(text);
    CHECK_FALSE(json::parse(text, &d));
  }
  REQUIRE(json::parse(R"(["\ud83d\ude00","\ud7ff"])", &d));
  CHECK(json::write(d) == "[\"\xf0\x9f\x98\x80\",\"\xed\x9f\xbf\"]");
  // Stored documents are read as they were written, including one stored
  // with such bytes by an earlier version.
  std::string stored = "{\"s\":\"x\xed\xb0\x80y\"}";
  REQUIRE(json::parse_in_place(stored, &d));
  CHECK(json::view(d["s"]) == "x\xed\xb0\x80y");
}

TEST_CASE("numbers convert to the nearest value, also past 64 bits", "[json]") {
  // Found by the fuzzer (UBSan: clz(0) in RapidJSON 1.1.0's full-precision
  // conversion): this integer used to become 7.2e75.
  json::Document d;
  REQUIRE(json::parse("[18446744073709551615700001000,1844674407370955161570000100]", &d));
  CHECK(d[0].GetDouble() == 1.8446744073709551615700001000e28);
  CHECK(d[1].GetDouble() == 1.844674407370955161570000100e27);
  REQUIRE(json::parse("[18446744073709551615,-9223372036854775808,0.1,22.5,4.9e-324]", &d));
  CHECK(d[0].GetUint64() == 18446744073709551615ull);
  CHECK(d[1].GetInt64() == INT64_MIN);
  CHECK(d[2].GetDouble() == 0.1);
  CHECK(d[3].GetDouble() == 22.5);
  CHECK(d[4].GetDouble() == 4.9e-324);
  CHECK_FALSE(json::parse("[1e400]", &d));
  CHECK_FALSE(json::parse("[01]", &d));
  std::string stored = "[123,-4.5e10]";
  REQUIRE(json::parse_in_place(stored, &d));
  CHECK(d[0].GetUint64() == 123);
  CHECK(d[1].GetDouble() == -4.5e10);
}

TEST_CASE("duplicate keys keep the first position and the last value", "[json]") {
  json::Document d;
  REQUIRE(json::parse(R"({"a":1,"b":{"x":1,"x":{"y":1,"y":2}},"a":3})", &d));
  json::dedupe_keys(d, d.GetAllocator());
  CHECK(json::write(d) == R"({"a":3,"b":{"x":{"y":2}}})");
  json::Document raw;
  REQUIRE(json::parse(R"({"t":"first","t":"last"})", &raw));
  CHECK(json::view(*json::find_last(raw, "t")) == "last");
}

TEST_CASE("equality compares numbers by value", "[json]") {
  json::Document a, b;
  REQUIRE(json::parse(R"({"n":1,"l":[1,2],"o":{"k":true}})", &a));
  REQUIRE(json::parse(R"({"o":{"k":true},"l":[1.0,2],"n":1.0})", &b));
  CHECK(json::equal(a, b));
  REQUIRE(json::parse(R"({"n":1,"l":[2,1],"o":{"k":true}})", &b));
  CHECK_FALSE(json::equal(a, b));
}
