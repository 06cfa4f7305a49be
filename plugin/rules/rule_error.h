// How the rules API refuses a request: AWS's exception type (the
// x-amzn-ErrorType a client sees, with its HTTP status) and a message. Like
// shadow_core's rejections these are answers, not failures, so they are not
// a shadow::Status.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace shadow::rules {

enum class RuleException {
  kInvalidRequest,             // 400: the request is not valid
  kSqlParse,                   // 400: the rule's SQL cannot be parsed
  kUnauthorized,               // 401: also AWS's answer for a rule that does not exist
  kResourceAlreadyExists,      // 409: CreateTopicRule of an existing name
  kConflictingResourceUpdate,  // 409: concurrent updates of one rule
  kInternal,                   // 500
  kServiceUnavailable,         // 503
};

struct RuleError {
  RuleException exception = RuleException::kInvalidRequest;
  std::string message;

  // "InvalidRequestException", "SqlParseException", ...
  const char* type() const;
  int http_status() const;
};

inline RuleError invalid_request(std::string message) {
  return RuleError{RuleException::kInvalidRequest, std::move(message)};
}

// AWS's wording for a field that breaks a constraint of the API model:
// "1 validation error detected: Value 'x' at 'ruleName' failed to satisfy
// constraint: Member must ...". `value` is shown in quotes, or null.
RuleError validation_error(const std::optional<std::string>& value, const std::string& field,
                           const std::string& constraint);

// A value, or the RuleError that prevented it.
template <typename T>
class [[nodiscard]] RuleResult {
 public:
  RuleResult(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  RuleResult(RuleError error) : error_(std::move(error)) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  const RuleError& error() const { return error_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  RuleError error_;
};

}  // namespace shadow::rules
