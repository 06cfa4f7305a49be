// AWS IoT SQL semantics: expected results come from AWS's SQL reference
// (data types and conversions, operators, functions, SELECT/FROM/WHERE,
// literals, CASE, substitution templates). Where AWS's own example
// contradicts its table, the comment says which one the test follows.
#include <catch2/catch.hpp>

#include <regex>
#include <string>
#include <vector>

#include "plugin/rules/sql/encoding.h"
#include "plugin/rules/sql/statement.h"
#include "plugin/rules/sql/substitution_template.h"
#include "plugin/rules/sql/topic_filter.h"

using namespace shadow;
using namespace shadow::rules::sql;

namespace {

constexpr const char* kUndefined = "<undefined>";

MessageContext make_context() {
  MessageContext c;
  c.topic_name = "things/myThings/thingOne";
  c.client = "client-1";
  c.now_ms = 1481825251155;
  c.account = "123456789012";
  c.shadow_reader = [](std::string_view thing, std::string_view shadow, json::Value* out, json::Allocator& alloc) {
    if (thing != "MyThing") return false;
    const char* doc = shadow.empty() ? R"({"state":{"reported":{"alarm":"ON"}},"version":3})"
                                     : R"({"state":{"reported":{"alarm":"OFF"}},"version":9})";
    json::Document parsed(&alloc);
    REQUIRE(json::parse(doc, &parsed));
    out->Swap(parsed);
    return true;
  };
  return c;
}

// Everything a test needs to run statements: the parser of payloads, the
// output and the context, kept together so views stay valid.
struct Runner {
  PayloadParser parser;
  Output output;
  MessageContext context = make_context();
  std::string payload_bytes;

  // Runs `sql` on `payload`; the output as text, "<no match>" when WHERE
  // stops it, "<error: ...>" when it cannot run, "<undefined>" for an empty
  // SELECT VALUE.
  std::string run(const std::string& sql, const std::string& payload) {
    auto compiled = Statement::compile(sql);
    if (!compiled.ok()) return "<compile error: " + compiled.status().message() + ">";
    payload_bytes = payload;
    Payload p = parser.parse(payload_bytes);
    if (!compiled->evaluate(p, context, &output)) {
      if (output.kind() == Output::Kind::kError) return "<error: " + output.error() + ">";
      return "<no match>";
    }
    if (output.kind() == Output::Kind::kEmpty) return kUndefined;
    return output.to_string();
  }

  // The value of one expression, as JSON text or "<undefined>".
  std::string value(const std::string& expression, const std::string& payload = "{}") {
    return run("SELECT VALUE " + expression + " FROM 'a/b'", payload);
  }
};

std::string compile_error(const std::string& sql) {
  auto compiled = Statement::compile(sql);
  if (compiled.ok()) return "<compiled>";
  CHECK(compiled.status().code() == Status::Code::kInvalidArgument);
  return compiled.status().message();
}

struct Case {
  const char* expression;
  const char* payload;
  const char* expected;  // JSON text, or kUndefined
};

void check_table(const std::vector<Case>& cases) {
  Runner r;
  for (const Case& c : cases) {
    INFO("expression: " << c.expression << "   payload: " << c.payload);
    CHECK(r.value(c.expression, c.payload) == c.expected);
  }
}

}  // namespace

TEST_CASE("fields, Null and Undefined", "[rules]") {
  check_table({
      {"a", R"({"a":1})", "1"},
      {"missing", R"({"a":1})", kUndefined},  // a missing key is Undefined...
      {"foo", R"({"foo":null})", "null"},     // ...a present null is Null
      {"state.reported.temp", R"({"state":{"reported":{"temp":21.5}}})", "21.5"},
      {"state.reported.humidity", R"({"state":{"reported":{"temp":21.5}}})", kUndefined},
      {"a.b", R"({"a":5})", kUndefined},  // a step through a non-object
      {"a.b", R"({"a":[1,2]})", kUndefined},
      {"a", R"([1,2])", kUndefined},        // the payload is not an object
      {"a", R"({"a":1,"a":2})", "2"},       // duplicate keys: the last one counts
      {"a", R"({"a":10.0})", "10"},         // SQL version 2016-03-23: 10.0 is the Int 10
      {"10.0", "{}", "10"},
      {"1.50", "{}", "1.5"},
      {"9223372036854775807", "{}", "9223372036854775807"},
      {"-9223372036854775808", "{}", "-9223372036854775808"},
      {"NULL", "{}", "null"},
      {"true", "{}", "true"},
  });
}

TEST_CASE("arithmetic and concatenation follow AWS's operator tables", "[rules]") {
  check_table({
      {"1 + 2", "{}", "3"},
      {"1 + 2.5", "{}", "3.5"},
      {"'a' + 1", "{}", "\"a1\""},     // String + anything: concatenation
      {"1 + 'a'", "{}", "\"1a\""},
      {"'5' + 1", "{}", "\"51\""},
      {"'x' + [1,'y']", "{}", "\"x[1,\\\"y\\\"]\""},
      {"'x' + true", "{}", "\"xtrue\""},
      {"true + 1", "{}", kUndefined},
      {"null + 1", "{}", kUndefined},
      {"'a' + null", "{}", kUndefined},
      {"'a' + missing", "{}", kUndefined},
      {"7 - 10", "{}", "-3"},
      {"'5' - 2", "{}", "3"},      // numeric strings take part in -, *, /, %
      {"'5' / 2", "{}", "2.5"},    // ...as Decimals
      {"5 / 2", "{}", "2"},        // Int / Int is an Int
      {"-7 / 2", "{}", "-3"},
      {"5 / 2.5", "{}", "2"},
      {"1 / 0", "{}", kUndefined},
      {"7 % 3", "{}", "1"},
      {"-7 % 3", "{}", "-1"},
      {"7.5 % 2", "{}", "1.5"},
      {"'abc' - 1", "{}", kUndefined},
      {"3 * 1.5", "{}", "4.5"},
      {"-a", R"({"a":4})", "-4"},
      {"-'2.5'", "{}", "-2.5"},
      {"9223372036854775807 + 1", "{}", "9223372036854776000.0"},  // beyond 64 bits: a Decimal
      // AWS's SELECT example: (50 - 32) * 5 / 9
      {"(temperature - 32) * 5 / 9", R"({"temperature":50})", "10"},
  });
}

