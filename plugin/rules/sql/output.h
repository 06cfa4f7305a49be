// What a rule's SQL made of one message: the document its actions send.
//
// An Output is reused from message to message: it owns the memory pool the
// evaluation builds in (intermediate values and the result), cleared at the
// start of every evaluation and sized to what the largest output so far
// needed, so steady traffic evaluates without allocating.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shadow_core/json.h"

namespace shadow::rules::sql {

class Output {
 public:
  enum class Kind {
    kNoMatch,  // WHERE was not true (or nothing evaluated yet): no actions run
    kJson,     // value(): an object, or any value for SELECT VALUE
    kPayload,  // the message payload unchanged: SELECT * on a payload that is not a JSON object
    kEmpty,    // SELECT VALUE of an Undefined value: an empty message, as on AWS
    kError,    // the SQL could not run on this message; error() says why
  };

  Output();
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  Kind kind() const { return kind_; }
  // True when the rule's actions run: kJson, kPayload or kEmpty.
  bool matched() const { return kind_ == Kind::kJson || kind_ == Kind::kPayload || kind_ == Kind::kEmpty; }
  const json::Value& value() const { return value_; }
  std::string_view payload() const { return payload_; }
  const std::string& error() const { return error_; }

  // The bytes the actions send (compact JSON for kJson), appended to *out.
  void write(std::string* out) const;
  std::string to_string() const;

  // For the evaluator: starts a new evaluation and returns its pool.
  json::Allocator& begin();
  void set_json(json::Value&& value);
  void set_payload(std::string_view payload);
  void set_empty();
  void set_error(std::string message);

 private:
  std::vector<char> buffer_;
  std::optional<json::Allocator> pool_;
  Kind kind_ = Kind::kNoMatch;
  json::Value value_;
  std::string_view payload_;
  std::string error_;
};

}  // namespace shadow::rules::sql
