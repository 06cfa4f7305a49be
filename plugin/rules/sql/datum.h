// Datum: one value of AWS IoT SQL while a rule is evaluated, with the eight
// types of the language (Int, Decimal, String, Boolean, Array, Object, Null
// and Undefined) and AWS's conversions between them.
//
// A Datum never owns memory. Strings, arrays and objects point into the
// message payload, the compiled SQL, or the evaluation's arena
// (rapidjson::MemoryPoolAllocator); all three outlive the evaluation that
// produced the Datum. Copying a Datum is copying a few words.
//
// Numbers: Int is a signed 64-bit integer and Decimal a double (AWS uses
// 34-digit decimals; docs/rules.md lists the consequences). As in SQL
// version 2016-03-23, a Decimal with a whole value (10.0) is an Int (10):
// make_decimal() returns an Int for it, so every Decimal holds a fraction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "shadow_core/json.h"

namespace shadow::rules::sql {

using json::Allocator;

enum class Type : uint8_t { kUndefined, kNull, kBoolean, kInt, kDecimal, kString, kArray, kObject };

// "Int", "Decimal", ... as AWS's documentation names the types.
const char* type_name(Type type);

struct Datum {
  Type type = Type::kUndefined;
  union {
    bool boolean;
    int64_t integer;
    double decimal;
  };
  std::string_view string;           // kString
  const json::Value* json = nullptr;  // kArray, kObject: an array or object value

  Datum() : integer(0) {}
  static Datum undefined() { return Datum(); }
  static Datum null();
  static Datum of_bool(bool b);
  static Datum of_int(int64_t i);
  // A Decimal, or an Int when `d` is whole and fits 64 bits; Undefined for
  // NaN and infinities, which JSON cannot carry.
  static Datum make_decimal(double d);
  static Datum of_string(std::string_view s);
  // `value` must be an array or an object.
  static Datum of_container(const json::Value& value);
  // Any JSON value; numbers follow make_decimal()'s rule.
  static Datum from_json(const json::Value& value);

  bool is_undefined() const { return type == Type::kUndefined; }
  bool is_null() const { return type == Type::kNull; }
  bool is_number() const { return type == Type::kInt || type == Type::kDecimal; }
  double as_double() const { return type == Type::kInt ? static_cast<double>(integer) : decimal; }
};

// AWS's standard conversions, applied when an operator or a function gets a
// value of another type than it expects (docs/rules.md, "Types"). A result
// of nullopt (or an Undefined Datum) means the conversion is not possible.

// Int or Decimal. Strings must look like -?\d+(\.\d+)?([eE]-?\d+)? exactly.
// Null and every other type: nullopt (callers decide what Null gives).
std::optional<Datum> to_number(const Datum& d);
// A number rounded down (towards negative infinity) to an Int, for function
// arguments that are counts or indexes. Out-of-range values saturate.
std::optional<int64_t> to_index(const Datum& d);
// Boolean; "true" and "false" strings in any case.
std::optional<bool> to_boolean(const Datum& d);

// Appends the String conversion of `d` to `out`: numbers in standard or
// scientific notation, "true"/"false", strings as they are, arrays and
// objects as compact JSON. Returns false (appending nothing) for Null and
// Undefined. Callers keep `out` across calls so its capacity is reused.
bool append_string(const Datum& d, std::string& out);

// The String conversion as a Datum whose text lives in `arena` (or in the
// original string); Undefined for Null and Undefined.
Datum to_string(const Datum& d, Allocator& arena);

// Text of a Decimal the way the SQL engine prints it: shortest round-trip
// form, exponent as E-7 / E+20.
size_t format_decimal(double d, char* buf, size_t size);

// The JSON value of `d` (not Undefined), copied into `alloc`.
json::Value to_json(const Datum& d, Allocator& alloc);

// Copies `text` into the arena; the view stays valid until the arena is cleared.
std::string_view arena_copy(std::string_view text, Allocator& arena);

}  // namespace shadow::rules::sql