TEST_CASE("comparisons convert to numbers; = and <> compare same-typed values", "[rules]") {
  check_table({
      {"3 > 2", "{}", "true"},
      {"2 >= 2.0", "{}", "true"},
      {"'10' > 9", "{}", "true"},  // strings that are numbers compare as numbers
      {"'10' < '9'", "{}", "false"},
      {"'abc' > 1", "{}", kUndefined},
      {"missing > 1", "{}", kUndefined},  // comparisons with Undefined are not true
      {"null > 1", "{}", kUndefined},
      {"true > false", "{}", kUndefined},
      {"1 = 1.0", "{}", "true"},
      {"'1' = 1", "{}", "false"},  // mismatched types: =  is false, <> true
      {"'1' <> 1", "{}", "true"},
      {"'a' = 'a'", "{}", "true"},
      {"[1,2] = [1,2]", "{}", "true"},
      {"[1,2] = [2,1]", "{}", "false"},
      {"{'a':1,'b':2} = {'b':2,'a':1}", "{}", "true"},
      {"a = b", R"({"a":{"x":[1,{"y":2}]},"b":{"x":[1,{"y":2.0}]}})", "true"},
      {"null = null", "{}", "true"},
      {"null <> null", "{}", "false"},
      {"missing = 1", "{}", kUndefined},
      {"missing <> 1", "{}", kUndefined},
      {"true = true", "{}", "true"},
  });
}

TEST_CASE("AND, OR and NOT take Booleans or 'true'/'false' strings", "[rules]") {
  check_table({
      {"true AND 'TRUE'", "{}", "true"},
      {"true AND false", "{}", "false"},
      {"false OR 'true'", "{}", "true"},
      {"true AND 1", "{}", kUndefined},
      {"false OR missing", "{}", kUndefined},
      {"NOT 'false'", "{}", "true"},
      {"NOT true", "{}", "false"},
      {"NOT 5", "{}", kUndefined},
      {"NOT missing = 1", "{}", kUndefined},
      {"1 = 1 AND 2 > 1 OR false", "{}", "true"},
      {"false AND true OR true", "{}", "true"},  // AND binds tighter than OR
  });
}

TEST_CASE("IN, CONTAINS, IS NULL and IS UNDEFINED", "[rules]") {
  const char* arr = R"({"arr":[1,2,3,"three",3.14,{"k":1}]})";
  check_table({
      {"3 IN arr", arr, "true"},
      {"'three' IN arr", arr, "true"},
      {"3.0 IN arr", arr, "true"},
      {"{'k':1} IN arr", arr, "true"},
      {"4 IN arr", arr, "false"},
      {"4 NOT IN arr", arr, "true"},
      {"3 IN 5", arr, kUndefined},  // the right side must be an Array
      {"missing IN arr", arr, kUndefined},
      {"color IN ('red', 'blue')", R"({"color":"blue"})", "true"},  // the SQL list form
      {"color IN ['red', 'green']", R"({"color":"blue"})", "false"},
      {"2 NOT IN (1, 2)", "{}", "false"},
      {"'hello' CONTAINS 'ell'", "{}", "true"},
      {"'hello' CONTAINS 'x'", "{}", "false"},
      {"arr CONTAINS 'three'", arr, "true"},
      {"5 CONTAINS 5", "{}", kUndefined},
      {"missing IS UNDEFINED", "{}", "true"},
      {"a IS UNDEFINED", R"({"a":null})", "false"},
      {"a IS NULL", R"({"a":null})", "true"},
      {"missing IS NULL", "{}", "false"},
      {"a IS NOT NULL", R"({"a":1})", "true"},
      {"a IS NOT UNDEFINED", R"({"a":1})", "true"},
  });
}

TEST_CASE("array and object literals, members of computed values, CASE", "[rules]") {
  check_table({
      {"[a, missing, 2]", R"({"a":1})", "[1,2]"},  // Undefined has no place in JSON
      {"{'x': a, 'y': missing, \"z\": 'q'}", R"({"a":1})", R"({"x":1,"z":"q"})"},
      {"{'latitude': get(lat_long, 0), 'longitude': get(lat_long, 1)}", R"({"lat_long":[47.606,-122.332]})",
       R"({"latitude":47.606,"longitude":-122.332})"},
      {"[]", "{}", "[]"},
      {"get(e, 0).v", R"({"e":[{"v":22.5},{"v":135}]})", "22.5"},
      {"{'a': {'b': 3}}.a.b", "{}", "3"},
      {"(a).b", R"({"a":{"b":4}})", "4"},
      // AWS's CASE example
      {"CASE color WHEN 'green' THEN 'go' WHEN 'yellow' THEN 'caution' WHEN 'red' THEN 'stop' "
       "ELSE 'you are not at a stop light' END",
       R"({"color":"yellow"})", "\"caution\""},
      {"CASE color WHEN 'green' THEN 'go' ELSE 'other' END", R"({"color":"blue"})", "\"other\""},
      {"CASE color WHEN 'green' THEN 'go' END", R"({"color":"blue"})", kUndefined},
      {"CASE missing WHEN 'green' THEN 'go' ELSE 'x' END", "{}", kUndefined},  // Undefined subject
      {"CASE n WHEN 1 THEN 'one' WHEN 1.0 THEN 'again' END", R"({"n":1})", "\"one\""},
  });
}

TEST_CASE("cast() follows its own table", "[rules]") {
  check_table({
      {"cast(true AS Int)", "{}", "1"},
      {"cast(false AS Decimal)", "{}", "0"},
      {"cast('5.5' AS Decimal)", "{}", "5.5"},
      {"cast('5.5' AS Double)", "{}", "5.5"},
      {"cast(5.7 AS Int)", "{}", "5"},  // rounded down
      {"cast(-5.7 AS Integer)", "{}", "-6"},
      {"cast('-1.2' AS Int)", "{}", "-2"},
      {"cast('abc' AS Int)", "{}", kUndefined},
      {"cast(0 AS Boolean)", "{}", "false"},
      {"cast(2.5 AS Bool)", "{}", "true"},
      {"cast('TRUE' AS Boolean)", "{}", "true"},
      {"cast('yes' AS Boolean)", "{}", kUndefined},
      {"cast(123 AS String)", "{}", "\"123\""},
      {"cast(1.5E-7 AS varchar)", "{}", "\"1.5E-7\""},
      {"cast(true AS Nvarchar)", "{}", "\"true\""},
      {"cast([1,'a'] AS Text)", "{}", "\"[1,\\\"a\\\"]\""},
      {"cast({'a':null} AS Ntext)", "{}", "\"{\\\"a\\\":null}\""},
      {"cast(null AS String)", "{}", kUndefined},
      {"cast(null AS Int)", "{}", kUndefined},
      {"cast([1] AS Int)", "{}", kUndefined},
      {"cast(missing AS String)", "{}", kUndefined},
  });
}

