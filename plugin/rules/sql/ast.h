// The tree the parser builds from a rule's SQL and the evaluator walks for
// every message. It is built once, when the rule is created; everything a
// message does not change is decided then: field paths are split into
// names, functions are resolved to an id with their argument count checked,
// number literals are converted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "plugin/rules/sql/datum.h"
#include "plugin/rules/sql/functions.h"

namespace shadow::rules::sql {

enum class ExprKind : uint8_t {
  kLiteral,      // `literal`, or the String `text`
  kField,        // a payload field: `path` (a.b.c)
  kPayload,      // '*' as a function argument: the whole payload
  kMember,       // children[0] followed by .`path` (get(x, 0).a.b)
  kNot,          // NOT children[0]
  kNegate,       // -children[0]
  kBinary,       // children[0] `op` children[1]
  kIn,           // children[0] [NOT] IN children[1]; a list (a, b, c) is an Array literal
  kContains,     // children[0] CONTAINS children[1]
  kIsNull,       // children[0] IS [NOT] NULL
  kIsUndefined,  // children[0] IS [NOT] UNDEFINED
  kCall,         // `function`(children...)
  kCast,         // cast(children[0] AS `cast_to`)
  kCase,         // CASE children[0] (WHEN c THEN r)... [ELSE e] END
  kArray,        // [children...]
  kObject,       // {keys[i]: children[i], ...}
};

enum class BinaryOp : uint8_t { kAdd, kSub, kMul, kDiv, kMod, kEq, kNe, kLt, kLe, kGt, kGe, kAnd, kOr };

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  size_t offset = 0;                   // where the expression starts in the SQL text
  int height = 1;                      // levels of the tree below and including this node
  BinaryOp op = BinaryOp::kAdd;        // kBinary
  bool negated = false;                // NOT IN, IS NOT NULL, IS NOT UNDEFINED
  bool has_else = false;               // kCase: the last child is the ELSE result
  Datum literal;                       // kLiteral other than String
  std::string text;                    // kLiteral String; kCall: the name as written
  std::vector<std::string> path;       // kField, kMember
  FunctionId function = FunctionId::kAbs;  // kCall
  Type cast_to = Type::kUndefined;     // kCast
  std::vector<std::string> keys;       // kObject
  std::vector<std::unique_ptr<Expr>> children;
};

using ExprPtr = std::unique_ptr<Expr>;

struct SelectItem {
  ExprPtr expr;                    // nullptr for '*'
  std::vector<std::string> name;   // output key; AS a.b nests the value: {"a":{"b":...}}
  size_t offset = 0;
};

struct Query {
  bool select_value = false;       // SELECT VALUE expr: the output is the value itself
  std::vector<SelectItem> items;
  bool has_star = false;
  // Some output keys can repeat (a duplicate name, or '*' with other
  // items), so adding a key must replace an existing one.
  bool keys_may_repeat = false;
  std::string from;                // the FROM topic filter, unquoted
  size_t from_offset = 0;
  ExprPtr where;                   // nullptr without WHERE
};

}  // namespace shadow::rules::sql
