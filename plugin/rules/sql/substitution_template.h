// Substitution templates: action fields (a republish topic, an HTTP URL or
// header value) with ${expression} parts, evaluated per message against the
// message itself, like WHERE (not against the SELECT output: aliases are
// not visible). Everything outside ${...} is kept as written.
//
// A substitution becomes text with the standard String conversion: strings
// as they are, numbers and Booleans as text, arrays and objects as JSON;
// Null and Undefined become nothing.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "plugin/rules/sql/eval_context.h"
#include "plugin/rules/sql/payload.h"

namespace shadow::rules::sql {

struct Expr;

class SubstitutionTemplate {
 public:
  // Errors (an unclosed "${", an invalid expression, an unknown function)
  // are Status::invalid_argument naming the line and column in `text`.
  static StatusOr<SubstitutionTemplate> compile(std::string_view text);

  SubstitutionTemplate(SubstitutionTemplate&&) noexcept;
  SubstitutionTemplate& operator=(SubstitutionTemplate&&) noexcept;
  ~SubstitutionTemplate();

  const std::string& text() const { return text_; }
  // False when the text has no ${...}: render() always gives text().
  bool has_substitutions() const;

  std::string render(const Payload& payload, EvalContext& context) const;

 private:
  SubstitutionTemplate();
  struct Part {
    std::string literal;          // text before the expression
    std::unique_ptr<Expr> expr;   // nullptr for the text after the last ${...}
  };
  std::string text_;
  std::vector<Part> parts_;
};

}  // namespace shadow::rules::sql