TEST_CASE("numeric functions", "[rules]") {
  check_table({
      {"abs(-5)", "{}", "5"},
      {"abs(-5.5)", "{}", "5.5"},
      {"abs('-5.123')", "{}", "5.123"},  // AWS's example of a string conversion
      {"abs(true)", "{}", kUndefined},
      {"abs(null)", "{}", kUndefined},
      {"abs('x')", "{}", kUndefined},
      {"ceil(1.2)", "{}", "2"},
      {"ceil(-1.2)", "{}", "-1"},
      {"ceil(7)", "{}", "7"},
      {"ceil('1.5')", "{}", "2"},
      {"floor(1.2)", "{}", "1"},
      {"floor(-1.2)", "{}", "-2"},
      {"floor([1,2,3])", "{}", kUndefined},
      {"round(1.2)", "{}", "1"},
      {"round(1.5)", "{}", "2"},
      {"round(1.7)", "{}", "2"},
      {"round(-1.1)", "{}", "-1"},
      {"round(-1.5)", "{}", "-2"},
      {"round('x')", "{}", kUndefined},
      {"sign(-7)", "{}", "-1"},
      {"sign(0)", "{}", "0"},
      {"sign(13)", "{}", "1"},
      {"sign(-0.5)", "{}", "-1"},
      {"mod(8, 3)", "{}", "2"},
      {"remainder(8, 3)", "{}", "2"},
      {"mod(8, 0)", "{}", kUndefined},
      {"power(2, 5)", "{}", "32"},
      {"power(2, -1)", "{}", "0.5"},
      {"sqrt(9)", "{}", "3"},
      {"sqrt(-1)", "{}", kUndefined},  // imaginary results are Undefined
      {"exp(0)", "{}", "1"},
      {"ln(1)", "{}", "0"},
      {"ln(0)", "{}", kUndefined},
      {"log(100)", "{}", "2"},
      {"acos(0)", "{}", "1.5707963267948966"},
      {"asin(0)", "{}", "0"},
      {"atan(0)", "{}", "0"},
      {"atan2(1, 0)", "{}", "1.5707963267948966"},
      {"cos(0)", "{}", "1"},
      {"sin(0)", "{}", "0"},
      {"tan(0)", "{}", "0"},
      {"trunc(2.3, 0)", "{}", "2"},
      {"trunc(2.3123, 2)", "{}", "2.31"},
      {"trunc(2.888, 2)", "{}", "2.88"},
      {"trunc(2.00, 5)", "{}", "2"},
      {"trunc(0.29, 2)", "{}", "0.29"},
      {"trunc(-2.888, 1)", "{}", "-2.8"},
      {"bitand(13, 5)", "{}", "5"},
      {"bitor(8, 5)", "{}", "13"},
      {"bitxor(13, 5)", "{}", "8"},
      {"bitnot(13)", "{}", "-14"},  // AWS's example says 2; a bitwise NOT of 13 is -14
      {"bitand('13', 5.9)", "{}", "5"},
      {"nanvl(8, 3)", "{}", "8"},
      {"nanvl(missing, 3)", "{}", "3"},
  });
}

TEST_CASE("string functions", "[rules]") {
  check_table({
      {"lower('HELLO')", "{}", "\"hello\""},
      {"lower(['HELLO'])", "{}", "\"[\\\"hello\\\"]\""},  // non-strings are converted first
      {"upper('hello')", "{}", "\"HELLO\""},
      {"upper(['hello'])", "{}", "\"[\\\"HELLO\\\"]\""},
      {"upper(null)", "{}", kUndefined},
      {"length('hi')", "{}", "2"},
      {"length(false)", "{}", "5"},
      {"length('\xE2\x82\xAC')", "{}", "1"},  // characters, not bytes
      {"numbytes('hi')", "{}", "2"},
      {"numbytes('\xE2\x82\xAC')", "{}", "3"},
      {"substring('012345', 0)", "{}", "\"012345\""},
      {"substring('012345', 2)", "{}", "\"2345\""},
      {"substring('012345', 2.745)", "{}", "\"2345\""},
      {"substring(123, 2)", "{}", "\"3\""},
      {"substring('012345', -1)", "{}", "\"012345\""},
      {"substring(true, 1.2)", "{}", "\"rue\""},
      {"substring(false, -2.411E247)", "{}", "\"false\""},
      {"substring('012345', 1, 3)", "{}", "\"12\""},
      {"substring('012345', -50, 50)", "{}", "\"012345\""},
      {"substring('012345', 3, 1)", "{}", "\"\""},
      {"substring('h\xC3\xA9llo', 1, 2)", "{}", "\"\xC3\xA9\""},
      {"substring(null, 1)", "{}", kUndefined},
      {"startswith('ranger', 'ran')", "{}", "true"},
      {"startswith('ranger', 'ger')", "{}", "false"},
      {"startswith(123, 1)", "{}", "true"},
      {"startswith(null, 'a')", "{}", kUndefined},
      {"endswith('cat', 'at')", "{}", "true"},
      {"endswith('cat', missing)", "{}", kUndefined},
      {"indexof('abcd', 'bc')", "{}", "1"},
      {"indexof('abcd', 'x')", "{}", "-1"},
      {"concat()", "{}", kUndefined},
      {"concat(1)", "{}", "\"1\""},
      {"concat([1, 2, 3], 4)", "{}", "[1,2,3,4]"},
      {"concat([1, 2, 3], 'hello')", "{}", R"([1,2,3,"hello"])"},
      {"concat('con', 'cat')", "{}", "\"concat\""},
      {"concat(1, 'hello')", "{}", "\"1hello\""},
      {"concat('he', 'is', 'man')", "{}", "\"heisman\""},
      {"concat([1, 2, 3], 'hello', [4, 5, 6])", "{}", R"([1,2,3,"hello",4,5,6])"},
      {"concat('a', missing)", "{}", kUndefined},
      {"concat('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h')", "{}", "\"abcdefgh\""},
      {"lpad('hello', 2)", "{}", "\"  hello\""},
      {"lpad(1, 3)", "{}", "\"   1\""},
      {"rpad('hello', 2)", "{}", "\"hello  \""},
      {"rpad('x', -4)", "{}", "\"x\""},
      {"ltrim(' h i ')", "{}", "\"h i \""},
      {"rtrim(' h i ')", "{}", "\" h i\""},
      {"trim(' hi ')", "{}", "\"hi\""},
      {"replace('abcd', 'bc', 'x')", "{}", "\"axd\""},
      {"replace('abcdabcd', 'b', 'x')", "{}", "\"axcdaxcd\""},
      {"chr(65)", "{}", "\"A\""},
      {"chr(49)", "{}", "\"1\""},
      {"chr(300)", "{}", kUndefined},
  });
}

