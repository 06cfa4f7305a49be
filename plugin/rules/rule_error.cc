#include "plugin/rules/rule_error.h"

namespace shadow::rules {

const char* RuleError::type() const {
  switch (exception) {
    case RuleException::kInvalidRequest: return "InvalidRequestException";
    case RuleException::kSqlParse: return "SqlParseException";
    case RuleException::kUnauthorized: return "UnauthorizedException";
    case RuleException::kResourceAlreadyExists: return "ResourceAlreadyExistsException";
    case RuleException::kConflictingResourceUpdate: return "ConflictingResourceUpdateException";
    case RuleException::kInternal: return "InternalException";
    case RuleException::kServiceUnavailable: return "ServiceUnavailableException";
  }
  return "InternalException";
}

int RuleError::http_status() const {
  switch (exception) {
    case RuleException::kInvalidRequest:
    case RuleException::kSqlParse: return 400;
    case RuleException::kUnauthorized: return 401;
    case RuleException::kResourceAlreadyExists:
    case RuleException::kConflictingResourceUpdate: return 409;
    case RuleException::kInternal: return 500;
    case RuleException::kServiceUnavailable: return 503;
  }
  return 500;
}

RuleError validation_error(const std::optional<std::string>& value, const std::string& field,
                           const std::string& constraint) {
  std::string shown = value ? "'" + *value + "'" : "null";
  return invalid_request("1 validation error detected: Value " + shown + " at '" + field +
                         "' failed to satisfy constraint: Member must " + constraint);
}

}  // namespace shadow::rules
