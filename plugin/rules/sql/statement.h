// A rule's SQL statement, compiled once when the rule is created and then
// run on every message published to a topic its FROM filter matches.
//
//   auto compiled = Statement::compile("SELECT a, b.c FROM 'x/+/y' WHERE b.d > 10");
//   if (!compiled.ok()) ... compiled.status().message() says what and where
//   if (compiled->from().matches(topic)) {
//     Payload payload = parser.parse(bytes);          // once per message
//     if (compiled->evaluate(payload, context, &output)) send(output.to_string());
//   }
//
// A Statement is immutable after compile() and may be evaluated by several
// threads at once, each with its own Output and EvalContext.
//
// Compile errors are Status::invalid_argument with a message that names the
// problem, its line and column and the offending token, e.g.
//   "SQL syntax error at line 1, column 10: expected FROM but found 'FORM'".
// The rule model (plugin/rules) answers them as AWS's SqlParseException.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "plugin/rules/sql/eval_context.h"
#include "plugin/rules/sql/output.h"
#include "plugin/rules/sql/payload.h"
#include "plugin/rules/sql/topic_filter.h"

namespace shadow::rules::sql {

struct Query;

class Statement {
 public:
  static StatusOr<Statement> compile(std::string_view sql);

  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  ~Statement();

  const std::string& sql() const { return sql_; }
  // The FROM clause: the topic filter (AWS's topicPattern of the rule).
  const TopicFilter& from() const { return from_; }

  // Runs WHERE and SELECT on one message (its topic, client id and so on
  // come from `context`) into *out. Returns out->matched(): true when the
  // rule's actions are to run with the output. A statement that cannot run
  // on this payload (SELECT *, x on a payload that is not a JSON object)
  // leaves an Output of kind kError.
  bool evaluate(const Payload& payload, EvalContext& context, Output* out) const;

 private:
  Statement();
  std::string sql_;
  TopicFilter from_;
  std::unique_ptr<Query> query_;
};

}  // namespace shadow::rules::sql