TEST_CASE("get(), isNull(), isUndefined(), get_or_default()", "[rules]") {
  check_table({
      {"get(['a', 'b', 'c'], 1)", "{}", "\"b\""},
      {"get(['a', 'b', 'c'], '1')", "{}", "\"b\""},
      {"get(['a', 'b', 'c'], 3)", "{}", kUndefined},
      {"get(['a', 'b', 'c'], -1)", "{}", kUndefined},
      {"get({'a': 'b'}, 'a')", "{}", "\"b\""},
      {"get({'1': 'b'}, 1)", "{}", kUndefined},  // object keys are not converted
      // AWS's table: the character at the 0-based index (its example shows "a").
      {"get('abc', 1)", "{}", "\"b\""},
      {"get(5, 0)", "{}", kUndefined},
      {"isNull(5)", "{}", "false"},
      {"isNull(NULL)", "{}", "true"},
      {"isNull(missing)", "{}", "false"},
      {"isUndefined(5)", "{}", "false"},
      {"isUndefined(floor([1,2,3]))", "{}", "true"},
      {"IsUndefined(missing)", "{}", "true"},  // function names in any case
      {"get_or_default(missing, 'x')", "{}", "\"x\""},
      {"get_or_default(null, 'x')", "{}", "\"x\""},
      {"get_or_default(1, 'x')", "{}", "1"},
  });
}

TEST_CASE("message functions read the EvalContext", "[rules]") {
  check_table({
      {"topic()", "{}", "\"things/myThings/thingOne\""},
      {"topic(1)", "{}", "\"things\""},
      {"topic(3)", "{}", "\"thingOne\""},
      {"topic(4)", "{}", kUndefined},
      {"topic(0)", "{}", kUndefined},
      {"clientid()", "{}", "\"client-1\""},
      {"principal()", "{}", kUndefined},  // the context has none
      {"timestamp()", "{}", "1481825251155"},
      {"accountid()", "{}", "\"123456789012\""},
      {"sql_version()", "{}", "\"2016-03-23\""},
      // get_thing_shadow(thing[, shadow], roleArn): the role is not used.
      {"get_thing_shadow('MyThing', 'arn:aws:iam::123456789012:role/R').state.reported.alarm", "{}", "\"ON\""},
      {"get_thing_shadow('MyThing', 'cfg', 'arn:aws:iam::123456789012:role/R').version", "{}", "9"},
      {"get_thing_shadow('Other', 'arn:aws:iam::123456789012:role/R')", "{}", kUndefined},
      {"get_thing_shadow(thing, 'r').state.reported.alarm = 'ON'", R"({"thing":"MyThing"})", "true"},
  });
  Runner r;
  std::string uuid = r.value("newuuid()");
  CHECK(std::regex_match(uuid, std::regex(R"("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")")));
  CHECK(r.value("newuuid()") != uuid);
  std::string random = r.value("rand()");
  double x = std::stod(random);
  CHECK(x >= 0.0);
  CHECK(x < 1.0);
}

TEST_CASE("encode() and decode() with base64", "[rules]") {
  Runner r;
  // AWS's decode example: {"temperature":33} in base64 (with a newline).
  CHECK(r.value("decode(encoded_temp, 'base64').temperature", R"({"encoded_temp":"eyAidGVtcGVyYXR1cmUiOiAzMyB9Cg=="})") ==
        "33");
  CHECK(r.value("decode('aGVsbG8=', 'base64')") == "\"hello\"");
  CHECK(r.value("decode('not base64!', 'base64')") == "null");
  CHECK(r.value("decode('aGVsbG8=', 'hex')") == kUndefined);
  CHECK(r.value("encode('hello', 'base64')") == "\"aGVsbG8=\"");
  CHECK(r.value("encode(42, 'base64')") == "\"NDI=\"");
  // encode(*, ...) takes the payload's bytes as they are, JSON or not.
  CHECK(r.run("SELECT encode(*, 'base64') AS data FROM 'a/b'", "\x01\x02\xff") == R"({"data":"AQL/"})");
  CHECK(r.run("SELECT encode(*, 'base64') AS data FROM 'a/b'", R"({"a": 1})") == R"({"data":"eyJhIjogMX0="})");
  CHECK(base64_encode("") == "");
  std::string decoded;
  CHECK(base64_decode("YQ==", &decoded));
  CHECK(decoded == "a");
  CHECK_FALSE(base64_decode("YQ=", &decoded));
}

