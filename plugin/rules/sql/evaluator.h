// Walks an expression tree (ast.h) for one message. Values the evaluation
// creates (strings of string functions, array and object literals, parsed
// shadows) go to `arena`; values read from the payload are not copied.
#pragma once

#include <string>

#include "plugin/rules/sql/ast.h"
#include "plugin/rules/sql/datum.h"
#include "plugin/rules/sql/eval_context.h"
#include "plugin/rules/sql/payload.h"

namespace shadow::rules::sql {

class Evaluator {
 public:
  // All three must outlive the Evaluator and the Datums it returns.
  Evaluator(const Payload& payload, EvalContext& context, Allocator& arena)
      : payload_(payload), context_(context), arena_(arena) {}

  Datum eval(const Expr& e);

  // The payload as a value: its JSON, or its bytes as a String.
  Datum payload_value() const;

 private:
  Datum call(const Expr& e);
  Datum case_of(const Expr& e);
  Datum array_of(const Expr& e);
  Datum object_of(const Expr& e);

  const Payload& payload_;
  EvalContext& context_;
  Allocator& arena_;
  std::string buffer_;  // scratch text for string operations, reused
};

// Follows `path` from `value` through nested objects; Undefined when a step
// is missing or not an object.
Datum follow_path(const Datum& value, const std::vector<std::string>& path);

}  // namespace shadow::rules::sql
