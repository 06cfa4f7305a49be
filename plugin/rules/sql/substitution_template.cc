#include "plugin/rules/sql/substitution_template.h"

#include <utility>

#include "plugin/rules/sql/ast.h"
#include "plugin/rules/sql/evaluator.h"
#include "plugin/rules/sql/parser.h"
#include "shadow_core/json.h"

namespace shadow::rules::sql {

namespace {

// The offset of the '}' that closes the expression starting at `start`,
// skipping string literals and balanced braces (object literals); npos if
// there is none.
size_t closing_brace(std::string_view text, size_t start) {
  int depth = 0;
  for (size_t i = start; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\'' || c == '"') {
      for (++i; i < text.size() && text[i] != c; ++i)
        if (text[i] == '\\') ++i;
      if (i >= text.size()) return std::string_view::npos;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (depth == 0) return i;
      --depth;
    }
  }
  return std::string_view::npos;
}

}  // namespace

SubstitutionTemplate::SubstitutionTemplate() = default;
SubstitutionTemplate::SubstitutionTemplate(SubstitutionTemplate&&) noexcept = default;
SubstitutionTemplate& SubstitutionTemplate::operator=(SubstitutionTemplate&&) noexcept = default;
SubstitutionTemplate::~SubstitutionTemplate() = default;

StatusOr<SubstitutionTemplate> SubstitutionTemplate::compile(std::string_view text) {
  if (size_t bad = json::invalid_utf8_at(text); bad != std::string_view::npos)
    return Status::invalid_argument("substitution template error at " + position_of(text, bad) +
                                    ": the template is not valid UTF-8");
  SubstitutionTemplate t;
  t.text_ = std::string(text);
  size_t pos = 0;
  for (;;) {
    size_t open = text.find("${", pos);
    if (open == std::string_view::npos) break;
    size_t start = open + 2;
    size_t close = closing_brace(text, start);
    if (close == std::string_view::npos)
      return Status::invalid_argument("substitution template error at " + position_of(text, open) +
                                      ": '${' is not closed by '}'");
    ParseError error;
    ExprPtr expr = parse_expression(text.substr(start, close - start), &error);
    if (!expr)
      return Status::invalid_argument("substitution template error at " + position_of(text, start + error.offset) +
                                      ": " + error.message);
    Part part;
    part.literal = std::string(text.substr(pos, open - pos));
    part.expr = std::move(expr);
    t.parts_.push_back(std::move(part));
    pos = close + 1;
  }
  Part tail;
  tail.literal = std::string(text.substr(pos));
  t.parts_.push_back(std::move(tail));
  return t;
}

bool SubstitutionTemplate::has_substitutions() const { return parts_.size() > 1; }

std::string SubstitutionTemplate::render(const Payload& payload, EvalContext& context) const {
  if (!has_substitutions()) return text_;
  alignas(16) char initial[1024];
  json::Allocator arena(initial, sizeof initial);
  Evaluator evaluator(payload, context, arena);
  std::string out;
  for (const Part& part : parts_) {
    out += part.literal;
    if (part.expr) append_string(evaluator.eval(*part.expr), out);
  }
  return out;
}

}  // namespace shadow::rules::sql