TEST_CASE("SELECT builds the output document", "[rules]") {
  Runner r;
  const std::string p = R"({"color":"red", "temperature":50})";
  CHECK(r.run("SELECT * FROM 'a/b'", p) == R"({"color":"red","temperature":50})");
  CHECK(r.run("SELECT color FROM 'a/b'", p) == R"({"color":"red"})");
  CHECK(r.run("SELECT color AS my_color FROM 'a/b'", p) == R"({"my_color":"red"})");
  CHECK(r.run("SELECT color as my_color, temperature as fahrenheit FROM 'a/b'", p) ==
        R"({"my_color":"red","fahrenheit":50})");
  CHECK(r.run("SELECT *, 15 as speed FROM 'a/b'", p) == R"({"color":"red","temperature":50,"speed":15})");
  CHECK(r.run("SELECT *, 'blue' AS color FROM 'a/b'", p) == R"({"color":"blue","temperature":50})");
  CHECK(r.run("SELECT 'blue' AS color, * FROM 'a/b'", p) == R"({"color":"red","temperature":50})");
  CHECK(r.run("SELECT VALUE color FROM 'a/b'", p) == "\"red\"");
  CHECK(r.run("SELECT VALUE missing FROM 'a/b'", p) == kUndefined);  // an empty message
  CHECK(r.run("SELECT VALUE arr FROM 'a/b'", R"({"a":{"b":"c"},"arr":[1,2,3,4]})") == "[1,2,3,4]");
  CHECK(r.run("SELECT VALUE * FROM 'a/b'", p) == R"({"color":"red","temperature":50})");
  CHECK(r.run("SELECT color.red as red_value FROM 'a/b'",
              R"({"color":{"red":255,"green":0,"blue":0}, "temperature":50})") == R"({"red_value":255})");
  CHECK(r.run("SELECT (temperature - 32) * 5 / 9 AS celsius, upper(color) as my_color FROM 'a/b'", p) ==
        R"({"celsius":10,"my_color":"RED"})");
  CHECK(r.run("SELECT [lat,long] as lat_long FROM 'a/b'", R"({"lat": 47.696, "long": -122.332})") ==
        R"({"lat_long":[47.696,-122.332]})");
  // Undefined values leave their key out; an empty object is still an output.
  CHECK(r.run("SELECT missing, color FROM 'a/b'", p) == R"({"color":"red"})");
  CHECK(r.run("SELECT missing FROM 'a/b'", p) == "{}");
  CHECK(r.run("SELECT NULL AS n FROM 'a/b'", p) == R"({"n":null})");
  // Names of items without AS: the field's last name, the function's name,
  // otherwise the position.
  CHECK(r.run("SELECT a.b, topic(2), upper(c), 1 + 1, get(d, 0).e FROM 'a/b'",
              R"({"a":{"b":1},"c":"x","d":[{"e":5}]})") == R"({"b":1,"topic":"myThings","upper":"X","_4":2,"e":5})");
  // AS with a path nests the value.
  CHECK(r.run("SELECT color AS out.c, temperature AS out.t FROM 'a/b'", p) == R"({"out":{"c":"red","t":50}})");
  CHECK(r.run("SELECT 1 AS x, 2 AS x FROM 'a/b'", p) == R"({"x":2})");
  // Keys and values with characters JSON must escape.
  CHECK(r.run("SELECT * FROM 'a/b'", R"({"q\"k":"line\nbreak","t":10.0})") == R"({"q\"k":"line\nbreak","t":10})");
}

TEST_CASE("the first rule of docs/rules.md does what the page says", "[rules]") {
  auto s = Statement::compile(
      "SELECT topic(3) AS thing, current.state.reported.temp AS temp FROM '$aws/things/+/shadow/update/documents' "
      "WHERE current.state.reported.temp > 25");
  REQUIRE(s.ok());
  CHECK(s->from().matches("$aws/things/dev1/shadow/update/documents"));
  PayloadParser parser;
  Output out;
  MessageContext ctx = make_context();
  ctx.topic_name = "$aws/things/dev1/shadow/update/documents";
  std::string hot = R"({"previous":{"state":{"reported":{"temp":24}},"version":1},)"
                    R"("current":{"state":{"reported":{"temp":27}},"version":2},"timestamp":1700000000})";
  REQUIRE(s->evaluate(parser.parse(hot), ctx, &out));
  CHECK(out.to_string() == R"({"thing":"dev1","temp":27})");
  std::string mild = R"({"current":{"state":{"reported":{"temp":21}},"version":3},"timestamp":1700000001})";
  CHECK_FALSE(s->evaluate(parser.parse(mild), ctx, &out));
  auto topic = SubstitutionTemplate::compile("alerts/${topic(3)}");
  REQUIRE(topic.ok());
  CHECK(topic->render(parser.parse(hot), ctx) == "alerts/dev1");
}

TEST_CASE("WHERE decides whether the actions run", "[rules]") {
  Runner r;
  CHECK(r.run("SELECT color AS my_color FROM 'a/b' WHERE temperature > 50 AND color <> 'red'",
              R"({"color":"red","temperature":40})") == "<no match>");
  CHECK(r.run("SELECT color AS rgb FROM 'topic/subtopic' WHERE temperature > 50", R"({"color":"red","temperature":100})") ==
        R"({"rgb":"red"})");
  CHECK(r.run("SELECT * FROM 'a/b' WHERE false", "{}") == "<no match>");
  CHECK(r.run("SELECT * FROM 'a/b' WHERE missing > 1", "{}") == "<no match>");  // Undefined is not true
  CHECK(r.run("SELECT * FROM 'a/b' WHERE 1", "{}") == "<no match>");
  CHECK(r.run("SELECT * FROM 'a/b' WHERE 'TRUE'", R"({"a":1})") == R"({"a":1})");
  const char* present = "SELECT * FROM 'ef/d/#' WHERE IsUndefined(GetSchedEventRequest) = False";
  CHECK(r.run(present, R"({"GetSchedEventRequest":[]})") == R"({"GetSchedEventRequest":[]})");
  CHECK(r.run(present, R"({"Id":"x"})") == "<no match>");
  // WHERE cannot see SELECT's aliases: rgb is a payload field here.
  CHECK(r.run("SELECT color AS rgb FROM 'a/b' WHERE rgb = 'red'", R"({"color":"red"})") == "<no match>");
}

TEST_CASE("payloads that are not JSON objects", "[rules]") {
  Runner r;
  // Binary: SELECT * passes the bytes on; fields are Undefined.
  CHECK(r.run("SELECT * FROM 'a/b'", std::string("\x00\x01binary", 8)) == std::string("\x00\x01binary", 8));
  CHECK(r.output.kind() == Output::Kind::kPayload);
  CHECK(r.run("SELECT a FROM 'a/b'", "not json") == "{}");
  CHECK(r.run("SELECT * FROM 'a/b' WHERE timestamp() % 12 = 0", "raw") == "<no match>");  // 1481825251155 % 12 = 11
  CHECK(r.run("SELECT *, timestamp() AS ts FROM 'a/b'", "raw") ==
        "<error: SELECT * with other items needs a payload that is a JSON object>");
  CHECK_FALSE(r.output.matched());
  CHECK(r.run("SELECT * FROM 'a/b'", "[1,2]") == "[1,2]");
  CHECK(r.run("SELECT VALUE * FROM 'a/b'", "\x01\x02") == "\x01\x02");
  CHECK(r.run("SELECT * FROM 'a/b'", "") == "");
  CHECK(r.value("*", "42") == "42");
  // Too deeply nested to be read as JSON: treated as bytes.
  std::string deep = std::string(200, '[') + std::string(200, ']');
  CHECK(r.run("SELECT * FROM 'a/b'", deep) == deep);
  CHECK(r.run("SELECT a FROM 'a/b'", deep) == "{}");
}

