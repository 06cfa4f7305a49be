#include "plugin/rules/sql/operators.h"

#include <cmath>
#include <cstdint>

namespace shadow::rules::sql {

namespace {

// Numbers compare exactly when both are Ints, by double value otherwise.
int compare_numbers(const Datum& a, const Datum& b) {
  if (a.type == Type::kInt && b.type == Type::kInt) return a.integer < b.integer ? -1 : a.integer > b.integer ? 1 : 0;
  double x = a.as_double(), y = b.as_double();
  return x < y ? -1 : x > y ? 1 : 0;
}

bool datum_equal(const Datum& a, const Datum& b) {
  if (a.is_number() && b.is_number()) return compare_numbers(a, b) == 0;
  if (a.type != b.type) return false;
  switch (a.type) {
    case Type::kNull: return true;
    case Type::kBoolean: return a.boolean == b.boolean;
    case Type::kString: return a.string == b.string;
    case Type::kArray:
    // Same values in the same order; objects with the same keys in any
    // order; numbers by value (json::equal's rules).
    case Type::kObject: return json::equal(*a.json, *b.json);
    default: return false;
  }
}

Datum numeric(BinaryOp op, const Datum& a, const Datum& b, bool as_decimal) {
  if (!as_decimal && a.type == Type::kInt && b.type == Type::kInt) {
    int64_t x = a.integer, y = b.integer, r = 0;
    switch (op) {
      case BinaryOp::kAdd:
        if (!__builtin_add_overflow(x, y, &r)) return Datum::of_int(r);
        break;
      case BinaryOp::kSub:
        if (!__builtin_sub_overflow(x, y, &r)) return Datum::of_int(r);
        break;
      case BinaryOp::kMul:
        if (!__builtin_mul_overflow(x, y, &r)) return Datum::of_int(r);
        break;
      case BinaryOp::kDiv:
        if (y == 0) return Datum();
        if (x == INT64_MIN && y == -1) break;
        return Datum::of_int(x / y);
      case BinaryOp::kMod:
        if (y == 0) return Datum();
        if (y == -1) return Datum::of_int(0);
        return Datum::of_int(x % y);
      default: return Datum();
    }
    // An Int overflowed: AWS's Int has 34 digits, ours 64 bits; go on in Decimal.
  }
  double x = a.as_double(), y = b.as_double();
  switch (op) {
    case BinaryOp::kAdd: return Datum::make_decimal(x + y);
    case BinaryOp::kSub: return Datum::make_decimal(x - y);
    case BinaryOp::kMul: return Datum::make_decimal(x * y);
    case BinaryOp::kDiv: return y == 0 ? Datum() : Datum::make_decimal(x / y);
    case BinaryOp::kMod: return y == 0 ? Datum() : Datum::make_decimal(std::fmod(x, y));
    default: return Datum();
  }
}

Datum concatenate(const Datum& a, const Datum& b, Allocator& arena, std::string& buffer) {
  buffer.clear();
  if (!append_string(a, buffer) || !append_string(b, buffer)) return Datum();
  return Datum::of_string(arena_copy(buffer, arena));
}

Datum arithmetic(BinaryOp op, const Datum& a, const Datum& b, Allocator& arena, std::string& buffer) {
  if (op == BinaryOp::kAdd) {
    if (a.type == Type::kString || b.type == Type::kString) return concatenate(a, b, arena, buffer);
    if (!a.is_number() || !b.is_number()) return Datum();
    return numeric(op, a, b, false);
  }
  // -, *, / and %: numeric strings take part, and then the result is a Decimal.
  std::optional<Datum> x = to_number(a), y = to_number(b);
  if (!x || !y) return Datum();
  bool from_string = a.type == Type::kString || b.type == Type::kString;
  return numeric(op, *x, *y, from_string);
}

Datum ordering(BinaryOp op, const Datum& a, const Datum& b) {
  std::optional<Datum> x = to_number(a), y = to_number(b);
  if (!x || !y) return Datum();
  int c = compare_numbers(*x, *y);
  switch (op) {
    case BinaryOp::kLt: return Datum::of_bool(c < 0);
    case BinaryOp::kLe: return Datum::of_bool(c <= 0);
    case BinaryOp::kGt: return Datum::of_bool(c > 0);
    case BinaryOp::kGe: return Datum::of_bool(c >= 0);
    default: return Datum();
  }
}

Datum logic(BinaryOp op, const Datum& a, const Datum& b) {
  std::optional<bool> x = to_boolean(a), y = to_boolean(b);
  if (!x || !y) return Datum();
  return Datum::of_bool(op == BinaryOp::kAnd ? (*x && *y) : (*x || *y));
}

}  // namespace

Datum sql_equals(const Datum& left, const Datum& right) {
  if (left.is_undefined() || right.is_undefined()) return Datum();
  return Datum::of_bool(datum_equal(left, right));
}

bool is_equal(const Datum& left, const Datum& right) {
  Datum eq = sql_equals(left, right);
  return eq.type == Type::kBoolean && eq.boolean;
}

Datum apply_binary(BinaryOp op, const Datum& left, const Datum& right, Allocator& arena, std::string& buffer) {
  switch (op) {
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod: return arithmetic(op, left, right, arena, buffer);
    case BinaryOp::kEq: return sql_equals(left, right);
    case BinaryOp::kNe: {
      Datum eq = sql_equals(left, right);
      return eq.is_undefined() ? eq : Datum::of_bool(!eq.boolean);
    }
    case BinaryOp::kLt:
    case BinaryOp::kLe:
    case BinaryOp::kGt:
    case BinaryOp::kGe: return ordering(op, left, right);
    case BinaryOp::kAnd:
    case BinaryOp::kOr: return logic(op, left, right);
  }
  return Datum();
}

Datum apply_not(const Datum& operand) {
  std::optional<bool> b = to_boolean(operand);
  return b ? Datum::of_bool(!*b) : Datum();
}

Datum apply_negate(const Datum& operand) {
  std::optional<Datum> n = to_number(operand);
  if (!n) return Datum();
  if (n->type == Type::kInt && n->integer != INT64_MIN) return Datum::of_int(-n->integer);
  return Datum::make_decimal(-n->as_double());
}

Datum apply_in(const Datum& item, const Datum& set) {
  if (item.is_undefined() || set.type != Type::kArray) return Datum();
  for (const auto& element : set.json->GetArray())
    if (is_equal(item, Datum::from_json(element))) return Datum::of_bool(true);
  return Datum::of_bool(false);
}

Datum apply_contains(const Datum& container, const Datum& item) {
  if (item.is_undefined()) return Datum();
  if (container.type == Type::kString && item.type == Type::kString)
    return Datum::of_bool(container.string.find(item.string) != std::string_view::npos);
  if (container.type == Type::kArray) return apply_in(item, container);
  return Datum();
}

Datum apply_cast(const Datum& value, Type type, Allocator& arena) {
  switch (type) {
    case Type::kString:
      if (value.type == Type::kNull || value.is_undefined()) return Datum();
      return to_string(value, arena);
    case Type::kBoolean:
      if (value.is_number()) return Datum::of_bool(value.as_double() != 0);
      if (auto b = to_boolean(value)) return Datum::of_bool(*b);
      return Datum();
    case Type::kInt:
    case Type::kDecimal: {
      std::optional<Datum> n;
      if (value.type == Type::kBoolean) {
        n = Datum::of_int(value.boolean ? 1 : 0);
      } else {
        n = to_number(value);
      }
      if (!n) return Datum();
      if (type == Type::kDecimal || n->type == Type::kInt) return *n;
      // To Int: rounded down, as cast()'s table says.
      return Datum::make_decimal(std::floor(n->decimal));
    }
    default: return Datum();
  }
}

bool is_true(const Datum& d) {
  std::optional<bool> b = to_boolean(d);
  return b && *b;
}

}  // namespace shadow::rules::sql
