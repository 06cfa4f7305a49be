#include "plugin/rules/sql/evaluator.h"

#include <array>
#include <new>
#include <vector>

#include "plugin/rules/sql/functions.h"
#include "plugin/rules/sql/operators.h"

namespace shadow::rules::sql {

namespace {
// Arguments of most calls fit here; more go to the heap.
constexpr size_t kInlineArgs = 6;
}  // namespace

Datum follow_path(const Datum& value, const std::vector<std::string>& path) {
  if (value.type != Type::kObject) return Datum();
  const json::Value* v = value.json;
  for (const std::string& name : path) {
    if (!v->IsObject()) return Datum();
    v = json::find_last(*v, name);
    if (!v) return Datum();
  }
  return Datum::from_json(*v);
}

Datum Evaluator::payload_value() const {
  if (payload_.json) return Datum::from_json(*payload_.json);
  return Datum::of_string(payload_.bytes);
}

Datum Evaluator::eval(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kLiteral:
      return e.literal.type == Type::kString ? Datum::of_string(e.text) : e.literal;
    case ExprKind::kField:
      return payload_.json ? follow_path(Datum::from_json(*payload_.json), e.path) : Datum();
    case ExprKind::kPayload: return payload_value();
    case ExprKind::kMember: return follow_path(eval(*e.children[0]), e.path);
    case ExprKind::kNot: return apply_not(eval(*e.children[0]));
    case ExprKind::kNegate: return apply_negate(eval(*e.children[0]));
    case ExprKind::kBinary: {
      Datum left = eval(*e.children[0]);
      Datum right = eval(*e.children[1]);
      return apply_binary(e.op, left, right, arena_, buffer_);
    }
    case ExprKind::kIn: {
      Datum item = eval(*e.children[0]);
      Datum result = apply_in(item, eval(*e.children[1]));
      return (e.negated && !result.is_undefined()) ? Datum::of_bool(!result.boolean) : result;
    }
    case ExprKind::kContains: {
      Datum container = eval(*e.children[0]);
      return apply_contains(container, eval(*e.children[1]));
    }
    case ExprKind::kIsNull: return Datum::of_bool(eval(*e.children[0]).is_null() != e.negated);
    case ExprKind::kIsUndefined: return Datum::of_bool(eval(*e.children[0]).is_undefined() != e.negated);
    case ExprKind::kCall: return call(e);
    case ExprKind::kCast: return apply_cast(eval(*e.children[0]), e.cast_to, arena_);
    case ExprKind::kCase: return case_of(e);
    case ExprKind::kArray: return array_of(e);
    case ExprKind::kObject: return object_of(e);
  }
  return Datum();
}

Datum Evaluator::call(const Expr& e) {
  const size_t n = e.children.size();
  std::array<Datum, kInlineArgs> inline_args;
  std::vector<Datum> heap_args;
  Datum* args = inline_args.data();
  if (n > kInlineArgs) {
    heap_args.resize(n);
    args = heap_args.data();
  }
  for (size_t i = 0; i < n; ++i) {
    const Expr& arg = *e.children[i];
    // encode(*, ...) encodes the payload's bytes, JSON or not.
    if (arg.kind == ExprKind::kPayload && e.function == FunctionId::kEncode) {
      args[i] = Datum::of_string(payload_.bytes);
    } else {
      args[i] = eval(arg);
    }
  }
  CallEnv env{context_, arena_, buffer_};
  return call_function(e.function, args, n, env);
}

Datum Evaluator::case_of(const Expr& e) {
  Datum subject = eval(*e.children[0]);
  if (subject.is_undefined()) return Datum();
  // children: subject, then WHEN/THEN pairs, then the ELSE result if any.
  size_t pairs = (e.children.size() - 1 - (e.has_else ? 1 : 0)) / 2;
  for (size_t k = 0; k < pairs; ++k)
    if (is_equal(subject, eval(*e.children[1 + 2 * k]))) return eval(*e.children[2 + 2 * k]);
  return e.has_else ? eval(*e.children.back()) : Datum();
}

// Undefined elements and members are left out: JSON cannot show them.
Datum Evaluator::array_of(const Expr& e) {
  auto* array = new (arena_.Malloc(sizeof(json::Value))) json::Value(rapidjson::kArrayType);
  for (const auto& child : e.children) {
    Datum d = eval(*child);
    if (!d.is_undefined()) array->PushBack(to_json(d, arena_), arena_);
  }
  return Datum::of_container(*array);
}

Datum Evaluator::object_of(const Expr& e) {
  auto* object = new (arena_.Malloc(sizeof(json::Value))) json::Value(rapidjson::kObjectType);
  for (size_t i = 0; i < e.children.size(); ++i) {
    Datum d = eval(*e.children[i]);
    if (d.is_undefined()) continue;
    json::Value key(e.keys[i].data(), static_cast<rapidjson::SizeType>(e.keys[i].size()), arena_);
    object->AddMember(key, to_json(d, arena_), arena_);
  }
  return Datum::of_container(*object);
}

}  // namespace shadow::rules::sql