TEST_CASE("text that is not UTF-8 never reaches a JSON output", "[rules]") {
  Runner r;
  // A statement or a template must be UTF-8; the error says where it is not.
  CHECK(compile_error("SELECT 'a\xed\xa0\x80' AS s FROM 'a/b'") ==
        "SQL syntax error at line 1, column 10: the statement is not valid UTF-8");
  CHECK(compile_error("SELECT a\nFROM 'x\xff'") == "SQL syntax error at line 2, column 8: the statement is not valid UTF-8");
  CHECK(compile_error("SELECT '\xc3\xa9' AS s FROM 'a/b'") == "<compiled>");
  auto t = SubstitutionTemplate::compile("dev/\xc0\xaf/${topic()}");
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().message() == "substitution template error at line 1, column 5: the template is not valid UTF-8");

  // A payload with bytes that are not UTF-8 is binary, even if it looks like JSON.
  CHECK(r.run("SELECT s FROM 'a/b'", "{\"s\":\"\xed\xa0\x80\"}") == "{}");
  CHECK(r.run("SELECT * FROM 'a/b'", "{\"s\":\"\xff\"}") == "{\"s\":\"\xff\"}");
  CHECK(r.output.kind() == Output::Kind::kPayload);
  CHECK(r.run("SELECT s FROM 'a/b'", "{\"s\":\"\xc3\xa9\"}") == "{\"s\":\"\xc3\xa9\"}");

  // decode() of bytes that are not UTF-8: U+FFFD for each bad byte.
  CHECK(r.value("decode('/2E=', 'base64')") == "\"\xef\xbf\xbd" "a\"");  // FF 61
  CHECK(replace_invalid_utf8("a\xed\xa0\x80" "b") == "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "b");
  CHECK(replace_invalid_utf8("\xc3\xa9") == "\xc3\xa9");
}

TEST_CASE("FROM topic filters", "[rules]") {
  auto matches = [](const char* filter, const char* topic) { return TopicFilter::topic_matches(filter, topic); };
  CHECK(matches("a/b", "a/b"));
  CHECK_FALSE(matches("a/b", "a/c"));
  CHECK(matches("a/+", "a/b"));
  CHECK_FALSE(matches("a/+", "a/e/f"));
  CHECK(matches("a/#", "a/b"));
  CHECK(matches("a/#", "a/e/f"));
  CHECK(matches("a/#", "a"));
  CHECK_FALSE(matches("a/#", "b/x"));
  CHECK(matches("x/+/y", "x/dev1/y"));
  CHECK_FALSE(matches("x/+/y", "x/dev1/y/z"));
  CHECK_FALSE(matches("x/+/y", "x/y"));
  CHECK(matches("+/+", "a/"));
  CHECK(matches("#", "anything/at/all"));
  // Wildcards at the first level do not reach $ topics; naming them does.
  CHECK_FALSE(matches("#", "$aws/things/t/shadow/update/documents"));
  CHECK_FALSE(matches("+/things/t/shadow/update", "$aws/things/t/shadow/update"));
  CHECK(matches("$aws/things/+/shadow/update/documents", "$aws/things/t1/shadow/update/documents"));
  CHECK(matches("$aws/things/+/shadow/#", "$aws/things/t1/shadow/name/cfg/update/accepted"));
  CHECK(matches("$aws/events/presence/+/+", "$aws/events/presence/connected/dev1"));

  std::string why;
  CHECK(TopicFilter::validate("a/+/#", &why));
  CHECK_FALSE(TopicFilter::validate("", &why));
  CHECK_FALSE(TopicFilter::validate("a/#/b", &why));
  CHECK(why == "'#' must be the last level of the filter and alone in it");
  CHECK_FALSE(TopicFilter::validate("a/b#", &why));
  CHECK_FALSE(TopicFilter::validate("a/b+/c", &why));
  CHECK(why == "'+' must be alone in its level");
  CHECK_FALSE(TopicFilter::validate(std::string("a\0b", 3), &why));
  CHECK_FALSE(TopicFilter::validate("a/\xff", &why));

  auto s = Statement::compile("SELECT a, b.c FROM 'x/+/y' WHERE b.d > 10");
  REQUIRE(s.ok());
  CHECK(s->from().text() == "x/+/y");
  CHECK(s->from().matches("x/1/y"));
  CHECK(s->sql() == "SELECT a, b.c FROM 'x/+/y' WHERE b.d > 10");
}

TEST_CASE("keywords, quotes and escapes", "[rules]") {
  Runner r;
  CHECK(r.run("select a as b from 'a/b' where a = 1", R"({"a":1})") == R"({"b":1})");
  CHECK(r.run("SELECT a FROM \"a/b\"", R"({"a":1})") == R"({"a":1})");
  CHECK(r.value("\"double quoted\"") == "\"double quoted\"");
  CHECK(r.value(R"('it\'s \"q\" \\ \n \u00e9 \ud83d\ude00')") == "\"it's \\\"q\\\" \\\\ \\n \xC3\xA9 \xF0\x9F\x98\x80\"");
  CHECK(r.run("SELECT value FROM 'a/b'", R"({"value":3})") == R"({"value":3})");  // VALUE is not reserved
  CHECK(r.run("SELECT value, a FROM 'a/b'", R"({"value":3,"a":1})") == R"({"value":3,"a":1})");
  CHECK(r.run("SELECT timestamp FROM 'a/b'", R"({"timestamp":7})") == R"({"timestamp":7})");
  CHECK(r.run("SELECT a.end FROM 'a/b'", R"({"a":{"end":1}})") == R"({"end":1})");
  CHECK(r.run("SELECT\n  a\nFROM\n  'a/b'\n", R"({"a":1})") == R"({"a":1})");
}

