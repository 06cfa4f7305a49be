// Builds the tree of a rule's SQL (ast.h) and refuses, with the line and
// column, what cannot run: syntax errors (naming the offending token),
// functions this broker does not have, a wrong number of arguments, an
// invalid FROM topic filter, SQL AWS has but this broker does not (nested
// SELECT, SET), and expressions nested deeper than kMaxNesting.
//
// Grammar (keywords in any case; precedence from low to high):
//   statement  := SELECT [VALUE] item (',' item)* FROM string [WHERE expr]
//   item       := '*' | expr [AS name ('.' name)*]
//   expr       := or;  or := and (OR and)*;  and := not (AND not)*
//   not        := NOT not | comparison
//   comparison := sum [ ('=' | '<>' | '<' | '<=' | '>' | '>=') sum
//                     | [NOT] IN sum-or-list | CONTAINS sum
//                     | IS [NOT] (NULL | UNDEFINED) ]
//   sum        := product (('+' | '-') product)*
//   product    := unary (('*' | '/' | '%') unary)*
//   unary      := '-' unary | postfix;   postfix := primary ('.' name)*
//   primary    := number | string | TRUE | FALSE | NULL | name
//               | name '(' [arg (',' arg)*] ')' | cast '(' expr AS type ')'
//               | '(' expr ')' | '[' [expr (',' expr)*] ']'
//               | '{' [key ':' expr (',' key ':' expr)*] '}'
//               | CASE expr (WHEN expr THEN expr)+ [ELSE expr] END
//   arg        := '*' | expr
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "plugin/rules/sql/ast.h"

namespace shadow::rules::sql {

// Deepest nesting of expressions (parentheses, function arguments, array and
// object literals, NOT and minus chains) a rule may use. It bounds the
// recursion of parsing and evaluation.
inline constexpr int kMaxNesting = 64;
// Tallest expression tree a rule may have (a + b + c + ... is as tall as it
// is long). It bounds the recursion of evaluation.
inline constexpr int kMaxHeight = 200;

struct ParseError {
  size_t offset = 0;    // byte offset in the parsed text
  std::string message;  // what is wrong, without the position
};

// Parses a whole statement; nullptr with *error set when it cannot run.
std::unique_ptr<Query> parse_query(std::string_view sql, ParseError* error);

// Parses `text` as a single expression (the inside of a substitution
// template); nullptr with *error set.
ExprPtr parse_expression(std::string_view text, ParseError* error);

// "line 1, column 8" for a byte offset of `text` (columns count characters).
std::string position_of(std::string_view text, size_t offset);

}  // namespace shadow::rules::sql
