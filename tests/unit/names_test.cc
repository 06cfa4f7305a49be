#include <catch2/catch.hpp>

#include <string>

#include "shadow_core/names.h"

using namespace shadow;

TEST_CASE("thing names follow the AWS pattern and length", "[names]") {
  Config c;
  CHECK_FALSE(validate_thing_name("dev-1:a_B9", c));
  CHECK_FALSE(validate_thing_name(std::string(128, 'a'), c));
  auto e = validate_thing_name(std::string(129, 'a'), c);
  REQUIRE(e);
  CHECK(e->code == 400);
  CHECK(e->message == "ThingName has a maximum length of 128");
  for (const char* bad : {"", "a.b", "a/b", "a b", "a#", "a+", "$aws", "caf\xc3\xa9"}) {
    INFO(bad);
    CHECK(validate_thing_name(bad, c));
  }
  CHECK(validate_thing_name("a.b", c)->message == "ThingName must match pattern [a-zA-Z0-9:_-]+");
}

TEST_CASE("shadow names allow '$' unless reserved names are switched on", "[names]") {
  Config c;
  CHECK_FALSE(validate_shadow_name("$package", c));
  CHECK_FALSE(validate_shadow_name(std::string(64, 'x'), c));
  CHECK(validate_shadow_name(std::string(65, 'x'), c)->message == "ShadowName has a maximum length of 64");
  CHECK(validate_shadow_name("a.b", c));
  c.reserved_shadow_names = true;
  CHECK(validate_shadow_name("$package", c));
  CHECK_FALSE(validate_shadow_name("pkg$", c));
}