TEST_CASE("syntax errors name the position and the offending token", "[rules]") {
  CHECK(compile_error("SELECT FROM 'a/b'") ==
        "SQL syntax error at line 1, column 8: expected an expression but found 'FROM'");
  CHECK(compile_error("SELECT a FORM 'a/b'") ==
        "SQL syntax error at line 1, column 10: expected FROM but found 'FORM'");
  CHECK(compile_error("SELECT a FROM a/b") ==
        "SQL syntax error at line 1, column 15: expected a topic filter in quotes after FROM but found 'a'");
  CHECK(compile_error("SELECT a\nFROM 'a/b'\nWHERE a >") ==
        "SQL syntax error at line 3, column 10: expected an expression but found end of input");
  CHECK(compile_error("SELECT a FROM 'a/b' WHERE") ==
        "SQL syntax error at line 1, column 26: expected an expression but found end of input");
  CHECK(compile_error("SELECT 'abc FROM 'a/b'") ==
        "SQL syntax error at line 1, column 19: expected FROM but found 'a'");
  CHECK(compile_error("SELECT 'abc") == "SQL syntax error at line 1, column 8: string literal is not closed");
  CHECK(compile_error("SELECT a FROM 'a/b' WHERE a != 1") ==
        "SQL syntax error at line 1, column 29: '!=' is not an operator of AWS IoT SQL: use '<>'");
  CHECK(compile_error("SELECT a FROM 'a/b' WHERE a = 1 b") ==
        "SQL syntax error at line 1, column 33: expected the end of the statement but found 'b'");
  CHECK(compile_error("SELECT a FROM 'a/#/b'") ==
        "SQL syntax error at line 1, column 15: invalid topic filter in FROM: '#' must be the last level of the "
        "filter and alone in it");
  CHECK(compile_error("SELECT a FROM ''") ==
        "SQL syntax error at line 1, column 15: invalid topic filter in FROM: the topic filter is empty");
  CHECK(compile_error("SELECT a FROM 'a/b';") ==
        "SQL syntax error at line 1, column 20: unexpected character ';'");
  CHECK(compile_error("SELECT 'caf\xC3\xA9' + ) FROM 'a/b'") ==
        "SQL syntax error at line 1, column 17: expected an expression but found ')'");  // columns count characters
  CHECK(compile_error("SELECT a FROM 'a/b' WHERE a IS 5") ==
        "SQL syntax error at line 1, column 32: expected NULL or UNDEFINED after IS but found '5'");
  CHECK(compile_error("SELECT CASE a WHEN 1 THEN 2 FROM 'a/b'") ==
        "SQL syntax error at line 1, column 29: expected WHEN, ELSE or END but found 'FROM'");
  CHECK(compile_error("SELECT CASE a ELSE 1 END FROM 'a/b'") ==
        "SQL syntax error at line 1, column 15: expected WHEN after CASE and its expression but found 'ELSE'");
  CHECK(compile_error("SELECT a * FROM 'a/b'") ==
        "SQL syntax error at line 1, column 12: expected an expression but found 'FROM'");
  CHECK(compile_error("SELECT * + 1 FROM 'a/b'") ==
        "SQL syntax error at line 1, column 10: expected FROM but found '+'");
  CHECK(compile_error("SELECT upper(*) FROM 'a/b'") == "<compiled>");
  CHECK(compile_error("SELECT (*) FROM 'a/b'") ==
        "SQL syntax error at line 1, column 9: '*' (the whole payload) is allowed only as a SELECT item or a "
        "function argument");
  CHECK(compile_error("SELECT VALUE a, b FROM 'a/b'") ==
        "SQL syntax error at line 1, column 17: SELECT VALUE takes exactly one expression");
  CHECK(compile_error("SELECT VALUE a AS b FROM 'a/b'") ==
        "SQL syntax error at line 1, column 19: SELECT VALUE takes no AS: its value is the whole output");
  CHECK(compile_error("SELECT 1e999 FROM 'a/b'") == "SQL syntax error at line 1, column 8: number out of range: 1e999");
  CHECK(compile_error("SELECT 12abc FROM 'a/b'") ==
        "SQL syntax error at line 1, column 8: a number must not be followed by a letter: 12a");
  CHECK(compile_error("SELECT '\\x' FROM 'a/b'") ==
        "SQL syntax error at line 1, column 8: invalid escape sequence \\x in string literal");
  CHECK(compile_error("") == "SQL syntax error at line 1, column 1: expected SELECT but found end of input");
}

TEST_CASE("functions: unsupported, unknown, wrong number of arguments", "[rules]") {
  CHECK(compile_error("SELECT aws_lambda('arn:aws:lambda:us-east-1:1:function:f', *) FROM 'a/b'") ==
        "SQL syntax error at line 1, column 8: function aws_lambda is not supported by this broker "
        "(docs/rules.md lists the functions it has)");
  CHECK(compile_error("SELECT a FROM 'a/b' WHERE regexp_matches(a, 'x')") ==
        "SQL syntax error at line 1, column 27: function regexp_matches is not supported by this broker "
        "(docs/rules.md lists the functions it has)");
  CHECK(compile_error("SELECT MD5(a) FROM 'a/b'") ==
        "SQL syntax error at line 1, column 8: function MD5 is not supported by this broker "
        "(docs/rules.md lists the functions it has)");
  CHECK(compile_error("SELECT frobnicate(a) FROM 'a/b'") ==
        "SQL syntax error at line 1, column 8: function frobnicate is not supported: AWS IoT SQL has no "
        "function of that name");
  CHECK(compile_error("SELECT substring('a') FROM 'a/b'") ==
        "SQL syntax error at line 1, column 8: function substring takes 2 to 3 arguments, not 1");
  CHECK(compile_error("SELECT upper() FROM 'a/b'") ==
        "SQL syntax error at line 1, column 8: function upper takes 1 argument, not 0");
  CHECK(compile_error("SELECT timestamp(1) FROM 'a/b'") ==
        "SQL syntax error at line 1, column 8: function timestamp takes 0 arguments, not 1");
  CHECK(compile_error("SELECT get_thing_shadow('t') FROM 'a/b'") ==
        "SQL syntax error at line 1, column 8: function get_thing_shadow takes 2 to 3 arguments, not 1");
  CHECK(compile_error("SELECT cast(a AS Float) FROM 'a/b'") ==
        "SQL syntax error at line 1, column 18: cast() cannot convert to 'Float': use String, Int, Decimal or "
        "Boolean (or Nvarchar, Text, Ntext, varchar, Integer, Double, Bool)");
  CHECK(compile_error("SELECT cast(a, Int) FROM 'a/b'") ==
        "SQL syntax error at line 1, column 14: expected AS and a type in cast() but found ','");
  CHECK(compile_error("SELECT (SELECT VALUE n FROM e) AS sensors FROM 'a/b'") ==
        "SQL syntax error at line 1, column 9: nested object queries (SELECT inside parentheses) are not "
        "supported by this broker");
  CHECK(compile_error("SELECT SET x = 1 FROM 'a/b'") ==
        "SQL syntax error at line 1, column 8: the SET clause is not supported by this broker");
}

