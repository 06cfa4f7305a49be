// AWS IoT SQL's operators and cast(), on Datums, following AWS's operator
// and conversion tables (docs/rules.md, "Operators"):
//  - comparisons (<, <=, >, >=) convert both sides to numbers; a side that
//    does not convert makes the result Undefined;
//  - = and <> compare values of the same type (arrays in order, objects
//    without regard to key order, numbers by value); different types are
//    unequal; Undefined on either side gives Undefined;
//  - AND, OR, NOT take Booleans or "true"/"false" strings, else Undefined;
//  - + concatenates when either side is a String, otherwise adds numbers;
//    -, *, / and % also accept numeric strings; Int op Int stays an Int
//    (division truncates), and anything else is Undefined.
#pragma once

#include <string>

#include "plugin/rules/sql/ast.h"
#include "plugin/rules/sql/datum.h"

namespace shadow::rules::sql {

Datum apply_binary(BinaryOp op, const Datum& left, const Datum& right, Allocator& arena, std::string& buffer);
Datum apply_not(const Datum& operand);
Datum apply_negate(const Datum& operand);

// AWS's = : Boolean, or Undefined when either side is Undefined.
Datum sql_equals(const Datum& left, const Datum& right);
// Whether = gives true (IN, CONTAINS and CASE match this way).
bool is_equal(const Datum& left, const Datum& right);

// `item` IN `set`: Boolean when `set` is an Array, else Undefined.
Datum apply_in(const Datum& item, const Datum& set);
// String CONTAINS String (substring), Array CONTAINS value (element).
Datum apply_contains(const Datum& container, const Datum& item);

// cast(value AS type) with cast()'s own table, which also turns numbers
// into Booleans and back. `type` is kString, kInt, kDecimal or kBoolean.
Datum apply_cast(const Datum& value, Type type, Allocator& arena);

// Whether a WHERE result lets the actions run: true, or the string "true".
bool is_true(const Datum& d);

}  // namespace shadow::rules::sql