TEST_CASE("nesting and size limits are errors, not crashes", "[rules]") {
  std::string deep = "SELECT " + std::string(100, '(') + "1" + std::string(100, ')') + " FROM 'a/b'";
  CHECK(compile_error(deep).find("expressions are nested more than 64 levels deep") != std::string::npos);
  std::string ok = "SELECT " + std::string(30, '(') + "1" + std::string(30, ')') + " FROM 'a/b'";
  CHECK(compile_error(ok) == "<compiled>");
  std::string chain = "SELECT 1";
  for (int i = 0; i < 500; ++i) chain += " + 1";
  chain += " FROM 'a/b'";
  CHECK(compile_error(chain).find("the expression is too complex") != std::string::npos);
  std::string nots = "SELECT " ;
  for (int i = 0; i < 100; ++i) nots += "NOT ";
  CHECK(compile_error(nots + "true FROM 'a/b'").find("nested more than 64 levels") != std::string::npos);
  std::string arrays = "SELECT " + std::string(100, '[') + std::string(100, ']') + " FROM 'a/b'";
  CHECK(compile_error(arrays).find("nested more than 64 levels") != std::string::npos);
  std::string alias = "SELECT 1 AS a";
  for (int i = 0; i < 70; ++i) alias += ".a";
  CHECK(compile_error(alias + " FROM 'a/b'").find("an AS name has more than 64 levels") != std::string::npos);
  Runner r;
  std::string sum = "1";
  for (int i = 0; i < 150; ++i) sum += " + 1";
  CHECK(r.value(sum) == "151");
}

TEST_CASE("substitution templates", "[rules]") {
  Runner r;
  std::string bytes = R"({"deviceid":"iot123","temp":54.98,"coords":{"latitude":47.615694},"tags":["a","b"]})";
  Payload p = r.parser.parse(bytes);
  auto render = [&](const char* text) {
    auto t = SubstitutionTemplate::compile(text);
    if (!t.ok()) return "<error: " + t.status().message() + ">";
    return t->render(p, r.context);
  };
  CHECK(render("${topic()}/republish") == "things/myThings/thingOne/republish");
  CHECK(render("devices/${deviceid}/temp/${temp}") == "devices/iot123/temp/54.98");
  CHECK(render("${coords.latitude}|${coords}|${tags}") == R"(47.615694|{"latitude":47.615694}|["a","b"])");
  CHECK(render("${missing}x${null}") == "x");  // Undefined and Null render as nothing
  CHECK(render("${concat('{', '}')}") == "{}");  // braces inside strings
  CHECK(render("${get({'k': 'v'}, 'k')}") == "v");  // braces of an object literal
  CHECK(render("${replace(topic(), '/', '-') + '-' + timestamp()}") == "things-myThings-thingOne-1481825251155");
  CHECK(render("$$aws/things/${topic(3)}/shadow/update") == "$$aws/things/thingOne/shadow/update");
  CHECK(render("no substitution: $ {x} $x") == "no substitution: $ {x} $x");
  CHECK(render("") == "");
  CHECK(render("${a") == "<error: substitution template error at line 1, column 1: '${' is not closed by '}'>");
  CHECK(render("x/${}") == "<error: substitution template error at line 1, column 5: expected an expression but "
                           "found end of input>");
  CHECK(render("x/${foo(1)}") == "<error: substitution template error at line 1, column 5: function foo is not "
                                 "supported: AWS IoT SQL has no function of that name>");
  CHECK(render("x/${a b}") == "<error: substitution template error at line 1, column 7: expected the end of the "
                              "expression but found 'b'>");
  auto constant = SubstitutionTemplate::compile("plain/topic");
  REQUIRE(constant.ok());
  CHECK_FALSE(constant->has_substitutions());
  CHECK(constant->text() == "plain/topic");
  auto dynamic = SubstitutionTemplate::compile("a/${b}");
  REQUIRE(dynamic.ok());
  CHECK(dynamic->has_substitutions());
}

TEST_CASE("one Output and one PayloadParser serve many messages", "[rules]") {
  auto s = Statement::compile("SELECT a, b.c AS c, concat(s, '-', n) AS tag FROM 'x/+/y' WHERE b.d > 10");
  REQUIRE(s.ok());
  PayloadParser parser;
  Output out;
  MessageContext ctx = make_context();
  for (int i = 0; i < 2000; ++i) {
    std::string bytes = R"({"a":)" + std::to_string(i) + R"(,"s":")" + std::string(i % 50, 'x') +
                        R"(","n":)" + std::to_string(i) + R"(,"b":{"c":"v","d":)" + std::to_string(i % 20) + "}}";
    Payload p = parser.parse(bytes);
    bool matched = s->evaluate(p, ctx, &out);
    REQUIRE(matched == (i % 20 > 10));
    if (matched)
      REQUIRE(out.to_string() == R"({"a":)" + std::to_string(i) + R"(,"c":"v","tag":")" + std::string(i % 50, 'x') +
                                     "-" + std::to_string(i) + "\"}");
  }
}

TEST_CASE("the Output and the PayloadParser grow their pools and keep working", "[rules]") {
  auto s = Statement::compile("SELECT *, upper(s) AS u FROM 'a/b'");
  REQUIRE(s.ok());
  PayloadParser parser;
  Output out;
  MessageContext ctx = make_context();
  // Sizes up and down: the pools outgrow their first buffers, then reuse them.
  for (size_t n : {10, 100000, 20, 300000, 5, 50000}) {
    std::string bytes = R"({"s":")" + std::string(n, 'x') + R"(","list":[)";
    for (size_t i = 0; i < n / 10; ++i) bytes += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
    bytes += "]}";
    Payload p = parser.parse(bytes);
    REQUIRE(p.json);
    REQUIRE(s->evaluate(p, ctx, &out));
    const json::Value& v = out.value();
    REQUIRE(v["s"].GetStringLength() == n);
    REQUIRE(v["u"].GetStringLength() == n);
    REQUIRE(v["list"].Size() == n / 10);
  }
}
